// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title ADD..SIGNEXTEND (fraud-vm/SPEC.md §5.3; Rust: step/arithmetic.rs)
/// @notice The host EVM's own instructions have exactly the semantics the spec gives (division
/// by zero, SDIV of -2^255 by -1, SMOD's sign, ADDMOD/MULMOD without overflow, SIGNEXTEND of
/// byte ≥ 31), so each opcode runs as itself.
library ArithmeticStep {
    /// G_expbyte, per byte of the exponent.
    uint256 internal constant EXP_BYTE = 50;

    /// @notice Executes the arithmetic opcode `op` on the popped items.
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        uint256 a = StepOps.item(cx, 0);
        uint256 b = StepOps.item(cx, 1);
        uint256 r;
        if (op == 0x08 || op == 0x09) {
            uint256 n = StepOps.item(cx, 2);
            assembly ("memory-safe") {
                switch op
                case 0x08 { r := addmod(a, b, n) }
                default { r := mulmod(a, b, n) }
            }
        } else if (op == 0x0a) {
            // 50 gas per byte of the exponent's minimal big-endian form.
            uint256 bytesLen;
            for (uint256 e = b; e != 0; e >>= 8) ++bytesLen;
            if (!StepOps.charge(cx, EXP_BYTE * bytesLen)) return Flow.Halt;
            assembly ("memory-safe") {
                r := exp(a, b)
            }
        } else {
            assembly ("memory-safe") {
                switch op
                case 0x01 { r := add(a, b) }
                case 0x02 { r := mul(a, b) }
                case 0x03 { r := sub(a, b) }
                case 0x04 { r := div(a, b) }
                case 0x05 { r := sdiv(a, b) }
                case 0x06 { r := mod(a, b) }
                case 0x07 { r := smod(a, b) }
                default { r := signextend(a, b) }
            }
        }
        StepOps.push(cx, r);
        return Flow.Next;
    }
}
