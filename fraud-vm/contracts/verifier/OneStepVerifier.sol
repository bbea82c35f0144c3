// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {OpcodeTable} from "./OpcodeTable.sol";
import {StackChain} from "./StackChain.sol";
import {ArithmeticStep} from "./ArithmeticStep.sol";
import {BitwiseStep} from "./BitwiseStep.sol";
import {KeccakStep} from "./KeccakStep.sol";
import {EnvironmentStep} from "./EnvironmentStep.sol";
import {StackStep} from "./StackStep.sol";
import {MemoryStep} from "./MemoryStep.sol";
import {ControlStep} from "./ControlStep.sol";
import {StorageStep} from "./StorageStep.sol";
import {AccountStep} from "./AccountStep.sol";
import {WorldAccess} from "./WorldAccess.sol";
import {LogStep} from "./LogStep.sol";
import {CallStep} from "./CallStep.sol";
import {CallEntryStep} from "./CallEntryStep.sol";
import {SystemStep} from "./SystemStep.sol";
import {ExitStep} from "./ExitStep.sol";
import {CreateStep} from "./CreateStep.sol";
import {TransactionStep} from "./TransactionStep.sol";
import "./StepErrors.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";

/// @title The step machine shared by the two verifier contracts (fraud-vm/SPEC.md §6.1)
/// @notice Decodes the proof, checks the pre-state and the code, decides every halt before an
/// opcode's own work, checks the popped items, runs the opcode's family (`_execute`) or the frame
/// exit (`_exit`), checks that every witness was used and commits to the post-state. The two
/// contracts below implement the hooks for their step families, each within EIP-170.
abstract contract StepMachine {
    uint8 private constant RUNNING = 0;
    uint8 private constant STOPPED = 1;
    uint8 private constant IDLE = 5;
    /// Largest gas a state may hold (SPEC.md §4.3).
    uint256 private constant MAX_GAS = 1 << 32;
    /// Maximum number of stack items.
    uint256 private constant STACK_LIMIT = 1024;
    /// Offset of the refund counter (i64) in the state record.
    uint256 private constant REFUND = 42;

    /// @notice The post-state commitment of the step proven by `proof` from the state committed
    /// to by `preCommitment`.
    function _verify(bytes32 preCommitment, bytes calldata proof) internal view returns (bytes32) {
        Ctx memory cx = ProofCodec.decode(proof);
        uint256 pre = cx.pre;
        if (StepOps.hashCalldata(pre, StateRecord.LEN) != preCommitment) revert PreStateMismatch();
        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        if (status != RUNNING) {
            if (StateRecord.uintAt(pre + StateRecord.DEPTH, 8) > 0) {
                return _exit(cx);
            }
            if (status == IDLE) return _txStart(cx);
            return _txEnd(cx);
        }
        uint256 gas = StateRecord.uintAt(pre + StateRecord.GAS, 8);
        if (gas > MAX_GAS) revert UnsupportedStep("gas above 2^32");
        if (StepOps.hashCalldata(cx.code, cx.codeLen) != StateRecord.wordAt(pre + StateRecord.CODE_HASH)) {
            revert CodeHashMismatch();
        }
        cx.pc = StateRecord.uintAt(pre + StateRecord.PC, 8);
        uint256 op;
        if (cx.pc < cx.codeLen) op = StateRecord.uintAt(cx.code + cx.pc, 1);

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

    /// @notice Runs the opcode's family (SPEC.md §5.3-§5.15).
    function _execute(Ctx memory cx, uint256 family, uint256 op) internal view virtual returns (Flow);

    /// @notice Hands the step to another contract, if its family is executed there (never
    /// returns then).
    function _route(uint256 family, uint256 op) internal view virtual;

    /// @notice Whether `op` is CALL, CALLCODE, DELEGATECALL or STATICCALL.
    function _isCall(uint256 op) internal pure returns (bool) {
        return op == 0xf1 || op == 0xf2 || op == 0xf4 || op == 0xfa;
    }

    /// @notice Whether `op` is CREATE or CREATE2.
    function _isCreate(uint256 op) internal pure returns (bool) {
        return op == 0xf0 || op == 0xf5;
    }

    /// @notice The frame exit step from `cx.pre` (SPEC.md §5.16): its post-state commitment, every
    /// witness checked as used.
    function _exit(Ctx memory cx) internal view virtual returns (bytes32);

    /// @notice The transaction start step from the Idle state `cx.pre` (SPEC.md §5.9): its
    /// post-state commitment, every witness checked as used.
    function _txStart(Ctx memory cx) internal view virtual returns (bytes32);

    /// @notice The transaction end step from the top frame's terminal state `cx.pre` (SPEC.md
    /// §5.9): its post-state commitment, every witness checked as used.
    function _txEnd(Ctx memory cx) internal view virtual returns (bytes32);

    /// @notice Every witness in the proof was consumed (SPEC.md §6.1 step 5).
    function _checkAllUsed(Ctx memory cx) internal pure {
        if (cx.hasDestructs != cx.destructsUsed) revert UnusedWitness(WitnessList.DESTRUCTS);
        if (cx.hasTransaction != cx.transactionUsed) revert UnusedWitness(WitnessList.TRANSACTION);
        if ((cx.world != 0) != cx.worldUsed) revert UnusedWitness(WitnessList.WORLD);
        if (cx.treeLeft != 0) revert UnusedWitness(WitnessList.TREE_PATH);
        if (cx.blockHashLeft != 0) revert UnusedWitness(WitnessList.BLOCK_HASH);
        if (cx.accountLeft != 0) revert UnusedWitness(WitnessList.ACCOUNT_RECORD);
        if (cx.slotLeft != 0) revert UnusedWitness(WitnessList.STORAGE_VALUE);
        if (cx.baseAccountLeft != 0) revert UnusedWitness(WitnessList.BASE_ACCOUNT);
        if (cx.baseSlotLeft != 0) revert UnusedWitness(WitnessList.BASE_SLOT);
        if (cx.codeLeft != 0) revert UnusedWitness(WitnessList.CODE);
        if ((cx.frame != 0) != cx.frameUsed) revert UnusedWitness(WitnessList.FRAME);
        if ((cx.checkpoint != 0) != cx.checkpointUsed) revert UnusedWitness(WitnessList.CHECKPOINT);
        if (cx.itemCount != cx.popped) revert UnusedWitness(WitnessList.STACK_ITEM);
        if (cx.hasRest != (cx.popped > 0)) revert UnusedWitness(WitnessList.STACK_REST);
        if (cx.memLeft != 0) revert UnusedWitness(WitnessList.MEMORY_WORD);
        if (cx.cdLeft != 0) revert UnusedWitness(WitnessList.CALLDATA_WORD);
        if (cx.rdLeft != 0) revert UnusedWitness(WitnessList.RETURNDATA_WORD);
        if ((cx.txEnvLen != 0) != cx.txEnvUsed) revert UnusedWitness(WitnessList.TX_ENV);
        if ((cx.blockEnv != 0) != cx.blockEnvUsed) revert UnusedWitness(WitnessList.BLOCK_ENV);
    }

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

/// @title One-step verifier of the fraud VM (fraud-vm/SPEC.md §6.1)
/// @notice `step(pre, proof)`, the bisection game's `IStepVerifier`, computes the post-state
/// commitment of one step from the pre-state commitment and the proof in its canonical encoding
/// (§6.3), exactly as the Rust reference verifier `fraud_vm::verify` does, or reverts where the
/// reference rejects.
/// @dev It executes the opcode steps of v0.1 (arithmetic, comparison and bitwise, KECCAK256,
/// stack, memory, environment reads without world state, control), RETURN and REVERT, and every
/// exceptional halt decided before an opcode's own work for any opcode; it forwards storage,
/// account reads, logs, SELFDESTRUCT and frame exits to `WorldStepVerifier`, and the CALL
/// family, CREATE and CREATE2 to `CallStepVerifier`, and the transaction boundaries to
/// `TxStepVerifier`. A step none of them executes reverts `UnsupportedStep`; it is never
/// answered with a post-state.
contract OneStepVerifier is StepMachine, IStepVerifier {
    /// @notice The contract that executes the world-state steps and frame exits.
    address public immutable worldSteps;
    /// @notice The contract that executes the calls and creates.
    address public immutable callSteps;
    /// @notice The contract that executes the transaction start and end steps.
    address public immutable txSteps;

    /// @param worldSteps_ The deployed `WorldStepVerifier`.
    /// @param callSteps_ The deployed `CallStepVerifier`.
    /// @param txSteps_ The deployed `TxStepVerifier`.
    constructor(address worldSteps_, address callSteps_, address txSteps_) {
        worldSteps = worldSteps_;
        callSteps = callSteps_;
        txSteps = txSteps_;
    }

    /// @notice The post-state commitment of the step proven by `proof` from the state committed
    /// to by `preCommitment`.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32) {
        address target = _owner(proof);
        if (target != address(0)) _forward(target);
        return _verify(preCommitment, proof);
    }

    /// @notice The contract that executes the step of `proof`, if not this one, read from the
    /// fixed fields at the front of the proof without decoding it (the contract that answers
    /// decodes and checks everything; `_route` catches any other case).
    function _owner(bytes calldata proof) private view returns (address) {
        if (proof.length < 1 + StateRecord.LEN + 4) return address(0);
        uint256 pre;
        assembly ("memory-safe") {
            pre := add(proof.offset, 1)
        }
        if (StateRecord.uintAt(pre + StateRecord.STATUS, 1) != 0) {
            return StateRecord.uintAt(pre + StateRecord.DEPTH, 8) > 0 ? worldSteps : txSteps;
        }
        uint256 pc = StateRecord.uintAt(pre + StateRecord.PC, 8);
        uint256 codeLen = StateRecord.uintAt(pre + StateRecord.LEN, 4);
        uint256 op;
        if (pc < codeLen && 1 + StateRecord.LEN + 4 + pc < proof.length) {
            op = StateRecord.uintAt(pre + StateRecord.LEN + 4 + pc, 1);
        }
        (uint256 family,,,) = OpcodeTable.info(op);
        return _familyOwner(family, op);
    }

    function _familyOwner(uint256 family, uint256 op) private view returns (address) {
        if (
            family == OpcodeTable.STORAGE || family == OpcodeTable.ACCOUNT || family == OpcodeTable.LOG
                || family == OpcodeTable.SYSTEM
        ) return worldSteps;
        if (_isCall(op) || _isCreate(op)) return callSteps;
        return address(0);
    }

    /// @notice The table entry of `op`: family code (`OpcodeTable`), static gas, pops, pushes.
    function opInfo(uint8 op) external pure returns (uint256 family, uint256 gas, uint256 pops, uint256 pushes) {
        return OpcodeTable.info(op);
    }

    function _execute(Ctx memory cx, uint256 family, uint256 op) internal pure override returns (Flow) {
        if (family == OpcodeTable.ARITHMETIC) return ArithmeticStep.execute(cx, op);
        if (family == OpcodeTable.BITWISE) return BitwiseStep.execute(cx, op);
        if (family == OpcodeTable.STACK) return StackStep.execute(cx, op);
        if (family == OpcodeTable.MEMORY) return MemoryStep.execute(cx, op);
        if (family == OpcodeTable.CONTROL) return ControlStep.execute(cx, op);
        if (family == OpcodeTable.ENVIRONMENT) return EnvironmentStep.execute(cx, op);
        if (family == OpcodeTable.KECCAK) return KeccakStep.execute(cx);
        return CallStep.finish(cx, op);
    }

    /// @notice Storage, account reads, logs, SELFDESTRUCT, calls and creates go to the contract
    /// that owns their family, before this contract pops anything.
    function _route(uint256 family, uint256 op) internal view override {
        address target = _familyOwner(family, op);
        if (target != address(0)) _forward(target);
    }

    function _exit(Ctx memory) internal view override returns (bytes32) {
        _forward(worldSteps);
    }

    function _txStart(Ctx memory) internal view override returns (bytes32) {
        _forward(txSteps);
    }

    function _txEnd(Ctx memory) internal view override returns (bytes32) {
        _forward(txSteps);
    }

    /// @notice Hands the whole call to `target` and ends with its answer: its return data, or
    /// its revert.
    function _forward(address target) private view {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, 0, calldatasize())
            let ok := staticcall(gas(), target, p, calldatasize(), 0, 0)
            returndatacopy(p, 0, returndatasize())
            if iszero(ok) { revert(p, returndatasize()) }
            return(p, returndatasize())
        }
    }
}

/// @title The world-state steps of the one-step verifier
/// @notice SLOAD, SSTORE, TLOAD, TSTORE, BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH,
/// SELFBALANCE, BLOCKHASH, LOG0..LOG4, SELFDESTRUCT and the exits of call and create frames,
/// with the same `step` as `OneStepVerifier` (which forwards these steps here); a separate
/// contract so that each stays within EIP-170.
contract WorldStepVerifier is StepMachine, IStepVerifier {
    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32) {
        return _verify(preCommitment, proof);
    }

    function _route(uint256, uint256) internal pure override {}

    function _execute(Ctx memory cx, uint256 family, uint256 op) internal pure override returns (Flow) {
        if (family == OpcodeTable.STORAGE) return StorageStep.execute(cx, op);
        if (family == OpcodeTable.ACCOUNT) return AccountStep.execute(cx, op);
        if (family == OpcodeTable.LOG) return LogStep.execute(cx, op);
        if (family == OpcodeTable.SYSTEM) return SystemStep.execute(cx);
        // The other families are executed by OneStepVerifier and CallStepVerifier.
        revert UnsupportedOpcode(uint8(op));
    }

    function _exit(Ctx memory cx) internal pure override returns (bytes32 post) {
        post = ExitStep.execute(cx);
        _checkAllUsed(cx);
    }

    function _txStart(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction boundary outside TxStepVerifier");
    }

    function _txEnd(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction boundary outside TxStepVerifier");
    }
}

/// @title The call and create steps of the one-step verifier
/// @notice CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE and CREATE2 (their entry, or their
/// completion within the step), with the same `step` as `OneStepVerifier` (which forwards these
/// steps here); a separate contract so that each stays within EIP-170.
contract CallStepVerifier is StepMachine, IStepVerifier {
    /// @notice The contract that runs the L2's precompiles on this L1.
    address public immutable precompiles;

    /// @param precompiles_ The deployed `L2Precompiles`.
    constructor(address precompiles_) {
        precompiles = precompiles_;
    }

    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32) {
        return _verify(preCommitment, proof);
    }

    function _route(uint256, uint256) internal pure override {}

    function _execute(Ctx memory cx, uint256, uint256 op) internal view override returns (Flow) {
        if (_isCall(op)) return CallEntryStep.execute(cx, op, precompiles);
        if (_isCreate(op)) return CreateStep.execute(cx, op);
        // The other families are executed by OneStepVerifier and WorldStepVerifier.
        revert UnsupportedOpcode(uint8(op));
    }

    function _exit(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("frame exit outside WorldStepVerifier");
    }

    function _txStart(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction boundary outside TxStepVerifier");
    }

    function _txEnd(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction boundary outside TxStepVerifier");
    }
}

/// @title The transaction boundary steps of the one-step verifier
/// @notice The transaction end (and, next, the transaction start), with the same `step` as
/// `OneStepVerifier` (which forwards these steps here); a separate contract so that each stays
/// within EIP-170.
contract TxStepVerifier is StepMachine, IStepVerifier {
    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32) {
        return _verify(preCommitment, proof);
    }

    function _route(uint256, uint256) internal pure override {}

    function _execute(Ctx memory cx, uint256, uint256 op) internal pure override returns (Flow) {
        // Opcode steps are executed by the other contracts (the condition always holds: a
        // pre-state sits after the selector and the version byte; written as a condition so that
        // the machine's opcode path does not read as dead code here).
        if (cx.pre != 0) revert UnsupportedOpcode(uint8(op));
        return Flow.Halt;
    }

    function _exit(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("frame exit outside WorldStepVerifier");
    }

    function _txStart(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction start");
    }

    function _txEnd(Ctx memory cx) internal pure override returns (bytes32 post) {
        post = TransactionStep.execute(cx);
        _checkAllUsed(cx);
    }
}
