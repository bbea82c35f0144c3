//! One-step proofs (SPEC.md §6): the pre-state record plus exactly the witnesses the step touches,
//! a pure verifier, and the prover that emits them from a full state. The verifier's witness
//! source is [`reader`], the prover's [`writer`].

mod reader;
mod writer;

use crate::block::{FoldKey, SealingRecord};
use crate::frame::{Checkpoint, FrameLink};
use crate::merkle::{RangeProof, WordProof};
use crate::mpt::{MptAccount, MptSlot};
use crate::mpt_write::TrieWrite;
use crate::receipt::Receipt;
use crate::smt::SmtProof;
use crate::state::{BlockConstants, BlockEnv, FullState, MachineState, TxEnv};
use crate::step::{self, Transition};
use crate::world::{AccountRecord, Tree, World};
use alloy::primitives::{Address, B256, U256, keccak256};
use reader::{ProofReader, Used};
use thiserror::Error;
use writer::ProofWriter;

/// The proof of one opcode step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepProof {
    /// The pre-state record; its commitment must equal the claimed pre-commitment.
    pub pre: MachineState,
    /// The code of the current frame, checked against `pre.code_hash`.
    pub code: Vec<u8>,
    /// Popped stack items, top first.
    pub stack: Vec<U256>,
    /// Stack root below the popped items; present iff `stack` is not empty.
    pub stack_rest: Option<B256>,
    /// Memory ranges in access order (one per read or write), each a range multiproof in the
    /// memory tree current at access.
    pub memory: Vec<RangeProof>,
    /// Calldata ranges in access order, each a range multiproof in the calldata tree.
    pub calldata: Vec<RangeProof>,
    /// Return data ranges in access order, each a range multiproof in the return data tree.
    pub returndata: Vec<RangeProof>,
    /// The transaction environment, present iff the step reads it.
    pub tx_env: Option<TxEnv>,
    /// The block environment, present iff the step reads it.
    pub block_env: Option<BlockEnv>,
    /// The world record, present iff the step reads or changes the world.
    pub world: Option<World>,
    /// Sparse-tree paths in access order (overlay, warm, transient and created lookups and
    /// updates), each in the tree as it is at that access.
    pub trees: Vec<SmtProof>,
    /// Preimages of the non-zero overlay account leaves read, in access order.
    pub accounts: Vec<AccountRecord>,
    /// Preimages of the non-zero overlay storage leaves read, in access order.
    pub slots: Vec<U256>,
    /// Base-state account proofs, for accounts absent from the overlay, in access order.
    pub base_accounts: Vec<MptAccount>,
    /// Base-state storage proofs, for slots absent from the overlay, in access order.
    pub base_slots: Vec<MptSlot>,
    /// Codes read by EXTCODESIZE and EXTCODECOPY, in access order.
    pub codes: Vec<Vec<u8>>,
    /// The frame link of the exiting frame (frame exit steps).
    pub frame: Option<FrameLink>,
    /// The top checkpoint (frame exit and transaction end steps).
    pub checkpoint: Option<Checkpoint>,
    /// The self-destruct chain's accounts (transaction end steps).
    pub destructs: Option<Vec<Address>>,
    /// The transaction's EIP-2718 encoding and its word proof in the block's list
    /// (transaction start steps).
    pub transaction: Option<(Vec<u8>, WordProof)>,
    /// The block constants (steps from an Idle state, the seal).
    pub constants: Option<BlockConstants>,
    /// The sealing record (block end steps).
    pub sealing: Option<SealingRecord>,
    /// The overlay key a fold step folds.
    pub fold_key: Option<FoldKey>,
    /// Merkle-Patricia write witnesses, in access order (block end steps).
    pub tries: Vec<TrieWrite>,
    /// The receipt a block end step inserts.
    pub receipt: Option<Receipt>,
}

impl StepProof {
    /// A proof with the pre-state and code and no witnesses.
    pub fn empty(pre: MachineState, code: Vec<u8>) -> Self {
        Self {
            pre,
            code,
            stack: Vec::new(),
            stack_rest: None,
            memory: Vec::new(),
            calldata: Vec::new(),
            returndata: Vec::new(),
            tx_env: None,
            block_env: None,
            world: None,
            trees: Vec::new(),
            accounts: Vec::new(),
            slots: Vec::new(),
            base_accounts: Vec::new(),
            base_slots: Vec::new(),
            codes: Vec::new(),
            frame: None,
            checkpoint: None,
            destructs: None,
            transaction: None,
            constants: None,
            sealing: None,
            fold_key: None,
            tries: Vec::new(),
            receipt: None,
        }
    }
}

/// Why a proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// `keccak256(pre)` differs from the claimed pre-commitment.
    #[error("pre-state record does not match the pre-commitment")]
    PreStateMismatch,
    /// `keccak256(code)` differs from `pre.code_hash`.
    #[error("code does not match the code hash")]
    CodeHashMismatch,
    /// The popped items and rest root do not rebuild `pre.stack_root`.
    #[error("stack items do not match the stack root")]
    BadStackProof,
    /// A memory range multiproof does not match the memory root or the range the step reads.
    #[error("memory range from word {index} does not match the memory root")]
    BadMemoryProof {
        /// Index of the range's first word.
        index: u64,
    },
    /// A calldata range multiproof does not match the calldata root or the range read.
    #[error("calldata range from word {index} does not match the calldata root")]
    BadCalldataProof {
        /// Word index.
        index: u64,
    },
    /// A return data range multiproof does not match the return data root or the range read.
    #[error("return data range from word {index} does not match the return data root")]
    BadReturndataProof {
        /// Word index.
        index: u64,
    },
    /// The transaction environment does not match `pre.tx_env_hash`.
    #[error("transaction environment does not match its hash")]
    TxEnvMismatch,
    /// The block environment does not match `pre.block_env_hash`.
    #[error("block environment does not match its hash")]
    BlockEnvMismatch,
    /// The block constants do not match the block environment's `constants_hash`.
    #[error("block constants do not match the block environment")]
    ConstantsMismatch,
    /// The world record does not match `pre.world_root`.
    #[error("world record does not match the world root")]
    WorldMismatch,
    /// A sparse-tree path does not match the tree's current root.
    #[error("path in the {tree:?} tree does not match its root")]
    BadTreeProof {
        /// The tree.
        tree: Tree,
    },
    /// An account record does not hash to its overlay leaf.
    #[error("account record does not match its overlay leaf")]
    BadAccountRecord,
    /// A storage value does not hash to its overlay leaf.
    #[error("storage value does not match its overlay leaf")]
    BadSlotValue,
    /// A base-state account or storage proof does not verify.
    #[error("base state trie proof does not verify")]
    BadBaseProof,
    /// A code witness does not hash to the account's code hash.
    #[error("code does not match the account's code hash")]
    BadCode,
    /// The frame link does not match `pre.frames_root`.
    #[error("frame link does not match the frame chain")]
    BadFrameLink,
    /// The transaction or its position does not match the block's transaction list.
    #[error("transaction does not match the block's transaction list")]
    BadTransaction,
    /// The transaction cannot start: the block holding it is invalid.
    #[error("invalid transaction: {what}")]
    InvalidTransaction {
        /// The failed check.
        what: &'static str,
    },
    /// The self-destruct list does not match the world's self-destruct chain.
    #[error("self-destruct list does not match its chain")]
    BadDestructs,
    /// The checkpoint does not match the world's checkpoint chain.
    #[error("checkpoint does not match the checkpoint chain")]
    BadCheckpoint,
    /// The step needs a witness the proof lacks.
    #[error("missing witness: {0}")]
    MissingWitness(&'static str),
    /// The proof carries a witness the step does not touch.
    #[error("unused witness: {0}")]
    UnusedWitness(&'static str),
    /// The sealing record does not match the Sealing state's `tx_env_hash`.
    #[error("sealing record does not match the state")]
    BadSealing,
    /// The fold key is not the overlay's smallest key, or not a key of it.
    #[error("the fold key is not the overlay's smallest key")]
    BadFoldKey,
    /// A receipt does not continue the receipt chain, or does not fit its transaction, or the
    /// chain is not complete when the block is sealed.
    #[error("receipt does not match the receipt chain")]
    BadReceipt,
    /// A Merkle-Patricia write witness does not show the key's path (SPEC.md §3.10).
    #[error("trie write: {0}")]
    BadTrieWitness(#[from] crate::mpt_write::TrieError),
    /// A `blockStart` proof does not show the parent output, the parent header or inputs a
    /// block may have, or a block start state is not one.
    #[error("block start: {what}")]
    BadBlockStart {
        /// The failed check.
        what: &'static str,
    },
    /// A record given to `blockEnd` is not a block-end state.
    #[error("not a block-end state")]
    NotBlockEnd,
    /// The step is specified but not implemented in this version.
    #[error("step not implemented in this version: {what}")]
    Unsupported {
        /// The opcode or feature.
        what: &'static str,
    },
}

/// Verifies a one-step proof against the pre-commitment and returns the post-commitment.
pub fn verify(pre_commitment: B256, proof: &StepProof) -> Result<B256, VerifyError> {
    Ok(execute(pre_commitment, proof)?.post.commitment())
}

/// Like [`verify`], returning the whole post-state record and the halt reason.
pub fn execute(pre_commitment: B256, proof: &StepProof) -> Result<Transition, VerifyError> {
    if proof.pre.commitment() != pre_commitment {
        return Err(VerifyError::PreStateMismatch);
    }
    let mut reader = ProofReader {
        proof,
        used: Used::default(),
    };
    let transition = step::execute(&proof.pre, &proof.code, &mut reader)?;
    reader.check_all_used()?;
    Ok(transition)
}

/// Builds the proof of the step from `state`, and its transition.
///
/// `state` is left as it was: memory writes made while proving are undone.
pub fn prove(state: &mut FullState) -> Result<(StepProof, Transition), VerifyError> {
    let (proof, transition, _) = prove_with(state, false, false, false);
    Ok((proof, transition?))
}

/// Proves the step from `state` as far as it goes: the witnesses the step consumed, and its
/// outcome. A step that fails (a transaction that cannot start, say) still yields the proof of
/// what it read, so that another verifier can be shown the same rejection.
pub fn prove_partial(state: &mut FullState) -> (StepProof, Result<Transition, VerifyError>) {
    let (proof, transition, _) = prove_with(state, false, false, false);
    (proof, transition)
}

/// Proves a boundary step and applies it to `state`: a transaction start or end (SPEC.md §5.9)
/// or a step of the block start or end (§5.18, §5.19). The returned state is the step's
/// post-state in full (the first state of the top frame, or its terminal state when no opcode
/// runs, after a start; the Idle state after an end; the next state of the block's start or
/// end). Its commitment is checked against the transition's post-state, so a prover that
/// disagrees with the step is an error, never a wrong state. Other steps are refused: their
/// post-states come from the tracer.
pub fn prove_boundary(state: FullState) -> Result<(StepProof, Transition, FullState), ApplyError> {
    let (proof, transition, next, _) = boundary(state, false, false)?;
    Ok((proof, transition, next))
}

/// [`prove_boundary`] without the proof: the step is applied to `state` from its own trees,
/// which give leaves and roots directly (no sparse-tree path is made, checked or hashed), so
/// only the post-state is exact, with the same checks against the transition; the proof
/// returned lacks the trees' paths and is not one to verify. What a layer-2 answer's re-run
/// needs (SPEC.md §8).
pub fn apply_boundary(state: FullState) -> Result<(StepProof, Transition, FullState), ApplyError> {
    let (proof, transition, next, _) = boundary(state, true, false)?;
    Ok((proof, transition, next))
}

/// [`apply_boundary`] that hashes no sparse tree for a system call of the block start, a
/// transaction start, skip or end or a block end step: the step reads stand-in roots
/// ([`crate::world::WorldState::record_unhashed`], [`crate::smt::SparseTree::unhashed_root`]),
/// so when the flag returned is set the returned state's `record.world_root` (and the
/// transition's) is not its world's commitment, and in a Sealing state neither is the sealing
/// record's `folded_root` nor `record.tx_env_hash` its hash. The caller makes them if it needs
/// the state's commitment (SPEC.md §8: a layer-2 answer's run, outside the asked window): the
/// trees the steps wrote are hashed once, by the commitment that needs them, or never.
pub(crate) fn apply_boundary_unhashed(
    state: FullState,
) -> Result<(StepProof, Transition, FullState, bool), ApplyError> {
    boundary(state, true, true)
}

/// The boundary step from `state`, proved or (`trusted`) applied; `unhashed` (with `trusted`)
/// lets a transaction start, skip or end hash no tree: the last value returned says whether
/// the post-state's `world_root` was left stale.
fn boundary(
    mut state: FullState,
    trusted: bool,
    unhashed: bool,
) -> Result<(StepProof, Transition, FullState, bool), ApplyError> {
    use crate::state::Status;
    let status = state.record.status;
    if status == Status::Running || state.record.depth != 0 {
        return Err(ApplyError::NotABoundary);
    }
    let unhashed = trusted && unhashed && status != Status::BlockEnd;
    let (proof, transition, applied) = prove_with(&mut state, true, trusted, unhashed);
    let transition = transition?;
    let block_level = matches!(
        status,
        Status::BlockStart | Status::Sealing | Status::BlockEnd
    ) || transition.post.status == Status::Sealing;
    if block_level {
        let next = apply_block_step(state, &transition.post, applied, unhashed)?;
        // The block-end state holds the output root: never stale.
        let stale = unhashed && next.record.status != Status::BlockEnd;
        return Ok((proof, transition, next, stale));
    }
    let Applied {
        tx_env,
        entry_world,
        entries,
        ..
    } = applied;
    let post = &transition.post;
    if post.status == Status::Starting {
        // [v0.15] A start head with entries, or a sub-step that applied a group of them.
        state.world.sync();
        if !unhashed && post.world_root != state.world.commitment() {
            return Err(ApplyError::Diverged("world after a start sub-step"));
        }
        if status == Status::Idle {
            let (Some(tx_env), Some(words)) = (tx_env, entries) else {
                return Err(ApplyError::Diverged("no entries of the start"));
            };
            let tx = state
                .transactions
                .as_ref()
                .and_then(|t| t.records.get(usize::try_from(post.tx_index).ok()?))
                .ok_or(ApplyError::Diverged("no transaction record"))?;
            state.calldata =
                crate::merkle::WordTree::from_bytes(if tx.create { &[] } else { &tx.data });
            state.tx_env = tx_env;
            state.code = Vec::new();
            state.stack = Default::default();
            for w in words.iter().rev() {
                state.stack.push(*w);
            }
        } else {
            let keep = usize::try_from(post.stack_len)
                .ok()
                .filter(|k| *k <= state.stack.items().len())
                .ok_or(ApplyError::Diverged("entries of a start sub-step"))?;
            state.stack.truncate(keep);
        }
        state.record = post.clone();
        return Ok((proof, transition, state, unhashed));
    }
    if status == Status::Idle && post.status == Status::Idle {
        // [v0.6] A recorded transaction skipped: only the index moved.
        state.world.sync();
        if !unhashed && post.world_root != state.world.commitment() {
            return Err(ApplyError::Diverged("world after a skip"));
        }
        state.record = post.clone();
        return Ok((proof, transition, state, unhashed));
    }
    let world = &mut state.world;
    if status == Status::Idle || status == Status::Starting {
        // Transaction start: the per-transaction sets start empty, the checkpoint was pushed.
        let Some(tx_env) = tx_env else {
            return Err(ApplyError::Diverged("no transaction environment"));
        };
        world.sync();
        if !unhashed && let Some(cp) = world.last_checkpoint() {
            // Unhashed, the checkpoint stays held: its link is made when a commitment reads it.
            world.set_checkpoint_root(cp.link());
        }
        let txs = state.transactions.clone();
        let (tx, _) = txs
            .as_ref()
            .and_then(|t| t.records.get(usize::try_from(state.record.tx_index).ok()?))
            .map(|r| (r.clone(), ()))
            .ok_or(ApplyError::Diverged("no transaction record"))?;
        // The record is the step's post-state (set below): its hashes are the environments'.
        let mut next = FullState::frame_uncommitted(
            Default::default(),
            tx_env,
            state.block_env.clone(),
            (post.tx_env_hash, post.block_env_hash),
            state.constants.clone(),
            std::mem::take(&mut state.world),
        );
        next.code = Vec::new();
        if post.status == Status::Running {
            next.code = next
                .world
                .code(post.code_hash)
                .or_else(|| (keccak256(&tx.data) == post.code_hash).then(|| tx.data.clone()))
                .ok_or(ApplyError::Diverged("code of the top frame"))?;
        }
        if !tx.create {
            next.calldata = crate::merkle::WordTree::from_bytes(&tx.data);
        }
        next.record = post.clone();
        next.entry_world = entry_world.map(Box::new);
        next.transactions = txs;
        if !unhashed && next.record.world_root != next.world.commitment() {
            return Err(ApplyError::Diverged("world after the transaction start"));
        }
        return Ok((proof, transition, next, unhashed));
    }
    // Transaction end: the world kept or restored, credits and deletions applied; the
    // per-transaction sets emptied.
    world.begin_tx();
    // The record is the step's post-state (set below): no environment to hash.
    let mut next = FullState::frame_uncommitted(
        Default::default(),
        Default::default(),
        state.block_env.clone(),
        (B256::ZERO, B256::ZERO),
        state.constants.clone(),
        std::mem::take(&mut state.world),
    );
    next.code = Vec::new();
    next.record = post.clone();
    next.transactions = state.transactions.clone();
    if !unhashed && next.record.world_root != next.world.commitment() {
        return Err(ApplyError::Diverged("world after the transaction end"));
    }
    Ok((proof, transition, next, unhashed))
}

/// The full state after a block-level step the prover applied: its writes are in `state`'s
/// trees and node store, the records it left in `applied`.
fn apply_block_step(
    mut state: FullState,
    post: &MachineState,
    applied: Applied,
    unhashed: bool,
) -> Result<FullState, ApplyError> {
    use crate::state::Status;
    if let Some(world) = applied.world {
        state.world.set_record(world);
    }
    if state.record.status == Status::BlockStart {
        // The system calls wrote the overlay outside any transaction: the world's original
        // values follow it (`begin_tx` resynchronises every per-transaction part).
        state.world.begin_tx();
    }
    if let Some(record) = applied.sealing {
        let sealing = state
            .sealing
            .as_mut()
            .ok_or(ApplyError::Diverged("no block end"))?;
        sealing.record = record;
    }
    state.record = post.clone();
    if !unhashed && post.status != Status::BlockEnd && post.world_root != state.world.commitment() {
        return Err(ApplyError::Diverged("world after a block step"));
    }
    if post.status == Status::Sealing
        && state.sealing.as_ref().map(|s| s.record.hash()) != Some(post.tx_env_hash)
    {
        return Err(ApplyError::Diverged(
            "sealing record after a block end step",
        ));
    }
    Ok(state)
}

/// Why [`prove_boundary`] could not produce the post-state.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplyError {
    /// The state is not a transaction start or end pre-state.
    #[error("not a transaction start or end")]
    NotABoundary,
    /// The step itself failed.
    #[error(transparent)]
    Step(#[from] VerifyError),
    /// The prover's full state disagrees with the step's post-state (a prover bug).
    #[error("prover state diverged from the step: {0}")]
    Diverged(&'static str),
}

/// What an applying prover learnt from the step.
#[derive(Default)]
pub(super) struct Applied {
    pub(super) tx_env: Option<TxEnv>,
    pub(super) entry_world: Option<crate::world::WorldState>,
    /// The sealing record a block end step left.
    pub(super) sealing: Option<SealingRecord>,
    /// The world record a block-level step left.
    pub(super) world: Option<World>,
    /// [v0.15] The entries a transaction start head left on its Starting state's stack, first
    /// entry first.
    pub(super) entries: Option<Vec<alloy::primitives::U256>>,
}

fn prove_with(
    state: &mut FullState,
    apply: bool,
    trusted: bool,
    unhashed: bool,
) -> (StepProof, Result<Transition, VerifyError>, Applied) {
    // A frame exit step runs no code, and its proof carries none.
    let code = if state.record.status == crate::state::Status::Running {
        state.code.clone()
    } else {
        Vec::new()
    };
    let mut writer = ProofWriter {
        proof: StepProof::empty(state.record.clone(), code.clone()),
        state,
        undo: Vec::new(),
        tree_undo: Vec::new(),
        swapped: None,
        apply,
        trusted,
        unhashed,
        applied: Applied::default(),
    };
    let pre = writer.state.record.clone();
    let result = step::execute(&pre, &code, &mut writer);
    for (index, word) in std::mem::take(&mut writer.undo).into_iter().rev() {
        writer.memory().set(index, word);
    }
    if !apply {
        for (tree, key, leaf) in writer.tree_undo.drain(..).rev() {
            writer.state.world.tree_mut(tree).set(key, leaf);
        }
        if let Some(current) = writer.swapped.take() {
            let entry = std::mem::replace(&mut writer.state.world, current);
            writer.state.entry_world = Some(Box::new(entry));
        }
    }
    (writer.proof, result, writer.applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{FrameContext, Status};
    use crate::step::MAX_GAS;

    /// PUSH1 0x2a, PUSH1 0x03, MSTORE, CALLDATALOAD(0), ORIGIN, NUMBER, STOP
    fn state() -> FullState {
        FullState::new_frame(
            FrameContext {
                gas: 1_000,
                code: vec![0x60, 0x2a, 0x60, 0x03, 0x52, 0x5f, 0x35, 0x32, 0x43, 0x00],
                calldata: vec![0xee; 40],
                ..Default::default()
            },
            TxEnv::default(),
            BlockEnv::default(),
            Default::default(),
            crate::world::WorldState::default(),
        )
    }

    /// Runs the program with the verifier alone, building each next full state by hand from
    /// the verified post-state (no revm), and returns the proofs.
    fn proofs() -> Vec<StepProof> {
        let mut s = state();
        let mut out = Vec::new();
        while s.record.status == Status::Running {
            let (proof, t) = prove(&mut s).expect("provable");
            assert_eq!(
                verify(s.record.commitment(), &proof),
                Ok(t.post.commitment())
            );
            // Replay the step on the full state: pops, pushes and memory writes.
            let op = s.code[s.record.pc as usize];
            let mut items = s.stack.items().to_vec();
            match op {
                0x60 => items.push(alloy::primitives::U256::from(
                    s.code[s.record.pc as usize + 1],
                )),
                0x52 => {
                    let off = items.pop().expect("offset").to::<usize>();
                    let val = items.pop().expect("value").to_be_bytes::<32>();
                    let mut mem = [0u8; 64];
                    mem[off..off + 32].copy_from_slice(&val);
                    for (i, w) in mem.chunks(32).enumerate() {
                        s.memory.set(i as u64, B256::from_slice(w));
                    }
                }
                0x5f => items.push(U256::ZERO),
                0x35 => {
                    items.pop();
                    items.push(U256::from_be_bytes([0xee; 32]));
                }
                0x32 | 0x43 => items.push(U256::ZERO),
                _ => {}
            }
            s.stack.sync(&items);
            s.record = t.post;
            assert!(
                s.is_consistent(),
                "replayed state matches the verified post-state"
            );
            out.push(proof);
        }
        out
    }

    #[test]
    fn hand_replayed_program_verifies() {
        let proofs = proofs();
        assert_eq!(proofs.len(), 8);
        // MSTORE at offset 3 touches two memory words (one range), CALLDATALOAD(0) one calldata
        // word.
        assert_eq!(proofs[2].memory.len(), 1);
        assert_eq!(proofs[2].memory[0].words.len(), 2);
        assert_eq!(proofs[4].calldata.len(), 1);
        assert!(proofs[5].tx_env.is_some() && proofs[6].block_env.is_some());
    }

    #[test]
    fn missing_and_unused_witnesses_are_rejected() {
        let proofs = proofs();
        let mstore = &proofs[2];
        let pre = mstore.pre.commitment();
        let mut p = mstore.clone();
        p.memory.pop();
        assert_eq!(
            verify(pre, &p),
            Err(VerifyError::MissingWitness("memory range"))
        );
        let mut p = mstore.clone();
        p.calldata.push(p.memory[0].clone());
        assert_eq!(
            verify(pre, &p),
            Err(VerifyError::UnusedWitness("calldata range"))
        );
        let mut p = mstore.clone();
        p.stack_rest = None;
        assert_eq!(
            verify(pre, &p),
            Err(VerifyError::MissingWitness("stack rest"))
        );
        let mut p = proofs[5].clone();
        p.block_env = Some(BlockEnv::default());
        assert_eq!(
            verify(p.pre.commitment(), &p),
            Err(VerifyError::UnusedWitness("block env"))
        );
    }

    /// RETURNDATACOPY over non-empty return data (which v0.2 traces, having no calls, never
    /// produce), checked against a memory tree built independently.
    #[test]
    fn returndatacopy_copies_within_bounds_and_halts_beyond() {
        let data: Vec<u8> = (1..=50).collect();
        let with_returndata = |src: u64| {
            let mut s = FullState::new_frame(
                FrameContext {
                    gas: 1_000,
                    code: vec![0x3e],
                    ..Default::default()
                },
                TxEnv::default(),
                BlockEnv::default(),
                Default::default(),
                crate::world::WorldState::default(),
            );
            s.returndata = crate::merkle::WordTree::from_bytes(&data);
            s.record.returndata_root = s.returndata.root();
            s.record.returndata_size = data.len() as u64;
            // Stack, bottom first: len 30, src, dst 5.
            s.stack
                .sync(&[U256::from(30), U256::from(src), U256::from(5)]);
            s.record.stack_root = s.stack.root();
            s.record.stack_len = 3;
            s
        };
        let mut s = with_returndata(10);
        let (proof, t) = prove(&mut s).expect("provable");
        assert_eq!(
            verify(s.record.commitment(), &proof),
            Ok(t.post.commitment())
        );
        // One range of two words (bytes 10..40), one memory range of two words (5..35).
        assert_eq!(proof.returndata.len(), 1);
        assert_eq!(proof.returndata[0].words.len(), 2);
        assert_eq!(proof.memory.len(), 1);
        let mut tampered = proof.clone();
        tampered.returndata[0].words[1].0[0] ^= 1;
        assert_eq!(
            verify(s.record.commitment(), &tampered),
            Err(VerifyError::BadReturndataProof { index: 0 })
        );
        let mut memory = [0u8; 64];
        memory[5..35].copy_from_slice(&data[10..40]);
        assert_eq!(
            t.post.memory_root,
            crate::merkle::WordTree::from_bytes(&memory).root()
        );
        assert_eq!(t.post.memory_size, 64);
        // Static 3, copy 3 per word (1 word), memory expansion to 2 words (6).
        assert_eq!(t.post.gas, 1_000 - 3 - 3 - 6);

        let mut s = with_returndata(21);
        let (_, t) = prove(&mut s).expect("provable");
        assert_eq!(t.halt, Some(crate::step::Halt::ReturnDataOutOfBounds));
    }

    #[test]
    fn states_outside_this_version_are_refused() {
        let mut p = proofs()[0].clone();
        p.pre.gas = MAX_GAS + 1;
        assert!(matches!(
            verify(p.pre.commitment(), &p),
            Err(VerifyError::Unsupported { .. })
        ));
        p.pre.gas = 10;
        // A transaction start or end carries no code.
        p.pre.status = Status::Idle;
        assert_eq!(
            verify(p.pre.commitment(), &p),
            Err(VerifyError::UnusedWitness("code"))
        );
        p.pre.status = Status::Stopped;
        assert_eq!(
            verify(p.pre.commitment(), &p),
            Err(VerifyError::UnusedWitness("code"))
        );
    }
}
