// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

// A copy of bridge/contracts/L1/IDisputeGame.sol: scripts/build-contracts compiles each source
// directory alone, so the game cannot import it; the tests check that the two ABIs agree.
/// @notice Where a dispute game stands. The numbering is the OP Stack's (viem and other clients
///         read it as a uint8).
enum GameStatus {
    IN_PROGRESS,
    CHALLENGER_WINS,
    DEFENDER_WINS
}

/// @title IDisputeGame
/// @notice What the factory, the anchor-state registry and the portal need of a game, with the
///         getters of the OP Stack's dispute-game interface that clients (viem's op-stack actions)
///         read. Any game type registered in the `DisputeGameFactory` implements it.
interface IDisputeGame {
    /// @notice Emitted once, when the game resolves.
    event Resolved(GameStatus indexed status);

    /// @notice Called once by the factory on a fresh clone, with the bond as value.
    /// @param creator Who called the factory (the proposer).
    /// @param rootClaim The claimed output root.
    /// @param extraData Game-type specific data; for output-root games `abi.encode(uint256 l2BlockNumber)`.
    function initialize(address creator, bytes32 rootClaim, bytes calldata extraData) external payable;

    /// @notice Settles the game; reverts until it can.
    function resolve() external returns (GameStatus status_);

    function status() external view returns (GameStatus);
    function gameType() external view returns (uint32);
    function rootClaim() external view returns (bytes32);
    function extraData() external view returns (bytes memory);
    function gameCreator() external view returns (address);
    function createdAt() external view returns (uint64);
    function resolvedAt() external view returns (uint64);
    function l2BlockNumber() external view returns (uint256);
    function l2SequenceNumber() external view returns (uint256);
}
