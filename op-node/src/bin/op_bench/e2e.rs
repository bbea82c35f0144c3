//! End-to-end mode: the real node binary as a child process. Benchmark accounts are funded
//! from the devnet's dev accounts first; then pre-signed transactions go in through JSON-RPC
//! batches over a few connections, and the clock runs from the first send until the last
//! transaction is seen in a sealed block.

use super::{
    BenchError, readers,
    report::{Mode, Report, load_average, ms, pid_cpu, process_cpu},
    rpc::{RpcClient, send_raw_batch},
    timeline::{self, TxPath, unix_now_ms},
    workload::{self, Key, Signer, TOKENS_PER_ACCOUNT, Target, TestToken, Workload},
};
use alloy::{
    primitives::{Address, B256, Bytes, U64, U256, keccak256, map::B256Map, uint},
    sol_types::SolCall,
};
use hyper::body::Bytes as Body;
use op_node::chain::DEV_ACCOUNT_COUNT;
use parking_lot::Mutex;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::json;
use std::{
    fs::File,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::task::JoinSet;

/// Chain id the node runs with.
const CHAIN_ID: u64 = 901;
/// Extra wei every benchmark account gets beyond what its transactions can cost (0.01 ETH).
const FUND_MARGIN: U256 = uint!(10_000_000_000_000_000_U256);
/// How often the inclusion poller asks for the head.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Give up when no transaction was included for this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the node may take to answer its first call.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Parameters of an end-to-end run.
#[derive(Debug, Clone)]
pub struct E2eParams {
    /// What to send.
    pub workload: Workload,
    /// Funded sender accounts.
    pub accounts: usize,
    /// Timed transactions.
    pub txs: usize,
    /// The op-node binary.
    pub node_bin: PathBuf,
    /// The node's `--block-time`.
    pub block_time: String,
    /// The node's `--gas-limit`.
    pub gas_limit: u64,
    /// Transactions per `eth_sendRawTransaction` batch.
    pub batch_size: usize,
    /// Concurrent sending connections.
    pub connections: usize,
    /// Read clients running beside the senders (the load test).
    pub readers: usize,
    /// Fail when the node's peak RSS exceeds this many MiB.
    pub max_node_rss_mib: Option<f64>,
    /// The node's sequencing window in L1 blocks.
    pub seq_window: u64,
    /// Seed of the transfer plan.
    pub seed: u64,
}

/// Runs one end-to-end benchmark against a fresh node, which is killed when this returns.
pub async fn run(p: &E2eParams) -> Result<Report, BenchError> {
    eprintln!(
        "op-bench: e2e {}: {} accounts, {} txs, batches of {} over {} connections",
        p.workload.name(),
        p.accounts,
        p.txs,
        p.batch_size,
        p.connections
    );
    let signer = Signer { chain_id: CHAIN_ID };
    let keys = Key::derive_many(p.accounts);
    let funding = Funding::new(p, &signer, &keys)?;

    let plan = workload::plan(p.accounts, p.txs, p.seed, p.workload.first_nonce());
    let started = Instant::now();
    let raw = signer.sign_plan(&plan, &keys, &funding.target)?;
    let sign = started.elapsed();
    let batches: Vec<Body> = raw.chunks(p.batch_size).map(send_raw_batch).collect();
    let index: B256Map<usize> = raw
        .iter()
        .enumerate()
        .map(|(i, tx)| (keccak256(tx), i))
        .collect();

    let pool_size = funding.txs.len().max(funding.approvals.len()) + raw.len() + 1_000;
    let node = NodeProcess::start(p, pool_size).await?;
    let result = async {
        let mut client = RpcClient::connect(node.addr).await?;
        let started = Instant::now();
        funding.apply(&mut client, p.batch_size, &keys).await?;
        if !funding.approvals.is_empty() {
            // Only now that every key holds ETH: its approvals, all included and successful.
            eprintln!("op-bench: {} approvals", funding.approvals.len());
            let batches = funding
                .approvals
                .chunks(p.batch_size)
                .map(send_raw_batch)
                .collect();
            let index = funding
                .approvals
                .iter()
                .enumerate()
                .map(|(i, tx)| (keccak256(tx), i))
                .collect();
            let m = measure(node.addr, batches, p.batch_size, index, 1).await?;
            check_receipts(&mut client, &m).await?;
        }
        let setup = started.elapsed();
        eprintln!("op-bench: funded; sending {} transactions", raw.len());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let addresses = keys.iter().map(|k| k.address).collect();
        let mut reader_tasks =
            readers::spawn(node.addr, p.readers, addresses, stop.clone()).await?;
        let pid = node.child.id();
        let rss_sampler = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut max = 0f64;
                while !stop.load(Ordering::Relaxed) {
                    max = max.max(readers::rss_mib(pid).unwrap_or(0.0));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                max
            }
        });
        let load_before = load_average();
        let cpu_before = (pid_cpu(pid), process_cpu());
        let measured = measure(node.addr, batches, p.batch_size, index, p.connections).await;
        // Both processes' CPU over the timed part: the node's per transaction is what its
        // ingress and block building cost, much less moved by the machine's load than tps.
        let cpu = (
            pid_cpu(pid).saturating_sub(cpu_before.0),
            process_cpu().saturating_sub(cpu_before.1),
        );
        let load = format!("{load_before} -> {}", load_average());
        stop.store(true, Ordering::Relaxed);
        let mut reads = readers::ReadStats::default();
        while let Some(done) = reader_tasks.join_next().await {
            let stats = done.map_err(|e| BenchError::Workload(format!("reader task: {e}")))??;
            reads.calls += stats.calls;
            reads.latencies_ms.extend(stats.latencies_ms);
        }
        let rss = rss_sampler.await.unwrap_or_default();
        let m = measured?;
        check_receipts(&mut client, &m).await?;
        if let Some(bound) = p.max_node_rss_mib.filter(|&bound| rss > bound) {
            return Err(BenchError::MemoryBound { peak: rss, bound });
        }
        Ok::<_, BenchError>((m, reads, rss, cpu, load, setup))
    }
    .await;
    let (m, reads, rss, (node_cpu, bench_cpu), load, setup) = match result {
        Ok(m) => m,
        Err(e) => {
            eprintln!("op-bench: node log tail:\n{}", node.log_tail());
            return Err(e);
        }
    };
    let elapsed = m.last_included - m.started;
    let node_blocks = timeline::read_log(&node.log);
    if !node_blocks.is_empty() {
        eprintln!(
            "op-bench: the node's blocks of the run:\n{}",
            timeline::describe(&node_blocks, &m.blocks)
        );
    }
    let paths: Vec<TxPath> = m
        .included
        .iter()
        .enumerate()
        .filter_map(|(i, seen)| {
            let (block, seen) = (*seen)?;
            let batch = m.batch_times.get(i / m.batch_size)?;
            Some(TxPath {
                sent: batch.sent?,
                answered: batch.answered?,
                block,
                seen,
            })
        })
        .collect();
    let timeline_stages = timeline::stages(&paths, &node_blocks, m.anchor);
    Ok(Report {
        workload: p.workload,
        mode: Mode::E2e,
        accounts: p.accounts,
        txs: p.txs,
        gas: m.gas,
        elapsed,
        latencies_ms: m.latencies_ms,
        stages: vec![
            ("sign", ms(sign)),
            ("setup", ms(setup)),
            ("submit", ms(m.last_accepted - m.started)),
            (
                "drain",
                ms(m.last_included.saturating_duration_since(m.last_accepted)),
            ),
            ("node_rss_max_mib", rss),
            (
                "node_cpu_us_per_tx",
                node_cpu.as_secs_f64() * 1e6 / p.txs as f64,
            ),
            (
                "bench_cpu_us_per_tx",
                bench_cpu.as_secs_f64() * 1e6 / p.txs as f64,
            ),
        ]
        .into_iter()
        .chain(timeline_stages)
        .chain(
            (p.readers > 0)
                .then(|| {
                    let mut sorted = reads.latencies_ms.clone();
                    sorted.sort_by(f64::total_cmp);
                    [
                        ("reads_per_s", reads.calls as f64 / elapsed.as_secs_f64()),
                        ("read_p50_ms", super::report::percentile(&sorted, 50.0)),
                        ("read_p99_ms", super::report::percentile(&sorted, 99.0)),
                    ]
                })
                .into_iter()
                .flatten(),
        )
        .collect(),
        stages_note: format!(
            "ms total; setup = the untimed funding (and the swap run's contracts, pool and \
             approvals) from its first send to its last inclusion, not in tps; submit = first send to last accepted batch ({:.0} tx/s ingress), drain = \
             to last inclusion; {} blocks, {:.0} txs/block avg, block time {}, gas limit {}; \
             p50/p99 are per-tx send to inclusion seen by a {} ms poller; node_cpu / bench_cpu \
             = the node's / op-bench's CPU time (all threads) over the timed part per \
             transaction; tx_* = each transaction's send to batch answered (admit), to its \
             block's transactions fixed (pool), to sealed (build), to durable (durable), to \
             seen (seen), p50/p99, from the node's log; blk_* = largest per block of the run \
             (slip = transactions fixed behind the tick); load average {load}",
            p.txs as f64 / (m.last_accepted - m.started).as_secs_f64(),
            m.blocks.len(),
            p.txs as f64 / m.blocks.len().max(1) as f64,
            p.block_time,
            p.gas_limit,
            POLL_INTERVAL.as_millis()
        ),
    })
}

/// The node as a child process with its own temporary data directory. Dropping it kills it.
struct NodeProcess {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl NodeProcess {
    async fn start(p: &E2eParams, pool_size: usize) -> Result<Self, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("op-bench-node-")
            .tempdir()?;
        // Bound and released at once: another process could take the port in between, in
        // which case the node fails to start and the error says so.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let log = dir.path().join("node.log");
        let out = File::create(&log)?;
        let child = Command::new(&p.node_bin)
            .arg("devnet")
            .arg("--datadir")
            .arg(dir.path().join("data"))
            .args(["--rpc-addr", "127.0.0.1", "--rpc-port", &port.to_string()])
            .args(["--block-time", &p.block_time])
            .args(["--chain-id", &CHAIN_ID.to_string()])
            .args(["--gas-limit", &p.gas_limit.to_string()])
            .args(["--seq-window", &p.seq_window.to_string()])
            .args(["--txpool.max-count", &pool_size.to_string()])
            // Concurrent batches deliver a sender's nonces out of order now and then.
            .args(["--txpool.max-queued", &pool_size.to_string()])
            // Plain text in the log file (tracing colours its output by default).
            .env("NO_COLOR", "1")
            // Each block's timeline, which `timeline_stages` reads back.
            .env("RUST_LOG", "info,sequencer::timeline=debug")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| BenchError::Node(format!("starting {}: {e}", p.node_bin.display())))?;
        let mut node = Self {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log,
            _dir: dir,
        };
        node.wait_ready().await?;
        Ok(node)
    }

    async fn wait_ready(&mut self) -> Result<(), BenchError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(BenchError::Node(format!(
                    "exited at start ({status}):\n{}",
                    self.log_tail()
                )));
            }
            if let Ok(mut client) = RpcClient::connect(self.addr).await
                && client.call::<U64>("eth_chainId", json!([])).await.is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(BenchError::Node(format!(
                    "no answer on {} after {STARTUP_TIMEOUT:?}:\n{}",
                    self.addr,
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the node's log.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The set-up transactions: ETH from dev accounts 1..10 to every benchmark account and, for
/// the ERC-20 workload, the token's deployment and a hand-out to every account from dev
/// account 0; for the swap workload, dev account 0's Uniswap contracts, pool and hand-outs of
/// both tokens, and each account's approvals of the router, sent once it holds ETH. Each
/// sender's transactions are in nonce order.
struct Funding {
    txs: Vec<Bytes>,
    target: Target,
    /// The contract set-up's own transactions, whose receipts are checked.
    contracts: Vec<B256>,
    /// Each benchmark account's own set-up transactions, sent after `txs` are included.
    approvals: Vec<Bytes>,
    /// Each dev account's nonce once everything is included.
    final_nonces: Vec<(Address, u64)>,
    amount: U256,
}

impl Funding {
    fn new(p: &E2eParams, signer: &Signer, keys: &[Key]) -> Result<Self, BenchError> {
        let dev = Key::dev_accounts(DEV_ACCOUNT_COUNT);
        let (token_holder, eth_funders) = dev.split_first().expect("devnet funds ten accounts");
        let amount = p.workload.max_cost()
            * U256::from(workload::txs_per_account(p.accounts, p.txs))
            + p.workload.setup_cost()
            + FUND_MARGIN;
        let mut holder_txs: Vec<Bytes> = Vec::new();
        let mut approvals = Vec::new();
        let target = match p.workload {
            Workload::EthTransfer => Target::Accounts,
            Workload::Erc20Transfer => {
                let supply = TOKENS_PER_ACCOUNT * U256::from(keys.len());
                let (tx, token) = signer.deploy_token(token_holder, 0, supply)?;
                holder_txs.push(tx);
                Target::Token(token)
            }
            Workload::UniswapSwap => {
                let setup = signer.uniswap_setup(token_holder, 0, keys)?;
                holder_txs = setup.contracts;
                approvals = setup.approvals;
                let handouts = setup.handouts;
                let contracts = holder_txs.iter().map(keccak256).collect();
                let holder_nonce = (holder_txs.len() + handouts.len()) as u64;
                holder_txs.extend(handouts);
                let eth = Self::eth_funding(signer, eth_funders, keys, amount)?;
                let mut final_nonces = Self::funder_nonces(eth_funders, keys);
                final_nonces.push((token_holder.address, holder_nonce));
                holder_txs.extend(eth);
                return Ok(Self {
                    txs: holder_txs,
                    target: Target::Uniswap(setup.pool),
                    contracts,
                    approvals,
                    final_nonces,
                    amount,
                });
            }
        };
        let funders = eth_funders.len();
        let per_account: Vec<Vec<Bytes>> = keys
            .par_iter()
            .enumerate()
            .map(|(i, key)| {
                let funder = &eth_funders[i % funders];
                let mut txs =
                    vec![signer.eth_transfer(funder, (i / funders) as u64, key.address, amount)?];
                if let Target::Token(token) = target {
                    txs.push(signer.token_transfer(
                        token_holder,
                        i as u64 + 1,
                        token,
                        key.address,
                        TOKENS_PER_ACCOUNT,
                    )?);
                }
                Ok(txs)
            })
            .collect::<Result<_, BenchError>>()?;
        let mut txs = holder_txs;
        txs.extend(per_account.into_iter().flatten());

        let mut final_nonces = Self::funder_nonces(eth_funders, keys);
        if let Target::Token(_) = target {
            final_nonces.push((token_holder.address, keys.len() as u64 + 1));
        }
        Ok(Self {
            txs,
            target,
            contracts: Vec::new(),
            approvals,
            final_nonces,
            amount,
        })
    }

    /// `amount` of ETH to every key, from the funders in turn.
    fn eth_funding(
        signer: &Signer,
        funders: &[Key],
        keys: &[Key],
        amount: U256,
    ) -> Result<Vec<Bytes>, BenchError> {
        keys.par_iter()
            .enumerate()
            .map(|(i, key)| {
                let funder = &funders[i % funders.len()];
                signer.eth_transfer(funder, (i / funders.len()) as u64, key.address, amount)
            })
            .collect()
    }

    /// Each ETH funder's nonce once it funded its share of `keys`.
    fn funder_nonces(funders: &[Key], keys: &[Key]) -> Vec<(Address, u64)> {
        funders
            .iter()
            .enumerate()
            .map(|(f, key)| {
                (
                    key.address,
                    keys.len().saturating_sub(f).div_ceil(funders.len()) as u64,
                )
            })
            .collect()
    }

    /// Sends the set-up transactions in order over one connection (so no sender's nonces
    /// arrive out of order), waits until all are included, and spot-checks the result.
    async fn apply(
        &self,
        client: &mut RpcClient,
        batch_size: usize,
        keys: &[Key],
    ) -> Result<(), BenchError> {
        eprintln!(
            "op-bench: funding {} accounts ({} txs)",
            keys.len(),
            self.txs.len()
        );
        for chunk in self.txs.chunks(batch_size) {
            for response in client.batch(send_raw_batch(chunk)).await? {
                if let Some(error) = response.error {
                    return Err(BenchError::Rpc {
                        method: "eth_sendRawTransaction (funding)".into(),
                        message: error.to_string(),
                    });
                }
            }
        }
        let deadline = Instant::now() + STALL_TIMEOUT;
        for (address, nonce) in &self.final_nonces {
            loop {
                let count: U64 = client
                    .call("eth_getTransactionCount", json!([address, "latest"]))
                    .await?;
                if count.to::<u64>() >= *nonce {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(BenchError::Workload(format!(
                        "funding stalled: {address} at nonce {count}, expected {nonce}"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        for hash in &self.contracts {
            let receipt: serde_json::Value = client
                .call("eth_getTransactionReceipt", json!([hash]))
                .await?;
            if receipt["status"] != "0x1" {
                return Err(BenchError::Workload(format!(
                    "set-up transaction {hash} failed: {receipt}"
                )));
            }
        }
        let tokens = match self.target {
            Target::Accounts => vec![],
            Target::Token(token) => vec![token],
            Target::Uniswap(pool) => pool.tokens.to_vec(),
        };
        for key in [keys.first(), keys.last()].into_iter().flatten() {
            let balance: U256 = client
                .call("eth_getBalance", json!([key.address, "latest"]))
                .await?;
            if balance != self.amount {
                return Err(BenchError::Workload(format!(
                    "{} holds {balance} wei after funding, expected {}",
                    key.address, self.amount
                )));
            }
            for &token in &tokens {
                let call = TestToken::balanceOfCall {
                    account: key.address,
                }
                .abi_encode();
                let result: Bytes = client
                    .call(
                        "eth_call",
                        json!([{"to": token, "data": Bytes::from(call)}, "latest"]),
                    )
                    .await?;
                let tokens = TestToken::balanceOfCall::abi_decode_returns(&result)
                    .map_err(|e| BenchError::Workload(format!("balanceOf: {e}")))?;
                if tokens != TOKENS_PER_ACCOUNT {
                    return Err(BenchError::Workload(format!(
                        "{} holds {tokens} tokens after funding, expected {TOKENS_PER_ACCOUNT}",
                        key.address
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What the timed phase observed.
struct Measured {
    started: Instant,
    last_accepted: Instant,
    last_included: Instant,
    gas: u64,
    /// Blocks that included benchmark transactions.
    blocks: Vec<u64>,
    latencies_ms: Vec<f64>,
    index: B256Map<usize>,
    /// Per batch: when it was sent and when its answer came (every call admitted or refused).
    batch_times: Vec<BatchTimes>,
    /// Per transaction: the block it was seen in and when the poller saw it.
    included: Vec<Option<(u64, Instant)>>,
    batch_size: usize,
    /// An instant and the wall-clock time then, in milliseconds since the Unix epoch, to place
    /// the node's logged times on this process's clock.
    anchor: (Instant, f64),
}

/// When one batch was sent and answered.
#[derive(Debug, Clone, Copy, Default)]
struct BatchTimes {
    sent: Option<Instant>,
    answered: Option<Instant>,
}

/// The part of a block the poller reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockSummary {
    gas_used: U64,
    transactions: Vec<B256>,
}

/// Sends every batch over `connections` connections while polling the chain for inclusions;
/// each transaction's latency runs from its batch's send to the poll that saw it in a block.
async fn measure(
    addr: SocketAddr,
    batches: Vec<Body>,
    batch_size: usize,
    index: B256Map<usize>,
    connections: usize,
) -> Result<Measured, BenchError> {
    let total = index.len();
    let mut poller = RpcClient::connect(addr).await?;
    let mut next_block = poller
        .call::<U64>("eth_blockNumber", json!([]))
        .await?
        .to::<u64>()
        + 1;
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(RpcClient::connect(addr).await?);
    }

    let batches = Arc::new(batches);
    let batch_times = Arc::new(Mutex::new(vec![BatchTimes::default(); batches.len()]));
    let anchor = (Instant::now(), unix_now_ms());
    let started = Instant::now();
    let mut tasks = spawn_senders(senders, batches, batch_times.clone(), started);

    let mut included_at: Vec<Option<(u64, Instant)>> = vec![None; total];
    let mut included = 0;
    let mut gas = 0;
    let mut blocks = Vec::new();
    let mut last_accepted = started;
    let mut last_progress = Instant::now();
    while included < total {
        while let Some(done) = tasks.try_join_next() {
            let accepted =
                done.map_err(|e| BenchError::Workload(format!("sender task: {e}")))??;
            last_accepted = last_accepted.max(accepted);
        }
        let head = poller
            .call::<U64>("eth_blockNumber", json!([]))
            .await?
            .to::<u64>();
        while next_block <= head {
            let block: BlockSummary = poller
                .call(
                    "eth_getBlockByNumber",
                    json!([U64::from(next_block), false]),
                )
                .await?;
            let seen = Instant::now();
            let before = included;
            for hash in &block.transactions {
                if let Some(&i) = index.get(hash)
                    && included_at[i].replace((next_block, seen)).is_none()
                {
                    included += 1;
                }
            }
            if included > before {
                gas += block.gas_used.to::<u64>();
                blocks.push(next_block);
                last_progress = seen;
            }
            next_block += 1;
        }
        if last_progress.elapsed() > STALL_TIMEOUT {
            return Err(BenchError::Workload(format!(
                "only {included} of {total} transactions included; none for {STALL_TIMEOUT:?}"
            )));
        }
        if included < total {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
    while let Some(done) = tasks.join_next().await {
        let accepted = done.map_err(|e| BenchError::Workload(format!("sender task: {e}")))??;
        last_accepted = last_accepted.max(accepted);
    }

    let batch_times = batch_times.lock().clone();
    let latencies_ms = included_at
        .iter()
        .enumerate()
        .filter_map(|(i, seen)| {
            Some(ms(seen.as_ref()?.1.saturating_duration_since(
                batch_times[i / batch_size].sent?,
            )))
        })
        .collect();
    let last_included = included_at
        .iter()
        .flatten()
        .map(|(_, seen)| *seen)
        .max()
        .unwrap_or(started);
    Ok(Measured {
        started,
        last_accepted,
        last_included,
        gas,
        blocks,
        latencies_ms,
        index,
        batch_times,
        included: included_at,
        batch_size,
        anchor,
    })
}

/// Each client takes the next unsent batch until none is left, stamping its send and answer
/// times in `batch_times`. A task ends with the time its last batch was accepted, or with the
/// first rejection (every benchmark transaction must be admitted).
fn spawn_senders(
    clients: Vec<RpcClient>,
    batches: Arc<Vec<Body>>,
    batch_times: Arc<Mutex<Vec<BatchTimes>>>,
    started: Instant,
) -> JoinSet<Result<Instant, BenchError>> {
    let next_batch = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for mut client in clients {
        let (batches, next_batch, batch_times) =
            (batches.clone(), next_batch.clone(), batch_times.clone());
        tasks.spawn(async move {
            let mut last_accepted = started;
            loop {
                let i = next_batch.fetch_add(1, Ordering::Relaxed);
                let Some(body) = batches.get(i) else {
                    return Ok(last_accepted);
                };
                batch_times.lock()[i].sent = Some(Instant::now());
                let responses = client.batch(body.clone()).await?;
                last_accepted = Instant::now();
                batch_times.lock()[i].answered = Some(last_accepted);
                let rejected: Vec<_> = responses.iter().filter_map(|r| r.error.as_ref()).collect();
                if let Some(first) = rejected.first() {
                    return Err(BenchError::Rpc {
                        method: "eth_sendRawTransaction".into(),
                        message: format!(
                            "{} of batch {i} rejected, first: {first}",
                            rejected.len()
                        ),
                    });
                }
            }
        });
    }
    tasks
}

/// Every timed transaction must have succeeded, or the figures would measure reverts.
async fn check_receipts(client: &mut RpcClient, m: &Measured) -> Result<(), BenchError> {
    let mut failed = 0usize;
    let mut first = None;
    for number in &m.blocks {
        let receipts: Vec<serde_json::Value> = client
            .call("eth_getBlockReceipts", json!([U64::from(*number)]))
            .await?;
        for receipt in receipts {
            let hash: B256 = serde_json::from_value(receipt["transactionHash"].clone())?;
            if m.index.contains_key(&hash) && receipt["status"] != "0x1" {
                failed += 1;
                first.get_or_insert(hash);
            }
        }
    }
    match first {
        None => Ok(()),
        Some(hash) => Err(BenchError::Workload(format!(
            "{failed} timed transactions failed, the first {hash}"
        ))),
    }
}
