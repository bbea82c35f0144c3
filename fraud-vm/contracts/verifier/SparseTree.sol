// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Sparse Merkle tree (fraud-vm/SPEC.md §3.8)
/// @notice Depth 256 over 32-byte keys; an inner node is zero if both children are zero, else
/// `keccak256(left ‖ right)`; bit `h` of the key (from the least significant) puts the node on
/// the right at height `h`. A path is encoded as `leaf ‖ bitmap ‖ the non-zero siblings`.
library SparseTree {
    /// @notice The number of set bits of `x`.
    function popcount(uint256 x) internal pure returns (uint256 n) {
        if (x == type(uint256).max) return 256;
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555);
            x = (x & 0x3333333333333333333333333333333333333333333333333333333333333333)
                + ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            // The byte sums fit in a byte: at most 255 bits are set here.
            n = (x * 0x0101010101010101010101010101010101010101010101010101010101010101) >> 248;
        }
    }

    /// @notice The roots obtained by placing `leaf`, and `newLeaf`, at `key` with the same
    /// siblings, in one pass over them: a write checks the old leaf and gets the new root.
    function rootsWith(uint256 siblings, uint256 bitmap, bytes32 key, bytes32 leaf, bytes32 newLeaf)
        internal
        pure
        returns (bytes32 node, bytes32 newNode)
    {
        assembly ("memory-safe") {
            node := leaf
            newNode := newLeaf
            let at := siblings
            for { let h := 0 } lt(h, 256) { h := add(h, 1) } {
                let s := 0
                if and(shr(h, bitmap), 1) {
                    s := calldataload(at)
                    at := add(at, 32)
                }
                let right := shl(5, and(shr(h, key), 1))
                let left := xor(right, 0x20)
                if or(node, s) {
                    mstore(right, node)
                    mstore(left, s)
                    node := keccak256(0x00, 0x40)
                }
                if or(newNode, s) {
                    mstore(right, newNode)
                    mstore(left, s)
                    newNode := keccak256(0x00, 0x40)
                }
            }
        }
    }

    /// @notice The root obtained by placing `leaf` at `key` with the siblings marked in `bitmap`
    /// that start at calldata offset `siblings` (the others are zero).
    function rootWith(uint256 siblings, uint256 bitmap, bytes32 key, bytes32 leaf)
        internal
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            node := leaf
            let at := siblings
            for { let h := 0 } lt(h, 256) { h := add(h, 1) } {
                let s := 0
                if and(shr(h, bitmap), 1) {
                    s := calldataload(at)
                    at := add(at, 32)
                }
                // Two zero children make a zero node: nothing to hash.
                if or(node, s) {
                    let right := shl(5, and(shr(h, key), 1))
                    mstore(right, node)
                    mstore(xor(right, 0x20), s)
                    node := keccak256(0x00, 0x40)
                }
            }
        }
    }
}
