// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {WordTree} from "./WordTree.sol";
import {StackChain} from "./StackChain.sol";
import "./StepErrors.sol";

/// How an opcode step ends (the Rust verifier's `Flow` plus its exceptional halt).
enum Flow {
    /// Continue at `pc + 1`.
    Next,
    /// Continue at `pc + 1 + n` (PUSHn), `n` in `Ctx.target`.
    Skip,
    /// Continue at the validated jump destination in `Ctx.target`.
    Jump,
    /// STOP: the frame ends successfully without output.
    Stop,
    /// RETURN or REVERT: the frame ends with status `Ctx.target` and its output as the return
    /// data (`Ctx.returndataRoot`, `Ctx.returndataSize`).
    Finish,
    /// A call enters the callee: the post-state is the callee's first state (`Ctx.entered`).
    Enter,
    /// Exceptional halt: status 4, gas 0, every other field of the pre-state kept.
    Halt
}

/// The working state of one opcode step. Witnesses stay in calldata: the context holds their
/// offsets and the cursors of the lists consumed front to back (SPEC.md §6.2).
struct Ctx {
    /// Calldata offset of the 443-byte pre-state record.
    uint256 pre;
    /// Calldata offset and length of the frame's code. [v0.12] With a code window (SPEC.md §6.3,
    /// `CodeWindow.open`), `code` is the base from which the proven code words read at their
    /// byte positions (never the offset after the state record's length field, where the code
    /// of a canonical proof starts; modulo 2^256: it may lie below 0, so it is added unchecked)
    /// and `codeLen` the code's length.
    uint256 code;
    uint256 codeLen;
    /// [v0.13] With a code window, `R_c`: the word-tree root of the code, which the code fact
    /// proves (CODECOPY reads its range under it).
    bytes32 codeRoot;
    /// Program counter of the pre-state.
    uint256 pc;
    /// Gas left, after the static cost once the step runs.
    uint256 gas;
    /// Calldata offset and count of the popped stack items (top first).
    uint256 items;
    uint256 itemCount;
    /// Items popped so far: all the opcode pops, except where a LOG halts before its topics.
    uint256 popped;
    /// Whether the proof has the root below the popped items, and that root.
    bool hasRest;
    bytes32 rest;
    /// Root of the stack as the step leaves it: the rest, then every push folded on.
    bytes32 stackRoot;
    /// Items pushed so far.
    uint256 pushed;
    /// Stack length after the step.
    uint256 stackLen;
    /// Refund counter (EIP-3529) as the step leaves it.
    int256 refund;
    /// Memory root and size as the step leaves them.
    bytes32 memoryRoot;
    uint256 memorySize;
    /// Next unread memory, calldata and return data range multiproof, and how many remain.
    uint256 memNext;
    uint256 memLeft;
    uint256 cdNext;
    uint256 cdLeft;
    uint256 rdNext;
    uint256 rdLeft;
    /// Calldata offset and length of the transaction environment record (length 0: absent).
    uint256 txEnv;
    uint256 txEnvLen;
    bool txEnvUsed;
    /// Calldata offset of the block environment record (0: absent).
    uint256 blockEnv;
    bool blockEnvUsed;
    /// Calldata offset of the world record (0: absent), whether the step read it, and its
    /// transient root as the step leaves it.
    uint256 world;
    bool worldUsed;
    bool worldChanged;
    bytes32 transientRoot;
    /// Next unread sparse-tree path and how many remain.
    uint256 treeNext;
    uint256 treeLeft;
    /// Accounts, accessed-set and transient roots of the world as the step leaves them, and the
    /// original values' root (EIP-2200).
    bytes32 accountsRoot;
    bytes32 originalRoot;
    /// The checkpoint chain as the step leaves it.
    bytes32 checkpointRoot;
    /// The created set and the self-destruct chain as the step leaves them.
    bytes32 createdRoot;
    bytes32 destructsRoot;
    /// The log chain and its length as the step leaves them.
    bytes32 logsRoot;
    uint256 logsCount;
    bytes32 accessedRoot;
    /// Next unread account record (113 bytes), storage value, base account proof and base slot
    /// proof, and how many of each remain.
    uint256 accountNext;
    uint256 accountLeft;
    uint256 slotNext;
    uint256 slotLeft;
    uint256 baseAccountNext;
    uint256 baseAccountLeft;
    uint256 baseSlotNext;
    uint256 baseSlotLeft;
    /// Next unread account code witness (`u32 len ‖ code`) and how many remain. [v0.12] With a
    /// code window, the range proof of its bitmap word (the window's only code witness).
    uint256 codeNext;
    uint256 codeLeft;
    /// Calldata offsets of the frame link preimage and of the checkpoint preimage (0: absent),
    /// and whether the step read them.
    uint256 frame;
    bool frameUsed;
    uint256 checkpoint;
    bool checkpointUsed;
    /// The self-destruct list (transaction end steps): whether the proof has one, the calldata
    /// offset and count of its addresses, and whether the step read it.
    bool hasDestructs;
    uint256 destructs;
    uint256 destructsCount;
    bool destructsUsed;
    /// The transaction (transaction start steps): whether the proof has one, the calldata
    /// offset and length of its EIP-2718 encoding, the offset of its word proof in the
    /// transaction list, and whether the step read it.
    bool hasTransaction;
    uint256 txEncoding;
    uint256 txEncodingLen;
    uint256 txPosition;
    bool transactionUsed;
    /// [v0.11] The transaction is in its L1 form (flag 2, SPEC.md §3.4.1): `txEncoding` holds
    /// the encoding's root, length, head and tail, not the encoding.
    bool txLong;
    /// Calldata offsets (0: absent) of the block constants (138 bytes, SPEC.md §3.6), the sealing
    /// record (385 bytes, §5.19), the fold key (`kind ‖ address ‖ [incarnation ‖ slot]`) and the
    /// receipt (§6.3), and whether the step read each.
    uint256 constants;
    bool constantsUsed;
    uint256 sealing;
    bool sealingUsed;
    uint256 foldKey;
    bool foldKeyUsed;
    uint256 receipt;
    bool receiptUsed;
    /// Next unread Merkle-Patricia write witness (`nodes ‖ u8 has_sibling ‖ [u32 len ‖ node]`,
    /// SPEC.md §3.10) and how many remain.
    uint256 trieNext;
    uint256 trieLeft;
    /// `n` of `Flow.Skip`, the target of `Flow.Jump`, or the status of `Flow.Finish`.
    uint256 target;
    /// The return data a RETURN or REVERT leaves, or a call that completes within the step
    /// (`returndataSet`).
    bytes32 returndataRoot;
    uint256 returndataSize;
    bool returndataSet;
    /// The commitment of the callee's first state, for `Flow.Enter`.
    bytes32 entered;
    /// The range oracle whose facts stand for long ranges (SPEC.md §3.4.1; 0: none).
    address rangeOracle;
}

/// @notice The range oracle's facts as the step verifier reads them (`RangeOracle.fact`).
interface IRangeFacts {
    /// Whether job `id` is complete, the hash of its bytes and the destination root they leave.
    function fact(bytes32 id) external view returns (bool complete, bytes32 hash, bytes32 dstResult);
}

/// @notice A step verifier that names its range oracle (`OneStepVerifier.rangeOracle`).
interface IRangeOracleSource {
    /// The oracle whose facts the verifier's steps read.
    function rangeOracle() external view returns (address);
}

/// @title Field offsets of the machine state record (fraud-vm/SPEC.md §3.1)
library StateRecord {
    uint256 internal constant LEN = 443;
    uint256 internal constant DEPTH = 17;
    uint256 internal constant PC = 25;
    uint256 internal constant STATUS = 33;
    uint256 internal constant GAS = 34;
    uint256 internal constant ADDRESS = 82;
    uint256 internal constant CALLER = 102;
    uint256 internal constant CALL_VALUE = 122;
    uint256 internal constant IS_STATIC = 154;
    uint256 internal constant CODE_HASH = 155;
    uint256 internal constant STACK_ROOT = 187;
    uint256 internal constant STACK_LEN = 219;
    uint256 internal constant MEMORY_ROOT = 227;
    uint256 internal constant MEMORY_SIZE = 259;
    uint256 internal constant CALLDATA_ROOT = 267;
    uint256 internal constant CALLDATA_SIZE = 299;
    uint256 internal constant RETURNDATA_ROOT = 307;
    uint256 internal constant RETURNDATA_SIZE = 339;
    uint256 internal constant TX_ENV_HASH = 347;
    uint256 internal constant BLOCK_ENV_HASH = 379;

    /// @notice The big-endian unsigned integer of `len` bytes at calldata offset `at`.
    function uintAt(uint256 at, uint256 len) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, len)), calldataload(at))
        }
    }

    /// @notice The 32 bytes at calldata offset `at`.
    function wordAt(uint256 at) internal pure returns (bytes32 v) {
        assembly ("memory-safe") {
            v := calldataload(at)
        }
    }

    /// @notice The 20-byte address at calldata offset `at`, as a number.
    function addressAt(uint256 at) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(96, calldataload(at))
        }
    }
}

/// @title Shared operations of an opcode step: stack, gas, memory expansion, and the reads and
/// writes of memory, calldata, return data and environments, each witness checked before use
/// (fraud-vm/SPEC.md §4, §5.6, §5.7; the Rust `Ctx` in fraud-vm/src/step/mod.rs).
library StepOps {
    uint256 internal constant U64 = 1 << 64;

    /// @notice Pops the `i`-th item (0 is the top; items are popped in order). The verifier has
    /// checked the proof's items against the pre-state's stack root.
    function item(Ctx memory cx, uint256 i) internal pure returns (uint256 v) {
        if (i >= cx.itemCount) revert MissingWitness(WitnessList.STACK_ITEM);
        if (i >= cx.popped) cx.popped = i + 1;
        uint256 at = cx.items + 32 * i;
        assembly ("memory-safe") {
            v := calldataload(at)
        }
    }

    /// @notice Pushes a result.
    function push(Ctx memory cx, uint256 v) internal pure {
        cx.stackRoot = StackChain.push(cx.stackRoot, v);
        cx.pushed += 1;
    }

    /// @notice Charges `cost` gas; false (out of gas) if less is left.
    function charge(Ctx memory cx, uint256 cost) internal pure returns (bool) {
        if (cost > cx.gas) return false;
        cx.gas -= cost;
        return true;
    }

    /// @notice Memory cost of `words` words: `3 words + words² / 512` (SPEC.md §4.3).
    function memoryCost(uint256 words) internal pure returns (uint256) {
        return 3 * words + (words * words) / 512;
    }

    /// @notice `perWord` gas for every started word of `len` bytes.
    function wordCost(uint256 perWord, uint256 len) internal pure returns (uint256) {
        return perWord * ((len + 31) / 32);
    }

    /// @notice Expands memory over `[offset, offset + len)` and charges for it (SPEC.md §4.3).
    /// Nothing happens for `len == 0`. False means out of gas. `len` is below 2^64.
    function expand(Ctx memory cx, uint256 offset, uint256 len) internal pure returns (bool) {
        if (len == 0) return true;
        if (offset >= U64) return false;
        uint256 newWords = (offset + len + 31) / 32;
        uint256 curWords = cx.memorySize / 32;
        if (newWords > curWords) {
            if (!charge(cx, memoryCost(newWords) - memoryCost(curWords))) return false;
            // Unreachable under the 2^32 gas cap (it needs more than 2^55 gas); kept as a guard.
            if (newWords > WordTree.LEAVES) revert UnsupportedStep("memory beyond 2^32 words");
            cx.memorySize = newWords * 32;
        }
        return true;
    }

    /// @notice A fresh zeroed buffer of `len` bytes in memory.
    function alloc(uint256 len) internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            let size := and(add(len, 31), not(31))
            calldatacopy(p, calldatasize(), size)
            mstore(0x40, add(p, size))
        }
    }

    /// @notice Reads `len` bytes of (already expanded) memory from `offset` with one memory
    /// range multiproof (SPEC.md §5.6); returns a memory pointer to the bytes.
    function readMemory(Ctx memory cx, uint256 offset, uint256 len) internal pure returns (uint256 data) {
        if (len == 0) return alloc(0);
        uint256 first = offset / 32;
        uint256 count = (offset + len + 31) / 32 - first;
        uint256 buf = alloc(count * 32);
        nextMemoryRange(cx, first, count, buf);
        data = buf + (offset % 32);
    }

    /// @notice Checks the next memory range multiproof at `[first, first + count)` against the
    /// current memory root, copies its words to `buf` and advances the cursor; returns the
    /// calldata offset of its siblings.
    function nextMemoryRange(Ctx memory cx, uint256 first, uint256 count, uint256 buf)
        private
        pure
        returns (uint256 siblings)
    {
        if (cx.memLeft == 0) revert MissingWitness(WitnessList.MEMORY_RANGE);
        bool ok;
        (ok, siblings, cx.memNext) = WordTree.checkRange(cx.memNext, first, count, cx.memoryRoot, buf);
        if (!ok) revert BadMemoryProof(first);
        cx.memLeft -= 1;
    }

    /// @notice Writes the `len` bytes at memory pointer `data` into (already expanded) memory at
    /// `offset`: one range multiproof shows the old words against the current root, and the new
    /// root is folded from the spliced words with the same siblings (SPEC.md §5.6).
    function writeMemory(Ctx memory cx, uint256 offset, uint256 data, uint256 len) internal pure {
        if (len == 0) return;
        uint256 first = offset / 32;
        uint256 count = (offset + len + 31) / 32 - first;
        uint256 buf = alloc(count * 32);
        uint256 siblings = nextMemoryRange(cx, first, count, buf);
        assembly ("memory-safe") {
            mcopy(add(buf, mod(offset, 32)), data, len)
        }
        cx.memoryRoot = WordTree.rangeRoot(siblings, first, count, buf);
    }

    /// @notice Reads `len` bytes of calldata from `offset`, zero past `calldata_size`, with one
    /// calldata range multiproof of the words read (SPEC.md §5.7); returns a memory pointer to
    /// the bytes.
    function readCalldata(Ctx memory cx, uint256 offset, uint256 len) internal pure returns (uint256 data) {
        uint256 size = StateRecord.uintAt(cx.pre + StateRecord.CALLDATA_SIZE, 8);
        if (offset >= U64 || offset >= size || len == 0) return alloc(len);
        uint256 end = offset + len < size ? offset + len : size;
        uint256 first = offset / 32;
        uint256 count = (end + 31) / 32 - first;
        uint256 buf = alloc((offset % 32) + len + 32);
        if (cx.cdLeft == 0) revert MissingWitness(WitnessList.CALLDATA_RANGE);
        bool ok;
        (ok,, cx.cdNext) = WordTree.checkRange(
            cx.cdNext, first, count, StateRecord.wordAt(cx.pre + StateRecord.CALLDATA_ROOT), buf
        );
        if (!ok) revert BadCalldataProof(first);
        cx.cdLeft -= 1;
        uint256 keep = end - (first + count - 1) * 32;
        assembly ("memory-safe") {
            // Bytes at or past the end of the calldata read as zero.
            if lt(keep, 32) {
                let at := add(buf, shl(5, sub(count, 1)))
                mstore(at, and(mload(at), not(shr(shl(3, keep), not(0)))))
            }
        }
        data = buf + (offset % 32);
    }

    /// @notice Reads `[offset, offset + len)` of the return data, which the caller has checked
    /// to lie within `returndata_size`, with one return data range multiproof; returns a memory
    /// pointer to the bytes.
    function readReturndata(Ctx memory cx, uint256 offset, uint256 len) internal pure returns (uint256 data) {
        if (len == 0) return alloc(0);
        uint256 first = offset / 32;
        uint256 count = (offset + len + 31) / 32 - first;
        uint256 buf = alloc(count * 32);
        if (cx.rdLeft == 0) revert MissingWitness(WitnessList.RETURNDATA_RANGE);
        bool ok;
        (ok,, cx.rdNext) = WordTree.checkRange(
            cx.rdNext, first, count, StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT), buf
        );
        if (!ok) revert BadReturndataProof(first);
        cx.rdLeft -= 1;
        data = buf + (offset % 32);
    }

    /// Bit 31 of a range entry's count: the entry is a fact marker, its words and siblings
    /// absent (SPEC.md §3.4.1, §6.3).
    uint256 internal constant FACT_BIT = 1 << 31;
    /// Bytes a word tree holds, 2^37: the source size of a memory range job.
    uint256 internal constant TREE_BYTES = 1 << 37;
    /// Range job flags (`RangeOracle.HASH`, `RangeOracle.WRITE`).
    uint256 internal constant JOB_HASH = 1;
    uint256 internal constant JOB_WRITE = 2;

    /// @notice Whether the next unread memory range entry is a fact marker.
    function memoryIsFact(Ctx memory cx) internal pure returns (bool) {
        return cx.memLeft != 0 && _isMarker(cx.memNext);
    }

    function _isMarker(uint256 entry) private pure returns (bool) {
        return StateRecord.uintAt(entry + 4, 4) & FACT_BIT != 0;
    }

    /// @notice Consumes the next memory entry as the fact marker of `[offset, offset + len)`.
    function takeMemoryFact(Ctx memory cx, uint256 offset, uint256 len) internal pure {
        if (cx.memLeft == 0) revert MissingWitness(WitnessList.MEMORY_RANGE);
        uint256 first = offset / 32;
        if (!_marks(cx.memNext, first, (offset + len + 31) / 32 - first)) revert BadMemoryProof(first);
        cx.memNext += WordTree.RANGE_HEAD;
        cx.memLeft -= 1;
    }

    /// @notice Consumes the next calldata entry as the fact marker of the calldata bytes
    /// `[offset, min(offset + len, size))`, if the read has any (as `readCalldata`).
    function takeCalldataFact(Ctx memory cx, uint256 offset, uint256 len, uint256 size) internal pure {
        if (offset >= U64 || offset >= size || len == 0) return;
        uint256 end = offset + len < size ? offset + len : size;
        uint256 first = offset / 32;
        if (cx.cdLeft == 0) revert MissingWitness(WitnessList.CALLDATA_RANGE);
        if (!_marks(cx.cdNext, first, (end + 31) / 32 - first)) revert BadCalldataProof(first);
        cx.cdNext += WordTree.RANGE_HEAD;
        cx.cdLeft -= 1;
    }

    /// @notice Consumes the next return data entry as the fact marker of `[offset, offset + len)`.
    function takeReturndataFact(Ctx memory cx, uint256 offset, uint256 len) internal pure {
        if (cx.rdLeft == 0) revert MissingWitness(WitnessList.RETURNDATA_RANGE);
        uint256 first = offset / 32;
        if (!_marks(cx.rdNext, first, (offset + len + 31) / 32 - first)) revert BadReturndataProof(first);
        cx.rdNext += WordTree.RANGE_HEAD;
        cx.rdLeft -= 1;
    }

    function _marks(uint256 entry, uint256 first, uint256 count) private pure returns (bool) {
        return StateRecord.uintAt(entry, 4) == first && StateRecord.uintAt(entry + 4, 4) == (count | FACT_BIT);
    }

    /// @notice The fact of the range job with these parameters (SPEC.md §3.4.1), read from the
    /// range oracle: the hash of its bytes and the destination root they leave. Reverts
    /// `RangeFactMissing` unless the job is complete.
    function rangeFact(
        Ctx memory cx,
        bytes32 srcRoot,
        uint256 srcOffset,
        uint256 srcSize,
        uint256 len,
        uint256 flags,
        bytes32 dstRoot,
        uint256 dstOffset
    ) internal view returns (bytes32 hash, bytes32 dstResult) {
        return factOf(rangeOracleOf(cx), srcRoot, srcOffset, srcSize, len, flags, dstRoot, dstOffset);
    }

    /// @notice As `rangeFact`, from the facts of `oracle` (0: none, so `RangeFactMissing`).
    function factOf(
        address oracle,
        bytes32 srcRoot,
        uint256 srcOffset,
        uint256 srcSize,
        uint256 len,
        uint256 flags,
        bytes32 dstRoot,
        uint256 dstOffset
    ) internal view returns (bytes32 hash, bytes32 dstResult) {
        bytes32 id = keccak256(abi.encode(srcRoot, srcOffset, srcSize, len, flags, dstRoot, dstOffset));
        if (oracle == address(0)) revert RangeFactMissing(id);
        bool complete;
        (complete, hash, dstResult) = IRangeFacts(oracle).fact(id);
        if (!complete) revert RangeFactMissing(id);
    }

    /// @notice The word-tree root of the `len > 0` memory bytes from `offset`, as the range
    /// oracle's WRITE of them into the empty tree: consumes the next memory entry as their fact
    /// marker (SPEC.md §3.4.1: a RETURN or REVERT's output, a callee's calldata).
    function intoEmptyTree(Ctx memory cx, uint256 offset, uint256 len) internal view returns (bytes32 root) {
        takeMemoryFact(cx, offset, len);
        (, root) = rangeFact(cx, cx.memoryRoot, offset, TREE_BYTES, len, JOB_WRITE, EMPTY_WORDS, 0);
    }

    /// @notice The range oracle whose facts the step reads: the context's, else its caller's.
    function rangeOracleOf(Ctx memory cx) internal view returns (address oracle) {
        oracle = cx.rangeOracle;
        if (oracle == address(0)) oracle = callerOracle();
    }

    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 internal constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// @notice The range oracle of the contract that called this one: a step verifier that
    /// `OneStepVerifier` forwards a step to reads the facts of its forwarder's oracle (0 if the
    /// caller names none). A direct caller names its own oracle, and the answer binds only it:
    /// the game reads `OneStepVerifier`.
    function callerOracle() internal view returns (address oracle) {
        bytes4 selector = IRangeOracleSource.rangeOracle.selector;
        assembly ("memory-safe") {
            mstore(0, selector)
            // Yul evaluates arguments right to left: the call first, then its return size.
            let ok := staticcall(gas(), caller(), 0, 4, 0, 32)
            if and(ok, eq(returndatasize(), 32)) {
                oracle := and(mload(0), 0xffffffffffffffffffffffffffffffffffffffff)
            }
        }
    }

    /// @notice The calldata offset of the transaction environment, checked against the
    /// pre-state's `tx_env_hash`.
    function txEnv(Ctx memory cx) internal pure returns (uint256 env) {
        if (cx.txEnvLen == 0) revert MissingWitness(WitnessList.TX_ENV);
        env = cx.txEnv;
        if (hashCalldata(env, cx.txEnvLen) != StateRecord.wordAt(cx.pre + StateRecord.TX_ENV_HASH)) {
            revert TxEnvMismatch();
        }
        cx.txEnvUsed = true;
    }

    /// @notice The calldata offset of the block environment, checked against the pre-state's
    /// `block_env_hash`.
    function blockEnv(Ctx memory cx) internal pure returns (uint256 env) {
        if (cx.blockEnv == 0) revert MissingWitness(WitnessList.BLOCK_ENV);
        env = cx.blockEnv;
        if (hashCalldata(env, 350 /* ProofCodec.BLOCK_ENV_LEN */) != StateRecord.wordAt(cx.pre + StateRecord.BLOCK_ENV_HASH)) {
            revert BlockEnvMismatch();
        }
        cx.blockEnvUsed = true;
    }

    /// @notice Whether the word proof at `proof` opens transaction `index` in the block
    /// environment at `env`, and its word: in the deposits section (word `index` of
    /// `deposits_root`) when `index < deposit_count`, else word `index − deposit_count` of
    /// `recorded_root` (SPEC.md §3.6; Rust: `TxRoots::verifies`).
    function transactionWord(uint256 proof, uint256 index, uint256 env)
        internal
        pure
        returns (bool ok, bytes32 word)
    {
        uint256 depositCount = StateRecord.uintAt(env + 277, 8);
        if (index < depositCount) return WordTree.check(proof, index, StateRecord.wordAt(env + 285));
        return WordTree.check(proof, index - depositCount, StateRecord.wordAt(env + 317));
    }

    /// @notice Whether transaction `index` is in the deposits section of the block environment
    /// at `env`.
    function isDepositSlot(uint256 index, uint256 env) internal pure returns (bool) {
        return index < StateRecord.uintAt(env + 277, 8);
    }

    /// @notice The calldata offset of the block constants, checked against the block
    /// environment at `env` (SPEC.md §3.6).
    function constants(Ctx memory cx, uint256 env) internal pure returns (uint256 at) {
        if (cx.constants == 0) revert MissingWitness(WitnessList.CONSTANTS);
        at = cx.constants;
        if (hashCalldata(at, 138 /* ProofCodec.CONSTANTS_LEN */) != StateRecord.wordAt(env + 245)) {
            revert ConstantsMismatch();
        }
        cx.constantsUsed = true;
    }

    /// @notice `keccak256` of `len` calldata bytes at `at`.
    function hashCalldata(uint256 at, uint256 len) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, len)
            h := keccak256(p, len)
        }
    }
}
