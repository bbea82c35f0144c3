// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {FrameEntry, Callee} from "./FrameEntry.sol";
import "./StepErrors.sol";

/// @title CREATE, CREATE2 (fraud-vm/SPEC.md §5.17; Rust: `create` in step/call.rs)
/// @notice The create fails within the step (depth, balance, nonce, an address collision) or
/// enters the initcode's frame: the post-state is then its first state, whose `frames_root`
/// links the suspended creator with kind 1. The caller has halted the step in a static frame.
library CreateStep {
    /// G_create.
    uint256 internal constant CREATE_GAS = 32000;
    /// EIP-3860: the largest initcode.
    uint256 internal constant MAX_INITCODE = 49152;
    uint256 internal constant MAX_DEPTH = 1024;
    uint256 internal constant MAX_NONCE = type(uint64).max;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// The operands and what the step derives from them.
    struct Create {
        uint256 value;
        uint256 limit;
        uint256 me;
        uint256 addr;
        bytes32 codeHash;
    }

    /// @notice CREATE `value, offset, len` or CREATE2 `value, offset, len, salt`; an entry leaves
    /// the initcode frame's commitment in `cx.entered`.
    function execute(Ctx memory cx, uint256 op) internal pure returns (Flow) {
        Create memory c;
        c.value = StepOps.item(cx, 0);
        uint256 offset = StepOps.item(cx, 1);
        uint256 len = StepOps.item(cx, 2);
        if (len >= StepOps.U64 || len > MAX_INITCODE) return Flow.Halt;
        // EIP-3860 initcode words, then memory, then (CREATE2) hashing and G_create.
        if (!StepOps.charge(cx, StepOps.wordCost(2, len))) return Flow.Halt;
        if (!StepOps.expand(cx, offset, len)) return Flow.Halt;
        uint256 initcode = StepOps.readMemory(cx, len == 0 ? 0 : offset, len);
        bytes32 codeHash;
        assembly ("memory-safe") {
            codeHash := keccak256(initcode, len)
        }
        c.codeHash = codeHash;
        uint256 salt;
        if (op == 0xf5) {
            salt = StepOps.item(cx, 3);
            if (!StepOps.charge(cx, StepOps.wordCost(6, len))) return Flow.Halt;
        }
        if (!StepOps.charge(cx, CREATE_GAS)) return Flow.Halt;
        c.limit = cx.gas - cx.gas / 64;
        cx.gas -= c.limit;

        if (StateRecord.uintAt(cx.pre + StateRecord.DEPTH, 8) >= MAX_DEPTH) return _fail(cx, c.limit);
        c.me = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
        Account memory sender = WorldAccess.account(cx, c.me);
        if (sender.balance < c.value || sender.nonce == MAX_NONCE) return _fail(cx, c.limit);
        uint256 nonce = sender.nonce;
        sender.nonce = nonce + 1;
        WorldAccess.setAccount(cx, c.me, sender);
        c.addr = op == 0xf5 ? create2Address(c.me, salt, codeHash) : createAddress(c.me, nonce);
        WorldAccess.touchAccount(cx, c.addr);
        return _enter(cx, c, sender);
    }

    /// @notice Step 5 on (SPEC.md §5.17): a collision fails the create, consuming its gas;
    /// otherwise the checkpoint, the new account, the value, the created set, and the entry.
    function _enter(Ctx memory cx, Create memory c, Account memory sender) private pure returns (Flow) {
        Account memory target = WorldAccess.account(cx, c.addr);
        // A collision consumes the gas given to the create.
        if (target.codeHash != WorldAccess.KECCAK_EMPTY || target.nonce != 0) return _fail(cx, 0);

        WorldAccess.pushCheckpoint(cx);
        target.nonce = 1;
        unchecked {
            uint256 sum = target.balance + c.value;
            target.balance = sum < c.value ? type(uint256).max : sum;
        }
        target.codeHash = WorldAccess.KECCAK_EMPTY;
        target.storageRoot = BaseTrie.EMPTY_ROOT;
        if (target.incarnation < MAX_NONCE) target.incarnation += 1;
        WorldAccess.setAccount(cx, c.addr, target);
        if (c.value != 0) {
            sender.balance -= c.value;
            WorldAccess.setAccount(cx, c.me, sender);
        }
        WorldAccess.markCreated(cx, c.addr);

        bytes32 world = WorldAccess.commitment(cx);
        Callee memory callee;
        callee.gas = c.limit;
        callee.framesRoot = FrameEntry.link(cx, 0, 0, FrameEntry.CREATE, world);
        callee.addr = c.addr;
        callee.caller = c.me;
        callee.value = c.value;
        callee.codeHash = c.codeHash;
        callee.calldataRoot = EMPTY_WORDS;
        callee.world = world;
        cx.entered = FrameEntry.commit(cx.pre, callee);
        return Flow.Enter;
    }

    /// @notice `keccak256(rlp([sender, nonce]))[12..]`: the address CREATE (and a creation
    /// transaction) deploys to.
    function createAddress(uint256 sender, uint256 nonce) internal pure returns (uint256 addr) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            // The nonce's RLP: 0x80 for zero, itself below 0x80, else 0x80 + k and k bytes.
            let k := 0
            for { let n := nonce } n { n := shr(8, n) } { k := add(k, 1) }
            let enc := 1
            switch lt(nonce, 0x80)
            case 1 { if iszero(nonce) { nonce := 0x80 } }
            default { enc := add(k, 1) }
            mstore8(p, add(0xc0, add(21, enc)))
            mstore8(add(p, 1), 0x94)
            mstore(add(p, 2), shl(96, sender))
            switch enc
            case 1 { mstore8(add(p, 22), nonce) }
            default {
                mstore8(add(p, 22), add(0x80, k))
                mstore(add(p, 23), shl(sub(256, shl(3, k)), nonce))
            }
            addr := and(keccak256(p, add(22, enc)), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice `keccak256(0xff ‖ sender ‖ salt ‖ keccak256(initcode))[12..]`.
    function create2Address(uint256 sender, uint256 salt, bytes32 codeHash) internal pure returns (uint256 addr) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0xff)
            mstore(add(p, 1), shl(96, sender))
            mstore(add(p, 21), salt)
            mstore(add(p, 53), codeHash)
            addr := and(keccak256(p, 85), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice The create fails before its frame: `gasBack` returned, return data emptied, 0
    /// pushed.
    function _fail(Ctx memory cx, uint256 gasBack) private pure returns (Flow) {
        cx.gas += gasBack;
        cx.returndataSet = true;
        cx.returndataRoot = EMPTY_WORDS;
        cx.returndataSize = 0;
        StepOps.push(cx, 0);
        return Flow.Next;
    }
}
