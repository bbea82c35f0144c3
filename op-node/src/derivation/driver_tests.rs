//! Derivation end to end on real engines and real redb files: a sequencer chain is built,
//! its batches are put on a made-up L1 among garbage, mutated and invalid batches, and a
//! second chain derived from that L1 alone must be the same block for block.

use super::*;
use crate::{
    batch::{Batch, MAX_FRAME_DATA, compress_batches, frames_for_channel},
    batcher::batch_of,
    chain::{ChainConfig, TEST_MNEMONIC, l2_genesis_alloc},
    derivation::{FeeScalars, L1View, next_attributes},
    engine::Engine,
    rollup::{BlockRef, Genesis, RollupConfig},
    txpool::{PoolConfig, decode_and_recover},
};
use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    primitives::{Address, Bytes, TxKind, U256, keccak256},
    signers::{
        SignerSync,
        local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    },
};
use op_alloy::consensus::OpTxEnvelope;
use proptest::prelude::*;

const CHAIN_ID: u64 = 901;
const GAS_LIMIT: u64 = 30_000_000;
pub(super) const GENESIS_TIME: u64 = 1_000;
pub(super) const BATCHER: Address = Address::repeat_byte(0xba);

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

pub(super) fn key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(TEST_MNEMONIC)
        .index(index)
        .expect("index")
        .build()
        .expect("key")
}

fn transfer(key: &PrivateKeySigner, nonce: u64) -> Bytes {
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

/// L1 blocks 0..count, 12 s apart, confirmation depth 0.
pub(crate) fn l1(count: u64) -> Vec<L1Block> {
    let mut parent = B256::ZERO;
    (0..count)
        .map(|n| {
            let block = L1Block {
                number: n,
                hash: keccak256([b"l1".as_slice(), &n.to_be_bytes()].concat()),
                parent_hash: parent,
                timestamp: GENESIS_TIME + n * 12,
                base_fee: 7,
                mix_hash: B256::repeat_byte(n as u8),
                deposits: Vec::new(),
                batcher_data: Vec::new(),
            };
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

fn rollup(genesis_l2: B256, window: u64) -> RollupConfig {
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
        batcher_address: BATCHER,
        proposer_address: Address::repeat_byte(5),
        respected_game_type: 1,
        base_fee_scalar: FeeScalars::default().base_fee_scalar,
        blob_base_fee_scalar: FeeScalars::default().blob_base_fee_scalar,
        seq_window_size: window,
        max_sequencer_drift: 1800,
        channel_timeout: 4,
    }
}

/// A sequencer chain of `blocks` L2 blocks, two per L1 epoch, each with a few transfers,
/// over L1 blocks `0..l1_count`. Returns the chain and the batches of its blocks.
pub(crate) fn sequence(blocks: u64, l1_blocks: &[L1Block]) -> (Chain, Vec<Batch>) {
    let mut seq = chain();
    let view = view_of(l1_blocks);
    let pool = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
    let sender = key(0);
    let mut nonce = 0;
    let mut batches = Vec::new();
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
            .collect();
        let built = seq.engine.build_block(&attributes, &txs).expect("build");
        let block = seq.engine.commit(built).expect("commit");
        assert_eq!(block.txs.len(), attributes.forced.len() + txs.len());
        batches.push(batch_of(&block).expect("an L2 block has an origin"));
    }
    (seq, batches)
}

pub(super) fn calldata_of(batches: &[Batch], channel: u8) -> Vec<Bytes> {
    frames_for_channel([channel; 16], &compress_batches(batches), MAX_FRAME_DATA)
        .into_iter()
        .map(Bytes::from)
        .collect()
}

/// Derives a fresh chain from `l1_blocks` and returns it.
pub(super) fn derive(l1_blocks: &[L1Block], genesis: B256, window: u64) -> (Chain, Driver) {
    let mut chain = chain();
    assert_eq!(chain.engine.head().hash, genesis, "same genesis");
    let view = RwLock::new(view_of(l1_blocks));
    let mut driver = Driver::open(chain.store.clone(), &rollup(genesis, window)).expect("driver");
    for _ in 0..4 {
        driver
            .step(&mut chain.engine, &view, 1000)
            .expect("derivation never fails on bad L1 data");
    }
    (chain, driver)
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
fn the_chain_from_batches_equals_the_sequencer_chain() {
    let mut l1_blocks = l1(12);
    let (seq, batches) = sequence(10, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Two channels in two L1 blocks.
    l1_blocks[6].batcher_data = calldata_of(&batches[..6], 1);
    l1_blocks[8].batcher_data = calldata_of(&batches[6..], 2);
    let (derived, driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 10);
    assert_same(&seq, &derived, 10);
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
}

#[test]
fn a_channel_over_several_transactions_and_l1_blocks_and_a_restart_in_between() {
    let mut l1_blocks = l1(12);
    let (seq, batches) = sequence(8, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    let frames: Vec<Bytes> = frames_for_channel([9; 16], &compress_batches(&batches), 60)
        .into_iter()
        .map(Bytes::from)
        .collect();
    assert!(frames.len() > 4);
    let half = frames.len() / 2;
    l1_blocks[5].batcher_data = frames[..half].to_vec();
    l1_blocks[7].batcher_data = frames[half..].to_vec();
    // Derive up to L1 block 6 (the channel still open), restart, and go on.
    let mut chain = chain();
    let rollup = rollup(genesis, 100);
    let view = RwLock::new(view_of(&l1_blocks[..7]));
    let mut driver = Driver::open(chain.store.clone(), &rollup).unwrap();
    driver.step(&mut chain.engine, &view, 1000).unwrap();
    assert_eq!(driver.safe().number, 0);
    let record = chain
        .store
        .reader()
        .unwrap()
        .last_derivation()
        .unwrap()
        .unwrap();
    assert_eq!(record.channel_start, Some(5));
    drop(driver);
    let mut driver = Driver::open(chain.store.clone(), &rollup).unwrap();
    let view = RwLock::new(view_of(&l1_blocks));
    for _ in 0..3 {
        driver.step(&mut chain.engine, &view, 1000).unwrap();
    }
    assert_eq!(driver.safe().number, 8);
    assert_same(&seq, &chain, 8);
}

#[test]
fn invalid_batches_are_dropped_and_the_valid_one_after_them_is_derived() {
    let mut l1_blocks = l1(12);
    let (seq, batches) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    let first = batches[0].clone();
    let with = |f: &dyn Fn(&mut Batch)| {
        let mut b = first.clone();
        f(&mut b);
        b
    };
    let deposit_tx = {
        let mut raw = vec![0x7e];
        raw.extend_from_slice(&[0xc0]);
        Bytes::from(raw)
    };
    let bad = [
        with(&|b| b.parent_hash = B256::repeat_byte(1)),
        with(&|b| b.epoch_hash = B256::repeat_byte(2)),
        with(&|b| b.epoch_number = 9),
        with(&|b| b.timestamp = GENESIS_TIME - 1),
        with(&|b| b.timestamp = GENESIS_TIME + 5000),
        with(&|b| b.transactions.push(Bytes::from_static(&[0x02, 0x01]))),
        with(&|b| b.transactions.push(deposit_tx.clone())),
    ];
    let mut data = Vec::new();
    for (i, b) in bad.iter().enumerate() {
        data.extend(calldata_of(std::slice::from_ref(b), 100 + i as u8));
    }
    data.push(Bytes::from_static(b"not a frame"));
    data.push(Bytes::new());
    data.extend(calldata_of(&batches, 1));
    l1_blocks[3].batcher_data = data;
    let (derived, driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 4);
    assert_same(&seq, &derived, 4);
}

#[test]
fn a_batch_past_its_window_is_dropped_and_derivation_builds_the_blocks_itself() {
    let mut l1_blocks = l1(12);
    let (seq, batches) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Window 3: the batches of epochs 0 and 1 may land up to L1 blocks 2 and 3.
    l1_blocks[6].batcher_data = calldata_of(&batches, 1);
    let (derived, driver) = derive(&l1_blocks, genesis, 3);
    // The forced blocks advance one epoch each, deposits only, until the window is open again.
    let reader = derived.store.reader().unwrap();
    assert!(
        driver.safe().number >= 8,
        "safe head {}",
        driver.safe().number
    );
    for n in 1..=driver.safe().number {
        let block = reader.block(n).unwrap().unwrap();
        let origin = origin_of(&block.txs).unwrap();
        assert_eq!(
            origin.number,
            n - 1,
            "each forced block takes the next epoch"
        );
        assert_eq!(origin.sequence_number, 0);
        assert!(
            block.txs.iter().all(|t| t.tx.is_deposit()),
            "no batch transactions"
        );
    }
    assert_ne!(
        reader.header(1).unwrap().unwrap().0,
        seq.store.reader().unwrap().header(1).unwrap().unwrap().0
    );
}

#[test]
fn a_sequencer_replaces_its_blocks_with_the_derived_ones() {
    let mut l1_blocks = l1(12);
    let (mut seq, batches) = sequence(4, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    // Only the first two batches land; the window then closes on the rest.
    l1_blocks[1].batcher_data = calldata_of(&batches[..2], 1);
    let view = RwLock::new(view_of(&l1_blocks));
    let mut driver = Driver::open(seq.store.clone(), &rollup(genesis, 3)).unwrap();
    let sealed_3 = seq.store.reader().unwrap().header(3).unwrap().unwrap().0;
    let out = driver.step(&mut seq.engine, &view, 1000).unwrap();
    assert!(driver.safe().number >= 4);
    // Blocks 1-2 stood; block 3 was replaced, and its transactions came back.
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
    let (seq, batches) = sequence(6, &l1_blocks);
    let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
    l1_blocks[2].batcher_data = calldata_of(&batches[..2], 1);
    l1_blocks[5].batcher_data = calldata_of(&batches[2..], 2);
    let (mut derived, mut driver) = derive(&l1_blocks, genesis, 100);
    assert_eq!(driver.safe().number, 6);
    // L1 blocks from 4 are replaced by blocks without the second channel.
    let mut fork = l1_blocks[..4].to_vec();
    let mut parent = fork[3].hash;
    for n in 4..12u64 {
        let block = L1Block {
            number: n,
            hash: keccak256([b"fork".as_slice(), &n.to_be_bytes()].concat()),
            parent_hash: parent,
            timestamp: GENESIS_TIME + n * 12 + 1,
            base_fee: 7,
            mix_hash: B256::ZERO,
            deposits: Vec::new(),
            batcher_data: Vec::new(),
        };
        parent = block.hash;
        fork.push(block);
    }
    let view = RwLock::new(view_of(&fork));
    for _ in 0..3 {
        driver.step(&mut derived.engine, &view, 1000).unwrap();
    }
    assert_eq!(
        driver.safe().number,
        2,
        "back to the blocks of the canonical channel"
    );
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

    /// Arbitrary bytes and mutated copies of the real calldata, from the batcher, before the
    /// real calldata (on a fresh channel id, as the batcher's resubmissions are): derivation
    /// never fails or panics, and the real batches are still derived.
    #[test]
    fn garbage_and_mutations_never_halt_derivation(
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..4),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..6),
    ) {
        let mut l1_blocks = l1(8);
        let (seq, batches) = sequence(3, &l1_blocks);
        let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
        let real = calldata_of(&batches, 1);
        let mut data: Vec<Bytes> = garbage.into_iter().map(Bytes::from).collect();
        for (index, byte, truncate) in mutations {
            let mut copy = real[0].to_vec();
            let i = index.index(copy.len());
            if truncate {
                copy.truncate(i);
            } else {
                copy[i] ^= byte.max(1);
            }
            data.push(copy.into());
        }
        data.extend(calldata_of(&batches, 2));
        l1_blocks[3].batcher_data = data;
        let (derived, driver) = derive(&l1_blocks, genesis, 100);
        prop_assert_eq!(driver.safe().number, 3);
        assert_same(&seq, &derived, 3);
    }
}
