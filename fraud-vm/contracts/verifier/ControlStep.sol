// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title STOP, JUMP, JUMPI, PC, GAS, JUMPDEST (fraud-vm/SPEC.md §5.8; Rust: step/control.rs)
library ControlStep {
    /// @notice Executes the control opcode `op`.
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        if (op == 0x00) return Flow.Stop;
        if (op == 0x56) return jump(cx, StepOps.item(cx, 0));
        if (op == 0x57) {
            if (StepOps.item(cx, 1) == 0) return Flow.Next;
            return jump(cx, StepOps.item(cx, 0));
        }
        if (op == 0x58) StepOps.push(cx, cx.pc);
        else if (op == 0x5a) StepOps.push(cx, cx.gas);
        return Flow.Next;
    }

    function jump(Ctx memory cx, uint256 target) private pure returns (Flow) {
        if (!isJumpdest(cx.code, cx.codeLen, target)) return Flow.Halt;
        cx.target = target;
        return Flow.Jump;
    }

    /// @notice Whether `target` is a JUMPDEST opcode of the code at calldata offset `code`: the
    /// byte is 0x5b and a scan from 0 that skips PUSH immediates reaches it.
    function isJumpdest(uint256 code, uint256 codeLen, uint256 target) internal pure returns (bool ok) {
        if (target >= codeLen) return false;
        assembly ("memory-safe") {
            if eq(byte(0, calldataload(add(code, target))), 0x5b) {
                let i := 0
                for {} lt(i, target) {} {
                    let op := byte(0, calldataload(add(code, i)))
                    i := add(i, 1)
                    if and(gt(op, 0x5f), lt(op, 0x80)) { i := add(i, sub(op, 0x5f)) }
                }
                ok := eq(i, target)
            }
        }
    }
}
