//! eth_call and eth_estimateGas: the EVM run against a storage snapshot of the latest block,
//! never against the sequencer's state, so calls cannot slow or disturb block building.

use super::state::StateView;
use super::{
    RpcCtx,
    error::{RpcError, RpcResult},
    eth::state_at,
};
use crate::{chain::SEQUENCER_FEE_VAULT, storage::StoreReader};
use alloy::{
    consensus::Header,
    primitives::{Bytes, KECCAK256_EMPTY, TxKind, U256},
    rpc::types::{BlockId, BlockNumberOrTag, TransactionRequest},
};
use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_op_evm::OpTx;
use fraud_vm::precompiles::RollupEvmFactory;
use op_revm::{
    OpHaltReason, OpTransaction, OpTransactionError, transaction::deposit::DepositTransactionParts,
};
use revm::{
    context::{BlockEnv, TxEnv},
    context_interface::{
        block::BlobExcessGasAndPrice,
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
    },
    database::CacheDB,
    primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};

/// The block environment of `header`, for running calls "in" that block.
pub fn block_env(header: &Header) -> BlockEnv {
    BlockEnv {
        number: U256::from(header.number),
        beneficiary: SEQUENCER_FEE_VAULT,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        difficulty: U256::ZERO,
        prevrandao: Some(header.mix_hash),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
        )),
        slot_num: 0,
    }
}

/// Runs `req` with `gas` against the latest state and returns revm's result.
fn run(
    ctx: &RpcCtx,
    state: &StateView<'_>,
    header: &Header,
    req: &TransactionRequest,
    gas: u64,
) -> RpcResult<ExecutionResult<OpHaltReason>> {
    let mut cfg = ctx.config.cfg_env();
    cfg.disable_nonce_check = true;
    cfg.disable_block_gas_limit = true;
    cfg.disable_eip3607 = true;
    let price = req.max_fee_per_gas.or(req.gas_price).unwrap_or_default();
    if price == 0 {
        // As geth: a call without a price pays nothing and is not held to the base fee.
        cfg.disable_base_fee = true;
    }
    if req.from.is_none() {
        // A call with no sender is a simulation of the code path: no one's funds bound it.
        cfg.disable_balance_check = true;
    }
    let tx_type = if req.max_fee_per_gas.is_some() || req.max_priority_fee_per_gas.is_some() {
        2
    } else if req.access_list.is_some() {
        1
    } else {
        0
    };
    let base = TxEnv {
        tx_type,
        caller: req.from.unwrap_or_default(),
        gas_limit: gas,
        gas_price: price,
        gas_priority_fee: if tx_type == 2 {
            Some(req.max_priority_fee_per_gas.unwrap_or_default())
        } else {
            None
        },
        kind: req.to.unwrap_or(TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.input().cloned().unwrap_or_default(),
        nonce: 0,
        chain_id: Some(ctx.config.chain_id),
        access_list: req.access_list.clone().unwrap_or_default(),
        ..Default::default()
    };
    let tx = OpTx(OpTransaction {
        base,
        enveloped_tx: Some(Bytes::new()),
        deposit: DepositTransactionParts::default(),
    });
    let db = CacheDB::new(state);
    let mut evm = RollupEvmFactory.create_evm(
        db,
        EvmEnv {
            cfg_env: cfg,
            block_env: block_env(header),
        },
    );
    match evm.transact(tx) {
        Ok(result) => Ok(result.result),
        Err(EVMError::Transaction(alloy_op_evm::OpTxError(OpTransactionError::Base(
            InvalidTransaction::LackOfFundForMaxFee { fee, balance },
        )))) => Err(RpcError::Execution(format!(
            "insufficient funds for gas * price + value: address {} have {balance} want {fee}",
            req.from.unwrap_or_default()
        ))),
        Err(EVMError::Transaction(e)) => Err(RpcError::Execution(e.to_string())),
        Err(EVMError::Database(e)) => Err(RpcError::Internal(e.to_string())),
        Err(e) => Err(RpcError::Execution(e.to_string())),
    }
}

fn halt_message(reason: &OpHaltReason) -> String {
    match reason {
        OpHaltReason::Base(HaltReason::OutOfGas(_)) => "out of gas".into(),
        other => format!("execution halted: {other:?}"),
    }
}

/// The state and block environment a call runs in. `pending` (or, with `pending_default`, no
/// block at all) runs on the latest state in the context of the next block: its number, the
/// current time and the next base fee. That is where a transaction sent now will execute, so
/// an estimate made there matches the block that includes it (contracts such as Uniswap's
/// pairs take another path once the timestamp moves).
fn header_and_state<'a>(
    ctx: &RpcCtx,
    reader: &'a StoreReader,
    id: Option<BlockId>,
    pending_default: bool,
) -> RpcResult<(Header, StateView<'a>)> {
    let pending = match id {
        None => pending_default,
        Some(BlockId::Number(BlockNumberOrTag::Pending)) => true,
        Some(_) => false,
    };
    let state = state_at(ctx, reader, if pending { None } else { id })?;
    let mut header = reader
        .header(state.number)?
        .map(|(_, h)| h)
        .ok_or_else(|| RpcError::Unavailable("header not found".into()))?;
    if pending {
        let base_fee = ctx.config.next_base_fee(
            header.gas_used,
            header.gas_limit,
            header.base_fee_per_gas.unwrap_or_default(),
        );
        header.number += 1;
        header.timestamp = crate::sequencer::unix_now().max(header.timestamp);
        header.base_fee_per_gas = Some(base_fee);
        header.gas_used = 0;
    }
    Ok((header, state))
}

/// eth_call
pub fn call(ctx: &RpcCtx, req: TransactionRequest, id: Option<BlockId>) -> RpcResult<Bytes> {
    let reader = ctx.store.reader()?;
    let (header, state) = header_and_state(ctx, &reader, id, false)?;
    let gas = req
        .gas
        .unwrap_or(ctx.limits.gas_cap)
        .min(ctx.limits.gas_cap);
    match run(ctx, &state, &header, &req, gas)? {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(RpcError::revert(output)),
        ExecutionResult::Halt { reason, .. } => Err(RpcError::Execution(halt_message(&reason))),
    }
}

/// eth_estimateGas: the smallest gas limit with which the call succeeds (binary search, as geth).
pub fn estimate_gas(ctx: &RpcCtx, req: TransactionRequest, id: Option<BlockId>) -> RpcResult<u64> {
    const TRANSFER_GAS: u64 = 21_000;
    let reader = ctx.store.reader()?;
    let (header, state) = header_and_state(ctx, &reader, id, true)?;
    let value = req.value.unwrap_or_default();
    if let Some(from) = req.from.filter(|_| !value.is_zero()) {
        let balance = state.account(&from)?.map(|a| a.balance).unwrap_or_default();
        if balance < value {
            return Err(RpcError::Execution(format!(
                "insufficient funds for transfer: address {from} have {balance} want {value}"
            )));
        }
    }
    let mut hi = req
        .gas
        .unwrap_or(header.gas_limit)
        .min(ctx.limits.gas_cap)
        .min(header.gas_limit);
    let price = req.max_fee_per_gas.or(req.gas_price).unwrap_or_default();
    if price > 0 {
        let balance = req
            .from
            .and_then(|f| state.account(&f).ok().flatten())
            .map(|a| a.balance)
            .unwrap_or_default();
        let available = balance.saturating_sub(req.value.unwrap_or_default());
        let allowance = available / U256::from(price);
        hi = hi.min(u64::try_from(allowance).unwrap_or(u64::MAX));
    }
    // A plain transfer to an account without code costs exactly 21,000.
    if let Some(TxKind::Call(to)) = req.to {
        let data_empty = req.input.input().is_none_or(|d| d.is_empty());
        let no_code = state
            .account(&to)?
            .is_none_or(|a| a.code_hash == KECCAK256_EMPTY);
        if data_empty && no_code && req.access_list.is_none() && hi >= TRANSFER_GAS {
            return Ok(TRANSFER_GAS);
        }
    }
    let used = match run(ctx, &state, &header, &req, hi)? {
        result @ ExecutionResult::Success { .. } => result.tx_gas_used(),
        ExecutionResult::Revert { output, .. } => return Err(RpcError::revert(output)),
        ExecutionResult::Halt { reason, .. } => {
            return Err(RpcError::Execution(format!(
                "gas required exceeds allowance ({hi}): {}",
                halt_message(&reason)
            )));
        }
    };
    let succeeds = |gas: u64| -> RpcResult<bool> {
        Ok(matches!(
            run(ctx, &state, &header, &req, gas)?,
            ExecutionResult::Success { .. }
        ))
    };
    // Refunds and the 63/64 rule mean `used` may not be enough; try a near guess first.
    let guess = (used.saturating_add(TRANSFER_GAS)).saturating_mul(64) / 63;
    let mut lo = used.saturating_sub(1);
    if guess < hi && succeeds(guess)? {
        hi = guess;
    }
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if succeeds(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}
