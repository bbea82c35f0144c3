// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RIPEMD-160 whose state outlives a transaction (fraud-vm/SPEC.md §3.4.1)
/// @notice As `Sha256Blocks`, for the ripemd160 precompile (0x03), which an L1 cannot resume
/// either (and which later forks may drop): each chunk compresses whole 64-byte blocks into the
/// five 32-bit words `h0 … h4`, packed big-endian into the low 160 bits of one word. Message
/// words and the length are little-endian, as the algorithm reads bytes.
library Ripemd160Blocks {
    /// Bytes per compression.
    uint256 internal constant BLOCK = 64;
    /// `h0 … h4` before the first block, packed.
    uint256 internal constant IV = 0x0067452301efcdab8998badcfe10325476c3d2e1f0;

    /// @notice Compresses the `len` bytes (a multiple of 64) at memory pointer `data` into
    /// `state`. Uses 1 KiB of scratch memory past the free memory pointer.
    function compress(uint256 state, uint256 data, uint256 len) internal pure returns (uint256) {
        assembly ("memory-safe") {
            // x: the 16 message words; then, one byte a step, `r << 4 | s` (the message word
            // and the rotation) of the left line's 80 steps, then of the right line's.
            let x := mload(0x40)
            let tables := add(x, 512)
            mstore(tables, 0x0b1e2f3c455867798b9daebfc6d7e9f87746d81dab69f73fc70c9f592be7bd8c)
            mstore(add(tables, 32), 0x3bade6479ef98d1f2e780d66d5bc57c51b9cbeaf0e8fc948d93e75f6e856652c)
            mstore(add(tables, 64), 0x490f559b76c82dace51c3d8ebb68f5d658e9790b9d2fbf45d767f88b1eae3cc6)
            mstore(add(tables, 96), 0x69bd3f770cd859abe7f78cc7469f1d2bf9571f3b78e6669ebc8dc52ead0d47d5)
            mstore(add(tables, 128), 0x8f65481b3ebef60e56c92cd99c75afe8c8f5ac491c558e76682dd6e50f3d9bbb)

            // One line of 80 steps from `lh` (packed), in five loops of 16 (each with its
            // function and constant; the right line takes them in reverse order and reads its
            // own table). Returns A … E.
            function leftLine(lx, lh) -> la, lb, lc, ld, le {
                la := and(shr(128, lh), 0xffffffff)
                lb := and(shr(96, lh), 0xffffffff)
                lc := and(shr(64, lh), 0xffffffff)
                ld := and(shr(32, lh), 0xffffffff)
                le := and(lh, 0xffffffff)
                let ltbl := add(lx, 512)
                for { let lj := 0 } lt(lj, 16) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, xor(xor(lb, lc), ld)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 16 } lt(lj, 32) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(or(and(lb, lc), and(not(lb), ld)), 0x5a827999)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 32 } lt(lj, 48) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(xor(or(lb, not(lc)), ld), 0x6ed9eba1)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 48 } lt(lj, 64) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(or(and(lb, ld), and(lc, not(ld))), 0x8f1bbcdc)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 64 } lt(lj, 80) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(xor(lb, or(lc, not(ld))), 0xa953fd4e)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
            }

            function rightLine(lx, lh) -> la, lb, lc, ld, le {
                la := and(shr(128, lh), 0xffffffff)
                lb := and(shr(96, lh), 0xffffffff)
                lc := and(shr(64, lh), 0xffffffff)
                ld := and(shr(32, lh), 0xffffffff)
                le := and(lh, 0xffffffff)
                let ltbl := add(lx, 592)
                for { let lj := 0 } lt(lj, 16) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(xor(lb, or(lc, not(ld))), 0x50a28be6)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 16 } lt(lj, 32) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(or(and(lb, ld), and(lc, not(ld))), 0x5c4dd124)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 32 } lt(lj, 48) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(xor(or(lb, not(lc)), ld), 0x6d703ef3)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 48 } lt(lj, 64) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, add(or(and(lb, lc), and(not(lb), ld)), 0x7a6d76e9)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
                for { let lj := 64 } lt(lj, 80) { lj := add(lj, 1) } {
                    let lrs := byte(0, mload(add(ltbl, lj)))
                    let lv := and(add(add(la, xor(xor(lb, lc), ld)), mload(add(lx, shl(5, shr(4, lrs))))), 0xffffffff)
                    la := le
                    le := ld
                    ld := and(or(shl(10, lc), shr(22, lc)), 0xffffffff)
                    lc := lb
                    lrs := and(lrs, 15)
                    lb := and(add(or(shl(lrs, lv), shr(sub(32, lrs), lv)), la), 0xffffffff)
                }
            }

            for { let end := add(data, len) } lt(data, end) { data := add(data, 64) } {
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                    let v := shr(224, mload(add(data, shl(2, i))))
                    v := or(or(shl(24, and(v, 0xff)), shl(8, and(v, 0xff00))), or(shr(8, and(v, 0xff0000)), shr(24, v)))
                    mstore(add(x, shl(5, i)), v)
                }
                let a, b, c, d, e := leftLine(x, state)
                // Keep the left line's words while the right line runs.
                let keep := add(x, 672)
                mstore(keep, a)
                mstore(add(keep, 32), b)
                mstore(add(keep, 64), c)
                mstore(add(keep, 96), d)
                mstore(add(keep, 128), e)
                a, b, c, d, e := rightLine(x, state)
                // h0' = h1 + C + D', h1' = h2 + D + E', h2' = h3 + E + A', h3' = h4 + A + B',
                // h4' = h0 + B + C'.
                let h0 := and(add(add(and(shr(96, state), 0xffffffff), mload(add(keep, 64))), d), 0xffffffff)
                let h1 := and(add(add(and(shr(64, state), 0xffffffff), mload(add(keep, 96))), e), 0xffffffff)
                let h2 := and(add(add(and(shr(32, state), 0xffffffff), mload(add(keep, 128))), a), 0xffffffff)
                let h3 := and(add(add(and(state, 0xffffffff), mload(keep)), b), 0xffffffff)
                let h4 := and(add(add(and(shr(128, state), 0xffffffff), mload(add(keep, 32))), c), 0xffffffff)
                state := or(or(shl(128, h0), shl(96, h1)), or(or(shl(64, h2), shl(32, h3)), h4))
            }
        }
        return state;
    }

    /// @notice Pads the last `n < 64` bytes at `data` (zero past them) for a message of `total`
    /// bytes: 0x80, zeros, the bit length as a little-endian u64; returns the padded length (64
    /// or 128). The 128 bytes from `data` must be writable.
    function pad(uint256 data, uint256 n, uint256 total) internal pure returns (uint256 end) {
        end = n < 56 ? 64 : 128;
        uint256 bits = total << 3;
        uint256 le;
        for (uint256 i; i < 8; ++i) {
            le |= ((bits >> (8 * i)) & 0xff) << (8 * (7 - i));
        }
        assembly ("memory-safe") {
            mstore8(add(data, n), 0x80)
            let at := add(data, sub(end, 32))
            mstore(at, or(mload(at), le))
        }
    }

    /// @notice The digest of the packed `state`: `h0 … h4` as little-endian bytes, the 20 bytes
    /// in the word's low bytes (the precompile's output, left-padded).
    function digest(uint256 state) internal pure returns (bytes32 out) {
        for (uint256 i; i < 5; ++i) {
            uint256 v = (state >> (32 * (4 - i))) & 0xffffffff;
            v = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | (v >> 24);
            out |= bytes32(v << (32 * (4 - i)));
        }
    }
}
