//! Derivation end to end on real engines and real redb files: a sequencer chain is built, its
//! blocks are appended to a made-up L1's batch inbox (the Rust inbox plays the contract: only the
//! calls it accepts land, with the events it emits), and a second chain derived from that L1
//! alone must be the same block for block.

use super::*;
use crate::{
    batcher::plan::{InboxCursor, LocalBlock, MAX_APPEND_DATA, plan_append},
    chain::{ChainConfig, DEV_ACCOUNT_COUNT, TEST_MNEMONIC, l2_genesis_alloc},
    derivation::{FeeScalars, L1View, next_attributes},
    engine::Engine,
    rollup::{BlockRef, Genesis, RollupConfig},
    txpool::{PoolConfig, decode_and_recover},
};
use alloy::{
    consensus::{Header, SignableTransaction, Transaction as _, TxEip1559},
    eips::eip2718::Encodable2718,
    primitives::{Address, Bytes, TxKind, U256, keccak256},
    signers::{
        SignerSync,
        local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    },
};
use bridge::inbox::InboxError;
use op_alloy::consensus::OpTxEnvelope;
use proptest::prelude::*;

const CHAIN_ID: u64 = 901;
const GAS_LIMIT: u64 = 30_000_000;
pub(super) const GENESIS_TIME: u64 = 1_000;
pub(crate) const BATCHER: Address = Address::repeat_byte(0xba);

pub(crate) struct Chain {
    _dir: tempfile::TempDir,
    pub(crate) store: Arc<Store>,
    pub(crate) engine: Engine,
}

pub(super) fn chain() -> Chain {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(Store::open(&dir.path().join("chain.redb")).expect("store"));
    let config = Arc::new(ChainConfig::new(CHAIN_ID, GAS_LIMIT));
    let engine =
        Engine::open(config, store.clone(), &l2_genesis_alloc(), GENESIS_TIME).expect("engine");
    Chain {
        _dir: dir,
        store,
        engine,
    }
}

pub(crate) fn key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(TEST_MNEMONIC)
        .index(index)
        .expect("index")
        .build()
        .expect("key")
}

pub(crate) fn transfer(key: &PrivateKeySigner, nonce: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(Address::repeat_byte(0x44)),
        value: U256::from(1 + nonce),
        ..Default::default()
    };
    let signature = key.sign_hash_sync(&tx.signature_hash()).expect("sign");
    OpTxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// The RLP header of a made-up L1 block (its hash is the block's hash).
pub(super) fn header_of(block: &L1Block) -> Bytes {
    alloy::rlp::encode(Header {
        parent_hash: block.parent_hash,
        number: block.number,
        timestamp: block.timestamp,
        base_fee_per_gas: Some(block.base_fee),
        mix_hash: block.mix_hash,
        ..Default::default()
    })
    .into()
}

/// A made-up L1 block whose hash is its header's.
pub(super) fn l1_block(number: u64, parent_hash: B256, timestamp: u64, salt: u8) -> L1Block {
    let mut block = L1Block {
        number,
        hash: B256::ZERO,
        parent_hash,
        timestamp,
        base_fee: 7,
        mix_hash: B256::repeat_byte(salt ^ number as u8),
        deposits: Vec::new(),
        inbox_calls: Vec::new(),
        header: Default::default(),
    };
    block.header = header_of(&block);
    block.hash = keccak256(&block.header);
    block
}

/// L1 blocks 0..count, 12 s apart, confirmation depth 0.
pub(crate) fn l1(count: u64) -> Vec<L1Block> {
    let mut parent = B256::ZERO;
    (0..count)
        .map(|n| {
            let block = l1_block(n, parent, GENESIS_TIME + n * 12, 0);
            parent = block.hash;
            block
        })
        .collect()
}

pub(super) fn view_of(blocks: &[L1Block]) -> L1View {
    let mut view = L1View::new(0);
    for block in blocks {
        view.insert(block.clone());
    }
    view
}

pub(crate) fn rollup(genesis_l2: B256, window: u64) -> RollupConfig {
    RollupConfig {
        genesis: Genesis {
            l1: BlockRef {
                hash: l1(1)[0].hash,
                number: 0,
            },
            l2: BlockRef {
                hash: genesis_l2,
                number: 0,
            },
            l2_time: GENESIS_TIME,
        },
        block_time_ms: 1000,
        l1_chain_id: 900,
        l2_chain_id: CHAIN_ID,
        l2_gas_limit: GAS_LIMIT,
        l1_confirmation_depth: 0,
        deposit_contract_address: Address::repeat_byte(1),
        dispute_game_factory_address: Address::repeat_byte(2),
        anchor_state_registry_address: Address::repeat_byte(3),
        batch_inbox_address: Address::repeat_byte(4),
        deposit_log_index_address: Address::repeat_byte(9),
        batcher_address: BATCHER,
        proposer_address: Address::repeat_byte(5),
        respected_game_type: 1,
        base_fee_scalar: FeeScalars::default().base_fee_scalar,
        blob_base_fee_scalar: FeeScalars::default().blob_base_fee_scalar,
        seq_window_size: window,
        max_sequencer_drift: 1800,
    }
}

/// A sequencer chain of `blocks` L2 blocks, two per L1 epoch, each with a few transfers,
/// over L1 blocks `l1_blocks`. Returns the chain and its blocks as the batcher posts them.
pub(crate) fn sequence(blocks: u64, l1_blocks: &[L1Block]) -> (Chain, Vec<LocalBlock>) {
    sequence_with(blocks, l1_blocks, &[])
}

/// [`sequence`] with `extra` transactions: each `(n, tx)` after block `n`'s transfers (from
/// senders other than the transfers' own).
pub(crate) fn sequence_with(
    blocks: u64,
    l1_blocks: &[L1Block],
    extra: &[(u64, Bytes)],
) -> (Chain, Vec<LocalBlock>) {
    let mut seq = chain();
    let view = view_of(l1_blocks);
    let pool = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
    let sender = key(0);
    let mut nonce = 0;
    let mut locals = Vec::new();
    for n in 1..=blocks {
        let head = seq.engine.head().clone();
        let parent = origin_of(&head.txs);
        let timestamp = GENESIS_TIME + n * 6;
        let (attributes, _) = next_attributes(
            parent.as_ref(),
            0,
            &view,
            timestamp,
            BATCHER,
            FeeScalars::default(),
        )
        .expect("attributes");
        let txs: Vec<_> = (0..n % 4)
            .map(|_| {
                nonce += 1;
                Arc::new(decode_and_recover(transfer(&sender, nonce - 1), &pool).expect("tx"))
            })
            .chain(
                extra
                    .iter()
                    .filter(|(at, _)| *at == n)
                    .map(|(_, tx)| Arc::new(decode_and_recover(tx.clone(), &pool).expect("tx"))),
            )
            .collect();
        let built = seq.engine.build_block(&attributes, &txs).expect("build");
        let block = seq.engine.commit(built).expect("commit");
        assert_eq!(block.txs.len(), attributes.forced.len() + txs.len());
        locals.push(LocalBlock::of(&block).expect("an L2 block has an origin"));
    }
    (seq, locals)
}

/// The made-up L1's batch inbox: the Rust inbox stands in for the contract, so a call lands
/// (with its event) exactly when the contract would accept it.
pub(crate) struct TestInbox {
    inbox: Inbox,
    /// Records stored so far (the next record's index).
    records: u64,
}

impl TestInbox {
    pub(crate) fn new(window: u64) -> Self {
        let config = inbox_config(&rollup(B256::ZERO, window));
        Self {
            inbox: Inbox::new(config),
            records: 0,
        }
    }

    /// Sends `data` in L1 block `at`; it lands there if the inbox accepts it.
    pub(super) fn send(
        &mut self,
        l1: &mut [L1Block],
        at: usize,
        data: Vec<u8>,
    ) -> Result<(), InboxError> {
        let hashes: Vec<B256> = l1.iter().map(|b| b.hash).collect();
        let lookup = |n: u64| hashes.get(n as usize).copied();
        let ctx = L1Context {
            number: at as u64,
            block_hash: &lookup,
        };
        let out = self.inbox.append(&data, ctx)?;
        l1[at].inbox_calls.push(InboxCall::Append {
            data: data.into(),
            first: out.first,
            count: out.blocks.len() as u64,
            index: self.records,
            record: out.record.map_or(B256::ZERO, |r| r.commitment()),
        });
        self.records += u64::from(out.record.is_some());
        Ok(())
    }

    /// Forces the next epoch in L1 block `at`.
    pub(super) fn force(&mut self, l1: &mut [L1Block], at: usize) -> Result<(), InboxError> {
        let hashes: Vec<B256> = l1.iter().map(|b| b.hash).collect();
        let lookup = |n: u64| hashes.get(n as usize).copied();
        let ctx = L1Context {
            number: at as u64,
            block_hash: &lookup,
        };
        let s = self.inbox.state();
        let epoch = if s.started { s.epoch + 1 } else { 0 };
        let header = header_of(&l1[epoch as usize]);
        let out = self.inbox.force_next_epoch(&header, ctx)?;
        l1[at].inbox_calls.push(InboxCall::Force {
            first: out.first,
            count: out.blocks.len() as u64,
            index: self.records,
            record: out.record.map_or(B256::ZERO, |r| r.commitment()),
            epoch,
        });
        self.records += u64::from(out.record.is_some());
        Ok(())
    }

    /// Appends all of `blocks` not recorded yet in L1 block `at`, as the batcher plans them
    /// with appends of at most `max_len` bytes; panics if the inbox refuses one.
    pub(crate) fn post(
        &mut self,
        l1: &mut [L1Block],
        at: usize,
        blocks: &[LocalBlock],
        max_len: usize,
    ) {
        self.try_post(l1, at, blocks, max_len)
            .expect("the inbox takes the batcher's appends");
    }

    /// [`Self::post`], stopping at the first refusal.
    pub(super) fn try_post(
        &mut self,
        l1: &mut [L1Block],
        at: usize,
        blocks: &[LocalBlock],
        max_len: usize,
    ) -> Result<(), InboxError> {
        while self.append_next(l1, at, blocks, max_len)? {}
        Ok(())
    }

    /// Sends the batcher's next append of `blocks` in L1 block `at`; `false` when there is
    /// nothing left to send.
    pub(super) fn append_next(
        &mut self,
        l1: &mut [L1Block],
        at: usize,
        blocks: &[LocalBlock],
        max_len: usize,
    ) -> Result<bool, InboxError> {
        let s = self.inbox.state();
        let cursor = InboxCursor {
            next_block: s.next_block,
            last_epoch: s.started.then_some(s.epoch),
            open: s.open.as_ref().map(|o| o.tree.count() as u32),
        };
        let Some(from) = blocks.iter().position(|b| b.number == cursor.next_block) else {
            return Ok(false);
        };
        let headers: Vec<Bytes> = l1.iter().map(header_of).collect();
        let Ok(planned) = plan_append(
            &cursor,
            &blocks[from..],
            &mut |e| headers.get(e as usize).cloned(),
            max_len,
            usize::MAX,
        ) else {
            return Ok(false);
        };
        self.send(l1, at, planned.data.encode())?;
        Ok(true)
    }
}

/// Derives a fresh chain from `l1_blocks` and returns it.
pub(crate) fn derive(l1_blocks: &[L1Block], genesis: B256, window: u64) -> (Chain, Driver) {
    let mut chain = chain();
    assert_eq!(chain.engine.head().hash, genesis, "same genesis");
    let view = RwLock::new(view_of(l1_blocks));
    let mut driver = Driver::open(chain.store.clone(), &rollup(genesis, window)).expect("driver");
    for _ in 0..4 {
        driver
            .step(&mut chain.engine, &view, 1000)
            .expect("derivation never fails on what the inbox recorded");
    }
    (chain, driver)
}

/// The append records the inbox calls of `l1_blocks` stored, by index.
pub(crate) fn stored_records(l1_blocks: &[L1Block]) -> Vec<B256> {
    let mut records = Vec::new();
    for call in l1_blocks.iter().flat_map(|b| &b.inbox_calls) {
        let (InboxCall::Append { index, record, .. } | InboxCall::Force { index, record, .. }) =
            call;
        if !record.is_zero() {
            assert_eq!(
                *index,
                records.len() as u64,
                "records are numbered in order"
            );
            records.push(*record);
        }
    }
    records
}

/// Every block `1 ..= upto` of `chain` has the append record that completed it stored, and
/// the inbox's opening of its `inputs_n` built from it shows the record the inbox stored; the
/// header of its L1 origin is stored by the epoch's hash (the L1 block's header, hashing to it).
fn assert_appends_open(chain: &Chain, l1_blocks: &[L1Block], upto: u64) {
    let records = stored_records(l1_blocks);
    let reader = chain.store.reader().unwrap();
    for n in 1..=upto {
        let append = reader
            .append_of(n)
            .unwrap()
            .unwrap_or_else(|| panic!("block {n}: no append stored"));
        let opening = append.opening(n).expect("the append completed the block");
        assert_eq!(
            opening.opened_record(n),
            records.get(append.index as usize).copied(),
            "block {n}"
        );
        assert_eq!(append.inputs(n).map(|i| i.number), Some(n));
        let inputs = append.inputs(n).expect("the append completed the block");
        let origin = reader
            .origin_header(inputs.epoch_hash)
            .unwrap()
            .unwrap_or_else(|| panic!("block {n}: no origin header stored"));
        assert_eq!(keccak256(&origin), inputs.epoch_hash, "block {n}");
        let l1 = l1_blocks
            .iter()
            .find(|b| b.hash == inputs.epoch_hash)
            .expect("the epoch is an L1 block");
        assert_eq!(origin, l1.header.to_vec(), "block {n}");
    }
    assert_eq!(reader.origin_header(B256::repeat_byte(0x0e)).unwrap(), None);
    assert_eq!(reader.append_of(upto + 1).unwrap(), None);
}

pub(super) fn assert_same(a: &Chain, b: &Chain, upto: u64) {
    let (ra, rb) = (a.store.reader().unwrap(), b.store.reader().unwrap());
    for n in 0..=upto {
        let (ha, _) = ra.header(n).unwrap().expect("sequencer block");
        let (hb, _) = rb
            .header(n)
            .unwrap()
            .unwrap_or_else(|| panic!("derived block {n} missing"));
        assert_eq!(ha, hb, "block {n}");
    }
}

#[test]
fn the_chain_from_the_inbox_equals_the_sequencer_chain() {
    let mut l1_blocks = l1(12);
    let (seq, locals) = sequence(10, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    let mut inbox = TestInbox::new(100);
    inbox.post(&mut l1_blocks, 6, &locals[..6], MAX_APPEND_DATA);
    inbox.post(&mut l1_blocks, 8, &locals[6..], MAX_APPEND_DATA);
    let (derived, driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 10);
    assert_same(&seq, &derived, 10);
    assert_appends_open(&derived, &l1_blocks, 10);
    assert_eq!(derived.engine.head().hash, seq.engine.head().hash);
    // The checkpoint of the last L1 block records the safe head.
    let record = derived
        .store
        .reader()
        .unwrap()
        .last_derivation()
        .unwrap()
        .unwrap();
    assert_eq!((record.l1_number, record.safe_number), (11, 10));
    assert_eq!(record.open_block_start, None);
}

#[test]
fn blocks_split_across_appends_and_l1_blocks_and_a_restart_in_between() {
    let mut l1_blocks = l1(40);
    let (seq, locals) = sequence(8, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Appends of at most 700 bytes: blocks left open, continued in the next L1 block.
    let mut inbox = TestInbox::new(100);
    let mut at = 5;
    let mut open_after = Vec::new();
    while inbox.append_next(&mut l1_blocks, at, &locals, 700).unwrap() {
        if inbox.inbox.state().open.is_some() {
            open_after.push(at);
        }
        at += 1;
    }
    assert!(at > 7, "the blocks needed several L1 blocks ({at})");
    // Derive up to an L1 block after which a block is open, restart, and go on.
    let open_at = *open_after
        .first()
        .expect("an L1 block after which a block is open");
    let mut chain = chain();
    let rollup = rollup(genesis, 100);
    let view = RwLock::new(view_of(&l1_blocks[..=open_at]));
    let mut driver = Driver::open(chain.store.clone(), &rollup).unwrap();
    driver.step(&mut chain.engine, &view, 1000).unwrap();
    let record = chain
        .store
        .reader()
        .unwrap()
        .last_derivation()
        .unwrap()
        .unwrap();
    assert_eq!(record.l1_number, open_at as u64);
    assert!(record.open_block_start.is_some(), "a block is open");
    let safe_before = driver.safe().number;
    drop(driver);
    let mut driver = Driver::open(chain.store.clone(), &rollup).unwrap();
    assert!(
        driver.safe().number <= safe_before,
        "resumes before the open block"
    );
    let view = RwLock::new(view_of(&l1_blocks));
    for _ in 0..3 {
        driver.step(&mut chain.engine, &view, 1000).unwrap();
    }
    assert_eq!(driver.safe().number, 8);
    assert_same(&seq, &chain, 8);
}

/// A recorded block's transactions that do not decode, are not signed, or that the EVM refuses
/// (a replayed nonce) are left out, each on its own, and the block stands: the derived chain is
/// the sequencer's, hash for hash.
#[test]
fn recorded_transactions_the_evm_refuses_are_left_out() {
    let mut l1_blocks = l1(12);
    let (seq, mut locals) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    let replayed = locals[0].transactions[0].clone();
    let mut unsigned = transfer(&key(1), 0).to_vec();
    let last = unsigned.len() - 2;
    unsigned[last] ^= 0xff;
    locals[2]
        .transactions
        .insert(0, Bytes::from_static(&[0x02, 0xc0]));
    locals[2].transactions.push(unsigned.into());
    locals[3].transactions.push(replayed);
    locals[3]
        .transactions
        .push(Bytes::from_static(&[0x05, 1, 2, 3]));
    let mut inbox = TestInbox::new(100);
    inbox.post(&mut l1_blocks, 3, &locals, MAX_APPEND_DATA);
    let (derived, driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 4);
    assert_same(&seq, &derived, 4);
}

/// Each recorded transaction is judged on its own against the state at its position (BATCHES.md
/// §5.2): a sender's refused transaction (nonce too high, nonce too low, or a sender that cannot
/// pay) does not leave its later valid ones out, as the fraud VM's skip step would not.
#[test]
fn a_refused_transaction_does_not_hold_back_its_senders_later_ones() {
    let mut l1_blocks = l1(12);
    let (seq, mut locals) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Block 3 holds key 0's nonces 3, 4, 5 (block n: n % 4 transfers).
    assert_eq!(locals[2].transactions.len(), 3);
    let sender = key(0);
    let unfunded = key(DEV_ACCOUNT_COUNT + 7);
    let recorded = &mut locals[2].transactions;
    // Nonce too high before all of them: the sequencer's rule would hold 3, 4, 5 back.
    recorded.insert(0, transfer(&sender, 9));
    // Nonce too low between 3 and 4 (3 again, now spent).
    recorded.insert(2, transfer(&sender, 3));
    // A sender with no balance, then the same sender's next nonce.
    recorded.insert(3, transfer(&unfunded, 0));
    recorded.insert(4, transfer(&unfunded, 1));
    let mut inbox = TestInbox::new(100);
    inbox.post(&mut l1_blocks, 3, &locals, MAX_APPEND_DATA);
    let (derived, driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 4);
    assert_same(&seq, &derived, 4);
    let block = derived.store.reader().unwrap().block(3).unwrap().unwrap();
    let user: Vec<u64> = block
        .txs
        .iter()
        .filter(|t| !t.tx.is_deposit())
        .map(|t| t.tx.nonce())
        .collect();
    assert_eq!(
        user,
        [3, 4, 5],
        "the valid transactions after each refusal stay"
    );
}

#[test]
fn a_forced_epoch_is_a_deposits_only_block() {
    let mut l1_blocks = l1(12);
    let (seq, _) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Window 3: nothing appended, the epochs are forced from L1 block 3 on, one per call.
    let mut inbox = TestInbox::new(3);
    assert!(
        inbox.force(&mut l1_blocks, 2).is_err(),
        "the window is open"
    );
    for at in 3..9 {
        inbox.force(&mut l1_blocks, at).unwrap();
    }
    let (derived, driver) = derive(&l1_blocks, genesis, 3);
    let reader = derived.store.reader().unwrap();
    assert_eq!(driver.safe().number, 6);
    for n in 1..=6 {
        let block = reader.block(n).unwrap().unwrap();
        let origin = origin_of(&block.txs).unwrap();
        assert_eq!(
            origin.number,
            n - 1,
            "each forced block takes the next epoch"
        );
        assert_eq!(origin.sequence_number, 0);
        assert!(block.txs.iter().all(|t| t.tx.is_deposit()));
    }
    assert_ne!(
        reader.header(1).unwrap().unwrap().0,
        seq.store.reader().unwrap().header(1).unwrap().unwrap().0
    );
}

#[test]
fn a_sequencer_replaces_its_blocks_with_the_recorded_ones() {
    let mut l1_blocks = l1(12);
    let (mut seq, locals) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Only the first two blocks land; then the window closes and the next epochs are forced.
    let mut inbox = TestInbox::new(3);
    inbox.post(&mut l1_blocks, 2, &locals[..2], MAX_APPEND_DATA);
    for at in 4..7 {
        inbox.force(&mut l1_blocks, at).unwrap();
    }
    let view = RwLock::new(view_of(&l1_blocks));
    let mut driver = Driver::open(seq.store.clone(), &rollup(genesis, 3)).unwrap();
    let sealed_3 = seq.store.reader().unwrap().header(3).unwrap().unwrap().0;
    let out = driver.step(&mut seq.engine, &view, 1000).unwrap();
    assert_eq!(driver.safe().number, 5);
    // Blocks 1-2 stood; block 3 was replaced, and the transactions above came back.
    assert!(out.dropped.len() >= 3, "dropped {}", out.dropped.len());
    assert_ne!(
        seq.store.reader().unwrap().header(3).unwrap().unwrap().0,
        sealed_3
    );
    let (derived, _) = derive(&l1_blocks, genesis, 3);
    assert_same(&seq, &derived, driver.safe().number);
}

#[test]
fn an_l1_reorg_rewinds_the_safe_head_to_the_canonical_checkpoint() {
    let mut l1_blocks = l1(12);
    let (seq, locals) = sequence(6, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    let mut inbox = TestInbox::new(100);
    inbox.post(&mut l1_blocks, 2, &locals[..2], MAX_APPEND_DATA);
    inbox.post(&mut l1_blocks, 5, &locals[2..], MAX_APPEND_DATA);
    let (mut derived, mut driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 6);
    // L1 blocks from 4 are replaced by blocks without the second append.
    let mut fork = l1_blocks[..4].to_vec();
    for n in 4..12u64 {
        let parent = fork.last().unwrap().hash;
        fork.push(l1_block(n, parent, GENESIS_TIME + n * 12 + 1, 0xf0));
    }
    let view = RwLock::new(view_of(&fork));
    for _ in 0..3 {
        driver.step(&mut derived.engine, &view, 1000).unwrap();
    }
    assert_eq!(
        driver.safe().number,
        2,
        "back to the blocks of the canonical append"
    );
    // The replaced L1 blocks' append is dropped; the canonical one stays.
    assert_appends_open(&derived, &fork, 2);
    let record = derived
        .store
        .reader()
        .unwrap()
        .last_derivation()
        .unwrap()
        .unwrap();
    assert_eq!(record.l1_hash, fork[11].hash);
    assert_eq!(
        derived.store.reader().unwrap().safe_number().unwrap(),
        Some(2)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// The batcher's appends with random bytes flipped, cut or appended, sent before and
    /// between the real ones: only those the inbox accepts land (with their events), as on L1.
    /// Derivation never fails or panics, derives exactly the blocks the inbox recorded, and when
    /// no mutated append landed, the sequencer's chain.
    #[test]
    fn mutated_appends_never_halt_derivation(
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        max_len in 800usize..2_000,
    ) {
        let mut l1_blocks = l1(10);
        let (seq, locals) = sequence(3, &l1_blocks);
        let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
        let mut inbox = TestInbox::new(100);
        let mut landed_mutants = 0;
        let mut at = 4;
        for (index, byte, kind) in mutations {
            // A mutant of the next append the batcher would send.
            let s = inbox.inbox.state();
            let cursor = InboxCursor {
                next_block: s.next_block,
                last_epoch: s.started.then_some(s.epoch),
                open: s.open.as_ref().map(|o| o.tree.count() as u32),
            };
            let Some(from) = locals.iter().position(|b| b.number == cursor.next_block) else { break };
            let headers: Vec<Bytes> = l1_blocks.iter().map(header_of).collect();
            // A landed mutant may have left the inbox where the local blocks cannot follow.
            let Ok(planned) = plan_append(&cursor, &locals[from..], &mut |e| headers.get(e as usize).cloned(), max_len, usize::MAX) else { break };
            let mut data = planned.data.encode();
            let i = index.index(data.len());
            match kind {
                0 => data[i] ^= byte.max(1),
                1 => data.truncate(i),
                _ => data.extend_from_slice(&[byte; 3]),
            }
            if inbox.send(&mut l1_blocks, at, data).is_ok() {
                landed_mutants += 1;
            }
            // And the real one (refused if a mutant took its place).
            let _ = inbox.send(&mut l1_blocks, at, planned.data.encode());
            at = (at + 1).min(9);
        }
        let _ = inbox.try_post(&mut l1_blocks, 9, &locals, max_len);
        let recorded = inbox.inbox.state().next_block - 1;
        let (derived, driver) = derive(&l1_blocks, genesis, 100);
        prop_assert_eq!(driver.safe().number, recorded);
        if landed_mutants == 0 {
            prop_assert_eq!(recorded, 3);
            assert_same(&seq, &derived, 3);
        }
    }
}
