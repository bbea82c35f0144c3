//! What the node knows to be true: its own output root at an L2 block (layer 1) and, through
//! the layer-2 adapter, its own machine states inside a block (layer 2).

use super::{
    ChallengerError,
    layer2::{BlockSteps, LongStepKind, Opening, StepProof},
};
use crate::{chain::ChainConfig, storage::Store};
use alloy::primitives::B256;
use op_alloy::consensus::OpTxEnvelope;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// The node's view of the output root at one L2 block, relative to a game's L1 view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// The block is safe here (derived from L1): its output root.
    Root(B256),
    /// Not derived yet: the claim waits.
    NotYetSafe,
    /// Beyond what the game's L1 view (`l1Head`) can derive: no output there is right.
    Underivable,
}

/// Where a player gets the true answers from. One implementation reads the node's chain
/// ([`NodeOracle`]); the decision tests use a table.
pub trait Oracle: Send + Sync {
    /// The output root at L2 block `block`, for a game whose L1 view ends at L1 block
    /// `l1_head` (`None` while that block's number is unknown).
    fn output(&self, block: u64, l1_head: Option<u64>) -> Result<Truth, ChallengerError>;
    /// Opening layer 2 over block `block`.
    fn opening(&self, block: u64) -> Result<Opening, ChallengerError>;
    /// `commit(s_position)` of block `block`.
    fn commitment(&self, block: u64, position: u64) -> Result<B256, ChallengerError>;
    /// The proof of the step from `position` in block `block`.
    fn step_proof(&self, block: u64, position: u64) -> Result<StepProof, ChallengerError>;
    /// The first L2 block in `after + 1 ..= upto` that carries user deposits (a deposit
    /// transaction after the block's L1-info deposit: the first block of an epoch whose L1
    /// block holds portal deposits), if any. Only the `disagree-from-deposits` fault injection
    /// asks.
    fn first_deposit_block(&self, after: u64, upto: u64) -> Result<Option<u64>, ChallengerError>;
    /// The first L2 block in `after + 1 ..= upto` holding a step over a long range (one the L1
    /// verifier decides from a range fact, fraud-vm/SPEC.md §3.4.1), and that step's block-wide
    /// position (the state it runs from), if any. Only the `disagree-at-long-step` fault
    /// injection asks.
    fn first_long_step(&self, after: u64, upto: u64)
    -> Result<Option<(u64, u64)>, ChallengerError>;
}

/// The first long step's position of each block traced for it, by block number, with the
/// block's hash (a reorged block is traced again).
type LongSteps = HashMap<u64, (B256, Option<u64>)>;

/// The truth as the node's own storage holds it: output roots of safe blocks, and the
/// derivation checkpoints that say how far the L1 has been read.
#[derive(Debug, Clone)]
pub struct NodeOracle {
    store: Arc<Store>,
    steps: BlockSteps,
    /// [`Oracle::first_long_step`]'s answers by block number, with the block's hash: each
    /// block is traced once (fault injection only).
    long_steps: Arc<Mutex<LongSteps>>,
    /// The kind of long step [`Oracle::first_long_step`] looks for.
    long_step: LongStepKind,
}

impl NodeOracle {
    /// Reads `store`, an L2 with the rules `chain` (layer 2 re-executes its blocks).
    pub fn new(store: Arc<Store>, chain: Arc<ChainConfig>) -> Self {
        Self {
            steps: BlockSteps::new(store.clone(), chain),
            store,
            long_steps: Arc::default(),
            long_step: LongStepKind::Any,
        }
    }

    /// This oracle with [`Oracle::first_long_step`] looking for the first long step of kind
    /// `kind` (fault injection only: `--fault-challenger-long-step`).
    pub fn with_long_step(mut self, kind: LongStepKind) -> Self {
        self.long_step = kind;
        self
    }
}

impl Oracle for NodeOracle {
    fn output(&self, block: u64, l1_head: Option<u64>) -> Result<Truth, ChallengerError> {
        // One reader: the safe head and the derivation checkpoint come from the same snapshot.
        let reader = self.store.reader()?;
        let safe = reader.safe_number()?.unwrap_or(0);
        if block <= safe {
            return match crate::proposer::output_root(&self.store, block)? {
                Some((root, _)) => Ok(Truth::Root(root)),
                None => Ok(Truth::NotYetSafe),
            };
        }
        // Once derivation has read past the game's L1 view, every block that view can derive
        // is safe here; a claim above the safe head is beyond the derivable L2 head, and so
        // wrong (SPEC §12.6). Before that, it waits.
        let Some(l1_head) = l1_head else {
            return Ok(Truth::NotYetSafe);
        };
        let derived_past = reader
            .last_derivation()?
            .is_some_and(|d| d.l1_number >= l1_head);
        Ok(if derived_past {
            Truth::Underivable
        } else {
            Truth::NotYetSafe
        })
    }

    fn opening(&self, block: u64) -> Result<Opening, ChallengerError> {
        Ok(self.steps.opening(block)?)
    }

    fn commitment(&self, block: u64, position: u64) -> Result<B256, ChallengerError> {
        Ok(self.steps.commitment_at(block, position)?)
    }

    fn step_proof(&self, block: u64, position: u64) -> Result<StepProof, ChallengerError> {
        Ok(self.steps.step_proof(block, position)?)
    }

    fn first_deposit_block(&self, after: u64, upto: u64) -> Result<Option<u64>, ChallengerError> {
        // A scan of the bodies: fault injection on small devnet chains, never the honest path.
        let reader = self.store.reader()?;
        for number in after.saturating_add(1)..=upto {
            let txs = reader.transactions(number)?;
            if txs
                .iter()
                .skip(1)
                .any(|tx| matches!(tx.tx.inner(), OpTxEnvelope::Deposit(_)))
            {
                return Ok(Some(number));
            }
        }
        Ok(None)
    }

    fn first_long_step(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Option<(u64, u64)>, ChallengerError> {
        // Fault injection on small devnet chains, never the honest path: each block that holds
        // more than its L1-info deposit is traced once with fraud-vm.
        for number in after.saturating_add(1)..=upto {
            let (hash, count) = {
                let reader = self.store.reader()?;
                let Some(block) = reader.block(number)? else {
                    return Ok(None);
                };
                (block.hash, block.txs.len())
            };
            if count <= 1 {
                continue;
            }
            let known = self
                .long_steps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&number)
                .filter(|(h, _)| *h == hash)
                .map(|(_, found)| *found);
            let found = match known {
                Some(found) => found,
                None => {
                    let started = std::time::Instant::now();
                    let found = self.steps.first_long_step(number, self.long_step)?;
                    tracing::debug!(target: "challenger", l2_block = number, kind = ?self.long_step, long_step = ?found, elapsed_ms = started.elapsed().as_millis() as u64, "fault injection: block traced for a long step");
                    self.long_steps
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(number, (hash, found));
                    found
                }
            };
            if let Some(position) = found {
                return Ok(Some((number, position)));
            }
        }
        Ok(None)
    }
}
