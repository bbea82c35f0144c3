//! Deposit log indices proven from L1 receipts: the Rust side of the `DepositLogIndex` oracle
//! (bridge/contracts/L1/DepositLogIndex.sol, BATCHES.md §3.5).
//!
//! A user deposit's source hash commits to its `TransactionDeposited` event's index among all
//! logs of its L1 block. The oracle learns those indices from the block's receipts, proven one
//! by one (in order from index 0) under the header's receipts root, and records the portal
//! deposit logs' indices folded into a chain ([`log_index_link`]). This module is the model of
//! that chain ([`deposit_log_indices`], [`log_index_chain`]) and builds the oracle's calls: the
//! receipts trie of one block, checked against its header, and `proveReceipts` calls in chunks
//! that fit an L1 transaction ([`BlockReceipts::prove_calls`]).

use std::collections::BTreeMap;

use alloy::{
    consensus::{Header, ReceiptEnvelope},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, keccak256},
    rlp,
    sol_types::SolEvent,
};
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};

use crate::bindings::{DepositLogIndex, OptimismPortal};

/// Domain tag of a link of the oracle's log-index chain.
pub const LOG_INDEX_LINK_TAG: u8 = 0x23;

/// Calldata a `proveReceipts` call may hold before the builder starts another one: well under an
/// L1 transaction's practical limit (~128 KB in geth's pool), leaving room for gas.
pub const MAX_CALL_BYTES: usize = 96_000;

/// Receipts a `proveReceipts` call may prove before the builder starts another one: each costs
/// about 166k gas (its proof hashed and walked, its logs read), so 32 stay near 5.3M gas, well
/// under an L1 block's gas limit and EIP-7825's cap of 2^24 per transaction, whatever their size.
pub const MAX_CALL_RECEIPTS: usize = 32;

/// `keccak256(0x23 ‖ chain ‖ logIndex:u64)`: one link of the oracle's chain.
pub fn log_index_link(chain: B256, log_index: u64) -> B256 {
    let mut buf = [0u8; 41];
    buf[0] = LOG_INDEX_LINK_TAG;
    buf[1..33].copy_from_slice(chain.as_slice());
    buf[33..].copy_from_slice(&log_index.to_be_bytes());
    keccak256(buf)
}

/// The chain of `indices` folded from zero: what the oracle records as `chainAt[H][k]` for the
/// first `k` portal deposit logs of block `H` (zero for none).
pub fn log_index_chain(indices: &[u64]) -> B256 {
    indices
        .iter()
        .fold(B256::ZERO, |chain, &i| log_index_link(chain, i))
}

/// Whether a log is the portal's `TransactionDeposited`.
fn is_deposit(portal: Address, log: &alloy::primitives::Log) -> bool {
    log.address == portal
        && log.topics().first() == Some(&OptimismPortal::TransactionDeposited::SIGNATURE_HASH)
}

/// The block-wide log indices of `portal`'s `TransactionDeposited` logs in `receipts` (a block's
/// receipts in order): the model of what the oracle folds.
pub fn deposit_log_indices(receipts: &[ReceiptEnvelope], portal: Address) -> Vec<u64> {
    receipts
        .iter()
        .flat_map(|r| r.logs())
        .zip(0u64..)
        .filter(|(log, _)| is_deposit(portal, log))
        .map(|(_, i)| i)
        .collect()
}

/// Why a block's receipts cannot be proven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptsError {
    /// The receipts' trie root is not the header's receipts root (a receipt missing, extra or
    /// different).
    #[error("the receipts' root {built} is not the header's receipts root {header}")]
    RootMismatch {
        /// The root of the receipts given.
        built: B256,
        /// The header's `receiptsRoot`.
        header: B256,
    },
    /// The header's bytes are not an RLP block header.
    #[error("the header does not decode")]
    BadHeader,
    /// The oracle's next receipt is past the block's receipts.
    #[error("the oracle is at receipt {next} of a block with {count} receipts")]
    PastEnd {
        /// `nextReceipt[H]`.
        next: u64,
        /// The block's receipts.
        count: usize,
    },
}

/// One L1 block's header and receipts, their trie checked against the header.
#[derive(Debug, Clone)]
pub struct BlockReceipts {
    header: Bytes,
    hash: B256,
    receipts: Vec<ReceiptEnvelope>,
}

/// `rlp(index)`: a receipt's key in the receipts trie.
fn receipt_key(index: usize) -> Vec<u8> {
    rlp::encode(index as u64)
}

impl BlockReceipts {
    /// Takes the block's `header` and all its `receipts` in order; refuses them unless their trie
    /// has the header's receipts root.
    pub fn new(header: &Header, receipts: Vec<ReceiptEnvelope>) -> Result<Self, ReceiptsError> {
        Self::with_header_rlp(header, rlp::encode(header).into(), receipts)
    }

    /// [`Self::new`] with the header as its RLP bytes (as a block-start proof carries the
    /// origin header), kept byte for byte: the block hash is their `keccak256`.
    pub fn from_header_rlp(
        header_rlp: Bytes,
        receipts: Vec<ReceiptEnvelope>,
    ) -> Result<Self, ReceiptsError> {
        let header = <Header as rlp::Decodable>::decode(&mut header_rlp.as_ref())
            .map_err(|_| ReceiptsError::BadHeader)?;
        Self::with_header_rlp(&header, header_rlp, receipts)
    }

    fn with_header_rlp(
        header: &Header,
        header_rlp: Bytes,
        receipts: Vec<ReceiptEnvelope>,
    ) -> Result<Self, ReceiptsError> {
        let built = alloy::consensus::proofs::calculate_receipt_root(&receipts);
        if built != header.receipts_root {
            return Err(ReceiptsError::RootMismatch {
                built,
                header: header.receipts_root,
            });
        }
        Ok(Self {
            hash: keccak256(&header_rlp),
            header: header_rlp,
            receipts,
        })
    }

    /// The block hash the oracle records under: `keccak256(header)`.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// The header's RLP, as `proveReceipts` takes it.
    pub fn header_rlp(&self) -> &Bytes {
        &self.header
    }

    /// The receipts.
    pub fn receipts(&self) -> &[ReceiptEnvelope] {
        &self.receipts
    }

    /// The block-wide log indices of `portal`'s deposit logs ([`deposit_log_indices`]).
    pub fn deposit_log_indices(&self, portal: Address) -> Vec<u64> {
        deposit_log_indices(&self.receipts, portal)
    }

    /// How many receipts the oracle must have proven to know the first `k` deposit logs of
    /// `portal`: one past the receipt holding the `k`-th (0 for `k = 0`, None when the block has
    /// fewer than `k`).
    pub fn receipts_for(&self, portal: Address, k: usize) -> Option<usize> {
        if k == 0 {
            return Some(0);
        }
        let mut seen = 0;
        for (i, receipt) in self.receipts.iter().enumerate() {
            seen += receipt
                .logs()
                .iter()
                .filter(|l| is_deposit(portal, l))
                .count();
            if seen >= k {
                return Some(i + 1);
            }
        }
        None
    }

    /// The Merkle-Patricia proofs of receipts `range` (root first), from one trie build.
    pub fn proofs(&self, range: std::ops::Range<usize>) -> Vec<Vec<Bytes>> {
        let leaves: BTreeMap<Vec<u8>, Vec<u8>> = self
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| (receipt_key(i), r.encoded_2718()))
            .collect();
        let targets: Vec<Nibbles> = range
            .clone()
            .map(|i| Nibbles::unpack(receipt_key(i)))
            .collect();
        let mut builder =
            HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets.clone()));
        for (key, value) in &leaves {
            builder.add_leaf(Nibbles::unpack(key), value);
        }
        builder.root();
        let nodes = builder.take_proof_nodes();
        targets
            .iter()
            .map(|t| {
                nodes
                    .matching_nodes_sorted(t)
                    .into_iter()
                    .map(|(_, node)| node)
                    .collect()
            })
            .collect()
    }

    /// The `proveReceipts` calls that take the oracle from `next` (its `nextReceipt[H]`) to
    /// `until` receipts proven, each holding at most [`MAX_CALL_RECEIPTS`] receipts and at most
    /// `max_bytes` of calldata unless one receipt's proof alone is larger (it then goes alone).
    /// No calls when `next ≥ until`.
    pub fn prove_calls(
        &self,
        next: u64,
        until: usize,
        max_bytes: usize,
    ) -> Result<Vec<DepositLogIndex::proveReceiptsCall>, ReceiptsError> {
        let count = self.receipts.len();
        let start = usize::try_from(next)
            .ok()
            .filter(|&n| n <= count)
            .ok_or(ReceiptsError::PastEnd { next, count })?;
        let until = until.min(count);
        if start >= until {
            return Ok(Vec::new());
        }
        // ABI size: selector, three head words, the header (length word + padded bytes), the
        // outer array's length word; each proof an offset, a length and per node an offset, a
        // length word and the padded node.
        let padded = |n: usize| n.div_ceil(32) * 32;
        let base = 4 + 3 * 32 + 32 + padded(self.header.len()) + 32;
        let mut calls = Vec::new();
        let mut first = start;
        let mut current: Vec<Vec<Bytes>> = Vec::new();
        let mut size = base;
        for (i, proof) in (start..until).zip(self.proofs(start..until)) {
            let cost = 64 + proof.iter().map(|n| 64 + padded(n.len())).sum::<usize>();
            if !current.is_empty()
                && (size + cost > max_bytes || current.len() == MAX_CALL_RECEIPTS)
            {
                calls.push(DepositLogIndex::proveReceiptsCall {
                    header: self.header.clone(),
                    first: alloy::primitives::U256::from(first),
                    proofs: std::mem::take(&mut current),
                });
                first = i;
                size = base;
            }
            size += cost;
            current.push(proof);
        }
        calls.push(DepositLogIndex::proveReceiptsCall {
            header: self.header.clone(),
            first: alloy::primitives::U256::from(first),
            proofs: current,
        });
        Ok(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_layout() {
        // Built independently: the tag byte, the chain word, the index as 8 big-endian bytes.
        let chain = B256::repeat_byte(0x5a);
        let expected =
            keccak256([&[0x23u8][..], chain.as_slice(), &[0, 0, 0, 0, 0, 0, 1, 2]].concat());
        assert_eq!(log_index_link(chain, 0x0102), expected);
        assert_eq!(log_index_chain(&[]), B256::ZERO);
        assert_eq!(
            log_index_chain(&[3, 9]),
            log_index_link(log_index_link(B256::ZERO, 3), 9)
        );
    }

    #[test]
    fn receipt_keys_are_rlp_of_the_index() {
        assert_eq!(receipt_key(0), vec![0x80]);
        assert_eq!(receipt_key(1), vec![0x01]);
        assert_eq!(receipt_key(0x7f), vec![0x7f]);
        assert_eq!(receipt_key(0x80), vec![0x81, 0x80]);
        assert_eq!(receipt_key(0x1234), vec![0x82, 0x12, 0x34]);
    }
}
