//! `GameVerifier` (fraud-vm/contracts/game/GameVerifier.sol, fraud-vm/SPEC.md §12.7), the one
//! address a `BisectionGame` calls: it forwards steps to the step verifier and block boundaries to
//! the boundary verifier, and refuses boundaries while none is set (what op-node's devnet deploys
//! until the block start and end steps exist). Behind it: the real `OneStepVerifier` (with
//! `WorldStepVerifier`) and the verifier TEST DOUBLE `StepVerifierDouble`, standing in for a
//! boundary verifier; these tests hold the forwarding, not what is behind it.

use crate::bisection::{IVerifierDouble, end_proof, end_state, start_state};
use crate::harness::{DEPLOYER, L1};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolValue;

fn game_verifier(l1: &mut L1, steps: Address, boundary: Address) -> Address {
    l1.deploy(
        DEPLOYER,
        "GameVerifier",
        &(steps, boundary).abi_encode_params(),
    )
}

#[test]
fn block_boundaries_are_refused_while_pending_and_forwarded_once_set() {
    let mut l1 = L1::new();
    let double = l1.deploy(DEPLOYER, "StepVerifierDouble", &[]);
    let (parent, output, salt) = (
        B256::repeat_byte(1),
        B256::repeat_byte(2),
        B256::repeat_byte(3),
    );
    let start = IVerifierDouble::blockStartCall {
        parentOutputRoot: parent,
        l2BlockNumber: U256::from(7),
        proof: Bytes::new(),
    };
    let end = IVerifierDouble::blockEndCall {
        state: end_state(output, salt),
        proof: end_proof(output, salt),
    };

    let pending = game_verifier(&mut l1, double, Address::ZERO);
    assert_eq!(
        l1.try_view(pending, start.clone()).reverted(),
        "BlockBoundaryPending"
    );
    assert_eq!(
        l1.try_view(pending, end.clone()).reverted(),
        "BlockBoundaryPending"
    );

    let set = game_verifier(&mut l1, double, double);
    assert_eq!(l1.view(set, start), start_state(parent, 7));
    assert_eq!(l1.view(set, end), output);
    // The boundary verifier's refusal comes through unchanged.
    let bad_end = IVerifierDouble::blockEndCall {
        state: end_state(output, salt),
        proof: end_proof(output, B256::repeat_byte(4)),
    };
    assert_eq!(
        l1.try_view(set, bad_end.clone()).reverted(),
        l1.try_view(double, bad_end).reverted()
    );
}

#[test]
fn steps_go_to_the_one_step_verifier_and_its_rejections_come_back_unchanged() {
    let mut l1 = L1::new();
    let precompiles = l1.deploy(DEPLOYER, "L2Precompiles", &[]);
    let world = l1.deploy(DEPLOYER, "WorldStepVerifier", &[]);
    let calls = l1.deploy(DEPLOYER, "CallStepVerifier", &precompiles.abi_encode());
    let starts = l1.deploy(DEPLOYER, "TxStartVerifier", &precompiles.abi_encode());
    let ends = l1.deploy(DEPLOYER, "TxEndVerifier", &[]);
    let steps = l1.deploy(
        DEPLOYER,
        "OneStepVerifier",
        &(world, calls, starts, ends).abi_encode_params(),
    );
    let verifier = game_verifier(&mut l1, steps, Address::ZERO);
    for proof in [
        Bytes::new(),
        Bytes::from_static(&[0xde, 0xad]),
        Bytes::from(vec![3u8; 300]),
    ] {
        let call = IVerifierDouble::stepCall {
            pre: B256::repeat_byte(9),
            proof: proof.clone(),
        };
        let direct = l1.try_view(steps, call.clone()).reverted();
        assert!(
            !direct.starts_with('<'),
            "the step verifier names its error: {direct}"
        );
        assert_eq!(
            l1.try_view(verifier, call).reverted(),
            direct,
            "proof {proof}"
        );
    }
}
