//! A branch's RLP as [`Branch::put`] writes it must be `alloy_trie`'s `BranchNodeRef`
//! encoding of the same children, whatever mix of hashed, embedded, fresh and absent
//! children it has.

use super::{Branch, Node, UpdateLog, hash};
use alloy::primitives::{B256, Bytes};
use alloy::rlp::Encodable;
use alloy_trie::nodes::{BranchNodeRef, RlpNode};
use alloy_trie::{Nibbles, TrieMask};
use proptest::prelude::*;

/// One child slot: absent, still in storage (referenced by hash), or a leaf whose RLP is
/// short enough to be embedded or long enough to be hashed.
#[derive(Debug, Clone)]
enum Child {
    Absent,
    Stored([u8; 32]),
    Leaf(Vec<u8>, Vec<u8>),
}

fn child() -> impl Strategy<Value = Child> {
    prop_oneof![
        Just(Child::Absent),
        any::<[u8; 32]>().prop_map(Child::Stored),
        // Keys of up to 4 nibbles and values of 1 to 40 bytes: embedded and hashed leaves.
        (
            proptest::collection::vec(0u8..16, 0..=4),
            proptest::collection::vec(any::<u8>(), 1..=40)
        )
            .prop_map(|(key, value)| Child::Leaf(key, value)),
    ]
}

fn node(child: &Child) -> Node {
    match child {
        Child::Absent => Node::Empty,
        Child::Stored(hash) => Node::Hash(B256::from(*hash)),
        Child::Leaf(key, value) => Node::leaf(
            Nibbles::from_nibbles_unchecked(key),
            Bytes::from(value.clone()),
        ),
    }
}

/// `alloy_trie`'s encoding of a branch with `children`.
fn expected(children: &[Child; 16]) -> Vec<u8> {
    let (mut buf, mut log) = (Vec::new(), UpdateLog::disabled());
    let mut stack = Vec::new();
    let mut mask = TrieMask::default();
    for (nibble, c) in (0u8..).zip(children) {
        let mut slot = node(c);
        if slot.is_empty() {
            continue;
        }
        let mut path = Nibbles::from_nibbles_unchecked([nibble]);
        stack.push(hash(&mut slot, &mut path, &mut buf, &mut log));
        mask.set_bit(nibble);
    }
    let stack: Vec<RlpNode> = stack;
    let mut out = Vec::new();
    BranchNodeRef::new(&stack, mask).encode(&mut out);
    out
}

proptest! {
    #[test]
    fn branch_rlp_is_alloy_trie_s(
        children in proptest::array::uniform16(child()),
        fresh in any::<u16>(),
    ) {
        let want = expected(&children);
        let mut branch = Branch::new();
        for (slot, c) in branch.children.iter_mut().zip(&children) {
            *slot = node(c);
        }
        let (mut buf, mut log) = (Vec::new(), UpdateLog::new());
        let path = Nibbles::new();
        branch.encode(path, &mut buf, &mut log);
        prop_assert_eq!(&buf, &want);
        // Encoded again, hashed children come from `hashes` (their `fresh` bits are set now);
        // clearing some bits makes those children be read again. Either way, the same bytes.
        branch.fresh &= fresh;
        let mut out = vec![0xee];
        branch.encode_to(path, &mut buf, &mut log, &mut out);
        prop_assert_eq!(&out[1..], &want[..]);
    }
}
