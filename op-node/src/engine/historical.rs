//! The state after an older block, rebuilt in memory from the latest state and the stored
//! reverts of the blocks after it, as [`super::Engine::rewind`] rebuilds it but without writing:
//! flat reads (accounts, slots, code, ancestor hashes) and the trie nodes of that state, which
//! are the undo's trie updates laid over the stored nodes. The rebuilt root is checked against
//! the block's header.

use super::{
    state::{AccountChange, BlockChanges, StateCache},
    state_root::StateTries,
    witness::{PreState, StateNodes, WitnessError},
};
use crate::{
    storage::{AccountRecord, StorageError, StoreReader, TrieNodes},
    trie::{NodeSource, TrieError, TrieUpdates},
};
use alloy::{
    consensus::Header,
    primitives::{
        Address, B256, Bytes, U256,
        map::{AddressMap, B256Map, HashMap},
    },
};
use alloy_trie::Nibbles;

/// One trie of a rebuilt state: trie updates laid over the stored nodes (or over nothing when
/// the trie was wiped).
struct Overlay {
    updates: TrieUpdates,
    wiped: bool,
}

impl Overlay {
    /// `Some(answer)` when the updates decide the path, `None` when the stored node does.
    fn node(&self, path: &Nibbles) -> Option<Option<Bytes>> {
        if let Ok(i) = self.updates.written.binary_search_by(|(p, _)| p.cmp(path)) {
            return Some(Some(self.updates.written[i].1.clone()));
        }
        if self.wiped || self.updates.removed.binary_search(path).is_ok() {
            return Some(None);
        }
        None
    }
}

fn source_error(e: StorageError) -> TrieError {
    TrieError::Source(e.to_string())
}

/// The state after block `number`, rebuilt from the latest state and the stored reverts of the
/// blocks after it: flat reads and trie nodes.
pub struct HistoricalState<'a> {
    reader: &'a StoreReader,
    number: u64,
    /// Accounts changed after `number`, with their records at `number`.
    accounts: AddressMap<Option<AccountRecord>>,
    /// Slots changed after `number`, with their values at `number`.
    storage: HashMap<(Address, U256), U256>,
    account_trie: Overlay,
    account_base: TrieNodes,
    storage_tries: B256Map<Overlay>,
}

impl std::fmt::Debug for HistoricalState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoricalState")
            .field("number", &self.number)
            .field("changed_accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

impl<'a> HistoricalState<'a> {
    /// Rebuilds the state after block `number` (at most `head`, the snapshot's head) and
    /// checks its root against the header's.
    pub fn rebuild(reader: &'a StoreReader, number: u64, head: u64) -> Result<Self, WitnessError> {
        let header = |n: u64| -> Result<Header, WitnessError> {
            Ok(reader
                .header(n)?
                .ok_or(WitnessError::NotFound { number: n, head })?
                .1)
        };
        let target_root = header(number)?.state_root;
        let head_root = header(head)?.state_root;
        // Newest first, so the oldest block's pre-values (the values at `number`) win.
        let mut records: AddressMap<Option<AccountRecord>> = AddressMap::default();
        let mut slots: AddressMap<HashMap<U256, U256>> = AddressMap::default();
        for n in (number + 1..=head).rev() {
            let reverts = reader.reverts(n)?.ok_or(WitnessError::MissingReverts(n))?;
            for (address, record) in reverts.accounts {
                records.insert(address, record);
            }
            for (address, slot, value) in reverts.storage {
                slots.entry(address).or_default().insert(slot, value);
            }
        }
        let mut changes = BlockChanges::default();
        for (address, record) in &records {
            changes.accounts.insert(
                *address,
                AccountChange {
                    info: record.map(|r| (r.nonce, r.balance, r.code_hash)),
                    storage: slots.get(address).cloned().unwrap_or_default(),
                    ..Default::default()
                },
            );
        }
        if let Some(address) = slots.keys().find(|a| !records.contains_key(*a)) {
            return Err(WitnessError::Malformed(format!(
                "reverts hold storage of {address} without its account"
            )));
        }
        let mut tries = StateTries::new(head_root);
        let (root, diff, accounts) =
            tries.apply(&changes, Some(&mut StateCache::default()), reader)?;
        if root != target_root {
            return Err(WitnessError::Mismatch {
                number,
                what: format!(
                    "undoing later blocks gave state root {root}, the header says {target_root}"
                ),
            });
        }
        let storage = slots
            .into_iter()
            .flat_map(|(address, slots)| {
                slots
                    .into_iter()
                    .map(move |(slot, value)| ((address, slot), value))
            })
            .collect();
        let storage_tries = diff
            .storage_tries
            .into_iter()
            .map(|(owner, wiped, updates)| (owner, Overlay { updates, wiped }))
            .collect();
        Ok(Self {
            reader,
            number,
            accounts,
            storage,
            account_trie: Overlay {
                updates: diff.account_trie,
                wiped: false,
            },
            account_base: reader.account_trie()?,
            storage_tries,
        })
    }
}

impl PreState for HistoricalState<'_> {
    fn account(&self, address: Address) -> Result<Option<AccountRecord>, WitnessError> {
        match self.accounts.get(&address) {
            Some(record) => Ok(*record),
            None => Ok(self.reader.account(&address)?),
        }
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, WitnessError> {
        if let Some(None) = self.accounts.get(&address) {
            return Ok(U256::ZERO);
        }
        match self.storage.get(&(address, slot)) {
            Some(value) => Ok(*value),
            None => Ok(self.reader.storage(&address, &slot)?),
        }
    }

    fn code(&self, hash: B256) -> Result<Bytes, WitnessError> {
        self.reader
            .code(&hash)?
            .ok_or(WitnessError::MissingCode(hash))
    }

    fn block_hash(&self, number: u64) -> Result<B256, WitnessError> {
        if number > self.number {
            return Err(WitnessError::MissingBlockHash(number));
        }
        Ok(self
            .reader
            .header(number)?
            .ok_or(WitnessError::MissingBlockHash(number))?
            .0)
    }
}

impl StateNodes for HistoricalState<'_> {
    fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        match self.account_trie.node(path) {
            Some(answer) => Ok(answer),
            None => self.account_base.node(path),
        }
    }

    fn storage_node(&self, owner: B256, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        if let Some(answer) = self.storage_tries.get(&owner).and_then(|t| t.node(path)) {
            return Ok(answer);
        }
        self.reader
            .storage_trie(owner)
            .map_err(source_error)?
            .node(path)
    }
}
