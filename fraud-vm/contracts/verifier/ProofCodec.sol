// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StateRecord, StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
import {SparseTree} from "./SparseTree.sol";
import "./StepErrors.sol";

/// @title Canonical proof encoding (fraud-vm/SPEC.md §6.3)
/// @notice Checks the structure of a proof in calldata and returns the offsets of its parts, as
/// the Rust `StepProof::decode` (fraud-vm/src/codec.rs) does: version, tags, status and flag
/// values, counts within the input, non-zero siblings, the block constants' extra-data length
/// and padding, no trailing bytes. The transaction's EIP-2718 encoding is only located here: the
/// transaction start decodes it when it reads it, and any other step rejects a proof that
/// carries one as an unused witness (malformed or not, the reference rejects it too).
library ProofCodec {
    /// The only proof version (v0.6: the receipt's list index; earlier versions are refused).
    uint8 internal constant VERSION = 6;
    uint8 internal constant TAG_STATE = 0x01;
    uint8 internal constant TAG_TX_ENV = 0x03;
    uint8 internal constant TAG_BLOCK_ENV = 0x04;
    uint8 internal constant TAG_WORLD = 0x05;
    uint8 internal constant TAG_ACCOUNT = 0x09;
    uint8 internal constant TAG_CHECKPOINT = 0x07;
    uint8 internal constant TAG_CONSTANTS = 0x17;
    uint8 internal constant TAG_SEALING = 0x19;
    /// Length of a checkpoint preimage (SPEC.md §3.7.6), tag included.
    uint256 internal constant CHECKPOINT_LEN = 233;
    /// Length of an account record (SPEC.md §3.7.2), tag included.
    uint256 internal constant ACCOUNT_LEN = 113;
    /// Length of a world record (SPEC.md §3.7.1), tag included.
    uint256 internal constant WORLD_LEN = 297;
    /// Fixed part of a transaction environment record (SPEC.md §3.6), tag included.
    uint256 internal constant TX_ENV_FIXED = 175;
    /// Length of a block environment record, tag included.
    uint256 internal constant BLOCK_ENV_LEN = 350;
    /// Length of the block constants (SPEC.md §3.6), tag included.
    uint256 internal constant CONSTANTS_LEN = 138;
    /// Offset of `extra_len` in the block constants, and the padded extra data's length.
    uint256 internal constant CONSTANTS_EXTRA_LEN = 105;
    uint256 internal constant MAX_EXTRA_DATA = 32;
    /// Length of the sealing record (SPEC.md §5.19), tag included.
    uint256 internal constant SEALING_LEN = 385;
    /// Largest status byte (SPEC.md §3.2: Running .. Starting).
    uint8 internal constant MAX_STATUS = 9;

    /// @notice Decodes `proof` (a calldata slice) into a step context, or reverts with the
    /// reason the bytes are not a canonical proof.
    function decode(bytes calldata proof) internal pure returns (Ctx memory cx) {
        uint256 p = _offset(proof);
        uint256 end = p + proof.length;
        if (proof.length < 1 + StateRecord.LEN) revert Truncated();
        uint8 version = uint8(StateRecord.uintAt(p, 1));
        if (version != VERSION) revert UnknownVersion(version);
        p += 1;
        cx.pre = p;
        _state(p);
        p += StateRecord.LEN;

        uint256 n;
        (n, p) = _count(p, end, 1);
        cx.code = p;
        cx.codeLen = n;
        p += n;

        (n, p) = _count(p, end, 32);
        cx.items = p;
        cx.itemCount = n;
        p += 32 * n;
        _need(p, 1, end);
        cx.hasRest = _flag(p);
        p += 1;
        if (cx.hasRest) {
            _need(p, 32, end);
            cx.rest = StateRecord.wordAt(p);
            p += 32;
        }

        (cx.memNext, cx.memLeft, p) = _ranges(p, end);
        (cx.cdNext, cx.cdLeft, p) = _ranges(p, end);
        (cx.rdNext, cx.rdLeft, p) = _ranges(p, end);

        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, TX_ENV_FIXED, end);
            _tag(p, TAG_TX_ENV);
            _flag(p + 69);
            _flag(p + 110);
            uint256 blobs = StateRecord.uintAt(p + 167, 8);
            if (blobs > (end - p - TX_ENV_FIXED) / 32) revert Truncated();
            cx.txEnv = p;
            cx.txEnvLen = TX_ENV_FIXED + 32 * blobs;
            p += cx.txEnvLen;
        } else {
            p += 1;
        }

        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, BLOCK_ENV_LEN, end);
            _tag(p, TAG_BLOCK_ENV);
            _flag(p + 349);
            cx.blockEnv = p;
            p += BLOCK_ENV_LEN;
        } else {
            p += 1;
        }

        _world(cx, p, end);
    }

    /// @notice The world-state sections from `p`: the world record, tree paths, account
    /// records, storage values, base proofs, codes, the frame link, the checkpoint and the
    /// self-destruct list are located, then the block sections (`_block`).
    function _world(Ctx memory cx, uint256 p, uint256 end) private pure {
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, WORLD_LEN, end);
            _tag(p, TAG_WORLD);
            cx.world = p;
            p += WORLD_LEN;
        } else {
            p += 1;
        }
        uint256 n;
        (n, p) = _count(p, end, 64);
        (cx.treeNext, cx.treeLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, 64, end);
            uint256 k = SparseTree.popcount(uint256(StateRecord.wordAt(p + 32)));
            p += 64;
            _need(p, 32 * k, end);
            for (uint256 j = 0; j < k; ++j) {
                if (StateRecord.wordAt(p) == 0) revert ZeroSibling();
                p += 32;
            }
        }
        (n, p) = _count(p, end, ACCOUNT_LEN);
        (cx.accountNext, cx.accountLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            _tag(p, TAG_ACCOUNT);
            p += ACCOUNT_LEN;
        }
        (n, p) = _count(p, end, 32);
        (cx.slotNext, cx.slotLeft) = (p, n);
        p += 32 * n;
        (n, p) = _count(p, end, 5);
        (cx.baseAccountNext, cx.baseAccountLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, 1, end);
            bool present = _flag(p);
            p += 1;
            if (present) {
                _need(p, 104, end);
                p += 104;
            }
            p = _nodes(p, end);
        }
        (n, p) = _count(p, end, 36);
        (cx.baseSlotNext, cx.baseSlotLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, 32, end);
            p = _nodes(p + 32, end);
        }
        (n, p) = _count(p, end, 4);
        (cx.codeNext, cx.codeLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 len;
            (len, p) = _count(p, end, 1);
            p += len;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, StateRecord.LEN + 17, end);
            _state(p);
            uint8 kind = uint8(StateRecord.uintAt(p + StateRecord.LEN + 16, 1));
            if (kind > 1) revert BadFlag(kind);
            cx.frame = p;
            p += StateRecord.LEN + 17;
        } else {
            p += 1;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, CHECKPOINT_LEN, end);
            _tag(p, TAG_CHECKPOINT);
            cx.checkpoint = p;
            p += CHECKPOINT_LEN;
        } else {
            p += 1;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            (n, p) = _count(p + 1, end, 20);
            cx.hasDestructs = true;
            (cx.destructs, cx.destructsCount) = (p, n);
            p += 20 * n;
        } else {
            p += 1;
        }
        _block(cx, p, end);
    }

    /// @notice The v0.4 sections from `p` (SPEC.md §6.3): the transaction (`u32 len ‖ EIP-2718
    /// encoding ‖ word_proof`), the block constants, the sealing record, the fold key, the trie
    /// writes and the receipt are located; nothing may follow.
    function _block(Ctx memory cx, uint256 p, uint256 end) private pure {
        uint256 n;
        _need(p, 1, end);
        // [v0.11] Flag 2: the transaction in its L1 form (SPEC.md §3.4.1), located alike.
        uint256 f = StateRecord.uintAt(p, 1);
        if (f == 2 || _flag(p)) {
            // The encoding is decoded by the step that reads it.
            (n, p) = _count(p + 1, end, 1);
            cx.hasTransaction = true;
            cx.txLong = f == 2;
            (cx.txEncoding, cx.txEncodingLen) = (p, n);
            p += n;
            _need(p, WordTree.PROOF_LEN, end);
            cx.txPosition = p;
            p += WordTree.PROOF_LEN;
        } else {
            p += 1;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, CONSTANTS_LEN, end);
            _tag(p, TAG_CONSTANTS);
            uint256 len = StateRecord.uintAt(p + CONSTANTS_EXTRA_LEN, 1);
            if (len > MAX_EXTRA_DATA) revert BadPadding();
            // The bytes after `extra_len` bytes of extra data are zero.
            if (len < MAX_EXTRA_DATA && StateRecord.wordAt(p + CONSTANTS_EXTRA_LEN + 1) << (8 * len) != 0) {
                revert BadPadding();
            }
            cx.constants = p;
            p += CONSTANTS_LEN;
        } else {
            p += 1;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, SEALING_LEN, end);
            _tag(p, TAG_SEALING);
            cx.sealing = p;
            p += SEALING_LEN;
        } else {
            p += 1;
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, 1, end);
            uint8 kind = uint8(StateRecord.uintAt(p, 1));
            if (kind > 1) revert BadFlag(kind);
            // kind 0: an account (address); kind 1: a slot (address, incarnation, slot).
            uint256 len = kind == 0 ? 21 : 61;
            _need(p, len, end);
            cx.foldKey = p;
            p += len;
        } else {
            p += 1;
        }
        (n, p) = _count(p, end, 5);
        (cx.trieNext, cx.trieLeft) = (p, n);
        for (uint256 i = 0; i < n; ++i) {
            p = _nodes(p, end);
            _need(p, 1, end);
            bool sibling = _flag(p);
            p += 1;
            if (sibling) {
                uint256 len;
                (len, p) = _count(p, end, 1);
                p += len;
            }
        }
        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            cx.receipt = p;
            p = _receipt(p, end);
        } else {
            p += 1;
        }
        if (p != end) revert TrailingBytes();
    }

    /// @notice Skips a receipt (`tx_index(u64) ‖ success(u8) ‖ cumulative_gas(u64) ‖ u8 deposit ‖
    /// [deposit_nonce(u64)] ‖ u32 count ‖ (address ‖ u32 n ‖ topic… ‖ u32 len ‖ data)…`) at `p`;
    /// [v0.13] in the L1 form a long log's `u32 len ‖ data` may be `u32 (len | 2^31) ‖ R_d`;
    /// [v0.15] the logs may be `u32 (count | 2^31) ‖ logs_root ‖ R_L ‖ u32 len(L) ‖ bloom`.
    function _receipt(uint256 p, uint256 end) internal pure returns (uint256) {
        _need(p, 18, end);
        p += 8;
        _flag(p);
        p += 9;
        bool deposit = _flag(p);
        p += 1;
        if (deposit) {
            _need(p, 8, end);
            p += 8;
        }
        // [v0.15] The logs by the LOGS fact: `u32 (count | 2^31) ‖ logs_root ‖ R_L ‖ u32 len(L) ‖
        // bloom` (SPEC.md §5.19).
        _need(p, 4, end);
        if (StateRecord.uintAt(p, 4) >= 1 << 31) {
            _need(p, 328, end);
            return p + 328;
        }
        uint256 n;
        (n, p) = _count(p, end, 28);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, 20, end);
            uint256 topics;
            (topics, p) = _count(p + 20, end, 32);
            p += 32 * topics;
            uint256 len;
            (len, p) = _count(p, end, 0);
            // [v0.13] A long log's data in the L1 form: `u32 (len | 2^31) ‖ R_d` (SPEC.md §5.19).
            if (len >= 1 << 31) len = 32;
            _need(p, len, end);
            p += len;
        }
        return p;
    }

    /// @notice Skips a list of trie nodes (`u32 count ‖ (u32 len ‖ node)…`) at `p`.
    function _nodes(uint256 p, uint256 end) internal pure returns (uint256) {
        uint256 n;
        (n, p) = _count(p, end, 4);
        for (uint256 i = 0; i < n; ++i) {
            uint256 len;
            (len, p) = _count(p, end, 1);
            p += len;
        }
        return p;
    }

    /// @notice Checks the tag, status and static flag of the state record at `p` (its length was
    /// checked by the caller).
    function _state(uint256 p) private pure {
        _tag(p, TAG_STATE);
        uint8 status = uint8(StateRecord.uintAt(p + StateRecord.STATUS, 1));
        if (status > MAX_STATUS) revert BadStatus(status);
        _flag(p + StateRecord.IS_STATIC);
    }

    function _offset(bytes calldata b) private pure returns (uint256 o) {
        assembly ("memory-safe") {
            o := b.offset
        }
    }

    function _need(uint256 p, uint256 n, uint256 end) private pure {
        if (n > end - p) revert Truncated();
    }

    /// @notice A u32 count at `p` of items of `itemLen` bytes that must fit in the input.
    function _count(uint256 p, uint256 end, uint256 itemLen) private pure returns (uint256 n, uint256 next) {
        _need(p, 4, end);
        n = StateRecord.uintAt(p, 4);
        next = p + 4;
        if (n * itemLen > end - next) revert Truncated();
    }

    /// @notice A u32 count at `p` of range multiproofs (`start(u32) ‖ count(u32) ‖ words ‖
    /// siblings`, SPEC.md §6.3), each non-empty, within the word tree and within the input.
    /// Returns the offset of the first, their number and the offset after the last.
    function _ranges(uint256 p, uint256 end) private pure returns (uint256 first, uint256 n, uint256 next) {
        (n, p) = _count(p, end, WordTree.RANGE_HEAD);
        first = p;
        for (uint256 i; i < n; ++i) {
            _need(p, WordTree.RANGE_HEAD, end);
            uint256 start = StateRecord.uintAt(p, 4);
            uint256 raw = StateRecord.uintAt(p + 4, 4);
            // Bit 31 of the count marks a fact marker: the range's head only (SPEC.md §3.4.1).
            uint256 count = raw & (StepOps.FACT_BIT - 1);
            if (count == 0 || start + count > WordTree.LEAVES) revert BadRange(start, count);
            // The word count is below 2^32, so this cannot overflow.
            uint256 size = WordTree.RANGE_HEAD;
            if (raw == count) size += 32 * (count + WordTree.rangeSiblings(start, count));
            _need(p, size, end);
            p += size;
        }
        next = p;
    }

    function _flag(uint256 p) private pure returns (bool) {
        uint8 f = uint8(StateRecord.uintAt(p, 1));
        if (f > 1) revert BadFlag(f);
        return f == 1;
    }

    function _tag(uint256 p, uint8 expected) private pure {
        uint8 found = uint8(StateRecord.uintAt(p, 1));
        if (found != expected) revert BadTag(expected, found);
    }
}
