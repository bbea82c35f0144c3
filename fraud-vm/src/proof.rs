//! One-step proofs (SPEC.md §6): the pre-state record plus exactly the witnesses the step touches,
//! a pure verifier, and the prover that emits them from a full state.

use crate::frame::{Checkpoint, FrameLink};
use crate::merkle::WordProof;
use crate::mpt::{MptAccount, MptSlot};
use crate::smt::SmtProof;
use crate::state::{BlockConstants, BlockEnv, FullState, MachineState, TxEnv};
use crate::step::{self, Oracle, Transition};
use crate::world::{AccountRecord, Tree, World};
use alloy::primitives::{Address, B256, U256, keccak256};
use thiserror::Error;

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
    /// Memory words in access order, each with its path in the memory tree current at access.
    pub memory: Vec<WordProof>,
    /// Calldata words in access order, each with its path in the calldata tree.
    pub calldata: Vec<WordProof>,
    /// Return data words in access order, each with its path in the return data tree.
    pub returndata: Vec<WordProof>,
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
    /// The block constants (steps from an Idle state).
    pub constants: Option<BlockConstants>,
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
    /// A memory word or its path does not match the memory root.
    #[error("memory word {index} does not match the memory root")]
    BadMemoryProof {
        /// Word index.
        index: u64,
    },
    /// A calldata word or its path does not match the calldata root.
    #[error("calldata word {index} does not match the calldata root")]
    BadCalldataProof {
        /// Word index.
        index: u64,
    },
    /// A return data word or its path does not match the return data root.
    #[error("return data word {index} does not match the return data root")]
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
    let (proof, transition, _) = prove_with(state, false);
    Ok((proof, transition?))
}

/// Proves the step from `state` as far as it goes: the witnesses the step consumed, and its
/// outcome. A step that fails (a transaction that cannot start, say) still yields the proof of
/// what it read, so that another verifier can be shown the same rejection.
pub fn prove_partial(state: &mut FullState) -> (StepProof, Result<Transition, VerifyError>) {
    let (proof, transition, _) = prove_with(state, false);
    (proof, transition)
}

/// Proves a transaction start or end step (the boundary steps of SPEC.md §5.9) and applies it to
/// `state`: the returned state is the step's post-state in full (the first state of the top
/// frame, or its terminal state when no opcode runs, after a start; the Idle state after an
/// end). Its commitment is checked against the transition's post-state, so a prover that
/// disagrees with the step is an error, never a wrong state. Other steps are refused: their
/// post-states come from the tracer.
pub fn prove_boundary(
    mut state: FullState,
) -> Result<(StepProof, Transition, FullState), ApplyError> {
    use crate::state::Status;
    let status = state.record.status;
    if status == Status::Running || state.record.depth != 0 {
        return Err(ApplyError::NotABoundary);
    }
    let (proof, transition, applied) = prove_with(&mut state, true);
    let transition = transition?;
    let Applied {
        tx_env,
        entry_world,
    } = applied;
    let post = &transition.post;
    let world = &mut state.world;
    if status == Status::Idle {
        // Transaction start: the per-transaction sets start empty, the checkpoint was pushed.
        let Some(tx_env) = tx_env else {
            return Err(ApplyError::Diverged("no transaction environment"));
        };
        world.sync();
        if let Some(cp) = world.checkpoints.last() {
            world.record.checkpoint_root = cp.link();
        }
        let txs = state.transactions.clone();
        let (tx, _) = txs
            .as_ref()
            .and_then(|t| t.records.get(usize::try_from(state.record.tx_index).ok()?))
            .map(|r| (r.clone(), ()))
            .ok_or(ApplyError::Diverged("no transaction record"))?;
        let mut next = FullState::new_frame(
            Default::default(),
            tx_env,
            state.block_env.clone(),
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
        if next.record.world_root != next.world.record.commitment() {
            return Err(ApplyError::Diverged("world after the transaction start"));
        }
        return Ok((proof, transition, next));
    }
    // Transaction end: the world kept or restored, credits and deletions applied; the
    // per-transaction sets emptied.
    world.begin_tx();
    let mut next = FullState::new_frame(
        Default::default(),
        Default::default(),
        state.block_env.clone(),
        state.constants.clone(),
        std::mem::take(&mut state.world),
    );
    next.code = Vec::new();
    next.record = post.clone();
    next.transactions = state.transactions.clone();
    if next.record.world_root != next.world.record.commitment() {
        return Err(ApplyError::Diverged("world after the transaction end"));
    }
    Ok((proof, transition, next))
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
struct Applied {
    tx_env: Option<TxEnv>,
    entry_world: Option<crate::world::WorldState>,
}

fn prove_with(
    state: &mut FullState,
    apply: bool,
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

/// Counts of the witnesses consumed so far, per kind.
#[derive(Default)]
struct Used {
    stack: usize,
    stack_rest: bool,
    memory: usize,
    calldata: usize,
    returndata: usize,
    tx_env: bool,
    block_env: bool,
    world: bool,
    trees: usize,
    accounts: usize,
    slots: usize,
    base_accounts: usize,
    base_slots: usize,
    codes: usize,
    frame: bool,
    checkpoint: bool,
    destructs: bool,
    transaction: bool,
    constants: bool,
}

/// Verifier side: hands out the proof's witnesses in order and checks all were used.
struct ProofReader<'a> {
    proof: &'a StepProof,
    used: Used,
}

/// The next witness of a list, or `MissingWitness`.
fn next<T: Clone>(list: &[T], used: &mut usize, what: &'static str) -> Result<T, VerifyError> {
    let item = list
        .get(*used)
        .cloned()
        .ok_or(VerifyError::MissingWitness(what))?;
    *used += 1;
    Ok(item)
}

impl ProofReader<'_> {
    fn check_all_used(&self) -> Result<(), VerifyError> {
        let p = self.proof;
        let u = &self.used;
        let checks: [(bool, &'static str); 19] = [
            (u.stack == p.stack.len(), "stack item"),
            (u.stack_rest == p.stack_rest.is_some(), "stack rest"),
            (u.memory == p.memory.len(), "memory word"),
            (u.calldata == p.calldata.len(), "calldata word"),
            (u.returndata == p.returndata.len(), "return data word"),
            (u.tx_env == p.tx_env.is_some(), "tx env"),
            (u.block_env == p.block_env.is_some(), "block env"),
            (u.world == p.world.is_some(), "world"),
            (u.trees == p.trees.len(), "tree path"),
            (u.accounts == p.accounts.len(), "account record"),
            (u.slots == p.slots.len(), "storage value"),
            (u.base_accounts == p.base_accounts.len(), "base account"),
            (u.base_slots == p.base_slots.len(), "base slot"),
            (u.codes == p.codes.len(), "code"),
            (u.frame == p.frame.is_some(), "frame link"),
            (u.checkpoint == p.checkpoint.is_some(), "checkpoint"),
            (u.destructs == p.destructs.is_some(), "self-destructs"),
            (u.transaction == p.transaction.is_some(), "transaction"),
            (u.constants == p.constants.is_some(), "block constants"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(VerifyError::UnusedWitness(what)),
            None => Ok(()),
        }
    }
}

impl Oracle for ProofReader<'_> {
    fn stack_item(&mut self, i: usize) -> Result<U256, VerifyError> {
        debug_assert_eq!(i, self.used.stack);
        next(&self.proof.stack, &mut self.used.stack, "stack item")
    }

    fn stack_rest(&mut self, _popped: usize) -> Result<B256, VerifyError> {
        self.used.stack_rest = true;
        self.proof
            .stack_rest
            .ok_or(VerifyError::MissingWitness("stack rest"))
    }

    fn memory_word(&mut self, _index: u64) -> Result<WordProof, VerifyError> {
        next(&self.proof.memory, &mut self.used.memory, "memory word")
    }

    fn memory_written(&mut self, _index: u64, _word: B256) {}

    fn calldata_word(&mut self, _index: u64) -> Result<WordProof, VerifyError> {
        next(
            &self.proof.calldata,
            &mut self.used.calldata,
            "calldata word",
        )
    }

    fn returndata_word(&mut self, _index: u64) -> Result<WordProof, VerifyError> {
        next(
            &self.proof.returndata,
            &mut self.used.returndata,
            "return data word",
        )
    }

    fn tx_env(&mut self) -> Result<TxEnv, VerifyError> {
        self.used.tx_env = true;
        self.proof
            .tx_env
            .clone()
            .ok_or(VerifyError::MissingWitness("tx env"))
    }

    fn block_env(&mut self) -> Result<BlockEnv, VerifyError> {
        self.used.block_env = true;
        self.proof
            .block_env
            .clone()
            .ok_or(VerifyError::MissingWitness("block env"))
    }

    fn world(&mut self) -> Result<World, VerifyError> {
        self.used.world = true;
        self.proof.world.ok_or(VerifyError::MissingWitness("world"))
    }

    fn smt(&mut self, _tree: Tree, _key: B256) -> Result<SmtProof, VerifyError> {
        next(&self.proof.trees, &mut self.used.trees, "tree path")
    }

    fn smt_written(&mut self, _tree: Tree, _key: B256, _leaf: B256) {}

    fn account_written(&mut self, _record: &AccountRecord) {}

    fn account_record(&mut self, _leaf: B256) -> Result<AccountRecord, VerifyError> {
        next(
            &self.proof.accounts,
            &mut self.used.accounts,
            "account record",
        )
    }

    fn slot_value(&mut self, _leaf: B256) -> Result<U256, VerifyError> {
        next(&self.proof.slots, &mut self.used.slots, "storage value")
    }

    fn base_account(&mut self, _address: Address) -> Result<MptAccount, VerifyError> {
        next(
            &self.proof.base_accounts,
            &mut self.used.base_accounts,
            "base account",
        )
    }

    fn base_slot(&mut self, _address: Address, _slot: U256) -> Result<MptSlot, VerifyError> {
        next(
            &self.proof.base_slots,
            &mut self.used.base_slots,
            "base slot",
        )
    }

    fn code(&mut self, _hash: B256) -> Result<Vec<u8>, VerifyError> {
        next(&self.proof.codes, &mut self.used.codes, "code")
    }

    fn constants(&mut self) -> Result<BlockConstants, VerifyError> {
        self.used.constants = true;
        self.proof
            .constants
            .clone()
            .ok_or(VerifyError::MissingWitness("block constants"))
    }

    fn frame(&mut self) -> Result<FrameLink, VerifyError> {
        self.used.frame = true;
        self.proof
            .frame
            .clone()
            .ok_or(VerifyError::MissingWitness("frame link"))
    }

    fn checkpoint(&mut self) -> Result<Checkpoint, VerifyError> {
        self.used.checkpoint = true;
        self.proof
            .checkpoint
            .ok_or(VerifyError::MissingWitness("checkpoint"))
    }

    fn world_restored(&mut self) {}

    fn transaction(&mut self) -> Result<(Vec<u8>, WordProof), VerifyError> {
        self.used.transaction = true;
        self.proof
            .transaction
            .clone()
            .ok_or(VerifyError::MissingWitness("transaction"))
    }

    fn destructs(&mut self) -> Result<Vec<Address>, VerifyError> {
        self.used.destructs = true;
        self.proof
            .destructs
            .clone()
            .ok_or(VerifyError::MissingWitness("self-destructs"))
    }
}

/// Prover side: reads witnesses from the full state and records them into the proof.
struct ProofWriter<'a> {
    proof: StepProof,
    state: &'a mut FullState,
    /// Memory words overwritten while proving, restored afterwards.
    undo: Vec<(u64, B256)>,
    /// Tree leaves overwritten while proving, restored afterwards.
    tree_undo: Vec<(Tree, B256, B256)>,
    /// The world swapped out by [`Oracle::world_restored`], swapped back afterwards.
    swapped: Option<crate::world::WorldState>,
    /// Keep the step's writes (a boundary step whose post-state the prover needs).
    apply: bool,
    /// What an applying prover learnt.
    applied: Applied,
}

impl Oracle for ProofWriter<'_> {
    fn stack_item(&mut self, i: usize) -> Result<U256, VerifyError> {
        let items = self.state.stack.items();
        let item = items
            .len()
            .checked_sub(i + 1)
            .map(|at| items[at])
            .ok_or(VerifyError::MissingWitness("stack item"))?;
        self.proof.stack.push(item);
        Ok(item)
    }

    fn stack_rest(&mut self, popped: usize) -> Result<B256, VerifyError> {
        let len = self.state.stack.items().len();
        let rest = len
            .checked_sub(popped)
            .map(|n| self.state.stack.root_of_bottom(n))
            .ok_or(VerifyError::MissingWitness("stack rest"))?;
        self.proof.stack_rest = Some(rest);
        Ok(rest)
    }

    fn memory_word(&mut self, index: u64) -> Result<WordProof, VerifyError> {
        let w = self.memory().prove(index);
        self.proof.memory.push(w.clone());
        Ok(w)
    }

    fn memory_written(&mut self, index: u64, word: B256) {
        let old = self.memory().set(index, word);
        self.undo.push((index, old));
    }

    fn calldata_word(&mut self, index: u64) -> Result<WordProof, VerifyError> {
        let w = self.state.calldata.prove(index);
        self.proof.calldata.push(w.clone());
        Ok(w)
    }

    fn returndata_word(&mut self, index: u64) -> Result<WordProof, VerifyError> {
        let w = self.state.returndata.prove(index);
        self.proof.returndata.push(w.clone());
        Ok(w)
    }

    fn tx_env(&mut self) -> Result<TxEnv, VerifyError> {
        self.proof.tx_env = Some(self.state.tx_env.clone());
        Ok(self.state.tx_env.clone())
    }

    fn block_env(&mut self) -> Result<BlockEnv, VerifyError> {
        self.proof.block_env = Some(self.state.block_env.clone());
        Ok(self.state.block_env.clone())
    }

    fn world(&mut self) -> Result<World, VerifyError> {
        let world = self.state.world.record;
        self.proof.world = Some(world);
        Ok(world)
    }

    fn smt(&mut self, tree: Tree, key: B256) -> Result<SmtProof, VerifyError> {
        let proof = self.state.world.tree(tree).prove(key);
        self.proof.trees.push(proof.clone());
        Ok(proof)
    }

    fn smt_written(&mut self, tree: Tree, key: B256, leaf: B256) {
        let old = self.state.world.tree_mut(tree).set(key, leaf);
        self.tree_undo.push((tree, key, old));
    }

    fn account_written(&mut self, record: &AccountRecord) {
        self.state.world.records.insert(record.leaf(), *record);
    }

    fn account_record(&mut self, leaf: B256) -> Result<AccountRecord, VerifyError> {
        let rec = *self
            .state
            .world
            .records
            .get(&leaf)
            .ok_or(VerifyError::MissingWitness("account record"))?;
        self.proof.accounts.push(rec);
        Ok(rec)
    }

    fn slot_value(&mut self, leaf: B256) -> Result<U256, VerifyError> {
        let value = *self
            .state
            .world
            .values
            .get(&leaf)
            .ok_or(VerifyError::MissingWitness("storage value"))?;
        self.proof.slots.push(value);
        Ok(value)
    }

    fn base_account(&mut self, address: Address) -> Result<MptAccount, VerifyError> {
        let w = self.state.world.base.prove_account(address);
        self.proof.base_accounts.push(w.clone());
        Ok(w)
    }

    fn base_slot(&mut self, address: Address, slot: U256) -> Result<MptSlot, VerifyError> {
        let w = self.state.world.base.prove_slot(address, slot);
        self.proof.base_slots.push(w.clone());
        Ok(w)
    }

    fn code(&mut self, hash: B256) -> Result<Vec<u8>, VerifyError> {
        let code = self
            .state
            .world
            .code(hash)
            .ok_or(VerifyError::MissingWitness("code"))?;
        self.proof.codes.push(code.clone());
        Ok(code)
    }

    fn constants(&mut self) -> Result<BlockConstants, VerifyError> {
        self.proof.constants = Some((*self.state.constants).clone());
        Ok((*self.state.constants).clone())
    }

    fn frame(&mut self) -> Result<FrameLink, VerifyError> {
        let link = self
            .state
            .parent
            .as_ref()
            .map(|p| p.link())
            .ok_or(VerifyError::MissingWitness("frame link"))?;
        self.proof.frame = Some(link.clone());
        Ok(link)
    }

    fn checkpoint(&mut self) -> Result<Checkpoint, VerifyError> {
        let cp = *self
            .state
            .world
            .checkpoints
            .last()
            .ok_or(VerifyError::MissingWitness("checkpoint"))?;
        self.proof.checkpoint = Some(cp);
        Ok(cp)
    }

    fn transaction(&mut self) -> Result<(Vec<u8>, WordProof), VerifyError> {
        let txs = self
            .state
            .transactions
            .as_ref()
            .ok_or(VerifyError::MissingWitness("transaction"))?;
        let index = self.state.record.tx_index;
        let record = usize::try_from(index)
            .ok()
            .and_then(|i| txs.records.get(i))
            .map(|r| r.encoded.clone())
            .ok_or(VerifyError::MissingWitness("transaction"))?;
        let entry = (record, txs.tree.prove(index));
        self.proof.transaction = Some(entry.clone());
        Ok(entry)
    }

    fn tx_checkpoint_pushed(&mut self) {
        if self.apply {
            let world = &mut self.state.world;
            world.sync();
            self.applied.entry_world = Some(world.clone());
            world.push_checkpoint();
        }
    }

    fn code_written(&mut self, code: &[u8]) {
        self.state
            .world
            .codes
            .insert(keccak256(code), code.to_vec());
    }

    fn tx_env_built(&mut self, env: &TxEnv) {
        self.applied.tx_env = Some(env.clone());
    }

    fn world_restored(&mut self) {
        if let Some(entry) = self.state.entry_world.take() {
            let current = std::mem::replace(&mut self.state.world, *entry);
            self.swapped = Some(current);
        }
    }

    fn destructs(&mut self) -> Result<Vec<Address>, VerifyError> {
        let list = self.state.world.destructs.clone();
        self.proof.destructs = Some(list.clone());
        Ok(list)
    }
}

impl ProofWriter<'_> {
    /// The memory a step accesses: the frame's own, or in a frame exit step the caller's.
    fn memory(&mut self) -> &mut crate::merkle::WordTree {
        if self.state.record.status != crate::state::Status::Running
            && let Some(parent) = self.state.parent.as_mut()
        {
            return &mut parent.state.memory;
        }
        &mut self.state.memory
    }
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
        // MSTORE at offset 3 touches two memory words, CALLDATALOAD(0) one calldata word.
        assert_eq!(proofs[2].memory.len(), 2);
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
            Err(VerifyError::MissingWitness("memory word"))
        );
        let mut p = mstore.clone();
        p.calldata.push(p.memory[0].clone());
        assert_eq!(
            verify(pre, &p),
            Err(VerifyError::UnusedWitness("calldata word"))
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
        assert_eq!(proof.returndata.len(), 2);
        let mut tampered = proof.clone();
        tampered.returndata[1].word.0[0] ^= 1;
        assert_eq!(
            verify(s.record.commitment(), &tampered),
            Err(VerifyError::BadReturndataProof { index: 1 })
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
