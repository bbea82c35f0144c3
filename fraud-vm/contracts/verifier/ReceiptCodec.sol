// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord} from "./StepContext.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {BadReceipt} from "./SealingErrors.sol";

/// @title A transaction's receipt at the block end (fraud-vm/SPEC.md §5.19; Rust: receipt.rs)
/// @notice From the proof's receipt (`tx_index ‖ success ‖ cumulative_gas ‖ u8 deposit ‖ [nonce] ‖
/// logs`; v0.6 the list index of its transaction):
/// its EIP-2718 encoding as alloy-op-evm's receipt builder makes it (typed 1, 2, 4 and legacy,
/// the deposit receipt with its nonce and version 1), its 2048-bit logs bloom, and the receipt
/// chain it continues (§5.9).
library ReceiptCodec {
    uint256 private constant DEPOSIT_TYPE = 0x7e;

    /// @notice The list index of the transaction the receipt at calldata offset `r` names.
    function txIndex(uint256 r) internal pure returns (uint256) {
        return StateRecord.uintAt(r, 8);
    }

    /// @notice The receipt at calldata offset `r` for a transaction of type `txType`: its
    /// encoding, its bloom, and the receipt chain `cursor` followed by it.
    function encode(uint256 r, uint256 txType, bytes32 cursor)
        internal
        pure
        returns (bytes memory encoded, bytes memory bloom, bytes32 next)
    {
        uint256 index = StateRecord.uintAt(r, 8);
        r += 8;
        uint256 success = StateRecord.uintAt(r, 1);
        uint256 cumulative = StateRecord.uintAt(r + 1, 8);
        bool deposit = StateRecord.uintAt(r + 9, 1) == 1;
        uint256 p = r + 10;
        uint256 nonce;
        if (deposit) {
            nonce = StateRecord.uintAt(p, 8);
            p += 8;
        }
        if (deposit ? txType != DEPOSIT_TYPE : (txType != 0 && txType != 1 && txType != 2 && txType != 4)) {
            revert BadReceipt();
        }
        bytes memory logs;
        bytes32 logsRoot;
        uint256 count = StateRecord.uintAt(p, 4);
        p += 4;
        bloom = new bytes(256);
        for (uint256 i = 0; i < count; ++i) {
            bytes memory log;
            (log, p) = _log(p, bloom);
            logsRoot = keccak256(abi.encodePacked(bytes1(0x0a), logsRoot, keccak256(log)));
            logs = bytes.concat(logs, log);
        }
        next = keccak256(
            abi.encodePacked(
                bytes1(0x0c),
                keccak256(abi.encodePacked(bytes1(0x18), cursor, deposit, uint64(nonce), uint64(index))),
                uint8(success),
                uint64(cumulative),
                logsRoot,
                uint64(count)
            )
        );
        bytes memory payload = abi.encodePacked(
            success == 1 ? bytes1(0x01) : bytes1(0x80),
            BaseTrie.encodeUint(cumulative),
            hex"b90100",
            bloom,
            _header(0xc0, logs.length),
            logs,
            deposit ? abi.encodePacked(BaseTrie.encodeUint(nonce), bytes1(0x01)) : bytes("")
        );
        encoded = abi.encodePacked(
            txType == 0 ? bytes("") : abi.encodePacked(uint8(txType)), _header(0xc0, payload.length), payload
        );
    }

    /// @notice The log at `p` (`address ‖ u32 n ‖ topic… ‖ u32 len ‖ data`): its RLP encoding
    /// (its bloom bits set in `bloom`) and the offset after it.
    function _log(uint256 p, bytes memory bloom) private pure returns (bytes memory log, uint256 next) {
        bytes20 addr = bytes20(StateRecord.wordAt(p));
        _accrue(bloom, keccak256(abi.encodePacked(addr)));
        uint256 n = StateRecord.uintAt(p + 20, 4);
        p += 24;
        bytes memory topics;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 topic = StateRecord.wordAt(p);
            _accrue(bloom, keccak256(abi.encodePacked(topic)));
            topics = abi.encodePacked(topics, bytes1(0xa0), topic);
            p += 32;
        }
        uint256 len = StateRecord.uintAt(p, 4);
        bytes memory data = msg.data[p + 4:p + 4 + len];
        next = p + 4 + len;
        bytes memory dataRlp =
            len == 1 && uint8(data[0]) < 0x80 ? data : abi.encodePacked(_header(0x80, len), data);
        bytes memory payload = abi.encodePacked(bytes1(0x94), addr, _header(0xc0, topics.length), topics, dataRlp);
        log = abi.encodePacked(_header(0xc0, payload.length), payload);
    }

    /// @notice Sets the three bits of `hash` in `bloom` (the Yellow Paper's `M3:2048`).
    function _accrue(bytes memory bloom, bytes32 hash) private pure {
        for (uint256 i = 0; i < 6; i += 2) {
            uint256 bit = ((uint256(uint8(hash[i])) << 8) | uint8(hash[i + 1])) & 2047;
            bloom[255 - bit / 8] |= bytes1(uint8(1 << (bit % 8)));
        }
    }

    /// @notice An RLP header for a payload of `len` bytes: `base` 0x80 (string) or 0xc0 (list).
    function _header(uint256 base, uint256 len) private pure returns (bytes memory h) {
        if (len < 56) return abi.encodePacked(uint8(base + len));
        uint256 n;
        for (uint256 x = len; x != 0; x >>= 8) ++n;
        h = abi.encodePacked(uint8(base + 55 + n), bytes32(len << (256 - 8 * n)));
        assembly ("memory-safe") {
            mstore(h, add(n, 1))
        }
    }
}
