//! The warm cache's table of accounts: an open-addressing hash table whose slot holds the
//! address and, for an account without code or storage, everything the engine reads of it, in
//! one 128-byte-aligned pair of cache lines.
//!
//! With a million accounts the table is hundreds of megabytes and every account a block touches
//! for the first time in a while is a cache miss (and, with 4 KiB pages, a TLB miss). A
//! `HashMap<Address, Option<CachedAccount>>` from the standard library found an account through
//! two of them: its control bytes (one array), then its 208-byte bucket (another, spanning up to
//! four lines). Here the slot is found from the hash alone, and it is two adjacent lines that
//! the CPU's adjacent-line prefetcher brings in together. Code hash, storage root and known
//! slots of the few accounts that have them are boxed ([`CachedAccount`]).
//!
//! Slots are found by linear probing from the address's hash (a folded multiply of its bytes
//! with random per-table seeds, so addresses chosen to collide cannot be chosen ahead of
//! time); the table is at most half full. Entries are never removed (an account that ceases to
//! exist is kept as known absent), so probing needs no tombstones.

use crate::storage::AccountRecord;
use alloy::primitives::{Address, B256, KECCAK256_EMPTY, U256, map::HashMap};
use alloy_trie::EMPTY_ROOT_HASH;
use std::hash::{BuildHasher, RandomState};

/// One account of the warm cache: its trie record and the storage slots read or written so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAccount {
    nonce: u64,
    balance: U256,
    /// keccak256 of the address, its key in the account trie (hashed once, when cached).
    hashed: B256,
    /// `None`: no code, the empty storage root and no known slots (a plain account).
    contract: Option<Box<Contract>>,
}

/// What a plain account does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Contract {
    code_hash: B256,
    storage_root: B256,
    /// Known storage slots (a subset of the account's storage).
    storage: HashMap<U256, U256>,
}

impl CachedAccount {
    /// The account `record`, whose address hashes to `hashed`.
    pub fn new(record: AccountRecord, hashed: B256) -> Self {
        let plain = record.code_hash == KECCAK256_EMPTY && record.storage_root == EMPTY_ROOT_HASH;
        Self {
            nonce: record.nonce,
            balance: record.balance,
            hashed,
            contract: (!plain).then(|| {
                Box::new(Contract {
                    code_hash: record.code_hash,
                    storage_root: record.storage_root,
                    storage: HashMap::default(),
                })
            }),
        }
    }

    /// The account's trie record.
    pub fn record(&self) -> AccountRecord {
        let (code_hash, storage_root) = match &self.contract {
            Some(c) => (c.code_hash, c.storage_root),
            None => (KECCAK256_EMPTY, EMPTY_ROOT_HASH),
        };
        AccountRecord {
            nonce: self.nonce,
            balance: self.balance,
            code_hash,
            storage_root,
        }
    }

    /// keccak256 of the address, the account's key in the account trie.
    pub fn hashed(&self) -> B256 {
        self.hashed
    }

    /// Nonce, balance and code hash, as revm reads them.
    pub fn info(&self) -> (u64, U256, B256) {
        let code_hash = self
            .contract
            .as_ref()
            .map_or(KECCAK256_EMPTY, |c| c.code_hash);
        (self.nonce, self.balance, code_hash)
    }

    /// Sets nonce, balance and code hash.
    pub fn set_info(&mut self, nonce: u64, balance: U256, code_hash: B256) {
        self.nonce = nonce;
        self.balance = balance;
        if code_hash != KECCAK256_EMPTY || self.contract.is_some() {
            self.contract().code_hash = code_hash;
        }
    }

    /// The storage root (of the head's state; a block being built leaves it until sealed).
    pub fn storage_root(&self) -> B256 {
        self.contract
            .as_ref()
            .map_or(EMPTY_ROOT_HASH, |c| c.storage_root)
    }

    /// Sets the storage root.
    pub fn set_storage_root(&mut self, root: B256) {
        if root != EMPTY_ROOT_HASH || self.contract.is_some() {
            self.contract().storage_root = root;
        }
    }

    /// The slot's value if known.
    pub fn slot(&self, slot: &U256) -> Option<U256> {
        self.contract.as_ref()?.storage.get(slot).copied()
    }

    /// The known slots, to read or change.
    pub fn storage_mut(&mut self) -> &mut HashMap<U256, U256> {
        &mut self.contract().storage
    }

    /// Forgets every known slot (the account's storage was cleared).
    pub fn clear_storage(&mut self) {
        if let Some(c) = &mut self.contract {
            c.storage.clear();
        }
    }

    fn contract(&mut self) -> &mut Contract {
        self.contract.get_or_insert_with(|| {
            Box::new(Contract {
                code_hash: KECCAK256_EMPTY,
                storage_root: EMPTY_ROOT_HASH,
                storage: HashMap::default(),
            })
        })
    }
}

/// One slot of the table: unused, or an address and what is known of it (`None`: the account
/// does not exist). 128-byte aligned so that it is one adjacent pair of cache lines.
#[repr(align(128))]
struct Slot {
    address: Address,
    used: bool,
    account: Option<CachedAccount>,
}

const _: () = assert!(size_of::<Slot>() == 128);

impl Slot {
    const UNUSED: Self = Self {
        address: Address::ZERO,
        used: false,
        account: None,
    };
}

/// Accounts by address (see the module's documentation).
pub struct AccountTable {
    /// A power of two of them, or none.
    slots: Vec<Slot>,
    /// Slots in use.
    len: usize,
    /// The hash's random seeds.
    seeds: [u64; 3],
}

impl Default for AccountTable {
    fn default() -> Self {
        // The standard library's per-process random keys, varied per table.
        let state = RandomState::new();
        Self {
            slots: Vec::new(),
            len: 0,
            seeds: [1u64, 2, 3].map(|i| state.hash_one(i)),
        }
    }
}

/// The 128-bit product of `a` and `b`, its halves folded together (foldhash's mixing step).
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl std::fmt::Debug for AccountTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountTable")
            .field("len", &self.len)
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl AccountTable {
    /// Addresses known (present or absent).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    /// Where the search for `address` starts; the table must have slots. Every byte of the
    /// address goes through a seeded multiply. A `Hasher` (alloy's fixed-bytes one over
    /// foldhash) took three out-of-line calls per address here: 3.5 % of the block thread's
    /// instructions (callgrind, 1M accounts, blocks of 2,000 ETH transfers).
    #[inline(always)]
    fn home(&self, address: &Address) -> usize {
        let bytes = &address.0.0;
        let word = |at: usize| {
            u64::from_le_bytes([
                bytes[at],
                bytes[at + 1],
                bytes[at + 2],
                bytes[at + 3],
                bytes[at + 4],
                bytes[at + 5],
                bytes[at + 6],
                bytes[at + 7],
            ])
        };
        let tail = u64::from(u32::from_le_bytes([
            bytes[16], bytes[17], bytes[18], bytes[19],
        ]));
        let [a, b, c] = self.seeds;
        let hash = folded_multiply(word(0) ^ a, word(8) ^ b) ^ folded_multiply(tail ^ c, a ^ b);
        hash as usize & (self.slots.len() - 1)
    }

    /// Where `address` is (`Ok`) or would go (`Err`); the table must have slots.
    fn find(&self, address: &Address) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(address);
        loop {
            let slot = &self.slots[i];
            if !slot.used {
                return Err(i);
            }
            if slot.address == *address {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// What is known of `address`: `None` if it is not in the table, `Some(None)` if it is
    /// known not to exist.
    #[cfg(test)]
    fn get(&self, address: &Address) -> Option<&Option<CachedAccount>> {
        if self.slots.is_empty() {
            return None;
        }
        let i = self.find(address).ok()?;
        Some(&self.slots[i].account)
    }

    /// [`Self::get`], to change.
    pub fn get_mut(&mut self, address: &Address) -> Option<&mut Option<CachedAccount>> {
        if self.slots.is_empty() {
            return None;
        }
        let i = self.find(address).ok()?;
        Some(&mut self.slots[i].account)
    }

    /// What is known of `address`, taking it from `load` if the table does not know it yet
    /// (nothing is added if `load` fails).
    pub fn get_or_try_insert_with<E>(
        &mut self,
        address: Address,
        load: impl FnOnce() -> Result<Option<CachedAccount>, E>,
    ) -> Result<&mut Option<CachedAccount>, E> {
        if !self.slots.is_empty()
            && let Ok(i) = self.find(&address)
        {
            return Ok(&mut self.slots[i].account);
        }
        let account = load()?;
        Ok(self.insert_new(address, account))
    }

    /// What is known of `address`, taking it from `make` if the table does not know it yet.
    pub fn get_or_insert_with(
        &mut self,
        address: Address,
        make: impl FnOnce() -> Option<CachedAccount>,
    ) -> &mut Option<CachedAccount> {
        match self.get_or_try_insert_with(address, || Ok::<_, std::convert::Infallible>(make())) {
            Ok(known) => known,
            Err(never) => match never {},
        }
    }

    /// Sets what is known of `address`.
    pub fn insert(&mut self, address: Address, account: Option<CachedAccount>) {
        match self.get_mut(&address) {
            Some(known) => *known = account,
            None => {
                self.insert_new(address, account);
            }
        }
    }

    /// Adds `address`, which the table does not hold.
    fn insert_new(
        &mut self,
        address: Address,
        account: Option<CachedAccount>,
    ) -> &mut Option<CachedAccount> {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = match self.find(&address) {
            Err(i) => i,
            Ok(_) => unreachable!("insert_new of an address the table holds"),
        };
        self.len += 1;
        let slot = &mut self.slots[i];
        *slot = Slot {
            address,
            used: true,
            account,
        };
        &mut slot.account
    }

    /// Doubles the slots (at least 16), moving every entry to its place in the new ones.
    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(16);
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || Slot::UNUSED);
        let old = std::mem::replace(&mut self.slots, slots);
        for slot in old.into_iter().filter(|s| s.used) {
            let i = match self.find(&slot.address) {
                Err(i) => i,
                Ok(_) => unreachable!("an address held twice"),
            };
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::{collection::vec, prelude::*};
    use std::collections::HashMap as Model;

    fn record(nonce: u64, code: bool, root: bool) -> AccountRecord {
        AccountRecord {
            nonce,
            balance: U256::from(nonce * 3),
            code_hash: if code {
                B256::repeat_byte(7)
            } else {
                KECCAK256_EMPTY
            },
            storage_root: if root {
                B256::repeat_byte(9)
            } else {
                EMPTY_ROOT_HASH
            },
        }
    }

    /// One change to the table and the model.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, Option<(u64, bool, bool)>),
        Load(u8, Option<(u64, bool, bool)>, bool),
        SetInfo(u8, u64, bool),
        SetRoot(u8, bool),
        Slot(u8, u8, u8),
        Clear(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let account = proptest::option::of((any::<u64>(), any::<bool>(), any::<bool>()));
        prop_oneof![
            (any::<u8>(), account.clone()).prop_map(|(a, r)| Op::Insert(a, r)),
            (any::<u8>(), account, any::<bool>()).prop_map(|(a, r, f)| Op::Load(a, r, f)),
            (any::<u8>(), any::<u64>(), any::<bool>()).prop_map(|(a, n, c)| Op::SetInfo(a, n, c)),
            (any::<u8>(), any::<bool>()).prop_map(|(a, r)| Op::SetRoot(a, r)),
            (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, s, v)| Op::Slot(a, s, v)),
            any::<u8>().prop_map(Op::Clear),
        ]
    }

    /// The model's account: record and known slots.
    type Known = Option<(AccountRecord, Model<U256, U256>)>;

    /// Distinct addresses that differ in one byte, in every position of the 20 (each word
    /// of the hash).
    fn address(a: u8) -> Address {
        let mut bytes = [0u8; 20];
        bytes[usize::from(a) % 20] = a;
        Address::from(bytes)
    }

    fn cached(r: Option<(u64, bool, bool)>) -> (Option<CachedAccount>, Known) {
        match r {
            None => (None, None),
            Some((n, c, s)) => {
                let record = record(n, c, s);
                (
                    Some(CachedAccount::new(record, B256::from(U256::from(n)))),
                    Some((record, Model::new())),
                )
            }
        }
    }

    proptest! {
        /// The table holds what a map of the same changes holds, through growth and probing.
        #[test]
        fn table_matches_a_map(ops in vec(op(), 0..400)) {
            let mut table = AccountTable::default();
            let mut model: Model<Address, Known> = Model::new();
            for op in ops {
                match op {
                    Op::Insert(a, r) => {
                        let (account, known) = cached(r);
                        table.insert(address(a), account);
                        model.insert(address(a), known);
                    }
                    Op::Load(a, r, fail) => {
                        let (account, known) = cached(r);
                        let held = model.contains_key(&address(a));
                        let got = table.get_or_try_insert_with(address(a), || match fail {
                            true => Err(()),
                            false => Ok(account),
                        });
                        prop_assert_eq!(got.is_ok(), held || !fail);
                        if !held && !fail {
                            model.insert(address(a), known);
                        }
                    }
                    Op::SetInfo(a, n, code) => {
                        let code_hash = if code { B256::repeat_byte(5) } else { KECCAK256_EMPTY };
                        if let Some(Some(account)) = table.get_mut(&address(a)) {
                            account.set_info(n, U256::from(n), code_hash);
                        }
                        if let Some(Some((record, _))) = model.get_mut(&address(a)) {
                            record.nonce = n;
                            record.balance = U256::from(n);
                            record.code_hash = code_hash;
                        }
                    }
                    Op::SetRoot(a, set) => {
                        let root = if set { B256::repeat_byte(4) } else { EMPTY_ROOT_HASH };
                        if let Some(Some(account)) = table.get_mut(&address(a)) {
                            account.set_storage_root(root);
                        }
                        if let Some(Some((record, _))) = model.get_mut(&address(a)) {
                            record.storage_root = root;
                        }
                    }
                    Op::Slot(a, s, v) => {
                        if let Some(Some(account)) = table.get_mut(&address(a)) {
                            account.storage_mut().insert(U256::from(s), U256::from(v));
                        }
                        if let Some(Some((_, slots))) = model.get_mut(&address(a)) {
                            slots.insert(U256::from(s), U256::from(v));
                        }
                    }
                    Op::Clear(a) => {
                        if let Some(Some(account)) = table.get_mut(&address(a)) {
                            account.clear_storage();
                        }
                        if let Some(Some((_, slots))) = model.get_mut(&address(a)) {
                            slots.clear();
                        }
                    }
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for a in 0..=u8::MAX {
                let got = table.get(&address(a));
                match model.get(&address(a)) {
                    None => prop_assert!(got.is_none()),
                    Some(None) => prop_assert_eq!(got, Some(&None)),
                    Some(Some((record, slots))) => {
                        let Some(Some(account)) = got else {
                            return Err(TestCaseError::fail("account missing"));
                        };
                        prop_assert_eq!(account.record(), *record);
                        prop_assert_eq!(
                            account.info(),
                            (record.nonce, record.balance, record.code_hash)
                        );
                        prop_assert_eq!(account.storage_root(), record.storage_root);
                        for s in 0..=u8::MAX {
                            prop_assert_eq!(
                                account.slot(&U256::from(s)),
                                slots.get(&U256::from(s)).copied()
                            );
                        }
                    }
                }
            }
        }
    }

    /// A plain account keeps nothing boxed; one with code or storage does.
    #[test]
    fn only_contracts_are_boxed() {
        let plain = CachedAccount::new(record(1, false, false), B256::ZERO);
        assert!(plain.contract.is_none());
        assert!(
            CachedAccount::new(record(1, true, false), B256::ZERO)
                .contract
                .is_some()
        );
        assert!(
            CachedAccount::new(record(1, false, true), B256::ZERO)
                .contract
                .is_some()
        );
        let mut account = plain.clone();
        account.set_info(2, U256::from(5), KECCAK256_EMPTY);
        account.set_storage_root(EMPTY_ROOT_HASH);
        account.clear_storage();
        assert!(account.contract.is_none());
        assert_eq!(account.slot(&U256::ZERO), None);
    }
}
