//! The world-state commitment (SPEC.md §3.7): the records hashed into `world_root`, the keys and
//! leaves of the sparse trees, the checkpoint and log chains, and the prover's full view of the
//! world ([`WorldState`]).
//!
//! The state trie root at the start of the block (`base_root`) stays fixed while the block runs;
//! every change is written to the *overlay*, a sparse Merkle tree of account records and storage
//! values. A read looks in the overlay first and falls back to a Merkle-Patricia proof against
//! `base_root`. So an opcode step needs only inclusion proofs and fixed-depth tree updates, and
//! the Merkle-Patricia updates are paid once per touched key, by the block end steps (§5.9).

use crate::mpt::BaseState;
use crate::smt::SparseTree;
use alloy::primitives::{Address, B256, Log, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Domain tag of the world record.
pub const TAG_WORLD: u8 = 0x05;
/// Domain tag of a checkpoint chain link.
pub const TAG_CHECKPOINT: u8 = 0x07;
/// Domain tag of an overlay account record.
pub const TAG_ACCOUNT: u8 = 0x09;
/// Domain tag of a log chain link.
pub const TAG_LOG: u8 = 0x0a;
/// Domain tag of a self-destruct chain link.
pub const TAG_DESTRUCT: u8 = 0x0b;
/// Key tag: account record in the overlay.
pub const KEY_ACCOUNT: u8 = 0x10;
/// Key tag: storage slot in the overlay.
pub const KEY_SLOT: u8 = 0x11;
/// Leaf tag: storage value in the overlay.
pub const LEAF_SLOT: u8 = 0x12;
/// Key tag: transient storage slot.
pub const KEY_TRANSIENT: u8 = 0x13;
/// Key tag: warm account.
pub const KEY_WARM_ACCOUNT: u8 = 0x14;
/// Key tag: warm storage slot.
pub const KEY_WARM_SLOT: u8 = 0x15;
/// Key tag: account created in the current transaction.
pub const KEY_CREATED: u8 = 0x16;

/// Length of an encoded [`World`].
pub const WORLD_ENCODED_LEN: usize = 1 + 32 * 9 + 8;
/// Length of an encoded [`AccountRecord`].
pub const ACCOUNT_ENCODED_LEN: usize = 1 + 8 + 32 + 32 + 32 + 8;

/// The leaf of a set member (warm sets, created set).
pub const MEMBER: B256 = B256::with_last_byte(1);

/// The world record hashed into the machine state's `world_root` (SPEC.md §3.7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct World {
    /// State trie root at the start of the block.
    pub base_root: B256,
    /// Overlay root: accounts and storage written since the start of the block.
    pub accounts_root: B256,
    /// `accounts_root` at the start of the transaction (EIP-2200 original values).
    pub original_root: B256,
    /// Transient storage (EIP-1153).
    pub transient_root: B256,
    /// Warm accounts and slots (EIP-2929), beyond the precompiles.
    pub accessed_root: B256,
    /// Accounts created in this transaction (EIP-6780).
    pub created_root: B256,
    /// Hash chain of accounts self-destructed in this transaction, deleted at its end.
    pub destructs_root: B256,
    /// Hash chain of the transaction's logs.
    pub logs_root: B256,
    /// Number of logs in the chain.
    pub logs_count: u64,
    /// Hash chain of checkpoints, one per suspended frame.
    pub checkpoint_root: B256,
}

impl World {
    /// `0x05 ‖ base ‖ accounts ‖ original ‖ transient ‖ accessed ‖ created ‖ destructs ‖ logs ‖
    /// u64 logs_count ‖ checkpoint`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WORLD_ENCODED_LEN);
        out.push(TAG_WORLD);
        for r in [
            self.base_root,
            self.accounts_root,
            self.original_root,
            self.transient_root,
            self.accessed_root,
            self.created_root,
            self.destructs_root,
            self.logs_root,
        ] {
            out.extend_from_slice(r.as_slice());
        }
        out.extend_from_slice(&self.logs_count.to_be_bytes());
        out.extend_from_slice(self.checkpoint_root.as_slice());
        out
    }

    /// `keccak256(encode())`.
    pub fn commitment(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// An account as the overlay holds it (SPEC.md §3.7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountRecord {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the code.
    pub code_hash: B256,
    /// Storage-trie root that slots absent from the overlay are read from: the base account's
    /// storage root, or the empty root once the account was (re)created in this block.
    pub storage_root: B256,
    /// Number of times the account was (re)created or deleted in this block; part of every
    /// storage key, so that a recreated account does not see the slots of its predecessor.
    pub incarnation: u64,
}

impl Default for AccountRecord {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK_EMPTY,
            storage_root: EMPTY_ROOT_HASH,
            incarnation: 0,
        }
    }
}

impl AccountRecord {
    /// `0x09 ‖ nonce(u64) ‖ balance ‖ code_hash ‖ storage_root ‖ incarnation(u64)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ACCOUNT_ENCODED_LEN);
        out.push(TAG_ACCOUNT);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.balance.to_be_bytes::<32>());
        out.extend_from_slice(self.code_hash.as_slice());
        out.extend_from_slice(self.storage_root.as_slice());
        out.extend_from_slice(&self.incarnation.to_be_bytes());
        out
    }

    /// The overlay leaf: `keccak256(encode())`.
    pub fn leaf(&self) -> B256 {
        keccak256(self.encode())
    }

    /// EIP-161 emptiness: no nonce, no balance, no code.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK_EMPTY
    }
}

fn key(parts: &[&[u8]]) -> B256 {
    crate::memo::short_keccak(&parts.concat())
}

/// Overlay key of an account: `keccak256(0x10 ‖ address)`.
pub fn account_key(address: Address) -> B256 {
    key(&[&[KEY_ACCOUNT], address.as_slice()])
}

/// Overlay key of a slot: `keccak256(0x11 ‖ address ‖ incarnation(u64) ‖ slot)`.
pub fn slot_key(address: Address, incarnation: u64, slot: U256) -> B256 {
    key(&[
        &[KEY_SLOT],
        address.as_slice(),
        &incarnation.to_be_bytes(),
        &slot.to_be_bytes::<32>(),
    ])
}

/// Overlay leaf of a storage value: `keccak256(0x12 ‖ value)` (never zero, so a written zero is
/// distinguished from an absent slot).
pub fn slot_leaf(value: U256) -> B256 {
    key(&[&[LEAF_SLOT], &value.to_be_bytes::<32>()])
}

/// Transient storage key: `keccak256(0x13 ‖ address ‖ slot)`; the leaf is the value itself.
pub fn transient_key(address: Address, slot: U256) -> B256 {
    key(&[
        &[KEY_TRANSIENT],
        address.as_slice(),
        &slot.to_be_bytes::<32>(),
    ])
}

/// Warm-set key of an account: `keccak256(0x14 ‖ address)`.
pub fn warm_account_key(address: Address) -> B256 {
    key(&[&[KEY_WARM_ACCOUNT], address.as_slice()])
}

/// Warm-set key of a slot: `keccak256(0x15 ‖ address ‖ slot)`.
pub fn warm_slot_key(address: Address, slot: U256) -> B256 {
    key(&[
        &[KEY_WARM_SLOT],
        address.as_slice(),
        &slot.to_be_bytes::<32>(),
    ])
}

/// Created-set key: `keccak256(0x16 ‖ address)`.
pub fn created_key(address: Address) -> B256 {
    key(&[&[KEY_CREATED], address.as_slice()])
}

/// The log chain link: `keccak256(0x0a ‖ logs_root ‖ keccak256(rlp(log)))`.
pub fn log_link(logs_root: B256, log: &Log) -> B256 {
    let rlp = alloy::rlp::encode(log);
    key(&[&[TAG_LOG], logs_root.as_slice(), keccak256(rlp).as_slice()])
}

/// The self-destruct chain link: `keccak256(0x0b ‖ destructs_root ‖ address)`.
pub fn destruct_link(destructs_root: B256, address: Address) -> B256 {
    key(&[
        &[TAG_DESTRUCT],
        destructs_root.as_slice(),
        address.as_slice(),
    ])
}

/// Whether `address` is a precompile of the Prague L1 (0x01..=0x11) or the L2's P256VERIFY
/// (0x0100). Precompiles are always warm (EIP-2929) and so never enter the accessed set.
pub fn is_precompile(address: Address) -> bool {
    let n = U256::from_be_slice(address.as_slice());
    (n >= U256::from(1) && n <= U256::from(0x11)) || n == U256::from(0x100)
}

/// Preimages by their hash (account records, storage values, overlay keys, codes), shared by
/// a world and every copy of it: a hash has one preimage, so what one copy learns is true for
/// all, and copying a world (once per call frame and transaction) copies none of them.
#[derive(Debug)]
pub struct Preimages<V>(Arc<Mutex<HashMap<B256, V>>>);

impl<V> Default for Preimages<V> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<V> Clone for Preimages<V> {
    /// The same store, shared.
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<V: Clone> Preimages<V> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<B256, V>> {
        // A panic while the lock was held cannot leave a half-written entry: keep the map.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The preimage of `hash`, if known.
    pub fn get(&self, hash: &B256) -> Option<V> {
        self.map().get(hash).cloned()
    }

    /// Records `value` as the preimage of `hash`.
    pub fn insert(&self, hash: B256, value: V) {
        self.map().insert(hash, value);
    }
}

/// Which sparse tree a witness belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    /// The overlay (`accounts_root`).
    Accounts,
    /// The overlay at the start of the transaction (`original_root`).
    Original,
    /// Transient storage.
    Transient,
    /// The warm set.
    Accessed,
    /// The created set.
    Created,
    /// The accounts the block end folded (SPEC.md §5.19; its root is in the sealing record).
    Folded,
}

/// The prover's full world: the record plus the data behind each root.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    /// The record's base root and chains (destructs, logs, checkpoints); its tree roots are
    /// not kept here but read from the trees by [`Self::record`], so a write hashes nothing
    /// until a commitment is asked for.
    record: World,
    /// The state at the start of the block.
    pub base: Arc<BaseState>,
    /// Overlay.
    pub accounts: SparseTree,
    /// Overlay at the start of the transaction.
    pub original: SparseTree,
    /// Transient storage.
    pub transient: SparseTree,
    /// Warm set.
    pub accessed: SparseTree,
    /// Created set.
    pub created: SparseTree,
    /// The accounts the block end folded into the state trie (SPEC.md §5.19).
    pub folded: SparseTree,
    /// Preimages of overlay account leaves.
    pub records: Preimages<AccountRecord>,
    /// Preimages of overlay keys (accounts and slots written in this block), which the block
    /// end folds.
    pub keys: Preimages<crate::block::FoldKey>,
    /// Preimages of overlay storage leaves.
    pub values: Preimages<U256>,
    /// Code by hash, for every code written in this block (base codes are in `base`).
    pub codes: Preimages<Vec<u8>>,
    /// Logs of the transaction.
    pub logs: Vec<Log>,
    /// Accounts self-destructed in this transaction.
    pub destructs: Vec<Address>,
    /// Checkpoints of the suspended frames, innermost last (SPEC.md §3.7.6), held as the trees
    /// they record and hashed into links only when a commitment or a proof reads them.
    pub checkpoints: Vec<HeldCheckpoint>,
    /// Whether the record's `checkpoint_root` is the link of the last held checkpoint (not
    /// hashed until read) rather than `record.checkpoint_root`.
    held_top: bool,
}

/// A frame's checkpoint as the prover keeps it (SPEC.md §3.7.6): the trees at the frame's entry
/// (a reference count each) and the chains, so that pushing it hashes nothing; the
/// [`Checkpoint`](crate::frame::Checkpoint) record and its link are computed when a committed
/// state or a proof first reads them.
#[derive(Clone, Debug)]
pub struct HeldCheckpoint {
    /// The chain below, if it was a hashed link when this one was pushed; `None`: the link of
    /// the held checkpoint below.
    prev: Option<B256>,
    accounts: SparseTree,
    transient: SparseTree,
    accessed: SparseTree,
    created: SparseTree,
    destructs_root: B256,
    logs_root: B256,
    logs_count: u64,
    /// The record, once computed.
    resolved: std::sync::OnceLock<crate::frame::Checkpoint>,
}

impl HeldCheckpoint {
    /// The link below this one, if it was a hashed link when this one was pushed (else it is
    /// the link of the held checkpoint below).
    pub fn prev_link(&self) -> Option<B256> {
        self.prev
    }
}

impl WorldState {
    /// The world at the start of a block whose pre-state is `base`.
    pub fn at_block_start(base: Arc<BaseState>) -> Self {
        let mut w = Self {
            record: World {
                base_root: base.root(),
                ..World::default()
            },
            base,
            ..Self::default()
        };
        w.begin_tx();
        w
    }

    /// [`Self::begin_tx`], then warms `warm` (sender, recipient, coinbase and the access list's
    /// addresses, EIP-2929 and EIP-3651) and the access list's `slots`.
    pub fn start_tx(&mut self, warm: &[Address], slots: &[(Address, U256)]) {
        self.begin_tx();
        for a in warm {
            self.warm_account(*a);
        }
        for (a, s) in slots {
            self.warm_slot(*a, *s);
        }
    }

    /// Resets the per-transaction parts: original values, transient storage, warm, created and
    /// self-destructed sets, logs, checkpoints (SPEC.md §5.9, transaction start).
    pub fn begin_tx(&mut self) {
        self.original = self.accounts.clone();
        self.transient = SparseTree::default();
        self.accessed = SparseTree::default();
        self.created = SparseTree::default();
        self.logs.clear();
        self.destructs.clear();
        self.checkpoints.clear();
        self.record.checkpoint_root = B256::ZERO;
        self.held_top = false;
        self.sync();
    }

    /// The committed record: the base root and chains with the trees' roots (each hashed
    /// when first read after a write, SPEC.md §3.8).
    pub fn record(&self) -> World {
        // The leaves new to all its trees are lifted together, eight or four at a time.
        let mut trees = Vec::new();
        self.trees(&mut trees);
        crate::smt::lift_leaves(&trees);
        World {
            accounts_root: self.accounts.root(),
            original_root: self.original.root(),
            transient_root: self.transient.root(),
            accessed_root: self.accessed.root(),
            created_root: self.created.root(),
            checkpoint_root: self.checkpoint_root(),
            ..self.record
        }
    }

    /// Appends the sparse trees whose roots [`Self::record`] reads: the five of the world and
    /// those of the held checkpoints not hashed yet (so that their new leaves can be lifted
    /// together, [`crate::smt::lift_leaves`]).
    pub(crate) fn trees<'a>(&'a self, out: &mut Vec<&'a SparseTree>) {
        out.extend([
            &self.accounts,
            &self.original,
            &self.transient,
            &self.accessed,
            &self.created,
        ]);
        for held in self
            .checkpoints
            .iter()
            .filter(|c| c.resolved.get().is_none())
        {
            out.extend([
                &held.accounts,
                &held.transient,
                &held.accessed,
                &held.created,
            ]);
        }
    }

    /// [`Self::record`] with the per-transaction sets' roots (transient storage, warm and
    /// created sets) left unhashed, as zero: what a transaction end applied by a trusted prover
    /// reads, since it empties them ([`crate::step::Oracle::trusted_world`]).
    pub fn record_without_sets(&self) -> World {
        World {
            accounts_root: self.accounts.root(),
            original_root: self.original.root(),
            transient_root: B256::ZERO,
            accessed_root: B256::ZERO,
            created_root: B256::ZERO,
            checkpoint_root: self.checkpoint_root(),
            ..self.record
        }
    }

    /// [`Self::record_without_sets`] hashing no tree: the overlay's roots are stand-ins
    /// ([`SparseTree::unhashed_root`]) and so is the checkpoint chain's head unless it was
    /// hashed already ([`Self::last_checkpoint_unhashed`]). What a trusted prover reads for a
    /// transaction start or end whose post-state it leaves uncommitted
    /// ([`crate::step::Oracle::trusted_world`]): the record is not this world's, but every
    /// leaf the step reads or writes is the tree's own, and the chains and the base root are
    /// exact.
    pub fn record_unhashed(&self) -> World {
        let checkpoint_root = if self.held_top {
            self.last_checkpoint_unhashed()
                .map_or(self.record.checkpoint_root, |cp| cp.link())
        } else {
            self.record.checkpoint_root
        };
        World {
            accounts_root: self.accounts.unhashed_root(),
            original_root: self.original.unhashed_root(),
            transient_root: B256::ZERO,
            accessed_root: B256::ZERO,
            created_root: B256::ZERO,
            checkpoint_root,
            ..self.record
        }
    }

    /// The innermost checkpoint's record as [`Self::record_unhashed`] links it: the record
    /// itself if it was already hashed, else one with its trees' stand-in roots (and a
    /// stand-in link below it, unless that link was a hashed one when it was pushed).
    pub fn last_checkpoint_unhashed(&self) -> Option<crate::frame::Checkpoint> {
        let held = self.checkpoints.last()?;
        if let Some(cp) = held.resolved.get() {
            return Some(*cp);
        }
        Some(crate::frame::Checkpoint {
            prev: held.prev.unwrap_or(crate::smt::UNHASHED_ROOT),
            accounts_root: held.accounts.unhashed_root(),
            transient_root: held.transient.unhashed_root(),
            accessed_root: held.accessed.unhashed_root(),
            created_root: held.created.unhashed_root(),
            destructs_root: held.destructs_root,
            logs_root: held.logs_root,
            logs_count: held.logs_count,
        })
    }

    /// The head of the checkpoint chain: the last held checkpoint's link (hashed now if it was
    /// not yet) or the one set.
    pub fn checkpoint_root(&self) -> B256 {
        if self.held_top {
            self.checkpoint_at(self.checkpoints.len() - 1).link()
        } else {
            self.record.checkpoint_root
        }
    }

    /// The record of the held checkpoint at `index` (its roots and the link below hashed if
    /// they were not).
    fn checkpoint_at(&self, index: usize) -> crate::frame::Checkpoint {
        let held = &self.checkpoints[index];
        *held.resolved.get_or_init(|| {
            let prev = match held.prev {
                Some(link) => link,
                None if index > 0 => self.checkpoint_at(index - 1).link(),
                None => B256::ZERO,
            };
            crate::frame::Checkpoint {
                prev,
                accounts_root: held.accounts.root(),
                transient_root: held.transient.root(),
                accessed_root: held.accessed.root(),
                created_root: held.created.root(),
                destructs_root: held.destructs_root,
                logs_root: held.logs_root,
                logs_count: held.logs_count,
            }
        })
    }

    /// The innermost checkpoint's record, if a frame is suspended.
    pub fn last_checkpoint(&self) -> Option<crate::frame::Checkpoint> {
        (!self.checkpoints.is_empty()).then(|| self.checkpoint_at(self.checkpoints.len() - 1))
    }

    /// Pops the innermost checkpoint (its frame returned and kept the world): the chain's head
    /// goes back to the link below it.
    pub fn pop_checkpoint(&mut self) {
        let Some(held) = self.checkpoints.pop() else {
            return;
        };
        match held.prev {
            Some(link) => {
                self.record.checkpoint_root = link;
                self.held_top = false;
            }
            None => self.held_top = !self.checkpoints.is_empty(),
        }
    }

    /// `record().commitment()`: the world's `world_root`.
    pub fn commitment(&self) -> B256 {
        self.record().commitment()
    }

    /// Sets the record's base root and chains from `world` (its tree roots are the trees').
    pub fn set_record(&mut self, world: World) {
        self.record = world;
        self.held_top = false;
    }

    /// Sets the head of the checkpoint chain (a frame's checkpoint pushed or popped).
    pub fn set_checkpoint_root(&mut self, root: B256) {
        self.record.checkpoint_root = root;
        self.held_top = false;
    }

    /// Recomputes the record's chains from the logs and self-destructs kept.
    pub fn sync(&mut self) {
        let r = &mut self.record;
        r.destructs_root = self
            .destructs
            .iter()
            .fold(B256::ZERO, |acc, a| destruct_link(acc, *a));
        r.logs_root = self.logs.iter().fold(B256::ZERO, log_link);
        r.logs_count = self.logs.len() as u64;
    }

    /// The account at `address`: the overlay's record, else the base account, else empty.
    pub fn account(&self, address: Address) -> AccountRecord {
        self.account_in(&self.accounts, address)
    }

    fn account_in(&self, tree: &SparseTree, address: Address) -> AccountRecord {
        let leaf = tree.get(account_key(address));
        if !leaf.is_zero()
            && let Some(rec) = self.records.get(&leaf)
        {
            return rec;
        }
        match self.base.account(address) {
            Some(t) => AccountRecord {
                nonce: t.nonce,
                balance: t.balance,
                code_hash: t.code_hash,
                storage_root: t.storage_root,
                incarnation: 0,
            },
            None => AccountRecord::default(),
        }
    }

    /// Writes the account record of `address` into the overlay.
    pub fn set_account(&mut self, address: Address, rec: AccountRecord) {
        let leaf = rec.leaf();
        self.records.insert(leaf, rec);
        let key = crate::block::FoldKey::Account(address);
        self.keys.insert(key.key(), key);
        self.accounts.set(account_key(address), leaf);
    }

    /// The current value of a storage slot.
    pub fn storage(&self, address: Address, slot: U256) -> U256 {
        self.storage_in(&self.accounts, address, slot)
    }

    /// The value of a slot at the start of the transaction (EIP-2200 original value).
    pub fn original_storage(&self, address: Address, slot: U256) -> U256 {
        self.storage_in(&self.original, address, slot)
    }

    fn storage_in(&self, tree: &SparseTree, address: Address, slot: U256) -> U256 {
        let rec = self.account(address);
        let leaf = tree.get(slot_key(address, rec.incarnation, slot));
        if !leaf.is_zero() {
            return self.values.get(&leaf).unwrap_or_default();
        }
        if rec.incarnation > 0 || rec.storage_root == EMPTY_ROOT_HASH {
            return U256::ZERO;
        }
        self.base.storage(address, slot)
    }

    /// Writes a storage slot into the overlay.
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        let rec = self.account(address);
        let leaf = slot_leaf(value);
        self.values.insert(leaf, value);
        let key = crate::block::FoldKey::Slot(address, rec.incarnation, slot);
        self.keys.insert(key.key(), key);
        self.accounts
            .set(slot_key(address, rec.incarnation, slot), leaf);
    }

    /// Whether `address` is warm.
    pub fn is_warm_account(&self, address: Address) -> bool {
        is_precompile(address) || !self.accessed.get(warm_account_key(address)).is_zero()
    }

    /// Makes `address` warm.
    pub fn warm_account(&mut self, address: Address) {
        if !is_precompile(address) {
            self.accessed.set(warm_account_key(address), MEMBER);
        }
    }

    /// Makes a slot warm.
    pub fn warm_slot(&mut self, address: Address, slot: U256) {
        self.accessed.set(warm_slot_key(address, slot), MEMBER);
    }

    /// Writes transient storage.
    pub fn tstore(&mut self, address: Address, slot: U256, value: U256) {
        self.transient
            .set(transient_key(address, slot), B256::from(value));
    }

    /// Appends a log.
    pub fn push_log(&mut self, log: Log) {
        self.record.logs_root = log_link(self.record.logs_root, &log);
        self.record.logs_count += 1;
        self.logs.push(log);
    }

    /// Records an account as created in this transaction.
    pub fn mark_created(&mut self, address: Address) {
        self.created.set(created_key(address), MEMBER);
    }

    /// Whether `address` was created in this transaction.
    pub fn is_created(&self, address: Address) -> bool {
        !self.created.get(created_key(address)).is_zero()
    }

    /// Appends `address` to the self-destruct chain.
    pub fn push_destruct(&mut self, address: Address) {
        self.record.destructs_root = destruct_link(self.record.destructs_root, address);
        self.destructs.push(address);
    }

    /// Pushes a checkpoint (frame entry): the trees are kept, not hashed (their roots and the
    /// link are computed when first read).
    pub fn push_checkpoint(&mut self) {
        let held = HeldCheckpoint {
            prev: (!self.held_top).then_some(self.record.checkpoint_root),
            accounts: self.accounts.clone(),
            transient: self.transient.clone(),
            accessed: self.accessed.clone(),
            created: self.created.clone(),
            destructs_root: self.record.destructs_root,
            logs_root: self.record.logs_root,
            logs_count: self.record.logs_count,
            resolved: std::sync::OnceLock::new(),
        };
        self.checkpoints.push(held);
        self.held_top = true;
    }

    /// The preimages of the overlay's keys: what the block end folds (SPEC.md §5.19). `None`
    /// names a key whose preimage the prover never saw (a prover bug).
    pub fn overlay_keys(&self) -> Result<Vec<crate::block::FoldKey>, B256> {
        self.accounts
            .keys()
            .map(|k| self.keys.get(k).ok_or(*k))
            .collect()
    }

    /// Code with hash `hash`, from this block's writes or the base state.
    pub fn code(&self, hash: B256) -> Option<Vec<u8>> {
        if hash == KECCAK_EMPTY {
            return Some(Vec::new());
        }
        self.codes
            .get(&hash)
            .or_else(|| self.base.code(hash).map(<[u8]>::to_vec))
    }

    /// The tree behind `tree`.
    pub fn tree(&self, tree: Tree) -> &SparseTree {
        match tree {
            Tree::Accounts => &self.accounts,
            Tree::Original => &self.original,
            Tree::Transient => &self.transient,
            Tree::Accessed => &self.accessed,
            Tree::Created => &self.created,
            Tree::Folded => &self.folded,
        }
    }

    /// The tree behind `tree`, mutably (the record is not updated).
    pub fn tree_mut(&mut self, tree: Tree) -> &mut SparseTree {
        match tree {
            Tree::Accounts => &mut self.accounts,
            Tree::Original => &mut self.original,
            Tree::Transient => &mut self.transient,
            Tree::Accessed => &mut self.accessed,
            Tree::Created => &mut self.created,
            Tree::Folded => &mut self.folded,
        }
    }
}
