//! The L1 side of the devnet: the service accounts, and the deployment of the bridge
//! contracts on any L1 (the embedded one or `--l1-rpc`).

pub mod bindings;
pub mod deploy;

use crate::chain::TEST_MNEMONIC;
use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
    rpc::client::RpcClient,
    signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    transports::http::{Http, reqwest},
};
use std::time::Duration;

/// Longest any one L1 JSON-RPC request may take: a request the L1 never answers (a hung
/// node, a black-holed connection) fails after this and is retried, instead of stalling
/// the L1 watcher, the batcher or the proposer for good.
pub const L1_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest the batcher and proposer wait for a transaction's receipt before trying again.
pub const L1_RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// A JSON-RPC client for the L1 at `url` with [`L1_REQUEST_TIMEOUT`] on every request.
pub fn rpc_client(url: &str) -> Result<RpcClient, String> {
    let parsed: reqwest::Url = url
        .parse()
        .map_err(|e| format!("L1 RPC URL {url:?}: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(L1_REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("L1 HTTP client: {e}"))?;
    let http = Http::with_client(client, parsed);
    let local = http.guess_local();
    Ok(RpcClient::new(http, local))
}

/// Mnemonic index of the batcher (after the ten user accounts).
pub const BATCHER_INDEX: u32 = 10;
/// Mnemonic index of the proposer.
pub const PROPOSER_INDEX: u32 = 11;
/// Mnemonic index of the challenger.
pub const CHALLENGER_INDEX: u32 = 12;
/// Mnemonic index of the contract deployer (and owner of the factory and registry).
pub const DEPLOYER_INDEX: u32 = 13;
/// Mnemonic index of the devnet's dishonest challenger (`--fault-challenger`).
pub const DISHONEST_CHALLENGER_INDEX: u32 = 14;

/// The devnet key at `index` of the test mnemonic. Indices 10 to 19 are funded by hardhat's and
/// anvil's default nodes too, so the same keys work against them as `--l1-rpc`.
pub fn service_signer(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(TEST_MNEMONIC)
        .index(index)
        .and_then(|b| b.build())
        .expect("the test mnemonic and its derivation path are valid")
}

/// A provider that signs with `signer` against the L1 at `url`: gas estimated, chain id
/// fetched, and the nonce read from the L1's pending state for every transaction (a send
/// that fails leaves no gap, as a locally cached nonce would), every request time-limited.
pub fn wallet_provider(
    url: &str,
    signer: PrivateKeySigner,
) -> Result<impl Provider + Clone + 'static, String> {
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(rpc_client(url)?))
}

/// Tells the tasks that back off on L1 failures (batcher, proposer) that the L1 watcher reached
/// the L1 again after failing, so they retry at once instead of sleeping out a delay grown
/// during the outage. The value counts the recoveries.
pub type L1Recovered = tokio::sync::watch::Receiver<u64>;

/// A fresh recovery signal: the sender goes to the L1 watcher, receivers to the tasks.
pub fn l1_recovery_signal() -> (tokio::sync::watch::Sender<u64>, L1Recovered) {
    tokio::sync::watch::channel(0)
}

/// Sleeps `wait`, or less if the L1 watcher reports the L1 reachable again meanwhile. Without a
/// watcher (the sender dropped) it sleeps the whole delay.
pub async fn back_off(wait: Duration, recovered: &mut L1Recovered) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        Ok(()) = recovered.changed() => {}
    }
}
