// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {GameStatus, IDisputeGame} from "./IDisputeGame.sol";
import {IAnchorStateRegistry} from "./IAnchorStateRegistry.sol";
import {IDisputeGameFactory} from "./IDisputeGameFactory.sol";

/// @title AnchorStateRegistry
/// @notice Decides which dispute games the portal trusts, with the predicates viem's
///         getWithdrawalStatus reads (`isGameProper`, `isGameRespected`, `isGameFinalized`).
///         It holds the respected game type and the finality delay; the portal reads both from here,
///         so the two can never disagree.
///
///         proper     the factory created it (it is the game the factory lists for its type, claim
///                    and extra data)
///         respected  its type is the respected game type, and it was created no earlier than
///                    that type was last set (a switch retires every older game)
///         resolved   it has a winner (`resolvedAt` set)
///         finalized  resolved more than `disputeGameFinalityDelaySeconds` ago
///         claim valid  proper, respected, finalized, and resolved DEFENDER_WINS
///
///         It also holds the anchor: the newest output root everyone agrees on, from which a
///         bisection game starts (fraud-vm/SPEC.md §12). The owner sets the first one (the genesis
///         output); afterwards anyone advances it to the claim of a valid game at a later block.
contract AnchorStateRegistry is IAnchorStateRegistry {
    /// @inheritdoc IAnchorStateRegistry
    IDisputeGameFactory public immutable disputeGameFactory;
    /// @inheritdoc IAnchorStateRegistry
    uint256 public immutable disputeGameFinalityDelaySeconds;
    /// @inheritdoc IAnchorStateRegistry
    uint32 public respectedGameType;
    /// @notice When `respectedGameType` was last set.
    uint64 public respectedGameTypeUpdatedAt;
    /// @notice Who may change the respected game type.
    address public owner;
    /// @notice The anchor output root (v0).
    bytes32 public anchorRoot;
    /// @notice The L2 block of `anchorRoot`.
    uint256 public anchorL2BlockNumber;

    event RespectedGameTypeSet(uint32 indexed newGameType, uint64 indexed updatedAt);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AnchorUpdated(bytes32 indexed root, uint256 indexed l2BlockNumber);

    /// @notice The caller is not the owner.
    error Unauthorized();
    /// @notice The game is not a valid claim, or not above the anchor.
    error AnchorNotAdvanced();

    /// @param factory The factory whose games count.
    /// @param finalityDelaySeconds Seconds a resolved game waits before withdrawals may use it.
    /// @param respectedGameType_ The game type withdrawals are proven against.
    /// @param owner_ Who may call `setRespectedGameType` and `transferOwnership`.
    constructor(IDisputeGameFactory factory, uint256 finalityDelaySeconds, uint32 respectedGameType_, address owner_) {
        disputeGameFactory = factory;
        disputeGameFinalityDelaySeconds = finalityDelaySeconds;
        owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
        _setRespectedGameType(respectedGameType_);
    }

    /// @notice Switches the respected game type (for example to a new dispute game). Every game
    ///         created before the switch stops being respected, so withdrawals proven against them
    ///         must be proven again.
    function setRespectedGameType(uint32 gameType) external {
        if (msg.sender != owner) revert Unauthorized();
        _setRespectedGameType(gameType);
    }

    /// @notice The anchor output root and its L2 block (what bisection games start from).
    function getAnchorRoot() external view returns (bytes32 root, uint256 l2BlockNumber) {
        return (anchorRoot, anchorL2BlockNumber);
    }

    /// @notice Sets the anchor (owner only): the genesis output root at deployment, or a recovery.
    function setAnchorRoot(bytes32 root, uint256 l2BlockNumber) external {
        if (msg.sender != owner) revert Unauthorized();
        _setAnchor(root, l2BlockNumber);
    }

    /// @notice Advances the anchor to `game`'s claim: `game` must be a valid claim
    ///         (`isGameClaimValid`) at a block above the anchor's. Anyone may call it.
    function setAnchorState(IDisputeGame game) external {
        uint256 l2Block = game.l2BlockNumber();
        if (!isGameClaimValid(game) || l2Block <= anchorL2BlockNumber) revert AnchorNotAdvanced();
        _setAnchor(game.rootClaim(), l2Block);
    }

    function transferOwnership(address newOwner) external {
        if (msg.sender != owner) revert Unauthorized();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @inheritdoc IAnchorStateRegistry
    function isGameRegistered(IDisputeGame game) public view returns (bool) {
        (IDisputeGame registered,) = disputeGameFactory.games(game.gameType(), game.rootClaim(), game.extraData());
        return address(registered) == address(game);
    }

    /// @inheritdoc IAnchorStateRegistry
    /// @dev In this version proper means registered; there is no guardian to blacklist games.
    function isGameProper(IDisputeGame game) public view returns (bool) {
        return isGameRegistered(game);
    }

    /// @inheritdoc IAnchorStateRegistry
    /// @dev Also requires that the game was created no earlier than the respected type was last
    ///      set: every switch retires the games created before it, so switching back to a type
    ///      revives none of the games created while it was not respected (and not watched).
    function isGameRespected(IDisputeGame game) public view returns (bool) {
        return game.gameType() == respectedGameType && game.createdAt() >= respectedGameTypeUpdatedAt;
    }

    /// @inheritdoc IAnchorStateRegistry
    function isGameResolved(IDisputeGame game) public view returns (bool) {
        GameStatus status = game.status();
        return game.resolvedAt() != 0 && (status == GameStatus.DEFENDER_WINS || status == GameStatus.CHALLENGER_WINS);
    }

    /// @inheritdoc IAnchorStateRegistry
    function isGameFinalized(IDisputeGame game) public view returns (bool) {
        return isGameResolved(game) && block.timestamp - game.resolvedAt() > disputeGameFinalityDelaySeconds;
    }

    /// @inheritdoc IAnchorStateRegistry
    function isGameClaimValid(IDisputeGame game) public view returns (bool) {
        return isGameProper(game) && isGameRespected(game) && isGameFinalized(game)
            && game.status() == GameStatus.DEFENDER_WINS;
    }

    function _setAnchor(bytes32 root, uint256 l2BlockNumber) private {
        anchorRoot = root;
        anchorL2BlockNumber = l2BlockNumber;
        emit AnchorUpdated(root, l2BlockNumber);
    }

    function _setRespectedGameType(uint32 gameType) private {
        respectedGameType = gameType;
        respectedGameTypeUpdatedAt = uint64(block.timestamp);
        emit RespectedGameTypeSet(gameType, uint64(block.timestamp));
    }
}
