//! The bisection dispute game (fraud-vm/contracts/game/BisectionGame.sol, fraud-vm/SPEC.md §12)
//! in revm, behind the bridge's factory, registry and portal. The step verifier is the TEST
//! DOUBLE `StepVerifierDouble` (see `bisection.rs`): these tests hold the game's rules, not the
//! verifier's.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::{SolCall, SolValue};
use serde_json::Value;

use crate::bisection::{
    Answers, Arena, BISECTION_TYPE, CHALLENGER, CHALLENGER_WON, Chain, Claims, DEFENDER,
    DEFENDER_WON, EXTENSION, IAnchors, IBisection, IVerifierDouble, MAX_CLOCK, Move, REFUNDED,
    challenge, challenge_bond, end_proof, end_state, get, next_move, play, send_move, start_state,
};
use crate::harness::{
    DEPLOYER, FINALITY_DELAY, IRegistry, L1, MATURITY_DELAY, OTHER, PROPOSER, Passed, USER,
    artifact, bond, ether, withdrawal,
};
use crate::viem::viem_status;

const CHALLENGERS: [Address; 3] = [USER, OTHER, DEPLOYER];

fn credit(l1: &mut L1, game: Address, who: Address) -> U256 {
    l1.view(game, IBisection::creditCall { who })
}

fn status(l1: &mut L1, game: Address) -> u8 {
    l1.view(game, IBisection::statusCall {})
}

/// Collects every credit of `who`s and checks the game is left empty.
fn pay_out(l1: &mut L1, game: Address, who: &[Address]) {
    for &recipient in who {
        if credit(l1, game, recipient) > U256::ZERO {
            l1.exec(
                OTHER,
                game,
                U256::ZERO,
                IBisection::claimCreditCall { recipient },
            );
        }
    }
    assert_eq!(l1.balance(game), U256::ZERO, "the game paid out every wei");
}

#[test]
fn the_game_has_every_function_of_the_dispute_game_interface() {
    let names = |value: Value| -> Vec<String> {
        value["abi"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["type"] == "function")
            .map(crate::harness::signature)
            .collect()
    };
    let game = names(artifact("BisectionGame"));
    // bridge/artifacts/IDisputeGame.json: what the factory, registry and portal call.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/IDisputeGame.json");
    let bridge: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for function in names(bridge) {
        assert!(game.contains(&function), "BisectionGame lacks {function}");
    }
}

#[test]
fn a_game_starts_from_the_anchor_and_an_unchallenged_claim_stands_after_the_window() {
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(6, 1), true);
    let chain = &arena.chain;
    let before = l1.balance(PROPOSER);
    let game = arena.propose(&mut l1, chain.output(4), 4);
    assert_eq!(l1.balance(game), bond());
    assert_eq!(
        l1.view(game, IBisection::startingOutputRootCall {}),
        chain.output(0)
    );
    assert_eq!(
        l1.view(game, IBisection::startingBlockNumberCall {}),
        U256::ZERO
    );
    assert_eq!(l1.view(game, IBisection::verifierCall {}), arena.verifier);
    assert_eq!(
        l1.view(game, IBisection::anchorStateRegistryCall {}),
        arena.sys.registry
    );

    let resolve = IBisection::resolveCall {}.abi_encode();
    l1.warp(MAX_CLOCK - 1);
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, resolve.clone()).reverted(),
        "ClockNotExpired"
    );
    l1.warp(1);
    // The window is closed to challenges from the second the claim can be resolved.
    assert_eq!(
        l1.send(
            USER,
            game,
            challenge_bond(),
            IBisection::challengeCall {}.abi_encode()
        )
        .reverted(),
        "ChallengeWindowClosed"
    );
    l1.send(OTHER, game, U256::ZERO, resolve.clone()).ok();
    assert_eq!(status(&mut l1, game), 2, "DEFENDER_WINS");
    assert_eq!(credit(&mut l1, game, PROPOSER), bond());
    pay_out(&mut l1, game, &[PROPOSER]);
    assert_eq!(l1.balance(PROPOSER), before);

    // Valid once final; then the anchor moves to it, and later games start there.
    let anchor = |l1: &mut L1| l1.view(arena.sys.registry, IAnchors::getAnchorRootCall {});
    let advance = IAnchors::setAnchorStateCall { game }.abi_encode();
    assert_eq!(
        l1.send(OTHER, arena.sys.registry, U256::ZERO, advance.clone())
            .reverted(),
        "AnchorNotAdvanced"
    );
    l1.warp(FINALITY_DELAY + 1);
    assert!(l1.view(
        arena.sys.registry,
        IRegistry::isGameClaimValidCall::new((game,))
    ));
    l1.send(OTHER, arena.sys.registry, U256::ZERO, advance.clone())
        .ok();
    let now = anchor(&mut l1);
    assert_eq!(
        (now.root, now.l2BlockNumber),
        (chain.output(4), U256::from(4))
    );
    assert_eq!(
        l1.send(OTHER, arena.sys.registry, U256::ZERO, advance)
            .reverted(),
        "AnchorNotAdvanced",
        "not above the anchor any more"
    );
    let create = |root: B256, l2_block: u64| crate::harness::IFactory::createCall {
        gameType: BISECTION_TYPE,
        rootClaim: root,
        extraData: U256::from(l2_block).abi_encode().into(),
    };
    assert_eq!(
        l1.send(
            PROPOSER,
            arena.sys.factory,
            bond(),
            create(chain.output(3), 3).abi_encode()
        )
        .reverted(),
        "BadExtraData",
        "a claim at or below the anchor"
    );
    let later = arena.propose(&mut l1, chain.output(6), 6);
    assert_eq!(
        l1.view(later, IBisection::startingBlockNumberCall {}),
        U256::from(4)
    );
    assert_eq!(
        l1.view(later, IBisection::startingOutputRootCall {}),
        chain.output(4)
    );
    // Only the owner sets the anchor by hand.
    let set = IAnchors::setAnchorRootCall {
        root: B256::ZERO,
        l2BlockNumber: U256::ZERO,
    };
    assert_eq!(
        l1.send(OTHER, arena.sys.registry, U256::ZERO, set.abi_encode())
            .reverted(),
        "Unauthorized"
    );
}

/// An honest proposer against challengers that answer by a pattern: whatever they answer, the
/// bisection ends at a step the honest trace proves, over layer 1 and layer 2.
#[test]
fn an_honest_proposer_wins_against_any_answers() {
    for (seed, claimed, pattern) in [
        (1, 1, 0u64),
        (2, 9, 0),
        (3, 9, u64::MAX),
        (4, 16, 0x5555_5555_5555_5555),
        (5, 13, 0x0f0f_0f0f_3333_cccc),
    ] {
        let mut l1 = L1::new();
        let arena = Arena::deploy(&mut l1, Chain::new(claimed, seed), true);
        let chain = &arena.chain;
        let game = arena.propose(&mut l1, chain.output(claimed), claimed);
        let id = challenge(&mut l1, game, USER);
        let (outcome, _) = play(
            &mut l1,
            chain,
            game,
            id,
            (PROPOSER, Claims::Honest),
            (USER, Answers::Pattern(pattern)),
            3,
        );
        assert_eq!(outcome, DEFENDER_WON, "seed {seed} pattern {pattern:#x}");
        let c = get(&mut l1, game, id);
        assert_eq!(c.layer, 2, "decided by a step");
        assert_eq!(
            credit(&mut l1, game, PROPOSER),
            challenge_bond(),
            "the challenge bond goes to the defender"
        );
        assert_eq!(credit(&mut l1, game, USER), U256::ZERO);
        // The window may still be open: the claim stands only after it.
        l1.warp(MAX_CLOCK);
        l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
        assert_eq!(status(&mut l1, game), 2, "DEFENDER_WINS");
        assert_eq!(credit(&mut l1, game, PROPOSER), bond() + challenge_bond());
        pay_out(&mut l1, game, &[PROPOSER, USER]);
    }
}

/// A proposer that lies (from some block on; in layer 2 from some step on, claiming fewer, as
/// many or more steps than the block has) loses to an honest challenger, which takes both bonds.
#[test]
fn a_lying_proposer_loses_to_an_honest_challenger() {
    let chain_blocks = 12;
    let cases = [
        (1, 1, 0, 1),
        (1, 1, 0, 40),
        (12, 12, 3, 2),
        (12, 5, 0, 3),
        (12, 5, 2, 30),
        (12, 7, 100, 100),
        (9, 2, 5, 5),
    ];
    for (claimed, from_block, diverge, steps) in cases {
        for seed in [7, 8] {
            let mut l1 = L1::new();
            let arena = Arena::deploy(&mut l1, Chain::new(chain_blocks, seed), true);
            let chain = &arena.chain;
            let claims = Claims::Lie {
                from_block,
                diverge,
                steps,
            };
            let root = claims.output(chain, claimed);
            let game = arena.propose(&mut l1, root, claimed);
            let id = challenge(&mut l1, game, USER);
            let (outcome, _) = play(
                &mut l1,
                chain,
                game,
                id,
                (PROPOSER, claims),
                (USER, Answers::Honest),
                3,
            );
            let c = get(&mut l1, game, id);
            assert_eq!(outcome, CHALLENGER_WON, "{claims:?} claimed {claimed}");
            assert_eq!(c.stepBlock, from_block, "layer 1 finds the first bad block");
            assert_eq!(
                credit(&mut l1, game, USER),
                bond() + challenge_bond(),
                "the challenger takes both bonds"
            );
            // The claim falls at once; nothing more can be opened or moved.
            l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
            assert_eq!(status(&mut l1, game), 1, "CHALLENGER_WINS");
            assert_eq!(
                l1.send(
                    OTHER,
                    game,
                    challenge_bond(),
                    IBisection::challengeCall {}.abi_encode()
                )
                .reverted(),
                "GameNotInProgress"
            );
            pay_out(&mut l1, game, &[PROPOSER, USER]);
        }
    }
}

/// Each side of a challenge loses when its clock runs out, and not a second before.
#[test]
fn the_side_that_runs_out_of_time_loses() {
    for silent in [DEFENDER, CHALLENGER] {
        let mut l1 = L1::new();
        let arena = Arena::deploy(&mut l1, Chain::new(8, 3), true);
        let chain = &arena.chain;
        let game = arena.propose(&mut l1, chain.output(8), 8);
        let id = challenge(&mut l1, game, USER);
        if silent == CHALLENGER {
            let c = get(&mut l1, game, id);
            let mv = next_move(chain, &c, Claims::Honest, Answers::Honest, 0);
            send_move(&mut l1, game, id, mv, PROPOSER, USER).ok();
        }
        let end = IBisection::resolveChallengeCall { id }.abi_encode();
        l1.warp(MAX_CLOCK);
        assert_eq!(
            l1.send(OTHER, game, U256::ZERO, end.clone()).reverted(),
            "ClockNotExpired",
            "silent {silent}: exactly its clock left"
        );
        l1.warp(1);
        l1.send(OTHER, game, U256::ZERO, end.clone()).ok();
        let c = get(&mut l1, game, id);
        let (winner, loser) = if silent == DEFENDER {
            (USER, PROPOSER)
        } else {
            (PROPOSER, USER)
        };
        assert_eq!(
            c.outcome,
            if silent == DEFENDER {
                CHALLENGER_WON
            } else {
                DEFENDER_WON
            }
        );
        assert_eq!(
            l1.send(OTHER, game, U256::ZERO, end).reverted(),
            "ChallengeOver"
        );
        l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
        // Either way the winner holds both bonds: the challenger wins the proposer's at once,
        // the defender gets its own back when the claim stands.
        assert_eq!(credit(&mut l1, game, winner), bond() + challenge_bond());
        assert_eq!(credit(&mut l1, game, loser), U256::ZERO);
        pay_out(&mut l1, game, &[PROPOSER, USER]);
    }
}

/// A challenge opened at the last second of the window, and a move made at the last second of one
/// side's clock, take nothing from the other side's clock; a side whose clock is spent gets the
/// extension when its turn comes.
#[test]
fn a_last_second_move_leaves_the_other_side_its_time() {
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(16, 4), true);
    let chain = &arena.chain;
    let game = arena.propose(&mut l1, chain.output(16), 16);
    // Opened at the last second of the window: the defender still has its whole clock.
    l1.warp(MAX_CLOCK - 1);
    let id = challenge(&mut l1, game, USER);
    let time_left = |l1: &mut L1| l1.view(game, IBisection::timeLeftCall { id });
    let step = |l1: &mut L1, mover: u8| {
        let c = get(l1, game, id);
        assert_eq!(c.turn, mover);
        let mv = next_move(chain, &c, Claims::Honest, Answers::Honest, 0);
        send_move(l1, game, id, mv, PROPOSER, USER)
    };

    // The defender answers at its last second: the challenger still has all of its clock.
    l1.warp(MAX_CLOCK);
    assert_eq!(time_left(&mut l1), 0);
    step(&mut l1, DEFENDER).ok();
    assert_eq!(get(&mut l1, game, id).defenderClock, 0);
    assert_eq!(
        time_left(&mut l1),
        MAX_CLOCK,
        "the challenger's clock is untouched"
    );
    // The challenger answers at its last second too; the defender's spent clock is raised to the
    // extension, no more.
    l1.warp(MAX_CLOCK);
    step(&mut l1, CHALLENGER).ok();
    assert_eq!(time_left(&mut l1), EXTENSION);
    // One second past the clock, a move is refused and the challenge can be ended.
    l1.warp(EXTENSION + 1);
    let c = get(&mut l1, game, id);
    let mv = next_move(chain, &c, Claims::Honest, Answers::Honest, 0);
    assert_eq!(
        send_move(&mut l1, game, id, mv, PROPOSER, USER).reverted(),
        "ClockExpired"
    );
    l1.exec(
        OTHER,
        game,
        U256::ZERO,
        IBisection::resolveChallengeCall { id },
    );
    assert_eq!(get(&mut l1, game, id).outcome, CHALLENGER_WON);
}

/// Many challengers, the proposer among them: an honest claim stands once every challenge ended
/// in its favour, and collects every challenge bond; a lying claim falls to the first honest
/// challenger to win, who alone takes the proposer's bond, and every other open challenge is
/// refunded, never rewarded.
#[test]
fn many_challengers_each_get_what_they_earned() {
    // Honest claim: three challengers and the proposer countering itself.
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(10, 5), true);
    let chain = &arena.chain;
    let game = arena.propose(&mut l1, chain.output(10), 10);
    // The game's L1 view as a number (what `startSteps` gives the block start, SPEC §12.6): the
    // block before the one that created it.
    assert_eq!(
        l1.view(game, IBisection::l1HeadNumberCall {}),
        l1.number() - 1
    );
    let mut ids = Vec::new();
    for who in CHALLENGERS.into_iter().chain([PROPOSER]) {
        ids.push((who, challenge(&mut l1, game, who)));
        l1.warp(7);
    }
    assert_eq!(
        l1.view(game, IBisection::openChallengesCall {}),
        U256::from(4)
    );
    let created: u64 = l1.view(game, crate::harness::IGame::createdAtCall {});
    for (i, &(who, id)) in ids.iter().enumerate() {
        if i == 3 {
            // The window has passed, yet resolving waits for the open challenge.
            l1.warp(created + MAX_CLOCK - l1.now());
            assert_eq!(
                l1.send(
                    OTHER,
                    game,
                    U256::ZERO,
                    IBisection::resolveCall {}.abi_encode()
                )
                .reverted(),
                "ClockNotExpired"
            );
        }
        let answers = Answers::Pattern(0x9e37_79b9_7f4a_7c15 >> i);
        let (outcome, _) = play(
            &mut l1,
            chain,
            game,
            id,
            (PROPOSER, Claims::Honest),
            (who, answers),
            1,
        );
        assert_eq!(outcome, DEFENDER_WON);
    }
    l1.warp(MAX_CLOCK);
    l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
    assert_eq!(status(&mut l1, game), 2);
    assert_eq!(
        credit(&mut l1, game, PROPOSER),
        bond() + challenge_bond() * U256::from(4)
    );
    pay_out(&mut l1, game, &[PROPOSER, USER, OTHER, DEPLOYER]);

    // Lying claim: a dishonest challenger that loses, then two honest ones.
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(10, 6), true);
    let chain = &arena.chain;
    let claims = Claims::Lie {
        from_block: 4,
        diverge: 1,
        steps: 9,
    };
    let game = arena.propose(&mut l1, claims.output(chain, 10), 10);
    // A shill challenges first, then stops answering; two honest challengers come near the end
    // of the window.
    let shill = challenge(&mut l1, game, DEPLOYER);
    let c = get(&mut l1, game, shill);
    let mv = next_move(chain, &c, claims, Answers::Honest, 0);
    l1.warp(1);
    send_move(&mut l1, game, shill, mv, PROPOSER, DEPLOYER).ok();
    l1.warp(MAX_CLOCK - 2);
    let first = challenge(&mut l1, game, USER);
    let second = challenge(&mut l1, game, OTHER);
    // The shill's clock started at the liar's move, MAX_CLOCK + 1 seconds ago.
    l1.warp(3);
    l1.exec(
        OTHER,
        game,
        U256::ZERO,
        IBisection::resolveChallengeCall { id: shill },
    );
    assert_eq!(get(&mut l1, game, shill).outcome, DEFENDER_WON);
    assert_eq!(credit(&mut l1, game, PROPOSER), challenge_bond());
    // The liar still has to answer the honest challengers; it has its whole clock in each.
    let (outcome, _) = play(
        &mut l1,
        chain,
        game,
        first,
        (PROPOSER, claims),
        (USER, Answers::Honest),
        2,
    );
    assert_eq!(outcome, CHALLENGER_WON);
    // The second challenge is frozen and refunded, without the reward.
    let c = get(&mut l1, game, second);
    let mv = next_move(chain, &c, claims, Answers::Honest, 0);
    assert_eq!(
        send_move(&mut l1, game, second, mv, PROPOSER, OTHER).reverted(),
        "GameNotInProgress"
    );
    l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
    assert_eq!(status(&mut l1, game), 1);
    l1.exec(
        USER,
        game,
        U256::ZERO,
        IBisection::resolveChallengeCall { id: second },
    );
    assert_eq!(get(&mut l1, game, second).outcome, REFUNDED);
    assert_eq!(credit(&mut l1, game, USER), bond() + challenge_bond());
    assert_eq!(credit(&mut l1, game, OTHER), challenge_bond());
    assert_eq!(credit(&mut l1, game, PROPOSER), challenge_bond());
    assert_eq!(credit(&mut l1, game, DEPLOYER), U256::ZERO);
    pay_out(&mut l1, game, &[PROPOSER, USER, OTHER, DEPLOYER]);
}

#[test]
fn bad_moves_are_refused() {
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(4, 9), true);
    let chain = &arena.chain;
    let game = arena.propose(&mut l1, chain.output(4), 4);
    let send = |l1: &mut L1, from: Address, value: U256, call: Vec<u8>| {
        l1.send(from, game, value, call).reverted()
    };
    let challenge_call = IBisection::challengeCall {}.abi_encode();
    // The implementation is never a game.
    let init = crate::harness::IGame::initializeCall {
        creator: OTHER,
        rootClaim: B256::ZERO,
        extraData: U256::from(5).abi_encode().into(),
    };
    assert_eq!(
        l1.send(OTHER, arena.game_impl, U256::ZERO, init.abi_encode())
            .reverted(),
        "AlreadyInitialized"
    );
    assert_eq!(
        l1.send(
            OTHER,
            arena.game_impl,
            challenge_bond(),
            challenge_call.clone()
        )
        .reverted(),
        "GameNotInProgress"
    );
    assert_eq!(
        send(
            &mut l1,
            USER,
            challenge_bond() - U256::from(1),
            challenge_call.clone()
        ),
        "IncorrectBondAmount"
    );
    let id = challenge(&mut l1, game, USER);
    let defend = |claim| IBisection::defendCall { id, claim }.abi_encode();
    let answer = IBisection::answerCall { id, agree: true }.abi_encode();
    assert_eq!(
        send(&mut l1, USER, U256::ZERO, defend(B256::ZERO)),
        "NotYourTurn"
    );
    assert_eq!(
        send(&mut l1, PROPOSER, U256::ZERO, answer.clone()),
        "NotYourTurn"
    );
    assert_eq!(
        send(&mut l1, USER, U256::ZERO, answer.clone()),
        "NotYourTurn"
    );
    let no_such = IBisection::defendCall {
        id: U256::from(5),
        claim: B256::ZERO,
    };
    assert_eq!(
        send(&mut l1, PROPOSER, U256::ZERO, no_such.abi_encode()),
        "NoSuchChallenge"
    );
    let start = |steps: u64, end: B256, proof: Bytes| {
        IBisection::startStepsCall {
            id,
            stepCount: steps,
            endState: end,
            startProof: Bytes::new(),
            endProof: proof,
        }
        .abi_encode()
    };
    assert_eq!(
        send(
            &mut l1,
            PROPOSER,
            U256::ZERO,
            start(1, B256::ZERO, Bytes::new())
        ),
        "WrongMove",
        "layer 1 has more than one block left"
    );
    // Down to block 1 (agree with nothing): answer "disagree" twice.
    for _ in 0..2 {
        let c = get(&mut l1, game, id);
        let mv = next_move(chain, &c, Claims::Honest, Answers::Honest, 0);
        send_move(&mut l1, game, id, mv, PROPOSER, USER).ok();
        let answer = IBisection::answerCall { id, agree: false };
        l1.exec(USER, game, U256::ZERO, answer);
    }
    let c = get(&mut l1, game, id);
    assert_eq!((c.agreedPos, c.disputedPos), (0, 1));
    assert_eq!(
        send(&mut l1, PROPOSER, U256::ZERO, defend(B256::ZERO)),
        "WrongMove"
    );
    let output = chain.output(1);
    let (good_end, good_proof) = (end_state(output, B256::ZERO), end_proof(output, B256::ZERO));
    let wrong = chain.output(2);
    assert_eq!(
        send(
            &mut l1,
            PROPOSER,
            U256::ZERO,
            start(0, good_end, good_proof.clone())
        ),
        "BadStepCount"
    );
    assert_eq!(
        send(
            &mut l1,
            PROPOSER,
            U256::ZERO,
            start((1 << 48) + 1, good_end, good_proof.clone())
        ),
        "BadStepCount"
    );
    assert_eq!(
        send(
            &mut l1,
            PROPOSER,
            U256::ZERO,
            start(
                3,
                end_state(wrong, B256::ZERO),
                end_proof(wrong, B256::ZERO)
            )
        ),
        "EndStateMismatch"
    );
    assert_eq!(
        send(
            &mut l1,
            PROPOSER,
            U256::ZERO,
            start(3, good_end, end_proof(wrong, B256::ZERO))
        ),
        "BadProof",
        "the verifier's own error"
    );
    let steps = chain.steps(1);
    l1.send(
        PROPOSER,
        game,
        U256::ZERO,
        start(steps, good_end, good_proof),
    )
    .ok();
    let c = get(&mut l1, game, id);
    assert_eq!(
        c.agreedClaim,
        start_state(chain.output(0), 1),
        "s_0 derived on chain"
    );
    assert_eq!((c.layer, c.agreedPos, c.disputedPos), (2, 0, steps));
    // Down to the leaf honestly, then a step with a bad proof reverts and changes nothing.
    loop {
        let c = get(&mut l1, game, id);
        let mv = next_move(chain, &c, Claims::Honest, Answers::Honest, 0);
        if let Move::Step(_) = mv {
            break;
        }
        send_move(&mut l1, game, id, mv, PROPOSER, USER).ok();
    }
    let bad = IBisection::stepCall {
        id,
        proof: Bytes::from_static(&[1, 2, 3]),
    };
    assert_eq!(
        send(&mut l1, OTHER, U256::ZERO, bad.abi_encode()),
        "BadProof"
    );
    assert_eq!(get(&mut l1, game, id).outcome, 0);
    // Anyone may run the honest step; it decides for the defender.
    let c = get(&mut l1, game, id);
    let proof = Claims::Honest.step_proof(chain, 1, c.agreedClaim);
    l1.exec(OTHER, game, U256::ZERO, IBisection::stepCall { id, proof });
    assert_eq!(get(&mut l1, game, id).outcome, DEFENDER_WON);
    // The double itself: no step from a state outside the true traces.
    let unknown = IVerifierDouble::stepCall {
        pre: B256::repeat_byte(9),
        proof: Bytes::new(),
    };
    assert_eq!(l1.try_view(arena.verifier, unknown).reverted(), "BadProof");
}

/// A 1,000-block claim that lies from block 617 on, played to the end by an honest challenger:
/// the gas of each move (printed), and the lost game refused by the portal.
#[test]
fn gas_of_each_move_in_a_dispute() {
    let mut l1 = L1::new();
    let blocks = 1000;
    let arena = Arena::deploy(&mut l1, Chain::new(blocks, 11), true);
    let chain = &arena.chain;
    let claims = Claims::Lie {
        from_block: 617,
        diverge: 3,
        steps: 9,
    };
    let game = arena.propose(&mut l1, claims.output(chain, blocks), blocks);
    let create = l1.last_gas_used;
    challenge(&mut l1, game, USER);
    let open = l1.last_gas_used;
    let (outcome, gas) = play(
        &mut l1,
        chain,
        game,
        U256::ZERO,
        (PROPOSER, claims),
        (USER, Answers::Honest),
        5,
    );
    assert_eq!(outcome, CHALLENGER_WON);
    l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
    let resolve = l1.last_gas_used;
    l1.exec(
        OTHER,
        game,
        U256::ZERO,
        IBisection::claimCreditCall { recipient: USER },
    );
    let claim = l1.last_gas_used;
    let max = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    eprintln!(
        "bisection game gas, 1000-block claim, lie from block 617 (layer 2: 9 claimed steps):\n  \
         create {create}, challenge {open}, resolve {resolve}, claimCredit {claim}\n  \
         defender: {} defend moves (max {}), startSteps {:?}, step {:?}; total {}\n  \
         challenger: {} answers (max {}); total with challenge and claim {}",
        gas.defend.len(),
        max(&gas.defend),
        gas.start_steps,
        gas.step,
        sum(&gas.defend) + sum(&gas.start_steps) + sum(&gas.step),
        gas.answer.len(),
        max(&gas.answer),
        sum(&gas.answer) + open + claim,
    );
    // 10 block moves (ceil(log2 1000)), at most ceil(log2 9) = 4 step moves.
    assert!(
        (13..=14).contains(&gas.defend.len()),
        "{} defend moves",
        gas.defend.len()
    );
    assert_eq!(gas.answer.len(), gas.defend.len());
    assert!(max(&gas.defend) < 100_000 && max(&gas.answer) < 100_000);

    // The forged claim could have carried any withdrawal; proving against a lost game fails.
    let passed = Passed::new(withdrawal(0, OTHER, U256::from(1), 50_000), 3, blocks);
    assert_eq!(
        arena.sys.prove(&mut l1, OTHER, &passed, 0).reverted(),
        "InvalidDisputeGame"
    );
}

/// The proposer countering itself: a lying proposer that wins a challenge against its own claim
/// before the honest challenger does only abandons the claim. The lie still falls and no
/// withdrawal can use it; the proposer recovers its bond (it loses only gas, as a Sybil of it
/// would in the OP Stack's game), and the honest challenger gets its bond back without a reward
/// (fraud-vm/SPEC.md §12.5).
#[test]
fn a_proposer_countering_itself_only_abandons_its_claim() {
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(8, 12), true);
    let chain = &arena.chain;
    let claims = Claims::Lie {
        from_block: 8,
        diverge: 0,
        steps: 3,
    };
    let game = arena.propose(&mut l1, claims.output(chain, 8), 8);
    let honest = challenge(&mut l1, game, USER);
    let own = challenge(&mut l1, game, PROPOSER);
    let (outcome, _) = play(
        &mut l1,
        chain,
        game,
        own,
        (PROPOSER, claims),
        (PROPOSER, Answers::Honest),
        1,
    );
    assert_eq!(outcome, CHALLENGER_WON);
    l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
    assert_eq!(
        status(&mut l1, game),
        1,
        "CHALLENGER_WINS: the lie falls all the same"
    );
    l1.exec(
        OTHER,
        game,
        U256::ZERO,
        IBisection::resolveChallengeCall { id: honest },
    );
    assert_eq!(get(&mut l1, game, honest).outcome, REFUNDED);
    assert_eq!(credit(&mut l1, game, USER), challenge_bond());
    assert_eq!(
        credit(&mut l1, game, PROPOSER),
        bond() + challenge_bond(),
        "the proposer recovers what it staked"
    );
    pay_out(&mut l1, game, &[PROPOSER, USER]);
}

/// The honest path through the portal: a withdrawal passed on L2 is proven against a
/// `BisectionGame` of the respected type, the game is challenged by an account that answers
/// wrongly and defended, resolves DEFENDER_WINS after its window, and the withdrawal finalizes;
/// viem's status walks every stage.
#[test]
fn an_honest_withdrawal_finalizes_through_a_defended_bisection_game() {
    let target = alloy::primitives::address!("0x7000000000000000000000000000000000000007");
    let passed = Passed::new(withdrawal(0, target, ether(2), 50_000), 20, 12);
    let root = passed.output.root();
    let mut l1 = L1::new();
    let chain = Chain::with_outputs(12, 13, &[(12, root)]);
    let arena = Arena::deploy(&mut l1, chain, true);
    let (sys, chain) = (&arena.sys, &arena.chain);
    sys.fund_portal(&mut l1, ether(10));
    let hash = passed.hash();
    let status_of = |l1: &mut L1| viem_status(l1, sys, hash, USER, 12);
    assert_eq!(status_of(&mut l1), "waiting-to-prove");

    let game = arena.propose(&mut l1, root, 12);
    assert_eq!(status_of(&mut l1), "ready-to-prove");
    l1.warp(1);
    sys.prove(&mut l1, USER, &passed, 0).ok();
    assert_eq!(status_of(&mut l1), "waiting-to-finalize");

    let id = challenge(&mut l1, game, OTHER);
    let (outcome, _) = play(
        &mut l1,
        chain,
        game,
        id,
        (PROPOSER, Claims::Honest),
        (OTHER, Answers::Pattern(0xdead_beef)),
        2,
    );
    assert_eq!(outcome, DEFENDER_WON);
    assert_eq!(status_of(&mut l1), "waiting-to-finalize");
    l1.warp(MAX_CLOCK);
    l1.exec(OTHER, game, U256::ZERO, IBisection::resolveCall {});
    assert_eq!(status(&mut l1, game), 2);
    assert_eq!(status_of(&mut l1), "waiting-to-finalize");
    l1.warp(FINALITY_DELAY.max(MATURITY_DELAY) + 1);
    assert_eq!(status_of(&mut l1), "ready-to-finalize");
    sys.finalize(&mut l1, USER, &passed).ok();
    assert_eq!(l1.balance(target), ether(2));
    assert_eq!(status_of(&mut l1), "finalized");
    assert_eq!(credit(&mut l1, game, PROPOSER), bond() + challenge_bond());
    pay_out(&mut l1, game, &[PROPOSER, OTHER]);
}
