//! The fraud-proof VM: an EVM-instruction-level step machine with one-step proofs.
//!
//! `fraud-vm/SPEC.md` is normative; this crate is its reference implementation.
//!
//! - [`state`]: the machine state record and its commitment, the stack hash chain.
//! - [`merkle`]: the word Merkle tree behind memory, calldata and return data.
//! - [`memo`]: bounded caches of code hashes and calldata and return-data trees.
//! - [`smt`]: the sparse Merkle tree behind the world overlay and the per-transaction sets.
//! - [`mpt`]: reads from the block's pre-state trie (Merkle-Patricia proofs).
//! - [`mpt_write`]: Merkle-Patricia writes with witnesses (the block end steps).
//! - [`frame`]: the frame chain and checkpoints (call and create frames).
//! - [`tx`]: transaction records and the block's transaction list.
//! - [`world`]: the world-state commitment, checkpoints, logs, and the prover's world.
//! - [`trace`]: the revm inspector that turns an execution into machine states.
//! - [`step`]: one module per step family, shared by prover and verifier.
//! - [`precompiles`]: the rollup's bounded L2 precompile set, shared by every EVM that runs L2 blocks.
//! - [`proof`]: one-step proofs, [`verify`] and [`prove`].
//! - [`witness`]: a block's pre-state from an execution witness (trie nodes, codes, headers).
//! - [`block_start`]: a block's first state from its parent's output (`blockStart`).
//! - [`block`]: the records of a block's end, the header, the output root, `blockEnd`.
//! - [`receipt`]: receipts as the block end reads and encodes them.
//! - [`bisect`]: the bisection game over block numbers and step indices.
//! - [`check`]: whole OP L2 blocks traced with op-revm, every step proved and verified.
//! - [`codec`]: the canonical binary encoding of proofs and records.

pub mod bisect;
pub mod block;
pub mod block_start;
pub mod check;
pub mod codec;
pub mod frame;
mod keccak4;
pub mod keccak_lanes;
pub mod memo;
pub mod merkle;
pub mod mpt;
pub mod mpt_write;
pub mod precompiles;
pub mod proof;
pub mod range_fact;
pub mod receipt;
pub mod smt;
pub mod state;
pub mod step;
pub mod trace;
pub mod tx;
pub mod witness;
pub mod world;

pub use proof::{ApplyError, StepProof, VerifyError, prove, prove_boundary, prove_partial, verify};
pub use state::{FullState, MachineState, Status};
