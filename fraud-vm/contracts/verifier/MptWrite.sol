// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";

// Why a Merkle-Patricia write witness is rejected (fraud-vm/SPEC.md §3.10). The names follow the
// Rust reference's `TrieError` (fraud-vm/src/mpt_write.rs).

/// A node does not hash to the reference that leads to it, or the path is cut short.
error TrieBadNode();
/// A node does not decode as a trie node, or is not canonical (a branch value, an empty key).
error TrieMalformed();
/// Nodes remain after the path ended.
error TrieUnusedNodes();
/// The deletion collapses a branch onto a child referenced by `hash` and the witness lacks it.
error TrieMissingSibling(bytes32 hash);
/// A sibling was given but not used, or it does not hash to the collapsed child's reference.
error TrieBadSibling();
/// The key ends inside the trie (at a branch): a prefix of another key.
error TriePrefixKey();
/// The witness bytes end inside a field.
error TrieTruncated();
/// A presence flag other than 0 or 1.
error TrieBadFlag(uint8 flag);

/// @title Merkle-Patricia trie writes with witnesses (fraud-vm/SPEC.md §3.10; Rust: mpt_write.rs)
/// @notice Verifies one insert, update or delete against a root and returns the new root: walks
/// the key's path through the witness nodes (each the one its parent references by hash, or
/// embedded in place), replaces the subtree at the end and rebuilds the path upwards in the
/// canonical form (a branch left with one child collapses onto it, through the witnessed sibling
/// when that child is referenced by hash; an extension over a leaf or an extension merges with
/// it). Nodes are decoded exactly as alloy-trie's `TrieNode::decode` does (canonical RLP headers,
/// 2 or 17 items, an empty branch value, a child reference of at most 33 bytes, one of which of
/// exactly 33 bytes is a hash), so that the same witnesses verify here and in the reference.
/// [v0.12] A leaf whose value is long may stand in a witness as a *long leaf* (its value's
/// word-tree root and length, SPEC.md §3.10), and a write may put such a value: the hash of a
/// leaf over a long value is the range oracle's fact (a WRITE of the value after the leaf's RLP
/// prefix, then a HASH of the result, SPEC.md §3.4.1).
library MptWrite {
    /// Root of the empty trie, `keccak256(rlp(""))`.
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    uint256 private constant EMPTY = 0;
    uint256 private constant LEAF = 1;
    uint256 private constant EXTENSION = 2;
    uint256 private constant BRANCH = 3;

    /// Where the walk stopped: the empty trie, a leaf, an extension the key leaves, or a branch
    /// without a child at the key's nibble.
    uint256 private constant END_EMPTY = 0;
    uint256 private constant END_LEAF = 1;
    uint256 private constant END_DIVERGED = 2;
    uint256 private constant END_GAP = 3;

    /// A decoded node. Paths are nibbles, one a byte. `value` is a leaf's value or an extension's
    /// child reference (its raw RLP item); `children` are a branch's raw child items (empty when
    /// absent); `nibble` is the child a walk entered a branch by. [v0.12] A leaf with `longLen
    /// != 0` has the long value of that length under the word tree `longRoot` (`value` empty).
    struct Node {
        uint256 kind;
        bytes path;
        bytes value;
        bytes[16] children;
        uint256 nibble;
        bytes32 longRoot;
        uint256 longLen;
    }

    /// A write's witness as it lies in calldata: the path nodes and the optional sibling.
    struct Witness {
        uint256[] at;
        uint256[] len;
        bool hasSibling;
        uint256 siblingAt;
        uint256 siblingLen;
        /// The range oracle whose facts hash long leaves (0: none).
        address oracle;
    }

    /// The walk: frames from the root down (extensions and branches), where it stopped, the node
    /// it stopped at and the key from there on (for a gap: after the branch's nibble).
    struct Walk {
        Node[] frames;
        uint256 depth;
        uint256 endKind;
        Node endNode;
        bytes rest;
    }

    /// @notice Writes `value` at `key` (`present == false` deletes it) in the trie with root
    /// `root`, with the witness `nodes ‖ u8 has_sibling ‖ [u32 len ‖ node]` (SPEC.md §6.3
    /// `trie_write`) at calldata offset `at`, within `end`. Returns the new root and the offset
    /// after the witness. Reverts with the reason the witness does not show the write.
    function write(bytes32 root, bytes memory key, bool present, bytes memory value, uint256 at, uint256 end)
        internal
        view
        returns (bytes32 newRoot, uint256 next)
    {
        Node memory v;
        v.value = value;
        return _writeWith(root, key, present, v, at, end, address(0));
    }

    /// @notice [v0.12] As `write` of a present value, with long leaves hashed by `oracle`'s
    /// facts: the value is `value`, or with `longLen != 0` the long value of that length under
    /// the word tree `longRoot`.
    function writeWith(
        bytes32 root,
        bytes memory key,
        bytes memory value,
        bytes32 longRoot,
        uint256 longLen,
        uint256 at,
        uint256 end,
        address oracle
    ) internal view returns (bytes32 newRoot, uint256 next) {
        Node memory v;
        (v.value, v.longRoot, v.longLen) = (value, longRoot, longLen);
        return _writeWith(root, key, true, v, at, end, oracle);
    }

    function _writeWith(
        bytes32 root,
        bytes memory key,
        bool present,
        Node memory value,
        uint256 at,
        uint256 end,
        address oracle
    ) private view returns (bytes32 newRoot, uint256 next) {
        Witness memory w;
        (w, next) = _readWitness(at, end);
        w.oracle = oracle;
        newRoot = _write(root, _nibbles(key), present, value, w);
    }

    /// @notice The value at `key` under `root` shown by the witness at calldata offset `at`, which
    /// must have no sibling (it also serves writing the key back): whether the key is present,
    /// its value, and the offset after the witness (Rust: `mpt_write::get` of `trie_account`).
    function read(bytes32 root, bytes memory key, uint256 at, uint256 end)
        internal
        view
        returns (bool found, bytes memory value, uint256 next)
    {
        Witness memory w;
        (w, next) = _readWitness(at, end);
        if (w.hasSibling) revert TrieBadSibling();
        Walk memory walk = _walk(root, _nibbles(key), w);
        if (_found(walk)) {
            // A long leaf's value is not at hand (and no trie read holds one).
            if (walk.endNode.longLen != 0) revert TrieMalformed();
            return (true, walk.endNode.value, next);
        }
    }

    /// @notice The fields of a state trie value `rlp([nonce, balance, storageRoot, codeHash])`,
    /// decoded as alloy's `TrieAccount` decodes it (canonical fields, the list consumed exactly,
    /// bytes after the list not read); `TrieMalformed` otherwise.
    function decodeAccount(bytes memory raw)
        internal
        pure
        returns (uint256 nonce, uint256 balance, bytes32 storageRoot, bytes32 codeHash)
    {
        (bool isList, uint256 p, uint256 len,) = _item(raw, 0, raw.length);
        if (!isList) revert TrieMalformed();
        uint256 end = p + len;
        (nonce, p) = _integer(raw, p, end, 8);
        (balance, p) = _integer(raw, p, end, 32);
        (storageRoot, p) = _hash(raw, p, end);
        (codeHash, p) = _hash(raw, p, end);
        if (p != end) revert TrieMalformed();
    }

    function _integer(bytes memory raw, uint256 p, uint256 end, uint256 maxLen)
        private
        pure
        returns (uint256 v, uint256 next)
    {
        (bool isList, uint256 payload, uint256 len, uint256 after_) = _item(raw, p, end);
        if (isList || len > maxLen || (len > 0 && uint8(raw[payload]) == 0)) revert TrieMalformed();
        for (uint256 i = 0; i < len; ++i) {
            v = (v << 8) | uint8(raw[payload + i]);
        }
        next = after_;
    }

    function _hash(bytes memory raw, uint256 p, uint256 end) private pure returns (bytes32 h, uint256 next) {
        (bool isList, uint256 payload, uint256 len, uint256 after_) = _item(raw, p, end);
        if (isList || len != 32) revert TrieMalformed();
        h = _word(raw, payload);
        next = after_;
    }

    function _write(bytes32 root, bytes memory key, bool present, Node memory value, Witness memory w)
        private
        view
        returns (bytes32)
    {
        Walk memory walk = _walk(root, key, w);
        bool siblingUsed;
        if (!present && !_found(walk)) {
            // Deleting an absent key changes nothing.
            if (w.hasSibling) revert TrieBadSibling();
            return root;
        }
        (bool some, Node memory sub) = _replaceEnd(walk, present, value, w.oracle);
        while (walk.depth > 0) {
            Node memory frame = walk.frames[--walk.depth];
            if (frame.kind == EXTENSION) {
                if (some) sub = _prefixed(frame.path, sub, w.oracle);
                continue;
            }
            (some, sub, siblingUsed) = _rebuildBranch(frame, some, sub, w, siblingUsed);
        }
        if (w.hasSibling && !siblingUsed) revert TrieBadSibling();
        if (!some) return EMPTY_ROOT;
        return _hashOf(sub, w.oracle);
    }

    /// @notice The branch `frame` with its child at `frame.nibble` replaced by `sub` (or removed),
    /// collapsed when one child is left.
    function _rebuildBranch(Node memory frame, bool some, Node memory sub, Witness memory w, bool siblingUsed)
        private
        view
        returns (bool, Node memory, bool)
    {
        Node memory out;
        out.kind = BRANCH;
        uint256 count;
        uint256 last;
        for (uint256 n = 0; n < 16; ++n) {
            if (n == frame.nibble) {
                if (some) out.children[n] = _reference(sub, w.oracle);
            } else {
                out.children[n] = frame.children[n];
            }
            if (out.children[n].length != 0) {
                ++count;
                last = n;
            }
        }
        if (count == 0) return (false, out, siblingUsed);
        if (count > 1) return (true, out, siblingUsed);
        // Collapse onto the one child left.
        bytes memory child = out.children[last];
        Node memory node;
        if (child.length == 33) {
            bytes32 hash = _word(child, 1);
            if (!w.hasSibling || siblingUsed) revert TrieMissingSibling(hash);
            siblingUsed = true;
            bytes memory sibling = _copy(w.siblingAt, w.siblingLen);
            if (keccak256(sibling) != hash) revert TrieBadSibling();
            node = _decode(sibling);
        } else {
            node = _decode(child);
        }
        bytes memory at = new bytes(1);
        at[0] = bytes1(uint8(last));
        if (node.kind == BRANCH) {
            Node memory ext;
            ext.kind = EXTENSION;
            ext.path = at;
            ext.value = child;
            return (true, ext, siblingUsed);
        }
        if (node.kind == EMPTY) revert TrieMalformed();
        return (true, _prefixed(at, node, w.oracle), siblingUsed);
    }

    /// @notice Reads the witness's framing; the nodes stay in calldata until the walk takes them.
    function _readWitness(uint256 at, uint256 end) private pure returns (Witness memory w, uint256 p) {
        p = at;
        uint256 count = _u32(p, end);
        p += 4;
        // Every node takes at least its length prefix: bounds the allocation.
        if (count > (end - p) / 4) revert TrieTruncated();
        w.at = new uint256[](count);
        w.len = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 len = _u32(p, end);
            p += 4;
            if (len > end - p) revert TrieTruncated();
            w.at[i] = p;
            w.len[i] = len;
            p += len;
        }
        if (p + 1 > end) revert TrieTruncated();
        uint8 flag = uint8(_calldataByte(p));
        p += 1;
        if (flag > 1) revert TrieBadFlag(flag);
        if (flag == 1) {
            uint256 len = _u32(p, end);
            p += 4;
            if (len > end - p) revert TrieTruncated();
            (w.hasSibling, w.siblingAt, w.siblingLen) = (true, p, len);
            p += len;
        }
    }

    /// @notice Walks `key` (nibbles) from `root` through the witness nodes, requiring each to be
    /// used.
    function _walk(bytes32 root, bytes memory key, Witness memory w) private view returns (Walk memory r) {
        // Every frame consumes at least one nibble of the key.
        r.frames = _frameSlots(key.length);
        if (root == EMPTY_ROOT) {
            if (w.at.length != 0) revert TrieUnusedNodes();
            r.endKind = END_EMPTY;
            r.rest = key;
            return r;
        }
        uint256 used;
        Node memory node = _takeNode(w, used++, root);
        uint256 pos;
        while (true) {
            bytes memory child;
            // An empty string is a node only as the root of an empty trie, which has its own
            // root hash.
            if (node.kind == EMPTY) revert TrieMalformed();
            if (node.kind == LEAF) {
                r.endKind = END_LEAF;
                r.endNode = node;
                r.rest = _slice(key, pos, key.length);
                break;
            }
            if (node.kind == EXTENSION) {
                if (node.path.length == 0) revert TrieMalformed();
                if (!_startsWith(key, pos, node.path)) {
                    r.endKind = END_DIVERGED;
                    r.endNode = node;
                    r.rest = _slice(key, pos, key.length);
                    break;
                }
                pos += node.path.length;
                child = node.value;
                r.frames[r.depth++] = node;
            } else {
                if (pos >= key.length) revert TriePrefixKey();
                uint256 nibble = uint8(key[pos]);
                pos += 1;
                node.nibble = nibble;
                r.frames[r.depth++] = node;
                child = node.children[nibble];
                if (child.length == 0) {
                    r.endKind = END_GAP;
                    r.rest = _slice(key, pos, key.length);
                    break;
                }
            }
            node = child.length == 33 ? _takeNode(w, used++, _word(child, 1)) : _decode(child);
        }
        if (used != w.at.length) revert TrieUnusedNodes();
    }

    /// @notice The `i`-th witness node, which must hash to `hash`.
    function _take(Witness memory w, uint256 i, bytes32 hash) private pure returns (bytes memory node) {
        if (i >= w.at.length) revert TrieBadNode();
        node = _copy(w.at[i], w.len[i]);
        if (keccak256(node) != hash) revert TrieBadNode();
    }

    /// @notice The `i`-th witness node, which must hash to `hash`, decoded. [v0.12] A node that
    /// starts with the byte 0 (never a node's RLP) is a long leaf `0x00 ‖ R_v ‖ u32 len(v) ‖ key`
    /// (`key` the leaf's hex-prefix path item, `len(v) >= 56`), whose hash is the oracle's.
    function _takeNode(Witness memory w, uint256 i, bytes32 hash) private view returns (Node memory node) {
        if (i >= w.at.length) revert TrieBadNode();
        uint256 p = w.at[i];
        uint256 len = w.len[i];
        if (len <= 37 || _calldataByte(p) != 0) return _decode(_take(w, i, hash));
        node.kind = LEAF;
        uint256 root;
        assembly ("memory-safe") {
            root := calldataload(add(p, 1))
        }
        (node.longRoot, node.longLen) = (bytes32(root), _u32(p + 33, p + len));
        bytes memory key = _copy(p + 37, len - 37);
        (,,, uint256 next) = _item(key, 0, key.length);
        bool leaf;
        (leaf, node.path) = _path(key, 0, key.length);
        if (!leaf || next != key.length || node.longLen < 56) revert TrieMalformed();
        if (_hashOf(node, w.oracle) != hash) revert TrieBadNode();
    }

    /// @notice An array of `n` node pointers, all zero: `new Node[](n)` would allocate and
    /// zero a whole node (with its 16 children) for each, about 43 KB for a 64-nibble key, where
    /// the walk only reads the frames it stored.
    function _frameSlots(uint256 n) private pure returns (Node[] memory frames) {
        assembly ("memory-safe") {
            frames := mload(0x40)
            mstore(frames, n)
            calldatacopy(add(frames, 32), calldatasize(), shl(5, n))
            mstore(0x40, add(add(frames, 32), shl(5, n)))
        }
    }

    function _found(Walk memory walk) private pure returns (bool) {
        return walk.endKind == END_LEAF && _eq(walk.endNode.path, walk.rest);
    }

    /// @notice The new subtree at the end of the walk (`some == false`: nothing, a deletion).
    function _replaceEnd(Walk memory walk, bool present, Node memory value, address oracle)
        private
        view
        returns (bool some, Node memory out)
    {
        // Only the key's own leaf is deleted (an absent key was handled before).
        if (!present) return (false, out);
        some = true;
        bytes memory rest = walk.rest;
        Node memory end = walk.endNode;
        if (walk.endKind == END_EMPTY || walk.endKind == END_GAP || _found(walk)) {
            return (true, _leaf(rest, value));
        }
        uint256 common = _commonPrefix(end.path, rest);
        uint256 oldAt = _nibbleAt(end.path, common);
        uint256 newAt = _nibbleAt(rest, common);
        bytes memory oldRef;
        if (walk.endKind == END_LEAF) {
            // Split: a branch under the common prefix holding both leaves.
            oldRef = _reference(_leaf(_slice(end.path, common + 1, end.path.length), end), oracle);
        } else if (end.path.length == common + 1) {
            oldRef = end.value;
        } else {
            Node memory ext;
            ext.kind = EXTENSION;
            ext.path = _slice(end.path, common + 1, end.path.length);
            ext.value = end.value;
            oldRef = _reference(ext, oracle);
        }
        Node memory branch;
        branch.kind = BRANCH;
        branch.children[oldAt] = oldRef;
        branch.children[newAt] = _reference(_leaf(_slice(rest, common + 1, rest.length), value), oracle);
        out = _prefixed(_slice(end.path, 0, common), branch, oracle);
    }

    /// @notice `prefix` in front of `node`: a leaf or an extension absorbs it, a branch gets an
    /// extension.
    function _prefixed(bytes memory prefix, Node memory node, address oracle) private view returns (Node memory out) {
        if (prefix.length == 0) return node;
        if (node.kind == LEAF || node.kind == EXTENSION) {
            out = _leaf(bytes.concat(prefix, node.path), node);
            out.kind = node.kind;
            return out;
        }
        out.kind = EXTENSION;
        out.path = prefix;
        out.value = _reference(node, oracle);
    }

    /// @notice The leaf at `path` with the value of `value` (a node's: its bytes, or its long
    /// value).
    function _leaf(bytes memory path, Node memory value) private pure returns (Node memory n) {
        n.kind = LEAF;
        n.path = path;
        (n.value, n.longRoot, n.longLen) = (value.value, value.longRoot, value.longLen);
    }

    /// @notice The nibble at `i`, or `TriePrefixKey` when the path ends there.
    function _nibbleAt(bytes memory path, uint256 i) private pure returns (uint256) {
        if (i >= path.length) revert TriePrefixKey();
        return uint8(path[i]);
    }

    // ---- Node encoding -------------------------------------------------------------------

    /// @notice How a parent references `node`: its RLP when shorter than 32 bytes, else
    /// `0xa0 ‖ keccak256(rlp)`.
    function _reference(Node memory node, address oracle) private view returns (bytes memory) {
        if (node.longLen != 0) return abi.encodePacked(bytes1(0xa0), _hashOf(node, oracle));
        bytes memory rlp = _encode(node);
        if (rlp.length < 32) return rlp;
        return abi.encodePacked(bytes1(0xa0), keccak256(rlp));
    }

    /// @notice `keccak256(rlp(node))`; [v0.12] for a long leaf, from the oracle's facts: a WRITE
    /// of its value `(R_v, 0, len(v))` after the leaf's RLP prefix `P` (list header, path item,
    /// the value's string header) into the word tree of `P` at `len(P)`, then a HASH of the
    /// `len(P) + len(v)` bytes of its result (SPEC.md §3.10).
    function _hashOf(Node memory node, address oracle) private view returns (bytes32 h) {
        if (node.longLen == 0) return keccak256(_encode(node));
        uint256 len = node.longLen;
        bytes memory key = _string(_hexPrefix(node.path, true));
        bytes memory head = _header(0x80, len);
        bytes memory prefix = bytes.concat(_header(0xc0, key.length + head.length + len), key, head);
        uint256 p;
        assembly ("memory-safe") {
            p := add(prefix, 32)
        }
        uint256 plen = prefix.length;
        (, bytes32 whole) = StepOps.factOf(
            oracle, node.longRoot, 0, len, len, StepOps.JOB_WRITE, WordTree.rootOf(p, plen), plen
        );
        (h,) = StepOps.factOf(oracle, whole, 0, StepOps.TREE_BYTES, plen + len, StepOps.JOB_HASH, 0, 0);
    }

    function _encode(Node memory node) private pure returns (bytes memory) {
        if (node.kind == BRANCH) {
            // The 16 children (an empty one as 0x80) and the empty value, copied once.
            bytes[16] memory children = node.children;
            uint256 len = 1;
            for (uint256 n = 0; n < 16; ++n) {
                uint256 l = children[n].length;
                len += l == 0 ? 1 : l;
            }
            bytes memory payload = new bytes(len);
            assembly ("memory-safe") {
                let p := add(payload, 32)
                for { let n := 0 } lt(n, 16) { n := add(n, 1) } {
                    let c := mload(add(children, shl(5, n)))
                    let l := mload(c)
                    switch l
                    case 0 {
                        mstore8(p, 0x80)
                        p := add(p, 1)
                    }
                    default {
                        mcopy(p, add(c, 32), l)
                        p := add(p, l)
                    }
                }
                mstore8(p, 0x80)
            }
            return _list(payload);
        }
        bytes memory path = _hexPrefix(node.path, node.kind == LEAF);
        if (node.kind == LEAF) return _list(bytes.concat(_string(path), _string(node.value)));
        return _list(bytes.concat(_string(path), node.value));
    }

    /// @notice The hex-prefix encoding of a path (Yellow Paper appendix C).
    function _hexPrefix(bytes memory path, bool leaf) private pure returns (bytes memory out) {
        uint256 odd = path.length % 2;
        uint256 flag = (leaf ? 2 : 0) + odd;
        out = new bytes(path.length / 2 + 1);
        out[0] = bytes1(uint8(odd == 1 ? (flag << 4) | uint8(path[0]) : flag << 4));
        // Pairs of nibbles after the first (odd) one, as `uint8` arithmetic packs them.
        assembly ("memory-safe") {
            let src := add(path, 32)
            let dst := add(out, 33)
            let len := mload(path)
            for { let i := odd } lt(i, len) { i := add(i, 2) } {
                let hi := and(shl(4, byte(0, mload(add(src, i)))), 0xff)
                mstore8(add(dst, shr(1, sub(i, odd))), or(hi, byte(0, mload(add(src, add(i, 1))))))
            }
        }
    }

    function _string(bytes memory b) private pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        return bytes.concat(_header(0x80, b.length), b);
    }

    function _list(bytes memory payload) private pure returns (bytes memory) {
        return bytes.concat(_header(0xc0, payload.length), payload);
    }

    function _header(uint256 base, uint256 len) private pure returns (bytes memory) {
        if (len < 56) return abi.encodePacked(uint8(base + len));
        uint256 n;
        for (uint256 x = len; x != 0; x >>= 8) ++n;
        bytes memory out = new bytes(n + 1);
        out[0] = bytes1(uint8(base + 55 + n));
        for (uint256 i = 0; i < n; ++i) {
            out[n - i] = bytes1(uint8(len >> (8 * i)));
        }
        return out;
    }

    // ---- Node decoding (alloy-trie's `TrieNode::decode`, alloy-rlp's canonical headers) ----

    function _decode(bytes memory raw) private pure returns (Node memory node) {
        (bool isList, uint256 payload, uint256 payloadLen, uint256 after_) = _item(raw, 0, raw.length);
        if (after_ != raw.length) revert TrieMalformed();
        if (!isList) {
            if (payloadLen != 0) revert TrieMalformed();
            return node;
        }
        uint256 end = payload + payloadLen;
        uint256[17] memory starts;
        uint256[17] memory ends;
        uint256 n;
        for (uint256 p = payload; p < end;) {
            if (n == 17) revert TrieMalformed();
            (,,, uint256 next) = _item(raw, p, end);
            (starts[n], ends[n]) = (p, next);
            ++n;
            p = next;
        }
        if (n == 17) {
            node.kind = BRANCH;
            for (uint256 i = 0; i < 16; ++i) {
                uint256 len = ends[i] - starts[i];
                if (len == 1 && uint8(raw[starts[i]]) == 0x80) continue;
                if (len > 33) revert TrieMalformed();
                node.children[i] = _slice(raw, starts[i], ends[i]);
            }
            if (ends[16] - starts[16] != 1 || uint8(raw[starts[16]]) != 0x80) revert TrieMalformed();
            return node;
        }
        if (n != 2) revert TrieMalformed();
        bool leaf;
        (leaf, node.path) = _path(raw, starts[0], ends[0]);
        if (leaf) {
            node.kind = LEAF;
            (bool valueList, uint256 v, uint256 vLen,) = _item(raw, starts[1], ends[1]);
            if (valueList) revert TrieMalformed();
            node.value = _slice(raw, v, v + vLen);
        } else {
            node.kind = EXTENSION;
            if (ends[1] - starts[1] > 33) revert TrieMalformed();
            node.value = _slice(raw, starts[1], ends[1]);
        }
    }

    /// @notice The hex-prefix path of the item at `start`: whether it is a leaf's, and its nibbles.
    function _path(bytes memory raw, uint256 start, uint256 end) private pure returns (bool leaf, bytes memory path) {
        (bool keyList, uint256 k, uint256 kLen,) = _item(raw, start, end);
        if (keyList || kLen == 0) revert TrieMalformed();
        uint256 first = uint8(raw[k]);
        uint256 flag = first >> 4;
        if (flag > 3) revert TrieMalformed();
        uint256 odd = flag & 1;
        if (kLen - 1 > 32 - odd) revert TrieMalformed();
        // An even path's flag byte carries no nibble (its low half is not read, as in alloy-trie).
        path = new bytes(odd + 2 * (kLen - 1));
        if (odd == 1) path[0] = bytes1(uint8(first & 15));
        // The key item lies within `raw` (`_item` checked it).
        assembly ("memory-safe") {
            let src := add(add(raw, 32), k)
            let dst := add(add(path, 32), odd)
            for { let i := 1 } lt(i, kLen) { i := add(i, 1) } {
                let b := byte(0, mload(add(src, i)))
                let d := add(dst, shl(1, sub(i, 1)))
                mstore8(d, shr(4, b))
                mstore8(add(d, 1), and(b, 15))
            }
        }
        leaf = flag >= 2;
    }

    /// @notice The RLP item at `p` within `end`: its kind, payload and the offset after it, with
    /// alloy-rlp's canonical-form checks (a single byte below 0x80 is its own encoding, a long
    /// length has no leading zero and is at least 56).
    function _item(bytes memory raw, uint256 p, uint256 end)
        private
        pure
        returns (bool isList, uint256 payload, uint256 payloadLen, uint256 next)
    {
        if (p >= end) revert TrieMalformed();
        uint256 b = uint8(raw[p]);
        if (b < 0x80) {
            (payload, payloadLen) = (p, 1);
        } else if (b < 0xb8) {
            (payload, payloadLen) = (p + 1, b - 0x80);
            if (payloadLen == 1) {
                if (p + 1 >= end) revert TrieMalformed();
                if (uint8(raw[p + 1]) < 0x80) revert TrieMalformed();
            }
        } else if (b < 0xc0 || b >= 0xf8) {
            isList = b >= 0xf8;
            uint256 ll = b - (isList ? 0xf7 : 0xb7);
            if (p + 1 + ll > end) revert TrieMalformed();
            if (uint8(raw[p + 1]) == 0) revert TrieMalformed();
            for (uint256 i = 0; i < ll; ++i) {
                payloadLen = (payloadLen << 8) | uint8(raw[p + 1 + i]);
            }
            if (payloadLen < 56) revert TrieMalformed();
            payload = p + 1 + ll;
        } else {
            (isList, payload, payloadLen) = (true, p + 1, b - 0xc0);
        }
        if (payload > end || payloadLen > end - payload) revert TrieMalformed();
        next = payload + payloadLen;
    }

    // ---- Bytes ----------------------------------------------------------------------------

    /// @notice `key`'s nibbles, high nibble first, one a byte.
    function _nibbles(bytes memory key) private pure returns (bytes memory out) {
        out = new bytes(2 * key.length);
        assembly ("memory-safe") {
            let src := add(key, 32)
            let dst := add(out, 32)
            for { let i := 0 } lt(i, mload(key)) { i := add(i, 1) } {
                let b := byte(0, mload(add(src, i)))
                let d := add(dst, shl(1, i))
                mstore8(d, shr(4, b))
                mstore8(add(d, 1), and(b, 15))
            }
        }
    }

    function _startsWith(bytes memory key, uint256 pos, bytes memory prefix) private pure returns (bool) {
        if (key.length - pos < prefix.length) return false;
        for (uint256 i = 0; i < prefix.length; ++i) {
            if (key[pos + i] != prefix[i]) return false;
        }
        return true;
    }

    function _commonPrefix(bytes memory a, bytes memory b) private pure returns (uint256 i) {
        while (i < a.length && i < b.length && a[i] == b[i]) ++i;
    }

    function _eq(bytes memory a, bytes memory b) private pure returns (bool) {
        return keccak256(a) == keccak256(b);
    }

    /// @notice Bytes `from..to` of `b`, copied in one MCOPY (a byte loop cost about 100 gas a
    /// byte: 50k for a branch's 16 children). `from > to` panics as the checked subtraction
    /// did, and a non-empty range past the end as the indexing did.
    function _slice(bytes memory b, uint256 from, uint256 to) private pure returns (bytes memory out) {
        out = new bytes(to - from);
        if (to > from && to > b.length) {
            assembly ("memory-safe") {
                mstore(0x00, shl(224, 0x4e487b71))
                mstore(0x04, 0x32)
                revert(0x00, 0x24)
            }
        }
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(b, 32), from), sub(to, from))
        }
    }

    function _word(bytes memory b, uint256 at) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(b, 32), at))
        }
    }

    function _copy(uint256 p, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            calldatacopy(add(out, 32), p, len)
        }
    }

    function _u32(uint256 p, uint256 end) private pure returns (uint256 v) {
        if (p + 4 > end) revert TrieTruncated();
        assembly ("memory-safe") {
            v := shr(224, calldataload(p))
        }
    }

    function _calldataByte(uint256 p) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, calldataload(p))
        }
    }
}
