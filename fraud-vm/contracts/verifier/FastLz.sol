// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FastLZ level 1 compressed length (fraud-vm/SPEC.md §5.9, the OP Stack's Fjord L1
/// data fee; Rust: op-revm's `flz_compress_len`, which `estimate_tx_compressed_size` uses)
/// @notice The length of the bytes FastLZ level 1 would write for an input, without writing
/// them: the literal runs and matches it would emit, with the exact quirks of the reference
/// (a hash table whose empty entries read as position 0, a match length that counts the first
/// differing byte).
library FastLz {
    /// @notice The compressed length of the `len` calldata bytes at `input`.
    function compressedLength(uint256 input, uint256 len) internal pure returns (uint256 size) {
        assembly ("memory-safe") {
            // Byte `i` of the input as a little-endian 24-bit number with the next two.
            function u24(base, i) -> v {
                let w := calldataload(add(base, i))
                v := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
            }
            function hash(v) -> h {
                h := and(shr(19, mul(v, 2654435769)), 0x1fff)
            }
            // The table of 8192 u32 positions, four bytes each.
            function get(table, h) -> v {
                v := shr(224, mload(add(table, shl(2, h))))
            }
            function set(table, h, v) {
                let at := add(table, shl(2, h))
                mstore(at, or(and(mload(at), shr(32, not(0))), shl(224, v)))
            }
            function literals(r, s) -> out {
                out := add(s, mul(0x21, div(r, 0x20)))
                let rest := mod(r, 0x20)
                if rest { out := add(out, add(rest, 1)) }
            }
            function emitMatch(l, s) -> out {
                l := sub(l, 1)
                out := add(s, mul(3, div(l, 262)))
                switch lt(mod(l, 262), 6)
                case 1 { out := add(out, 2) }
                default { out := add(out, 3) }
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
            // Bytes compared from p and q until r (q < r): the index of the first difference
            // plus one, or r − q when there is none.
            function compare(base, p, q, r) -> l {
                let rem := sub(r, q)
                for {} lt(l, rem) {} {
                    let x := xor(calldataload(add(base, add(p, l))), calldataload(add(base, add(q, l))))
                    let take := sub(rem, l)
                    if gt(take, 32) { take := 32 }
                    if lt(take, 32) { x := and(x, not(shr(shl(3, take), not(0)))) }
                    if x {
                        l := add(l, add(leadingZeroBytes(x), 1))
                        leave
                    }
                    l := add(l, take)
                }
            }

            let table := mload(0x40)
            calldatacopy(table, calldatasize(), 32768)
            let idx := 2
            let limit := 0
            if gt(len, 12) { limit := sub(len, 13) }
            let anchor := 0
            for {} lt(idx, limit) {} {
                let r := 0
                for {} 1 {} {
                    let seq := u24(input, idx)
                    let h := hash(seq)
                    r := get(table, h)
                    set(table, h, idx)
                    let distance := sub(idx, r)
                    if iszero(lt(idx, limit)) { break }
                    idx := add(idx, 1)
                    if and(lt(distance, 8192), eq(seq, u24(input, r))) { break }
                }
                if iszero(lt(idx, limit)) { break }
                idx := sub(idx, 1)
                if gt(idx, anchor) { size := literals(sub(idx, anchor), size) }
                let l := compare(input, add(r, 3), add(idx, 3), add(limit, 9))
                size := emitMatch(l, size)
                idx := add(idx, l)
                set(table, hash(u24(input, idx)), idx)
                idx := add(idx, 1)
                set(table, hash(u24(input, idx)), idx)
                idx := add(idx, 1)
                anchor := idx
            }
            size := literals(sub(len, anchor), size)
        }
    }
}
