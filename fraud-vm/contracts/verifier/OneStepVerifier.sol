// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StateRecord} from "./StepContext.sol";
import {OpcodeMachine} from "./StepMachine.sol";
import {OpcodeTable} from "./OpcodeTable.sol";
import {ArithmeticStep} from "./ArithmeticStep.sol";
import {BitwiseStep} from "./BitwiseStep.sol";
import {KeccakStep} from "./KeccakStep.sol";
import {EnvironmentStep} from "./EnvironmentStep.sol";
import {StackStep} from "./StackStep.sol";
import {MemoryStep} from "./MemoryStep.sol";
import {ControlStep} from "./ControlStep.sol";
import {CallStep} from "./CallStep.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";
import {RangeOracle} from "./RangeOracle.sol";
import {CodeWindow} from "./CodeWindow.sol";

/// @notice The contracts that `WorldStepVerifier` and `CallStepVerifier` deploy for the steps
/// split out of them (v0.13).
interface ISplitSteps {
    /// `WorldStepVerifier`'s `ExitStepVerifier`.
    function exitSteps() external view returns (address);
    /// `CallStepVerifier`'s `CreateStepVerifier`.
    function createSteps() external view returns (address);
    /// [v0.15] `TxEndVerifier`'s `TxEntriesVerifier`.
    function entriesSteps() external view returns (address);
}

/// @title One-step verifier of the fraud VM (fraud-vm/SPEC.md §6.1)
/// @notice `step(pre, proof)`, the bisection game's `IStepVerifier`, computes the post-state
/// commitment of one step from the pre-state commitment and the proof in its canonical encoding
/// (§6.3), exactly as the Rust reference verifier `fraud_vm::verify` does, or reverts where the
/// reference rejects.
/// @dev It executes the opcode steps of v0.1 (arithmetic, comparison and bitwise, KECCAK256,
/// stack, memory, environment reads without world state, control), RETURN and REVERT, and every
/// exceptional halt decided before an opcode's own work for any opcode; it forwards storage,
/// account reads and SELFDESTRUCT to `WorldStepVerifier`, frame exits to `ExitStepVerifier`,
/// the CALL family to `CallStepVerifier`, CREATE, CREATE2 and the logs to
/// `CreateStepVerifier`, and the transaction start, [v0.15] its sub-steps and the end to
/// `TxStartVerifier`, `TxEntriesVerifier` and `TxEndVerifier`, and the block boundaries (the block end's start from
/// the Idle state after the last transaction, the BlockStart, Sealing and BlockEnd states) to
/// `BoundaryStepVerifier`. A step none of them executes reverts `UnsupportedStep`; it is never
/// answered with a post-state.
contract OneStepVerifier is OpcodeMachine, IStepVerifier {
    /// @notice The contract that executes the world-state steps.
    address public immutable worldSteps;
    /// @notice The contract that executes the frame exits (`WorldStepVerifier.exitSteps`).
    address public immutable exitSteps;
    /// @notice The contract that executes the calls.
    address public immutable callSteps;
    /// @notice The contract that executes CREATE, CREATE2 and the logs
    /// (`CallStepVerifier.createSteps`).
    address public immutable createSteps;
    /// @notice The contract that executes the transaction start.
    address public immutable startSteps;
    /// @notice The contract that executes the transaction end.
    address public immutable endSteps;
    /// @notice [v0.15] The contract that executes the transaction start's sub-steps
    /// (`TxEndVerifier.entriesSteps`).
    address public immutable entriesSteps;
    /// Offset of `tx_count` in the block constants (SPEC.md §3.6).
    uint256 private constant CONSTANTS_TX_COUNT = 97;
    /// @notice The contract that executes the block start and end steps.
    address public immutable boundarySteps;
    /// @notice The range oracle whose facts stand for long memory, calldata, return data and
    /// code ranges (SPEC.md §3.4.1), created with this contract.
    address public immutable rangeOracle;

    /// @param worldSteps_ The deployed `WorldStepVerifier` (which deployed `ExitStepVerifier`).
    /// @param callSteps_ The deployed `CallStepVerifier` (which deployed `CreateStepVerifier`).
    /// @param startSteps_ The deployed `TxStartVerifier`.
    /// @param endSteps_ The deployed `TxEndVerifier`.
    /// @param boundarySteps_ The deployed `BoundaryStepVerifier`.
    constructor(
        address worldSteps_,
        address callSteps_,
        address startSteps_,
        address endSteps_,
        address boundarySteps_
    ) {
        worldSteps = worldSteps_;
        exitSteps = ISplitSteps(worldSteps_).exitSteps();
        callSteps = callSteps_;
        createSteps = ISplitSteps(callSteps_).createSteps();
        startSteps = startSteps_;
        endSteps = endSteps_;
        entriesSteps = ISplitSteps(endSteps_).entriesSteps();
        boundarySteps = boundarySteps_;
        rangeOracle = address(new RangeOracle());
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
        uint256 status = StateRecord.uintAt(pre + StateRecord.STATUS, 1);
        if (status != RUNNING) {
            if (status == IDLE) return _idleOwner(proof);
            if (status == STARTING) return entriesSteps;
            if (status > IDLE) return boundarySteps;
            if (StateRecord.uintAt(pre + StateRecord.DEPTH, 8) > 0) return exitSteps;
            return endSteps;
        }
        uint256 pc = StateRecord.uintAt(pre + StateRecord.PC, 8);
        uint256 codeLen = StateRecord.uintAt(pre + StateRecord.LEN, 4);
        uint256 op;
        uint256 code = pre + StateRecord.LEN + 4;
        if (pc > 0 && CodeWindow.isWindow(code, codeLen)) {
            // [v0.12] A code window (code that starts so halts at pc 0).
            op = CodeWindow.routeOp(code, pc);
        } else if (pc < codeLen && 1 + StateRecord.LEN + 4 + pc < proof.length) {
            op = StateRecord.uintAt(code + pc, 1);
        }
        (uint256 family,,,) = OpcodeTable.info(op);
        return _familyOwner(family, op);
    }

    /// @notice An Idle state starts the transaction at its index, or the block end after the
    /// last one (`tx_index` = the block constants' `tx_count`, SPEC.md §5.9, §5.19): decided from
    /// the decoded proof (an undecodable proof reverts as the transaction start would).
    function _idleOwner(bytes calldata proof) private view returns (address) {
        Ctx memory cx = ProofCodec.decode(proof);
        if (
            cx.constants != 0
                && StateRecord.uintAt(cx.pre + 9, 8) == StateRecord.uintAt(cx.constants + CONSTANTS_TX_COUNT, 8)
        ) return boundarySteps;
        return startSteps;
    }

    function _familyOwner(uint256 family, uint256 op) private view returns (address) {
        if (family == OpcodeTable.STORAGE || family == OpcodeTable.ACCOUNT || family == OpcodeTable.SYSTEM) {
            return worldSteps;
        }
        if (_isCall(op)) return callSteps;
        if (_isCreate(op) || family == OpcodeTable.LOG) return createSteps;
        return address(0);
    }

    /// @notice The table entry of `op`: family code (`OpcodeTable`), static gas, pops, pushes.
    function opInfo(uint8 op) external pure returns (uint256 family, uint256 gas, uint256 pops, uint256 pushes) {
        return OpcodeTable.info(op);
    }

    function _execute(Ctx memory cx, uint256 family, uint256 op) internal view override returns (Flow) {
        if (family == OpcodeTable.ARITHMETIC) return ArithmeticStep.execute(cx, op);
        if (family == OpcodeTable.BITWISE) return BitwiseStep.execute(cx, op);
        if (family == OpcodeTable.STACK) return StackStep.execute(cx, op);
        if (family == OpcodeTable.MEMORY) return MemoryStep.execute(cx, op);
        if (family == OpcodeTable.CONTROL) return ControlStep.execute(cx, op);
        if (family == OpcodeTable.ENVIRONMENT) return EnvironmentStep.execute(cx, op);
        if (family == OpcodeTable.KECCAK) return KeccakStep.execute(cx);
        return CallStep.finish(cx, op);
    }

    function _ownOracle() internal view override returns (address) {
        return rangeOracle;
    }

    /// @notice Storage, account reads, SELFDESTRUCT, logs, calls and creates go to the contract
    /// that owns their family, before this contract pops anything.
    function _route(uint256 family, uint256 op) internal view override {
        address target = _familyOwner(family, op);
        if (target != address(0)) _forward(target);
    }

    function _exit(Ctx memory) internal view override returns (bytes32) {
        _forward(exitSteps);
    }

    function _txStart(Ctx memory) internal view override returns (bytes32) {
        _forward(startSteps);
    }

    function _txEnd(Ctx memory) internal view override returns (bytes32) {
        _forward(endSteps);
    }

    function _txEntries(Ctx memory) internal view override returns (bytes32) {
        _forward(entriesSteps);
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
