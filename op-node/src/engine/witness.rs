//! Execution witnesses: everything a stateless client needs to re-execute one stored block and
//! recompute its state root, in reth's `debug_executionWitness` format
//! ([`ExecutionWitness`]: trie nodes, codes, key preimages, ancestor headers).
//!
//! The block is replayed on its parent's state with the same executor the engine builds with
//! ([`replay`]), over a database that records every account, slot, code and block hash it
//! reads. The parent's tries are then walked through a node source that records every node it
//! hands out: once to look up each key read ([`prove_reads`], proofs of presence or absence),
//! once to apply the block's changes ([`post_state_root`]), which also loads the sibling a
//! deletion collapses a branch onto. The recorded nodes are the witness's `state`.
//!
//! The parent's state is rebuilt from the latest one by undoing the stored reverts of the
//! blocks after it ([`HistoricalState`]). Both the rebuilt parent root and the replay's
//! post-state root are checked against the headers before a witness is returned, and the
//! replay's receipts against the stored ones.
//!
//! Order of trie changes: removals before insertions. A branch collapses onto a sibling only
//! when removals leave it one child, and removing first reaches the fewest children any order
//! can reach, so the siblings recorded this way are the ones any application order may need
//! (a verifier applying the changes in another order finds every node it loads).

pub use super::historical::HistoricalState;
use super::{
    Executors, execute,
    state::{AccountChange, BlockChanges},
    state_root::StateRootError,
};
use crate::{
    block::SealedBlock,
    chain::ChainConfig,
    storage::{AccountRecord, StorageError, StoreReader},
    trie::{NodeSource, SparseTrie, TrieError},
};
use alloy::{
    consensus::Header,
    primitives::{
        Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256,
        map::{AddressMap, B256Set},
    },
    rlp::{self, Decodable},
    rpc::types::debug::ExecutionWitness,
};
use alloy_evm::{
    EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor, BlockExecutorFactory},
    eth::EthBlockExecutionCtx,
};
use alloy_op_evm::OpBlockExecutionCtx;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount};
use op_alloy::consensus::OpReceiptEnvelope;
use revm::{
    Database, DatabaseCommit,
    bytecode::Bytecode,
    context::BlockEnv,
    context_interface::block::BlobExcessGasAndPrice,
    database_interface::DBErrorMarker,
    primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
    state::{Account, AccountInfo},
};
use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
};

/// Why a witness could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The block does not exist (yet).
    #[error("block {number} not found (the head is {head})")]
    NotFound {
        /// The block asked for.
        number: u64,
        /// The node's head.
        head: u64,
    },
    /// The genesis block is not executed: it has no parent state.
    #[error("the genesis block has no parent state to witness")]
    Genesis,
    /// The parent's state is further back than the node rebuilds.
    #[error(
        "historical state unavailable: block {number}'s parent is more than {max_depth} blocks behind the head ({head})"
    )]
    TooOld {
        /// The block asked for.
        number: u64,
        /// The node's head.
        head: u64,
        /// How far back the node rebuilds state.
        max_depth: u64,
    },
    /// Stored reverts of a block are missing, so the parent's state cannot be rebuilt.
    #[error("state reverts of block {0} are missing")]
    MissingReverts(u64),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A trie node was missing or malformed.
    #[error(transparent)]
    Trie(#[from] TrieError),
    /// Rebuilding the parent's tries failed.
    #[error(transparent)]
    StateRoot(#[from] StateRootError),
    /// A code the block runs is not available.
    #[error("code {0} is not available")]
    MissingCode(B256),
    /// A block hash BLOCKHASH asks for is not available.
    #[error("the hash of block {0} is not available")]
    MissingBlockHash(u64),
    /// An account leaf or storage value does not decode.
    #[error("malformed state: {0}")]
    Malformed(String),
    /// The EVM failed for a reason that is not a transaction's fault.
    #[error("block execution: {0}")]
    Execution(String),
    /// Re-execution or rebuilding disagreed with what the node stored.
    #[error("block {number}: {what}")]
    Mismatch {
        /// The block.
        number: u64,
        /// What disagreed.
        what: String,
    },
}

impl DBErrorMarker for WitnessError {}

/// The state a block is replayed on.
pub trait PreState {
    /// The account's record, `None` when it does not exist.
    fn account(&self, address: Address) -> Result<Option<AccountRecord>, WitnessError>;
    /// A storage slot (zero for accounts that do not exist).
    fn storage(&self, address: Address, slot: U256) -> Result<U256, WitnessError>;
    /// The code with hash `hash` ([`WitnessError::MissingCode`] when unknown).
    fn code(&self, hash: B256) -> Result<Bytes, WitnessError>;
    /// The hash of the ancestor block `number` ([`WitnessError::MissingBlockHash`] when unknown).
    fn block_hash(&self, number: u64) -> Result<B256, WitnessError>;
}

/// The nodes of a state's tries, by path (as the node store keeps them).
pub trait StateNodes {
    /// The account-trie node under `path`.
    fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError>;
    /// The node under `path` of the storage trie of the account whose hashed address is `owner`.
    fn storage_node(&self, owner: B256, path: &Nibbles) -> Result<Option<Bytes>, TrieError>;
}

struct AccountNodes<'a, N: ?Sized>(&'a N);

impl<N: StateNodes + ?Sized> NodeSource for AccountNodes<'_, N> {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        self.0.account_node(path)
    }
}

struct StorageNodes<'a, N: ?Sized>(&'a N, B256);

impl<N: StateNodes + ?Sized> NodeSource for StorageNodes<'_, N> {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        self.0.storage_node(self.1, path)
    }
}

/// What a replay read from the pre-state.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// Accounts whose record was read.
    pub accounts: BTreeSet<Address>,
    /// Slots read from the pre-state, by account.
    pub storage: BTreeMap<Address, BTreeSet<U256>>,
    /// Codes loaded from the pre-state, by hash.
    pub codes: BTreeMap<B256, Bytes>,
    /// The oldest block whose hash BLOCKHASH asked for.
    pub oldest_block_hash: Option<u64>,
}

/// A block replayed on its parent's state.
#[derive(Debug)]
pub struct Replay {
    /// What the block changed (the engine's form).
    pub changes: BlockChanges,
    /// What it read.
    pub reads: Reads,
    /// The receipts (equal to the stored ones: [`replay`] checks).
    pub receipts: Vec<OpReceiptEnvelope>,
    /// Gas used (equal to the header's).
    pub gas_used: u64,
}

/// The block environment `header` was built with (the engine's, read back from the header).
fn block_env(header: &Header) -> BlockEnv {
    BlockEnv {
        number: U256::from(header.number),
        beneficiary: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        difficulty: header.difficulty,
        prevrandao: Some(header.mix_hash),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
        )),
        slot_num: 0,
    }
}

/// Re-executes `block` on `state` with the engine's executor for `config`'s chain, and checks
/// that every transaction is included again with the stored receipt and the header's gas.
pub fn replay<S: PreState>(
    config: &ChainConfig,
    block: &SealedBlock,
    state: &S,
) -> Result<Replay, WitnessError> {
    replay_recorded(config, block, state, None)
}

/// [`replay`] of an L2 block derived from L1 from its recorded list `recorded` (the inbox's
/// transactions that decode, in order, BATCHES.md §5.2) after the block's deposits, each judged
/// on its own as derivation judged it: the ones the EVM refuses are read (their sender, what
/// their checks load) and left out, and the ones left in must be exactly the block's. `None`
/// replays the block's own transactions.
pub fn replay_recorded<S: PreState>(
    config: &ChainConfig,
    block: &SealedBlock,
    state: &S,
    recorded: Option<&[std::sync::Arc<crate::block::RecoveredTx>]>,
) -> Result<Replay, WitnessError> {
    let deposits = block.txs.iter().take_while(|t| t.tx.is_deposit()).count();
    let (forced, candidates) = match recorded {
        Some(list) => (&block.txs[..deposits], list),
        None => (&block.txs[..], &[][..]),
    };
    let header = &block.header;
    let number = header.number;
    let mut db = ReplayDb {
        state,
        changes: BlockChanges::default(),
        deployed: B256Set::default(),
        reads: Reads::default(),
    };
    let block_env = block_env(header);
    let mut executed = match Executors::for_chain(config) {
        Executors::L2(factory) => {
            let evm = factory.evm_factory().create_evm(
                &mut db,
                EvmEnv {
                    cfg_env: config.cfg_env(),
                    block_env,
                },
            );
            let ctx = OpBlockExecutionCtx {
                parent_hash: header.parent_hash,
                parent_beacon_block_root: header.parent_beacon_block_root,
                extra_data: header.extra_data.clone(),
            };
            execute::execute(
                factory.create_executor(evm, ctx),
                execute::Selection::EachOnItsOwn,
                header.gas_limit,
                forced,
                &mut execute::Fixed(candidates),
                execute::run_op,
                Some,
                |_| None,
            )
        }
        Executors::L1(factory) => {
            let evm = factory.evm_factory().create_evm(
                &mut db,
                EvmEnv {
                    cfg_env: config.eth_cfg_env(),
                    block_env,
                },
            );
            let ctx = EthBlockExecutionCtx {
                parent_hash: header.parent_hash,
                parent_beacon_block_root: header.parent_beacon_block_root,
                ommers: &[],
                withdrawals: None,
                extra_data: header.extra_data.clone(),
                tx_count_hint: Some(block.txs.len()),
                slot_number: None,
            };
            execute::execute(
                factory.create_executor(evm, ctx),
                execute::Selection::EachOnItsOwn,
                header.gas_limit,
                &block.txs,
                &mut execute::Fixed(&[]),
                |executor, tx| match execute::to_ethereum(tx) {
                    Some(eth) => executor.execute_transaction(eth),
                    None => Err(BlockExecutionError::msg(
                        "deposit transactions do not exist on the L1",
                    )),
                },
                execute::from_ethereum_receipt,
                |result| Some(result.requests.requests_hash()),
            )
        }
    }
    .map_err(|e| WitnessError::Execution(e.to_string()))?;
    execute::fill_blooms(&mut executed.receipts);
    let mismatch = |what: String| WitnessError::Mismatch { number, what };
    if executed.included.len() != block.txs.len()
        || executed
            .included
            .iter()
            .zip(&block.txs)
            .any(|(a, b)| a.hash != b.hash)
    {
        return Err(mismatch(format!(
            "re-execution included {} transactions, not the block's {}",
            executed.included.len(),
            block.txs.len()
        )));
    }
    if let Some(i) = (0..block.receipts.len()).find(|&i| executed.receipts[i] != block.receipts[i])
    {
        return Err(mismatch(format!(
            "re-execution gave another receipt for transaction {i}"
        )));
    }
    if executed.gas_used != header.gas_used {
        return Err(mismatch(format!(
            "re-execution used {} gas, the header says {}",
            executed.gas_used, header.gas_used
        )));
    }
    let ReplayDb { changes, reads, .. } = db;
    Ok(Replay {
        changes,
        reads,
        receipts: executed.receipts,
        gas_used: executed.gas_used,
    })
}

/// The database a replay runs against: the block's own writes over the pre-state, recording
/// what it reads. Commits the way the engine's `BlockDb` does, so the changes are the
/// engine's.
struct ReplayDb<'a, S> {
    state: &'a S,
    changes: BlockChanges,
    deployed: B256Set,
    reads: Reads,
}

impl<S> std::fmt::Debug for ReplayDb<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayDb")
            .field("changed_accounts", &self.changes.accounts.len())
            .finish_non_exhaustive()
    }
}

impl<S: PreState> Database for ReplayDb<'_, S> {
    type Error = WitnessError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.reads.accounts.insert(address);
        let info = match self.changes.accounts.get(&address) {
            Some(change) => change.info,
            None => self
                .state
                .account(address)?
                .map(|a| (a.nonce, a.balance, a.code_hash)),
        };
        Ok(info.map(|(nonce, balance, code_hash)| AccountInfo {
            balance,
            nonce,
            code_hash,
            code: (code_hash == KECCAK256_EMPTY).then(Bytecode::default),
            account_id: None,
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK256_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.reads.codes.get(&code_hash) {
            return Ok(Bytecode::new_raw(code.clone()));
        }
        if let Some((_, code)) = self.changes.code.iter().find(|(h, _)| *h == code_hash) {
            return Ok(Bytecode::new_raw(code.clone()));
        }
        let code = self.state.code(code_hash)?;
        self.reads.codes.insert(code_hash, code.clone());
        Ok(Bytecode::new_raw(code))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Some(change) = self.changes.accounts.get(&address) {
            if let Some(value) = change.storage.get(&index) {
                return Ok(*value);
            }
            if change.wiped || change.info.is_none() {
                return Ok(U256::ZERO);
            }
        }
        self.reads.storage.entry(address).or_default().insert(index);
        self.state.storage(address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        let oldest = self.reads.oldest_block_hash.get_or_insert(number);
        *oldest = (*oldest).min(number);
        // fraud-vm reads BLOCKHASH from the EIP-2935 history contract's slot `number mod 8191`
        // (fraud-vm/SPEC.md §5.11): the witness proves that slot too.
        use alloy::eips::eip2935::{HISTORY_SERVE_WINDOW, HISTORY_STORAGE_ADDRESS};
        self.reads.accounts.insert(HISTORY_STORAGE_ADDRESS);
        self.reads
            .storage
            .entry(HISTORY_STORAGE_ADDRESS)
            .or_default()
            .insert(U256::from(number % HISTORY_SERVE_WINDOW as u64));
        self.state.block_hash(number)
    }
}

impl<S> DatabaseCommit for ReplayDb<'_, S> {
    fn commit(&mut self, changes: AddressMap<Account>) {
        let deployed = &mut self.deployed;
        self.changes
            .record(changes, |hash, _| deployed.insert(hash), |_| None);
    }
}

/// What [`prove_reads`] found: the pre-state of every key it looked up.
#[derive(Debug, Clone, Default)]
pub struct ProvenReads {
    /// Accounts (`None`: proven absent).
    pub accounts: BTreeMap<Address, Option<TrieAccount>>,
    /// Slot values (zero: proven absent, or the account has no storage).
    pub storage: BTreeMap<(Address, U256), U256>,
}

fn decode_account(leaf: &[u8]) -> Result<TrieAccount, WitnessError> {
    TrieAccount::decode(&mut &leaf[..])
        .map_err(|e| WitnessError::Malformed(format!("account leaf: {e}")))
}

/// Looks up every account and slot in `reads` (and every account and slot `changes` writes)
/// by walking the tries of the state with root `root` through `nodes`: proofs of presence or
/// absence. Fails with [`TrieError::MissingNode`] when `nodes` lack one on a path.
pub fn prove_reads<N: StateNodes + ?Sized>(
    root: B256,
    reads: &Reads,
    changes: &BlockChanges,
    nodes: &N,
) -> Result<ProvenReads, WitnessError> {
    let mut keys: BTreeMap<Address, BTreeSet<U256>> = BTreeMap::new();
    for address in &reads.accounts {
        keys.entry(*address).or_default();
    }
    for (address, slots) in &reads.storage {
        keys.entry(*address).or_default().extend(slots);
    }
    for (address, change) in &changes.accounts {
        keys.entry(*address)
            .or_default()
            .extend(change.storage.keys());
    }
    let mut proven = ProvenReads::default();
    let mut accounts = SparseTrie::from_root(root).without_updates();
    let account_nodes = AccountNodes(nodes);
    for (address, slots) in keys {
        let hashed = keccak256(address);
        let account = accounts
            .get(&hashed, &account_nodes)?
            .map(|leaf| decode_account(&leaf))
            .transpose()?;
        proven.accounts.insert(address, account);
        let storage_root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        let mut storage = SparseTrie::from_root(storage_root).without_updates();
        let storage_nodes = StorageNodes(nodes, hashed);
        for slot in slots {
            let value = match storage.get(&keccak256(B256::from(slot)), &storage_nodes)? {
                Some(leaf) => U256::decode(&mut &leaf[..])
                    .map_err(|e| WitnessError::Malformed(format!("storage value: {e}")))?,
                None => U256::ZERO,
            };
            proven.storage.insert((address, slot), value);
        }
    }
    Ok(proven)
}

/// The state root after applying `changes` to the state with root `root`, loading trie nodes
/// from `nodes`: removals first, then insertions, each in key order (see the module docs).
pub fn post_state_root<N: StateNodes + ?Sized>(
    root: B256,
    changes: &BlockChanges,
    nodes: &N,
) -> Result<B256, WitnessError> {
    let mut accounts = SparseTrie::from_root(root).without_updates();
    let account_nodes = AccountNodes(nodes);
    let sorted: BTreeMap<B256, (&Address, &AccountChange)> = changes
        .accounts
        .iter()
        .map(|(address, change)| (keccak256(address), (address, change)))
        .collect();
    let mut removed = Vec::new();
    let mut leaves = Vec::new();
    for (hashed, (_, change)) in &sorted {
        let Some((nonce, balance, code_hash)) = change.info else {
            removed.push(*hashed);
            continue;
        };
        let previous = accounts
            .get(hashed, &account_nodes)?
            .map(|leaf| decode_account(&leaf))
            .transpose()?;
        let previous_root = previous.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        let storage_root = if change.wiped || !change.storage.is_empty() {
            let mut trie = if change.wiped {
                SparseTrie::empty()
            } else {
                SparseTrie::from_root(previous_root)
            }
            .without_updates();
            let storage_nodes = StorageNodes(nodes, *hashed);
            let slots: BTreeMap<B256, U256> = change
                .storage
                .iter()
                .map(|(slot, value)| (keccak256(B256::from(*slot)), *value))
                .collect();
            for key in slots.iter().filter(|(_, v)| v.is_zero()).map(|(k, _)| k) {
                trie.remove(key, &storage_nodes)?;
            }
            for (key, value) in slots.iter().filter(|(_, v)| !v.is_zero()) {
                trie.insert(key, Bytes::from(rlp::encode(value)), &storage_nodes)?;
            }
            trie.root()
        } else {
            previous_root
        };
        let leaf = TrieAccount {
            nonce,
            balance,
            storage_root,
            code_hash,
        };
        leaves.push((*hashed, Bytes::from(rlp::encode(leaf))));
    }
    for hashed in &removed {
        accounts.remove(hashed, &account_nodes)?;
    }
    for (hashed, leaf) in leaves {
        accounts.insert(&hashed, leaf, &account_nodes)?;
    }
    Ok(accounts.root())
}

/// Node source that remembers every node it hands out, in order, once each.
struct Recorder<'a, N: ?Sized> {
    nodes: &'a N,
    seen: RefCell<B256Set>,
    recorded: RefCell<Vec<Bytes>>,
}

impl<N: ?Sized> Recorder<'_, N> {
    fn record(&self, node: &Option<Bytes>) {
        if let Some(rlp) = node
            && self.seen.borrow_mut().insert(keccak256(rlp))
        {
            self.recorded.borrow_mut().push(rlp.clone());
        }
    }
}

impl<N: StateNodes + ?Sized> StateNodes for Recorder<'_, N> {
    fn account_node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        let node = self.nodes.account_node(path)?;
        self.record(&node);
        Ok(node)
    }

    fn storage_node(&self, owner: B256, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        let node = self.nodes.storage_node(owner, path)?;
        self.record(&node);
        Ok(node)
    }
}

/// The execution witness of stored block `number`, if its parent is at most `max_depth`
/// blocks behind the snapshot's head.
pub fn execution_witness(
    config: &ChainConfig,
    reader: &StoreReader,
    number: u64,
    max_depth: u64,
) -> Result<ExecutionWitness, WitnessError> {
    recorded_execution_witness(config, reader, number, max_depth, None)
}

/// [`execution_witness`] of a block replayed from its recorded list ([`replay_recorded`]):
/// it also holds what the checks of the recorded transactions the EVM refused read, which a
/// trace of the block from that list proves its skip steps with (fraud-vm/SPEC.md §5.9).
pub fn recorded_execution_witness(
    config: &ChainConfig,
    reader: &StoreReader,
    number: u64,
    max_depth: u64,
    recorded: Option<&[std::sync::Arc<crate::block::RecoveredTx>]>,
) -> Result<ExecutionWitness, WitnessError> {
    let head = reader.head_number()?.unwrap_or_default();
    if number > head {
        return Err(WitnessError::NotFound { number, head });
    }
    let Some(parent) = number.checked_sub(1) else {
        return Err(WitnessError::Genesis);
    };
    if head - parent > max_depth {
        return Err(WitnessError::TooOld {
            number,
            head,
            max_depth,
        });
    }
    let block = reader
        .block(number)?
        .ok_or(WitnessError::NotFound { number, head })?;
    let state = HistoricalState::rebuild(reader, parent, head)?;
    let parent_root = reader
        .header(parent)?
        .ok_or(WitnessError::NotFound {
            number: parent,
            head,
        })?
        .1
        .state_root;
    let mut replay = replay_recorded(config, &block, &state, recorded)?;
    // The header's withdrawals root is the message passer's storage root (Isthmus): a verifier
    // that seals the header (fraud-vm/SPEC.md §5.19) opens that account in the post-state trie
    // even when the block does not touch it, as op-reth's witness lets it.
    replay.reads.accounts.insert(super::MESSAGE_PASSER);
    let recorder = Recorder {
        nodes: &state,
        seen: RefCell::default(),
        recorded: RefCell::default(),
    };
    prove_reads(parent_root, &replay.reads, &replay.changes, &recorder)?;
    let root = post_state_root(parent_root, &replay.changes, &recorder)?;
    if root != block.header.state_root {
        return Err(WitnessError::Mismatch {
            number,
            what: format!(
                "re-execution gave state root {root}, the header says {}",
                block.header.state_root
            ),
        });
    }

    let mut codes: BTreeMap<B256, Bytes> = replay.reads.codes.clone();
    codes.extend(replay.changes.code.iter().cloned());
    let mut keys: BTreeMap<Address, BTreeSet<U256>> = BTreeMap::new();
    for address in &replay.reads.accounts {
        keys.entry(*address).or_default();
    }
    for (address, slots) in &replay.reads.storage {
        keys.entry(*address).or_default().extend(slots);
    }
    for (address, change) in &replay.changes.accounts {
        keys.entry(*address)
            .or_default()
            .extend(change.storage.keys());
    }
    let keys = keys
        .into_iter()
        .flat_map(|(address, slots)| {
            std::iter::once(Bytes::copy_from_slice(address.as_slice())).chain(
                slots
                    .into_iter()
                    .map(|slot| Bytes::copy_from_slice(B256::from(slot).as_slice())),
            )
        })
        .collect();
    let oldest = replay
        .reads
        .oldest_block_hash
        .map_or(parent, |n| n.min(parent));
    let mut headers = Vec::with_capacity((parent - oldest + 1) as usize);
    for n in oldest..=parent {
        let (_, header) = reader.header(n)?.ok_or(WitnessError::MissingBlockHash(n))?;
        headers.push(Bytes::from(rlp::encode(&header)));
    }
    Ok(ExecutionWitness {
        state: recorder.recorded.into_inner(),
        codes: codes.into_values().collect(),
        keys,
        headers,
    })
}
