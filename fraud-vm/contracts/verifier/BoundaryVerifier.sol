// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBlockBoundaryVerifier} from "../game/IStepVerifier.sol";
import {BadBlockStart, BlockStart, ChainParams} from "./BlockStart.sol";
import {PreStateMismatch} from "./StepErrors.sol";
import {WordTree} from "./WordTree.sol";

/// The chain's parameters of the L1-info deposit (SPEC.md §5.18; Rust:
/// `block_start::DepositParams`): immutables of the verifier, as the rollup config has them.
struct DepositParams {
    address batcher;
    uint32 baseFeeScalar;
    uint32 blobBaseFeeScalar;
}

/// The state record given to `blockEnd` is not a block-end state (SPEC.md §5.19, §12.6).
error NotBlockEnd();

/// The L1 batch inbox as the block start reads it (op-node/BATCHES.md §3.4).
interface IBatchInboxInputs {
    /// @notice Opens the input commitment of L2 block `number`; reverts unless `proof` opens it
    ///         from a record the inbox holds.
    function blockInputs(uint256 number, bytes calldata proof) external view returns (bytes32 inputs, uint64 l1Block);
}

/// @title The block-boundary verifier (fraud-vm/SPEC.md §5.18, §5.19, §12.6)
/// @notice Links the game's layer 1 (output roots) to its layer 2 (machine states): `blockStart`
/// derives `s_0` of a block from its parent's output root under the chain parameters this
/// contract was built with, and checks the block's inputs against what the L1 `BatchInbox`
/// recorded for it by the game's L1 view; `blockEnd` opens a block-end state to the output root
/// it holds.
contract BoundaryVerifier is IBlockBoundaryVerifier {
    uint8 private constant BLOCK_END = 8;
    uint8 private constant INPUTS_TAG = 0x20;
    uint256 private constant INPUTS_LEN = 153;
    /// Offsets in the proof of the L1 tie's fields and of the inbox opening (1,088 bytes).
    uint256 private constant EPOCH = 97;
    uint256 private constant EPOCH_HASH = 105;
    uint256 private constant SEQUENCE_NUMBER = 137;
    uint256 private constant OPENING = 145;
    uint256 private constant OPENING_END = 145 + 1088;

    /// @notice The L1 batch inbox whose records the block inputs are opened from.
    IBatchInboxInputs public immutable inbox;

    uint64 private immutable CHAIN_ID;
    address private immutable COINBASE;
    uint64 private immutable GAS_LIMIT;
    uint32 private immutable BASE_FEE_DENOMINATOR;
    uint32 private immutable ELASTICITY;
    uint64 private immutable MIN_BASE_FEE;
    address private immutable BATCHER;
    uint32 private immutable BASE_FEE_SCALAR;
    uint32 private immutable BLOB_BASE_FEE_SCALAR;

    /// The account L1-info deposits come from, and the L1Block predeploy they call.
    address private constant L1_INFO_DEPOSITOR = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;
    address private constant L1_BLOCK = 0x4200000000000000000000000000000000000015;

    /// @param params The chain's parameters (op-node's L2: `ChainParams::op_node`).
    /// @param inbox_ The L1 `BatchInbox` of the chain.
    /// @param deposits The L1-info deposit's parameters (the rollup config's batcher and scalars).
    constructor(ChainParams memory params, IBatchInboxInputs inbox_, DepositParams memory deposits) {
        BATCHER = deposits.batcher;
        BASE_FEE_SCALAR = deposits.baseFeeScalar;
        BLOB_BASE_FEE_SCALAR = deposits.blobBaseFeeScalar;
        inbox = inbox_;
        CHAIN_ID = params.chainId;
        COINBASE = params.coinbase;
        GAS_LIMIT = params.gasLimit;
        BASE_FEE_DENOMINATOR = params.baseFeeDenominator;
        ELASTICITY = params.elasticity;
        MIN_BASE_FEE = params.minBaseFee;
    }

    /// @notice The chain parameters this verifier derives block environments with.
    function chainParams() public view returns (ChainParams memory) {
        return ChainParams(CHAIN_ID, COINBASE, GAS_LIMIT, BASE_FEE_DENOMINATOR, ELASTICITY, MIN_BASE_FEE);
    }

    /// @inheritdoc IBlockBoundaryVerifier
    /// @dev `s_0` as `BlockStart` derives it, then the tie to L1 (SPEC.md §5.18 v0.6; Rust:
    /// `block_start::verify_block_start`, `check_tie`).
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256 l1Block, bytes calldata proof)
        external
        view
        returns (bytes32 start)
    {
        uint256 at;
        assembly ("memory-safe") {
            at := proof.offset
        }
        start = BlockStart.verify(parentOutputRoot, l2BlockNumber, at, proof.length, chainParams());
        _checkTie(l2BlockNumber, l1Block, proof);
    }

    /// @notice The inputs record's `timestamp`, `recorded_root` and `recorded_count` with the tie's
    ///         `epoch`, `epoch_hash` and `sequence_number` hash to the opened `inputs_n`; the inbox
    ///         opens it for block `number`; its append's L1 block is not after `l1View`. The proof's
    ///         framing is already checked (`BlockStart.verify`), and `number` fits a `u64`.
    function _checkTie(uint256 number, uint256 l1View, bytes calldata proof) private view {
        // After the parent header (its length at `HEADER_LEN_AT`): the inputs record, then the
        // origin header's length and the origin header, which end the proof.
        uint256 inputs = BlockStart.HEADER_LEN_AT + 4
            + uint32(bytes4(proof[BlockStart.HEADER_LEN_AT:BlockStart.HEADER_LEN_AT + 4]));
        uint64 recordedCount = uint64(bytes8(proof[inputs + 113:inputs + 121]));
        if (recordedCount > type(uint32).max) revert BadBlockStart("more recorded transactions than a u32 counts");
        bytes32 inputsN = keccak256(
            abi.encodePacked(
                INPUTS_TAG,
                uint64(number),
                bytes8(proof[inputs + 1:inputs + 9]),
                bytes8(proof[EPOCH:EPOCH_HASH]),
                bytes32(proof[EPOCH_HASH:SEQUENCE_NUMBER]),
                bytes8(proof[SEQUENCE_NUMBER:OPENING]),
                bytes32(proof[inputs + 121:inputs + 153]),
                uint32(recordedCount)
            )
        );
        if (inputsN != bytes32(proof[OPENING + 32:OPENING + 64])) {
            revert BadBlockStart("the inputs are not the inbox's inputs_n");
        }
        try inbox.blockInputs(number, proof[OPENING:OPENING_END]) returns (bytes32, uint64 l1Block) {
            if (l1Block > l1View) revert BadBlockStart("the inputs were appended after the game's L1 view");
        } catch {
            revert BadBlockStart("the inbox refuses the opening of inputs_n");
        }
        BlockStart.Parent memory origin = _checkOrigin(inputs, proof);
        _checkDeposits(inputs, proof, origin);
    }

    /// @notice The deposits section (SPEC.md §5.18): no user deposits unless the block opens its
    ///         epoch; `deposit_count` is their number + 1; `deposits_root` is the word tree of the
    ///         L1-info deposit's hash and the user deposits' hashes (Rust:
    ///         `block_start::check_deposits`).
    function _checkDeposits(uint256 inputs, bytes calldata proof, BlockStart.Parent memory origin) private view {
        uint256 at = inputs + INPUTS_LEN + 4 + uint32(bytes4(proof[inputs + INPUTS_LEN:inputs + INPUTS_LEN + 4]));
        uint256 count = uint32(bytes4(proof[at:at + 4]));
        uint64 sequenceNumber = uint64(bytes8(proof[SEQUENCE_NUMBER:OPENING]));
        if (sequenceNumber != 0 && count != 0) {
            revert BadBlockStart("user deposits in a block that does not open its epoch");
        }
        if (uint64(bytes8(proof[inputs + 73:inputs + 81])) != count + 1) {
            revert BadBlockStart("the deposit count is not the deposits'");
        }
        bytes memory words = abi.encodePacked(
            keccak256(_l1InfoDeposit(origin, bytes32(proof[EPOCH_HASH:SEQUENCE_NUMBER]), sequenceNumber)),
            proof[at + 4:at + 4 + 32 * count]
        );
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(words, 32)
        }
        if (WordTree.rootOf(ptr, words.length) != bytes32(proof[inputs + 81:inputs + 113])) {
            revert BadBlockStart("the deposits are not the L1-info deposit and the user deposits");
        }
    }

    /// @notice The EIP-2718 encoding of the L1-info deposit of a block at `sequenceNumber` of the
    ///         epoch whose header is `origin` and hash `epochHash` (SPEC.md §5.18; Rust:
    ///         `block_start::l1_info_deposit`, as derivation builds it).
    function _l1InfoDeposit(BlockStart.Parent memory origin, bytes32 epochHash, uint64 sequenceNumber)
        private
        view
        returns (bytes memory)
    {
        bytes32 sourceHash = keccak256(abi.encode(uint256(1), keccak256(abi.encode(epochHash, uint256(sequenceNumber)))));
        bytes memory data = abi.encodePacked(
            bytes4(0x098999be),
            BASE_FEE_SCALAR,
            BLOB_BASE_FEE_SCALAR,
            sequenceNumber,
            uint64(origin.timestamp),
            uint64(origin.number),
            origin.baseFee,
            uint256(1),
            epochHash,
            bytes32(uint256(uint160(BATCHER))),
            bytes12(0)
        );
        return abi.encodePacked(
            hex"7ef90104a0", sourceHash, hex"94", L1_INFO_DEPOSITOR, hex"94", L1_BLOCK, hex"8080830f424080b8b0", data
        );
    }

    /// @notice The inputs' fields from the L1 origin (SPEC.md §5.18, the origin header): the
    ///         proof's origin header (after the inputs record at `inputs` and its `u32` length)
    ///         hashes to the tie's `epoch_hash`, decodes with number `epoch`; `prevrandao` is its
    ///         mix hash; `parent_beacon_root` is zero (Rust: `block_start::check_origin`).
    function _checkOrigin(uint256 inputs, bytes calldata proof) private pure returns (BlockStart.Parent memory header) {
        uint256 originLen = uint32(bytes4(proof[inputs + INPUTS_LEN:inputs + INPUTS_LEN + 4]));
        bytes calldata origin = proof[inputs + INPUTS_LEN + 4:inputs + INPUTS_LEN + 4 + originLen];
        if (keccak256(origin) != bytes32(proof[EPOCH_HASH:SEQUENCE_NUMBER])) {
            revert BadBlockStart("the origin header does not hash to epoch_hash");
        }
        uint256 at;
        assembly ("memory-safe") {
            at := origin.offset
        }
        header = BlockStart.decodeOrigin(at, at + origin.length);
        if (header.number != uint64(bytes8(proof[EPOCH:EPOCH_HASH]))) {
            revert BadBlockStart("the origin header is not the epoch's");
        }
        if (header.mixHash != bytes32(proof[inputs + 9:inputs + 41])) {
            revert BadBlockStart("prevrandao is not the origin's mix hash");
        }
        if (bytes32(proof[inputs + 41:inputs + 73]) != bytes32(0)) {
            revert BadBlockStart("the parent beacon root is not zero");
        }
    }

    /// @inheritdoc IBlockBoundaryVerifier
    /// @dev `proof` is the state's 443-byte record; it must decode (tag, status, flag), hash to
    /// `state` and be the block-end state of its block number and world root (Rust:
    /// `block::block_end`).
    function blockEnd(bytes32 state, bytes calldata proof) external pure returns (bytes32 outputRoot) {
        if (proof.length != 443 || uint8(proof[0]) != 0x01 || uint8(proof[33]) > 8 || uint8(proof[154]) > 1) {
            revert NotBlockEnd();
        }
        if (keccak256(proof) != state) revert PreStateMismatch();
        outputRoot = bytes32(proof[411:443]);
        uint256 number = uint64(bytes8(proof[1:9]));
        if (keccak256(BlockStart.outsideFrames(number, BLOCK_END, bytes32(0), outputRoot)) != state) {
            revert NotBlockEnd();
        }
    }
}
