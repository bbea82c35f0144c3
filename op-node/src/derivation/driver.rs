//! The derivation driver: walks the confirmed L1 blocks in order, replays the batch inbox's
//! successful calls through the Rust inbox (`bridge::inbox`) to get the blocks it recorded,
//! makes the chain hold exactly those blocks, and records where it stands after every L1 block.
//!
//! The verifier and the sequencer run the same driver on their block-building thread. When
//! the chain already holds the derived block (the sequencer sealed it; a verifier executed
//! it before a restart), the safe head just moves onto it; otherwise the blocks above the
//! safe head are rewound and the derived block is executed. When L1 reorganises below the
//! blocks derivation used, it rewinds to the newest checkpoint still on the canonical L1.

use super::{
    InboxCall, L1Block, L1View, SafeHead, origin_of,
    recorded::{BatchRules, NextBlock, attributes, decode_transactions},
};
use crate::{
    block::{RecoveredTx, SealedBlock},
    engine::{BlockAttributes, Engine, EngineError},
    rollup::RollupConfig,
    storage::{
        DerivationRecord, DerivationUpdate, StorageError, Store, StoredAppend, StoredRecordedList,
    },
};
use alloy::primitives::{B256, Bytes, keccak256};
use bridge::inbox::{Appended, Inbox, InboxConfig, InboxError, L1Context, RecordedBlock};
use parking_lot::RwLock;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{error, info, warn};

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

/// Derivation state: the safe head, the last L1 block processed, and the inbox as replayed up
/// to it.
#[derive(Debug)]
pub struct Driver {
    rules: BatchRules,
    genesis_l1: u64,
    genesis_l2: u64,
    store: Arc<Store>,
    /// The last L1 block processed.
    cursor: Option<(u64, B256)>,
    safe: SafeHead,
    /// The inbox after the cursor's L1 block: the blocks it recorded are derived up to the
    /// safe head, and it holds the open block's transactions so far.
    inbox: Inbox,
    /// The L1 block where the inbox's open block began, while one is open.
    open_since: Option<u64>,
    progress: Progress,
}

/// The blocks one L1 block's inbox calls recorded, and what derivation then records of it.
struct L1Step {
    block: L1Block,
    recorded: Vec<RecordedBlock>,
    /// The append records its calls stored.
    appends: Vec<StoredAppend>,
    /// The RLP headers of the origins of the blocks those appends recorded: number, hash,
    /// header.
    origin_headers: Vec<(u64, B256, Bytes)>,
    open_since: Option<u64>,
}

impl Driver {
    /// Resumes derivation from the newest stored checkpoint, or starts it at the rollup's
    /// genesis.
    pub fn open(store: Arc<Store>, rollup: &RollupConfig) -> Result<Self, DriverError> {
        let rules = BatchRules {
            inbox: inbox_config(rollup),
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
            cursor: None,
            safe: SafeHead {
                number: 0,
                hash: B256::ZERO,
                timestamp: 0,
                origin: None,
            },
            inbox: Inbox::new(rules.inbox),
            open_since: None,
            store,
            progress: Progress {
                since: Instant::now(),
                blocks: 0,
                txs: 0,
            },
        };
        match last {
            Some(record) => driver.restore(record)?,
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

    /// The first L1 block derivation needs: the one after the cursor, or the safe head's
    /// origin if older (a block recorded next may have an origin back to it).
    pub fn l1_start(&self) -> u64 {
        let next = self.cursor.map_or(self.genesis_l1, |(n, _)| n + 1);
        // The L2 genesis has no L1-info deposit, yet the block after it has the rollup's L1
        // genesis (or the block after) as origin: a node restarted with the genesis still safe
        // must look back that far (main's crash-loop.test.mjs found this in v0).
        let safe_origin = self
            .safe
            .origin
            .as_ref()
            .map_or(self.genesis_l1, |o| o.number);
        safe_origin.min(next)
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
        self.inbox = Inbox::new(self.rules.inbox);
        self.open_since = None;
        Ok(())
    }

    /// Resumes after `record`'s L1 block. The inbox's state there follows from the safe head,
    /// except for a block still open, whose transactions so far only L1 holds: then derivation
    /// resumes from the checkpoint before that block began (the blocks derived since are found
    /// in the chain again and kept).
    fn restore(&mut self, mut record: DerivationRecord) -> Result<(), DriverError> {
        while let Some(start) = record.open_block_start {
            let before = match start.checked_sub(1) {
                Some(n) => self.store.reader()?.derivation_at_or_below(n)?,
                None => None,
            };
            match before {
                Some(earlier) if earlier.l1_number < record.l1_number => record = earlier,
                _ => return self.restart_from_genesis(),
            }
        }
        self.safe = self.safe_head_at(record.safe_number, Some(record.safe_hash))?;
        self.cursor = Some((record.l1_number, record.l1_hash));
        self.inbox = Inbox::resume(self.rules.inbox, self.safe.inbox_state(&self.rules.inbox));
        self.open_since = None;
        Ok(())
    }

    /// Whether [`Self::step`] has anything to do: a confirmed L1 block after the cursor, or
    /// the cursor's block reorganised away.
    pub fn has_work(&self, view: &L1View) -> bool {
        let next = self.cursor.map_or(self.genesis_l1, |(n, _)| n + 1);
        view.confirmed(next).is_some()
            || self
                .cursor
                .is_some_and(|(n, hash)| view.block(n).is_some_and(|b| b.hash != hash))
    }

    /// Processes up to `max_l1_blocks` confirmed L1 blocks after the cursor.
    pub fn step(
        &mut self,
        engine: &mut Engine,
        view: &RwLock<L1View>,
        max_l1_blocks: u64,
    ) -> Result<DerivationOutcome, DriverError> {
        let mut out = DerivationOutcome::default();
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
            update.safe = self.safe.number;
            self.store.put_derivation(&update)?;
            return Ok(out);
        }
        // 2. The blocks the inbox recorded in them (the inbox's state does not depend on
        //    execution, so all of them are known before anything executes).
        let steps: Vec<L1Step> = {
            let guard = view.read();
            blocks
                .into_iter()
                .map(|block| {
                    let (recorded, appends) = self.replay_calls(&block, &guard);
                    let origin_headers = origin_headers(&appends, &guard);
                    L1Step {
                        block,
                        recorded,
                        appends,
                        origin_headers,
                        open_since: self.open_since,
                    }
                })
                .collect()
        };
        // 3. Senders are recovered on the rayon pool, block after block in L1 order, while
        //    this thread executes the blocks before them. Blocks the chain holds already (a
        //    sequencer's own) are first compared by their transactions' hashes, which needs
        //    no sender: recovering them again cost a sequencer as much CPU as its ingress and
        //    held its next block up for the whole L1 block's worth of recoveries.
        let held_up_to = engine.head().number();
        let raw: Vec<(u64, Vec<alloy::primitives::Bytes>)> = steps
            .iter()
            .flat_map(|step| {
                step.recorded
                    .iter()
                    .filter(|b| b.inputs.number > held_up_to)
                    .map(|b| (b.inputs.number, b.transactions.clone()))
            })
            .collect();
        let (decoded_tx, decoded_rx) = std::sync::mpsc::channel();
        if !raw.is_empty() {
            rayon::spawn(move || {
                for (number, txs) in raw {
                    if decoded_tx.send(decode_transactions(number, &txs)).is_err() {
                        break;
                    }
                }
            });
        }
        // 4. In order: each recorded block becomes the next L2 block.
        for step in steps {
            for recorded in &step.recorded {
                let number = recorded.inputs.number;
                let decoded = if number > held_up_to {
                    Some(decoded_rx.recv().map_err(|_| {
                        DriverError::Inconsistent("transaction decoding stopped".into())
                    })?)
                } else {
                    None
                };
                if number != self.safe.number + 1 {
                    return Err(DriverError::Inconsistent(format!(
                        "the inbox recorded block {} after safe block {}",
                        recorded.inputs.number, self.safe.number
                    )));
                }
                let attributes = attributes(&recorded.inputs, &view.read(), &self.rules)
                    .map_err(|e| DriverError::Inconsistent(e.to_string()))?;
                let forced = attributes.forced.len();
                let held = match decoded {
                    None => {
                        match self.holds_recorded(engine, &attributes, &recorded.transactions)? {
                            Some(held) => held,
                            None => {
                                let txs = decode_transactions(number, &recorded.transactions);
                                self.apply(engine, NextBlock { attributes, txs }, &mut out)?
                            }
                        }
                    }
                    Some(txs) => self.apply(engine, NextBlock { attributes, txs }, &mut out)?,
                };
                // The block holds a subsequence of its recorded list, in order, after its
                // deposits: one shorter than the list left something out, and a dispute
                // traces it from the list (a block that holds it all needs no copy).
                if held.saturating_sub(forced) != recorded.transactions.len() {
                    update.recorded_lists.push(StoredRecordedList {
                        number: recorded.inputs.number,
                        l1_block: step.block.number,
                        transactions: recorded.transactions.clone(),
                    });
                }
            }
            self.cursor = Some((step.block.number, step.block.hash));
            out.l1_blocks += 1;
            update.appends.extend(step.appends);
            update.origin_headers.extend(step.origin_headers);
            update.records.push(DerivationRecord {
                l1_number: step.block.number,
                l1_hash: step.block.hash,
                safe_number: self.safe.number,
                safe_hash: self.safe.hash,
                open_block_start: step.open_since,
            });
        }
        if !update.records.is_empty() {
            update.safe = self.safe.number;
            self.store.put_derivation(&update)?;
            if let Some((n, _)) = self.cursor {
                view.write().mark_processed(n);
            }
        }
        self.report(&out, view);
        Ok(out)
    }

    /// Replays L1 block `block`'s inbox calls through the Rust inbox; returns the blocks they
    /// recorded and the append records they stored. A call whose replay does not give what its
    /// event says is logged and skipped: the inbox on L1 and this code would disagree, which the
    /// differential tests rule out.
    fn replay_calls(
        &mut self,
        block: &L1Block,
        view: &L1View,
    ) -> (Vec<RecordedBlock>, Vec<StoredAppend>) {
        let hash_of = |n: u64| view.block(n).map(|b| b.hash);
        let l1 = L1Context {
            number: block.number,
            block_hash: &hash_of,
        };
        let mut recorded = Vec::new();
        let mut appends = Vec::new();
        for call in &block.inbox_calls {
            let was_open = self.inbox.state().open.is_some();
            let (result, first, count, index, record) = match call {
                InboxCall::Append {
                    data,
                    first,
                    count,
                    index,
                    record,
                } => (self.inbox.append(data, l1), *first, *count, *index, *record),
                InboxCall::Force {
                    first,
                    count,
                    index,
                    record,
                    epoch,
                } => {
                    let result = match view.block(*epoch) {
                        Some(origin) => self.inbox.force_next_epoch_at(origin.timestamp, l1),
                        None => Err(InboxError::EpochHashUnavailable(*epoch)),
                    };
                    if result.is_ok() {
                        info!(target: "derivation", l1 = block.number, epoch, l2 = first + count.saturating_sub(1), "an epoch was forced after its sequencing window: a deposits-only block");
                    }
                    (result, *first, *count, *index, *record)
                }
            };
            match result {
                Ok(appended) if agrees(&appended, first, count, record) => {
                    if appended.record.is_some() {
                        appends.push(StoredAppend {
                            index,
                            l1_block: block.number,
                            blocks: appended.blocks.iter().map(|b| b.inputs).collect(),
                        });
                    }
                    recorded.extend(appended.blocks);
                }
                other => {
                    error!(target: "derivation", l1 = block.number, first, count, replay = ?other.map(|a| (a.first, a.blocks.len())), "cannot reproduce what the inbox recorded; skipping the call");
                }
            }
            match (was_open, self.inbox.state().open.is_some()) {
                (false, true) => self.open_since = Some(block.number),
                (_, false) => self.open_since = None,
                (true, true) => {}
            }
        }
        (recorded, appends)
    }

    /// When the chain holds block `safe + 1` and it is exactly what `attributes` and the
    /// recorded (encoded) transactions `raw` derive, moves the safe head onto it and returns
    /// how many transactions it holds; `None` otherwise. The same judgement as [`holds`]
    /// without decoding `raw`: a transaction's hash is the keccak of its encoding, so equal
    /// hashes mean the same bytes, which decode and recover as the held block's did.
    fn holds_recorded(
        &mut self,
        engine: &Engine,
        attributes: &BlockAttributes,
        raw: &[Bytes],
    ) -> Result<Option<usize>, DriverError> {
        let number = self.safe.number + 1;
        if engine.head().number() < number {
            return Ok(None);
        }
        let Some(existing) = self.store.reader()?.block(number)? else {
            return Ok(None);
        };
        let want = attributes
            .forced
            .iter()
            .map(|t| t.hash)
            .chain(raw.iter().map(keccak256));
        let same = existing.header.timestamp == attributes.timestamp
            && existing.header.mix_hash == attributes.prev_randao
            && existing.txs.len() == attributes.forced.len() + raw.len()
            && existing.txs.iter().zip(want).all(|(a, b)| a.hash == b);
        if !same {
            return Ok(None);
        }
        self.safe = safe_head_of(&existing);
        self.progress.blocks += 1;
        self.progress.txs += existing.txs.len() as u64;
        Ok(Some(existing.txs.len()))
    }

    /// Makes block `safe + 1` the derived one and moves the safe head onto it; returns how
    /// many transactions the block holds.
    fn apply(
        &mut self,
        engine: &mut Engine,
        next: NextBlock,
        out: &mut DerivationOutcome,
    ) -> Result<usize, DriverError> {
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
                return Ok(existing.txs.len());
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
        let built = engine.derive_block(&next.attributes, &next.txs)?;
        let block = engine.commit(built)?;
        self.progress.blocks += 1;
        self.progress.txs += block.txs.len() as u64;
        self.safe = safe_head_of(&block);
        let held = block.txs.len();
        out.executed.push(block);
        Ok(held)
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
        match found {
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

/// Whether a replayed call recorded what its event says.
fn agrees(appended: &Appended, first: u64, count: u64, record: B256) -> bool {
    appended.first == first
        && appended.blocks.len() as u64 == count
        && appended.record.map_or(B256::ZERO, |r| r.commitment()) == record
}

/// The inbox's parameters, as the rollup config fixes them.
pub fn inbox_config(rollup: &RollupConfig) -> InboxConfig {
    InboxConfig {
        first_block: rollup.genesis.l2.number + 1,
        genesis_epoch: rollup.genesis.l1.number,
        genesis_timestamp: rollup.genesis.l2_time,
        seq_window_size: rollup.seq_window_size.max(1),
        max_sequencer_drift: rollup.max_sequencer_drift,
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

/// The RLP headers of the L1 origins (epochs) of the blocks `appends` recorded, from the L1
/// view (which holds every epoch the inbox checked a hash of), each once: a dispute's block
/// start carries the header of its block's origin (fraud-vm/SPEC.md §5.18). An origin whose
/// header the view lacks or that does not hash to the recorded epoch hash is left out (the
/// defender of its blocks then cannot tie them).
fn origin_headers(appends: &[StoredAppend], view: &L1View) -> Vec<(u64, B256, Bytes)> {
    let mut out: Vec<(u64, B256, Bytes)> = Vec::new();
    for inputs in appends.iter().flat_map(|a| &a.blocks) {
        if out.iter().any(|(_, h, _)| *h == inputs.epoch_hash) {
            continue;
        }
        match view.block(inputs.epoch) {
            Some(b) if b.hash == inputs.epoch_hash && !b.header.is_empty() => {
                out.push((b.number, b.hash, b.header.clone()))
            }
            _ => {
                warn!(target: "derivation", l2 = inputs.number, epoch = inputs.epoch, "the origin's L1 header is not known: the block cannot be tied to it in a dispute")
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "driver_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "invariant_tests.rs"]
mod invariant_tests;
