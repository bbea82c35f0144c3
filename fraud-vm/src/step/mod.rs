//! Opcode steps (SPEC.md §5): the shared execution frame of one step, and one module per step
//! family. The same code runs in the verifier (witnesses read from a proof and checked against the
//! pre-state roots) and in the prover (witnesses read from the full state and recorded), so the
//! proof a prover emits is exactly the proof the verifier consumes.

mod access;
mod account;
mod arithmetic;
mod bitwise;
mod block_end;
mod block_start;
mod bls12_381;
mod bn254;
mod call;
mod control;
mod entries;
mod environment;
mod exit;
mod keccak;
mod kzg;
mod log;
mod memory;
pub mod op;
mod opcodes;
mod p256;
mod precompile;
mod stack;
mod start;
mod storage;
mod system;
mod transaction;

pub use entries::{AUTH_GROUP, WARM_GROUP, entries_root, start_entries};
pub(crate) use precompile::recover;
pub use start::is_l1_info;
pub use transaction::{TAG_RECEIPT, TAG_RECEIPT_OPEN, receipt_link, receipt_link_of, receipt_open};

pub use opcodes::{Family, OpInfo, info};

use crate::block::{FoldKey, SealingRecord};
use crate::frame::{Checkpoint, FrameKind, FrameLink};
use crate::merkle::{RangeProof, WORD_TREE_LEAVES, WordProof};
use crate::mpt::{MptAccount, MptSlot};
use crate::mpt_write::TrieWrite;
use crate::proof::VerifyError;
use crate::receipt::Receipt;
use crate::smt::SmtProof;
use crate::state::{
    BlockConstants, BlockEnv, MachineState, STACK_LIMIT, Status, TxEnv, stack_push,
};
use crate::world::{AccountRecord, Tree, World};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::Nibbles;

/// Largest gas a state may hold (SPEC.md §4.3): 2^32, far above any L2 block gas limit.
/// It bounds memory to about 1.5 million words, so no proof can make the verifier allocate more
/// than some tens of megabytes.
pub const MAX_GAS: u64 = 1 << 32;

/// Refuses a code witness on a step that runs no code (the transaction and block boundaries):
/// a proof carries nothing its step does not read (SPEC.md §5).
pub(crate) fn no_code(code: &[u8]) -> Result<(), VerifyError> {
    if code.is_empty() {
        Ok(())
    } else {
        Err(VerifyError::UnusedWitness("code"))
    }
}

/// Why a step halted exceptionally. Not committed (all are [`Status::ExceptionalHalt`]); reported
/// for diagnostics and for comparing with revm in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// Not enough gas for the static, dynamic or memory expansion cost.
    OutOfGas,
    /// Fewer stack items than the opcode pops.
    StackUnderflow,
    /// More than 1024 items after the step.
    StackOverflow,
    /// JUMP/JUMPI to a byte that is not a JUMPDEST opcode.
    InvalidJump,
    /// The designated INVALID opcode 0xFE.
    InvalidOpcode,
    /// An opcode not defined in Prague.
    UndefinedOpcode,
    /// RETURNDATACOPY reading past the end of the return data.
    ReturnDataOutOfBounds,
    /// A state-changing opcode inside a static call.
    StaticViolation,
    /// CREATE or CREATE2 with initcode beyond the EIP-3860 limit.
    InitcodeTooLarge,
}

/// The result of executing one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The post-state record.
    pub post: MachineState,
    /// The exceptional halt, if the step halted.
    pub halt: Option<Halt>,
    /// For a frame entry: the link the callee's `frames_root` commits to.
    pub entered: Option<FrameLink>,
}

/// Source of the witnesses a step touches. The verifier's implementation reads them from a proof;
/// the prover's reads them from the full state and records them. Every value returned here is
/// checked by the step against a root or hash of the pre-state before it is used.
pub(crate) trait Oracle {
    /// The `i`-th stack item from the top of the pre-state stack (`i` counts up from 0).
    fn stack_item(&mut self, i: usize) -> Result<U256, VerifyError>;
    /// The stack root below the top `popped` items.
    fn stack_rest(&mut self, popped: usize) -> Result<B256, VerifyError>;
    /// The memory words `[start, start + count)` with their range multiproof in the *current*
    /// memory tree.
    fn memory_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError>;
    /// Informs the prover that the step wrote `words` from word `start` (the verifier ignores
    /// it).
    fn memory_written(&mut self, start: u64, words: &[B256]);
    /// The calldata words `[start, start + count)` with their range multiproof.
    fn calldata_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError>;
    /// The return data words `[start, start + count)` with their range multiproof.
    fn returndata_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError>;
    /// The transaction environment record.
    fn tx_env(&mut self) -> Result<TxEnv, VerifyError>;
    /// The block environment record.
    fn block_env(&mut self) -> Result<BlockEnv, VerifyError>;
    /// The world record.
    fn world(&mut self) -> Result<World, VerifyError>;
    /// The leaf at `key` of `tree` with its path in the tree's *current* root.
    fn smt(&mut self, tree: Tree, key: B256) -> Result<SmtProof, VerifyError>;
    /// Informs the prover that the step wrote `leaf` at `key` of `tree` (the verifier ignores it).
    fn smt_written(&mut self, tree: Tree, key: B256, leaf: B256);
    /// The leaf at `key` of `tree` with no path, from a prover applying a step to its own full
    /// state with no proof kept (SPEC.md §8: a layer-2 answer's boundary steps); `None` from
    /// every other oracle, whose paths the step checks.
    fn trusted_leaf(&mut self, _tree: Tree, _key: B256) -> Option<B256> {
        None
    }
    /// The root of `tree` in the full state of a prover that gives [`Oracle::trusted_leaf`]
    /// (after the writes it was told of); `None` from every other oracle.
    fn trusted_root(&mut self, _tree: Tree) -> Option<B256> {
        None
    }
    /// The world record of a prover that gives [`Oracle::trusted_leaf`], for a transaction end
    /// it applies to its own full state: the pre-state's world taken on trust, with the roots
    /// of the per-transaction sets the end empties (transient storage, warm and created sets)
    /// not hashed (read as zero), so a transaction outside a layer-2 answer's window never
    /// hashes them. `None` from every other oracle, whose record the step checks against the
    /// pre-state's `world_root`.
    fn trusted_world(&mut self) -> Option<World> {
        None
    }
    /// The return data words `[start, start + count)` with no proof, from a prover that gives
    /// [`Oracle::trusted_leaf`] (a transaction end it applies to its own state, which reads a
    /// creation's code): so that the return data's tree is never hashed there. `None` from
    /// every other oracle, whose range proofs the step checks.
    fn trusted_returndata(&mut self, _start: u64, _count: u64) -> Option<Vec<B256>> {
        None
    }
    /// The EIP-2718 encoding of transaction `index` of the block's list with no proof, from a
    /// prover that gives [`Oracle::trusted_leaf`] (a transaction start it applies to its own
    /// state, whose list it made): so that no path of the list's tree is made or folded there.
    /// `None` from every other oracle, whose word proof the step checks.
    fn trusted_transaction(&mut self, _index: u64) -> Option<Vec<u8>> {
        None
    }
    /// A stand-in for the calldata root of a transaction's top frame, from a prover that gives
    /// [`Oracle::trusted_leaf`] and hashes no tree for a post-state whose commitment nobody
    /// reads (SPEC.md §7): it makes the root from the frame's calldata tree only where a
    /// committed state needs it. `None` from every other oracle: the step hashes the tree.
    fn unhashed_calldata_root(&mut self) -> Option<B256> {
        None
    }
    /// Informs the prover of the record behind a written overlay leaf, so that a later read in
    /// the same step finds its preimage (the verifier ignores it).
    fn account_written(&mut self, record: &AccountRecord);
    /// Informs the prover of the value behind a written overlay slot leaf, so that a later read
    /// finds its preimage (the verifier ignores it).
    fn slot_written(&mut self, _value: U256) {}
    /// The account record whose overlay leaf is `leaf`.
    fn account_record(&mut self, leaf: B256) -> Result<AccountRecord, VerifyError>;
    /// The storage value whose overlay leaf is `leaf`.
    fn slot_value(&mut self, leaf: B256) -> Result<U256, VerifyError>;
    /// The base-state account proof of `address`.
    fn base_account(&mut self, address: Address) -> Result<MptAccount, VerifyError>;
    /// The base-state storage proof of `slot` of `address`.
    fn base_slot(&mut self, address: Address, slot: U256) -> Result<MptSlot, VerifyError>;
    /// The code whose hash is `hash`.
    fn code(&mut self, hash: B256) -> Result<Vec<u8>, VerifyError>;
    /// The block constants record (SPEC.md §3.6).
    fn constants(&mut self) -> Result<BlockConstants, VerifyError>;
    /// The frame link of the current frame (frame exit steps).
    fn frame(&mut self) -> Result<FrameLink, VerifyError>;
    /// The top checkpoint (frame exit steps).
    fn checkpoint(&mut self) -> Result<Checkpoint, VerifyError>;
    /// The accounts of the self-destruct chain, oldest first (transaction end steps).
    fn destructs(&mut self) -> Result<Vec<Address>, VerifyError>;
    /// The EIP-2718 encoding of transaction `index` of the block's list with its word proof
    /// (transaction start and skip steps: the pre-state's `tx_index`; insertions: the index
    /// the receipt names).
    fn transaction(&mut self, index: u64) -> Result<(Vec<u8>, WordProof), VerifyError>;
    /// Informs the prover that the step restored the transaction's checkpoint, so that later
    /// witnesses come from the restored world (the verifier ignores it).
    fn world_restored(&mut self);
    /// Informs the prover that a transaction start pushed the transaction's checkpoint (the
    /// verifier ignores it).
    fn tx_checkpoint_pushed(&mut self) {}
    /// Informs the prover of the transaction environment a transaction start built (the
    /// verifier ignores it).
    fn tx_env_built(&mut self, _env: &TxEnv) {}
    /// [v0.15] Informs the prover of the entries a transaction start head left on a Starting
    /// state's stack, first entry first (the verifier ignores it).
    fn start_entries(&mut self, _words: &[U256]) {}
    /// Informs the prover of a code a step gave an account (an EIP-7702 designator) so that
    /// later steps find it by hash (the verifier ignores it).
    fn code_written(&mut self, _code: &[u8]) {}
    /// The sealing record of a Sealing state (block end steps).
    fn sealing(&mut self) -> Result<SealingRecord, VerifyError>;
    /// The overlay key the fold step folds, with its preimage (block end steps).
    fn fold_key(&mut self) -> Result<FoldKey, VerifyError>;
    /// The witness of a write at `key` of the Merkle-Patricia trie under `root`, a deletion if
    /// `deleting` (block end steps; a read takes the witness of a write without deletion).
    fn trie_witness(
        &mut self,
        root: B256,
        key: &Nibbles,
        deleting: bool,
    ) -> Result<TrieWrite, VerifyError>;
    /// The receipt of transaction `index` (block end steps).
    fn receipt(&mut self, index: u64) -> Result<Receipt, VerifyError>;
    /// Informs the prover of the preimage of an overlay key a step wrote, which the block end
    /// folds (the verifier ignores it).
    fn overlay_key(&mut self, _key: FoldKey) {}
    /// Informs the prover of the trie nodes a write created (the verifier ignores it).
    fn trie_written(&mut self, _created: &[Bytes]) {}
    /// Informs the prover of the sealing record a step left (the verifier ignores it).
    fn sealing_written(&mut self, _record: &SealingRecord) {}
    /// Informs the prover of the world record a block-level step left (the verifier ignores
    /// it).
    fn world_written(&mut self, _world: &World) {}
}

/// How a step ends when it does not halt exceptionally.
pub(crate) enum Flow {
    /// Continue at `pc + 1`.
    Next,
    /// Continue at `pc + 1 + n` (PUSHn).
    Skip(u64),
    /// Continue at a validated jump destination.
    Jump(u64),
    /// STOP or SELFDESTRUCT: the frame ends successfully without output.
    Stop,
    /// RETURN or REVERT: the frame ends with its output as the return data.
    Finish {
        status: Status,
        returndata_root: B256,
        returndata_size: u64,
    },
    /// A call or create enters a new frame: the post-state is the callee's first state
    /// (`frames_root` and `world_root` are filled in from the suspended caller).
    Enter {
        callee: Box<MachineState>,
        out_offset: u64,
        out_len: u64,
        kind: FrameKind,
    },
}

/// A step that does not complete: an exceptional halt (a valid outcome) or an invalid proof.
pub(crate) enum Fault {
    Halt(Halt),
    Invalid(VerifyError),
}

impl From<VerifyError> for Fault {
    fn from(e: VerifyError) -> Self {
        Self::Invalid(e)
    }
}

pub(crate) type StepResult<T = Flow> = Result<T, Fault>;

/// The working state of one step.
pub(crate) struct Ctx<'a> {
    pub pre: &'a MachineState,
    pub code: &'a [u8],
    pub oracle: &'a mut dyn Oracle,
    /// Gas left, after the static cost.
    pub gas: u64,
    popped: Vec<U256>,
    pushed: Vec<U256>,
    memory_root: B256,
    memory_size: u64,
    /// The world record, once a step has read it; updated in place by world writes.
    world: Option<World>,
    /// Refund counter (EIP-3529), updated by SSTORE.
    refund: i64,
    /// New return data (root, size), set by calls that complete within the step.
    returndata: Option<(B256, u64)>,
}

impl<'a> Ctx<'a> {
    /// A context for world access only, in a world already checked against `pre.world_root`
    /// (frame exit steps).
    pub(crate) fn for_world(
        pre: &'a MachineState,
        oracle: &'a mut dyn Oracle,
        world: World,
    ) -> Self {
        Self {
            pre,
            code: &[],
            oracle,
            gas: 0,
            popped: Vec::new(),
            pushed: Vec::new(),
            memory_root: pre.memory_root,
            memory_size: pre.memory_size,
            world: Some(world),
            refund: 0,
            returndata: None,
        }
    }

    /// The world as the step left it.
    pub(crate) fn into_world(self) -> Option<World> {
        self.world
    }

    /// Halts unless the frame may change state.
    pub fn require_non_static(&self) -> StepResult<()> {
        if self.pre.is_static {
            return Err(Fault::Halt(Halt::StaticViolation));
        }
        Ok(())
    }

    /// Pops the next stack item (witnessed, checked when the step finishes).
    pub fn pop(&mut self) -> StepResult<U256> {
        let item = self.oracle.stack_item(self.popped.len())?;
        self.popped.push(item);
        Ok(item)
    }

    /// Pushes a result.
    pub fn push(&mut self, item: U256) {
        self.pushed.push(item);
    }

    /// Charges `cost` gas or halts with out-of-gas.
    pub fn charge(&mut self, cost: u128) -> StepResult<()> {
        if cost > u128::from(self.gas) {
            return Err(Fault::Halt(Halt::OutOfGas));
        }
        self.gas -= cost as u64;
        Ok(())
    }

    /// Current memory size in bytes.
    pub fn memory_size(&self) -> u64 {
        self.memory_size
    }

    /// Expands memory to cover `[offset, offset + len)` and charges for it (SPEC.md §4.3).
    /// Nothing happens for `len == 0`. Returns `offset` as `u64` (0 when `len == 0`).
    pub fn expand(&mut self, offset: U256, len: u64) -> StepResult<u64> {
        if len == 0 {
            return Ok(0);
        }
        let Ok(offset) = u64::try_from(offset) else {
            return Err(Fault::Halt(Halt::OutOfGas));
        };
        let end = u128::from(offset) + u128::from(len);
        let new_words = end.div_ceil(32);
        let cur_words = u128::from(self.memory_size / 32);
        if new_words > cur_words {
            self.charge(memory_cost(new_words) - memory_cost(cur_words))?;
            if new_words > u128::from(WORD_TREE_LEAVES) {
                // Unreachable under MAX_GAS (it needs more than 2^55 gas); kept as a guard.
                return Err(VerifyError::Unsupported {
                    what: "memory beyond 2^32 words",
                }
                .into());
            }
            self.memory_size = (new_words * 32) as u64;
        }
        Ok(offset)
    }

    /// The memory range `[start, start + count)`, checked against the current memory root
    /// (SPEC.md §5.6: one range multiproof per read or write).
    fn memory_range(&mut self, start: u64, count: u64) -> StepResult<RangeProof> {
        let proof = self.oracle.memory_range(start, count)?;
        if !proof.verifies(self.memory_root, start, count) {
            return Err(VerifyError::BadMemoryProof { index: start }.into());
        }
        Ok(proof)
    }

    /// Reads `len` bytes of (already expanded) memory from `offset`.
    pub fn read_memory(&mut self, offset: u64, len: u64) -> StepResult<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let (first, count) = word_range(offset, offset + len);
        let proof = self.memory_range(first, count)?;
        Ok(bytes_of(&proof.words, offset - first * 32, len))
    }

    /// Writes `data` into (already expanded) memory at `offset`: the range multiproof of the
    /// covered words shows the old words, and the new root is folded from the spliced words
    /// with the same siblings.
    pub fn write_memory(&mut self, offset: u64, data: &[u8]) -> StepResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let (first, count) = word_range(offset, offset + data.len() as u64);
        let proof = self.memory_range(first, count)?;
        let words = splice(&proof.words, offset - first * 32, data);
        self.memory_root = proof
            .root_with(&words)
            .ok_or(VerifyError::BadMemoryProof { index: first })?;
        self.oracle.memory_written(first, &words);
        Ok(())
    }

    /// Reads `len` bytes of calldata from `offset`; bytes past the end are zero (SPEC.md §5.7).
    pub fn read_calldata(&mut self, offset: U256, len: u64) -> StepResult<Vec<u8>> {
        let mut out = vec![0u8; len as usize];
        let size = self.pre.calldata_size;
        let Ok(offset) = u64::try_from(offset) else {
            return Ok(out);
        };
        if offset >= size || len == 0 {
            return Ok(out);
        }
        let end = offset.saturating_add(len).min(size);
        let (first, count) = word_range(offset, end);
        let proof = self.oracle.calldata_range(first, count)?;
        if !proof.verifies(self.pre.calldata_root, first, count) {
            return Err(VerifyError::BadCalldataProof { index: first }.into());
        }
        let n = (end - offset) as usize;
        out[..n].copy_from_slice(&bytes_of(&proof.words, offset - first * 32, end - offset));
        Ok(out)
    }

    /// Reads `[offset, offset + len)` of the return data, which the caller has checked to lie
    /// within `returndata_size` (SPEC.md §5.7).
    pub fn read_returndata(&mut self, offset: u64, len: u64) -> StepResult<Vec<u8>> {
        Ok(read_returndata(self.pre, self.oracle, offset, len)?)
    }

    /// The transaction environment, checked against the pre-state.
    pub fn tx_env(&mut self) -> StepResult<TxEnv> {
        let env = self.oracle.tx_env()?;
        if env.hash() != self.pre.tx_env_hash {
            return Err(VerifyError::TxEnvMismatch.into());
        }
        Ok(env)
    }

    /// The block environment, checked against the pre-state.
    pub fn block_env(&mut self) -> StepResult<BlockEnv> {
        let env = self.oracle.block_env()?;
        if env.hash() != self.pre.block_env_hash {
            return Err(VerifyError::BlockEnvMismatch.into());
        }
        Ok(env)
    }
}

/// The pre-state's world record: a trusted prover's own ([`Oracle::trusted_world`], unchecked:
/// its per-transaction sets are not hashed), else the oracle's, checked against `world_root`.
pub(crate) fn world_of(oracle: &mut dyn Oracle, world_root: B256) -> Result<World, VerifyError> {
    if let Some(world) = oracle.trusted_world() {
        return Ok(world);
    }
    let world = oracle.world()?;
    if world.commitment() != world_root {
        return Err(VerifyError::WorldMismatch);
    }
    Ok(world)
}

/// The block constants, checked against the block environment (SPEC.md §3.6).
pub(crate) fn constants(
    oracle: &mut dyn Oracle,
    block: &BlockEnv,
) -> Result<BlockConstants, VerifyError> {
    let constants = oracle.constants()?;
    if constants.hash() != block.constants_hash {
        return Err(VerifyError::ConstantsMismatch);
    }
    Ok(constants)
}

/// The words `[first, first + count)` that hold the bytes `[offset, end)`, `end > offset`.
pub(crate) fn word_range(offset: u64, end: u64) -> (u64, u64) {
    let first = offset / 32;
    (first, end.div_ceil(32) - first)
}

/// The `len` bytes from byte `skip` of the concatenated `words`.
pub(crate) fn bytes_of(words: &[B256], skip: u64, len: u64) -> Vec<u8> {
    words
        .iter()
        .flat_map(|w| w.0)
        .skip(skip as usize)
        .take(len as usize)
        .collect()
}

/// `words` with `data` written from byte `skip` of their concatenation.
pub(crate) fn splice(words: &[B256], skip: u64, data: &[u8]) -> Vec<B256> {
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.0).collect();
    bytes[skip as usize..skip as usize + data.len()].copy_from_slice(data);
    bytes.chunks(32).map(B256::from_slice).collect()
}

/// Reads `[offset, offset + len)` of the pre-state's return data with one range multiproof
/// (SPEC.md §5.7); the caller has checked the range lies within `returndata_size`.
pub(crate) fn read_returndata(
    pre: &MachineState,
    oracle: &mut dyn Oracle,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, VerifyError> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let (first, count) = word_range(offset, offset + len);
    if let Some(words) = oracle.trusted_returndata(first, count) {
        return Ok(bytes_of(&words, offset - first * 32, len));
    }
    let proof = oracle.returndata_range(first, count)?;
    if !proof.verifies(pre.returndata_root, first, count) {
        return Err(VerifyError::BadReturndataProof { index: first });
    }
    Ok(bytes_of(&proof.words, offset - first * 32, len))
}

/// Memory cost of `words` words: `3 words + words² / 512` (SPEC.md §4.3).
pub(crate) fn memory_cost(words: u128) -> u128 {
    3 * words + words * words / 512
}

/// Cost of `per_word` gas for every started word of `len` bytes.
pub(crate) fn word_cost(per_word: u128, len: u64) -> u128 {
    per_word * u128::from(len).div_ceil(32)
}

/// Executes the opcode step from `pre` (SPEC.md §5.1). `code` must hash to `pre.code_hash`.
pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    match pre.status {
        Status::Running => {}
        Status::Idle => return start::from_idle(pre, code, oracle),
        Status::BlockStart => return block_start::execute(pre, code, oracle),
        Status::Sealing => return block_end::execute(pre, code, oracle),
        Status::BlockEnd => return block_end::repeat(pre, code),
        Status::Starting => return entries::execute(pre, code, oracle),
        _ if pre.depth > 0 => return exit::execute(pre, code, oracle),
        _ => return transaction::execute(pre, code, oracle),
    }
    if pre.gas > MAX_GAS {
        return Err(VerifyError::Unsupported {
            what: "gas above 2^32",
        });
    }
    if keccak256(code) != pre.code_hash {
        return Err(VerifyError::CodeHashMismatch);
    }
    let op = usize::try_from(pre.pc)
        .ok()
        .and_then(|pc| code.get(pc))
        .copied()
        .unwrap_or(0);
    let op_info = info(op);
    let halted = |halt| Transition {
        post: MachineState {
            status: Status::ExceptionalHalt,
            gas: 0,
            ..pre.clone()
        },
        halt: Some(halt),
        entered: None,
    };
    let family = match op_info.family {
        Family::Undefined => return Ok(halted(Halt::UndefinedOpcode)),
        Family::Invalid => return Ok(halted(Halt::InvalidOpcode)),
        Family::Pending => return Err(VerifyError::Unsupported { what: op_info.name }),
        family => family,
    };
    if pre.gas < op_info.gas {
        return Ok(halted(Halt::OutOfGas));
    }
    let pops = u64::from(op_info.pops);
    if pre.stack_len < pops {
        return Ok(halted(Halt::StackUnderflow));
    }
    if pre.stack_len - pops + u64::from(op_info.pushes) > STACK_LIMIT {
        return Ok(halted(Halt::StackOverflow));
    }

    let mut cx = Ctx {
        pre,
        code,
        oracle,
        gas: pre.gas - op_info.gas,
        popped: Vec::with_capacity(op_info.pops as usize),
        pushed: Vec::with_capacity(op_info.pushes as usize),
        memory_root: pre.memory_root,
        memory_size: pre.memory_size,
        world: None,
        refund: pre.refund,
        returndata: None,
    };
    let outcome = match family {
        Family::Arithmetic => arithmetic::execute(op, &mut cx),
        Family::Bitwise => bitwise::execute(op, &mut cx),
        Family::Keccak => keccak::execute(op, &mut cx),
        Family::Environment => environment::execute(op, &mut cx),
        Family::Stack => stack::execute(op, &mut cx),
        Family::Memory => memory::execute(op, &mut cx),
        Family::Control => control::execute(op, &mut cx),
        Family::Storage => storage::execute(op, &mut cx),
        Family::Account => account::execute(op, &mut cx),
        Family::Log => log::execute(op, &mut cx),
        Family::System => system::execute(op, &mut cx),
        Family::Call => call::execute(op, &mut cx),
        Family::Undefined | Family::Invalid | Family::Pending => {
            return Err(VerifyError::Unsupported { what: op_info.name });
        }
    };
    // The popped items are checked against the pre-state even when the step halts: a halt
    // decided from a forged operand must not verify.
    let rest = if cx.popped.is_empty() {
        pre.stack_root
    } else {
        let rest = cx.oracle.stack_rest(cx.popped.len())?;
        let root = cx
            .popped
            .iter()
            .rev()
            .fold(rest, |r, item| stack_push(r, *item));
        if root != pre.stack_root {
            return Err(VerifyError::BadStackProof);
        }
        rest
    };
    let flow = match outcome {
        Ok(flow) => flow,
        Err(Fault::Halt(h)) => return Ok(halted(h)),
        Err(Fault::Invalid(e)) => return Err(e),
    };
    let entering = matches!(flow, Flow::Enter { .. });
    let pushes = if entering { 0 } else { op_info.pushes };
    if cx.popped.len() != op_info.pops as usize || cx.pushed.len() != pushes as usize {
        // A step family disagrees with the opcode table: a bug in this verifier, not the proof.
        return Err(VerifyError::Unsupported {
            what: "stack effect differs from the opcode table",
        });
    }
    let mut post = pre.clone();
    post.gas = cx.gas;
    post.stack_root = cx.pushed.iter().fold(rest, |r, item| stack_push(r, *item));
    post.stack_len = pre.stack_len - pops + u64::from(pushes);
    post.memory_root = cx.memory_root;
    post.memory_size = cx.memory_size;
    post.refund = cx.refund;
    if let Some(world) = &cx.world {
        post.world_root = world.commitment();
    }
    if let Some((root, size)) = cx.returndata {
        post.returndata_root = root;
        post.returndata_size = size;
    }
    match flow {
        Flow::Next => post.pc = pre.pc + 1,
        Flow::Skip(n) => post.pc = pre.pc + 1 + n,
        Flow::Jump(target) => post.pc = target,
        Flow::Stop => post.status = Status::Stopped,
        Flow::Finish {
            status,
            returndata_root,
            returndata_size,
        } => {
            post.status = status;
            post.returndata_root = returndata_root;
            post.returndata_size = returndata_size;
        }
        Flow::Enter {
            mut callee,
            out_offset,
            out_len,
            kind,
        } => {
            // The caller is suspended at the next opcode; the callee starts.
            post.pc = pre.pc + 1;
            let link = FrameLink {
                caller: post,
                out_offset,
                out_len,
                kind,
            };
            callee.frames_root = link.hash();
            callee.world_root = link.caller.world_root;
            return Ok(Transition {
                post: *callee,
                halt: None,
                entered: Some(link),
            });
        }
    }
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}
