//! The challenger: watches every game the dispute-game factory creates, challenges each claim
//! that differs from the node's own output root at that block (or claims a block the game's
//! L1 view cannot derive), and plays the two-layer bisection (fraud-vm/SPEC.md §8, §12) to the
//! end on its own: answers, the leaf step, resolution, credit. It runs beside the devnet's
//! sequencer or an `op-node verifier`, with its own L1 key.
//!
//! Rooms: `game` (a game as L1 holds it, and the moves), `truth` (what the node knows),
//! `layer2` (fraud-vm's answers inside a block), `log_index` (the deposit log-index oracle
//! brought up before a `blockStart` that needs it), `play` (what to do next), `player` (the round
//! loop, shared with the proposer's defence). Logs use the target `challenger`.

mod error;
pub mod game;
pub mod layer2;
pub mod log_index;
pub mod play;
pub mod player;
pub mod range_jobs;
#[cfg(test)]
mod test_l1;
pub mod truth;

pub use error::ChallengerError;
pub use play::Strategy;
pub use player::{Player, Role};
pub use truth::{NodeOracle, Oracle, Truth};

use crate::{chain::ChainConfig, storage::Store};
use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use std::{sync::Arc, time::Duration};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// What a challenger needs.
#[derive(Debug)]
pub struct ChallengerConfig {
    /// L1 JSON-RPC endpoint.
    pub l1_url: String,
    /// The factory whose games are watched.
    pub factory: Address,
    /// The game type played (the respected one).
    pub game_type: u32,
    /// The challenger's L1 key (it pays the bonds and the gas, and collects the credit).
    pub signer: PrivateKeySigner,
    /// The node's chain: the truth the claims are compared with.
    pub store: Arc<Store>,
    /// The L2's rules (layer 2 re-executes a disputed block).
    pub chain: Arc<ChainConfig>,
    /// How it answers ([`Strategy::Honest`] except for devnet fault injection).
    pub strategy: Strategy,
    /// Which long step [`Strategy::DisagreeAtLongStep`] takes the defender to (the first of
    /// any kind but for fault injection that asks for one).
    pub long_step: layer2::LongStepKind,
    /// Time between rounds.
    pub poll: Duration,
    /// Wakes a backed-off challenger when the L1 watcher reaches the L1 again.
    pub l1_recovered: crate::l1::L1Recovered,
}

/// Most polls a failing challenger waits between rounds (`2^MAX_BACKOFF_DOUBLINGS`): short,
/// because the chess clocks of the games it plays run while it waits.
const MAX_BACKOFF_DOUBLINGS: u32 = 3;

/// Starts the challenger task. L1 errors are retried with backoff (doubling up to 8 polls, cut
/// short when the L1 watcher reports the L1 reachable again); nothing it meets stops it.
pub fn spawn(config: ChallengerConfig) -> Result<JoinHandle<()>, String> {
    let provider = crate::l1::wallet_provider(&config.l1_url, config.signer.clone())?;
    let me = config.signer.address();
    let oracle = NodeOracle::new(config.store.clone(), config.chain.clone())
        .with_long_step(config.long_step);
    info!(target: "challenger", address = %me, strategy = ?config.strategy, long_step = ?config.long_step, factory = %config.factory, game_type = config.game_type, "challenger started");
    let mut player = Player::new(
        provider,
        config.factory,
        config.game_type,
        me,
        Role::Challenger(config.strategy),
    );
    let mut recovered = config.l1_recovered.clone();
    Ok(tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let wait = config.poll * 2u32.pow(failures.min(MAX_BACKOFF_DOUBLINGS));
            crate::l1::back_off(wait, &mut recovered).await;
            match player.round(&oracle).await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(target: "challenger", error = %e, failures, "round failed; backing off");
                }
            }
        }
    }))
}
