// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {StackChain} from "./StackChain.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import "./StepErrors.sol";

/// @title Frame exit (fraud-vm/SPEC.md §5.16, §5.17; Rust: step/exit.rs)
/// @notice From a callee's terminal state `C` (depth > 0) back to its suspended caller `S`: the
/// frame link and the top checkpoint are checked, the world keeps or restores the checkpoint,
/// gas and refund return, the output is copied to the caller's buffer, and the success flag is
/// pushed; the exit of a create frame deposits the code.
library ExitStep {
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// @notice The post-state commitment of the frame exit from `cx.pre`.
    function execute(Ctx memory cx) internal view returns (bytes32) {
        uint256 pre = cx.pre;
        uint256 s = cx.frame;
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        if (s == 0) revert MissingWitness(WitnessList.FRAME);
        cx.frameUsed = true;
        if (
            _linkHash(s) != StateRecord.wordAt(pre + 50)
                || StateRecord.uintAt(s + StateRecord.DEPTH, 8) + 1 != StateRecord.uintAt(pre + StateRecord.DEPTH, 8)
        ) revert BadFrameLink();
        WorldAccess.world(cx);
        uint256 cp = cx.checkpoint;
        if (cp == 0) revert MissingWitness(WitnessList.CHECKPOINT);
        cx.checkpointUsed = true;
        if (StepOps.hashCalldata(cp, 233) != StateRecord.wordAt(cx.world + 265)) revert BadCheckpoint();
        if (StateRecord.uintAt(s + 459, 1) == 1) return _createExit(cx, s, cp);

        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        bool success = status == 1 || status == 2;
        // The post-state's gas, refund, stack root and length, memory root, return data root
        // and size, and world root.
        uint256[8] memory v;
        v[4] = uint256(StateRecord.wordAt(s + StateRecord.MEMORY_ROOT));
        v[5] = uint256(EMPTY_WORDS);
        if (status == 2 || status == 3) {
            v[5] = uint256(StateRecord.wordAt(pre + StateRecord.RETURNDATA_ROOT));
            v[6] = StateRecord.uintAt(pre + StateRecord.RETURNDATA_SIZE, 8);
            v[4] = uint256(_copyOutput(cx, s, v[6]));
        }
        v[3] = StateRecord.uintAt(s + StateRecord.STACK_LEN, 8) + 1;
        if (v[3] >= 1 << 64) revert BadFrameLink();
        v[2] = uint256(StackChain.push(StateRecord.wordAt(s + StateRecord.STACK_ROOT), success ? 1 : 0));
        v[0] = StateRecord.uintAt(s + StateRecord.GAS, 8);
        if (status != 4) v[0] = _min(v[0] + StateRecord.uintAt(pre + StateRecord.GAS, 8), type(uint64).max);
        int256 refund = _i64(s + 42);
        if (success) {
            refund += _i64(pre + 42);
            if (refund > type(int64).max) refund = type(int64).max;
            if (refund < type(int64).min) refund = type(int64).min;
        }
        v[1] = uint256(refund) & type(uint64).max;
        v[7] = uint256(_world(cx, cp, success));
        return _commit(s, v);
    }

    /// @notice The exit of a create frame (SPEC.md §5.17): a revert keeps its output as return
    /// data; a stop or return deposits the output as the new account's code when it is at most
    /// 24,576 bytes, does not start with 0xef and its 200 gas per byte are left, and pushes the
    /// address; anything else pushes 0 and restores the checkpoint.
    function _createExit(Ctx memory cx, uint256 s, uint256 cp) private pure returns (bytes32) {
        uint256 pre = cx.pre;
        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        uint256 callerGas = StateRecord.uintAt(s + StateRecord.GAS, 8);
        uint256 gasLeft = StateRecord.uintAt(pre + StateRecord.GAS, 8);
        uint256[8] memory v;
        v[0] = callerGas;
        v[1] = uint256(int256(_i64(s + 42))) & type(uint64).max;
        v[4] = uint256(StateRecord.wordAt(s + StateRecord.MEMORY_ROOT));
        v[5] = uint256(EMPTY_WORDS);
        bool deployed;
        uint256 pushed;
        if (status == 3) {
            v[0] = _min(callerGas + gasLeft, type(uint64).max);
            v[5] = uint256(StateRecord.wordAt(pre + StateRecord.RETURNDATA_ROOT));
            v[6] = StateRecord.uintAt(pre + StateRecord.RETURNDATA_SIZE, 8);
        } else if (status == 1 || status == 2) {
            uint256 size = status == 2 ? StateRecord.uintAt(pre + StateRecord.RETURNDATA_SIZE, 8) : 0;
            uint256 output = StepOps.readReturndata(cx, 0, size);
            if (_depositable(output, size, gasLeft)) {
                v[0] = _min(callerGas + gasLeft - 200 * size, type(uint64).max);
                int256 refund = _i64(s + 42) + _i64(pre + 42);
                if (refund > type(int64).max) refund = type(int64).max;
                if (refund < type(int64).min) refund = type(int64).min;
                v[1] = uint256(refund) & type(uint64).max;
                pushed = _deposit(cx, output, size);
                deployed = true;
            }
        }
        v[2] = uint256(StackChain.push(StateRecord.wordAt(s + StateRecord.STACK_ROOT), pushed));
        v[3] = StateRecord.uintAt(s + StateRecord.STACK_LEN, 8) + 1;
        if (v[3] >= 1 << 64) revert BadFrameLink();
        v[7] = uint256(_world(cx, cp, deployed));
        return _commit(s, v);
    }

    /// @notice Whether `size` bytes of output may be deployed with `gasLeft`: EIP-170, EIP-3541
    /// and the 200 gas per byte.
    function _depositable(uint256 output, uint256 size, uint256 gasLeft) private pure returns (bool) {
        uint256 first;
        assembly ("memory-safe") {
            first := byte(0, mload(output))
        }
        return size <= 24576 && (size == 0 || first != 0xef) && 200 * size <= gasLeft;
    }

    /// @notice Writes the code hash of the output into the created account; its address.
    function _deposit(Ctx memory cx, uint256 output, uint256 size) private pure returns (uint256 addr) {
        addr = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
        Account memory a = WorldAccess.account(cx, addr);
        bytes32 codeHash;
        assembly ("memory-safe") {
            codeHash := keccak256(output, size)
        }
        a.codeHash = codeHash;
        WorldAccess.setAccount(cx, addr, a);
    }

    /// @notice Copies the first `min(out_len, size)` bytes of the output into the caller's
    /// memory at `out_offset` (already expanded by the call); the caller's new memory root.
    /// A long copy is the range oracle's WRITE from the return data tree into the caller's
    /// memory (SPEC.md §3.4.1), its two entries fact markers.
    function _copyOutput(Ctx memory cx, uint256 s, uint256 size) private view returns (bytes32) {
        uint256 outOffset = StateRecord.uintAt(s + 443, 8);
        uint256 n = _min(StateRecord.uintAt(s + 451, 8), size);
        cx.memoryRoot = StateRecord.wordAt(s + StateRecord.MEMORY_ROOT);
        if (n == 0) return cx.memoryRoot;
        if (outOffset + n > StateRecord.uintAt(s + StateRecord.MEMORY_SIZE, 8)) revert BadFrameLink();
        if (StepOps.memoryIsFact(cx)) {
            bytes32 output = StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT);
            StepOps.takeReturndataFact(cx, 0, n);
            StepOps.takeMemoryFact(cx, outOffset, n);
            (, cx.memoryRoot) =
                StepOps.rangeFact(cx, output, 0, size, n, StepOps.JOB_WRITE, cx.memoryRoot, outOffset);
            return cx.memoryRoot;
        }
        uint256 data = StepOps.readReturndata(cx, 0, n);
        StepOps.writeMemory(cx, outOffset, data, n);
        return cx.memoryRoot;
    }

    /// @notice The world after the exit: the checkpoint popped (success) or restored.
    function _world(Ctx memory cx, uint256 cp, bool success) private pure returns (bytes32 h) {
        uint256 w = cx.world;
        bytes32 accounts = cx.accountsRoot;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, w, 297)
            if iszero(success) {
                // accounts, transient, accessed, created, destructs, logs roots and the count.
                mstore(add(p, 33), calldataload(add(cp, 33)))
                mstore(add(p, 97), calldataload(add(cp, 65)))
                mstore(add(p, 129), calldataload(add(cp, 97)))
                mstore(add(p, 161), calldataload(add(cp, 129)))
                mstore(add(p, 193), calldataload(add(cp, 161)))
                mstore(add(p, 225), calldataload(add(cp, 193)))
                let c := add(p, 257)
                mstore(c, or(and(mload(c), shr(64, not(0))), shl(192, shr(192, calldataload(add(cp, 225))))))
            }
            // A kept world carries the step's own writes (a create exit's code deposit).
            if success { mstore(add(p, 33), accounts) }
            mstore(add(p, 265), calldataload(add(cp, 1)))
            h := keccak256(p, 297)
        }
    }

    /// @notice `keccak256(0x06 ‖ S.frames_root ‖ commit(S) ‖ out_offset ‖ out_len ‖ kind)`.
    function _linkHash(uint256 s) private pure returns (bytes32 h) {
        bytes32 commitS = StepOps.hashCalldata(s, StateRecord.LEN);
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x06)
            mstore(add(p, 1), calldataload(add(s, 50)))
            mstore(add(p, 33), commitS)
            calldatacopy(add(p, 65), add(s, 443), 17)
            h := keccak256(p, 82)
        }
    }

    /// @notice The commitment of `S` with: status Running, gas, refund, stack root and length,
    /// memory root, return data root and size, world root (in `v`, in that order).
    function _commit(uint256 s, uint256[8] memory v) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let p := mload(0x40)
            calldatacopy(p, s, 443)
            mstore8(add(p, 33), 0)
            put(add(p, 34), mload(v), 8)
            put(add(p, 42), mload(add(v, 32)), 8)
            mstore(add(p, 187), mload(add(v, 64)))
            put(add(p, 219), mload(add(v, 96)), 8)
            mstore(add(p, 227), mload(add(v, 128)))
            mstore(add(p, 307), mload(add(v, 160)))
            put(add(p, 339), mload(add(v, 192)), 8)
            mstore(add(p, 411), mload(add(v, 224)))
            h := keccak256(p, 443)
        }
    }

    function _i64(uint256 at) private pure returns (int256) {
        return int256(int64(uint64(StateRecord.uintAt(at, 8))));
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
