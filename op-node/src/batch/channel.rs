//! Channels: compressed runs of batches, reassembled from frames that may arrive out of
//! order, twice, or never.

use super::{Batch, BatchError, Frame};
use flate2::{Compression, read::ZlibDecoder, write::ZlibEncoder};
use std::{
    collections::{BTreeMap, HashMap},
    io::{Read, Write},
};

/// Largest decompressed channel (a bound against compression bombs).
pub const MAX_CHANNEL_BYTES: usize = 10_000_000;

/// RLP-encodes `batches` one after the other and compresses them with zlib.
pub fn compress_batches(batches: &[Batch]) -> Vec<u8> {
    let mut raw = Vec::new();
    for batch in batches {
        batch.encode(&mut raw);
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(&raw)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// Decompresses a channel (at most [`MAX_CHANNEL_BYTES`]) and decodes its batches. Decoding
/// stops at the first malformed batch; the batches before it are returned with the error.
pub fn decompress_batches(compressed: &[u8]) -> (Vec<Batch>, Option<BatchError>) {
    let mut raw = Vec::new();
    let read = ZlibDecoder::new(compressed)
        .take(MAX_CHANNEL_BYTES as u64 + 1)
        .read_to_end(&mut raw);
    if let Err(e) = read {
        return (
            Vec::new(),
            Some(BatchError::Rlp(format!("channel does not decompress: {e}"))),
        );
    }
    if raw.len() > MAX_CHANNEL_BYTES {
        return (
            Vec::new(),
            Some(BatchError::Rlp(format!(
                "channel exceeds {MAX_CHANNEL_BYTES} bytes"
            ))),
        );
    }
    let mut batches = Vec::new();
    let mut buf = raw.as_slice();
    while !buf.is_empty() {
        match Batch::decode(&mut buf) {
            Ok(batch) => batches.push(batch),
            Err(e) => return (batches, Some(e)),
        }
    }
    (batches, None)
}

/// A channel being reassembled.
#[derive(Debug, Default)]
struct Partial {
    frames: BTreeMap<u16, Vec<u8>>,
    last: Option<u16>,
    /// L1 block of the first frame, for the timeout.
    opened_at: u64,
}

/// Reassembles channels from frames; a channel completes when frames 0..=last are all in.
/// A frame seen twice, a frame after its channel's last, or a second last frame are ignored;
/// a channel not complete within `timeout` L1 blocks of its first frame is dropped.
#[derive(Debug)]
pub struct ChannelAssembler {
    partial: HashMap<[u8; 16], Partial>,
    /// Channels already completed, with the L1 block they completed in: their frames arriving
    /// again (a resubmission) must not complete them twice.
    closed: HashMap<[u8; 16], u64>,
    timeout: u64,
}

impl ChannelAssembler {
    /// An assembler that drops channels left open for `timeout` L1 blocks.
    pub fn new(timeout: u64) -> Self {
        Self {
            partial: HashMap::new(),
            closed: HashMap::new(),
            timeout,
        }
    }

    /// Adds a frame seen in L1 block `l1_block`; returns the channel's compressed bytes when
    /// this frame completes it.
    pub fn add(&mut self, frame: Frame, l1_block: u64) -> Option<Vec<u8>> {
        self.partial
            .retain(|_, p| l1_block.saturating_sub(p.opened_at) <= self.timeout);
        self.closed
            .retain(|_, at| l1_block.saturating_sub(*at) <= self.timeout);
        if self.closed.contains_key(&frame.channel_id) {
            return None;
        }
        let partial = self
            .partial
            .entry(frame.channel_id)
            .or_insert_with(|| Partial {
                opened_at: l1_block,
                ..Default::default()
            });
        if partial.frames.contains_key(&frame.number)
            || partial.last.is_some_and(|last| frame.number > last)
        {
            return None;
        }
        if frame.is_last {
            if partial.last.is_some() {
                return None;
            }
            partial.last = Some(frame.number);
            partial.frames.retain(|n, _| *n <= frame.number);
        }
        partial.frames.insert(frame.number, frame.data);
        let last = partial.last?;
        if partial.frames.len() != usize::from(last) + 1 {
            return None;
        }
        let partial = self.partial.remove(&frame.channel_id)?;
        self.closed.insert(frame.channel_id, l1_block);
        Some(partial.frames.into_values().flatten().collect())
    }

    /// Channels still waiting for frames.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }
}
