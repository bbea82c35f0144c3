//! One bisection game (fraud-vm/SPEC.md §12) as read from L1, and the moves sent to it. Every
//! round reads the game afresh, so a player's view is the contract's state, never a memory
//! of its own moves: a restart picks up where the chain is, and a move is only ever made
//! when the contract says it is the player's turn.

use super::ChallengerError;
use crate::l1::bindings::BisectionGame;
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use tracing::info;

/// `IDisputeGame.status` values.
pub mod status {
    /// Not resolved.
    pub const IN_PROGRESS: u8 = 0;
    /// The claim fell.
    pub const CHALLENGER_WINS: u8 = 1;
    /// The claim stands.
    pub const DEFENDER_WINS: u8 = 2;
}

/// Whose move it is in a challenge (`BisectionGame.Side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The game's creator.
    Defender,
    /// The challenge's opener.
    Challenger,
}

/// How a challenge ended (`BisectionGame.Outcome`); `None` while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still open.
    None,
    /// The defender won it.
    DefenderWon,
    /// The challenger won it (the claim fell).
    ChallengerWon,
    /// Refunded after another challenger won.
    Refunded,
}

/// One challenge as the contract holds it, with the L1 time it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeView {
    /// Its id in the game.
    pub id: u64,
    /// Who opened it.
    pub challenger: Address,
    /// 1: over L2 blocks (output roots); 2: over the steps of `step_block` (states).
    pub layer: u8,
    /// Who moves next.
    pub turn: Side,
    /// How it ended.
    pub outcome: Outcome,
    /// The last agreed position and commitment.
    pub agreed: (u64, B256),
    /// The first disputed position and commitment.
    pub disputed: (u64, B256),
    /// The defender's commitment at the midpoint, awaiting the challenger's answer.
    pub pending: B256,
    /// The L2 block of layer 2.
    pub step_block: u64,
    /// When the last move was made (L1 seconds).
    pub last_move_at: u64,
    /// Seconds on the defender's clock at the last move.
    pub defender_clock: u64,
    /// Seconds on the challenger's clock at the last move.
    pub challenger_clock: u64,
}

impl ChallengeView {
    /// The position the defender names next (SPEC §8: `i + ⌊(j − i) / 2⌋`).
    pub fn next_position(&self) -> u64 {
        self.agreed.0 + (self.disputed.0 - self.agreed.0) / 2
    }

    /// Whether only one step (layer 2) or one block (layer 1) is left.
    pub fn at_leaf(&self) -> bool {
        self.disputed.0 - self.agreed.0 == 1
    }

    /// Whether the side to move has run out of time at L1 time `now` (then anyone may end the
    /// challenge: `resolveChallenge`).
    pub fn expired(&self, now: u64) -> bool {
        let clock = match self.turn {
            Side::Defender => self.defender_clock,
            Side::Challenger => self.challenger_clock,
        };
        now.saturating_sub(self.last_move_at) > clock
    }
}

/// A game's fixed fields (read once) and its state (read every round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameView {
    /// The game's address.
    pub address: Address,
    /// `status` ([`status`]).
    pub status: u8,
    /// When it was created (L1 seconds).
    pub created_at: u64,
    /// The proposer (the defender of every challenge).
    pub creator: Address,
    /// The claimed output root.
    pub root_claim: B256,
    /// The claimed L2 block.
    pub l2_block: u64,
    /// The L1 block number of `l1Head` (the game's L1 view), once known.
    pub l1_head: Option<u64>,
    /// The challenge window and each side's clock (seconds).
    pub window: u64,
    /// Wei a challenge posts.
    pub challenge_bond: U256,
    /// Whether a challenger has won (the claim falls).
    pub challenger_won: bool,
    /// Challenges not yet ended.
    pub open_challenges: u64,
    /// Every challenge, by id.
    pub challenges: Vec<ChallengeView>,
    /// What the game owes the reading player.
    pub credit: U256,
}

impl GameView {
    /// Whether a challenge can still be opened at L1 time `now`.
    pub fn window_open(&self, now: u64) -> bool {
        self.status == status::IN_PROGRESS
            && !self.challenger_won
            && now < self.created_at + self.window
    }

    /// Whether `resolve()` succeeds at L1 time `now`.
    pub fn resolvable(&self, now: u64) -> bool {
        self.status == status::IN_PROGRESS
            && (self.challenger_won
                || (now >= self.created_at + self.window && self.open_challenges == 0))
    }

    /// Whether nothing is left for `me` to do in this game, ever: resolved, nothing owed, and
    /// no challenge of `me` open.
    pub fn done_for(&self, me: Address) -> bool {
        self.status != status::IN_PROGRESS
            && self.credit.is_zero()
            && !self
                .challenges
                .iter()
                .any(|c| c.challenger == me && c.outcome == Outcome::None)
    }
}

/// The fields of a game that never change, kept between rounds.
#[derive(Debug, Clone, Copy)]
pub struct GameFacts {
    created_at: u64,
    creator: Address,
    root_claim: B256,
    l2_block: u64,
    l1_head: Option<u64>,
    l1_head_hash: B256,
    window: u64,
    challenge_bond: U256,
}

impl GameFacts {
    /// The game's creator (its defender).
    pub fn creator(&self) -> Address {
        self.creator
    }
}

/// Reads the fixed fields of the game at `address`.
pub async fn read_facts<P: Provider + Clone>(
    provider: &P,
    address: Address,
) -> Result<GameFacts, ChallengerError> {
    let game = BisectionGame::new(address, provider.clone());
    let r = ChallengerError::read;
    let (created_at, creator, root_claim, l2_block, l1_head_hash, window, challenge_bond) = tokio::try_join!(
        async { game.createdAt().call().await.map_err(r("createdAt")) },
        async { game.gameCreator().call().await.map_err(r("gameCreator")) },
        async { game.rootClaim().call().await.map_err(r("rootClaim")) },
        async {
            game.l2BlockNumber()
                .call()
                .await
                .map_err(r("l2BlockNumber"))
        },
        async { game.l1Head().call().await.map_err(r("l1Head")) },
        async {
            game.maxClockDuration()
                .call()
                .await
                .map_err(r("maxClockDuration"))
        },
        async {
            game.challengeBond()
                .call()
                .await
                .map_err(r("challengeBond"))
        },
    )?;
    let mut facts = GameFacts {
        created_at,
        creator,
        root_claim,
        l2_block: u64::try_from(l2_block).unwrap_or(u64::MAX),
        l1_head: None,
        l1_head_hash,
        window,
        challenge_bond,
    };
    facts.l1_head = l1_number(provider, l1_head_hash).await;
    Ok(facts)
}

/// The number of the L1 block `hash`, if the L1 knows it.
async fn l1_number<P: Provider>(provider: &P, hash: B256) -> Option<u64> {
    provider
        .get_block_by_hash(hash)
        .await
        .ok()
        .flatten()
        .map(|b| b.header.number)
}

/// Reads the game's state for `me` (its credit is `me`'s).
pub async fn read_view<P: Provider + Clone>(
    provider: &P,
    address: Address,
    facts: &mut GameFacts,
    me: Address,
) -> Result<GameView, ChallengerError> {
    if facts.l1_head.is_none() {
        facts.l1_head = l1_number(provider, facts.l1_head_hash).await;
    }
    let game = BisectionGame::new(address, provider.clone());
    let r = ChallengerError::read;
    let (status, challenger_won, open, count, credit) = tokio::try_join!(
        async { game.status().call().await.map_err(r("status")) },
        async {
            game.challengerWon()
                .call()
                .await
                .map_err(r("challengerWon"))
        },
        async {
            game.openChallenges()
                .call()
                .await
                .map_err(r("openChallenges"))
        },
        async {
            game.challengeCount()
                .call()
                .await
                .map_err(r("challengeCount"))
        },
        async { game.credit(me).call().await.map_err(r("credit")) },
    )?;
    let count = u64::try_from(count).unwrap_or(0);
    let mut challenges = Vec::with_capacity(count as usize);
    for id in 0..count {
        let c = game
            .getChallenge(U256::from(id))
            .call()
            .await
            .map_err(r("getChallenge"))?;
        challenges.push(ChallengeView {
            id,
            challenger: c.challenger,
            layer: c.layer,
            turn: if c.turn == 0 {
                Side::Defender
            } else {
                Side::Challenger
            },
            outcome: match c.outcome {
                0 => Outcome::None,
                1 => Outcome::DefenderWon,
                2 => Outcome::ChallengerWon,
                _ => Outcome::Refunded,
            },
            agreed: (c.agreedPos, c.agreedClaim),
            disputed: (c.disputedPos, c.disputedClaim),
            pending: c.pendingClaim,
            step_block: c.stepBlock,
            last_move_at: c.lastMoveAt,
            defender_clock: c.defenderClock,
            challenger_clock: c.challengerClock,
        });
    }
    Ok(GameView {
        address,
        status,
        created_at: facts.created_at,
        creator: facts.creator,
        root_claim: facts.root_claim,
        l2_block: facts.l2_block,
        l1_head: facts.l1_head,
        window: facts.window,
        challenge_bond: facts.challenge_bond,
        challenger_won,
        open_challenges: u64::try_from(open).unwrap_or(u64::MAX),
        challenges,
        credit,
    })
}

/// A transaction a player sends to a game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// `challenge()` with the challenge bond.
    Challenge,
    /// `defend(id, claim)`.
    Defend {
        /// The challenge.
        id: u64,
        /// The defender's commitment at the midpoint.
        claim: B256,
    },
    /// `answer(id, agree)`.
    Answer {
        /// The challenge.
        id: u64,
        /// Whether the challenger agrees with the defender's commitment.
        agree: bool,
    },
    /// `startSteps(id, N, s_N, startProof, endProof)`.
    StartSteps {
        /// The challenge.
        id: u64,
        /// What opens the block.
        opening: super::layer2::Opening,
    },
    /// `step(id, proof)`.
    Step {
        /// The challenge.
        id: u64,
        /// The one-step proof of the agreed state.
        proof: Bytes,
    },
    /// `resolveChallenge(id)`.
    ResolveChallenge {
        /// The challenge.
        id: u64,
    },
    /// `resolve()`.
    Resolve,
    /// `claimCredit(me)`.
    ClaimCredit,
}

impl Move {
    /// The contract function's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Defend { .. } => "defend",
            Self::Answer { .. } => "answer",
            Self::StartSteps { .. } => "startSteps",
            Self::Step { .. } => "step",
            Self::ResolveChallenge { .. } => "resolveChallenge",
            Self::Resolve => "resolve",
            Self::ClaimCredit => "claimCredit",
        }
    }
}

/// Sends `mv` to the game in `view` from `me` and waits for its receipt; a reverted
/// transaction is an error. Logs the move with its gas under `target`. `sending` is held from
/// the estimate until the L1 has the transaction, so concurrent moves of one player take
/// consecutive nonces.
pub async fn send<P: Provider + Clone>(
    provider: &P,
    view: &GameView,
    me: Address,
    mv: &Move,
    log_target: &'static str,
    sending: &tokio::sync::Mutex<()>,
) -> Result<TransactionReceipt, ChallengerError> {
    let game = BisectionGame::new(view.address, provider.clone());
    let fail = |reason: String| ChallengerError::Move {
        what: mv.name(),
        game: view.address,
        reason,
    };
    let guard = sending.lock().await;
    // `blockStart` of a block that opens its epoch with user deposits reads their log indices
    // from the oracle: prove them first (from the same account, under the same lock).
    if let Move::StartSteps { opening, .. } = mv {
        super::log_index::prove_for_start(provider, view.address, &opening.start_proof)
            .await
            .map_err(fail)?;
    }
    // A step over a long range goes in its L1 form, after the range oracle's jobs it reads
    // (fraud-vm/SPEC.md §3.4.1; same account, same lock).
    let step_bytes = match mv {
        Move::Step { proof, .. } => Some(
            super::range_jobs::prepare_step(provider, view.address, me, proof)
                .await
                .map_err(|e| fail(e.to_string()))?,
        ),
        _ => None,
    };
    let sent = match mv {
        Move::Challenge => with_margin(game.challenge().value(view.challenge_bond)).await,
        Move::Defend { id, claim } => with_margin(game.defend(U256::from(*id), *claim)).await,
        Move::Answer { id, agree } => with_margin(game.answer(U256::from(*id), *agree)).await,
        Move::StartSteps { id, opening } => {
            with_margin(game.startSteps(
                U256::from(*id),
                opening.step_count,
                opening.end_state,
                opening.start_proof.clone(),
                opening.end_proof.clone(),
            ))
            .await
        }
        Move::Step { id, proof } => {
            let bytes = step_bytes.unwrap_or_else(|| proof.clone());
            with_margin(game.step(U256::from(*id), bytes)).await
        }
        Move::ResolveChallenge { id } => with_margin(game.resolveChallenge(U256::from(*id))).await,
        Move::Resolve => with_margin(game.resolve()).await,
        Move::ClaimCredit => with_margin(game.claimCredit(me)).await,
    }
    .map_err(|e| fail(e.to_string()));
    drop(guard);
    let receipt = sent?
        .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !receipt.status() {
        return Err(fail(format!(
            "reverted in L1 transaction {}",
            receipt.transaction_hash
        )));
    }
    log_move(log_target, view, mv, &receipt);
    Ok(receipt)
}

/// Sends `call` with a quarter more gas than the L1 estimates (plus 20,000). Every move runs
/// in a game clone's `DELEGATECALL`, where the 63/64 rule and refunds make the minimum that
/// succeeded at the estimate's state too tight for the block it lands in: without the margin,
/// `answer` and `defend` were seen to run out of gas inside the delegate call on the devnet's
/// L1. The unused gas is not paid.
async fn with_margin<P: Provider, D: alloy::contract::CallDecoder>(
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<
    alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    alloy::contract::Error,
> {
    let estimate = call.estimate_gas().await?;
    call.gas(estimate + estimate / 4 + 20_000).send().await
}

fn log_move(target: &'static str, view: &GameView, mv: &Move, receipt: &TransactionReceipt) {
    let (game, l2_block, gas, tx) = (
        view.address,
        view.l2_block,
        receipt.gas_used,
        receipt.transaction_hash,
    );
    // `tracing` needs the target as a literal: one arm per player.
    macro_rules! log {
        ($target:literal) => {
            match mv {
                Move::Defend { id, claim } => info!(target: $target, %game, l2_block, challenge = id, %claim, gas, %tx, "defend"),
                Move::Answer { id, agree } => info!(target: $target, %game, l2_block, challenge = id, agree, gas, %tx, "answer"),
                Move::StartSteps { id, opening } => info!(target: $target, %game, l2_block, challenge = id, steps = opening.step_count, gas, %tx, "startSteps"),
                Move::Step { id, .. } => info!(target: $target, %game, l2_block, challenge = id, gas, %tx, "step"),
                Move::ResolveChallenge { id } => info!(target: $target, %game, l2_block, challenge = id, gas, %tx, "resolveChallenge"),
                other => info!(target: $target, %game, l2_block, gas, %tx, "{}", other.name()),
            }
        };
    }
    match target {
        "proposer" => log!("proposer"),
        _ => log!("challenger"),
    }
}
