//! op-node: an optimistic-rollup node. It executes transactions with op-revm, seals L2 blocks,
//! keeps them in one redb file and serves the Ethereum JSON-RPC.
//!
//! Each module is one room: `chain` (rules and genesis), `block` (shared block types),
//! `trie` (incremental Merkle-Patricia trie), `storage` (redb), `engine` (execution and
//! sealing), `txpool` (admission and ordering), `sequencer` (the block loop), `rpc`
//! (JSON-RPC server), `web` (the bridge page's server), `node` (wiring), `cli` (flags); the
//! rollup's rooms: `derivation` (L1 to L2 block inputs), `batcher` (sealed blocks into the L1
//! batch inbox; the format itself is `bridge::inbox`), `proposer`, `l1` (bridge deployment).

pub mod allocator;
pub mod batcher;
pub mod block;
pub mod chain;
pub mod challenger;
pub mod check_block;
pub mod cli;
pub mod derivation;
pub mod engine;
pub mod l1;
pub mod node;
pub mod proposer;
pub mod rollup;
pub mod rpc;
pub mod sequencer;
pub mod storage;
pub mod thread_cpu;
pub mod trie;
pub mod txpool;
pub mod web;
