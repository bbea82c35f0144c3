// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {MerkleTrie} from "../lib/MerkleTrie.sol";

/// @title MerkleTrieHarness
/// @notice Test-only: exposes the MerkleTrie library so bridge/tests/l1_contracts.rs can check it in
///         the EVM against tries built by alloy-trie (short keys, inline nodes, extensions, tampered
///         proofs). Never deployed by the node.
contract MerkleTrieHarness {
    function get(bytes calldata key, bytes[] calldata proof, bytes32 root) external pure returns (bytes memory) {
        return MerkleTrie.get(key, proof, root);
    }

    function getSecure(bytes calldata key, bytes[] calldata proof, bytes32 root) external pure returns (bytes memory) {
        return MerkleTrie.getSecure(key, proof, root);
    }
}
