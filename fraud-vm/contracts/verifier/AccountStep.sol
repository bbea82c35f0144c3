// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {WordTree} from "./WordTree.sol";
import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";

/// @title Account reads and BLOCKHASH (fraud-vm/SPEC.md §5.11; Rust: step/account.rs)
/// @notice BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH (EIP-2929 warm/cold), SELFBALANCE and
/// BLOCKHASH.
library AccountStep {
    /// Cold surcharge of an account access on top of the static 100.
    uint256 internal constant COLD_ACCOUNT_EXTRA = 2500;
    /// G_copy, per word copied.
    uint256 internal constant COPY_WORD = 3;

    /// @notice Executes the account opcode `op`.
    function execute(Ctx memory cx, uint256 op) internal view returns (Flow) {
        if (op == 0x40) {
            StepOps.push(cx, WorldAccess.blockHash(cx, StepOps.item(cx, 0)));
            return Flow.Next;
        }
        if (op == 0x47) {
            uint256 self = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
            StepOps.push(cx, WorldAccess.account(cx, self).balance);
            return Flow.Next;
        }
        if (op == 0x3c) return extcodecopy(cx);
        uint256 addr = uint256(uint160(StepOps.item(cx, 0)));
        if (!access(cx, addr)) return Flow.Halt;
        Account memory a = WorldAccess.account(cx, addr);
        uint256 v;
        if (op == 0x31) {
            v = a.balance;
        } else if (op == 0x3b) {
            (, v) = WorldAccess.codeOf(cx, a.codeHash);
        } else if (!(a.nonce == 0 && a.balance == 0 && a.codeHash == WorldAccess.KECCAK_EMPTY)) {
            // EXTCODEHASH: zero for an empty account (EIP-161).
            v = uint256(a.codeHash);
        }
        StepOps.push(cx, v);
        return Flow.Next;
    }

    /// @notice Touches `addr`, charging the cold surcharge; false if out of gas.
    function access(Ctx memory cx, uint256 addr) private pure returns (bool) {
        return !WorldAccess.touchAccount(cx, addr) || StepOps.charge(cx, COLD_ACCOUNT_EXTRA);
    }

    /// @notice EXTCODECOPY `address, dst, src, len`: copy gas, expansion, then the warm/cold
    /// charge and the copy (zero past the end of the code).
    function extcodecopy(Ctx memory cx) private view returns (Flow) {
        uint256 addr = uint256(uint160(StepOps.item(cx, 0)));
        uint256 dst = StepOps.item(cx, 1);
        uint256 src = StepOps.item(cx, 2);
        uint256 len = StepOps.item(cx, 3);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.charge(cx, StepOps.wordCost(COPY_WORD, len))) return Flow.Halt;
        if (!StepOps.expand(cx, dst, len)) return Flow.Halt;
        if (!access(cx, addr)) return Flow.Halt;
        if (len == 0) return Flow.Next;
        (uint256 code, uint256 codeLen) = WorldAccess.codeOf(cx, WorldAccess.account(cx, addr).codeHash);
        if (StepOps.memoryIsFact(cx)) {
            // A long copy: the oracle wrote the code's word tree, zero at and past its end,
            // over the memory root (SPEC.md §3.4.1).
            uint256 words = StepOps.alloc(codeLen);
            assembly ("memory-safe") {
                calldatacopy(words, code, codeLen)
            }
            StepOps.takeMemoryFact(cx, dst, len);
            (, cx.memoryRoot) = StepOps.rangeFact(
                cx, WordTree.rootOf(words, codeLen), src < codeLen ? src : codeLen, codeLen, len, StepOps.JOB_WRITE, cx.memoryRoot, dst
            );
            return Flow.Next;
        }
        uint256 data = StepOps.alloc(len);
        if (src < codeLen) {
            uint256 n = codeLen - src < len ? codeLen - src : len;
            uint256 from = code + src;
            assembly ("memory-safe") {
                calldatacopy(data, from, n)
            }
        }
        StepOps.writeMemory(cx, dst, data, len);
        return Flow.Next;
    }
}
