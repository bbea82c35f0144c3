//! The sequencer loop: every block time, take the pool's best transactions, build and seal a
//! block, make it durable, and only then announce it.
//!
//! It runs on its own OS thread: execution never shares a thread with RPC, and no lock is
//! held while a block executes.

use crate::{
    block::SealedBlock,
    derivation::{self, FeeScalars, L1View},
    engine::{BlockAttributes, Engine},
    txpool::TxPool,
};
use alloy::primitives::Address;
use parking_lot::RwLock;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::broadcast;
use tracing::{debug, error, info};

/// Why the sequencer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    /// The engine could not build or persist a block.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Where a block's non-pool transactions come from.
#[derive(Debug)]
pub enum Inputs {
    /// None: the embedded L1, or an L2 without an L1.
    Plain,
    /// The L2: an L1-info deposit and the L1's deposits, derived from the L1 view.
    Derived(DerivedInputs),
}

/// What the L2 sequencer derives its blocks' deposits from.
#[derive(Debug)]
pub struct DerivedInputs {
    /// The recent L1 blocks (filled by the L1 watcher).
    pub view: Arc<RwLock<L1View>>,
    /// The number of the first L2 block's origin.
    pub genesis_origin: u64,
    /// The batcher, recorded in every L1-info deposit.
    pub batcher: Address,
    /// L1 data fee scalars.
    pub scalars: FeeScalars,
}

impl Inputs {
    /// The attributes of the block after `engine`'s head at `timestamp`, or why there are none yet.
    fn attributes(&self, engine: &Engine, timestamp: u64) -> Result<BlockAttributes, String> {
        match self {
            Self::Plain => Ok(BlockAttributes {
                timestamp,
                ..Default::default()
            }),
            Self::Derived(d) => {
                let head = engine.head();
                let parent = derivation::origin_of(&head.txs);
                if parent.is_none() && head.number() != 0 {
                    return Err(format!("L2 block {} has no L1-info deposit", head.number()));
                }
                let view = d.view.read();
                derivation::next_attributes(
                    parent.as_ref(),
                    d.genesis_origin,
                    &view,
                    timestamp,
                    d.batcher,
                    d.scalars,
                )
                .map(|(attributes, _)| attributes)
                .map_err(|e| e.to_string())
            }
        }
    }
}

/// Seals a block every `block_time` until `shutdown` is set or the engine fails.
pub fn run(
    mut engine: Engine,
    inputs: Inputs,
    pool: Arc<TxPool>,
    blocks: broadcast::Sender<Arc<SealedBlock>>,
    block_time: Duration,
    shutdown: Arc<AtomicBool>,
) -> Result<(), SequencerError> {
    let mut next = Instant::now() + block_time;
    let mut last_report = Instant::now();
    let mut sealed_since_report = 0u64;
    let mut txs_since_report = 0u64;
    while !shutdown.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += block_time;
        if Instant::now() > next {
            // Fell behind (a slow block): start the next period from now rather than burst.
            next = Instant::now() + block_time;
        }
        let timestamp = unix_now().max(engine.head().header.timestamp);
        let base_fee = engine.next_base_fee();
        let candidates = pool.best(base_fee, engine.config().gas_limit.saturating_mul(4));
        let started = Instant::now();
        let attributes = match inputs.attributes(&engine, timestamp) {
            Ok(attributes) => attributes,
            Err(reason) => {
                if last_report.elapsed() >= Duration::from_secs(5) {
                    tracing::warn!(target: "sequencer", %reason, "waiting for L1 before the next block");
                    last_report = Instant::now();
                }
                continue;
            }
        };
        let built = match engine.build_block(&attributes, &candidates) {
            Ok(built) => built,
            Err(e) => {
                error!(target: "sequencer", error = %e, "block building failed; stopping");
                return Err(e.into());
            }
        };
        let rejected: Vec<_> = built.rejected.iter().map(|r| r.tx.clone()).collect();
        let block = match engine.commit(built) {
            Ok(block) => block,
            Err(e) => {
                error!(target: "sequencer", error = %e, "could not persist the block; stopping");
                return Err(e.into());
            }
        };
        pool.on_block(&block.txs, &rejected);
        debug!(
            target: "sequencer",
            number = block.number(),
            hash = %block.hash,
            txs = block.txs.len(),
            gas_used = block.header.gas_used,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "sealed block"
        );
        sealed_since_report += 1;
        txs_since_report += block.txs.len() as u64;
        // Nobody listening is fine.
        let _ = blocks.send(block.clone());
        if last_report.elapsed() >= Duration::from_secs(10) {
            info!(
                target: "sequencer",
                head = block.number(),
                blocks = sealed_since_report,
                txs = txs_since_report,
                pool = ?pool.status(),
                "sealing"
            );
            last_report = Instant::now();
            sealed_since_report = 0;
            txs_since_report = 0;
        }
    }
    info!(target: "sequencer", head = engine.head().number(), "stopped");
    Ok(())
}
