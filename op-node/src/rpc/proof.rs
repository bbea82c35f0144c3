//! eth_getProof: account and storage proofs. At the latest block they are read from the
//! stored trie nodes; at an earlier block within the state-history window (what withdrawal
//! proofs ask for: the block a proposal names) the tries of that block are rebuilt from the
//! flat state and the stored reverts, and the rebuilt roots are checked against the block's
//! header before any proof is returned.

use super::{
    RpcCtx,
    error::{RpcError, RpcResult},
    eth::{head_number, resolve_block_id},
    state::StateView,
};
use crate::storage::{AccountRecord, StoreReader};
use alloy::{
    primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256},
    rlp,
    rpc::types::{
        BlockId, EIP1186AccountProofResponse, EIP1186StorageProof, serde_helpers::JsonStorageKey,
    },
};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount, proof::ProofRetainer};
use std::collections::BTreeMap;

/// Most accounts a historical account proof rebuilds the state trie from.
const MAX_REBUILT_ACCOUNTS: usize = 200_000;

/// eth_getProof
pub fn proof(
    ctx: &RpcCtx,
    address: Address,
    keys: Vec<JsonStorageKey>,
    id: Option<BlockId>,
) -> RpcResult<EIP1186AccountProofResponse> {
    let reader = ctx.store.reader()?;
    let head = head_number(&reader)?;
    let number = match id {
        None => head,
        Some(id) => resolve_block_id(&reader, id)?
            .ok_or_else(|| RpcError::Unavailable("header not found".into()))?,
    };
    if number == head {
        latest_proof(&reader, head, address, keys)
    } else {
        historical_proof(ctx, &reader, number, head, address, keys)
    }
}

fn latest_proof(
    reader: &StoreReader,
    head: u64,
    address: Address,
    keys: Vec<JsonStorageKey>,
) -> RpcResult<EIP1186AccountProofResponse> {
    let (_, header) = reader
        .header(head)?
        .ok_or_else(|| RpcError::Unavailable("header not found".into()))?;
    let account = reader.account(&address)?;
    let hashed = keccak256(address);
    let trie_err = |e: crate::trie::TrieError| RpcError::Internal(e.to_string());
    let account_proof =
        crate::trie::proof_from_source(header.state_root, &hashed, &reader.account_trie()?)
            .map_err(trie_err)?;
    let storage_root = account.map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH);
    let storage_nodes = reader.storage_trie(hashed)?;
    let mut storage_proof = Vec::with_capacity(keys.len());
    for key in keys {
        let value = reader.storage(&address, &key.as_b256().into())?;
        let proof =
            crate::trie::proof_from_source(storage_root, &keccak256(key.as_b256()), &storage_nodes)
                .map_err(trie_err)?;
        storage_proof.push(EIP1186StorageProof { key, value, proof });
    }
    Ok(response(address, account, account_proof, storage_proof))
}

fn response(
    address: Address,
    account: Option<AccountRecord>,
    account_proof: Vec<Bytes>,
    storage_proof: Vec<EIP1186StorageProof>,
) -> EIP1186AccountProofResponse {
    EIP1186AccountProofResponse {
        address,
        balance: account.map(|a| a.balance).unwrap_or_default(),
        code_hash: account.map(|a| a.code_hash).unwrap_or(KECCAK256_EMPTY),
        nonce: account.map(|a| a.nonce).unwrap_or_default(),
        storage_hash: account.map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH),
        account_proof,
        storage_proof,
    }
}

fn historical_proof(
    ctx: &RpcCtx,
    reader: &StoreReader,
    number: u64,
    head: u64,
    address: Address,
    keys: Vec<JsonStorageKey>,
) -> RpcResult<EIP1186AccountProofResponse> {
    let state = StateView::at(reader, number, head, ctx.limits.max_state_history)?;
    let (_, header) = reader
        .header(number)?
        .ok_or_else(|| RpcError::Unavailable("header not found".into()))?;
    let account = state.account(&address)?;

    // The account's storage at `number`: today's slots with the reverts laid over them.
    let mut slots: BTreeMap<B256, U256> = BTreeMap::new();
    if account.is_some() {
        slots.extend(reader.hashed_storage(&address)?);
        for (slot, value) in state.storage_overrides(address) {
            let key = keccak256(B256::from(slot));
            if value.is_zero() {
                slots.remove(&key);
            } else {
                slots.insert(key, value);
            }
        }
    }
    let storage_leaves = slots.into_iter().map(|(k, v)| (k, rlp::encode(v)));
    let targets: Vec<B256> = keys.iter().map(|k| keccak256(k.as_b256())).collect();
    let (storage_root, mut storage_proofs) = build(storage_leaves, &targets);
    let expected_storage_root = account.map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH);
    if storage_root != expected_storage_root {
        return Err(RpcError::Internal(format!(
            "rebuilt storage root {storage_root} of {address} at block {number} does not match {expected_storage_root}"
        )));
    }

    // The state trie at `number`: every account today, with the reverts laid over them.
    let mut accounts: BTreeMap<B256, AccountRecord> = BTreeMap::new();
    let today = reader.hashed_accounts(MAX_REBUILT_ACCOUNTS)?.ok_or_else(|| {
        RpcError::Limit(format!(
            "historical account proofs rebuild the state trie and are limited to {MAX_REBUILT_ACCOUNTS} accounts"
        ))
    })?;
    accounts.extend(today);
    for (a, record) in state.account_overrides() {
        match record {
            Some(record) => accounts.insert(keccak256(a), *record),
            None => accounts.remove(&keccak256(a)),
        };
    }
    let account_leaves = accounts.into_iter().map(|(k, r)| {
        let leaf = TrieAccount {
            nonce: r.nonce,
            balance: r.balance,
            storage_root: r.storage_root,
            code_hash: r.code_hash,
        };
        (k, rlp::encode(leaf))
    });
    let (state_root, mut account_proofs) = build(account_leaves, &[keccak256(address)]);
    if state_root != header.state_root {
        return Err(RpcError::Internal(format!(
            "rebuilt state root {state_root} at block {number} does not match the header's {}",
            header.state_root
        )));
    }

    let mut storage_proof = Vec::with_capacity(keys.len());
    for (key, target) in keys.into_iter().zip(&targets) {
        let value = state.storage(&address, &key.as_b256().into())?;
        let proof = storage_proofs.remove(target).unwrap_or_default();
        storage_proof.push(EIP1186StorageProof { key, value, proof });
    }
    let account_proof = account_proofs
        .remove(&keccak256(address))
        .unwrap_or_default();
    Ok(response(address, account, account_proof, storage_proof))
}

/// Builds a trie from sorted `(key, value)` leaves and returns its root and, for each target,
/// its proof as eth_getProof gives it: the nodes from the root down, without the nodes small
/// enough to be embedded in their parent.
fn build(
    leaves: impl Iterator<Item = (B256, Vec<u8>)>,
    targets: &[B256],
) -> (B256, BTreeMap<B256, Vec<Bytes>>) {
    let nibbles: Vec<Nibbles> = targets.iter().map(Nibbles::unpack).collect();
    let mut builder =
        HashBuilder::default().with_proof_retainer(ProofRetainer::new(nibbles.clone()));
    let mut any = false;
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), &value);
        any = true;
    }
    if !any {
        return (
            EMPTY_ROOT_HASH,
            targets.iter().map(|t| (*t, Vec::new())).collect(),
        );
    }
    let root = builder.root();
    let nodes = builder.take_proof_nodes();
    let proofs = targets
        .iter()
        .zip(&nibbles)
        .map(|(target, path)| {
            let proof = nodes
                .matching_nodes_sorted(path)
                .into_iter()
                .enumerate()
                .filter(|(i, (_, node))| *i == 0 || node.len() >= 32)
                .map(|(_, (_, node))| node)
                .collect();
            (*target, proof)
        })
        .collect();
    (root, proofs)
}
