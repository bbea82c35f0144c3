// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {OpcodeTable} from "./OpcodeTable.sol";
import {StackChain} from "./StackChain.sol";
import {WorldAccess} from "./WorldAccess.sol";
import {CodeWindow} from "./CodeWindow.sol";
import "./StepErrors.sol";

/// @title The step machine shared by the verifier contracts (fraud-vm/SPEC.md §6.1)
/// @notice Decodes the proof, checks the pre-state, and hands the step to its kind: an opcode
/// step of a Running state (`_opcode`), the frame exit of a terminal state at depth > 0
/// (`_exit`), the transaction start of an Idle state (`_txStart`) or the transaction end of a
/// terminal state at depth 0 (`_txEnd`), each of which checks that every witness was used and
/// commits to the post-state. Each verifier contract implements the kinds it executes.
abstract contract StepMachine {
    uint8 internal constant RUNNING = 0;
    uint8 internal constant STOPPED = 1;
    uint8 internal constant IDLE = 5;
    /// [v0.15] Inside a transaction start with entries (SPEC.md §3.2, §5.9).
    uint8 internal constant STARTING = 9;

    /// @notice The post-state commitment of the step proven by `proof` from the state committed
    /// to by `preCommitment`.
    function _verify(bytes32 preCommitment, bytes calldata proof) internal view returns (bytes32) {
        Ctx memory cx = ProofCodec.decode(proof);
        cx.rangeOracle = _ownOracle();
        uint256 pre = cx.pre;
        if (StepOps.hashCalldata(pre, StateRecord.LEN) != preCommitment) revert PreStateMismatch();
        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        if (status != RUNNING) {
            // The Rust `step::execute` order: an Idle state starts (or ends the block) at any
            // depth, then the block statuses, then the exits.
            if (status == IDLE) return _txStart(cx);
            if (status == STARTING) return _txEntries(cx);
            if (status > IDLE) revert UnsupportedStep("block start or end");
            if (StateRecord.uintAt(pre + StateRecord.DEPTH, 8) > 0) return _exit(cx);
            return _txEnd(cx);
        }
        return _opcode(cx);
    }

    /// @notice The range oracle this contract created, whose facts its steps read (0: none, so
    /// the facts of the oracle its caller names, `StepOps.rangeOracleOf`).
    function _ownOracle() internal view virtual returns (address) {
        return address(0);
    }

    /// @notice The opcode step from the Running state `cx.pre` (SPEC.md §5.1); the contracts
    /// that execute none revert.
    function _opcode(Ctx memory) internal view virtual returns (bytes32) {
        revert UnsupportedStep("opcode step: the opcode contracts");
    }

    /// @notice The frame exit step from `cx.pre` (SPEC.md §5.16): its post-state commitment, every
    /// witness checked as used (`ExitStepVerifier`; the others revert or forward).
    function _exit(Ctx memory) internal view virtual returns (bytes32) {
        revert UnsupportedStep("frame exit: ExitStepVerifier");
    }

    /// @notice The transaction start step from the Idle state `cx.pre` (SPEC.md §5.9): its
    /// post-state commitment, every witness checked as used (`TxStartVerifier`).
    function _txStart(Ctx memory) internal view virtual returns (bytes32) {
        revert UnsupportedStep("tx start: TxStartVerifier");
    }

    /// @notice [v0.15] A start sub-step from the Starting state `cx.pre` (SPEC.md §5.9): its
    /// post-state commitment, every witness checked as used (`TxEntriesVerifier`).
    function _txEntries(Ctx memory) internal view virtual returns (bytes32) {
        revert UnsupportedStep("tx start sub-step: TxEntriesVerifier");
    }

    /// @notice The transaction end step from the top frame's terminal state `cx.pre` (SPEC.md
    /// §5.9): its post-state commitment, every witness checked as used (`TxEndVerifier`).
    function _txEnd(Ctx memory) internal view virtual returns (bytes32) {
        revert UnsupportedStep("tx end: TxEndVerifier");
    }

    /// @notice Whether `op` is CALL, CALLCODE, DELEGATECALL or STATICCALL.
    function _isCall(uint256 op) internal pure returns (bool) {
        return op == 0xf1 || op == 0xf2 || op == 0xf4 || op == 0xfa;
    }

    /// @notice Whether `op` is CREATE or CREATE2.
    function _isCreate(uint256 op) internal pure returns (bool) {
        return op == 0xf0 || op == 0xf5;
    }

    /// @notice Every witness in the proof was consumed (SPEC.md §6.1 step 5).
    function _checkAllUsed(Ctx memory cx) internal pure {
        if (cx.hasDestructs != cx.destructsUsed) revert UnusedWitness(WitnessList.DESTRUCTS);
        if (cx.hasTransaction != cx.transactionUsed) revert UnusedWitness(WitnessList.TRANSACTION);
        if ((cx.constants != 0) != cx.constantsUsed) revert UnusedWitness(WitnessList.CONSTANTS);
        if ((cx.sealing != 0) != cx.sealingUsed) revert UnusedWitness(WitnessList.SEALING);
        if ((cx.foldKey != 0) != cx.foldKeyUsed) revert UnusedWitness(WitnessList.FOLD_KEY);
        if (cx.trieLeft != 0) revert UnusedWitness(WitnessList.TRIE_WRITE);
        if ((cx.receipt != 0) != cx.receiptUsed) revert UnusedWitness(WitnessList.RECEIPT);
        if ((cx.world != 0) != cx.worldUsed) revert UnusedWitness(WitnessList.WORLD);
        if (cx.treeLeft != 0) revert UnusedWitness(WitnessList.TREE_PATH);
        if (cx.accountLeft != 0) revert UnusedWitness(WitnessList.ACCOUNT_RECORD);
        if (cx.slotLeft != 0) revert UnusedWitness(WitnessList.STORAGE_VALUE);
        if (cx.baseAccountLeft != 0) revert UnusedWitness(WitnessList.BASE_ACCOUNT);
        if (cx.baseSlotLeft != 0) revert UnusedWitness(WitnessList.BASE_SLOT);
        if (cx.codeLeft != 0) revert UnusedWitness(WitnessList.CODE);
        if ((cx.frame != 0) != cx.frameUsed) revert UnusedWitness(WitnessList.FRAME);
        if ((cx.checkpoint != 0) != cx.checkpointUsed) revert UnusedWitness(WitnessList.CHECKPOINT);
        if (cx.itemCount != cx.popped) revert UnusedWitness(WitnessList.STACK_ITEM);
        if (cx.hasRest != (cx.popped > 0)) revert UnusedWitness(WitnessList.STACK_REST);
        if (cx.memLeft != 0) revert UnusedWitness(WitnessList.MEMORY_RANGE);
        if (cx.cdLeft != 0) revert UnusedWitness(WitnessList.CALLDATA_RANGE);
        if (cx.rdLeft != 0) revert UnusedWitness(WitnessList.RETURNDATA_RANGE);
        if ((cx.txEnvLen != 0) != cx.txEnvUsed) revert UnusedWitness(WitnessList.TX_ENV);
        if ((cx.blockEnv != 0) != cx.blockEnvUsed) revert UnusedWitness(WitnessList.BLOCK_ENV);
    }
}

/// @title The opcode step (fraud-vm/SPEC.md §5.1): the machine of the contracts that execute
/// opcodes
/// @notice Checks the code, decides every halt before an opcode's own work, checks the popped
/// items, runs the opcode's family (`_execute`, after `_route` has forwarded the families other
/// contracts own), checks that every witness was used and commits to the post-state.
abstract contract OpcodeMachine is StepMachine {
    /// Largest gas a state may hold (SPEC.md §4.3).
    uint256 private constant MAX_GAS = 1 << 32;
    /// Maximum number of stack items.
    uint256 private constant STACK_LIMIT = 1024;
    /// Offset of the refund counter (i64) in the state record.
    uint256 private constant REFUND = 42;

    function _opcode(Ctx memory cx) internal view virtual override returns (bytes32) {
        uint256 pre = cx.pre;
        uint256 gas = StateRecord.uintAt(pre + StateRecord.GAS, 8);
        if (gas > MAX_GAS) revert UnsupportedStep("gas above 2^32");
        if (StepOps.hashCalldata(cx.code, cx.codeLen) != StateRecord.wordAt(pre + StateRecord.CODE_HASH)) {
            _otherCode(cx);
        }
        cx.pc = StateRecord.uintAt(pre + StateRecord.PC, 8);
        uint256 op;
        // (A code window's base may lie below calldata offset 0: `Ctx.code`.)
        unchecked {
            if (cx.pc < cx.codeLen) op = StateRecord.uintAt(cx.code + cx.pc, 1);
        }

        (uint256 family, uint256 staticGas, uint256 pops, uint256 pushes) = OpcodeTable.info(op);
        _route(family, op);
        uint256 stackLen = StateRecord.uintAt(pre + StateRecord.STACK_LEN, 8);
        if (
            family == OpcodeTable.UNDEFINED || family == OpcodeTable.INVALID || gas < staticGas
                || stackLen < pops || stackLen - pops + pushes > STACK_LIMIT
        ) {
            // Halted before popping: the proof carries no witness at all.
            _checkAllUsed(cx);
            return _commitHalt(pre);
        }
        if (
            (op == 0x55 || op == 0x5d || op == 0xff || _isCreate(op) || family == OpcodeTable.LOG)
                && StateRecord.uintAt(pre + StateRecord.IS_STATIC, 1) == 1
        ) {
            // SSTORE, TSTORE, LOGn, SELFDESTRUCT, CREATE and CREATE2 in a static frame halt before
            // popping.
            _checkAllUsed(cx);
            return _commitHalt(pre);
        }
        cx.gas = gas - staticGas;
        cx.refund = int256(int64(uint64(StateRecord.uintAt(pre + REFUND, 8))));
        _popItems(cx, pops);
        // Every family but LOG, the calls and the creates pops all its operands before anything
        // can halt it.
        if (family != OpcodeTable.LOG && !_isCall(op) && !_isCreate(op)) cx.popped = pops;
        Flow flow = _execute(cx, family, op);
        _checkAllUsed(cx);
        if (flow == Flow.Halt) return _commitHalt(pre);
        if (flow == Flow.Enter) {
            assert(cx.popped == pops);
            return cx.entered;
        }
        // A step that does not halt pops and pushes exactly what the table says.
        assert(cx.popped == pops && cx.pushed == pushes);
        cx.stackLen = stackLen - pops + pushes;
        return _commitRunning(cx, flow);
    }

    /// @notice Checks the proof's stack items against the pre-state's stack root before anything
    /// uses them (a halt decided from a forged operand must not verify), and starts the
    /// post-state's stack from the rest, and its memory from the pre-state's. The step pops at
    /// most `pops` of them; every one given must be popped (checked at the end).
    function _popItems(Ctx memory cx, uint256 pops) private pure {
        uint256 pre = cx.pre;
        bytes32 root = StateRecord.wordAt(pre + StateRecord.STACK_ROOT);
        uint256 given = cx.itemCount;
        if (given > pops) revert UnusedWitness(WitnessList.STACK_ITEM);
        if (given > 0) {
            if (!cx.hasRest) revert MissingWitness(WitnessList.STACK_REST);
            if (StackChain.rebuild(cx.rest, cx.items, given) != root) revert BadStackProof();
            root = cx.rest;
        }
        cx.stackRoot = root;
        cx.memoryRoot = StateRecord.wordAt(pre + StateRecord.MEMORY_ROOT);
        cx.memorySize = StateRecord.uintAt(pre + StateRecord.MEMORY_SIZE, 8);
    }

    /// @notice The proof's code does not hash to the pre-state's code hash (SPEC.md §6.1 step
    /// 3): a code window, whose words the code fact of the range oracle (this contract's, else
    /// its forwarder's) ties to it (SPEC.md §6.3: [v0.12] in the steps `OneStepVerifier`
    /// executes, [v0.13] in those it forwards), or rejected.
    function _otherCode(Ctx memory cx) internal view virtual {
        CodeWindow.open(cx, StateRecord.wordAt(cx.pre + StateRecord.CODE_HASH), StepOps.rangeOracleOf(cx));
    }

    /// @notice Runs the opcode's family (SPEC.md §5.3-§5.15).
    function _execute(Ctx memory cx, uint256 family, uint256 op) internal view virtual returns (Flow);

    /// @notice Hands the step to another contract, if its family is executed there (never
    /// returns then).
    function _route(uint256 family, uint256 op) internal view virtual;

    /// @notice The commitment of the pre-state halted exceptionally: status 4, gas 0, every
    /// other field kept (SPEC.md §5.1).
    function _commitHalt(uint256 pre) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            mstore8(add(p, 33), 4)
            // gas (u64 at 34) := 0
            mstore(add(p, 34), and(mload(add(p, 34)), shr(64, not(0))))
            h := keccak256(p, 443)
        }
    }

    /// @notice The commitment of the pre-state updated by a completed step: pc (or status
    /// Stopped, pc kept, for STOP), gas, stack and memory.
    function _commitRunning(Ctx memory cx, Flow flow) private pure returns (bytes32 h) {
        uint256 status = RUNNING;
        uint256 nextPc = cx.pc + 1;
        bytes32 returndataRoot = StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT);
        uint256 returndataSize = StateRecord.uintAt(cx.pre + StateRecord.RETURNDATA_SIZE, 8);
        if (flow == Flow.Stop) {
            (status, nextPc) = (STOPPED, cx.pc);
        } else if (flow == Flow.Finish) {
            (status, nextPc) = (cx.target, cx.pc);
        }
        if (flow == Flow.Finish || cx.returndataSet) {
            (returndataRoot, returndataSize) = (cx.returndataRoot, cx.returndataSize);
        }
        if (flow == Flow.Skip) nextPc += cx.target;
        else if (flow == Flow.Jump) nextPc = cx.target;
        uint256 pre = cx.pre;
        uint256 gasLeft = cx.gas;
        bytes32 stackRoot = cx.stackRoot;
        uint256 stackLen = cx.stackLen;
        bytes32 memoryRoot = cx.memoryRoot;
        uint256 memorySize = cx.memorySize;
        // The world record as the step left it (SPEC.md §6.1 step 6).
        bytes32 worldRoot = StateRecord.wordAt(pre + 411);
        int256 refund = cx.refund;
        if (cx.worldChanged) worldRoot = WorldAccess.commitment(cx);
        assembly ("memory-safe") {
            function _put(at, v, len) {
                let keep := shr(shl(3, len), not(0))
                mstore(at, or(and(mload(at), keep), shl(sub(256, shl(3, len)), v)))
            }
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            _put(add(p, 25), nextPc, 8)
            mstore8(add(p, 33), status)
            _put(add(p, 34), gasLeft, 8)
            mstore(add(p, 187), stackRoot)
            _put(add(p, 219), stackLen, 8)
            mstore(add(p, 227), memoryRoot)
            _put(add(p, 259), memorySize, 8)
            mstore(add(p, 307), returndataRoot)
            _put(add(p, 339), returndataSize, 8)
            mstore(add(p, 411), worldRoot)
            _put(add(p, 42), and(refund, 0xffffffffffffffff), 8)
            h := keccak256(p, 443)
        }
    }
}
