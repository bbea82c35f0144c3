//! CALL, CALLCODE, DELEGATECALL, STATICCALL entry steps and RETURN, REVERT (SPEC.md §5.14).
//!
//! A call whose callee runs code ends the step in the callee's first state (the frame entry);
//! a call that fails before entering (depth, balance), reaches an account without code or a
//! precompile completes inside the step, as revm completes it without running a frame.

use super::account::to_address;
use super::opcodes::gas::{CALL_STIPEND, COLD_ACCOUNT_EXTRA, NEW_ACCOUNT, WARM_ACCESS};
use super::{Ctx, Fault, Flow, Halt, StepResult, precompile};
use crate::frame::{Checkpoint, FrameKind};
use crate::merkle::{WordTree, empty_root};
use crate::state::{MachineState, Status};
use crate::world::{AccountRecord, is_precompile};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use alloy_trie::KECCAK_EMPTY;

/// Gas for a call that transfers value (G_callvalue).
pub(crate) const CALL_VALUE: u64 = 9000;
/// Deepest frame: a call from a frame at this depth fails.
pub(crate) const MAX_DEPTH: u64 = 1024;

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    match op {
        0xf3 | 0xfd => finish(op, cx),
        0xf0 | 0xf5 => create(op, cx),
        _ => call(op, cx),
    }
}

/// RETURN, REVERT `offset, len`: the frame ends with the output as its return data.
fn finish(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let offset = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    let offset = cx.expand(offset, len)?;
    let output = cx.read_memory(offset, len)?;
    Ok(Flow::Finish {
        status: if op == 0xf3 {
            Status::Returned
        } else {
            Status::Reverted
        },
        returndata_root: WordTree::from_bytes(&output).root(),
        returndata_size: len,
    })
}

/// A memory range operand pair: `len ≥ 2^64` halts; the range is expanded when `len > 0`.
fn range(cx: &mut Ctx<'_>, offset: U256, len: U256) -> StepResult<(u64, u64)> {
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    let offset = cx.expand(offset, len)?;
    Ok((offset, len))
}

/// The EIP-7702 delegation designator `0xef0100 ‖ address`, if `code` is one.
pub(crate) fn delegation(code: &[u8]) -> Option<Address> {
    (code.len() == 23 && code[..3] == [0xef, 0x01, 0x00]).then(|| Address::from_slice(&code[3..]))
}

/// Moves `value` from `from` to `to` (nothing for zero or `from = to`). The caller has checked
/// the balance.
pub(crate) fn transfer(
    cx: &mut Ctx<'_>,
    from: Address,
    to: Address,
    value: U256,
) -> StepResult<()> {
    if value.is_zero() || from == to {
        return Ok(());
    }
    let mut a = cx.account(from)?;
    let mut b = cx.account(to)?;
    a.balance -= value;
    b.balance = b.balance.saturating_add(value);
    cx.set_account(from, &a)?;
    cx.set_account(to, &b)?;
    Ok(())
}

fn call(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let requested = cx.pop()?;
    let to = to_address(cx.pop()?);
    let value = if matches!(op, 0xf1 | 0xf2) {
        cx.pop()?
    } else {
        U256::ZERO
    };
    if op == 0xf1 && cx.pre.is_static && !value.is_zero() {
        return Err(Fault::Halt(Halt::StaticViolation));
    }
    let (in_offset, in_len) = {
        let (o, l) = (cx.pop()?, cx.pop()?);
        range(cx, o, l)?
    };
    let (out_offset, out_len) = {
        let (o, l) = (cx.pop()?, cx.pop()?);
        range(cx, o, l)?
    };
    let transfers = !value.is_zero();
    if transfers {
        cx.charge(u128::from(CALL_VALUE))?;
    }
    if cx.touch_account(to)? {
        cx.charge(u128::from(COLD_ACCOUNT_EXTRA))?;
    }
    let target = cx.account(to)?;
    let mut code_hash = target.code_hash;
    if op == 0xf1 && target.is_empty() {
        if transfers {
            cx.charge(u128::from(NEW_ACCOUNT))?;
        }
    } else if code_hash != KECCAK_EMPTY {
        let code = cx.code_of(code_hash)?;
        if let Some(delegate) = delegation(&code) {
            cx.charge(u128::from(WARM_ACCESS))?;
            if cx.touch_account(delegate)? {
                cx.charge(u128::from(COLD_ACCOUNT_EXTRA))?;
            }
            code_hash = cx.account(delegate)?.code_hash;
        }
    }
    // EIP-150: all but one 64th of the gas left.
    let available = cx.gas - cx.gas / 64;
    let mut limit = u64::try_from(requested).unwrap_or(u64::MAX).min(available);
    cx.charge(u128::from(limit))?;
    if transfers {
        limit += CALL_STIPEND;
    }

    let me = cx.pre.address;
    let (address, caller, call_value, is_static) = match op {
        0xf1 => (to, me, value, cx.pre.is_static),
        0xf2 => (me, me, value, cx.pre.is_static),
        0xf4 => (me, cx.pre.caller, cx.pre.call_value, cx.pre.is_static),
        _ => (to, me, U256::ZERO, true),
    };
    // Failures before the callee runs: the gas comes back, 0 is pushed, no return data.
    let fail = |cx: &mut Ctx<'_>| {
        cx.gas += limit;
        cx.returndata = Some((empty_root(), 0));
        cx.push(U256::ZERO);
        Ok(Flow::Next)
    };
    if cx.pre.depth >= MAX_DEPTH {
        return fail(cx);
    }
    if transfers && cx.account(me)?.balance < value {
        return fail(cx);
    }
    let input = cx.read_memory(in_offset, in_len)?;
    if is_precompile(to) {
        return match precompile::run(to, &input, limit)? {
            Some((used, output)) if used <= limit => {
                transfer(cx, me, address, value)?;
                cx.gas += limit - used;
                let n = output.len().min(out_len as usize);
                cx.write_memory(out_offset, &output[..n])?;
                cx.returndata = Some((WordTree::from_bytes(&output).root(), output.len() as u64));
                cx.push(U256::from(1));
                Ok(Flow::Next)
            }
            // A failing precompile consumes the gas it was given.
            _ => {
                cx.returndata = Some((empty_root(), 0));
                cx.push(U256::ZERO);
                Ok(Flow::Next)
            }
        };
    }
    if code_hash == KECCAK_EMPTY {
        transfer(cx, me, address, value)?;
        cx.gas += limit;
        cx.returndata = Some((empty_root(), 0));
        cx.push(U256::from(1));
        return Ok(Flow::Next);
    }
    let world = cx.world()?;
    world.checkpoint_root = Checkpoint::of(world).link();
    transfer(cx, me, address, value)?;
    Ok(Flow::Enter {
        callee: Box::new(MachineState {
            depth: cx.pre.depth + 1,
            pc: 0,
            status: Status::Running,
            gas: limit,
            refund: 0,
            frames_root: B256::ZERO,
            address,
            caller,
            call_value,
            is_static,
            code_hash,
            stack_root: B256::ZERO,
            stack_len: 0,
            memory_root: empty_root(),
            memory_size: 0,
            calldata_root: WordTree::from_bytes(&input).root(),
            calldata_size: in_len,
            returndata_root: empty_root(),
            returndata_size: 0,
            ..cx.pre.clone()
        }),
        out_offset,
        out_len,
        kind: FrameKind::Call,
    })
}

/// Gas of CREATE and CREATE2 (G_create).
pub(crate) const CREATE: u64 = 32_000;
/// EIP-3860: the largest initcode.
pub(crate) const MAX_INITCODE: u64 = 2 * 24_576;

/// CREATE `value, offset, len`; CREATE2 `value, offset, len, salt` (SPEC.md §5.17).
fn create(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    cx.require_non_static()?;
    let value = cx.pop()?;
    let offset = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    if len > MAX_INITCODE {
        return Err(Fault::Halt(Halt::InitcodeTooLarge));
    }
    // EIP-3860 initcode words, then memory, then (CREATE2) hashing and G_create.
    cx.charge(super::word_cost(2, len))?;
    let offset = cx.expand(offset, len)?;
    let initcode = cx.read_memory(offset, len)?;
    let salt = if op == 0xf5 { Some(cx.pop()?) } else { None };
    if salt.is_some() {
        cx.charge(super::word_cost(6, len))?;
    }
    cx.charge(u128::from(CREATE))?;
    let limit = cx.gas - cx.gas / 64;
    cx.charge(u128::from(limit))?;

    let fail = |cx: &mut Ctx<'_>, refund_gas: bool| {
        if refund_gas {
            cx.gas += limit;
        }
        cx.returndata = Some((empty_root(), 0));
        cx.push(U256::ZERO);
        Ok(Flow::Next)
    };
    if cx.pre.depth >= MAX_DEPTH {
        return fail(cx, true);
    }
    let me = cx.pre.address;
    let mut sender = cx.account(me)?;
    if sender.balance < value || sender.nonce == u64::MAX {
        return fail(cx, true);
    }
    let nonce = sender.nonce;
    sender.nonce += 1;
    cx.set_account(me, &sender)?;
    let code_hash = keccak256(&initcode);
    let address = match salt {
        Some(salt) => me.create2(B256::from(salt), code_hash),
        None => me.create(nonce),
    };
    cx.touch_account(address)?;
    let target = cx.account(address)?;
    // A collision consumes the gas given to the create.
    if target.code_hash != KECCAK_EMPTY || target.nonce != 0 {
        return fail(cx, false);
    }
    let world = cx.world()?;
    world.checkpoint_root = Checkpoint::of(world).link();
    let created = AccountRecord {
        nonce: 1,
        balance: target.balance.saturating_add(value),
        code_hash: KECCAK_EMPTY,
        storage_root: EMPTY_ROOT_HASH,
        incarnation: target.incarnation.saturating_add(1),
    };
    cx.set_account(address, &created)?;
    if !value.is_zero() {
        sender.balance -= value;
        cx.set_account(me, &sender)?;
    }
    cx.mark_created(address)?;
    Ok(Flow::Enter {
        callee: Box::new(MachineState {
            depth: cx.pre.depth + 1,
            pc: 0,
            status: Status::Running,
            gas: limit,
            refund: 0,
            frames_root: B256::ZERO,
            address,
            caller: me,
            call_value: value,
            is_static: false,
            code_hash,
            stack_root: B256::ZERO,
            stack_len: 0,
            memory_root: empty_root(),
            memory_size: 0,
            calldata_root: empty_root(),
            calldata_size: 0,
            returndata_root: empty_root(),
            returndata_size: 0,
            ..cx.pre.clone()
        }),
        out_offset: 0,
        out_len: 0,
        kind: FrameKind::Create,
    })
}
