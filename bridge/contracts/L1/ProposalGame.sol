// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {GameStatus, IDisputeGame} from "./IDisputeGame.sol";

/// @title ProposalGame
/// @notice An output-root proposal that stands once its challenge window passes unchallenged.
///         The proposer creates it through the `DisputeGameFactory` with the type's bond; after
///         `maxClockDuration()` seconds anyone may `resolve()` it, which sets `DEFENDER_WINS` and
///         returns the bond to the proposer. There is no challenge path: the bisection game of the
///         dispute issue replaces this rule behind the same `IDisputeGame` interface (a new
///         implementation registered in the factory).
/// @dev The factory deploys one EIP-1167 clone per game, delegating to an implementation deployed
///      once per game type; the type and the window are that implementation's immutables, so every
///      clone shares them, and each clone keeps its own claim in storage (`initialize`).
contract ProposalGame is IDisputeGame {
    /// @notice Gas given to the bond refund; a proposer whose receive hook wants more (or reverts)
    ///         is credited instead and collects with `claimCredit`.
    uint256 public constant BOND_REFUND_GAS = 50_000;

    uint32 private immutable GAME_TYPE;
    uint64 private immutable CHALLENGE_WINDOW;

    bool private initialized;
    /// @inheritdoc IDisputeGame
    GameStatus public status;
    /// @inheritdoc IDisputeGame
    uint64 public createdAt;
    /// @inheritdoc IDisputeGame
    uint64 public resolvedAt;
    /// @inheritdoc IDisputeGame
    address public gameCreator;
    /// @inheritdoc IDisputeGame
    bytes32 public rootClaim;
    /// @notice The L1 block hash before the one that created the game (the L1 view it claims from).
    bytes32 public l1Head;
    /// @inheritdoc IDisputeGame
    uint256 public l2BlockNumber;
    /// @notice The bond the proposer posted.
    uint256 public bond;
    /// @inheritdoc IDisputeGame
    bytes public extraData;
    /// @notice Wei owed to an address whose refund could not be pushed.
    mapping(address => uint256) public credit;

    /// @notice `initialize` was called before (or on the implementation itself).
    error AlreadyInitialized();
    /// @notice `extraData` is not `abi.encode(uint256 l2BlockNumber)`.
    error BadExtraData();
    /// @notice The game is already resolved (or was never initialized).
    error GameNotInProgress();
    /// @notice The challenge window has not passed yet.
    error ClockNotExpired();
    /// @notice Nothing is owed to the address.
    error NoCreditToClaim();
    /// @notice The credited address refused the transfer.
    error CreditTransferFailed();

    /// @param gameType_ The type this implementation is registered under in the factory.
    /// @param challengeWindow_ Seconds after creation before a proposal can be resolved.
    constructor(uint32 gameType_, uint64 challengeWindow_) {
        GAME_TYPE = gameType_;
        CHALLENGE_WINDOW = challengeWindow_;
        // The implementation is never a game; only its clones are initialized.
        initialized = true;
    }

    /// @inheritdoc IDisputeGame
    function initialize(address creator, bytes32 rootClaim_, bytes calldata extraData_) external payable {
        if (initialized) revert AlreadyInitialized();
        if (extraData_.length != 32) revert BadExtraData();
        initialized = true;
        gameCreator = creator;
        rootClaim = rootClaim_;
        extraData = extraData_;
        l2BlockNumber = abi.decode(extraData_, (uint256));
        createdAt = uint64(block.timestamp);
        l1Head = blockhash(block.number - 1);
        bond = msg.value;
    }

    /// @inheritdoc IDisputeGame
    /// @dev Once the window has passed: DEFENDER_WINS, and the bond goes back to the proposer.
    function resolve() external returns (GameStatus) {
        if (status != GameStatus.IN_PROGRESS || createdAt == 0) revert GameNotInProgress();
        if (block.timestamp < uint256(createdAt) + CHALLENGE_WINDOW) revert ClockNotExpired();
        status = GameStatus.DEFENDER_WINS;
        resolvedAt = uint64(block.timestamp);
        emit Resolved(GameStatus.DEFENDER_WINS);
        _refund(gameCreator, bond);
        return GameStatus.DEFENDER_WINS;
    }

    /// @notice Pays out what `credit` holds for `recipient`.
    function claimCredit(address recipient) external {
        uint256 amount = credit[recipient];
        if (amount == 0) revert NoCreditToClaim();
        credit[recipient] = 0;
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert CreditTransferFailed();
    }

    /// @inheritdoc IDisputeGame
    function gameType() external view returns (uint32) {
        return GAME_TYPE;
    }

    /// @inheritdoc IDisputeGame
    /// @dev The same number as `l2BlockNumber`: output-root games count L2 blocks.
    function l2SequenceNumber() external view returns (uint256) {
        return l2BlockNumber;
    }

    /// @notice The challenge window: seconds after `createdAt` before an unchallenged claim can be
    ///         resolved. (viem's getTimeToFinalize reads it to estimate resolution.)
    function maxClockDuration() external view returns (uint64) {
        return CHALLENGE_WINDOW;
    }

    /// @notice When the claim can be resolved, if nobody challenges it.
    function expectedResolution() external view returns (uint64) {
        return createdAt + CHALLENGE_WINDOW;
    }

    /// @notice The fields the factory identifies the game by.
    function gameData() external view returns (uint32 gameType_, bytes32 rootClaim_, bytes memory extraData_) {
        return (GAME_TYPE, rootClaim, extraData);
    }

    /// @dev Tries to send `amount` to `to` with bounded gas; credits it when that fails.
    function _refund(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount, gas: BOND_REFUND_GAS}("");
        if (!ok) credit[to] += amount;
    }
}
