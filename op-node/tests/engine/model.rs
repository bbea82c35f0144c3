//! A reference model of the state: plain maps, updated by what each transaction is meant to
//! do (the contracts of `contracts.rs` are simple enough to predict exactly), and the
//! from-scratch state root of any set of accounts.
//!
//! The model never asks the engine what happened, except for the gas each receipt reports
//! (fees depend on it); the engine's results are compared with it afterwards.

use super::contracts::{CREATE2_INITS, Init, create2_address, factory_runtime, salt};
use alloy::{
    eips::{eip2935::HISTORY_STORAGE_ADDRESS, eip4788::BEACON_ROOTS_ADDRESS},
    primitives::{Address, B256, Bytes, KECCAK256_EMPTY, Log, U256, address, keccak256},
    rlp,
};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount};
use op_node::chain::{GenesisAccount, SEQUENCER_FEE_VAULT};
use std::collections::{BTreeMap, BTreeSet};

/// Receives the base fee of every transaction (op-revm's BASE_FEE_RECIPIENT).
pub const BASE_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000019");
/// Receives the L1 data fee (zero here: there is no L1 block info yet).
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001a");
/// Receives the Isthmus operator fee (zero here).
pub const OPERATOR_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001b");
/// The caller of the pre-block system calls.
pub const SYSTEM_ADDRESS: Address = address!("0xfffffffffffffffffffffffffffffffffffffffe");
/// EIP-4788 and EIP-2935 keep a ring buffer of this many entries.
const HISTORY_BUFFER: u64 = 8191;

/// One account of the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    pub nonce: u64,
    pub balance: U256,
    pub code: Option<Bytes>,
    /// Non-zero slots only.
    pub storage: BTreeMap<U256, U256>,
}

impl Account {
    pub fn code_hash(&self) -> B256 {
        self.code.as_ref().map(keccak256).unwrap_or(KECCAK256_EMPTY)
    }

    /// EIP-161: no nonce, no balance, no code.
    fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code.is_none()
    }
}

/// What a transaction is meant to do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A call (a plain transfer when `to` has no code), interpreted by `to`'s code.
    Call {
        to: Address,
        value: U256,
        data: Bytes,
    },
    /// A contract creation at the sender's nonce.
    Create { init: Init, value: U256 },
    /// A call to a factory that CREATE2s `init`.
    Create2 {
        factory: Address,
        salt: B256,
        init: Init,
        value: U256,
    },
}

/// How the model expects a transaction to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with these logs.
    Success(Vec<Log>),
    /// Reverted: no state change but nonce and fee, no logs.
    Reverted,
    /// Ran out of gas: as a revert, and the whole gas limit is used.
    OutOfGas,
}

/// The model of the whole state.
#[derive(Debug, Clone)]
pub struct Model {
    pub accounts: BTreeMap<Address, Account>,
    /// Every address the test knows could exist: checked after every block.
    pub known: BTreeSet<Address>,
    /// Every slot ever written, per address: checked after every block.
    pub slots: BTreeMap<Address, BTreeSet<U256>>,
}

impl Model {
    /// The genesis state, plus the addresses a workload may touch.
    pub fn new(alloc: &[GenesisAccount], others: impl IntoIterator<Item = Address>) -> Self {
        let accounts = alloc
            .iter()
            .map(|a| {
                let account = Account {
                    // EIP-161: contracts start at nonce 1.
                    nonce: u64::from(a.code.is_some()),
                    balance: a.balance,
                    code: a.code.clone(),
                    storage: BTreeMap::new(),
                };
                (a.address, account)
            })
            .collect::<BTreeMap<_, _>>();
        let mut known: BTreeSet<Address> = accounts.keys().copied().collect();
        known.extend(others);
        known.extend([
            SEQUENCER_FEE_VAULT,
            BASE_FEE_VAULT,
            L1_FEE_VAULT,
            OPERATOR_FEE_VAULT,
            SYSTEM_ADDRESS,
            op_node::engine::MESSAGE_PASSER,
        ]);
        Self {
            accounts,
            known,
            slots: BTreeMap::new(),
        }
    }

    pub fn balance(&self, address: &Address) -> U256 {
        self.accounts
            .get(address)
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    pub fn nonce(&self, address: &Address) -> u64 {
        self.accounts.get(address).map(|a| a.nonce).unwrap_or(0)
    }

    pub fn code(&self, address: &Address) -> Option<&Bytes> {
        self.accounts.get(address).and_then(|a| a.code.as_ref())
    }

    /// Live contracts whose code is `code`, in address order.
    pub fn contracts(&self, code: &Bytes) -> Vec<Address> {
        self.accounts
            .iter()
            .filter(|(_, a)| a.code.as_ref() == Some(code))
            .map(|(address, _)| *address)
            .collect()
    }

    /// The first factory, whose CREATE2 targets the workloads aim at.
    pub fn factory(&self) -> Option<Address> {
        self.contracts(&factory_runtime()).first().copied()
    }

    /// Adds `amount`; a missing account is created only by a non-zero amount (a touched
    /// empty account does not exist, EIP-161).
    fn credit(&mut self, address: Address, amount: U256) {
        self.known.insert(address);
        if amount.is_zero() {
            return;
        }
        self.accounts.entry(address).or_default().balance += amount;
    }

    fn debit(&mut self, address: Address, amount: U256) {
        let account = self
            .accounts
            .get_mut(&address)
            .unwrap_or_else(|| panic!("model: debit from missing account {address}"));
        account.balance = account
            .balance
            .checked_sub(amount)
            .unwrap_or_else(|| panic!("model: {address} cannot pay {amount}"));
    }

    fn transfer(&mut self, from: Address, to: Address, amount: U256) {
        self.debit(from, amount);
        self.credit(to, amount);
    }

    fn sstore(&mut self, address: Address, slot: U256, value: U256) {
        self.slots.entry(address).or_default().insert(slot);
        let account = self
            .accounts
            .get_mut(&address)
            .expect("sstore to a live account");
        if value.is_zero() {
            account.storage.remove(&slot);
        } else {
            account.storage.insert(slot, value);
        }
    }

    /// The pre-block system calls: EIP-2935 stores the parent hash, EIP-4788 the timestamp
    /// and the (zero) parent beacon block root.
    pub fn begin_block(&mut self, number: u64, timestamp: u64, parent_hash: B256) {
        let history_slot = U256::from((number - 1) % HISTORY_BUFFER);
        self.sstore(
            HISTORY_STORAGE_ADDRESS,
            history_slot,
            U256::from_be_bytes(parent_hash.0),
        );
        let ts_slot = timestamp % HISTORY_BUFFER;
        self.sstore(
            BEACON_ROOTS_ADDRESS,
            U256::from(ts_slot),
            U256::from(timestamp),
        );
        self.sstore(
            BEACON_ROOTS_ADDRESS,
            U256::from(ts_slot + HISTORY_BUFFER),
            U256::ZERO,
        );
    }

    /// Applies one included transaction: the nonce and the fee always, the effect only if
    /// it succeeds. Returns the expected outcome.
    pub fn apply_tx(
        &mut self,
        sender: Address,
        effect: &Effect,
        gas_used: u64,
        effective_gas_price: u128,
        base_fee: u64,
    ) -> Outcome {
        let nonce = self.nonce(&sender);
        let before = self.accounts.clone();
        let outcome = self.apply_effect(sender, nonce, effect);
        if !matches!(outcome, Outcome::Success(_)) {
            self.accounts = before;
        }
        self.accounts
            .get_mut(&sender)
            .expect("a sender exists")
            .nonce += 1;
        let gas = U256::from(gas_used);
        self.debit(sender, gas * U256::from(effective_gas_price));
        self.credit(BASE_FEE_VAULT, gas * U256::from(base_fee));
        self.credit(
            SEQUENCER_FEE_VAULT,
            gas * U256::from(effective_gas_price - u128::from(base_fee)),
        );
        self.credit(L1_FEE_VAULT, U256::ZERO);
        self.credit(OPERATOR_FEE_VAULT, U256::ZERO);
        outcome
    }

    fn apply_effect(&mut self, sender: Address, nonce: u64, effect: &Effect) -> Outcome {
        match effect {
            Effect::Call { to, value, data } => self.call(sender, *to, *value, data),
            Effect::Create { init, value } => {
                let address = sender.create(nonce);
                self.debit(sender, *value);
                self.create(sender, address, *init, *value)
            }
            Effect::Create2 {
                factory,
                salt,
                init,
                value,
            } => {
                self.transfer(sender, *factory, *value);
                let address = create2_address(*factory, *salt, *init);
                let outcome = self.create(sender, address, *init, *value);
                if !matches!(outcome, Outcome::Success(_)) {
                    // The factory reverts when CREATE2 fails.
                    return Outcome::Reverted;
                }
                self.debit(*factory, *value);
                self.accounts.get_mut(factory).expect("factory").nonce += 1;
                outcome
            }
        }
    }

    /// A creation at `address` endowed with `value` (already taken from the creator).
    fn create(&mut self, origin: Address, address: Address, init: Init, value: U256) -> Outcome {
        self.known.insert(address);
        let existing = self.accounts.get(&address).cloned().unwrap_or_default();
        // EIP-684 / EIP-7610: no creation over an account with a nonce, code or storage.
        if existing.nonce != 0 || existing.code.is_some() || !existing.storage.is_empty() {
            return Outcome::Reverted;
        }
        let endowment = existing.balance + value;
        match init {
            Init::Revert => Outcome::Reverted,
            Init::DestructTo(beneficiary) => {
                self.accounts.remove(&address);
                self.credit(beneficiary, endowment);
                Outcome::Success(Vec::new())
            }
            Init::DestructToOrigin => {
                self.accounts.remove(&address);
                self.credit(origin, endowment);
                Outcome::Success(Vec::new())
            }
            Init::Storer | Init::Vault | Init::Factory => {
                self.accounts.insert(
                    address,
                    Account {
                        nonce: 1,
                        balance: endowment,
                        code: init.runtime(),
                        storage: BTreeMap::new(),
                    },
                );
                for (slot, value) in init.constructor_storage() {
                    self.sstore(address, slot, value);
                }
                if init == Init::Factory {
                    for init in CREATE2_INITS {
                        for i in 0..3 {
                            self.known.insert(create2_address(address, salt(i), init));
                        }
                    }
                }
                Outcome::Success(Vec::new())
            }
        }
    }

    fn call(&mut self, sender: Address, to: Address, value: U256, data: &Bytes) -> Outcome {
        let code = self.code(&to).cloned();
        self.transfer(sender, to, value);
        let Some(code) = code else {
            return Outcome::Success(Vec::new());
        };
        if code == super::contracts::storer_runtime() {
            let rest = data.len() % 64;
            let mut logs = Vec::new();
            for pair in data[..data.len() - rest].chunks_exact(64) {
                let slot = U256::from_be_slice(&pair[..32]);
                let value = U256::from_be_slice(&pair[32..]);
                let old = self.accounts[&to]
                    .storage
                    .get(&slot)
                    .copied()
                    .unwrap_or_default();
                self.sstore(to, slot, value);
                logs.push(Log::new_unchecked(
                    to,
                    vec![B256::from(slot), B256::from(old)],
                    Bytes::copy_from_slice(&pair[32..]),
                ));
            }
            match rest {
                0 => Outcome::Success(logs),
                1 => Outcome::Reverted,
                _ => Outcome::OutOfGas,
            }
        } else if code == super::contracts::vault_runtime() {
            if value.is_zero() {
                let balance = self.balance(&to);
                self.transfer(to, sender, balance);
            }
            Outcome::Success(Vec::new())
        } else {
            panic!("model: no behaviour for the code at {to}");
        }
    }

    /// No workload leaves an account empty (EIP-161 would delete it): a model self-check.
    pub fn assert_no_empty_accounts(&self) {
        for (address, account) in &self.accounts {
            assert!(!account.is_empty(), "model: empty account {address} kept");
        }
    }

    /// The state root of the model, from scratch.
    pub fn state_root(&self) -> B256 {
        state_root(self.accounts.iter().map(|(address, a)| {
            (
                *address,
                TrieAccount {
                    nonce: a.nonce,
                    balance: a.balance,
                    storage_root: storage_root(a.storage.iter().map(|(k, v)| (*k, *v))),
                    code_hash: a.code_hash(),
                },
            )
        }))
    }
}

/// The root of a storage trie holding `slots` (zero values are absent), from scratch:
/// leaves keyed by keccak256(slot), sorted, RLP of the value.
pub fn storage_root(slots: impl IntoIterator<Item = (U256, U256)>) -> B256 {
    let leaves = slots
        .into_iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(B256::from(slot)), rlp::encode(value)));
    trie_root(leaves)
}

/// The root of the account trie holding `accounts`, from scratch.
pub fn state_root(accounts: impl IntoIterator<Item = (Address, TrieAccount)>) -> B256 {
    let leaves = accounts
        .into_iter()
        .map(|(address, account)| (keccak256(address), rlp::encode(account)));
    trie_root(leaves)
}

fn trie_root(leaves: impl Iterator<Item = (B256, Vec<u8>)>) -> B256 {
    let mut leaves: Vec<_> = leaves.collect();
    leaves.sort_unstable_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default();
    for (key, value) in &leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}
