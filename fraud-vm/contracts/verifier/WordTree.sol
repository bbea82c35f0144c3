// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

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

    /// @notice Whether the word proof at calldata offset `proof` shows its word at `index` under
    /// `root`, and that word.
    function check(uint256 proof, uint256 index, bytes32 root) internal pure returns (bool ok, bytes32 word) {
        assembly ("memory-safe") {
            word := calldataload(proof)
        }
        ok = index < LEAVES && rootWith(proof + 32, index, word) == root;
    }
}
