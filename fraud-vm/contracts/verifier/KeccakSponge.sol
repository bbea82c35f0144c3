// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Keccak-256 as a sponge whose state outlives a transaction (fraud-vm/SPEC.md §3.4.1)
/// @notice The range oracle hashes a long range over many L1 transactions: each absorbs whole
/// 136-byte blocks into a 25-lane state kept in memory as 25 words at `STATE` (lane `x + 5y` at
/// word `x + 5y`, each a u64), which the oracle stores between transactions; the last pads
/// (Keccak's `pad10*1` with the domain byte 0x01) and squeezes the 32-byte digest.
library KeccakSponge {
    /// The rate: bytes absorbed per permutation.
    uint256 internal constant RATE = 136;

    /// Where the 25 lanes live in memory (lane `x + 5y` at word `x + 5y`): fixed addresses, so
    /// that the permutation reads and writes each lane with one PUSH and one MLOAD or MSTORE.
    uint256 internal constant STATE = 0x80;
    /// The end of the memory the sponge uses: the lanes, as many words of scratch (the state
    /// after every even round), then θ's five D words (in memory: on the stack, with the five
    /// lanes of a plane, they are too deep for the legacy code generator).
    uint256 internal constant END = 0x760;

    /// @notice Reserves the sponge's memory `[STATE, END)`: called before anything else is
    /// allocated (the free memory pointer still at `STATE`, as at the entry of an external
    /// function whose arguments are calldata; reverts otherwise).
    function reserve() internal pure {
        assembly ("memory-safe") {
            if iszero(eq(mload(0x40), 0x80)) { revert(0, 0) }
            mstore(0x40, 0x760)
        }
    }

    /// @notice Keccak-f[1600] on the 25 lanes at `STATE`. Each round reads one buffer and writes
    /// the other (θ's column parities from memory; then per output plane, the five lanes that
    /// ρ and π bring there, on the stack, and χ), so a loop iteration runs two rounds. A
    /// rotation by `r` is `(x | x << 64) << (128 + r) >> 192` (which the optimizer turns into a
    /// shift and a 64-bit mask).
    function permute() internal pure {
        assembly ("memory-safe") {
            // Round constant `i` of the 24, four to a word.
            function roundConstant(i) -> rc {
                let word := 0x00000000000000010000000000008082800000000000808a8000000080008000
                switch shr(2, i)
                case 1 { word := 0x000000000000808b000000008000000180000000800080818000000000008009 }
                case 2 { word := 0x000000000000008a00000000000000880000000080008009000000008000000a }
                case 3 { word := 0x000000008000808b800000000000008b80000000000080898000000000008003 }
                case 4 { word := 0x80000000000080028000000000000080000000000000800a800000008000000a }
                case 5 { word := 0x8000000080008081800000000000808000000000800000018000000080008008 }
                rc := and(shr(shl(6, sub(3, and(i, 3))), word), 0xffffffffffffffff)
            }
            // θ: D[x] = C[x − 1] ^ rotl(C[x + 1], 1) from the column parities C; then
            // B[y + 5((2x + 3y) mod 5)] = rotl(A[x + 5y] ^ D[x], r[x + 5y]) (ρ and π), one
            // output plane at a time; χ: A'[x, y] = B[x, y] ^ (¬B[x + 1, y] & B[x + 2, y]);
            // ι: the round's constant into lane (0, 0).
            //
            // χ on one plane `b0..b4` of B, into the five words from `t`.
            function chi(t, b0, b1, b2, b3, b4) {
                mstore(t, xor(b0, and(not(b1), b2)))
                mstore(add(t, 0x20), xor(b1, and(not(b2), b3)))
                mstore(add(t, 0x40), xor(b2, and(not(b3), b4)))
                mstore(add(t, 0x60), xor(b3, and(not(b4), b0)))
                mstore(add(t, 0x80), xor(b4, and(not(b0), b1)))
            }
            for { let round := 0 } lt(round, 24) { round := add(round, 2) } {
                {
                    {
                    let c0 := xor(xor(xor(mload(0x80), mload(0x120)), xor(mload(0x1c0), mload(0x260))), mload(0x300))
                    let c1 := xor(xor(xor(mload(0xa0), mload(0x140)), xor(mload(0x1e0), mload(0x280))), mload(0x320))
                    let c2 := xor(xor(xor(mload(0xc0), mload(0x160)), xor(mload(0x200), mload(0x2a0))), mload(0x340))
                    let c3 := xor(xor(xor(mload(0xe0), mload(0x180)), xor(mload(0x220), mload(0x2c0))), mload(0x360))
                    let c4 := xor(xor(xor(mload(0x100), mload(0x1a0)), xor(mload(0x240), mload(0x2e0))), mload(0x380))
                    mstore(0x6c0, xor(c4, shr(192, shl(129, or(c1, shl(64, c1))))))
                    mstore(0x6e0, xor(c0, shr(192, shl(129, or(c2, shl(64, c2))))))
                    mstore(0x700, xor(c1, shr(192, shl(129, or(c3, shl(64, c3))))))
                    mstore(0x720, xor(c2, shr(192, shl(129, or(c4, shl(64, c4))))))
                    mstore(0x740, xor(c3, shr(192, shl(129, or(c0, shl(64, c0))))))
                    }
                    {
                        let b0 := xor(mload(0x80), mload(0x6c0))
                        let t1 := xor(mload(0x140), mload(0x6e0))
                        let b1 := shr(192, shl(172, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x200), mload(0x700))
                        let b2 := shr(192, shl(171, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x2c0), mload(0x720))
                        let b3 := shr(192, shl(149, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x380), mload(0x740))
                        let b4 := shr(192, shl(142, or(t4, shl(64, t4))))
                        chi(0x3a0, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0xe0), mload(0x720))
                        let b0 := shr(192, shl(156, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x1a0), mload(0x740))
                        let b1 := shr(192, shl(148, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x1c0), mload(0x6c0))
                        let b2 := shr(192, shl(131, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x280), mload(0x6e0))
                        let b3 := shr(192, shl(173, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x340), mload(0x700))
                        let b4 := shr(192, shl(189, or(t4, shl(64, t4))))
                        chi(0x440, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0xa0), mload(0x6e0))
                        let b0 := shr(192, shl(129, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x160), mload(0x700))
                        let b1 := shr(192, shl(134, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x220), mload(0x720))
                        let b2 := shr(192, shl(153, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x2e0), mload(0x740))
                        let b3 := shr(192, shl(136, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x300), mload(0x6c0))
                        let b4 := shr(192, shl(146, or(t4, shl(64, t4))))
                        chi(0x4e0, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0x100), mload(0x740))
                        let b0 := shr(192, shl(155, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x120), mload(0x6c0))
                        let b1 := shr(192, shl(164, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x1e0), mload(0x6e0))
                        let b2 := shr(192, shl(138, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x2a0), mload(0x700))
                        let b3 := shr(192, shl(143, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x360), mload(0x720))
                        let b4 := shr(192, shl(184, or(t4, shl(64, t4))))
                        chi(0x580, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0xc0), mload(0x700))
                        let b0 := shr(192, shl(190, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x180), mload(0x720))
                        let b1 := shr(192, shl(183, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x240), mload(0x740))
                        let b2 := shr(192, shl(167, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x260), mload(0x6c0))
                        let b3 := shr(192, shl(169, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x320), mload(0x6e0))
                        let b4 := shr(192, shl(130, or(t4, shl(64, t4))))
                        chi(0x620, b0, b1, b2, b3, b4)
                    }
                }
                mstore(0x3a0, xor(mload(0x3a0), roundConstant(round)))
                {
                    {
                    let c0 := xor(xor(xor(mload(0x3a0), mload(0x440)), xor(mload(0x4e0), mload(0x580))), mload(0x620))
                    let c1 := xor(xor(xor(mload(0x3c0), mload(0x460)), xor(mload(0x500), mload(0x5a0))), mload(0x640))
                    let c2 := xor(xor(xor(mload(0x3e0), mload(0x480)), xor(mload(0x520), mload(0x5c0))), mload(0x660))
                    let c3 := xor(xor(xor(mload(0x400), mload(0x4a0)), xor(mload(0x540), mload(0x5e0))), mload(0x680))
                    let c4 := xor(xor(xor(mload(0x420), mload(0x4c0)), xor(mload(0x560), mload(0x600))), mload(0x6a0))
                    mstore(0x6c0, xor(c4, shr(192, shl(129, or(c1, shl(64, c1))))))
                    mstore(0x6e0, xor(c0, shr(192, shl(129, or(c2, shl(64, c2))))))
                    mstore(0x700, xor(c1, shr(192, shl(129, or(c3, shl(64, c3))))))
                    mstore(0x720, xor(c2, shr(192, shl(129, or(c4, shl(64, c4))))))
                    mstore(0x740, xor(c3, shr(192, shl(129, or(c0, shl(64, c0))))))
                    }
                    {
                        let b0 := xor(mload(0x3a0), mload(0x6c0))
                        let t1 := xor(mload(0x460), mload(0x6e0))
                        let b1 := shr(192, shl(172, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x520), mload(0x700))
                        let b2 := shr(192, shl(171, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x5e0), mload(0x720))
                        let b3 := shr(192, shl(149, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x6a0), mload(0x740))
                        let b4 := shr(192, shl(142, or(t4, shl(64, t4))))
                        chi(0x80, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0x400), mload(0x720))
                        let b0 := shr(192, shl(156, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x4c0), mload(0x740))
                        let b1 := shr(192, shl(148, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x4e0), mload(0x6c0))
                        let b2 := shr(192, shl(131, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x5a0), mload(0x6e0))
                        let b3 := shr(192, shl(173, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x660), mload(0x700))
                        let b4 := shr(192, shl(189, or(t4, shl(64, t4))))
                        chi(0x120, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0x3c0), mload(0x6e0))
                        let b0 := shr(192, shl(129, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x480), mload(0x700))
                        let b1 := shr(192, shl(134, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x540), mload(0x720))
                        let b2 := shr(192, shl(153, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x600), mload(0x740))
                        let b3 := shr(192, shl(136, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x620), mload(0x6c0))
                        let b4 := shr(192, shl(146, or(t4, shl(64, t4))))
                        chi(0x1c0, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0x420), mload(0x740))
                        let b0 := shr(192, shl(155, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x440), mload(0x6c0))
                        let b1 := shr(192, shl(164, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x500), mload(0x6e0))
                        let b2 := shr(192, shl(138, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x5c0), mload(0x700))
                        let b3 := shr(192, shl(143, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x680), mload(0x720))
                        let b4 := shr(192, shl(184, or(t4, shl(64, t4))))
                        chi(0x260, b0, b1, b2, b3, b4)
                    }
                    {
                        let t0 := xor(mload(0x3e0), mload(0x700))
                        let b0 := shr(192, shl(190, or(t0, shl(64, t0))))
                        let t1 := xor(mload(0x4a0), mload(0x720))
                        let b1 := shr(192, shl(183, or(t1, shl(64, t1))))
                        let t2 := xor(mload(0x560), mload(0x740))
                        let b2 := shr(192, shl(167, or(t2, shl(64, t2))))
                        let t3 := xor(mload(0x580), mload(0x6c0))
                        let b3 := shr(192, shl(169, or(t3, shl(64, t3))))
                        let t4 := xor(mload(0x640), mload(0x6e0))
                        let b4 := shr(192, shl(130, or(t4, shl(64, t4))))
                        chi(0x300, b0, b1, b2, b3, b4)
                    }
                }
                mstore(0x80, xor(mload(0x80), roundConstant(add(round, 1))))
            }

        }
    }

    /// @notice XORs the 136 bytes at memory pointer `data` into the lanes (each lane
    /// little-endian, as Keccak reads bytes) and permutes.
    function absorbBlock(uint256 data) internal pure {
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 17) { i := add(i, 1) } {
                let v := shr(192, mload(add(data, shl(3, i))))
                // Byte-swap the 64-bit value: memory is big-endian, lanes little-endian.
                v := or(shr(8, and(v, 0xff00ff00ff00ff00)), shl(8, and(v, 0x00ff00ff00ff00ff)))
                v := or(shr(16, and(v, 0xffff0000ffff0000)), shl(16, and(v, 0x0000ffff0000ffff)))
                v := and(or(shr(32, v), shl(32, v)), 0xffffffffffffffff)
                let at := add(0x80, shl(5, i))
                mstore(at, xor(mload(at), v))
            }
        }
        permute();
    }

    /// @notice Absorbs the last `len < 136` bytes at `data` with the padding and returns the
    /// digest. The 136 bytes from `data` must be writable.
    function finish(uint256 data, uint256 len) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            // Zero the rest of the block, then pad10*1 with Keccak's domain bit.
            calldatacopy(add(data, len), calldatasize(), sub(136, len))
            mstore8(add(data, len), 0x01)
            mstore8(add(data, 135), or(byte(0, mload(add(data, 135))), 0x80))
        }
        absorbBlock(data);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let v := mload(add(0x80, shl(5, i)))
                v := or(shr(8, and(v, 0xff00ff00ff00ff00)), shl(8, and(v, 0x00ff00ff00ff00ff)))
                v := or(shr(16, and(v, 0xffff0000ffff0000)), shl(16, and(v, 0x0000ffff0000ffff)))
                v := and(or(shr(32, v), shl(32, v)), 0xffffffffffffffff)
                digest := or(digest, shl(shl(6, sub(3, i)), v))
            }
        }
    }
}
