//! ADD..SIGNEXTEND (SPEC.md §5.3): two's-complement 256-bit arithmetic, written from the Yellow
//! Paper definitions rather than taken from revm.

use super::opcodes::gas::EXP_BYTE;
use super::{Ctx, Flow, StepResult};
use alloy::primitives::U256;

/// Whether `x` is negative as a two's-complement 256-bit integer.
pub(crate) fn is_negative(x: U256) -> bool {
    x.bit(255)
}

/// Two's-complement negation.
pub(crate) fn negate(x: U256) -> U256 {
    (!x).wrapping_add(U256::from(1))
}

fn abs(x: U256) -> U256 {
    if is_negative(x) { negate(x) } else { x }
}

/// SDIV: truncated signed division; `x / 0 = 0`; `-2^255 / -1 = -2^255`.
fn sdiv(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = abs(a) / abs(b);
    if is_negative(a) != is_negative(b) {
        negate(q)
    } else {
        q
    }
}

/// SMOD: remainder with the sign of the dividend; `x mod 0 = 0`.
fn smod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = abs(a) % abs(b);
    if is_negative(a) { negate(r) } else { r }
}

/// SIGNEXTEND: extend the sign bit of byte `b` (counted from the least significant) of `x`.
fn signextend(b: U256, x: U256) -> U256 {
    if b >= U256::from(31) {
        return x;
    }
    let bit = (b.to::<u64>() * 8 + 7) as usize;
    let mask = (U256::from(1) << bit) - U256::from(1);
    if x.bit(bit) { x | !mask } else { x & mask }
}

/// Exact addition/multiplication modulo `n` over 512-bit intermediates; 0 when `n == 0`.
fn addmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        return U256::ZERO;
    }
    a.add_mod(b, n)
}

fn mulmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        return U256::ZERO;
    }
    a.mul_mod(b, n)
}

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let a = cx.pop()?;
    let b = cx.pop()?;
    let result = match op {
        0x01 => a.wrapping_add(b),
        0x02 => a.wrapping_mul(b),
        0x03 => a.wrapping_sub(b),
        0x04 => a.checked_div(b).unwrap_or_default(),
        0x05 => sdiv(a, b),
        0x06 => a.checked_rem(b).unwrap_or_default(),
        0x07 => smod(a, b),
        0x08 => {
            let n = cx.pop()?;
            addmod(a, b, n)
        }
        0x09 => {
            let n = cx.pop()?;
            mulmod(a, b, n)
        }
        0x0a => {
            // G_expbyte per byte of the exponent's minimal big-endian encoding.
            let bytes = u128::from(b.bit_len().div_ceil(8) as u64);
            cx.charge(EXP_BYTE * bytes)?;
            a.wrapping_pow(b)
        }
        _ => signextend(a, b),
    };
    cx.push(result);
    Ok(Flow::Next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(x: u64) -> U256 {
        negate(U256::from(x))
    }

    #[test]
    fn signed_division_edges() {
        let min = U256::from(1) << 255;
        assert_eq!(sdiv(min, neg(1)), min);
        assert_eq!(sdiv(neg(7), U256::from(2)), neg(3));
        assert_eq!(smod(neg(7), U256::from(2)), neg(1));
        assert_eq!(smod(U256::from(7), neg(2)), U256::from(1));
        assert_eq!(sdiv(U256::from(7), U256::ZERO), U256::ZERO);
    }

    #[test]
    fn signextend_edges() {
        assert_eq!(signextend(U256::ZERO, U256::from(0xff)), U256::MAX);
        assert_eq!(signextend(U256::ZERO, U256::from(0x7f)), U256::from(0x7f));
        assert_eq!(signextend(U256::from(1), U256::from(0x1_80ff)), neg(0x7f01));
        assert_eq!(signextend(U256::MAX, U256::from(5)), U256::from(5));
    }
}
