//! What the portal trusts about proposals. Both tests failed against the first contracts (only
//! `ProposalGame`, which stands if unchallenged, and a registry that compared only game types);
//! they pass since the bisection game can be the respected type and the registry retires games
//! on every switch of that type (see "Known weaknesses" in bridge/CONTRACTS.md). The random
//! sequences of `portal_invariants.rs` assume an honest challenger that makes every fraud game
//! lose; the first test plays that challenger for real (the step verifier is the test double of
//! `bisection.rs`).

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::{SolCall, SolValue};

use crate::bisection::{
    Arena, BISECTION_TYPE, CHALLENGER_WON, Chain, IBisection, MAX_CLOCK, challenge, challenge_bond,
    end_proof, end_state, get,
};
use crate::harness::{
    CHALLENGE_WINDOW, DEPLOYER, FINALITY_DELAY, GAME_TYPE, IFactory, IGame, IRegistry, L1,
    MATURITY_DELAY, OTHER, OTHER_GAME_TYPE, Passed, System, USER, bond, ether, withdrawal,
};

/// The attacker of both tests: any account with the bond, not the devnet's proposer.
const THIEF: Address = OTHER;
/// The honest challenger: any account that runs the L2 and watches the games.
const WATCHER: Address = USER;

/// `THIEF` creates a game of `game_type` claiming `passed`'s output; returns the game.
fn forge(l1: &mut L1, sys: &System, game_type: u32, passed: &Passed) -> Address {
    let create = IFactory::createCall {
        gameType: game_type,
        rootClaim: passed.output.root(),
        extraData: U256::from(passed.l2_block).abi_encode().into(),
    };
    let bond = l1.view(sys.factory, IFactory::initBondsCall::new((game_type,)));
    let (output, _) = l1.send(THIEF, sys.factory, bond, create.abi_encode()).ok();
    IFactory::createCall::abi_decode_returns(&output).expect("create returns the game")
}

/// Safety of the bridge: a withdrawal the L2 never passed is never paid. `THIEF` claims an
/// output whose message-passer storage holds a withdrawal of the portal's whole balance to itself
/// (no L2 passed it), as a `BisectionGame` of the respected type, and proves the withdrawal at
/// once. `WATCHER`, whose L2 (here the test double's chain) disagrees with the claim, challenges
/// it; the thief opens the steps of block 1 with a fake end state that opens to its output, and
/// the one-step proof from the agreed `s_0` refutes it. The game resolves CHALLENGER_WINS and the
/// watcher takes both bonds; no finalization ever pays. (Against the old `ProposalGame`, which
/// has no challenge path, the claim stood after its window and the portal was drained.)
#[test]
fn a_withdrawal_never_passed_on_l2_is_never_paid() {
    let mut l1 = L1::new();
    let arena = Arena::deploy(&mut l1, Chain::new(1, 0), true);
    let sys = &arena.sys;
    sys.fund_portal(&mut l1, ether(100));
    let loot = l1.balance(sys.portal);
    let mut forged = withdrawal(0, THIEF, loot, 50_000);
    forged.sender = THIEF;
    let passed = Passed::new(forged, 10, 1);
    let thief_before = l1.balance(THIEF);

    let game = forge(&mut l1, sys, BISECTION_TYPE, &passed);
    l1.warp(1);
    sys.prove(&mut l1, THIEF, &passed, 0).ok();
    let id = challenge(&mut l1, game, WATCHER);
    let root = passed.output.root();
    let salt = B256::with_last_byte(1);
    let start = IBisection::startStepsCall {
        id,
        stepCount: 1,
        endState: end_state(root, salt),
        startProof: Bytes::new(),
        endProof: end_proof(root, salt),
    };
    l1.exec(THIEF, game, U256::ZERO, start);
    l1.exec(
        WATCHER,
        game,
        U256::ZERO,
        IBisection::stepCall {
            id,
            proof: Bytes::new(),
        },
    );
    assert_eq!(get(&mut l1, game, id).outcome, CHALLENGER_WON);
    l1.warp(CHALLENGE_WINDOW.max(MAX_CLOCK));
    l1.exec(THIEF, game, U256::ZERO, IGame::resolveCall {});
    assert_eq!(l1.view(game, IGame::statusCall {}), 1, "CHALLENGER_WINS");
    l1.warp(FINALITY_DELAY.max(MATURITY_DELAY) + 1);
    let outcome = sys.finalize(&mut l1, THIEF, &passed);

    assert!(
        !outcome.is_success(),
        "a withdrawal no L2 passed paid {loot} wei; the thief gained {} wei, the portal holds {}",
        l1.balance(THIEF) - thief_before,
        l1.balance(sys.portal)
    );
    assert_eq!(outcome.reverted(), "OptimismPortal_InvalidRootClaim");
    assert_eq!(l1.balance(sys.portal), loot);
    assert_eq!(
        l1.view(game, IBisection::creditCall { who: WATCHER }),
        bond() + challenge_bond(),
        "the thief's bond pays the watcher"
    );
    assert_eq!(
        l1.view(game, IBisection::creditCall { who: THIEF }),
        U256::ZERO
    );
}

/// A game created while its type was not respected never becomes a valid claim (the OP Stack's
/// registry requires `wasRespectedGameTypeWhenCreated` and checks a retirement timestamp for
/// this). While type 1 is respected nobody watches type-0 games, yet the factory still creates
/// them; `THIEF`'s unwatched type-0 claim resolves, and the owner switches back to type 0 (a
/// rollback). The registry respects only games created no earlier than the last switch
/// (`respectedGameTypeUpdatedAt`), so the claim stays invalid; a game created after the switch is
/// valid as before.
#[test]
fn a_game_created_while_not_respected_never_becomes_valid() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.add_other_game_type(&mut l1);
    let switch = |l1: &mut L1, game_type: u32| {
        let call = IRegistry::setRespectedGameTypeCall {
            gameType: game_type,
        };
        l1.exec(DEPLOYER, sys.registry, U256::ZERO, call);
    };
    switch(&mut l1, OTHER_GAME_TYPE);

    let passed = Passed::new(withdrawal(0, THIEF, ether(1), 50_000), 10, 1);
    let game = forge(&mut l1, &sys, GAME_TYPE, &passed);
    assert_eq!(l1.balance(game), bond());
    l1.warp(CHALLENGE_WINDOW);
    l1.exec(THIEF, game, U256::ZERO, IGame::resolveCall {});
    l1.warp(FINALITY_DELAY + 1);
    switch(&mut l1, GAME_TYPE);

    let valid = l1.view(sys.registry, IRegistry::isGameClaimValidCall::new((game,)));
    assert!(
        !valid,
        "game {game} (claim {}), created while type {OTHER_GAME_TYPE} was respected, is a valid claim",
        l1.view(game, IGame::rootClaimCall {})
    );
    assert_eq!(
        sys.prove(&mut l1, THIEF, &passed, 0).reverted(),
        "InvalidGameType"
    );
    // A game created after the switch back counts again.
    let fresh = sys.propose(&mut l1, GAME_TYPE, passed.output.root(), 11);
    sys.resolve_after_window(&mut l1, fresh);
    l1.warp(FINALITY_DELAY + 1);
    assert!(l1.view(sys.registry, IRegistry::isGameClaimValidCall::new((fresh,))));
}
