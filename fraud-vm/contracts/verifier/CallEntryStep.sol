// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {WordTree} from "./WordTree.sol";
import {FrameEntry, Callee} from "./FrameEntry.sol";
import {PrecompileCall} from "./PrecompileCall.sol";
import "./StepErrors.sol";

/// @title CALL, CALLCODE, DELEGATECALL, STATICCALL (fraud-vm/SPEC.md §5.14; Rust: step/call.rs)
/// @notice A call that completes within the step (depth or balance failure, an account without
/// code) or enters the callee's frame: the post-state is then the callee's first state, whose
/// `frames_root` links the suspended caller. A call to a precompile completes within the step,
/// run by the deployed `L2Precompiles`.
library CallEntryStep {
    uint256 internal constant CALL_VALUE = 9000;
    uint256 internal constant COLD_ACCOUNT_EXTRA = 2500;
    uint256 internal constant NEW_ACCOUNT = 25000;
    uint256 internal constant STIPEND = 2300;
    uint256 internal constant MAX_DEPTH = 1024;
    /// The identity precompile, whose output is its input.
    uint256 internal constant IDENTITY = 4;
    /// The sha256 and ripemd160 precompiles, whose long input the range oracle hashes.
    uint256 internal constant SHA256 = 2;
    uint256 internal constant RIPEMD160 = 3;
    /// Their range job flags (`RangeOracle.SHA256`, `RangeOracle.RIPEMD160`).
    uint256 internal constant JOB_SHA256 = 4;
    uint256 internal constant JOB_RIPEMD160 = 8;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// The call's operands and frame values.
    struct Call {
        uint256 to;
        uint256 value;
        uint256 inOffset;
        uint256 inLen;
        uint256 outOffset;
        uint256 outLen;
        bytes32 codeHash;
        uint256 limit;
        uint256 input;
        /// The input's word-tree root when the range oracle wrote it (SPEC.md §3.4.1; 0: read).
        bytes32 inputRoot;
    }

    /// @notice Executes the call opcode `op`, running a precompile with the deployed
    /// `L2Precompiles` at `precompiles`; an entry leaves the callee's commitment in `cx.entered`.
    function execute(Ctx memory cx, uint256 op, address precompiles) internal view returns (Flow) {
        Call memory c;
        uint256 requested = StepOps.item(cx, 0);
        c.to = uint256(uint160(StepOps.item(cx, 1)));
        uint256 i = 2;
        if (op == 0xf1 || op == 0xf2) c.value = StepOps.item(cx, i++);
        if (op == 0xf1 && StateRecord.uintAt(cx.pre + StateRecord.IS_STATIC, 1) == 1 && c.value != 0) {
            return Flow.Halt;
        }
        bool ok;
        (ok, c.inOffset, c.inLen) = _range(cx, StepOps.item(cx, i), StepOps.item(cx, i + 1));
        if (!ok) return Flow.Halt;
        (ok, c.outOffset, c.outLen) = _range(cx, StepOps.item(cx, i + 2), StepOps.item(cx, i + 3));
        if (!ok) return Flow.Halt;
        if (c.value != 0 && !StepOps.charge(cx, CALL_VALUE)) return Flow.Halt;
        if (!_access(cx, c.to)) return Flow.Halt;
        if (!_code(cx, c, op)) return Flow.Halt;
        // EIP-150: all but one 64th of the gas left.
        uint256 available = cx.gas - cx.gas / 64;
        c.limit = requested < available ? requested : available;
        if (!StepOps.charge(cx, c.limit)) return Flow.Halt;
        if (c.value != 0) c.limit += STIPEND;
        uint256 me = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
        if (
            StateRecord.uintAt(cx.pre + StateRecord.DEPTH, 8) >= MAX_DEPTH
                || (c.value != 0 && WorldAccess.account(cx, me).balance < c.value)
        ) {
            // Fails before the callee runs: the gas comes back, 0 is pushed, no return data.
            return _complete(cx, c.limit, 0);
        }
        bool precompile = PrecompileCall.isPrecompile(c.to);
        uint256 frameAddress = (op == 0xf1 || op == 0xfa) ? c.to : me;
        // A long input of a call that is not to a precompile, or to identity, is the range
        // oracle's WRITE of it into the empty tree (the callee's calldata, identity's output);
        // sha256's and ripemd160's is the oracle's digest of it; the other precompiles run on
        // the bytes themselves (SPEC.md §3.4.1).
        if (c.inLen > 0 && StepOps.memoryIsFact(cx)) {
            if (c.to == SHA256 || c.to == RIPEMD160) return _longDigest(cx, c, me, frameAddress);
            if (!precompile || c.to == IDENTITY) c.inputRoot = StepOps.intoEmptyTree(cx, c.inOffset, c.inLen);
        }
        if (c.inputRoot == 0) c.input = StepOps.readMemory(cx, c.inOffset, c.inLen);
        if (precompile) {
            if (c.inputRoot != 0) return _longIdentity(cx, c, me, frameAddress);
            return _precompile(cx, c, me, frameAddress, precompiles);
        }
        if (c.codeHash == WorldAccess.KECCAK_EMPTY) {
            WorldAccess.transfer(cx, me, frameAddress, c.value);
            return _complete(cx, c.limit, 1);
        }
        WorldAccess.pushCheckpoint(cx);
        WorldAccess.transfer(cx, me, frameAddress, c.value);
        cx.entered = _callee(cx, c, op, frameAddress);
        return Flow.Enter;
    }

    /// @notice The callee's first state (SPEC.md §5.14 step 11) with `frames_root` linking the
    /// suspended caller (§3.5); its commitment.
    function _callee(Ctx memory cx, Call memory c, uint256 op, uint256 frameAddress) private pure returns (bytes32) {
        uint256 pre = cx.pre;
        bytes32 world = WorldAccess.commitment(cx);
        Callee memory callee;
        callee.gas = c.limit;
        callee.framesRoot = FrameEntry.link(cx, c.outOffset, c.outLen, FrameEntry.CALL, world);
        callee.addr = frameAddress;
        callee.caller = StateRecord.addressAt(pre + StateRecord.ADDRESS);
        callee.value = c.value;
        callee.isStatic = StateRecord.uintAt(pre + StateRecord.IS_STATIC, 1);
        if (op == 0xf4) {
            callee.caller = StateRecord.addressAt(pre + StateRecord.CALLER);
            callee.value = uint256(StateRecord.wordAt(pre + StateRecord.CALL_VALUE));
        } else if (op == 0xfa) {
            callee.isStatic = 1;
        }
        callee.codeHash = c.codeHash;
        callee.calldataRoot = c.inputRoot != 0 ? c.inputRoot : WordTree.rootOf(c.input, c.inLen);
        callee.calldataSize = c.inLen;
        callee.world = world;
        return FrameEntry.commit(pre, callee);
    }

    /// @notice A call that reaches a precompile (SPEC.md §5.14 step 9): on success the value
    /// moves, the unused gas returns, the output is copied to the output buffer and becomes the
    /// return data, and 1 is pushed; a failure consumes `limit`, empties the return data and
    /// pushes 0.
    function _precompile(Ctx memory cx, Call memory c, uint256 me, uint256 frameAddress, address precompiles)
        private
        view
        returns (Flow)
    {
        (bool ok, uint256 used, uint256 output, uint256 outLen) =
            PrecompileCall.run(precompiles, c.to, c.input, c.inLen, c.limit);
        return _ran(cx, c, me, frameAddress, ok, used, output, outLen);
    }

    /// @notice A call to sha256 or ripemd160 with a long input (SPEC.md §3.4.1): the digest is
    /// the range oracle's fact (the input's entry a fact marker), the price `60 + 12` or
    /// `600 + 120` a word is computed, and the one-word output is handled as any precompile's.
    function _longDigest(Ctx memory cx, Call memory c, uint256 me, uint256 frameAddress) private view returns (Flow) {
        StepOps.takeMemoryFact(cx, c.inOffset, c.inLen);
        bool sha = c.to == SHA256;
        (bytes32 digest,) = StepOps.rangeFact(
            cx, cx.memoryRoot, c.inOffset, StepOps.TREE_BYTES, c.inLen, sha ? JOB_SHA256 : JOB_RIPEMD160, 0, 0
        );
        uint256 used = sha ? 60 + StepOps.wordCost(12, c.inLen) : 600 + StepOps.wordCost(120, c.inLen);
        uint256 output;
        assembly ("memory-safe") {
            output := mload(0x40)
            mstore(output, digest)
            mstore(0x40, add(output, 32))
        }
        return _ran(cx, c, me, frameAddress, used <= c.limit, used, output, 32);
    }

    /// @notice The end of a precompile call that ran (`ok`, `used` gas, its output).
    function _ran(
        Ctx memory cx,
        Call memory c,
        uint256 me,
        uint256 frameAddress,
        bool ok,
        uint256 used,
        uint256 output,
        uint256 outLen
    ) private pure returns (Flow) {
        cx.returndataSet = true;
        if (!ok) {
            cx.returndataRoot = EMPTY_WORDS;
            cx.returndataSize = 0;
            StepOps.push(cx, 0);
            return Flow.Next;
        }
        WorldAccess.transfer(cx, me, frameAddress, c.value);
        cx.gas += c.limit - used;
        StepOps.writeMemory(cx, c.outOffset, output, outLen < c.outLen ? outLen : c.outLen);
        cx.returndataRoot = WordTree.rootOf(output, outLen);
        cx.returndataSize = outLen;
        StepOps.push(cx, 1);
        return Flow.Next;
    }

    /// @notice A call to identity with a long input (SPEC.md §3.4.1): its price `15 + 3` a word;
    /// on success the output (the input, whose tree the oracle wrote) becomes the return data
    /// and its first `min(out_len, in_len)` bytes the oracle's WRITE from the input's memory
    /// range over the output buffer, both entries fact markers.
    function _longIdentity(Ctx memory cx, Call memory c, uint256 me, uint256 frameAddress)
        private
        view
        returns (Flow)
    {
        uint256 used = 15 + StepOps.wordCost(3, c.inLen);
        if (used > c.limit) {
            cx.returndataSet = true;
            cx.returndataRoot = EMPTY_WORDS;
            cx.returndataSize = 0;
            StepOps.push(cx, 0);
            return Flow.Next;
        }
        WorldAccess.transfer(cx, me, frameAddress, c.value);
        uint256 n = c.inLen < c.outLen ? c.inLen : c.outLen;
        if (n > 0) {
            StepOps.takeMemoryFact(cx, c.outOffset, n);
            (, cx.memoryRoot) = StepOps.rangeFact(
                cx, cx.memoryRoot, c.inOffset, StepOps.TREE_BYTES, n, StepOps.JOB_WRITE, cx.memoryRoot, c.outOffset
            );
        }
        _complete(cx, c.limit - used, 1);
        cx.returndataRoot = c.inputRoot;
        cx.returndataSize = c.inLen;
        return Flow.Next;
    }

    /// @notice A call completed within the step: gas returned, return data emptied, `flag`
    /// pushed.
    function _complete(Ctx memory cx, uint256 limit, uint256 flag) private pure returns (Flow) {
        cx.gas += limit;
        cx.returndataSet = true;
        cx.returndataRoot = EMPTY_WORDS;
        cx.returndataSize = 0;
        StepOps.push(cx, flag);
        return Flow.Next;
    }

    /// @notice The code to run: none for CALL to an empty account (25000 more with value), else
    /// the account's code hash, through an EIP-7702 delegation (100 more, and the delegate's
    /// access). False if out of gas.
    function _code(Ctx memory cx, Call memory c, uint256 op) private pure returns (bool) {
        Account memory target = WorldAccess.account(cx, c.to);
        c.codeHash = target.codeHash;
        bool empty = target.nonce == 0 && target.balance == 0 && target.codeHash == WorldAccess.KECCAK_EMPTY;
        if (op == 0xf1 && empty) {
            return c.value == 0 || StepOps.charge(cx, NEW_ACCOUNT);
        }
        if (c.codeHash == WorldAccess.KECCAK_EMPTY) return true;
        (uint256 code, uint256 len) = WorldAccess.codeOf(cx, c.codeHash);
        if (len == 23 && StateRecord.uintAt(code, 3) == 0xef0100) {
            if (!StepOps.charge(cx, 100)) return false;
            uint256 delegate = StateRecord.addressAt(code + 3);
            if (!_access(cx, delegate)) return false;
            c.codeHash = WorldAccess.account(cx, delegate).codeHash;
        }
        return true;
    }

    function _access(Ctx memory cx, uint256 addr) private pure returns (bool) {
        return !WorldAccess.touchAccount(cx, addr) || StepOps.charge(cx, COLD_ACCOUNT_EXTRA);
    }

    /// @notice A memory range operand pair: `len ≥ 2^64` halts; expanded when `len > 0`; the
    /// offset is 0 for an empty range.
    function _range(Ctx memory cx, uint256 offset, uint256 len) private pure returns (bool, uint256, uint256) {
        if (len >= StepOps.U64) return (false, 0, 0);
        if (!StepOps.expand(cx, offset, len)) return (false, 0, 0);
        return (true, len == 0 ? 0 : offset, len);
    }
}
