//! Hashing a trie's changed nodes level by level, many at once.
//!
//! [`super::hash`] hashes depth first: each changed node's RLP is hashed as soon as its children
//! are, one `keccak256` after another. Keccak is about half of the trie's work at 1M keys, and
//! one permutation at a time leaves the vector units idle; but the changed nodes of a block are
//! spread over thousands of independent paths, so all nodes whose changed children are hashed
//! can be hashed together. [`hash_levels`] first collects the changed nodes under the given
//! roots (or [`super::descend`] lists them as it applies a batch), then encodes every changed
//! node at the greatest depth, hashes them through [`fraud_vm::keccak_lanes`] (eight lanes
//! with AVX-512), stores the references, and goes on one depth up, and so on: a node's changed
//! children are deeper than it, so they are hashed when it is encoded, and encoding it reads
//! their cached references (as [`super::hash`] would return them) without recursing. A child's
//! hash also goes straight into its parent branch's child hashes, so encoding the branch reads
//! only the branch.
//!
//! At 1M keys every changed node is a cache miss each time a pass reaches it, so each pass
//! prefetches: [`collect`] asks for all changed children of a branch before descending into
//! the first, and the encoding and write-back loops ask for the node [`DISTANCE`] places on.

use super::{Branch, Extension, Leaf, Node, UpdateLog, is_changed};
use alloy::primitives::B256;
use alloy_trie::Nibbles;
use alloy_trie::nodes::RlpNode;
use std::ptr::NonNull;

/// A changed node found by [`collect`] or [`super::descend`], waiting for its depth's turn.
#[derive(Clone, Copy)]
pub(super) struct Pending {
    /// The node. Valid while [`hash_levels`] holds the `&mut` of the roots it came from; see
    /// the safety argument there.
    pub(super) node: NonNull<Node>,
    /// Where the node's boxed body starts and how long it is, for prefetching.
    pub(super) body: (*const u8, usize),
    /// The branch the node is a child of, if any, and under which nibble: the node's hash goes
    /// straight into that branch's `hashes`, so encoding the branch does not read the node
    /// again (by then it is usually out of the cache).
    pub(super) parent: Option<(NonNull<Branch>, u8)>,
    /// The node's path; its length is the node's depth, which orders the hashing.
    pub(super) path: Nibbles,
}

/// How many nodes ahead of the one it works on the level pass prefetches. Every node of a
/// level is a cache miss at 1M keys (their boxes are scattered over the heap and the level's
/// thousands of nodes do not stay in the cache from one pass to the next); asking for the
/// node this many places on lets the misses overlap. Measured with the trie benchmark: 8 and
/// 16 both beat 4 and none; taking a level in groups of 64 with the next group prefetched as
/// a whole was slower than whole levels.
pub(super) const DISTANCE: usize = 8;

/// Asks the CPU to bring the cache line at `p` into its level-2 cache. A hint: no effect on
/// what the program computes.
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and reads nothing the program sees, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Prefetches every cache line of `len` bytes at `start`.
#[inline(always)]
pub(super) fn prefetch_range(start: *const u8, len: usize) {
    let mut offset = 0;
    while offset < len {
        prefetch(start.wrapping_add(offset));
        offset += 64;
    }
}

/// The boxed body of `node` (start and length), or a null start if it has none.
pub(super) fn body(node: &Node) -> (*const u8, usize) {
    match node {
        Node::Leaf(leaf) => (std::ptr::from_ref::<Leaf>(leaf).cast(), size_of::<Leaf>()),
        Node::Extension(ext) => (
            std::ptr::from_ref::<Extension>(ext).cast(),
            size_of::<Extension>(),
        ),
        Node::Branch(branch) => (
            std::ptr::from_ref::<Branch>(branch).cast(),
            size_of::<Branch>(),
        ),
        Node::Empty | Node::Hash(_) => (std::ptr::null(), 0),
    }
}

/// Prefetches the cached reference in the boxed body at `body` (start and length), what the
/// write-back sets: of a branch only that line (not its other 18; at 1M keys a level's
/// branches fill the memory system's queue with prefetches), of a leaf or an extension the
/// whole (two lines).
#[inline(always)]
fn prefetch_reference((start, len): (*const u8, usize)) {
    if len == size_of::<Branch>() {
        // SAFETY: only an address inside the live branch is computed; nothing is read.
        unsafe { prefetch((&raw const (*start.cast::<Branch>()).rlp).cast()) };
    } else {
        prefetch_range(start, len);
    }
}

/// Prefetches `node`'s boxed body: its cached reference (what [`is_changed`] reads) and, of
/// a branch, the children that [`collect`] reads next.
#[inline(always)]
fn prefetch_body(node: &Node) {
    let (start, len) = body(node);
    prefetch_range(start, len);
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
            collect(root, &mut path, None, &mut pending);
        }
    }
    hash_pending(pending, buf, log);
}

/// Encodes and hashes the changed nodes in `pending` (as [`hash_levels`] does once it has
/// collected them): every changed node under the nodes listed, and no node twice. Deepest
/// first: a node's children are deeper than it (by one nibble under a branch, by its key
/// under an extension), so they are hashed before it is encoded.
pub(super) fn hash_pending(pending: Vec<Pending>, buf: &mut Vec<u8>, log: &mut UpdateLog) {
    if pending.is_empty() {
        return;
    }
    let pending = deepest_first(&pending);
    let widest = pending
        .chunk_by(|a, b| a.path.len() == b.path.len())
        .map(<[Pending]>::len)
        .max()
        .unwrap_or(0);
    let mut spans = Vec::with_capacity(widest);
    let mut hashes = Vec::with_capacity(widest);
    let mut start = 0;
    for level in pending.chunk_by(|a, b| a.path.len() == b.path.len()) {
        let ahead = &pending[start..];
        start += level.len();
        spans.clear();
        for (i, p) in level.iter().enumerate() {
            // The node DISTANCE places on (in this level or the next): its slot in its
            // parent (where its box's address is) and its box.
            if let Some(later) = ahead.get(i + DISTANCE) {
                prefetch(later.node.as_ptr().cast_const().cast());
                prefetch_range(later.body.0, later.body.1);
            }
            // SAFETY: `p.node` points into the trie its caller holds the `&mut` of (under
            // one of `roots` for `hash_levels`), and the trie's shape does not change while
            // this runs (encoding only fills caches), so the node is alive and where it was.
            // No other reference to it or into it is live: this one ends with the iteration,
            // and the nodes reached through it (its children) were finished at greater depths.
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
        for (i, (p, &span)) in level.iter().zip(&spans).enumerate() {
            // What the write-back reads of the node DISTANCE places on: the slot, the
            // cached reference, the parent's child hash and bits.
            if let Some(later) = ahead.get(i + DISTANCE) {
                prefetch(later.node.as_ptr().cast_const().cast());
                prefetch_reference(later.body);
                if let Some((parent, nibble)) = later.parent {
                    let parent = parent.as_ptr().cast_const();
                    // SAFETY: only addresses are computed (no reference is made); the
                    // parent is a live branch (see below).
                    unsafe {
                        prefetch((&raw const (*parent).hashes[usize::from(nibble)]).cast());
                        prefetch((&raw const (*parent).fresh).cast());
                    }
                }
            }
            let rlp = log.span(span);
            let hash = if rlp.len() >= super::INLINE_LIMIT {
                Some(*next_hash.next().expect("one hash per long node"))
            } else {
                None
            };
            let reference = match &hash {
                Some(hash) => RlpNode::word_rlp(hash),
                None => RlpNode::from_rlp(rlp),
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
            if let (Some((parent, nibble)), Some(hash)) = (p.parent, hash) {
                let parent = parent.as_ptr();
                // SAFETY: the parent is a branch of the same trie, alive and in place as the
                // node is (see above), and comes at a smaller depth, so nothing refers into
                // it now. The writes go through the raw pointer to the two fields alone (no
                // `&mut` of the whole branch, whose children's pointers other pending nodes
                // hold); they set what `Branch::hash_children` would set when it reads the child.
                unsafe {
                    (*parent).hashes[usize::from(nibble)] = hash;
                    (*parent).fresh |= 1 << nibble;
                }
            }
        }
    }
    log.clear_if_disabled();
}

/// `pending` deepest first; within a depth the order does not matter (no node is another's
/// ancestor). A counting sort on the depth (at most 65 values): the comparison sort of the
/// 80-byte entries it replaces was 1.5 % and 1.9 % of the two state-root threads'
/// instructions (callgrind, 1M accounts, blocks of 2,000 ETH transfers).
fn deepest_first(pending: &[Pending]) -> Vec<Pending> {
    let mut next = [0usize; 65];
    for p in pending {
        next[p.path.len()] += 1;
    }
    let mut at = 0;
    for start in next.iter_mut().rev() {
        let count = *start;
        *start = at;
        at += count;
    }
    let mut sorted = pending.to_vec();
    for p in pending {
        let i = &mut next[p.path.len()];
        sorted[*i] = *p;
        *i += 1;
    }
    sorted
}

/// Pushes `node` (changed, at `path`, the child of `parent` under its nibble if a branch's)
/// and its changed descendants, children first. `path` is restored before returning.
pub(super) fn collect(
    node: &mut Node,
    path: &mut Nibbles,
    parent: Option<(NonNull<Branch>, u8)>,
    out: &mut Vec<Pending>,
) {
    let body = body(node);
    // The pointer is taken first and every later access goes through it, so the children's
    // pointers, derived from it below, stay valid until this node's own turn comes.
    let ptr = NonNull::from(node);
    // SAFETY: `ptr` was just made from a `&mut`, which it replaces for the rest of the call.
    let node = unsafe { &mut *ptr.as_ptr() };
    match node {
        Node::Leaf(_) | Node::Empty | Node::Hash(_) => {}
        Node::Extension(ext) => {
            if is_changed(&ext.child) {
                let len = path.len();
                path.extend(&ext.key);
                collect(&mut ext.child, path, None, out);
                path.truncate(len);
            }
        }
        Node::Branch(branch) => {
            // The children are scattered over the heap: ask for all of them before reading
            // the first, so their cache misses overlap.
            for nibble in 0u8..16 {
                if branch.fresh & (1 << nibble) == 0 {
                    prefetch_body(&branch.children[usize::from(nibble)]);
                }
            }
            let branch_ptr = NonNull::from(&mut **branch);
            for nibble in 0u8..16 {
                let i = usize::from(nibble);
                // SAFETY: `branch_ptr` comes from the `&mut` above; reading through it here
                // and handing out `&mut` of one child at a time keeps one access path live.
                let branch = unsafe { &mut *branch_ptr.as_ptr() };
                if branch.fresh & (1 << nibble) == 0 && is_changed(&branch.children[i]) {
                    path.push_unchecked(nibble);
                    let child = &mut branch.children[i];
                    collect(child, path, Some((branch_ptr, nibble)), out);
                    path.pop();
                }
            }
        }
    }
    out.push(Pending {
        node: ptr,
        body,
        parent,
        path: *path,
    });
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
