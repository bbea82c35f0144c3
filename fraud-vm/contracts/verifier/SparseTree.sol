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
        return _roots(siblings, bitmap, key, leaf, newLeaf, true);
    }

    /// @notice `rootsWith`, the root of `leaf` only computed when `both` (one copy of the code
    /// for both uses keeps the step contracts within EIP-170).
    function _roots(uint256 siblings, uint256 bitmap, bytes32 key, bytes32 leaf, bytes32 newLeaf, bool both)
        private
        pure
        returns (bytes32 node, bytes32 newNode)
    {
        // The height of the lowest sibling (256 without one): the number of bits below it.
        uint256 low = bitmap == 0 ? 256 : popcount((bitmap & (~bitmap + 1)) - 1);
        assembly ("memory-safe") {
            // Below the lowest sibling every sibling is zero: each node climbs on its own.
            node := climb(leaf, key, low)
            newNode := climb(newLeaf, key, low)
            let at := siblings
            for { let h := low } lt(h, 256) { h := add(h, 1) } {
                let s := 0
                if and(shr(h, bitmap), 1) {
                    s := calldataload(at)
                    at := add(at, 32)
                }
                let right := shl(5, and(shr(h, key), 1))
                let left := xor(right, 0x20)
                if both {
                    if or(node, s) {
                        mstore(right, node)
                        mstore(left, s)
                        node := keccak256(0x00, 0x40)
                    }
                }
                if or(newNode, s) {
                    mstore(right, newNode)
                    mstore(left, s)
                    newNode := keccak256(0x00, 0x40)
                }
            }

            // `n` from height 0 to `end` with zero siblings. A zero node stays zero (two zero
            // children); a non-zero one is hashed at every height with the zero word on the
            // side the key does not take: `0 ‖ n ‖ 0` lies above the free memory pointer, and
            // the hash starts one word before `n` when `n` is the right child. (A non-zero node
            // is taken to hash to non-zero, as a keccak256 preimage of zero cannot be found.)
            function climb(n, k, end) -> out {
                out := n
                if out {
                    let p := mload(0x40)
                    mstore(p, 0)
                    mstore(add(p, 0x40), 0)
                    let q := add(p, 0x20)
                    // An odd count climbs one height first, then two heights a turn.
                    let h := and(end, 1)
                    if h {
                        mstore(q, out)
                        out := keccak256(sub(q, shl(5, and(k, 1))), 0x40)
                    }
                    for {} lt(h, end) { h := add(h, 2) } {
                        mstore(q, out)
                        out := keccak256(sub(q, shl(5, and(shr(h, k), 1))), 0x40)
                        mstore(q, out)
                        out := keccak256(sub(q, shl(5, and(shr(add(h, 1), k), 1))), 0x40)
                    }
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
        (, node) = _roots(siblings, bitmap, key, 0, leaf, false);
    }
}
