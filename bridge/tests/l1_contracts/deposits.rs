//! Deposits: the `TransactionDeposited` event and its opaque data, aliasing, and refusals.

use alloy::primitives::{Address, B256, Bytes, Log, U256, address};
use alloy::sol_types::{SolCall, SolEvent};
use bridge::deposit::DepositData;

use crate::harness::{IPortal, L1, System, USER, forwarder_code};

const FORWARDER: Address = address!("0x2000000000000000000000000000000000000001");
const DELEGATED_EOA: Address = address!("0x2000000000000000000000000000000000000002");
const L2_TARGET: Address = address!("0x3000000000000000000000000000000000000003");

/// The one `TransactionDeposited` among `logs`: (from, to, decoded data).
#[track_caller]
fn deposited(portal: Address, logs: &[Log]) -> (Address, Address, DepositData) {
    let events: Vec<_> = logs
        .iter()
        .filter(|l| l.address == portal)
        .map(|l| IPortal::TransactionDeposited::decode_log(l).expect("a TransactionDeposited"))
        .collect();
    assert_eq!(events.len(), 1, "one deposit event");
    let event = &events[0];
    assert_eq!(event.version, U256::ZERO);
    let data = DepositData::decode(&event.opaqueData).expect("opaque data decodes");
    (event.from, event.to, data)
}

fn call(
    to: Address,
    value: U256,
    gas_limit: u64,
    is_creation: bool,
    data: &[u8],
) -> IPortal::depositTransactionCall {
    IPortal::depositTransactionCall {
        to,
        value,
        gasLimit: gas_limit,
        isCreation: is_creation,
        data: Bytes::copy_from_slice(data),
    }
}

#[test]
fn an_eoa_deposit_carries_mint_value_gas_and_data() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let before = l1.balance(USER);
    let logs = l1.exec(
        USER,
        sys.portal,
        U256::from(7),
        call(L2_TARGET, U256::from(5), 100_000, false, &[0xab, 0xcd]),
    );
    let (from, to, data) = deposited(sys.portal, &logs);
    assert_eq!((from, to), (USER, L2_TARGET));
    assert_eq!(
        data,
        DepositData {
            mint: U256::from(7),
            value: U256::from(5),
            gas_limit: 100_000,
            is_creation: false,
            data: Bytes::from_static(&[0xab, 0xcd]),
        }
    );
    // The topics are exactly (signature, from, to, version) and the data one `bytes`.
    let log = &logs[0];
    assert_eq!(
        log.topics()[0],
        IPortal::TransactionDeposited::SIGNATURE_HASH
    );
    assert_eq!(log.topics()[1], B256::left_padding_from(USER.as_slice()));
    assert_eq!(log.topics()[3], B256::ZERO);
    // The mint stays locked in the portal.
    assert_eq!(l1.balance(sys.portal), U256::from(7));
    assert_eq!(l1.balance(USER), before - U256::from(7));
}

#[test]
fn sending_eth_to_the_portal_deposits_it_to_the_sender() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let (_, logs) = l1.send(USER, sys.portal, U256::from(3), Bytes::new()).ok();
    let (from, to, data) = deposited(sys.portal, &logs);
    assert_eq!((from, to), (USER, USER));
    assert_eq!(
        (data.mint, data.value, data.gas_limit),
        (U256::from(3), U256::from(3), 100_000)
    );
    assert!(!data.is_creation && data.data.is_empty());
    // donateETH adds to the portal without a deposit.
    let (_, logs) = l1
        .send(
            USER,
            sys.portal,
            U256::from(4),
            keccak_selector("donateETH()"),
        )
        .ok();
    assert!(logs.is_empty());
    assert_eq!(l1.balance(sys.portal), U256::from(7));
}

fn keccak_selector(signature: &str) -> Bytes {
    Bytes::copy_from_slice(&alloy::primitives::keccak256(signature)[..4])
}

#[test]
fn a_contract_deposits_from_its_alias_and_a_delegated_eoa_from_itself() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    l1.set_code(FORWARDER, forwarder_code(sys.portal));
    let data = call(L2_TARGET, U256::ZERO, 50_000, false, &[]).abi_encode();

    let logs = l1.send(USER, FORWARDER, U256::from(9), data.clone()).ok().1;
    let (from, _, deposit) = deposited(sys.portal, &logs);
    let offset = U256::from_str_radix("1111000000000000000000000000000000001111", 16).unwrap();
    let alias = Address::from_word((U256::from_be_slice(FORWARDER.as_slice()) + offset).into());
    assert_eq!(from, alias);
    assert_eq!(
        l1.view(sys.portal, IPortal::aliasL1ToL2Call::new((FORWARDER,))),
        alias
    );
    assert_eq!(deposit.mint, U256::from(9));

    // Aliasing wraps around the top of the address space.
    let high = Address::repeat_byte(0xff);
    let wrapped = l1.view(sys.portal, IPortal::aliasL1ToL2Call::new((high,)));
    assert_eq!(
        wrapped,
        Address::from_word((U256::from_be_slice(high.as_slice()) + offset).into())
    );

    // An EOA running delegated code (EIP-7702) still holds its key: no alias.
    l1.delegate(DELEGATED_EOA, FORWARDER);
    let logs = l1.send(USER, DELEGATED_EOA, U256::ZERO, data).ok().1;
    assert_eq!(deposited(sys.portal, &logs).0, DELEGATED_EOA);
}

#[test]
fn contract_creation_deposits() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let init_code = [0x60, 0x00, 0x60, 0x00, 0xf3];
    let logs = l1.exec(
        USER,
        sys.portal,
        U256::from(1),
        call(Address::ZERO, U256::ZERO, 200_000, true, &init_code),
    );
    let (from, to, data) = deposited(sys.portal, &logs);
    assert_eq!((from, to), (USER, Address::ZERO));
    assert!(data.is_creation);
    assert_eq!(data.data.as_ref(), &init_code);

    // A creation must not name a target.
    let bad = call(L2_TARGET, U256::ZERO, 200_000, true, &init_code).abi_encode();
    assert_eq!(
        l1.send(USER, sys.portal, U256::ZERO, bad).reverted(),
        "BadTarget"
    );
}

#[test]
fn gas_limits_and_calldata_are_bounded() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let data = vec![0x11u8; 100];
    // OP's minimum: 21,000 + 40 per byte.
    let minimum = 21_000 + 40 * 100;
    let min = l1.view(sys.portal, IPortal::minimumGasLimitCall::new((100u64,)));
    assert_eq!(min, minimum);
    let too_low = call(L2_TARGET, U256::ZERO, minimum - 1, false, &data).abi_encode();
    assert_eq!(
        l1.send(USER, sys.portal, U256::ZERO, too_low).reverted(),
        "SmallGasLimit"
    );
    let exact = call(L2_TARGET, U256::ZERO, minimum, false, &data).abi_encode();
    assert!(l1.send(USER, sys.portal, U256::ZERO, exact).is_success());

    let too_high = call(L2_TARGET, U256::ZERO, 10_000_001, false, &[]).abi_encode();
    assert_eq!(
        l1.send(USER, sys.portal, U256::ZERO, too_high).reverted(),
        "OptimismPortal_GasLimitTooHigh"
    );
    // Too high is the resource, gas limit plus 60 per byte: 100 bytes with 9,994,001 gas are
    // 10,000,001, more than any L1 block's deposits may buy.
    let over = l1.view(
        sys.portal,
        IPortal::depositResourceCall::new((9_994_001u64, 100u64)),
    );
    assert_eq!(over, U256::from(10_000_001));
    let too_high = call(L2_TARGET, U256::ZERO, 9_994_001, false, &data).abi_encode();
    assert_eq!(
        l1.send_with_gas(USER, sys.portal, U256::ZERO, too_high, 30_000_000)
            .reverted(),
        "OptimismPortal_GasLimitTooHigh"
    );
    // The view does not overflow at the largest arguments.
    let largest = l1.view(
        sys.portal,
        IPortal::depositResourceCall::new((u64::MAX, u64::MAX)),
    );
    assert_eq!(largest, U256::from(u64::MAX) * U256::from(61));
    // 100 bytes with 9,994,000 gas: exactly the limit, in a fresh block.
    l1.warp(12);
    let full = call(L2_TARGET, U256::ZERO, 9_994_000, false, &data).abi_encode();
    assert!(
        l1.send_with_gas(USER, sys.portal, U256::ZERO, full, 30_000_000)
            .is_success()
    );
    // The whole limit of an L1 block in one deposit (in the next block: this one bought some),
    // which burns 10,000,000 L1 gas at the least base fee.
    l1.warp(12);
    let top = call(L2_TARGET, U256::ZERO, 10_000_000, false, &[]).abi_encode();
    assert!(
        l1.send_with_gas(USER, sys.portal, U256::ZERO, top, 30_000_000)
            .is_success()
    );

    l1.warp(12);
    let large = vec![0u8; 65_537];
    let too_large = call(L2_TARGET, U256::ZERO, 9_000_000, false, &large).abi_encode();
    assert_eq!(
        l1.send_with_gas(USER, sys.portal, U256::ZERO, too_large, 30_000_000)
            .reverted(),
        "LargeCalldata"
    );
}

/// The deposit log: per L1 block, the chain of that block's deposits folded from zero with
/// `bridge::deposit::deposit_chain_link` over exactly the events' preimages (EOA, aliased
/// contract and ETH-sent deposits alike); blocks without deposits stay zero. Also the gas the
/// log adds: `cargo test --release -p bridge --test l1_contracts deposit_log -- --nocapture`.
#[test]
fn the_deposit_log_folds_each_l1_blocks_deposits() {
    use alloy::primitives::B256;
    use alloy::sol_types::SolEvent;
    use bridge::deposit::deposit_chain_link;
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    l1.set_code(FORWARDER, forwarder_code(sys.portal));
    let chain_at = |l1: &mut L1, block: u64| {
        l1.view(
            sys.portal,
            IPortal::depositChainCall::new((U256::from(block),)),
        )
    };
    let fold = |mut chain: B256, logs: &[Log]| {
        for log in logs.iter().filter(|l| l.address == sys.portal) {
            let e = IPortal::TransactionDeposited::decode_log(log).unwrap();
            chain = deposit_chain_link(chain, e.from, e.to, &e.opaqueData);
        }
        chain
    };
    let first_block = l1.number();
    let mut expected = B256::ZERO;
    let mut gas = Vec::new();
    for (i, size) in [0usize, 100, 1_000].into_iter().enumerate() {
        let logs = l1.exec(
            USER,
            sys.portal,
            U256::from(i + 1),
            call(L2_TARGET, U256::from(i), 200_000, false, &vec![7u8; size]),
        );
        gas.push(l1.last_gas_used);
        expected = fold(expected, &logs);
        assert_eq!(chain_at(&mut l1, first_block), expected);
    }
    let logs = l1
        .send(
            USER,
            FORWARDER,
            U256::from(5),
            call(L2_TARGET, U256::ZERO, 50_000, false, &[]).abi_encode(),
        )
        .ok()
        .1;
    expected = fold(expected, &logs);
    let logs = l1
        .send(USER, sys.portal, U256::from(3), Bytes::new())
        .ok()
        .1;
    expected = fold(expected, &logs);
    assert_eq!(chain_at(&mut l1, first_block), expected);
    // The next L1 block starts its own chain; the first one's stays.
    l1.warp(12);
    assert_eq!(chain_at(&mut l1, first_block + 1), B256::ZERO);
    let logs = l1.exec(
        USER,
        sys.portal,
        U256::from(1),
        call(L2_TARGET, U256::ZERO, 100_000, false, &[]),
    );
    let first_gas_of_block = l1.last_gas_used;
    assert_eq!(chain_at(&mut l1, first_block + 1), fold(B256::ZERO, &logs));
    assert_eq!(chain_at(&mut l1, first_block), expected);
    println!(
        "deposit_log: depositTransaction gas with 0, 100 and 1000 bytes of data: {gas:?} \
         (the first of its L1 block: {first_gas_of_block})"
    );
}
