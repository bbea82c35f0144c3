//! Channels: compressed runs of batches, reassembled from frames in order.

use super::{Batch, BatchError, Frame};
use flate2::{Compression, read::ZlibDecoder, write::ZlibEncoder};
use std::io::{Read, Write};

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
/// The channel being reassembled.
#[derive(Debug)]
struct OpenChannel {
    id: [u8; 16],
    /// The frame number expected next.
    next: u16,
    data: Vec<u8>,
    /// L1 block of the first frame, for the timeout.
    opened_at: u64,
}

/// Why a frame did not go into a channel (BATCHES.md §2); derivation logs it and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameRejection {
    /// A frame other than number 0 with no channel open, or for another channel.
    #[error("frame {number} of a channel that is not open")]
    NotOpen {
        /// The frame's number.
        number: u16,
    },
    /// A frame of the open channel other than the next one.
    #[error("frame {number} where frame {expected} was due")]
    OutOfOrder {
        /// The frame's number.
        number: u16,
        /// The number that was due.
        expected: u16,
    },
    /// The channel's compressed data would exceed [`MAX_CHANNEL_BYTES`]; it is dropped.
    #[error("channel exceeds {MAX_CHANNEL_BYTES} compressed bytes")]
    TooLarge,
}

/// Reassembles channels under the strict rules of BATCHES.md §2: at most one channel is
/// open; frame 0 opens a channel (dropping another one still open; frame 0 of the open
/// channel again is refused as out of order), each later frame must be the
/// open channel's next, the last frame completes it, and a channel open longer than the
/// timeout is dropped. The whole state is the open channel, so derivation can resume after
/// a restart by replaying L1 from the block the open channel began in.
#[derive(Debug)]
pub struct ChannelAssembler {
    open: Option<OpenChannel>,
    timeout: u64,
}

impl ChannelAssembler {
    /// An assembler that drops channels left open for more than `timeout` L1 blocks.
    pub fn new(timeout: u64) -> Self {
        Self {
            open: None,
            timeout,
        }
    }

    /// Moves to L1 block `l1_block`, dropping the open channel if it timed out; returns the
    /// dropped channel's id.
    pub fn advance(&mut self, l1_block: u64) -> Option<[u8; 16]> {
        if self
            .open
            .as_ref()
            .is_some_and(|open| l1_block.saturating_sub(open.opened_at) > self.timeout)
        {
            return self.open.take().map(|open| open.id);
        }
        None
    }

    /// Adds a frame seen in L1 block `l1_block`; returns the channel's compressed bytes when
    /// this frame completes it. A frame 0 that drops an open channel is not an error.
    pub fn add(&mut self, frame: Frame, l1_block: u64) -> Result<Option<Vec<u8>>, FrameRejection> {
        self.advance(l1_block);
        let reopens = self
            .open
            .as_ref()
            .is_some_and(|open| open.id == frame.channel_id);
        if frame.number == 0 && !reopens {
            self.open = Some(OpenChannel {
                id: frame.channel_id,
                next: 0,
                data: Vec::new(),
                opened_at: l1_block,
            });
        }
        let open = match self.open.as_mut() {
            Some(open) if open.id == frame.channel_id => open,
            _ => {
                return Err(FrameRejection::NotOpen {
                    number: frame.number,
                });
            }
        };
        if frame.number != open.next {
            return Err(FrameRejection::OutOfOrder {
                number: frame.number,
                expected: open.next,
            });
        }
        if open.data.len() + frame.data.len() > MAX_CHANNEL_BYTES {
            self.open = None;
            return Err(FrameRejection::TooLarge);
        }
        open.data.extend_from_slice(&frame.data);
        open.next = open.next.saturating_add(1);
        if frame.is_last {
            return Ok(self.open.take().map(|open| open.data));
        }
        Ok(None)
    }

    /// The L1 block where the open channel began, if one is open.
    pub fn open_since(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.opened_at)
    }
}
