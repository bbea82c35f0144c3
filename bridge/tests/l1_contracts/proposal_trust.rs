//! What the portal trusts about proposals: properties that fail with the current contracts,
//! ignored until they change (see "Known weaknesses" in bridge/CONTRACTS.md). The random
//! sequences of `portal_invariants.rs` hold only because they assume an honest challenger that
//! makes every fraud game lose; these tests drop that assumption.

use alloy::primitives::{Address, U256};
use alloy::sol_types::{SolCall, SolValue};

use crate::harness::{
    CHALLENGE_WINDOW, DEPLOYER, FINALITY_DELAY, GAME_TYPE, IFactory, IGame, IRegistry, L1,
    MATURITY_DELAY, OTHER, OTHER_GAME_TYPE, Passed, System, bond, ether, withdrawal,
};

/// The attacker of both tests: any account with the bond, not the devnet's proposer.
const THIEF: Address = OTHER;

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

/// Safety of the bridge: a withdrawal the L2 never passed is never paid. Fails: the factory's
/// `create` is open to any account, and `ProposalGame` has no challenge path, so every claim stands
/// once its window passes. `THIEF` claims an output whose message-passer storage holds a
/// withdrawal of the portal's whole balance to itself (no L2 exists in this test: nothing was ever
/// passed), resolves it after `CHALLENGE_WINDOW`, proves, and after the finality and maturity
/// delays (under four minutes on the test parameters) takes every deposited wei. The cost is the
/// bond, refunded on `resolve`.
#[test]
#[ignore = "contract weakness: anyone can create an unchallengeable ProposalGame and drain the portal"]
fn a_withdrawal_never_passed_on_l2_is_never_paid() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.fund_portal(&mut l1, ether(100));
    let loot = l1.balance(sys.portal);
    let mut forged = withdrawal(0, THIEF, loot, 50_000);
    forged.sender = THIEF;
    let passed = Passed::new(forged, 10, 1);
    let thief_before = l1.balance(THIEF);

    let game = forge(&mut l1, &sys, GAME_TYPE, &passed);
    l1.warp(1);
    sys.prove(&mut l1, THIEF, &passed, 0).ok();
    l1.warp(CHALLENGE_WINDOW);
    l1.exec(THIEF, game, U256::ZERO, IGame::resolveCall {});
    l1.warp(FINALITY_DELAY.max(MATURITY_DELAY) + 1);
    let outcome = sys.finalize(&mut l1, THIEF, &passed);

    assert!(
        !outcome.is_success(),
        "a withdrawal no L2 passed paid {loot} wei; the thief gained {} wei, the portal holds {}",
        l1.balance(THIEF) - thief_before,
        l1.balance(sys.portal)
    );
}

/// A game created while its type was not respected never becomes a valid claim (the OP Stack's
/// registry requires `wasRespectedGameTypeWhenCreated` and checks a retirement timestamp for
/// this). Fails: `isGameRespected` compares only the game's type with the current respected type,
/// and `respectedGameTypeUpdatedAt` is recorded but read by nothing. While type 1 is respected
/// nobody watches type-0 games, yet the factory still creates them; `THIEF`'s unwatched type-0
/// claim resolves, and when the owner switches back to type 0 (a rollback) it is a valid claim at
/// once, with its finality delay long past.
#[test]
#[ignore = "contract weakness: switching the respected game type back revives games created while it was not respected"]
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
}
