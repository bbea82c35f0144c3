// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title A chunk of the ENTRIES range job (fraud-vm/SPEC.md §3.4.1 and §5.9, v0.16; Rust:
/// `range_fact::entries`)
/// @notice Folds an EIP-2930 access list, given by its payload (the items' canonical RLP
/// encodings `rlp([address, [key…]])` one after the other), into the transaction start's
/// entries stack, from its last byte back (the stack is pushed from its bottom): per item the
/// keys' entries `(2 ‖ address, key)` from the last, then `(1 ‖ address, 0)`. The state (224
/// bytes in memory): `root ‖ addresses ‖ keys ‖ pos ‖ itemEnd ‖ keysAt ‖ address`, the job's
/// bytes before `pos` not absorbed yet, an item open while `itemEnd ≠ 0`. Each item the chunk
/// reaches the end of takes the next *hint* `keys << 160 | address`; its head, read when the
/// chunk reaches it, must be exactly the canonical encoding those give (`BadAccessList`). The
/// canonical encoding of a list is determined by its items, so every tiling the chunks accept
/// from the end back to byte 0 is the one a decoder reads forward.
library EntriesChunk {
    /// Bytes of the state.
    uint256 internal constant STATE_LEN = 224;

    /// The bytes before this offset of the job are not what the open item's canonical encoding
    /// holds there, or the chunk ends inside a key or an item's head.
    error BadAccessList(uint256 at);
    /// The chunk's hints are not one per item whose end it reaches.
    error BadHints();

    /// @notice Folds the job's bytes `[lo, pos)`, at `data` in memory (32 readable bytes past
    /// them), into the state at `st`, with the `count` hints at calldata offset `hints`.
    function run(uint256 st, uint256 data, uint256 lo, uint256 hints, uint256 count) internal pure {
        uint256 at;
        assembly ("memory-safe") {
            function push(below, item) -> r {
                let m := mload(0x40)
                mstore8(m, 0x02)
                mstore(add(m, 1), below)
                mstore(add(m, 33), item)
                r := keccak256(m, 65)
            }
            // The canonical list header of a payload of `len` bytes (< 2^32) as a left-aligned
            // word, and its length.
            function listHeader(len) -> w, n {
                if lt(len, 56) {
                    w := shl(248, add(0xc0, len))
                    n := 1
                    leave
                }
                let nb := 1
                for {} gt(len, sub(shl(mul(8, nb), 1), 1)) {} { nb := add(nb, 1) }
                w := or(shl(248, add(0xf7, nb)), shl(sub(248, mul(8, nb)), len))
                n := add(nb, 1)
            }
            // The open item's head (its list header, 0x94 ‖ address, the keys' list header)
            // ending at `end`, checked against the bytes from `start` (byte `i` at `b + i`): where
            // it starts, or `not(0)` if it is not there.
            function head(state, b, start, end) -> a {
                let keysLen := sub(mload(add(state, 128)), mload(add(state, 160)))
                let kw, kn := listHeader(keysLen)
                let iw, inn := listHeader(add(add(21, kn), keysLen))
                let hn := add(add(inn, 21), kn)
                let want := or(iw, shr(mul(8, inn), or(shl(248, 0x94), shl(88, mload(add(state, 192))))))
                want := or(want, shr(mul(8, add(inn, 21)), kw))
                a := not(0)
                if lt(end, add(start, hn)) { leave }
                let from := sub(end, hn)
                if eq(and(mload(add(b, from)), not(sub(shl(sub(256, mul(8, hn)), 1), 1))), want) { a := from }
            }
            let base := sub(data, lo)
            let root := mload(st)
            let pos := mload(add(st, 96))
            let used := 0
            for {} gt(pos, lo) {} {
                let addr := mload(add(st, 192))
                // No item open: the next hint opens the one ending at `pos`.
                if iszero(mload(add(st, 128))) {
                    if eq(used, count) {
                        at := not(0)
                        break
                    }
                    let h := calldataload(add(hints, mul(32, used)))
                    used := add(used, 1)
                    let k := shr(160, h)
                    // 33 · k < pos (so k < pos, no overflow).
                    if or(iszero(lt(k, pos)), iszero(lt(mul(33, k), pos))) {
                        at := pos
                        break
                    }
                    mstore(add(st, 192), and(h, 0xffffffffffffffffffffffffffffffffffffffff))
                    mstore(add(st, 128), pos)
                    mstore(add(st, 160), sub(pos, mul(33, k)))
                    continue
                }
                // A key: 0xa0 ‖ key.
                if gt(pos, mload(add(st, 160))) {
                    let a := sub(pos, 33)
                    if or(lt(a, lo), iszero(eq(byte(0, mload(add(base, a))), 0xa0))) {
                        at := pos
                        break
                    }
                    root := push(root, mload(add(base, add(a, 1))))
                    root := push(root, or(shl(249, 1), addr))
                    mstore(add(st, 64), add(mload(add(st, 64)), 1))
                    pos := a
                    continue
                }
                let a := head(st, base, lo, pos)
                if eq(a, not(0)) {
                    at := pos
                    break
                }
                root := push(root, 0)
                root := push(root, or(shl(248, 1), addr))
                mstore(add(st, 32), add(mload(add(st, 32)), 1))
                pos := a
                mstore(add(st, 128), 0)
                mstore(add(st, 160), 0)
                mstore(add(st, 192), 0)
            }
            if iszero(at) {
                if iszero(eq(used, count)) { at := not(0) }
            }
            // The list ends (byte 0) inside an item.
            if and(iszero(at), and(iszero(pos), iszero(iszero(mload(add(st, 128)))))) { at := 1 }
            mstore(st, root)
            mstore(add(st, 96), pos)
        }
        if (at == type(uint256).max) revert BadHints();
        if (at != 0) revert BadAccessList(at);
    }
}
