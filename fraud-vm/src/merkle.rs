//! The word Merkle tree (SPEC.md §3.4): a binary Merkle tree of fixed depth [`WORD_TREE_DEPTH`]
//! over 32-byte words, used for memory, calldata and return data.
//!
//! Leaf `i` is the raw word at bytes `[32 i, 32 i + 32)`; an inner node is
//! `keccak256(left ‖ right)`. Absent words are zero, so the root of an all-zero tree is the
//! constant [`empty_root`], and zero-extending the data (memory expansion) leaves the root unchanged.

use alloy::primitives::{B256, keccak256};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

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

/// Number of siblings a range multiproof of `count` words from word `start` carries
/// (SPEC.md §3.4): per level, one left of the range's first node if that node is a right child
/// and one right of its last node if that node is a left child. `None` for an empty range or one
/// that leaves the tree.
pub fn range_sibling_count(start: u64, count: u64) -> Option<usize> {
    if count == 0 || start.checked_add(count)? > WORD_TREE_LEAVES {
        return None;
    }
    // Σ_h bit_h(start) + Σ_h (1 − bit_h(last)) over the 32 levels, both below 2^32.
    let last = start + count - 1;
    Some(start.count_ones() as usize + WORD_TREE_DEPTH - last.count_ones() as usize)
}

/// A range multiproof (SPEC.md §3.4): the contiguous words `start .. start + words.len()` of a
/// word tree and the siblings of the range's two edges, level by level from the leaves (at each
/// level the left edge's sibling, if any, before the right edge's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    /// Index of the first word.
    pub start: u64,
    /// The words of the range, at least one.
    pub words: Vec<B256>,
    /// The edge siblings; exactly [`range_sibling_count`] of them.
    pub siblings: Vec<B256>,
}

impl RangeProof {
    /// The root obtained by placing `words` (as many as the proof's) at the proof's range with
    /// its siblings, or `None` if the counts do not match or the range leaves the tree.
    pub fn root_with(&self, words: &[B256]) -> Option<B256> {
        let count = words.len() as u64;
        if count != self.words.len() as u64
            || range_sibling_count(self.start, count) != Some(self.siblings.len())
        {
            return None;
        }
        let mut siblings = self.siblings.iter();
        let mut row: Vec<B256> = words.to_vec();
        let mut first = self.start;
        for _ in 0..WORD_TREE_DEPTH {
            let last = first + row.len() as u64 - 1;
            if first & 1 == 1 {
                row.insert(0, *siblings.next()?);
            }
            if last & 1 == 0 {
                row.push(*siblings.next()?);
            }
            row = row.chunks(2).map(|p| hash_pair(p[0], p[1])).collect();
            first >>= 1;
        }
        Some(row[0])
    }

    /// Whether this proof shows its words at exactly `[start, start + count)` under `root`.
    pub fn verifies(&self, root: B256, start: u64, count: u64) -> bool {
        self.start == start
            && self.words.len() as u64 == count
            && self.root_with(&self.words) == Some(root)
    }
}

/// The nodes of a word tree: `levels[h]` maps a node index at height `h` to its hash; absent
/// nodes are zero subtrees.
type Levels = Vec<HashMap<u64, B256>>;

/// A sparse word tree holding only the non-zero nodes (prover side).
///
/// A tree made from bytes ([`Self::from_bytes`]) keeps the bytes and hashes nothing until its
/// nodes are first read (a root, a word, a proof) or written: a light run (SPEC.md §7) makes
/// the calldata, return data and memory trees of every frame but commits few of them. The nodes
/// are shared between copies until one is written, so copying a state copies no tree.
#[derive(Clone, Debug, Default)]
pub struct WordTree {
    /// The nodes, once made (an empty tree when neither they nor `pending` are set).
    levels: OnceLock<Arc<Levels>>,
    /// The bytes the nodes are made from when first needed.
    pending: Option<Arc<[u8]>>,
}

impl WordTree {
    /// An all-zero tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree of `data` zero-padded to whole words, hashed when first read (and kept by
    /// content, [`crate::memo`]).
    ///
    /// # Panics
    /// When first read, if `data` exceeds the tree capacity (prover-side misuse, never proof
    /// input).
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::from_vec(data.to_vec())
    }

    /// [`Self::from_bytes`] taking the bytes.
    pub fn from_vec(data: Vec<u8>) -> Self {
        Self {
            levels: OnceLock::new(),
            pending: Some(data.into()),
        }
    }

    /// The root of the tree of `data` ([`Self::from_bytes`] hashed at once).
    pub fn root_of(data: &[u8]) -> B256 {
        if data.is_empty() {
            return empty_root();
        }
        crate::memo::word_tree(data, Self::build).root()
    }

    /// Whether the nodes are not made yet (the tree holds bytes only).
    pub fn is_pending(&self) -> bool {
        self.levels.get().is_none() && self.pending.is_some()
    }

    /// The nodes, made now if they are not yet.
    fn levels(&self) -> &Levels {
        self.levels.get_or_init(|| match &self.pending {
            Some(data) => crate::memo::word_tree(data, Self::build).shared_levels(),
            None => Arc::new(vec![HashMap::new(); WORD_TREE_DEPTH + 1]),
        })
    }

    /// The nodes to share with another tree.
    fn shared_levels(&self) -> Arc<Levels> {
        self.levels();
        self.levels.get().cloned().unwrap_or_default()
    }

    /// The nodes to write (copied first if another tree shares them).
    fn levels_mut(&mut self) -> &mut Levels {
        self.levels();
        self.pending = None;
        let levels = self.levels.get_mut().expect("the nodes were just made");
        Arc::make_mut(levels)
    }

    /// [`Self::from_bytes`] without the cache, hashed now.
    fn build(data: &[u8]) -> Self {
        let mut tree = Self::new();
        tree.set_many(data.chunks(32).enumerate().map(|(i, chunk)| {
            let mut word = B256::ZERO;
            word[..chunk.len()].copy_from_slice(chunk);
            (i as u64, word)
        }));
        tree
    }

    /// Writes every `(index, word)` (a later write of an index wins), then rehashes each inner
    /// node above a changed word once: `n` words written together cost about `n + 32` hashes
    /// when they are contiguous, where as many [`Self::set`] calls cost `32 n`.
    ///
    /// # Panics
    /// If an index is `>= WORD_TREE_LEAVES` (prover-side misuse).
    pub fn set_many(&mut self, words: impl IntoIterator<Item = (u64, B256)>) {
        let mut writes = words.into_iter().peekable();
        if writes.peek().is_none() {
            // Nothing written: the nodes stay shared (and unmade if they are).
            return;
        }
        let mut dirty = Vec::new();
        let levels = self.levels_mut();
        for (index, word) in writes {
            assert!(index < WORD_TREE_LEAVES, "word index outside the tree");
            if node_in(levels, 0, index) == word {
                continue;
            }
            if word.is_zero() {
                levels[0].remove(&index);
            } else {
                levels[0].insert(index, word);
            }
            dirty.push(index);
        }
        dirty.sort_unstable();
        dirty.dedup();
        for height in 0..WORD_TREE_DEPTH {
            // The parents of this level's changed nodes, in order and once each.
            dirty.dedup_by_key(|i| *i >> 1);
            // The level's pairs are independent: hashed four at a time.
            let pairs: Vec<(B256, B256)> = dirty
                .iter()
                .map(|idx| {
                    let parent = *idx >> 1;
                    (
                        node_in(levels, height, parent << 1),
                        node_in(levels, height, (parent << 1) | 1),
                    )
                })
                .collect();
            for (idx, node) in dirty.iter_mut().zip(crate::keccak4::hash_pairs(&pairs)) {
                let parent = *idx >> 1;
                if node == zero_hashes()[height + 1] {
                    levels[height + 1].remove(&parent);
                } else {
                    levels[height + 1].insert(parent, node);
                }
                *idx = parent;
            }
        }
    }

    /// The root hash.
    pub fn root(&self) -> B256 {
        self.node(WORD_TREE_DEPTH, 0)
    }

    fn node(&self, height: usize, index: u64) -> B256 {
        node_in(self.levels(), height, index)
    }

    /// The word at `index` (zero when never written).
    pub fn word(&self, index: u64) -> B256 {
        self.node(0, index)
    }

    /// The words `[start, start + count)`, read from the bytes (no node hashed) while the
    /// tree is unhashed.
    pub fn words(&self, start: u64, count: u64) -> Vec<B256> {
        let range = start..start.saturating_add(count);
        match (self.levels.get(), &self.pending) {
            (None, Some(data)) => range
                .map(|i| {
                    let mut word = B256::ZERO;
                    let from = usize::try_from(i).unwrap_or(usize::MAX).saturating_mul(32);
                    if let Some(chunk) = data.get(from..).map(|d| &d[..d.len().min(32)]) {
                        word[..chunk.len()].copy_from_slice(chunk);
                    }
                    word
                })
                .collect(),
            _ => range.map(|i| self.word(i)).collect(),
        }
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
        let levels = self.levels_mut();
        for height in 0..=WORD_TREE_DEPTH {
            if node == zero_hashes()[height] {
                levels[height].remove(&idx);
            } else {
                levels[height].insert(idx, node);
            }
            if height == WORD_TREE_DEPTH {
                break;
            }
            let sibling = node_in(levels, height, idx ^ 1);
            node = if idx & 1 == 0 {
                hash_pair(node, sibling)
            } else {
                hash_pair(sibling, node)
            };
            idx >>= 1;
        }
        old
    }

    /// The words `[start, start + count)` with the siblings of the range's edges.
    ///
    /// # Panics
    /// If the range is empty or leaves the tree (prover-side misuse).
    pub fn prove_range(&self, start: u64, count: u64) -> RangeProof {
        assert!(
            range_sibling_count(start, count).is_some(),
            "range outside the tree"
        );
        let last = start + count - 1;
        let mut siblings = Vec::new();
        for h in 0..WORD_TREE_DEPTH {
            let (first, last) = (start >> h, last >> h);
            if first & 1 == 1 {
                siblings.push(self.node(h, first - 1));
            }
            if last & 1 == 0 {
                siblings.push(self.node(h, last + 1));
            }
        }
        RangeProof {
            start,
            words: (start..start + count).map(|i| self.word(i)).collect(),
            siblings,
        }
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

/// The node at `(height, index)` of `levels` (a zero subtree's root when absent).
fn node_in(levels: &Levels, height: usize, index: u64) -> B256 {
    levels[height]
        .get(&index)
        .copied()
        .unwrap_or(zero_hashes()[height])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    /// A range from `start` with `count` words, anywhere in the tree but weighted towards
    /// small trees, unaligned edges and the tree's end.
    fn range() -> impl Strategy<Value = (u64, u64)> {
        prop_oneof![
            (0u64..80, 1u64..70),
            (0u64..WORD_TREE_LEAVES - 64, 1u64..64),
            (1u64..64).prop_map(|n| (WORD_TREE_LEAVES - n, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Words written together by `set_many` give the tree that writing them one by one
        /// gives: the same root, words and paths, including zero words and repeated indices.
        #[test]
        fn batched_writes_match_single_writes(
            before in prop::collection::vec((0u64..100, any::<[u8; 32]>()), 0..20),
            batch in prop::collection::vec((prop_oneof![0u64..100, Just(WORD_TREE_LEAVES - 1)], prop_oneof![Just([0u8; 32]), any::<[u8; 32]>()]), 0..60),
            probe in 0u64..100,
        ) {
            let mut one = WordTree::new();
            for (i, w) in &before {
                one.set(*i, B256::from(*w));
            }
            let mut many = one.clone();
            for (i, w) in &batch {
                one.set(*i, B256::from(*w));
            }
            many.set_many(batch.iter().map(|(i, w)| (*i, B256::from(*w))));
            prop_assert_eq!(one.root(), many.root());
            for h in 0..=WORD_TREE_DEPTH {
                prop_assert_eq!(&one.levels()[h], &many.levels()[h]);
            }
            prop_assert_eq!(one.prove(probe), many.prove(probe));
        }

        /// A range multiproof of a random tree shows the tree's words under its root, and a
        /// write of new words gives the root of the tree holding them; a changed word, sibling,
        /// start or count is refused.
        #[test]
        fn range_proofs_verify_and_write(
            words in prop::collection::btree_map(0u64..150, any::<[u8; 32]>(), 0..40),
            far in prop::collection::vec((0u64..WORD_TREE_LEAVES, any::<[u8; 32]>()), 0..4),
            (start, count) in range(),
            new in any::<[u8; 32]>(),
            pick in any::<prop::sample::Index>(),
        ) {
            let mut tree = WordTree::new();
            for (i, w) in words.iter().map(|(i, w)| (*i, *w)).chain(far) {
                tree.set(i, B256::from(w));
            }
            let root = tree.root();
            let proof = tree.prove_range(start, count);
            prop_assert_eq!(Some(proof.siblings.len()), range_sibling_count(start, count));
            let last = start + count - 1;
            let by_level: usize = (0..WORD_TREE_DEPTH)
                .map(|h| ((start >> h) & 1) as usize + (1 - ((last >> h) & 1)) as usize)
                .sum();
            prop_assert_eq!(proof.siblings.len(), by_level);
            prop_assert!(proof.siblings.len() <= 2 * WORD_TREE_DEPTH);
            prop_assert!(proof.verifies(root, start, count));
            for (k, w) in proof.words.iter().enumerate() {
                prop_assert_eq!(*w, tree.word(start + k as u64));
            }

            let mut written = proof.words.clone();
            let at = pick.index(written.len());
            written[at] = B256::from(new);
            let new_root = proof.root_with(&written);
            let mut updated = tree.clone();
            updated.set(start + at as u64, B256::from(new));
            prop_assert_eq!(new_root, Some(updated.root()));

            let flip = B256::with_last_byte(1);
            let mut bad = proof.clone();
            bad.words[at] ^= flip;
            prop_assert!(!bad.verifies(root, start, count));
            if !proof.siblings.is_empty() {
                let mut bad = proof.clone();
                let s = pick.index(bad.siblings.len());
                bad.siblings[s] ^= flip;
                prop_assert!(!bad.verifies(root, start, count));
            }
            prop_assert!(!proof.verifies(root, start ^ 1, count));
            prop_assert!(!proof.verifies(root, start, count + 1));
            prop_assert!(!proof.verifies(root, start, count - 1));
            // A proof claiming another range, with words that differ from the tree's there.
            if start + count < WORD_TREE_LEAVES {
                let mut moved = tree.prove_range(start + 1, count);
                if moved.words != proof.words {
                    moved.words.clone_from(&proof.words);
                    prop_assert!(!moved.verifies(root, start + 1, count));
                }
            }
        }
    }

    /// SPEC.md §9's range multiproof vector: words 1–3 of the tree of the bytes 0x01 … 0x64,
    /// hashed as `start(u32) ‖ count(u32) ‖ words ‖ siblings` (its §6.3 encoding).
    #[test]
    fn range_spec_vector() {
        let bytes: Vec<u8> = (1..=100).collect();
        let tree = WordTree::from_bytes(&bytes);
        let proof = tree.prove_range(1, 3);
        assert_eq!(proof.siblings.len(), 32 + 1 - 2);
        let mut encoding = Vec::new();
        encoding.extend_from_slice(&1u32.to_be_bytes());
        encoding.extend_from_slice(&3u32.to_be_bytes());
        for w in proof.words.iter().chain(&proof.siblings) {
            encoding.extend_from_slice(w.as_slice());
        }
        assert_eq!(
            keccak256(&encoding).to_string(),
            "0x92dbd92adaeee24968640a06a2c2b718596e36f34f759bf468649c7670ba170d"
        );
    }

    #[test]
    fn range_edges() {
        assert_eq!(range_sibling_count(0, 0), None);
        assert_eq!(range_sibling_count(WORD_TREE_LEAVES - 1, 2), None);
        assert_eq!(range_sibling_count(5, 1), Some(WORD_TREE_DEPTH));
        assert_eq!(range_sibling_count(0, WORD_TREE_LEAVES), Some(0));
        // One word: the same siblings as its word proof.
        let tree = WordTree::from_bytes(&[7u8; 200]);
        let range = tree.prove_range(3, 1);
        assert_eq!(range.siblings, tree.prove(3).siblings);
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
