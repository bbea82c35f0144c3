// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IDisputeGame} from "./IDisputeGame.sol";
import {IDisputeGameFactory} from "./IDisputeGameFactory.sol";

/// @title IAnchorStateRegistry
/// @notice The `AnchorStateRegistry` as the portal uses it: which games count, and since when.
interface IAnchorStateRegistry {
    function disputeGameFactory() external view returns (IDisputeGameFactory);
    function disputeGameFinalityDelaySeconds() external view returns (uint256);
    function respectedGameType() external view returns (uint32);
    function isGameRegistered(IDisputeGame game) external view returns (bool);
    function isGameProper(IDisputeGame game) external view returns (bool);
    function isGameRespected(IDisputeGame game) external view returns (bool);
    function isGameResolved(IDisputeGame game) external view returns (bool);
    function isGameFinalized(IDisputeGame game) external view returns (bool);
    function isGameClaimValid(IDisputeGame game) external view returns (bool);
}
