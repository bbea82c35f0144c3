//! Checks of an execution witness from the witness alone, as a stateless client would: the
//! headers chain to the block's parent, every node is reachable from the parent's state root,
//! the block re-executes over a database backed only by the witness with the stored receipts,
//! and the witness's partial tries plus the block's changes give the header's state root; an
//! Isthmus header's withdrawals root (the message passer's storage root) is checked too.

use alloy::{
    consensus::Header,
    primitives::{
        Address, B256, Bytes, U256, keccak256,
        map::{B256Map, B256Set, HashMap},
    },
    rlp::Decodable,
    rpc::types::debug::ExecutionWitness,
};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount, nodes::TrieNode};
use op_node::{
    block::SealedBlock,
    chain::ChainConfig,
    engine::{
        MESSAGE_PASSER,
        witness::{self, PreState, StateNodes, WitnessError},
    },
    storage::{AccountRecord, StoreReader},
    trie::{NodeSource, SparseTrie, TrieError},
};
use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
};

/// The witness's nodes laid out by path, as the node store keeps them.
pub struct WitnessState {
    accounts: HashMap<Nibbles, Bytes>,
    storage: HashMap<(B256, Nibbles), Bytes>,
    codes: B256Map<Bytes>,
    /// Ancestor hashes by number.
    hashes: BTreeMap<u64, B256>,
    /// The parent's state root.
    pub root: B256,
    /// Storage leaves reachable from the root: (hashed address, hashed slot).
    storage_leaves: BTreeSet<(B256, B256)>,
    /// Witness nodes not reachable from the root.
    pub unreachable: usize,
    account_trie: RefCell<SparseTrie>,
    storage_tries: RefCell<B256Map<SparseTrie>>,
}

struct Paths<'a>(&'a HashMap<Nibbles, Bytes>);

impl NodeSource for Paths<'_> {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(self.0.get(path).cloned())
    }
}

struct StoragePaths<'a>(&'a HashMap<(B256, Nibbles), Bytes>, B256);

impl NodeSource for StoragePaths<'_> {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(self.0.get(&(self.1, *path)).cloned())
    }
}

/// Walks the node `hash` commits to (if the witness has it) and everything below it.
fn walk(
    nodes: &B256Map<Bytes>,
    hash: B256,
    path: Nibbles,
    out: &mut HashMap<Nibbles, Bytes>,
    visited: &mut B256Set,
    leaves: &mut Vec<(B256, Vec<u8>)>,
) {
    let Some(rlp) = nodes.get(&hash) else {
        return;
    };
    visited.insert(hash);
    out.insert(path, rlp.clone());
    let node = TrieNode::decode(&mut &rlp[..]).expect("witness node decodes");
    walk_node(nodes, node, path, out, visited, leaves);
}

fn walk_node(
    nodes: &B256Map<Bytes>,
    node: TrieNode,
    path: Nibbles,
    out: &mut HashMap<Nibbles, Bytes>,
    visited: &mut B256Set,
    leaves: &mut Vec<(B256, Vec<u8>)>,
) {
    let mut child = |reference: &alloy_trie::nodes::RlpNode, child_path: Nibbles| match reference
        .as_hash()
    {
        Some(hash) => walk(nodes, hash, child_path, out, visited, leaves),
        None => {
            let embedded = TrieNode::decode(&mut &reference[..]).expect("embedded node decodes");
            walk_node(nodes, embedded, child_path, out, visited, leaves)
        }
    };
    match node {
        TrieNode::EmptyRoot => {}
        TrieNode::Branch(branch) => {
            for (nibble, reference) in branch.as_ref().children() {
                if let Some(reference) = reference {
                    let mut child_path = path;
                    child_path.push(nibble);
                    child(reference, child_path);
                }
            }
        }
        TrieNode::Extension(ext) => child(&ext.child, path.join(&ext.key)),
        TrieNode::Leaf(leaf) => {
            let full = path.join(&leaf.key);
            assert_eq!(full.len(), 64, "leaf key ends at the 64th nibble");
            leaves.push((B256::from_slice(&full.pack()), leaf.value));
        }
    }
}

impl WitnessState {
    /// Lays out `witness` for the block after `parent`: checks the headers chain up to it and
    /// walks the tries from its state root.
    pub fn new(witness: &ExecutionWitness, parent: &Header, parent_hash: B256) -> Self {
        let headers: Vec<Header> = witness
            .headers
            .iter()
            .map(|h| Header::decode(&mut &h[..]).expect("witness header decodes"))
            .collect();
        assert!(!headers.is_empty(), "the witness has the parent's header");
        let mut hashes = BTreeMap::new();
        for pair in headers.windows(2) {
            assert_eq!(
                pair[1].number,
                pair[0].number + 1,
                "headers are consecutive"
            );
            assert_eq!(pair[1].parent_hash, pair[0].hash_slow(), "headers chain");
        }
        for header in &headers {
            hashes.insert(header.number, header.hash_slow());
        }
        let last = headers.last().expect("non-empty");
        assert_eq!(last, parent, "the last header is the parent's");
        assert_eq!(
            last.hash_slow(),
            parent_hash,
            "the last header hashes to the parent"
        );
        let root = last.state_root;

        let nodes: B256Map<Bytes> = witness
            .state
            .iter()
            .map(|n| (keccak256(n), n.clone()))
            .collect();
        let mut visited = B256Set::default();
        let mut accounts = HashMap::default();
        let mut leaves = Vec::new();
        walk(
            &nodes,
            root,
            Nibbles::new(),
            &mut accounts,
            &mut visited,
            &mut leaves,
        );
        let mut storage = HashMap::default();
        let mut storage_leaves = BTreeSet::new();
        for (hashed, leaf) in leaves {
            let account = TrieAccount::decode(&mut &leaf[..]).expect("account leaf decodes");
            if account.storage_root == EMPTY_ROOT_HASH {
                continue;
            }
            let mut slots = HashMap::default();
            let mut slot_leaves = Vec::new();
            walk(
                &nodes,
                account.storage_root,
                Nibbles::new(),
                &mut slots,
                &mut visited,
                &mut slot_leaves,
            );
            storage_leaves.extend(slot_leaves.into_iter().map(|(key, _)| (hashed, key)));
            storage.extend(slots.into_iter().map(|(path, rlp)| ((hashed, path), rlp)));
        }
        let codes = witness
            .codes
            .iter()
            .map(|c| (keccak256(c), c.clone()))
            .collect();
        Self {
            accounts,
            storage,
            codes,
            hashes,
            root,
            storage_leaves,
            unreachable: nodes.len() - visited.len(),
            account_trie: RefCell::new(SparseTrie::from_root(root).without_updates()),
            storage_tries: RefCell::default(),
        }
    }
}

impl WitnessState {
    /// Whether the witness holds the leaf of hashed slot `slot` of hashed account `owner`.
    pub fn has_storage_leaf(&self, owner: B256, slot: B256) -> bool {
        self.storage_leaves.contains(&(owner, slot))
    }
}

impl StateNodes for WitnessState {
    fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(self.accounts.get(path).cloned())
    }

    fn storage_node(&self, owner: B256, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(self.storage.get(&(owner, *path)).cloned())
    }
}

impl PreState for WitnessState {
    fn account(&self, address: Address) -> Result<Option<AccountRecord>, WitnessError> {
        let leaf = self
            .account_trie
            .borrow_mut()
            .get(&keccak256(address), &Paths(&self.accounts))?;
        Ok(leaf.map(|leaf| {
            let a = TrieAccount::decode(&mut &leaf[..]).expect("account leaf decodes");
            AccountRecord {
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.code_hash,
                storage_root: a.storage_root,
            }
        }))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, WitnessError> {
        let Some(account) = self.account(address)? else {
            return Ok(U256::ZERO);
        };
        let owner = keccak256(address);
        let mut tries = self.storage_tries.borrow_mut();
        let trie = tries
            .entry(owner)
            .or_insert_with(|| SparseTrie::from_root(account.storage_root).without_updates());
        let leaf = trie.get(
            &keccak256(B256::from(slot)),
            &StoragePaths(&self.storage, owner),
        )?;
        Ok(leaf
            .map(|l| U256::decode(&mut &l[..]).expect("slot value decodes"))
            .unwrap_or_default())
    }

    fn code(&self, hash: B256) -> Result<Bytes, WitnessError> {
        self.codes
            .get(&hash)
            .cloned()
            .ok_or(WitnessError::MissingCode(hash))
    }

    fn block_hash(&self, number: u64) -> Result<B256, WitnessError> {
        self.hashes
            .get(&number)
            .copied()
            .ok_or(WitnessError::MissingBlockHash(number))
    }
}

/// Re-executes `block` over `witness` alone and recomputes its state root; `Err` says what
/// the witness lacked.
pub fn stateless(
    config: &ChainConfig,
    block: &SealedBlock,
    parent: &Header,
    witness: &ExecutionWitness,
) -> Result<(WitnessState, witness::Replay), String> {
    let state = WitnessState::new(witness, parent, block.header.parent_hash);
    let mut replay = witness::replay(config, block, &state).map_err(|e| format!("replay: {e}"))?;
    // Isthmus: the header's withdrawals root is the message passer's storage root, so a stateless
    // client (op-reth's, fraud-vm's seal step) opens that account even when the block leaves it.
    replay.reads.accounts.insert(MESSAGE_PASSER);
    let proven = witness::prove_reads(state.root, &replay.reads, &replay.changes, &state)
        .map_err(|e| format!("reads: {e}"))?;
    let passer_changed = replay
        .changes
        .accounts
        .get(&MESSAGE_PASSER)
        .is_some_and(|c| c.wiped || !c.storage.is_empty());
    if !passer_changed {
        let root = proven
            .accounts
            .get(&MESSAGE_PASSER)
            .copied()
            .flatten()
            .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        if block.header.withdrawals_root != Some(root) {
            return Err(format!(
                "withdrawals root {:?}, the message passer's storage root {root}",
                block.header.withdrawals_root
            ));
        }
    }
    let root = witness::post_state_root(state.root, &replay.changes, &state)
        .map_err(|e| format!("post-state root: {e}"))?;
    if root != block.header.state_root {
        return Err(format!(
            "post-state root {root}, header {}",
            block.header.state_root
        ));
    }
    Ok((state, replay))
}

/// Every check of block `number`'s witness from `reader`'s snapshot. Returns the witness.
/// `parent_snapshot` is a snapshot taken when block `number - 1` was the head: the reads the
/// witness proves are compared with its flat tables.
pub fn check_witness(
    config: &ChainConfig,
    reader: &StoreReader,
    number: u64,
    parent_snapshot: &StoreReader,
) -> ExecutionWitness {
    let witness = witness::execution_witness(config, reader, number, 10_000)
        .unwrap_or_else(|e| panic!("witness of block {number}: {e}"));
    let block = reader.block(number).unwrap().expect("block stored");
    let (_, parent) = reader.header(number - 1).unwrap().expect("parent stored");
    let (state, replay) = stateless(config, &block, &parent, &witness)
        .unwrap_or_else(|e| panic!("block {number}: stateless check failed: {e}"));
    assert_eq!(
        state.unreachable, 0,
        "block {number}: every node is reachable"
    );
    assert_eq!(replay.receipts, block.receipts, "block {number}: receipts");
    assert_eq!(
        replay.gas_used, block.header.gas_used,
        "block {number}: gas"
    );
    for seed in 0..6 {
        assert_eq!(
            post_state_root_in_order(&state, &replay.changes, seed),
            Ok(block.header.state_root),
            "block {number}: post-state root from the witness, changes in order {seed}"
        );
    }
    let unique: B256Set = witness.state.iter().map(keccak256).collect();
    assert_eq!(
        unique.len(),
        witness.state.len(),
        "block {number}: nodes once each"
    );

    // What the witness proves equals the flat state of a snapshot taken before the block.
    assert_eq!(
        parent_snapshot.head_number().unwrap(),
        Some(number - 1),
        "the snapshot is the parent's"
    );
    let proven = witness::prove_reads(state.root, &replay.reads, &replay.changes, &state)
        .expect("reads resolve through the witness");
    for (address, account) in &proven.accounts {
        let stored = parent_snapshot.account(address).unwrap();
        assert_eq!(
            account.map(|a| (a.nonce, a.balance, a.code_hash, a.storage_root)),
            stored.map(|a| (a.nonce, a.balance, a.code_hash, a.storage_root)),
            "block {number}: account {address} proven from the witness"
        );
    }
    for ((address, slot), value) in &proven.storage {
        assert_eq!(
            *value,
            parent_snapshot.storage(address, slot).unwrap(),
            "block {number}: slot {slot} of {address} proven from the witness"
        );
    }

    // Codes: exactly those the block loaded or deployed, each under its hash.
    let mut want: BTreeSet<B256> = replay.reads.codes.keys().copied().collect();
    want.extend(replay.changes.code.iter().map(|(h, _)| *h));
    let got: BTreeSet<B256> = witness.codes.iter().map(keccak256).collect();
    assert_eq!(got, want, "block {number}: codes");
    assert_eq!(
        got.len(),
        witness.codes.len(),
        "block {number}: codes once each"
    );

    // Keys: 20-byte addresses and 32-byte slots, every account read among them.
    let addresses: BTreeSet<Address> = witness
        .keys
        .iter()
        .filter(|k| k.len() == 20)
        .map(|k| Address::from_slice(k))
        .collect();
    assert!(
        witness.keys.iter().all(|k| k.len() == 20 || k.len() == 32),
        "block {number}: keys are addresses and slots"
    );
    for address in &replay.reads.accounts {
        assert!(addresses.contains(address), "block {number}: key {address}");
    }
    let oldest = replay.reads.oldest_block_hash.unwrap_or(number - 1);
    assert_eq!(
        witness.headers.len() as u64,
        number - oldest,
        "block {number}: headers from the oldest BLOCKHASH to the parent"
    );
    witness
}

/// Whether the witness is minimal: without any one of its nodes, the stateless check fails.
pub fn check_minimal(
    config: &ChainConfig,
    reader: &StoreReader,
    number: u64,
    witness: &ExecutionWitness,
) {
    let block = reader.block(number).unwrap().expect("block stored");
    let (_, parent) = reader.header(number - 1).unwrap().expect("parent stored");
    for i in 0..witness.state.len() {
        let mut fewer = witness.clone();
        fewer.state.remove(i);
        assert!(
            stateless(config, &block, &parent, &fewer).is_err(),
            "block {number}: the witness still works without node {i} ({})",
            witness.state[i]
        );
    }
}

/// A small deterministic shuffle (xorshift), so orders are reproducible from their seed.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// The post-state root from the witness alone, applying the block's changes in another order
/// than the node's: shuffled by `seed`, or (seed 0) every insertion before any removal. A
/// verifier may apply them in any order, so the witness must hold every node any order loads.
pub fn post_state_root_in_order(
    state: &WitnessState,
    changes: &op_node::engine::state::BlockChanges,
    seed: u64,
) -> Result<B256, String> {
    let err = |e: TrieError| e.to_string();
    let mut ops: Vec<(B256, Option<Bytes>)> = Vec::new();
    for (address, change) in &changes.accounts {
        let owner = keccak256(address);
        let Some((nonce, balance, code_hash)) = change.info else {
            ops.push((owner, None));
            continue;
        };
        let previous = state.account(*address).map_err(|e| e.to_string())?;
        let previous_root = previous.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        let storage_root = if change.wiped || !change.storage.is_empty() {
            let mut trie = if change.wiped {
                SparseTrie::empty()
            } else {
                SparseTrie::from_root(previous_root)
            }
            .without_updates();
            let mut slots: Vec<(B256, U256)> = change
                .storage
                .iter()
                .map(|(slot, value)| (keccak256(B256::from(*slot)), *value))
                .collect();
            slots.sort();
            shuffle(&mut slots, seed);
            if seed == 0 {
                slots.sort_by_key(|(_, value)| value.is_zero());
            }
            let src = StoragePaths(&state.storage, owner);
            for (key, value) in slots {
                if value.is_zero() {
                    trie.remove(&key, &src).map_err(err)?;
                } else {
                    trie.insert(&key, alloy::rlp::encode(value).into(), &src)
                        .map_err(err)?;
                }
            }
            trie.root()
        } else {
            previous_root
        };
        let leaf = TrieAccount {
            nonce,
            balance,
            storage_root,
            code_hash,
        };
        ops.push((owner, Some(alloy::rlp::encode(leaf).into())));
    }
    ops.sort();
    shuffle(&mut ops, seed.wrapping_add(1));
    if seed == 0 {
        ops.sort_by_key(|(_, leaf)| leaf.is_none());
    }
    let mut accounts = SparseTrie::from_root(state.root).without_updates();
    let src = Paths(&state.accounts);
    for (key, leaf) in ops {
        match leaf {
            Some(leaf) => accounts.insert(&key, leaf, &src).map_err(err)?,
            None => accounts.remove(&key, &src).map_err(err)?,
        }
    }
    Ok(accounts.root())
}
