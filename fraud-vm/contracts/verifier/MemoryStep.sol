// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY (fraud-vm/SPEC.md §5.6; Rust: step/memory.rs)
/// @notice Expansion is charged before any word is touched; every word read or written is
/// witnessed with its path.
library MemoryStep {
    /// G_copy, per word copied.
    uint256 internal constant COPY_WORD = 3;

    /// @notice Executes the memory opcode `op`.
    function execute(Ctx memory cx, uint256 op) internal view returns (Flow) {
        if (op == 0x59) {
            StepOps.push(cx, cx.memorySize);
            return Flow.Next;
        }
        if (op == 0x5e) return mcopy(cx);
        uint256 offset = StepOps.item(cx, 0);
        uint256 len = op == 0x53 ? 1 : 32;
        if (!StepOps.expand(cx, offset, len)) return Flow.Halt;
        if (op == 0x51) {
            uint256 data = StepOps.readMemory(cx, offset, 32);
            uint256 v;
            assembly ("memory-safe") {
                v := mload(data)
            }
            StepOps.push(cx, v);
            return Flow.Next;
        }
        uint256 value = StepOps.item(cx, 1);
        uint256 buf = StepOps.alloc(32);
        assembly ("memory-safe") {
            switch op
            case 0x52 { mstore(buf, value) }
            default { mstore8(buf, value) }
        }
        StepOps.writeMemory(cx, offset, buf, len);
        return Flow.Next;
    }

    /// @notice MCOPY `dst, src, len`: the whole source is read before the destination is
    /// written, so overlapping ranges copy as memmove does.
    function mcopy(Ctx memory cx) private view returns (Flow) {
        uint256 dst = StepOps.item(cx, 0);
        uint256 src = StepOps.item(cx, 1);
        uint256 len = StepOps.item(cx, 2);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.charge(cx, StepOps.wordCost(COPY_WORD, len))) return Flow.Halt;
        if (len > 0) {
            if (dst >= StepOps.U64 || src >= StepOps.U64) return Flow.Halt;
            if (!StepOps.expand(cx, dst > src ? dst : src, len)) return Flow.Halt;
            if (StepOps.memoryIsFact(cx)) {
                // A long copy: the oracle copied the source under the memory root before the
                // step into that same tree (SPEC.md §3.4.1).
                StepOps.takeMemoryFact(cx, src, len);
                StepOps.takeMemoryFact(cx, dst, len);
                (, cx.memoryRoot) = StepOps.rangeFact(
                    cx, cx.memoryRoot, src, StepOps.TREE_BYTES, len, StepOps.JOB_WRITE, cx.memoryRoot, dst
                );
                return Flow.Next;
            }
            uint256 data = StepOps.readMemory(cx, src, len);
            StepOps.writeMemory(cx, dst, data, len);
        }
        return Flow.Next;
    }
}
