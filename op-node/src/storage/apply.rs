//! Bringing the state file forward: the pending [`StateWrites`] of blocks already durable in
//! the chain file are merged and written to the state file in one transaction that also moves
//! its `applied` marker, on a background thread (or, for deterministic tests, inline).
//!
//! Writing a block's state to B-trees keyed by address and path costs about one page per
//! changed key: with a million accounts, thousands of random pages per block. Merged over many
//! blocks, each key is written once and each page copied once per batch, and none of it delays
//! the block that caused it.

use super::{
    StorageError,
    codec::{self, corrupt},
    overlay::{AccountWrites, StateWrites},
    tables::{
        ACCOUNT_TRIE, ACCOUNTS, APPLIED_HASH, APPLIED_KEY, CODE, STATE_META, STORAGE, STORAGE_TRIE,
        STORED_TRIE_DEPTH,
    },
};
use crate::thread_cpu::thread_cpu;
use alloy::primitives::{B256, keccak256};
use alloy_trie::Nibbles;
use parking_lot::{Condvar, Mutex};
use redb::{Database, Durability};
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{debug, error};

/// How the state file is brought forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// On a background thread, in batches: once `min_batch` blocks are pending, once the oldest
    /// has waited `max_delay`, or when asked to flush. Block commits wait while `max_pending`
    /// blocks are pending, which bounds the memory the pending writes take.
    Background {
        /// Pending blocks that start a batch.
        min_batch: usize,
        /// Longest a committed block waits before a batch starts.
        max_delay: Duration,
        /// Most pending blocks before commits wait.
        max_pending: usize,
    },
    /// In the committing thread, once `every` blocks are pending: the same writes in a fixed
    /// order, for tests that count and fail every disk operation.
    Inline {
        /// Pending blocks that trigger a write.
        every: usize,
    },
}

impl Default for ApplyMode {
    /// A batch every 4 s (or every 256 blocks). A batch's cost hardly depends on how many
    /// blocks it holds: with a million accounts, any batch of 16 or more blocks of 2,000
    /// transfers rewrites most pages of the account and account-trie tables (about 0.9 s of
    /// CPU for 16–40 blocks, 1.4 s for 50), so the applier's CPU per block falls with the time
    /// between batches. Four seconds of blocks stay in memory (at 50 blocks/s about 200
    /// layers, under `max_pending`) and are replayed from the chain file after a crash.
    fn default() -> Self {
        Self::Background {
            min_batch: 256,
            max_delay: Duration::from_secs(4),
            max_pending: 512,
        }
    }
}

/// Blocks whose state writes are not in the state file yet, shared by committers, readers and
/// the applier.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// One entry per block, oldest first; the front ones are removed once written.
    pub layers: VecDeque<Arc<StateWrites>>,
    /// The applier failed: no block may be committed any more.
    pub failed: Option<String>,
    /// Someone waits until the state file holds this block (the last one pending when they
    /// asked): the applier writes the blocks up to it without waiting for a full batch. Later
    /// blocks batch as usual; a flag left set until the queue happened to be empty made the
    /// applier write back to back after any flush, ignoring `min_batch` and `max_delay`.
    pub flush_to: Option<u64>,
    /// The store is closing: write what is pending, then stop.
    pub stop: bool,
    /// State-file transactions written so far (batches of pending blocks).
    pub batches: u64,
    /// CPU time the batches' account writer threads took ([`Writers::Two`]).
    pub helper_cpu: Duration,
    /// How many of the newest layers' blocks are staged but not yet durable in the chain file
    /// (appended on the appender thread while the engine builds on them): the applier leaves
    /// them out, so the state file never holds a block the chain file could lose in a crash
    /// (opening would find the state file ahead of the chain and refuse it).
    pub appending: usize,
}

impl Pending {
    /// Layers whose blocks are durable in the chain file (all but the appending newest ones).
    pub(crate) fn durable(&self) -> usize {
        self.layers.len() - self.appending
    }
}

/// The pending blocks and the condition the applier and waiting committers sleep on.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub pending: Mutex<Pending>,
    pub changed: Condvar,
}

impl Shared {
    /// Writes every pending block now, on the calling thread (inline mode, flushes at open and
    /// before a rewind when no applier thread runs), its tables one after another so every
    /// disk operation comes in a fixed order (the crash tests count them).
    pub fn apply_all(&self, state: &Database) -> Result<(), StorageError> {
        let batch: Vec<_> = {
            let pending = self.pending.lock();
            pending
                .layers
                .iter()
                .take(pending.durable())
                .cloned()
                .collect()
        };
        self.apply_batch(state, &batch, Writers::One)
    }

    /// Writes `batch` (the oldest pending blocks) and removes it from the pending ones. The
    /// account rows are taken from the layers as they are (see [`write_accounts`]) while the
    /// other tables' writes are merged, on another thread with [`Writers::Two`].
    fn apply_batch(
        &self,
        state: &Database,
        batch: &[Arc<StateWrites>],
        writers: Writers,
    ) -> Result<(), StorageError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let started = Instant::now();
        let accounts: Vec<&AccountWrites> = batch.iter().map(|l| &l.accounts).collect();
        let result = commit_tables(state, last.last, &last.last_hash, |tx| {
            write_tables(tx, &accounts, writers, || match StateWrites::merge(batch) {
                Some(merged) => write_others(tx, &merged),
                None => Ok(()),
            })
        });
        let mut pending = self.pending.lock();
        match result {
            Ok(times) => {
                pending.layers.drain(..batch.len());
                pending.batches += 1;
                pending.helper_cpu += times.helper_cpu;
                debug!(
                    target: "storage::apply",
                    first = first.first,
                    last = last.last,
                    accounts = times.account_rows,
                    elapsed_ms = ms(started.elapsed()),
                    accounts_ms = ms(times.accounts),
                    others_ms = ms(times.others),
                    commit_ms = ms(times.commit),
                    "state file brought forward"
                );
            }
            Err(ref e) => {
                pending.failed = Some(e.to_string());
            }
        }
        self.changed.notify_all();
        result.map(drop)
    }

    /// The applier thread's loop (see [`ApplyMode::Background`]).
    pub fn run(&self, state: &Database, min_batch: usize, max_delay: Duration) {
        loop {
            let batch: Vec<Arc<StateWrites>> = {
                let mut pending = self.pending.lock();
                loop {
                    if pending.failed.is_some() {
                        return;
                    }
                    let ready = pending.durable();
                    let Some(oldest) = pending.layers.front().filter(|_| ready > 0) else {
                        if pending.stop {
                            return;
                        }
                        if pending.layers.is_empty() {
                            pending.flush_to = None;
                        }
                        self.changed.wait(&mut pending);
                        continue;
                    };
                    let (first, waited) = (oldest.first, oldest.committed_at.elapsed());
                    if pending.flush_to.is_some_and(|to| first > to) {
                        pending.flush_to = None;
                    }
                    if pending.flush_to.is_some()
                        || pending.stop
                        || ready >= min_batch
                        || waited >= max_delay
                    {
                        break;
                    }
                    self.changed.wait_for(&mut pending, max_delay - waited);
                }
                let ready = pending.durable();
                pending.layers.iter().take(ready).cloned().collect()
            };
            if let Err(e) = self.apply_batch(state, &batch, Writers::Two) {
                error!(target: "storage::apply", error = %e, "could not write the state file; no further block can be committed");
                return;
            }
        }
    }

    /// Waits until every durable block pending now is written (blocks committed meanwhile, and
    /// staged blocks whose append is still running, may still be pending) or the applier
    /// failed.
    pub fn wait_flushed(&self) -> Result<(), StorageError> {
        let mut pending = self.pending.lock();
        let durable = pending.durable();
        let Some(to) = durable.checked_sub(1).map(|i| pending.layers[i].last) else {
            return pending
                .failed
                .as_ref()
                .map_or(Ok(()), |e| Err(StorageError::Applier(e.clone())));
        };
        pending.flush_to = Some(pending.flush_to.map_or(to, |t| t.max(to)));
        self.changed.notify_all();
        loop {
            if let Some(e) = &pending.failed {
                return Err(StorageError::Applier(e.clone()));
            }
            if pending.layers.front().is_none_or(|l| l.first > to) {
                return Ok(());
            }
            self.changed.wait(&mut pending);
        }
    }
}

/// How many threads write a batch's tables (all in one transaction, committed once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writers {
    /// The calling thread alone, table after table: every disk operation in a fixed order.
    One,
    /// The account rows on a second thread while the calling thread merges and writes the
    /// other tables. At a million accounts a batch rewrites most of the account table's leaf
    /// pages, which takes longer than merging and writing all the rest; the background
    /// applier runs where the block pipeline leaves a core idle part of the time (and wholly
    /// while a run drains). redb's write transaction is `Sync`: tables of one transaction may
    /// be opened and written from several threads.
    Two,
}

/// Where a batch's time went.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriteTimes {
    /// Account rows written (each key once).
    pub account_rows: usize,
    /// Sorting and writing the account rows.
    pub accounts: Duration,
    /// Merging and writing the other tables (beside the accounts with [`Writers::Two`]).
    pub others: Duration,
    /// Committing (the dirty pages written out, the fsync).
    pub commit: Duration,
    /// CPU time of the account writer thread ([`Writers::Two`]), which ends with the batch
    /// (so per-thread CPU counters of the process never see it).
    pub helper_cpu: Duration,
}

/// Writes `writes` to the state file in one transaction and moves its `applied` marker to
/// `writes.last`.
pub(crate) fn write_batch(
    state: &Database,
    writes: &StateWrites,
    writers: Writers,
) -> Result<WriteTimes, StorageError> {
    commit_tables(state, writes.last, &writes.last_hash, |tx| {
        write_tables(tx, &[&writes.accounts], writers, || {
            write_others(tx, writes)
        })
    })
}

/// One durable state-file transaction: `write` fills the tables, then the `applied` marker
/// moves to block `last` (`hash`).
fn commit_tables(
    state: &Database,
    last: u64,
    hash: &B256,
    write: impl FnOnce(&redb::WriteTransaction) -> Result<WriteTimes, StorageError>,
) -> Result<WriteTimes, StorageError> {
    let mut tx = state.begin_write()?;
    tx.set_durability(Durability::Immediate)?;
    let mut times = write(&tx)?;
    set_applied(&tx, last, hash)?;
    let started = Instant::now();
    tx.commit()?;
    times.commit = started.elapsed();
    Ok(times)
}

/// Moves the state file's `applied` marker.
pub(crate) fn set_applied(
    tx: &redb::WriteTransaction,
    number: u64,
    hash: &alloy::primitives::B256,
) -> Result<(), StorageError> {
    tx.open_table(STATE_META)?.insert(APPLIED_KEY, number)?;
    tx.open_table(APPLIED_HASH)?.insert(APPLIED_KEY, &hash.0)?;
    Ok(())
}

/// Writes `writes` to the tables of `tx` (one thread, in a fixed order).
pub(crate) fn write_state(
    tx: &redb::WriteTransaction,
    writes: &StateWrites,
) -> Result<(), StorageError> {
    write_tables(tx, &[&writes.accounts], Writers::One, || {
        write_others(tx, writes)
    })
    .map(drop)
}

/// Writes the account rows of `accounts` (consecutive blocks' writes, oldest first) and, by
/// calling `others`, every other table, on one thread or two ([`Writers`]).
///
/// Writes come from hash maps; each table gets them sorted by key, so consecutive inserts land
/// in the same B-tree leaf, which is already copied and cached. Accounts and slots are keyed by
/// their hashes, which the state root computed (they travel with the writes); of the trie nodes,
/// only those at paths shorter than [`STORED_TRIE_DEPTH`] are stored (readers rebuild the
/// deeper ones from the flat rows).
fn write_tables(
    tx: &redb::WriteTransaction,
    accounts: &[&AccountWrites],
    writers: Writers,
    others: impl FnOnce() -> Result<(), StorageError>,
) -> Result<WriteTimes, StorageError> {
    let timed = |write: &dyn Fn() -> Result<usize, StorageError>| {
        let started = Instant::now();
        write().map(|rows| (rows, started.elapsed()))
    };
    let mut helper_cpu = Duration::ZERO;
    let ((account_rows, accounts), others) = match writers {
        Writers::One => {
            let accounts = timed(&|| write_accounts(tx, accounts))?;
            let started = Instant::now();
            others()?;
            (accounts, started.elapsed())
        }
        Writers::Two => std::thread::scope(|scope| {
            let accounts = std::thread::Builder::new()
                .name(ACCOUNT_WRITER_THREAD.into())
                .spawn_scoped(scope, || {
                    let written = timed(&|| write_accounts(tx, accounts));
                    (written, thread_cpu().unwrap_or_default())
                })
                .map_err(|e| {
                    StorageError::Applier(format!("starting the account writer thread: {e}"))
                })?;
            let started = Instant::now();
            // The account thread is joined whatever this returns (the scope's end), before
            // the transaction is dropped or committed.
            let written = others();
            let others = started.elapsed();
            let (accounts, cpu) = accounts
                .join()
                .map_err(|_| StorageError::Applier("the account writer thread panicked".into()))?;
            helper_cpu = cpu;
            written?;
            Ok::<_, StorageError>((accounts?, others))
        })?,
    };
    Ok(WriteTimes {
        account_rows,
        accounts,
        others,
        commit: Duration::ZERO,
        helper_cpu,
    })
}

/// Name of the thread that writes a batch's account rows beside the applier ([`Writers::Two`]).
pub const ACCOUNT_WRITER_THREAD: &str = "state-accounts";

/// Everything but the account rows: storage rows, code, trie nodes, the transaction index.
fn write_others(tx: &redb::WriteTransaction, writes: &StateWrites) -> Result<(), StorageError> {
    write_storage(tx, writes)?;
    let mut code = tx.open_table(CODE)?;
    for (hash, bytes) in &writes.code {
        code.insert(&hash.0, bytes.as_ref())?;
    }
    drop(code);
    let stored = |path: &&Nibbles| path.len() < STORED_TRIE_DEPTH;
    let mut account_trie = tx.open_table(ACCOUNT_TRIE)?;
    for path in writes.account_trie.removed.iter().filter(stored) {
        account_trie.remove(codec::nibble_key(&[], path).as_slice())?;
    }
    for (path, node) in &writes.account_trie.written {
        if path.len() < STORED_TRIE_DEPTH {
            account_trie.insert(codec::nibble_key(&[], path).as_slice(), node.as_ref())?;
        }
    }
    drop(account_trie);
    let mut storage_trie = tx.open_table(STORAGE_TRIE)?;
    let mut owners: Vec<_> = writes.storage_tries.iter().collect();
    owners.sort_unstable_by_key(|(owner, _)| *owner);
    for (owner, trie) in owners {
        if trie.wiped {
            let start = owner.0.to_vec();
            let mut end = owner.0.to_vec();
            end.push(0xff);
            storage_trie.retain_in::<&[u8], _>(start.as_slice()..end.as_slice(), |_, _| false)?;
        }
        for path in trie.updates.removed.iter().filter(stored) {
            storage_trie.remove(codec::nibble_key(owner.as_slice(), path).as_slice())?;
        }
        for (path, node) in &trie.updates.written {
            if path.len() < STORED_TRIE_DEPTH {
                storage_trie.insert(
                    codec::nibble_key(owner.as_slice(), path).as_slice(),
                    node.as_ref(),
                )?;
            }
        }
    }
    drop(storage_trie);
    super::tx_runs::write_run(tx, &writes.tx_index)
}

/// Writes the account rows of `layers` (consecutive blocks' writes, oldest first), each key
/// once with its newest record, and returns how many. The rows are copied out of each hash map
/// in its own order (one sequential pass) and encoded on the way, then sorted by key, stably,
/// so a key's rows stay in block order and the last of each run is the newest: no map of the
/// whole batch is built (merging the layers' maps into one cost about a fifth of a batch of
/// 50 blocks of 1M-account ETH transfers), and no reference into a map is followed in key
/// order (that missed the cache on every row, about 8 % of the applier's samples).
fn write_accounts(
    tx: &redb::WriteTransaction,
    layers: &[&AccountWrites],
) -> Result<usize, StorageError> {
    let total: usize = layers.iter().map(|l| l.len()).sum();
    let mut encoded = Vec::with_capacity(total * 24);
    // (key, the record's bytes in `encoded`; an empty range deletes the row: a record never
    // encodes to nothing)
    let mut rows: Vec<(B256, u32, u32)> = Vec::with_capacity(total);
    for layer in layers {
        rows.extend(layer.values().map(|(hashed, record)| {
            let start = encoded.len() as u32;
            if let Some(record) = record {
                record.encode_into(&mut encoded);
            }
            (*hashed, start, encoded.len() as u32)
        }));
    }
    rows.sort_by_key(|(hashed, _, _)| *hashed);
    let mut accounts = tx.open_table(ACCOUNTS)?;
    let mut written = 0;
    for (i, (hashed, start, end)) in rows.iter().enumerate() {
        if rows.get(i + 1).is_some_and(|next| next.0 == *hashed) {
            continue;
        }
        written += 1;
        if start == end {
            accounts.remove(&hashed.0)?;
        } else {
            accounts.insert(&hashed.0, &encoded[*start as usize..*end as usize])?;
        }
    }
    Ok(written)
}

/// Writes the storage rows, account by account in the order of their hashed addresses and,
/// within one, by hashed slot (the table's key order), from the slot hashes the writes carry.
fn write_storage(tx: &redb::WriteTransaction, writes: &StateWrites) -> Result<(), StorageError> {
    let mut owners: Vec<_> = writes
        .storage
        .iter()
        .map(|(address, slots)| (keccak256(address), slots))
        .collect();
    owners.sort_unstable_by_key(|(owner, _)| *owner);
    let mut storage = tx.open_table(STORAGE)?;
    let mut rows: Vec<(B256, [u8; 32])> = Vec::new();
    for (owner, slots) in owners {
        if slots.wiped {
            let (start, end) = codec::storage_range(&owner);
            storage.retain_in::<&[u8; 64], _>(&start..=&end, |_, _| false)?;
        }
        rows.clear();
        rows.extend(
            slots
                .slots
                .values()
                .map(|(hashed, value)| (*hashed, value.to_be_bytes::<32>())),
        );
        rows.sort_unstable_by_key(|(hashed, _)| *hashed);
        for (hashed, value) in &rows {
            let key = codec::storage_key(&owner, hashed);
            if *value == [0; 32] {
                storage.remove(&key)?;
            } else {
                storage.insert(&key, value)?;
            }
        }
    }
    Ok(())
}

/// The block whose state the state file holds, if any: (number, hash).
pub(crate) fn applied(
    read: &redb::ReadTransaction,
) -> Result<Option<(u64, alloy::primitives::B256)>, StorageError> {
    let number = match read.open_table(STATE_META)?.get(APPLIED_KEY)? {
        Some(v) => v.value(),
        None => return Ok(None),
    };
    let hash = read
        .open_table(APPLIED_HASH)?
        .get(APPLIED_KEY)?
        .map(|v| alloy::primitives::B256::from(*v.value()))
        .ok_or_else(|| corrupt("applied_hash", "the applied block has no hash"))?;
    Ok(Some((number, hash)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
