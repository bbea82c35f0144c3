//! SLOAD, SSTORE (EIP-2200, EIP-2929, EIP-3529) and TLOAD, TSTORE (EIP-1153) (SPEC.md §5.10).

use super::opcodes::gas::{
    CALL_STIPEND, COLD_SLOAD, COLD_SLOAD_EXTRA, SSTORE_CLEARS_REFUND, SSTORE_RESET, SSTORE_SET,
    WARM_ACCESS,
};
use super::{Ctx, Fault, Flow, Halt, StepResult};
use crate::world::Tree;

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    match op {
        0x54 => sload(cx),
        0x55 => sstore(cx),
        0x5c => {
            let slot = cx.pop()?;
            let value = cx.tload(slot)?;
            cx.push(value);
            Ok(Flow::Next)
        }
        _ => {
            cx.require_non_static()?;
            let slot = cx.pop()?;
            let value = cx.pop()?;
            cx.tstore(slot, value)?;
            Ok(Flow::Next)
        }
    }
}

fn sload(cx: &mut Ctx<'_>) -> StepResult {
    let slot = cx.pop()?;
    if cx.touch_slot(slot)? {
        cx.charge(u128::from(COLD_SLOAD_EXTRA))?;
    }
    let address = cx.pre.address;
    let rec = cx.account(address)?;
    let value = match cx.overlay_slot(Tree::Accounts, address, &rec, slot)? {
        Some(v) => v,
        None => cx.base_slot(address, &rec, slot)?,
    };
    cx.push(value);
    Ok(Flow::Next)
}

fn sstore(cx: &mut Ctx<'_>) -> StepResult {
    cx.require_non_static()?;
    let slot = cx.pop()?;
    let new = cx.pop()?;
    // EIP-2200: no SSTORE with the call stipend or less left.
    if cx.gas <= CALL_STIPEND {
        return Err(Fault::Halt(Halt::OutOfGas));
    }
    cx.charge(u128::from(WARM_ACCESS))?;
    let cold = cx.touch_slot(slot)?;
    let address = cx.pre.address;
    let rec = cx.account(address)?;
    let current = cx.overlay_slot(Tree::Accounts, address, &rec, slot)?;
    let original = cx.overlay_slot(Tree::Original, address, &rec, slot)?;
    // One base read serves both when either is absent from its overlay.
    let base = if current.is_none() || original.is_none() {
        Some(cx.base_slot(address, &rec, slot)?)
    } else {
        None
    };
    let current = current.or(base).unwrap_or_default();
    let original = original.or(base).unwrap_or_default();

    let mut cost = 0u64;
    if cold {
        cost += COLD_SLOAD;
    }
    if new != current && original == current {
        cost += if original.is_zero() {
            SSTORE_SET - WARM_ACCESS
        } else {
            SSTORE_RESET - WARM_ACCESS
        };
    }
    cx.charge(u128::from(cost))?;

    if new != current {
        let clears = SSTORE_CLEARS_REFUND;
        let mut refund = 0i64;
        if original == current {
            if new.is_zero() {
                refund += clears;
            }
        } else {
            if !original.is_zero() {
                if current.is_zero() {
                    refund -= clears;
                } else if new.is_zero() {
                    refund += clears;
                }
            }
            if original == new {
                refund += if original.is_zero() {
                    (SSTORE_SET - WARM_ACCESS) as i64
                } else {
                    (SSTORE_RESET - WARM_ACCESS) as i64
                };
            }
        }
        cx.refund = cx.refund.saturating_add(refund);
        cx.set_slot(address, &rec, slot, new)?;
    }
    Ok(Flow::Next)
}
