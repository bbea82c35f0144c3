//! Runs the L1 `RangeOracle`'s jobs before a step over a long range is sent (fraud-vm/SPEC.md
//! §3.4.1 v0.9): such a step's canonical proof does not fit one L1 transaction, so the player
//! sends its L1 form, whose long ranges are fact markers, after completing the job of each on
//! the oracle of the game's `OneStepVerifier`, one chunk per L1 transaction. Chunks already
//! absorbed (by anyone) are skipped.
//!
//! A job's chunks go back to back: the nonces are assigned here from the account's pending
//! count, every chunk's gas limit comes from the estimate of the first (later chunks cannot be
//! estimated before the earlier ones are in: the oracle checks each chunk's start), and the
//! receipts are awaited together, so a job takes as many L1 blocks as its gas needs rather than
//! one block a chunk (§12.3: the game's clock runs meanwhile).

use std::collections::VecDeque;

use alloy::{
    contract::RawCallBuilder,
    primitives::{Address, B256, Bytes, U256},
    providers::{PendingTransactionBuilder, Provider},
};
use fraud_vm::{
    StepProof,
    range_fact::{self, JobPlan, LONG_CODE, LONG_WORDS},
};
use tracing::{info, warn};

use crate::l1::bindings::{BisectionGame, GameVerifier, OneStepVerifier, RangeOracle};

/// Chunk transactions of one job in flight at once: well under the L1 pool's queue per sender
/// (op-node's pool keeps 64, geth's 64 slots as well), so a long job is never refused for it.
const IN_FLIGHT: usize = 32;
/// The gas limit of every FLZ chunk: about twice the costliest chunk measured (4.12M, SPEC.md
/// §3.4.1 v0.11), since the first chunk's estimate does not bound the others'.
const FLZ_CHUNK_GAS: u64 = 8_000_000;
/// The gas limit of every LOGS chunk (fraud-vm SPEC.md §3.4.1 v0.15): above the costliest
/// measured, 6 KiB of the shortest logs (empty LOG0s, 799,537 gas).
const LOGS_CHUNK_GAS: u64 = 1_200_000;
/// The gas limit of every ENTRIES chunk (fraud-vm SPEC.md §3.4.1 v0.16): above the costliest
/// measured, 4 KiB of addresses without keys (about 420k gas); a chunk's cost follows its items,
/// so the first one's estimate bounds nothing.
const ENTRIES_CHUNK_GAS: u64 = 600_000;
/// How often a job is resumed from the oracle's progress after a chunk failed.
const ATTEMPTS: usize = 3;
/// The gas limit of every `absorbCodeChunk` (fraud-vm SPEC.md §3.4.1 v0.14): a chunk's cost
/// follows its code (one step per PUSH), and the first chunk bounds nothing; the costliest
/// measured, 4,096 bytes of PUSH1 0x5b, stays well under it.
const CODE_CHUNK_GAS: u64 = 1_000_000;

/// Why a step's range jobs could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum RangeJobError {
    /// The L1 did not answer a read.
    #[error("reading {what}: {reason}")]
    Read {
        /// What was read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The oracle's progress is not at a chunk boundary of the job (another party absorbed
    /// chunks of other sizes): the job's chunks cannot continue it.
    #[error("range job {id}: absorbed up to {done}, not a chunk boundary")]
    NotAtBoundary {
        /// The job.
        id: B256,
        /// Bytes absorbed.
        done: u64,
    },
    /// A chunk could not be estimated or sent, or its transaction reverted or never landed.
    #[error("range job {id}: chunk {index} of {count}: {reason}")]
    Chunk {
        /// The job.
        id: B256,
        /// The chunk's index in the job, from 0.
        index: usize,
        /// The job's chunks.
        count: usize,
        /// Why.
        reason: String,
    },
    /// The job was still incomplete after [`ATTEMPTS`] runs; the last chunk failure.
    #[error("range job {id} incomplete after {ATTEMPTS} attempts: {last}")]
    GaveUp {
        /// The job.
        id: B256,
        /// The last failure.
        last: Box<RangeJobError>,
    },
}

/// The proof to send for the step proven by `proof` (canonical bytes): itself when no range is
/// long, else its L1 form once the oracle holds every fact it names. `from` is the provider's
/// signer, whose pending nonce the chunks continue.
pub async fn prepare_step<P: Provider + Clone>(
    provider: &P,
    game: Address,
    from: Address,
    proof: &Bytes,
) -> Result<Bytes, RangeJobError> {
    let Ok(decoded) = StepProof::decode(proof) else {
        return Ok(proof.clone());
    };
    let Some(SentForm { l1, windowed }) = sent_form(&decoded, proof) else {
        return Ok(proof.clone());
    };
    let ranged = l1.as_ref().map_or(proof.as_ref(), |l1| l1.bytes.as_slice());
    let oracle = RangeOracle::new(oracle_of(provider, game).await?, provider.clone());
    for plan in l1.iter().flat_map(|l1| &l1.jobs) {
        run_job(provider, &oracle, from, plan).await?;
    }
    let sent: Bytes = match &windowed {
        Some(bytes) => {
            absorb_code(provider, &oracle, from, &decoded.code).await?;
            bytes.clone().into()
        }
        None => ranged.to_vec().into(),
    };
    // Which step went in which form (the end-to-end tests read it): its pre-state's status, the
    // opcode a running state executes, its jobs' flags.
    let flags: Vec<u8> = l1
        .iter()
        .flat_map(|l1| &l1.jobs)
        .map(|p| p.job.flags)
        .collect();
    let opcode = (decoded.pre.status == fraud_vm::Status::Running)
        .then(|| usize::try_from(decoded.pre.pc).ok())
        .flatten()
        .and_then(|pc| decoded.code.get(pc).copied());
    info!(target: "challenger", %game, status = ?decoded.pre.status, ?opcode, jobs = ?flags, code_window = windowed.is_some(), bytes = sent.len(), "step sent in its L1 form");
    Ok(sent)
}

/// The L1 form a step is sent in when it is not its canonical proof: its long ranges' (with
/// their jobs), its code window's, or both.
pub(crate) struct SentForm {
    /// The step's L1 form over long ranges (SPEC.md §3.4.1), if any range is long.
    pub l1: Option<range_fact::L1Proof>,
    /// The step's bytes with the code replaced by its code window ([v0.12]; every opcode step
    /// v0.13), if its code is long: sent after the code's fact ([v0.14] in chunks).
    pub windowed: Option<Vec<u8>>,
}

/// How the step `decoded` (whose canonical bytes are `encoded`) is sent: `None` if as its
/// canonical proof, else its L1 form, the rule [`prepare_step`] sends by (and the
/// `disagree-at-long-step` fault injection looks for).
pub(crate) fn sent_form(decoded: &StepProof, encoded: &[u8]) -> Option<SentForm> {
    let l1 = range_fact::l1_form(decoded, LONG_WORDS);
    let ranged = l1.as_ref().map_or(encoded, |l1| l1.bytes.as_slice());
    // [v0.12] A step in long code carries its code window, after the code's fact.
    let windowed = range_fact::code_form(decoded, ranged, LONG_CODE);
    (l1.is_some() || windowed.is_some()).then_some(SentForm { l1, windowed })
}

/// Establishes the code fact of `code` on `oracle` unless the oracle holds it already, in
/// chunks (fraud-vm SPEC.md §3.4.1 [v0.14], each L1 transaction under 1M gas): the HASH job of
/// the code under its word-tree root, then the scan's `absorbCodeChunk`s back to back (each
/// continues the scan state the previous one left; resent from the first after a failure,
/// since a state is kept by its hash and sending it again changes nothing).
async fn absorb_code<P: Provider + Clone>(
    provider: &P,
    oracle: &RangeOracle::RangeOracleInstance<P>,
    from: Address,
    code: &[u8],
) -> Result<(), RangeJobError> {
    let hash = alloy::primitives::keccak256(code);
    let held = || async {
        oracle
            .codeFact(hash)
            .call()
            .await
            .map_err(|e| RangeJobError::Read {
                what: "the range oracle's code fact",
                reason: e.to_string(),
            })
    };
    if held().await? != B256::ZERO {
        return Ok(());
    }
    let Some(plan) = range_fact::code_chunks(code) else {
        return Ok(());
    };
    run_job(provider, oracle, from, &plan.hash_job).await?;
    let count = plan.chunks.len();
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        match send_code_chunks(provider, oracle, from, hash, &plan.chunks).await {
            Ok(()) if held().await? != B256::ZERO => {
                info!(target: "challenger", code = %hash, bytes = code.len(), hash_chunks = plan.hash_job.chunks.len(), scan_chunks = count, "code fact established");
                return Ok(());
            }
            Ok(()) => {
                last = Some(RangeJobError::Chunk {
                    id: hash,
                    index: count,
                    count,
                    reason: "every code chunk landed, yet the code fact is missing".into(),
                });
            }
            Err(e) => {
                warn!(target: "challenger", code = %hash, attempt = attempt + 1, error = %e, "code chunk failed; resending the scan");
                last = Some(e);
            }
        }
    }
    Err(RangeJobError::GaveUp {
        id: hash,
        last: Box::new(last.expect("at least one attempt")),
    })
}

/// Sends the code scan's chunks back to back at [`CODE_CHUNK_GAS`] each (at most
/// [`IN_FLIGHT`] unconfirmed) and awaits their receipts; the first failure, once what is in
/// flight settled.
async fn send_code_chunks<P: Provider + Clone>(
    provider: &P,
    oracle: &RangeOracle::RangeOracleInstance<P>,
    from: Address,
    hash: B256,
    chunks: &[range_fact::CodeChunk],
) -> Result<(), RangeJobError> {
    let count = chunks.len();
    let chunk_err = |index: usize, reason: String| RangeJobError::Chunk {
        id: hash,
        index,
        count,
        reason,
    };
    let nonce = provider
        .get_transaction_count(from)
        .pending()
        .await
        .map_err(|e| RangeJobError::Read {
            what: "the account's pending nonce",
            reason: e.to_string(),
        })?;
    let inputs = chunks.iter().enumerate().map(|(i, c)| {
        let input = oracle
            .absorbCodeChunk(c.state.clone().into(), c.code.clone().into())
            .calldata()
            .clone();
        (i, input)
    });
    let to = *oracle.address();
    send_back_to_back(provider, to, from, nonce, inputs, CODE_CHUNK_GAS, chunk_err).await
}

/// Sends the chunk transactions `inputs` (each its index and calldata) to `to` back to back
/// from `nonce` on, at `gas` each (at most [`IN_FLIGHT`] unconfirmed), and awaits their
/// receipts. On the first failure it stops sending, still awaits what is in flight (so a retry
/// starts from a settled progress and nonce), and reports the failed chunk.
async fn send_back_to_back<P: Provider + Clone>(
    provider: &P,
    to: Address,
    from: Address,
    nonce: u64,
    inputs: impl Iterator<Item = (usize, Bytes)>,
    gas: u64,
    chunk_err: impl Fn(usize, String) -> RangeJobError,
) -> Result<(), RangeJobError> {
    let mut in_flight: VecDeque<(usize, PendingTransactionBuilder<_>)> = VecDeque::new();
    let mut failed = None;
    for (k, (i, input)) in inputs.enumerate() {
        if in_flight.len() >= IN_FLIGHT
            && let Some((j, sent)) = in_flight.pop_front()
            && let Err(e) = confirm(sent).await
        {
            failed = Some(chunk_err(j, e));
            break;
        }
        let sent = RawCallBuilder::new_raw(provider.clone(), input)
            .to(to)
            .from(from)
            .nonce(nonce + k as u64)
            .gas(gas)
            .send()
            .await;
        match sent {
            Ok(sent) => in_flight.push_back((i, sent)),
            Err(e) => {
                failed = Some(chunk_err(i, format!("send: {e}")));
                break;
            }
        }
    }
    for (j, sent) in in_flight {
        if let Err(e) = confirm(sent).await
            && failed.is_none()
        {
            failed = Some(chunk_err(j, e));
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The oracle's view of `plan`'s job.
fn job_of(plan: &JobPlan) -> RangeOracle::Job {
    RangeOracle::Job {
        srcRoot: plan.job.src_root,
        srcOffset: U256::from(plan.job.src_offset),
        srcSize: U256::from(plan.job.src_size),
        len: U256::from(plan.job.len),
        flags: U256::from(plan.job.flags),
        dstRoot: plan.job.dst_root,
        dstOffset: U256::from(plan.job.dst_offset),
    }
}

/// Completes `plan`'s job on `oracle`: from the oracle's progress, the remaining chunks back to
/// back; after a failed chunk, again from the progress then, at most [`ATTEMPTS`] times.
async fn run_job<P: Provider + Clone>(
    provider: &P,
    oracle: &RangeOracle::RangeOracleInstance<P>,
    from: Address,
    plan: &JobPlan,
) -> Result<(), RangeJobError> {
    let id = plan.job.id();
    let mut last = None;
    for attempt in 0..=ATTEMPTS {
        let progress = oracle
            .progress(id)
            .call()
            .await
            .map_err(|e| RangeJobError::Read {
                what: "the range oracle's progress",
                reason: e.to_string(),
            })?;
        if progress.complete {
            info!(target: "challenger", job = %id, bytes = plan.job.len, chunks = plan.chunks.len(), "range job complete");
            return Ok(());
        }
        if attempt == ATTEMPTS {
            break;
        }
        let done = u64::try_from(progress.done).unwrap_or(u64::MAX);
        // Chunks are fixed by the job: skip those someone already absorbed. [v0.16] An ENTRIES
        // job keeps every state a chunk left and its progress is the last chunk's, which may
        // be one that leads nowhere (a wrong hint): its chunks are sent again from the first.
        let first = if plan.job.flags == range_fact::ENTRIES {
            0
        } else {
            match (0..plan.chunks.len()).find(|&i| at_of(plan, i) == done) {
                Some(first) => first,
                None => return Err(RangeJobError::NotAtBoundary { id, done }),
            }
        };
        if let Err(e) = send_chunks(provider, oracle, from, plan, first).await {
            warn!(target: "challenger", job = %id, attempt = attempt + 1, error = %e, "range job chunk failed; resuming from the oracle's progress");
            last = Some(e);
        }
    }
    let last = last.unwrap_or(RangeJobError::Chunk {
        id,
        index: plan.chunks.len(),
        count: plan.chunks.len(),
        reason: "every chunk landed, yet the job is incomplete".into(),
    });
    Err(RangeJobError::GaveUp {
        id,
        last: Box::new(last),
    })
}

/// The job's byte where chunk `i` starts.
fn at_of(plan: &JobPlan, i: usize) -> u64 {
    plan.chunks[..i].iter().map(|c| c.n).sum()
}

/// Sends `plan`'s chunks from `first` on back to back ([`send_back_to_back`]), each at the
/// first one's estimate.
async fn send_chunks<P: Provider + Clone>(
    provider: &P,
    oracle: &RangeOracle::RangeOracleInstance<P>,
    from: Address,
    plan: &JobPlan,
    first: usize,
) -> Result<(), RangeJobError> {
    let id = plan.job.id();
    let count = plan.chunks.len();
    let job = job_of(plan);
    let chunk_err = |index: usize, reason: String| RangeJobError::Chunk {
        id,
        index,
        count,
        reason,
    };
    // An FLZ job's chunks pass the state the previous one left (in `dst`) to `absorbFlz`
    // (SPEC.md §3.4.1 v0.11), a LOGS job's to `absorbLogs` (v0.15), an ENTRIES job's (with
    // their hints) to `absorbEntries` (v0.16); the others go to `absorb`.
    let absorb = |i: usize| {
        let c = &plan.chunks[i];
        let (n, src, dst) = (U256::from(c.n), c.src.clone().into(), c.dst.clone().into());
        if plan.job.flags == range_fact::ENTRIES {
            oracle
                .absorbEntries(job.clone(), n, src, dst)
                .calldata()
                .clone()
        } else if plan.job.flags == range_fact::LOGS {
            oracle
                .absorbLogs(job.clone(), n, src, dst)
                .calldata()
                .clone()
        } else if plan.job.flags == range_fact::FLZ {
            oracle
                .absorbFlz(job.clone(), n, src, dst)
                .calldata()
                .clone()
        } else {
            oracle.absorb(job.clone(), n, src, dst).calldata().clone()
        }
    };
    let to = *oracle.address();
    let nonce = provider
        .get_transaction_count(from)
        .pending()
        .await
        .map_err(|e| RangeJobError::Read {
            what: "the account's pending nonce",
            reason: e.to_string(),
        })?;
    // The first chunk bounds the others: they absorb as many bytes or fewer, and it pays for
    // the oracle's storage set from zero (the sponge's lanes, the running root).
    let estimate = RawCallBuilder::new_raw(provider.clone(), absorb(first))
        .to(to)
        .from(from)
        .estimate_gas()
        .await
        .map_err(|e| chunk_err(first, format!("estimate: {e}")))?;
    let mut gas = estimate + estimate / 4 + 20_000;
    if plan.job.flags == range_fact::FLZ {
        // An FLZ chunk's cost follows its bytes (a match every three bytes costs about four
        // times a literal run), and the first passes no state: it bounds nothing.
        gas = gas.max(FLZ_CHUNK_GAS);
    }
    if plan.job.flags == range_fact::LOGS {
        // A LOGS chunk's cost follows its logs (many short ones cost more than one long one,
        // whose hash is a fact), and the first passes no state: it bounds nothing.
        gas = gas.max(LOGS_CHUNK_GAS);
    }
    if plan.job.flags == range_fact::ENTRIES {
        gas = gas.max(ENTRIES_CHUNK_GAS);
    }
    let inputs = (first..count).map(|i| (i, absorb(i)));
    send_back_to_back(provider, to, from, nonce, inputs, gas, chunk_err).await?;
    info!(target: "challenger", job = %id, chunks = count - first, gas_limit = gas, "range job chunks landed");
    Ok(())
}

/// Awaits a chunk's receipt; a reverted or missing one is an error.
async fn confirm<N: alloy::network::Network>(
    sent: PendingTransactionBuilder<N>,
) -> Result<(), String> {
    let receipt = sent
        .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| e.to_string())?;
    use alloy::network::ReceiptResponse;
    if receipt.status() {
        Ok(())
    } else {
        Err(format!(
            "reverted in L1 transaction {}",
            receipt.transaction_hash()
        ))
    }
}

/// The range oracle of the `OneStepVerifier` behind game `game` (game → verifier → steps →
/// `rangeOracle`).
pub async fn oracle_of<P: Provider + Clone>(
    provider: &P,
    game: Address,
) -> Result<Address, RangeJobError> {
    let read = |what: &'static str| {
        move |e: alloy::contract::Error| RangeJobError::Read {
            what,
            reason: e.to_string(),
        }
    };
    let verifier = BisectionGame::new(game, provider.clone())
        .verifier()
        .call()
        .await
        .map_err(read("the game's verifier"))?;
    let steps = GameVerifier::new(verifier, provider.clone())
        .steps()
        .call()
        .await
        .map_err(read("the verifier's step verifier"))?;
    OneStepVerifier::new(steps, provider.clone())
        .rangeOracle()
        .call()
        .await
        .map_err(read("the step verifier's range oracle"))
}
