// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {StepMachine} from "./StepMachine.sol";
import {ProofCodec} from "./ProofCodec.sol";
import {BlockStartStep} from "./BlockStartStep.sol";
import {BlockEndStep} from "./BlockEndStep.sol";
import {InsertionStep} from "./InsertionStep.sol";
import "./StepErrors.sol";
import {IStepVerifier} from "../game/IStepVerifier.sol";

/// @notice A step verifier that a forwarder hands its range oracle (SPEC.md §3.4.1): the
/// forwarded step reads that oracle's facts.
interface IOracleStepVerifier {
    /// @notice As `IStepVerifier.step`, reading the facts of `oracle`.
    function stepWithOracle(bytes32 pre, bytes calldata proof, address oracle) external view returns (bytes32 post);
}

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

    /// @notice The answer of `target.stepWithOracle(pre, proof, oracle)`, or its revert.
    function _forwardWithOracle(address target, bytes32 pre, bytes calldata proof, address oracle)
        internal
        view
        returns (bytes32 post)
    {
        (bool ok, bytes memory ret) =
            target.staticcall(abi.encodeCall(IOracleStepVerifier.stepWithOracle, (pre, proof, oracle)));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        post = abi.decode(ret, (bytes32));
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
            // [v0.12] With the oracle of this contract's caller (`OneStepVerifier`'s), whose
            // facts a long insertion reads.
            return _forwardWithOracle(sealingSteps, preCommitment, proof, StepOps.callerOracle());
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
}

/// @title The steps from a Sealing state (fraud-vm/SPEC.md §5.19), shared by the two contracts
/// that execute them
/// @notice With the same `step` as `OneStepVerifier`, reading the facts of the caller's oracle
/// (`rangeOracle()`), or with `stepWithOracle` those of the oracle a forwarder names.
abstract contract SealingMachine is BoundaryMachine, IStepVerifier, IOracleStepVerifier {
    /// @notice As `OneStepVerifier.step`, for the steps this contract executes.
    /// @param preCommitment `keccak256` of the pre-state record (SPEC.md §3.1).
    /// @param proof The proof (SPEC.md §6.3; in its L1 form, §3.4.1).
    /// @return post The post-state commitment.
    function step(bytes32 preCommitment, bytes calldata proof) external view returns (bytes32 post) {
        return _step(preCommitment, proof, address(0));
    }

    /// @inheritdoc IOracleStepVerifier
    function stepWithOracle(bytes32 preCommitment, bytes calldata proof, address oracle)
        external
        view
        returns (bytes32 post)
    {
        return _step(preCommitment, proof, oracle);
    }

    function _step(bytes32 preCommitment, bytes calldata proof, address oracle) private view returns (bytes32) {
        (Ctx memory cx, uint256 status) = _open(preCommitment, proof);
        if (status != SEALING) revert UnsupportedStep("not a Sealing state");
        cx.rangeOracle = oracle;
        (BlockEndStep.Sealing memory s, bool insertion) = BlockEndStep.open(cx);
        return _sealingStep(cx, s, insertion, preCommitment, proof);
    }

    /// @notice The step from the opened Sealing state (an insertion, or else a fold or the seal):
    /// its post-state commitment, every witness checked as used.
    function _sealingStep(
        Ctx memory cx,
        BlockEndStep.Sealing memory s,
        bool insertion,
        bytes32 preCommitment,
        bytes calldata proof
    ) internal view virtual returns (bytes32 post);
}

/// @title The Sealing steps of the one-step verifier (fraud-vm/SPEC.md §5.19)
/// @notice The fold and seal steps of a Sealing state; the insertion steps are forwarded to
/// `InsertionStepVerifier` (its own contract, deployed by the constructor, so that each stays
/// within EIP-170).
contract SealingStepVerifier is SealingMachine {
    /// @notice The contract that executes the insertion steps.
    address public immutable insertionSteps;

    constructor() {
        insertionSteps = address(new InsertionStepVerifier());
    }

    function _sealingStep(
        Ctx memory cx,
        BlockEndStep.Sealing memory s,
        bool insertion,
        bytes32 preCommitment,
        bytes calldata proof
    ) internal view override returns (bytes32 post) {
        if (insertion) {
            return _forwardWithOracle(insertionSteps, preCommitment, proof, StepOps.rangeOracleOf(cx));
        }
        post = BlockEndStep.foldOrSeal(cx, s);
        _checkAllUsed(cx);
    }
}

/// @title The insertion steps of the one-step verifier (fraud-vm/SPEC.md §5.19)
/// @notice The insertion of a receipt and its transaction from a Sealing state, in the canonical
/// encoding or [v0.12] with long encodings and leaves in their L1 form (SPEC.md §3.4.1, §3.10).
contract InsertionStepVerifier is SealingMachine {
    function _sealingStep(Ctx memory cx, BlockEndStep.Sealing memory s, bool insertion, bytes32, bytes calldata)
        internal
        view
        override
        returns (bytes32 post)
    {
        if (!insertion) revert UnsupportedStep("not an insertion");
        post = InsertionStep.insert(cx, s);
        _checkAllUsed(cx);
    }
}
