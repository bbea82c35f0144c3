//! Invariants over random L2 workloads on real engines: failing transactions between valid
//! ones leave nothing but their nonce and fee, the ETH supply moves only by deposits (up),
//! withdrawals (into the message passer) and self-burning SELFDESTRUCT (down), and every
//! block the sequencer built re-executes to the same hash on a chain derived from L1.

use super::tests::{
    BATCHER, GENESIS_TIME, TestInbox, assert_same, chain, derive, key, l1, view_of,
};
use crate::{
    batcher::plan::{LocalBlock, MAX_APPEND_DATA},
    derivation::{FeeScalars, next_attributes, origin_of},
    engine::MESSAGE_PASSER,
    storage::StoreReader,
    txpool::{PoolConfig, decode_and_recover},
};
use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use bridge::deposit::{USER_DEPOSIT_DOMAIN, source_hash};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};
use proptest::prelude::*;
use std::sync::Arc;

const CHAIN_ID: u64 = 901;
const GAS_LIMIT: u64 = 30_000_000;
const ACTORS: u32 = 4;

/// `PUSH0 PUSH0 REVERT`: every call reverts.
const REVERTER: &[u8] = &[0x5f, 0x5f, 0xfd];
/// `JUMPDEST PUSH1 0 JUMP`: every call runs out of gas.
const LOOPER: &[u8] = &[0x5b, 0x60, 0x00, 0x56];
/// `CALLER SELFDESTRUCT`: hands its whole balance to the caller (it stays: EIP-6780).
const GIVER: &[u8] = &[0x33, 0xff];

/// One thing a transaction does.
#[derive(Debug, Clone)]
enum Op {
    Transfer {
        to: u8,
        value: u64,
    },
    Revert {
        value: u64,
    },
    OutOfGas {
        value: u64,
    },
    Withdraw {
        value: u64,
    },
    /// Create a contract whose constructor self-destructs to an actor (ETH moves).
    CreateAndDestroyTo {
        to: u8,
        value: u64,
    },
    /// Create a contract whose constructor self-destructs to itself (its ETH is burned).
    CreateAndBurn {
        value: u64,
    },
    /// Call the giver with value; it sends everything back.
    Give {
        value: u64,
    },
}

fn op() -> impl Strategy<Value = (u8, Op)> {
    let value = 0u64..3_000_000_000_000_000u64;
    (
        0u8..ACTORS as u8,
        prop_oneof![
            (0u8..8, value.clone()).prop_map(|(to, value)| Op::Transfer { to, value }),
            value.clone().prop_map(|value| Op::Revert { value }),
            value.clone().prop_map(|value| Op::OutOfGas { value }),
            value.clone().prop_map(|value| Op::Withdraw { value }),
            (0u8..8, value.clone()).prop_map(|(to, value)| Op::CreateAndDestroyTo { to, value }),
            value.clone().prop_map(|value| Op::CreateAndBurn { value }),
            value.prop_map(|value| Op::Give { value }),
        ],
    )
}

/// Init code that returns `runtime` as the contract's code.
fn init_code(runtime: &[u8]) -> Bytes {
    let n = runtime.len() as u8;
    let mut code = vec![
        0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code.into()
}

fn actor(i: u8) -> Address {
    Address::with_last_byte(0xa0 + i)
}

struct Sender {
    key: PrivateKeySigner,
    nonce: u64,
}

fn sign(sender: &mut Sender, to: TxKind, value: U256, input: Bytes, gas: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: sender.nonce,
        gas_limit: gas,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000,
        to,
        value,
        input,
        ..Default::default()
    };
    sender.nonce += 1;
    let signature = sender
        .key
        .sign_hash_sync(&tx.signature_hash())
        .expect("sign");
    OpTxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

fn supply(reader: &StoreReader) -> (U256, U256) {
    let accounts = reader
        .hashed_accounts(usize::MAX)
        .unwrap()
        .expect("all accounts");
    let total = accounts.iter().map(|(_, a)| a.balance).sum();
    let passer = accounts
        .iter()
        .find(|(a, _)| *a == alloy::primitives::keccak256(MESSAGE_PASSER))
        .map_or(U256::ZERO, |(_, a)| a.balance);
    (total, passer)
}

fn initiate_withdrawal(to: Address) -> Bytes {
    // initiateWithdrawal(address,uint256,bytes)
    let mut data = keccak256("initiateWithdrawal(address,uint256,bytes)")[..4].to_vec();
    data.extend_from_slice(to.into_word().as_slice());
    data.extend_from_slice(&U256::from(100_000u64).to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(96u64).to_be_bytes::<32>());
    data.extend_from_slice(&U256::ZERO.to_be_bytes::<32>());
    data.into()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random blocks of transfers, reverting and out-of-gas calls, withdrawals and
    /// SELFDESTRUCT in all its EIP-6780 forms, with random deposits from L1: per block, the
    /// supply rises by exactly the deposits' mint and falls by exactly the ETH burned by
    /// self-destructing to itself; what is withdrawn sits in the message passer; and the
    /// chain derived from the blocks' batches is the same, hash for hash.
    #[test]
    fn supply_moves_only_by_deposits_withdrawals_and_burns_and_a_verifier_agrees(
        blocks in prop::collection::vec(prop::collection::vec(op(), 0..10), 2..7),
        mints in prop::collection::vec(prop::collection::vec((0u8..8, 0u64..5_000_000_000_000_000_000u64), 0..3), 8),
    ) {
        // L1: every block carries random deposits (mint to an actor, half of it passed on).
        let mut l1_blocks = l1(12);
        let mut parent = B256::ZERO;
        for (n, block) in l1_blocks.iter_mut().enumerate() {
            block.parent_hash = parent;
            if let Some(list) = mints.get(n) {
                block.deposits = list
                    .iter()
                    .enumerate()
                    .map(|(i, (to, mint))| TxDeposit {
                        source_hash: source_hash(USER_DEPOSIT_DOMAIN, block.hash, i as u64),
                        from: actor(*to),
                        to: TxKind::Call(actor((*to + 1) % 8)),
                        mint: u128::from(*mint),
                        value: U256::from(*mint / 2),
                        gas_limit: 100_000,
                        is_system_transaction: false,
                        input: Bytes::new(),
                    })
                    .collect();
            }
            parent = block.hash;
        }
        let view = view_of(&l1_blocks);
        let mut seq = chain();
        let pool = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
        let mut senders: Vec<Sender> = (0..ACTORS).map(|i| Sender { key: key(i), nonce: 0 }).collect();

        // Block 1 deploys the helper contracts from a fifth key.
        let mut deployer = Sender { key: key(ACTORS), nonce: 0 };
        let deployer_address = deployer.key.address();
        let helper = |nonce: u64| deployer_address.create(nonce);
        let (reverter, looper, giver) = (helper(0), helper(1), helper(2));
        let mut plan: Vec<Vec<(Bytes, Option<U256>)>> = vec![[REVERTER, LOOPER, GIVER]
            .iter()
            .map(|code| (sign(&mut deployer, TxKind::Create, U256::ZERO, init_code(code), 200_000), None))
            .collect()];
        for ops in &blocks {
            plan.push(ops.iter().map(|(who, op)| {
                let s = &mut senders[*who as usize];
                let wei = |v: &u64| U256::from(*v);
                match op {
                    Op::Transfer { to, value } => (sign(s, TxKind::Call(actor(*to)), wei(value), Bytes::new(), 21_000), None),
                    Op::Revert { value } => (sign(s, TxKind::Call(reverter), wei(value), Bytes::new(), 60_000), None),
                    Op::OutOfGas { value } => (sign(s, TxKind::Call(looper), wei(value), Bytes::new(), 40_000), None),
                    Op::Withdraw { value } => (sign(s, TxKind::Call(MESSAGE_PASSER), wei(value), initiate_withdrawal(actor(0)), 200_000), None),
                    Op::CreateAndDestroyTo { to, value } => {
                        let mut code = vec![0x73];
                        code.extend_from_slice(actor(*to).as_slice());
                        code.push(0xff);
                        (sign(s, TxKind::Create, wei(value), code.into(), 100_000), None)
                    }
                    // The value is burned if the creation succeeds.
                    Op::CreateAndBurn { value } => (sign(s, TxKind::Create, wei(value), Bytes::from_static(&[0x30, 0xff]), 100_000), Some(wei(value))),
                    Op::Give { value } => (sign(s, TxKind::Call(giver), wei(value), Bytes::new(), 60_000), None),
                }
            }).collect());
        }

        let (genesis_supply, _) = supply(&seq.store.reader().unwrap());
        let (mut minted, mut burned) = (U256::ZERO, U256::ZERO);
        let mut batches = Vec::new();
        let mut failures = 0usize;
        for (n, txs) in plan.iter().enumerate() {
            let before = supply(&seq.store.reader().unwrap());
            let head = seq.engine.head().clone();
            let parent = origin_of(&head.txs);
            let timestamp = GENESIS_TIME + (n as u64 + 1) * 12;
            let (attributes, _) = next_attributes(parent.as_ref(), 0, &view, timestamp, BATCHER, FeeScalars::default()).expect("attributes");
            let recovered: Vec<_> = txs.iter().map(|(raw, _)| Arc::new(decode_and_recover(raw.clone(), &pool).expect("admissible"))).collect();
            let built = seq.engine.build_block(&attributes, &recovered).expect("build");
            let block = seq.engine.commit(built).expect("commit");
            let block_mint: U256 = attributes.forced.iter().filter_map(|t| match t.tx.inner() {
                OpTxEnvelope::Deposit(d) => Some(U256::from(d.mint)),
                _ => None,
            }).sum();
            // Burns: only self-burning creations that succeeded.
            let mut block_burn = U256::ZERO;
            let mut withdrawn = U256::ZERO;
            for (tx, receipt) in block.txs.iter().zip(&block.receipts) {
                if let Some((_, Some(value))) = txs.iter().find(|(raw, _)| keccak256(raw) == tx.hash)
                    && receipt.status()
                {
                    block_burn += *value;
                }
                if !receipt.status() {
                    failures += 1;
                }
                if receipt.status() && alloy::consensus::Transaction::to(tx.tx.inner()) == Some(MESSAGE_PASSER) {
                    withdrawn += alloy::consensus::Transaction::value(tx.tx.inner());
                }
            }
            minted += block_mint;
            burned += block_burn;
            let after = supply(&seq.store.reader().unwrap());
            prop_assert_eq!(after.0 + block_burn, before.0 + block_mint, "block {}: supply moves by mint and burn only", block.number());
            prop_assert_eq!(after.1, before.1 + withdrawn, "block {}: withdrawn ETH sits in the message passer", block.number());
            prop_assert_eq!(after.0 + burned, genesis_supply + minted);
            batches.push(LocalBlock::of(&block).expect("origin"));
        }
        prop_assert!(failures <= plan.iter().map(Vec::len).sum::<usize>());

        // A verifier derives the same chain from the batches.
        let mut l1_with_batches = l1_blocks.clone();
        TestInbox::new(100).post(&mut l1_with_batches, 9, &batches, MAX_APPEND_DATA);
        let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
        let (derived, driver) = derive(&l1_with_batches, genesis, 100);
        prop_assert_eq!(driver.safe().number, plan.len() as u64);
        assert_same(&seq, &derived, plan.len() as u64);
    }
}
