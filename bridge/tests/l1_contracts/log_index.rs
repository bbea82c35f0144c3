//! The deposit log-index oracle (L1/DepositLogIndex.sol) in the EVM against its Rust model
//! (`bridge::log_index`): random blocks of legacy and typed receipts whose logs hide the portal's
//! deposit logs among others, proven in chunks of any size by `BlockReceipts::prove_calls`, record
//! exactly the model's chain; altered receipts, proofs of another trie, receipts out of order and
//! headers whose root differs are refused.

use std::cell::{Cell, RefCell};

use alloy::consensus::{Eip658Value, Header, Receipt, ReceiptEnvelope};
use alloy::primitives::{Address, B256, Bytes, Log, LogData, U256, address};
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use bridge::bindings::{DepositLogIndex, OptimismPortal};
use bridge::log_index::{BlockReceipts, MAX_CALL_BYTES, MAX_CALL_RECEIPTS, log_index_chain};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::harness::{DEPLOYER, L1, OTHER, Outcome};

/// The portal the oracle indexes (only its address matters here).
const PORTAL: Address = address!("0x2000000000000000000000000000000000000001");
const ELSEWHERE: Address = address!("0x2000000000000000000000000000000000000002");

/// One log of a random receipt.
#[derive(Debug, Clone)]
enum LogKind {
    /// The portal's `TransactionDeposited`.
    Deposit,
    /// The portal, another event.
    PortalOther,
    /// `TransactionDeposited`'s topic from another contract.
    ForeignDeposit,
    /// Anything else, with no topic at all sometimes.
    Noise { topics: u8 },
}

fn log_kind() -> impl Strategy<Value = LogKind> {
    prop_oneof![
        3 => Just(LogKind::Deposit),
        1 => Just(LogKind::PortalOther),
        1 => Just(LogKind::ForeignDeposit),
        3 => (0u8..=4).prop_map(|topics| LogKind::Noise { topics }),
    ]
}

fn make_log(kind: &LogKind, data: Vec<u8>) -> Log {
    let deposit = OptimismPortal::TransactionDeposited::SIGNATURE_HASH;
    let (address, topics) = match kind {
        LogKind::Deposit => (
            PORTAL,
            vec![
                deposit,
                B256::repeat_byte(1),
                B256::repeat_byte(2),
                B256::ZERO,
            ],
        ),
        LogKind::PortalOther => (PORTAL, vec![B256::repeat_byte(0xee)]),
        LogKind::ForeignDeposit => (
            ELSEWHERE,
            vec![
                deposit,
                B256::repeat_byte(1),
                B256::repeat_byte(2),
                B256::ZERO,
            ],
        ),
        LogKind::Noise { topics } => (
            ELSEWHERE,
            (0..*topics).map(|t| B256::repeat_byte(t + 0x40)).collect(),
        ),
    };
    Log {
        address,
        data: LogData::new_unchecked(topics, data.into()),
    }
}

/// A receipt: its type (0 legacy .. 4) and its logs.
type ReceiptSpec = (u8, Vec<(LogKind, Vec<u8>)>);

fn receipts() -> impl Strategy<Value = Vec<ReceiptSpec>> {
    proptest::collection::vec(
        (
            0u8..=4,
            proptest::collection::vec(
                (log_kind(), proptest::collection::vec(any::<u8>(), 0..80)),
                0..4,
            ),
        ),
        1..40,
    )
}

fn envelopes(specs: &[ReceiptSpec]) -> Vec<ReceiptEnvelope> {
    let mut gas = 0u64;
    specs
        .iter()
        .map(|(ty, logs)| {
            gas += 21_000;
            let receipt = Receipt {
                status: Eip658Value::Eip658(!gas.is_multiple_of(3)),
                cumulative_gas_used: gas,
                logs: logs.iter().map(|(k, d)| make_log(k, d.clone())).collect(),
            }
            .with_bloom();
            match ty {
                0 => ReceiptEnvelope::Legacy(receipt),
                1 => ReceiptEnvelope::Eip2930(receipt),
                2 => ReceiptEnvelope::Eip1559(receipt),
                3 => ReceiptEnvelope::Eip4844(receipt),
                _ => ReceiptEnvelope::Eip7702(receipt),
            }
        })
        .collect()
}

/// A header committing to `receipts` (a distinct block per `salt`).
fn header_of(receipts: &[ReceiptEnvelope], salt: u64) -> Header {
    Header {
        number: salt,
        receipts_root: alloy::consensus::proofs::calculate_receipt_root(receipts),
        gas_limit: 30_000_000,
        timestamp: 1_700_000_000 + salt,
        ..Header::default()
    }
}

fn prove(l1: &mut L1, oracle: Address, call: &DepositLogIndex::proveReceiptsCall) -> Outcome {
    l1.send(OTHER, oracle, U256::ZERO, call.abi_encode())
}

fn chain_at(l1: &mut L1, oracle: Address, hash: B256, c: u64) -> B256 {
    l1.view(
        oracle,
        DepositLogIndex::chainAtCall {
            _0: hash,
            _1: U256::from(c),
        },
    )
}

fn count(l1: &mut L1, oracle: Address, call: impl SolCall<Return = U256>) -> u64 {
    l1.view(oracle, call).to::<u64>()
}

fn deploy(l1: &mut L1) -> Address {
    l1.deploy(DEPLOYER, "DepositLogIndex", &PORTAL.abi_encode())
}

#[test]
fn the_recorded_chain_is_the_model_in_chunks_of_any_size() {
    let l1 = RefCell::new(L1::new());
    let oracle = deploy(&mut l1.borrow_mut());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let salt = Cell::new(0u64);
    let with_deposits = Cell::new(0u32);
    runner
        .run(
            &(
                receipts(),
                prop_oneof![Just(1usize), 1usize..4_000, Just(MAX_CALL_BYTES)],
            ),
            |(specs, max_bytes)| {
                salt.set(salt.get() + 1);
                let salt = salt.get();
                let l1 = &mut *l1.borrow_mut();
                let receipts = envelopes(&specs);
                let header = header_of(&receipts, salt);
                let block = BlockReceipts::new(&header, receipts).unwrap();
                let hash = block.hash();
                let indices = block.deposit_log_indices(PORTAL);
                if !indices.is_empty() {
                    with_deposits.set(with_deposits.get() + 1);
                }
                let all = block.receipts().len();
                let calls = block.prove_calls(0, all, max_bytes).unwrap();
                if max_bytes == 1 {
                    prop_assert_eq!(calls.len(), all);
                }
                // However large the calldata allowance, no call proves more than the cap.
                prop_assert!(calls.iter().all(|c| c.proofs.len() <= MAX_CALL_RECEIPTS));
                prop_assert!(calls.len() >= all.div_ceil(MAX_CALL_RECEIPTS));
                for call in &calls {
                    prove(l1, oracle, call).ok();
                }
                let logs: usize = block.receipts().iter().map(|r| r.logs().len()).sum();
                prop_assert_eq!(
                    count(l1, oracle, DepositLogIndex::nextReceiptCall(hash)),
                    all as u64
                );
                prop_assert_eq!(
                    count(l1, oracle, DepositLogIndex::logsBeforeCall(hash)),
                    logs as u64
                );
                prop_assert_eq!(
                    count(l1, oracle, DepositLogIndex::depositsFoundCall(hash)),
                    indices.len() as u64
                );
                for c in 0..=indices.len() {
                    prop_assert_eq!(
                        chain_at(l1, oracle, hash, c as u64),
                        log_index_chain(&indices[..c])
                    );
                }
                prop_assert_eq!(
                    chain_at(l1, oracle, hash, indices.len() as u64 + 1),
                    B256::ZERO
                );
                // Proven again, the block is refused: receipts come once, in order.
                prop_assert_eq!(prove(l1, oracle, &calls[0]).reverted(), "ReceiptOutOfOrder");
                Ok(())
            },
        )
        .unwrap();
    assert!(
        with_deposits.get() > 30,
        "blocks with deposits were exercised ({})",
        with_deposits.get()
    );
}

#[test]
fn proving_stops_where_the_last_deposit_is() {
    let mut l1 = L1::new();
    let oracle = deploy(&mut l1);
    let specs: Vec<ReceiptSpec> = (0..10u8)
        .map(|i| {
            let kind = if i == 3 || i == 6 {
                LogKind::Deposit
            } else {
                LogKind::Noise { topics: 1 }
            };
            (
                i % 3,
                vec![(LogKind::Noise { topics: 0 }, vec![i]), (kind, vec![])],
            )
        })
        .collect();
    let receipts = envelopes(&specs);
    let block = BlockReceipts::new(&header_of(&receipts, 1), receipts).unwrap();
    assert_eq!(block.deposit_log_indices(PORTAL), vec![7, 13]);
    assert_eq!(block.receipts_for(PORTAL, 0), Some(0));
    assert_eq!(block.receipts_for(PORTAL, 1), Some(4));
    assert_eq!(block.receipts_for(PORTAL, 2), Some(7));
    assert_eq!(block.receipts_for(PORTAL, 3), None);
    for call in block.prove_calls(0, 4, MAX_CALL_BYTES).unwrap() {
        prove(&mut l1, oracle, &call).ok();
        // `-- --nocapture` prints what proving costs.
        println!(
            "proveReceipts of {} receipts ({} bytes of calldata): {} gas",
            call.proofs.len(),
            alloy::sol_types::SolCall::abi_encode(&call).len(),
            l1.last_gas_used
        );
    }
    assert_eq!(
        chain_at(&mut l1, oracle, block.hash(), 1),
        log_index_chain(&[7])
    );
    assert_eq!(chain_at(&mut l1, oracle, block.hash(), 2), B256::ZERO);
    // Continued from where the oracle stands.
    let next = count(
        &mut l1,
        oracle,
        DepositLogIndex::nextReceiptCall(block.hash()),
    );
    assert_eq!(next, 4);
    for call in block.prove_calls(next, 7, MAX_CALL_BYTES).unwrap() {
        prove(&mut l1, oracle, &call).ok();
    }
    assert_eq!(
        chain_at(&mut l1, oracle, block.hash(), 2),
        log_index_chain(&[7, 13])
    );
    assert!(block.prove_calls(7, 7, MAX_CALL_BYTES).unwrap().is_empty());
    assert!(block.prove_calls(11, 10, MAX_CALL_BYTES).is_err());
}

/// Ways to break a valid call.
#[derive(Debug, Clone)]
enum Break {
    /// Flip a byte of one node of one proof.
    FlipByte {
        proof: prop::sample::Index,
        node: prop::sample::Index,
        byte: prop::sample::Index,
        mask: u8,
    },
    /// Replace one proof by the same index's proof in another block's trie.
    OtherTrie { proof: prop::sample::Index },
    /// Start one past where the oracle stands.
    Skip,
    /// Leave one proof out in the middle (the ones after it are then at the wrong keys).
    DropOne { proof: prop::sample::Index },
    /// Prove one receipt twice in a row.
    Repeat { proof: prop::sample::Index },
    /// The same proofs under a header whose receipts root differs.
    OtherRoot,
    /// A header that is not an RLP header.
    BadHeader { cut: prop::sample::Index },
}

fn breakage() -> impl Strategy<Value = Break> {
    let i = any::<prop::sample::Index>;
    prop_oneof![
        4 => (i(), i(), i(), 1u8..).prop_map(|(proof, node, byte, mask)| Break::FlipByte { proof, node, byte, mask }),
        2 => i().prop_map(|proof| Break::OtherTrie { proof }),
        1 => Just(Break::Skip),
        1 => i().prop_map(|proof| Break::DropOne { proof }),
        1 => i().prop_map(|proof| Break::Repeat { proof }),
        1 => Just(Break::OtherRoot),
        1 => i().prop_map(|cut| Break::BadHeader { cut }),
    ]
}

#[test]
fn altered_receipts_foreign_proofs_and_disorder_are_refused() {
    let l1 = RefCell::new(L1::new());
    let oracle = deploy(&mut l1.borrow_mut());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    let salt = Cell::new(0u64);
    runner
        .run(
            &(receipts(), receipts(), breakage()),
            |(specs, other_specs, breakage)| {
                salt.set(salt.get() + 2);
                let salt = salt.get();
                let l1 = &mut *l1.borrow_mut();
                let receipts = envelopes(&specs);
                let header = header_of(&receipts, salt);
                let block = BlockReceipts::new(&header, receipts).unwrap();
                let all = block.receipts().len();
                let mut call = block.prove_calls(0, all, usize::MAX).unwrap().remove(0);
                let mut want = vec!["BadReceiptProof"];
                match &breakage {
                    Break::FlipByte {
                        proof,
                        node,
                        byte,
                        mask,
                    } => {
                        let p = proof.index(call.proofs.len());
                        let n = node.index(call.proofs[p].len());
                        let mut bytes = call.proofs[p][n].to_vec();
                        let b = byte.index(bytes.len());
                        bytes[b] ^= mask;
                        call.proofs[p][n] = bytes.into();
                    }
                    Break::OtherTrie { proof } => {
                        let other = envelopes(&other_specs);
                        let other_block =
                            BlockReceipts::new(&header_of(&other, salt + 1), other).unwrap();
                        let p = proof.index(call.proofs.len().min(other_block.receipts().len()));
                        let foreign = other_block.proofs(p..p + 1).remove(0);
                        // Two tries may hold the same receipt at an index: no lie then.
                        prop_assume!(other_block.receipts()[p] != block.receipts()[p]);
                        call.proofs[p] = foreign;
                    }
                    Break::Skip => {
                        call.first = U256::from(1);
                        want = vec!["ReceiptOutOfOrder"];
                    }
                    Break::DropOne { proof } => {
                        prop_assume!(call.proofs.len() >= 2);
                        let p = proof.index(call.proofs.len() - 1);
                        call.proofs.remove(p);
                    }
                    Break::Repeat { proof } => {
                        let p = proof.index(call.proofs.len());
                        let again = call.proofs[p].clone();
                        call.proofs.insert(p, again);
                    }
                    Break::OtherRoot => {
                        let mut other = header.clone();
                        other.receipts_root = B256::repeat_byte(0x77);
                        call.header = alloy::rlp::encode(&other).into();
                    }
                    Break::BadHeader { cut } => {
                        let mut bytes = call.header.to_vec();
                        bytes.truncate(cut.index(bytes.len()));
                        call.header = Bytes::from(bytes);
                        want = vec!["BadHeader"];
                    }
                }
                let outcome = prove(l1, oracle, &call);
                let name = outcome.reverted();
                prop_assert!(want.contains(&name.as_str()), "{:?}: {}", breakage, name);
                // Nothing was recorded: the honest calls still go through from receipt 0.
                prop_assert_eq!(
                    count(l1, oracle, DepositLogIndex::nextReceiptCall(block.hash())),
                    0
                );
                for call in block.prove_calls(0, all, MAX_CALL_BYTES).unwrap() {
                    prove(l1, oracle, &call).ok();
                }
                let indices = block.deposit_log_indices(PORTAL);
                prop_assert_eq!(
                    chain_at(l1, oracle, block.hash(), indices.len() as u64),
                    log_index_chain(&indices)
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn receipts_that_are_not_the_headers_are_refused_by_the_builder() {
    let receipts = envelopes(&[(2, vec![(LogKind::Deposit, vec![1])]), (0, vec![])]);
    let header = header_of(&receipts, 9);
    assert!(BlockReceipts::new(&header, receipts[..1].to_vec()).is_err());
    assert!(BlockReceipts::new(&header, receipts).is_ok());
}
