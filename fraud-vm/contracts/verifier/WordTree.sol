// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SparseTree} from "./SparseTree.sol";

/// @title Word tree (fraud-vm/SPEC.md §3.4)
/// @notice The binary Merkle tree of depth 32 behind memory, calldata and return data: leaf `j`
/// is word `j` itself, an inner node is `keccak256(left ‖ right)`.
library WordTree {
    /// Depth of every word tree.
    uint256 internal constant DEPTH = 32;
    /// Bytes of an encoded word proof: the word and its 32 siblings (SPEC.md §6.3).
    uint256 internal constant PROOF_LEN = 1056;
    /// Number of leaves, 2^32.
    uint256 internal constant LEAVES = 1 << 32;

    /// @notice The root obtained by placing `word` at `index` with the 32 siblings that start at
    /// calldata offset `siblings` (leaf level first). `index` must be below 2^32.
    function rootWith(uint256 siblings, uint256 index, bytes32 word) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            node := word
            for { let h := 0 } lt(h, 32) { h := add(h, 1) } {
                // Bit h of the index puts the node right (1) or left (0) of its sibling.
                let right := shl(5, and(shr(h, index), 1))
                mstore(right, node)
                mstore(xor(right, 0x20), calldataload(add(siblings, shl(5, h))))
                node := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice The root of the word tree of the `len` bytes at memory pointer `data`, zero-padded
    /// to whole words (absent words are zero).
    function rootOf(uint256 data, uint256 len) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let n := shr(5, add(len, 31))
            // The words, zero-padded, in fresh memory (not allocated: nothing else runs meanwhile).
            let buf := mload(0x40)
            let size := shl(5, n)
            calldatacopy(buf, calldatasize(), add(size, 32))
            mcopy(buf, data, len)
            let zero := 0
            if iszero(n) {
                n := 1
                mstore(buf, 0)
            }
            for { let h := 0 } lt(h, 32) { h := add(h, 1) } {
                // Pairs of nodes at height h; a missing right sibling is the zero subtree.
                let m := shr(1, add(n, 1))
                for { let i := 0 } lt(i, m) { i := add(i, 1) } {
                    let left := mload(add(buf, shl(6, i)))
                    let right := zero
                    if lt(add(shl(1, i), 1), n) { right := mload(add(buf, add(shl(6, i), 32))) }
                    mstore(0x00, left)
                    mstore(0x20, right)
                    mstore(add(buf, shl(5, i)), keccak256(0x00, 0x40))
                }
                n := m
                mstore(0x00, zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
            root := mload(buf)
        }
    }

    /// @notice Bytes before a range multiproof's words: its start (u32) and count (u32).
    uint256 internal constant RANGE_HEAD = 8;

    /// @notice The number of siblings of a range multiproof of `count >= 1` words from word
    /// `start` (SPEC.md §3.4): per level, one left of the first node if it is a right child,
    /// one right of the last node if it is a left child.
    /// Over the 32 levels that is `popcount(start) + 32 − popcount(last)` (both below 2^32).
    function rangeSiblings(uint256 start, uint256 count) internal pure returns (uint256) {
        return SparseTree.popcount(start) + DEPTH - SparseTree.popcount(start + count - 1);
    }

    /// @notice The root of the tree that holds the `count >= 1` words at memory pointer `words`
    /// at `[start, start + count)`, with the edge siblings that start at calldata offset
    /// `siblings` (SPEC.md §3.4; their number is `rangeSiblings(start, count)`, which the codec
    /// checked). The words are left unchanged: the fold runs in scratch memory past the free
    /// memory pointer (`count + 2` words).
    function rangeRoot(uint256 siblings, uint256 start, uint256 count, uint256 words)
        internal
        pure
        returns (bytes32 root)
    {
        assembly ("memory-safe") {
            // Slot 0 takes a left sibling; the row's nodes start at slot 1.
            let buf := mload(0x40)
            mcopy(add(buf, 32), words, shl(5, count))
            let first := start
            let n := count
            for { let h := 0 } lt(h, 32) { h := add(h, 1) } {
                let last := add(first, sub(n, 1))
                let from := add(buf, 32)
                if and(first, 1) {
                    from := buf
                    mstore(buf, calldataload(siblings))
                    siblings := add(siblings, 32)
                    n := add(n, 1)
                }
                if iszero(and(last, 1)) {
                    mstore(add(from, shl(5, n)), calldataload(siblings))
                    siblings := add(siblings, 32)
                    n := add(n, 1)
                }
                // The row now starts at an even index and has an even length. Parent i goes to
                // slot i + 1, never past the pairs not yet hashed.
                n := shr(1, n)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    mstore(add(buf, shl(5, add(i, 1))), keccak256(add(from, shl(6, i)), 64))
                }
                first := shr(1, first)
            }
            root := mload(add(buf, 32))
        }
    }

    /// @notice Checks the range multiproof at calldata offset `proof` against `root` for exactly
    /// the words `[start, start + count)` (`count >= 1`), copying its words to memory pointer
    /// `buf`. Returns whether it holds, the calldata offset of its siblings, and of what follows.
    function checkRange(uint256 proof, uint256 start, uint256 count, bytes32 root, uint256 buf)
        internal
        pure
        returns (bool ok, uint256 siblings, uint256 next)
    {
        uint256 words = proof + RANGE_HEAD;
        siblings = words + 32 * count;
        uint256 pStart;
        uint256 pCount;
        assembly ("memory-safe") {
            pStart := shr(224, calldataload(proof))
            pCount := shr(224, calldataload(add(proof, 4)))
        }
        // The codec located every range by its own start and count, so `next` is where it is.
        next = words + 32 * pCount + 32 * rangeSiblings(pStart, pCount);
        if (pStart != start || pCount != count) return (false, siblings, next);
        assembly ("memory-safe") {
            calldatacopy(buf, words, shl(5, count))
        }
        ok = rangeRoot(siblings, start, count, buf) == root;
    }

    /// @notice Whether the word proof at calldata offset `proof` shows its word at `index` under
    /// `root`, and that word.
    function check(uint256 proof, uint256 index, bytes32 root) internal pure returns (bool ok, bytes32 word) {
        assembly ("memory-safe") {
            word := calldataload(proof)
        }
        ok = index < LEAVES && rootWith(proof + 32, index, word) == root;
    }
}
