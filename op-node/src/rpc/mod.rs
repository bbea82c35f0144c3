//! The Ethereum JSON-RPC server (jsonrpsee; HTTP and WebSocket on one port).
//!
//! Methods that touch storage or the EVM run on tokio's blocking pool, so RPC threads never
//! wait on I/O; the EVM ones (eth_call, eth_estimateGas, debug_traceTransaction,
//! debug_executionWitness) also have a time limit. Limits default to geth's and are flags.

mod call;
pub(crate) mod convert;
mod debug;
mod error;
mod eth;
mod filters;
mod ingress;
mod proof;
mod rollup;
mod state;
mod trace;

pub use error::{RpcError, RpcResult};

use crate::{
    block::SealedBlock,
    chain::ChainConfig,
    storage::{Store, StoreReader},
    txpool::TxPool,
};
use alloy::{
    primitives::{Address, B256, Bytes, U64, U128},
    rpc::types::{
        BlockId, BlockNumberOrTag, Filter, TransactionRequest, serde_helpers::JsonStorageKey,
    },
};
use jsonrpsee::{
    RpcModule,
    server::{
        BatchRequestConfig, Server, ServerConfig, ServerHandle, middleware::rpc::RpcServiceBuilder,
    },
    types::{ErrorObjectOwned, Params},
};
use serde::de::DeserializeOwned;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::broadcast;

/// Resource limits of the RPC server (geth's defaults).
#[derive(Debug, Clone)]
pub struct RpcLimits {
    /// Largest request body in bytes (HTTP 413 beyond).
    pub max_request_body: u32,
    /// Largest response body in bytes.
    pub max_response_body: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most open connections.
    pub max_connections: u32,
    /// Gas cap of eth_call and eth_estimateGas.
    pub gas_cap: u64,
    /// Time limit of one EVM call.
    pub evm_timeout: Duration,
    /// Widest block range of one eth_getLogs.
    pub max_logs_range: u64,
    /// Most logs in one response.
    pub max_logs: usize,
    /// How many blocks behind the head state queries and traces may reach.
    pub max_state_history: u64,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_request_body: 5 * 1024 * 1024,
            max_response_body: 25 * 1000 * 1000,
            max_batch: 1000,
            max_connections: 1000,
            gas_cap: 50_000_000,
            evm_timeout: Duration::from_secs(5),
            max_logs_range: 10_000,
            max_logs: 10_000,
            max_state_history: 10_000,
        }
    }
}

/// What every RPC method can reach.
#[derive(Debug)]
pub struct RpcCtx {
    /// Chain rules.
    pub config: Arc<ChainConfig>,
    /// Storage (each request reads its own snapshot).
    pub store: Arc<Store>,
    /// The transaction pool.
    pub pool: Arc<TxPool>,
    /// Every block once it is durable.
    pub blocks: broadcast::Sender<Arc<SealedBlock>>,
    /// Limits.
    pub limits: RpcLimits,
    /// Installed polling filters.
    pub filters: filters::Filters,
    /// The rollup's parameters (on the L2 of a rollup; serves the `optimism_` methods).
    pub rollup: Option<Arc<crate::rollup::RollupConfig>>,
    /// Whether `eth_sendRawTransaction` is served (not on a verifier, which seals nothing).
    pub accepts_transactions: bool,
    /// The block-building thread's control channel (the embedded L1's `anvil_reorg`).
    pub control: Option<std::sync::Mutex<std::sync::mpsc::Sender<crate::sequencer::Control>>>,
}

impl RpcCtx {
    /// A context over the node's parts.
    pub fn new(
        config: Arc<ChainConfig>,
        store: Arc<Store>,
        pool: Arc<TxPool>,
        blocks: broadcast::Sender<Arc<SealedBlock>>,
        limits: RpcLimits,
    ) -> Self {
        Self {
            config,
            store,
            pool,
            blocks,
            limits,
            filters: Default::default(),
            rollup: None,
            accepts_transactions: true,
            control: None,
        }
    }

    /// Base fee of the block after the head in `reader`'s snapshot.
    pub fn next_base_fee(&self, reader: &StoreReader) -> RpcResult<u64> {
        let head = eth::head_number(reader)?;
        let (_, h) = reader
            .header(head)?
            .ok_or_else(|| RpcError::Unavailable("header not found".into()))?;
        Ok(self.config.next_base_fee(
            h.gas_used,
            h.gas_limit,
            h.base_fee_per_gas.unwrap_or_default(),
        ))
    }
}

/// Starts the server on `addr`; it runs until the handle is stopped.
pub async fn start(
    ctx: Arc<RpcCtx>,
    addr: SocketAddr,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let limits = ctx.limits.clone();
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_body)
        .max_response_body_size(limits.max_response_body)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .max_connections(limits.max_connections)
        .set_id_provider(filters::HexIdProvider)
        .build();
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(cors()))
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn({
            let ctx = ctx.clone();
            move |service| ingress::SendRawBatches::new(service, ctx.clone())
        }))
        .build(addr)
        .await?;
    let local = server.local_addr()?;
    let module = module(ctx).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((server.start(module), local))
}

/// Browsers may call the JSON-RPC from any origin (as anvil and hardhat allow): the bridge page
/// is served from another port than the RPC, and wallets and dapps on other origins talk to a
/// devnet too. Nothing here is unlocked by the caller's origin (the node holds no user keys).
fn cors() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{Any, CorsLayer};
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            hyper::Method::POST,
            hyper::Method::GET,
            hyper::Method::OPTIONS,
        ])
        .allow_headers(Any)
        .max_age(Duration::from_secs(3600))
}

type MethodResult<T> = Result<T, ErrorObjectOwned>;

fn one<T: DeserializeOwned>(p: &Params<'_>) -> MethodResult<T> {
    let mut seq = p.sequence();
    seq.next()
}

fn two<A: DeserializeOwned, B: DeserializeOwned>(p: &Params<'_>) -> MethodResult<(A, Option<B>)> {
    let mut seq = p.sequence();
    let a = seq.next()?;
    let b = seq.optional_next()?;
    Ok((a, b))
}

/// Runs EVM work on the blocking pool under the configured time limit.
async fn with_timeout<T, F>(ctx: Arc<RpcCtx>, work: F) -> MethodResult<T>
where
    T: Send + 'static,
    F: FnOnce(&RpcCtx) -> RpcResult<T> + Send + 'static,
{
    let limit = ctx.limits.evm_timeout;
    let task = tokio::task::spawn_blocking(move || work(&ctx));
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => result.map_err(Into::into),
        Ok(Err(join)) => Err(RpcError::Internal(join.to_string()).into()),
        Err(_) => Err(RpcError::Limit(format!(
            "execution aborted (timeout = {}s)",
            limit.as_secs_f64()
        ))
        .into()),
    }
}

fn reject_overrides(p: &Params<'_>) -> MethodResult<()> {
    let mut seq = p.sequence();
    let _: serde_json::Value = seq.next()?;
    let _: Option<serde_json::Value> = seq.optional_next()?;
    let overrides: Option<serde_json::Value> = seq.optional_next()?;
    match overrides {
        Some(v) if !v.is_null() => Err(RpcError::InvalidParams(
            "state and block overrides are not supported".into(),
        )
        .into()),
        _ => Ok(()),
    }
}

fn module(ctx: Arc<RpcCtx>) -> Result<RpcModule<RpcCtx>, jsonrpsee::core::RegisterMethodError> {
    let dev_reorg = ctx.control.is_some();
    let mut m = RpcModule::from_arc(ctx);
    m.register_method("eth_chainId", |_, ctx, _| {
        Ok::<_, ErrorObjectOwned>(U64::from(ctx.config.chain_id))
    })?;
    m.register_method("net_version", |_, ctx, _| {
        Ok::<_, ErrorObjectOwned>(ctx.config.chain_id.to_string())
    })?;
    m.register_method("net_listening", |_, _, _| Ok::<_, ErrorObjectOwned>(true))?;
    m.register_method("web3_clientVersion", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(concat!("op-node/v", env!("CARGO_PKG_VERSION")))
    })?;
    m.register_method("eth_syncing", |_, _, _| Ok::<_, ErrorObjectOwned>(false))?;
    m.register_method("eth_accounts", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(Vec::<Address>::new())
    })?;
    m.register_blocking_method("eth_blockNumber", |_, ctx, _| -> MethodResult<U64> {
        let reader = ctx.store.reader().map_err(RpcError::from)?;
        Ok(U64::from(eth::head_number(&reader)?))
    })?;
    m.register_blocking_method("eth_getBalance", |p, ctx, _| {
        let (a, b) = two(&p)?;
        eth::balance(&ctx, a, b).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getTransactionCount", |p, ctx, _| {
        let (a, b) = two(&p)?;
        eth::transaction_count(&ctx, a, b).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getCode", |p, ctx, _| {
        let (a, b) = two(&p)?;
        eth::code(&ctx, a, b).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getStorageAt", |p, ctx, _| {
        let mut seq = p.sequence();
        let address: Address = seq.next()?;
        let slot: JsonStorageKey = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        eth::storage_at(&ctx, address, slot, block).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getProof", |p, ctx, _| {
        let mut seq = p.sequence();
        let address: Address = seq.next()?;
        let keys: Vec<JsonStorageKey> = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        proof::proof(&ctx, address, keys, block).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_sendRawTransaction", |p, ctx, _| {
        let raw: Bytes = one(&p)?;
        eth::send_raw_transaction(&ctx, raw).map_err(ErrorObjectOwned::from)
    })?;
    m.register_async_method("eth_call", |p, ctx, _| async move {
        reject_overrides(&p)?;
        let (req, block): (TransactionRequest, Option<BlockId>) = two(&p)?;
        with_timeout(ctx, move |ctx| call::call(ctx, req, block)).await
    })?;
    m.register_async_method("eth_estimateGas", |p, ctx, _| async move {
        reject_overrides(&p)?;
        let (req, block): (TransactionRequest, Option<BlockId>) = two(&p)?;
        with_timeout(ctx, move |ctx| {
            call::estimate_gas(ctx, req, block).map(U64::from)
        })
        .await
    })?;
    m.register_blocking_method("eth_getBlockByNumber", |p, ctx, _| {
        let (tag, full): (BlockNumberOrTag, Option<bool>) = two(&p)?;
        eth::block(&ctx, BlockId::Number(tag), full.unwrap_or(false))
            .map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getBlockByHash", |p, ctx, _| {
        let (hash, full): (B256, Option<bool>) = two(&p)?;
        eth::block(&ctx, BlockId::from(hash), full.unwrap_or(false)).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getBlockTransactionCountByNumber", |p, ctx, _| {
        let tag: BlockNumberOrTag = one(&p)?;
        eth::block_transaction_count(&ctx, BlockId::Number(tag)).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getBlockTransactionCountByHash", |p, ctx, _| {
        let hash: B256 = one(&p)?;
        eth::block_transaction_count(&ctx, BlockId::from(hash)).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getBlockReceipts", |p, ctx, _| {
        let id: BlockId = one(&p)?;
        eth::block_receipts(&ctx, id).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getTransactionByHash", |p, ctx, _| {
        let hash: B256 = one(&p)?;
        eth::transaction_by_hash(&ctx, hash).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getTransactionReceipt", |p, ctx, _| {
        let hash: B256 = one(&p)?;
        eth::transaction_receipt(&ctx, hash).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getLogs", |p, ctx, _| {
        let filter: Filter = one(&p)?;
        eth::logs(&ctx, filter).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_gasPrice", |_, ctx, _| {
        eth::gas_price(&ctx)
            .map(alloy::primitives::U128::from)
            .map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_maxPriorityFeePerGas", |_, ctx, _| {
        eth::max_priority_fee(&ctx)
            .map(alloy::primitives::U128::from)
            .map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_feeHistory", |p, ctx, _| {
        let mut seq = p.sequence();
        let count: U64 = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<Vec<f64>> = seq.optional_next()?;
        eth::fee_history(&ctx, count.to(), newest, percentiles).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_newFilter", |p, ctx, _| {
        let filter: Filter = one(&p)?;
        filters::validate_filter(&ctx, &filter)?;
        filters::new_filter(&ctx, filter).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_newBlockFilter", |_, ctx, _| {
        filters::new_block_filter(&ctx).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getFilterChanges", |p, ctx, _| {
        let id: U128 = one(&p)?;
        filters::filter_changes(&ctx, id).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("eth_getFilterLogs", |p, ctx, _| {
        let id: U128 = one(&p)?;
        filters::filter_logs(&ctx, id).map_err(ErrorObjectOwned::from)
    })?;
    m.register_method("eth_uninstallFilter", |p, ctx, _| {
        let id: U128 = one(&p)?;
        Ok::<_, ErrorObjectOwned>(ctx.filters.uninstall(id))
    })?;
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |p, pending, ctx, _| async move {
            let (kind, filter): (filters::SubscriptionKind, Option<Filter>) = match two(&p) {
                Ok(v) => v,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            filters::subscribe(ctx, pending, kind, filter).await;
            Ok(())
        },
    )?;
    m.register_method("txpool_status", |_, ctx, _| {
        let s = ctx.pool.status();
        Ok::<_, ErrorObjectOwned>(serde_json::json!({
            "pending": format!("{:#x}", s.pending),
            "queued": format!("{:#x}", s.queued),
        }))
    })?;
    m.register_async_method("debug_traceTransaction", |p, ctx, _| async move {
        let (hash, opts): (
            B256,
            Option<alloy::rpc::types::trace::geth::GethDebugTracingOptions>,
        ) = two(&p)?;
        with_timeout(ctx, move |ctx| {
            trace::trace_transaction(ctx, hash, opts.unwrap_or_default())
        })
        .await
    })?;
    rollup::register(&mut m)?;
    debug::register(&mut m)?;
    if dev_reorg {
        m.register_async_method("anvil_reorg", |p, ctx, _| async move {
            let mut seq = p.sequence();
            let depth: u64 = seq.next()?;
            let txs: Option<Vec<serde_json::Value>> = seq.optional_next()?;
            if txs.is_some_and(|t| !t.is_empty()) {
                return Err(ErrorObjectOwned::from(RpcError::InvalidParams(
                    "replacement transactions are not supported; send them after the reorg".into(),
                )));
            }
            if depth == 0 {
                return Err(RpcError::InvalidParams("depth must be at least 1".into()).into());
            }
            // Depth counts from the head served now: the sequencer reads the request only
            // after the block it has open is sealed.
            let to = {
                let reader = ctx.store.reader().map_err(RpcError::from)?;
                eth::head_number(&reader)?.saturating_sub(depth)
            };
            let (reply, answer) = tokio::sync::oneshot::channel();
            let sent = ctx.control.as_ref().and_then(|c| {
                c.lock()
                    .ok()?
                    .send(crate::sequencer::Control::Reorg { to, reply })
                    .ok()
            });
            if sent.is_none() {
                return Err(RpcError::Unavailable("the chain is stopping".into()).into());
            }
            match answer.await {
                Ok(Ok(head)) => Ok(alloy::primitives::U64::from(head)),
                Ok(Err(e)) => Err(RpcError::Internal(e).into()),
                Err(_) => Err(RpcError::Unavailable("the chain is stopping".into()).into()),
            }
        })?;
    }
    Ok(m)
}
