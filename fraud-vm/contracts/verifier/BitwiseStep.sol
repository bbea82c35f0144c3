// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title LT..SAR (fraud-vm/SPEC.md §5.4; Rust: step/bitwise.rs)
/// @notice Comparisons, bitwise logic, BYTE and shifts, each run as the host EVM's instruction
/// (BYTE of an index ≥ 32 and shifts by ≥ 256 give what the spec gives).
library BitwiseStep {
    /// @notice Executes the comparison or bitwise opcode `op` on the popped items.
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        uint256 a = StepOps.item(cx, 0);
        uint256 r;
        if (op == 0x15 || op == 0x19) {
            assembly ("memory-safe") {
                switch op
                case 0x15 { r := iszero(a) }
                default { r := not(a) }
            }
        } else {
            uint256 b = StepOps.item(cx, 1);
            assembly ("memory-safe") {
                switch op
                case 0x10 { r := lt(a, b) }
                case 0x11 { r := gt(a, b) }
                case 0x12 { r := slt(a, b) }
                case 0x13 { r := sgt(a, b) }
                case 0x14 { r := eq(a, b) }
                case 0x16 { r := and(a, b) }
                case 0x17 { r := or(a, b) }
                case 0x18 { r := xor(a, b) }
                case 0x1a { r := byte(a, b) }
                case 0x1b { r := shl(a, b) }
                case 0x1c { r := shr(a, b) }
                default { r := sar(a, b) }
            }
        }
        StepOps.push(cx, r);
        return Flow.Next;
    }
}
