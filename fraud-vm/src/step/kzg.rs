//! The KZG point evaluation precompile of EIP-4844 (0x0a, SPEC.md §5.15): checks that the blob
//! polynomial committed to by `commitment` takes the value `y` at `z`, with `proof` the KZG
//! opening. Written on arkworks' BLS12-381 pairing and one constant of the mainnet trusted setup
//! (`[τ]G2`), not on `c-kzg`, which revm runs.

use super::bls12_381::read_fp48;
use super::precompile::Outcome;
use alloy::primitives::hex;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, One, PrimeField};
use sha2::Digest;

/// Gas of the point evaluation.
const GAS: u64 = 50_000;
/// Input: `versioned_hash(32) ‖ z(32) ‖ y(32) ‖ commitment(48) ‖ proof(48)`.
const INPUT_LEN: usize = 192;
/// EIP-4844 `VERSIONED_HASH_VERSION_KZG`.
const VERSION_KZG: u8 = 0x01;
/// `FIELD_ELEMENTS_PER_BLOB`, the first word of the output.
const FIELD_ELEMENTS_PER_BLOB: u64 = 4096;

/// `[τ]G2` of the Ethereum KZG ceremony, compressed: the second G2 point (index 1) of the
/// monomial G2 list in `trusted_setup.txt` of ethereum/c-kzg-4844 (the EIP-4844 mainnet setup).
const TAU_G2: [u8; 96] = hex!(
    "b5bfd7dd8cdeb128843bc287230af38926187075cbfbefa81009a2ce615ac53d2914e5870cb452d2afaaab24f3499f72"
    "185cbfee53492714734429b7b38608e23926c911cceceac9a36851477ba4c60b087041de621000edc98edada20c1def2"
);

/// A compressed G1 point (the ZCash encoding that EIP-4844 uses): flag bits `C I S` on top of
/// the first byte; `C` must be set; with `I` the rest (and `S`) must be zero and the point is
/// infinity; otherwise the remaining 381 bits are `x < p`, `y` is the root of `x³ + 4` that is
/// the larger of `y`, `p − y` iff `S`, and the point must be in the r-order subgroup.
pub(crate) fn read_g1_compressed(bytes: &[u8; 48]) -> Option<G1Affine> {
    let flags = bytes[0] & 0xe0;
    if flags & 0x80 == 0 {
        return None;
    }
    let mut x = *bytes;
    x[0] &= 0x1f;
    if flags & 0x40 != 0 {
        return (flags == 0xc0 && x.iter().all(|b| *b == 0)).then(G1Affine::zero);
    }
    let x = read_fp48(&x)?;
    let p = G1Affine::get_point_from_x_unchecked(x, flags & 0x20 != 0)?;
    p.is_in_correct_subgroup_assuming_on_curve().then_some(p)
}

/// A compressed G2 point, as [`read_g1_compressed`] with `x = x.c1 ‖ x.c0` and the sign taken
/// lexicographically (on `c1`, then `c0`); only used for the constant [`TAU_G2`].
fn read_g2_compressed(bytes: &[u8; 96]) -> Option<G2Affine> {
    use ark_serialize::CanonicalDeserialize;
    G2Affine::deserialize_compressed(&bytes[..]).ok()
}

/// A 32-byte big-endian element of the scalar field, below its modulus `r`.
fn read_fr(be: &[u8]) -> Option<Fr> {
    let v = Fr::from_be_bytes_mod_order(be);
    (v.into_bigint().to_bytes_be() == be).then_some(v)
}

/// The point evaluation: fails unless the input is 192 bytes, `versioned_hash = 0x01 ‖
/// sha256(commitment)[1..]`, `z`, `y` are below `r`, `commitment` and `proof` are valid
/// compressed G1 points, and `e(commitment − [y]G1, G2) = e(proof, [τ]G2 − [z]G2)`. The output
/// is `FIELD_ELEMENTS_PER_BLOB ‖ r` as two words.
pub(crate) fn point_evaluation(input: &[u8], limit: u64) -> Outcome {
    if GAS > limit || input.len() != INPUT_LEN {
        return None;
    }
    let commitment: &[u8; 48] = input[96..144].try_into().ok()?;
    let mut hash: [u8; 32] = sha2::Sha256::digest(commitment).into();
    hash[0] = VERSION_KZG;
    if input[..32] != hash {
        return None;
    }
    let z = read_fr(&input[32..64])?;
    let y = read_fr(&input[64..96])?;
    let c = read_g1_compressed(commitment)?;
    let proof = read_g1_compressed(input[144..192].try_into().ok()?)?;
    let tau = read_g2_compressed(&TAU_G2)?;
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let lhs = (c.into_group() - g1 * y).into_affine();
    let x_minus_z = (tau.into_group() - g2 * z).into_affine();
    // e(C − yG1, −G2) · e(π, τG2 − zG2) = 1.
    let ok = Bls12_381::multi_pairing([lhs, proof], [-g2, x_minus_z])
        .0
        .is_one();
    if !ok {
        return None;
    }
    let mut out = vec![0u8; 64];
    out[24..32].copy_from_slice(&FIELD_ELEMENTS_PER_BLOB.to_be_bytes());
    out[32..].copy_from_slice(&Fr::MODULUS.to_bytes_be());
    Some((GAS, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
    use proptest::prelude::*;

    /// The G2 point 0 of the same trusted-setup list is the generator, so the decoding of the
    /// constant follows the setup's encoding.
    #[test]
    fn trusted_setup_encoding() {
        let g2 = hex!(
            "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
            "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
        );
        assert_eq!(read_g2_compressed(&g2), Some(G2Affine::generator()));
        let tau = read_g2_compressed(&TAU_G2).expect("tau decodes");
        assert!(tau.is_on_curve() && tau.is_in_correct_subgroup_assuming_on_curve());
    }

    /// c-kzg-4844 `tests/verify_kzg_proof/kzg-mainnet/verify_kzg_proof_case_correct_proof_4_4`
    /// (also revm-precompile's `basic_test`): a valid opening at `z = r − 1`.
    #[test]
    fn ckzg_vector() {
        let commitment = hex!(
            "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7"
        );
        let mut hash: [u8; 32] = sha2::Sha256::digest(commitment).into();
        hash[0] = 1;
        let z = hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000");
        let y = hex!("1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9");
        let proof = hex!(
            "a62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c"
        );
        let input = [&hash[..], &z, &y, &commitment, &proof].concat();
        let (gas, out) = point_evaluation(&input, GAS).expect("valid proof");
        assert_eq!(gas, GAS);
        assert_eq!(
            hex::encode(out),
            concat!(
                "0000000000000000000000000000000000000000000000000000000000001000",
                "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"
            )
        );
        assert_eq!(point_evaluation(&input, GAS - 1), None);
        let mut bad = input.clone();
        bad[95] ^= 1; // another y
        assert_eq!(point_evaluation(&bad, GAS), None);
        assert_eq!(point_evaluation(&input[..191], GAS), None);
    }

    proptest! {
        /// The compressed decoding written out here accepts exactly what arkworks' ZCash decoding
        /// (with validation) accepts, on encodings of subgroup points with one byte changed.
        #[test]
        fn compressed_g1_matches_arkworks(k in any::<u64>(), at in 0usize..48, x in any::<u8>()) {
            let p = (G1Affine::generator() * Fr::from(k)).into_affine();
            let mut b = [0u8; 48];
            p.serialize_compressed(&mut b[..]).expect("48 bytes");
            prop_assert_eq!(read_g1_compressed(&b), Some(p));
            b[at] = x;
            prop_assert_eq!(read_g1_compressed(&b), G1Affine::deserialize_compressed(&b[..]).ok());
        }
    }
}
