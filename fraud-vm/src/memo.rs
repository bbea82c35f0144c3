//! Bounded caches of what the prover derives from byte strings it meets again and again (a
//! code's hash, the word tree of calldata or return data, a transaction's sender): a block's
//! answers re-run the same frames, each building them anew (issue 5). Implementation caches only: a hit is checked
//! against the whole byte string, so a value read from a cache is the one computing it gives.

use crate::merkle::WordTree;
use alloy::primitives::{Address, B256, U256, keccak256};
use std::sync::Mutex;

/// Codes whose hashes are kept: long enough that hashing costs more than a look-up, at most
/// the longest init code (EIP-3860), 64 of them (3 MB at most).
static CODE_HASHES: BytesMemo<B256, 64> = BytesMemo::new(256, 49_152);

/// `keccak256(code)`, kept for the codes a block's frames run again and again.
pub(crate) fn code_hash(code: &[u8]) -> B256 {
    CODE_HASHES.get_or(code, |c| keccak256(c))
}

/// The trees of calldata and return data, which a block's answers rebuild in every re-run: up
/// to 1,024 strings of at most 1 KB (a tree of 32 words and its paths, under 10 KB each)...
static SMALL_TREES: BytesMemo<WordTree, 1024> = BytesMemo::new(1, 1024);
/// ... and 32 of up to 32 KB (under 140 KB each), so under 15 MB in all.
static LARGE_TREES: BytesMemo<WordTree, 32> = BytesMemo::new(1025, 32 * 1024);

/// `build(data)`, the word tree of `data`, kept for the strings a block's frames meet again
/// and again.
pub(crate) fn word_tree(data: &[u8], build: impl FnOnce(&[u8]) -> WordTree) -> WordTree {
    if data.len() <= 1024 {
        SMALL_TREES.get_or(data, build)
    } else {
        LARGE_TREES.get_or(data, build)
    }
}

/// Transaction senders recovered from their signatures, by signature hash, `v`, `r` and `s`
/// (97 bytes): a block's answers start the same transactions again and again, and recovering
/// a key costs about as much as 400 hashes. 256 of them.
static SENDERS: BytesMemo<Option<Address>, 256> = BytesMemo::new(97, 97);

/// `recover()`, the address the signature `(v, r, s)` of `hash` recovers, kept for the
/// signatures a block's transaction starts meet again and again.
pub(crate) fn recovered(
    hash: B256,
    v: u8,
    r: U256,
    s: U256,
    recover: impl FnOnce() -> Option<Address>,
) -> Option<Address> {
    let mut key = [0u8; 97];
    key[..32].copy_from_slice(hash.as_slice());
    key[32] = v;
    key[33..65].copy_from_slice(&r.to_be_bytes::<32>());
    key[65..].copy_from_slice(&s.to_be_bytes::<32>());
    SENDERS.get_or(&key, |_| recover())
}

/// Hashes of short strings (20 to 85 bytes: an address, a slot, the overlay, warm-set and
/// transient keys' preimages): every re-run derives the same keys for the same accounts and
/// slots again and again (a read, then its write, the comparison with op-revm after each
/// transaction, the witness walks), about 5,000 instructions each under callgrind. 4,096 of them
/// (under 600 KB).
static SHORT_HASHES: BytesMemo<B256, 4096> = BytesMemo::new(20, 85);

/// `keccak256(data)`, kept for the short strings (keys and trie paths) a block's runs hash
/// again and again.
pub(crate) fn short_keccak(data: &[u8]) -> B256 {
    SHORT_HASHES.get_or(data, |d| keccak256(d))
}

/// Empties the prover's implementation caches: the lifted leaves of the sparse trees
/// ([`crate::smt::set_lift_cache_capacity`], kept at its size), the code hashes, the senders
/// the short keys' hashes and the word trees of calldata and return data. Nothing computed depends on them; for measuring what a
/// cold start costs (`examples/answers.rs`), or to give their memory back.
pub fn clear() {
    crate::smt::clear_lift_cache();
    CODE_HASHES.clear();
    SENDERS.clear();
    SHORT_HASHES.clear();
    SMALL_TREES.clear();
    LARGE_TREES.clear();
}

/// A slot of a [`BytesMemo`]: a byte string and its value, or nothing yet.
type Slot<V> = Option<(Box<[u8]>, V)>;

/// A direct-mapped cache from byte strings to values: a string has one slot (chosen from its
/// length and some of its bytes), a newer string takes it. At most `SLOTS` strings of at most
/// `max_len` bytes are kept, so its memory is bounded by the caller's choice of both.
pub(crate) struct BytesMemo<V, const SLOTS: usize> {
    slots: Mutex<Vec<Slot<V>>>,
    min_len: usize,
    max_len: usize,
}

impl<V: Clone, const SLOTS: usize> BytesMemo<V, SLOTS> {
    /// A cache for strings of `min_len..=max_len` bytes (shorter ones are cheaper to compute
    /// than to look up, longer ones are not kept). `SLOTS` must be a power of two.
    pub(crate) const fn new(min_len: usize, max_len: usize) -> Self {
        assert!(SLOTS.is_power_of_two());
        Self {
            slots: Mutex::new(Vec::new()),
            min_len,
            max_len,
        }
    }

    /// The slot of `data`: a mix of its length and up to 64 of its bytes, spread over it.
    fn slot(data: &[u8]) -> usize {
        let mut mix = (data.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let step = (data.len() / 64).max(1);
        for (i, b) in data.iter().step_by(step).take(64).enumerate() {
            mix = (mix ^ (u64::from(*b) << ((i % 8) * 8))).rotate_left(5);
            if i % 8 == 7 {
                mix = mix.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        }
        (mix.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & (SLOTS - 1)
    }

    /// Drops every string kept.
    fn clear(&self) {
        *self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Vec::new();
    }

    /// `compute(data)`, from the cache if it holds `data`, else computed and kept.
    pub(crate) fn get_or(&self, data: &[u8], compute: impl FnOnce(&[u8]) -> V) -> V {
        if data.len() < self.min_len || data.len() > self.max_len {
            return compute(data);
        }
        let slot = Self::slot(data);
        {
            let slots = self
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(Some((kept, value))) = slots.get(slot)
                && **kept == *data
            {
                return value.clone();
            }
        }
        let value = compute(data);
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.is_empty() {
            slots.resize_with(SLOTS, || None);
        }
        slots[slot] = Some((data.into(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest::proptest! {
        /// A memo gives what computing gives, for strings that repeat, that share their
        /// sampled bytes and length (so take each other's slot) and that are too short or too
        /// long to keep; with one slot every new string evicts the last.
        #[test]
        fn memo_gives_what_computing_gives(
            strings in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..300),
                    (0u8..4, 0usize..200).prop_map(|(b, n)| vec![b; n]),
                ],
                1..30,
            ),
        ) {
            let one: BytesMemo<Vec<u8>, 1> = BytesMemo::new(2, 250);
            let many: BytesMemo<Vec<u8>, 8> = BytesMemo::new(0, 1000);
            let f = |d: &[u8]| d.iter().rev().copied().collect::<Vec<u8>>();
            for s in strings.iter().chain(&strings) {
                prop_assert_eq!(one.get_or(s, f), f(s));
                prop_assert_eq!(many.get_or(s, f), f(s));
            }
            // Emptied, they compute again.
            one.clear();
            many.clear();
            for s in &strings {
                prop_assert_eq!(many.get_or(s, f), f(s));
            }
        }
    }
}
