//! The pipelined path ([`Engine::pipeline_block`]: a block executes while its parent's root is
//! computed on another thread) against the serial one, block for block.

use super::harness::{CHAIN_ID, GAS_LIMIT, Harness, hashes};
use super::workload::{ACTORS, sign};
use alloy::{
    consensus::TxEip1559,
    eips::eip2935::HISTORY_STORAGE_ADDRESS,
    primitives::{Address, B256, Bytes, TxKind, U256},
};
use op_node::{
    block::{RecoveredTx, SealedBlock},
    engine::{BlockAttributes, Engine, Fixed},
    storage::DurableBlock,
    txpool::PoolConfig,
};
use std::{sync::Arc, time::Instant};

/// One block to build: its timestamp and transactions.
pub type Block = (u64, Vec<Arc<RecoveredTx>>);

/// How the pipelined run is driven between two blocks.
#[derive(Debug, Clone, Copy)]
pub enum Between {
    /// Nothing: the next block executes beside this one's root.
    Nothing,
    /// Poll for durable blocks without waiting (seals the block if its root is done).
    Poll,
    /// Wait until everything is durable (seals the block first).
    Drain,
}

/// Runs `blocks` through `engine` with [`Engine::pipeline_block`], doing `between[i]` after
/// block i, and returns the blocks `pipeline_block` and `finish_root` handed out as sealed
/// (not those a poll or a drain sealed), and every block reported durable, in order.
pub fn run_pipelined(
    engine: &mut Engine,
    blocks: &[Block],
    between: &[Between],
) -> (Vec<Arc<SealedBlock>>, Vec<Arc<SealedBlock>>) {
    let (mut sealed, mut durable) = (Vec::new(), Vec::new());
    for (i, (timestamp, txs)) in blocks.iter().enumerate() {
        let attributes = BlockAttributes {
            timestamp: *timestamp,
            ..Default::default()
        };
        let out = engine
            .pipeline_block(&attributes, &mut Fixed(txs))
            .expect("pipelined block");
        assert!(out.rejected.is_empty(), "rejected {:?}", out.rejected);
        assert_eq!(out.txs.len(), txs.len());
        sealed.extend(out.sealed.map(|(block, _)| block));
        match between.get(i).copied().unwrap_or(Between::Nothing) {
            Between::Nothing => {}
            Between::Poll => durable.extend(blocks_of(
                engine.durable(Some(Instant::now())).expect("poll"),
            )),
            Between::Drain => durable.extend(blocks_of(engine.durable(None).expect("drain"))),
        }
    }
    sealed.extend(engine.finish_root().expect("last root").map(|(b, _)| b));
    durable.extend(blocks_of(engine.durable(None).expect("durable")));
    (sealed, durable)
}

/// The blocks of [`Engine::durable`]'s answer, each checked to carry an instant no later than
/// now.
fn blocks_of(durable: Vec<DurableBlock>) -> impl Iterator<Item = Arc<SealedBlock>> {
    let now = Instant::now();
    durable.into_iter().map(move |d| {
        assert!(
            d.at <= now,
            "block {} durable after it was handed out",
            d.block.number()
        );
        d.block
    })
}

/// Runs `blocks` serially (build, then commit) on a fresh chain, each block's roots and state
/// checked from scratch by the harness only where it planned them; here the blocks are given,
/// so they are compared with a second, pipelined run instead.
pub fn run_serial(blocks: &[Block]) -> Vec<Arc<SealedBlock>> {
    let (mut engine, _dir) = Harness::new().into_engine();
    blocks
        .iter()
        .map(|(timestamp, txs)| {
            let built = engine.build(*timestamp, txs).expect("build");
            assert!(built.rejected.is_empty());
            engine.commit(built).expect("commit")
        })
        .collect()
}

/// Runtime code that stores BLOCKHASH(NUMBER - 1) in slot 0, what the EIP-2935 history
/// contract answers for NUMBER - 1 in slot 1 and whether that call succeeded in slot 2.
fn parent_hash_reader() -> Bytes {
    let mut code = vec![
        0x60, 0x01, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, // sstore(0, blockhash(number - 1))
        0x60, 0x01, 0x43, 0x03, 0x60, 0x00, 0x52, // mstore(0, number - 1)
        0x60, 0x20, 0x60, 0x00, 0x60, 0x20, 0x60, 0x00, 0x60, 0x00, // out, in, value
        0x73, // push20 the history contract
    ];
    code.extend_from_slice(HISTORY_STORAGE_ADDRESS.as_slice());
    code.extend_from_slice(&[
        0x5a, 0xf1, // call(gas, history, 0, 0, 32, 0, 32)
        0x60, 0x02, 0x55, // sstore(2, success)
        0x60, 0x00, 0x51, 0x60, 0x01, 0x55, // sstore(1, mload(0))
        0x00,
    ]);
    let mut init = vec![
        0x60,
        code.len() as u8,
        0x60,
        12,
        0x60,
        0x00,
        0x39,
        0x60,
        code.len() as u8,
        0x60,
        0x00,
        0xf3,
    ];
    init.extend_from_slice(&code);
    init.into()
}

fn tx(
    pool: &PoolConfig,
    from: usize,
    nonce: u64,
    to: TxKind,
    value: u64,
    input: Bytes,
) -> Arc<RecoveredTx> {
    sign(
        &ACTORS.keys[from],
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 300_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value: U256::from(value),
            access_list: Default::default(),
            input,
        },
        pool,
    )
}

/// Blocks in which a contract reads its parent's hash through BLOCKHASH and through the
/// history contract, beside plain transfers: the reads the pipelined path answers by waiting
/// for the parent's root.
pub fn parent_hash_blocks(count: u64) -> (Vec<Block>, Address) {
    let pool = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
    let deployer = ACTORS.keys[0].address();
    let reader = deployer.create(0);
    let mut blocks = vec![(
        super::harness::GENESIS_TIMESTAMP + 2,
        vec![tx(&pool, 0, 0, TxKind::Create, 0, parent_hash_reader())],
    )];
    for i in 1..count {
        blocks.push((
            super::harness::GENESIS_TIMESTAMP + 2 * (i + 1),
            vec![
                tx(
                    &pool,
                    1,
                    i - 1,
                    TxKind::Call(ACTORS.sinks[0]),
                    1_000,
                    Bytes::new(),
                ),
                tx(&pool, 2, i - 1, TxKind::Call(reader), 0, Bytes::new()),
                tx(
                    &pool,
                    3,
                    i - 1,
                    TxKind::Call(ACTORS.sinks[1]),
                    7,
                    Bytes::new(),
                ),
            ],
        ));
    }
    (blocks, reader)
}

/// Checks that the pipelined blocks are the serial ones: each block handed out as sealed, and
/// every block reported durable once, in order.
pub fn assert_same_chain(
    serial: &[Arc<SealedBlock>],
    sealed: &[Arc<SealedBlock>],
    durable: &[Arc<SealedBlock>],
) {
    let numbers =
        |blocks: &[Arc<SealedBlock>]| blocks.iter().map(|b| b.number()).collect::<Vec<_>>();
    assert_eq!(numbers(durable), numbers(serial), "durable blocks");
    for block in sealed.iter().chain(durable) {
        let want = &serial[block.number() as usize - 1];
        assert_eq!(
            hashes(block),
            hashes(want),
            "block {}: transactions",
            want.number()
        );
        assert_eq!(block.header, want.header, "block {}: header", want.number());
        assert_eq!(block.hash, want.hash, "block {}", want.number());
        assert_eq!(
            block.receipts,
            want.receipts,
            "block {}: receipts",
            want.number()
        );
    }
}

/// The slot values the parent-hash reader must hold after block `number` of `chain`.
pub fn expected_reads(chain: &[Arc<SealedBlock>], number: u64) -> [U256; 3] {
    let parent: B256 = chain[number as usize - 2].hash;
    [parent.into(), parent.into(), U256::from(1)]
}
