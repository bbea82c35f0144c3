//! The sparse Merkle tree (SPEC.md §3.8): a binary tree of depth 256 over 32-byte keys, used for
//! the world-state overlay, transient storage, the warm sets and the created set.
//!
//! Leaf `k` holds a 32-byte value, zero when absent. An inner node is `0` if both children are
//! `0`, else `keccak256(left ‖ right)`, so an all-absent subtree of any height hashes to zero and
//! a verifier needs no table of default hashes. Bit `h` of the key (counting from the least
//! significant bit of the key read as a big-endian number) chooses the side at height `h`.

use alloy::primitives::{B256, keccak256};
use std::sync::{Arc, Mutex, OnceLock};

/// Depth of every sparse Merkle tree.
pub const SMT_DEPTH: usize = 256;

/// What [`SparseTree::unhashed_root`] gives for a tree that is not empty: not a root (no
/// preimage is known), only a non-zero stand-in.
pub const UNHASHED_ROOT: B256 = B256::repeat_byte(0xff);

/// Inner node hash with the zero-subtree shortcut.
pub fn smt_node(left: B256, right: B256) -> B256 {
    if left.is_zero() && right.is_zero() {
        return B256::ZERO;
    }
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// Bit `h` of `key` counted from the least significant end.
fn key_bit(key: &B256, h: usize) -> bool {
    (key[31 - h / 8] >> (h % 8)) & 1 == 1
}

/// A leaf value with its authentication path: the witness of one key of a sparse tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtProof {
    /// The leaf at the key (zero when absent).
    pub leaf: B256,
    /// Siblings from the leaf level upwards; exactly [`SMT_DEPTH`] of them.
    pub siblings: Vec<B256>,
}

impl SmtProof {
    /// The root obtained by placing `leaf` at `key` with these siblings, or `None` if the path
    /// does not have exactly [`SMT_DEPTH`] siblings.
    pub fn root_with(&self, key: B256, leaf: B256) -> Option<B256> {
        if self.siblings.len() != SMT_DEPTH {
            return None;
        }
        let mut node = leaf;
        for (h, sibling) in self.siblings.iter().enumerate() {
            node = if key_bit(&key, h) {
                smt_node(*sibling, node)
            } else {
                smt_node(node, *sibling)
            };
        }
        Some(node)
    }

    /// Whether this proof shows `self.leaf` at `key` under `root`.
    pub fn verifies(&self, root: B256, key: B256) -> bool {
        self.root_with(key, self.leaf) == Some(root)
    }
}

/// A sparse tree holding only the non-zero leaves (prover side), as a path-compressed binary
/// tree of shared nodes: a clone costs one reference count, a write copies the
/// `O(log leaves)` nodes on its path and hashes nothing. Hashing is lazy: a node's hash, and
/// its children's hashes lifted to its level, are computed when a root or a path first needs
/// them and then kept in the node (shared by every tree holding it), so a key written many
/// times between two reads of the root is hashed once, and a tree whose root is never read
/// is never hashed.
#[derive(Clone, Debug, Default)]
pub struct SparseTree {
    /// The top node (absent for the empty tree).
    top: Option<Arc<Node>>,
    /// The root hash, once read since the last write: the top node lifted to height
    /// [`SMT_DEPTH`].
    root: OnceLock<B256>,
    /// Number of non-zero leaves.
    len: usize,
}

/// A node of the compressed tree: a leaf (height 0), or a branch at height `h ≥ 1` whose two
/// children are both non-empty and differ at bit `h - 1` (every level between a branch and its
/// child has an all-zero other side).
#[derive(Debug)]
struct Node {
    /// Height of the node in the full tree.
    height: usize,
    /// A key under the node (its own, for a leaf): its bits from `height` up are the node's.
    key: B256,
    /// The node's hash at its own height: a leaf's value, set when the leaf is made; a
    /// branch's, computed when first read.
    hash: OnceLock<B256>,
    /// A branch's children (`[bit clear, bit set]`) with their hashes lifted to `height - 1`,
    /// each computed when first read.
    children: Option<Box<Children>>,
}

/// A branch's two children with their hashes lifted to the level below the branch (once read).
type Children = [(Arc<Node>, OnceLock<B256>); 2];

impl Node {
    fn leaf(key: B256, leaf: B256) -> Arc<Self> {
        Arc::new(Self {
            height: 0,
            key,
            hash: OnceLock::from(leaf),
            children: None,
        })
    }

    /// A branch over two non-empty subtrees whose keys first differ (from the top) at bit
    /// `bit`.
    fn branch(a: Arc<Node>, b: Arc<Node>, bit: usize) -> Arc<Self> {
        let (zero, one) = if key_bit(&a.key, bit) { (b, a) } else { (a, b) };
        Arc::new(Self {
            height: bit + 1,
            key: zero.key,
            hash: OnceLock::new(),
            children: Some(Box::new([(zero, OnceLock::new()), (one, OnceLock::new())])),
        })
    }

    /// The node's hash at its own height, computed (with whatever below it is not yet
    /// hashed) on the first read.
    fn hash(&self) -> B256 {
        *self.hash.get_or_init(|| match self.children.as_deref() {
            Some([zero, one]) => smt_node(
                Self::lifted(zero, self.height - 1),
                Self::lifted(one, self.height - 1),
            ),
            // A leaf's hash is set when it is made.
            None => B256::ZERO,
        })
    }

    /// A child's hash lifted to height `to`, computed on the first read.
    fn lifted(child: &(Arc<Node>, OnceLock<B256>), to: usize) -> B256 {
        *child.1.get_or_init(|| child.0.lift(to))
    }

    /// The node's hash carried up to height `to` (`to ≥ height`) through all-zero siblings: a
    /// leaf's through the [lifted-leaf cache](set_lift_cache_capacity).
    fn lift(&self, to: usize) -> B256 {
        if self.height == 0 {
            return lift_leaf(self.key, self.hash(), to);
        }
        lift_from(self.key, self.hash(), self.height, to)
    }

    /// Whether `key` lies under this node (agrees with it from bit `height` up).
    fn covers(&self, key: &B256) -> bool {
        self.height > SMT_DEPTH - 1 || highest_difference(&self.key, key) < self.height
    }
}

/// `node`, the hash at height `from` of a subtree holding `key`, carried up to height `to`
/// through all-zero siblings.
fn lift_from(key: B256, mut node: B256, from: usize, to: usize) -> B256 {
    for h in from..to {
        node = if key_bit(&key, h) {
            smt_node(B256::ZERO, node)
        } else {
            smt_node(node, B256::ZERO)
        };
    }
    node
}

/// Heights between two lifts a cache entry keeps: a cached leaf is lifted to any height with
/// fewer than this many hashes.
const MARK_STRIDE: usize = 8;

/// Slots of the lifted-leaf cache unless [`set_lift_cache_capacity`] says otherwise: at most
/// about 1.1 KB each (up to 32 lifts of 32 bytes), so about 9 MB when full.
pub const DEFAULT_LIFT_CACHE_SLOTS: usize = 1 << 13;

/// A leaf's lifts: its hash at heights `MARK_STRIDE`, `2 MARK_STRIDE`, ... (as far as some
/// tree needed it).
struct Lifted {
    key: B256,
    leaf: B256,
    marks: Vec<B256>,
}

/// The lifted-leaf cache: a leaf's hash at a height depends only on its key and value, so the
/// lifts of the leaves a block's answers keep re-making (each re-run builds its trees' nodes
/// anew) are kept across runs. Direct-mapped: a leaf has one slot, a newer leaf takes it
/// (which bounds the memory), and what is read from it is checked against the leaf's key and
/// value, so the cache changes no hash, only how often one is computed.
struct LiftCache {
    /// The slots (a power of two of them, or none when the cache is off); made on first use.
    slots: Vec<Option<Box<Lifted>>>,
    /// How many slots to make.
    capacity: usize,
}

impl LiftCache {
    /// Makes the slots on first use; false when the cache is off.
    fn ready(&mut self) -> bool {
        if self.capacity == 0 {
            return false;
        }
        if self.slots.is_empty() {
            let capacity = self.capacity;
            self.slots.resize_with(capacity, || None);
        }
        true
    }

    /// How many of the first `want` lifts of `leaf` at `key` slot `slot` holds, and the highest
    /// of them (the leaf itself when it holds none).
    fn held(&self, slot: usize, key: &B256, leaf: &B256, want: usize) -> (usize, B256) {
        match &self.slots[slot] {
            Some(entry) if entry.key == *key && entry.leaf == *leaf => {
                let have = entry.marks.len().min(want);
                (
                    have,
                    if have > 0 {
                        entry.marks[have - 1]
                    } else {
                        *leaf
                    },
                )
            }
            _ => (0, *leaf),
        }
    }
}

/// The process's lifted-leaf cache, shared by every tree (and so by the answers of a block,
/// and by its blocks).
static LIFTS: Mutex<LiftCache> = Mutex::new(LiftCache {
    slots: Vec::new(),
    capacity: DEFAULT_LIFT_CACHE_SLOTS,
});

/// Empties the lifted-leaf cache and gives it `slots` slots from now on (rounded down to a
/// power of two; 0 turns it off). Trees hash the same with any size: the cache only saves
/// recomputing the lifts of leaves that other trees (an earlier re-run of the block) already
/// lifted; a slot holds one leaf's lifts, about 1 KB at most.
pub fn set_lift_cache_capacity(slots: usize) {
    let mut cache = LIFTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.capacity = if slots == 0 { 0 } else { 1 << slots.ilog2() };
    cache.slots = Vec::new();
}

/// Empties the lifted-leaf cache, keeping its size.
pub(crate) fn clear_lift_cache() {
    LIFTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .slots = Vec::new();
}

/// The slot of a leaf in a cache of `len` slots (a power of two).
fn slot_of(key: &B256, leaf: &B256, len: usize) -> usize {
    let word = |b: &B256, i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let mix = (word(key, 24) ^ word(key, 0).rotate_left(17) ^ word(leaf, 24).rotate_left(31))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mix >> 32) as usize & (len - 1)
}

/// The leaf `leaf` at `key` lifted to height `to`, from the highest lift the cache holds at
/// or below `to`, keeping the new lifts.
fn lift_leaf(key: B256, leaf: B256, to: usize) -> B256 {
    let want = to / MARK_STRIDE;
    if want == 0 {
        return lift_from(key, leaf, 0, to);
    }
    let cached = {
        let mut cache = LIFTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.ready().then(|| {
            let slot = slot_of(&key, &leaf, cache.slots.len());
            let (have, node) = cache.held(slot, &key, &leaf, want);
            (slot, have, node)
        })
    };
    let Some((slot, have, mut node)) = cached else {
        return lift_from(key, leaf, 0, to);
    };
    let mut marks = Vec::with_capacity(want - have);
    for mark in have..want {
        node = lift_from(key, node, mark * MARK_STRIDE, (mark + 1) * MARK_STRIDE);
        marks.push(node);
    }
    let lifted = lift_from(key, node, want * MARK_STRIDE, to);
    if !marks.is_empty() {
        let mut cache = LIFTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keep_marks(&mut cache, slot, key, leaf, have, marks);
    }
    lifted
}

/// Adds `marks`, a leaf's lifts from mark `have` on, to its slot of `cache`.
fn keep_marks(
    cache: &mut LiftCache,
    slot: usize,
    key: B256,
    leaf: B256,
    have: usize,
    marks: Vec<B256>,
) {
    // The cache may have been resized, or the slot taken, since it was read.
    if let Some(entry) = cache.slots.get_mut(slot) {
        match entry {
            Some(e) if e.key == key && e.leaf == leaf && e.marks.len() == have => {
                e.marks.extend_from_slice(&marks);
            }
            // A slot free or another leaf's (or this leaf's, lifted meanwhile by another
            // thread to the same marks): the lifts from the leaf up take it.
            _ if have == 0 => {
                *entry = Some(Box::new(Lifted { key, leaf, marks }));
            }
            _ => {}
        }
    }
}

/// A slot that a leaf's lift at some height fills: a branch's child slot, or a one-leaf tree's
/// root.
type Target<'a> = (usize, &'a OnceLock<B256>);

/// A leaf's chain of lifts still to make, from height `height` (a mark, or the leaf) up to the
/// highest of its targets: the marks past `have` it passes go to the lifted-leaf cache, and
/// each target's slot is filled when the chain reaches its height ([`lift_leaves`]).
struct Job<'a> {
    key: B256,
    leaf: B256,
    slot: usize,
    have: usize,
    /// The lift at height `height`.
    node: B256,
    height: usize,
    marks: Vec<B256>,
    /// The heights to fill, highest first.
    targets: Vec<Target<'a>>,
}

impl Job<'_> {
    /// Fills the slots of the targets at the chain's height, and keeps a mark reached.
    fn reached(&mut self) {
        if self.height.is_multiple_of(MARK_STRIDE) && self.height / MARK_STRIDE > self.have {
            self.marks.push(self.node);
        }
        while let Some(&(to, slot)) = self.targets.last() {
            if to != self.height {
                break;
            }
            // Already filled (a tree sharing the node hashed it meanwhile): the same value.
            let _ = slot.set(self.node);
            self.targets.pop();
        }
    }

    fn done(&self) -> bool {
        self.targets.is_empty()
    }
}

/// The leaves under `node` that hashing `node` carried to height `to` would lift, with the
/// slot each lift fills: (key, value, height, slot), for the nodes of the tree not hashed yet.
fn unlifted_leaves<'a>(
    node: &'a Node,
    to: usize,
    slot: &'a OnceLock<B256>,
    out: &mut Vec<(B256, B256, usize, &'a OnceLock<B256>)>,
) {
    match node.children.as_deref() {
        None => out.push((node.key, node.hash(), to, slot)),
        Some(children) if node.hash.get().is_none() => {
            for child in children {
                if child.1.get().is_none() {
                    unlifted_leaves(&child.0, node.height - 1, &child.1, out);
                }
            }
        }
        Some(_) => {}
    }
}

/// Makes every leaf lift that hashing the roots of `trees` will need, [`width`] chains at a
/// time ([`crate::keccak4`]): each lift fills its slot (the child slot of the branch above the
/// leaf, or a one-leaf tree's root), and the marks it passes go to the lifted-leaf cache (a
/// chain starts from the highest mark the cache holds below its lowest slot). The roots are
/// then read with one hash per branch and its short lift. The same hashes as lifting each leaf
/// on its own; nothing is done without AVX2 or for fewer than two leaves.
///
/// [`width`]: crate::keccak4::width
pub(crate) fn lift_leaves(trees: &[&SparseTree]) {
    let mut leaves = Vec::new();
    for tree in trees {
        if tree.root.get().is_none()
            && let Some(top) = tree.top.as_deref()
        {
            unlifted_leaves(top, SMT_DEPTH, &tree.root, &mut leaves);
        }
    }
    if leaves.len() < 2 {
        return;
    }
    let width = crate::keccak4::width();
    if width == 0 {
        return;
    }
    // A leaf under several slots (trees sharing it, or one tree at several heights) is one
    // chain, up to the highest of them.
    leaves.sort_unstable_by_key(|l| (l.0, l.1, l.2));
    let mut grouped: Vec<(B256, B256, Vec<Target<'_>>)> = Vec::new();
    for (key, leaf, to, slot) in leaves {
        match grouped.last_mut() {
            Some(last) if last.0 == key && last.1 == leaf => last.2.push((to, slot)),
            _ => grouped.push((key, leaf, vec![(to, slot)])),
        }
    }
    let mut jobs = {
        let mut cache = LIFTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ready = cache.ready();
        let len = cache.slots.len();
        grouped
            .into_iter()
            .map(|(key, leaf, mut targets)| {
                // Lowest first as grouped: the chain starts at or below the lowest.
                let lowest = targets[0].0;
                let (slot, have, start, node) = if ready {
                    let slot = slot_of(&key, &leaf, len);
                    let (have, _) = cache.held(slot, &key, &leaf, usize::MAX);
                    let (start, node) = cache.held(slot, &key, &leaf, lowest / MARK_STRIDE);
                    (slot, have, start, node)
                } else {
                    (0, usize::MAX, 0, leaf)
                };
                targets.reverse();
                let mut job = Job {
                    key,
                    leaf,
                    slot,
                    have,
                    node,
                    height: start * MARK_STRIDE,
                    marks: Vec::new(),
                    targets,
                };
                job.reached();
                job
            })
            .filter(|job| !job.done())
            .collect::<Vec<_>>()
    };
    let mut done = Vec::with_capacity(jobs.len());
    let mut lanes: Vec<Option<Job<'_>>> = (0..width).map(|_| None).collect();
    let (mut inputs, mut out) = (Vec::with_capacity(width), vec![B256::ZERO; width]);
    loop {
        for lane in lanes.iter_mut().filter(|l| l.is_none()) {
            *lane = jobs.pop();
        }
        let busy = lanes.iter().filter(|l| l.is_some()).count();
        if busy < 2 {
            break;
        }
        // The busy lanes first: four or fewer go through the narrower permutation.
        lanes.sort_by_key(Option::is_none);
        inputs.clear();
        inputs.extend(lanes[..busy].iter().flatten().map(|job| {
            if key_bit(&job.key, job.height) {
                (B256::ZERO, job.node)
            } else {
                (job.node, B256::ZERO)
            }
        }));
        if !crate::keccak4::pairs_into(&inputs, &mut out[..busy]) {
            return;
        }
        for (lane, node) in lanes.iter_mut().zip(out.iter().copied()) {
            if let Some(job) = lane {
                job.node = node;
                job.height += 1;
                job.reached();
                if job.done() {
                    done.extend(lane.take());
                }
            }
        }
    }
    // The last one alone.
    for mut job in lanes.into_iter().flatten() {
        while !job.done() {
            job.node = lift_from(job.key, job.node, job.height, job.height + 1);
            job.height += 1;
            job.reached();
        }
        done.push(job);
    }
    let mut cache = LIFTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !cache.ready() {
        return;
    }
    for job in done {
        if !job.marks.is_empty() {
            keep_marks(&mut cache, job.slot, job.key, job.leaf, job.have, job.marks);
        }
    }
}

/// The highest bit (counted from the least significant end) where `a` and `b` differ, or 0 if
/// they are equal (callers compare with a height, for which "equal" and "bit 0 only" agree).
fn highest_difference(a: &B256, b: &B256) -> usize {
    for i in 0..32 {
        let x = a[i] ^ b[i];
        if x != 0 {
            return (31 - i) * 8 + 7 - x.leading_zeros() as usize;
        }
    }
    0
}

/// The subtree `node` with `leaf` written at `key` (zero deletes), and the previous leaf.
fn write(node: Option<&Arc<Node>>, key: B256, leaf: B256) -> (Option<Arc<Node>>, B256) {
    let Some(node) = node else {
        return ((!leaf.is_zero()).then(|| Node::leaf(key, leaf)), B256::ZERO);
    };
    if node.height == 0 && node.key == key {
        return (
            (!leaf.is_zero()).then(|| Node::leaf(key, leaf)),
            node.hash(),
        );
    }
    if !node.covers(&key) || node.height == 0 {
        // The key is outside this subtree: a new branch above it, unless deleting.
        if leaf.is_zero() {
            return (Some(node.clone()), B256::ZERO);
        }
        let bit = highest_difference(&node.key, &key);
        return (
            Some(Node::branch(node.clone(), Node::leaf(key, leaf), bit)),
            B256::ZERO,
        );
    }
    let Some(children) = node.children.as_deref() else {
        return (Some(node.clone()), B256::ZERO);
    };
    let bit = node.height - 1;
    let side = usize::from(key_bit(&key, bit));
    let (child, old) = write(Some(&children[side].0), key, leaf);
    if old == leaf {
        return (Some(node.clone()), old);
    }
    let other = &children[1 - side];
    let Some(child) = child else {
        // The branch loses a side: its other child takes its place.
        return (Some(other.0.clone()), old);
    };
    let mut pair = [other.clone(), other.clone()];
    pair[side] = (child, OnceLock::new());
    let key = pair[0].0.key;
    (
        Some(Arc::new(Node {
            height: node.height,
            key,
            hash: OnceLock::new(),
            children: Some(Box::new(pair)),
        })),
        old,
    )
}

impl SparseTree {
    /// The root hash (zero for the empty tree): computed on the first read after a write,
    /// hashing only the nodes the writes since the last read made.
    pub fn root(&self) -> B256 {
        *self.root.get_or_init(|| {
            lift_leaves(&[self]);
            self.top.as_ref().map_or(B256::ZERO, |n| n.lift(SMT_DEPTH))
        })
    }

    /// The leaf at `key` (zero when absent).
    pub fn get(&self, key: B256) -> B256 {
        let mut node = self.top.as_deref();
        while let Some(n) = node {
            if n.height == 0 {
                return if n.key == key { n.hash() } else { B256::ZERO };
            }
            if !n.covers(&key) {
                return B256::ZERO;
            }
            node = n
                .children
                .as_deref()
                .map(|c| &*c[usize::from(key_bit(&key, n.height - 1))].0);
        }
        B256::ZERO
    }

    /// A stand-in for the root that hashes nothing: zero for the empty tree (as the root is),
    /// else [`UNHASHED_ROOT`]. For a trusted prover applying a step to its own trees whose
    /// post-state's commitment nobody reads (SPEC.md §8: a layer-2 answer's run outside its
    /// window); only whether the tree is empty can be read from it.
    pub fn unhashed_root(&self) -> B256 {
        if self.top.is_none() {
            B256::ZERO
        } else {
            UNHASHED_ROOT
        }
    }

    /// Number of non-zero leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The keys of the non-zero leaves, in no order.
    pub fn keys(&self) -> impl Iterator<Item = &B256> {
        let mut stack: Vec<&Node> = self.top.as_deref().into_iter().collect();
        std::iter::from_fn(move || {
            while let Some(n) = stack.pop() {
                match n.children.as_deref() {
                    Some([a, b]) => {
                        stack.push(&b.0);
                        stack.push(&a.0);
                    }
                    None => return Some(&n.key),
                }
            }
            None
        })
    }

    /// Whether the tree holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `leaf` at `key` (zero deletes), returning the previous leaf.
    pub fn set(&mut self, key: B256, leaf: B256) -> B256 {
        let (top, old) = write(self.top.as_ref(), key, leaf);
        if old == leaf {
            return old;
        }
        if old.is_zero() {
            self.len += 1;
        } else if leaf.is_zero() {
            self.len -= 1;
        }
        self.root = OnceLock::new();
        self.top = top;
        old
    }

    /// The leaf at `key` with its authentication path.
    pub fn prove(&self, key: B256) -> SmtProof {
        let mut siblings = vec![B256::ZERO; SMT_DEPTH];
        // `node` is the subtree under the path's node at height `h + 1`, if any.
        let mut node = self.top.as_deref();
        for h in (0..SMT_DEPTH).rev() {
            let Some(n) = node else { break };
            if n.height == h + 1
                && let Some(children) = n.children.as_deref()
            {
                let side = usize::from(key_bit(&key, h));
                siblings[h] = Node::lifted(&children[1 - side], h);
                node = Some(&children[side].0);
            } else if key_bit(&n.key, h) != key_bit(&key, h) {
                // The path leaves the tree here: the subtree is the sibling.
                siblings[h] = n.lift(h);
                node = None;
            }
        }
        SmtProof {
            leaf: self.get(key),
            siblings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `index` with bit `h` flipped.
    fn flip(index: &B256, h: usize) -> B256 {
        let mut out = *index;
        out[31 - h / 8] ^= 1 << (h % 8);
        out
    }

    /// `index` with bit `h` cleared.
    fn clear(index: &B256, h: usize) -> B256 {
        let mut out = *index;
        out[31 - h / 8] &= !(1 << (h % 8));
        out
    }

    #[test]
    fn proofs_verify_and_updates_match_the_tree() {
        let mut tree = SparseTree::default();
        assert_eq!(tree.root(), B256::ZERO);
        let keys: Vec<B256> = (0u8..20).map(|i| keccak256([i])).collect();
        for (i, key) in keys.iter().enumerate() {
            let proof = tree.prove(*key);
            assert!(proof.verifies(tree.root(), *key));
            assert_eq!(proof.leaf, B256::ZERO);
            let leaf = B256::with_last_byte(i as u8 + 1);
            let expected = proof.root_with(*key, leaf);
            tree.set(*key, leaf);
            assert_eq!(Some(tree.root()), expected);
        }
        // A proof for one key does not verify for another.
        let p = tree.prove(keys[3]);
        assert!(!p.verifies(tree.root(), keys[4]));
        for key in &keys {
            let p = tree.prove(*key);
            let expected = p.root_with(*key, B256::ZERO);
            tree.set(*key, B256::ZERO);
            assert_eq!(Some(tree.root()), expected);
        }
        assert_eq!(tree.root(), B256::ZERO);
        assert!(tree.is_empty() && tree.top.is_none());
    }

    #[test]
    fn single_leaf_root_is_the_fold_of_its_path() {
        let mut tree = SparseTree::default();
        let key = B256::with_last_byte(1);
        let leaf = B256::repeat_byte(7);
        tree.set(key, leaf);
        let mut node = leaf;
        node = smt_node(B256::ZERO, node); // bit 0 of key is 1
        for _ in 1..SMT_DEPTH {
            node = smt_node(node, B256::ZERO);
        }
        assert_eq!(tree.root(), node);
    }

    /// The uncompressed tree every level of which is kept: the definition the compressed
    /// tree must agree with.
    #[derive(Clone)]
    struct Reference {
        levels: Vec<std::collections::HashMap<B256, B256>>,
    }

    impl Reference {
        fn new() -> Self {
            Self {
                levels: vec![std::collections::HashMap::new(); SMT_DEPTH + 1],
            }
        }

        fn node(&self, height: usize, index: &B256) -> B256 {
            self.levels[height].get(index).copied().unwrap_or_default()
        }

        fn set(&mut self, key: B256, leaf: B256) {
            let mut node = leaf;
            let mut index = key;
            for h in 0..=SMT_DEPTH {
                if node.is_zero() {
                    self.levels[h].remove(&index);
                } else {
                    self.levels[h].insert(index, node);
                }
                if h == SMT_DEPTH {
                    break;
                }
                let sibling = self.node(h, &flip(&index, h));
                node = if key_bit(&key, h) {
                    smt_node(sibling, node)
                } else {
                    smt_node(node, sibling)
                };
                index = clear(&index, h);
            }
        }

        fn prove(&self, key: B256) -> SmtProof {
            let mut index = key;
            let mut siblings = Vec::with_capacity(SMT_DEPTH);
            for h in 0..SMT_DEPTH {
                siblings.push(self.node(h, &flip(&index, h)));
                index = clear(&index, h);
            }
            SmtProof {
                leaf: self.node(0, &key),
                siblings,
            }
        }
    }

    /// Keys drawn from a few patterns, so that paths share long prefixes, differ in the top
    /// bit or in the last one, and repeat.
    fn key() -> impl Strategy<Value = B256> {
        prop_oneof![
            (0u8..8).prop_map(B256::with_last_byte),
            (0u8..4).prop_map(|b| {
                let mut k = B256::ZERO;
                k[0] = b << 6;
                k
            }),
            (0u8..16).prop_map(|b| keccak256([b])),
            any::<[u8; 32]>().prop_map(B256::from),
        ]
    }

    proptest::proptest! {
        /// Lazy hashing changes no answer: any interleaving of writes, root reads, path reads
        /// and clones (whose shared nodes one copy hashes and the other reads) gives, at every
        /// read, the root and paths of the eagerly hashed reference tree.
        #[test]
        fn lazily_hashed_tree_matches_the_eager_one(
            ops in proptest::collection::vec(
                (0u8..8, key(), prop_oneof![
                    Just(B256::ZERO),
                    (1u8..4).prop_map(B256::with_last_byte),
                ]),
                1..80,
            ),
        ) {
            let mut tree = SparseTree::default();
            let mut reference = Reference::new();
            let mut copies: Vec<(SparseTree, Reference)> = Vec::new();
            for (kind, k, leaf) in &ops {
                match kind {
                    // Reads: the root, a path, a clone's root after the original moved on.
                    0 => prop_assert_eq!(tree.root(), reference.node(SMT_DEPTH, &B256::ZERO)),
                    1 => prop_assert_eq!(tree.prove(*k), reference.prove(*k)),
                    2 => copies.push((tree.clone(), reference.clone())),
                    3 => {
                        if let Some((c, r)) = copies.first() {
                            prop_assert_eq!(c.root(), r.node(SMT_DEPTH, &B256::ZERO));
                            prop_assert_eq!(c.prove(*k), r.prove(*k));
                        }
                    }
                    _ => {
                        prop_assert_eq!(tree.set(*k, *leaf), reference.node(0, k));
                        reference.set(*k, *leaf);
                    }
                }
            }
            prop_assert_eq!(tree.root(), reference.node(SMT_DEPTH, &B256::ZERO));
            for (c, r) in &copies {
                prop_assert_eq!(c.root(), r.node(SMT_DEPTH, &B256::ZERO));
                prop_assert_eq!(c.len(), r.levels[0].len());
            }
        }

        /// The lifted-leaf cache changes no hash: with the cache off, of one or a few slots
        /// (so that leaves evict each other's lifts, and a lift may start from another lift's
        /// marks) or of the usual size, every lift is the one computed level by level, and
        /// trees written and read in any order have the reference tree's roots and paths.
        #[test]
        fn lifted_leaf_cache_changes_no_hash(
            slots in prop_oneof![Just(0usize), Just(1), Just(2), Just(4), Just(DEFAULT_LIFT_CACHE_SLOTS)],
            lifts in proptest::collection::vec(
                (key(), (1u8..4).prop_map(B256::with_last_byte), 0usize..=SMT_DEPTH),
                1..40,
            ),
            ops in proptest::collection::vec(
                (key(), prop_oneof![
                    Just(B256::ZERO),
                    (1u8..4).prop_map(B256::with_last_byte),
                ]),
                1..30,
            ),
        ) {
            set_lift_cache_capacity(slots);
            // Each lift twice, the second from what the first (or a later leaf) left.
            for (k, leaf, to) in lifts.iter().chain(&lifts) {
                prop_assert_eq!(lift_leaf(*k, *leaf, *to), lift_from(*k, *leaf, 0, *to));
            }
            for _ in 0..2 {
                let mut tree = SparseTree::default();
                let mut reference = Reference::new();
                for (k, leaf) in &ops {
                    tree.set(*k, *leaf);
                    reference.set(*k, *leaf);
                    prop_assert_eq!(tree.root(), reference.node(SMT_DEPTH, &B256::ZERO));
                    prop_assert_eq!(tree.prove(*k), reference.prove(*k));
                }
            }
            set_lift_cache_capacity(DEFAULT_LIFT_CACHE_SLOTS);
        }

        /// Lifting the leaves of several trees at once (trees sharing nodes, a leaf under
        /// several of them at different heights, with the cache off, tiny or warm) fills each
        /// slot with the lift the lazy hashing makes: every root is the reference tree's.
        #[test]
        fn lifting_many_trees_at_once_changes_no_root(
            slots in prop_oneof![Just(0usize), Just(1), Just(DEFAULT_LIFT_CACHE_SLOTS)],
            batches in proptest::collection::vec(
                proptest::collection::vec(
                    (key(), prop_oneof![
                        Just(B256::ZERO),
                        (1u8..4).prop_map(B256::with_last_byte),
                    ]),
                    0..12,
                ),
                1..6,
            ),
            warm in any::<bool>(),
        ) {
            set_lift_cache_capacity(slots);
            let mut tree = SparseTree::default();
            let mut reference = Reference::new();
            let mut trees = Vec::new();
            for batch in &batches {
                for (k, leaf) in batch {
                    tree.set(*k, *leaf);
                    reference.set(*k, *leaf);
                }
                trees.push((tree.clone(), reference.node(SMT_DEPTH, &B256::ZERO)));
            }
            if warm && let Some((t, _)) = trees.first() {
                t.root();
            }
            let all: Vec<&SparseTree> = trees.iter().map(|(t, _)| t).collect();
            lift_leaves(&all);
            for (t, root) in &trees {
                prop_assert_eq!(t.root(), *root);
            }
            set_lift_cache_capacity(DEFAULT_LIFT_CACHE_SLOTS);
        }

        /// Any sequence of writes and deletions leaves the compressed tree with the reference
        /// tree's root, leaves, paths and keys; a clone taken midway keeps its own contents.
        #[test]
        fn compressed_tree_matches_the_full_one(
            ops in proptest::collection::vec(
                (key(), prop_oneof![
                    Just(B256::ZERO),
                    (1u8..4).prop_map(B256::with_last_byte),
                ]),
                1..60,
            ),
            probes in proptest::collection::vec(key(), 4),
        ) {
            let mut tree = SparseTree::default();
            let mut reference = Reference::new();
            let mut snapshot = None;
            for (i, (k, leaf)) in ops.iter().enumerate() {
                let old = reference.node(0, k);
                prop_assert_eq!(tree.set(*k, *leaf), old);
                reference.set(*k, *leaf);
                prop_assert_eq!(tree.root(), reference.node(SMT_DEPTH, &B256::ZERO));
                if i == ops.len() / 2 {
                    snapshot = Some((tree.clone(), reference.clone()));
                }
            }
            let (frozen, frozen_reference) = snapshot.expect("taken");
            for (t, r) in [(&tree, &reference), (&frozen, &frozen_reference)] {
                prop_assert_eq!(t.root(), r.node(SMT_DEPTH, &B256::ZERO));
                prop_assert_eq!(t.len(), r.levels[0].len());
                let mut keys: Vec<B256> = t.keys().copied().collect();
                let mut expected: Vec<B256> = r.levels[0].keys().copied().collect();
                keys.sort();
                expected.sort();
                prop_assert_eq!(keys, expected);
                for k in ops.iter().map(|(k, _)| k).chain(&probes) {
                    prop_assert_eq!(t.get(*k), r.node(0, k));
                    let proof = t.prove(*k);
                    prop_assert_eq!(&proof, &r.prove(*k));
                    prop_assert!(proof.verifies(t.root(), *k));
                }
            }
        }
    }
}
