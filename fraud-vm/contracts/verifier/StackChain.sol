// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Stack hash chain (fraud-vm/SPEC.md §3.3)
/// @notice The empty stack has root zero; pushing `x` onto root `r` gives
/// `keccak256(0x02 ‖ r ‖ u256(x))`.
library StackChain {
    /// @notice The root after pushing `item` onto the stack with root `below`.
    function push(bytes32 below, uint256 item) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            // 65 bytes at the free memory pointer, used as scratch (not allocated).
            let p := mload(0x40)
            mstore8(p, 0x02)
            mstore(add(p, 1), below)
            mstore(add(p, 33), item)
            root := keccak256(p, 65)
        }
    }

    /// @notice The root of the stack `rest` with the `count` items at calldata offset `items`
    /// (top first, 32 bytes each) pushed back on it: the root the items were popped from.
    function rebuild(bytes32 rest, uint256 items, uint256 count) internal pure returns (bytes32 root) {
        root = rest;
        for (uint256 i = count; i > 0; --i) {
            uint256 item;
            assembly ("memory-safe") {
                item := calldataload(add(items, shl(5, sub(i, 1))))
            }
            root = push(root, item);
        }
    }
}
