//! Differential tests of the step verifier against revm (SPEC.md §10).
//!
//! Random programs built from the v0.1 opcodes run in real revm (Prague) under the trace
//! inspector. For every step k: the proof built from state k verifies against commit(state_k) and
//! yields commit(state_{k+1}) as read from revm; tampered proofs are rejected; the final status,
//! halt reason and gas equal revm's.

use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address};
use fraud_vm::mpt::{BaseAccount, BaseState};
use fraud_vm::step::{Halt, info};
use fraud_vm::trace::{Position, StateAt, Tracer};
use fraud_vm::world::WorldState;
use fraud_vm::{FullState, Status, StepProof, VerifyError, prove, verify};
use proptest::prelude::*;
use revm::context::result::{ExecutionResult, HaltReason, OutOfGasError};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::inspector::InspectEvm;
use revm::interpreter::InstructionResult;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, MainBuilder, MainContext};
use std::collections::BTreeMap;
use std::sync::Arc;

#[path = "differential/op_blocks.rs"]
mod op_blocks;
/// The Solidity one-step verifier run in revm against the Rust verifier.
#[path = "differential/solidity.rs"]
mod solidity;

/// The sender of every case: the address of the secp256k1 key [`CALLER_KEY`] (the transaction
/// start step recovers it from the signed encoding).
/// The hex field `field` (`bytecode`, `deployedBytecode`) of the committed artifact at `path`,
/// relative to the workspace root (`fraud-vm/artifacts/…`, `bridge/artifacts/…`).
fn artifact_field(path: &str, field: &str) -> Vec<u8> {
    let path = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let key = format!("\"{field}\"");
    let at = json.find(&key).expect("field");
    let start = at + json[at..].find("\"0x").expect("hex") + 3;
    let end = start + json[start..].find('"').expect("end of hex");
    alloy::primitives::hex::decode(&json[start..end]).expect("hex")
}

const CALLER: Address = address!("0xfA17c5B66A985F44Bc249C8E8faBD64767f414B1");
const CALLER_KEY: [u8; 32] = [0x51; 32];
/// Chain id of the cases' L1-like chain (revm's default).
const CHAIN_ID: u64 = 1;
const TARGET: Address = address!("0x2000000000000000000000000000000000000002");
const COINBASE: Address = address!("0x3000000000000000000000000000000000000003");
/// An externally owned account with a balance.
const EOA: Address = address!("0x4000000000000000000000000000000000000004");
/// A contract with code and storage.
const CONTRACT: Address = address!("0x5000000000000000000000000000000000000005");
/// An address no account holds.
const ABSENT: Address = address!("0x000000000000000000000000000000000000dead");
/// Addresses that world-reading opcodes are pointed at.
const ADDRESSES: &[Address] = &[
    CALLER,
    DELEGATED,
    TARGET,
    COINBASE,
    EOA,
    CONTRACT,
    ABSENT,
    address!("0x0000000000000000000000000000000000000001"),
    address!("0x0000000000000000000000000000000000000004"),
];
/// A contract that stores, logs and returns 64 bytes (the first calldata word and 42).
const RETURNER: Address = address!("0x6000000000000000000000000000000000000006");
/// A contract that stores, writes transient storage, logs, sends value and reverts with data.
const REVERTER: Address = address!("0x7000000000000000000000000000000000000007");
/// A contract that stores and then halts with INVALID.
const HALTER: Address = address!("0x8000000000000000000000000000000000000008");
/// A contract that calls itself with all its gas, as deep as gas allows.
const RECURSER: Address = address!("0x9000000000000000000000000000000000000009");
/// An EIP-7702 delegated account whose code is a designator pointing to [`RETURNER`].
const DELEGATED: Address = address!("0xd00000000000000000000000000000000000000d");
const GAS_PRICE: u128 = 10;

/// The callee contracts and their code.
fn callees() -> Vec<(Address, Vec<u8>)> {
    let u = U256::from;
    vec![
        (
            RETURNER,
            program(&[
                (0x55, &[u(2), u(5)]),
                (0x35, &[u(0)]),
                (0x52, &[u(0)]),
                (0x52, &[u(32), u(42)]),
                (0xa1, &[u(0), u(40), u(7)]),
                (0xf3, &[u(0), u(64)]),
            ]),
        ),
        (
            REVERTER,
            program(&[
                (0x55, &[u(1), u(0)]),
                (0x5d, &[u(1), u(9)]),
                (0xa0, &[u(0), u(3)]),
                (0xf1, &[u(5000), addr(EOA), u(1), u(0), u(0), u(0), u(0)]),
                (0x50, &[]),
                (0x52, &[u(0), u(0xdead)]),
                (0xfd, &[u(16), u(20)]),
            ]),
        ),
        (HALTER, program(&[(0x55, &[u(3), u(3)]), (0xfe, &[])])),
        (
            RECURSER,
            program(&[
                (0x55, &[u(4), u(4)]),
                (0x5a, &[addr(RECURSER), u(0), u(0), u(0), u(0), u(0)]),
                (0xf1, &[]),
                (0x00, &[]),
            ]),
        ),
    ]
}

const BLOCK_NUMBER: u64 = 300;
/// Gas used and receipt chain of the block's transactions before the traced one.
const BLOCK_GAS_BEFORE: u64 = 1_234_567;
const RECEIPTS_BEFORE: B256 = B256::repeat_byte(0x11);

/// One transaction's inputs.
#[derive(Clone, Debug)]
struct Case {
    code: Vec<u8>,
    calldata: Vec<u8>,
    value: u64,
    extra_gas: u64,
    /// Send as an EIP-4844 transaction with two blob hashes (BLOBHASH reads them).
    blobs: bool,
    /// Storage of the target before the transaction.
    storage: Vec<(u64, u64)>,
    /// Balance of the target before the transaction.
    balance: u64,
    /// More accounts before the transaction (real contracts).
    extra: Vec<(Address, BaseAccount)>,
    /// The transaction's recipient.
    to: Address,
    /// Send as an EIP-1559 transaction (fee cap above the effective price) with the access list
    /// `list`.
    eip1559: bool,
    /// The access list of an EIP-1559 case: [`access_list`] unless a test widens it.
    list: Arc<Vec<(Address, Vec<U256>)>>,
    /// Send as a creation transaction whose initcode is `calldata` (then `to` must be the
    /// address it creates).
    create: bool,
}

/// The versioned hashes of blob cases.
fn blob_hashes() -> Vec<B256> {
    vec![B256::repeat_byte(0x01), {
        let mut h = B256::repeat_byte(0xbb);
        h[0] = 0x01;
        h
    }]
}

/// The access list of EIP-1559 cases: two slots of the target, a contract, an EOA's slot.
fn access_list() -> Vec<(Address, Vec<U256>)> {
    vec![
        (TARGET, vec![U256::from(1), U256::from(4)]),
        (CONTRACT, vec![]),
        (EOA, vec![U256::from(7)]),
    ]
}

/// Fee cap and priority fee of EIP-1559 cases (effective price: base fee 7 + 1).
const MAX_FEE: u128 = 20;
const PRIORITY_FEE: u128 = 1;

impl Case {
    fn program(code: &[u8]) -> Self {
        Self {
            code: code.to_vec(),
            calldata: vec![1, 2, 3, 4, 5],
            value: 1,
            extra_gas: 100_000,
            blobs: false,
            storage: vec![(1, 1), (2, 2)],
            balance: 1000,
            extra: Vec::new(),
            to: TARGET,
            eip1559: false,
            list: Arc::new(access_list()),
            create: false,
        }
    }

    /// The block's transactions: three others (opaque encodings no test starts), then this
    /// one at index 3.
    fn transactions(&self) -> fraud_vm::tx::Transactions {
        let mut records: Vec<fraud_vm::tx::TxRecord> = (0..3u8)
            .map(|i| fraud_vm::tx::TxRecord {
                encoded: vec![0xc1, i],
                ..Default::default()
            })
            .collect();
        records.push(self.record(0));
        fraud_vm::tx::Transactions::new(records)
    }

    /// The transaction of this case with the sender's nonce `nonce`, signed by [`CALLER_KEY`]
    /// and decoded as the transaction start step decodes it.
    fn record(&self, nonce: u64) -> fraud_vm::tx::TxRecord {
        fraud_vm::tx::decode(
            &self.encoding(nonce),
            fraud_vm::state::Rules::Prague,
            U256::from(CHAIN_ID),
        )
        .expect("a valid transaction")
    }

    /// The EIP-2718 encoding of the transaction [`revm_tx`] runs: EIP-4844 with blobs, else
    /// EIP-1559 with the access list, else legacy (EIP-155).
    fn encoding(&self, nonce: u64) -> Vec<u8> {
        use alloy::consensus::{SignableTransaction, TxEip1559, TxEip4844, TxLegacy};
        use alloy::eips::eip2718::Encodable2718;
        use alloy::network::TxSignerSync;
        let key = alloy::signers::local::PrivateKeySigner::from_bytes(&B256::from(CALLER_KEY))
            .expect("key");
        let kind = if self.create {
            TxKind::Create
        } else {
            TxKind::Call(self.to)
        };
        let input = Bytes::from(self.calldata.clone());
        let value = U256::from(self.value);
        let gas_limit = gas_limit(self);
        fn signed<T: SignableTransaction<alloy::primitives::Signature>>(
            mut tx: T,
            key: &alloy::signers::local::PrivateKeySigner,
        ) -> alloy::consensus::Signed<T> {
            let sig = key.sign_transaction_sync(&mut tx).expect("signs");
            tx.into_signed(sig)
        }
        if self.blobs {
            let tx = TxEip4844 {
                chain_id: CHAIN_ID,
                nonce,
                gas_limit,
                max_fee_per_gas: GAS_PRICE,
                max_priority_fee_per_gas: 1,
                to: self.to,
                value,
                access_list: Default::default(),
                blob_versioned_hashes: blob_hashes(),
                max_fee_per_blob_gas: 1,
                input,
            };
            return alloy::consensus::TxEnvelope::from(signed(tx, &key)).encoded_2718();
        }
        if self.eip1559 {
            use alloy::eips::eip2930::{AccessList, AccessListItem};
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce,
                gas_limit,
                max_fee_per_gas: MAX_FEE,
                max_priority_fee_per_gas: PRIORITY_FEE,
                to: kind,
                value,
                access_list: AccessList(
                    self.list
                        .iter()
                        .cloned()
                        .map(|(address, keys)| AccessListItem {
                            address,
                            storage_keys: keys.into_iter().map(B256::from).collect(),
                        })
                        .collect(),
                ),
                input,
            };
            return signed(tx, &key).encoded_2718();
        }
        let tx = TxLegacy {
            chain_id: Some(CHAIN_ID),
            nonce,
            gas_price: GAS_PRICE,
            gas_limit,
            to: kind,
            value,
            input,
        };
        signed(tx, &key).encoded_2718()
    }

    /// The accounts before the transaction (the block's base state).
    fn genesis(&self) -> BTreeMap<Address, BaseAccount> {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            CALLER,
            BaseAccount {
                balance: U256::from(10u128.pow(30)),
                ..Default::default()
            },
        );
        accounts.insert(
            TARGET,
            BaseAccount {
                nonce: 1,
                balance: U256::from(self.balance),
                code: self.code.clone(),
                storage: self
                    .storage
                    .iter()
                    .filter(|(_, v)| *v != 0)
                    .map(|(k, v)| (U256::from(*k), U256::from(*v)))
                    .collect(),
            },
        );
        accounts.insert(
            EOA,
            BaseAccount {
                nonce: 3,
                balance: U256::from(5),
                ..Default::default()
            },
        );
        accounts.insert(
            CONTRACT,
            BaseAccount {
                nonce: 1,
                code: vec![0x60, 0x01, 0x5f, 0x55, 0x00],
                storage: [(U256::from(1), U256::from(7))].into(),
                ..Default::default()
            },
        );
        for (address, account) in &self.extra {
            accounts.insert(*address, account.clone());
        }
        accounts.insert(
            DELEGATED,
            BaseAccount {
                nonce: 2,
                balance: U256::from(4),
                code: [&[0xef, 0x01, 0x00][..], RETURNER.as_slice()].concat(),
                storage: [(U256::from(2), U256::from(3))].into(),
            },
        );
        // The EIP-2935 history contract holds the hashes of the 300 blocks before this one,
        // as revm's database gives them to BLOCKHASH (one more than its window).
        accounts.insert(
            alloy::eips::eip2935::HISTORY_STORAGE_ADDRESS,
            BaseAccount {
                nonce: 1,
                code: alloy::eips::eip2935::HISTORY_STORAGE_CODE.to_vec(),
                storage: (BLOCK_NUMBER - 300..BLOCK_NUMBER)
                    .map(|n| {
                        (
                            U256::from(n % 8191),
                            U256::from_be_bytes(revm_block_hash(n).0),
                        )
                    })
                    .collect(),
                ..Default::default()
            },
        );
        for (address, code) in callees() {
            accounts.insert(
                address,
                BaseAccount {
                    nonce: 1,
                    balance: U256::from(3),
                    code,
                    storage: [(U256::from(1), U256::from(7))].into(),
                },
            );
        }
        accounts
    }
}

/// What a run observed.
#[derive(Debug, Default)]
struct Observed {
    steps: u64,
    failures: Vec<String>,
    last_halt: Option<Halt>,
    opcodes: Vec<u8>,
    /// Opcodes of steps that completed without halting.
    completed: Vec<u8>,
    /// (opcode, encoded proof size) of every step.
    proof_sizes: Vec<(String, usize)>,
    /// The world of the terminal state.
    world: Option<WorldState>,
    /// Frame exit steps verified.
    exits: u64,
    /// Transaction end steps verified.
    tx_ends: u64,
    /// Transaction start steps verified.
    tx_starts: u64,
    /// Pre-commitments and encoded proofs of the transaction start and end steps.
    boundary_proofs: Vec<(B256, Vec<u8>)>,
    /// Status of the top frame's terminal state.
    status: Option<Status>,
    /// The top frame's terminal state.
    terminal: Option<FullState>,
    /// Deepest frame reached.
    max_depth: u64,
}

/// Pseudo-opcode under which frame exit steps are counted.
const EXIT: u8 = 0xef;

fn intrinsic_and_floor(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = calldata.len() as u64 - zeros;
    let intrinsic = 21_000 + 4 * zeros + 16 * nonzeros;
    let floor = 21_000 + 10 * (zeros + 4 * nonzeros);
    intrinsic.max(floor)
}

fn gas_limit(case: &Case) -> u64 {
    let list = if case.eip1559 {
        case.list
            .iter()
            .map(|(_, k)| 2400 + 1900 * k.len() as u64)
            .sum()
    } else {
        0
    };
    let create = if case.create {
        32_000 + 2 * (case.calldata.len() as u64).div_ceil(32)
    } else {
        0
    };
    intrinsic_and_floor(&case.calldata) + list + create + case.extra_gas
}

/// The hash revm's empty database gives block `n` (BLOCKHASH), which the cases' history
/// contract holds.
fn revm_block_hash(n: u64) -> B256 {
    alloy::primitives::keccak256(n.to_string().as_bytes())
}

/// The block constants of the cases' block: its transaction count (the other fields no
/// transaction step reads).
fn constants(txs: &fraud_vm::tx::Transactions) -> Arc<fraud_vm::state::BlockConstants> {
    Arc::new(fraud_vm::state::BlockConstants {
        tx_count: txs.len() as u64,
        ..Default::default()
    })
}

/// Runs `case` in revm with a tracer calling `on_state`.
/// Where a traced transaction sits in its block, and the chain before it: revm's database, the
/// Idle world, the sender's nonce, the block's gas and receipts so far, the transaction list.
struct Slot {
    db: CacheDB<EmptyDB>,
    /// The world of the Idle state before the transaction.
    world: WorldState,
    index: u64,
    nonce: u64,
    gas_before: u64,
    receipts_before: B256,
    txs: Arc<fraud_vm::tx::Transactions>,
}

impl Slot {
    /// The case as transaction 3 of a block whose pre-state is the case's genesis.
    fn fresh(case: &Case) -> Self {
        let genesis = case.genesis();
        let mut db = CacheDB::<EmptyDB>::default();
        for (address, acc) in &genesis {
            let mut info = AccountInfo::default()
                .with_balance(acc.balance)
                .with_nonce(acc.nonce);
            if !acc.code.is_empty() {
                info = info.with_code(Bytecode::new_raw(Bytes::from(acc.code.clone())));
            }
            db.insert_account_info(*address, info);
            for (k, v) in &acc.storage {
                db.insert_account_storage(*address, *k, *v)
                    .expect("cache db");
            }
        }
        Self {
            db,
            world: WorldState::at_block_start(Arc::new(BaseState::new(genesis))),
            index: 3,
            nonce: 0,
            gas_before: BLOCK_GAS_BEFORE,
            receipts_before: RECEIPTS_BEFORE,
            txs: Arc::new(case.transactions()),
        }
    }
}

/// The revm transaction of `case` with the sender's nonce `nonce`.
fn revm_tx(case: &Case, nonce: u64) -> TxEnv {
    let mut tx = TxEnv::builder();
    if case.blobs {
        tx = tx
            .tx_type(Some(3))
            .gas_priority_fee(Some(1))
            .max_fee_per_blob_gas(1)
            .blob_hashes(blob_hashes());
    }
    if case.eip1559 && !case.blobs {
        use revm::context_interface::transaction::{AccessList, AccessListItem};
        tx = tx
            .tx_type(Some(2))
            .gas_priority_fee(Some(PRIORITY_FEE))
            .access_list(AccessList(
                case.list
                    .iter()
                    .cloned()
                    .map(|(address, keys)| AccessListItem {
                        address,
                        storage_keys: keys.into_iter().map(B256::from).collect(),
                    })
                    .collect(),
            ));
    }
    tx.caller(CALLER)
        .nonce(nonce)
        .kind(if case.create {
            TxKind::Create
        } else {
            TxKind::Call(case.to)
        })
        .gas_limit(gas_limit(case))
        .gas_price(if case.eip1559 && !case.blobs {
            MAX_FEE
        } else {
            GAS_PRICE
        })
        .value(U256::from(case.value))
        .data(Bytes::from(case.calldata.clone()))
        .build()
        .expect("valid tx")
}

/// Runs `case` as a fresh block's transaction 3 (see [`run_in`]).
fn run(
    case: &Case,
    on_state: impl FnMut(u64, &mut FullState),
) -> (
    ExecutionResult,
    fraud_vm::trace::TraceSummary,
    revm::state::EvmState,
) {
    run_in(&mut Slot::fresh(case), case, on_state)
}

/// Runs `case` in revm at `slot` with a tracer calling `on_state`, and commits its state to the
/// slot's database.
fn run_in(
    slot: &mut Slot,
    case: &Case,
    on_state: impl FnMut(u64, &mut FullState),
) -> (
    ExecutionResult,
    fraud_vm::trace::TraceSummary,
    revm::state::EvmState,
) {
    run_within(slot, case, (0, u64::MAX), on_state)
}

/// [`run_in`] with a tracer that hands out the states of `window` (and the terminal state of
/// the top frame) alone ([`Tracer::within`]).
fn run_within(
    slot: &mut Slot,
    case: &Case,
    window: (u64, u64),
    on_state: impl FnMut(u64, &mut FullState),
) -> (
    ExecutionResult,
    fraud_vm::trace::TraceSummary,
    revm::state::EvmState,
) {
    let mut world = slot.world.clone();
    let (mut warm, mut slots) = (vec![CALLER, case.to, COINBASE], Vec::new());
    if case.eip1559 {
        for (a, keys) in case.list.iter() {
            warm.push(*a);
            slots.extend(keys.iter().map(|k| (*a, *k)));
        }
    }
    world.start_tx(&warm, &slots);
    let block = BlockEnv {
        number: U256::from(BLOCK_NUMBER),
        beneficiary: COINBASE,
        timestamp: U256::from(1_700_000_000u64),
        gas_limit: 30_000_000,
        basefee: 7,
        prevrandao: Some(B256::repeat_byte(0x42)),
        ..Default::default()
    };
    let ctx = Context::mainnet()
        .with_db(&mut slot.db)
        .with_cfg(CfgEnv::new_with_spec(SpecId::PRAGUE))
        .with_block(block);
    let mut tracer = Tracer::within(
        Position {
            block_number: BLOCK_NUMBER,
            tx_index: slot.index,
            world,
            block_gas_before: slot.gas_before,
            transactions: slot.txs.roots(),
            receipt_open: fraud_vm::step::receipt_open(slot.receipts_before, None, slot.index),
            constants: constants(&slot.txs),
            ..Default::default()
        },
        on_state,
        window.0,
        window.1,
    );
    let tx = revm_tx(case, slot.nonce);
    let out = {
        let mut evm = ctx.build_mainnet_with_inspector(&mut tracer);
        evm.precompiles = l2_precompiles();
        evm.inspect_tx(tx).expect("tx executes")
    };
    let summary = tracer.finish().expect("traceable");
    revm::DatabaseCommit::commit(&mut slot.db, out.state.clone());
    (out.result, summary, out.state)
}

/// Mutations of a proof that must each be rejected.
fn check_tampering(commitment: B256, state: &FullState, failures: &mut Vec<String>, k: u64) {
    let Ok((proof, _)) = prove(&mut state.clone()) else {
        return;
    };
    tamperings(commitment, &proof, |what, p, pre| {
        if verify(pre, p).is_ok() {
            failures.push(format!("step {k}: tampered {what} accepted"));
        }
    });
}

/// The mutations of the first and last range multiproof of one list (SPEC.md §3.4): its first
/// and last word, its first and last sibling, its start moved by one, a word more or less, and
/// the range dropped.
fn range_tamperings(
    commitment: B256,
    proof: &StepProof,
    name: &str,
    list: impl Fn(&mut StepProof) -> &mut Vec<fraud_vm::merkle::RangeProof>,
    reject: &mut impl FnMut(&str, &fraud_vm::StepProof, B256),
) {
    let n = list(&mut proof.clone()).len();
    let flip = B256::with_last_byte(1);
    for i in if n == 0 { vec![] } else { vec![0, n - 1] } {
        let mut mutate = |what: &str, f: &dyn Fn(&mut fraud_vm::merkle::RangeProof)| {
            let mut p = proof.clone();
            f(&mut list(&mut p)[i]);
            reject(&format!("{name} range {i}: {what}"), &p, commitment);
        };
        mutate("first word", &|r| r.words[0] ^= flip);
        mutate("last word", &|r| {
            let last = r.words.len() - 1;
            r.words[last] ^= flip
        });
        mutate("first sibling", &|r| {
            if let Some(s) = r.siblings.first_mut() {
                *s ^= flip
            } else {
                r.siblings.push(flip)
            }
        });
        mutate("last sibling", &|r| {
            if let Some(s) = r.siblings.last_mut() {
                *s ^= flip
            } else {
                r.siblings.push(flip)
            }
        });
        mutate("start", &|r| r.start = r.start.checked_sub(1).unwrap_or(1));
        mutate("one word more", &|r| r.words.push(B256::ZERO));
        mutate("one word less", &|r| {
            if r.words.len() > 1 {
                r.words.pop();
            } else {
                r.words.push(B256::ZERO)
            }
        });
    }
    if n > 0 {
        let mut p = proof.clone();
        list(&mut p).pop();
        reject(&format!("{name} range dropped"), &p, commitment);
    }
}

/// Hands every mutation of `proof` that must be rejected to `reject`, with the pre-commitment to
/// verify it against (also run through the Solidity verifier by [`solidity`]).
fn tamperings(
    commitment: B256,
    proof: &StepProof,
    mut reject: impl FnMut(&str, &fraud_vm::StepProof, B256),
) {
    let mut bad_pre = proof.clone();
    bad_pre.pre.gas ^= 1;
    reject("pre-state gas", &bad_pre, commitment);
    reject("pre-commitment", proof, B256::repeat_byte(1));
    if !proof.stack.is_empty() {
        let mut p = proof.clone();
        p.stack[0] ^= U256::from(1);
        reject("stack item", &p, commitment);
        let mut p = proof.clone();
        p.stack.push(U256::ZERO);
        reject("extra stack item", &p, commitment);
    }
    range_tamperings(commitment, proof, "memory", |p| &mut p.memory, &mut reject);
    range_tamperings(
        commitment,
        proof,
        "calldata",
        |p| &mut p.calldata,
        &mut reject,
    );
    range_tamperings(
        commitment,
        proof,
        "return data",
        |p| &mut p.returndata,
        &mut reject,
    );
    if let Some(env) = &proof.tx_env {
        let mut p = proof.clone();
        p.tx_env = Some(fraud_vm::state::TxEnv {
            gas_price: env.gas_price + U256::from(1),
            ..env.clone()
        });
        reject("tx env", &p, commitment);
    }
    if let Some(env) = &proof.block_env {
        let mut p = proof.clone();
        p.block_env = Some(fraud_vm::state::BlockEnv {
            number: env.number + U256::from(1),
            ..env.clone()
        });
        reject("block env", &p, commitment);
    }
    let mut p = proof.clone();
    p.code.push(0x00);
    reject("code", &p, commitment);
    if let Some(w) = proof.world {
        let mut p = proof.clone();
        p.world = Some(fraud_vm::world::World {
            logs_count: w.logs_count + 1,
            ..w
        });
        reject("world record", &p, commitment);
    }
    for i in 0..proof.trees.len() {
        let mut p = proof.clone();
        p.trees[i].siblings[200] ^= B256::with_last_byte(1);
        reject("tree path", &p, commitment);
        let mut p = proof.clone();
        p.trees[i].leaf ^= B256::with_last_byte(1);
        reject("tree leaf", &p, commitment);
    }
    if !proof.accounts.is_empty() {
        let mut p = proof.clone();
        p.accounts[0].balance += U256::from(1);
        reject("account record", &p, commitment);
    }
    if !proof.slots.is_empty() {
        let mut p = proof.clone();
        p.slots[0] += U256::from(1);
        reject("storage value", &p, commitment);
    }
    if let Some(a) = proof.base_accounts.first() {
        let mut p = proof.clone();
        p.base_accounts[0].account = match a.account {
            Some(mut acc) => {
                acc.nonce += 1;
                Some(acc)
            }
            None => Some(Default::default()),
        };
        reject("base account", &p, commitment);
        if !a.nodes.is_empty() {
            let mut p = proof.clone();
            p.base_accounts[0].nodes.pop();
            reject("base account path", &p, commitment);
        }
    }
    if let Some(s) = proof.base_slots.first() {
        let mut p = proof.clone();
        p.base_slots[0].value = s.value + U256::from(1);
        reject("base slot", &p, commitment);
    }
    if !proof.codes.is_empty() {
        let mut p = proof.clone();
        p.codes[0].push(0);
        reject("account code", &p, commitment);
    }
    if let Some(c) = &proof.constants {
        let mut p = proof.clone();
        p.constants = Some(fraud_vm::state::BlockConstants {
            tx_count: c.tx_count + 1,
            ..c.clone()
        });
        reject("block constants", &p, commitment);
    }
    if let Some((encoding, position)) = &proof.transaction {
        let mut p = proof.clone();
        let mut forged = encoding.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        p.transaction = Some((forged, position.clone()));
        reject("transaction encoding", &p, commitment);
        let mut p = proof.clone();
        p.transaction = Some((encoding.clone(), position.clone()));
        p.pre.tx_index ^= 1;
        reject("transaction position", &p, p.pre.commitment());
    }
    if let Some(f) = &proof.frame {
        let mut p = proof.clone();
        p.frame = Some(fraud_vm::frame::FrameLink {
            out_len: f.out_len + 1,
            ..f.clone()
        });
        reject("frame link", &p, commitment);
        let mut p = proof.clone();
        let mut caller = f.caller.clone();
        caller.gas += 1;
        p.frame = Some(fraud_vm::frame::FrameLink {
            caller,
            ..f.clone()
        });
        reject("suspended caller", &p, commitment);
    }
    if let Some(c) = proof.checkpoint {
        let mut p = proof.clone();
        p.checkpoint = Some(fraud_vm::frame::Checkpoint {
            logs_count: c.logs_count + 1,
            ..c
        });
        reject("checkpoint", &p, commitment);
    }
    if let Some(list) = &proof.destructs {
        let mut p = proof.clone();
        let mut forged = list.clone();
        forged.push(EOA);
        p.destructs = Some(forged);
        reject("self-destruct list", &p, commitment);
    }
    // Dropping any world witness is caught too.
    if !proof.trees.is_empty() {
        let mut p = proof.clone();
        p.trees.pop();
        reject("missing tree path", &p, commitment);
    }
}

/// Traces `case`, proves and verifies every step, and compares the end with revm.
fn check(case: &Case, tamper: bool) -> Observed {
    check_in(&mut Slot::fresh(case), case, tamper)
}

/// [`check`] at `slot`, which then holds the chain after the transaction.
fn check_in(slot: &mut Slot, case: &Case, tamper: bool) -> Observed {
    let mut obs = Observed::default();
    let mut expected_next: Option<B256> = None;
    let idle_world = slot.world.clone();
    let (gas_before, receipts_before, txs) =
        (slot.gas_before, slot.receipts_before, slot.txs.clone());
    let (result, summary, evm_state) = run_in(slot, case, |k, state| {
        let commitment = state.record.commitment();
        if k == 0 {
            let idle = IdleBefore {
                world: idle_world.clone(),
                gas: gas_before,
                receipts: receipts_before,
                txs: txs.clone(),
            };
            check_tx_start(&mut obs, &idle, state, commitment);
        }
        if state.record.status != Status::Running && state.record.depth == 0 {
            obs.world = Some(state.world.clone());
            obs.status = Some(state.record.status);
            obs.terminal = Some(state.clone());
        }
        if !state.is_consistent() {
            obs.failures
                .push(format!("step {k}: inconsistent prover state"));
        }
        if let Some(expected) = expected_next.take()
            && expected != commitment
        {
            obs.failures.push(format!(
                "step {}: post-commitment of {} differs from revm's next state",
                k - 1,
                info(*obs.opcodes.last().unwrap_or(&0)).name
            ));
        }
        obs.steps = k;
        let running = state.record.status == Status::Running;
        if !running && state.record.depth == 0 {
            // The transaction end step is pending.
            return;
        }
        // Frame exit steps are recorded as the pseudo-opcode EXIT.
        let pc = state.record.pc as usize;
        obs.opcodes.push(if running {
            state.code.get(pc).copied().unwrap_or(0)
        } else {
            EXIT
        });
        if !running {
            obs.exits += 1;
        }
        obs.max_depth = obs.max_depth.max(state.record.depth);
        match prove(state) {
            Ok((proof, transition)) => {
                let bytes = proof.encode();
                if StepProof::decode(&bytes).as_ref() != Ok(&proof) {
                    obs.failures
                        .push(format!("step {k}: proof does not round-trip"));
                }
                let kind = if running {
                    format!("{:?}", info(*obs.opcodes.last().unwrap_or(&0)).family)
                } else {
                    "FrameExit".to_string()
                };
                obs.proof_sizes.push((kind, bytes.len()));
                match verify(commitment, &proof) {
                    Ok(post) if post == transition.post.commitment() => {}
                    other => obs
                        .failures
                        .push(format!("step {k}: verify gave {other:?}")),
                }
                obs.last_halt = transition.halt;
                if transition.halt.is_none() {
                    obs.completed.extend(obs.opcodes.last());
                }
                expected_next = Some(transition.post.commitment());
            }
            Err(e) => obs.failures.push(format!("step {k}: prove failed: {e}")),
        }
        if tamper {
            check_tampering(commitment, state, &mut obs.failures, k);
        }
    });
    if let Some(expected) = expected_next {
        obs.failures.push(format!(
            "no state after the last step (expected {expected})"
        ));
    }

    // Halt behaviour and gas against revm. A creation's result and gas include its code
    // deposit, which the transaction end step settles (checked there against revm).
    let terminal = &summary.terminal;
    let limit = gas_limit(case);
    match &result {
        _ if case.create => {}
        ExecutionResult::Success { .. } => {
            if !matches!(terminal.status, Status::Stopped | Status::Returned) {
                obs.failures
                    .push(format!("revm succeeded, trace ended {:?}", terminal.status));
            }
            // EIP-3529: the refund is capped at a fifth of the gas spent; EIP-7623 floor.
            let spent = limit - terminal.gas;
            let refund = (terminal.refund.max(0) as u64).min(spent / 5);
            let used = (spent - refund).max(intrinsic_and_floor(&case.calldata));
            if result.tx_gas_used() != used {
                obs.failures.push(format!(
                    "gas used: revm {} vs fraud-vm {used}",
                    result.tx_gas_used()
                ));
            }
        }
        ExecutionResult::Halt { reason, .. } => {
            if terminal.status != Status::ExceptionalHalt || terminal.gas != 0 {
                obs.failures
                    .push(format!("revm halted, trace ended {terminal:?}"));
            }
            if result.tx_gas_used() != limit {
                obs.failures.push("halt did not consume all gas".into());
            }
            let expected = match reason {
                HaltReason::OutOfGas(
                    OutOfGasError::Basic
                    | OutOfGasError::Memory
                    | OutOfGasError::InvalidOperand
                    | OutOfGasError::ReentrancySentry,
                ) => Some(Halt::OutOfGas),
                HaltReason::StackUnderflow => Some(Halt::StackUnderflow),
                HaltReason::StackOverflow => Some(Halt::StackOverflow),
                HaltReason::InvalidJump => Some(Halt::InvalidJump),
                HaltReason::InvalidFEOpcode => Some(Halt::InvalidOpcode),
                HaltReason::OpcodeNotFound => Some(Halt::UndefinedOpcode),
                HaltReason::OutOfOffset => Some(Halt::ReturnDataOutOfBounds),
                HaltReason::CreateInitCodeSizeLimit => Some(Halt::InitcodeTooLarge),
                HaltReason::CallNotAllowedInsideStatic
                | HaltReason::StateChangeDuringStaticCall => Some(Halt::StaticViolation),
                _ => None,
            };
            // revm reports DUPn on a short stack as StackOverflow (its `Stack::dup` folds both
            // checks); the reason is diagnostic only and not committed.
            let dup_quirk = matches!(reason, HaltReason::StackOverflow)
                && obs.last_halt == Some(Halt::StackUnderflow)
                && obs
                    .opcodes
                    .last()
                    .is_some_and(|op| (0x80..=0x8f).contains(op));
            // Opcodes of later forks (CLZ 0x1e) are undefined in Prague; revm charges their
            // future static gas before reporting NotActivated, so it may report out-of-gas.
            let future_op = obs.last_halt == Some(Halt::UndefinedOpcode)
                && matches!(reason, HaltReason::NotActivated | HaltReason::OutOfGas(_));
            if expected != obs.last_halt && !dup_quirk && !future_op {
                obs.failures.push(format!(
                    "halt reason: revm {reason:?} vs fraud-vm {:?}",
                    obs.last_halt
                ));
            }
        }
        ExecutionResult::Revert { .. } => {
            if terminal.status != Status::Reverted {
                obs.failures
                    .push(format!("revm reverted, trace ended {:?}", terminal.status));
            }
            let used = (limit - terminal.gas).max(intrinsic_and_floor(&case.calldata));
            if result.tx_gas_used() != used {
                obs.failures.push(format!(
                    "gas used: revm {} vs fraud-vm {used} (revert)",
                    result.tx_gas_used()
                ));
            }
        }
    }
    if let Some(terminal) = obs.terminal.take()
        && let Some((world, gas, receipts)) =
            check_tx_end(&mut obs, terminal, &result, &summary, &evm_state, slot)
    {
        slot.world = world;
        slot.gas_before = gas;
        slot.receipts_before = receipts;
        slot.index += 1;
        slot.nonce += 1;
    }
    let is_error = !matches!(
        summary.result,
        InstructionResult::Stop
            | InstructionResult::SelfDestruct
            | InstructionResult::Return
            | InstructionResult::Revert
    );
    if is_error != (terminal.status == Status::ExceptionalHalt) {
        obs.failures.push(format!(
            "revm result {:?} vs {:?}",
            summary.result, terminal.status
        ));
    }
    obs
}

/// The transaction end step from the terminal state verifies, and its post-state is the one built
/// from revm's final state: the world kept or restored, the sender's refund and the coinbase's
/// fee as revm paid them, the self-destructed accounts deleted, the receipt appended; then every
/// account revm touched has revm's balance, nonce and storage, and the logs are revm's.
fn check_tx_end(
    obs: &mut Observed,
    mut terminal: FullState,
    result: &ExecutionResult,
    summary: &fraud_vm::trace::TraceSummary,
    evm_state: &revm::state::EvmState,
    slot: &Slot,
) -> Option<(WorldState, u64, B256)> {
    use fraud_vm::world::AccountRecord;
    let pre = terminal.record.commitment();
    let proof = match prove(&mut terminal) {
        Ok((proof, _)) => proof,
        Err(e) => {
            obs.failures
                .push(format!("transaction end: prove failed: {e}"));
            return None;
        }
    };
    let bytes = proof.encode();
    obs.proof_sizes.push(("TxEnd".into(), bytes.len()));
    obs.boundary_proofs.push((pre, bytes.clone()));
    if StepProof::decode(&bytes).as_ref() != Ok(&proof) {
        obs.failures
            .push("transaction end proof does not round-trip".into());
    }
    let verified = verify(pre, &proof);
    check_tampering(pre, &terminal, &mut obs.failures, u64::MAX);
    // revm's verdict: a creation whose code deposit fails is a failed transaction.
    let success = matches!(result, ExecutionResult::Success { .. });
    let mut world = if success {
        let mut w = terminal.world.clone();
        w.checkpoints.pop();
        w.set_checkpoint_root(B256::ZERO);
        w
    } else {
        summary.entry_world.clone()
    };
    if let (ExecutionResult::Success { logs, .. }, true) = (result, success)
        && world.logs != *logs
    {
        obs.failures.push("logs differ from revm's".into());
    }
    if success && terminal.tx_env.create {
        let created = terminal.record.address;
        if let Some(acc) = evm_state.get(&created) {
            let rec = world.account(created);
            world.set_account(
                created,
                AccountRecord {
                    code_hash: acc.info.code_hash,
                    ..rec
                },
            );
        }
    }
    for a in [CALLER, COINBASE] {
        if let Some(acc) = evm_state.get(&a) {
            let rec = world.account(a);
            if rec.balance != acc.info.balance {
                world.set_account(
                    a,
                    AccountRecord {
                        balance: acc.info.balance,
                        ..rec
                    },
                );
            }
        }
    }
    for a in world.destructs.clone() {
        let rec = world.account(a);
        world.set_account(
            a,
            AccountRecord {
                incarnation: rec.incarnation + 1,
                ..AccountRecord::default()
            },
        );
    }
    for (address, account) in evm_state {
        let rec = world.account(*address);
        if account.is_selfdestructed() {
            if !rec.is_empty() {
                obs.failures
                    .push(format!("{address} self-destructed in revm, not here"));
            }
            continue;
        }
        if rec.balance != account.info.balance
            || rec.nonce != account.info.nonce
            || rec.code_hash != account.info.code_hash
        {
            obs.failures.push(format!(
                "account {address}: balance {} nonce {} vs revm {} {}",
                rec.balance, rec.nonce, account.info.balance, account.info.nonce
            ));
        }
        for (slot, value) in &account.storage {
            if world.storage(*address, *slot) != value.present_value {
                obs.failures
                    .push(format!("storage {address} {slot} differs from revm's"));
            }
        }
    }
    let used = result.tx_gas_used();
    let cumulative = slot.gas_before + used;
    let receipts = fraud_vm::step::receipt_link(
        fraud_vm::step::receipt_open(slot.receipts_before, None, slot.index),
        success,
        cumulative,
        &world.record(),
    );
    world.begin_tx();
    let expected = fraud_vm::MachineState {
        block_number: terminal.record.block_number,
        tx_index: terminal.record.tx_index + 1,
        depth: 0,
        pc: 0,
        status: Status::Idle,
        gas: cumulative,
        refund: 0,
        frames_root: B256::ZERO,
        address: Address::ZERO,
        caller: Address::ZERO,
        call_value: U256::ZERO,
        is_static: false,
        code_hash: B256::ZERO,
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: fraud_vm::merkle::empty_root(),
        memory_size: 0,
        calldata_root: fraud_vm::merkle::empty_root(),
        calldata_size: 0,
        returndata_root: receipts,
        returndata_size: terminal.record.tx_index + 1,
        tx_env_hash: B256::ZERO,
        block_env_hash: terminal.record.block_env_hash,
        world_root: world.commitment(),
    };
    if verified != Ok(expected.commitment()) {
        obs.failures.push(format!(
            "transaction end gave {verified:?}, revm's end is {}",
            expected.commitment()
        ));
    }
    obs.tx_ends += 1;
    Some((world, cumulative, receipts))
}

/// The Idle state before transaction `tx_index` (SPEC.md §5.9).
fn idle_state(
    before: &IdleBefore,
    block_env: fraud_vm::state::BlockEnv,
    constants: Arc<fraud_vm::state::BlockConstants>,
    tx_index: u64,
) -> FullState {
    let mut idle = FullState::new_frame(
        Default::default(),
        Default::default(),
        block_env,
        constants,
        before.world.clone(),
    );
    idle.code = Vec::new();
    idle.record = fraud_vm::MachineState {
        block_number: BLOCK_NUMBER,
        tx_index,
        depth: 0,
        pc: 0,
        status: Status::Idle,
        gas: before.gas,
        refund: 0,
        frames_root: B256::ZERO,
        address: Address::ZERO,
        caller: Address::ZERO,
        call_value: U256::ZERO,
        is_static: false,
        code_hash: B256::ZERO,
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: fraud_vm::merkle::empty_root(),
        memory_size: 0,
        calldata_root: fraud_vm::merkle::empty_root(),
        calldata_size: 0,
        returndata_root: before.receipts,
        returndata_size: tx_index,
        tx_env_hash: B256::ZERO,
        block_env_hash: idle.record.block_env_hash,
        world_root: idle.world.commitment(),
    };
    idle.transactions = Some(before.txs.clone());
    idle
}

/// The Idle state before a transaction, as [`check_tx_start`] rebuilds it.
struct IdleBefore {
    world: WorldState,
    gas: u64,
    receipts: B256,
    txs: Arc<fraud_vm::tx::Transactions>,
}

/// The transaction start step from the Idle state before the transaction verifies to the first
/// state read from revm (gas bought, nonce, warm accounts, checkpoint, value moved, top frame).
fn check_tx_start(
    obs: &mut Observed,
    before: &IdleBefore,
    first: &FullState,
    first_commitment: B256,
) {
    let mut idle = idle_state(
        before,
        first.block_env.clone(),
        first.constants.clone(),
        first.record.tx_index,
    );
    let pre = idle.record.commitment();
    match prove(&mut idle) {
        Ok((proof, starting)) => {
            let bytes = proof.encode();
            obs.proof_sizes.push(("TxStart".into(), bytes.len()));
            obs.boundary_proofs.push((pre, bytes.clone()));
            if StepProof::decode(&bytes).as_ref() != Ok(&proof) {
                obs.failures
                    .push("transaction start proof does not round-trip".into());
            }
            let mut verified = verify(pre, &proof).map_err(|e| e.to_string());
            if verified.is_ok() && starting.post.status == Status::Starting {
                verified = check_start_sub_steps(obs, idle.clone());
            }
            if verified != Ok(first_commitment) {
                obs.failures.push(format!(
                    "transaction start gave {verified:?}, revm's first state is {first_commitment}"
                ));
            }
            check_tampering(pre, &idle, &mut obs.failures, u64::MAX);
            // The same transaction signed by another key: its sender is another account.
            let mut p = proof.clone();
            if let Some((encoding, position)) = p.transaction.as_mut() {
                let last = encoding.len() - 2;
                encoding[last] ^= 1;
                position.word = alloy::primitives::keccak256(&*encoding);
            }
            if verify(pre, &p).is_ok() {
                obs.failures
                    .push("a transaction outside the list accepted".into());
            }
            obs.tx_starts += 1;
        }
        Err(e) => obs
            .failures
            .push(format!("transaction start: prove failed: {e}")),
    }
}

/// [v0.15] A start head that left a Starting state, applied, then each sub-step from it proved,
/// its proof recorded as a boundary proof and verified (the first and the last also tampered
/// with): the commitment of the state the last one enters (SPEC.md §5.9).
fn check_start_sub_steps(obs: &mut Observed, idle: FullState) -> Result<B256, String> {
    let (_, _, mut state) = fraud_vm::prove_boundary(idle).map_err(|e| e.to_string())?;
    let mut k = 0u64;
    while state.record.status == Status::Starting {
        let pre = state.record.commitment();
        let last = state.record.stack_len == 0;
        if k == 0 || last {
            check_tampering(pre, &state, &mut obs.failures, u64::MAX - 1 - k);
        }
        let (proof, transition, next) =
            fraud_vm::prove_boundary(state).map_err(|e| format!("sub-step {k}: {e}"))?;
        let bytes = proof.encode();
        obs.proof_sizes.push(("TxEntries".into(), bytes.len()));
        obs.boundary_proofs.push((pre, bytes));
        let post = transition.post.commitment();
        if verify(pre, &proof) != Ok(post) {
            return Err(format!("sub-step {k} does not verify to its post-state"));
        }
        state = next;
        k += 1;
    }
    Ok(state.record.commitment())
}

// ---------------------------------------------------------------------------------------------
// Program generation.

/// Opcodes of v0.1 drawn at random (jumps and pushes are generated separately).
const PLAIN_OPS: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, // arithmetic
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
    0x1d, // bitwise
    0x20, // keccak
    0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3d, 0x3e, // environment
    0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x49, 0x4a, // block
    0x50, 0x51, 0x52, 0x53, 0x58, 0x59, 0x5a, 0x5b, 0x5e, 0x5f, // stack, memory, control
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e,
    0x8f, // dup
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e,
    0x9f, // swap
];

/// Undefined in Prague, or INVALID.
const HALTING_OPS: &[u8] = &[0x0c, 0x1e, 0x21, 0x4b, 0xa5, 0xef, 0xfb, 0xfe];

#[derive(Clone, Debug)]
enum Item {
    Op(u8),
    /// PUSHn with n random bytes (n in 1..=32).
    Push(Vec<u8>),
    /// PUSH2 of a small value: offsets and lengths that stay in cheap memory.
    Small(u16),
    /// PUSH32 of a huge value: offsets that must run out of gas.
    Huge,
    /// A JUMPDEST that jumps may target.
    Label,
    /// PUSH2 <label>, JUMP or JUMPI (the condition is whatever lies below).
    Jump {
        label: usize,
        conditional: bool,
    },
    /// PUSH1 <random>, JUMP: usually an invalid jump.
    WildJump(u8),
    /// JUMPDEST, PUSH0, PUSH2 <here>, JUMP: grows the stack until overflow or out of gas.
    Flood,
    Halting(u8),
    /// A memory-touching opcode with its operands pushed right before it (small values), so that
    /// memory, KECCAK256 and the copies run often and with meaningful ranges.
    MemOp(u8, [u16; 3]),
    /// A world-state opcode with its operands (top first) pushed right before it.
    World(u8, Vec<U256>),
    /// Bytes emitted as they are.
    Raw(Vec<u8>),
}

/// The minimal PUSH of `v` (PUSH0 for zero).
fn push_of(v: U256) -> Vec<u8> {
    let bytes = v.to_be_bytes_trimmed_vec();
    let mut out = vec![0x5f + bytes.len() as u8];
    out.extend(bytes);
    out
}

fn address_operand() -> impl Strategy<Value = U256> {
    proptest::sample::select(ADDRESSES).prop_map(|a| U256::from_be_slice(a.as_slice()))
}

/// World-state opcodes with operands that hit warm and cold, present and absent, zero and
/// non-zero, and every EIP-2200 case (slot values are drawn from a small set).
fn world_op() -> impl Strategy<Value = Item> {
    let slot = || (0u64..6).prop_map(U256::from);
    let value = || proptest::sample::select(&[0u64, 1, 2, 3][..]).prop_map(U256::from);
    let small = |n: u64| (0..n).prop_map(U256::from);
    prop_oneof![
        6 => slot().prop_map(|s| Item::World(0x54, vec![s])),
        8 => (slot(), value()).prop_map(|(s, v)| Item::World(0x55, vec![s, v])),
        2 => small(3).prop_map(|s| Item::World(0x5c, vec![s])),
        2 => (small(3), value()).prop_map(|(s, v)| Item::World(0x5d, vec![s, v])),
        2 => (proptest::sample::select(&[0x31u8, 0x3b, 0x3f][..]), address_operand())
            .prop_map(|(op, a)| Item::World(op, vec![a])),
        1 => (address_operand(), small(100), small(12), small(40))
            .prop_map(|(a, d, s, l)| Item::World(0x3c, vec![a, d, s, l])),
        1 => proptest::sample::select(
                &[BLOCK_NUMBER - 1, BLOCK_NUMBER - 256, BLOCK_NUMBER - 257, BLOCK_NUMBER,
                  BLOCK_NUMBER + 1, 0, 100][..],
            ).prop_map(|n| Item::World(0x40, vec![U256::from(n)])),
        1 => Just(Item::World(0x47, vec![])),
        2 => (0u8..5, small(64), small(64), proptest::collection::vec(any::<u64>(), 4))
            .prop_map(|(n, o, l, t)| {
                let mut args = vec![o, l];
                args.extend(t[..n as usize].iter().map(|x| U256::from(*x)));
                Item::World(0xa0 + n, args)
            }),
        1 => address_operand().prop_map(|a| Item::World(0xff, vec![a])),
        6 => call_op(),
        2 => (proptest::sample::select(initcodes()), any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(init, value, salt)| Item::Raw(create_snippet(&init, value % 4, salt))),
        1 => (proptest::sample::select(&[0xf3u8, 0xfd][..]), small(100), small(80))
            .prop_map(|(op, o, l)| Item::World(op, vec![o, l])),
    ]
}

/// Call targets: contracts that return, revert, halt and recurse, the program itself, accounts
/// without code, and every precompile of the L2.
const CALL_TARGETS: &[Address] = &[
    RETURNER,
    DELEGATED,
    REVERTER,
    HALTER,
    RECURSER,
    TARGET,
    CONTRACT,
    EOA,
    ABSENT,
    address!("0x0000000000000000000000000000000000000001"),
    address!("0x0000000000000000000000000000000000000002"),
    address!("0x0000000000000000000000000000000000000003"),
    address!("0x0000000000000000000000000000000000000004"),
    address!("0x0000000000000000000000000000000000000005"),
    address!("0x0000000000000000000000000000000000000006"),
    address!("0x0000000000000000000000000000000000000007"),
    address!("0x0000000000000000000000000000000000000008"),
    address!("0x0000000000000000000000000000000000000009"),
    address!("0x000000000000000000000000000000000000000a"),
    address!("0x000000000000000000000000000000000000000b"),
    address!("0x000000000000000000000000000000000000000c"),
    address!("0x000000000000000000000000000000000000000d"),
    address!("0x000000000000000000000000000000000000000e"),
    address!("0x000000000000000000000000000000000000000f"),
    address!("0x0000000000000000000000000000000000000010"),
    address!("0x0000000000000000000000000000000000000011"),
    address!("0x0000000000000000000000000000000000000100"),
];

fn call_op() -> impl Strategy<Value = Item> {
    let gas = proptest::sample::select(&[0u64, 3000, 60_000, u64::MAX][..]).prop_map(U256::from);
    let to = proptest::sample::select(CALL_TARGETS).prop_map(addr);
    let value = proptest::sample::select(&[0u64, 1, 1 << 62][..]).prop_map(U256::from);
    let small = |n: u64| (0..n).prop_map(U256::from);
    (
        proptest::sample::select(&[0xf1u8, 0xf2, 0xf4, 0xfa][..]),
        gas,
        to,
        value,
        (small(64), small(100), small(64), small(70)),
    )
        .prop_map(|(op, gas, to, value, (io, il, oo, ol))| {
            let mut args = vec![gas, to];
            if matches!(op, 0xf1 | 0xf2) {
                args.push(value);
            }
            args.extend([io, il, oo, ol]);
            Item::World(op, args)
        })
}

/// Opcodes taking (offset-like, offset-like, length) operands, with their operand counts.
const MEM_OPS: &[(u8, usize)] = &[
    (0x20, 2),
    (0x35, 1),
    (0x37, 3),
    (0x39, 3),
    (0x51, 1),
    (0x52, 2),
    (0x53, 2),
    (0x5e, 3),
];

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        30 => proptest::sample::select(PLAIN_OPS).prop_map(Item::Op),
        8 => proptest::collection::vec(any::<u8>(), 1..=32).prop_map(Item::Push),
        20 => (0u16..320).prop_map(Item::Small),
        1 => Just(Item::Huge),
        4 => Just(Item::Label),
        4 => (any::<usize>(), any::<bool>())
            .prop_map(|(label, conditional)| Item::Jump { label, conditional }),
        1 => any::<u8>().prop_map(Item::WildJump),
        1 => Just(Item::Flood),
        1 => proptest::sample::select(HALTING_OPS).prop_map(Item::Halting),
        10 => (proptest::sample::select(MEM_OPS), [0u16..200, 0u16..200, 0u16..100])
            .prop_map(|((op, _), args)| Item::MemOp(op, args)),
        8 => world_op(),
    ]
}

fn mem_op_arity(op: u8) -> usize {
    MEM_OPS
        .iter()
        .find(|(o, _)| *o == op)
        .map_or(0, |(_, n)| *n)
}

/// Lays out `items` as bytecode, resolving jump labels to JUMPDEST offsets.
fn assemble(items: &[Item]) -> Vec<u8> {
    // Each item has a fixed size, so label offsets are known before emitting.
    let size = |it: &Item| match it {
        Item::Op(_) | Item::Label | Item::Halting(_) => 1,
        Item::Push(b) => 1 + b.len(),
        Item::Small(_) => 3,
        Item::Huge => 33,
        Item::Jump { .. } => 4,
        Item::WildJump(_) => 3,
        Item::Flood => 6,
        Item::MemOp(op, _) => 1 + 3 * mem_op_arity(*op),
        Item::World(_, args) => 1 + args.iter().map(|a| push_of(*a).len()).sum::<usize>(),
        Item::Raw(bytes) => bytes.len(),
    };
    let mut labels = Vec::new();
    let mut at = 0;
    for it in items {
        if matches!(it, Item::Label) {
            labels.push(at);
        }
        at += size(it);
    }
    let mut code = Vec::with_capacity(at);
    for it in items {
        let here = code.len();
        match it {
            Item::Op(op) | Item::Halting(op) => code.push(*op),
            Item::Push(bytes) => {
                code.push(0x5f + bytes.len() as u8);
                code.extend_from_slice(bytes);
            }
            Item::Small(v) => code.extend_from_slice(&[0x61, (v >> 8) as u8, *v as u8]),
            Item::Huge => {
                code.push(0x7f);
                code.extend_from_slice(&[0xff; 32]);
            }
            Item::Label => code.push(0x5b),
            Item::Jump { label, conditional } => {
                let target = if labels.is_empty() {
                    0
                } else {
                    labels[label % labels.len()]
                };
                code.extend_from_slice(&[0x61, (target >> 8) as u8, target as u8]);
                code.push(if *conditional { 0x57 } else { 0x56 });
            }
            Item::WildJump(t) => code.extend_from_slice(&[0x60, *t, 0x56]),
            Item::MemOp(op, args) => {
                for v in args[..mem_op_arity(*op)].iter().rev() {
                    code.extend_from_slice(&[0x61, (v >> 8) as u8, *v as u8]);
                }
                code.push(*op);
            }
            Item::Flood => {
                code.extend_from_slice(&[0x5b, 0x5f, 0x61, (here >> 8) as u8, here as u8, 0x56])
            }
            Item::World(op, args) => {
                for a in args.iter().rev() {
                    code.extend(push_of(*a));
                }
                code.push(*op);
            }
            Item::Raw(bytes) => code.extend_from_slice(bytes),
        }
    }
    code
}

/// Operands first, so that most programs run a while before the stack runs dry.
fn operand() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => (0u16..320).prop_map(Item::Small),
        1 => proptest::collection::vec(any::<u8>(), 1..=32).prop_map(Item::Push),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            proptest::collection::vec(operand(), 0..20),
            proptest::collection::vec(item(), 1..48),
        )
            .prop_map(|(mut a, b)| {
                a.extend(b);
                a
            }),
        proptest::collection::vec(any::<u8>(), 0..80),
        0u64..3,
        0u64..120_000,
        proptest::bool::weighted(0.2),
        proptest::collection::vec((0u64..6, 0u64..4), 0..4),
        proptest::sample::select(&[0u64, 1000][..]),
        proptest::bool::weighted(0.3),
    )
        .prop_map(
            |(items, calldata, value, extra_gas, blobs, storage, balance, eip1559)| Case {
                code: assemble(&items),
                calldata,
                value,
                extra_gas,
                blobs,
                storage,
                balance,
                extra: Vec::new(),
                to: TARGET,
                eip1559: eip1559 && !blobs,
                list: Arc::new(access_list()),
                create: false,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every step of every random program verifies to revm's next state, tampered proofs fail,
    /// and the end of execution (status, halt reason, gas) equals revm's.
    #[test]
    fn every_step_matches_revm(case in case()) {
        let obs = check(&case, true);
        prop_assert!(obs.failures.is_empty(), "{:#?}\ncode: {}", obs.failures,
            alloy::primitives::hex::encode(&case.code));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A tracer with a window (a layer-2 answer's) hands out the full tracer's states in it,
    /// nothing else before the top frame's end, and a terminal state the transaction end reads
    /// alike: status, gas, refund, world and return data.
    #[test]
    fn windowed_tracer_matches_the_full_one(case in case(), pick in any::<u64>(), len in 0u64..3) {
        let mut full = Vec::new();
        let mut terminal = None;
        run(&case, |k, state| {
            assert_eq!(k, full.len() as u64);
            full.push(state.record.commitment());
            if state.record.status != Status::Running && state.record.depth == 0 {
                terminal = Some(state.clone());
            }
        });
        let terminal = terminal.expect("a terminal state");
        let n = full.len() as u64;
        let first = pick % n;
        for window in [(first, first + len), (u64::MAX, 0)] {
            let mut seen = Vec::new();
            let mut end = None;
            run_within(&mut Slot::fresh(&case), &case, window, |k, state| {
                let top_end = state.record.status != Status::Running && state.record.depth == 0;
                if window.0 <= k && k <= window.1 {
                    seen.push((k, state.record.commitment()));
                } else {
                    assert!(top_end, "state {k} outside the window {window:?}");
                }
                if top_end {
                    end = Some(state.clone());
                }
            });
            let expected: Vec<(u64, B256)> = (window.0..=window.1.min(n - 1))
                .map(|k| (k, full[k as usize]))
                .collect();
            prop_assert_eq!(seen, expected, "window {:?}", window);
            let end = end.expect("a terminal state");
            let fields = |s: &FullState| (
                s.record.status,
                s.record.gas,
                s.record.refund,
                s.record.world_root,
                s.world.record(),
                s.record.returndata_root,
                s.returndata.root(),
            );
            prop_assert_eq!(fields(&end), fields(&terminal), "window {:?}", window);
        }
    }
}

/// The generator is strong enough: over a fixed sample, every v0.1 opcode completes a step
/// somewhere, and every halt kind occurs.
#[test]
fn generator_covers_every_opcode_and_halt() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut completed = [0u64; 256];
    let mut halts = std::collections::BTreeMap::new();
    let mut sizes: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let (mut steps, mut exits, mut tx_ends, mut tx_starts, cases) = (0u64, 0u64, 0u64, 0u64, 400);
    for _ in 0..cases {
        let case = case().new_tree(&mut runner).expect("case").current();
        let obs = check(&case, false);
        assert!(obs.failures.is_empty(), "{:#?}", obs.failures);
        steps += obs.steps;
        exits += obs.exits;
        tx_ends += obs.tx_ends;
        tx_starts += obs.tx_starts;
        for (kind, size) in obs.proof_sizes {
            sizes.entry(kind).or_default().push(size);
        }
        for op in obs.completed {
            completed[op as usize] += 1;
        }
        *halts.entry(format!("{:?}", obs.last_halt)).or_insert(0u64) += 1;
    }
    for (family, v) in &mut sizes {
        v.sort_unstable();
        println!(
            "proof bytes {family}: steps {}, median {}, max {}",
            v.len(),
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    let mut all: Vec<u8> = PLAIN_OPS.to_vec();
    all.extend([0x00, 0x56, 0x57]);
    // World-state opcodes, calls, frame ends and frame exit steps.
    all.extend([
        0x31, 0x3b, 0x3c, 0x3f, 0x40, 0x47, 0x54, 0x55, 0x5c, 0x5d, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
        0xff, 0xf1, 0xf2, 0xf4, 0xfa, 0xf3, 0xfd, 0xf0, 0xf5, EXIT,
    ]);
    all.extend(0x60..=0x7f);
    // RETURNDATACOPY completes only for (src, len) = (0, 0) while the return data is empty;
    // `handwritten_programs` covers that case.
    // RETURNDATACOPY of random operands rarely fits the return data; `world_programs` copies
    // real return data.
    let missing: Vec<&str> = all
        .iter()
        .filter(|op| **op != 0x3e && completed[**op as usize] == 0)
        .map(|op| info(*op).name)
        .collect();
    println!(
        "{cases} cases, {steps} steps, {exits} frame exits, {tx_starts} transaction starts, \
         {tx_ends} transaction ends, ends: {halts:?}"
    );
    // Every case, blob transactions included, is verified from its Idle state to the next.
    assert_eq!((tx_starts, tx_ends), (cases, cases));
    assert!(missing.is_empty(), "never completed: {missing:?}");
    for h in [
        "ReturnDataOutOfBounds",
        "StackUnderflow",
        "StackOverflow",
        "OutOfGas",
        "InvalidJump",
        "InvalidOpcode",
        "UndefinedOpcode",
        "None",
    ] {
        assert!(
            halts.keys().any(|k| k.contains(h)),
            "no case ended with {h}: {halts:?}"
        );
    }
}

/// Handwritten programs reaching each halt kind and the memory-heavy opcodes.
#[test]
fn handwritten_programs() {
    let programs: &[(&str, &[u8])] = &[
        // MSTORE at an unaligned offset, MLOAD back, KECCAK256 over two words, MCOPY overlapping.
        (
            "memory",
            &[
                0x60, 0xaa, 0x60, 0x05, 0x52, 0x60, 0x05, 0x51, 0x60, 0x40, 0x60, 0x00, 0x20, 0x60,
                0x30, 0x60, 0x00, 0x60, 0x10, 0x5e, 0x59, 0x00,
            ],
        ),
        // CALLDATACOPY past the end of calldata, CODECOPY past the end of code.
        (
            "copies",
            &[
                0x60, 0x50, 0x60, 0x02, 0x60, 0x00, 0x37, 0x60, 0x40, 0x60, 0x03, 0x60, 0x20, 0x39,
                0x00,
            ],
        ),
        (
            "empty returndatacopy",
            &[0x5f, 0x5f, 0x60, 0x20, 0x3e, 0x59, 0x00],
        ),
        (
            "returndatacopy out of bounds",
            &[0x60, 0x01, 0x5f, 0x5f, 0x3e],
        ),
        ("underflow", &[0x01]),
        ("invalid", &[0x60, 0x01, 0xfe]),
        ("undefined", &[0x0c]),
        ("bad jump", &[0x60, 0x01, 0x56, 0x5b]),
        ("jump into push data", &[0x60, 0x5b, 0x60, 0x01, 0x56]),
        ("memory out of gas", &[0x63, 0xff, 0xff, 0xff, 0xff, 0x51]),
        ("overflow", &[0x5b, 0x5f, 0x60, 0x00, 0x56]),
        ("truncated push at end", &[0x61, 0x01]),
        // EXP with a 32-byte exponent (dynamic gas), then GAS.
        (
            "exp",
            &[
                0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0x60, 0x03, 0x0a, 0x5a, 0x00,
            ],
        ),
    ];
    for (name, code) in programs {
        let case = Case {
            code: code.to_vec(),
            calldata: vec![1, 2, 3, 4, 5],
            value: 1,
            extra_gas: 100_000,
            blobs: false,
            storage: vec![(1, 1), (2, 2)],
            balance: 1000,
            extra: Vec::new(),
            to: TARGET,
            eip1559: false,
            list: Arc::new(access_list()),
            create: false,
        };
        let obs = check(&case, true);
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        assert!(obs.steps > 0, "{name}: no steps");
    }
}

/// The state at step k is obtained by re-executing, without holding the trace, and equals the
/// state seen by a full pass.
#[test]
fn state_at_k_by_reexecution() {
    let case = Case {
        code: vec![
            0x60, 0x07, 0x60, 0x01, 0x52, 0x36, 0x60, 0x00, 0x35, 0x01, 0x00,
        ],
        calldata: vec![9; 40],
        value: 0,
        extra_gas: 50_000,
        blobs: true,
        storage: vec![(1, 1), (2, 2)],
        balance: 1000,
        extra: Vec::new(),
        to: TARGET,
        eip1559: false,
        list: Arc::new(access_list()),
        create: false,
    };
    let mut all = Vec::new();
    let _ = run(&case, |_, s| all.push(s.record.commitment()));
    for k in 0..all.len() as u64 - 1 {
        let mut at = StateAt::new(k);
        let _ = run(&case, |step, s| at.observe(step, s));
        let mut state = at.state.expect("state k reached");
        assert_eq!(state.record.commitment(), all[k as usize]);
        assert_eq!(at.next, Some(all[k as usize + 1]));
        let (proof, _) = prove(&mut state).expect("provable");
        assert_eq!(verify(all[k as usize], &proof), Ok(all[k as usize + 1]));
    }
}

/// A whole layer-2 dispute over one transaction: the defender's trace is wrong from step 9 on
/// (one gas unit off); bisection by re-execution finds step 8, whose one-step proof from the
/// honest state verifies to the honest commitment and so refutes the defender's.
#[test]
fn dispute_over_a_trace_ends_in_a_one_step_proof() {
    use fraud_vm::bisect::find_first_difference;
    let case = Case {
        code: vec![
            0x60, 0x07, 0x60, 0x01, 0x52, 0x36, 0x60, 0x00, 0x35, 0x01, 0x60, 0x20, 0x60, 0x00,
            0x20, 0x5b, 0x58, 0x00,
        ],
        calldata: vec![9; 40],
        value: 0,
        extra_gas: 50_000,
        blobs: false,
        storage: vec![(1, 1), (2, 2)],
        balance: 1000,
        extra: Vec::new(),
        to: TARGET,
        eip1559: false,
        list: Arc::new(access_list()),
        create: false,
    };
    let at = |k: u64| {
        let mut at = StateAt::new(k);
        let _ = run(&case, |step, s| at.observe(step, s));
        at.state.expect("position within the trace")
    };
    let honest = |k: u64| at(k).record.commitment();
    let bad_from = 9;
    let claimed = |k: u64| {
        let mut record = at(k).record;
        if k >= bad_from {
            record.gas -= 1;
        }
        record.commitment()
    };
    let mut steps = 0;
    let _ = run(&case, |k, _| steps = k);
    let game = find_first_difference(0, steps, honest, claimed).expect("non-empty");
    assert_eq!(game.agreed(), bad_from - 1);
    let (proof, _) = prove(&mut at(game.agreed())).expect("provable");
    let post = verify(claimed(game.agreed()), &proof).expect("agreed pre-state verifies");
    assert_eq!(post, honest(game.disputed()));
    assert_ne!(post, claimed(game.disputed()));
}

/// Pending steps are refused with a typed error, never answered. Since v0.2 every precompile of
/// the L2 (0x01–0x11, 0x0100) is implemented: a call to each of the ones added last (0x0a–0x11,
/// 0x0100) proves and verifies, none answers `Unsupported`, and the transaction ends Idle.
#[test]
fn pending_steps_are_unsupported() {
    let u = U256::from;
    let mut ops: Vec<(u8, Vec<U256>)> = Vec::new();
    for a in (0x0a..=0x11).chain([0x100]) {
        ops.push((
            0xf1,
            vec![u(100_000), u(a), u(0), u(0), u(128), u(0), u(64)],
        ));
    }
    ops.push((0xf3, vec![u(0), u(0)]));
    let ops: Vec<(u8, &[U256])> = ops.iter().map(|(o, a)| (*o, a.as_slice())).collect();
    let code = program(&ops);
    let mut results = Vec::new();
    let mut terminal = None;
    let case = Case {
        extra_gas: 1_000_000,
        ..Case::program(&code)
    };
    let _ = run(&case, |_, s| {
        if s.record.status == Status::Running {
            let pre = s.record.commitment();
            results.push(prove(s).and_then(|(p, t)| {
                (verify(pre, &p)? == t.post.commitment())
                    .then_some(())
                    .ok_or(VerifyError::PreStateMismatch)
            }));
        } else {
            terminal = Some(s.clone());
        }
    });
    assert_eq!(results.len(), 9 * 8 + 3);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut terminal = terminal.expect("terminal state");
    assert_eq!(terminal.record.status, Status::Returned);
    let (_, end) = prove(&mut terminal).expect("transaction end");
    assert_eq!(end.post.status, Status::Idle);
}

/// A program as `(op, operands top first)` pairs.
type Ops = Vec<(u8, Vec<U256>)>;

/// Assembles `(op, operands top first)` pairs.
fn program(ops: &[(u8, &[U256])]) -> Vec<u8> {
    let mut code = Vec::new();
    for (op, args) in ops {
        for a in args.iter().rev() {
            code.extend(push_of(*a));
        }
        code.push(*op);
    }
    code
}

fn addr(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

/// Handwritten world-state programs: every EIP-2200/3529 SSTORE case from original 0 and
/// original non-zero, warm and cold accesses of every kind of account, transient storage, logs,
/// BLOCKHASH at the window's edges, SELFDESTRUCT with and without the new-account charge.
#[test]
fn world_programs() {
    let u = U256::from;
    // SSTORE sequences on slot 1 (original 1) and slot 3 (original 0), then SLOADs.
    let sequences: &[&[u64]] = &[
        &[0],
        &[1],
        &[2],
        &[0, 1],
        &[0, 2],
        &[2, 1],
        &[2, 0],
        &[2, 3, 1],
        &[0, 0, 2, 0],
    ];
    for seq in sequences {
        for slot in [1u64, 3] {
            let mut ops: Vec<(u8, Vec<U256>)> =
                seq.iter().map(|v| (0x55, vec![u(slot), u(*v)])).collect();
            ops.push((0x54, vec![u(slot)]));
            ops.push((0x54, vec![u(5)]));
            ops.push((0x00, vec![]));
            let ops: Vec<(u8, &[U256])> = ops.iter().map(|(o, a)| (*o, a.as_slice())).collect();
            // Slot 1 is also in the access list of the EIP-1559 variant: warm from the start.
            let case = Case {
                eip1559: slot == 1,
                ..Case::program(&program(&ops))
            };
            let obs = check(&case, true);
            assert!(
                obs.failures.is_empty(),
                "sstore {seq:?} slot {slot}: {:#?}",
                obs.failures
            );
        }
    }
    let accounts = [
        CONTRACT,
        ABSENT,
        EOA,
        CALLER,
        TARGET,
        COINBASE,
        address!("0x0000000000000000000000000000000000000002"),
    ];
    let mut reads: Vec<(u8, Vec<U256>)> = Vec::new();
    for a in accounts {
        for op in [0x31u8, 0x3b, 0x3f, 0x31] {
            reads.push((op, vec![addr(a)]));
            reads.push((0x50, vec![]));
        }
        reads.push((0x3c, vec![addr(a), u(3), u(1), u(40)]));
    }
    reads.push((0x47, vec![]));
    for n in [
        BLOCK_NUMBER - 1,
        BLOCK_NUMBER - 256,
        BLOCK_NUMBER - 257,
        BLOCK_NUMBER,
        0,
    ] {
        reads.push((0x40, vec![u(n)]));
    }
    reads.push((0x5d, vec![u(7), u(9)]));
    reads.push((0x5c, vec![u(7)]));
    reads.push((0x5d, vec![u(7), u(0)]));
    reads.push((0x5c, vec![u(7)]));
    reads.push((0x52, vec![u(0), U256::MAX]));
    for n in 0..5u8 {
        let mut args = vec![u(1), u(40)];
        args.extend((0..n).map(|t| u(0x1000 + u64::from(t))));
        reads.push((0xa0 + n, args));
    }
    reads.push((0x00, vec![]));
    let ops: Vec<(u8, &[U256])> = reads.iter().map(|(o, a)| (*o, a.as_slice())).collect();
    let obs = check(&Case::program(&program(&ops)), true);
    assert!(obs.failures.is_empty(), "reads: {:#?}", obs.failures);
    assert!(obs.completed.contains(&0xa4) && obs.completed.contains(&0x3c));

    for (beneficiary, balance) in [
        (ABSENT, 1000),
        (ABSENT, 0),
        (TARGET, 1000),
        (EOA, 1000),
        (CONTRACT, 0),
    ] {
        let code = program(&[(0xff, &[addr(beneficiary)])]);
        let case = Case {
            balance,
            ..Case::program(&code)
        };
        let obs = check(&case, true);
        assert!(
            obs.failures.is_empty(),
            "selfdestruct to {beneficiary}: {:#?}",
            obs.failures
        );
        assert_eq!(obs.completed.last(), Some(&0xff));
    }
}

/// Encoded proofs (with their pre-commitments) of every step of a program that touches every
/// kind of witness: stack, memory, calldata, both environments, the world record, tree paths,
/// account records, storage values, base account and slot proofs, codes and block hashes.
fn witness_rich_proofs() -> &'static [(B256, Vec<u8>)] {
    static PROOFS: std::sync::OnceLock<Vec<(B256, Vec<u8>)>> = std::sync::OnceLock::new();
    PROOFS.get_or_init(|| {
        let u = U256::from;
        let ops: &[(u8, &[U256])] = &[
            (0x55, &[u(1), u(9)]),
            (0x54, &[u(1)]),
            (0x54, &[u(2)]),
            (0x31, &[addr(CONTRACT)]),
            (0x3c, &[addr(CONTRACT), u(0), u(0), u(8)]),
            (0x40, &[u(BLOCK_NUMBER - 3)]),
            (0x5d, &[u(1), u(2)]),
            (0xa2, &[u(0), u(33), u(5), u(6)]),
            (0x35, &[u(0)]),
            (0x32, &[]),
            (0x43, &[]),
            (
                0xf1,
                &[u(100_000), addr(RETURNER), u(0), u(0), u(32), u(64), u(64)],
            ),
            (
                0xf1,
                &[u(100_000), addr(REVERTER), u(0), u(0), u(0), u(0), u(40)],
            ),
            (0xf1, &[u(100_000), u(4), u(0), u(0), u(40), u(0), u(40)]),
            (0x00, &[]),
        ];
        let case = Case {
            eip1559: true,
            ..Case::program(&program(ops))
        };
        let mut out = check(&case, false).boundary_proofs;
        let _ = run(&case, |_, s| {
            if s.record.status == Status::Running || s.record.depth > 0 {
                let (proof, _) = prove(s).expect("provable");
                out.push((s.record.commitment(), proof.encode()));
            }
        });
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Proofs are untrusted input: any proof with bytes changed, inserted or removed either does
    /// not decode or does not verify, and nothing panics.
    #[test]
    fn mutated_proof_bytes_are_rejected(
        which in any::<usize>(),
        at in any::<usize>(),
        byte in any::<u8>(),
        kind in 0u8..3,
    ) {
        let proofs = witness_rich_proofs();
        let (pre, bytes) = &proofs[which % proofs.len()];
        let mut bytes = bytes.clone();
        let i = at % bytes.len();
        match kind {
            0 => bytes[i] ^= byte.max(1),
            1 => bytes.insert(i, byte),
            _ => { bytes.remove(i); }
        }
        if let Ok(proof) = StepProof::decode(&bytes) {
            prop_assert!(verify(*pre, &proof).is_err(), "mutation at {i} verified");
        }
    }

    /// Random bytes after a valid prefix (version, pre-state, code) never panic the verifier.
    #[test]
    fn random_proof_tails_never_panic(
        which in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let proofs = witness_rich_proofs();
        let (pre, bytes) = &proofs[which % proofs.len()];
        let keep = (1 + fraud_vm::state::STATE_ENCODED_LEN).min(bytes.len());
        let mut mutated = bytes[..keep].to_vec();
        mutated.extend(tail);
        if let Ok(proof) = StepProof::decode(&mutated) {
            let _ = verify(*pre, &proof);
        }
    }
}

/// Handwritten call programs: calls that return, revert, halt and recurse, through each call
/// kind, with and without value, to accounts without code and to the precompiles 0x01–0x05;
/// return data copied back and read with RETURNDATACOPY. Each with its name.
fn call_program_list() -> Vec<(&'static str, Case)> {
    let u = U256::from;
    let big = U256::from(u64::MAX);
    // A signature for ecrecover.
    let secret = secp256k1::SecretKey::from_byte_array([7u8; 32]).expect("key");
    let hash = [9u8; 32];
    let sig = secp256k1::SECP256K1
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash), &secret)
        .serialize_compact();
    let v = 27 + i32::from(sig.0) as u64;
    let (r, s) = (
        U256::from_be_slice(&sig.1[..32]),
        U256::from_be_slice(&sig.1[32..]),
    );
    let programs: Vec<(&str, Ops)> = vec![
        (
            "call kinds",
            vec![
                (0x52, vec![u(0), u(0x1234)]),
                (
                    0xf1,
                    vec![big, addr(RETURNER), u(0), u(0), u(32), u(64), u(64)],
                ),
                (0x3d, vec![]),
                (0x3e, vec![u(200), u(8), u(40)]),
                (0x51, vec![u(64)]),
                (0xfa, vec![big, addr(RETURNER), u(0), u(32), u(0), u(32)]),
                (0xf4, vec![big, addr(RETURNER), u(0), u(32), u(300), u(64)]),
                (
                    0xf2,
                    vec![big, addr(RETURNER), u(1), u(0), u(32), u(0), u(0)],
                ),
                // EIP-7702: the delegated account runs RETURNER's code in its own context.
                (
                    0xf1,
                    vec![big, addr(DELEGATED), u(1), u(0), u(32), u(500), u(64)],
                ),
                (0xf4, vec![big, addr(DELEGATED), u(0), u(32), u(500), u(64)]),
                (0x3b, vec![addr(DELEGATED)]),
                (0x3f, vec![addr(DELEGATED)]),
                (0x3c, vec![addr(DELEGATED), u(600), u(0), u(23)]),
                (0x51, vec![u(600)]),
                (0x54, vec![u(2)]),
                (0x00, vec![]),
            ],
        ),
        (
            "revert, halt, recursion",
            vec![
                (
                    0xf1,
                    vec![big, addr(REVERTER), u(0), u(0), u(0), u(0), u(40)],
                ),
                (0x3e, vec![u(64), u(0), u(20)]),
                (
                    0xf1,
                    vec![u(30_000), addr(HALTER), u(0), u(0), u(0), u(0), u(0)],
                ),
                (
                    0xf1,
                    vec![big, addr(RECURSER), u(0), u(0), u(0), u(0), u(0)],
                ),
                (0x00, vec![]),
            ],
        ),
        (
            "value and accounts without code",
            vec![
                (0xf1, vec![u(0), addr(ABSENT), u(2), u(0), u(0), u(0), u(0)]),
                (0xf1, vec![u(0), addr(EOA), u(1), u(0), u(0), u(0), u(0)]),
                (
                    0xf1,
                    vec![u(0), addr(EOA), u(1) << 100, u(0), u(0), u(0), u(0)],
                ),
                (0xf1, vec![big, addr(TARGET), u(0), u(0), u(0), u(0), u(0)]),
                (0x31, vec![addr(ABSENT)]),
                (0x31, vec![addr(EOA)]),
                (0x00, vec![]),
            ],
        ),
        (
            "precompiles",
            vec![
                (0x52, vec![u(0), U256::from_be_bytes(hash)]),
                (0x52, vec![u(32), u(v)]),
                (0x52, vec![u(64), r]),
                (0x52, vec![u(96), s]),
                (0xf1, vec![big, u(1), u(0), u(0), u(128), u(128), u(32)]),
                (0x51, vec![u(128)]),
                (0xf1, vec![big, u(1), u(0), u(0), u(100), u(160), u(32)]),
                (0xf1, vec![big, u(2), u(0), u(3), u(70), u(160), u(32)]),
                (0xf1, vec![big, u(3), u(0), u(3), u(70), u(160), u(32)]),
                (0xf1, vec![big, u(4), u(0), u(3), u(70), u(200), u(70)]),
                (0xfa, vec![u(10), u(4), u(0), u(200), u(70), u(0)]),
                // modexp: 3^5 mod 7 with one-byte lengths.
                (0x52, vec![u(300), u(1)]),
                (0x52, vec![u(332), u(1)]),
                (0x52, vec![u(364), u(1)]),
                (0x53, vec![u(396), u(3)]),
                (0x53, vec![u(397), u(5)]),
                (0x53, vec![u(398), u(7)]),
                (0xf1, vec![big, u(5), u(0), u(300), u(99), u(500), u(1)]),
                (0x51, vec![u(480)]),
                (0x00, vec![]),
            ],
        ),
    ];
    programs
        .into_iter()
        .map(|(name, ops)| {
            let ops: Vec<(u8, &[U256])> = ops.iter().map(|(o, a)| (*o, a.as_slice())).collect();
            let case = Case {
                extra_gas: 2_000_000,
                ..Case::program(&program(&ops))
            };
            (name, case)
        })
        .collect()
}

/// [`call_program_list`] against revm, every step verified.
#[test]
fn call_programs() {
    for (name, case) in &call_program_list() {
        // Tampering clones the state with its whole caller chain at every step: skip it in the
        // deep recursion, whose steps are the same kinds as the shallow programs'.
        let obs = check(case, !name.starts_with("revert"));
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        println!(
            "{name}: {} steps, {} frame exits, depth {}",
            obs.steps, obs.exits, obs.max_depth
        );
        if name.starts_with("revert") {
            assert!(obs.max_depth > 10, "recursion went {} deep", obs.max_depth);
        }
        if name.starts_with("call kinds") || name.starts_with("revert") {
            assert!(obs.exits >= 3);
        }
    }
}

alloy::sol! {
    function transfer(address to, uint256 value) returns (bool);
    function relay(address target, bytes data) payable returns (bytes);
    function tryRelay(address target, bytes data) returns (bool ok);
}

/// The deployed code of a committed artifact (`testdata/artifacts`, compiled by
/// `scripts/build-contracts`).
fn deployed_code(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../testdata/artifacts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(&path).expect("artifact");
    let at = json.find("\"deployedBytecode\"").expect("deployedBytecode");
    let start = at + json[at..].find("\"0x").expect("hex") + 3;
    let end = start + json[start..].find('"').expect("end of hex");
    alloy::primitives::hex::decode(&json[start..end]).expect("hex")
}

/// Every step of real contracts verifies: an OpenZeppelin ERC-20 transfer called directly and
/// through a relay contract (nested frame, logs from two contracts), a transfer beyond the
/// balance whose revert bubbles up through the relay, one the relay swallows, and one to the
/// zero address.
#[test]
fn erc20_transfers() {
    use alloy::sol_types::SolCall;
    const TOKEN: Address = address!("0xa000000000000000000000000000000000000a0a");
    const RELAY: Address = address!("0xb000000000000000000000000000000000000b0b");
    let balance_slot = |holder: Address| {
        let mut preimage = [0u8; 64];
        preimage[12..32].copy_from_slice(holder.as_slice());
        U256::from_be_bytes(alloy::primitives::keccak256(preimage).0)
    };
    let supply = U256::from(10u64).pow(U256::from(24));
    let token = BaseAccount {
        nonce: 1,
        code: deployed_code("TestToken"),
        storage: [
            (balance_slot(CALLER), supply / U256::from(2)),
            (balance_slot(RELAY), supply / U256::from(2)),
            (U256::from(2), supply),
        ]
        .into(),
        ..Default::default()
    };
    let relay = BaseAccount {
        nonce: 1,
        code: deployed_code("Relay"),
        ..Default::default()
    };
    let amount = U256::from(1000);
    let too_much = supply;
    let transfer_to = |to: Address, value: U256| transferCall { to, value }.abi_encode();
    let cases: Vec<(&str, Address, Vec<u8>, Status)> = vec![
        ("direct", TOKEN, transfer_to(EOA, amount), Status::Returned),
        (
            "relayed",
            RELAY,
            relayCall {
                target: TOKEN,
                data: transfer_to(EOA, amount).into(),
            }
            .abi_encode(),
            Status::Returned,
        ),
        (
            "relayed beyond the balance",
            RELAY,
            relayCall {
                target: TOKEN,
                data: transfer_to(EOA, too_much).into(),
            }
            .abi_encode(),
            Status::Reverted,
        ),
        (
            "tried beyond the balance",
            RELAY,
            tryRelayCall {
                target: TOKEN,
                data: transfer_to(EOA, too_much).into(),
            }
            .abi_encode(),
            Status::Returned,
        ),
        (
            "to the zero address",
            TOKEN,
            transfer_to(Address::ZERO, amount),
            Status::Reverted,
        ),
    ];
    for (name, to, calldata, status) in cases {
        let case = Case {
            calldata,
            value: 0,
            extra_gas: 200_000,
            extra: vec![(TOKEN, token.clone()), (RELAY, relay.clone())],
            to,
            ..Case::program(&[])
        };
        let obs = check(&case, true);
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        let world = obs.world.expect("terminal world");
        println!(
            "erc20 {name}: {} steps, {} frame exits, {} logs",
            obs.steps,
            obs.exits,
            world.logs.len()
        );
        assert!(obs.steps > 100, "{name}: only {} steps", obs.steps);
        assert_eq!(obs.status, Some(status), "{name}");
    }
}

/// Runtime code deployed by [`INIT_OK`]: returns the word 42.
const RUNTIME: [u8; 8] = [0x60, 0x2a, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];

/// Initcodes: deploys [`RUNTIME`]; reverts with 32 bytes; returns code starting with 0xef
/// (EIP-3541); stores, writes transient storage and self-destructs to [`EOA`] (EIP-6780, created in
/// the same transaction); stores and halts.
fn initcodes() -> Vec<Vec<u8>> {
    let mut ok = vec![0x67];
    ok.extend(RUNTIME);
    ok.extend([0x5f, 0x52, 0x60, 0x08, 0x60, 0x18, 0xf3]);
    let mut destruct = vec![0x60, 0x01, 0x5f, 0x55, 0x60, 0x05, 0x5f, 0x5d, 0x73];
    destruct.extend(EOA.as_slice());
    destruct.push(0xff);
    vec![
        ok,
        vec![0x60, 0x07, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xfd],
        vec![0x60, 0xef, 0x5f, 0x53, 0x60, 0x01, 0x5f, 0xf3],
        destruct,
        vec![0x60, 0x01, 0x5f, 0x55, 0xfe],
    ]
}

/// Code that writes `init` at memory 0 and runs CREATE (or CREATE2 with `salt`) with `value`,
/// then calls the result (the created address, or 0) with all gas, and pops the call's flag.
fn create_snippet(init: &[u8], value: u8, salt: Option<u8>) -> Vec<u8> {
    let mut word = [0u8; 32];
    word[..init.len()].copy_from_slice(init);
    let mut code = vec![0x7f];
    code.extend(word);
    code.extend([0x5f, 0x52]);
    if let Some(salt) = salt {
        code.extend([0x60, salt]);
    }
    code.extend([0x60, init.len() as u8, 0x5f, 0x60, value]);
    code.push(if salt.is_some() { 0xf5 } else { 0xf0 });
    // CALL(gas, address, 0, 0, 0, 0, 0) with the address left by the create.
    code.extend([0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x85, 0x5a, 0xf1, 0x50, 0x50]);
    code
}

/// Creates: every initcode by CREATE and CREATE2, with and without value; a CREATE2 collision;
/// initcode beyond the EIP-3860 limit; value beyond the balance.
fn create_program_list() -> Vec<(String, Vec<u8>)> {
    let mut programs: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, init) in initcodes().iter().enumerate() {
        for (value, salt) in [(0u8, None), (3, None), (0, Some(1u8)), (1, Some(2))] {
            programs.push((
                format!("initcode {i} value {value} salt {salt:?}"),
                create_snippet(init, value, salt),
            ));
        }
    }
    let twice = [
        create_snippet(&initcodes()[0], 0, Some(9)),
        create_snippet(&initcodes()[0], 0, Some(9)),
    ]
    .concat();
    programs.push(("create2 collision".into(), twice));
    // CREATE of 49153 bytes of initcode halts (EIP-3860).
    programs.push((
        "initcode too large".into(),
        vec![0x62, 0x00, 0xc0, 0x01, 0x5f, 0x5f, 0xf0, 0x00],
    ));
    // CREATE2 with more value than the creator holds fails without a frame (pushes 0).
    programs.push((
        "value beyond the balance".into(),
        vec![0x5f, 0x5f, 0x5f, 0x61, 0x10, 0x00, 0xf5, 0x00],
    ));
    programs
}

/// [`create_program_list`] in revm, every step verified (exits counted).
#[test]
fn create_programs() {
    let programs = create_program_list();
    let mut exits = 0;
    for (name, code) in &programs {
        let case = Case {
            extra_gas: 1_000_000,
            ..Case::program(code)
        };
        let obs = check(&case, true);
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        exits += obs.exits;
    }
    // 20 creates, the 4 calls into deployed code, and the first create and call of the collision.
    assert_eq!(exits, 26, "frame exits");
}

/// A block of transactions traced one after another on revm's committed state: each
/// transaction's start verifies from the Idle state the previous one's end verified to, so the
/// overlay carries across transactions: EIP-2200 original values written by an earlier
/// transaction, a contract created and self-destructed (EIP-6780) and recreated at the same
/// CREATE2 address with empty storage (a new incarnation), a CREATE2 collision with an account
/// created earlier in the block, a call into code deployed earlier in the block, transient
/// storage reset between transactions, and a reverted transaction. Returns the transaction
/// start and end proofs (pre-commitment, encoded proof) in block order.
fn block_of_transactions_boundaries() -> Vec<(B256, Vec<u8>)> {
    let u = U256::from;
    // Initcode: SLOAD(0), SSTORE(0, 1), then SELFDESTRUCT(0x01) if sent value, else STOP.
    let phoenix = [
        0x5f, 0x54, 0x50, 0x60, 0x01, 0x5f, 0x55, 0x34, 0x60, 0x0c, 0x57, 0x00, 0x5b, 0x60, 0x01,
        0xff,
    ];
    let mut program_a = program(&[
        (0x55, &[u(1), u(5)]),
        (0x55, &[u(3), u(9)]),
        (0x5c, &[u(1)]),
        (0x5d, &[u(1), u(1)]),
        (0xa0, &[u(0), u(0)]),
    ]);
    program_a.extend(create_snippet(&phoenix, 1, Some(5)));
    program_a.extend(create_snippet(&initcodes()[0], 0, Some(6)));
    program_a.push(0x00);
    let deployed = TARGET.create2(
        B256::from(u(6)),
        alloy::primitives::keccak256(&initcodes()[0]),
    );
    const CALLER_PROGRAM: Address = address!("0xc000000000000000000000000000000000000c0c");
    let program_b = program(&[
        (
            0xf1,
            &[u(100_000), addr(deployed), u(0), u(0), u(0), u(0), u(32)],
        ),
        (0x51, &[u(0)]),
        (0x3f, &[addr(deployed)]),
        (0x55, &[u(1), u(0)]),
        (0x00, &[]),
    ]);
    let base = Case {
        extra_gas: 1_000_000,
        extra: vec![(
            CALLER_PROGRAM,
            BaseAccount {
                nonce: 1,
                code: program_b,
                storage: [(u(1), u(7))].into(),
                ..Default::default()
            },
        )],
        ..Case::program(&program_a)
    };
    let cases = [
        base.clone(),
        base.clone(),
        Case {
            to: CALLER_PROGRAM,
            ..base.clone()
        },
        Case {
            to: REVERTER,
            value: 0,
            ..base.clone()
        },
        Case {
            eip1559: true,
            ..base.clone()
        },
    ];
    let mut slot = Slot::fresh(&base);
    slot.index = 0;
    slot.gas_before = 0;
    slot.receipts_before = B256::ZERO;
    slot.txs = Arc::new(fraud_vm::tx::Transactions::new(
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| c.record(i as u64))
            .collect(),
    ));
    let mut statuses = Vec::new();
    let mut proofs = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let obs = check_in(&mut slot, case, true);
        proofs.extend(obs.boundary_proofs.iter().cloned());
        assert!(
            obs.failures.is_empty(),
            "transaction {i}: {:#?}",
            obs.failures
        );
        assert_eq!((obs.tx_starts, obs.tx_ends), (1, 1), "transaction {i}");
        assert_eq!(slot.index, i as u64 + 1);
        statuses.push(obs.status);
    }
    assert_eq!(statuses[3], Some(Status::Reverted));
    // The phoenix was created and deleted in three transactions: incarnations 1..=6.
    let phoenix_at = TARGET.create2(B256::from(u(5)), alloy::primitives::keccak256(phoenix));
    assert_eq!(slot.world.account(phoenix_at).incarnation, 6);
    assert!(slot.world.account(phoenix_at).is_empty());
    assert_eq!(
        slot.world.account(deployed).code_hash,
        alloy::primitives::keccak256(RUNTIME)
    );
    assert_eq!(slot.world.storage(TARGET, u(1)), u(5));
    assert_eq!(slot.world.storage(CALLER_PROGRAM, u(1)), U256::ZERO);
    proofs
}

/// [`block_of_transactions_boundaries`]: the block checks against revm: five starts and five
/// ends, and [v0.15] the EIP-1559 transaction's access list (six warm entries) in two start
/// sub-steps (one group, then the top frame's entry).
#[test]
fn block_of_transactions() {
    assert_eq!(block_of_transactions_boundaries().len(), 12);
}

/// blake2f (0x09) through CALL, on the BLAKE2b-512 block of "abc" passed as calldata: the valid
/// call, one byte short, and with less gas than rounds.
fn blake2f_case() -> Case {
    let u = U256::from;
    let iv: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    let mut input = vec![0, 0, 0, 12];
    for (i, word) in iv.iter().enumerate() {
        let h = if i == 0 { word ^ 0x0101_0040 } else { *word };
        input.extend_from_slice(&h.to_le_bytes());
    }
    let mut block = [0u8; 128];
    block[..3].copy_from_slice(b"abc");
    input.extend_from_slice(&block);
    input.extend_from_slice(&3u64.to_le_bytes());
    input.extend_from_slice(&0u64.to_le_bytes());
    input.push(1);
    let code = program(&[
        (0x37, &[u(0), u(0), u(213)]),
        (0xf1, &[u(100_000), u(9), u(0), u(0), u(213), u(300), u(64)]),
        (0x51, &[u(300)]),
        (0x51, &[u(332)]),
        (0xf1, &[u(100_000), u(9), u(0), u(0), u(212), u(400), u(64)]),
        (0xf1, &[u(11), u(9), u(0), u(0), u(213), u(400), u(64)]),
        (0x00, &[]),
    ]);
    Case {
        calldata: input,
        ..Case::program(&code)
    }
}

/// blake2f (0x09) through CALL: the EIP-152 vector, a short input, too little gas.
#[test]
fn blake2f_calls() {
    let obs = check(&blake2f_case(), true);
    assert!(obs.failures.is_empty(), "{:#?}", obs.failures);
}

/// The alt_bn128 precompiles through CALL: ecAdd and ecMul of the generator, a pairing product
/// that is one, a single pairing that is not, the empty pairing, a point off the curve and a
/// pairing input of the wrong length.
fn bn254_case() -> Case {
    use ark_ec::AffineRepr;
    use ark_ff::{BigInteger, PrimeField};
    let u = U256::from;
    let fq = |x: ark_bn254::Fq| x.into_bigint().to_bytes_be();
    let g1 = |p: ark_bn254::G1Affine| {
        let (x, y) = p.xy().expect("finite");
        [fq(x), fq(y)].concat()
    };
    let g = ark_bn254::G1Affine::generator();
    let q = ark_bn254::G2Affine::generator();
    let (qx, qy) = q.xy().expect("finite");
    let q_bytes = [fq(qx.c1), fq(qx.c0), fq(qy.c1), fq(qy.c0)].concat();
    let mut data = Vec::new();
    data.extend([g1(g), g1(g)].concat()); // 0..128: ecAdd
    data.extend(g1(g)); // 128..224: ecMul by 3
    data.extend(u(3).to_be_bytes::<32>());
    data.extend([g1(g), q_bytes.clone(), g1(-g), q_bytes].concat()); // 224..608: pairing
    data.extend([vec![0u8; 31], vec![1], vec![0u8; 31], vec![3]].concat()); // 608..672: (1, 3)
    let big = u(1_000_000);
    let code = program(&[
        (0x37, &[u(0), u(0), u(data.len() as u64)]),
        (0xf1, &[big, u(6), u(0), u(0), u(128), u(1000), u(64)]),
        (0x51, &[u(1000)]),
        (0xf1, &[big, u(7), u(0), u(128), u(96), u(1000), u(64)]),
        (0x51, &[u(1032)]),
        (0xf1, &[big, u(8), u(0), u(224), u(384), u(1100), u(32)]),
        (0x51, &[u(1100)]),
        (0xf1, &[big, u(8), u(0), u(224), u(192), u(1100), u(32)]),
        (0x51, &[u(1100)]),
        (0xf1, &[big, u(8), u(0), u(0), u(0), u(1100), u(32)]),
        (0xf1, &[big, u(6), u(0), u(608), u(64), u(1000), u(64)]),
        (0xf1, &[big, u(8), u(0), u(224), u(100), u(1100), u(32)]),
        (0xf1, &[u(100), u(7), u(0), u(128), u(96), u(1000), u(64)]),
        (0x00, &[]),
    ]);
    Case {
        calldata: data,
        extra_gas: 2_000_000,
        ..Case::program(&code)
    }
}

/// [`bn254_case`] against revm.
#[test]
fn bn254_calls() {
    let obs = check(&bn254_case(), true);
    assert!(obs.failures.is_empty(), "{:#?}", obs.failures);
}

/// The L2's precompiles for the harness: the rollup's set (`fraud_vm::precompiles::rollup`:
/// op-revm's OP Stack Isthmus set, Prague's with P256VERIFY at 0x0100, with the rollup's bounds
/// on modexp and the bn254 and BLS12-381 MSM and pairing precompiles), the set `op-node`
/// executes with, run by the otherwise plain Prague EVM.
fn l2_precompiles() -> revm::handler::EthPrecompiles {
    revm::handler::EthPrecompiles {
        precompiles: fraud_vm::precompiles::rollup(),
        spec: SpecId::PRAGUE,
    }
}

/// A precompile call of a test program: where its input sits in the calldata, its length, the
/// gas it is given, and whether it must succeed.
struct PrecompileCall {
    address: u64,
    offset: usize,
    len: usize,
    gas: u64,
    ok: bool,
}

/// A program that copies `data` to memory, then makes each call with CALL and halts (an invalid
/// jump) as soon as one succeeds where it must fail or the reverse, so the expectations are
/// checked against revm's own run; every step is verified against revm by [`check`].
fn precompile_program(calls: &[PrecompileCall], out: usize) -> Vec<u8> {
    let u = U256::from;
    let mut ops: Vec<(u8, Vec<U256>)> = Vec::new();
    for c in calls {
        ops.push((
            0xf1,
            vec![
                u(c.gas),
                u(c.address),
                u(0),
                u(c.offset as u64),
                u(c.len as u64),
                u(out as u64),
                u(256),
            ],
        ));
        if c.ok {
            ops.push((0x15, vec![]));
        }
        // JUMPI to byte 0 (not a JUMPDEST) halts iff the flag is set.
        ops.push((0x57, vec![u(0)]));
    }
    ops.push((0x00, vec![]));
    let ops: Vec<(u8, &[U256])> = ops.iter().map(|(o, a)| (*o, a.as_slice())).collect();
    program(&ops)
}

/// The transaction of [`check_precompile_calls`]: `data` as calldata, copied to memory 0, then
/// the calls of [`precompile_program`].
fn precompile_case(data: &[u8], calls: &[PrecompileCall]) -> Case {
    let u = U256::from;
    let mut code = program(&[(0x37, &[u(0), u(0), u(data.len() as u64)])]);
    // Outputs go above every input.
    let inputs_end = calls.iter().map(|c| c.offset + c.len).max().unwrap_or(0);
    code.extend(precompile_program(
        calls,
        data.len().max(inputs_end).next_multiple_of(32),
    ));
    let gas: u64 = calls.iter().map(|c| c.gas.min(30_000_000)).sum();
    Case {
        calldata: data.to_vec(),
        extra_gas: gas + 3_000_000,
        ..Case::program(&code)
    }
}

/// Runs the calls on `data` (copied from calldata to memory 0) and checks every step against
/// revm, the expectations, and that a post-state with the call's gas, return data or success
/// flag changed is not what the verifier computes.
fn check_precompile_calls(name: &str, data: &[u8], calls: &[PrecompileCall], tamper: bool) {
    let case = precompile_case(data, calls);
    let obs = check(&case, tamper);
    assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
    assert_eq!(
        obs.status,
        Some(Status::Stopped),
        "{name}: a call's outcome differs from the expectation"
    );
    let sizes: Vec<usize> = obs
        .proof_sizes
        .iter()
        .filter(|(kind, _)| kind == "Call")
        .map(|(_, n)| *n)
        .collect();
    println!("{name}: {} steps, CALL proof bytes {sizes:?}", obs.steps);

    // Mutated claims: the verifier's post-state is revm's, so any other post-state is refuted.
    let mut refuted = 0;
    let _ = run(&case, |_, state| {
        let running = state.record.status == Status::Running;
        if !running || state.code.get(state.record.pc as usize) != Some(&0xf1) {
            return;
        }
        let pre = state.record.commitment();
        let Ok((proof, transition)) = prove(state) else {
            return;
        };
        let honest = transition.post;
        let mut gas = honest.clone();
        gas.gas ^= 1;
        let mut output = honest.clone();
        output.returndata_root = fraud_vm::merkle::WordTree::from_bytes(&[1]).root();
        let mut flag = honest.clone();
        flag.stack_root = B256::repeat_byte(7);
        let got = verify(pre, &proof).expect("verifies");
        assert_eq!(got, honest.commitment());
        for m in [gas, output, flag] {
            assert_ne!(
                got,
                m.commitment(),
                "{name}: a mutated post-state is accepted"
            );
        }
        refuted += 1;
    });
    assert_eq!(refuted, calls.len(), "{name}");
}

/// Input of a valid KZG point evaluation: c-kzg-4844's `verify_kzg_proof_case_correct_proof_4_4`
/// (mainnet setup), also revm-precompile's `basic_test`.
fn kzg_vector() -> Vec<u8> {
    use alloy::primitives::hex;
    use sha2::Digest;
    let commitment = hex!(
        "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7"
    );
    let z = hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000");
    let y = hex!("1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9");
    let proof = hex!(
        "a62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c"
    );
    let mut hash: [u8; 32] = sha2::Sha256::digest(commitment).into();
    hash[0] = 1;
    [&hash[..], &z, &y, &commitment, &proof].concat()
}

/// A point evaluation input with `commitment` and `proof` (48 bytes each) and a matching
/// versioned hash.
fn kzg_input(z: [u8; 32], y: [u8; 32], commitment: &[u8], proof: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut hash: [u8; 32] = sha2::Sha256::digest(commitment).into();
    hash[0] = 1;
    [&hash[..], &z, &y, commitment, proof].concat()
}

/// The KZG point evaluation (0x0a) through CALL: the c-kzg vector, the opening of the zero
/// polynomial (infinity commitment and proof), a wrong `y` (bad proof), a wrong versioned hash,
/// `z = r` and `y = r` (non-canonical), commitments with the compression flag clear, the
/// infinity flag with the sign flag, `x ≥ p`, a point off the curve, a point outside the
/// subgroup, a short input, and too little gas.
fn kzg_call_list() -> (Vec<u8>, Vec<PrecompileCall>) {
    use alloy::primitives::hex;
    let r = hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001");
    let mut infinity = [0u8; 48];
    infinity[0] = 0xc0;
    let valid = kzg_vector();
    let (commitment, proof) = (&valid[96..144], &valid[144..192]);
    let z: [u8; 32] = valid[32..64].try_into().expect("32 bytes");
    let y: [u8; 32] = valid[64..96].try_into().expect("32 bytes");
    let mut inputs: Vec<(Vec<u8>, bool)> = vec![
        (valid.clone(), true),
        (kzg_input([5; 32], [0; 32], &infinity, &infinity), true),
    ];
    let mut wrong_y = valid.clone();
    wrong_y[95] ^= 1;
    inputs.push((wrong_y, false));
    let mut wrong_hash = valid.clone();
    wrong_hash[0] = 2;
    inputs.push((wrong_hash, false));
    inputs.push((kzg_input(r, y, commitment, proof), false));
    inputs.push((kzg_input(z, r, commitment, proof), false));
    let mut uncompressed = commitment.to_vec();
    uncompressed[0] &= 0x7f;
    inputs.push((kzg_input(z, y, &uncompressed, proof), false));
    let mut signed_infinity = infinity;
    signed_infinity[0] = 0xe0;
    inputs.push((
        kzg_input([5; 32], [0; 32], &signed_infinity, &infinity),
        false,
    ));
    // x = p with the compression flag.
    let mut x_p = hex!(
        "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
    );
    x_p[0] |= 0x80;
    inputs.push((kzg_input(z, y, &x_p, proof), false));
    // x with no point on the curve, and x = 0 (the point (0, ±2), outside the subgroup).
    let (mut off, mut outside) = (None, [0u8; 48]);
    outside[0] = 0x80;
    for x in 1u64.. {
        let fx = ark_bls12_381::Fq::from(x);
        if ark_bls12_381::G1Affine::get_point_from_x_unchecked(fx, false).is_none() {
            let mut b = [0u8; 48];
            b[40..].copy_from_slice(&x.to_be_bytes());
            b[0] |= 0x80;
            off = Some(b);
            break;
        }
    }
    let off = off.expect("an x off the curve");
    inputs.push((kzg_input(z, y, &off, proof), false));
    inputs.push((kzg_input(z, y, &outside, proof), false));
    inputs.push((kzg_input(z, y, commitment, &outside), false));
    // A point of the cofactor's torsion (r · P for P on the curve): outside the subgroup, and
    // the pairing equation alone would accept it as the commitment of the zero opening.
    let torsion = {
        use ark_ec::AffineRepr;
        use ark_ff::PrimeField;
        use ark_serialize::CanonicalSerialize;
        let p = bls::g1_outside();
        let t = p.mul_bigint(ark_bls12_381::Fr::MODULUS);
        let mut b = Vec::new();
        ark_ec::CurveGroup::into_affine(t)
            .serialize_compressed(&mut b)
            .expect("serializes");
        b
    };
    inputs.push((kzg_input([5; 32], [0; 32], &torsion, &infinity), false));
    inputs.push((kzg_input([5; 32], [0; 32], &infinity, &torsion), false));

    let mut data = Vec::new();
    let mut calls = Vec::new();
    for (input, ok) in inputs {
        calls.push(PrecompileCall {
            address: 0x0a,
            offset: data.len(),
            len: input.len(),
            gas: 60_000,
            ok,
        });
        data.extend(input);
    }
    calls.push(PrecompileCall {
        address: 0x0a,
        offset: 0,
        len: 191,
        gas: 60_000,
        ok: false,
    });
    calls.push(PrecompileCall {
        address: 0x0a,
        offset: 0,
        len: 192,
        gas: 49_999,
        ok: false,
    });
    (data, calls)
}

/// [`kzg_call_list`] against revm.
#[test]
fn kzg_point_evaluation_calls() {
    let (data, calls) = kzg_call_list();
    check_precompile_calls("kzg", &data, &calls, true);
}

/// BLS12-381 encodings for the tests: a padded field element, G1 and G2 points.
mod bls {
    use ark_bls12_381::{Fq, Fq2, G1Affine, G2Affine};
    use ark_ec::AffineRepr;
    use ark_ff::{BigInteger, PrimeField};

    pub fn fp(x: Fq) -> Vec<u8> {
        [vec![0u8; 16], x.into_bigint().to_bytes_be()].concat()
    }

    pub fn g1(p: G1Affine) -> Vec<u8> {
        match p.xy() {
            Some((x, y)) => [fp(x), fp(y)].concat(),
            None => vec![0u8; 128],
        }
    }

    pub fn g2(p: G2Affine) -> Vec<u8> {
        match p.xy() {
            Some((x, y)) => [fp(x.c0), fp(x.c1), fp(y.c0), fp(y.c1)].concat(),
            None => vec![0u8; 256],
        }
    }

    /// A G1 point on the curve outside the r-order subgroup.
    pub fn g1_outside() -> G1Affine {
        (1u64..)
            .filter_map(|x| G1Affine::get_point_from_x_unchecked(Fq::from(x), true))
            .find(|p| !p.is_in_correct_subgroup_assuming_on_curve())
            .expect("a point outside the subgroup")
    }

    /// A G2 point on the curve outside the r-order subgroup.
    pub fn g2_outside() -> G2Affine {
        (1u64..)
            .filter_map(|x| {
                G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(x), Fq::from(1u64)), true)
            })
            .find(|p| !p.is_in_correct_subgroup_assuming_on_curve())
            .expect("a point outside the subgroup")
    }

    /// The base field modulus as a padded (non-canonical) element.
    pub fn p() -> Vec<u8> {
        [vec![0u8; 16], Fq::MODULUS.to_bytes_be()].concat()
    }
}

/// Appends `input` to `data` and returns its call.
fn call_on(data: &mut Vec<u8>, address: u64, input: &[u8], gas: u64, ok: bool) -> PrecompileCall {
    let call = PrecompileCall {
        address,
        offset: data.len(),
        len: input.len(),
        gas,
        ok,
    };
    data.extend_from_slice(input);
    call
}

/// EIP-2537 through CALL, against revm (blst): each precompile on valid inputs (sums, the
/// infinity, points outside the subgroup where no check applies, scalars of zero and beyond r,
/// an MSM of 128 pairs at the discount table's end and the rollup's bound, a pairing product
/// that is one and one that is not), and each failure class: wrong length, empty input, non-zero padding, a coordinate equal
/// to p, a point off the curve, a point outside the subgroup, too little gas.
fn bls12_381_call_list() -> (Vec<u8>, Vec<PrecompileCall>) {
    use ark_bls12_381::{Fq, Fq2, G1Affine, G2Affine};
    use ark_ec::{AffineRepr, CurveGroup};
    let g = G1Affine::generator();
    let h = G2Affine::generator();
    let g2x = (g * ark_bls12_381::Fr::from(2u64)).into_affine();
    let h3 = (h * ark_bls12_381::Fr::from(3u64)).into_affine();
    let (g_out, h_out) = (bls::g1_outside(), bls::g2_outside());
    let scalar = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let beyond_r = U256::MAX.to_be_bytes::<32>().to_vec();
    let mut bad_pad = bls::g1(g);
    bad_pad[15] = 1;
    let non_canonical_g1 = [bls::p(), bls::g1(g)[64..].to_vec()].concat();
    let off_g1 = [bls::fp(Fq::from(1u64)), bls::fp(Fq::from(1u64))].concat();
    let off_g2 = [bls::g2(h)[..192].to_vec(), bls::fp(Fq::from(1u64))].concat();
    let mut bad_pad_g2 = bls::g2(h);
    bad_pad_g2[64] = 1;

    let mut data = Vec::new();
    let mut calls = Vec::new();
    let mut c = |data: &mut Vec<u8>, a: u64, input: Vec<u8>, gas: u64, ok: bool| {
        calls.push(call_on(data, a, &input, gas, ok));
    };
    // G1ADD (0x0b)
    c(
        &mut data,
        0x0b,
        [bls::g1(g), bls::g1(g2x)].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(g), bls::g1(-g)].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(G1Affine::zero()), bls::g1(g_out)].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(g_out), bls::g1(g_out)].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(g), off_g1.clone()].concat(),
        1000,
        false,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(g), bad_pad.clone()].concat(),
        1000,
        false,
    );
    c(
        &mut data,
        0x0b,
        [bls::g1(g), non_canonical_g1.clone()].concat(),
        1000,
        false,
    );
    c(&mut data, 0x0b, bls::g1(g), 1000, false);
    c(
        &mut data,
        0x0b,
        [bls::g1(g), bls::g1(g)].concat(),
        374,
        false,
    );
    // G2ADD (0x0d)
    c(
        &mut data,
        0x0d,
        [bls::g2(h), bls::g2(h3)].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0d,
        [bls::g2(h_out), bls::g2(G2Affine::zero())].concat(),
        1000,
        true,
    );
    c(
        &mut data,
        0x0d,
        [bls::g2(h), off_g2.clone()].concat(),
        1000,
        false,
    );
    c(
        &mut data,
        0x0d,
        [bls::g2(h), bad_pad_g2.clone()].concat(),
        1000,
        false,
    );
    c(
        &mut data,
        0x0d,
        [bls::g2(h), bls::g2(h)].concat(),
        599,
        false,
    );
    let non_canonical_g2 = [
        bls::g2(h)[..64].to_vec(),
        bls::p(),
        bls::g2(h)[128..].to_vec(),
    ]
    .concat();
    c(
        &mut data,
        0x0d,
        [bls::g2(h), non_canonical_g2.clone()].concat(),
        1000,
        false,
    );
    c(
        &mut data,
        0x0d,
        [bls::g2(h), bls::g2(h)].concat()[..511].to_vec(),
        1000,
        false,
    );
    // G1MSM (0x0c)
    c(
        &mut data,
        0x0c,
        [bls::g1(g), scalar(3)].concat(),
        20_000,
        true,
    );
    let two = [bls::g1(g), scalar(5), bls::g1(g2x), beyond_r.clone()].concat();
    c(&mut data, 0x0c, two.clone(), 30_000, true);
    c(
        &mut data,
        0x0c,
        [bls::g1(G1Affine::zero()), scalar(5), bls::g1(g), scalar(0)].concat(),
        30_000,
        true,
    );
    // 128 pairs: the table's last discount and the rollup's bound (SPEC.md §5.15 "Bounds").
    let many: Vec<u8> = (0..128u64)
        .flat_map(|i| [bls::g1(if i % 2 == 0 { g } else { g2x }), scalar(i * 7919)].concat())
        .collect();
    c(&mut data, 0x0c, many, 1_000_000, true);
    c(
        &mut data,
        0x0c,
        [bls::g1(g_out), scalar(1)].concat(),
        20_000,
        false,
    );
    c(
        &mut data,
        0x0c,
        [bls::g1(g_out), scalar(0)].concat(),
        20_000,
        false,
    );
    c(
        &mut data,
        0x0c,
        [off_g1.clone(), scalar(1)].concat(),
        20_000,
        false,
    );
    c(&mut data, 0x0c, two[..159].to_vec(), 30_000, false);
    c(&mut data, 0x0c, two, 22_775, false); // 2 · 12000 · 949 / 1000 = 22776
    // G2MSM (0x0e)
    c(
        &mut data,
        0x0e,
        [bls::g2(h), scalar(3), bls::g2(h3), beyond_r].concat(),
        60_000,
        true,
    );
    c(
        &mut data,
        0x0e,
        [bls::g2(h_out), scalar(2)].concat(),
        60_000,
        false,
    );
    c(
        &mut data,
        0x0e,
        [bls::g2(h), scalar(2)].concat(),
        22_499,
        false,
    );
    c(
        &mut data,
        0x0e,
        [off_g2.clone(), scalar(2)].concat(),
        60_000,
        false,
    );
    c(
        &mut data,
        0x0e,
        [non_canonical_g2, scalar(2)].concat(),
        60_000,
        false,
    );
    c(
        &mut data,
        0x0e,
        [bls::g2(h), scalar(2)].concat()[..287].to_vec(),
        60_000,
        false,
    );
    c(
        &mut data,
        0x0c,
        [non_canonical_g1.clone(), scalar(2)].concat(),
        60_000,
        false,
    );
    // PAIRING_CHECK (0x0f): e(g, 3h) · e(−3g, h) = 1; e(g, h) ≠ 1.
    let g3 = (g * ark_bls12_381::Fr::from(3u64)).into_affine();
    let one = [bls::g1(g), bls::g2(h3), bls::g1(-g3), bls::g2(h)].concat();
    c(&mut data, 0x0f, one.clone(), 200_000, true);
    c(
        &mut data,
        0x0f,
        [bls::g1(g), bls::g2(h)].concat(),
        200_000,
        true,
    );
    c(
        &mut data,
        0x0f,
        [bls::g1(G1Affine::zero()), bls::g2(h)].concat(),
        200_000,
        true,
    );
    c(
        &mut data,
        0x0f,
        [bls::g1(g), bls::g2(h_out)].concat(),
        200_000,
        false,
    );
    c(
        &mut data,
        0x0f,
        [bls::g1(g_out), bls::g2(G2Affine::zero())].concat(),
        200_000,
        false,
    );
    c(
        &mut data,
        0x0f,
        [off_g1.clone(), bls::g2(h)].concat(),
        200_000,
        false,
    );
    c(
        &mut data,
        0x0f,
        [bls::g1(g), off_g2.clone()].concat(),
        200_000,
        false,
    );
    c(&mut data, 0x0f, one[..383].to_vec(), 200_000, false);
    c(&mut data, 0x0f, one, 37_700 + 2 * 32_600 - 1, false);
    // MAP_FP_TO_G1 (0x10), MAP_FP2_TO_G2 (0x11)
    c(&mut data, 0x10, bls::fp(Fq::from(0u64)), 10_000, true);
    c(&mut data, 0x10, bls::fp(-Fq::from(12345u64)), 10_000, true);
    c(&mut data, 0x10, bls::p(), 10_000, false);
    c(&mut data, 0x10, bad_pad[..64].to_vec(), 10_000, false);
    c(&mut data, 0x10, bls::fp(Fq::from(1u64)), 5_499, false);
    let u2 = Fq2::new(Fq::from(7u64), -Fq::from(3u64));
    c(
        &mut data,
        0x11,
        [bls::fp(u2.c0), bls::fp(u2.c1)].concat(),
        30_000,
        true,
    );
    c(&mut data, 0x11, vec![0u8; 128], 30_000, true);
    c(
        &mut data,
        0x11,
        [bls::fp(u2.c0), bls::p()].concat(),
        30_000,
        false,
    );
    c(&mut data, 0x11, bls::fp(u2.c0), 30_000, false);
    c(&mut data, 0x11, vec![0u8; 128], 23_799, false);
    // Empty inputs fail for every BLS12-381 precompile.
    for a in 0x0b..=0x11 {
        c(&mut data, a, Vec::new(), 100_000, false);
    }
    (data, calls)
}

/// [`bls12_381_call_list`] against revm (blst).
#[test]
fn bls12_381_calls() {
    let (data, calls) = bls12_381_call_list();
    check_precompile_calls("bls12-381", &data, &calls, true);
}

/// P256VERIFY (0x0100, RIP-7212 with the OP Stack's gas) through CALL, against op-revm's
/// precompile: daimo-eth/p256-verifier vectors (valid, wrong message), the high-s twin of a
/// valid signature, r = 0, s = n, a public key off the curve and one with x ≥ p, inputs of 159
/// and 161 bytes (all succeed with empty output) and too little gas (fails).
fn p256_inputs() -> Vec<Vec<u8>> {
    use alloy::primitives::hex;
    let valid = [
        hex!(
            "4cee90eb86eaa050036147a12d49004b6b9c72bd725d39d4785011fe190f0b4da73bd4903f0ce3b639bbbf6e8e80d16931ff4bcf5993d58468e8fb19086e8cac36dbcd03009df8c59286b162af3bd7fcc0450c9aa81be5d10d312af6c66b1d604aebd3099c618202fcfe16ae7770b0c49ab5eadf74b754204a3bb6060e44eff37618b065f9832de4ca6ca971a7a1adc826d0f7c00181a5fb2ddf79ae00b4e10e"
        ),
        hex!(
            "3fec5769b5cf4e310a7d150508e82fb8e3eda1c2c94c61492d3bd8aea99e06c9e22466e928fdccef0de49e3503d2657d00494a00e764fd437bdafa05f5922b1fbbb77c6817ccf50748419477e843d5bac67e6a70e97dde5a57e0c983b777e1ad31a80482dadf89de6302b1988c82c29544c9c07bb910596158f6062517eb089a2f54c9a0f348752950094d3228d3b940258c75fe2a413cb70baa21dc2e352fc5"
        ),
    ];
    let n = U256::from_be_slice(&hex!(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    ));
    let p = hex!("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    let mut inputs: Vec<Vec<u8>> = valid.iter().map(|v| v.to_vec()).collect();
    let mut wrong = valid[0];
    wrong[0] = 0x3c;
    inputs.push(wrong.to_vec());
    let mut high_s = valid[0];
    let s = U256::from_be_slice(&high_s[64..96]);
    high_s[64..96].copy_from_slice(&(n - s).to_be_bytes::<32>());
    inputs.push(high_s.to_vec());
    let mut r0 = valid[0];
    r0[32..64].fill(0);
    inputs.push(r0.to_vec());
    let mut s_n = valid[0];
    s_n[64..96].copy_from_slice(&n.to_be_bytes::<32>());
    inputs.push(s_n.to_vec());
    let mut off = valid[0];
    off[159] ^= 1;
    inputs.push(off.to_vec());
    let mut x_p = valid[0];
    x_p[96..128].copy_from_slice(&p);
    inputs.push(x_p.to_vec());
    inputs.push(valid[0][..159].to_vec());
    inputs.push([&valid[0][..], &[0]].concat());
    inputs
}

/// Calls of [`p256_inputs`] with enough gas, then one with too little.
fn p256_call_list() -> (Vec<u8>, Vec<PrecompileCall>) {
    let mut data = Vec::new();
    let mut calls: Vec<PrecompileCall> = p256_inputs()
        .iter()
        .map(|i| call_on(&mut data, 0x100, i, 5000, true))
        .collect();
    calls.push(PrecompileCall {
        address: 0x100,
        offset: 0,
        len: 160,
        gas: 3449,
        ok: false,
    });
    (data, calls)
}

/// [`p256_call_list`] against op-revm's precompile.
#[test]
fn p256_calls() {
    let (data, calls) = p256_call_list();
    // The outcome of each valid-length call is its output: RETURNDATASIZE after each call is
    // checked by the step verification (the return data root), and here by revm directly.
    check_precompile_calls("p256", &data, &calls, true);
    let inputs = p256_inputs();
    let expected: Vec<bool> = vec![
        true, true, false, true, false, false, false, false, false, false,
    ];
    for (input, want) in inputs.iter().zip(expected) {
        let out = revm::precompile::secp256r1::p256_verify(input, 5000).expect("runs");
        assert_eq!(
            out.bytes.len() == 32,
            want,
            "{}",
            alloy::primitives::hex::encode(input)
        );
    }
}

/// Valid inputs of the precompiles 0x0a–0x11 and 0x0100 with the gas each uses.
fn valid_precompile_inputs() -> Vec<(u64, Vec<u8>, u64)> {
    use alloy::primitives::hex;
    use ark_bls12_381::{Fq, Fr, G1Affine, G2Affine};
    use ark_ec::{AffineRepr, CurveGroup};
    let g = G1Affine::generator();
    let h = G2Affine::generator();
    let g5 = (g * Fr::from(5u64)).into_affine();
    let h3 = (h * Fr::from(3u64)).into_affine();
    let g3 = (g * Fr::from(3u64)).into_affine();
    let scalar = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    vec![
        (0x0a, kzg_vector(), 50_000),
        (0x0b, [bls::g1(g), bls::g1(g5)].concat(), 375),
        (0x0c, [bls::g1(g), scalar(9), bls::g1(g5), scalar(2)].concat(), 22_776),
        (0x0d, [bls::g2(h), bls::g2(h3)].concat(), 600),
        (0x0e, [bls::g2(h3), scalar(11)].concat(), 22_500),
        (
            0x0f,
            [bls::g1(g), bls::g2(h3), bls::g1(-g3), bls::g2(h)].concat(),
            37_700 + 2 * 32_600,
        ),
        (0x10, bls::fp(Fq::from(99u64)), 5_500),
        (0x11, [bls::fp(Fq::from(4u64)), bls::fp(-Fq::from(8u64))].concat(), 23_800),
        (0x100, hex!("4cee90eb86eaa050036147a12d49004b6b9c72bd725d39d4785011fe190f0b4da73bd4903f0ce3b639bbbf6e8e80d16931ff4bcf5993d58468e8fb19086e8cac36dbcd03009df8c59286b162af3bd7fcc0450c9aa81be5d10d312af6c66b1d604aebd3099c618202fcfe16ae7770b0c49ab5eadf74b754204a3bb6060e44eff37618b065f9832de4ca6ca971a7a1adc826d0f7c00181a5fb2ddf79ae00b4e10e").to_vec(), 3_450),
    ]
}

/// A change to a valid precompile input: none, one byte xored, one byte set, cut, extended.
#[derive(Clone, Debug)]
enum InputMutation {
    None,
    Xor(usize, u8),
    Set(usize, u8),
    Cut(usize),
    Extend(u8),
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Valid inputs of the new precompiles with one random change (flipped bits, set bytes in the
    /// flags, padding and coordinates, cut or extended inputs) and the exact gas, one less, or
    /// plenty: every step against revm with the L2's precompiles.
    #[test]
    fn mutated_precompile_inputs_match_revm(
        which in 0usize..9,
        mutation in prop_oneof![
            1 => Just(InputMutation::None),
            4 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| InputMutation::Xor(i, x)),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(i, x)| InputMutation::Set(i, x)),
            1 => any::<usize>().prop_map(InputMutation::Cut),
            1 => any::<u8>().prop_map(InputMutation::Extend),
        ],
        gas_kind in 0u8..3,
    ) {
        let (address, mut input, exact) = valid_precompile_inputs().swap_remove(which);
        let n = input.len();
        match mutation {
            InputMutation::None => {}
            InputMutation::Xor(i, x) => input[i % n] ^= x,
            InputMutation::Set(i, x) => input[i % n] = x,
            InputMutation::Cut(i) => input.truncate(i % n),
            InputMutation::Extend(x) => input.push(x),
        }
        let gas = [exact - 1, exact, 1_000_000][gas_kind as usize];
        let u = U256::from;
        let code = program(&[
            (0x37, &[u(0), u(0), u(input.len() as u64)]),
            (0xf1, &[u(gas), u(address), u(0), u(0), u(input.len() as u64), u(1024), u(256)]),
            (0x00, &[]),
        ]);
        let case = Case {
            calldata: input,
            extra_gas: 1_200_000,
            ..Case::program(&code)
        };
        let obs = check(&case, false);
        prop_assert!(obs.failures.is_empty(), "{:#?}", obs.failures);
    }
}

/// A modexp input: the three lengths, then the base, exponent and modulus as given.
fn modexp_input(b: &[u8], e: &[u8], m: &[u8]) -> Vec<u8> {
    let len = |v: &[u8]| U256::from(v.len()).to_be_bytes::<32>().to_vec();
    [len(b), len(e), len(m), b.to_vec(), e.to_vec(), m.to_vec()].concat()
}

/// The rollup's precompile bounds (SPEC.md §5.15 "Bounds", `fraud_vm::precompiles`), each as
/// one program (name, calldata, calls): the call at the bound succeeds and the call one past it
/// fails with enough gas for OP Isthmus, which would accept it. ecPairing, G1MSM, G2MSM and
/// PAIRING_CHECK at 128 pairs and 129 (valid pairs repeated, so the product of the pairings is
/// one); modexp at 1024-byte operands and with a 1025-byte base or exponent, at an Osaka price
/// of 3,995,648 (a 256-byte modulus, a 138-byte exponent) and past 4,000,000 (139 bytes), and
/// the heaviest L2 gas the bound allows (704-byte operands, a 32-byte exponent: 658,240 gas,
/// 3,949,440 at Osaka's price) and one word longer (712 bytes: 4,039,710); blake2f at 4,000,000
/// rounds and 4,000,001.
fn precompile_bound_cases() -> Vec<(String, Vec<u8>, Vec<PrecompileCall>)> {
    use ark_bls12_381::{Fr, G1Affine, G2Affine};
    use ark_ec::{AffineRepr, CurveGroup};
    use fraud_vm::precompiles::MAX_PAIRS;
    let bn = bn254_case().calldata;
    let bn_pairs = bn[224..608].to_vec(); // e(g, q) · e(−g, q) = 1
    let g = G1Affine::generator();
    let h = G2Affine::generator();
    let g3 = (g * Fr::from(3u64)).into_affine();
    let h3 = (h * Fr::from(3u64)).into_affine();
    let g5 = (g * Fr::from(5u64)).into_affine();
    let scalar = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let bls_pairs = [bls::g1(g), bls::g2(h3), bls::g1(-g3), bls::g2(h)].concat();
    let g1_pairs = [bls::g1(g), scalar(9), bls::g1(g5), scalar(u64::MAX)].concat();
    let g2_pairs = [bls::g2(h3), scalar(11)].concat();
    let msm = |k: u64, mul: u64, discount: u64| k * mul * discount / 1000;
    let pair_list: [(u64, usize, Vec<u8>, u64, u64); 4] = [
        (
            0x08,
            192,
            bn_pairs,
            45_000 + 34_000 * 128,
            45_000 + 34_000 * 129,
        ),
        (
            0x0c,
            160,
            g1_pairs,
            msm(128, 12_000, 519),
            msm(129, 12_000, 519),
        ),
        (
            0x0e,
            288,
            g2_pairs,
            msm(128, 22_500, 524),
            msm(129, 22_500, 524),
        ),
        (
            0x0f,
            384,
            bls_pairs,
            37_700 + 32_600 * 128,
            37_700 + 32_600 * 129,
        ),
    ];
    let mut cases = Vec::new();
    for (address, pair, block, at_gas, past_gas) in pair_list {
        let past = (MAX_PAIRS + 1) * pair;
        let data: Vec<u8> = block.iter().copied().cycle().take(past).collect();
        let calls = vec![
            PrecompileCall {
                address,
                offset: 0,
                len: MAX_PAIRS * pair,
                gas: at_gas,
                ok: true,
            },
            PrecompileCall {
                address,
                offset: 0,
                len: past,
                gas: past_gas,
                ok: false,
            },
        ];
        cases.push((format!("bound {address:#04x}"), data, calls));
    }
    let odd = |n: usize, seed: u8| -> Vec<u8> {
        let mut v: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        v[0] |= 0x80;
        v[n - 1] |= 1;
        v
    };
    let modexps = [
        // 1024-byte operands, e = 65537: 524,288 at Osaka's price, 87,381 at the L2's.
        (
            modexp_input(&odd(1024, 1), &[1, 0, 1], &odd(1024, 2)),
            87_381,
            true,
        ),
        // A 1025-byte base or exponent fails whatever the price.
        (modexp_input(&odd(1025, 3), &[3], &[7]), 100_000, false),
        (modexp_input(&[2], &odd(1025, 4), &[7]), 3_000_000, false),
        // The Osaka price at the ceiling and past it.
        (
            modexp_input(&odd(256, 5), &[0xff; 138], &odd(256, 6)),
            376_490,
            true,
        ),
        (
            modexp_input(&odd(256, 5), &[0xff; 139], &odd(256, 6)),
            400_000,
            false,
        ),
        // The heaviest L2 gas within the bound, and one word longer.
        (
            modexp_input(&odd(704, 7), &[0xff; 32], &odd(704, 8)),
            658_240,
            true,
        ),
        (
            modexp_input(&odd(712, 7), &[0xff; 32], &odd(712, 8)),
            700_000,
            false,
        ),
    ];
    let mut data = Vec::new();
    let mut calls = Vec::new();
    for (input, gas, ok) in modexps {
        calls.push(PrecompileCall {
            address: 0x05,
            offset: data.len(),
            len: input.len(),
            gas,
            ok,
        });
        data.extend(input);
        data.resize(data.len().next_multiple_of(32), 0);
    }
    cases.push(("bound 0x05".into(), data, calls));
    // blake2f at 4,000,000 rounds and one more (its gas is its rounds).
    let abc = blake2f_case().calldata[..213].to_vec();
    let rounds = |r: u32| [r.to_be_bytes().to_vec(), abc[4..].to_vec()].concat();
    let max = fraud_vm::precompiles::BLAKE2F_MAX_ROUNDS;
    let data = [rounds(max), vec![0; 11], rounds(max + 1)].concat();
    let calls = vec![
        PrecompileCall {
            address: 0x09,
            offset: 0,
            len: 213,
            gas: u64::from(max),
            ok: true,
        },
        PrecompileCall {
            address: 0x09,
            offset: 224,
            len: 213,
            gas: u64::from(max) + 1,
            ok: false,
        },
    ];
    cases.push(("bound 0x09".into(), data, calls));
    cases
}

/// The rollup's precompile bounds against revm running the rollup's set (the trace's and
/// op-node's): every call at a bound succeeds with its exact gas, every call one past it fails
/// with enough gas for OP Isthmus, and every step verifies to revm's post-state.
#[test]
fn op_input_limits() {
    for (name, data, calls) in precompile_bound_cases() {
        check_precompile_calls(&name, &data, &calls, false);
    }
}

/// Creation transactions: every initcode kind, with and without value, deployed code beyond
/// EIP-170, and the deployment of the OpenZeppelin ERC-20 with its constructor, each from the
/// transaction start (which creates the account) to the transaction end (which deposits the
/// code), against revm.
fn creation_transaction_cases() -> Vec<(String, Case)> {
    use alloy::sol_types::SolValue;
    let address = CALLER.create(0);
    let token = {
        let mut code = artifact_field("testdata/artifacts/TestToken.json", "bytecode");
        code.extend(
            (
                "Token".to_string(),
                "TKN".to_string(),
                U256::from(10u64).pow(U256::from(24)),
            )
                .abi_encode_params(),
        );
        code
    };
    let mut initcodes: Vec<(String, Vec<u8>)> = initcodes()
        .into_iter()
        .enumerate()
        .map(|(i, code)| (format!("initcode {i}"), code))
        .collect();
    initcodes.push((
        "code beyond EIP-170".into(),
        vec![0x61, 0x60, 0x01, 0x5f, 0xf3],
    ));
    initcodes.push(("empty initcode".into(), Vec::new()));
    initcodes.push(("OpenZeppelin ERC-20".into(), token));
    let mut cases = Vec::new();
    for (name, initcode) in initcodes {
        for value in [0u64, 3] {
            let case = Case {
                calldata: initcode.clone(),
                value,
                extra_gas: 3_000_000,
                create: true,
                to: address,
                ..Case::program(&[])
            };
            cases.push((format!("{name}, value {value}"), case));
        }
    }
    cases
}

/// [`creation_transaction_cases`] against revm.
#[test]
fn creation_transactions() {
    for (name, case) in creation_transaction_cases() {
        let obs = check(&case, true);
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        assert_eq!((obs.tx_starts, obs.tx_ends), (1, 1), "{name}");
    }
}

/// A transaction to an EIP-7702 delegated account runs the delegate's code (RETURNER's) in the
/// account's context, with the delegate warm, from the transaction start to its end.
#[test]
fn transaction_to_a_delegated_account() {
    for value in [0u64, 2] {
        let case = Case {
            to: DELEGATED,
            value,
            calldata: vec![7; 40],
            ..Case::program(&[])
        };
        let obs = check(&case, true);
        assert!(
            obs.failures.is_empty(),
            "value {value}: {:#?}",
            obs.failures
        );
        assert_eq!((obs.tx_starts, obs.tx_ends), (1, 1));
        assert_eq!(obs.status, Some(Status::Returned));
    }
}

/// Transactions whose top frame runs no opcode, so revm gives no trace: plain transfers (to an
/// account, to an absent one, without value, to oneself) and calls to precompiles. The
/// transaction start step goes straight to the terminal state; the world it commits to is
/// rebuilt by hand, and the transaction end from there is checked against revm's final state.
/// Returns the transaction start and end proofs (pre-commitment, encoded proof).
fn transactions_without_opcodes_boundaries() -> Vec<(B256, Vec<u8>)> {
    let mut proofs = Vec::new();
    use fraud_vm::world::AccountRecord;
    use revm::ExecuteEvm;
    let identity = address!("0x0000000000000000000000000000000000000004");
    let sha256 = address!("0x0000000000000000000000000000000000000002");
    for (to, value) in [
        (EOA, 5u64),
        (ABSENT, 5),
        (ABSENT, 0),
        (CALLER, 5),
        (identity, 0),
        (sha256, 1),
        // P256VERIFY of an input of the wrong length: a success with empty output.
        (address!("0x0000000000000000000000000000000000000100"), 1),
    ] {
        let case = Case {
            to,
            value,
            calldata: vec![1, 0, 2, 3],
            ..Case::program(&[])
        };
        let mut slot = Slot::fresh(&case);
        let before = IdleBefore {
            world: slot.world.clone(),
            gas: slot.gas_before,
            receipts: slot.receipts_before,
            txs: slot.txs.clone(),
        };
        let out = {
            let block = BlockEnv {
                number: U256::from(BLOCK_NUMBER),
                beneficiary: COINBASE,
                timestamp: U256::from(1_700_000_000u64),
                gas_limit: 30_000_000,
                basefee: 7,
                prevrandao: Some(B256::repeat_byte(0x42)),
                ..Default::default()
            };
            let mut evm = Context::mainnet()
                .with_db(&mut slot.db)
                .with_cfg(CfgEnv::new_with_spec(SpecId::PRAGUE))
                .with_block(block)
                .build_mainnet();
            evm.precompiles = l2_precompiles();
            evm.transact(revm_tx(&case, 0)).expect("tx executes")
        };
        let constants = constants(&slot.txs);
        let block_env = fraud_vm::state::BlockEnv {
            coinbase: COINBASE,
            timestamp: U256::from(1_700_000_000u64),
            number: U256::from(BLOCK_NUMBER),
            prevrandao: U256::from_be_bytes([0x42; 32]),
            gas_limit: U256::from(30_000_000),
            basefee: U256::from(7),
            blob_basefee: U256::from(1),
            chain_id: U256::from(1),
            constants_hash: constants.hash(),
            transactions: slot.txs.roots(),
            rules: Default::default(),
        };
        let mut idle = idle_state(&before, block_env.clone(), constants.clone(), 3);
        let pre = idle.record.commitment();
        let (proof, start) = prove(&mut idle).expect("transaction start");
        assert_eq!(verify(pre, &proof), Ok(start.post.commitment()), "{to}");
        proofs.push((pre, proof.encode()));

        // The world the start step commits to: gas bought, nonce, warm accounts, the
        // checkpoint, the value moved.
        let limit = gas_limit(&case);
        let mut world = before.world.clone();
        world.start_tx(&[CALLER, to, COINBASE], &[]);
        let sender = world.account(CALLER);
        world.set_account(
            CALLER,
            AccountRecord {
                nonce: 1,
                balance: sender.balance - U256::from(limit) * U256::from(GAS_PRICE),
                ..sender
            },
        );
        let entry = world.clone();
        world.push_checkpoint();
        if value > 0 && to != CALLER {
            for (a, delta_in) in [(CALLER, false), (to, true)] {
                let rec = world.account(a);
                let balance = if delta_in {
                    rec.balance + U256::from(value)
                } else {
                    rec.balance - U256::from(value)
                };
                world.set_account(a, AccountRecord { balance, ..rec });
            }
        }
        assert_eq!(
            start.post.world_root,
            world.commitment(),
            "{to}: world after the start"
        );
        let output = match &out.result {
            ExecutionResult::Success { output, .. } => output.data().to_vec(),
            _ => Vec::new(),
        };
        let expected_status = if fraud_vm::world::is_precompile(to) {
            Status::Returned
        } else {
            Status::Stopped
        };
        assert_eq!(start.post.status, expected_status, "{to}");

        let mut terminal = FullState::new_frame(
            Default::default(),
            fraud_vm::state::TxEnv {
                origin: CALLER,
                gas_price: U256::from(GAS_PRICE),
                gas_limit: limit,
                floor_gas: fraud_vm::tx::floor_gas(&case.calldata),
                create: false,
                block_gas_before: before.gas,
                receipt_open: fraud_vm::step::receipt_open(before.receipts, None, 3),
                ..Default::default()
            },
            block_env,
            constants,
            world,
        );
        terminal.code = Vec::new();
        terminal.calldata = fraud_vm::merkle::WordTree::from_bytes(&case.calldata);
        terminal.returndata = fraud_vm::merkle::WordTree::from_bytes(&output);
        terminal.record = start.post.clone();
        terminal.entry_world = Some(Box::new(entry.clone()));
        assert!(terminal.is_consistent(), "{to}: terminal state");
        let summary = fraud_vm::trace::TraceSummary {
            steps: 0,
            result: InstructionResult::Stop,
            terminal: start.post,
            entry_world: entry,
        };
        let mut obs = Observed::default();
        check_tx_end(&mut obs, terminal, &out.result, &summary, &out.state, &slot);
        assert!(obs.failures.is_empty(), "{to}: {:#?}", obs.failures);
        assert_eq!(obs.tx_ends, 1);
        proofs.extend(obs.boundary_proofs);
    }
    proofs
}

/// [`transactions_without_opcodes_boundaries`] against revm.
#[test]
fn transactions_without_opcodes() {
    assert_eq!(transactions_without_opcodes_boundaries().len(), 14);
}

/// The transaction start decodes the list's encoding and recovers its sender (SPEC.md §3.9):
/// an encoding that is not one transaction, a signature with a high `s`, a transaction signed
/// for another chain or under Prague rules a deposit make the block invalid; the same
/// transaction signed by another key comes from another account, which cannot pay for it.
/// The start step past the last transaction is refused too.
#[test]
fn invalid_transactions_are_rejected() {
    use alloy::consensus::{SignableTransaction, TxLegacy};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::network::TxSignerSync;
    let case = Case::program(&[0x00]);
    let good = case.encoding(0);
    let legacy = |chain_id: u64, key: [u8; 32]| {
        let key =
            alloy::signers::local::PrivateKeySigner::from_bytes(&B256::from(key)).expect("key");
        let mut tx = TxLegacy {
            chain_id: Some(chain_id),
            nonce: 0,
            gas_price: GAS_PRICE,
            gas_limit: gas_limit(&case),
            to: TxKind::Call(case.to),
            value: U256::from(case.value),
            input: Bytes::from(case.calldata.clone()),
        };
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        (tx, sig)
    };
    let high_s = {
        let (tx, sig) = legacy(CHAIN_ID, CALLER_KEY);
        let n = alloy::primitives::U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .expect("order");
        let flipped = alloy::primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
        tx.into_signed(flipped).encoded_2718()
    };
    let deposit = op_alloy::consensus::OpTxEnvelope::Deposit(alloy::primitives::Sealed::new(
        op_alloy::consensus::TxDeposit {
            from: CALLER,
            to: TxKind::Call(case.to),
            gas_limit: 100_000,
            ..Default::default()
        },
    ))
    .encoded_2718();
    let mut trailing = good.clone();
    trailing.push(0);
    let (tx, sig) = legacy(CHAIN_ID, [0x52; 32]);
    let other_key = tx.into_signed(sig).encoded_2718();
    let (tx, sig) = legacy(CHAIN_ID + 1, CALLER_KEY);
    let other_chain = tx.into_signed(sig).encoded_2718();
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("garbage", vec![0x02, 0x01, 0x02], "malformed encoding"),
        ("trailing byte", trailing, "malformed encoding"),
        ("high s", high_s, "signature s above half the curve order"),
        ("other chain", other_chain, "another chain id"),
        ("deposit", deposit, "malformed encoding"),
        ("other key", other_key, "balance below the maximum cost"),
    ];
    // The Idle state before transaction 3 of `slot` and the block it runs in.
    let idle_parts = |slot: &Slot| {
        let before = IdleBefore {
            world: slot.world.clone(),
            gas: slot.gas_before,
            receipts: slot.receipts_before,
            txs: slot.txs.clone(),
        };
        let constants = constants(&slot.txs);
        let block_env = fraud_vm::state::BlockEnv {
            chain_id: U256::from(CHAIN_ID),
            basefee: U256::from(7),
            gas_limit: U256::from(30_000_000),
            constants_hash: constants.hash(),
            transactions: slot.txs.roots(),
            ..Default::default()
        };
        (before, block_env, constants)
    };
    for (name, encoding, why) in cases {
        let mut slot = Slot::fresh(&case);
        let mut records = slot.txs.records.clone();
        records[3] = fraud_vm::tx::TxRecord {
            encoded: encoding,
            ..Default::default()
        };
        slot.txs = Arc::new(fraud_vm::tx::Transactions::new(records));
        let (before, block_env, constants) = idle_parts(&slot);
        let mut idle = idle_state(&before, block_env, constants, 3);
        assert_eq!(
            prove(&mut idle).map(|_| ()),
            Err(VerifyError::InvalidTransaction { what: why }),
            "{name}"
        );
    }
    // The good transaction starts; an Idle state past the count does not.
    let slot = Slot::fresh(&case);
    let (before, block_env, constants) = idle_parts(&slot);
    let mut idle = idle_state(&before, block_env.clone(), constants.clone(), 3);
    assert!(prove(&mut idle).is_ok());
    let mut past = idle_state(&before, block_env, constants, 5);
    assert!(matches!(
        prove(&mut past),
        Err(VerifyError::InvalidTransaction { .. })
    ));
}
