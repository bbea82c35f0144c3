//! A block's transactions and receipts in the form the chain file stores them.

use crate::block::RecoveredTx;
use alloy::primitives::{B256, Bytes};

/// A block's transactions and receipts in their stored form, encoded off the commit's
/// critical path (the engine builds it while the state root is being computed).
#[derive(Debug)]
pub struct EncodedBody {
    /// RLP list of the EIP-2718 transactions ([`super::tables::BODIES`]).
    pub(super) txs: Vec<u8>,
    /// Concatenated senders ([`super::tables::SENDERS`]).
    pub(super) senders: Vec<u8>,
    /// RLP list of the EIP-2718 receipts ([`super::tables::RECEIPTS`]).
    pub(super) receipts: Vec<u8>,
    /// (transaction hash, index in block), sorted by hash as the transaction index's runs are ([`super::tx_runs`])
    /// in key order.
    pub(super) tx_index: Vec<(B256, u32)>,
}

impl EncodedBody {
    /// Encodes `txs` and `receipts`, given as their EIP-2718 bytes (the receipts root is
    /// computed from the same bytes, so each receipt is encoded once).
    pub fn new(txs: &[std::sync::Arc<RecoveredTx>], receipts: &[Bytes]) -> Self {
        let body: Vec<&Bytes> = txs.iter().map(|t| &t.encoded).collect();
        let mut senders = Vec::with_capacity(txs.len() * 20);
        let mut tx_index = Vec::with_capacity(txs.len());
        for (i, t) in txs.iter().enumerate() {
            senders.extend_from_slice(t.sender().as_slice());
            tx_index.push((t.hash, i as u32));
        }
        tx_index.sort_unstable_by_key(|(hash, _)| *hash);
        Self {
            txs: rlp_list(&body),
            senders,
            receipts: rlp_list(receipts),
            tx_index,
        }
    }
}

/// The RLP list of `items`, allocated once at its final size.
fn rlp_list<B: std::borrow::Borrow<Bytes>>(items: &[B]) -> Vec<u8> {
    let mut out = Vec::with_capacity(alloy::rlp::list_length::<B, Bytes>(items));
    alloy::rlp::encode_list::<B, Bytes>(items, &mut out);
    out
}
