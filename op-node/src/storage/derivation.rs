//! Derivation progress in the chain file: checkpoints by L1 block, and the safe, finalized and
//! L1 heads.

use super::{
    StorageError, Store,
    tables::{
        APPENDS, DERIVATION, FINALIZED_KEY, L1_FINALIZED_KEY, L1_HEAD_KEY, META, ORIGIN_HEADERS,
        SAFE_KEY,
    },
};
use alloy::primitives::B256;
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
            // By hash: a header is never replaced, whatever L1 reorganises.
            let mut origins = tx.open_table(ORIGIN_HEADERS)?;
            for (hash, header) in &update.origin_headers {
                origins.insert(&hash.0, header.as_ref())?;
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
    /// The RLP headers of the L1 origins of the blocks those appends recorded, by hash.
    pub origin_headers: Vec<(B256, alloy::primitives::Bytes)>,
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
