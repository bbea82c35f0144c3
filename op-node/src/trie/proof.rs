//! Proofs read straight from stored nodes, with no in-memory trie.

use super::node::KEY_NIBBLES;
use super::stored::{decode_node, fetch};
use super::{NodeSource, TrieError};
use alloy::primitives::{B256, Bytes};
use alloy_trie::nodes::TrieNode;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};

/// The proof for `key` in the trie with root `root`, built by walking the stored nodes by path:
/// for RPC threads that read a consistent snapshot of the node store. The same proof as
/// [`super::SparseTrie::proof`] gives; every node read is checked against its parent's hash.
pub fn proof_from_source(
    root: B256,
    key: &B256,
    src: &impl NodeSource,
) -> Result<Vec<Bytes>, TrieError> {
    let mut proof = Vec::new();
    if root == EMPTY_ROOT_HASH {
        return Ok(proof);
    }
    let key = Nibbles::unpack_array(&key.0);
    let mut path = Nibbles::new();
    let mut hash = root;
    loop {
        let rlp = fetch(src, &path, hash)?;
        let mut node = decode_node(&mut &rlp[..], &path)?;
        proof.push(rlp);
        // Follow the key through this node and the nodes embedded in it, to the next hashed node.
        hash = loop {
            let malformed = |reason| TrieError::Malformed { path, reason };
            let child = match node {
                TrieNode::EmptyRoot | TrieNode::Leaf(_) => return Ok(proof),
                TrieNode::Extension(ext) => {
                    if path.len() + ext.key.len() >= KEY_NIBBLES {
                        return Err(malformed("extension key reaches the 64th nibble"));
                    }
                    if !key.slice(path.len()..).starts_with(&ext.key) {
                        return Ok(proof);
                    }
                    path.extend(&ext.key);
                    ext.child
                }
                TrieNode::Branch(branch) => {
                    if path.len() >= KEY_NIBBLES {
                        return Err(malformed("branch at the 64th nibble"));
                    }
                    let nibble = key.get_unchecked(path.len());
                    let branch = branch.as_ref();
                    let child = branch.children().nth(nibble.into());
                    let Some(child) = child.and_then(|(_, child)| child.cloned()) else {
                        return Ok(proof);
                    };
                    path.push_unchecked(nibble);
                    child
                }
            };
            match child.as_hash() {
                Some(hash) => break hash,
                None => node = decode_node(&mut &child[..], &path)?,
            }
        };
    }
}
