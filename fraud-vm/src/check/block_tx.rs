//! A block's EIP-2718 transactions decoded as the transaction start step decodes them
//! (SPEC.md §3.9), with the op-revm transactions they are executed as.

use crate::state::Rules;
use crate::tx::TxRecord;
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Bytes, U256};
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
    /// Decodes an EIP-2718 encoded OP transaction (deposits included) of a chain with id
    /// `chain_id` and recovers its sender, as the transaction start step does (SPEC.md §3.9).
    pub fn decode(encoded: &[u8], chain_id: u64) -> Result<Self, DecodeTxError> {
        let record = crate::tx::decode(encoded, Rules::Isthmus, U256::from(chain_id))
            .map_err(|why| DecodeTxError::Malformed(why.to_string()))?;
        let envelope = OpTxEnvelope::decode_2718_exact(encoded)
            .map_err(|e| DecodeTxError::Malformed(e.to_string()))?;
        let op = alloy_op_evm::OpTx::from_encoded_tx(
            &envelope,
            record.sender,
            Bytes::from(encoded.to_vec()),
        )
        .0;
        Ok(Self { record, op })
    }
}

/// Why a transaction cannot be checked: it is not a transaction an Isthmus block may hold.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeTxError {
    /// It does not decode, or its sender does not recover, or it is signed for another chain.
    #[error("malformed: {0}")]
    Malformed(String),
}
