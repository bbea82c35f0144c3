//! `GameVerifier` (fraud-vm/contracts/game/GameVerifier.sol, fraud-vm/SPEC.md §12.7), the one
//! address a `BisectionGame` calls: it forwards steps to the step verifier and block boundaries to
//! the boundary verifier, and refuses boundaries while none is set (what op-node's devnet deploys
//! when none is set). Behind it: the real `OneStepVerifier` (with its step contracts) and the
//! real `BoundaryVerifier` as op-node deploys them, and the verifier TEST DOUBLE
//! `StepVerifierDouble` standing in for a boundary verifier where the forwarding of arbitrary
//! answers is tested; these tests hold the forwarding, not what is behind it (fraud-vm's
//! differential tests hold that).

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
        l1Block: U256::from(99),
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
    let sealing = l1.deploy(DEPLOYER, "SealingStepVerifier", &[]);
    let boundary = l1.deploy(DEPLOYER, "BoundaryStepVerifier", &sealing.abi_encode());
    let steps = l1.deploy(
        DEPLOYER,
        "OneStepVerifier",
        &(world, calls, starts, ends, boundary).abi_encode_params(),
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

/// The real `BoundaryVerifier` behind the game verifier, built with op-node's chain parameters
/// (`ChainParams::op_node`) as its deployment makes it: a block-end record opens to its output
/// root, and its refusals (a record that is not a block end, a block start proof that does not
/// decode) come back unchanged.
#[test]
fn block_boundaries_go_to_the_boundary_verifier() {
    let mut l1 = L1::new();
    let params = fraud_vm::block_start::ChainParams::op_node(901, 30_000_000);
    let boundary = l1.deploy(
        DEPLOYER,
        "BoundaryVerifier",
        &(
            U256::from(params.chain_id),
            params.coinbase,
            U256::from(params.gas_limit),
            U256::from(params.base_fee_denominator),
            U256::from(params.elasticity),
            U256::from(params.min_base_fee),
            // The inbox, the L1-info deposit's parameters (batcher and scalars), the portal,
            // then the log-index oracle.
            Address::repeat_byte(0x1b),
            (
                Address::repeat_byte(0xb7),
                U256::from(1368),
                U256::from(810_949),
            ),
            Address::repeat_byte(0x1c),
            Address::repeat_byte(0x1d),
        )
            .abi_encode_params(),
    );
    let double = l1.deploy(DEPLOYER, "StepVerifierDouble", &[]);
    let verifier = game_verifier(&mut l1, double, boundary);
    let output = B256::repeat_byte(0x42);
    let record = fraud_vm::block::block_end_state(77, output).encode();
    let state = alloy::primitives::keccak256(&record);
    let end = IVerifierDouble::blockEndCall {
        state,
        proof: Bytes::from(record.clone()),
    };
    assert_eq!(l1.view(verifier, end), output);
    let mut other = record.clone();
    other[34] = 1;
    let not_end = IVerifierDouble::blockEndCall {
        state: alloy::primitives::keccak256(&other),
        proof: Bytes::from(other),
    };
    assert_eq!(
        l1.try_view(verifier, not_end.clone()).reverted(),
        "NotBlockEnd"
    );
    assert_eq!(l1.try_view(boundary, not_end).reverted(), "NotBlockEnd");
    let start = IVerifierDouble::blockStartCall {
        parentOutputRoot: output,
        l2BlockNumber: U256::from(78),
        l1Block: U256::from(99),
        proof: Bytes::from_static(&[4, 1, 2]),
    };
    assert_eq!(
        l1.try_view(verifier, start.clone()).reverted(),
        "BadBlockStart"
    );
    assert_eq!(l1.try_view(boundary, start).reverted(), "BadBlockStart");
}
