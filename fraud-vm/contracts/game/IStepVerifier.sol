// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title IStepVerifier
/// @notice The one-step proof verifier the bisection game calls at a leaf of layer 2 (SPEC §6,
///         §12.6): a pure function of a machine-state commitment and a proof.
interface IStepVerifier {
    /// @notice The commitment of the state one step after the state committed to by `pre`.
    /// @dev MUST revert when `proof` is not a proof of a step from `pre` (SPEC §6.1). A block-end
    ///      state is a fixed point: its step returns `pre` (SPEC §12.6).
    /// @param pre The agreed pre-state commitment.
    /// @param proof The canonical proof encoding (SPEC §6.3).
    /// @return post The post-state commitment.
    function step(bytes32 pre, bytes calldata proof) external view returns (bytes32 post);
}

/// @title IBlockBoundaryVerifier
/// @notice How the bisection game links layer 1 (output roots) to layer 2 (machine states):
///         the first state of a block from its parent's output root, and the output root a
///         block-end state commits to (SPEC §5.9, §12.6). Pending: the block start and end steps of
///         SPEC §5.9 define what `proof` holds.
interface IBlockBoundaryVerifier {
    /// @notice The commitment of `s_0`, the block-start state of L2 block `l2BlockNumber`, derived
    ///         from the agreed output root of block `l2BlockNumber - 1` and the block's inputs
    ///         (witnessed in `proof`), which L1 recorded by L1 block `l1Block`. MUST revert when
    ///         `proof` does not show it.
    /// @param parentOutputRoot The agreed output root (v0) of the parent block.
    /// @param l2BlockNumber The block whose steps are bisected.
    /// @param l1Block The game's L1 view: the number of the L1 block whose hash is its `l1Head`.
    /// @param proof The parent output's preimage, the block's inputs and their opening on L1.
    /// @return start The commitment of `s_0`.
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256 l1Block, bytes calldata proof)
        external
        view
        returns (bytes32 start);

    /// @notice The output root (v0) that the block-end state committed to by `state` holds.
    ///         MUST revert when `proof` does not open `state` to a block-end state.
    /// @param state A machine-state commitment claimed to be a block-end state.
    /// @param proof The state's preimage (and what the output root is read from).
    /// @return outputRoot The output root the state commits to.
    function blockEnd(bytes32 state, bytes calldata proof) external view returns (bytes32 outputRoot);
}
