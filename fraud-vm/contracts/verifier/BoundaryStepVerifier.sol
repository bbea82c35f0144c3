// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {StepMachine} from "./StepMachine.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {BlockStartStep} from "./BlockStartStep.sol";
import "./StepErrors.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";

/// @title The block-boundary steps of the one-step verifier (fraud-vm/SPEC.md §5.18, §5.19)
/// @notice With the same `step` as `OneStepVerifier`, for the states outside transactions: the
/// two system calls of a BlockStart state and the fixed point of a BlockEnd state. The Sealing
/// steps (fold, insertion, seal) are not mirrored yet: they revert `UnsupportedStep`, never
/// answered with a post-state.
contract BoundaryStepVerifier is StepMachine, IStepVerifier {
    uint8 private constant BLOCK_START = 6;
    uint8 private constant BLOCK_END = 8;

    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof in its canonical encoding (SPEC.md §6.3).
    /// @return post The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external pure returns (bytes32 post) {
        Ctx memory cx = ProofCodec.decode(proof);
        if (StepOps.hashCalldata(cx.pre, StateRecord.LEN) != preCommitment) revert PreStateMismatch();
        uint256 status = StateRecord.uintAt(cx.pre + StateRecord.STATUS, 1);
        if (status == BLOCK_START) {
            post = BlockStartStep.execute(cx);
        } else if (status == BLOCK_END) {
            // A fixed point (§12.6): the record and nothing else.
            if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
            post = preCommitment;
        } else {
            revert UnsupportedStep("block end outside its fixed point");
        }
        _checkAllUsed(cx);
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
