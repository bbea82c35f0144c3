//! The in-memory nodes and the operations on them: lookup, insert, remove, hashing and proofs.
//!
//! Every function takes the depth (or path) of the node it is given, so paths for loading and for
//! the update log are known without storing them in the nodes.

use super::stored::load;
use super::{NodeSource, TrieError, TrieUpdates};
use alloy::primitives::{B256, Bytes};
use alloy::rlp::{EMPTY_STRING_CODE, Encodable, Header};
use alloy_trie::Nibbles;
use alloy_trie::nodes::{ExtensionNodeRef, LeafNodeRef, RlpNode};
use std::mem;

#[cfg(test)]
mod branch_rlp;
mod descend;
mod levels;
#[cfg(test)]
mod log_order;

/// Length of every key, in nibbles (keys are 32-byte hashes).
pub(super) const KEY_NIBBLES: usize = 64;

/// Nodes whose RLP is shorter than this are embedded in their parent instead of hashed.
pub(super) const INLINE_LIMIT: usize = 32;

/// A node of the trie, or a reference to one still in storage.
#[derive(Default)]
pub(super) enum Node {
    /// No node: an empty trie, or an absent branch child.
    #[default]
    Empty,
    /// A node not loaded yet, by the hash its parent commits to. Nodes embedded in their parent
    /// are decoded with it, so they are never in this state.
    Hash(B256),
    /// A leaf: the rest of a key and its value.
    Leaf(Box<Leaf>),
    /// An extension: nibbles shared by every key below, and the branch they lead to.
    Extension(Box<Extension>),
    /// A branch: one child per next nibble.
    Branch(Box<Branch>),
}

/// Leaf node. `rlp` caches the node's reference in its parent; `None` means changed since hashed.
pub(super) struct Leaf {
    pub(super) key: Nibbles,
    pub(super) value: Bytes,
    pub(super) rlp: Option<RlpNode>,
}

/// Extension node; `rlp` as in [`Leaf`].
pub(super) struct Extension {
    pub(super) key: Nibbles,
    pub(super) child: Node,
    pub(super) rlp: Option<RlpNode>,
}

/// Branch node (never with a value: all keys have the same length); `rlp` as in [`Leaf`].
///
/// The branch also keeps the hash of each child referenced by hash (`hashes`, valid where
/// `fresh` has the child's bit), so re-encoding it after one child changed reads only that
/// child: the other fifteen children's nodes, scattered over the heap, are not touched. Whoever
/// changes a child clears its bit (see [`Branch::child_changed`]); a child embedded in its
/// parent (RLP under 32 bytes) never gets a bit and is re-read at every encoding.
pub(super) struct Branch {
    pub(super) children: [Node; 16],
    pub(super) rlp: Option<RlpNode>,
    /// Hashes of children, valid where `fresh` has the child's bit.
    hashes: [B256; 16],
    /// Bit `n`: `hashes[n]` is the hash child `n` has now.
    fresh: u16,
}

impl Node {
    fn leaf(key: Nibbles, value: Bytes) -> Self {
        Self::Leaf(Box::new(Leaf {
            key,
            value,
            rlp: None,
        }))
    }

    /// `child` under an extension with `key`, or `child` itself if `key` is empty.
    fn under_extension(key: Nibbles, child: Self) -> Self {
        if key.is_empty() {
            child
        } else {
            Self::Extension(Box::new(Extension {
                key,
                child,
                rlp: None,
            }))
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl Leaf {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.clear();
        self.encode_to(buf);
    }

    /// Appends the node's RLP to `out`.
    fn encode_to(&self, out: &mut Vec<u8>) {
        LeafNodeRef::new(&self.key, &self.value).encode(out);
    }
}

impl Extension {
    /// Encodes into `buf`, hashing the child first if it changed. `path` is this node's path.
    fn encode(&mut self, path: Nibbles, buf: &mut Vec<u8>, log: &mut UpdateLog) {
        let child = self.child_reference(path, buf, log);
        buf.clear();
        ExtensionNodeRef::new(&self.key, &child).encode(buf);
    }

    /// Appends the node's RLP to `out`, hashing the child first if it changed (with `buf` as
    /// scratch). `path` is this node's path.
    fn encode_to(
        &mut self,
        path: Nibbles,
        buf: &mut Vec<u8>,
        log: &mut UpdateLog,
        out: &mut Vec<u8>,
    ) {
        let child = self.child_reference(path, buf, log);
        ExtensionNodeRef::new(&self.key, &child).encode(out);
    }

    fn child_reference(
        &mut self,
        mut path: Nibbles,
        buf: &mut Vec<u8>,
        log: &mut UpdateLog,
    ) -> RlpNode {
        path.extend(&self.key);
        hash(&mut self.child, &mut path, buf, log)
    }
}

impl Branch {
    fn new() -> Self {
        Self {
            children: Default::default(),
            rlp: None,
            hashes: Default::default(),
            fresh: 0,
        }
    }

    /// A branch decoded from storage with `children` and its reference `rlp`; `hashes` holds
    /// the children referenced by hash (the bits of `fresh`).
    pub(super) fn decoded(
        children: [Node; 16],
        rlp: RlpNode,
        hashes: [B256; 16],
        fresh: u16,
    ) -> Self {
        Self {
            children,
            rlp: Some(rlp),
            hashes,
            fresh,
        }
    }

    /// Records that child `nibble` changed (or may have): its hash must be read from it again,
    /// and this branch re-encoded.
    fn child_changed(&mut self, nibble: usize) {
        self.fresh &= !(1 << nibble);
        self.rlp = None;
    }

    /// Records that any child may have changed.
    fn children_changed(&mut self) {
        self.fresh = 0;
        self.rlp = None;
    }

    /// Encodes into `buf`, hashing changed children first. `path` is this node's path.
    fn encode(&mut self, path: Nibbles, buf: &mut Vec<u8>, log: &mut UpdateLog) {
        let payload_length = self.hash_children(path, buf, log);
        buf.clear();
        self.put(payload_length, buf);
    }

    /// Appends the node's RLP to `out`, hashing changed children first (with `buf` as
    /// scratch). `path` is this node's path.
    fn encode_to(
        &mut self,
        path: Nibbles,
        buf: &mut Vec<u8>,
        log: &mut UpdateLog,
        out: &mut Vec<u8>,
    ) {
        let payload_length = self.hash_children(path, buf, log);
        self.put(payload_length, out);
    }

    /// Hashes the changed children, so that afterwards every present child is either
    /// referenced by a hash in `hashes` (its `fresh` bit set) or embedded with its RLP
    /// cached in it; returns the length of the branch's RLP payload.
    fn hash_children(
        &mut self,
        mut path: Nibbles,
        buf: &mut Vec<u8>,
        log: &mut UpdateLog,
    ) -> usize {
        // The empty value.
        let mut length = 1;
        for nibble in 0u8..16 {
            let i = usize::from(nibble);
            let bit = 1u16 << nibble;
            if self.fresh & bit != 0 {
                length += 33;
                continue;
            }
            let child = &mut self.children[i];
            if child.is_empty() {
                length += 1;
                continue;
            }
            path.push_unchecked(nibble);
            let reference = hash(child, &mut path, buf, log);
            path.pop();
            if let Some(child_hash) = reference.as_hash() {
                self.hashes[i] = child_hash;
                self.fresh |= bit;
            }
            length += reference.len();
        }
        length
    }

    /// Appends the branch's RLP, whose payload is `payload_length` bytes, to `out`: the list
    /// header, each child's reference in nibble order (`0x80` for an absent one) and the
    /// empty value, as `alloy_trie`'s `BranchNodeRef` writes them. The children must be
    /// hashed ([`Self::hash_children`]).
    ///
    /// Written straight from `hashes`: gathering the references into sixteen `RlpNode`s for
    /// `BranchNodeRef`, whose encoder then copied them out again through a `dyn BufMut` one
    /// slice at a time, was 12 % of the trie benchmark's instructions (callgrind, 1M keys,
    /// batches of 4,000).
    fn put(&self, payload_length: usize, out: &mut Vec<u8>) {
        out.reserve(payload_length + 3);
        Header {
            list: true,
            payload_length,
        }
        .encode(out);
        for (i, child) in self.children.iter().enumerate() {
            if self.fresh & (1 << i) != 0 {
                out.push(EMPTY_STRING_CODE + 32);
                out.extend_from_slice(self.hashes[i].as_slice());
            } else {
                match child {
                    Node::Empty => out.push(EMPTY_STRING_CODE),
                    Node::Leaf(leaf) => out.extend_from_slice(embedded(&leaf.rlp)),
                    Node::Extension(ext) => out.extend_from_slice(embedded(&ext.rlp)),
                    Node::Branch(branch) => out.extend_from_slice(embedded(&branch.rlp)),
                    // `hash_children` gave every child in storage its bit.
                    Node::Hash(hash) => {
                        out.push(EMPTY_STRING_CODE + 32);
                        out.extend_from_slice(hash.as_slice());
                    }
                }
            }
        }
        out.push(EMPTY_STRING_CODE);
    }

    /// The index of the only child other than the one under `skip`, if there is exactly one.
    fn only_other_child(&self, skip: usize) -> Option<usize> {
        let mut others = (0..16).filter(|&i| i != skip && !self.children[i].is_empty());
        match (others.next(), others.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }
}

/// The cached reference of a child that [`Branch::hash_children`] left without a `fresh` bit:
/// an embedded node's RLP.
fn embedded(rlp: &Option<RlpNode>) -> &[u8] {
    rlp.as_deref()
        .expect("a hashed child's reference is cached")
}

/// Bytes of encoded nodes per arena chunk of an [`UpdateLog`]: a block's few thousand nodes
/// take a handful of allocations instead of one each.
const LOG_CHUNK: usize = 1 << 18;

/// Free bytes a chunk must have before a node is encoded into it: more than any branch's RLP
/// (at most 532 bytes) or account leaf's. A longer node (a long leaf value) makes the chunk
/// grow, which moves it but leaves every span valid.
const NODE_ROOM: usize = 1 << 10;

/// Where a logged node's RLP is: chunk index, start and end within the chunk.
type Span = (u32, u32, u32);

/// Changes to persist, in the order they happened; the last entry for a path wins.
///
/// Encoded nodes are copied into large arena chunks, not allocated one by one; [`Self::take`]
/// hands them out as slices of the chunks (reference-counted, no copy).
pub(super) struct UpdateLog {
    enabled: bool,
    /// `Some(span)`: the node at the path was (re)written, its RLP in `chunks`; `None`: no node
    /// there any more.
    entries: Vec<(Nibbles, Option<Span>)>,
    /// The arena; only the last chunk is still filled.
    chunks: Vec<Vec<u8>>,
}

impl UpdateLog {
    pub(super) fn new() -> Self {
        Self {
            enabled: true,
            entries: Vec::new(),
            chunks: Vec::new(),
        }
    }

    pub(super) fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// An empty log, recording if `self` does (for a second thread's share of the work).
    fn sibling(&self) -> Self {
        Self {
            enabled: self.enabled,
            ..Self::new()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Records that the node at `path` was encoded as `rlp`, and returns its reference.
    fn encoded(&mut self, path: &Nibbles, rlp: &[u8]) -> RlpNode {
        self.record(path, rlp);
        RlpNode::from_rlp(rlp)
    }

    /// Records that the node at `path` was encoded as `rlp`.
    fn record(&mut self, path: &Nibbles, rlp: &[u8]) {
        if self.enabled {
            let full = self
                .chunks
                .last()
                .is_none_or(|chunk| chunk.capacity() - chunk.len() < rlp.len());
            if full {
                self.chunks
                    .push(Vec::with_capacity(LOG_CHUNK.max(rlp.len())));
            }
            let index = self.chunks.len() - 1;
            let chunk = &mut self.chunks[index];
            let start = chunk.len();
            chunk.extend_from_slice(rlp);
            // A chunk never exceeds u32: nodes are at most a few hundred bytes.
            let span = (index as u32, start as u32, chunk.len() as u32);
            self.entries.push((*path, Some(span)));
        }
    }

    /// Takes the chunk the next node is to be encoded into, with at least [`NODE_ROOM`] bytes
    /// free, and its index; [`Self::put_chunk`] gives it back. Encoding straight into the log
    /// spares copying each node from a scratch buffer (the level pass hashes it from here too).
    /// Anything logged meanwhile goes into a later chunk, so the index stays right.
    fn take_open_chunk(&mut self) -> (usize, Vec<u8>) {
        let full = self
            .chunks
            .last()
            .is_none_or(|chunk| chunk.capacity() - chunk.len() < NODE_ROOM);
        if full {
            self.chunks.push(Vec::with_capacity(LOG_CHUNK));
        }
        let index = self.chunks.len() - 1;
        (index, mem::take(&mut self.chunks[index]))
    }

    /// Gives back the chunk [`Self::take_open_chunk`] took.
    fn put_chunk(&mut self, index: usize, chunk: Vec<u8>) {
        self.chunks[index] = chunk;
    }

    /// The bytes at `span` of the chunks.
    fn span(&self, (chunk, start, end): Span) -> &[u8] {
        &self.chunks[chunk as usize][start as usize..end as usize]
    }

    /// Records that the node at `path` was encoded as the bytes at `span` of the chunks.
    fn record_span(&mut self, path: &Nibbles, span: Span) {
        if self.enabled {
            self.entries.push((*path, Some(span)));
        }
    }

    /// Forgets what was encoded into the chunks of a log that records nothing (keeping one
    /// chunk's allocation), so they do not grow without bound.
    fn clear_if_disabled(&mut self) {
        if !self.enabled {
            self.chunks.truncate(1);
            if let Some(chunk) = self.chunks.first_mut() {
                chunk.clear();
            }
        }
    }

    /// Records that no node is at `path` any more (unless a later entry puts one there).
    fn removed(&mut self, path: Nibbles) {
        if self.enabled {
            self.entries.push((path, None));
        }
    }

    /// Appends `later`'s entries after this log's (as if logged here, after everything else).
    fn append(&mut self, later: Self) {
        let offset = self.chunks.len() as u32;
        self.entries.extend(
            later
                .entries
                .into_iter()
                .map(|(path, span)| (path, span.map(|(c, s, e)| (c + offset, s, e)))),
        );
        self.chunks.extend(later.chunks);
    }

    /// The entries' indices, sorted by path and, for a path logged more than once, by index
    /// (the order they were logged in).
    ///
    /// Where every path is short (15 nibbles at most, as in any trie of fewer than about 16^14
    /// keys) each entry's path becomes one integer ([`short_key`]) and those are radix sorted
    /// ([`radix_order`]): the stable sort of the entries themselves, comparing 40-byte paths
    /// and copying 56-byte entries through a scratch buffer, was 4.6 % of the block thread's
    /// instructions in a block of 2,000 ETH transfers (callgrind, 100k accounts), and the
    /// comparison sort of the integers that followed it 3.3 % of the trie benchmark's (1M
    /// keys, batches of 4,000).
    fn sorted_order(&self) -> Vec<u32> {
        let keys: Option<Vec<(u64, u32)>> = (self.entries.iter().zip(0u32..))
            .map(|((path, _), i)| short_key(path).map(|key| (key, i)))
            .collect();
        match keys {
            Some(keys) => radix_order(keys),
            None => {
                let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
                // Stable: a path's entries keep their order.
                order.sort_by_key(|&i| self.entries[i as usize].0);
                order
            }
        }
    }

    pub(super) fn take(&mut self) -> TrieUpdates {
        let chunks: Vec<Bytes> = mem::take(&mut self.chunks)
            .into_iter()
            .map(Bytes::from)
            .collect();
        // Sorted by path, then by when logged, so the last of a path's entries is the latest.
        let order = self.sorted_order();
        let mut updates = TrieUpdates {
            written: Vec::with_capacity(order.len()),
            removed: Vec::new(),
        };
        let mut order = order.into_iter().peekable();
        while let Some(i) = order.next() {
            let (path, span) = self.entries[i as usize];
            if order
                .peek()
                .is_some_and(|&next| self.entries[next as usize].0 == path)
            {
                continue;
            }
            match span {
                Some((chunk, start, end)) => updates.written.push((
                    path,
                    chunks[chunk as usize].slice(start as usize..end as usize),
                )),
                None => updates.removed.push(path),
            }
        }
        // The capacity stays for the next block's entries.
        self.entries.clear();
        updates
    }
}

/// A path of at most 15 nibbles as one integer that orders as the path does: its nibbles
/// from the top (the first in the top four bits), zeros after them, and its length in the low
/// four bits (a path sorts before the longer ones it is a prefix of, as [`Nibbles`] do).
fn short_key(path: &Nibbles) -> Option<u64> {
    if path.len() > 15 {
        return None;
    }
    // Packed two nibbles a byte, the first on top, zero past the last: the top of the key.
    let mut packed = [0u8; 8];
    path.pack_to(&mut packed);
    Some(u64::from_be_bytes(packed) | path.len() as u64)
}

/// The indices (`keys[i].1`, given in increasing order) of `keys`, ordered by key and, for
/// equal keys, by index: a least significant digit radix sort a byte at a time, stable, that
/// skips every byte no key has a bit in (a trie of 1M keys has paths of about seven
/// nibbles, so five of the eight bytes are sorted on).
fn radix_order(mut keys: Vec<(u64, u32)>) -> Vec<u32> {
    let used = keys.iter().fold(0u64, |used, &(key, _)| used | key);
    let mut next = vec![(0u64, 0u32); keys.len()];
    for shift in (0..64).step_by(8) {
        if (used >> shift) & 0xff == 0 {
            continue;
        }
        let digit = |key: u64| ((key >> shift) & 0xff) as usize;
        let mut start = [0usize; 256];
        for &(key, _) in &keys {
            start[digit(key)] += 1;
        }
        let mut at = 0;
        for slot in &mut start {
            let count = *slot;
            *slot = at;
            at += count;
        }
        for &entry in &keys {
            let slot = &mut start[digit(entry.0)];
            next[*slot] = entry;
            *slot += 1;
        }
        std::mem::swap(&mut keys, &mut next);
    }
    keys.into_iter().map(|(_, i)| i).collect()
}

/// Loads `node` from `src` if it is still in storage; `path` is its path.
fn resolve(node: &mut Node, path: &Nibbles, src: &impl NodeSource) -> Result<(), TrieError> {
    if let Node::Hash(hash) = *node {
        *node = load(src, path, hash)?;
    }
    Ok(())
}

pub(super) fn get(
    mut node: &mut Node,
    key: &Nibbles,
    src: &impl NodeSource,
) -> Result<Option<Bytes>, TrieError> {
    let mut depth = 0;
    loop {
        node = match node {
            Node::Empty => return Ok(None),
            Node::Hash(hash) => {
                let hash = *hash;
                *node = load(src, &key.slice(..depth), hash)?;
                node
            }
            Node::Leaf(leaf) => {
                return Ok((leaf.key == key.slice(depth..)).then(|| leaf.value.clone()));
            }
            Node::Extension(ext) => {
                if !key.slice(depth..).starts_with(&ext.key) {
                    return Ok(None);
                }
                depth += ext.key.len();
                &mut ext.child
            }
            Node::Branch(branch) => {
                let nibble = key.get_unchecked(depth);
                depth += 1;
                &mut branch.children[usize::from(nibble)]
            }
        };
    }
}

/// Sets `key` to `value` below `node`, which is at `depth`. Returns whether anything changed;
/// only then are caches cleared on the way back up.
pub(super) fn insert(
    node: &mut Node,
    key: &Nibbles,
    depth: usize,
    value: Bytes,
    src: &impl NodeSource,
) -> Result<bool, TrieError> {
    match node {
        Node::Empty => {
            *node = Node::leaf(key.slice(depth..), value);
        }
        Node::Hash(_) => {
            resolve(node, &key.slice(..depth), src)?;
            return insert(node, key, depth, value, src);
        }
        Node::Leaf(leaf) => {
            let rest = key.slice(depth..);
            if leaf.key == rest {
                if leaf.value == value {
                    return Ok(false);
                }
                leaf.value = value;
                leaf.rlp = None;
                return Ok(true);
            }
            // Both keys run to the 64th nibble, so they differ somewhere: a branch goes there and
            // the old leaf moves below it with a shorter key.
            let common = leaf.key.common_prefix_length(&rest);
            let old_nibble = leaf.key.get_unchecked(common);
            leaf.key = leaf.key.slice(common + 1..);
            leaf.rlp = None;
            let old = mem::take(node);
            *node = split(&rest, common, old_nibble, old, value);
        }
        Node::Extension(ext) => {
            let rest = key.slice(depth..);
            let common = ext.key.common_prefix_length(&rest);
            if common == ext.key.len() {
                let changed = insert(&mut ext.child, key, depth + common, value, src)?;
                if changed {
                    ext.rlp = None;
                }
                return Ok(changed);
            }
            // The key leaves the extension part way: a branch goes there. The extension's child
            // keeps its path; what is left of the extension's key after the branch (if anything)
            // becomes a shorter extension in front of it.
            let ext_nibble = ext.key.get_unchecked(common);
            let tail = ext.key.slice(common + 1..);
            let old = if tail.is_empty() {
                mem::take(&mut ext.child)
            } else {
                ext.key = tail;
                ext.rlp = None;
                mem::take(node)
            };
            *node = split(&rest, common, ext_nibble, old, value);
        }
        Node::Branch(branch) => {
            let nibble = usize::from(key.get_unchecked(depth));
            let changed = insert(&mut branch.children[nibble], key, depth + 1, value, src)?;
            if changed {
                branch.child_changed(nibble);
            }
            return Ok(changed);
        }
    }
    Ok(true)
}

/// The node replacing a leaf or extension whose key leaves `rest` (the new key's remaining
/// nibbles) after `common` nibbles: a branch holding `old` under `old_nibble` and a new leaf for
/// `value`, behind an extension for the common nibbles if there are any.
fn split(rest: &Nibbles, common: usize, old_nibble: u8, old: Node, value: Bytes) -> Node {
    let mut branch = Branch::new();
    branch.children[usize::from(old_nibble)] = old;
    branch.children[usize::from(rest.get_unchecked(common))] =
        Node::leaf(rest.slice(common + 1..), value);
    Node::under_extension(rest.slice(..common), Node::Branch(Box::new(branch)))
}

/// Removes `key` below `node`, which is at `depth`, and restores the trie's canonical shape:
/// a branch left with one child merges with it, an extension absorbs an extension or leaf below
/// it. Returns whether the key was there.
pub(super) fn remove(
    node: &mut Node,
    key: &Nibbles,
    depth: usize,
    src: &impl NodeSource,
    log: &mut UpdateLog,
) -> Result<bool, TrieError> {
    match node {
        Node::Empty => Ok(false),
        Node::Hash(_) => {
            resolve(node, &key.slice(..depth), src)?;
            remove(node, key, depth, src, log)
        }
        Node::Leaf(leaf) => {
            if leaf.key != key.slice(depth..) {
                return Ok(false);
            }
            *node = Node::Empty;
            log.removed(key.slice(..depth));
            Ok(true)
        }
        Node::Extension(ext) => {
            if !key.slice(depth..).starts_with(&ext.key) {
                return Ok(false);
            }
            let child_depth = depth + ext.key.len();
            if !remove(&mut ext.child, key, child_depth, src, log)? {
                return Ok(false);
            }
            ext.rlp = None;
            // The child was a branch; if it collapsed into a leaf or an extension, absorb it.
            match mem::take(&mut ext.child) {
                Node::Leaf(mut leaf) => {
                    leaf.key = ext.key.join(&leaf.key);
                    leaf.rlp = None;
                    *node = Node::Leaf(leaf);
                    log.removed(key.slice(..child_depth));
                }
                Node::Extension(mut inner) => {
                    inner.key = ext.key.join(&inner.key);
                    inner.rlp = None;
                    *node = Node::Extension(inner);
                    log.removed(key.slice(..child_depth));
                }
                // Only a malformed trie has a leaf right below an extension.
                Node::Empty => {
                    *node = Node::Empty;
                    log.removed(key.slice(..depth));
                }
                child => ext.child = child,
            }
            Ok(true)
        }
        Node::Branch(branch) => {
            let nibble = usize::from(key.get_unchecked(depth));
            // Load what a collapse will need before changing anything, so that a storage error
            // leaves the trie as it was.
            let mut path = key.slice(..=depth);
            if let Some(sibling) = branch.only_other_child(nibble) {
                let target = &mut branch.children[nibble];
                resolve(target, &path, src)?;
                if matches!(target, Node::Leaf(leaf) if leaf.key == key.slice(depth + 1..)) {
                    path.pop();
                    path.push_unchecked(sibling as u8);
                    resolve(&mut branch.children[sibling], &path, src)?;
                }
            }
            if !remove(&mut branch.children[nibble], key, depth + 1, src, log)? {
                return Ok(false);
            }
            branch.child_changed(nibble);
            let mut present = (0..16).filter(|&i| !branch.children[i].is_empty());
            match (present.next(), present.next()) {
                (Some(_), Some(_)) => {}
                (Some(only), None) => *node = collapse(branch, only, key, depth, log),
                // Only a malformed trie has a branch with a single child.
                (None, _) => {
                    *node = Node::Empty;
                    log.removed(key.slice(..depth));
                }
            }
            Ok(true)
        }
    }
}

/// The node replacing a branch at `depth` (on `key`'s path) whose only child is under `nibble`.
/// The child must be loaded already.
fn collapse(
    branch: &mut Branch,
    nibble: usize,
    key: &Nibbles,
    depth: usize,
    log: &mut UpdateLog,
) -> Node {
    let prefix = Nibbles::from_nibbles_unchecked([nibble as u8]);
    let mut child_path = key.slice(..depth);
    child_path.push_unchecked(nibble as u8);
    match mem::take(&mut branch.children[nibble]) {
        // A leaf or extension moves up to the branch's path, its key one nibble longer.
        Node::Leaf(mut leaf) => {
            leaf.key = prefix.join(&leaf.key);
            leaf.rlp = None;
            log.removed(child_path);
            Node::Leaf(leaf)
        }
        Node::Extension(mut ext) => {
            ext.key = prefix.join(&ext.key);
            ext.rlp = None;
            log.removed(child_path);
            Node::Extension(ext)
        }
        // A branch stays where it is, behind a one-nibble extension.
        child => Node::under_extension(prefix, child),
    }
}

/// The reference to `node` in its parent, encoding and hashing it (and its changed descendants)
/// if it changed since last hashed, and logging every node encoded. `path` is the node's path;
/// it is restored before returning.
pub(super) fn hash(
    node: &mut Node,
    path: &mut Nibbles,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) -> RlpNode {
    match node {
        Node::Empty => RlpNode::from_rlp(&[EMPTY_STRING_CODE]),
        Node::Hash(hash) => RlpNode::word_rlp(hash),
        Node::Leaf(leaf) => {
            if let Some(rlp) = &leaf.rlp {
                return rlp.clone();
            }
            leaf.encode(buf);
            leaf.rlp.insert(log.encoded(path, buf)).clone()
        }
        Node::Extension(ext) => {
            if let Some(rlp) = &ext.rlp {
                return rlp.clone();
            }
            ext.encode(*path, buf, log);
            ext.rlp.insert(log.encoded(path, buf)).clone()
        }
        Node::Branch(branch) => {
            if let Some(rlp) = &branch.rlp {
                return rlp.clone();
            }
            branch.encode(*path, buf, log);
            branch.rlp.insert(log.encoded(path, buf)).clone()
        }
    }
}

/// Applies `ops` (sorted by key; `Some` sets, `None` removes) below `root` and hashes the changed
/// nodes below it. When the root is a branch and there are at least `min_parallel` operations,
/// the children under nibbles 8..16 are updated and hashed on a second thread while this one
/// takes 0..8: keys are hashes, so each half gets about half of the work, and the halves'
/// paths are disjoint. The second thread logs into its own [`UpdateLog`], appended after this
/// thread's entries. A root left with fewer than two children is restored to canonical shape.
/// On error the trie may be partly updated.
pub(super) fn apply_ops<S: NodeSource + Sync>(
    root: &mut Node,
    ops: &mut [(alloy::primitives::B256, Option<Bytes>)],
    src: &S,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
    min_parallel: usize,
) -> Result<(), TrieError> {
    resolve(root, &Nibbles::new(), src)?;
    let Node::Branch(branch) = root else {
        for (key, value) in ops {
            apply_one(root, key, value.take(), 0, src, log)?;
        }
        return Ok(());
    };
    let split = ops.partition_point(|(key, _)| key[0] >> 4 < 8);
    let parallel = ops.len() >= min_parallel;
    let (low_ops, high_ops) = ops.split_at_mut(split);
    let (low, high) = branch.children.split_at_mut(8);
    let high_log = log.sibling();
    let changed = if parallel && !low_ops.is_empty() && !high_ops.is_empty() {
        let (low_result, high_result, high_log) = std::thread::scope(|scope| {
            let high = scope.spawn(move || {
                let mut log = high_log;
                let result = apply_to_children(high, 8, high_ops, src, &mut Vec::new(), &mut log);
                (result, log)
            });
            let low_result = apply_to_children(low, 0, low_ops, src, buf, log);
            let (high_result, high_log) = high
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (low_result, high_result, high_log)
        });
        log.append(high_log);
        low_result? | high_result?
    } else {
        apply_to_children(low, 0, low_ops, src, buf, log)?
            | apply_to_children(high, 8, high_ops, src, buf, log)?
    };
    if !changed {
        return Ok(());
    }
    branch.children_changed();
    let mut present = (0..16).filter(|&i| !branch.children[i].is_empty());
    match (present.next(), present.next()) {
        (Some(_), Some(_)) => {}
        (Some(only), None) => {
            resolve(
                &mut branch.children[only],
                &Nibbles::from_nibbles_unchecked([only as u8]),
                src,
            )?;
            *root = collapse(branch, only, &Nibbles::new(), 0, log);
        }
        (None, _) => {
            *root = Node::Empty;
            log.removed(Nibbles::new());
        }
    }
    Ok(())
}

/// Applies `ops` (all under nibbles `first..first + children.len()` of the root) to the root's
/// `children` a level at a time ([`descend::apply`]), then hashes the nodes it changed.
/// Returns whether anything changed.
fn apply_to_children(
    children: &mut [Node],
    first: u8,
    ops: &mut [(alloy::primitives::B256, Option<Bytes>)],
    src: &impl NodeSource,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) -> Result<bool, TrieError> {
    let mut pending = Vec::new();
    let changed = descend::apply(children, first, ops, src, log, &mut pending)?;
    levels::hash_pending(pending, buf, log);
    Ok(changed)
}

/// Sets or removes one key below `node`, which is at `depth` on its path. Returns whether
/// anything changed.
fn apply_one(
    node: &mut Node,
    key: &alloy::primitives::B256,
    value: Option<Bytes>,
    depth: usize,
    src: &impl NodeSource,
    log: &mut UpdateLog,
) -> Result<bool, TrieError> {
    let nibbles = Nibbles::unpack_array(&key.0);
    match value {
        Some(value) => insert(node, &nibbles, depth, value, src),
        None => remove(node, &nibbles, depth, src, log),
    }
}

/// Changed children of a root branch from which [`hash_split`] hashes on two threads: below
/// this, a thread costs more than the hashing it takes over.
const SPLIT_MIN_CHANGED: usize = 8;

/// [`hash`] for the root of a trie: when the root is a changed branch with many changed
/// children, children 8..16 are hashed on a second thread while this one hashes 0..8. Keys are
/// hashes, so the halves carry about the same work. The second thread logs into its own
/// [`UpdateLog`], appended after this thread's entries; paths of the halves are disjoint and
/// every entry logged earlier (removals) stays first, so each path's entries keep their order.
/// Either way the changed nodes are hashed level by level ([`levels::hash_levels`]).
pub(super) fn hash_split(
    node: &mut Node,
    path: &mut Nibbles,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) -> RlpNode {
    if let Node::Branch(branch) = node
        && branch.rlp.is_none()
        && branch.children.iter().filter(|c| is_changed(c)).count() >= SPLIT_MIN_CHANGED
    {
        let high_log = log.sibling();
        let (low, high) = branch.children.split_at_mut(8);
        let base = *path;
        let high_log = std::thread::scope(|scope| {
            let high = scope.spawn(move || {
                let mut log = high_log;
                hash_children(high, 8, base, &mut Vec::new(), &mut log);
                log
            });
            hash_children(low, 0, base, buf, log);
            high.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        log.append(high_log);
    }
    levels::hash_levels([(&mut *node, *path)], buf, log);
    // Every node is hashed now: this returns the root's cached reference.
    hash(node, path, buf, log)
}

/// Hashes `children`, the first of which sits under nibble `first` of the node at `path`: their
/// changed nodes level by level, many at once ([`levels::hash_levels`]).
fn hash_children(
    children: &mut [Node],
    first: u8,
    path: Nibbles,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) {
    let roots = (first..).zip(children.iter_mut()).map(|(nibble, child)| {
        let mut child_path = path;
        child_path.push_unchecked(nibble);
        (child, child_path)
    });
    levels::hash_levels(roots, buf, log);
}

/// Whether hashing `node` has work to do.
fn is_changed(node: &Node) -> bool {
    match node {
        Node::Empty | Node::Hash(_) => false,
        Node::Leaf(leaf) => leaf.rlp.is_none(),
        Node::Extension(ext) => ext.rlp.is_none(),
        Node::Branch(branch) => branch.rlp.is_none(),
    }
}

/// The proof for `key` (see [`super::SparseTrie::proof`]). Expects the trie hashed.
pub(super) fn proof(
    mut node: &mut Node,
    key: &Nibbles,
    src: &impl NodeSource,
    buf: &mut Vec<u8>,
    log: &mut UpdateLog,
) -> Result<Vec<Bytes>, TrieError> {
    let mut proof = Vec::new();
    let mut path = Nibbles::new();
    loop {
        node = match node {
            Node::Empty => return Ok(proof),
            Node::Hash(hash) => {
                let hash = *hash;
                *node = load(src, &path, hash)?;
                node
            }
            Node::Leaf(leaf) => {
                leaf.encode(buf);
                push_proof_node(&mut proof, &path, buf);
                return Ok(proof);
            }
            Node::Extension(ext) => {
                ext.encode(path, buf, log);
                push_proof_node(&mut proof, &path, buf);
                if !key.slice(path.len()..).starts_with(&ext.key) {
                    return Ok(proof);
                }
                path.extend(&ext.key);
                &mut ext.child
            }
            Node::Branch(branch) => {
                branch.encode(path, buf, log);
                push_proof_node(&mut proof, &path, buf);
                let nibble = key.get_unchecked(path.len());
                path.push_unchecked(nibble);
                &mut branch.children[usize::from(nibble)]
            }
        };
    }
}

/// Adds the node at `path` to a proof unless it is embedded in its parent.
fn push_proof_node(proof: &mut Vec<Bytes>, path: &Nibbles, rlp: &[u8]) {
    if path.is_empty() || rlp.len() >= INLINE_LIMIT {
        proof.push(Bytes::copy_from_slice(rlp));
    }
}
