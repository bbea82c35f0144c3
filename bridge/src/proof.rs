//! The storage proof of a withdrawal: which slot of the L2ToL1MessagePasser records it, what the
//! slot holds, and how a Merkle-Patricia proof of it is built and checked.
//!
//! The message passer keeps `mapping(bytes32 => bool) sentMessages` at slot 0, so a passed
//! withdrawal sets slot `keccak256(abi.encode(withdrawalHash, uint256(0)))` to 1. Its storage
//! trie is a secure trie (paths are `keccak256(slot)`, values are RLP of the stripped word), and
//! its root is the `messagePasserStorageRoot` of an output root. The L1 portal checks exactly
//! this (`OptimismPortal.proveWithdrawalTransaction`); [`verify_withdrawal_proof`] is the same
//! check in Rust.

use std::collections::BTreeMap;

use alloy::{
    primitives::{B256, Bytes, U256, keccak256},
    rlp::{self, Header},
};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, proof::ProofRetainer};

/// Storage slot of the message passer's `sentMessages` mapping.
pub const SENT_MESSAGES_SLOT: U256 = U256::ZERO;

/// What a passed withdrawal's slot holds in the trie: RLP of the word 1 (`true`).
pub const SENT_MESSAGE_VALUE: [u8; 1] = [0x01];

/// Why a proof was refused. Each case is also a revert of the portal's `MerkleTrie` (which reports
/// them all as `InvalidMerkleProof`, or an RLP error name for undecodable nodes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof ends before the path reaches the key.
    #[error("the proof ends before reaching the key")]
    Truncated,
    /// A node does not hash to the reference its parent (or the root) holds.
    #[error("proof node {0} does not hash to its reference")]
    HashMismatch(usize),
    /// A node is not valid RLP.
    #[error("undecodable trie node: {0}")]
    Rlp(rlp::Error),
    /// A node is valid RLP but not a trie node.
    #[error("malformed trie node: {0}")]
    Malformed(&'static str),
    /// The key's path leaves the trie: it holds nothing at the key.
    #[error("the key is not in the trie")]
    Absent,
    /// Nodes are left after the value was reached.
    #[error("{0} proof nodes left over after the value")]
    Unused(usize),
    /// The key holds another value than the one expected.
    #[error("the key holds {got}, not {expected}")]
    ValueMismatch {
        /// What the proof shows.
        got: Bytes,
        /// What was expected.
        expected: Bytes,
    },
}

impl From<rlp::Error> for ProofError {
    fn from(e: rlp::Error) -> Self {
        Self::Rlp(e)
    }
}

/// The slot of `sentMessages[withdrawalHash]`: `keccak256(abi.encode(withdrawalHash, uint256(0)))`.
pub fn sent_message_slot(withdrawal_hash: B256) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(withdrawal_hash.as_slice());
    preimage[32..].copy_from_slice(&SENT_MESSAGES_SLOT.to_be_bytes::<32>());
    keccak256(preimage)
}

/// An account's storage held in memory, keyed as its secure trie is: enough to compute the storage
/// root and prove any slot (tests, fixtures, and a challenger checking a proposer's claim).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageTrie {
    /// `keccak256(slot)` to the slot's nonzero value.
    slots: BTreeMap<B256, U256>,
}

impl StorageTrie {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `slot` to `value`; zero deletes it, as in the EVM.
    pub fn insert(&mut self, slot: B256, value: U256) {
        let key = keccak256(slot);
        if value.is_zero() {
            self.slots.remove(&key);
        } else {
            self.slots.insert(key, value);
        }
    }

    /// Records a passed withdrawal, as `initiateWithdrawal` does.
    pub fn insert_withdrawal(&mut self, withdrawal_hash: B256) {
        self.insert(sent_message_slot(withdrawal_hash), U256::from(1));
    }

    /// The storage root.
    pub fn root(&self) -> B256 {
        self.build(None).0
    }

    /// The storage root and the proof of `slot`: the RLP trie nodes from the root down to the
    /// slot (or to where its path leaves the trie), root first, as `eth_getProof` returns them
    /// (nodes shorter than 32 bytes included as elements of their own, which [`trie_get`] and the
    /// portal accept, as they accept proofs without them).
    pub fn proof(&self, slot: B256) -> (B256, Vec<Bytes>) {
        self.build(Some(Nibbles::unpack(keccak256(slot))))
    }

    fn build(&self, target: Option<Nibbles>) -> (B256, Vec<Bytes>) {
        if self.slots.is_empty() {
            return (EMPTY_ROOT_HASH, Vec::new());
        }
        let mut builder = HashBuilder::default();
        if let Some(target) = target {
            builder = builder.with_proof_retainer(ProofRetainer::new(vec![target]));
        }
        let mut value_rlp = Vec::new();
        for (key, value) in &self.slots {
            value_rlp.clear();
            rlp::Encodable::encode(value, &mut value_rlp);
            builder.add_leaf(Nibbles::unpack(key), &value_rlp);
        }
        let root = builder.root();
        let proof = match target {
            Some(target) => builder
                .take_proof_nodes()
                .matching_nodes_sorted(&target)
                .into_iter()
                .map(|(_, node)| node)
                .collect(),
            None => Vec::new(),
        };
        (root, proof)
    }
}

/// Checks that `proof` shows the withdrawal `withdrawal_hash` passed (its `sentMessages` slot
/// holds 1) under the message passer's `storage_root`: what the portal checks before accepting a
/// withdrawal proof.
pub fn verify_withdrawal_proof(
    storage_root: B256,
    withdrawal_hash: B256,
    proof: &[Bytes],
) -> Result<(), ProofError> {
    let slot = sent_message_slot(withdrawal_hash);
    let got = trie_get(storage_root, keccak256(slot).as_slice(), proof)?;
    if got.as_ref() != SENT_MESSAGE_VALUE {
        return Err(ProofError::ValueMismatch {
            got,
            expected: Bytes::from_static(&SENT_MESSAGE_VALUE),
        });
    }
    Ok(())
}

/// The value stored at `path` (the raw path bytes: `keccak256(slot)` for a storage trie) in the
/// Merkle-Patricia trie under `root`, as `proof` shows it. This is the Rust twin of the portal's
/// `MerkleTrie.get` (bridge/contracts/lib/MerkleTrie.sol) and accepts and refuses exactly the same
/// proofs: nodes root first; a hashed node must hash to its reference; a node shorter than 32
/// bytes is read from its parent, and may also appear as an element of its own right after it
/// (then it must equal the embedded bytes); every element must be used; the value must be non-empty.
pub fn trie_get(root: B256, path: &[u8], proof: &[Bytes]) -> Result<Bytes, ProofError> {
    let nibbles: Vec<u8> = path.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
    let mut depth = 0;
    let mut next = 0;
    let mut reference = NodeRef::Hash(root);
    let value = loop {
        let node = match reference {
            NodeRef::Hash(hash) => {
                let encoded = proof.get(next).ok_or(ProofError::Truncated)?;
                if keccak256(encoded) != hash {
                    return Err(ProofError::HashMismatch(next));
                }
                next += 1;
                whole_item(encoded)?
            }
            NodeRef::Inline(raw) => {
                if proof
                    .get(next)
                    .is_some_and(|element| element.as_ref() == raw)
                {
                    next += 1;
                }
                raw
            }
        };
        let items = list_items(node)?;
        let child = match items.len() {
            17 => {
                if depth == nibbles.len() {
                    break string_payload(items[16])?;
                }
                let child = items[usize::from(nibbles[depth])];
                depth += 1;
                child
            }
            2 => {
                let (leaf, after) = match_segment(string_payload(items[0])?, &nibbles, depth)?;
                depth = after;
                if leaf {
                    if depth != nibbles.len() {
                        return Err(ProofError::Absent);
                    }
                    break string_payload(items[1])?;
                }
                items[1]
            }
            _ => return Err(ProofError::Malformed("a node has neither 2 nor 17 items")),
        };
        reference = child_ref(child)?;
    };
    if next != proof.len() {
        return Err(ProofError::Unused(proof.len() - next));
    }
    if value.is_empty() {
        return Err(ProofError::Absent);
    }
    Ok(Bytes::copy_from_slice(value))
}

/// How a node refers to its child.
#[derive(Clone, Copy)]
enum NodeRef<'a> {
    Hash(B256),
    Inline(&'a [u8]),
}

/// The reference a child item holds: a 32-byte hash, or an embedded node shorter than 32 bytes.
fn child_ref(item: &[u8]) -> Result<NodeRef<'_>, ProofError> {
    let header = Header::decode(&mut &item[..])?;
    if header.list {
        if item.len() >= 32 {
            return Err(ProofError::Malformed(
                "an embedded node of 32 bytes or more",
            ));
        }
        return Ok(NodeRef::Inline(item));
    }
    match string_payload(item)? {
        [] => Err(ProofError::Absent),
        hash if hash.len() == 32 => Ok(NodeRef::Hash(B256::from_slice(hash))),
        _ => Err(ProofError::Malformed(
            "a child reference that is neither a hash nor a node",
        )),
    }
}

/// `encoded` as one RLP item that spans it exactly.
fn whole_item(encoded: &[u8]) -> Result<&[u8], ProofError> {
    let mut rest = encoded;
    let header = Header::decode(&mut rest)?;
    if rest.len() != header.payload_length {
        return Err(ProofError::Rlp(rlp::Error::UnexpectedLength));
    }
    Ok(encoded)
}

/// The raw items (header included) of a list item.
fn list_items(item: &[u8]) -> Result<Vec<&[u8]>, ProofError> {
    let mut buf = item;
    let header = Header::decode(&mut buf)?;
    if !header.list {
        return Err(ProofError::Rlp(rlp::Error::UnexpectedString));
    }
    let mut payload = &buf[..header.payload_length];
    let mut items = Vec::with_capacity(17);
    while !payload.is_empty() {
        let before = payload;
        let h = Header::decode(&mut payload)?;
        // A single byte below 0x80 is its own header and payload.
        let header_len = before.len() - payload.len();
        let len = header_len + if header_len == 0 { 1 } else { h.payload_length };
        items.push(&before[..len]);
        payload = &before[len..];
    }
    Ok(items)
}

/// The payload of a string item.
fn string_payload(item: &[u8]) -> Result<&[u8], ProofError> {
    let mut buf = item;
    let header = Header::decode(&mut buf)?;
    if header.list {
        return Err(ProofError::Rlp(rlp::Error::UnexpectedList));
    }
    if buf.len() == item.len() {
        // Single byte: it is its own payload.
        return Ok(&item[..1]);
    }
    Ok(&buf[..header.payload_length])
}

/// Matches the hex-prefix segment of a leaf or extension against `nibbles` from `depth`; returns
/// whether the node is a leaf and the depth after the segment.
fn match_segment(
    compact: &[u8],
    nibbles: &[u8],
    depth: usize,
) -> Result<(bool, usize), ProofError> {
    let Some(&first) = compact.first() else {
        return Err(ProofError::Malformed("an empty path segment"));
    };
    let flag = first >> 4;
    if flag > 3 {
        return Err(ProofError::Malformed("a path segment flag above 3"));
    }
    let leaf = flag >= 2;
    let odd = flag & 1 == 1;
    if !odd && first & 0x0f != 0 {
        return Err(ProofError::Malformed(
            "an even path segment with a nonzero pad",
        ));
    }
    let mut segment = Vec::with_capacity(compact.len() * 2);
    if odd {
        segment.push(first & 0x0f);
    }
    segment.extend(compact[1..].iter().flat_map(|b| [b >> 4, b & 0x0f]));
    if !leaf && segment.is_empty() {
        return Err(ProofError::Malformed("an extension with an empty segment"));
    }
    if nibbles.get(depth..depth + segment.len()) != Some(&segment[..]) {
        return Err(ProofError::Absent);
    }
    Ok((leaf, depth + segment.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::withdrawal::Withdrawal;
    use alloy::primitives::Address;
    use proptest::prelude::*;

    fn trie_with(others: &[([u8; 32], u64)], withdrawals: &[B256]) -> StorageTrie {
        let mut trie = StorageTrie::new();
        for (slot, value) in others {
            trie.insert(B256::from(*slot), U256::from(*value));
        }
        for hash in withdrawals {
            trie.insert_withdrawal(*hash);
        }
        trie
    }

    #[test]
    fn slot_is_the_mapping_slot_of_the_hash() {
        let w = Withdrawal {
            nonce: U256::from(5u64),
            sender: Address::repeat_byte(1),
            target: Address::repeat_byte(2),
            value: U256::from(3u64),
            gas_limit: U256::from(100_000u64),
            data: Bytes::new(),
        };
        assert_eq!(sent_message_slot(w.hash()), w.storage_slot());
        let expected = keccak256([w.hash().as_slice(), &[0u8; 32]].concat());
        assert_eq!(sent_message_slot(w.hash()), expected);
    }

    #[test]
    fn single_slot_trie() {
        let hash = B256::repeat_byte(7);
        let trie = trie_with(&[], &[hash]);
        let (root, proof) = trie.proof(sent_message_slot(hash));
        assert_eq!(proof.len(), 1);
        assert_eq!(root, keccak256(&proof[0]));
        verify_withdrawal_proof(root, hash, &proof).unwrap();
        assert!(verify_withdrawal_proof(root, B256::repeat_byte(8), &proof).is_err());
        assert_eq!(StorageTrie::new().root(), EMPTY_ROOT_HASH);
    }

    /// A trie over raw (unhashed) keys of one length, and the proof of `target`, as alloy-trie
    /// builds them: short keys and values give nodes under 32 bytes, embedded in their parents.
    fn raw_trie(entries: &BTreeMap<Vec<u8>, Vec<u8>>, target: &[u8]) -> (B256, Vec<Bytes>) {
        let target = Nibbles::unpack(target);
        let mut builder =
            HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
        for (key, value) in entries {
            builder.add_leaf(Nibbles::unpack(key), value);
        }
        let root = builder.root();
        let proof = builder
            .take_proof_nodes()
            .matching_nodes_sorted(&target)
            .into_iter()
            .map(|(_, node)| node)
            .collect();
        (root, proof)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn embedded_nodes_are_read_from_the_parent(
            entries in proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 3),
                proptest::collection::vec(any::<u8>(), 1..6),
                1..40,
            ),
            pick in any::<prop::sample::Index>(),
        ) {
            let keys: Vec<&Vec<u8>> = entries.keys().collect();
            let key = keys[pick.index(keys.len())].clone();
            let (root, proof) = raw_trie(&entries, &key);
            let value = Bytes::from(entries[&key].clone());
            prop_assert_eq!(trie_get(root, &key, &proof), Ok(value.clone()));
            // Geth-style proofs leave embedded nodes out; both forms prove the same value.
            let hashed: Vec<Bytes> = proof.iter().enumerate().filter(|(i, n)| *i == 0 || n.len() >= 32).map(|(_, n)| n.clone()).collect();
            prop_assert_eq!(trie_get(root, &key, &hashed), Ok(value.clone()));
            // alloy-trie agrees, except on a root node under 32 bytes, which it does not hash.
            if proof[0].len() >= 32 {
                prop_assert!(alloy_trie::proof::verify_proof(root, Nibbles::unpack(&key), Some(value.to_vec()), &hashed).is_ok());
            }
            // A changed copy of an embedded node is not skipped, so it is left over.
            if let Some(i) = proof.iter().skip(1).position(|n| n.len() < 32) {
                let mut bad = proof.clone();
                let node = &mut bad[i + 1];
                let mut bytes = node.to_vec();
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                *node = bytes.into();
                prop_assert!(trie_get(root, &key, &bad).is_err());
            }
        }

        #[test]
        fn root_matches_alloy_and_proofs_verify(
            others in proptest::collection::vec((any::<[u8; 32]>(), 1u64..), 0..80),
            withdrawals in proptest::collection::vec(any::<[u8; 32]>(), 1..8),
            pick in any::<prop::sample::Index>(),
        ) {
            let withdrawals: Vec<B256> = withdrawals.into_iter().map(B256::from).collect();
            let trie = trie_with(&others, &withdrawals);
            let mut expected: BTreeMap<B256, U256> = BTreeMap::new();
            for (slot, value) in &others {
                expected.insert(B256::from(*slot), U256::from(*value));
            }
            for hash in &withdrawals {
                expected.insert(sent_message_slot(*hash), U256::from(1));
            }
            prop_assert_eq!(trie.root(), alloy_trie::root::storage_root_unhashed(expected));

            let hash = withdrawals[pick.index(withdrawals.len())];
            let (root, proof) = trie.proof(sent_message_slot(hash));
            prop_assert_eq!(root, trie.root());
            prop_assert!(verify_withdrawal_proof(root, hash, &proof).is_ok());
            // alloy-trie's verifier agrees (it takes no separate elements for embedded nodes).
            let hashed: Vec<&Bytes> = proof.iter().enumerate().filter(|(i, n)| *i == 0 || n.len() >= 32).map(|(_, n)| n).collect();
            let key = Nibbles::unpack(keccak256(sent_message_slot(hash)));
            prop_assert!(alloy_trie::proof::verify_proof(root, key, Some(SENT_MESSAGE_VALUE.to_vec()), hashed).is_ok());
            // Without its last node, or with one node too many, the proof is refused.
            prop_assert!(verify_withdrawal_proof(root, hash, &proof[..proof.len() - 1]).is_err());
            let mut longer = proof.clone();
            longer.push(proof[0].clone());
            prop_assert_eq!(verify_withdrawal_proof(root, hash, &longer), Err(ProofError::Unused(1)));
            // The same nodes prove nothing about a withdrawal that was never passed.
            let absent = keccak256(hash);
            prop_assert!(verify_withdrawal_proof(root, absent, &proof).is_err());
            // Nor under another root.
            prop_assert!(verify_withdrawal_proof(keccak256(root), hash, &proof).is_err());
        }

        #[test]
        fn tampered_proofs_are_refused(
            others in proptest::collection::vec((any::<[u8; 32]>(), 1u64..), 1..80),
            hash: [u8; 32],
            node in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
            flip in 1u8..,
        ) {
            let hash = B256::from(hash);
            let trie = trie_with(&others, &[hash]);
            let (root, mut proof) = trie.proof(sent_message_slot(hash));
            let n = node.index(proof.len());
            let mut bytes = proof[n].to_vec();
            let b = byte.index(bytes.len());
            bytes[b] ^= flip;
            proof[n] = bytes.into();
            prop_assert!(verify_withdrawal_proof(root, hash, &proof).is_err());
        }

        #[test]
        fn a_slot_holding_another_value_is_not_a_withdrawal(
            others in proptest::collection::vec((any::<[u8; 32]>(), 1u64..), 0..40),
            hash: [u8; 32],
            value in 2u64..,
        ) {
            let hash = B256::from(hash);
            let mut trie = trie_with(&others, &[]);
            trie.insert(sent_message_slot(hash), U256::from(value));
            let (root, proof) = trie.proof(sent_message_slot(hash));
            let got = trie_get(root, keccak256(sent_message_slot(hash)).as_slice(), &proof).unwrap();
            prop_assert_eq!(got.as_ref(), &rlp::encode(U256::from(value))[..]);
            let refused = verify_withdrawal_proof(root, hash, &proof);
            let is_mismatch = matches!(refused, Err(ProofError::ValueMismatch { .. }));
            prop_assert!(is_mismatch);
        }
    }
}
