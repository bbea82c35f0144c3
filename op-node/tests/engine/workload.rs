//! Random workloads: abstract steps drawn by proptest, turned into signed transactions
//! against the model's state at the start of each block.
//!
//! Steps hold small numbers, not transactions, so that any sequence is meaningful: indices
//! pick an actor modulo the candidates that exist at that point, amounts are fractions of
//! what the sender can spend. A step that needs a contract not deployed yet deploys it.

use super::{
    contracts::{
        CREATE2_INITS, Init, create2_address, factory_calldata, salt, storer_calldata,
        storer_runtime, vault_runtime,
    },
    model::{Effect, Model},
};
use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::{
        SignerSync,
        local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    },
};
use op_alloy::consensus::OpTxEnvelope;
use op_node::{
    block::RecoveredTx,
    chain::{DEV_ACCOUNT_COUNT, TEST_MNEMONIC},
    txpool::{PoolConfig, decode_and_recover},
};
use proptest::prelude::*;
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock},
};

const GWEI: u128 = 1_000_000_000;

/// One step of a workload and the fee it pays.
#[derive(Debug, Clone)]
pub struct Step {
    pub op: Op,
    /// Picks the tip (bits 0-1) and whether the fee cap leaves headroom (bit 2).
    pub fee: u8,
}

/// What a step does. `from`, `to`, `target` and `beneficiary` are indices; amounts are
/// fractions (of 512) of what the sender can spend beyond the gas.
#[derive(Debug, Clone)]
pub enum Op {
    /// Send value (zero when `amount` is 0) to any account: EOA, fresh, contract, CREATE2
    /// target.
    Transfer { from: u8, to: u8, amount: u8 },
    /// Send the sender's whole balance, leaving it at exactly zero.
    Drain { from: u8, to: u8 },
    /// Call a storer: `writes` are (slot selector, value; `None` writes zero), `tail` picks
    /// stop (0), revert (1) or out of gas (2).
    Store {
        from: u8,
        target: u8,
        writes: Vec<(u8, Option<u64>)>,
        amount: u8,
        tail: u8,
    },
    /// Create a contract from the sender's nonce (`init`: storer, vault, factory,
    /// self-destruct in the constructor, reverting constructor).
    Deploy {
        from: u8,
        init: u8,
        beneficiary: u8,
        amount: u8,
    },
    /// CREATE2 through the factory: a storer, or a contract destroyed in its constructor.
    Create2 {
        from: u8,
        salt: u8,
        destruct: bool,
        amount: u8,
    },
    /// Call a vault without value: it SELFDESTRUCTs its balance to the caller.
    Withdraw { from: u8, target: u8 },
}

/// A workload: the steps of each block.
pub type Workload = Vec<Vec<Step>>;

fn op() -> impl Strategy<Value = Op> {
    let writes = prop::collection::vec(
        (any::<u8>(), prop::option::weighted(0.6, any::<u64>())),
        0..7,
    );
    let tail = prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    prop_oneof![
        4 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(from, to)| Op::Drain { from, to }),
        4 => (any::<u8>(), any::<u8>(), writes, any::<u8>(), tail).prop_map(
            |(from, target, writes, amount, tail)| Op::Store { from, target, writes, amount, tail }
        ),
        2 => (any::<u8>(), 0..5u8, any::<u8>(), any::<u8>()).prop_map(
            |(from, init, beneficiary, amount)| Op::Deploy { from, init, beneficiary, amount }
        ),
        3 => (any::<u8>(), 0..3u8, any::<bool>(), any::<u8>()).prop_map(
            |(from, salt, destruct, amount)| Op::Create2 { from, salt, destruct, amount }
        ),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(from, target)| Op::Withdraw { from, target }),
    ]
}

/// Workloads of `blocks` blocks of up to `steps` steps each.
pub fn workload(blocks: std::ops::Range<usize>, steps: usize) -> impl Strategy<Value = Workload> {
    let step = (op(), any::<u8>()).prop_map(|(op, fee)| Step { op, fee });
    prop::collection::vec(prop::collection::vec(step, 0..steps), blocks)
}

/// Who sends and receives.
pub struct Actors {
    /// The funded development accounts, then fresh keys that start with nothing.
    pub keys: Vec<PrivateKeySigner>,
    /// Fresh addresses nobody holds the key of: they only receive.
    pub sinks: Vec<Address>,
}

/// The actors, derived once (BIP-39 derivation is slow).
pub static ACTORS: LazyLock<Actors> = LazyLock::new(|| {
    let mut keys: Vec<PrivateKeySigner> = (0..DEV_ACCOUNT_COUNT)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(TEST_MNEMONIC)
                .index(i)
                .and_then(|b| b.build())
                .expect("the test mnemonic derives")
        })
        .collect();
    keys.extend(
        (0..4u8).map(|i| PrivateKeySigner::from_bytes(&B256::repeat_byte(0x51 + i)).unwrap()),
    );
    let sinks = (0..4u8)
        .map(|i| Address::from_word(keccak256([0x5e, i])))
        .collect();
    Actors { keys, sinks }
});

impl Actors {
    /// Every address an actor has.
    pub fn addresses(&self) -> Vec<Address> {
        self.keys
            .iter()
            .map(|k| k.address())
            .chain(self.sinks.iter().copied())
            .collect()
    }

    /// The key of `address`.
    pub fn key(&self, address: Address) -> &PrivateKeySigner {
        self.keys
            .iter()
            .find(|k| k.address() == address)
            .expect("an actor's address")
    }
}

/// Signs `tx`, encodes it and admits it as the RPC would (decode, checks, recovery).
pub fn sign(key: &PrivateKeySigner, tx: TxEip1559, pool: &PoolConfig) -> Arc<RecoveredTx> {
    let signature = key
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing works");
    let raw: Bytes = OpTxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into();
    Arc::new(decode_and_recover(raw, pool).expect("the test signs only admissible transactions"))
}

/// A signed transaction and what it is meant to do.
#[derive(Debug, Clone)]
pub struct Planned {
    pub tx: Arc<RecoveredTx>,
    pub effect: Effect,
}

/// Turns the steps of one block into transactions, keeping each sender within what it can
/// pay at the start of the block (value received within the block is not counted).
pub struct Planner<'a> {
    model: &'a Model,
    pool: &'a PoolConfig,
    base_fee: u64,
    nonces: HashMap<Address, u64>,
    spent: HashMap<Address, U256>,
    drained: HashSet<Address>,
    planned: Vec<Planned>,
}

/// A transaction before signing.
struct Draft {
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    effect: Effect,
}

impl<'a> Planner<'a> {
    pub fn new(model: &'a Model, pool: &'a PoolConfig, base_fee: u64) -> Self {
        Self {
            model,
            pool,
            base_fee,
            nonces: HashMap::new(),
            spent: HashMap::new(),
            drained: HashSet::new(),
            planned: Vec::new(),
        }
    }

    /// The transactions of `steps`, in order. Steps no sender can pay for are skipped.
    pub fn plan(mut self, steps: &[Step]) -> Vec<Planned> {
        for step in steps {
            self.step(step);
        }
        self.planned
    }

    fn budget(&self, address: &Address) -> U256 {
        if self.drained.contains(address) {
            return U256::ZERO;
        }
        self.model
            .balance(address)
            .saturating_sub(self.spent.get(address).copied().unwrap_or_default())
    }

    /// (max fee per gas, tip).
    fn fees(&self, fee: u8) -> (u128, u128) {
        let tip = [0, 1, GWEI, 2 * GWEI][usize::from(fee & 3)];
        let headroom = if fee & 4 != 0 {
            u128::from(self.base_fee)
        } else {
            0
        };
        (u128::from(self.base_fee) + tip + headroom, tip)
    }

    /// The first actor from index `from` on that can pay `gas_limit` at `max_fee`, and what
    /// it has left beyond that.
    fn sender(&self, from: u8, gas_limit: u64, max_fee: u128) -> Option<(Address, U256)> {
        self.sender_where(from, gas_limit, max_fee, |_| true)
    }

    fn sender_where(
        &self,
        from: u8,
        gas_limit: u64,
        max_fee: u128,
        eligible: impl Fn(&Address) -> bool,
    ) -> Option<(Address, U256)> {
        let keys = &ACTORS.keys;
        let gas_cost = U256::from(gas_limit) * U256::from(max_fee);
        (0..keys.len()).find_map(|i| {
            let address = keys[(usize::from(from) + i) % keys.len()].address();
            let budget = self.budget(&address);
            (eligible(&address) && budget >= gas_cost).then(|| (address, budget - gas_cost))
        })
    }

    /// Receivers that never hold code: actors and sinks.
    fn plain_receivers(&self) -> Vec<Address> {
        ACTORS.addresses()
    }

    /// CREATE2 targets of the first factory.
    fn create2_targets(&self) -> Vec<Address> {
        let Some(factory) = self.model.factory() else {
            return Vec::new();
        };
        CREATE2_INITS
            .iter()
            .flat_map(|init| (0..3).map(move |i| create2_address(factory, salt(i), *init)))
            .collect()
    }

    /// Every receiver: plain ones, storers, vaults, CREATE2 targets.
    fn receivers(&self) -> Vec<Address> {
        let mut all = self.plain_receivers();
        all.extend(self.model.contracts(&storer_runtime()));
        all.extend(self.model.contracts(&vault_runtime()));
        all.extend(self.create2_targets());
        all
    }

    fn step(&mut self, step: &Step) {
        let (max_fee, tip) = self.fees(step.fee);
        match &step.op {
            Op::Transfer { from, to, amount } => {
                // Often a CREATE2 target: prefunded addresses are then created over, and
                // destroyed while they hold a balance.
                let targets = self.create2_targets();
                let receivers = if *to >= 160 && !targets.is_empty() {
                    targets
                } else {
                    self.receivers()
                };
                let to = receivers[usize::from(*to) % receivers.len()];
                let plain = self.model.code(&to).is_none() && !self.create2_targets().contains(&to);
                let gas_limit = if plain { 21_000 } else { 100_000 };
                self.call(*from, to, *amount, Bytes::new(), gas_limit, max_fee, tip);
            }
            Op::Drain { from, to } => {
                // Exact to the wei only when the price paid is the fee cap.
                let max_fee = u128::from(self.base_fee) + tip;
                let receivers = self.plain_receivers();
                let to = receivers[usize::from(*to) % receivers.len()];
                // Only a sender with nothing else in the block knows its balance exactly.
                let untouched = |a: &Address| !self.spent.contains_key(a);
                let Some((sender, rest)) = self.sender_where(*from, 21_000, max_fee, untouched)
                else {
                    return;
                };
                let draft = Draft {
                    to: TxKind::Call(to),
                    value: rest,
                    input: Bytes::new(),
                    gas_limit: 21_000,
                    effect: Effect::Call {
                        to,
                        value: rest,
                        data: Bytes::new(),
                    },
                };
                self.push(sender, draft, max_fee, tip);
                self.drained.insert(sender);
            }
            Op::Store {
                from,
                target,
                writes,
                amount,
                tail,
            } => {
                // Storers, and sometimes where the factory puts them: one may be created in
                // this very block (then the call reads what its constructor just wrote), or
                // not at all (then the call is a plain transfer).
                let mut storers = self.model.contracts(&storer_runtime());
                if let Some(factory) = self.model.factory()
                    && *target >= 192
                {
                    storers.extend((0..3).map(|i| create2_address(factory, salt(i), Init::Storer)));
                }
                if storers.is_empty() {
                    return self.deploy(*from, Init::Storer, 0, max_fee, tip);
                }
                let to = storers[usize::from(*target) % storers.len()];
                let writes: Vec<(U256, U256)> = writes
                    .iter()
                    .map(|(slot, value)| (slot_of(*slot), U256::from(value.unwrap_or(0))))
                    .collect();
                let data = storer_calldata(&writes, usize::from(*tail));
                self.call(*from, to, *amount, data, 400_000, max_fee, tip);
            }
            Op::Deploy {
                from,
                init,
                beneficiary,
                amount,
            } => {
                let receivers = self.receivers();
                let init = match init {
                    0 => Init::Storer,
                    1 => Init::Vault,
                    2 => Init::Factory,
                    3 => Init::DestructTo(receivers[usize::from(*beneficiary) % receivers.len()]),
                    _ => Init::Revert,
                };
                self.deploy(*from, init, *amount, max_fee, tip);
            }
            Op::Create2 {
                from,
                salt: s,
                destruct,
                amount,
            } => {
                let Some(factory) = self.model.factory() else {
                    return self.deploy(*from, Init::Factory, 0, max_fee, tip);
                };
                let init = CREATE2_INITS[usize::from(*destruct)];
                let Some((sender, rest)) = self.sender(*from, 500_000, max_fee) else {
                    return;
                };
                let value = fraction(rest, *amount);
                let draft = Draft {
                    to: TxKind::Call(factory),
                    value,
                    input: factory_calldata(salt(*s), init),
                    gas_limit: 500_000,
                    effect: Effect::Create2 {
                        factory,
                        salt: salt(*s),
                        init,
                        value,
                    },
                };
                self.push(sender, draft, max_fee, tip);
            }
            Op::Withdraw { from, target } => {
                let vaults = self.model.contracts(&vault_runtime());
                if vaults.is_empty() {
                    return self.deploy(*from, Init::Vault, 0, max_fee, tip);
                }
                let to = vaults[usize::from(*target) % vaults.len()];
                self.call(*from, to, 0, Bytes::new(), 100_000, max_fee, tip);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        from: u8,
        to: Address,
        amount: u8,
        data: Bytes,
        gas_limit: u64,
        max_fee: u128,
        tip: u128,
    ) {
        let Some((sender, rest)) = self.sender(from, gas_limit, max_fee) else {
            return;
        };
        let value = fraction(rest, amount);
        let draft = Draft {
            to: TxKind::Call(to),
            value,
            input: data.clone(),
            gas_limit,
            effect: Effect::Call { to, value, data },
        };
        self.push(sender, draft, max_fee, tip);
    }

    fn deploy(&mut self, from: u8, init: Init, amount: u8, max_fee: u128, tip: u128) {
        let Some((sender, rest)) = self.sender(from, 400_000, max_fee) else {
            return;
        };
        let value = fraction(rest, amount);
        let draft = Draft {
            to: TxKind::Create,
            value,
            input: init.code(),
            gas_limit: 400_000,
            effect: Effect::Create { init, value },
        };
        self.push(sender, draft, max_fee, tip);
    }

    fn push(&mut self, sender: Address, draft: Draft, max_fee: u128, tip: u128) {
        let nonce = self
            .nonces
            .entry(sender)
            .or_insert_with(|| self.model.nonce(&sender));
        let tx = TxEip1559 {
            chain_id: self.pool.chain_id,
            nonce: *nonce,
            gas_limit: draft.gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to: draft.to,
            value: draft.value,
            input: draft.input,
            ..Default::default()
        };
        *nonce += 1;
        *self.spent.entry(sender).or_default() +=
            U256::from(draft.gas_limit) * U256::from(max_fee) + draft.value;
        self.planned.push(Planned {
            tx: sign(ACTORS.key(sender), tx, self.pool),
            effect: draft.effect,
        });
    }
}

/// `amount`/512 of `available`: at most half, so senders keep paying for gas.
fn fraction(available: U256, amount: u8) -> U256 {
    available * U256::from(amount) / U256::from(512u64)
}

/// Mostly a few small slots (so writes collide and zeros clear them; 7 is the one the
/// constructor writes), sometimes a far one.
fn slot_of(selector: u8) -> U256 {
    if selector < 192 {
        U256::from(selector % 8)
    } else {
        U256::from_be_bytes(keccak256([selector]).0)
    }
}
