//! Derive mode: what a verifier pays to follow the chain, and what the chain costs on L1.
//!
//! A serial run seals its blocks as L2 blocks of one L1 origin; their batches are packed
//! into channels exactly as the batcher packs them (one L1 transaction each), and each
//! channel is put in its own L1 block of a made-up L1. A second chain on a fresh database
//! then derives everything from that L1 with the node's derivation driver: batch decoding,
//! sender recovery, execution, state root, persistence. What is timed is the derivation of
//! the timed blocks' channels; the result must end on the sequencer's head hash.

use super::{
    BenchError,
    report::{Mode, Report, ms},
    serial::{self, BATCHER, CHAIN_ID, Chain, GENESIS_TIMESTAMP, SerialParams, Timed},
    workload::{self, Key, Signer},
};
use alloy::primitives::{B256, Bytes, keccak256};
use op_node::{
    batch::{MAX_FRAME_DATA, frames_for_channel},
    batcher::{batch_of, fit},
    derivation::{Driver, FeeScalars, L1Block, L1View},
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
    let origin = l1_block(0, B256::ZERO, Vec::new());
    let mut seq = Chain::open(&dir.path().join("sequencer.redb"), &keys, p.gas_limit)?;
    seq.origin = Some((origin.clone(), 0));
    let signer = Signer { chain_id: CHAIN_ID };
    let token = serial::setup(&p, &mut seq, &signer, senders, &treasury[0])?;
    let setup_head = seq.engine.head().number();
    let plan = workload::plan(p.accounts, p.txs, p.seed, 0);
    let txs = seq.recover(signer.sign_plan(&plan, senders, token)?)?;
    let mut timed = Timed::default();
    for block in txs.chunks(p.block_txs) {
        seq.seal_timed(block, &mut timed)?;
    }
    let head = seq.engine.head().clone();

    // Channels as the batcher packs them: the set-up blocks, then the timed ones.
    let reader = seq.engine.store().reader()?;
    let mut batches = Vec::new();
    for n in 1..=head.number() {
        let block = reader
            .block(n)?
            .ok_or_else(|| BenchError::Workload(format!("block {n} missing")))?;
        let batch = batch_of(&block)
            .ok_or_else(|| BenchError::Workload(format!("block {n} has no L1 origin")))?;
        batches.push((n, block.hash, batch));
    }
    drop(reader);
    let split = setup_head as usize;
    let mut channels = Vec::new();
    let mut timed_bytes = 0usize;
    let mut timed_channels = 0usize;
    for (part, timed_part) in [(&batches[..split], false), (&batches[split..], true)] {
        let mut rest = part;
        while !rest.is_empty() {
            let (compressed, count) = fit(rest);
            if timed_part {
                timed_bytes += compressed.len();
                timed_channels += 1;
            }
            channels.push(compressed);
            rest = &rest[count..];
        }
    }

    // L1: the origin, then one block per channel.
    let mut l1 = vec![origin.clone()];
    for (i, channel) in channels.iter().enumerate() {
        let id: [u8; 16] = keccak256((i as u64).to_be_bytes())[..16]
            .try_into()
            .expect("16 bytes");
        let data = frames_for_channel(id, channel, MAX_FRAME_DATA)
            .into_iter()
            .map(Bytes::from)
            .collect();
        let parent = l1.last().map(|b: &L1Block| b.hash).unwrap_or_default();
        l1.push(l1_block(i as u64 + 1, parent, data));
    }
    let mut view = L1View::new(0);
    for block in &l1 {
        view.insert(block.clone());
    }
    let view = RwLock::new(view);

    let mut verifier = Chain::open(&dir.path().join("verifier.redb"), &keys, p.gas_limit)?;
    let genesis = verifier.engine.head().hash;
    let rollup = rollup(genesis, &origin, l1.len() as u64 + 10, p.gas_limit);
    let mut driver = Driver::open(verifier.engine.store().clone(), &rollup)
        .map_err(|e| BenchError::Workload(e.to_string()))?;
    // The set-up channels first, untimed; then the timed ones in steps of up to
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
            ("l2_blocks_per_s", blocks as f64 / elapsed.as_secs_f64()),
            ("derive_ms_per_block", ms(elapsed) / blocks as f64),
        ],
        stages_note: format!(
            "{} blocks of {} txs in {} channels of at most {} compressed bytes ({} bytes in all); \
             p50/p99 are per derivation step of up to {} L1 blocks; sender recovery on {} threads \
             is inside",
            timed.blocks,
            p.block_txs,
            timed_channels,
            MAX_FRAME_DATA,
            timed_bytes,
            VERIFIER_STEP,
            rayon::current_num_threads()
        ),
    })
}

/// An L1 block of the made-up L1 (12 s apart, before the L2 genesis so every L2 block may
/// take block 0 as its origin).
fn l1_block(number: u64, parent_hash: B256, batcher_data: Vec<Bytes>) -> L1Block {
    L1Block {
        number,
        hash: keccak256([b"bench-l1".as_slice(), &number.to_be_bytes()].concat()),
        parent_hash,
        timestamp: GENESIS_TIMESTAMP - 1 + number,
        base_fee: 1_000_000_000,
        mix_hash: B256::ZERO,
        deposits: Vec::new(),
        batcher_data,
    }
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
        batcher_address: BATCHER,
        proposer_address: Default::default(),
        respected_game_type: 1,
        base_fee_scalar: scalars.base_fee_scalar,
        blob_base_fee_scalar: scalars.blob_base_fee_scalar,
        seq_window_size: window,
        max_sequencer_drift: u64::MAX / 2,
        channel_timeout: 50,
    }
}
