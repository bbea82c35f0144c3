//! Tests against `alloy_trie`'s `HashBuilder` (an independent from-scratch root and proof
//! builder) and the ethereum/tests secure-trie vectors.

use super::*;
use alloy::primitives::hex;
use alloy::rlp::{Decodable, EMPTY_STRING_CODE};
use alloy_trie::HashBuilder;
use alloy_trie::nodes::{RlpNode, TrieNode};
use alloy_trie::proof::{ProofRetainer, verify_proof};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

/// Live keys and values: what the trie should hold.
type Model = BTreeMap<B256, Bytes>;
/// A node store keyed by path, as the node keeps it on disk.
type Store = BTreeMap<Nibbles, Bytes>;

impl NodeSource for Store {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(self.get(path).cloned())
    }
}

/// A store that counts reads.
struct Counting<'a>(&'a Store, Cell<usize>);

impl NodeSource for Counting<'_> {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        self.1.set(self.1.get() + 1);
        self.0.node(path)
    }
}

fn reference_root(model: &Model) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in model {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

/// `HashBuilder`'s proof for `key`, less the nodes embedded in their parent (which it retains
/// separately, while `eth_getProof` and `verify_proof` expect them inside the parent).
fn reference_proof(model: &Model, key: &B256) -> Vec<Bytes> {
    let target = Nibbles::unpack(key);
    let retainer = ProofRetainer::from_iter([target]);
    let mut builder = HashBuilder::default().with_proof_retainer(retainer);
    for (key, value) in model {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root();
    builder
        .take_proof_nodes()
        .matching_nodes_sorted(&target)
        .into_iter()
        .filter(|(path, node)| {
            (path.is_empty() && node[..] != [EMPTY_STRING_CODE]) || node.len() >= 32
        })
        .map(|(_, node)| node)
        .collect()
}

fn apply(store: &mut Store, updates: TrieUpdates) {
    let written: BTreeSet<_> = updates.written.iter().map(|(path, _)| *path).collect();
    assert!(
        updates.removed.iter().all(|path| !written.contains(path)),
        "written and removed overlap"
    );
    for path in &updates.removed {
        store.remove(path);
    }
    store.extend(updates.written);
}

/// The paths of all nodes reachable from `root` in `store`, checking each node against its
/// parent's reference (embedded nodes must be stored too, and equal what their parent embeds).
fn reachable(store: &Store, root: B256) -> BTreeSet<Nibbles> {
    let mut paths = BTreeSet::new();
    if root == EMPTY_ROOT_HASH {
        return paths;
    }
    let mut todo = vec![(Nibbles::new(), RlpNode::word_rlp(&root))];
    while let Some((path, reference)) = todo.pop() {
        let rlp = store
            .get(&path)
            .unwrap_or_else(|| panic!("no node stored at {path:?}"));
        if path.is_empty() {
            assert_eq!(keccak256(rlp), root, "root node");
        } else {
            assert_eq!(RlpNode::from_rlp(rlp), reference, "node at {path:?}");
        }
        assert!(paths.insert(path));
        match TrieNode::decode(&mut &rlp[..]).expect("stored node decodes") {
            TrieNode::Branch(branch) => {
                for (nibble, child) in branch.as_ref().children() {
                    if let Some(child) = child {
                        let mut child_path = path;
                        child_path.push(nibble);
                        todo.push((child_path, child.clone()));
                    }
                }
            }
            TrieNode::Extension(ext) => todo.push((path.join(&ext.key), ext.child)),
            TrieNode::Leaf(_) | TrieNode::EmptyRoot => {}
        }
    }
    paths
}

fn assert_store_exact(store: &Store, root: B256) {
    let stored: BTreeSet<Nibbles> = store.keys().copied().collect();
    assert_eq!(
        stored,
        reachable(store, root),
        "store holds exactly the reachable nodes"
    );
}

/// Applies one operation to the trie and the model: `Some(value)` sets, `None` removes.
fn apply_op(
    trie: &mut SparseTrie,
    model: &mut Model,
    src: &impl NodeSource,
    key: B256,
    value: Option<Bytes>,
) {
    assert_eq!(
        trie.get(&key, src).unwrap(),
        model.get(&key).cloned(),
        "get before change"
    );
    match value {
        Some(value) => {
            trie.insert(&key, value.clone(), src).unwrap();
            model.insert(key, value);
        }
        None => {
            trie.remove(&key, src).unwrap();
            model.remove(&key);
        }
    }
}

fn key(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

fn nibbles(hex: &str) -> Nibbles {
    Nibbles::from_nibbles(
        hex.bytes()
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect::<Vec<_>>(),
    )
}

#[test]
fn empty_trie() {
    let mut trie = SparseTrie::empty();
    assert_eq!(trie.root(), EMPTY_ROOT_HASH);
    assert_eq!(
        EMPTY_ROOT_HASH,
        B256::from(hex!(
            "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
        ))
    );
    assert_eq!(trie.get(&key(1), &NoNodes).unwrap(), None);
    let proof = trie.proof(&key(1), &NoNodes).unwrap();
    assert!(proof.is_empty());
    verify_proof(EMPTY_ROOT_HASH, Nibbles::unpack(key(1)), None, &proof).unwrap();
    assert!(trie.take_updates().is_empty());
    assert_eq!(
        SparseTrie::from_root(EMPTY_ROOT_HASH).root(),
        EMPTY_ROOT_HASH
    );
    assert!(
        proof_from_source(EMPTY_ROOT_HASH, &key(1), &NoNodes)
            .unwrap()
            .is_empty()
    );

    // Back to empty: the last leaf's path is removed.
    trie.insert(&key(1), Bytes::from_static(b"v"), &NoNodes)
        .unwrap();
    assert_eq!(trie.take_updates().written.len(), 1);
    trie.remove(&key(1), &NoNodes).unwrap();
    assert_eq!(trie.root(), EMPTY_ROOT_HASH);
    assert_eq!(
        trie.take_updates(),
        TrieUpdates {
            written: vec![],
            removed: vec![Nibbles::new()]
        }
    );
}

/// Secure-trie vectors from ethereum/tests `TrieTests`: each is lines of `key value` (`null`
/// removes; `0x` marks hex, anything else is ASCII) and the expected root. The trie key is the
/// keccak of the key; the value is stored as is.
const ORDERED_VECTORS: &[(&str, &str)] = &[
    // trietest_secureTrie.json "emptyValues"
    (
        "do verb\nether wookiedoo\nhorse stallion\nshaman horse\ndoge coin\nether null\n\
         dog puppy\nshaman null",
        "29b235a58c3c25ab83010c327d5932bcf05324b7d6b1185e650798034783ca9d",
    ),
    // trietest_secureTrie.json "jeff"
    (
        "0x0000000000000000000000000000000000000000000000000000000000000045 0x22b224a1420a802ab51d326e29fa98e34c4f24ea
         0x0000000000000000000000000000000000000000000000000000000000000046 0x67706c2076330000000000000000000000000000000000000000000000000000
         0x0000000000000000000000000000000000000000000000000000001234567890 0x697c7b8c961b56f675d570498424ac8de1a918f6
         0x000000000000000000000000697c7b8c961b56f675d570498424ac8de1a918f6 0x1234567890
         0x0000000000000000000000007ef9e639e2733cb34e4dfc576d4b23f72db776b2 0x4655474156000000000000000000000000000000000000000000000000000000
         0x000000000000000000000000ec4f34c97e43fbb2816cfd95e388353c7181dab1 0x4e616d6552656700000000000000000000000000000000000000000000000000
         0x4655474156000000000000000000000000000000000000000000000000000000 0x7ef9e639e2733cb34e4dfc576d4b23f72db776b2
         0x4e616d6552656700000000000000000000000000000000000000000000000000 0xec4f34c97e43fbb2816cfd95e388353c7181dab1
         0x0000000000000000000000000000000000000000000000000000001234567890 null
         0x000000000000000000000000697c7b8c961b56f675d570498424ac8de1a918f6 0x6f6f6f6820736f2067726561742c207265616c6c6c793f000000000000000000
         0x6f6f6f6820736f2067726561742c207265616c6c6c793f000000000000000000 0x697c7b8c961b56f675d570498424ac8de1a918f6",
        "72adb52e9d9428f808e3e8045be18d3baa77881d0cfab89a17a2bcbacee2f320",
    ),
];

/// As [`ORDERED_VECTORS`], from `trieanyorder_secureTrie.json` and
/// `hex_encoded_securetrie_test.json`: any insertion order gives the root.
const ANY_ORDER_VECTORS: &[(&str, &str)] = &[
    (
        "A aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "e9e2935138352776cad724d31c9fa5266a5c593bb97726dd2a908fe6d53284df",
    ),
    (
        "doe reindeer\ndog puppy\ndogglesworth cat",
        "d4cd937e4a4368d7931a9cf51686b7e10abb3dce38a39000fd7902a092b64585",
    ),
    (
        "do verb\nhorse stallion\ndoge coin\ndog puppy",
        "29b235a58c3c25ab83010c327d5932bcf05324b7d6b1185e650798034783ca9d",
    ),
    ("foo bar\nfood bass", "1385f23a33021025d9e87cca5c66c00de06178807b96a9acc92b7d651ccde842"),
    ("be e\ndog puppy\nbed d", "826a4f9f9054a3e980e54b20da992c24fa20467f1ca635115ef4917be66e746f"),
    ("test test\nte testy", "aea54fb6c80499674248a462864c420c9d9f3b3d38c879c12425bade1ad76552"),
    (
        "0x0045 0x0123456789\n0x4500 0x9876543210",
        "bc11c02c8ab456db0c4d2728b6a2a6210d06f26a2ace4f7d8bdfc72ddf2630ab",
    ),
    // hex_encoded_securetrie_test.json "test1": accounts
    (
        "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b 0xf848018405f446a7a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
         0x095e7baea6a6c7c4c2dfeb977efac326af552d87 0xf8440101a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a004bccc5d94f4d1f99aab44369a910179931772f2a5c001c3229f57831c102769
         0xd2571607e241ecf590ed94b12d87c94babe36db6 0xf8440180a0ba4b47865c55a341a4a78759bb913cd15c3ee8eaf30a62fa8d1c8863113d84e8a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
         0x62c01474f089b07dae603491675dc5b5748f7049 0xf8448080a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
         0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba 0xf8478083019a59a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        "730a444e08ab4b8dee147c9b232fc52d34a223d600031c1e9d25bfc985cbd797",
    ),
];

/// Parses a vector's lines into trie keys and values (`None`: remove).
fn vector_ops(text: &str) -> Vec<(B256, Option<Bytes>)> {
    let bytes = |s: &str| match s.strip_prefix("0x") {
        Some(h) => Bytes::from(hex::decode(h).unwrap()),
        None => Bytes::copy_from_slice(s.as_bytes()),
    };
    text.lines()
        .map(|line| {
            let (key, value) = line.trim().split_once(' ').unwrap();
            (
                keccak256(bytes(key)),
                (value != "null").then(|| bytes(value)),
            )
        })
        .collect()
}

fn vector_root(ops: impl IntoIterator<Item = (B256, Option<Bytes>)>) -> B256 {
    let mut trie = SparseTrie::empty();
    for (key, value) in ops {
        match value {
            Some(value) => trie.insert(&key, value, &NoNodes).unwrap(),
            None => trie.remove(&key, &NoNodes).unwrap(),
        }
    }
    trie.root()
}

#[test]
fn ethereum_secure_trie_vectors() {
    for (text, root) in ORDERED_VECTORS {
        let root: B256 = root.parse().unwrap();
        assert_eq!(vector_root(vector_ops(text)), root, "{text}");
    }
    for (text, root) in ANY_ORDER_VECTORS {
        let root: B256 = root.parse().unwrap();
        let ops = vector_ops(text);
        assert_eq!(vector_root(ops.clone()), root, "{text}");
        assert_eq!(vector_root(ops.into_iter().rev()), root, "{text} reversed");
    }
}

/// Two leaves under a root branch; removing one moves the other up to the root's path, so both
/// leaf paths must be reported removed.
#[test]
fn collapse_reports_the_paths_nodes_leave() {
    let a = B256::repeat_byte(0x11);
    let b = B256::repeat_byte(0x22);
    let mut trie = SparseTrie::empty();
    trie.insert(&a, Bytes::from(vec![1; 40]), &NoNodes).unwrap();
    trie.insert(&b, Bytes::from(vec![2; 40]), &NoNodes).unwrap();
    let updates = trie.take_updates();
    let paths: Vec<_> = updates.written.iter().map(|(path, _)| *path).collect();
    assert_eq!(paths, [nibbles(""), nibbles("1"), nibbles("2")]);
    assert!(updates.removed.is_empty());

    trie.remove(&b, &NoNodes).unwrap();
    let updates = trie.take_updates();
    let paths: Vec<_> = updates.written.iter().map(|(path, _)| *path).collect();
    assert_eq!(paths, [nibbles("")]);
    assert_eq!(updates.removed, [nibbles("1"), nibbles("2")]);
    assert_eq!(
        trie.root(),
        reference_root(&Model::from([(a, Bytes::from(vec![1; 40]))]))
    );
}

/// Changing one key in a large trie writes exactly the nodes on its path, and nothing when the
/// value does not change or an absent key is removed.
#[test]
fn only_the_touched_path_is_rehashed() {
    let mut trie = SparseTrie::empty();
    for i in 0..2000 {
        trie.insert(&key(i), Bytes::from(vec![7; 70]), &NoNodes)
            .unwrap();
    }
    let root = trie.root();
    trie.take_updates();

    trie.insert(&key(5), Bytes::from(vec![7; 70]), &NoNodes)
        .unwrap();
    trie.remove(&key(5000), &NoNodes).unwrap();
    assert_eq!(trie.root(), root);
    assert!(trie.take_updates().is_empty());

    trie.insert(&key(5), Bytes::from(vec![8; 70]), &NoNodes)
        .unwrap();
    let updates = trie.take_updates();
    let target = Nibbles::unpack(key(5));
    assert!(updates.removed.is_empty());
    assert!(
        updates
            .written
            .iter()
            .all(|(path, _)| target.starts_with(path))
    );
    let proof = trie.proof(&key(5), &NoNodes).unwrap();
    let written: Vec<_> = updates.written.into_iter().map(|(_, rlp)| rlp).collect();
    assert_eq!(written, proof, "the rewritten nodes are the key's path");
}

/// Batches large enough that the root's children are hashed on two threads, with removals
/// that collapse branches, give the reference root and a store of exactly the reachable nodes,
/// also when the trie is reopened from that store between batches.
#[test]
fn split_hashing_matches_the_reference_and_the_store() {
    let mut model = Model::new();
    let mut store = Store::new();
    let mut trie = SparseTrie::empty();
    for batch in 0u64..6 {
        for i in 0..300 {
            let k = key((batch * 7919 + i * 13) % 700);
            let value =
                (i % 5 != 0).then(|| Bytes::from(vec![batch as u8 + 1; 1 + i as usize % 40]));
            apply_op(&mut trie, &mut model, &store, k, value);
        }
        let root = trie.root();
        assert_eq!(root, reference_root(&model), "batch {batch}");
        apply(&mut store, trie.take_updates());
        assert_store_exact(&store, root);
        if batch % 2 == 1 {
            trie = SparseTrie::from_root(root);
        }
    }
}

/// A reopened trie reads only the nodes on the path it walks.
#[test]
fn reopened_trie_loads_lazily() {
    let mut trie = SparseTrie::empty();
    let mut model = Model::new();
    for i in 0..500 {
        let value = Bytes::from(vec![i as u8; 1 + i as usize % 50]);
        trie.insert(&key(i), value.clone(), &NoNodes).unwrap();
        model.insert(key(i), value);
    }
    let root = trie.root();
    let mut store = Store::new();
    apply(&mut store, trie.take_updates());
    assert_store_exact(&store, root);

    let counting = Counting(&store, Cell::new(0));
    let mut reopened = SparseTrie::from_root(root);
    assert_eq!(
        reopened.get(&key(42), &counting).unwrap(),
        model.get(&key(42)).cloned()
    );
    let path_len = trie.proof(&key(42), &NoNodes).unwrap().len();
    assert_eq!(counting.1.get(), path_len);
    // A second read of the same key is served from memory.
    reopened.get(&key(42), &counting).unwrap();
    assert_eq!(counting.1.get(), path_len);
    assert_eq!(reopened.root(), root);
    assert!(reopened.take_updates().is_empty());
}

#[test]
fn storage_errors_are_reported_and_leave_the_trie_intact() {
    let (a, b, c) = (key(1), key(2), key(3));
    let mut trie = SparseTrie::empty();
    for k in [a, b, c] {
        trie.insert(&k, Bytes::from(vec![9; 60]), &NoNodes).unwrap();
    }
    let root = trie.root();
    let mut store = Store::new();
    apply(&mut store, trie.take_updates());

    assert!(matches!(
        SparseTrie::empty().insert(&a, Bytes::new(), &NoNodes),
        Err(TrieError::EmptyValue)
    ));
    assert!(matches!(
        SparseTrie::from_root(root).get(&a, &NoNodes),
        Err(TrieError::MissingNode { path }) if path.is_empty()
    ));

    // A tampered node is caught by its hash.
    let a_path = *store
        .keys()
        .find(|path| Nibbles::unpack(a).starts_with(path) && !path.is_empty())
        .unwrap();
    let mut tampered = store.clone();
    let mut bad = tampered[&a_path].to_vec();
    *bad.last_mut().unwrap() ^= 1;
    tampered.insert(a_path, bad.into());
    assert!(matches!(
        SparseTrie::from_root(root).get(&a, &tampered),
        Err(TrieError::HashMismatch { path, .. }) if path == a_path
    ));
    assert!(matches!(
        proof_from_source(root, &a, &tampered),
        Err(TrieError::HashMismatch { .. })
    ));

    // Removing a key whose branch collapses needs its sibling; without it the removal fails
    // before changing anything.
    let mut two = SparseTrie::empty();
    two.insert(&a, Bytes::from(vec![1; 60]), &NoNodes).unwrap();
    two.insert(&b, Bytes::from(vec![2; 60]), &NoNodes).unwrap();
    let two_root = two.root();
    let mut two_store = Store::new();
    apply(&mut two_store, two.take_updates());
    let mut partial = two_store.clone();
    let b_path = *partial
        .keys()
        .find(|path| Nibbles::unpack(b).starts_with(path) && !path.is_empty())
        .unwrap();
    partial.remove(&b_path);
    let mut reopened = SparseTrie::from_root(two_root);
    assert!(
        matches!(reopened.remove(&a, &partial), Err(TrieError::MissingNode { path }) if path == b_path)
    );
    assert_eq!(reopened.root(), two_root);
    reopened.remove(&a, &two_store).unwrap();
    assert_eq!(
        reopened.root(),
        reference_root(&Model::from([(b, Bytes::from(vec![2; 60]))]))
    );
}

/// Keys that are mostly random, or share all but a few nibbles (long extensions, deep branches
/// and, with short values, nodes embedded in their parent).
fn arb_key() -> impl Strategy<Value = B256> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(B256::from),
        (0u8..2, 0u8..3, 0u8..2, 0u8..4).prop_map(|(a, b, c, d)| {
            let mut key = [0u8; 32];
            key[0] = a << 4;
            key[16] = b;
            key[31] = (c << 4) | d;
            B256::from(key)
        }),
    ]
}

/// Values from 1 byte (tiny leaves) to past the 32-byte embedding limit.
fn arb_value() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 1..48).prop_map(Bytes::from)
}

/// Operations on keys picked from a pool: `Some(value)` sets, `None` removes.
fn arb_batches() -> impl Strategy<Value = Vec<Vec<(Index, Option<Bytes>)>>> {
    vec(
        vec(
            (any::<Index>(), proptest::option::weighted(0.7, arb_value())),
            0..24,
        ),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn root_matches_hash_builder(pool in vec(arb_key(), 1..24), batches in arb_batches()) {
        let mut trie = SparseTrie::empty();
        let mut model = Model::new();
        for batch in batches {
            for (index, value) in batch {
                apply_op(&mut trie, &mut model, &NoNodes, *index.get(&pool), value);
            }
            prop_assert_eq!(trie.root(), reference_root(&model));
            for key in &pool {
                prop_assert_eq!(trie.get(key, &NoNodes).unwrap(), model.get(key).cloned());
            }
        }
    }

    #[test]
    fn persisted_trie_reloads_and_continues(
        pool in vec(arb_key(), 1..24),
        first in arb_batches(),
        second in arb_batches(),
    ) {
        let mut trie = SparseTrie::empty();
        let mut model = Model::new();
        let mut store = Store::new();
        for batch in first {
            for (index, value) in batch {
                apply_op(&mut trie, &mut model, &NoNodes, *index.get(&pool), value);
            }
            let root = trie.root();
            apply(&mut store, trie.take_updates());
            assert_store_exact(&store, root);
        }
        // Continue on tries reopened from the store, sometimes keeping one across batches.
        let mut trie = SparseTrie::from_root(trie.root());
        for (i, batch) in second.into_iter().enumerate() {
            if i % 2 == 1 {
                trie = SparseTrie::from_root(trie.root());
            }
            for (index, value) in batch {
                apply_op(&mut trie, &mut model, &store, *index.get(&pool), value);
            }
            let root = trie.root();
            prop_assert_eq!(root, reference_root(&model));
            apply(&mut store, trie.take_updates());
            assert_store_exact(&store, root);
            let mut fresh = SparseTrie::from_root(root);
            for key in &pool {
                prop_assert_eq!(fresh.get(key, &store).unwrap(), model.get(key).cloned());
            }
        }
    }

    #[test]
    fn proofs_verify_and_match_hash_builder(
        pool in vec(arb_key(), 1..24),
        batches in arb_batches(),
        absent in arb_key(),
    ) {
        let mut trie = SparseTrie::empty();
        let mut model = Model::new();
        for (index, value) in batches.into_iter().flatten() {
            apply_op(&mut trie, &mut model, &NoNodes, *index.get(&pool), value);
        }
        let root = trie.root();
        let mut store = Store::new();
        apply(&mut store, trie.take_updates());
        let mut reopened = SparseTrie::from_root(root);
        for key in pool.iter().chain([&absent]) {
            let value = model.get(key);
            let proof = trie.proof(key, &NoNodes).unwrap();
            let path = Nibbles::unpack(key);
            prop_assert!(verify_proof(root, path, value.map(|v| v.to_vec()), &proof).is_ok());
            // The proof pins the value: a different one is rejected.
            let other = Some(vec![0xff; 50]);
            prop_assert!(verify_proof(root, path, other, &proof).is_err());
            prop_assert_eq!(&proof, &reference_proof(&model, key));
            prop_assert_eq!(&proof, &proof_from_source(root, key, &store).unwrap());
            prop_assert_eq!(&proof, &reopened.proof(key, &store).unwrap());
        }
        prop_assert!(reopened.take_updates().is_empty());
    }

    /// A batch applied on two threads (forced even for small batches) gives the same root and,
    /// once its updates are written, the same stored trie as its operations applied one at a
    /// time, on tries loaded lazily from a store and with removals that collapse the root.
    #[test]
    fn batches_on_two_threads_match_one_at_a_time(
        pool in vec(arb_key(), 1..24),
        first in arb_batches(),
        second in arb_batches(),
    ) {
        let mut trie = SparseTrie::empty();
        let mut model = Model::new();
        for (index, value) in first.into_iter().flatten() {
            apply_op(&mut trie, &mut model, &NoNodes, *index.get(&pool), value);
        }
        let mut root = trie.root();
        let mut store = Store::new();
        apply(&mut store, trie.take_updates());
        for (i, batch) in second.into_iter().enumerate() {
            // Distinct keys, the last operation on a key winning.
            let ops: BTreeMap<B256, Option<Bytes>> =
                batch.into_iter().map(|(index, value)| (*index.get(&pool), value)).collect();
            let mut one_at_a_time = SparseTrie::from_root(root);
            let mut batched = SparseTrie::from_root(root);
            if i % 2 == 1 {
                // Also from tries that hold every node already.
                one_at_a_time.root();
                for key in &pool {
                    one_at_a_time.get(key, &store).unwrap();
                    batched.get(key, &store).unwrap();
                }
            }
            for (key, value) in &ops {
                apply_op(&mut one_at_a_time, &mut model, &store, *key, value.clone());
            }
            let mut ops: Vec<_> = ops.into_iter().collect();
            batched.apply_batch_with(&mut ops, &store, 1).unwrap();
            root = batched.root();
            prop_assert_eq!(root, one_at_a_time.root());
            prop_assert_eq!(root, reference_root(&model));
            // One at a time may rewrite a node unchanged (a removal that collapses the root
            // before an insertion that splits it again), so the stores are compared, not the
            // updates.
            let mut expected = store.clone();
            apply(&mut expected, one_at_a_time.take_updates());
            apply(&mut store, batched.take_updates());
            prop_assert_eq!(&store, &expected);
            assert_store_exact(&store, root);
        }
    }

    /// One trie kept in memory across many batches (as the engine keeps the state trie across
    /// blocks), half the time reopened from the store first: branches keep their children's
    /// hashes between encodings, so a child changed without its parent noticing would leave a
    /// stale hash in the root. Every batch's root must equal a from-scratch computation, and its
    /// updates must leave the store exact. The pool is large enough for branches of branches.
    #[test]
    fn a_long_lived_trie_keeps_child_hashes_right(
        pool in vec(arb_key(), 1..300),
        batches in vec(
            vec(
                (any::<Index>(), proptest::option::weighted(0.6, arb_value())),
                0..80,
            ),
            1..8,
        ),
        reopen in any::<bool>(),
        single in any::<bool>(),
    ) {
        let mut model = Model::new();
        let mut store = Store::new();
        let mut trie = SparseTrie::empty();
        // Start from every pool key set, so that later batches change a trie with deep branches.
        let mut seed: Vec<_> = pool.iter().map(|k| (*k, Some(Bytes::from(k.to_vec())))).collect();
        seed.sort();
        seed.dedup_by_key(|op| op.0);
        for (key, value) in &seed {
            model.insert(*key, value.clone().unwrap());
        }
        trie.apply_batch_with(&mut seed, &NoNodes, 1).unwrap();
        let mut root = trie.root();
        apply(&mut store, trie.take_updates());
        if reopen {
            trie = SparseTrie::from_root(root);
        }
        for batch in batches {
            let ops: BTreeMap<B256, Option<Bytes>> =
                batch.into_iter().map(|(index, value)| (*index.get(&pool), value)).collect();
            if single {
                for (key, value) in ops {
                    apply_op(&mut trie, &mut model, &store, key, value);
                }
            } else {
                for (key, value) in &ops {
                    match value {
                        Some(value) => model.insert(*key, value.clone()),
                        None => model.remove(key),
                    };
                }
                let mut ops: Vec<_> = ops.into_iter().collect();
                trie.apply_batch_with(&mut ops, &store, 1).unwrap();
            }
            root = trie.root();
            prop_assert_eq!(root, reference_root(&model));
            apply(&mut store, trie.take_updates());
            assert_store_exact(&store, root);
        }
    }
}

/// CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> std::time::Duration {
    crate::thread_cpu::thread_cpu().expect("clock_gettime(CLOCK_THREAD_CPUTIME_ID)")
}

/// The state root's trie work at issue 8's scale, on one thread: 1M keys in memory, then
/// batches of 4,000 changed values (a block of 2,000 transfers), each applied, hashed and its
/// updates taken. The batches' keys and values are made before the clock starts, so the
/// figure is the trie's alone. Prints the CPU time per batch. Run with
/// `cargo test --release -p op-node --lib trie::tests::batches_at_1m_keys -- --ignored --nocapture`;
/// `TRIE_BENCH_BATCHES` sets the number of batches (40), and the line "timing" on stderr marks
/// where the timed part starts, for a profiler to attach there.
#[test]
#[ignore = "a benchmark: about a minute"]
fn batches_at_1m_keys() {
    const KEYS: u64 = 1_000_000;
    const BATCH: u64 = 4_000;
    let batches: u64 = std::env::var("TRIE_BENCH_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let value = |i: u64, round: u64| {
        Bytes::from(keccak256([i.to_be_bytes(), round.to_be_bytes()].concat()).repeat(2))
    };
    let mut trie = SparseTrie::empty();
    let mut ops: Vec<_> = (0..KEYS).map(|i| (key(i), Some(value(i, 0)))).collect();
    trie.apply_batch(&mut ops, &NoNodes).unwrap();
    drop(ops);
    trie.take_updates();
    let rounds: Vec<Vec<_>> = (1..=batches)
        .map(|round| {
            let mut ops: Vec<_> = (0..BATCH)
                .map(|j| {
                    let pick = keccak256((round * BATCH + j).to_be_bytes());
                    let i = u64::from_be_bytes(pick[..8].try_into().unwrap()) % KEYS;
                    (key(i), Some(value(i, round)))
                })
                .collect();
            ops.sort_by_key(|op| op.0);
            ops.dedup_by_key(|op| op.0);
            ops
        })
        .collect();
    eprintln!("timing");
    let started_cpu = thread_cpu();
    let started = std::time::Instant::now();
    let mut written = 0;
    for mut ops in rounds {
        trie.apply_batch_with(&mut ops, &NoNodes, usize::MAX)
            .unwrap();
        trie.root();
        written += trie.take_updates().written.len();
    }
    let cpu = thread_cpu() - started_cpu;
    let wall = started.elapsed();
    println!(
        "batches_at_1m_keys: {batches} batches of {BATCH}: cpu {:.2} ms per batch, wall {:.2} ms, {} nodes written per batch",
        cpu.as_secs_f64() * 1e3 / batches as f64,
        wall.as_secs_f64() * 1e3 / batches as f64,
        written as u64 / batches,
    );
}
