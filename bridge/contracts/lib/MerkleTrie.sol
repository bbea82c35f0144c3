// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {RLPReader} from "./RLPReader.sol";

/// @notice The proof does not show a value at the key under the root: a node does not hash to
///         its reference, the key leaves the proven path, the proof stops early or has nodes left
///         over, or a node is not a trie node. (The name is the one the OP Stack portal ABI uses.)
error InvalidMerkleProof();

/// @title MerkleTrie
/// @notice Inclusion proofs in Ethereum's hexary Merkle-Patricia trie (Yellow Paper, appendix D),
///         as `eth_getProof` returns them: the RLP nodes on the path from the root to the key, root
///         first.
/// @dev A node is referenced from its parent by keccak256 of its encoding, or, when that encoding
///      is shorter than 32 bytes, embedded in the parent ("inline"). An inline node is already
///      authenticated by its parent's hash, so the walk reads it from the parent; proofs that also
///      carry it as an element of their own (as viem's `buildProveWithdrawal` appends it, and as
///      alloy-trie retains it) are accepted too, that element being skipped when it equals the
///      embedded node. Every element must be used: a proof with nodes left over is refused.
library MerkleTrie {
    using RLPReader for RLPReader.Item;

    uint256 private constant BRANCH_ITEMS = 17;
    uint256 private constant SHORT_ITEMS = 2;

    /// @notice The value stored at `key` (the payload of the leaf's value string, itself RLP for
    ///         state and storage tries). Reverts with `InvalidMerkleProof` unless `proof` shows a
    ///         non-empty value there under `root`.
    function get(bytes memory key, bytes[] memory proof, bytes32 root) internal pure returns (bytes memory value) {
        bytes memory path = _nibbles(key);
        uint256 depth; // nibbles of `path` consumed
        uint256 next; // next element of `proof`
        bytes32 wantHash = root; // the reference to follow when the node is hashed
        RLPReader.Item memory node; // the node to read when it is inline
        bool inline_;
        while (true) {
            if (!inline_) {
                if (next == proof.length) revert InvalidMerkleProof();
                bytes memory encoded = proof[next++];
                if (keccak256(encoded) != wantHash) revert InvalidMerkleProof();
                node = RLPReader.toItem(encoded);
            } else if (next < proof.length && keccak256(proof[next]) == node.hash()) {
                next++;
            }
            RLPReader.Item[] memory items = node.readList();
            RLPReader.Item memory child;
            if (items.length == BRANCH_ITEMS) {
                if (depth == path.length) {
                    value = items[16].readBytes();
                    break;
                }
                child = items[uint8(path[depth])];
                depth++;
            } else if (items.length == SHORT_ITEMS) {
                bool leaf;
                (leaf, depth) = _matchSegment(items[0].readBytes(), path, depth);
                if (leaf) {
                    if (depth != path.length) revert InvalidMerkleProof();
                    value = items[1].readBytes();
                    break;
                }
                child = items[1];
            } else {
                revert InvalidMerkleProof();
            }
            if (child.isList()) {
                // Only nodes shorter than a hash are embedded.
                if (child.length >= 32) revert InvalidMerkleProof();
                node = child;
                inline_ = true;
            } else {
                // An empty reference means the key is absent; anything but a hash is malformed.
                bytes memory ref = child.readBytes();
                if (ref.length != 32) revert InvalidMerkleProof();
                wantHash = bytes32(ref);
                inline_ = false;
            }
        }
        if (next != proof.length || value.length == 0) revert InvalidMerkleProof();
    }

    /// @notice `get` in a secure trie, where the path is keccak256 of the key (the state trie and
    ///         every storage trie).
    function getSecure(bytes memory key, bytes[] memory proof, bytes32 root) internal pure returns (bytes memory) {
        return get(abi.encodePacked(keccak256(key)), proof, root);
    }

    /// @notice Whether `proof` shows exactly `value` at `key` of the secure trie under `root`.
    ///         Reverts (rather than returning false) when the proof shows no value at all.
    function verifySecureInclusion(bytes memory key, bytes memory value, bytes[] memory proof, bytes32 root)
        internal
        pure
        returns (bool)
    {
        return keccak256(getSecure(key, proof, root)) == keccak256(value);
    }

    /// @dev Matches the hex-prefix encoded segment of a leaf or extension node against `path` from
    ///      `depth`; returns whether the node is a leaf and the depth after the segment.
    function _matchSegment(bytes memory compact, bytes memory path, uint256 depth)
        private
        pure
        returns (bool leaf, uint256)
    {
        if (compact.length == 0) revert InvalidMerkleProof();
        uint8 first = uint8(compact[0]);
        uint8 flag = first >> 4;
        if (flag > 3) revert InvalidMerkleProof();
        leaf = flag >= 2;
        bool odd = flag & 1 == 1;
        // An even segment pads its first byte with a zero nibble.
        if (!odd && first & 0x0f != 0) revert InvalidMerkleProof();
        uint256 segment = (compact.length - 1) * 2 + (odd ? 1 : 0);
        // An extension that skips nothing is not a trie node.
        if (!leaf && segment == 0) revert InvalidMerkleProof();
        if (depth + segment > path.length) revert InvalidMerkleProof();
        for (uint256 i = 0; i < segment; i++) {
            // Nibble i of the segment: the low half of byte 0 when odd, then the bytes after it.
            uint256 at = odd ? i + 1 : i + 2;
            uint8 b = uint8(compact[at / 2]);
            uint8 nibble = at % 2 == 0 ? b >> 4 : b & 0x0f;
            if (nibble != uint8(path[depth + i])) revert InvalidMerkleProof();
        }
        return (leaf, depth + segment);
    }

    /// @dev One byte per nibble of `key`, high nibble first.
    function _nibbles(bytes memory key) private pure returns (bytes memory out) {
        out = new bytes(key.length * 2);
        for (uint256 i = 0; i < key.length; i++) {
            uint8 b = uint8(key[i]);
            out[2 * i] = bytes1(b >> 4);
            out[2 * i + 1] = bytes1(b & 0x0f);
        }
    }
}
