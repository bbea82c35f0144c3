//! [v0.13] The block end's insertion of a receipt with many short logs (SPEC.md §5.19): a block
//! whose one transaction emits `N` logs of `M` bytes each ([`op_blocks::many_logs_block`]), its
//! insertion and the next one (which may move its leaves) in full and in the L1 form, the
//! Solidity verifier's answer the Rust verifier's.

use super::boundary::{BoundarySteps, compare_step, long_insertion};
use super::*;
use crate::op_blocks;
use alloy::primitives::Log;
use fraud_vm::range_fact;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;

/// The most proof bytes the test sends in full (a larger receipt's insertion costs the L1
/// verifier far beyond 2^24 gas, and the in-process L1 minutes).
const FULL_UP_TO: usize = 600_000;

/// The insertions of receipts of `N` logs of `M` bytes, `N · M` about 100 KB (`M` = 64, 1 KiB,
/// 8 KiB), 500 KB of 8 KiB logs, 8 logs of 8 KiB and 1,000 empty logs: in full and in the L1
/// form, where [v0.15] a receipt of more than `range_fact::MANY_LOGS` logs takes them by the LOGS
/// fact and another marks its largest (`range_fact::marked_logs`); both verifiers give the same
/// post-state, each insertion in the L1 form under 1M gas. The larger receipts are
/// [`solidity_many_logs_receipt_insertion_gas_large`]'s.
///
/// `cargo test --release -p fraud-vm --test differential solidity_many_logs_receipt_insertion_gas -- --nocapture`
#[test]
fn solidity_many_logs_receipt_insertion_gas() {
    many_logs(
        &[
            (1_600, 64),
            (100, 1024),
            (13, 8192),
            (61, 8192),
            (8, 8192),
            (1_000, 0),
        ],
        true,
    );
}

/// [`solidity_many_logs_receipt_insertion_gas`] for receipts as large as 30M of L2 gas allows:
/// 300 logs of 8 KiB, 5,000, 29,000 and 60,000 empty logs, 29,000 of 64 bytes (many minutes of chunks
/// on the in-process L1), measured, not bounded: [v0.15] each takes its logs by the LOGS fact
/// (SPEC.md §5.19).
///
/// `cargo test --release -p fraud-vm --test differential solidity_many_logs_receipt_insertion_gas_large -- --ignored --nocapture`
#[test]
#[ignore = "minutes: run by name"]
fn solidity_many_logs_receipt_insertion_gas_large() {
    many_logs(
        &[
            (300, 8192),
            (5_000, 0),
            (29_000, 0),
            (29_000, 64),
            (60_000, 0),
        ],
        false,
    );
}

/// The insertions of the receipts of [`op_blocks::many_logs_block`]`(n, m)` for each `(n, m)`
/// of `cases`: in full (up to [`FULL_UP_TO`] proof bytes) and in the L1 form if the prover
/// takes one, the Solidity post-state the Rust one; printed with their gas. With `bounded`, each
/// insertion in the L1 form is under 2^24 gas, and the next one (which moves the receipt's leaf)
/// under 1M.
fn many_logs(cases: &[(u32, u32)], bounded: bool) {
    let mut l1 = L1Verifier::deploy();
    let steps = l1.address;
    let mut feeder = super::ranges::Feeder::new(&mut l1);
    for &(n, m) in cases {
        let block = op_blocks::many_logs_block(n, m);
        let recorded =
            op_blocks::run_recorded(&block, BoundarySteps::default()).expect("the block checks");
        // The other steps of the block end and the transaction ends, each kind's costliest: do
        // any of them grow with the receipt's logs?
        let mut others: BTreeMap<&str, (u64, usize)> = BTreeMap::new();
        for (kind, pre, proof) in &recorded.proofs {
            if !matches!(kind.as_str(), "TxEnd" | "EndStart" | "Fold" | "Seal") {
                continue;
            }
            let bytes = proof.encode();
            let gas = compare_step(&mut l1, steps, *pre, &bytes)
                .expect("both verifiers agree")
                .expect("a post-state");
            let e = others.entry(kind.as_str()).or_default();
            *e = (e.0.max(gas), e.1.max(bytes.len()));
        }
        println!("{n} logs of {m} bytes, the other steps' largest (gas, proof bytes): {others:?}");
        for (kind, pre, proof) in &recorded.proofs {
            if kind.as_str() != "Insert" || proof.pre.tx_index == 0 {
                continue;
            }
            let logs = proof.receipt.as_ref().map_or(0, |r| r.logs.len());
            let bytes = proof.encode();
            let full = if bytes.len() <= FULL_UP_TO {
                let answer = compare_step(&mut l1, steps, *pre, &bytes);
                // Both verifiers take the honest proof in full (the Solidity one within the
                // test's 2^30 gas).
                assert!(matches!(answer, Ok(Some(_))), "in full: {answer:?}");
                format!("{answer:?}")
            } else {
                "not run".into()
            };
            let l1_form = match range_fact::l1_form(proof, range_fact::LONG_WORDS) {
                Some(form) => {
                    let gas = long_insertion(&mut l1, &mut feeder, *pre, proof, &form);
                    if logs > range_fact::MANY_LOGS {
                        logs_section_tampered(&mut l1, *pre, &form.bytes);
                    }
                    // The insertion that moves the leaf takes it as a long leaf; the receipt's
                    // own insertion takes its logs by the LOGS fact, or at most `MANY_LOGS`
                    // marked ones (SPEC.md §5.19 [v0.15]).
                    assert!(!bounded || gas < 1_000_000, "{gas}");
                    format!(
                        "{gas} gas ({} bytes, {} jobs, {} chunks)",
                        form.bytes.len(),
                        form.jobs.len(),
                        form.jobs.iter().map(|j| j.chunks.len()).sum::<usize>()
                    )
                }
                None => "none".into(),
            };
            println!(
                "{n} logs of {m} bytes, Insert {} ({logs} logs): in full {full} gas ({} bytes), in the L1 form {l1_form}",
                proof.pre.tx_index,
                bytes.len(),
            );
        }
    }
    feeder.print_and_bound_chunks("many-log receipts' jobs: ");
}

/// [v0.15] The receipt section of an insertion in the L1 form with its logs by the LOGS fact
/// (`bytes` ends with `u32 (count | 2^31) ‖ logs_root ‖ R_L ‖ u32 len(L) ‖ bloom`, SPEC.md §6.3),
/// its facts in place: a wrong count, log chain, tree root, length or bloom is refused.
fn logs_section_tampered(l1: &mut L1Verifier, pre: B256, bytes: &[u8]) {
    let end = bytes.len();
    assert_ne!(
        bytes[end - 328] & 0x80,
        0,
        "the logs by the LOGS fact end the proof"
    );
    for (what, at) in [
        ("count", end - 325),
        ("log chain", end - 300),
        ("tree root", end - 270),
        ("length", end - 257),
        ("bloom", end - 100),
    ] {
        let mut b = bytes.to_vec();
        b[at] ^= 1;
        let (answer, _) = l1.verify(pre, &b);
        assert!(
            matches!(answer, Answer::Revert(_)),
            "a wrong {what}: {answer:?}"
        );
        println!("the LOGS section with a wrong {what} rejected: {answer:?}");
    }
}

/// A random log: up to four topics, data of 0–2 bytes (one under 0x80 is its own encoding),
/// up to 300, or longer than a LOGS chunk (its hash then the fact of a HASH job).
fn random_log() -> impl Strategy<Value = Log> {
    (
        any::<[u8; 20]>(),
        prop::collection::vec(any::<[u8; 32]>(), 0..=4),
        prop_oneof![
            6 => prop::collection::vec(any::<u8>(), 0..3),
            6 => prop::collection::vec(any::<u8>(), 0..300),
            1 => prop::collection::vec(any::<u8>(), 8_170..8_500),
        ],
    )
        .prop_map(|(a, t, d)| {
            Log::new_unchecked(
                Address::from(a),
                t.into_iter().map(B256::from).collect(),
                d.into(),
            )
        })
}

/// [v0.15] The LOGS job (SPEC.md §3.4.1, §5.19) over random log lists on the L1 oracle and in
/// Rust (`range_fact::LogsRun`): the same fact, `keccak256(logs_root ‖ count ‖ bloom)` of the
/// receipt's logs; and each tampered chunk (a wrong state: count, bloom or chain; the source
/// words of another list, as a dropped or reordered log gives; a long log before its HASH
/// fact) refused by both, the job then finished by the honest chunk.
///
/// `cargo test --release -p fraud-vm --test differential solidity_logs_job -- --nocapture`
#[test]
fn solidity_logs_job_matches_rust() {
    let l1 = RefCell::new(L1Verifier::deploy());
    let feeder = RefCell::new(super::ranges::Feeder::new(&mut l1.borrow_mut()));
    let refused = RefCell::new(0usize);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(random_log(), 1..70),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    );
    runner
        .run(&strategy, |(logs, pick, byte)| {
            let l: Vec<u8> = logs.iter().flat_map(alloy::rlp::encode).collect();
            let jobs = range_fact::logs_plan(&l).expect("a plan");
            let fact = range_fact::logs_fact(&l).expect("logs");
            let root = logs.iter().fold(B256::ZERO, fraud_vm::world::log_link);
            prop_assert_eq!(fact.root, root);
            prop_assert_eq!(fact.count, logs.len() as u64);
            prop_assert_eq!(fact.bloom, alloy::primitives::logs_bloom(logs.iter()));
            // Another list's tree: the first log dropped, or the first two swapped.
            let mut other_logs = logs.clone();
            if logs.len() > 1 && pick.index(2) == 0 {
                other_logs.swap(0, 1);
            } else {
                other_logs.remove(0);
            }
            let other: Vec<u8> = other_logs.iter().flat_map(alloy::rlp::encode).collect();
            let other_tree = fraud_vm::merkle::WordTree::from_bytes(&other);

            let (logs_job, hashes) = jobs.split_last().expect("the LOGS job");
            let mut l1 = l1.borrow_mut();
            let mut feeder = feeder.borrow_mut();
            let mut facts: BTreeMap<B256, B256> = BTreeMap::new();
            let mut run = range_fact::LogsRun::new(logs_job.job.clone());
            let k = pick.index(logs_job.chunks.len());
            for (i, chunk) in logs_job.chunks.iter().enumerate() {
                let long = chunk.n > range_fact::MAX_LOGS_CHUNK;
                if long {
                    let plan = hashes
                        .iter()
                        .find(|h| {
                            h.job.src_offset
                                == logs_job.chunks[..i].iter().map(|c| c.n).sum::<u64>()
                        })
                        .expect("the long log's HASH job");
                    // Before its HASH fact: refused by both.
                    if !facts.contains_key(&plan.job.id()) {
                        let sol = feeder.absorb(&mut l1, &logs_job.job, chunk);
                        let rust = run.clone().absorb(chunk, |j| facts.get(&j.id()).copied());
                        prop_assert!(
                            sol.is_err()
                                && matches!(rust, Err(range_fact::LogsError::HashMissing(_))),
                            "{sol:?} {rust:?}"
                        );
                        feeder.run(&mut l1, plan);
                        facts.insert(plan.job.id(), plan.hash);
                    }
                }
                if i == k {
                    let mut tampered = Vec::new();
                    if i > 0 {
                        let mut c = chunk.clone();
                        c.dst[byte.index(range_fact::LOGS_STATE_LEN)] ^= 1;
                        tampered.push(("a wrong state", c));
                    }
                    let done: u64 = logs_job.chunks[..i].iter().map(|c| c.n).sum();
                    let to = if long {
                        done + range_fact::LOGS_HEAD
                    } else {
                        done + chunk.n
                    };
                    if to <= other.len() as u64 {
                        let first = done / 32;
                        let mut c = chunk.clone();
                        c.src = range_fact::encode_range(
                            &other_tree.prove_range(first, to.div_ceil(32) - first),
                        );
                        if c.src != chunk.src {
                            tampered.push(("another list's words", c));
                        }
                    }
                    for (what, c) in tampered {
                        let sol = feeder.absorb(&mut l1, &logs_job.job, &c);
                        let rust = run.clone().absorb(&c, |j| facts.get(&j.id()).copied());
                        prop_assert!(sol.is_err() && rust.is_err(), "{what}: {sol:?} {rust:?}");
                        *refused.borrow_mut() += 1;
                    }
                }
                feeder
                    .absorb(&mut l1, &logs_job.job, chunk)
                    .map_err(|e| TestCaseError::fail(format!("chunk {i}: {e}")))?;
                run.absorb(chunk, |j| facts.get(&j.id()).copied())
                    .map_err(|e| TestCaseError::fail(format!("Rust chunk {i}: {e}")))?;
            }
            let (complete, hash) = feeder.fact(&mut l1, logs_job.job.id());
            prop_assert!(complete);
            prop_assert_eq!(hash, fact.hash());
            prop_assert_eq!(run.fact(), Some(fact.hash()));
            Ok(())
        })
        .expect("proptest");
    println!("tampered chunks refused by both: {}", refused.borrow());
    feeder.borrow().print_and_bound_chunks("LOGS jobs: ");
    assert!(*refused.borrow() >= 20);
}
