//! The L1 contracts (bridge/contracts/L1, compiled into bridge/artifacts) in the real EVM: revm
//! with Prague rules, every contract deployed by a transaction, withdrawals proven with storage
//! proofs built by `bridge::proof`. See bridge/CONTRACTS.md for what each contract promises.

#[path = "l1_contracts/abi.rs"]
mod abi;
#[path = "l1_contracts/bisection.rs"]
mod bisection;
#[path = "l1_contracts/bisection_game.rs"]
mod bisection_game;
#[path = "l1_contracts/bisection_props.rs"]
mod bisection_props;
#[path = "l1_contracts/deposit_market.rs"]
mod deposit_market;
#[path = "l1_contracts/deposits.rs"]
mod deposits;
#[path = "l1_contracts/game_verifier.rs"]
mod game_verifier;
#[path = "l1_contracts/games.rs"]
mod games;
#[path = "l1_contracts/harness.rs"]
mod harness;
#[path = "l1_contracts/hashing.rs"]
mod hashing;
#[path = "l1_contracts/inbox.rs"]
mod inbox;
#[path = "l1_contracts/inbox_props.rs"]
mod inbox_props;
#[path = "l1_contracts/log_index.rs"]
mod log_index;
#[path = "l1_contracts/multicall.rs"]
mod multicall;
#[path = "l1_contracts/portal_invariants.rs"]
mod portal_invariants;
#[path = "l1_contracts/portal_model.rs"]
mod portal_model;
#[path = "l1_contracts/portal_steps.rs"]
mod portal_steps;
#[path = "l1_contracts/proposal_trust.rs"]
mod proposal_trust;
#[path = "l1_contracts/trie.rs"]
mod trie;
#[path = "l1_contracts/viem.rs"]
mod viem;
#[path = "l1_contracts/withdrawals.rs"]
mod withdrawals;
