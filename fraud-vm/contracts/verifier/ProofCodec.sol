// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StateRecord} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
import "./StepErrors.sol";

/// @title Canonical proof encoding (fraud-vm/SPEC.md §6.3)
/// @notice Checks the structure of a proof in calldata and returns the offsets of its parts.
/// Every byte up to the world-state sections is accounted for as in the Rust
/// `StepProof::decode` (fraud-vm/src/codec.rs): version, tags, status and flag values, counts
/// within the input. The world-state sections are only compared with their empty encoding: the
/// steps executed here consume none of them, so anything else is rejected by the step as
/// `UnexpectedWorldWitnesses` (malformed or not, the reference rejects such a proof too).
library ProofCodec {
    /// The only proof version.
    uint8 internal constant VERSION = 2;
    uint8 internal constant TAG_STATE = 0x01;
    uint8 internal constant TAG_TX_ENV = 0x03;
    uint8 internal constant TAG_BLOCK_ENV = 0x04;
    /// Fixed part of a transaction environment record (SPEC.md §3.6), tag included.
    uint256 internal constant TX_ENV_FIXED = 118;
    /// Length of a block environment record, tag included.
    uint256 internal constant BLOCK_ENV_LEN = 309;
    /// The encoding of the world-state sections when all of them are empty: world flag 0,
    /// seven u32 counts 0 (trees, accounts, slots, base accounts, base slots, codes, block
    /// hashes) and four flags 0 (frame, checkpoint, self-destructs, transaction).
    uint256 internal constant EMPTY_WORLD_TAIL = 1 + 7 * 4 + 4;

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

        (n, p) = _count(p, end, WordTree.PROOF_LEN);
        (cx.memNext, cx.memLeft) = (p, n);
        p += n * WordTree.PROOF_LEN;
        (n, p) = _count(p, end, WordTree.PROOF_LEN);
        (cx.cdNext, cx.cdLeft) = (p, n);
        p += n * WordTree.PROOF_LEN;
        (n, p) = _count(p, end, WordTree.PROOF_LEN);
        (cx.rdNext, cx.rdLeft) = (p, n);
        p += n * WordTree.PROOF_LEN;

        _need(p, 1, end);
        if (_flag(p)) {
            p += 1;
            _need(p, TX_ENV_FIXED, end);
            _tag(p, TAG_TX_ENV);
            _flag(p + 69);
            uint256 blobs = StateRecord.uintAt(p + 110, 8);
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
            cx.blockEnv = p;
            p += BLOCK_ENV_LEN;
        } else {
            p += 1;
        }

        // The world-state sections: the steps executed here read none of them, so they are only
        // told apart from the empty encoding (the step rejects them as unused witnesses).
        if (end - p != EMPTY_WORLD_TAIL) {
            cx.worldWitnesses = true;
        } else {
            uint256 tail;
            uint256 lead;
            assembly ("memory-safe") {
                tail := calldataload(p)
                lead := byte(0, calldataload(add(p, 32)))
            }
            cx.worldWitnesses = tail != 0 || lead != 0;
        }
    }

    /// @notice Checks the tag, status and static flag of the state record at `p` (its length was
    /// checked by the caller).
    function _state(uint256 p) private pure {
        _tag(p, TAG_STATE);
        uint8 status = uint8(StateRecord.uintAt(p + StateRecord.STATUS, 1));
        if (status > 5) revert BadStatus(status);
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
