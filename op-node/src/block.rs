//! The block and transaction types that move between the txpool, the engine, storage and RPC.

use alloy::{
    consensus::{Header, transaction::Recovered},
    eips::eip2718::{Decodable2718, Encodable2718},
    primitives::{Address, B256, Bytes},
};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use std::sync::Arc;

/// A signed transaction with its sender already recovered, its hash and its canonical
/// (EIP-2718) encoding. Built once at ingress and shared by the pool, the block and the RPC.
#[derive(Debug, Clone)]
pub struct RecoveredTx {
    /// The transaction and its sender.
    pub tx: Recovered<OpTxEnvelope>,
    /// `keccak256(encoded)`.
    pub hash: B256,
    /// EIP-2718 bytes, as received and as stored.
    pub encoded: Bytes,
}

impl RecoveredTx {
    /// Wraps a transaction whose sender is known (from storage, or recovered at ingress).
    pub fn new(tx: OpTxEnvelope, sender: Address) -> Self {
        let encoded: Bytes = tx.encoded_2718().into();
        let hash = alloy::primitives::keccak256(&encoded);
        Self {
            tx: Recovered::new_unchecked(tx, sender),
            hash,
            encoded,
        }
    }

    /// Decodes stored EIP-2718 bytes whose sender is already known.
    pub fn decode_with_sender(
        encoded: Bytes,
        sender: Address,
    ) -> Result<Self, alloy::eips::eip2718::Eip2718Error> {
        let tx = OpTxEnvelope::decode_2718_exact(&encoded)?;
        let hash = alloy::primitives::keccak256(&encoded);
        Ok(Self {
            tx: Recovered::new_unchecked(tx, sender),
            hash,
            encoded,
        })
    }

    /// The recovered sender.
    pub fn sender(&self) -> Address {
        self.tx.signer()
    }
}

/// A sealed block: header, hash, transactions and their receipts.
#[derive(Debug, Clone)]
pub struct SealedBlock {
    /// The header.
    pub header: Header,
    /// `keccak256(rlp(header))`.
    pub hash: B256,
    /// Transactions in block order.
    pub txs: Vec<Arc<RecoveredTx>>,
    /// One receipt per transaction.
    pub receipts: Vec<OpReceiptEnvelope>,
}

impl SealedBlock {
    /// The block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }
}

impl RecoveredTx {
    /// Wraps a transaction received as `encoded` whose sender was just recovered.
    pub fn from_parts(tx: OpTxEnvelope, sender: Address, encoded: Bytes) -> Self {
        let hash = alloy::primitives::keccak256(&encoded);
        Self {
            tx: Recovered::new_unchecked(tx, sender),
            hash,
            encoded,
        }
    }
}
