//! The decisions against a table of true outputs (a test double of the node's chain, inside
//! this module's tests only), and a layer-1 bisection played to its leaf under the contract's
//! rules (SPEC §12.2) between the two sides' decisions.

use super::*;
use crate::challenger::{
    game::{GameView, status},
    layer2::{Opening, StepProof},
};
use alloy::primitives::{B256, U256};
use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};

/// True outputs 0..=safe; `underivable_above` marks the L1 view's end; `deposits` lists the
/// blocks that carry user deposits; `long_steps` the `(block, position)` of the first step over
/// a long range of the blocks that hold one. Every block has [`STEPS`] steps, whose true states
/// are [`state`].
struct Table {
    roots: Vec<B256>,
    underivable_above: Option<u64>,
    deposits: Vec<u64>,
    long_steps: Vec<(u64, u64)>,
}

/// `N` of every block in the table.
const STEPS: u64 = 1000;

fn root(n: u64) -> B256 {
    B256::left_padding_from(&n.to_be_bytes())
}

/// The true `commit(s_m)` of block `block` (past `N`, the end state's).
fn state(block: u64, m: u64) -> B256 {
    alloy::primitives::keccak256([block.to_be_bytes(), m.min(STEPS).to_be_bytes()].concat())
}

impl Table {
    fn safe(n: u64) -> Self {
        Self {
            roots: (0..=n).map(root).collect(),
            underivable_above: None,
            deposits: Vec::new(),
            long_steps: Vec::new(),
        }
    }
}

impl Oracle for Table {
    fn output(&self, block: u64, _: Option<u64>) -> Result<Truth, ChallengerError> {
        Ok(match self.roots.get(block as usize) {
            Some(r) => Truth::Root(*r),
            None if self.underivable_above.is_some_and(|h| block > h) => Truth::Underivable,
            None => Truth::NotYetSafe,
        })
    }
    fn opening(&self, block: u64) -> Result<Opening, ChallengerError> {
        Ok(Opening {
            step_count: STEPS,
            end_state: state(block, STEPS),
            start_proof: vec![0xa0].into(),
            end_proof: vec![0xe0].into(),
        })
    }
    fn commitment(&self, block: u64, position: u64) -> Result<B256, ChallengerError> {
        Ok(state(block, position))
    }
    fn step_proof(&self, block: u64, position: u64) -> Result<StepProof, ChallengerError> {
        Ok(StepProof {
            proof: position.to_be_bytes().to_vec().into(),
            post: state(block, position + 1),
        })
    }
    fn first_deposit_block(&self, after: u64, upto: u64) -> Result<Option<u64>, ChallengerError> {
        Ok(self
            .deposits
            .iter()
            .copied()
            .filter(|b| *b > after && *b <= upto)
            .min())
    }
    fn first_long_step(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Option<(u64, u64)>, ChallengerError> {
        Ok(self
            .long_steps
            .iter()
            .copied()
            .filter(|(b, _)| *b > after && *b <= upto)
            .min())
    }
}

const ME: Address = Address::repeat_byte(0xc1);
const PROPOSER: Address = Address::repeat_byte(0xd1);

fn game(l2_block: u64, claim: B256) -> GameView {
    GameView {
        address: Address::repeat_byte(0x9a),
        status: status::IN_PROGRESS,
        created_at: 1000,
        creator: PROPOSER,
        root_claim: claim,
        l2_block,
        l1_head: Some(50),
        window: 30,
        challenge_bond: U256::from(1),
        challenger_won: false,
        open_challenges: 0,
        challenges: vec![],
        credit: U256::ZERO,
    }
}

fn opened(g: &mut GameView, challenger: Address) {
    g.challenges.push(ChallengeView {
        id: g.challenges.len() as u64,
        challenger,
        layer: 1,
        turn: Side::Defender,
        outcome: Outcome::None,
        agreed: (0, root(0)),
        disputed: (g.l2_block, g.root_claim),
        pending: B256::ZERO,
        step_block: 0,
        last_move_at: 1001,
        defender_clock: 30,
        challenger_clock: 30,
    });
    g.open_challenges += 1;
}

#[test]
fn honest_challenger_challenges_only_wrong_or_underivable_claims() {
    let table = Table::safe(100);
    let now = 1005;
    let moves = |g: &GameView, t: &Table| challenger_moves(g, ME, now, Strategy::Honest, t);
    assert_eq!(moves(&game(40, root(40)), &table), vec![]);
    assert_eq!(moves(&game(40, root(41)), &table), vec![Move::Challenge]);
    // Beyond the safe head: wait, unless the game's L1 view cannot derive it.
    assert_eq!(moves(&game(140, root(7)), &table), vec![]);
    let view_ended = Table {
        underivable_above: Some(100),
        ..Table::safe(100)
    };
    assert_eq!(
        moves(&game(140, root(7)), &view_ended),
        vec![Move::Challenge]
    );
    // Never after the window, never twice.
    assert_eq!(
        challenger_moves(&game(40, root(41)), ME, 1030, Strategy::Honest, &table),
        vec![]
    );
    let mut g = game(40, root(41));
    opened(&mut g, ME);
    assert_eq!(moves(&g, &table), vec![]);
}

#[test]
fn the_challenger_drops_a_game_once_it_can_have_no_more_moves() {
    let table = Table::safe(100);
    // A right claim at a safe block: final at once. One beyond the safe head: kept until the
    // window closes.
    assert!(challenger_done(&game(40, root(40)), ME, 1005, &table));
    assert!(!challenger_done(&game(140, root(7)), ME, 1005, &table));
    assert!(challenger_done(&game(140, root(7)), ME, 1030, &table));
    // Its own challenge keeps the game until it is over, resolved and paid.
    let mut g = game(40, root(41));
    opened(&mut g, ME);
    assert!(!challenger_done(&g, ME, 1100, &table));
    g.challenges[0].outcome = Outcome::ChallengerWon;
    g.status = status::CHALLENGER_WINS;
    g.credit = U256::from(3);
    assert!(!challenger_done(&g, ME, 1100, &table));
    g.credit = U256::ZERO;
    assert!(challenger_done(&g, ME, 1100, &table));
}

#[test]
fn dishonest_challenger_challenges_right_claims() {
    let table = Table::safe(100);
    for s in [Strategy::AlwaysDisagree, Strategy::Random] {
        assert_eq!(
            challenger_moves(&game(40, root(40)), ME, 1005, s, &table),
            vec![Move::Challenge]
        );
        assert_eq!(
            challenger_moves(&game(40, root(41)), ME, 1005, s, &table),
            vec![]
        );
    }
}

#[test]
fn timeouts_resolution_and_credit() {
    let table = Table::safe(100);
    let mut g = game(40, root(41));
    opened(&mut g, ME);
    // The defender has 30 s from 1001: at 1031 it has not run out, at 1032 it has.
    assert_eq!(
        challenger_moves(&g, ME, 1031, Strategy::Honest, &table),
        vec![]
    );
    assert_eq!(
        challenger_moves(&g, ME, 1032, Strategy::Honest, &table),
        vec![Move::ResolveChallenge { id: 0 }]
    );
    // The defender never ends a challenge on its own clock.
    assert_eq!(defender_moves(&g, PROPOSER, 1032, &table), vec![]);
    g.challenges[0].outcome = Outcome::ChallengerWon;
    g.challenger_won = true;
    g.open_challenges = 0;
    g.credit = U256::from(2);
    assert_eq!(
        challenger_moves(&g, ME, 1032, Strategy::Honest, &table),
        vec![Move::Resolve, Move::ClaimCredit]
    );
    // An unchallenged right claim resolves for anyone once the window has passed.
    let right = game(40, root(40));
    assert_eq!(defender_moves(&right, PROPOSER, 1029, &table), vec![]);
    assert_eq!(
        defender_moves(&right, PROPOSER, 1030, &table),
        vec![Move::Resolve]
    );
}

#[test]
fn a_defender_at_a_layer_one_leaf_of_its_true_output_opens_the_block() {
    let table = Table::safe(100);
    let mut g = game(40, root(40));
    opened(&mut g, ME);
    g.challenges[0].agreed = (39, root(39));
    g.challenges[0].disputed = (40, root(40));
    assert_eq!(
        defender_moves(&g, PROPOSER, 1005, &table),
        vec![Move::StartSteps {
            id: 0,
            opening: table.opening(40).unwrap()
        }]
    );
    // A wrong output of its own (a faulty proposer) has no true state to open it with.
    let mut g = game(40, root(41));
    opened(&mut g, ME);
    g.challenges[0].agreed = (39, root(39));
    g.challenges[0].disputed = (40, root(41));
    assert_eq!(defender_moves(&g, PROPOSER, 1005, &table), vec![]);
}

/// A challenge in layer 2 over block `block`, as `startSteps` leaves it: `[0, N]`, the
/// defender's end state `end`.
fn in_layer_two(block: u64, end: B256) -> GameView {
    let mut g = game(block, root(block));
    opened(&mut g, ME);
    let c = &mut g.challenges[0];
    c.layer = 2;
    c.step_block = block;
    c.agreed = (0, state(block, 0));
    c.disputed = (STEPS, end);
    g
}

#[test]
fn layer_two_leaf_steps() {
    let table = Table::safe(100);
    // The defender proves a step that yields its disputed state; never one that refutes it.
    let mut g = in_layer_two(40, state(40, STEPS));
    g.challenges[0].agreed = (7, state(40, 7));
    g.challenges[0].disputed = (8, state(40, 8));
    let step = table.step_proof(40, 7).unwrap();
    assert_eq!(
        defender_moves(&g, PROPOSER, 1005, &table),
        vec![Move::Step {
            id: 0,
            proof: step.proof.clone()
        }]
    );
    // The honest challenger proves only a step that refutes the defender.
    assert_eq!(
        challenger_moves(&g, ME, 1005, Strategy::Honest, &table),
        vec![]
    );
    g.challenges[0].disputed = (8, root(8));
    assert_eq!(defender_moves(&g, PROPOSER, 1005, &table), vec![]);
    assert_eq!(
        challenger_moves(&g, ME, 1005, Strategy::Honest, &table),
        vec![Move::Step {
            id: 0,
            proof: step.proof
        }]
    );
    // A dishonest challenger does not prove steps.
    assert_eq!(
        challenger_moves(&g, ME, 1005, Strategy::AlwaysDisagree, &table),
        vec![]
    );
}

/// Plays layer 2 of one challenge over block 40 under the contract's rules: the defender
/// names its commitments with `defender_moves`, the challenger answers with
/// `challenger_moves`, down to the leaf; returns the challenge and the defender's move there.
fn play_layer_two(strategy: Strategy) -> (ChallengeView, Vec<Move>) {
    play_layer_two_on(&Table::safe(100), strategy)
}

/// [`play_layer_two`] against the truth `table`.
fn play_layer_two_on(table: &Table, strategy: Strategy) -> (ChallengeView, Vec<Move>) {
    let mut g = in_layer_two(40, state(40, STEPS));
    for _ in 0..128 {
        if g.challenges[0].at_leaf() {
            break;
        }
        let moves = defender_moves(&g, PROPOSER, 1005, table);
        let c = &mut g.challenges[0];
        let [Move::Defend { id: 0, claim }] = moves.as_slice() else {
            panic!("expected one defence, got {moves:?}");
        };
        c.pending = *claim;
        c.turn = Side::Challenger;
        let moves = challenger_moves(&g, ME, 1005, strategy, table);
        let c = &mut g.challenges[0];
        let [Move::Answer { id: 0, agree }] = moves.as_slice() else {
            panic!("expected one answer, got {moves:?}");
        };
        let m = c.next_position();
        if *agree {
            c.agreed = (m, c.pending);
        } else {
            c.disputed = (m, c.pending);
        }
        c.turn = Side::Defender;
    }
    let leaf = defender_moves(&g, PROPOSER, 1005, table);
    (g.challenges[0].clone(), leaf)
}

#[test]
fn always_disagree_in_layer_two_loses_the_first_step() {
    assert_disagreeing_in_layer_two_loses_the_first_step(Strategy::AlwaysDisagree);
}

/// A challenger that disagrees with every layer-2 commitment narrows the challenge to step 0,
/// which the defender proves.
fn assert_disagreeing_in_layer_two_loses_the_first_step(strategy: Strategy) {
    let (c, leaf) = play_layer_two(strategy);
    assert_eq!(c.agreed, (0, state(40, 0)));
    assert_eq!(c.disputed, (1, state(40, 1)));
    assert_eq!(
        leaf,
        vec![Move::Step {
            id: 0,
            proof: 0u64.to_be_bytes().to_vec().into()
        }]
    );
}

/// Plays layer 1 of one challenge under the contract's rules: the defender names `defender(m)`
/// at each midpoint, the challenger answers with `challenger_moves`.
fn play_layer_one(
    claim_block: u64,
    defender: impl Fn(u64) -> B256,
    strategy: Strategy,
) -> ChallengeView {
    play_layer_one_on(&Table::safe(claim_block), claim_block, defender, strategy)
}

/// [`play_layer_one`] against the truth `table`.
fn play_layer_one_on(
    table: &Table,
    claim_block: u64,
    defender: impl Fn(u64) -> B256,
    strategy: Strategy,
) -> ChallengeView {
    let mut g = game(claim_block, defender(claim_block));
    opened(&mut g, ME);
    for _ in 0..128 {
        let c = &mut g.challenges[0];
        if c.at_leaf() {
            break;
        }
        let m = c.next_position();
        c.pending = defender(m);
        c.turn = Side::Challenger;
        let moves = challenger_moves(&g, ME, 1005, strategy, table);
        let c = &mut g.challenges[0];
        let [Move::Answer { id: 0, agree }] = moves.as_slice() else {
            panic!("expected one answer, got {moves:?}");
        };
        if *agree {
            c.agreed = (m, c.pending);
        } else {
            c.disputed = (m, c.pending);
        }
        c.turn = Side::Defender;
    }
    g.challenges[0].clone()
}

proptest! {
    /// Against a defender whose outputs are wrong from block `k` on, the honest challenger
    /// ends layer 1 at the leaf `[k − 1, k]`: the agreed output true, the disputed one false,
    /// in at most ⌈log2 b⌉ answers (SPEC §8, §12.2).
    #[test]
    fn honest_challenger_corners_the_first_wrong_output(b in 2u64..5000, k_seed in any::<u64>()) {
        let k = 1 + k_seed % b;
        let liar = |n: u64| if n >= k { root(n + 1_000_000) } else { root(n) };
        let c = play_layer_one(b, liar, Strategy::Honest);
        prop_assert!(c.at_leaf());
        prop_assert_eq!(c.agreed, (k - 1, root(k - 1)));
        prop_assert_eq!(c.disputed, (k, liar(k)));
    }

    /// An always-disagreeing challenger against an honest defender ends at the leaf right
    /// above the anchor, disputing a true output.
    #[test]
    fn always_disagree_ends_above_the_anchor(b in 2u64..5000) {
        let c = play_layer_one(b, root, Strategy::AlwaysDisagree);
        prop_assert_eq!(c.agreed, (0, root(0)));
        prop_assert_eq!(c.disputed, (1, root(1)));
    }

    /// `disagree-from-deposits` against an honest defender ends layer 1 at the leaf over the
    /// first block with user deposits above the anchor, disputing its true output: the block
    /// whose `blockStart` needs the log-index oracle.
    #[test]
    fn disagree_from_deposits_ends_over_the_first_deposit_block(
        b in 2u64..5000,
        seeds in proptest::collection::vec(any::<u64>(), 1..4),
    ) {
        let table = Table {
            deposits: seeds.iter().map(|s| 1 + s % b).collect(),
            ..Table::safe(b)
        };
        let first = *table.deposits.iter().min().expect("one deposit block at least");
        let c = play_layer_one_on(&table, b, root, Strategy::DisagreeFromDeposits);
        prop_assert_eq!(c.agreed, (first - 1, root(first - 1)));
        prop_assert_eq!(c.disputed, (first, root(first)));
    }

    /// `disagree-at-long-step` against an honest defender ends layer 1 at the leaf over the
    /// first block holding a long step, disputing its true output.
    #[test]
    fn disagree_at_long_step_ends_layer_one_over_the_first_long_step_block(
        b in 2u64..5000,
        seeds in proptest::collection::vec(any::<(u64, u64)>(), 1..4),
    ) {
        let table = Table {
            long_steps: seeds.iter().map(|(s, p)| (1 + s % b, p % STEPS)).collect(),
            ..Table::safe(b)
        };
        let first = table.long_steps.iter().map(|(block, _)| *block).min().expect("one long step at least");
        let c = play_layer_one_on(&table, b, root, Strategy::DisagreeAtLongStep);
        prop_assert_eq!(c.agreed, (first - 1, root(first - 1)));
        prop_assert_eq!(c.disputed, (first, root(first)));
    }

    /// In layer 2 over that block it ends at the leaf `[p, p + 1]` of the long step at `p`,
    /// between two true states, where the defender proves the step from `p`: the long one.
    #[test]
    fn disagree_at_long_step_ends_layer_two_at_the_long_step(p in 0u64..STEPS) {
        let table = Table {
            long_steps: vec![(40, p)],
            ..Table::safe(100)
        };
        let (c, leaf) = play_layer_two_on(&table, Strategy::DisagreeAtLongStep);
        prop_assert_eq!(c.agreed, (p, state(40, p)));
        prop_assert_eq!(c.disputed, (p + 1, state(40, p + 1)));
        prop_assert_eq!(
            leaf,
            vec![Move::Step { id: 0, proof: table.step_proof(40, p).unwrap().proof }]
        );
    }
}

#[test]
fn disagree_from_deposits_challenges_right_claims_over_a_deposit_block_and_loses_step_zero() {
    let table = Table {
        deposits: vec![30, 70],
        ..Table::safe(100)
    };
    let moves =
        |g: &GameView| challenger_moves(g, ME, 1005, Strategy::DisagreeFromDeposits, &table);
    // Right claims from the first deposit block on; never a wrong one, nor one below it.
    assert_eq!(moves(&game(29, root(29))), vec![]);
    assert_eq!(moves(&game(30, root(30))), vec![Move::Challenge]);
    assert_eq!(moves(&game(80, root(80))), vec![Move::Challenge]);
    assert_eq!(moves(&game(80, root(81))), vec![]);
    // A game below every deposit block is dropped at once, like an honest challenger's.
    assert!(challenger_done(&game(29, root(29)), ME, 1005, &table));
    // In layer 2 it disagrees with everything, so the defender proves step 0.
    assert_disagreeing_in_layer_two_loses_the_first_step(Strategy::DisagreeFromDeposits);
}

#[test]
fn disagree_at_long_step_challenges_right_claims_over_a_long_step_block() {
    let table = Table {
        long_steps: vec![(30, 417), (70, 3)],
        ..Table::safe(100)
    };
    let moves = |g: &GameView| challenger_moves(g, ME, 1005, Strategy::DisagreeAtLongStep, &table);
    // Right claims from the first block with a long step on; never a wrong one, nor one below.
    assert_eq!(moves(&game(29, root(29))), vec![]);
    assert_eq!(moves(&game(30, root(30))), vec![Move::Challenge]);
    assert_eq!(moves(&game(80, root(80))), vec![Move::Challenge]);
    assert_eq!(moves(&game(80, root(81))), vec![]);
    assert!(challenger_done(&game(29, root(29)), ME, 1005, &table));
    // In layer 2 over a block without a long step (not the one layer 1 leads to) it disagrees
    // with everything, so the defender proves step 0.
    assert_disagreeing_in_layer_two_loses_the_first_step(Strategy::DisagreeAtLongStep);
    // Over the block with one, the last step it agrees with is the long step's pre-state.
    let mut g = in_layer_two(30, state(30, STEPS));
    g.challenges[0].step_block = 30;
    g.challenges[0].turn = Side::Challenger;
    let answer = |g: &GameView| challenger_moves(g, ME, 1005, Strategy::DisagreeAtLongStep, &table);
    for (position, agree) in [(1, true), (417, true), (418, false), (500, false)] {
        let c = &mut g.challenges[0];
        (c.agreed, c.disputed) = ((0, state(30, 0)), (2 * position, state(30, 2 * position)));
        c.pending = state(30, position);
        assert_eq!(
            answer(&g),
            vec![Move::Answer { id: 0, agree }],
            "position {position}"
        );
    }
    // A wrong commitment at or below the long step is refused, as an honest challenger would.
    let c = &mut g.challenges[0];
    (c.agreed, c.disputed) = ((0, state(30, 0)), (834, state(30, 834)));
    c.pending = root(9);
    assert_eq!(
        answer(&g),
        vec![Move::Answer {
            id: 0,
            agree: false
        }]
    );
}
