//! Merkle-Patricia writes (SPEC.md §3.10) in the Solidity verifier's `MptWrite` library, through
//! the `MptWriteProbe` test contract in revm, against the Rust reference (`mpt_write::write`,
//! witnesses from its `NodeStore`): random insert, update and delete sequences give the same
//! roots, and tampered witnesses (a changed, missing or extra path node, a missing, wrong or
//! unneeded sibling) are rejected by both with the same reason.

use super::*;
use alloy::primitives::keccak256;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use fraud_vm::mpt_write::{self, NodeStore, TrieError, TrieWrite};
use proptest::test_runner::RngSeed;

alloy::sol! {
    function write(bytes32 root, bytes key, bool present, bytes value, bytes witness) returns (bytes32);
}

/// The probe's custom errors (`MptWrite.sol`), by selector.
const TRIE_ERRORS: &[&str] = &[
    "TrieBadNode()",
    "TrieMalformed()",
    "TrieUnusedNodes()",
    "TrieMissingSibling(bytes32)",
    "TrieBadSibling()",
    "TriePrefixKey()",
    "TrieTruncated()",
    "TrieBadFlag(uint8)",
];

/// The error name the Solidity library gives for `e`.
fn solidity_name(e: &TrieError) -> &'static str {
    match e {
        TrieError::BadNode => "TrieBadNode()",
        TrieError::Malformed => "TrieMalformed()",
        TrieError::UnusedNodes => "TrieUnusedNodes()",
        TrieError::MissingSibling(_) => "TrieMissingSibling(bytes32)",
        TrieError::BadSibling => "TrieBadSibling()",
        TrieError::PrefixKey => "TriePrefixKey()",
    }
}

/// `nodes ‖ u8 has_sibling ‖ [u32 len ‖ node]` (SPEC.md §6.3 `trie_write`).
fn encode(w: &TrieWrite) -> Vec<u8> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, node: &[u8]| {
        out.extend_from_slice(&u32::try_from(node.len()).expect("small").to_be_bytes());
        out.extend_from_slice(node);
    };
    out.extend_from_slice(&u32::try_from(w.nodes.len()).expect("small").to_be_bytes());
    for n in &w.nodes {
        push(&mut out, n);
    }
    match &w.sibling {
        Some(s) => {
            out.push(1);
            push(&mut out, s);
        }
        None => out.push(0),
    }
    out
}

/// The probe deployed on an L1 in revm.
struct Probe {
    l1: L1Verifier,
    address: Address,
}

impl Probe {
    fn deploy() -> Self {
        let mut l1 = L1Verifier::deploy();
        let address = l1.deploy_artifact("MptWriteProbe", &[]);
        Self { l1, address }
    }

    /// The new root, or the name of the error the library reverted with.
    fn write(
        &mut self,
        root: B256,
        key: &[u8],
        value: Option<&[u8]>,
        witness: &[u8],
    ) -> Result<B256, String> {
        let data = writeCall {
            root,
            key: Bytes::copy_from_slice(key),
            present: value.is_some(),
            value: Bytes::copy_from_slice(value.unwrap_or_default()),
            witness: Bytes::copy_from_slice(witness),
        }
        .abi_encode();
        match self.l1.call_to(self.address, data).0 {
            ExecutionResult::Success { output, .. } => {
                writeCall::abi_decode_returns(output.data()).map_err(|e| e.to_string())
            }
            ExecutionResult::Revert { output, .. } => Err(TRIE_ERRORS
                .iter()
                .find(|sig| output.len() >= 4 && keccak256(sig.as_bytes())[..4] == output[..4])
                .map_or_else(|| format!("<revert {output}>"), |s| s.to_string())),
            other => Err(format!("halt: {other:?}")),
        }
    }

    /// Compares the two verifiers on one write and witness: the same root, or the same error.
    fn compare(
        &mut self,
        root: B256,
        key: &[u8],
        value: Option<&[u8]>,
        w: &TrieWrite,
    ) -> Result<bool, String> {
        let rust = mpt_write::write(root, &Nibbles::unpack(key), value, w).map(|r| r.0);
        let sol = self.write(root, key, value, &encode(w));
        match (&rust, &sol) {
            (Ok(a), Ok(b)) if a == b => Ok(true),
            (Err(e), Err(name)) if solidity_name(e) == name => Ok(false),
            _ => Err(format!(
                "root {root} key 0x{} value {value:?} witness {w:?}: rust {rust:?}, solidity {sol:?}",
                alloy::primitives::hex::encode(key)
            )),
        }
    }
}

/// Every tampering of `witness` for the write of `value` at `key`: each node changed in its
/// last byte or removed, a node added, the sibling removed, replaced by the root node, or added
/// when there is none.
fn tamperings(witness: &TrieWrite) -> Vec<TrieWrite> {
    let mut out = Vec::new();
    for i in 0..witness.nodes.len() {
        let mut w = witness.clone();
        let mut bytes = w.nodes[i].to_vec();
        let at = bytes.len() - 1;
        bytes[at] ^= 1;
        w.nodes[i] = bytes.into();
        out.push(w);
        let mut w = witness.clone();
        w.nodes.remove(i);
        out.push(w);
    }
    if let Some(first) = witness.nodes.first() {
        let mut w = witness.clone();
        w.nodes.push(first.clone());
        out.push(w);
        let mut w = witness.clone();
        w.sibling = Some(first.clone());
        out.push(w);
    }
    if witness.sibling.is_some() {
        let mut w = witness.clone();
        w.sibling = None;
        out.push(w);
    }
    out
}

/// Applies `ops` through the Rust store and both verifiers, comparing roots after each write and
/// the answers to every tampered witness (each of which both must reject).
fn check(probe: &mut Probe, ops: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), String> {
    let mut store = NodeStore::default();
    let mut root = EMPTY_ROOT_HASH;
    for (key, value) in ops {
        let (new_root, witness) = store
            .write(root, &Nibbles::unpack(key), value.as_deref())
            .map_err(|e| e.to_string())?;
        if !probe.compare(root, key, value.as_deref(), &witness)? {
            return Err(format!("the store's own witness was rejected at {root}"));
        }
        for w in tamperings(&witness) {
            if probe.compare(root, key, value.as_deref(), &w)? {
                return Err(format!("a tampered witness was accepted: {w:?}"));
            }
        }
        root = new_root;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x3_10),
        ..ProptestConfig::default()
    })]

    /// Hashed 32-byte keys from a small key space (the state and storage tries): updates,
    /// deletions of present keys, branch collapses onto hashed siblings and extension merges.
    #[test]
    fn solidity_mpt_writes_match_rust_on_hashed_keys(
        ops in prop::collection::vec(
            (0u8..24, prop::option::weighted(0.6, prop::collection::vec(any::<u8>(), 1..80))),
            1..40,
        )
    ) {
        let mut probe = Probe::deploy();
        let ops: Vec<_> = ops.into_iter().map(|(k, v)| (keccak256([k]).to_vec(), v)).collect();
        check(&mut probe, &ops).map_err(TestCaseError::fail)?;
    }

    /// Two-byte keys and short values: nodes shorter than 32 bytes are embedded in their parent
    /// and a collapse may land on an embedded child.
    #[test]
    fn solidity_mpt_writes_match_rust_on_embedded_nodes(
        ops in prop::collection::vec(
            (0u16..300, prop::option::weighted(0.6, prop::collection::vec(any::<u8>(), 1..3))),
            1..60,
        )
    ) {
        let mut probe = Probe::deploy();
        let ops: Vec<_> = ops.into_iter().map(|(k, v)| (k.to_be_bytes().to_vec(), v)).collect();
        check(&mut probe, &ops).map_err(TestCaseError::fail)?;
    }
}

/// A fixed trie of 40 hashed keys where deletions collapse branches onto hashed siblings: both
/// verifiers need, check and refuse the sibling alike; witness bytes that are cut short or carry
/// a bad presence flag are refused; a key ending at a branch is `PrefixKey` in both.
#[test]
fn solidity_mpt_rejects_bad_siblings_and_framing() {
    let mut probe = Probe::deploy();
    let mut store = NodeStore::default();
    let mut root = EMPTY_ROOT_HASH;
    for k in 0..40u8 {
        root = store
            .write(root, &Nibbles::unpack(keccak256([k])), Some(&[k; 40]))
            .expect("known")
            .0;
    }
    let mut collapses = 0;
    for k in 0..40u8 {
        let key = keccak256([k]);
        let (_, witness) = store
            .clone()
            .write(root, &Nibbles::unpack(key), None)
            .expect("known");
        collapses += usize::from(witness.sibling.is_some());
        for w in tamperings(&witness) {
            probe
                .compare(root, key.as_slice(), None, &w)
                .expect("both agree");
        }
        // The sibling is not needed for an update.
        if witness.sibling.is_some() {
            probe
                .compare(root, key.as_slice(), Some(&[1]), &witness)
                .expect("both agree");
        }
        let bytes = encode(&witness);
        for cut in [1, 5, bytes.len() / 2] {
            assert_eq!(
                probe.write(root, key.as_slice(), None, &bytes[..bytes.len() - cut]),
                Err("TrieTruncated()".to_string())
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            probe.write(root, key.as_slice(), None, &extra),
            Err("TrieTruncated()".to_string()),
            "trailing bytes"
        );
        let mut flag = bytes.clone();
        let at = if witness.sibling.is_some() {
            bytes.len() - 5 - witness.sibling.as_ref().map_or(0, |s| s.len())
        } else {
            bytes.len() - 1
        };
        flag[at] = 2;
        assert_eq!(
            probe.write(root, key.as_slice(), None, &flag),
            Err("TrieBadFlag(uint8)".to_string())
        );
    }
    assert!(
        collapses > 0,
        "some deletion collapsed a branch onto a hashed sibling"
    );
    // A key that ends at the root branch.
    let short = [keccak256([0u8])[0]];
    let nodes = store.path(root, &Nibbles::unpack(short)).expect("known");
    let w = TrieWrite {
        nodes,
        sibling: None,
    };
    assert!(
        !probe
            .compare(root, &short, Some(&[1]), &w)
            .expect("both agree")
    );
}
