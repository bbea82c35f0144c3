//! The execution engine: builds blocks with op-revm through alloy-op-evm's block executor,
//! computes their roots, and hands them to storage.
//!
//! A block is built in two steps so the caller decides when it is durable:
//! [`Engine::build`] executes and seals it in memory, [`Engine::commit`] writes it in one redb
//! transaction and only then advances the engine's head and warm state.

pub mod state;
pub mod state_root;

use crate::{
    block::{RecoveredTx, SealedBlock},
    chain::{ChainConfig, GenesisAccount, INITIAL_BASE_FEE, SEQUENCER_FEE_VAULT},
    storage::{AccountRecord, StateDiff, StorageError, Store},
};
use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, TxReceipt},
    eips::{
        eip2718::{Encodable2718, WithEncoded},
        eip7685::EMPTY_REQUESTS_HASH,
    },
    primitives::{
        Address, B256, Bloom, Bytes, KECCAK256_EMPTY, U256, address, keccak256,
        map::{AddressMap, AddressSet},
    },
};
use alloy_evm::{
    EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor, BlockExecutorFactory, BlockValidationError},
};
use alloy_op_evm::{
    OpBlockExecutionCtx, OpBlockExecutorFactory, OpEvmFactory, block::OpAlloyReceiptBuilder,
};
use alloy_op_hardforks::OpChainHardforks;
use alloy_trie::{EMPTY_ROOT_HASH, root::ordered_trie_root_with_encoder};
use op_alloy::consensus::OpReceiptEnvelope;
use revm::{
    context::BlockEnv,
    context_interface::{block::BlobExcessGasAndPrice, result::InvalidTransaction},
    primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use state::{AccountChange, BlockChanges, BlockDb, StateCache};
use state_root::{StateRootError, StateTries};
use std::sync::Arc;
use tracing::{debug, info, warn};

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
    /// The database holds a head without its header.
    #[error("stored head block {0} has no header")]
    MissingHead(u64),
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
    diff: StateDiff,
    changes: BlockChanges,
    records: AddressMap<Option<AccountRecord>>,
}

type ExecutorFactory =
    OpBlockExecutorFactory<OpAlloyReceiptBuilder, OpChainHardforks, OpEvmFactory>;

/// The engine: owns the warm state and the tries; runs on the block-building thread only.
pub struct Engine {
    config: Arc<ChainConfig>,
    store: Arc<Store>,
    cache: StateCache,
    tries: StateTries,
    head: Arc<SealedBlock>,
    factory: ExecutorFactory,
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
        let factory = OpBlockExecutorFactory::new(
            OpAlloyReceiptBuilder::default(),
            config.hardforks.clone(),
            OpEvmFactory::default(),
        );
        let reader = store.reader()?;
        if let Some(number) = reader.head_number()? {
            let head = reader
                .block(number)?
                .ok_or(EngineError::MissingHead(number))?;
            let mut cache = StateCache::default();
            for n in number.saturating_sub(255)..=number {
                if let Some((hash, _)) = reader.header(n)? {
                    cache.push_block_hash(n, hash);
                }
            }
            info!(target: "engine", number, hash = %head.hash, "resuming from the last sealed block");
            let tries = StateTries::new(head.header.state_root);
            return Ok(Self {
                config,
                store,
                cache,
                tries,
                head: Arc::new(head),
                factory,
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
            factory,
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
        let (state_root, diff, records) = self.tries.apply(&changes, &mut self.cache, &reader)?;
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
            extra_data: self.holocene_extra_data(),
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

    /// The last durable block.
    pub fn head(&self) -> &Arc<SealedBlock> {
        &self.head
    }

    /// Base fee of the next block.
    pub fn next_base_fee(&self) -> u64 {
        let h = &self.head.header;
        self.config.next_base_fee(
            h.gas_used,
            h.gas_limit,
            h.base_fee_per_gas.unwrap_or(INITIAL_BASE_FEE),
        )
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

    /// Executes `candidates` in order on top of the head and seals the result in memory.
    /// A candidate that does not fit is left out; one the EVM refuses is reported in
    /// `rejected`; after either, later candidates of the same sender are left out too.
    pub fn build(
        &mut self,
        timestamp: u64,
        candidates: &[Arc<RecoveredTx>],
    ) -> Result<BuiltBlock, EngineError> {
        let parent = self.head.clone();
        let number = parent.number() + 1;
        let base_fee = self.next_base_fee();
        let gas_limit = self.config.gas_limit;
        let block_env = BlockEnv {
            number: U256::from(number),
            beneficiary: SEQUENCER_FEE_VAULT,
            timestamp: U256::from(timestamp),
            gas_limit,
            basefee: base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(B256::ZERO),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
            )),
            slot_num: 0,
        };
        let extra_data = self.holocene_extra_data();
        let reader = self.store.reader()?;
        let mut db = BlockDb::new(&mut self.cache, &reader);
        let mut included = Vec::with_capacity(candidates.len());
        let mut rejected = Vec::new();
        let (receipts, gas_used) = {
            let evm = self.factory.evm_factory().create_evm(
                &mut db,
                EvmEnv {
                    cfg_env: self.config.cfg_env(),
                    block_env,
                },
            );
            let ctx = OpBlockExecutionCtx {
                parent_hash: parent.hash,
                parent_beacon_block_root: Some(B256::ZERO),
                extra_data: extra_data.clone(),
            };
            let mut executor = self.factory.create_executor(evm, ctx);
            executor.apply_pre_execution_changes()?;
            let mut held_back = AddressSet::default();
            let mut block_gas = 0u64;
            for tx in candidates {
                let sender = tx.sender();
                if held_back.contains(&sender) {
                    continue;
                }
                let tx_gas = alloy::consensus::Transaction::gas_limit(tx.tx.inner());
                if block_gas + tx_gas > gas_limit {
                    held_back.insert(sender);
                    continue;
                }
                match executor.execute_transaction(WithEncoded::new(tx.encoded.clone(), &tx.tx)) {
                    Ok(gas) => {
                        block_gas += gas.tx_gas_used();
                        included.push(tx.clone());
                    }
                    Err(BlockExecutionError::Validation(BlockValidationError::InvalidTx {
                        error,
                        ..
                    })) => {
                        held_back.insert(sender);
                        // A nonce gap may close later; any other refusal is final.
                        if !matches!(
                            error.as_invalid_tx_err(),
                            Some(InvalidTransaction::NonceTooHigh { .. })
                        ) {
                            debug!(target: "engine", tx = %tx.hash, reason = %error, "dropping invalid transaction");
                            rejected.push(RejectedTx {
                                tx: tx.clone(),
                                reason: error.to_string(),
                            });
                        }
                    }
                    Err(BlockExecutionError::Validation(e)) => {
                        held_back.insert(sender);
                        debug!(target: "engine", tx = %tx.hash, reason = %e, "transaction left for a later block");
                    }
                    Err(e) => return Err(e.into()),
                }
                if gas_limit - block_gas < 21_000 {
                    break;
                }
            }
            let (_evm, result) = executor.finish()?;
            (result.receipts, result.gas_used)
        };
        let changes = db.into_changes();
        let (state_root, diff, records) = self.tries.apply(&changes, &mut self.cache, &reader)?;
        let withdrawals_root = match records.get(&MESSAGE_PASSER) {
            Some(record) => record.map(|r| r.storage_root).unwrap_or(EMPTY_ROOT_HASH),
            None => self
                .cache
                .account(MESSAGE_PASSER, &reader)?
                .map(|a| a.record.storage_root)
                .unwrap_or(EMPTY_ROOT_HASH),
        };
        drop(reader);

        let transactions_root =
            ordered_trie_root_with_encoder(&included, |tx, buf| buf.extend_from_slice(&tx.encoded));
        let receipts_root =
            ordered_trie_root_with_encoder(&receipts, |r: &OpReceiptEnvelope, buf| {
                r.encode_2718(buf)
            });
        let mut logs_bloom = Bloom::ZERO;
        for receipt in &receipts {
            logs_bloom.accrue_bloom(&receipt.bloom());
        }
        let header = Header {
            parent_hash: parent.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: SEQUENCER_FEE_VAULT,
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
            mix_hash: B256::ZERO,
            nonce: Default::default(),
            base_fee_per_gas: Some(base_fee),
            withdrawals_root: Some(withdrawals_root),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            block_access_list_hash: None,
            slot_number: None,
        };
        let block = SealedBlock {
            hash: header.hash_slow(),
            header,
            txs: included,
            receipts,
        };
        if !rejected.is_empty() {
            warn!(target: "engine", number, count = rejected.len(), "dropped transactions the EVM refused");
        }
        Ok(BuiltBlock {
            block,
            rejected,
            diff,
            changes,
            records,
        })
    }

    /// Makes a built block durable, then advances the head and the warm state to it.
    pub fn commit(&mut self, built: BuiltBlock) -> Result<Arc<SealedBlock>, EngineError> {
        self.store.commit_block(&built.block, &built.diff)?;
        self.cache.apply(&built.changes, &built.records);
        self.cache
            .push_block_hash(built.block.number(), built.block.hash);
        self.head = Arc::new(built.block);
        Ok(self.head.clone())
    }
}
