//! The portal under random call sequences, step by step against a model (`portal_model::Model`,
//! plain Rust): every call's outcome (success or revert name) must be the one the model predicts, and
//! after every step the invariants hold on chain:
//!
//! - a withdrawal is finalized at most once, and only one that was passed on L2;
//! - a finalization happens only after the proof's maturity delay, against a game of the
//!   respected type that resolved DEFENDER_WINS more than the finality delay ago;
//! - a finalized withdrawal paid its target its value exactly once (every target's balance is
//!   the sum of its finalized withdrawals);
//! - the portal's balance is deposits plus donations minus finalized withdrawals, and covers the
//!   L2 supply plus every passed withdrawal not finalized yet.
//!
//! The simulated L2 passes a withdrawal only out of its supply (deposits minus withdrawals
//! passed), as the message passer only takes value its sender holds. Proposals are honest (the
//! message passer's storage root at the current L2 height), omitting (withdrawals left out), fraud
//! (withdrawals never passed put in) or garbage (a root without a known preimage).
//!
//! Losing games: `ProposalGame` has no challenge path, so no call makes a game lose. The portal and
//! the registry still handle `CHALLENGER_WINS` (a later bisection game's outcome), so the test
//! stands in for a challenger by writing the game's status and `resolvedAt` into its storage. An
//! honest challenger is assumed: a fraud game loses when it would resolve; any game may lose at
//! any time (`ChallengerWins`). Retired games are covered by switching the registry's respected
//! game type back and forth. Without the honest challenger the first invariant fails
//! (`proposal_trust.rs`).
//!
//! 128 cases of 40 to 150 steps over 3 to 7 withdrawals, about 2 s in release; the test fails if
//! the sequences stop reaching any of the portal's outcomes (successful finalizations included).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use bridge::withdrawal::Withdrawal;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::deposit_market::{
    MAX_RESOURCE_LIMIT, MIN_BASE_FEE, Market, minimum_gas_limit, resource,
};
use crate::harness::{
    CHALLENGE_WINDOW, DEPLOYER, FINALITY_DELAY, GAME_TYPE, IFactory, IGame, IPortal, IRegistry, L1,
    MATURITY_DELAY, OTHER, OTHER_GAME_TYPE, Outcome, PROPOSER, System, USER, WithdrawalTransaction,
    bond, forwarder_code, revert_name, toggled_code,
};
use crate::portal_model::{
    CHALLENGER_WINS, DEFENDER_WINS, Expected, Game, IN_PROGRESS, Model, TargetKind,
};
use crate::portal_steps::{Claim, Spec, Step, Target, spec, step};

/// Reverts until toggled on (its slot 0 set), then accepts anything.
const TOGGLED: Address = address!("0x6000000000000000000000000000000000000001");
/// Forwards its call and value to the portal: empty data deposits the value back to L2, anything
/// else reverts (the portal has no fallback).
const FORWARDER: Address = address!("0x6000000000000000000000000000000000000002");

/// Outcome counts over all cases ("step: outcome"), to show the sequences reach every rule.
type Stats = BTreeMap<String, u32>;

fn result(outcome: &Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Success { .. } => Ok(()),
        Outcome::Revert(data) => Err(revert_name(data)),
        Outcome::Halt(reason) => Err(format!("halt {reason}")),
    }
}

fn wtx(w: &Withdrawal) -> WithdrawalTransaction {
    WithdrawalTransaction {
        nonce: w.nonce,
        sender: w.sender,
        target: w.target,
        value: w.value,
        gasLimit: w.gas_limit,
        data: w.data.clone(),
    }
}

/// One random sequence on a fresh L1.
struct Run {
    l1: L1,
    sys: System,
    model: Model,
    /// `WithdrawalFinalized` events seen per withdrawal.
    finalized_events: Vec<u32>,
    /// The deposit market's model.
    market: Market,
}

impl Run {
    fn new(specs: &[Spec], initial_deposit: u64) -> Self {
        let mut l1 = L1::new();
        let sys = System::deploy(&mut l1);
        sys.add_other_game_type(&mut l1);
        l1.set_code(TOGGLED, toggled_code());
        l1.set_code(FORWARDER, forwarder_code(sys.portal));
        let (pool, kinds) = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let (target, kind) = match spec.target {
                    Target::Plain(a) => (a, TargetKind::Plain),
                    Target::Toggled => (TOGGLED, TargetKind::Toggled),
                    Target::Forwarder => (FORWARDER, TargetKind::Forwarder),
                    Target::Portal => (sys.portal, TargetKind::Portal),
                };
                let w = Withdrawal {
                    nonce: (U256::from(1) << 240) | U256::from(i),
                    sender: spec.sender,
                    target,
                    value: spec.value,
                    gas_limit: spec.gas_limit,
                    data: spec.data.clone(),
                };
                (w, kind)
            })
            .unzip();
        let model = Model::new(pool, kinds, l1.now());
        let market = Market::new(l1.number());
        let mut run = Self {
            l1,
            sys,
            model,
            finalized_events: vec![0; specs.len()],
            market,
        };
        run.deposit_step(USER, initial_deposit, 100_000, 0, &mut Stats::new())
            .expect("the initial deposit");
        run
    }

    fn step(&mut self, step: &Step, stats: &mut Stats) -> Result<(), TestCaseError> {
        let n = self.model.pool.len();
        match step {
            Step::Pass(w) => {
                let unpassed: Vec<usize> =
                    (0..n).filter(|i| !self.model.passed.contains(i)).collect();
                if let Some(&i) = unpassed.get(w.index(unpassed.len().max(1))) {
                    let passed = self.model.pass(i);
                    count(stats, "pass", if passed { "passed" } else { "no L2 funds" });
                }
            }
            Step::Propose { claim, respected } => self.propose(claim, *respected, stats)?,
            Step::Prove {
                w,
                passed_only,
                game,
                aimed,
                caller,
                honest_preimage,
            } => {
                let passed: Vec<usize> = self.model.passed.iter().copied().collect();
                let w = if *passed_only && !passed.is_empty() {
                    passed[w.index(passed.len())]
                } else {
                    w.index(n)
                };
                let targets: Vec<usize> = (0..self.model.games.len())
                    .filter(|&g| {
                        let game = &self.model.games[g];
                        self.model.respects(game)
                            && game.status != CHALLENGER_WINS
                            && game.contents.contains(&w)
                    })
                    .collect();
                let g = match game {
                    Some(g) if *aimed && !targets.is_empty() => {
                        Some(targets[g.index(targets.len())])
                    }
                    Some(g) if !self.model.games.is_empty() => {
                        Some(g.index(self.model.games.len()))
                    }
                    _ => None,
                };
                self.prove(w, g, *caller, *honest_preimage, stats)?;
            }
            Step::Finalize {
                w,
                caller,
                proven_only,
                external,
            } => {
                let mut proofs: Vec<(usize, Address)> = self.model.proven.keys().copied().collect();
                proofs.sort();
                let (w, submitter) = if *proven_only && !proofs.is_empty() {
                    proofs[w.index(proofs.len())]
                } else {
                    (w.index(n), external.unwrap_or(*caller))
                };
                // The submitter's own call, or anyone's with its proof.
                let (caller, external) = match external {
                    Some(_) => (*caller, Some(submitter)),
                    None => (submitter, None),
                };
                self.finalize(w, caller, external, stats)?;
            }
            Step::Resolve {
                game,
                due_only,
                caller,
            } => {
                let due: Vec<usize> = (0..self.model.games.len())
                    .filter(|&g| {
                        let game = &self.model.games[g];
                        game.status == IN_PROGRESS
                            && game.created_at + CHALLENGE_WINDOW <= self.model.now
                    })
                    .collect();
                if *due_only && !due.is_empty() {
                    self.resolve(due[game.index(due.len())], *caller, stats)?;
                } else if !self.model.games.is_empty() {
                    self.resolve(game.index(self.model.games.len()), *caller, stats)?;
                }
            }
            Step::ChallengerWins { game } => {
                if !self.model.games.is_empty() {
                    let g = game.index(self.model.games.len());
                    if self.model.games[g].status == IN_PROGRESS {
                        self.challenger_wins(g);
                        count(stats, "challenger wins", "done");
                    }
                }
            }
            Step::Deposit {
                caller,
                wei,
                gas_limit,
                data_len,
            } => self.deposit_step(*caller, *wei, *gas_limit, *data_len, stats)?,
            Step::Receive { caller, wei } => {
                let Some((expected, gas)) = self.deposit_expectation(100_000, 0) else {
                    count(stats, "receive", "skipped: its burn exceeds an L1 block");
                    return Ok(());
                };
                let outcome = self.l1.send_with_gas(
                    *caller,
                    self.sys.portal,
                    U256::from(*wei),
                    Bytes::new(),
                    gas,
                );
                if self.expect("receive", &outcome, expected, stats)? {
                    self.model.deposit(U256::from(*wei));
                    self.market.buy(self.l1.number(), 100_000);
                }
            }
            Step::Donate { caller, wei } => {
                let call = IPortal::donateETHCall {}.abi_encode();
                let outcome = self
                    .l1
                    .send(*caller, self.sys.portal, U256::from(*wei), call);
                self.expect("donate", &outcome, Ok(()), stats)?;
                self.model.portal_balance += U256::from(*wei);
            }
            Step::SetRespected { other, by_owner } => {
                let game_type = if *other { OTHER_GAME_TYPE } else { GAME_TYPE };
                let from = if *by_owner { DEPLOYER } else { USER };
                let call = IRegistry::setRespectedGameTypeCall {
                    gameType: game_type,
                };
                let outcome = self
                    .l1
                    .send(from, self.sys.registry, U256::ZERO, call.abi_encode());
                let expected = if *by_owner {
                    Ok(())
                } else {
                    Err("Unauthorized")
                };
                if self.expect("set respected type", &outcome, expected, stats)? {
                    self.model.respected = game_type;
                    self.model.respected_since = self.model.now;
                }
            }
            Step::Toggle => {
                self.model.toggled_on = !self.model.toggled_on;
                let on = U256::from(u8::from(self.model.toggled_on));
                self.l1.set_storage(TOGGLED, U256::ZERO, on);
            }
            Step::Warp(seconds) => {
                self.l1.warp(*seconds);
                self.model.now += seconds;
            }
        }
        Ok(())
    }

    /// Compares a call's outcome with the model's; returns whether it succeeded.
    fn expect(
        &self,
        what: &str,
        outcome: &Outcome,
        expected: Expected,
        stats: &mut Stats,
    ) -> Result<bool, TestCaseError> {
        let got = result(outcome);
        prop_assert_eq!(
            got.as_ref().map(|_| ()).map_err(String::as_str),
            expected,
            "{} at t+{}",
            what,
            self.model.now - crate::harness::START_TIME
        );
        count(stats, what, got.as_ref().err().map_or("ok", String::as_str));
        Ok(got.is_ok())
    }

    fn deposit_step(
        &mut self,
        caller: Address,
        wei: u64,
        gas_limit: u64,
        data_len: u16,
        stats: &mut Stats,
    ) -> Result<(), TestCaseError> {
        let call = IPortal::depositTransactionCall {
            to: caller,
            value: U256::ZERO,
            gasLimit: gas_limit,
            isCreation: false,
            data: Model::data_of(data_len),
        };
        let Some((expected, gas)) = self.deposit_expectation(gas_limit, data_len) else {
            count(stats, "deposit", "skipped: its burn exceeds an L1 block");
            return Ok(());
        };
        let outcome = self.l1.send_with_gas(
            caller,
            self.sys.portal,
            U256::from(wei),
            call.abi_encode(),
            gas,
        );
        if self.expect("deposit", &outcome, expected, stats)? {
            self.model.deposit(U256::from(wei));
            let bought = resource(gas_limit, u64::from(data_len));
            self.market.buy(
                self.l1.number(),
                u64::try_from(bought).expect("within the limit"),
            );
        }
        Ok(())
    }

    /// What a deposit of `gas_limit` and `data_len` bytes of data does in this L1 block by the
    /// market's model (a gas limit of at least `21,000 + 40` per byte, OP's minimum; a resource
    /// of the gas limit plus 60 per byte, within 10,000,000 and what the block has left), and L1
    /// gas enough for it: 1,000,000 plus the burn its resource is priced at (`block.basefee` is
    /// zero here, so 1 gwei divides); `None` when that is over 50,000,000 (after several full L1
    /// blocks in a row), a deposit the harness's L1 block cannot hold.
    fn deposit_expectation(&self, gas_limit: u64, data_len: u16) -> Option<(Expected, u64)> {
        let (fee, remaining) = self.market.at(self.l1.number());
        let len = u64::from(data_len);
        let bought = resource(gas_limit, len);
        let expected = if gas_limit < minimum_gas_limit(len) {
            Err("SmallGasLimit")
        } else if bought > u128::from(MAX_RESOURCE_LIMIT) {
            Err("OptimismPortal_GasLimitTooHigh")
        } else if bought > u128::from(remaining) {
            Err("OptimismPortal_DepositLimitReached")
        } else {
            Ok(())
        };
        let burn = bought * fee / MIN_BASE_FEE;
        let gas = u64::try_from(burn).ok()?.checked_add(1_000_000)?;
        (gas <= 50_000_000).then_some((expected, gas))
    }

    fn propose(
        &mut self,
        claim: &Claim,
        main_type: bool,
        stats: &mut Stats,
    ) -> Result<(), TestCaseError> {
        let m = &self.model;
        let selected = |mask: u8, i: usize| mask & (1 << (i % 8)) != 0;
        let contents: BTreeSet<usize> = match claim {
            Claim::Honest | Claim::Garbage(_) => m.passed.clone(),
            Claim::Omitting(mask) => m
                .passed
                .iter()
                .copied()
                .filter(|&i| !selected(*mask, i))
                .collect(),
            Claim::Fraud(mask) => (0..m.pool.len())
                .filter(|i| m.passed.contains(i) || selected(*mask, *i))
                .collect(),
        };
        let (output, trie) = m.output_with(&contents);
        let root = match claim {
            Claim::Garbage(root) => *root,
            _ => output.root(),
        };
        let fraud = !contents.is_subset(&m.passed);
        let game_type = if main_type {
            GAME_TYPE
        } else {
            OTHER_GAME_TYPE
        };
        let value = if main_type { bond() } else { U256::ZERO };
        let call = IFactory::createCall {
            gameType: game_type,
            rootClaim: root,
            extraData: U256::from(m.height).abi_encode().into(),
        };
        let expected = m.expect_create(game_type, root);
        let outcome = self
            .l1
            .send(PROPOSER, self.sys.factory, value, call.abi_encode());
        if self.expect("propose", &outcome, expected, stats)? {
            let Outcome::Success {
                output: returned, ..
            } = &outcome
            else {
                return Err(TestCaseError::fail("create succeeded without returning"));
            };
            let address = IFactory::createCall::abi_decode_returns(returned)
                .map_err(|e| TestCaseError::fail(format!("create's return: {e}")))?;
            let height = self.model.height;
            self.model.claims.insert((game_type, root, height));
            let now = self.model.now;
            self.model.games.push(Game {
                address,
                game_type,
                root,
                output,
                trie,
                contents,
                fraud,
                created_at: now,
                status: IN_PROGRESS,
                resolved_at: 0,
            });
        }
        Ok(())
    }

    fn prove(
        &mut self,
        w: usize,
        g: Option<usize>,
        caller: Address,
        honest_preimage: bool,
        stats: &mut Stats,
    ) -> Result<(), TestCaseError> {
        let m = &self.model;
        let (output, trie, contents) = match g {
            Some(g) if !honest_preimage => {
                let game = &m.games[g];
                (game.output, game.trie.clone(), game.contents.clone())
            }
            _ => m.honest(),
        };
        let withdrawal = &m.pool[w];
        let call = IPortal::proveWithdrawalTransactionCall {
            wtx: wtx(withdrawal),
            disputeGameIndex: U256::from(g.unwrap_or(m.games.len())),
            outputRootProof: crate::harness::OutputRootProof {
                version: B256::ZERO,
                stateRoot: output.state_root,
                messagePasserStorageRoot: output.message_passer_storage_root,
                latestBlockhash: output.block_hash,
            },
            withdrawalProof: trie.proof(withdrawal.storage_slot()).1,
        };
        let expected = m.expect_prove(w, g, &output, &contents);
        let outcome = self
            .l1
            .send(caller, self.sys.portal, U256::ZERO, call.abi_encode());
        if self.expect("prove", &outcome, expected, stats)? {
            let g = g.ok_or_else(|| TestCaseError::fail("proven without a game"))?;
            self.model.prove(w, g, caller);
        }
        Ok(())
    }

    fn finalize(
        &mut self,
        w: usize,
        caller: Address,
        external: Option<Address>,
        stats: &mut Stats,
    ) -> Result<(), TestCaseError> {
        let tx = wtx(&self.model.pool[w]);
        let (submitter, data) = match external {
            Some(submitter) => (
                submitter,
                IPortal::finalizeWithdrawalTransactionExternalProofCall {
                    wtx: tx,
                    proofSubmitter: submitter,
                }
                .abi_encode(),
            ),
            None => (
                caller,
                IPortal::finalizeWithdrawalTransactionCall { wtx: tx }.abi_encode(),
            ),
        };
        let mut expected = self.model.expect_finalize(w, submitter);
        // A withdrawal to the forwarder sends its value back into the portal, a deposit of
        // `RECEIVE_DEFAULT_GAS_LIMIT` (100,000) bought in this L1 block's market: the call fails
        // when the block's deposits cannot buy that much more.
        let forwarded = self.model.kinds[w] == TargetKind::Forwarder;
        if forwarded && expected.is_ok() && self.market.at(self.l1.number()).1 < 100_000 {
            expected = Err("CallFailed");
        }
        let outcome = self.l1.send(caller, self.sys.portal, U256::ZERO, data);
        if self.expect("finalize", &outcome, expected, stats)? {
            self.finalized_by_rule(w, submitter, &outcome)?;
            count(stats, "paid", &format!("{:?}", self.model.kinds[w]));
            self.model.finalize(w);
            if forwarded {
                self.market.buy(self.l1.number(), 100_000);
            }
        }
        Ok(())
    }

    /// What a successful finalization shows on chain, read from the contracts rather than the
    /// model: one `WithdrawalFinalized`, a proof older than the maturity delay, and a game of the
    /// respected type that resolved DEFENDER_WINS more than the finality delay ago.
    fn finalized_by_rule(
        &mut self,
        w: usize,
        submitter: Address,
        outcome: &Outcome,
    ) -> Result<(), TestCaseError> {
        let hash = self.model.pool[w].hash();
        let Outcome::Success { logs, .. } = outcome else {
            return Err(TestCaseError::fail("not a success"));
        };
        let events: Vec<_> = logs
            .iter()
            .filter(|log| log.address == self.sys.portal)
            .filter_map(|log| IPortal::WithdrawalFinalized::decode_log(log).ok())
            .collect();
        prop_assert_eq!(events.len(), 1);
        prop_assert_eq!((events[0].withdrawalHash, events[0].success), (hash, true));
        self.finalized_events[w] += 1;
        prop_assert!(
            self.finalized_events[w] <= 1,
            "withdrawal {} finalized twice",
            w
        );

        let now = self.l1.now();
        let proof = self.l1.view(
            self.sys.portal,
            IPortal::provenWithdrawalsCall::new((hash, submitter)),
        );
        prop_assert!(now - proof.timestamp > MATURITY_DELAY, "proof too young");
        let game = proof.disputeGameProxy;
        let respected = self
            .l1
            .view(self.sys.registry, IRegistry::respectedGameTypeCall {});
        prop_assert_eq!(self.l1.view(game, IGame::gameTypeCall {}), respected);
        prop_assert_eq!(self.l1.view(game, IGame::statusCall {}), DEFENDER_WINS);
        let resolved_at = self.l1.view(game, IGame::resolvedAtCall {});
        prop_assert!(
            resolved_at > 0 && now - resolved_at > FINALITY_DELAY,
            "game not final"
        );
        Ok(())
    }

    fn resolve(
        &mut self,
        g: usize,
        caller: Address,
        stats: &mut Stats,
    ) -> Result<(), TestCaseError> {
        // The honest challenger never lets a claim of unpassed withdrawals stand.
        if self.model.games[g].fraud && self.model.games[g].status == IN_PROGRESS {
            self.challenger_wins(g);
        }
        let game = self.model.games[g].address;
        let expected = self.model.expect_resolve(g);
        let outcome = self
            .l1
            .send(caller, game, U256::ZERO, IGame::resolveCall {}.abi_encode());
        if self.expect("resolve", &outcome, expected, stats)? {
            self.model.resolve(g, DEFENDER_WINS);
        }
        Ok(())
    }

    /// Stands in for a challenge path ProposalGame does not have: writes CHALLENGER_WINS and
    /// `resolvedAt = now` into the game's storage (slot 0: `initialized` in byte 0, `status` in
    /// byte 1, `createdAt` in bytes 2..10, `resolvedAt` in bytes 10..18, from the low end).
    fn challenger_wins(&mut self, g: usize) {
        let game = self.model.games[g].address;
        let now = self.l1.now();
        let slot0 = self.l1.storage(game, U256::ZERO);
        let fields: U256 = (U256::from(0xffu8) << 8) | (U256::from(u64::MAX) << 80);
        let cleared = slot0 & !fields;
        let written = cleared | (U256::from(CHALLENGER_WINS) << 8) | (U256::from(now) << 80);
        self.l1.set_storage(game, U256::ZERO, written);
        assert_eq!(
            self.l1.view(game, IGame::statusCall {}),
            CHALLENGER_WINS,
            "status layout"
        );
        assert_eq!(
            self.l1.view(game, IGame::resolvedAtCall {}),
            now,
            "resolvedAt layout"
        );
        self.model.resolve(g, CHALLENGER_WINS);
    }

    /// The invariants, read from the chain after every step.
    fn check_invariants(&mut self) -> Result<(), TestCaseError> {
        let portal = self.sys.portal;
        // No finalization is left half done: `l2Sender` is back to its default.
        prop_assert_eq!(
            self.l1.view(portal, IPortal::l2SenderCall {}),
            address!("0x000000000000000000000000000000000000dEaD")
        );
        let balance = self.l1.balance(portal);
        prop_assert_eq!(balance, self.model.portal_balance, "portal balance");
        prop_assert!(
            balance >= self.model.owed(),
            "the portal holds {} but owes {}",
            balance,
            self.model.owed()
        );
        for (&target, &paid) in &self.model.paid {
            prop_assert_eq!(self.l1.balance(target), paid, "target {} paid", target);
        }
        prop_assert_eq!(self.l1.balance(FORWARDER), U256::ZERO);
        if !self.model.paid.contains_key(&TOGGLED) {
            prop_assert_eq!(self.l1.balance(TOGGLED), U256::ZERO);
        }
        for w in 0..self.model.pool.len() {
            let hash = self.model.pool[w].hash();
            let finalized = self
                .l1
                .view(portal, IPortal::finalizedWithdrawalsCall::new((hash,)));
            prop_assert_eq!(
                finalized,
                self.model.finalized[w],
                "withdrawal {} finalized",
                w
            );
            prop_assert!(
                !finalized || self.model.passed.contains(&w),
                "withdrawal {} never passed",
                w
            );
            let submitters = self
                .l1
                .view(portal, IPortal::numProofSubmittersCall::new((hash,)));
            prop_assert_eq!(submitters, U256::from(self.model.submitters[w].len()));
            for (i, &who) in self.model.submitters[w].iter().enumerate() {
                let listed = self.l1.view(
                    portal,
                    IPortal::proofSubmittersCall::new((hash, U256::from(i))),
                );
                prop_assert_eq!(listed, who, "proof submitter {} of withdrawal {}", i, w);
            }
            for who in [USER, OTHER, PROPOSER] {
                let record = self
                    .l1
                    .view(portal, IPortal::provenWithdrawalsCall::new((hash, who)));
                let expected = self
                    .model
                    .proven
                    .get(&(w, who))
                    .map_or((Address::ZERO, 0), |&(g, at)| {
                        (self.model.games[g].address, at)
                    });
                prop_assert_eq!((record.disputeGameProxy, record.timestamp), expected);
                let check = IPortal::checkWithdrawalCall {
                    withdrawalHash: hash,
                    proofSubmitter: who,
                };
                let got = result(&self.l1.try_view(portal, check));
                prop_assert_eq!(
                    got.as_ref().map(|_| ()).map_err(String::as_str),
                    self.model.expect_check(w, who),
                    "checkWithdrawal({}, {})",
                    w,
                    who
                );
            }
        }
        Ok(())
    }
}

fn count(stats: &mut Stats, what: &str, outcome: &str) {
    *stats.entry(format!("{what}: {outcome}")).or_default() += 1;
}

#[test]
fn portal_invariants_hold_under_random_sequences() {
    let strategy = (
        proptest::collection::vec(spec(), 3..=7),
        0u64..=10_000_000_000_000_000_000,
        proptest::collection::vec(step(), 40..150),
    );
    // A fixed seed: the coverage check below asks that the sequences reach every rule, and some
    // (a toggled target paid) are rare enough that a random seed misses them now and then.
    // `PROPTEST_RNG_SEED` does not apply here; change the cases or the seed to explore further.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 128,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let stats = RefCell::new(Stats::new());
    runner
        .run(&strategy, |(specs, initial, steps)| {
            let stats = &mut *stats.borrow_mut();
            let mut run = Run::new(&specs, initial);
            run.check_invariants()?;
            for (i, step) in steps.iter().enumerate() {
                run.step(step, stats)
                    .map_err(|e| TestCaseError::fail(format!("step {i} {step:?}: {e}")))?;
                run.check_invariants()
                    .map_err(|e| TestCaseError::fail(format!("after step {i} {step:?}: {e}")))?;
            }
            Ok(())
        })
        .unwrap();
    let stats = stats.into_inner();
    eprintln!("{stats:#?}");
    // The sequences reach every rule, not only the early refusals.
    for outcome in [
        "finalize: ok",
        "paid: Plain",
        "paid: Toggled",
        "finalize: OptimismPortal_Unproven",
        "finalize: OptimismPortal_ProofNotOldEnough",
        "finalize: OptimismPortal_InvalidRootClaim",
        "finalize: OptimismPortal_AlreadyFinalized",
        "finalize: CallFailed",
        "finalize: OutOfGas",
        "prove: ok",
        "prove: BadTarget",
        "prove: InvalidGameType",
        "prove: InvalidDisputeGame",
        "prove: InvalidProof",
        "prove: InvalidMerkleProof",
        "propose: GameAlreadyExists",
        "resolve: ok",
        "resolve: ClockNotExpired",
        "deposit: SmallGasLimit",
        "deposit: OptimismPortal_GasLimitTooHigh",
        "deposit: OptimismPortal_DepositLimitReached",
    ] {
        assert!(
            stats.get(outcome).copied().unwrap_or(0) > 0,
            "never reached {outcome}"
        );
    }
}
