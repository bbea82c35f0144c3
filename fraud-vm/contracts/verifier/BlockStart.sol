// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// `blockStart`'s proof does not show the block-start state (fraud-vm/SPEC.md §5.18); `what`
/// is the Rust reference's `VerifyError::BadBlockStart` reason, word for word.
error BadBlockStart(string what);

/// The chain's parameters a block start derives the block environment with (SPEC.md §5.18; Rust:
/// `block_start::ChainParams`): immutables of the verifier, never part of a proof.
struct ChainParams {
    uint64 chainId;
    address coinbase;
    uint64 gasLimit;
    uint32 baseFeeDenominator;
    uint32 elasticity;
    uint64 minBaseFee;
}

/// @title The first state of a block (fraud-vm/SPEC.md §5.18; Rust: block_start.rs)
/// @notice `blockStart(parentOutputRoot, n, proof)`: opens the parent's output root (its
/// preimage), checks the parent's header against it (its hash, number `n − 1`, state root and
/// withdrawals root, a base fee; decoded as alloy decodes an RLP header), takes the block's
/// inputs record and derives the block environment (the EIP-1559 base fee rule on the parent),
/// the block constants and `s_0`, whose commitment it returns.
library BlockStart {
    uint8 private constant VERSION = 7;
    /// Offset of the parent header's length: after the version, the output preimage and the L1 tie
    /// (`epoch ‖ epoch_hash ‖ sequence_number ‖ the inbox opening`, 1,136 bytes).
    uint256 internal constant HEADER_LEN_AT = 1 + 96 + 1136;
    uint8 private constant TAG_STATE = 0x01;
    uint8 private constant TAG_BLOCK_ENV = 0x04;
    uint8 private constant TAG_WORLD = 0x05;
    uint8 private constant TAG_BLOCK_CONSTANTS = 0x17;
    uint8 private constant TAG_BLOCK_INPUTS = 0x1a;
    uint256 private constant INPUTS_LEN = 153;
    /// Status of a block-start state.
    uint8 private constant BLOCK_START = 6;
    /// `rules` of an OP Stack block (Isthmus).
    uint8 private constant ISTHMUS = 1;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 private constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// The proof's fields (calldata offsets for the header and the inputs record).
    struct Proof {
        bytes32 stateRoot;
        bytes32 messagePasserRoot;
        bytes32 blockHash;
        uint256 header;
        uint256 headerLen;
        uint256 inputs;
    }

    /// What the block start reads of the parent's header (and of the L1 origin's).
    struct Parent {
        uint256 number;
        uint256 gasLimit;
        uint256 gasUsed;
        uint256 timestamp;
        bytes32 stateRoot;
        bytes32 mixHash;
        bool hasBaseFee;
        uint256 baseFee;
        bool hasWithdrawalsRoot;
        bytes32 withdrawalsRoot;
    }

    /// @notice The commitment of `s_0` of block `number` from the agreed output root of its
    /// parent, with `proof` (`version(7) ‖ state_root ‖ message_passer_root ‖ block_hash ‖ L1 tie ‖
    /// u32 len ‖ parent header ‖ inputs record ‖ u32 len ‖ origin header ‖ u32 count ‖ user
    /// deposits`, each `log_index:u64 ‖ from ‖ to ‖ u32 len ‖ opaqueData`) at calldata offset `at`
    /// of length `len`. The tie, the origin header and
    /// the deposits are framed here and checked by the caller (`BoundaryVerifier`), which reads L1.
    function verify(bytes32 parentOutputRoot, uint256 number, uint256 at, uint256 len, ChainParams memory params)
        internal
        pure
        returns (bytes32)
    {
        Proof memory proof = _decodeProof(at, len);
        if (
            keccak256(abi.encode(bytes32(0), proof.stateRoot, proof.messagePasserRoot, proof.blockHash))
                != parentOutputRoot
        ) {
            revert BadBlockStart("the output preimage does not hash to the parent output root");
        }
        if (_keccak(proof.header, proof.headerLen) != proof.blockHash) {
            revert BadBlockStart("the parent header does not hash to the output's block hash");
        }
        Parent memory parent = _decodeHeader(proof.header, proof.header + proof.headerLen, false);
        if (parent.number == type(uint64).max || parent.number + 1 != number) {
            revert BadBlockStart(unicode"the parent is not block number − 1");
        }
        if (
            parent.stateRoot != proof.stateRoot || !parent.hasWithdrawalsRoot
                || parent.withdrawalsRoot != proof.messagePasserRoot
        ) {
            revert BadBlockStart("the output's roots are not the parent header's");
        }
        if (!parent.hasBaseFee) revert BadBlockStart("the parent header has no base fee");
        uint256 timestamp = _uint(proof.inputs + 1, 8);
        if (timestamp < parent.timestamp) revert BadBlockStart("a timestamp before the parent's");
        if (_uint(proof.inputs + 73, 8) + _uint(proof.inputs + 113, 8) > type(uint64).max) {
            revert BadBlockStart("more transactions than a u64 counts");
        }
        bytes32 blockEnvHash = _blockEnvHash(
            number, timestamp, proof.inputs, _constantsHash(proof.blockHash, proof.inputs, params), parent, params
        );
        bytes32 world = keccak256(abi.encodePacked(TAG_WORLD, proof.stateRoot, new bytes(7 * 32 + 8 + 32)));
        return keccak256(outsideFrames(number, BLOCK_START, blockEnvHash, world));
    }

    /// @notice The proof's fields: the output preimage, the header's and the inputs' offsets.
    function _decodeProof(uint256 at, uint256 len) private pure returns (Proof memory proof) {
        if (len < HEADER_LEN_AT + 4 || _byte(at) != VERSION) revert BadBlockStart("the proof does not decode");
        proof.headerLen = _uint(at + HEADER_LEN_AT, 4);
        proof.header = at + HEADER_LEN_AT + 4;
        uint256 rest = len - HEADER_LEN_AT - 4;
        if (rest < proof.headerLen + INPUTS_LEN + 4) revert BadBlockStart("the proof does not decode");
        proof.inputs = proof.header + proof.headerLen;
        // Then the origin header (its u32 length first) and the user deposits (their u32 count
        // first; each `log_index:u64 ‖ from ‖ to ‖ u32 len ‖ opaqueData`), which end the proof.
        uint256 deposits = proof.headerLen + INPUTS_LEN + 4 + _uint(proof.inputs + INPUTS_LEN, 4);
        if (rest < deposits + 4) revert BadBlockStart("the proof does not decode");
        uint256 count = _uint(proof.header + deposits, 4);
        uint256 p = deposits + 4;
        // Each deposit takes at least 52 bytes, so the walk ends within the proof's length.
        for (uint256 i = 0; i < count; i++) {
            if (rest < p + 52) revert BadBlockStart("the proof does not decode");
            p += 52 + _uint(proof.header + p + 48, 4);
        }
        if (p != rest) revert BadBlockStart("the proof does not decode");
        if (_byte(proof.inputs) != TAG_BLOCK_INPUTS) revert BadBlockStart("the proof does not decode");
        proof.stateRoot = _word(at + 1);
        proof.messagePasserRoot = _word(at + 33);
        proof.blockHash = _word(at + 65);
    }

    /// @notice The 443-byte record (SPEC.md §3.1) of a state outside any call frame (block start,
    /// between transactions, block end): no frame, code, stack or return data, empty memory and
    /// calldata, no transaction environment (Rust: `MachineState::outside_frames`).
    function outsideFrames(uint256 number, uint8 status, bytes32 blockEnvHash, bytes32 worldRoot)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            abi.encodePacked(TAG_STATE, uint64(number), uint64(0), uint64(0), uint64(0), status),
            new bytes(8 + 8 + 32 + 20 + 20 + 32 + 1 + 32 + 32 + 8),
            EMPTY_WORDS,
            uint64(0),
            EMPTY_WORDS,
            uint64(0),
            bytes32(0),
            uint64(0),
            bytes32(0),
            blockEnvHash,
            worldRoot
        );
    }

    /// @notice The block constants' hash (SPEC.md §3.6): the parent hash, the inputs' beacon
    /// root, the inputs' hash and transaction count (both sections), the parameters' extra data.
    function _constantsHash(bytes32 blockHash, uint256 inputs, ChainParams memory params)
        private
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                TAG_BLOCK_CONSTANTS,
                blockHash,
                _word(inputs + 41),
                _keccak(inputs, INPUTS_LEN),
                uint64(_uint(inputs + 73, 8) + _uint(inputs + 113, 8)),
                uint8(9),
                _extraData(params)
            )
        );
    }

    /// @notice The block environment's hash (SPEC.md §3.6).
    function _blockEnvHash(
        uint256 number,
        uint256 timestamp,
        uint256 inputs,
        bytes32 constantsHash,
        Parent memory parent,
        ChainParams memory params
    ) private pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                TAG_BLOCK_ENV,
                params.coinbase,
                timestamp,
                number,
                _word(inputs + 9),
                uint256(params.gasLimit),
                nextBaseFee(params, parent.gasUsed, parent.gasLimit, parent.baseFee),
                uint256(1),
                uint256(params.chainId),
                _envTail(inputs, constantsHash)
            )
        );
    }

    /// @notice The block environment's fields after the chain id: the constants' hash, the two
    /// transaction sections of the inputs record (count and root of the deposits, root of the
    /// recorded transactions) and the rules.
    function _envTail(uint256 inputs, bytes32 constantsHash) private pure returns (bytes memory) {
        return abi.encodePacked(
            constantsHash, uint64(_uint(inputs + 73, 8)), _word(inputs + 81), _word(inputs + 121), ISTHMUS
        );
    }

    /// @notice The header's extra data (Holocene): version 0, the denominator and the elasticity,
    /// zero-padded to 32 bytes as the block constants hold it.
    function _extraData(ChainParams memory params) private pure returns (bytes32) {
        return bytes32(abi.encodePacked(uint8(0), params.baseFeeDenominator, params.elasticity, bytes23(0)));
    }

    /// @notice The base fee after a parent with `gasUsed` of `gasLimit` at `baseFee` (EIP-1559 as
    /// alloy's `calc_next_block_base_fee` computes it, its `u64` conversions included), at least
    /// `minBaseFee`.
    function nextBaseFee(ChainParams memory params, uint256 gasUsed, uint256 gasLimit, uint256 baseFee)
        internal
        pure
        returns (uint256 next)
    {
        next = baseFee;
        uint256 elasticity = params.elasticity;
        uint256 denominator = params.baseFeeDenominator;
        uint256 target = elasticity == 0 ? 0 : gasLimit / elasticity;
        if (denominator != 0 && target != 0 && gasUsed != target) {
            if (gasUsed > target) {
                uint256 delta = baseFee * (gasUsed - target) / (target * denominator);
                if (delta == 0) delta = 1;
                // The reference converts the increase to u64 (truncating), then saturates.
                next = baseFee + uint64(delta);
                if (next > type(uint64).max) next = type(uint64).max;
            } else {
                uint256 delta = uint64(baseFee * (target - gasUsed) / (target * denominator));
                next = delta > baseFee ? 0 : baseFee - delta;
            }
        }
        if (next < params.minBaseFee) next = params.minBaseFee;
    }

    /// @notice The fields of the L1 origin's RLP header at calldata `[p, end)` (SPEC.md §5.18),
    /// decoded as the parent's is; refusals name the origin header.
    function decodeOrigin(uint256 p, uint256 end) internal pure returns (Parent memory) {
        return _decodeHeader(p, end, true);
    }

    /// @notice Decodes an RLP header as alloy-consensus does (every field canonical, the optional
    /// fields in order while the list has bytes left, nothing left over in the list); `origin`
    /// names the header in a refusal (the L1 origin's, else the parent's).
    function _decodeHeader(uint256 p, uint256 end, bool origin) private pure returns (Parent memory h) {
        (bool isList, uint256 payload, uint256 payloadLen, uint256 next) = _item(p, end, origin);
        if (!isList) _undecodable(origin);
        uint256 e = payload + payloadLen;
        p = payload;
        p = _fixed(p, e, 32, origin); // parent hash
        p = _fixed(p, e, 32, origin); // ommers hash
        p = _fixed(p, e, 20, origin); // beneficiary
        h.stateRoot = _word(_payloadOf(p, e, origin));
        p = _fixed(p, e, 32, origin);
        p = _fixed(p, e, 32, origin); // transactions root
        p = _fixed(p, e, 32, origin); // receipts root
        p = _fixed(p, e, 256, origin); // logs bloom
        (, p) = _integer(p, e, 32, origin); // difficulty
        (h.number, p) = _integer(p, e, 8, origin);
        (h.gasLimit, p) = _integer(p, e, 8, origin);
        (h.gasUsed, p) = _integer(p, e, 8, origin);
        (h.timestamp, p) = _integer(p, e, 8, origin);
        p = _string(p, e, origin); // extra data
        h.mixHash = _word(_payloadOf(p, e, origin));
        p = _fixed(p, e, 32, origin); // mix hash
        p = _fixed(p, e, 8, origin); // nonce
        if (p < e) {
            h.hasBaseFee = true;
            (h.baseFee, p) = _integer(p, e, 8, origin);
        }
        if (p < e) {
            h.hasWithdrawalsRoot = true;
            h.withdrawalsRoot = _word(_payloadOf(p, e, origin));
            p = _fixed(p, e, 32, origin);
        }
        if (p < e) (, p) = _integer(p, e, 8, origin); // blob gas used
        if (p < e) (, p) = _integer(p, e, 8, origin); // excess blob gas
        if (p < e) p = _fixed(p, e, 32, origin); // parent beacon block root
        if (p < e) p = _fixed(p, e, 32, origin); // requests hash
        if (p < e) p = _fixed(p, e, 32, origin); // block access list hash
        if (p < e) (, p) = _integer(p, e, 8, origin); // slot number
        if (p != e) _undecodable(origin);
        if (next != end) revert BadBlockStart(origin ? "bytes after the origin header" : "bytes after the parent header");
    }

    /// @notice A string of exactly `n` bytes at `p`; the offset after it.
    function _fixed(uint256 p, uint256 end, uint256 n, bool origin) private pure returns (uint256) {
        (bool isList,, uint256 len, uint256 next) = _item(p, end, origin);
        if (isList || len != n) _undecodable(origin);
        return next;
    }

    function _payloadOf(uint256 p, uint256 end, bool origin) private pure returns (uint256 payload) {
        (, payload,,) = _item(p, end, origin);
    }

    /// @notice A string at `p`; the offset after it.
    function _string(uint256 p, uint256 end, bool origin) private pure returns (uint256) {
        (bool isList,,, uint256 next) = _item(p, end, origin);
        if (isList) _undecodable(origin);
        return next;
    }

    /// @notice An unsigned integer of at most `n` bytes without leading zeros at `p`.
    function _integer(uint256 p, uint256 end, uint256 n, bool origin) private pure returns (uint256 v, uint256 next) {
        bool isList;
        uint256 payload;
        uint256 len;
        (isList, payload, len, next) = _item(p, end, origin);
        if (isList || len > n || (len > 0 && _byte(payload) == 0)) {
            _undecodable(origin);
        }
        if (len > 0) v = _uint(payload, len);
    }

    /// @notice The RLP item at calldata offset `p` within `end`, with alloy-rlp's canonical-form
    /// checks (a single byte below 0x80 is its own encoding, a long length has no leading zero
    /// and is at least 56).
    function _item(uint256 p, uint256 end, bool origin)
        private
        pure
        returns (bool isList, uint256 payload, uint256 payloadLen, uint256 next)
    {
        if (p >= end) _undecodable(origin);
        uint256 b = _byte(p);
        if (b < 0x80) {
            (payload, payloadLen) = (p, 1);
        } else if (b < 0xb8) {
            (payload, payloadLen) = (p + 1, b - 0x80);
            if (payloadLen == 1 && (p + 1 >= end || _byte(p + 1) < 0x80)) {
                _undecodable(origin);
            }
        } else if (b < 0xc0 || b >= 0xf8) {
            isList = b >= 0xf8;
            uint256 ll = b - (isList ? 0xf7 : 0xb7);
            if (p + 1 + ll > end || _byte(p + 1) == 0) _undecodable(origin);
            payloadLen = _uint(p + 1, ll);
            if (payloadLen < 56) _undecodable(origin);
            payload = p + 1 + ll;
        } else {
            (isList, payload, payloadLen) = (true, p + 1, b - 0xc0);
        }
        if (payload > end || payloadLen > end - payload) _undecodable(origin);
        next = payload + payloadLen;
    }

    /// @notice Refuses a header that does not decode, naming it.
    function _undecodable(bool origin) private pure {
        revert BadBlockStart(origin ? "the origin header does not decode" : "the parent header does not decode");
    }

    function _byte(uint256 p) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, calldataload(p))
        }
    }

    function _word(uint256 p) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := calldataload(p)
        }
    }

    /// @notice The big-endian number of `len` ≤ 32 bytes at calldata offset `p`.
    function _uint(uint256 p, uint256 len) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, len)), calldataload(p))
        }
    }

    function _keccak(uint256 p, uint256 len) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, p, len)
            h := keccak256(m, len)
        }
    }
}
