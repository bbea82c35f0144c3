//! The BLS12-381 precompiles of EIP-2537 as in Prague (SPEC.md §5.15), with the rollup's input
//! limits of 128 pairs (`crate::precompiles`, in place of OP Isthmus's): G1ADD (0x0b), G1MSM (0x0c), G2ADD (0x0d), G2MSM (0x0e), PAIRING_CHECK (0x0f),
//! MAP_FP_TO_G1 (0x10), MAP_FP2_TO_G2 (0x11). Arithmetic from arkworks (`ark-bls12-381`), not
//! from the `blst` library revm runs, so the two implementations check each other.
//!
//! Encodings: a base field element is 64 bytes, 16 zero bytes then 48 big-endian bytes below the
//! modulus `p`; a G1 point is `x ‖ y`, a G2 point `x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1`; all-zero bytes are
//! the point at infinity; a scalar is 32 big-endian bytes, any value.

use super::precompile::Outcome;
use crate::proof::VerifyError;
use ark_bls12_381::{
    Bls12_381, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective, g1, g2,
};
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurve;
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_serialize::CanonicalDeserialize;

/// Gas of G1ADD.
const G1_ADD_GAS: u64 = 375;
/// Gas of G2ADD.
const G2_ADD_GAS: u64 = 600;
/// Gas of one G1 multiplication in an MSM, before the discount.
const G1_MUL_GAS: u64 = 12_000;
/// Gas of one G2 multiplication in an MSM, before the discount.
const G2_MUL_GAS: u64 = 22_500;
/// Gas of PAIRING_CHECK: base and per pair.
const PAIRING_BASE_GAS: u64 = 37_700;
const PAIRING_PAIR_GAS: u64 = 32_600;
/// Gas of MAP_FP_TO_G1 and MAP_FP2_TO_G2.
const MAP_FP_TO_G1_GAS: u64 = 5_500;
const MAP_FP2_TO_G2_GAS: u64 = 23_800;

/// The rollup's input limits, 128 pairs each (SPEC.md §5.15 "Bounds", `crate::precompiles`;
/// Isthmus's were 513,760, 488,448 and 235,008 bytes): longer inputs fail.
pub(crate) const G1_MSM_MAX_INPUT: usize = crate::precompiles::G1_MSM_MAX_INPUT;
pub(crate) const G2_MSM_MAX_INPUT: usize = crate::precompiles::G2_MSM_MAX_INPUT;
pub(crate) const PAIRING_MAX_INPUT: usize = crate::precompiles::BLS_PAIRING_MAX_INPUT;

/// Encoded lengths.
const FP_LEN: usize = 64;
const G1_LEN: usize = 2 * FP_LEN;
const G2_LEN: usize = 4 * FP_LEN;
const SCALAR_LEN: usize = 32;
const G1_MSM_PAIR_LEN: usize = G1_LEN + SCALAR_LEN;
const G2_MSM_PAIR_LEN: usize = G2_LEN + SCALAR_LEN;
const PAIRING_PAIR_LEN: usize = G1_LEN + G2_LEN;

/// EIP-2537 MSM discounts (per mille) for k = 1..=128 pairs; larger k use the last entry.
const G1_MSM_DISCOUNT: [u16; 128] = [
    1000, 949, 848, 797, 764, 750, 738, 728, 719, 712, 705, 698, 692, 687, 682, 677, 673, 669, 665,
    661, 658, 654, 651, 648, 645, 642, 640, 637, 635, 632, 630, 627, 625, 623, 621, 619, 617, 615,
    613, 611, 609, 608, 606, 604, 603, 601, 599, 598, 596, 595, 593, 592, 591, 589, 588, 586, 585,
    584, 582, 581, 580, 579, 577, 576, 575, 574, 573, 572, 570, 569, 568, 567, 566, 565, 564, 563,
    562, 561, 560, 559, 558, 557, 556, 555, 554, 553, 552, 551, 550, 549, 548, 547, 547, 546, 545,
    544, 543, 542, 541, 540, 540, 539, 538, 537, 536, 536, 535, 534, 533, 532, 532, 531, 530, 529,
    528, 528, 527, 526, 525, 525, 524, 523, 522, 522, 521, 520, 520, 519,
];
const G2_MSM_DISCOUNT: [u16; 128] = [
    1000, 1000, 923, 884, 855, 832, 812, 796, 782, 770, 759, 749, 740, 732, 724, 717, 711, 704,
    699, 693, 688, 683, 679, 674, 670, 666, 663, 659, 655, 652, 649, 646, 643, 640, 637, 634, 632,
    629, 627, 624, 622, 620, 618, 615, 613, 611, 609, 607, 606, 604, 602, 600, 598, 597, 595, 593,
    592, 590, 589, 587, 586, 584, 583, 582, 580, 579, 578, 576, 575, 574, 573, 571, 570, 569, 568,
    567, 566, 565, 563, 562, 561, 560, 559, 558, 557, 556, 555, 554, 553, 552, 552, 551, 550, 549,
    548, 547, 546, 545, 545, 544, 543, 542, 541, 541, 540, 539, 538, 537, 537, 536, 535, 535, 534,
    533, 532, 532, 531, 530, 530, 529, 528, 528, 527, 526, 526, 525, 524, 524,
];

/// Gas of an MSM of `k ≥ 1` pairs: `k · mul · discount(k) / 1000`, rounded down.
fn msm_gas(k: usize, table: &[u16; 128], mul: u64) -> u64 {
    let discount = u64::from(table[k.clamp(1, 128) - 1]);
    (k as u64).saturating_mul(mul).saturating_mul(discount) / 1000
}

/// A base field element: 16 zero bytes of padding, then 48 big-endian bytes below `p`.
pub(crate) fn read_fp(bytes: &[u8]) -> Option<Fq> {
    let (pad, be) = bytes.split_at(16);
    if pad.iter().any(|b| *b != 0) {
        return None;
    }
    read_fp48(be)
}

/// 48 big-endian bytes below `p`.
pub(crate) fn read_fp48(be: &[u8]) -> Option<Fq> {
    let mut le = [0u8; 48];
    le.copy_from_slice(be);
    le.reverse();
    // Deserialization refuses a value at or above the modulus.
    Fq::deserialize_uncompressed(&le[..]).ok()
}

fn write_fp(out: &mut Vec<u8>, x: Fq) {
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&x.into_bigint().to_bytes_be());
}

/// A G1 point: both coordinates canonical, all zero for infinity, else on the curve; in the
/// r-order subgroup when `subgroup`.
fn read_g1(bytes: &[u8], subgroup: bool) -> Option<G1Affine> {
    let (x, y) = (read_fp(&bytes[..FP_LEN])?, read_fp(&bytes[FP_LEN..G1_LEN])?);
    if x.is_zero() && y.is_zero() {
        return Some(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    (p.is_on_curve() && (!subgroup || p.is_in_correct_subgroup_assuming_on_curve())).then_some(p)
}

/// A G2 point, as [`read_g1`]; each coordinate is `c0 ‖ c1`.
fn read_g2(bytes: &[u8], subgroup: bool) -> Option<G2Affine> {
    let fp2 = |b: &[u8]| Some(Fq2::new(read_fp(&b[..FP_LEN])?, read_fp(&b[FP_LEN..])?));
    let (x, y) = (fp2(&bytes[..2 * FP_LEN])?, fp2(&bytes[2 * FP_LEN..G2_LEN])?);
    if x.is_zero() && y.is_zero() {
        return Some(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    (p.is_on_curve() && (!subgroup || p.is_in_correct_subgroup_assuming_on_curve())).then_some(p)
}

fn encode_g1(p: G1Affine) -> Vec<u8> {
    let mut out = Vec::with_capacity(G1_LEN);
    match p.xy() {
        Some((x, y)) => {
            write_fp(&mut out, x);
            write_fp(&mut out, y);
        }
        None => out.resize(G1_LEN, 0),
    }
    out
}

fn encode_g2(p: G2Affine) -> Vec<u8> {
    let mut out = Vec::with_capacity(G2_LEN);
    match p.xy() {
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                write_fp(&mut out, c);
            }
        }
        None => out.resize(G2_LEN, 0),
    }
    out
}

/// A 32-byte big-endian scalar; the points it multiplies have order r, so it is reduced mod r.
fn read_scalar(bytes: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

/// G1ADD: the sum of two G1 points (on the curve, no subgroup check).
pub(crate) fn g1_add(input: &[u8], limit: u64) -> Outcome {
    if G1_ADD_GAS > limit || input.len() != 2 * G1_LEN {
        return None;
    }
    let (a, b) = (
        read_g1(&input[..G1_LEN], false)?,
        read_g1(&input[G1_LEN..], false)?,
    );
    Some((G1_ADD_GAS, encode_g1((a.into_group() + b).into_affine())))
}

/// G2ADD: the sum of two G2 points (on the curve, no subgroup check).
pub(crate) fn g2_add(input: &[u8], limit: u64) -> Outcome {
    if G2_ADD_GAS > limit || input.len() != 2 * G2_LEN {
        return None;
    }
    let (a, b) = (
        read_g2(&input[..G2_LEN], false)?,
        read_g2(&input[G2_LEN..], false)?,
    );
    Some((G2_ADD_GAS, encode_g2((a.into_group() + b).into_affine())))
}

/// G1MSM: `Σ s_i · P_i` over `k ≥ 1` pairs `P_i ‖ s_i`, every point in the subgroup.
pub(crate) fn g1_msm(input: &[u8], limit: u64) -> Outcome {
    let k = input.len() / G1_MSM_PAIR_LEN;
    if k == 0 || !input.len().is_multiple_of(G1_MSM_PAIR_LEN) || input.len() > G1_MSM_MAX_INPUT {
        return None;
    }
    let gas = msm_gas(k, &G1_MSM_DISCOUNT, G1_MUL_GAS);
    if gas > limit {
        return None;
    }
    let mut bases = Vec::with_capacity(k);
    let mut scalars = Vec::with_capacity(k);
    for pair in input.chunks(G1_MSM_PAIR_LEN) {
        bases.push(read_g1(&pair[..G1_LEN], true)?);
        scalars.push(read_scalar(&pair[G1_LEN..]));
    }
    let sum = G1Projective::msm_unchecked(&bases, &scalars);
    Some((gas, encode_g1(sum.into_affine())))
}

/// G2MSM: as [`g1_msm`] over G2.
pub(crate) fn g2_msm(input: &[u8], limit: u64) -> Outcome {
    let k = input.len() / G2_MSM_PAIR_LEN;
    if k == 0 || !input.len().is_multiple_of(G2_MSM_PAIR_LEN) || input.len() > G2_MSM_MAX_INPUT {
        return None;
    }
    let gas = msm_gas(k, &G2_MSM_DISCOUNT, G2_MUL_GAS);
    if gas > limit {
        return None;
    }
    let mut bases = Vec::with_capacity(k);
    let mut scalars = Vec::with_capacity(k);
    for pair in input.chunks(G2_MSM_PAIR_LEN) {
        bases.push(read_g2(&pair[..G2_LEN], true)?);
        scalars.push(read_scalar(&pair[G2_LEN..]));
    }
    let sum = G2Projective::msm_unchecked(&bases, &scalars);
    Some((gas, encode_g2(sum.into_affine())))
}

/// PAIRING_CHECK: the word 1 iff `Π e(P_i, Q_i) = 1` over `k ≥ 1` pairs `P_i ‖ Q_i`, every
/// point in its subgroup; pairs with a point at infinity contribute 1.
pub(crate) fn pairing(input: &[u8], limit: u64) -> Outcome {
    let k = input.len() / PAIRING_PAIR_LEN;
    if k == 0 || !input.len().is_multiple_of(PAIRING_PAIR_LEN) || input.len() > PAIRING_MAX_INPUT {
        return None;
    }
    let gas = (k as u64)
        .saturating_mul(PAIRING_PAIR_GAS)
        .saturating_add(PAIRING_BASE_GAS);
    if gas > limit {
        return None;
    }
    let (mut g1s, mut g2s) = (Vec::with_capacity(k), Vec::with_capacity(k));
    for pair in input.chunks(PAIRING_PAIR_LEN) {
        let (a, b) = (
            read_g1(&pair[..G1_LEN], true)?,
            read_g2(&pair[G1_LEN..], true)?,
        );
        if !a.is_zero() && !b.is_zero() {
            g1s.push(a);
            g2s.push(b);
        }
    }
    let one = g1s.is_empty() || Bls12_381::multi_pairing(&g1s, &g2s).0.is_one();
    let mut out = vec![0u8; 32];
    out[31] = u8::from(one);
    Some((gas, out))
}

/// MAP_FP_TO_G1: the simplified SWU map to the 11-isogenous curve, the isogeny, then the
/// cofactor cleared with `h_eff = 0xd201000000010001` (RFC 9380 §6.6.3, §8.8.1).
pub(crate) fn map_fp_to_g1(input: &[u8], limit: u64) -> Result<Outcome, VerifyError> {
    if MAP_FP_TO_G1_GAS > limit || input.len() != FP_LEN {
        return Ok(None);
    }
    let Some(u) = read_fp(input) else {
        return Ok(None);
    };
    let p = WBMap::<g1::Config>::map_to_curve(u).map_err(|_| VerifyError::Unsupported {
        what: "BLS12-381 map to G1 failed",
    })?;
    Ok(Some((MAP_FP_TO_G1_GAS, encode_g1(p.clear_cofactor()))))
}

/// MAP_FP2_TO_G2: as [`map_fp_to_g1`] over Fp2 (input `c0 ‖ c1`) with the 3-isogeny and the
/// G2 cofactor clearing of RFC 9380 §8.8.2 (`h_eff` via the ψ endomorphism).
pub(crate) fn map_fp2_to_g2(input: &[u8], limit: u64) -> Result<Outcome, VerifyError> {
    if MAP_FP2_TO_G2_GAS > limit || input.len() != 2 * FP_LEN {
        return Ok(None);
    }
    let (Some(c0), Some(c1)) = (read_fp(&input[..FP_LEN]), read_fp(&input[FP_LEN..])) else {
        return Ok(None);
    };
    let p = WBMap::<g2::Config>::map_to_curve(Fq2::new(c0, c1)).map_err(|_| {
        VerifyError::Unsupported {
            what: "BLS12-381 map to G2 failed",
        }
    })?;
    Ok(Some((MAP_FP2_TO_G2_GAS, encode_g2(p.clear_cofactor()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::Fr;
    use proptest::prelude::*;

    proptest! {
        /// Encoding a multiple of a generator and reading it back gives the point, with or without
        /// the subgroup check; a set padding byte or a coordinate raised by p is refused.
        #[test]
        fn encodings_round_trip(k in any::<u64>(), pad in 0usize..16, which in 0usize..4) {
            let p = (G1Affine::generator() * Fr::from(k)).into_affine();
            let q = (G2Affine::generator() * Fr::from(k)).into_affine();
            let (e1, e2) = (encode_g1(p), encode_g2(q));
            prop_assert_eq!(read_g1(&e1, true), Some(p));
            prop_assert_eq!(read_g1(&e1, false), Some(p));
            prop_assert_eq!(read_g2(&e2, true), Some(q));
            let mut bad = e2.clone();
            bad[which * FP_LEN + pad] = 1;
            prop_assert_eq!(read_g2(&bad, false), None);
            // x + p as a 48-byte value still fits (p < 2^381), and is not canonical.
            let raised = {
                let mut b = Fq::MODULUS;
                let x = p.xy().map(|(x, _)| x.into_bigint()).unwrap_or_default();
                b.add_with_carry(&x);
                b.to_bytes_be()
            };
            let mut high = e1.clone();
            high[16..64].copy_from_slice(&raised);
            prop_assert_eq!(read_g1(&high, false), None);
        }

        /// MSM gas is monotonic in k and follows the table's last entry past 128 pairs.
        #[test]
        fn msm_gas_follows_the_table(k in 1usize..4000) {
            prop_assert!(msm_gas(k + 1, &G1_MSM_DISCOUNT, G1_MUL_GAS) >= msm_gas(k, &G1_MSM_DISCOUNT, G1_MUL_GAS));
            if k > 128 {
                prop_assert_eq!(msm_gas(k, &G2_MSM_DISCOUNT, G2_MUL_GAS), k as u64 * G2_MUL_GAS * 524 / 1000);
            }
        }
    }
}
