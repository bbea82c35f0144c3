//! Four or eight `keccak256` of 64 bytes at once (AVX2, AVX-512): what lifting sparse-tree
//! leaves through their empty levels needs (`smt`: every leaf of a tree its prover hashes for
//! the first time is carried up about 250 levels, one `keccak256(left ‖ right)` per level, and
//! the chains of different leaves are independent). One Keccak-f[1600] permutation over four
//! states in the 256-bit lanes of AVX2 costs about as many instructions as two scalar ones;
//! over eight states in the 512-bit lanes of AVX-512 (with its rotations and three-input
//! logic) about as many again. An implementation detail of the prover: the hashes are
//! `keccak256`'s (the tests compare them), and where neither is there [`width`] is 0 and the
//! callers hash one pair at a time. (valgrind has no AVX-512: under it the AVX2 path runs.)

use alloy::primitives::B256;

/// How many pairs one call of [`pairs_into`] hashes at once: 8 with AVX-512F, 4 with AVX2,
/// 0 without either.
pub(crate) fn width() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 8;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return 4;
        }
    }
    0
}

/// `keccak256(left ‖ right)` of each of `inputs` (at most [`width`] of them) into the same
/// places of `out` (as long); `false`, with nothing written, without AVX2 or for more inputs.
pub(crate) fn pairs_into(inputs: &[(B256, B256)], out: &mut [B256]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let n = inputs.len();
        if n <= 4 && std::arch::is_x86_feature_detected!("avx2") {
            let mut four = [(B256::ZERO, B256::ZERO); 4];
            four[..n].copy_from_slice(inputs);
            // SAFETY: AVX2 is available, as just checked.
            let hashes = unsafe { avx2::pairs(&four) };
            out[..n].copy_from_slice(&hashes[..n]);
            return true;
        }
        if n <= 8 && std::arch::is_x86_feature_detected!("avx512f") {
            let mut eight = [(B256::ZERO, B256::ZERO); 8];
            eight[..n].copy_from_slice(inputs);
            // SAFETY: AVX-512F is available, as just checked.
            let hashes = unsafe { avx512::pairs(&eight) };
            out[..n].copy_from_slice(&hashes[..n]);
            return true;
        }
    }
    let _ = (inputs, out);
    false
}

/// `keccak256(left ‖ right)` of four pairs, or `None` without AVX2.
#[cfg(test)]
pub(crate) fn pairs(inputs: &[(B256, B256); 4]) -> Option<[B256; 4]> {
    let mut out = [B256::ZERO; 4];
    pairs_into(inputs, &mut out).then_some(out)
}

/// `keccak256(left ‖ right)` of every pair, in order: [`width`] at a time where AVX2 or
/// AVX-512 is there and at least two are asked for, else one at a time.
pub(crate) fn hash_pairs(inputs: &[(B256, B256)]) -> Vec<B256> {
    let scalar = |(l, r): &(B256, B256)| crate::merkle::hash_pair(*l, *r);
    let width = width();
    if inputs.len() < 2 || width == 0 {
        return inputs.iter().map(scalar).collect();
    }
    let mut out = vec![B256::ZERO; inputs.len()];
    for (chunk, hashes) in inputs.chunks(width).zip(out.chunks_mut(width)) {
        if chunk.len() < 2 || !pairs_into(chunk, hashes) {
            for (h, p) in hashes.iter_mut().zip(chunk) {
                *h = scalar(p);
            }
        }
    }
    out
}

/// The round constants of Keccak-f[1600].
#[cfg(target_arch = "x86_64")]
const RC: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// The little-endian word `i` of `b`.
#[cfg(target_arch = "x86_64")]
fn word(b: &B256, i: usize) -> i64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[8 * i..8 * i + 8]);
    i64::from_le_bytes(w)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::{RC, word};
    use alloy::primitives::B256;
    use std::arch::x86_64::{
        __m256i, _mm256_andnot_si256, _mm256_extract_epi64, _mm256_or_si256, _mm256_set_epi64x,
        _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_slli_epi64, _mm256_srli_epi64,
        _mm256_xor_si256,
    };

    #[inline]
    #[target_feature(enable = "avx2")]
    fn xor(a: __m256i, b: __m256i) -> __m256i {
        _mm256_xor_si256(a, b)
    }

    /// Each 64-bit lane rotated left by `L` (`R = 64 - L`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn rotl<const L: i32, const R: i32>(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x))
    }

    /// Keccak-f[1600] on four states, lane by lane, unrolled within a round so that the
    /// lanes stay in registers.
    #[target_feature(enable = "avx2")]
    pub(crate) fn permute(a: &mut [__m256i; 25]) {
        let [
            mut a0,
            mut a1,
            mut a2,
            mut a3,
            mut a4,
            mut a5,
            mut a6,
            mut a7,
            mut a8,
            mut a9,
            mut a10,
            mut a11,
            mut a12,
            mut a13,
            mut a14,
            mut a15,
            mut a16,
            mut a17,
            mut a18,
            mut a19,
            mut a20,
            mut a21,
            mut a22,
            mut a23,
            mut a24,
        ] = *a;
        for rc in RC {
            // θ
            let c0 = xor(xor(a0, a5), xor(xor(a10, a15), a20));
            let c1 = xor(xor(a1, a6), xor(xor(a11, a16), a21));
            let c2 = xor(xor(a2, a7), xor(xor(a12, a17), a22));
            let c3 = xor(xor(a3, a8), xor(xor(a13, a18), a23));
            let c4 = xor(xor(a4, a9), xor(xor(a14, a19), a24));
            let d0 = xor(c4, rotl::<1, 63>(c1));
            let d1 = xor(c0, rotl::<1, 63>(c2));
            let d2 = xor(c1, rotl::<1, 63>(c3));
            let d3 = xor(c2, rotl::<1, 63>(c4));
            let d4 = xor(c3, rotl::<1, 63>(c0));
            // ρ and π
            let b0 = xor(a0, d0);
            let b16 = rotl::<36, 28>(xor(a5, d0));
            let b7 = rotl::<3, 61>(xor(a10, d0));
            let b23 = rotl::<41, 23>(xor(a15, d0));
            let b14 = rotl::<18, 46>(xor(a20, d0));
            let b10 = rotl::<1, 63>(xor(a1, d1));
            let b1 = rotl::<44, 20>(xor(a6, d1));
            let b17 = rotl::<10, 54>(xor(a11, d1));
            let b8 = rotl::<45, 19>(xor(a16, d1));
            let b24 = rotl::<2, 62>(xor(a21, d1));
            let b20 = rotl::<62, 2>(xor(a2, d2));
            let b11 = rotl::<6, 58>(xor(a7, d2));
            let b2 = rotl::<43, 21>(xor(a12, d2));
            let b18 = rotl::<15, 49>(xor(a17, d2));
            let b9 = rotl::<61, 3>(xor(a22, d2));
            let b5 = rotl::<28, 36>(xor(a3, d3));
            let b21 = rotl::<55, 9>(xor(a8, d3));
            let b12 = rotl::<25, 39>(xor(a13, d3));
            let b3 = rotl::<21, 43>(xor(a18, d3));
            let b19 = rotl::<56, 8>(xor(a23, d3));
            let b15 = rotl::<27, 37>(xor(a4, d4));
            let b6 = rotl::<20, 44>(xor(a9, d4));
            let b22 = rotl::<39, 25>(xor(a14, d4));
            let b13 = rotl::<8, 56>(xor(a19, d4));
            let b4 = rotl::<14, 50>(xor(a24, d4));
            // χ and ι
            a0 = xor(b0, _mm256_andnot_si256(b1, b2));
            a1 = xor(b1, _mm256_andnot_si256(b2, b3));
            a2 = xor(b2, _mm256_andnot_si256(b3, b4));
            a3 = xor(b3, _mm256_andnot_si256(b4, b0));
            a4 = xor(b4, _mm256_andnot_si256(b0, b1));
            a5 = xor(b5, _mm256_andnot_si256(b6, b7));
            a6 = xor(b6, _mm256_andnot_si256(b7, b8));
            a7 = xor(b7, _mm256_andnot_si256(b8, b9));
            a8 = xor(b8, _mm256_andnot_si256(b9, b5));
            a9 = xor(b9, _mm256_andnot_si256(b5, b6));
            a10 = xor(b10, _mm256_andnot_si256(b11, b12));
            a11 = xor(b11, _mm256_andnot_si256(b12, b13));
            a12 = xor(b12, _mm256_andnot_si256(b13, b14));
            a13 = xor(b13, _mm256_andnot_si256(b14, b10));
            a14 = xor(b14, _mm256_andnot_si256(b10, b11));
            a15 = xor(b15, _mm256_andnot_si256(b16, b17));
            a16 = xor(b16, _mm256_andnot_si256(b17, b18));
            a17 = xor(b17, _mm256_andnot_si256(b18, b19));
            a18 = xor(b18, _mm256_andnot_si256(b19, b15));
            a19 = xor(b19, _mm256_andnot_si256(b15, b16));
            a20 = xor(b20, _mm256_andnot_si256(b21, b22));
            a21 = xor(b21, _mm256_andnot_si256(b22, b23));
            a22 = xor(b22, _mm256_andnot_si256(b23, b24));
            a23 = xor(b23, _mm256_andnot_si256(b24, b20));
            a24 = xor(b24, _mm256_andnot_si256(b20, b21));
            a0 = xor(a0, _mm256_set1_epi64x(rc as i64));
        }
        *a = [
            a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18,
            a19, a20, a21, a22, a23, a24,
        ];
    }

    /// `keccak256(left ‖ right)` of four pairs: one block each (64 bytes, then the padding
    /// `0x01 … 0x80` of a 136-byte rate), one permutation, the first four lanes out.
    #[target_feature(enable = "avx2")]
    pub(super) fn pairs(inputs: &[(B256, B256); 4]) -> [B256; 4] {
        let mut a = [_mm256_setzero_si256(); 25];
        for (i, lane) in a.iter_mut().take(8).enumerate() {
            let w = |p: &(B256, B256)| {
                if i < 4 {
                    word(&p.0, i)
                } else {
                    word(&p.1, i - 4)
                }
            };
            // `_mm256_set_epi64x` takes the highest element first.
            *lane = _mm256_set_epi64x(w(&inputs[3]), w(&inputs[2]), w(&inputs[1]), w(&inputs[0]));
        }
        a[8] = _mm256_set1_epi64x(1);
        a[16] = _mm256_set1_epi64x(i64::MIN);
        permute(&mut a);
        let mut out = [B256::ZERO; 4];
        for (i, lane) in a.iter().take(4).enumerate() {
            let words = [
                _mm256_extract_epi64::<0>(*lane),
                _mm256_extract_epi64::<1>(*lane),
                _mm256_extract_epi64::<2>(*lane),
                _mm256_extract_epi64::<3>(*lane),
            ];
            for (o, w) in out.iter_mut().zip(words) {
                o[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::{RC, word};
    use alloy::primitives::B256;
    use std::arch::x86_64::{
        __m512i, _mm512_loadu_si512, _mm512_rol_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
        _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_xor_si512,
    };

    /// `a ^ b ^ c`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi64::<0x96>(a, b, c)
    }

    /// `a ^ (!b & c)`: χ.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn chi(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi64::<0xd2>(a, b, c)
    }

    /// Each 64-bit lane of `a ^ d` rotated left by `L`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rx<const L: i32>(a: __m512i, d: __m512i) -> __m512i {
        _mm512_rol_epi64::<L>(_mm512_xor_si512(a, d))
    }

    /// Keccak-f[1600] on eight states (as `avx2::permute` on four).
    #[target_feature(enable = "avx512f")]
    pub(crate) fn permute(a: &mut [__m512i; 25]) {
        let [
            mut a0,
            mut a1,
            mut a2,
            mut a3,
            mut a4,
            mut a5,
            mut a6,
            mut a7,
            mut a8,
            mut a9,
            mut a10,
            mut a11,
            mut a12,
            mut a13,
            mut a14,
            mut a15,
            mut a16,
            mut a17,
            mut a18,
            mut a19,
            mut a20,
            mut a21,
            mut a22,
            mut a23,
            mut a24,
        ] = *a;
        for rc in RC {
            // θ
            let c0 = xor3(xor3(a0, a5, a10), a15, a20);
            let c1 = xor3(xor3(a1, a6, a11), a16, a21);
            let c2 = xor3(xor3(a2, a7, a12), a17, a22);
            let c3 = xor3(xor3(a3, a8, a13), a18, a23);
            let c4 = xor3(xor3(a4, a9, a14), a19, a24);
            let d0 = _mm512_xor_si512(c4, _mm512_rol_epi64::<1>(c1));
            let d1 = _mm512_xor_si512(c0, _mm512_rol_epi64::<1>(c2));
            let d2 = _mm512_xor_si512(c1, _mm512_rol_epi64::<1>(c3));
            let d3 = _mm512_xor_si512(c2, _mm512_rol_epi64::<1>(c4));
            let d4 = _mm512_xor_si512(c3, _mm512_rol_epi64::<1>(c0));
            // ρ and π
            let b0 = _mm512_xor_si512(a0, d0);
            let b16 = rx::<36>(a5, d0);
            let b7 = rx::<3>(a10, d0);
            let b23 = rx::<41>(a15, d0);
            let b14 = rx::<18>(a20, d0);
            let b10 = rx::<1>(a1, d1);
            let b1 = rx::<44>(a6, d1);
            let b17 = rx::<10>(a11, d1);
            let b8 = rx::<45>(a16, d1);
            let b24 = rx::<2>(a21, d1);
            let b20 = rx::<62>(a2, d2);
            let b11 = rx::<6>(a7, d2);
            let b2 = rx::<43>(a12, d2);
            let b18 = rx::<15>(a17, d2);
            let b9 = rx::<61>(a22, d2);
            let b5 = rx::<28>(a3, d3);
            let b21 = rx::<55>(a8, d3);
            let b12 = rx::<25>(a13, d3);
            let b3 = rx::<21>(a18, d3);
            let b19 = rx::<56>(a23, d3);
            let b15 = rx::<27>(a4, d4);
            let b6 = rx::<20>(a9, d4);
            let b22 = rx::<39>(a14, d4);
            let b13 = rx::<8>(a19, d4);
            let b4 = rx::<14>(a24, d4);
            // χ and ι
            a0 = chi(b0, b1, b2);
            a1 = chi(b1, b2, b3);
            a2 = chi(b2, b3, b4);
            a3 = chi(b3, b4, b0);
            a4 = chi(b4, b0, b1);
            a5 = chi(b5, b6, b7);
            a6 = chi(b6, b7, b8);
            a7 = chi(b7, b8, b9);
            a8 = chi(b8, b9, b5);
            a9 = chi(b9, b5, b6);
            a10 = chi(b10, b11, b12);
            a11 = chi(b11, b12, b13);
            a12 = chi(b12, b13, b14);
            a13 = chi(b13, b14, b10);
            a14 = chi(b14, b10, b11);
            a15 = chi(b15, b16, b17);
            a16 = chi(b16, b17, b18);
            a17 = chi(b17, b18, b19);
            a18 = chi(b18, b19, b15);
            a19 = chi(b19, b15, b16);
            a20 = chi(b20, b21, b22);
            a21 = chi(b21, b22, b23);
            a22 = chi(b22, b23, b24);
            a23 = chi(b23, b24, b20);
            a24 = chi(b24, b20, b21);
            a0 = _mm512_xor_si512(a0, _mm512_set1_epi64(rc as i64));
        }
        *a = [
            a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18,
            a19, a20, a21, a22, a23, a24,
        ];
    }

    /// `keccak256(left ‖ right)` of eight pairs (as `avx2::pairs` of four).
    #[target_feature(enable = "avx512f")]
    pub(super) fn pairs(inputs: &[(B256, B256); 8]) -> [B256; 8] {
        let mut a = [_mm512_setzero_si512(); 25];
        for (i, lane) in a.iter_mut().take(8).enumerate() {
            let words: [i64; 8] = std::array::from_fn(|j| {
                let p = &inputs[j];
                if i < 4 {
                    word(&p.0, i)
                } else {
                    word(&p.1, i - 4)
                }
            });
            // SAFETY: `words` is 64 readable bytes; the load is unaligned.
            *lane = unsafe { _mm512_loadu_si512(words.as_ptr().cast()) };
        }
        a[8] = _mm512_set1_epi64(1);
        a[16] = _mm512_set1_epi64(i64::MIN);
        permute(&mut a);
        let mut out = [B256::ZERO; 8];
        for (i, lane) in a.iter().take(4).enumerate() {
            let mut words = [0i64; 8];
            // SAFETY: `words` is 64 writable bytes; the store is unaligned.
            unsafe { _mm512_storeu_si512(words.as_mut_ptr().cast(), *lane) };
            for (o, w) in out.iter_mut().zip(words) {
                o[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;
    use proptest::prelude::*;

    proptest::proptest! {
        /// Each of the four hashes is `keccak256` of its pair.
        #[test]
        fn four_at_once_are_keccak256(words in proptest::collection::vec(any::<[u8; 32]>(), 8)) {
            let b: Vec<B256> = words.into_iter().map(B256::from).collect();
            let inputs = [(b[0], b[1]), (b[2], b[3]), (b[4], b[5]), (b[6], B256::ZERO)];
            if let Some(out) = pairs(&inputs) {
                for (o, (l, r)) in out.iter().zip(&inputs) {
                    prop_assert_eq!(*o, keccak256([l.as_slice(), r.as_slice()].concat()));
                }
            }
        }

        /// Eight at once (AVX-512 where there) are `keccak256` of each, and so are fewer.
        #[test]
        fn eight_at_once_are_keccak256(
            words in proptest::collection::vec(any::<([u8; 32], [u8; 32])>(), 1..9),
        ) {
            let inputs: Vec<(B256, B256)> =
                words.into_iter().map(|(l, r)| (B256::from(l), B256::from(r))).collect();
            let mut out = vec![B256::ZERO; inputs.len()];
            if width() >= inputs.len() {
                prop_assert!(pairs_into(&inputs, &mut out));
                for (o, (l, r)) in out.iter().zip(&inputs) {
                    prop_assert_eq!(*o, keccak256([l.as_slice(), r.as_slice()].concat()));
                }
            }
        }

        /// Any number of pairs hash to `keccak256` of each, in order.
        #[test]
        fn every_pair_is_hashed_in_order(
            words in proptest::collection::vec(any::<([u8; 32], [u8; 32])>(), 0..11),
        ) {
            let inputs: Vec<(B256, B256)> =
                words.into_iter().map(|(l, r)| (B256::from(l), B256::from(r))).collect();
            let expected: Vec<B256> = inputs
                .iter()
                .map(|(l, r)| keccak256([l.as_slice(), r.as_slice()].concat()))
                .collect();
            prop_assert_eq!(hash_pairs(&inputs), expected);
        }
    }
}
