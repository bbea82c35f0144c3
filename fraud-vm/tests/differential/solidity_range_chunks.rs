//! The range oracle's SHA256 and RIPEMD160 jobs (SPEC.md §3.4.1) against the `sha2` and `ripemd`
//! crates on random inputs and random chunkings, every chunk a committed L1 transaction; a
//! chunk over the bound, of part of a block before the last, or with a flipped source word is
//! rejected; the largest chunk of each kind, the last with its padding blocks, stays under 1M
//! gas (`cargo test --release -p fraud-vm --test differential solidity_digest_job -- --nocapture`
//! prints the figures).

use super::ranges::Feeder;
use super::*;
use fraud_vm::range_fact::{self, Chunk, RangeJob};

/// The bound every SHA256 and RIPEMD160 chunk stays under (issue 6: one L1 transaction of a
/// dispute under 1M gas).
const CHUNK_GAS: u64 = 1_000_000;

/// The digest the fact gives for `bytes`: SHA-256, or RIPEMD-160 left-padded to a word.
fn digest(flags: u8, bytes: &[u8]) -> B256 {
    if flags == range_fact::SHA256 {
        use sha2::Digest;
        B256::from_slice(&sha2::Sha256::digest(bytes))
    } else {
        use ripemd::Digest;
        let mut word = B256::ZERO;
        word[12..].copy_from_slice(&ripemd::Ripemd160::digest(bytes));
        word
    }
}

/// The job of `len` bytes from `offset` of `tree`, bytes past `size` reading as zero.
fn job_of(
    tree: &fraud_vm::merkle::WordTree,
    flags: u8,
    offset: u64,
    size: u64,
    len: u64,
) -> RangeJob {
    RangeJob {
        src_root: tree.root(),
        src_offset: offset,
        src_size: size,
        len,
        flags,
        dst_root: B256::ZERO,
        dst_offset: 0,
    }
}

/// The chunk of `job` of `n` bytes from `done`: the source proof of its words below the size.
fn chunk_of(tree: &fraud_vm::merkle::WordTree, job: &RangeJob, done: u64, n: u64) -> Chunk {
    let from = job.src_offset + done;
    let to = (from + n).min(job.src_size);
    let src = if from < to {
        let first = from / 32;
        range_fact::encode_range(&tree.prove_range(first, to.div_ceil(32) - first))
    } else {
        Vec::new()
    };
    Chunk {
        n,
        src,
        dst: Vec::new(),
    }
}

/// The oracle's SHA256 and RIPEMD160 jobs equal the `sha2` and `ripemd` crates for random
/// lengths (one byte to several chunks, across the 64-byte block's edges and the padding's
/// 56-byte edge), random source offsets and sizes (the bytes past the size read as zero) and
/// random chunkings (each chunk but the last a random number of whole blocks up to the kind's
/// bound); each chunk under 1M gas.
#[test]
fn solidity_digest_job_matches_the_crates_on_random_chunkings() {
    use proptest::collection::vec;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let mut l1 = L1Verifier::deploy();
    let feeder = RefCell::new(Feeder::new(&mut l1));
    let l1 = RefCell::new(l1);
    let most = range_fact::MAX_SHA256_CHUNK.max(range_fact::MAX_RIPEMD160_CHUNK) as usize;
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop_oneof![Just(range_fact::SHA256), Just(range_fact::RIPEMD160)],
        prop_oneof![
            1usize..200,
            (0usize..8).prop_flat_map(|k| (64 * k).saturating_sub(9)..64 * k + 3),
            1usize..3 * most + 200,
        ]
        .prop_flat_map(|len| (vec(any::<u8>(), len.max(1)), 0..=len.max(1))),
        0u64..100,
        vec(1u64..=64, 1..12),
    );
    runner
        .run(&strategy, |(flags, (bytes, keep), offset, cuts)| {
            let len = bytes.len() as u64;
            let mut source = vec![0xa5u8; offset as usize];
            source.extend_from_slice(&bytes);
            let tree = fraud_vm::merkle::WordTree::from_bytes(&source);
            let job = job_of(&tree, flags, offset, offset + keep as u64, len);
            let mut expected = bytes[..keep].to_vec();
            expected.resize(bytes.len(), 0);
            let blocks = range_fact::max_chunk(flags) / 64;
            let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
            let mut done = 0u64;
            for k in 0.. {
                let n = (64 * (1 + (cuts[k % cuts.len()] - 1) % blocks)).min(len - done);
                let chunk = chunk_of(&tree, &job, done, n);
                let gas = feeder
                    .absorb(&mut l1, &job, &chunk)
                    .map_err(|e| TestCaseError::fail(format!("chunk {k} ({n} bytes): {e}")))?;
                prop_assert!(gas < CHUNK_GAS, "{gas}");
                done += n;
                if done == len {
                    break;
                }
            }
            prop_assert_eq!(
                feeder.fact(&mut l1, job.id()),
                (true, digest(flags, &expected))
            );
            // The Rust plan of the same job gives the same digest.
            let read = tree.prove_range(0, (offset + len).div_ceil(32).max(1));
            if offset + keep as u64 == offset + len {
                let plan = range_fact::plan(job.clone(), Some(&read), None)
                    .ok_or_else(|| TestCaseError::fail("plan"))?;
                prop_assert_eq!(plan.hash, digest(flags, &expected));
            }
            Ok(())
        })
        .expect("the oracle's digests equal the crates'");
    let feeder = feeder.borrow();
    println!("{} chunks; largest: {:?}", feeder.chunks, feeder.max_chunk);
    assert!(feeder.chunks >= 40, "{} chunks", feeder.chunks);
}

/// The costliest SHA256 and RIPEMD160 chunks: a job's first chunk (its storage written fresh),
/// a middle one and a last one at the bound, the last with 1 and 2 padding blocks, and a job of
/// one chunk, every byte non-zero; each under 1M gas (printed). A chunk one block over the
/// bound, one of part of a block before the last, and one with a flipped source word are
/// rejected, and the job then completes with the right digest.
#[test]
fn solidity_digest_job_chunks_under_1m_gas() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let source: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 255) as u8 + 1).collect();
    let tree = fraud_vm::merkle::WordTree::from_bytes(&source);
    for flags in [range_fact::SHA256, range_fact::RIPEMD160] {
        let most = range_fact::max_chunk(flags);
        let mut rows = Vec::new();
        // Three chunks at the bound, the last with one padding block (len a multiple of 64) or
        // two (56 bytes or more past the last whole block); a job of one chunk.
        for (offset, len) in [(5, 3 * most), (9, 3 * most - 8), (31, most), (3, most - 1)] {
            let job = job_of(&tree, flags, offset, source.len() as u64, len);
            let mut done = 0;
            while done < len {
                let n = most.min(len - done);
                if done == most {
                    // Over the bound, part of a block, a flipped source word: refused.
                    for bad in [most + 64, 100] {
                        let c = chunk_of(&tree, &job, done, bad.min(len - done));
                        if bad.min(len - done) != len - done {
                            assert!(
                                feeder.absorb(&mut l1, &job, &c).is_err(),
                                "{bad} bytes taken"
                            );
                        }
                    }
                    let mut c = chunk_of(&tree, &job, done, n);
                    c.src[8 + 40] ^= 0x10;
                    assert!(
                        feeder.absorb(&mut l1, &job, &c).is_err(),
                        "a flipped word taken"
                    );
                }
                let gas = feeder
                    .absorb(&mut l1, &job, &chunk_of(&tree, &job, done, n))
                    .expect("chunk");
                rows.push((len, done, n, gas));
                done += n;
            }
            let bytes = &source[offset as usize..(offset + len) as usize];
            assert_eq!(feeder.fact(&mut l1, job.id()), (true, digest(flags, bytes)));
        }
        let kind = if flags == range_fact::SHA256 {
            "SHA256"
        } else {
            "RIPEMD160"
        };
        for (len, done, n, gas) in &rows {
            println!(
                "{kind} job of {len} bytes: chunk [{done}, {}) {gas} gas",
                done + n
            );
        }
        let worst = rows.iter().map(|r| r.3).max().expect("rows");
        println!(
            "{kind}: largest chunk {worst} gas ({most} bytes a chunk, {} chunks a MiB)",
            (1u64 << 20).div_ceil(most)
        );
        assert!(worst < CHUNK_GAS, "{kind}: {worst} gas");
    }
}

/// Establishes `code`'s fact in chunks (SPEC.md §3.4.1 [v0.14]): the HASH job, then every scan
/// chunk; the largest transaction's gas of each (HASH chunk, scan chunk).
fn absorb_code_in_chunks(l1: &mut L1Verifier, feeder: &mut Feeder, code: &[u8]) -> (u64, u64) {
    let plan = range_fact::code_chunks(code).expect("code");
    let mut hash_gas = 0;
    for c in &plan.hash_job.chunks {
        hash_gas = hash_gas.max(
            feeder
                .absorb(l1, &plan.hash_job.job, c)
                .expect("HASH chunk"),
        );
    }
    let mut scan_gas = 0;
    for (k, c) in plan.chunks.iter().enumerate() {
        let gas = feeder
            .absorb_code_chunk(l1, c)
            .unwrap_or_else(|e| panic!("code chunk {k}: {e}"));
        scan_gas = scan_gas.max(gas);
    }
    (hash_gas, scan_gas)
}

/// A random code: mostly PUSHn with their immediates, JUMPDESTs and other bytes, long enough
/// to cross one to three chunk edges, its tail cutting a PUSH short at times.
fn long_code() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => (0x60u8..=0x7f).prop_flat_map(|op| {
                proptest::collection::vec(any::<u8>(), usize::from(op - 0x5f))
                    .prop_map(move |imm| [vec![op], imm].concat())
            }),
            2 => Just(vec![0x5b]),
            1 => Just(vec![0x60, 0x5b]),
            2 => any::<u8>().prop_map(|b| vec![b]),
        ],
        400..2_400,
    )
    .prop_flat_map(|parts| (Just(parts.concat()), 0usize..=32))
    .prop_map(|(code, cut)| code[..code.len().saturating_sub(cut).max(1)].to_vec())
}

/// [v0.14] The chunked code fact equals `absorbCode`'s and the Rust `CodeFact` for random codes
/// (their PUSH data crossing chunk edges at random), each transaction under 1M gas.
#[test]
fn solidity_code_chunks_match_absorb_code_on_random_codes() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    let mut l1 = L1Verifier::deploy();
    let feeder = RefCell::new(Feeder::new(&mut l1));
    let l1 = RefCell::new(l1);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let edges = RefCell::new(0usize);
    runner
        .run(&long_code(), |code| {
            let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
            let fact = fraud_vm::range_fact::CodeFact::of(&code);
            let (hash_gas, scan_gas) = absorb_code_in_chunks(&mut l1, &mut feeder, &code);
            prop_assert!(
                hash_gas < CHUNK_GAS && scan_gas < CHUNK_GAS,
                "{hash_gas} {scan_gas}"
            );
            prop_assert_eq!(feeder.code_fact(&mut l1, fact.code_hash), fact.commitment());
            *edges.borrow_mut() += code.len().div_ceil(range_fact::CODE_CHUNK) - 1;
            Ok(())
        })
        .expect("the chunked code fact equals the code's");
    // The one-transaction fact of another code agrees with the chunked one of the same code.
    let code = [0x61, 0x5b, 0x5b, 0x5b].repeat(2_500);
    let (mut l1, mut feeder) = (l1.borrow_mut(), feeder.borrow_mut());
    absorb_code_in_chunks(&mut l1, &mut feeder, &code);
    let fact = fraud_vm::range_fact::CodeFact::of(&code);
    let chunked = feeder.code_fact(&mut l1, fact.code_hash);
    feeder.absorb_code(&mut l1, &code).expect("absorbCode");
    assert_eq!(chunked, feeder.code_fact(&mut l1, fact.code_hash));
    assert_eq!(chunked, fact.commitment());
    println!(
        "{} chunk edges crossed; largest: {:?}",
        edges.borrow(),
        feeder.max_chunk
    );
    assert!(*edges.borrow() >= 24, "{} chunk edges", edges.borrow());
}

/// [v0.14] The costliest chunked code facts, 49,152 bytes (EIP-3860's initcode bound) of
/// PUSH1 0x5b and of JUMPDESTs: every HASH and scan transaction under 1M gas (printed), the
/// fact `absorbCode`'s. A forged scan state (a carry or a root changed), an initial state with
/// a carry, a chunk of the wrong length, a byte of the code changed in a chunk (its `R_c` has
/// no HASH fact) and the last chunk before the HASH job are rejected.
#[test]
fn solidity_code_chunks_under_1m_gas() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    for (name, code) in [
        ("PUSH1 0x5b", [0x60u8, 0x5b].repeat(24_576)),
        ("JUMPDEST", vec![0x5b; 49_152]),
    ] {
        let fact = fraud_vm::range_fact::CodeFact::of(&code);
        let (hash_gas, scan_gas) = absorb_code_in_chunks(&mut l1, &mut feeder, &code);
        let plan = range_fact::code_chunks(&code).expect("code");
        println!(
            "code fact of 49,152 bytes of {name} in chunks: {} HASH chunks (largest {hash_gas} \
             gas), {} scan chunks (largest {scan_gas} gas)",
            plan.hash_job.chunks.len(),
            plan.chunks.len()
        );
        assert!(
            hash_gas < CHUNK_GAS && scan_gas < CHUNK_GAS,
            "{hash_gas} {scan_gas}"
        );
        assert_eq!(feeder.code_fact(&mut l1, fact.code_hash), fact.commitment());
    }

    // The rejections, on a code of three chunks whose HASH job is not run at first.
    let code: Vec<u8> = [0x7f].repeat(3 * range_fact::CODE_CHUNK - 5);
    let plan = range_fact::code_chunks(&code).expect("code");
    let c = &plan.chunks;
    let refused =
        |feeder: &mut Feeder, l1: &mut L1Verifier, chunk: range_fact::CodeChunk, what: &str| {
            assert!(
                feeder.absorb_code_chunk(l1, &chunk).is_err(),
                "{what} taken"
            );
        };
    let mut carry = c[0].clone();
    carry.state[95] = 1;
    refused(&mut feeder, &mut l1, carry, "an initial state with a carry");
    let mut short = c[0].clone();
    short.code.pop();
    refused(&mut feeder, &mut l1, short, "a short chunk");
    feeder.absorb_code_chunk(&mut l1, &c[0]).expect("chunk 0");
    let mut carry = c[1].clone();
    carry.state[95] ^= 1;
    refused(&mut feeder, &mut l1, carry, "a forged carry");
    let mut root = c[1].clone();
    root.state[100] ^= 1;
    refused(&mut feeder, &mut l1, root, "a forged root");
    let mut long = c[1].clone();
    long.state.extend_from_slice(&[0; 64]);
    refused(
        &mut feeder,
        &mut l1,
        long,
        "a state with roots past its chunks",
    );
    // A changed byte scans on, but its code root has no HASH fact at the end.
    let mut flipped = code.clone();
    flipped[range_fact::CODE_CHUNK + 7] = 0x5b;
    let bad = range_fact::code_chunks(&flipped).expect("code");
    feeder
        .absorb_code_chunk(&mut l1, &bad.chunks[1])
        .expect("a forged chunk scans");
    refused(
        &mut feeder,
        &mut l1,
        bad.chunks[2].clone(),
        "a forged chunk's end",
    );
    feeder.absorb_code_chunk(&mut l1, &c[1]).expect("chunk 1");
    refused(
        &mut feeder,
        &mut l1,
        c[2].clone(),
        "the end before the HASH job",
    );
    let fact = fraud_vm::range_fact::CodeFact::of(&code);
    assert_eq!(feeder.code_fact(&mut l1, fact.code_hash), B256::ZERO);
    feeder.run(&mut l1, &plan.hash_job);
    feeder.absorb_code_chunk(&mut l1, &c[2]).expect("chunk 2");
    assert_eq!(feeder.code_fact(&mut l1, fact.code_hash), fact.commitment());
}
