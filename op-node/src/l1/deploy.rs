//! Deploys the bridge contracts on the L1 with real transactions, in dependency order:
//! factory, anchor-state registry (respecting the bisection game type, anchored at the L2
//! genesis output), the step verifiers, portal (fraud-vm/SPEC.md §12.7), batch inbox, the
//! deposit log-index oracle of the portal, the block-boundary verifier (which reads the inbox,
//! the portal and the oracle) and the game verifier, the
//! bisection-game implementation (registered with its bond). The block that includes the portal
//! becomes the rollup's L1 genesis (the first L2 block's origin, which the inbox is told).

use super::{
    DEPLOYER_INDEX,
    bindings::{
        BisectionGame, BoundaryStepVerifier, BoundaryVerifier, CallStepVerifier, GameVerifier,
        L2Precompiles, OneStepVerifier, SealingStepVerifier, TxEndVerifier, TxStartVerifier,
        WorldStepVerifier,
    },
    service_signer,
};
use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use bridge::bindings::{
    AnchorStateRegistry, BatchInbox, DepositLogIndex, DisputeGameFactory, OptimismPortal,
};
use tracing::info;

/// The game type proposals use: `BisectionGame` (ours; viem reads it from the portal). Type 1
/// was `ProposalGame` (a claim stands if unchallenged), which no deployment registers any more.
pub const BISECTION_GAME_TYPE: u32 = 2;

/// Parameters of the deployment (chain parameters of the bridge and its game).
#[derive(Debug, Clone, Copy)]
pub struct DeployParams {
    /// The game's challenge window after a proposal, and each side's clock in a challenge
    /// (`maxClockDuration`, seconds).
    pub challenge_window: u64,
    /// The least time a side of a challenge has when its turn begins (`clockExtension`, seconds).
    pub clock_extension: u64,
    /// Bond of each challenge, in wei.
    pub challenge_bond: u128,
    /// The L2 genesis output root: the registry's first anchor, where bisection starts.
    pub genesis_output_root: B256,
    /// Seconds a withdrawal proof must age.
    pub proof_maturity_delay: u64,
    /// Seconds after resolution before a game counts as final.
    pub game_finality_delay: u64,
    /// Bond of a proposal, in wei.
    pub proposal_bond: u128,
    /// The L2's chain parameters, which the block-boundary verifier derives each block's
    /// environment with (fraud-vm/SPEC.md §5.18).
    pub l2: fraud_vm::block_start::ChainParams,
    /// The L1-info deposit's parameters (the rollup config's batcher and fee scalars), which
    /// the block-boundary verifier rebuilds each block's first deposit with (SPEC.md §5.18).
    pub deposits: fraud_vm::block_start::DepositParams,
    /// The batch inbox's parameters: the batcher, and the rollup's L2 genesis timestamp,
    /// sequencing window and drift (its genesis epoch is the portal's block).
    pub inbox: InboxParams,
}

/// What the batch inbox is told besides its genesis epoch.
#[derive(Debug, Clone, Copy)]
pub struct InboxParams {
    /// The only account that may append.
    pub batcher: Address,
    /// The L2 genesis block number.
    pub l2_genesis_number: u64,
    /// The L2 genesis timestamp.
    pub l2_genesis_timestamp: u64,
    /// Sequencing window, L1 blocks.
    pub seq_window_size: u64,
    /// Sequencer drift, seconds.
    pub max_sequencer_drift: u64,
}

/// Where the contracts landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The portal.
    pub portal: Address,
    /// The dispute-game factory.
    pub factory: Address,
    /// The anchor-state registry.
    pub registry: Address,
    /// The bisection-game implementation.
    pub game_implementation: Address,
    /// The verifier the game calls (steps and block boundaries).
    pub verifier: Address,
    /// The batch inbox.
    pub inbox: Address,
    /// The deposit log-index oracle (bridge `DepositLogIndex`) of the portal.
    pub log_index: Address,
    /// The L1's chain id, as it reports it.
    pub l1_chain_id: u64,
    /// The L1 block that included the portal.
    pub block_number: u64,
    /// Its hash.
    pub block_hash: B256,
}

/// Deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The URL is not a URL.
    #[error("L1 RPC URL {0:?} is invalid")]
    Url(String),
    /// A transaction failed or the L1 did not answer.
    #[error("deploying {step}: {reason}")]
    Step {
        /// What was being done.
        step: &'static str,
        /// Why it failed.
        reason: String,
    },
}

fn step(step: &'static str) -> impl Fn(String) -> DeployError {
    move |reason| DeployError::Step { step, reason }
}

/// Puts Multicall3 at its canonical address when the L1 lacks it (a fresh hardhat or anvil
/// node; public L1s have it), through the development RPCs those nodes offer. viem's batched
/// reads, which its op-stack actions use, need it.
async fn ensure_multicall3<P: Provider>(provider: &P) {
    use crate::chain::MULTICALL3;
    if provider
        .get_code_at(MULTICALL3)
        .await
        .is_ok_and(|code| !code.is_empty())
    {
        return;
    }
    let code = bridge::bindings::Multicall3::DEPLOYED_BYTECODE.clone();
    for method in ["anvil_setCode", "hardhat_setCode"] {
        let set: Result<serde_json::Value, _> = provider
            .raw_request(method.into(), (MULTICALL3, code.clone()))
            .await;
        if set.is_ok()
            && provider
                .get_code_at(MULTICALL3)
                .await
                .is_ok_and(|c| !c.is_empty())
        {
            info!(target: "l1", %MULTICALL3, via = method, "placed Multicall3 on the L1");
            return;
        }
    }
    tracing::warn!(target: "l1", %MULTICALL3, "the L1 has no Multicall3 and no way to place it: viem's batched reads will fail");
}

/// Waits for a sent transaction's receipt and requires that it succeeded.
async fn confirmed(
    what: &'static str,
    sent: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<TransactionReceipt, DeployError> {
    let receipt = sent
        .map_err(|e| step(what)(e.to_string()))?
        .with_timeout(Some(super::L1_RECEIPT_TIMEOUT))
        .get_receipt()
        .await
        .map_err(|e| step(what)(e.to_string()))?;
    if !receipt.status() {
        return Err(step(what)(format!(
            "reverted in L1 transaction {}",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}

/// Deploys the Solidity one-step verifier (fraud-vm/contracts/verifier/README.md): the L2's
/// precompiles, the four step-family contracts (`TxStartVerifier` deploys its `TxDecoder`
/// itself), the block-boundary step contracts, then the entry `OneStepVerifier` that forwards to
/// them. Returns the entry's address.
async fn deploy_step_verifier<P: Provider>(provider: &P) -> Result<Address, DeployError> {
    let precompiles = *L2Precompiles::deploy(provider)
        .await
        .map_err(|e| step("L2Precompiles")(e.to_string()))?
        .address();
    let world = *WorldStepVerifier::deploy(provider)
        .await
        .map_err(|e| step("WorldStepVerifier")(e.to_string()))?
        .address();
    let calls = *CallStepVerifier::deploy(provider, precompiles)
        .await
        .map_err(|e| step("CallStepVerifier")(e.to_string()))?
        .address();
    let starts = *TxStartVerifier::deploy(provider, precompiles)
        .await
        .map_err(|e| step("TxStartVerifier")(e.to_string()))?
        .address();
    let ends = *TxEndVerifier::deploy(provider)
        .await
        .map_err(|e| step("TxEndVerifier")(e.to_string()))?
        .address();
    let sealing = *SealingStepVerifier::deploy(provider)
        .await
        .map_err(|e| step("SealingStepVerifier")(e.to_string()))?
        .address();
    let boundary = *BoundaryStepVerifier::deploy(provider, sealing)
        .await
        .map_err(|e| step("BoundaryStepVerifier")(e.to_string()))?
        .address();
    let entry = OneStepVerifier::deploy(provider, world, calls, starts, ends, boundary)
        .await
        .map_err(|e| step("OneStepVerifier")(e.to_string()))?;
    Ok(*entry.address())
}

/// Deploys the bridge on the L1 at `url` from the devnet deployer key.
pub async fn deploy_bridge(url: &str, params: DeployParams) -> Result<Deployment, DeployError> {
    let signer = service_signer(DEPLOYER_INDEX);
    let owner = signer.address();
    let provider =
        super::wallet_provider(url, signer).map_err(|_| DeployError::Url(url.to_string()))?;
    info!(target: "l1", deployer = %owner, "deploying the bridge contracts");

    let factory = DisputeGameFactory::deploy(&provider, owner)
        .await
        .map_err(|e| step("DisputeGameFactory")(e.to_string()))?;
    let registry = AnchorStateRegistry::deploy(
        &provider,
        *factory.address(),
        U256::from(params.game_finality_delay),
        BISECTION_GAME_TYPE,
        owner,
    )
    .await
    .map_err(|e| step("AnchorStateRegistry")(e.to_string()))?;
    confirmed(
        "setAnchorRoot",
        registry
            .setAnchorRoot(params.genesis_output_root, U256::ZERO)
            .send()
            .await,
    )
    .await?;
    let steps = deploy_step_verifier(&provider).await?;
    let receipt = OptimismPortal::deploy_builder(
        &provider,
        *registry.address(),
        U256::from(params.proof_maturity_delay),
    )
    .send()
    .await
    .map_err(|e| step("OptimismPortal")(e.to_string()))?
    .get_receipt()
    .await
    .map_err(|e| step("OptimismPortal")(e.to_string()))?;
    let portal = receipt
        .contract_address
        .ok_or_else(|| step("OptimismPortal")("no contract address".into()))?;
    let block_number = receipt
        .block_number
        .ok_or_else(|| step("OptimismPortal")("receipt without block".into()))?;
    let block_hash = receipt
        .block_hash
        .ok_or_else(|| step("OptimismPortal")("receipt without block".into()))?;
    if !receipt.status() {
        return Err(step("OptimismPortal")("deployment reverted".into()));
    }
    let code = provider
        .get_code_at(portal)
        .await
        .map_err(|e| step("OptimismPortal")(e.to_string()))?;
    if code.is_empty() {
        return Err(step("OptimismPortal")(
            "no code at the portal address".into(),
        ));
    }
    let p = params.inbox;
    let inbox = BatchInbox::deploy(
        &provider,
        p.batcher,
        p.l2_genesis_number + 1,
        block_number,
        p.l2_genesis_timestamp,
        p.seq_window_size,
        p.max_sequencer_drift,
    )
    .await
    .map_err(|e| step("BatchInbox")(e.to_string()))?;
    // The oracle that learns the portal's deposit log indices from L1 receipts.
    let log_index = *DepositLogIndex::deploy(&provider, portal)
        .await
        .map_err(|e| step("DepositLogIndex")(e.to_string()))?
        .address();
    // The block-boundary verifier (SPEC §5.18, §12.6), built with the L2's chain parameters,
    // the inbox it opens block inputs from, the portal whose deposit log it checks the user
    // deposits against and the oracle it checks their log indices against (so it is deployed
    // after them).
    let l2 = params.l2;
    let boundary = *BoundaryVerifier::deploy(
        &provider,
        BoundaryVerifier::ChainParams {
            chainId: l2.chain_id,
            coinbase: l2.coinbase,
            gasLimit: l2.gas_limit,
            baseFeeDenominator: l2.base_fee_denominator,
            elasticity: l2.elasticity,
            minBaseFee: l2.min_base_fee,
        },
        *inbox.address(),
        BoundaryVerifier::DepositParams {
            batcher: params.deposits.batcher,
            baseFeeScalar: params.deposits.base_fee_scalar,
            blobBaseFeeScalar: params.deposits.blob_base_fee_scalar,
        },
        portal,
        log_index,
    )
    .await
    .map_err(|e| step("BoundaryVerifier")(e.to_string()))?
    .address();
    let verifier = GameVerifier::deploy(&provider, steps, boundary)
        .await
        .map_err(|e| step("GameVerifier")(e.to_string()))?;
    let game = BisectionGame::deploy(
        &provider,
        BISECTION_GAME_TYPE,
        params.challenge_window,
        params.clock_extension,
        U256::from(params.challenge_bond),
        *verifier.address(),
        *registry.address(),
    )
    .await
    .map_err(|e| step("BisectionGame")(e.to_string()))?;
    confirmed(
        "setImplementation",
        factory
            .setImplementation(BISECTION_GAME_TYPE, *game.address())
            .send()
            .await,
    )
    .await?;
    confirmed(
        "setInitBond",
        factory
            .setInitBond(BISECTION_GAME_TYPE, U256::from(params.proposal_bond))
            .send()
            .await,
    )
    .await?;
    ensure_multicall3(&provider).await;
    let l1_chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| step("eth_chainId")(e.to_string()))?;
    let deployment = Deployment {
        l1_chain_id,
        portal,
        factory: *factory.address(),
        registry: *registry.address(),
        game_implementation: *game.address(),
        verifier: *verifier.address(),
        inbox: *inbox.address(),
        log_index,
        block_number,
        block_hash,
    };
    info!(target: "l1", portal = %deployment.portal, factory = %deployment.factory, registry = %deployment.registry, game = %deployment.game_implementation, verifier = %deployment.verifier, inbox = %deployment.inbox, log_index = %deployment.log_index, block = block_number, "bridge deployed");
    Ok(deployment)
}
