//! Word trees (fraud-vm SPEC §3.4): binary Merkle trees of depth 32 whose leaves are 32-byte
//! words, inner nodes `keccak256(left ‖ right)`, absent leaves zero. The inbox builds them
//! incrementally, leaf by leaf, as the Ethereum deposit contract does: a *frontier* of one node
//! per set bit of the leaf count is all it keeps, so a block's transaction tree can be continued
//! in a later L1 transaction from its frontier alone.
//!
//! fraud-vm's `merkle::WordTree` is the same tree; the bridge keeps this copy so that it does not
//! depend on fraud-vm (and revm) outside its tests, and the property test
//! `the_inbox_tree_is_fraud_vms_word_tree` keeps the two equal.

use alloy::primitives::{B256, keccak256};
use std::sync::OnceLock;

/// Depth of every word tree.
pub const WORD_TREE_DEPTH: usize = 32;

/// `zero_hashes()[h]` is the root of an all-zero subtree of height `h` (`Z_h`).
pub fn zero_hashes() -> &'static [B256; WORD_TREE_DEPTH + 1] {
    static ZERO: OnceLock<[B256; WORD_TREE_DEPTH + 1]> = OnceLock::new();
    ZERO.get_or_init(|| {
        let mut z = [B256::ZERO; WORD_TREE_DEPTH + 1];
        for h in 1..=WORD_TREE_DEPTH {
            z[h] = hash_pair(z[h - 1], z[h - 1]);
        }
        z
    })
}

/// Root of the word tree without leaves (`Z_32`).
pub fn empty_root() -> B256 {
    zero_hashes()[WORD_TREE_DEPTH]
}

/// `keccak256(left ‖ right)`.
pub fn hash_pair(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// A word tree built leaf by leaf: the leaf count and, per level, the last complete left
/// subtree (only the levels of the count's set bits are meaningful).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncrementalTree {
    count: u64,
    branch: [B256; WORD_TREE_DEPTH],
}

impl Default for IncrementalTree {
    fn default() -> Self {
        Self::new()
    }
}

impl IncrementalTree {
    /// A tree without leaves.
    pub fn new() -> Self {
        Self {
            count: 0,
            branch: [B256::ZERO; WORD_TREE_DEPTH],
        }
    }

    /// A tree of `count` leaves from its frontier (one word per set bit of `count`, low level
    /// first); `None` if the number of words is not the count's popcount.
    pub fn from_frontier(count: u32, frontier: &[B256]) -> Option<Self> {
        if frontier.len() != count.count_ones() as usize {
            return None;
        }
        let mut tree = Self::new();
        tree.count = u64::from(count);
        let mut words = frontier.iter();
        for h in 0..WORD_TREE_DEPTH {
            if (count >> h) & 1 == 1 {
                tree.branch[h] = *words.next()?;
            }
        }
        Some(tree)
    }

    /// How many leaves the tree holds.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends leaf number `count()`.
    pub fn push(&mut self, leaf: B256) {
        self.count += 1;
        let mut size = self.count;
        let mut node = leaf;
        let mut h = 0;
        while size & 1 == 0 {
            node = hash_pair(self.branch[h], node);
            size >>= 1;
            h += 1;
        }
        self.branch[h] = node;
    }

    /// The tree's root (depth 32, absent leaves zero).
    pub fn root(&self) -> B256 {
        if self.count == 0 {
            return empty_root();
        }
        let zeros = zero_hashes();
        let mut node = B256::ZERO;
        let mut size = self.count;
        for (h, zero) in zeros.iter().enumerate().take(WORD_TREE_DEPTH) {
            node = if size & 1 == 1 {
                hash_pair(self.branch[h], node)
            } else {
                hash_pair(node, *zero)
            };
            size >>= 1;
        }
        node
    }

    /// The frontier: the branch node of every set bit of the count, low level first.
    pub fn frontier(&self) -> Vec<B256> {
        (0..WORD_TREE_DEPTH)
            .filter(|h| (self.count >> h) & 1 == 1)
            .map(|h| self.branch[h])
            .collect()
    }

    /// `keccak256` of the concatenated frontier (what the inbox stores for an open block).
    pub fn frontier_hash(&self) -> B256 {
        keccak256(self.frontier().concat())
    }
}

/// The root of the word tree over `leaves`.
pub fn word_tree_root(leaves: &[B256]) -> B256 {
    let mut tree = IncrementalTree::new();
    for leaf in leaves {
        tree.push(*leaf);
    }
    tree.root()
}

/// The 32 siblings (leaf level first) that prove leaf `index` of the tree over `leaves`.
pub fn word_tree_proof(leaves: &[B256], index: usize) -> [B256; WORD_TREE_DEPTH] {
    let zeros = zero_hashes();
    let mut siblings = [B256::ZERO; WORD_TREE_DEPTH];
    let mut level: Vec<B256> = leaves.to_vec();
    let mut position = index;
    for (h, sibling) in siblings.iter_mut().enumerate() {
        *sibling = level.get(position ^ 1).copied().unwrap_or(zeros[h]);
        level = level
            .chunks(2)
            .map(|pair| hash_pair(pair[0], pair.get(1).copied().unwrap_or(zeros[h])))
            .collect();
        position >>= 1;
    }
    siblings
}

/// The root obtained by placing `leaf` at `index` with `siblings` (leaf level first).
pub fn fold_word_proof(leaf: B256, index: u64, siblings: &[B256; WORD_TREE_DEPTH]) -> B256 {
    let mut node = leaf;
    for (h, sibling) in siblings.iter().enumerate() {
        node = if (index >> h) & 1 == 0 {
            hash_pair(node, *sibling)
        } else {
            hash_pair(*sibling, node)
        };
    }
    node
}
