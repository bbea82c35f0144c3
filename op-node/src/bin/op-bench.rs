//! op-bench: measures op-node's throughput with ETH transfers, ERC-20 transfers and Uniswap V2
//! swaps, for the serial core (senders already recovered:
//! execution, state root, persistence) and for the whole node end to end (signed transactions
//! in through JSON-RPC, sealed and persisted blocks out).
//!
//! Results go to stdout, one line per run plus its stage breakdown:
//! `workload=<w> mode=<m> accounts=<n> tps=<x> mgas_per_s=<y> p50_ms=<a> p99_ms=<b>`.
//! Progress goes to stderr.

#[path = "op_bench/derive.rs"]
mod derive;
#[path = "op_bench/e2e.rs"]
mod e2e;
#[path = "op_bench/readers.rs"]
mod readers;
#[path = "op_bench/report.rs"]
mod report;
#[path = "op_bench/rpc.rs"]
mod rpc;
#[path = "op_bench/serial.rs"]
mod serial;
#[path = "op_bench/timeline.rs"]
mod timeline;
#[path = "op_bench/workload.rs"]
mod workload;

use clap::{Args, Parser};
use report::Mode;
use std::{io::Write, path::PathBuf, process::ExitCode};
use workload::Workload;

/// Measures op-node's throughput: the serial core and the whole node end to end.
#[derive(Debug, Parser)]
#[command(name = "op-bench", version)]
struct Cli {
    /// Workloads to run (comma-separated) [default: eth-transfer,erc20-transfer,uniswap-swap;
    /// with --quick, uniswap-swap in serial mode only, as a node's start alone takes ~20 s].
    #[arg(long, value_enum, value_delimiter = ',')]
    workload: Vec<Workload>,
    /// Modes to run each workload in (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Mode::Serial, Mode::E2e])]
    mode: Vec<Mode>,
    /// Funded sender accounts [default: 10000, 2000 with --quick].
    #[arg(long)]
    accounts: Option<usize>,
    /// Timed transactions per run [default: 50000 serial and derive, 100000 e2e, 20000 with
    /// --quick].
    #[arg(long)]
    txs: Option<usize>,
    /// A short run of every selected workload and mode (under a minute in all).
    #[arg(long)]
    quick: bool,
    /// Block gas limit of the benchmark chain (serial and e2e).
    #[arg(long, default_value_t = 500_000_000)]
    gas_limit: u64,
    /// Seed of the random senders and receivers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serial mode settings.
    #[command(flatten)]
    serial: SerialArgs,
    /// End-to-end mode settings.
    #[command(flatten)]
    e2e: E2eArgs,
}

/// Serial mode settings.
#[derive(Debug, Args)]
struct SerialArgs {
    /// Transactions per block in serial mode.
    #[arg(long, default_value_t = 2_000)]
    block_txs: usize,
    /// Pending blocks that start a state-file batch (serial and derive; default: the node's).
    #[arg(long)]
    apply_min_batch: Option<usize>,
    /// Longest a committed block waits for the state file, in ms (serial and derive; default:
    /// the node's).
    #[arg(long)]
    apply_max_delay_ms: Option<u64>,
    /// After the timed blocks (serial mode), close the store, reopen it and seal one more block
    /// of transfers from accounts that have not sent yet, and report how long the reopening
    /// and that first block took (the node's restart cost; not in tps).
    #[arg(long)]
    restart: bool,
    /// Serial mode: build, seal and hand over each block in turn (`Engine::build_block` then
    /// `Engine::seal`), the sequencer's way before it pipelined, for comparison. By default
    /// each block executes while the previous block's roots, seal and append run on other
    /// threads (`Engine::pipeline_block`), as the node's sequencer does.
    #[arg(long, conflicts_with = "pipeline")]
    no_pipeline: bool,
    /// Serial mode: the pipelined path, the default (accepted for older command lines).
    #[arg(long)]
    pipeline: bool,
}

/// End-to-end mode settings.
#[derive(Debug, Args)]
struct E2eArgs {
    /// The op-node binary to start.
    #[arg(long, default_value = "target/release/op-node")]
    node_bin: PathBuf,
    /// The node's block time.
    #[arg(long, default_value = "250ms")]
    block_time: String,
    /// Transactions per eth_sendRawTransaction batch.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Concurrent connections sending batches.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Read clients calling eth_chainId, eth_blockNumber, eth_getBlockByNumber,
    /// eth_getTransactionCount, eth_getBalance and eth_call during the run, each answer checked
    /// (the load test; 0 = none).
    #[arg(long, default_value_t = 0)]
    readers: usize,
    /// Fail the run when the node's peak resident memory (sampled every 100 ms) exceeds this
    /// many MiB (the load test's memory bound; unset = report only).
    #[arg(long, value_name = "MIB")]
    max_node_rss_mib: Option<f64>,
    /// The node's sequencing window, in L1 blocks (its `--seq-window`). The devnet's default
    /// (120 one-second L1 blocks) is shorter than funding a million accounts takes, while the
    /// batcher posts about 1,100 transfers per L1 block: past the window the batcher forces
    /// epochs and the sequencer's blocks are replaced. OP mainnet's window is 3,600 L1 blocks.
    #[arg(long, default_value_t = 3_600)]
    seq_window: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
enum BenchError {
    /// Files, sockets, processes.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP connection.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// An HTTP request could not be built.
    #[error("http request: {0}")]
    HttpRequest(#[from] hyper::http::Error),
    /// A JSON body did not parse.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The node answered a call with an error.
    #[error("{method}: {message}")]
    Rpc {
        /// The method.
        method: String,
        /// The node's error.
        message: String,
    },
    /// The engine failed (serial mode).
    #[error("engine: {0}")]
    Engine(#[from] op_node::engine::EngineError),
    /// Storage failed (serial mode).
    #[error("storage: {0}")]
    Storage(#[from] op_node::storage::StorageError),
    /// Admission refused a benchmark transaction (serial mode).
    #[error("txpool: {0}")]
    Pool(#[from] op_node::txpool::PoolError),
    /// The node process.
    #[error("node: {0}")]
    Node(String),
    /// The workload did not go as planned (a transaction missing or reverted).
    #[error("{0}")]
    Workload(String),
    /// The node's peak resident memory went past `--max-node-rss-mib`.
    #[error("node peak RSS {peak:.0} MiB exceeds the bound of {bound:.0} MiB")]
    MemoryBound {
        /// The peak seen.
        peak: f64,
        /// The bound.
        bound: f64,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

fn main() -> ExitCode {
    // Before any thread starts: see op_node::allocator.
    op_node::allocator::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("op-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), BenchError> {
    let accounts = cli
        .accounts
        .unwrap_or(if cli.quick { 2_000 } else { 10_000 });
    let txs = |mode| match (cli.txs, cli.quick, mode) {
        (Some(txs), _, _) => txs,
        (None, true, _) => 20_000,
        (None, false, Mode::Serial | Mode::Derive) => 50_000,
        (None, false, Mode::E2e) => 100_000,
    };
    if accounts < 2 || cli.txs == Some(0) {
        return Err(BenchError::Workload(
            "need at least two accounts and one transaction".into(),
        ));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    for &mode in &cli.mode {
        let workloads = match (cli.workload.is_empty(), cli.quick, mode) {
            (false, _, _) => cli.workload.clone(),
            (true, true, Mode::E2e) => vec![Workload::EthTransfer, Workload::Erc20Transfer],
            (true, _, _) => vec![
                Workload::EthTransfer,
                Workload::Erc20Transfer,
                Workload::UniswapSwap,
            ],
        };
        for workload in workloads {
            let serial_params = serial::SerialParams {
                workload,
                accounts,
                txs: txs(mode),
                block_txs: cli.serial.block_txs.max(1),
                gas_limit: cli.gas_limit,
                seed: cli.seed,
                apply: apply_mode(&cli.serial),
                restart: cli.serial.restart,
                pipeline: !cli.serial.no_pipeline,
            };
            let report = match mode {
                Mode::Serial => serial::run(serial_params)?,
                Mode::Derive => derive::run(serial_params)?,
                Mode::E2e => {
                    let params = e2e::E2eParams {
                        workload,
                        accounts,
                        txs: txs(mode),
                        node_bin: cli.e2e.node_bin.clone(),
                        block_time: cli.e2e.block_time.clone(),
                        gas_limit: cli.gas_limit,
                        batch_size: cli.e2e.batch_size.max(1),
                        connections: cli.e2e.connections.max(1),
                        readers: cli.e2e.readers,
                        max_node_rss_mib: cli.e2e.max_node_rss_mib,
                        seq_window: cli.e2e.seq_window,
                        seed: cli.seed,
                    };
                    // Dropping the run on Ctrl-C drops the node process guard, which kills it.
                    runtime.block_on(async {
                        tokio::select! {
                            report = e2e::run(&params) => report,
                            () = interrupted() => Err(BenchError::Interrupted),
                        }
                    })?
                }
            };
            println!("{report}");
            // Each result as soon as it is known, also when stdout is a pipe.
            std::io::stdout().flush()?;
        }
    }
    Ok(())
}

/// The node's way of writing the state file, with the batch settings `args` override.
fn apply_mode(args: &SerialArgs) -> op_node::storage::ApplyMode {
    use op_node::storage::ApplyMode;
    let ApplyMode::Background {
        min_batch,
        max_delay,
        max_pending,
    } = ApplyMode::default()
    else {
        return ApplyMode::default();
    };
    ApplyMode::Background {
        min_batch: args.apply_min_batch.unwrap_or(min_batch).max(1),
        max_delay: args
            .apply_max_delay_ms
            .map_or(max_delay, std::time::Duration::from_millis),
        max_pending,
    }
}

/// Resolves on Ctrl-C or SIGTERM, so that an interrupted run still stops its node.
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
