//! The sequence of L2 block inputs as the L1 `BatchInbox` contract defines it (batch format v1,
//! op-node/BATCHES.md): the calldata of `appendBlocks` ([`AppendData`]), the inbox's rules
//! ([`Inbox`], step for step as the contract checks them), and the commitments it stores
//! ([`BlockInputs`], [`AppendRecord`]) with the proof that opens one block's inputs on L1
//! ([`InputsProof`]).
//!
//! The batcher encodes appends with this module, derivation replays the successful ones through
//! [`Inbox`] to get the recorded blocks, and the fraud VM's block start opens `inputs_n` and the
//! transaction tree exactly as specified here. Everything read from L1 is untrusted: decoding and
//! the rules never panic and say what is wrong.

mod codec;
mod commit;
mod rules;
mod tree;

pub use codec::{
    APPEND_OVERHEAD, AppendData, BLOCK_OVERHEAD, BlockData, CodecError, Continuation,
    FLAG_CONTINUATION, FLAG_KEEP_OPEN, TX_OVERHEAD,
};
pub use commit::{AppendRecord, BlockInputs, INPUTS_TAG, InputsProof, RECORD_TAG, tx_root};
pub use rules::{
    Appended, Inbox, InboxConfig, InboxError, InboxState, L1Context, OpenBlock, RecordedBlock,
    block_hash_readable, header_timestamp,
};
pub use tree::{
    IncrementalTree, WORD_TREE_DEPTH, empty_root, fold_word_proof, hash_pair, word_tree_proof,
    word_tree_root, zero_hashes,
};

#[cfg(test)]
mod tests;
