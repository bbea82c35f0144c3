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

    /// @notice Whether the word proof at calldata offset `proof` shows its word at `index` under
    /// `root`, and that word.
    function check(uint256 proof, uint256 index, bytes32 root) internal pure returns (bool ok, bytes32 word) {
        assembly ("memory-safe") {
            word := calldataload(proof)
        }
        ok = index < LEAVES && rootWith(proof + 32, index, word) == root;
    }
}
