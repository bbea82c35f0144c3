// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StateRecord} from "./StepContext.sol";

/// The callee's first state, as a frame entry sets it (fraud-vm/SPEC.md §5.14 step 11, §5.17
/// step 7); every other field is the caller's.
struct Callee {
    uint256 gas;
    bytes32 framesRoot;
    uint256 addr;
    uint256 caller;
    uint256 value;
    uint256 isStatic;
    bytes32 codeHash;
    bytes32 calldataRoot;
    uint256 calldataSize;
    bytes32 world;
}

/// @title Frame entry shared by the call and create steps (fraud-vm/SPEC.md §3.5; Rust: the
/// `Flow::Enter` arm of step/mod.rs)
/// @notice The link of the suspended caller and the commitment of the callee's first state.
library FrameEntry {
    /// Frame kinds of the link (SPEC.md §3.5).
    uint256 internal constant CALL = 0;
    uint256 internal constant CREATE = 1;

    /// @notice The frame link of the suspended caller: the record the step would leave without
    /// a frame, minus the success flag (pc at the next opcode, gas after every charge, operands
    /// popped, memory expanded, the world `world`), with the output buffer and the kind.
    function link(Ctx memory cx, uint256 outOffset, uint256 outLen, uint256 kind, bytes32 world)
        internal
        pure
        returns (bytes32 h)
    {
        uint256 pre = cx.pre;
        uint256 gasLeft = cx.gas;
        bytes32 stackRoot = cx.stackRoot;
        uint256 stackLen = StateRecord.uintAt(pre + StateRecord.STACK_LEN, 8) - cx.popped;
        bytes32 memoryRoot = cx.memoryRoot;
        uint256 memorySize = cx.memorySize;
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            put(add(p, 25), add(shr(192, calldataload(add(pre, 25))), 1), 8)
            put(add(p, 34), gasLeft, 8)
            mstore(add(p, 187), stackRoot)
            put(add(p, 219), stackLen, 8)
            mstore(add(p, 227), memoryRoot)
            put(add(p, 259), memorySize, 8)
            mstore(add(p, 411), world)
            let s := keccak256(p, 443)
            let q := add(p, 512)
            mstore8(q, 0x06)
            mstore(add(q, 1), calldataload(add(pre, 50)))
            mstore(add(q, 33), s)
            mstore(add(q, 65), shl(192, outOffset))
            mstore(add(q, 73), shl(192, outLen))
            mstore8(add(q, 81), kind)
            h := keccak256(q, 82)
        }
    }

    /// @notice The commitment of the callee's first state: depth + 1, pc 0, Running, refund 0,
    /// empty stack, memory and return data, the fields of `c`, the caller's position and
    /// environments.
    function commit(uint256 pre, Callee memory c) internal pure returns (bytes32 h) {
        uint256 depth = StateRecord.uintAt(pre + StateRecord.DEPTH, 8) + 1;
        assembly ("memory-safe") {
            function put(at, x, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), x)))
            }
            let z := 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            put(add(p, 17), depth, 8)
            put(add(p, 25), 0, 8)
            mstore8(add(p, 33), 0)
            put(add(p, 34), mload(c), 8)
            put(add(p, 42), 0, 8)
            mstore(add(p, 50), mload(add(c, 32)))
            put(add(p, 82), mload(add(c, 64)), 20)
            put(add(p, 102), mload(add(c, 96)), 20)
            mstore(add(p, 122), mload(add(c, 128)))
            mstore8(add(p, 154), mload(add(c, 160)))
            mstore(add(p, 155), mload(add(c, 192)))
            mstore(add(p, 187), 0)
            put(add(p, 219), 0, 8)
            mstore(add(p, 227), z)
            put(add(p, 259), 0, 8)
            mstore(add(p, 267), mload(add(c, 224)))
            put(add(p, 299), mload(add(c, 256)), 8)
            mstore(add(p, 307), z)
            put(add(p, 339), 0, 8)
            mstore(add(p, 411), mload(add(c, 288)))
            h := keccak256(p, 443)
        }
    }
}
