//! LT..SAR (SPEC.md §5.4): comparisons, bitwise logic, BYTE and shifts.

use super::arithmetic::is_negative;
use super::{Ctx, Flow, StepResult};
use alloy::primitives::U256;

/// The sign bit: XOR with it maps signed order onto unsigned order.
const SIGN: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

fn bool_word(b: bool) -> U256 {
    U256::from(u8::from(b))
}

/// Shift amount as `usize` when below 256, `None` otherwise.
fn shift_amount(s: U256) -> Option<usize> {
    if s < U256::from(256) {
        Some(s.to::<usize>())
    } else {
        None
    }
}

fn sar(shift: U256, x: U256) -> U256 {
    let negative = is_negative(x);
    match shift_amount(shift) {
        Some(s) if negative => !((!x) >> s),
        Some(s) => x >> s,
        None if negative => U256::MAX,
        None => U256::ZERO,
    }
}

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let a = cx.pop()?;
    let result = match op {
        0x15 => bool_word(a.is_zero()),
        0x19 => !a,
        _ => {
            let b = cx.pop()?;
            match op {
                0x10 => bool_word(a < b),
                0x11 => bool_word(a > b),
                0x12 => bool_word((a ^ SIGN) < (b ^ SIGN)),
                0x13 => bool_word((a ^ SIGN) > (b ^ SIGN)),
                0x14 => bool_word(a == b),
                0x16 => a & b,
                0x17 => a | b,
                0x18 => a ^ b,
                // BYTE: byte `a` of `b`, counted from the most significant.
                0x1a => match a < U256::from(32) {
                    true => U256::from(b.byte(31 - a.to::<usize>())),
                    false => U256::ZERO,
                },
                0x1b => shift_amount(a).map_or(U256::ZERO, |s| b << s),
                0x1c => shift_amount(a).map_or(U256::ZERO, |s| b >> s),
                _ => sar(a, b),
            }
        }
    };
    cx.push(result);
    Ok(Flow::Next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sar_and_signed_compare() {
        assert_eq!(sar(U256::from(4), U256::MAX), U256::MAX);
        assert_eq!(sar(U256::from(300), U256::MAX), U256::MAX);
        assert_eq!(sar(U256::from(1), U256::from(4)), U256::from(2));
        assert_eq!(sar(U256::MAX, U256::from(4)), U256::ZERO);
        assert!((U256::MAX ^ SIGN) < (U256::ZERO ^ SIGN));
    }
}
