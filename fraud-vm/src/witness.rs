//! A block's pre-state from an execution witness (reth's `debug_executionWitness`): the RLP trie
//! nodes, codes and headers it carries, read by walking the Merkle-Patricia trie from the parent's
//! state root. [`WitnessTrie`] gives the prover its accounts, slots and proofs; [`WitnessDb`] gives
//! op-revm the same state as a database. Anything the witness lacks is a typed error naming it.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rlp::Decodable;
use alloy_trie::nodes::{RlpNode, TrieNode};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, TrieAccount};
use revm::database_interface::DBErrorMarker;
use revm::state::{AccountInfo, Bytecode};
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// What the witness lacks or gets wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WitnessError {
    /// A trie node on the path to a key.
    #[error("trie node {hash} on the path of {what}")]
    MissingNode {
        /// The node's hash.
        hash: B256,
        /// The key whose path needs it (an account or a slot).
        what: String,
    },
    /// A trie node does not decode.
    #[error("trie node {0} does not decode")]
    BadNode(B256),
    /// The code with this hash.
    #[error("code {0}")]
    MissingCode(B256),
    /// The header of this block (BLOCKHASH).
    #[error("header of block {0}")]
    MissingHeader(u64),
}

impl DBErrorMarker for WitnessError {}

/// The trie nodes and codes of a witness, under a state root.
#[derive(Clone, Debug, Default)]
pub struct WitnessTrie {
    root: B256,
    nodes: HashMap<B256, Bytes>,
    codes: HashMap<B256, Bytes>,
}

impl WitnessTrie {
    /// The state under `root` as far as `nodes` (RLP trie nodes, any order) reach, with `codes`.
    pub fn new(root: B256, nodes: &[Bytes], codes: &[Bytes]) -> Self {
        Self {
            root,
            nodes: nodes.iter().map(|n| (keccak256(n), n.clone())).collect(),
            codes: codes
                .iter()
                .map(|c| (crate::memo::code_hash(c), c.clone()))
                .collect(),
        }
    }

    /// The witness's trie nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &Bytes> {
        self.nodes.values()
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.root
    }

    /// The code with `hash`.
    pub fn code(&self, hash: B256) -> Option<&[u8]> {
        if hash == KECCAK_EMPTY {
            return Some(&[]);
        }
        self.codes.get(&hash).map(|c| c.as_ref())
    }

    /// Walks `key` (a hashed path) down the trie under `root`: the leaf value if the trie holds
    /// the key, and the hashed nodes from the root down (an `eth_getProof` proof).
    fn walk(
        &self,
        root: B256,
        key: B256,
        what: impl Fn() -> String,
    ) -> Result<(Option<Vec<u8>>, Vec<Bytes>), WitnessError> {
        let mut proof = Vec::new();
        if root == EMPTY_ROOT_HASH {
            return Ok((None, proof));
        }
        let lookup = |hash: B256| {
            self.nodes
                .get(&hash)
                .cloned()
                .ok_or_else(|| WitnessError::MissingNode { hash, what: what() })
        };
        let mut hash = root;
        let mut current = lookup(root)?;
        proof.push(current.clone());
        let path = Nibbles::unpack(key);
        let mut pos = 0usize;
        loop {
            let node =
                TrieNode::decode(&mut current.as_ref()).map_err(|_| WitnessError::BadNode(hash))?;
            let child: RlpNode = match node {
                TrieNode::EmptyRoot => return Ok((None, proof)),
                TrieNode::Leaf(leaf) => {
                    let rest = path.slice(pos..);
                    return Ok(((leaf.key == rest).then_some(leaf.value), proof));
                }
                TrieNode::Extension(ext) => {
                    if !path.slice(pos..).starts_with(&ext.key) {
                        return Ok((None, proof));
                    }
                    pos += ext.key.len();
                    ext.child
                }
                TrieNode::Branch(branch) => {
                    let Some(nibble) = path.get(pos) else {
                        return Ok((None, proof));
                    };
                    pos += 1;
                    let mask = branch.state_mask.get();
                    if mask & (1 << nibble) == 0 {
                        return Ok((None, proof));
                    }
                    let index = (mask & ((1u16 << nibble) - 1)).count_ones() as usize;
                    match branch.stack.get(index) {
                        Some(child) => child.clone(),
                        None => return Err(WitnessError::BadNode(hash)),
                    }
                }
            };
            match child.as_hash() {
                Some(h) => {
                    hash = h;
                    current = lookup(h)?;
                    proof.push(current.clone());
                }
                None => current = Bytes::copy_from_slice(child.as_ref()),
            }
        }
    }

    /// The account at `address` (`None` if the trie does not hold it) and its proof nodes.
    pub fn account(
        &self,
        address: Address,
    ) -> Result<(Option<TrieAccount>, Vec<Bytes>), WitnessError> {
        let (value, proof) = self.walk(
            self.root,
            crate::memo::short_keccak(address.as_slice()),
            || format!("account {address}"),
        )?;
        let account = match value {
            Some(v) => Some(
                TrieAccount::decode(&mut v.as_slice())
                    .map_err(|_| WitnessError::BadNode(keccak256(address)))?,
            ),
            None => None,
        };
        Ok((account, proof))
    }

    /// Slot `slot` of `address` in the storage trie under `storage_root`, with its proof nodes.
    pub fn storage(
        &self,
        address: Address,
        storage_root: B256,
        slot: U256,
    ) -> Result<(U256, Vec<Bytes>), WitnessError> {
        let (value, proof) = self.walk(
            storage_root,
            crate::memo::short_keccak(&slot.to_be_bytes::<32>()),
            || format!("slot {slot} of {address}"),
        )?;
        let value = match value {
            Some(v) => U256::decode(&mut v.as_slice())
                .map_err(|_| WitnessError::BadNode(keccak256(B256::from(slot))))?,
            None => U256::ZERO,
        };
        Ok((value, proof))
    }
}

/// The witness as op-revm's database: accounts, storage and codes from the trie, block hashes
/// from the witness headers.
#[derive(Clone, Debug, Default)]
pub struct WitnessDb {
    /// The pre-state.
    pub trie: std::sync::Arc<WitnessTrie>,
    /// Hashes of the blocks whose headers the witness carries.
    pub block_hashes: BTreeMap<u64, B256>,
    /// The codes revm asked for, as it runs them (copied and analyzed for jumps once): every
    /// re-run of the block (a layer-2 answer) loads them again. Shared by the clones.
    analyzed: std::sync::Arc<std::sync::Mutex<HashMap<B256, Bytecode>>>,
}

impl WitnessDb {
    /// A database over `trie`, with the block hashes of the witness headers.
    pub fn new(trie: std::sync::Arc<WitnessTrie>, block_hashes: BTreeMap<u64, B256>) -> Self {
        Self {
            trie,
            block_hashes,
            analyzed: Default::default(),
        }
    }

    /// The code with hash `hash` as revm runs it, if the witness has it: analyzed on the first
    /// request, then shared (a `Bytecode` clone is a reference count).
    fn bytecode(&self, hash: B256) -> Option<Bytecode> {
        let mut analyzed = self
            .analyzed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(code) = analyzed.get(&hash) {
            return Some(code.clone());
        }
        let code = match self.trie.code(hash)? {
            [] => Bytecode::default(),
            code => Bytecode::new_raw(Bytes::copy_from_slice(code)),
        };
        analyzed.insert(hash, code.clone());
        Some(code)
    }
}

impl revm::DatabaseRef for WitnessDb {
    type Error = WitnessError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(account) = self.trie.account(address)?.0 else {
            return Ok(None);
        };
        // The code travels only if the witness has it: revm asks for it by hash when it runs
        // it (a witness holds the codes execution read, not those of every account touched).
        let mut info = AccountInfo::default()
            .with_balance(account.balance)
            .with_nonce(account.nonce);
        info.code_hash = account.code_hash;
        info.code = self.bytecode(account.code_hash);
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.bytecode(code_hash)
            .ok_or(WitnessError::MissingCode(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let Some(account) = self.trie.account(address)?.0 else {
            return Ok(U256::ZERO);
        };
        Ok(self.trie.storage(address, account.storage_root, index)?.0)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.block_hashes
            .get(&number)
            .copied()
            .ok_or(WitnessError::MissingHeader(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpt::{BaseAccount, BaseState, account_verifies, slot_verifies};
    use proptest::prelude::*;

    /// States with many small accounts and slots, so the tries have extension nodes and nodes
    /// short enough to be inlined in their parents.
    fn state() -> impl Strategy<Value = BaseState> {
        prop::collection::btree_map(
            any::<[u8; 2]>().prop_map(|b| {
                let mut a = [0u8; 20];
                a[18..].copy_from_slice(&b);
                Address::from(a)
            }),
            (
                0u64..3,
                0u64..5,
                prop::collection::btree_map(0u64..40, 0u64..3, 0..12),
                any::<bool>(),
            ),
            1..24,
        )
        .prop_map(|accounts| {
            BaseState::new(
                accounts
                    .into_iter()
                    .map(|(address, (nonce, balance, storage, code))| {
                        (
                            address,
                            BaseAccount {
                                nonce,
                                balance: U256::from(balance),
                                code: if code {
                                    vec![0x60, 1, 0x00]
                                } else {
                                    Vec::new()
                                },
                                storage: storage
                                    .into_iter()
                                    .map(|(k, v)| (U256::from(k), U256::from(v)))
                                    .collect(),
                            },
                        )
                    })
                    .collect(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Walking the witness of a whole state gives every account and slot, present or not,
        /// with proofs that verify; without the root node it names the missing node.
        #[test]
        fn witness_walks_match_the_state(base in state(), probe in any::<[u8; 2]>()) {
            let codes = vec![Bytes::from(vec![0x60, 1, 0x00])];
            let trie = WitnessTrie::new(base.root(), &base.all_nodes(), &codes);
            let mut probe_address = [0u8; 20];
            probe_address[18..].copy_from_slice(&probe);
            let addresses: Vec<Address> = base
                .accounts
                .keys()
                .copied()
                .chain([Address::from(probe_address)])
                .collect();
            for address in addresses {
                let (account, nodes) = trie.account(address).expect("reachable");
                let want = base.accounts.get(&address).map(BaseAccount::trie_account);
                prop_assert_eq!(account, want);
                let witness = crate::mpt::MptAccount { account, nodes };
                prop_assert!(account_verifies(base.root(), address, &witness));
                let storage_root = account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
                for slot in 0u64..42 {
                    let slot = U256::from(slot);
                    let (value, nodes) = trie.storage(address, storage_root, slot).expect("slot");
                    prop_assert_eq!(value, base.storage(address, slot));
                    let witness = crate::mpt::MptSlot { value, nodes };
                    prop_assert!(slot_verifies(storage_root, slot, &witness));
                }
            }
            let empty = WitnessTrie::new(base.root(), &[], &codes);
            let missing = empty.account(Address::ZERO);
            prop_assert!(
                matches!(&missing, Err(WitnessError::MissingNode { hash, .. }) if *hash == base.root()),
                "{:?}", missing
            );
        }
    }
}
