//! The prover's witness source: reads each witness from the full state and records it into the
//! proof, so that the proof a prover emits is the one the verifier consumes.

use super::{Applied, StepProof};
use crate::block::{FoldKey, SealingRecord};
use crate::frame::{Checkpoint, FrameLink};
use crate::merkle::{RangeProof, WordProof};
use crate::mpt::{MptAccount, MptSlot};
use crate::mpt_write::TrieWrite;
use crate::proof::VerifyError;
use crate::receipt::Receipt;
use crate::smt::SmtProof;
use crate::state::{BlockConstants, BlockEnv, FullState, TxEnv};
use crate::step::Oracle;
use crate::world::{AccountRecord, Tree, World};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::Nibbles;

/// Prover side: reads witnesses from the full state and records them into the proof.
pub(super) struct ProofWriter<'a> {
    pub(super) proof: StepProof,
    pub(super) state: &'a mut FullState,
    /// Memory words overwritten while proving, restored afterwards.
    pub(super) undo: Vec<(u64, B256)>,
    /// Tree leaves overwritten while proving, restored afterwards.
    pub(super) tree_undo: Vec<(Tree, B256, B256)>,
    /// The world swapped out by [`Oracle::world_restored`], swapped back afterwards.
    pub(super) swapped: Option<crate::world::WorldState>,
    /// Keep the step's writes (a boundary step whose post-state the prover needs).
    pub(super) apply: bool,
    /// Apply without a proof: leaves and roots are read from the full state, no path is
    /// checked or hashed (the proof returned lacks the trees' paths).
    pub(super) trusted: bool,
    /// With `trusted`, for a transaction start, skip or end whose post-state's commitment the
    /// prover leaves to be made later (if ever): the roots and the world record the step reads
    /// are stand-ins that hash no tree ([`crate::world::WorldState::record_unhashed`]), so
    /// the post-state's `world_root` is not the world's.
    pub(super) unhashed: bool,
    /// What an applying prover learnt.
    pub(super) applied: Applied,
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

    fn memory_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError> {
        let w = self.memory().prove_range(start, count);
        self.proof.memory.push(w.clone());
        Ok(w)
    }

    fn memory_written(&mut self, start: u64, words: &[B256]) {
        for (index, word) in (start..).zip(words) {
            let old = self.memory().set(index, *word);
            self.undo.push((index, old));
        }
    }

    fn calldata_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError> {
        let w = self.state.calldata.prove_range(start, count);
        self.proof.calldata.push(w.clone());
        Ok(w)
    }

    fn returndata_range(&mut self, start: u64, count: u64) -> Result<RangeProof, VerifyError> {
        let w = self.state.returndata.prove_range(start, count);
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
        let world = self.state.world.record();
        self.proof.world = Some(world);
        Ok(world)
    }

    fn smt(&mut self, tree: Tree, key: B256) -> Result<SmtProof, VerifyError> {
        let proof = self.state.world.tree(tree).prove(key);
        self.proof.trees.push(proof.clone());
        Ok(proof)
    }

    fn trusted_leaf(&mut self, tree: Tree, key: B256) -> Option<B256> {
        (self.trusted && self.apply).then(|| self.state.world.tree(tree).get(key))
    }

    fn trusted_world(&mut self) -> Option<World> {
        (self.trusted && self.apply).then(|| {
            if self.unhashed {
                self.state.world.record_unhashed()
            } else {
                self.state.world.record_without_sets()
            }
        })
    }

    fn trusted_returndata(&mut self, start: u64, count: u64) -> Option<Vec<B256>> {
        (self.trusted && self.apply).then(|| self.state.returndata.words(start, count))
    }

    fn trusted_transaction(&mut self, index: u64) -> Option<Vec<u8>> {
        if !(self.trusted && self.apply) {
            return None;
        }
        let txs = self.state.transactions.as_ref()?;
        let record = txs.records.get(usize::try_from(index).ok()?)?;
        Some(record.encoded.clone())
    }

    fn unhashed_calldata_root(&mut self) -> Option<B256> {
        (self.trusted && self.apply && self.unhashed).then_some(crate::smt::UNHASHED_ROOT)
    }

    fn trusted_root(&mut self, tree: Tree) -> Option<B256> {
        (self.trusted && self.apply).then(|| {
            let tree = self.state.world.tree(tree);
            if self.unhashed {
                tree.unhashed_root()
            } else {
                tree.root()
            }
        })
    }

    fn smt_written(&mut self, tree: Tree, key: B256, leaf: B256) {
        let old = self.state.world.tree_mut(tree).set(key, leaf);
        self.tree_undo.push((tree, key, old));
    }

    fn account_written(&mut self, record: &AccountRecord) {
        self.state.world.records.insert(record.leaf(), *record);
    }

    fn account_record(&mut self, leaf: B256) -> Result<AccountRecord, VerifyError> {
        let rec = self
            .state
            .world
            .records
            .get(&leaf)
            .ok_or(VerifyError::MissingWitness("account record"))?;
        self.proof.accounts.push(rec);
        Ok(rec)
    }

    fn slot_value(&mut self, leaf: B256) -> Result<U256, VerifyError> {
        let value = self
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

    fn sealing(&mut self) -> Result<SealingRecord, VerifyError> {
        let record = self.sealing_state()?.record.clone();
        self.proof.sealing = Some(record.clone());
        Ok(record)
    }

    fn fold_key(&mut self) -> Result<FoldKey, VerifyError> {
        let overlay = &self.state.world.accounts;
        let sealing = self
            .state
            .sealing
            .as_mut()
            .ok_or(VerifyError::MissingWitness("fold key"))?;
        // The smallest key still in the overlay; keys folded earlier leave the list here.
        while let Some((key, fold_key)) = sealing.pending.first_key_value() {
            if !overlay.get(*key).is_zero() {
                let fold_key = *fold_key;
                self.proof.fold_key = Some(fold_key);
                return Ok(fold_key);
            }
            sealing.pending.pop_first();
        }
        Err(VerifyError::MissingWitness("fold key"))
    }

    fn trie_witness(
        &mut self,
        root: B256,
        key: &Nibbles,
        deleting: bool,
    ) -> Result<TrieWrite, VerifyError> {
        let nodes = &self.sealing_state()?.nodes;
        let missing = |_| VerifyError::MissingWitness("trie node");
        let mut witness = TrieWrite {
            nodes: nodes.path(root, key).map_err(missing)?,
            sibling: None,
        };
        if deleting
            && let Err(crate::mpt_write::TrieError::MissingSibling(hash)) =
                crate::mpt_write::write(root, key, None, &witness)
        {
            witness.sibling = Some(nodes.node(hash).map_err(missing)?.clone());
        }
        self.proof.tries.push(witness.clone());
        Ok(witness)
    }

    fn receipt(&mut self, index: u64) -> Result<Receipt, VerifyError> {
        let receipt = usize::try_from(index)
            .ok()
            .and_then(|i| self.sealing_state().ok()?.receipts.get(i).cloned())
            .ok_or(VerifyError::MissingWitness("receipt"))?;
        self.proof.receipt = Some(receipt.clone());
        Ok(receipt)
    }

    fn slot_written(&mut self, value: U256) {
        self.state
            .world
            .values
            .insert(crate::world::slot_leaf(value), value);
    }

    fn overlay_key(&mut self, key: FoldKey) {
        self.state.world.keys.insert(key.key(), key);
    }

    fn trie_written(&mut self, created: &[Bytes]) {
        if let Some(sealing) = self.state.sealing.as_mut() {
            sealing.nodes.extend(created);
        }
    }

    fn sealing_written(&mut self, record: &SealingRecord) {
        self.applied.sealing = Some(record.clone());
    }

    fn world_written(&mut self, world: &World) {
        self.applied.world = Some(*world);
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
        let world = &self.state.world;
        let cp = if self.trusted && self.apply && self.unhashed {
            world.last_checkpoint_unhashed()
        } else {
            world.last_checkpoint()
        }
        .ok_or(VerifyError::MissingWitness("checkpoint"))?;
        self.proof.checkpoint = Some(cp);
        Ok(cp)
    }

    fn transaction(&mut self, index: u64) -> Result<(Vec<u8>, WordProof), VerifyError> {
        let txs = self
            .state
            .transactions
            .as_ref()
            .ok_or(VerifyError::MissingWitness("transaction"))?;
        let record = usize::try_from(index)
            .ok()
            .and_then(|i| txs.records.get(i))
            .map(|r| r.encoded.clone())
            .ok_or(VerifyError::MissingWitness("transaction"))?;
        let entry = (record, txs.prove(index));
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

    fn start_entries(&mut self, words: &[U256]) {
        self.applied.entries = Some(words.to_vec());
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
    /// The prover's block end.
    fn sealing_state(&mut self) -> Result<&mut crate::block::Sealing, VerifyError> {
        self.state
            .sealing
            .as_deref_mut()
            .ok_or(VerifyError::MissingWitness("sealing record"))
    }

    /// The memory a step accesses: the frame's own, or in a frame exit step the caller's.
    pub(super) fn memory(&mut self) -> &mut crate::merkle::WordTree {
        if self.state.record.status != crate::state::Status::Running
            && let Some(parent) = self.state.parent.as_mut()
        {
            return &mut parent.state.memory;
        }
        &mut self.state.memory
    }
}
