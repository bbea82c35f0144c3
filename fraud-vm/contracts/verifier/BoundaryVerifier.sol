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

/// The L1 portal as the block start reads it (bridge `OptimismPortal`, op-node/BATCHES.md §3.5).
interface IPortalDeposits {
    /// @notice The deposits of L1 block `l1Block` folded from zero by
    ///         `keccak256(0x22 ‖ chain ‖ from ‖ to ‖ opaqueData)`.
    function depositChain(uint256 l1Block) external view returns (bytes32);
}

/// The deposit log-index oracle as the block start reads it (bridge `DepositLogIndex`,
/// op-node/BATCHES.md §3.5).
interface IDepositLogIndex {
    /// @notice The block-wide log indices of the first `count` portal deposit logs of L1 block
    ///         `blockHash` folded from zero by `keccak256(0x23 ‖ chain ‖ uint64 logIndex)`, once
    ///         proven from the block's receipts (zero until then).
    function chainAt(bytes32 blockHash, uint256 count) external view returns (bytes32);
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

    /// Domain tag of a link of the portal's deposit log.
    bytes1 private constant DEPOSIT_LINK_TAG = 0x22;
    /// Domain tag of a link of the log-index oracle's chain.
    bytes1 private constant LOG_INDEX_LINK_TAG = 0x23;

    /// @notice The L1 batch inbox whose records the block inputs are opened from.
    IBatchInboxInputs public immutable inbox;
    /// @notice The L1 portal whose deposit log the user deposits of a block are checked against.
    IPortalDeposits public immutable portal;
    /// @notice The L1 oracle whose proven log indices the user deposits' are checked against.
    IDepositLogIndex public immutable logIndex;

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
    /// @param portal_ The L1 `OptimismPortal` of the chain.
    /// @param logIndex_ The L1 `DepositLogIndex` oracle of that portal.
    constructor(
        ChainParams memory params,
        IBatchInboxInputs inbox_,
        DepositParams memory deposits,
        IPortalDeposits portal_,
        IDepositLogIndex logIndex_
    ) {
        portal = portal_;
        logIndex = logIndex_;
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
    ///         epoch; `deposit_count` is their number + 1; each user deposit's opaque data
    ///         decodes; in a block that opens its epoch their link chain is the portal's
    ///         `depositChain(epoch)` and, when there are `k > 0`, their log indices folded from
    ///         zero are the oracle's (non-zero) `chainAt(epoch_hash, k)`; `deposits_root` is the word tree of the L1-info deposit's
    ///         hash and the user deposits' transactions' hashes (Rust:
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
        bytes memory words = new bytes(32 * (count + 1));
        bytes32 epochHash = bytes32(proof[EPOCH_HASH:SEQUENCE_NUMBER]);
        bytes32 word = keccak256(_l1InfoDeposit(origin, epochHash, sequenceNumber));
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(words, 32)
            mstore(ptr, word)
        }
        // The user deposits (their framing checked by `BlockStart.verify`): each one's
        // transaction hash into the words, its link into the chain, its log index into the
        // indices' chain.
        bytes32 chain;
        bytes32 indices;
        at += 4;
        for (uint256 i = 1; i <= count; i++) {
            uint256 end = at + 52 + uint32(bytes4(proof[at + 48:at + 52]));
            bytes calldata deposit = proof[at:end];
            word = keccak256(_depositTransaction(deposit, epochHash));
            assembly ("memory-safe") {
                mstore(add(ptr, shl(5, i)), word)
            }
            chain = keccak256(abi.encodePacked(DEPOSIT_LINK_TAG, chain, deposit[8:48], deposit[52:]));
            indices = keccak256(abi.encodePacked(LOG_INDEX_LINK_TAG, indices, deposit[0:8]));
            at = end;
        }
        if (sequenceNumber == 0) {
            (bool ok, bytes memory ret) = address(portal).staticcall(
                abi.encodeCall(IPortalDeposits.depositChain, (uint64(bytes8(proof[EPOCH:EPOCH_HASH]))))
            );
            if (!ok || ret.length != 32) revert BadBlockStart("the portal's depositChain cannot be read");
            if (abi.decode(ret, (bytes32)) != chain) {
                revert BadBlockStart("the user deposits are not the portal's depositChain(epoch)");
            }
            // The portal's log starts from zero in every L1 block, so these are all of the
            // block's deposits: the first `count` portal deposit logs, whose indices the oracle
            // folded in receipt order.
            if (count != 0) {
                (ok, ret) = address(logIndex).staticcall(abi.encodeCall(IDepositLogIndex.chainAt, (epochHash, count)));
                if (!ok || ret.length != 32) revert BadBlockStart("the log-index oracle cannot be read");
                bytes32 proven = abi.decode(ret, (bytes32));
                if (proven == 0) revert BadBlockStart("the log-index oracle has not proven the epoch's deposit logs");
                if (proven != indices) {
                    revert BadBlockStart("the user deposits' log indices are not the oracle's chainAt(epoch_hash, k)");
                }
            }
        }
        if (WordTree.rootOf(ptr, words.length) != bytes32(proof[inputs + 81:inputs + 113])) {
            revert BadBlockStart("the deposits are not the L1-info deposit and the user deposits");
        }
    }

    /// @notice The EIP-2718 encoding of the deposit transaction derivation makes of the user
    ///         deposit `d` (`log_index:u64 ‖ from ‖ to ‖ u32 len ‖ opaqueData`, op-node's
    ///         `deposit_from_log`; Rust: `block_start::UserDeposit::transaction`) in the epoch of
    ///         L1 block `epochHash`: `0x7e ‖ rlp([source_hash, from, to (empty for a creation),
    ///         mint (saturated to a u128), value, gas, false, data])`, `source_hash =
    ///         keccak256(bytes32(0) ‖ keccak256(epochHash ‖ bytes32(log_index)))`. Reverts unless
    ///         the opaque data decodes (at least 73 bytes, the creation flag 0 or 1).
    function _depositTransaction(bytes calldata d, bytes32 epochHash) private pure returns (bytes memory) {
        bytes calldata opaque = d[52:];
        bytes32 sourceHash = keccak256(abi.encode(uint256(0), keccak256(abi.encode(epochHash, uint256(uint64(bytes8(d[0:8])))))));
        if (opaque.length < 73 || uint8(opaque[72]) > 1) {
            revert BadBlockStart("a user deposit's opaque data does not decode");
        }
        uint256 mint = uint256(bytes32(opaque[0:32]));
        if (mint > type(uint128).max) mint = type(uint128).max;
        bytes memory payload = abi.encodePacked(
            abi.encodePacked(
                hex"a0", sourceHash, hex"94", d[8:28], uint8(opaque[72]) == 1 ? bytes(hex"80") : abi.encodePacked(hex"94", d[28:48])
            ),
            _rlpUint(mint),
            _rlpUint(uint256(bytes32(opaque[32:64]))),
            _rlpUint(uint64(bytes8(opaque[64:72]))),
            hex"80",
            _rlpString(opaque[73:])
        );
        return abi.encodePacked(hex"7e", _rlpLength(payload.length, 0xc0), payload);
    }

    /// @notice The RLP encoding of the unsigned integer `v` (big-endian, no leading zeros).
    function _rlpUint(uint256 v) private pure returns (bytes memory out) {
        if (v == 0) return hex"80";
        if (v < 0x80) return abi.encodePacked(uint8(v));
        uint256 n = _byteLength(v);
        out = abi.encodePacked(uint8(0x80 + n), bytes32(v << (256 - 8 * n)));
        assembly ("memory-safe") {
            mstore(out, add(n, 1))
        }
    }

    /// @notice The RLP encoding of the byte string `b`.
    function _rlpString(bytes calldata b) private pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        return abi.encodePacked(_rlpLength(b.length, 0x80), b);
    }

    /// @notice The RLP prefix of a payload of `len` bytes: a string's (`offset` 0x80) or a list's
    ///         (0xc0).
    function _rlpLength(uint256 len, uint8 offset) private pure returns (bytes memory out) {
        if (len < 56) return abi.encodePacked(uint8(offset + len));
        uint256 n = _byteLength(len);
        out = abi.encodePacked(uint8(offset + 55 + n), bytes32(len << (256 - 8 * n)));
        assembly ("memory-safe") {
            mstore(out, add(n, 1))
        }
    }

    /// @notice How many bytes the non-zero `v` takes without leading zeros.
    function _byteLength(uint256 v) private pure returns (uint256 n) {
        while (v != 0) {
            n++;
            v >>= 8;
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
