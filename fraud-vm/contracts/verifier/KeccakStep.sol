// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";

/// @title KECCAK256 (fraud-vm/SPEC.md §5.6; Rust: step/keccak.rs)
library KeccakStep {
    /// G_keccak256word.
    uint256 internal constant WORD_GAS = 6;

    /// @notice KECCAK256 `offset, len`: word gas, expansion, then the hash of the witnessed
    /// memory range, or of a long range the range oracle hashed (SPEC.md §3.4.1).
    function execute(Ctx memory cx) internal view returns (Flow) {
        uint256 offset = StepOps.item(cx, 0);
        uint256 len = StepOps.item(cx, 1);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.charge(cx, StepOps.wordCost(WORD_GAS, len))) return Flow.Halt;
        if (!StepOps.expand(cx, offset, len)) return Flow.Halt;
        if (len > 0 && StepOps.memoryIsFact(cx)) {
            StepOps.takeMemoryFact(cx, offset, len);
            (bytes32 fact,) =
                StepOps.rangeFact(cx, cx.memoryRoot, offset, StepOps.TREE_BYTES, len, StepOps.JOB_HASH, 0, 0);
            StepOps.push(cx, uint256(fact));
            return Flow.Next;
        }
        uint256 data = StepOps.readMemory(cx, len == 0 ? 0 : offset, len);
        uint256 h;
        assembly ("memory-safe") {
            h := keccak256(data, len)
        }
        StepOps.push(cx, h);
        return Flow.Next;
    }
}
