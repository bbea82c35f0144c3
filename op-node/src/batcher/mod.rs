//! The batcher: records the sequencer's sealed L2 blocks in the L1 BatchInbox (batch format
//! v1, op-node/BATCHES.md), uncompressed, with `appendBlocks`, so anyone can derive the chain
//! from L1 alone and the dispute game can open every block's inputs on L1.
//!
//! It runs as its own task and never holds up block production. Each round it reads where the
//! inbox stands (`inboxState`), packs the next sealed blocks into one append ([`plan`]), checks
//! it with a gas estimate (which runs the inbox's rules: a refusal is logged by name and the
//! append re-planned from the inbox's state next round), sends it and waits for its receipt.
//! It posts block `n` only on top of a block `n - 1` the inbox recorded from this chain (one it
//! posted itself, or one derivation has made safe), so after a restart or a reorg it resumes
//! from the safe head. When the inbox's epoch has fallen out of the sequencing window and the
//! next block can no longer be appended, it forces the next epoch (anyone may), after which
//! derivation replaces the unposted blocks with the forced ones.

pub mod plan;

use crate::storage::{StorageError, Store};
use alloy::{
    consensus::Header,
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes, keccak256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use bridge::bindings::BatchInbox;
use plan::{InboxCursor, LocalBlock, MAX_APPEND_DATA, MAX_BLOCKS_PER_APPEND, PlanError};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Most appends sent in one round, so a long backlog goes out in steady steps.
const MAX_APPENDS_PER_ROUND: usize = 8;

/// Most gas one append may take: the estimate of a planned append above it makes the plan
/// smaller (under EIP-7825's 2^24 transaction gas cap, with room).
const MAX_APPEND_GAS: u64 = 15_000_000;

/// How often the batcher logs what it posted.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// L1 headers kept for the appends that start epochs.
const HEADER_CACHE: usize = 512;

/// What the batcher needs.
#[derive(Debug)]
pub struct BatcherConfig {
    /// L1 JSON-RPC endpoint.
    pub l1_url: String,
    /// The BatchInbox contract.
    pub inbox: Address,
    /// The batcher's key (the inbox's `batcher`).
    pub signer: PrivateKeySigner,
    /// The L2's storage (sealed blocks and the safe head).
    pub store: Arc<Store>,
    /// How often to look for new blocks.
    pub interval: Duration,
    /// Whether to force the next epoch when the sequencing window has passed (off only for the
    /// devnet's deposit-censoring fault).
    pub force_epochs: bool,
    /// Ends a back-off early once the L1 watcher reaches the L1 again.
    pub l1_recovered: crate::l1::L1Recovered,
}

/// Why a round failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
enum BatcherError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("L1: {0}")]
    L1(String),
}

/// What the batcher remembers between rounds.
#[derive(Debug, Default)]
struct Posted {
    /// The last block the batcher's own appends closed, with the local hash it had.
    closed: Option<(u64, B256)>,
    /// L1 headers by number (the epochs appends start), with their hashes.
    headers: BTreeMap<u64, (B256, Bytes)>,
    /// Figures since the last progress line: L2 blocks, transactions, bytes, L1 transactions, gas.
    since_report: (u64, u64, u64, u64, u64),
    /// When the last progress line was logged.
    reported: Option<Instant>,
}

/// Starts the batcher task.
pub fn spawn(config: BatcherConfig) -> Result<JoinHandle<()>, String> {
    let provider = crate::l1::wallet_provider(&config.l1_url, config.signer.clone())?;
    Ok(tokio::spawn(async move {
        let inbox = BatchInbox::new(config.inbox, provider.clone());
        let mut posted = Posted::default();
        let mut failures = 0u32;
        let mut recovered = config.l1_recovered.clone();
        loop {
            let wait = config.interval * 2u32.saturating_pow(failures.min(5));
            crate::l1::back_off(wait, &mut recovered).await;
            match round(&config, &provider, &inbox, &mut posted).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(target: "batcher", error = %e, retry_in_ms = (config.interval * 2u32.saturating_pow(failures.min(5))).as_millis() as u64, "posting blocks failed");
                }
            }
        }
    }))
}

type Inbox<P> = BatchInbox::BatchInboxInstance<P>;

/// One round: up to [`MAX_APPENDS_PER_ROUND`] appends, each planned from the inbox's state.
async fn round<P: Provider + Clone>(
    config: &BatcherConfig,
    provider: &P,
    inbox: &Inbox<P>,
    posted: &mut Posted,
) -> Result<(), BatcherError> {
    for _ in 0..MAX_APPENDS_PER_ROUND {
        let state = inbox.inboxState().call().await.map_err(l1_error)?;
        let l1_head = provider.get_block_number().await.map_err(l1_error)?;
        let window = inbox.seqWindowSize().call().await.map_err(l1_error)?;
        let next = state.nextBlock;
        let Some(blocks) = postable(config, posted, &state)? else {
            return Ok(());
        };
        // The next block's epoch must still be in its window when the append lands (the next
        // L1 block at the earliest); if not, only forcing moves the inbox on.
        let next_epoch = blocks.first().map(|b| b.epoch);
        if next_epoch.is_none_or(|e| l1_head + 1 >= e.saturating_add(window)) {
            let forcible = inbox.forcibleFrom().call().await.map_err(l1_error)?;
            if config.force_epochs && l1_head + 1 >= forcible {
                force(provider, inbox, posted, &state).await?;
                continue;
            }
            if next_epoch.is_some() {
                debug!(target: "batcher", next, l1_head, "the next block's sequencing window has passed; waiting for the epoch to be forced");
            }
            return Ok(());
        }
        let cursor = InboxCursor {
            next_block: next,
            last_epoch: state.started.then_some(state.epoch),
            open: state.open.then_some(state.openTxCount),
        };
        if let Some(done) = cursor.open
            && !open_block_is_ours(inbox, &blocks[0], done, &state).await?
        {
            debug!(target: "batcher", block = next, "the inbox's open block is not this chain's; waiting for it to be forced");
            return Ok(());
        }
        if !send_append(
            provider,
            inbox,
            posted,
            &cursor,
            &blocks,
            config.signer.address(),
        )
        .await?
        {
            return Ok(());
        }
    }
    Ok(())
}

/// The local blocks from the inbox's next block on (up to what one append can carry), if the
/// block before it is one the inbox recorded from this chain; `None` when there is nothing to
/// post or the chain must first be confirmed by derivation.
fn postable(
    config: &BatcherConfig,
    posted: &Posted,
    state: &BatchInbox::State,
) -> Result<Option<Vec<LocalBlock>>, BatcherError> {
    let reader = config.store.reader()?;
    let head = reader.head_number()?.unwrap_or(0);
    let safe = reader.safe_number()?.unwrap_or(0);
    let next = state.nextBlock;
    let parent = next.saturating_sub(1);
    let recorded_parent = !state.started
        || parent <= safe
        || posted.closed.is_some_and(|(n, hash)| {
            n == parent && reader.header(n).ok().flatten().map(|(h, _)| h) == Some(hash)
        });
    if !recorded_parent {
        debug!(target: "batcher", next, safe, "waiting for derivation to confirm the block the inbox ends with");
        return Ok(None);
    }
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    for n in next..=head {
        let Some(block) = reader.block(n)? else { break };
        let Some(local) = LocalBlock::of(&block) else {
            break;
        };
        bytes += local
            .transactions
            .iter()
            .map(|t| t.len() + 4)
            .sum::<usize>()
            + 100;
        blocks.push(local);
        if bytes > MAX_APPEND_DATA || blocks.len() >= MAX_BLOCKS_PER_APPEND {
            break;
        }
    }
    Ok(Some(blocks))
}

/// Whether the inbox's open block is the prefix of local block `block`: same timestamp and
/// epoch, and the frontier of its first `done` transactions.
async fn open_block_is_ours<P: Provider>(
    inbox: &Inbox<P>,
    block: &LocalBlock,
    done: u32,
    state: &BatchInbox::State,
) -> Result<bool, BatcherError> {
    if block.timestamp != state.timestamp
        || block.epoch != state.epoch
        || done as usize > block.transactions.len()
    {
        return Ok(false);
    }
    let open = inbox.openBlock().call().await.map_err(l1_error)?;
    Ok(open.frontierHash == block.frontier(done as usize).frontier_hash())
}

/// Plans, checks and sends one append; `false` when it was refused (logged) and the round
/// should end.
async fn send_append<P: Provider + Clone>(
    provider: &P,
    inbox: &Inbox<P>,
    posted: &mut Posted,
    cursor: &InboxCursor,
    blocks: &[LocalBlock],
    from: Address,
) -> Result<bool, BatcherError> {
    let mut max_blocks = MAX_BLOCKS_PER_APPEND;
    let mut max_len = MAX_APPEND_DATA;
    loop {
        // Headers of the epochs the planned blocks start, fetched first (the planner is pure).
        let mut last = cursor.last_epoch;
        for block in blocks.iter().take(max_blocks) {
            // A header cached before an L1 reorg has the number but not the hash: the inbox
            // would refuse it (HeaderMismatch) on every round, so fetch the canonical one.
            let cached = posted.headers.get(&block.epoch);
            if last != Some(block.epoch) && cached.is_none_or(|(h, _)| *h != block.epoch_hash) {
                let (hash, rlp) = l1_header(provider, block.epoch).await?;
                if hash != block.epoch_hash {
                    warn!(target: "batcher", block = block.number, epoch = block.epoch, "the block's L1 origin is no longer canonical; waiting for the sequencer to rebuild it");
                    return Ok(false);
                }
                posted.headers.insert(block.epoch, (hash, rlp));
                while posted.headers.len() > HEADER_CACHE {
                    posted.headers.pop_first();
                }
            }
            last = Some(block.epoch);
        }
        let headers = &posted.headers;
        let planned = match plan::plan_append(
            cursor,
            blocks,
            &mut |epoch| headers.get(&epoch).map(|(_, rlp)| rlp.clone()),
            max_len,
            max_blocks,
        ) {
            Ok(planned) => planned,
            Err(PlanError::Nothing) => return Ok(false),
            Err(e) => {
                warn!(target: "batcher", error = %e, "cannot plan an append");
                return Ok(false);
            }
        };
        let data: Bytes = planned.data.encode().into();
        let call = inbox.appendBlocks(data.clone()).from(from);
        let gas = match call.estimate_gas().await {
            Ok(gas) => gas,
            Err(e) => {
                let reason = e
                    .as_decoded_interface_error::<BatchInbox::BatchInboxErrors>()
                    .map_or_else(|| e.to_string(), |r| format!("{r:?}"));
                warn!(target: "batcher", first = cursor.next_block, %reason, "the inbox would refuse the append; planning again from its state");
                return Ok(false);
            }
        };
        if gas > MAX_APPEND_GAS && (max_blocks > 1 || max_len > MAX_APPEND_DATA / 8) {
            max_blocks = (planned.data.blocks.len() / 2).max(1);
            max_len /= 2;
            debug!(target: "batcher", gas, max_blocks, max_len, "append over the gas cap; planning a smaller one");
            continue;
        }
        let receipt = call
            .gas(gas + gas / 5)
            .send()
            .await
            .map_err(l1_error)?
            .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(l1_error)?;
        if !receipt.status() {
            warn!(target: "batcher", tx = %receipt.transaction_hash, first = cursor.next_block, "append reverted on L1; planning again from the inbox's state");
            return Ok(false);
        }
        if planned.closes_through.is_some() {
            posted.closed = planned.closes_through;
        }
        let blocks_closed = planned
            .closes_through
            .map_or(0, |(n, _)| n + 1 - cursor.next_block);
        debug!(
            target: "batcher",
            first = cursor.next_block,
            closed = blocks_closed,
            open = ?planned.leaves_open,
            txs = planned.transactions,
            bytes = data.len(),
            gas = receipt.gas_used,
            tx = %receipt.transaction_hash,
            "appended blocks"
        );
        report(
            posted,
            blocks_closed,
            &planned,
            data.len(),
            receipt.gas_used,
        );
        return Ok(true);
    }
}

fn report(posted: &mut Posted, blocks: u64, planned: &plan::PlannedAppend, bytes: usize, gas: u64) {
    let r = &mut posted.since_report;
    *r = (
        r.0 + blocks,
        r.1 + planned.transactions as u64,
        r.2 + bytes as u64,
        r.3 + 1,
        r.4 + gas,
    );
    if posted.reported.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
        let (blocks, txs, bytes, l1_txs, gas) = std::mem::take(&mut posted.since_report);
        let up_to = posted.closed.map(|(n, _)| n);
        info!(target: "batcher", l2_blocks = blocks, txs, bytes, l1_txs, gas, ?up_to, "appended blocks to the inbox");
        posted.reported = Some(Instant::now());
    }
}

/// Forces the inbox's next epoch (its window has passed with nothing appendable).
async fn force<P: Provider>(
    provider: &P,
    inbox: &Inbox<P>,
    posted: &mut Posted,
    state: &BatchInbox::State,
) -> Result<(), BatcherError> {
    let epoch = if state.started {
        state.epoch + 1
    } else {
        inbox.genesisEpoch().call().await.map_err(l1_error)?
    };
    let (_, header) = l1_header(provider, epoch).await?;
    let receipt = inbox
        .forceNextEpoch(header)
        .send()
        .await
        .map_err(l1_error)?
        .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(l1_error)?;
    if receipt.status() {
        info!(target: "batcher", epoch, l2_block = state.nextBlock, "sequencing window passed: forced the next epoch");
        // The blocks from here on are the inbox's, not the ones this batcher posted.
        posted.closed = None;
    } else {
        warn!(target: "batcher", epoch, tx = %receipt.transaction_hash, "forcing the next epoch reverted");
    }
    Ok(())
}

/// The RLP header of L1 block `number` and its hash, checked against each other: re-encoded
/// from the JSON block, or else as the node's `debug_getRawHeader` gives it.
async fn l1_header<P: Provider>(provider: &P, number: u64) -> Result<(B256, Bytes), BatcherError> {
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(l1_error)?
        .ok_or_else(|| BatcherError::L1(format!("L1 block {number} not found")))?;
    let hash = block.header.hash;
    let header: &Header = &block.header.inner;
    let rlp: Bytes = alloy::rlp::encode(header).into();
    if keccak256(&rlp) == hash {
        return Ok((hash, rlp));
    }
    let raw: Bytes = provider
        .raw_request("debug_getRawHeader".into(), (BlockNumberOrTag::Number(number),))
        .await
        .map_err(|e| {
            BatcherError::L1(format!(
                "L1 block {number}: its header does not re-encode to its hash and debug_getRawHeader failed: {e}"
            ))
        })?;
    if keccak256(&raw) != hash {
        return Err(BatcherError::L1(format!(
            "L1 block {number}: no header that hashes to {hash}"
        )));
    }
    Ok((hash, raw))
}

fn l1_error(e: impl std::fmt::Display) -> BatcherError {
    BatcherError::L1(e.to_string())
}
