//! P256VERIFY (0x0100, RIP-7212 as the OP Stack runs it since Fjord; SPEC.md §5.15): ECDSA
//! verification over secp256r1 of a prehashed message. The verification equation is written
//! here on the `p256` crate's group arithmetic (revm calls that crate's ECDSA verifier).

use super::precompile::Outcome;
use p256::elliptic_curve::bigint::U256;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::FromEncodedPoint;
use p256::elliptic_curve::{Field, PrimeField};
use p256::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar};

/// Gas of P256VERIFY under the OP Stack (RIP-7212; Osaka's 6900 is not in force on the L2).
const GAS: u64 = 3450;
/// Input: `h(32) ‖ r(32) ‖ s(32) ‖ x(32) ‖ y(32)`.
const INPUT_LEN: usize = 160;

/// Runs P256VERIFY: fails only for less gas than [`GAS`]; the output is the word 1 for a valid
/// signature and empty otherwise.
pub(crate) fn verify(input: &[u8], limit: u64) -> Outcome {
    if GAS > limit {
        return None;
    }
    let out = if valid(input) {
        let mut word = vec![0u8; 32];
        word[31] = 1;
        word
    } else {
        Vec::new()
    };
    Some((GAS, out))
}

/// Whether `input` is `h ‖ r ‖ s ‖ x ‖ y` with `1 ≤ r, s < n`, `(x, y)` a point of the curve
/// (coordinates below `p`), and, with `e = h mod n`, `R = (e / s)·G + (r / s)·Q` not infinity
/// and `R.x mod n = r`. A high `s` is accepted.
fn valid(input: &[u8]) -> bool {
    if input.len() != INPUT_LEN {
        return false;
    }
    let bytes = |b: &[u8]| {
        let mut f = FieldBytes::default();
        f.copy_from_slice(b);
        f
    };
    let scalar = |b: &[u8]| -> Option<Scalar> {
        let s = Option::<Scalar>::from(Scalar::from_repr(bytes(b)))?;
        (!bool::from(s.is_zero())).then_some(s)
    };
    let (Some(r), Some(s)) = (scalar(&input[32..64]), scalar(&input[64..96])) else {
        return false;
    };
    let point = EncodedPoint::from_affine_coordinates(
        &bytes(&input[96..128]),
        &bytes(&input[128..160]),
        false,
    );
    // Checks both coordinates below p and the curve equation; an uncompressed encoding is never
    // the identity.
    let Some(q) = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&point)) else {
        return false;
    };
    let e = <Scalar as Reduce<U256>>::reduce_bytes(&bytes(&input[..32]));
    let Some(w) = Option::<Scalar>::from(s.invert()) else {
        return false;
    };
    let big_r =
        (ProjectivePoint::GENERATOR * (e * w) + ProjectivePoint::from(q) * (r * w)).to_affine();
    if big_r == AffinePoint::IDENTITY {
        return false;
    }
    <Scalar as Reduce<U256>>::reduce_bytes(&big_r.x()) == r
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;

    /// daimo-eth/p256-verifier test vectors (as revm-precompile's `secp256r1` tests carry them):
    /// a valid signature, the same with another message, a short input.
    #[test]
    fn known_vectors() {
        let ok = hex!(
            "4cee90eb86eaa050036147a12d49004b6b9c72bd725d39d4785011fe190f0b4da73bd4903f0ce3b639bbbf6e8e80d16931ff4bcf5993d58468e8fb19086e8cac36dbcd03009df8c59286b162af3bd7fcc0450c9aa81be5d10d312af6c66b1d604aebd3099c618202fcfe16ae7770b0c49ab5eadf74b754204a3bb6060e44eff37618b065f9832de4ca6ca971a7a1adc826d0f7c00181a5fb2ddf79ae00b4e10e"
        );
        let mut word = vec![0u8; 32];
        word[31] = 1;
        assert_eq!(verify(&ok, 3450), Some((3450, word)));
        assert_eq!(verify(&ok, 3449), None);
        let mut wrong = ok;
        wrong[0] = 0x3c;
        assert_eq!(verify(&wrong, 3450), Some((3450, Vec::new())));
        assert_eq!(verify(&ok[..159], 3450), Some((3450, Vec::new())));
        // The public key replaced by (0, 0), which is not on the curve.
        let mut off = ok;
        off[96..].fill(0);
        assert_eq!(verify(&off, 3450), Some((3450, Vec::new())));
    }
}
