//! The one place layer 2 of the game (the steps of one L2 block, fraud-vm/SPEC.md §8) asks
//! fraud-vm for answers: the block's step count and end state, the commitment at a block-wide
//! position, a one-step proof, and the block start and end proofs `startSteps` needs.
//!
//! Pending: fraud-vm v0.4 has the block start and end steps and their answers
//! (`fraud_vm::check::BlockSteps`), and the devnet's `GameVerifier` has the Solidity
//! block-boundary verifier that checks them, but this module does not produce them yet: every
//! call returns [`Layer2Error::BoundaryPending`], so no agent enters layer 2 and a defender at a
//! layer-1 leaf does not open its block and loses on time (logged). Only this module changes
//! when it does.

use crate::storage::Store;
use alloy::primitives::{B256, Bytes};
use std::sync::Arc;

/// Why a layer-2 answer is not available.
#[derive(Debug, thiserror::Error)]
pub enum Layer2Error {
    /// fraud-vm has no block start and end steps yet (SPEC §5.9).
    #[error(
        "layer 2 of L2 block {block} needs fraud-vm's block start and end steps (SPEC §5.9), which are pending"
    )]
    BoundaryPending {
        /// The block asked about.
        block: u64,
    },
}

/// What `startSteps` sends for block `n`: the step count `N`, the end state `s_N`, and the
/// proofs the game's verifier checks them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// `N`: the block's last step index.
    pub step_count: u64,
    /// `commit(s_N)`.
    pub end_state: B256,
    /// `IBlockBoundaryVerifier.blockStart`'s proof.
    pub start_proof: Bytes,
    /// `IBlockBoundaryVerifier.blockEnd`'s proof.
    pub end_proof: Bytes,
}

/// A one-step proof of the step from a position, and the commitment it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// The canonical proof (SPEC §6.3).
    pub proof: Bytes,
    /// The post-state commitment the proof verifies to.
    pub post: B256,
}

/// Layer-2 answers for the blocks of the node's own chain.
#[derive(Debug, Clone)]
pub struct BlockSteps {
    /// Where the blocks and their pre-states come from (historical state, execution witness).
    pub store: Arc<Store>,
}

impl BlockSteps {
    /// What the defender of block `block` opens layer 2 with.
    pub fn opening(&self, block: u64) -> Result<Opening, Layer2Error> {
        Err(Layer2Error::BoundaryPending { block })
    }

    /// `commit(s_m)` of block `block` at block-wide position `position`.
    pub fn commitment_at(&self, block: u64, position: u64) -> Result<B256, Layer2Error> {
        let _ = position;
        Err(Layer2Error::BoundaryPending { block })
    }

    /// The proof of the step from position `position` of block `block`.
    pub fn step_proof(&self, block: u64, position: u64) -> Result<StepProof, Layer2Error> {
        let _ = position;
        Err(Layer2Error::BoundaryPending { block })
    }
}
