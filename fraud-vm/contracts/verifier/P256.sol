// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title secp256r1 signature verification (P256VERIFY, RIP-7212 as the OP Stack runs it;
/// fraud-vm/SPEC.md §5.15; Rust: step/p256.rs)
/// @notice The L1 (Prague) has no P256VERIFY, so the verifier computes it: ECDSA verification of
/// a prehashed message over secp256r1, with no malleability check (a high `s` is valid).
/// @dev Field and scalar inverses by Fermat exponentiation, the double scalar multiplication
/// `u1·G + u2·Q` by Shamir's trick in Jacobian coordinates (a = −3 doubling, mixed addition of
/// the affine points G, Q, G + Q), and the final `R.x mod n = r` compared without an inverse:
/// `X = r·Z²` or, when `r + n < p`, `X = (r + n)·Z²`. Every special case of the addition
/// (infinity, equal points, opposite points) is decided explicitly, so `Q = ±G` and `u1 = 0`
/// give the exact result.
library P256 {
    /// The base field modulus p.
    uint256 internal constant P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff;
    /// The group order n.
    uint256 internal constant N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551;
    /// The curve coefficient b of `y² = x³ − 3x + b`.
    uint256 internal constant B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b;
    /// The generator G.
    uint256 internal constant GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296;
    uint256 internal constant GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5;

    /// @notice Whether `input` is `h ‖ r ‖ s ‖ x ‖ y` (160 bytes) with `1 ≤ r, s < n`, `(x, y)` a
    /// point of the curve with coordinates below p, and, with `e = h mod n`,
    /// `R = (e/s)·G + (r/s)·Q` not infinity and `R.x mod n = r`.
    function verify(bytes calldata input) internal pure returns (bool) {
        if (input.length != 160) return false;
        uint256 h = uint256(bytes32(input[0:32]));
        uint256 r = uint256(bytes32(input[32:64]));
        uint256 s = uint256(bytes32(input[64:96]));
        uint256 x = uint256(bytes32(input[96:128]));
        uint256 y = uint256(bytes32(input[128:160]));
        if (r == 0 || r >= N || s == 0 || s >= N) return false;
        if (x >= P || y >= P || !onCurve(x, y)) return false;
        // h < 2^256 < 2n.
        uint256 e = h >= N ? h - N : h;
        uint256 w = expmod(s, N - 2, N);
        (uint256 bigX, uint256 zz) = combination(mulmod(e, w, N), mulmod(r, w, N), x, y);
        // zz = Z² is zero exactly for the point at infinity.
        if (zz == 0) return false;
        if (mulmod(r, zz, P) == bigX) return true;
        return r < P - N && mulmod(r + N, zz, P) == bigX;
    }

    /// @notice Whether `(x, y)` (coordinates below p) satisfies `y² = x³ − 3x + b`.
    function onCurve(uint256 x, uint256 y) internal pure returns (bool) {
        uint256 rhs = addmod(addmod(mulmod(mulmod(x, x, P), x, P), mulmod(x, P - 3, P), P), B, P);
        return mulmod(y, y, P) == rhs;
    }

    /// @notice `b^e mod m` by square-and-multiply.
    function expmod(uint256 b, uint256 e, uint256 m) internal pure returns (uint256 result) {
        assembly ("memory-safe") {
            result := 1
            for { let i := 0 } lt(i, 256) { i := add(i, 1) } {
                result := mulmod(result, result, m)
                if and(shr(sub(255, i), e), 1) { result := mulmod(result, b, m) }
            }
        }
    }

    /// @notice `u1·G + u2·(x, y)` in Jacobian coordinates: its X and Z² (zero for infinity).
    function combination(uint256 u1, uint256 u2, uint256 x, uint256 y)
        internal
        pure
        returns (uint256 bigX, uint256 zz)
    {
        // G + Q in affine coordinates, or infinity (Q = −G).
        (uint256 sx, uint256 sy, bool sumInfinite) = _affineSum(x, y);
        assembly ("memory-safe") {
            // Doubling with a = −3 (dbl-2001-b); infinity (Z = 0) stays infinity.
            function dbl(X, Y, Z) -> X3, Y3, Z3 {
                let p := 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
                let delta := mulmod(Z, Z, p)
                let gamma := mulmod(Y, Y, p)
                let beta := mulmod(X, gamma, p)
                let alpha := mulmod(3, mulmod(addmod(X, sub(p, delta), p), addmod(X, delta, p), p), p)
                X3 := addmod(mulmod(alpha, alpha, p), sub(p, mulmod(8, beta, p)), p)
                let yz := addmod(Y, Z, p)
                Z3 := addmod(addmod(mulmod(yz, yz, p), sub(p, gamma), p), sub(p, delta), p)
                Y3 :=
                    addmod(
                        mulmod(alpha, addmod(mulmod(4, beta, p), sub(p, X3), p), p),
                        sub(p, mulmod(8, mulmod(gamma, gamma, p), p)),
                        p
                    )
            }
            // Mixed addition of the affine (ax, ay); an equal x means the same point (doubled)
            // or the opposite one (infinity).
            function madd(X, Y, Z, ax, ay) -> X3, Y3, Z3 {
                let p := 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
                if iszero(Z) {
                    X3 := ax
                    Y3 := ay
                    Z3 := 1
                    leave
                }
                let zz1 := mulmod(Z, Z, p)
                let h := addmod(mulmod(ax, zz1, p), sub(p, X), p)
                let rr := addmod(mulmod(ay, mulmod(Z, zz1, p), p), sub(p, Y), p)
                if iszero(h) {
                    if iszero(rr) {
                        X3, Y3, Z3 := dbl(X, Y, Z)
                        leave
                    }
                    X3 := 0
                    Y3 := 0
                    Z3 := 0
                    leave
                }
                let hh := mulmod(h, h, p)
                let hhh := mulmod(h, hh, p)
                let v := mulmod(X, hh, p)
                X3 := addmod(addmod(mulmod(rr, rr, p), sub(p, hhh), p), sub(p, mulmod(2, v, p)), p)
                Y3 := addmod(mulmod(rr, addmod(v, sub(p, X3), p), p), sub(p, mulmod(Y, hhh, p)), p)
                Z3 := mulmod(Z, h, p)
            }
            let X := 0
            let Y := 0
            let Z := 0
            for { let i := 0 } lt(i, 256) { i := add(i, 1) } {
                if Z { X, Y, Z := dbl(X, Y, Z) }
                let bits := or(and(shr(sub(255, i), u1), 1), shl(1, and(shr(sub(255, i), u2), 1)))
                switch bits
                case 1 {
                    X, Y, Z := madd(X, Y, Z, GX, GY)
                }
                case 2 {
                    X, Y, Z := madd(X, Y, Z, x, y)
                }
                case 3 {
                    // Adding infinity (G + Q = ∞) changes nothing.
                    if iszero(sumInfinite) { X, Y, Z := madd(X, Y, Z, sx, sy) }
                }
            }
            bigX := X
            zz := mulmod(Z, Z, 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff)
        }
    }

    /// @notice `G + (x, y)` in affine coordinates, or infinity when `(x, y) = −G`; the point is
    /// on the curve, so an equal x means `±G`.
    function _affineSum(uint256 x, uint256 y) private pure returns (uint256 sx, uint256 sy, bool infinite) {
        uint256 lambda;
        if (x == GX) {
            if (y != GY) return (0, 0, true);
            // Doubling: λ = (3x² − 3) / 2y.
            uint256 num = addmod(mulmod(3, mulmod(GX, GX, P), P), P - 3, P);
            lambda = mulmod(num, expmod(mulmod(2, GY, P), P - 2, P), P);
        } else {
            lambda = mulmod(addmod(y, P - GY, P), expmod(addmod(x, P - GX, P), P - 2, P), P);
        }
        sx = addmod(addmod(mulmod(lambda, lambda, P), P - GX, P), P - x, P);
        sy = addmod(mulmod(lambda, addmod(GX, P - sx, P), P), P - GY, P);
    }
}
