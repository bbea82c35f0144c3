//! The sparse Merkle tree (SPEC.md §3.8): a binary tree of depth 256 over 32-byte keys, used for
//! the world-state overlay, transient storage, the warm sets and the created set.
//!
//! Leaf `k` holds a 32-byte value, zero when absent. An inner node is `0` if both children are
//! `0`, else `keccak256(left ‖ right)`, so an all-absent subtree of any height hashes to zero and
//! a verifier needs no table of default hashes. Bit `h` of the key (counting from the least
//! significant bit of the key read as a big-endian number) chooses the side at height `h`.

use alloy::primitives::{B256, keccak256};
use std::collections::HashMap;

/// Depth of every sparse Merkle tree.
pub const SMT_DEPTH: usize = 256;

/// Inner node hash with the zero-subtree shortcut.
pub fn smt_node(left: B256, right: B256) -> B256 {
    if left.is_zero() && right.is_zero() {
        return B256::ZERO;
    }
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// Bit `h` of `key` counted from the least significant end.
fn key_bit(key: &B256, h: usize) -> bool {
    (key[31 - h / 8] >> (h % 8)) & 1 == 1
}

/// `index` with bit `h` flipped.
fn flip(index: &B256, h: usize) -> B256 {
    let mut out = *index;
    out[31 - h / 8] ^= 1 << (h % 8);
    out
}

/// `index` with bit `h` cleared.
fn clear(index: &B256, h: usize) -> B256 {
    let mut out = *index;
    out[31 - h / 8] &= !(1 << (h % 8));
    out
}

/// A leaf value with its authentication path: the witness of one key of a sparse tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtProof {
    /// The leaf at the key (zero when absent).
    pub leaf: B256,
    /// Siblings from the leaf level upwards; exactly [`SMT_DEPTH`] of them.
    pub siblings: Vec<B256>,
}

impl SmtProof {
    /// The root obtained by placing `leaf` at `key` with these siblings, or `None` if the path
    /// does not have exactly [`SMT_DEPTH`] siblings.
    pub fn root_with(&self, key: B256, leaf: B256) -> Option<B256> {
        if self.siblings.len() != SMT_DEPTH {
            return None;
        }
        let mut node = leaf;
        for (h, sibling) in self.siblings.iter().enumerate() {
            node = if key_bit(&key, h) {
                smt_node(*sibling, node)
            } else {
                smt_node(node, *sibling)
            };
        }
        Some(node)
    }

    /// Whether this proof shows `self.leaf` at `key` under `root`.
    pub fn verifies(&self, root: B256, key: B256) -> bool {
        self.root_with(key, self.leaf) == Some(root)
    }
}

/// A sparse tree holding only the non-zero nodes (prover side).
#[derive(Clone, Debug)]
pub struct SparseTree {
    /// `levels[h]` maps the index of a node at height `h` (the key with its low `h` bits cleared)
    /// to its hash; absent nodes are zero.
    levels: Vec<HashMap<B256, B256>>,
}

impl Default for SparseTree {
    fn default() -> Self {
        Self {
            levels: vec![HashMap::new(); SMT_DEPTH + 1],
        }
    }
}

impl SparseTree {
    /// The root hash (zero for the empty tree).
    pub fn root(&self) -> B256 {
        self.node(SMT_DEPTH, &B256::ZERO)
    }

    fn node(&self, height: usize, index: &B256) -> B256 {
        self.levels[height].get(index).copied().unwrap_or_default()
    }

    /// The leaf at `key` (zero when absent).
    pub fn get(&self, key: B256) -> B256 {
        self.node(0, &key)
    }

    /// Number of non-zero leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// The keys of the non-zero leaves, in no order.
    pub fn keys(&self) -> impl Iterator<Item = &B256> {
        self.levels[0].keys()
    }

    /// Whether the tree holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// Writes `leaf` at `key` (zero deletes), returning the previous leaf.
    pub fn set(&mut self, key: B256, leaf: B256) -> B256 {
        let old = self.get(key);
        if old == leaf {
            return old;
        }
        let mut node = leaf;
        // `index` is the key with its low `h` bits cleared: the ancestor's index at height `h`.
        let mut index = key;
        for h in 0..=SMT_DEPTH {
            if node.is_zero() {
                self.levels[h].remove(&index);
            } else {
                self.levels[h].insert(index, node);
            }
            if h == SMT_DEPTH {
                break;
            }
            let sibling = self.node(h, &flip(&index, h));
            node = if key_bit(&key, h) {
                smt_node(sibling, node)
            } else {
                smt_node(node, sibling)
            };
            index = clear(&index, h);
        }
        old
    }

    /// The leaf at `key` with its authentication path.
    pub fn prove(&self, key: B256) -> SmtProof {
        let mut index = key;
        let mut siblings = Vec::with_capacity(SMT_DEPTH);
        for h in 0..SMT_DEPTH {
            siblings.push(self.node(h, &flip(&index, h)));
            index = clear(&index, h);
        }
        SmtProof {
            leaf: self.get(key),
            siblings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_and_updates_match_the_tree() {
        let mut tree = SparseTree::default();
        assert_eq!(tree.root(), B256::ZERO);
        let keys: Vec<B256> = (0u8..20).map(|i| keccak256([i])).collect();
        for (i, key) in keys.iter().enumerate() {
            let proof = tree.prove(*key);
            assert!(proof.verifies(tree.root(), *key));
            assert_eq!(proof.leaf, B256::ZERO);
            let leaf = B256::with_last_byte(i as u8 + 1);
            let expected = proof.root_with(*key, leaf);
            tree.set(*key, leaf);
            assert_eq!(Some(tree.root()), expected);
        }
        // A proof for one key does not verify for another.
        let p = tree.prove(keys[3]);
        assert!(!p.verifies(tree.root(), keys[4]));
        for key in &keys {
            let p = tree.prove(*key);
            let expected = p.root_with(*key, B256::ZERO);
            tree.set(*key, B256::ZERO);
            assert_eq!(Some(tree.root()), expected);
        }
        assert_eq!(tree.root(), B256::ZERO);
        assert!(tree.levels.iter().all(HashMap::is_empty));
    }

    #[test]
    fn single_leaf_root_is_the_fold_of_its_path() {
        let mut tree = SparseTree::default();
        let key = B256::with_last_byte(1);
        let leaf = B256::repeat_byte(7);
        tree.set(key, leaf);
        let mut node = leaf;
        node = smt_node(B256::ZERO, node); // bit 0 of key is 1
        for _ in 1..SMT_DEPTH {
            node = smt_node(node, B256::ZERO);
        }
        assert_eq!(tree.root(), node);
    }
}
