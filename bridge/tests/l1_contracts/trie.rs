//! The portal's Merkle-Patricia verifier (lib/MerkleTrie.sol, through the test-only
//! MerkleTrieHarness) against its Rust twin `bridge::proof::trie_get` and alloy-trie's tries:
//! both accept the same proofs with the same value and refuse the same tampered ones.

use std::cell::RefCell;
use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol;
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};
use bridge::proof::{StorageTrie, trie_get};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::harness::{DEPLOYER, L1, Outcome};

sol! {
    interface IMerkleTrieHarness {
        function get(bytes key, bytes[] proof, bytes32 root) pure returns (bytes);
        function getSecure(bytes key, bytes[] proof, bytes32 root) pure returns (bytes);
    }
}

/// alloy-trie's root and proof of `target` for raw keys.
fn build(entries: &BTreeMap<Vec<u8>, Vec<u8>>, target: &[u8]) -> (B256, Vec<Bytes>) {
    let target = Nibbles::unpack(target);
    let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
    for (key, value) in entries {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    let root = builder.root();
    let proof = builder
        .take_proof_nodes()
        .matching_nodes_sorted(&target)
        .into_iter()
        .map(|(_, node)| node)
        .collect();
    (root, proof)
}

/// What the Solidity verifier says: the value, or None when it reverts.
fn solidity_get(
    l1: &mut L1,
    harness: Address,
    key: &[u8],
    proof: &[Bytes],
    root: B256,
) -> Option<Bytes> {
    let call = IMerkleTrieHarness::getCall {
        key: Bytes::copy_from_slice(key),
        proof: proof.to_vec(),
        root,
    };
    match l1.try_view(harness, call) {
        Outcome::Success { output, .. } => Some(
            <IMerkleTrieHarness::getCall as alloy::sol_types::SolCall>::abi_decode_returns(&output)
                .unwrap(),
        ),
        Outcome::Revert(_) => None,
        Outcome::Halt(reason) => panic!("the verifier halted: {reason}"),
    }
}

/// Ways to change a valid proof.
#[derive(Debug, Clone)]
enum Change {
    None,
    /// Leave out nodes under 32 bytes after the first (geth's form).
    StripEmbedded,
    FlipByte {
        node: prop::sample::Index,
        byte: prop::sample::Index,
        mask: u8,
    },
    DropLast,
    DuplicateFirst,
    /// Ask for another key than the one proven.
    OtherKey,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => Just(Change::None),
        2 => Just(Change::StripEmbedded),
        4 => (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..).prop_map(|(node, byte, mask)| Change::FlipByte { node, byte, mask }),
        1 => Just(Change::DropLast),
        1 => Just(Change::DuplicateFirst),
        1 => Just(Change::OtherKey),
    ]
}

#[test]
fn solidity_and_rust_verifiers_agree() {
    let l1 = RefCell::new(L1::new());
    let harness = l1.borrow_mut().deploy(DEPLOYER, "MerkleTrieHarness", &[]);
    let strategy = (
        // 1 to 4-byte keys (one length per trie) and values that are sometimes long enough to
        // make leaves hashed, sometimes short enough to embed them.
        (1usize..=4).prop_flat_map(|len| {
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), len),
                proptest::collection::vec(any::<u8>(), 1..48),
                1..60,
            )
        }),
        any::<prop::sample::Index>(),
        change(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let accepted = std::cell::Cell::new(0u32);
    let embedded = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(entries, pick, change)| {
            let keys: Vec<&Vec<u8>> = entries.keys().collect();
            let mut key = keys[pick.index(keys.len())].clone();
            let (root, mut proof) = build(&entries, &key);
            if proof.iter().skip(1).any(|n| n.len() < 32) {
                embedded.set(embedded.get() + 1);
            }
            let mut dropped_embedded = false;
            match &change {
                Change::None => {}
                Change::StripEmbedded => {
                    proof = proof
                        .into_iter()
                        .enumerate()
                        .filter(|(i, n)| *i == 0 || n.len() >= 32)
                        .map(|(_, n)| n)
                        .collect();
                }
                Change::FlipByte { node, byte, mask } => {
                    let n = node.index(proof.len());
                    let mut bytes = proof[n].to_vec();
                    let b = byte.index(bytes.len());
                    bytes[b] ^= mask;
                    proof[n] = bytes.into();
                }
                Change::DropLast => {
                    let last = proof.pop().unwrap();
                    // An embedded node's own copy is optional: without it the proof still holds.
                    dropped_embedded = !proof.is_empty() && last.len() < 32;
                }
                Change::DuplicateFirst => proof.push(proof[0].clone()),
                Change::OtherKey => {
                    let last = key.len() - 1;
                    key[last] = key[last].wrapping_add(1);
                }
            }
            let rust = trie_get(root, &key, &proof).ok();
            let solidity = solidity_get(&mut l1.borrow_mut(), harness, &key, &proof, root);
            prop_assert_eq!(&solidity, &rust, "change {:?}", change);
            match change {
                Change::None | Change::StripEmbedded => {
                    prop_assert_eq!(solidity, Some(Bytes::from(entries[&key].clone())));
                    accepted.set(accepted.get() + 1);
                }
                // The proof of one key may also cover a neighbour (both in one embedded node),
                // but never shows a value the trie does not hold.
                Change::OtherKey => match entries.get(&key) {
                    None => prop_assert!(solidity.is_none()),
                    Some(value) => {
                        if let Some(got) = solidity {
                            prop_assert_eq!(got.as_ref(), &value[..]);
                        }
                    }
                },
                Change::DropLast if dropped_embedded => {
                    prop_assert_eq!(solidity, Some(Bytes::from(entries[&key].clone())));
                }
                // Any change to a node's bytes or to the list of nodes is caught.
                _ => prop_assert!(solidity.is_none()),
            }
            Ok(())
        })
        .unwrap();
    assert!(
        accepted.get() > 50,
        "valid proofs were exercised ({})",
        accepted.get()
    );
    assert!(
        embedded.get() > 50,
        "proofs with embedded nodes were exercised ({})",
        embedded.get()
    );
}

#[test]
fn secure_storage_proofs_verify_in_solidity() {
    let mut l1 = L1::new();
    let harness = l1.deploy(DEPLOYER, "MerkleTrieHarness", &[]);
    let mut trie = StorageTrie::new();
    for i in 0..500u64 {
        trie.insert(keccak256(i.to_be_bytes()), U256::from(i * 1_000_003 + 1));
    }
    for i in [0u64, 17, 499] {
        let slot = keccak256(i.to_be_bytes());
        let (root, proof) = trie.proof(slot);
        let call = IMerkleTrieHarness::getSecureCall {
            key: slot.to_vec().into(),
            proof,
            root,
        };
        let value: Bytes = l1.view(harness, call);
        assert_eq!(
            value.as_ref(),
            &alloy::rlp::encode(U256::from(i * 1_000_003 + 1))[..]
        );
    }
}
