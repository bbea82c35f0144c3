// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title POP, PUSH0..PUSH32, DUP1..DUP16, SWAP1..SWAP16 (fraud-vm/SPEC.md §5.5; Rust: step/stack.rs)
/// @notice DUPn pops n items and pushes them back with a copy of the n-th on top; SWAPn pops n+1
/// and pushes them back with the first and last exchanged.
library StackStep {
    /// @notice Executes the stack opcode `op`.
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        if (op == 0x50) return Flow.Next;
        if (op <= 0x7f) {
            uint256 n = op - 0x5f;
            uint256 v;
            if (n > 0) {
                // Immediate bytes past the end of the code read as zero.
                uint256 at = cx.pc + 1;
                uint256 avail = cx.codeLen > at ? cx.codeLen - at : 0;
                uint256 from;
                unchecked {
                    // A code window's base may lie below calldata offset 0 (`Ctx.code`).
                    from = cx.code + at;
                }
                assembly ("memory-safe") {
                    let w := calldataload(from)
                    if lt(avail, 32) { w := and(w, not(shr(shl(3, avail), not(0)))) }
                    v := shr(sub(256, shl(3, n)), w)
                }
                cx.target = n;
            }
            StepOps.push(cx, v);
            return n == 0 ? Flow.Next : Flow.Skip;
        }
        if (op <= 0x8f) {
            uint256 n = op - 0x7f;
            for (uint256 i = n; i > 0; --i) {
                StepOps.push(cx, StepOps.item(cx, i - 1));
            }
            StepOps.push(cx, StepOps.item(cx, n - 1));
            return Flow.Next;
        }
        uint256 m = op - 0x8f;
        // Items 0..m, top first, pushed back bottom first with 0 and m exchanged.
        StepOps.push(cx, StepOps.item(cx, 0));
        for (uint256 i = m - 1; i > 0; --i) {
            StepOps.push(cx, StepOps.item(cx, i));
        }
        StepOps.push(cx, StepOps.item(cx, m));
        return Flow.Next;
    }
}
