//! Persistent storage in two redb files: the *chain file* (`chain.redb`: blocks, receipts,
//! senders, each block's state changes and the values they overwrote, derivation progress)
//! and the *state file* (`chain-state.redb` beside it: flat accounts and storage keyed by their
//! hashes, code, the Merkle-Patricia trie nodes near each root keyed by path, and the
//! transaction index, as of one block; deeper trie nodes are rebuilt from the flat rows when a
//! trie loads them, see [`TrieNodes`]).
//!
//! Commit protocol. A sealed block is made durable by one write transaction of the chain file
//! with immediate durability: its header, body, receipts, senders, state changes and reverts,
//! and the `head` pointer. Those are sequential appends, so the commit stays small whatever
//! the size of the state. The node reports a block (RPC, subscriptions) only after that commit
//! returns, so a crash at any moment leaves either the whole block or none of it, and never
//! loses a block that was reported. The sequencer runs that commit on the [`Appender`]'s
//! thread while it builds the next block: [`Store::stage_block`] makes the block's state
//! visible to the engine alone ([`Store::reader_ahead`]), [`Store::append_staged`] commits it,
//! and only then do [`Store::reader`] and the state file's writer take it.
//!
//! The state file lags: the block's state writes (flat state, trie nodes, transaction index)
//! wait in memory as a layer that every [`StoreReader`] lays over the state file, until the
//! applier writes a batch of them in one state-file transaction that also moves the file's
//! `applied` marker ([`apply`]). After a crash, opening brings the state file forward from the
//! chain file's state changes ([`replay`]); the recomputed state root must match the head's.
//!
//! Invariant: the state file holds the state of a block of the chain file (same number and
//! hash), at or below its head. A rewind therefore writes the state file first (the state of
//! the target block) and the chain file second (the removal of the later blocks); a crash in
//! between leaves a state file behind the chain, which opening brings forward again.

mod appender;
mod apply;
mod body;
mod codec;
mod derivation;
mod overlay;
mod reader;
mod replay;
mod tables;
mod tx_runs;

pub use appender::{APPENDER_THREAD, AppendHandle, Appended, Appender, DurableBlock, DurableHook};
pub use apply::ApplyMode;
pub use body::EncodedBody;
pub use codec::{AccountRecord, StateChanges};
pub use derivation::{
    DERIVATION_RETAINED, DerivationRecord, DerivationUpdate, ORIGIN_HEADERS_RETAINED, StoredAppend,
    StoredRecordedList,
};
pub use reader::{StoreReader, TrieNodes};
pub use tables::{CHAIN_FORMAT, STATE_FORMAT, STORED_TRIE_DEPTH};

use crate::{block::SealedBlock, trie::TrieUpdates};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use apply::Shared;
use overlay::{Layers, StateWrites};
use parking_lot::{Mutex, RwLock};
use redb::{Database, Durability, ReadableDatabase};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    thread::JoinHandle,
};
use tables::{
    BLOCK_NUMBERS, BODIES, CHANGES, DERIVATION, HEAD_KEY, HEADERS, META, RECEIPTS, REVERTS, SENDERS,
};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database itself failed (I/O, corruption, a full disk).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// A stored value could not be decoded: the file is not one this node wrote.
    #[error("corrupt {table} entry: {reason}")]
    Corrupt {
        /// Which table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Creating the database file failed.
    #[error("creating {path}: {source}")]
    Create {
        /// The file being created.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A database file of another layout.
    #[error(
        "{path} has database format {found}, this op-node reads format {expected}; start with an \
         empty data directory (or run the op-node that wrote it)",
        path = path.display()
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u64,
        /// The format this node reads.
        expected: u64,
    },
    /// The state file does not belong under the chain file.
    #[error(
        "{state} does not match {chain}: {reason}; remove {state} and restart (the state is \
         rebuilt from the chain file)",
        state = state.display(),
        chain = chain.display()
    )]
    Mismatch {
        /// The chain file.
        chain: PathBuf,
        /// The state file.
        state: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// Writing the state file, or appending a block staged before, failed earlier; nothing
    /// more can be committed.
    #[error("an earlier write failed: {0}")]
    Applier(String),
}

macro_rules! from_redb {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StorageError {
            fn from(e: $ty) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Everything a block changes in the state, in the form storage writes it.
#[derive(Debug, Default)]
pub struct StateDiff {
    /// New account records, each with its state-file key.
    pub accounts: Vec<AccountWrite>,
    /// Accounts whose storage is cleared (destroyed or re-created) before `storage` applies.
    pub wiped_storage: Vec<Address>,
    /// Storage writes, each with its hashed slot; a zero value deletes the slot.
    pub storage: Vec<SlotWrite>,
    /// New bytecode by hash.
    pub code: Vec<(B256, Bytes)>,
    /// Changed nodes of the account trie.
    pub account_trie: TrieUpdates,
    /// Changed nodes of storage tries: (keccak256(address), wipe all stored nodes first, updates).
    pub storage_tries: Vec<(B256, bool, TrieUpdates)>,
    /// The values this block overwrote.
    pub reverts: StateReverts,
}

/// One account's new record in a [`StateDiff`], with keccak256 of its address: the state
/// file's key. The key travels with the record, so a diff cannot hold one without the other
/// (or a key beside the wrong address): the state root hashed every changed address for the
/// trie and hands the hashes on; callers without them use [`AccountWrite::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountWrite {
    /// The account.
    pub address: Address,
    /// keccak256(`address`).
    pub hashed: B256,
    /// The new record; `None` deletes the account.
    pub record: Option<AccountRecord>,
}

impl AccountWrite {
    /// The write of `record` to `address`, hashing the address.
    pub fn new(address: Address, record: Option<AccountRecord>) -> Self {
        Self {
            address,
            hashed: keccak256(address),
            record,
        }
    }

    /// The write of `record` to `address` whose keccak256 the caller has already computed
    /// (checked in debug builds).
    pub fn with_hashed(address: Address, hashed: B256, record: Option<AccountRecord>) -> Self {
        debug_assert_eq!(hashed, keccak256(address), "the key of {address}");
        Self {
            address,
            hashed,
            record,
        }
    }
}

/// One storage slot's new value in a [`StateDiff`], with keccak256 of the slot: the second
/// half of the state file's key. As with [`AccountWrite`], the state root hashed every changed
/// slot for the storage trie and hands the hashes on, so the state file's writer does not hash
/// them again; callers without them use [`SlotWrite::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotWrite {
    /// The account whose storage changes.
    pub address: Address,
    /// The slot.
    pub slot: U256,
    /// keccak256(`slot`) (of its 32-byte big-endian form).
    pub hashed: B256,
    /// The new value; zero deletes the slot.
    pub value: U256,
}

impl SlotWrite {
    /// The write of `value` to `slot` of `address`, hashing the slot.
    pub fn new(address: Address, slot: U256, value: U256) -> Self {
        Self {
            address,
            slot,
            hashed: keccak256(B256::from(slot)),
            value,
        }
    }

    /// The write of `value` to `slot` of `address` whose keccak256 the caller has already
    /// computed (checked in debug builds).
    pub fn with_hashed(address: Address, slot: U256, hashed: B256, value: U256) -> Self {
        debug_assert_eq!(
            hashed,
            keccak256(B256::from(slot)),
            "the key of slot {slot}"
        );
        Self {
            address,
            slot,
            hashed,
            value,
        }
    }
}

/// The pre-block values of everything a block changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StateReverts {
    /// Accounts as they were before the block (`None`: did not exist).
    pub accounts: Vec<(Address, Option<AccountRecord>)>,
    /// Storage slots as they were before the block.
    pub storage: Vec<(Address, U256, U256)>,
}

/// The node's database: the chain file, the state file, and the blocks between them.
pub struct Store {
    chain: Database,
    state: Arc<Database>,
    shared: Arc<Shared>,
    mode: ApplyMode,
    /// Held shared while a reader takes its snapshots and exclusively while a rewind moves both
    /// files back, so no reader pairs a chain head with a state from the other side of it.
    snapshots: RwLock<()>,
    applier: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Where the state file of the chain file at `chain` lives: beside it, `<stem>-state.redb`.
pub fn state_path(chain: &Path) -> PathBuf {
    let stem = chain
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    chain.with_file_name(format!("{stem}-state.redb"))
}

impl Store {
    /// Opens (or creates) the chain file at `path` and its state file ([`state_path`]), and
    /// brings the state file forward to the chain's head. The state file is written on a
    /// background thread.
    ///
    /// A new file is initialised beside its path and renamed into place once durable, so a
    /// crash while it is created leaves no half-made database behind (redb refuses a file
    /// whose header never got its magic number), only a scratch file the next start removes.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_with_mode(path, ApplyMode::default())
    }

    /// [`Self::open`] with a chosen way of writing the state file.
    pub fn open_with_mode(path: &Path, mode: ApplyMode) -> Result<Self, StorageError> {
        let state_path = state_path(path);
        let chain = open_file(path, CHAIN_CACHE)?;
        // Refuse another format before creating a state file beside it.
        tables::check_format(&chain, META, CHAIN_FORMAT, tables::chain_has_data, path)?;
        let mut state = open_file(&state_path, STATE_CACHE)?;
        // A state file of the previous layout is derived data: it is replaced by one rebuilt
        // from the chain file's state changes (replaying every block, as after its loss).
        let found = tables::check_format(
            &state,
            tables::STATE_META,
            STATE_FORMAT,
            tables::state_has_data,
            &state_path,
        );
        // Format 3 differs only in its transaction index: converted in place.
        if let Err(StorageError::Format { found: 3, .. }) = found {
            tracing::warn!(
                target: "storage",
                path = %state_path.display(),
                "the state file has format 3; converting its transaction index to format {STATE_FORMAT}"
            );
            tx_runs::convert_format_3(&state)?;
        }
        if let Err(StorageError::Format { found: 2, .. }) = found {
            tracing::warn!(
                target: "storage",
                path = %state_path.display(),
                "the state file has format 2; rebuilding it in format {STATE_FORMAT} from the chain file"
            );
            drop(state);
            std::fs::remove_file(&state_path).map_err(|source| StorageError::Create {
                path: state_path.clone(),
                source,
            })?;
            state = open_file(&state_path, STATE_CACHE)?;
        }
        Self::with_databases(chain, state, path, &state_path, mode)
    }

    /// Opens (or creates) the database on any redb storage backends, one per file: in-memory
    /// ones, or ones that inject I/O faults (the crash tests use this to fail every commit
    /// point).
    pub fn open_with_backends(
        chain: impl redb::StorageBackend,
        state: impl redb::StorageBackend,
        mode: ApplyMode,
    ) -> Result<Self, StorageError> {
        let chain = Database::builder()
            .set_cache_size(CHAIN_CACHE)
            .create_with_backend(chain)?;
        let state = Database::builder()
            .set_cache_size(STATE_CACHE)
            .create_with_backend(state)?;
        Self::with_databases(
            chain,
            state,
            Path::new("chain file"),
            Path::new("state file"),
            mode,
        )
    }

    fn with_databases(
        chain: Database,
        state: Database,
        chain_path: &Path,
        state_path: &Path,
        mode: ApplyMode,
    ) -> Result<Self, StorageError> {
        tables::check_format(
            &chain,
            META,
            CHAIN_FORMAT,
            tables::chain_has_data,
            chain_path,
        )?;
        tables::check_format(
            &state,
            tables::STATE_META,
            STATE_FORMAT,
            tables::state_has_data,
            state_path,
        )?;
        create_tables(&chain, &state)?;
        replay::recover(&chain, &state, chain_path, state_path)?;
        let state = Arc::new(state);
        let shared = Arc::new(Shared::default());
        let applier = match mode {
            ApplyMode::Background {
                min_batch,
                max_delay,
                ..
            } => {
                let (shared, state) = (shared.clone(), state.clone());
                let handle = std::thread::Builder::new()
                    .name(APPLIER_THREAD.into())
                    .spawn(move || shared.run(&state, min_batch, max_delay))
                    .map_err(|source| StorageError::Create {
                        path: state_path.to_path_buf(),
                        source,
                    })?;
                Some(handle)
            }
            ApplyMode::Inline { .. } => None,
        };
        Ok(Self {
            chain,
            state,
            shared,
            mode,
            snapshots: RwLock::new(()),
            applier: Mutex::new(applier),
        })
    }

    /// A consistent snapshot of the chain as of its last committed block.
    pub fn reader(&self) -> Result<StoreReader, StorageError> {
        let _guard = self.snapshots.read();
        // In this order: a block's layer is added before its chain commit and removed only
        // after a state commit that holds it, so the layers taken here hold every block after
        // the state snapshot's and up to the chain snapshot's head.
        let chain = self.chain.begin_read()?;
        let layers: Vec<_> = self.shared.pending.lock().layers.iter().cloned().collect();
        let state = self.state.begin_read()?;
        let head = chain.open_table(META)?.get(HEAD_KEY)?.map(|v| v.value());
        let applied = apply::applied(&state)?.map(|(n, _)| n);
        let layers: Vec<_> = layers
            .into_iter()
            .filter(|l| Some(l.last) <= head && applied.is_none_or(|a| l.first > a))
            .collect();
        Ok(StoreReader::new(chain, state, Layers(layers.into())))
    }

    /// [`Self::reader`] that also holds the state writes of blocks staged by
    /// [`Self::stage_block`] whose append has not finished: the state the engine builds the
    /// next block on. Its chain tables (head, headers, bodies) are those of the last durable
    /// block. Only the block-building thread may use it; nothing it reads may be reported, since
    /// a crash would lose the staged blocks.
    pub fn reader_ahead(&self) -> Result<StoreReader, StorageError> {
        let _guard = self.snapshots.read();
        let chain = self.chain.begin_read()?;
        let layers: Vec<_> = self.shared.pending.lock().layers.iter().cloned().collect();
        let state = self.state.begin_read()?;
        let applied = apply::applied(&state)?.map(|(n, _)| n);
        let layers: Vec<_> = layers
            .into_iter()
            .filter(|l| applied.is_none_or(|a| l.first > a))
            .collect();
        Ok(StoreReader::new(chain, state, Layers(layers.into())))
    }

    /// Writes a sealed block and its state changes in one durable chain-file transaction and
    /// moves the head to it. When this returns `Ok`, the block survives any crash. `body` must
    /// be [`EncodedBody::new`] of the block's transactions and receipts.
    pub fn commit_block(
        &self,
        block: &SealedBlock,
        body: &EncodedBody,
        diff: StateDiff,
    ) -> Result<(), StorageError> {
        let (changes, reverts) = self.stage(block, body, diff)?;
        let appended = self.append_block(block, body, &changes, &reverts);
        self.appended(block.number(), appended, false)
    }

    /// The first half of [`Self::commit_block`], for a block whose append runs on another
    /// thread ([`Appender`]): puts the block's state writes where [`Self::reader_ahead`] (the
    /// engine building the next block) sees them, while [`Self::reader`] (everyone who reports
    /// what it reads) and the state file's writer leave them out until
    /// [`Self::append_staged`] has made the block durable. Staged blocks must be appended in
    /// the order they were staged.
    pub fn stage_block(
        &self,
        block: Arc<SealedBlock>,
        body: EncodedBody,
        diff: StateDiff,
    ) -> Result<StagedBlock, StorageError> {
        let (changes, reverts) = self.stage(&block, &body, diff)?;
        Ok(StagedBlock {
            block,
            body,
            changes,
            reverts,
        })
    }

    /// The second half of [`Self::commit_block`]: appends a block staged by
    /// [`Self::stage_block`] to the chain file in one durable transaction. When this returns
    /// `Ok`, the block survives any crash and readers see it. After a failure no later staged
    /// block is appended (the chain would have a gap) and the store takes no more blocks.
    pub fn append_staged(&self, staged: &StagedBlock) -> Result<(), StorageError> {
        let number = staged.block.number();
        {
            let mut pending = self.shared.pending.lock();
            if let Some(e) = &pending.failed {
                let e = StorageError::Applier(e.clone());
                pending.appending = pending.appending.saturating_sub(1);
                return Err(e);
            }
        }
        let appended = self.append_block(
            &staged.block,
            &staged.body,
            &staged.changes,
            &staged.reverts,
        );
        self.appended(number, appended, true)
    }

    /// Encodes a block's state changes and reverts and adds its state writes as the newest
    /// layer, counted as appending (the applier leaves it out) until [`Self::appended`].
    fn stage(
        &self,
        block: &SealedBlock,
        body: &EncodedBody,
        diff: StateDiff,
    ) -> Result<(Vec<u8>, Vec<u8>), StorageError> {
        let number = block.number();
        let changes = codec::encode_changes(
            &diff.accounts,
            &diff.wiped_storage,
            &diff.storage,
            &diff.code,
        );
        let reverts = codec::encode_reverts(&diff.reverts);
        let layer = Arc::new(StateWrites::from_block(
            number,
            block.hash,
            diff,
            &body.tx_index,
        ));
        let mut pending = self.shared.pending.lock();
        if let ApplyMode::Background { max_pending, .. } = self.mode {
            // Appending layers (at most the appender's queue) are left out: the wait is for
            // the state file's writer, which cannot take them yet.
            while pending.failed.is_none()
                && pending.layers.len() - pending.appending >= max_pending
            {
                self.shared.changed.wait(&mut pending);
            }
        }
        if let Some(e) = &pending.failed {
            return Err(StorageError::Applier(e.clone()));
        }
        pending.layers.push_back(layer);
        pending.appending += 1;
        Ok((changes, reverts))
    }

    /// Records the outcome of the oldest appending block's append (`number`). A failed
    /// [`Self::commit_block`] takes its layer back, as if the block had never been staged; a
    /// failed [`Self::append_staged`] (`staged`: the engine may have built on the block
    /// already, and may stage more) stops the store.
    fn appended(
        &self,
        number: u64,
        appended: Result<(), StorageError>,
        staged: bool,
    ) -> Result<(), StorageError> {
        {
            let mut pending = self.shared.pending.lock();
            if let Err(e) = &appended {
                if !staged && pending.appending == 1 && pending.failed.is_none() {
                    pending.layers.pop_back();
                } else if pending.failed.is_none() {
                    pending.failed = Some(format!("appending block {number}: {e}"));
                }
            }
            pending.appending = pending.appending.saturating_sub(1);
        }
        if appended.is_ok() {
            match self.mode {
                ApplyMode::Background { .. } => {}
                ApplyMode::Inline { every } => {
                    // Counted over the durable layers only, which this thread alone makes
                    // (blocks staged meanwhile do not change when the state file is written).
                    let ready = self.shared.pending.lock().durable() >= every;
                    if ready {
                        self.shared.apply_all(&self.state)?;
                    }
                }
            }
        }
        self.shared.changed.notify_all();
        appended
    }

    fn append_block(
        &self,
        block: &SealedBlock,
        body: &EncodedBody,
        changes: &[u8],
        reverts: &[u8],
    ) -> Result<(), StorageError> {
        let number = block.number();
        let mut tx = self.chain.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.open_table(HEADERS)?.insert(
            number,
            codec::encode_header(&block.header, &block.hash).as_slice(),
        )?;
        tx.open_table(BLOCK_NUMBERS)?
            .insert(&block.hash.0, number)?;
        tx.open_table(BODIES)?.insert(number, body.txs.as_slice())?;
        tx.open_table(SENDERS)?
            .insert(number, body.senders.as_slice())?;
        tx.open_table(RECEIPTS)?
            .insert(number, body.receipts.as_slice())?;
        tx.open_table(CHANGES)?.insert(number, changes)?;
        tx.open_table(REVERTS)?.insert(number, reverts)?;
        tx.open_table(META)?.insert(HEAD_KEY, number)?;
        tx.commit()?;
        Ok(())
    }

    /// Waits until the state file holds the head's state (every committed block's writes are
    /// in it; a staged block whose append still runs is not waited for). Benchmarks call it to start from a quiet machine; a rewind calls it first.
    pub fn flush(&self) -> Result<(), StorageError> {
        match self.mode {
            ApplyMode::Background { .. } => self.shared.wait_flushed(),
            ApplyMode::Inline { .. } => self.shared.apply_all(&self.state),
        }
    }

    /// How many committed blocks wait to be written to the state file.
    pub fn pending_blocks(&self) -> usize {
        self.shared.pending.lock().layers.len()
    }

    /// How many transactions have written pending blocks to the state file since it opened.
    pub fn applied_batches(&self) -> u64 {
        self.shared.pending.lock().batches
    }

    /// CPU time the state file's writer spent on threads that end with their batch (the
    /// account rows' writer beside the applier thread), which per-thread counters of the
    /// process cannot see once the thread is gone; the applier thread's own is its thread's.
    pub fn applier_helper_cpu(&self) -> std::time::Duration {
        self.shared.pending.lock().helper_cpu
    }

    /// Removes blocks `to + 1 ..= head` and moves the head back to `to` (whose hash is
    /// `to_hash`): first the state file, to block `to`'s state (`undo` holds the state writes
    /// that restore it; its `reverts` are ignored; `removed_txs`' index entries go), then the
    /// chain file, each in one durable transaction (see the module docs for why in this
    /// order). `removed_blocks` are the removed blocks' hashes.
    pub fn rewind(
        &self,
        to: u64,
        to_hash: B256,
        head: u64,
        removed_blocks: &[B256],
        removed_txs: &[B256],
        undo: StateDiff,
    ) -> Result<(), StorageError> {
        self.flush()?;
        let _guard = self.snapshots.write();
        let mut undo = StateWrites::from_block(to, to_hash, undo, &[]);
        undo.first = to + 1;
        {
            let mut tx = self.state.begin_write()?;
            tx.set_durability(Durability::Immediate)?;
            apply::write_state(&tx, &undo)?;
            let mut tombstones: Vec<_> =
                removed_txs.iter().map(|h| tx_runs::tombstone(*h)).collect();
            tombstones.sort_unstable_by_key(|(hash, _, _)| *hash);
            tx_runs::write_run(&tx, &tombstones)?;
            apply::set_applied(&tx, to, &to_hash)?;
            tx.commit()?;
        }
        let mut tx = self.chain.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        {
            let mut headers = tx.open_table(HEADERS)?;
            let mut bodies = tx.open_table(BODIES)?;
            let mut senders = tx.open_table(SENDERS)?;
            let mut receipts = tx.open_table(RECEIPTS)?;
            let mut changes = tx.open_table(CHANGES)?;
            let mut reverts = tx.open_table(REVERTS)?;
            for number in to + 1..=head {
                headers.remove(number)?;
                bodies.remove(number)?;
                senders.remove(number)?;
                receipts.remove(number)?;
                changes.remove(number)?;
                reverts.remove(number)?;
            }
            let mut numbers = tx.open_table(BLOCK_NUMBERS)?;
            for hash in removed_blocks {
                numbers.remove(&hash.0)?;
            }
        }
        tx.open_table(META)?.insert(HEAD_KEY, to)?;
        tx.commit()?;
        Ok(())
    }
}

impl Drop for Store {
    /// Stops the applier once it has written the pending blocks to the state file, so the next
    /// start has nothing to replay. (Inline, the pending blocks are left to that replay.)
    fn drop(&mut self) {
        self.shared.pending.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(handle) = self.applier.lock().take() {
            let _ = handle.join();
        }
    }
}

/// A sealed block whose state writes are staged ([`Store::stage_block`]) and whose chain-file
/// append is still to run ([`Store::append_staged`]).
#[derive(Debug)]
pub struct StagedBlock {
    block: Arc<SealedBlock>,
    body: EncodedBody,
    changes: Vec<u8>,
    reverts: Vec<u8>,
}

impl StagedBlock {
    /// The block.
    pub fn block(&self) -> &Arc<SealedBlock> {
        &self.block
    }
}

/// Name of the thread that writes the state file.
pub const APPLIER_THREAD: &str = "state-applier";

/// redb's page cache of the chain file: appends, and reads of recent blocks.
const CHAIN_CACHE: usize = 128 << 20;
/// redb's page cache of the state file (half of it at most buffers a batch's writes).
const STATE_CACHE: usize = 512 << 20;

/// Opens the database file at `path` with a page cache of `cache` bytes, creating it first if
/// there is none.
fn open_file(path: &Path, cache: usize) -> Result<Database, StorageError> {
    let exists = path.try_exists().map_err(|source| StorageError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    if !exists {
        create_file(path)?;
    }
    Ok(Database::builder().set_cache_size(cache).create(path)?)
}

/// Creates an empty database at `path` under a scratch name and renames it into place once
/// durable.
fn create_file(path: &Path) -> Result<(), StorageError> {
    let mut scratch = path.as_os_str().to_owned();
    scratch.push(".creating");
    let scratch = PathBuf::from(scratch);
    let io = |source| StorageError::Create {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(&scratch) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    {
        let db = Database::builder().create(&scratch)?;
        let tx = db.begin_write()?;
        tx.commit()?;
    }
    std::fs::rename(&scratch, path).map_err(io)?;
    // The rename itself must survive a crash.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io)
}

/// Creates every table so readers never meet a missing one.
fn create_tables(chain: &Database, state: &Database) -> Result<(), StorageError> {
    let tx = chain.begin_write()?;
    tx.open_table(HEADERS)?;
    tx.open_table(BLOCK_NUMBERS)?;
    tx.open_table(BODIES)?;
    tx.open_table(SENDERS)?;
    tx.open_table(RECEIPTS)?;
    tx.open_table(CHANGES)?;
    tx.open_table(REVERTS)?;
    tx.open_table(META)?;
    tx.open_table(DERIVATION)?;
    tx.open_table(tables::APPENDS)?;
    tx.open_table(tables::RECORDED_LISTS)?;
    tx.commit()?;
    let tx = state.begin_write()?;
    tx.open_table(tables::ACCOUNTS)?;
    tx.open_table(tables::STORAGE)?;
    tx.open_table(tables::CODE)?;
    tx.open_table(tables::ACCOUNT_TRIE)?;
    tx.open_table(tables::STORAGE_TRIE)?;
    tx.open_table(tx_runs::TX_RUNS)?;
    tx.open_table(tx_runs::TX_RUN_SIZES)?;
    tx.open_table(tables::STATE_META)?;
    tx.open_table(tables::APPLIED_HASH)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
