// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "./StepErrors.sol";

/// @title Reads from the block's base state trie (fraud-vm/SPEC.md §3.7.2; Rust: mpt.rs)
/// @notice Checks a Merkle-Patricia proof (RLP nodes from the root down a 64-nibble key, as
/// `eth_getProof` returns them) the way alloy-trie's `verify_proof` does: each node must be the
/// one its parent references by hash, branches follow the key's nibble, extensions and leaves
/// extend the walked path, a proof may not stop at a node on the key's path, and the value
/// found at the whole key (or its absence) must equal the expected one. Embedded nodes (shorter
/// than 32 bytes) other than a branch's leaf child cannot occur under 64-nibble keys; they are
/// answered `UnsupportedStep`, never with a result.
library BaseTrie {
    /// Root of the empty trie.
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// What the walk last decoded: nothing (the key is absent), a reference to the next node,
    /// or a value.
    uint256 private constant NONE = 0;
    uint256 private constant NODE = 1;
    uint256 private constant VALUE = 2;

    /// The walk: the bytes the next node must match (or the value found), and the path so far.
    struct Walk {
        uint256 kind;
        bytes last;
        uint256 walked;
        bool diverged;
    }

    /// @notice Whether the `count` nodes at calldata offset `nodes` (each `u32 len ‖ node`) prove
    /// `expected` at `key` under `root`; `present == false` proves absence.
    function verify(bytes32 root, bytes32 key, bool present, bytes memory expected, uint256 nodes, uint256 count)
        internal
        pure
        returns (bool)
    {
        // No proof, or one that starts with the empty node, proves the empty trie.
        if (count == 0 || (_u32(nodes) == 1 && _byte(nodes + 4) == 0x80)) {
            return root == EMPTY_ROOT && !present;
        }
        Walk memory w;
        w.kind = NODE;
        w.last = abi.encodePacked(bytes1(0xa0), root);
        uint256 p = nodes;
        for (uint256 i = 0; i < count; ++i) {
            uint256 len = _u32(p);
            uint256 node = p + 4;
            p = node + len;
            // Only a node reference can be followed by a node.
            if (w.kind != NODE || keccak256(_ref(node, len)) != keccak256(w.last)) return false;
            if (!_step(w, key, node, len)) return false;
        }
        // A proof that stops at a node on the key's path proves nothing.
        if (w.kind == NODE && !w.diverged && w.walked <= 64) return false;
        if (w.diverged || w.walked != 64) w.kind = NONE;
        if (!present) return w.kind == NONE;
        return w.kind != NONE && keccak256(w.last) == keccak256(expected);
    }

    /// @notice How a parent references the node at `node`: the node itself when shorter than
    /// 32 bytes, else `0xa0 ‖ keccak256(node)`.
    function _ref(uint256 node, uint256 len) private pure returns (bytes memory r) {
        if (len < 32) return _copy(node, len);
        bytes32 h;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, node, len)
            h := keccak256(m, len)
        }
        return abi.encodePacked(bytes1(0xa0), h);
    }

    /// @notice Decodes one node and advances the walk; false if the node is malformed.
    function _step(Walk memory w, bytes32 key, uint256 node, uint256 len) private pure returns (bool) {
        (bool ok, bool isList, uint256 payload, uint256 payloadLen,) = _item(node, node + len);
        if (!ok || !isList || payload + payloadLen != node + len) return false;
        uint256[17] memory items;
        uint256 n;
        uint256 at = payload;
        uint256 end = payload + payloadLen;
        while (at < end) {
            if (n == 17) return false;
            items[n++] = at;
            uint256 next;
            (ok,,,, next) = _item(at, end);
            if (!ok) return false;
            at = next;
        }
        if (n == 17) return _branch(w, key, items, end);
        if (n == 2) return _short(w, key, items[0], items[1], end);
        return false;
    }

    /// @notice A branch: follow the key's next nibble to a child, or end the walk (absent).
    function _branch(Walk memory w, bytes32 key, uint256[17] memory items, uint256 end) private pure returns (bool) {
        if (w.walked >= 64) {
            w.kind = NONE;
            return true;
        }
        uint256 child = items[_nibble(key, w.walked)];
        (bool ok, bool isList,, uint256 payloadLen, uint256 next) = _item(child, end);
        if (!ok) return false;
        if (!isList && payloadLen == 0) {
            w.kind = NONE;
            return true;
        }
        w.walked += 1;
        if (!isList && payloadLen == 32) {
            w.kind = NODE;
            w.last = _copy(child, 33);
            return true;
        }
        if (!isList) return false;
        // A child shorter than 32 bytes is embedded: only a leaf occurs at 64-nibble keys.
        (bool okItems, uint256 k, uint256 v) = _pair(child, next);
        if (!okItems) return false;
        (bool leaf, bool okPath) = _path(w, key, k, v);
        if (!okPath) return false;
        if (!leaf) revert UnsupportedStep("embedded trie node");
        return _value(w, v, next);
    }

    /// @notice An extension or a leaf: extend the walked path by its key nibbles.
    function _short(Walk memory w, bytes32 key, uint256 k, uint256 v, uint256 end) private pure returns (bool) {
        (bool leaf, bool ok) = _path(w, key, k, end);
        if (!ok) return false;
        if (leaf) return _value(w, v, end);
        (bool okItem, bool isList,, uint256 payloadLen, uint256 next) = _item(v, end);
        if (!okItem) return false;
        // An extension's child shorter than 32 bytes is embedded: it never occurs at 64-nibble
        // keys (a branch under an extension is at least 17 bytes of references).
        if (isList || payloadLen != 32) revert UnsupportedStep("embedded trie node");
        w.kind = NODE;
        w.last = _copy(v, next - v);
        return true;
    }

    /// @notice The value of a leaf: the payload of its second item, a string.
    function _value(Walk memory w, uint256 v, uint256 end) private pure returns (bool) {
        (bool ok, bool isList, uint256 payload, uint256 payloadLen,) = _item(v, end);
        if (!ok || isList) return false;
        w.kind = VALUE;
        w.last = _copy(payload, payloadLen);
        return true;
    }

    /// @notice The two items of the list at `list`.
    function _pair(uint256 list, uint256 end) private pure returns (bool ok, uint256 k, uint256 v) {
        (bool okList, bool isList, uint256 payload, uint256 payloadLen,) = _item(list, end);
        if (!okList || !isList) return (false, 0, 0);
        uint256 listEnd = payload + payloadLen;
        k = payload;
        (bool okK,,,, uint256 next) = _item(k, listEnd);
        if (!okK) return (false, 0, 0);
        v = next;
        (bool okV,,,, uint256 after_) = _item(v, listEnd);
        return (okV && after_ == listEnd, k, v);
    }

    /// @notice Applies the hex-prefix path at item `k` to the walk; whether it is a leaf.
    function _path(Walk memory w, bytes32 key, uint256 k, uint256 end) private pure returns (bool leaf, bool ok) {
        (bool okItem, bool isList, uint256 payload, uint256 payloadLen,) = _item(k, end);
        if (!okItem || isList || payloadLen == 0) return (false, false);
        uint256 first = _byte(payload);
        uint256 flag = first >> 4;
        if (flag > 3) return (false, false);
        leaf = flag >= 2;
        // An odd path keeps its first nibble in the flag byte.
        _walk(w, key, payload, (flag & 1) == 1 ? 1 : 2, 2 * payloadLen);
        ok = true;
    }

    /// @notice Extends the walked path by nibbles `from..to` of the bytes at `at`.
    function _walk(Walk memory w, bytes32 key, uint256 at, uint256 from, uint256 to) private pure {
        uint256 walked = w.walked;
        bool diverged = w.diverged;
        // One nibble a turn without calls or checked arithmetic (about a third of the gas): an
        // even position is its byte's high half; nibble i of the key is bits 252 - 4i up.
        assembly ("memory-safe") {
            for { let pos := from } lt(pos, to) { pos := add(pos, 1) } {
                let nib := and(shr(shl(2, iszero(and(pos, 1))), byte(0, calldataload(add(at, shr(1, pos))))), 15)
                switch lt(walked, 64)
                case 0 { diverged := 1 }
                default {
                    if iszero(eq(nib, and(shr(sub(252, shl(2, walked)), key), 15))) { diverged := 1 }
                }
                walked := add(walked, 1)
            }
        }
        w.walked = walked;
        w.diverged = diverged;
    }

    /// @notice The RLP item at `p` (within `end`): its kind, payload and the offset after it.
    function _item(uint256 p, uint256 end)
        private
        pure
        returns (bool ok, bool isList, uint256 payload, uint256 payloadLen, uint256 next)
    {
        if (p >= end) return (false, false, 0, 0, 0);
        uint256 b = _byte(p);
        if (b < 0x80) {
            (isList, payload, payloadLen) = (false, p, 1);
        } else if (b < 0xb8) {
            (isList, payload, payloadLen) = (false, p + 1, b - 0x80);
        } else if (b < 0xc0) {
            uint256 ll = b - 0xb7;
            if (p + 1 + ll > end) return (false, false, 0, 0, 0);
            (isList, payload, payloadLen) = (false, p + 1 + ll, _be(p + 1, ll));
        } else if (b < 0xf8) {
            (isList, payload, payloadLen) = (true, p + 1, b - 0xc0);
        } else {
            uint256 ll = b - 0xf7;
            if (p + 1 + ll > end) return (false, false, 0, 0, 0);
            (isList, payload, payloadLen) = (true, p + 1 + ll, _be(p + 1, ll));
        }
        if (payloadLen > end - payload) return (false, false, 0, 0, 0);
        return (true, isList, payload, payloadLen, payload + payloadLen);
    }

    function _nibble(bytes32 key, uint256 i) private pure returns (uint256) {
        uint256 b = uint8(key[i / 2]);
        return i % 2 == 0 ? b >> 4 : b & 15;
    }

    function _byte(uint256 p) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, calldataload(p))
        }
    }

    function _u32(uint256 p) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(224, calldataload(p))
        }
    }

    /// @notice The big-endian number of `len` ≤ 8 bytes at `p` (larger lengths cannot fit).
    function _be(uint256 p, uint256 len) private pure returns (uint256 v) {
        if (len > 8) return type(uint64).max;
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, len)), calldataload(p))
        }
    }

    function _copy(uint256 p, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            calldatacopy(add(out, 32), p, len)
        }
    }

    /// @notice The RLP encoding of an unsigned integer.
    function encodeUint(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return hex"80";
        if (v < 0x80) return abi.encodePacked(uint8(v));
        uint256 n;
        for (uint256 x = v; x != 0; x >>= 8) ++n;
        out = abi.encodePacked(uint8(0x80 + n), bytes32(v << (256 - 8 * n)));
        assembly ("memory-safe") {
            mstore(out, add(n, 1))
        }
    }

    /// @notice The RLP encoding `[nonce, balance, storageRoot, codeHash]` of a trie account.
    function encodeAccount(uint256 nonce, uint256 balance, bytes32 storageRoot, bytes32 codeHash)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory payload =
            abi.encodePacked(encodeUint(nonce), encodeUint(balance), bytes1(0xa0), storageRoot, bytes1(0xa0), codeHash);
        if (payload.length < 56) return abi.encodePacked(uint8(0xc0 + payload.length), payload);
        return abi.encodePacked(bytes1(0xf8), uint8(payload.length), payload);
    }
}
