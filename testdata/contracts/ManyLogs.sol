// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Emits many logs in one transaction, so that its receipt has more than the fraud VM's
/// MANY_LOGS = 8 logs and the block end's insertion of it takes its logs by the LOGS range job
/// (fraud-vm/SPEC.md §5.19 v0.15; the end-to-end dispute test dispute-wide.test.mjs).
contract ManyLogs {
    event Counted(address indexed sender, uint256 indexed i, bytes32 word);

    /// Emits `n` `Counted` logs, log `i` with topics (the sender, `i`) and the word
    /// keccak256(seed, i) as data: every log distinct, each 32 bytes of data.
    function emitMany(uint256 n, bytes32 seed) external {
        for (uint256 i = 0; i < n; i++) {
            emit Counted(msg.sender, i, keccak256(abi.encode(seed, i)));
        }
    }
}
