//! The inbox contract against its Rust twin on random call sequences: valid runs of blocks cut
//! anywhere into appends (blocks left open and continued), the same with one thing broken,
//! garbage, forced epochs with right and wrong headers, and L1 blocks passing in between. Every
//! call must have the same outcome on both (the same error, or the same event, record and
//! state), and in the end `blockInputs` opens every recorded block. Also the gas of appends.

use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy::sol_types::SolCall;
use bridge::inbox::{AppendData, BlockData, Continuation};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::inbox::{InboxChain, Planner, WINDOW, tx};

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    /// New blocks (advance epoch?, seconds after the last, transaction lengths); the last one
    /// is left open after `open_prefix` of its transactions when given.
    Blocks {
        blocks: Vec<(bool, u64, Vec<usize>)>,
        open_prefix: Option<prop::sample::Index>,
        broken: Option<Broken>,
    },
    /// More transactions for the open block, closing it or not.
    Continue {
        txs: Vec<usize>,
        close: bool,
        broken: Option<Broken>,
    },
    Force {
        right_header: bool,
    },
    Garbage(Vec<u8>),
}

/// One thing wrong with an otherwise valid append.
#[derive(Debug, Clone, Copy)]
enum Broken {
    FirstBlock,
    Epoch,
    DropHeader,
    ExtraHeader,
    EarlyTimestamp,
    Drift,
    EmptyTx,
    DepositTx,
    Truncate,
    Flags,
    Frontier,
}

fn broken() -> impl Strategy<Value = Option<Broken>> {
    prop_oneof![
        6 => Just(None),
        1 => prop::sample::select(vec![
            Broken::FirstBlock, Broken::Epoch, Broken::DropHeader, Broken::ExtraHeader,
            Broken::EarlyTimestamp, Broken::Drift, Broken::EmptyTx, Broken::DepositTx,
            Broken::Truncate, Broken::Flags, Broken::Frontier,
        ]).prop_map(Some),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let txs = prop::collection::vec(1usize..200, 0..5);
    prop_oneof![
        2 => (0u64..4).prop_map(Op::Advance),
        5 => (
            prop::collection::vec((any::<bool>(), 0u64..40, txs.clone()), 1..5),
            prop::option::of(any::<prop::sample::Index>()),
            broken(),
        )
            .prop_map(|(blocks, open_prefix, broken)| Op::Blocks { blocks, open_prefix, broken }),
        2 => (txs, any::<bool>(), broken()).prop_map(|(txs, close, broken)| Op::Continue { txs, close, broken }),
        1 => any::<bool>().prop_map(|right_header| Op::Force { right_header }),
        1 => prop::collection::vec(any::<u8>(), 0..80).prop_map(Op::Garbage),
    ]
}

fn apply(chain: &mut InboxChain, op: &Op, seed: &mut u64) {
    let mut txs = |lens: &[usize]| -> Vec<Bytes> {
        lens.iter()
            .map(|len| {
                *seed += 1;
                tx(*seed, *len)
            })
            .collect()
    };
    match op {
        Op::Advance(n) => chain.advance(*n),
        Op::Blocks {
            blocks,
            open_prefix,
            broken,
        } => {
            let mut plan = Planner::new(chain);
            let mut data: Vec<BlockData> = blocks
                .iter()
                .map(|(advance, gap, lens)| {
                    let t = txs(lens);
                    plan.block(chain, *advance, *gap, t)
                })
                .collect();
            let keep_open = open_prefix.is_some();
            if let (Some(prefix), Some(last)) = (open_prefix, data.last_mut()) {
                let keep = prefix.index(last.transactions.len() + 1);
                last.transactions.truncate(keep);
            }
            let s = chain.rust.state();
            let continuation = s.open.as_ref().map(|o| Continuation {
                tx_done: o.tree.count() as u32,
                frontier: o.tree.frontier(),
                transactions: Vec::new(),
            });
            let append = AppendData {
                first_block: s.next_block,
                keep_open,
                continuation,
                blocks: data,
            };
            send(chain, append, *broken);
        }
        Op::Continue {
            txs: lens,
            close,
            broken,
        } => {
            let s = chain.rust.state();
            let (tx_done, frontier) = s.open.as_ref().map_or((0, Vec::new()), |o| {
                (o.tree.count() as u32, o.tree.frontier())
            });
            let append = AppendData {
                first_block: s.next_block,
                keep_open: !close,
                continuation: Some(Continuation {
                    tx_done,
                    frontier,
                    transactions: txs(lens),
                }),
                blocks: Vec::new(),
            };
            send(chain, append, *broken);
        }
        Op::Force { right_header } => {
            let s = chain.rust.state();
            let next = if s.started { s.epoch + 1 } else { s.epoch };
            let header = chain.header(if *right_header { next } else { next + 1 });
            let _ = chain.force(&header);
        }
        Op::Garbage(bytes) => {
            let _ = chain.append_raw(bytes);
        }
    }
}

fn send(chain: &mut InboxChain, mut append: AppendData, broken: Option<Broken>) {
    let header_of = |chain: &mut InboxChain, n: u64| chain.header(n);
    match broken {
        None | Some(Broken::Truncate) | Some(Broken::Flags) => {}
        Some(Broken::FirstBlock) => append.first_block += 1,
        Some(Broken::Frontier) => match &mut append.continuation {
            Some(c) => c.tx_done = c.tx_done.wrapping_add(1),
            None => append.continuation = Some(Continuation::default()),
        },
        Some(b) => {
            let Some(block) = append.blocks.first_mut() else {
                return;
            };
            match b {
                Broken::Epoch => block.epoch += 2,
                Broken::DropHeader => block.header = Bytes::new(),
                Broken::ExtraHeader => block.header = header_of(chain, block.epoch + 1),
                Broken::EarlyTimestamp => block.timestamp = block.timestamp.saturating_sub(13),
                Broken::Drift => block.timestamp += crate::inbox::DRIFT + 1,
                Broken::EmptyTx => block.transactions.push(Bytes::new()),
                Broken::DepositTx => block.transactions.insert(0, Bytes::from_static(&[0x7e, 1])),
                _ => unreachable!("handled above"),
            }
        }
    }
    let mut data = append.encode();
    match broken {
        Some(Broken::Truncate) => {
            data.pop();
        }
        Some(Broken::Flags) => data[8] |= 0x80,
        _ => {}
    }
    let _ = chain.append_raw(&data);
}

#[test]
fn the_contract_and_the_rust_inbox_agree_on_random_calls() {
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let recorded = std::cell::Cell::new(0usize);
    runner
        .run(&prop::collection::vec(op(), 1..24), |ops| {
            let mut chain = InboxChain::new(WINDOW);
            chain.advance(1);
            let mut seed = 0;
            for op in &ops {
                apply(&mut chain, op, &mut seed);
            }
            chain.check_every_opening();
            recorded.set(recorded.get() + chain.records.len());
            Ok(())
        })
        .unwrap();
    let recorded = recorded.get();
    assert!(
        recorded > 48,
        "the random calls recorded blocks ({recorded} records)"
    );
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// The inbox's incremental word tree is fraud-vm's word tree (SPEC §3.4): the same root over
    /// any leaves and the same 32 siblings for any leaf. The bridge keeps its own copy of the
    /// tree (it does not depend on fraud-vm and its revm outside tests); this keeps the two equal.
    #[test]
    fn the_inbox_tree_is_fraud_vms_word_tree(
        leaves in prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..80),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut vm_tree = fraud_vm::merkle::WordTree::new();
        vm_tree.set_many(leaves.iter().enumerate().map(|(i, w)| (i as u64, *w)));
        prop_assert_eq!(bridge::inbox::word_tree_root(&leaves), vm_tree.root());
        if !leaves.is_empty() {
            let index = pick.index(leaves.len());
            let siblings = bridge::inbox::word_tree_proof(&leaves, index);
            let proof = vm_tree.prove(index as u64);
            prop_assert_eq!(proof.siblings.as_slice(), siblings.as_slice());
            prop_assert_eq!(
                bridge::inbox::fold_word_proof(leaves[index], index as u64, &siblings),
                vm_tree.root()
            );
        }
    }
}

/// A signed EIP-1559 ETH transfer, as wallets send them (about 110 bytes).
fn transfer(key: &PrivateKeySigner, nonce: u64, to: Address) -> Bytes {
    let tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 1_000_000_000 + u128::from(nonce),
        max_priority_fee_per_gas: 1_000_000,
        to: TxKind::Call(to),
        value: U256::from(1_000_000_000_000u64 * (nonce + 1)),
        ..Default::default()
    };
    let signature = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    alloy::consensus::TxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// EIP-7623's floor of a transaction with `calldata` (what it pays at least).
fn calldata_floor(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    21_000 + 10 * (zeros + 4 * (calldata.len() as u64 - zeros))
}

/// EIP-2028's intrinsic gas of a transaction with `calldata` (before any execution).
fn calldata_standard(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    21_000 + 4 * zeros + 16 * (calldata.len() as u64 - zeros)
}

/// L1 gas of appends of ETH transfers (the whole transaction: intrinsic and calldata under
/// Prague's EIP-7623 floor, and the inbox's execution), per appended transaction, for blocks
/// of 1, 10, 100 and 1000 transfers in appends of at most 130 kB; and of appends of empty blocks.
/// `cargo test --release -p bridge --test l1_contracts inbox_gas -- --nocapture`
#[test]
fn inbox_gas() {
    let keys: Vec<PrivateKeySigner> = (0..50).map(|_| PrivateKeySigner::random()).collect();
    let mut nonce = 0u64;
    let mut next_tx = || {
        nonce += 1;
        transfer(
            &keys[nonce as usize % keys.len()],
            nonce,
            Address::repeat_byte(nonce as u8),
        )
    };
    let mut measure = |label: String, per_block: usize, max_blocks: usize| {
        let mut chain = InboxChain::new(WINDOW);
        chain.advance(2);
        let mut plan = Planner::new(&chain);
        let mut blocks: Vec<BlockData> = Vec::new();
        let mut size = bridge::inbox::APPEND_OVERHEAD;
        while blocks.len() < max_blocks {
            let txs: Vec<Bytes> = (0..per_block).map(|_| next_tx()).collect();
            let block = plan.block(&mut chain, false, 0, txs);
            if size + block.encoded_len() > 130_000 {
                break;
            }
            size += block.encoded_len();
            blocks.push(block);
        }
        let append = AppendData {
            first_block: 1,
            keep_open: false,
            continuation: None,
            blocks,
        };
        let calldata = bridge::bindings::BatchInbox::appendBlocksCall {
            data: append.encode().into(),
        }
        .abi_encode();
        chain.append(&append).unwrap();
        let gas = chain.l1.last_gas_used;
        let blocks = append.blocks.len();
        let txs = (blocks * per_block).max(1);
        let execution = gas.saturating_sub(calldata_standard(&calldata));
        println!(
            "inbox_gas: {label}: {blocks} blocks, {txs} txs, {} bytes of calldata; {gas} gas \
             (floor {}, execution {execution}: {} per block); per tx {:.0} gas, {:.1} bytes",
            calldata.len(),
            calldata_floor(&calldata),
            execution / blocks as u64,
            gas as f64 / txs as f64,
            calldata.len() as f64 / txs as f64,
        );
    };
    for per_block in [1usize, 10, 100, 1000] {
        measure(
            format!("blocks of {per_block:>4} transfers"),
            per_block,
            usize::MAX,
        );
    }
    measure("1 empty block".into(), 0, 1);
    measure("1000 empty blocks".into(), 0, 1000);
}
