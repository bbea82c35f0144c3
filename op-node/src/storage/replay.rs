//! Bringing a state file that lags the chain file forward at open: after a crash, the blocks
//! committed to the chain file but not yet applied; after the state file was lost, every block
//! from genesis. Their stored [`StateChanges`] are merged, the trie nodes are recomputed from
//! them, and the result must give the head header's state root (and every changed account the
//! storage root its record claims) before it is written.

use super::{
    StorageError,
    apply::{self, applied},
    codec::{self, StateChanges, corrupt},
    overlay::{SlotWrites, StateWrites, StorageTrieWrites},
    reader::TrieNodes,
    tables::{ACCOUNTS, BODIES, CHANGES, HEAD_KEY, HEADERS, META},
};
use crate::trie::SparseTrie;
use alloy::{
    primitives::{B256, Bytes, keccak256, map::AddressMap},
    rlp,
};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use redb::{Database, ReadableDatabase};
use std::{path::Path, time::Instant};
use tracing::info;

/// Checks that the state file holds the state of a block of the chain file, and writes the
/// state of the blocks after it up to the chain's head.
pub(crate) fn recover(
    chain: &Database,
    state: &Database,
    chain_path: &Path,
    state_path: &Path,
) -> Result<(), StorageError> {
    let chain_read = chain.begin_read()?;
    let head = chain_read
        .open_table(META)?
        .get(HEAD_KEY)?
        .map(|v| v.value());
    let state_read = state.begin_read()?;
    let applied = applied(&state_read)?;
    let mismatch = |reason: String| StorageError::Mismatch {
        chain: chain_path.to_path_buf(),
        state: state_path.to_path_buf(),
        reason,
    };
    let hash_at = |number: u64| -> Result<Option<B256>, StorageError> {
        match chain_read.open_table(HEADERS)?.get(number)? {
            Some(v) => Ok(Some(codec::decode_header(v.value())?.0)),
            None => Ok(None),
        }
    };
    let from = match (applied, head) {
        (None, None) => return Ok(()),
        (Some((number, _)), None) => {
            return Err(mismatch(format!(
                "the state file holds block {number}'s state, the chain file has no blocks"
            )));
        }
        (Some((number, hash)), Some(head)) => {
            if number > head || hash_at(number)? != Some(hash) {
                return Err(mismatch(format!(
                    "the state file holds the state of block {number} ({hash}), which is not a \
                     block of the chain file (head {head})"
                )));
            }
            if number == head {
                return Ok(());
            }
            number + 1
        }
        (None, Some(_)) => 0,
    };
    let head = head.expect("a head when blocks are to be replayed");
    let started = Instant::now();
    let base_root = match from {
        0 => EMPTY_ROOT_HASH,
        n => header(&chain_read, n - 1)?.state_root,
    };
    let (head_hash, head_header) = codec::decode_header(
        chain_read
            .open_table(HEADERS)?
            .get(head)?
            .ok_or_else(|| corrupt("headers", format!("block {head} is missing")))?
            .value(),
    )?;

    let mut merged = StateWrites::from_block(head, head_hash, Default::default(), &[]);
    merged.first = from;
    let changes_table = chain_read.open_table(CHANGES)?;
    let bodies = chain_read.open_table(BODIES)?;
    for number in from..=head {
        let changes = changes_table
            .get(number)?
            .ok_or_else(|| corrupt("changes", format!("block {number} has no state changes")))?;
        merge_changes(&mut merged, codec::decode_changes(changes.value())?);
        if let Some(body) = bodies.get(number)? {
            let txs: Vec<Bytes> = alloy::rlp::decode_exact(body.value())
                .map_err(|e| corrupt("bodies", e.to_string()))?;
            merged.tx_index.extend(
                txs.iter()
                    .enumerate()
                    .map(|(i, tx)| (keccak256(tx), number, i as u32)),
            );
        }
    }
    merged.tx_index.sort_unstable_by_key(|(hash, _, _)| *hash);
    drop((changes_table, bodies));

    // The tries: the state file's nodes (as of `from - 1`) with the merged changes applied.
    let account_nodes = TrieNodes::accounts(&state_read)?;
    let mut accounts = SparseTrie::from_root(base_root);
    let stored_accounts = state_read.open_table(ACCOUNTS)?;
    let mut addresses: Vec<_> = merged.accounts.keys().copied().collect();
    addresses.sort_unstable();
    let trie_error = |e: crate::trie::TrieError| corrupt("trie", e.to_string());
    for address in addresses {
        let (hashed, record) = merged.accounts[&address];
        let Some(record) = record else {
            accounts
                .remove(&hashed, &account_nodes)
                .map_err(trie_error)?;
            merged.storage_tries.insert(
                hashed,
                StorageTrieWrites {
                    wiped: true,
                    updates: Default::default(),
                },
            );
            continue;
        };
        if let Some(writes) = merged.storage.get(&address) {
            let mut trie = if writes.wiped {
                SparseTrie::empty()
            } else {
                let previous = match stored_accounts.get(&hashed.0)? {
                    Some(v) => codec::AccountRecord::decode(v.value())?.storage_root,
                    None => EMPTY_ROOT_HASH,
                };
                SparseTrie::from_root(previous)
            };
            let nodes = TrieNodes::storage(&state_read, hashed)?;
            let mut slots: Vec<_> = writes.slots.values().collect();
            slots.sort_unstable();
            for (key, value) in slots {
                if value.is_zero() {
                    trie.remove(key, &nodes).map_err(trie_error)?;
                } else {
                    trie.insert(key, Bytes::from(rlp::encode(value)), &nodes)
                        .map_err(trie_error)?;
                }
            }
            let root = trie.root();
            if root != record.storage_root {
                return Err(corrupt(
                    "changes",
                    format!(
                        "replaying blocks {from}..={head} gives {address} storage root {root}, \
                         its record says {}",
                        record.storage_root
                    ),
                ));
            }
            merged.storage_tries.insert(
                hashed,
                StorageTrieWrites {
                    wiped: writes.wiped,
                    updates: trie.take_updates(),
                },
            );
        }
        let leaf = TrieAccount {
            nonce: record.nonce,
            balance: record.balance,
            storage_root: record.storage_root,
            code_hash: record.code_hash,
        };
        accounts
            .insert(&hashed, Bytes::from(rlp::encode(leaf)), &account_nodes)
            .map_err(trie_error)?;
    }
    let root = accounts.root();
    if root != head_header.state_root {
        return Err(corrupt(
            "changes",
            format!(
                "replaying blocks {from}..={head} gives state root {root}, block {head}'s header \
                 says {}",
                head_header.state_root
            ),
        ));
    }
    merged.account_trie = accounts.take_updates();
    drop((account_nodes, stored_accounts, state_read, chain_read));
    apply::write_batch(state, &merged, apply::Writers::One)?;
    info!(
        target: "storage",
        from,
        to = head,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "brought the state file forward from the chain file's state changes"
    );
    Ok(())
}

fn header(
    read: &redb::ReadTransaction,
    number: u64,
) -> Result<alloy::consensus::Header, StorageError> {
    let table = read.open_table(HEADERS)?;
    let value = table
        .get(number)?
        .ok_or_else(|| corrupt("headers", format!("block {number} is missing")))?;
    Ok(codec::decode_header(value.value())?.1)
}

/// Adds one block's changes to `merged`, later blocks winning.
fn merge_changes(merged: &mut StateWrites, changes: StateChanges) {
    merged.accounts.extend(
        changes
            .accounts
            .into_iter()
            .map(|(address, record)| (address, (keccak256(address), record))),
    );
    let mut by_account: AddressMap<SlotWrites> = AddressMap::default();
    for address in changes.wiped_storage {
        by_account.entry(address).or_default().wiped = true;
    }
    for (address, slot, value) in changes.storage {
        by_account
            .entry(address)
            .or_default()
            .slots
            .insert(slot, (keccak256(B256::from(slot)), value));
    }
    for (address, writes) in by_account {
        let entry = merged.storage.entry(address).or_default();
        if writes.wiped {
            entry.wiped = true;
            entry.slots.clear();
        }
        entry.slots.extend(writes.slots);
    }
    merged.code.extend(changes.code);
}
