//! What a player does next in a game, from the game as L1 holds it and what the player knows
//! (fraud-vm/SPEC.md §12.2). Pure: the caller reads the game, asks here, and sends the moves.
//!
//! - The *challenger* challenges a wrong claim once, answers each of the defender's
//!   commitments (agree iff it equals its own), proves the leaf step itself, ends challenges
//!   whose defender ran out of time, resolves games a challenger won, and collects.
//! - The *defender* (the proposer, in the games it created) names its true output roots and
//!   states, opens layer 2 at a layer-1 leaf, proves the leaf step when that wins, ends
//!   challenges whose challenger ran out of time, resolves the games it won, and collects.
//!
//! Each side resolves only the outcome it gains from, so the two never race to the same
//! `resolve` (a lost race is a reverted transaction).
//!
//! A dishonest challenger (devnet fault injection) challenges right claims and answers
//! without looking, or (`DisagreeFromDeposits`) truly up to the first block with user deposits,
//! or (`DisagreeAtLongStep`) truly up to the first step over a long range.

use super::{
    ChallengerError,
    game::{ChallengeView, GameView, Move, Outcome, Side},
    truth::{Oracle, Truth},
};
use alloy::primitives::Address;
use tracing::{debug, warn};

/// How a challenger answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Challenges wrong claims only; agrees exactly with true commitments.
    Honest,
    /// Challenges right claims; disagrees with every commitment (fault injection).
    AlwaysDisagree,
    /// Challenges right claims; answers at random (fault injection).
    Random,
    /// Challenges right claims at or above the first L2 block that carries user deposits;
    /// answers truly below that block and disagrees from it on, and with every layer-2
    /// commitment (fault injection: it takes the defender to layer 2 over that block, whose
    /// `blockStart` needs the deposit log-index oracle).
    DisagreeFromDeposits,
    /// Challenges right claims at or above the first L2 block holding a step over a long
    /// range (fraud-vm/SPEC.md §3.4.1: more than `LONG_WORDS` words, decided on L1 from a range
    /// fact; an opcode's range, a call's input or a transaction start's data); answers truly below that block in layer 1 and disagrees from it on, and in layer
    /// 2 truly up to that step's position and disagrees past it (fault injection: the first
    /// differing step is the long step, so the defender must run its range jobs on L1 and then
    /// prove it in its L1 form).
    DisagreeAtLongStep,
}

/// The moves the challenger `me` makes now in `game`, at L1 time `now`. Moves whose answer is
/// not known yet (a block not yet safe, a layer-2 answer that failed) are left for a later
/// round; a failed answer is logged, never guessed.
pub fn challenger_moves(
    game: &GameView,
    me: Address,
    now: u64,
    strategy: Strategy,
    oracle: &dyn Oracle,
) -> Vec<Move> {
    let mut moves = Vec::new();
    let mine: Vec<&ChallengeView> = game
        .challenges
        .iter()
        .filter(|c| c.challenger == me)
        .collect();
    if mine.is_empty() && game.window_open(now) {
        match (strategy, oracle.output(game.l2_block, game.l1_head)) {
            (Strategy::Honest, Ok(Truth::Root(root))) if root != game.root_claim => {
                moves.push(Move::Challenge)
            }
            (Strategy::Honest, Ok(Truth::Underivable)) => moves.push(Move::Challenge),
            (Strategy::AlwaysDisagree | Strategy::Random, Ok(Truth::Root(root)))
                if root == game.root_claim =>
            {
                moves.push(Move::Challenge)
            }
            (Strategy::DisagreeFromDeposits, Ok(Truth::Root(root))) if root == game.root_claim => {
                match oracle.first_deposit_block(0, game.l2_block) {
                    Ok(Some(_)) => moves.push(Move::Challenge),
                    Ok(None) => {}
                    Err(e) => {
                        warn!(target: "challenger", game = %game.address, error = %e, "cannot look for user deposits; will retry")
                    }
                }
            }
            (Strategy::DisagreeAtLongStep, Ok(Truth::Root(root))) if root == game.root_claim => {
                match oracle.first_long_step(0, game.l2_block) {
                    Ok(Some(_)) => moves.push(Move::Challenge),
                    Ok(None) => {}
                    Err(e) => {
                        warn!(target: "challenger", game = %game.address, error = %e, "cannot look for a long step; will retry")
                    }
                }
            }
            (_, Err(e)) => {
                warn!(target: "challenger", game = %game.address, error = %e, "cannot check the claim; will retry")
            }
            _ => {}
        }
    }
    for c in mine.into_iter().filter(|c| c.outcome == Outcome::None) {
        if game.challenger_won {
            // Someone won: an open challenge only gets its bond back.
            moves.push(Move::ResolveChallenge { id: c.id });
            continue;
        }
        if c.expired(now) {
            if c.turn == Side::Defender {
                moves.push(Move::ResolveChallenge { id: c.id });
            }
            continue;
        }
        match c.turn {
            Side::Challenger => match answer(game, c, strategy, oracle) {
                Ok(Some(agree)) => moves.push(Move::Answer { id: c.id, agree }),
                Ok(None) => {}
                Err(e) => {
                    warn!(target: "challenger", game = %game.address, challenge = c.id, error = %e, "cannot answer yet; will retry")
                }
            },
            // At a layer-2 leaf the step decides, and anyone may prove it on the defender's
            // clock: the honest challenger does not wait for the defender to fail.
            Side::Defender if c.layer == 2 && c.at_leaf() && strategy == Strategy::Honest => {
                match oracle.step_proof(c.step_block, c.agreed.0) {
                    Ok(step) if step.post != c.disputed.1 => moves.push(Move::Step {
                        id: c.id,
                        proof: step.proof,
                    }),
                    Ok(_) => {}
                    Err(e) => {
                        warn!(target: "challenger", game = %game.address, challenge = c.id, error = %e, "cannot prove the leaf step")
                    }
                }
            }
            Side::Defender => {}
        }
    }
    // The challenger resolves the games a challenger won; the proposer those it won.
    if game.challenger_won && game.resolvable(now) {
        moves.push(Move::Resolve);
    }
    collect(game, &mut moves);
    moves
}

/// Whether the challenger `me`, having made no moves this round, will never again have one in
/// `game`: its challenges are over and paid, or it has none and never will (the window has
/// closed, or the claim's block is safe here, so the decision not to challenge is final).
/// Dropping such games keeps each round's L1 reads to the games still in play.
pub fn challenger_done(game: &GameView, me: Address, now: u64, oracle: &dyn Oracle) -> bool {
    if game.challenges.iter().any(|c| c.challenger == me) {
        return game.done_for(me);
    }
    !game.window_open(now)
        || matches!(
            oracle.output(game.l2_block, game.l1_head),
            Ok(Truth::Root(_))
        )
}

/// The challenger's answer to the defender's pending commitment: `Some(agree)`, or `None`
/// when it cannot be known yet.
fn answer(
    game: &GameView,
    c: &ChallengeView,
    strategy: Strategy,
    oracle: &dyn Oracle,
) -> Result<Option<bool>, ChallengerError> {
    let position = c.next_position();
    match strategy {
        Strategy::AlwaysDisagree => return Ok(Some(false)),
        Strategy::Random => return Ok(Some(coin(game.address, c.id, position))),
        Strategy::DisagreeFromDeposits => {
            // The first deposit block in `(agreed, disputed]` stays the same block as the
            // bisection narrows (true answers below it, "disagree" from it), so the layer-1
            // leaf is the one over it.
            let below = c.layer == 1
                && oracle
                    .first_deposit_block(c.agreed.0, c.disputed.0)?
                    .is_some_and(|first| position < first);
            if !below {
                return Ok(Some(false));
            }
        }
        Strategy::DisagreeAtLongStep => {
            // Layer 1 as `DisagreeFromDeposits`, with the first block holding a long step; in
            // layer 2, true answers up to the long step's position `p` and "disagree" past it,
            // so the leaf is `[p, p + 1]`: the long step itself.
            let truthful = if c.layer == 1 {
                oracle
                    .first_long_step(c.agreed.0, c.disputed.0)?
                    .is_some_and(|(first, _)| position < first)
            } else {
                oracle
                    .first_long_step(c.step_block.saturating_sub(1), c.step_block)?
                    .is_some_and(|(_, p)| position <= p)
            };
            if !truthful {
                return Ok(Some(false));
            }
        }
        Strategy::Honest => {}
    }
    if c.layer == 1 {
        return Ok(match oracle.output(position, game.l1_head)? {
            Truth::Root(root) => Some(root == c.pending),
            Truth::Underivable => Some(false),
            Truth::NotYetSafe => None,
        });
    }
    Ok(Some(
        oracle.commitment(c.step_block, position)? == c.pending,
    ))
}

/// A coin flip that differs per game, challenge and position.
fn coin(game: Address, id: u64, position: u64) -> bool {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one((game, id, position)) & 1 == 1
}

/// The moves the defender `me` (the game's creator) makes now in `game`, at L1 time `now`.
pub fn defender_moves(game: &GameView, me: Address, now: u64, oracle: &dyn Oracle) -> Vec<Move> {
    let mut moves = Vec::new();
    if game.creator != me {
        return moves;
    }
    for c in game
        .challenges
        .iter()
        .filter(|c| c.outcome == Outcome::None)
    {
        if game.challenger_won {
            continue;
        }
        if c.expired(now) {
            if c.turn == Side::Challenger {
                moves.push(Move::ResolveChallenge { id: c.id });
            }
            continue;
        }
        if c.turn != Side::Defender {
            continue;
        }
        match defend(game, c, oracle) {
            Ok(Some(mv)) => moves.push(mv),
            Ok(None) => {}
            Err(e) => {
                warn!(target: "proposer", game = %game.address, challenge = c.id, layer = c.layer, error = %e, "cannot defend; the challenge is lost if this lasts past the clock")
            }
        }
    }
    if !game.challenger_won && game.resolvable(now) {
        moves.push(Move::Resolve);
    }
    collect(game, &mut moves);
    moves
}

/// The defender's move in challenge `c`, if it has one.
fn defend(
    game: &GameView,
    c: &ChallengeView,
    oracle: &dyn Oracle,
) -> Result<Option<Move>, ChallengerError> {
    let position = c.next_position();
    match (c.layer, c.at_leaf()) {
        (1, false) => Ok(match oracle.output(position, game.l1_head)? {
            Truth::Root(claim) => Some(Move::Defend { id: c.id, claim }),
            _ => None,
        }),
        (1, true) => {
            let block = c.disputed.0;
            if oracle.output(block, game.l1_head)? != Truth::Root(c.disputed.1) {
                // Only a wrong claim of our own gets here (a faulty proposer): no true state
                // opens to it, so there is nothing to defend with.
                debug!(target: "proposer", game = %game.address, challenge = c.id, l2_block = block, "the disputed output is not ours to defend");
                return Ok(None);
            }
            let opening = oracle.opening(block)?;
            Ok(Some(Move::StartSteps { id: c.id, opening }))
        }
        (_, false) => Ok(Some(Move::Defend {
            id: c.id,
            claim: oracle.commitment(c.step_block, position)?,
        })),
        (_, true) => {
            let step = oracle.step_proof(c.step_block, c.agreed.0)?;
            // Only when it wins: a step that refutes our own state would hand the challenge
            // over; the clock does that anyway, without our gas.
            Ok((step.post == c.disputed.1).then_some(Move::Step {
                id: c.id,
                proof: step.proof,
            }))
        }
    }
}

/// Collecting what the game owes the player.
fn collect(game: &GameView, moves: &mut Vec<Move>) {
    if !game.credit.is_zero() {
        moves.push(Move::ClaimCredit);
    }
}

#[cfg(test)]
mod tests;
