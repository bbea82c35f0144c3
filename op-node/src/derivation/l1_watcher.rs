//! Follows the L1 over JSON-RPC: headers, the portal's deposit logs and the batch inbox's
//! successful calls of every new block, kept in a shared view the sequencer reads without
//! waiting on the network.

use super::{InboxCall, L1Block, TRANSACTION_DEPOSITED, deposit_from_log};
use alloy::{
    consensus::Transaction as _,
    eips::BlockNumberOrTag,
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent},
};
use bridge::bindings::BatchInbox;
use parking_lot::RwLock;
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tracing::{debug, info, warn};

/// How many L1 blocks the view keeps behind its head (more while derivation still needs them).
const RETAINED_BLOCKS: u64 = 8192;
/// How far the watcher reads ahead of the last block derivation processed, so a node far
/// behind (a verifier syncing a long chain) never has blocks pruned before it used them.
const READ_AHEAD: u64 = 4096;
/// Blocks kept below the last processed one (for reorg checks and the origins of recorded blocks).
const KEPT_BELOW_PROCESSED: u64 = 1024;

/// Where and how to follow the L1.
#[derive(Debug, Clone)]
pub struct L1WatcherConfig {
    /// L1 JSON-RPC endpoint.
    pub url: String,
    /// The portal whose `TransactionDeposited` logs are deposits.
    pub portal: Address,
    /// L1 blocks this far behind the head are final enough to derive from.
    pub confirmation_depth: u64,
    /// How often to poll.
    pub poll_interval: Duration,
    /// First L1 block to fetch (the rollup's L1 genesis).
    pub start: u64,
    /// The BatchInbox contract, whose `BlocksAppended` and `EpochForced` events (and the
    /// calldata of the appends) define the L2 blocks.
    pub batch_inbox: Address,
    /// L1 blocks kept below the last one derivation processed, besides the usual margin: the
    /// sequencing window, since a block recorded there may have its origin that far back.
    pub keep_below_processed: u64,
    /// Bumped each time the L1 answers again after failures ([`crate::l1::back_off`]).
    pub recovered: tokio::sync::watch::Sender<u64>,
}

/// The recent L1 blocks, shared between the watcher (writer) and the sequencer (reader).
#[derive(Debug, Default)]
pub struct L1View {
    blocks: BTreeMap<u64, L1Block>,
    confirmation_depth: u64,
    /// The L1's finalized block number, as its RPC reports it.
    finalized: Option<u64>,
    /// The last block derivation processed (nothing above it minus a margin is pruned).
    processed: u64,
    /// That margin.
    keep_below_processed: u64,
}

impl L1View {
    /// A view that treats blocks `depth` behind the head as confirmed.
    pub fn new(confirmation_depth: u64) -> Self {
        Self {
            blocks: BTreeMap::new(),
            confirmation_depth,
            finalized: None,
            processed: 0,
            keep_below_processed: KEPT_BELOW_PROCESSED,
        }
    }

    /// Keeps at least `blocks` L1 blocks below the last processed one (the sequencing window:
    /// an origin that far back must stay readable).
    pub fn keep_below_processed(&mut self, blocks: u64) {
        self.keep_below_processed = self.keep_below_processed.max(blocks);
    }

    /// Records that derivation processed the blocks up to `number`.
    pub fn mark_processed(&mut self, number: u64) {
        self.processed = number;
    }

    /// The last block derivation processed.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// The L1's finalized block number, once known.
    pub fn finalized(&self) -> Option<u64> {
        self.finalized
    }

    /// Records the L1's finalized block number.
    pub fn set_finalized(&mut self, number: u64) {
        self.finalized = Some(number);
    }

    /// The newest block at least the confirmation depth behind the head.
    pub fn confirmed_head(&self) -> Option<u64> {
        self.head()?.number.checked_sub(self.confirmation_depth)
    }

    /// The newest block seen.
    pub fn head(&self) -> Option<&L1Block> {
        self.blocks.values().next_back()
    }

    /// Block `number`, if seen.
    pub fn block(&self, number: u64) -> Option<&L1Block> {
        self.blocks.get(&number)
    }

    /// Block `number` if it is at least the confirmation depth behind the head.
    pub fn confirmed(&self, number: u64) -> Option<&L1Block> {
        let head = self.head()?.number;
        (number + self.confirmation_depth <= head)
            .then(|| self.blocks.get(&number))
            .flatten()
    }

    /// Adds the next block; a block that does not extend the view replaces the blocks it
    /// conflicts with (an L1 reorg).
    pub fn insert(&mut self, block: L1Block) {
        if let Some(parent) = block
            .number
            .checked_sub(1)
            .and_then(|n| self.blocks.get(&n))
            && parent.hash != block.parent_hash
        {
            warn!(target: "derivation", number = block.number, "L1 reorg: dropping the blocks it replaces");
            self.blocks.split_off(&(block.number - 1));
        }
        self.blocks.split_off(&block.number);
        let number = block.number;
        self.blocks.insert(number, block);
        let keep_from = self.processed.saturating_sub(self.keep_below_processed);
        while self.blocks.len() as u64 > RETAINED_BLOCKS
            && self
                .blocks
                .first_key_value()
                .is_some_and(|(n, _)| *n < keep_from)
        {
            self.blocks.pop_first();
        }
    }
}

/// The task that fills an [`L1View`].
#[derive(Debug)]
pub struct L1Watcher;

impl L1Watcher {
    /// Starts following the L1; the returned view fills as blocks arrive.
    pub fn spawn(config: L1WatcherConfig) -> Result<Arc<RwLock<L1View>>, String> {
        let client = crate::l1::rpc_client(&config.url)?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(client);
        let mut fresh = L1View::new(config.confirmation_depth);
        fresh.mark_processed(config.start);
        fresh.keep_below_processed(config.keep_below_processed);
        let view = Arc::new(RwLock::new(fresh));
        let shared = view.clone();
        tokio::spawn(async move {
            let mut next = config.start;
            let mut failures = 0u32;
            loop {
                match poll(&provider, &config, &shared, next).await {
                    Ok(after) => {
                        if failures > 0 {
                            info!(target: "derivation", "L1 RPC reachable again");
                            config.recovered.send_modify(|n| *n += 1);
                        }
                        failures = 0;
                        next = after;
                        tokio::time::sleep(config.poll_interval).await;
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let backoff = config.poll_interval * 2u32.saturating_pow(failures.min(5));
                        warn!(target: "derivation", error = %e, retry_in_ms = backoff.as_millis() as u64, "L1 RPC failed");
                        tokio::time::sleep(backoff).await;
                    }
                }
            }
        });
        Ok(view)
    }
}

/// Fetches blocks from `next` up to the L1 head; returns the next number to fetch.
async fn poll<P: Provider>(
    provider: &P,
    config: &L1WatcherConfig,
    view: &RwLock<L1View>,
    mut next: u64,
) -> Result<u64, String> {
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| e.to_string())?;
    // An L1 without finality (some dev chains) reports none: derivation then finalizes
    // nothing, which is the safe answer.
    if let Ok(Some(finalized)) = provider
        .get_block_by_number(BlockNumberOrTag::Finalized)
        .await
    {
        view.write().set_finalized(finalized.header.number);
    }
    while next <= head {
        if next > view.read().processed().saturating_add(READ_AHEAD) {
            // Far enough ahead of derivation: wait for it to catch up.
            break;
        }
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(next))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("L1 block {next} not found"))?;
        let header = &block.header;
        // A block that does not build on what we hold means L1 reorganised: step back.
        if next > config.start {
            let known_parent = view.read().block(next - 1).map(|b| b.hash);
            if known_parent.is_some_and(|h| h != header.parent_hash) {
                next -= 1;
                continue;
            }
        }
        let filter = Filter::new()
            .address(vec![config.portal, config.batch_inbox])
            .event_signature(vec![
                TRANSACTION_DEPOSITED,
                BatchInbox::BlocksAppended::SIGNATURE_HASH,
                BatchInbox::EpochForced::SIGNATURE_HASH,
            ])
            .at_block_hash(header.hash);
        let logs = provider
            .get_logs(&filter)
            .await
            .map_err(|e| e.to_string())?;
        let mut deposits = Vec::new();
        let mut inbox_calls = Vec::new();
        for log in &logs {
            let index = log.log_index.unwrap_or_default();
            if log.address() == config.portal {
                match deposit_from_log(&log.inner, header.hash, index) {
                    Ok(deposit) => deposits.push(deposit),
                    Err(e) => {
                        warn!(target: "derivation", block = next, log_index = index, error = %e, "skipping malformed deposit log")
                    }
                }
            } else if log.address() == config.batch_inbox {
                match inbox_call(provider, log).await? {
                    Some(call) => inbox_calls.push(call),
                    None => {
                        warn!(target: "derivation", block = next, log_index = index, "an inbox event whose call cannot be read")
                    }
                }
            }
        }
        if !inbox_calls.is_empty() {
            debug!(target: "derivation", block = next, calls = inbox_calls.len(), "inbox calls on L1");
        }
        if !deposits.is_empty() {
            debug!(target: "derivation", block = next, deposits = deposits.len(), "deposits on L1");
        }
        // The header as a dispute's block start carries it: the consensus header re-encoded,
        // else the node's `debug_getRawHeader` (as the batcher reads origin headers), kept only
        // if it hashes to the block's hash (without it the L2 blocks of this origin cannot be
        // tied to it in a dispute).
        let origin_header = raw_header(provider, header).await;
        if origin_header.is_empty() {
            warn!(target: "derivation", block = next, "no L1 header that hashes to the block's hash: the L2 blocks of this origin cannot be tied to it in a dispute");
        }
        view.write().insert(L1Block {
            number: next,
            hash: header.hash,
            parent_hash: header.parent_hash,
            timestamp: header.timestamp,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
            mix_hash: header.mix_hash,
            header: origin_header,
            deposits,
            inbox_calls,
        });
        next += 1;
    }
    Ok(next)
}

/// The RLP header of the L1 block of `header`: re-encoded from the JSON header, else as the
/// node's `debug_getRawHeader` gives it; empty unless it hashes to the block's hash.
async fn raw_header<P: Provider>(
    provider: &P,
    header: &alloy::rpc::types::Header,
) -> alloy::primitives::Bytes {
    use alloy::primitives::{Bytes, keccak256};
    let encoded: Bytes = alloy::rlp::encode(&header.inner).into();
    if keccak256(&encoded) == header.hash {
        return encoded;
    }
    match provider
        .raw_request::<_, Bytes>(
            "debug_getRawHeader".into(),
            (BlockNumberOrTag::Number(header.number),),
        )
        .await
    {
        Ok(raw) if keccak256(&raw) == header.hash => raw,
        _ => Bytes::new(),
    }
}

/// The inbox call an inbox event stands for: for `BlocksAppended`, the `data` of the
/// `appendBlocks` call in the calldata of the transaction that emitted it (the inbox takes
/// appends only from the batcher calling it directly, so that calldata is the call). `None` for
/// anything else (logged by the caller); an RPC failure is an error, retried.
async fn inbox_call<P: Provider>(provider: &P, log: &Log) -> Result<Option<InboxCall>, String> {
    if let Ok(e) = BatchInbox::EpochForced::decode_log(&log.inner) {
        return Ok(Some(InboxCall::Force {
            first: e.firstBlock,
            count: e.count,
            index: e.appendIndex.saturating_to(),
            record: e.record,
            epoch: e.epoch,
        }));
    }
    let Ok(e) = BatchInbox::BlocksAppended::decode_log(&log.inner) else {
        return Ok(None);
    };
    let Some(tx_hash) = log.transaction_hash else {
        return Ok(None);
    };
    let tx = provider
        .get_transaction_by_hash(tx_hash)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("L1 transaction {tx_hash} not found"))?;
    let input = tx.inner.inner().input();
    Ok(BatchInbox::appendBlocksCall::abi_decode(input)
        .ok()
        .map(|call| InboxCall::Append {
            data: call.data,
            first: e.firstBlock,
            count: e.count,
            index: e.appendIndex.saturating_to(),
            record: e.record,
        }))
}
