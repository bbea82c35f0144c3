//! What the bisection-game tests share: the game deployed next to the bridge's L1 contracts with
//! the step verifier's TEST DOUBLE (`StepVerifierDouble`, fraud-vm/contracts/test), an honest L2
//! that double knows the true traces of, and players that follow a strategy move by move.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol;
use alloy::sol_types::{SolCall, SolValue};

use crate::harness::{DEPLOYER, IFactory, IRegistry, L1, Outcome, PROPOSER, System, bond};

/// The bisection game's type in these tests.
pub const BISECTION_TYPE: u32 = 2;
/// The challenge window and each side's clock (seconds).
pub const MAX_CLOCK: u64 = 120;
/// The least time a side has when its turn begins (seconds).
pub const EXTENSION: u64 = 20;

/// The bond of each challenge.
pub fn challenge_bond() -> U256 {
    U256::from(5u64) * U256::from(10u64).pow(U256::from(16u64))
}

/// `Challenge.turn`.
pub const DEFENDER: u8 = 0;
pub const CHALLENGER: u8 = 1;
/// `Challenge.outcome`.
pub const OPEN: u8 = 0;
pub const DEFENDER_WON: u8 = 1;
pub const CHALLENGER_WON: u8 = 2;
pub const REFUNDED: u8 = 3;

sol! {
    #[derive(Debug, PartialEq)]
    struct Challenge {
        address challenger;
        uint8 layer;
        uint8 turn;
        uint8 outcome;
        uint64 agreedPos;
        uint64 disputedPos;
        uint64 stepBlock;
        uint64 defenderClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        bytes32 agreedClaim;
        bytes32 disputedClaim;
        bytes32 pendingClaim;
        uint256 bond;
    }

    interface IBisection {
        function challenge() payable returns (uint256 id);
        function defend(uint256 id, bytes32 claim);
        function answer(uint256 id, bool agree);
        function startSteps(uint256 id, uint64 stepCount, bytes32 endState, bytes startProof, bytes endProof);
        function step(uint256 id, bytes proof);
        function resolveChallenge(uint256 id);
        function resolve() returns (uint8);
        function claimCredit(address recipient);
        function getChallenge(uint256 id) view returns (Challenge);
        function challengeCount() view returns (uint256);
        function openChallenges() view returns (uint256);
        function challengerWon() view returns (bool);
        function credit(address who) view returns (uint256);
        function nextPosition(uint256 id) view returns (uint64);
        function timeLeft(uint256 id) view returns (uint64);
        function startingOutputRoot() view returns (bytes32);
        function startingBlockNumber() view returns (uint256);
        function challengeBond() view returns (uint256);
        function clockExtension() view returns (uint64);
        function maxClockDuration() view returns (uint64);
        function verifier() view returns (address);
        function anchorStateRegistry() view returns (address);
        function bond() view returns (uint256);
        function status() view returns (uint8);
        function resolvedAt() view returns (uint64);
        function rootClaim() view returns (bytes32);
        function l2BlockNumber() view returns (uint256);
        function l1HeadNumber() view returns (uint64);
    }

    interface IAnchors {
        function getAnchorRoot() view returns (bytes32 root, uint256 l2BlockNumber);
        function setAnchorRoot(bytes32 root, uint256 l2BlockNumber);
        function setAnchorState(address game);
    }

    interface IVerifierDouble {
        function step(bytes32 pre, bytes proof) view returns (bytes32 post);
        function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256 l1Block, bytes proof) view returns (bytes32);
        function blockEnd(bytes32 state, bytes proof) view returns (bytes32);
    }
}

/// The block-end state of the verifier double holding `output`.
pub fn end_state(output: B256, salt: B256) -> B256 {
    keccak256((U256::from(2), output, salt).abi_encode())
}

/// The proof the verifier double opens `end_state(output, salt)` with.
pub fn end_proof(output: B256, salt: B256) -> Bytes {
    (output, salt).abi_encode().into()
}

/// `s_0` of block `n` from its parent's output, as the verifier double derives it.
pub fn start_state(parent: B256, n: u64) -> B256 {
    keccak256((U256::from(1), parent, U256::from(n)).abi_encode())
}

/// An honest L2 as the verifier double sees it: block `n` runs the steps `s_0 … s_N` from the
/// parent output, and its output root is read from its last step.
pub struct Chain {
    /// `outputs[n]`: the output root of block `n` (`outputs[0]` is the anchor, the genesis).
    pub outputs: Vec<B256>,
    /// `traces[n]`: `s_0 … s_N` of block `n` (empty for block 0).
    pub traces: Vec<Vec<B256>>,
}

impl Chain {
    /// `blocks` blocks after the genesis output; block `n` has 1 to 13 steps (from `seed`).
    pub fn new(blocks: u64, seed: u64) -> Self {
        Self::with_outputs(blocks, seed, &[])
    }

    /// As [`Self::new`], with the output roots of some blocks given (for example the output of a
    /// real message passer's storage, so that withdrawals can be proven against it): each such
    /// block's last step is the end state holding it.
    pub fn with_outputs(blocks: u64, seed: u64, given: &[(u64, B256)]) -> Self {
        let mut outputs = vec![keccak256(b"genesis output")];
        let mut traces = vec![Vec::new()];
        for n in 1..=blocks {
            let steps = 1 + keccak256((seed, n).abi_encode()).0[0] as usize % 13;
            let mut trace = vec![start_state(outputs[n as usize - 1], n)];
            for k in 1..steps {
                trace.push(keccak256((trace[k - 1], U256::from(k)).abi_encode()));
            }
            let output = given.iter().find(|(at, _)| *at == n).map_or_else(
                || keccak256([b"output".as_slice(), trace[steps - 1].as_slice()].concat()),
                |(_, root)| *root,
            );
            trace.push(end_state(output, B256::ZERO));
            outputs.push(output);
            traces.push(trace);
        }
        Self { outputs, traces }
    }

    pub fn output(&self, n: u64) -> B256 {
        self.outputs[n as usize]
    }

    /// The number of steps `N` of block `n`.
    pub fn steps(&self, n: u64) -> u64 {
        self.traces[n as usize].len() as u64 - 1
    }

    /// `s_k` of block `n`; past `N` the block-end state (a fixed point).
    pub fn state(&self, n: u64, k: u64) -> B256 {
        let trace = &self.traces[n as usize];
        trace[(k as usize).min(trace.len() - 1)]
    }

    /// Writes every true transition into the double's `next` mapping (storage slot 0).
    pub fn teach(&self, l1: &mut L1, verifier: Address) {
        for trace in &self.traces {
            for pair in trace.windows(2) {
                let slot = keccak256((pair[0], U256::ZERO).abi_encode());
                l1.set_storage(verifier, slot.into(), pair[1].into());
            }
        }
    }
}

/// The bridge's L1 contracts plus the bisection game type (the verifier double behind it).
pub struct Arena {
    pub sys: System,
    pub verifier: Address,
    pub game_impl: Address,
    pub chain: Chain,
}

impl Arena {
    /// Deploys everything; the anchor is the chain's genesis output at block 0, and the bisection
    /// game is the respected type when `respected`.
    pub fn deploy(l1: &mut L1, chain: Chain, respected: bool) -> Self {
        let sys = System::deploy(l1);
        let verifier = l1.deploy(DEPLOYER, "StepVerifierDouble", &[]);
        chain.teach(l1, verifier);
        let game_impl = l1.deploy(
            DEPLOYER,
            "BisectionGame",
            &(
                BISECTION_TYPE,
                MAX_CLOCK,
                EXTENSION,
                challenge_bond(),
                verifier,
                sys.registry,
            )
                .abi_encode_params(),
        );
        l1.exec(
            DEPLOYER,
            sys.factory,
            U256::ZERO,
            IFactory::setImplementationCall {
                gameType: BISECTION_TYPE,
                implementation: game_impl,
            },
        );
        l1.exec(
            DEPLOYER,
            sys.factory,
            U256::ZERO,
            IFactory::setInitBondCall {
                gameType: BISECTION_TYPE,
                initBond: bond(),
            },
        );
        l1.exec(
            DEPLOYER,
            sys.registry,
            U256::ZERO,
            IAnchors::setAnchorRootCall {
                root: chain.output(0),
                l2BlockNumber: U256::ZERO,
            },
        );
        if respected {
            l1.exec(
                DEPLOYER,
                sys.registry,
                U256::ZERO,
                IRegistry::setRespectedGameTypeCall {
                    gameType: BISECTION_TYPE,
                },
            );
        }
        Self {
            sys,
            verifier,
            game_impl,
            chain,
        }
    }

    /// `from` proposes `root` for `l2_block` with the bond; returns the game.
    #[track_caller]
    pub fn propose_as(&self, l1: &mut L1, from: Address, root: B256, l2_block: u64) -> Address {
        let call = IFactory::createCall {
            gameType: BISECTION_TYPE,
            rootClaim: root,
            extraData: U256::from(l2_block).abi_encode().into(),
        };
        let (output, _) = l1
            .send(from, self.sys.factory, bond(), call.abi_encode())
            .ok();
        IFactory::createCall::abi_decode_returns(&output).unwrap()
    }

    /// The proposer proposes `root` for `l2_block`.
    #[track_caller]
    pub fn propose(&self, l1: &mut L1, root: B256, l2_block: u64) -> Address {
        self.propose_as(l1, PROPOSER, root, l2_block)
    }
}

/// What a defender claims: the truth, or a lie from block `from_block` on, which in layer 2 of a
/// lied-about block follows the true trace up to step `diverge` and then claims fake states up to
/// a fake end state at `steps` (so it may claim fewer or more steps than the block has).
#[derive(Clone, Copy, Debug)]
pub enum Claims {
    Honest,
    Lie {
        from_block: u64,
        diverge: u64,
        steps: u64,
    },
}

impl Claims {
    fn lies_about(&self, n: u64) -> bool {
        matches!(self, Self::Lie { from_block, .. } if n >= *from_block)
    }

    /// The claimed output root of block `n`.
    pub fn output(&self, chain: &Chain, n: u64) -> B256 {
        if self.lies_about(n) {
            keccak256([b"lie".as_slice(), &n.to_be_bytes()].concat())
        } else {
            chain.output(n)
        }
    }

    /// The claimed step count of block `n`.
    pub fn steps(&self, chain: &Chain, n: u64) -> u64 {
        match self {
            Self::Lie { steps, .. } if self.lies_about(n) => *steps,
            _ => chain.steps(n),
        }
    }

    /// The claimed `s_k` of block `n`.
    pub fn state(&self, chain: &Chain, n: u64, k: u64) -> B256 {
        let Self::Lie { diverge, steps, .. } = *self else {
            return chain.state(n, k);
        };
        if !self.lies_about(n) || (k < diverge && k < steps) {
            chain.state(n, k)
        } else if k >= steps {
            end_state(self.output(chain, n), B256::with_last_byte(1))
        } else {
            keccak256([b"fake".as_slice(), &n.to_be_bytes(), &k.to_be_bytes()].concat())
        }
    }

    /// The end state it claims for block `n` and the proof that opens it.
    pub fn end(&self, chain: &Chain, n: u64) -> (B256, Bytes) {
        let output = self.output(chain, n);
        let salt = if self.lies_about(n) {
            B256::with_last_byte(1)
        } else {
            B256::ZERO
        };
        (end_state(output, salt), end_proof(output, salt))
    }

    /// The proof of the step from `pre` (block `n`): the fixed-point proof when `pre` is an end
    /// state this side knows the opening of, else the empty proof of a traced step.
    pub fn step_proof(&self, chain: &Chain, n: u64, pre: B256) -> Bytes {
        for claims in [*self, Self::Honest] {
            let (end, proof) = claims.end(chain, n);
            if end == pre {
                return proof;
            }
        }
        Bytes::new()
    }
}

/// How a challenger answers.
#[derive(Clone, Copy, Debug)]
pub enum Answers {
    /// Agrees exactly with the true commitments.
    Honest,
    /// Agrees when bit `i` of the pattern is set, at its `i`-th answer (mod 64).
    Pattern(u64),
}

/// A side's decision at its turn in challenge `id`, as a call to send.
pub enum Move {
    Defend(B256),
    StartSteps { steps: u64, end: B256, proof: Bytes },
    Step(Bytes),
    Answer(bool),
}

/// The move the side to move makes in challenge `c`, following `claims` (the defender) or
/// `answers` (the challenger); `answered` counts the challenger's earlier answers.
pub fn next_move(
    chain: &Chain,
    c: &Challenge,
    claims: Claims,
    answers: Answers,
    answered: u32,
) -> Move {
    let mid = c.agreedPos + (c.disputedPos - c.agreedPos) / 2;
    let span = c.disputedPos - c.agreedPos;
    if c.turn == CHALLENGER {
        let agree = match answers {
            Answers::Honest if c.layer == 1 => c.pendingClaim == chain.output(mid),
            Answers::Honest => c.pendingClaim == chain.state(c.stepBlock, mid),
            Answers::Pattern(bits) => bits >> (answered % 64) & 1 == 1,
        };
        return Move::Answer(agree);
    }
    match (c.layer, span) {
        (1, 1) => {
            let n = c.disputedPos;
            let (end, proof) = claims.end(chain, n);
            Move::StartSteps {
                steps: claims.steps(chain, n),
                end,
                proof,
            }
        }
        (1, _) => Move::Defend(claims.output(chain, mid)),
        (_, 1) => Move::Step(claims.step_proof(chain, c.stepBlock, c.agreedClaim)),
        _ => Move::Defend(claims.state(chain, c.stepBlock, mid)),
    }
}

/// Sends `mv` in challenge `id` of `game`: the defender's moves from `defender`, answers from
/// `challenger`.
pub fn send_move(
    l1: &mut L1,
    game: Address,
    id: U256,
    mv: Move,
    defender: Address,
    challenger: Address,
) -> Outcome {
    let (from, data) = match mv {
        Move::Defend(claim) => (defender, IBisection::defendCall { id, claim }.abi_encode()),
        Move::StartSteps { steps, end, proof } => (
            defender,
            IBisection::startStepsCall {
                id,
                stepCount: steps,
                endState: end,
                startProof: Bytes::new(),
                endProof: proof,
            }
            .abi_encode(),
        ),
        Move::Step(proof) => (defender, IBisection::stepCall { id, proof }.abi_encode()),
        Move::Answer(agree) => (
            challenger,
            IBisection::answerCall { id, agree }.abi_encode(),
        ),
    };
    l1.send(from, game, U256::ZERO, data)
}

/// Opens a challenge from `who`; returns its id.
#[track_caller]
pub fn challenge(l1: &mut L1, game: Address, who: Address) -> U256 {
    let (output, _) = l1
        .send(
            who,
            game,
            challenge_bond(),
            IBisection::challengeCall {}.abi_encode(),
        )
        .ok();
    IBisection::challengeCall::abi_decode_returns(&output).unwrap()
}

pub fn get(l1: &mut L1, game: Address, id: U256) -> Challenge {
    l1.view(game, IBisection::getChallengeCall { id })
}

/// Gas of each kind of move in one played challenge.
#[derive(Default, Debug)]
pub struct MoveGas {
    pub defend: Vec<u64>,
    pub answer: Vec<u64>,
    pub start_steps: Vec<u64>,
    pub step: Vec<u64>,
}

/// Plays challenge `id` to its end, each side moving `delay` seconds after the other; returns
/// the outcome and the gas of each move. Panics if a move reverts.
#[track_caller]
pub fn play(
    l1: &mut L1,
    chain: &Chain,
    game: Address,
    id: U256,
    (defender, claims): (Address, Claims),
    (challenger, answers): (Address, Answers),
    delay: u64,
) -> (u8, MoveGas) {
    let mut gas = MoveGas::default();
    let mut answered = 0;
    loop {
        let c = get(l1, game, id);
        if c.outcome != OPEN {
            return (c.outcome, gas);
        }
        l1.warp(delay);
        let mv = next_move(chain, &c, claims, answers, answered);
        let bucket = match (&mv, c.layer) {
            (Move::Answer(_), _) => {
                answered += 1;
                &mut gas.answer
            }
            (Move::Defend(_), _) => &mut gas.defend,
            (Move::StartSteps { .. }, _) => &mut gas.start_steps,
            (Move::Step(_), _) => &mut gas.step,
        };
        let outcome = send_move(l1, game, id, mv, defender, challenger);
        bucket.push(l1.last_gas_used);
        outcome.ok();
    }
}
