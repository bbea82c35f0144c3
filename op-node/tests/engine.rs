//! The engine end to end: real signed transactions, the real EVM, a real redb file.
//!
//! Every committed block is compared with a reference model (`engine/model.rs`) and with
//! from-scratch computations: the state root from the flat tables with a fresh
//! `HashBuilder`, the transactions and receipts roots with alloy's, the logs bloom, the gas.
//! One test binary for the crate: helpers live in `tests/engine/`.

#[path = "engine/contracts.rs"]
mod contracts;
#[path = "engine/faults.rs"]
mod faults;
#[path = "engine/harness.rs"]
mod harness;
#[path = "engine/model.rs"]
mod model;
#[path = "engine/pipeline.rs"]
mod pipeline;
#[path = "engine/witness.rs"]
mod witness;
#[path = "engine/workload.rs"]
mod workload;

use alloy::{
    consensus::TxEip1559,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use contracts::{Init, create2_address, salt, storer_calldata};
use harness::{Harness, hashes};
use op_node::block::RecoveredTx;
use proptest::prelude::*;
use std::sync::Arc;
use workload::{ACTORS, Op, Step, sign, workload};

/// Few cases, each a handful of blocks: the whole file runs in seconds in release
/// (`PROPTEST_CASES=500` for a longer hunt). A failure prints its shrunk workload; nothing
/// is persisted under `tests/`.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// After every block of a random workload (transfers to old and fresh accounts, whole-
    /// balance transfers, deployments, constructors that self-destruct or revert, CREATE2
    /// over prefunded and destroyed addresses, storage writes and clears, reverts, out of
    /// gas), the header's roots equal from-scratch computations and the flat state equals
    /// the model: a failed transaction left nothing but its nonce and fee.
    #[test]
    fn state_root_matches_from_scratch(workload in workload(1..8, 16)) {
        let mut chain = Harness::new();
        for steps in &workload {
            chain.run_block(steps);
        }
    }
}

proptest! {
    #![proptest_config(config(8))]

    /// Closing and reopening the store and the engine between blocks changes nothing: the
    /// head is the last committed block, the next block builds on it, roots still match.
    #[test]
    fn restart_continues_from_last_block(
        workload in workload(2..8, 12),
        restarts in prop::collection::vec(any::<bool>(), 8),
        first in 0..8usize,
    ) {
        let mut chain = Harness::new();
        let first = first % workload.len();
        for (i, steps) in workload.iter().enumerate() {
            let parent = chain.head.clone();
            let block = chain.run_block(steps);
            assert_eq!(block.header.parent_hash, parent.hash);
            if i == first || restarts[i] {
                chain.restart();
            }
        }
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// The reverts stored with block n, applied over the state after n, give the state
    /// after n-1 (read from a snapshot taken before the block) for every account and slot.
    #[test]
    fn reverts_restore_the_previous_state(workload in workload(1..8, 16)) {
        let mut chain = Harness::new();
        for steps in &workload {
            let before = chain.reader();
            let block = chain.run_block(steps);
            chain.check_reverts(&before, block.number());
        }
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// A random workload built with `Engine::pipeline_block` (each block executing while its
    /// parent's root is computed on another thread; between blocks nothing, a poll for
    /// durable blocks, or a wait for all of them) gives the same blocks, headers and receipts
    /// as the serial path, whose roots the harness checks from scratch and against the
    /// model; every block is reported durable once, in order.
    #[test]
    fn pipelined_blocks_equal_serial_blocks(
        workload in workload(1..8, 16),
        between in prop::collection::vec(0..3u8, 8),
    ) {
        let mut chain = Harness::new();
        let (mut blocks, mut serial) = (Vec::new(), Vec::new());
        for steps in &workload {
            let block = chain.run_block(steps);
            blocks.push((block.header.timestamp, block.txs.clone()));
            serial.push(block);
        }
        let between: Vec<_> = between
            .iter()
            .map(|b| match b {
                0 => pipeline::Between::Nothing,
                1 => pipeline::Between::Poll,
                _ => pipeline::Between::Drain,
            })
            .collect();
        let (mut engine, _dir) = Harness::new().into_engine();
        let (sealed, durable) = pipeline::run_pipelined(&mut engine, &blocks, &between);
        pipeline::assert_same_chain(&serial, &sealed, &durable);
    }
}

/// BLOCKHASH of the parent, and the EIP-2935 history contract's answer for it, read inside a
/// block executing while the parent's root is still computed: both are the parent's true
/// hash (the execution waits for it), and the chain is the serial one.
#[test]
fn pipelined_blocks_read_their_parent_hash() {
    let (blocks, reader) = pipeline::parent_hash_blocks(8);
    let serial = pipeline::run_serial(&blocks);
    let (mut engine, _dir) = Harness::new().into_engine();
    let (sealed, durable) = pipeline::run_pipelined(&mut engine, &blocks, &[]);
    assert_eq!(sealed.len(), blocks.len());
    pipeline::assert_same_chain(&serial, &sealed, &durable);
    let state = engine.store().reader().expect("reader");
    let want = pipeline::expected_reads(&serial, blocks.len() as u64);
    for (slot, want) in want.iter().enumerate() {
        let got = state.storage(&reader, &U256::from(slot)).expect("slot");
        assert_eq!(&got, want, "slot {slot}");
    }
    assert_ne!(want[0], U256::ZERO);
}

fn step(op: Op) -> Step {
    // A 1 gwei tip and a fee cap with headroom, so the price paid is below the cap.
    Step { op, fee: 0b110 }
}

fn failures(block: &op_node::block::SealedBlock) -> usize {
    block.receipts.iter().filter(|r| !r.status()).count()
}

/// The edge cases the random workloads may miss, each once, in a fixed order. The indices
/// follow the receivers' order (actors, sinks, storers, vaults, CREATE2 targets).
#[test]
fn directed_edge_cases() {
    let mut chain = Harness::new();
    let mut failed = 0;
    let fresh_key = ACTORS.keys[10].address();
    let [sink0, sink1, sink2, sink3] = ACTORS.sinks[..] else {
        panic!("four sinks")
    };

    // Block 1: a factory, a storer, a vault with an endowment; fund a fresh key; send zero
    // to a fresh address (which must not come into existence).
    let block = chain.run_block(&[
        step(Op::Deploy {
            from: 0,
            init: 2,
            beneficiary: 0,
            amount: 0,
        }),
        step(Op::Deploy {
            from: 1,
            init: 0,
            beneficiary: 0,
            amount: 0,
        }),
        step(Op::Deploy {
            from: 2,
            init: 1,
            beneficiary: 0,
            amount: 10,
        }),
        step(Op::Transfer {
            from: 3,
            to: 10,
            amount: 100,
        }),
        step(Op::Transfer {
            from: 4,
            to: 14,
            amount: 0,
        }),
    ]);
    assert_eq!(block.txs.len(), 5);
    assert!(!chain.model.accounts.contains_key(&sink0));
    let factory = chain.model.factory().expect("factory deployed");
    let storer_target = create2_address(factory, salt(0), Init::Storer);
    let destruct_target = create2_address(factory, salt(0), Init::DestructToOrigin);

    // Block 2 (receivers: 18 actors and sinks, storer 18, vault 19, CREATE2 targets 20..26):
    // prefund both salt-0 targets; write slots; a reverting and an out-of-gas write; a
    // deposit into the vault; the fresh key sends its whole balance away.
    let block = chain.run_block(&[
        step(Op::Transfer {
            from: 0,
            to: 23,
            amount: 50,
        }),
        step(Op::Transfer {
            from: 1,
            to: 20,
            amount: 50,
        }),
        step(Op::Store {
            from: 2,
            target: 0,
            writes: vec![(1, Some(5)), (2, Some(6)), (200, Some(7))],
            amount: 3,
            tail: 0,
        }),
        step(Op::Store {
            from: 3,
            target: 0,
            writes: vec![(1, Some(9)), (4, Some(4))],
            amount: 3,
            tail: 1,
        }),
        step(Op::Store {
            from: 4,
            target: 0,
            writes: vec![(3, Some(1))],
            amount: 3,
            tail: 2,
        }),
        step(Op::Transfer {
            from: 5,
            to: 19,
            amount: 20,
        }),
        step(Op::Drain { from: 10, to: 15 }),
    ]);
    assert_eq!(block.txs.len(), 7);
    failed += failures(&block);
    assert!(chain.model.balance(&storer_target) > U256::ZERO);
    assert!(chain.model.balance(&destruct_target) > U256::ZERO);
    assert_eq!(chain.model.balance(&fresh_key), U256::ZERO);
    assert_eq!(chain.model.nonce(&fresh_key), 1);
    assert!(chain.model.accounts.contains_key(&sink1));

    // Block 3: CREATE2 over both prefunded targets (one dies in its constructor, deleting
    // an account that existed); clear slots; empty the vault by SELFDESTRUCT; constructors
    // that self-destruct to a fresh address with and without value; a reverting one.
    let block = chain.run_block(&[
        step(Op::Create2 {
            from: 0,
            salt: 0,
            destruct: true,
            amount: 10,
        }),
        step(Op::Create2 {
            from: 1,
            salt: 0,
            destruct: false,
            amount: 0,
        }),
        step(Op::Store {
            from: 2,
            target: 0,
            writes: vec![(1, None), (2, None), (5, Some(3))],
            amount: 0,
            tail: 0,
        }),
        step(Op::Withdraw { from: 6, target: 0 }),
        step(Op::Deploy {
            from: 7,
            init: 3,
            beneficiary: 16,
            amount: 0,
        }),
        step(Op::Deploy {
            from: 8,
            init: 3,
            beneficiary: 17,
            amount: 30,
        }),
        step(Op::Deploy {
            from: 9,
            init: 4,
            beneficiary: 0,
            amount: 5,
        }),
    ]);
    assert_eq!(block.txs.len(), 7);
    failed += failures(&block);
    assert!(!chain.model.accounts.contains_key(&destruct_target));
    assert!(chain.model.code(&storer_target).is_some());
    assert!(!chain.model.accounts.contains_key(&sink2));
    assert!(chain.model.accounts.contains_key(&sink3));
    let vault = chain.model.contracts(&contracts::vault_runtime())[0];
    assert_eq!(chain.model.balance(&vault), U256::ZERO);

    // Block 4 (storers 18-19, vault 20, targets 21..27): CREATE2 of the storer again
    // collides and reverts; prefund the destroyed address again and re-create it.
    let block = chain.run_block(&[
        step(Op::Create2 {
            from: 0,
            salt: 0,
            destruct: false,
            amount: 1,
        }),
        step(Op::Transfer {
            from: 2,
            to: 24,
            amount: 40,
        }),
        step(Op::Create2 {
            from: 1,
            salt: 0,
            destruct: true,
            amount: 0,
        }),
    ]);
    assert_eq!(block.txs.len(), 3);
    assert!(!block.receipts[0].status(), "CREATE2 collision reverts");
    failed += failures(&block);
    assert!(!chain.model.accounts.contains_key(&destruct_target));

    // A reverting write, an out-of-gas write, a reverting constructor, a collision.
    assert_eq!(failed, 4);
}

fn transfer(
    key: &PrivateKeySigner,
    nonce: u64,
    to: Address,
    value: u64,
    gas: u64,
    chain: &mut Harness,
) -> Arc<RecoveredTx> {
    call(
        key,
        nonce,
        TxKind::Call(to),
        value,
        gas,
        Bytes::new(),
        chain,
    )
}

fn call(
    key: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: u64,
    gas_limit: u64,
    input: Bytes,
    chain: &mut Harness,
) -> Arc<RecoveredTx> {
    let base_fee = u128::from(chain.next_base_fee());
    let tx = TxEip1559 {
        chain_id: harness::CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas: 2 * base_fee,
        max_priority_fee_per_gas: 1,
        to,
        value: U256::from(value),
        input,
        ..Default::default()
    };
    sign(key, tx, &chain.pool)
}

/// A nonce gap is not an error: the transaction waits, unrejected, until the gap closes,
/// and other senders are not held up.
#[test]
fn nonce_gap_waits_until_it_closes() {
    let mut chain = Harness::new();
    let (key, other) = (&ACTORS.keys[1], &ACTORS.keys[2]);
    let to = ACTORS.sinks[0];
    let t0 = transfer(key, 0, to, 1, 21_000, &mut chain);
    let t2 = transfer(key, 2, to, 1, 21_000, &mut chain);
    let o0 = transfer(other, 0, to, 1, 21_000, &mut chain);

    let built = chain.build(&[t0.clone(), t2.clone(), o0.clone()]);
    assert_eq!(hashes(&built.block), vec![t0.hash, o0.hash]);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    chain.commit_unchecked(built);

    let built = chain.build(std::slice::from_ref(&t2));
    assert!(built.block.txs.is_empty());
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    chain.commit_unchecked(built);

    let t1 = transfer(key, 1, to, 1, 21_000, &mut chain);
    let built = chain.build(&[t1.clone(), t2.clone()]);
    assert_eq!(hashes(&built.block), vec![t1.hash, t2.hash]);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    chain.commit_unchecked(built);
    assert_eq!(
        chain
            .reader()
            .account(&key.address())
            .unwrap()
            .unwrap()
            .nonce,
        3
    );
}

/// A sender that cannot pay gas and value is rejected; its later transactions are left
/// out (not rejected); others are included; the sender's account is untouched.
#[test]
fn sender_that_cannot_pay_is_rejected() {
    let mut chain = Harness::new();
    let (dev, poor, broke) = (&ACTORS.keys[0], &ACTORS.keys[12], &ACTORS.keys[13]);
    // `poor` can pay its value or its gas, not both.
    let funds = 1_000_000_000_000_000;
    let fund = transfer(dev, 0, poor.address(), funds, 21_000, &mut chain);
    let built = chain.build(&[fund]);
    assert_eq!(built.block.txs.len(), 1);
    chain.commit_unchecked(built);

    let poor0 = transfer(poor, 0, ACTORS.sinks[0], funds, 21_000, &mut chain);
    let poor1 = transfer(poor, 1, ACTORS.sinks[0], 0, 21_000, &mut chain);
    let broke0 = transfer(broke, 0, ACTORS.sinks[0], 0, 21_000, &mut chain);
    let dev1 = transfer(dev, 1, ACTORS.sinks[1], 1, 21_000, &mut chain);
    let built = chain.build(&[poor0.clone(), poor1, broke0.clone(), dev1.clone()]);
    assert_eq!(hashes(&built.block), vec![dev1.hash]);
    let rejected: Vec<_> = built.rejected.iter().map(|r| r.tx.hash).collect();
    assert_eq!(
        rejected,
        vec![poor0.hash, broke0.hash],
        "{:?}",
        built.rejected
    );
    for r in &built.rejected {
        assert!(r.reason.contains("fund"), "reason: {}", r.reason);
    }
    chain.commit_unchecked(built);
    let reader = chain.reader();
    let poor_account = reader.account(&poor.address()).unwrap().unwrap();
    assert_eq!(
        (poor_account.nonce, poor_account.balance),
        (0, U256::from(funds))
    );
    assert_eq!(reader.account(&broke.address()).unwrap(), None);
}

/// A transaction whose gas limit exceeds what is left of the block waits for the next
/// block, with its sender's later transactions; smaller ones from others still fit.
#[test]
fn tx_over_remaining_block_gas_waits_for_next_block() {
    let mut chain = Harness::new();
    let keys = &ACTORS.keys;
    let deploy = call(
        &keys[0],
        0,
        TxKind::Create,
        0,
        400_000,
        Init::Storer.code(),
        &mut chain,
    );
    let built = chain.build(&[deploy]);
    assert_eq!(built.block.txs.len(), 1);
    chain.commit_unchecked(built);
    let storer = keys[0].address().create(0);

    // Two bytes past the last pair make the storer spin until the gas runs out.
    let spin = storer_calldata(&[], 2);
    let burn = call(
        &keys[1],
        0,
        TxKind::Call(storer),
        0,
        20_000_000,
        spin,
        &mut chain,
    );
    let big = transfer(&keys[2], 0, ACTORS.sinks[0], 1, 15_000_000, &mut chain);
    let after_big = transfer(&keys[2], 1, ACTORS.sinks[0], 1, 21_000, &mut chain);
    let small = transfer(&keys[3], 0, ACTORS.sinks[0], 1, 21_000, &mut chain);
    let built = chain.build(&[burn.clone(), big.clone(), after_big.clone(), small.clone()]);
    assert_eq!(hashes(&built.block), vec![burn.hash, small.hash]);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    assert_eq!(built.block.header.gas_used, 20_000_000 + 21_000);
    assert!(!built.block.receipts[0].status());
    chain.commit_unchecked(built);

    let built = chain.build(&[big.clone(), after_big.clone()]);
    assert_eq!(hashes(&built.block), vec![big.hash, after_big.hash]);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    chain.commit_unchecked(built);
}

/// The sequencer's open block: a block that fills up closes before its deadline, and the
/// next one opens only at that deadline, from the pool's best then. Opened at once, it
/// started from what the full block left (a low-tip transfer) and took the burns that
/// arrived next in their order, so the second no longer fit (the embedded L1's blocks, full
/// of gas burners, went partly empty that way).
#[test]
fn sequencer_opens_the_block_after_a_full_one_at_its_deadline() {
    use op_node::{
        sequencer,
        txpool::{SenderState, TxPool},
    };
    use std::{
        sync::atomic::{AtomicBool, Ordering},
        time::Duration,
    };

    let mut chain = Harness::new();
    let keys = &ACTORS.keys;
    let deploy = call(
        &keys[0],
        0,
        TxKind::Create,
        0,
        400_000,
        Init::Storer.code(),
        &mut chain,
    );
    let built = chain.build(&[deploy]);
    assert_eq!(built.block.txs.len(), 1);
    chain.commit_unchecked(built);
    let storer = keys[0].address().create(0);
    let base_fee = chain.next_base_fee();
    // Half the block's gas each (the storer spins until it runs out), at a tip far above
    // the transfer's and a fee cap far above the base fee.
    let burn = |key: &PrivateKeySigner, nonce: u64, chain: &Harness| {
        let tx = TxEip1559 {
            chain_id: harness::CHAIN_ID,
            nonce,
            gas_limit: harness::GAS_LIMIT / 2,
            max_fee_per_gas: 4 * u128::from(base_fee) + 1_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(storer),
            input: storer_calldata(&[], 2),
            ..Default::default()
        };
        sign(key, tx, &chain.pool)
    };
    let pool = Arc::new(TxPool::new(chain.pool.clone()));
    let admit = |tx: &Arc<RecoveredTx>, nonce: u64| {
        let state = SenderState {
            nonce,
            balance: U256::from(10u64).pow(U256::from(24)),
        };
        pool.add((**tx).clone(), state, base_fee).expect("admitted");
    };
    let (a0, b0) = (burn(&keys[1], 0, &chain), burn(&keys[2], 0, &chain));
    let (a1, b1) = (burn(&keys[1], 1, &chain), burn(&keys[2], 1, &chain));
    let cheap = transfer(&keys[3], 0, ACTORS.sinks[0], 1, 21_000, &mut chain);
    for tx in [&a0, &b0, &cheap] {
        admit(tx, 0);
    }

    let (engine, _dir) = chain.into_engine();
    let (blocks, mut sealed) = tokio::sync::broadcast::channel(16);
    let shutdown = Arc::new(AtomicBool::new(false));
    let sequencer = std::thread::spawn({
        let (pool, shutdown) = (pool.clone(), shutdown.clone());
        move || {
            sequencer::run(
                engine,
                sequencer::Inputs::Plain,
                pool,
                blocks,
                Duration::from_secs(1),
                None,
                shutdown,
            )
        }
    });
    let mut next = || sealed.blocking_recv().expect("a sealed block");
    let sorted = |mut v: Vec<_>| {
        v.sort();
        v
    };
    // The two burns fill the first block: it closes early and is reported at once.
    let first = next();
    assert_eq!(sorted(hashes(&first)), sorted(vec![a0.hash, b0.hash]));
    assert_eq!(first.header.gas_used, harness::GAS_LIMIT);
    // Two more burns arrive well before its deadline (a block opened at once would have
    // taken the transfer by now): the next block, opened at the deadline, takes them ahead
    // of the transfer.
    std::thread::sleep(Duration::from_millis(100));
    admit(&a1, 1);
    admit(&b1, 1);
    let second = next();
    assert_eq!(sorted(hashes(&second)), sorted(vec![a1.hash, b1.hash]));
    assert_eq!(second.header.gas_used, harness::GAS_LIMIT);
    let third = next();
    assert_eq!(hashes(&third), vec![cheap.hash]);
    shutdown.store(true, Ordering::Relaxed);
    sequencer
        .join()
        .expect("the sequencer thread")
        .expect("the sequencer stopped cleanly");
}

/// The embedded L1 builds each block at its tick from the pool's best, ordered by tip, as
/// an Ethereum builder does: a low-tip transfer pooled first is displaced by two gas burns
/// (half the block's gas each, a higher tip) arriving later in the period. An open block
/// (the L2's rule) would have executed the transfer at its opening, and then only one burn
/// fitted.
#[test]
fn embedded_l1_builds_at_its_tick_by_tip() {
    use op_node::{
        chain::{ChainConfig, l1_genesis_alloc},
        engine::Engine,
        sequencer,
        storage::Store,
        txpool::{PoolConfig, SenderState, TxPool},
    };
    use std::{
        sync::atomic::{AtomicBool, Ordering},
        time::Duration,
    };

    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(Store::open(&dir.path().join("l1.redb")).expect("store"));
    let config = Arc::new(ChainConfig::l1(harness::CHAIN_ID, harness::GAS_LIMIT));
    let engine =
        Engine::open(config, store, &l1_genesis_alloc(&[]), 1_700_000_000).expect("engine");
    let base_fee = engine.next_base_fee();
    let rules = PoolConfig::new(harness::CHAIN_ID, harness::GAS_LIMIT);
    let keys = &ACTORS.keys;
    // A creation whose init code loops until it runs out of gas: it burns its whole limit.
    let burn = |key: &PrivateKeySigner| {
        let tx = TxEip1559 {
            chain_id: harness::CHAIN_ID,
            nonce: 0,
            gas_limit: harness::GAS_LIMIT / 2,
            max_fee_per_gas: 4 * u128::from(base_fee) + 2_000_000_000,
            max_priority_fee_per_gas: 2_000_000_000,
            to: TxKind::Create,
            input: Bytes::from_static(&[0x5b, 0x60, 0x00, 0x56]),
            ..Default::default()
        };
        sign(key, tx, &rules)
    };
    let cheap = sign(
        &keys[3],
        TxEip1559 {
            chain_id: harness::CHAIN_ID,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 4 * u128::from(base_fee) + 1,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(ACTORS.sinks[0]),
            value: U256::from(1),
            ..Default::default()
        },
        &rules,
    );
    let (a, b) = (burn(&keys[1]), burn(&keys[2]));
    let pool = Arc::new(TxPool::new(rules.clone()));
    let admit = |tx: &Arc<RecoveredTx>| {
        let state = SenderState {
            nonce: 0,
            balance: U256::from(10u64).pow(U256::from(24)),
        };
        pool.add((**tx).clone(), state, base_fee).expect("admitted");
    };
    admit(&cheap);

    let (blocks, mut sealed) = tokio::sync::broadcast::channel(16);
    let shutdown = Arc::new(AtomicBool::new(false));
    let sequencer = std::thread::spawn({
        let (pool, shutdown) = (pool.clone(), shutdown.clone());
        move || {
            sequencer::run(
                engine,
                sequencer::Inputs::Plain,
                pool,
                blocks,
                Duration::from_secs(1),
                None,
                shutdown,
            )
        }
    });
    // Well inside the first period (its tick is 1 s after the start).
    std::thread::sleep(Duration::from_millis(300));
    admit(&a);
    admit(&b);
    let mut next = || sealed.blocking_recv().expect("a sealed block");
    let first = next();
    let mut got = hashes(&first);
    got.sort();
    let mut want = vec![a.hash, b.hash];
    want.sort();
    assert_eq!(
        got, want,
        "the burns outbid the transfer pooled before them"
    );
    assert_eq!(first.header.gas_used, harness::GAS_LIMIT);
    assert_eq!(hashes(&next()), vec![cheap.hash]);
    shutdown.store(true, Ordering::Relaxed);
    sequencer
        .join()
        .expect("the sequencer thread")
        .expect("the sequencer stopped cleanly");
}

/// `build` only seals in memory: a built block that is never committed must leave no
/// trace (in the tries, in the code cache), so the next block's roots and stored code are
/// those of the committed state.
#[test]
fn dropped_build_leaves_no_trace() {
    let mut chain = Harness::new();
    chain.run_block(&[step(Op::Deploy {
        from: 0,
        init: 0,
        beneficiary: 0,
        amount: 0,
    })]);
    let storer = chain.model.contracts(&contracts::storer_runtime())[0];
    let writes = [
        (U256::from(1), U256::from(11)),
        (U256::from(2), U256::from(22)),
    ];
    let (dev1, dev2) = (&ACTORS.keys[1], &ACTORS.keys[2]);
    let data = storer_calldata(&writes, 0);
    let discarded = [
        call(dev1, 0, TxKind::Call(storer), 5, 400_000, data, &mut chain),
        call(
            dev2,
            0,
            TxKind::Create,
            0,
            400_000,
            Init::Vault.code(),
            &mut chain,
        ),
    ];
    let built = chain.build(&discarded);
    assert_eq!(built.block.txs.len(), 2);
    drop(built);

    // The same senders and nonces, other effects; the vault's code is deployed for real.
    chain.run_block(&[
        step(Op::Store {
            from: 1,
            target: 0,
            writes: vec![(1, Some(3))],
            amount: 0,
            tail: 0,
        }),
        step(Op::Deploy {
            from: 2,
            init: 1,
            beneficiary: 0,
            amount: 0,
        }),
    ]);
    chain.run_block(&[step(Op::Transfer {
        from: 3,
        to: 14,
        amount: 1,
    })]);
    chain.restart();
    chain.run_block(&[step(Op::Transfer {
        from: 4,
        to: 19,
        amount: 1,
    })]);
}

proptest! {
    #![proptest_config(config(10))]

    /// Rewinding to any earlier block restores exactly that block's state (flat tables and
    /// a from-scratch state root), removes the later blocks and their transactions, returns
    /// their transactions, survives a restart, and the chain builds on from there.
    #[test]
    fn rewind_restores_an_earlier_block(
        workload in workload(2..8, 14),
        target in 0..8usize,
        restart in any::<bool>(),
    ) {
        let mut chain = Harness::new();
        let mut snapshots = vec![(chain.head.clone(), chain.model.clone())];
        let mut blocks = Vec::new();
        for steps in &workload {
            blocks.push(chain.run_block(steps));
            snapshots.push((chain.head.clone(), chain.model.clone()));
        }
        let target = target % workload.len();
        let (head, model) = snapshots[target].clone();
        let returned = chain.engine().rewind(head.number()).expect("rewind");
        let removed: Vec<_> = blocks[target..].iter().flat_map(|b| hashes(b)).collect();
        prop_assert_eq!(returned.iter().map(|t| t.hash).collect::<Vec<_>>(), removed.clone());
        chain.head = head;
        chain.model = model;
        prop_assert_eq!(chain.engine().head().hash, chain.head.hash);
        chain.check_state();
        let reader = chain.reader();
        prop_assert!(reader.header(chain.head.number() + 1).unwrap().is_none());
        for hash in &removed {
            prop_assert!(reader.transaction_location(hash).unwrap().is_none());
        }
        for block in &blocks[target..] {
            prop_assert!(reader.block_number(&block.hash).unwrap().is_none());
        }
        drop(reader);
        if restart {
            chain.restart();
        }
        for steps in &workload[target..] {
            chain.run_block(steps);
        }
    }
}

proptest! {
    #![proptest_config(config(2))]

    /// A crash at every commit point of a random chain (genesis, each block, a rewind and the
    /// block sealed after it): the disk fails that write, truncate or sync, the process dies,
    /// and the disk keeps only what was synced plus a random, partly torn subset of the rest.
    /// On restart the stored chain is the one after the last commit reported done (or after
    /// the one in flight), never older and never a mix, and the node rebuilds the same chain
    /// from there, so the state it recovered is intact. Each fault point runs three times:
    /// blocks committed in turn, sealed in turn with appends behind, and pipelined (a root
    /// thread seals, stages and hands over each block while the next executes, as the
    /// sequencer does).
    #[test]
    fn a_crash_at_any_commit_point_loses_no_reported_block(
        workload in workload(3..5, 6),
        seed in any::<u64>(),
    ) {
        let mut chain = Harness::new();
        let mut actions = Vec::new();
        let mut last = chain.head.clone();
        for steps in &workload {
            last = chain.run_block(steps);
            actions.push(faults::Action::Seal {
                timestamp: last.header.timestamp,
                txs: last.txs.clone(),
            });
        }
        actions.push(faults::Action::Rewind { to: last.number() - 1 });
        actions.push(faults::Action::Seal {
            timestamp: last.header.timestamp + 1,
            txs: last.txs.clone(),
        });
        let (chains, ops) = faults::reference(&actions);
        prop_assert_eq!(chains[workload.len()].last(), Some(&last.hash));
        prop_assert!(ops > 0);
        for fail_at in 0..ops {
            let seed = seed ^ fail_at.wrapping_mul(0x9e37_79b9);
            faults::crash_at(&actions, &chains, fail_at, seed);
            for sealing in [faults::Sealing::InTurn, faults::Sealing::RootThread] {
                faults::crash_pipelined_at(&actions, &chains, fail_at, seed, sealing);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(8))]

    /// The execution witness of every block of a random workload is complete and exact:
    /// the block re-executes over the witness alone with the stored receipts, the witness's
    /// partial tries plus the block's changes give the header's state root, every node is
    /// reachable from the parent's root, and every read resolves to the parent's state.
    #[test]
    fn execution_witness_replays_random_blocks(workload in workload(1..6, 12)) {
        let mut chain = Harness::new();
        // Snapshots of the state after each block, to check what witnesses prove against.
        let mut snapshots = vec![chain.reader()];
        for steps in &workload {
            chain.run_block(steps);
            snapshots.push(chain.reader());
        }
        let config = chain.engine().config().clone();
        let reader = chain.reader();
        for number in 1..=chain.head.number() {
            witness::check_witness(&config, &reader, number, &snapshots[number as usize - 1]);
        }
    }
}

/// Scratch files left by a crash while the database files were being created are discarded:
/// the next start creates the files afresh under their real names and nothing else remains.
#[test]
fn a_half_created_database_is_discarded() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("chain.redb");
    std::fs::write(dir.path().join("chain.redb.creating"), b"half a header").expect("write");
    std::fs::write(dir.path().join("chain-state.redb.creating"), b"half").expect("write");
    let store = op_node::storage::Store::open(&path).expect("open over stale scratch files");
    assert_eq!(
        store.reader().expect("reader").head_number().expect("head"),
        None
    );
    drop(store);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            std::ffi::OsString::from("chain-state.redb"),
            std::ffi::OsString::from("chain.redb")
        ]
    );
}

/// A transaction from `key` with a fee cap well above the base fee.
fn witness_tx(
    pool: &op_node::txpool::PoolConfig,
    key: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
) -> Arc<RecoveredTx> {
    let tx = TxEip1559 {
        chain_id: harness::CHAIN_ID,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    sign(key, tx, pool)
}

/// Runtime `SSTORE(0, BLOCKHASH(NUMBER - calldata[0..32]))`, behind init code that returns it.
fn blockhash_init() -> Bytes {
    let runtime = [0x60, 0x00, 0x35, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, 0x00];
    let mut code = vec![
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        0x0b,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    code.extend_from_slice(&runtime);
    code.into()
}

/// Builds `txs` after `deposits` (forced, as derivation gives them) and commits the block.
fn witness_block(
    chain: &mut Harness,
    snapshots: &mut Vec<op_node::storage::StoreReader>,
    deposits: Vec<Arc<RecoveredTx>>,
    txs: &[Arc<RecoveredTx>],
) -> Arc<op_node::block::SealedBlock> {
    let attributes = op_node::engine::BlockAttributes {
        timestamp: chain.head.header.timestamp + 2,
        prev_randao: alloy::primitives::B256::repeat_byte(7),
        forced: deposits.clone(),
    };
    let built = chain.engine().build_block(&attributes, txs).expect("build");
    assert!(built.rejected.is_empty(), "rejected {:?}", built.rejected);
    assert_eq!(
        built.block.txs.len(),
        deposits.len() + txs.len(),
        "all included"
    );
    let block = chain.commit_unchecked(built);
    snapshots.push(chain.reader());
    block
}

/// The cases a witness must cover, each in a known block, then every witness checked from
/// the witness alone and shown minimal (without any one node the stateless check fails).
#[test]
fn execution_witness_directed() {
    use alloy::primitives::{B256, address, keccak256};
    use op_alloy::consensus::TxDeposit;
    use op_node::engine::witness::{WitnessError, execution_witness};

    let mut chain = Harness::new();
    let pool = chain.pool.clone();
    let mut snapshots = vec![chain.reader()];
    let keys = &ACTORS.keys;
    let eth = U256::from(10u64).pow(U256::from(18u64));
    let fresh = address!("0x00000000000000000000000000000000000f2e51");
    let minted = address!("0x00000000000000000000000000000000000d3b05");
    let storer = keys[0].address().create(0);
    let clock = keys[1].address().create(0);

    // Block 1: a storer (its constructor writes slot 7) and the BLOCKHASH contract are
    // created; a transfer creates a fresh account; one between existing accounts.
    witness_block(
        &mut chain,
        &mut snapshots,
        vec![],
        &[
            witness_tx(
                &pool,
                &keys[0],
                0,
                TxKind::Create,
                U256::ZERO,
                Init::Storer.code(),
            ),
            witness_tx(
                &pool,
                &keys[1],
                0,
                TxKind::Create,
                U256::ZERO,
                blockhash_init(),
            ),
            witness_tx(&pool, &keys[2], 0, TxKind::Call(fresh), eth, Bytes::new()),
            witness_tx(
                &pool,
                &keys[3],
                0,
                TxKind::Call(keys[4].address()),
                eth,
                Bytes::new(),
            ),
        ],
    );
    // Block 2: the storer writes slots 1 and 2 (its storage trie: three leaves under one
    // branch); a contract is created and self-destructs in its constructor, in one tx.
    let writes = storer_calldata(
        &[
            (U256::from(1), U256::from(11)),
            (U256::from(2), U256::from(22)),
        ],
        0,
    );
    witness_block(
        &mut chain,
        &mut snapshots,
        vec![],
        &[
            witness_tx(&pool, &keys[0], 1, TxKind::Call(storer), U256::ZERO, writes),
            witness_tx(
                &pool,
                &keys[2],
                1,
                TxKind::Create,
                U256::from(5),
                Init::DestructToOrigin.code(),
            ),
        ],
    );
    // Block 3: a deposit mints to a fresh account and one calls the storer; slots 1 and 2
    // are cleared, collapsing the storage root branch onto the untouched slot 7's leaf;
    // BLOCKHASH(0) reaches back to the genesis.
    let deposit = |n: u8, to: Address, mint: u128, input: Bytes| {
        op_node::derivation::deposit_tx(TxDeposit {
            source_hash: B256::repeat_byte(n),
            from: keys[5].address(),
            to: TxKind::Call(to),
            mint,
            value: U256::from(mint / 2),
            gas_limit: 500_000,
            is_system_transaction: false,
            input,
        })
    };
    let clears = storer_calldata(
        &[(U256::from(1), U256::ZERO), (U256::from(2), U256::ZERO)],
        0,
    );
    witness_block(
        &mut chain,
        &mut snapshots,
        vec![
            deposit(1, minted, 3_000_000_000_000_000_000, Bytes::new()),
            deposit(
                2,
                storer,
                0,
                storer_calldata(&[(U256::from(9), U256::from(99))], 0),
            ),
        ],
        &[
            witness_tx(&pool, &keys[0], 2, TxKind::Call(storer), U256::ZERO, clears),
            witness_tx(
                &pool,
                &keys[1],
                1,
                TxKind::Call(clock),
                U256::ZERO,
                U256::from(3).to_be_bytes::<32>().into(),
            ),
        ],
    );
    // Blocks 4 to 6: plain transfers, then BLOCKHASH(3) from block 6.
    for nonce in 1..3 {
        witness_block(
            &mut chain,
            &mut snapshots,
            vec![],
            &[witness_tx(
                &pool,
                &keys[3],
                nonce,
                TxKind::Call(fresh),
                U256::from(1),
                Bytes::new(),
            )],
        );
    }
    witness_block(
        &mut chain,
        &mut snapshots,
        vec![],
        &[witness_tx(
            &pool,
            &keys[1],
            2,
            TxKind::Call(clock),
            U256::ZERO,
            U256::from(3).to_be_bytes::<32>().into(),
        )],
    );
    let head = chain.head.number();
    assert_eq!(head, 6);
    let reader = chain.reader();
    let config = chain.engine().config().clone();
    assert!(
        reader.account(&minted).unwrap().is_some(),
        "the deposit minted"
    );
    for block in 1..=6 {
        assert!(
            reader.receipts(block).unwrap().iter().all(|r| r.status()),
            "block {block} succeeded"
        );
    }
    assert_eq!(
        reader.storage(&clock, &U256::ZERO).unwrap(),
        U256::from_be_bytes(reader.header(3).unwrap().unwrap().0.0)
    );
    assert_eq!(reader.storage(&storer, &U256::from(1)).unwrap(), U256::ZERO);

    for number in 1..=head {
        let witness =
            witness::check_witness(&config, &reader, number, &snapshots[number as usize - 1]);
        witness::check_minimal(&config, &reader, number, &witness);
        if number == 3 {
            // Clearing slots 1 and 2 leaves the branch above them one child: slot 7's leaf,
            // which the block neither reads nor writes, must be in the witness.
            let (_, parent) = reader.header(2).unwrap().unwrap();
            let state =
                witness::WitnessState::new(&witness, &parent, reader.header(2).unwrap().unwrap().0);
            assert!(
                state.has_storage_leaf(keccak256(storer), keccak256(B256::from(U256::from(7)))),
                "block 3: the collapse sibling (slot 7's leaf) is in the witness"
            );
        }
        let headers = witness.headers.len();
        match number {
            3 => assert_eq!(headers, 3, "BLOCKHASH(0) in block 3: headers 0 to 2"),
            6 => assert_eq!(headers, 3, "BLOCKHASH(3) in block 6: headers 3 to 5"),
            _ => assert_eq!(headers, 1, "block {number}: only the parent"),
        }
    }

    // Refusals.
    assert!(matches!(
        execution_witness(&config, &reader, 0, 10_000),
        Err(WitnessError::Genesis)
    ));
    assert!(matches!(
        execution_witness(&config, &reader, 7, 10_000),
        Err(WitnessError::NotFound { number: 7, head: 6 })
    ));
    assert!(matches!(
        execution_witness(&config, &reader, u64::MAX, 10_000),
        Err(WitnessError::NotFound { .. })
    ));
    assert!(matches!(
        execution_witness(&config, &reader, 2, 3),
        Err(WitnessError::TooOld { .. })
    ));
    assert!(
        execution_witness(&config, &reader, 4, 3).is_ok(),
        "block 4's parent is exactly 3 back"
    );
}

/// The embedded L1's blocks have witnesses too: Ethereum's executor (Prague system calls, no
/// deposits), with contract creation, a storage branch collapse and BLOCKHASH.
#[test]
fn execution_witness_l1() {
    use op_node::{
        chain::{ChainConfig, l1_genesis_alloc},
        engine::Engine,
        storage::Store,
        txpool::PoolConfig,
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(Store::open(&dir.path().join("l1.redb")).expect("store"));
    let config = Arc::new(ChainConfig::l1(harness::CHAIN_ID, harness::GAS_LIMIT));
    let mut engine = Engine::open(
        config.clone(),
        store.clone(),
        &l1_genesis_alloc(&[]),
        1_700_000_000,
    )
    .expect("engine");
    let pool = PoolConfig::new(harness::CHAIN_ID, harness::GAS_LIMIT);
    let keys = &ACTORS.keys;
    let storer = keys[0].address().create(0);
    let clock = keys[1].address().create(0);
    let word = |n: u64| Bytes::from(U256::from(n).to_be_bytes::<32>());
    let blocks = [
        vec![
            witness_tx(
                &pool,
                &keys[0],
                0,
                TxKind::Create,
                U256::ZERO,
                Init::Storer.code(),
            ),
            witness_tx(
                &pool,
                &keys[1],
                0,
                TxKind::Create,
                U256::ZERO,
                blockhash_init(),
            ),
            witness_tx(
                &pool,
                &keys[2],
                0,
                TxKind::Call(Address::repeat_byte(0x5e)),
                U256::from(9),
                Bytes::new(),
            ),
        ],
        vec![witness_tx(
            &pool,
            &keys[0],
            1,
            TxKind::Call(storer),
            U256::ZERO,
            storer_calldata(
                &[
                    (U256::from(1), U256::from(1)),
                    (U256::from(2), U256::from(2)),
                ],
                0,
            ),
        )],
        vec![
            witness_tx(
                &pool,
                &keys[0],
                2,
                TxKind::Call(storer),
                U256::ZERO,
                storer_calldata(
                    &[(U256::from(1), U256::ZERO), (U256::from(2), U256::ZERO)],
                    0,
                ),
            ),
            witness_tx(&pool, &keys[1], 1, TxKind::Call(clock), U256::ZERO, word(2)),
        ],
    ];
    let mut snapshots = vec![store.reader().expect("reader")];
    for (i, txs) in blocks.iter().enumerate() {
        let built = engine
            .build(1_700_000_000 + 12 * (i as u64 + 1), txs)
            .expect("build");
        assert_eq!(
            built.block.txs.len(),
            txs.len(),
            "every transaction included"
        );
        let block = engine.commit(built).expect("commit");
        assert!(
            block.receipts.iter().all(|r| r.status()),
            "block {} succeeded",
            i + 1
        );
        snapshots.push(store.reader().expect("reader"));
    }
    let reader = store.reader().expect("reader");
    for number in 1..=3u64 {
        let witness =
            witness::check_witness(&config, &reader, number, &snapshots[number as usize - 1]);
        witness::check_minimal(&config, &reader, number, &witness);
        let headers = if number == 3 { 2 } else { 1 };
        assert_eq!(witness.headers.len(), headers, "block {number}: headers");
    }
}

/// The rollup's precompile bounds in the engine (fraud-vm/SPEC.md §5.15 "Bounds", the set
/// `fraud_vm::precompiles` gives every EVM that runs L2 blocks): transactions calling ecPairing
/// with 128 pairs, modexp with 1024-byte operands and blake2f of 4M rounds succeed; with 129
/// pairs, a 1025-byte base, an exponent whose Osaka price is past 4M gas or 4,000,001 rounds,
/// each is included and fails, using all its gas, though OP Isthmus would accept it with that
/// gas.
#[test]
fn precompile_calls_past_the_rollup_bounds_fail() {
    use fraud_vm::precompiles::BN254_PAIRING_MAX_INPUT;
    let mut chain = Harness::new();
    let key = &ACTORS.keys[3];
    let word = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let modexp = |b: usize, e: &[u8], m: usize| {
        let mut input = [word(b as u64), word(e.len() as u64), word(m as u64)].concat();
        input.extend(vec![3u8; b]);
        input.extend_from_slice(e);
        input.extend(vec![0x7fu8; m]);
        Bytes::from(input)
    };
    let blake2f = |rounds: u32| {
        let mut input = vec![0u8; 213];
        input[..4].copy_from_slice(&rounds.to_be_bytes());
        Bytes::from(input)
    };
    let cases: [(u64, Bytes, u64, bool); 7] = [
        // Zero pairs are infinities: a valid pairing of 128 pairs, its product one.
        (
            8,
            Bytes::from(vec![0u8; BN254_PAIRING_MAX_INPUT]),
            5_000_000,
            true,
        ),
        (
            8,
            Bytes::from(vec![0u8; BN254_PAIRING_MAX_INPUT + 192]),
            5_000_000,
            false,
        ),
        (5, modexp(1024, &[1, 0, 1], 1024), 500_000, true),
        (5, modexp(1025, &[3], 1), 500_000, false),
        // 256-byte operands, a 139-byte exponent: 379,221 gas on the L2, 4,028,416 at Osaka's
        // price.
        (5, modexp(256, &[0xff; 139], 256), 1_000_000, false),
        // blake2f: its gas is its rounds, at most 4M.
        (9, blake2f(4_000_000), 4_100_000, true),
        (9, blake2f(4_000_001), 4_100_000, false),
    ];
    let txs: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(nonce, (address, input, gas, _))| {
            call(
                key,
                nonce as u64,
                TxKind::Call(Address::with_last_byte(*address as u8)),
                0,
                *gas,
                input.clone(),
                &mut chain,
            )
        })
        .collect();
    let built = chain.build(&txs);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    let block = chain.commit_unchecked(built);
    for ((address, input, gas, ok), tx) in cases.iter().zip(&txs) {
        let at = block
            .txs
            .iter()
            .position(|t| t.hash == tx.hash)
            .expect("included");
        let receipt = &block.receipts[at];
        let before = at
            .checked_sub(1)
            .map(|i| block.receipts[i].cumulative_gas_used())
            .unwrap_or(0);
        let used = receipt.cumulative_gas_used() - before;
        let name = format!("{address:#04x} with {} bytes", input.len());
        assert_eq!(receipt.status(), *ok, "{name}");
        if *ok {
            assert!(used < *gas, "{name}: {used} gas");
        } else {
            assert_eq!(used, *gas, "{name}: a failed call uses all its gas");
        }
    }
}
