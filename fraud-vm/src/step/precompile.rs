//! Precompiled contracts (SPEC.md §5.15): output and gas from the input bytes alone, so the
//! precompile runs inside the call step. The set is the rollup's (`crate::precompiles`: the OP
//! Stack Isthmus L2's with modexp, blake2f and the four pair-list inputs bounded): ecrecover (0x01),
//! sha256 (0x02), ripemd160 (0x03), identity (0x04), modexp (0x05, EIP-2565), the alt_bn128
//! operations (0x06–0x08, `bn254.rs`), blake2f (0x09, EIP-152), KZG point evaluation (0x0a,
//! `kzg.rs`), the BLS12-381 operations (0x0b–0x11, `bls12_381.rs`) and P256VERIFY (0x0100,
//! `p256.rs`). Any other address answers `Unsupported` (callers only pass precompiles).

use crate::proof::VerifyError;
use alloy::primitives::{Address, B256, U256, keccak256};

/// The result of a precompile: `Some((gas used, output))`, or `None` when it fails (it then
/// consumes all the gas it was given).
pub(crate) type Outcome = Option<(u64, Vec<u8>)>;

fn words(len: usize) -> u64 {
    (len as u64).div_ceil(32)
}

/// Runs the precompile at `address` on `input` with `limit` gas.
pub(crate) fn run(address: Address, input: &[u8], limit: u64) -> Result<Outcome, VerifyError> {
    let n = U256::from_be_slice(address.as_slice());
    let id = u64::try_from(n).unwrap_or(u64::MAX);
    Ok(match id {
        1 => Some((3000, ecrecover(input))),
        2 => {
            use sha2::Digest;
            Some((
                60 + 12 * words(input.len()),
                sha2::Sha256::digest(input).to_vec(),
            ))
        }
        3 => {
            use ripemd::Digest;
            let mut out = vec![0u8; 12];
            out.extend_from_slice(&ripemd::Ripemd160::digest(input));
            Some((600 + 120 * words(input.len()), out))
        }
        4 => Some((15 + 3 * words(input.len()), input.to_vec())),
        5 => modexp(input, limit),
        6 => super::bn254::add(input, limit),
        7 => super::bn254::mul(input, limit),
        8 => super::bn254::pairing(input, limit),
        9 => blake2f(input, limit),
        0x0a => super::kzg::point_evaluation(input, limit),
        0x0b => super::bls12_381::g1_add(input, limit),
        0x0c => super::bls12_381::g1_msm(input, limit),
        0x0d => super::bls12_381::g2_add(input, limit),
        0x0e => super::bls12_381::g2_msm(input, limit),
        0x0f => super::bls12_381::pairing(input, limit),
        0x10 => super::bls12_381::map_fp_to_g1(input, limit)?,
        0x11 => super::bls12_381::map_fp2_to_g2(input, limit)?,
        0x0100 => super::p256::verify(input, limit),
        _ => {
            return Err(VerifyError::Unsupported {
                what: "not a precompile",
            });
        }
    })
}

/// ecrecover: the address that signed `hash` with `(v, r, s)`, left-padded to 32 bytes, or no
/// output for an invalid signature (the call still succeeds).
/// The address of the secp256k1 key that signed the digest `hash` with `(r, s)` and recovery
/// parity `parity` (0 or 1), as ecrecover computes it; `None` when none does.
pub(crate) fn recover(hash: B256, parity: u8, r: U256, s: U256) -> Option<Address> {
    if parity > 1 {
        return None;
    }
    let mut input = [0u8; 128];
    input[..32].copy_from_slice(hash.as_slice());
    input[63] = 27 + parity;
    input[64..96].copy_from_slice(&r.to_be_bytes::<32>());
    input[96..].copy_from_slice(&s.to_be_bytes::<32>());
    let out = ecrecover(&input);
    (out.len() == 32).then(|| Address::from_slice(&out[12..]))
}

fn ecrecover(input: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let n = input.len().min(128);
    buf[..n].copy_from_slice(&input[..n]);
    let v = &buf[32..64];
    if v[..31].iter().any(|b| *b != 0) || !(v[31] == 27 || v[31] == 28) {
        return Vec::new();
    }
    let Ok(id) = secp256k1::ecdsa::RecoveryId::try_from(i32::from(v[31] - 27)) else {
        return Vec::new();
    };
    let Ok(sig) = secp256k1::ecdsa::RecoverableSignature::from_compact(&buf[64..128], id) else {
        return Vec::new();
    };
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&buf[..32]);
    let msg = secp256k1::Message::from_digest(hash);
    let Ok(key) = secp256k1::SECP256K1.recover_ecdsa(msg, &sig) else {
        return Vec::new();
    };
    let mut out = vec![0u8; 12];
    out.extend_from_slice(&keccak256(&key.serialize_uncompressed()[1..])[12..]);
    out
}

/// Big-endian bytes `[offset, offset + len)` of `input`, zero past its end.
fn slice(input: &[u8], offset: usize, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if offset < input.len() {
        let n = (input.len() - offset).min(len);
        out[..n].copy_from_slice(&input[offset..offset + n]);
    }
    out
}

/// modexp (EIP-198 with the EIP-2565 gas): `base^exp mod modulus`, output `len(modulus)` bytes,
/// within the rollup's bounds (SPEC.md §5.15 "Bounds"): each length at most 1024 bytes and the
/// EIP-7883 (Osaka) price at most `MODEXP_MAX_L1_GAS`, else failure. Follows revm's order (every
/// failure has the same effect): the minimum gas, the lengths, the bounds, the gas, the empty
/// case, then the arithmetic.
fn modexp(input: &[u8], limit: u64) -> Outcome {
    use crate::precompiles::{MODEXP_MAX_L1_GAS, MODEXP_MAX_LEN};
    if 200 > limit {
        return None;
    }
    let header = |i: usize| U256::from_be_slice(&slice(input, 32 * i, 32));
    let (b_len, e_len, m_len) = (header(0), header(1), header(2));
    let most = U256::from(MODEXP_MAX_LEN);
    if b_len > most || e_len > most || m_len > most {
        return None;
    }
    // Each at most 1024 from here on.
    let (b_len, e_len, m_len) = (
        b_len.to::<usize>(),
        e_len.to::<usize>(),
        m_len.to::<usize>(),
    );
    // The first 32 bytes of the exponent decide its adjusted length.
    let e_head = U256::from_be_slice(&slice(input, 96usize.saturating_add(b_len), e_len.min(32)));
    let head_bits = u128::from(e_head.bit_len().saturating_sub(1) as u32);
    let iterations = if e_len <= 32 {
        head_bits
    } else {
        8u128
            .saturating_mul(e_len as u128 - 32)
            .saturating_add(head_bits)
    };
    let words = (b_len.max(m_len) as u128).div_ceil(8);
    // EIP-7883: complexity 16 up to 32 bytes, else 2·words²; 16 per exponent byte past 32.
    let osaka_iterations = if e_len <= 32 {
        head_bits
    } else {
        16 * (e_len as u128 - 32) + head_bits
    };
    let complexity = if b_len.max(m_len) <= 32 {
        16
    } else {
        2 * words * words
    };
    if (complexity * osaka_iterations.max(1)).max(500) > u128::from(MODEXP_MAX_L1_GAS) {
        return None;
    }
    let gas = words
        .saturating_mul(words)
        .saturating_mul(iterations.max(1))
        / 3;
    let gas = u64::try_from(gas.max(200)).unwrap_or(u64::MAX);
    // Checked before any allocation: the lengths are bounded by what the gas pays for.
    if gas > limit {
        return None;
    }
    if b_len == 0 && m_len == 0 {
        return Some((gas, Vec::new()));
    }
    let base = num_bigint::BigUint::from_bytes_be(&slice(input, 96, b_len));
    let exp = num_bigint::BigUint::from_bytes_be(&slice(input, 96 + b_len, e_len));
    let modulus = num_bigint::BigUint::from_bytes_be(&slice(input, 96 + b_len + e_len, m_len));
    let result = if modulus == num_bigint::BigUint::ZERO {
        num_bigint::BigUint::ZERO
    } else {
        base.modpow(&exp, &modulus)
    };
    let bytes = result.to_bytes_be();
    let mut out = vec![0u8; m_len];
    if result != num_bigint::BigUint::ZERO {
        out[m_len - bytes.len()..].copy_from_slice(&bytes);
    }
    Some((gas, out))
}

const BLAKE2B_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const BLAKE2B_SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The BLAKE2b mixing function G.
fn blake2_g(v: &mut [u64; 16], (a, b, c, d): (usize, usize, usize, usize), x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// blake2f (EIP-152): the BLAKE2b compression function F. The input is exactly 213 bytes:
/// `rounds(u32 big-endian) ‖ h(8 × u64 little-endian) ‖ m(16 × u64 LE) ‖ t(2 × u64 LE) ‖ f(0 or 1)`;
/// gas is `rounds`, at most the rollup's 4,000,000; the output is the new `h`, 64 bytes
/// little-endian.
fn blake2f(input: &[u8], limit: u64) -> Outcome {
    if input.len() != 213 || input[212] > 1 {
        return None;
    }
    let rounds = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
    // The rollup's bound (SPEC.md §5.15 "Bounds"), then the gas.
    if rounds > crate::precompiles::BLAKE2F_MAX_ROUNDS || u64::from(rounds) > limit {
        return None;
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&input[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let mut h = [0u64; 8];
    for (i, x) in h.iter_mut().enumerate() {
        *x = word(4 + 8 * i);
    }
    let mut m = [0u64; 16];
    for (i, x) in m.iter_mut().enumerate() {
        *x = word(68 + 8 * i);
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(&h);
    v[8..].copy_from_slice(&BLAKE2B_IV);
    v[12] ^= word(196);
    v[13] ^= word(204);
    if input[212] == 1 {
        v[14] = !v[14];
    }
    for round in 0..rounds as usize {
        let s = &BLAKE2B_SIGMA[round % 10];
        blake2_g(&mut v, (0, 4, 8, 12), m[s[0]], m[s[1]]);
        blake2_g(&mut v, (1, 5, 9, 13), m[s[2]], m[s[3]]);
        blake2_g(&mut v, (2, 6, 10, 14), m[s[4]], m[s[5]]);
        blake2_g(&mut v, (3, 7, 11, 15), m[s[6]], m[s[7]]);
        blake2_g(&mut v, (0, 5, 10, 15), m[s[8]], m[s[9]]);
        blake2_g(&mut v, (1, 6, 11, 12), m[s[10]], m[s[11]]);
        blake2_g(&mut v, (2, 7, 8, 13), m[s[12]], m[s[13]]);
        blake2_g(&mut v, (3, 4, 9, 14), m[s[14]], m[s[15]]);
    }
    let mut out = Vec::with_capacity(64);
    for i in 0..8 {
        out.extend_from_slice(&(h[i] ^ v[i] ^ v[i + 8]).to_le_bytes());
    }
    Some((u64::from(rounds), out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;

    /// EIP-152 test vector 5: BLAKE2b-512 of "abc" in 12 rounds.
    #[test]
    fn blake2f_eip152_vector() {
        // The BLAKE2b-512 parameter block folded into the IV, "abc" as the only block.
        let mut input = vec![0, 0, 0, 12];
        for (i, iv) in BLAKE2B_IV.iter().enumerate() {
            let h = if i == 0 { iv ^ 0x0101_0040 } else { *iv };
            input.extend_from_slice(&h.to_le_bytes());
        }
        let mut block = [0u8; 128];
        block[..3].copy_from_slice(b"abc");
        input.extend_from_slice(&block);
        input.extend_from_slice(&3u64.to_le_bytes());
        input.extend_from_slice(&0u64.to_le_bytes());
        input.push(1);
        assert_eq!(input.len(), 213);
        let (gas, out) = blake2f(&input, 100).expect("valid input");
        assert_eq!(gas, 12);
        assert_eq!(
            hex::encode(out),
            concat!(
                "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1",
                "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
            )
        );
        assert_eq!(blake2f(&input[..212], 100), None);
        assert_eq!(blake2f(&input, 11), None);
    }
}
