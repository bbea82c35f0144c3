//! Merkle-Patricia trie writes with witnesses (SPEC.md §3.10): insert, update and delete of one
//! key, verified against a root and producing the new root, as the block end steps fold the
//! world overlay into the state trie and build the transactions and receipts tries.
//!
//! A write's witness is the key's path (the RLP nodes from the root down, as an `eth_getProof`
//! proof of presence or absence holds them) and, for a deletion that leaves a branch with one
//! child referenced by hash, that child's node (the *sibling* the branch collapses onto). The
//! verifier ([`write`]) walks the path, replaces the subtree at its end and rebuilds the path
//! upwards in the canonical form (a branch with one child becomes a leaf or an extension, an
//! extension over a leaf or an extension merges with it), hashing every node of 32 bytes or more
//! and embedding shorter ones, exactly as Ethereum's tries do. [`NodeStore`] is the prover side:
//! it holds nodes by hash and assembles the witnesses.

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::rlp::Decodable;
use alloy_trie::nodes::{BranchNode, ExtensionNode, LeafNode, RlpNode, TrieNode};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieMask};
use std::collections::HashMap;
use thiserror::Error;

/// The witness of one write: the path of the key and the node a deletion collapses onto.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrieWrite {
    /// RLP nodes referenced by hash along the key's path, from the root down.
    pub nodes: Vec<Bytes>,
    /// The node of the one child a deletion leaves in a branch, when that child is referenced by
    /// hash; absent otherwise.
    pub sibling: Option<Bytes>,
}

/// Why a write witness does not show the key's path, or is not exact.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TrieError {
    /// A node does not hash to the reference that leads to it, or the path is cut short.
    #[error("trie node does not match its reference")]
    BadNode,
    /// A node does not decode as a trie node, or is not canonical (a branch value, an empty key).
    #[error("malformed trie node")]
    Malformed,
    /// Nodes remain after the path ended.
    #[error("unused trie nodes")]
    UnusedNodes,
    /// The deletion collapses a branch onto a child referenced by this hash and the witness lacks
    /// its node.
    #[error("missing the sibling node {0}")]
    MissingSibling(B256),
    /// A sibling was given but the write collapses no branch onto a hashed child, or it does not
    /// hash to the child's reference.
    #[error("sibling node not used or not the collapsed child")]
    BadSibling,
    /// The key ends inside the trie (at a branch): a prefix of another key.
    #[error("key is a prefix of another key")]
    PrefixKey,
}

/// A node on the walked path.
enum Frame {
    /// A branch, entered at `nibble`.
    Branch(BranchNode, u8),
    /// An extension whose key the path follows.
    Extension(Nibbles),
}

/// Where the walk stopped.
enum End {
    /// The trie is empty; the whole key is left.
    Empty(Nibbles),
    /// A leaf; `rest` is the key from it on.
    Leaf(LeafNode, Nibbles),
    /// An extension the key leaves; `rest` is the key from it on.
    Diverged(ExtensionNode, Nibbles),
    /// The last frame is a branch without a child at the key's nibble; `rest` is the key after
    /// that nibble.
    Gap(Nibbles),
}

/// The result of walking a key's path: frames from the root down, where it stopped, the value
/// found.
struct Walk {
    frames: Vec<Frame>,
    end: End,
}

fn decode(bytes: &[u8]) -> Result<TrieNode, TrieError> {
    let mut buf = bytes;
    let node = TrieNode::decode(&mut buf).map_err(|_| TrieError::Malformed)?;
    if !buf.is_empty() {
        return Err(TrieError::Malformed);
    }
    Ok(node)
}

/// Walks `key` from `root` through `nodes` (each referenced by hash from the node above or the
/// root), requiring every node to be used.
fn walk(root: B256, key: &Nibbles, nodes: &[Bytes]) -> Result<Walk, TrieError> {
    let mut frames = Vec::new();
    if root == EMPTY_ROOT_HASH {
        if !nodes.is_empty() {
            return Err(TrieError::UnusedNodes);
        }
        return Ok(Walk {
            frames,
            end: End::Empty(*key),
        });
    }
    let mut next = nodes.iter();
    let mut take = |hash: B256| -> Result<TrieNode, TrieError> {
        let bytes = next.next().ok_or(TrieError::BadNode)?;
        if keccak256(bytes) != hash {
            return Err(TrieError::BadNode);
        }
        decode(bytes)
    };
    let mut node = take(root)?;
    let mut pos = 0usize;
    let end = loop {
        let child = match node {
            // An empty string is a node only as the root of an empty trie, which has its own
            // root hash.
            TrieNode::EmptyRoot => return Err(TrieError::Malformed),
            TrieNode::Leaf(leaf) => break End::Leaf(leaf, key.slice(pos..)),
            TrieNode::Extension(ext) => {
                let rest = key.slice(pos..);
                if ext.key.is_empty() {
                    return Err(TrieError::Malformed);
                }
                if !rest.starts_with(&ext.key) {
                    break End::Diverged(ext, rest);
                }
                pos += ext.key.len();
                let child = ext.child;
                frames.push(Frame::Extension(ext.key));
                child
            }
            TrieNode::Branch(branch) => {
                let nibble = key.get(pos).ok_or(TrieError::PrefixKey)?;
                pos += 1;
                let mask = branch.state_mask;
                if !mask.is_bit_set(nibble) {
                    frames.push(Frame::Branch(branch, nibble));
                    break End::Gap(key.slice(pos..));
                }
                let index = (mask.get() & ((1u16 << nibble) - 1)).count_ones() as usize;
                let child = branch
                    .stack
                    .get(index)
                    .cloned()
                    .ok_or(TrieError::Malformed)?;
                frames.push(Frame::Branch(branch, nibble));
                child
            }
        };
        node = match child.as_hash() {
            Some(hash) => take(hash)?,
            None => decode(child.as_ref())?,
        };
    };
    if next.next().is_some() {
        return Err(TrieError::UnusedNodes);
    }
    Ok(Walk { frames, end })
}

/// The value at `key` in the trie with root `root`, shown by `nodes` (its path).
pub fn get(root: B256, key: &Nibbles, nodes: &[Bytes]) -> Result<Option<Vec<u8>>, TrieError> {
    Ok(match walk(root, key, nodes)?.end {
        End::Leaf(leaf, rest) if leaf.key == rest => Some(leaf.value),
        _ => None,
    })
}

/// Encodes `node` as a child reference, recording it in `created` when it is referenced by hash.
fn reference(node: &TrieNode, created: &mut Vec<Bytes>) -> RlpNode {
    let mut buf = Vec::new();
    let r = node.rlp(&mut buf);
    if r.is_hash() {
        created.push(buf.into());
    }
    r
}

/// The branch of exactly two children `(nibble, node)`.
fn branch_of_two(a: (u8, RlpNode), b: (u8, RlpNode)) -> TrieNode {
    let (first, second) = if a.0 < b.0 { (a, b) } else { (b, a) };
    let mut mask = TrieMask::default();
    mask.set_bit(first.0);
    mask.set_bit(second.0);
    TrieNode::Branch(BranchNode::new(vec![first.1, second.1], mask))
}

/// `prefix` in front of `node`: a leaf or an extension absorbs it, a branch gets an extension.
fn prefixed(prefix: Nibbles, node: TrieNode, created: &mut Vec<Bytes>) -> TrieNode {
    if prefix.is_empty() {
        return node;
    }
    match node {
        TrieNode::Leaf(leaf) => TrieNode::Leaf(LeafNode::new(prefix.join(&leaf.key), leaf.value)),
        TrieNode::Extension(ext) => {
            TrieNode::Extension(ExtensionNode::new(prefix.join(&ext.key), ext.child))
        }
        branch => TrieNode::Extension(ExtensionNode::new(prefix, reference(&branch, created))),
    }
}

/// Whether the walk ended at the key's leaf.
fn found(end: &End) -> bool {
    matches!(end, End::Leaf(leaf, rest) if leaf.key == *rest)
}

/// The nibble at `i` of `key`, or `PrefixKey` when `key` ends there (one key is a prefix of
/// another, which the tries this module writes never hold).
fn nibble(key: &Nibbles, i: usize) -> Result<u8, TrieError> {
    key.get(i).ok_or(TrieError::PrefixKey)
}

/// The new subtree at the end of the walk, for a write of `value` (present, or a deletion of a
/// present key).
fn replace_end(
    end: End,
    value: Option<&[u8]>,
    created: &mut Vec<Bytes>,
) -> Result<Option<TrieNode>, TrieError> {
    let Some(v) = value else {
        // Only the key's own leaf is deleted (an absent key was handled before).
        return Ok(None);
    };
    Ok(Some(match end {
        End::Empty(rest) | End::Gap(rest) => TrieNode::Leaf(LeafNode::new(rest, v.to_vec())),
        End::Leaf(leaf, rest) if leaf.key == rest => {
            TrieNode::Leaf(LeafNode::new(rest, v.to_vec()))
        }
        End::Leaf(leaf, rest) => {
            // Split: a branch under the common prefix holding both leaves.
            let common = leaf.key.common_prefix_length(&rest);
            let (old_at, new_at) = (nibble(&leaf.key, common)?, nibble(&rest, common)?);
            let old = TrieNode::Leaf(LeafNode::new(leaf.key.slice(common + 1..), leaf.value));
            let new = TrieNode::Leaf(LeafNode::new(rest.slice(common + 1..), v.to_vec()));
            let branch = branch_of_two(
                (old_at, reference(&old, created)),
                (new_at, reference(&new, created)),
            );
            prefixed(leaf.key.slice(..common), branch, created)
        }
        End::Diverged(ext, rest) => {
            let common = ext.key.common_prefix_length(&rest);
            let (old_at, new_at) = (nibble(&ext.key, common)?, nibble(&rest, common)?);
            let old = if ext.key.len() == common + 1 {
                ext.child
            } else {
                reference(
                    &TrieNode::Extension(ExtensionNode::new(
                        ext.key.slice(common + 1..),
                        ext.child,
                    )),
                    created,
                )
            };
            let new = TrieNode::Leaf(LeafNode::new(rest.slice(common + 1..), v.to_vec()));
            let branch = branch_of_two((old_at, old), (new_at, reference(&new, created)));
            prefixed(ext.key.slice(..common), branch, created)
        }
    }))
}

/// Writes `value` at `key` (`None` deletes it) in the trie with root `root`, with `witness`
/// showing the key's path. Returns the new root and the nodes the write created that are
/// referenced by hash (the prover keeps them).
///
/// Deleting an absent key and writing the value a key holds leave the root as it is.
pub fn write(
    root: B256,
    key: &Nibbles,
    value: Option<&[u8]>,
    witness: &TrieWrite,
) -> Result<(B256, Vec<Bytes>), TrieError> {
    let Walk { mut frames, end } = walk(root, key, &witness.nodes)?;
    let mut sibling = witness.sibling.as_ref();
    if value.is_none() && !found(&end) {
        // Deleting an absent key changes nothing.
        if sibling.is_some() {
            return Err(TrieError::BadSibling);
        }
        return Ok((root, Vec::new()));
    }
    let mut created = Vec::new();
    let mut sub = replace_end(end, value, &mut created)?;
    while let Some(frame) = frames.pop() {
        sub = match frame {
            Frame::Extension(prefix) => sub.map(|node| prefixed(prefix, node, &mut created)),
            Frame::Branch(branch, nibble) => {
                let mut children: Vec<(u8, RlpNode)> = (0u8..16)
                    .filter(|n| branch.state_mask.is_bit_set(*n) && *n != nibble)
                    .map(|n| {
                        let index = (branch.state_mask.get() & ((1u16 << n) - 1)).count_ones();
                        let child = branch
                            .stack
                            .get(index as usize)
                            .ok_or(TrieError::Malformed)?;
                        Ok((n, child.clone()))
                    })
                    .collect::<Result<_, TrieError>>()?;
                if let Some(node) = &sub {
                    children.push((nibble, reference(node, &mut created)));
                    children.sort_by_key(|c| c.0);
                }
                match children.len() {
                    0 => None,
                    1 => {
                        // Collapse onto the one child left.
                        let (n, child) = children.remove(0);
                        let node = match child.as_hash() {
                            Some(hash) => {
                                let bytes =
                                    sibling.take().ok_or(TrieError::MissingSibling(hash))?;
                                if keccak256(bytes) != hash {
                                    return Err(TrieError::BadSibling);
                                }
                                decode(bytes)?
                            }
                            None => decode(child.as_ref())?,
                        };
                        let node = match node {
                            TrieNode::Branch(_) => TrieNode::Extension(ExtensionNode::new(
                                Nibbles::from_nibbles([n]),
                                child,
                            )),
                            TrieNode::EmptyRoot => return Err(TrieError::Malformed),
                            other => prefixed(Nibbles::from_nibbles([n]), other, &mut created),
                        };
                        Some(node)
                    }
                    _ => {
                        let mut mask = TrieMask::default();
                        for (n, _) in &children {
                            mask.set_bit(*n);
                        }
                        Some(TrieNode::Branch(BranchNode::new(
                            children.into_iter().map(|c| c.1).collect(),
                            mask,
                        )))
                    }
                }
            }
        };
    }
    if sibling.is_some() {
        return Err(TrieError::BadSibling);
    }
    let root = match sub {
        None => EMPTY_ROOT_HASH,
        Some(node) => {
            let mut buf = Vec::new();
            node.rlp(&mut buf);
            let hash = keccak256(&buf);
            created.push(buf.into());
            hash
        }
    };
    Ok((root, created))
}

/// Trie nodes by hash, for every trie the prover writes to (nodes are content-addressed, so one
/// store serves the state trie, every storage trie and the block's transactions and receipts
/// tries).
#[derive(Clone, Debug, Default)]
pub struct NodeStore {
    nodes: HashMap<B256, Bytes>,
}

/// A node the store lacks: the pre-state witness did not carry it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("trie node {0} is not known")]
pub struct MissingNode(pub B256);

impl NodeStore {
    /// A store holding `nodes` (RLP trie nodes, any order).
    pub fn new<'a>(nodes: impl IntoIterator<Item = &'a Bytes>) -> Self {
        let mut store = Self::default();
        store.extend(nodes);
        store
    }

    /// Adds nodes.
    pub fn extend<'a>(&mut self, nodes: impl IntoIterator<Item = &'a Bytes>) {
        for n in nodes {
            self.nodes.insert(keccak256(n), n.clone());
        }
    }

    /// The node with `hash`.
    pub fn node(&self, hash: B256) -> Result<&Bytes, MissingNode> {
        self.nodes.get(&hash).ok_or(MissingNode(hash))
    }

    /// The nodes of `key`'s path under `root` (a proof of presence or absence).
    pub fn path(&self, root: B256, key: &Nibbles) -> Result<Vec<Bytes>, MissingNode> {
        let mut out = Vec::new();
        if root == EMPTY_ROOT_HASH {
            return Ok(out);
        }
        let mut bytes = self.node(root)?.clone();
        out.push(bytes.clone());
        let mut pos = 0usize;
        loop {
            // A node that does not decode ends the path: the verifier rejects it.
            let Ok(node) = decode(&bytes) else {
                return Ok(out);
            };
            let child = match node {
                TrieNode::Branch(branch) => {
                    let Some(nibble) = key.get(pos) else {
                        return Ok(out);
                    };
                    pos += 1;
                    if !branch.state_mask.is_bit_set(nibble) {
                        return Ok(out);
                    }
                    let index = (branch.state_mask.get() & ((1u16 << nibble) - 1)).count_ones();
                    match branch.stack.get(index as usize) {
                        Some(c) => c.clone(),
                        None => return Ok(out),
                    }
                }
                TrieNode::Extension(ext) if key.slice(pos..).starts_with(&ext.key) => {
                    pos += ext.key.len();
                    ext.child
                }
                _ => return Ok(out),
            };
            bytes = match child.as_hash() {
                Some(hash) => {
                    let b = self.node(hash)?.clone();
                    out.push(b.clone());
                    b
                }
                None => Bytes::copy_from_slice(child.as_ref()),
            };
        }
    }

    /// The value at `key` under `root`, with the path that shows it.
    pub fn get(
        &self,
        root: B256,
        key: &Nibbles,
    ) -> Result<(Option<Vec<u8>>, Vec<Bytes>), MissingNode> {
        let nodes = self.path(root, key)?;
        let value = get(root, key, &nodes).ok().flatten();
        Ok((value, nodes))
    }

    /// Writes `value` at `key` (`None` deletes) under `root`: the new root and the witness the
    /// verifier's [`write`] takes; the new nodes are kept.
    pub fn write(
        &mut self,
        root: B256,
        key: &Nibbles,
        value: Option<&[u8]>,
    ) -> Result<(B256, TrieWrite), MissingNode> {
        let mut witness = TrieWrite {
            nodes: self.path(root, key)?,
            sibling: None,
        };
        let (new_root, created) = match write(root, key, value, &witness) {
            Err(TrieError::MissingSibling(hash)) => {
                witness.sibling = Some(self.node(hash)?.clone());
                write(root, key, value, &witness).map_err(|_| MissingNode(hash))?
            }
            Ok(done) => done,
            // The store's own nodes do not form a trie under `root`.
            Err(_) => return Err(MissingNode(root)),
        };
        self.extend(&created);
        Ok((new_root, witness))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::HashBuilder;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn reference_root(map: &BTreeMap<Nibbles, Vec<u8>>) -> B256 {
        let mut hb = HashBuilder::default();
        for (k, v) in map {
            hb.add_leaf(*k, v);
        }
        hb.root()
    }

    /// Applies `ops` through the store (the witnessed write) and to a map, comparing roots
    /// after each.
    fn check(ops: &[(Nibbles, Option<Vec<u8>>)]) {
        let mut store = NodeStore::default();
        let mut map = BTreeMap::new();
        let mut root = EMPTY_ROOT_HASH;
        for (key, value) in ops {
            let (new_root, witness) = store.write(root, key, value.as_deref()).expect("known");
            // The witness verifies on its own, to the same root.
            assert_eq!(
                write(root, key, value.as_deref(), &witness).map(|r| r.0),
                Ok(new_root)
            );
            match value {
                Some(v) => map.insert(*key, v.clone()),
                None => map.remove(key),
            };
            root = new_root;
            assert_eq!(root, reference_root(&map), "after {key:?} <- {value:?}");
            for (k, v) in &map {
                assert_eq!(store.get(root, k).expect("known").0.as_ref(), Some(v));
            }
        }
    }

    fn key32(k: u8) -> Nibbles {
        Nibbles::unpack(keccak256([k]))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Random writes on hashed 32-byte keys (the state and storage tries) from a small key
        /// space, so that updates and deletions of present keys, branch collapses and extension
        /// merges all occur; values of varying length.
        #[test]
        fn writes_match_the_hash_builder(
            ops in prop::collection::vec(
                (0u8..24, prop::option::weighted(0.6, prop::collection::vec(any::<u8>(), 1..80))),
                1..60,
            )
        ) {
            let ops: Vec<_> = ops.into_iter().map(|(k, v)| (key32(k), v)).collect();
            check(&ops);
        }

        /// Short keys and one-byte values: leaves and branches shorter than 32 bytes are
        /// embedded in their parent, and a collapse may land on an embedded child.
        #[test]
        fn embedded_nodes_match_the_hash_builder(
            ops in prop::collection::vec(
                (0u16..300, prop::option::weighted(0.6, prop::collection::vec(any::<u8>(), 1..3))),
                1..80,
            )
        ) {
            let ops: Vec<_> = ops
                .into_iter()
                .map(|(k, v)| (Nibbles::unpack(k.to_be_bytes()), v))
                .collect();
            check(&ops);
        }
    }

    /// A trie of `n` leaves on hashed keys and its store.
    fn sample(n: u8) -> (NodeStore, B256) {
        let mut store = NodeStore::default();
        let mut root = EMPTY_ROOT_HASH;
        for k in 0..n {
            root = store
                .write(root, &key32(k), Some(&[k; 40]))
                .expect("known")
                .0;
        }
        (store, root)
    }

    #[test]
    fn the_empty_trie_and_the_last_deletion() {
        let (mut store, root) = sample(1);
        let (empty, witness) = store.write(root, &key32(0), None).expect("known");
        assert_eq!(empty, EMPTY_ROOT_HASH);
        assert_eq!(witness.nodes.len(), 1);
        // Deleting from the empty trie needs no node and changes nothing.
        assert_eq!(
            write(EMPTY_ROOT_HASH, &key32(0), None, &TrieWrite::default()),
            Ok((EMPTY_ROOT_HASH, Vec::new()))
        );
        assert_eq!(
            write(EMPTY_ROOT_HASH, &key32(0), None, &witness),
            Err(TrieError::UnusedNodes)
        );
    }

    /// Every kind of tampering with a witness is rejected: a changed or missing path node, an
    /// extra node, a missing, wrong or unneeded sibling, and a path for another key.
    #[test]
    fn tampered_witnesses_are_rejected() {
        let (mut store, root) = sample(40);
        let mut collapses = 0;
        for k in 0..40u8 {
            let key = key32(k);
            let (_, witness) = store.clone().write(root, &key, None).expect("known");
            for i in 0..witness.nodes.len() {
                let mut w = witness.clone();
                let mut bytes = w.nodes[i].to_vec();
                let at = bytes.len() - 1;
                bytes[at] ^= 1;
                w.nodes[i] = bytes.into();
                assert!(write(root, &key, None, &w).is_err(), "changed node {i}");
                let mut w = witness.clone();
                w.nodes.remove(i);
                assert!(write(root, &key, None, &w).is_err(), "missing node {i}");
            }
            let mut w = witness.clone();
            w.nodes.push(witness.nodes[0].clone());
            assert_eq!(write(root, &key, None, &w), Err(TrieError::UnusedNodes));
            match &witness.sibling {
                Some(s) => {
                    collapses += 1;
                    let mut w = witness.clone();
                    w.sibling = None;
                    assert!(matches!(
                        write(root, &key, None, &w),
                        Err(TrieError::MissingSibling(_))
                    ));
                    let mut w = witness.clone();
                    w.sibling = Some(witness.nodes[0].clone());
                    assert_eq!(write(root, &key, None, &w), Err(TrieError::BadSibling));
                    // The sibling is not needed for an update.
                    let mut w = witness.clone();
                    w.sibling = Some(s.clone());
                    assert_eq!(
                        write(root, &key, Some(&[1]), &w),
                        Err(TrieError::BadSibling)
                    );
                }
                None => {
                    let mut w = witness.clone();
                    w.sibling = Some(witness.nodes[0].clone());
                    assert_eq!(write(root, &key, None, &w), Err(TrieError::BadSibling));
                }
            }
            // The path of this key is not the path of another.
            let other = key32(k.wrapping_add(100));
            if let Ok((r, _)) = write(root, &other, Some(&[7; 40]), &witness) {
                let expected = store
                    .clone()
                    .write(root, &other, Some(&[7; 40]))
                    .expect("known")
                    .0;
                assert_eq!(r, expected, "a shared path proves the same write");
            }
        }
        assert!(collapses > 0, "some deletion collapsed a branch");
        // A key that ends at a branch is refused.
        let short = key32(0).slice(..1);
        let nodes = store.path(root, &short).expect("known");
        assert_eq!(
            write(
                root,
                &short,
                Some(&[1]),
                &TrieWrite {
                    nodes,
                    sibling: None
                }
            ),
            Err(TrieError::PrefixKey)
        );
        let _ = store.write(root, &key32(1), None);
    }
}
