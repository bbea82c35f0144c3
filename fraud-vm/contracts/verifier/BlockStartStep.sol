// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {BadBlockStart} from "./BlockStart.sol";
import "./StepErrors.sol";

/// @title The block start steps (fraud-vm/SPEC.md §5.18; Rust: step/block_start.rs)
/// @notice The pre-execution system calls of an Isthmus block as alloy-op-evm makes them, each
/// storage writes of fixed slots: at `pc = 0` EIP-2935 (the parent hash into the history
/// contract), at `pc = 1` EIP-4788 (the timestamp and the parent beacon root into the beacon
/// roots contract), which leaves the Idle state before the first transaction. A contract without
/// code is not called; one with other code is `Unsupported`; block 0 makes neither call.
library BlockStartStep {
    uint8 private constant IDLE = 5;
    /// The ring buffer length of both contracts.
    uint256 private constant BUFFER = 8191;
    uint256 private constant HISTORY = uint256(uint160(0x0000F90827F1C53a10cb7A02335B175320002935));
    uint256 private constant BEACON_ROOTS = uint256(uint160(0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02));
    /// alloy-eips' `HISTORY_STORAGE_CODE` and `BEACON_ROOTS_CODE`.
    bytes private constant HISTORY_CODE =
        hex"3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500";
    bytes private constant BEACON_ROOTS_CODE =
        hex"3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500";
    /// Offsets in the block environment (SPEC.md §3.6) and the block constants.
    uint256 private constant ENV_TIMESTAMP = 21;
    uint256 private constant ENV_NUMBER = 53;
    uint256 private constant ENV_CONSTANTS_HASH = 245;
    uint256 private constant CONSTANTS_PARENT_HASH = 1;
    uint256 private constant CONSTANTS_BEACON_ROOT = 33;
    uint256 private constant CONSTANTS_LEN = 138;

    /// @notice The step from the BlockStart state `cx.pre`: its post-state commitment (the
    /// caller checks that every witness was used).
    function execute(Ctx memory cx) internal pure returns (bytes32) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        uint256 env = StepOps.blockEnv(cx);
        uint256 constants = _constants(cx, env);
        WorldAccess.world(cx);
        uint256 number = StateRecord.uintAt(env + ENV_NUMBER, 32);
        uint256 pc = StateRecord.uintAt(cx.pre + StateRecord.PC, 8);
        uint8 status = 6;
        if (pc == 0) {
            if (number != 0) {
                (bool called, Account memory a) = _contract(cx, HISTORY, HISTORY_CODE);
                if (called) {
                    _setSlot(
                        cx,
                        HISTORY,
                        a.incarnation,
                        (number - 1) % BUFFER,
                        uint256(StateRecord.wordAt(constants + CONSTANTS_PARENT_HASH))
                    );
                }
            }
            pc = 1;
        } else if (pc == 1) {
            if (number != 0) {
                (bool called, Account memory a) = _contract(cx, BEACON_ROOTS, BEACON_ROOTS_CODE);
                if (called) {
                    uint256 timestamp = StateRecord.uintAt(env + ENV_TIMESTAMP, 32);
                    uint256 slot = timestamp % BUFFER;
                    _setSlot(cx, BEACON_ROOTS, a.incarnation, slot, timestamp);
                    _setSlot(
                        cx,
                        BEACON_ROOTS,
                        a.incarnation,
                        slot + BUFFER,
                        uint256(StateRecord.wordAt(constants + CONSTANTS_BEACON_ROOT))
                    );
                }
            }
            // The Idle state before the first transaction.
            pc = 0;
            status = IDLE;
        } else {
            revert BadBlockStart("a block start state past its two system calls");
        }
        return _post(cx, pc, status);
    }

    /// @notice The block constants, checked against the block environment's `constants_hash`.
    function _constants(Ctx memory cx, uint256 env) private pure returns (uint256 constants) {
        if (cx.constants == 0) revert MissingWitness(WitnessList.CONSTANTS);
        constants = cx.constants;
        if (StepOps.hashCalldata(constants, CONSTANTS_LEN) != StateRecord.wordAt(env + ENV_CONSTANTS_HASH)) {
            revert ConstantsMismatch();
        }
        cx.constantsUsed = true;
    }

    /// @notice The system contract at `addr` read from the world: whether the call is made (it
    /// has the canonical `code`; none: nothing is called), and its record.
    function _contract(Ctx memory cx, uint256 addr, bytes memory code)
        private
        pure
        returns (bool called, Account memory a)
    {
        a = WorldAccess.account(cx, addr);
        if (a.codeHash == WorldAccess.KECCAK_EMPTY) return (false, a);
        if (a.codeHash != keccak256(code)) revert UnsupportedStep("a system contract with other code");
        return (true, a);
    }

    /// @notice Writes slot `slot` of `addr`'s incarnation `incarnation` (one path in the overlay).
    function _setSlot(Ctx memory cx, uint256 addr, uint256 incarnation, uint256 slot, uint256 value) private pure {
        bytes32 key;
        bytes32 leaf;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x11)
            mstore(add(p, 1), shl(96, addr))
            mstore(add(p, 21), shl(192, incarnation))
            mstore(add(p, 29), slot)
            key := keccak256(p, 61)
            mstore8(p, 0x12)
            mstore(add(p, 1), value)
            leaf := keccak256(p, 33)
        }
        cx.accountsRoot = WorldAccess.update(cx, cx.accountsRoot, key, leaf);
    }

    /// @notice The pre-state with `pc`, `status` and the world changed: the system calls write
    /// only the overlay, and are no transaction, so the original values are the current ones.
    function _post(Ctx memory cx, uint256 newPc, uint8 status) private pure returns (bytes32 h) {
        uint256 pre = cx.pre;
        uint256 world = cx.world;
        bytes32 accounts = cx.accountsRoot;
        assembly ("memory-safe") {
            let w := mload(0x40)
            calldatacopy(w, world, 297)
            mstore(add(w, 33), accounts)
            mstore(add(w, 65), accounts)
            let worldRoot := keccak256(w, 297)
            let p := add(w, 320)
            calldatacopy(p, pre, 443)
            // pc (u64 at 25) and status (u8 at 33) share the word at 25.
            let at := add(p, 25)
            mstore(at, or(and(mload(at), shr(72, not(0))), or(shl(192, newPc), shl(184, status))))
            mstore(add(p, 411), worldRoot)
            h := keccak256(p, 443)
        }
    }
}
