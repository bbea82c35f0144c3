//! Decoding a block's EIP-2718 transactions into transaction records (SPEC.md §3.9) and the
//! op-revm transactions they are executed as.

use crate::tx::{DepositFields, TxRecord};
use alloy::consensus::Transaction as _;
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy_evm::FromTxWithEncoded;
use op_alloy::consensus::OpTxEnvelope;
use op_revm::OpTransaction;
use revm::context::TxEnv;
use thiserror::Error;

/// One transaction of a block, decoded, with its sender.
#[derive(Clone, Debug)]
pub struct BlockTx {
    /// The record the transaction list commits to (SPEC.md §3.9).
    pub record: TxRecord,
    /// The transaction as op-revm executes it.
    pub op: OpTransaction<TxEnv>,
}

impl BlockTx {
    /// Decodes an EIP-2718 encoded OP transaction (deposits included) and recovers its sender.
    pub fn decode(encoded: &[u8]) -> Result<Self, DecodeTxError> {
        let bad = |e: &dyn std::fmt::Display| DecodeTxError::Malformed(e.to_string());
        let envelope = OpTxEnvelope::decode_2718(&mut &encoded[..]).map_err(|e| bad(&e))?;
        let (sender, deposit) = match &envelope {
            OpTxEnvelope::Deposit(d) => (
                d.from,
                Some(DepositFields {
                    source_hash: d.source_hash,
                    mint: d.mint,
                    is_system: d.is_system_transaction,
                }),
            ),
            OpTxEnvelope::Legacy(t) => (t.recover_signer().map_err(|e| bad(&e))?, None),
            OpTxEnvelope::Eip2930(t) => (t.recover_signer().map_err(|e| bad(&e))?, None),
            OpTxEnvelope::Eip1559(t) => (t.recover_signer().map_err(|e| bad(&e))?, None),
            OpTxEnvelope::Eip7702(t) => (t.recover_signer().map_err(|e| bad(&e))?, None),
            OpTxEnvelope::PostExec(_) => {
                return Err(DecodeTxError::Unsupported("post-execution transactions"));
            }
        };
        let (create, to) = match envelope.kind() {
            TxKind::Create => (true, Address::ZERO),
            TxKind::Call(to) => (false, to),
        };
        let max_fee = U256::from(envelope.max_fee_per_gas());
        let record = TxRecord {
            sender,
            create,
            to,
            nonce: if deposit.is_some() {
                0
            } else {
                envelope.nonce()
            },
            gas_limit: envelope.gas_limit(),
            max_fee: if deposit.is_some() {
                U256::ZERO
            } else {
                max_fee
            },
            max_priority_fee: if deposit.is_some() {
                U256::ZERO
            } else {
                envelope
                    .max_priority_fee_per_gas()
                    .map_or(max_fee, U256::from)
            },
            value: envelope.value(),
            data: envelope.input().to_vec(),
            access_list: envelope
                .access_list()
                .map(|list| {
                    list.iter()
                        .map(|item| {
                            (
                                item.address,
                                item.storage_keys.iter().map(|k| (*k).into()).collect(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            max_fee_per_blob_gas: U256::ZERO,
            blob_hashes: Vec::new(),
            authorizations: envelope
                .authorization_list()
                .map(|list| {
                    list.iter()
                        .map(|a| crate::tx::Authorization {
                            chain_id: a.chain_id,
                            address: a.address,
                            nonce: a.nonce,
                            y_parity: a.y_parity(),
                            r: a.r(),
                            s: a.s(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            encoded: encoded.to_vec(),
            deposit,
        };
        let op =
            alloy_op_evm::OpTx::from_encoded_tx(&envelope, sender, Bytes::from(encoded.to_vec())).0;
        Ok(Self { record, op })
    }
}

/// Why a transaction cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeTxError {
    /// It does not decode, or its sender does not recover.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A transaction kind this version does not prove.
    #[error("not supported in this version: {0}")]
    Unsupported(&'static str),
}
