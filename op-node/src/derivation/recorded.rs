//! From a block the inbox recorded to the inputs of the next L2 block (BATCHES.md §5). The inbox
//! already checked every rule L1 can check, so a recorded block is always a block of the chain;
//! what is left here is to open its L1 origin (the L1-info deposit and, at sequence number 0,
//! the origin's deposits) and to decode its transactions. One that does not decode, is not
//! signed, or is a type this chain does not know is left out, as the engine leaves out those the
//! EVM refuses (nonce, balance, fee, gas): the block stands either way.

use super::{FeeScalars, L1View, block_inputs};
use crate::{block::RecoveredTx, engine::BlockAttributes, txpool::recover_sender};
use alloy::{
    eips::eip2718::Decodable2718,
    primitives::{Address, B256, Bytes},
};
use bridge::{
    inbox::{BlockInputs, InboxConfig, InboxState, RecordedBlock},
    l1_info::L1BlockInfo,
};
use op_alloy::consensus::OpTxEnvelope;
use rayon::prelude::*;
use std::sync::Arc;
use tracing::debug;

/// The derivation parameters of the rollup config.
#[derive(Debug, Clone, Copy)]
pub struct BatchRules {
    /// The inbox's parameters (genesis, sequencing window, drift).
    pub inbox: InboxConfig,
    /// The batcher, recorded in every L1-info deposit.
    pub batcher: Address,
    /// L1 data fee scalars, recorded in every L1-info deposit.
    pub scalars: FeeScalars,
}

/// The last L2 block derived from L1, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHead {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Timestamp.
    pub timestamp: u64,
    /// Its L1 origin and sequence number (`None` for the L2 genesis).
    pub origin: Option<L1BlockInfo>,
}

impl SafeHead {
    /// The inbox's state right after this block was recorded (no block open): what the inbox
    /// derivation replays from.
    pub fn inbox_state(&self, config: &InboxConfig) -> InboxState {
        match &self.origin {
            None => InboxState::genesis(config),
            Some(o) => InboxState::after(
                &BlockInputs {
                    number: self.number,
                    timestamp: self.timestamp,
                    epoch: o.number,
                    epoch_hash: o.hash,
                    sequence_number: o.sequence_number,
                    tx_root: B256::ZERO,
                    tx_count: 0,
                },
                o.timestamp,
            ),
        }
    }
}

/// The inputs of the next L2 block.
#[derive(Debug, Clone)]
pub struct NextBlock {
    /// Timestamp, PREVRANDAO and the deposits that open the block.
    pub attributes: BlockAttributes,
    /// The recorded transactions that decode, with their senders, in order.
    pub txs: Vec<Arc<RecoveredTx>>,
}

/// Why a recorded block cannot be opened: the node's L1 view does not hold its origin as the
/// inbox saw it (which the inbox's own check makes impossible on the chain this node follows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("L1 origin {epoch} ({hash}) of L2 block {number} is not in the L1 view")]
pub struct OriginMissing {
    /// The L2 block.
    pub number: u64,
    /// Its epoch.
    pub epoch: u64,
    /// The hash the inbox checked.
    pub hash: B256,
}

/// The timestamp, PREVRANDAO and deposits of recorded block `block`, from its origin in `l1`.
pub fn attributes(
    block: &BlockInputs,
    l1: &L1View,
    rules: &BatchRules,
) -> Result<BlockAttributes, OriginMissing> {
    let origin = l1
        .block(block.epoch)
        .filter(|o| o.hash == block.epoch_hash)
        .ok_or(OriginMissing {
            number: block.number,
            epoch: block.epoch,
            hash: block.epoch_hash,
        })?;
    Ok(block_inputs(
        origin,
        block.sequence_number,
        block.timestamp,
        rules.batcher,
        rules.scalars,
    ))
}

/// Decodes a recorded block's transactions and recovers their senders (in parallel: recovery
/// is the expensive part), leaving out each one that does not decode, is a deposit or a type
/// this chain does not execute, or has no valid signature.
pub fn decode_transactions(number: u64, raw: &[Bytes]) -> Vec<Arc<RecoveredTx>> {
    raw.par_iter()
        .enumerate()
        .filter_map(|(index, bytes)| match decode(bytes) {
            Ok(tx) => Some(Arc::new(tx)),
            Err(reason) => {
                debug!(target: "derivation", l2 = number, index, %reason, "leaving out a recorded transaction");
                None
            }
        })
        .collect()
}

fn decode(bytes: &Bytes) -> Result<RecoveredTx, String> {
    let tx = OpTxEnvelope::decode_2718_exact(bytes).map_err(|e| e.to_string())?;
    if tx.is_deposit() || matches!(tx, OpTxEnvelope::PostExec(_)) {
        return Err("deposit transactions come from L1 deposits, never from the inbox".into());
    }
    let sender = recover_sender(&tx).map_err(|e| e.to_string())?;
    Ok(RecoveredTx::from_parts(tx, sender, bytes.clone()))
}

/// A recorded block ready to open: its inputs and the L1 block whose inbox call recorded it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The L1 block of the call that recorded it.
    pub l1_block: u64,
    /// What the inbox recorded.
    pub block: RecordedBlock,
}
