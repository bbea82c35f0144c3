//! The derivation driver: walks the confirmed L1 blocks in order, reassembles the batcher's
//! channels, checks each batch against the safe head and makes the chain hold exactly the
//! derived blocks, then records where it stands after every L1 block.
//!
//! The verifier and the sequencer run the same driver on their block-building thread. When
//! the chain already holds the derived block (the sequencer sealed it; a verifier executed
//! it before a restart), the safe head just moves onto it; otherwise the blocks above the
//! safe head are rewound and the derived block is executed. When L1 reorganises below the
//! blocks derivation used, it rewinds to the newest checkpoint still on the canonical L1.

use super::{
    L1Block, L1View, SafeHead,
    batches::{BatchRules, NextBlock, check_batch_decoded, decode_transactions, forced_block},
    origin_of,
};
use crate::{
    batch::{ChannelAssembler, decompress_batches, parse_frames},
    block::{RecoveredTx, SealedBlock},
    engine::{Engine, EngineError},
    rollup::RollupConfig,
    storage::{DerivationRecord, DerivationUpdate, StorageError, Store},
};
use alloy::primitives::B256;
use parking_lot::RwLock;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{debug, info, warn};

/// Why derivation cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The stored checkpoints and chain disagree.
    #[error("derivation state is inconsistent: {0}")]
    Inconsistent(String),
}

/// What one step did.
#[derive(Debug, Default)]
pub struct DerivationOutcome {
    /// Blocks derivation executed (to announce like sealed blocks).
    pub executed: Vec<Arc<SealedBlock>>,
    /// Transactions of unsafe blocks derivation replaced (a sequencer may pool them again).
    pub dropped: Vec<Arc<RecoveredTx>>,
    /// L1 blocks processed.
    pub l1_blocks: u64,
}

/// Progress figures for the periodic log line.
#[derive(Debug)]
struct Progress {
    since: Instant,
    blocks: u64,
    txs: u64,
}

/// Derivation state: the safe head, the last L1 block processed, and the open channel.
#[derive(Debug)]
pub struct Driver {
    rules: BatchRules,
    genesis_l1: u64,
    genesis_l2: u64,
    store: Arc<Store>,
    assembler: ChannelAssembler,
    channel_timeout: u64,
    /// The last L1 block processed.
    cursor: Option<(u64, B256)>,
    safe: SafeHead,
    /// After a restart or a reorg: L1 blocks to read again only to rebuild the open channel.
    replay: Option<(u64, u64)>,
    progress: Progress,
}

impl Driver {
    /// Resumes derivation from the newest stored checkpoint, or starts it at the rollup's
    /// genesis.
    pub fn open(store: Arc<Store>, rollup: &RollupConfig) -> Result<Self, DriverError> {
        let rules = BatchRules {
            genesis_origin: rollup.genesis.l1.number,
            seq_window_size: rollup.seq_window_size.max(1),
            max_sequencer_drift: rollup.max_sequencer_drift,
            batcher: rollup.batcher_address,
            scalars: super::FeeScalars {
                base_fee_scalar: rollup.base_fee_scalar,
                blob_base_fee_scalar: rollup.blob_base_fee_scalar,
            },
        };
        let reader = store.reader()?;
        let last = reader.last_derivation()?;
        drop(reader);
        let mut driver = Self {
            rules,
            genesis_l1: rollup.genesis.l1.number,
            genesis_l2: rollup.genesis.l2.number,
            assembler: ChannelAssembler::new(rollup.channel_timeout),
            channel_timeout: rollup.channel_timeout,
            cursor: None,
            safe: SafeHead {
                number: 0,
                hash: B256::ZERO,
                timestamp: 0,
                origin: None,
            },
            store,
            replay: None,
            progress: Progress {
                since: Instant::now(),
                blocks: 0,
                txs: 0,
            },
        };
        match last {
            Some(record) => driver.restore(&record)?,
            None => driver.restart_from_genesis()?,
        }
        info!(
            target: "derivation",
            safe = driver.safe.number,
            l1 = driver.cursor.map(|c| c.0),
            "derivation resumes"
        );
        Ok(driver)
    }

    /// The safe head.
    pub fn safe(&self) -> &SafeHead {
        &self.safe
    }

    fn safe_head_at(&self, number: u64, hash: Option<B256>) -> Result<SafeHead, DriverError> {
        let block = self
            .store
            .reader()?
            .block(number)?
            .ok_or_else(|| DriverError::Inconsistent(format!("safe block {number} missing")))?;
        if hash.is_some_and(|h| h != block.hash) {
            return Err(DriverError::Inconsistent(format!(
                "safe block {number} is not the one derivation recorded"
            )));
        }
        Ok(safe_head_of(&block))
    }

    fn restart_from_genesis(&mut self) -> Result<(), DriverError> {
        self.safe = self.safe_head_at(self.genesis_l2, None)?;
        self.cursor = None;
        self.assembler = ChannelAssembler::new(self.channel_timeout);
        self.replay = None;
        Ok(())
    }

    fn restore(&mut self, record: &DerivationRecord) -> Result<(), DriverError> {
        self.safe = self.safe_head_at(record.safe_number, Some(record.safe_hash))?;
        self.cursor = Some((record.l1_number, record.l1_hash));
        self.assembler = ChannelAssembler::new(self.channel_timeout);
        self.replay = record.channel_start.map(|start| (start, record.l1_number));
        Ok(())
    }

    /// Processes up to `max_l1_blocks` confirmed L1 blocks after the cursor. The view's lock
    /// is held for one L1 block at a time.
    pub fn step(
        &mut self,
        engine: &mut Engine,
        view: &RwLock<L1View>,
        max_l1_blocks: u64,
    ) -> Result<DerivationOutcome, DriverError> {
        let mut out = DerivationOutcome::default();
        if let Some((from, to)) = self.replay {
            let blocks: Option<Vec<L1Block>> = {
                let view = view.read();
                (from..=to).map(|n| view.block(n).cloned()).collect()
            };
            let Some(blocks) = blocks else {
                return Ok(out);
            };
            for block in &blocks {
                self.read_channels(block, false, &mut |_, _| {});
            }
            debug!(target: "derivation", from, to, open = ?self.assembler.open_since(), "replayed L1 to rebuild the open channel");
            self.replay = None;
        }
        let mut update = DerivationUpdate::default();
        // 1. The confirmed L1 blocks after the cursor, while they chain onto it.
        let (blocks, reorged) = {
            let guard = view.read();
            let mut parent = self.cursor;
            let reorged =
                parent.is_some_and(|(n, hash)| guard.block(n).is_some_and(|b| b.hash != hash));
            let mut blocks = Vec::new();
            while !reorged && (blocks.len() as u64) < max_l1_blocks {
                let next = parent.map_or(self.genesis_l1, |(n, _)| n + 1);
                let Some(block) = guard.confirmed(next) else {
                    break;
                };
                if parent.is_some_and(|(_, hash)| block.parent_hash != hash) {
                    break;
                }
                parent = Some((block.number, block.hash));
                blocks.push(block.clone());
            }
            update.l1_head = guard.head().map_or(0, |h| h.number);
            update.l1_finalized = guard.finalized();
            let stalled = blocks.is_empty()
                && self.cursor.is_some_and(|(n, hash)| {
                    guard
                        .confirmed(n + 1)
                        .is_some_and(|b| b.parent_hash != hash)
                });
            (blocks, reorged || stalled)
        };
        if reorged {
            self.rewind_to_canonical(view, &mut update)?;
        }
        // 2. Their channels (the assembler does not depend on the safe head).
        let mut per_block = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let mut batches = Vec::new();
            self.read_channels(block, true, &mut |batch, _| batches.push(batch));
            per_block.push((batches, self.assembler.open_since()));
        }
        // 3. Senders are recovered on the rayon pool, batch after batch in L1 order, while
        //    this thread checks and executes the batches before them.
        let raw: Vec<Vec<alloy::primitives::Bytes>> = per_block
            .iter()
            .flat_map(|(batches, _)| batches.iter().map(|b| b.transactions.clone()))
            .collect();
        let (decoded_tx, decoded_rx) = std::sync::mpsc::channel();
        if !raw.is_empty() {
            rayon::spawn(move || {
                for txs in raw {
                    if decoded_tx.send(decode_transactions(&txs)).is_err() {
                        break;
                    }
                }
            });
        }
        // 4. In order: each batch against the safe head, then the sequencing window.
        for (block, (batches, channel_start)) in blocks.iter().zip(per_block) {
            let guard = view.read();
            for batch in batches {
                let decoded = decoded_rx.recv().map_err(|_| {
                    DriverError::Inconsistent("transaction decoding stopped".into())
                })?;
                match check_batch_decoded(
                    &batch,
                    &self.safe,
                    block.number,
                    &guard,
                    &self.rules,
                    || decoded,
                ) {
                    Ok(next) => self.apply(engine, next, &mut out)?,
                    Err(reason) => {
                        warn!(target: "derivation", l1 = block.number, %reason, "dropping batch")
                    }
                }
            }
            while let Some(next) = forced_block(&self.safe, block.number, &guard, &self.rules) {
                info!(
                    target: "derivation",
                    l1 = block.number,
                    l2 = self.safe.number + 1,
                    deposits = next.attributes.forced.len() - 1,
                    "sequencing window passed without a batch: deriving the block from L1 alone"
                );
                self.apply(engine, next, &mut out)?;
            }
            drop(guard);
            self.cursor = Some((block.number, block.hash));
            out.l1_blocks += 1;
            update.records.push(DerivationRecord {
                l1_number: block.number,
                l1_hash: block.hash,
                safe_number: self.safe.number,
                safe_hash: self.safe.hash,
                channel_start,
            });
        }
        if !update.records.is_empty() || update.drop_from.is_some() {
            update.safe = self.safe.number;
            self.store.put_derivation(&update)?;
            if let Some((n, _)) = self.cursor {
                view.write().mark_processed(n);
            }
        }
        self.report(&out, view);
        Ok(out)
    }

    /// Feeds an L1 block's batcher transactions to the channel assembler; hands each batch
    /// of every channel that completes to `on_batch` (unless only replaying).
    fn read_channels(
        &mut self,
        block: &L1Block,
        emit: bool,
        on_batch: &mut dyn FnMut(crate::batch::Batch, usize),
    ) {
        if let Some(id) = self.assembler.advance(block.number) {
            warn!(target: "derivation", l1 = block.number, channel = %alloy::primitives::hex::encode(id), "channel timed out before its last frame");
        }
        for (index, data) in block.batcher_data.iter().enumerate() {
            let frames = match parse_frames(data) {
                Ok(frames) => frames,
                Err(e) => {
                    warn!(target: "derivation", l1 = block.number, tx = index, error = %e, "ignoring malformed batcher transaction");
                    continue;
                }
            };
            for frame in frames {
                match self.assembler.add(frame, block.number) {
                    Ok(Some(channel)) if emit => {
                        let (batches, error) = decompress_batches(&channel);
                        if let Some(e) = error {
                            warn!(target: "derivation", l1 = block.number, read = batches.len(), error = %e, "channel ends in a malformed part; the batches before it stand");
                        }
                        for batch in batches {
                            on_batch(batch, index);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        warn!(target: "derivation", l1 = block.number, tx = index, error = %e, "ignoring frame")
                    }
                }
            }
        }
    }

    /// Makes block `safe + 1` the derived one and moves the safe head onto it.
    fn apply(
        &mut self,
        engine: &mut Engine,
        next: NextBlock,
        out: &mut DerivationOutcome,
    ) -> Result<(), DriverError> {
        let number = self.safe.number + 1;
        if engine.head().number() >= number {
            let existing = self
                .store
                .reader()?
                .block(number)?
                .ok_or_else(|| DriverError::Inconsistent(format!("block {number} missing")))?;
            if holds(&existing, &next) {
                self.safe = safe_head_of(&existing);
                self.progress.blocks += 1;
                self.progress.txs += existing.txs.len() as u64;
                return Ok(());
            }
            warn!(
                target: "derivation",
                number,
                sealed = %existing.hash,
                "the block derived from L1 differs from the one sealed: replacing the blocks above the safe head"
            );
            out.dropped.extend(engine.rewind(self.safe.number)?);
        }
        if engine.head().hash != self.safe.hash {
            return Err(DriverError::Inconsistent(format!(
                "chain head {} is not the safe head {}",
                engine.head().number(),
                self.safe.number
            )));
        }
        let built = engine.build_block(&next.attributes, &next.txs)?;
        let block = engine.commit(built)?;
        self.progress.blocks += 1;
        self.progress.txs += block.txs.len() as u64;
        self.safe = safe_head_of(&block);
        out.executed.push(block);
        Ok(())
    }

    /// L1 reorganised below the cursor: go back to the newest checkpoint whose L1 block is
    /// still canonical (or to genesis), and re-derive from there.
    fn rewind_to_canonical(
        &mut self,
        view: &RwLock<L1View>,
        update: &mut DerivationUpdate,
    ) -> Result<(), DriverError> {
        let reader = self.store.reader()?;
        let view = view.read();
        let mut below = self.cursor.map_or(0, |(n, _)| n);
        let found = loop {
            match reader.derivation_at_or_below(below)? {
                None => break None,
                Some(record) => {
                    // A block the view no longer holds is too old to have been reorged.
                    if view
                        .block(record.l1_number)
                        .is_none_or(|b| b.hash == record.l1_hash)
                    {
                        break Some(record);
                    }
                    match record.l1_number.checked_sub(1) {
                        Some(n) => below = n,
                        None => break None,
                    }
                }
            }
        };
        drop(reader);
        let old = self.safe.number;
        match &found {
            Some(record) => self.restore(record)?,
            None => self.restart_from_genesis()?,
        }
        update.records.clear();
        update.drop_from = Some(found.map_or(0, |r| r.l1_number + 1));
        warn!(
            target: "derivation",
            l1 = found.map(|r| r.l1_number),
            safe_before = old,
            safe = self.safe.number,
            "L1 reorganised below derived blocks: derivation rewinds"
        );
        Ok(())
    }

    fn report(&mut self, out: &DerivationOutcome, view: &RwLock<L1View>) {
        let elapsed = self.progress.since.elapsed();
        if elapsed < Duration::from_secs(10) || (self.progress.blocks == 0 && out.l1_blocks == 0) {
            return;
        }
        let l1_head = view.read().head().map(|h| h.number);
        let secs = elapsed.as_secs_f64();
        info!(
            target: "derivation",
            safe = self.safe.number,
            l1 = self.cursor.map(|c| c.0),
            l1_head,
            l1_behind = l1_head.zip(self.cursor).map(|(h, c)| h.saturating_sub(c.0)),
            blocks_per_s = format!("{:.1}", self.progress.blocks as f64 / secs),
            txs_per_s = format!("{:.1}", self.progress.txs as f64 / secs),
            "deriving"
        );
        self.progress = Progress {
            since: Instant::now(),
            blocks: 0,
            txs: 0,
        };
    }
}

/// The safe-head view of a stored block.
fn safe_head_of(block: &SealedBlock) -> SafeHead {
    SafeHead {
        number: block.number(),
        hash: block.hash,
        timestamp: block.header.timestamp,
        origin: origin_of(&block.txs),
    }
}

/// Whether `block` is exactly what `next` derives: same timestamp and PREVRANDAO, the same
/// deposits and the same transactions in the same order.
fn holds(block: &SealedBlock, next: &NextBlock) -> bool {
    let want = next.attributes.forced.iter().chain(next.txs.iter());
    block.header.timestamp == next.attributes.timestamp
        && block.header.mix_hash == next.attributes.prev_randao
        && block.txs.len() == next.attributes.forced.len() + next.txs.len()
        && block.txs.iter().zip(want).all(|(a, b)| a.hash == b.hash)
}

#[cfg(test)]
#[path = "driver_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "invariant_tests.rs"]
mod invariant_tests;
