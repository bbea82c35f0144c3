//! Long ranges through the range oracle (SPEC.md §3.4.1): a program that fills 1 MiB of memory
//! with non-zero bytes and runs KECCAK256, MCOPY, CALLDATACOPY, CODECOPY and RETURNDATACOPY over
//! ranges from 64 KiB to 1 MiB. Each such step is proven in full for the Rust verifier and in its
//! L1 form for the Solidity verifier, after its range jobs were run on the `RangeOracle` chunk by
//! chunk, each chunk a committed L1 transaction: both give the same post-state. A step whose
//! fact is missing or incomplete, a fact of another job, a wrong chunk and a marker at the wrong
//! range are all rejected. The gas of every chunk and step is measured.

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
    function rangeOracle() returns (address);
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
    op: u8,
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
    fn new(l1: &mut L1Verifier) -> Self {
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
    fn absorb(
        &mut self,
        l1: &mut L1Verifier,
        job: &RangeJob,
        chunk: &Chunk,
    ) -> Result<u64, String> {
        let data = absorbCall {
            job: Job {
                srcRoot: job.src_root,
                srcOffset: U256::from(job.src_offset),
                srcSize: U256::from(job.src_size),
                len: U256::from(job.len),
                flags: U256::from(job.flags),
                dstRoot: job.dst_root,
                dstOffset: U256::from(job.dst_offset),
            },
            n: U256::from(chunk.n),
            src: Bytes::copy_from_slice(&chunk.src),
            dst: Bytes::copy_from_slice(&chunk.dst),
        }
        .abi_encode();
        let tx = TxEnv::builder()
            .caller(FEEDER)
            .kind(TxKind::Call(self.oracle))
            .data(data.into())
            .gas_limit(L1_TX_GAS)
            .gas_price(0)
            .nonce(self.nonce)
            .build()
            .expect("valid tx");
        let result = l1.evm.transact_commit(tx).map_err(|e| format!("{e:?}"))?;
        self.nonce += 1;
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success { .. } => {
                let kind = match job.flags {
                    range_fact::HASH => "HASH",
                    _ => "WRITE",
                };
                let max = self.max_chunk.entry(kind.to_string()).or_default();
                *max = (*max).max(gas_used);
                self.chunks += 1;
                Ok(gas_used)
            }
            other => Err(format!("{other:?}")),
        }
    }

    /// Runs every chunk of `plan`.
    fn run(&mut self, l1: &mut L1Verifier, plan: &JobPlan) {
        for (i, chunk) in plan.chunks.iter().enumerate() {
            if let Err(e) = self.absorb(l1, &plan.job, chunk) {
                panic!("chunk {i} of {:?}: {e}", plan.job);
            }
        }
    }
}

/// 256 KiB of non-zero calldata, copied to memory and doubled twice with MCOPY to 1 MiB; then
/// KECCAK256 of the whole MiB, an overlapping misaligned MCOPY of almost all of it, CODECOPY of
/// 64 KiB (the code, then zeros), a STATICCALL to identity with the whole MiB and a
/// RETURNDATACOPY of almost all its output.
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
        (0x5e, &[u(33), u(1), u(mib - 40)]),
        (0x39, &[u(5), u(0), u(64 * KIB)]),
        (0xfa, &[u(100_000), u(4), u(0), u(mib), u(0), u(0)]),
        (0x50, &[]),
        (0x3e, &[u(7), u(3), u(mib - 10)]),
        (0x00, &[]),
    ]);
    Case {
        calldata,
        extra_gas: 8_000_000,
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
}

/// The body of [`solidity_long_ranges_match_rust_through_the_range_oracle`], also run by
/// `solidity_gas`: asserts, prints the figures and returns the largest step and chunk gas.
pub(super) fn long_ranges(l1: &mut L1Verifier) -> (u64, u64) {
    let mut feeder = Feeder::new(l1);
    let mut max_step = 0u64;
    let case = long_range_case();
    let mut steps = Vec::new();
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
        if let Some(l1p) = range_fact::l1_form(&proof, LONG_WORDS) {
            let op = proof.code[proof.pre.pc as usize];
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
    let ops: Vec<u8> = steps.iter().map(|s| s.op).collect();
    assert_eq!(
        ops,
        [0x37, 0x5e, 0x5e, 0x20, 0x5e, 0x39, 0x3e],
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
        } else if s.op == 0x39 {
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
        } else {
            feeder.run(l1, plan);
        }
        let (answer, gas) = l1.verify(s.pre, &s.l1.bytes);
        assert_eq!(answer, Answer::Post(post), "{name}: Solidity against Rust");
        println!(
            "{name}: {} bytes, {} chunks, step {gas} gas ({} proof bytes)",
            plan.job.len,
            plan.chunks.len(),
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
