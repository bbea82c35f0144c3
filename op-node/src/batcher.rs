//! The batcher: posts the sequencer's sealed L2 blocks to L1 as batches (op-node/BATCHES.md),
//! from the batcher key to the batch inbox, so anyone can derive the chain from L1 alone.
//!
//! It runs as its own task and never holds up block production: it reads sealed blocks from
//! storage, packs as many as fit one L1 transaction into a zlib channel (a block too large
//! for one transaction is cut into frames over several), and sends. What it has posted is
//! checked against the safe head that derivation records: blocks replaced on the L2 (a
//! reorg) or not confirmed within [`RESUBMIT_AFTER`] are posted again from the safe head;
//! batches already derived are dropped by derivation as old, so reposting is harmless.

use crate::{
    batch::{Batch, MAX_FRAME_DATA, compress_batches, frames_for_channel},
    block::SealedBlock,
    derivation::origin_of,
    storage::{StorageError, Store},
};
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, keccak256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Posted blocks not safe after this long are posted again.
pub const RESUBMIT_AFTER: Duration = Duration::from_secs(30);

/// Most compressed channel bytes per L1 transaction (one frame, under geth's 128 KiB
/// transaction size limit with room for the frame header).
pub const MAX_CHANNEL_PER_TX: usize = MAX_FRAME_DATA;

/// Most L1 transactions sent in one round, so a long backlog goes out in steady steps.
const MAX_TXS_PER_ROUND: usize = 8;

/// What the batcher needs.
#[derive(Debug)]
pub struct BatcherConfig {
    /// L1 JSON-RPC endpoint.
    pub l1_url: String,
    /// The batch inbox.
    pub inbox: Address,
    /// The batcher's key.
    pub signer: PrivateKeySigner,
    /// The L2's storage (sealed blocks and the safe head).
    pub store: Arc<Store>,
    /// How often to look for new blocks.
    pub interval: Duration,
}

/// Why a round failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
enum BatcherError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("L1: {0}")]
    L1(String),
}

/// Where posting stands.
#[derive(Debug, Default)]
struct Posted {
    /// The next L2 block to post.
    next: u64,
    /// Blocks posted and not yet safe, with the hashes they had and when they were posted.
    pending: Vec<(u64, B256, Instant)>,
    /// Channels opened so far (for fresh channel ids).
    channels: u64,
    /// Figures since the last progress line: L2 blocks, transactions, bytes, L1 transactions.
    since_report: (u64, u64, u64, u64),
    /// When the last progress line was logged.
    reported: Option<Instant>,
}

/// How often the batcher logs what it posted.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// Starts the batcher task.
pub fn spawn(config: BatcherConfig) -> Result<JoinHandle<()>, String> {
    let from = config.signer.address();
    let provider = crate::l1::wallet_provider(&config.l1_url, config.signer.clone())?;
    Ok(tokio::spawn(async move {
        let mut posted = Posted::default();
        let mut failures = 0u32;
        loop {
            let wait = config.interval * 2u32.saturating_pow(failures.min(5));
            tokio::time::sleep(wait).await;
            match round(&config, &provider, from, &mut posted).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(target: "batcher", error = %e, retry_in_ms = (config.interval * 2u32.saturating_pow(failures.min(5))).as_millis() as u64, "posting batches failed");
                }
            }
        }
    }))
}

/// The batch of a sealed L2 block: its parent, L1 origin, timestamp and non-deposit
/// transactions. `None` for a block without an L1 origin (the genesis).
pub fn batch_of(block: &SealedBlock) -> Option<Batch> {
    let origin = origin_of(&block.txs)?;
    Some(Batch {
        parent_hash: block.header.parent_hash,
        epoch_number: origin.number,
        epoch_hash: origin.hash,
        timestamp: block.header.timestamp,
        transactions: block
            .txs
            .iter()
            .filter(|t| !t.tx.is_deposit())
            .map(|t| t.encoded.clone())
            .collect(),
    })
}

/// One round: reconcile what was posted with the safe head, then post what is waiting.
async fn round<P: Provider>(
    config: &BatcherConfig,
    provider: &P,
    from: Address,
    posted: &mut Posted,
) -> Result<(), BatcherError> {
    for _ in 0..MAX_TXS_PER_ROUND {
        let reader = config.store.reader()?;
        let head = reader.head_number()?.unwrap_or(0);
        let safe = reader.safe_number()?.unwrap_or(0);
        posted.pending.retain(|(n, _, _)| *n > safe);
        let mut replaced = false;
        for (n, hash, _) in &posted.pending {
            if reader.header(*n)?.map(|(h, _)| h) != Some(*hash) {
                replaced = true;
                break;
            }
        }
        let stale = posted
            .pending
            .first()
            .is_some_and(|(_, _, at)| at.elapsed() > RESUBMIT_AFTER);
        if replaced || stale {
            warn!(target: "batcher", safe, posted_up_to = posted.next.saturating_sub(1), replaced, stale, "posted blocks are not safe: posting again from the safe head");
            posted.pending.clear();
            posted.next = 0;
        }
        posted.next = posted.next.max(safe + 1);
        if posted.next > head {
            return Ok(());
        }
        // Gather blocks until their raw batches would fill a transaction twice over.
        let mut batches = Vec::new();
        let mut raw = 0usize;
        for n in posted.next..=head {
            let Some(block) = reader.block(n)? else { break };
            let Some(batch) = batch_of(&block) else {
                continue;
            };
            raw += batch.transactions.iter().map(|t| t.len()).sum::<usize>() + 100;
            batches.push((n, block.hash, batch));
            if raw > 2 * MAX_CHANNEL_PER_TX {
                break;
            }
        }
        drop(reader);
        if batches.is_empty() {
            return Ok(());
        }
        let (compressed, count) = fit(&batches);
        let (first, last) = (batches[0].0, batches[count - 1].0);
        posted.channels += 1;
        let id_hash = keccak256(
            [
                batches[0].1.as_slice(),
                &posted.channels.to_be_bytes(),
                from.as_slice(),
            ]
            .concat(),
        );
        let mut id = [0u8; 16];
        id.copy_from_slice(&id_hash[..16]);
        let frames = frames_for_channel(id, &compressed, MAX_FRAME_DATA);
        let txs: usize = batches[..count]
            .iter()
            .map(|(_, _, b)| b.transactions.len())
            .sum();
        for calldata in &frames {
            let request = TransactionRequest::default()
                .with_from(from)
                .with_to(config.inbox)
                .with_input(Bytes::from(calldata.clone()));
            let pending = provider
                .send_transaction(request)
                .await
                .map_err(|e| BatcherError::L1(e.to_string()))?;
            debug!(target: "batcher", tx = %pending.tx_hash(), bytes = calldata.len(), "sent batcher transaction");
        }
        debug!(
            target: "batcher",
            l2_blocks = %format!("{first}..={last}"),
            txs,
            compressed_bytes = compressed.len(),
            l1_txs = frames.len(),
            "posted batches"
        );
        let r = &mut posted.since_report;
        *r = (
            r.0 + count as u64,
            r.1 + txs as u64,
            r.2 + compressed.len() as u64,
            r.3 + frames.len() as u64,
        );
        let now = Instant::now();
        if posted.reported.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            let (blocks, txs, bytes, l1_txs) = std::mem::take(&mut posted.since_report);
            info!(target: "batcher", l2_blocks = blocks, txs, compressed_bytes = bytes, l1_txs, up_to = last, "posted batches");
            posted.reported = Some(now);
        }
        posted
            .pending
            .extend(batches[..count].iter().map(|(n, h, _)| (*n, *h, now)));
        posted.next = last + 1;
    }
    Ok(())
}

/// Compresses the longest prefix of `batches` whose channel fits one L1 transaction (at
/// least one batch, which may then need several frames). Returns the channel and how many
/// batches it holds.
pub fn fit(batches: &[(u64, B256, Batch)]) -> (Vec<u8>, usize) {
    let mut count = batches.len();
    loop {
        let channel: Vec<Batch> = batches[..count].iter().map(|(_, _, b)| b.clone()).collect();
        let compressed = compress_batches(&channel);
        if compressed.len() <= MAX_CHANNEL_PER_TX || count == 1 {
            return (compressed, count);
        }
        // Scale by the ratio seen, a little under, and always make progress.
        let scaled = count * MAX_CHANNEL_PER_TX * 95 / (compressed.len() * 100);
        count = scaled.clamp(1, count - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::decompress_batches;

    fn batch(i: u64, txs: usize, size: usize) -> (u64, B256, Batch) {
        // Incompressible transaction bytes, like signatures.
        let tx = |j: usize| {
            Bytes::from(
                (0..size)
                    .map(|k| {
                        keccak256((i * 1_000_000 + j as u64 * 1000 + k as u64).to_be_bytes())[0]
                    })
                    .collect::<Vec<u8>>(),
            )
        };
        (
            i,
            B256::repeat_byte(i as u8),
            Batch {
                parent_hash: B256::repeat_byte(i as u8),
                epoch_number: i,
                epoch_hash: B256::ZERO,
                timestamp: i,
                transactions: (0..txs).map(tx).collect(),
            },
        )
    }

    #[test]
    fn fit_fills_one_transaction_and_keeps_order() {
        let batches: Vec<_> = (1..40).map(|i| batch(i, 30, 110)).collect();
        let (compressed, count) = fit(&batches);
        assert!(compressed.len() <= MAX_CHANNEL_PER_TX);
        assert!(count > 10 && count < batches.len());
        let (decoded, error) = decompress_batches(&compressed);
        assert!(error.is_none());
        let want: Vec<Batch> = batches[..count].iter().map(|(_, _, b)| b.clone()).collect();
        assert_eq!(decoded, want);
    }

    #[test]
    fn one_huge_block_goes_alone() {
        let batches = vec![batch(1, 1500, 110), batch(2, 1, 110)];
        let (compressed, count) = fit(&batches);
        assert_eq!(count, 1);
        assert!(compressed.len() > MAX_CHANNEL_PER_TX);
        assert!(frames_for_channel([0; 16], &compressed, MAX_FRAME_DATA).len() > 1);
    }
}
