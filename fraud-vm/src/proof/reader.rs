//! The verifier's witness source: hands out a proof's witnesses in the order the step consumes
//! them and checks that every one was used (SPEC.md §6.1).

use super::StepProof;
use crate::block::{FoldKey, SealingRecord};
use crate::frame::{Checkpoint, FrameLink};
use crate::merkle::{RangeProof, WordProof};
use crate::mpt::{MptAccount, MptSlot};
use crate::mpt_write::TrieWrite;
use crate::proof::VerifyError;
use crate::receipt::Receipt;
use crate::smt::SmtProof;
use crate::state::{BlockConstants, BlockEnv, TxEnv};
use crate::step::Oracle;
use crate::world::{AccountRecord, Tree, World};
use alloy::primitives::{Address, B256, U256};
use alloy_trie::Nibbles;

/// Counts of the witnesses consumed so far, per kind.
#[derive(Default)]
pub(super) struct Used {
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
    sealing: bool,
    fold_key: bool,
    tries: usize,
    receipt: bool,
}

/// Verifier side: hands out the proof's witnesses in order and checks all were used.
pub(super) struct ProofReader<'a> {
    pub(super) proof: &'a StepProof,
    pub(super) used: Used,
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
    pub(super) fn check_all_used(&self) -> Result<(), VerifyError> {
        let p = self.proof;
        let u = &self.used;
        let checks: [(bool, &'static str); 23] = [
            (u.stack == p.stack.len(), "stack item"),
            (u.stack_rest == p.stack_rest.is_some(), "stack rest"),
            (u.memory == p.memory.len(), "memory range"),
            (u.calldata == p.calldata.len(), "calldata range"),
            (u.returndata == p.returndata.len(), "return data range"),
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
            (u.sealing == p.sealing.is_some(), "sealing record"),
            (u.fold_key == p.fold_key.is_some(), "fold key"),
            (u.tries == p.tries.len(), "trie witness"),
            (u.receipt == p.receipt.is_some(), "receipt"),
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

    fn memory_range(&mut self, _start: u64, _count: u64) -> Result<RangeProof, VerifyError> {
        next(&self.proof.memory, &mut self.used.memory, "memory range")
    }

    fn memory_written(&mut self, _start: u64, _words: &[B256]) {}

    fn calldata_range(&mut self, _start: u64, _count: u64) -> Result<RangeProof, VerifyError> {
        next(
            &self.proof.calldata,
            &mut self.used.calldata,
            "calldata range",
        )
    }

    fn returndata_range(&mut self, _start: u64, _count: u64) -> Result<RangeProof, VerifyError> {
        next(
            &self.proof.returndata,
            &mut self.used.returndata,
            "return data range",
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

    fn sealing(&mut self) -> Result<SealingRecord, VerifyError> {
        self.used.sealing = true;
        self.proof
            .sealing
            .clone()
            .ok_or(VerifyError::MissingWitness("sealing record"))
    }

    fn fold_key(&mut self) -> Result<FoldKey, VerifyError> {
        self.used.fold_key = true;
        self.proof
            .fold_key
            .ok_or(VerifyError::MissingWitness("fold key"))
    }

    fn trie_witness(
        &mut self,
        _root: B256,
        _key: &Nibbles,
        _deleting: bool,
    ) -> Result<TrieWrite, VerifyError> {
        next(&self.proof.tries, &mut self.used.tries, "trie witness")
    }

    fn receipt(&mut self, _index: u64) -> Result<Receipt, VerifyError> {
        self.used.receipt = true;
        self.proof
            .receipt
            .clone()
            .ok_or(VerifyError::MissingWitness("receipt"))
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

    fn transaction(&mut self, _index: u64) -> Result<(Vec<u8>, WordProof), VerifyError> {
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
