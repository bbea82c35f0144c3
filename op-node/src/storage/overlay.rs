//! The state writes of blocks that are durable in the chain file but not yet in the state file:
//! one [`StateWrites`] per block, which readers consult, newest first, before the state file.
//! The applier merges consecutive ones into a single [`StateWrites`] to write them in one
//! transaction, where each key is written once with its latest value.

use super::{AccountRecord, STORED_TRIE_DEPTH, StateDiff};
use crate::trie::TrieUpdates;
use alloy::primitives::{
    Address, B256, Bytes, U256,
    map::{AddressMap, B256Map, HashMap},
};
use alloy_trie::Nibbles;
use std::time::Instant;

/// The storage writes to one account.
#[derive(Debug, Default, Clone)]
pub(crate) struct SlotWrites {
    /// Every slot was cleared (destroyed, deleted or re-created) before `slots` applied.
    pub wiped: bool,
    /// Final values by slot, each with keccak256 of the slot (the state file's key, hashed once
    /// by the state root); zero deletes the slot.
    pub slots: HashMap<U256, (B256, U256)>,
}

/// The node writes to one storage trie.
#[derive(Debug, Default, Clone)]
pub(crate) struct StorageTrieWrites {
    /// Every stored node of the trie was deleted before `updates` applied.
    pub wiped: bool,
    /// Nodes written and removed.
    pub updates: TrieUpdates,
}

/// New account records (`None` deletes), each with keccak256 of its address, the state file's
/// key.
pub(crate) type AccountWrites = AddressMap<(B256, Option<AccountRecord>)>;

/// What one block (or a run of consecutive blocks) wrote to the state file's tables.
#[derive(Debug)]
pub(crate) struct StateWrites {
    /// The first block whose writes are in here.
    pub first: u64,
    /// The last one: the state file holds its state once these are written.
    pub last: u64,
    /// Its hash.
    pub last_hash: B256,
    /// When the block was committed to the chain file (the applier waits a little to batch).
    pub committed_at: Instant,
    /// New account records (`None` deletes), each with keccak256 of its address, the state
    /// file's key: hashed once, by the state root, not again by the state file's writer.
    pub accounts: AccountWrites,
    /// Storage writes by account.
    pub storage: AddressMap<SlotWrites>,
    /// New bytecode.
    pub code: B256Map<Bytes>,
    /// Account trie nodes.
    pub account_trie: TrieUpdates,
    /// Storage trie nodes by keccak256(address).
    pub storage_tries: B256Map<StorageTrieWrites>,
    /// (transaction hash, block number, index in block), sorted by hash.
    pub tx_index: Vec<(B256, u64, u32)>,
}

impl StateWrites {
    /// The writes of block `number` (`hash`), from the diff the engine computed and the
    /// block's transaction index.
    pub fn from_block(number: u64, hash: B256, diff: StateDiff, tx_index: &[(B256, u32)]) -> Self {
        let mut storage: AddressMap<SlotWrites> = AddressMap::default();
        for address in diff.wiped_storage {
            storage.entry(address).or_default().wiped = true;
        }
        for write in diff.storage {
            storage
                .entry(write.address)
                .or_default()
                .slots
                .insert(write.slot, (write.hashed, write.value));
        }
        let storage_tries = diff
            .storage_tries
            .into_iter()
            .map(|(owner, wiped, updates)| (owner, StorageTrieWrites { wiped, updates }))
            .collect();
        Self {
            first: number,
            last: number,
            last_hash: hash,
            committed_at: Instant::now(),
            accounts: diff
                .accounts
                .into_iter()
                .map(|w| (w.address, (w.hashed, w.record)))
                .collect(),
            storage,
            code: diff.code.into_iter().collect(),
            account_trie: diff.account_trie,
            storage_tries,
            tx_index: tx_index
                .iter()
                .map(|(hash, i)| (*hash, number, *i))
                .collect(),
        }
    }

    /// `Some(record or None)` when this layer decides the account.
    pub fn account(&self, address: &Address) -> Option<Option<AccountRecord>> {
        self.accounts.get(address).map(|(_, record)| *record)
    }

    /// `Some(value)` when this layer decides the slot (zero: unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> Option<U256> {
        if let Some(writes) = self.storage.get(address) {
            if let Some((_, value)) = writes.slots.get(slot) {
                return Some(*value);
            }
            if writes.wiped {
                return Some(U256::ZERO);
            }
        }
        None
    }

    /// `Some(node or None)` when this layer decides the account trie node at `path`.
    pub fn account_node(&self, path: &Nibbles) -> Option<Option<Bytes>> {
        updates_node(&self.account_trie, path)
    }

    /// `Some(node or None)` when this layer decides the node at `path` of `owner`'s trie.
    pub fn storage_node(&self, owner: &B256, path: &Nibbles) -> Option<Option<Bytes>> {
        let writes = self.storage_tries.get(owner)?;
        updates_node(&writes.updates, path).or(writes.wiped.then_some(None))
    }

    /// Where this layer's block put the transaction `hash`.
    pub fn tx_location(&self, hash: &B256) -> Option<(u64, u32)> {
        self.tx_index
            .binary_search_by(|(h, _, _)| h.cmp(hash))
            .ok()
            .map(|i| (self.tx_index[i].1, self.tx_index[i].2))
    }

    /// The writes of `layers` (consecutive blocks, oldest first) as one, later writes winning,
    /// for the state file's writer, but for the account records, which it takes from the
    /// layers themselves (`accounts` is left empty); of the trie nodes only those it stores
    /// (paths shorter than [`STORED_TRIE_DEPTH`]) are kept. The result is no layer for readers.
    pub fn merge(layers: &[std::sync::Arc<StateWrites>]) -> Option<Self> {
        let (first, last) = (layers.first()?, layers.last()?);
        let mut storage: AddressMap<SlotWrites> = AddressMap::default();
        let mut code = B256Map::default();
        // Node writes in block order; sorted (stably, so the latest write of a path stays
        // last) once at the end. Each layer's writes are already sorted, so the sort merges runs.
        let mut account_trie = NodeWrites::new();
        let mut storage_tries: B256Map<(bool, NodeWrites)> = B256Map::default();
        let mut tx_index = Vec::with_capacity(layers.iter().map(|l| l.tx_index.len()).sum());
        for layer in layers {
            for (address, writes) in &layer.storage {
                let merged = storage.entry(*address).or_default();
                if writes.wiped {
                    merged.wiped = true;
                    merged.slots.clear();
                }
                merged
                    .slots
                    .extend(writes.slots.iter().map(|(s, v)| (*s, *v)));
            }
            code.extend(layer.code.iter().map(|(h, c)| (*h, c.clone())));
            add_updates(&mut account_trie, &layer.account_trie);
            for (owner, writes) in &layer.storage_tries {
                let merged = storage_tries.entry(*owner).or_default();
                if writes.wiped {
                    merged.0 = true;
                    merged.1.clear();
                }
                add_updates(&mut merged.1, &writes.updates);
            }
            tx_index.extend_from_slice(&layer.tx_index);
        }
        tx_index.sort_unstable_by_key(|(hash, _, _)| *hash);
        Some(Self {
            first: first.first,
            last: last.last,
            last_hash: last.last_hash,
            committed_at: first.committed_at,
            accounts: AccountWrites::default(),
            storage,
            code,
            account_trie: to_updates(account_trie),
            storage_tries: storage_tries
                .into_iter()
                .map(|(owner, (wiped, nodes))| {
                    (
                        owner,
                        StorageTrieWrites {
                            wiped,
                            updates: to_updates(nodes),
                        },
                    )
                })
                .collect(),
            tx_index,
        })
    }
}

fn updates_node(updates: &TrieUpdates, path: &Nibbles) -> Option<Option<Bytes>> {
    if let Ok(i) = updates.written.binary_search_by(|(p, _)| p.cmp(path)) {
        return Some(Some(updates.written[i].1.clone()));
    }
    updates.removed.binary_search(path).ok().map(|_| None)
}

/// Trie node writes of consecutive blocks in block order: `Some(rlp)` puts, `None` removes.
type NodeWrites = Vec<(Nibbles, Option<Bytes>)>;

/// Appends one block's updates of the nodes the state file stores (its `written` and `removed`
/// are disjoint, so their order within the block does not matter). The deeper nodes are left
/// out before the merge sorts them: the state file rebuilds them from the flat rows, and they
/// are most of a block's (at a million accounts a block of 2,000 transfers changes about 13,400
/// account-trie nodes, of which at most 4,369 are stored), whose copies, sort and drops were
/// about 7 % of the applier's samples.
fn add_updates(into: &mut NodeWrites, updates: &TrieUpdates) {
    let stored = |path: &Nibbles| path.len() < STORED_TRIE_DEPTH;
    into.extend(
        updates
            .written
            .iter()
            .filter(|(path, _)| stored(path))
            .map(|(path, node)| (*path, Some(node.clone()))),
    );
    into.extend(
        updates
            .removed
            .iter()
            .filter(|path| stored(path))
            .map(|path| (*path, None)),
    );
}

/// Sorted, disjoint updates from node writes in block order: the last write of a path wins.
/// A stable sort keeps each path's writes in block order and merges the blocks' sorted runs,
/// where inserting node by node into a `BTreeMap` cost the applier about 4 % of its CPU (30
/// blocks of 1M-account ETH transfers per batch).
fn to_updates(mut nodes: NodeWrites) -> TrieUpdates {
    nodes.sort_by_key(|(path, _)| *path);
    let mut updates = TrieUpdates::default();
    let mut nodes = nodes.into_iter().peekable();
    while let Some((path, node)) = nodes.next() {
        if nodes.peek().is_some_and(|(next, _)| *next == path) {
            continue;
        }
        match node {
            Some(node) => updates.written.push((path, node)),
            None => updates.removed.push(path),
        }
    }
    updates
}

/// Layers of consecutive blocks, oldest first, as a reader sees them: newest wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layers(pub std::sync::Arc<[std::sync::Arc<StateWrites>]>);

impl Layers {
    /// The first answer of any layer, newest first.
    pub fn find<T>(&self, f: impl Fn(&StateWrites) -> Option<T>) -> Option<T> {
        self.0.iter().rev().find_map(|layer| f(layer))
    }

    /// The layers, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &StateWrites> {
        self.0.iter().map(|l| &**l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn layer(number: u64, written: &[&[u8]], removed: &[&[u8]]) -> Arc<StateWrites> {
        let updates = TrieUpdates {
            written: written
                .iter()
                .map(|p| (Nibbles::from_nibbles(p), Bytes::from(vec![number as u8])))
                .collect(),
            removed: removed.iter().map(|p| Nibbles::from_nibbles(p)).collect(),
        };
        let diff = StateDiff {
            account_trie: updates.clone(),
            storage_tries: vec![(B256::repeat_byte(7), false, updates)],
            ..Default::default()
        };
        Arc::new(StateWrites::from_block(number, B256::ZERO, diff, &[]))
    }

    /// The merge keeps the latest write of each stored path and leaves out the paths the state
    /// file does not store, in the account trie and in storage tries alike; the layers
    /// themselves (what readers see) keep every node.
    #[test]
    fn merged_node_writes_are_the_stored_paths_latest() {
        let deep: &[u8] = &[1, 2, 3, 4];
        assert_eq!(deep.len(), STORED_TRIE_DEPTH);
        let layers = [
            layer(1, &[&[1], deep, &[3, 3, 3]], &[&[2], &[5, 5, 5, 5, 5]]),
            layer(2, &[&[2]], &[&[1], deep]),
        ];
        let merged = StateWrites::merge(&layers).expect("two layers");
        let want = TrieUpdates {
            written: vec![
                (Nibbles::from_nibbles([2]), Bytes::from(vec![2])),
                (Nibbles::from_nibbles([3, 3, 3]), Bytes::from(vec![1])),
            ],
            removed: vec![Nibbles::from_nibbles([1])],
        };
        assert_eq!(merged.account_trie, want);
        assert_eq!(merged.storage_tries[&B256::repeat_byte(7)].updates, want);
        assert_eq!(
            layers[0].account_node(&Nibbles::from_nibbles(deep)),
            Some(Some(Bytes::from(vec![1])))
        );
    }
}
