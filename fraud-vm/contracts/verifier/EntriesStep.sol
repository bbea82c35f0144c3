// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {StackChain} from "./StackChain.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {OpFees} from "./OpFees.sol";
import {Authorizations} from "./Authorizations.sol";
import {PrecompileCall} from "./PrecompileCall.sol";
import "./StepErrors.sol";

/// @title The transaction start's sub-steps (fraud-vm/SPEC.md §5.9 v0.15; Rust: step/entries.rs)
/// @notice From a Starting state, whose stack holds the access-list entries and the
/// authorizations still to apply (two words each, the first on top; `pc` = the authorizations,
/// at the bottom): with `w = stack_len / 2 − pc` warm entries left, touch `min(w, 12)` of them;
/// else apply `min(pc, 4)` authorizations; else (nothing left) push the transaction's checkpoint
/// and enter the top frame. Also the top frame's entry the start head shares (`enterCall`,
/// `createFrame`).
library EntriesStep {
    uint256 internal constant WARM_GROUP = 12;
    uint256 internal constant AUTH_GROUP = 4;
    uint256 private constant KIND_ADDRESS = 1;
    uint256 private constant KIND_SLOT = 2;
    uint256 private constant KIND_AUTH = 3;
    uint256 private constant MAX_NONCE = type(uint64).max;
    /// Offset of the refund counter (i64) in the state record.
    uint256 private constant REFUND = 42;
    /// Offsets of `create` and `auth_refund` in the transaction environment (SPEC.md §3.6).
    uint256 private constant ENV_CREATE = 69;
    uint256 private constant ENV_AUTH_REFUND = 159;
    /// The status of a Starting state (SPEC.md §3.2).
    uint256 internal constant STARTING = 9;

    /// @notice The post-state commitment of the sub-step from the Starting state `cx.pre`.
    function execute(Ctx memory cx) internal pure returns (bytes32) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        uint256 pre = cx.pre;
        uint256 len = StateRecord.uintAt(pre + StateRecord.STACK_LEN, 8);
        uint256 auths = StateRecord.uintAt(pre + StateRecord.PC, 8);
        uint256 refund = StateRecord.uintAt(pre + REFUND, 8);
        if (len % 2 != 0 || len / 2 < auths || refund >= 1 << 63) _malformed();
        uint256 warm = len / 2 - auths;
        if (warm == 0 && auths == 0) return _finish(cx, refund);
        uint256 count = warm > 0 ? (warm < WARM_GROUP ? warm : WARM_GROUP) : (auths < AUTH_GROUP ? auths : AUTH_GROUP);
        uint256 n = 2 * count;
        if (cx.itemCount < n) revert MissingWitness(WitnessList.STACK_ITEM);
        if (cx.itemCount > n) revert UnusedWitness(WitnessList.STACK_ITEM);
        if (!cx.hasRest) revert MissingWitness(WitnessList.STACK_REST);
        if (StackChain.rebuild(cx.rest, cx.items, n) != StateRecord.wordAt(pre + StateRecord.STACK_ROOT)) {
            revert BadStackProof();
        }
        cx.popped = n;
        WorldAccess.world(cx);
        for (uint256 i = 0; i < n; i += 2) {
            uint256 head;
            uint256 payload;
            uint256 at = cx.items + 32 * i;
            assembly ("memory-safe") {
                head := calldataload(at)
                payload := calldataload(add(at, 32))
            }
            if ((head >> 160) & ((1 << 88) - 1) != 0) _malformed();
            uint256 kind = head >> 248;
            uint256 addr = uint160(head);
            if (warm > 0 && kind == KIND_ADDRESS && payload == 0) {
                WorldAccess.touchAccount(cx, addr);
            } else if (warm > 0 && kind == KIND_SLOT) {
                WorldAccess.touchSlotOf(cx, addr, payload);
            } else if (warm == 0 && kind == KIND_AUTH) {
                if (payload >> 224 != 0) _malformed();
                if (Authorizations.applyOne(cx, addr, uint160(payload), payload >> 160)) {
                    refund += Authorizations.REFUND;
                    if (refund >= 1 << 63) _malformed();
                }
            } else {
                _malformed();
            }
        }
        return _commitGroup(cx, warm > 0 ? auths : auths - count, refund, cx.rest, len - n);
    }

    /// @notice A Starting state whose counts cannot be (no start head leaves it).
    function _malformed() private pure {
        revert UnsupportedStep("a Starting state whose entries do not fit its counts");
    }

    /// @notice The Starting state `cx.pre` with the group applied: `pc`, the refund, the stack
    /// and the world replaced.
    function _commitGroup(Ctx memory cx, uint256 auths, uint256 refund, bytes32 rest, uint256 len)
        private
        pure
        returns (bytes32)
    {
        uint256 pre = cx.pre;
        return _commit(
            cx,
            [
                auths,
                STARTING,
                StateRecord.uintAt(pre + StateRecord.GAS, 8),
                refund,
                StateRecord.uintAt(pre + StateRecord.IS_STATIC, 1),
                len
            ],
            [StateRecord.wordAt(pre + StateRecord.CODE_HASH), rest, StateRecord.wordAt(pre + StateRecord.TX_ENV_HASH)]
        );
    }

    /// @notice The commitment of `cx.pre` with `v` = `pc`, status, gas, refund, `is_static`,
    /// `stack_len` and `r` = code hash, stack root, `tx_env_hash` replaced, and the world as the
    /// step leaves it.
    function _commit(Ctx memory cx, uint256[6] memory v, bytes32[3] memory r) private pure returns (bytes32 h) {
        bytes32 world = WorldAccess.commitment(cx);
        uint256 pre = cx.pre;
        assembly ("memory-safe") {
            function put(at, x, l) {
                let keep := shr(shl(3, l), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, l)), x)))
            }
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            put(add(p, 25), mload(v), 8)
            mstore8(add(p, 33), mload(add(v, 32)))
            put(add(p, 34), mload(add(v, 64)), 8)
            put(add(p, 42), mload(add(v, 96)), 8)
            mstore8(add(p, 154), mload(add(v, 128)))
            mstore(add(p, 155), mload(r))
            mstore(add(p, 187), mload(add(r, 32)))
            put(add(p, 219), mload(add(v, 160)), 8)
            mstore(add(p, 347), mload(add(r, 64)))
            mstore(add(p, 411), world)
            h := keccak256(p, 443)
        }
    }

    /// @notice The last sub-step (SPEC.md §5.9 steps 6–7): the transaction environment with
    /// `auth_refund` = `refund`, the checkpoint, and the top frame's first state (or its
    /// terminal state) from the fields the head left.
    function _finish(Ctx memory cx, uint256 refund) private pure returns (bytes32) {
        uint256 env = StepOps.txEnv(cx);
        if (StateRecord.uintAt(env + ENV_AUTH_REFUND, 8) != 0) revert TxEnvMismatch();
        WorldAccess.world(cx);
        WorldAccess.pushCheckpoint(cx);
        bytes32 envHash = _envWithRefund(env, cx.txEnvLen, refund);
        uint256 pre = cx.pre;
        uint256 to = StateRecord.addressAt(pre + StateRecord.ADDRESS);
        uint256 sender = StateRecord.addressAt(pre + StateRecord.CALLER);
        uint256 value = uint256(StateRecord.wordAt(pre + StateRecord.CALL_VALUE));
        uint256 status;
        uint256 gasLeft = StateRecord.uintAt(pre + StateRecord.GAS, 8);
        bytes32 codeHash = StateRecord.wordAt(pre + StateRecord.CODE_HASH);
        if (StateRecord.uintAt(env + ENV_CREATE, 1) == 1) {
            Account memory none;
            if (!createFrame(cx, sender, none, false, to, value)) (status, gasLeft) = (4, 0);
        } else {
            codeHash = enterCall(cx, sender, to, value);
            if (PrecompileCall.isPrecompile(to)) {
                // The head ran it; `is_static` says it failed.
                status = StateRecord.uintAt(pre + StateRecord.IS_STATIC, 1) == 1 ? 4 : 2;
            } else if (codeHash == WorldAccess.KECCAK_EMPTY) {
                status = 1;
            }
        }
        return _commit(cx, [0, status, gasLeft, 0, 0, 0], [codeHash, bytes32(0), envHash]);
    }

    /// @notice `keccak256` of the `len`-byte transaction environment at calldata `env` with its
    /// `auth_refund` replaced by `refund`.
    function _envWithRefund(uint256 env, uint256 len, uint256 refund) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, env, len)
            let at := add(p, 159)
            mstore(at, or(and(mload(at), shr(64, not(0))), shl(192, refund)))
            h := keccak256(p, len)
        }
    }

    /// @notice A call's entry (SPEC.md §5.9 step 7): the value moves, then the recipient is
    /// read; if it is EIP-7702 delegated, its delegate becomes warm (no charge at the top level)
    /// and its code runs. Returns the code hash the top frame runs.
    function enterCall(Ctx memory cx, uint256 sender, uint256 to, uint256 value) internal pure returns (bytes32) {
        WorldAccess.transfer(cx, sender, to, value);
        Account memory target = WorldAccess.account(cx, to);
        if (target.codeHash != WorldAccess.KECCAK_EMPTY) {
            (uint256 code, uint256 len) = WorldAccess.codeOf(cx, target.codeHash);
            if (Authorizations.isDelegation(code, len)) {
                uint256 delegate = StateRecord.addressAt(code + 3);
                WorldAccess.touchAccount(cx, delegate);
                return WorldAccess.account(cx, delegate).codeHash;
            }
        }
        return target.codeHash;
    }

    /// @notice The top frame of a creation at `to`: false on a collision (code or nonce: the
    /// frame halts at once), else the account is created (nonce 1, balance + value, a new
    /// incarnation, in the created set) and, for a value, the sender (its record `senderRec`
    /// when `known`, else read now) pays it.
    function createFrame(
        Ctx memory cx,
        uint256 sender,
        Account memory senderRec,
        bool known,
        uint256 to,
        uint256 value
    ) internal pure returns (bool) {
        Account memory target = WorldAccess.account(cx, to);
        if (target.codeHash != WorldAccess.KECCAK_EMPTY || target.nonce != 0) return false;
        target.nonce = 1;
        target.balance = OpFees.saturatingAdd(target.balance, value);
        target.codeHash = WorldAccess.KECCAK_EMPTY;
        target.storageRoot = BaseTrie.EMPTY_ROOT;
        if (target.incarnation < MAX_NONCE) target.incarnation += 1;
        WorldAccess.setAccount(cx, to, target);
        if (value != 0) {
            if (!known) senderRec = WorldAccess.account(cx, sender);
            unchecked {
                senderRec.balance -= value;
            }
            WorldAccess.setAccount(cx, sender, senderRec);
        }
        WorldAccess.markCreated(cx, to);
        return true;
    }
}
