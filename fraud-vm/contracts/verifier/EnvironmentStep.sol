// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
import {BadCode} from "./StepErrors.sol";
import {CodeWindow} from "./CodeWindow.sol";

/// @title EnvironmentStep reads without world state (fraud-vm/SPEC.md §5.7; Rust: step/environment.rs)
/// @notice Frame fields from the state record, calldata words against the calldata root, code
/// bytes from the code witness, transaction and block fields from their environment records.
library EnvironmentStep {
    /// G_copy, per word copied.
    uint256 internal constant COPY_WORD = 3;

    /// @notice Executes the environment opcode `op`.
    function execute(Ctx memory cx, uint256 op) internal view returns (Flow) {
        if (op == 0x37 || op == 0x39) return copy(cx, op);
        if (op == 0x3e) return returndatacopy(cx);
        uint256 pre = cx.pre;
        uint256 v;
        if (op == 0x30) {
            v = StateRecord.addressAt(pre + StateRecord.ADDRESS);
        } else if (op == 0x32) {
            v = StateRecord.addressAt(StepOps.txEnv(cx) + 1);
        } else if (op == 0x33) {
            v = StateRecord.addressAt(pre + StateRecord.CALLER);
        } else if (op == 0x34) {
            v = uint256(StateRecord.wordAt(pre + StateRecord.CALL_VALUE));
        } else if (op == 0x35) {
            uint256 data = StepOps.readCalldata(cx, StepOps.item(cx, 0), 32);
            assembly ("memory-safe") {
                v := mload(data)
            }
        } else if (op == 0x36) {
            v = StateRecord.uintAt(pre + StateRecord.CALLDATA_SIZE, 8);
        } else if (op == 0x38) {
            v = cx.codeLen;
        } else if (op == 0x3a) {
            v = uint256(StateRecord.wordAt(StepOps.txEnv(cx) + 21));
        } else if (op == 0x3d) {
            v = StateRecord.uintAt(pre + StateRecord.RETURNDATA_SIZE, 8);
        } else if (op == 0x49) {
            // BLOBHASH: the i-th versioned hash, 0 past the end.
            uint256 index = StepOps.item(cx, 0);
            uint256 env = StepOps.txEnv(cx);
            if (index < StateRecord.uintAt(env + 167 /* the blob count */, 8)) {
                v = uint256(StateRecord.wordAt(env + 175 /* ProofCodec.TX_ENV_FIXED */ + 32 * index));
            }
        } else if (op == 0x41) {
            v = StateRecord.addressAt(StepOps.blockEnv(cx) + 1);
        } else {
            // TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE, BLOBBASEFEE: the u256
            // fields of the block environment after the coinbase.
            uint256 field;
            if (op == 0x42) field = 0;
            else if (op == 0x43) field = 1;
            else if (op == 0x44) field = 2;
            else if (op == 0x45) field = 3;
            else if (op == 0x46) field = 6;
            else if (op == 0x48) field = 4;
            else field = 5; // 0x4a
            v = uint256(StateRecord.wordAt(StepOps.blockEnv(cx) + 21 + 32 * field));
        }
        StepOps.push(cx, v);
        return Flow.Next;
    }

    /// @notice RETURNDATACOPY: the source range must lie within the return data (else a halt),
    /// then copy gas, expansion and the copy.
    function returndatacopy(Ctx memory cx) private view returns (Flow) {
        uint256 dst = StepOps.item(cx, 0);
        uint256 src = StepOps.item(cx, 1);
        uint256 len = StepOps.item(cx, 2);
        if (len >= StepOps.U64) return Flow.Halt;
        if (src >= StepOps.U64) src = StepOps.U64 - 1;
        uint256 size = StateRecord.uintAt(cx.pre + StateRecord.RETURNDATA_SIZE, 8);
        // src + len is below 2^65: the u64 overflow of the reference counts as out of bounds.
        if (src + len >= StepOps.U64 || src + len > size) return Flow.Halt;
        if (!StepOps.charge(cx, StepOps.wordCost(COPY_WORD, len))) return Flow.Halt;
        if (len == 0) return Flow.Next;
        if (!StepOps.expand(cx, dst, len)) return Flow.Halt;
        if (StepOps.memoryIsFact(cx)) {
            StepOps.takeReturndataFact(cx, src, len);
            StepOps.takeMemoryFact(cx, dst, len);
            (, cx.memoryRoot) = StepOps.rangeFact(
                cx,
                StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT),
                src,
                size,
                len,
                StepOps.JOB_WRITE,
                cx.memoryRoot,
                dst
            );
            return Flow.Next;
        }
        uint256 data = StepOps.readReturndata(cx, src, len);
        StepOps.writeMemory(cx, dst, data, len);
        return Flow.Next;
    }

    /// @notice CALLDATACOPY and CODECOPY: copy gas, expansion, then the copy (zero-padded).
    function copy(Ctx memory cx, uint256 op) private view returns (Flow) {
        uint256 dst = StepOps.item(cx, 0);
        uint256 src = StepOps.item(cx, 1);
        uint256 len = StepOps.item(cx, 2);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.charge(cx, StepOps.wordCost(COPY_WORD, len))) return Flow.Halt;
        if (len == 0) return Flow.Next;
        if (!StepOps.expand(cx, dst, len)) return Flow.Halt;
        if (StepOps.memoryIsFact(cx)) return longCopy(cx, op, dst, src, len);
        uint256 data;
        if (op == 0x37) {
            data = StepOps.readCalldata(cx, src, len);
        } else if (CodeWindow.isOpen(cx)) {
            // [v0.13] The copied code words from the code window (SPEC.md §6.3).
            data = CodeWindow.copy(cx, src, len);
        } else {
            data = StepOps.alloc(len);
            uint256 codeLen = cx.codeLen;
            if (src < codeLen) {
                uint256 n = codeLen - src < len ? codeLen - src : len;
                uint256 from = cx.code + src;
                assembly ("memory-safe") {
                    calldatacopy(data, from, n)
                }
            }
        }
        StepOps.writeMemory(cx, dst, data, len);
        return Flow.Next;
    }

    /// @notice A long CALLDATACOPY or CODECOPY (SPEC.md §3.4.1): the oracle wrote the source
    /// (the calldata tree, or the word tree of the frame's code), zero at and past its size,
    /// over the memory root. The job's source offset is `min(src, size)`.
    function longCopy(Ctx memory cx, uint256 op, uint256 dst, uint256 src, uint256 len)
        private
        view
        returns (Flow)
    {
        bytes32 srcRoot;
        uint256 size;
        if (op == 0x37) {
            size = StateRecord.uintAt(cx.pre + StateRecord.CALLDATA_SIZE, 8);
            srcRoot = StateRecord.wordAt(cx.pre + StateRecord.CALLDATA_ROOT);
            StepOps.takeCalldataFact(cx, src, len, size);
        } else if (CodeWindow.isOpen(cx)) {
            // [v0.13] The code's word-tree root, which the code fact proves.
            size = cx.codeLen;
            srcRoot = cx.codeRoot;
        } else {
            size = cx.codeLen;
            uint256 code = StepOps.alloc(size);
            uint256 from = cx.code;
            assembly ("memory-safe") {
                calldatacopy(code, from, size)
            }
            srcRoot = WordTree.rootOf(code, size);
        }
        StepOps.takeMemoryFact(cx, dst, len);
        (, cx.memoryRoot) = StepOps.rangeFact(
            cx, srcRoot, src < size ? src : size, size, len, StepOps.JOB_WRITE, cx.memoryRoot, dst
        );
        return Flow.Next;
    }
}
