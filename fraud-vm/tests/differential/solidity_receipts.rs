//! [v0.13] The block end's insertion of a receipt with many short logs (SPEC.md §5.19): a block
//! whose one transaction emits `N` logs of `M` bytes each ([`op_blocks::many_logs_block`]), its
//! insertion and the next one (which may move its leaves) in full and in the L1 form, the
//! Solidity verifier's answer the Rust verifier's.

use super::boundary::{BoundarySteps, compare_step, long_insertion};
use super::*;
use crate::op_blocks;
use fraud_vm::range_fact;

/// The most proof bytes the test sends in full (a larger receipt's insertion costs the L1
/// verifier far beyond 2^24 gas, and the in-process L1 minutes).
const FULL_UP_TO: usize = 600_000;

/// The insertions of receipts of `N` logs of `M` bytes, `N · M` about 100 KB (`M` = 64, 1 KiB,
/// 8 KiB) and 500 KB of 8 KiB logs: in full and in the L1 form, where the prover's rule
/// (`range_fact::marked_logs`) marks the largest logs until what the step carries is short;
/// both verifiers give the same post-state. The larger receipts are
/// [`solidity_many_logs_receipt_insertion_gas_large`]'s.
///
/// `cargo test --release -p fraud-vm --test differential solidity_many_logs_receipt_insertion_gas -- --nocapture`
#[test]
fn solidity_many_logs_receipt_insertion_gas() {
    many_logs(&[(1_600, 64), (100, 1024), (13, 8192), (61, 8192)], true);
}

/// [`solidity_many_logs_receipt_insertion_gas`] for receipts as large as 30M of L2 gas allows:
/// 1.86 MB of 64-byte logs, 3.3 MB of 1 KiB and of 8 KiB logs, 60,000 empty logs (minutes of
/// chunks on the in-process L1), measured, not bounded: under the prover's rule such receipts'
/// insertions stay long (SPEC.md §5.19 "Open").
///
/// `cargo test --release -p fraud-vm --test differential solidity_many_logs_receipt_insertion_gas_large -- --ignored --nocapture`
#[test]
#[ignore = "minutes: run by name"]
fn solidity_many_logs_receipt_insertion_gas_large() {
    many_logs(
        &[(29_000, 64), (3_200, 1024), (400, 8192), (60_000, 0)],
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
                    // The insertion that moves the leaf takes it as a long leaf; the receipt's
                    // own insertion is bounded by its marked logs (SPEC.md §5.19).
                    let bound = if logs > 1 { L1_TX_GAS } else { 1_000_000 };
                    assert!(!bounded || gas < bound, "{gas}");
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
