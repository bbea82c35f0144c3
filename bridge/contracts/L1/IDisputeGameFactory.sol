// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IDisputeGame} from "./IDisputeGame.sol";

/// @title IDisputeGameFactory
/// @notice The parts of the `DisputeGameFactory` that the anchor-state registry and the portal use.
interface IDisputeGameFactory {
    function gameAtIndex(uint256 index) external view returns (uint32 gameType_, uint64 timestamp_, IDisputeGame proxy_);
    function games(uint32 gameType, bytes32 rootClaim, bytes calldata extraData)
        external
        view
        returns (IDisputeGame proxy_, uint64 timestamp_);
    function gameCount() external view returns (uint256);
}
