//! Runs the L1 `RangeOracle`'s jobs before a step over a long range is sent (fraud-vm/SPEC.md
//! §3.4.1 v0.9): such a step's canonical proof does not fit one L1 transaction, so the player
//! sends its L1 form, whose long ranges are fact markers, after completing the job of each on
//! the oracle of the game's `OneStepVerifier`, one chunk per L1 transaction. Chunks already
//! absorbed (by anyone) are skipped.

use alloy::{
    primitives::{Address, Bytes},
    providers::Provider,
};
use fraud_vm::{
    StepProof,
    range_fact::{self, LONG_WORDS},
};
use tracing::info;

use crate::l1::bindings::{BisectionGame, GameVerifier, OneStepVerifier, RangeOracle};

/// The proof to send for the step proven by `proof` (canonical bytes): itself when no range is
/// long, else its L1 form once the oracle holds every fact it names.
pub async fn prepare_step<P: Provider + Clone>(
    provider: &P,
    game: Address,
    proof: &Bytes,
) -> Result<Bytes, String> {
    let Ok(decoded) = StepProof::decode(proof) else {
        return Ok(proof.clone());
    };
    let Some(l1) = range_fact::l1_form(&decoded, LONG_WORDS) else {
        return Ok(proof.clone());
    };
    let oracle = RangeOracle::new(oracle_of(provider, game).await?, provider.clone());
    for plan in &l1.jobs {
        let job = RangeOracle::Job {
            srcRoot: plan.job.src_root,
            srcOffset: alloy::primitives::U256::from(plan.job.src_offset),
            srcSize: alloy::primitives::U256::from(plan.job.src_size),
            len: alloy::primitives::U256::from(plan.job.len),
            flags: alloy::primitives::U256::from(plan.job.flags),
            dstRoot: plan.job.dst_root,
            dstOffset: alloy::primitives::U256::from(plan.job.dst_offset),
        };
        let id = plan.job.id();
        let progress = oracle
            .progress(id)
            .call()
            .await
            .map_err(|e| format!("reading the range oracle: {e}"))?;
        if progress.complete {
            continue;
        }
        let mut done = u64::try_from(progress.done).map_err(|e| e.to_string())?;
        let mut at = 0u64;
        for chunk in &plan.chunks {
            // Chunks are fixed by the job: skip those someone already absorbed.
            if at < done {
                at += chunk.n;
                continue;
            }
            if at != done {
                return Err(format!(
                    "range job {id}: absorbed up to {done}, not a chunk boundary"
                ));
            }
            let builder = oracle.absorb(
                job.clone(),
                alloy::primitives::U256::from(chunk.n),
                chunk.src.clone().into(),
                chunk.dst.clone().into(),
            );
            let estimate = builder
                .estimate_gas()
                .await
                .map_err(|e| format!("absorb: {e}"))?;
            let receipt = builder
                .gas(estimate + estimate / 4 + 20_000)
                .send()
                .await
                .map_err(|e| format!("absorb: {e}"))?
                .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
                .get_receipt()
                .await
                .map_err(|e| format!("absorb: {e}"))?;
            if !receipt.status() {
                return Err(format!(
                    "absorb reverted in L1 transaction {}",
                    receipt.transaction_hash
                ));
            }
            at += chunk.n;
            done = at;
        }
        info!(target: "challenger", job = %id, bytes = plan.job.len, chunks = plan.chunks.len(), "range job complete");
    }
    Ok(l1.bytes.into())
}

/// The range oracle of the `OneStepVerifier` behind game `game` (game → verifier → steps →
/// `rangeOracle`).
pub async fn oracle_of<P: Provider + Clone>(
    provider: &P,
    game: Address,
) -> Result<Address, String> {
    let verifier = BisectionGame::new(game, provider.clone())
        .verifier()
        .call()
        .await
        .map_err(|e| format!("reading the game's verifier: {e}"))?;
    let steps = GameVerifier::new(verifier, provider.clone())
        .steps()
        .call()
        .await
        .map_err(|e| format!("reading the verifier's step verifier: {e}"))?;
    OneStepVerifier::new(steps, provider.clone())
        .rangeOracle()
        .call()
        .await
        .map_err(|e| format!("reading the step verifier's range oracle: {e}"))
}
