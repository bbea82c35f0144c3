//! The tables of the two database files and the format version both carry.
//!
//! The *chain file* is the log: every block, its receipts and what it did to the state (new
//! values and overwritten values), appended once per block. The *state file* holds the state
//! indexed for reading (flat accounts, storage and code, trie nodes by path, the transaction
//! index) as of one block of the chain, the `applied` block; it is derived data, brought
//! forward from the chain file's state changes in batches of blocks.

use super::StorageError;
use redb::{ReadableDatabase, TableDefinition};
use std::path::Path;

// --- the chain file --------------------------------------------------------------------------

/// Block number -> stored header (hash ++ RLP).
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
/// Block number -> what the block wrote to the state ([`super::codec::encode_changes`]), so the
/// state file can be brought forward from any block it holds.
pub(crate) const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");
/// Block number -> the values its state changes overwrote ([`super::StateReverts`]), so state
/// at recent blocks can be rebuilt for eth_call and tracing, and blocks can be undone.
pub(crate) const REVERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("reverts");
/// Named counters of the chain file: `format`, `head`, the safe and finalized heads, the L1
/// heads derivation has seen.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Derivation checkpoints by L1 block number (see [`super::DerivationRecord`]).
pub(crate) const DERIVATION: TableDefinition<u64, &[u8]> = TableDefinition::new("derivation");
/// First L2 block of an L1 inbox append record -> the record as derivation replayed it
/// ([`super::StoredAppend`]): what the block start of a dispute opens a block's inputs with.
pub(crate) const APPENDS: TableDefinition<u64, &[u8]> = TableDefinition::new("appends");
/// L1 block hash -> its RLP header, for the L1 origins of the blocks the inbox's appends
/// recorded: what the block start of a dispute ties a block's `prevrandao` with.
pub(crate) const ORIGIN_HEADERS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("origin_headers");
/// (L1 block number, hash) of each header in [`ORIGIN_HEADERS`] written since this index
/// exists: what pruning finds the old ones by.
pub(crate) const ORIGIN_NUMBERS: TableDefinition<(u64, &[u8; 32]), ()> =
    TableDefinition::new("origin_numbers");
/// L2 block number -> its recorded list when derivation left a recorded transaction out of it
/// ([`super::StoredRecordedList`]): the inbox's transactions of the block, in order, with the
/// ones that did not decode or that the EVM refused. A block that holds all its recorded
/// transactions has no entry (its list is its non-deposit transactions).
pub(crate) const RECORDED_LISTS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("recorded_lists");

pub(crate) const HEAD_KEY: &str = "head";
pub(crate) const SAFE_KEY: &str = "safe";
pub(crate) const FINALIZED_KEY: &str = "finalized";
pub(crate) const L1_HEAD_KEY: &str = "l1_head";
pub(crate) const L1_FINALIZED_KEY: &str = "l1_finalized";

// --- the state file --------------------------------------------------------------------------

/// keccak256(address) -> [`super::AccountRecord`] (its compact encoding): keyed as the account
/// trie is, so the leaves under a trie path are one range of rows.
pub(crate) const ACCOUNTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("accounts");
/// keccak256(address) ++ keccak256(slot) -> value (zero values are absent): keyed as the
/// storage tries are.
pub(crate) const STORAGE: TableDefinition<&[u8; 64], &[u8; 32]> = TableDefinition::new("storage");
/// Code hash -> bytecode.
pub(crate) const CODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("code");
/// Nibble path (one nibble per byte) -> RLP node of the account trie, for paths shorter than
/// [`STORED_TRIE_DEPTH`] only: deeper nodes are rebuilt from the [`ACCOUNTS`] rows under their
/// path's first [`STORED_TRIE_DEPTH`] nibbles when a trie loads them.
pub(crate) const ACCOUNT_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("account_trie");
/// keccak256(address) ++ nibble path -> RLP node of that account's storage trie, for paths
/// shorter than [`STORED_TRIE_DEPTH`] (deeper ones are rebuilt from [`STORAGE`]).
pub(crate) const STORAGE_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_trie");
/// Format 3's transaction index: transaction hash -> (block number, index in block). Format 4
/// keeps the index as sorted runs ([`super::tx_runs`]); opening a format-3 file converts it.
pub(crate) const TX_INDEX_V3: TableDefinition<&[u8; 32], (u64, u32)> =
    TableDefinition::new("tx_index");
/// The state file's counters: `format`, and the block whose state it holds (`applied`).
pub(crate) const STATE_META: TableDefinition<&str, u64> = TableDefinition::new("state_meta");
/// `applied` -> that block's hash, so a state file is never laid under another chain.
pub(crate) const APPLIED_HASH: TableDefinition<&str, &[u8; 32]> =
    TableDefinition::new("applied_hash");

pub(crate) const APPLIED_KEY: &str = "applied";

// --- both ------------------------------------------------------------------------------------

/// Key of the format version, in [`META`] and [`STATE_META`].
pub(crate) const FORMAT_KEY: &str = "format";

/// The layout of the chain file this node reads and writes. Format 1 kept the state and the
/// log in one file (`chain.redb` with accounts, storage and trie tables beside the blocks);
/// format 2 splits them, adds the per-block state changes and encodes account records
/// compactly.
pub const CHAIN_FORMAT: u64 = 2;

/// The layout of the state file this node reads and writes. Format 2 keyed accounts and slots
/// by address and stored every trie node; format 3 keys them by their hashes (as the tries do)
/// and stores only the trie nodes whose path is shorter than [`STORED_TRIE_DEPTH`]; format 4
/// keeps the transaction index as sorted runs written in order ([`super::tx_runs`]) instead of
/// one table keyed by hash.
pub const STATE_FORMAT: u64 = 4;

/// Trie nodes at paths shorter than this many nibbles are stored; deeper ones are rebuilt from
/// the flat rows under their path's first `STORED_TRIE_DEPTH` nibbles (about 15 accounts per
/// such subtree at a million accounts). At most 1 + 16 + 256 + 4,096 = 4,369 nodes of a trie
/// are stored, where a million-account trie has about 1.3 million: a batch of the state file's
/// writer rewrites the pages of the flat rows it changes and those few nodes.
pub const STORED_TRIE_DEPTH: usize = 4;

/// Checks (or, in a new file, writes) the format version `expected` of a database file. `meta`
/// is its counters table and `has_data` whether it already holds anything of a node's.
pub(crate) fn check_format(
    db: &redb::Database,
    meta: TableDefinition<&str, u64>,
    expected: u64,
    has_data: impl FnOnce(&redb::ReadTransaction) -> Result<bool, StorageError>,
    path: &Path,
) -> Result<(), StorageError> {
    let read = db.begin_read()?;
    let found = match read.open_table(meta) {
        Ok(table) => table.get(FORMAT_KEY)?.map(|v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let found = match found {
        Some(found) => found,
        // A file this node started and never wrote a block to, or one of format 1 (which
        // had no version): only the second holds data.
        None if has_data(&read)? => 1,
        None => {
            drop(read);
            let tx = db.begin_write()?;
            tx.open_table(meta)?.insert(FORMAT_KEY, expected)?;
            tx.commit()?;
            return Ok(());
        }
    };
    if found != expected {
        return Err(StorageError::Format {
            path: path.to_path_buf(),
            found,
            expected,
        });
    }
    Ok(())
}

/// Whether the chain file holds a head (any block at all).
pub(crate) fn chain_has_data(read: &redb::ReadTransaction) -> Result<bool, StorageError> {
    match read.open_table(META) {
        Ok(meta) => Ok(meta.get(HEAD_KEY)?.is_some()),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether the state file holds the state of any block.
pub(crate) fn state_has_data(read: &redb::ReadTransaction) -> Result<bool, StorageError> {
    match read.open_table(STATE_META) {
        Ok(meta) => Ok(meta.get(APPLIED_KEY)?.is_some()),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
