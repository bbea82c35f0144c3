//! Trace extraction from revm itself (SPEC.md §7): an [`Inspector`] that mirrors the
//! interpreter into a [`FullState`] before every opcode and hands each state to a callback.
//!
//! The tracer keeps only the current state (stack with prefix roots, memory tree, calldata tree),
//! never the trace: the state or commitment at step `k` is obtained by re-executing the
//! transaction with a callback that keeps step `k` ([`StateAt`]). State `k` is the state before
//! the `k`-th opcode (counted from 0); the last state is the terminal state after the final
//! opcode, whose status is not [`Status::Running`].

use crate::merkle::WordTree;
use crate::state::{BlockEnv, FrameContext, FullState, MachineState, Status, TxEnv};
use alloy::primitives::B256;
use revm::context_interface::{ContextTr, Host, JournalTr};
use revm::inspector::Inspector;
use revm::interpreter::interpreter::EthInterpreter;
use revm::interpreter::interpreter_types::{
    InputsTr, Jumps, LegacyBytecode, LoopControl, MemoryTr, ReturnData, RuntimeFlag,
};
use revm::interpreter::{InstructionResult, Interpreter};
use thiserror::Error;

/// Where the traced transaction sits, and the world-state commitment to record (SPEC.md §3.7).
#[derive(Clone, Copy, Debug, Default)]
pub struct Position {
    /// L2 block number.
    pub block_number: u64,
    /// Transaction index in the block.
    pub tx_index: u64,
    /// World-state commitment at the start of the transaction.
    pub world_root: B256,
}

/// Why a trace could not be extracted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TraceError {
    /// The transaction entered a nested frame or ended in a way v0.1 does not model.
    #[error("not traceable in v0.1: {0}")]
    Unsupported(&'static str),
    /// The transaction executed no opcode (e.g. a plain transfer or a precompile call).
    #[error("no opcode was executed")]
    NoSteps,
}

/// Summary of a finished trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    /// Number of opcode steps (states handed out = steps + 1).
    pub steps: u64,
    /// revm's result for the last opcode.
    pub result: InstructionResult,
    /// The terminal state record.
    pub terminal: MachineState,
}

/// The revm inspector that produces machine states.
pub struct Tracer<F> {
    position: Position,
    on_state: F,
    state: Option<FullState>,
    /// Memory bytes as of the last synchronisation, to find the words that changed.
    memory_bytes: Vec<u8>,
    /// Return data as of the last synchronisation.
    returndata_bytes: Vec<u8>,
    top_depth: Option<usize>,
    steps: u64,
    error: Option<TraceError>,
    summary: Option<TraceSummary>,
}

impl<F: FnMut(u64, &mut FullState)> Tracer<F> {
    /// A tracer calling `on_state(k, state_k)` for every state of the transaction.
    pub fn new(position: Position, on_state: F) -> Self {
        Self {
            position,
            on_state,
            state: None,
            memory_bytes: Vec::new(),
            returndata_bytes: Vec::new(),
            top_depth: None,
            steps: 0,
            error: None,
            summary: None,
        }
    }

    /// The result after the transaction ran.
    pub fn finish(self) -> Result<TraceSummary, TraceError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.summary.ok_or(TraceError::NoSteps)
    }

    fn fail(&mut self, e: TraceError) {
        self.error.get_or_insert(e);
    }

    /// Brings the shadow state in line with the interpreter before an opcode.
    fn sync<CTX: ContextTr + Host>(&mut self, interp: &Interpreter<EthInterpreter>, ctx: &CTX) {
        let state = self.state.get_or_insert_with(|| {
            FullState::new_frame(
                FrameContext {
                    block_number: self.position.block_number,
                    tx_index: self.position.tx_index,
                    gas: interp.gas.remaining(),
                    address: interp.input.target_address(),
                    caller: interp.input.caller_address(),
                    call_value: interp.input.call_value(),
                    is_static: interp.runtime_flag.is_static(),
                    code: interp.bytecode.bytecode_slice().to_vec(),
                    calldata: interp.input.input().as_bytes(ctx).to_vec(),
                    world_root: self.position.world_root,
                },
                tx_env(ctx),
                block_env(ctx),
            )
        });

        state.stack.sync(interp.stack.data());
        let size = interp.memory.size();
        let memory = interp.memory.slice(0..size);
        self.memory_bytes.resize(size, 0);
        for (index, (new, old)) in memory
            .chunks(32)
            .zip(self.memory_bytes.chunks_mut(32))
            .enumerate()
        {
            if new != old {
                old.copy_from_slice(new);
                state.memory.set(index as u64, B256::from_slice(new));
            }
        }
        let returndata = interp.return_data.buffer();
        if returndata.len() as u64 != state.record.returndata_size
            || self.returndata_bytes.as_slice() != returndata.as_ref()
        {
            self.returndata_bytes = returndata.to_vec();
            state.returndata = WordTree::from_bytes(returndata);
            state.record.returndata_root = state.returndata.root();
            state.record.returndata_size = returndata.len() as u64;
        }
        let r = &mut state.record;
        r.pc = interp.bytecode.pc() as u64;
        r.gas = interp.gas.remaining();
        r.refund = interp.gas.refunded();
        r.stack_root = state.stack.root();
        r.stack_len = state.stack.items().len() as u64;
        r.memory_root = state.memory.root();
        r.memory_size = size as u64;
    }
}

fn tx_env<CTX: Host>(ctx: &CTX) -> TxEnv {
    let blob_hashes = (0..)
        .map_while(|i| ctx.blob_hash(i))
        .map(|h| B256::from(h.to_be_bytes::<32>()))
        .collect();
    TxEnv {
        origin: Host::caller(ctx),
        gas_price: ctx.effective_gas_price(),
        blob_hashes,
    }
}

fn block_env<CTX: Host>(ctx: &CTX) -> BlockEnv {
    BlockEnv {
        coinbase: ctx.beneficiary(),
        timestamp: ctx.timestamp(),
        number: ctx.block_number(),
        prevrandao: ctx.prevrandao().unwrap_or_else(|| ctx.difficulty()),
        gas_limit: ctx.gas_limit(),
        basefee: ctx.basefee(),
        blob_basefee: ctx.blob_gasprice(),
        chain_id: ctx.chain_id(),
    }
}

/// The terminal status of a frame that ended with `result` (SPEC.md §3.2).
fn terminal_status(result: InstructionResult) -> Option<Status> {
    match result {
        InstructionResult::Stop => Some(Status::Stopped),
        InstructionResult::Return => Some(Status::Returned),
        InstructionResult::Revert => Some(Status::Reverted),
        r if r.is_error() => Some(Status::ExceptionalHalt),
        _ => None,
    }
}

impl<CTX, F> Inspector<CTX, EthInterpreter> for Tracer<F>
where
    CTX: ContextTr + Host,
    F: FnMut(u64, &mut FullState),
{
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        let depth = ctx.journal_ref().depth();
        if *self.top_depth.get_or_insert(depth) != depth {
            self.fail(TraceError::Unsupported("nested call frame"));
        }
        if self.error.is_some() || self.summary.is_some() {
            return;
        }
        self.sync(interp, ctx);
        if let Some(state) = self.state.as_mut() {
            (self.on_state)(self.steps, state);
        }
        self.steps += 1;
    }

    fn step_end(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        if self.error.is_some() || self.summary.is_some() {
            return;
        }
        if Some(ctx.journal_ref().depth()) != self.top_depth {
            return;
        }
        let Some(action) = interp.bytecode.action().as_ref() else {
            return;
        };
        let Some(result) = action.instruction_result() else {
            self.fail(TraceError::Unsupported("frame-creating opcode"));
            return;
        };
        let Some(status) = terminal_status(result) else {
            self.fail(TraceError::Unsupported("frame result"));
            return;
        };
        let Some(state) = self.state.as_mut() else {
            return;
        };
        // The terminal record is the last pre-state with the frame's status; an exceptional halt
        // consumes all gas (SPEC.md §5.1), other ends keep what revm left.
        state.record.status = status;
        state.record.gas = if status == Status::ExceptionalHalt {
            0
        } else {
            interp.gas.remaining()
        };
        (self.on_state)(self.steps, state);
        self.summary = Some(TraceSummary {
            steps: self.steps,
            result,
            terminal: state.record.clone(),
        });
    }
}

/// A callback that keeps the full state at step `k` and the commitment at step `k + 1`: what a
/// bisection answer or a one-step proof needs, without holding the trace.
#[derive(Debug)]
pub struct StateAt {
    /// The step asked for.
    pub k: u64,
    /// The full state before step `k`, once reached.
    pub state: Option<FullState>,
    /// The commitment after step `k`, once reached.
    pub next: Option<B256>,
}

impl StateAt {
    /// Asks for step `k`.
    pub fn new(k: u64) -> Self {
        Self {
            k,
            state: None,
            next: None,
        }
    }

    /// The callback to give to [`Tracer::new`].
    pub fn observe(&mut self, step: u64, state: &mut FullState) {
        if step == self.k {
            self.state = Some(state.clone());
        } else if step == self.k + 1 {
            self.next = Some(state.record.commitment());
        }
    }
}
