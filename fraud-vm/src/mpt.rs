//! Reads from the Merkle-Patricia state trie at the start of the block (SPEC.md §3.7.2): the
//! verifier checks account and storage proofs (as `eth_getProof` returns them) against the
//! `base_root`; the prover side, [`BaseState`], holds the accounts and builds those proofs.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rlp::{Decodable, Encodable};
use alloy_trie::proof::{ProofRetainer, verify_proof};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, Nibbles, TrieAccount};
use std::collections::BTreeMap;

/// An account as the state trie holds it, or its absence, with the trie nodes from the root to
/// it: the witness of one account read from the base state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MptAccount {
    /// The account, `None` if the trie does not hold the address.
    pub account: Option<TrieAccount>,
    /// RLP-encoded trie nodes from the root down the path of `keccak256(address)`.
    pub nodes: Vec<Bytes>,
}

/// A storage value with the storage-trie nodes from the account's storage root to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MptSlot {
    /// The value (zero when the trie does not hold the slot).
    pub value: U256,
    /// RLP-encoded trie nodes from the storage root down the path of `keccak256(slot)`.
    pub nodes: Vec<Bytes>,
}

/// Whether `witness` proves its account (or its absence) at `address` under `root`.
pub fn account_verifies(root: B256, address: Address, witness: &MptAccount) -> bool {
    let expected = witness.account.as_ref().map(|a| {
        let mut buf = Vec::new();
        a.encode(&mut buf);
        buf
    });
    // Only canonical account encodings verify: the RLP must decode back to the same account.
    if let Some(bytes) = &expected
        && TrieAccount::decode(&mut bytes.as_slice()).ok().as_ref() != witness.account.as_ref()
    {
        return false;
    }
    verify_proof(
        root,
        Nibbles::unpack(crate::memo::short_keccak(address.as_slice())),
        expected,
        &witness.nodes,
    )
    .is_ok()
}

/// Whether `witness` proves its value at `slot` under the storage root `root`. A zero value is
/// proved by absence, as the trie never holds zero.
pub fn slot_verifies(root: B256, slot: U256, witness: &MptSlot) -> bool {
    let expected = (!witness.value.is_zero()).then(|| alloy::rlp::encode(witness.value));
    verify_proof(
        root,
        Nibbles::unpack(crate::memo::short_keccak(&slot.to_be_bytes::<32>())),
        expected,
        &witness.nodes,
    )
    .is_ok()
}

/// One account of the base state (prover side).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseAccount {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Code (empty for an externally owned account).
    pub code: Vec<u8>,
    /// Non-zero storage slots.
    pub storage: BTreeMap<U256, U256>,
}

impl BaseAccount {
    /// Root of the account's storage trie.
    pub fn storage_root(&self) -> B256 {
        storage_trie(&self.storage, None).0
    }

    /// The account as the state trie holds it.
    pub fn trie_account(&self) -> TrieAccount {
        TrieAccount::new(
            self.nonce,
            self.balance,
            self.storage_root(),
            if self.code.is_empty() {
                KECCAK_EMPTY
            } else {
                keccak256(&self.code)
            },
        )
    }
}

/// The world state at the start of a block, with proofs against its state root (prover side).
/// Tries are rebuilt per proof: simple, and fast enough for the block sizes of tests and
/// `check-block`.
#[derive(Clone, Debug, Default)]
pub struct BaseState {
    /// Accounts by address (unused when `trie` is set).
    pub accounts: BTreeMap<Address, BaseAccount>,
    /// The pre-state as the trie nodes of an execution witness (`check_block`): accounts, slots
    /// and proofs are read by walking it instead.
    pub trie: Option<std::sync::Arc<crate::witness::WitnessTrie>>,
    /// [`BaseState::nodes`] by hash, built on first use (every block end of every re-run of a
    /// block starts from it).
    store: std::sync::OnceLock<crate::mpt_write::NodeStore>,
    /// The accounts read so far: the base state never changes, and every re-run of a block
    /// reads the same accounts again and again (each a walk of the witness from the root).
    read: AccountReads,
}

/// [`BaseState::account`]'s answers by address.
#[derive(Debug, Default)]
struct AccountReads(std::sync::Mutex<std::collections::HashMap<Address, Option<TrieAccount>>>);

impl Clone for AccountReads {
    fn clone(&self) -> Self {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Self(std::sync::Mutex::new(map))
    }
}

fn storage_trie(storage: &BTreeMap<U256, U256>, target: Option<U256>) -> (B256, Vec<Bytes>) {
    let mut leaves: Vec<(Nibbles, Vec<u8>)> = storage
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| {
            (
                Nibbles::unpack(keccak256(B256::from(*k))),
                alloy::rlp::encode(*v),
            )
        })
        .collect();
    leaves.sort_by_key(|l| l.0);
    build(
        leaves,
        target.map(|k| Nibbles::unpack(keccak256(B256::from(k)))),
    )
}

fn build(leaves: Vec<(Nibbles, Vec<u8>)>, target: Option<Nibbles>) -> (B256, Vec<Bytes>) {
    if leaves.is_empty() {
        return (EMPTY_ROOT_HASH, Vec::new());
    }
    let targets: Vec<Nibbles> = target.into_iter().collect();
    let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets.clone()));
    for (key, value) in &leaves {
        hb.add_leaf(*key, value);
    }
    let root = hb.root();
    let nodes = match targets.first() {
        Some(t) => hb
            .take_proof_nodes()
            .matching_nodes_sorted(t)
            .into_iter()
            .map(|(_, node)| node)
            .collect(),
        None => Vec::new(),
    };
    (root, nodes)
}

impl BaseState {
    /// The state holding `accounts`.
    pub fn new(accounts: BTreeMap<Address, BaseAccount>) -> Self {
        Self {
            accounts,
            trie: None,
            store: std::sync::OnceLock::new(),
            read: AccountReads::default(),
        }
    }

    /// The state under a witness's trie.
    pub fn from_witness(trie: std::sync::Arc<crate::witness::WitnessTrie>) -> Self {
        Self {
            accounts: BTreeMap::new(),
            trie: Some(trie),
            store: std::sync::OnceLock::new(),
            read: AccountReads::default(),
        }
    }

    /// The account at `address` as the state trie holds it (`None` if absent, or if the
    /// witness cannot reach it: a proof built then fails to verify).
    pub fn account(&self, address: Address) -> Option<TrieAccount> {
        let reads = || {
            self.read
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(account) = reads().get(&address) {
            return *account;
        }
        let account = match &self.trie {
            Some(trie) => trie.account(address).ok().and_then(|(a, _)| a),
            None => self.accounts.get(&address).map(BaseAccount::trie_account),
        };
        reads().insert(address, account);
        account
    }

    /// Slot `slot` of `address` (zero if absent).
    pub fn storage(&self, address: Address, slot: U256) -> U256 {
        match &self.trie {
            Some(trie) => self
                .account(address)
                .and_then(|a| trie.storage(address, a.storage_root, slot).ok())
                .map(|(v, _)| v)
                .unwrap_or_default(),
            None => self
                .accounts
                .get(&address)
                .and_then(|a| a.storage.get(&slot).copied())
                .unwrap_or_default(),
        }
    }

    fn account_trie(&self, target: Option<Address>) -> (B256, Vec<Bytes>) {
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = self
            .accounts
            .iter()
            .map(|(a, acc)| {
                let mut buf = Vec::new();
                acc.trie_account().encode(&mut buf);
                (Nibbles::unpack(keccak256(a)), buf)
            })
            .collect();
        leaves.sort_by_key(|l| l.0);
        build(leaves, target.map(|a| Nibbles::unpack(keccak256(a))))
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        if let Some(trie) = &self.trie {
            return trie.root();
        }
        self.account_trie(None).0
    }

    /// The witness of `address`.
    pub fn prove_account(&self, address: Address) -> MptAccount {
        if let Some(trie) = &self.trie {
            let (account, nodes) = trie.account(address).unwrap_or_default();
            return MptAccount { account, nodes };
        }
        MptAccount {
            account: self.accounts.get(&address).map(BaseAccount::trie_account),
            nodes: self.account_trie(Some(address)).1,
        }
    }

    /// The witness of `slot` of `address` (an absent account has the empty storage trie).
    pub fn prove_slot(&self, address: Address, slot: U256) -> MptSlot {
        if let Some(trie) = &self.trie {
            let root = self
                .account(address)
                .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
            let (value, nodes) = trie.storage(address, root, slot).unwrap_or_default();
            return MptSlot { value, nodes };
        }
        let Some(acc) = self.accounts.get(&address) else {
            return MptSlot {
                value: U256::ZERO,
                nodes: Vec::new(),
            };
        };
        MptSlot {
            value: acc.storage.get(&slot).copied().unwrap_or_default(),
            nodes: storage_trie(&acc.storage, Some(slot)).1,
        }
    }

    /// [`BaseState::nodes`] by hash, hashed once per state and copied per call (each copy
    /// takes the nodes a block end writes).
    pub fn node_store(&self) -> crate::mpt_write::NodeStore {
        self.store
            .get_or_init(|| crate::mpt_write::NodeStore::new(&self.nodes()))
            .clone()
    }

    /// The trie nodes the prover holds: the witness's, or every node of the state.
    pub fn nodes(&self) -> Vec<Bytes> {
        match &self.trie {
            Some(trie) => trie.nodes().cloned().collect(),
            None => self.all_nodes(),
        }
    }

    /// Every trie node of the state (the account trie and every storage trie), as an execution
    /// witness of the whole state carries them (map mode only).
    pub fn all_nodes(&self) -> Vec<Bytes> {
        fn nodes_of(leaves: Vec<(Nibbles, Vec<u8>)>) -> Vec<Bytes> {
            if leaves.is_empty() {
                return Vec::new();
            }
            let targets: Vec<Nibbles> = leaves.iter().map(|l| l.0).collect();
            let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
            for (key, value) in &leaves {
                hb.add_leaf(*key, value);
            }
            hb.root();
            hb.take_proof_nodes()
                .into_nodes_sorted()
                .into_iter()
                .map(|(_, node)| node)
                .collect()
        }
        let mut leaves: Vec<(Nibbles, Vec<u8>)> = self
            .accounts
            .iter()
            .map(|(a, acc)| {
                let mut buf = Vec::new();
                acc.trie_account().encode(&mut buf);
                (Nibbles::unpack(keccak256(a)), buf)
            })
            .collect();
        leaves.sort_by_key(|l| l.0);
        let mut out = nodes_of(leaves);
        for acc in self.accounts.values() {
            let mut leaves: Vec<(Nibbles, Vec<u8>)> = acc
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| {
                    (
                        Nibbles::unpack(keccak256(B256::from(*k))),
                        alloy::rlp::encode(*v),
                    )
                })
                .collect();
            leaves.sort_by_key(|l| l.0);
            out.extend(nodes_of(leaves));
        }
        out
    }

    /// The code with hash `hash`, if some account holds it.
    pub fn code(&self, hash: B256) -> Option<&[u8]> {
        if let Some(trie) = &self.trie {
            return trie.code(hash);
        }
        self.accounts
            .values()
            .find(|a| keccak256(&a.code) == hash)
            .map(|a| a.code.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BaseState {
        let mut s = BaseState::default();
        for i in 1u8..30 {
            let mut acc = BaseAccount {
                nonce: u64::from(i),
                balance: U256::from(1000 * u64::from(i)),
                ..Default::default()
            };
            if i % 3 == 0 {
                acc.code = vec![0x60, i, 0x00];
                for k in 0..u64::from(i) {
                    acc.storage.insert(U256::from(k), U256::from(k + 1));
                }
            }
            s.accounts.insert(Address::repeat_byte(i), acc);
        }
        s
    }

    #[test]
    fn account_and_slot_proofs_verify_and_forgeries_do_not() {
        let s = sample();
        let root = s.root();
        for i in [1u8, 3, 29, 31, 200] {
            let a = Address::repeat_byte(i);
            let w = s.prove_account(a);
            assert!(account_verifies(root, a, &w), "account {i}");
            let mut forged = w.clone();
            forged.account = match w.account {
                Some(mut acc) => {
                    acc.balance += U256::from(1);
                    Some(acc)
                }
                None => Some(TrieAccount::default()),
            };
            assert!(!account_verifies(root, a, &forged));
            assert!(
                !account_verifies(root, Address::repeat_byte(i ^ 0x80), &w) || w.account.is_none()
            );
        }
        let a = Address::repeat_byte(9);
        let storage_root = s.accounts[&a].storage_root();
        for slot in [0u64, 5, 8, 9, 1000] {
            let w = s.prove_slot(a, U256::from(slot));
            assert!(
                slot_verifies(storage_root, U256::from(slot), &w),
                "slot {slot}"
            );
            let mut forged = w.clone();
            forged.value += U256::from(1);
            assert!(!slot_verifies(storage_root, U256::from(slot), &forged));
        }
        // Absent account: empty storage, empty proof.
        let w = s.prove_slot(Address::repeat_byte(0xee), U256::from(1));
        assert!(slot_verifies(EMPTY_ROOT_HASH, U256::from(1), &w));
    }
}
