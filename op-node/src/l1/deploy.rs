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
    network::Ethereum,
    primitives::{Address, B256, U256},
    providers::{PendingTransactionBuilder, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
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

/// The deployment's transactions, sent without waiting for each to be mined: each gets the
/// deployer's next nonce (so a deployment's address is known before it lands, and later
/// constructors can be given it) and its own gas estimate against the latest state. A batch may
/// therefore hold a deployment whose constructor takes the address of another one in the same
/// batch only when that constructor just stores the address; a constructor or a call that
/// calls a contract must wait for a batch that deploys it (OneStepVerifier's constructor reads
/// WorldStepVerifier's and CallStepVerifier's split-out contracts, so the step verifiers confirm
/// before it). [`Batch::confirm`] waits for them all. The four
/// batches take about five L1 blocks, where one block per transaction took 19 (19 s at the 1 s
/// L1 blocks of a devnet, paid by every devnet start).
struct Batch<'a, P> {
    provider: &'a P,
    from: Address,
    nonce: u64,
    sent: Vec<Sent>,
}

/// One transaction of a [`Batch`], waiting for its receipt.
struct Sent {
    what: &'static str,
    pending: PendingTransactionBuilder<Ethereum>,
    /// Where a deployment must land (`None` for a call).
    address: Option<Address>,
}

impl<'a, P: Provider> Batch<'a, P> {
    /// An empty batch from `from`, starting at its pending nonce.
    async fn new(provider: &'a P, from: Address) -> Result<Self, DeployError> {
        let nonce = provider
            .get_transaction_count(from)
            .pending()
            .await
            .map_err(|e| step("eth_getTransactionCount")(e.to_string()))?;
        Ok(Self {
            provider,
            from,
            nonce,
            sent: Vec::new(),
        })
    }

    /// Sends a deployment; returns the address it will have.
    async fn deploy(
        &mut self,
        what: &'static str,
        tx: TransactionRequest,
    ) -> Result<Address, DeployError> {
        let address = self.from.create(self.nonce);
        self.send(what, tx, Some(address)).await?;
        Ok(address)
    }

    /// Sends a call to a contract that a confirmed batch deployed.
    async fn call(
        &mut self,
        what: &'static str,
        tx: TransactionRequest,
    ) -> Result<(), DeployError> {
        self.send(what, tx, None).await
    }

    async fn send(
        &mut self,
        what: &'static str,
        tx: TransactionRequest,
        address: Option<Address>,
    ) -> Result<(), DeployError> {
        let mut tx = tx.from(self.from);
        // Estimated without the nonce: an L1 may refuse to estimate a transaction whose nonce is
        // ahead of the account's, as every one after the first of a batch is.
        let gas = self
            .provider
            .estimate_gas(tx.clone())
            .await
            .map_err(|e| step(what)(e.to_string()))?;
        tx = tx.gas_limit(gas).nonce(self.nonce);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| step(what)(e.to_string()))?;
        self.nonce += 1;
        self.sent.push(Sent {
            what,
            pending,
            address,
        });
        Ok(())
    }

    /// Waits for every transaction sent since the last `confirm`, requires each to succeed and
    /// each deployment to land where [`Batch::deploy`] said; returns their receipts in the order
    /// sent.
    async fn confirm(&mut self) -> Result<Vec<TransactionReceipt>, DeployError> {
        let mut receipts = Vec::with_capacity(self.sent.len());
        for Sent {
            what,
            pending,
            address,
        } in self.sent.drain(..)
        {
            let receipt = pending
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
            if address.is_some() && receipt.contract_address != address {
                return Err(step(what)(format!(
                    "landed at {:?}, expected {address:?} (another sender used the deployer's nonce?)",
                    receipt.contract_address
                )));
            }
            receipts.push(receipt);
        }
        Ok(receipts)
    }
}

/// Sends the Solidity one-step verifier's deployments (fraud-vm/contracts/verifier/README.md):
/// the L2's precompiles, the four step-family contracts (`TxStartVerifier` deploys its
/// `TxDecoder` itself, `TxEndVerifier` the start's sub-steps' `TxEntriesVerifier`), the block-boundary step contracts, then the entry `OneStepVerifier` that
/// forwards to them. Returns the entry's address.
async fn deploy_step_verifier<P: Provider>(
    batch: &mut Batch<'_, P>,
) -> Result<Address, DeployError> {
    let p = batch.provider;
    let precompiles = batch
        .deploy(
            "L2Precompiles",
            L2Precompiles::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let world = batch
        .deploy(
            "WorldStepVerifier",
            WorldStepVerifier::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let calls = batch
        .deploy(
            "CallStepVerifier",
            CallStepVerifier::deploy_builder(p, precompiles).into_transaction_request(),
        )
        .await?;
    let starts = batch
        .deploy(
            "TxStartVerifier",
            TxStartVerifier::deploy_builder(p, precompiles).into_transaction_request(),
        )
        .await?;
    let ends = batch
        .deploy(
            "TxEndVerifier",
            TxEndVerifier::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let sealing = batch
        .deploy(
            "SealingStepVerifier",
            SealingStepVerifier::deploy_builder(p).into_transaction_request(),
        )
        .await?;
    let boundary = batch
        .deploy(
            "BoundaryStepVerifier",
            BoundaryStepVerifier::deploy_builder(p, sealing).into_transaction_request(),
        )
        .await?;
    // OneStepVerifier's constructor asks WorldStepVerifier and CallStepVerifier for the
    // contracts they deployed (`exitSteps()`, `createSteps()`), so they must be mined first.
    batch.confirm().await?;
    batch
        .deploy(
            "OneStepVerifier",
            OneStepVerifier::deploy_builder(p, world, calls, starts, ends, boundary)
                .into_transaction_request(),
        )
        .await
}

/// Deploys the bridge on the L1 at `url` from the devnet deployer key, in four batches: the
/// factory, the registry and the step verifiers; the entry `OneStepVerifier`; the registry's anchor and the portal, whose
/// block becomes the inbox's genesis epoch; then the rest and the factory's configuration.
pub async fn deploy_bridge(url: &str, params: DeployParams) -> Result<Deployment, DeployError> {
    let signer = service_signer(DEPLOYER_INDEX);
    let owner = signer.address();
    let provider =
        super::wallet_provider(url, signer).map_err(|_| DeployError::Url(url.to_string()))?;
    info!(target: "l1", deployer = %owner, "deploying the bridge contracts");
    let p = &provider;
    let mut batch = Batch::new(p, owner).await?;

    let factory = batch
        .deploy(
            "DisputeGameFactory",
            DisputeGameFactory::deploy_builder(p, owner).into_transaction_request(),
        )
        .await?;
    let registry = batch
        .deploy(
            "AnchorStateRegistry",
            AnchorStateRegistry::deploy_builder(
                p,
                factory,
                U256::from(params.game_finality_delay),
                BISECTION_GAME_TYPE,
                owner,
            )
            .into_transaction_request(),
        )
        .await?;
    let steps = deploy_step_verifier(&mut batch).await?;
    batch.confirm().await?;

    batch
        .call(
            "setAnchorRoot",
            AnchorStateRegistry::new(registry, p)
                .setAnchorRoot(params.genesis_output_root, U256::ZERO)
                .into_transaction_request(),
        )
        .await?;
    let portal = batch
        .deploy(
            "OptimismPortal",
            OptimismPortal::deploy_builder(p, registry, U256::from(params.proof_maturity_delay))
                .into_transaction_request(),
        )
        .await?;
    let receipts = batch.confirm().await?;
    let receipt = receipts
        .iter()
        .find(|r| r.contract_address == Some(portal))
        .ok_or_else(|| step("OptimismPortal")("no receipt".into()))?;
    let block_number = receipt
        .block_number
        .ok_or_else(|| step("OptimismPortal")("receipt without block".into()))?;
    let block_hash = receipt
        .block_hash
        .ok_or_else(|| step("OptimismPortal")("receipt without block".into()))?;
    let code = provider
        .get_code_at(portal)
        .await
        .map_err(|e| step("OptimismPortal")(e.to_string()))?;
    if code.is_empty() {
        return Err(step("OptimismPortal")(
            "no code at the portal address".into(),
        ));
    }

    let ip = params.inbox;
    let inbox = batch
        .deploy(
            "BatchInbox",
            BatchInbox::deploy_builder(
                p,
                ip.batcher,
                ip.l2_genesis_number + 1,
                block_number,
                ip.l2_genesis_timestamp,
                ip.seq_window_size,
                ip.max_sequencer_drift,
            )
            .into_transaction_request(),
        )
        .await?;
    // The oracle that learns the portal's deposit log indices from L1 receipts.
    let log_index = batch
        .deploy(
            "DepositLogIndex",
            DepositLogIndex::deploy_builder(p, portal).into_transaction_request(),
        )
        .await?;
    // The block-boundary verifier (SPEC §5.18, §12.6), built with the L2's chain parameters,
    // the inbox it opens block inputs from, the portal whose deposit log it checks the user
    // deposits against and the oracle it checks their log indices against.
    let l2 = params.l2;
    let boundary = batch
        .deploy(
            "BoundaryVerifier",
            BoundaryVerifier::deploy_builder(
                p,
                BoundaryVerifier::ChainParams {
                    chainId: l2.chain_id,
                    coinbase: l2.coinbase,
                    gasLimit: l2.gas_limit,
                    baseFeeDenominator: l2.base_fee_denominator,
                    elasticity: l2.elasticity,
                    minBaseFee: l2.min_base_fee,
                },
                inbox,
                BoundaryVerifier::DepositParams {
                    batcher: params.deposits.batcher,
                    baseFeeScalar: params.deposits.base_fee_scalar,
                    blobBaseFeeScalar: params.deposits.blob_base_fee_scalar,
                },
                portal,
                log_index,
            )
            .into_transaction_request(),
        )
        .await?;
    let verifier = batch
        .deploy(
            "GameVerifier",
            GameVerifier::deploy_builder(p, steps, boundary).into_transaction_request(),
        )
        .await?;
    let game = batch
        .deploy(
            "BisectionGame",
            BisectionGame::deploy_builder(
                p,
                BISECTION_GAME_TYPE,
                params.challenge_window,
                params.clock_extension,
                U256::from(params.challenge_bond),
                verifier,
                registry,
            )
            .into_transaction_request(),
        )
        .await?;
    let factory_at = DisputeGameFactory::new(factory, p);
    batch
        .call(
            "setImplementation",
            factory_at
                .setImplementation(BISECTION_GAME_TYPE, game)
                .into_transaction_request(),
        )
        .await?;
    batch
        .call(
            "setInitBond",
            factory_at
                .setInitBond(BISECTION_GAME_TYPE, U256::from(params.proposal_bond))
                .into_transaction_request(),
        )
        .await?;
    batch.confirm().await?;
    ensure_multicall3(&provider).await;
    let l1_chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| step("eth_chainId")(e.to_string()))?;
    let deployment = Deployment {
        l1_chain_id,
        portal,
        factory,
        registry,
        game_implementation: game,
        verifier,
        inbox,
        log_index,
        block_number,
        block_hash,
    };
    info!(target: "l1", portal = %deployment.portal, factory = %deployment.factory, registry = %deployment.registry, game = %deployment.game_implementation, verifier = %deployment.verifier, inbox = %deployment.inbox, log_index = %deployment.log_index, block = block_number, "bridge deployed");
    Ok(deployment)
}
