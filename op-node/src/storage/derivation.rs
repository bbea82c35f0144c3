//! Derivation progress in the chain file: checkpoints by L1 block, and the safe, finalized and
//! L1 heads.

use super::{
    StorageError, Store,
    tables::{
        APPENDS, DERIVATION, FINALIZED_KEY, L1_FINALIZED_KEY, L1_HEAD_KEY, META, ORIGIN_HEADERS,
        ORIGIN_NUMBERS, RECORDED_LISTS, SAFE_KEY,
    },
};
use alloy::primitives::{B256, Bytes};
use bridge::inbox::{BlockInputs, InputsProof};
use redb::{Durability, ReadableTable};

impl Store {
    /// Records derivation progress in one durable transaction: drops the checkpoints of L1
    /// blocks at or above `drop_from` (an L1 reorg replaced them), adds the new ones, and
    /// moves the safe and finalized heads (finalized: the safe head of the newest checkpoint
    /// at or below the L1's finalized block).
    pub fn put_derivation(&self, update: &DerivationUpdate) -> Result<(), StorageError> {
        let mut tx = self.chain.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        {
            let mut table = tx.open_table(DERIVATION)?;
            if let Some(from) = update.drop_from {
                table.retain_in::<u64, _>(from.., |_, _| false)?;
            }
            for record in &update.records {
                table.insert(record.l1_number, record.encode().as_slice())?;
            }
            let mut appends = tx.open_table(APPENDS)?;
            if let Some(from) = update.drop_from {
                // Appends of the replaced L1 blocks: derivation replays those blocks again.
                appends.retain(|_, v| StoredAppend::l1_block_of(v).is_some_and(|l1| l1 < from))?;
            }
            for append in &update.appends {
                if let Some(first) = append.first() {
                    appends.insert(first, append.encode().as_slice())?;
                }
            }
            let mut lists = tx.open_table(RECORDED_LISTS)?;
            if let Some(from) = update.drop_from {
                // Lists of the blocks the replaced L1 blocks recorded: derived again.
                lists.retain(|_, v| {
                    StoredRecordedList::l1_block_of(v).is_some_and(|l1| l1 < from)
                })?;
            }
            for list in &update.recorded_lists {
                lists.insert(list.number, list.encode().as_slice())?;
            }
            // By hash: a header is never replaced, whatever L1 reorganises.
            let mut origins = tx.open_table(ORIGIN_HEADERS)?;
            let mut numbers = tx.open_table(ORIGIN_NUMBERS)?;
            for (number, hash, header) in &update.origin_headers {
                origins.insert(&hash.0, header.as_ref())?;
                numbers.insert((*number, &hash.0), ())?;
            }
            // Headers of L1 blocks so far behind the finalized one that no game can open a
            // block of theirs any more are dropped (their index entries with them).
            if let Some(cutoff) = update
                .l1_finalized
                .and_then(|f| f.checked_sub(ORIGIN_HEADERS_RETAINED))
            {
                let old: Vec<(u64, [u8; 32])> = numbers
                    .range(..(cutoff, &[0u8; 32]))?
                    .map(|entry| {
                        entry.map(|(k, _)| {
                            let (n, h) = k.value();
                            (n, *h)
                        })
                    })
                    .collect::<Result<_, _>>()?;
                for (number, hash) in &old {
                    origins.remove(hash)?;
                    numbers.remove((*number, hash))?;
                }
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
        let mut tx = self.chain.begin_write()?;
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
    /// The inbox's append records the new checkpoints' L1 blocks stored, oldest first.
    pub appends: Vec<StoredAppend>,
    /// The RLP headers of the L1 origins of the blocks those appends recorded: number, hash,
    /// header.
    pub origin_headers: Vec<(u64, B256, Bytes)>,
    /// The recorded lists of the new derived blocks that left a recorded transaction out.
    pub recorded_lists: Vec<StoredRecordedList>,
}

/// How many L1 blocks behind the L1's finalized block an origin header is kept (about 14 days
/// at 12 s): a game opens a block whose inputs the inbox recorded before the game's L1 view,
/// and lives a challenge window plus its clocks after it is created (days), so a header this
/// old is needed only by a game over a block older than that, which an anchor that has not
/// moved for two weeks would allow (fraud-vm/SPEC.md §5.18: the known limit).
pub const ORIGIN_HEADERS_RETAINED: u64 = 100_000;

/// The recorded list of a derived L2 block that left some of it out (BATCHES.md §5.2): the
/// inbox's transactions of the block, in order, as L1 holds them, and the L1 block whose inbox
/// call recorded the block. A dispute's layer 2 traces the block from this list
/// (fraud-vm/SPEC.md §5.9: the left-out ones are skip steps), since the block start ties it to
/// the inbox's `tx_root` (§5.18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecordedList {
    /// The L2 block.
    pub number: u64,
    /// The L1 block of the inbox call that recorded it.
    pub l1_block: u64,
    /// The recorded transactions, EIP-2718 encoded as appended (some may not decode).
    pub transactions: Vec<Bytes>,
}

impl StoredRecordedList {
    /// `l1_block ‖ (u32 len ‖ bytes)*`; the L2 number is the table's key.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let len = self.transactions.iter().map(|t| 4 + t.len()).sum::<usize>();
        let mut out = Vec::with_capacity(8 + len);
        out.extend_from_slice(&self.l1_block.to_be_bytes());
        for t in &self.transactions {
            out.extend_from_slice(&(t.len() as u32).to_be_bytes());
            out.extend_from_slice(t);
        }
        out
    }

    fn l1_block_of(bytes: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
    }

    pub(crate) fn decode(number: u64, bytes: &[u8]) -> Result<Self, StorageError> {
        let corrupt = |reason: &str| StorageError::Corrupt {
            table: "recorded_lists",
            reason: format!("L2 block {number}: {reason}"),
        };
        let l1_block = Self::l1_block_of(bytes).ok_or_else(|| corrupt("no L1 block"))?;
        let mut rest = &bytes[8..];
        let mut transactions = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| corrupt("a cut length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            if tail.len() < len {
                return Err(corrupt("a cut transaction"));
            }
            transactions.push(Bytes::copy_from_slice(&tail[..len]));
            rest = &tail[len..];
        }
        Ok(Self {
            number,
            l1_block,
            transactions,
        })
    }
}

/// One append record of the L1 `BatchInbox` (op-node/BATCHES.md §3.3) as derivation replayed
/// it: its index, its L1 block and the inputs of the blocks it completed. From it the block start
/// of a dispute opens any of those blocks' `inputs_n` (BATCHES.md §3.4, fraud-vm/SPEC.md §5.18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppend {
    /// `appendIndex`.
    pub index: u64,
    /// The L1 block that included the call.
    pub l1_block: u64,
    /// The completed blocks' inputs, in order (consecutive numbers).
    pub blocks: Vec<BlockInputs>,
}

impl StoredAppend {
    /// Length of one block's inputs in the encoding.
    const BLOCK_LEN: usize = 8 + 8 + 8 + 32 + 8 + 32 + 4;

    /// The first block it completed.
    pub fn first(&self) -> Option<u64> {
        self.blocks.first().map(|b| b.number)
    }

    /// The inputs of block `number`, if this append completed it.
    pub fn inputs(&self, number: u64) -> Option<&BlockInputs> {
        let at = usize::try_from(number.checked_sub(self.first()?)?).ok()?;
        self.blocks.get(at).filter(|b| b.number == number)
    }

    /// The inbox's `blockInputs` proof of block `number`, if this append completed it.
    pub fn opening(&self, number: u64) -> Option<InputsProof> {
        self.inputs(number)?;
        let leaves: Vec<B256> = self.blocks.iter().map(BlockInputs::commitment).collect();
        InputsProof::new(self.index, self.first()?, self.l1_block, &leaves, number)
    }

    /// `index ‖ l1_block ‖ (number ‖ timestamp ‖ epoch ‖ epoch_hash ‖ sequence_number ‖ tx_root
    /// ‖ tx_count)*`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + Self::BLOCK_LEN * self.blocks.len());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.l1_block.to_be_bytes());
        for b in &self.blocks {
            for x in [b.number, b.timestamp, b.epoch] {
                out.extend_from_slice(&x.to_be_bytes());
            }
            out.extend_from_slice(b.epoch_hash.as_slice());
            out.extend_from_slice(&b.sequence_number.to_be_bytes());
            out.extend_from_slice(b.tx_root.as_slice());
            out.extend_from_slice(&b.tx_count.to_be_bytes());
        }
        out
    }

    fn l1_block_of(bytes: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        let corrupt = || StorageError::Corrupt {
            table: "appends",
            reason: format!("{} bytes", bytes.len()),
        };
        if bytes.len() < 16 || !(bytes.len() - 16).is_multiple_of(Self::BLOCK_LEN) {
            return Err(corrupt());
        }
        let u64_at = |b: &[u8], i: usize| -> Result<u64, StorageError> {
            Ok(u64::from_be_bytes(
                b.get(i..i + 8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(corrupt)?,
            ))
        };
        let blocks = bytes[16..]
            .chunks_exact(Self::BLOCK_LEN)
            .map(|b| {
                Ok(BlockInputs {
                    number: u64_at(b, 0)?,
                    timestamp: u64_at(b, 8)?,
                    epoch: u64_at(b, 16)?,
                    epoch_hash: B256::from_slice(&b[24..56]),
                    sequence_number: u64_at(b, 56)?,
                    tx_root: B256::from_slice(&b[64..96]),
                    tx_count: u32::from_be_bytes(b[96..100].try_into().map_err(|_| corrupt())?),
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(Self {
            index: u64_at(bytes, 0)?,
            l1_block: u64_at(bytes, 8)?,
            blocks,
        })
    }
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
