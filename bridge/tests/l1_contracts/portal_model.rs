//! A plain-Rust model of the portal, its games and the simulated L2, for the property test in
//! `portal_invariants.rs`: it predicts each call's outcome (`Ok` or the revert name) from the rules
//! CONTRACTS.md states, and is updated with the effects of the calls that succeed.

use std::collections::{BTreeSet, HashMap, HashSet};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use bridge::output::OutputV0;
use bridge::proof::StorageTrie;
use bridge::withdrawal::Withdrawal;

use crate::harness::{CHALLENGE_WINDOW, FINALITY_DELAY, GAME_TYPE, MATURITY_DELAY};

/// Storage slots in every message-passer trie besides withdrawals, so proofs go through branches.
const NOISE_SLOTS: u64 = 6;
/// Above this gas limit the 10M gas the test sends can never satisfy the portal's gas check
/// (generated limits are either well below or far above it).
const GAS_LIMIT_SATISFIABLE: u64 = 9_000_000;

pub const IN_PROGRESS: u8 = 0;
pub const CHALLENGER_WINS: u8 = 1;
pub const DEFENDER_WINS: u8 = 2;

/// What a withdrawal's target does with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// No code: accepts anything.
    Plain,
    /// Reverts until toggled on.
    Toggled,
    /// Forwards the call to the portal: with empty data the value comes back as a deposit, with
    /// any other data it reverts.
    Forwarder,
    /// The portal itself.
    Portal,
}

/// What a proposal's output claims.
pub struct Game {
    pub address: Address,
    pub game_type: u32,
    pub root: B256,
    /// The preimage the proposer holds (for a garbage root: the honest output, which does not
    /// hash to `root`) and the message passer's storage it commits to.
    pub output: OutputV0,
    pub trie: StorageTrie,
    /// Indices of the pool's withdrawals in `trie`.
    pub contents: BTreeSet<usize>,
    /// Claims a withdrawal the L2 never passed.
    pub fraud: bool,
    pub created_at: u64,
    pub status: u8,
    pub resolved_at: u64,
}

pub type Expected = Result<(), &'static str>;

pub struct Model {
    pub pool: Vec<Withdrawal>,
    pub kinds: Vec<TargetKind>,
    /// Withdrawals the L2 passed (recorded in its message passer).
    pub passed: BTreeSet<usize>,
    /// L2 block height: one block per passed withdrawal.
    pub height: u64,
    pub finalized: Vec<bool>,
    /// (withdrawal, submitter) to (game index, proof timestamp).
    pub proven: HashMap<(usize, Address), (usize, u64)>,
    pub submitters: Vec<Vec<Address>>,
    pub games: Vec<Game>,
    /// (game type, root, L2 block) of every game created.
    pub claims: HashSet<(u32, B256, u64)>,
    pub respected: u32,
    /// When the respected type was last set: games created before are retired.
    pub respected_since: u64,
    pub toggled_on: bool,
    pub portal_balance: U256,
    /// Ether on L2: minted by deposits, taken out by passed withdrawals.
    pub l2_supply: U256,
    /// Wei each target received from finalized withdrawals.
    pub paid: HashMap<Address, U256>,
    pub now: u64,
}

impl Model {
    pub fn new(pool: Vec<Withdrawal>, kinds: Vec<TargetKind>, now: u64) -> Self {
        let n = pool.len();
        Self {
            pool,
            kinds,
            passed: BTreeSet::new(),
            height: 0,
            finalized: vec![false; n],
            proven: HashMap::new(),
            submitters: vec![Vec::new(); n],
            games: Vec::new(),
            claims: HashSet::new(),
            respected: GAME_TYPE,
            respected_since: now,
            toggled_on: false,
            portal_balance: U256::ZERO,
            l2_supply: U256::ZERO,
            paid: HashMap::new(),
            now,
        }
    }

    /// The output of the L2 block at the current height if its message passer held `contents`.
    pub fn output_with(&self, contents: &BTreeSet<usize>) -> (OutputV0, StorageTrie) {
        let mut trie = StorageTrie::new();
        for i in 0..NOISE_SLOTS {
            trie.insert(keccak256(i.to_be_bytes()), U256::from(i + 7));
        }
        for &i in contents {
            trie.insert_withdrawal(self.pool[i].hash());
        }
        let output = OutputV0 {
            state_root: keccak256([b"state".as_slice(), &self.height.to_be_bytes()].concat()),
            message_passer_storage_root: trie.root(),
            block_hash: keccak256([b"block".as_slice(), &self.height.to_be_bytes()].concat()),
        };
        (output, trie)
    }

    /// The true output at the current height, its storage and what it holds.
    pub fn honest(&self) -> (OutputV0, StorageTrie, BTreeSet<usize>) {
        let (output, trie) = self.output_with(&self.passed);
        (output, trie, self.passed.clone())
    }

    /// Passes withdrawal `i` on L2 if its value is there; returns whether it did.
    pub fn pass(&mut self, i: usize) -> bool {
        let value = self.pool[i].value;
        if self.passed.contains(&i) || value > self.l2_supply {
            return false;
        }
        self.l2_supply -= value;
        self.passed.insert(i);
        self.height += 1;
        true
    }

    pub fn deposit(&mut self, wei: U256) {
        self.portal_balance += wei;
        self.l2_supply += wei;
    }

    pub fn expect_create(&self, game_type: u32, root: B256) -> Expected {
        if self.claims.contains(&(game_type, root, self.height)) {
            return Err("GameAlreadyExists");
        }
        Ok(())
    }

    pub fn expect_resolve(&self, g: usize) -> Expected {
        let game = &self.games[g];
        if game.status != IN_PROGRESS {
            return Err("GameNotInProgress");
        }
        if self.now < game.created_at + CHALLENGE_WINDOW {
            return Err("ClockNotExpired");
        }
        Ok(())
    }

    pub fn resolve(&mut self, g: usize, status: u8) {
        let now = self.now;
        let game = &mut self.games[g];
        game.status = status;
        game.resolved_at = now;
    }

    /// `proveWithdrawalTransaction(pool[w], g, source output, proof from source storage)`.
    pub fn expect_prove(
        &self,
        w: usize,
        g: Option<usize>,
        source: &OutputV0,
        source_contents: &BTreeSet<usize>,
    ) -> Expected {
        if self.kinds[w] == TargetKind::Portal {
            return Err("BadTarget");
        }
        if self.finalized[w] {
            return Err("OptimismPortal_AlreadyFinalized");
        }
        let Some(g) = g else {
            return Err("Panic(50)");
        };
        let game = &self.games[g];
        if !self.respects(game) {
            return Err("InvalidGameType");
        }
        if game.status == CHALLENGER_WINS {
            return Err("InvalidDisputeGame");
        }
        if source.root() != game.root {
            return Err("InvalidProof");
        }
        if !source_contents.contains(&w) {
            return Err("InvalidMerkleProof");
        }
        Ok(())
    }

    pub fn prove(&mut self, w: usize, g: usize, submitter: Address) {
        if self.proven.insert((w, submitter), (g, self.now)).is_none() {
            self.submitters[w].push(submitter);
        }
    }

    /// The registry's `isGameRespected`: of the respected type and created since it was set.
    pub fn respects(&self, game: &Game) -> bool {
        game.game_type == self.respected && game.created_at >= self.respected_since
    }

    /// The registry's `isGameClaimValid`.
    pub fn claim_valid(&self, g: usize) -> bool {
        let game = &self.games[g];
        self.respects(game)
            && game.status == DEFENDER_WINS
            && self.now - game.resolved_at > FINALITY_DELAY
    }

    /// `checkWithdrawal(hash, submitter)`.
    pub fn expect_check(&self, w: usize, submitter: Address) -> Expected {
        if self.finalized[w] {
            return Err("OptimismPortal_AlreadyFinalized");
        }
        let Some(&(g, at)) = self.proven.get(&(w, submitter)) else {
            return Err("OptimismPortal_Unproven");
        };
        if self.now - at <= MATURITY_DELAY {
            return Err("OptimismPortal_ProofNotOldEnough");
        }
        if !self.claim_valid(g) {
            return Err("OptimismPortal_InvalidRootClaim");
        }
        Ok(())
    }

    /// A finalization with `submitter`'s proof.
    pub fn expect_finalize(&self, w: usize, submitter: Address) -> Expected {
        self.expect_check(w, submitter)?;
        let tx = &self.pool[w];
        if tx.gas_limit > U256::from(GAS_LIMIT_SATISFIABLE) {
            return Err("OutOfGas");
        }
        if tx.value > self.portal_balance {
            return Err("CallFailed");
        }
        match self.kinds[w] {
            TargetKind::Toggled if !self.toggled_on => Err("CallFailed"),
            TargetKind::Forwarder if !tx.data.is_empty() => Err("CallFailed"),
            _ => Ok(()),
        }
    }

    pub fn finalize(&mut self, w: usize) {
        self.finalized[w] = true;
        let tx = &self.pool[w];
        self.portal_balance -= tx.value;
        if self.kinds[w] == TargetKind::Forwarder {
            // Sent back into the portal as a deposit from the forwarder's alias.
            self.portal_balance += tx.value;
            self.l2_supply += tx.value;
        } else {
            *self.paid.entry(tx.target).or_default() += tx.value;
        }
    }

    /// What still has to leave the portal for L2 holders: the L2 supply and every passed
    /// withdrawal not finalized yet.
    pub fn owed(&self) -> U256 {
        self.passed
            .iter()
            .filter(|&&i| !self.finalized[i])
            .fold(self.l2_supply, |sum, &i| sum + self.pool[i].value)
    }

    pub fn data_of(len: u16) -> Bytes {
        Bytes::from(vec![0xab; usize::from(len)])
    }
}
