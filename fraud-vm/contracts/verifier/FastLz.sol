// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FastLZ level 1 compressed length (fraud-vm/SPEC.md §5.9, the OP Stack's Fjord L1
/// data fee; Rust: op-revm's `flz_compress_len`, which `estimate_tx_compressed_size` uses)
/// @notice The length of the bytes FastLZ level 1 would write for an input, without writing
/// them: the literal runs and matches it would emit, with the exact quirks of the reference
/// (a hash table whose empty entries read as position 0, a match length that counts the first
/// differing byte).
library FastLz {
    /// @notice The compressed length of the `len` calldata bytes at `input`. One pass with the
    /// scan inlined: a candidate's three bytes are compared as the top bytes of two loads, and a
    /// match 32 bytes a load, its first byte decided without the leading-zero search (the
    /// common short match).
    function compressedLength(uint256 input, uint256 len) internal pure returns (uint256 size) {
        assembly ("memory-safe") {
            // Stores position `v` at the table entry of the three bytes at `i`.
            function set(table, base, i, v) {
                let w := calldataload(add(base, i))
                let seq := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
                let at := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                mstore(at, or(and(mload(at), shr(32, not(0))), shl(224, v)))
            }
            // `s` plus the length of a literal run of `r` bytes: 33 bytes per 32, then the rest
            // and one.
            function literals(r, s) -> out {
                out := add(s, mul(0x21, shr(5, r)))
                let rest := and(r, 31)
                if rest { out := add(out, add(rest, 1)) }
            }
            // The number of leading zero bytes of a non-zero word.
            function leadingZeroBytes(x) -> n {
                if iszero(shr(128, x)) {
                    n := 16
                    x := shl(128, x)
                }
                if iszero(shr(192, x)) {
                    n := add(n, 8)
                    x := shl(64, x)
                }
                if iszero(shr(224, x)) {
                    n := add(n, 4)
                    x := shl(32, x)
                }
                if iszero(shr(240, x)) {
                    n := add(n, 2)
                    x := shl(16, x)
                }
                if iszero(shr(248, x)) { n := add(n, 1) }
            }

            // The table of 8192 u32 positions, four bytes each, big-endian (an empty entry
            // reads as position 0).
            let table := mload(0x40)
            calldatacopy(table, calldatasize(), 32768)
            let idx := 2
            let limit := 0
            if gt(len, 12) { limit := sub(len, 13) }
            let cmpEnd := add(limit, 9)
            let anchor := 0
            for {} lt(idx, limit) {} {
                // Scan from `idx` to a candidate `r` within 8,191 bytes with the same three
                // bytes (the little-endian u24 hashed; equal as the top three bytes of a load).
                let r := 0
                let found := 0
                for {} lt(idx, limit) { idx := add(idx, 1) } {
                    let w := calldataload(add(input, idx))
                    let seq := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
                    let at := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                    let old := mload(at)
                    mstore(at, or(and(old, shr(32, not(0))), shl(224, idx)))
                    r := shr(224, old)
                    if lt(sub(idx, r), 8192) {
                        if eq(shr(232, w), shr(232, calldataload(add(input, r)))) {
                            found := 1
                            break
                        }
                    }
                }
                // No candidate, or one at `limit − 1`: the reference ends without a match.
                if iszero(found) { break }
                if iszero(lt(add(idx, 1), limit)) { break }
                if gt(idx, anchor) { size := literals(sub(idx, anchor), size) }
                // The match's length `l`: the index of the first difference from `idx + 3`
                // plus one, or the bytes up to `limit + 9` if there is none.
                let q := add(idx, 3)
                let rem := sub(cmpEnd, q)
                let p := add(input, add(r, 3))
                let c := add(input, q)
                let l := rem
                for { let k := 0 } lt(k, rem) { k := add(k, 32) } {
                    let x := xor(calldataload(add(p, k)), calldataload(add(c, k)))
                    let take := sub(rem, k)
                    if lt(take, 32) { x := and(x, not(shr(shl(3, take), not(0)))) }
                    if x {
                        l := add(k, 1)
                        if iszero(byte(0, x)) { l := add(l, leadingZeroBytes(x)) }
                        break
                    }
                }
                // 3 bytes per 262 of `l − 1`, then 2 (a remainder below 6) or 3.
                let m := sub(l, 1)
                if gt(m, 261) {
                    size := add(size, mul(3, div(m, 262)))
                    m := mod(m, 262)
                }
                size := add(size, add(2, iszero(lt(m, 6))))
                idx := add(idx, l)
                set(table, input, idx, idx)
                idx := add(idx, 1)
                set(table, input, idx, idx)
                idx := add(idx, 1)
                anchor := idx
            }
            size := literals(sub(len, anchor), size)
        }
    }
}
