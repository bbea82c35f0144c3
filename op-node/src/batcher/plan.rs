//! Packing sealed L2 blocks into `appendBlocks` calls (BATCHES.md §6): consecutive blocks from
//! where the inbox stands, as many as fit one L1 transaction, a block too large for what is left
//! split across appends (left open, then continued from its transaction tree's frontier). Pure:
//! the blocks, the inbox's position and the L1 headers in, the append out.

use crate::{block::SealedBlock, derivation::origin_of};
use alloy::primitives::{B256, Bytes, keccak256};
use bridge::inbox::{
    APPEND_OVERHEAD, AppendData, BLOCK_OVERHEAD, BlockData, Continuation, IncrementalTree,
    TX_OVERHEAD,
};

/// Largest `data` of one append: with the ABI wrapping and the transaction's own fields it
/// stays under the 128 KiB that L1 nodes accept for one transaction (geth's pool limit).
pub const MAX_APPEND_DATA: usize = 130_000;

/// Largest L2 transaction the pool admits: with a continuation's worst overhead (a 32-word
/// frontier) it still fits one append alone, so every block can be posted.
pub const MAX_L2_TX_SIZE: usize = 128_000;

/// Most block items per append: bounds the inbox's execution (about 3k gas per empty block,
/// 7k per block with transactions) well under the 2^24 transaction gas cap.
pub const MAX_BLOCKS_PER_APPEND: usize = 2_000;

/// Bytes of a continuation besides its transactions and frontier words.
const CONTINUATION_OVERHEAD: usize = 4 + 4;

/// A sealed L2 block as the batcher posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBlock {
    /// Its number.
    pub number: u64,
    /// Its hash on this node.
    pub hash: B256,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its L1 origin.
    pub epoch: u64,
    /// The origin's hash.
    pub epoch_hash: B256,
    /// Its non-deposit transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
}

impl LocalBlock {
    /// The posted form of a sealed block; `None` for a block without an L1 origin (the genesis).
    pub fn of(block: &SealedBlock) -> Option<Self> {
        let origin = origin_of(&block.txs)?;
        Some(Self {
            number: block.number(),
            hash: block.hash,
            timestamp: block.header.timestamp,
            epoch: origin.number,
            epoch_hash: origin.hash,
            transactions: block
                .txs
                .iter()
                .filter(|t| !t.tx.is_deposit())
                .map(|t| t.encoded.clone())
                .collect(),
        })
    }

    /// The frontier of the tree of its first `count` transactions.
    pub fn frontier(&self, count: usize) -> IncrementalTree {
        let mut tree = IncrementalTree::new();
        for tx in self.transactions.iter().take(count) {
            tree.push(keccak256(tx));
        }
        tree
    }
}

/// Where the inbox stands, as far as packing needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCursor {
    /// The next block to record (the open block while one is open).
    pub next_block: u64,
    /// The epoch of the last block started, if any block was.
    pub last_epoch: Option<u64>,
    /// How many transactions the open block holds, if one is open.
    pub open: Option<u32>,
}

/// An append ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAppend {
    /// What goes to `appendBlocks`.
    pub data: AppendData,
    /// The last block it closes (number and local hash), if any.
    pub closes_through: Option<(u64, B256)>,
    /// The block it leaves open and its transaction count then, if any.
    pub leaves_open: Option<(u64, u32)>,
    /// Transactions it carries.
    pub transactions: usize,
}

/// Why nothing can be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The first block given is not the inbox's next one.
    #[error("the blocks start at {got}, the inbox is at {expected}")]
    NotNext {
        /// The inbox's next block.
        expected: u64,
        /// The first block given.
        got: u64,
    },
    /// No block to post.
    #[error("no block to post")]
    Nothing,
    /// The open block holds more transactions than the local block.
    #[error("the inbox's open block {number} holds {done} transactions, the local block fewer")]
    OpenBeyondBlock {
        /// The open block.
        number: u64,
        /// Its recorded transaction count.
        done: u32,
    },
    /// The header of an epoch that a block starts is not available.
    #[error("the L1 header of epoch {0} is not available")]
    NoHeader(u64),
    /// A transaction larger than any append can carry.
    #[error("block {number}'s transaction {index} ({len} bytes) does not fit an append")]
    Oversized {
        /// The block.
        number: u64,
        /// The transaction's index.
        index: usize,
        /// Its length.
        len: usize,
    },
}

/// Packs `blocks` (consecutive, from `cursor.next_block`) into one append of at most
/// `max_len` bytes and `max_blocks` items: the open block's remaining transactions first, then
/// whole blocks, and the first block that does not fit split after as many of its transactions
/// as fit (left open). `header(epoch)` gives the RLP header of an epoch a block starts.
pub fn plan_append(
    cursor: &InboxCursor,
    blocks: &[LocalBlock],
    header: &mut dyn FnMut(u64) -> Option<Bytes>,
    max_len: usize,
    max_blocks: usize,
) -> Result<PlannedAppend, PlanError> {
    let first = blocks.first().ok_or(PlanError::Nothing)?;
    if first.number != cursor.next_block {
        return Err(PlanError::NotNext {
            expected: cursor.next_block,
            got: first.number,
        });
    }
    let mut plan = PlannedAppend {
        data: AppendData {
            first_block: cursor.next_block,
            ..AppendData::default()
        },
        closes_through: None,
        leaves_open: None,
        transactions: 0,
    };
    let mut len = APPEND_OVERHEAD;
    let mut items = 0usize;
    let mut rest = blocks;
    let mut last_epoch = cursor.last_epoch;
    if let Some(done) = cursor.open {
        let block = &blocks[0];
        let done_usize = done as usize;
        if done_usize > block.transactions.len() {
            return Err(PlanError::OpenBeyondBlock {
                number: block.number,
                done,
            });
        }
        let frontier = block.frontier(done_usize).frontier();
        len += CONTINUATION_OVERHEAD + 32 * frontier.len();
        let remaining = &block.transactions[done_usize..];
        let fit = fitting(
            remaining,
            max_len.saturating_sub(len),
            block.number,
            done_usize,
            true,
        )?;
        len += remaining[..fit]
            .iter()
            .map(|t| TX_OVERHEAD + t.len())
            .sum::<usize>();
        plan.transactions += fit;
        plan.data.continuation = Some(Continuation {
            tx_done: done,
            frontier,
            transactions: remaining[..fit].to_vec(),
        });
        items += 1;
        if fit < remaining.len() {
            plan.data.keep_open = true;
            plan.leaves_open = Some((block.number, done + fit as u32));
            return Ok(plan);
        }
        plan.closes_through = Some((block.number, block.hash));
        rest = &blocks[1..];
    }
    for block in rest {
        if items >= max_blocks {
            break;
        }
        let starts_epoch = last_epoch != Some(block.epoch);
        let header = if starts_epoch {
            header(block.epoch).ok_or(PlanError::NoHeader(block.epoch))?
        } else {
            Bytes::new()
        };
        let start = BLOCK_OVERHEAD + header.len();
        let whole = start
            + block
                .transactions
                .iter()
                .map(|t| TX_OVERHEAD + t.len())
                .sum::<usize>();
        if len + whole <= max_len {
            len += whole;
            plan.transactions += block.transactions.len();
            plan.data.blocks.push(BlockData {
                timestamp: block.timestamp,
                epoch: block.epoch,
                header,
                transactions: block.transactions.clone(),
            });
            plan.closes_through = Some((block.number, block.hash));
            last_epoch = Some(block.epoch);
            items += 1;
            continue;
        }
        // Split it: at least one transaction, or nothing if an append holds items already
        // and even one would not fit after them.
        let room = max_len.saturating_sub(len + start);
        let fit = fitting(&block.transactions, room, block.number, 0, items == 0)?;
        if fit == 0 && items > 0 {
            break;
        }
        plan.transactions += fit;
        plan.data.blocks.push(BlockData {
            timestamp: block.timestamp,
            epoch: block.epoch,
            header,
            transactions: block.transactions[..fit].to_vec(),
        });
        plan.data.keep_open = true;
        plan.leaves_open = Some((block.number, fit as u32));
        break;
    }
    if plan.data.continuation.is_none() && plan.data.blocks.is_empty() {
        return Err(PlanError::Nothing);
    }
    Ok(plan)
}

/// How many of `txs` fit `room` bytes; when the append holds nothing else (`first_item`), an
/// error if not even the first fits: no append ever could carry it.
fn fitting(
    txs: &[Bytes],
    room: usize,
    number: u64,
    offset: usize,
    first_item: bool,
) -> Result<usize, PlanError> {
    let mut used = 0;
    for (i, tx) in txs.iter().enumerate() {
        used += TX_OVERHEAD + tx.len();
        if used > room {
            if i == 0 && first_item {
                return Err(PlanError::Oversized {
                    number,
                    index: offset,
                    len: tx.len(),
                });
            }
            return Ok(i);
        }
    }
    Ok(txs.len())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
