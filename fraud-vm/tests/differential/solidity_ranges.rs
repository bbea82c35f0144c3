//! Long ranges through the range oracle (SPEC.md §3.4.1): a program that fills 1 MiB of memory
//! with non-zero bytes and runs KECCAK256, MCOPY, CALLDATACOPY, CODECOPY, RETURNDATACOPY and
//! EXTCODECOPY over ranges from 64 KiB to 1 MiB, calls identity, and calls with 300–600 KiB of
//! input contracts that RETURN or REVERT it (the call's input, the output, the frame exit's
//! copy), a LOG2 of 100 KiB (its data written after its encoding's prefix, then hashed), and
//! calls to sha256 and ripemd160 with 1 MiB of input (the oracle's SHA256 and RIPEMD160 jobs).
//! Each such step is proven in full for the Rust verifier and in its L1 form for the Solidity
//! verifier, after its range jobs were run on the `RangeOracle` chunk by chunk, each chunk a
//! committed L1 transaction: both give the same post-state. A step whose fact is missing or
//! incomplete, a fact of another job, a wrong chunk and a marker at the wrong range are all
//! rejected. The gas of every chunk and step is measured. The CREATE of the largest initcode
//! (EIP-3860) is proven in full: it needs no fact.

use super::*;
use fraud_vm::range_fact::{self, Chunk, JobPlan, LONG_WORDS, RangeJob};

alloy::sol! {
    struct Job {
        bytes32 srcRoot;
        uint256 srcOffset;
        uint256 srcSize;
        uint256 len;
        uint256 flags;
        bytes32 dstRoot;
        uint256 dstOffset;
    }
    function absorb(Job job, uint256 n, bytes src, bytes dst);
    function absorbFlz(Job job, uint256 n, bytes src, bytes state);
    function absorbLogs(Job job, uint256 n, bytes src, bytes state);
    function absorbEntries(Job job, uint256 n, bytes src, bytes dst);
    function absorbCode(bytes code);
    function absorbCodeChunk(bytes state, bytes chunk);
    function codeFact(bytes32 codeHash) returns (bytes32);
    function fact(bytes32 id) returns (bool complete, bytes32 hash, bytes32 dstResult);
    function rangeOracle() returns (address);
    function callSteps() returns (address);
}

/// The account that submits the chunks (its own nonces: the verifier's calls are not committed).
const FEEDER: Address = address!("0x00000000000000000000000000000000000fee0d");
/// The bound every chunk and every step over a long range stays under.
pub(super) const RANGE_TX_GAS: u64 = 6_000_000;

/// A long step: its pre-commitment, the Rust verifier's answer, its L1 form, its opcode.
struct LongStep {
    pre: B256,
    rust: Result<B256, String>,
    l1: range_fact::L1Proof,
    /// The opcode, or [`EXIT`].
    op: u16,
    proof: fraud_vm::StepProof,
}

/// The chunk submitter: the L1 with the verifier, the oracle's address, the feeder's nonce and
/// the gas figures.
pub(super) struct Feeder {
    oracle: Address,
    nonce: u64,
    /// Largest chunk transaction seen, by job kind.
    pub(super) max_chunk: BTreeMap<String, u64>,
    /// Chunks submitted.
    pub(super) chunks: u64,
}

impl Feeder {
    pub(super) fn new(l1: &mut L1Verifier) -> Self {
        let (result, _) = l1.call(rangeOracleCall {}.abi_encode());
        let oracle = match result {
            ExecutionResult::Success { output, .. } => {
                rangeOracleCall::abi_decode_returns(output.data()).expect("address")
            }
            other => panic!("rangeOracle(): {other:?}"),
        };
        Self {
            oracle,
            nonce: 0,
            max_chunk: BTreeMap::new(),
            chunks: 0,
        }
    }

    /// Submits one chunk of `job` as a committed L1 transaction; its gas, or the revert.
    pub(super) fn absorb(
        &mut self,
        l1: &mut L1Verifier,
        job: &RangeJob,
        chunk: &Chunk,
    ) -> Result<u64, String> {
        let sol_job = Job {
            srcRoot: job.src_root,
            srcOffset: U256::from(job.src_offset),
            srcSize: U256::from(job.src_size),
            len: U256::from(job.len),
            flags: U256::from(job.flags),
            dstRoot: job.dst_root,
            dstOffset: U256::from(job.dst_offset),
        };
        let n = U256::from(chunk.n);
        let src = Bytes::copy_from_slice(&chunk.src);
        // An FLZ or LOGS chunk carries the job's state where the others carry their destination
        // proof.
        let data = if job.flags == range_fact::ENTRIES {
            absorbEntriesCall {
                job: sol_job,
                n,
                src,
                dst: Bytes::copy_from_slice(&chunk.dst),
            }
            .abi_encode()
        } else if job.flags == range_fact::LOGS {
            absorbLogsCall {
                job: sol_job,
                n,
                src,
                state: Bytes::copy_from_slice(&chunk.dst),
            }
            .abi_encode()
        } else if job.flags == range_fact::FLZ {
            absorbFlzCall {
                job: sol_job,
                n,
                src,
                state: Bytes::copy_from_slice(&chunk.dst),
            }
            .abi_encode()
        } else {
            absorbCall {
                job: sol_job,
                n,
                src,
                dst: Bytes::copy_from_slice(&chunk.dst),
            }
            .abi_encode()
        };
        let kind = match job.flags {
            range_fact::HASH => "HASH",
            range_fact::SHA256 => "SHA256",
            range_fact::RIPEMD160 => "RIPEMD160",
            range_fact::ZEROS => "ZEROS",
            range_fact::FLZ => "FLZ",
            range_fact::LOGS => "LOGS",
            range_fact::ENTRIES => "ENTRIES",
            f if f == range_fact::WRITE | range_fact::ZEROS => "WRITE|ZEROS",
            _ => "WRITE",
        };
        let gas_used = self.send(l1, data, kind)?;
        self.chunks += 1;
        Ok(gas_used)
    }

    /// Sends `data` to the oracle as the feeder's next committed L1 transaction and records its
    /// gas as the largest of its `kind` so far: the gas, or the revert.
    fn send(&mut self, l1: &mut L1Verifier, data: Vec<u8>, kind: &str) -> Result<u64, String> {
        let result = l1.commit_call(FEEDER, self.oracle, data, self.nonce)?;
        self.nonce += 1;
        let gas = result.tx_gas_used();
        match result {
            ExecutionResult::Success { .. } => {
                let max = self.max_chunk.entry(kind.to_string()).or_default();
                *max = (*max).max(gas);
                Ok(gas)
            }
            other => Err(format!("{other:?}")),
        }
    }

    /// Establishes the code fact of `code` (`absorbCode`, SPEC.md §3.4.1 [v0.12]) in a
    /// committed L1 transaction: its gas, or the revert.
    pub(super) fn absorb_code(&mut self, l1: &mut L1Verifier, code: &[u8]) -> Result<u64, String> {
        let data = absorbCodeCall {
            code: Bytes::copy_from_slice(code),
        }
        .abi_encode();
        self.send(l1, data, "CODE")
    }

    /// [v0.14] Sends one `absorbCodeChunk` of a chunked code fact as a committed L1
    /// transaction: its gas, or the revert.
    pub(super) fn absorb_code_chunk(
        &mut self,
        l1: &mut L1Verifier,
        chunk: &range_fact::CodeChunk,
    ) -> Result<u64, String> {
        let data = absorbCodeChunkCall {
            state: Bytes::copy_from_slice(&chunk.state),
            chunk: Bytes::copy_from_slice(&chunk.code),
        }
        .abi_encode();
        self.send(l1, data, "CODE_CHUNK")
    }

    /// The oracle's code fact of the code with hash `code_hash` (zero: none).
    pub(super) fn code_fact(&self, l1: &mut L1Verifier, code_hash: B256) -> B256 {
        let (result, _) = l1.call_to(
            self.oracle,
            codeFactCall {
                codeHash: code_hash,
            }
            .abi_encode(),
        );
        match result {
            ExecutionResult::Success { output, .. } => {
                codeFactCall::abi_decode_returns(output.data()).expect("codeFact")
            }
            other => panic!("codeFact(): {other:?}"),
        }
    }

    /// The oracle's fact of job `id`: complete, hash.
    pub(super) fn fact(&self, l1: &mut L1Verifier, id: B256) -> (bool, B256) {
        let (result, _) = l1.call_to(self.oracle, factCall { id }.abi_encode());
        match result {
            ExecutionResult::Success { output, .. } => {
                let r = factCall::abi_decode_returns(output.data()).expect("fact");
                (r.complete, r.hash)
            }
            other => panic!("fact(): {other:?}"),
        }
    }

    /// The oracle's whole fact of job `id`: complete, hash, destination result.
    pub(super) fn fact_with_result(&self, l1: &mut L1Verifier, id: B256) -> (bool, B256, B256) {
        let (result, _) = l1.call_to(self.oracle, factCall { id }.abi_encode());
        match result {
            ExecutionResult::Success { output, .. } => {
                let r = factCall::abi_decode_returns(output.data()).expect("fact");
                (r.complete, r.hash, r.dstResult)
            }
            other => panic!("fact(): {other:?}"),
        }
    }

    /// Prints the largest chunk of each job kind (after `what`) and asserts each under 5M gas.
    pub(super) fn print_and_bound_chunks(&self, what: &str) {
        println!(
            "{what}largest chunk by job kind: {:?} ({} chunks in all)",
            self.max_chunk, self.chunks
        );
        assert!(
            self.max_chunk.values().all(|g| *g < 5_000_000),
            "{:?}",
            self.max_chunk
        );
    }

    /// Runs each of `jobs` whose fact the oracle does not hold yet.
    pub(super) fn run_missing(&mut self, l1: &mut L1Verifier, jobs: &[JobPlan]) {
        for plan in jobs {
            if !self.fact(l1, plan.job.id()).0 {
                self.run(l1, plan);
            }
        }
    }

    /// Runs every chunk of `plan`.
    pub(super) fn run(&mut self, l1: &mut L1Verifier, plan: &JobPlan) {
        for (i, chunk) in plan.chunks.iter().enumerate() {
            if let Err(e) = self.absorb(l1, &plan.job, chunk) {
                panic!("chunk {i} of {:?}: {e}", plan.job);
            }
        }
    }
}

/// A contract that returns its calldata (copied to memory whole).
const ECHO: Address = address!("0x00000000000000000000000000000000000ec40a");
/// A contract that reverts with its calldata.
const ECHO_REVERT: Address = address!("0x00000000000000000000000000000000000ec40b");

/// `CALLDATACOPY(0, 0, CALLDATASIZE)`, then RETURN (`0xf3`) or REVERT (`0xfd`) of it.
fn echo(end: u8) -> BaseAccount {
    BaseAccount {
        nonce: 1,
        code: vec![0x36, 0x5f, 0x5f, 0x37, 0x36, 0x5f, end],
        ..Default::default()
    }
}

/// EIP-3860's bound on initcode: a CREATE's read and the steps of its frame (which carry the
/// code) stay proven in full on L1 (SPEC.md §3.4.1).
const MAX_INITCODE: u64 = 49_152;

/// The label of a frame exit step among the opcodes of [`LongStep::op`].
const EXIT: u16 = 0x100;

/// 256 KiB of non-zero calldata, copied to memory and doubled twice with MCOPY to 1 MiB; then
/// KECCAK256 of the whole MiB, a STATICCALL to sha256 with the whole MiB (its output a word
/// past it) and one to ripemd160 with a misaligned MiB (20 bytes of its output), an overlapping misaligned MCOPY of almost all of it, CODECOPY of
/// 64 KiB (the code, then zeros), a STATICCALL to identity with the whole MiB and a
/// RETURNDATACOPY of almost all its output, EXTCODECOPY of 100 KiB (its own code, then zeros), a
/// STATICCALL to identity with 200 KiB whose output buffer takes 150 KiB;
/// then a CALL with 600 KiB of input to a contract that returns it (its RETURN and the exit's
/// copy into the caller's memory), a misaligned one with 300 KiB to a contract that reverts with
/// it, a LOG2 of 100 KiB and a CREATE of the largest initcode.
fn long_range_case() -> Case {
    const KIB: u64 = 1024;
    let u = U256::from;
    let mib = 1024 * KIB;
    let calldata: Vec<u8> = (0..256 * KIB)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    let code = program(&[
        (0x37, &[u(0), u(0), u(256 * KIB)]),
        (0x5e, &[u(256 * KIB), u(0), u(256 * KIB)]),
        (0x5e, &[u(512 * KIB), u(0), u(512 * KIB)]),
        (0x20, &[u(0), u(mib)]),
        (0x50, &[]),
        (0xfa, &[u(500_000), u(2), u(0), u(mib), u(mib + 64), u(32)]),
        (0x50, &[]),
        (
            0xfa,
            &[u(4_000_000), u(3), u(3), u(mib), u(mib + 100), u(20)],
        ),
        (0x50, &[]),
        (0x5e, &[u(33), u(1), u(mib - 40)]),
        (0x39, &[u(5), u(0), u(64 * KIB)]),
        (0xfa, &[u(100_000), u(4), u(0), u(mib), u(0), u(0)]),
        (0x50, &[]),
        (0x3e, &[u(7), u(3), u(mib - 10)]),
        (0x3c, &[addr(TARGET), u(11), u(3), u(100 * KIB)]),
        (
            0xfa,
            &[u(100_000), u(4), u(20), u(200 * KIB), u(1000), u(150 * KIB)],
        ),
        (0x50, &[]),
        (
            0xf1,
            &[
                u(3_000_000),
                addr(ECHO),
                u(0),
                u(0),
                u(600 * KIB),
                u(100),
                u(600 * KIB),
            ],
        ),
        (0x50, &[]),
        (
            0xf1,
            &[
                u(2_000_000),
                addr(ECHO_REVERT),
                u(0),
                u(8),
                u(300 * KIB),
                u(50),
                u(300 * KIB + 7),
            ],
        ),
        (0x50, &[]),
        (0xa2, &[u(40), u(100 * KIB), u(0xabc), u(0xdef)]),
        // The largest initcode (EIP-3860), non-zero bytes: bounded, proven in full on L1.
        (0xf0, &[u(0), u(4), u(MAX_INITCODE)]),
        (0x50, &[]),
        (0x00, &[]),
    ]);
    Case {
        calldata,
        extra_gas: 19_400_000,
        extra: vec![(ECHO, echo(0xf3)), (ECHO_REVERT, echo(0xfd))],
        ..Case::program(&code)
    }
}

/// Every long step of [`long_range_case`] through the Rust verifier in full and the Solidity
/// verifier in its L1 form, after its jobs ran on the oracle; the rejections; the gas figures
/// (`cargo test --release -p fraud-vm --test differential solidity_long_ranges -- --nocapture`).
#[test]
fn solidity_long_ranges_match_rust_through_the_range_oracle() {
    let mut l1 = L1Verifier::deploy();
    long_ranges(&mut l1);
    bounded_precompiles(&mut l1);
}

/// The body of [`solidity_long_ranges_match_rust_through_the_range_oracle`], also run by
/// `solidity_gas`: asserts, prints the figures and returns the largest step and chunk gas.
pub(super) fn long_ranges(l1: &mut L1Verifier) -> (u64, u64) {
    let mut feeder = Feeder::new(l1);
    let mut max_step = 0u64;
    let case = long_range_case();
    let mut steps = Vec::new();
    let mut bounded = Vec::new();
    let mut failures = Vec::new();
    run(&case, |k, state| {
        let pre = state.record.commitment();
        let (proof, _) = match prove(state) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("step {k}: prove failed: {e}"));
                return;
            }
        };
        let rust = verify(pre, &proof).map_err(|e| e.to_string());
        let running = proof.pre.status == fraud_vm::state::Status::Running;
        let create = running && proof.code.get(proof.pre.pc as usize) == Some(&0xf0);
        if create || (running && proof.code.len() as u64 == MAX_INITCODE) {
            bounded.push((pre, rust.clone(), proof.clone()));
        }
        if let Some(l1p) = range_fact::l1_form(&proof, LONG_WORDS) {
            let op = match proof.code.get(proof.pre.pc as usize) {
                Some(op) if proof.pre.status == fraud_vm::state::Status::Running => u16::from(*op),
                _ => EXIT,
            };
            steps.push(LongStep {
                pre,
                rust,
                l1: l1p,
                op,
                proof,
            });
        }
    });
    assert!(failures.is_empty(), "{failures:#?}");
    let ops: Vec<u16> = steps.iter().map(|s| s.op).collect();
    assert_eq!(
        ops,
        [
            0x37, 0x5e, 0x5e, 0x20, 0xfa, 0xfa, 0x5e, 0x39, 0xfa, 0x3e, 0x3c, 0xfa, 0xf1, 0x37,
            0xf3, EXIT, 0xf1, 0x37, 0xfd, EXIT, 0xa2
        ],
        "the long steps"
    );

    let missing = "RangeFactMissing(bytes32)".to_string();
    for (i, s) in steps.iter().enumerate() {
        let post = s
            .rust
            .clone()
            .expect("the Rust verifier takes the full proof");
        let name = format!("{:#04x} #{i}", s.op);
        // No fact yet.
        let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
        assert_eq!(
            answer,
            Answer::Revert(missing.clone()),
            "{name} before its job"
        );
        let plan = &s.l1.jobs[0];
        if s.op == 0x20 {
            // A HASH chunk over its bound, or not whole Keccak blocks before the last, is
            // refused (its multiproof is right).
            let read = &s.proof.memory[0];
            for n in [
                range_fact::MAX_HASH_CHUNK + 136,
                range_fact::MAX_HASH_CHUNK - 1,
            ] {
                let sub = range_fact::sub_range(read, read.start, n.div_ceil(32)).expect("inside");
                let chunk = Chunk {
                    n,
                    src: range_fact::encode_range(&sub),
                    dst: Vec::new(),
                };
                assert!(
                    feeder.absorb(l1, &plan.job, &chunk).is_err(),
                    "a HASH chunk of {n} bytes taken"
                );
            }
            // Every chunk but the last: the fact is not complete.
            let (head, last) = plan.chunks.split_at(plan.chunks.len() - 1);
            for c in head {
                feeder.absorb(l1, &plan.job, c).expect("chunk");
            }
            let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
            assert_eq!(answer, Answer::Revert(missing.clone()), "{name} incomplete");
            // A wrong word in the last chunk's source is refused; the right one completes it.
            let mut bad = last[0].clone();
            bad.src[8 + 40] ^= 1;
            assert!(
                feeder.absorb(l1, &plan.job, &bad).is_err(),
                "wrong chunk taken"
            );
            feeder.absorb(l1, &plan.job, &last[0]).expect("last chunk");
            // Absorbing past the end is refused.
            assert!(feeder.absorb(l1, &plan.job, &last[0]).is_err());
        } else if s.op == 0x39 || s.op == 0x3c {
            // (EXTCODECOPY copies the executing account's own code here.)
            // The fact of another job (one byte shorter) does not stand for this step's.
            let short = RangeJob {
                len: plan.job.len - 1,
                ..plan.job.clone()
            };
            let code = fraud_vm::merkle::WordTree::from_bytes(&s.proof.code);
            let source = code.prove_range(0, (s.proof.code.len() as u64).div_ceil(32));
            let other =
                range_fact::plan(short, Some(&source), Some(&s.proof.memory[0])).expect("plan");
            feeder.run(l1, &other);
            let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
            assert_eq!(
                answer,
                Answer::Revert(missing.clone()),
                "{name}: another job's fact"
            );
            // A wrong destination word is refused.
            let mut bad = plan.chunks[0].clone();
            let at = bad.dst.len() - 1;
            bad.dst[at] ^= 0x80;
            assert!(
                feeder.absorb(l1, &plan.job, &bad).is_err(),
                "wrong chunk taken"
            );
            feeder.run(l1, plan);
        } else if matches!(plan.job.flags, range_fact::SHA256 | range_fact::RIPEMD160) {
            digest_job(l1, &mut feeder, s, plan);
        } else if matches!(s.op, 0xf1 | 0xfa | 0xf3 | 0xfd | EXIT) {
            // The fact of another job (one byte shorter) does not stand for this step's; a
            // flipped source word is refused.
            let (source, dest) = job_proofs(&s.proof, s.op, plan.job.len);
            let short = RangeJob {
                len: plan.job.len - 1,
                ..plan.job.clone()
            };
            let other = range_fact::plan(short, Some(&source), Some(&dest)).expect("plan");
            feeder.run(l1, &other);
            let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
            assert_eq!(
                answer,
                Answer::Revert(missing.clone()),
                "{name}: another job's fact"
            );
            let mut bad = plan.chunks[1].clone();
            bad.src[8 + 100] ^= 0x10;
            assert!(
                feeder.absorb(l1, &plan.job, &bad).is_err(),
                "{name}: wrong chunk taken"
            );
            feeder.run(l1, plan);
        } else if s.op == 0xa2 {
            // The fact of another job (the same chunks, a source size one byte smaller) does
            // not stand for this step's; a flipped source word is refused.
            let other = JobPlan {
                job: RangeJob {
                    src_size: plan.job.src_size - 1,
                    ..plan.job.clone()
                },
                ..plan.clone()
            };
            feeder.run(l1, &other);
            let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
            assert_eq!(
                answer,
                Answer::Revert(missing.clone()),
                "{name}: another job's fact"
            );
            let mut bad = plan.chunks[1].clone();
            bad.src[8 + 100] ^= 0x10;
            assert!(
                feeder.absorb(l1, &plan.job, &bad).is_err(),
                "{name}: wrong chunk taken"
            );
            feeder.run(l1, plan);
        } else {
            feeder.run(l1, plan);
        }
        // Identity's copy into its output buffer, the hash of a log's encoding: a second job.
        for (j, other) in s.l1.jobs.iter().enumerate().skip(1) {
            let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
            assert_eq!(
                answer,
                Answer::Revert(missing.clone()),
                "{name} before its job {j}"
            );
            feeder.run(l1, other);
        }
        let (answer, gas) = l1.verify(s.pre, &s.l1.bytes);
        assert_eq!(answer, Answer::Post(post), "{name}: Solidity against Rust");
        if matches!(plan.job.flags, range_fact::SHA256 | range_fact::RIPEMD160) {
            // The same step in full (the input read whole, as before v0.10): its gas.
            let full = s.proof.encode();
            let (answer, full_gas) = l1.verify(s.pre, &full);
            assert_eq!(answer, Answer::Post(post), "{name} in full");
            println!(
                "{name} in full: step {full_gas} gas ({} proof bytes)",
                full.len()
            );
        }
        if s.op == 0xf1 {
            // Called directly by an account that names no oracle, the step verifier that
            // OneStepVerifier forwards calls to has no facts to read.
            let (result, _) = l1.call(callStepsCall {}.abi_encode());
            let calls = match result {
                ExecutionResult::Success { output, .. } => {
                    callStepsCall::abi_decode_returns(output.data()).expect("address")
                }
                other => panic!("callSteps(): {other:?}"),
            };
            let data = stepCall {
                preCommitment: s.pre,
                proof: Bytes::copy_from_slice(&s.l1.bytes),
            }
            .abi_encode();
            let (result, _) = l1.call_to(calls, data);
            assert_eq!(
                answer_of(&result),
                Answer::Revert(missing.clone()),
                "{name}: CallStepVerifier called directly"
            );
        }
        println!(
            "{name}: {} bytes, {} chunks, step {gas} gas ({} proof bytes)",
            s.l1.jobs.iter().map(|p| p.job.len).sum::<u64>(),
            s.l1.jobs.iter().map(|p| p.chunks.len()).sum::<usize>(),
            s.l1.bytes.len()
        );
        assert!(gas < RANGE_TX_GAS, "{name}: step {gas} gas");
        max_step = max_step.max(gas);
        // A marker one word off the step's range is refused.
        let mut off = s.l1.bytes.clone();
        let at = first_memory_entry(&s.proof);
        assert!(
            off[at + 4] & 0x80 != 0,
            "{name}: the first memory entry is a marker"
        );
        off[at + 3] ^= 1;
        let (answer, _) = l1.verify(s.pre, &off);
        assert!(
            answer.is_rejection(),
            "{name}: moved marker gave {answer:?}"
        );
    }
    // The CREATE of the largest initcode and its frame's first step, in full: no fact needed.
    assert!(bounded.len() >= 2, "the CREATE and its initcode's steps");
    for (pre, rust, proof) in bounded.iter().take(3) {
        assert!(
            range_fact::l1_form(proof, LONG_WORDS).is_none(),
            "a bounded step has no L1 form"
        );
        let bytes = proof.encode();
        let (answer, gas) = l1.verify(*pre, &bytes);
        let post = rust.clone().expect("the Rust verifier");
        assert_eq!(
            answer,
            Answer::Post(post),
            "bounded step: Solidity against Rust"
        );
        println!(
            "bounded {}: step {gas} gas ({} proof bytes)",
            if proof.code.len() as u64 == MAX_INITCODE {
                "initcode step"
            } else {
                "CREATE 48 KiB"
            },
            bytes.len()
        );
        assert!(gas < RANGE_TX_GAS, "bounded step {gas} gas");
        max_step = max_step.max(gas);
    }
    println!(
        "{} chunks; largest chunk transaction by job kind: {:?}",
        feeder.chunks, feeder.max_chunk
    );
    for gas in feeder.max_chunk.values() {
        assert!(*gas < RANGE_TX_GAS, "chunk of {gas} gas");
    }
    (
        max_step,
        feeder.max_chunk.values().copied().max().unwrap_or(0),
    )
}

/// The heaviest call each precompile bound allows (SPEC.md §5.15 "Bounds"; also run by
/// `solidity_gas`): ecPairing, G1MSM, G2MSM and PAIRING_CHECK of 128 pairs, modexp at its
/// bounds, blake2f of 4M rounds. Their input is bounded, so it stays in the proof: no step of
/// theirs has an L1 form (no fact), and each step, read whole by both verifiers, fits the bound.
pub(super) fn bounded_precompiles(l1: &mut L1Verifier) {
    // Each step, the precompile's own L1 gas and its proof's calldata included, stays under
    // PRECOMPILE_STEP_GAS, well under the 2^24 cap. The L1 here is Prague, whose modexp price is
    // the L2's; an Osaka L1 charges at most 4,000,000 for an allowed modexp, which the
    // verifier's call gives it, so the step there costs at most the largest difference of the
    // two prices more (3,995,648 − 376,490 for the 256-byte modulus with a 138-byte exponent).
    const PRECOMPILE_STEP_GAS: u64 = 6_000_000;
    const OSAKA_MODEXP_EXTRA: u64 = 3_995_648 - 376_490;
    for (name, data, calls) in super::super::precompile_bound_cases() {
        let allowed: Vec<PrecompileCall> = calls.into_iter().filter(|c| c.ok).collect();
        let case = precompile_case(&data, &allowed);
        // (The CALLDATACOPY that puts the inputs in memory has one.)
        run(&case, |k, state| {
            let running = state.record.status == fraud_vm::state::Status::Running;
            if let Ok((proof, _)) = prove(state) {
                let op = proof.code.get(proof.pre.pc as usize).copied();
                assert!(
                    !running
                        || !matches!(op, Some(0xf1 | 0xf2 | 0xf4 | 0xfa))
                        || range_fact::l1_form(&proof, LONG_WORDS).is_none(),
                    "{name}: the call at step {k} has an L1 form"
                );
            }
        });
        let mut heaviest = Tally::default();
        heaviest.case(l1, &case, false);
        assert!(heaviest.failures.is_empty(), "{:#?}", heaviest.failures);
        println!("{name}, the heaviest calls allowed:");
        heaviest.report();
        let call = heaviest
            .gas
            .iter()
            .filter(|(kind, _)| kind.starts_with("CALL to"))
            .flat_map(|(_, v)| v.iter().map(|(g, _)| *g))
            .max()
            .unwrap_or(0);
        assert!(call > 0, "{name}: no call step measured");
        let worst = if name.ends_with("0x05") {
            println!(
                "{name}: at most {} gas on an Osaka L1",
                call + OSAKA_MODEXP_EXTRA
            );
            call + OSAKA_MODEXP_EXTRA
        } else {
            call
        };
        assert!(
            worst < PRECOMPILE_STEP_GAS && heaviest.max_gas() < PRECOMPILE_STEP_GAS,
            "{name}: {worst} gas (largest step {})",
            heaviest.max_gas()
        );
    }
}

/// The job of a call to sha256 or ripemd160 with a long input, with its rejections: a chunk
/// over the bound or not whole blocks before the last, an incomplete job, a flipped source
/// word, a chunk past the end, and the fact of another job over the same bytes (KECCAK256's,
/// for sha256's input). The fact's digest is the `sha2` / `ripemd` crates' of the input.
fn digest_job(l1: &mut L1Verifier, feeder: &mut Feeder, s: &LongStep, plan: &JobPlan) {
    let missing = Answer::Revert("RangeFactMissing(bytes32)".to_string());
    let job = &plan.job;
    let read = &s.proof.memory[0];
    let first = job.src_offset / 32;
    for n in [range_fact::max_chunk(job.flags) + 64, 100] {
        let sub = range_fact::sub_range(read, first, (job.src_offset + n).div_ceil(32) - first)
            .expect("inside");
        let chunk = Chunk {
            n,
            src: range_fact::encode_range(&sub),
            dst: Vec::new(),
        };
        assert!(
            feeder.absorb(l1, job, &chunk).is_err(),
            "a digest chunk of {n} bytes taken"
        );
    }
    if job.flags == range_fact::SHA256 {
        // KECCAK256 hashed the same bytes under the same memory root just before: that fact
        // is complete and does not stand for this step's.
        let keccak = RangeJob {
            flags: range_fact::HASH,
            ..job.clone()
        };
        assert!(feeder.fact(l1, keccak.id()).0, "KECCAK256's fact");
        let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
        assert_eq!(answer, missing, "sha256 with another job's fact");
    }
    let (head, last) = plan.chunks.split_at(plan.chunks.len() - 1);
    let mut bad = head[1].clone();
    bad.src[8 + 200] ^= 0x04;
    assert!(
        feeder.absorb(l1, job, &head[0]).is_ok() && feeder.absorb(l1, job, &bad).is_err(),
        "a flipped source word taken"
    );
    for c in &head[1..] {
        feeder.absorb(l1, job, c).expect("chunk");
    }
    let (answer, _) = l1.verify(s.pre, &s.l1.bytes);
    assert_eq!(answer, missing, "digest job incomplete");
    feeder.absorb(l1, job, &last[0]).expect("last chunk");
    assert!(feeder.absorb(l1, job, &last[0]).is_err(), "past the end");
    let input: Vec<u8> = read.words.iter().flat_map(|w| w.0).collect();
    let lo = (job.src_offset - read.start * 32) as usize;
    let input = &input[lo..lo + job.len as usize];
    let want = if job.flags == range_fact::SHA256 {
        use sha2::Digest;
        B256::from_slice(&sha2::Sha256::digest(input))
    } else {
        use ripemd::Digest;
        let mut word = B256::ZERO;
        word[12..].copy_from_slice(&ripemd::Ripemd160::digest(input));
        word
    };
    assert_eq!(
        feeder.fact(l1, job.id()),
        (true, want),
        "the oracle's digest"
    );
    assert_eq!(plan.hash, want, "the plan's digest");
}

/// Today's L1 step of sha256 and ripemd160 with the input read whole (no fact) over growing
/// inputs: where it crosses the L1 transaction cap (SPEC.md §3.4.1; `cargo test --release -p
/// fraud-vm --test differential solidity_digest_input_in_full -- --nocapture`).
#[test]
fn solidity_digest_input_in_full_form_gas() {
    const KIB: u64 = 1024;
    let u = U256::from;
    let mut l1 = L1Verifier::deploy();
    let calldata: Vec<u8> = (0..128 * KIB)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    let mut ops: Vec<(u8, Vec<U256>)> = vec![
        (0x37, vec![u(0), u(0), u(128 * KIB)]),
        (0x5e, vec![u(128 * KIB), u(0), u(128 * KIB)]),
        (0x5e, vec![u(256 * KIB), u(0), u(256 * KIB)]),
    ];
    for kib in [16, 64, 128, 256, 384, 512] {
        for to in [2u64, 3] {
            ops.push((
                0xfa,
                vec![u(8_000_000), u(to), u(0), u(kib * KIB), u(600 * KIB), u(32)],
            ));
            ops.push((0x50, vec![]));
        }
    }
    ops.push((0x00, vec![]));
    let ops: Vec<(u8, &[U256])> = ops.iter().map(|(o, v)| (*o, v.as_slice())).collect();
    let case = Case {
        calldata,
        extra_gas: 20_000_000,
        ..Case::program(&program(&ops))
    };
    let mut rows = Vec::new();
    run(&case, |_, state| {
        let running = state.record.status == fraud_vm::state::Status::Running;
        let pre = state.record.commitment();
        let Ok((proof, _)) = prove(state) else {
            return;
        };
        if !running || proof.code.get(proof.pre.pc as usize) != Some(&0xfa) {
            return;
        }
        let (to, len) = (proof.stack[1], proof.stack[3]);
        let post = verify(pre, &proof).expect("the Rust verifier");
        let (answer, gas) = l1.verify(pre, &proof.encode());
        assert_eq!(answer, Answer::Post(post), "precompile {to} on {len} bytes");
        rows.push((to, len, gas));
    });
    assert_eq!(rows.len(), 12, "{rows:?}");
    for (to, len, gas) in rows {
        println!(
            "{} on {} KiB read whole: step {gas} gas{}",
            if to == U256::from(2) {
                "sha256"
            } else {
                "ripemd160"
            },
            len / U256::from(KIB),
            if gas > L1_TX_GAS { " (over 2^24)" } else { "" }
        );
    }
}

/// The source and destination multiproofs of the job of a RETURN, REVERT or call input (memory
/// into the empty tree) or of a frame exit's copy (the output into the caller's memory).
fn job_proofs(
    proof: &fraud_vm::StepProof,
    op: u16,
    len: u64,
) -> (fraud_vm::merkle::RangeProof, fraud_vm::merkle::RangeProof) {
    if op == EXIT {
        return (proof.returndata[0].clone(), proof.memory[0].clone());
    }
    let empty = fraud_vm::merkle::WordTree::new().prove_range(0, len.div_ceil(32));
    (proof.memory[0].clone(), empty)
}

/// The offset of the first memory range entry in `proof`'s encodings (both forms): after the
/// version, the pre-state, the code, the stack items, the rest and the memory list's count.
fn first_memory_entry(proof: &fraud_vm::StepProof) -> usize {
    1 + fraud_vm::state::STATE_ENCODED_LEN
        + 4
        + proof.code.len()
        + 4
        + 32 * proof.stack.len()
        + 1
        + if proof.stack_rest.is_some() { 32 } else { 0 }
        + 4
}

/// The transaction start of a transaction with long calldata in full (SPEC.md §3.4.1, the
/// "transaction start" row; its L1 form is [`solidity_long_transaction_start_in_l1_form`]): the
/// step carries the encoding whole, so its L1 cost grows with the data. Measured in full for op-node's largest recorded transaction (`MAX_L2_TX_SIZE`, 128,000
/// bytes) and for 256 KiB, both of non-zero bytes, and in an OP block a deposit of 300,000
/// bytes and a recorded transaction of 127,800 (whose L1 data fee runs FastLZ over it), with
/// FastLZ's cost alone; both verifiers must agree
/// (`cargo test --release -p fraud-vm --test differential solidity_long_transaction_start --
/// --nocapture`).
#[test]
fn solidity_long_transaction_start_measured() {
    let mut l1 = L1Verifier::deploy();
    for len in [16_000u64, 64_000, 127_800, 256 * 1024] {
        let mut tally = Tally::default();
        let case = Case {
            calldata: (0..len)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
                .collect(),
            extra_gas: 11_000_000,
            ..Case::program(&[0x00])
        };
        tally.boundaries(&mut l1, &case, false);
        assert!(tally.failures.is_empty(), "{len}: {:#?}", tally.failures);
        for (name, v) in tally
            .gas
            .iter()
            .filter(|(n, _)| n.starts_with("transaction start"))
        {
            println!("{name}, {len} bytes of calldata: {v:?} (gas, proof bytes)");
        }
    }
    // An OP block (Isthmus) with a deposit of 300,000 bytes of data and a recorded transaction
    // of 127,800: the deposit pays no L1 data fee, the recorded transaction's start runs FastLZ.
    let mut tally = Tally::default();
    tally.op_block(
        &mut l1,
        &super::super::op_blocks::long_data_block(300_000, 127_800),
        false,
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for (name, v) in tally
        .gas
        .iter()
        .filter(|(n, _)| n.starts_with("transaction start"))
    {
        println!("OP block with long data: {name}: {v:?} (gas, proof bytes)");
    }
    // The L1 data fee of a recorded transaction under Isthmus compresses the whole encoding
    // with FastLZ (`OpFees.l1Fee`): its cost alone, on incompressible and on repetitive bytes.
    let probe = l1.deploy_artifact("FeeProbe", &[]);
    for len in [16_000u64, 64_000, 128_000] {
        for (kind, bytes) in [
            (
                "incompressible",
                (0..len)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
                    .collect::<Vec<u8>>(),
            ),
            ("repetitive", (0..len).map(|i| (i % 7) as u8 + 1).collect()),
        ] {
            let data = compressedLengthCall {
                encoded: Bytes::from(bytes),
            }
            .abi_encode();
            let (result, gas) = l1.call_to(probe, data);
            assert!(
                matches!(result, ExecutionResult::Success { .. }),
                "{result:?}"
            );
            println!("FastLZ of {len} {kind} bytes (FeeProbe.compressedLength): {gas} gas");
        }
    }
}

/// The transaction starts of a block (SPEC.md §5.9), with their pre-commitments.
#[derive(Default)]
struct Starts {
    proofs: Vec<(B256, fraud_vm::StepProof)>,
}

impl fraud_vm::check::BlockObserver for Starts {
    fn boundary(&mut self, kind: &str, pre: B256, proof: &fraud_vm::StepProof) {
        if kind == "TxStart" {
            self.proofs.push((pre, proof.clone()));
        }
    }
}

/// Where `proof`'s encoding has its transaction section (the flag byte), which its L1 form
/// starts at the same offset.
pub(super) fn transaction_section(proof: &fraud_vm::StepProof) -> usize {
    let full = proof.encode();
    let mut without = proof.clone();
    without.transaction = None;
    full.iter()
        .zip(&without.encode())
        .position(|(a, b)| a != b)
        .expect("the section")
}

/// [v0.11] A long transaction start through the Rust verifier in full and the Solidity verifier
/// in its L1 form (SPEC.md §3.4.1): rejected before its facts, then each job run chunk by chunk,
/// then the same post-state; with `mutate`, the rejections of its tampered forms. Returns the
/// step's gas.
fn long_start(
    l1: &mut L1Verifier,
    feeder: &mut Feeder,
    pre: B256,
    proof: &fraud_vm::StepProof,
    what: &str,
    mutate: bool,
) -> u64 {
    let rust = verify(pre, proof).expect("the Rust verifier takes the full proof");
    let form = range_fact::l1_form(proof, LONG_WORDS).expect("a long start has an L1 form");
    let (answer, _) = l1.verify(pre, &form.bytes);
    assert!(
        matches!(&answer, Answer::Revert(e) if e.starts_with("RangeFactMissing")),
        "{what} before its facts: {answer:?}"
    );
    for plan in &form.jobs {
        feeder.run(l1, plan);
        let (complete, hash) = feeder.fact(l1, plan.job.id());
        assert!(
            complete && hash == plan.hash,
            "{what}: the fact of {:?}",
            plan.job
        );
    }
    let (answer, gas) = l1.verify(pre, &form.bytes);
    assert_eq!(answer, Answer::Post(rust), "{what}: the L1 form");
    assert!(
        (form.bytes.len() as u64) < 10_000,
        "{what}: {} bytes",
        form.bytes.len()
    );
    if !mutate {
        return gas;
    }
    // The L1 form's transaction section where the canonical encoding has its flag: 2, u32
    // length, `R_e`, u32 `len(e)`, u32 `len(head)`, the head's range proof, u32 `len(tail)`, the
    // tail's.
    let at = transaction_section(proof);
    assert_eq!(form.bytes[at], 2);
    let u32_at =
        |b: &[u8], i: usize| u32::from_be_bytes(b[i..i + 4].try_into().expect("4")) as usize;
    let head = at + 45;
    let head_count = u32_at(&form.bytes, head + 4);
    let head_siblings = 32 - (head_count as u32 - 1).count_ones() as usize;
    let tail = head + 8 + 32 * (head_count + head_siblings) + 4;
    let mut rejected = |label: &str, bytes: Vec<u8>| {
        let (answer, _) = l1.verify(pre, &bytes);
        assert!(
            matches!(answer, Answer::Revert(_)),
            "{what}, {label}: {answer:?}"
        );
        println!("{what}: {label} rejected: {answer:?}");
    };
    let flipped = |i: usize| {
        let mut b = form.bytes.clone();
        b[i] ^= 1;
        b
    };
    rejected("a flipped word in the head", flipped(head + 8 + 5));
    if u32_at(&form.bytes, tail - 4) > 0 {
        rejected("a flipped word in the tail", flipped(tail + 8 + 31));
    }
    rejected("another len(e)", flipped(at + 40));
    rejected("another len(e), by a word", flipped(at + 40 - 1));
    rejected(
        "another split (the data's jobs, its zero count's included, are others)",
        flipped(at + 44),
    );
    // A HASH fact that is not the list's word: the L1 form of another encoding (one data byte
    // changed) whose jobs all ran, with the honest word proof.
    let mut other = proof.clone();
    if let Some((enc, _)) = other.transaction.as_mut() {
        let i = enc.len() / 2;
        enc[i] ^= 0x40;
    }
    if let Some(other_form) = range_fact::l1_form(&other, LONG_WORDS) {
        for plan in &other_form.jobs {
            if plan.job.flags != 32 {
                feeder.run(l1, plan);
            }
        }
        let (answer, _) = l1.verify(pre, &other_form.bytes);
        assert_eq!(
            answer,
            Answer::Revert("BadTransaction()".into()),
            "{what}: a HASH fact other than the list's word"
        );
    }
    gas
}

/// [v0.11] Long transaction starts in the L1 form (SPEC.md §3.4.1): under Prague a legacy call
/// with 127,800 bytes of non-zero data and a creation with the largest initcode (EIP-3860),
/// and in an OP block a deposit with 300,000 bytes; each step under 1M gas, each chunk under 5M
/// (`cargo test --release -p fraud-vm --test differential solidity_long_transaction_start --
/// --nocapture`).
#[test]
fn solidity_long_transaction_start_in_l1_form() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let bytes = |n: u64| -> Vec<u8> {
        (0..n)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .collect()
    };
    let call = Case {
        calldata: bytes(127_800),
        extra_gas: 11_000_000,
        ..Case::program(&[0x00])
    };
    // Initcode that stops at once, then non-zero bytes up to EIP-3860's bound.
    let mut initcode = bytes(MAX_INITCODE);
    initcode[0] = 0x00;
    let create = Case {
        calldata: initcode,
        extra_gas: 3_000_000,
        create: true,
        to: CALLER.create(0),
        ..Case::program(&[])
    };
    // An EIP-1559 call with an access list: the tail carries the list, the signing payload
    // its type byte.
    let typed = Case {
        eip1559: true,
        ..call.clone()
    };
    let mut rows = Vec::new();
    for (what, case, mutate) in [
        ("Prague call, 127,800 bytes", call, true),
        (
            "Prague EIP-1559 call with an access list, 127,800 bytes",
            typed,
            false,
        ),
        ("Prague creation, 49,152 bytes", create, false),
    ] {
        let obs = check(&case, false);
        assert!(obs.failures.is_empty(), "{what}: {:?}", obs.failures);
        let (pre, proof) = obs
            .boundary_proofs
            .iter()
            .map(|(pre, b)| (*pre, fraud_vm::StepProof::decode(b).expect("decodes")))
            .find(|(_, p)| p.pre.status == fraud_vm::state::Status::Idle && p.transaction.is_some())
            .expect("the start");
        let gas = long_start(&mut l1, &mut feeder, pre, &proof, what, mutate);
        rows.push((what.to_string(), gas));
    }
    let block = super::super::op_blocks::long_data_block(300_000, 1_000);
    let starts =
        super::super::op_blocks::run_recorded(&block, Starts::default()).expect("the block checks");
    let (pre, proof) = starts
        .proofs
        .iter()
        .find(|(_, p)| {
            p.transaction
                .as_ref()
                .is_some_and(|(e, _)| e.len() > 300_000)
        })
        .expect("the long deposit's start");
    let gas = long_start(
        &mut l1,
        &mut feeder,
        *pre,
        proof,
        "OP deposit, 300,000 bytes",
        true,
    );
    rows.push(("OP deposit, 300,000 bytes".into(), gas));
    for (what, gas) in &rows {
        println!("transaction start in the L1 form, {what}: step {gas} gas");
        // The access list's accounts and slots are proved and written as in full.
        let bound = if what.contains("access list") {
            1_200_000
        } else {
            1_000_000
        };
        assert!(*gas < bound, "{what}: {gas}");
    }
    feeder.print_and_bound_chunks("");
}

/// [v0.11] A recorded transaction of 127,800 bytes in an OP block in the L1 form: its L1 data
/// fee reads the FLZ fact of its encoding (SPEC.md §3.4.1).
#[test]
fn solidity_long_transaction_start_recorded_op() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let block = super::super::op_blocks::long_data_block(1_000, 127_800);
    let starts =
        super::super::op_blocks::run_recorded(&block, Starts::default()).expect("the block checks");
    let (pre, proof) = starts
        .proofs
        .iter()
        .find(|(_, p)| {
            p.transaction
                .as_ref()
                .is_some_and(|(e, _)| e.len() > 127_800 && e[0] == 2)
        })
        .expect("the long recorded transaction's start");
    let gas = long_start(
        &mut l1,
        &mut feeder,
        *pre,
        proof,
        "OP recorded, 127,800 bytes",
        true,
    );
    println!("transaction start in the L1 form, OP recorded, 127,800 bytes: step {gas} gas");
    println!("largest chunk by job kind: {:?}", feeder.max_chunk);
    assert!(gas < 1_000_000);
}

/// The gas of a copy just below and above the L1 form's threshold, and of the precompile
/// inputs' sizes (20 KiB, 49,152 bytes): a CALLDATACOPY of `n` non-zero calldata bytes to
/// memory, in full and in the L1 form the challenger sends (SPEC.md §3.4.1), with its chunks
/// (`cargo test --release -p fraud-vm --test differential solidity_copy_threshold_gas --
/// --nocapture`). Every step stays under 1M gas.
#[test]
fn solidity_copy_threshold_gas() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let u = U256::from;
    let mut worst = 0u64;
    for n in [
        4_096u64, 8_160, 8_192, 8_224, 12_288, 16_352, 16_384, 16_416, 20_480, 49_152,
    ] {
        let calldata: Vec<u8> = (0..n)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .collect();
        let code = program(&[(0x37, &[u(0), u(0), u(n)]), (0x00, &[])]);
        let case = Case {
            calldata,
            extra_gas: 2_000_000,
            ..Case::program(&code)
        };
        let mut copy = None;
        run(&case, |_, state| {
            let running = state.record.status == fraud_vm::state::Status::Running;
            if let Ok((proof, _)) = prove(state)
                && running
                && proof.code.get(proof.pre.pc as usize) == Some(&0x37)
            {
                copy = Some((state.record.commitment(), proof));
            }
        });
        let (pre, proof) = copy.expect("the CALLDATACOPY step");
        let post = verify(pre, &proof).expect("the Rust verifier takes it");
        let full = proof.encode();
        let (answer, full_gas) = l1.verify(pre, &full);
        assert_eq!(answer, Answer::Post(post), "{n} bytes in full");
        let sent = match range_fact::l1_form(&proof, LONG_WORDS) {
            Some(form) => {
                let mut chunk_gas = Vec::new();
                for plan in &form.jobs {
                    for c in &plan.chunks {
                        chunk_gas.push(feeder.absorb(&mut l1, &plan.job, c).expect("chunk"));
                    }
                }
                let (answer, gas) = l1.verify(pre, &form.bytes);
                assert_eq!(answer, Answer::Post(post), "{n} bytes in the L1 form");
                println!(
                    "CALLDATACOPY of {n} bytes: in full {full_gas} gas ({} proof bytes); \
                     L1 form {gas} gas ({} bytes), chunks {chunk_gas:?}",
                    full.len(),
                    form.bytes.len()
                );
                gas
            }
            None => {
                println!(
                    "CALLDATACOPY of {n} bytes: in full {full_gas} gas ({} proof bytes), sent so",
                    full.len()
                );
                full_gas
            }
        };
        worst = worst.max(sent);
    }
    println!("largest CALLDATACOPY step sent: {worst} gas");
    assert!(worst < 1_000_000, "{worst} gas");
}

/// The oracle's Keccak sponge (`KeccakSponge` in the compiled `RangeOracle`) equals
/// `keccak256` for random lengths (one byte to three chunks and more, across the 136-byte
/// block's edges), random source offsets and sizes (the bytes past the size read as zero) and
/// random chunkings (each chunk but the last a random number of whole blocks up to
/// `MAX_HASH_CHUNK`); every chunk a committed L1 transaction.
#[test]
fn solidity_hash_job_sponge_matches_keccak_on_random_chunkings() {
    use proptest::collection::vec;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let mut l1 = L1Verifier::deploy();
    let feeder = RefCell::new(Feeder::new(&mut l1));
    let l1 = RefCell::new(l1);
    let most_blocks = (range_fact::MAX_HASH_CHUNK / 136) as usize;
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop_oneof![
            1usize..300,
            (0usize..6).prop_flat_map(|k| (136 * k).saturating_sub(2)..136 * k + 3),
            1usize..3 * range_fact::MAX_HASH_CHUNK as usize + 300,
        ]
        .prop_flat_map(|len| (vec(any::<u8>(), len.max(1)), 0..=len.max(1))),
        0u64..100,
        vec(1..=most_blocks, 1..12),
    );
    runner
        .run(&strategy, |((bytes, keep), offset, cuts)| {
            let len = bytes.len() as u64;
            let mut source = vec![0xa5u8; offset as usize];
            source.extend_from_slice(&bytes);
            let tree = fraud_vm::merkle::WordTree::from_bytes(&source);
            let job = RangeJob {
                src_root: tree.root(),
                src_offset: offset,
                src_size: offset + keep as u64,
                len,
                flags: range_fact::HASH,
                dst_root: B256::ZERO,
                dst_offset: 0,
            };
            let mut expected = bytes[..keep].to_vec();
            expected.resize(bytes.len(), 0);
            let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
            let mut done = 0u64;
            for k in 0.. {
                let n = (136 * cuts[k % cuts.len()] as u64).min(len - done);
                let from = offset + done;
                let to = (from + n).min(job.src_size);
                let src = if from < to {
                    let first = from / 32;
                    range_fact::encode_range(&tree.prove_range(first, to.div_ceil(32) - first))
                } else {
                    Vec::new()
                };
                let chunk = Chunk {
                    n,
                    src,
                    dst: Vec::new(),
                };
                let gas = feeder
                    .absorb(&mut l1, &job, &chunk)
                    .map_err(|e| TestCaseError::fail(format!("chunk {k} ({n} bytes): {e}")))?;
                prop_assert!(gas < RANGE_TX_GAS, "{gas}");
                done += n;
                if done == len {
                    break;
                }
            }
            prop_assert_eq!(feeder.fact(&mut l1, job.id()), (true, keccak256(&expected)));
            Ok(())
        })
        .expect("the sponge equals keccak256");
    let feeder = feeder.borrow();
    println!("{} chunks; largest: {:?}", feeder.chunks, feeder.max_chunk);
    assert!(feeder.chunks >= 40, "{} chunks", feeder.chunks);
}

/// An access list of `addresses` distinct absent addresses and `slots` distinct keys spread over
/// them in turn (the Prague cases' list; `op_blocks::access_list_block` builds the same shape).
fn wide_access_list(addresses: usize, slots: usize) -> Vec<(Address, Vec<U256>)> {
    let addresses = addresses.max(1);
    let mut list: Vec<(Address, Vec<U256>)> = (0..addresses)
        .map(|i| {
            (
                Address::left_padding_from(&(0xa1_0000u64 + i as u64).to_be_bytes()),
                Vec::new(),
            )
        })
        .collect();
    for k in 0..slots {
        list[k % addresses]
            .1
            .push(U256::from_be_bytes(keccak256((k as u64).to_be_bytes()).0));
    }
    list
}

/// The transaction starts of an OP block whose encoding's first byte is `kind`, with their
/// pre-commitments; the block's failure if it does not check.
fn op_starts(block: &[Vec<u8>], kind: u8) -> Result<Vec<(B256, fraud_vm::StepProof)>, String> {
    let recorded =
        super::super::op_blocks::run_recorded(block, super::boundary::BoundarySteps::default())?;
    Ok(recorded
        .proofs
        .into_iter()
        .filter(|(k, _, p)| {
            k == "TxStart"
                && p.transaction
                    .as_ref()
                    .is_some_and(|(e, _)| e.first() == Some(&kind))
        })
        .map(|(_, pre, p)| (pre, p))
        .collect())
}

/// A transaction start through both verifiers: in full (the gas, `None` past what `compare_step`
/// answers) and, when `range_fact::l1_form` gives one, in its L1 form after its jobs (its gas,
/// the same post-state as the Rust verifier's).
fn start_in_both_forms(
    l1: &mut L1Verifier,
    feeder: &mut Feeder,
    pre: B256,
    proof: &fraud_vm::StepProof,
    what: &str,
) -> (u64, Option<u64>) {
    use super::boundary::compare_step;
    let steps = l1.address;
    let full = match compare_step(l1, steps, pre, &proof.encode()) {
        Ok(Some(gas)) => gas,
        other => panic!("{what} in full: {other:?}"),
    };
    let form = range_fact::l1_form(proof, LONG_WORDS).map(|form| {
        let rust = verify(pre, proof).expect("the Rust verifier takes the full proof");
        feeder.run_missing(l1, &form.jobs);
        let (answer, gas) = l1.verify(pre, &form.bytes);
        assert_eq!(answer, Answer::Post(rust), "{what}: the L1 form");
        gas
    });
    (full, form)
}

/// [v0.15] The start's sub-steps of an OP block (SPEC.md §5.9), with their pre-commitments.
fn op_sub_steps(block: &[Vec<u8>]) -> Result<Vec<(B256, fraud_vm::StepProof)>, String> {
    let recorded =
        super::super::op_blocks::run_recorded(block, super::boundary::BoundarySteps::default())?;
    Ok(recorded
        .proofs
        .into_iter()
        .filter(|(k, _, _)| k == "TxEntries")
        .map(|(_, pre, p)| (pre, p))
        .collect())
}

/// Every sub-step of `proofs` through both verifiers, which must agree: how many there are and
/// the largest gas among them.
fn worst_sub_step(
    l1: &mut L1Verifier,
    proofs: &[(B256, fraud_vm::StepProof)],
    what: &str,
) -> (usize, u64) {
    use super::boundary::compare_step;
    let steps = l1.address;
    let mut worst = 0;
    for (i, (pre, p)) in proofs.iter().enumerate() {
        match compare_step(l1, steps, *pre, &p.encode()) {
            Ok(Some(gas)) => worst = worst.max(gas),
            other => panic!("{what}, sub-step {i}: {other:?}"),
        }
    }
    (proofs.len(), worst)
}

/// Issue 6: the transaction start of an EIP-1559 call with short data and an access list of
/// 1 / 100 / 500 / 2,000 keys and of 300 addresses, under Prague (the cases' block) and under
/// Isthmus (a recorded OP transaction, whose L1 data fee runs FastLZ over the whole encoding,
/// or reads the FLZ fact in the L1 form), and of an EIP-7702 transaction with 20 / 100
/// authorizations by fresh authorities (Isthmus): both verifiers agree on the head and [v0.15]
/// on every sub-step, the head's gas (in full and in the L1 form) and the worst sub-step's are
/// printed, and every sub-step stays under 1M gas
/// (`cargo test --release -p fraud-vm --test differential solidity_wide_start_gas --
/// --nocapture`).
#[test]
fn solidity_wide_start_gas() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let probe = l1.deploy_artifact("FeeProbe", &[]);
    let starts = |block: &[Vec<u8>], kind: u8| op_starts(block, kind).expect("the block checks");
    let mut worst = 0u64;
    // [v0.16] The head as the prover sends it: the access list's L1 form past 16 entries.
    let mut worst_head = 0u64;
    let cases = [
        (1usize, 1usize),
        (1, 15),
        (1, 100),
        (10, 500),
        (20, 2000),
        (50, 10_000),
        (300, 0),
    ];
    for (addresses, slots) in cases {
        let what = format!("{addresses} addresses, {slots} keys");
        // Prague: the cases' block, the list on an EIP-1559 call to a contract that stops.
        let case = Case {
            eip1559: true,
            list: Arc::new(wide_access_list(addresses, slots)),
            ..Case::program(&[0x00])
        };
        let obs = check(&case, false);
        assert!(
            obs.failures.is_empty(),
            "Prague, {what}: {:?}",
            obs.failures
        );
        let decoded: Vec<(B256, fraud_vm::StepProof)> = obs
            .boundary_proofs
            .iter()
            .map(|(pre, b)| (*pre, fraud_vm::StepProof::decode(b).expect("decodes")))
            .collect();
        let (pre, proof) = decoded
            .iter()
            .find(|(_, p)| p.pre.status == Status::Idle && p.transaction.is_some())
            .cloned()
            .expect("the start");
        let subs: Vec<_> = decoded
            .into_iter()
            .filter(|(_, p)| p.pre.status == Status::Starting)
            .collect();
        let len = proof.transaction.as_ref().map_or(0, |(e, _)| e.len());
        let (full, form) = start_in_both_forms(&mut l1, &mut feeder, pre, &proof, &what);
        let (n, sub) = worst_sub_step(&mut l1, &subs, &what);
        worst = worst.max(sub);
        println!(
            "Prague start, {what} ({len}-byte encoding): head in full {full} gas, L1 form \
             {form:?}; {n} sub-steps, the worst {sub} gas"
        );
        worst_head = worst_head.max(form.unwrap_or(full));
        if slots > 3_800 {
            // An OP recorded transaction is at most 128,000 bytes (MAX_L2_TX_SIZE).
            continue;
        }
        // Isthmus: a recorded EIP-1559 transaction of an OP block.
        let block = super::super::op_blocks::access_list_block(addresses, slots);
        let found = starts(&block, 2);
        assert_eq!(found.len(), 1, "one EIP-1559 start");
        let (pre, proof) = &found[0];
        let e = &proof.transaction.as_ref().expect("the encoding").0;
        let (full, form) = start_in_both_forms(&mut l1, &mut feeder, *pre, proof, &what);
        let data = compressedLengthCall {
            encoded: Bytes::from(e.clone()),
        }
        .abi_encode();
        let (_, flz) = l1.call_to(probe, data);
        let subs = op_sub_steps(&block).expect("the block checks");
        let (n, sub) = worst_sub_step(&mut l1, &subs, &what);
        worst = worst.max(sub);
        println!(
            "Isthmus start, {what} ({}-byte encoding): head in full {full} gas (FastLZ of the \
             encoding alone {flz}), L1 form {form:?}; {n} sub-steps, the worst {sub} gas",
            e.len()
        );
        worst_head = worst_head.max(form.unwrap_or(full));
    }
    feeder.print_and_bound_chunks("the starts' jobs: ");
    let entries = feeder.max_chunk.get("ENTRIES").copied().unwrap_or_default();
    assert!(
        entries > 0 && entries < 1_000_000,
        "the worst ENTRIES chunk takes {entries} gas"
    );
    assert!(
        worst_head < 1_000_000,
        "the worst access-list head takes {worst_head} gas"
    );
    for n in [20u8, 100] {
        let block = super::super::op_blocks::delegation_block(n);
        let found = starts(&block, 4);
        assert_eq!(found.len(), 1, "one EIP-7702 start");
        let (pre, proof) = &found[0];
        let what = format!("{n} authorizations");
        let (full, form) = start_in_both_forms(&mut l1, &mut feeder, *pre, proof, &what);
        let subs = op_sub_steps(&block).expect("the block checks");
        let (count, sub) = worst_sub_step(&mut l1, &subs, &what);
        worst = worst.max(sub);
        println!(
            "Isthmus start, {what}: head in full {full} gas, L1 form {form:?}; {count} \
             sub-steps, the worst {sub} gas"
        );
    }
    assert!(worst < 1_000_000, "the worst sub-step takes {worst} gas");
}

/// [v0.15] The tamperings of a start sub-step (SPEC.md §5.9), each of which both verifiers
/// must reject: a group one entry word short or long, two entries swapped, an entry repeated,
/// an entry's word flipped, another cursor (`pc`, `stack_len`) and, for the top frame's entry,
/// another `auth_refund` in the transaction environment.
fn sub_step_tamperings(proof: &fraud_vm::StepProof) -> Vec<(&'static str, fraud_vm::StepProof)> {
    let mut out = Vec::new();
    let mut with = |what, f: &dyn Fn(&mut fraud_vm::StepProof)| {
        let mut p = proof.clone();
        f(&mut p);
        out.push((what, p));
    };
    let n = proof.stack.len();
    if n > 0 {
        with("a word short", &|p| {
            p.stack.pop();
        });
        with("a word more", &|p| p.stack.push(U256::ZERO));
        with("a flipped entry word", &|p| p.stack[n - 1] ^= U256::from(1));
    }
    // Swapping or repeating two equal entries (the same authorization signed twice) changes
    // nothing, so it is no tampering.
    if n >= 4 && proof.stack[0..2] != proof.stack[2..4] {
        with("two entries swapped", &|p| {
            p.stack.swap(0, 2);
            p.stack.swap(1, 3);
        });
        with("an entry repeated", &|p| {
            p.stack[2] = p.stack[0];
            p.stack[3] = p.stack[1];
        });
    }
    with("another pc", &|p| p.pre.pc ^= 1);
    with("another stack length", &|p| p.pre.stack_len += 2);
    if proof.tx_env.is_some() {
        with("another auth_refund", &|p| {
            if let Some(env) = p.tx_env.as_mut() {
                env.auth_refund += 12_500;
            }
        });
    }
    out
}

/// [v0.15] Random access lists (0–5 addresses, 0–40 keys) and authorization lists (1–12, of
/// every kind: valid, clearing, for another chain, with a wrong nonce, by fresh authorities)
/// on one EIP-7702 transaction of an OP block: the start takes `⌈warm / 12⌉ + ⌈auths / 4⌉ + 1`
/// sub-steps (none without entries; an authorization for another chain has no entry), each of
/// which Solidity answers with the Rust post-state, and every tampered sub-step is rejected by
/// both. [v0.16] The head, in full and (past 16 access-list entries) in its L1 form with the
/// list read from the ENTRIES fact over the authorizations' stack, gives the Rust post-state.
#[test]
fn solidity_random_start_sub_steps_agree() {
    use super::super::op_blocks::{Auth, auth, entries_block};
    use super::boundary::compare_step;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let l1 = RefCell::new(L1Verifier::deploy());
    let feeder = RefCell::new(Feeder::new(&mut l1.borrow_mut()));
    let forms = RefCell::new(0u32);
    let seen = RefCell::new((0usize, 0usize));
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(0usize..6, 0usize..41, prop::collection::vec(auth(), 1..13)),
            |(addresses, slots, auths)| {
                let slots = if addresses == 0 { 0 } else { slots };
                let with_authority = auths
                    .iter()
                    .filter(|a| !matches!(a, Auth::WrongChain(_)))
                    .count();
                let warm = addresses + slots;
                let expected = if warm + with_authority == 0 {
                    0
                } else {
                    warm.div_ceil(12) + with_authority.div_ceil(4) + 1
                };
                let what = format!("{addresses} addresses, {slots} keys, {auths:?}");
                let block = entries_block(addresses, slots, auths);
                let subs = op_sub_steps(&block).map_err(TestCaseError::fail)?;
                prop_assert_eq!(subs.len(), expected, "{}", what);
                let mut l1 = l1.borrow_mut();
                let (pre, head) = op_starts(&block, 4)
                    .map_err(TestCaseError::fail)?
                    .pop()
                    .ok_or_else(|| TestCaseError::fail("no EIP-7702 start"))?;
                let (_, form) =
                    start_in_both_forms(&mut l1, &mut feeder.borrow_mut(), pre, &head, &what);
                prop_assert_eq!(form.is_some(), addresses + slots > range_fact::MANY_ENTRIES);
                *forms.borrow_mut() += u32::from(form.is_some());
                let steps = l1.address;
                for (i, (pre, proof)) in subs.iter().enumerate() {
                    let answer = compare_step(&mut l1, steps, *pre, &proof.encode());
                    prop_assert!(
                        matches!(answer, Ok(Some(_))),
                        "{what}, sub-step {i}: {answer:?}"
                    );
                    for (label, p) in sub_step_tamperings(proof) {
                        let answer = compare_step(&mut l1, steps, *pre, &p.encode());
                        prop_assert!(
                            matches!(answer, Ok(None)),
                            "{what}, sub-step {i}, {label}: {answer:?}"
                        );
                        seen.borrow_mut().1 += 1;
                    }
                    seen.borrow_mut().0 += 1;
                }
                Ok(())
            },
        )
        .expect("both verifiers agree on every sub-step and reject every tampered one");
    let (steps, tampered) = *seen.borrow();
    println!(
        "{steps} sub-steps, {tampered} tampered ones rejected; {} heads in the access list's L1 form",
        forms.borrow()
    );
    assert!(steps >= 12, "{steps} sub-steps");
}

/// [v0.16] A start whose data is short and whose access list is long (400 keys) takes the L1
/// form with the list's payload absent (SPEC.md §3.4.1; v0.14 took it with no byte absent):
/// rejected before its facts, then the Rust verifier's post-state once its jobs ran (the HASH
/// of the encoding, the ENTRIES job of the list, the signing payload's WRITE and HASH, and under
/// Isthmus the FLZ job); a flipped word in the head or the tail, another `len(e)` and another
/// split are rejected.
#[test]
fn solidity_long_access_list_start_in_l1_form() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let (pre, isthmus) = op_starts(&super::super::op_blocks::access_list_block(4, 400), 2)
        .expect("the block checks")
        .pop()
        .expect("the EIP-1559 start");
    let case = Case {
        eip1559: true,
        list: Arc::new(wide_access_list(4, 400)),
        ..Case::program(&[0x00])
    };
    let obs = check(&case, false);
    assert!(obs.failures.is_empty(), "{:?}", obs.failures);
    let prague = obs
        .boundary_proofs
        .iter()
        .map(|(pre, b)| (*pre, fraud_vm::StepProof::decode(b).expect("decodes")))
        .find(|(_, p)| p.pre.status == Status::Idle && p.transaction.is_some())
        .expect("the start");
    for (what, pre, proof, jobs) in [
        ("Isthmus", pre, &isthmus, 5usize),
        ("Prague", prague.0, &prague.1, 4),
    ] {
        let rust = verify(pre, proof).expect("the Rust verifier takes the full proof");
        let form = range_fact::l1_form(proof, LONG_WORDS).expect("a long encoding has an L1 form");
        assert_eq!(
            form.jobs.len(),
            jobs,
            "{what}: HASH, ENTRIES, WRITE, HASH (and FLZ)"
        );
        assert_eq!(form.jobs[1].job.flags, range_fact::ENTRIES, "{what}");
        let (answer, _) = l1.verify(pre, &form.bytes);
        assert!(
            matches!(&answer, Answer::Revert(e) if e.starts_with("RangeFactMissing")),
            "{what} before its facts: {answer:?}"
        );
        feeder.run_missing(&mut l1, &form.jobs);
        let (answer, gas) = l1.verify(pre, &form.bytes);
        assert_eq!(answer, Answer::Post(rust), "{what}: the L1 form");
        println!("{what}, 4 addresses and 400 keys: L1 form {gas} gas");
        let at = transaction_section(proof);
        assert_eq!(form.bytes[at], 2);
        let head = at + 45;
        let head_count = u32::from_be_bytes(form.bytes[head + 4..head + 8].try_into().expect("4"));
        let head_siblings = 32 - (head_count - 1).count_ones() as usize;
        let tail = head + 8 + 32 * (head_count as usize + head_siblings) + 4;
        for (label, i) in [
            ("a flipped word in the head", head + 8 + 5),
            ("a flipped word in the tail", tail + 8 + 31),
            ("another len(e)", at + 40),
            ("another split", at + 44),
        ] {
            let mut bytes = form.bytes.clone();
            bytes[i] ^= 1;
            let (answer, _) = l1.verify(pre, &bytes);
            assert!(
                matches!(answer, Answer::Revert(_)),
                "{what}, {label}: {answer:?}"
            );
        }
    }
}

/// [v0.14] Random access-list sizes in an OP block (1–24 addresses, 0–400 keys, so that the
/// encoding is sometimes short, sometimes past `LONG_WORDS` words): the start in full and, when
/// `range_fact::l1_form` gives one, in its L1 form after its jobs, give the Rust verifier's
/// post-state; a byte flipped at random in the L1 form's transaction witness never gives
/// another post-state.
#[test]
fn solidity_random_access_list_starts_agree() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let l1 = RefCell::new(L1Verifier::deploy());
    let feeder = RefCell::new(Feeder::new(&mut l1.borrow_mut()));
    let forms = RefCell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(
                1usize..24,
                prop_oneof![0usize..240, 240usize..400],
                any::<prop::sample::Index>(),
            ),
            |(addresses, slots, flip)| {
                let block = super::super::op_blocks::access_list_block(addresses, slots);
                let (pre, proof) = op_starts(&block, 2)
                    .map_err(TestCaseError::fail)?
                    .pop()
                    .ok_or_else(|| TestCaseError::fail("no EIP-1559 start"))?;
                let (pre, proof) = (&pre, &proof);
                let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
                let what = format!("{addresses} addresses, {slots} keys");
                let rust = verify(*pre, proof).map_err(|e| TestCaseError::fail(e.to_string()))?;
                start_in_both_forms(&mut l1, &mut feeder, *pre, proof, &what);
                if let Some(form) = range_fact::l1_form(proof, LONG_WORDS) {
                    *forms.borrow_mut() += 1;
                    let at = transaction_section(proof);
                    let blob = u32::from_be_bytes(form.bytes[at + 1..at + 5].try_into().expect("4"))
                        as usize;
                    let mut bytes = form.bytes.clone();
                    bytes[at + 5 + flip.index(blob)] ^= 0x10;
                    let (answer, _) = l1.verify(*pre, &bytes);
                    prop_assert!(
                        !matches!(&answer, Answer::Post(p) if *p != rust),
                        "{what}: a flipped byte gave {answer:?}"
                    );
                }
                Ok(())
            },
        )
        .expect("both verifiers agree on every start");
    let forms = *forms.borrow();
    println!("{forms} of 16 starts took the L1 form");
    assert!(forms >= 1, "{forms} L1 forms");
}

/// [v0.16] The ENTRIES job (SPEC.md §3.4.1, §5.9) over random access lists (1–11 items of 0–2
/// or 0–150 keys) inside a random encoding, over a random stack below, in random chunk sizes:
/// the L1 oracle and Rust (`range_fact::EntriesRun`) give the same fact, whose root is the
/// stack the start head pushes (`step::start_entries`) and whose hash the counts. At a random
/// chunk a tampered one (a state or hint byte, a source word, a cut one byte off, a hint short
/// or extra) is refused by both, and the right chunk still goes through after it. Every chunk
/// is a committed L1 transaction; the largest is printed and bounded under 1M gas
/// (`cargo test --release -p fraud-vm --test differential solidity_entries_job -- --nocapture`).
#[test]
fn solidity_entries_job_agrees_with_rust() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let mut l1 = L1Verifier::deploy();
    let feeder = RefCell::new(Feeder::new(&mut l1));
    let l1 = RefCell::new(l1);
    let refused = RefCell::new(0u32);
    let taken = RefCell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let item = (
        any::<[u8; 20]>(),
        prop_oneof![
            prop::collection::vec(any::<[u8; 32]>(), 0..3),
            prop::collection::vec(any::<[u8; 32]>(), 0..150),
        ],
    );
    let strategy = (
        prop::collection::vec(item, 1..12),
        0usize..80,
        64u64..=range_fact::MAX_ENTRIES_CHUNK,
        any::<[u8; 32]>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0usize..5,
    );
    runner
        .run(&strategy, |(items, pad, most, below, pick, byte, how)| {
            let list: Vec<(Address, Vec<U256>)> = items
                .into_iter()
                .map(|(a, k)| {
                    (
                        Address::from(a),
                        k.into_iter().map(U256::from_be_bytes).collect(),
                    )
                })
                .collect();
            let (e, offset, len) = entries_encoding(&list, pad);
            let below = B256::from(below);
            let plan = range_fact::entries_plan(&e, offset, len, below, most)
                .ok_or_else(|| TestCaseError::fail("no plan"))?;
            let tx = fraud_vm::tx::TxRecord {
                access_list: list.clone(),
                ..Default::default()
            };
            let (words, _) = fraud_vm::step::start_entries(&tx, U256::ZERO)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let root = words
                .iter()
                .rev()
                .fold(below, |r, w| fraud_vm::state::stack_push(r, *w));
            let keys: u64 = list.iter().map(|(_, k)| k.len() as u64).sum();
            let counts = B256::from((U256::from(list.len()) << 128) | U256::from(keys));
            prop_assert_eq!((plan.hash, plan.dst_result), (counts, root));

            let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
            let mut run = range_fact::EntriesRun::new(plan.job.clone());
            let k = pick.index(plan.chunks.len());
            for (i, chunk) in plan.chunks.iter().enumerate() {
                if i == k {
                    let mut bad = chunk.clone();
                    match how {
                        0 => {
                            // A state byte, or (half the time) a hint's.
                            let at = if pick.index(2) == 0 && bad.dst.len() > 224 {
                                224 + byte.index(bad.dst.len() - 224)
                            } else {
                                byte.index(bad.dst.len())
                            };
                            bad.dst[at] ^= 1;
                        }
                        1 => {
                            let at = 8 + byte.index(bad.src.len() - 8);
                            bad.src[at] ^= 0x40;
                        }
                        2 => bad.n += 1,
                        3 if bad.dst.len() > 224 => bad.dst.truncate(bad.dst.len() - 32),
                        _ => bad.dst.extend(U256::from(1).to_be_bytes::<32>()),
                    }
                    // A hint's byte may give a state the oracle takes: it must lead nowhere.
                    let mut rust = run.clone();
                    let (r, sol) = (rust.absorb(&bad), feeder.absorb(&mut l1, &plan.job, &bad));
                    prop_assert_eq!(r.is_ok(), sol.is_ok(), "chunk {}: {:?} {:?}", i, r, sol);
                    if r.is_ok() {
                        prop_assert!(how == 0 && bad.dst[..224] == chunk.dst[..224]);
                        prop_assert!(
                            dead_end(&e, offset, &plan, i, &bad),
                            "a tampered hint leads to a fact"
                        );
                        *taken.borrow_mut() += 1;
                    }
                    *refused.borrow_mut() += 1;
                }
                run.absorb(chunk)
                    .map_err(|e| TestCaseError::fail(format!("Rust, chunk {i}: {e}")))?;
                let gas = feeder
                    .absorb(&mut l1, &plan.job, chunk)
                    .map_err(|e| TestCaseError::fail(format!("Solidity, chunk {i}: {e}")))?;
                prop_assert!(
                    gas < 1_000_000,
                    "chunk {} of {} bytes: {} gas",
                    i,
                    chunk.n,
                    gas
                );
            }
            prop_assert_eq!(run.fact(), Some((counts, root)));
            prop_assert_eq!(
                feeder.fact_with_result(&mut l1, plan.job.id()),
                (true, counts, root)
            );
            Ok(())
        })
        .expect("the oracle and Rust agree on every ENTRIES job");
    let mut feeder = feeder.borrow_mut();
    println!(
        "{} chunks, {} tampered ones ({} taken, each leading nowhere); largest: {:?}",
        feeder.chunks,
        refused.borrow(),
        taken.borrow(),
        feeder.max_chunk
    );
    assert!(*refused.borrow() > *taken.borrow());
    // The costliest chunks: all keys (33 bytes an entry) or all addresses without keys (23).
    let mut l1 = l1.borrow_mut();
    for (what, list) in [
        (
            "one address, 2,000 keys",
            vec![(
                Address::repeat_byte(0xa1),
                (0..2_000u64)
                    .map(|k| U256::from(k) + U256::MAX / U256::from(3))
                    .collect(),
            )],
        ),
        (
            "1,000 addresses without keys",
            (0..1_000u64)
                .map(|i| {
                    (
                        Address::left_padding_from(&(0xa1_0000 + i).to_be_bytes()),
                        Vec::new(),
                    )
                })
                .collect(),
        ),
    ] {
        let (e, offset, len) = entries_encoding(&list, 40);
        let plan =
            range_fact::entries_plan(&e, offset, len, B256::ZERO, range_fact::MAX_ENTRIES_CHUNK)
                .expect("a plan");
        // The first chunk with its hint's address changed: its item's head is in a later
        // chunk, so both take it; its state leads nowhere and the true chain still completes.
        let mut bad = plan.chunks[0].clone();
        bad.dst[224 + 31] ^= 1;
        let mut run = range_fact::EntriesRun::new(plan.job.clone());
        let taken = (
            run.absorb(&bad).is_ok(),
            feeder.absorb(&mut l1, &plan.job, &bad).is_ok(),
        );
        assert_eq!(taken.0, taken.1, "{what}: a changed hint");
        assert!(
            dead_end(&e, offset, &plan, 0, &bad),
            "{what}: a changed hint leads to a fact"
        );
        println!(
            "ENTRIES, {what}: a changed hint in the first chunk taken: {}",
            taken.0
        );
        let mut worst = 0;
        for c in &plan.chunks {
            worst = worst.max(feeder.absorb(&mut l1, &plan.job, c).expect("a chunk"));
            run.absorb(c).expect("Rust takes the chunk");
        }
        assert_eq!(run.fact(), Some((plan.hash, plan.dst_result)));
        assert_eq!(
            feeder.fact_with_result(&mut l1, plan.job.id()),
            (true, plan.hash, plan.dst_result)
        );
        println!(
            "ENTRIES, {what}: {} chunks, the worst {worst} gas",
            plan.chunks.len()
        );
        assert!(worst < 1_000_000, "{what}: {worst}");
    }
}

/// Whether the chunks of `plan` from `k` on, chunk `k` replaced by `bad` (taken from the state
/// chunk `k` starts from), never reach byte 0 (`range_fact::absorb_entries` on the list's bytes).
fn dead_end(e: &[u8], offset: u64, plan: &JobPlan, k: usize, bad: &Chunk) -> bool {
    let a = &e[offset as usize..(offset + plan.job.len) as usize];
    let Some(mut state) = range_fact::EntriesState::decode(&plan.chunks[k].dst[..224]) else {
        return true;
    };
    for (i, c) in plan.chunks[k..].iter().enumerate() {
        let c = if i == 0 { bad } else { c };
        let hints: Vec<U256> = c.dst[224..].chunks(32).map(U256::from_be_slice).collect();
        let Some(lo) = state.pos.checked_sub(c.n) else {
            return true;
        };
        match range_fact::absorb_entries(&state, lo, &a[lo as usize..state.pos as usize], &hints) {
            Ok(next) => state = next,
            Err(_) => return true,
        }
    }
    state.pos != 0
}

/// An encoding holding the RLP of `list` after `pad` bytes, and 7 bytes after it: the encoding,
/// where the list's payload starts and its length.
fn entries_encoding(list: &[(Address, Vec<U256>)], pad: usize) -> (Vec<u8>, u64, u64) {
    let list = alloy::eips::eip2930::AccessList(
        list.iter()
            .map(|(a, k)| alloy::eips::eip2930::AccessListItem {
                address: *a,
                storage_keys: k.iter().map(|k| B256::from(*k)).collect(),
            })
            .collect(),
    );
    let whole = alloy::rlp::encode(&list);
    let header = alloy::rlp::Header::decode(&mut &whole[..]).expect("a list");
    let at = whole.len() - header.payload_length;
    let mut e = vec![0x5a; pad];
    e.extend_from_slice(&whole);
    e.extend_from_slice(&[7; 7]);
    ((e), (pad + at) as u64, header.payload_length as u64)
}
