// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MptWrite, TrieTruncated} from "../verifier/MptWrite.sol";

/// @title Test probe of the verifier's Merkle-Patricia writes (fraud-vm/tests/differential)
/// @notice Exposes `MptWrite.write` so that the differential test compares its roots and
/// rejections with the Rust reference's on random tries; not part of the verifier.
contract MptWriteProbe {
    /// @notice The root after writing `value` at `key` (`present == false` deletes) under `root`
    /// with `witness` (`nodes ‖ u8 has_sibling ‖ [u32 len ‖ node]`, nothing after it).
    function write(bytes32 root, bytes calldata key, bool present, bytes calldata value, bytes calldata witness)
        external
        view
        returns (bytes32 newRoot)
    {
        uint256 at;
        assembly ("memory-safe") {
            at := witness.offset
        }
        uint256 next;
        (newRoot, next) = MptWrite.write(root, key, present, value, at, at + witness.length);
        if (next != at + witness.length) revert TrieTruncated();
    }
}
