//! Whole-block checks (SPEC.md §7, §8): trace every step of an OP L2 block with op-revm (the
//! engine that built it), prove each step and verify it with the reference verifier, chaining
//! the commitments from the Idle state before the first transaction to the Idle state after the
//! last, and compare the outcome with op-revm's.
//!
//! [`trace_block`] runs over any revm database (the tests use an in-memory one);
//! [`check_block`] runs a real block against its `debug_executionWitness` pre-state.

use crate::block_start::{BlockInputs, BlockStartProof, ChainParams};
use crate::merkle::WordTree;
use crate::mpt::BaseState;
use crate::proof::{ApplyError, StepProof, apply_boundary_unhashed, prove, prove_boundary, verify};
use crate::state::{BlockEnv, FullState, MachineState, Rules, Status};
use crate::step::{Transition, info};
use crate::trace::{Position, TraceError, Tracer};
use crate::tx::TxRecord;
use crate::world::WorldState;
use alloy::primitives::{B256, Bytes, U256};
use op_revm::{DefaultOp, L1BlockInfo, OpBuilder, OpSpecId, OpTransaction};
use revm::context::{CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::CacheDB;
use revm::inspector::InspectEvm;
use revm::{Context, DatabaseCommit, DatabaseRef, ExecuteEvm};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

mod block_end;
mod block_start;
mod block_tx;
mod dispute;
mod witness_block;

pub use block_end::output_of;
pub use block_tx::{BlockTx, DecodeTxError};
pub use dispute::{BlockSteps, Opening, PositionProof};
pub use witness_block::{check_block, check_recorded_block};

/// The OP hardfork a chain runs (all blocks checked here follow one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hardfork {
    /// Isthmus: Prague plus the OP deposit and fee rules (what op-node's L2 runs).
    Isthmus,
}

/// The chain a block check runs on: its parameters and its hardfork.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// The chain's parameters (SPEC.md §5.18).
    pub params: ChainParams,
    /// The active hardfork.
    pub hardfork: Hardfork,
}

impl ChainConfig {
    /// op-node's L2 with chain id `chain_id` and block gas limit `gas_limit`, under Isthmus.
    pub fn op_node(chain_id: u64, gas_limit: u64) -> Self {
        Self {
            params: ChainParams::op_node(chain_id, gas_limit),
            hardfork: Hardfork::Isthmus,
        }
    }

    fn spec(&self) -> OpSpecId {
        match self.hardfork {
            Hardfork::Isthmus => OpSpecId::ISTHMUS,
        }
    }
}

/// A block to check or dispute (SPEC.md §5.18): its parent's header, which the agreed output
/// root of the parent commits to, the block's inputs and its transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2Block {
    /// The parent's header.
    pub parent: alloy::consensus::Header,
    /// The block's timestamp.
    pub timestamp: u64,
    /// PREVRANDAO.
    pub prevrandao: B256,
    /// The parent beacon block root.
    pub parent_beacon_root: B256,
    /// The transactions' EIP-2718 encodings.
    pub transactions: Vec<Bytes>,
}

impl L2Block {
    /// The inputs of the sealed block `header` (child of `parent`) with `transactions`.
    pub fn of_header(
        parent: alloy::consensus::Header,
        header: &alloy::consensus::Header,
        transactions: Vec<Bytes>,
    ) -> Self {
        Self {
            parent,
            timestamp: header.timestamp,
            prevrandao: header.mix_hash,
            parent_beacon_root: header.parent_beacon_block_root.unwrap_or_default(),
            transactions,
        }
    }

    /// The block's number.
    pub fn number(&self) -> u64 {
        self.parent.number.saturating_add(1)
    }

    /// The block's inputs record (SPEC.md §5.18).
    pub fn inputs(&self) -> BlockInputs {
        BlockInputs::with_transactions(
            self.timestamp,
            self.prevrandao,
            self.parent_beacon_root,
            &self.transactions,
        )
    }

    /// The proof `blockStart` takes: the parent output's preimage, read from the parent's
    /// header, the header, and the inputs. Its tie to L1 is empty: the block alone does not
    /// know it (a node fills it in from what derivation read of L1, `BlockStartProof::tie`).
    pub fn start_proof(&self) -> BlockStartProof {
        BlockStartProof {
            state_root: self.parent.state_root,
            message_passer_root: self
                .parent
                .withdrawals_root
                .unwrap_or(alloy_trie::EMPTY_ROOT_HASH),
            block_hash: self.parent.hash_slow(),
            parent_header: alloy::rlp::encode(&self.parent),
            inputs: self.inputs(),
            tie: Default::default(),
            origin_header: Vec::new(),
            // The deposits section after its first (the L1-info) deposit: the user deposits, as
            // the portal emitted them, with their log indices (one that no portal emits, a
            // system deposit, ends them: such a block has no tie).
            user_deposits: crate::block_start::user_deposits_of(
                &self.transactions[..self
                    .transactions
                    .iter()
                    .take_while(|t| t.first() == Some(&crate::receipt::DEPOSIT_TX_TYPE))
                    .count()],
            ),
        }
    }

    /// The parent's output root v0.
    pub fn parent_output_root(&self) -> B256 {
        // What `start_proof` opens, without building its inputs.
        crate::block::output_root(
            self.parent.state_root,
            self.parent
                .withdrawals_root
                .unwrap_or(alloy_trie::EMPTY_ROOT_HASH),
            self.parent.hash_slow(),
        )
    }
}

/// What a block check measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockReport {
    /// Transactions in the block.
    pub transactions: u64,
    /// Steps proved and verified (transaction starts and ends, opcode, entry and exit steps).
    pub steps: u64,
    /// Steps per kind (an opcode family, `FrameExit`, `TxStart`, `TxSkip`, `TxEnd`).
    pub steps_per_kind: BTreeMap<String, u64>,
    /// Encoded proof size per kind: (max, median) bytes.
    pub proof_bytes: BTreeMap<String, (usize, usize)>,
    /// Gas used by the block, as the trace's last Idle state holds it.
    pub gas_used: u64,
    /// Time to trace, prove and verify every step.
    pub trace_prove_time: Duration,
    /// Time op-revm alone takes to execute the block's transactions.
    pub execution_time: Duration,
    /// Time to trace the block and take the commitment of every state, without proving: what
    /// answering one bisection move costs (SPEC.md §8). Zero if not measured.
    pub commit_time: Duration,
    /// Time [`BlockSteps`] takes to count `N` (once per block). Zero if not measured.
    pub count_time: Duration,
    /// The slowest of [`BlockSteps`]'s answers (the commitment at a position) along a
    /// bisection to the block's last step: what one layer-2 move costs. Zero if not measured.
    pub answer_time: Duration,
    /// The answers timed for `answer_time`.
    pub answers: u64,
}

impl std::fmt::Display for BlockReport {
    /// A table for the command line: totals, then per step kind its count and proof sizes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} transactions, {} gas, {} steps proved and verified in {:?} (op-revm alone: {:?})",
            self.transactions,
            self.gas_used,
            self.steps,
            self.trace_prove_time,
            self.execution_time
        )?;
        if !self.commit_time.is_zero() {
            writeln!(
                f,
                "traced with every state's commitment, unproved (a bisection answer's re-run): {:?}",
                self.commit_time
            )?;
        }
        if !self.answer_time.is_zero() {
            writeln!(
                f,
                "layer-2 answers: N counted in {:?}; {} commitments along a bisection to the last \
                 step, the slowest in {:?}",
                self.count_time, self.answers, self.answer_time
            )?;
        }
        writeln!(
            f,
            "{:<14} {:>8} {:>12} {:>12}",
            "step", "count", "max bytes", "median bytes"
        )?;
        for (kind, count) in &self.steps_per_kind {
            let (max, median) = self.proof_bytes.get(kind).copied().unwrap_or_default();
            writeln!(f, "{kind:<14} {count:>8} {max:>12} {median:>12}")?;
        }
        Ok(())
    }
}

/// Why a block does not check.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CheckError {
    /// The pre-state (the witness, or the database) lacks something execution or a proof needs.
    #[error("witness is missing {0}")]
    MissingWitness(String),
    /// The witness is inconsistent with the header (state root, parent headers).
    #[error("witness does not match the block: {0}")]
    BadWitness(String),
    /// A transaction does not decode or its sender does not recover.
    #[error("transaction {index}: {reason}")]
    BadTransaction {
        /// Index in the block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// op-revm refused a transaction (the block is invalid).
    #[error("transaction {index} does not execute: {reason}")]
    Execution {
        /// Index in the block.
        index: usize,
        /// op-revm's error.
        reason: String,
    },
    /// The tracer could not follow a transaction.
    #[error("transaction {index}: trace failed: {error}")]
    Trace {
        /// Index in the block.
        index: usize,
        /// The tracer's error.
        error: TraceError,
    },
    /// A step's proof does not verify, or verifies to another state than the trace's next.
    #[error("transaction {index}, step {step} ({kind}): {reason}")]
    Step {
        /// Transaction index.
        index: usize,
        /// Step index within the transaction (0 is its start).
        step: u64,
        /// The step kind.
        kind: String,
        /// What went wrong.
        reason: String,
    },
    /// The world after a transaction differs from op-revm's.
    #[error("transaction {index}: fraud-vm and op-revm differ: {what}")]
    Diverged {
        /// Transaction index.
        index: usize,
        /// What differs.
        what: String,
    },
    /// A header field differs from what execution gives.
    #[error("header {field}: block says {header}, execution gives {computed}")]
    HeaderMismatch {
        /// The field.
        field: &'static str,
        /// The header's value.
        header: String,
        /// The computed value.
        computed: String,
    },
    /// `blockStart` refuses the block's parent output, parent header or inputs.
    #[error("block start: {0}")]
    BadStart(String),
    /// The observer had what it needed before the block's end ([`BlockObserver::done`]).
    #[error("the run stopped once the observer was done")]
    Stopped,
    /// A step the block needs is specified but not implemented: the check is incomplete, not
    /// passed. From `check_block` after every transaction verified, the report covers them all;
    /// for a pending step met earlier (a precompile beyond 0x09, a post-execution transaction)
    /// it is empty.
    #[error("not checkable in this version: {what}")]
    Unsupported {
        /// What is missing.
        what: &'static str,
        /// The steps checked so far.
        report: Box<BlockReport>,
    },
}

/// Proof statistics per step kind.
#[derive(Default)]
pub(super) struct Stats {
    sizes: BTreeMap<String, Vec<usize>>,
}

impl Stats {
    pub(super) fn add(&mut self, kind: &str, size: usize) {
        self.sizes.entry(kind.to_string()).or_default().push(size);
    }

    fn fill(mut self, report: &mut BlockReport) {
        for (kind, sizes) in &mut self.sizes {
            sizes.sort_unstable();
            report.steps += sizes.len() as u64;
            report
                .steps_per_kind
                .insert(kind.clone(), sizes.len() as u64);
            let max = sizes.last().copied().unwrap_or(0);
            report
                .proof_bytes
                .insert(kind.clone(), (max, sizes[sizes.len() / 2]));
        }
    }
}

/// Verifies `proof` from `pre` and checks it reaches `post`; returns the encoded size.
pub(super) fn check_proof(pre: B256, proof: &StepProof, post: B256) -> Result<usize, String> {
    let bytes = proof.encode();
    match StepProof::decode(&bytes) {
        Ok(decoded) if &decoded == proof => {}
        _ => return Err("proof does not round-trip its encoding".into()),
    }
    match verify(pre, proof) {
        Ok(got) if got == post => Ok(bytes.len()),
        Ok(got) => Err(format!("verifies to {got}, the trace says {post}")),
        Err(e) => Err(format!("does not verify: {e}")),
    }
}

/// [`check_proof`] of a boundary step, unless `observer` asked not to verify them (a layer-2
/// answer: its states are the prover's own, their proofs are not what it returns); returns 0
/// bytes then.
pub(super) fn check_boundary(
    observer: &dyn BlockObserver,
    pre: B256,
    proof: &StepProof,
    post: &MachineState,
) -> Result<usize, String> {
    if observer.verifies_boundaries() {
        check_proof(pre, proof, post.commitment())
    } else {
        Ok(0)
    }
}

/// The commitment of a boundary step's pre-state, for an observer that verifies the step or
/// keeps its proof; zero for a light run's, which reads neither (its pre-state's world root may
/// be stale then).
pub(super) fn proved_pre(observer: &dyn BlockObserver, state: &FullState) -> B256 {
    if observer.verifies_boundaries() || observer.wants_boundary_proofs() {
        state.record.commitment()
    } else {
        B256::ZERO
    }
}

/// A step the prover refuses as pending (SPEC.md §1: `Unsupported`) makes the block
/// uncheckable, not wrong; any other error is returned as it is.
pub(super) fn pending(e: crate::VerifyError) -> Result<CheckError, crate::VerifyError> {
    match e {
        crate::VerifyError::Unsupported { what } => Ok(CheckError::Unsupported {
            what,
            report: Box::default(),
        }),
        e => Err(e),
    }
}

/// Sees what [`trace_block`] does: every state in block-wide order (SPEC.md §8) and every
/// transaction start and end proof. Both default to nothing.
pub trait BlockObserver {
    /// The state at block-wide position `position` (0 is the Idle state before transaction 0).
    /// For an observer that neither verifies nor wants boundary proofs, a boundary state
    /// outside [`BlockObserver::window`] comes with a stale commitment (its `world_root`, and a
    /// Sealing state's sealing record, are made only for the states in the window).
    fn state(&mut self, _position: u64, _state: &FullState) {}
    /// The proof of a boundary step from the pre-state `pre`: a transaction start (`kind =
    /// "TxStart"`), [v0.15] a start sub-step (`"TxEntries"`), skip (`"TxSkip"`, v0.6) or end
    /// (`"TxEnd"`), or a step of the block end (`"EndStart"`, `"Fold"`,
    /// `"Insert"`, `"Seal"`, `"BlockEnd"`). `pre` is zero for an observer that neither
    /// verifies nor wants boundary proofs (whose pre-states may be stale,
    /// [`BlockObserver::state`]).
    fn boundary(&mut self, _kind: &str, _pre: B256, _proof: &StepProof) {}
    /// Whether [`trace_block`] proves and verifies every opcode, entry and exit step (the
    /// default). An observer that answers `false` gets the states alone: nothing is checked
    /// between two states of a transaction, only its start and end steps, which produce them.
    fn proves_steps(&self) -> bool {
        true
    }
    /// The block-wide positions (first, last) whose states inside a transaction are handed to
    /// [`BlockObserver::state`] (default: all). The states of a transaction outside it are not
    /// committed, only mirrored (SPEC.md §7): the transaction's end is the same, at a fraction
    /// of the cost. Boundary states (the block start, Idle states, the block end) are always
    /// handed out. Only an observer that does not prove steps may narrow it.
    fn window(&self) -> (u64, u64) {
        (0, u64::MAX)
    }
    /// Whether the observer has what it needs: the run stops there ([`trace_block`] returns
    /// [`CheckError::Stopped`]).
    fn done(&self) -> bool {
        false
    }
    /// Whether the boundary steps' proofs are verified (default), not only made.
    fn verifies_boundaries(&self) -> bool {
        true
    }
    /// Whether [`BlockObserver::boundary`] is to get whole proofs (default). An observer that
    /// neither verifies them nor wants them gets the boundary steps applied without a proof
    /// (faster, the same states), and incomplete proofs.
    fn wants_boundary_proofs(&self) -> bool {
        true
    }
    /// Whether the run stops at the Idle state after the last transaction and hands the
    /// observer the block end's length ([`BlockObserver::block_end`]) instead of running it
    /// (default: no). What counting `N` needs: the block end's steps are known from that state.
    fn skips_block_end(&self) -> bool {
        false
    }
    /// For an observer that [`BlockObserver::skips_block_end`]: the Idle state after the last
    /// transaction is at `position` and the block-end state `steps` later (SPEC.md §5.19: the
    /// block end's start, one fold per overlay key, one insertion per receipt, the seal).
    fn block_end(&mut self, _position: u64, _steps: u64) {}
}

/// The boundary step from `state` (a transaction start, skip or end, or a block end step)
/// proved and applied, or, for an observer that neither verifies nor wants boundary proofs,
/// only applied and without hashing any sparse tree ([`apply_boundary_unhashed`]): the flag
/// returned says the post-state's commitment was left stale then, for [`settle`] to make
/// where it is needed.
pub(super) fn boundary_step(
    observer: &dyn BlockObserver,
    state: FullState,
) -> Result<(StepProof, Transition, FullState, bool), ApplyError> {
    if observer.verifies_boundaries() || observer.wants_boundary_proofs() {
        let (proof, transition, next) = prove_boundary(state)?;
        Ok((proof, transition, next, false))
    } else {
        apply_boundary_unhashed(state)
    }
}

/// A [`boundary_step`] failure as the check reports it: a pending feature as
/// [`CheckError::Unsupported`], anything else through `step` (the step's position and kind).
pub(super) fn boundary_error(e: ApplyError, step: impl FnOnce(String) -> CheckError) -> CheckError {
    match e {
        ApplyError::Step(e) => pending(e).unwrap_or_else(|e| step(e.to_string())),
        e => step(e.to_string()),
    }
}

/// A [`boundary_step`] from `state` that the observer sees: its proof checked
/// ([`check_boundary`]), its size counted under `kind` and the step handed to
/// [`BlockObserver::boundary`]. Returns the pre-state's commitment, the transition, the next
/// state and whether its commitment was left stale; `step` reports a failure at this step.
pub(super) fn observed_boundary_step(
    observer: &mut dyn BlockObserver,
    state: FullState,
    kind: &str,
    stats: &mut Stats,
    step: impl Fn(String) -> CheckError,
) -> Result<(B256, Transition, FullState, bool), CheckError> {
    let pre = proved_pre(observer, &state);
    let (proof, transition, next, stale) =
        boundary_step(observer, state).map_err(|e| boundary_error(e, &step))?;
    let size = check_boundary(observer, pre, &proof, &transition.post).map_err(&step)?;
    stats.add(kind, size);
    observer.boundary(kind, pre, &proof);
    Ok((pre, transition, next, stale))
}

/// Makes `state`'s commitment exact if it was left `stale` ([`boundary_step`]): its
/// `world_root`, in a transaction's first state its `calldata_root`, and in a Sealing state the sealing record's `folded_root` and its hash. The
/// trees are hashed now, each node once (later commitments of the same nodes find their
/// hashes).
pub(super) fn settle(state: &mut FullState, stale: &mut bool) {
    if *stale {
        if state.record.calldata_root == crate::smt::UNHASHED_ROOT {
            // A transaction start's post-state left its calldata root to the states that
            // commit it (`Oracle::unhashed_calldata_root`).
            state.record.calldata_root = state.calldata.root();
        }
        if state.record.status == Status::Sealing
            && let Some(sealing) = state.sealing.as_mut()
        {
            sealing.record.folded_root = state.world.folded.root();
            state.record.tx_env_hash = sealing.record.hash();
        }
        state.record.world_root = state.world.commitment();
        *stale = false;
    }
}

/// Whether the state at `position` is one `observer` reads: in its window, or every state
/// for an observer that proves steps. A run hands out the boundary states outside the window
/// too, but leaves their commitments stale where it applied the step light.
pub(super) fn handed(observer: &dyn BlockObserver, position: u64) -> bool {
    let (first, last) = observer.window();
    observer.proves_steps() || (first <= position && position <= last)
}

impl BlockObserver for () {}

/// Traces without proving the steps between states ([`trace_block`] still takes every
/// state's commitment): a bisection answer's cost, for [`BlockReport::commit_time`].
#[derive(Debug, Default)]
pub struct CommitmentsOnly {
    /// States seen.
    pub states: u64,
}

impl BlockObserver for CommitmentsOnly {
    fn state(&mut self, _position: u64, _state: &FullState) {
        self.states += 1;
    }

    fn proves_steps(&self) -> bool {
        false
    }
}

/// Keeps the state at one block-wide position and the commitment after it: what a bisection
/// answer (the commitment at `position`) or the final one-step proof (the state) needs, from
/// one re-run of the block, without holding the trace.
#[derive(Debug)]
pub struct StateAtPosition {
    /// The position asked for.
    pub position: u64,
    /// The full state there, once reached.
    pub state: Option<FullState>,
    /// The commitment of the next state, once reached.
    pub next: Option<B256>,
}

impl StateAtPosition {
    /// Asks for `position`.
    pub fn new(position: u64) -> Self {
        Self {
            position,
            state: None,
            next: None,
        }
    }
}

impl BlockObserver for StateAtPosition {
    fn state(&mut self, position: u64, state: &FullState) {
        if position == self.position {
            self.state = Some(state.clone());
        } else if Some(position) == self.position.checked_add(1) {
            self.next = Some(state.record.commitment());
        }
    }
}

/// The outcome of [`trace_block`].
#[derive(Debug)]
pub struct BlockOutcome {
    /// Steps, proof sizes, times.
    pub report: BlockReport,
    /// The Idle state after the last transaction.
    pub last: FullState,
    /// The block-end state (SPEC.md §5.19): it holds the output root.
    pub end: FullState,
    /// The output root v0 the block ends in.
    pub output_root: B256,
    /// op-revm's results, per transaction that ran (the skipped ones have none), in order.
    pub results: Vec<revm::context::result::ExecutionResult<op_revm::OpHaltReason>>,
    /// For each transaction of the list, its sender's nonce before it if it is a deposit (the
    /// deposit receipt's `depositNonce`), else `None`.
    pub deposit_nonces: Vec<Option<u64>>,
    /// The indices of the recorded transactions the block left out: op-revm refused them and
    /// a skip step proved it (SPEC.md §5.9, v0.6).
    pub skipped: Vec<u64>,
}

/// Traces, proves and verifies every step of `block` (SPEC.md §5.9, §5.18, §5.19, §7) over
/// `db`, whose state is the parent's and is also `base` (the tries the proofs read): `s_0`
/// from `blockStart`, the system calls, every transaction, the block end. Commits each
/// transaction to `db`. Every step's proof must verify to the next traced state, every
/// transaction start to the first state op-revm runs (or, with no opcode, to the terminal
/// state), every transaction end to an Idle state whose accounts equal op-revm's, and the gas to
/// op-revm's. `observer` sees every state with its block-wide position (a bisection answer
/// re-runs the block and keeps one) and every boundary proof.
pub fn trace_block<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    base: Arc<BaseState>,
    block: &L2Block,
    config: &ChainConfig,
    observer: &mut dyn BlockObserver,
) -> Result<BlockOutcome, CheckError>
where
    DB::Error: std::fmt::Display,
{
    run_block(db, base, block, config, observer, None, None, None)
}

/// A run of a block stopped at an Idle state (SPEC.md §8), from which another run of the same
/// block over the same pre-state can go on ([`run_block`]): what `BlockSteps` keeps so that an
/// answer re-executes only the transactions after the nearest one.
#[derive(Clone)]
pub(super) struct Resume {
    /// The block-wide position of the Idle state.
    pub(super) position: u64,
    /// The index of the next transaction.
    index: usize,
    /// The Idle state.
    idle: FullState,
    /// Whether its `world_root` was left stale ([`boundary_step`]).
    stale: bool,
    /// op-revm's cache over the pre-state, with every earlier transaction committed.
    cache: revm::database::Cache,
    /// The block environment, the decoded transactions and their list.
    block_env: BlockEnv,
    txs: Arc<Vec<Option<BlockTx>>>,
    list: Arc<crate::tx::Transactions>,
    /// The earlier transactions' receipts, op-revm results, deposit nonces and skips.
    receipts: Vec<crate::receipt::Receipt>,
    results: Vec<revm::context::result::ExecutionResult<op_revm::OpHaltReason>>,
    deposit_nonces: Vec<Option<u64>>,
    skipped: Vec<u64>,
}

/// [`trace_block`], from the Idle state `from` (whose state is handed to `observer` first)
/// instead of the block's start when given; `save` is given every Idle state the run reaches
/// (after the block start and after each transaction). A resumed run's report counts only the
/// steps it ran. `prepared`, if given, is the block's start derived once
/// ([`block_start::prepare`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_block<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    base: Arc<BaseState>,
    block: &L2Block,
    config: &ChainConfig,
    observer: &mut dyn BlockObserver,
    from: Option<&Resume>,
    mut save: Option<&mut dyn FnMut(Resume)>,
    prepared: Option<&block_start::Prepared>,
) -> Result<BlockOutcome, CheckError>
where
    DB::Error: std::fmt::Display,
{
    let began = Instant::now();
    let spec = config.spec();
    let mut stats = Stats::default();
    // A run whose observer neither verifies nor wants boundary proofs applies transaction
    // starts and ends without hashing (`boundary_step`); an Idle state's world commitment
    // is then made only where it is handed out in the observer's window, or where a proved
    // step or the block end reads it.
    let trusted = !(observer.verifies_boundaries() || observer.wants_boundary_proofs());
    let (
        idle,
        stale,
        block_env,
        txs,
        list,
        first_index,
        position,
        receipts,
        results,
        deposit_nonces,
        skipped,
    ) = match from {
        Some(r) => {
            db.cache = r.cache.clone();
            let (mut idle, mut stale) = (r.idle.clone(), r.stale);
            if handed(observer, r.position) {
                settle(&mut idle, &mut stale);
            }
            observer.state(r.position, &idle);
            (
                idle,
                stale,
                r.block_env.clone(),
                r.txs.clone(),
                r.list.clone(),
                r.index,
                r.position,
                r.receipts.clone(),
                r.results.clone(),
                r.deposit_nonces.clone(),
                r.skipped.clone(),
            )
        }
        None => {
            let block_start::Started {
                idle,
                stale,
                block_env,
                txs,
                list,
            } = block_start::start_block(db, base, block, config, observer, &mut stats, prepared)?;
            let n = txs.len();
            // Block-wide position of the current Idle state (SPEC.md §8): after `s_0` and
            // the two system calls.
            (
                idle,
                stale,
                block_env,
                txs,
                list,
                0,
                2u64,
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::new(),
            )
        }
    };
    if observer.done() {
        return Err(CheckError::Stopped);
    }
    let (mut idle, mut stale, mut position) = (idle, stale, position);
    let (mut receipts, mut results, mut deposit_nonces, mut skipped) =
        (receipts, results, deposit_nonces, skipped);
    let mut saved =
        |index: usize,
         idle: &FullState,
         stale: bool,
         position: u64,
         db: &CacheDB<DB>,
         receipts: &[crate::receipt::Receipt],
         results: &[revm::context::result::ExecutionResult<op_revm::OpHaltReason>],
         deposit_nonces: &[Option<u64>],
         skipped: &[u64]| {
            if let Some(save) = save.as_deref_mut() {
                save(Resume {
                    position,
                    index,
                    idle: idle.clone(),
                    stale,
                    cache: db.cache.clone(),
                    block_env: block_env.clone(),
                    txs: txs.clone(),
                    list: list.clone(),
                    receipts: receipts.to_vec(),
                    results: results.to_vec(),
                    deposit_nonces: deposit_nonces.to_vec(),
                    skipped: skipped.to_vec(),
                });
            }
        };
    if from.is_none() {
        saved(
            0,
            &idle,
            stale,
            position,
            db,
            &receipts,
            &results,
            &deposit_nonces,
            &skipped,
        );
    }
    let txs: &[Option<BlockTx>] = &txs;
    let number = block.number();
    let revm_block = revm_block_env(&block_env);
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = config.params.chain_id;
    for (index, tx) in txs.iter().enumerate().skip(first_index) {
        let mut first_position = position + 1;
        let step_error = |step: u64, kind: &str, reason: String| CheckError::Step {
            index,
            step,
            kind: kind.to_string(),
            reason,
        };
        // Transaction start (or skip), applied: the first state of the top frame (or its end),
        // or the next Idle state. A proved one checks its pre-state's commitment.
        if !trusted {
            settle(&mut idle, &mut stale);
        }
        let pre = proved_pre(observer, &idle);
        let idle_world = idle.world.clone();
        let deposit_nonce = tx.as_ref().and_then(|tx| {
            tx.record
                .deposit
                .map(|_| idle_world.account(tx.record.sender).nonce)
        });
        deposit_nonces.push(deposit_nonce);
        let idle_gas = idle.record.gas;
        let idle_receipts = idle.record.returndata_root;
        let (proof, transition, mut first, mut first_stale) = boundary_step(observer, idle.clone())
            .map_err(|e| boundary_error(e, |e| step_error(0, "TxStart", e)))?;
        if first.record.status == Status::Idle {
            // [v0.6] Skipped: op-revm must refuse it too, unless it does not decode, is a
            // deposit (never taken from the recorded list) or its gas limit is above the
            // block's gas left (the block executor's check, not op-revm's).
            let left = block_env.gas_limit.saturating_sub(U256::from(idle_gas));
            if let Some(tx) = tx
                && tx.record.deposit.is_none()
                && U256::from(tx.record.gas_limit) <= left
            {
                let mut evm = Context::op()
                    .with_db(&mut *db)
                    .with_cfg(cfg.clone())
                    .with_block(revm_block.clone())
                    .build_op()
                    .with_precompiles(crate::precompiles::RollupPrecompiles::default());
                match evm.transact(tx.op.clone()) {
                    Err(revm::context::result::EVMError::Transaction(_)) => {}
                    Err(e) => return Err(evm_error(index, e)),
                    Ok(_) => {
                        return Err(CheckError::Diverged {
                            index,
                            what: "fraud-vm skips the transaction, op-revm runs it".into(),
                        });
                    }
                }
            }
            let size = check_boundary(observer, pre, &proof, &transition.post)
                .map_err(|e| step_error(0, "TxSkip", e))?;
            stats.add("TxSkip", size);
            observer.boundary("TxSkip", pre, &proof);
            skipped.push(index as u64);
            idle = first;
            stale = first_stale;
            idle.transactions = Some(list.clone());
            position += 1;
            if handed(observer, position) {
                settle(&mut idle, &mut stale);
            }
            observer.state(position, &idle);
            if observer.done() {
                return Err(CheckError::Stopped);
            }
            saved(
                index + 1,
                &idle,
                stale,
                position,
                db,
                &receipts,
                &results,
                &deposit_nonces,
                &skipped,
            );
            continue;
        }
        let Some(tx) = tx else {
            return Err(CheckError::Diverged {
                index,
                what: "fraud-vm starts a transaction that does not decode".into(),
            });
        };
        let size = check_boundary(observer, pre, &proof, &transition.post)
            .map_err(|e| step_error(0, "TxStart", e))?;
        stats.add("TxStart", size);
        observer.boundary("TxStart", pre, &proof);
        if observer.done() {
            // A one-step proof of the transaction start: the transaction itself is not needed.
            return Err(CheckError::Stopped);
        }
        // [v0.15] The start's sub-steps (SPEC.md §5.9), each from a Starting state at its own
        // position: the entries in groups, then the top frame's entry.
        let mut sub = 0u64;
        while first.record.status == Status::Starting {
            if !trusted || handed(observer, first_position) {
                settle(&mut first, &mut first_stale);
            }
            observer.state(first_position, &first);
            if observer.done() {
                return Err(CheckError::Stopped);
            }
            sub += 1;
            let (_, _, next, next_stale) =
                observed_boundary_step(observer, first, "TxEntries", &mut stats, |e| {
                    step_error(0, &format!("TxEntries {sub}"), e)
                })?;
            first = next;
            first_stale = next_stale;
            first_position += 1;
            if observer.done() {
                return Err(CheckError::Stopped);
            }
        }

        // The tracer's view of the world at the top frame's start.
        let r = &tx.record;
        let to = if r.create {
            let nonce = if r.deposit.is_some() {
                idle_world.account(r.sender).nonce
            } else {
                r.nonce
            };
            r.sender.create(nonce)
        } else {
            r.to
        };
        let mut warm = vec![r.sender, to, block_env.coinbase];
        let mut slots = Vec::new();
        for (a, keys) in &r.access_list {
            warm.push(*a);
            slots.extend(keys.iter().map(|k| (*a, *k)));
        }
        let mut world = idle_world.clone();
        world.start_tx(&warm, &slots);
        let (l1_fee, operator_fee_scalar, operator_fee_constant) = if r.deposit.is_some() {
            (U256::ZERO, 0, 0)
        } else {
            let mut info = L1BlockInfo::try_fetch(db, U256::from(number), spec)
                .map_err(|e| CheckError::MissingWitness(format!("L1Block: {e}")))?;
            let scalar = |v: Option<U256>| v.unwrap_or_default().saturating_to::<u64>();
            (
                info.calculate_tx_l1_cost(&r.encoded, spec),
                scalar(info.operator_fee_scalar),
                scalar(info.operator_fee_constant),
            )
        };
        let at = Position {
            block_number: number,
            tx_index: index as u64,
            world,
            block_gas_before: idle_gas,
            receipt_open: crate::step::receipt_open(idle_receipts, deposit_nonce, index as u64),
            transactions: list.roots(),
            rules: Rules::Isthmus,
            l1_fee,
            operator_fee_scalar,
            operator_fee_constant,
            auth_refund: auth_refund(&idle_world, r, &tx.op, config.params.chain_id),
            constants: idle.constants.clone(),
        };
        let proves = observer.proves_steps();
        let trusted_end = trusted;
        // The tracer's window, in the transaction's own step numbers.
        let (wanted_first, wanted_last) = if proves {
            (0, u64::MAX)
        } else {
            observer.window()
        };
        let window = if wanted_first > wanted_last || wanted_last < first_position {
            (u64::MAX, 0)
        } else {
            (
                wanted_first.saturating_sub(first_position),
                wanted_last - first_position,
            )
        };
        // The transaction start's post-state, which the traced first state must equal: made
        // only if that state is in the window.
        let first_commitment = if window.0 == 0 {
            settle(&mut first, &mut first_stale);
            first.record.commitment()
        } else {
            B256::ZERO
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut expected: Option<(B256, String)> = None;
        let mut failure: Option<CheckError> = None;
        let mut terminal: Option<FullState> = None;
        let mut steps = 0u64;
        let on_state = |k: u64, state: &mut FullState| {
            if failure.is_some() {
                return;
            }
            steps = k + 1;
            if k < window.0 || k > window.1 {
                // The top frame's terminal state, handed out for the transaction's end only.
                let running = state.record.status == Status::Running;
                if !running && state.record.depth == 0 {
                    terminal = Some(state.clone());
                }
                return;
            }
            observer.state(first_position + k, state);
            if observer.done() {
                // The rest of the transaction is op-revm's alone: the run stops after it.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let commitment = state.record.commitment();
            let wanted = if k == 0 {
                Some((first_commitment, "TxStart".to_string()))
            } else {
                expected.take()
            };
            if let Some((want, kind)) = wanted
                && want != commitment
            {
                failure = Some(step_error(
                    k,
                    &kind,
                    format!("post-state {want} differs from the traced state {commitment}"),
                ));
                return;
            }
            let running = state.record.status == Status::Running;
            if !running && state.record.depth == 0 {
                terminal = Some(state.clone());
                return;
            }
            if !proves {
                return;
            }
            let kind = if running {
                let op = state
                    .code
                    .get(state.record.pc as usize)
                    .copied()
                    .unwrap_or(0);
                format!("{:?}", info(op).family)
            } else {
                "FrameExit".to_string()
            };
            match prove(state) {
                Ok((proof, transition)) => {
                    let post = transition.post.commitment();
                    match check_proof(commitment, &proof, post) {
                        Ok(size) => stats.add(&kind, size),
                        Err(e) => failure = Some(step_error(k + 1, &kind, e)),
                    }
                    // The trace's next state must be this post-state.
                    expected = Some((post, kind));
                }
                Err(e) => {
                    failure = Some(
                        pending(e)
                            .unwrap_or_else(|e| step_error(k + 1, &kind, format!("prove: {e}"))),
                    )
                }
            }
        };
        let mut tracer = Tracer::within(at, on_state, window.0, window.1).stopping(stop.clone());
        if trusted_end {
            // The transaction end is applied by a trusted prover (`boundary_step`): its
            // pre-state is not committed unless asked.
            tracer = tracer.with_trusted_end();
        }
        let out = {
            let ctx = Context::op()
                .with_db(&mut *db)
                .with_cfg(cfg.clone())
                .with_block(revm_block.clone());
            let mut evm = ctx
                .build_op_with_inspector(&mut tracer)
                .with_precompiles(crate::precompiles::RollupPrecompiles::default());
            evm.inspect_tx(tx.op.clone())
                .map_err(|e| evm_error(index, e))?
        };
        let traced = tracer.finish();
        if let Some(e) = failure {
            return Err(e);
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(CheckError::Stopped);
        }
        // Whether the terminal record's return data root is made from its tree: a traced
        // state's under a trusted end is not (the tracer's `with_trusted_end`; the end reads a
        // creation's code from the prover's bytes, `Oracle::trusted_returndata`), and there
        // the check below would compare a stale root.
        let mut roots_made = !trusted_end;
        let terminal = match traced {
            Ok(_) => terminal.ok_or(CheckError::Trace {
                index,
                error: TraceError::Unsupported("no terminal state"),
            })?,
            Err(TraceError::NoSteps) => {
                let mut end = first;
                roots_made = true;
                if end.record.status == Status::Running {
                    return Err(CheckError::Trace {
                        index,
                        error: TraceError::NoSteps,
                    });
                }
                if let revm::context::result::ExecutionResult::Success { output, .. } = &out.result
                {
                    end.returndata = WordTree::from_bytes(output.data());
                }
                if handed(observer, first_position) {
                    settle(&mut end, &mut first_stale);
                }
                observer.state(first_position, &end);
                end
            }
            Err(error) => return Err(CheckError::Trace { index, error }),
        };
        if observer.done() {
            return Err(CheckError::Stopped);
        }
        if roots_made && terminal.returndata.root() != terminal.record.returndata_root {
            return Err(CheckError::Diverged {
                index,
                what: "return data of the top frame".into(),
            });
        }
        let end_step = steps.max(1);
        let (_, _, next, next_stale) =
            observed_boundary_step(observer, terminal, "TxEnd", &mut stats, |e| {
                step_error(end_step, "TxEnd", e)
            })?;
        idle = next;
        stale = next_stale;
        idle.transactions = Some(list.clone());
        position = first_position + steps.max(1);
        if handed(observer, position) {
            settle(&mut idle, &mut stale);
        }
        observer.state(position, &idle);
        if observer.done() {
            return Err(CheckError::Stopped);
        }
        let used = idle.record.gas - idle_gas;
        if used != out.result.tx_gas_used() {
            return Err(CheckError::Diverged {
                index,
                what: format!("gas used {used}, op-revm {}", out.result.tx_gas_used()),
            });
        }
        compare_accounts(&idle.world, &out.state)
            .map_err(|what| CheckError::Diverged { index, what })?;
        db.commit(out.state);
        receipts.push(crate::receipt::Receipt {
            tx_index: index as u64,
            deposit_nonce,
            success: out.result.is_success(),
            cumulative_gas: idle.record.gas,
            logs: out.result.logs().to_vec(),
        });
        results.push(out.result);
        saved(
            index + 1,
            &idle,
            stale,
            position,
            db,
            &receipts,
            &results,
            &deposit_nonces,
            &skipped,
        );
    }
    if observer.skips_block_end() {
        let folds = idle.world.accounts.len() as u64;
        observer.block_end(position, 2 + folds + receipts.len() as u64);
        return Err(CheckError::Stopped);
    }
    // A proved block end checks the Idle state's commitment.
    if !trusted {
        settle(&mut idle, &mut stale);
    }
    let (end, _) = block_end::seal_block(idle.clone(), receipts, position, observer, &mut stats)?;
    // The outcome's last Idle state is exact.
    settle(&mut idle, &mut stale);
    let mut report = BlockReport {
        transactions: txs.len() as u64,
        gas_used: idle.record.gas,
        trace_prove_time: began.elapsed(),
        ..BlockReport::default()
    };
    stats.fill(&mut report);
    Ok(BlockOutcome {
        report,
        last: idle,
        output_root: end.record.world_root,
        end,
        results,
        deposit_nonces,
        skipped,
    })
}

/// The EIP-7702 refund op-revm gives `tx`: 12500 per authorization it applies to an authority
/// that is not empty, with the authorities op-revm recovers, over the world before the
/// transaction with the sender's nonce bumped (SPEC.md §5.9).
fn auth_refund(
    world: &WorldState,
    record: &TxRecord,
    tx: &OpTransaction<TxEnv>,
    chain_id: u64,
) -> u64 {
    use revm::context_interface::Transaction;
    use revm::context_interface::transaction::AuthorizationTr;
    let mut world = world.clone();
    let sender = world.account(record.sender);
    world.set_account(
        record.sender,
        crate::world::AccountRecord {
            nonce: sender.nonce + 1,
            ..sender
        },
    );
    let mut refunded = 0;
    for auth in tx.authorization_list() {
        if !(auth.chain_id().is_zero() || auth.chain_id() == U256::from(chain_id))
            || auth.nonce() == u64::MAX
        {
            continue;
        }
        let Some(authority) = auth.authority() else {
            continue;
        };
        let mut rec = world.account(authority);
        let delegated = world
            .code(rec.code_hash)
            .is_some_and(|c| c.is_empty() || (c.len() == 23 && c[..3] == [0xef, 0x01, 0x00]));
        if !delegated || rec.nonce != auth.nonce() {
            continue;
        }
        if !rec.is_empty() {
            refunded += 1;
        }
        rec.nonce += 1;
        rec.code_hash = if auth.address().is_zero() {
            alloy_trie::KECCAK_EMPTY
        } else {
            let code = [&[0xef, 0x01, 0x00][..], auth.address().as_slice()].concat();
            let hash = alloy::primitives::keccak256(&code);
            world.codes.insert(hash, code);
            hash
        };
        world.set_account(authority, rec);
    }
    refunded * 12_500
}

/// op-revm's error: a database error means the pre-state lacks what execution reads.
pub(super) fn evm_error<E: std::fmt::Display, T: std::fmt::Display>(
    index: usize,
    e: revm::context::result::EVMError<E, T>,
) -> CheckError {
    match e {
        revm::context::result::EVMError::Database(e) => CheckError::MissingWitness(e.to_string()),
        e => CheckError::Execution {
            index,
            reason: e.to_string(),
        },
    }
}

/// revm's block environment for a block environment (as op-node builds L2 blocks).
fn revm_block_env(block: &BlockEnv) -> revm::context::BlockEnv {
    revm::context::BlockEnv {
        number: block.number,
        beneficiary: block.coinbase,
        timestamp: block.timestamp,
        gas_limit: block.gas_limit.saturating_to(),
        basefee: block.basefee.saturating_to(),
        difficulty: U256::ZERO,
        prevrandao: Some(B256::from(block.prevrandao)),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
        )),
        slot_num: 0,
    }
}

/// Every account op-revm loaded has, in `world`, op-revm's balance, nonce, code and storage.
pub(super) fn compare_accounts(
    world: &WorldState,
    state: &revm::state::EvmState,
) -> Result<(), String> {
    for (address, account) in state {
        let rec = world.account(*address);
        if account.is_selfdestructed() {
            if !rec.is_empty() {
                return Err(format!("{address} self-destructed in op-revm, not here"));
            }
            continue;
        }
        if rec.balance != account.info.balance
            || rec.nonce != account.info.nonce
            || rec.code_hash != account.info.code_hash
        {
            return Err(format!(
                "account {address}: balance {} nonce {} vs op-revm {} {}",
                rec.balance, rec.nonce, account.info.balance, account.info.nonce
            ));
        }
        for (slot, value) in &account.storage {
            if world.storage(*address, *slot) != value.present_value {
                return Err(format!("storage {address} {slot}"));
            }
        }
    }
    Ok(())
}

/// Times op-revm alone over `block` on `db` (the parent's state): its system calls and its
/// transactions, the baseline the report compares with.
pub fn execution_time<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    block: &L2Block,
    config: &ChainConfig,
) -> Result<Duration, CheckError>
where
    DB::Error: std::fmt::Display,
{
    let start = crate::block_start::block_start(
        block.parent_output_root(),
        block.number(),
        &block.start_proof(),
        &config.params,
    )
    .map_err(|e| CheckError::BadStart(e.to_string()))?;
    // A recorded transaction that does not decode, or that op-revm refuses, is left out (SPEC.md
    // §5.9, v0.6); `trace_block` checks which.
    let txs: Vec<_> = block
        .transactions
        .iter()
        .filter_map(|raw| BlockTx::decode(raw, config.params.chain_id).ok())
        .collect();
    let mut cfg = CfgEnv::new_with_spec(config.spec());
    cfg.chain_id = config.params.chain_id;
    let began = Instant::now();
    block_start::pre_execution(db, &start.block_env, &start.constants, config)?;
    for (index, tx) in txs.iter().enumerate() {
        let mut evm = Context::op()
            .with_db(&mut *db)
            .with_cfg(cfg.clone())
            .with_block(revm_block_env(&start.block_env))
            .build_op()
            .with_precompiles(crate::precompiles::RollupPrecompiles::default());
        let out = match evm.transact(tx.op.clone()) {
            Ok(out) => out,
            Err(revm::context::result::EVMError::Transaction(_)) => continue,
            Err(e) => return Err(evm_error(index, e)),
        };
        db.commit(out.state);
    }
    Ok(began.elapsed())
}
