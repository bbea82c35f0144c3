// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {GameStatus, IDisputeGame} from "./IDisputeGame.sol";
import {IAnchorStateRegistry} from "./IAnchorStateRegistry.sol";
import {IDisputeGameFactory} from "./IDisputeGameFactory.sol";
import {InvalidMerkleProof, MerkleTrie} from "../lib/MerkleTrie.sol";

/// @title OptimismPortal
/// @notice The L1 end of the bridge, with the OptimismPortal2 interface (portal version 3 and
///         later) that viem's op-stack actions drive: deposits into L2, and withdrawals out of it
///         proven against an output root claimed in a dispute game.
///
///         Deposit: `depositTransaction` locks `msg.value` here and emits `TransactionDeposited`,
///         from which the L2 derives a deposit transaction that mints it.
///
///         Deposit market (the OP Stack's `ResourceMetering` rules, `_meter`): a deposit's gas
///         limit is at least OP's `minimumGasLimit`, `21,000 + 40 · data.length` (the EIP-7623
///         floor of its calldata on L2, so that viem's `eth_estimateGas` of the L2 call passes),
///         with at most 65,536 bytes of data; the market meters its resource,
///         `depositResource = gasLimit + 60 · data.length` (the 60 per byte pays for the bytes
///         `blockStart` must carry and hash), so that each deposit takes at least
///         `21,000 + 100 · data.length` of its L1 block's 10,000,000. The resources of one L1
///         block's deposits sum to at most 10,000,000, and each deposit burns its resource times
///         the market's base fee (wei per unit, EIP-1559 per L1 block around a 1,000,000 target,
///         1 gwei at least) over `max(block.basefee, 1 gwei)` in L1 gas. Why: an L2 block
///         that opens its epoch carries all the deposits of its L1 origin block, and its
///         `blockStart` proof holds them all; with these bounds the largest set one L1 block can
///         hold (476 deposits without data, or 2 deposits of 99,580 bytes in all) costs
///         `BoundaryVerifier.blockStart` about 7.04M gas at most (the measured figures are in
///         fraud-vm/SPEC.md §5.18), well under the 2^24 transaction gas cap, and crowding other depositors out grows dearer with
///         every L1 block it lasts.
///
///         Withdrawal: the L2ToL1MessagePasser stores `sentMessages[hash] = true`. Anyone proves it
///         here (`proveWithdrawalTransaction`) against a game's output root; the proof is kept per
///         submitter. After `proofMaturityDelaySeconds`, once the game resolved DEFENDER_WINS and
///         its finality delay passed (the `AnchorStateRegistry` decides), anyone finalizes it: the
///         portal calls the target with the value and the data.
///
///         Failure rule: if the target call fails, the whole finalization reverts. The withdrawal
///         is not marked finalized, the ETH stays in the portal, and the same withdrawal can be
///         finalized again later (for example once the target accepts it, or with more gas).
///         `WithdrawalFinalized` is therefore only emitted with `success = true`.
/// @dev Revert names follow the OP Stack portal ABI (viem's `portal2Abi`): `checkWithdrawal`'s
///      reverts are the `OptimismPortal_*` errors viem's getWithdrawalStatus maps to a status, and
///      the other reverts use names that ABI also declares (so clients decode them), except
///      `CallFailed`, `OptimismPortal_GasLimitTooHigh` and `OptimismPortal_DepositLimitReached`,
///      which this portal adds.
contract OptimismPortal {
    /// @notice A withdrawal as the L2ToL1MessagePasser records it.
    struct WithdrawalTransaction {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    /// @notice The preimage of an output root, version 0.
    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 latestBlockhash;
    }

    /// @notice The deposit market's state, one storage word.
    struct ResourceParams {
        /// @dev Wei per unit of resource bought in L1 block `prevBlockNum`.
        uint128 prevBaseFee;
        /// @dev Resource (`depositResource`) the deposits of L1 block `prevBlockNum` bought so far.
        uint64 prevBoughtGas;
        /// @dev The last L1 block a deposit was made in (the deployment's block at first).
        uint64 prevBlockNum;
    }

    /// @notice A submitter's proof of a withdrawal.
    struct ProvenWithdrawal {
        IDisputeGame disputeGameProxy;
        uint64 timestamp;
    }

    /// @notice `l2Sender` outside a withdrawal's call.
    address internal constant DEFAULT_L2_SENDER = 0x000000000000000000000000000000000000dEaD;
    /// @notice Added to a contract's address to give its L2 alias.
    uint160 internal constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);
    /// @notice L2 gas limit of a deposit made by sending ETH to the portal.
    uint64 internal constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;
    /// @notice Largest deposit calldata (bytes): 64 KiB, room for the largest init code (49,152
    ///         bytes, EIP-3860).
    uint256 internal constant MAX_DEPOSIT_DATA = 65_536;
    /// @notice L2 gas every deposit buys at least (`minimumGasLimit`), whatever its data.
    uint64 internal constant MIN_DEPOSIT_GAS = 21_000;
    /// @notice L2 gas a deposit buys at least per byte of its data (`minimumGasLimit`): OP's
    ///         40, the EIP-7623 floor of a nonzero calldata byte.
    uint64 internal constant MIN_DEPOSIT_GAS_PER_BYTE = 40;
    /// @notice Resource a deposit takes per byte of its data on top of its gas limit
    ///         (`depositResource`): what `blockStart` pays to carry and hash the byte.
    uint64 internal constant DEPOSIT_RESOURCE_PER_BYTE = 60;
    /// @notice The resource (`depositResource`) the deposits of one L1 block may buy in all; also
    ///         the largest resource of one deposit.
    uint64 internal constant MAX_RESOURCE_LIMIT = 10_000_000;
    /// @notice The resource limit over the target: the base fee rises when an L1 block's deposits
    ///         buy more than `MAX_RESOURCE_LIMIT / ELASTICITY`, and falls when they buy less.
    uint64 internal constant ELASTICITY = 10;
    /// @notice The base fee changes by at most 1/8 per L1 block.
    uint64 internal constant BASE_FEE_MAX_CHANGE_DENOMINATOR = 8;
    /// @notice Lowest (and initial) price of one unit of resource bought, in wei.
    uint128 internal constant MIN_BASE_FEE = 1 gwei;
    /// @notice Highest price of one unit of resource bought, in wei.
    uint128 internal constant MAX_BASE_FEE = type(uint128).max;
    /// @notice The least L1 base fee the burn is priced at (`_meter`).
    uint256 internal constant MIN_L1_BASE_FEE = 1 gwei;
    /// @notice Version of `TransactionDeposited`'s opaque data.
    uint256 internal constant DEPOSIT_VERSION = 0;
    /// @notice Domain tag of a link of the deposit log (`depositChain`).
    bytes1 internal constant DEPOSIT_LINK_TAG = 0x22;
    /// @notice Gas spent around the withdrawal's CALL that the target does not get: cold account
    ///         access, value transfer, creating the target account, and the code before the CALL.
    uint256 internal constant CALL_OVERHEAD_GAS = 40_000;

    /// @notice The registry deciding which games count; it also holds the factory, the respected
    ///         game type and the finality delay.
    IAnchorStateRegistry public immutable anchorStateRegistry;
    /// @notice Seconds a proof must age before its withdrawal can be finalized.
    uint256 public immutable proofMaturityDelaySeconds;

    /// @notice The L2 sender of the withdrawal being finalized; `0x…dEaD` otherwise.
    address public l2Sender;
    /// @notice Withdrawals already finalized, by hash.
    mapping(bytes32 => bool) public finalizedWithdrawals;
    /// @notice Proofs by withdrawal hash and submitter.
    mapping(bytes32 => mapping(address => ProvenWithdrawal)) public provenWithdrawals;
    /// @notice Everyone who proved a withdrawal, in order of their first proof.
    mapping(bytes32 => address[]) public proofSubmitters;
    /// @notice The deposit log: per L1 block number, the hash chain of that block's deposits in
    ///         emission order, from zero (no deposit) through
    ///         `keccak256(0x22 ‖ chain ‖ from ‖ to ‖ opaqueData)` per deposit (op-node/BATCHES.md
    ///         §3.5). An L2 block of sequence number 0 carries exactly its origin's deposits, and
    ///         this is how they are opened on L1: folding the preimages must give this value.
    mapping(uint256 => bytes32) public depositChain;
    /// @notice The deposit market (see `_meter`): the base fee of the L1 block `prevBlockNum`, and
    ///         how much resource (`depositResource`) that block's deposits bought. Laid out after `depositChain`, so
    ///         the log keeps its storage slot (4), which verifiers' tests write.
    ResourceParams public params;

    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);
    event WithdrawalProvenExtension1(bytes32 indexed withdrawalHash, address indexed proofSubmitter);
    event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);

    // checkWithdrawal's reverts, which viem's getWithdrawalStatus maps to a status.
    /// @notice The withdrawal was already finalized.
    error OptimismPortal_AlreadyFinalized();
    /// @notice The submitter has not proven the withdrawal.
    error OptimismPortal_Unproven();
    /// @notice The proof is not older than `proofMaturityDelaySeconds`.
    error OptimismPortal_ProofNotOldEnough();
    /// @notice The proof's game is not (yet) a valid claim: not proper, not respected, not finalized,
    ///         or not resolved DEFENDER_WINS.
    error OptimismPortal_InvalidRootClaim();

    /// @notice A creation deposit names a target, or a withdrawal targets the portal itself.
    error BadTarget();
    /// @notice The deposit's gas limit is below `minimumGasLimit`.
    error SmallGasLimit();
    /// @notice The deposit's resource (`depositResource`: its gas limit plus 60 per byte of data)
    ///         is above the per-deposit maximum, `MAX_RESOURCE_LIMIT` (10,000,000), so it fits in
    ///         no L1 block.
    error OptimismPortal_GasLimitTooHigh();
    /// @notice The deposit's calldata is too large (over 65,536 bytes).
    error LargeCalldata();
    /// @notice This L1 block's deposits already bought so much resource that a deposit of
    ///         `resource` (`depositResource`) would take them over `MAX_RESOURCE_LIMIT`;
    ///         `remaining` is what is left. The deposit fits in a later L1 block.
    error OptimismPortal_DepositLimitReached(uint64 resource, uint64 remaining);
    /// @notice The game at the index is not of the respected type.
    error InvalidGameType();
    /// @notice The game at the index is not proper, or its challenger already won.
    error InvalidDisputeGame();
    /// @notice The output-root preimage is not version 0 or does not hash to the game's claim.
    error InvalidProof();
    /// @notice A withdrawal was finalized from inside another withdrawal's call.
    error NonReentrant();
    /// @notice Too little gas was supplied for the target to get the withdrawal's gas limit.
    error OutOfGas();
    /// @notice The target call failed; the finalization is reverted and can be retried.
    error CallFailed();

    /// @param anchorStateRegistry_ The registry (and through it the factory, respected type and
    ///        finality delay).
    /// @param proofMaturityDelaySeconds_ Seconds a proof must age before finalization.
    constructor(IAnchorStateRegistry anchorStateRegistry_, uint256 proofMaturityDelaySeconds_) {
        anchorStateRegistry = anchorStateRegistry_;
        proofMaturityDelaySeconds = proofMaturityDelaySeconds_;
        l2Sender = DEFAULT_L2_SENDER;
        params = ResourceParams(MIN_BASE_FEE, 0, uint64(block.number));
    }

    /// @notice Sending ETH to the portal deposits it on L2 to the sender's address (from the
    ///         sender, aliased when it is a contract), with a 100,000 gas limit.
    receive() external payable {
        _deposit(msg.sender, msg.value, RECEIVE_DEFAULT_GAS_LIMIT, false, "");
    }

    /// @notice Accepts ETH without depositing it (for example to seed the portal).
    function donateETH() external payable {}

    /// @notice "4.0.0": viem takes the fault-proof code path for major version 3 and above.
    function version() external pure returns (string memory) {
        return "4.0.0";
    }

    /// @notice The factory games are looked up in.
    function disputeGameFactory() public view returns (IDisputeGameFactory) {
        return anchorStateRegistry.disputeGameFactory();
    }

    /// @notice The game type withdrawals are proven against.
    function respectedGameType() public view returns (uint32) {
        return anchorStateRegistry.respectedGameType();
    }

    /// @notice Seconds after a game resolves before withdrawals proven against it can be finalized.
    function disputeGameFinalityDelaySeconds() external view returns (uint256) {
        return anchorStateRegistry.disputeGameFinalityDelaySeconds();
    }

    /// @notice How many addresses proved the withdrawal.
    function numProofSubmitters(bytes32 withdrawalHash) external view returns (uint256) {
        return proofSubmitters[withdrawalHash].length;
    }

    /// @notice The least L2 gas limit of a deposit with `byteCount` bytes of calldata:
    ///         `21,000 + 40 · byteCount`, as OP's portal (at least the EIP-7623 floor of that
    ///         calldata on L2, so an `eth_estimateGas` of the L2 call passes).
    function minimumGasLimit(uint64 byteCount) public pure returns (uint64) {
        return MIN_DEPOSIT_GAS + MIN_DEPOSIT_GAS_PER_BYTE * byteCount;
    }

    /// @notice What a deposit of `gasLimit` with `byteCount` bytes of calldata takes of its L1
    ///         block's `MAX_RESOURCE_LIMIT` and pays the market's base fee on:
    ///         `gasLimit + 60 · byteCount`. With `gasLimit ≥ minimumGasLimit(byteCount)` it is at
    ///         least `21,000 + 100 · byteCount`, which bounds the deposits one L1 block can hold
    ///         (fraud-vm/SPEC.md §5.18).
    function depositResource(uint64 gasLimit, uint64 byteCount) public pure returns (uint256) {
        return uint256(gasLimit) + uint256(DEPOSIT_RESOURCE_PER_BYTE) * byteCount;
    }

    /// @notice The market's parameters: the resource one L1 block's deposits may buy in all, the
    ///         elasticity (the target is the limit over it), the base fee's change denominator,
    ///         its minimum (also its initial value) and maximum, the least L2 gas of a deposit
    ///         and per byte of its data (`minimumGasLimit`), and the resource per byte of data on
    ///         top of the gas limit (`depositResource`).
    function resourceConfig()
        external
        pure
        returns (
            uint64 maxResourceLimit,
            uint64 elasticityMultiplier,
            uint64 baseFeeMaxChangeDenominator,
            uint128 minimumBaseFee,
            uint128 maximumBaseFee,
            uint64 minimumGas,
            uint64 minimumGasPerByte,
            uint64 resourcePerByte
        )
    {
        return (
            MAX_RESOURCE_LIMIT,
            ELASTICITY,
            BASE_FEE_MAX_CHANGE_DENOMINATOR,
            MIN_BASE_FEE,
            MAX_BASE_FEE,
            MIN_DEPOSIT_GAS,
            MIN_DEPOSIT_GAS_PER_BYTE,
            DEPOSIT_RESOURCE_PER_BYTE
        );
    }

    /// @notice What a deposit in this L1 block pays: the base fee (wei per unit of resource) and
    ///         the resource this block's deposits may still buy. A deposit of resource `r`
    ///         (`depositResource`) burns `r · baseFee / max(block.basefee, 1 gwei)` L1 gas
    ///         (`_meter`).
    function depositMarket() external view returns (uint128 baseFee, uint64 remaining) {
        ResourceParams memory p = _marketNow();
        return (p.prevBaseFee, MAX_RESOURCE_LIMIT - p.prevBoughtGas);
    }

    /// @notice Deposits into L2: `msg.value` is minted on L2 to the sender (aliased when it is a
    ///         contract), which then sends `value` to `to` (or creates a contract) with `data`.
    ///         Buys `depositResource(gasLimit, data.length)` in this L1 block's deposit market:
    ///         reverts with `OptimismPortal_DepositLimitReached` when the block's deposits cannot
    ///         buy that much more, and burns `resource · baseFee / max(block.basefee, 1 gwei)` L1
    ///         gas (`depositMarket`), which `eth_estimateGas` includes.
    /// @param to L2 target; must be zero when `isCreation`.
    /// @param value Wei sent to the target on L2 (out of the sender's L2 balance).
    /// @param gasLimit L2 gas limit, at least `minimumGasLimit(data.length)`, and
    ///        `depositResource(gasLimit, data.length)` at most 10,000,000.
    /// @param isCreation Whether `data` is init code of a contract to create.
    /// @param data Calldata or init code, at most 65,536 bytes.
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes memory data)
        public
        payable
    {
        _deposit(to, value, gasLimit, isCreation, data);
    }

    /// @notice Proves that the withdrawal was passed on L2, in the output claimed by the game at
    ///         `disputeGameIndex`. The game must be proper, of the respected type and not lost by
    ///         its proposer; `outputRootProof` must hash to its claim; `withdrawalProof` must show
    ///         `sentMessages[hash] = true` in the message passer's storage. Proving again replaces
    ///         the caller's own earlier proof (and restarts its maturity delay).
    function proveWithdrawalTransaction(
        WithdrawalTransaction calldata tx_,
        uint256 disputeGameIndex,
        OutputRootProof calldata outputRootProof,
        bytes[] calldata withdrawalProof
    ) external {
        if (tx_.target == address(this)) revert BadTarget();
        bytes32 withdrawalHash = hashWithdrawal(tx_);
        if (finalizedWithdrawals[withdrawalHash]) revert OptimismPortal_AlreadyFinalized();

        IDisputeGame game = _provableGame(disputeGameIndex);
        if (outputRootProof.version != bytes32(0) || keccak256(abi.encode(outputRootProof)) != game.rootClaim()) {
            revert InvalidProof();
        }
        bytes32 slot = keccak256(abi.encode(withdrawalHash, uint256(0)));
        if (
            !MerkleTrie.verifySecureInclusion(
                abi.encode(slot), hex"01", withdrawalProof, outputRootProof.messagePasserStorageRoot
            )
        ) revert InvalidMerkleProof();

        if (provenWithdrawals[withdrawalHash][msg.sender].timestamp == 0) {
            proofSubmitters[withdrawalHash].push(msg.sender);
        }
        provenWithdrawals[withdrawalHash][msg.sender] = ProvenWithdrawal(game, uint64(block.timestamp));
        emit WithdrawalProven(withdrawalHash, tx_.sender, tx_.target);
        emit WithdrawalProvenExtension1(withdrawalHash, msg.sender);
    }

    /// @notice Finalizes a withdrawal the caller proved. See the contract's failure rule.
    function finalizeWithdrawalTransaction(WithdrawalTransaction calldata tx_) external {
        _finalize(tx_, msg.sender);
    }

    /// @notice Finalizes a withdrawal using the proof `proofSubmitter` made.
    function finalizeWithdrawalTransactionExternalProof(WithdrawalTransaction calldata tx_, address proofSubmitter)
        external
    {
        _finalize(tx_, proofSubmitter);
    }

    /// @notice Reverts unless the withdrawal can be finalized with `proofSubmitter`'s proof. The
    ///         checks run in this order, each with its own error: not finalized yet, proven, proof
    ///         older than `proofMaturityDelaySeconds`, and the proof's game a valid claim.
    function checkWithdrawal(bytes32 withdrawalHash, address proofSubmitter) public view {
        if (finalizedWithdrawals[withdrawalHash]) revert OptimismPortal_AlreadyFinalized();
        ProvenWithdrawal memory proven = provenWithdrawals[withdrawalHash][proofSubmitter];
        if (proven.timestamp == 0) revert OptimismPortal_Unproven();
        if (block.timestamp - proven.timestamp <= proofMaturityDelaySeconds) revert OptimismPortal_ProofNotOldEnough();
        if (!anchorStateRegistry.isGameClaimValid(proven.disputeGameProxy)) revert OptimismPortal_InvalidRootClaim();
    }

    /// @notice `keccak256(abi.encode(nonce, sender, target, value, gasLimit, data))`.
    function hashWithdrawal(WithdrawalTransaction calldata tx_) public pure returns (bytes32) {
        return keccak256(abi.encode(tx_.nonce, tx_.sender, tx_.target, tx_.value, tx_.gasLimit, tx_.data));
    }

    /// @notice The L2 address a contract at `l1Address` deposits from.
    function aliasL1ToL2(address l1Address) public pure returns (address) {
        unchecked {
            return address(uint160(l1Address) + ALIAS_OFFSET);
        }
    }

    /// @dev Emits the deposit of `msg.value` from the caller (aliased when it is a contract) and
    ///      folds it into this L1 block's deposit log.
    function _deposit(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes memory data) private {
        if (isCreation && to != address(0)) revert BadTarget();
        if (data.length > MAX_DEPOSIT_DATA) revert LargeCalldata();
        if (gasLimit < minimumGasLimit(uint64(data.length))) revert SmallGasLimit();
        uint256 resource = depositResource(gasLimit, uint64(data.length));
        if (resource > MAX_RESOURCE_LIMIT) revert OptimismPortal_GasLimitTooHigh();
        _meter(uint64(resource));
        address from = _senderIsEOA() ? msg.sender : aliasL1ToL2(msg.sender);
        bytes memory opaqueData = abi.encodePacked(msg.value, value, gasLimit, isCreation, data);
        depositChain[block.number] =
            keccak256(abi.encodePacked(DEPOSIT_LINK_TAG, depositChain[block.number], from, to, opaqueData));
        emit TransactionDeposited(from, to, DEPOSIT_VERSION, opaqueData);
    }

    /// @dev The deposit market, an EIP-1559 market per L1 block on the deposits' resources
    ///      (`depositResource`, as the OP Stack's `ResourceMetering` on gas limits): the deposits
    ///      of one L1 block buy at most `MAX_RESOURCE_LIMIT` in all
    ///      (`OptimismPortal_DepositLimitReached` beyond), and each pays `resource · baseFee` wei
    ///      by burning `resource · baseFee / max(block.basefee, 1 gwei)` L1 gas. The base fee is
    ///      updated at the first deposit of an L1 block from the last block with deposits
    ///      (`_marketNow`).
    function _meter(uint64 resource) private {
        ResourceParams memory p = _marketNow();
        if (resource > MAX_RESOURCE_LIMIT - p.prevBoughtGas) {
            revert OptimismPortal_DepositLimitReached(resource, MAX_RESOURCE_LIMIT - p.prevBoughtGas);
        }
        p.prevBoughtGas += resource;
        params = p;
        uint256 l1BaseFee = block.basefee > MIN_L1_BASE_FEE ? block.basefee : MIN_L1_BASE_FEE;
        uint256 burn = uint256(resource) * p.prevBaseFee / l1BaseFee;
        // Burns `burn` gas (runs out of gas, reverting the deposit, when it has less).
        assembly ("memory-safe") {
            let start := gas()
            for {} lt(sub(start, gas()), burn) {} {}
        }
    }

    /// @dev The market as a deposit in this L1 block finds it: unchanged within the block of the
    ///      last deposit; in a later block the base fee moves by `(bought − target) / target / 8`
    ///      of itself for the last block with deposits (`target = MAX_RESOURCE_LIMIT / 10`), then
    ///      falls by 1/8 for each block without deposits since, within [1 gwei, 2^128 − 1], and
    ///      nothing is bought yet.
    function _marketNow() private view returns (ResourceParams memory p) {
        p = params;
        if (block.number == p.prevBlockNum) return p;
        int256 target = int256(uint256(MAX_RESOURCE_LIMIT / ELASTICITY));
        int256 denominator = int256(uint256(BASE_FEE_MAX_CHANGE_DENOMINATOR));
        int256 minimum = int256(uint256(MIN_BASE_FEE));
        int256 fee = int256(uint256(p.prevBaseFee));
        fee += fee * (int256(uint256(p.prevBoughtGas)) - target) / target / denominator;
        // Each empty block: fee − fee/8, until the minimum (at most 510 rounds, from the maximum).
        for (uint256 empty = block.number - p.prevBlockNum - 1; empty > 0 && fee > minimum; empty--) {
            fee -= fee / denominator;
        }
        if (fee < minimum) fee = minimum;
        if (fee > int256(uint256(MAX_BASE_FEE))) fee = int256(uint256(MAX_BASE_FEE));
        p = ResourceParams(uint128(uint256(fee)), 0, uint64(block.number));
    }

    /// @dev The game at `index`, if withdrawals may be proven against it.
    function _provableGame(uint256 index) private view returns (IDisputeGame game) {
        (,, game) = disputeGameFactory().gameAtIndex(index);
        if (!anchorStateRegistry.isGameRespected(game)) revert InvalidGameType();
        if (!anchorStateRegistry.isGameProper(game)) revert InvalidDisputeGame();
        if (game.status() == GameStatus.CHALLENGER_WINS) revert InvalidDisputeGame();
    }

    function _finalize(WithdrawalTransaction calldata tx_, address proofSubmitter) private {
        if (l2Sender != DEFAULT_L2_SENDER) revert NonReentrant();
        bytes32 withdrawalHash = hashWithdrawal(tx_);
        checkWithdrawal(withdrawalHash, proofSubmitter);
        // Marked before the call, so the target cannot finalize it again from inside.
        finalizedWithdrawals[withdrawalHash] = true;

        address target = tx_.target;
        uint256 value = tx_.value;
        bytes memory data = tx_.data;
        // The target must be able to get `gasLimit` after the CALL keeps 1/64 of what is left.
        if (tx_.gasLimit > type(uint64).max || gasleft() * 63 < tx_.gasLimit * 64 + CALL_OVERHEAD_GAS * 63) {
            revert OutOfGas();
        }
        l2Sender = tx_.sender;
        bool ok;
        assembly {
            // All remaining gas; no return data is copied, so the target cannot make it costly.
            ok := call(gas(), target, value, add(data, 32), mload(data), 0, 0)
        }
        l2Sender = DEFAULT_L2_SENDER;
        // The failure rule: undo everything, including the finalized mark; the ETH stays here.
        if (!ok) revert CallFailed();
        emit WithdrawalFinalized(withdrawalHash, true);
    }

    /// @dev Whether the caller holds its own key: the transaction's origin, or an account whose code
    ///      is an EIP-7702 delegation designator (`0xef0100 ++ address`). Anything else is a contract
    ///      and deposits from its alias.
    function _senderIsEOA() private view returns (bool) {
        if (msg.sender == tx.origin) return true;
        address sender = msg.sender;
        if (sender.code.length != 23) return false;
        bytes32 head;
        assembly {
            extcodecopy(sender, 0, 0, 3)
            head := mload(0)
        }
        return bytes3(head) == 0xef0100;
    }
}
