// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord, StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
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
    /// [v0.13] Bit 31 of a log's data length: the data is long, given by its word-tree root.
    uint256 internal constant LONG_DATA = 1 << 31;
    /// [v0.15] Bit 31 of a receipt's log count: the logs are given by the LOGS fact.
    uint256 internal constant MANY_LOGS = 1 << 31;
    /// [v0.15] `RangeOracle.LOGS`: a receipt's log list as one fact.
    uint256 private constant JOB_LOGS = 64;

    /// @notice The list index of the transaction the receipt at calldata offset `r` names.
    function txIndex(uint256 r) internal pure returns (uint256) {
        return StateRecord.uintAt(r, 8);
    }

    /// @notice [v0.13] A long log's data in the receipt's L1 form: where it goes in the
    /// encoding's bytes built so far (`at`: in the logs, then in the encoding), its length and
    /// its word-tree root.
    struct Gap {
        uint256 at;
        uint256 len;
        bytes32 root;
    }

    /// @notice The receipt at calldata offset `r` for a transaction of type `txType`: its
    /// encoding, its bloom, and the receipt chain `cursor` followed by it. [v0.13] In the L1 form
    /// (a log's data a marker `u32 (len | 2^31) ‖ R_d`, SPEC.md §5.19) the encoding is long:
    /// `encoded` is empty and `(longRoot, longLen)` its word-tree root and length, from
    /// `oracle`'s facts; [v0.15] so too when its logs come by the LOGS fact (`u32 (count |
    /// 2^31) ‖ logs_root ‖ R_L ‖ u32 len(L) ‖ bloom`, `_logsByFact`).
    function encode(uint256 r, uint256 txType, bytes32 cursor, address oracle)
        internal
        view
        returns (bytes memory encoded, bytes32 longRoot, uint256 longLen, bytes memory bloom, bytes32 next)
    {
        bool deposit = StateRecord.uintAt(r + 17, 1) == 1;
        if (deposit ? txType != DEPOSIT_TYPE : (txType != 0 && txType != 1 && txType != 2 && txType != 4)) {
            revert BadReceipt();
        }
        Logs memory l = _logs(r + (deposit ? 26 : 18), oracle);
        bloom = l.bloom;
        next = _link(r, cursor, deposit, l);
        (encoded, longRoot, longLen) = _encoding(r, txType, l, oracle);
    }

    /// @notice The receipt chain `cursor` followed by the receipt at `r` with its logs `l`.
    function _link(uint256 r, bytes32 cursor, bool deposit, Logs memory l) private pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                bytes1(0x0c),
                keccak256(abi.encodePacked(bytes1(0x18), cursor, deposit, uint64(_nonce(r)), uint64(txIndex(r)))),
                uint8(StateRecord.uintAt(r + 8, 1)),
                uint64(StateRecord.uintAt(r + 9, 8)),
                l.root,
                uint64(l.count)
            )
        );
    }

    /// @notice The deposit nonce of the receipt at `r` (0 for another type's).
    function _nonce(uint256 r) private pure returns (uint256) {
        return StateRecord.uintAt(r + 17, 1) == 1 ? StateRecord.uintAt(r + 18, 8) : 0;
    }

    /// @notice The receipt's encoding from its fields at `r` and its logs `l`; [v0.13] with long
    /// log data, empty, and its word-tree root and length.
    function _encoding(uint256 r, uint256 txType, Logs memory l, address oracle)
        private
        view
        returns (bytes memory encoded, bytes32 longRoot, uint256 longLen)
    {
        uint256 cumulative = StateRecord.uintAt(r + 9, 8);
        bytes memory head = abi.encodePacked(
            StateRecord.uintAt(r + 8, 1) == 1 ? bytes1(0x01) : bytes1(0x80),
            BaseTrie.encodeUint(cumulative),
            hex"b90100",
            l.bloom,
            _header(0xc0, l.encoded.length + l.gapBytes)
        );
        bytes memory payload = abi.encodePacked(
            head,
            l.encoded,
            txType == DEPOSIT_TYPE ? abi.encodePacked(BaseTrie.encodeUint(_nonce(r)), bytes1(0x01)) : bytes("")
        );
        encoded = abi.encodePacked(
            txType == 0 ? bytes("") : abi.encodePacked(uint8(txType)),
            _header(0xc0, payload.length + l.gapBytes),
            payload
        );
        if (l.nGaps == 0) return (encoded, 0, 0);
        uint256 logsAt = encoded.length - payload.length + head.length;
        for (uint256 j; j < l.nGaps; ++j) {
            l.gaps[j].at += logsAt;
        }
        (longRoot, longLen) = _longEncoding(encoded, l.gaps, l.nGaps, oracle);
        encoded = "";
    }

    /// @notice A receipt's logs: their encodings one after the other (a long log's without its
    /// data), the log chain over them, their count, bloom, and [v0.13] their long data as gaps.
    struct Logs {
        bytes encoded;
        bytes32 root;
        uint256 count;
        bytes bloom;
        Gap[] gaps;
        uint256 nGaps;
        uint256 gapBytes;
    }

    /// @notice The logs at `p` (`u32 count ‖ log…`; [v0.15] or by the LOGS fact), long ones read
    /// with `oracle`'s facts. The
    /// logs' encodings are joined once at the end: joining them one by one copied the whole so
    /// far for each log, quadratic in a receipt of many logs (100 logs of 1 KiB cost 82M gas).
    function _logs(uint256 p, address oracle) private view returns (Logs memory l) {
        l.count = StateRecord.uintAt(p, 4);
        if (l.count & MANY_LOGS != 0) return _logsByFact(p, oracle);
        p += 4;
        l.bloom = new bytes(256);
        l.gaps = new Gap[](l.count);
        bytes[] memory logs = new bytes[](l.count);
        uint256 total;
        for (uint256 i = 0; i < l.count; ++i) {
            bytes32 logHash;
            Gap memory g;
            (logs[i], logHash, g, p) = _log(p, l.bloom, oracle);
            l.root = keccak256(abi.encodePacked(bytes1(0x0a), l.root, logHash));
            total += logs[i].length;
            if (g.len != 0) {
                g.at = total;
                l.gaps[l.nGaps++] = g;
                l.gapBytes += g.len;
            }
        }
        l.encoded = _join(logs, total);
    }

    /// @notice [v0.15] The logs at `p` by the LOGS fact (`u32 (count | 2^31) ‖ logs_root ‖ R_L ‖
    /// u32 len(L) ‖ bloom`, SPEC.md §5.19): `oracle`'s fact of the job `(R_L, 0, len(L), len(L),
    /// LOGS, 0, 0)` MUST be `keccak256(logs_root ‖ u256 count ‖ bloom)` (else `BadReceipt`); the
    /// encoding's logs are then `L` whole, one gap of `(len(L), R_L)`.
    function _logsByFact(uint256 p, address oracle) private view returns (Logs memory l) {
        l.count = StateRecord.uintAt(p, 4) ^ MANY_LOGS;
        l.root = StateRecord.wordAt(p + 4);
        bytes32 tree = StateRecord.wordAt(p + 36);
        uint256 len = StateRecord.uintAt(p + 68, 4);
        l.bloom = msg.data[p + 72:p + 328];
        if (len == 0) revert BadReceipt();
        (bytes32 h,) = StepOps.factOf(oracle, tree, 0, len, len, JOB_LOGS, 0, 0);
        if (h != keccak256(abi.encodePacked(l.root, l.count, l.bloom))) revert BadReceipt();
        l.gaps = new Gap[](1);
        l.gaps[0] = Gap(0, len, tree);
        l.nGaps = 1;
        l.gapBytes = len;
    }

    /// @notice The `total` bytes of `parts` one after the other, copied once.
    function _join(bytes[] memory parts, uint256 total) private pure returns (bytes memory out) {
        out = new bytes(total);
        uint256 to;
        assembly ("memory-safe") {
            to := add(out, 32)
        }
        for (uint256 i = 0; i < parts.length; ++i) {
            bytes memory part = parts[i];
            assembly ("memory-safe") {
                let n := mload(part)
                mcopy(to, add(part, 32), n)
                to := add(to, n)
            }
        }
    }

    /// @notice [v0.13] The word-tree root and length of the encoding whose bytes are `short`
    /// with each gap's data inserted at its `at`, from `oracle`'s WRITE facts (SPEC.md §5.19):
    /// from the tree of the bytes before the first data, each data `(R_d, 0, len)` then the
    /// short bytes up to the next data (or the end), from the tree of those bytes, written
    /// after what the previous fact left.
    function _longEncoding(bytes memory short, Gap[] memory gaps, uint256 nGaps, address oracle)
        private
        view
        returns (bytes32 root, uint256 len)
    {
        uint256 p;
        assembly ("memory-safe") {
            p := add(short, 32)
        }
        uint256 from = gaps[0].at;
        root = WordTree.rootOf(p, from);
        len = from;
        for (uint256 j; j < nGaps; ++j) {
            Gap memory g = gaps[j];
            (, root) = StepOps.factOf(oracle, g.root, 0, g.len, g.len, StepOps.JOB_WRITE, root, len);
            len += g.len;
            uint256 to = j + 1 < nGaps ? gaps[j + 1].at : short.length;
            if (to > from) {
                uint256 n = to - from;
                (, root) = StepOps.factOf(
                    oracle, WordTree.rootOf(p + from, n), 0, n, n, StepOps.JOB_WRITE, root, len
                );
                len += n;
            }
            from = to;
        }
    }

    /// @notice The log at `p` (`address ‖ u32 n ‖ topic… ‖ u32 len ‖ data`): its RLP encoding
    /// (its bloom bits set in `bloom`), its hash and the offset after it. [v0.13] A long log
    /// (`u32 (len | 2^31) ‖ R_d`, `len ≥ 56`): its encoding without the data, the data as a
    /// gap, its hash from `oracle`'s facts (a WRITE of `(R_d, 0, len)` after the encoding's
    /// prefix, then a HASH of the result, as the LOG step's, SPEC.md §3.4.1).
    function _log(uint256 p, bytes memory bloom, address oracle)
        private
        view
        returns (bytes memory log, bytes32 logHash, Gap memory gap, uint256 next)
    {
        bytes memory head;
        (head, p) = _addressAndTopics(p, bloom);
        uint256 len = StateRecord.uintAt(p, 4);
        if (len & LONG_DATA != 0) {
            len ^= LONG_DATA;
            if (len < 56) revert BadReceipt();
            (gap.len, gap.root) = (len, StateRecord.wordAt(p + 4));
            (log, logHash) = _longLog(head, gap, oracle);
            return (log, logHash, gap, p + 36);
        }
        bytes memory data = msg.data[p + 4:p + 4 + len];
        next = p + 4 + len;
        bytes memory dataRlp =
            len == 1 && uint8(data[0]) < 0x80 ? data : abi.encodePacked(_header(0x80, len), data);
        bytes memory payload = abi.encodePacked(head, dataRlp);
        log = abi.encodePacked(_header(0xc0, payload.length), payload);
        logHash = keccak256(log);
    }

    /// @notice The log's address and topics at `p` (`address ‖ u32 n ‖ topic…`) as its
    /// encoding holds them (`0x94 ‖ address ‖ rlp([topic…])`), their bloom bits set in `bloom`,
    /// and the offset after them.
    function _addressAndTopics(uint256 p, bytes memory bloom) private pure returns (bytes memory head, uint256 next) {
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
        head = abi.encodePacked(bytes1(0x94), addr, _header(0xc0, topics.length), topics);
        next = p;
    }

    /// @notice [v0.13] A long log's encoding without its data (`head` the address and topics,
    /// then the data's header) and its hash: `oracle`'s WRITE of the data `(R_d, 0, len)` after
    /// that prefix, then its HASH of the result (as the LOG step's, SPEC.md §3.4.1).
    function _longLog(bytes memory head, Gap memory gap, address oracle)
        private
        view
        returns (bytes memory log, bytes32 logHash)
    {
        uint256 len = gap.len;
        bytes memory dataHeader = _header(0x80, len);
        log = abi.encodePacked(_header(0xc0, head.length + dataHeader.length + len), head, dataHeader);
        uint256 at;
        assembly ("memory-safe") {
            at := add(log, 32)
        }
        uint256 plen = log.length;
        (, bytes32 whole) =
            StepOps.factOf(oracle, gap.root, 0, len, len, StepOps.JOB_WRITE, WordTree.rootOf(at, plen), plen);
        (logHash,) = StepOps.factOf(oracle, whole, 0, StepOps.TREE_BYTES, plen + len, StepOps.JOB_HASH, 0, 0);
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
