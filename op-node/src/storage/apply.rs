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
    overlay::StateWrites,
    tables::{
        ACCOUNT_TRIE, ACCOUNTS, APPLIED_HASH, APPLIED_KEY, CODE, STATE_META, STORAGE, STORAGE_TRIE,
        STORED_TRIE_DEPTH,
    },
};
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
    /// before a rewind when no applier thread runs).
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
        self.apply_batch(state, &batch)
    }

    /// Writes `batch` (the oldest pending blocks) and removes it from the pending ones.
    fn apply_batch(
        &self,
        state: &Database,
        batch: &[Arc<StateWrites>],
    ) -> Result<(), StorageError> {
        let Some(merged) = StateWrites::merge(batch) else {
            return Ok(());
        };
        let started = Instant::now();
        let result = write_batch(state, &merged, Durability::Immediate);
        let mut pending = self.pending.lock();
        match result {
            Ok(()) => {
                pending.layers.drain(..batch.len());
                pending.batches += 1;
                debug!(
                    target: "storage::apply",
                    first = merged.first,
                    last = merged.last,
                    accounts = merged.accounts.len(),
                    elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                    "state file brought forward"
                );
            }
            Err(ref e) => {
                pending.failed = Some(e.to_string());
            }
        }
        self.changed.notify_all();
        result
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
            if let Err(e) = self.apply_batch(state, &batch) {
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

/// Writes `writes` to the state file in one transaction and moves its `applied` marker to
/// `writes.last`.
pub(crate) fn write_batch(
    state: &Database,
    writes: &StateWrites,
    durability: Durability,
) -> Result<(), StorageError> {
    let mut tx = state.begin_write()?;
    tx.set_durability(durability)?;
    write_state(&tx, writes)?;
    set_applied(&tx, writes.last, &writes.last_hash)?;
    tx.commit()?;
    Ok(())
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

/// Writes come from hash maps; each table gets them sorted by key, so consecutive inserts land
/// in the same B-tree leaf, which is already copied and cached. Accounts and slots are keyed by
/// their hashes, which the state root computed (they travel with the writes); of the trie nodes,
/// only those at paths shorter than [`STORED_TRIE_DEPTH`] are stored (readers rebuild the
/// deeper ones from the flat rows).
pub(crate) fn write_state(
    tx: &redb::WriteTransaction,
    writes: &StateWrites,
) -> Result<(), StorageError> {
    write_accounts(tx, writes)?;
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

/// Writes the account rows. They are copied out of the hash map in its own order (one
/// sequential pass) and encoded on the way, then sorted: sorting references into the map and
/// following them in key order missed the cache on every row (about 8 % of the applier's
/// samples at a million accounts).
fn write_accounts(tx: &redb::WriteTransaction, writes: &StateWrites) -> Result<(), StorageError> {
    let mut encoded = Vec::with_capacity(writes.accounts.len() * 24);
    // (key, the record's bytes in `encoded`, or `None` to delete the row)
    let mut rows: Vec<(B256, Option<(u32, u32)>)> = writes
        .accounts
        .values()
        .map(|(hashed, record)| {
            let bytes = record.map(|record| {
                let start = encoded.len();
                record.encode_into(&mut encoded);
                (start as u32, encoded.len() as u32)
            });
            (*hashed, bytes)
        })
        .collect();
    rows.sort_unstable_by_key(|(hashed, _)| *hashed);
    let mut accounts = tx.open_table(ACCOUNTS)?;
    for (hashed, bytes) in rows {
        match bytes {
            Some((start, end)) => {
                accounts.insert(&hashed.0, &encoded[start as usize..end as usize])?;
            }
            None => {
                accounts.remove(&hashed.0)?;
            }
        }
    }
    Ok(())
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
