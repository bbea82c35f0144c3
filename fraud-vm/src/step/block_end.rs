//! The block end steps (SPEC.md §5.19): from the Idle state after the last transaction, the
//! overlay is folded into the state trie one key per step, smallest key first; then one step
//! per transaction inserts it and its receipt into the transactions and receipts tries; then
//! the header is sealed and hashed into the output root, and the block-end state repeats itself.

use super::{Oracle, Transition};
use crate::block::{
    FoldKey, MESSAGE_PASSER, SealingRecord, block_end_state, folded_key, folded_leaf, output_root,
    seal_header,
};
use crate::merkle::empty_root;
use crate::mpt_write::{self, TrieError, TrieWrite};
use crate::proof::VerifyError;
use crate::receipt::tx_type;
use crate::smt::SmtProof;
use crate::state::{BlockConstants, BlockEnv, MachineState, Rules, Status};
use crate::world::{AccountRecord, Tree, World, account_key, slot_leaf};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rlp::{Decodable, Encodable};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount};

/// The Sealing state the Idle state after the last transaction is followed by: the fold
/// starts from an empty sealing record; the world stays as it is (its `original_root`, which
/// only transactions read, keeps its last value through the block end).
pub(crate) fn begin(pre: &MachineState, block: &BlockEnv) -> Result<Transition, VerifyError> {
    if block.rules != Rules::Isthmus {
        return Err(VerifyError::Unsupported {
            what: "block end under Prague rules",
        });
    }
    Ok(Transition {
        post: MachineState {
            status: Status::Sealing,
            tx_index: 0,
            tx_env_hash: SealingRecord::default().hash(),
            ..pre.clone()
        },
        halt: None,
        entered: None,
    })
}

/// The block-end state: its own successor, with no witness.
pub(crate) fn repeat(pre: &MachineState, code: &[u8]) -> Result<Transition, VerifyError> {
    super::no_code(code)?;
    Ok(Transition {
        post: pre.clone(),
        halt: None,
        entered: None,
    })
}

/// A step from a Sealing state: fold while the overlay holds a key, then one transaction and
/// receipt per step, then the seal.
pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    super::no_code(code)?;
    let sealing = oracle.sealing()?;
    if sealing.hash() != pre.tx_env_hash {
        return Err(VerifyError::BadSealing);
    }
    // A trusted prover's own world needs no check (its per-transaction sets are empty).
    let world = super::world_of(oracle, pre.world_root)?;
    if !world.accounts_root.is_zero() {
        return fold(pre, sealing, world, oracle);
    }
    // [v0.6] Insertions go on until the inserted receipts' chain is the block's: the number
    // of receipts is not the list's length (skipped transactions have none).
    if sealing.receipts_cursor != pre.returndata_root {
        return insert(pre, sealing, oracle);
    }
    seal(pre, sealing, world, oracle)
}

/// The Sealing state after a step that left `sealing` and `world`.
fn sealing_state(pre: &MachineState, sealing: &SealingRecord, world: &World) -> MachineState {
    MachineState {
        tx_env_hash: sealing.hash(),
        world_root: world.commitment(),
        ..pre.clone()
    }
}

/// The path of `key` in `tree`, checked against `root`.
fn path(
    oracle: &mut dyn Oracle,
    tree: Tree,
    root: B256,
    key: B256,
) -> Result<SmtProof, VerifyError> {
    // A trusted prover's own tree gives the leaf with no path to make, check or hash (SPEC.md
    // §8, a layer-2 answer's run): `put` takes its root from the tree, and the fold key is the
    // prover's own leftmost one.
    if let Some(leaf) = oracle.trusted_leaf(tree, key) {
        return Ok(SmtProof {
            leaf,
            siblings: Vec::new(),
        });
    }
    let proof = oracle.smt(tree, key)?;
    if !proof.verifies(root, key) {
        return Err(VerifyError::BadTreeProof { tree });
    }
    Ok(proof)
}

/// The root of `proof`'s tree with `leaf` at `key`, telling the prover.
fn put(oracle: &mut dyn Oracle, tree: Tree, proof: &SmtProof, key: B256, leaf: B256) -> B256 {
    oracle.smt_written(tree, key, leaf);
    if let Some(root) = oracle.trusted_root(tree) {
        return root;
    }
    // A path that verified has all its siblings.
    proof.root_with(key, leaf).unwrap_or_default()
}

/// Whether `proof` is the path of the leftmost leaf: every sibling on its left is empty.
fn leftmost(proof: &SmtProof, key: B256) -> bool {
    proof.siblings.iter().enumerate().all(|(h, sibling)| {
        let right = (key[31 - h / 8] >> (h % 8)) & 1 == 1;
        !right || sibling.is_zero()
    })
}

/// Writes `value` (`None` deletes) at `key` of the trie under `root`, with the next trie
/// witness; returns the new root.
fn mpt_write(
    oracle: &mut dyn Oracle,
    root: B256,
    key: &Nibbles,
    value: Option<&[u8]>,
) -> Result<B256, VerifyError> {
    let witness = oracle.trie_witness(root, key, value.is_none())?;
    let (new_root, created) = mpt_write::write(root, key, value, &witness)?;
    oracle.trie_written(&created);
    Ok(new_root)
}

/// The account at `address` of the state trie under `root`, with the witness that also serves
/// writing it back (no sibling: it is not deleted).
fn trie_account(
    oracle: &mut dyn Oracle,
    root: B256,
    address: Address,
) -> Result<(Option<TrieAccount>, TrieWrite), VerifyError> {
    let key = Nibbles::unpack(keccak256(address));
    let witness = oracle.trie_witness(root, &key, false)?;
    if witness.sibling.is_some() {
        return Err(TrieError::BadSibling.into());
    }
    let account = match mpt_write::get(root, &key, &witness.nodes)? {
        None => None,
        Some(bytes) => {
            Some(TrieAccount::decode(&mut bytes.as_slice()).map_err(|_| TrieError::Malformed)?)
        }
    };
    Ok((account, witness))
}

/// `rlp(value)` as a storage trie holds it, or nothing for zero.
fn storage_value(value: U256) -> Option<Vec<u8>> {
    (!value.is_zero()).then(|| alloy::rlp::encode(value))
}

/// `rlp([nonce, balance, storageRoot, codeHash])`.
fn account_value(account: &TrieAccount) -> Vec<u8> {
    let mut out = Vec::new();
    account.encode(&mut out);
    out
}

/// One fold step: the overlay's smallest key leaves it for the state trie.
fn fold(
    pre: &MachineState,
    mut sealing: SealingRecord,
    mut world: World,
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    let fold_key = oracle.fold_key()?;
    let key = fold_key.key();
    let found = path(oracle, Tree::Accounts, world.accounts_root, key)?;
    if found.leaf.is_zero() || !leftmost(&found, key) {
        return Err(VerifyError::BadFoldKey);
    }
    world.accounts_root = put(oracle, Tree::Accounts, &found, key, B256::ZERO);
    match fold_key {
        FoldKey::Account(address) => {
            let record = oracle.account_record(found.leaf)?;
            if record.leaf() != found.leaf {
                return Err(VerifyError::BadAccountRecord);
            }
            let marker = folded_key(address);
            let folded = path(oracle, Tree::Folded, sealing.folded_root, marker)?;
            if !folded.leaf.is_zero() {
                return Err(VerifyError::BadFoldKey);
            }
            sealing.folded_root = put(
                oracle,
                Tree::Folded,
                &folded,
                marker,
                folded_leaf(record.incarnation),
            );
            // EIP-161: an empty account leaves the trie, with its storage.
            let value = (!record.is_empty()).then(|| {
                account_value(&TrieAccount {
                    nonce: record.nonce,
                    balance: record.balance,
                    storage_root: record.storage_root,
                    code_hash: record.code_hash,
                })
            });
            world.base_root = mpt_write(
                oracle,
                world.base_root,
                &Nibbles::unpack(keccak256(address)),
                value.as_deref(),
            )?;
        }
        FoldKey::Slot(address, incarnation, slot) => {
            let value = oracle.slot_value(found.leaf)?;
            if slot_leaf(value) != found.leaf {
                return Err(VerifyError::BadSlotValue);
            }
            let slot_path = Nibbles::unpack(keccak256(B256::from(slot)));
            let ak = account_key(address);
            let account = path(oracle, Tree::Accounts, world.accounts_root, ak)?;
            if !account.leaf.is_zero() {
                // The account is still in the overlay: its record takes the new storage root.
                let record = oracle.account_record(account.leaf)?;
                if record.leaf() != account.leaf {
                    return Err(VerifyError::BadAccountRecord);
                }
                if record.incarnation == incarnation {
                    let storage_root = mpt_write(
                        oracle,
                        record.storage_root,
                        &slot_path,
                        storage_value(value).as_deref(),
                    )?;
                    let record = AccountRecord {
                        storage_root,
                        ..record
                    };
                    oracle.account_written(&record);
                    world.accounts_root = put(oracle, Tree::Accounts, &account, ak, record.leaf());
                }
            } else {
                // The account is in the state trie: folded (with its incarnation) or untouched
                // (incarnation 0).
                let marker = folded_key(address);
                let folded = path(oracle, Tree::Folded, sealing.folded_root, marker)?;
                let current = if folded.leaf.is_zero() {
                    0
                } else {
                    let n = U256::from_be_bytes(folded.leaf.0) - U256::from(1);
                    u64::try_from(n).map_err(|_| VerifyError::BadFoldKey)?
                };
                if current == incarnation {
                    let (trie, witness) = trie_account(oracle, world.base_root, address)?;
                    // An account the fold deleted (EIP-161) keeps no storage.
                    if let Some(trie) = trie {
                        let storage_root = mpt_write(
                            oracle,
                            trie.storage_root,
                            &slot_path,
                            storage_value(value).as_deref(),
                        )?;
                        let updated = account_value(&TrieAccount {
                            storage_root,
                            ..trie
                        });
                        let (root, created) = mpt_write::write(
                            world.base_root,
                            &Nibbles::unpack(keccak256(address)),
                            Some(&updated),
                            &witness,
                        )?;
                        oracle.trie_written(&created);
                        world.base_root = root;
                    }
                }
            }
        }
    }
    oracle.sealing_written(&sealing);
    oracle.world_written(&world);
    Ok(Transition {
        post: sealing_state(pre, &sealing, &world),
        halt: None,
        entered: None,
    })
}

/// Receipt `tx_index` and its transaction into their tries at key `rlp(tx_index)`: the receipt
/// continues the receipt chain and names its transaction's index in the list [v0.6], whose word
/// the encoding must be (the seal's whole-chain check keeps the receipts, and so the indices,
/// those of the transaction steps).
fn insert(
    pre: &MachineState,
    mut sealing: SealingRecord,
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    let block = oracle.block_env()?;
    if block.hash() != pre.block_env_hash {
        return Err(VerifyError::BlockEnvMismatch);
    }
    let index = pre.tx_index;
    let receipt = oracle.receipt(index)?;
    let (encoding, position) = oracle.transaction(receipt.tx_index)?;
    if position.word != keccak256(&encoding)
        || !block.transactions.verifies(&position, receipt.tx_index)
    {
        return Err(VerifyError::BadTransaction);
    }
    let encoded_receipt = receipt
        .encode(tx_type(&encoding))
        .ok_or(VerifyError::BadReceipt)?;
    sealing.receipts_cursor = receipt.chain_after(sealing.receipts_cursor);
    let key = Nibbles::unpack(alloy::rlp::encode(index));
    sealing.transactions_root =
        mpt_write(oracle, sealing.transactions_root, &key, Some(&encoding))?;
    sealing.receipts_root = mpt_write(oracle, sealing.receipts_root, &key, Some(&encoded_receipt))?;
    sealing.bloom.accrue_bloom(&receipt.bloom());
    oracle.sealing_written(&sealing);
    Ok(Transition {
        post: MachineState {
            tx_index: index + 1,
            tx_env_hash: sealing.hash(),
            ..pre.clone()
        },
        halt: None,
        entered: None,
    })
}

/// The seal: the receipt chain is complete, the header is assembled and hashed, and the
/// block-end state holds the output root.
fn seal(
    pre: &MachineState,
    sealing: SealingRecord,
    world: World,
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    if sealing.receipts_cursor != pre.returndata_root {
        return Err(VerifyError::BadReceipt);
    }
    let block = oracle.block_env()?;
    if block.hash() != pre.block_env_hash {
        return Err(VerifyError::BlockEnvMismatch);
    }
    let constants: BlockConstants = super::constants(oracle, &block)?;
    let (passer, _) = trie_account(oracle, world.base_root, MESSAGE_PASSER)?;
    let passer_root = passer.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
    let header = seal_header(
        &block,
        &constants,
        world.base_root,
        sealing.transactions_root,
        sealing.receipts_root,
        sealing.bloom,
        pre.gas,
        passer_root,
    )
    .ok_or(VerifyError::Unsupported {
        what: "a block environment beyond the header's u64 fields",
    })?;
    let output = output_root(world.base_root, passer_root, header.hash_slow());
    let post = block_end_state(pre.block_number, output);
    debug_assert_eq!(post.memory_root, empty_root());
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}
