// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IDisputeGame} from "./IDisputeGame.sol";
import {IDisputeGameFactory} from "./IDisputeGameFactory.sol";

/// @title DisputeGameFactory
/// @notice Creates and indexes dispute games, with the OP Stack factory's interface that viem's
///         op-stack actions read (`gameCount`, `gameAtIndex`, `findLatestGames`, `games`).
///         The owner registers one implementation and one bond per game type; `create` deploys an
///         EIP-1167 minimal clone of the type's implementation (a new contract per game, sharing
///         the implementation's code and immutables) and initializes it with the bond.
/// @dev A game is identified by `(gameType, rootClaim, extraData)`: creating the same claim twice
///      is refused. Every game is also appended to a list; its entry packs
///      `gameType << 224 | timestamp << 160 | address` (the `metadata` of `findLatestGames`,
///      from which viem takes the game's address).
contract DisputeGameFactory is IDisputeGameFactory {
    /// @notice One game of `findLatestGames`.
    struct GameSearchResult {
        uint256 index;
        bytes32 metadata;
        uint64 timestamp;
        bytes32 rootClaim;
        bytes extraData;
    }

    /// @notice Who may register implementations and bonds.
    address public owner;
    /// @notice The implementation each game type clones.
    mapping(uint32 => address) public gameImpls;
    /// @notice The exact bond (wei) `create` takes for each game type.
    mapping(uint32 => uint256) public initBonds;

    /// @dev uuid => packed entry of the game.
    mapping(bytes32 => bytes32) private gameByUuid;
    /// @dev Packed entries in creation order.
    bytes32[] private gameList;

    event DisputeGameCreated(address indexed disputeProxy, uint32 indexed gameType, bytes32 indexed rootClaim);
    event ImplementationSet(address indexed impl, uint32 indexed gameType);
    event InitBondUpdated(uint32 indexed gameType, uint256 indexed newBond);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice The caller is not the owner.
    error Unauthorized();
    /// @notice No implementation is registered for the game type.
    error NoImplementation(uint32 gameType);
    /// @notice `msg.value` differs from the game type's bond.
    error IncorrectBondAmount();
    /// @notice A game with the same type, claim and extra data exists.
    error GameAlreadyExists(bytes32 uuid);
    /// @notice Deploying the clone failed.
    error CloneFailed();

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized();
        _;
    }

    /// @param owner_ Who may call `setImplementation`, `setInitBond` and `transferOwnership`.
    constructor(address owner_) {
        owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
    }

    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Creates a game of `gameType` claiming `rootClaim`; `msg.value` must equal the
    ///         type's bond, which the game holds. For output-root games `extraData` is
    ///         `abi.encode(uint256 l2BlockNumber)`.
    function create(uint32 gameType, bytes32 rootClaim, bytes calldata extraData)
        external
        payable
        returns (address proxy_)
    {
        address impl = gameImpls[gameType];
        if (impl == address(0)) revert NoImplementation(gameType);
        if (msg.value != initBonds[gameType]) revert IncorrectBondAmount();
        bytes32 uuid = getGameUUID(gameType, rootClaim, extraData);
        if (gameByUuid[uuid] != bytes32(0)) revert GameAlreadyExists(uuid);

        proxy_ = _clone(impl);
        bytes32 entry = _pack(gameType, uint64(block.timestamp), proxy_);
        gameByUuid[uuid] = entry;
        gameList.push(entry);
        emit DisputeGameCreated(proxy_, gameType, rootClaim);
        // The implementation is the owner's choice, so calling it after recording is safe.
        IDisputeGame(proxy_).initialize{value: msg.value}(msg.sender, rootClaim, extraData);
    }

    /// @notice How many games were created.
    function gameCount() external view returns (uint256) {
        return gameList.length;
    }

    /// @notice The game created `index`-th (from 0). Reverts (panic 0x32) past the end.
    function gameAtIndex(uint256 index)
        external
        view
        returns (uint32 gameType_, uint64 timestamp_, IDisputeGame proxy_)
    {
        address proxy;
        (gameType_, timestamp_, proxy) = _unpack(gameList[index]);
        proxy_ = IDisputeGame(proxy);
    }

    /// @notice The game with this type, claim and extra data, and when it was created; zeros when
    ///         there is none.
    function games(uint32 gameType, bytes32 rootClaim, bytes calldata extraData)
        external
        view
        returns (IDisputeGame proxy_, uint64 timestamp_)
    {
        address proxy;
        (, timestamp_, proxy) = _unpack(gameByUuid[getGameUUID(gameType, rootClaim, extraData)]);
        proxy_ = IDisputeGame(proxy);
    }

    /// @notice The key a game is unique under.
    function getGameUUID(uint32 gameType, bytes32 rootClaim, bytes calldata extraData) public pure returns (bytes32) {
        return keccak256(abi.encode(gameType, rootClaim, extraData));
    }

    /// @notice Up to `n` games of `gameType`, newest first, looking back from index `start`
    ///         (inclusive). Empty when `start` is past the end or `n` is 0.
    function findLatestGames(uint32 gameType, uint256 start, uint256 n)
        external
        view
        returns (GameSearchResult[] memory games_)
    {
        uint256 count = gameList.length;
        if (start >= count || n == 0) return games_;
        if (n > start + 1) n = start + 1;
        games_ = new GameSearchResult[](n);
        uint256 found;
        uint256 i = start;
        while (found < n) {
            bytes32 entry = gameList[i];
            (uint32 type_, uint64 timestamp, address proxy) = _unpack(entry);
            if (type_ == gameType) {
                IDisputeGame game = IDisputeGame(proxy);
                games_[found++] = GameSearchResult(i, entry, timestamp, game.rootClaim(), game.extraData());
            }
            if (i == 0) break;
            i--;
        }
        assembly {
            mstore(games_, found)
        }
    }

    /// @notice Registers the implementation that games of `gameType` clone (zero to stop creating them).
    function setImplementation(uint32 gameType, address impl) external onlyOwner {
        gameImpls[gameType] = impl;
        emit ImplementationSet(impl, gameType);
    }

    /// @notice Sets the bond `create` takes for `gameType`.
    function setInitBond(uint32 gameType, uint256 initBond) external onlyOwner {
        initBonds[gameType] = initBond;
        emit InitBondUpdated(gameType, initBond);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function _pack(uint32 gameType, uint64 timestamp, address proxy) private pure returns (bytes32) {
        return bytes32((uint256(gameType) << 224) | (uint256(timestamp) << 160) | uint256(uint160(proxy)));
    }

    function _unpack(bytes32 entry) private pure returns (uint32 gameType, uint64 timestamp, address proxy) {
        uint256 word = uint256(entry);
        gameType = uint32(word >> 224);
        timestamp = uint64(word >> 160);
        proxy = address(uint160(word));
    }

    /// @dev Deploys the EIP-1167 minimal proxy of `impl`: 55 bytes of creation code whose runtime
    ///      copies calldata, delegatecalls `impl` with all gas and returns or reverts its result.
    function _clone(address impl) private returns (address instance) {
        assembly {
            let ptr := mload(0x40)
            mstore(ptr, 0x3d602d80600a3d3981f3363d3d373d3d3d363d73000000000000000000000000)
            mstore(add(ptr, 0x14), shl(0x60, impl))
            mstore(add(ptr, 0x28), 0x5af43d82803e903d91602b57fd5bf30000000000000000000000000000000000)
            instance := create(0, ptr, 0x37)
        }
        if (instance == address(0)) revert CloneFailed();
    }
}
