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
            // Σ1 and Σ0 of a 32-bit word: its rotations are shifts of the word doubled to 64
            // bits (bits above 32 are left over, and masked where a sum is kept).
            function bs1(x) -> y {
                let xx := mul(x, 0x100000001)
                y := xor(xor(shr(6, xx), shr(11, xx)), shr(25, xx))
            }
            function bs0(x) -> y {
                let xx := mul(x, 0x100000001)
                y := xor(xor(shr(2, xx), shr(13, xx)), shr(22, xx))
            }
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
                // Eight rounds a turn, the roles of the eight words rotating with them: a round
                // adds T1 = h + Σ1(e) + Ch(e, f, g) + K_i + W_i to d and sets h to
                // T1 + Σ0(a) + Maj(a, b, c); the next round reads (h, a, b, c, d, e, f, g).
                for { let i := 0 } lt(i, 2048) { i := add(i, 256) } {
                    {
                        let t1 :=
                            add(
                                add(h, add(mload(add(ws, i)), mload(add(ws, add(i, 2048))))),
                                add(
                                    bs1(e),
                                    xor(and(e, f), and(not(e), g))
                                )
                            )
                        d := and(add(d, t1), 0xffffffff)
                        h :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(a),
                                        xor(and(a, xor(b, c)), and(b, c))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(g, add(mload(add(ws, add(i, 32))), mload(add(ws, add(i, 2080))))),
                                add(
                                    bs1(d),
                                    xor(and(d, e), and(not(d), f))
                                )
                            )
                        c := and(add(c, t1), 0xffffffff)
                        g :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(h),
                                        xor(and(h, xor(a, b)), and(a, b))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(f, add(mload(add(ws, add(i, 64))), mload(add(ws, add(i, 2112))))),
                                add(
                                    bs1(c),
                                    xor(and(c, d), and(not(c), e))
                                )
                            )
                        b := and(add(b, t1), 0xffffffff)
                        f :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(g),
                                        xor(and(g, xor(h, a)), and(h, a))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(e, add(mload(add(ws, add(i, 96))), mload(add(ws, add(i, 2144))))),
                                add(
                                    bs1(b),
                                    xor(and(b, c), and(not(b), d))
                                )
                            )
                        a := and(add(a, t1), 0xffffffff)
                        e :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(f),
                                        xor(and(f, xor(g, h)), and(g, h))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(d, add(mload(add(ws, add(i, 128))), mload(add(ws, add(i, 2176))))),
                                add(
                                    bs1(a),
                                    xor(and(a, b), and(not(a), c))
                                )
                            )
                        h := and(add(h, t1), 0xffffffff)
                        d :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(e),
                                        xor(and(e, xor(f, g)), and(f, g))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(c, add(mload(add(ws, add(i, 160))), mload(add(ws, add(i, 2208))))),
                                add(
                                    bs1(h),
                                    xor(and(h, a), and(not(h), b))
                                )
                            )
                        g := and(add(g, t1), 0xffffffff)
                        c :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(d),
                                        xor(and(d, xor(e, f)), and(e, f))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(b, add(mload(add(ws, add(i, 192))), mload(add(ws, add(i, 2240))))),
                                add(
                                    bs1(g),
                                    xor(and(g, h), and(not(g), a))
                                )
                            )
                        f := and(add(f, t1), 0xffffffff)
                        b :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(c),
                                        xor(and(c, xor(d, e)), and(d, e))
                                    )
                                ),
                                0xffffffff
                            )
                    }
                    {
                        let t1 :=
                            add(
                                add(a, add(mload(add(ws, add(i, 224))), mload(add(ws, add(i, 2272))))),
                                add(
                                    bs1(f),
                                    xor(and(f, g), and(not(f), h))
                                )
                            )
                        e := and(add(e, t1), 0xffffffff)
                        a :=
                            and(
                                add(
                                    t1,
                                    add(
                                        bs0(b),
                                        xor(and(b, xor(c, d)), and(c, d))
                                    )
                                ),
                                0xffffffff
                            )
                    }
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
                    let xx := mul(x, 0x100000001)
                    let s0 := xor(xor(shr(7, xx), shr(18, xx)), shr(3, x))
                    let yy := mul(y, 0x100000001)
                    let s1 := xor(xor(shr(17, yy), shr(19, yy)), shr(10, y))
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
