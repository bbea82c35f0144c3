//! The proposer: posts the output root (v0) of every `interval`-th safe L2 block to the L1
//! dispute-game factory with its bond, so withdrawals can be proven against it.
//!
//! It is idempotent: before creating a game it asks the factory whether the same claim for
//! the same block exists, so restarts and retries never post twice. It also resolves every
//! game still in progress once its challenge window has passed (anyone may; the proposer
//! does it promptly so withdrawals are not held up), scanning the factory from the first
//! game so a restart picks up games created before it.

use crate::storage::Store;
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use bridge::{
    bindings::{DisputeGameFactory, ProposalGame},
    output::OutputV0,
};
use std::{sync::Arc, time::Duration};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// What the proposer needs.
#[derive(Debug)]
pub struct ProposerConfig {
    /// L1 JSON-RPC endpoint.
    pub l1_url: String,
    /// The factory.
    pub factory: Address,
    /// The game type to create.
    pub game_type: u32,
    /// The bond each proposal locks.
    pub bond: u128,
    /// Propose every this many L2 blocks.
    pub interval: u64,
    /// The proposer's key.
    pub signer: PrivateKeySigner,
    /// The L2's storage (output roots are computed from its headers).
    pub store: Arc<Store>,
}

/// The output root of L2 block `number`, from its header (Isthmus headers carry the message
/// passer's storage root as `withdrawalsRoot`).
pub fn output_root(
    store: &Store,
    number: u64,
) -> Result<Option<(B256, OutputV0)>, crate::storage::StorageError> {
    let Some((hash, header)) = store.reader()?.header(number)? else {
        return Ok(None);
    };
    let output = OutputV0::of_block(&header, hash);
    Ok(Some((output.root(), output)))
}

/// Starts the proposer task.
pub fn spawn(config: ProposerConfig) -> Result<JoinHandle<()>, String> {
    let interval = config.interval.max(1);
    let provider = crate::l1::wallet_provider(&config.l1_url, config.signer.clone())?;
    Ok(tokio::spawn(async move {
        let factory = DisputeGameFactory::new(config.factory, provider.clone());
        let mut last = 0u64;
        let mut failures = 0u32;
        let mut resolver = Resolver::default();
        loop {
            let wait = Duration::from_millis(500) * 2u32.saturating_pow(failures.min(5));
            tokio::time::sleep(wait).await;
            if let Err(e) = resolver.tick(&factory, &provider).await {
                failures = failures.saturating_add(1);
                warn!(target: "proposer", error = %e, retry_in_ms = (Duration::from_millis(500) * 2u32.saturating_pow(failures.min(5))).as_millis() as u64, "resolving games failed; retrying");
                continue;
            }
            // Only blocks derivable from L1 (safe) are proposed: an output of an unsafe block
            // could be replaced by derivation after it was proposed.
            let head = match config.store.reader().and_then(|r| r.safe_number()) {
                Ok(Some(safe)) => safe,
                _ => continue,
            };
            let target = head - head % interval;
            if target == 0 || target <= last {
                continue;
            }
            let (root, _) = match output_root(&config.store, target) {
                Ok(Some(found)) => found,
                _ => continue,
            };
            let extra: Bytes = U256::from(target).abi_encode().into();
            match propose(&factory, config.game_type, root, extra, config.bond).await {
                Ok(Some(game)) => {
                    info!(target: "proposer", l2_block = target, output_root = %root, %game, "proposed");
                    last = target;
                    failures = 0;
                }
                Ok(None) => {
                    last = target;
                    failures = 0;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(target: "proposer", l2_block = target, error = %e, "proposal failed; retrying");
                }
            }
        }
    }))
}

/// Games in progress and where the scan of the factory stands.
#[derive(Debug, Default)]
struct Resolver {
    next_index: u64,
    pending: Vec<(Address, u64)>,
}

impl Resolver {
    /// Picks up new games and resolves those whose challenge window has passed.
    async fn tick<P: alloy::providers::Provider + Clone>(
        &mut self,
        factory: &DisputeGameFactory::DisputeGameFactoryInstance<P>,
        provider: &P,
    ) -> Result<(), String> {
        let count = factory
            .gameCount()
            .call()
            .await
            .map_err(|e| e.to_string())?;
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        while self.next_index < count {
            let game = factory
                .gameAtIndex(U256::from(self.next_index))
                .call()
                .await
                .map_err(|e| e.to_string())?;
            let instance = ProposalGame::new(game.proxy_, provider.clone());
            let status = instance.status().call().await.map_err(|e| e.to_string())?;
            if status == 0 {
                let due = instance
                    .expectedResolution()
                    .call()
                    .await
                    .map_err(|e| e.to_string())?;
                self.pending.push((game.proxy_, due));
            }
            self.next_index += 1;
        }
        let now = crate::sequencer::unix_now();
        let mut still = Vec::with_capacity(self.pending.len());
        for (game, due) in std::mem::take(&mut self.pending) {
            if now <= due {
                still.push((game, due));
                continue;
            }
            let instance = ProposalGame::new(game, provider.clone());
            let sent = instance.resolve().send().await.map_err(|e| e.to_string());
            match sent {
                Ok(pending) => match pending
                    .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
                    .get_receipt()
                    .await
                {
                    Ok(receipt) if receipt.status() => info!(target: "proposer", %game, "resolved"),
                    Ok(_) => still.push((game, due + 1)),
                    Err(e) => {
                        warn!(target: "proposer", %game, error = %e, "no receipt for resolve; will retry");
                        still.push((game, due + 1));
                    }
                },
                Err(e) => {
                    warn!(target: "proposer", %game, error = %e, "resolve failed; will retry");
                    still.push((game, due + 1));
                }
            }
        }
        self.pending = still;
        Ok(())
    }
}

/// Creates the game unless the factory already has it; returns the new game's address.
async fn propose<P: alloy::providers::Provider>(
    factory: &DisputeGameFactory::DisputeGameFactoryInstance<P>,
    game_type: u32,
    root: B256,
    extra: Bytes,
    bond: u128,
) -> Result<Option<Address>, String> {
    let existing = factory
        .games(game_type, root, extra.clone())
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if existing.proxy_ != Address::ZERO {
        return Ok(None);
    }
    let receipt = factory
        .create(game_type, root, extra.clone())
        .value(U256::from(bond))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| e.to_string())?;
    if !receipt.status() {
        return Err(format!(
            "create reverted in L1 transaction {}",
            receipt.transaction_hash
        ));
    }
    let created = factory
        .games(game_type, root, extra)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(created.proxy_))
}
