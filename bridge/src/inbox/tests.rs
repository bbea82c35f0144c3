use super::*;
use alloy::{
    consensus::Header,
    primitives::{B256, Bytes, keccak256},
    rlp,
};
use proptest::prelude::*;
use std::collections::HashMap;

const GENESIS_EPOCH: u64 = 10;
const WINDOW: u64 = 6;

fn config() -> InboxConfig {
    InboxConfig {
        first_block: 1,
        genesis_epoch: GENESIS_EPOCH,
        genesis_timestamp: 1_000,
        seq_window_size: WINDOW,
        max_sequencer_drift: 100,
    }
}

/// A made-up L1: block `n` has timestamp `1000 + 12 (n - 10)` (saturating) and a real RLP header.
struct TestL1 {
    headers: HashMap<u64, Bytes>,
}

impl TestL1 {
    fn new() -> Self {
        let headers = (0..200u64)
            .map(|n| {
                let header = Header {
                    number: n,
                    timestamp: l1_time(n),
                    base_fee_per_gas: Some(7),
                    gas_limit: 30_000_000,
                    ..Default::default()
                };
                (n, Bytes::from(rlp::encode(&header)))
            })
            .collect();
        Self { headers }
    }

    fn header(&self, n: u64) -> Bytes {
        self.headers[&n].clone()
    }

    fn hash(&self, n: u64) -> B256 {
        keccak256(&self.headers[&n])
    }

    /// Runs `f` with the L1 context of block `number`.
    fn at<T>(&self, number: u64, f: impl FnOnce(L1Context<'_>) -> T) -> T {
        let lookup = |n: u64| {
            block_hash_readable(number, n)
                .then(|| self.headers.get(&n).map(keccak256))
                .flatten()
        };
        f(L1Context {
            number,
            block_hash: &lookup,
        })
    }
}

fn l1_time(n: u64) -> u64 {
    1_000 + 12 * n.saturating_sub(GENESIS_EPOCH)
}

fn tx(seed: u64, len: usize) -> Bytes {
    let mut bytes: Vec<u8> = (0..len)
        .map(|i| keccak256((seed * 7919 + i as u64).to_be_bytes())[0])
        .collect();
    if bytes[0] == 0x7e {
        bytes[0] = 0x02;
    }
    bytes.into()
}

/// A chain of blocks over epochs `GENESIS_EPOCH..`: `plan[i]` is (advance the epoch?, seconds
/// after the parent, transaction count).
fn blocks(l1: &TestL1, plan: &[(bool, u64, usize)]) -> Vec<BlockData> {
    let mut epoch = GENESIS_EPOCH;
    let mut timestamp = 1_000;
    let mut out = Vec::new();
    for (i, (advance, gap, txs)) in plan.iter().enumerate() {
        let header = if i == 0 {
            l1.header(epoch)
        } else if *advance {
            epoch += 1;
            l1.header(epoch)
        } else {
            Bytes::new()
        };
        timestamp = (timestamp + gap)
            .max(l1_time(epoch))
            .min(l1_time(epoch) + 100);
        out.push(BlockData {
            timestamp,
            epoch,
            header,
            transactions: (0..*txs)
                .map(|j| tx(i as u64 * 1000 + j as u64, 3 + j % 40))
                .collect(),
        });
    }
    out
}

fn whole(first: u64, blocks: &[BlockData]) -> AppendData {
    AppendData {
        first_block: first,
        keep_open: false,
        continuation: None,
        blocks: blocks.to_vec(),
    }
}

fn arb_append() -> impl Strategy<Value = AppendData> {
    let txs = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..4);
    let block = (
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 0..60),
        txs.clone(),
    )
        .prop_map(|(timestamp, epoch, header, txs)| BlockData {
            timestamp,
            epoch,
            header: header.into(),
            transactions: txs.into_iter().map(Bytes::from).collect(),
        });
    let continuation = (any::<u32>(), txs).prop_map(|(tx_done, txs)| Continuation {
        tx_done,
        frontier: (0..tx_done.count_ones())
            .map(|i| keccak256(i.to_be_bytes()))
            .collect(),
        transactions: txs.into_iter().map(Bytes::from).collect(),
    });
    (
        any::<u64>(),
        any::<bool>(),
        prop::option::of(continuation),
        prop::collection::vec(block, 0..4),
    )
        .prop_filter("an append holds an item", |(_, _, c, b)| {
            c.is_some() || !b.is_empty()
        })
        .prop_map(
            |(first_block, keep_open, continuation, blocks)| AppendData {
                first_block,
                keep_open,
                continuation,
                blocks,
            },
        )
}

/// The root of a word tree computed level by level (an implementation independent of the
/// incremental one).
fn naive_root(leaves: &[B256]) -> B256 {
    let zeros = zero_hashes();
    let mut level = leaves.to_vec();
    for zero in zeros.iter().take(WORD_TREE_DEPTH) {
        level = level
            .chunks(2)
            .map(|pair| hash_pair(pair[0], pair.get(1).copied().unwrap_or(*zero)))
            .collect();
    }
    level.first().copied().unwrap_or(empty_root())
}

proptest! {
    #[test]
    fn append_data_round_trips(append in arb_append()) {
        let bytes = append.encode();
        prop_assert_eq!(bytes.len(), append.encoded_len());
        prop_assert_eq!(AppendData::decode(&bytes), Ok(append));
    }

    #[test]
    fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = AppendData::decode(&data);
        let l1 = TestL1::new();
        let mut inbox = Inbox::new(config());
        l1.at(12, |ctx| { let _ = inbox.append(&data, ctx); });
        let _ = header_timestamp(&data);
    }

    #[test]
    fn the_incremental_tree_is_the_word_tree(count in 0usize..70, cut in any::<prop::sample::Index>()) {
        let leaves: Vec<B256> = (0..count as u64).map(|i| keccak256(i.to_be_bytes())).collect();
        prop_assert_eq!(word_tree_root(&leaves), naive_root(&leaves));
        // Continuing from the frontier of any prefix gives the same tree.
        let k = cut.index(count + 1);
        let prefix = {
            let mut t = IncrementalTree::new();
            leaves[..k].iter().for_each(|l| t.push(*l));
            t
        };
        let mut resumed = IncrementalTree::from_frontier(k as u32, &prefix.frontier()).unwrap();
        leaves[k..].iter().for_each(|l| resumed.push(*l));
        prop_assert_eq!(resumed.root(), naive_root(&leaves));
        for index in [0, count / 2, count.saturating_sub(1)] {
            if index < count {
                let siblings = word_tree_proof(&leaves, index);
                prop_assert_eq!(fold_word_proof(leaves[index], index as u64, &siblings), naive_root(&leaves));
            }
        }
    }

    /// However the batcher cuts blocks into appends (blocks left open and continued from
    /// their frontier in later L1 blocks), the inbox records the same blocks.
    #[test]
    fn splitting_blocks_across_appends_records_the_same_blocks(
        plan in prop::collection::vec((any::<bool>(), 0u64..20, 0usize..7), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let l1 = TestL1::new();
        let blocks = blocks(&l1, &plan);
        // A window wide enough for every epoch of the plan to be appended in one L1 block.
        let config = InboxConfig { seq_window_size: 50, ..config() };
        let at = GENESIS_EPOCH + 10;
        let mut reference = Inbox::new(config);
        let expected = l1.at(at, |ctx| reference.append(&whole(1, &blocks).encode(), ctx)).unwrap();
        prop_assert_eq!(expected.blocks.len(), blocks.len());
        // Cut points are positions in the flat sequence of (block, tx) slots.
        let slots: Vec<(usize, usize)> = blocks.iter().enumerate()
            .flat_map(|(b, block)| (0..=block.transactions.len()).map(move |t| (b, t)))
            .collect();
        let mut cut_at: Vec<(usize, usize)> = cuts.iter().map(|c| slots[c.index(slots.len())]).collect();
        cut_at.sort();
        cut_at.dedup();
        let mut inbox = Inbox::new(config);
        let mut recorded = Vec::new();
        let mut position = (0usize, 0usize);
        let mut tree = IncrementalTree::new();
        for end in cut_at.into_iter().chain([(blocks.len(), 0)]) {
            if end <= position {
                continue;
            }
            let append = slice(&blocks, position, end, &tree);
            // Keep the running tree of the block left open (the frontier the next append needs).
            if end.1 > 0 {
                if end.0 != position.0 { tree = IncrementalTree::new(); }
                let from = if end.0 == position.0 { position.1 } else { 0 };
                blocks[end.0].transactions[from..end.1].iter().for_each(|t| tree.push(keccak256(t)));
            } else {
                tree = IncrementalTree::new();
            }
            let out = l1.at(at, |ctx| inbox.append(&append.encode(), ctx));
            prop_assert!(out.is_ok(), "append {:?}: {:?}", append, out);
            recorded.extend(out.unwrap().blocks);
            position = end;
        }
        prop_assert_eq!(recorded, expected.blocks);
        prop_assert!(inbox.state().open.is_none());
    }
}

/// The append covering slots `[from, to)` (block index, transaction index), continuing the block
/// at `from` if it starts mid-block, leaving the block at `to` open if it ends mid-block.
fn slice(
    blocks: &[BlockData],
    from: (usize, usize),
    to: (usize, usize),
    open: &IncrementalTree,
) -> AppendData {
    let mut append = AppendData {
        first_block: from.0 as u64 + 1,
        keep_open: to.1 > 0,
        continuation: None,
        blocks: Vec::new(),
    };
    let mut b = from.0;
    if from.1 > 0 {
        let end = if to.0 == b {
            to.1
        } else {
            blocks[b].transactions.len()
        };
        append.continuation = Some(Continuation {
            tx_done: from.1 as u32,
            frontier: open.frontier(),
            transactions: blocks[b].transactions[from.1..end].to_vec(),
        });
        b += 1;
    }
    while b < to.0 || (b == to.0 && to.1 > 0) {
        let mut block = blocks[b].clone();
        if b == to.0 {
            block.transactions.truncate(to.1);
        }
        append.blocks.push(block);
        b += 1;
    }
    append
}

#[test]
fn a_forced_epoch_closes_the_open_block_and_records_the_deposits_only_block() {
    let l1 = TestL1::new();
    let mut inbox = Inbox::new(config());
    let mut block = blocks(&l1, &[(false, 0, 3)]).remove(0);
    block.transactions.truncate(2);
    let append = AppendData {
        first_block: 1,
        keep_open: true,
        continuation: None,
        blocks: vec![block.clone()],
    };
    l1.at(GENESIS_EPOCH + 1, |ctx| inbox.append(&append.encode(), ctx))
        .unwrap();
    assert_eq!(inbox.forcible_from(), GENESIS_EPOCH + WINDOW);
    let early = l1.at(GENESIS_EPOCH + WINDOW - 1, |ctx| {
        inbox.force_next_epoch(&l1.header(GENESIS_EPOCH + 1), ctx)
    });
    assert_eq!(early, Err(InboxError::WindowOpen(GENESIS_EPOCH + WINDOW)));
    let wrong = l1.at(GENESIS_EPOCH + WINDOW, |ctx| {
        inbox.force_next_epoch(&l1.header(GENESIS_EPOCH + 2), ctx)
    });
    assert_eq!(wrong, Err(InboxError::HeaderMismatch(GENESIS_EPOCH + 1)));
    let forced = l1
        .at(GENESIS_EPOCH + WINDOW, |ctx| {
            inbox.force_next_epoch(&l1.header(GENESIS_EPOCH + 1), ctx)
        })
        .unwrap();
    assert_eq!(forced.blocks.len(), 2);
    let (closed, deposits_only) = (&forced.blocks[0], &forced.blocks[1]);
    assert_eq!(closed.transactions, block.transactions);
    assert_eq!(closed.inputs.tx_root, tx_root(&block.transactions));
    assert_eq!(deposits_only.inputs.number, 2);
    assert_eq!(deposits_only.inputs.epoch, GENESIS_EPOCH + 1);
    assert_eq!(deposits_only.inputs.sequence_number, 0);
    assert_eq!(deposits_only.inputs.epoch_hash, l1.hash(GENESIS_EPOCH + 1));
    assert_eq!(
        deposits_only.inputs.timestamp,
        block.timestamp.max(l1_time(GENESIS_EPOCH + 1))
    );
    assert_eq!(
        (deposits_only.inputs.tx_count, deposits_only.inputs.tx_root),
        (0, empty_root())
    );
    // The view path (derivation, without the header) agrees.
    let mut again = Inbox::new(config());
    l1.at(GENESIS_EPOCH + 1, |ctx| again.append(&append.encode(), ctx))
        .unwrap();
    let via_view = l1
        .at(GENESIS_EPOCH + WINDOW, |ctx| {
            again.force_next_epoch_at(l1_time(GENESIS_EPOCH + 1), ctx)
        })
        .unwrap();
    assert_eq!(via_view, forced);
}

#[test]
fn each_rule_refuses_with_the_contracts_error() {
    let l1 = TestL1::new();
    let good = blocks(&l1, &[(false, 0, 2), (true, 5, 1), (false, 1, 0)]);
    let run = |append: &AppendData, at: u64| {
        let mut inbox = Inbox::new(config());
        l1.at(at, |ctx| inbox.append(&append.encode(), ctx))
            .map(|a| a.blocks.len())
    };
    let at = GENESIS_EPOCH + 2;
    assert_eq!(run(&whole(1, &good), at), Ok(3));
    let with = |f: &dyn Fn(&mut Vec<BlockData>)| {
        let mut b = good.clone();
        f(&mut b);
        whole(1, &b)
    };
    let cases: Vec<(AppendData, u64, InboxError)> = vec![
        (
            whole(2, &good),
            at,
            InboxError::WrongFirstBlock {
                expected: 1,
                got: 2,
            },
        ),
        (
            with(&|b| b[0].epoch = GENESIS_EPOCH + 1),
            at,
            InboxError::EpochNotNext(GENESIS_EPOCH + 1),
        ),
        (
            with(&|b| b[2].epoch = GENESIS_EPOCH + 3),
            at,
            InboxError::EpochNotNext(GENESIS_EPOCH + 3),
        ),
        (
            with(&|b| b[1].header = Bytes::new()),
            at,
            InboxError::HeaderMissing,
        ),
        (
            with(&|b| b[2].header = l1.header(GENESIS_EPOCH + 1)),
            at,
            InboxError::UnexpectedHeader,
        ),
        (
            with(&|b| b[1].header = l1.header(GENESIS_EPOCH + 2)),
            at + 1,
            InboxError::HeaderMismatch(GENESIS_EPOCH + 1),
        ),
        (
            whole(1, &good),
            GENESIS_EPOCH + 1,
            InboxError::EpochInFuture(GENESIS_EPOCH + 1),
        ),
        (
            whole(1, &good),
            GENESIS_EPOCH + WINDOW,
            InboxError::WindowClosed(GENESIS_EPOCH),
        ),
        (
            with(&|b| b[2].timestamp = b[1].timestamp - 1),
            at,
            InboxError::TimestampBeforeParent(good[1].timestamp - 1),
        ),
        (
            with(&|b| b[1].timestamp = l1_time(GENESIS_EPOCH + 1) - 1),
            at,
            InboxError::TimestampBeforeOrigin(l1_time(GENESIS_EPOCH + 1) - 1),
        ),
        (
            with(&|b| b[0].timestamp = l1_time(GENESIS_EPOCH) + 101),
            at,
            InboxError::SequencerDrift(l1_time(GENESIS_EPOCH) + 101),
        ),
        (
            with(&|b| b[0].transactions[1] = Bytes::new()),
            at,
            InboxError::EmptyTransaction(1),
        ),
        (
            with(&|b| b[1].transactions[0] = Bytes::from_static(&[0x7e, 0xc0])),
            at,
            InboxError::DepositTransaction(0),
        ),
    ];
    for (append, at, error) in cases {
        assert_eq!(run(&append, at), Err(error), "{error}");
    }
    let mut truncated = whole(1, &good).encode();
    truncated.pop();
    let mut inbox = Inbox::new(config());
    assert_eq!(
        l1.at(at, |ctx| inbox.append(&truncated, ctx)),
        Err(InboxError::Truncated)
    );
    assert_eq!(inbox.state(), &InboxState::genesis(&config()), "no change");
}

#[test]
fn an_inputs_proof_opens_every_block_of_its_record() {
    let inputs: Vec<B256> = (0..5u64).map(|i| keccak256(i.to_be_bytes())).collect();
    let record = AppendRecord::new(40, 7, &inputs);
    for number in 40..45 {
        let proof = InputsProof::new(3, 40, 7, &inputs, number).unwrap();
        assert_eq!(proof.encode().len(), InputsProof::LEN);
        assert_eq!(proof.opened_record(number), Some(record.commitment()));
        assert_eq!(
            proof
                .opened_record(number + 1)
                .filter(|r| *r == record.commitment()),
            None
        );
    }
    assert!(InputsProof::new(3, 40, 7, &inputs, 45).is_none());
}

#[test]
fn the_header_timestamp_is_item_eleven() {
    let l1 = TestL1::new();
    for n in [0, GENESIS_EPOCH, 150] {
        assert_eq!(header_timestamp(&l1.header(n)), Ok(l1_time(n)));
    }
    assert_eq!(header_timestamp(&[0xc1, 0x80]), Err(InboxError::BadHeader));
    assert_eq!(header_timestamp(&[]), Err(InboxError::BadHeader));
}

/// testdata/batches/v1.json: the encoding of each append, the commitment of each block and the
/// record each append stores, and a deposit log, all recomputed here.
#[test]
fn vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/batches/v1.json");
    let text = std::fs::read_to_string(path).expect("testdata/batches/v1.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let hex = |v: &serde_json::Value| -> Bytes {
        alloy::hex::decode(v.as_str().expect("hex string"))
            .expect("hex")
            .into()
    };
    let word = |v: &serde_json::Value| B256::from_slice(&hex(v));
    let num = |v: &serde_json::Value| v.as_u64().expect("number");
    let c = &v["config"];
    let config = InboxConfig {
        first_block: num(&c["first_block"]),
        genesis_epoch: num(&c["genesis_epoch"]),
        genesis_timestamp: num(&c["genesis_timestamp"]),
        seq_window_size: num(&c["seq_window_size"]),
        max_sequencer_drift: num(&c["max_sequencer_drift"]),
    };
    let headers: HashMap<u64, Bytes> = v["l1_headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (num(&h["number"]), hex(&h["rlp"])))
        .collect();
    for h in v["l1_headers"].as_array().unwrap() {
        assert_eq!(keccak256(hex(&h["rlp"])), word(&h["hash"]));
        assert_eq!(header_timestamp(&hex(&h["rlp"])), Ok(num(&h["timestamp"])));
    }
    let mut inbox = Inbox::new(config);
    for (i, call) in v["calls"].as_array().unwrap().iter().enumerate() {
        let at = num(&call["l1_block"]);
        let lookup = |n: u64| {
            block_hash_readable(at, n)
                .then(|| headers.get(&n).map(keccak256))
                .flatten()
        };
        let ctx = L1Context {
            number: at,
            block_hash: &lookup,
        };
        let out = match call["kind"].as_str().unwrap() {
            "append" => {
                let data = hex(&call["data"]);
                let decoded = AppendData::decode(&data).expect("vector decodes");
                assert_eq!(decoded.encode(), data.to_vec(), "call {i} re-encodes");
                inbox.append(&data, ctx).expect("vector appends")
            }
            "force" => inbox
                .force_next_epoch(&hex(&call["origin_header"]), ctx)
                .expect("vector forces"),
            other => panic!("unknown call kind {other}"),
        };
        let want = call["blocks"].as_array().unwrap();
        assert_eq!(out.blocks.len(), want.len(), "call {i}");
        for (got, want) in out.blocks.iter().zip(want) {
            let b = &got.inputs;
            assert_eq!(b.number, num(&want["number"]));
            assert_eq!(b.timestamp, num(&want["timestamp"]));
            assert_eq!(b.epoch, num(&want["epoch"]));
            assert_eq!(b.epoch_hash, word(&want["epoch_hash"]));
            assert_eq!(b.sequence_number, num(&want["sequence_number"]));
            assert_eq!(u64::from(b.tx_count), num(&want["tx_count"]));
            assert_eq!(b.tx_root, word(&want["tx_root"]));
            assert_eq!(b.commitment(), word(&want["inputs"]), "block {}", b.number);
            let txs: Vec<Bytes> = want["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(hex)
                .collect();
            assert_eq!(got.transactions, txs);
            assert_eq!(tx_root(&txs), b.tx_root);
        }
        match (&out.record, call.get("record")) {
            (Some(record), Some(want)) => {
                assert_eq!(record.first, num(&want["first"]));
                assert_eq!(record.count, num(&want["count"]));
                assert_eq!(record.l1_block, num(&want["l1_block"]));
                assert_eq!(record.root, word(&want["root"]));
                assert_eq!(record.commitment(), word(&want["commitment"]));
            }
            (None, None) => {}
            (got, want) => panic!("call {i}: record {got:?}, vector {want:?}"),
        }
    }
    let mut chain = B256::ZERO;
    for d in v["deposit_log"]["deposits"].as_array().unwrap() {
        chain = crate::deposit::deposit_chain_link(
            chain,
            alloy::primitives::Address::from_slice(&hex(&d["from"])),
            alloy::primitives::Address::from_slice(&hex(&d["to"])),
            &hex(&d["opaque_data"]),
        );
        assert_eq!(chain, word(&d["chain"]));
    }
}

/// Writes testdata/batches/v1.json (run with `--ignored` after a deliberate format change;
/// [`vectors`] then checks the code against it).
#[test]
#[ignore = "regenerates the committed test vectors"]
fn write_vectors() {
    use serde_json::json;
    let l1 = TestL1::new();
    let config = config();
    let hexs = |b: &[u8]| format!("0x{}", alloy::hex::encode(b));
    let plan = [(false, 0, 2), (false, 0, 0), (true, 3, 3), (false, 1, 1)];
    let blocks = blocks(&l1, &plan);
    let mut open_tree = IncrementalTree::new();
    blocks[2].transactions[..2]
        .iter()
        .for_each(|t| open_tree.push(keccak256(t)));
    let mut third = blocks[2].clone();
    third.transactions.truncate(2);
    let first_append = AppendData {
        first_block: 1,
        keep_open: true,
        continuation: None,
        blocks: vec![blocks[0].clone(), blocks[1].clone(), third],
    };
    let second_append = AppendData {
        first_block: 3,
        keep_open: false,
        continuation: Some(Continuation {
            tx_done: 2,
            frontier: open_tree.frontier(),
            transactions: blocks[2].transactions[2..].to_vec(),
        }),
        blocks: vec![blocks[3].clone()],
    };
    let mut inbox = Inbox::new(config);
    let mut calls = Vec::new();
    let describe = |out: &Appended| {
        let blocks: Vec<_> = out
            .blocks
            .iter()
            .map(|b| {
                let i = &b.inputs;
                json!({
                    "number": i.number, "timestamp": i.timestamp, "epoch": i.epoch,
                    "epoch_hash": hexs(i.epoch_hash.as_slice()), "sequence_number": i.sequence_number,
                    "tx_count": i.tx_count, "tx_root": hexs(i.tx_root.as_slice()),
                    "transactions": b.transactions.iter().map(|t| hexs(t)).collect::<Vec<_>>(),
                    "inputs": hexs(i.commitment().as_slice()),
                })
            })
            .collect();
        (
            blocks,
            out.record.map(|r| {
                json!({
                    "first": r.first, "count": r.count, "l1_block": r.l1_block,
                    "root": hexs(r.root.as_slice()), "commitment": hexs(r.commitment().as_slice()),
                })
            }),
        )
    };
    for (append, at) in [(&first_append, 12u64), (&second_append, 13)] {
        let data = append.encode();
        let out = l1.at(at, |ctx| inbox.append(&data, ctx)).unwrap();
        let (blocks, record) = describe(&out);
        let mut call =
            json!({"kind": "append", "l1_block": at, "data": hexs(&data), "blocks": blocks});
        if let Some(record) = record {
            call["record"] = record;
        }
        calls.push(call);
    }
    let at = inbox.forcible_from();
    let header = l1.header(GENESIS_EPOCH + 2);
    let out = l1
        .at(at, |ctx| inbox.force_next_epoch(&header, ctx))
        .unwrap();
    let (blocks_json, record) = describe(&out);
    calls.push(
        json!({"kind": "force", "l1_block": at, "origin_header": hexs(&header),
        "blocks": blocks_json, "record": record.unwrap()}),
    );
    let headers: Vec<_> = (GENESIS_EPOCH..=GENESIS_EPOCH + 2)
        .map(|n| json!({"number": n, "timestamp": l1_time(n), "hash": hexs(l1.hash(n).as_slice()), "rlp": hexs(&l1.header(n))}))
        .collect();
    let mut chain = B256::ZERO;
    let deposits: Vec<_> = (0..3u8)
        .map(|i| {
            let from = alloy::primitives::Address::repeat_byte(0x10 + i);
            let to = alloy::primitives::Address::repeat_byte(0x20 + i);
            let opaque = crate::deposit::DepositData {
                mint: alloy::primitives::U256::from(1_000u64 * u64::from(i)),
                value: alloy::primitives::U256::from(7u64),
                gas_limit: 100_000,
                is_creation: false,
                data: Bytes::from(vec![i; usize::from(i)]),
            }
            .encode();
            chain = crate::deposit::deposit_chain_link(chain, from, to, &opaque);
            json!({"from": hexs(from.as_slice()), "to": hexs(to.as_slice()), "opaque_data": hexs(&opaque), "chain": hexs(chain.as_slice())})
        })
        .collect();
    let v = json!({
        "description": "Batch format v1 (op-node/BATCHES.md §7): the inbox's parameters, the L1 headers it reads, and calls in order, each with the blocks it records (inputs and their commitment) and the record it stores; then one L1 block's deposit log.",
        "config": {"first_block": config.first_block, "genesis_epoch": config.genesis_epoch,
            "genesis_timestamp": config.genesis_timestamp, "seq_window_size": config.seq_window_size,
            "max_sequencer_drift": config.max_sequencer_drift},
        "l1_headers": headers,
        "calls": calls,
        "deposit_log": {"deposits": deposits},
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/batches/v1.json");
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
}
