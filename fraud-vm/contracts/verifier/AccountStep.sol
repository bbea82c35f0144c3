// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";

/// @title BLOCKHASH (fraud-vm/SPEC.md §5.11; Rust: step/account.rs)
/// @notice BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH and SELFBALANCE (account reads) are
/// not executed yet.
library AccountStep {
    /// @notice Executes BLOCKHASH.
    function execute(Ctx memory cx) internal pure returns (Flow) {
        StepOps.push(cx, WorldAccess.blockHash(cx, StepOps.item(cx, 0)));
        return Flow.Next;
    }
}
