// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, Flow, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";
import {WordTree} from "./WordTree.sol";

/// @title LOG0..LOG4 (fraud-vm/SPEC.md §5.12, §3.7.5; Rust: step/log.rs)
/// @notice The log `(address, topics, data)` is appended to the world's log chain:
/// `logs_root' = keccak256(0x0a ‖ logs_root ‖ keccak256(rlp([address, [topic…], data])))`.
library LogStep {
    /// G_logtopic and G_logdata.
    uint256 internal constant TOPIC_GAS = 375;
    uint256 internal constant DATA_GAS = 8;

    /// @notice Executes LOGn (the caller has halted it in a static frame). Pops the offset and
    /// length, charges, expands and reads the data, and only then pops the topics.
    function execute(Ctx memory cx, uint256 op) internal view returns (Flow) {
        uint256 topics = op - 0xa0;
        uint256 offset = StepOps.item(cx, 0);
        uint256 len = StepOps.item(cx, 1);
        if (len >= StepOps.U64) return Flow.Halt;
        if (!StepOps.charge(cx, TOPIC_GAS * topics + DATA_GAS * len)) return Flow.Halt;
        if (!StepOps.expand(cx, offset, len)) return Flow.Halt;
        bytes memory topicList;
        for (uint256 i = 0; i < topics; ++i) {
            topicList = abi.encodePacked(topicList, bytes1(0xa0), StepOps.item(cx, 2 + i));
        }
        bytes memory head = abi.encodePacked(
            bytes1(0x94),
            bytes20(uint160(StateRecord.addressAt(cx.pre + StateRecord.ADDRESS))),
            _header(0xc0, topicList.length),
            topicList
        );
        bytes32 logHash;
        // Data of 56 bytes or more has its own RLP header (a marker on shorter data is read as
        // a multiproof, and rejected).
        if (len > 55 && StepOps.memoryIsFact(cx)) {
            logHash = _longLog(cx, head, offset, len);
        } else {
            uint256 data = StepOps.readMemory(cx, len == 0 ? 0 : offset, len);
            bytes memory payload = abi.encodePacked(head, _string(data, len));
            logHash = keccak256(abi.encodePacked(_header(0xc0, payload.length), payload));
        }
        WorldAccess.world(cx);
        cx.logsRoot = keccak256(abi.encodePacked(bytes1(0x0a), cx.logsRoot, logHash));
        cx.logsCount = (cx.logsCount + 1) & type(uint64).max;
        cx.worldChanged = true;
        return Flow.Next;
    }

    /// @notice The log's hash when its data is long (SPEC.md §3.4.1): the encoding's prefix
    /// (the list header, `head`, the data's header) is a small tree, the oracle wrote the data
    /// after it (a WRITE) and hashed the whole (a HASH of the WRITE's result).
    function _longLog(Ctx memory cx, bytes memory head, uint256 offset, uint256 len)
        private
        view
        returns (bytes32 logHash)
    {
        StepOps.takeMemoryFact(cx, offset, len);
        bytes memory dataHeader = _header(0x80, len);
        bytes memory prefix =
            abi.encodePacked(_header(0xc0, head.length + dataHeader.length + len), head, dataHeader);
        uint256 p;
        assembly ("memory-safe") {
            p := add(prefix, 32)
        }
        uint256 plen = prefix.length;
        (, bytes32 whole) = StepOps.rangeFact(
            cx, cx.memoryRoot, offset, StepOps.TREE_BYTES, len, StepOps.JOB_WRITE, WordTree.rootOf(p, plen), plen
        );
        (logHash,) = StepOps.rangeFact(cx, whole, 0, StepOps.TREE_BYTES, plen + len, StepOps.JOB_HASH, 0, 0);
    }

    /// @notice The RLP encoding of the `len` bytes at memory pointer `data` as a string.
    function _string(uint256 data, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 32), data, len)
        }
        if (len == 1 && uint8(out[0]) < 0x80) return out;
        return abi.encodePacked(_header(0x80, len), out);
    }

    /// @notice An RLP header for a payload of `len` bytes: `base` 0x80 (string) or 0xc0 (list).
    function _header(uint256 base, uint256 len) private pure returns (bytes memory) {
        if (len < 56) return abi.encodePacked(uint8(base + len));
        uint256 n;
        for (uint256 x = len; x != 0; x >>= 8) ++n;
        bytes memory h = abi.encodePacked(uint8(base + 55 + n), bytes32(len << (256 - 8 * n)));
        assembly ("memory-safe") {
            mstore(h, add(n, 1))
        }
        return h;
    }
}
