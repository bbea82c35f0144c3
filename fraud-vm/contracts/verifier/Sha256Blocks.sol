// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SHA-256 whose state outlives a transaction (fraud-vm/SPEC.md §3.4.1, FIPS 180-4)
/// @notice The range oracle hashes a long precompile input over many L1 transactions. The L1's
/// own sha256 precompile cannot resume from a midstream state, so the compression runs here in
/// EVM code: each chunk compresses whole 64-byte blocks into the eight 32-bit words `H0 … H7`,
/// packed big-endian into one word (which the oracle stores between transactions, and which is
/// the digest once the last block, padded, is in).
library Sha256Blocks {
    /// Bytes per compression.
    uint256 internal constant BLOCK = 64;
    /// `H0 … H7` before the first block, packed.
    uint256 internal constant IV = 0x6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19;

    /// @notice Compresses the `len` bytes (a multiple of 64) at memory pointer `data` into
    /// `state`. Uses 4 KiB of scratch memory past the free memory pointer.
    function compress(uint256 state, uint256 data, uint256 len) internal pure returns (uint256) {
        assembly ("memory-safe") {
            // w: the 64 schedule words, then the 64 round constants.
            let w := mload(0x40)
            function fill8(dst, word) {
                for { let j := 0 } lt(j, 8) { j := add(j, 1) } {
                    mstore(add(dst, shl(5, j)), and(shr(sub(224, shl(5, j)), word), 0xffffffff))
                }
            }
            fill8(add(w, 2048), 0x428a2f9871374491b5c0fbcfe9b5dba53956c25b59f111f1923f82a4ab1c5ed5)
            fill8(add(w, 2304), 0xd807aa9812835b01243185be550c7dc372be5d7480deb1fe9bdc06a7c19bf174)
            fill8(add(w, 2560), 0xe49b69c1efbe47860fc19dc6240ca1cc2de92c6f4a7484aa5cb0a9dc76f988da)
            fill8(add(w, 2816), 0x983e5152a831c66db00327c8bf597fc7c6e00bf3d5a7914706ca635114292967)
            fill8(add(w, 3072), 0x27b70a852e1b21384d2c6dfc53380d13650a7354766a0abb81c2c92e92722c85)
            fill8(add(w, 3328), 0xa2bfe8a1a81a664bc24b8b70c76c51a3d192e819d6990624f40e3585106aa070)
            fill8(add(w, 3584), 0x19a4c1161e376c082748774c34b0bcb5391c0cb34ed8aa4a5b9cca4f682e6ff3)
            fill8(add(w, 3840), 0x748f82ee78a5636f84c878148cc7020890befffaa4506cebbef9a3f7c67178f2)
            // The 64 rounds on the schedule (and constants) at `ws` from the state `st`, added
            // to it: the state after the block.
            function rounds(ws, st) -> out {
                let a := shr(224, st)
                let b := and(shr(192, st), 0xffffffff)
                let c := and(shr(160, st), 0xffffffff)
                let d := and(shr(128, st), 0xffffffff)
                let e := and(shr(96, st), 0xffffffff)
                let f := and(shr(64, st), 0xffffffff)
                let g := and(shr(32, st), 0xffffffff)
                let h := and(st, 0xffffffff)
                for { let i := 0 } lt(i, 2048) { i := add(i, 32) } {
                    // T1 = h + Σ1(e) + Ch(e, f, g) + K_i + W_i; a' = T1 + Σ0(a) + Maj(a, b, c),
                    // computed after the shift (from b, c, d).
                    let t1 :=
                        add(
                            add(h, add(mload(add(ws, i)), mload(add(ws, add(i, 2048))))),
                            add(
                                xor(
                                    xor(or(shr(6, e), shl(26, e)), or(shr(11, e), shl(21, e))),
                                    or(shr(25, e), shl(7, e))
                                ),
                                xor(and(e, f), and(not(e), g))
                            )
                        )
                    h := g
                    g := f
                    f := e
                    e := and(add(d, t1), 0xffffffff)
                    d := c
                    c := b
                    b := a
                    a :=
                        and(
                            add(
                                t1,
                                add(
                                    xor(
                                        xor(or(shr(2, b), shl(30, b)), or(shr(13, b), shl(19, b))),
                                        or(shr(22, b), shl(10, b))
                                    ),
                                    xor(and(b, xor(c, d)), and(c, d))
                                )
                            ),
                            0xffffffff
                        )
            }
                out :=
                    or(
                        or(
                            or(shl(224, and(add(shr(224, st), a), 0xffffffff)), shl(192, and(add(shr(192, st), b), 0xffffffff))),
                            or(shl(160, and(add(shr(160, st), c), 0xffffffff)), shl(128, and(add(shr(128, st), d), 0xffffffff)))
                        ),
                        or(
                            or(shl(96, and(add(shr(96, st), e), 0xffffffff)), shl(64, and(add(shr(64, st), f), 0xffffffff))),
                            or(shl(32, and(add(shr(32, st), g), 0xffffffff)), and(add(st, h), 0xffffffff))
                        )
                    )
            }

            for {} len { len := sub(len, 64) } {
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                    mstore(add(w, shl(5, i)), shr(224, mload(add(data, shl(2, i)))))
                }
                // σ0, σ1 of the schedule. Bits above 32 of the rotations' halves do not reach
                // the low 32 bits of a sum, so only the stored word is masked.
                for { let i := 512 } lt(i, 2048) { i := add(i, 32) } {
                    let x := mload(add(w, sub(i, 480)))
                    let y := mload(add(w, sub(i, 64)))
                    let s0 := xor(xor(or(shr(7, x), shl(25, x)), or(shr(18, x), shl(14, x))), shr(3, x))
                    let s1 := xor(xor(or(shr(17, y), shl(15, y)), or(shr(19, y), shl(13, y))), shr(10, y))
                    mstore(
                        add(w, i),
                        and(add(add(mload(add(w, sub(i, 512))), s0), add(mload(add(w, sub(i, 224))), s1)), 0xffffffff)
                    )
                }
                state := rounds(w, state)
                data := add(data, 64)
            }
        }
        return state;
    }

    /// @notice Pads the last `n < 64` bytes at `data` (zero past them) for a message of `total`
    /// bytes: 0x80, zeros, the bit length as a big-endian u64; returns the padded length (64 or
    /// 128). The 128 bytes from `data` must be writable.
    function pad(uint256 data, uint256 n, uint256 total) internal pure returns (uint256 end) {
        end = n < 56 ? 64 : 128;
        assembly ("memory-safe") {
            mstore8(add(data, n), 0x80)
            let at := add(data, sub(end, 32))
            mstore(at, or(mload(at), shl(3, total)))
        }
    }
}
