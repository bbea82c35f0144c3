use super::*;
use alloy::primitives::{LogData, U256, keccak256};
use bridge::deposit::DepositData;
use op_alloy::consensus::{L1InfoDepositSource, UserDepositSource};
use proptest::prelude::*;

const PORTAL: Address = Address::repeat_byte(0x77);

/// A log as the portal emits it: `TransactionDeposited(from, to, 0, abi.encode(opaque))`.
fn portal_log(from: Address, to: Address, data: &DepositData) -> Log {
    let opaque = data.encode();
    let mut encoded = Vec::new();
    encoded.extend_from_slice(&U256::from(32u64).to_be_bytes::<32>());
    encoded.extend_from_slice(&U256::from(opaque.len()).to_be_bytes::<32>());
    encoded.extend_from_slice(&opaque);
    encoded.resize(64 + opaque.len().div_ceil(32) * 32, 0);
    Log {
        address: PORTAL,
        data: LogData::new_unchecked(
            vec![
                TRANSACTION_DEPOSITED,
                from.into_word(),
                to.into_word(),
                B256::ZERO,
            ],
            encoded.into(),
        ),
    }
}

fn l1_block(number: u64, parent: B256, timestamp: u64, deposits: Vec<TxDeposit>) -> L1Block {
    L1Block {
        number,
        hash: keccak256(number.to_be_bytes()),
        parent_hash: parent,
        timestamp,
        base_fee: 7,
        mix_hash: B256::repeat_byte(number as u8),
        deposits,
        inbox_calls: Vec::new(),
        header: Default::default(),
    }
}

fn chain(len: u64, depth: u64) -> L1View {
    let mut view = L1View::new(depth);
    let mut parent = B256::ZERO;
    for n in 0..len {
        let block = l1_block(n, parent, 100 + n * 12, vec![]);
        parent = block.hash;
        view.insert(block);
    }
    view
}

#[test]
fn the_event_signature_is_transaction_deposited() {
    assert_eq!(
        TRANSACTION_DEPOSITED,
        keccak256("TransactionDeposited(address,address,uint256,bytes)")
    );
}

proptest! {
    #[test]
    fn a_portal_log_becomes_its_deposit(mint in any::<u64>(), value in any::<u64>(), gas in 21_000u64..30_000_000,
                                         creation: bool, data in proptest::collection::vec(any::<u8>(), 0..200),
                                         index in any::<u32>()) {
        let from = Address::repeat_byte(1);
        let to = Address::repeat_byte(2);
        let d = DepositData { mint: U256::from(mint), value: U256::from(value), gas_limit: gas, is_creation: creation, data: data.into() };
        let block_hash = B256::repeat_byte(9);
        let deposit = deposit_from_log(&portal_log(from, to, &d), block_hash, u64::from(index)).unwrap();
        prop_assert_eq!(deposit.from, from);
        prop_assert_eq!(deposit.to, if creation { TxKind::Create } else { TxKind::Call(to) });
        prop_assert_eq!(U256::from(deposit.mint), d.mint);
        prop_assert_eq!(deposit.value, d.value);
        prop_assert_eq!(deposit.gas_limit, gas);
        prop_assert_eq!(&deposit.input, &d.data);
        // Checked against op-alloy's independent implementation of the source hash.
        prop_assert_eq!(deposit.source_hash, UserDepositSource::new(block_hash, u64::from(index)).source_hash());
    }

    #[test]
    fn garbage_logs_are_refused_never_panic(topics in proptest::collection::vec(any::<[u8; 32]>(), 0..6),
                                            data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut topics: Vec<B256> = topics.into_iter().map(B256::from).collect();
        if let Some(t) = topics.first_mut() {
            *t = TRANSACTION_DEPOSITED;
        }
        let log = Log { address: PORTAL, data: LogData::new_unchecked(topics, data.into()) };
        let _ = deposit_from_log(&log, B256::ZERO, 0);
    }
}

#[test]
fn malformed_logs_are_typed_errors() {
    let d = DepositData {
        mint: U256::ZERO,
        value: U256::ZERO,
        gas_limit: 50_000,
        is_creation: false,
        data: Default::default(),
    };
    let mut log = portal_log(Address::ZERO, Address::ZERO, &d);
    let mut topics = log.topics().to_vec();
    topics[3] = B256::with_last_byte(1);
    log.data = LogData::new_unchecked(topics.clone(), log.data.data.clone());
    assert_eq!(
        deposit_from_log(&log, B256::ZERO, 0),
        Err(DepositLogError::UnknownVersion(U256::from(1u64)))
    );
    topics[3] = B256::ZERO;
    log.data = LogData::new_unchecked(topics.clone(), log.data.data.slice(..40));
    assert_eq!(
        deposit_from_log(&log, B256::ZERO, 0),
        Err(DepositLogError::MalformedData)
    );
    log.data = LogData::new_unchecked(topics[..3].to_vec(), Default::default());
    assert_eq!(
        deposit_from_log(&log, B256::ZERO, 0),
        Err(DepositLogError::NotADeposit)
    );
}

#[test]
fn the_l1_info_deposit_records_its_origin() {
    let origin = l1_block(5, B256::ZERO, 1000, vec![]);
    let deposit = l1_info_deposit(&origin, 3, Address::repeat_byte(4), FeeScalars::default());
    assert_eq!(
        deposit.source_hash,
        L1InfoDepositSource::new(origin.hash, 3).source_hash()
    );
    let info = origin_of(&[deposit_tx(deposit)]).unwrap();
    assert_eq!(
        (info.number, info.hash, info.sequence_number, info.timestamp),
        (5, origin.hash, 3, 1000)
    );
    assert_eq!(info.batcher_hash, Address::repeat_byte(4).into_word());
}

#[test]
fn the_origin_advances_once_per_confirmed_l1_block_and_deposits_land_once() {
    let depth = 2;
    let mut view = chain(3, depth);
    let deposit = deposit_from_log(
        &portal_log(
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            &DepositData {
                mint: U256::from(5u64),
                value: U256::from(5u64),
                gas_limit: 100_000,
                is_creation: false,
                data: Default::default(),
            },
        ),
        keccak256(3u64.to_be_bytes()),
        0,
    )
    .unwrap();
    let genesis = 0;
    let scalars = FeeScalars::default();
    // First block takes the genesis origin.
    let (attrs, info) = next_attributes(None, genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!(
        (info.number, info.sequence_number, attrs.forced.len()),
        (0, 0, 1)
    );
    // Block 1 is not confirmed yet (head 2, depth 2): same origin, next sequence number.
    let (_, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!((info.number, info.sequence_number), (0, 1));
    // L1 block 3 carries a deposit; with head 4, block 1 and 2 confirm, block 3 not yet.
    let b3 = l1_block(3, view.block(2).unwrap().hash, 136, vec![deposit.clone()]);
    view.insert(b3.clone());
    view.insert(l1_block(4, b3.hash, 148, vec![]));
    let (_, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!((info.number, info.sequence_number), (1, 0));
    let (_, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!(info.number, 2);
    let (attrs, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!(
        (info.number, info.sequence_number),
        (2, 1),
        "block 3 is not confirmed at head 4"
    );
    assert_eq!(attrs.forced.len(), 1);
    view.insert(l1_block(5, keccak256(4u64.to_be_bytes()), 160, vec![]));
    let (attrs, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!((info.number, info.sequence_number), (3, 0));
    assert_eq!(
        attrs.forced.len(),
        2,
        "the L1-info deposit, then the user deposit"
    );
    assert_eq!(attrs.timestamp, 200);
    // The next block stays on origin 3 (4 is not confirmed) and carries no user deposit.
    let (attrs, info) =
        next_attributes(Some(&info), genesis, &view, 200, Address::ZERO, scalars).unwrap();
    assert_eq!(
        (info.number, info.sequence_number, attrs.forced.len()),
        (3, 1, 1)
    );
}

#[test]
fn an_origin_waits_for_the_l2_clock() {
    let view = chain(10, 0);
    let genesis = 0;
    let (_, info) = next_attributes(
        None,
        genesis,
        &view,
        100,
        Address::ZERO,
        FeeScalars::default(),
    )
    .unwrap();
    // L1 block 1 has timestamp 112: an L2 block at 105 cannot take it as origin.
    let (_, info) = next_attributes(
        Some(&info),
        genesis,
        &view,
        105,
        Address::ZERO,
        FeeScalars::default(),
    )
    .unwrap();
    assert_eq!((info.number, info.sequence_number), (0, 1));
    let (_, info) = next_attributes(
        Some(&info),
        genesis,
        &view,
        112,
        Address::ZERO,
        FeeScalars::default(),
    )
    .unwrap();
    assert_eq!((info.number, info.sequence_number), (1, 0));
}

#[test]
fn a_reorg_under_the_origin_is_reported() {
    let mut view = chain(4, 0);
    let genesis = 0;
    let (_, info) = next_attributes(
        None,
        genesis,
        &view,
        500,
        Address::ZERO,
        FeeScalars::default(),
    )
    .unwrap();
    // Replace block 1 with a block whose parent is not our origin.
    view.insert(l1_block(1, B256::repeat_byte(0xee), 112, vec![]));
    assert!(matches!(
        next_attributes(
            Some(&info),
            genesis,
            &view,
            500,
            Address::ZERO,
            FeeScalars::default()
        ),
        Err(DerivationError::OriginReorged { number: 0, .. })
    ));
}

/// A node far behind (a verifier syncing) never loses L1 blocks it has not derived from yet.
#[test]
fn the_view_keeps_what_derivation_has_not_processed() {
    let mut view = L1View::new(0);
    let mut parent = B256::ZERO;
    let mut add = |view: &mut L1View, n: u64| {
        let block = l1_block(n, parent, 100 + n, vec![]);
        parent = block.hash;
        view.insert(block);
    };
    for n in 0..10_000 {
        add(&mut view, n);
    }
    assert!(view.block(0).is_some(), "block 0 not yet processed: kept");
    view.mark_processed(9_000);
    add(&mut view, 10_000);
    assert!(view.block(0).is_none(), "processed long ago: pruned");
    assert!(
        view.block(9_000 - 1024).is_some(),
        "a margin below the processed block stays"
    );
    assert!(view.block(10_000).is_some());
}
