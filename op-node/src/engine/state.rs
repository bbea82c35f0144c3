//! The execution state: a warm in-memory cache of the latest state over storage, and the
//! per-block overlay that revm reads from and commits into.
//!
//! The cache only ever holds the state of the engine's head (it is updated when a block is
//! committed or sealed), so a miss may be answered from any snapshot that holds the head's
//! state: [`crate::storage::Store::reader_ahead`] taken after the last commit or seal (whose
//! append may still run).

use super::account_table::AccountTable;
pub use super::account_table::CachedAccount;
use super::pipeline::PendingParent;
use crate::storage::{AccountRecord, StorageError, StoreReader};
use alloy::primitives::{
    Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256,
    map::{AddressMap, B256Map, HashMap},
};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::{
    Database, DatabaseCommit,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    state::{Account, AccountInfo, EvmStorage, EvmStorageSlot},
};

/// Storage failures surfaced through revm's `Database` trait.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StateDbError(#[from] pub StorageError);

impl DBErrorMarker for StateDbError {}

/// The warm, in-memory view of the latest committed state.
#[derive(Debug, Default)]
pub struct StateCache {
    /// `None` caches the knowledge that an account does not exist.
    accounts: AccountTable,
    code: B256Map<Bytecode>,
    /// Hashes of recent blocks for BLOCKHASH (the last 256 are all it may ask for).
    recent_hashes: HashMap<u64, B256>,
}

impl StateCache {
    /// The account's record, loading it from `reader` on a miss.
    pub fn account(
        &mut self,
        address: Address,
        reader: &StoreReader,
    ) -> Result<Option<&mut CachedAccount>, StorageError> {
        // One probe of the million-entry table: the entry found (or made) is the one returned.
        let cached = self.accounts.get_or_try_insert_with(address, || {
            Ok::<_, StorageError>(
                reader
                    .account(&address)?
                    .map(|record| CachedAccount::new(record, keccak256(address))),
            )
        })?;
        Ok(cached.as_mut())
    }

    fn storage(
        &mut self,
        address: Address,
        slot: U256,
        reader: &StoreReader,
    ) -> Result<U256, StorageError> {
        let Some(account) = self.account(address, reader)? else {
            return Ok(U256::ZERO);
        };
        // Slots first: a block being built writes its slots here before its storage root is
        // known (see [`BlockDb`]).
        if let Some(value) = account.slot(&slot) {
            return Ok(value);
        }
        if account.storage_root() == EMPTY_ROOT_HASH {
            return Ok(U256::ZERO);
        }
        let value = reader.storage(&address, &slot)?;
        account.storage_mut().insert(slot, value);
        Ok(value)
    }

    fn code(&mut self, hash: B256, reader: &StoreReader) -> Result<Bytecode, StorageError> {
        if hash == KECCAK256_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.code.get(&hash) {
            return Ok(code.clone());
        }
        let bytes = reader.code(&hash)?.unwrap_or_default();
        let code = Bytecode::new_raw(bytes);
        self.code.insert(hash, code.clone());
        Ok(code)
    }

    /// Sets `slot` of `address` to `to` if the cache holds it as `from` (the pipeline's
    /// stand-in parent hash, replaced by the true one).
    pub(super) fn replace_slot(&mut self, address: Address, slot: U256, from: U256, to: U256) {
        if let Some(Some(account)) = self.accounts.get_mut(&address)
            && account.slot(&slot) == Some(from)
        {
            account.storage_mut().insert(slot, to);
        }
    }

    /// Remembers a block hash for BLOCKHASH, forgetting those older than 256 blocks.
    pub fn push_block_hash(&mut self, number: u64, hash: B256) {
        self.recent_hashes.insert(number, hash);
        if number >= 256 {
            self.recent_hashes.remove(&(number - 256));
        }
    }

    /// Applies a committed block's final account records and storage writes. For a block
    /// built through [`BlockDb`], which wrote every change here as it executed, only the new
    /// storage roots are left to set.
    pub fn apply(&mut self, changes: &BlockChanges, records: &AddressMap<Option<AccountRecord>>) {
        if changes.in_cache {
            for (address, change) in &changes.accounts {
                let storage_changed = change.wiped || !change.storage.is_empty();
                if change.info.is_none() || !storage_changed {
                    continue;
                }
                let root = records.get(address).copied().flatten();
                if let (Some(Some(cached)), Some(record)) = (self.accounts.get_mut(address), root) {
                    cached.set_storage_root(record.storage_root);
                }
            }
            return;
        }
        for (address, change) in &changes.accounts {
            let record = records.get(address).copied().flatten();
            match record {
                None => {
                    self.accounts.insert(*address, None);
                }
                Some(record) => {
                    let entry = self
                        .accounts
                        .get_or_insert_with(*address, || None)
                        .get_or_insert_with(|| CachedAccount::new(record, keccak256(address)));
                    entry.set_info(record.nonce, record.balance, record.code_hash);
                    entry.set_storage_root(record.storage_root);
                    if change.wiped {
                        entry.clear_storage();
                    }
                    if !change.storage.is_empty() {
                        entry.storage_mut().extend(&change.storage);
                    }
                }
            }
        }
        for (hash, code) in &changes.code {
            self.code
                .entry(*hash)
                .or_insert_with(|| Bytecode::new_raw(code.clone()));
        }
    }
}

/// What one block did to one account.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    /// Nonce, balance and code hash after the block; `None` when the account no longer exists.
    pub info: Option<(u64, U256, B256)>,
    /// Whether the storage was cleared (self-destruct, creation) before `storage` applies.
    pub wiped: bool,
    /// Slots written, with their final values (zero = deleted).
    pub storage: HashMap<U256, U256>,
    /// Values the written slots had before the block.
    pub original_storage: HashMap<U256, U256>,
    /// The account as the warm cache held it before the block (`None` inside: it did not
    /// exist), with keccak256 of its address; taken by [`BlockDb`] when the block first changes
    /// the account, while execution has its cache entry at hand, so the state root need not
    /// look it up again among a million accounts. `None` when not known (the state root then
    /// asks the cache).
    pub before: Option<(B256, Option<AccountRecord>)>,
}

/// Everything a block changed, before roots are computed.
#[derive(Debug, Default)]
pub struct BlockChanges {
    /// Changed accounts.
    pub accounts: AddressMap<AccountChange>,
    /// Code deployed in the block.
    pub code: Vec<(B256, Bytes)>,
    /// The warm cache already holds these changes, all but the new storage roots ([`BlockDb`]
    /// writes them through as it executes).
    pub in_cache: bool,
}

impl BlockChanges {
    /// Adds what revm committed after one transaction. A destroyed account, or (EIP-161) a
    /// touched account left empty, ceases to exist; a created one starts with empty storage.
    /// Code is recorded when `is_new_code(hash, code)` says it is not known yet. The engine and
    /// the execution witness's replay both record through here, so a witness mirrors the block
    /// exactly.
    ///
    /// `before(address)` gives [`AccountChange::before`] of an account the block changes for
    /// the first time (`None` if the caller does not know it).
    pub fn record(
        &mut self,
        changes: AddressMap<Account>,
        mut is_new_code: impl FnMut(B256, &Bytecode) -> bool,
        mut before: impl FnMut(&Address) -> Option<(B256, Option<AccountRecord>)>,
    ) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            if let (change, Some(storage)) =
                self.record_account(address, account, || before(&address), &mut is_new_code)
            {
                for (slot, value) in storage {
                    record_slot(change, slot, &value);
                }
            }
        }
    }

    /// [`Self::record`] of one touched account, but for its slots: returns its change, and the
    /// slots revm holds for it unless the account ceased to exist (each changed one goes
    /// through [`record_slot`]).
    fn record_account(
        &mut self,
        address: Address,
        account: Account,
        before: impl FnOnce() -> Option<(B256, Option<AccountRecord>)>,
        is_new_code: &mut impl FnMut(B256, &Bytecode) -> bool,
    ) -> (&mut AccountChange, Option<EvmStorage>) {
        let change = self
            .accounts
            .entry(address)
            .or_insert_with(|| AccountChange {
                before: before(),
                ..Default::default()
            });
        if account.is_selfdestructed() || account.is_empty() {
            change.info = None;
            change.wiped = true;
            change.storage.clear();
            return (change, None);
        }
        if account.is_created() {
            change.wiped = true;
            change.storage.clear();
        }
        let info = &account.info;
        if info.code_hash != KECCAK256_EMPTY
            && let Some(code) = &info.code
            && is_new_code(info.code_hash, code)
        {
            self.code.push((info.code_hash, code.original_bytes()));
        }
        change.info = Some((info.nonce, info.balance, info.code_hash));
        (change, Some(account.storage))
    }
}

/// Records one slot revm committed, if the transaction changed it; returns its new value.
fn record_slot(change: &mut AccountChange, slot: U256, value: &EvmStorageSlot) -> Option<U256> {
    if !value.is_changed() {
        return None;
    }
    change
        .original_storage
        .entry(slot)
        .or_insert(value.original_value);
    change.storage.insert(slot, value.present_value());
    Some(value.present_value())
}

/// The database revm executes one block against: the warm cache, which each transaction's
/// changes are written through to as revm commits them (so an account is found with one probe
/// of the million-entry map, and sealing need not find it again), while [`BlockChanges`] keeps
/// what the block changed, with each account as it was before, for the state root.
///
/// The cache then holds a state that is not the head's until the block is sealed or committed;
/// a block built and dropped leaves the engine to start again from a cold cache (as it already
/// did for the tries and the code). Storage roots stay those of the head until sealing: a slot
/// written in the block is found among the account's slots first, and an account whose storage
/// was cleared reads as empty.
pub struct BlockDb<'a> {
    cache: &'a mut StateCache,
    reader: &'a StoreReader,
    changes: BlockChanges,
    /// A read failed inside [`DatabaseCommit::commit`], which cannot return it.
    failed: Option<StorageError>,
    /// The last transaction's state map, emptied, for the journal of the next
    /// ([`Self::take_spare_state`]).
    spare_state: AddressMap<Account>,
    /// The parent whose hash is still being computed, when the block executes beside its
    /// parent's state root.
    pending: Option<&'a PendingParent>,
}

impl std::fmt::Debug for BlockDb<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockDb")
            .field("changed_accounts", &self.changes.accounts.len())
            .finish()
    }
}

impl<'a> BlockDb<'a> {
    /// An empty overlay over the latest committed state, with room for `accounts` changed
    /// accounts. Sizing it up front matters: an [`AccountChange`] is a few hundred bytes, and
    /// growing the map block by block re-hashed and copied it over and over (13.8 % of
    /// execution's samples at 2,000 transfers per block).
    pub fn new(cache: &'a mut StateCache, reader: &'a StoreReader, accounts: usize) -> Self {
        let mut changes = BlockChanges {
            in_cache: true,
            ..Default::default()
        };
        changes.accounts.reserve(accounts);
        Self {
            cache,
            reader,
            changes,
            failed: None,
            spare_state: AddressMap::default(),
            pending: None,
        }
    }

    /// The map revm handed the last transaction's state over in, emptied but with its room:
    /// revm's journal starts each transaction from an empty map that grows as it loads the
    /// sender, the callee and the fee vaults (three re-hashings and their allocations per ERC-20
    /// transfer); given this one it starts with room for them.
    pub fn take_spare_state(&mut self) -> AddressMap<Account> {
        std::mem::take(&mut self.spare_state)
    }

    /// Executes over a parent whose hash is not known yet: BLOCKHASH of the parent, and a
    /// read of the slot the EIP-2935 system call wrote the stand-in hash to, wait for the
    /// true hash (see [`PendingParent`]).
    pub fn with_pending_parent(mut self, pending: Option<&'a PendingParent>) -> Self {
        self.pending = pending;
        self
    }

    /// The block's changes.
    pub fn into_changes(self) -> Result<BlockChanges, StorageError> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.changes),
        }
    }
}

impl Database for BlockDb<'_> {
    type Error = StateDbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let info = self.cache.account(address, self.reader)?.map(|a| a.info());
        Ok(info.map(|(nonce, balance, code_hash)| {
            let code = (code_hash == KECCAK256_EMPTY).then(Bytecode::default);
            AccountInfo {
                balance,
                nonce,
                code_hash,
                code,
                account_id: None,
            }
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.cache.code(code_hash, self.reader)?)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let value = self.cache.storage(address, index, self.reader)?;
        if let Some(pending) = self.pending
            && pending.is_stand_in(address, index, value)
        {
            return Ok(pending.hash().into());
        }
        Ok(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        if let Some(pending) = self.pending
            && pending.number == number
        {
            return Ok(pending.hash());
        }
        if let Some(hash) = self.cache.recent_hashes.get(&number) {
            return Ok(*hash);
        }
        Ok(self
            .reader
            .header(number)?
            .map(|(hash, _)| hash)
            .unwrap_or_default())
    }
}

impl DatabaseCommit for BlockDb<'_> {
    fn commit(&mut self, mut changes: AddressMap<Account>) {
        let StateCache { accounts, code, .. } = &mut *self.cache;
        let mut is_new_code = |hash, bytecode: &Bytecode| {
            if code.contains_key(&hash) {
                return false;
            }
            code.insert(hash, bytecode.clone());
            true
        };
        for (address, account) in changes.drain() {
            if !account.is_touched() {
                continue;
            }
            // revm loaded every account it commits through `basic`, so this one probe finds it
            // (still in the CPU's cache); the load is for safety only.
            let reader = self.reader;
            let cached = match accounts.get_or_try_insert_with(address, || {
                reader
                    .account(&address)
                    .map(|record| record.map(|r| CachedAccount::new(r, keccak256(address))))
            }) {
                Ok(cached) => cached,
                Err(err) => {
                    self.failed.get_or_insert(err);
                    continue;
                }
            };
            let held = cached.as_ref().map(|a| (a.hashed(), a.record()));
            let before = || {
                Some(match held {
                    Some((hashed, record)) => (hashed, Some(record)),
                    None => (keccak256(address), None),
                })
            };
            let created = account.is_created();
            let (change, storage) =
                self.changes
                    .record_account(address, account, before, &mut is_new_code);
            let (Some(storage), Some((nonce, balance, code_hash))) = (storage, change.info) else {
                *cached = None;
                continue;
            };
            let entry = cached.get_or_insert_with(|| {
                CachedAccount::new(
                    AccountRecord {
                        nonce,
                        balance,
                        code_hash,
                        storage_root: EMPTY_ROOT_HASH,
                    },
                    held.map(|(hashed, _)| hashed)
                        .unwrap_or_else(|| keccak256(address)),
                )
            });
            entry.set_info(nonce, balance, code_hash);
            if created {
                entry.clear_storage();
                entry.set_storage_root(EMPTY_ROOT_HASH);
            }
            for (slot, value) in storage {
                if let Some(present) = record_slot(change, slot, &value) {
                    entry.storage_mut().insert(slot, present);
                }
            }
        }
        self.spare_state = changes;
    }
}
