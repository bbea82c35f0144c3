// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Keccak-256 as a sponge whose state outlives a transaction (fraud-vm/SPEC.md §3.4.1)
/// @notice The range oracle hashes a long range over many L1 transactions: each absorbs whole
/// 136-byte blocks into a 25-lane state kept in memory as 25 words (lane `x + 5y` at word
/// `x + 5y`, each a u64), which the oracle stores between transactions; the last pads
/// (Keccak's `pad10*1` with the domain byte 0x01) and squeezes the 32-byte digest.
library KeccakSponge {
    /// The rate: bytes absorbed per permutation.
    uint256 internal constant RATE = 136;

    /// @notice Keccak-f[1600] on the 25 lanes at memory pointer `a` (scratch: 25 words after
    /// them, which the caller provides).
    function permute(uint256 a) internal pure {
        assembly ("memory-safe") {
            let b := add(a, 800)
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
            for { let round := 0 } lt(round, 24) { round := add(round, 1) } {
                // θ: each lane gets the parity of the columns left and right of it (the right
                // one rotated by 1).
                let c0 := xor(xor(xor(mload(a), mload(add(a, 160))), xor(mload(add(a, 320)), mload(add(a, 480)))), mload(add(a, 640)))
                let c1 := xor(xor(xor(mload(add(a, 32)), mload(add(a, 192))), xor(mload(add(a, 352)), mload(add(a, 512)))), mload(add(a, 672)))
                let c2 := xor(xor(xor(mload(add(a, 64)), mload(add(a, 224))), xor(mload(add(a, 384)), mload(add(a, 544)))), mload(add(a, 704)))
                let c3 := xor(xor(xor(mload(add(a, 96)), mload(add(a, 256))), xor(mload(add(a, 416)), mload(add(a, 576)))), mload(add(a, 736)))
                let c4 := xor(xor(xor(mload(add(a, 128)), mload(add(a, 288))), xor(mload(add(a, 448)), mload(add(a, 608)))), mload(add(a, 768)))
                let d0 := xor(c4, and(or(shl(1, c1), shr(63, c1)), 0xffffffffffffffff))
                let d1 := xor(c0, and(or(shl(1, c2), shr(63, c2)), 0xffffffffffffffff))
                let d2 := xor(c1, and(or(shl(1, c3), shr(63, c3)), 0xffffffffffffffff))
                let d3 := xor(c2, and(or(shl(1, c4), shr(63, c4)), 0xffffffffffffffff))
                let d4 := xor(c3, and(or(shl(1, c0), shr(63, c0)), 0xffffffffffffffff))
                // θ applied as each lane is read, then ρ and π: lane (x, y) rotated by its
                // offset goes to (y, 2x + 3y mod 5), i.e.
                // B[y + 5((2x + 3y) mod 5)] = rotl(A[x + 5y] ^ D[x], r[x + 5y]).
                let t := 0
                mstore(b, xor(mload(a), d0))
                t := xor(mload(add(a, 32)), d1)
                mstore(add(b, 320), and(or(shl(1, t), shr(63, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 64)), d2)
                mstore(add(b, 640), and(or(shl(62, t), shr(2, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 96)), d3)
                mstore(add(b, 160), and(or(shl(28, t), shr(36, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 128)), d4)
                mstore(add(b, 480), and(or(shl(27, t), shr(37, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 160)), d0)
                mstore(add(b, 512), and(or(shl(36, t), shr(28, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 192)), d1)
                mstore(add(b, 32), and(or(shl(44, t), shr(20, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 224)), d2)
                mstore(add(b, 352), and(or(shl(6, t), shr(58, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 256)), d3)
                mstore(add(b, 672), and(or(shl(55, t), shr(9, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 288)), d4)
                mstore(add(b, 192), and(or(shl(20, t), shr(44, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 320)), d0)
                mstore(add(b, 224), and(or(shl(3, t), shr(61, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 352)), d1)
                mstore(add(b, 544), and(or(shl(10, t), shr(54, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 384)), d2)
                mstore(add(b, 64), and(or(shl(43, t), shr(21, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 416)), d3)
                mstore(add(b, 384), and(or(shl(25, t), shr(39, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 448)), d4)
                mstore(add(b, 704), and(or(shl(39, t), shr(25, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 480)), d0)
                mstore(add(b, 736), and(or(shl(41, t), shr(23, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 512)), d1)
                mstore(add(b, 256), and(or(shl(45, t), shr(19, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 544)), d2)
                mstore(add(b, 576), and(or(shl(15, t), shr(49, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 576)), d3)
                mstore(add(b, 96), and(or(shl(21, t), shr(43, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 608)), d4)
                mstore(add(b, 416), and(or(shl(8, t), shr(56, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 640)), d0)
                mstore(add(b, 448), and(or(shl(18, t), shr(46, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 672)), d1)
                mstore(add(b, 768), and(or(shl(2, t), shr(62, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 704)), d2)
                mstore(add(b, 288), and(or(shl(61, t), shr(3, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 736)), d3)
                mstore(add(b, 608), and(or(shl(56, t), shr(8, t)), 0xffffffffffffffff))
                t := xor(mload(add(a, 768)), d4)
                mstore(add(b, 128), and(or(shl(14, t), shr(50, t)), 0xffffffffffffffff))
                // χ: A[x, y] = B[x, y] ^ (¬B[x + 1, y] & B[x + 2, y]).
                for { let y := 0 } lt(y, 800) { y := add(y, 160) } {
                    let r := add(b, y)
                    let b0 := mload(r)
                    let b1 := mload(add(r, 32))
                    let b2 := mload(add(r, 64))
                    let b3 := mload(add(r, 96))
                    let b4 := mload(add(r, 128))
                    let o := add(a, y)
                    mstore(o, xor(b0, and(xor(b1, 0xffffffffffffffff), b2)))
                    mstore(add(o, 32), xor(b1, and(xor(b2, 0xffffffffffffffff), b3)))
                    mstore(add(o, 64), xor(b2, and(xor(b3, 0xffffffffffffffff), b4)))
                    mstore(add(o, 96), xor(b3, and(xor(b4, 0xffffffffffffffff), b0)))
                    mstore(add(o, 128), xor(b4, and(xor(b0, 0xffffffffffffffff), b1)))
                }
                // ι: the round's constant into lane (0, 0).
                let rc := roundConstant(round)
                mstore(a, xor(mload(a), rc))
            }
        }
    }

    /// @notice XORs the 136 bytes at memory pointer `data` into the lanes at `a` (each lane
    /// little-endian, as Keccak reads bytes) and permutes.
    function absorbBlock(uint256 a, uint256 data) internal pure {
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 17) { i := add(i, 1) } {
                let v := shr(192, mload(add(data, shl(3, i))))
                // Byte-swap the 64-bit value: memory is big-endian, lanes little-endian.
                v := or(shr(8, and(v, 0xff00ff00ff00ff00)), shl(8, and(v, 0x00ff00ff00ff00ff)))
                v := or(shr(16, and(v, 0xffff0000ffff0000)), shl(16, and(v, 0x0000ffff0000ffff)))
                v := and(or(shr(32, v), shl(32, v)), 0xffffffffffffffff)
                let at := add(a, shl(5, i))
                mstore(at, xor(mload(at), v))
            }
        }
        permute(a);
    }

    /// @notice Absorbs the last `len < 136` bytes at `data` with the padding and returns the
    /// digest. The 136 bytes from `data` must be writable.
    function finish(uint256 a, uint256 data, uint256 len) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            // Zero the rest of the block, then pad10*1 with Keccak's domain bit.
            calldatacopy(add(data, len), calldatasize(), sub(136, len))
            mstore8(add(data, len), 0x01)
            mstore8(add(data, 135), or(byte(0, mload(add(data, 135))), 0x80))
        }
        absorbBlock(a, data);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let v := mload(add(a, shl(5, i)))
                v := or(shr(8, and(v, 0xff00ff00ff00ff00)), shl(8, and(v, 0x00ff00ff00ff00ff)))
                v := or(shr(16, and(v, 0xffff0000ffff0000)), shl(16, and(v, 0x0000ffff0000ffff)))
                v := and(or(shr(32, v), shl(32, v)), 0xffffffffffffffff)
                digest := or(digest, shl(shl(6, sub(3, i)), v))
            }
        }
    }
}
