//! Multicall3 as genesis places it: runtime code at 0xcA11…CA11, no constructor.

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::sol;
use alloy::sol_types::SolCall;

use crate::harness::{GAME_TYPE, IGame, IPortal, L1, MULTICALL3, OTHER, System, USER, artifact};

sol! {
    interface IMulticall3 {
        struct Call { address target; bytes callData; }
        struct Call3 { address target; bool allowFailure; bytes callData; }
        struct Call3Value { address target; bool allowFailure; uint256 value; bytes callData; }
        struct Result { bool success; bytes returnData; }
        function aggregate(Call[] calls) payable returns (uint256 blockNumber, bytes[] returnData);
        function aggregate3(Call3[] calls) payable returns (Result[] returnData);
        function aggregate3Value(Call3Value[] calls) payable returns (Result[] returnData);
        function blockAndAggregate(Call[] calls) payable returns (uint256 blockNumber, bytes32 blockHash, Result[] returnData);
        function tryAggregate(bool requireSuccess, Call[] calls) payable returns (Result[] returnData);
        function getEthBalance(address addr) view returns (uint256 balance);
        function getCurrentBlockTimestamp() view returns (uint256 timestamp);
        function getBlockNumber() view returns (uint256 blockNumber);
        function getChainId() view returns (uint256 chainid);
        function getCurrentBlockGasLimit() view returns (uint256 gaslimit);
    }
}

const NOBODY: Address = address!("0x6000000000000000000000000000000000000006");

fn installed() -> (L1, System, Address) {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let runtime = artifact("Multicall3")["deployedBytecode"]
        .as_str()
        .unwrap()
        .to_string();
    l1.set_code(MULTICALL3, alloy::hex::decode(runtime).unwrap().into());
    let game = sys.propose(&mut l1, GAME_TYPE, B256::repeat_byte(7), 321);
    (l1, sys, game)
}

fn call3(target: Address, allow_failure: bool, data: Vec<u8>) -> IMulticall3::Call3 {
    IMulticall3::Call3 {
        target,
        allowFailure: allow_failure,
        callData: data.into(),
    }
}

#[test]
fn aggregate3_batches_what_viem_reads() {
    let (mut l1, sys, game) = installed();
    // viem's getGames: l2SequenceNumber of each game, allowFailure as viem sends it.
    let calls = vec![
        call3(game, true, IGame::l2SequenceNumberCall {}.abi_encode()),
        call3(sys.portal, true, IPortal::versionCall {}.abi_encode()),
        // A revert, and a call to an address without code (succeeds with no data).
        call3(
            sys.portal,
            true,
            IPortal::checkWithdrawalCall::new((B256::ZERO, USER)).abi_encode(),
        ),
        call3(NOBODY, true, vec![1, 2, 3]),
    ];
    let results = l1.view(
        MULTICALL3,
        IMulticall3::aggregate3Call {
            calls: calls.clone(),
        },
    );
    assert_eq!(results.len(), 4);
    assert!(results[0].success);
    assert_eq!(U256::from_be_slice(&results[0].returnData), U256::from(321));
    assert_eq!(
        IPortal::versionCall::abi_decode_returns(&results[1].returnData).unwrap(),
        "4.0.0"
    );
    assert!(!results[2].success);
    assert_eq!(
        crate::harness::revert_name(&results[2].returnData),
        "OptimismPortal_Unproven"
    );
    assert!(results[3].success && results[3].returnData.is_empty());

    // Without allowFailure a failing call fails the batch.
    let mut strict = calls;
    strict[2].allowFailure = false;
    let outcome = l1.try_view(MULTICALL3, IMulticall3::aggregate3Call { calls: strict });
    assert_eq!(outcome.reverted(), "Multicall3: call failed");

    let balance = l1.view(MULTICALL3, IMulticall3::getEthBalanceCall { addr: game });
    assert_eq!(balance, crate::harness::bond());
    assert_eq!(
        l1.view(MULTICALL3, IMulticall3::getCurrentBlockTimestampCall {}),
        U256::from(l1.now())
    );
    assert_eq!(
        l1.view(MULTICALL3, IMulticall3::getBlockNumberCall {}),
        U256::from(100)
    );
    assert_eq!(
        l1.view(MULTICALL3, IMulticall3::getChainIdCall {}),
        U256::from(900)
    );
    assert_eq!(
        l1.view(MULTICALL3, IMulticall3::getCurrentBlockGasLimitCall {}),
        U256::from(60_000_000)
    );
}

#[test]
fn the_other_aggregates() {
    let (mut l1, sys, game) = installed();
    let version = IPortal::versionCall {}.abi_encode();
    let calls = vec![
        IMulticall3::Call {
            target: sys.portal,
            callData: version.clone().into(),
        },
        IMulticall3::Call {
            target: game,
            callData: IGame::rootClaimCall {}.abi_encode().into(),
        },
    ];
    let all = l1.view(
        MULTICALL3,
        IMulticall3::aggregateCall {
            calls: calls.clone(),
        },
    );
    assert_eq!(all.blockNumber, U256::from(100));
    assert_eq!(
        all.returnData[1],
        Bytes::from(B256::repeat_byte(7).to_vec())
    );
    let with_block = l1.view(
        MULTICALL3,
        IMulticall3::blockAndAggregateCall {
            calls: calls.clone(),
        },
    );
    assert_eq!(with_block.returnData.len(), 2);

    let mut failing = calls.clone();
    failing.push(IMulticall3::Call {
        target: sys.portal,
        callData: IPortal::checkWithdrawalCall::new((B256::ZERO, USER))
            .abi_encode()
            .into(),
    });
    let tried = l1.view(
        MULTICALL3,
        IMulticall3::tryAggregateCall {
            requireSuccess: false,
            calls: failing.clone(),
        },
    );
    assert_eq!(
        tried.iter().map(|r| r.success).collect::<Vec<_>>(),
        [true, true, false]
    );
    let strict = l1.try_view(
        MULTICALL3,
        IMulticall3::tryAggregateCall {
            requireSuccess: true,
            calls: failing.clone(),
        },
    );
    assert_eq!(strict.reverted(), "Multicall3: call failed");
    let all_or_nothing = l1.try_view(MULTICALL3, IMulticall3::aggregateCall { calls: failing });
    assert_eq!(all_or_nothing.reverted(), "Multicall3: call failed");

    // Values: the sum must match msg.value; here ETH goes to an account and into the portal.
    let valued = vec![
        IMulticall3::Call3Value {
            target: NOBODY,
            allowFailure: false,
            value: U256::from(5),
            callData: Bytes::new(),
        },
        IMulticall3::Call3Value {
            target: sys.portal,
            allowFailure: false,
            value: U256::from(6),
            callData: Bytes::new(),
        },
    ];
    let data = IMulticall3::aggregate3ValueCall {
        calls: valued.clone(),
    }
    .abi_encode();
    // Too little fails a call for want of balance; too much is a mismatch.
    let short = l1.send(OTHER, MULTICALL3, U256::from(10), data.clone());
    assert_eq!(short.reverted(), "Multicall3: call failed");
    let wrong = l1.send(OTHER, MULTICALL3, U256::from(12), data.clone());
    assert_eq!(wrong.reverted(), "Multicall3: value mismatch");
    assert!(
        l1.send(OTHER, MULTICALL3, U256::from(11), data)
            .is_success()
    );
    assert_eq!(l1.balance(NOBODY), U256::from(5));
    assert_eq!(l1.balance(MULTICALL3), U256::ZERO);
}
