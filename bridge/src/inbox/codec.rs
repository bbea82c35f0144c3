//! The calldata format of `appendBlocks(bytes data)` (BATCHES.md §2): length-prefixed,
//! big-endian, uncompressed, so the inbox walks it in one pass.
//!
//! ```text
//! data         = first_block:u64 ‖ flags:u8 ‖ [continuation] ‖ block*
//! continuation = tx_done:u32 ‖ frontier:bytes32[popcount(tx_done)] ‖ txs
//! block        = timestamp:u64 ‖ epoch:u64 ‖ header_len:u32 ‖ header ‖ txs
//! txs          = tx_count:u32 ‖ (tx_len:u32 ‖ tx)*
//! ```
//!
//! Decoding here is context free (it needs no inbox state) and checks only the shape; the
//! inbox's rules live in [`super::rules`].

use alloy::primitives::{B256, Bytes};

/// Flag: a continuation of the inbox's open block comes first.
pub const FLAG_CONTINUATION: u8 = 0x01;
/// Flag: the last item (the continuation or the last block) stays open.
pub const FLAG_KEEP_OPEN: u8 = 0x02;

/// Bytes of a block item besides its header and transactions.
pub const BLOCK_OVERHEAD: usize = 8 + 8 + 4 + 4;
/// Bytes per transaction besides the transaction itself.
pub const TX_OVERHEAD: usize = 4;
/// Bytes of `first_block ‖ flags`.
pub const APPEND_OVERHEAD: usize = 8 + 1;

/// One `appendBlocks` argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendData {
    /// The block the append starts at (the open block's number when it continues one).
    pub first_block: u64,
    /// Whether the last item stays open.
    pub keep_open: bool,
    /// More transactions of the inbox's open block.
    pub continuation: Option<Continuation>,
    /// New blocks.
    pub blocks: Vec<BlockData>,
}

/// More transactions of the open block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Continuation {
    /// How many transactions the open block holds already.
    pub tx_done: u32,
    /// Their tree's frontier (one word per set bit of `tx_done`, low level first).
    pub frontier: Vec<B256>,
    /// The next transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
}

/// A new block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockData {
    /// Its timestamp.
    pub timestamp: u64,
    /// Its L1 origin number.
    pub epoch: u64,
    /// The origin's RLP header when the block starts an epoch, else empty.
    pub header: Bytes,
    /// Its (first) transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
}

/// Why bytes are not append data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The data ends inside an item.
    #[error("truncated append data")]
    Truncated,
    /// Unknown flag bits.
    #[error("unknown flags {0:#04x}")]
    BadFlags(u8),
    /// Neither a continuation nor a block.
    #[error("an append with nothing in it")]
    EmptyAppend,
}

impl BlockData {
    /// Encoded size of this block item.
    pub fn encoded_len(&self) -> usize {
        BLOCK_OVERHEAD + self.header.len() + txs_len(&self.transactions)
    }
}

impl Continuation {
    /// Encoded size of this continuation.
    pub fn encoded_len(&self) -> usize {
        4 + 32 * self.frontier.len() + 4 + txs_len(&self.transactions)
    }
}

fn txs_len(txs: &[Bytes]) -> usize {
    txs.iter().map(|t| TX_OVERHEAD + t.len()).sum()
}

impl AppendData {
    /// Encoded size.
    pub fn encoded_len(&self) -> usize {
        APPEND_OVERHEAD
            + self
                .continuation
                .as_ref()
                .map_or(0, Continuation::encoded_len)
            + self
                .blocks
                .iter()
                .map(BlockData::encoded_len)
                .sum::<usize>()
    }

    /// The flags byte this append carries.
    pub fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.continuation.is_some() {
            flags |= FLAG_CONTINUATION;
        }
        if self.keep_open {
            flags |= FLAG_KEEP_OPEN;
        }
        flags
    }

    /// The bytes of `data`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.first_block.to_be_bytes());
        out.push(self.flags());
        if let Some(c) = &self.continuation {
            out.extend_from_slice(&c.tx_done.to_be_bytes());
            for word in &c.frontier {
                out.extend_from_slice(word.as_slice());
            }
            encode_txs(&c.transactions, &mut out);
        }
        for block in &self.blocks {
            out.extend_from_slice(&block.timestamp.to_be_bytes());
            out.extend_from_slice(&block.epoch.to_be_bytes());
            out.extend_from_slice(&(block.header.len() as u32).to_be_bytes());
            out.extend_from_slice(&block.header);
            encode_txs(&block.transactions, &mut out);
        }
        out
    }

    /// Reads append data; never panics, whatever the bytes.
    pub fn decode(data: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(data);
        let first_block = r.u64()?;
        let flags = r.u8()?;
        if flags & !(FLAG_CONTINUATION | FLAG_KEEP_OPEN) != 0 {
            return Err(CodecError::BadFlags(flags));
        }
        let continuation = if flags & FLAG_CONTINUATION != 0 {
            let tx_done = r.u32()?;
            let frontier = (0..tx_done.count_ones())
                .map(|_| r.bytes(32).map(B256::from_slice))
                .collect::<Result<_, _>>()?;
            Some(Continuation {
                tx_done,
                frontier,
                transactions: r.txs()?,
            })
        } else {
            None
        };
        let mut blocks = Vec::new();
        while !r.is_empty() {
            let timestamp = r.u64()?;
            let epoch = r.u64()?;
            let header_len = r.u32()? as usize;
            let header = Bytes::copy_from_slice(r.bytes(header_len)?);
            blocks.push(BlockData {
                timestamp,
                epoch,
                header,
                transactions: r.txs()?,
            });
        }
        if continuation.is_none() && blocks.is_empty() {
            return Err(CodecError::EmptyAppend);
        }
        Ok(Self {
            first_block,
            keep_open: flags & FLAG_KEEP_OPEN != 0,
            continuation,
            blocks,
        })
    }
}

fn encode_txs(txs: &[Bytes], out: &mut Vec<u8>) {
    out.extend_from_slice(&(txs.len() as u32).to_be_bytes());
    for tx in txs {
        out.extend_from_slice(&(tx.len() as u32).to_be_bytes());
        out.extend_from_slice(tx);
    }
}

/// A bounds-checked cursor over append data (also used by the rules, in the inbox's order).
#[derive(Debug)]
pub(super) struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    pub(super) fn bytes(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        let end = self.at.checked_add(len).ok_or(CodecError::Truncated)?;
        let out = self.data.get(self.at..end).ok_or(CodecError::Truncated)?;
        self.at = end;
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.bytes(1)?[0])
    }

    pub(super) fn u32(&mut self) -> Result<u32, CodecError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self) -> Result<u64, CodecError> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_be_bytes(word))
    }

    fn txs(&mut self) -> Result<Vec<Bytes>, CodecError> {
        let count = self.u32()?;
        // Bounded by the data, not by the count a malformed append claims.
        let mut txs = Vec::with_capacity((count as usize).min(self.data.len() / TX_OVERHEAD));
        for _ in 0..count {
            let len = self.u32()? as usize;
            txs.push(Bytes::copy_from_slice(self.bytes(len)?));
        }
        Ok(txs)
    }
}
