//! The transactions and receipts roots of a block: the Merkle-Patricia root of a list keyed by
//! each item's RLP-encoded index (Ethereum's "ordered trie").
//!
//! Nearly all of the work is keccak: a receipt's leaf is about 275 bytes (its bloom alone is
//! 256), three permutations, a transfer's leaf one, and the branches above them a few more per
//! sixteen leaves (callgrind: 23.8M instructions per 2,000-item root through alloy-trie's
//! `HashBuilder` or a plain recursion alike, nine tenths of it keccak). The leaves do not
//! depend on each other, so they are encoded first and hashed together in the lanes of
//! `fraud_vm::keccak_lanes` (eight per permutation with AVX-512), then the branches are built
//! over their references by one recursion over the sorted keys, with buffers kept between
//! blocks.

use alloy::primitives::{B256, keccak256};
use alloy_rlp::{Encodable, Header};
use alloy_trie::{EMPTY_ROOT_HASH, root::adjust_index_for_rlp};

/// A key: the nibbles of `rlp(index)` (at most nine bytes), and the item it keys.
#[derive(Clone, Copy)]
struct Key {
    nibbles: [u8; 18],
    len: u8,
    item: u32,
}

impl Key {
    fn new(index: usize) -> Self {
        // rlp(index): 0x80 for zero, the byte itself below 0x80, else 0x80 + length and the
        // big-endian bytes.
        let mut bytes = [0u8; 9];
        let len = match index {
            0 => {
                bytes[0] = alloy_rlp::EMPTY_STRING_CODE;
                1
            }
            1..0x80 => {
                bytes[0] = index as u8;
                1
            }
            _ => {
                let be = (index as u64).to_be_bytes();
                let skip = (index as u64).leading_zeros() as usize / 8;
                bytes[0] = alloy_rlp::EMPTY_STRING_CODE + (8 - skip) as u8;
                bytes[1..1 + 8 - skip].copy_from_slice(&be[skip..]);
                1 + 8 - skip
            }
        };
        let mut nibbles = [0u8; 18];
        for (i, b) in bytes[..len].iter().enumerate() {
            nibbles[2 * i] = b >> 4;
            nibbles[2 * i + 1] = b & 0x0f;
        }
        Self {
            nibbles,
            len: (2 * len) as u8,
            item: index as u32,
        }
    }

    fn path(&self, from: usize) -> &[u8] {
        &self.nibbles[from..self.len as usize]
    }
}

/// Room left in front of a node's payload for its RLP list header (payloads stay far below
/// 2^24 bytes: a branch is at most 16 hashes and a value).
const HEADER_ROOM: usize = 4;

/// Builds ordered-trie roots, keeping its buffers between calls.
#[derive(Debug, Default)]
pub struct OrderedRoot {
    keys: Vec<Key>,
    /// One encoding buffer per recursion level (a node is encoded while its children are).
    buffers: Vec<Vec<u8>>,
    /// The leaves' encodings, in the order the recursion meets them.
    leaves: Vec<u8>,
    /// Where each leaf's encoding lies in `leaves`, and the index of its hash in `hashes`
    /// (`u32::MAX`: shorter than 32 bytes, so referenced inline).
    leaf_refs: Vec<(u32, u32, u32)>,
    hashes: Vec<B256>,
    /// The next leaf the recursion will reach.
    next_leaf: usize,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.item)
    }
}

impl OrderedRoot {
    /// The root of a list of `len` items keyed by `rlp(i)`; `value(i)` gives item `i`'s bytes
    /// (the leaf's value, e.g. its EIP-2718 encoding). Equal to alloy-trie's
    /// `ordered_trie_root_with_encoder` (tested below).
    pub fn root<'v>(&mut self, len: usize, value: impl Fn(usize) -> &'v [u8]) -> B256 {
        if len == 0 {
            return EMPTY_ROOT_HASH;
        }
        // Sorted by key, as alloy-trie walks them.
        self.keys.clear();
        self.keys
            .extend((0..len).map(|i| Key::new(adjust_index_for_rlp(i, len))));
        let keys = std::mem::take(&mut self.keys);
        self.hash_leaves(&keys, &value);
        let mut root = Vec::with_capacity(40);
        self.node(&keys, 0, 0, &value, &mut root);
        self.keys = keys;
        // The root is hashed whatever its length; `node` left a short one inline.
        match root.len() {
            33 => B256::from_slice(&root[1..]),
            _ => keccak256(&root),
        }
    }

    /// Encodes every leaf of the trie over `keys`, in the order [`Self::node`] reaches them,
    /// and hashes those of 32 bytes or more together.
    fn hash_leaves<'v>(&mut self, keys: &[Key], value: &impl Fn(usize) -> &'v [u8]) {
        self.leaves.clear();
        self.leaf_refs.clear();
        self.next_leaf = 0;
        self.encode_leaves(keys, 0, value);
        let mut long = 0u32;
        for leaf in &mut self.leaf_refs {
            if leaf.1 - leaf.0 >= 32 {
                leaf.2 = long;
                long += 1;
            }
        }
        let messages: Vec<&[u8]> = self
            .leaf_refs
            .iter()
            .filter(|leaf| leaf.2 != u32::MAX)
            .map(|&(start, end, _)| &self.leaves[start as usize..end as usize])
            .collect();
        self.hashes.clear();
        self.hashes.resize(messages.len(), B256::ZERO);
        fraud_vm::keccak_lanes::keccak256_each(&messages, &mut self.hashes);
    }

    /// The walk of [`Self::node`] without the branches: a key alone is a leaf at `depth`;
    /// more keys make a branch below their shared nibbles, whose children are walked in order.
    fn encode_leaves<'v>(
        &mut self,
        keys: &[Key],
        depth: usize,
        value: &impl Fn(usize) -> &'v [u8],
    ) {
        if keys.len() == 1 {
            let start = self.leaves.len();
            self.leaves.extend_from_slice(&[0; HEADER_ROOM]);
            hex_prefix(keys[0].path(depth), true, &mut self.leaves);
            value(keys[0].item as usize).encode(&mut self.leaves);
            let header = Header {
                list: true,
                payload_length: self.leaves.len() - start - HEADER_ROOM,
            };
            let begin = start + HEADER_ROOM - header.length();
            header.encode(&mut &mut self.leaves[begin..start + HEADER_ROOM]);
            let end = self.leaves.len();
            self.leaf_refs.push((begin as u32, end as u32, u32::MAX));
            return;
        }
        let depth = depth + shared_nibbles(keys, depth);
        let mut rest = match keys[0].len as usize == depth {
            true => &keys[1..],
            false => keys,
        };
        while let Some(first) = rest.first() {
            let nibble = first.nibbles[depth];
            let count = rest
                .iter()
                .take_while(|k| k.nibbles[depth] == nibble)
                .count();
            let (child, after) = rest.split_at(count);
            self.encode_leaves(child, depth + 1, value);
            rest = after;
        }
    }

    /// Appends to `out` the reference to the node holding `keys` (sorted, all sharing their
    /// first `depth` nibbles): its encoding if shorter than 32 bytes, else its hash as an RLP
    /// string. `level` picks the scratch buffer.
    fn node<'v>(
        &mut self,
        keys: &[Key],
        depth: usize,
        level: usize,
        value: &impl Fn(usize) -> &'v [u8],
        out: &mut Vec<u8>,
    ) {
        let first = &keys[0];
        if keys.len() == 1 {
            // A leaf, encoded and hashed by `hash_leaves`.
            let (start, end, hash) = self.leaf_refs[self.next_leaf];
            self.next_leaf += 1;
            match hash {
                u32::MAX => out.extend_from_slice(&self.leaves[start as usize..end as usize]),
                i => {
                    out.push(alloy_rlp::EMPTY_STRING_CODE + 32);
                    out.extend_from_slice(self.hashes[i as usize].as_slice());
                }
            }
            return;
        }
        let shared = shared_nibbles(keys, depth);
        if shared == 0 {
            return self.branch(keys, depth, level, value, out);
        }
        // Extension: [hex-prefix(shared nibbles), reference to the branch below].
        let mut buf = self.buffer(level);
        hex_prefix(&first.path(depth)[..shared], false, &mut buf);
        self.branch(keys, depth + shared, level + 1, value, &mut buf);
        reference(&mut buf, out);
        self.buffers[level] = buf;
    }

    /// Appends the reference to the branch node holding `keys` at `depth`: sixteen child
    /// references, then the value of the key that ends at `depth` (the empty string if none).
    fn branch<'v>(
        &mut self,
        keys: &[Key],
        depth: usize,
        level: usize,
        value: &impl Fn(usize) -> &'v [u8],
        out: &mut Vec<u8>,
    ) {
        let mut buf = self.buffer(level);
        let (own, mut rest) = match keys[0].len as usize == depth {
            true => (Some(keys[0].item as usize), &keys[1..]),
            false => (None, keys),
        };
        for nibble in 0..16u8 {
            let count = rest
                .iter()
                .take_while(|k| k.nibbles[depth] == nibble)
                .count();
            if count == 0 {
                buf.push(alloy_rlp::EMPTY_STRING_CODE);
                continue;
            }
            let (child, after) = rest.split_at(count);
            self.node(child, depth + 1, level + 1, value, &mut buf);
            rest = after;
        }
        match own {
            Some(item) => value(item).encode(&mut buf),
            None => buf.push(alloy_rlp::EMPTY_STRING_CODE),
        }
        reference(&mut buf, out);
        self.buffers[level] = buf;
    }

    /// The scratch buffer of `level`, emptied but for the room of a list header.
    fn buffer(&mut self, level: usize) -> Vec<u8> {
        if self.buffers.len() <= level {
            self.buffers.resize_with(level + 1, Vec::new);
        }
        let mut buf = std::mem::take(&mut self.buffers[level]);
        buf.clear();
        buf.extend_from_slice(&[0; HEADER_ROOM]);
        buf
    }
}

/// How many nibbles after the first `depth` all of `keys` (sorted) share.
fn shared_nibbles(keys: &[Key], depth: usize) -> usize {
    match keys {
        [first, .., last] => first
            .path(depth)
            .iter()
            .zip(last.path(depth))
            .take_while(|(a, b)| a == b)
            .count(),
        _ => 0,
    }
}

/// Hex-prefix encoding of `nibbles` (Yellow Paper appendix C), as an RLP string.
fn hex_prefix(nibbles: &[u8], leaf: bool, out: &mut Vec<u8>) {
    let odd = nibbles.len() % 2 == 1;
    let flag = (u8::from(leaf) << 1 | u8::from(odd)) << 4;
    let mut bytes = [0u8; 10];
    let (len, rest) = match odd {
        true => {
            bytes[0] = flag | nibbles[0];
            (1 + nibbles.len() / 2, &nibbles[1..])
        }
        false => {
            bytes[0] = flag;
            (1 + nibbles.len() / 2, nibbles)
        }
    };
    for (i, pair) in rest.chunks_exact(2).enumerate() {
        bytes[1 + i] = pair[0] << 4 | pair[1];
    }
    bytes[..len].encode(out);
}

/// Turns `buf` (the room of [`HEADER_ROOM`], then a list's payload) into the list's
/// encoding and appends its reference to `out`: the node itself if shorter than 32 bytes,
/// else its hash as an RLP string.
fn reference(buf: &mut [u8], out: &mut Vec<u8>) {
    let header = Header {
        list: true,
        payload_length: buf.len() - HEADER_ROOM,
    };
    let start = HEADER_ROOM - header.length();
    header.encode(&mut &mut buf[start..HEADER_ROOM]);
    let encoded = &buf[start..];
    if encoded.len() < 32 {
        out.extend_from_slice(encoded);
    } else {
        out.push(alloy_rlp::EMPTY_STRING_CODE + 32);
        out.extend_from_slice(keccak256(encoded).as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::root::ordered_trie_root_with_encoder;

    fn values(n: usize, long: bool) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let len = match long {
                    true => 40 + (i * 7919) % 300,
                    false => i % 5,
                };
                (0..len).map(|j| (i * 31 + j * 17) as u8).collect()
            })
            .collect()
    }

    #[test]
    fn equals_alloy_trie() {
        let mut builder = OrderedRoot::default();
        let sizes = (0..=300).chain([1000, 2001, 4097, 65_535, 65_536, 65_537, 70_000]);
        for n in sizes {
            for long in [true, false] {
                let items = values(n, long);
                let want =
                    ordered_trie_root_with_encoder(&items, |v, buf| buf.extend_from_slice(v));
                let got = builder.root(items.len(), |i| &items[i]);
                assert_eq!(got, want, "{n} items, long values: {long}");
            }
        }
    }
}
