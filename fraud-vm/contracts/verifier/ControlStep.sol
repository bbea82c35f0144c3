// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {CodeWindow} from "./CodeWindow.sol";
import "./StepErrors.sol";

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
        bool ok = CodeWindow.isOpen(cx) ? inBitmap(cx, target) : isJumpdest(cx.code, cx.codeLen, target);
        if (!ok) return Flow.Halt;
        cx.target = target;
        return Flow.Jump;
    }

    /// @notice [v0.12] Whether `target` is a JUMPDEST opcode, read from the code window's
    /// bitmap word (SPEC.md §6.3), checked under the code fact's bitmap root when the window
    /// was opened; a target past the code reads none.
    function inBitmap(Ctx memory cx, uint256 target) private pure returns (bool) {
        if (target >= cx.codeLen) return false;
        if (cx.codeLeft == 0) revert MissingWitness(WitnessList.CODE);
        uint256 at = cx.codeNext;
        cx.codeLeft = 0;
        if (StateRecord.uintAt(at, 4) != target >> 8) revert BadCode();
        return (uint256(StateRecord.wordAt(at + 8)) >> (255 - (target & 255))) & 1 == 1;
    }

    /// @notice Whether `target` is a JUMPDEST opcode of the code at calldata offset `code`: the
    /// byte is 0x5b and a scan from 0 that skips PUSH immediates reaches it.
    function isJumpdest(uint256 code, uint256 codeLen, uint256 target) internal pure returns (bool ok) {
        if (target >= codeLen) return false;
        assembly ("memory-safe") {
            if eq(byte(0, calldataload(add(code, target))), 0x5b) {
                let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
                let i := 0
                for {} lt(i, target) {} {
                    let w := calldataload(add(code, i))
                    // x has a zero byte exactly where w has a PUSH1..PUSH32 opcode (0x60..0x7f).
                    let x := xor(and(w, mul(ones, 0xe0)), mul(ones, 0x60))
                    switch iszero(and(and(sub(x, ones), not(x)), mul(ones, 0x80)))
                    case 1 {
                        // No PUSH among the next 32 bytes: 32 one-byte instructions, so every
                        // position up to i + 32 starts one (the target too, if it lies there).
                        i := add(i, 32)
                        if gt(i, target) { i := target }
                    }
                    default {
                        // Every instruction that starts in this window, read from the loaded
                        // word: 1 byte, plus n immediates after PUSHn.
                        let end := add(i, 32)
                        if gt(end, target) { end := target }
                        let j := i
                        for {} lt(j, end) {} {
                            let d := sub(byte(sub(j, i), w), 0x5f)
                            j := add(j, add(1, mul(lt(sub(d, 1), 32), d)))
                        }
                        i := j
                    }
                }
                ok := eq(i, target)
            }
        }
    }
}
