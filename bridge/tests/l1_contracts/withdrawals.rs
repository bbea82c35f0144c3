//! Withdrawals: prove against a game, wait, finalize; and every way that must fail.

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::sol_types::{SolCall, SolEvent};
use bridge::withdrawal::Withdrawal;

use crate::harness::{
    CHALLENGE_WINDOW, FINALITY_DELAY, GAME_TYPE, IGame, IPortal, IRegistry, L1, MATURITY_DELAY,
    OTHER, OTHER_GAME_TYPE, Outcome, PROPOSER, Passed, System, USER, ether, forwarder_code,
    gas_recorder_code, toggled_code, withdrawal,
};
use crate::viem::{latest_game, viem_status};

const TARGET: Address = address!("0x4000000000000000000000000000000000000004");
const TOGGLED: Address = address!("0x4000000000000000000000000000000000000005");
const RECORDER: Address = address!("0x4000000000000000000000000000000000000006");
const REENTRANT: Address = address!("0x4000000000000000000000000000000000000007");

/// A system with 10 ether locked in the portal and `passed` claimed by a fresh game (index 0).
fn ready(passed: &Passed) -> (L1, System, Address) {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.fund_portal(&mut l1, ether(10));
    let game = sys.propose(&mut l1, GAME_TYPE, passed.output.root(), passed.l2_block);
    (l1, sys, game)
}

/// Proves `passed` at once, then lets the game resolve and every delay pass.
fn proven_and_matured(passed: &Passed) -> (L1, System) {
    let (mut l1, sys, game) = ready(passed);
    l1.warp(1);
    sys.prove(&mut l1, USER, passed, 0).ok();
    sys.resolve_after_window(&mut l1, game);
    l1.warp(FINALITY_DELAY.max(MATURITY_DELAY) + 1);
    (l1, sys)
}

#[test]
fn a_withdrawal_walks_every_status_and_pays_the_target() {
    let w = withdrawal(0, TARGET, ether(2), 100_000);
    let passed = Passed::new(w.clone(), 200, 42);
    let hash = passed.hash();
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.fund_portal(&mut l1, ether(10));
    assert_eq!(
        l1.view(sys.portal, IPortal::hashWithdrawalCall::new((passed.tx(),))),
        hash
    );

    // No game covers block 42 yet (an older game for block 10 does not).
    sys.propose(&mut l1, GAME_TYPE, B256::repeat_byte(1), 10);
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "waiting-to-prove"
    );

    let proposer_before = l1.balance(PROPOSER);
    let game = sys.propose(&mut l1, GAME_TYPE, passed.output.root(), 42);
    assert_eq!(
        l1.balance(PROPOSER),
        proposer_before - crate::harness::bond()
    );
    assert_eq!(latest_game(&mut l1, &sys, 42), Some((U256::from(1), game)));
    assert_eq!(viem_status(&mut l1, &sys, hash, USER, 42), "ready-to-prove");
    assert_eq!(
        sys.check(&mut l1, hash, USER).reverted(),
        "OptimismPortal_Unproven"
    );

    // Prove (in the next block) while the game is still in progress.
    l1.warp(12);
    let (_, logs) = sys.prove(&mut l1, OTHER, &passed, 1).ok();
    let proven = IPortal::WithdrawalProven::decode_log(&logs[0]).unwrap();
    assert_eq!(
        (proven.withdrawalHash, proven.from, proven.to),
        (hash, USER, TARGET)
    );
    let extension = IPortal::WithdrawalProvenExtension1::decode_log(&logs[1]).unwrap();
    assert_eq!(
        (extension.withdrawalHash, extension.proofSubmitter),
        (hash, OTHER)
    );
    let record = l1.view(
        sys.portal,
        IPortal::provenWithdrawalsCall::new((hash, OTHER)),
    );
    assert_eq!(
        (record.disputeGameProxy, record.timestamp),
        (game, l1.now())
    );
    assert_eq!(
        l1.view(sys.portal, IPortal::numProofSubmittersCall::new((hash,))),
        U256::from(1)
    );
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "waiting-to-finalize"
    );
    assert_eq!(
        sys.check(&mut l1, hash, OTHER).reverted(),
        "OptimismPortal_ProofNotOldEnough"
    );

    // The proof matures before the game can even resolve.
    l1.warp(MATURITY_DELAY + 1);
    assert_eq!(
        sys.check(&mut l1, hash, OTHER).reverted(),
        "OptimismPortal_InvalidRootClaim"
    );
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "waiting-to-finalize"
    );
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, IGame::resolveCall {}.abi_encode())
            .reverted(),
        "ClockNotExpired"
    );
    l1.warp(CHALLENGE_WINDOW);
    l1.exec(USER, game, U256::ZERO, IGame::resolveCall {});
    assert_eq!(l1.balance(PROPOSER), proposer_before, "the bond is back");
    // Resolved, but not final until the finality delay has passed.
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "waiting-to-finalize"
    );
    assert_eq!(
        sys.finalize(&mut l1, OTHER, &passed).reverted(),
        "OptimismPortal_InvalidRootClaim"
    );
    l1.warp(FINALITY_DELAY);
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "waiting-to-finalize",
        "strictly after"
    );
    l1.warp(1);
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 42),
        "ready-to-finalize"
    );

    // Anyone may finalize with OTHER's proof; the portal pays the target.
    let portal_before = l1.balance(sys.portal);
    let external = IPortal::finalizeWithdrawalTransactionExternalProofCall {
        wtx: passed.tx(),
        proofSubmitter: OTHER,
    };
    let logs = l1.exec(PROPOSER, sys.portal, U256::ZERO, external);
    let finalized = IPortal::WithdrawalFinalized::decode_log(&logs[0]).unwrap();
    assert_eq!((finalized.withdrawalHash, finalized.success), (hash, true));
    assert_eq!(l1.balance(TARGET), ether(2));
    assert_eq!(l1.balance(sys.portal), portal_before - ether(2));
    assert!(l1.view(sys.portal, IPortal::finalizedWithdrawalsCall::new((hash,))));
    assert_eq!(viem_status(&mut l1, &sys, hash, USER, 42), "finalized");

    // Finalizing (or proving) it again is refused.
    assert_eq!(
        sys.finalize(&mut l1, OTHER, &passed).reverted(),
        "OptimismPortal_AlreadyFinalized"
    );
    assert_eq!(
        sys.prove(&mut l1, USER, &passed, 1).reverted(),
        "OptimismPortal_AlreadyFinalized"
    );
    assert_eq!(l1.balance(TARGET), ether(2));
}

#[test]
fn proofs_are_kept_per_submitter() {
    let passed = Passed::new(withdrawal(1, TARGET, ether(1), 50_000), 20, 7);
    let hash = passed.hash();
    let (mut l1, sys, game) = ready(&passed);
    l1.warp(1);
    sys.prove(&mut l1, USER, &passed, 0).ok();
    l1.warp(5);
    sys.prove(&mut l1, OTHER, &passed, 0).ok();
    // Proving again replaces only the caller's own proof and does not list it twice.
    l1.warp(5);
    sys.prove(&mut l1, USER, &passed, 0).ok();
    assert_eq!(
        l1.view(sys.portal, IPortal::numProofSubmittersCall::new((hash,))),
        U256::from(2)
    );
    assert_eq!(
        l1.view(
            sys.portal,
            IPortal::proofSubmittersCall::new((hash, U256::ZERO))
        ),
        USER
    );
    assert_eq!(
        l1.view(
            sys.portal,
            IPortal::proofSubmittersCall::new((hash, U256::from(1)))
        ),
        OTHER
    );
    sys.resolve_after_window(&mut l1, game);
    l1.warp(FINALITY_DELAY + 1);
    // A third party has no proof of its own.
    assert_eq!(
        sys.finalize(&mut l1, PROPOSER, &passed).reverted(),
        "OptimismPortal_Unproven"
    );
    assert!(sys.finalize(&mut l1, OTHER, &passed).is_success());
}

#[test]
fn tampered_storage_proofs_are_refused() {
    let passed = Passed::new(withdrawal(2, TARGET, ether(1), 50_000), 300, 9);
    let (mut l1, sys, _) = ready(&passed);
    assert!(
        passed.storage_proof.len() >= 3,
        "a proof through branch nodes"
    );

    // A flipped byte anywhere in any node.
    for node in 0..passed.storage_proof.len() {
        for at in [
            0,
            passed.storage_proof[node].len() / 2,
            passed.storage_proof[node].len() - 1,
        ] {
            let mut bad = passed.clone();
            let mut bytes = bad.storage_proof[node].to_vec();
            bytes[at] ^= 0x40;
            bad.storage_proof[node] = bytes.into();
            let outcome = sys.prove(&mut l1, USER, &bad, 0);
            assert!(
                !outcome.is_success(),
                "node {node} byte {at} flipped was accepted"
            );
        }
    }
    // A node missing, or one too many.
    let mut short = passed.clone();
    short.storage_proof.pop();
    assert_eq!(
        sys.prove(&mut l1, USER, &short, 0).reverted(),
        "InvalidMerkleProof"
    );
    let mut long = passed.clone();
    long.storage_proof.push(passed.storage_proof[0].clone());
    assert_eq!(
        sys.prove(&mut l1, USER, &long, 0).reverted(),
        "InvalidMerkleProof"
    );
    // The right proof for another withdrawal (same storage) does not prove this one.
    let mut other = passed.clone();
    other.withdrawal.value += U256::from(1);
    assert_eq!(
        sys.prove(&mut l1, USER, &other, 0).reverted(),
        "InvalidMerkleProof"
    );
    assert!(sys.prove(&mut l1, USER, &passed, 0).is_success());
}

#[test]
fn a_slot_that_is_not_one_is_not_a_withdrawal() {
    // The same slot holding 2 (not `true`) under the claimed storage root.
    let w = withdrawal(3, TARGET, ether(1), 50_000);
    let mut trie = bridge::proof::StorageTrie::new();
    trie.insert(w.storage_slot(), U256::from(2));
    trie.insert(B256::repeat_byte(5), U256::from(5));
    let (root, proof) = trie.proof(w.storage_slot());
    let mut passed = Passed::new(w, 0, 3);
    passed.output.message_passer_storage_root = root;
    passed.storage_proof = proof;
    let (mut l1, sys, _) = ready(&passed);
    assert_eq!(
        sys.prove(&mut l1, USER, &passed, 0).reverted(),
        "InvalidMerkleProof"
    );
}

#[test]
fn a_wrong_output_root_preimage_is_refused() {
    let passed = Passed::new(withdrawal(4, TARGET, ether(1), 50_000), 10, 11);
    let (mut l1, sys, _) = ready(&passed);
    for tamper in 0..4 {
        let mut bad = passed.clone();
        match tamper {
            0 => bad.output.state_root = B256::repeat_byte(9),
            1 => bad.output.block_hash = B256::repeat_byte(9),
            // A storage root the proof does not match either way.
            2 => bad.output.message_passer_storage_root = B256::repeat_byte(9),
            _ => {
                // The right fields under another version are not a v0 preimage.
                let mut call = IPortal::proveWithdrawalTransactionCall {
                    wtx: passed.tx(),
                    disputeGameIndex: U256::ZERO,
                    outputRootProof: passed.output_root_proof(),
                    withdrawalProof: passed.storage_proof.clone(),
                };
                call.outputRootProof.version = B256::with_last_byte(1);
                let outcome = l1.send(USER, sys.portal, U256::ZERO, call.abi_encode());
                assert_eq!(outcome.reverted(), "InvalidProof");
                continue;
            }
        }
        assert_eq!(
            sys.prove(&mut l1, USER, &bad, 0).reverted(),
            "InvalidProof",
            "tamper {tamper}"
        );
    }
    // No such game.
    assert_eq!(sys.prove(&mut l1, USER, &passed, 1).reverted(), "Panic(50)");
}

#[test]
fn games_that_are_not_respected_do_not_count() {
    let passed = Passed::new(withdrawal(5, TARGET, ether(1), 50_000), 10, 12);
    let hash = passed.hash();
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.fund_portal(&mut l1, ether(10));
    sys.add_other_game_type(&mut l1);
    // The same, correct claim under a type the portal does not respect.
    let other = sys.propose(&mut l1, OTHER_GAME_TYPE, passed.output.root(), 12);
    l1.warp(1);
    assert_eq!(
        sys.prove(&mut l1, USER, &passed, 0).reverted(),
        "InvalidGameType"
    );
    assert!(!l1.view(sys.registry, IRegistry::isGameRespectedCall::new((other,))));
    // viem only looks at games of the respected type.
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 12),
        "waiting-to-prove"
    );

    // Proven against a respected game that later stops being respected: prove again.
    let game = sys.propose(&mut l1, GAME_TYPE, passed.output.root(), 12);
    l1.warp(1);
    sys.prove(&mut l1, USER, &passed, 1).ok();
    sys.resolve_after_window(&mut l1, game);
    l1.warp(FINALITY_DELAY + MATURITY_DELAY);
    assert_eq!(
        viem_status(&mut l1, &sys, hash, USER, 12),
        "ready-to-finalize"
    );
    let switch = IRegistry::setRespectedGameTypeCall {
        gameType: OTHER_GAME_TYPE,
    };
    assert_eq!(
        l1.send(USER, sys.registry, U256::ZERO, switch.abi_encode())
            .reverted(),
        "Unauthorized"
    );
    l1.exec(crate::harness::DEPLOYER, sys.registry, U256::ZERO, switch);
    assert_eq!(
        l1.view(sys.portal, IPortal::respectedGameTypeCall {}),
        OTHER_GAME_TYPE
    );
    assert_eq!(
        sys.check(&mut l1, hash, USER).reverted(),
        "OptimismPortal_InvalidRootClaim"
    );
    assert_eq!(viem_status(&mut l1, &sys, hash, USER, 12), "ready-to-prove");
    assert_eq!(
        sys.finalize(&mut l1, USER, &passed).reverted(),
        "OptimismPortal_InvalidRootClaim"
    );
}

#[test]
fn a_failing_target_reverts_the_finalization_and_it_can_be_retried() {
    let w = Withdrawal {
        data: Bytes::from_static(b"hello"),
        ..withdrawal(6, TOGGLED, ether(3), 60_000)
    };
    let passed = Passed::new(w, 30, 13);
    let (mut l1, sys) = proven_and_matured(&passed);
    l1.set_code(TOGGLED, toggled_code());
    let portal_before = l1.balance(sys.portal);

    assert_eq!(
        sys.finalize(&mut l1, USER, &passed).reverted(),
        "CallFailed"
    );
    // Nothing happened: not finalized, the ETH is still in the portal, the status unchanged.
    assert!(!l1.view(
        sys.portal,
        IPortal::finalizedWithdrawalsCall::new((passed.hash(),))
    ));
    assert_eq!(l1.balance(sys.portal), portal_before);
    assert_eq!(l1.balance(TOGGLED), U256::ZERO);
    assert_eq!(
        viem_status(&mut l1, &sys, passed.hash(), USER, 13),
        "ready-to-finalize"
    );
    assert_eq!(
        l1.view(sys.portal, IPortal::l2SenderCall {}),
        address!("0x000000000000000000000000000000000000dEaD")
    );

    // Once the target accepts, the same withdrawal goes through.
    l1.set_storage(TOGGLED, U256::ZERO, U256::from(1));
    assert!(sys.finalize(&mut l1, USER, &passed).is_success());
    assert_eq!(l1.balance(TOGGLED), ether(3));
    assert_eq!(l1.balance(sys.portal), portal_before - ether(3));
}

#[test]
fn the_target_gets_at_least_the_gas_limit() {
    const GAS_LIMIT: u64 = 1_000_000;
    // With value (the CALL costs more, and the target gets a 2,300 stipend) and without.
    for (nonce, value) in [(7, ether(1)), (70, U256::ZERO)] {
        let passed = Passed::new(withdrawal(nonce, RECORDER, value, GAS_LIMIT), 30, 14);
        let (mut l1, sys) = proven_and_matured(&passed);
        l1.set_code(RECORDER, gas_recorder_code());
        let call = IPortal::finalizeWithdrawalTransactionCall { wtx: passed.tx() }.abi_encode();

        // Too little gas for the target to get its limit: refused rather than run short.
        let outcome = l1.send_with_gas(USER, sys.portal, U256::ZERO, call.clone(), 600_000);
        assert_eq!(outcome.reverted(), "OutOfGas");

        // From the least gas that succeeds upward, the target always got its limit.
        let snapshot = l1.snapshot();
        let mut succeeded = 0;
        for gas in (900_000..1_300_000).step_by(3_517) {
            l1.restore(snapshot.clone());
            match l1.send_with_gas(USER, sys.portal, U256::ZERO, call.clone(), gas) {
                Outcome::Success { .. } => {
                    succeeded += 1;
                    // GAS ran once (2 gas) before the target recorded it.
                    let seen = l1.storage(RECORDER, U256::ZERO) + U256::from(2);
                    let stipend = if value.is_zero() { 0 } else { 2_300 };
                    assert!(
                        seen >= U256::from(GAS_LIMIT + stipend),
                        "value {value}, gas {gas}: target saw {seen}"
                    );
                }
                Outcome::Revert(data) => {
                    assert_eq!(crate::harness::revert_name(&data), "OutOfGas", "gas {gas}")
                }
                Outcome::Halt(reason) => panic!("gas {gas}: halted {reason}"),
            }
        }
        assert!(succeeded > 10);
    }
}

#[test]
fn a_target_cannot_finalize_another_withdrawal_from_inside() {
    // Two ready withdrawals; the first's target calls back to finalize the second.
    let second = Passed::new(withdrawal(9, TARGET, ether(1), 50_000), 0, 15);
    let inner = IPortal::finalizeWithdrawalTransactionCall { wtx: second.tx() }.abi_encode();
    let mut first_w = withdrawal(8, REENTRANT, U256::ZERO, 200_000);
    first_w.data = inner.into();

    let mut trie = bridge::proof::StorageTrie::new();
    trie.insert_withdrawal(first_w.hash());
    trie.insert_withdrawal(second.hash());
    let root = trie.root();
    let mut passed = Vec::new();
    for w in [first_w, second.withdrawal.clone()] {
        let mut p = Passed::new(w.clone(), 0, 15);
        p.output.message_passer_storage_root = root;
        p.storage_proof = trie.proof(w.storage_slot()).1;
        passed.push(p);
    }
    let (mut l1, sys, game) = ready(&passed[0]);
    l1.warp(1);
    sys.prove(&mut l1, USER, &passed[0], 0).ok();
    sys.prove(&mut l1, USER, &passed[1], 0).ok();
    sys.resolve_after_window(&mut l1, game);
    l1.warp(FINALITY_DELAY + MATURITY_DELAY);
    l1.set_code(REENTRANT, forwarder_code(sys.portal));

    assert_eq!(
        sys.finalize(&mut l1, USER, &passed[0]).reverted(),
        "CallFailed"
    );
    assert!(!l1.view(
        sys.portal,
        IPortal::finalizedWithdrawalsCall::new((passed[1].hash(),))
    ));
    // Each on its own is fine.
    assert!(sys.finalize(&mut l1, USER, &passed[1]).is_success());
    assert_eq!(l1.balance(TARGET), ether(1));
}

#[test]
fn nothing_before_the_delays() {
    let passed = Passed::new(withdrawal(10, TARGET, ether(1), 50_000), 5, 16);
    let (mut l1, sys, game) = ready(&passed);
    l1.warp(1);
    sys.prove(&mut l1, USER, &passed, 0).ok();
    // The window outlasts the maturity delay: once resolved, only the game's finality is missing.
    const _: () = assert!(CHALLENGE_WINDOW > MATURITY_DELAY);
    sys.resolve_after_window(&mut l1, game);
    let snapshot = l1.snapshot();

    // Re-prove late: the proof's own clock restarts.
    l1.warp(FINALITY_DELAY + 1);
    sys.prove(&mut l1, USER, &passed, 0).ok();
    assert_eq!(
        sys.finalize(&mut l1, USER, &passed).reverted(),
        "OptimismPortal_ProofNotOldEnough"
    );
    l1.warp(MATURITY_DELAY);
    assert_eq!(
        sys.finalize(&mut l1, USER, &passed).reverted(),
        "OptimismPortal_ProofNotOldEnough"
    );
    l1.warp(1);
    assert!(sys.finalize(&mut l1, USER, &passed).is_success());

    // The game's finality delay, to the second.
    l1.restore(snapshot);
    l1.warp(FINALITY_DELAY);
    assert_eq!(
        sys.finalize(&mut l1, USER, &passed).reverted(),
        "OptimismPortal_InvalidRootClaim"
    );
    l1.warp(1);
    assert!(sys.finalize(&mut l1, USER, &passed).is_success());
}

#[test]
fn withdrawals_to_the_portal_itself_are_refused() {
    let passed_for = |portal: Address| {
        Passed::new(
            Withdrawal {
                target: portal,
                ..withdrawal(11, TARGET, U256::ZERO, 50_000)
            },
            0,
            17,
        )
    };
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let passed = passed_for(sys.portal);
    sys.propose(&mut l1, GAME_TYPE, passed.output.root(), 17);
    assert_eq!(sys.prove(&mut l1, USER, &passed, 0).reverted(), "BadTarget");
}
