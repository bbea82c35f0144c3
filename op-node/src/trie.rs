//! The state trie: an in-memory, incrementally hashed Merkle-Patricia trie.
//!
//! One [`SparseTrie`] holds the account trie and one holds each account's storage trie. Keys are
//! 32-byte hashes (64 nibbles: a "secure" trie) and values are opaque RLP bytes; nodes are encoded
//! with `alloy_trie`'s node types, so roots and proofs are exactly Ethereum's (Yellow Paper,
//! appendix D).
//!
//! # Incremental hashing
//! Every loaded node caches its reference in its parent (`RlpNode`: its RLP if shorter than 32
//! bytes, else the RLP of its hash). A change clears the cache of the nodes on the changed key's
//! path, so [`SparseTrie::root`] re-encodes and re-hashes only those. A branch also keeps the
//! hashes of its children referenced by hash, each valid until that child changes, so
//! re-encoding a branch reads only its changed children, not all sixteen (at 1M accounts the
//! nodes are scattered over the heap and each read of an unchanged child was a cache miss).
//! The changed nodes are hashed by height, not depth first: every changed node whose changed
//! children are hashed is encoded, then all of them are hashed at once, eight messages per
//! Keccak permutation where AVX-512 is there (`node/levels.rs`).
//!
//! # Storage
//! Nodes are persisted by *path*: every node (branch, extension or leaf, including those embedded
//! in their parent because their RLP is shorter than 32 bytes) is stored under the nibbles that
//! lead from the root to it, and the stored value is the node's own RLP. A trie reopened with
//! [`SparseTrie::from_root`] starts as an unresolved root and loads nodes by path on demand; each
//! loaded node is checked against the hash its parent (or the root) commits to.
//!
//! Paths are relative to the trie's root: a store keeping several tries in one table (the account
//! trie and every storage trie) must namespace them, e.g. by prefixing the account hash.
//!
//! A store need not keep every node: the node's state file keeps those near the root and
//! answers for a deeper path with the nodes [`subtree_nodes`] rebuilds from the leaves under
//! the path's first few nibbles; a loaded node is checked against its parent's hash either way.
//!
//! Invariant: a store that applies every [`TrieUpdates`] in turn holds exactly the nodes reachable
//! from the latest root, each under its path. This holds because a node cannot change its path
//! without being re-encoded (a leaf's or extension's key shrinks or grows with its path; a branch
//! never moves), and every re-encoded node is written, while every path a node leaves without
//! another node taking it is reported removed.

mod node;
mod proof;
mod stored;
mod subtree;
#[cfg(test)]
mod tests;

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::rlp;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use std::fmt;

use node::{Node, UpdateLog};
pub use proof::proof_from_source;
pub use subtree::subtree_nodes;

/// Errors from reading, changing or proving a trie.
#[derive(Debug, thiserror::Error)]
pub enum TrieError {
    /// The node the trie needs under a path is not in storage.
    #[error("trie node at path {path:?} is missing from storage")]
    MissingNode {
        /// Path of the missing node.
        path: Nibbles,
    },
    /// The stored node does not hash to the reference its parent holds.
    #[error("trie node at path {path:?} does not match its expected hash {expected}")]
    HashMismatch {
        /// Path of the node.
        path: Nibbles,
        /// Hash the parent (or the root) commits to.
        expected: B256,
    },
    /// The stored node is not valid RLP for a trie node.
    #[error("trie node at path {path:?} is not a valid node: {source}")]
    Decode {
        /// Path of the node.
        path: Nibbles,
        /// The decoding error.
        #[source]
        source: rlp::Error,
    },
    /// The stored node decodes but cannot sit at its path in a trie of 64-nibble keys.
    #[error("trie node at path {path:?} is malformed: {reason}")]
    Malformed {
        /// Path of the node.
        path: Nibbles,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Values must be non-empty: an empty value is a removal, spelled [`SparseTrie::remove`].
    #[error("trie values must not be empty; remove the key instead")]
    EmptyValue,
    /// The [`NodeSource`] failed; the message is its error's.
    #[error("trie node source failed: {0}")]
    Source(String),
}

/// Where nodes that are not in memory come from: the node's store of trie nodes, keyed by path.
pub trait NodeSource {
    /// Returns the RLP of the node stored under `path`, or `None` if nothing is stored there.
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    fn node(&self, path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        (**self).node(path)
    }
}

/// A source with no nodes, for tries that live wholly in memory (such as a fresh one).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNodes;

impl NodeSource for NoNodes {
    fn node(&self, _path: &Nibbles) -> Result<Option<Bytes>, TrieError> {
        Ok(None)
    }
}

/// Operations in one [`SparseTrie::apply_batch`] from which it works on two threads: below
/// this, a thread costs more than the work it takes over.
pub const PARALLEL_MIN_OPS: usize = 64;

/// Node changes since the last [`SparseTrie::take_updates`], to apply to the node store.
///
/// `written` and `removed` are disjoint and each sorted by path, so the order in which a store
/// applies them does not matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrieUpdates {
    /// Nodes to put: each node's path and its full RLP.
    pub written: Vec<(Nibbles, Bytes)>,
    /// Paths whose node is gone: delete them.
    pub removed: Vec<Nibbles>,
}

impl TrieUpdates {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }
}

/// An in-memory Merkle-Patricia trie over 32-byte keys that rehashes only what changed and loads
/// the rest from a [`NodeSource`] on demand.
///
/// Methods that may need a node not yet in memory take the source to load it from; a failed load
/// leaves the trie as it was.
pub struct SparseTrie {
    root: Node,
    /// Scratch buffer for encoding nodes, reused across calls.
    rlp_buf: Vec<u8>,
    log: UpdateLog,
}

impl Default for SparseTrie {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for SparseTrie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseTrie")
            .field("pending_updates", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl SparseTrie {
    fn with_root(root: Node) -> Self {
        Self {
            root,
            rlp_buf: Vec::new(),
            log: UpdateLog::new(),
        }
    }

    /// An empty trie.
    pub fn empty() -> Self {
        Self::with_root(Node::Empty)
    }

    /// A trie whose root node is in storage under the empty path; nodes are loaded on demand.
    /// `root == EMPTY_ROOT_HASH` is the empty trie.
    pub fn from_root(root: B256) -> Self {
        Self::with_root(if root == EMPTY_ROOT_HASH {
            Node::Empty
        } else {
            Node::Hash(root)
        })
    }

    /// Stops recording node updates, for a trie that is never persisted (so that, with nobody
    /// calling [`Self::take_updates`], the record does not grow without bound).
    pub fn without_updates(mut self) -> Self {
        self.log = UpdateLog::disabled();
        self
    }

    /// The value stored under `key`, if any.
    pub fn get(&mut self, key: &B256, src: &impl NodeSource) -> Result<Option<Bytes>, TrieError> {
        node::get(&mut self.root, &Nibbles::unpack_array(&key.0), src)
    }

    /// Sets the value under `key`. `value` must be non-empty; setting the value a key already has
    /// changes nothing (and rehashes nothing).
    pub fn insert(
        &mut self,
        key: &B256,
        value: Bytes,
        src: &impl NodeSource,
    ) -> Result<(), TrieError> {
        if value.is_empty() {
            return Err(TrieError::EmptyValue);
        }
        node::insert(
            &mut self.root,
            &Nibbles::unpack_array(&key.0),
            0,
            value,
            src,
        )?;
        Ok(())
    }

    /// Removes `key` and its value, if present.
    pub fn remove(&mut self, key: &B256, src: &impl NodeSource) -> Result<(), TrieError> {
        node::remove(
            &mut self.root,
            &Nibbles::unpack_array(&key.0),
            0,
            src,
            &mut self.log,
        )?;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) the value of every key in `ops`, then hashes what
    /// changed; on two threads when the root is a branch and there are many operations (see
    /// [`PARALLEL_MIN_OPS`]). Keys must be distinct; `ops` is sorted by key here, and its values
    /// are moved into the trie (every operation is left `None`). The result is the trie
    /// [`Self::insert`] and [`Self::remove`] would give, in any order, and its updates leave a
    /// node store as theirs would (either may also rewrite a node unchanged: this one rewrites
    /// the path of a key set to the value it already has).
    ///
    /// Unlike those, a failed load may leave the trie partly updated: discard it and reopen
    /// it from storage.
    pub fn apply_batch(
        &mut self,
        ops: &mut [(B256, Option<Bytes>)],
        src: &(impl NodeSource + Sync),
    ) -> Result<(), TrieError> {
        self.apply_batch_with(ops, src, PARALLEL_MIN_OPS)
    }

    fn apply_batch_with(
        &mut self,
        ops: &mut [(B256, Option<Bytes>)],
        src: &(impl NodeSource + Sync),
        min_parallel: usize,
    ) -> Result<(), TrieError> {
        if ops
            .iter()
            .any(|(_, v)| v.as_ref().is_some_and(|v| v.is_empty()))
        {
            return Err(TrieError::EmptyValue);
        }
        ops.sort_unstable_by_key(|op| op.0);
        node::apply_ops(
            &mut self.root,
            ops,
            src,
            &mut self.rlp_buf,
            &mut self.log,
            min_parallel,
        )
    }

    /// The root hash. Hashes only the nodes changed since the last call.
    pub fn root(&mut self) -> B256 {
        match self.root {
            Node::Empty => EMPTY_ROOT_HASH,
            Node::Hash(root) => root,
            _ => {
                let mut path = Nibbles::new();
                let rlp =
                    node::hash_split(&mut self.root, &mut path, &mut self.rlp_buf, &mut self.log);
                // The root is hashed even when its RLP is short enough to be embedded.
                rlp.as_hash().unwrap_or_else(|| keccak256(rlp.as_slice()))
            }
        }
    }

    /// The nodes written (path and full RLP) and the paths removed since the last call.
    ///
    /// Hashes pending changes first (as [`Self::root`] does). A store that deletes `removed` and
    /// puts `written` lets [`Self::from_root`] with the current root reproduce this trie.
    pub fn take_updates(&mut self) -> TrieUpdates {
        self.root();
        self.log.take()
    }

    /// The proof for `key` as `eth_getProof` returns it: the RLP of every node on the key's path
    /// from the root, leaving out nodes embedded in their parent (they are part of its RLP).
    /// It proves the key's value or its absence. The empty trie's proof is empty.
    pub fn proof(&mut self, key: &B256, src: &impl NodeSource) -> Result<Vec<Bytes>, TrieError> {
        // Bring every cached reference up to date, so encoding the path's nodes hashes nothing.
        self.root();
        node::proof(
            &mut self.root,
            &Nibbles::unpack_array(&key.0),
            src,
            &mut self.rlp_buf,
            &mut self.log,
        )
    }
}
