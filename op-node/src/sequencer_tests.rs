//! The sequencer loop on a real engine, pool and redb file: blocks pipelined one beside the
//! next are reported in order, each only once durable, and no transaction is handed to two
//! blocks.

use super::*;
use crate::{
    chain::{ChainConfig, l2_genesis_alloc},
    derivation::driver::tests::{key, transfer},
    storage::Store,
    txpool::{PoolConfig, SenderState, decode_and_recover},
};
use alloy::primitives::{U256, map::B256Set};

const CHAIN_ID: u64 = 901;
const GAS_LIMIT: u64 = 30_000_000;

/// Transactions arrive in waves while blocks are open and while their roots are computed;
/// every block the sequencer reports is already in the store's durable chain, on its
/// predecessor, and together they hold each transaction exactly once.
#[test]
fn pipelined_sequencer_reports_each_block_once_durable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(Store::open(&dir.path().join("chain.redb")).expect("store"));
    let config = Arc::new(ChainConfig::new(CHAIN_ID, GAS_LIMIT));
    let engine =
        Engine::open(config, store.clone(), &l2_genesis_alloc(), unix_now()).expect("engine");
    let pool_config = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
    let pool = Arc::new(TxPool::new(pool_config.clone()));
    let (blocks, mut reported) = broadcast::channel(1024);
    let shutdown = Arc::new(AtomicBool::new(false));
    let sequencer = {
        let (pool, blocks, shutdown) = (pool.clone(), blocks.clone(), shutdown.clone());
        std::thread::spawn(move || {
            run(
                engine,
                Inputs::Plain,
                pool,
                blocks,
                Duration::from_millis(40),
                None,
                shutdown,
            )
        })
    };

    let (senders, waves, per_wave) = (6u32, 8u64, 5u64);
    let keys: Vec<_> = (0..senders).map(key).collect();
    let mut sent = B256Set::default();
    let funds = SenderState {
        nonce: 0,
        balance: U256::MAX,
    };
    let mut seen = Vec::<Arc<SealedBlock>>::new();
    let check = |block: Arc<SealedBlock>, seen: &mut Vec<Arc<SealedBlock>>| {
        let durable = store
            .reader()
            .expect("reader")
            .header(block.number())
            .expect("header");
        assert_eq!(
            durable.map(|(hash, _)| hash),
            Some(block.hash),
            "block {} was reported before it was durable",
            block.number()
        );
        let parent = seen.last().map_or(1, |p| p.number() + 1);
        assert_eq!(block.number(), parent, "blocks are reported in order");
        if let Some(p) = seen.last() {
            assert_eq!(
                block.header.parent_hash,
                p.hash,
                "block {} is on its parent",
                block.number()
            );
        }
        seen.push(block);
    };
    for wave in 0..waves {
        for (i, k) in keys.iter().enumerate() {
            for j in 0..per_wave {
                let nonce = wave * per_wave + j;
                let tx = decode_and_recover(transfer(k, nonce), &pool_config).expect("recover");
                sent.insert(tx.hash);
                pool.add(tx, funds, crate::chain::INITIAL_BASE_FEE)
                    .unwrap_or_else(|e| panic!("sender {i} nonce {nonce}: {e}"));
            }
        }
        // Some waves land while a block is open, some while its root is being computed.
        std::thread::sleep(Duration::from_millis(13 + 17 * (wave % 3)));
        while let Ok(block) = reported.try_recv() {
            check(block, &mut seen);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let included = |seen: &[Arc<SealedBlock>]| seen.iter().map(|b| b.txs.len()).sum::<usize>();
    while included(&seen) < sent.len() && Instant::now() < deadline {
        match reported.try_recv() {
            Ok(block) => check(block, &mut seen),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    shutdown.store(true, Ordering::Relaxed);
    sequencer
        .join()
        .expect("sequencer thread")
        .expect("sequencer stopped cleanly");
    while let Ok(block) = reported.try_recv() {
        check(block, &mut seen);
    }

    let mut included_once = B256Set::default();
    for block in &seen {
        for tx in &block.txs {
            assert!(
                included_once.insert(tx.hash),
                "{} is in two blocks",
                tx.hash
            );
        }
    }
    assert_eq!(included_once, sent, "every transaction is included once");
    assert!(seen.len() > 3, "several blocks: {}", seen.len());
    let head = store.reader().expect("reader").head_number().expect("head");
    assert_eq!(
        head,
        seen.last().map(|b| b.number()),
        "every sealed block was reported"
    );
    assert_eq!(
        pool.status().pending,
        0,
        "the pool let go of every included transaction"
    );
}
