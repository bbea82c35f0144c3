// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord} from "./StepContext.sol";
import {StackChain} from "./StackChain.sol";
import "./StepErrors.sol";

/// An EIP-2930 access list entry.
struct AccessEntry {
    uint256 addr;
    uint256[] keys;
}

/// An EIP-7702 authorization as signed, and its authority as `TxDecoder` recovered it.
struct Authorization {
    uint256 chainId;
    uint256 addr;
    uint256 nonce;
    uint256 yParity;
    uint256 r;
    uint256 s;
    /// Whether the transaction start applies it to an authority (for the block's chain or any,
    /// a nonce below `2^64 − 1`, a valid signature), and that authority.
    bool signed;
    uint256 authority;
}

/// A transaction as the transaction start reads it (fraud-vm/SPEC.md §3.9), whatever format
/// the block's list carries it in: the data and the EIP-2718 encoding stay in calldata (offset
/// and length), the lists are decoded into memory.
struct TxFields {
    uint256 sender;
    bool create;
    uint256 to;
    uint256 nonce;
    uint256 gasLimit;
    uint256 maxFee;
    uint256 maxPriorityFee;
    uint256 value;
    uint256 data;
    uint256 dataLen;
    AccessEntry[] accessList;
    uint256 maxFeePerBlobGas;
    bytes32[] blobHashes;
    Authorization[] authorizations;
    uint256 encoded;
    uint256 encodedLen;
    bool deposit;
    bytes32 sourceHash;
    uint256 mint;
    bool isSystem;
    /// Intrinsic gas and the EIP-7623 floor (`TxRecord.fillGas`, set by `TxDecoder.decode`).
    uint256 intrinsic;
    uint256 floor;
    /// [v0.11] The L1 form (SPEC.md §3.4.1): the encoding's word-tree root (zero in the full
    /// form, where the data and the encoding are in calldata), the data's word-tree root (a
    /// call) or hash (a creation) from the range oracle's facts, and that oracle.
    bytes32 encodingRoot;
    bytes32 dataRoot;
    bytes32 dataHash;
    address oracle;
    /// [v0.15] The start's entries (SPEC.md §5.9), stacked by `TxRecord.stackEntries` in
    /// place of the two lists, which `TxDecoder` returns empty: the root of the stack with the
    /// first entry on top, its words (two an entry), the authorization entries among them, and
    /// the number of authorizations in the list (an entry or not).
    bytes32 entriesRoot;
    uint256 entryWords;
    uint256 authEntries;
    uint256 authCount;
}

/// @title The gas rules every transaction shares (fraud-vm/SPEC.md §5.9; Rust: tx.rs): intrinsic
/// gas and the EIP-7623 floor of the fields `TxDecoder` decoded
library TxRecord {
    /// Intrinsic gas: base, per zero and non-zero data byte, per access-list address and key,
    /// per authorization, for a creation and per initcode word.
    uint256 internal constant TX_BASE = 21000;
    uint256 internal constant ZERO_BYTE = 4;
    uint256 internal constant NONZERO_BYTE = 16;
    uint256 internal constant ACCESS_ADDRESS = 2400;
    uint256 internal constant ACCESS_KEY = 1900;
    uint256 internal constant PER_AUTHORIZATION = 25000;
    uint256 internal constant CREATE = 32000;
    uint256 internal constant INITCODE_WORD = 2;

    /// @notice Sets `t.intrinsic`, the intrinsic gas (SPEC.md §5.9 step 2): 21000, 4 per zero
    /// and 16 per non-zero data byte, 2400 per access-list address and 1900 per key, 25000 per
    /// EIP-7702 authorization, and for a creation 32000 and 2 per initcode word (EIP-3860); and
    /// `t.floor`, EIP-7623's `21000 + 10 · tokens` of the data (a zero byte one token, a
    /// non-zero byte four), with `zeros` the number of zero bytes of the data.
    function fillGas(TxFields memory t, uint256 zeros) internal pure {
        uint256 gas = TX_BASE + ZERO_BYTE * zeros + NONZERO_BYTE * (t.dataLen - zeros);
        for (uint256 i = 0; i < t.accessList.length; ++i) {
            gas += ACCESS_ADDRESS + ACCESS_KEY * t.accessList[i].keys.length;
        }
        gas += PER_AUTHORIZATION * t.authorizations.length;
        if (t.create) gas += CREATE + INITCODE_WORD * ((t.dataLen + 31) / 32);
        t.intrinsic = gas;
        t.floor = TX_BASE + 10 * (zeros + 4 * (t.dataLen - zeros));
    }

    /// @notice [v0.15] Stacks the start's entries of `t` (SPEC.md §5.9), the first entry's
    /// first word on top: per access-list address `(1 ‖ address, 0)` then per key `(2 ‖
    /// address, key)`, then per authorization with an authority `(3 ‖ authority, nonce ‖
    /// address)`; sets `entriesRoot`, `entryWords`, `authEntries` and `authCount`, and empties
    /// the lists (nothing reads them after, and their ABI copy out of `TxDecoder` cost the start
    /// about as much as the rest of its decoding, key by key).
    function stackEntries(TxFields memory t) internal pure {
        bytes32 root;
        uint256 words;
        for (uint256 i = t.authorizations.length; i > 0; --i) {
            Authorization memory a = t.authorizations[i - 1];
            if (!a.signed) continue;
            root = StackChain.push(root, (a.nonce << 160) | a.addr);
            root = StackChain.push(root, (3 << 248) | a.authority);
            t.authEntries += 1;
            words += 2;
        }
        for (uint256 i = t.accessList.length; i > 0; --i) {
            uint256 addr = t.accessList[i - 1].addr;
            uint256[] memory keys = t.accessList[i - 1].keys;
            for (uint256 j = keys.length; j > 0; --j) {
                root = StackChain.push(root, keys[j - 1]);
                root = StackChain.push(root, (2 << 248) | addr);
            }
            root = StackChain.push(root, 0);
            root = StackChain.push(root, (1 << 248) | addr);
            words += 2 * (keys.length + 1);
        }
        (t.entriesRoot, t.entryWords, t.authCount) = (root, words, t.authorizations.length);
        t.accessList = new AccessEntry[](0);
        t.authorizations = new Authorization[](0);
    }

    /// @notice The number of zero bytes among the `len` calldata bytes at `at`, a word at a time.
    function zeroBytes(uint256 at, uint256 len) internal pure returns (uint256 zeros) {
        assembly ("memory-safe") {
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let nonzero := 0
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                let w := calldataload(add(at, i))
                // Bytes past the end do not count.
                let left := sub(len, i)
                if lt(left, 32) { w := and(w, not(shr(shl(3, left), not(0)))) }
                // The low bit of each byte: 1 iff the byte is not zero.
                w := or(w, shr(4, w))
                w := or(w, shr(2, w))
                w := or(w, shr(1, w))
                w := and(w, ones)
                nonzero := add(nonzero, shr(248, mul(w, ones)))
            }
            zeros := sub(len, nonzero)
        }
    }
}
