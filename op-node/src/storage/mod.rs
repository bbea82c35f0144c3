//! Persistent storage in one redb file: blocks, receipts, the transaction index, flat state
//! (accounts, storage, code) and the Merkle-Patricia trie nodes keyed by path.
//!
//! Commit protocol: everything a sealed block changes is written in one redb write
//! transaction with immediate durability, and the `head` pointer moves in that same
//! transaction. The node reports a block (RPC, subscriptions) only after `commit` returns, so
//! a crash at any moment leaves either the whole block or none of it, and never loses a block
//! that was reported.

mod codec;
mod reader;

pub use codec::AccountRecord;
pub use reader::StoreReader;

use crate::{
    block::{RecoveredTx, SealedBlock},
    trie::TrieUpdates,
};
use alloy::primitives::{Address, B256, Bytes, U256};
pub use reader::TrieNodes;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// Block number -> RLP header.
pub(crate) const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
/// Block hash -> block number.
pub(crate) const BLOCK_NUMBERS: TableDefinition<&[u8; 32], u64> =
    TableDefinition::new("block_numbers");
/// Block number -> RLP list of EIP-2718 transactions.
pub(crate) const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
/// Block number -> concatenated 20-byte senders, one per transaction.
pub(crate) const SENDERS: TableDefinition<u64, &[u8]> = TableDefinition::new("senders");
/// Block number -> RLP list of EIP-2718 receipts.
pub(crate) const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// Transaction hash -> (block number, index in block).
pub(crate) const TX_INDEX: TableDefinition<&[u8; 32], (u64, u32)> =
    TableDefinition::new("tx_index");
/// Address -> [`AccountRecord`].
pub(crate) const ACCOUNTS: TableDefinition<&[u8; 20], &[u8]> = TableDefinition::new("accounts");
/// Address ++ slot -> value (zero values are absent).
pub(crate) const STORAGE: TableDefinition<&[u8; 52], &[u8; 32]> = TableDefinition::new("storage");
/// Code hash -> bytecode.
pub(crate) const CODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("code");
/// Nibble path (one nibble per byte) -> RLP node of the account trie.
pub(crate) const ACCOUNT_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("account_trie");
/// keccak256(address) ++ nibble path -> RLP node of that account's storage trie.
pub(crate) const STORAGE_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_trie");
/// Block number -> the values its state changes overwrote ([`StateReverts`]), so state at
/// recent blocks can be rebuilt for eth_call and tracing.
pub(crate) const REVERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("reverts");
/// Named counters; `head` is the number of the last sealed block.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Derivation checkpoints by L1 block number (see [`DerivationRecord`]).
pub(crate) const DERIVATION: TableDefinition<u64, &[u8]> = TableDefinition::new("derivation");

pub(crate) const HEAD_KEY: &str = "head";
pub(crate) const SAFE_KEY: &str = "safe";
pub(crate) const FINALIZED_KEY: &str = "finalized";
pub(crate) const L1_HEAD_KEY: &str = "l1_head";
pub(crate) const L1_FINALIZED_KEY: &str = "l1_finalized";

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database itself failed (I/O, corruption, a full disk).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// A stored value could not be decoded: the file is not one this node wrote.
    #[error("corrupt {table} entry: {reason}")]
    Corrupt {
        /// Which table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Creating the database file failed.
    #[error("creating {path}: {source}")]
    Create {
        /// The file being created.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

macro_rules! from_redb {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StorageError {
            fn from(e: $ty) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Everything a block changes in the state, in the form storage writes it.
#[derive(Debug, Default)]
pub struct StateDiff {
    /// New account records; `None` deletes the account.
    pub accounts: Vec<(Address, Option<AccountRecord>)>,
    /// Accounts whose storage is cleared (destroyed or re-created) before `storage` applies.
    pub wiped_storage: Vec<Address>,
    /// Storage writes; a zero value deletes the slot.
    pub storage: Vec<(Address, U256, U256)>,
    /// New bytecode by hash.
    pub code: Vec<(B256, Bytes)>,
    /// Changed nodes of the account trie.
    pub account_trie: TrieUpdates,
    /// Changed nodes of storage tries: (keccak256(address), wipe all stored nodes first, updates).
    pub storage_tries: Vec<(B256, bool, TrieUpdates)>,
    /// The values this block overwrote.
    pub reverts: StateReverts,
}

/// The pre-block values of everything a block changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StateReverts {
    /// Accounts as they were before the block (`None`: did not exist).
    pub accounts: Vec<(Address, Option<AccountRecord>)>,
    /// Storage slots as they were before the block.
    pub storage: Vec<(Address, U256, U256)>,
}

/// The node's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database file at `path`.
    ///
    /// A new file is initialised beside `path` and renamed into place once durable, so a crash
    /// while it is created leaves no half-made database behind (redb refuses a file whose
    /// header never got its magic number), only a scratch file the next start removes.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let exists = path.try_exists().map_err(|source| StorageError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        if !exists {
            Self::create(path)?;
        }
        Self::with_database(Database::builder().create(path)?)
    }

    fn create(path: &Path) -> Result<(), StorageError> {
        let mut scratch = path.as_os_str().to_owned();
        scratch.push(".creating");
        let scratch = std::path::PathBuf::from(scratch);
        let io = |source| StorageError::Create {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::remove_file(&scratch) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        drop(Self::with_database(Database::builder().create(&scratch)?)?);
        std::fs::rename(&scratch, path).map_err(io)?;
        // The rename itself must survive a crash.
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io)
    }

    /// Opens (or creates) the database on any redb storage backend: an in-memory one, or one
    /// that injects I/O faults (the crash tests use this to fail every commit point).
    pub fn open_with_backend(backend: impl redb::StorageBackend) -> Result<Self, StorageError> {
        Self::with_database(Database::builder().create_with_backend(backend)?)
    }

    fn with_database(db: Database) -> Result<Self, StorageError> {
        let tx = db.begin_write()?;
        {
            // Create every table so readers never meet a missing one.
            tx.open_table(HEADERS)?;
            tx.open_table(BLOCK_NUMBERS)?;
            tx.open_table(BODIES)?;
            tx.open_table(SENDERS)?;
            tx.open_table(RECEIPTS)?;
            tx.open_table(TX_INDEX)?;
            tx.open_table(ACCOUNTS)?;
            tx.open_table(STORAGE)?;
            tx.open_table(CODE)?;
            tx.open_table(ACCOUNT_TRIE)?;
            tx.open_table(STORAGE_TRIE)?;
            tx.open_table(META)?;
            tx.open_table(REVERTS)?;
            tx.open_table(DERIVATION)?;
        }
        tx.commit()?;
        Ok(Self { db })
    }

    /// A consistent snapshot of everything committed so far.
    pub fn reader(&self) -> Result<StoreReader, StorageError> {
        Ok(StoreReader::new(self.db.begin_read()?))
    }

    /// Writes a sealed block and its state changes in one durable transaction and moves the
    /// head to it. When this returns `Ok`, the block survives any crash. `body` must be
    /// [`EncodedBody::new`] of the block's transactions and receipts.
    pub fn commit_block(
        &self,
        block: &SealedBlock,
        body: &EncodedBody,
        diff: &StateDiff,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        let number = block.number();
        {
            tx.open_table(HEADERS)?.insert(
                number,
                codec::encode_header(&block.header, &block.hash).as_slice(),
            )?;
            tx.open_table(BLOCK_NUMBERS)?
                .insert(&block.hash.0, number)?;
            let mut index = tx.open_table(TX_INDEX)?;
            for (hash, i) in &body.tx_index {
                index.insert(&hash.0, (number, *i))?;
            }
            tx.open_table(BODIES)?.insert(number, body.txs.as_slice())?;
            tx.open_table(SENDERS)?
                .insert(number, body.senders.as_slice())?;
            tx.open_table(RECEIPTS)?
                .insert(number, body.receipts.as_slice())?;
        }
        write_state(&tx, diff)?;
        tx.open_table(REVERTS)?
            .insert(number, codec::encode_reverts(&diff.reverts).as_slice())?;
        tx.open_table(META)?.insert(HEAD_KEY, number)?;
        tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// Removes blocks `to + 1 ..= head` and moves the head back to `to`, in one durable
    /// transaction. `undo` holds the state writes that restore block `to`'s state (its
    /// `reverts` are ignored); `removed` lists the removed blocks' hashes and their
    /// transactions' hashes, whose index entries go too.
    pub fn rewind(
        &self,
        to: u64,
        head: u64,
        removed_blocks: &[B256],
        removed_txs: &[B256],
        undo: &StateDiff,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        {
            let mut headers = tx.open_table(HEADERS)?;
            let mut bodies = tx.open_table(BODIES)?;
            let mut senders = tx.open_table(SENDERS)?;
            let mut receipts = tx.open_table(RECEIPTS)?;
            let mut reverts = tx.open_table(REVERTS)?;
            for number in to + 1..=head {
                headers.remove(number)?;
                bodies.remove(number)?;
                senders.remove(number)?;
                receipts.remove(number)?;
                reverts.remove(number)?;
            }
            let mut numbers = tx.open_table(BLOCK_NUMBERS)?;
            for hash in removed_blocks {
                numbers.remove(&hash.0)?;
            }
            let mut index = tx.open_table(TX_INDEX)?;
            for hash in removed_txs {
                index.remove(&hash.0)?;
            }
        }
        write_state(&tx, undo)?;
        tx.open_table(META)?.insert(HEAD_KEY, to)?;
        tx.commit()?;
        Ok(())
    }

    /// Records derivation progress in one durable transaction: drops the checkpoints of L1
    /// blocks at or above `drop_from` (an L1 reorg replaced them), adds the new ones, and
    /// moves the safe and finalized heads (finalized: the safe head of the newest checkpoint
    /// at or below the L1's finalized block).
    pub fn put_derivation(&self, update: &DerivationUpdate) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        {
            let mut table = tx.open_table(DERIVATION)?;
            if let Some(from) = update.drop_from {
                table.retain_in::<u64, _>(from.., |_, _| false)?;
            }
            for record in &update.records {
                table.insert(record.l1_number, record.encode().as_slice())?;
            }
            let finalized = match update.l1_finalized {
                Some(l1) => match table.range(..=l1)?.next_back() {
                    Some(entry) => Some(DerivationRecord::decode(entry?.1.value())?.safe_number),
                    None => None,
                },
                None => None,
            };
            // Older checkpoints are never needed again: an L1 reorg deeper than this is
            // beyond any L1's finality.
            if let Some(last) = update.records.last()
                && last.l1_number > DERIVATION_RETAINED
            {
                table.retain_in::<u64, _>(..last.l1_number - DERIVATION_RETAINED, |_, _| false)?;
            }
            let mut meta = tx.open_table(META)?;
            meta.insert(SAFE_KEY, update.safe)?;
            meta.insert(L1_HEAD_KEY, update.l1_head)?;
            if let Some(l1) = update.l1_finalized {
                meta.insert(L1_FINALIZED_KEY, l1)?;
            }
            if let Some(finalized) = finalized {
                meta.insert(FINALIZED_KEY, finalized.min(update.safe))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets the safe and finalized heads of a chain without derivation (the embedded L1).
    pub fn set_heads(&self, safe: u64, finalized: u64) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write()?;
        // Not durable on its own: the next block's durable commit carries it.
        tx.set_durability(Durability::None)?;
        {
            let mut meta = tx.open_table(META)?;
            meta.insert(SAFE_KEY, safe)?;
            meta.insert(FINALIZED_KEY, finalized)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// One write of derivation progress ([`Store::put_derivation`]).
#[derive(Debug, Default)]
pub struct DerivationUpdate {
    /// Drop the checkpoints of L1 blocks at or above this one first.
    pub drop_from: Option<u64>,
    /// New checkpoints, oldest first.
    pub records: Vec<DerivationRecord>,
    /// The safe L2 head now.
    pub safe: u64,
    /// The L1 head derivation has seen.
    pub l1_head: u64,
    /// The L1's finalized block, if it reports one.
    pub l1_finalized: Option<u64>,
}

/// How many L1 blocks of derivation checkpoints are kept.
pub const DERIVATION_RETAINED: u64 = 100_000;

/// Where derivation stood after it processed one L1 block: enough to resume there after a
/// restart, or to rewind there when L1 reorganises above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivationRecord {
    /// The L1 block processed.
    pub l1_number: u64,
    /// Its hash.
    pub l1_hash: B256,
    /// The safe L2 head after it: the last L2 block derived from L1 up to this block.
    pub safe_number: u64,
    /// That L2 block's hash.
    pub safe_hash: B256,
    /// The L1 block where the batch inbox's block still open after this block began, if one
    /// is open (derivation resumes from the checkpoint before it: BATCHES.md §5.4).
    pub open_block_start: Option<u64>,
}

impl DerivationRecord {
    const LEN: usize = 8 + 32 + 8 + 32 + 8;

    fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.l1_number.to_be_bytes());
        out[8..40].copy_from_slice(self.l1_hash.as_slice());
        out[40..48].copy_from_slice(&self.safe_number.to_be_bytes());
        out[48..80].copy_from_slice(self.safe_hash.as_slice());
        out[80..].copy_from_slice(&self.open_block_start.unwrap_or(u64::MAX).to_be_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        if bytes.len() != Self::LEN {
            return Err(StorageError::Corrupt {
                table: "derivation",
                reason: format!("record of {} bytes", bytes.len()),
            });
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let start = u64_at(80);
        Ok(Self {
            l1_number: u64_at(0),
            l1_hash: B256::from_slice(&bytes[8..40]),
            safe_number: u64_at(40),
            safe_hash: B256::from_slice(&bytes[48..80]),
            open_block_start: (start != u64::MAX).then_some(start),
        })
    }
}

/// A block's transactions and receipts in their stored form, encoded off the commit's
/// critical path (the engine builds it while the state root is being computed).
#[derive(Debug)]
pub struct EncodedBody {
    /// RLP list of the EIP-2718 transactions ([`BODIES`]).
    txs: Vec<u8>,
    /// Concatenated senders ([`SENDERS`]).
    senders: Vec<u8>,
    /// RLP list of the EIP-2718 receipts ([`RECEIPTS`]).
    receipts: Vec<u8>,
    /// (transaction hash, index in block), sorted by hash so the inserts walk [`TX_INDEX`]
    /// in key order.
    tx_index: Vec<(B256, u32)>,
}

impl EncodedBody {
    /// Encodes `txs` and `receipts`, given as their EIP-2718 bytes (the receipts root is
    /// computed from the same bytes, so each receipt is encoded once).
    pub fn new(txs: &[std::sync::Arc<RecoveredTx>], receipts: &[Bytes]) -> Self {
        let body: Vec<&Bytes> = txs.iter().map(|t| &t.encoded).collect();
        let mut senders = Vec::with_capacity(txs.len() * 20);
        let mut tx_index = Vec::with_capacity(txs.len());
        for (i, t) in txs.iter().enumerate() {
            senders.extend_from_slice(t.sender().as_slice());
            tx_index.push((t.hash, i as u32));
        }
        tx_index.sort_unstable_by_key(|(hash, _)| *hash);
        Self {
            txs: rlp_list(&body),
            senders,
            receipts: rlp_list(receipts),
            tx_index,
        }
    }
}

/// The RLP list of `items`, allocated once at its final size.
fn rlp_list<B: std::borrow::Borrow<Bytes>>(items: &[B]) -> Vec<u8> {
    let mut out = Vec::with_capacity(alloy::rlp::list_length::<B, Bytes>(items));
    alloy::rlp::encode_list::<B, Bytes>(items, &mut out);
    out
}

/// Writes come in hash-map order; each table gets them sorted by key, so consecutive inserts
/// land in the same B-tree leaf, which is already copied and cached.
fn write_state(tx: &redb::WriteTransaction, diff: &StateDiff) -> Result<(), StorageError> {
    let mut accounts = tx.open_table(ACCOUNTS)?;
    let mut sorted: Vec<_> = diff.accounts.iter().collect();
    sorted.sort_unstable_by_key(|(key, _)| *key);
    for (address, record) in sorted {
        match record {
            Some(record) => {
                accounts.insert(&address.0.0, record.encode().as_slice())?;
            }
            None => {
                accounts.remove(&address.0.0)?;
            }
        }
    }
    let mut storage = tx.open_table(STORAGE)?;
    for address in &diff.wiped_storage {
        let (start, end) = codec::storage_range(address);
        storage.retain_in::<&[u8; 52], _>(&start..=&end, |_, _| false)?;
    }
    let mut sorted: Vec<_> = diff
        .storage
        .iter()
        .map(|(address, slot, value)| (codec::storage_key(address, slot), value))
        .collect();
    sorted.sort_unstable_by_key(|(key, _)| *key);
    for (key, value) in sorted {
        if value.is_zero() {
            storage.remove(&key)?;
        } else {
            storage.insert(&key, &value.to_be_bytes::<32>())?;
        }
    }
    let mut code = tx.open_table(CODE)?;
    for (hash, bytes) in &diff.code {
        code.insert(&hash.0, bytes.as_ref())?;
    }
    let mut account_trie = tx.open_table(ACCOUNT_TRIE)?;
    for path in &diff.account_trie.removed {
        account_trie.remove(codec::nibble_key(&[], path).as_slice())?;
    }
    for (path, node) in &diff.account_trie.written {
        account_trie.insert(codec::nibble_key(&[], path).as_slice(), node.as_ref())?;
    }
    let mut storage_trie = tx.open_table(STORAGE_TRIE)?;
    for (owner, wipe, updates) in &diff.storage_tries {
        if *wipe {
            let start = owner.0.to_vec();
            let mut end = owner.0.to_vec();
            end.push(0xff);
            storage_trie.retain_in::<&[u8], _>(start.as_slice()..end.as_slice(), |_, _| false)?;
        }
        for path in &updates.removed {
            storage_trie.remove(codec::nibble_key(owner.as_slice(), path).as_slice())?;
        }
        for (path, node) in &updates.written {
            storage_trie.insert(
                codec::nibble_key(owner.as_slice(), path).as_slice(),
                node.as_ref(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::Header;

    /// A block without transactions (the genesis) stores an empty RLP list, which reads back.
    #[test]
    fn empty_body_roundtrips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.redb")).unwrap();
        let header = Header::default();
        let block = SealedBlock {
            hash: header.hash_slow(),
            header,
            txs: Vec::new(),
            receipts: Vec::new(),
        };
        store
            .commit_block(&block, &EncodedBody::new(&[], &[]), &StateDiff::default())
            .unwrap();
        let reader = store.reader().unwrap();
        assert_eq!(reader.head_number().unwrap(), Some(0));
        let read = reader.block(0).unwrap().expect("stored");
        assert_eq!(read.hash, block.hash);
        assert!(read.txs.is_empty() && read.receipts.is_empty());
    }
}
