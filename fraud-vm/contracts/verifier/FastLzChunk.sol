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
    /// chunk's window, zero past it, lies at `zeroAt + lo`).
    function run(uint256 st, uint256 zeroAt, uint256 end, uint256 len) internal pure {
        assembly ("memory-safe") {
            // The three bytes at `i`, little-endian (the hash's input).
            function u24(base, i) -> v {
                let w := mload(add(base, i))
                v := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
            }
            function hash(v) -> h {
                h := and(shr(19, mul(v, 2654435769)), 0x1fff)
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
            // The index of the first difference between the bytes from p and from q, before
            // `bound − q` bytes; `bound − q` if there is none.
            function firstDiff(base, p, q, bound) -> k {
                let rem := sub(bound, q)
                for {} lt(k, rem) {} {
                    let x := xor(mload(add(base, add(p, k))), mload(add(base, add(q, k))))
                    let take := sub(rem, k)
                    if gt(take, 32) { take := 32 }
                    if lt(take, 32) { x := and(x, not(shr(shl(3, take), not(0)))) }
                    if x {
                        k := add(k, leadingZeroBytes(x))
                        leave
                    }
                    k := add(k, take)
                }
            }

            // The match in progress at `idx` (source and bytes found equal in the state's
            // words), compared up to `end`: whether it ended, and the next scan position if so.
            function matchPhase(state, base, idx, stopAt, limit) -> next, ended {
                let table := add(state, 192)
                let q := add(idx, 3)
                let cmpEnd := add(limit, 9)
                let bound := cmpEnd
                if lt(stopAt, bound) { bound := stopAt }
                let compared := mload(add(state, 0xa0))
                let cur := add(q, compared)
                next := idx
                if iszero(lt(cur, bound)) { leave }
                let k := firstDiff(base, add(add(mload(add(state, 0x80)), 3), compared), cur, bound)
                let l := add(add(compared, k), 1)
                if eq(k, sub(bound, cur)) {
                    // No difference before `bound`: the match goes on in the next chunk, unless
                    // `bound` is the compare bound.
                    if lt(bound, cmpEnd) {
                        mstore(add(state, 0xa0), sub(bound, q))
                        leave
                    }
                    l := sub(cmpEnd, q)
                }
                mstore(add(state, 0x40), emitMatch(l, mload(add(state, 0x40))))
                next := add(idx, l)
                set(table, hash(u24(base, next)), next)
                next := add(next, 1)
                set(table, hash(u24(base, next)), next)
                next := add(next, 1)
                mstore(add(state, 0x20), next)
                mstore(add(state, 0x80), 0)
                mstore(add(state, 0xa0), 0)
                ended := 1
            }
            // Scan steps from `idx` to a candidate (its position and source), or to `scanEnd`.
            function scan(base, state, idx, scanEnd) -> next, from, found {
                let table := add(state, 192)
                for {} lt(idx, scanEnd) { idx := add(idx, 1) } {
                    let w := mload(add(base, idx))
                    let seq := or(or(byte(0, w), shl(8, byte(1, w))), shl(16, byte(2, w)))
                    let at := add(table, shl(2, and(shr(19, mul(seq, 2654435769)), 0x1fff)))
                    let old := mload(at)
                    mstore(at, or(and(old, shr(32, not(0))), shl(224, idx)))
                    let r := shr(224, old)
                    if lt(sub(idx, r), 8192) {
                        if eq(shr(232, w), shr(232, mload(add(base, r)))) {
                            from := r
                            found := 1
                            break
                        }
                    }
                }
                next := idx
            }

            let idx := mload(st)
            let matching := mload(add(st, 0x60))
            let limit := 0
            if gt(len, 12) { limit := sub(len, 13) }
            for {} 1 {} {
                if matching {
                    let ended := 0
                    idx, ended := matchPhase(st, zeroAt, idx, end, limit)
                    if iszero(ended) { break }
                    matching := 0
                }
                let scanEnd := limit
                if lt(end, scanEnd) { scanEnd := end }
                let from := 0
                idx, from, matching := scan(zeroAt, st, idx, scanEnd)
                if iszero(matching) { break }
                if iszero(lt(add(idx, 1), limit)) {
                    // The reference ends here without emitting the match.
                    matching := 0
                    idx := add(idx, 1)
                    break
                }
                mstore(add(st, 0x80), from)
                let anchor := mload(add(st, 0x20))
                if gt(idx, anchor) { mstore(add(st, 0x40), literals(sub(idx, anchor), mload(add(st, 0x40)))) }
            }
            mstore(st, idx)
            mstore(add(st, 0x60), matching)
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
