//! Reading nodes back from storage: each is checked against the hash its parent commits to and
//! against the shape a trie of 64-nibble keys allows, so bad storage yields an error, not a panic
//! or a wrong root.

use super::node::{Branch, Extension, INLINE_LIMIT, KEY_NIBBLES, Leaf, Node};
use super::{NodeSource, TrieError};
use alloy::primitives::{B256, Bytes, keccak256};
use alloy::rlp::Decodable;
use alloy_trie::Nibbles;
use alloy_trie::nodes::{RlpNode, TrieNode};

/// Reads the node under `path` and checks that it is the node `hash` commits to.
pub(super) fn fetch(src: &impl NodeSource, path: &Nibbles, hash: B256) -> Result<Bytes, TrieError> {
    let rlp = src
        .node(path)?
        .ok_or(TrieError::MissingNode { path: *path })?;
    // Below the root, a node shorter than 32 bytes is embedded in its parent, never hashed.
    if (!path.is_empty() && rlp.len() < INLINE_LIMIT) || keccak256(&rlp) != hash {
        return Err(TrieError::HashMismatch {
            path: *path,
            expected: hash,
        });
    }
    Ok(rlp)
}

/// Loads the node under `path`, which `hash` commits to.
pub(super) fn load(src: &impl NodeSource, path: &Nibbles, hash: B256) -> Result<Node, TrieError> {
    let rlp = fetch(src, path, hash)?;
    let reference = if rlp.len() < INLINE_LIMIT {
        RlpNode::from_rlp(&rlp)
    } else {
        RlpNode::word_rlp(&hash)
    };
    decode(&rlp, path, reference)
}

/// Decodes the node at `path` from its RLP; `reference` is its reference in its parent.
/// Children referenced by hash stay in storage; embedded children are decoded too.
fn decode(mut rlp: &[u8], path: &Nibbles, reference: RlpNode) -> Result<Node, TrieError> {
    let malformed = |reason| TrieError::Malformed {
        path: *path,
        reason,
    };
    let node = decode_node(&mut rlp, path)?;
    if !rlp.is_empty() {
        return Err(malformed("trailing bytes after the node"));
    }
    Ok(match node {
        TrieNode::EmptyRoot => return Err(malformed("empty node below the root")),
        TrieNode::Leaf(leaf) => {
            if path.len() + leaf.key.len() != KEY_NIBBLES {
                return Err(malformed("leaf key does not end at the 64th nibble"));
            }
            Node::Leaf(Box::new(Leaf {
                key: leaf.key,
                value: leaf.value.into(),
                rlp: Some(reference),
            }))
        }
        TrieNode::Extension(ext) => {
            if ext.key.is_empty() || path.len() + ext.key.len() >= KEY_NIBBLES {
                return Err(malformed(
                    "extension key is empty or reaches the 64th nibble",
                ));
            }
            let child = decode_child(ext.child, &path.join(&ext.key))?;
            Node::Extension(Box::new(Extension {
                key: ext.key,
                child,
                rlp: Some(reference),
            }))
        }
        TrieNode::Branch(node) => {
            if path.len() >= KEY_NIBBLES || node.state_mask.count_bits() < 2 {
                return Err(malformed(
                    "branch has fewer than two children or no room for them",
                ));
            }
            let mut children: [Node; 16] = Default::default();
            let mut hashes: [B256; 16] = Default::default();
            let mut fresh = 0u16;
            let mut stack = node.stack.into_iter();
            for nibble in 0u8..16 {
                if !node.state_mask.is_bit_set(nibble) {
                    continue;
                }
                let Some(child) = stack.next() else {
                    return Err(malformed("branch mask and children disagree"));
                };
                let mut child_path = *path;
                child_path.push_unchecked(nibble);
                if let Some(child_hash) = child.as_hash() {
                    hashes[usize::from(nibble)] = child_hash;
                    fresh |= 1 << nibble;
                }
                children[usize::from(nibble)] = decode_child(child, &child_path)?;
            }
            Node::Branch(Box::new(Branch::decoded(
                children, reference, hashes, fresh,
            )))
        }
    })
}

/// A child reference as a node: a hash stays in storage, an embedded node is decoded in place.
fn decode_child(reference: RlpNode, path: &Nibbles) -> Result<Node, TrieError> {
    match reference.as_hash() {
        Some(hash) => Ok(Node::Hash(hash)),
        None => decode(&reference.clone(), path, reference),
    }
}

/// Decodes one trie node from the front of `rlp`.
pub(super) fn decode_node(rlp: &mut &[u8], path: &Nibbles) -> Result<TrieNode, TrieError> {
    TrieNode::decode(rlp).map_err(|source| TrieError::Decode {
        path: *path,
        source,
    })
}
