//! Wires the rooms together: for each chain its storage, engine, pool, sequencer thread and
//! RPC server; for the devnet, the embedded L1, the bridge deployment, the L2 that derives
//! deposits from the L1, and the proposer.

use crate::{
    batcher,
    block::SealedBlock,
    chain::{ChainConfig, GenesisAccount, l1_genesis_alloc, l2_genesis_alloc},
    challenger::{self, ChallengerConfig, Strategy, layer2::LongStepKind},
    cli::{DevnetArgs, DishonestAnswers, DishonestLongStep, RpcArgs, TxPoolArgs, VerifierArgs},
    derivation::{Driver, FeeScalars, L1View, L1Watcher, L1WatcherConfig},
    engine::Engine,
    l1::{
        self, BATCHER_INDEX, CHALLENGER_INDEX, DEPLOYER_INDEX, DISHONEST_CHALLENGER_INDEX,
        PROPOSER_INDEX, deploy,
    },
    proposer,
    rollup::{BlockRef, Genesis, RollupConfig},
    rpc::{self, RpcCtx, RpcLimits},
    sequencer::{self, DerivedInputs, Inputs},
    storage::Store,
    txpool::{PoolConfig, TxPool},
};
use alloy::primitives::{Address, U256};
use jsonrpsee::server::ServerHandle;
use parking_lot::RwLock;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::sync::{broadcast, oneshot};
use tracing::{error, info};

/// Errors that stop the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be prepared.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database file could not be opened.
    #[error("opening the database {path}: {source}")]
    OpenDatabase {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::storage::StorageError,
    },
    /// Storage failed.
    #[error("database: {0}")]
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
    /// The bridge could not be deployed.
    #[error(transparent)]
    Deploy(#[from] deploy::DeployError),
    /// The rollup config could not be read or written.
    #[error(transparent)]
    RollupConfig(#[from] crate::rollup::RollupConfigError),
    /// The stored rollup does not match the flags.
    #[error("{0}")]
    Mismatch(String),
    /// The L1 could not be followed.
    #[error("L1: {0}")]
    L1(String),
    /// Derivation could not start.
    #[error(transparent)]
    Derivation(#[from] crate::derivation::DriverError),
    /// A sequencer stopped with an error.
    #[error("{chain} sequencer: {reason}")]
    Sequencer {
        /// Which chain.
        chain: &'static str,
        /// Why.
        reason: String,
    },
}

/// One running chain: its RPC server and sequencer thread.
struct RunningChain {
    name: &'static str,
    rpc: ServerHandle,
    addr: SocketAddr,
    shutdown: Arc<AtomicBool>,
    done: oneshot::Receiver<Result<(), String>>,
}

/// The parts of a chain before its sequencer starts.
struct OpenChain {
    config: Arc<ChainConfig>,
    store: Arc<Store>,
    engine: Engine,
}

fn open_chain(
    config: ChainConfig,
    dir: &Path,
    alloc: &[GenesisAccount],
    genesis_timestamp: u64,
) -> Result<OpenChain, NodeError> {
    std::fs::create_dir_all(dir).map_err(|source| NodeError::DataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = Arc::new(config);
    let path = dir.join("chain.redb");
    let store =
        Arc::new(Store::open(&path).map_err(|source| NodeError::OpenDatabase { path, source })?);
    let engine = Engine::open(config.clone(), store.clone(), alloc, genesis_timestamp)?;
    Ok(OpenChain {
        config,
        store,
        engine,
    })
}

fn limits(rpc: &RpcArgs) -> RpcLimits {
    RpcLimits {
        max_request_body: rpc.max_request_size,
        max_response_body: rpc.max_response_size,
        max_batch: rpc.batch_limit,
        gas_cap: rpc.gas_cap,
        evm_timeout: rpc.evm_timeout,
        max_logs_range: rpc.max_logs_range,
        max_state_history: rpc.state_history,
        ..RpcLimits::default()
    }
}

fn pool(config: &ChainConfig, rpc: &RpcArgs, txpool: &TxPoolArgs) -> Arc<TxPool> {
    let mut pool_config = PoolConfig::new(config.chain_id, config.gas_limit);
    pool_config.max_txs = txpool.max_count;
    pool_config.max_queued_per_sender = txpool.max_queued_per_sender;
    pool_config.max_queued = txpool.max_queued;
    pool_config.slots_per_sender = txpool.slots_per_sender;
    pool_config.price_bump_percent = txpool.price_bump;
    pool_config.lifetime = txpool.lifetime;
    pool_config.tx_fee_cap = U256::from((rpc.tx_fee_cap * 1e18) as u128);
    if config.kind == crate::chain::ChainKind::L2 {
        // Every L2 transaction must fit one append to the batch inbox.
        pool_config.max_tx_size = batcher::plan::MAX_L2_TX_SIZE;
    }
    Arc::new(TxPool::new(pool_config))
}

/// What a chain's block-building thread does.
enum Role {
    /// Seal blocks every `block_time` (the L1, or the L2 sequencer with derivation).
    Sequencer {
        block_time: Duration,
        inputs: Inputs,
        /// Serve `anvil_reorg` (the embedded L1).
        dev_reorg: bool,
    },
    /// Derive and execute blocks from L1 only.
    Verifier {
        driver: Box<Driver>,
        view: Arc<RwLock<L1View>>,
        poll: Duration,
    },
}

/// Starts a chain's RPC server and its block-building thread.
async fn start_chain(
    name: &'static str,
    chain: OpenChain,
    addr: SocketAddr,
    rpc_args: &RpcArgs,
    txpool: &TxPoolArgs,
    role: Role,
    rollup: Option<Arc<RollupConfig>>,
) -> Result<RunningChain, NodeError> {
    let OpenChain {
        config,
        store,
        engine,
    } = chain;
    let pool = pool(&config, rpc_args, txpool);
    let (blocks, _) = broadcast::channel::<Arc<SealedBlock>>(1024);
    let mut ctx = RpcCtx::new(
        config.clone(),
        store,
        pool.clone(),
        blocks.clone(),
        limits(rpc_args),
    );
    ctx.rollup = rollup;
    let mut control_rx = None;
    match &role {
        Role::Sequencer {
            dev_reorg: true, ..
        } => {
            let (tx, rx) = std::sync::mpsc::channel();
            ctx.control = Some(std::sync::Mutex::new(tx));
            control_rx = Some(rx);
        }
        Role::Verifier { .. } => ctx.accepts_transactions = false,
        _ => {}
    }
    let (rpc, local) = rpc::start(Arc::new(ctx), addr)
        .await
        .map_err(|source| NodeError::Rpc { addr, source })?;
    info!(target: "node", chain = name, chain_id = config.chain_id, head = engine.head().number(), url = %format!("http://{local}"), "JSON-RPC listening (HTTP and WebSocket)");
    let shutdown = Arc::new(AtomicBool::new(false));
    let (done_tx, done) = oneshot::channel();
    let stop = shutdown.clone();
    std::thread::Builder::new()
        .name(format!("{name}-blocks"))
        .spawn(move || {
            // Every log line of this thread names its chain.
            let _span = tracing::info_span!("chain", name).entered();
            let result = match role {
                Role::Sequencer {
                    block_time, inputs, ..
                } => sequencer::run(engine, inputs, pool, blocks, block_time, control_rx, stop),
                Role::Verifier { driver, view, poll } => {
                    sequencer::run_verifier(engine, *driver, view, blocks, poll, stop)
                }
            };
            let _ = done_tx.send(result.map_err(|e| e.to_string()));
        })
        .map_err(|e| NodeError::Sequencer {
            chain: name,
            reason: e.to_string(),
        })?;
    Ok(RunningChain {
        name,
        rpc,
        addr: local,
        shutdown,
        done,
    })
}

impl RunningChain {
    /// Waits for Ctrl-C (then stops the chain) or for the chain to stop by itself.
    async fn run_until_stopped(self) -> Result<(), NodeError> {
        let RunningChain {
            name,
            rpc,
            shutdown,
            mut done,
            ..
        } = self;
        let result = tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                info!(target: "node", "interrupted; stopping");
                shutdown.store(true, Ordering::Relaxed);
                match (&mut done).await {
                    Ok(Err(reason)) => Err(NodeError::Sequencer { chain: name, reason }),
                    _ => Ok(()),
                }
            }
            finished = &mut done => match finished {
                Ok(Ok(())) => Ok(()),
                Ok(Err(reason)) => Err(NodeError::Sequencer { chain: name, reason }),
                Err(_) => Err(NodeError::Sequencer { chain: name, reason: "thread panicked".into() }),
            },
        };
        let _ = rpc.stop();
        rpc.stopped().await;
        result
    }

    async fn stop(self) -> Result<(), NodeError> {
        self.shutdown.store(true, Ordering::Relaxed);
        let result = self.done.await;
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
        match result {
            Ok(Err(reason)) => Err(NodeError::Sequencer {
                chain: self.name,
                reason,
            }),
            _ => Ok(()),
        }
    }
}

/// Runs `op-node devnet` until Ctrl-C or a fatal error.
pub async fn run_devnet(args: DevnetArgs) -> Result<(), NodeError> {
    let datadir = args.datadir.clone();
    std::fs::create_dir_all(&datadir).map_err(|source| NodeError::DataDir {
        path: datadir.clone(),
        source,
    })?;

    // The L1: embedded unless --l1-rpc names one.
    let mut l1_chain = None;
    let l1_url = match &args.l1.l1_rpc {
        Some(url) => url.clone(),
        None => {
            let services: Vec<Address> = [
                BATCHER_INDEX,
                PROPOSER_INDEX,
                CHALLENGER_INDEX,
                DEPLOYER_INDEX,
                DISHONEST_CHALLENGER_INDEX,
            ]
            .into_iter()
            .map(|i| l1::service_signer(i).address())
            .collect();
            let chain = open_chain(
                ChainConfig::l1(args.l1.l1_chain_id, args.chain.gas_limit),
                &datadir.join("l1"),
                &l1_genesis_alloc(&services),
                sequencer::unix_now(),
            )?;
            let addr = SocketAddr::new(args.rpc.rpc_addr, args.l1.l1_rpc_port);
            let running = start_chain(
                "l1",
                chain,
                addr,
                &args.rpc,
                &args.txpool,
                Role::Sequencer {
                    block_time: args.l1.l1_block_time,
                    inputs: Inputs::Plain,
                    dev_reorg: true,
                },
                None,
            )
            .await?;
            let url = format!("http://{}", running.addr);
            l1_chain = Some(running);
            url
        }
    };

    let result = run_l2(&args, &datadir, &l1_url).await;
    if let Some(l1) = l1_chain
        && let Err(e) = l1.stop().await
    {
        error!(target: "node", error = %e, "L1 stopped with an error");
    }
    result
}

async fn run_l2(args: &DevnetArgs, datadir: &Path, l1_url: &str) -> Result<(), NodeError> {
    let rollup_path = datadir.join("rollup.json");
    let l2_dir = datadir.join("l2");
    let l2_config = ChainConfig::new(args.chain.chain_id, args.chain.gas_limit);
    let chain = open_chain(
        l2_config,
        &l2_dir,
        &l2_genesis_alloc(),
        sequencer::unix_now(),
    )?;
    let rollup = if rollup_path.exists() {
        let rollup = RollupConfig::load(&rollup_path)?;
        if rollup.l2_chain_id != args.chain.chain_id {
            return Err(NodeError::Mismatch(format!(
                "{} is for L2 chain {}, not {}; use another --datadir",
                rollup_path.display(),
                rollup.l2_chain_id,
                args.chain.chain_id
            )));
        }
        rollup
    } else {
        let genesis_output_root = crate::proposer::output_root(&chain.store, 0)?
            .ok_or_else(|| NodeError::Mismatch("L2 genesis missing".into()))?
            .0;
        let (l2_hash, l2_header) = chain
            .store
            .reader()?
            .header(0)?
            .ok_or_else(|| NodeError::Mismatch("L2 genesis missing".into()))?;
        let scalars = FeeScalars::default();
        let params = deploy::DeployParams {
            challenge_window: args.l1.challenge_window,
            clock_extension: args.l1.clock_extension,
            challenge_bond: args.l1.challenge_bond,
            genesis_output_root,
            proof_maturity_delay: args.l1.proof_maturity_delay,
            game_finality_delay: args.l1.game_finality_delay,
            proposal_bond: args.l1.proposal_bond,
            l2: fraud_vm::block_start::ChainParams::op_node(
                args.chain.chain_id,
                args.chain.gas_limit,
            ),
            deposits: fraud_vm::block_start::DepositParams {
                batcher: l1::service_signer(BATCHER_INDEX).address(),
                base_fee_scalar: scalars.base_fee_scalar,
                blob_base_fee_scalar: scalars.blob_base_fee_scalar,
            },
            inbox: deploy::InboxParams {
                batcher: l1::service_signer(BATCHER_INDEX).address(),
                l2_genesis_number: 0,
                l2_genesis_timestamp: l2_header.timestamp,
                seq_window_size: args.l1.seq_window.max(1),
                max_sequencer_drift: args.l1.max_sequencer_drift,
            },
        };
        let deployment = deploy::deploy_bridge(l1_url, params).await?;
        let rollup = RollupConfig {
            genesis: Genesis {
                l1: BlockRef {
                    hash: deployment.block_hash,
                    number: deployment.block_number,
                },
                l2: BlockRef {
                    hash: l2_hash,
                    number: 0,
                },
                l2_time: l2_header.timestamp,
            },
            block_time_ms: args.sequencer.block_time.as_millis() as u64,
            l1_chain_id: deployment.l1_chain_id,
            l2_chain_id: args.chain.chain_id,
            l2_gas_limit: args.chain.gas_limit,
            l1_confirmation_depth: args.l1.l1_confirmation_depth,
            deposit_contract_address: deployment.portal,
            dispute_game_factory_address: deployment.factory,
            anchor_state_registry_address: deployment.registry,
            batch_inbox_address: deployment.inbox,
            deposit_log_index_address: deployment.log_index,
            batcher_address: l1::service_signer(BATCHER_INDEX).address(),
            proposer_address: l1::service_signer(PROPOSER_INDEX).address(),
            respected_game_type: deploy::BISECTION_GAME_TYPE,
            base_fee_scalar: scalars.base_fee_scalar,
            blob_base_fee_scalar: scalars.blob_base_fee_scalar,
            seq_window_size: args.l1.seq_window.max(1),
            max_sequencer_drift: args.l1.max_sequencer_drift,
        };
        rollup.save(&rollup_path)?;
        rollup
    };
    // Rewritten on every start: the embedded L1's URL may change (--l1-rpc-port 0).
    write_addresses(datadir, &rollup, l1_url)?;
    let rollup = Arc::new(rollup);
    let driver = Driver::open(chain.store.clone(), &rollup)?;
    let (l1_recovery, l1_recovered) = l1::l1_recovery_signal();
    let view = spawn_watcher(
        &rollup,
        l1_url,
        args.l1.l1_poll_interval,
        &chain,
        &driver,
        l1_recovery,
    )?;
    let inputs = Inputs::Derived(Box::new(DerivedInputs {
        view,
        genesis_origin: rollup.genesis.l1.number,
        batcher: rollup.batcher_address,
        scalars: FeeScalars {
            base_fee_scalar: rollup.base_fee_scalar,
            blob_base_fee_scalar: rollup.blob_base_fee_scalar,
        },
        max_sequencer_drift: rollup.max_sequencer_drift,
        driver,
        censor_deposits: args.l1.fault_censor_deposits,
    }));
    if args.l1.fault_censor_deposits {
        tracing::warn!(target: "node", "fault injection: the sequencer leaves out L1 deposits");
    }
    let store = chain.store.clone();
    let l2_chain = chain.engine.config().clone();
    let addr = SocketAddr::new(args.rpc.rpc_addr, args.rpc.rpc_port);
    let l2 = start_chain(
        "l2",
        chain,
        addr,
        &args.rpc,
        &args.txpool,
        Role::Sequencer {
            block_time: args.sequencer.block_time,
            inputs,
            dev_reorg: false,
        },
        Some(rollup.clone()),
    )
    .await?;
    let batcher = batcher::spawn(batcher::BatcherConfig {
        l1_url: l1_url.to_string(),
        inbox: rollup.batch_inbox_address,
        signer: l1::service_signer(BATCHER_INDEX),
        store: store.clone(),
        interval: args.l1.batch_interval,
        force_epochs: !args.l1.fault_censor_deposits,
        l1_recovered: l1_recovered.clone(),
    })
    .map_err(NodeError::L1)?;
    let page = crate::web::PageConfig {
        l1_rpc_url: l1_url,
        l2_rpc_addr: l2.addr,
        rollup: &rollup,
        datadir,
    };
    let web = crate::web::serve(&args.web, page.to_json()).await;
    let proposer = proposer::spawn(proposer::ProposerConfig {
        l1_url: l1_url.to_string(),
        factory: rollup.dispute_game_factory_address,
        game_type: rollup.respected_game_type,
        bond: args.l1.proposal_bond,
        interval: args.l1.proposal_interval,
        signer: l1::service_signer(PROPOSER_INDEX),
        store: store.clone(),
        chain: l2_chain.clone(),
        fault_every: args.dispute.fault_proposer_every,
        l1_recovered: l1_recovered.clone(),
    })
    .map_err(NodeError::L1)?;
    let players =
        spawn_devnet_challengers(args, &rollup, l1_url, &store, &l2_chain, &l1_recovered)?;

    let result = l2.run_until_stopped().await;
    for player in players {
        player.abort();
    }
    proposer.abort();
    batcher.abort();
    if let Some(web) = web {
        web.stop();
    }
    result
}

/// The devnet's challengers: the honest one (unless `--no-challenger`) and, with
/// `--fault-challenger`, a dishonest one, each with its own key.
fn spawn_devnet_challengers(
    args: &DevnetArgs,
    rollup: &RollupConfig,
    l1_url: &str,
    store: &Arc<Store>,
    chain: &Arc<ChainConfig>,
    l1_recovered: &l1::L1Recovered,
) -> Result<Vec<tokio::task::JoinHandle<()>>, NodeError> {
    let dispute = &args.dispute;
    let mut players = Vec::new();
    let long_step = match dispute.fault_challenger_long_step {
        DishonestLongStep::Any => LongStepKind::Any,
        DishonestLongStep::Start => LongStepKind::Start,
        DishonestLongStep::Insertion => LongStepKind::Insertion,
        DishonestLongStep::Sha256 => LongStepKind::Sha256,
        DishonestLongStep::Entries => LongStepKind::Entries,
    };
    let config = |signer, strategy, long_step| ChallengerConfig {
        l1_url: l1_url.to_string(),
        factory: rollup.dispute_game_factory_address,
        game_type: rollup.respected_game_type,
        signer,
        store: store.clone(),
        chain: chain.clone(),
        strategy,
        long_step,
        poll: dispute.challenger.challenger_poll,
        l1_recovered: l1_recovered.clone(),
    };
    if !dispute.no_challenger {
        let signer = dispute
            .challenger
            .challenger_key
            .clone()
            .unwrap_or_else(|| l1::service_signer(CHALLENGER_INDEX));
        players.push(
            challenger::spawn(config(signer, Strategy::Honest, LongStepKind::Any))
                .map_err(NodeError::L1)?,
        );
    }
    if dispute.fault_challenger {
        let signer = dispute
            .fault_challenger_key
            .clone()
            .unwrap_or_else(|| l1::service_signer(DISHONEST_CHALLENGER_INDEX));
        let strategy = match dispute.fault_challenger_answers {
            DishonestAnswers::Disagree => Strategy::AlwaysDisagree,
            DishonestAnswers::Random => Strategy::Random,
            DishonestAnswers::DisagreeFromDeposits => Strategy::DisagreeFromDeposits,
            DishonestAnswers::DisagreeAtLongStep => Strategy::DisagreeAtLongStep,
        };
        tracing::warn!(target: "challenger", address = %signer.address(), ?strategy, ?long_step, "fault injection: a dishonest challenger runs");
        players
            .push(challenger::spawn(config(signer, strategy, long_step)).map_err(NodeError::L1)?);
    }
    Ok(players)
}

/// Follows the L1 from where derivation resumes (or the safe block's origin, if older: the
/// blocks recorded after it may have origins back to it), or from the chain head's origin, if
/// older still (the sequencer builds on it).
fn spawn_watcher(
    rollup: &RollupConfig,
    l1_url: &str,
    poll_interval: Duration,
    chain: &OpenChain,
    driver: &Driver,
    recovered: tokio::sync::watch::Sender<u64>,
) -> Result<Arc<RwLock<L1View>>, NodeError> {
    let head_origin = crate::derivation::origin_of(&chain.engine.head().txs).map(|o| o.number);
    let start = head_origin
        .map_or(driver.l1_start(), |h| h.min(driver.l1_start()))
        .max(rollup.genesis.l1.number);
    L1Watcher::spawn(L1WatcherConfig {
        url: l1_url.to_string(),
        portal: rollup.deposit_contract_address,
        confirmation_depth: rollup.l1_confirmation_depth,
        poll_interval,
        start,
        batch_inbox: rollup.batch_inbox_address,
        keep_below_processed: rollup.seq_window_size,
        recovered,
    })
    .map_err(NodeError::L1)
}

/// Runs `op-node verifier` until Ctrl-C or a fatal error.
pub async fn run_verifier(args: VerifierArgs) -> Result<(), NodeError> {
    let rollup = RollupConfig::load(&args.rollup_config)?;
    let datadir = args.datadir.clone();
    std::fs::create_dir_all(&datadir).map_err(|source| NodeError::DataDir {
        path: datadir.clone(),
        source,
    })?;
    let config = ChainConfig::new(rollup.l2_chain_id, rollup.l2_gas_limit);
    let chain = open_chain(
        config,
        &datadir.join("l2"),
        &l2_genesis_alloc(),
        rollup.genesis.l2_time,
    )?;
    let genesis = chain
        .engine
        .store()
        .reader()?
        .header(rollup.genesis.l2.number)?;
    if genesis.map(|(hash, _)| hash) != Some(rollup.genesis.l2.hash) {
        return Err(NodeError::Mismatch(format!(
            "the L2 genesis here is not the rollup's ({}): the rollup config is for another chain, or {} holds another rollup",
            rollup.genesis.l2.hash,
            datadir.display()
        )));
    }
    // Keep the config beside the data, so the directory says which rollup it holds.
    rollup.save(&datadir.join("rollup.json"))?;
    let rollup = Arc::new(rollup);
    let driver = Driver::open(chain.store.clone(), &rollup)?;
    // The challenger backs off on L1 failures and retries at once when the watcher reaches the
    // L1 again: its chess clocks run while it waits.
    let (l1_recovery, l1_recovered) = l1::l1_recovery_signal();
    let view = spawn_watcher(
        &rollup,
        &args.l1_rpc,
        args.l1_poll_interval,
        &chain,
        &driver,
        l1_recovery,
    )?;
    let addr = SocketAddr::new(args.rpc.rpc_addr, args.rpc.rpc_port);
    info!(target: "node", l1 = %args.l1_rpc, l2_chain_id = rollup.l2_chain_id, "verifier: deriving the L2 chain from L1");
    let challenger = if args.challenger {
        let signer = args.challenger_args.challenger_key.clone().ok_or_else(|| {
            NodeError::Mismatch(
                "--challenger needs --challenger-key (an L1 account with ETH)".into(),
            )
        })?;
        Some(
            challenger::spawn(ChallengerConfig {
                l1_url: args.l1_rpc.clone(),
                factory: rollup.dispute_game_factory_address,
                game_type: rollup.respected_game_type,
                signer,
                store: chain.store.clone(),
                chain: chain.engine.config().clone(),
                strategy: Strategy::Honest,
                long_step: LongStepKind::Any,
                poll: args.challenger_args.challenger_poll,
                l1_recovered,
            })
            .map_err(NodeError::L1)?,
        )
    } else {
        None
    };
    let verifier = start_chain(
        "verifier",
        chain,
        addr,
        &args.rpc,
        &TxPoolArgs::default(),
        Role::Verifier {
            driver: Box::new(driver),
            view,
            poll: args.l1_poll_interval,
        },
        Some(rollup),
    )
    .await?;
    let result = verifier.run_until_stopped().await;
    if let Some(challenger) = challenger {
        challenger.abort();
    }
    result
}

/// Writes `addresses.json`: the endpoints and contract addresses a client needs.
fn write_addresses(datadir: &Path, rollup: &RollupConfig, l1_url: &str) -> Result<(), NodeError> {
    let path = datadir.join("addresses.json");
    let json = serde_json::json!({
        "l1RpcUrl": l1_url,
        "l1ChainId": rollup.l1_chain_id,
        "l2ChainId": rollup.l2_chain_id,
        "OptimismPortal": rollup.deposit_contract_address,
        "DisputeGameFactory": rollup.dispute_game_factory_address,
        "AnchorStateRegistry": rollup.anchor_state_registry_address,
        "Multicall3": crate::chain::MULTICALL3,
        "L2ToL1MessagePasser": crate::engine::MESSAGE_PASSER,
        "L1Block": bridge::l1_info::L1_BLOCK,
        "GasPriceOracle": crate::chain::GAS_PRICE_ORACLE,
        "BatchInbox": rollup.batch_inbox_address,
        "DepositLogIndex": rollup.deposit_log_index_address,
        "batcher": rollup.batcher_address,
        "proposer": rollup.proposer_address,
        "deployer": l1::service_signer(DEPLOYER_INDEX).address(),
        "challenger": l1::service_signer(CHALLENGER_INDEX).address(),
        "dishonestChallenger": l1::service_signer(DISHONEST_CHALLENGER_INDEX).address(),
    });
    let text = serde_json::to_string_pretty(&json).expect("json values serialize");
    std::fs::write(&path, text).map_err(|source| NodeError::DataDir { path, source })
}
