//! Polling filters (eth_newFilter & co.) and push subscriptions (eth_subscribe).

use super::{
    RpcCtx,
    convert::rpc_block,
    error::{RpcError, RpcResult},
    eth::{block_logs, filter_range, head_number, logs_in_range},
};
use crate::block::SealedBlock;
use alloy::{
    primitives::{B256, U128},
    rpc::types::{Filter, FilterBlockOption, Log},
};
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use parking_lot::Mutex;
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::broadcast::error::RecvError;

/// A filter not polled for this long is removed (geth's timeout).
const FILTER_TIMEOUT: Duration = Duration::from_secs(300);
/// Most filters installed at once.
const MAX_FILTERS: usize = 10_000;

#[derive(Debug, Clone)]
enum FilterKind {
    Blocks,
    Logs(Box<Filter>),
}

#[derive(Debug)]
struct Installed {
    kind: FilterKind,
    /// Last block whose changes were returned.
    last_block: u64,
    last_poll: Instant,
}

/// The installed polling filters.
#[derive(Debug, Default)]
pub struct Filters {
    installed: Mutex<HashMap<U128, Installed>>,
}

/// What eth_getFilterChanges returns: block hashes or logs.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FilterChanges {
    /// New block hashes.
    Hashes(Vec<B256>),
    /// New matching logs.
    Logs(Vec<Log>),
}

impl Filters {
    fn install(&self, kind: FilterKind, head: u64) -> RpcResult<U128> {
        let mut installed = self.installed.lock();
        installed.retain(|_, f| f.last_poll.elapsed() < FILTER_TIMEOUT);
        if installed.len() >= MAX_FILTERS {
            return Err(RpcError::Limit(format!(
                "too many filters installed (limit {MAX_FILTERS})"
            )));
        }
        let id = U128::from(rand_id());
        installed.insert(
            id,
            Installed {
                kind,
                last_block: head,
                last_poll: Instant::now(),
            },
        );
        Ok(id)
    }

    /// Removes a filter; `false` if there was none.
    pub fn uninstall(&self, id: U128) -> bool {
        self.installed.lock().remove(&id).is_some()
    }
}

/// Subscription ids as geth gives them: `0x`-prefixed hex strings.
#[derive(Debug, Clone, Copy)]
pub struct HexIdProvider;

impl jsonrpsee::server::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        jsonrpsee::types::SubscriptionId::Str(format!("{:#x}", rand_id()).into())
    }
}

/// A random 128-bit id (from the std hasher's per-instance random keys).
fn rand_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    let a = h.finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(a);
    (u128::from(a) << 64) | u128::from(h.finish())
}

/// eth_newFilter
pub fn new_filter(ctx: &RpcCtx, filter: Filter) -> RpcResult<U128> {
    let reader = ctx.store.reader()?;
    let head = head_number(&reader)?;
    ctx.filters
        .install(FilterKind::Logs(Box::new(filter)), head)
}

/// eth_newBlockFilter
pub fn new_block_filter(ctx: &RpcCtx) -> RpcResult<U128> {
    let reader = ctx.store.reader()?;
    let head = head_number(&reader)?;
    ctx.filters.install(FilterKind::Blocks, head)
}

/// eth_getFilterChanges: what happened since the last poll.
pub fn filter_changes(ctx: &RpcCtx, id: U128) -> RpcResult<FilterChanges> {
    let reader = ctx.store.reader()?;
    let head = head_number(&reader)?;
    let (kind, from) = {
        let mut installed = ctx.filters.installed.lock();
        let f = installed
            .get_mut(&id)
            .ok_or_else(|| RpcError::Unavailable("filter not found".into()))?;
        f.last_poll = Instant::now();
        let from = f.last_block + 1;
        // Never return more than the range cap in one poll; the rest comes next time.
        let to = head.min(f.last_block + ctx.limits.max_logs_range);
        f.last_block = to.max(f.last_block);
        (f.kind.clone(), (from, to))
    };
    let (from, to) = from;
    if from > to {
        return Ok(match kind {
            FilterKind::Blocks => FilterChanges::Hashes(Vec::new()),
            FilterKind::Logs(_) => FilterChanges::Logs(Vec::new()),
        });
    }
    match kind {
        FilterKind::Blocks => {
            let mut hashes = Vec::new();
            for n in from..=to {
                if let Some((hash, _)) = reader.header(n)? {
                    hashes.push(hash);
                }
            }
            Ok(FilterChanges::Hashes(hashes))
        }
        FilterKind::Logs(filter) => {
            let (lo, hi) = clamp_to_filter(&filter, from, to);
            if lo > hi {
                return Ok(FilterChanges::Logs(Vec::new()));
            }
            Ok(FilterChanges::Logs(logs_in_range(
                ctx, &reader, &filter, lo, hi,
            )?))
        }
    }
}

fn clamp_to_filter(filter: &Filter, from: u64, to: u64) -> (u64, u64) {
    match filter.block_option {
        FilterBlockOption::Range { .. } => {
            let lo = filter.get_from_block().map_or(from, |f| f.max(from));
            let hi = filter.get_to_block().map_or(to, |t| t.min(to));
            (lo, hi)
        }
        FilterBlockOption::AtBlockHash(_) => (from, to),
    }
}

/// eth_getFilterLogs: every log the filter's range holds.
pub fn filter_logs(ctx: &RpcCtx, id: U128) -> RpcResult<Vec<Log>> {
    let filter = {
        let mut installed = ctx.filters.installed.lock();
        let f = installed
            .get_mut(&id)
            .ok_or_else(|| RpcError::Unavailable("filter not found".into()))?;
        f.last_poll = Instant::now();
        match &f.kind {
            FilterKind::Logs(filter) => filter.clone(),
            FilterKind::Blocks => {
                return Err(RpcError::InvalidParams("filter is not a log filter".into()));
            }
        }
    };
    super::eth::logs(ctx, *filter)
}

/// The kinds of eth_subscribe.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionKind {
    /// Every new block header.
    NewHeads,
    /// Logs of new blocks matching a filter.
    Logs,
}

/// eth_subscribe: pushes new heads or matching logs for every block sealed from now on.
/// A client too slow to keep up loses notifications (and is told nothing else); it never
/// holds back block production.
pub async fn subscribe(
    ctx: Arc<RpcCtx>,
    pending: PendingSubscriptionSink,
    kind: SubscriptionKind,
    filter: Option<Filter>,
) {
    let mut blocks = ctx.blocks.subscribe();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    let filter = filter.unwrap_or_default();
    loop {
        let block: Arc<SealedBlock> = tokio::select! {
            _ = sink.closed() => return,
            next = blocks.recv() => match next {
                Ok(block) => block,
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(target: "rpc", skipped, "subscriber lagging; notifications dropped");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
        };
        let messages: Vec<serde_json::Value> = match kind {
            SubscriptionKind::NewHeads => {
                let rpc = rpc_block(&block, false);
                vec![serde_json::to_value(&rpc.header).unwrap_or_default()]
            }
            SubscriptionKind::Logs => {
                let mut logs = Vec::new();
                if filter.matches_bloom(block.header.logs_bloom) {
                    block_logs(&block, &filter, &mut logs);
                }
                logs.iter()
                    .filter_map(|l| serde_json::to_value(l).ok())
                    .collect()
            }
        };
        for value in messages {
            let Ok(raw) = serde_json::value::to_raw_value(&value) else {
                continue;
            };
            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                return;
            }
        }
    }
}

/// Checks a log filter's range the way eth_getLogs would (for a clear error up front).
pub fn validate_filter(ctx: &RpcCtx, filter: &Filter) -> RpcResult<()> {
    let reader = ctx.store.reader()?;
    if let FilterBlockOption::Range { .. } = filter.block_option
        && filter.get_from_block().is_some()
        && filter.get_to_block().is_some()
    {
        filter_range(ctx, &reader, filter)?;
    }
    Ok(())
}
