//! Hashing a trie's changed nodes level by level, many at once.
//!
//! [`super::hash`] hashes depth first: each changed node's RLP is hashed as soon as its children
//! are, one `keccak256` after another. Keccak is about half of the trie's work at 1M keys, and
//! one permutation at a time leaves the vector units idle; but the changed nodes of a block are
//! spread over thousands of independent paths, so all nodes whose changed children are hashed
//! can be hashed together. [`hash_levels`] first collects the changed nodes under the given
//! roots with their *height* (0 for a node with no changed child, else one more than its
//! highest changed child), then encodes every node of height 0, hashes them through
//! [`fraud_vm::keccak_lanes`] (eight lanes with AVX-512), stores the references, and goes on
//! with height 1, and so on: a node's changed children always have smaller heights, so they
//! are hashed when it is encoded, and encoding it reads their cached references (as
//! [`super::hash`] would return them) without recursing.

use super::{Node, UpdateLog, is_changed};
use alloy::primitives::B256;
use alloy_trie::Nibbles;
use alloy_trie::nodes::RlpNode;
use std::ptr::NonNull;

/// A changed node found by [`collect`], waiting for its height's turn.
struct Pending {
    /// The node. Valid while [`hash_levels`] holds the `&mut` of the roots it came from; see
    /// the safety argument there.
    node: NonNull<Node>,
    path: Nibbles,
    height: u8,
}

/// Encodes and hashes every changed node under `roots` (each a node and its path), logging
/// each one as [`super::hash`] does; afterwards every one of them holds its reference, so
/// [`super::hash`] of a root returns it without work. The log gets the nodes level by level
/// rather than depth first: each path at most once, which is all the log's order must keep.
pub(super) fn hash_levels<'a>(
    roots: impl IntoIterator<Item = (&'a mut Node, Nibbles)>,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) {
    let mut pending = Vec::new();
    for (root, mut path) in roots {
        if is_changed(root) {
            collect(root, &mut path, &mut pending);
        }
    }
    if pending.is_empty() {
        return;
    }
    // Within a level the order does not matter (no node is another's ancestor).
    pending.sort_unstable_by_key(|p| p.height);
    let mut spans = Vec::new();
    let mut hashes = Vec::new();
    for level in pending.chunk_by(|a, b| a.height == b.height) {
        spans.clear();
        for p in level {
            // SAFETY: `p.node` points into the trie under one of `roots`, whose `&mut` this
            // function holds for its whole run, and the trie's shape does not change while it
            // runs (encoding only fills caches), so the node is alive and where it was. No
            // other reference to it or into it is live: this one ends with the iteration, and
            // the nodes reached through it (its children) were finished at lower heights.
            let node = unsafe { &mut *p.node.as_ptr() };
            // Straight into the log's chunk, where it is hashed from and stays.
            let (index, mut chunk) = log.take_open_chunk();
            let start = chunk.len();
            encode_to(node, p.path, buf, log, &mut chunk);
            // A chunk never exceeds u32: nodes are at most a few hundred bytes.
            spans.push((index as u32, start as u32, chunk.len() as u32));
            log.put_chunk(index, chunk);
        }
        let messages: Vec<&[u8]> = spans
            .iter()
            .map(|&span| log.span(span))
            .filter(|rlp| rlp.len() >= super::INLINE_LIMIT)
            .collect();
        hashes.clear();
        hashes.resize(messages.len(), B256::ZERO);
        fraud_vm::keccak_lanes::keccak256_each(&messages, &mut hashes);
        drop(messages);
        let mut next_hash = hashes.iter();
        for (p, &span) in level.iter().zip(&spans) {
            let rlp = log.span(span);
            let reference = if rlp.len() >= super::INLINE_LIMIT {
                let hash = next_hash.next().expect("one hash per long node");
                RlpNode::word_rlp(hash)
            } else {
                RlpNode::from_rlp(rlp)
            };
            log.record_span(&p.path, span);
            // SAFETY: as above; no other reference into the trie is live here.
            let node = unsafe { &mut *p.node.as_ptr() };
            match node {
                Node::Leaf(leaf) => leaf.rlp = Some(reference),
                Node::Extension(ext) => ext.rlp = Some(reference),
                Node::Branch(branch) => branch.rlp = Some(reference),
                Node::Empty | Node::Hash(_) => unreachable!("only changed nodes are collected"),
            }
        }
    }
    log.clear_if_disabled();
}

/// Pushes `node` (changed, at `path`) and its changed descendants, children first, each with
/// its height; returns `node`'s height. `path` is restored before returning.
fn collect(node: &mut Node, path: &mut Nibbles, out: &mut Vec<Pending>) -> u8 {
    // The pointer is taken first and every later access goes through it, so the children's
    // pointers, derived from it below, stay valid until this node's own turn comes.
    let ptr = NonNull::from(node);
    // SAFETY: `ptr` was just made from a `&mut`, which it replaces for the rest of the call.
    let node = unsafe { &mut *ptr.as_ptr() };
    let mut height = 0;
    match node {
        Node::Leaf(_) | Node::Empty | Node::Hash(_) => {}
        Node::Extension(ext) => {
            if is_changed(&ext.child) {
                let len = path.len();
                path.extend(&ext.key);
                height = collect(&mut ext.child, path, out) + 1;
                path.truncate(len);
            }
        }
        Node::Branch(branch) => {
            for nibble in 0u8..16 {
                let i = usize::from(nibble);
                if branch.fresh & (1 << nibble) == 0 && is_changed(&branch.children[i]) {
                    path.push_unchecked(nibble);
                    height = height.max(collect(&mut branch.children[i], path, out) + 1);
                    path.pop();
                }
            }
        }
    }
    out.push(Pending {
        node: ptr,
        path: *path,
        height,
    });
    height
}

/// Appends the RLP of `node` (at `path`, its changed children hashed) to `out`; `buf` is
/// scratch.
fn encode_to(
    node: &mut Node,
    path: Nibbles,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
    out: &mut Vec<u8>,
) {
    match node {
        Node::Leaf(leaf) => leaf.encode_to(out),
        Node::Extension(ext) => ext.encode_to(path, buf, log, out),
        Node::Branch(branch) => branch.encode_to(path, buf, log, out),
        Node::Empty | Node::Hash(_) => unreachable!("only changed nodes are collected"),
    }
}
