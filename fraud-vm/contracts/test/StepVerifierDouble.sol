// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IBlockBoundaryVerifier, IStepVerifier} from "../game/IStepVerifier.sol";

/// @title StepVerifierDouble
/// @notice TEST DOUBLE, never deployed by the node: stands in for the Solidity step verifier so
///         the bisection game's rules can be tested before the real verifier and the block start
///         and end steps exist. Its "machine" is a table of true transitions that the test writes
///         (`setNext`, or straight into storage slot 0's mapping), so it answers exactly what an
///         honest trace says and nothing else:
///         - `step(pre, proof)`: with an empty proof, the successor recorded for `pre` (reverts if
///           none: no proof exists from a state that is not in the true trace); with
///           `proof = abi.encode(output, salt)` opening `pre` to a block-end state, `pre` itself
///           (the block-end fixed point of SPEC §12.6).
///         - `blockStart(parent, n, _)`: `keccak256(abi.encode(1, parent, n))`, a pure function of
///           the parent output and the block, as the real `s_0` is of the parent output and the
///           block's inputs.
///         - `blockEnd(state, proof)`: opens `state = endState(output, salt)` to `output`, as the
///           real verifier opens a block-end record; anyone can build such a state for any output
///           (a liar's fake end state), exactly as anyone can write a block-end record.
contract StepVerifierDouble is IStepVerifier, IBlockBoundaryVerifier {
    /// @notice The successor of each state of the true traces.
    mapping(bytes32 => bytes32) public next;

    /// @notice The proof does not prove a step (or does not open the state).
    error BadProof();

    /// @notice Records the true transition `pre → post`. Open to anyone: a test double only.
    function setNext(bytes32 pre, bytes32 post) external {
        next[pre] = post;
    }

    /// @inheritdoc IStepVerifier
    function step(bytes32 pre, bytes calldata proof) external view returns (bytes32 post) {
        if (proof.length == 64) {
            (bytes32 output, bytes32 salt) = abi.decode(proof, (bytes32, bytes32));
            if (endState(output, salt) != pre) revert BadProof();
            return pre;
        }
        if (proof.length != 0) revert BadProof();
        post = next[pre];
        if (post == bytes32(0)) revert BadProof();
    }

    /// @inheritdoc IBlockBoundaryVerifier
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256, bytes calldata)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(uint256(1), parentOutputRoot, l2BlockNumber));
    }

    /// @inheritdoc IBlockBoundaryVerifier
    function blockEnd(bytes32 state, bytes calldata proof) external pure returns (bytes32 output) {
        if (proof.length != 64) revert BadProof();
        bytes32 salt;
        (output, salt) = abi.decode(proof, (bytes32, bytes32));
        if (endState(output, salt) != state) revert BadProof();
    }

    /// @notice The block-end state holding `output` (`salt` tells a liar's copies apart).
    function endState(bytes32 output, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(uint256(2), output, salt));
    }
}
