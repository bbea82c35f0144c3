//! The execution engine: builds blocks with op-revm through alloy-op-evm's block executor,
//! computes their roots, and hands them to storage.
//!
//! A block is built in two steps so the caller decides when it is durable:
//! [`Engine::build`] executes and seals it in memory, then either [`Engine::commit`] writes it
//! in one redb transaction and only then advances the engine's head and warm state, or
//! [`Engine::seal`] advances them at once and hands the write to the chain file's appender
//! thread, so the next block executes while the disk makes this one durable;
//! [`Engine::durable`] says when each such block is durable, and only then may the caller
//! report it.

mod account_table;
mod body_root;
mod execute;

use body_root::OrderedRoot;
pub use execute::{CandidateSource, Fixed};
mod historical;
mod keccak_memo;
mod pipeline;
pub use pipeline::{Pipelined, Rooted, Tip};
pub mod state;
pub mod state_root;
pub mod witness;

use crate::{
    block::{RecoveredTx, SealedBlock},
    chain::{
        ChainConfig, ChainKind, GenesisAccount, INITIAL_BASE_FEE, L1Spec, SEQUENCER_FEE_VAULT,
    },
    storage::{
        AccountRecord, AppendHandle, Appender, DurableBlock, DurableHook, EncodedBody, StateDiff,
        StorageError, Store, StoreReader,
    },
};
use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, TxReceipt},
    eips::{eip2718::Encodable2718, eip7685::EMPTY_REQUESTS_HASH},
    primitives::{
        Address, B256, Bloom, Bytes, KECCAK256_EMPTY, U256, address, keccak256, map::AddressMap,
    },
};
use alloy_evm::{
    EthEvmFactory, EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor, BlockExecutorFactory},
    eth::{EthBlockExecutionCtx, EthBlockExecutorFactory, receipt_builder::AlloyReceiptBuilder},
};
use alloy_op_evm::{OpBlockExecutionCtx, OpBlockExecutorFactory};
use alloy_op_hardforks::OpChainHardforks;
use alloy_trie::EMPTY_ROOT_HASH;
use fraud_vm::precompiles::RollupEvmFactory;
use op_alloy::consensus::OpReceiptEnvelope;
use revm::{
    context::BlockEnv, context_interface::block::BlobExcessGasAndPrice,
    primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use state::{AccountChange, BlockChanges, BlockDb, StateCache};
use state_root::{StateRootError, StateTries};
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{info, warn};

/// Most blocks sealed by [`Engine::seal`] and not yet durable: the block being appended and
/// one waiting behind it. A further seal waits for the oldest.
pub const MAX_UNDURABLE: usize = 2;

/// The L2ToL1MessagePasser predeploy, whose storage root Isthmus headers carry as
/// `withdrawalsRoot` and output roots commit to.
pub const MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");

/// Errors of the engine. Any of them stops block production: the node must not go on with
/// a state it could not compute or persist.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The tries could not be updated.
    #[error(transparent)]
    StateRoot(#[from] StateRootError),
    /// The EVM failed for a reason that is not the transaction's fault.
    #[error("block execution: {0}")]
    Execution(#[from] BlockExecutionError),
    /// An invariant of the engine broke.
    #[error("internal: {0}")]
    Internal(String),
    /// The database holds a head without its header.
    #[error("stored head block {0} has no header")]
    MissingHead(u64),
    /// Undoing blocks did not give back the target block's state root.
    #[error("rewinding to block {number} gave state root {got}, the header says {want}")]
    RewindMismatch {
        /// The target block.
        number: u64,
        /// The root the undo produced.
        got: B256,
        /// The target's state root.
        want: B256,
    },
}

/// A transaction the builder dropped, and why.
#[derive(Debug)]
pub struct RejectedTx {
    /// The transaction.
    pub tx: Arc<RecoveredTx>,
    /// The EVM's reason, for the log.
    pub reason: String,
}

/// A block executed and sealed in memory, not yet durable.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The sealed block.
    pub block: SealedBlock,
    /// Transactions that can never be included (bad nonce, no funds); the pool drops them.
    pub rejected: Vec<RejectedTx>,
    /// Where the build's time went.
    pub timings: BuildTimings,
    encoded: EncodedBody,
    diff: StateDiff,
    changes: BlockChanges,
    records: AddressMap<Option<AccountRecord>>,
}

/// Where the time of one [`Engine::build`] went (read by the benchmark and the logs).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildTimings {
    /// Executing the transactions in revm, system calls included.
    pub execute: Duration,
    /// Updating the tries and hashing the new state root (the transactions and receipts
    /// roots and the stored encodings are computed on another thread meanwhile).
    pub state_root: Duration,
    /// Waiting for those roots, then the header hash.
    pub seal: Duration,
}

/// What the next block needs of its parent besides its hash.
#[derive(Debug, Clone, Copy)]
struct ParentInfo {
    number: u64,
    hash: B256,
    timestamp: u64,
    gas_used: u64,
    gas_limit: u64,
    base_fee: u64,
}

impl ParentInfo {
    fn of(block: &SealedBlock) -> Self {
        let h = &block.header;
        Self {
            number: h.number,
            hash: block.hash,
            timestamp: h.timestamp,
            gas_used: h.gas_used,
            gas_limit: h.gas_limit,
            base_fee: h.base_fee_per_gas.unwrap_or(INITIAL_BASE_FEE),
        }
    }
}

/// A block executed into the warm cache, its roots and hash not computed yet.
struct ExecutedBlock {
    number: u64,
    timestamp: u64,
    base_fee: u64,
    gas_limit: u64,
    beneficiary: Address,
    extra_data: Bytes,
    prev_randao: B256,
    included: Vec<Arc<RecoveredTx>>,
    rejected: Vec<RejectedTx>,
    receipts: Vec<OpReceiptEnvelope>,
    gas_used: u64,
    requests_hash: Option<B256>,
    changes: BlockChanges,
    execute: Duration,
}

/// The L2's executor: OP Isthmus with the rollup's bounded precompiles (fraud-vm/SPEC.md §5.15),
/// the one set the sequencer, derivation, `eth_call` and the fraud-vm trace share.
type OpFactory = OpBlockExecutorFactory<execute::BloomLater, OpChainHardforks, RollupEvmFactory>;
type EthFactory = EthBlockExecutorFactory<AlloyReceiptBuilder, L1Spec, EthEvmFactory>;

/// The block executor of the chain's kind.
#[derive(Debug)]
enum Executors {
    L2(OpFactory),
    L1(EthFactory),
}

impl Executors {
    fn for_chain(config: &ChainConfig) -> Self {
        match config.kind {
            ChainKind::L2 => Self::L2(OpBlockExecutorFactory::new(
                execute::BloomLater,
                config.hardforks.clone(),
                RollupEvmFactory,
            )),
            ChainKind::L1 => Self::L1(EthBlockExecutorFactory::new(
                AlloyReceiptBuilder::default(),
                config.l1_spec(),
                EthEvmFactory::default(),
            )),
        }
    }
}

/// What a block is built from, besides the pool's transactions.
#[derive(Debug, Clone, Default)]
pub struct BlockAttributes {
    /// Block timestamp (seconds; never below the parent's).
    pub timestamp: u64,
    /// PREVRANDAO of the block (on the L2, the L1 origin's).
    pub prev_randao: B256,
    /// Transactions that must open the block, in order (the L2's deposits).
    pub forced: Vec<Arc<RecoveredTx>>,
}

/// The engine: owns the warm state and the tries; runs on the block-building thread only.
pub struct Engine {
    config: Arc<ChainConfig>,
    store: Arc<Store>,
    cache: StateCache,
    tries: StateTries,
    head: Arc<SealedBlock>,
    executors: Executors,
    /// Builds the transactions and receipts roots (its buffers kept between blocks).
    ordered_root: OrderedRoot,
    /// A block was built since the last commit. Building leaves its changes in the tries and
    /// the code cache, so if that block is dropped they must be reloaded from the head.
    uncommitted: bool,
    /// The chain file's appender thread, started by the first [`Engine::seal`].
    appender: Option<Appender>,
    /// What the appender thread calls with each durable block ([`Engine::on_durable`]).
    durable_hook: Option<DurableHook>,
    /// Blocks handed to the appender whose outcome has not been received.
    appending: usize,
    /// Blocks the appender made durable that [`Engine::durable`] has not handed out yet.
    durable: VecDeque<DurableBlock>,
    /// An append failed: the head is ahead of the chain file for good, nothing more is built.
    failed: bool,
    /// The block [`Self::pipeline_block`] executed last, whose state root another thread is
    /// computing (it holds the tries meanwhile).
    pending: Option<pipeline::PendingRoot>,
    /// The latest blocks whose root thread sealed them, with where their time went, for
    /// [`Self::take_rooted`] (the oldest dropped past [`pipeline::MAX_ROOTED`]).
    rooted: VecDeque<Rooted>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("head", &self.head.number())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the chain in `store`, writing the genesis block from `alloc` if the store is new.
    pub fn open(
        config: Arc<ChainConfig>,
        store: Arc<Store>,
        alloc: &[GenesisAccount],
        genesis_timestamp: u64,
    ) -> Result<Self, EngineError> {
        let executors = Executors::for_chain(&config);
        let reader = store.reader()?;
        if let Some(number) = reader.head_number()? {
            let head = reader
                .block(number)?
                .ok_or(EngineError::MissingHead(number))?;
            let cache = cold_cache(&reader, number)?;
            info!(target: "engine", number, hash = %head.hash, "resuming from the last sealed block");
            let tries = StateTries::new(head.header.state_root);
            return Ok(Self {
                config,
                store,
                cache,
                tries,
                head: Arc::new(head),
                executors,
                ordered_root: OrderedRoot::default(),
                uncommitted: false,
                appender: None,
                durable_hook: None,
                appending: 0,
                durable: VecDeque::new(),
                failed: false,
                pending: None,
                rooted: VecDeque::new(),
            });
        }
        drop(reader);
        let mut engine = Self {
            config,
            store,
            cache: StateCache::default(),
            tries: StateTries::new(EMPTY_ROOT_HASH),
            head: Arc::new(SealedBlock {
                header: Header::default(),
                hash: B256::ZERO,
                txs: Vec::new(),
                receipts: Vec::new(),
            }),
            executors,
            ordered_root: OrderedRoot::default(),
            uncommitted: false,
            appender: None,
            durable_hook: None,
            appending: 0,
            durable: VecDeque::new(),
            failed: false,
            pending: None,
            rooted: VecDeque::new(),
        };
        engine.write_genesis(alloc, genesis_timestamp)?;
        Ok(engine)
    }

    fn write_genesis(
        &mut self,
        alloc: &[GenesisAccount],
        timestamp: u64,
    ) -> Result<(), EngineError> {
        let mut changes = BlockChanges::default();
        for account in alloc {
            let code_hash = match &account.code {
                Some(code) => {
                    let hash = keccak256(code);
                    changes.code.push((hash, code.clone()));
                    hash
                }
                None => KECCAK256_EMPTY,
            };
            let nonce = u64::from(account.code.is_some());
            changes.accounts.insert(
                account.address,
                AccountChange {
                    info: Some((nonce, account.balance, code_hash)),
                    ..Default::default()
                },
            );
        }
        let reader = self.store.reader()?;
        let (state_root, diff, records) =
            self.tries.apply(&changes, Some(&mut self.cache), &reader)?;
        drop(reader);
        let header = Header {
            state_root,
            gas_limit: self.config.gas_limit,
            timestamp,
            base_fee_per_gas: Some(INITIAL_BASE_FEE),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            extra_data: self.extra_data(),
            ..Default::default()
        };
        let block = SealedBlock {
            hash: header.hash_slow(),
            header,
            txs: Vec::new(),
            receipts: Vec::new(),
        };
        info!(target: "engine", hash = %block.hash, %state_root, accounts = alloc.len(), "writing genesis");
        self.commit(BuiltBlock {
            block,
            rejected: Vec::new(),
            timings: BuildTimings::default(),
            encoded: EncodedBody::new(&[], &[]),
            diff,
            changes,
            records,
        })?;
        Ok(())
    }

    /// The chain's rules.
    pub fn config(&self) -> &Arc<ChainConfig> {
        &self.config
    }

    /// The chain's storage.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The last sealed block, which the next one builds on: durable, unless [`Self::seal`]
    /// sealed it and [`Self::durable`] has not reported it yet ([`Self::undurable`] counts
    /// those). Whatever is reported to others (RPC, subscribers) must come from the store or
    /// from [`Self::durable`], not from here.
    pub fn head(&self) -> &Arc<SealedBlock> {
        &self.head
    }

    /// Base fee of the next block (built on the block [`Self::pipeline_block`] executed last,
    /// if its root is still being computed, else on the head).
    pub fn next_base_fee(&self) -> u64 {
        let parent = match &self.pending {
            Some(pending) => pending.parent,
            None => ParentInfo::of(&self.head),
        };
        self.config
            .next_base_fee(parent.gas_used, parent.gas_limit, parent.base_fee)
    }

    /// The L2's Holocene extra data; nothing on the L1.
    fn extra_data(&self) -> Bytes {
        match self.config.kind {
            ChainKind::L2 => self.holocene_extra_data(),
            ChainKind::L1 => Bytes::new(),
        }
    }

    /// Holocene's extra data: version 0, then the EIP-1559 denominator and elasticity.
    fn holocene_extra_data(&self) -> Bytes {
        let mut extra = Vec::with_capacity(9);
        extra.push(0u8);
        extra.extend_from_slice(
            &(self.config.base_fee_params.max_change_denominator as u32).to_be_bytes(),
        );
        extra.extend_from_slice(
            &(self.config.base_fee_params.elasticity_multiplier as u32).to_be_bytes(),
        );
        extra.into()
    }

    /// Executes `candidates` in order on top of the head and seals the result in memory (a
    /// block with no forced transactions, PREVRANDAO zero).
    pub fn build(
        &mut self,
        timestamp: u64,
        candidates: &[Arc<RecoveredTx>],
    ) -> Result<BuiltBlock, EngineError> {
        let attributes = BlockAttributes {
            timestamp,
            ..Default::default()
        };
        self.build_block(&attributes, candidates)
    }

    /// Executes the forced transactions of `attributes`, then `candidates` in order, on top of
    /// the head and seals the result in memory. A candidate that does not fit is left out; one
    /// the EVM refuses is reported in `rejected`; after either, later candidates of the same
    /// sender are left out too (the sequencer's rule).
    pub fn build_block(
        &mut self,
        attributes: &BlockAttributes,
        candidates: &[Arc<RecoveredTx>],
    ) -> Result<BuiltBlock, EngineError> {
        self.build_from(attributes, &mut execute::Fixed(candidates))
    }

    /// [`Self::build_block`] with candidates that `source` hands out batch after batch, as
    /// the sequencer's pool does while the block is open: each batch is executed as it comes,
    /// and the state root and the seal follow once `source` closes the block (or it is full).
    pub fn build_from(
        &mut self,
        attributes: &BlockAttributes,
        source: &mut dyn CandidateSource,
    ) -> Result<BuiltBlock, EngineError> {
        self.build_with(attributes, source, execute::Selection::HoldBackSender)
    }

    /// Executes a block derived from L1: the forced transactions of `attributes`, then the
    /// recorded transactions `recorded` in order, each left out if the EVM refuses it against
    /// the state at its position, and judged on its own: a refusal leaves the sender's later
    /// transactions to be judged in turn (BATCHES.md §5.2).
    pub fn derive_block(
        &mut self,
        attributes: &BlockAttributes,
        recorded: &[Arc<RecoveredTx>],
    ) -> Result<BuiltBlock, EngineError> {
        self.build_with(
            attributes,
            &mut execute::Fixed(recorded),
            execute::Selection::EachOnItsOwn,
        )
    }

    fn build_with(
        &mut self,
        attributes: &BlockAttributes,
        candidates: &mut dyn CandidateSource,
        selection: execute::Selection,
    ) -> Result<BuiltBlock, EngineError> {
        self.check_usable()?;
        // A block whose root is still being computed is sealed first: this path builds on it.
        self.finish_root()?;
        self.restart_if_dropped()?;
        let parent = ParentInfo::of(&self.head);
        // The state of the head, whose append may still be running.
        let reader = self.store.reader_ahead()?;
        let executed = self.execute(attributes, candidates, selection, &parent, &reader, None)?;
        seal_block(
            executed,
            self.head.hash,
            &mut self.tries,
            Some(&mut self.cache),
            &mut self.ordered_root,
            &reader,
            self.config.kind,
        )
    }

    /// The last built block was dropped: starts again from the head, as on a restart (whose
    /// block hashes come from the chain file, so every sealed block must be in it).
    fn restart_if_dropped(&mut self) -> Result<(), EngineError> {
        if self.uncommitted {
            self.wait_appends()?;
            let reader = self.store.reader()?;
            self.cache = cold_cache(&reader, self.head.number())?;
            self.tries = StateTries::new(self.head.header.state_root);
            self.uncommitted = false;
        }
        Ok(())
    }

    /// Executes one block on `parent` (the head, or with `pending` the block executed before
    /// whose hash is still being computed) into the warm cache; the state root and the seal
    /// follow in [`seal_block`].
    fn execute(
        &mut self,
        attributes: &BlockAttributes,
        candidates: &mut dyn CandidateSource,
        selection: execute::Selection,
        parent: &ParentInfo,
        reader: &StoreReader,
        pending: Option<&pipeline::PendingParent>,
    ) -> Result<ExecutedBlock, EngineError> {
        self.uncommitted = true;
        let number = parent.number + 1;
        // Ethereum's rule on the L1: strictly later than the parent. The L2 lets blocks within
        // one second share it (several blocks per second; the timestamp never goes back).
        let timestamp = match self.config.kind {
            ChainKind::L1 => attributes.timestamp.max(parent.timestamp + 1),
            ChainKind::L2 => attributes.timestamp.max(parent.timestamp),
        };
        let base_fee =
            self.config
                .next_base_fee(parent.gas_used, parent.gas_limit, parent.base_fee);
        let gas_limit = self.config.gas_limit;
        let beneficiary = match self.config.kind {
            ChainKind::L2 => SEQUENCER_FEE_VAULT,
            ChainKind::L1 => Address::ZERO,
        };
        let block_env = BlockEnv {
            number: U256::from(number),
            beneficiary,
            timestamp: U256::from(timestamp),
            gas_limit,
            basefee: base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(attributes.prev_randao),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
            )),
            slot_num: 0,
        };
        // The EIP-2935 system call stores the parent's hash; a pending parent's is not known
        // yet, so a stand-in goes in, replaced once it is (see [`pipeline::PendingParent`]).
        let parent_hash = match pending {
            Some(pending) => pending.stand_in,
            None => parent.hash,
        };
        let extra_data = self.extra_data();
        let started = Instant::now();
        // A transfer changes two accounts; a block holds at most one 21,000-gas transaction
        // per 21,000 gas (plus the fee vaults and system accounts).
        let most_txs = (attributes.forced.len() + candidates.size_hint())
            .min((gas_limit / 21_000) as usize + attributes.forced.len());
        let mut db =
            BlockDb::new(&mut self.cache, reader, 2 * most_txs + 16).with_pending_parent(pending);
        let executed = match &self.executors {
            Executors::L2(factory) => {
                let evm = keccak_memo::install(factory.evm_factory().create_evm(
                    &mut db,
                    EvmEnv {
                        cfg_env: self.config.cfg_env(),
                        block_env,
                    },
                ));
                let ctx = OpBlockExecutionCtx {
                    parent_hash,
                    parent_beacon_block_root: Some(B256::ZERO),
                    extra_data: extra_data.clone(),
                };
                execute::execute(
                    factory.create_executor(evm, ctx),
                    selection,
                    gas_limit,
                    &attributes.forced,
                    candidates,
                    |executor, tx| {
                        // revm's journal starts each transaction from an empty state map; hand
                        // it the last one's, emptied, with its room (BlockDb::take_spare_state).
                        let evm = executor.evm_mut();
                        let spare = alloy_evm::Evm::db_mut(evm).take_spare_state();
                        let journal = &mut evm.ctx_mut().journaled_state.inner.state;
                        if journal.is_empty() {
                            *journal = spare;
                        }
                        execute::run_op(executor, tx)
                    },
                    Some,
                    |_| None,
                )?
            }
            Executors::L1(factory) => {
                let evm = factory.evm_factory().create_evm(
                    &mut db,
                    EvmEnv {
                        cfg_env: self.config.eth_cfg_env(),
                        block_env,
                    },
                );
                let ctx = EthBlockExecutionCtx {
                    parent_hash,
                    parent_beacon_block_root: Some(B256::ZERO),
                    ommers: &[],
                    withdrawals: None,
                    extra_data: extra_data.clone(),
                    tx_count_hint: Some(candidates.size_hint()),
                    slot_number: None,
                };
                execute::execute(
                    factory.create_executor(evm, ctx),
                    selection,
                    gas_limit,
                    &attributes.forced,
                    candidates,
                    |executor, tx| match execute::to_ethereum(tx) {
                        Some(eth) => executor.execute_transaction(eth),
                        None => Err(BlockExecutionError::msg(
                            "deposit transactions do not exist on the L1",
                        )),
                    },
                    execute::from_ethereum_receipt,
                    |result| Some(result.requests.requests_hash()),
                )?
            }
        };
        let execute::Executed {
            included,
            rejected,
            receipts,
            gas_used,
            requests_hash,
        } = executed;
        let changes = db.into_changes()?;
        if !rejected.is_empty() {
            warn!(target: "engine", number, count = rejected.len(), "dropped transactions the EVM refused");
        }
        Ok(ExecutedBlock {
            number,
            timestamp,
            base_fee,
            gas_limit,
            beneficiary,
            extra_data,
            prev_randao: attributes.prev_randao,
            included,
            rejected,
            receipts,
            gas_used,
            requests_hash,
            changes,
            execute: started.elapsed(),
        })
    }

    /// Makes a built block durable, then advances the head and the warm state to it. Blocks
    /// sealed before by [`Self::seal`] are made durable first (and still handed out by
    /// [`Self::durable`]).
    pub fn commit(&mut self, built: BuiltBlock) -> Result<Arc<SealedBlock>, EngineError> {
        self.check_usable()?;
        self.finish_root()?;
        self.wait_appends()?;
        let BuiltBlock {
            block,
            encoded,
            diff,
            changes,
            records,
            ..
        } = built;
        self.store.commit_block(&block, &encoded, diff)?;
        self.uncommitted = false;
        self.cache.apply(&changes, &records);
        self.cache.push_block_hash(block.number(), block.hash);
        self.head = Arc::new(block);
        Ok(self.head.clone())
    }

    /// Advances the head and the warm state to a built block at once and hands its chain-file
    /// append to the appender thread, so the next block can be built meanwhile. The block is
    /// not durable when this returns: a crash may lose it, so nobody may hear of it before
    /// [`Self::durable`] hands it out. Waits first while [`MAX_UNDURABLE`] blocks are
    /// appending.
    pub fn seal(&mut self, built: BuiltBlock) -> Result<Arc<SealedBlock>, EngineError> {
        self.check_usable()?;
        if self.pending.is_some() {
            return Err(EngineError::Internal(
                "a block was sealed while a pipelined block's root is being computed".into(),
            ));
        }
        while self.appending >= MAX_UNDURABLE {
            self.receive(None)?;
        }
        let appender = self.append_handle()?;
        // Once staged, the store holds a layer only the appender can resolve: any failure
        // leaves the engine unusable rather than building on a block that may never be
        // durable (staging fails only once the store has failed already).
        self.failed = true;
        let handed = pipeline::hand_over(&self.store, &appender, built)?;
        self.failed = false;
        self.advance(handed.block.clone(), &handed.changes, &handed.records);
        Ok(handed.block)
    }

    /// Has the appender thread call `hook` with each block sealed by [`Self::seal`] or
    /// [`Self::pipeline_block`] the moment its append is durable, in order, before
    /// [`Self::durable`] hands it out (which may be a block later, when the caller is busy
    /// building). Must be set before the first block is sealed.
    pub fn on_durable(&mut self, hook: DurableHook) -> Result<(), EngineError> {
        if self.appender.is_some() {
            return Err(EngineError::Internal(
                "the durable hook is set after the appender thread started".into(),
            ));
        }
        self.durable_hook = Some(hook);
        Ok(())
    }

    /// The appender thread, started the first time a block is sealed.
    fn appender(&mut self) -> Result<&Appender, EngineError> {
        if self.appender.is_none() {
            self.appender = Some(Appender::spawn(
                self.store.clone(),
                MAX_UNDURABLE - 1,
                self.durable_hook.take(),
            )?);
        }
        self.appender
            .as_ref()
            .ok_or_else(|| EngineError::Internal("the appender thread did not start".into()))
    }

    /// A handle on the appender thread for another thread ([`Self::pipeline_block`]'s root
    /// thread hands the block it sealed to the appender itself).
    fn append_handle(&mut self) -> Result<AppendHandle, EngineError> {
        Ok(self.appender()?.handle()?)
    }

    /// Makes `block`, whose append was handed to the appender, the head, and its changes the
    /// warm state's.
    fn advance(
        &mut self,
        block: Arc<SealedBlock>,
        changes: &BlockChanges,
        records: &AddressMap<Option<AccountRecord>>,
    ) {
        self.appending += 1;
        self.uncommitted = false;
        self.cache.apply(changes, records);
        self.cache.push_block_hash(block.number(), block.hash);
        self.head = block;
    }

    /// The blocks sealed by [`Self::seal`] that became durable since the last call, oldest
    /// first, each with when its append returned: waits until every sealed block is durable
    /// or `until` passes (`None`: no limit; a past instant: does not wait). An error means an
    /// append failed: the engine builds nothing more.
    pub fn durable(&mut self, until: Option<Instant>) -> Result<Vec<DurableBlock>, EngineError> {
        self.check_usable()?;
        self.take_root(until)?;
        while self.appending > 0 {
            if !self.receive(until)? {
                break;
            }
        }
        Ok(self.durable.drain(..).collect())
    }

    /// How many sealed or pipelined blocks are not yet known to be durable.
    pub fn undurable(&self) -> usize {
        self.appending + usize::from(self.pending.is_some())
    }

    /// Receives the outcome of the oldest append, waiting until `until`; `false` if it had not
    /// finished by then.
    fn receive(&mut self, until: Option<Instant>) -> Result<bool, EngineError> {
        let Some(appender) = &self.appender else {
            return Err(EngineError::Internal(
                "blocks appending without an appender".into(),
            ));
        };
        match appender.recv(until) {
            None => Ok(false),
            Some(Ok(durable)) => {
                self.appending -= 1;
                self.durable.push_back(durable);
                Ok(true)
            }
            Some(Err(e)) => {
                self.appending -= 1;
                self.failed = true;
                Err(e.into())
            }
        }
    }

    /// Waits until every sealed block is durable, keeping them for [`Self::durable`].
    fn wait_appends(&mut self) -> Result<(), EngineError> {
        while self.appending > 0 {
            self.receive(None)?;
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<(), EngineError> {
        match self.failed {
            true => Err(EngineError::Internal(
                "a sealed block could not be made durable; the engine stopped".into(),
            )),
            false => Ok(()),
        }
    }
}

impl Engine {
    /// Removes the blocks after `to` and restores block `to`'s state from the stored
    /// per-block reverts, in one durable write; the head becomes block `to`. Returns the
    /// removed blocks' non-deposit transactions, oldest first, so a sequencer can pool them
    /// again. Used when L1 data the removed blocks were derived from is gone (an L1 reorg),
    /// or when derivation from L1 yields other blocks than the ones sealed.
    pub fn rewind(&mut self, to: u64) -> Result<Vec<Arc<RecoveredTx>>, EngineError> {
        self.check_usable()?;
        self.finish_root()?;
        self.wait_appends()?;
        let head = self.head.number();
        if to >= head {
            return Ok(Vec::new());
        }
        let reader = self.store.reader()?;
        let target = reader.block(to)?.ok_or(EngineError::MissingHead(to))?;
        // Newest first, so each account and slot ends with the value it had after block `to`.
        let mut accounts: AddressMap<Option<AccountRecord>> = AddressMap::default();
        let mut slots: AddressMap<alloy::primitives::map::HashMap<U256, U256>> =
            AddressMap::default();
        let mut removed_blocks = Vec::new();
        let mut removed = Vec::new();
        for number in (to + 1..=head).rev() {
            let reverts = reader.reverts(number)?.ok_or_else(|| {
                EngineError::Internal(format!("block {number} has no stored reverts"))
            })?;
            for (address, record) in reverts.accounts {
                accounts.insert(address, record);
            }
            for (address, slot, value) in reverts.storage {
                slots.entry(address).or_default().insert(slot, value);
            }
            let block = reader
                .block(number)?
                .ok_or(EngineError::MissingHead(number))?;
            removed_blocks.push(block.hash);
            removed.push(block.txs);
        }
        let mut changes = BlockChanges::default();
        for (address, record) in &accounts {
            changes.accounts.insert(
                *address,
                AccountChange {
                    info: record.map(|r| (r.nonce, r.balance, r.code_hash)),
                    storage: slots.remove(address).unwrap_or_default(),
                    ..Default::default()
                },
            );
        }
        if let Some(address) = slots.keys().next() {
            return Err(EngineError::Internal(format!(
                "reverts hold storage of {address} without its account"
            )));
        }
        let mut cache = cold_cache(&reader, head)?;
        let mut tries = StateTries::new(self.head.header.state_root);
        let (root, undo, _) = tries.apply(&changes, Some(&mut cache), &reader)?;
        if root != target.header.state_root {
            return Err(EngineError::RewindMismatch {
                number: to,
                got: root,
                want: target.header.state_root,
            });
        }
        removed.reverse();
        let removed: Vec<Arc<RecoveredTx>> = removed.into_iter().flatten().collect();
        let removed_txs: Vec<B256> = removed.iter().map(|t| t.hash).collect();
        drop(reader);
        self.store
            .rewind(to, target.hash, head, &removed_blocks, &removed_txs, undo)?;
        // Sealed blocks made durable above but not handed out yet are gone again: never report them.
        self.durable.retain(|d| d.block.number() <= to);
        let reader = self.store.reader()?;
        self.cache = cold_cache(&reader, to)?;
        self.tries = StateTries::new(target.header.state_root);
        self.head = Arc::new(target);
        self.uncommitted = false;
        warn!(target: "engine", from = head, to, "rewound the chain");
        Ok(removed.into_iter().filter(|t| !t.tx.is_deposit()).collect())
    }
}

/// Computes an executed block's state root beside its transactions and receipts roots, and
/// seals it on `parent_hash`. With `cache` the state root looks accounts execution did not hand
/// it up there; without (a block whose next block is executing meanwhile), in `reader`,
/// which must hold the parent's state.
fn seal_block(
    executed: ExecutedBlock,
    parent_hash: B256,
    tries: &mut StateTries,
    mut cache: Option<&mut StateCache>,
    ordered: &mut OrderedRoot,
    reader: &StoreReader,
    kind: ChainKind,
) -> Result<BuiltBlock, EngineError> {
    let ExecutedBlock {
        number,
        timestamp,
        base_fee,
        gas_limit,
        beneficiary,
        extra_data,
        prev_randao,
        included,
        rejected,
        mut receipts,
        gas_used,
        requests_hash,
        changes,
        execute,
    } = executed;
    let executed = Instant::now();
    // The transactions and receipts roots, the bloom and the stored encodings depend only
    // on the executed block, not on the state root: the other core computes them meanwhile.
    let (state, rooted, sealed) = std::thread::scope(|scope| {
        let sealer = scope.spawn(|| BodyRoots::new(&included, &mut receipts, ordered));
        let state = tries.apply(&changes, cache.as_deref_mut(), reader);
        (state, Instant::now(), sealer.join())
    });
    let (state_root, diff, records) = state?;
    let BodyRoots {
        transactions_root,
        receipts_root,
        logs_bloom,
        encoded,
    } = sealed.map_err(|_| EngineError::Internal("sealing thread panicked".into()))?;
    let withdrawals_root = match (records.get(&MESSAGE_PASSER), cache) {
        (Some(record), _) => record.map(|r| r.storage_root),
        (None, cache) => match (tries.storage_root(&MESSAGE_PASSER), cache) {
            (Some(root), _) => Some(root),
            (None, Some(cache)) => cache
                .account(MESSAGE_PASSER, reader)?
                .map(|a| a.storage_root()),
            (None, None) => reader.account(&MESSAGE_PASSER)?.map(|r| r.storage_root),
        },
    }
    .unwrap_or(EMPTY_ROOT_HASH);

    let withdrawals_root = match kind {
        ChainKind::L2 => withdrawals_root,
        ChainKind::L1 => EMPTY_ROOT_HASH,
    };
    let header = Header {
        parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary,
        state_root,
        transactions_root,
        receipts_root,
        logs_bloom,
        difficulty: U256::ZERO,
        number,
        gas_limit,
        gas_used,
        timestamp,
        extra_data,
        mix_hash: prev_randao,
        nonce: Default::default(),
        base_fee_per_gas: Some(base_fee),
        withdrawals_root: Some(withdrawals_root),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(requests_hash.unwrap_or(EMPTY_REQUESTS_HASH)),
        block_access_list_hash: None,
        slot_number: None,
    };
    let block = SealedBlock {
        hash: header.hash_slow(),
        header,
        txs: included,
        receipts,
    };
    let timings = BuildTimings {
        execute,
        state_root: rooted - executed,
        seal: rooted.elapsed(),
    };
    Ok(BuiltBlock {
        block,
        rejected,
        timings,
        encoded,
        diff,
        changes,
        records,
    })
}

/// What sealing needs from a block's transactions and receipts, besides the state root.
struct BodyRoots {
    transactions_root: B256,
    receipts_root: B256,
    logs_bloom: Bloom,
    encoded: EncodedBody,
}

impl BodyRoots {
    /// Also sets the receipts' logs blooms ([`execute::fill_blooms`]).
    fn new(
        txs: &[Arc<RecoveredTx>],
        receipts: &mut [OpReceiptEnvelope],
        ordered: &mut OrderedRoot,
    ) -> Self {
        execute::fill_blooms(receipts);
        let transactions_root = ordered.root(txs.len(), |i| &txs[i].encoded);
        let mut logs_bloom = Bloom::ZERO;
        let receipts: Vec<Bytes> = receipts
            .iter()
            .map(|r| {
                logs_bloom.accrue_bloom(&r.bloom());
                r.encoded_2718().into()
            })
            .collect();
        let receipts_root = ordered.root(receipts.len(), |i| &receipts[i]);
        Self {
            transactions_root,
            receipts_root,
            logs_bloom,
            encoded: EncodedBody::new(txs, &receipts),
        }
    }
}

/// A cache holding only the hashes of the 256 blocks up to `head`, for BLOCKHASH.
fn cold_cache(reader: &StoreReader, head: u64) -> Result<StateCache, StorageError> {
    let mut cache = StateCache::default();
    for n in head.saturating_sub(255)..=head {
        if let Some((hash, _)) = reader.header(n)? {
            cache.push_block_hash(n, hash);
        }
    }
    Ok(cache)
}
