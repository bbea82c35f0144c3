//! Rebuilding the nodes under one path of a trie from the leaves under it, for stores that keep
//! only the nodes near the root and the flat `(hashed key, value)` rows (the state file keeps
//! nodes at paths shorter than a fixed depth).

use super::{TrieError, node::KEY_NIBBLES};
use alloy::primitives::Bytes;
use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};

/// The nodes at `prefix` and below it, keyed by path and sorted, of any trie whose leaves under
/// `prefix` are `leaves` (full 64-nibble keys, sorted, each starting with `prefix`, with their
/// values), as they are when the node at `prefix` is a child of a branch (the only way a trie
/// holds a node at a path that is not a branch's own). Empty when `leaves` is, or when
/// `prefix` is not 1 to 63 nibbles long; an error when the keys are not as described.
///
/// The node at `prefix` and everything below it depend only on the leaves under `prefix`, once
/// its parent is a branch at the path one nibble shorter: the build adds one placeholder leaf
/// under a sibling of `prefix` to make it so, and drops the nodes above `prefix`.
pub fn subtree_nodes<V: AsRef<[u8]>>(
    prefix: &Nibbles,
    leaves: &[(Nibbles, V)],
) -> Result<Vec<(Nibbles, Bytes)>, TrieError> {
    let depth = prefix.len();
    if leaves.is_empty() || depth == 0 || depth >= KEY_NIBBLES {
        return Ok(Vec::new());
    }
    let in_order = leaves.windows(2).all(|w| w[0].0 < w[1].0);
    let under = leaves
        .iter()
        .all(|(key, _)| key.len() == KEY_NIBBLES && key.starts_with(prefix));
    if !in_order || !under {
        return Err(TrieError::Malformed {
            path: *prefix,
            reason: "leaves to rebuild from are not sorted 64-nibble keys under the path",
        });
    }
    let last = prefix.get_unchecked(depth - 1);
    let mut sibling = prefix.slice(..depth - 1);
    sibling.push(if last == 0 { 1 } else { 0 });
    while sibling.len() < KEY_NIBBLES {
        sibling.push(0);
    }
    let targets = leaves.iter().map(|(key, _)| *key).collect();
    let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
    // Any value: the placeholder's own node is dropped, and its parent's too.
    const PLACEHOLDER: &[u8] = &[1];
    if sibling < *prefix {
        builder.add_leaf(sibling, PLACEHOLDER);
    }
    for (key, value) in leaves {
        builder.add_leaf(*key, value.as_ref());
    }
    if sibling > *prefix {
        builder.add_leaf(sibling, PLACEHOLDER);
    }
    builder.root();
    let mut nodes = builder.take_proof_nodes().into_nodes_sorted();
    nodes.retain(|(path, _)| path.len() >= depth && path.starts_with(prefix));
    Ok(nodes)
}
