// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord} from "./StepContext.sol";
import "./StepErrors.sol";

/// An EIP-2930 access list entry.
struct AccessEntry {
    uint256 addr;
    uint256[] keys;
}

/// An EIP-7702 authorization as signed.
struct Authorization {
    uint256 chainId;
    uint256 addr;
    uint256 nonce;
    uint256 yParity;
    uint256 r;
    uint256 s;
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
}

/// @title Transaction records of v0.3 (fraud-vm/SPEC.md §3.9; Rust: tx.rs)
/// @notice Decodes the record a v0.3 proof carries, with the structural checks of the Rust
/// decoder (tag, flags, counts within the record, no trailing bytes), and the gas rules every
/// transaction shares (intrinsic gas, EIP-7623 floor).
library TxRecord {
    uint8 internal constant TAG_TX = 0x0d;
    /// An authorization: chain id, address, nonce (u64), parity (u8), r, s.
    uint256 internal constant AUTHORIZATION_LEN = 125;
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

    /// @notice The record of `len` bytes at calldata offset `at`, decoded; reverts `Truncated`,
    /// `BadTag`, `BadFlag` or `TrailingBytes` where the Rust decoder rejects it.
    function decode(uint256 at, uint256 len) internal pure returns (TxFields memory t) {
        uint256 end = at + len;
        uint256 p = at;
        _need(p, 1 + 20 + 1 + 20 + 8 + 8 + 96 + 4, end);
        uint8 tag = uint8(StateRecord.uintAt(p, 1));
        if (tag != TAG_TX) revert BadTag(TAG_TX, tag);
        t.sender = StateRecord.addressAt(p + 1);
        t.create = _flag(p + 21);
        t.to = StateRecord.addressAt(p + 22);
        t.nonce = StateRecord.uintAt(p + 42, 8);
        t.gasLimit = StateRecord.uintAt(p + 50, 8);
        t.maxFee = uint256(StateRecord.wordAt(p + 58));
        t.maxPriorityFee = uint256(StateRecord.wordAt(p + 90));
        t.value = uint256(StateRecord.wordAt(p + 122));
        p += 154;
        (t.dataLen, p) = _count(p, end, 1);
        t.data = p;
        p += t.dataLen;
        uint256 n;
        (n, p) = _count(p, end, 24);
        t.accessList = new AccessEntry[](n);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, 20, end);
            t.accessList[i].addr = StateRecord.addressAt(p);
            uint256 k;
            (k, p) = _count(p + 20, end, 32);
            uint256[] memory keys = new uint256[](k);
            for (uint256 j = 0; j < k; ++j) {
                keys[j] = uint256(StateRecord.wordAt(p + 32 * j));
            }
            t.accessList[i].keys = keys;
            p += 32 * k;
        }
        _need(p, 32, end);
        t.maxFeePerBlobGas = uint256(StateRecord.wordAt(p));
        (n, p) = _count(p + 32, end, 32);
        t.blobHashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            t.blobHashes[i] = StateRecord.wordAt(p + 32 * i);
        }
        p += 32 * n;
        // The Rust decoder bounds the count by 117 bytes per item; each takes 125.
        (n, p) = _count(p, end, 117);
        t.authorizations = new Authorization[](n);
        for (uint256 i = 0; i < n; ++i) {
            _need(p, AUTHORIZATION_LEN, end);
            Authorization memory a = t.authorizations[i];
            a.chainId = uint256(StateRecord.wordAt(p));
            a.addr = StateRecord.addressAt(p + 32);
            a.nonce = StateRecord.uintAt(p + 52, 8);
            a.yParity = StateRecord.uintAt(p + 60, 1);
            a.r = uint256(StateRecord.wordAt(p + 61));
            a.s = uint256(StateRecord.wordAt(p + 93));
            p += AUTHORIZATION_LEN;
        }
        (t.encodedLen, p) = _count(p, end, 1);
        t.encoded = p;
        p += t.encodedLen;
        _need(p, 1, end);
        t.deposit = _flag(p);
        p += 1;
        if (t.deposit) {
            _need(p, 32 + 16 + 1, end);
            t.sourceHash = StateRecord.wordAt(p);
            t.mint = StateRecord.uintAt(p + 32, 16);
            t.isSystem = _flag(p + 48);
            p += 49;
        }
        if (p != end) revert TrailingBytes();
    }

    /// @notice Intrinsic gas (SPEC.md §5.9 step 2): 21000, 4 per zero and 16 per non-zero data
    /// byte, 2400 per access-list address and 1900 per key, 25000 per EIP-7702 authorization, and
    /// for a creation 32000 and 2 per initcode word (EIP-3860).
    function intrinsicGas(TxFields memory t) internal pure returns (uint256 gas) {
        uint256 zeros = zeroBytes(t.data, t.dataLen);
        gas = TX_BASE + ZERO_BYTE * zeros + NONZERO_BYTE * (t.dataLen - zeros);
        for (uint256 i = 0; i < t.accessList.length; ++i) {
            gas += ACCESS_ADDRESS + ACCESS_KEY * t.accessList[i].keys.length;
        }
        gas += PER_AUTHORIZATION * t.authorizations.length;
        if (t.create) gas += CREATE + INITCODE_WORD * ((t.dataLen + 31) / 32);
    }

    /// @notice EIP-7623: `21000 + 10 · tokens` of the data, a zero byte one token, a non-zero
    /// byte four.
    function floorGas(TxFields memory t) internal pure returns (uint256) {
        uint256 zeros = zeroBytes(t.data, t.dataLen);
        return TX_BASE + 10 * (zeros + 4 * (t.dataLen - zeros));
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

    function _need(uint256 p, uint256 n, uint256 end) private pure {
        if (n > end - p) revert Truncated();
    }

    /// @notice A u32 count at `p` of items of at least `itemLen` bytes that must fit.
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
}
