//! The store against a model: what readers see through the pending blocks equals what the
//! state file holds once they are written, at every block and in old snapshots.

use super::*;
use crate::trie::TrieUpdates;
use alloy::{
    consensus::Header,
    primitives::{KECCAK256_EMPTY, keccak256},
};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use proptest::prelude::*;
use std::{collections::BTreeMap, time::Duration};

/// A block without transactions (the genesis) stores an empty RLP list, which reads back.
#[test]
fn empty_body_roundtrips() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let block = block(0);
    store
        .commit_block(&block, &EncodedBody::new(&[], &[]), StateDiff::default())
        .unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.head_number().unwrap(), Some(0));
    let read = reader.block(0).unwrap().expect("stored");
    assert_eq!(read.hash, block.hash);
    assert!(read.txs.is_empty() && read.receipts.is_empty());
}

/// A staged block (its append not run yet) is in the engine's reader and nobody else's, and
/// the state file's writer leaves it alone; once appended, every reader sees it.
#[test]
fn a_staged_block_is_read_ahead_only_until_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mode = ApplyMode::Background {
        min_batch: 1,
        max_delay: Duration::from_millis(1),
        max_pending: 4,
    };
    let store = Store::open_with_mode(&dir.path().join("db.redb"), mode).unwrap();
    store
        .commit_block(&block(0), &EncodedBody::new(&[], &[]), StateDiff::default())
        .unwrap();
    let address = Address::repeat_byte(7);
    let diff = StateDiff {
        accounts: vec![AccountWrite::new(address, Some(record(5)))],
        ..Default::default()
    };
    let staged = store
        .stage_block(Arc::new(block(1)), EncodedBody::new(&[], &[]), diff)
        .unwrap();
    // The applier had every chance to write it, and a flush waits only for durable blocks.
    std::thread::sleep(Duration::from_millis(20));
    store.flush().unwrap();
    assert_eq!(store.pending_blocks(), 1);
    let reader = store.reader().unwrap();
    assert_eq!(reader.head_number().unwrap(), Some(0));
    assert_eq!(reader.account(&address).unwrap(), None);
    let ahead = store.reader_ahead().unwrap();
    assert_eq!(ahead.head_number().unwrap(), Some(0));
    assert_eq!(ahead.account(&address).unwrap(), Some(record(5)));

    store.append_staged(&staged).unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.head_number().unwrap(), Some(1));
    assert_eq!(reader.account(&address).unwrap(), Some(record(5)));
    store.flush().unwrap();
    assert_eq!(store.pending_blocks(), 0);
    assert_eq!(
        store.reader().unwrap().account(&address).unwrap(),
        Some(record(5))
    );
}

fn block(number: u64) -> SealedBlock {
    let header = Header {
        number,
        ..Default::default()
    };
    SealedBlock {
        hash: header.hash_slow(),
        header,
        txs: Vec::new(),
        receipts: Vec::new(),
    }
}

/// A database file of the first format (one file with a head and no version) is refused with
/// a message that names it, and nothing is created beside it.
#[test]
fn an_old_format_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(META).unwrap().insert(HEAD_KEY, 7).unwrap();
        tx.commit().unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StorageError::Format { found: 1, .. }),
        "{message}"
    );
    assert!(
        message.contains("chain.redb") && message.contains("format 1"),
        "{message}"
    );
    assert!(!state_path(&path).exists());
}

/// A state file that holds a block the chain file does not have is refused, not misread.
#[test]
fn a_foreign_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    {
        let store = Store::open(&path).unwrap();
        store
            .commit_block(&block(0), &EncodedBody::new(&[], &[]), StateDiff::default())
            .unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("chain-state.redb"), "{err}");
}

/// What one block does, in the model's terms.
#[derive(Debug, Clone)]
struct Writes {
    accounts: Vec<(u8, Option<u64>)>,
    wiped: Vec<u8>,
    storage: Vec<(u8, u8, u8)>,
    nodes: Vec<(u8, Option<u8>)>,
    storage_nodes: Vec<(u8, u8, Option<u8>)>,
    wiped_tries: Vec<u8>,
}

fn writes() -> impl Strategy<Value = Writes> {
    let small = || 0u8..6;
    (
        proptest::collection::vec((small(), proptest::option::of(any::<u64>())), 0..4),
        proptest::collection::vec(small(), 0..2),
        proptest::collection::vec((small(), small(), 0u8..3), 0..5),
        proptest::collection::vec((small(), proptest::option::of(any::<u8>())), 0..4),
        proptest::collection::vec((small(), small(), proptest::option::of(any::<u8>())), 0..4),
        proptest::collection::vec(small(), 0..2),
    )
        .prop_map(
            |(accounts, wiped, storage, nodes, storage_nodes, wiped_tries)| Writes {
                accounts,
                wiped,
                storage,
                nodes,
                storage_nodes,
                wiped_tries,
            },
        )
}

fn address(i: u8) -> Address {
    Address::repeat_byte(i + 1)
}

fn path(i: u8) -> Nibbles {
    Nibbles::from_nibbles([i % 16, i / 16])
}

fn record(balance: u64) -> AccountRecord {
    AccountRecord {
        nonce: balance % 7,
        balance: U256::from(balance),
        code_hash: KECCAK256_EMPTY,
        storage_root: EMPTY_ROOT_HASH,
    }
}

/// The state the model expects: accounts, slots, account trie nodes, storage trie nodes.
#[derive(Debug, Default, Clone, PartialEq)]
struct Model {
    accounts: BTreeMap<u8, u64>,
    slots: BTreeMap<(u8, u8), u8>,
    nodes: BTreeMap<u8, u8>,
    storage_nodes: BTreeMap<(u8, u8), u8>,
}

impl Model {
    /// Applies `w` and returns the diff storage is given for it.
    fn apply(&mut self, w: &Writes) -> StateDiff {
        let mut diff = StateDiff::default();
        let accounts: BTreeMap<u8, Option<u64>> = w.accounts.iter().copied().collect();
        for (a, balance) in &accounts {
            match balance {
                Some(b) => {
                    self.accounts.insert(*a, *b);
                    diff.accounts
                        .push(AccountWrite::new(address(*a), Some(record(*b))));
                }
                None => {
                    self.accounts.remove(a);
                    diff.accounts.push(AccountWrite::new(address(*a), None));
                }
            }
        }
        let wiped: std::collections::BTreeSet<u8> = w.wiped.iter().copied().collect();
        for a in &wiped {
            self.slots.retain(|(owner, _), _| owner != a);
            diff.wiped_storage.push(address(*a));
        }
        let slots: BTreeMap<(u8, u8), u8> =
            w.storage.iter().map(|(a, s, v)| ((*a, *s), *v)).collect();
        for ((a, s), v) in slots {
            if v == 0 {
                self.slots.remove(&(a, s));
            } else {
                self.slots.insert((a, s), v);
            }
            diff.storage
                .push(SlotWrite::new(address(a), U256::from(s), U256::from(v)));
        }
        let nodes: BTreeMap<u8, Option<u8>> = w.nodes.iter().copied().collect();
        for (p, node) in nodes {
            match node {
                Some(n) => {
                    self.nodes.insert(p, n);
                    diff.account_trie
                        .written
                        .push((path(p), Bytes::from(vec![n])));
                }
                None => {
                    self.nodes.remove(&p);
                    diff.account_trie.removed.push(path(p));
                }
            }
        }
        diff.account_trie.written.sort_by_key(|(p, _)| *p);
        diff.account_trie.removed.sort();
        let wiped_tries: std::collections::BTreeSet<u8> = w.wiped_tries.iter().copied().collect();
        let mut tries: BTreeMap<u8, (bool, TrieUpdates)> = BTreeMap::new();
        for o in &wiped_tries {
            self.storage_nodes.retain(|(owner, _), _| owner != o);
            tries.entry(*o).or_default().0 = true;
        }
        let storage_nodes: BTreeMap<(u8, u8), Option<u8>> = w
            .storage_nodes
            .iter()
            .map(|(o, p, n)| ((*o, *p), *n))
            .collect();
        for ((o, p), node) in storage_nodes {
            let updates = &mut tries.entry(o).or_default().1;
            match node {
                Some(n) => {
                    self.storage_nodes.insert((o, p), n);
                    updates.written.push((path(p), Bytes::from(vec![n])));
                }
                None => {
                    self.storage_nodes.remove(&(o, p));
                    updates.removed.push(path(p));
                }
            }
        }
        for (o, (wiped, mut updates)) in tries {
            updates.written.sort_by_key(|(p, _)| *p);
            updates.removed.sort();
            diff.storage_tries.push((owner(o), wiped, updates));
        }
        diff
    }

    /// Checks that `reader` answers as this model.
    fn check(&self, reader: &StoreReader) {
        for a in 0..6u8 {
            let got = reader.account(&address(a)).unwrap().map(|r| r.balance);
            assert_eq!(
                got,
                self.accounts.get(&a).map(|b| U256::from(*b)),
                "account {a}"
            );
            for s in 0..6u8 {
                let got = reader.storage(&address(a), &U256::from(s)).unwrap();
                let want = self.slots.get(&(a, s)).copied().unwrap_or(0);
                assert_eq!(got, U256::from(want), "slot {a}/{s}");
            }
            let want: BTreeMap<B256, U256> = self
                .slots
                .iter()
                .filter(|((o, _), _)| *o == a)
                .map(|((_, s), v)| (keccak256(B256::from(U256::from(*s))), U256::from(*v)))
                .collect();
            assert_eq!(
                reader.hashed_storage(&address(a)).unwrap(),
                want.into_iter().collect::<Vec<_>>(),
                "slots of {a}"
            );
        }
        let want: BTreeMap<B256, U256> = self
            .accounts
            .iter()
            .map(|(a, b)| (keccak256(address(*a)), U256::from(*b)))
            .collect();
        let want: Vec<(B256, U256)> = want.into_iter().collect();
        let got: Vec<(B256, U256)> = reader
            .hashed_accounts(usize::MAX)
            .unwrap()
            .expect("all")
            .into_iter()
            .map(|(a, r)| (a, r.balance))
            .collect();
        assert_eq!(got, want, "accounts listing");
        if !want.is_empty() {
            assert!(reader.hashed_accounts(want.len() - 1).unwrap().is_none());
        }
        let nodes = reader.account_trie().unwrap();
        for p in 0..6u8 {
            let got = crate::trie::NodeSource::node(&nodes, &path(p)).unwrap();
            assert_eq!(
                got,
                self.nodes.get(&p).map(|n| Bytes::from(vec![*n])),
                "node {p}"
            );
        }
        for o in 0..6u8 {
            let nodes = reader.storage_trie(owner(o)).unwrap();
            for p in 0..6u8 {
                let got = crate::trie::NodeSource::node(&nodes, &path(p)).unwrap();
                let want = self
                    .storage_nodes
                    .get(&(o, p))
                    .map(|n| Bytes::from(vec![*n]));
                assert_eq!(got, want, "storage node {o}/{p}");
            }
        }
    }
}

/// A flush covers the blocks pending when it was asked for: blocks committed after it wait
/// for a full batch again. (A flush flag left set until the applier found the queue empty
/// made it write back to back after any flush, one block at a time if need be.)
#[test]
fn blocks_after_a_flush_wait_for_a_full_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mode = ApplyMode::Background {
        min_batch: 3,
        max_delay: Duration::from_secs(3600),
        max_pending: 16,
    };
    let store = Store::open_with_mode(&dir.path().join("chain.redb"), mode).unwrap();
    let commit = |number| {
        store
            .commit_block(
                &block(number),
                &EncodedBody::new(&[], &[]),
                StateDiff::default(),
            )
            .unwrap();
    };
    commit(0);
    store.flush().unwrap();
    assert_eq!(store.pending_blocks(), 0);
    let batches = store.applied_batches();
    // Nothing pending: the flush is over at once and leaves nothing behind.
    store.flush().unwrap();
    for number in 1..3 {
        commit(number);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            store.pending_blocks(),
            number as usize,
            "after block {number}"
        );
    }
    assert_eq!(store.applied_batches(), batches);
    commit(3);
    let started = std::time::Instant::now();
    while store.pending_blocks() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the batch never came"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(store.applied_batches(), batches + 1);
    // A flush with blocks pending writes them without a full batch.
    commit(4);
    store.flush().unwrap();
    assert_eq!(store.pending_blocks(), 0);
    commit(5);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(store.pending_blocks(), 1);
}

fn owner(i: u8) -> B256 {
    keccak256([i])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every reader answers as the model after its block: right after the commit (through the
    /// pending blocks), after the state file caught up, and still after later blocks, whatever
    /// the applier did meanwhile.
    #[test]
    fn readers_see_each_block_through_pending_writes(
        blocks in proptest::collection::vec(writes(), 1..12),
        min_batch in 1usize..4,
        inline in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mode = if inline {
            ApplyMode::Inline { every: min_batch + 1 }
        } else {
            ApplyMode::Background {
                min_batch,
                max_delay: Duration::from_millis(1),
                max_pending: 4,
            }
        };
        let store = Store::open_with_mode(&dir.path().join("chain.redb"), mode).unwrap();
        let mut model = Model::default();
        let mut snapshots = Vec::new();
        for (number, w) in blocks.iter().enumerate() {
            let diff = model.apply(w);
            store
                .commit_block(&block(number as u64), &EncodedBody::new(&[], &[]), diff)
                .unwrap();
            let reader = store.reader().unwrap();
            prop_assert_eq!(reader.head_number().unwrap(), Some(number as u64));
            model.check(&reader);
            snapshots.push((reader, model.clone()));
        }
        for (reader, model) in &snapshots {
            model.check(reader);
        }
        drop(snapshots);
        store.flush().unwrap();
        prop_assert_eq!(store.pending_blocks(), 0);
        model.check(&store.reader().unwrap());
    }
}

proptest! {
    /// A stored inbox append record round-trips; every cut or extended encoding is refused as
    /// corrupt; the opening of each of its blocks is the inbox's (`InputsProof`) for the record
    /// of those blocks, and no other block opens.
    #[test]
    fn stored_appends_round_trip_and_open_their_blocks(
        index: u64,
        l1_block: u64,
        first in 0u64..u64::MAX / 2,
        blocks in proptest::collection::vec(
            (any::<u64>(), any::<u64>(), any::<[u8; 32]>(), any::<u64>(), any::<[u8; 32]>(), any::<u32>()),
            1..6,
        ),
        cut in 1usize..100,
    ) {
        let append = StoredAppend {
            index,
            l1_block,
            blocks: blocks
                .iter()
                .enumerate()
                .map(|(i, (timestamp, epoch, hash, seq, root, count))| bridge::inbox::BlockInputs {
                    number: first + i as u64,
                    timestamp: *timestamp,
                    epoch: *epoch,
                    epoch_hash: B256::from(*hash),
                    sequence_number: *seq,
                    tx_root: B256::from(*root),
                    tx_count: *count,
                })
                .collect(),
        };
        let bytes = append.encode();
        prop_assert_eq!(StoredAppend::decode(&bytes).unwrap(), append.clone());
        prop_assert!(StoredAppend::decode(&bytes[..bytes.len().saturating_sub(cut)]).is_err());
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0u8, cut));
        prop_assert!(StoredAppend::decode(&longer).is_err());
        let leaves: Vec<B256> = append.blocks.iter().map(|b| b.commitment()).collect();
        let record = bridge::inbox::AppendRecord::new(first, l1_block, &leaves).commitment();
        for (i, b) in append.blocks.iter().enumerate() {
            let n = first + i as u64;
            prop_assert_eq!(append.inputs(n), Some(b));
            let opening = append.opening(n).unwrap();
            prop_assert_eq!(opening.index, index);
            prop_assert_eq!(opening.inputs, b.commitment());
            prop_assert_eq!(opening.opened_record(n), Some(record));
        }
        let after = first + append.blocks.len() as u64;
        prop_assert!(append.opening(after).is_none());
        prop_assert!(first == 0 || append.opening(first - 1).is_none());
    }
}

/// Origin headers more than [`ORIGIN_HEADERS_RETAINED`] L1 blocks behind the L1's finalized
/// block are dropped with the write that finalizes past them; the newer ones, the one at the
/// cutoff itself, and all of them while L1 reports no finalized block, stay readable.
#[test]
fn origin_headers_behind_the_finalized_l1_block_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let header = |n: u64| alloy::primitives::Bytes::from(vec![n as u8; 40]);
    let hash = |n: u64| B256::from(U256::from(n));
    let numbers = [10u64, 15, 20, 100_050];
    store
        .put_derivation(&DerivationUpdate {
            origin_headers: numbers.iter().map(|&n| (n, hash(n), header(n))).collect(),
            ..Default::default()
        })
        .unwrap();
    let kept = |store: &Store| -> Vec<u64> {
        let reader = store.reader().unwrap();
        numbers
            .iter()
            .copied()
            .filter(|&n| {
                let read = reader.origin_header(hash(n)).unwrap();
                assert!(read.as_deref().is_none_or(|h| h == &header(n)[..]));
                read.is_some()
            })
            .collect()
    };
    assert_eq!(kept(&store), numbers);
    store
        .put_derivation(&DerivationUpdate {
            l1_finalized: Some(ORIGIN_HEADERS_RETAINED + 15),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(kept(&store), [15, 20, 100_050]);
    assert_eq!(store.reader().unwrap().origin_header_count().unwrap(), 3);
    store
        .put_derivation(&DerivationUpdate {
            l1_finalized: Some(ORIGIN_HEADERS_RETAINED + 100_050),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(kept(&store), [100_050]);
    assert_eq!(store.reader().unwrap().origin_header_count().unwrap(), 1);
}

/// A recorded list reads back as written; an L1 reorg (`drop_from`) drops the lists of the
/// blocks the replaced L1 blocks recorded and keeps the older ones.
#[test]
fn recorded_lists_are_kept_and_dropped_with_their_l1_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let list = |number: u64, l1_block: u64| StoredRecordedList {
        number,
        l1_block,
        transactions: vec![
            alloy::primitives::Bytes::from(vec![2, number as u8]),
            alloy::primitives::Bytes::new(),
            alloy::primitives::Bytes::from(vec![0xff; 300]),
        ],
    };
    store
        .put_derivation(&DerivationUpdate {
            recorded_lists: vec![list(3, 7), list(9, 12)],
            ..Default::default()
        })
        .unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.recorded_list(3).unwrap(), Some(list(3, 7)));
    assert_eq!(reader.recorded_list(9).unwrap(), Some(list(9, 12)));
    assert_eq!(reader.recorded_list(4).unwrap(), None);
    drop(reader);
    store
        .put_derivation(&DerivationUpdate {
            drop_from: Some(12),
            ..Default::default()
        })
        .unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.recorded_list(3).unwrap(), Some(list(3, 7)));
    assert_eq!(reader.recorded_list(9).unwrap(), None);
}

proptest! {
    /// A recorded list's encoding decodes to itself, and every cut of it either decodes to
    /// a list of fewer transactions or is refused as corrupt (never a panic).
    #[test]
    fn recorded_list_encoding_roundtrips(
        l1_block in any::<u64>(),
        txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let list = StoredRecordedList {
            number: 5,
            l1_block,
            transactions: txs.into_iter().map(Into::into).collect(),
        };
        let bytes = list.encode();
        prop_assert_eq!(StoredRecordedList::decode(5, &bytes).unwrap(), list.clone());
        let cut = cut.index(bytes.len());
        match StoredRecordedList::decode(5, &bytes[..cut]) {
            Ok(short) => prop_assert!(cut >= 8 && short.transactions.len() <= list.transactions.len()),
            Err(StorageError::Corrupt { table, .. }) => prop_assert_eq!(table, "recorded_lists"),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

/// The state file of format 3 keeps trie nodes near the roots only; the tests below hold it to
/// tries kept wholly in memory.
mod shallow_tries {
    use super::*;
    use crate::trie::{NoNodes, NodeSource, SparseTrie, TrieError, proof_from_source};
    use alloy::rlp;

    /// Accounts by index (the addresses are `bench_address(i)`).
    fn bench_address(i: u16) -> Address {
        let mut bytes = [0u8; 20];
        bytes[..2].copy_from_slice(&i.to_be_bytes());
        bytes[19] = 0xa5;
        Address::from(bytes)
    }

    /// The accounts whose storage the tests write.
    const OWNERS: u16 = 3;

    /// One block: balances set (0 deletes the account) and slots of the owners set (0 clears).
    #[derive(Debug, Clone)]
    struct Block {
        accounts: Vec<(u16, u64)>,
        slots: Vec<(u16, u16, u64)>,
    }

    fn blocks(accounts: u16) -> impl Strategy<Value = Vec<Block>> {
        let account = (
            0..accounts,
            prop_oneof![1 => Just(0u64), 6 => 1u64..1_000_000],
        );
        let slot = (
            0..OWNERS,
            0u16..3_000,
            prop_oneof![1 => Just(0u64), 4 => 1u64..1_000],
        );
        proptest::collection::vec(
            (
                proptest::collection::vec(account, 0..400),
                proptest::collection::vec(slot, 0..300),
            )
                .prop_map(|(accounts, slots)| Block { accounts, slots }),
            1..6,
        )
    }

    /// The tries and flat state, in memory.
    struct Memory {
        accounts: SparseTrie,
        storage: BTreeMap<u16, SparseTrie>,
        records: BTreeMap<u16, AccountRecord>,
        slots: BTreeMap<(u16, u16), u64>,
    }

    impl Memory {
        fn new() -> Self {
            Self {
                accounts: SparseTrie::empty(),
                storage: BTreeMap::new(),
                records: BTreeMap::new(),
                slots: BTreeMap::new(),
            }
        }

        /// Applies `block` and returns the diff a store commits for it.
        fn apply(&mut self, block: &Block) -> StateDiff {
            let mut diff = StateDiff::default();
            let mut touched = std::collections::BTreeSet::new();
            for &(owner, slot, value) in &block.slots {
                let trie = self.storage.entry(owner).or_insert_with(SparseTrie::empty);
                let key = keccak256(B256::from(U256::from(slot)));
                if value == 0 {
                    trie.remove(&key, &NoNodes).unwrap();
                    self.slots.remove(&(owner, slot));
                } else {
                    trie.insert(&key, rlp::encode(U256::from(value)).into(), &NoNodes)
                        .unwrap();
                    self.slots.insert((owner, slot), value);
                }
                diff.storage.push(SlotWrite::new(
                    bench_address(owner),
                    U256::from(slot),
                    U256::from(value),
                ));
                touched.insert(owner);
            }
            let mut changed: BTreeMap<u16, Option<u64>> = block
                .accounts
                .iter()
                .map(|&(i, balance)| (i, (balance != 0 || i < OWNERS).then_some(balance)))
                .collect();
            for owner in &touched {
                changed.entry(*owner).or_insert_with(|| {
                    Some(self.records.get(owner).map_or(1, |r| r.balance.to::<u64>()))
                });
            }
            for owner in touched {
                let trie = self.storage.get_mut(&owner).expect("written");
                diff.storage_tries.push((
                    keccak256(bench_address(owner)),
                    false,
                    trie.take_updates(),
                ));
            }
            for (i, balance) in changed {
                let address = bench_address(i);
                let hashed = keccak256(address);
                match balance {
                    Some(balance) => {
                        let storage_root = self
                            .storage
                            .get_mut(&i)
                            .map_or(EMPTY_ROOT_HASH, |t| t.root());
                        let record = AccountRecord {
                            nonce: balance % 5,
                            balance: U256::from(balance),
                            code_hash: KECCAK256_EMPTY,
                            storage_root,
                        };
                        self.accounts
                            .insert(&hashed, rlp::encode(record.trie_account()).into(), &NoNodes)
                            .unwrap();
                        self.records.insert(i, record);
                        diff.accounts.push(AccountWrite::with_hashed(
                            address,
                            hashed,
                            Some(record),
                        ));
                    }
                    None => {
                        self.accounts.remove(&hashed, &NoNodes).unwrap();
                        self.records.remove(&i);
                        diff.accounts
                            .push(AccountWrite::with_hashed(address, hashed, None));
                    }
                }
            }
            diff.account_trie = self.accounts.take_updates();
            diff
        }

        /// A reader's tries give this state's roots, values and proofs.
        fn check(&mut self, reader: &StoreReader, accounts: u16) -> Result<(), TestCaseError> {
            let root = self.accounts.root();
            // From scratch: the records alone give the same root.
            let mut scratch = SparseTrie::empty();
            for (i, record) in &self.records {
                scratch
                    .insert(
                        &keccak256(bench_address(*i)),
                        rlp::encode(record.trie_account()).into(),
                        &NoNodes,
                    )
                    .unwrap();
            }
            prop_assert_eq!(scratch.root(), root);
            let nodes = reader.account_trie().unwrap();
            let mut loaded = SparseTrie::from_root(root);
            // Every account, present or not, and a few that never were.
            for i in 0..accounts + 4 {
                let address = bench_address(i);
                let hashed = keccak256(address);
                let want = self.accounts.get(&hashed, &NoNodes).unwrap();
                prop_assert_eq!(
                    &loaded.get(&hashed, &nodes).unwrap(),
                    &want,
                    "account {}",
                    i
                );
                prop_assert_eq!(
                    reader.account(&address).unwrap(),
                    self.records.get(&i).copied(),
                    "record {}",
                    i
                );
                prop_assert_eq!(
                    proof_from_source(root, &hashed, &nodes).unwrap(),
                    self.accounts.proof(&hashed, &NoNodes).unwrap(),
                    "proof of account {}",
                    i
                );
            }
            prop_assert_eq!(loaded.root(), root);
            for (owner, trie) in &mut self.storage {
                let root = trie.root();
                let nodes = reader
                    .storage_trie(keccak256(bench_address(*owner)))
                    .unwrap();
                let mut loaded = SparseTrie::from_root(root);
                for slot in (0u16..3_000).step_by(7) {
                    let key = keccak256(B256::from(U256::from(slot)));
                    let want = trie.get(&key, &NoNodes).unwrap();
                    prop_assert_eq!(&loaded.get(&key, &nodes).unwrap(), &want);
                    prop_assert_eq!(
                        reader
                            .storage(&bench_address(*owner), &U256::from(slot))
                            .unwrap(),
                        U256::from(self.slots.get(&(*owner, slot)).copied().unwrap_or(0))
                    );
                    prop_assert_eq!(
                        proof_from_source(root, &key, &nodes).unwrap(),
                        trie.proof(&key, &NoNodes).unwrap()
                    );
                }
                // The loaded trie takes a change as the in-memory one does.
                let key = keccak256(B256::from(U256::from(3_001u16)));
                let value: Bytes = rlp::encode(U256::from(9u8)).into();
                loaded.insert(&key, value.clone(), &nodes).unwrap();
                trie.insert(&key, value, &NoNodes).unwrap();
                prop_assert_eq!(loaded.root(), trie.root());
                trie.remove(&key, &NoNodes).unwrap();
            }
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Random accounts and storage in random blocks: through the pending blocks, once the
        /// state file holds them, and after reopening it, the tries loaded from the store (deep
        /// nodes rebuilt from the flat rows) give the in-memory tries' roots, values and proofs.
        #[test]
        fn tries_loaded_from_the_state_file_match_the_in_memory_ones(
            accounts in 200u16..5_000,
            genesis_slots in proptest::collection::vec(0u16..3_000, 0..2_000),
            blocks in blocks(5_000),
            min_batch in 1usize..4,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("chain.redb");
            let mode = ApplyMode::Background {
                min_batch,
                max_delay: Duration::from_millis(1),
                max_pending: 4,
            };
            let mut memory = Memory::new();
            let genesis = Block {
                accounts: (0..accounts).map(|i| (i, 1_000 + u64::from(i))).collect(),
                slots: genesis_slots.iter().map(|s| (s % OWNERS, *s, u64::from(*s) + 1)).collect(),
            };
            {
                let store = Store::open_with_mode(&path, mode).unwrap();
                let diff = memory.apply(&genesis);
                store.commit_block(&block(0), &EncodedBody::new(&[], &[]), diff).unwrap();
                for (number, b) in blocks.iter().enumerate() {
                    let b = Block {
                        accounts: b.accounts.iter().filter(|(i, _)| *i < accounts).copied().collect(),
                        slots: b.slots.clone(),
                    };
                    let diff = memory.apply(&b);
                    store
                        .commit_block(&block(number as u64 + 1), &EncodedBody::new(&[], &[]), diff)
                        .unwrap();
                    memory.check(&store.reader().unwrap(), accounts)?;
                }
                store.flush().unwrap();
                memory.check(&store.reader().unwrap(), accounts)?;
            }
            let store = Store::open_with_mode(&path, mode).unwrap();
            memory.check(&store.reader().unwrap(), accounts)?;
        }
    }

    /// A state file of format 2 is replaced at open by one of format 3 rebuilt from the chain
    /// file (every block replayed), which gives the same accounts and tries.
    #[test]
    fn a_format_2_state_file_is_rebuilt_from_the_chain_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.redb");
        let accounts = 500;
        let mut memory = Memory::new();
        {
            let store = Store::open_with_mode(&path, ApplyMode::Inline { every: 1 }).unwrap();
            for number in 0..3u64 {
                let b = Block {
                    accounts: (0..accounts)
                        .filter(|i| u64::from(*i) % 3 >= number)
                        .map(|i| (i, 1_000 * (number + 1) + u64::from(i)))
                        .collect(),
                    slots: (0..200).map(|s| (s % OWNERS, s * 7, number + 1)).collect(),
                };
                let diff = memory.apply(&b);
                let header = Header {
                    number,
                    state_root: memory.accounts.root(),
                    ..Default::default()
                };
                let sealed = SealedBlock {
                    hash: header.hash_slow(),
                    header,
                    txs: Vec::new(),
                    receipts: Vec::new(),
                };
                store
                    .commit_block(&sealed, &EncodedBody::new(&[], &[]), diff)
                    .unwrap();
            }
            store.flush().unwrap();
        }
        {
            let db = redb::Database::open(state_path(&path)).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(tables::STATE_META)
                .unwrap()
                .insert(tables::FORMAT_KEY, 2)
                .unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open_with_mode(&path, ApplyMode::Inline { every: 1 }).unwrap();
        memory.check(&store.reader().unwrap(), accounts).unwrap();
        drop(store);
        let db = redb::Database::open(state_path(&path)).unwrap();
        let read = db.begin_read().unwrap();
        let format = read
            .open_table(tables::STATE_META)
            .unwrap()
            .get(tables::FORMAT_KEY)
            .unwrap()
            .map(|v| v.value());
        assert_eq!(format, Some(STATE_FORMAT));
    }

    /// An account whose leaf the state file does not store (it is rebuilt from the flat rows),
    /// with the hashed key of its row.
    fn deep_account(accounts: u16) -> (u16, [u8; 32]) {
        let mut keys: Vec<(B256, u16)> = (0..accounts)
            .map(|i| (keccak256(bench_address(i)), i))
            .collect();
        keys.sort_unstable();
        let shared =
            |a: &B256, b: &B256| Nibbles::unpack(a).common_prefix_length(&Nibbles::unpack(b));
        // A leaf's path is one nibble longer than the prefix it shares with its nearest key.
        let (i, key) = (1..keys.len() - 1)
            .map(|i| {
                let depth =
                    1 + shared(&keys[i].0, &keys[i - 1].0).max(shared(&keys[i].0, &keys[i + 1].0));
                (depth, i)
            })
            .filter(|(depth, _)| *depth > crate::storage::STORED_TRIE_DEPTH)
            .map(|(_, i)| (keys[i].1, keys[i].0))
            .next()
            .expect("a deep leaf among a few thousand keys");
        (i, key.0)
    }

    /// A flat row changed, removed or added under a subtree the state file rebuilds makes
    /// loading that subtree fail with a hash mismatch: never a wrong value, root or a panic.
    #[test]
    fn a_bad_flat_row_under_a_rebuilt_subtree_is_a_hash_mismatch() {
        let accounts = 3_000;
        let (deep, key) = deep_account(accounts);
        let mut extra = key;
        extra[31] ^= 1;
        // (what, the row's key, its new value or none to remove it)
        let corruptions = [
            ("changed", key, Some(record(5).encode())),
            ("removed", key, None),
            ("added", extra, Some(record(6).encode())),
        ];
        for (what, row, value) in corruptions {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("chain.redb");
            let mut memory = Memory::new();
            let root = {
                let store = Store::open_with_mode(&path, ApplyMode::Inline { every: 1 }).unwrap();
                let genesis = Block {
                    accounts: (0..accounts).map(|i| (i, 1_000 + u64::from(i))).collect(),
                    slots: Vec::new(),
                };
                let diff = memory.apply(&genesis);
                store
                    .commit_block(&block(0), &EncodedBody::new(&[], &[]), diff)
                    .unwrap();
                store.flush().unwrap();
                memory.accounts.root()
            };
            {
                let db = redb::Database::open(state_path(&path)).unwrap();
                let tx = db.begin_write().unwrap();
                {
                    let mut table = tx.open_table(tables::ACCOUNTS).unwrap();
                    match &value {
                        Some(value) => {
                            table.insert(&row, value.as_slice()).unwrap();
                        }
                        None => {
                            table.remove(&row).unwrap();
                        }
                    }
                }
                tx.commit().unwrap();
            }
            let store = Store::open_with_mode(&path, ApplyMode::Inline { every: 1 }).unwrap();
            let reader = store.reader().unwrap();
            let nodes = reader.account_trie().unwrap();
            let hashed = keccak256(bench_address(deep));
            let mut loaded = SparseTrie::from_root(root);
            let err = loaded.get(&hashed, &nodes).unwrap_err();
            assert!(
                matches!(err, TrieError::HashMismatch { path, .. } if path.len() == crate::storage::STORED_TRIE_DEPTH),
                "{what}: {err}"
            );
            assert!(proof_from_source(root, &hashed, &nodes).is_err(), "{what}");
            // Nodes the state file stores still load.
            assert!(nodes.node(&Nibbles::new()).unwrap().is_some());
        }
    }
}

/// A state file of format 3 (one `tx_index` table keyed by hash) opens: its index becomes
/// format 4's runs, and every transaction is found where it was.
#[test]
fn a_format_3_state_file_is_converted_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = Store::open_with_mode(&path, ApplyMode::Inline { every: 1 }).unwrap();
        store
            .commit_block(&block(0), &EncodedBody::new(&[], &[]), StateDiff::default())
            .unwrap();
    }
    let hashes: Vec<B256> = (0u32..500).map(|i| keccak256(i.to_be_bytes())).collect();
    {
        // What main's build (format 3) leaves: the index table, no runs.
        let state = redb::Database::create(state_path(&path)).unwrap();
        let tx = state.begin_write().unwrap();
        {
            let mut index = tx.open_table(tables::TX_INDEX_V3).unwrap();
            for (i, hash) in hashes.iter().enumerate() {
                index.insert(&hash.0, (0u64, i as u32)).unwrap();
            }
        }
        tx.delete_table(tx_runs::TX_RUNS).unwrap();
        tx.delete_table(tx_runs::TX_RUN_SIZES).unwrap();
        tx.open_table(tables::STATE_META)
            .unwrap()
            .insert(tables::FORMAT_KEY, 3)
            .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let reader = store.reader().unwrap();
    for (i, hash) in hashes.iter().enumerate() {
        assert_eq!(
            reader.transaction_location(hash).unwrap(),
            Some((0, i as u32))
        );
    }
    assert_eq!(
        reader.transaction_location(&B256::repeat_byte(1)).unwrap(),
        None
    );
    drop((reader, store));
    let state = redb::Database::create(state_path(&path)).unwrap();
    let read = state.begin_read().unwrap();
    let format = read
        .open_table(tables::STATE_META)
        .unwrap()
        .get(tables::FORMAT_KEY)
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(format, STATE_FORMAT);
    assert!(read.open_table(tables::TX_INDEX_V3).is_err());
}
