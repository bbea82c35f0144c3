//! Layer-2 answers for a challenger or a defender (SPEC.md §8, §12.6): for one block, the step
//! count `N`, the commitment at a block-wide position, the one-step proof from a position, and
//! the `blockStart` and `blockEnd` proofs. Every answer re-runs the block and keeps what it
//! asks for, so no trace is held in memory. The re-run is light: only the states asked for are
//! committed (the other transactions' states are mirrored, not hashed, SPEC.md §7), boundary
//! steps are applied without proofs (but for the one a one-step proof asks for, made whole and
//! verified before it is returned), and the run stops once the answer is known. `N` is
//! counted once per block and kept, with some Idle states of that run (at most
//! 32, spread over the block): an answer re-runs only from the last of them at or
//! before its position.

use super::{BlockObserver, ChainConfig, CheckError, L2Block, Resume, Stats, run_block};
use crate::block_start::derive_block_start;
use crate::mpt::BaseState;
use crate::proof::{StepProof, prove, prove_boundary, verify};
use crate::state::{FullState, Status};
use crate::witness::WitnessDb;
use alloy::primitives::B256;
use revm::DatabaseRef;
use revm::database::CacheDB;
use std::sync::{Arc, Mutex, OnceLock};

/// What the defender of a block opens layer 2 with (`startSteps`): `N`, `commit(s_N)`, and the
/// proofs `blockStart` and `blockEnd` check them with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// `N`: the position of the block-end state.
    pub step_count: u64,
    /// `commit(s_0)`, what `blockStart` returns.
    pub start_state: B256,
    /// `commit(s_N)`.
    pub end_state: B256,
    /// `blockStart`'s proof (§5.18 encoding) with an empty tie to L1: the caller fills in the
    /// tie (`BlockStartProof::tie`) from what it read of L1.
    pub start_proof: Vec<u8>,
    /// `blockEnd`'s proof: the block-end state's 443-byte record.
    pub end_proof: Vec<u8>,
    /// The output root the block-end state holds.
    pub output_root: B256,
}

/// The one-step proof from a position and the commitment it verifies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionProof {
    /// The canonical encoding (SPEC.md §6.3, version 4).
    pub proof: Vec<u8>,
    /// `commit(s_m)`.
    pub pre: B256,
    /// `commit(s_{m+1})` (for `m ≥ N`, the block-end state again).
    pub post: B256,
}

/// One block to answer layer-2 moves about: its pre-state (a revm database over the parent's
/// state and the same state as tries), its inputs, the chain.
pub struct BlockSteps<DB> {
    db: DB,
    base: Arc<BaseState>,
    block: L2Block,
    config: ChainConfig,
    /// `N`, once a run has counted it.
    step_count: OnceLock<u64>,
    /// The position of the Idle state after the last transaction, where the block end
    /// starts: known with `N`.
    block_end_start: OnceLock<u64>,
    /// Idle states that run kept, by position: an answer resumes from the last one at or
    /// before the position asked.
    resumes: OnceLock<Vec<Resume>>,
    /// The block end's states (Sealing or the block-end state) that answers were asked
    /// about, by position (at most [`MAX_SEALED`]): a later answer about the block end goes on
    /// from the last one at or before its position instead of folding the overlay again.
    sealed: Mutex<Vec<(u64, FullState)>>,
    /// The block's start derived from its inputs (`s_0`, the transactions decoded with their
    /// senders, their list), once, when the block is given: every run starts from it. `None`
    /// if it fails, for the run to report why.
    prepared: Option<super::block_start::Prepared>,
}

/// The most block end states a block keeps (a bisection that reaches the block end asks
/// about fewer than 2 log2 of its length).
const MAX_SEALED: usize = 16;

/// The most Idle states a block keeps to resume from: past it, every other one is dropped and
/// only every other later one is kept, so a block of many transactions keeps at most this many
/// copies of its state, evenly spread.
const MAX_RESUMES: usize = 32;

impl BlockSteps<WitnessDb> {
    /// The block of `transactions` sealed as `header`, over its `debug_executionWitness`
    /// pre-state (its headers chain up to the parent, last; op-revm reads BLOCKHASH from them).
    pub fn from_witness(
        header: &alloy::consensus::Header,
        transactions: Vec<alloy::primitives::Bytes>,
        witness: &alloy::rpc::types::debug::ExecutionWitness,
        config: ChainConfig,
    ) -> Result<Self, CheckError> {
        let (parent, db) = super::witness_block::witness_db(header, witness)?;
        let base = Arc::new(BaseState::from_witness(db.trie.clone()));
        Ok(Self::new(
            db,
            base,
            L2Block::of_header(parent, header, transactions),
            config,
        ))
    }
}

impl<DB: DatabaseRef + Clone> BlockSteps<DB>
where
    DB::Error: std::fmt::Display,
{
    /// The block `block` over `db`, whose state is the parent's, and `base`, the same state as
    /// tries (the proofs' witnesses).
    pub fn new(db: DB, base: Arc<BaseState>, block: L2Block, config: ChainConfig) -> Self {
        let prepared = super::block_start::prepare(&block, &config).ok();
        Self {
            prepared,
            db,
            base,
            block,
            config,
            step_count: OnceLock::new(),
            block_end_start: OnceLock::new(),
            resumes: OnceLock::new(),
            sealed: Mutex::new(Vec::new()),
        }
    }

    /// The block this answers about.
    pub fn block(&self) -> &L2Block {
        &self.block
    }

    /// Re-runs the block for `observer`, from the last kept Idle state at or before `position`
    /// if any; `None` if it stopped the run once it was done.
    fn run(
        &self,
        observer: &mut dyn BlockObserver,
        position: u64,
    ) -> Result<Option<super::BlockOutcome>, CheckError> {
        let from = self
            .resumes
            .get()
            .and_then(|r| r.iter().rev().find(|r| r.position <= position));
        match run_block(
            &mut CacheDB::new(self.db.clone()),
            self.base.clone(),
            &self.block,
            &self.config,
            observer,
            from,
            None,
            self.prepared.as_ref(),
        ) {
            Ok(outcome) => Ok(Some(outcome)),
            Err(CheckError::Stopped) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A run to the block's end, with the states at no position but the boundaries; keeps
    /// Idle states to resume from. Unless `seal`, the run stops at the Idle state after the
    /// last transaction and `N` is counted from it (no outcome then).
    fn run_to_end(&self, seal: bool) -> Result<(u64, Option<super::BlockOutcome>), CheckError> {
        let mut last = LastPosition {
            skip_block_end: !seal,
            ..LastPosition::default()
        };
        let (mut kept, mut stride, mut seen) = (Vec::new(), 1usize, 0usize);
        let mut save = |r: Resume| {
            if seen.is_multiple_of(stride) {
                kept.push(r);
                if kept.len() > MAX_RESUMES {
                    kept = std::mem::take(&mut kept).into_iter().step_by(2).collect();
                    stride *= 2;
                }
            }
            seen += 1;
        };
        let outcome = match run_block(
            &mut CacheDB::new(self.db.clone()),
            self.base.clone(),
            &self.block,
            &self.config,
            &mut last,
            None,
            Some(&mut save),
            self.prepared.as_ref(),
        ) {
            Ok(outcome) => Some(outcome),
            Err(CheckError::Stopped) if !seal => None,
            Err(e) => return Err(e),
        };
        let _ = self.step_count.set(last.position);
        let _ = self.block_end_start.set(last.last_idle);
        let _ = self.resumes.set(kept);
        Ok((last.position, outcome))
    }

    /// `commit(s_0)` and `blockStart`'s proof: no execution, only the parent's header and the
    /// block's inputs (the proof's tie to L1 empty: `s_0` does not depend on it).
    pub fn block_start(&self) -> Result<(B256, Vec<u8>), CheckError> {
        let proof = self.block.start_proof().encode();
        let s0 = derive_block_start(
            self.block.parent_output_root(),
            self.block.number(),
            &proof,
            &self.config.params,
        )
        .map_err(|e| CheckError::BadStart(e.to_string()))?;
        Ok((s0, proof))
    }

    /// What the defender opens layer 2 with: one re-run of the block.
    pub fn opening(&self) -> Result<Opening, CheckError> {
        let (step_count, outcome) = self.run_to_end(true)?;
        let outcome = outcome.ok_or(CheckError::Stopped)?;
        let (start_state, start_proof) = self.block_start()?;
        let end_proof = outcome.end.record.encode();
        let output_root = crate::block::block_end(outcome.end.record.commitment(), &end_proof)
            .map_err(|e| CheckError::Diverged {
                index: self.block.transactions.len(),
                what: format!("the block-end state does not open: {e}"),
            })?;
        Ok(Opening {
            step_count,
            start_state,
            end_state: outcome.end.record.commitment(),
            start_proof,
            end_proof,
            output_root,
        })
    }

    /// `N`, the position of the block-end state.
    pub fn step_count(&self) -> Result<u64, CheckError> {
        match self.step_count.get() {
            Some(n) => Ok(*n),
            None => Ok(self.run_to_end(false)?.0),
        }
    }

    /// `commit(s_m)`; past `N`, the block-end state's (SPEC.md §8).
    pub fn commitment_at(&self, m: u64) -> Result<B256, CheckError> {
        let position = m.min(self.step_count()?);
        self.answer(position)?
            .0
            .ok_or_else(|| step_error(m, "no state at this position".into()))
    }

    /// The commitment at `position` (at most `N`) and, if it is a state of the block end after
    /// its start (Sealing or the block-end state), that state, which is also kept for later
    /// answers about the block end to go on from.
    fn answer(&self, position: u64) -> Result<(Option<B256>, Option<FullState>), CheckError> {
        let mut at = CommitmentAt {
            position,
            found: None,
            sealed: None,
        };
        let from = {
            let sealed = self
                .sealed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sealed.iter().rev().find(|(p, _)| *p <= position).cloned()
        };
        match from {
            // In the block end, after a state an earlier answer kept: only the steps between.
            Some((p, state)) => {
                at.state(p, &state);
                if !at.done() {
                    let receipts = state.sealing.as_ref().map_or(0, |s| s.receipts.len());
                    match super::block_end::seal_from(
                        state,
                        receipts,
                        p,
                        &mut at,
                        &mut Stats::default(),
                    ) {
                        Ok(_) | Err(CheckError::Stopped) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            None => {
                self.run(&mut at, position)?;
            }
        }
        if let Some(state) = &at.sealed {
            let mut sealed = self
                .sealed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(i) = sealed.binary_search_by_key(&position, |(p, _)| *p) {
                sealed.insert(i, (position, state.clone()));
                if sealed.len() > MAX_SEALED {
                    sealed.remove(0);
                }
            }
        }
        Ok((at.found, at.sealed))
    }

    /// The one-step proof of the step from position `m` (from the block-end state past `N`),
    /// checked with the reference verifier before it is returned.
    pub fn step_proof(&self, m: u64) -> Result<PositionProof, CheckError> {
        // Past N: the block-end state's own step, which the run proves as a boundary.
        let position = m.min(self.step_count()?);
        let (pre, proof) = if self.block_end_start.get().is_some_and(|s| position > *s) {
            // A step of the block end after its start: its pre-state (a Sealing state or the
            // block-end state) is what an answer about the position gets, from a light run
            // (or from the block end state an earlier answer kept), and only its own step is
            // proved, whole; the folds before it are applied light.
            let (_, state) = self.answer(position)?;
            let state =
                state.ok_or_else(|| step_error(m, "no block end state at this position".into()))?;
            let pre = state.record.commitment();
            let (proof, _, _) = prove_boundary(state).map_err(|e| step_error(m, e.to_string()))?;
            (pre, proof)
        } else {
            self.proof_from_run(m, position)?
        };
        let post = verify(pre, &proof).map_err(|e| step_error(m, e.to_string()))?;
        Ok(PositionProof {
            proof: proof.encode(),
            pre,
            post,
        })
    }

    /// The pre-state's commitment and the proof of the step from `position`, from an answer's
    /// light re-run to it (the boundary steps before it applied without proofs).
    fn proof_from_run(&self, m: u64, position: u64) -> Result<(B256, StepProof), CheckError> {
        let mut at = ProofAt {
            position,
            ..ProofAt::default()
        };
        let outcome = self.run(&mut at, position)?;
        match (at.pre, at.proof, outcome) {
            (Some(pre), Some(proof), _) => Ok((pre, proof)),
            (Some(_), None, _) | (None, _, None) => {
                Err(step_error(m, "the step does not prove".into()))
            }
            (None, _, Some(outcome)) => {
                let mut end = outcome.end;
                let pre = end.record.commitment();
                let (proof, _) = prove(&mut end).map_err(|e| step_error(m, e.to_string()))?;
                Ok((pre, proof))
            }
        }
    }
}

fn step_error(position: u64, reason: String) -> CheckError {
    CheckError::Step {
        index: 0,
        step: position,
        kind: "position".into(),
        reason,
    }
}

/// The last position seen: `N` once the block ends, or once the block end's length is known
/// (`skip_block_end`).
#[derive(Default)]
struct LastPosition {
    position: u64,
    /// The position of the last Idle state: the block end's start, once the run is past
    /// the last transaction.
    last_idle: u64,
    skip_block_end: bool,
}

impl BlockObserver for LastPosition {
    fn state(&mut self, position: u64, state: &FullState) {
        self.position = position;
        if state.record.status == Status::Idle {
            self.last_idle = position;
        }
    }

    fn skips_block_end(&self) -> bool {
        self.skip_block_end
    }

    fn block_end(&mut self, position: u64, steps: u64) {
        self.position = position + steps;
    }

    fn proves_steps(&self) -> bool {
        false
    }

    fn window(&self) -> (u64, u64) {
        (u64::MAX, 0)
    }

    fn verifies_boundaries(&self) -> bool {
        false
    }

    fn wants_boundary_proofs(&self) -> bool {
        false
    }
}

/// The commitment at one position (at most `N`), and the state there if it is one of the
/// block end's (to go on from).
struct CommitmentAt {
    position: u64,
    found: Option<B256>,
    sealed: Option<FullState>,
}

impl BlockObserver for CommitmentAt {
    fn state(&mut self, position: u64, state: &FullState) {
        if position == self.position {
            self.found = Some(state.record.commitment());
            if matches!(state.record.status, Status::Sealing | Status::BlockEnd) {
                self.sealed = Some(state.clone());
            }
        }
    }

    fn proves_steps(&self) -> bool {
        false
    }

    fn window(&self) -> (u64, u64) {
        (self.position, self.position)
    }

    fn done(&self) -> bool {
        self.found.is_some()
    }

    fn verifies_boundaries(&self) -> bool {
        false
    }
    fn wants_boundary_proofs(&self) -> bool {
        false
    }
}

/// The proof of the step from one position: an opcode, entry or exit step is proved from the
/// state there; a boundary step (block start's system calls, a transaction start or end, a
/// block end step) is the proof the trace made of it, the first whose pre-state is that state.
/// The run is an answer's light run up to the position: the boundary steps before it are
/// applied without proofs.
#[derive(Default)]
struct ProofAt {
    position: u64,
    pre: Option<B256>,
    awaiting_boundary: bool,
    proof: Option<StepProof>,
}

impl BlockObserver for ProofAt {
    fn state(&mut self, position: u64, state: &FullState) {
        if position != self.position {
            return;
        }
        let pre = state.record.commitment();
        self.pre = Some(pre);
        let boundary = state.record.status != Status::Running && state.record.depth == 0;
        if boundary {
            self.awaiting_boundary = true;
        } else {
            let mut s = state.clone();
            self.proof = prove(&mut s).ok().map(|(p, _)| p);
        }
    }

    fn boundary(&mut self, _kind: &str, pre: B256, proof: &StepProof) {
        if self.awaiting_boundary && Some(pre) == self.pre {
            self.proof = Some(proof.clone());
            self.awaiting_boundary = false;
        }
    }

    fn proves_steps(&self) -> bool {
        false
    }

    fn window(&self) -> (u64, u64) {
        (self.position, self.position)
    }

    fn done(&self) -> bool {
        self.proof.is_some()
    }

    fn verifies_boundaries(&self) -> bool {
        false
    }

    /// Only the asked step's proof is whole: the boundary steps before the position are
    /// applied light, as for an answer (`CommitmentAt`), which hashes no tree they write until
    /// the state at the position commits them.
    fn wants_boundary_proofs(&self) -> bool {
        self.awaiting_boundary
    }
}
