//! The L2's precompiles in the Solidity verifier: `L2Precompiles.run` on the L1 against the
//! rollup's precompile set (`fraud_vm::precompiles::rollup`, op-revm's Isthmus set with the
//! rollup's bounds) (success, gas and output for every address, valid inputs, their
//! mutations, the exact gas, one less and plenty; modexp headers at random; P256VERIFY on
//! signatures built for every special case of the verification), and the call steps that reach
//! them against the Rust verifier.

use super::*;
use p256::elliptic_curve::bigint::U256 as U256Limbs;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::{AffineCoordinates, DecompressPoint};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::{Field, PrimeField};
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

/// What a precompile of the L2 (the rollup's set, as op-node runs it) answers: success, gas
/// used, output.
fn l2_run(address: u64, input: &[u8], limit: u64) -> (bool, u64, Vec<u8>) {
    let at = Address::left_padding_from(&address.to_be_bytes());
    let precompile = fraud_vm::precompiles::rollup()
        .get(&at)
        .expect("a precompile of the L2");
    match precompile.execute(input, limit, 0) {
        Ok(out) if out.is_success() => (true, out.gas_used, out.bytes.to_vec()),
        _ => (false, 0, Vec::new()),
    }
}

/// Runs `input` at `address` with the exact gas the L2 charges, one less and plenty, through
/// `L2Precompiles` and op-revm; a difference is a failure.
fn compare(l1: &mut L1Verifier, address: u64, input: &[u8], failures: &mut Vec<String>) {
    let plenty = 30_000_000;
    let (_, exact, _) = l2_run(address, input, plenty);
    let mut limits = vec![plenty];
    if exact > 0 {
        limits.extend([exact, exact - 1]);
    }
    for limit in limits {
        let want = l2_run(address, input, limit);
        let got = l1.precompile(address, input, limit);
        let (ok, used, output) = match &got {
            Ok(answer) => answer.clone(),
            Err(e) => {
                failures.push(format!("{address:#x} limit {limit}: reverted {e}"));
                continue;
            }
        };
        // A failure's gas is the whole limit whatever the number says.
        let agree = ok == want.0 && (!ok || (used, &output) == (want.1, &want.2));
        if !agree {
            failures.push(format!(
                "{address:#x} limit {limit} input {}: L2 {want:?}, Solidity {got:?}",
                alloy::primitives::hex::encode(input)
            ));
        }
    }
}

/// A signed ecrecover input (hash, v, r, s).
fn ecrecover_input() -> Vec<u8> {
    let secret = secp256k1::SecretKey::from_byte_array([7u8; 32]).expect("key");
    let hash = [9u8; 32];
    let (id, sig) = secp256k1::SECP256K1
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash), &secret)
        .serialize_compact();
    let mut input = hash.to_vec();
    input.extend(U256::from(27 + i32::from(id) as u64).to_be_bytes::<32>());
    input.extend(sig);
    input
}

/// One valid input per precompile of the L2.
fn valid_inputs() -> Vec<(u64, Vec<u8>)> {
    let u = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let bytes: Vec<u8> = (0..100u8).collect();
    let bn = bn254_case().calldata;
    let mut inputs = vec![
        (1, ecrecover_input()),
        (2, bytes.clone()),
        (3, bytes[..33].to_vec()),
        (4, bytes.clone()),
        // modexp: 3^5 mod 7, and a 40-byte exponent.
        (5, [u(1), u(1), u(1), vec![3, 5, 7]].concat()),
        (
            5,
            [u(2), u(40), u(3), vec![1, 2], vec![0xff; 40], vec![9, 9, 9]].concat(),
        ),
        (6, bn[..128].to_vec()),
        (7, bn[128..224].to_vec()),
        (8, bn[224..608].to_vec()),
        (9, blake2f_case().calldata),
    ];
    inputs.extend(
        valid_precompile_inputs()
            .into_iter()
            .map(|(address, input, _)| (address, input)),
    );
    inputs
}

/// Every precompile of the L2 on a valid input and on changed ones (a byte flipped at several
/// places, the input cut and extended, empty), each with the exact gas, one less and plenty:
/// `L2Precompiles` answers what op-revm's Isthmus precompile answers.
#[test]
fn solidity_precompiles_match_the_l2() {
    let mut l1 = L1Verifier::deploy();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (address, input) in valid_inputs() {
        let n = input.len();
        let mut variants = vec![input.clone(), Vec::new(), input[..n - 1].to_vec()];
        variants.push([&input[..], &[0]].concat());
        for at in [0, 1, 31, 32, 63, 64, 95, 96, n / 2, n - 1] {
            let mut v = input.clone();
            v[at % n] ^= 0x01;
            variants.push(v);
        }
        for v in variants {
            compare(&mut l1, address, &v, &mut failures);
            runs += 1;
        }
    }
    println!("{runs} precompile inputs compared");
    let (_, valid, _) = valid_precompile_inputs()
        .into_iter()
        .find(|(a, _, _)| *a == 0x100)
        .expect("a P256VERIFY input");
    assert_eq!(
        l1.precompile(0x100, &valid, 3450).map(|r| r.2.len()),
        Ok(32)
    );
    println!(
        "P256VERIFY of a valid signature: {} gas (L2Precompiles.run as an L1 transaction)",
        l1.last_gas
    );
    assert!(failures.is_empty(), "{:#?}", failures);
}

/// A precompile call given too little gas to run on the L1 reverts `PrecompileGasShort`: it
/// never answers that the precompile failed.
#[test]
fn solidity_precompile_short_of_gas_reverts() {
    let mut l1 = L1Verifier::deploy();
    // modexp with 704-byte operands and a 32-byte exponent, the heaviest the rollup's bounds
    // allow: 658,240 gas on the L2, 3,949,440 at an Osaka L1's price, which the verifier gives
    // the L1's precompile; a million gas is more than the L2's price but short of that.
    let u = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let input = [
        u(704),
        u(32),
        u(704),
        vec![3; 704],
        vec![0xff; 32],
        vec![0x7f; 704],
    ]
    .concat();
    let (ok, used, _) = l2_run(5, &input, 30_000_000);
    assert!(ok && used == 658_240, "{used}");
    let data = runCall {
        addr: U256::from(5),
        input: Bytes::from(input.clone()),
        limit: U256::from(used),
    }
    .abi_encode();
    let result = l1.call_with_gas(l1.precompiles, data, 1_000_000);
    match result {
        ExecutionResult::Revert { output, .. } => {
            assert_eq!(error_name(&output), "PrecompileGasShort(uint256)")
        }
        other => panic!("answered with too little gas: {other:?}"),
    }
    assert_eq!(l1.precompile(5, &input, used), Ok(l2_run(5, &input, used)));
}

/// A P256VERIFY input from the scalars of the verification: `R = u1·G + u2·Q`, `r = R.x mod n`,
/// `s = r / u2`, `h = u1 · s` (so that `h / s = u1`, `r / s = u2`), and whether `R` is infinity
/// (then `r` is any, and the signature is invalid); `None` if `r` is 0.
fn p256_input(u1: Scalar, u2: Scalar, q: ProjectivePoint) -> Option<(Vec<u8>, bool)> {
    let big_r = (ProjectivePoint::GENERATOR * u1 + q * u2).to_affine();
    let infinite = big_r == AffinePoint::IDENTITY;
    let r = if infinite {
        Scalar::from(5u64)
    } else {
        <Scalar as Reduce<U256Limbs>>::reduce_bytes(&big_r.x())
    };
    if bool::from(r.is_zero()) || bool::from(u2.is_zero()) {
        return None;
    }
    let s = r * Option::<Scalar>::from(u2.invert())?;
    let h = u1 * s;
    let q = q.to_affine().to_encoded_point(false);
    let (x, y) = (q.x()?, q.y()?);
    let input = [
        &h.to_repr()[..],
        &r.to_repr()[..],
        &s.to_repr()[..],
        &x[..],
        &y[..],
    ]
    .concat();
    Some((input, infinite))
}

/// A point whose x lies in `[n, p)`: `R.x mod n ≠ R.x`.
fn high_x_point() -> ProjectivePoint {
    let n = U256::from_be_slice(&Scalar::MODULUS_BYTES);
    (1u64..)
        .find_map(|t| {
            let x = FieldBytes::from((n + U256::from(t)).to_be_bytes::<32>());
            Option::<AffinePoint>::from(AffinePoint::decompress(&x, 0u8.into()))
        })
        .map(ProjectivePoint::from)
        .expect("a point")
}

trait ScalarBytes {
    const MODULUS_BYTES: [u8; 32];
}

impl ScalarBytes for Scalar {
    const MODULUS_BYTES: [u8; 32] =
        alloy::primitives::hex!("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
}

fn scalar_of(bytes: [u8; 32]) -> Scalar {
    <Scalar as Reduce<U256Limbs>>::reduce_bytes(&FieldBytes::from(bytes))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// P256VERIFY on signatures built from their verification scalars: the public key G, −G,
    /// 2G, a random one, or chosen so that `R` is infinity or has `R.x ≥ n`; `u1 = 0`, equal
    /// scalars, small and random ones; the hash as given and plus n; then one bit flipped.
    #[test]
    fn solidity_p256_matches_the_l2(
        key in 0u8..6,
        k in any::<[u8; 32]>(),
        u1 in prop_oneof![Just([0u8; 32]), Just({ let mut b = [0u8; 32]; b[31] = 1; b }), any::<[u8; 32]>()],
        u2 in any::<[u8; 32]>(),
        same in any::<bool>(),
        plus_n in any::<bool>(),
        flip in any::<(u16, u8)>(),
    ) {
        let g = ProjectivePoint::GENERATOR;
        let (u1, mut u2) = (scalar_of(u1), scalar_of(u2));
        if same {
            u2 = u1;
        }
        prop_assume!(!bool::from(u2.is_zero()));
        let q = match key {
            0 => g,
            1 => -g,
            2 => g + g,
            3 => g * scalar_of(k),
            // R at infinity: u1·G + u2·Q = 0.
            4 => -(g * (u1 * Option::<Scalar>::from(u2.invert()).expect("non-zero"))),
            // R with x ≥ n: Q = (R − u1·G) / u2.
            _ => (high_x_point() - g * u1) * Option::<Scalar>::from(u2.invert()).expect("non-zero"),
        };
        prop_assume!(q != ProjectivePoint::IDENTITY);
        let Some((mut input, infinite)) = p256_input(u1, u2, q) else {
            return Ok(());
        };
        if plus_n {
            let h = U256::from_be_slice(&input[..32]);
            let n = U256::from_be_slice(&Scalar::MODULUS_BYTES);
            if let Some(h) = h.checked_add(n) {
                input[..32].copy_from_slice(&h.to_be_bytes::<32>());
            }
        }
        let mut l1 = L1Verifier::deploy();
        let mut failures = Vec::new();
        compare(&mut l1, 0x100, &input, &mut failures);
        let valid = l2_run(0x100, &input, 3450).2.len() == 32;
        prop_assert_eq!(valid, !infinite, "the built signature's validity");
        let mut flipped = input.clone();
        flipped[usize::from(flip.0) % 160] ^= 1 << (flip.1 % 8);
        compare(&mut l1, 0x100, &flipped, &mut failures);
        prop_assert!(failures.is_empty(), "{:#?}", failures);
    }

    /// modexp headers and operands at random: lengths around the word and the 32-byte exponent
    /// head, zero and huge lengths, as op-revm computes its gas and result.
    #[test]
    fn solidity_modexp_matches_the_l2(
        lens in (0u64..70, 0u64..70, 0u64..70),
        huge in 0u8..11,
        body in proptest::collection::vec(any::<u8>(), 0..220),
        limit in prop_oneof![Just(200u64), Just(1_000), Just(100_000), 0u64..5_000_000],
    ) {
        let (mut b, mut e, mut m) = (U256::from(lens.0), U256::from(lens.1), U256::from(lens.2));
        match huge {
            0 => b = U256::from(1u64 << 63),
            1 => e = U256::from(u64::MAX) + U256::from(5),
            2 => m = U256::MAX,
            3 => e = U256::from(1u64 << 40),
            // Around the rollup's 1024-byte bound (SPEC.md §5.15 "Bounds").
            4 => b = U256::from(1024),
            5 => m = U256::from(1025),
            6 => e = U256::from(1024),
            _ => {}
        }
        let mut input = [b.to_be_bytes::<32>(), e.to_be_bytes::<32>(), m.to_be_bytes::<32>()].concat();
        input.extend(body);
        let mut l1 = L1Verifier::deploy();
        let want = l2_run(5, &input, limit);
        let got = l1.precompile(5, &input, limit);
        let agree = match &got {
            Ok((ok, used, out)) => *ok == want.0 && (!ok || (*used, out) == (want.1, &want.2)),
            Err(_) => false,
        };
        prop_assert!(agree, "L2 {:?}, Solidity {:?}", want, got);
    }
}

/// The programs of the Rust differential that call precompiles.
pub(super) fn precompile_cases() -> Vec<Case> {
    let (_, precompiles) = call_program_list()
        .into_iter()
        .find(|(name, _)| *name == "precompiles")
        .expect("the precompile program");
    let mut cases = vec![precompiles, blake2f_case(), bn254_case()];
    for (data, calls) in [kzg_call_list(), bls12_381_call_list(), p256_call_list()] {
        cases.push(precompile_case(&data, &calls));
    }
    cases
}

/// The programs that call precompiles: ecrecover, sha256, ripemd160, identity and modexp; the
/// alt_bn128 operations; blake2f; KZG; every BLS12-381 operation; P256VERIFY (valid and every
/// failure class of their Rust tests). Every step, and every tampered proof, through both
/// verifiers.
#[test]
fn solidity_precompile_calls_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for case in &precompile_cases() {
        tally.case(&mut l1, case, true);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for to in (1..=0x11u64).chain([0x100]) {
        assert!(
            tally
                .gas
                .keys()
                .any(|k| k.ends_with(&format!("to {to:#04x}"))),
            "no call to {to:#04x} verified: {:?}",
            tally.gas.keys()
        );
    }
    println!("precompile calls: {} tampered proofs", tally.tampered);
    tally.report();
}

/// The rollup's bounds (SPEC.md §5.15 "Bounds") through both verifiers: `L2Precompiles.run`
/// answers what the rollup's set answers for each input at a bound and one past it (the exact
/// gas, one less and plenty), and every step of the programs that call them, tampered proofs
/// included, gets the Rust verifier's answer from the Solidity verifier.
#[test]
fn solidity_precompile_bounds_match() {
    let mut l1 = L1Verifier::deploy();
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for (name, data, calls) in precompile_bound_cases() {
        for c in &calls {
            let input = &data[c.offset..c.offset + c.len];
            let (ok, _, _) = l2_run(c.address, input, c.gas);
            assert_eq!(ok, c.ok, "{name}: the rollup's set at {} bytes", c.len);
            compare(&mut l1, c.address, input, &mut failures);
        }
        tally.case(&mut l1, &precompile_case(&data, &calls), true);
    }
    assert!(failures.is_empty(), "{:#?}", failures);
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    println!("precompile bounds: {} tampered proofs", tally.tampered);
    tally.report();
}
