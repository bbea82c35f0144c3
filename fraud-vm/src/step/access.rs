//! World-state access shared by the world-reading step families (SPEC.md §3.7): the world record,
//! overlay reads with their fallback to the base state trie, overlay writes, the warm, transient
//! and created sets. Every witness is checked against the current root before it is used, and
//! every write moves that root, so witnesses taken later in the same step are paths in the
//! updated tree.

use super::{Ctx, StepResult};
use crate::block::FoldKey;
use crate::mpt::{account_verifies, slot_verifies};
use crate::proof::VerifyError;
use crate::world::{
    AccountRecord, MEMBER, Tree, World, account_key, created_key, is_precompile, slot_key,
    slot_leaf, transient_key, warm_account_key, warm_slot_key,
};
use alloy::primitives::{Address, B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};

impl Ctx<'_> {
    /// The world record, checked against the pre-state on first use.
    pub fn world(&mut self) -> StepResult<&mut World> {
        if self.world.is_none() {
            let world = self.oracle.world()?;
            if world.commitment() != self.pre.world_root {
                return Err(VerifyError::WorldMismatch.into());
            }
            self.world = Some(world);
        }
        Ok(self.world.get_or_insert_with(World::default))
    }

    fn root_of(&mut self, tree: Tree) -> StepResult<B256> {
        let w = self.world()?;
        Ok(match tree {
            Tree::Accounts => w.accounts_root,
            Tree::Original => w.original_root,
            Tree::Transient => w.transient_root,
            Tree::Accessed => w.accessed_root,
            Tree::Created => w.created_root,
            Tree::Folded => return Err(VerifyError::BadTreeProof { tree }.into()),
        })
    }

    fn set_root(&mut self, tree: Tree, root: B256) -> StepResult<()> {
        let w = self.world()?;
        match tree {
            Tree::Accounts => w.accounts_root = root,
            Tree::Original => w.original_root = root,
            Tree::Transient => w.transient_root = root,
            Tree::Accessed => w.accessed_root = root,
            Tree::Created => w.created_root = root,
            Tree::Folded => return Err(VerifyError::BadTreeProof { tree }.into()),
        }
        Ok(())
    }

    /// The leaf at `key` of `tree`, witnessed (read from a trusted prover's full state, which
    /// also gives the root after a write, without one: [`super::Oracle::trusted_leaf`]).
    fn lookup(&mut self, tree: Tree, key: B256) -> StepResult<B256> {
        let root = self.root_of(tree)?;
        if let Some(leaf) = self.oracle.trusted_leaf(tree, key) {
            return Ok(leaf);
        }
        let proof = self.oracle.smt(tree, key)?;
        if !proof.verifies(root, key) {
            return Err(VerifyError::BadTreeProof { tree }.into());
        }
        Ok(proof.leaf)
    }

    /// Writes `leaf` at `key` of `tree`; the witness shows the old leaf in the current root.
    fn update(&mut self, tree: Tree, key: B256, leaf: B256) -> StepResult<()> {
        let root = self.root_of(tree)?;
        if self.oracle.trusted_leaf(tree, key).is_some() {
            self.oracle.smt_written(tree, key, leaf);
            let root = self
                .oracle
                .trusted_root(tree)
                .ok_or(VerifyError::BadTreeProof { tree })?;
            return self.set_root(tree, root);
        }
        let proof = self.oracle.smt(tree, key)?;
        if !proof.verifies(root, key) {
            return Err(VerifyError::BadTreeProof { tree }.into());
        }
        let new_root = proof
            .root_with(key, leaf)
            .ok_or(VerifyError::BadTreeProof { tree })?;
        self.set_root(tree, new_root)?;
        self.oracle.smt_written(tree, key, leaf);
        Ok(())
    }

    /// Looks up a set member and adds it if absent, with one witness. Returns whether it was
    /// absent.
    fn insert_member(&mut self, tree: Tree, key: B256) -> StepResult<bool> {
        let root = self.root_of(tree)?;
        if let Some(leaf) = self.oracle.trusted_leaf(tree, key) {
            if !leaf.is_zero() {
                return Ok(false);
            }
            self.oracle.smt_written(tree, key, MEMBER);
            let root = self
                .oracle
                .trusted_root(tree)
                .ok_or(VerifyError::BadTreeProof { tree })?;
            self.set_root(tree, root)?;
            return Ok(true);
        }
        let proof = self.oracle.smt(tree, key)?;
        if !proof.verifies(root, key) {
            return Err(VerifyError::BadTreeProof { tree }.into());
        }
        if !proof.leaf.is_zero() {
            return Ok(false);
        }
        let new_root = proof
            .root_with(key, MEMBER)
            .ok_or(VerifyError::BadTreeProof { tree })?;
        self.set_root(tree, new_root)?;
        self.oracle.smt_written(tree, key, MEMBER);
        Ok(true)
    }

    /// Marks `address` warm, returning whether it was cold. One witness does both.
    pub fn touch_account(&mut self, address: Address) -> StepResult<bool> {
        if is_precompile(address) {
            return Ok(false);
        }
        self.insert_member(Tree::Accessed, warm_account_key(address))
    }

    /// Marks a slot of the executing account warm, returning whether it was cold.
    pub fn touch_slot(&mut self, slot: U256) -> StepResult<bool> {
        self.touch_slot_of(self.pre.address, slot)
    }

    /// Marks slot `slot` of `address` warm, returning whether it was cold.
    pub fn touch_slot_of(&mut self, address: Address, slot: U256) -> StepResult<bool> {
        self.insert_member(Tree::Accessed, warm_slot_key(address, slot))
    }

    /// The account at `address`: its overlay record, else the base account, else empty.
    pub fn account(&mut self, address: Address) -> StepResult<AccountRecord> {
        let leaf = self.lookup(Tree::Accounts, account_key(address))?;
        if !leaf.is_zero() {
            let rec = self.oracle.account_record(leaf)?;
            if rec.leaf() != leaf {
                return Err(VerifyError::BadAccountRecord.into());
            }
            return Ok(rec);
        }
        let base_root = self.world()?.base_root;
        let witness = self.oracle.base_account(address)?;
        if !account_verifies(base_root, address, &witness) {
            return Err(VerifyError::BadBaseProof.into());
        }
        Ok(witness
            .account
            .map_or_else(AccountRecord::default, |a| AccountRecord {
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.code_hash,
                storage_root: a.storage_root,
                incarnation: 0,
            }))
    }

    /// Writes the account record of `address`.
    pub fn set_account(&mut self, address: Address, rec: &AccountRecord) -> StepResult<()> {
        self.oracle.account_written(rec);
        self.oracle.overlay_key(FoldKey::Account(address));
        self.update(Tree::Accounts, account_key(address), rec.leaf())
    }

    /// The value of `slot` of the account `rec` at `address` in the overlay `tree` (current or
    /// original), `None` when the overlay does not hold it.
    pub fn overlay_slot(
        &mut self,
        tree: Tree,
        address: Address,
        rec: &AccountRecord,
        slot: U256,
    ) -> StepResult<Option<U256>> {
        let leaf = self.lookup(tree, slot_key(address, rec.incarnation, slot))?;
        if leaf.is_zero() {
            return Ok(None);
        }
        let value = self.oracle.slot_value(leaf)?;
        if slot_leaf(value) != leaf {
            return Err(VerifyError::BadSlotValue.into());
        }
        Ok(Some(value))
    }

    /// The value of `slot` in the account's base storage trie (`rec.storage_root`); no witness
    /// when that trie is empty.
    pub fn base_slot(
        &mut self,
        address: Address,
        rec: &AccountRecord,
        slot: U256,
    ) -> StepResult<U256> {
        if rec.storage_root == EMPTY_ROOT_HASH {
            return Ok(U256::ZERO);
        }
        let witness = self.oracle.base_slot(address, slot)?;
        if !slot_verifies(rec.storage_root, slot, &witness) {
            return Err(VerifyError::BadBaseProof.into());
        }
        Ok(witness.value)
    }

    /// Writes `slot` of the account `rec` at `address`.
    pub fn set_slot(
        &mut self,
        address: Address,
        rec: &AccountRecord,
        slot: U256,
        value: U256,
    ) -> StepResult<()> {
        self.oracle
            .overlay_key(FoldKey::Slot(address, rec.incarnation, slot));
        self.oracle.slot_written(value);
        self.update(
            Tree::Accounts,
            slot_key(address, rec.incarnation, slot),
            slot_leaf(value),
        )
    }

    /// Transient storage of the executing account.
    pub fn tload(&mut self, slot: U256) -> StepResult<U256> {
        let leaf = self.lookup(Tree::Transient, transient_key(self.pre.address, slot))?;
        Ok(U256::from_be_bytes(leaf.0))
    }

    /// Writes transient storage of the executing account (zero removes the leaf).
    pub fn tstore(&mut self, slot: U256, value: U256) -> StepResult<()> {
        self.update(
            Tree::Transient,
            transient_key(self.pre.address, slot),
            B256::from(value),
        )
    }

    /// Adds `address` to the created set (EIP-6780).
    pub fn mark_created(&mut self, address: Address) -> StepResult<()> {
        self.insert_member(Tree::Created, created_key(address))?;
        Ok(())
    }

    /// Whether `address` was created in the current transaction.
    pub fn is_created(&mut self, address: Address) -> StepResult<bool> {
        Ok(!self.lookup(Tree::Created, created_key(address))?.is_zero())
    }

    /// The code with hash `hash`, checked.
    pub fn code_of(&mut self, hash: B256) -> StepResult<Vec<u8>> {
        if hash == KECCAK_EMPTY {
            return Ok(Vec::new());
        }
        let code = self.oracle.code(hash)?;
        // A block's re-runs read the same codes again and again: their hashes are kept.
        if crate::memo::code_hash(&code) != hash {
            return Err(VerifyError::BadCode.into());
        }
        Ok(code)
    }
}
