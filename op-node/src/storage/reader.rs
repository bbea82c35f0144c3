//! Reads from one consistent snapshot of the chain: a snapshot of the chain file, a snapshot of
//! the state file, and the state writes of the blocks between the two (the state file may hold
//! an older block's state than the chain file's head; those writes bring it to the head).

use super::{
    StorageError,
    codec::{self, AccountRecord, corrupt},
    overlay::Layers,
    tables::{
        ACCOUNT_TRIE, ACCOUNTS, BLOCK_NUMBERS, BODIES, CODE, HEAD_KEY, HEADERS, META, RECEIPTS,
        SENDERS, STORAGE, STORAGE_TRIE, TX_INDEX,
    },
};
use crate::{
    block::{RecoveredTx, SealedBlock},
    trie::{NodeSource, TrieError},
};
use alloy::{
    consensus::Header,
    eips::eip2718::Decodable2718,
    primitives::{Address, B256, Bytes, U256},
};
use alloy_trie::Nibbles;
use op_alloy::consensus::OpReceiptEnvelope;
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
        Ok(self
            .state
            .open_table(TX_INDEX)?
            .get(&hash.0)?
            .map(|v| v.value()))
    }

    /// The account at `address` in the latest state.
    pub fn account(&self, address: &Address) -> Result<Option<AccountRecord>, StorageError> {
        if let Some(found) = self.layers.find(|l| l.account(address)) {
            return Ok(found);
        }
        match self.state.open_table(ACCOUNTS)?.get(&address.0.0)? {
            Some(v) => Ok(Some(AccountRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// A storage slot in the latest state (zero when unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> Result<U256, StorageError> {
        if let Some(found) = self.layers.find(|l| l.storage(address, slot)) {
            return Ok(found);
        }
        let key = codec::storage_key(address, slot);
        Ok(self
            .state
            .open_table(STORAGE)?
            .get(&key)?
            .map(|v| U256::from_be_bytes(*v.value()))
            .unwrap_or_default())
    }

    /// Every nonzero storage slot of `address` (for rebuilding its storage trie), by slot.
    pub fn storage_slots(&self, address: &Address) -> Result<Vec<(U256, U256)>, StorageError> {
        let mut slots = std::collections::BTreeMap::new();
        // The stored slots count unless a pending block wiped them.
        if !self
            .layers
            .iter()
            .any(|l| l.storage.get(address).is_some_and(|w| w.wiped))
        {
            let (start, end) = codec::storage_range(address);
            let table = self.state.open_table(STORAGE)?;
            for entry in table.range::<&[u8; 52]>(&start..=&end)? {
                let (key, value) = entry?;
                slots.insert(
                    U256::from_be_slice(&key.value()[20..]),
                    U256::from_be_bytes(*value.value()),
                );
            }
        }
        for layer in self.layers.iter() {
            if let Some(writes) = layer.storage.get(address) {
                if writes.wiped {
                    slots.clear();
                }
                for (slot, value) in &writes.slots {
                    if value.is_zero() {
                        slots.remove(slot);
                    } else {
                        slots.insert(*slot, *value);
                    }
                }
            }
        }
        Ok(slots.into_iter().collect())
    }

    /// Every account, up to `limit` of them (`None` when there are more), by address.
    pub fn accounts(
        &self,
        limit: usize,
    ) -> Result<Option<Vec<(Address, AccountRecord)>>, StorageError> {
        let mut pending: std::collections::BTreeMap<Address, Option<AccountRecord>> =
            Default::default();
        for layer in self.layers.iter() {
            pending.extend(layer.accounts.iter().map(|(a, r)| (*a, *r)));
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
            let address = Address::from(*key.value());
            // Pending accounts before this one (new ones) go first.
            while let Some((a, record)) = pending.next_if(|(a, _)| *a < address) {
                if let Some(record) = record
                    && !push(&mut out, (a, record))
                {
                    return Ok(None);
                }
            }
            let record = match pending.next_if(|(a, _)| *a == address) {
                Some((_, record)) => record,
                None => Some(AccountRecord::decode(value.value())?),
            };
            if let Some(record) = record
                && !push(&mut out, (address, record))
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
        Ok(TrieNodes {
            table: self.state.open_table(ACCOUNT_TRIE)?,
            owner: None,
            layers: self.layers.clone(),
        })
    }

    /// The nodes of the storage trie of the account whose hashed address is `owner`.
    pub fn storage_trie(&self, owner: B256) -> Result<TrieNodes, StorageError> {
        Ok(TrieNodes {
            table: self.state.open_table(STORAGE_TRIE)?,
            owner: Some(owner),
            layers: self.layers.clone(),
        })
    }
}

/// Trie nodes of one trie in one snapshot, looked up by path.
pub struct TrieNodes {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    /// keccak256 of the storage trie's account; `None` for the account trie.
    owner: Option<B256>,
    /// Pending blocks' node writes, consulted before the table.
    layers: Layers,
}

impl TrieNodes {
    /// The nodes of `table` alone (the state file while it is brought forward at open).
    pub(super) fn plain(
        table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
        owner: Option<B256>,
    ) -> Self {
        Self {
            table,
            owner,
            layers: Layers::default(),
        }
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
        let owner = self.owner.as_ref().map_or(&[][..], |o| o.as_slice());
        let key = codec::nibble_key(owner, path);
        self.table
            .get(key.as_slice())
            .map(|v| v.map(|v| Bytes::copy_from_slice(v.value())))
            .map_err(|e| TrieError::Source(e.to_string()))
    }
}
