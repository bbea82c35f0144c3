//! Reads from one consistent snapshot of the chain: a snapshot of the chain file, a snapshot of
//! the state file, and the state writes of the blocks between the two (the state file may hold
//! an older block's state than the chain file's head; those writes bring it to the head).

use super::{
    StorageError,
    codec::{self, AccountRecord, corrupt},
    overlay::Layers,
    tables::{
        ACCOUNT_TRIE, ACCOUNTS, BLOCK_NUMBERS, BODIES, CODE, HEAD_KEY, HEADERS, META, RECEIPTS,
        SENDERS, STORAGE, STORAGE_TRIE, STORED_TRIE_DEPTH,
    },
};
use crate::{
    block::{RecoveredTx, SealedBlock},
    trie::{NodeSource, TrieError},
};
use alloy::{
    consensus::Header,
    eips::eip2718::Decodable2718,
    primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap},
    rlp,
};
use alloy_trie::Nibbles;
use op_alloy::consensus::OpReceiptEnvelope;
use parking_lot::Mutex;
use redb::{ReadTransaction, ReadableTable};
use std::sync::Arc;

/// A read-only view of the chain as of one block. Cheap to open; hold it only as long as one
/// request or one block needs it, since it pins the pages of its snapshots.
pub struct StoreReader {
    /// The chain file.
    tx: ReadTransaction,
    /// The state file.
    state: ReadTransaction,
    /// State writes of the blocks after the state file's and up to the chain file's head,
    /// oldest first.
    layers: Layers,
}

impl std::fmt::Debug for StoreReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReader").finish_non_exhaustive()
    }
}

impl StoreReader {
    pub(super) fn new(tx: ReadTransaction, state: ReadTransaction, layers: Layers) -> Self {
        Self { tx, state, layers }
    }

    /// Number of the last sealed block, `None` before genesis is written.
    pub fn head_number(&self) -> Result<Option<u64>, StorageError> {
        Ok(self.tx.open_table(META)?.get(HEAD_KEY)?.map(|v| v.value()))
    }

    /// A number kept in the meta table.
    fn meta(&self, key: &str) -> Result<Option<u64>, StorageError> {
        Ok(self.tx.open_table(META)?.get(key)?.map(|v| v.value()))
    }

    /// The safe head (the last block derived from L1), if derivation has recorded one.
    pub fn safe_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::tables::SAFE_KEY)
    }

    /// The finalized head (derived from finalized L1), if recorded.
    pub fn finalized_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::tables::FINALIZED_KEY)
    }

    /// The newest L1 block derivation has seen, if recorded.
    pub fn l1_head_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::tables::L1_HEAD_KEY)
    }

    /// The L1's finalized block as derivation last saw it, if recorded.
    pub fn l1_finalized_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::tables::L1_FINALIZED_KEY)
    }

    /// Header and hash of block `number`.
    pub fn header(&self, number: u64) -> Result<Option<(B256, Header)>, StorageError> {
        match self.tx.open_table(HEADERS)?.get(number)? {
            Some(v) => Ok(Some(codec::decode_header(v.value())?)),
            None => Ok(None),
        }
    }

    /// Number of the block with this hash.
    pub fn block_number(&self, hash: &B256) -> Result<Option<u64>, StorageError> {
        Ok(self
            .tx
            .open_table(BLOCK_NUMBERS)?
            .get(&hash.0)?
            .map(|v| v.value()))
    }

    /// Transactions of block `number`, with their senders.
    pub fn transactions(&self, number: u64) -> Result<Vec<RecoveredTx>, StorageError> {
        let Some(body) = self.tx.open_table(BODIES)?.get(number)? else {
            return Ok(Vec::new());
        };
        let encoded: Vec<Bytes> =
            alloy::rlp::decode_exact(body.value()).map_err(|e| corrupt("bodies", e.to_string()))?;
        let senders = self
            .tx
            .open_table(SENDERS)?
            .get(number)?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        if senders.len() != encoded.len() * 20 {
            return Err(corrupt(
                "senders",
                format!("block {number}: sender count mismatch"),
            ));
        }
        encoded
            .into_iter()
            .zip(senders.chunks_exact(20))
            .map(|(bytes, sender)| {
                RecoveredTx::decode_with_sender(bytes, Address::from_slice(sender))
                    .map_err(|e| corrupt("bodies", e.to_string()))
            })
            .collect()
    }

    /// Receipts of block `number`.
    pub fn receipts(&self, number: u64) -> Result<Vec<OpReceiptEnvelope>, StorageError> {
        let Some(raw) = self.tx.open_table(RECEIPTS)?.get(number)? else {
            return Ok(Vec::new());
        };
        let encoded: Vec<Bytes> = alloy::rlp::decode_exact(raw.value())
            .map_err(|e| corrupt("receipts", e.to_string()))?;
        encoded
            .iter()
            .map(|b| {
                OpReceiptEnvelope::decode_2718_exact(b)
                    .map_err(|e| corrupt("receipts", e.to_string()))
            })
            .collect()
    }

    /// The whole block `number`.
    pub fn block(&self, number: u64) -> Result<Option<SealedBlock>, StorageError> {
        let Some((hash, header)) = self.header(number)? else {
            return Ok(None);
        };
        let txs = self
            .transactions(number)?
            .into_iter()
            .map(Arc::new)
            .collect();
        let receipts = self.receipts(number)?;
        Ok(Some(SealedBlock {
            header,
            hash,
            txs,
            receipts,
        }))
    }

    /// Where a transaction was included: (block number, index).
    pub fn transaction_location(&self, hash: &B256) -> Result<Option<(u64, u32)>, StorageError> {
        if let Some(found) = self.layers.find(|l| l.tx_location(hash)) {
            return Ok(Some(found));
        }
        super::tx_runs::find(&self.state, hash)
    }

    /// The account at `address` in the latest state.
    pub fn account(&self, address: &Address) -> Result<Option<AccountRecord>, StorageError> {
        if let Some(found) = self.layers.find(|l| l.account(address)) {
            return Ok(found);
        }
        match self
            .state
            .open_table(ACCOUNTS)?
            .get(&keccak256(address).0)?
        {
            Some(v) => Ok(Some(AccountRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// A storage slot in the latest state (zero when unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> Result<U256, StorageError> {
        if let Some(found) = self.layers.find(|l| l.storage(address, slot)) {
            return Ok(found);
        }
        let key = codec::storage_key(&keccak256(address), &keccak256(B256::from(*slot)));
        Ok(self
            .state
            .open_table(STORAGE)?
            .get(&key)?
            .map(|v| U256::from_be_bytes(*v.value()))
            .unwrap_or_default())
    }

    /// Every nonzero storage slot of `address` (for rebuilding its storage trie), as
    /// (keccak256(slot), value), by hashed slot: the state file keeps slots by their hashes.
    pub fn hashed_storage(&self, address: &Address) -> Result<Vec<(B256, U256)>, StorageError> {
        let mut slots = std::collections::BTreeMap::new();
        // The stored slots count unless a pending block wiped them.
        if !self
            .layers
            .iter()
            .any(|l| l.storage.get(address).is_some_and(|w| w.wiped))
        {
            let (start, end) = codec::storage_range(&keccak256(address));
            let table = self.state.open_table(STORAGE)?;
            for entry in table.range::<&[u8; 64]>(&start..=&end)? {
                let (key, value) = entry?;
                slots.insert(
                    B256::from_slice(&key.value()[32..]),
                    U256::from_be_bytes(*value.value()),
                );
            }
        }
        for layer in self.layers.iter() {
            if let Some(writes) = layer.storage.get(address) {
                if writes.wiped {
                    slots.clear();
                }
                for (hashed, value) in writes.slots.values() {
                    if value.is_zero() {
                        slots.remove(hashed);
                    } else {
                        slots.insert(*hashed, *value);
                    }
                }
            }
        }
        Ok(slots.into_iter().collect())
    }

    /// Every account as (keccak256(address), record), up to `limit` of them (`None` when there
    /// are more), by hashed address: the state file keeps accounts by their hashes.
    pub fn hashed_accounts(
        &self,
        limit: usize,
    ) -> Result<Option<Vec<(B256, AccountRecord)>>, StorageError> {
        let mut pending: std::collections::BTreeMap<B256, Option<AccountRecord>> =
            Default::default();
        for layer in self.layers.iter() {
            pending.extend(layer.accounts.values().copied());
        }
        let table = self.state.open_table(ACCOUNTS)?;
        let mut out = Vec::new();
        let mut pending = pending.into_iter().peekable();
        let push = |out: &mut Vec<_>, entry| {
            if out.len() == limit {
                return false;
            }
            out.push(entry);
            true
        };
        for entry in table.iter()? {
            let (key, value) = entry?;
            let hashed = B256::from(*key.value());
            // Pending accounts before this one (new ones) go first.
            while let Some((a, record)) = pending.next_if(|(a, _)| *a < hashed) {
                if let Some(record) = record
                    && !push(&mut out, (a, record))
                {
                    return Ok(None);
                }
            }
            let record = match pending.next_if(|(a, _)| *a == hashed) {
                Some((_, record)) => record,
                None => Some(AccountRecord::decode(value.value())?),
            };
            if let Some(record) = record
                && !push(&mut out, (hashed, record))
            {
                return Ok(None);
            }
        }
        for (a, record) in pending {
            if let Some(record) = record
                && !push(&mut out, (a, record))
            {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    /// Bytecode by hash.
    pub fn code(&self, hash: &B256) -> Result<Option<Bytes>, StorageError> {
        if let Some(found) = self.layers.find(|l| l.code.get(hash).cloned()) {
            return Ok(Some(found));
        }
        Ok(self
            .state
            .open_table(CODE)?
            .get(&hash.0)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// What block `number` overwrote.
    pub fn reverts(&self, number: u64) -> Result<Option<super::StateReverts>, StorageError> {
        match self.tx.open_table(super::tables::REVERTS)?.get(number)? {
            Some(v) => Ok(Some(codec::decode_reverts(v.value())?)),
            None => Ok(None),
        }
    }

    /// The newest derivation checkpoint.
    pub fn last_derivation(&self) -> Result<Option<super::DerivationRecord>, StorageError> {
        let table = self.tx.open_table(super::tables::DERIVATION)?;
        match table.last()? {
            Some((_, v)) => Ok(Some(super::DerivationRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// The inbox append record derivation replayed that completed L2 block `number`.
    pub fn append_of(&self, number: u64) -> Result<Option<super::StoredAppend>, StorageError> {
        let table = self.tx.open_table(super::tables::APPENDS)?;
        match table.range(..=number)?.next_back() {
            Some(entry) => {
                let append = super::StoredAppend::decode(entry?.1.value())?;
                Ok(append.inputs(number).is_some().then_some(append))
            }
            None => Ok(None),
        }
    }

    /// The RLP header of L1 block `hash`, if derivation stored it as the origin of a block an
    /// inbox append recorded.
    pub fn origin_header(&self, hash: B256) -> Result<Option<Vec<u8>>, StorageError> {
        let table = match self.tx.open_table(super::tables::ORIGIN_HEADERS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(&hash.0)?.map(|v| v.value().to_vec()))
    }

    /// The recorded list of L2 block `number`, if derivation left a recorded transaction out of
    /// it (a block without an entry holds its whole list, or was derived before this table).
    pub fn recorded_list(
        &self,
        number: u64,
    ) -> Result<Option<super::StoredRecordedList>, StorageError> {
        let table = match self.tx.open_table(super::tables::RECORDED_LISTS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        table
            .get(number)?
            .map(|v| super::StoredRecordedList::decode(number, v.value()))
            .transpose()
    }

    /// How many origin headers are stored (for tests of their pruning).
    #[cfg(test)]
    pub(crate) fn origin_header_count(&self) -> Result<u64, StorageError> {
        use redb::ReadableTableMetadata;
        Ok(self.tx.open_table(super::tables::ORIGIN_HEADERS)?.len()?)
    }

    /// The newest derivation checkpoint at or below L1 block `l1_number`.
    pub fn derivation_at_or_below(
        &self,
        l1_number: u64,
    ) -> Result<Option<super::DerivationRecord>, StorageError> {
        let table = self.tx.open_table(super::tables::DERIVATION)?;
        match table.range(..=l1_number)?.next_back() {
            Some(entry) => {
                let (_, v) = entry?;
                Ok(Some(super::DerivationRecord::decode(v.value())?))
            }
            None => Ok(None),
        }
    }

    /// The nodes of the account trie.
    pub fn account_trie(&self) -> Result<TrieNodes, StorageError> {
        Ok(TrieNodes::accounts(&self.state)?.with_layers(self.layers.clone()))
    }

    /// The nodes of the storage trie of the account whose hashed address is `owner`.
    pub fn storage_trie(&self, owner: B256) -> Result<TrieNodes, StorageError> {
        Ok(TrieNodes::storage(&self.state, owner)?.with_layers(self.layers.clone()))
    }
}

/// The flat rows a trie's deep nodes are rebuilt from.
enum Flat {
    /// The account trie's: hashed address -> account record.
    Accounts(redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>),
    /// A storage trie's: hashed address ++ hashed slot -> value.
    Storage(redb::ReadOnlyTable<&'static [u8; 64], &'static [u8; 32]>),
}

/// Subtrees rebuilt by one [`TrieNodes`], by their [`STORED_TRIE_DEPTH`]-nibble path: a load
/// asks for a subtree's nodes one after another, top down.
type Subtrees = HashMap<Nibbles, Arc<Vec<(Nibbles, Bytes)>>>;

/// Most rebuilt subtrees one [`TrieNodes`] keeps; it forgets them all beyond this.
const MAX_CACHED_SUBTREES: usize = 1024;

/// Trie nodes of one trie in one snapshot, looked up by path: the pending blocks' node writes,
/// then the state file's stored nodes (paths shorter than [`STORED_TRIE_DEPTH`]), then nodes
/// rebuilt from the state file's flat rows under the path's first [`STORED_TRIE_DEPTH`]
/// nibbles. A node that no pending block wrote is as the state file's block left it, and so is
/// everything under it, so the flat rows of that block rebuild it. A rebuilt node is checked
/// against its parent's hash like any loaded node, so a bad flat row is a hash mismatch.
pub struct TrieNodes {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    flat: Flat,
    /// keccak256 of the storage trie's account; `None` for the account trie.
    owner: Option<B256>,
    /// Pending blocks' node writes, consulted before the table.
    layers: Layers,
    subtrees: Mutex<Subtrees>,
}

impl TrieNodes {
    /// The account trie's nodes in the state file `read`, without pending blocks.
    pub(super) fn accounts(read: &ReadTransaction) -> Result<Self, StorageError> {
        Ok(Self {
            table: read.open_table(ACCOUNT_TRIE)?,
            flat: Flat::Accounts(read.open_table(ACCOUNTS)?),
            owner: None,
            layers: Layers::default(),
            subtrees: Mutex::default(),
        })
    }

    /// The nodes of `owner`'s storage trie in the state file `read`, without pending blocks.
    pub(super) fn storage(read: &ReadTransaction, owner: B256) -> Result<Self, StorageError> {
        Ok(Self {
            table: read.open_table(STORAGE_TRIE)?,
            flat: Flat::Storage(read.open_table(STORAGE)?),
            owner: Some(owner),
            layers: Layers::default(),
            subtrees: Mutex::default(),
        })
    }

    fn with_layers(mut self, layers: Layers) -> Self {
        self.layers = layers;
        self
    }

    /// The nodes under `prefix` (a path of [`STORED_TRIE_DEPTH`] nibbles), rebuilt from the flat
    /// rows under it, or from the cache.
    fn subtree(&self, prefix: &Nibbles) -> Result<Arc<Vec<(Nibbles, Bytes)>>, TrieError> {
        if let Some(nodes) = self.subtrees.lock().get(prefix) {
            return Ok(nodes.clone());
        }
        let source = |e: redb::StorageError| TrieError::Source(e.to_string());
        let corrupt = |e: StorageError| TrieError::Source(e.to_string());
        let (start, end) = codec::hashed_prefix_range(prefix);
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = Vec::new();
        match &self.flat {
            Flat::Accounts(table) => {
                for entry in table.range::<&[u8; 32]>(&start..=&end).map_err(source)? {
                    let (key, value) = entry.map_err(source)?;
                    let record = AccountRecord::decode(value.value()).map_err(corrupt)?;
                    leaves.push((
                        Nibbles::unpack(key.value()),
                        rlp::encode(record.trie_account()),
                    ));
                }
            }
            Flat::Storage(table) => {
                let owner = self.owner.unwrap_or_default();
                let (mut from, mut to) = ([0u8; 64], [0u8; 64]);
                from[..32].copy_from_slice(owner.as_slice());
                to[..32].copy_from_slice(owner.as_slice());
                from[32..].copy_from_slice(&start);
                to[32..].copy_from_slice(&end);
                for entry in table.range::<&[u8; 64]>(&from..=&to).map_err(source)? {
                    let (key, value) = entry.map_err(source)?;
                    let value = U256::from_be_bytes(*value.value());
                    leaves.push((Nibbles::unpack(&key.value()[32..]), rlp::encode(value)));
                }
            }
        }
        let nodes = Arc::new(crate::trie::subtree_nodes(prefix, &leaves)?);
        let mut subtrees = self.subtrees.lock();
        if subtrees.len() >= MAX_CACHED_SUBTREES {
            subtrees.clear();
        }
        subtrees.insert(*prefix, nodes.clone());
        Ok(nodes)
    }
}

impl NodeSource for TrieNodes {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        let pending = match &self.owner {
            None => self.layers.find(|l| l.account_node(path)),
            Some(owner) => self.layers.find(|l| l.storage_node(owner, path)),
        };
        if let Some(found) = pending {
            return Ok(found);
        }
        if path.len() >= STORED_TRIE_DEPTH {
            let nodes = self.subtree(&path.slice(..STORED_TRIE_DEPTH))?;
            return Ok(nodes
                .binary_search_by(|(p, _)| p.cmp(path))
                .ok()
                .map(|i| nodes[i].1.clone()));
        }
        let owner = self.owner.as_ref().map_or(&[][..], |o| o.as_slice());
        let key = codec::nibble_key(owner, path);
        self.table
            .get(key.as_slice())
            .map(|v| v.map(|v| Bytes::copy_from_slice(v.value())))
            .map_err(|e| TrieError::Source(e.to_string()))
    }
}
