// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";
import "./StepErrors.sol";

/// @title SLOAD, SSTORE, TLOAD, TSTORE (fraud-vm/SPEC.md §5.10; Rust: step/storage.rs)
/// @notice SLOAD touches the warm-slot set, reads the account and the slot (overlay path, else a
/// base-state proof); transient storage (EIP-1153) is one path in the world's `transient_root`.
/// SSTORE also reads the original value and writes the slot.
library StorageStep {
    /// EIP-2929 cold surcharge of SLOAD on top of its static 100.
    uint256 internal constant COLD_SLOAD_EXTRA = 2000;

    /// EIP-2929 COLD_SLOAD_COST.
    uint256 internal constant COLD_SLOAD = 2100;
    /// EIP-2929 WARM_STORAGE_READ_COST.
    uint256 internal constant WARM = 100;
    /// G_sset and G_sreset (EIP-2929: 5000 - COLD_SLOAD_COST).
    uint256 internal constant SSTORE_SET = 20000;
    uint256 internal constant SSTORE_RESET = 2900;
    /// EIP-3529 SSTORE_CLEARS_SCHEDULE.
    int256 internal constant CLEARS = 4800;
    /// The EIP-2200 sentry: no SSTORE with the call stipend or less left.
    uint256 internal constant STIPEND = 2300;

    /// @notice Executes SLOAD, SSTORE, TLOAD or TSTORE (the caller has halted an SSTORE or a
    /// TSTORE in a static frame).
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        uint256 slot = StepOps.item(cx, 0);
        if (op == 0x55) return sstore(cx, slot, StepOps.item(cx, 1));
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

    /// @notice SSTORE `slot, new` (EIP-2200, EIP-2929, EIP-3529; SPEC.md §5.10).
    function sstore(Ctx memory cx, uint256 slot, uint256 newValue) private pure returns (Flow) {
        if (cx.gas <= STIPEND) return Flow.Halt;
        if (!StepOps.charge(cx, WARM)) return Flow.Halt;
        bool cold = WorldAccess.touchSlot(cx, slot);
        (uint256 incarnation, bytes32 storageRoot) = WorldAccess.selfAccount(cx);
        (bool hasCurrent, uint256 current) = WorldAccess.overlaySlot(cx, cx.accountsRoot, incarnation, slot);
        (bool hasOriginal, uint256 original) = WorldAccess.overlaySlot(cx, cx.originalRoot, incarnation, slot);
        // One base read serves both when either is absent from its overlay.
        if (!hasCurrent || !hasOriginal) {
            uint256 base = WorldAccess.baseSlot(cx, storageRoot, slot);
            if (!hasCurrent) current = base;
            if (!hasOriginal) original = base;
        }
        uint256 cost = cold ? COLD_SLOAD : 0;
        if (newValue != current && original == current) {
            cost += original == 0 ? SSTORE_SET - WARM : SSTORE_RESET - WARM;
        }
        if (!StepOps.charge(cx, cost)) return Flow.Halt;
        if (newValue != current) {
            int256 refund;
            if (original == current) {
                if (newValue == 0) refund += CLEARS;
            } else {
                if (original != 0) {
                    if (current == 0) refund -= CLEARS;
                    else if (newValue == 0) refund += CLEARS;
                }
                if (original == newValue) {
                    refund += int256(original == 0 ? SSTORE_SET - WARM : SSTORE_RESET - WARM);
                }
            }
            // The counter is an i64 that saturates.
            int256 total = cx.refund + refund;
            if (total > type(int64).max) total = type(int64).max;
            if (total < type(int64).min) total = type(int64).min;
            cx.refund = total;
            WorldAccess.setSlot(cx, incarnation, slot, newValue);
        }
        return Flow.Next;
    }
}
