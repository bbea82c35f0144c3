//! Derivation: from L1 data to the inputs of L2 blocks.
//!
//! Every L2 block has an L1 origin (an L1 block at least `confirmation_depth` behind the L1
//! head) and opens with the L1-info deposit, which records that origin in the L1Block
//! predeploy. The first L2 block of an origin (sequence number 0) also carries the user
//! deposits the portal emitted in that L1 block, in log order. The origin advances one L1
//! block at a time and never moves back, so each deposit log is included in exactly one L2
//! block; after a restart the origin is read back from the head block's L1-info deposit.

pub(crate) mod driver;
mod l1_watcher;
pub mod recorded;

pub use driver::{DerivationOutcome, Driver, DriverError, inbox_config};
pub use l1_watcher::{L1View, L1Watcher, L1WatcherConfig};
pub use recorded::{BatchRules, NextBlock, SafeHead};

use crate::{block::RecoveredTx, engine::BlockAttributes};
use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, Log, Sealed, TxKind, U256, b256},
};
use bridge::{
    deposit::{DepositData, L1_INFO_DEPOSIT_DOMAIN, USER_DEPOSIT_DOMAIN, source_hash},
    l1_info::{L1_BLOCK, L1_INFO_DEPOSITOR, L1_INFO_GAS, L1BlockInfo},
};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};
use std::sync::Arc;

/// `keccak256("TransactionDeposited(address,address,uint256,bytes)")`.
pub const TRANSACTION_DEPOSITED: B256 =
    b256!("0xb3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32");

/// An L1 block as derivation uses it: its attributes and the deposits it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Block {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Timestamp.
    pub timestamp: u64,
    /// Base fee.
    pub base_fee: u64,
    /// PREVRANDAO (mix hash), which the L2 block reuses.
    pub mix_hash: B256,
    /// The block's RLP header (hashing to `hash`), which a dispute's block start carries for
    /// the L2 blocks of this origin (fraud-vm/SPEC.md §5.18); empty when the L1 RPC's header
    /// does not re-encode to its hash.
    pub header: alloy::primitives::Bytes,
    /// The user deposits of this block, in log order.
    pub deposits: Vec<TxDeposit>,
    /// The successful calls to the batch inbox in this block, in log order.
    pub inbox_calls: Vec<InboxCall>,
}

/// A successful call to the BatchInbox, as its event and (for an append) its calldata show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxCall {
    /// `appendBlocks(data)`: `BlocksAppended(first, count, appendIndex, record)`.
    Append {
        /// The `data` argument, from the L1 transaction's calldata.
        data: alloy::primitives::Bytes,
        /// The first block the call started at.
        first: u64,
        /// How many blocks it completed.
        count: u64,
        /// The index of the record it stored (`appendIndex`: the next record's index when it
        /// stored none).
        index: u64,
        /// The record it stored (zero when it completed none).
        record: B256,
    },
    /// `forceNextEpoch(header)`: `EpochForced(first, count, appendIndex, record, epoch, timestamp)`.
    Force {
        /// The first block it recorded (the open block it closed, or the forced block).
        first: u64,
        /// How many blocks it recorded.
        count: u64,
        /// The index of the record it stored (`appendIndex`).
        index: u64,
        /// The record it stored.
        record: B256,
        /// The forced epoch.
        epoch: u64,
    },
}

/// Fee parameters the L1-info deposit carries (chain parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeScalars {
    /// Scalar on the L1 base fee.
    pub base_fee_scalar: u32,
    /// Scalar on the L1 blob base fee.
    pub blob_base_fee_scalar: u32,
}

impl Default for FeeScalars {
    /// The OP Stack's defaults.
    fn default() -> Self {
        Self {
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
        }
    }
}

/// Why a portal log is not a deposit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositLogError {
    /// Not a `TransactionDeposited` log with four topics.
    #[error("not a TransactionDeposited log")]
    NotADeposit,
    /// A version this node does not know.
    #[error("unknown deposit version {0}")]
    UnknownVersion(U256),
    /// The data is not `abi.encode(bytes)`.
    #[error("malformed log data")]
    MalformedData,
    /// The opaque data does not decode.
    #[error(transparent)]
    Opaque(#[from] bridge::deposit::DepositDecodeError),
}

/// The deposit transaction a portal `TransactionDeposited` log asks for.
pub fn deposit_from_log(
    log: &Log,
    l1_block_hash: B256,
    log_index: u64,
) -> Result<TxDeposit, DepositLogError> {
    let topics = log.topics();
    if topics.len() != 4 || topics[0] != TRANSACTION_DEPOSITED {
        return Err(DepositLogError::NotADeposit);
    }
    let version = U256::from_be_bytes(topics[3].0);
    if !version.is_zero() {
        return Err(DepositLogError::UnknownVersion(version));
    }
    let from = Address::from_word(topics[1]);
    let to = Address::from_word(topics[2]);
    let opaque = abi_decode_bytes(&log.data.data).ok_or(DepositLogError::MalformedData)?;
    let data = DepositData::decode(opaque)?;
    Ok(TxDeposit {
        source_hash: source_hash(USER_DEPOSIT_DOMAIN, l1_block_hash, log_index),
        from,
        to: if data.is_creation {
            TxKind::Create
        } else {
            TxKind::Call(to)
        },
        mint: u128::try_from(data.mint).unwrap_or(u128::MAX),
        value: data.value,
        gas_limit: data.gas_limit,
        is_system_transaction: false,
        input: data.data,
    })
}

/// Decodes `abi.encode(bytes)`, refusing anything malformed.
fn abi_decode_bytes(data: &[u8]) -> Option<&[u8]> {
    if data.len() < 64 {
        return None;
    }
    let offset = usize::try_from(U256::from_be_slice(&data[..32])).ok()?;
    let len_end = offset.checked_add(32)?;
    let len = usize::try_from(U256::from_be_slice(data.get(offset..len_end)?)).ok()?;
    data.get(len_end..len_end.checked_add(len)?)
}

/// The L1-info deposit that opens an L2 block with origin `origin` at `sequence_number`.
pub fn l1_info_deposit(
    origin: &L1Block,
    sequence_number: u64,
    batcher: Address,
    scalars: FeeScalars,
) -> TxDeposit {
    let info = L1BlockInfo {
        base_fee_scalar: scalars.base_fee_scalar,
        blob_base_fee_scalar: scalars.blob_base_fee_scalar,
        sequence_number,
        timestamp: origin.timestamp,
        number: origin.number,
        base_fee: U256::from(origin.base_fee),
        blob_base_fee: U256::from(1u64),
        hash: origin.hash,
        batcher_hash: batcher.into_word(),
        operator_fee_scalar: 0,
        operator_fee_constant: 0,
    };
    TxDeposit {
        source_hash: source_hash(L1_INFO_DEPOSIT_DOMAIN, origin.hash, sequence_number),
        from: L1_INFO_DEPOSITOR,
        to: TxKind::Call(L1_BLOCK),
        mint: 0,
        value: U256::ZERO,
        gas_limit: L1_INFO_GAS,
        is_system_transaction: false,
        input: info.encode_calldata(),
    }
}

/// Wraps a deposit as a block transaction (its sender is its `from`).
pub fn deposit_tx(deposit: TxDeposit) -> Arc<RecoveredTx> {
    let from = deposit.from;
    Arc::new(RecoveredTx::new(
        OpTxEnvelope::Deposit(Sealed::new(deposit)),
        from,
    ))
}

/// The L1 origin an L2 block recorded: its L1-info deposit, if it has one.
pub fn origin_of(txs: &[Arc<RecoveredTx>]) -> Option<L1BlockInfo> {
    let first = txs.first()?;
    match first.tx.inner() {
        OpTxEnvelope::Deposit(d) if d.from == L1_INFO_DEPOSITOR => {
            L1BlockInfo::decode_calldata(d.input()).ok()
        }
        _ => None,
    }
}

/// Chooses the next L2 block's origin and builds its attributes.
///
/// `parent` is the parent block's recorded origin (`None` for the first L2 block, which
/// takes L1 block `genesis_origin`). The origin advances to the next L1 block when that block
/// is confirmed and not newer than the L2 block's timestamp.
pub fn next_attributes(
    parent: Option<&L1BlockInfo>,
    genesis_origin: u64,
    l1: &L1View,
    timestamp: u64,
    batcher: Address,
    scalars: FeeScalars,
) -> Result<(BlockAttributes, L1BlockInfo), DerivationError> {
    let (origin, sequence_number) = match parent {
        None => (
            l1.confirmed(genesis_origin)
                .cloned()
                .ok_or(DerivationError::OriginUnknown(genesis_origin))?,
            0,
        ),
        Some(p) => {
            let next = l1.confirmed(p.number + 1);
            match next {
                Some(next) if next.parent_hash == p.hash && next.timestamp <= timestamp => {
                    (next.clone(), 0)
                }
                Some(next) if next.parent_hash != p.hash => {
                    return Err(DerivationError::OriginReorged {
                        number: p.number,
                        expected: p.hash,
                    });
                }
                _ => {
                    let current = l1
                        .block(p.number)
                        .cloned()
                        .ok_or(DerivationError::OriginUnknown(p.number))?;
                    if current.hash != p.hash {
                        return Err(DerivationError::OriginReorged {
                            number: p.number,
                            expected: p.hash,
                        });
                    }
                    (current, p.sequence_number + 1)
                }
            }
        }
    };
    let attributes = block_inputs(
        &origin,
        sequence_number,
        timestamp.max(origin.timestamp),
        batcher,
        scalars,
    );
    let info = origin_of(&attributes.forced).expect("opens with the L1-info deposit");
    Ok((attributes, info))
}

/// The attributes of an L2 block with L1 origin `origin` at `sequence_number`: the L1-info
/// deposit, then (first block of the epoch only) the origin's deposits.
pub fn block_inputs(
    origin: &L1Block,
    sequence_number: u64,
    timestamp: u64,
    batcher: Address,
    scalars: FeeScalars,
) -> BlockAttributes {
    let mut forced = vec![deposit_tx(l1_info_deposit(
        origin,
        sequence_number,
        batcher,
        scalars,
    ))];
    if sequence_number == 0 {
        forced.extend(origin.deposits.iter().cloned().map(deposit_tx));
    }
    BlockAttributes {
        timestamp,
        prev_randao: origin.mix_hash,
        forced,
    }
}

/// Why the next block's inputs could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerivationError {
    /// The parent's origin is not (or no longer) in the L1 view.
    #[error("L1 origin {0} is not known to the L1 watcher yet")]
    OriginUnknown(u64),
    /// The L1 block after the origin does not build on it: L1 reorganised.
    #[error("L1 reorganised below the L2 head's origin (block {number}, hash {expected})")]
    OriginReorged {
        /// The origin's number.
        number: u64,
        /// The hash the L2 chain recorded.
        expected: B256,
    },
}

#[cfg(test)]
mod tests;
