//! Derive mode: what a verifier pays to follow the chain, and what the chain costs on L1.
//!
//! A serial run seals its blocks as L2 blocks of one L1 origin; they are packed into
//! `appendBlocks` calls exactly as the batcher packs them (batch format v1, at most 130 kB of
//! data each, a large block split across calls), and each call is put in its own L1 block of a
//! made-up L1, with the event the batch inbox emits (the Rust inbox stands in for the contract
//! and must accept every call). A second chain on a fresh database then derives everything from
//! that L1 with the node's derivation driver: replaying the inbox, sender recovery, execution,
//! state root, persistence. What is timed is the derivation of the timed blocks' calls; the
//! result must end on the sequencer's head hash.

use super::{
    BenchError,
    report::{Mode, Report, ms},
    serial::{self, BATCHER, CHAIN_ID, Chain, GENESIS_TIMESTAMP, SerialParams, Timed},
    workload::{self, Key, Signer},
};
use alloy::{
    consensus::Header,
    primitives::{B256, Bytes, keccak256},
    sol_types::SolCall,
};
use bridge::{
    bindings::BatchInbox,
    inbox::{Inbox, L1Context},
};
use op_node::{
    batcher::plan::{InboxCursor, LocalBlock, MAX_APPEND_DATA, MAX_BLOCKS_PER_APPEND, plan_append},
    derivation::{Driver, FeeScalars, InboxCall, L1Block, L1View, inbox_config},
    rollup::{BlockRef, Genesis, RollupConfig},
};
use parking_lot::RwLock;
use std::time::{Duration, Instant};

/// L1 blocks per timed derivation step.
const VERIFIER_STEP: u64 = 8;

/// Runs one derive benchmark.
pub fn run(p: SerialParams) -> Result<Report, BenchError> {
    eprintln!(
        "op-bench: derive {}: {} accounts, {} txs, {} txs per block",
        p.workload.name(),
        p.accounts,
        p.txs,
        p.block_txs
    );
    let keys = Key::derive_many(p.accounts + 1);
    let (senders, treasury) = keys.split_at(p.accounts);
    let dir = tempfile::Builder::new().prefix("op-bench-").tempdir()?;
    let origin = l1_block(0, B256::ZERO);
    let mut seq = Chain::open(
        &dir.path().join("sequencer.redb"),
        &keys,
        p.gas_limit,
        p.apply,
    )?;
    seq.origin = Some((origin.clone(), 0));
    let signer = Signer { chain_id: CHAIN_ID };
    let target = serial::setup(&p, &mut seq, &signer, senders, &treasury[0])?;
    let setup_head = seq.engine.head().number();
    let plan = workload::plan(p.accounts, p.txs, p.seed, p.workload.first_nonce());
    let txs = seq.recover(signer.sign_plan(&plan, senders, &target)?)?;
    let mut timed = Timed::default();
    for block in txs.chunks(p.block_txs) {
        seq.seal_timed(block, &mut timed)?;
    }
    seq.finish(&mut timed)?;
    let head = seq.engine.head().clone();

    // Appends as the batcher packs them: the set-up blocks, then the timed ones, each in its
    // own L1 block after the origin.
    let reader = seq.engine.store().reader()?;
    let mut locals = Vec::new();
    for n in 1..=head.number() {
        let block = reader
            .block(n)?
            .ok_or_else(|| BenchError::Workload(format!("block {n} missing")))?;
        locals.push(
            LocalBlock::of(&block)
                .ok_or_else(|| BenchError::Workload(format!("block {n} has no L1 origin")))?,
        );
    }
    drop(reader);
    let split = setup_head as usize;
    let mut l1 = vec![origin.clone()];
    let genesis_hash = seq
        .engine
        .store()
        .reader()?
        .header(0)?
        .map(|(hash, _)| hash)
        .unwrap_or_default();
    let mut rollup = rollup(genesis_hash, &origin, u64::MAX / 4, p.gas_limit);
    let mut inbox = Inbox::new(inbox_config(&rollup));
    let origin_header = header_of(&origin);
    let (mut timed_bytes, mut timed_floor, mut timed_calls) = (0usize, 0u64, 0usize);
    // The inbox's records so far: the next append's `appendIndex`.
    let mut records = 0u64;
    for (part, timed_part) in [(&locals[..split], false), (&locals[split..], true)] {
        while let Some(from) = part
            .iter()
            .position(|b| b.number == inbox.state().next_block)
        {
            let s = inbox.state();
            let cursor = InboxCursor {
                next_block: s.next_block,
                last_epoch: s.started.then_some(s.epoch),
                open: s.open.as_ref().map(|o| o.tree.count() as u32),
            };
            let planned = plan_append(
                &cursor,
                &part[from..],
                &mut |_| Some(origin_header.clone()),
                MAX_APPEND_DATA,
                MAX_BLOCKS_PER_APPEND,
            )
            .map_err(|e| BenchError::Workload(e.to_string()))?;
            let data: Bytes = planned.data.encode().into();
            let number = l1.len() as u64;
            let origin_hash = origin.hash;
            let lookup = |n: u64| (n == 0).then_some(origin_hash);
            let out = inbox
                .append(
                    &data,
                    L1Context {
                        number,
                        block_hash: &lookup,
                    },
                )
                .map_err(|e| BenchError::Workload(format!("the inbox refuses an append: {e}")))?;
            let calldata = BatchInbox::appendBlocksCall { data: data.clone() }.abi_encode();
            if timed_part {
                timed_bytes += calldata.len();
                timed_floor += calldata_floor(&calldata);
                timed_calls += 1;
            }
            let parent = l1.last().map(|b: &L1Block| b.hash).unwrap_or_default();
            let mut block = l1_block(number, parent);
            block.inbox_calls.push(InboxCall::Append {
                data,
                first: out.first,
                count: out.blocks.len() as u64,
                index: records,
                record: out.record.map_or(B256::ZERO, |r| r.commitment()),
            });
            records += u64::from(out.record.is_some());
            l1.push(block);
        }
    }
    let mut view = L1View::new(0);
    for block in &l1 {
        view.insert(block.clone());
    }
    let view = RwLock::new(view);
    rollup.seq_window_size = l1.len() as u64 + 10;

    let mut verifier = Chain::open(
        &dir.path().join("verifier.redb"),
        &keys,
        p.gas_limit,
        p.apply,
    )?;
    if verifier.engine.head().hash != genesis_hash {
        return Err(BenchError::Workload(
            "the two chains' genesis differ".into(),
        ));
    }
    let mut driver = Driver::open(verifier.engine.store().clone(), &rollup)
        .map_err(|e| BenchError::Workload(e.to_string()))?;
    // The set-up appends first, untimed; then the timed ones in steps of up to
    // `VERIFIER_STEP` L1 blocks (within a step, senders of later batches are recovered while
    // earlier ones execute; `op-node verifier` takes up to 64 per step).
    while driver.safe().number < setup_head {
        let out = driver
            .step(&mut verifier.engine, &view, 1)
            .map_err(|e| BenchError::Workload(e.to_string()))?;
        if out.l1_blocks == 0 {
            return Err(BenchError::Workload(
                "derivation stalled in the set-up".into(),
            ));
        }
    }
    let mut elapsed = Duration::ZERO;
    let mut per_step = Vec::new();
    loop {
        let started = Instant::now();
        let out = driver
            .step(&mut verifier.engine, &view, VERIFIER_STEP)
            .map_err(|e| BenchError::Workload(e.to_string()))?;
        if out.l1_blocks == 0 {
            break;
        }
        elapsed += started.elapsed();
        per_step.push(ms(started.elapsed()));
    }
    if verifier.engine.head().hash != head.hash {
        return Err(BenchError::Workload(format!(
            "derived head {} ({}) is not the sequencer's {} ({})",
            verifier.engine.head().number(),
            verifier.engine.head().hash,
            head.number(),
            head.hash
        )));
    }
    let blocks = timed.blocks.max(1);
    Ok(Report {
        workload: p.workload,
        mode: Mode::Derive,
        accounts: p.accounts,
        txs: p.txs,
        gas: timed.gas,
        elapsed,
        latencies_ms: per_step,
        stages: vec![
            ("l1_bytes_per_tx", timed_bytes as f64 / p.txs as f64),
            ("l1_floor_gas_per_tx", timed_floor as f64 / p.txs as f64),
            ("l2_blocks_per_s", blocks as f64 / elapsed.as_secs_f64()),
            ("derive_ms_per_block", ms(elapsed) / blocks as f64),
        ],
        stages_note: format!(
            "{} blocks of {} txs in {} appendBlocks calls of at most {} bytes of data ({} bytes \
             of calldata in all; the floor gas is EIP-7623's, what appends of full blocks pay); \
             p50/p99 are per derivation step of up to {} L1 blocks; sender recovery on {} threads \
             is inside",
            timed.blocks,
            p.block_txs,
            timed_calls,
            MAX_APPEND_DATA,
            timed_bytes,
            VERIFIER_STEP,
            rayon::current_num_threads()
        ),
    })
}

/// An L1 block of the made-up L1 (12 s apart, before the L2 genesis so every L2 block may
/// take block 0 as its origin); its hash is its header's.
fn l1_block(number: u64, parent_hash: B256) -> L1Block {
    let mut block = L1Block {
        number,
        hash: B256::ZERO,
        parent_hash,
        timestamp: GENESIS_TIMESTAMP - 1 + number,
        base_fee: 1_000_000_000,
        mix_hash: B256::ZERO,
        deposits: Vec::new(),
        inbox_calls: Vec::new(),
        header: Default::default(),
    };
    block.header = header_of(&block);
    block.hash = keccak256(&block.header);
    block
}

/// The RLP header of a made-up L1 block.
fn header_of(block: &L1Block) -> Bytes {
    alloy::rlp::encode(Header {
        parent_hash: block.parent_hash,
        number: block.number,
        timestamp: block.timestamp,
        base_fee_per_gas: Some(block.base_fee),
        mix_hash: block.mix_hash,
        ..Default::default()
    })
    .into()
}

/// EIP-7623's floor gas of an L1 transaction with `calldata`.
fn calldata_floor(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    21_000 + 10 * (zeros + 4 * (calldata.len() as u64 - zeros))
}

fn rollup(genesis: B256, origin: &L1Block, window: u64, gas_limit: u64) -> RollupConfig {
    let scalars = FeeScalars::default();
    RollupConfig {
        genesis: Genesis {
            l1: BlockRef {
                hash: origin.hash,
                number: origin.number,
            },
            l2: BlockRef {
                hash: genesis,
                number: 0,
            },
            l2_time: GENESIS_TIMESTAMP,
        },
        block_time_ms: 1000,
        l1_chain_id: 900,
        l2_chain_id: CHAIN_ID,
        l2_gas_limit: gas_limit,
        l1_confirmation_depth: 0,
        deposit_contract_address: Default::default(),
        dispute_game_factory_address: Default::default(),
        anchor_state_registry_address: Default::default(),
        batch_inbox_address: Default::default(),
        deposit_log_index_address: Default::default(),
        batcher_address: BATCHER,
        proposer_address: Default::default(),
        respected_game_type: 1,
        base_fee_scalar: scalars.base_fee_scalar,
        blob_base_fee_scalar: scalars.blob_base_fee_scalar,
        seq_window_size: window,
        max_sequencer_drift: u64::MAX / 4,
    }
}
