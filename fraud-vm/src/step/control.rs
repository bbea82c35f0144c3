//! STOP, JUMP, JUMPI, PC, GAS, JUMPDEST (SPEC.md §5.8).

use super::{Ctx, Fault, Flow, Halt, StepResult};
use alloy::primitives::U256;

/// Whether `target` is a JUMPDEST opcode of `code` (not a byte inside PUSH data).
pub(crate) fn is_jumpdest(code: &[u8], target: U256) -> bool {
    let Ok(target) = usize::try_from(target) else {
        return false;
    };
    if code.get(target) != Some(&0x5b) {
        return false;
    }
    let mut i = 0usize;
    while i < target {
        let op = code[i];
        i += 1;
        if (0x60..=0x7f).contains(&op) {
            i += usize::from(op - 0x5f);
        }
    }
    i == target
}

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    match op {
        0x00 => Ok(Flow::Stop),
        0x56 => {
            let target = cx.pop()?;
            jump(cx, target)
        }
        0x57 => {
            let target = cx.pop()?;
            let cond = cx.pop()?;
            if cond.is_zero() {
                Ok(Flow::Next)
            } else {
                jump(cx, target)
            }
        }
        0x58 => {
            cx.push(U256::from(cx.pre.pc));
            Ok(Flow::Next)
        }
        0x5a => {
            cx.push(U256::from(cx.gas));
            Ok(Flow::Next)
        }
        _ => Ok(Flow::Next),
    }
}

fn jump(cx: &mut Ctx<'_>, target: U256) -> StepResult {
    if is_jumpdest(cx.code, target) {
        Ok(Flow::Jump(target.to::<u64>()))
    } else {
        Err(Fault::Halt(Halt::InvalidJump))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumpdest_inside_push_data_is_invalid() {
        // PUSH1 0x5b, JUMPDEST
        let code = [0x60, 0x5b, 0x5b];
        assert!(!is_jumpdest(&code, U256::from(1)));
        assert!(is_jumpdest(&code, U256::from(2)));
        assert!(!is_jumpdest(&code, U256::from(3)));
        assert!(!is_jumpdest(&code, U256::MAX));
    }
}
