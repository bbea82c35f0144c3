// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";
import "./StepErrors.sol";

/// @title SLOAD, TLOAD, TSTORE (fraud-vm/SPEC.md §5.10; Rust: step/storage.rs)
/// @notice SLOAD touches the warm-slot set, reads the account and the slot (overlay path, else a
/// base-state proof); transient storage (EIP-1153) is one path in the world's `transient_root`.
/// SSTORE is not executed yet.
library StorageStep {
    /// EIP-2929 cold surcharge of SLOAD on top of its static 100.
    uint256 internal constant COLD_SLOAD_EXTRA = 2000;

    /// @notice Executes SLOAD, TLOAD or TSTORE (the caller has halted a TSTORE in a static frame).
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        uint256 slot = StepOps.item(cx, 0);
        if (op == 0x54) {
            // Touch the slot (2000 more if it was cold), read the account, then the slot.
            if (WorldAccess.touchSlot(cx, slot) && !StepOps.charge(cx, COLD_SLOAD_EXTRA)) return Flow.Halt;
            (uint256 incarnation, bytes32 storageRoot) = WorldAccess.selfAccount(cx);
            StepOps.push(cx, WorldAccess.selfSlot(cx, incarnation, storageRoot, slot));
        } else if (op == 0x5c) {
            StepOps.push(cx, WorldAccess.tload(cx, slot));
        } else {
            WorldAccess.tstore(cx, slot, StepOps.item(cx, 1));
        }
        return Flow.Next;
    }
}
