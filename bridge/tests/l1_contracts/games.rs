//! The factory, the proposal game and the anchor-state registry.

use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy::sol_types::{SolCall, SolEvent, SolValue};

use crate::harness::{
    CHALLENGE_WINDOW, DEPLOYER, FINALITY_DELAY, GAME_TYPE, IFactory, IGame, IRegistry, L1, OTHER,
    OTHER_GAME_TYPE, PROPOSER, System, USER, bond, forwarder_code,
};

const PROPOSER_CONTRACT: Address = address!("0x5000000000000000000000000000000000000005");

fn extra(l2_block: u64) -> Bytes {
    U256::from(l2_block).abi_encode().into()
}

#[test]
fn create_takes_the_bond_and_records_the_game() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let root = B256::repeat_byte(0xaa);
    let create = |value: U256, game_type: u32, root: B256, extra_data: Bytes| {
        (
            value,
            IFactory::createCall {
                gameType: game_type,
                rootClaim: root,
                extraData: extra_data,
            }
            .abi_encode(),
        )
    };

    let (v, data) = create(bond() - U256::from(1), GAME_TYPE, root, extra(5));
    assert_eq!(
        l1.send(PROPOSER, sys.factory, v, data).reverted(),
        "IncorrectBondAmount"
    );
    let (v, data) = create(bond() + U256::from(1), GAME_TYPE, root, extra(5));
    assert_eq!(
        l1.send(PROPOSER, sys.factory, v, data).reverted(),
        "IncorrectBondAmount"
    );
    let (v, data) = create(U256::ZERO, 77, root, extra(5));
    assert_eq!(
        l1.send(PROPOSER, sys.factory, v, data).reverted(),
        "NoImplementation"
    );
    let (v, data) = create(bond(), GAME_TYPE, root, Bytes::from_static(&[1, 2, 3]));
    assert_eq!(
        l1.send(PROPOSER, sys.factory, v, data).reverted(),
        "BadExtraData"
    );

    let (v, data) = create(bond(), GAME_TYPE, root, extra(5));
    let (output, logs) = l1.send(PROPOSER, sys.factory, v, data.clone()).ok();
    let game = IFactory::createCall::abi_decode_returns(&output).unwrap();
    let created = IFactory::DisputeGameCreated::decode_log(&logs[0]).unwrap();
    assert_eq!(
        (created.disputeProxy, created.gameType, created.rootClaim),
        (game, GAME_TYPE, root)
    );
    assert_eq!(l1.balance(game), bond(), "the game holds the bond");
    // The same claim again is refused.
    assert_eq!(
        l1.send(PROPOSER, sys.factory, v, data).reverted(),
        "GameAlreadyExists"
    );

    assert_eq!(
        l1.view(sys.factory, IFactory::gameCountCall {}),
        U256::from(1)
    );
    let at = l1.view(sys.factory, IFactory::gameAtIndexCall::new((U256::ZERO,)));
    assert_eq!(
        (at.gameType, at.timestamp, at.proxy),
        (GAME_TYPE, l1.now(), game)
    );
    let by_claim = l1.view(
        sys.factory,
        IFactory::gamesCall::new((GAME_TYPE, root, extra(5))),
    );
    assert_eq!((by_claim.proxy, by_claim.timestamp), (game, l1.now()));
    let none = l1.view(
        sys.factory,
        IFactory::gamesCall::new((GAME_TYPE, root, extra(6))),
    );
    assert_eq!(none.proxy, Address::ZERO);

    // What the game says about itself.
    assert_eq!(l1.view(game, IGame::rootClaimCall {}), root);
    assert_eq!(l1.view(game, IGame::l2BlockNumberCall {}), U256::from(5));
    assert_eq!(l1.view(game, IGame::l2SequenceNumberCall {}), U256::from(5));
    assert_eq!(l1.view(game, IGame::extraDataCall {}), extra(5));
    assert_eq!(l1.view(game, IGame::gameTypeCall {}), GAME_TYPE);
    assert_eq!(l1.view(game, IGame::gameCreatorCall {}), PROPOSER);
    assert_eq!(l1.view(game, IGame::statusCall {}), 0);
    assert_eq!(l1.view(game, IGame::createdAtCall {}), l1.now());
    assert_eq!(l1.view(game, IGame::resolvedAtCall {}), 0);
    assert_eq!(
        l1.view(game, IGame::maxClockDurationCall {}),
        CHALLENGE_WINDOW
    );
    assert_eq!(
        l1.view(game, IGame::expectedResolutionCall {}),
        l1.now() + CHALLENGE_WINDOW
    );
    assert_eq!(l1.view(game, IGame::bondCall {}), bond());
    assert_ne!(l1.view(game, IGame::l1HeadCall {}), B256::ZERO);
}

#[test]
fn only_the_owner_configures_the_factory() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    assert_eq!(l1.view(sys.factory, IFactory::ownerCall {}), DEPLOYER);
    let set = IFactory::setInitBondCall {
        gameType: GAME_TYPE,
        initBond: U256::ZERO,
    };
    assert_eq!(
        l1.send(USER, sys.factory, U256::ZERO, set.abi_encode())
            .reverted(),
        "Unauthorized"
    );
    let set_impl = IFactory::setImplementationCall {
        gameType: 9,
        implementation: USER,
    };
    assert_eq!(
        l1.send(USER, sys.factory, U256::ZERO, set_impl.abi_encode())
            .reverted(),
        "Unauthorized"
    );
    l1.exec(
        DEPLOYER,
        sys.factory,
        U256::ZERO,
        IFactory::transferOwnershipCall { newOwner: USER },
    );
    l1.exec(USER, sys.factory, U256::ZERO, set);
    assert_eq!(
        l1.view(sys.factory, IFactory::initBondsCall::new((GAME_TYPE,))),
        U256::ZERO
    );
    assert_eq!(
        l1.view(sys.factory, IFactory::gameImplsCall::new((GAME_TYPE,))),
        sys.game_impl
    );
}

#[test]
fn find_latest_games_is_newest_first_by_type() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    sys.add_other_game_type(&mut l1);
    let find = |l1: &mut L1, game_type: u32, start: u64, n: u64| {
        l1.view(
            sys.factory,
            IFactory::findLatestGamesCall::new((game_type, U256::from(start), U256::from(n))),
        )
    };
    assert!(find(&mut l1, GAME_TYPE, 0, 10).is_empty(), "no games yet");

    let mut ours = Vec::new();
    for i in 0..6u64 {
        let game_type = if i % 3 == 2 {
            OTHER_GAME_TYPE
        } else {
            GAME_TYPE
        };
        let game = sys.propose(&mut l1, game_type, keccak256(i.to_be_bytes()), 10 * i);
        if game_type == GAME_TYPE {
            ours.push((i, game, l1.now()));
        }
        l1.warp(10);
    }
    let found = find(&mut l1, GAME_TYPE, 5, 10);
    assert_eq!(found.len(), ours.len());
    for (result, (index, game, timestamp)) in found.iter().zip(ours.iter().rev()) {
        assert_eq!(result.index, U256::from(*index));
        assert_eq!(result.timestamp, *timestamp);
        assert_eq!(result.rootClaim, keccak256(index.to_be_bytes()));
        assert_eq!(result.extraData, extra(10 * index));
        // metadata = gameType << 224 | timestamp << 160 | address; viem reads the address.
        let mut metadata = [0u8; 32];
        metadata[..4].copy_from_slice(&GAME_TYPE.to_be_bytes());
        metadata[4..12].copy_from_slice(&timestamp.to_be_bytes());
        metadata[12..].copy_from_slice(game.as_slice());
        assert_eq!(result.metadata, B256::from(metadata));
    }
    // n limits, start bounds the search, and a start past the end finds nothing.
    let two = find(&mut l1, GAME_TYPE, 5, 2);
    assert_eq!(
        two.iter().map(|g| g.index.to::<u64>()).collect::<Vec<_>>(),
        [4, 3]
    );
    let early = find(&mut l1, GAME_TYPE, 2, 100);
    assert_eq!(
        early
            .iter()
            .map(|g| g.index.to::<u64>())
            .collect::<Vec<_>>(),
        [1, 0]
    );
    assert!(find(&mut l1, GAME_TYPE, 6, 10).is_empty());
    assert!(find(&mut l1, GAME_TYPE, 5, 0).is_empty());
    let others = find(&mut l1, OTHER_GAME_TYPE, 5, 10);
    assert_eq!(
        others
            .iter()
            .map(|g| g.index.to::<u64>())
            .collect::<Vec<_>>(),
        [5, 2]
    );
}

#[test]
fn a_game_resolves_only_after_its_window_and_returns_the_bond() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let before = l1.balance(PROPOSER);
    let game = sys.propose(&mut l1, GAME_TYPE, B256::repeat_byte(3), 100);
    assert_eq!(l1.balance(PROPOSER), before - bond());
    let resolve = IGame::resolveCall {}.abi_encode();

    l1.warp(CHALLENGE_WINDOW - 1);
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, resolve.clone()).reverted(),
        "ClockNotExpired"
    );
    assert!(!l1.view(sys.registry, IRegistry::isGameResolvedCall::new((game,))));
    l1.warp(1);
    let (output, logs) = l1.send(OTHER, game, U256::ZERO, resolve.clone()).ok();
    assert_eq!(
        IGame::resolveCall::abi_decode_returns(&output).unwrap(),
        2,
        "DEFENDER_WINS"
    );
    assert_eq!(
        logs[0].topics()[1],
        B256::with_last_byte(2),
        "Resolved(DEFENDER_WINS)"
    );
    assert_eq!(l1.view(game, IGame::statusCall {}), 2);
    assert_eq!(l1.view(game, IGame::resolvedAtCall {}), l1.now());
    assert_eq!(l1.balance(PROPOSER), before);
    assert_eq!(l1.balance(game), U256::ZERO);
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, resolve).reverted(),
        "GameNotInProgress"
    );

    // Finality per the registry: strictly more than the delay after resolution.
    let finalized =
        |l1: &mut L1| l1.view(sys.registry, IRegistry::isGameFinalizedCall::new((game,)));
    assert!(l1.view(sys.registry, IRegistry::isGameResolvedCall::new((game,))));
    assert!(!finalized(&mut l1));
    l1.warp(FINALITY_DELAY);
    assert!(!finalized(&mut l1));
    l1.warp(1);
    assert!(finalized(&mut l1));
    assert!(l1.view(sys.registry, IRegistry::isGameClaimValidCall::new((game,))));
}

#[test]
fn the_implementation_and_foreign_clones_are_not_proper() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let proper = |l1: &mut L1, game: Address| {
        l1.view(sys.registry, IRegistry::isGameProperCall::new((game,)))
    };
    assert!(!proper(&mut l1, sys.game_impl));
    // The implementation can be neither initialized nor resolved.
    let init = IGame::initializeCall {
        creator: OTHER,
        rootClaim: B256::ZERO,
        extraData: extra(1),
    };
    assert_eq!(
        l1.send(OTHER, sys.game_impl, U256::ZERO, init.abi_encode())
            .reverted(),
        "AlreadyInitialized"
    );
    let resolve = IGame::resolveCall {}.abi_encode();
    assert_eq!(
        l1.send(OTHER, sys.game_impl, U256::ZERO, resolve)
            .reverted(),
        "GameNotInProgress"
    );
    let game = sys.propose(&mut l1, GAME_TYPE, B256::repeat_byte(4), 1);
    assert!(proper(&mut l1, game));
    assert!(l1.view(sys.registry, IRegistry::isGameRespectedCall::new((game,))));
    assert!(!l1.view(sys.registry, IRegistry::isGameClaimValidCall::new((game,))));
}

#[test]
fn a_proposer_that_refuses_the_refund_is_credited() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    // A contract proposer whose fallback forwards to the factory, which takes no plain ETH.
    l1.set_code(PROPOSER_CONTRACT, forwarder_code(sys.factory));
    let create = IFactory::createCall {
        gameType: GAME_TYPE,
        rootClaim: B256::repeat_byte(6),
        extraData: extra(3),
    };
    let (_, logs) = l1
        .send(USER, PROPOSER_CONTRACT, bond(), create.abi_encode())
        .ok();
    let game = IFactory::DisputeGameCreated::decode_log(&logs[0])
        .unwrap()
        .disputeProxy;
    assert_eq!(l1.view(game, IGame::gameCreatorCall {}), PROPOSER_CONTRACT);

    l1.warp(CHALLENGE_WINDOW);
    l1.exec(OTHER, game, U256::ZERO, IGame::resolveCall {});
    assert_eq!(
        l1.view(game, IGame::statusCall {}),
        2,
        "resolved all the same"
    );
    assert_eq!(
        l1.view(game, IGame::creditCall::new((PROPOSER_CONTRACT,))),
        bond()
    );
    let claim = IGame::claimCreditCall {
        recipient: PROPOSER_CONTRACT,
    }
    .abi_encode();
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, claim.clone()).reverted(),
        "CreditTransferFailed"
    );
    // Once it accepts ETH (here: its code is gone), the credit is paid once.
    l1.set_code(PROPOSER_CONTRACT, Bytes::new());
    assert!(l1.send(OTHER, game, U256::ZERO, claim.clone()).is_success());
    assert_eq!(l1.balance(PROPOSER_CONTRACT), bond());
    assert_eq!(
        l1.send(OTHER, game, U256::ZERO, claim).reverted(),
        "NoCreditToClaim"
    );
}
