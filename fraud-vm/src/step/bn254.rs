//! The alt_bn128 precompiles (SPEC.md §5.15): ecAdd (0x06), ecMul (0x07) and ecPairing (0x08),
//! EIP-196 and EIP-197 with the EIP-1108 gas. Points are big-endian field elements; a field
//! element at or above the modulus, or a point off the curve (or outside G2's subgroup) fails the
//! call; `(0, 0)` is the point at infinity. ecPairing has the rollup's input limit of 128 pairs
//! (`crate::precompiles`, in place of Granite's).

use super::precompile::Outcome;
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, pairing::Pairing};
use ark_ff::{One, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

/// Gas of ecAdd.
const ADD_GAS: u64 = 150;
/// Gas of ecMul.
const MUL_GAS: u64 = 6000;
/// Gas of ecPairing: base and per pair.
const PAIRING_BASE_GAS: u64 = 45_000;
const PAIRING_PAIR_GAS: u64 = 34_000;
/// The rollup's limit on ecPairing's input, 128 pairs (SPEC.md §5.15 "Bounds"; Granite's was
/// 112,687 bytes): longer inputs fail.
pub(crate) const PAIRING_MAX_INPUT: usize = crate::precompiles::BN254_PAIRING_MAX_INPUT;
/// One pairing input: a G1 point (64 bytes) and a G2 point (128 bytes).
const PAIR_LEN: usize = 192;

/// `input` zero-padded (or cut) to `N` bytes.
fn padded<const N: usize>(input: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = input.len().min(N);
    out[..n].copy_from_slice(&input[..n]);
    out
}

fn read_fq(be: &[u8]) -> Option<Fq> {
    let mut le = [0u8; 32];
    le.copy_from_slice(be);
    le.reverse();
    Fq::deserialize_uncompressed(&le[..]).ok()
}

fn read_g1(bytes: &[u8]) -> Option<G1Affine> {
    let (x, y) = (read_fq(&bytes[..32])?, read_fq(&bytes[32..64])?);
    if x.is_zero() && y.is_zero() {
        return Some(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
}

fn read_g2(bytes: &[u8]) -> Option<G2Affine> {
    // Each coordinate is `imaginary ‖ real`.
    let fq2 = |b: &[u8]| Some(Fq2::new(read_fq(&b[32..64])?, read_fq(&b[..32])?));
    let (x, y) = (fq2(&bytes[..64])?, fq2(&bytes[64..128])?);
    if x.is_zero() && y.is_zero() {
        return Some(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
}

fn encode_g1(p: G1Affine) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x, y].into_iter().enumerate() {
            let mut le = [0u8; 32];
            if c.serialize_uncompressed(&mut le[..]).is_err() {
                return vec![0u8; 64];
            }
            le.reverse();
            out[32 * i..32 * i + 32].copy_from_slice(&le);
        }
    }
    out
}

/// ecAdd: the sum of two G1 points.
pub(crate) fn add(input: &[u8], limit: u64) -> Outcome {
    if ADD_GAS > limit {
        return None;
    }
    let input = padded::<128>(input);
    let (a, b) = (read_g1(&input[..64])?, read_g1(&input[64..])?);
    let sum: G1Projective = G1Projective::from(a) + b;
    Some((ADD_GAS, encode_g1(sum.into_affine())))
}

/// ecMul: a G1 point times a 256-bit scalar.
pub(crate) fn mul(input: &[u8], limit: u64) -> Outcome {
    if MUL_GAS > limit {
        return None;
    }
    let input = padded::<96>(input);
    let p = read_g1(&input[..64])?;
    let k = Fr::from_be_bytes_mod_order(&input[64..]);
    Some((
        MUL_GAS,
        encode_g1(p.mul_bigint(k.into_bigint()).into_affine()),
    ))
}

/// ecPairing: 1 (as a 32-byte word) iff the product of the pairings of the input pairs is one.
pub(crate) fn pairing(input: &[u8], limit: u64) -> Outcome {
    let pairs = input.len() / PAIR_LEN;
    let gas = (pairs as u64)
        .saturating_mul(PAIRING_PAIR_GAS)
        .saturating_add(PAIRING_BASE_GAS);
    if input.len() > PAIRING_MAX_INPUT || gas > limit || !input.len().is_multiple_of(PAIR_LEN) {
        return None;
    }
    let (mut g1s, mut g2s) = (Vec::new(), Vec::new());
    for pair in input.chunks(PAIR_LEN) {
        let (a, b) = (read_g1(&pair[..64])?, read_g2(&pair[64..])?);
        if !a.is_zero() && !b.is_zero() {
            g1s.push(a);
            g2s.push(b);
        }
    }
    let one = g1s.is_empty() || Bn254::multi_pairing(&g1s, &g2s).0.is_one();
    let mut out = vec![0u8; 32];
    out[31] = u8::from(one);
    Some((gas, out))
}
