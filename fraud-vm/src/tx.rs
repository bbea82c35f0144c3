//! Transaction records (SPEC.md §3.9): a transaction with its sender recovered, as the block's
//! transaction list commits to it, and the list itself.

use crate::merkle::WordTree;
use alloy::primitives::{Address, B256, U256, keccak256};

/// Domain tag of a transaction record.
pub const TAG_TX: u8 = 0x0d;

/// A transaction with its sender recovered (SPEC.md §3.9).
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
    /// The transaction's EIP-2718 encoding, as the block carries it: the input of the OP L1
    /// data fee (SPEC.md §5.9). Empty under Prague rules.
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
    /// `0x0d ‖ sender ‖ create(u8) ‖ to ‖ nonce(u64) ‖ gas_limit(u64) ‖ max_fee ‖ max_priority_fee ‖ value ‖
    /// u32 len ‖ data ‖ u32 n ‖ (address ‖ u32 k ‖ key…)… ‖ max_fee_per_blob_gas ‖ u32 m ‖
    /// blob_hash… ‖ u32 n ‖ (chain_id ‖ address ‖ nonce(u64) ‖ y_parity(u8) ‖ r ‖ s)… ‖ u32 len ‖ encoded ‖ u8 deposit ‖ [source_hash ‖ mint(u128) ‖ is_system(u8)]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 40 + 16 + 96 + 8 + self.data.len());
        out.push(TAG_TX);
        out.extend_from_slice(self.sender.as_slice());
        out.push(u8::from(self.create));
        out.extend_from_slice(self.to.as_slice());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        for w in [self.max_fee, self.max_priority_fee, self.value] {
            out.extend_from_slice(&w.to_be_bytes::<32>());
        }
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&(self.access_list.len() as u32).to_be_bytes());
        for (a, keys) in &self.access_list {
            out.extend_from_slice(a.as_slice());
            out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes::<32>());
            }
        }
        out.extend_from_slice(&self.max_fee_per_blob_gas.to_be_bytes::<32>());
        out.extend_from_slice(&(self.blob_hashes.len() as u32).to_be_bytes());
        for h in &self.blob_hashes {
            out.extend_from_slice(h.as_slice());
        }
        out.extend_from_slice(&(self.authorizations.len() as u32).to_be_bytes());
        for a in &self.authorizations {
            out.extend_from_slice(&a.chain_id.to_be_bytes::<32>());
            out.extend_from_slice(a.address.as_slice());
            out.extend_from_slice(&a.nonce.to_be_bytes());
            out.push(a.y_parity);
            out.extend_from_slice(&a.r.to_be_bytes::<32>());
            out.extend_from_slice(&a.s.to_be_bytes::<32>());
        }
        out.extend_from_slice(&(self.encoded.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.encoded);
        match &self.deposit {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                out.extend_from_slice(d.source_hash.as_slice());
                out.extend_from_slice(&d.mint.to_be_bytes());
                out.push(u8::from(d.is_system));
            }
        }
        out
    }

    /// `keccak256(encode())`: word `i` of the transaction list.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

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

/// The block's transactions and the word tree of their hashes (prover side).
#[derive(Clone, Debug, Default)]
pub struct Transactions {
    /// The records, in block order.
    pub records: Vec<TxRecord>,
    /// Word `i` is `records[i].hash()`.
    pub tree: WordTree,
}

impl Transactions {
    /// The list of `records`.
    pub fn new(records: Vec<TxRecord>) -> Self {
        let mut tree = WordTree::new();
        for (i, r) in records.iter().enumerate() {
            tree.set(i as u64, r.hash());
        }
        Self { records, tree }
    }
}
