//! The round loop shared by the challenger and the proposer's defence: find the factory's
//! games of the respected type, read each one still of interest, decide, send.
//!
//! Restart-safe by construction: the list of games is rebuilt from the factory (index 0 on),
//! and every round decides from the game as L1 holds it now. A move is sent only when the
//! contract says it is the player's turn, and the next round reads the game only after the
//! move's receipt, so a player never moves twice for one turn.

use super::{
    ChallengerError,
    game::{self, GameFacts, Move},
    play::{self, Strategy},
    truth::Oracle,
};
use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use bridge::bindings::DisputeGameFactory;
use std::collections::BTreeMap;
use tracing::warn;

/// Which side a player takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Challenges others' claims.
    Challenger(Strategy),
    /// Defends its own claims (the proposer).
    Defender,
}

impl Role {
    fn log_target(self) -> &'static str {
        match self {
            Self::Challenger(_) => "challenger",
            Self::Defender => "proposer",
        }
    }
}

/// A player's memory between rounds: where the factory scan stands and the games still of
/// interest (their fixed fields).
#[derive(Debug)]
pub struct Player<P> {
    provider: P,
    factory: Address,
    game_type: u32,
    me: Address,
    role: Role,
    next_index: u64,
    games: BTreeMap<u64, (Address, GameFacts)>,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Games read.
    pub games: usize,
    /// Moves sent and mined.
    pub moves: usize,
    /// Moves that failed (retried next round).
    pub failed: usize,
}

impl<P: Provider + Clone> Player<P> {
    /// A player `me` in the games of `game_type` that `factory` creates.
    pub fn new(provider: P, factory: Address, game_type: u32, me: Address, role: Role) -> Self {
        Self {
            provider,
            factory,
            game_type,
            me,
            role,
            next_index: 0,
            games: BTreeMap::new(),
        }
    }

    /// One round: picks up new games, reads every game still of interest, then moves in all of
    /// them at once. A move waits for its receipt before the same game's next move, but games
    /// do not wait for each other: a player in many challenges still answers each well within
    /// its clock. Sends are serialized (one nonce at a time, read from the L1's pending state).
    /// An L1 read failing ends the round with the error (the caller backs off); a failing move
    /// is logged and counted, and the other games still get their turn.
    pub async fn round(&mut self, oracle: &dyn Oracle) -> Result<Round, ChallengerError> {
        self.scan().await?;
        let now = self.l1_time().await?;
        let Self {
            provider,
            me,
            role,
            games,
            ..
        } = self;
        let (provider, me, role) = (&*provider, *me, *role);
        let views = futures::future::try_join_all(games.iter_mut().map(
            |(index, (address, facts))| async move {
                game::read_view(provider, *address, facts, me)
                    .await
                    .map(|view| (*index, view))
            },
        ))
        .await?;
        let mut round = Round {
            games: views.len(),
            ..Round::default()
        };
        let mut finished = Vec::new();
        let mut plans = Vec::new();
        for (index, view) in views {
            let moves = match role {
                Role::Challenger(strategy) => {
                    play::challenger_moves(&view, me, now, strategy, oracle)
                }
                Role::Defender => play::defender_moves(&view, me, now, oracle),
            };
            let done = match role {
                Role::Challenger(_) => play::challenger_done(&view, me, now, oracle),
                Role::Defender => view.done_for(me),
            };
            if moves.is_empty() && done {
                finished.push(index);
            } else if !moves.is_empty() {
                plans.push((view, moves));
            }
        }
        let sending = tokio::sync::Mutex::new(());
        let sending = &sending;
        let outcomes = futures::future::join_all(plans.iter().map(|(view, moves)| async move {
            let (mut sent, mut failed) = (0, 0);
            for mv in moves {
                match game::send(provider, view, me, mv, role.log_target(), sending).await {
                    Ok(_) => sent += 1,
                    Err(e) => {
                        failed += 1;
                        warn!(target: "challenger", role = role.log_target(), game = %view.address, error = %e, "move failed; the next round reads the game again");
                        // Later moves were decided on the same view: re-read first.
                        break;
                    }
                }
                if matches!(mv, Move::Challenge) {
                    // The new challenge's id is read next round; answers wait for it.
                    break;
                }
            }
            (sent, failed)
        }))
        .await;
        for (sent, failed) in outcomes {
            round.moves += sent;
            round.failed += failed;
        }
        for index in finished {
            games.remove(&index);
        }
        Ok(round)
    }

    /// Adds the factory's new games of our type that concern us.
    async fn scan(&mut self) -> Result<(), ChallengerError> {
        let factory = DisputeGameFactory::new(self.factory, self.provider.clone());
        let count = factory
            .gameCount()
            .call()
            .await
            .map_err(ChallengerError::read("gameCount"))?;
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        while self.next_index < count {
            let entry = factory
                .gameAtIndex(U256::from(self.next_index))
                .call()
                .await
                .map_err(ChallengerError::read("gameAtIndex"))?;
            if entry.gameType_ == self.game_type {
                let facts = game::read_facts(&self.provider, entry.proxy_).await?;
                let ours = match self.role {
                    Role::Challenger(_) => true,
                    Role::Defender => facts.creator() == self.me,
                };
                if ours {
                    self.games.insert(self.next_index, (entry.proxy_, facts));
                }
            }
            self.next_index += 1;
        }
        Ok(())
    }

    /// The L1's time: the latest block's timestamp (what the game's clocks compare with).
    async fn l1_time(&self) -> Result<u64, ChallengerError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| ChallengerError::L1Read {
                what: "latest block",
                reason: e.to_string(),
            })?
            .ok_or_else(|| ChallengerError::L1Read {
                what: "latest block",
                reason: "the L1 has no latest block".into(),
            })?;
        Ok(block.header.timestamp)
    }
}
