// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {StepMachine} from "./StepMachine.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {BlockStartStep} from "./BlockStartStep.sol";
import {BlockEndStep} from "./BlockEndStep.sol";
import "./StepErrors.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";

/// @title The steps outside transactions that need no opcode machine (shared by the two
/// block-boundary step contracts)
abstract contract BoundaryMachine is StepMachine {
    uint8 internal constant BLOCK_START = 6;
    uint8 internal constant SEALING = 7;
    uint8 internal constant BLOCK_END = 8;

    /// @notice The decoded proof, its pre-state checked against `preCommitment`, and its status.
    function _open(bytes32 preCommitment, bytes calldata proof) internal pure returns (Ctx memory cx, uint256 status) {
        cx = ProofCodec.decode(proof);
        if (StepOps.hashCalldata(cx.pre, StateRecord.LEN) != preCommitment) revert PreStateMismatch();
        status = StateRecord.uintAt(cx.pre + StateRecord.STATUS, 1);
    }

    function _opcode(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("opcode step outside the opcode verifiers");
    }

    function _exit(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("frame exit outside WorldStepVerifier");
    }

    function _txStart(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction start outside TxStartVerifier");
    }

    function _txEnd(Ctx memory) internal pure override returns (bytes32) {
        revert UnsupportedStep("transaction end outside TxEndVerifier");
    }
}

/// @title The block-boundary steps of the one-step verifier (fraud-vm/SPEC.md §5.18, §5.19)
/// @notice With the same `step` as `OneStepVerifier` (which forwards these steps here), for the
/// states outside transactions: the block end's start from the Idle state after the last
/// transaction, the two system calls of a BlockStart state and the fixed point of a BlockEnd
/// state here, the fold, insertion and seal steps of a Sealing state in `SealingStepVerifier`
/// (forwarded, a separate contract so that each stays within EIP-170).
contract BoundaryStepVerifier is BoundaryMachine, IStepVerifier {
    /// @notice The contract that executes the Sealing steps.
    address public immutable sealingSteps;

    /// @param sealingSteps_ The deployed `SealingStepVerifier`.
    constructor(address sealingSteps_) {
        sealingSteps = sealingSteps_;
    }

    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return post The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32 post) {
        if (proof.length > 1 + StateRecord.STATUS && uint8(proof[1 + StateRecord.STATUS]) == SEALING) {
            _forward(sealingSteps);
        }
        (Ctx memory cx, uint256 status) = _open(preCommitment, proof);
        if (status == IDLE) {
            post = BlockEndStep.begin(cx);
        } else if (status == BLOCK_START) {
            post = BlockStartStep.execute(cx);
        } else if (status == BLOCK_END) {
            // A fixed point (§12.6): the record and nothing else.
            if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
            post = preCommitment;
        } else {
            revert UnsupportedStep("not a block-boundary state");
        }
        _checkAllUsed(cx);
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

/// @title The Sealing steps of the one-step verifier (fraud-vm/SPEC.md §5.19)
/// @notice The fold, insertion and seal steps of a Sealing state, with the same `step` as
/// `OneStepVerifier`.
contract SealingStepVerifier is BoundaryMachine, IStepVerifier {
    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return post The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external pure returns (bytes32 post) {
        (Ctx memory cx, uint256 status) = _open(preCommitment, proof);
        if (status != SEALING) revert UnsupportedStep("not a Sealing state");
        post = BlockEndStep.execute(cx);
        _checkAllUsed(cx);
    }
}
