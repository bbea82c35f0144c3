//! Wires the rooms together: storage, engine, pool, sequencer thread and RPC server.

use crate::{
    chain::{ChainConfig, dev_genesis_alloc},
    cli::DevnetArgs,
    engine::Engine,
    rpc::{self, RpcCtx, RpcLimits},
    sequencer,
    storage::Store,
    txpool::{PoolConfig, TxPool},
};
use alloy::primitives::U256;
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};
use tokio::sync::broadcast;
use tracing::{error, info};

/// Errors that stop the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be prepared.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Storage failed to open.
    #[error("opening the database: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// The RPC server could not start.
    #[error("starting JSON-RPC on {addr}: {source}")]
    Rpc {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The sequencer stopped with an error.
    #[error("sequencer: {0}")]
    Sequencer(String),
}

/// Runs `op-node devnet` until Ctrl-C or a fatal error.
pub async fn run_devnet(args: DevnetArgs) -> Result<(), NodeError> {
    std::fs::create_dir_all(&args.datadir).map_err(|source| NodeError::DataDir {
        path: args.datadir.clone(),
        source,
    })?;
    let config = Arc::new(ChainConfig::new(args.chain.chain_id, args.chain.gas_limit));
    let db_path = args.datadir.join("op-node.redb");
    let store = Arc::new(Store::open(&db_path)?);
    let engine = Engine::open(
        config.clone(),
        store.clone(),
        &dev_genesis_alloc(),
        sequencer::unix_now(),
    )?;
    info!(target: "node", chain_id = config.chain_id, head = engine.head().number(), db = %db_path.display(), "chain open");

    let mut pool_config = PoolConfig::new(config.chain_id, config.gas_limit);
    pool_config.max_txs = args.txpool.max_count;
    pool_config.max_queued_per_sender = args.txpool.max_queued_per_sender;
    pool_config.price_bump_percent = args.txpool.price_bump;
    pool_config.tx_fee_cap = U256::from((args.rpc.tx_fee_cap * 1e18) as u128);
    let pool = Arc::new(TxPool::new(pool_config));
    let (blocks, _) = broadcast::channel(1024);

    let limits = RpcLimits {
        max_request_body: args.rpc.max_request_size,
        max_response_body: args.rpc.max_response_size,
        max_batch: args.rpc.batch_limit,
        gas_cap: args.rpc.gas_cap,
        evm_timeout: args.rpc.evm_timeout,
        max_logs_range: args.rpc.max_logs_range,
        max_state_history: args.rpc.state_history,
        ..RpcLimits::default()
    };
    let ctx = Arc::new(RpcCtx::new(
        config.clone(),
        store.clone(),
        pool.clone(),
        blocks.clone(),
        limits,
    ));
    let addr = SocketAddr::new(args.rpc.rpc_addr, args.rpc.rpc_port);
    let (rpc_handle, local) = rpc::start(ctx, addr)
        .await
        .map_err(|source| NodeError::Rpc { addr, source })?;
    info!(target: "node", url = %format!("http://{local}"), "JSON-RPC listening (HTTP and WebSocket)");

    let shutdown = Arc::new(AtomicBool::new(false));
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
    let seq_shutdown = shutdown.clone();
    let block_time = args.sequencer.block_time;
    std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || {
            let result = sequencer::run(engine, pool, blocks, block_time, seq_shutdown);
            let _ = done_tx.send(result);
        })
        .map_err(|e| NodeError::Sequencer(e.to_string()))?;

    let result = tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            info!(target: "node", "interrupted; stopping");
            shutdown.store(true, Ordering::Relaxed);
            // Let the sequencer finish the block it is on.
            match done_rx.await {
                Ok(Err(e)) => Err(NodeError::Sequencer(e.to_string())),
                _ => Ok(()),
            }
        }
        done = &mut done_rx => match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                error!(target: "node", error = %e, "sequencer failed");
                Err(NodeError::Sequencer(e.to_string()))
            }
            Err(_) => Err(NodeError::Sequencer("sequencer thread panicked".into())),
        },
    };
    let _ = rpc_handle.stop();
    rpc_handle.stopped().await;
    result
}
