// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IBlockBoundaryVerifier, IStepVerifier} from "./IStepVerifier.sol";

/// @title GameVerifier
/// @notice The one address a `BisectionGame` calls (fraud-vm/SPEC.md §12.6): one-step proofs go to
///         the step verifier (`OneStepVerifier`, which forwards world-state steps to
///         `WorldStepVerifier`), block starts and ends to the block-boundary verifier. Deployments
///         swap either part by deploying a new `GameVerifier` and a new game implementation.
/// @dev The block start and end steps are pending (SPEC §5.9): until their verifier exists a
///      deployment passes `boundary = address(0)`, and both boundary calls revert
///      `BlockBoundaryPending()`. Then no challenge can enter layer 2: `startSteps` reverts, so a
///      challenge that reaches a layer-1 leaf is decided by the defender's clock. A wrong claim
///      still falls to an honest challenger (its defender cannot open the block either); a right
///      one can be knocked down by a challenger that disagrees to a leaf (liveness, not safety).
contract GameVerifier is IStepVerifier, IBlockBoundaryVerifier {
    /// @notice Where `step` is answered.
    IStepVerifier public immutable steps;
    /// @notice Where `blockStart` and `blockEnd` are answered; zero while they are pending.
    IBlockBoundaryVerifier public immutable boundary;

    /// @notice This deployment has no block-boundary verifier yet (SPEC §5.9 pending).
    error BlockBoundaryPending();

    /// @param steps_ The one-step verifier.
    /// @param boundary_ The block-boundary verifier, or zero while it is pending.
    constructor(IStepVerifier steps_, IBlockBoundaryVerifier boundary_) {
        steps = steps_;
        boundary = boundary_;
    }

    /// @inheritdoc IStepVerifier
    /// @dev The step verifier's revert (a bad proof) propagates unchanged.
    function step(bytes32 pre, bytes calldata proof) external view returns (bytes32 post) {
        return steps.step(pre, proof);
    }

    /// @inheritdoc IBlockBoundaryVerifier
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256 l1Block, bytes calldata proof)
        external
        view
        returns (bytes32 start)
    {
        if (address(boundary) == address(0)) revert BlockBoundaryPending();
        return boundary.blockStart(parentOutputRoot, l2BlockNumber, l1Block, proof);
    }

    /// @inheritdoc IBlockBoundaryVerifier
    function blockEnd(bytes32 state, bytes calldata proof) external view returns (bytes32 outputRoot) {
        if (address(boundary) == address(0)) revert BlockBoundaryPending();
        return boundary.blockEnd(state, proof);
    }
}
