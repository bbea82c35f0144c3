// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FastLZ
/// @notice The length FastLZ (level 1) compression would give, without producing the output: the
/// size measure of the Fjord L1 data fee. It must agree with the execution engine byte for byte,
/// since GasPriceOracle.getL1Fee promises what op-revm will charge. The reference is op-revm's
/// `fast_lz::flz_compress_len` (the same algorithm as op-geth's `FlzCompressLen`): a greedy
/// parse with an 8192-entry hash table of 3-byte sequences, matches at distance < 8192, the last
/// 13 bytes always literal. Output size accounting:
///   - a literal run of r bytes costs 33 per full 32 bytes, plus (r mod 32) + 1 for the rest;
///   - a match of length l (as returned by the comparison below) costs 3 per full 262 of (l - 1),
///     plus 3 if (l - 1) mod 262 >= 6, else 2.
library FastLZ {
    /// @notice FastLZ-compressed length of `data`.
    function compressedLength(bytes calldata data) internal pure returns (uint256 size) {
        assembly ("memory-safe") {
            let base := data.offset
            let len := data.length

            // Little-endian 24-bit value of the bytes at i, i+1, i+2 (hashing needs this order).
            function u24(b, i) -> v {
                let w := calldataload(add(b, i))
                v := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
            }

            function hash13(v) -> h {
                h := and(shr(19, mul(v, 2654435769)), 0x1fff)
            }

            // The hash table: 8192 big-endian uint32 entries, 4 bytes each, in free memory.
            function tget(t, h) -> v {
                v := shr(224, mload(add(t, shl(2, h))))
            }

            function tset(t, h, v) {
                let p := add(t, shl(2, h))
                mstore(p, or(shl(224, v), and(mload(p), 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff)))
            }

            function literals(r, s) -> out {
                out := add(s, mul(0x21, div(r, 0x20)))
                let rest := mod(r, 0x20)
                if rest { out := add(out, add(rest, 1)) }
            }

            function matchCost(l, s) -> out {
                l := sub(l, 1)
                out := add(s, mul(3, div(l, 262)))
                switch lt(mod(l, 262), 6)
                case 1 { out := add(out, 2) }
                default { out := add(out, 3) }
            }

            // One more than the index of the first byte where data[p..] and data[q..] differ, or
            // end - q if they agree up to `end`. Compares 32 bytes at a time; bytes read past the
            // data are only looked at beyond `end`, which never exceeds the data length.
            function cmp(b, p, q, end) -> l {
                let bound := sub(end, q)
                l := bound
                for { let i := 0 } lt(i, bound) { i := add(i, 32) } {
                    let x := xor(calldataload(add(b, add(p, i))), calldataload(add(b, add(q, i))))
                    if x {
                        let k := 0
                        for {} iszero(byte(k, x)) { k := add(k, 1) } {}
                        let m := add(i, k)
                        if lt(m, bound) { l := add(m, 1) }
                        break
                    }
                }
            }

            let htab := mload(0x40)
            // Zero the table (copying from past the end of calldata yields zeros); one more word
            // because the last entry's read-modify-write touches it.
            calldatacopy(htab, calldatasize(), 0x8020)

            let idx := 2
            let idxLimit := 0
            if gt(len, 12) { idxLimit := sub(len, 13) }
            let anchor := 0

            for {} lt(idx, idxLimit) {} {
                let r := 0
                // Find the next position whose 3 bytes were seen less than 8192 bytes before.
                for {} 1 {} {
                    let seq := u24(base, idx)
                    let h := hash13(seq)
                    r := tget(htab, h)
                    tset(htab, h, idx)
                    let distance := sub(idx, r)
                    if iszero(lt(idx, idxLimit)) { break }
                    idx := add(idx, 1)
                    if and(lt(distance, 8192), eq(seq, u24(base, r))) { break }
                }
                if iszero(lt(idx, idxLimit)) { break }
                idx := sub(idx, 1)
                if gt(idx, anchor) { size := literals(sub(idx, anchor), size) }
                let l := cmp(base, add(r, 3), add(idx, 3), add(idxLimit, 9))
                size := matchCost(l, size)
                // Hash the two positions at the end of the match, then continue after them.
                idx := add(idx, l)
                tset(htab, hash13(u24(base, idx)), idx)
                idx := add(idx, 1)
                tset(htab, hash13(u24(base, idx)), idx)
                idx := add(idx, 1)
                anchor := idx
            }
            size := literals(sub(len, anchor), size)
        }
    }
}
