//! The engine on a real redb file, driven block by block, with the model beside it and the
//! checks every block must pass.

use super::{
    model::{Effect, Model, Outcome, state_root, storage_root},
    workload::{ACTORS, Planned, Planner, Step},
};
use alloy::{
    consensus::{
        Transaction,
        proofs::{calculate_receipt_root, calculate_transaction_root},
    },
    eips::eip1559::{BaseFeeParams, calc_next_block_base_fee},
    primitives::{Address, U256, logs_bloom},
};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use op_node::{
    block::{RecoveredTx, SealedBlock},
    chain::{ChainConfig, dev_genesis_alloc},
    engine::{BuiltBlock, Engine},
    storage::{ApplyMode, Store, StoreReader},
    txpool::PoolConfig,
};
use std::{
    collections::{BTreeMap, HashSet},
    path::PathBuf,
    sync::Arc,
};
use tempfile::TempDir;

pub const CHAIN_ID: u64 = 901;
pub const GAS_LIMIT: u64 = 30_000_000;
pub const GENESIS_TIMESTAMP: u64 = 1_700_000_000;
const BLOCK_TIME: u64 = 2;

/// An open database and the engine on it.
struct Node {
    store: Arc<Store>,
    engine: Engine,
}

impl Node {
    /// The state file is written inline every third block, so readers see blocks through
    /// pending writes and a restart usually has blocks to replay from the chain file.
    fn open(path: &std::path::Path) -> Self {
        let store = Arc::new(
            Store::open_with_mode(path, ApplyMode::Inline { every: 3 }).expect("open the store"),
        );
        let engine = Engine::open(
            Arc::new(ChainConfig::new(CHAIN_ID, GAS_LIMIT)),
            store.clone(),
            &dev_genesis_alloc(),
            GENESIS_TIMESTAMP,
        )
        .expect("open the engine");
        Self { store, engine }
    }
}

/// A chain under test: the engine on a temporary file, and the model of its state.
pub struct Harness {
    _dir: TempDir,
    path: PathBuf,
    node: Option<Node>,
    /// What the state should be after the last committed block.
    pub model: Model,
    /// Admission rules used to sign and decode transactions.
    pub pool: PoolConfig,
    /// The last committed block, as `commit` returned it.
    pub head: Arc<SealedBlock>,
}

impl Harness {
    /// A new chain at genesis; checks the genesis state root from scratch.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("chain.redb");
        let node = Node::open(&path);
        let head = node.engine.head().clone();
        let model = Model::new(&dev_genesis_alloc(), ACTORS.addresses());
        let harness = Self {
            _dir: dir,
            path,
            node: Some(node),
            model,
            pool: PoolConfig::new(CHAIN_ID, GAS_LIMIT),
            head,
        };
        assert_eq!(harness.head.number(), 0);
        assert_eq!(harness.model.state_root(), harness.head.header.state_root);
        harness.check_state();
        harness
    }

    /// The engine, for a test that runs it itself, with the directory that holds its files.
    pub fn into_engine(self) -> (Engine, TempDir) {
        let node = self.node.expect("node open");
        (node.engine, self._dir)
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("node open")
    }

    pub fn engine(&mut self) -> &mut Engine {
        &mut self.node.as_mut().expect("node open").engine
    }

    /// A snapshot of everything committed so far.
    pub fn reader(&self) -> StoreReader {
        self.node().store.reader().expect("reader")
    }

    /// Closes the engine and the database, then opens both again on the same file.
    pub fn restart(&mut self) {
        self.node = None;
        self.node = Some(Node::open(&self.path));
        let head = self.node().engine.head().clone();
        assert_eq!(
            head.number(),
            self.head.number(),
            "head number after restart"
        );
        assert_eq!(head.hash, self.head.hash, "head hash after restart");
        assert_eq!(head.header, self.head.header, "head header after restart");
        assert_eq!(hashes(&head), hashes(&self.head), "head transactions");
        assert_eq!(head.receipts, self.head.receipts, "head receipts");
        self.check_state();
    }

    pub fn next_base_fee(&mut self) -> u64 {
        self.engine().next_base_fee()
    }

    /// Builds a block from `txs` on top of the head, without committing it.
    pub fn build(&mut self, txs: &[Arc<RecoveredTx>]) -> BuiltBlock {
        let timestamp = self.head.header.timestamp + BLOCK_TIME;
        self.engine().build(timestamp, txs).expect("build")
    }

    /// Commits a built block without checking it against the model.
    pub fn commit_unchecked(&mut self, built: BuiltBlock) -> Arc<SealedBlock> {
        let block = self.engine().commit(built).expect("commit");
        self.head = block.clone();
        block
    }

    /// Plans `steps`, builds and commits them as one block, applies them to the model and
    /// checks the block and the state. Every planned transaction must be included.
    pub fn run_block(&mut self, steps: &[Step]) -> Arc<SealedBlock> {
        let base_fee = self.next_base_fee();
        let planned = Planner::new(&self.model, &self.pool, base_fee).plan(steps);
        let txs: Vec<_> = planned.iter().map(|p| p.tx.clone()).collect();
        let built = self.build(&txs);
        let number = built.block.number();
        assert!(
            built.rejected.is_empty(),
            "block {number}: rejected {:?}",
            built.rejected
        );
        assert_eq!(
            hashes(&built.block),
            txs.iter().map(|t| t.hash).collect::<Vec<_>>(),
            "block {number}: every planned transaction, in order"
        );
        let parent = self.head.clone();
        let block = self.commit_unchecked(built);
        self.apply_to_model(&block, &planned);
        self.check_block(&block, &parent);
        self.check_state();
        block
    }

    /// Applies a committed block to the model and checks each receipt's outcome.
    fn apply_to_model(&mut self, block: &SealedBlock, planned: &[Planned]) {
        let header = &block.header;
        let base_fee = header.base_fee_per_gas.expect("base fee");
        self.model
            .begin_block(header.number, header.timestamp, header.parent_hash);
        let mut cumulative = 0;
        for ((tx, receipt), plan) in block.txs.iter().zip(&block.receipts).zip(planned) {
            let at = format!("block {} tx {}", header.number, tx.hash);
            let gas_used = receipt.cumulative_gas_used() - cumulative;
            cumulative = receipt.cumulative_gas_used();
            let inner = tx.tx.inner();
            let price = inner.effective_gas_price(Some(base_fee));
            let outcome = self
                .model
                .apply_tx(tx.sender(), &plan.effect, gas_used, price, base_fee);
            match outcome {
                Outcome::Success(logs) => {
                    assert!(
                        receipt.status(),
                        "{at}: expected success ({:?})",
                        plan.effect
                    );
                    assert_eq!(receipt.logs(), logs.as_slice(), "{at}: logs");
                }
                Outcome::Reverted | Outcome::OutOfGas => {
                    assert!(
                        !receipt.status(),
                        "{at}: expected failure ({:?})",
                        plan.effect
                    );
                    assert!(receipt.logs().is_empty(), "{at}: a failed tx has no logs");
                    if outcome == Outcome::OutOfGas {
                        assert_eq!(gas_used, inner.gas_limit(), "{at}: out of gas uses all");
                    }
                }
            }
            if let Effect::Call { to, data, .. } = &plan.effect
                && data.is_empty()
                && self.model.code(to).is_none()
            {
                assert_eq!(gas_used, 21_000, "{at}: a plain transfer costs 21000");
            }
        }
        self.model.assert_no_empty_accounts();
    }

    /// The header against from-scratch computations over what storage returns.
    fn check_block(&self, block: &SealedBlock, parent: &SealedBlock) {
        let n = block.number();
        let header = &block.header;
        let reader = self.reader();
        assert_eq!(reader.head_number().unwrap(), Some(n), "stored head");
        let (hash, stored_header) = reader.header(n).unwrap().expect("stored header");
        assert_eq!(hash, block.hash, "block {n}: stored hash");
        assert_eq!(&stored_header, header, "block {n}: stored header");
        assert_eq!(header.hash_slow(), block.hash, "block {n}: hash");
        assert_eq!(header.number, parent.number() + 1, "block {n}: number");
        assert_eq!(header.parent_hash, parent.hash, "block {n}: parent hash");
        let parent_base_fee = parent.header.base_fee_per_gas.unwrap();
        let expected_base_fee = calc_next_block_base_fee(
            parent.header.gas_used,
            parent.header.gas_limit,
            parent_base_fee,
            BaseFeeParams::optimism_canyon(),
        )
        .max(1);
        assert_eq!(
            header.base_fee_per_gas,
            Some(expected_base_fee),
            "block {n}: base fee"
        );

        let stored = reader.block(n).unwrap().expect("stored block");
        let envelopes: Vec<_> = stored.txs.iter().map(|t| t.tx.inner().clone()).collect();
        assert_eq!(
            stored
                .txs
                .iter()
                .map(|t| (t.hash, t.sender()))
                .collect::<Vec<_>>(),
            block
                .txs
                .iter()
                .map(|t| (t.hash, t.sender()))
                .collect::<Vec<_>>(),
            "block {n}: stored transactions"
        );
        assert_eq!(
            stored.receipts, block.receipts,
            "block {n}: stored receipts"
        );
        assert_eq!(
            header.transactions_root,
            calculate_transaction_root(&envelopes),
            "block {n}: transactions root"
        );
        assert_eq!(
            header.receipts_root,
            calculate_receipt_root(&stored.receipts),
            "block {n}: receipts root"
        );
        let last_cumulative = stored
            .receipts
            .last()
            .map(|r| r.cumulative_gas_used())
            .unwrap_or(0);
        assert_eq!(header.gas_used, last_cumulative, "block {n}: gas used");
        let mut previous = 0;
        for (i, receipt) in stored.receipts.iter().enumerate() {
            assert!(
                receipt.cumulative_gas_used() >= previous + 21_000,
                "block {n} receipt {i}: cumulative gas"
            );
            previous = receipt.cumulative_gas_used();
            assert_eq!(
                *receipt.logs_bloom(),
                logs_bloom(receipt.logs()),
                "block {n} receipt {i}: bloom"
            );
            let location = reader.transaction_location(&stored.txs[i].hash).unwrap();
            assert_eq!(location, Some((n, i as u32)), "block {n}: tx index");
        }
        assert_eq!(
            header.logs_bloom,
            logs_bloom(stored.receipts.iter().flat_map(|r| r.logs())),
            "block {n}: logs bloom"
        );
        assert_eq!(
            header.withdrawals_root,
            Some(EMPTY_ROOT_HASH),
            "block {n}: message passer storage root"
        );
    }

    /// The flat tables against the model, and the head's state root against one computed
    /// from scratch out of the flat tables.
    pub fn check_state(&self) {
        let reader = self.reader();
        let header = &self.head.header;
        let n = header.number;
        let mut leaves = Vec::new();
        for address in &self.model.known {
            let stored = reader.account(address).unwrap();
            let expected = self.model.accounts.get(address);
            let slots = self.model.slots.get(address).into_iter().flatten();
            let stored_slots: BTreeMap<_, _> = slots
                .map(|slot| (*slot, reader.storage(address, slot).unwrap()))
                .collect();
            match (stored, expected) {
                (None, None) => {
                    for (slot, value) in &stored_slots {
                        assert!(
                            value.is_zero(),
                            "block {n}: slot {slot} of deleted {address}"
                        );
                    }
                }
                (Some(stored), Some(expected)) => {
                    assert_eq!(
                        stored.nonce, expected.nonce,
                        "block {n}: nonce of {address}"
                    );
                    assert_eq!(
                        stored.balance, expected.balance,
                        "block {n}: balance of {address}"
                    );
                    assert_eq!(
                        stored.code_hash,
                        expected.code_hash(),
                        "block {n}: code hash of {address}"
                    );
                    if let Some(code) = &expected.code {
                        assert_eq!(
                            reader.code(&stored.code_hash).unwrap().as_ref(),
                            Some(code),
                            "block {n}: code of {address}"
                        );
                    }
                    for (slot, value) in &stored_slots {
                        let want = expected.storage.get(slot).copied().unwrap_or_default();
                        assert_eq!(*value, want, "block {n}: slot {slot} of {address}");
                    }
                    let root = storage_root(stored_slots.iter().map(|(k, v)| (*k, *v)));
                    assert_eq!(
                        stored.storage_root, root,
                        "block {n}: storage root of {address}"
                    );
                    leaves.push((
                        *address,
                        TrieAccount {
                            nonce: stored.nonce,
                            balance: stored.balance,
                            storage_root: root,
                            code_hash: stored.code_hash,
                        },
                    ));
                }
                (stored, expected) => {
                    panic!("block {n}: account {address}: stored {stored:?}, model {expected:?}")
                }
            }
        }
        assert_eq!(
            state_root(leaves),
            header.state_root,
            "block {n}: state root from scratch"
        );
    }

    /// Block `number`'s stored reverts, applied over the state after it (`post`), give the
    /// state before it (`pre`, a snapshot taken before the block) for every known account
    /// and slot; and they name nothing the test does not know about.
    pub fn check_reverts(&self, pre: &StoreReader, number: u64) {
        let post = self.reader();
        let reverts = post.reverts(number).unwrap().expect("reverts stored");
        let mut accounts = BTreeMap::new();
        for (address, record) in &reverts.accounts {
            assert!(
                accounts.insert(*address, *record).is_none(),
                "block {number}: {address} twice in the reverts"
            );
            assert!(
                self.model.known.contains(address),
                "block {number}: reverts name unknown account {address}"
            );
        }
        let mut slots = BTreeMap::new();
        for (address, slot, value) in &reverts.storage {
            assert!(
                slots.insert((*address, *slot), *value).is_none(),
                "block {number}: slot {slot} of {address} twice in the reverts"
            );
            assert!(
                self.model
                    .slots
                    .get(address)
                    .is_some_and(|s| s.contains(slot)),
                "block {number}: reverts name unknown slot {slot} of {address}"
            );
        }
        let touched: HashSet<Address> = accounts.keys().copied().collect();
        for address in &self.model.known {
            let reverted = match accounts.get(address) {
                Some(record) => *record,
                None => post.account(address).unwrap(),
            };
            assert_eq!(
                reverted,
                pre.account(address).unwrap(),
                "block {number}: account {address} reverted (in reverts: {})",
                touched.contains(address)
            );
            for slot in self.model.slots.get(address).into_iter().flatten() {
                let reverted = match slots.get(&(*address, *slot)) {
                    Some(value) => *value,
                    None => post.storage(address, slot).unwrap(),
                };
                let before: U256 = pre.storage(address, slot).unwrap();
                assert_eq!(
                    reverted, before,
                    "block {number}: slot {slot} of {address} reverted"
                );
            }
        }
    }
}

/// The transaction hashes of a block, for comparisons.
pub fn hashes(block: &SealedBlock) -> Vec<alloy::primitives::B256> {
    block.txs.iter().map(|t| t.hash).collect()
}
