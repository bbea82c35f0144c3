// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StateRecord, StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
import "./StepErrors.sol";

/// @notice The code facts of the range oracle (`RangeOracle.codeFact`).
interface ICodeFacts {
    /// `keccak256(abi.encode(codeRoot, bitmapRoot, len))` of the code whose hash is `codeHash`,
    /// or zero if no one has absorbed that code.
    function codeFact(bytes32 codeHash) external view returns (bytes32);
}

/// @title The code window of a step in long code (fraud-vm/SPEC.md §6.3, §3.4.1 [v0.12])
/// @notice In place of the code, the L1 form of an opcode step that `OneStepVerifier` executes
/// may carry `MAGIC ‖ u32 len(code) ‖ R_c ‖ R_j ‖ [range_proof(code words)] ‖
/// [range_proof(bitmap word)]`: the oracle's code fact ties `R_c` (the code's word tree) and
/// `R_j` (its JUMPDEST bitmap's) to the state's code hash, and the step reads only the proven
/// words. Rust: `fraud_vm::range_fact::code_window`.
library CodeWindow {
    /// "\xfeL1C": code that starts with INVALID halts at pc 0, and a canonical code is taken
    /// first whenever it hashes to the code hash.
    uint256 internal constant MAGIC = 0xfe4c3143;
    /// Bytes before the range proofs: magic, length, `R_c`, `R_j`.
    uint256 internal constant HEAD = 72;

    /// @notice Whether `cx`'s code is an opened code window: its base is not where a canonical
    /// proof's code starts (an opened window's base is `HEAD + RANGE_HEAD − 32·first` past
    /// that offset, never 0 past it, or 0).
    function isOpen(Ctx memory cx) internal pure returns (bool) {
        return cx.code != cx.pre + StateRecord.LEN + 4;
    }

    /// @notice Whether the `len` code bytes at calldata offset `at` start like a code window.
    function isWindow(uint256 at, uint256 len) internal pure returns (bool) {
        return len >= HEAD && StateRecord.uintAt(at, 4) == MAGIC;
    }

    /// @notice The opcode the window at `at` shows at `pc`, unchecked (for routing only: the
    /// contract that executes the step checks it).
    function routeOp(uint256 at, uint256 pc) internal pure returns (uint256) {
        uint256 p = at + HEAD;
        if (pc >= StateRecord.uintAt(at + 4, 4) || StateRecord.uintAt(p, 4) != pc >> 5) return 0;
        return StateRecord.uintAt(p + WordTree.RANGE_HEAD + (pc & 31), 1);
    }

    /// @notice Opens the code window in `cx.code` (whose bytes do not hash to `codeHash`):
    /// checks the fact of `oracle`, the code words that hold the opcode at the pre-state's pc
    /// and its immediates, and the bitmap word if given; points `cx.code` where those words
    /// read at their byte positions, and sets `cx.codeLen` to the code's length and
    /// `cx.codeRoot` to `R_c`. [v0.13] For CODECOPY, what follows the opcode's word is the range
    /// of the copied code words, framed here and checked under `R_c` where it is read (`copy`).
    function open(Ctx memory cx, bytes32 codeHash, address oracle) internal view {
        uint256 at = cx.code;
        uint256 end = at + cx.codeLen;
        if (!isWindow(at, cx.codeLen)) revert CodeHashMismatch();
        uint256 len = StateRecord.uintAt(at + 4, 4);
        bytes32 codeRoot = StateRecord.wordAt(at + 8);
        bytes32 bitmapRoot = StateRecord.wordAt(at + 40);
        // A step verifier called by an account that names no oracle has no facts to read.
        bytes32 fact = oracle == address(0) ? bytes32(0) : ICodeFacts(oracle).codeFact(codeHash);
        if (fact == 0) revert RangeFactMissing(codeHash);
        if (keccak256(abi.encode(codeRoot, bitmapRoot, len)) != fact) revert CodeHashMismatch();
        uint256 pc = StateRecord.uintAt(cx.pre + StateRecord.PC, 8);
        uint256 p = at + HEAD;
        uint256 base;
        uint256 op;
        if (pc < len) {
            // The word that holds pc, and as many after it as a PUSH's immediates reach.
            uint256 first = pc >> 5;
            if (p + WordTree.RANGE_HEAD + 32 > end || StateRecord.uintAt(p, 4) != first) revert BadCode();
            op = StateRecord.uintAt(p + WordTree.RANGE_HEAD + (pc & 31), 1);
            uint256 n = op >= 0x60 && op <= 0x7f ? op - 0x5f : 0;
            p = _check(p, first, ((pc + n) >> 5) - first + 1, codeRoot, end);
            unchecked {
                base = at + HEAD + WordTree.RANGE_HEAD - (first << 5);
            }
        }
        cx.code = base;
        cx.codeLen = len;
        cx.codeRoot = codeRoot;
        if (p < end) {
            // The step's only code witness: one word of the bitmap, for a jump (its index is
            // checked where it is read), or [v0.13] CODECOPY's range of code words.
            if (cx.codeLeft != 0) revert UnusedWitness(WitnessList.CODE);
            (cx.codeNext, cx.codeLeft) = (p, 1);
            if (op == 0x39) p = _frame(p, end);
            else p = _check(p, StateRecord.uintAt(p, 4), 1, bitmapRoot, end);
        }
        if (p != end) revert BadCode();
    }

    /// @notice [v0.13] CODECOPY through a code window: `len` bytes of the code from `src`
    /// (zero past `cx.codeLen`) in fresh memory, read from the window's range of code words,
    /// which must be exactly the words that hold `[src, min(src + len, len(code)))`, checked
    /// under `cx.codeRoot` (SPEC.md §6.3). A copy that reads no code byte takes no range.
    function copy(Ctx memory cx, uint256 src, uint256 len) internal pure returns (uint256 data) {
        data = StepOps.alloc(len);
        uint256 codeLen = cx.codeLen;
        if (src >= codeLen) return data;
        uint256 n = codeLen - src < len ? codeLen - src : len;
        if (cx.codeLeft == 0) revert MissingWitness(WitnessList.CODE);
        cx.codeLeft = 0;
        uint256 first = src >> 5;
        uint256 count = ((src + n - 1) >> 5) - first + 1;
        uint256 buf = StepOps.alloc(count << 5);
        (bool ok,,) = WordTree.checkRange(cx.codeNext, first, count, cx.codeRoot, buf);
        if (!ok) revert BadCode();
        assembly ("memory-safe") {
            mcopy(data, add(buf, and(src, 31)), n)
        }
    }

    /// @notice The offset after the range proof at `p`, framed by its own start and count
    /// within the window (ending at `end`): checked under its root by its reader.
    function _frame(uint256 p, uint256 end) private pure returns (uint256 next) {
        if (p + WordTree.RANGE_HEAD > end) revert BadCode();
        uint256 start = StateRecord.uintAt(p, 4);
        uint256 count = StateRecord.uintAt(p + 4, 4);
        if (count == 0 || start + count > WordTree.LEAVES) revert BadCode();
        next = p + WordTree.RANGE_HEAD + 32 * (count + WordTree.rangeSiblings(start, count));
        if (next > end) revert BadCode();
    }

    /// @notice Checks the range proof at `p` for exactly `[start, start + count)` under `root`
    /// within the window (ending at `end`); returns the offset after it.
    function _check(uint256 p, uint256 start, uint256 count, bytes32 root, uint256 end)
        private
        pure
        returns (uint256 next)
    {
        if (p + WordTree.RANGE_HEAD > end || start >= WordTree.LEAVES) revert BadCode();
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
        }
        bool ok;
        (ok,, next) = WordTree.checkRange(p, start, count, root, buf);
        if (!ok || next > end) revert BadCode();
    }
}
