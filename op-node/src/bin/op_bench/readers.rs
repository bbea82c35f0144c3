//! Read load beside the e2e run: clients that keep calling the node's read methods while the
//! transactions stream in, and check every answer for what must hold whatever the load:
//! the chain id never changes, the head never goes back, a block once seen keeps its hash,
//! an account's nonce never goes back, and `eth_call` answers. Any error or wrong answer
//! fails the run; latencies and counts go into the report.

use super::{BenchError, report::ms, rpc::RpcClient};
use alloy::primitives::{Address, B256, U64, U256, map::HashMap};
use serde::Deserialize;
use serde_json::json;
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};
use tokio::task::JoinSet;

/// What the readers did.
#[derive(Debug, Default)]
pub struct ReadStats {
    /// Calls answered.
    pub calls: usize,
    /// Per-call latency, ms.
    pub latencies_ms: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct BlockHash {
    hash: B256,
}

/// Starts `count` readers over their own connections; they run until `stop` is set.
pub async fn spawn(
    addr: SocketAddr,
    count: usize,
    accounts: Vec<Address>,
    stop: Arc<AtomicBool>,
) -> Result<JoinSet<Result<ReadStats, BenchError>>, BenchError> {
    let mut tasks = JoinSet::new();
    let accounts = Arc::new(accounts);
    for r in 0..count {
        let mut client = RpcClient::connect(addr).await?;
        let (accounts, stop) = (accounts.clone(), stop.clone());
        tasks.spawn(async move {
            let mut stats = ReadStats::default();
            let mut head = 0u64;
            let mut hashes: HashMap<u64, B256> = HashMap::default();
            let mut nonces: HashMap<Address, u64> = HashMap::default();
            let mut i = r as u64;
            while !stop.load(Ordering::Relaxed) {
                i = i
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let account = accounts[((i >> 33) % accounts.len() as u64) as usize];
                let started = Instant::now();
                match i % 5 {
                    0 => {
                        let id: U64 = client.call("eth_chainId", json!([])).await?;
                        if id != U64::from(901) {
                            return Err(wrong(format!("eth_chainId answered {id}")));
                        }
                    }
                    1 => {
                        let n: U64 = client.call("eth_blockNumber", json!([])).await?;
                        let n = n.to::<u64>();
                        if n < head {
                            return Err(wrong(format!("head went back from {head} to {n}")));
                        }
                        head = n;
                    }
                    2 => {
                        let n = (i >> 20) % (head + 1);
                        let block: BlockHash = client
                            .call("eth_getBlockByNumber", json!([U64::from(n), false]))
                            .await?;
                        if let Some(seen) = hashes.insert(n, block.hash)
                            && seen != block.hash
                        {
                            return Err(wrong(format!("block {n} changed hash")));
                        }
                    }
                    3 => {
                        let nonce: U64 = client
                            .call("eth_getTransactionCount", json!([account, "latest"]))
                            .await?;
                        let nonce = nonce.to::<u64>();
                        if nonces.insert(account, nonce).is_some_and(|old| old > nonce) {
                            return Err(wrong(format!("nonce of {account} went back")));
                        }
                    }
                    _ => {
                        let _: U256 = client
                            .call("eth_getBalance", json!([account, "latest"]))
                            .await?;
                        let call = json!([{ "to": account, "data": "0x" }, "latest"]);
                        let _: alloy::primitives::Bytes = client.call("eth_call", call).await?;
                    }
                }
                stats.calls += 1;
                stats.latencies_ms.push(ms(started.elapsed()));
            }
            Ok(stats)
        });
    }
    Ok(tasks)
}

fn wrong(message: String) -> BenchError {
    BenchError::Workload(format!("read answered wrongly under load: {message}"))
}

/// The resident memory of process `pid` in MiB (Linux), if readable.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
