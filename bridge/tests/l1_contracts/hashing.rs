//! Differential tests: the portal's Solidity hashing against `bridge`'s Rust on random inputs.
//! Withdrawal hashes through the portal's `hashWithdrawal` view and through the `sentMessages`
//! slot its proof check derives from the hash; output roots through the claim check of
//! `proveWithdrawalTransaction` (`keccak256(abi.encode(outputRootProof)) == game.rootClaim()`).

use std::cell::{Cell, RefCell};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::{SolCall, SolValue};
use bridge::output::OutputV0;
use bridge::withdrawal::Withdrawal;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::harness::{
    GAME_TYPE, IFactory, IPortal, L1, Outcome, PROPOSER, Passed, System, USER, bond, revert_name,
};

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::MAX),
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

/// Empty, around the 32-byte word boundaries, and large (the padding and the length word are
/// where an encoder goes wrong).
fn any_data() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 1..=97),
        proptest::collection::vec(any::<u8>(), 0..12_000),
    ]
    .prop_map(Bytes::from)
}

fn any_withdrawal() -> impl Strategy<Value = Withdrawal> {
    (
        any_u256(),
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
        any_u256(),
        any_u256(),
        any_data(),
    )
        .prop_map(
            |(nonce, sender, target, value, gas_limit, data)| Withdrawal {
                nonce,
                sender: Address::from(sender),
                target: Address::from(target),
                value,
                gas_limit,
                data,
            },
        )
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Proposes `root` for a fresh L2 block and returns the game's index.
fn propose(l1: &mut L1, sys: &System, root: B256, l2_block: u64) -> U256 {
    let create = IFactory::createCall {
        gameType: GAME_TYPE,
        rootClaim: root,
        extraData: U256::from(l2_block).abi_encode().into(),
    };
    l1.send(PROPOSER, sys.factory, bond(), create.abi_encode())
        .ok();
    l1.view(sys.factory, IFactory::gameCountCall {}) - U256::from(1)
}

fn prove(l1: &mut L1, sys: &System, passed: &Passed, game: U256) -> Outcome {
    let call = IPortal::proveWithdrawalTransactionCall {
        wtx: passed.tx(),
        disputeGameIndex: game,
        outputRootProof: passed.output_root_proof(),
        withdrawalProof: passed.storage_proof.clone(),
    };
    l1.send(USER, sys.portal, U256::ZERO, call.abi_encode())
}

fn name(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Success { .. } => "success".into(),
        Outcome::Revert(data) => revert_name(data),
        Outcome::Halt(reason) => format!("halt {reason}"),
    }
}

/// An L1 with the system deployed, and the L2 block number of its next proposal.
fn bench() -> RefCell<(L1, System, u64)> {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    RefCell::new((l1, sys, 0))
}

#[test]
fn withdrawal_hashes_agree_with_the_portal() {
    let bench = bench();
    let empty = Cell::new(0u32);
    let large = Cell::new(0u32);
    runner(48)
        .run(&(any_withdrawal(), 0u64..40), |(w, noise)| {
            let (l1, sys, l2_block) = &mut *bench.borrow_mut();
            empty.set(empty.get() + u32::from(w.data.is_empty()));
            large.set(large.get() + u32::from(w.data.len() > 1_000));
            let passed = Passed::new(w.clone(), noise, 1);
            let solidity = l1.view(sys.portal, IPortal::hashWithdrawalCall::new((passed.tx(),)));
            prop_assert_eq!(solidity, w.hash());

            // The slot the portal proves is Rust's `storage_slot`: a proof of exactly that slot
            // under a claimed output goes through.
            *l2_block += 1;
            let game = propose(l1, sys, passed.output.root(), *l2_block);
            prop_assert_eq!(name(&prove(l1, sys, &passed, game)), "success");
            Ok(())
        })
        .unwrap();
    let (empty, large) = (empty.get(), large.get());
    assert!(empty > 0 && large > 0, "empty {empty}, large {large}");
}

#[test]
fn output_roots_agree_with_the_portal() {
    let bench = bench();
    let w = crate::harness::withdrawal(0, Address::repeat_byte(0x77), U256::ZERO, 50_000);
    let strategy = (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        proptest::option::of(any::<[u8; 32]>()),
        0u64..40,
        0usize..96,
    );
    runner(48)
        .run(
            &strategy,
            |(state_root, block_hash, storage_root, noise, flip)| {
                let (l1, sys, l2_block) = &mut *bench.borrow_mut();
                let mut passed = Passed::new(w.clone(), noise, 1);
                passed.output.state_root = state_root.into();
                passed.output.block_hash = block_hash.into();
                // A storage root nothing proves under: the claim check passes, the trie check fails.
                let expected = match storage_root {
                    Some(root) => {
                        passed.output.message_passer_storage_root = root.into();
                        "InvalidMerkleProof"
                    }
                    None => "success",
                };
                let root = passed.output.root();
                *l2_block += 1;
                let game = propose(l1, sys, root, *l2_block);
                // Any one bit of the preimage changed: not the claim.
                let mut tampered = passed.clone();
                let mut fields = [
                    tampered.output.state_root,
                    tampered.output.message_passer_storage_root,
                    tampered.output.block_hash,
                ];
                fields[flip / 32].0[flip % 32] ^= 1 << (flip % 8);
                tampered.output = OutputV0 {
                    state_root: fields[0],
                    message_passer_storage_root: fields[1],
                    block_hash: fields[2],
                };
                prop_assert_eq!(name(&prove(l1, sys, &tampered, game)), "InvalidProof");
                prop_assert_eq!(name(&prove(l1, sys, &passed, game)), expected);
                Ok(())
            },
        )
        .unwrap();
}
