//! Applying a batch of operations a level at a time.
//!
//! Applying each key in turn from the top (as [`super::insert`] does) reaches each node on its
//! path one after another, and at 1M keys every node below the top three levels is a cache
//! miss: four or five misses per key, each waited for. [`apply`] instead takes all of the
//! batch's keys down together, one level at a time: the keys (sorted) are grouped by their
//! nibble at each branch, every group becomes a visit to that child at the next level, and
//! the visit [`DISTANCE`] places on is prefetched, so the misses of a level overlap. Where the
//! keys stop at a leaf, an empty slot, a node still in storage or an extension they leave (or
//! where a removal may reshape the trie), the operations are applied there with
//! [`super::insert`] and [`super::remove`], the target's leaf and value prefetched ahead.
//!
//! Every node the descent passes through is on a changed path, so it is listed for hashing
//! as it is reached ([`Pending`]), with what [`levels::collect`] finds under each target:
//! the level pass ([`levels::hash_pending`]) then starts without walking the trie again.

use super::levels::{self, DISTANCE, Pending, prefetch, prefetch_range};
use super::{Branch, Extension, Leaf, Node, UpdateLog, apply_one, is_changed, resolve};
use crate::trie::{NodeSource, TrieError};
use alloy::primitives::{B256, Bytes};
use alloy_trie::Nibbles;
use std::ptr::NonNull;

/// One operation: `Some` sets the key's value, `None` removes the key.
type Op = (B256, Option<Bytes>);

/// What a visited slot held when the visit was made, for prefetching.
#[derive(Clone, Copy)]
enum Kind {
    Branch,
    Extension,
    Leaf,
    /// Empty, or still in storage: nothing in memory to prefetch.
    Other,
}

/// A slot of the trie that some of the batch's keys reach, at one level of the descent.
#[derive(Clone, Copy)]
struct Visit {
    /// The slot (in its parent's body, or one of the root's children).
    node: NonNull<Node>,
    kind: Kind,
    /// The slot's boxed body, null for [`Kind::Other`].
    body: *const u8,
    /// The branch the slot is a child of, if any, and under which nibble.
    parent: Option<(NonNull<Branch>, u8)>,
    /// Depth of the slot's node (its path's length).
    depth: usize,
    /// The operations reaching it: `ops[start..end]`.
    start: usize,
    end: usize,
}

impl Visit {
    fn new(
        slot: &mut Node,
        parent: Option<(NonNull<Branch>, u8)>,
        depth: usize,
        start: usize,
        end: usize,
    ) -> Self {
        let (kind, body) = match slot {
            Node::Branch(branch) => (Kind::Branch, std::ptr::from_ref::<Branch>(branch).cast()),
            Node::Extension(ext) => (Kind::Extension, std::ptr::from_ref::<Extension>(ext).cast()),
            Node::Leaf(leaf) => (Kind::Leaf, std::ptr::from_ref::<Leaf>(leaf).cast()),
            Node::Empty | Node::Hash(_) => (Kind::Other, std::ptr::null()),
        };
        Self {
            node: NonNull::from(slot),
            kind,
            body,
            parent,
            depth,
            start,
            end,
        }
    }

    /// The path of the visited node.
    fn path(&self, ops: &[Op]) -> Nibbles {
        Nibbles::unpack_array(&ops[self.start].0.0).slice(..self.depth)
    }
}

/// Nibble `depth` of `key`.
fn nibble(key: &B256, depth: usize) -> u8 {
    let byte = key[depth / 2];
    if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// Prefetches what the descent reads of a visit's node: of a branch, its cached reference
/// and bits and the child slots its keys go to (not all of its 19 cache lines); of an
/// extension, its body.
fn prefetch_visit(visit: &Visit, ops: &[Op]) {
    match visit.kind {
        Kind::Branch => {
            let branch = visit.body.cast::<Branch>();
            // SAFETY: only addresses inside the live branch are computed; no reference is
            // made and nothing is read.
            unsafe {
                prefetch((&raw const (*branch).fresh).cast());
                prefetch((&raw const (*branch).rlp).cast());
            }
            let mut last = 16;
            for (key, _) in &ops[visit.start..visit.end] {
                let n = nibble(key, visit.depth);
                if n != last {
                    last = n;
                    // SAFETY: as above.
                    unsafe {
                        prefetch((&raw const (*branch).children[usize::from(n)]).cast());
                    }
                }
            }
        }
        Kind::Extension => prefetch_range(visit.body, size_of::<Extension>()),
        Kind::Leaf | Kind::Other => {}
    }
}

/// Applies `ops` (sorted by key, distinct, all under nibbles `first..first + children.len()`
/// of the root) to the root's `children`, moving their values into the trie, and pushes onto `pending` every node left changed
/// under them, each once, for [`levels::hash_pending`]. Returns whether anything changed.
///
/// Nodes on the keys' paths are marked changed on the way down, before the operations at the
/// bottom are known to change anything; a set to the value a key already has leaves its path
/// re-encoded unchanged (the same nodes rewritten), which [`super::insert`] would avoid.
pub(super) fn apply(
    children: &mut [Node],
    first: u8,
    ops: &mut [Op],
    src: &impl NodeSource,
    log: &mut UpdateLog,
    pending: &mut Vec<Pending>,
) -> Result<bool, TrieError> {
    // Room for what a batch's keys usually fill: a path of about six changed nodes per key
    // at 1M keys, fewer shared near the root (grown a doubling at a time, these vectors'
    // copies were 2.2 % of the second state-root thread's instructions, callgrind, 1M
    // accounts, blocks of 2,000 ETH transfers).
    pending.reserve(ops.len() * 6);
    let mut level = Vec::with_capacity(ops.len());
    let mut start = 0;
    while start < ops.len() {
        let n = nibble(&ops[start].0, 0);
        let end = start + ops[start..].partition_point(|op| nibble(&op.0, 0) == n);
        level.push(Visit::new(
            &mut children[usize::from(n - first)],
            None,
            1,
            start,
            end,
        ));
        start = end;
    }
    let mut next = Vec::with_capacity(ops.len());
    let mut targets = Vec::with_capacity(ops.len());
    while !level.is_empty() {
        for (i, visit) in level.iter().enumerate() {
            if let Some(later) = level.get(i + DISTANCE) {
                prefetch_visit(later, ops);
            }
            let batch = &ops[visit.start..visit.end];
            // A removal may merge nodes upwards: its whole subtree is applied key by key,
            // as `remove` restores the trie's shape from the node it starts at.
            if batch.iter().any(|(_, value)| value.is_none()) {
                targets.push(*visit);
                continue;
            }
            // SAFETY: `visit.node` points to a slot of the trie under `children`, whose `&mut`
            // this function holds; nothing has moved or dropped the slot since the visit was
            // made (the descent only clears caches), and no other reference into it is live:
            // visits of one level are disjoint subtrees, and the parent's reference ended
            // when the visit was made.
            let node = unsafe { &mut *visit.node.as_ptr() };
            if let Node::Hash(_) = node {
                resolve(node, &visit.path(ops), src)?;
            }
            let body = levels::body(node);
            let node_ptr = visit.node;
            match node {
                Node::Branch(branch) => {
                    let branch_ptr = NonNull::from(&mut **branch);
                    let mut start = visit.start;
                    while start < visit.end {
                        let n = nibble(&ops[start].0, visit.depth);
                        let end = start
                            + ops[start..visit.end]
                                .partition_point(|op| nibble(&op.0, visit.depth) == n);
                        // SAFETY: `branch_ptr` comes from the `&mut` above, which it
                        // replaces; one child's `&mut` is made at a time, and ends here.
                        let branch = unsafe { &mut *branch_ptr.as_ptr() };
                        branch.child_changed(usize::from(n));
                        next.push(Visit::new(
                            &mut branch.children[usize::from(n)],
                            Some((branch_ptr, n)),
                            visit.depth + 1,
                            start,
                            end,
                        ));
                        start = end;
                    }
                }
                Node::Extension(ext) if covers(&ext.key, batch, visit.depth) => {
                    ext.rlp = None;
                    let depth = visit.depth + ext.key.len();
                    next.push(Visit::new(
                        &mut ext.child,
                        None,
                        depth,
                        visit.start,
                        visit.end,
                    ));
                }
                _ => {
                    targets.push(*visit);
                    continue;
                }
            }
            pending.push(Pending {
                node: node_ptr,
                body,
                parent: visit.parent,
                path: visit.path(ops),
            });
        }
        std::mem::swap(&mut level, &mut next);
        next.clear();
    }
    let mut changed = false;
    for (j, target) in targets.iter().enumerate() {
        // Two stages: the leaf's body two distances on, then (its body now near) the value it
        // compares and frees, one distance on.
        if let Some(later) = targets.get(j + 2 * DISTANCE) {
            match later.kind {
                Kind::Leaf => prefetch_range(later.body, size_of::<Leaf>()),
                Kind::Extension => prefetch_range(later.body, size_of::<Extension>()),
                Kind::Branch | Kind::Other => {}
            }
        }
        if let Some(later) = targets.get(j + DISTANCE)
            && let Kind::Leaf = later.kind
        {
            // SAFETY: the leaf is alive and in place (targets are disjoint subtrees, and
            // this one has not been applied yet); its value is only read.
            let value = unsafe { (*later.body.cast::<Leaf>()).value.as_ptr() };
            prefetch(value.wrapping_sub(16));
            prefetch(value);
        }
        // SAFETY: as in the descent; targets are disjoint subtrees, and the descent's
        // references have ended.
        let node = unsafe { &mut *target.node.as_ptr() };
        for (key, value) in &mut ops[target.start..target.end] {
            changed |= apply_one(node, key, value.take(), target.depth, src, log)?;
        }
        if is_changed(node) {
            let mut path = target.path(ops);
            levels::collect(node, &mut path, target.parent, pending);
        }
    }
    Ok(changed)
}

/// Whether every key of `batch` (sorted) continues with `key` from nibble `depth`: then all
/// of them pass the extension with that key. The first and last keys decide, since every
/// key between them shares what they share.
fn covers(key: &Nibbles, batch: &[Op], depth: usize) -> bool {
    let (Some((first, _)), Some((last, _))) = (batch.first(), batch.last()) else {
        return true;
    };
    (0..key.len()).all(|i| {
        let n = key.get_unchecked(i);
        nibble(first, depth + i) == n && nibble(last, depth + i) == n
    })
}
