//! Serial mode: the engine alone, in this process. Senders are recovered before the clock
//! starts; what is timed is `Engine::pipeline_block` block after block, as the sequencer does
//! (each block executes while the previous block's roots and seal are computed and its
//! chain-file append handed over on another thread), or with `--no-pipeline` `Engine::build`
//! (execution, state root, sealing) plus `Engine::seal` (staging the block, the warm-state
//! update, handing its append to the appender thread) in turn, and at the end the wait until
//! the last block is durable. A block counts once its append is durable.

use super::{
    BenchError,
    report::{Mode, Report, current_thread_cpu, load_average, ms, process_cpu, thread_cpu},
    workload::{self, Key, Signer, TOKENS_PER_ACCOUNT, Target, Workload},
};
use alloy::{
    consensus::TxReceipt,
    primitives::{Bytes, U256, uint},
};
use op_node::{
    block::{RecoveredTx, SealedBlock},
    chain::{ChainConfig, GenesisAccount, dev_genesis_alloc},
    engine::{BlockAttributes, BuildTimings, Engine, Fixed},
    storage::{ApplyMode, Store},
    txpool::{PoolConfig, decode_and_recover},
};
use rayon::prelude::*;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Chain id of the benchmark chain.
pub(super) const CHAIN_ID: u64 = 901;
/// Timestamp of the benchmark genesis; each block is one second later.
pub(super) const GENESIS_TIMESTAMP: u64 = 1_700_000_000;
/// The batcher recorded in L1-info deposits (derive mode).
pub(super) const BATCHER: alloy::primitives::Address =
    alloy::primitives::address!("0x00000000000000000000000000000000000ba7c8");
/// Genesis balance of every benchmark account: 1,000 ETH.
const ACCOUNT_BALANCE: U256 = uint!(1_000_000_000_000_000_000_000_U256);

/// Parameters of a serial run.
#[derive(Debug, Clone, Copy)]
pub struct SerialParams {
    /// What to send.
    pub workload: Workload,
    /// Funded sender accounts.
    pub accounts: usize,
    /// Timed transactions.
    pub txs: usize,
    /// Transactions per block.
    pub block_txs: usize,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Seed of the transfer plan.
    pub seed: u64,
    /// How the state file is written.
    pub apply: ApplyMode,
    /// Measure a restart after the timed blocks (serial mode only).
    pub restart: bool,
    /// Execute each block beside the previous block's state root ([`Engine::pipeline_block`]),
    /// as the node's sequencer does; otherwise build and seal each block in turn.
    pub pipeline: bool,
}

/// Runs one serial benchmark on a fresh database in a temporary directory.
pub fn run(p: SerialParams) -> Result<Report, BenchError> {
    eprintln!(
        "op-bench: serial {}: {} accounts, {} txs, {} txs per block",
        p.workload.name(),
        p.accounts,
        p.txs,
        p.block_txs
    );
    // The last key deploys and hands out the token; the others are the senders.
    let keys = Key::derive_many(p.accounts + 1);
    let (senders, treasury) = keys.split_at(p.accounts);
    let treasury = treasury[0];
    let dir = tempfile::Builder::new().prefix("op-bench-").tempdir()?;
    let mut chain = Chain::open(&dir.path().join("bench.redb"), &keys, p.gas_limit, p.apply)?;
    chain.pipeline = p.pipeline;
    let signer = Signer { chain_id: CHAIN_ID };

    let started = Instant::now();
    let target = setup(&p, &mut chain, &signer, senders, &treasury)?;
    let setup_time = started.elapsed();

    let plan = workload::plan(p.accounts, p.txs, p.seed, p.workload.first_nonce());
    let started = Instant::now();
    let raw = signer.sign_plan(&plan, senders, &target)?;
    let sign = started.elapsed();
    let started = Instant::now();
    let txs = chain.recover(raw)?;
    let recover = started.elapsed();

    // The set-up blocks' state is written before the clock starts.
    chain.engine.store().flush()?;
    let load_before = load_average();
    eprintln!(
        "op-bench: timing {} blocks (load average {load_before})",
        txs.len().div_ceil(p.block_txs)
    );
    let batches_before = chain.engine.store().applied_batches();
    let cpu_before = process_cpu();
    let applier_cpu = |chain: &Chain| {
        thread_cpu(op_node::storage::APPLIER_THREAD) + chain.engine.store().applier_helper_cpu()
    };
    let applier_before = applier_cpu(&chain);
    let block_before = current_thread_cpu();
    let appender_before = thread_cpu(op_node::storage::APPENDER_THREAD);
    let mut timed = Timed::default();
    for block in txs.chunks(p.block_txs) {
        chain.seal_timed(block, &mut timed)?;
        timed.max_pending = timed.max_pending.max(chain.engine.store().pending_blocks());
    }
    chain.finish(&mut timed)?;
    // Blocks are durable once committed, but the run is not over until the state file holds
    // them: that work is part of the throughput.
    let started = Instant::now();
    chain.engine.store().flush()?;
    let drain = started.elapsed();
    // The end of the timed part, for profilers attached to the run (before the engine's and
    // the trie's teardown, which takes seconds at 1M accounts).
    eprintln!("op-bench: timed blocks done");
    let cpu = process_cpu().saturating_sub(cpu_before);
    let applier = applier_cpu(&chain).saturating_sub(applier_before);
    let block_cpu = current_thread_cpu().saturating_sub(block_before);
    let appender = thread_cpu(op_node::storage::APPENDER_THREAD).saturating_sub(appender_before);
    // The state-root threads end with their block: theirs is what the named threads leave.
    let root_cpu = cpu
        .saturating_sub(block_cpu)
        .saturating_sub(appender)
        .saturating_sub(applier);
    let batches = chain.engine.store().applied_batches() - batches_before;
    let file_mb =
        |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0.0, |m| m.len() as f64 / 1e6);
    let (chain_mb, state_mb) = (file_mb("bench.redb"), file_mb("bench-state.redb"));
    let blocks = timed.blocks.max(1) as f64;
    let per_block = |d: Duration| ms(d) / blocks;
    let restart = match p.restart {
        true => restart(chain, &dir, &keys, &p, &signer, &target, &plan)?,
        false => None,
    };
    let mut stages = vec![
        ("sign", per_block(sign)),
        ("recover", per_block(recover)),
        ("execute", per_block(timed.execute)),
    ];
    // Only the pipelined path waits for a root after executing.
    if p.pipeline {
        stages.push(("root_wait", per_block(timed.root_wait)));
    }
    stages.extend([
        ("state_root", per_block(timed.state_root)),
        ("seal", per_block(timed.seal)),
        ("persist", per_block(timed.persist)),
        ("drain", per_block(drain)),
        ("cpu", per_block(cpu)),
        ("block_cpu", per_block(block_cpu)),
        ("root_cpu", per_block(root_cpu)),
        ("appender_cpu", per_block(appender)),
        ("applier_cpu", per_block(applier)),
        ("setup", ms(setup_time)),
    ]);
    if let Some((open, first)) = restart {
        stages.push(("restart_open", ms(open)));
        stages.push(("restart_first_block", ms(first)));
    }
    Ok(Report {
        workload: p.workload,
        mode: Mode::Serial,
        accounts: p.accounts,
        txs: p.txs,
        gas: timed.gas,
        elapsed: timed.build + timed.persist + drain,
        latencies_ms: timed.block_ms,
        stages,
        stages_note: format!(
            "ms per block avg, {} blocks of {} txs; {}; sign and recover are wall time on {} threads and \
             not in tps; persist is the block thread's share of the chain-file commit (staging the block; \
             its append runs on the appender thread while the next block executes; waits for an append \
             still running, and for the last one), setup (ms, once, not in tps) the untimed set-up \
             transactions' signing, recovery and blocks, drain the state-file writes still \
             pending after the last block (in tps; at most {} blocks were pending, written in {batches} state-file batches); cpu is the \
             process's CPU time on all threads, of which block_cpu is the block thread's (execution), appender_cpu the \
             chain-file appender's, applier_cpu the state-file writer's (its account rows' thread included) and root_cpu the \
             rest (the state-root threads, which end with their block, and their body-root helpers); p50/p99 are per-block build+seal; load average \
             {load_before} before, {} after; files at the end: chain {chain_mb:.1} MB, state {state_mb:.1} MB; \
             restart_open (ms, once) is closing and reopening the store and engine, restart_first_block (ms) \
             building and committing the first block after it (with --restart)",
            timed.blocks,
            p.block_txs,
            if p.pipeline {
                "pipelined, as the node's sequencer does: each block executes while the previous \
                 block's state root, transactions and receipts roots, seal and staging run on another \
                 thread (state_root and seal: that thread's times, overlapped; root_wait: the block \
                 thread's wait for them after executing)"
            } else {
                "each block built and sealed in turn (--no-pipeline)"
            },
            rayon::current_num_threads(),
            timed.max_pending,
            load_average()
        ),
    })
}

/// Closes `chain`, reopens its store and engine, and seals one block of `p.block_txs`
/// transfers from senders that sent nothing in `plan` (their nonce is still 0): the time to
/// reopen and the time of that block, which loads the trie paths it touches from the state
/// file. `None` when too few senders are left.
fn restart(
    chain: Chain,
    dir: &tempfile::TempDir,
    keys: &[Key],
    p: &SerialParams,
    signer: &Signer,
    target: &Target,
    plan: &[workload::Transfer],
) -> Result<Option<(Duration, Duration)>, BenchError> {
    let senders = &keys[..p.accounts];
    let used: std::collections::HashSet<usize> = plan.iter().map(|t| t.from).collect();
    let block: Vec<workload::Transfer> = (0..p.accounts)
        .filter(|i| !used.contains(i))
        .take(p.block_txs)
        .map(|from| workload::Transfer {
            from,
            nonce: p.workload.first_nonce(),
            to: (from + p.accounts / 2) % p.accounts,
        })
        .collect();
    if block.len() < p.block_txs {
        return Ok(None);
    }
    let txs = chain.recover(signer.sign_plan(&block, senders, target)?)?;
    let timestamp = chain.timestamp;
    drop(chain);
    let started = Instant::now();
    let mut chain = Chain::open(&dir.path().join("bench.redb"), keys, p.gas_limit, p.apply)?;
    chain.timestamp = timestamp;
    chain.pipeline = p.pipeline;
    let open = started.elapsed();
    let started = Instant::now();
    let mut timed = Timed::default();
    chain.seal_timed(&txs, &mut timed)?;
    chain.finish(&mut timed)?;
    Ok(Some((open, started.elapsed())))
}

/// The untimed set-up of the workload (every set-up transaction must succeed): the ERC-20
/// run's token deployed and handed out, the swap run's Uniswap contracts, pool, hand-outs and
/// approvals. Returns where the timed transactions go.
pub(super) fn setup(
    p: &SerialParams,
    chain: &mut Chain,
    signer: &Signer,
    senders: &[Key],
    treasury: &Key,
) -> Result<Target, BenchError> {
    Ok(match p.workload {
        Workload::EthTransfer => Target::Accounts,
        Workload::UniswapSwap => {
            let setup = signer.uniswap_setup(treasury, 0, senders)?;
            chain.seal_untimed(&setup.contracts, p.block_txs)?;
            chain.seal_untimed(&setup.handouts, p.block_txs)?;
            chain.seal_untimed(&setup.approvals, p.block_txs)?;
            Target::Uniswap(setup.pool)
        }
        Workload::Erc20Transfer => {
            let supply = TOKENS_PER_ACCOUNT * U256::from(p.accounts);
            let (deploy, token) = signer.deploy_token(treasury, 0, supply)?;
            chain.seal_untimed(&[deploy], p.block_txs)?;
            let handouts = senders
                .par_iter()
                .enumerate()
                .map(|(i, to)| {
                    signer.token_transfer(
                        treasury,
                        i as u64 + 1,
                        token,
                        to.address,
                        TOKENS_PER_ACCOUNT,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            chain.seal_untimed(&handouts, p.block_txs)?;
            Target::Token(token)
        }
    })
}

/// What the timed blocks took.
#[derive(Debug, Default)]
pub(super) struct Timed {
    pub(super) blocks: usize,
    pub(super) gas: u64,
    build: Duration,
    execute: Duration,
    state_root: Duration,
    seal: Duration,
    persist: Duration,
    block_ms: Vec<f64>,
    /// Most blocks waiting for the state file after a commit.
    max_pending: usize,
    /// Blocks whose append was durable.
    durable: usize,
    /// The block thread's wait, after a block executed, for the previous block's root.
    root_wait: Duration,
}

impl Timed {
    /// Counts a block the root thread sealed: its gas and its root's times; every
    /// transaction after the forced ones must have succeeded.
    fn sealed(&mut self, block: &SealedBlock, timings: BuildTimings) -> Result<(), BenchError> {
        let forced = block.txs.iter().take_while(|t| t.tx.is_deposit()).count();
        if let Some((tx, _)) = block
            .txs
            .iter()
            .zip(&block.receipts)
            .skip(forced)
            .find(|(_, r)| !r.status())
        {
            return Err(BenchError::Workload(format!(
                "transaction {} from {} failed in block {}",
                tx.hash,
                tx.sender(),
                block.number()
            )));
        }
        self.gas += block.header.gas_used;
        self.state_root += timings.state_root;
        self.seal += timings.seal;
        Ok(())
    }
}

/// An engine over a temporary store, with the admission rules its transactions pass.
pub(super) struct Chain {
    pub(super) engine: Engine,
    pool: PoolConfig,
    timestamp: u64,
    /// When set, every block opens as an L2 block of this L1 origin does (the L1-info
    /// deposit, sequence numbers counting up), so its batch can be derived (derive mode).
    pub(super) origin: Option<(op_node::derivation::L1Block, u64)>,
    /// Blocks execute beside the previous block's state root ([`Engine::pipeline_block`]).
    pub(super) pipeline: bool,
}

impl Chain {
    /// A new chain whose genesis funds `keys` (and holds the dev accounts and system contracts),
    /// its state file written as `apply` says.
    pub(super) fn open(
        path: &std::path::Path,
        keys: &[Key],
        gas_limit: u64,
        apply: ApplyMode,
    ) -> Result<Self, BenchError> {
        let config = Arc::new(ChainConfig::new(CHAIN_ID, gas_limit));
        let store = Arc::new(Store::open_with_mode(path, apply)?);
        let mut alloc = dev_genesis_alloc();
        alloc.extend(keys.iter().map(|k| GenesisAccount {
            address: k.address,
            balance: ACCOUNT_BALANCE,
            code: None,
        }));
        let engine = Engine::open(config, store, &alloc, GENESIS_TIMESTAMP)?;
        Ok(Self {
            engine,
            pool: PoolConfig::new(CHAIN_ID, gas_limit),
            timestamp: GENESIS_TIMESTAMP,
            origin: None,
            pipeline: false,
        })
    }

    /// Decodes the transactions and recovers their senders, in parallel, as RPC ingress does.
    pub(super) fn recover(&self, raw: Vec<Bytes>) -> Result<Vec<Arc<RecoveredTx>>, BenchError> {
        raw.into_par_iter()
            .map(|raw| Ok(Arc::new(decode_and_recover(raw, &self.pool)?)))
            .collect()
    }

    /// Seals set-up transactions in blocks, untimed.
    pub(super) fn seal_untimed(
        &mut self,
        raw: &[Bytes],
        block_txs: usize,
    ) -> Result<(), BenchError> {
        let txs = self.recover(raw.to_vec())?;
        let mut ignored = Timed::default();
        for block in txs.chunks(block_txs) {
            self.seal_timed(block, &mut ignored)?;
        }
        self.finish(&mut ignored)
    }

    /// Builds and seals one block of exactly `txs` as the sequencer does or, with
    /// [`Self::pipeline`], executes it and seals the one before it ([`Engine::pipeline_block`]:
    /// this block executes while the previous block's state root is computed on another
    /// thread), adding the times to `timed`. Every transaction must be included and succeed,
    /// or the figures would measure something else.
    pub(super) fn seal_timed(
        &mut self,
        txs: &[Arc<RecoveredTx>],
        timed: &mut Timed,
    ) -> Result<(), BenchError> {
        self.timestamp += 1;
        let started = Instant::now();
        let attributes = match &mut self.origin {
            None => BlockAttributes {
                timestamp: self.timestamp,
                ..Default::default()
            },
            Some((origin, sequence_number)) => {
                let attributes = op_node::derivation::block_inputs(
                    origin,
                    *sequence_number,
                    self.timestamp,
                    BATCHER,
                    op_node::derivation::FeeScalars::default(),
                );
                *sequence_number += 1;
                attributes
            }
        };
        if !self.pipeline {
            return self.seal_in_turn(&attributes, txs, timed, started);
        }
        let out = self.engine.pipeline_block(&attributes, &mut Fixed(txs))?;
        let build = started.elapsed().saturating_sub(out.seal);
        let polled = Instant::now();
        // Blocks whose appends finished meanwhile (without waiting).
        timed.durable += self.engine.durable(Some(Instant::now()))?.len();
        let persist = out.seal + polled.elapsed();
        if out.txs.len() != txs.len() + attributes.forced.len() {
            return Err(BenchError::Workload(format!(
                "block {} included {} of {} transactions",
                out.number,
                out.txs.len(),
                txs.len()
            )));
        }
        if let Some((block, timings)) = out.sealed {
            timed.sealed(&block, timings)?;
        }
        timed.blocks += 1;
        timed.build += build;
        timed.execute += out.execute;
        timed.root_wait += out.root_wait;
        timed.persist += persist;
        timed.block_ms.push(ms(build + persist));
        Ok(())
    }

    /// One block built and sealed in turn on this thread (the sequencer's way).
    fn seal_in_turn(
        &mut self,
        attributes: &BlockAttributes,
        txs: &[Arc<RecoveredTx>],
        timed: &mut Timed,
        started: Instant,
    ) -> Result<(), BenchError> {
        let built = self.engine.build_block(attributes, txs)?;
        let built_at = Instant::now();
        let timings = built.timings;
        let block = self.engine.seal(built)?;
        // Blocks whose appends finished meanwhile (without waiting).
        timed.durable += self.engine.durable(Some(Instant::now()))?.len();
        let persist = built_at.elapsed();
        let build = built_at - started;
        if block.txs.len() != txs.len() + attributes.forced.len() {
            return Err(BenchError::Workload(format!(
                "block {} included {} of {} transactions",
                block.number(),
                block.txs.len(),
                txs.len()
            )));
        }
        timed.sealed(&block, timings)?;
        timed.blocks += 1;
        timed.build += build;
        timed.execute += timings.execute;
        timed.persist += persist;
        timed.block_ms.push(ms(build + persist));
        Ok(())
    }

    /// Waits until every sealed block is durable (the time counts as persist) and checks that
    /// each one became durable.
    pub(super) fn finish(&mut self, timed: &mut Timed) -> Result<(), BenchError> {
        let started = Instant::now();
        if let Some((block, timings)) = self.engine.finish_root()? {
            timed.sealed(&block, timings)?;
        }
        timed.durable += self.engine.durable(None)?.len();
        timed.persist += started.elapsed();
        if timed.durable != timed.blocks {
            return Err(BenchError::Workload(format!(
                "{} blocks sealed, {} durable",
                timed.blocks, timed.durable
            )));
        }
        Ok(())
    }
}
