//! The commitments the inbox stores (BATCHES.md §3): per L2 block its input commitment
//! `inputs_n`, per append a record over the blocks it completed, and the proof that opens one
//! block's commitment from a record (what the fraud VM's block start reads on L1).

use super::tree::{IncrementalTree, WORD_TREE_DEPTH, fold_word_proof, word_tree_proof};
use alloy::primitives::{B256, Bytes, keccak256};

/// Domain tag of a block's input commitment.
pub const INPUTS_TAG: u8 = 0x20;
/// Domain tag of an append record.
pub const RECORD_TAG: u8 = 0x21;

/// What L1 fixes of one L2 block: everything its inputs are derived from, besides the L1 data
/// (the origin's header, its deposits) that the epoch hash and the portal's deposit log pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInputs {
    /// The L2 block number.
    pub number: u64,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its L1 origin (epoch) number.
    pub epoch: u64,
    /// The hash of that L1 block.
    pub epoch_hash: B256,
    /// Its position in the epoch (0 for the first block of an epoch, which carries the deposits).
    pub sequence_number: u64,
    /// The word-tree root of `keccak256(tx)` over its non-deposit transactions ([`tx_root`]).
    pub tx_root: B256,
    /// How many of them.
    pub tx_count: u32,
}

impl BlockInputs {
    /// `inputs_n = keccak256(0x20 ‖ number ‖ timestamp ‖ epoch ‖ epoch_hash ‖ sequence_number ‖
    /// tx_root ‖ tx_count)` with u64, u64, u64, bytes32, u64, bytes32, u32 (101 bytes).
    pub fn commitment(&self) -> B256 {
        let mut buf = Vec::with_capacity(101);
        buf.push(INPUTS_TAG);
        buf.extend_from_slice(&self.number.to_be_bytes());
        buf.extend_from_slice(&self.timestamp.to_be_bytes());
        buf.extend_from_slice(&self.epoch.to_be_bytes());
        buf.extend_from_slice(self.epoch_hash.as_slice());
        buf.extend_from_slice(&self.sequence_number.to_be_bytes());
        buf.extend_from_slice(self.tx_root.as_slice());
        buf.extend_from_slice(&self.tx_count.to_be_bytes());
        keccak256(buf)
    }
}

/// The word-tree root whose leaf `i` is `keccak256` of transaction `i`'s EIP-2718 encoding.
pub fn tx_root(transactions: &[Bytes]) -> B256 {
    let mut tree = IncrementalTree::new();
    for tx in transactions {
        tree.push(keccak256(tx));
    }
    tree.root()
}

/// What the inbox stores for one append that completed blocks (or one forced epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendRecord {
    /// The first block it completed.
    pub first: u64,
    /// How many consecutive blocks it completed.
    pub count: u64,
    /// The L1 block that included it.
    pub l1_block: u64,
    /// The word-tree root over the completed blocks' input commitments, in order.
    pub root: B256,
}

impl AppendRecord {
    /// The record of the blocks whose commitments are `inputs` (from `first`), appended in
    /// L1 block `l1_block`.
    pub fn new(first: u64, l1_block: u64, inputs: &[B256]) -> Self {
        let mut tree = IncrementalTree::new();
        for leaf in inputs {
            tree.push(*leaf);
        }
        Self {
            first,
            count: inputs.len() as u64,
            l1_block,
            root: tree.root(),
        }
    }

    /// `keccak256(0x21 ‖ first ‖ count ‖ l1_block ‖ root)` with u64, u64, u64, bytes32 (57
    /// bytes): the 32 bytes the inbox stores.
    pub fn commitment(&self) -> B256 {
        let mut buf = Vec::with_capacity(57);
        buf.push(RECORD_TAG);
        buf.extend_from_slice(&self.first.to_be_bytes());
        buf.extend_from_slice(&self.count.to_be_bytes());
        buf.extend_from_slice(&self.l1_block.to_be_bytes());
        buf.extend_from_slice(self.root.as_slice());
        keccak256(buf)
    }
}

/// Opens the input commitment of one block from the record of its append: the argument of
/// the inbox's `blockInputs(number, proof)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputsProof {
    /// Index of the record.
    pub index: u64,
    /// The record's preimage (its root is recomputed from the path, not taken from here).
    pub record: AppendRecord,
    /// The block's commitment.
    pub inputs: B256,
    /// Siblings of the path from the leaf to the root, leaf level first.
    pub siblings: [B256; WORD_TREE_DEPTH],
}

impl InputsProof {
    /// Length of the encoded proof.
    pub const LEN: usize = 4 * 8 + 32 + 32 * WORD_TREE_DEPTH;

    /// The proof for block `number` of the append at `index`, which recorded `inputs` from
    /// `first` in L1 block `l1_block`; `None` if the block is not among them.
    pub fn new(
        index: u64,
        first: u64,
        l1_block: u64,
        inputs: &[B256],
        number: u64,
    ) -> Option<Self> {
        let position = usize::try_from(number.checked_sub(first)?).ok()?;
        let leaf = *inputs.get(position)?;
        Some(Self {
            index,
            record: AppendRecord::new(first, l1_block, inputs),
            inputs: leaf,
            siblings: word_tree_proof(inputs, position),
        })
    }

    /// `index ‖ first ‖ count ‖ l1_block ‖ inputs ‖ siblings` (u64 ×4, bytes32, 32 × bytes32).
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.record.first.to_be_bytes());
        out.extend_from_slice(&self.record.count.to_be_bytes());
        out.extend_from_slice(&self.record.l1_block.to_be_bytes());
        out.extend_from_slice(self.inputs.as_slice());
        for sibling in &self.siblings {
            out.extend_from_slice(sibling.as_slice());
        }
        out.into()
    }

    /// The record commitment this proof opens for block `number`, as the inbox recomputes it;
    /// `None` if `number` is outside the record's range.
    pub fn opened_record(&self, number: u64) -> Option<B256> {
        let position = number.checked_sub(self.record.first)?;
        if position >= self.record.count {
            return None;
        }
        let root = fold_word_proof(self.inputs, position, &self.siblings);
        Some(
            AppendRecord {
                root,
                ..self.record
            }
            .commitment(),
        )
    }
}
