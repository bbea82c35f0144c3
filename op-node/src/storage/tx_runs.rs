//! The transaction index (transaction hash -> block number and index in the block) as sorted
//! runs: each write of the state file adds one run, the hashes of its blocks sorted, stored as
//! rows of [`CHUNK`] entries under sequential keys (run id, first hash of the row); runs are
//! merged two at a time as they grow, so there are at most about log2(entries / run) of them.
//! A lookup asks each run, newest first, for the one row that can hold the hash.
//!
//! Why not one B-tree keyed by hash (state format 3): every batch of the state file's writer
//! inserted its transactions at random places in a table of all transactions ever included (a
//! million after op-bench's set-up), copying and rewriting most of its leaf pages per batch.
//! A run is written at the end of the table, and a merge reads and writes whole runs in order.
//!
//! A rewind adds a run of tombstones for the removed transactions; a tombstone hides the entries
//! of older runs, and is dropped when a merge makes the oldest run.

use super::{StorageError, codec::corrupt};
use alloy::primitives::B256;
use redb::{ReadableTable, TableDefinition};

/// Run id (u64, big-endian) ++ the first hash of the row -> [`CHUNK`] entries or fewer, sorted
/// by hash, each hash (32) ++ block number (u64 BE) ++ index (u32 BE).
pub(crate) const TX_RUNS: TableDefinition<&[u8; 40], &[u8]> = TableDefinition::new("tx_runs");
/// Run id -> its number of entries.
pub(crate) const TX_RUN_SIZES: TableDefinition<u64, u64> = TableDefinition::new("tx_run_sizes");

/// Entries per row: a row is about 2.8 kB, well under a 4 kB page.
const CHUNK: usize = 64;
/// Bytes per entry.
const ENTRY: usize = 44;
/// The block number of a tombstone.
const TOMBSTONE: u64 = u64::MAX;

/// One entry: (transaction hash, block number, index in block).
pub(crate) type TxEntry = (B256, u64, u32);

/// The entry of a transaction removed by a rewind.
pub(crate) fn tombstone(hash: B256) -> TxEntry {
    (hash, TOMBSTONE, u32::MAX)
}

fn row_key(run: u64, hash: &B256) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&run.to_be_bytes());
    key[8..].copy_from_slice(hash.as_slice());
    key
}

fn decode_entry(bytes: &[u8]) -> TxEntry {
    let hash = B256::from_slice(&bytes[..32]);
    let number = u64::from_be_bytes(bytes[32..40].try_into().expect("8 bytes"));
    let index = u32::from_be_bytes(bytes[40..44].try_into().expect("4 bytes"));
    (hash, number, index)
}

fn check_row(bytes: &[u8]) -> Result<(), StorageError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(ENTRY) || bytes.len() > CHUNK * ENTRY {
        return Err(corrupt(
            "tx_runs",
            format!("a row of {} bytes", bytes.len()),
        ));
    }
    Ok(())
}

/// Where transaction `hash` was included, by the runs of `read`'s state file.
pub(crate) fn find(
    read: &redb::ReadTransaction,
    hash: &B256,
) -> Result<Option<(u64, u32)>, StorageError> {
    let runs = read.open_table(TX_RUN_SIZES)?;
    let rows = read.open_table(TX_RUNS)?;
    for run in runs.iter()?.rev() {
        let run = run?.0.value();
        let (start, end) = (row_key(run, &B256::ZERO), row_key(run, hash));
        let Some(row) = rows.range::<&[u8; 40]>(&start..=&end)?.next_back() else {
            continue;
        };
        let row = row?.1;
        let bytes = row.value();
        check_row(bytes)?;
        if let Some((_, number, index)) = search_row(bytes, hash) {
            return Ok((number != TOMBSTONE).then_some((number, index)));
        }
    }
    Ok(None)
}

/// The entry of `hash` in one row, by binary search over its sorted entries.
fn search_row(bytes: &[u8], hash: &B256) -> Option<TxEntry> {
    let (mut lo, mut hi) = (0, bytes.len() / ENTRY);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let entry = &bytes[mid * ENTRY..(mid + 1) * ENTRY];
        match entry[..32].cmp(hash.as_slice()) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(decode_entry(entry)),
        }
    }
    None
}

/// Adds `entries` (sorted by hash) as the newest run, then merges the newest runs while the
/// newest is at least as large as the one before it.
pub(crate) fn write_run(
    tx: &redb::WriteTransaction,
    entries: &[TxEntry],
) -> Result<(), StorageError> {
    if entries.is_empty() {
        return Ok(());
    }
    debug_assert!(entries.is_sorted_by_key(|(h, _, _)| *h));
    let mut runs = tx.open_table(TX_RUN_SIZES)?;
    let mut rows = tx.open_table(TX_RUNS)?;
    let id = match runs.last()? {
        Some((id, _)) => id.value() + 1,
        None => 0,
    };
    let mut entries: Vec<TxEntry> = entries.to_vec();
    // One entry per hash (a batch never includes a transaction twice; keep the later one).
    entries.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            *earlier = *later;
            true
        } else {
            false
        }
    });
    put_run(&mut rows, &mut runs, id, &entries)?;
    loop {
        let newest: Vec<(u64, u64)> = runs
            .iter()?
            .rev()
            .take(3)
            .map(|r| r.map(|(id, size)| (id.value(), size.value())))
            .collect::<Result<_, _>>()?;
        let [(new_id, new_size), (old_id, old_size), ..] = newest[..] else {
            return Ok(());
        };
        if new_size < old_size {
            return Ok(());
        }
        let oldest = newest.len() == 2;
        let newer = take_run(&mut rows, &mut runs, new_id)?;
        let older = take_run(&mut rows, &mut runs, old_id)?;
        let merged = merge(&older, &newer, oldest);
        put_run(&mut rows, &mut runs, new_id, &merged)?;
    }
}

/// Writes run `id`.
fn put_run(
    rows: &mut redb::Table<&[u8; 40], &[u8]>,
    runs: &mut redb::Table<u64, u64>,
    id: u64,
    entries: &[TxEntry],
) -> Result<(), StorageError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::with_capacity(CHUNK * ENTRY);
    for chunk in entries.chunks(CHUNK) {
        buf.clear();
        for (hash, number, index) in chunk {
            buf.extend_from_slice(hash.as_slice());
            buf.extend_from_slice(&number.to_be_bytes());
            buf.extend_from_slice(&index.to_be_bytes());
        }
        rows.insert(&row_key(id, &chunk[0].0), buf.as_slice())?;
    }
    runs.insert(id, entries.len() as u64)?;
    Ok(())
}

/// Reads and removes run `id`.
fn take_run(
    rows: &mut redb::Table<&[u8; 40], &[u8]>,
    runs: &mut redb::Table<u64, u64>,
    id: u64,
) -> Result<Vec<TxEntry>, StorageError> {
    let size = runs.remove(id)?.map_or(0, |s| s.value());
    let mut entries = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let (start, end) = (
        row_key(id, &B256::ZERO),
        row_key(id, &B256::repeat_byte(0xff)),
    );
    for row in rows.extract_from_if::<&[u8; 40], _>(&start..=&end, |_, _| true)? {
        let row = row?.1;
        check_row(row.value())?;
        entries.extend(row.value().chunks_exact(ENTRY).map(decode_entry));
    }
    if entries.len() as u64 != size {
        return Err(corrupt(
            "tx_runs",
            format!(
                "run {id} holds {} entries, its size says {size}",
                entries.len()
            ),
        ));
    }
    Ok(entries)
}

/// The union of two sorted runs, `newer`'s entry winning a hash both hold; tombstones go when
/// the result is the `oldest` run (nothing older is left for them to hide).
fn merge(older: &[TxEntry], newer: &[TxEntry], oldest: bool) -> Vec<TxEntry> {
    let mut out = Vec::with_capacity(older.len() + newer.len());
    let (mut i, mut j) = (0, 0);
    while i < older.len() || j < newer.len() {
        let next = match (older.get(i), newer.get(j)) {
            (Some(a), Some(b)) if a.0 < b.0 => {
                i += 1;
                *a
            }
            (Some(a), Some(b)) if a.0 == b.0 => {
                i += 1;
                j += 1;
                *b
            }
            (_, Some(b)) => {
                j += 1;
                *b
            }
            (Some(a), None) => {
                i += 1;
                *a
            }
            (None, None) => unreachable!("the loop's condition"),
        };
        if !(oldest && next.1 == TOMBSTONE) {
            out.push(next);
        }
    }
    out
}

/// Converts a format-3 state file: its transaction index table becomes one run, and the file
/// is marked format 4, in one durable transaction (a crash leaves format 3, converted again at
/// the next open).
pub(crate) fn convert_format_3(db: &redb::Database) -> Result<(), StorageError> {
    use super::tables::{FORMAT_KEY, STATE_FORMAT, STATE_META, TX_INDEX_V3};
    let mut tx = db.begin_write()?;
    tx.set_durability(redb::Durability::Immediate)?;
    let mut entries: Vec<TxEntry> = tx
        .open_table(TX_INDEX_V3)?
        .iter()?
        .map(|row| {
            row.map(|(hash, at)| {
                let (number, index) = at.value();
                (B256::from(*hash.value()), number, index)
            })
        })
        .collect::<Result<_, _>>()?;
    entries.sort_unstable_by_key(|(hash, _, _)| *hash);
    tx.open_table(TX_RUNS)?;
    tx.open_table(TX_RUN_SIZES)?;
    write_run(&tx, &entries)?;
    tx.delete_table(TX_INDEX_V3)?;
    tx.open_table(STATE_META)?
        .insert(FORMAT_KEY, STATE_FORMAT)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use redb::{Database, ReadableDatabase, ReadableTableMetadata, backends::InMemoryBackend};
    use std::collections::BTreeMap;

    fn db() -> Database {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(TX_RUNS).unwrap();
        tx.open_table(TX_RUN_SIZES).unwrap();
        tx.commit().unwrap();
        db
    }

    proptest! {
        /// Batches of inclusions and removals (hashes from a small set, so batches meet the
        /// same hashes again) read back as a map that applies them in order, after every batch.
        #[test]
        fn runs_match_a_map(batches in prop::collection::vec(
            (prop::collection::vec((0u16..600, 0u64..1000, 0u32..100), 0..300), any::<bool>()),
            1..12,
        )) {
            let db = db();
            let mut model: BTreeMap<B256, (u64, u32)> = BTreeMap::new();
            for (writes, removal) in batches {
                let mut entries: Vec<TxEntry> = writes
                    .iter()
                    .map(|(h, n, i)| {
                        let hash = B256::left_padding_from(&h.to_be_bytes());
                        if removal { tombstone(hash) } else { (hash, *n, *i) }
                    })
                    .collect();
                entries.sort_by_key(|(h, _, _)| *h);
                entries.dedup_by_key(|(h, _, _)| *h);
                for (hash, n, i) in &entries {
                    if *n == TOMBSTONE {
                        model.remove(hash);
                    } else {
                        model.insert(*hash, (*n, *i));
                    }
                }
                let tx = db.begin_write().unwrap();
                write_run(&tx, &entries).unwrap();
                tx.commit().unwrap();
                let read = db.begin_read().unwrap();
                let runs = read.open_table(TX_RUN_SIZES).unwrap().len().unwrap();
                // Sizes at least double from newest to oldest.
                prop_assert!(runs <= 12);
                for h in 0u16..600 {
                    let hash = B256::left_padding_from(&h.to_be_bytes());
                    prop_assert_eq!(find(&read, &hash).unwrap(), model.get(&hash).copied());
                }
            }
        }
    }

    /// A run of 10,000 entries spans many rows; a lookup finds each and nothing else.
    #[test]
    fn many_rows() {
        let db = db();
        let mut entries: Vec<TxEntry> = (0u32..10_000)
            .map(|i| (alloy::primitives::keccak256(i.to_be_bytes()), 7, i))
            .collect();
        entries.sort_by_key(|(h, _, _)| *h);
        let tx = db.begin_write().unwrap();
        write_run(&tx, &entries).unwrap();
        tx.commit().unwrap();
        let read = db.begin_read().unwrap();
        for (hash, number, index) in &entries {
            assert_eq!(find(&read, hash).unwrap(), Some((*number, *index)));
        }
        assert_eq!(find(&read, &B256::repeat_byte(0xff)).unwrap(), None);
        assert_eq!(find(&read, &B256::ZERO).unwrap(), None);
    }
}
