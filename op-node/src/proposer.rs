//! The proposer: posts the output root (v0) of every `interval`-th safe L2 block to the L1
//! dispute-game factory as a `BisectionGame` with its bond, so withdrawals can be proven
//! against it, and defends those games (fraud-vm/SPEC.md §12): it names its true output roots
//! and states in every challenge, opens layer 2 at a layer-1 leaf, ends challenges whose
//! challenger ran out of time, resolves its games and collects its credit.
//!
//! It is idempotent: before creating a game it asks the factory whether the same claim for
//! the same block exists, so restarts and retries never post twice. Its defence reads every
//! game it created from the factory (index 0 on) and the game's state from L1 each round, so
//! a restart picks up every game and challenge where the chain has them.
//!
//! Fault injection (devnet): with `fault_every = N`, every N-th proposal (the blocks whose
//! number over `interval` is a multiple of N) claims for block `b` the output root of block
//! `b + 1`: wrong, yet with a real preimage, so a withdrawal made in block `b + 1` can be
//! proven against it (the attack a lying proposer makes). Fixed by `b`, so a restart finds its
//! own earlier lie in the factory and does not post twice. The proposer cannot defend it.

use crate::{
    chain::ChainConfig,
    challenger::{NodeOracle, Player, Role},
    storage::Store,
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use bridge::{bindings::DisputeGameFactory, output::OutputV0};
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
    /// The L2's rules (the defence re-executes a disputed block in layer 2).
    pub chain: Arc<ChainConfig>,
    /// Fault injection: every this many proposals claims a wrong output root (0: never).
    pub fault_every: u64,
    /// Ends a back-off early once the L1 watcher reaches the L1 again.
    pub l1_recovered: crate::l1::L1Recovered,
}

/// Whether the proposal of `target` is one the faulty proposer falsifies.
pub fn falsified(target: u64, interval: u64, fault_every: u64) -> bool {
    fault_every > 0 && (target / interval.max(1)).is_multiple_of(fault_every)
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
    let me = config.signer.address();
    if config.fault_every > 0 {
        warn!(target: "proposer", every = config.fault_every, "fault injection: every N-th proposal claims a wrong output root");
    }
    Ok(tokio::spawn(async move {
        let factory = DisputeGameFactory::new(config.factory, provider.clone());
        let mut defence = Player::new(
            provider.clone(),
            config.factory,
            config.game_type,
            me,
            Role::Defender,
        );
        let oracle = NodeOracle::new(config.store.clone(), config.chain.clone());
        let mut last = 0u64;
        // Consecutive rounds in which the L1 failed us (a defence round or a proposal). Any round
        // the L1 answers in full resets it, so recovery from an outage is seen within one delay,
        // and a game's defence is never held up by an old failure.
        let mut failures = 0u32;
        let mut recovered = config.l1_recovered.clone();
        loop {
            crate::l1::back_off(Duration::from_millis(retry_ms(failures)), &mut recovered).await;
            let mut l1_failed = false;
            // A defence round failing (the L1 did not answer) does not hold up proposals.
            if let Err(e) = defence.round(&oracle).await {
                warn!(target: "proposer", error = %e, retry_in_ms = retry_ms(failures + 1), "defending games failed; retrying");
                l1_failed = true;
            }
            match propose_next(&config, &factory, interval, last).await {
                Ok(Some(target)) => last = target,
                Ok(None) => {}
                Err((target, e)) => {
                    warn!(target: "proposer", l2_block = target, error = %e, retry_in_ms = retry_ms(failures + 1), "proposal failed; retrying");
                    l1_failed = true;
                }
            }
            failures = if l1_failed {
                failures.saturating_add(1)
            } else {
                0
            };
        }
    }))
}

/// The delay before the next round after `failures` failed ones: doubling from 500 ms up to 2 s.
/// The cap is low because a game's clock runs while its defender waits, and a round costs the L1
/// only a few reads.
fn retry_ms(failures: u32) -> u64 {
    500 * 2u64.pow(failures.min(2))
}

/// Proposes the newest safe block at a multiple of `interval` above `last`, if there is one:
/// `Ok(Some(target))` once the factory has its game (created now or before), `Ok(None)` when there
/// is nothing new to propose, `Err((target, error))` when the L1 refused or did not answer.
async fn propose_next<P: alloy::providers::Provider>(
    config: &ProposerConfig,
    factory: &DisputeGameFactory::DisputeGameFactoryInstance<P>,
    interval: u64,
    last: u64,
) -> Result<Option<u64>, (u64, String)> {
    // Only blocks derivable from L1 (safe) are proposed: an output of an unsafe block could be
    // replaced by derivation after it was proposed.
    let head = match config.store.reader().and_then(|r| r.safe_number()) {
        Ok(Some(safe)) => safe,
        _ => return Ok(None),
    };
    let target = head - head % interval;
    if target == 0 || target <= last {
        return Ok(None);
    }
    let lie = falsified(target, interval, config.fault_every);
    // The lie claims the next block's output (once that block exists).
    let (root, _) = match output_root(&config.store, target + u64::from(lie)) {
        Ok(Some(found)) => found,
        _ => return Ok(None),
    };
    let extra: Bytes = U256::from(target).abi_encode().into();
    match propose(factory, config.game_type, root, extra, config.bond).await {
        Ok(Some(game)) => {
            if lie {
                warn!(target: "proposer", l2_block = target, output_root = %root, %game, "proposed a WRONG output root (fault injection)");
            } else {
                info!(target: "proposer", l2_block = target, output_root = %root, %game, "proposed");
            }
            Ok(Some(target))
        }
        Ok(None) => Ok(Some(target)),
        Err(e) => Err((target, e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_proposal_is_falsified() {
        let lies: Vec<u64> = (1..=12)
            .map(|k| k * 20)
            .filter(|t| falsified(*t, 20, 3))
            .collect();
        assert_eq!(lies, vec![60, 120, 180, 240]);
        assert!(!(1..=12).any(|k| falsified(k * 20, 20, 0)));
    }
}
