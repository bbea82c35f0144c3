//! Why a player's round failed.

/// An error of the challenger or of the proposer's defence. Every one is retried on the next
/// round (with backoff for the L1's errors); none stops the node.
#[derive(Debug, thiserror::Error)]
pub enum ChallengerError {
    /// The L1 did not answer a read, or answered nonsense.
    #[error("L1 read {what}: {reason}")]
    L1Read {
        /// What was read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A move could not be sent, or its transaction reverted (a stale view: the game moved on,
    /// or another player made the same move first).
    #[error("{what} in game {game}: {reason}")]
    Move {
        /// The move.
        what: &'static str,
        /// The game.
        game: alloy::primitives::Address,
        /// Why.
        reason: String,
    },
    /// The node's own chain could not be read.
    #[error("L2 storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// A layer-2 answer could not be computed.
    #[error(transparent)]
    Layer2(#[from] super::layer2::Layer2Error),
}

impl ChallengerError {
    pub(crate) fn read(what: &'static str) -> impl Fn(alloy::contract::Error) -> Self {
        move |e| Self::L1Read {
            what,
            reason: e.to_string(),
        }
    }
}
