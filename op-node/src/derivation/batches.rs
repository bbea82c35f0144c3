//! The rules that turn a batch read from L1 into the inputs of the next L2 block, or drop it
//! (BATCHES.md §5). Pure: the safe head, the L1 view and the batch in, a verdict out.

use super::{FeeScalars, L1Block, L1View, block_inputs};
use crate::{batch::Batch, block::RecoveredTx, engine::BlockAttributes, txpool::recover_sender};
use alloy::{
    eips::eip2718::Decodable2718,
    primitives::{Address, B256},
};
use bridge::l1_info::L1BlockInfo;
use op_alloy::consensus::OpTxEnvelope;
use rayon::prelude::*;
use std::sync::Arc;

/// The derivation parameters of the rollup config.
#[derive(Debug, Clone, Copy)]
pub struct BatchRules {
    /// The first L2 block's L1 origin.
    pub genesis_origin: u64,
    /// Sequencing window, in L1 blocks.
    pub seq_window_size: u64,
    /// Seconds an L2 block may run ahead of its origin.
    pub max_sequencer_drift: u64,
    /// The batcher, recorded in every L1-info deposit.
    pub batcher: Address,
    /// L1 data fee scalars, recorded in every L1-info deposit.
    pub scalars: FeeScalars,
}

/// The last L2 block derived from L1, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHead {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Timestamp.
    pub timestamp: u64,
    /// Its L1 origin and sequence number (`None` for the L2 genesis).
    pub origin: Option<L1BlockInfo>,
}

impl SafeHead {
    /// The epoch (L1 origin number) the next block must keep or advance by one; for the
    /// genesis, the first block's origin.
    fn epoch(&self, rules: &BatchRules) -> u64 {
        self.origin
            .as_ref()
            .map_or(rules.genesis_origin, |o| o.number)
    }

    /// The L1 block by which the next block's epoch must have its batch: at or past it,
    /// derivation builds the next block itself.
    pub fn window_end(&self, rules: &BatchRules) -> u64 {
        self.epoch(rules).saturating_add(rules.seq_window_size)
    }
}

/// The inputs of the next L2 block.
#[derive(Debug, Clone)]
pub struct NextBlock {
    /// Timestamp, PREVRANDAO and the deposits that open the block.
    pub attributes: BlockAttributes,
    /// The batch's transactions, decoded and recovered, in order.
    pub txs: Vec<Arc<RecoveredTx>>,
}

/// Why a batch was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchDrop {
    /// Not built on the safe head: an old batch, or one ahead of a gap.
    #[error("parent {parent} is not the safe head {safe}")]
    NotNext {
        /// The batch's parent.
        parent: B256,
        /// The safe head's hash.
        safe: B256,
    },
    /// The epoch is neither the safe head's nor the one after it.
    #[error("epoch {epoch} does not follow the safe head's epoch {safe_epoch}")]
    EpochGap {
        /// The batch's epoch.
        epoch: u64,
        /// The safe head's epoch.
        safe_epoch: u64,
    },
    /// The epoch is after the L1 block that carried the batch.
    #[error("epoch {epoch} is after the L1 block {inclusion} that carried the batch")]
    EpochInFuture {
        /// The batch's epoch.
        epoch: u64,
        /// Where the batch landed.
        inclusion: u64,
    },
    /// The epoch hash is not the canonical L1 block's.
    #[error("epoch {epoch} hash {hash} is not the canonical L1 block's")]
    EpochHash {
        /// The batch's epoch.
        epoch: u64,
        /// The hash it names.
        hash: B256,
    },
    /// The batch landed at or after the end of its epoch's sequencing window.
    #[error("landed in L1 block {inclusion}, past epoch {epoch}'s window (ends {end})")]
    WindowClosed {
        /// The batch's epoch.
        epoch: u64,
        /// Where it landed.
        inclusion: u64,
        /// First L1 block where it no longer counts.
        end: u64,
    },
    /// The timestamp is before the safe head's or the origin's.
    #[error("timestamp {timestamp} is before {minimum}")]
    TimestampTooEarly {
        /// The batch's timestamp.
        timestamp: u64,
        /// The earliest allowed.
        minimum: u64,
    },
    /// The timestamp runs too far ahead of the origin.
    #[error("timestamp {timestamp} is past the origin's {origin} plus the drift {drift}")]
    Drift {
        /// The batch's timestamp.
        timestamp: u64,
        /// The origin's timestamp.
        origin: u64,
        /// The allowed drift.
        drift: u64,
    },
    /// A transaction does not decode, is a deposit, or has no valid signature.
    #[error("transaction {index}: {reason}")]
    BadTransaction {
        /// Its index in the batch.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// Checks `batch`, carried by L1 block `inclusion`, against the safe head and the L1 view;
/// returns the next block's inputs or why the batch is dropped.
pub fn check_batch(
    batch: &Batch,
    safe: &SafeHead,
    inclusion: u64,
    l1: &L1View,
    rules: &BatchRules,
) -> Result<NextBlock, BatchDrop> {
    check_batch_decoded(batch, safe, inclusion, l1, rules, || {
        decode_transactions(&batch.transactions)
    })
}

/// [`check_batch`] with the transactions decoded by `decoded` (called only once every other
/// rule holds), so a caller can decode ahead on other threads.
pub fn check_batch_decoded(
    batch: &Batch,
    safe: &SafeHead,
    inclusion: u64,
    l1: &L1View,
    rules: &BatchRules,
    decoded: impl FnOnce() -> Result<Vec<Arc<RecoveredTx>>, BatchDrop>,
) -> Result<NextBlock, BatchDrop> {
    if batch.parent_hash != safe.hash {
        return Err(BatchDrop::NotNext {
            parent: batch.parent_hash,
            safe: safe.hash,
        });
    }
    let safe_epoch = safe.epoch(rules);
    let sequence_number = match &safe.origin {
        None if batch.epoch_number == rules.genesis_origin => 0,
        Some(o) if batch.epoch_number == o.number => o.sequence_number + 1,
        Some(o) if batch.epoch_number == o.number + 1 => 0,
        _ => {
            return Err(BatchDrop::EpochGap {
                epoch: batch.epoch_number,
                safe_epoch,
            });
        }
    };
    if batch.epoch_number > inclusion {
        return Err(BatchDrop::EpochInFuture {
            epoch: batch.epoch_number,
            inclusion,
        });
    }
    let end = batch.epoch_number.saturating_add(rules.seq_window_size);
    if inclusion >= end {
        return Err(BatchDrop::WindowClosed {
            epoch: batch.epoch_number,
            inclusion,
            end,
        });
    }
    let origin = match l1.block(batch.epoch_number) {
        Some(origin) if origin.hash == batch.epoch_hash => origin,
        _ => {
            return Err(BatchDrop::EpochHash {
                epoch: batch.epoch_number,
                hash: batch.epoch_hash,
            });
        }
    };
    let minimum = safe.timestamp.max(origin.timestamp);
    if batch.timestamp < minimum {
        return Err(BatchDrop::TimestampTooEarly {
            timestamp: batch.timestamp,
            minimum,
        });
    }
    if batch.timestamp > origin.timestamp.saturating_add(rules.max_sequencer_drift) {
        return Err(BatchDrop::Drift {
            timestamp: batch.timestamp,
            origin: origin.timestamp,
            drift: rules.max_sequencer_drift,
        });
    }
    let txs = decoded()?;
    let attributes = block_inputs(
        origin,
        sequence_number,
        batch.timestamp,
        rules.batcher,
        rules.scalars,
    );
    Ok(NextBlock { attributes, txs })
}

/// The block derivation builds itself when the safe head's epoch window has closed by L1
/// block `current` without a batch: it advances the epoch by one (the genesis's first block
/// takes the genesis origin), carries that epoch's deposits and no other transactions, and
/// takes the later of the safe head's and the origin's timestamps. `None` while the window
/// is open, or while the origin is not in the view.
pub fn forced_block(
    safe: &SafeHead,
    current: u64,
    l1: &L1View,
    rules: &BatchRules,
) -> Option<NextBlock> {
    if current < safe.window_end(rules) {
        return None;
    }
    let epoch = match &safe.origin {
        None => rules.genesis_origin,
        Some(o) => o.number + 1,
    };
    let origin: &L1Block = l1.block(epoch)?;
    let timestamp = safe.timestamp.max(origin.timestamp);
    Some(NextBlock {
        attributes: block_inputs(origin, 0, timestamp, rules.batcher, rules.scalars),
        txs: Vec::new(),
    })
}

/// Decodes a batch's transactions and recovers their senders (in parallel: recovery is the
/// expensive part). Any undecodable, deposit-type or unsigned transaction drops the batch.
pub fn decode_transactions(
    raw: &[alloy::primitives::Bytes],
) -> Result<Vec<Arc<RecoveredTx>>, BatchDrop> {
    raw.par_iter()
        .enumerate()
        .map(|(index, bytes)| {
            let bad = |reason: String| BatchDrop::BadTransaction { index, reason };
            let tx = OpTxEnvelope::decode_2718_exact(bytes).map_err(|e| bad(e.to_string()))?;
            if tx.is_deposit() || matches!(tx, OpTxEnvelope::PostExec(_)) {
                return Err(bad(
                    "deposit transactions are derived from L1, never batched".into(),
                ));
            }
            let sender = recover_sender(&tx).map_err(|e| bad(e.to_string()))?;
            Ok(Arc::new(RecoveredTx::from_parts(tx, sender, bytes.clone())))
        })
        .collect()
}
