//! Whole OP L2 blocks traced with op-revm (Isthmus): the L1-info deposit, user deposits (with mint
//! and value, failing, creating, reverting, halting) and fee-paying transactions (legacy and
//! EIP-1559, calls and creations). Every step of every transaction verifies, the world after each
//! transaction equals op-revm's (balances of the sender, the coinbase and the fee vaults
//! included), and the block's state root, computed from the world the trace ends in, equals the
//! one of op-revm's final state. Tampered boundary witnesses (mint, L1Block slots, vault
//! records, tree siblings, trie nodes) are rejected.

use alloy::consensus::{SignableTransaction, TxEip1559, TxLegacy};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, Sealed, TxKind, U256, address, keccak256};
use alloy::signers::local::PrivateKeySigner;
use fraud_vm::check::{BlockObserver, BlockOutcome, BlockTx, ChainConfig, L2Block, trace_block};
use fraud_vm::mpt::{BaseAccount, BaseState};
use fraud_vm::step::op::{BASE_FEE_VAULT, DEPOSITOR, L1_BLOCK, L1_FEE_VAULT, OPERATOR_FEE_VAULT};
use fraud_vm::{FullState, StepProof, prove, verify};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};
use proptest::prelude::*;
use revm::database::{CacheDB, EmptyDB};
use revm::state::{AccountInfo, Bytecode};
use std::collections::BTreeMap;
use std::sync::Arc;

const CHAIN_ID: u64 = 901;
const NUMBER: u64 = 77;
const BASEFEE: u64 = 1_000;
const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");
/// A contract: `SSTORE(0, calldata[0])`, `LOG0`, then by `calldata[32]`: 1 reverts, 2 halts
/// (INVALID), otherwise STOP.
const WORKER: Address = address!("0x000000000000000000000000000000000000c0de");
const WORKER_CODE: [u8; 30] = [
    0x5f, 0x35, 0x5f, 0x55, 0x5f, 0x5f, 0xa0, 0x60, 0x20, 0x35, 0x80, 0x60, 0x01, 0x14, 0x60, 0x18,
    0x57, 0x60, 0x02, 0x14, 0x60, 0x1c, 0x57, 0x00, 0x5b, 0x5f, 0x5f, 0xfd, 0x5b, 0xfe,
];
/// A relay: forwards its calldata and value to [`WORKER`] with a CALL (a nested frame that
/// succeeds, reverts or halts), ignores the result and stops.
const RELAY: Address = address!("0x000000000000000000000000000000000000e1a4");

fn relay_code() -> Vec<u8> {
    let mut code = vec![0x36, 0x5f, 0x5f, 0x37, 0x5f, 0x5f, 0x36, 0x5f, 0x34, 0x73];
    code.extend_from_slice(WORKER.as_slice());
    code.extend_from_slice(&[0x5a, 0xf1, 0x50, 0x00]);
    code
}

/// A contract that logs its calldata: `CALLDATACOPY(0, 0, CALLDATASIZE)`, `LOG0(0,
/// CALLDATASIZE)`, STOP.
const LOGGER: Address = address!("0x00000000000000000000000000000000000010ce");
const LOGGER_CODE: [u8; 8] = [0x36, 0x5f, 0x5f, 0x37, 0x36, 0x5f, 0xa0, 0x00];
/// An account with a balance and no code.
const EOA: Address = address!("0x00000000000000000000000000000000000e0a00");
/// A deposit sender with some balance, and one that has none.
const RICH_DEPOSITOR: Address = address!("0x00000000000000000000000000000000000d0001");
const FRESH_DEPOSITOR: Address = address!("0x00000000000000000000000000000000000d0002");

fn keys() -> Vec<PrivateKeySigner> {
    (1u8..=3)
        .map(|i| PrivateKeySigner::from_bytes(&B256::repeat_byte(i)).expect("key"))
        .collect()
}

/// The deployed code of a committed bridge artifact.
fn artifact_code(name: &str) -> Vec<u8> {
    crate::artifact_field(&format!("bridge/artifacts/{name}.json"), "deployedBytecode")
}

fn genesis() -> BTreeMap<Address, BaseAccount> {
    let mut accounts = BTreeMap::new();
    let rich = U256::from(10u128.pow(24));
    for key in keys() {
        accounts.insert(
            key.address(),
            BaseAccount {
                balance: rich,
                ..Default::default()
            },
        );
    }
    accounts.insert(
        L1_BLOCK,
        BaseAccount {
            code: artifact_code("L1Block"),
            storage: [(U256::from(1), U256::from(5))].into(),
            ..Default::default()
        },
    );
    accounts.insert(
        WORKER,
        BaseAccount {
            nonce: 1,
            code: WORKER_CODE.to_vec(),
            storage: [(U256::ZERO, U256::from(9)), (U256::from(1), U256::from(5))].into(),
            ..Default::default()
        },
    );
    accounts.insert(
        RELAY,
        BaseAccount {
            nonce: 1,
            code: relay_code(),
            ..Default::default()
        },
    );
    accounts.insert(
        LOGGER,
        BaseAccount {
            nonce: 1,
            code: LOGGER_CODE.to_vec(),
            ..Default::default()
        },
    );
    accounts.insert(
        EOA,
        BaseAccount {
            nonce: 2,
            balance: U256::from(1000),
            ..Default::default()
        },
    );
    accounts.insert(
        RICH_DEPOSITOR,
        BaseAccount {
            balance: U256::from(10u64.pow(18)),
            ..Default::default()
        },
    );
    // The system contracts the block start writes (EIP-4788 beacon roots, EIP-2935 history).
    for (address, code) in [
        (
            alloy::eips::eip4788::BEACON_ROOTS_ADDRESS,
            alloy::eips::eip4788::BEACON_ROOTS_CODE.to_vec(),
        ),
        (
            alloy::eips::eip2935::HISTORY_STORAGE_ADDRESS,
            alloy::eips::eip2935::HISTORY_STORAGE_CODE.to_vec(),
        ),
    ] {
        accounts.insert(
            address,
            BaseAccount {
                nonce: 1,
                code,
                ..Default::default()
            },
        );
    }
    // Two of the vaults exist before the block, two are created by their first fee.
    accounts.insert(
        BASE_FEE_VAULT,
        BaseAccount {
            balance: U256::from(3),
            code: vec![0x00],
            ..Default::default()
        },
    );
    accounts.insert(
        SEQUENCER_FEE_VAULT,
        BaseAccount {
            balance: U256::from(4),
            code: vec![0x00],
            ..Default::default()
        },
    );
    accounts
}

fn database(genesis: &BTreeMap<Address, BaseAccount>) -> CacheDB<EmptyDB> {
    let mut db = CacheDB::<EmptyDB>::default();
    for (address, acc) in genesis {
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
    db
}

/// Initcodes: deploys [`WORKER_CODE`], reverts, halts.
fn initcode(kind: u8) -> Vec<u8> {
    match kind % 3 {
        0 => {
            let len = WORKER_CODE.len() as u8;
            let mut code = vec![0x60, len, 0x60, 12, 0x5f, 0x39, 0x60, len, 0x5f, 0xf3];
            code.resize(12, 0x00);
            code.extend_from_slice(&WORKER_CODE);
            code
        }
        1 => vec![0x5f, 0x5f, 0xfd],
        _ => vec![0xfe],
    }
}

/// The packed `setL1BlockValuesIsthmus()` calldata of the L1-info deposit.
fn l1_info_calldata(
    base_fee_scalar: u32,
    blob_scalar: u32,
    operator_scalar: u32,
    constant: u64,
) -> Vec<u8> {
    let mut out = vec![0x09, 0x89, 0x99, 0xbe];
    out.extend_from_slice(&base_fee_scalar.to_be_bytes());
    out.extend_from_slice(&blob_scalar.to_be_bytes());
    out.extend_from_slice(&3u64.to_be_bytes()); // sequence number
    out.extend_from_slice(&1_700_000_000u64.to_be_bytes()); // L1 timestamp
    out.extend_from_slice(&500u64.to_be_bytes()); // L1 number
    out.extend_from_slice(&U256::from(30_000_000_000u64).to_be_bytes::<32>()); // L1 base fee
    out.extend_from_slice(&U256::from(2u64).to_be_bytes::<32>()); // L1 blob base fee
    out.extend_from_slice(B256::repeat_byte(0xab).as_slice()); // L1 hash
    out.extend_from_slice(B256::repeat_byte(0xcd).as_slice()); // batcher
    out.extend_from_slice(&operator_scalar.to_be_bytes());
    out.extend_from_slice(&constant.to_be_bytes());
    out
}

fn deposit(d: TxDeposit) -> Vec<u8> {
    OpTxEnvelope::Deposit(Sealed::new(d)).encoded_2718()
}

/// Where a transaction goes.
#[derive(Clone, Debug)]
enum Target {
    /// The worker contract with a mode: 0 succeeds, 1 reverts, 2 halts.
    Worker(u8),
    /// The relay, forwarding to the worker with a mode.
    Relay(u8),
    /// An account without code.
    Eoa,
    /// A creation with [`initcode`] of this kind.
    Create(u8),
}

impl Target {
    fn kind_and_data(&self) -> (TxKind, Vec<u8>) {
        match self {
            Self::Worker(mode) => {
                // Modes from 3 on clear slot 0 (a deletion in the worker's storage trie).
                let mut data = vec![0u8; 64];
                data[31] = if *mode >= 3 { 0 } else { 0x2a };
                data[63] = *mode % 3;
                (TxKind::Call(WORKER), data)
            }
            Self::Relay(mode) => {
                let mut data = vec![0u8; 64];
                data[31] = 0x33;
                data[63] = *mode % 3;
                (TxKind::Call(RELAY), data)
            }
            Self::Eoa => (TxKind::Call(EOA), vec![1, 0, 2]),
            Self::Create(kind) => (TxKind::Create, initcode(*kind)),
        }
    }
}

/// A transaction after the L1-info deposit.
#[derive(Clone, Debug)]
enum Item {
    /// A user deposit: sender (0 rich, 1 fresh, 2 a key), mint, value, target, enough gas.
    Deposit {
        from: u8,
        mint: u128,
        value: u64,
        target: Target,
        enough_gas: bool,
    },
    /// An EIP-7702 transaction from key `key` with these authorizations, calling the first
    /// authority (so running its new delegate) or the worker.
    Delegate {
        key: u8,
        auths: Vec<Auth>,
        call_authority: bool,
        /// [v0.15] An access list of this many distinct addresses and keys (spread over them
        /// in turn; no key without an address): the start's sub-steps warm them before the
        /// authorizations.
        access: (usize, usize),
    },
    /// A fee-paying transaction from key `key`.
    Paid {
        key: u8,
        legacy: bool,
        value: u64,
        target: Target,
    },
    /// [v0.6] A recorded transaction the EVM refuses (or that does not decode), involving key
    /// `key`: derivation leaves it out and the fraud VM skips it (SPEC.md §5.9).
    Refused { key: u8, how: Refusal },
}

/// How an [`Item::Refused`] transaction is refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// The key's next nonce plus 3.
    NonceTooHigh,
    /// The key's last nonce again (its next one plus 3 before it sent any).
    NonceTooLow,
    /// From a key that holds nothing.
    Unaffordable,
    /// A signed transaction with a byte of its `s` flipped: another sender (without funds) or
    /// none.
    BadSignature,
    /// Bytes that do not decode.
    Garbage,
    /// A gas limit above the block's.
    GasAboveBlock,
    /// A gas limit within the block's but above its gas left (the L1-info deposit used some).
    GasAboveLeft,
    /// A deposit among the recorded transactions (derivation never takes one from L1's inbox).
    RecordedDeposit,
}

fn refusal() -> impl Strategy<Value = Refusal> {
    prop_oneof![
        Just(Refusal::NonceTooHigh),
        Just(Refusal::NonceTooLow),
        Just(Refusal::Unaffordable),
        Just(Refusal::BadSignature),
        Just(Refusal::Garbage),
        Just(Refusal::GasAboveBlock),
        Just(Refusal::GasAboveLeft),
        Just(Refusal::RecordedDeposit),
    ]
}

/// An EIP-7702 authorization of key `j` (or of a fresh key with nothing on the chain).
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// Delegates to the worker with the right nonce.
    Valid(u8),
    /// Clears the delegation (address zero).
    Clear(u8),
    /// Signed for another chain: skipped.
    WrongChain(u8),
    /// A nonce ahead of the account's: skipped.
    WrongNonce(u8),
    /// A key that has never been used: applied, no refund.
    Fresh(u8),
}

pub(crate) fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        3 => (0u8..3).prop_map(Auth::Valid),
        1 => (0u8..3).prop_map(Auth::Clear),
        1 => (0u8..3).prop_map(Auth::WrongChain),
        1 => (0u8..3).prop_map(Auth::WrongNonce),
        1 => (0u8..4).prop_map(Auth::Fresh),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0u8..3).prop_map(Target::Worker),
        (0u8..3).prop_map(Target::Relay),
        Just(Target::Eoa),
        (0u8..3).prop_map(Target::Create),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (
            0u8..3,
            prop_oneof![Just(0u128), Just(7u128), Just(10u128.pow(18))],
            prop_oneof![Just(0u64), Just(5u64), Just(2 * 10u64.pow(18))],
            target(),
            prop::bool::weighted(0.85),
        )
            .prop_map(|(from, mint, value, target, enough_gas)| Item::Deposit {
                from,
                mint,
                value,
                target,
                enough_gas
            }),
        (0u8..3, prop::collection::vec(auth(), 1..4), any::<bool>()).prop_map(
            |(key, auths, call_authority)| Item::Delegate {
                key,
                auths,
                call_authority,
                access: (0, 0),
            }
        ),
        (0u8..3, any::<bool>(), 0u64..3, target()).prop_map(|(key, legacy, value, target)| {
            Item::Paid {
                key,
                legacy,
                value,
                target,
            }
        }),
        (0u8..3, refusal()).prop_map(|(key, how)| Item::Refused { key, how }),
    ]
}

/// The encoded transactions of a block: the L1-info deposit, then `items`.
fn block(items: &[Item], scalars: (u32, u32, u32, u64)) -> Vec<Vec<u8>> {
    let keys = keys();
    let mut nonces = [0u64; 3];
    let mut fresh_used = [0u8; 256];
    let mut out = vec![deposit(TxDeposit {
        source_hash: B256::repeat_byte(1),
        from: DEPOSITOR,
        to: TxKind::Call(L1_BLOCK),
        mint: 0,
        value: U256::ZERO,
        gas_limit: 1_000_000,
        is_system_transaction: false,
        input: l1_info_calldata(scalars.0, scalars.1, scalars.2, scalars.3).into(),
    })];
    // The deposits first, as derivation orders an OP block (fraud-vm SPEC §3.6: the deposits
    // section, then the recorded transactions).
    let is_deposit = |item: &&Item| matches!(item, Item::Deposit { .. });
    let ordered = items
        .iter()
        .filter(is_deposit)
        .chain(items.iter().filter(|i| !is_deposit(i)));
    for (i, item) in ordered.enumerate() {
        match item {
            Item::Deposit {
                from,
                mint,
                value,
                target,
                enough_gas,
            } => {
                let (to, data) = target.kind_and_data();
                let from = match from {
                    0 => RICH_DEPOSITOR,
                    1 => FRESH_DEPOSITOR,
                    _ => {
                        // A deposit bumps its sender's nonce, succeed or fail.
                        nonces[0] += 1;
                        keys[0].address()
                    }
                };
                out.push(deposit(TxDeposit {
                    source_hash: B256::with_last_byte(i as u8 + 2),
                    from,
                    to,
                    mint: *mint,
                    value: U256::from(*value),
                    gas_limit: if *enough_gas { 300_000 } else { 20_000 },
                    is_system_transaction: false,
                    input: data.into(),
                }));
            }
            Item::Delegate {
                key,
                auths,
                call_authority,
                access,
            } => {
                use alloy::consensus::TxEip7702;
                use alloy::signers::SignerSync;
                let k = usize::from(*key % 3);
                let nonce = nonces[k];
                nonces[k] += 1;
                let mut list = Vec::new();
                let mut first = None;
                for a in auths {
                    let (signer, chain, address, auth_nonce) = match a {
                        Auth::Valid(j) | Auth::Clear(j) => {
                            let j = usize::from(*j % 3);
                            let n = nonces[j];
                            nonces[j] += 1;
                            let to = if matches!(a, Auth::Valid(_)) {
                                WORKER
                            } else {
                                Address::ZERO
                            };
                            (keys[j].clone(), CHAIN_ID, to, n)
                        }
                        Auth::WrongChain(j) => {
                            let j = usize::from(*j % 3);
                            (keys[j].clone(), CHAIN_ID + 1, WORKER, nonces[j])
                        }
                        Auth::WrongNonce(j) => {
                            let j = usize::from(*j % 3);
                            (keys[j].clone(), CHAIN_ID, WORKER, nonces[j] + 5)
                        }
                        Auth::Fresh(f) => (
                            PrivateKeySigner::from_bytes(&B256::repeat_byte(0x70 + f))
                                .expect("key"),
                            0,
                            WORKER,
                            u64::from(fresh_used[usize::from(*f)]),
                        ),
                    };
                    if let Auth::Fresh(f) = a {
                        fresh_used[usize::from(*f)] += 1;
                    }
                    first.get_or_insert(signer.address());
                    let auth = alloy::eips::eip7702::Authorization {
                        chain_id: U256::from(chain),
                        address,
                        nonce: auth_nonce,
                    };
                    let sig = signer.sign_hash_sync(&auth.signature_hash()).expect("sign");
                    list.push(auth.into_signed(sig));
                }
                let mut data = vec![0u8; 64];
                data[31] = 0x17;
                let mut tx = TxEip7702 {
                    chain_id: CHAIN_ID,
                    nonce,
                    // 25,000 intrinsic gas per authorization (EIP-7702).
                    gas_limit: 400_000.max(100_000 + 25_000 * auths.len() as u64)
                        + 2_400 * access.0 as u64
                        + 1_900 * access.1 as u64,
                    max_fee_per_gas: 3 * u128::from(BASEFEE),
                    max_priority_fee_per_gas: 7,
                    to: if *call_authority {
                        first.unwrap_or(WORKER)
                    } else {
                        WORKER
                    },
                    value: U256::ZERO,
                    access_list: wide_list(access.0, access.1),
                    authorization_list: list,
                    input: data.into(),
                };
                let sig = keys[k].sign_transaction_sync(&mut tx).expect("sign");
                out.push(OpTxEnvelope::Eip7702(tx.into_signed(sig)).encoded_2718());
            }
            Item::Paid {
                key,
                legacy,
                value,
                target,
            } => {
                let k = usize::from(*key % 3);
                let (to, data) = target.kind_and_data();
                let nonce = nonces[k];
                nonces[k] += 1;
                let encoded = if *legacy {
                    let mut tx = TxLegacy {
                        chain_id: Some(CHAIN_ID),
                        nonce,
                        gas_price: 2 * u128::from(BASEFEE),
                        gas_limit: 300_000,
                        to,
                        value: U256::from(*value),
                        input: data.into(),
                    };
                    let sig = keys[k].sign_transaction_sync(&mut tx).expect("sign");
                    OpTxEnvelope::Legacy(tx.into_signed(sig)).encoded_2718()
                } else {
                    let mut tx = TxEip1559 {
                        chain_id: CHAIN_ID,
                        nonce,
                        gas_limit: 300_000,
                        max_fee_per_gas: 3 * u128::from(BASEFEE),
                        max_priority_fee_per_gas: 7,
                        to,
                        value: U256::from(*value),
                        access_list: Default::default(),
                        input: data.into(),
                    };
                    let sig = keys[k].sign_transaction_sync(&mut tx).expect("sign");
                    OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()
                };
                out.push(encoded);
            }
            Item::Refused { key, how } => {
                let k = usize::from(*key % 3);
                let recorded = out.iter().any(|e| e.first() != Some(&0x7e));
                out.push(refused(&keys[k], nonces[k], *how, recorded, i));
            }
        }
    }
    out
}

/// A transaction [`Item::Refused`] describes, for key `key` whose next nonce is `nonce`;
/// `recorded` tells whether the recorded section has begun (a deposit before it would be in
/// the deposits section: garbage takes its place).
fn refused(key: &PrivateKeySigner, nonce: u64, how: Refusal, recorded: bool, i: usize) -> Vec<u8> {
    let transfer = |signer: &PrivateKeySigner, nonce: u64, gas_limit: u64| {
        let mut tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit,
            max_fee_per_gas: 3 * u128::from(BASEFEE),
            max_priority_fee_per_gas: 7,
            to: TxKind::Call(EOA),
            value: U256::from(1),
            access_list: Default::default(),
            input: Default::default(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).expect("sign");
        OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()
    };
    match how {
        Refusal::NonceTooHigh => transfer(key, nonce + 3, 21_000),
        Refusal::NonceTooLow => transfer(key, nonce.checked_sub(1).unwrap_or(nonce + 3), 21_000),
        Refusal::Unaffordable => {
            let poor = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x91)).expect("key");
            transfer(&poor, 0, 21_000)
        }
        Refusal::BadSignature => {
            let mut e = transfer(key, nonce, 21_000);
            let last = e.len() - 1;
            e[last] ^= 0x01;
            e
        }
        Refusal::GasAboveBlock => transfer(key, nonce, GAS_LIMIT + 1),
        Refusal::GasAboveLeft => transfer(key, nonce, GAS_LIMIT - 1_000),
        Refusal::RecordedDeposit if recorded => deposit(TxDeposit {
            source_hash: B256::with_last_byte(i as u8 + 0x80),
            from: key.address(),
            to: TxKind::Call(EOA),
            mint: 10u128.pow(18),
            value: U256::ZERO,
            gas_limit: 100_000,
            is_system_transaction: false,
            input: Default::default(),
        }),
        Refusal::Garbage | Refusal::RecordedDeposit => vec![0x05, 1, 2, 3, i as u8],
    }
}

/// The block's timestamp, gas limit and PREVRANDAO, and its parent's beacon root.
const TIMESTAMP: u64 = 1_700_000_100;
const GAS_LIMIT: u64 = 30_000_000;
const PREVRANDAO: B256 = B256::repeat_byte(0x42);
const BEACON_ROOT: B256 = B256::repeat_byte(9);

/// op-node's L2 (coinbase the SequencerFeeVault, OP's EIP-1559 parameters).
pub(crate) fn config() -> ChainConfig {
    ChainConfig::op_node(CHAIN_ID, GAS_LIMIT)
}

/// Block [`NUMBER`] with the transactions `encoded`, on top of the parent [`parent_header`] whose
/// state is [`genesis`].
pub(crate) fn l2_block(encoded: &[Vec<u8>]) -> L2Block {
    L2Block {
        parent: parent_header(BaseState::new(genesis()).root()),
        timestamp: TIMESTAMP,
        prevrandao: PREVRANDAO,
        parent_beacon_root: BEACON_ROOT,
        transactions: encoded.iter().map(|e| Bytes::from(e.clone())).collect(),
    }
}

/// Traces, proves and verifies every step of block `encoded` on [`genesis`] with op-revm.
fn trace(
    encoded: &[Vec<u8>],
    observer: &mut dyn BlockObserver,
) -> Result<(CacheDB<EmptyDB>, BlockOutcome), fraud_vm::check::CheckError> {
    let genesis = genesis();
    let mut db = database(&genesis);
    let outcome = trace_block(
        &mut db,
        Arc::new(BaseState::new(genesis)),
        &l2_block(encoded),
        &config(),
        observer,
    )?;
    Ok((db, outcome))
}

/// The state root of `accounts` (address → nonce, balance, code, storage).
fn root_of(accounts: BTreeMap<Address, BaseAccount>) -> B256 {
    BaseState::new(accounts).root()
}

/// Records what a block trace shows: boundary proofs, the commitment of every state in
/// block-wide order, and the full state at one position.
#[derive(Default)]
struct Recorder {
    proofs: Vec<(String, B256, StepProof)>,
    commitments: Vec<B256>,
    statuses: Vec<fraud_vm::Status>,
    keep: Option<u64>,
    kept: Option<FullState>,
}

impl BlockObserver for Recorder {
    fn state(&mut self, position: u64, state: &FullState) {
        assert_eq!(
            position,
            self.commitments.len() as u64,
            "positions in order"
        );
        self.commitments.push(state.record.commitment());
        self.statuses.push(state.record.status);
        if self.keep == Some(position) {
            self.kept = Some(state.clone());
        }
    }

    fn boundary(&mut self, kind: &str, pre: B256, proof: &StepProof) {
        self.proofs.push((kind.to_string(), pre, proof.clone()));
    }
}

/// Runs the block, returning what the recorder saw and the failure, if any.
fn run(encoded: &[Vec<u8>]) -> Result<Vec<(String, B256, StepProof)>, String> {
    run_recorded(encoded, Recorder::default()).map(|r| r.proofs)
}

/// [`run`] with an observer of the block's states and boundary proofs.
pub(crate) fn run_recorded<O: BlockObserver>(
    encoded: &[Vec<u8>],
    mut recorder: O,
) -> Result<O, String> {
    let (db, outcome) = trace(encoded, &mut recorder).map_err(|e| e.to_string())?;
    // The state root: op-revm's final accounts against the world the trace ends in, over every
    // account and slot op-revm holds.
    let world = &outcome.last.world;
    let mut ours = BTreeMap::new();
    let mut theirs = BTreeMap::new();
    for (address, acc) in &db.cache.accounts {
        let code = acc
            .info
            .code
            .as_ref()
            .map(|c| c.original_bytes().to_vec())
            .unwrap_or_default();
        let storage: BTreeMap<U256, U256> = acc
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (*k, *v))
            .collect();
        let rec = world.account(*address);
        let revm_empty = acc.info.is_empty() && storage.is_empty();
        if !revm_empty {
            theirs.insert(
                *address,
                BaseAccount {
                    nonce: acc.info.nonce,
                    balance: acc.info.balance,
                    code: code.clone(),
                    storage: storage.clone(),
                },
            );
        }
        let our_storage: BTreeMap<U256, U256> = acc
            .storage
            .keys()
            .map(|k| (*k, world.storage(*address, *k)))
            .filter(|(_, v)| !v.is_zero())
            .collect();
        if !(rec.is_empty() && our_storage.is_empty()) {
            let our_code = world.code(rec.code_hash).unwrap_or_default();
            ours.insert(
                *address,
                BaseAccount {
                    nonce: rec.nonce,
                    balance: rec.balance,
                    code: our_code,
                    storage: our_storage,
                },
            );
        }
    }
    let theirs = root_of(theirs);
    if root_of(ours) != theirs {
        return Err("state root differs from op-revm's".into());
    }
    // The block end folded the world into the state trie: its root is op-revm's.
    if outcome.end.world.record().base_root != theirs {
        return Err("the block end's state root differs from op-revm's".into());
    }
    let revm_gas: u64 = outcome.results.iter().map(|r| r.tx_gas_used()).sum();
    if outcome.report.gas_used != revm_gas {
        return Err(format!(
            "block gas {} vs op-revm {revm_gas}",
            outcome.report.gas_used
        ));
    }
    Ok(recorder)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random OP blocks: every step verifies and the block ends in op-revm's state and gas.
    #[test]
    fn op_blocks_match_op_revm(
        items in prop::collection::vec(item(), 1..7),
        scalars in (0u32..5000, 0u32..1_000_000, 0u32..20_000, 0u64..1000),
    ) {
        let encoded = block(&items, scalars);
        let result = run(&encoded);
        prop_assert!(result.is_ok(), "{:?}: {:?}", items, result.err());
        // The same block against its witness, with the header op-node's executor gives (over
        // the transactions that ran; the recorded list holds the skipped ones too).
        let (header, _, witness, txs) = witnessed_block(&encoded);
        let checked = fraud_vm::check::check_recorded_block(&header, &txs, &witness, &config());
        prop_assert!(
            matches!(
                &checked,
                Ok(report) if report.transactions == txs.len() as u64
            ),
            "{:?}: {:?}", items, checked
        );
    }
}

/// Blocks for the Solidity differential: every kind of transaction with fee scalars and an
/// operator fee, and a block whose system deposit fails.
pub(crate) fn fixed_blocks() -> Vec<Vec<Vec<u8>>> {
    let mut system = block(&[], (1368, 810_949, 7_000, 300));
    system.push(system_deposit());
    vec![
        block(&every_kind(), (1368, 810_949, 7_000, 300)),
        system,
        block(&with_refusals(), (1368, 810_949, 7_000, 300)),
    ]
}

/// An OP block with one EIP-7702 transaction of `n` authorizations (at most 143), each by its own
/// fresh authority (absent from the base state, so each is touched, read with a base-trie proof
/// of absence and written): the transaction start's gas against the number of authorizations.
pub(crate) fn delegation_block(n: u8) -> Vec<Vec<u8>> {
    let auths = (0..n).map(Auth::Fresh).collect();
    let item = Item::Delegate {
        key: 0,
        auths,
        call_authority: false,
        access: (0, 0),
    };
    block(&[item], (1368, 810_949, 7_000, 300))
}

/// [v0.15] An OP block with one EIP-7702 transaction of `auths` whose access list names
/// `addresses` distinct addresses and `slots` keys spread over them (none without an address):
/// the start's sub-steps over both kinds of entries and their group boundaries.
pub(crate) fn entries_block(addresses: usize, slots: usize, auths: Vec<Auth>) -> Vec<Vec<u8>> {
    let item = Item::Delegate {
        key: 0,
        auths,
        call_authority: false,
        access: (addresses, slots),
    };
    block(&[item], (1368, 810_949, 7_000, 300))
}

/// `addresses` distinct addresses with `slots` distinct keys spread over them in turn (none if
/// there is no address).
fn wide_list(addresses: usize, slots: usize) -> alloy::eips::eip2930::AccessList {
    use alloy::eips::eip2930::{AccessList, AccessListItem};
    let mut items: Vec<AccessListItem> = (0..addresses)
        .map(|i| AccessListItem {
            address: Address::left_padding_from(&(0xa1_0000u64 + i as u64).to_be_bytes()),
            storage_keys: Vec::new(),
        })
        .collect();
    if addresses > 0 {
        for k in 0..slots {
            items[k % addresses]
                .storage_keys
                .push(keccak256((k as u64).to_be_bytes()));
        }
    }
    AccessList(items)
}

/// An OP block with one recorded EIP-1559 call to [`EOA`] (short data) whose access list names
/// `addresses` distinct addresses and `slots` distinct slot keys spread over them in turn: the
/// transaction start's gas against the list's size (each entry one warm-set path, SPEC §3.8;
/// under Isthmus the L1 data fee runs FastLZ over the whole encoding).
pub(crate) fn access_list_block(addresses: usize, slots: usize) -> Vec<Vec<u8>> {
    let addresses = addresses.max(1);
    let gas = 21_000 + 2_400 * addresses as u64 + 1_900 * slots as u64 + 100_000;
    let mut tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: gas,
        max_fee_per_gas: 3 * u128::from(BASEFEE),
        max_priority_fee_per_gas: 7,
        to: TxKind::Call(EOA),
        value: U256::from(1),
        access_list: wide_list(addresses, slots),
        input: vec![0x17u8; 8].into(),
    };
    let sig = keys()[0].sign_transaction_sync(&mut tx).expect("sign");
    let mut out = block(&[], (1368, 810_949, 7_000, 300));
    out.push(OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718());
    out
}

/// [v0.6] Valid transactions with every kind of refused one between them: each refused one
/// is skipped, and the same sender's next valid one still runs.
fn with_refusals() -> Vec<Item> {
    use Refusal::*;
    let paid = |key: u8, target: Target| Item::Paid {
        key,
        legacy: false,
        value: 1,
        target,
    };
    let refused = |key: u8, how: Refusal| Item::Refused { key, how };
    vec![
        Item::Deposit {
            from: 0,
            mint: 10u128.pow(18),
            value: 5,
            target: Target::Worker(0),
            enough_gas: true,
        },
        refused(0, NonceTooHigh),
        paid(0, Target::Worker(0)),
        refused(0, NonceTooLow),
        refused(1, Unaffordable),
        paid(1, Target::Relay(0)),
        refused(1, BadSignature),
        refused(2, Garbage),
        refused(2, GasAboveBlock),
        refused(2, GasAboveLeft),
        refused(2, RecordedDeposit),
        paid(2, Target::Create(0)),
        paid(0, Target::Eoa),
    ]
}

/// An OP block with a deposit of `deposit_len` non-zero data bytes and a recorded EIP-1559
/// call with `recorded_len`, both to an account without code: the transaction starts over long
/// data (fraud-vm SPEC §3.4.1, the transaction start's row).
pub(crate) fn long_data_block(deposit_len: usize, recorded_len: usize) -> Vec<Vec<u8>> {
    use alloy::consensus::TxEip1559;
    let bytes = |n: usize| -> Vec<u8> {
        (0..n as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .collect()
    };
    let gas = |n: usize| 21_000 + 40 * n as u64 + 100_000;
    let mut out = block(&[], (1368, 810_949, 7_000, 300));
    out.push(deposit(TxDeposit {
        source_hash: B256::repeat_byte(9),
        from: RICH_DEPOSITOR,
        to: TxKind::Call(EOA),
        mint: 0,
        value: U256::ZERO,
        gas_limit: gas(deposit_len),
        is_system_transaction: false,
        input: bytes(deposit_len).into(),
    }));
    let mut tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: gas(recorded_len),
        max_fee_per_gas: 3 * u128::from(BASEFEE),
        max_priority_fee_per_gas: 7,
        to: TxKind::Call(EOA),
        value: U256::ZERO,
        access_list: Default::default(),
        input: bytes(recorded_len).into(),
    };
    let sig = keys()[0].sign_transaction_sync(&mut tx).expect("sign");
    out.push(OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718());
    out
}

/// An OP block with a deposit of `len` data bytes to [`LOGGER`], whose receipt carries them as a
/// log's data, then a small deposit (whose insertion moves the first one's leaves): the block
/// end's insertion of a long receipt (fraud-vm SPEC §5.19). The bytes are non-zero, or with
/// `zeros` all zero: the block's gas limit bounds non-zero calldata to about 699,000 bytes
/// (EIP-7623's floor of 40 gas a byte), zero bytes to more than 1 MB.
pub(crate) fn long_log_block(len: usize, zeros: bool) -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..len as u64)
        .map(|i| {
            if zeros {
                0
            } else {
                (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1
            }
        })
        .collect();
    let mut out = block(&[], (1368, 810_949, 7_000, 300));
    for (i, input) in [data, vec![1u8; 8]].into_iter().enumerate() {
        out.push(deposit(TxDeposit {
            source_hash: B256::repeat_byte(9 + i as u8),
            from: RICH_DEPOSITOR,
            to: TxKind::Call(LOGGER),
            mint: 0,
            value: U256::ZERO,
            // Under the block's limit (a 1 MB log needs about 26.4M: its calldata, LOG, memory).
            gas_limit: (21_000 + 60 * input.len() as u64 + 200_000).min(GAS_LIMIT - 2_000_000),
            is_system_transaction: false,
            input: input.into(),
        }));
    }
    out
}

/// An OP block whose deposit creates a contract with init code that emits `n` LOG0s of the same
/// `m` non-zero bytes (its data, copied from the init code's tail), then a small deposit (whose
/// insertion may move the first one's leaves): the block end's insertion of a receipt with many
/// short logs (fraud-vm SPEC §5.19). A log costs about `420 + 8 m` gas of the block's 30M.
pub(crate) fn many_logs_block(n: u32, m: u32) -> Vec<Vec<u8>> {
    const LOOP: u8 = 0x0d;
    const END: u8 = 0x1d;
    let mut init = vec![0x62];
    init.extend_from_slice(&m.to_be_bytes()[1..]);
    // DUP1, PUSH1 data, PUSH0, CODECOPY(0, data, m); PUSH3 n.
    init.extend_from_slice(&[0x80, 0x60, 0x1f, 0x5f, 0x39, 0x62]);
    init.extend_from_slice(&n.to_be_bytes()[1..]);
    // loop: while n != 0 { LOG0(0, m); n -= 1 }; STOP.
    init.extend_from_slice(&[
        0x5b, 0x80, 0x15, 0x60, END, 0x57, 0x81, 0x5f, 0xa0, 0x60, 0x01, 0x90, 0x03, 0x60, LOOP,
        0x56, 0x5b, 0x00,
    ]);
    debug_assert_eq!(init.len(), 0x1f);
    init.extend((0..m as u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1));
    let gas = 100_000 + 60 * init.len() as u64 + u64::from(n) * (440 + 8 * u64::from(m));
    let mut out = block(&[], (1368, 810_949, 7_000, 300));
    out.push(deposit(TxDeposit {
        source_hash: B256::repeat_byte(0x31),
        from: RICH_DEPOSITOR,
        to: TxKind::Create,
        mint: 0,
        value: U256::ZERO,
        gas_limit: gas.min(GAS_LIMIT - 2_000_000),
        is_system_transaction: false,
        input: init.into(),
    }));
    out.push(deposit(TxDeposit {
        source_hash: B256::repeat_byte(0x32),
        from: RICH_DEPOSITOR,
        to: TxKind::Call(LOGGER),
        mint: 0,
        value: U256::ZERO,
        gas_limit: 300_000,
        is_system_transaction: false,
        input: vec![1u8; 8].into(),
    }));
    out
}

/// Random blocks as [`op_blocks_match_op_revm`] draws them.
pub(crate) fn random_block() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        prop::collection::vec(item(), 1..7),
        (0u32..5000, 0u32..1_000_000, 0u32..20_000, 0u64..1000),
    )
        .prop_map(|(items, scalars)| block(&items, scalars))
}

/// A system deposit (refused since Regolith): it fails keeping its mint.
fn system_deposit() -> Vec<u8> {
    deposit(TxDeposit {
        source_hash: B256::repeat_byte(7),
        from: RICH_DEPOSITOR,
        to: TxKind::Call(WORKER),
        mint: 11,
        value: U256::from(1),
        gas_limit: 100_000,
        is_system_transaction: true,
        input: vec![0u8; 64].into(),
    })
}

/// Every kind of transaction of an OP block at once, checked in full.
fn every_kind() -> Vec<Item> {
    vec![
        Item::Deposit {
            from: 0,
            mint: 10u128.pow(18),
            value: 5,
            target: Target::Worker(0),
            enough_gas: true,
        },
        Item::Deposit {
            from: 1,
            mint: 7,
            value: 2 * 10u64.pow(18),
            target: Target::Eoa,
            enough_gas: true,
        },
        Item::Deposit {
            from: 1,
            mint: 7,
            value: 0,
            target: Target::Worker(2),
            enough_gas: true,
        },
        Item::Deposit {
            from: 0,
            mint: 0,
            value: 0,
            target: Target::Worker(1),
            enough_gas: true,
        },
        Item::Deposit {
            from: 2,
            mint: 10u128.pow(18),
            value: 5,
            target: Target::Create(0),
            enough_gas: true,
        },
        Item::Deposit {
            from: 0,
            mint: 3,
            value: 0,
            target: Target::Eoa,
            enough_gas: false,
        },
        Item::Paid {
            key: 0,
            legacy: false,
            value: 1,
            target: Target::Worker(0),
        },
        Item::Paid {
            key: 0,
            legacy: false,
            value: 2,
            target: Target::Relay(0),
        },
        Item::Paid {
            key: 1,
            legacy: true,
            value: 0,
            target: Target::Relay(1),
        },
        Item::Deposit {
            from: 0,
            mint: 9,
            value: 3,
            target: Target::Relay(2),
            enough_gas: true,
        },
        Item::Paid {
            key: 1,
            legacy: true,
            value: 0,
            target: Target::Create(0),
        },
        Item::Paid {
            key: 1,
            legacy: false,
            value: 2,
            target: Target::Eoa,
        },
        Item::Paid {
            key: 2,
            legacy: false,
            value: 0,
            target: Target::Worker(1),
        },
        Item::Delegate {
            key: 0,
            auths: vec![
                Auth::Valid(1),
                Auth::WrongChain(2),
                Auth::Fresh(0),
                Auth::Valid(0),
                Auth::WrongNonce(2),
            ],
            call_authority: true,
            access: (0, 0),
        },
        Item::Delegate {
            key: 2,
            auths: vec![Auth::Clear(1)],
            call_authority: true,
            access: (0, 0),
        },
        // The last write of the worker's slot 0 clears it: the block end deletes it from a
        // storage trie of two slots, collapsing its root branch onto the other.
        Item::Paid {
            key: 2,
            legacy: true,
            value: 0,
            target: Target::Worker(3),
        },
    ]
}

#[test]
fn op_block_of_every_kind() {
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let proofs = run(&encoded).expect("the block checks");
    let count = |kind: &str| proofs.iter().filter(|p| p.0 == kind).count();
    assert_eq!(
        (count("TxStart"), count("TxEnd")),
        (encoded.len(), encoded.len())
    );
    assert_eq!(
        (count("EndStart"), count("Seal"), count("BlockEnd")),
        (1, 1, 1)
    );
    assert_eq!(count("Insert"), encoded.len());
    assert!(count("Fold") > 10, "{} fold steps", count("Fold"));
}

/// Tampered block end witnesses are rejected (SPEC.md §5.19): a changed trie node, a missing or
/// foreign sibling, a changed account record or slot value of the overlay, a fold key other than
/// the overlay's smallest, another sealing record, other block constants or environment at the
/// seal. A receipt other than the transaction's gives another state than the honest step (the
/// seal then finds the receipt chain broken), and so does another transaction encoding.
#[test]
fn op_block_end_witnesses_are_checked() {
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let recorder = run_recorded(&encoded, Recorder::default()).expect("the block checks");
    let honest: BTreeMap<B256, B256> = recorder
        .commitments
        .windows(2)
        .map(|w| (w[0], w[1]))
        .collect();
    let mut kinds = BTreeMap::<&str, u32>::new();
    for (kind, pre, proof) in &recorder.proofs {
        if !["EndStart", "Fold", "Insert", "Seal"].contains(&kind.as_str()) {
            continue;
        }
        let next = honest[pre];
        assert_eq!(verify(*pre, proof), Ok(next), "{kind}");
        let mut reject = |what: &'static str, p: StepProof| {
            let got = verify(*pre, &p);
            assert!(
                got != Ok(next),
                "{kind}: tampered {what} gave the honest state"
            );
            *kinds.entry(what).or_default() += 1;
        };
        for i in 0..proof.tries.len() {
            for j in 0..proof.tries[i].nodes.len() {
                let mut p = proof.clone();
                let mut bytes = p.tries[i].nodes[j].to_vec();
                let at = bytes.len() / 2;
                bytes[at] ^= 1;
                p.tries[i].nodes[j] = bytes.into();
                reject("trie node", p);
            }
            let mut p = proof.clone();
            if p.tries[i].sibling.take().is_some() {
                reject("missing sibling", p);
            } else if let Some(node) = proof.tries[i].nodes.first() {
                p.tries[i].sibling = Some(node.clone());
                reject("foreign sibling", p);
            }
        }
        if let Some(s) = &proof.sealing {
            let mut p = proof.clone();
            p.sealing = Some(fraud_vm::block::SealingRecord {
                receipts_cursor: keccak256(s.receipts_cursor),
                ..s.clone()
            });
            reject("sealing record", p);
        }
        for i in 0..proof.accounts.len() {
            let mut p = proof.clone();
            p.accounts[i].nonce += 1;
            reject("account record", p);
        }
        for i in 0..proof.slots.len() {
            let mut p = proof.clone();
            p.slots[i] += U256::from(1);
            reject("slot value", p);
        }
        if let Some(key) = proof.fold_key {
            let mut p = proof.clone();
            p.fold_key = Some(fraud_vm::block::FoldKey::Account(key.address().create(7)));
            reject("fold key", p);
        }
        if let Some(r) = &proof.receipt {
            for forged in [
                fraud_vm::receipt::Receipt {
                    success: !r.success,
                    ..r.clone()
                },
                fraud_vm::receipt::Receipt {
                    cumulative_gas: r.cumulative_gas + 1,
                    ..r.clone()
                },
                fraud_vm::receipt::Receipt {
                    logs: Vec::new(),
                    ..r.clone()
                },
                fraud_vm::receipt::Receipt {
                    deposit_nonce: r.deposit_nonce.map(|n| n + 1),
                    ..r.clone()
                },
                // [v0.6] A receipt naming another transaction of the list.
                fraud_vm::receipt::Receipt {
                    tx_index: r.tx_index + 1,
                    ..r.clone()
                },
            ] {
                if &forged != r {
                    let mut p = proof.clone();
                    p.receipt = Some(forged);
                    reject("receipt", p);
                }
            }
        }
        if let Some((encoding, position)) = &proof.transaction {
            let mut p = proof.clone();
            let mut forged = encoding.clone();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            p.transaction = Some((forged, position.clone()));
            reject("transaction", p);
        }
        if let Some(c) = &proof.constants {
            let mut p = proof.clone();
            let mut extra = c.extra_data.clone();
            extra.push(1);
            p.constants = Some(fraud_vm::state::BlockConstants {
                extra_data: extra,
                ..c.clone()
            });
            reject("header field (extra data)", p);
        }
        if let Some(env) = &proof.block_env {
            let mut p = proof.clone();
            p.block_env = Some(fraud_vm::state::BlockEnv {
                timestamp: env.timestamp + U256::from(1),
                ..env.clone()
            });
            reject("header field (timestamp)", p);
        }
    }
    for what in [
        "trie node",
        "missing sibling",
        "foreign sibling",
        "sealing record",
        "account record",
        "slot value",
        "fold key",
        "receipt",
        "transaction",
        "header field (extra data)",
        "header field (timestamp)",
    ] {
        assert!(
            kinds.get(what).copied().unwrap_or(0) > 0,
            "no {what} tampered: {kinds:?}"
        );
    }

    // A fold of any key but the overlay's smallest is refused: the prover is made to skip the
    // smallest key of a fold step's state.
    let fold_at = recorder
        .proofs
        .iter()
        .position(|(kind, _, _)| kind == "Fold")
        .expect("a fold step");
    let (_, pre, _) = &recorder.proofs[fold_at];
    let position = recorder
        .commitments
        .iter()
        .position(|c| c == pre)
        .expect("the fold's position") as u64;
    let kept = run_recorded(
        &encoded,
        Recorder {
            keep: Some(position),
            ..Recorder::default()
        },
    )
    .expect("re-execution")
    .kept;
    let mut state = kept.expect("the fold's state");
    let sealing = state.sealing.as_mut().expect("the block end");
    let smallest = *sealing.pending.keys().next().expect("a key to fold");
    sealing.pending.remove(&smallest);
    assert_eq!(state.record.commitment(), *pre);
    assert_eq!(
        prove(&mut state).map(|_| ()),
        Err(fraud_vm::VerifyError::BadFoldKey)
    );
}

/// Tampered witnesses of the transaction boundaries are rejected: a wrong mint (the deposit's
/// record), a wrong L1Block slot value (the L1 fee scalars), a wrong vault or sender record, a
/// wrong sparse-tree sibling, and a wrong Merkle-Patricia node.
#[test]
fn op_boundary_witnesses_are_checked() {
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let proofs = run(&encoded).expect("the block checks");
    // Every transaction start's word proof in the list, to swap in at another index.
    let word_proofs: Vec<_> = proofs
        .iter()
        .filter_map(|(_, _, p)| p.transaction.as_ref().map(|(_, w)| w.clone()))
        .collect();
    let mut kinds = BTreeMap::<&str, u32>::new();
    for (kind, pre, proof) in &proofs {
        let mut reject = |what: &'static str, p: StepProof| {
            assert!(
                verify(*pre, &p).is_err(),
                "{kind}: tampered {what} accepted"
            );
            *kinds.entry(what).or_default() += 1;
        };
        if let Some((encoding, word)) = &proof.transaction {
            // The right encoding with the list's word proof of another index.
            if let Some(other) = word_proofs.iter().find(|w| *w != word) {
                let mut p = proof.clone();
                p.transaction = Some((encoding.clone(), other.clone()));
                reject("word proof at another index", p);
            }
            // The same transaction with another signature (the parity flipped: another sender
            // recovers, or none).
            if let Ok(OpTxEnvelope::Eip1559(t)) = OpTxEnvelope::decode_2718_exact(encoding) {
                let sig = *t.signature();
                let forged = alloy::primitives::Signature::new(sig.r(), sig.s(), !sig.v());
                let mut p = proof.clone();
                p.transaction = Some((
                    OpTxEnvelope::Eip1559(t.tx().clone().into_signed(forged)).encoded_2718(),
                    word.clone(),
                ));
                reject("signature", p);
            }
        }
        // The list commits to each transaction's encoding: another mint or authorization is
        // another transaction, outside the list.
        if let Some((encoding, _)) = &proof.transaction
            && let Ok(OpTxEnvelope::Deposit(d)) = OpTxEnvelope::decode_2718_exact(encoding)
        {
            let mut p = proof.clone();
            let mut forged = d.inner().clone();
            forged.mint += 1;
            if let Some((e, _)) = p.transaction.as_mut() {
                *e = deposit(forged);
            }
            reject("mint", p);
        }
        if let Some((encoding, _)) = &proof.transaction
            && let Ok(OpTxEnvelope::Eip7702(t)) = OpTxEnvelope::decode_2718_exact(encoding)
        {
            let mut p = proof.clone();
            let mut forged = t.tx().clone();
            forged.authorization_list[0] = alloy::eips::eip7702::SignedAuthorization::new_unchecked(
                alloy::eips::eip7702::Authorization {
                    nonce: forged.authorization_list[0].nonce + 1,
                    ..forged.authorization_list[0].inner().clone()
                },
                forged.authorization_list[0].y_parity(),
                forged.authorization_list[0].r(),
                forged.authorization_list[0].s(),
            );
            if let Some((e, _)) = p.transaction.as_mut() {
                *e = OpTxEnvelope::Eip7702(forged.into_signed(*t.signature())).encoded_2718();
            }
            reject("authorization", p);
        }
        for i in 0..proof.slots.len() {
            let mut p = proof.clone();
            p.slots[i] += U256::from(1);
            reject("slot value", p);
        }
        for i in 0..proof.accounts.len() {
            let mut p = proof.clone();
            p.accounts[i].balance += U256::from(1);
            reject("account record", p);
        }
        for i in 0..proof.trees.len() {
            let mut p = proof.clone();
            if let Some(s) = p.trees[i].siblings.iter_mut().find(|s| !s.is_zero()) {
                s.0[0] ^= 1;
                reject("tree sibling", p);
            }
        }
        for i in 0..proof.base_accounts.len() {
            let mut p = proof.clone();
            if let Some(node) = p.base_accounts[i].nodes.last_mut() {
                let mut bytes = node.to_vec();
                let at = bytes.len() - 1;
                bytes[at] ^= 1;
                *node = bytes.into();
                reject("trie node", p);
            }
        }
        for i in 0..proof.base_slots.len() {
            let mut p = proof.clone();
            p.base_slots[i].value += U256::from(1);
            reject("base slot", p);
        }
    }
    for what in [
        "word proof at another index",
        "signature",
        "mint",
        "authorization",
        "slot value",
        "account record",
        "tree sibling",
        "trie node",
    ] {
        assert!(
            kinds.get(what).copied().unwrap_or(0) > 0,
            "no {what} tampered"
        );
    }
}

/// The L1 data fee and the operator fee reach their vaults, and the base fee the BaseFeeVault.
#[test]
fn op_fees_reach_the_vaults() {
    let items = vec![Item::Paid {
        key: 0,
        legacy: false,
        value: 0,
        target: Target::Worker(0),
    }];
    let encoded = block(&items, (1368, 810_949, 7_000, 300));
    let (_, outcome) = trace(&encoded, &mut ()).expect("checks");
    let world = &outcome.last.world;
    for vault in [L1_FEE_VAULT, OPERATOR_FEE_VAULT] {
        assert!(
            !world.account(vault).balance.is_zero(),
            "{vault} got nothing"
        );
    }
    assert!(world.account(BASE_FEE_VAULT).balance > U256::from(3));
    assert!(world.account(SEQUENCER_FEE_VAULT).balance > U256::from(4));
}

/// `check_block` over an execution witness of the whole pre-state (with the EIP-4788 and
/// EIP-2935 system contracts): every step verifies, from `blockStart` through the system calls,
/// every transaction and the block end, whose output root is the one of the header alloy-op-evm's
/// executor gives, and the block passes. A witness without the state root's node or without a
/// code, a header with another gas used or any other field, and a parent that is not the block's
/// parent are each a typed error.
#[test]
fn check_block_over_a_witness() {
    use alloy::consensus::Header;
    use fraud_vm::check::{CheckError, check_block};
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let gas_used = trace(&encoded, &mut ()).expect("checks").1.report.gas_used;
    let (header, parent, witness, txs) = witnessed_block(&encoded);
    assert_eq!(
        header.gas_used, gas_used,
        "alloy-op-evm's block executor agrees on the gas"
    );
    match check_block(&header, &txs, &witness, &config()) {
        Ok(report) => {
            eprintln!("check_block report:\n{report}");
            let n = txs.len() as u64;
            assert_eq!(report.transactions, n);
            assert_eq!(report.steps_per_kind.get("TxStart"), Some(&n));
            assert_eq!(report.steps_per_kind.get("TxEnd"), Some(&n));
            assert_eq!(report.steps_per_kind.get("SystemCall"), Some(&2));
            assert_eq!(report.steps_per_kind.get("Insert"), Some(&n));
            for kind in ["EndStart", "Seal", "BlockEnd"] {
                assert_eq!(report.steps_per_kind.get(kind), Some(&1), "{kind}");
            }
            assert!(report.steps_per_kind.get("Fold").copied().unwrap_or(0) > 10);
            assert!(report.steps > 2 * n, "{report:?}");
            assert!(report.steps_per_kind.get("FrameExit").copied().unwrap_or(0) >= 3);
            assert_eq!(report.gas_used, gas_used);
            assert!(
                report
                    .proof_bytes
                    .values()
                    .all(|(max, median)| max >= median)
            );
        }
        other => panic!("expected the block to check, got {other:?}"),
    }

    let mut no_root = witness.clone();
    no_root.state.retain(|n| keccak256(n) != parent.state_root);
    match check_block(&header, &txs, &no_root, &config()) {
        Err(CheckError::MissingWitness(what)) => {
            assert!(what.contains(&parent.state_root.to_string()), "{what}")
        }
        other => panic!("missing root node: {other:?}"),
    }
    let mut no_code = witness.clone();
    no_code.codes.retain(|c| c.as_ref() != WORKER_CODE);
    assert!(
        matches!(
            check_block(&header, &txs, &no_code, &config()),
            Err(CheckError::MissingWitness(_))
        ),
        "missing code"
    );
    let wrong_gas = Header {
        gas_used: gas_used + 1,
        ..header.clone()
    };
    assert!(matches!(
        check_block(&wrong_gas, &txs, &witness, &config()),
        Err(CheckError::HeaderMismatch {
            field: "gas_used",
            ..
        })
    ));
    for wrong in [
        Header {
            receipts_root: B256::repeat_byte(1),
            ..header.clone()
        },
        Header {
            logs_bloom: Default::default(),
            ..header.clone()
        },
        Header {
            transactions_root: B256::repeat_byte(2),
            ..header.clone()
        },
        Header {
            state_root: B256::repeat_byte(3),
            ..header.clone()
        },
        Header {
            base_fee_per_gas: Some(BASEFEE + 1),
            ..header.clone()
        },
        Header {
            extra_data: Bytes::new(),
            ..header.clone()
        },
        Header {
            withdrawals_root: Some(B256::repeat_byte(4)),
            ..header.clone()
        },
        Header {
            parent_beacon_block_root: Some(B256::repeat_byte(5)),
            ..header.clone()
        },
        Header {
            requests_hash: None,
            ..header.clone()
        },
    ] {
        assert!(
            matches!(
                check_block(&wrong, &txs, &witness, &config()),
                Err(CheckError::HeaderMismatch { .. })
            ),
            "{wrong:?}"
        );
    }
    assert!(matches!(
        check_block(&header, &[], &witness, &config()),
        Err(CheckError::BadTransaction { index: 0, .. })
    ));
    // A block whose first transaction is not the L1-info deposit is invalid at its start step.
    let mut reordered = txs.clone();
    reordered.swap(0, 1);
    let reordered_header = Header {
        transactions_root: alloy_trie::root::ordered_trie_root_with_encoder(
            &reordered,
            |t, buf| buf.extend_from_slice(t),
        ),
        ..header.clone()
    };
    match check_block(&reordered_header, &reordered, &witness, &config()) {
        Err(CheckError::Step {
            index: 0, reason, ..
        }) => {
            assert!(reason.contains("L1-info"), "{reason}")
        }
        other => panic!("a block not opened by the L1-info deposit: {other:?}"),
    }
    let orphan = Header {
        parent_hash: B256::repeat_byte(3),
        ..header.clone()
    };
    assert!(matches!(
        check_block(&orphan, &txs, &witness, &config()),
        Err(CheckError::BadWitness(_))
    ));
}

/// `blockStart` (SPEC.md §5.18) derives the first state the trace starts from, and refuses a
/// proof whose output preimage, parent header, block number or inputs are not the agreed
/// parent's: a wrong preimage, a parent header that is not the output's block (also one forged
/// together with its hash), the wrong block number, a timestamp before the parent's, bytes that
/// are not a proof. The base fee follows the parent's gas as op-node computes it.
#[test]
fn block_start_derives_the_first_state() {
    use fraud_vm::block_start::{BlockStartProof, block_start, derive_block_start};
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let block = l2_block(&encoded);
    let params = config().params;
    let output = block.parent_output_root();
    let proof = block.start_proof();
    let start = block_start(output, NUMBER, &proof, &params).expect("the honest proof");
    let recorder = run_recorded(&encoded, Recorder::default()).expect("the block checks");
    assert_eq!(start.state.commitment(), recorder.commitments[0]);
    assert_eq!(recorder.statuses[0], fraud_vm::Status::BlockStart);
    assert_eq!(recorder.statuses[2], fraud_vm::Status::Idle);
    assert_eq!(start.block_env.basefee, U256::from(BASEFEE));
    assert_eq!(start.block_env.coinbase, SEQUENCER_FEE_VAULT);
    assert_eq!(
        derive_block_start(output, NUMBER, &proof.encode(), &params),
        Ok(recorder.commitments[0])
    );
    // A parent that used all its gas raises the base fee as alloy's EIP-1559 rule does.
    let mut busy = block.clone();
    busy.parent.gas_used = busy.parent.gas_limit;
    let busy_start = block_start(
        busy.parent_output_root(),
        NUMBER,
        &busy.start_proof(),
        &params,
    )
    .expect("busy");
    assert_eq!(
        busy_start.block_env.basefee,
        U256::from(alloy::eips::eip1559::calc_next_block_base_fee(
            busy.parent.gas_used,
            busy.parent.gas_limit,
            BASEFEE,
            alloy::eips::eip1559::BaseFeeParams::optimism_canyon(),
        ))
    );
    let refused = |what: &str, output: B256, number: u64, proof: &BlockStartProof| {
        assert!(
            matches!(
                block_start(output, number, proof, &params),
                Err(fraud_vm::VerifyError::BadBlockStart { .. })
            ),
            "{what}"
        );
    };
    refused("another output", keccak256(output), NUMBER, &proof);
    refused(
        "a wrong output preimage",
        output,
        NUMBER,
        &BlockStartProof {
            state_root: keccak256(proof.state_root),
            ..proof.clone()
        },
    );
    let mut other_parent = block.parent.clone();
    other_parent.gas_used += 1;
    let other_header = alloy::rlp::encode(&other_parent);
    refused(
        "a wrong parent header",
        output,
        NUMBER,
        &BlockStartProof {
            parent_header: other_header.clone(),
            ..proof.clone()
        },
    );
    refused(
        "a parent header forged with its hash",
        output,
        NUMBER,
        &BlockStartProof {
            parent_header: other_header.clone(),
            block_hash: keccak256(&other_header),
            ..proof.clone()
        },
    );
    refused("another block number", output, NUMBER + 1, &proof);
    let mut early = proof.clone();
    early.inputs.timestamp = block.parent.timestamp - 1;
    refused("a timestamp before the parent's", output, NUMBER, &early);
    assert!(derive_block_start(output, NUMBER, &[4, 1, 2], &params).is_err());
}

/// A layer-2 dispute over a whole OP block (SPEC.md §8): the defender's trace is wrong from a
/// transaction start, from the middle of the block, and from its last state on; bisection over
/// the block-wide positions, answered by re-running the block, ends at the step before, whose
/// one-step proof from the honest state refutes the defender.
#[test]
fn dispute_over_an_op_block() {
    use fraud_vm::bisect::find_first_difference;
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let honest = run_recorded(&encoded, Recorder::default()).expect("the block checks");
    let n = honest.commitments.len() as u64 - 1;
    // The first state after the Idle state that ends transaction 0: transaction 1's start.
    let second_start = honest
        .statuses
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, s)| **s == fraud_vm::Status::Idle)
        .map(|(i, _)| i as u64 + 1)
        .expect("an Idle state between transactions");
    for bad_from in [second_start, n / 2, n] {
        let claimed = |k: u64| {
            let c = honest.commitments[k as usize];
            if k >= bad_from { keccak256(c) } else { c }
        };
        let game = find_first_difference(0, n, |k| honest.commitments[k as usize], claimed)
            .expect("a dispute");
        assert_eq!(game.agreed(), bad_from - 1);
        let kept = run_recorded(
            &encoded,
            Recorder {
                keep: Some(game.agreed()),
                ..Recorder::default()
            },
        )
        .expect("re-execution")
        .kept;
        // The library's observer keeps the same state and the honest next commitment.
        let mut at = fraud_vm::check::StateAtPosition::new(game.agreed());
        trace(&encoded, &mut at).expect("re-execution");
        assert_eq!(at.next, Some(honest.commitments[game.disputed() as usize]));
        assert_eq!(
            at.state.as_ref().map(|s| s.record.commitment()),
            kept.as_ref().map(|s| s.record.commitment())
        );
        let mut state = kept.expect("the agreed position exists");
        let (proof, _) = prove(&mut state).expect("provable");
        let post = verify(claimed(game.agreed()), &proof).expect("the agreed state verifies");
        assert_eq!(post, honest.commitments[game.disputed() as usize]);
        assert_ne!(post, claimed(game.disputed()));
    }
}

/// The layer-2 answers of `check::BlockSteps` (SPEC.md §8, §12.6) follow the trace: `N`, the
/// commitment at every position asked (the block-end state's past `N`), one-step proofs that
/// verify from `commit(s_m)` to `commit(s_{m+1})` at the block start, its system calls, a
/// transaction start, an opcode, a transaction end, the block end and past `N`; `blockStart`'s
/// `s_0`, and `blockEnd`'s output root, which is the header's. Over a revm database and over the
/// block's witness alike.
#[test]
fn layer2_answers_follow_the_trace() {
    use fraud_vm::Status;
    use fraud_vm::check::BlockSteps;
    let encoded = block(&every_kind(), (1368, 810_949, 7_000, 300));
    let honest = run_recorded(&encoded, Recorder::default()).expect("the block checks");
    let n = honest.commitments.len() as u64 - 1;
    let genesis = genesis();
    let steps = BlockSteps::new(
        database(&genesis),
        Arc::new(BaseState::new(genesis.clone())),
        l2_block(&encoded),
        config(),
    );
    let opening = steps.opening().expect("the block opens");
    assert_eq!(opening.step_count, n);
    assert_eq!(steps.step_count(), Ok(n));
    assert_eq!(opening.start_state, honest.commitments[0]);
    assert_eq!(opening.end_state, honest.commitments[n as usize]);
    assert_eq!(
        fraud_vm::block::block_end(opening.end_state, &opening.end_proof),
        Ok(opening.output_root)
    );
    assert_eq!(
        fraud_vm::block_start::derive_block_start(
            steps.block().parent_output_root(),
            NUMBER,
            &opening.start_proof,
            &config().params
        ),
        Ok(opening.start_state)
    );
    let (header, _, witness, txs) = witnessed_block(&encoded);
    assert_eq!(
        opening.output_root,
        fraud_vm::block::output_root(
            header.state_root,
            header.withdrawals_root.unwrap_or_default(),
            header.hash_slow()
        )
    );
    let from_witness = BlockSteps::from_witness(&header, txs.clone(), &witness, config())
        .expect("the witness is the block's");
    assert_eq!(from_witness.opening(), Ok(opening));
    // A witness without the parent's header, or with another block's, is refused.
    let headerless = alloy::rpc::types::debug::ExecutionWitness {
        headers: Vec::new(),
        ..witness.clone()
    };
    assert!(matches!(
        BlockSteps::from_witness(&header, txs.clone(), &headerless, config()).map(|_| ()),
        Err(fraud_vm::check::CheckError::MissingWitness(_))
    ));
    let mut other_parent = parent_header(BaseState::new(genesis.clone()).root());
    other_parent.gas_used += 1;
    let foreign = alloy::rpc::types::debug::ExecutionWitness {
        headers: vec![alloy::rlp::encode(&other_parent).into()],
        ..witness.clone()
    };
    assert!(matches!(
        BlockSteps::from_witness(&header, txs, &foreign, config()).map(|_| ()),
        Err(fraud_vm::check::CheckError::BadWitness(_))
    ));

    let status_at = |s: Status| {
        honest
            .statuses
            .iter()
            .enumerate()
            .skip(3)
            .find(|(_, x)| **x == s)
            .map(|(i, _)| i as u64)
            .expect("such a state")
    };
    let idle = status_at(Status::Idle);
    let running = status_at(Status::Running);
    let sealing = status_at(Status::Sealing);
    for m in [0, 1, 2, running, idle - 1, idle, sealing, n - 1, n, n + 3] {
        let at = |k: u64| honest.commitments[k.min(n) as usize];
        assert_eq!(steps.commitment_at(m), Ok(at(m)), "position {m}");
        let answer = steps.step_proof(m).expect("a proof");
        assert_eq!(
            (answer.pre, answer.post),
            (at(m), at(m + 1)),
            "position {m}"
        );
        let proof = StepProof::decode(&answer.proof).expect("the proof decodes");
        assert_eq!(verify(answer.pre, &proof), Ok(answer.post), "position {m}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The layer-2 answers of random blocks, from light re-runs (only the asked state committed,
    /// stopped once known), are the full trace's: `N`, the commitment at boundary positions and
    /// at random ones (past `N` too), and a one-step proof from a random position.
    #[test]
    fn light_layer2_answers_match_the_full_trace(
        encoded in random_block(),
        picks in prop::collection::vec(any::<u64>(), 12),
    ) {
        use fraud_vm::Status;
        use fraud_vm::check::BlockSteps;
        let honest = run_recorded(&encoded, Recorder::default());
        prop_assert!(honest.is_ok(), "{:?}", honest.err());
        let honest = honest.expect("checked");
        let n = honest.commitments.len() as u64 - 1;
        let genesis = genesis();
        let steps = BlockSteps::new(
            database(&genesis),
            Arc::new(BaseState::new(genesis.clone())),
            l2_block(&encoded),
            config(),
        );
        prop_assert_eq!(steps.step_count(), Ok(n));
        let boundaries: Vec<u64> = honest
            .statuses
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != Status::Running)
            .map(|(i, _)| i as u64)
            .collect();
        let stride = boundaries.len().div_ceil(24).max(1);
        let mut positions: Vec<u64> = boundaries.into_iter().step_by(stride).collect();
        let boundary_count = positions.len();
        positions.extend(picks.iter().map(|p| p % (n + 3)));
        for &m in &positions {
            prop_assert_eq!(
                steps.commitment_at(m),
                Ok(honest.commitments[m.min(n) as usize]),
                "position {} of {}", m, n
            );
        }
        // One-step proofs from a random position and from boundary states (a transaction
        // start, end or skip, the block end's steps: only the asked one is proved whole, the
        // boundary steps before it are applied light), and from the block end's last steps,
        // with and without the block end states the answers above kept.
        let at = |k: u64| honest.commitments[k.min(n) as usize];
        let mut proved = vec![picks[0] % (n + 2), n - 1, n];
        proved.extend(positions[..boundary_count].iter().step_by(3));
        for (i, &m) in proved.iter().enumerate() {
            let fresh;
            let asked = if i % 2 == 1 {
                // A player that has answered nothing about the block's end.
                fresh = BlockSteps::new(
                    database(&genesis),
                    Arc::new(BaseState::new(genesis.clone())),
                    l2_block(&encoded),
                    config(),
                );
                &fresh
            } else {
                &steps
            };
            let answer = asked.step_proof(m);
            prop_assert!(answer.is_ok(), "position {}: {:?}", m, answer.err());
            let answer = answer.expect("a proof");
            prop_assert_eq!((answer.pre, answer.post), (at(m), at(m + 1)), "position {}", m);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The lifted-leaf cache (`smt::set_lift_cache_capacity`) changes no layer-2 answer: a
    /// block's `N` and commitments along a bisection to its last step are the same with the
    /// cache off, with a few slots (full after a few leaves, then evicting at every lift), and
    /// with the usual size, cold and then warm from the earlier answers. Only this test resizes
    /// the cache; the other tests running beside it hash the same with any size.
    #[test]
    fn lifted_leaf_cache_changes_no_answer(
        encoded in random_block(),
        picks in prop::collection::vec(any::<u64>(), 4),
    ) {
        use fraud_vm::check::BlockSteps;
        use fraud_vm::smt::{DEFAULT_LIFT_CACHE_SLOTS, set_lift_cache_capacity};
        let genesis = genesis();
        let answers = || {
            let steps = BlockSteps::new(
                database(&genesis),
                Arc::new(BaseState::new(genesis.clone())),
                l2_block(&encoded),
                config(),
            );
            let n = steps.step_count()?;
            let mut positions = Vec::new();
            let (mut agreed, disputed) = (0, n);
            while disputed - agreed > 1 {
                agreed += (disputed - agreed) / 2;
                positions.push(agreed);
            }
            positions.extend(picks.iter().map(|p| p % (n + 2)));
            positions
                .into_iter()
                .map(|m| steps.commitment_at(m).map(|c| (m, c)))
                .collect::<Result<Vec<_>, _>>()
                .map(|c| (n, c))
        };
        set_lift_cache_capacity(0);
        let without = answers();
        prop_assert!(without.is_ok(), "{:?}", without.as_ref().err());
        // The last run keeps the cache the one before it filled.
        for (slots, emptied) in [
            (1, true),
            (4, true),
            (DEFAULT_LIFT_CACHE_SLOTS, true),
            (DEFAULT_LIFT_CACHE_SLOTS, false),
        ] {
            if emptied {
                set_lift_cache_capacity(slots);
            }
            prop_assert_eq!(&answers(), &without, "{} slots", slots);
        }
    }
}

/// What op-node's block executor gives a block: gas used, receipts root, logs bloom and the
/// post-state root.
struct Executed {
    /// The transactions that ran (derivation leaves the others out, BATCHES.md §5.2).
    included: Vec<Vec<u8>>,
    gas_used: u64,
    receipts_root: B256,
    logs_bloom: alloy::primitives::Bloom,
    state_root: B256,
}

/// The block as op-node executes it: alloy-op-evm's block executor (pre-execution system calls,
/// the transactions, the receipts), and the state root of its post-state.
fn block_executor(
    genesis: &BTreeMap<Address, BaseAccount>,
    encoded: &[Vec<u8>],
    parent_hash: B256,
    beacon_root: B256,
) -> Executed {
    use alloy::consensus::TxReceipt;
    use alloy::consensus::transaction::Recovered;
    use alloy::eips::eip2718::{Decodable2718, WithEncoded};
    use alloy_evm::block::{BlockExecutor, BlockExecutorFactory};
    use alloy_evm::{EvmEnv, EvmFactory};
    use alloy_op_evm::block::OpAlloyReceiptBuilder;
    use alloy_op_evm::{OpBlockExecutionCtx, OpBlockExecutorFactory};
    use alloy_op_hardforks::{ForkCondition, OpChainHardforks, OpHardfork};
    use fraud_vm::precompiles::RollupEvmFactory;
    let forks = OpChainHardforks::new([
        (OpHardfork::Bedrock, ForkCondition::ZERO_BLOCK),
        (OpHardfork::Regolith, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Canyon, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Ecotone, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Fjord, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Granite, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Holocene, ForkCondition::ZERO_TIMESTAMP),
        (OpHardfork::Isthmus, ForkCondition::ZERO_TIMESTAMP),
    ]);
    let mut state = revm::database::State::builder()
        .with_database(database(genesis))
        .with_bundle_update()
        .build();
    let factory: OpBlockExecutorFactory<OpAlloyReceiptBuilder, OpChainHardforks, RollupEvmFactory> =
        OpBlockExecutorFactory::new(OpAlloyReceiptBuilder::default(), forks, RollupEvmFactory);
    let mut cfg_env = revm::context::CfgEnv::new_with_spec(op_revm::OpSpecId::ISTHMUS);
    cfg_env.chain_id = CHAIN_ID;
    let block_env = revm::context::BlockEnv {
        number: U256::from(NUMBER),
        beneficiary: SEQUENCER_FEE_VAULT,
        timestamp: U256::from(TIMESTAMP),
        gas_limit: GAS_LIMIT,
        basefee: BASEFEE,
        difficulty: U256::ZERO,
        prevrandao: Some(PREVRANDAO),
        blob_excess_gas_and_price: Some(
            revm::context_interface::block::BlobExcessGasAndPrice::new(
                0,
                revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
            ),
        ),
        slot_num: 0,
    };
    let evm = factory
        .evm_factory()
        .create_evm(&mut state, EvmEnv { cfg_env, block_env });
    let mut executor = factory.create_executor(
        evm,
        OpBlockExecutionCtx {
            parent_hash,
            parent_beacon_block_root: Some(beacon_root),
            extra_data: Default::default(),
        },
    );
    executor
        .apply_pre_execution_changes()
        .expect("system calls");
    // As op-node derives a block (BATCHES.md §5.2): a recorded transaction that does not
    // decode, is a deposit, or that the executor refuses is left out, each on its own.
    let mut included = Vec::new();
    let mut recorded = false;
    for raw in encoded {
        recorded |= raw.first() != Some(&0x7e);
        let Ok(envelope) = OpTxEnvelope::decode_2718_exact(raw) else {
            continue;
        };
        let Ok(tx) = BlockTx::decode(raw, CHAIN_ID) else {
            continue;
        };
        if recorded && envelope.is_deposit() {
            continue;
        }
        let recovered = Recovered::new_unchecked(envelope, tx.record.sender);
        match executor.execute_transaction(WithEncoded::new(Bytes::from(raw.clone()), &recovered)) {
            Ok(_) => included.push(raw.clone()),
            Err(alloy_evm::block::BlockExecutionError::Validation(_)) if recorded => {}
            Err(e) => panic!("executes: {e}"),
        }
    }
    let (_, result) = executor.finish().expect("finishes");
    state.merge_transitions(revm::database::states::bundle_state::BundleRetention::Reverts);
    let mut post = genesis.clone();
    for (address, account) in &state.bundle_state.state {
        let Some(info) = &account.info else {
            post.remove(address);
            continue;
        };
        let entry = post.entry(*address).or_default();
        if account.status.was_destroyed() {
            entry.storage.clear();
        }
        entry.nonce = info.nonce;
        entry.balance = info.balance;
        entry.code = info
            .code
            .as_ref()
            .map(|c| c.original_bytes().to_vec())
            .unwrap_or_default();
        for (slot, value) in &account.storage {
            if value.present_value.is_zero() {
                entry.storage.remove(slot);
            } else {
                entry.storage.insert(*slot, value.present_value);
            }
        }
    }
    let mut bloom = alloy::primitives::Bloom::ZERO;
    let receipts: Vec<Vec<u8>> = result
        .receipts
        .iter()
        .map(|r| {
            bloom.accrue_bloom(&r.bloom());
            r.encoded_2718()
        })
        .collect();
    let receipts_root = alloy_trie::root::ordered_trie_root_with_encoder(&receipts, |r, buf| {
        buf.extend_from_slice(r)
    });
    Executed {
        included,
        gas_used: result.gas_used,
        receipts_root,
        logs_bloom: bloom,
        state_root: BaseState::new(post).root(),
    }
}

/// op-node's L2 extra data (Holocene): version 0, the EIP-1559 denominator 250 and elasticity 6.
fn holocene_extra_data() -> Bytes {
    Bytes::from(vec![0, 0, 0, 0, 250, 0, 0, 0, 6])
}

/// The parent of the block at [`NUMBER`], as op-node seals it, over the state root
/// `state_root`: its gas used is the target, so the block's base fee stays [`BASEFEE`].
fn parent_header(state_root: B256) -> alloy::consensus::Header {
    alloy::consensus::Header {
        number: NUMBER - 1,
        state_root,
        beneficiary: SEQUENCER_FEE_VAULT,
        timestamp: TIMESTAMP - 2,
        gas_limit: GAS_LIMIT,
        gas_used: GAS_LIMIT / 6,
        base_fee_per_gas: Some(BASEFEE),
        mix_hash: B256::repeat_byte(0x41),
        extra_data: holocene_extra_data(),
        withdrawals_root: Some(alloy_trie::EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::repeat_byte(8)),
        requests_hash: Some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

/// The block of `encoded` on top of [`genesis`] with the EIP-4788 and EIP-2935 system contracts,
/// as op-node would seal it: its header (gas, receipts root and bloom from alloy-op-evm's block
/// executor), its parent, a witness of the whole pre-state, and its transactions.
fn witnessed_block(
    encoded: &[Vec<u8>],
) -> (
    alloy::consensus::Header,
    alloy::consensus::Header,
    alloy::rpc::types::debug::ExecutionWitness,
    Vec<Bytes>,
) {
    use alloy::consensus::Header;
    use alloy::rpc::types::debug::ExecutionWitness;
    let genesis = genesis();
    let base = BaseState::new(genesis.clone());
    let parent = parent_header(base.root());
    let beacon_root = BEACON_ROOT;
    let executed = block_executor(&genesis, encoded, parent.hash_slow(), beacon_root);
    // Sealed as op-node seals an L2 block (op-node/src/engine/mod.rs).
    let header = Header {
        parent_hash: parent.hash_slow(),
        number: NUMBER,
        beneficiary: SEQUENCER_FEE_VAULT,
        timestamp: TIMESTAMP,
        gas_limit: GAS_LIMIT,
        base_fee_per_gas: Some(BASEFEE),
        mix_hash: PREVRANDAO,
        gas_used: executed.gas_used,
        parent_beacon_block_root: Some(beacon_root),
        transactions_root: alloy_trie::root::ordered_trie_root_with_encoder(
            &executed.included,
            |t, buf| buf.extend_from_slice(t),
        ),
        receipts_root: executed.receipts_root,
        logs_bloom: executed.logs_bloom,
        state_root: executed.state_root,
        extra_data: holocene_extra_data(),
        withdrawals_root: Some(alloy_trie::EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        requests_hash: Some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH),
        ..Default::default()
    };
    let witness = ExecutionWitness {
        state: base.all_nodes(),
        codes: genesis
            .values()
            .filter(|a| !a.code.is_empty())
            .map(|a| Bytes::from(a.code.clone()))
            .collect(),
        keys: Vec::new(),
        headers: vec![alloy::rlp::encode(&parent).into()],
    };
    let txs: Vec<Bytes> = encoded.iter().map(|e| Bytes::from(e.clone())).collect();
    (header, parent, witness, txs)
}

/// A system deposit (refused since Regolith) fails as op-revm fails it: mint and nonce stay,
/// the gas limit is used, and every step still verifies.
#[test]
fn system_deposit_fails_keeping_its_mint() {
    let mut encoded = block(&[], (1368, 810_949, 7_000, 300));
    encoded.push(system_deposit());
    let recorder = run_recorded(&encoded, Recorder::default()).expect("the block checks");
    assert_eq!(
        recorder
            .proofs
            .iter()
            .filter(|(kind, _, _)| kind.starts_with("Tx"))
            .count(),
        4
    );
    let genesis = genesis();
    let (_, outcome) = trace(&encoded, &mut ()).expect("checks");
    assert!(!outcome.results[1].is_success());
    assert_eq!(outcome.results[1].tx_gas_used(), 100_000);
    let sender = outcome.last.world.account(RICH_DEPOSITOR);
    assert_eq!(sender.nonce, 1);
    assert_eq!(
        sender.balance,
        genesis[&RICH_DEPOSITOR].balance + U256::from(11)
    );
}

/// The proof `proof` with the sender's witness changed (its nonce bumped, or, for an absent
/// account, present with a nonce; without any account witness, a byte of the transaction's
/// encoding flipped): what a prover would show to turn a skip into a start or a start into a
/// skip.
fn forge_sender(proof: &StepProof) -> StepProof {
    let mut p = proof.clone();
    if let Some(rec) = p.accounts.first_mut() {
        rec.nonce ^= 1;
    } else if let Some(base) = p.base_accounts.first_mut() {
        let mut account = base.account.unwrap_or_default();
        account.nonce ^= 1;
        base.account = Some(account);
    } else if let Some((encoding, _)) = p.transaction.as_mut() {
        let last = encoding.len() - 1;
        encoding[last] ^= 1;
    }
    p
}

/// [v0.6] A block whose recorded section mixes valid transactions with every kind of refused
/// one (nonce too high, too low, a sender without funds, a bad signature, garbage, a gas limit
/// above the block's and above its gas left, a deposit): each refused one is skipped by a step
/// whose post-state is the Idle state at the next index with nothing else changed, the sender's
/// next valid transaction runs, and the block ends in op-revm's state and gas (checked by
/// [`run`]) and in the header alloy-op-evm's block executor (op-node's) seals over the
/// transactions that ran. A skip the prover would claim for a transaction that starts, or a
/// start of one that must be skipped, needs another witness of the sender: refused.
#[test]
fn refused_recorded_transactions_are_skipped() {
    let encoded = block(&with_refusals(), (1368, 810_949, 7_000, 300));
    let proofs = run(&encoded).expect("the block checks");
    let skip_of = |proof: &StepProof| {
        let mut next = proof.pre.clone();
        next.tx_index += 1;
        next.returndata_size += 1;
        next.commitment()
    };
    let skips: Vec<_> = proofs.iter().filter(|(k, _, _)| k == "TxSkip").collect();
    assert_eq!(skips.len(), 8, "every refused transaction is skipped");
    for (_, pre, proof) in &skips {
        assert_eq!(verify(*pre, proof), Ok(skip_of(proof)), "a skip");
        let forged = forge_sender(proof);
        assert!(
            !matches!(verify(*pre, &forged), Ok(post) if post != skip_of(proof)),
            "a start claimed for a transaction that must be skipped: {:?}",
            verify(*pre, &forged)
        );
    }
    let starts: Vec<_> = proofs.iter().filter(|(k, _, _)| k == "TxStart").collect();
    assert_eq!(starts.len(), encoded.len() - 8);
    for (_, pre, proof) in &starts {
        let post = verify(*pre, proof).expect("a start");
        assert_ne!(post, skip_of(proof));
        let forged = forge_sender(proof);
        assert!(
            !matches!(verify(*pre, &forged), Ok(p) if p != post),
            "a skip (or another start) claimed for a transaction that starts"
        );
    }
    // op-node's block: its header commits to the transactions that ran, and the block end
    // seals the same header from the recorded list.
    let (header, _, witness, txs) = witnessed_block(&encoded);
    let report = fraud_vm::check::check_recorded_block(&header, &txs, &witness, &config())
        .expect("the recorded block checks against op-node's header");
    assert_eq!(report.steps_per_kind.get("TxSkip"), Some(&8));
    assert!(matches!(
        fraud_vm::check::check_block(&header, &txs, &witness, &config()),
        Err(fraud_vm::check::CheckError::HeaderMismatch {
            field: "transactions_root",
            ..
        })
    ));
}
