//! The sequencer loop: every block time, take the pool's best transactions and execute a
//! block; its root, seal and append run beside the next block's execution, and it is
//! announced only once durable.
//!
//! It runs on its own OS thread: execution never shares a thread with RPC, and no lock is
//! held while a block executes.

use crate::{
    block::{RecoveredTx, SealedBlock},
    chain::ChainKind,
    derivation::{self, DerivationError, Driver, FeeScalars, L1View},
    engine::{BlockAttributes, BuildTimings, CandidateSource, Engine, EngineError, Rooted},
    storage::DurableBlock,
    txpool::TxPool,
};
use alloy::{
    consensus::Transaction as _,
    primitives::{Address, map::B256Set},
};
use parking_lot::RwLock;
use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::broadcast;
use tracing::{debug, error, info, warn};

/// Why the sequencer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    /// The engine could not build or persist a block.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// Derivation failed.
    #[error(transparent)]
    Derivation(#[from] crate::derivation::DriverError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
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
    Derived(Box<DerivedInputs>),
}

/// What the L2 sequencer derives its blocks' deposits from, and the derivation that
/// confirms its blocks from L1 (its safe head).
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
    /// Seconds a block may run ahead of its origin; past it the sequencer waits for L1.
    pub max_sequencer_drift: u64,
    /// Derivation from L1, which moves the safe head over the sealed blocks.
    pub driver: Driver,
    /// Fault injection: never take an L1 origin that carries deposits, so they are left out
    /// until the sequencing window forces them in.
    pub censor_deposits: bool,
}

/// Why no block can be built now.
enum Wait {
    /// The L1 origin of the head was reorganised away.
    OriginReorged,
    /// Anything else; retried at the next tick.
    Other(String),
}

impl DerivedInputs {
    /// The attributes of the block after `engine`'s head at `timestamp`.
    fn attributes(&self, engine: &Engine, timestamp: u64) -> Result<BlockAttributes, Wait> {
        // The block executed last, whose root may still be being computed.
        let tip = engine.tip();
        let parent = derivation::origin_of(tip.txs);
        if parent.is_none() && tip.number != 0 {
            return Err(Wait::Other(format!(
                "L2 block {} has no L1-info deposit",
                tip.number
            )));
        }
        let view = self.view.read();
        let (mut attributes, mut info) = derivation::next_attributes(
            parent.as_ref(),
            self.genesis_origin,
            &view,
            timestamp,
            self.batcher,
            self.scalars,
        )
        .map_err(|e| match e {
            DerivationError::OriginReorged { .. } => Wait::OriginReorged,
            e => Wait::Other(e.to_string()),
        })?;
        if self.censor_deposits
            && let Some(p) = &parent
            && info.number != p.number
            && attributes.forced.len() > 1
            && let Some(current) = view.block(p.number)
        {
            attributes = derivation::block_inputs(
                current,
                p.sequence_number + 1,
                timestamp.max(current.timestamp),
                self.batcher,
                self.scalars,
            );
            info.timestamp = current.timestamp;
            debug!(target: "sequencer", skipped_origin = info.number, "fault injection: leaving out deposits");
        }
        if attributes.timestamp > info.timestamp.saturating_add(self.max_sequencer_drift) {
            return Err(Wait::Other(format!(
                "the L1 origin is {} s behind the clock (drift limit {} s)",
                attributes.timestamp - info.timestamp,
                self.max_sequencer_drift
            )));
        }
        Ok(attributes)
    }

    /// The head's L1 origin is gone: rewinds the unsafe blocks down to the newest one whose
    /// origin is still canonical (never below the safe head; derivation rewinds that). Every
    /// block executed must be sealed and reported first.
    fn rewind_reorged(&self, engine: &mut Engine) -> Result<Vec<Arc<RecoveredTx>>, SequencerError> {
        let safe = self.driver.safe().number;
        let reader = engine.store().reader().map_err(EngineError::from)?;
        let view = self.view.read();
        let mut target = safe;
        for n in (safe + 1..=engine.head().number()).rev() {
            let Some(block) = reader.block(n).map_err(EngineError::from)? else {
                continue;
            };
            if let Some(origin) = derivation::origin_of(&block.txs)
                && view
                    .block(origin.number)
                    .is_some_and(|b| b.hash == origin.hash)
            {
                target = n;
                break;
            }
        }
        drop((reader, view));
        warn!(target: "sequencer", head = engine.head().number(), to = target, "L1 origin reorganised away: rewinding unsafe blocks");
        Ok(engine.rewind(target)?)
    }
}

/// Requests to the block-building thread.
#[derive(Debug)]
pub enum Control {
    /// Development: drop every block above `to`, so the chain reorganises as the next blocks
    /// take their place (the embedded L1's `anvil_reorg`). Replies with the new head.
    ///
    /// The caller fixes `to` when the request arrives (the head it serves minus the depth
    /// asked for), since the block open then is sealed before the sequencer reads the request:
    /// anvil's depth counts from the head the caller sees, not from that later one.
    Reorg {
        /// The new head: blocks above it are dropped.
        to: u64,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<u64, String>>,
    },
}

/// Where one block's time went, from its tick to its report; logged when it is durable
/// (target `sequencer::timeline`, debug), where op-bench's end-to-end mode reads it.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    /// When the block was due (its deadline).
    tick: Instant,
    /// When it opened (after derivation and the pool's snapshot).
    opened: Instant,
    /// When the transactions it holds were fixed: the pool's snapshot (a block built at
    /// once) or the end of the period in which it took arriving transactions.
    closed: Instant,
    /// When its root thread had sealed it in memory (until known: `closed`).
    sealed: Instant,
    /// When its root thread had handed its append to the appender thread, after staging its
    /// writes (until known: `closed`).
    handed: Instant,
    /// Executable pool transactions the build was offered.
    backlog: usize,
    /// Before it opened: reporting the blocks before it that were durable (on the L2 without
    /// waiting for those that were not, unless derivation or a reorg needed the chain
    /// settled; on the L1 waiting for all of them).
    report_wait: Duration,
    /// Before it opened: the derivation step (L2 only).
    derive: Duration,
    /// The engine's own split of the build.
    build: BuildTimings,
}

/// Milliseconds since the Unix epoch at `at` (for matching the node's log with a client's
/// clock on the same machine).
fn unix_ms(at: Instant) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ago = Instant::now().saturating_duration_since(at);
    (now.saturating_sub(ago)).as_secs_f64() * 1e3
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Timeline {
    /// Logs the block's timeline now that it is reported, `durable` when its append was.
    fn log(&self, block: &SealedBlock, kind: ChainKind, durable: Instant) {
        debug!(
            target: "sequencer::timeline",
            chain = ?kind,
            number = block.number(),
            txs = block.txs.len(),
            backlog = self.backlog,
            report_wait_ms = ms(self.report_wait),
            derive_ms = ms(self.derive),
            open_ms = ms(self.closed.saturating_duration_since(self.opened)),
            slip_ms = ms(self.closed.saturating_duration_since(self.tick)),
            execute_ms = ms(self.build.execute),
            root_ms = ms(self.build.state_root),
            seal_ms = ms(self.build.seal),
            build_ms = ms(self.sealed.saturating_duration_since(self.opened)),
            stage_ms = ms(self.handed.saturating_duration_since(self.sealed)),
            append_ms = ms(durable.saturating_duration_since(self.handed)),
            tick_unix_ms = unix_ms(self.tick),
            opened_unix_ms = unix_ms(self.opened),
            closed_unix_ms = unix_ms(self.closed),
            sealed_unix_ms = unix_ms(self.sealed),
            durable_unix_ms = unix_ms(durable),
            "block timeline"
        );
    }
}

/// How far behind its head the embedded L1 calls blocks finalized (half as far: safe).
pub const L1_FINALITY_DEPTH: u64 = 8;

/// Blocks the sequencer executed that are not reported yet (their roots may still be being
/// computed, their appends may still run), and what it reports once each is durable.
///
/// Who sees an executed block, and when: the engine executes the next block on it at once (its
/// warm state; its head and [`crate::storage::Store::reader_ahead`] once its root thread sealed
/// and staged it); everyone else only once its chain-file append is durable, and then at once,
/// on the appender thread ([`durable_hook`]), whatever the sequencer's thread is doing: the
/// L1's safe and finalized heads move, the pool drops its transactions ([`TxPool::on_block`]),
/// and subscribers get it (`blocks`: `eth_subscribe` newHeads and logs, filters). The reporter
/// hears of it later, between blocks, and lets go of what it held back for it. RPC (the
/// `latest` block, `eth_getBlockByNumber`, receipts, `eth_call`, nonces), the batcher and the
/// proposer read the store's chain head
/// ([`crate::storage::Store::reader`]), which the append moves, so they never see a block a
/// crash could lose.
struct Reporter<'a> {
    pool: &'a TxPool,
    /// Executed blocks not reported yet, oldest first, with the transactions their build
    /// refused and where their time went.
    sealed: VecDeque<(u64, Vec<Arc<RecoveredTx>>, Timeline)>,
    /// Hashes of those blocks' transactions (included and refused): the pool holds them until
    /// their block is reported, so the next block's candidates leave them out.
    taken: B256Set,
    sealed_since_report: u64,
    txs_since_report: u64,
}

impl Reporter<'_> {
    /// Remembers block `number`, which `engine` has just executed with `txs`.
    fn executed(
        &mut self,
        number: u64,
        txs: &[Arc<RecoveredTx>],
        rejected: Vec<Arc<RecoveredTx>>,
        timeline: Timeline,
    ) {
        self.taken.extend(txs.iter().map(|t| t.hash));
        self.taken.extend(rejected.iter().map(|t| t.hash));
        self.sealed.push_back((number, rejected, timeline));
    }

    /// Fills in the timelines of blocks whose root threads sealed them.
    fn rooted(&mut self, rooted: Vec<Rooted>) {
        for r in rooted {
            if let Some((_, _, timeline)) = self.sealed.iter_mut().find(|(n, ..)| *n == r.number) {
                timeline.sealed = r.sealed;
                timeline.handed = r.handed;
                timeline.build.state_root = r.timings.state_root;
                timeline.build.seal = r.timings.seal;
            }
        }
    }

    /// The pool's best transactions for the next block, without those of sealed blocks not
    /// reported yet.
    fn candidates(&self, base_fee: u64, max_gas: u64) -> Vec<Arc<RecoveredTx>> {
        let mut candidates = self.pool.best(base_fee, max_gas);
        if !self.taken.is_empty() {
            candidates.retain(|t| !self.taken.contains(&t.hash));
        }
        candidates
    }

    /// Reports the executed blocks that are durable, waiting for them until `until` (`None`:
    /// until every executed block is sealed and durable).
    fn report(
        &mut self,
        engine: &mut Engine,
        until: Option<Instant>,
    ) -> Result<(), SequencerError> {
        let durable = match engine.durable(until) {
            Ok(durable) => durable,
            Err(e) => {
                error!(target: "sequencer", error = %e, "could not persist the block; stopping");
                return Err(e.into());
            }
        };
        self.rooted(engine.take_rooted());
        for DurableBlock { block, at } in durable {
            let rejected = match self.sealed.pop_front() {
                Some((number, rejected, timeline)) if number == block.number() => {
                    timeline.log(&block, engine.config().kind, at);
                    rejected
                }
                other => {
                    return Err(EngineError::Internal(format!(
                        "block {} became durable, the sequencer expected {:?}",
                        block.number(),
                        other.map(|(n, _, _)| n)
                    ))
                    .into());
                }
            };
            for tx in block.txs.iter().chain(&rejected) {
                self.taken.remove(&tx.hash);
            }
            // The durable hook dropped the block's transactions from the pool already.
            if !rejected.is_empty() {
                self.pool.on_block(&[], &rejected);
            }
            self.sealed_since_report += 1;
            self.txs_since_report += block.txs.len() as u64;
        }
        Ok(())
    }
}

/// What the appender thread does with each block the sequencer sealed the moment it is
/// durable (see [`Reporter`]): on the L1, moves the safe and finalized heads; drops the
/// block's transactions from the pool; hands the block to subscribers.
fn durable_hook(
    kind: ChainKind,
    store: Arc<crate::storage::Store>,
    pool: Arc<TxPool>,
    blocks: broadcast::Sender<Arc<SealedBlock>>,
) -> crate::storage::DurableHook {
    Box::new(move |block| {
        if kind == ChainKind::L1 {
            let n = block.number();
            if let Err(e) = store.set_heads(
                n.saturating_sub(L1_FINALITY_DEPTH / 2),
                n.saturating_sub(L1_FINALITY_DEPTH),
            ) {
                warn!(target: "sequencer", error = %e, number = n, "could not move the safe and finalized heads");
            }
        }
        pool.on_block(&block.txs, &[]);
        // Nobody listening is fine.
        let _ = blocks.send(block.clone());
    })
}

/// How often an open block looks for newly admitted transactions.
const ARRIVAL_POLL: Duration = Duration::from_millis(2);

/// The candidates of the block the sequencer has open: the pool's best when it opened, then
/// every transaction admitted until its deadline, in order of arrival, each executed as it
/// comes; the state root and the seal follow the deadline. A transaction whose sender's
/// earlier one is not in this block yet (a nonce gap) holds its sender back for the rest of
/// the block (the engine's rule), and the next block takes both from the pool.
struct OpenBlock<'a> {
    pool: &'a TxPool,
    /// The pool's best at the opening, not handed out yet.
    first: Vec<Arc<RecoveredTx>>,
    /// When the block closes.
    deadline: Instant,
    shutdown: &'a AtomicBool,
    base_fee: u64,
    /// Transactions handed out (one admitted between the opening and the pool's snapshot is
    /// among the arrivals too).
    tried: B256Set,
    /// Scratch for the arrivals.
    arrived: Vec<Arc<RecoveredTx>>,
    /// About how many transactions the block will hold.
    hint: usize,
    /// When the deadline (or shutdown) closed it.
    closed: Option<Instant>,
}

impl CandidateSource for OpenBlock<'_> {
    fn next_batch(&mut self, into: &mut Vec<Arc<RecoveredTx>>) -> bool {
        if !self.first.is_empty() {
            self.tried.extend(self.first.iter().map(|t| t.hash));
            into.append(&mut self.first);
            return true;
        }
        loop {
            let now = Instant::now();
            if now >= self.deadline || self.shutdown.load(Ordering::Relaxed) {
                self.closed = Some(now);
                return false;
            }
            self.pool.take_arrivals(&mut self.arrived);
            for tx in self.arrived.drain(..) {
                // Fee caps below the base fee wait in the pool, as in `TxPool::best`.
                if tx.tx.effective_tip_per_gas(self.base_fee).is_some()
                    && self.tried.insert(tx.hash)
                {
                    into.push(tx);
                }
            }
            if !into.is_empty() {
                return true;
            }
            std::thread::sleep(ARRIVAL_POLL.min(self.deadline - now));
        }
    }

    fn size_hint(&self) -> usize {
        self.hint
    }
}

/// When a block takes its transactions: the L2 sequencer's rule differs from the embedded L1's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// The L2's: the block opens at the previous one's deadline and executes the pool's best,
    /// then every transaction admitted until its own deadline, in order of arrival
    /// ([`OpenBlock`]), so a transaction waits for the state root and the seal only, not for
    /// the tick and the whole block's execution (inclusion latency is what L2 users see).
    /// Order by tip then holds only at the opening: a transaction arriving in the period goes
    /// after those already executed, and waits for the next block if they filled this one.
    /// An L2 block (5,000+ transfers per 250 ms at load) is filled by arrivals only when the
    /// node is saturated, and then its backlog is in the pool at the opening, best first.
    Open,
    /// The embedded L1's (an Ethereum devnet): the block is built at its tick from the pool's
    /// best then, ordered by tip, as an Ethereum builder's final payload is: a low-tip
    /// transaction pooled early is displaced by better-paying ones arriving before the tick.
    /// Its blocks are small (three gas burners fill one) and tests outbid the batcher with
    /// them (`batcher-backlog.test.mjs`), so arrival order within the slot must not decide
    /// what gets in; nobody waits on the L1's inclusion latency.
    AtTick,
}

impl Policy {
    fn of(kind: ChainKind) -> Self {
        match kind {
            ChainKind::L1 => Self::AtTick,
            ChainKind::L2 => Self::Open,
        }
    }
}

/// Seconds since the Unix epoch at `at` (a deadline, usually ahead).
fn unix_at(at: Instant) -> u64 {
    let now = SystemTime::now();
    let wall = match at.checked_duration_since(Instant::now()) {
        Some(ahead) => now + ahead,
        None => now,
    };
    wall.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The deadline of the open block after the one due at `deadline`: one block time on, even
/// when that has passed already (its state root ran long): the late block then closes as
/// soon as it has executed the backlog it opens with, and the chain is back on its ticks.
/// Moving the deadline to a block time from now instead (as [`next_deadline`] does) made
/// the block after a slow root wait a whole period more with everything that arrived
/// meanwhile (op-bench e2e at 1M accounts, load 10: 523 and 640 ms between ticks, blocks of
/// 8,333 transfers, pool-to-close p99 454 ms). Only a sequencer more than a period behind
/// starts again from now, with one block closed at once.
fn next_open_deadline(deadline: Instant, block_time: Duration) -> Instant {
    let next = deadline + block_time;
    let now = Instant::now();
    if now > next + block_time { now } else { next }
}

/// Sleeps until `at`, or until `shutdown` is set (checked every 50 ms).
fn sleep_until(at: Instant, shutdown: &AtomicBool) {
    loop {
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() || shutdown.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The deadline after `deadline`: one block time on, or one block time from now when the
/// sequencer fell behind (a slow block), rather than a burst of blocks.
fn next_deadline(deadline: Instant, block_time: Duration) -> Instant {
    let next = deadline + block_time;
    let now = Instant::now();
    if now > next { now + block_time } else { next }
}

/// Seals a block every `block_time` until `shutdown` is set or the engine fails; on the L2,
/// derivation runs first when each block opens and moves the safe head.
///
/// On the L2 a block is open for its whole period: it executes the pool's transactions as
/// they are admitted ([`OpenBlock`]), so at its deadline only the state root and the seal
/// remain, and those run beside the next block ([`Engine::pipeline_block`]): the next block
/// opens at once (never before the deadline: a block that fills up closes early, and the next
/// one still waits for its period) and executes on this one's post-state, while another
/// thread computes this one's roots, seals it and hands its chain-file append to the appender
/// thread. A block is reported once durable ([`Reporter`]), between blocks; the pool's
/// candidates leave out the transactions of blocks not reported yet. A failed root stops the
/// sequencer before the block executed on it can be sealed (the engine refuses to go on), so
/// no block is sealed on a parent that is not; a restart builds again from the durable head.
///
/// The embedded L1 builds each block at its tick from the pool's best instead ([`Policy`]
/// says why), and reports every block before the next tick. Derivation (when L1 has news)
/// and development reorgs need the chain settled: every executed block sealed, durable and
/// reported first.
pub fn run(
    mut engine: Engine,
    mut inputs: Inputs,
    pool: Arc<TxPool>,
    blocks: broadcast::Sender<Arc<SealedBlock>>,
    block_time: Duration,
    control: Option<std::sync::mpsc::Receiver<Control>>,
    shutdown: Arc<AtomicBool>,
) -> Result<(), SequencerError> {
    let policy = Policy::of(engine.config().kind);
    let mut deadline = Instant::now() + block_time;
    // When the next block may open: the deadline of the one before it (an open block), or
    // its own (a block built at its tick).
    let mut opens_at = match policy {
        Policy::Open => Instant::now(),
        Policy::AtTick => deadline,
    };
    let mut last_report = Instant::now();
    let mut last_wait_report = Instant::now() - Duration::from_secs(60);
    engine.on_durable(durable_hook(
        engine.config().kind,
        engine.store().clone(),
        pool.clone(),
        blocks.clone(),
    ))?;
    let mut reporter = Reporter {
        pool: &pool,
        sealed: VecDeque::new(),
        taken: B256Set::default(),
        sealed_since_report: 0,
        txs_since_report: 0,
    };
    if policy == Policy::Open {
        pool.stream_arrivals();
    }
    let mut arrived = Vec::new();
    // The open block's set of hashes handed out, kept between blocks so its table is not
    // grown again from empty, one rehash after another, in every block.
    let mut tried = B256Set::default();
    let mut last_txs = 0usize;
    // After a development reorg, new blocks must differ from the dropped ones.
    let mut min_timestamp = 0u64;
    while !shutdown.load(Ordering::Relaxed) {
        let between = Instant::now();
        // The L2 reports the blocks that are durable by the time the next one opens; the
        // L1 every block before its next tick.
        let until = match policy {
            Policy::Open => Some(opens_at),
            Policy::AtTick => None,
        };
        reporter.report(&mut engine, until)?;
        let report_wait = between.elapsed();
        // A block that filled up closed before its deadline (it is reported above, as soon
        // as it is durable): the next one opens at that deadline, not now. Opened now, it
        // would start from the few transactions left in the pool (say a low-tip one) and
        // then take arrivals in order of arrival, so better-paying ones arriving later would
        // no longer fit (the embedded L1's blocks, full of gas burners, went partly empty that
        // way); at the deadline it starts from the pool's best then, what the block built at
        // the tick took. One block per block time, as before. A block built at its tick
        // (the L1's) sleeps here until that tick.
        sleep_until(opens_at, &shutdown);
        if let Some(control) = &control {
            while let Ok(request) = control.try_recv() {
                reporter.report(&mut engine, None)?;
                match request {
                    Control::Reorg { to, reply } => {
                        let head = engine.head().clone();
                        let to = to.min(head.number());
                        let result = engine.rewind(to).map(|dropped| {
                            min_timestamp = head.header.timestamp + 1;
                            pool.on_rewind(&dropped);
                            to
                        });
                        let _ = reply.send(result.map_err(|e| e.to_string()));
                    }
                }
            }
        }
        let deriving = Instant::now();
        if let Inputs::Derived(d) = &mut inputs
            && d.driver.has_work(&d.view.read())
        {
            // Derivation compares, rewinds and builds on the stored chain.
            reporter.report(&mut engine, None)?;
            let out = d.driver.step(&mut engine, &d.view, 16)?;
            pool.on_rewind(&out.dropped);
            for block in out.executed {
                pool.on_block(&block.txs, &[]);
                let _ = blocks.send(block);
            }
        }
        let derive = deriving.elapsed();
        let timestamp = unix_at(deadline)
            .max(engine.tip().timestamp)
            .max(min_timestamp);
        let base_fee = engine.next_base_fee();
        let attributes = match &inputs {
            Inputs::Plain => Ok(BlockAttributes {
                timestamp,
                ..Default::default()
            }),
            Inputs::Derived(d) => d.attributes(&engine, timestamp),
        };
        let attributes = match attributes {
            Ok(attributes) => attributes,
            Err(wait) => {
                // Nothing is executed until the deadline: the blocks executed are reported
                // once durable meanwhile.
                reporter.report(&mut engine, None)?;
                match wait {
                    Wait::OriginReorged => {
                        if let Inputs::Derived(d) = &inputs {
                            let dropped = d.rewind_reorged(&mut engine)?;
                            pool.on_rewind(&dropped);
                        }
                    }
                    Wait::Other(reason) => {
                        if last_wait_report.elapsed() >= Duration::from_secs(5) {
                            tracing::warn!(target: "sequencer", %reason, "waiting for L1 before the next block");
                            last_wait_report = Instant::now();
                        }
                    }
                }
                sleep_until(deadline, &shutdown);
                deadline = next_deadline(deadline, block_time);
                if policy == Policy::AtTick {
                    opens_at = deadline;
                }
                continue;
            }
        };
        // Everything admitted so far is in the pool's snapshot; the open block takes what
        // comes after.
        pool.take_arrivals(&mut arrived);
        arrived.clear();
        let first = reporter.candidates(base_fee, engine.config().gas_limit.saturating_mul(4));
        let backlog = first.len();
        let opened = Instant::now();
        let mut open = OpenBlock {
            pool: &pool,
            hint: backlog.max(last_txs + last_txs / 4),
            first,
            deadline,
            shutdown: &shutdown,
            base_fee,
            tried: {
                tried.clear();
                std::mem::take(&mut tried)
            },
            arrived: std::mem::take(&mut arrived),
            closed: None,
        };
        let out = match engine.pipeline_block(&attributes, &mut open) {
            Ok(out) => out,
            Err(e) => {
                error!(target: "sequencer", error = %e, "block building failed; stopping");
                return Err(e.into());
            }
        };
        arrived = std::mem::take(&mut open.arrived);
        tried = std::mem::take(&mut open.tried);
        let closed = open.closed.unwrap_or_else(Instant::now);
        last_txs = out.txs.len();
        let rejected: Vec<_> = out.rejected.iter().map(|r| r.tx.clone()).collect();
        let timeline = Timeline {
            tick: deadline,
            opened,
            closed,
            sealed: closed,
            handed: closed,
            backlog,
            report_wait,
            derive,
            build: BuildTimings {
                execute: out.execute,
                ..Default::default()
            },
        };
        reporter.executed(out.number, &out.txs, rejected, timeline);
        let closed_deadline = deadline;
        deadline = match policy {
            Policy::Open => next_open_deadline(deadline, block_time),
            Policy::AtTick => next_deadline(deadline, block_time),
        };
        opens_at = match policy {
            Policy::Open => closed_deadline,
            Policy::AtTick => deadline,
        };
        let expired = pool.evict_expired(Instant::now());
        if expired > 0 {
            info!(target: "sequencer", expired, "dropped nonce-gapped transactions past the pool lifetime");
        }
        debug!(
            target: "sequencer",
            number = out.number,
            txs = out.txs.len(),
            execute_ms = ms(out.execute),
            root_wait_ms = ms(out.root_wait),
            "executed block"
        );
        if let Some((block, _)) = &out.sealed {
            debug!(
                target: "sequencer",
                number = block.number(),
                hash = %block.hash,
                txs = block.txs.len(),
                gas_used = block.header.gas_used,
                "sealed block"
            );
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            info!(
                target: "sequencer",
                head = out.number,
                blocks = reporter.sealed_since_report,
                txs = reporter.txs_since_report,
                pool = ?pool.status(),
                "sealing"
            );
            last_report = Instant::now();
            reporter.sealed_since_report = 0;
            reporter.txs_since_report = 0;
        }
    }
    // Stopping: the executed blocks are sealed, appended and reported, not dropped.
    reporter.report(&mut engine, None)?;
    info!(target: "sequencer", head = engine.head().number(), "stopped");
    Ok(())
}

/// The verifier's loop: derive and execute blocks from L1 as fast as L1 data allows, until
/// `shutdown` is set or the engine fails.
pub fn run_verifier(
    mut engine: Engine,
    mut driver: Driver,
    view: Arc<RwLock<L1View>>,
    blocks: broadcast::Sender<Arc<SealedBlock>>,
    poll: Duration,
    shutdown: Arc<AtomicBool>,
) -> Result<(), SequencerError> {
    while !shutdown.load(Ordering::Relaxed) {
        let out = driver.step(&mut engine, &view, 64)?;
        for block in out.executed {
            let _ = blocks.send(block);
        }
        if out.l1_blocks == 0 {
            std::thread::sleep(poll);
        }
    }
    info!(target: "verifier", head = engine.head().number(), safe = driver.safe().number, "stopped");
    Ok(())
}

#[cfg(test)]
#[path = "sequencer_tests.rs"]
mod tests;
