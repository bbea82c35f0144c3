//! The random call sequences of `portal_invariants.rs`: the pool of withdrawals a case works
//! with (`Spec`) and the steps (`Step`), with the weights that make sequences reach every rule of
//! the portal (proofs aimed at games that can take them, resolutions of games that are due, warps
//! around each delay) without giving up the calls that must fail.

use alloy::primitives::{Address, B256, Bytes, U256};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::harness::{CHALLENGE_WINDOW, FINALITY_DELAY, MATURITY_DELAY, OTHER, PROPOSER, USER};

#[derive(Debug, Clone)]
pub enum Target {
    /// An account without code (random address).
    Plain(Address),
    Toggled,
    Forwarder,
    /// The portal itself: never provable (`BadTarget`).
    Portal,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub sender: Address,
    pub target: Target,
    pub value: U256,
    pub gas_limit: U256,
    pub data: Bytes,
}

#[derive(Debug, Clone)]
pub enum Claim {
    Honest,
    /// The honest storage without the passed withdrawals `mask` selects.
    Omitting(u8),
    /// The honest storage plus the unpassed withdrawals `mask` selects.
    Fraud(u8),
    Garbage(B256),
}

#[derive(Debug, Clone)]
pub enum Step {
    /// The L2 passes an unpassed withdrawal, if its supply covers the value.
    Pass(Index),
    Propose {
        claim: Claim,
        respected: bool,
    },
    Prove {
        w: Index,
        /// Pick among the withdrawals the L2 passed (if any) rather than the whole pool.
        passed_only: bool,
        /// None: an index past the last game.
        game: Option<Index>,
        /// Pick among the games the withdrawal can be proven against (if any).
        aimed: bool,
        caller: Address,
        /// Prove with the honest current L2 output instead of the game's own preimage.
        honest_preimage: bool,
    },
    Finalize {
        w: Index,
        caller: Address,
        /// Pick one of the proofs made so far (if any) rather than any withdrawal with the
        /// caller's own proof.
        proven_only: bool,
        /// With `finalizeWithdrawalTransactionExternalProof` (the picked proof's submitter, or
        /// this one).
        external: Option<Address>,
    },
    Resolve {
        game: Index,
        /// Pick among the games in progress whose window has passed (if any).
        due_only: bool,
        caller: Address,
    },
    ChallengerWins {
        game: Index,
    },
    Deposit {
        caller: Address,
        wei: u64,
        gas_limit: u64,
        data_len: u16,
    },
    Receive {
        caller: Address,
        wei: u64,
    },
    Donate {
        caller: Address,
        wei: u64,
    },
    SetRespected {
        other: bool,
        by_owner: bool,
    },
    Toggle,
    Warp(u64),
}

pub fn caller() -> impl Strategy<Value = Address> {
    prop::sample::select(vec![USER, OTHER, PROPOSER])
}

pub fn spec() -> impl Strategy<Value = Spec> {
    let target = prop_oneof![
        4 => any::<[u8; 20]>().prop_map(|a| Target::Plain(Address::from(a))),
        2 => Just(Target::Toggled),
        2 => Just(Target::Forwarder),
        1 => Just(Target::Portal),
    ];
    let value = prop_oneof![
        1 => Just(U256::ZERO),
        4 => (1u64..=3_000_000_000).prop_map(|gwei| U256::from(gwei) * U256::from(1_000_000_000u64)),
    ];
    // Either comfortably within the 10M gas the test sends, or never satisfiable by it.
    let gas_limit = prop_oneof![
        6 => (0u64..300_000).prop_map(U256::from),
        1 => Just(U256::from(20_000_000u64)),
        1 => Just(U256::from(u64::MAX) + U256::from(1)),
        1 => Just(U256::MAX),
    ];
    let data = prop_oneof![
        2 => Just(Vec::new()),
        2 => proptest::collection::vec(any::<u8>(), 1..100),
        1 => proptest::collection::vec(any::<u8>(), 0..3_000),
    ];
    (any::<[u8; 20]>(), target, value, gas_limit, data).prop_map(
        |(sender, target, value, gas_limit, data)| Spec {
            sender: Address::from(sender),
            target,
            value,
            gas_limit,
            data: data.into(),
        },
    )
}

pub fn step() -> impl Strategy<Value = Step> {
    let wei = 0u64..=5_000_000_000_000_000_000;
    prop_oneof![
        6 => any::<Index>().prop_map(Step::Pass),
        6 => (
            prop_oneof![
                3 => Just(Claim::Honest),
                1 => any::<u8>().prop_map(Claim::Omitting),
                2 => any::<u8>().prop_map(Claim::Fraud),
                1 => any::<[u8; 32]>().prop_map(|r| Claim::Garbage(r.into())),
            ],
            prop::bool::weighted(0.85),
        )
            .prop_map(|(claim, respected)| Step::Propose { claim, respected }),
        14 => (any::<Index>(), prop::bool::weighted(0.8), prop::option::weighted(0.97, any::<Index>()), prop::bool::weighted(0.6), caller(), prop::bool::weighted(0.2))
            .prop_map(|(w, passed_only, game, aimed, caller, honest_preimage)| Step::Prove { w, passed_only, game, aimed, caller, honest_preimage }),
        14 => (any::<Index>(), caller(), prop::bool::weighted(0.85), prop::option::weighted(0.3, caller()))
            .prop_map(|(w, caller, proven_only, external)| Step::Finalize { w, caller, proven_only, external }),
        6 => (any::<Index>(), prop::bool::weighted(0.8), caller())
            .prop_map(|(game, due_only, caller)| Step::Resolve { game, due_only, caller }),
        1 => any::<Index>().prop_map(|game| Step::ChallengerWins { game }),
        4 => (
            caller(),
            wei.clone(),
            prop_oneof![0u64..60_000, Just(100_000), Just(5_000_000), Just(9_990_000), Just(10_000_000), Just(10_000_001)],
            0u16..200,
        )
            .prop_map(|(caller, wei, gas_limit, data_len)| Step::Deposit { caller, wei, gas_limit, data_len }),
        2 => (caller(), wei.clone()).prop_map(|(caller, wei)| Step::Receive { caller, wei }),
        2 => (caller(), wei).prop_map(|(caller, wei)| Step::Donate { caller, wei }),
        1 => (prop::bool::weighted(0.3), prop::bool::weighted(0.8))
            .prop_map(|(other, by_owner)| Step::SetRespected { other, by_owner }),
        2 => Just(Step::Toggle),
        14 => prop_oneof![
            0u64..=3,
            Just(MATURITY_DELAY),
            Just(MATURITY_DELAY + 1),
            Just(FINALITY_DELAY),
            Just(FINALITY_DELAY + 1),
            Just(CHALLENGE_WINDOW),
            1u64..=200,
        ]
        .prop_map(Step::Warp),
    ]
}
