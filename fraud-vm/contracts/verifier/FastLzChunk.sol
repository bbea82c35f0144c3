// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FastLZ level 1 in chunks: the `FLZ` range job's work (fraud-vm/SPEC.md §3.4.1 v0.11;
/// Rust: `range_fact::flz`)
/// @notice The greedy process of `FastLz.compressedLength` cut at any position, its state in
/// memory between the cuts: six words (`idx`, `anchor`, `size`, `matching`, `from`,
/// `compared`) then the hash table (8,192 big-endian u32 entries), `STATE_LEN` bytes in all, the
/// encoding the oracle hashes. A chunk runs every step whose position is below its end: a scan
/// step at `idx`, or a compare step at a byte `c ≥ idx + 3` of the match in progress (positions
/// never decrease). Its steps read the job's bytes from 8,191 before its first position
/// (the farthest match) to two past its last.
library FastLzChunk {
    /// Bytes of the encoded state.
    uint256 internal constant STATE_LEN = 32_960;
    /// Bytes before a chunk's first position that its steps may read.
    uint256 internal constant BACK = 8_191;
    /// Bytes after a chunk's last position that its steps may read.
    uint256 internal constant AHEAD = 2;

    /// @notice Writes the state before the first chunk at `st` (zeroed memory): scanning from
    /// position 2, an empty table.
    function init(uint256 st) internal pure {
        assembly ("memory-safe") {
            mstore(st, 2)
        }
    }

    /// @notice Runs every step of the process over a job of `len` bytes whose position is below
    /// `end`, from the state at `st`; byte `i` of the job is at `zeroAt + i` (modulo 2^256: the
    /// chunk's window, zero past it, lies at `zeroAt + lo`). The state's words live on the stack
    /// while the steps run and are written back once; a match compares 32 bytes a load, its
    /// first byte decided without the leading-zero search (the common short match).
    function run(uint256 st, uint256 zeroAt, uint256 end, uint256 len) internal pure {
        assembly ("memory-safe") {
            // Stores position `v` at the table entry of the three bytes at `i`.
            function set(table, base, i, v) {
                let w := mload(add(base, i))
                let seq := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
                let at := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                mstore(at, or(and(mload(at), shr(32, not(0))), shl(224, v)))
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

            let base := zeroAt
            let table := add(st, 192)
            let idx := mload(st)
            let anchor := mload(add(st, 0x20))
            let size := mload(add(st, 0x40))
            let matching := mload(add(st, 0x60))
            let from := mload(add(st, 0x80))
            let compared := mload(add(st, 0xa0))
            let limit := 0
            if gt(len, 12) { limit := sub(len, 13) }
            // A match compares up to `cmpEnd`, and within this chunk up to `bound`; scan steps
            // run below `scanEnd`.
            let cmpEnd := add(limit, 9)
            let bound := cmpEnd
            if lt(end, bound) { bound := end }
            let scanEnd := limit
            if lt(end, scanEnd) { scanEnd := end }
            for {} 1 {} {
                if matching {
                    // The compare steps of the match in progress at `idx` (source `from`, the
                    // `compared` bytes from `idx + 3` found equal before).
                    let q := add(idx, 3)
                    let cur := add(q, compared)
                    // Its next compare step lies in a later chunk.
                    if iszero(lt(cur, bound)) { break }
                    let p := add(add(base, add(from, 3)), compared)
                    let c := add(base, cur)
                    let rem := sub(bound, cur)
                    // `k`: the index of the first difference before `rem`, if `differs`.
                    let k := 0
                    let differs := 0
                    for {} lt(k, rem) { k := add(k, 32) } {
                        let x := xor(mload(add(p, k)), mload(add(c, k)))
                        let take := sub(rem, k)
                        if lt(take, 32) { x := and(x, not(shr(shl(3, take), not(0)))) }
                        if x {
                            if iszero(byte(0, x)) { k := add(k, leadingZeroBytes(x)) }
                            differs := 1
                            break
                        }
                    }
                    let l := add(add(compared, k), 1)
                    if iszero(differs) {
                        // No difference before `bound`: the match goes on in the next chunk,
                        // unless `bound` is the compare bound.
                        if lt(bound, cmpEnd) {
                            compared := sub(bound, q)
                            break
                        }
                        l := sub(cmpEnd, q)
                    }
                    // The match of length `l`: 3 bytes per 262, then 2 (a remainder below 6)
                    // or 3.
                    let m := sub(l, 1)
                    if gt(m, 261) {
                        size := add(size, mul(3, div(m, 262)))
                        m := mod(m, 262)
                    }
                    size := add(size, add(2, iszero(lt(m, 6))))
                    idx := add(idx, l)
                    set(table, base, idx, idx)
                    idx := add(idx, 1)
                    set(table, base, idx, idx)
                    idx := add(idx, 1)
                    anchor := idx
                    from := 0
                    compared := 0
                    matching := 0
                }
                // Scan steps from `idx` to a candidate `r`, or to `scanEnd`.
                let r := 0
                for {} lt(idx, scanEnd) { idx := add(idx, 1) } {
                    let w := mload(add(base, idx))
                    let seq := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
                    let at := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                    let old := mload(at)
                    mstore(at, or(and(old, shr(32, not(0))), shl(224, idx)))
                    r := shr(224, old)
                    if lt(sub(idx, r), 8192) {
                        if eq(shr(232, w), shr(232, mload(add(base, r)))) {
                            matching := 1
                            break
                        }
                    }
                }
                if iszero(matching) { break }
                if iszero(lt(add(idx, 1), limit)) {
                    // The reference ends here without emitting the match.
                    matching := 0
                    idx := add(idx, 1)
                    break
                }
                from := r
                if gt(idx, anchor) {
                    // The literal run `[anchor, idx)`: 33 bytes per 32, then the rest and one.
                    let lit := sub(idx, anchor)
                    size := add(size, mul(0x21, shr(5, lit)))
                    let rest := and(lit, 31)
                    if rest { size := add(size, add(rest, 1)) }
                }
            }
            mstore(st, idx)
            mstore(add(st, 0x20), anchor)
            mstore(add(st, 0x40), size)
            mstore(add(st, 0x60), matching)
            mstore(add(st, 0x80), from)
            mstore(add(st, 0xa0), compared)
        }
    }

    /// @notice The compressed length of a job of `len` bytes once every step ran (the state at
    /// `st`): the last literal run added.
    function length(uint256 st, uint256 len) internal pure returns (uint256 size) {
        assembly ("memory-safe") {
            let r := sub(len, mload(add(st, 0x20)))
            size := add(mload(add(st, 0x40)), mul(0x21, div(r, 0x20)))
            let rest := mod(r, 0x20)
            if rest { size := add(size, add(rest, 1)) }
        }
    }
}
