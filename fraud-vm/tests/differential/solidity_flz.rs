//! The `FLZ` range job (SPEC.md §3.4.1 v0.11): the FastLZ level 1 compressed length of a job's
//! bytes (the L1 data fee's size of a long transaction), run on the `RangeOracle` chunk by chunk,
//! each chunk a committed L1 transaction that passes the state the previous one left. The fact
//! equals the Rust reference (op-revm's `flz_compress_len`, ported below since op-revm keeps it
//! crate-private, and op-revm's public size estimate where it is linear in the length) and the
//! one-shot `FastLz.compressedLength` (`FeeProbe`), for random bytes at random offsets split at
//! random chunk sizes, and for 128,000-byte incompressible and repetitive inputs and runs longer
//! than a chunk, whose gas per chunk is measured. Wrong states, chunks and jobs are rejected.
//!
//! `cargo test --release -p fraud-vm --test differential solidity_flz -- --nocapture`

use super::*;
use fraud_vm::merkle::WordTree;
use fraud_vm::range_fact::{self, Chunk, FLZ, JobPlan, MAX_FLZ_CHUNK, RangeJob, TREE_BYTES};
use proptest::test_runner::{Config, TestRunner};
use std::cell::RefCell;

// The oracle's ABI, shared with the other long-range tests.
use super::ranges::{Job as FlzJob, absorbCall, absorbFlzCall, factCall, rangeOracleCall};

/// The account that submits the chunks.
const FLZ_FEEDER: Address = address!("0x00000000000000000000000000000000000f1e0d");

/// op-revm 20's `flz_compress_len` (`src/fast_lz.rs`), line for line: the reference.
fn flz_compress_len(input: &[u8]) -> u32 {
    fn literals(r: u32, size: u32) -> u32 {
        let size = size + 0x21 * (r / 0x20);
        let r = r % 0x20;
        if r != 0 { size + r + 1 } else { size }
    }
    fn cmp(input: &[u8], p: u32, q: u32, r: u32) -> u32 {
        let mut l = 0;
        let mut r = r - q;
        while l < r {
            if input[(p + l) as usize] != input[(q + l) as usize] {
                r = 0;
            }
            l += 1;
        }
        l
    }
    fn flz_match(l: u32, size: u32) -> u32 {
        let l = l - 1;
        let size = size + (3 * (l / 262));
        if l % 262 >= 6 { size + 3 } else { size + 2 }
    }
    fn hash(v: u32) -> u16 {
        let hash = (v as u64 * 2654435769) >> 19;
        hash as u16 & 0x1fff
    }
    fn u24(input: &[u8], idx: u32) -> u32 {
        u32::from(input[idx as usize])
            + (u32::from(input[(idx + 1) as usize]) << 8)
            + (u32::from(input[(idx + 2) as usize]) << 16)
    }
    fn set_next_hash(htab: &mut [u32; 8192], input: &[u8], idx: u32) -> u32 {
        htab[hash(u24(input, idx)) as usize] = idx;
        idx + 1
    }
    let mut idx: u32 = 2;
    let idx_limit: u32 = if input.len() < 13 {
        0
    } else {
        input.len() as u32 - 13
    };
    let mut anchor = 0;
    let mut size = 0;
    let mut htab = [0; 8192];
    while idx < idx_limit {
        let mut r: u32;
        let mut distance: u32;
        loop {
            let seq = u24(input, idx);
            let hash = hash(seq);
            r = htab[hash as usize];
            htab[hash as usize] = idx;
            distance = idx - r;
            if idx >= idx_limit {
                break;
            }
            idx += 1;
            if distance < 8192 && seq == u24(input, r) {
                break;
            }
        }
        if idx >= idx_limit {
            break;
        }
        idx -= 1;
        if idx > anchor {
            size = literals(idx - anchor, size);
        }
        let len = cmp(input, r + 3, idx + 3, idx_limit + 9);
        size = flz_match(len, size);
        idx = set_next_hash(&mut htab, input, idx + len);
        idx = set_next_hash(&mut htab, input, idx);
        anchor = idx;
    }
    literals(input.len() as u32 - anchor, size)
}

/// op-revm's public size estimate inverted where it is linear (lengths over 170).
fn op_revm_length(input: &[u8]) -> Option<u64> {
    let est = op_revm::estimate_tx_compressed_size(input);
    (est > 100_000_000).then(|| (est + 42_585_600) / 836_500)
}

/// A random string from `seed` with FastLZ's cases mixed in: literal runs, copies from up to
/// 9,000 bytes back (within and beyond the match window), runs of one byte, repeats of a short
/// period.
fn mixed_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let r = next();
        let n = 1 + (r >> 8) as usize % 3_000;
        match r % 4 {
            0 => out.extend((0..n).map(|_| next() as u8)),
            1 if !out.is_empty() => {
                let back = 1 + (r >> 24) as usize % 9_000.min(out.len());
                let from = out.len() - back;
                for i in 0..n {
                    out.push(out[from + i]);
                }
            }
            2 => out.extend(std::iter::repeat_n((r >> 40) as u8, n)),
            _ => {
                let period = 1 + (r >> 32) as usize % 7;
                out.extend((0..n).map(|i| (i % period) as u8 ^ (r >> 48) as u8));
            }
        }
    }
    out.truncate(len);
    out
}

/// FastLZ's costliest input found: after 8,000 random bytes, three-byte groups each copied from
/// a random earlier place within the match window, so that nearly every scan step finds a
/// match that ends after one more byte (a match every three positions).
fn trigram_salad(len: usize) -> Vec<u8> {
    trigrams(len, (0x5a1ad, 8_000), 0, |x| 1 + (x >> 20) as usize % 8_000)
}

/// After `prefix.1` bytes of `mixed_bytes(prefix.0)`, three-byte groups each copied from
/// `back(x)` bytes before (`x` a xorshift sequence) and followed by `gap` literal bytes:
/// matches of exactly three bytes at the distances `back` picks (near the window's 8,191 for
/// the farthest), alternating with literals.
fn trigrams(len: usize, prefix: (u64, usize), gap: usize, back: impl Fn(u64) -> usize) -> Vec<u8> {
    let mut out = mixed_bytes(prefix.0, prefix.1.min(len));
    let mut x = 0x2545_f491_4f6c_dd1du64;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let from = out.len() - back(x);
        for i in 0..3 {
            out.push(out[from + i]);
        }
        for k in 0..gap {
            out.push((x >> (8 * (k % 8))) as u8 ^ 0x5a);
        }
    }
    out.truncate(len);
    out
}

/// The L1 with the verifier, its oracle, the FeeProbe and the feeder's nonce.
struct FlzL1 {
    l1: L1Verifier,
    oracle: Address,
    probe: Address,
    nonce: u64,
    /// Jobs completed and chunks landed.
    jobs: u64,
    chunks: u64,
}

/// A job over `input` placed at `offset` of a string with `tail` more bytes after it; its plan
/// with chunks of `most` bytes, and the job's bytes.
fn flz_job(input: &[u8], offset: usize, tail: usize, most: u64) -> (JobPlan, Vec<u8>) {
    let mut string = vec![0x5a; offset];
    string.extend_from_slice(input);
    string.extend(std::iter::repeat_n(0xa5, tail));
    let tree = WordTree::from_bytes(&string);
    let job = RangeJob {
        src_root: tree.root(),
        src_offset: offset as u64,
        src_size: string.len() as u64,
        len: input.len() as u64,
        flags: FLZ,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let first = offset as u64 / 32;
    let read = tree.prove_range(first, (string.len() as u64).div_ceil(32) - first);
    let plan = range_fact::flz_plan_sized(job, Some(&read), most).expect("plan");
    (plan, input.to_vec())
}

fn sol_job(job: &RangeJob) -> FlzJob {
    FlzJob {
        srcRoot: job.src_root,
        srcOffset: U256::from(job.src_offset),
        srcSize: U256::from(job.src_size),
        len: U256::from(job.len),
        flags: U256::from(job.flags),
        dstRoot: job.dst_root,
        dstOffset: U256::from(job.dst_offset),
    }
}

/// The custom error a revert carries, by name, or the result's debug form.
fn revert_name(result: &ExecutionResult) -> String {
    const NAMES: &[&str] = &[
        "BadJob()",
        "BadChunk(uint256,uint256)",
        "BadChunkProof(bool)",
        "JobComplete()",
        "BadFlzState()",
    ];
    match result {
        ExecutionResult::Revert { output, .. } => NAMES
            .iter()
            .find(|n| output.len() >= 4 && keccak256(n.as_bytes())[..4] == output[..4])
            .map_or_else(|| format!("{output:?}"), |n| n.to_string()),
        other => format!("{other:?}"),
    }
}

impl FlzL1 {
    fn deploy() -> Self {
        let mut l1 = L1Verifier::deploy();
        let (result, _) = l1.call(rangeOracleCall {}.abi_encode());
        let oracle = match result {
            ExecutionResult::Success { output, .. } => {
                rangeOracleCall::abi_decode_returns(output.data()).expect("address")
            }
            other => panic!("rangeOracle(): {other:?}"),
        };
        let probe = l1.deploy_artifact("FeeProbe", &[]);
        Self {
            l1,
            oracle,
            probe,
            nonce: 0,
            jobs: 0,
            chunks: 0,
        }
    }

    /// Sends `data` to the oracle as a committed transaction: its gas, or the revert's name.
    fn send(&mut self, data: Vec<u8>) -> Result<u64, String> {
        let result = self
            .l1
            .commit_call(FLZ_FEEDER, self.oracle, data, self.nonce)?;
        self.nonce += 1;
        let gas = result.tx_gas_used();
        match result {
            ExecutionResult::Success { .. } => Ok(gas),
            other => Err(revert_name(&other)),
        }
    }

    /// One `absorbFlz` chunk of `job`.
    fn chunk(&mut self, job: &RangeJob, c: &Chunk) -> Result<u64, String> {
        self.send(
            absorbFlzCall {
                job: sol_job(job),
                n: U256::from(c.n),
                src: Bytes::copy_from_slice(&c.src),
                state: Bytes::copy_from_slice(&c.dst),
            }
            .abi_encode(),
        )
    }

    /// Every chunk of `plan`: the gas of each.
    fn run(&mut self, plan: &JobPlan) -> Vec<u64> {
        plan.chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.chunk(&plan.job, c)
                    .unwrap_or_else(|e| panic!("chunk {i} of {}: {e}", plan.chunks.len()))
            })
            .collect()
    }

    /// The oracle's fact of `job`: complete, hash.
    fn fact(&mut self, job: &RangeJob) -> (bool, B256) {
        let (result, _) = self
            .l1
            .call_to(self.oracle, factCall { id: job.id() }.abi_encode());
        match result {
            ExecutionResult::Success { output, .. } => {
                let r = factCall::abi_decode_returns(output.data()).expect("fact");
                (r.complete, r.hash)
            }
            other => panic!("fact(): {other:?}"),
        }
    }

    /// `FastLz.compressedLength` of `input` in one call (`FeeProbe`).
    fn one_shot(&mut self, input: &[u8]) -> u64 {
        let data = compressedLengthCall {
            encoded: Bytes::copy_from_slice(input),
        }
        .abi_encode();
        match self.l1.call_to(self.probe, data).0 {
            ExecutionResult::Success { output, .. } => {
                let v = compressedLengthCall::abi_decode_returns(output.data()).expect("length");
                u64::try_from(v).expect("small")
            }
            other => panic!("compressedLength: {other:?}"),
        }
    }

    /// Runs `plan` and checks its fact against every reference: the gas of each chunk.
    fn check(&mut self, plan: &JobPlan, input: &[u8], what: &str) -> Vec<u64> {
        let gas = self.run(plan);
        self.jobs += 1;
        self.chunks += gas.len() as u64;
        let want = u64::from(flz_compress_len(input));
        let word = B256::from(U256::from(want));
        assert_eq!(
            self.fact(&plan.job),
            (true, word),
            "{what}: the oracle's fact"
        );
        assert_eq!(plan.hash, word, "{what}: the plan's length");
        if let Some(op) = op_revm_length(input) {
            assert_eq!(op, want, "{what}: op-revm's estimate");
        }
        if input.len() <= 40_000 {
            assert_eq!(
                self.one_shot(input),
                want,
                "{what}: FastLz.compressedLength"
            );
        }
        gas
    }
}

/// Random bytes of 1 to 40,000 at an unaligned offset, split at a random chunk size (at most
/// 24 chunks a job): the oracle's fact is op-revm's length; plus the lengths at FastLZ's and the
/// chunks' edges (13, the scan bound; 8,191 and 8,192, the match window; one chunk and one past).
#[test]
fn solidity_flz_job_matches_rust() {
    let flz = RefCell::new(FlzL1::deploy());
    let mut edges = vec![
        1usize, 2, 12, 13, 14, 15, 16, 17, 18, 31, 32, 33, 8_191, 8_192, 8_193,
    ];
    let m = MAX_FLZ_CHUNK as usize;
    edges.extend([
        m - 2,
        m - 1,
        m,
        m + 1,
        m + 2,
        m + 3,
        2 * m,
        2 * m + 13,
        40_000,
    ]);
    for (i, len) in edges.into_iter().enumerate() {
        for (seed, most, offset) in [(i as u64 + 1, MAX_FLZ_CHUNK, 7), (i as u64 + 99, 4_099, 40)] {
            let input = mixed_bytes(seed, len);
            let (plan, input) = flz_job(&input, offset + i % 25, i % 3, most);
            flz.borrow_mut()
                .check(&plan, &input, &format!("{len} bytes, chunks of {most}"));
        }
    }
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        1usize..=40_000,
        0usize..64,
        any::<u64>(),
        0u64..1_000,
        0usize..40,
    );
    runner
        .run(&strategy, |(len, offset, seed, cut, tail)| {
            // A chunk size from len/24 to the bound.
            let floor = (len as u64).div_ceil(24).max(1);
            let most = floor + cut * (MAX_FLZ_CHUNK - floor) / 1_000;
            let input = mixed_bytes(seed, len);
            let (plan, input) = flz_job(&input, offset, tail, most);
            flz.borrow_mut().check(
                &plan,
                &input,
                &format!("{len} bytes at {offset}, chunks of {most}"),
            );
            Ok(())
        })
        .expect("proptest");
    let flz = flz.borrow();
    println!("FLZ jobs checked: {}, chunks: {}", flz.jobs, flz.chunks);
    assert!(flz.jobs >= 88, "{} jobs", flz.jobs);
}

/// Long inputs: 128,000 incompressible and repetitive bytes (op-node's largest recorded
/// transaction), runs of one byte longer than a chunk, and a source whose size ends inside the
/// job (zero past it). Prints the gas of the largest chunk and the chunks per job.
#[test]
fn solidity_flz_long_inputs_gas() {
    let mut flz = FlzL1::deploy();
    let incompressible: Vec<u8> = (0..128_000u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    let noise: Vec<u8> = (0..128_000u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 37) as u8)
        .collect();
    let mut run_inside = mixed_bytes(11, 10_000);
    run_inside.extend(std::iter::repeat_n(0x61, 2 * MAX_FLZ_CHUNK as usize + 500));
    run_inside.extend(mixed_bytes(12, 10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "incompressible (the transaction-start test's bytes)",
            incompressible,
        ),
        ("incompressible (a multiplicative hash's bytes)", noise),
        (
            "repetitive (period 7)",
            (0..128_000u64).map(|i| (i % 7) as u8 + 1).collect(),
        ),
        ("one byte repeated", vec![0x61; 128_000]),
        ("zeros", vec![0; 128_000]),
        (
            "a run of two chunks and 500 bytes of one byte inside random",
            run_inside,
        ),
        ("mixed", mixed_bytes(77, 128_000)),
        (
            "trigram salad (the costliest found)",
            trigram_salad(128_000),
        ),
        (
            "three-byte matches 8,100 to 8,191 bytes back",
            trigrams(128_000, (0x7a7, 8_191), 0, |x| {
                8_100 + (x >> 20) as usize % 92
            }),
        ),
        (
            "three-byte matches alternating with one literal byte",
            trigrams(128_000, (0x7a7, 8_191), 1, |x| {
                1 + (x >> 20) as usize % 8_000
            }),
        ),
        (
            "three-byte matches alternating with four literal bytes",
            trigrams(128_000, (0x7a7, 8_191), 4, |x| {
                1 + (x >> 20) as usize % 8_000
            }),
        ),
    ];
    let mut worst = 0;
    for (name, input) in &cases {
        let (plan, input) = flz_job(input, 3, 0, MAX_FLZ_CHUNK);
        let gas = flz.check(&plan, &input, name);
        let max = *gas.iter().max().expect("chunks");
        worst = worst.max(max);
        println!(
            "FLZ {name}, {} bytes: {} chunks, largest {max} gas, all {} gas, length {}",
            input.len(),
            gas.len(),
            gas.iter().sum::<u64>(),
            flz_compress_len(&input)
        );
    }
    println!("FLZ largest chunk: {worst} gas (MAX_FLZ_CHUNK {MAX_FLZ_CHUNK})");
    assert!(worst < 5_000_000, "an FLZ chunk of {worst} gas");

    // The source ends 1,000 bytes into the job: the rest reads as zero.
    let input = mixed_bytes(3, 20_000);
    let mut string = vec![1u8; 9];
    string.extend_from_slice(&input[..1_000]);
    let tree = WordTree::from_bytes(&string);
    let job = RangeJob {
        src_root: tree.root(),
        src_offset: 9,
        src_size: string.len() as u64,
        len: 20_000,
        flags: FLZ,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let read = tree.prove_range(0, (string.len() as u64).div_ceil(32));
    let plan = range_fact::plan(job, Some(&read), None).expect("plan");
    let mut zero_filled = input[..1_000].to_vec();
    zero_filled.resize(20_000, 0);
    flz.check(&plan, &zero_filled, "a source shorter than the job");
}

/// Rejected: a wrong passed state (a flipped byte, another chunk's, a state before the first
/// chunk), a chunk past the end or over the bound or empty, a flipped source word, a source
/// proof of another range, and jobs that are not FLZ alone (with another flag, through
/// `absorb`, with a destination, longer than u32).
#[test]
fn solidity_flz_rejections() {
    let mut flz = FlzL1::deploy();
    let input = mixed_bytes(21, 2 * MAX_FLZ_CHUNK as usize + 1_000);
    let (plan, _) = flz_job(&input, 5, 0, MAX_FLZ_CHUNK);
    let job = &plan.job;
    let c = &plan.chunks;
    assert_eq!(c.len(), 3);
    let err = |r: Result<u64, String>| r.expect_err("taken");

    // Jobs that are not FLZ alone.
    for bad in [
        RangeJob {
            flags: FLZ | range_fact::HASH,
            ..job.clone()
        },
        RangeJob {
            flags: FLZ | range_fact::WRITE,
            ..job.clone()
        },
        RangeJob {
            dst_root: B256::repeat_byte(1),
            ..job.clone()
        },
        RangeJob {
            dst_offset: 32,
            ..job.clone()
        },
        RangeJob {
            len: 1 << 32,
            ..job.clone()
        },
        RangeJob {
            src_size: TREE_BYTES + 1,
            ..job.clone()
        },
    ] {
        assert_eq!(err(flz.chunk(&bad, &c[0])), "BadJob()", "{bad:?}");
    }
    let through_absorb = absorbCall {
        job: sol_job(job),
        n: U256::from(c[0].n),
        src: Bytes::copy_from_slice(&c[0].src),
        dst: Bytes::new(),
    }
    .abi_encode();
    assert_eq!(
        err(flz.send(through_absorb)),
        "BadJob()",
        "FLZ through absorb"
    );

    // The first chunk: a state passed, an empty chunk, one over the bound.
    let with_state = Chunk {
        dst: c[1].dst.clone(),
        ..c[0].clone()
    };
    assert_eq!(err(flz.chunk(job, &with_state)), "BadFlzState()");
    for n in [0, MAX_FLZ_CHUNK + 1] {
        let bad = Chunk { n, ..c[0].clone() };
        assert_eq!(
            err(flz.chunk(job, &bad)),
            "BadChunk(uint256,uint256)",
            "n {n}"
        );
    }
    // A flipped source word, the source of another range.
    let mut flipped = c[0].clone();
    flipped.src[8 + 32 * 100 + 5] ^= 0x10;
    assert_eq!(err(flz.chunk(job, &flipped)), "BadChunkProof(bool)");
    let short = Chunk {
        n: c[0].n - 64,
        ..c[0].clone()
    };
    assert_eq!(err(flz.chunk(job, &short)), "BadChunkProof(bool)");
    flz.chunk(job, &c[0]).expect("first chunk");

    // The second: no state, a flipped state byte (the table's, the head's), the first's state.
    let mut bad = c[1].clone();
    bad.dst.clear();
    assert_eq!(err(flz.chunk(job, &bad)), "BadFlzState()");
    for at in [5, 31, 200, 20_000, range_fact::FLZ_STATE_LEN - 1] {
        let mut bad = c[1].clone();
        bad.dst[at] ^= 1;
        assert_eq!(
            err(flz.chunk(job, &bad)),
            "BadFlzState()",
            "state byte {at}"
        );
    }
    let mut truncated = c[1].clone();
    truncated.dst.pop();
    assert_eq!(err(flz.chunk(job, &truncated)), "BadFlzState()");
    // The state of a split at 4,099 bytes: a valid state of the same job, not this one's.
    let (other, _) = flz_job(&input, 5, 0, 4_099);
    let foreign = Chunk {
        dst: other.chunks[1].dst.clone(),
        ..c[1].clone()
    };
    assert_eq!(err(flz.chunk(job, &foreign)), "BadFlzState()");
    // Past the end: more than the job has left.
    let past = Chunk {
        n: job.len - c[0].n + 1,
        ..c[1].clone()
    };
    assert_eq!(err(flz.chunk(job, &past)), "BadChunk(uint256,uint256)");
    flz.chunk(job, &c[1]).expect("second chunk");
    let (complete, _) = flz.fact(job);
    assert!(!complete, "incomplete after two of three chunks");
    flz.chunk(job, &c[2]).expect("last chunk");
    assert_eq!(
        err(flz.chunk(job, &c[2])),
        "JobComplete()",
        "a chunk past the end"
    );
    assert_eq!(
        flz.fact(job),
        (true, B256::from(U256::from(flz_compress_len(&input))))
    );
}
