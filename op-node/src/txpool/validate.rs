//! Admission checks that need no pool state: decoding, signature, chain id, gas and fee bounds.

use super::{PoolConfig, PoolError};
use crate::block::RecoveredTx;
use alloy::{
    consensus::Transaction,
    eips::{eip2718::Decodable2718, eip2930::AccessList},
    primitives::{Bytes, U256},
};
use op_alloy::consensus::OpTxEnvelope;
use revm::{context_interface::cfg::gas::calculate_initial_tx_gas, primitives::hardfork::SpecId};

/// EIP-3860's limit on init code.
const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// Decodes raw bytes, checks everything that depends on the transaction alone, and recovers
/// the sender (libsecp256k1). This is the CPU-heavy part of admission; it runs on RPC
/// threads, in parallel, never on the block-building thread.
pub fn decode_and_recover(raw: Bytes, config: &PoolConfig) -> Result<RecoveredTx, PoolError> {
    if raw.len() > config.max_tx_size {
        return Err(PoolError::OversizedData {
            size: raw.len(),
            max: config.max_tx_size,
        });
    }
    let tx = OpTxEnvelope::decode_2718_exact(&raw).map_err(|e| PoolError::Decode(e.to_string()))?;
    if tx.is_deposit() || matches!(tx, OpTxEnvelope::PostExec(_)) {
        return Err(PoolError::DepositNotAccepted);
    }
    match tx.chain_id() {
        None => return Err(PoolError::Unprotected),
        Some(id) if id != config.chain_id => {
            return Err(PoolError::WrongChainId {
                have: id,
                want: config.chain_id,
            });
        }
        Some(_) => {}
    }
    if tx.gas_limit() > config.block_gas_limit {
        return Err(PoolError::ExceedsBlockGasLimit);
    }
    if tx.is_create() && tx.input().len() > MAX_INITCODE_SIZE {
        return Err(PoolError::InitCodeTooLarge {
            size: tx.input().len(),
        });
    }
    if let Some(tip) = tx.max_priority_fee_per_gas()
        && tip > tx.max_fee_per_gas()
    {
        return Err(PoolError::TipAboveFeeCap);
    }
    let intrinsic = intrinsic_gas(&tx);
    if tx.gas_limit() < intrinsic {
        return Err(PoolError::IntrinsicGasTooLow {
            have: tx.gas_limit(),
            want: intrinsic,
        });
    }
    let max_fee = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas());
    if max_fee > config.tx_fee_cap {
        return Err(PoolError::FeeCapExceeded {
            fee: max_fee,
            cap: config.tx_fee_cap,
        });
    }
    if has_high_s(&tx) {
        return Err(PoolError::InvalidSender);
    }
    let sender = recover_sender(&tx)?;
    Ok(RecoveredTx::from_parts(tx, sender, raw))
}

/// The signer of a non-deposit transaction (libsecp256k1; high-s signatures refused, EIP-2).
pub fn recover_sender(tx: &OpTxEnvelope) -> Result<alloy::primitives::Address, PoolError> {
    let recovered = match tx {
        OpTxEnvelope::Legacy(t) => t.recover_signer(),
        OpTxEnvelope::Eip2930(t) => t.recover_signer(),
        OpTxEnvelope::Eip1559(t) => t.recover_signer(),
        OpTxEnvelope::Eip7702(t) => t.recover_signer(),
        OpTxEnvelope::Deposit(_) | OpTxEnvelope::PostExec(_) => {
            return Err(PoolError::DepositNotAccepted);
        }
    };
    recovered.map_err(|_| PoolError::InvalidSender)
}

/// EIP-2: a signature whose s lies in the upper half of the curve order is malleable and refused.
fn has_high_s(tx: &OpTxEnvelope) -> bool {
    let signature = match tx {
        OpTxEnvelope::Legacy(t) => t.signature(),
        OpTxEnvelope::Eip2930(t) => t.signature(),
        OpTxEnvelope::Eip1559(t) => t.signature(),
        OpTxEnvelope::Eip7702(t) => t.signature(),
        OpTxEnvelope::Deposit(_) | OpTxEnvelope::PostExec(_) => return false,
    };
    signature.normalize_s().is_some()
}

/// Intrinsic gas under Prague, including the EIP-7623 calldata floor.
pub fn intrinsic_gas(tx: &OpTxEnvelope) -> u64 {
    let (accounts, slots) = tx
        .access_list()
        .map(|list: &AccessList| {
            list.iter().fold((0u64, 0u64), |(a, s), item| {
                (a + 1, s + item.storage_keys.len() as u64)
            })
        })
        .unwrap_or_default();
    let auths = tx
        .authorization_list()
        .map(|l| l.len() as u64)
        .unwrap_or_default();
    let gas = calculate_initial_tx_gas(
        SpecId::PRAGUE,
        tx.input(),
        tx.is_create(),
        accounts,
        slots,
        auths,
    );
    gas.initial_total_gas.max(gas.floor_gas)
}
