//! Transactions (SPEC.md §3.9): the block's list commits to each transaction's EIP-2718
//! encoding by its hash; the transaction start step decodes it and recovers its sender into a
//! [`TxRecord`], the fields the steps read.

use crate::merkle::WordTree;
use crate::state::Rules;
use alloy::consensus::{SignableTransaction, Signed, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Signature, TxKind, U256, keccak256};
use op_alloy::consensus::OpTxEnvelope;

/// A transaction decoded from its encoding, with its sender recovered (SPEC.md §3.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxRecord {
    /// The recovered sender.
    pub sender: Address,
    /// Whether the transaction creates a contract (then `to` is zero and `data` is initcode).
    pub create: bool,
    /// The recipient.
    pub to: Address,
    /// The sender's nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Maximum fee per gas (the gas price of a legacy transaction).
    pub max_fee: U256,
    /// Maximum priority fee per gas (the gas price of a legacy transaction).
    pub max_priority_fee: U256,
    /// Value sent.
    pub value: U256,
    /// Calldata.
    pub data: Vec<u8>,
    /// EIP-2930 access list.
    pub access_list: Vec<(Address, Vec<U256>)>,
    /// EIP-4844: the most the sender pays per blob gas (zero without blobs).
    pub max_fee_per_blob_gas: U256,
    /// EIP-4844 versioned blob hashes.
    pub blob_hashes: Vec<B256>,
    /// EIP-7702 authorizations, as signed (the authority is recovered by the start step).
    pub authorizations: Vec<Authorization>,
    /// The transaction's EIP-2718 encoding, as the block carries it (its hash is the word of
    /// the transaction list; under Isthmus rules it is the input of the L1 data fee).
    pub encoded: Vec<u8>,
    /// The deposit fields of an OP deposit transaction (type 0x7E), `None` otherwise.
    pub deposit: Option<DepositFields>,
}

/// An EIP-7702 authorization with its signature (SPEC.md §3.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Authorization {
    /// Chain id (0 for any chain).
    pub chain_id: U256,
    /// The code to delegate to (zero clears a delegation).
    pub address: Address,
    /// The authority's nonce it is valid for.
    pub nonce: u64,
    /// Signature parity.
    pub y_parity: u8,
    /// Signature r.
    pub r: U256,
    /// Signature s.
    pub s: U256,
}

impl Authorization {
    /// The signed message: `keccak256(0x05 ‖ rlp([chain_id, address, nonce]))`.
    pub fn signing_hash(&self) -> B256 {
        alloy::eips::eip7702::Authorization {
            chain_id: self.chain_id,
            address: self.address,
            nonce: self.nonce,
        }
        .signature_hash()
    }
}

/// Intrinsic gas per EIP-7702 authorization.
pub const PER_AUTHORIZATION_GAS: u64 = 25_000;

/// The fields only a deposit transaction has (SPEC.md §3.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositFields {
    /// The deposit's source hash (identifies its L1 origin; not read by execution).
    pub source_hash: B256,
    /// Wei minted to the sender before the deposit runs.
    pub mint: u128,
    /// The pre-Regolith system flag; a deposit with it set fails under Isthmus.
    pub is_system: bool,
}

/// Blob gas per blob (EIP-4844).
pub const BLOB_GAS: u64 = 131_072;

impl TxRecord {
    /// Intrinsic gas: 21000, 4 per zero and 16 per non-zero data byte, 2400 per access-list
    /// address and 1900 per key, 25000 per EIP-7702 authorization, and for a creation 32000
    /// and 2 per initcode word (EIP-3860).
    pub fn intrinsic_gas(&self) -> u64 {
        let zeros = self.data.iter().filter(|b| **b == 0).count() as u64;
        let nonzeros = self.data.len() as u64 - zeros;
        let keys: u64 = self.access_list.iter().map(|(_, k)| k.len() as u64).sum();
        let create = if self.create {
            32_000 + 2 * (self.data.len() as u64).div_ceil(32)
        } else {
            0
        };
        21_000
            + 4 * zeros
            + 16 * nonzeros
            + 2400 * self.access_list.len() as u64
            + 1900 * keys
            + PER_AUTHORIZATION_GAS * self.authorizations.len() as u64
            + create
    }

    /// EIP-7623 floor of this transaction.
    pub fn floor_gas(&self) -> u64 {
        floor_gas(&self.data)
    }
}

/// EIP-7623: the least gas a transaction with this calldata pays: 21000 + 10 per token (a zero
/// byte is one token, a non-zero byte four).
pub fn floor_gas(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    let tokens = zeros + 4 * (calldata.len() as u64 - zeros);
    21_000 + 10 * tokens
}

/// Why an encoding is not a transaction the block may hold: the block is invalid.
pub type InvalidTx = &'static str;

/// Decodes the EIP-2718 encoding of one of the block's transactions and recovers its sender
/// (SPEC.md §3.9): the encoding MUST be exactly one transaction of a type the rules allow,
/// signed for `chain_id` (or a legacy transaction without a chain id) with a low `s`.
pub fn decode(encoded: &[u8], rules: Rules, chain_id: U256) -> Result<TxRecord, InvalidTx> {
    match rules {
        Rules::Isthmus => {
            let envelope =
                OpTxEnvelope::decode_2718_exact(encoded).map_err(|_| "malformed encoding")?;
            let (sender, deposit) = match &envelope {
                OpTxEnvelope::Deposit(d) => (
                    d.from,
                    Some(DepositFields {
                        source_hash: d.source_hash,
                        mint: d.mint,
                        is_system: d.is_system_transaction,
                    }),
                ),
                OpTxEnvelope::Legacy(t) => (signer(t)?, None),
                OpTxEnvelope::Eip2930(t) => (signer(t)?, None),
                OpTxEnvelope::Eip1559(t) => (signer(t)?, None),
                OpTxEnvelope::Eip7702(t) => (signer(t)?, None),
                OpTxEnvelope::PostExec(_) => return Err("a post-execution transaction"),
            };
            record(&envelope, sender, deposit, encoded, chain_id)
        }
        Rules::Prague => {
            let envelope =
                TxEnvelope::decode_2718_exact(encoded).map_err(|_| "malformed encoding")?;
            let sender = match &envelope {
                TxEnvelope::Legacy(t) => signer(t)?,
                TxEnvelope::Eip2930(t) => signer(t)?,
                TxEnvelope::Eip1559(t) => signer(t)?,
                TxEnvelope::Eip7702(t) => signer(t)?,
                TxEnvelope::Eip4844(t) => match t.tx() {
                    // A block carries blob transactions without their sidecar.
                    alloy::consensus::TxEip4844Variant::TxEip4844(_) => signer(t)?,
                    _ => return Err("a blob transaction with its sidecar"),
                },
            };
            record(&envelope, sender, None, encoded, chain_id)
        }
    }
}

/// The signer of `tx`: its signature's `s` at most half the curve order (EIP-2), recovered as
/// the ecrecover precompile does.
fn signer<T: SignableTransaction<Signature>>(tx: &Signed<T>) -> Result<Address, InvalidTx> {
    let sig = tx.signature();
    if sig.s() > alloy::eips::eip7702::constants::SECP256K1N_HALF {
        return Err("signature s above half the curve order");
    }
    let (hash, v) = (tx.tx().signature_hash(), u8::from(sig.v()));
    crate::memo::recovered(hash, v, sig.r(), sig.s(), || {
        crate::step::recover(hash, v, sig.r(), sig.s())
    })
    .ok_or("the signature recovers no key")
}

/// The record of a decoded transaction.
fn record(
    tx: &impl alloy::consensus::Transaction,
    sender: Address,
    deposit: Option<DepositFields>,
    encoded: &[u8],
    chain_id: U256,
) -> Result<TxRecord, InvalidTx> {
    match tx.chain_id() {
        Some(id) if U256::from(id) != chain_id => return Err("another chain id"),
        // Only legacy transactions (signed before EIP-155) and deposits have none.
        None if deposit.is_none() && encoded.first().is_some_and(|b| *b < 0xc0) => {
            return Err("no chain id");
        }
        _ => {}
    }
    let (create, to) = match tx.kind() {
        TxKind::Create => (true, Address::ZERO),
        TxKind::Call(to) => (false, to),
    };
    let max_fee = U256::from(tx.max_fee_per_gas());
    let fees = |v: U256| if deposit.is_some() { U256::ZERO } else { v };
    Ok(TxRecord {
        sender,
        create,
        to,
        nonce: if deposit.is_some() { 0 } else { tx.nonce() },
        gas_limit: tx.gas_limit(),
        max_fee: fees(max_fee),
        max_priority_fee: fees(tx.max_priority_fee_per_gas().map_or(max_fee, U256::from)),
        value: tx.value(),
        data: tx.input().to_vec(),
        access_list: tx
            .access_list()
            .map(|list| {
                list.iter()
                    .map(|item| {
                        (
                            item.address,
                            item.storage_keys.iter().map(|k| (*k).into()).collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        max_fee_per_blob_gas: U256::from(tx.max_fee_per_blob_gas().unwrap_or_default()),
        blob_hashes: tx
            .blob_versioned_hashes()
            .map(<[B256]>::to_vec)
            .unwrap_or_default(),
        authorizations: tx
            .authorization_list()
            .map(|list| {
                list.iter()
                    .map(|a| Authorization {
                        chain_id: a.chain_id,
                        address: a.address,
                        nonce: a.nonce,
                        y_parity: a.y_parity(),
                        r: a.r(),
                        s: a.s(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        encoded: encoded.to_vec(),
        deposit,
    })
}

/// The block's transactions and the word trees of their hashes (prover side): the leading
/// deposits are the deposits section, the rest the recorded section (SPEC.md §3.6).
#[derive(Clone, Debug, Default)]
pub struct Transactions {
    /// The decoded transactions, in block order.
    pub records: Vec<TxRecord>,
    /// The number of leading deposits: the deposits section.
    pub deposit_count: u64,
    /// Word `i` is `keccak256(records[i].encoded)` for `i < deposit_count`.
    pub deposits: WordTree,
    /// Word `i` is `keccak256(records[deposit_count + i].encoded)`.
    pub recorded: WordTree,
}

impl Transactions {
    /// The list of `records` (each with its encoding); its deposits section is the leading
    /// deposits (encodings of type `0x7e`, as `BlockInputs::with_transactions` splits them).
    pub fn new(records: Vec<TxRecord>) -> Self {
        let deposit_count = records
            .iter()
            .take_while(|r| r.encoded.first() == Some(&crate::receipt::DEPOSIT_TX_TYPE))
            .count();
        // Each section's words written together: each inner node is hashed once.
        let (mut deposits, mut recorded) = (WordTree::new(), WordTree::new());
        let words: Vec<B256> = records.iter().map(|r| keccak256(&r.encoded)).collect();
        let (deposit_words, recorded_words) = words.split_at(deposit_count);
        deposits.set_many((0..).zip(deposit_words.iter().copied()));
        recorded.set_many((0..).zip(recorded_words.iter().copied()));
        Self {
            records,
            deposit_count: deposit_count as u64,
            deposits,
            recorded,
        }
    }

    /// The roots the block environment commits to.
    pub fn roots(&self) -> crate::state::TxRoots {
        crate::state::TxRoots {
            deposit_count: self.deposit_count,
            deposits_root: self.deposits.root(),
            recorded_root: self.recorded.root(),
        }
    }

    /// The word proof of transaction `index` in its section.
    pub fn prove(&self, index: u64) -> crate::merkle::WordProof {
        if index < self.deposit_count {
            self.deposits.prove(index)
        } else {
            self.recorded.prove(index - self.deposit_count)
        }
    }

    /// Decodes the encodings of a block's transactions under `rules` and `chain_id`; an
    /// encoding that does not decode is returned with its index.
    pub fn decode(
        encodings: &[Vec<u8>],
        rules: Rules,
        chain_id: U256,
    ) -> Result<Self, (usize, InvalidTx)> {
        let records = encodings
            .iter()
            .enumerate()
            .map(|(i, e)| decode(e, rules, chain_id).map_err(|why| (i, why)))
            .collect::<Result<_, _>>()?;
        Ok(Self::new(records))
    }

    /// The number of transactions.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the block holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}
