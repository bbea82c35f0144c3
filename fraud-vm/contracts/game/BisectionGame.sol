// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {GameStatus, IDisputeGame} from "./IDisputeGame.sol";
import {IBlockBoundaryVerifier, IStepVerifier} from "./IStepVerifier.sol";

/// @title IAnchorSource
/// @notice The part of the `AnchorStateRegistry` a game reads when it is created: the newest output
///         root everyone agrees on (the genesis output, or the claim of the newest valid game).
interface IAnchorSource {
    /// @notice The anchor output root and its L2 block number.
    function getAnchorRoot() external view returns (bytes32 root, uint256 l2BlockNumber);
}

/// @title BisectionGame
/// @notice An output-root proposal that anyone can challenge (fraud-vm/SPEC.md §12). Each
///         challenge is a one-on-one bisection between its challenger and the proposer (the
///         defender): layer 1 over the L2 blocks between the anchor and the claimed block (the
///         defender names output roots), layer 2 over the steps of the one disputed block (the
///         defender names machine-state commitments), and a one-step proof at the leaf. The
///         challenger only agrees or disagrees with each named commitment. Each side of a challenge
///         has a chess clock; the side to move loses when its clock runs out.
///
///         The claim stands (DEFENDER_WINS) once the challenge window has passed and the defender
///         won every challenge; it falls (CHALLENGER_WINS) as soon as any challenger wins.
///         Bonds: the proposer's bond goes to the first challenger that wins, or back to the
///         proposer; each challenge bond goes to the winner of that challenge, or back to its
///         challenger if the claim fell elsewhere first. Payouts are credits (`claimCredit`).
/// @dev The factory deploys one EIP-1167 clone per game; the rules are the implementation's
///      immutables, shared by every clone.
contract BisectionGame is IDisputeGame {
    /// @notice Who moves next in a challenge.
    enum Side {
        DEFENDER,
        CHALLENGER
    }

    /// @notice How a challenge ended.
    enum Outcome {
        NONE,
        DEFENDER_WON,
        CHALLENGER_WON,
        REFUNDED
    }

    /// @notice One challenge: a bisection between its challenger and the proposer.
    /// @dev Layer 1 positions are L2 block numbers and claims output roots; layer 2 positions are
    ///      step indices of block `stepBlock` and claims state commitments. The commitment at
    ///      `agreedPos` is agreed, the one at `disputedPos` disputed; `pendingClaim` is the
    ///      defender's commitment at the midpoint, waiting for the challenger's answer.
    struct Challenge {
        address challenger;
        uint8 layer;
        Side turn;
        Outcome outcome;
        uint64 agreedPos;
        uint64 disputedPos;
        uint64 stepBlock;
        uint64 defenderClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        bytes32 agreedClaim;
        bytes32 disputedClaim;
        bytes32 pendingClaim;
        uint256 bond;
    }

    /// @notice Most steps a block may claim (2^48): bounds layer 2 to 48 moves.
    uint64 public constant MAX_STEPS = 2 ** 48;

    uint32 private immutable GAME_TYPE;
    uint64 private immutable MAX_CLOCK_DURATION;
    uint64 private immutable CLOCK_EXTENSION;
    uint256 private immutable CHALLENGE_BOND;
    address private immutable VERIFIER;
    IAnchorSource private immutable ANCHORS;

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
    /// @notice The anchor the game starts from: its output root and L2 block (agreed by everyone).
    bytes32 public startingOutputRoot;
    /// @notice The anchor's L2 block number.
    uint256 public startingBlockNumber;
    /// @notice The bond the proposer posted.
    uint256 public bond;
    /// @inheritdoc IDisputeGame
    bytes public extraData;
    /// @dev Every challenge, in the order they were opened (`getChallenge`).
    Challenge[] private challenges;
    /// @notice Challenges not yet ended.
    uint256 public openChallenges;
    /// @notice Whether a challenger has won (the claim falls; no more moves or challenges).
    bool public challengerWon;
    /// @notice Wei owed to each address, collected with `claimCredit`.
    mapping(address => uint256) public credit;
    /// @notice The number of the L1 block `l1Head` is the hash of: the L1 view the block start
    ///         ties a block's inputs to (SPEC §5.18, §12.6).
    uint64 public l1HeadNumber;

    /// @notice A challenge was opened against the claim.
    event ChallengeOpened(uint256 indexed id, address indexed challenger);
    /// @notice The defender named `claim` at `position` (layer 1: an output root; layer 2: a state).
    event Defended(uint256 indexed id, uint8 layer, uint64 position, bytes32 claim);
    /// @notice The challenger agreed or disagreed with the defender's last claim.
    event Answered(uint256 indexed id, bool agree);
    /// @notice Layer 2 started over the `stepCount` steps of `l2Block`.
    event StepsStarted(uint256 indexed id, uint64 l2Block, uint64 stepCount, bytes32 startState, bytes32 endState);
    /// @notice A challenge ended.
    event ChallengeEnded(uint256 indexed id, Outcome outcome);

    /// @notice `initialize` was called before (or on the implementation itself).
    error AlreadyInitialized();
    /// @notice `extraData` is not `abi.encode(uint256 l2BlockNumber)` with a block above the anchor
    ///         that fits in 64 bits.
    error BadExtraData();
    /// @notice The game is already resolved (or was never initialized), or a challenger won.
    error GameNotInProgress();
    /// @notice The challenge window, or a challenge, is still open.
    error ClockNotExpired();
    /// @notice The challenge window has closed.
    error ChallengeWindowClosed();
    /// @notice `msg.value` differs from `challengeBond()`.
    error IncorrectBondAmount();
    /// @notice No challenge has this id.
    error NoSuchChallenge();
    /// @notice The challenge has ended.
    error ChallengeOver();
    /// @notice The caller is not the side whose move it is.
    error NotYourTurn();
    /// @notice The move does not fit the challenge's stage (layer, or a single step left).
    error WrongMove();
    /// @notice The mover's clock ran out; the challenge can only be ended (`resolveChallenge`).
    error ClockExpired();
    /// @notice The end state's output root is not the disputed claim.
    error EndStateMismatch();
    /// @notice The step count is 0 or above `MAX_STEPS`.
    error BadStepCount();
    /// @notice Nothing is owed to the address.
    error NoCreditToClaim();
    /// @notice The credited address refused the transfer.
    error CreditTransferFailed();

    /// @param gameType_ The type this implementation is registered under in the factory.
    /// @param maxClockDuration_ The challenge window after creation, and each side's clock in a
    ///        challenge (seconds).
    /// @param clockExtension_ The least time a side has when its turn begins (seconds).
    /// @param challengeBond_ The bond (wei) each challenge posts.
    /// @param verifier_ The step and block-boundary verifier.
    /// @param anchors_ The registry the starting output root is read from.
    constructor(
        uint32 gameType_,
        uint64 maxClockDuration_,
        uint64 clockExtension_,
        uint256 challengeBond_,
        address verifier_,
        IAnchorSource anchors_
    ) {
        GAME_TYPE = gameType_;
        MAX_CLOCK_DURATION = maxClockDuration_;
        CLOCK_EXTENSION = clockExtension_;
        CHALLENGE_BOND = challengeBond_;
        VERIFIER = verifier_;
        ANCHORS = anchors_;
        // The implementation is never a game; only its clones are initialized.
        initialized = true;
    }

    /// @inheritdoc IDisputeGame
    /// @dev Reads the anchor from the registry: the claimed block must be above it.
    function initialize(address creator, bytes32 rootClaim_, bytes calldata extraData_) external payable {
        if (initialized) revert AlreadyInitialized();
        if (extraData_.length != 32) revert BadExtraData();
        uint256 l2Block = abi.decode(extraData_, (uint256));
        (bytes32 anchorRoot, uint256 anchorBlock) = ANCHORS.getAnchorRoot();
        if (l2Block <= anchorBlock || l2Block > type(uint64).max) revert BadExtraData();
        initialized = true;
        gameCreator = creator;
        rootClaim = rootClaim_;
        extraData = extraData_;
        l2BlockNumber = l2Block;
        startingOutputRoot = anchorRoot;
        startingBlockNumber = anchorBlock;
        createdAt = uint64(block.timestamp);
        l1Head = blockhash(block.number - 1);
        l1HeadNumber = uint64(block.number - 1);
        bond = msg.value;
    }

    /// @notice Opens a challenge against the claim, with `challengeBond()` as value, while the
    ///         window is open. The defender moves first. Returns the challenge's id.
    function challenge() external payable returns (uint256 id) {
        if (status != GameStatus.IN_PROGRESS || createdAt == 0 || challengerWon) revert GameNotInProgress();
        if (block.timestamp >= uint256(createdAt) + MAX_CLOCK_DURATION) revert ChallengeWindowClosed();
        if (msg.value != CHALLENGE_BOND) revert IncorrectBondAmount();
        id = challenges.length;
        challenges.push(
            Challenge({
                challenger: msg.sender,
                layer: 1,
                turn: Side.DEFENDER,
                outcome: Outcome.NONE,
                agreedPos: uint64(startingBlockNumber),
                disputedPos: uint64(l2BlockNumber),
                stepBlock: 0,
                defenderClock: MAX_CLOCK_DURATION,
                challengerClock: MAX_CLOCK_DURATION,
                lastMoveAt: uint64(block.timestamp),
                agreedClaim: startingOutputRoot,
                disputedClaim: rootClaim,
                pendingClaim: bytes32(0),
                bond: msg.value
            })
        );
        openChallenges++;
        emit ChallengeOpened(id, msg.sender);
    }

    /// @notice The defender names its commitment at the challenge's next position (an output root
    ///         in layer 1, a state commitment in layer 2), while more than one step is disputed.
    function defend(uint256 id, bytes32 claim) external {
        Challenge storage c = _move(id, Side.DEFENDER);
        if (c.disputedPos - c.agreedPos < 2) revert WrongMove();
        c.pendingClaim = claim;
        _pass(c, Side.CHALLENGER);
        emit Defended(id, c.layer, nextPosition(id), claim);
    }

    /// @notice The challenger agrees (the range moves up to the named position) or disagrees (the
    ///         range moves down to it) with the defender's last commitment.
    function answer(uint256 id, bool agree) external {
        Challenge storage c = _move(id, Side.CHALLENGER);
        uint64 mid = c.agreedPos + (c.disputedPos - c.agreedPos) / 2;
        if (agree) {
            c.agreedPos = mid;
            c.agreedClaim = c.pendingClaim;
        } else {
            c.disputedPos = mid;
            c.disputedClaim = c.pendingClaim;
        }
        c.pendingClaim = bytes32(0);
        _pass(c, Side.DEFENDER);
        emit Answered(id, agree);
    }

    /// @notice Once layer 1 is down to one block `n` (parent output agreed, output disputed), the
    ///         defender opens layer 2 over the block's `stepCount` steps: `s_0` is derived on chain
    ///         from the agreed parent output, and `endState` (`s_N`) must open to the disputed
    ///         output root.
    /// @param startProof What `IBlockBoundaryVerifier.blockStart` needs for block `n`.
    /// @param endProof What `IBlockBoundaryVerifier.blockEnd` needs to open `endState`.
    function startSteps(
        uint256 id,
        uint64 stepCount,
        bytes32 endState,
        bytes calldata startProof,
        bytes calldata endProof
    ) external {
        Challenge storage c = _move(id, Side.DEFENDER);
        if (c.layer != 1 || c.disputedPos - c.agreedPos != 1) revert WrongMove();
        if (stepCount == 0 || stepCount > MAX_STEPS) revert BadStepCount();
        uint64 n = c.disputedPos;
        IBlockBoundaryVerifier boundary = IBlockBoundaryVerifier(VERIFIER);
        bytes32 start = boundary.blockStart(c.agreedClaim, n, l1HeadNumber, startProof);
        if (boundary.blockEnd(endState, endProof) != c.disputedClaim) revert EndStateMismatch();
        c.layer = 2;
        c.stepBlock = n;
        c.agreedPos = 0;
        c.agreedClaim = start;
        c.disputedPos = stepCount;
        c.disputedClaim = endState;
        // Still the defender's move: it names the first midpoint, or proves the single step.
        _pass(c, Side.DEFENDER);
        emit StepsStarted(id, n, stepCount, start, endState);
    }

    /// @notice At a leaf of layer 2 (one step disputed), anyone runs the one-step proof of the
    ///         agreed state: the defender wins if it yields the disputed state, the challenger
    ///         otherwise. It is the defender's move: it must be proven before the defender's clock
    ///         runs out. Reverts (with the verifier's error) on a bad proof.
    function step(uint256 id, bytes calldata proof) external {
        Challenge storage c = _challenge(id);
        if (c.turn != Side.DEFENDER) revert NotYourTurn();
        _charge(c, Side.DEFENDER);
        if (c.layer != 2 || c.disputedPos - c.agreedPos != 1) revert WrongMove();
        bytes32 post = IStepVerifier(VERIFIER).step(c.agreedClaim, proof);
        _end(id, c, post == c.disputedClaim ? Outcome.DEFENDER_WON : Outcome.CHALLENGER_WON);
    }

    /// @notice Ends a challenge whose side to move ran out of time (that side loses), or, once a
    ///         challenger has won elsewhere, refunds an open challenge's bond to its challenger.
    function resolveChallenge(uint256 id) external {
        Challenge storage c = _challenge(id);
        if (challengerWon) {
            _end(id, c, Outcome.REFUNDED);
            return;
        }
        if (block.timestamp - c.lastMoveAt <= _clock(c, c.turn)) revert ClockNotExpired();
        _end(id, c, c.turn == Side.DEFENDER ? Outcome.CHALLENGER_WON : Outcome.DEFENDER_WON);
    }

    /// @inheritdoc IDisputeGame
    /// @dev CHALLENGER_WINS once any challenger has won. DEFENDER_WINS once the window has passed
    ///      and every challenge ended with the defender's win; the proposer's bond is then credited
    ///      back to it.
    function resolve() external returns (GameStatus) {
        if (status != GameStatus.IN_PROGRESS || createdAt == 0) revert GameNotInProgress();
        GameStatus result;
        if (challengerWon) {
            result = GameStatus.CHALLENGER_WINS;
        } else {
            if (block.timestamp < uint256(createdAt) + MAX_CLOCK_DURATION || openChallenges != 0) {
                revert ClockNotExpired();
            }
            result = GameStatus.DEFENDER_WINS;
            credit[gameCreator] += bond;
        }
        status = result;
        resolvedAt = uint64(block.timestamp);
        emit Resolved(result);
        return result;
    }

    /// @notice Pays out what `credit` holds for `recipient`.
    function claimCredit(address recipient) external {
        uint256 amount = credit[recipient];
        if (amount == 0) revert NoCreditToClaim();
        credit[recipient] = 0;
        (bool ok,) = recipient.call{value: amount}("");
        if (!ok) revert CreditTransferFailed();
    }

    /// @notice The position the defender names next in challenge `id` (its midpoint).
    function nextPosition(uint256 id) public view returns (uint64) {
        Challenge storage c = challenges[id];
        return c.agreedPos + (c.disputedPos - c.agreedPos) / 2;
    }

    /// @notice Challenge `id` (reverts with a panic past the end).
    function getChallenge(uint256 id) external view returns (Challenge memory) {
        return challenges[id];
    }

    /// @notice How many challenges were opened.
    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

    /// @notice Seconds the side to move in challenge `id` has left (0 once it ran out).
    function timeLeft(uint256 id) external view returns (uint64) {
        Challenge storage c = challenges[id];
        uint256 elapsed = block.timestamp - c.lastMoveAt;
        uint64 clock = _clock(c, c.turn);
        return elapsed >= clock ? 0 : clock - uint64(elapsed);
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

    /// @notice The challenge window after `createdAt`, and each side's clock in a challenge.
    ///         (viem's getTimeToFinalize reads it.)
    function maxClockDuration() external view returns (uint64) {
        return MAX_CLOCK_DURATION;
    }

    /// @notice The least time a side has when its turn in a challenge begins.
    function clockExtension() external view returns (uint64) {
        return CLOCK_EXTENSION;
    }

    /// @notice The bond each challenge posts.
    function challengeBond() external view returns (uint256) {
        return CHALLENGE_BOND;
    }

    /// @notice The step and block-boundary verifier.
    function verifier() external view returns (address) {
        return VERIFIER;
    }

    /// @notice The registry the anchor was read from.
    function anchorStateRegistry() external view returns (address) {
        return address(ANCHORS);
    }

    /// @notice When the claim can be resolved if nobody challenges it.
    function expectedResolution() external view returns (uint64) {
        return createdAt + MAX_CLOCK_DURATION;
    }

    /// @notice The fields the factory identifies the game by.
    function gameData() external view returns (uint32 gameType_, bytes32 rootClaim_, bytes memory extraData_) {
        return (GAME_TYPE, rootClaim, extraData);
    }

    /// @dev The open challenge `id` of a game still in play.
    function _challenge(uint256 id) private view returns (Challenge storage c) {
        if (id >= challenges.length) revert NoSuchChallenge();
        c = challenges[id];
        if (c.outcome != Outcome.NONE) revert ChallengeOver();
    }

    /// @dev Checks that `side` may move in challenge `id` now (the caller is that side, its clock
    ///      has not run out, no challenger has won) and charges the time it took.
    function _move(uint256 id, Side side) private returns (Challenge storage c) {
        c = _challenge(id);
        if (challengerWon) revert GameNotInProgress();
        if (c.turn != side) revert NotYourTurn();
        if (msg.sender != (side == Side.DEFENDER ? gameCreator : c.challenger)) revert NotYourTurn();
        _charge(c, side);
    }

    /// @dev Takes the time since the last move off `side`'s clock; reverts once it has run out.
    function _charge(Challenge storage c, Side side) private {
        if (challengerWon) revert GameNotInProgress();
        uint256 elapsed = block.timestamp - c.lastMoveAt;
        uint64 clock = _clock(c, side);
        if (elapsed > clock) revert ClockExpired();
        uint64 left = clock - uint64(elapsed);
        if (side == Side.DEFENDER) c.defenderClock = left;
        else c.challengerClock = left;
        c.lastMoveAt = uint64(block.timestamp);
    }

    /// @dev Hands the move to `next`, whose clock is raised to `CLOCK_EXTENSION` if below it: a
    ///      move made at the last second leaves the other side at least the extension.
    function _pass(Challenge storage c, Side next) private {
        c.turn = next;
        if (next == Side.DEFENDER) {
            if (c.defenderClock < CLOCK_EXTENSION) c.defenderClock = CLOCK_EXTENSION;
        } else if (c.challengerClock < CLOCK_EXTENSION) {
            c.challengerClock = CLOCK_EXTENSION;
        }
    }

    function _clock(Challenge storage c, Side side) private view returns (uint64) {
        return side == Side.DEFENDER ? c.defenderClock : c.challengerClock;
    }

    /// @dev Ends challenge `id` and credits its bond: to the proposer when the defender won, to
    ///      the challenger when it won or is refunded. The first challenger win also earns the
    ///      proposer's bond and makes the claim fall.
    function _end(uint256 id, Challenge storage c, Outcome outcome) private {
        c.outcome = outcome;
        openChallenges--;
        if (outcome == Outcome.DEFENDER_WON) {
            credit[gameCreator] += c.bond;
        } else {
            uint256 amount = c.bond;
            if (outcome == Outcome.CHALLENGER_WON) {
                challengerWon = true;
                amount += bond;
            }
            credit[c.challenger] += amount;
        }
        emit ChallengeEnded(id, outcome);
    }
}
