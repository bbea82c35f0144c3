//! Reads from one consistent snapshot of the database.

use super::{
    ACCOUNT_TRIE, ACCOUNTS, BLOCK_NUMBERS, BODIES, CODE, HEAD_KEY, HEADERS, META, RECEIPTS,
    SENDERS, STORAGE, STORAGE_TRIE, StorageError, TX_INDEX,
    codec::{self, AccountRecord, corrupt},
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

/// A read-only view of the database as of one commit. Cheap to open; hold it only as long
/// as one request or one block needs it, since it pins the pages of its snapshot.
pub struct StoreReader {
    tx: ReadTransaction,
}

impl std::fmt::Debug for StoreReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReader").finish_non_exhaustive()
    }
}

impl StoreReader {
    pub(super) fn new(tx: ReadTransaction) -> Self {
        Self { tx }
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
        self.meta(super::SAFE_KEY)
    }

    /// The finalized head (derived from finalized L1), if recorded.
    pub fn finalized_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::FINALIZED_KEY)
    }

    /// The newest L1 block derivation has seen, if recorded.
    pub fn l1_head_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::L1_HEAD_KEY)
    }

    /// The L1's finalized block as derivation last saw it, if recorded.
    pub fn l1_finalized_number(&self) -> Result<Option<u64>, StorageError> {
        self.meta(super::L1_FINALIZED_KEY)
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
        Ok(self
            .tx
            .open_table(TX_INDEX)?
            .get(&hash.0)?
            .map(|v| v.value()))
    }

    /// The account at `address` in the latest state.
    pub fn account(&self, address: &Address) -> Result<Option<AccountRecord>, StorageError> {
        match self.tx.open_table(ACCOUNTS)?.get(&address.0.0)? {
            Some(v) => Ok(Some(AccountRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// A storage slot in the latest state (zero when unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> Result<U256, StorageError> {
        let key = codec::storage_key(address, slot);
        Ok(self
            .tx
            .open_table(STORAGE)?
            .get(&key)?
            .map(|v| U256::from_be_bytes(*v.value()))
            .unwrap_or_default())
    }

    /// Every nonzero storage slot of `address` (for rebuilding its storage trie).
    pub fn storage_slots(&self, address: &Address) -> Result<Vec<(U256, U256)>, StorageError> {
        let (start, end) = codec::storage_range(address);
        let table = self.tx.open_table(STORAGE)?;
        let mut out = Vec::new();
        for entry in table.range::<&[u8; 52]>(&start..=&end)? {
            let (key, value) = entry?;
            out.push((
                U256::from_be_slice(&key.value()[20..]),
                U256::from_be_bytes(*value.value()),
            ));
        }
        Ok(out)
    }

    /// Every account, up to `limit` of them (`None` when there are more).
    pub fn accounts(
        &self,
        limit: usize,
    ) -> Result<Option<Vec<(Address, AccountRecord)>>, StorageError> {
        let table = self.tx.open_table(ACCOUNTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            if out.len() == limit {
                return Ok(None);
            }
            let (key, value) = entry?;
            out.push((
                Address::from(*key.value()),
                AccountRecord::decode(value.value())?,
            ));
        }
        Ok(Some(out))
    }

    /// Bytecode by hash.
    pub fn code(&self, hash: &B256) -> Result<Option<Bytes>, StorageError> {
        Ok(self
            .tx
            .open_table(CODE)?
            .get(&hash.0)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// What block `number` overwrote.
    pub fn reverts(&self, number: u64) -> Result<Option<super::StateReverts>, StorageError> {
        match self.tx.open_table(super::REVERTS)?.get(number)? {
            Some(v) => Ok(Some(codec::decode_reverts(v.value())?)),
            None => Ok(None),
        }
    }

    /// The newest derivation checkpoint.
    pub fn last_derivation(&self) -> Result<Option<super::DerivationRecord>, StorageError> {
        let table = self.tx.open_table(super::DERIVATION)?;
        match table.last()? {
            Some((_, v)) => Ok(Some(super::DerivationRecord::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// The newest derivation checkpoint at or below L1 block `l1_number`.
    pub fn derivation_at_or_below(
        &self,
        l1_number: u64,
    ) -> Result<Option<super::DerivationRecord>, StorageError> {
        let table = self.tx.open_table(super::DERIVATION)?;
        match table.range(..=l1_number)?.next_back() {
            Some(entry) => {
                let (_, v) = entry?;
                Ok(Some(super::DerivationRecord::decode(v.value())?))
            }
            None => Ok(None),
        }
    }

    /// The stored nodes of the account trie.
    pub fn account_trie(&self) -> Result<TrieNodes, StorageError> {
        Ok(TrieNodes {
            table: self.tx.open_table(ACCOUNT_TRIE)?,
            owner: None,
        })
    }

    /// The stored nodes of the storage trie of the account whose hashed address is `owner`.
    pub fn storage_trie(&self, owner: B256) -> Result<TrieNodes, StorageError> {
        Ok(TrieNodes {
            table: self.tx.open_table(STORAGE_TRIE)?,
            owner: Some(owner),
        })
    }
}

/// Trie nodes of one trie in one snapshot, looked up by path.
pub struct TrieNodes {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    /// keccak256 of the storage trie's account; `None` for the account trie.
    owner: Option<B256>,
}

impl NodeSource for TrieNodes {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        let owner = self.owner.as_ref().map_or(&[][..], |o| o.as_slice());
        let key = codec::nibble_key(owner, path);
        self.table
            .get(key.as_slice())
            .map(|v| v.map(|v| Bytes::copy_from_slice(v.value())))
            .map_err(|e| TrieError::Source(e.to_string()))
    }
}
