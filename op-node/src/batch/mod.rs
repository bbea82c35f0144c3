//! The batch format (version 0, specified in `op-node/BATCHES.md`): how the sequencer's L2
//! blocks travel to L1 so that anyone can rebuild them from L1 data alone.
//!
//! A [`Batch`] is one L2 block's inputs that L1 does not already hold: its parent, its L1
//! origin, its timestamp and its non-deposit transactions. Batches are RLP-encoded one after
//! the other into a channel, the channel is zlib-compressed and cut into [`Frame`]s, and
//! frames ride in the calldata of transactions from the batcher to the batch inbox.
//! Everything read from L1 is untrusted: decoding never panics, is bounded in size, and
//! reports what was wrong so derivation can skip it with a log line.

mod channel;
mod frame;

pub use channel::{
    ChannelAssembler, FrameRejection, MAX_CHANNEL_BYTES, compress_batches, decompress_batches,
};
pub use frame::{
    DERIVATION_VERSION, Frame, FrameError, MAX_FRAME_DATA, frames_for_channel, parse_frames,
};

use alloy::{
    primitives::{B256, Bytes},
    rlp,
};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// Type byte of a version-0 batch.
pub const BATCH_TYPE_V0: u8 = 0;

/// One L2 block's inputs, as the batcher posts them.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Batch {
    /// Hash of the L2 block this one builds on.
    pub parent_hash: B256,
    /// Number of the block's L1 origin.
    pub epoch_number: u64,
    /// Hash of the block's L1 origin.
    pub epoch_hash: B256,
    /// The block's timestamp.
    pub timestamp: u64,
    /// The block's non-deposit transactions, EIP-2718 encoded, in order.
    pub transactions: Vec<Bytes>,
}

/// Why a batch could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Nothing left where a batch was expected.
    #[error("empty batch")]
    Empty,
    /// A batch type this node does not know.
    #[error("unknown batch type {0}")]
    UnknownType(u8),
    /// The RLP is malformed.
    #[error("malformed batch: {0}")]
    Rlp(String),
}

impl Batch {
    /// Appends the type byte and the RLP of the batch to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(BATCH_TYPE_V0);
        rlp::Encodable::encode(self, out);
    }

    /// Decodes one batch from the front of `buf`, advancing it.
    pub fn decode(buf: &mut &[u8]) -> Result<Self, BatchError> {
        let (&kind, rest) = buf.split_first().ok_or(BatchError::Empty)?;
        if kind != BATCH_TYPE_V0 {
            return Err(BatchError::UnknownType(kind));
        }
        *buf = rest;
        <Self as rlp::Decodable>::decode(buf).map_err(|e| BatchError::Rlp(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
