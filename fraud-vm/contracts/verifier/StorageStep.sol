// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";
import "./StepErrors.sol";

/// @title TLOAD, TSTORE (fraud-vm/SPEC.md §5.10; Rust: step/storage.rs)
/// @notice Transient storage (EIP-1153): one sparse-tree path in the world's `transient_root`.
/// SLOAD and SSTORE (accounts, overlay and base-state proofs) are not executed yet.
library StorageStep {
    /// @notice Executes TLOAD or TSTORE (the caller has halted a TSTORE in a static frame).
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        uint256 slot = StepOps.item(cx, 0);
        if (op == 0x5c) {
            StepOps.push(cx, WorldAccess.tload(cx, slot));
        } else {
            WorldAccess.tstore(cx, slot, StepOps.item(cx, 1));
        }
        return Flow.Next;
    }
}
