//! Precompiled contracts (SPEC.md §5.15): output and gas from the input bytes alone, so the
//! precompile runs inside the call step. Implemented: ecrecover (0x01), sha256 (0x02),
//! ripemd160 (0x03), identity (0x04), modexp (0x05, EIP-2565). Others answer `Unsupported`.

use crate::proof::VerifyError;
use alloy::primitives::{Address, U256, keccak256};

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
        _ => {
            return Err(VerifyError::Unsupported {
                what: "precompile not implemented",
            });
        }
    })
}

/// ecrecover: the address that signed `hash` with `(v, r, s)`, left-padded to 32 bytes, or no
/// output for an invalid signature (the call still succeeds).
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

/// modexp (EIP-198 with the EIP-2565 gas): `base^exp mod modulus`, output `len(modulus)` bytes.
/// Follows revm's order: the minimum gas, the lengths (base and modulus lengths beyond 2^64 fail,
/// the exponent length saturates), the gas, the empty case, then the arithmetic.
fn modexp(input: &[u8], limit: u64) -> Outcome {
    if 200 > limit {
        return None;
    }
    let header = |i: usize| U256::from_be_slice(&slice(input, 32 * i, 32));
    let (b_len, e_len, m_len) = (header(0), header(1), header(2));
    let b_len = usize::try_from(u64::try_from(b_len).ok()?).ok()?;
    let m_len = usize::try_from(u64::try_from(m_len).ok()?).ok()?;
    let e_len = usize::try_from(u64::try_from(e_len).unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
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
