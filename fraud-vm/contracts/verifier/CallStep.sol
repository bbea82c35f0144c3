// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";

/// @title RETURN, REVERT (fraud-vm/SPEC.md §5.14; Rust: step/call.rs)
/// @notice The frame ends with its output as the return data (CALL, CALLCODE, DELEGATECALL,
/// STATICCALL, CREATE and CREATE2 are `CallStepVerifier`'s).
library CallStep {
    /// @notice RETURN or REVERT `offset, len`: expansion, then the output read from memory;
    /// `Ctx.target` receives the status (2 Returned, 3 Reverted) and `Ctx.returndataRoot`,
    /// `Ctx.returndataSize` the output's word-tree root and length.
    /// A long output is the range oracle's WRITE of the memory range into the empty tree
    /// (SPEC.md §3.4.1).
    function finish(Ctx memory cx, uint256 op) internal view returns (Flow) {
        uint256 offset = StepOps.item(cx, 0);
        uint256 len = StepOps.item(cx, 1);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.expand(cx, offset, len)) return Flow.Halt;
        cx.target = op == 0xf3 ? 2 : 3;
        cx.returndataSize = len;
        if (len > 0 && StepOps.memoryIsFact(cx)) {
            cx.returndataRoot = StepOps.intoEmptyTree(cx, offset, len);
            return Flow.Finish;
        }
        uint256 data = StepOps.readMemory(cx, len == 0 ? 0 : offset, len);
        cx.returndataRoot = WordTree.rootOf(data, len);
        return Flow.Finish;
    }
}
