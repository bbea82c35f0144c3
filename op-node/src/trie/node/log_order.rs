//! The update log's order: [`UpdateLog::take`] must give what a stable sort of its entries by
//! path, keeping each path's last entry, gives, whether the paths fit [`short_key`] or not.

use super::{UpdateLog, radix_order, short_key};
use alloy_trie::Nibbles;
use proptest::collection::vec;
use proptest::prelude::*;

fn path(nibbles: &[u8]) -> Nibbles {
    Nibbles::from_nibbles_unchecked(nibbles)
}

/// Paths of up to `max` nibbles drawn from a small alphabet, so that prefixes and repeats are
/// common.
fn paths(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(
        vec(prop_oneof![Just(0u8), Just(1), Just(15)], 0..=max),
        0..60,
    )
}

/// What `take` must return for `log` entries (a removal where the flag is set).
fn reference(entries: &[(Vec<u8>, bool)]) -> (Vec<(Nibbles, Vec<u8>)>, Vec<Nibbles>) {
    let mut indexed: Vec<(Nibbles, usize)> = (entries.iter().enumerate())
        .map(|(i, (p, _))| (path(p), i))
        .collect();
    indexed.sort_by_key(|(p, _)| *p);
    let (mut written, mut removed) = (Vec::new(), Vec::new());
    for (k, (p, i)) in indexed.iter().enumerate() {
        if indexed.get(k + 1).is_some_and(|(next, _)| next == p) {
            continue;
        }
        match entries[*i].1 {
            true => removed.push(*p),
            false => written.push((*p, vec![*i as u8, 0xc0])),
        }
    }
    (written, removed)
}

fn check(raw: Vec<Vec<u8>>, removals: Vec<bool>) {
    let entries: Vec<(Vec<u8>, bool)> = raw
        .into_iter()
        .zip(removals.into_iter().chain(std::iter::repeat(false)))
        .collect();
    let mut log = UpdateLog::new();
    for (i, (p, removed)) in entries.iter().enumerate() {
        match removed {
            true => log.removed(path(p)),
            false => log.record(&path(p), &[i as u8, 0xc0]),
        }
    }
    let updates = log.take();
    let (written, removed) = reference(&entries);
    let got: Vec<(Nibbles, Vec<u8>)> = (updates.written.iter())
        .map(|(p, rlp)| (*p, rlp.to_vec()))
        .collect();
    assert_eq!(got, written);
    assert_eq!(updates.removed, removed);
    assert!(log.take().is_empty(), "take empties the log");
}

proptest! {
    /// Keys drawn under a random mask of bytes, so that some passes are skipped, and from
    /// few values, so that equal keys (ordered by index) are common.
    #[test]
    fn radix_order_is_a_stable_sort(
        picks in vec((0usize..4, any::<u64>()), 0..200),
        mask in any::<u64>(),
        values in vec(any::<u64>(), 4),
    ) {
        let keys: Vec<(u64, u32)> = (picks.iter().zip(0u32..))
            .map(|(&(pick, fresh), i)| {
                let key = if i % 3 == 0 { fresh } else { values[pick] };
                (key & mask, i)
            })
            .collect();
        let mut want = keys.clone();
        want.sort_by_key(|&(key, i)| (key, i));
        let want: Vec<u32> = want.into_iter().map(|(_, i)| i).collect();
        prop_assert_eq!(radix_order(keys), want);
    }

    #[test]
    fn short_keys_order_as_paths(a in vec(0u8..16, 0..=15), b in vec(0u8..16, 0..=15)) {
        let (a, b) = (path(&a), path(&b));
        prop_assert_eq!(short_key(&a).unwrap().cmp(&short_key(&b).unwrap()), a.cmp(&b));
    }

    #[test]
    fn take_with_short_paths(raw in paths(15), removals in vec(any::<bool>(), 0..60)) {
        check(raw, removals);
    }

    #[test]
    fn take_with_long_paths(raw in paths(40), removals in vec(any::<bool>(), 0..60)) {
        check(raw, removals);
    }
}

#[test]
fn longest_short_path_and_first_long_one() {
    assert!(short_key(&path(&[15; 15])).is_some());
    assert!(short_key(&path(&[15; 16])).is_none());
    check(
        vec![vec![15; 16], vec![15; 15], vec![15; 16]],
        vec![false, true],
    );
}
