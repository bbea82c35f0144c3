//! Trace extraction from revm itself (SPEC.md §7): an [`Inspector`] that mirrors the
//! interpreter into a [`FullState`] before every opcode and hands each state to a callback.
//!
//! The tracer keeps only the current state (stack with prefix roots, memory tree, calldata tree),
//! never the trace: the state or commitment at step `k` is obtained by re-executing the
//! transaction with a callback that keeps step `k` ([`StateAt`]). State `k` is the state before
//! the `k`-th opcode (counted from 0); the last state is the terminal state after the final
//! opcode, whose status is not [`Status::Running`].

use crate::frame::{FrameKind, ParentFrame};
use crate::merkle::WordTree;
use crate::state::{BlockEnv, FrameContext, FullState, MachineState, Status, TxEnv};
use crate::world::{AccountRecord, WorldState};
use alloy::primitives::{Address, B256, U256};
use revm::context_interface::{ContextTr, Host, JournalTr};
use revm::inspector::Inspector;
use revm::interpreter::interpreter::EthInterpreter;
use revm::interpreter::interpreter_types::{
    InputsTr, Jumps, LegacyBytecode, LoopControl, MemoryTr, ReturnData, RuntimeFlag,
};
use revm::interpreter::{InstructionResult, Interpreter, InterpreterAction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

/// Where the traced transaction sits, and the world when its top frame starts (SPEC.md §3.7):
/// after the transaction start step (original values taken, sender, recipient, coinbase and
/// access list warm, nonce and fee bought).
#[derive(Clone, Debug, Default)]
pub struct Position {
    /// L2 block number.
    pub block_number: u64,
    /// Transaction index in the block.
    pub tx_index: u64,
    /// The world when the transaction starts (per-transaction sets reset, sender, recipient
    /// and coinbase warm).
    pub world: WorldState,
    /// Gas used by the block's earlier transactions.
    pub block_gas_before: u64,
    /// The receipt chain of the block's earlier transactions with this transaction's receipt
    /// opened ([`crate::step::receipt_open`]).
    pub receipt_open: B256,
    /// The block's transaction list (SPEC.md §3.6).
    pub transactions: crate::state::TxRoots,
    /// The block's execution rules.
    pub rules: crate::state::Rules,
    /// The block constants (SPEC.md §3.6).
    pub constants: std::sync::Arc<crate::state::BlockConstants>,
    /// The OP L1 data fee op-revm charged the transaction (zero for deposits and Prague).
    pub l1_fee: U256,
    /// The operator fee scalar op-revm read from L1Block (Isthmus; zero for deposits).
    pub operator_fee_scalar: u64,
    /// The operator fee constant op-revm read from L1Block (Isthmus; zero for deposits).
    pub operator_fee_constant: u64,
    /// The EIP-7702 refund of the transaction's authorizations (12500 per existing authority).
    pub auth_refund: u64,
}

/// Why a trace could not be extracted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TraceError {
    /// The transaction entered a nested frame or ended in a way v0.2 does not model.
    #[error("not traceable in v0.2: {0}")]
    Unsupported(&'static str),
    /// The transaction executed no opcode (e.g. a plain transfer or a precompile call).
    #[error("no opcode was executed")]
    NoSteps,
}

/// Summary of a finished trace.
#[derive(Clone, Debug)]
pub struct TraceSummary {
    /// Number of opcode steps (states handed out = steps + 1).
    pub steps: u64,
    /// revm's result for the last opcode.
    pub result: InstructionResult,
    /// The terminal state record.
    pub terminal: MachineState,
    /// The world when the transaction's checkpoint was pushed (before the value transfer): what
    /// the transaction end restores if the top frame fails.
    pub entry_world: WorldState,
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
    /// revm's return-data buffer when it was last found equal to `returndata_bytes` (in this
    /// frame, since they last changed): held, so its bytes (immutable) stay where they are and
    /// the same pointer and length mean the same bytes, found without comparing them again at
    /// every opcode (that comparison was 13% of the `addLiquidityETH` block's re-runs by perf).
    returndata_seen: Option<alloy::primitives::Bytes>,
    /// Memory and return data caches of the suspended callers, innermost last.
    caches: Vec<(Vec<u8>, Vec<u8>)>,
    /// revm's journal depth of the current frame.
    depth: Option<usize>,
    top_depth: Option<usize>,
    /// The opcode about to run and the stack items its world effects need (top first).
    pending: Option<(u8, Vec<U256>)>,
    /// A call opcode that asked revm for a new frame: the caller as the call left it, with the
    /// world before the checkpoint, and the call's operands.
    pending_call: Option<PendingCall>,
    /// Output of the last terminal state (RETURN or REVERT data, else empty).
    terminal_output: Vec<u8>,
    /// The world before the transaction's checkpoint.
    entry_world: WorldState,
    steps: u64,
    /// The states handed to `on_state` (first, last), besides the terminal state of the top
    /// frame, which always is. States before the window are not committed: their stack chain,
    /// memory tree and world commitment are brought up to date only where a later state needs
    /// them (a call's caller, the window's first state and the one before it).
    window: (u64, u64),
    /// Whether frames were entered before the window with their caller's commitment and their
    /// frame link left undone ([`settle`] makes them once a state in the window needs them).
    unsettled: bool,
    /// Whether the top frame's terminal state is committed outside the window (the default:
    /// a proved transaction end checks it); see [`Tracer::with_trusted_end`].
    commits_end: bool,
    error: Option<TraceError>,
    summary: Option<TraceSummary>,
    /// Set by the caller once it has what it needs: the tracer then mirrors nothing more
    /// ([`Tracer::stopping`]).
    stop: Option<Arc<AtomicBool>>,
}

impl<F: FnMut(u64, &mut FullState)> Tracer<F> {
    /// A tracer calling `on_state(k, state_k)` for every state of the transaction.
    pub fn new(position: Position, on_state: F) -> Self {
        Self::within(position, on_state, 0, u64::MAX)
    }

    /// A tracer calling `on_state(k, state_k)` for the states `first ≤ k ≤ last` and for the
    /// terminal state of the top frame only: the world is mirrored at every step, so the
    /// transaction's end is exact, but the other states' commitments are not built (a layer-2
    /// answer needs one state of the block, SPEC.md §8).
    pub fn within(position: Position, on_state: F, first: u64, last: u64) -> Self {
        Self {
            position,
            on_state,
            state: None,
            memory_bytes: Vec::new(),
            returndata_bytes: Vec::new(),
            returndata_seen: None,
            caches: Vec::new(),
            depth: None,
            top_depth: None,
            pending: None,
            pending_call: None,
            terminal_output: Vec::new(),
            entry_world: WorldState::default(),
            steps: 0,
            window: (first, last),
            unsettled: false,
            commits_end: true,
            error: None,
            summary: None,
            stop: None,
        }
    }

    /// The tracer that does nothing more, for the rest of the transaction, once `stop` is set
    /// (by `on_state`, say, when it has the state it wanted): op-revm runs the rest alone, and
    /// the tracer's summary and terminal state are not made. For a run that is abandoned once
    /// its answer is known (a layer-2 answer, SPEC.md §8).
    pub fn stopping(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The tracer with the top frame's terminal state left uncommitted (its `world_root`
    /// stale) unless it is in the window: for a run whose transaction end is applied by a
    /// trusted prover ([`crate::proof::apply_boundary`]), which does not check it, so that the
    /// transaction's warm, transient and created sets are never hashed.
    pub fn with_trusted_end(mut self) -> Self {
        self.commits_end = false;
        self
    }

    fn in_window(&self, k: u64) -> bool {
        self.window.0 <= k && k <= self.window.1
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

    /// Makes the frame links of `state`'s suspended callers, if frames were entered before the
    /// window with their links left unhashed.
    fn settle_chain(&mut self, state: &mut FullState) {
        if self.unsettled {
            settle(state, true);
            self.unsettled = false;
        }
    }

    /// Brings the shadow state in line with the interpreter before an opcode; unless `full`, only
    /// the world and the scalars (the stack chain and memory tree catch up at the next full
    /// sync, which diffs against what they last held).
    fn sync<CTX: ContextTr + Host>(
        &mut self,
        interp: &Interpreter<EthInterpreter>,
        ctx: &mut CTX,
        full: bool,
    ) {
        if self.state.is_none() {
            // The transaction start step (SPEC.md §5.9) bought the gas and bumped the sender's
            // nonce, pushed the transaction's checkpoint, then (for a creation) created the
            // account and moved the value: take those accounts as revm left them.
            use revm::context_interface::Transaction;
            let create = ctx.tx().kind().is_create();
            let authorities: Vec<(Address, Option<revm::state::AccountInfo>)> = {
                use revm::context_interface::Cfg;
                use revm::context_interface::transaction::AuthorizationTr;
                let chain_id = U256::from(ctx.cfg().chain_id());
                let list: Vec<Address> = ctx
                    .tx()
                    .authorization_list()
                    .filter(|a| {
                        (a.chain_id().is_zero() || a.chain_id() == chain_id)
                            && a.nonce() != u64::MAX
                    })
                    .filter_map(|a| a.authority())
                    .collect();
                list.into_iter()
                    .map(|a| {
                        let info = ctx
                            .journal_mut()
                            .load_account_with_code(a)
                            .ok()
                            .map(|l| l.data.info.clone());
                        (a, info)
                    })
                    .collect()
            };
            let origin = Host::caller(ctx);
            let target = interp.input.target_address();
            let value = interp.input.call_value();
            let mut load = |a: Address| {
                ctx.journal_mut()
                    .load_account(a)
                    .map(|l| (l.data.info.nonce, l.data.info.balance))
                    .unwrap_or_default()
            };
            let (nonce, balance) = load(origin);
            let moved = !value.is_zero() && origin != target;
            let world = &mut self.position.world;
            let rec = world.account(origin);
            let before_transfer = if moved { balance + value } else { balance };
            if rec.nonce != nonce || rec.balance != before_transfer {
                world.set_account(
                    origin,
                    AccountRecord {
                        nonce,
                        balance: before_transfer,
                        ..rec
                    },
                );
            }
            if create {
                world.warm_account(target);
            }
            // EIP-7702: the authorities op-revm touched, with their new nonce and designator.
            for (a, info) in authorities {
                world.warm_account(a);
                let Some(info) = info else { continue };
                let rec = world.account(a);
                if rec.nonce != info.nonce || rec.code_hash != info.code_hash {
                    if let Some(code) = &info.code {
                        world
                            .codes
                            .insert(info.code_hash, code.original_bytes().to_vec());
                    }
                    world.set_account(
                        a,
                        AccountRecord {
                            nonce: info.nonce,
                            code_hash: info.code_hash,
                            ..rec
                        },
                    );
                }
            }
            self.entry_world = world.clone();
            world.push_checkpoint();
            if !create
                && let Some(code) = world.code(world.account(target).code_hash)
                && let Some(delegate) = delegation(&code)
            {
                world.warm_account(delegate);
            }
            if create {
                let old = world.account(target);
                let (nonce, balance) = load(target);
                world.set_account(
                    target,
                    AccountRecord {
                        nonce,
                        balance,
                        code_hash: alloy_trie::KECCAK_EMPTY,
                        storage_root: alloy_trie::EMPTY_ROOT_HASH,
                        incarnation: old.incarnation + 1,
                    },
                );
                world.mark_created(target);
            }
            if moved {
                let target_balance = load(target).1;
                for (a, b) in [(origin, balance), (target, target_balance)] {
                    let rec = world.account(a);
                    world.set_account(a, AccountRecord { balance: b, ..rec });
                }
            }
        }
        let state = self.state.get_or_insert_with(|| {
            let mut block = block_env(ctx);
            block.constants_hash = self.position.constants.hash();
            block.transactions = self.position.transactions;
            block.rules = self.position.rules;
            let mut state = FullState::new_frame_uncommitted(
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
                    world_root: B256::ZERO,
                },
                tx_env(ctx, &self.position),
                block,
                self.position.constants.clone(),
                self.position.world.clone(),
            );
            state.entry_world = Some(Box::new(self.entry_world.clone()));
            state
        });

        // Return data changes only at a call's return: kept in full everywhere.
        let returndata = interp.return_data.buffer();
        let seen = self
            .returndata_seen
            .as_ref()
            .is_some_and(|b| b.as_ptr() == returndata.as_ptr() && b.len() == returndata.len());
        if !seen {
            if returndata.len() as u64 != state.record.returndata_size
                || self.returndata_bytes.as_slice() != returndata.as_ref()
            {
                // Hashed if a committed state needs it ([`FullState::commit_words`]).
                self.returndata_bytes = returndata.to_vec();
                state.returndata = WordTree::from_bytes(returndata);
                state.record.returndata_size = returndata.len() as u64;
            }
            self.returndata_seen = Some(returndata.clone());
        }
        let r = &mut state.record;
        r.pc = interp.bytecode.pc() as u64;
        r.gas = interp.gas.remaining();
        r.refund = interp.gas.refunded();
        if !full {
            return;
        }
        state.stack.sync(interp.stack.data());
        let size = interp.memory.size();
        let memory = interp.memory.slice(0..size);
        if self.memory_bytes.is_empty() || state.memory.is_pending() {
            // Not mirrored yet in this frame (its memory was empty, or the light run did not
            // sync it before), or its tree not hashed since: the bytes, whose tree is made
            // (as an earlier re-run made it, [`crate::memo`]) when a committed state needs it.
            state.memory = WordTree::from_bytes(&memory);
            self.memory_bytes = memory.to_vec();
        }
        self.memory_bytes.resize(size, 0);
        state.memory.set_many(
            memory
                .chunks(32)
                .zip(self.memory_bytes.chunks_mut(32))
                .enumerate()
                .filter(|(_, (new, old))| new != old)
                .map(|(index, (new, old))| {
                    old.copy_from_slice(new);
                    (index as u64, B256::from_slice(new))
                }),
        );
        // The stack's root is made when a committed state needs it ([`FullState::commit_words`]).
        let r = &mut state.record;
        r.stack_len = state.stack.items().len() as u64;
        r.memory_size = size as u64;
    }

    /// Mirrors the world effects of the opcode that just completed into the shadow world,
    /// reading the new values from revm's journal (SPEC.md §7). Effects mirror the verifier's
    /// writes exactly: a write that leaves a value unchanged is not made.
    fn apply_world_effects<CTX: ContextTr + Host>(&mut self, ctx: &mut CTX) {
        let (Some(state), Some((op, items))) = (self.state.as_mut(), self.pending.take()) else {
            return;
        };
        let me = state.record.address;
        let item = |i: usize| items.get(i).copied().unwrap_or_default();
        let world = &mut state.world;
        match op {
            0x54 => world.warm_slot(me, item(0)),
            0x55 => {
                let slot = item(0);
                world.warm_slot(me, slot);
                let value = ctx
                    .journal_mut()
                    .sload(me, slot)
                    .map(|l| l.data)
                    .unwrap_or_default();
                if value != world.storage(me, slot) {
                    world.set_storage(me, slot, value);
                }
            }
            0x5d => {
                let slot = item(0);
                let value = ctx.journal_mut().tload(me, slot);
                world.tstore(me, slot, value);
            }
            0x31 | 0x3b | 0x3c | 0x3f => world.warm_account(to_address(item(0))),
            0xa0..=0xa4 => {
                if let Some(log) = ctx.journal_ref().logs().last() {
                    world.push_log(log.clone());
                }
            }
            0xff => {
                let beneficiary = to_address(item(0));
                world.warm_account(beneficiary);
                let balance_of = |ctx: &mut CTX, a: Address| {
                    Host::balance(ctx, a).map(|l| l.data).unwrap_or_default()
                };
                let mine = world.account(me);
                let created = world.is_created(me);
                let moves = !mine.balance.is_zero() && (beneficiary != me || created);
                if moves {
                    let rec = |w: &WorldState, a: Address, balance: U256| AccountRecord {
                        balance,
                        ..w.account(a)
                    };
                    let r = rec(world, me, balance_of(ctx, me));
                    world.set_account(me, r);
                    if beneficiary != me {
                        let r = rec(world, beneficiary, balance_of(ctx, beneficiary));
                        world.set_account(beneficiary, r);
                    }
                }
                if created {
                    world.push_destruct(me);
                }
            }
            _ => {}
        }
    }
}

/// A call between the caller's call opcode and the next step.
struct PendingCall {
    /// The call opcode.
    op: u8,
    /// The caller after the opcode: operands popped, memory expanded, gas charged, pc next.
    caller: FullState,
    /// Callee address operand.
    to: Address,
    /// Value operand (zero for DELEGATECALL and STATICCALL).
    value: U256,
    /// Output buffer.
    out_offset: u64,
    /// Output buffer length.
    out_len: u64,
}

/// The address in the low 160 bits of a stack item.
fn to_address(item: U256) -> Address {
    Address::from_word(B256::from(item))
}

/// How many top stack items the world effects of `op` need.
fn effect_operands(op: u8) -> usize {
    match op {
        0x54 | 0x55 | 0x5d | 0x31 | 0x3b | 0x3c | 0x3f | 0xff => 1,
        0xf1 | 0xf2 => 7,
        0xf4 | 0xfa => 6,
        0xf0 => 3,
        0xf5 => 4,
        _ => 0,
    }
}

fn tx_env<CTX: ContextTr + Host>(ctx: &CTX, position: &Position) -> TxEnv {
    use revm::context_interface::Transaction;
    let blob_hashes = (0..)
        .map_while(|i| ctx.blob_hash(i))
        .map(|h| B256::from(h.to_be_bytes::<32>()))
        .collect();
    let tx = ctx.tx();
    TxEnv {
        origin: Host::caller(ctx),
        gas_price: ctx.effective_gas_price(),
        gas_limit: tx.gas_limit(),
        floor_gas: crate::tx::floor_gas(tx.input()),
        create: tx.kind().is_create(),
        block_gas_before: position.block_gas_before,
        receipt_open: position.receipt_open,
        deposit: tx.tx_type() == 0x7e,
        l1_fee: position.l1_fee,
        operator_fee_scalar: position.operator_fee_scalar,
        operator_fee_constant: position.operator_fee_constant,
        auth_refund: position.auth_refund,
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
        constants_hash: B256::ZERO,
        transactions: crate::state::TxRoots::default(),
        rules: crate::state::Rules::Prague,
    }
}

/// The terminal status of a frame that ended with `result` (SPEC.md §3.2).
fn terminal_status(result: InstructionResult) -> Option<Status> {
    match result {
        InstructionResult::Stop | InstructionResult::SelfDestruct => Some(Status::Stopped),
        InstructionResult::Return => Some(Status::Returned),
        InstructionResult::Revert => Some(Status::Reverted),
        r if r.is_error() => Some(Status::ExceptionalHalt),
        _ => None,
    }
}

impl<F: FnMut(u64, &mut FullState)> Tracer<F> {
    /// Handles a call opcode that asked revm for a new frame: the caller is synchronised as the
    /// opcode left it and the accounts it touched are warm; whether the callee runs code is known
    /// at the next step.
    fn call_requested<CTX: ContextTr + Host>(
        &mut self,
        interp: &Interpreter<EthInterpreter>,
        ctx: &mut CTX,
    ) {
        let Some((op, items)) = self.pending.take() else {
            return;
        };
        // The caller's record goes into the callee's frame chain: always in full.
        self.sync(interp, ctx, true);
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let item = |i: usize| items.get(i).copied().unwrap_or_default();
        if matches!(op, 0xf0 | 0xf5) {
            // The created address, from the sender's nonce before the create or the initcode.
            let me = state.record.address;
            let to = if op == 0xf5 {
                let (offset, len) = (
                    item(1).saturating_to::<usize>(),
                    item(2).saturating_to::<usize>(),
                );
                let initcode = self
                    .memory_bytes
                    .get(offset..offset + len)
                    .unwrap_or_default();
                me.create2(B256::from(item(3)), alloy::primitives::keccak256(initcode))
            } else {
                me.create(state.world.account(me).nonce)
            };
            self.pending_call = Some(PendingCall {
                op,
                caller: state.clone(),
                to,
                value: item(0),
                out_offset: 0,
                out_len: 0,
            });
            return;
        }
        let to = to_address(item(1));
        let (value, rest) = if matches!(op, 0xf1 | 0xf2) {
            (item(2), 3)
        } else {
            (U256::ZERO, 2)
        };
        let world = &mut state.world;
        world.warm_account(to);
        let rec = world.account(to);
        if !(op == 0xf1 && rec.is_empty())
            && let Some(code) = world.code(rec.code_hash)
            && let Some(delegate) = delegation(&code)
        {
            world.warm_account(delegate);
        }
        // The caller's world commitment is made when the callee is entered (or by the next
        // committed state if the call completes without a frame).
        let out_len = u64::try_from(item(rest + 3)).unwrap_or(u64::MAX);
        let out_offset = if out_len == 0 {
            0
        } else {
            u64::try_from(item(rest + 2)).unwrap_or(u64::MAX)
        };
        self.pending_call = Some(PendingCall {
            op,
            caller: state.clone(),
            to,
            value,
            out_offset,
            out_len,
        });
    }

    /// The step after a call opcode runs in the caller again: the call completed without a frame
    /// (no code, precompile, depth or balance failure). Mirror its value transfer.
    fn call_completed_inline<CTX: ContextTr + Host>(
        &mut self,
        call: PendingCall,
        interp: &Interpreter<EthInterpreter>,
        ctx: &mut CTX,
    ) {
        let success = interp.stack.data().last() == Some(&U256::from(1));
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let me = state.record.address;
        if matches!(call.op, 0xf0 | 0xf5) {
            // A create that failed before its frame: a collision still bumped the nonce and
            // warmed the address.
            let nonce = ctx
                .journal_mut()
                .load_account(me)
                .map(|l| l.data.info.nonce);
            let rec = state.world.account(me);
            if let Ok(nonce) = nonce
                && nonce != rec.nonce
            {
                state.world.set_account(me, AccountRecord { nonce, ..rec });
                state.world.warm_account(call.to);
            }
            return;
        }
        if success && call.op == 0xf1 && !call.value.is_zero() && call.to != me {
            mirror_balances(&mut state.world, ctx, &[me, call.to]);
        }
    }

    /// The first step of a callee: suspend the caller and start the callee's state.
    fn call_entered<CTX: ContextTr + Host>(
        &mut self,
        call: PendingCall,
        interp: &Interpreter<EthInterpreter>,
        ctx: &mut CTX,
    ) {
        let mut caller = call.caller;
        let me = caller.record.address;
        let create = matches!(call.op, 0xf0 | 0xf5);
        if create {
            let rec = caller.world.account(me);
            caller.world.set_account(
                me,
                AccountRecord {
                    nonce: rec.nonce + 1,
                    ..rec
                },
            );
            caller.world.warm_account(call.to);
        }
        let world_at_entry = caller.world.clone();
        caller.world.push_checkpoint();
        if create {
            let old = caller.world.account(call.to);
            let balance = Host::balance(ctx, call.to)
                .map(|l| l.data)
                .unwrap_or_default();
            caller.world.set_account(
                call.to,
                AccountRecord {
                    nonce: 1,
                    balance,
                    code_hash: alloy_trie::KECCAK_EMPTY,
                    storage_root: alloy_trie::EMPTY_ROOT_HASH,
                    incarnation: old.incarnation + 1,
                },
            );
            if !call.value.is_zero() {
                mirror_balances(&mut caller.world, ctx, &[me]);
            }
            caller.world.mark_created(call.to);
        } else if call.op == 0xf1 && !call.value.is_zero() && call.to != me {
            mirror_balances(&mut caller.world, ctx, &[me, call.to]);
        }
        // The callee's first state is `self.steps`: before the window, the caller's commitment
        // and the callee's frame link are left to `settle` (a state in the window needs them).
        let deferred = self.steps < self.window.0;
        if !deferred {
            self.settle_chain(&mut caller);
            caller.record.world_root = caller.world.commitment();
            caller.commit_words();
        }
        let world = caller.world.clone();
        let parent = ParentFrame {
            out_offset: call.out_offset,
            out_len: call.out_len,
            kind: if create {
                FrameKind::Create
            } else {
                FrameKind::Call
            },
            world_at_entry,
            state: caller,
        };
        let mut callee = FullState::callee_uncommitted(
            FrameContext {
                block_number: parent.state.record.block_number,
                tx_index: parent.state.record.tx_index,
                gas: interp.gas.remaining(),
                address: interp.input.target_address(),
                caller: interp.input.caller_address(),
                call_value: interp.input.call_value(),
                is_static: interp.runtime_flag.is_static(),
                code: interp.bytecode.bytecode_slice().to_vec(),
                calldata: interp.input.input().as_bytes(ctx).to_vec(),
                world_root: B256::ZERO,
            },
            &parent.state,
            world,
        );
        callee.record.depth = parent.state.record.depth + 1;
        if deferred {
            self.unsettled = true;
        } else {
            callee.record.frames_root = parent.link().hash();
        }
        callee.parent = Some(Box::new(parent));
        self.caches.push((
            std::mem::take(&mut self.memory_bytes),
            std::mem::take(&mut self.returndata_bytes),
        ));
        self.returndata_seen = None;
        self.state = Some(callee);
    }

    /// The first step after a callee's terminal state: resume the caller (the frame exit step),
    /// with the world kept or restored by the checkpoint.
    fn frame_exited(&mut self, pushed: Option<U256>) {
        let Some(callee) = self.state.take() else {
            return;
        };
        let created = callee
            .parent
            .as_ref()
            .is_some_and(|p| p.kind == FrameKind::Create);
        let Some(parent) = callee.parent else {
            self.fail(TraceError::Unsupported("frame exit without a caller"));
            return;
        };
        let ParentFrame {
            mut state,
            world_at_entry,
            ..
        } = *parent;
        // A create succeeded iff revm pushed a non-zero address (its deposit rules passed).
        let success = if created {
            pushed.is_some_and(|p| !p.is_zero())
        } else {
            matches!(callee.record.status, Status::Stopped | Status::Returned)
        };
        state.world = if success {
            let mut world = callee.world;
            world.pop_checkpoint();
            if created {
                let code = std::mem::take(&mut self.terminal_output);
                let hash = alloy::primitives::keccak256(&code);
                let rec = world.account(callee.record.address);
                world.set_account(
                    callee.record.address,
                    AccountRecord {
                        code_hash: hash,
                        ..rec
                    },
                );
                world.codes.insert(hash, code);
            }
            world
        } else {
            world_at_entry
        };
        let (memory, returndata) = self.caches.pop().unwrap_or_default();
        self.memory_bytes = memory;
        self.returndata_bytes = returndata;
        self.returndata_seen = None;
        self.state = Some(state);
    }
}

/// Commits the suspended callers of `state`, outermost first (each caller's world as its
/// callee's checkpoint left it), and links each frame to its caller: what a frame entered before
/// the window left undone (its `frames_root`, SPEC.md §3.5). The leaves new to all those
/// worlds (and to `state`'s own if `with_own`, committed next) are lifted together first,
/// eight or four at a time, rather than world by world in part-filled lanes.
fn settle(state: &mut FullState, with_own: bool) {
    {
        let mut trees = Vec::new();
        if with_own {
            state.world.trees(&mut trees);
        }
        let mut parent = state.parent.as_deref();
        while let Some(p) = parent {
            p.state.world.trees(&mut trees);
            parent = p.state.parent.as_deref();
        }
        crate::smt::lift_leaves(&trees);
    }
    settle_links(state);
}

/// [`settle`]'s commitments and links, outermost caller first.
fn settle_links(state: &mut FullState) {
    if let Some(parent) = state.parent.as_mut() {
        settle_links(&mut parent.state);
        parent.state.record.world_root = parent.state.world.commitment();
        parent.state.commit_words();
        state.record.frames_root = parent.link().hash();
    }
}

/// Sets the balances of `accounts` in `world` to revm's (they are loaded and warm in revm).
fn mirror_balances<CTX: ContextTr + Host>(
    world: &mut WorldState,
    ctx: &mut CTX,
    accounts: &[Address],
) {
    for a in accounts {
        let balance = Host::balance(ctx, *a).map(|l| l.data).unwrap_or_default();
        let rec = world.account(*a);
        if rec.balance != balance {
            world.set_account(*a, AccountRecord { balance, ..rec });
        }
    }
}

/// The EIP-7702 delegation designator `0xef0100 ‖ address`, if `code` is one.
fn delegation(code: &[u8]) -> Option<Address> {
    (code.len() == 23 && code[..3] == [0xef, 0x01, 0x00]).then(|| Address::from_slice(&code[3..]))
}

impl<CTX, F> Inspector<CTX, EthInterpreter> for Tracer<F>
where
    CTX: ContextTr + Host,
    F: FnMut(u64, &mut FullState),
{
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        if self.error.is_some() || self.summary.is_some() || self.stopped() {
            return;
        }
        let depth = ctx.journal_ref().depth();
        self.top_depth.get_or_insert(depth);
        let current = *self.depth.get_or_insert(depth);
        if let Some(call) = self.pending_call.take() {
            if depth == current + 1 {
                self.call_entered(call, interp, ctx);
            } else if depth == current {
                self.call_completed_inline(call, interp, ctx);
            } else {
                self.fail(TraceError::Unsupported("unexpected frame after a call"));
                return;
            }
        } else if depth + 1 == current {
            self.frame_exited(interp.stack.data().last().copied());
        } else if depth != current {
            self.fail(TraceError::Unsupported("unexpected frame depth"));
            return;
        }
        self.depth = Some(depth);
        // The state after a halting opcode keeps this one's stack and memory: sync in full the
        // state before the window too.
        let index = self.steps;
        let full = self.in_window(index) || self.in_window(index.saturating_add(1));
        self.sync(interp, ctx, full);
        let op = interp.bytecode.opcode();
        let data = interp.stack.data();
        let items = data
            .iter()
            .rev()
            .take(effect_operands(op))
            .copied()
            .collect();
        self.pending = Some((op, items));
        if full
            && self.in_window(index)
            && let Some(mut state) = self.state.take()
        {
            self.settle_chain(&mut state);
            state.record.world_root = state.world.commitment();
            state.commit_words();
            (self.on_state)(index, &mut state);
            self.state = Some(state);
        }
        self.steps += 1;
    }

    fn step_end(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        if self.error.is_some() || self.summary.is_some() || self.stopped() {
            return;
        }
        let Some(action) = interp.bytecode.action().as_ref() else {
            self.apply_world_effects(ctx);
            return;
        };
        let Some(result) = action.instruction_result() else {
            self.call_requested(interp, ctx);
            return;
        };
        let output = match action {
            InterpreterAction::Return(r) => r.output.to_vec(),
            _ => Vec::new(),
        };
        let Some(status) = terminal_status(result) else {
            self.fail(TraceError::Unsupported("frame result"));
            return;
        };
        if result == InstructionResult::SelfDestruct {
            self.apply_world_effects(ctx);
        }
        let Some(state) = self.state.as_mut() else {
            return;
        };
        if status != Status::ExceptionalHalt && result != InstructionResult::Stop {
            // SELFDESTRUCT, RETURN and REVERT end the frame with their operands popped (and
            // memory expanded); pc stays at the opcode.
            state.stack.sync(interp.stack.data());
            state.record.stack_len = state.stack.items().len() as u64;
            let size = interp.memory.size();
            let memory = interp.memory.slice(0..size);
            if self.memory_bytes.is_empty() || state.memory.is_pending() {
                // Never synced in this frame, or not hashed since: the bytes (as above).
                state.memory = WordTree::from_bytes(&memory);
            } else {
                state.memory.set_many(
                    memory
                        .chunks(32)
                        .zip(
                            self.memory_bytes
                                .chunks(32)
                                .chain(std::iter::repeat(&[][..])),
                        )
                        .enumerate()
                        .filter(|(_, (new, old))| new != old)
                        .map(|(index, (new, _))| (index as u64, B256::from_slice(new))),
                );
            }
            self.memory_bytes = memory.to_vec();
            state.record.memory_size = size as u64;
        }
        self.terminal_output = output.clone();
        if matches!(status, Status::Returned | Status::Reverted) {
            state.returndata = WordTree::from_bytes(&output);
            state.record.returndata_size = output.len() as u64;
            self.returndata_bytes = output;
            self.returndata_seen = None;
        }
        // The terminal record is the last pre-state with the frame's status; an exceptional halt
        // consumes all gas (SPEC.md §5.1), other ends keep what revm left.
        state.record.status = status;
        state.record.gas = if status == Status::ExceptionalHalt {
            0
        } else {
            interp.gas.remaining()
        };
        let (first, last) = self.window;
        let in_window = first <= self.steps && self.steps <= last;
        if state.record.depth == 0 || in_window {
            // Syncs leave the world's commitment behind (a proved transaction end reads it
            // too); a callee's terminal state outside the window is dropped at its exit
            // uncommitted.
            if self.unsettled {
                settle(state, in_window || self.commits_end);
                self.unsettled = false;
            }
            if in_window || self.commits_end {
                state.record.world_root = state.world.commitment();
                state.commit_words();
            }
            (self.on_state)(self.steps, state);
        }
        if state.record.depth == 0 {
            self.summary = Some(TraceSummary {
                steps: self.steps,
                result,
                terminal: state.record.clone(),
                entry_world: self.entry_world.clone(),
            });
        } else {
            // The frame exit step leads to the caller's next state.
            self.steps += 1;
        }
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
