//! The layer-2 answers' cost over a real block (issue 5): `BlockSteps::step_count` and the
//! answers of a bisection that agrees up to the block's last step (`commitment_at`), as
//! `op-node check-block` times them, over a block and its `debug_executionWitness` dumped as
//! lines `B <raw block hex>` and `S`/`C`/`K`/`H <witness state node / code / key / header hex>`
//! (testdata/blocks/*.hex hold three devnet blocks of check-block.test.mjs).
//!
//! ```text
//! cargo run --release -p fraud-vm --example answers -- testdata/blocks/add-liquidity-eth.hex 5
//! valgrind --tool=callgrind target/release/examples/answers testdata/blocks/add-liquidity-eth.hex
//! ```
//!
//! The second argument is the number of repetitions, each with the prover's caches emptied
//! first (`fraud_vm::memo::clear`; the fastest is printed; 1 under callgrind, whose inclusive
//! counts of `BlockSteps<DB>::step_count`, and of `commitment_at`, inlined into `main`, are the
//! stable measure). The answers' figure is the fastest repetition's slowest answer, then the
//! fastest first answer (the cold one, which lifts the block's sparse-tree leaves), then the
//! fastest one-step proofs (`step_proof`, after the answers) of the leaf the bisection ends at
//! (the block end's last step) and of the step at the middle, where the first move asks, and
//! the leaf's proof cold (a new `BlockSteps` with the caches emptied and only `N` counted: a
//! player that answered nothing about the block end). `ONLY_N=1` skips the answers, `FIRST=1` all but the first (for a
//! profiler); `CHECK=1` also checks the block with `check_block`
//! and prints op-revm's own execution time and the ratios to it; `EACH=1` prints every answer's
//! time (callgrind counts each one with `--dump-after=answers::answer_at`).

use alloy::consensus::Block;
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::Bytes;
use alloy::rlp::Decodable;
use fraud_vm::check::{BlockSteps, ChainConfig};
use op_alloy::consensus::OpTxEnvelope;
use std::error::Error;
use std::time::{Duration, Instant};

/// The devnet's chain id (op-node's default).
const CHAIN_ID: u64 = 901;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: answers <block.hex> [repetitions]")?;
    let reps: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let text = std::fs::read_to_string(&path)?;
    let mut raw = Vec::new();
    let mut witness = alloy::rpc::types::debug::ExecutionWitness::default();
    for (i, line) in text.lines().enumerate() {
        let (kind, hex) = line
            .split_once(' ')
            .ok_or_else(|| format!("{path}:{}: not `<kind> <hex>`", i + 1))?;
        let bytes: Bytes = alloy::hex::decode(hex)
            .map_err(|e| format!("{path}:{}: {e}", i + 1))?
            .into();
        match kind {
            "B" => raw = bytes.to_vec(),
            "S" => witness.state.push(bytes),
            "C" => witness.codes.push(bytes),
            "K" => witness.keys.push(bytes),
            "H" => witness.headers.push(bytes),
            other => return Err(format!("{path}:{}: unknown kind {other:?}", i + 1).into()),
        }
    }
    let block = Block::<OpTxEnvelope>::decode(&mut raw.as_slice())?;
    let transactions: Vec<Bytes> = block
        .body
        .transactions
        .iter()
        .map(|t| t.encoded_2718().into())
        .collect();
    let config = ChainConfig::op_node(CHAIN_ID, block.header.gas_limit);
    let execution = if std::env::var_os("CHECK").is_some() {
        let report = fraud_vm::check::check_block(&block.header, &transactions, &witness, &config)?;
        Some(report.execution_time)
    } else {
        None
    };
    let (mut count, mut answer, mut first) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut leaf_proof, mut middle_proof) = (Duration::MAX, Duration::MAX);
    let mut cold_leaf_proof = Duration::MAX;
    let (mut n, mut asked) = (0, 0);
    let each = std::env::var_os("EACH").is_some();
    let first_only = std::env::var_os("FIRST").is_some();
    for _ in 0..reps.max(1) {
        // Each repetition starts cold, as the first answers about a block do.
        fraud_vm::memo::clear();
        let steps =
            BlockSteps::from_witness(&block.header, transactions.clone(), &witness, config)?;
        let began = Instant::now();
        n = steps.step_count()?;
        count = count.min(began.elapsed());
        if std::env::var_os("ONLY_N").is_some() {
            continue;
        }
        // The bisection that agrees at every answer: it ends at the last step.
        let (mut agreed, mut slowest) = (0, Duration::ZERO);
        let mut times = Vec::new();
        asked = 0;
        while n - agreed > 1 {
            let m = agreed + (n - agreed) / 2;
            let began = Instant::now();
            std::hint::black_box(answer_at(&steps, m)?);
            let took = began.elapsed();
            if each {
                times.push((m, took));
            }
            if asked == 0 {
                first = first.min(took);
            }
            slowest = slowest.max(took);
            agreed = m;
            asked += 1;
            if first_only {
                break;
            }
        }
        answer = answer.min(slowest);
        if !first_only {
            // The leaf's one-step proof, as the player who must step makes it after the moves.
            let began = Instant::now();
            std::hint::black_box(steps.step_proof(agreed)?);
            leaf_proof = leaf_proof.min(began.elapsed());
            // And the proof of the step the first move asked about (an opcode, in these blocks).
            let began = Instant::now();
            std::hint::black_box(steps.step_proof(n / 2)?);
            middle_proof = middle_proof.min(began.elapsed());
            // The leaf's proof by a player that has counted `N` and answered nothing else
            // (no block end state kept, the caches emptied).
            fraud_vm::memo::clear();
            let fresh =
                BlockSteps::from_witness(&block.header, transactions.clone(), &witness, config)?;
            fresh.step_count()?;
            let began = Instant::now();
            std::hint::black_box(cold_leaf_proof_at(&fresh, agreed)?);
            cold_leaf_proof = cold_leaf_proof.min(began.elapsed());
        }
        for (m, took) in times {
            println!("  answer at {m} of {n}: {} µs", took.as_micros());
        }
    }
    let ratio = |d: Duration| {
        execution.map_or(String::new(), |e| {
            format!(" ({:.1}x)", d.as_secs_f64() / e.as_secs_f64())
        })
    };
    print!(
        "{path}: N = {n} in {} µs{}",
        count.as_micros(),
        ratio(count)
    );
    if asked > 0 {
        print!(
            ", slowest of {asked} answers {} µs{}, first {} µs{}",
            answer.as_micros(),
            ratio(answer),
            first.as_micros(),
            ratio(first)
        );
    }
    if leaf_proof != Duration::MAX {
        print!(
            ", the leaf's proof {} µs{} (cold {} µs{}), the middle step's {} µs{}",
            leaf_proof.as_micros(),
            ratio(leaf_proof),
            cold_leaf_proof.as_micros(),
            ratio(cold_leaf_proof),
            middle_proof.as_micros(),
            ratio(middle_proof)
        );
    }
    if let Some(e) = execution {
        print!(", op-revm alone {} µs", e.as_micros());
    }
    println!();
    Ok(())
}

/// The leaf's proof by a player that answered nothing about the block end, kept out of line
/// for callgrind (`--dump-before=answers::cold_leaf_proof_at`).
#[inline(never)]
fn cold_leaf_proof_at(
    steps: &BlockSteps<fraud_vm::witness::WitnessDb>,
    m: u64,
) -> Result<fraud_vm::check::PositionProof, fraud_vm::check::CheckError> {
    steps.step_proof(m)
}

/// One answer, kept out of line so that callgrind can count each on its own
/// (`--dump-after=answers::answer_at`).
#[inline(never)]
fn answer_at(
    steps: &BlockSteps<fraud_vm::witness::WitnessDb>,
    m: u64,
) -> Result<alloy::primitives::B256, fraud_vm::check::CheckError> {
    steps.commitment_at(m)
}
