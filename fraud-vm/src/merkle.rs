//! The word Merkle tree (SPEC.md §3.4): a binary Merkle tree of fixed depth [`WORD_TREE_DEPTH`]
//! over 32-byte words, used for memory, calldata and return data.
//!
//! Leaf `i` is the raw word at bytes `[32 i, 32 i + 32)`; an inner node is
//! `keccak256(left ‖ right)`. Absent words are zero, so the root of an all-zero tree is the
//! constant [`empty_root`], and zero-extending the data (memory expansion) leaves the root unchanged.

use alloy::primitives::{B256, keccak256};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Depth of every word tree: 2^32 words (128 GiB), beyond anything gas can pay for (SPEC.md §3.4).
pub const WORD_TREE_DEPTH: usize = 32;

/// Number of leaves of a word tree.
pub const WORD_TREE_LEAVES: u64 = 1 << WORD_TREE_DEPTH;

/// `zero_hashes()[h]` is the root of an all-zero subtree of height `h`.
fn zero_hashes() -> &'static [B256; WORD_TREE_DEPTH + 1] {
    static ZERO: OnceLock<[B256; WORD_TREE_DEPTH + 1]> = OnceLock::new();
    ZERO.get_or_init(|| {
        let mut z = [B256::ZERO; WORD_TREE_DEPTH + 1];
        for h in 1..=WORD_TREE_DEPTH {
            z[h] = hash_pair(z[h - 1], z[h - 1]);
        }
        z
    })
}

/// Root of a word tree holding only zero words (empty memory, empty calldata).
pub fn empty_root() -> B256 {
    zero_hashes()[WORD_TREE_DEPTH]
}

/// `keccak256(left ‖ right)`: the inner node hash.
pub fn hash_pair(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// A word with its authentication path: the witness for one word of a word tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordProof {
    /// The word at the proven index.
    pub word: B256,
    /// Sibling hashes from the leaf level upwards; exactly [`WORD_TREE_DEPTH`] of them.
    pub siblings: Vec<B256>,
}

impl WordProof {
    /// The root obtained by placing `word` at `index` with these siblings, or `None` if the path
    /// does not have exactly [`WORD_TREE_DEPTH`] siblings or `index` is outside the tree.
    pub fn root_with(&self, index: u64, word: B256) -> Option<B256> {
        if self.siblings.len() != WORD_TREE_DEPTH || index >= WORD_TREE_LEAVES {
            return None;
        }
        let mut node = word;
        for (level, sibling) in self.siblings.iter().enumerate() {
            node = if (index >> level) & 1 == 0 {
                hash_pair(node, *sibling)
            } else {
                hash_pair(*sibling, node)
            };
        }
        Some(node)
    }

    /// Whether this proof shows `self.word` at `index` under `root`.
    pub fn verifies(&self, root: B256, index: u64) -> bool {
        self.root_with(index, self.word) == Some(root)
    }
}

/// A sparse word tree holding only the non-zero nodes (prover side).
#[derive(Clone, Debug, Default)]
pub struct WordTree {
    /// `levels[h]` maps a node index at height `h` to its hash; absent nodes are zero subtrees.
    levels: Vec<HashMap<u64, B256>>,
}

impl WordTree {
    /// An all-zero tree.
    pub fn new() -> Self {
        Self {
            levels: vec![HashMap::new(); WORD_TREE_DEPTH + 1],
        }
    }

    /// The tree of `data` zero-padded to whole words.
    ///
    /// # Panics
    /// If `data` exceeds the tree capacity (prover-side misuse, never proof input).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut tree = Self::new();
        for (i, chunk) in data.chunks(32).enumerate() {
            let mut word = B256::ZERO;
            word[..chunk.len()].copy_from_slice(chunk);
            if word != B256::ZERO {
                tree.set(i as u64, word);
            }
        }
        tree
    }

    /// The root hash.
    pub fn root(&self) -> B256 {
        self.node(WORD_TREE_DEPTH, 0)
    }

    fn node(&self, height: usize, index: u64) -> B256 {
        self.levels[height]
            .get(&index)
            .copied()
            .unwrap_or(zero_hashes()[height])
    }

    /// The word at `index` (zero when never written).
    pub fn word(&self, index: u64) -> B256 {
        self.node(0, index)
    }

    /// Writes `word` at `index`, returning the previous word.
    ///
    /// # Panics
    /// If `index >= WORD_TREE_LEAVES` (prover-side misuse).
    pub fn set(&mut self, index: u64, word: B256) -> B256 {
        assert!(index < WORD_TREE_LEAVES, "word index outside the tree");
        let old = self.word(index);
        if old == word {
            return old;
        }
        let mut node = word;
        let mut idx = index;
        for height in 0..=WORD_TREE_DEPTH {
            if node == zero_hashes()[height] {
                self.levels[height].remove(&idx);
            } else {
                self.levels[height].insert(idx, node);
            }
            if height == WORD_TREE_DEPTH {
                break;
            }
            let sibling = self.node(height, idx ^ 1);
            node = if idx & 1 == 0 {
                hash_pair(node, sibling)
            } else {
                hash_pair(sibling, node)
            };
            idx >>= 1;
        }
        old
    }

    /// The word at `index` with its authentication path.
    pub fn prove(&self, index: u64) -> WordProof {
        let siblings = (0..WORD_TREE_DEPTH)
            .map(|h| self.node(h, (index >> h) ^ 1))
            .collect();
        WordProof {
            word: self.word(index),
            siblings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_root_is_zero_hash_chain() {
        let mut z = B256::ZERO;
        for _ in 0..WORD_TREE_DEPTH {
            z = hash_pair(z, z);
        }
        assert_eq!(WordTree::new().root(), z);
        assert_eq!(empty_root(), z);
    }

    #[test]
    fn proofs_verify_and_updates_match_rebuild() {
        let mut tree = WordTree::new();
        for (i, idx) in [0u64, 1, 5, 1000, WORD_TREE_LEAVES - 1].iter().enumerate() {
            let word = B256::with_last_byte(i as u8 + 1);
            let proof = tree.prove(*idx);
            assert!(proof.verifies(tree.root(), *idx));
            let new_root = proof.root_with(*idx, word);
            tree.set(*idx, word);
            assert_eq!(Some(tree.root()), new_root);
            assert!(tree.prove(*idx).verifies(tree.root(), *idx));
        }
        // Writing zeros back restores the empty root (sparse representation stays canonical).
        for idx in [0u64, 1, 5, 1000, WORD_TREE_LEAVES - 1] {
            tree.set(idx, B256::ZERO);
        }
        assert_eq!(tree.root(), empty_root());
    }

    #[test]
    fn from_bytes_pads_last_word() {
        let tree = WordTree::from_bytes(&[1, 2, 3]);
        let mut w = B256::ZERO;
        w[..3].copy_from_slice(&[1, 2, 3]);
        assert_eq!(tree.word(0), w);
        let proof = tree.prove(0);
        assert!(!proof.verifies(tree.root(), 1));
    }
}
