//! The batch inbox (BatchInbox.sol, op-node/BATCHES.md v1) in the EVM beside its Rust twin
//! `bridge::inbox`: what it records, every rule it refuses an append by (with the contract's own
//! error and no change of state), the batcher-only and direct-call rules, epochs read through
//! the EIP-2935 history, forced epochs, and `blockInputs` opening every recorded block.

use std::collections::HashMap;

use alloy::consensus::Header;
use alloy::eips::eip2935::{HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE};
use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy::rlp;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use bridge::bindings::BatchInbox;
use bridge::inbox::{
    AppendData, AppendRecord, Appended, BlockData, Continuation, Inbox, InboxConfig, InboxError,
    InputsProof, L1Context, block_hash_readable,
};

use crate::harness::{BATCHER, DEPLOYER, L1, OTHER, Outcome, forwarder_code};

/// The L1 block the inbox is deployed in and its first block's epoch.
pub const GENESIS_EPOCH: u64 = 100;
pub const WINDOW: u64 = 10;
pub const DRIFT: u64 = 600;
pub const GENESIS_TIME: u64 = 1_700_000_000;

/// The timestamp of made-up L1 block `n` (12 s blocks).
pub fn l1_time(n: u64) -> u64 {
    GENESIS_TIME - 12 * GENESIS_EPOCH + 12 * n
}

/// The inbox on the test L1, with the made-up headers BLOCKHASH answers for, and the Rust
/// inbox that must agree with it after every call.
pub struct InboxChain {
    pub l1: L1,
    pub inbox: Address,
    pub rust: Inbox,
    headers: HashMap<u64, Bytes>,
    /// Every record stored: (index, first block, L1 block, the completed blocks' commitments).
    pub records: Vec<(u64, u64, u64, Vec<B256>)>,
    history_installed: bool,
}

impl InboxChain {
    pub fn new(window: u64) -> Self {
        let mut l1 = L1::new();
        let config = InboxConfig {
            first_block: 1,
            genesis_epoch: GENESIS_EPOCH,
            genesis_timestamp: GENESIS_TIME - 100,
            seq_window_size: window,
            max_sequencer_drift: DRIFT,
        };
        let inbox = deploy(&mut l1, BATCHER, &config);
        let mut chain = Self {
            l1,
            inbox,
            rust: Inbox::new(config),
            headers: HashMap::new(),
            records: Vec::new(),
            history_installed: false,
        };
        chain.seal_headers();
        chain
    }

    /// The RLP header of L1 block `n` (made up, hashing to what BLOCKHASH answers).
    pub fn header(&mut self, n: u64) -> Bytes {
        self.headers
            .entry(n)
            .or_insert_with(|| {
                let header = Header {
                    number: n,
                    timestamp: l1_time(n),
                    base_fee_per_gas: Some(1_000_000_000),
                    gas_limit: 30_000_000,
                    mix_hash: keccak256(n.to_be_bytes()),
                    ..Default::default()
                };
                Bytes::from(rlp::encode(&header))
            })
            .clone()
    }

    /// Gives BLOCKHASH the made-up hashes of the 256 blocks before the current one (and the
    /// history contract those of the last 8191, once installed).
    fn seal_headers(&mut self) {
        let now = self.l1.number();
        for n in now.saturating_sub(256)..now {
            let hash = keccak256(self.header(n));
            self.l1.set_block_hash(n, hash);
        }
        if self.history_installed {
            for n in now.saturating_sub(8191)..now {
                let hash = keccak256(self.header(n));
                self.l1.set_storage(
                    HISTORY_STORAGE_ADDRESS,
                    U256::from(n % 8191),
                    U256::from_be_bytes(hash.0),
                );
            }
        }
    }

    /// Moves the L1 on by `blocks`.
    pub fn advance(&mut self, blocks: u64) {
        self.l1.advance(blocks);
        self.seal_headers();
    }

    /// Runs `f` on the Rust inbox in the current L1 block; `history` says whether the EIP-2935
    /// contract serves the hashes older than 256 blocks.
    fn rust_at<T>(&mut self, history: bool, f: impl FnOnce(&mut Inbox, L1Context<'_>) -> T) -> T {
        let now = self.l1.number();
        let hashes: HashMap<u64, B256> = (now.saturating_sub(8191)..now)
            .filter(|n| history || now - n <= 256)
            .map(|n| (n, keccak256(self.header(n))))
            .collect();
        let lookup = |n: u64| {
            block_hash_readable(now, n)
                .then(|| hashes.get(&n).copied())
                .flatten()
        };
        f(
            &mut self.rust,
            L1Context {
                number: now,
                block_hash: &lookup,
            },
        )
    }

    /// Appends on both inboxes; panics unless they agree. Returns the outcome.
    pub fn append(&mut self, data: &AppendData) -> Result<Appended, InboxError> {
        self.append_raw(&data.encode())
    }

    pub fn append_raw(&mut self, data: &[u8]) -> Result<Appended, InboxError> {
        let call = BatchInbox::appendBlocksCall {
            data: Bytes::copy_from_slice(data),
        };
        let outcome = self.l1.send_with_gas(
            BATCHER,
            self.inbox,
            U256::ZERO,
            call.abi_encode(),
            30_000_000,
        );
        let rust = self.rust_at(self.has_history(), |inbox, ctx| inbox.append(data, ctx));
        self.agree(&outcome, &rust, true);
        rust
    }

    /// Forces the next epoch from OTHER (anyone) on both; panics unless they agree.
    pub fn force(&mut self, header: &Bytes) -> Result<Appended, InboxError> {
        let call = BatchInbox::forceNextEpochCall {
            originHeader: header.clone(),
        };
        let outcome = self
            .l1
            .send(OTHER, self.inbox, U256::ZERO, call.abi_encode());
        let rust = self.rust_at(self.has_history(), |inbox, ctx| {
            inbox.force_next_epoch(header, ctx)
        });
        self.agree(&outcome, &rust, false);
        rust
    }

    fn has_history(&self) -> bool {
        self.history_installed
    }

    /// Installs the EIP-2935 history contract (as a Prague genesis has it) holding the made-up
    /// hashes of the last 8191 blocks.
    pub fn install_history(&mut self) {
        self.l1
            .set_code(HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE.clone());
        self.history_installed = true;
        self.seal_headers();
    }

    /// The outcome on chain and in Rust agree: both succeed with the same event and state, or
    /// both refuse with the same error name (and the inbox's state is unchanged).
    #[track_caller]
    fn agree(&mut self, outcome: &Outcome, rust: &Result<Appended, InboxError>, append: bool) {
        match (outcome, rust) {
            (Outcome::Success { logs, .. }, Ok(appended)) => {
                let log = logs
                    .iter()
                    .find(|l| l.address == self.inbox)
                    .expect("an event");
                let (first, count, index, record) = if append {
                    let e = BatchInbox::BlocksAppended::decode_log(log).expect("BlocksAppended");
                    (e.firstBlock, e.count, e.appendIndex, e.record)
                } else {
                    let e = BatchInbox::EpochForced::decode_log(log).expect("EpochForced");
                    let last = appended.blocks.last().expect("a forced block").inputs;
                    assert_eq!((e.epoch, e.timestamp), (last.epoch, last.timestamp));
                    (e.firstBlock, e.count, e.appendIndex, e.record)
                };
                assert_eq!(first, appended.first);
                assert_eq!(count, appended.blocks.len() as u64);
                match appended.record {
                    Some(r) => {
                        assert_eq!(record, r.commitment(), "record");
                        assert_eq!(index, U256::from(self.records.len()));
                        let inputs = appended
                            .blocks
                            .iter()
                            .map(|b| b.inputs.commitment())
                            .collect();
                        self.records
                            .push((self.records.len() as u64, r.first, r.l1_block, inputs));
                    }
                    None => assert_eq!(record, B256::ZERO),
                }
            }
            (Outcome::Revert(data), Err(e)) => {
                assert_eq!(crate::harness::revert_name(data), e.name(), "{e}");
            }
            (outcome, rust) => panic!(
                "chain {outcome:?} but Rust {:?}",
                rust.as_ref().map(|a| (a.first, a.blocks.len()))
            ),
        }
        self.assert_same_state();
    }

    /// The contract's `inboxState()` is the Rust inbox's state.
    #[track_caller]
    pub fn assert_same_state(&mut self) {
        let s = self.l1.view(self.inbox, BatchInbox::inboxStateCall {});
        let r = self.rust.state();
        assert_eq!(s.nextBlock, r.next_block);
        assert_eq!(s.timestamp, r.timestamp);
        assert_eq!(s.epoch, r.epoch);
        assert_eq!(s.sequenceNumber, r.sequence_number);
        assert_eq!(s.epochHash, r.epoch_hash);
        assert_eq!(s.epochTimestamp, r.epoch_timestamp);
        assert_eq!(s.started, r.started);
        assert_eq!(s.open, r.open.is_some());
        assert_eq!(
            u64::from(s.openTxCount),
            r.open.as_ref().map_or(0, |o| o.tree.count())
        );
        let open = self.l1.view(self.inbox, BatchInbox::openBlockCall {});
        match &r.open {
            Some(o) => {
                assert_eq!(open.frontierHash, o.tree.frontier_hash());
                assert_eq!(open.txRoot, o.tree.root());
            }
            None => assert_eq!((open.frontierHash, open.txRoot), (B256::ZERO, B256::ZERO)),
        }
        let forcible = self.l1.view(self.inbox, BatchInbox::forcibleFromCall {});
        assert_eq!(forcible, self.rust.forcible_from());
    }

    /// `blockInputs` opens every recorded block to its commitment and its record's L1 block, and
    /// refuses a proof for the wrong block or with a changed sibling.
    pub fn check_every_opening(&mut self) {
        let count = self.l1.view(self.inbox, BatchInbox::appendCountCall {});
        assert_eq!(count, U256::from(self.records.len()));
        for (index, first, l1_block, inputs) in self.records.clone() {
            for (i, leaf) in inputs.iter().enumerate() {
                let number = first + i as u64;
                let proof = InputsProof::new(index, first, l1_block, &inputs, number).unwrap();
                let opened = self.l1.view(
                    self.inbox,
                    BatchInbox::blockInputsCall {
                        number: U256::from(number),
                        proof: proof.encode(),
                    },
                );
                assert_eq!((opened.inputs, opened.l1Block), (*leaf, l1_block));
                let wrong_block = self.l1.try_view(
                    self.inbox,
                    BatchInbox::blockInputsCall {
                        number: U256::from(number + inputs.len() as u64),
                        proof: proof.encode(),
                    },
                );
                assert_eq!(wrong_block.reverted(), "BadInputsProof");
                let mut bad = proof.clone();
                bad.siblings[(number as usize) % 32] ^= B256::with_last_byte(1);
                let tampered = self.l1.try_view(
                    self.inbox,
                    BatchInbox::blockInputsCall {
                        number: U256::from(number),
                        proof: bad.encode(),
                    },
                );
                assert_eq!(tampered.reverted(), "BadInputsProof");
            }
        }
    }
}

/// Deploys a BatchInbox with `batcher` and the parameters of `config`.
pub fn deploy(l1: &mut L1, batcher: Address, config: &InboxConfig) -> Address {
    l1.deploy(
        DEPLOYER,
        "BatchInbox",
        &(
            batcher,
            config.first_block,
            config.genesis_epoch,
            config.genesis_timestamp,
            config.seq_window_size,
            config.max_sequencer_drift,
        )
            .abi_encode_params(),
    )
}

/// Plans valid blocks after the Rust inbox's state (and after the blocks already planned).
pub struct Planner {
    pub epoch: u64,
    pub timestamp: u64,
    pub epoch_timestamp: u64,
    pub started: bool,
}

impl Planner {
    pub fn new(chain: &InboxChain) -> Self {
        let s = chain.rust.state();
        Self {
            epoch: s.epoch,
            timestamp: s.timestamp,
            epoch_timestamp: s.epoch_timestamp,
            started: s.started,
        }
    }

    /// The next block: it advances the epoch if asked and L1 allows (the new epoch before the
    /// current L1 block), `gap` seconds after the last (kept within the drift).
    pub fn block(
        &mut self,
        chain: &mut InboxChain,
        advance: bool,
        gap: u64,
        txs: Vec<Bytes>,
    ) -> BlockData {
        let header = if !self.started {
            self.started = true;
            chain.header(self.epoch)
        } else if advance && self.epoch + 1 < chain.l1.number() {
            self.epoch += 1;
            chain.header(self.epoch)
        } else {
            Bytes::new()
        };
        if !header.is_empty() {
            self.epoch_timestamp = l1_time(self.epoch);
        }
        self.timestamp = (self.timestamp + gap)
            .max(self.epoch_timestamp)
            .min(self.epoch_timestamp + DRIFT);
        BlockData {
            timestamp: self.timestamp,
            epoch: self.epoch,
            header,
            transactions: txs,
        }
    }
}

/// A transaction-like byte string of `len` bytes (never a deposit's type byte).
pub fn tx(seed: u64, len: usize) -> Bytes {
    let mut bytes: Vec<u8> = (0..len.max(1))
        .map(|i| keccak256((seed * 104_729 + i as u64).to_be_bytes())[0])
        .collect();
    if bytes[0] == 0x7e {
        bytes[0] = 0x02;
    }
    bytes.into()
}

fn whole(first: u64, blocks: Vec<BlockData>) -> AppendData {
    AppendData {
        first_block: first,
        keep_open: false,
        continuation: None,
        blocks,
    }
}

#[test]
fn appends_record_blocks_and_every_block_opens() {
    let mut chain = InboxChain::new(WINDOW);
    chain.advance(2);
    let mut plan = Planner::new(&chain);
    let blocks = vec![
        plan.block(&mut chain, false, 0, vec![tx(1, 120), tx(2, 1)]),
        plan.block(&mut chain, false, 0, vec![]),
        plan.block(&mut chain, true, 3, vec![tx(3, 300)]),
    ];
    let out = chain.append(&whole(1, blocks.clone())).unwrap();
    assert_eq!(out.blocks.len(), 3);
    assert_eq!(out.blocks[2].inputs.sequence_number, 0);
    assert_eq!(out.blocks[1].inputs.sequence_number, 1);
    for (recorded, sent) in out.blocks.iter().zip(&blocks) {
        assert_eq!(recorded.transactions, sent.transactions);
    }
    chain.advance(1);
    let mut plan = Planner::new(&chain);
    let more: Vec<BlockData> = (0..5)
        .map(|i| {
            plan.block(
                &mut chain,
                i % 2 == 0,
                1,
                (0..i).map(|j| tx(10 * i + j, 50)).collect(),
            )
        })
        .collect();
    chain.append(&whole(4, more)).unwrap();
    chain.check_every_opening();
}

#[test]
fn every_rule_reverts_with_its_error_and_changes_nothing() {
    let mut chain = InboxChain::new(WINDOW);
    chain.advance(3);
    let mut plan = Planner::new(&chain);
    let good = vec![
        plan.block(&mut chain, false, 0, vec![tx(1, 80), tx(2, 80)]),
        plan.block(&mut chain, true, 5, vec![tx(3, 80)]),
        plan.block(&mut chain, false, 1, vec![]),
    ];
    let h101 = chain.header(GENESIS_EPOCH + 1);
    let h102 = chain.header(GENESIS_EPOCH + 2);
    let with = |f: &dyn Fn(&mut Vec<BlockData>)| {
        let mut b = good.clone();
        f(&mut b);
        whole(1, b)
    };
    let cases: Vec<(AppendData, &str)> = vec![
        (whole(2, good.clone()), "WrongFirstBlock"),
        (with(&|b| b[0].epoch += 1), "EpochNotNext"),
        (with(&|b| b[2].epoch += 2), "EpochNotNext"),
        (with(&|b| b[1].header = Bytes::new()), "HeaderMissing"),
        (with(&|b| b[2].header = h101.clone()), "UnexpectedHeader"),
        (with(&|b| b[1].header = h102.clone()), "HeaderMismatch"),
        (
            with(&|b| b[2].timestamp = b[1].timestamp - 1),
            "TimestampBeforeParent",
        ),
        (
            with(&|b| b[1].timestamp = l1_time(GENESIS_EPOCH + 1) - 1),
            "TimestampBeforeOrigin",
        ),
        (
            with(&|b| b[0].timestamp = l1_time(GENESIS_EPOCH) + DRIFT + 1),
            "SequencerDrift",
        ),
        (
            with(&|b| b[0].transactions[1] = Bytes::new()),
            "EmptyTransaction",
        ),
        (
            with(&|b| b[1].transactions[0] = Bytes::from_static(&[0x7e, 0xc0])),
            "DepositTransaction",
        ),
        (
            AppendData {
                continuation: Some(Continuation::default()),
                ..whole(1, good.clone())
            },
            "ContinuationMismatch",
        ),
    ];
    for (append, name) in cases {
        let refused = chain.append(&append).expect_err(name);
        assert_eq!(refused.name(), name);
    }
    let mut data = whole(1, good.clone()).encode();
    data.pop();
    assert_eq!(chain.append_raw(&data), Err(InboxError::Truncated));
    data = whole(1, good.clone()).encode();
    data[8] = 0x04;
    assert_eq!(chain.append_raw(&data), Err(InboxError::BadFlags(4)));
    assert_eq!(chain.append_raw(&data[..9]), Err(InboxError::BadFlags(4)));
    data[8] = 0;
    assert_eq!(chain.append_raw(&data[..9]), Err(InboxError::EmptyAppend));
    // Too early: the second epoch is not before the current L1 block.
    let mut early = InboxChain::new(WINDOW);
    early.advance(1);
    let mut plan = Planner::new(&early);
    let first = plan.block(&mut early, false, 0, vec![]);
    let mut second = plan.block(&mut early, false, 0, vec![]);
    second.epoch = GENESIS_EPOCH + 1;
    second.header = early.header(GENESIS_EPOCH + 1);
    let refused = early.append(&whole(1, vec![first, second])).unwrap_err();
    assert_eq!(refused, InboxError::EpochInFuture(GENESIS_EPOCH + 1));
    // Too late: the genesis epoch's window has closed.
    chain.advance(WINDOW);
    let refused = chain.append(&whole(1, good)).unwrap_err();
    assert_eq!(refused, InboxError::WindowClosed(GENESIS_EPOCH));
    assert_eq!(chain.rust.state().next_block, 1, "nothing was recorded");
}

#[test]
fn only_the_batcher_calling_directly_may_append() {
    let mut chain = InboxChain::new(WINDOW);
    chain.advance(2);
    let mut plan = Planner::new(&chain);
    let data: Bytes = whole(1, vec![plan.block(&mut chain, false, 0, vec![tx(1, 10)])])
        .encode()
        .into();
    let call = BatchInbox::appendBlocksCall { data: data.clone() }.abi_encode();
    let other = chain.l1.send(OTHER, chain.inbox, U256::ZERO, call.clone());
    assert_eq!(other.reverted(), "NotBatcher");
    // A batcher behind an EIP-7702 delegation: derivation could not read its calldata.
    chain.l1.delegate(BATCHER, Address::repeat_byte(0x55));
    let delegated = chain
        .l1
        .send(BATCHER, chain.inbox, U256::ZERO, call.clone());
    assert_eq!(delegated.reverted(), "NotDirectCall");
    // A contract batcher, called by an EOA.
    let forwarder = address!("0x2000000000000000000000000000000000000009");
    let config = *chain.rust.config();
    let inbox = deploy(&mut chain.l1, forwarder, &config);
    chain.l1.set_code(forwarder, forwarder_code(inbox));
    let through = chain.l1.send(OTHER, forwarder, U256::ZERO, call);
    assert!(!through.is_success(), "a contract may not append");
}

#[test]
fn epochs_older_than_256_blocks_are_read_from_the_eip2935_history() {
    let mut chain = InboxChain::new(1_000);
    chain.advance(300);
    let mut plan = Planner::new(&chain);
    let block = plan.block(&mut chain, false, 0, vec![tx(1, 10)]);
    let refused = chain.append(&whole(1, vec![block.clone()])).unwrap_err();
    assert_eq!(refused, InboxError::EpochHashUnavailable(GENESIS_EPOCH));
    chain.install_history();
    let out = chain.append(&whole(1, vec![block])).unwrap();
    assert_eq!(
        out.blocks[0].inputs.epoch_hash,
        keccak256(chain.header(GENESIS_EPOCH))
    );
    chain.check_every_opening();
}

#[test]
fn a_block_left_open_continues_from_its_frontier_and_only_from_it() {
    let mut chain = InboxChain::new(WINDOW);
    chain.advance(2);
    let mut plan = Planner::new(&chain);
    let txs: Vec<Bytes> = (0..7).map(|i| tx(i, 40 + i as usize)).collect();
    let block = plan.block(&mut chain, false, 0, txs.clone());
    let mut head = block.clone();
    head.transactions.truncate(5);
    let opened = chain
        .append(&AppendData {
            keep_open: true,
            ..whole(1, vec![head])
        })
        .unwrap();
    assert!(opened.blocks.is_empty() && opened.record.is_none());
    let frontier = chain.rust.state().open.as_ref().unwrap().tree.frontier();
    let continuation = |tx_done: u32, frontier: Vec<B256>| AppendData {
        first_block: 1,
        keep_open: false,
        continuation: Some(Continuation {
            tx_done,
            frontier,
            transactions: txs[5..].to_vec(),
        }),
        blocks: vec![],
    };
    // Not flagged as a continuation, a wrong count, a wrong frontier word.
    let unflagged = whole(1, vec![block.clone()]);
    assert_eq!(
        chain.append(&unflagged).unwrap_err().name(),
        "ContinuationMismatch"
    );
    assert_eq!(
        chain.append(&continuation(4, frontier[..1].to_vec())),
        Err(InboxError::FrontierMismatch)
    );
    let mut wrong = frontier.clone();
    wrong[0] ^= B256::with_last_byte(1);
    assert_eq!(
        chain.append(&continuation(5, wrong)),
        Err(InboxError::FrontierMismatch)
    );
    chain.advance(1);
    let closed = chain.append(&continuation(5, frontier)).unwrap();
    assert_eq!(closed.blocks.len(), 1);
    assert_eq!(closed.blocks[0].transactions, txs);
    assert_eq!(
        closed.blocks[0].inputs.tx_root,
        bridge::inbox::tx_root(&txs)
    );
    chain.check_every_opening();
}

#[test]
fn anyone_forces_a_stalled_epoch_and_an_open_block_is_closed_as_it_stands() {
    let mut chain = InboxChain::new(WINDOW);
    chain.advance(2);
    let mut plan = Planner::new(&chain);
    let block = plan.block(&mut chain, false, 0, vec![tx(1, 30), tx(2, 30)]);
    chain
        .append(&AppendData {
            keep_open: true,
            ..whole(1, vec![block.clone()])
        })
        .unwrap();
    let header = chain.header(GENESIS_EPOCH + 1);
    assert_eq!(
        chain.force(&header),
        Err(InboxError::WindowOpen(GENESIS_EPOCH + WINDOW))
    );
    let to_window = GENESIS_EPOCH + WINDOW - chain.l1.number();
    chain.advance(to_window);
    let wrong = chain.header(GENESIS_EPOCH + 2);
    assert_eq!(
        chain.force(&wrong),
        Err(InboxError::HeaderMismatch(GENESIS_EPOCH + 1))
    );
    let forced = chain.force(&header).unwrap();
    assert_eq!(forced.blocks.len(), 2);
    assert_eq!(forced.blocks[0].transactions, block.transactions);
    assert!(forced.blocks[1].transactions.is_empty());
    let next_header = chain.header(GENESIS_EPOCH + 2);
    assert_eq!(
        chain.force(&next_header),
        Err(InboxError::WindowOpen(GENESIS_EPOCH + 1 + WINDOW)),
        "the forced epoch has its own window"
    );
    // The sequencer resumes after the forced blocks.
    let mut plan = Planner::new(&chain);
    let next = plan.block(&mut chain, true, 0, vec![tx(9, 9)]);
    chain.append(&whole(3, vec![next])).unwrap();
    chain.check_every_opening();
}

/// A record with a first block of its own is opened only at its own blocks.
#[test]
fn inputs_proofs_match_the_rust_records() {
    let inputs: Vec<B256> = (0..3u64).map(|i| keccak256(i.to_be_bytes())).collect();
    let record = AppendRecord::new(9, 5, &inputs);
    let proof = InputsProof::new(0, 9, 5, &inputs, 10).unwrap();
    assert_eq!(proof.opened_record(10), Some(record.commitment()));
}
