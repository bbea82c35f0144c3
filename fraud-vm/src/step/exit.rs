//! The frame exit step (SPEC.md §5.16): from the terminal state of a frame at depth > 0, resume
//! the suspended caller committed in `frames_root`, keep or restore the world by the checkpoint,
//! return the gas and refund, and copy the output into the caller's memory.

use super::{Ctx, Fault, Oracle, Transition};
use crate::frame::{Checkpoint, FrameKind, FrameLink};
use crate::merkle::empty_root;
use crate::proof::VerifyError;
use crate::state::{MachineState, Status, stack_push};
use crate::world::AccountRecord;
use crate::world::World;
use alloy::primitives::{U256, keccak256};

/// EIP-170: the largest deployed code.
const MAX_CODE_SIZE: u64 = 24_576;
/// G_codedeposit, per byte of deployed code.
const CODE_DEPOSIT: u64 = 200;

pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    // The exit step runs no code: the proof carries none.
    super::no_code(code)?;
    let link = oracle.frame()?;
    if link.hash() != pre.frames_root || link.caller.depth.checked_add(1) != Some(pre.depth) {
        return Err(VerifyError::BadFrameLink);
    }
    let world: World = oracle.world()?;
    if world.commitment() != pre.world_root {
        return Err(VerifyError::WorldMismatch);
    }
    let checkpoint = oracle.checkpoint()?;
    if checkpoint.link() != world.checkpoint_root {
        return Err(VerifyError::BadCheckpoint);
    }
    if link.kind == FrameKind::Create {
        return create_exit(pre, oracle, &link, world, &checkpoint);
    }
    let caller = &link.caller;
    let success = matches!(pre.status, Status::Stopped | Status::Returned);
    let has_output = matches!(pre.status, Status::Returned | Status::Reverted);
    let mut post = caller.clone();
    post.status = Status::Running;
    if pre.status != Status::ExceptionalHalt {
        post.gas = caller.gas.saturating_add(pre.gas);
    }
    if success {
        post.refund = caller.refund.saturating_add(pre.refund);
    }
    let world = if success {
        World {
            checkpoint_root: checkpoint.prev,
            ..world
        }
    } else {
        checkpoint.restore(&world)
    };
    post.world_root = world.commitment();
    if has_output {
        post.returndata_root = pre.returndata_root;
        post.returndata_size = pre.returndata_size;
        let n = link.out_len.min(pre.returndata_size);
        let output = read_output(pre, oracle, n)?;
        post.memory_root = write_memory(caller, oracle, link.out_offset, &output)?;
    } else {
        post.returndata_root = empty_root();
        post.returndata_size = 0;
    }
    post.stack_root = stack_push(caller.stack_root, U256::from(u8::from(success)));
    post.stack_len = caller
        .stack_len
        .checked_add(1)
        .ok_or(VerifyError::BadFrameLink)?;
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// The first `n` bytes of the callee's output, with one return data range multiproof.
pub(crate) fn read_output(
    pre: &MachineState,
    oracle: &mut dyn Oracle,
    n: u64,
) -> Result<Vec<u8>, VerifyError> {
    super::read_returndata(pre, oracle, 0, n)
}

/// Writes `data` at `offset` of the caller's memory (expanded by the call step), returning the
/// new memory root: one memory range multiproof of the covered words against the caller's root.
fn write_memory(
    caller: &MachineState,
    oracle: &mut dyn Oracle,
    offset: u64,
    data: &[u8],
) -> Result<alloy::primitives::B256, VerifyError> {
    let root = caller.memory_root;
    if data.is_empty() {
        return Ok(root);
    }
    let end = offset
        .checked_add(data.len() as u64)
        .filter(|end| *end <= caller.memory_size)
        .ok_or(VerifyError::BadFrameLink)?;
    let (first, count) = super::word_range(offset, end);
    let proof = oracle.memory_range(first, count)?;
    if !proof.verifies(root, first, count) {
        return Err(VerifyError::BadMemoryProof { index: first });
    }
    let words = super::splice(&proof.words, offset - first * 32, data);
    let root = proof
        .root_with(&words)
        .ok_or(VerifyError::BadMemoryProof { index: first })?;
    oracle.memory_written(first, &words);
    Ok(root)
}

/// The exit of a create frame: on success the output becomes the code of the created account if
/// it passes EIP-170 and EIP-3541 and the deposit is paid, and the address is pushed; any of those
/// failing is an exceptional halt of the create. A revert returns the gas and its output.
fn create_exit(
    pre: &MachineState,
    oracle: &mut dyn Oracle,
    link: &FrameLink,
    world: World,
    checkpoint: &Checkpoint,
) -> Result<Transition, VerifyError> {
    let caller = &link.caller;
    let mut post = caller.clone();
    post.status = Status::Running;
    post.returndata_root = empty_root();
    post.returndata_size = 0;
    let mut pushed = U256::ZERO;
    let mut world_after = checkpoint.restore(&world);
    match pre.status {
        Status::Reverted => {
            post.gas = caller.gas.saturating_add(pre.gas);
            post.returndata_root = pre.returndata_root;
            post.returndata_size = pre.returndata_size;
        }
        Status::Stopped | Status::Returned => {
            let size = if pre.status == Status::Returned {
                pre.returndata_size
            } else {
                0
            };
            let output = read_output(pre, oracle, size)?;
            let deposit = CODE_DEPOSIT.saturating_mul(size);
            if size <= MAX_CODE_SIZE && output.first() != Some(&0xef) && deposit <= pre.gas {
                post.gas = caller.gas.saturating_add(pre.gas - deposit);
                post.refund = caller.refund.saturating_add(pre.refund);
                let kept = World {
                    checkpoint_root: checkpoint.prev,
                    ..world
                };
                let mut cx = Ctx::for_world(pre, oracle, kept);
                let deploy = |cx: &mut Ctx<'_>| -> Result<(), Fault> {
                    let rec = cx.account(pre.address)?;
                    cx.set_account(
                        pre.address,
                        &AccountRecord {
                            code_hash: keccak256(&output),
                            ..rec
                        },
                    )
                };
                match deploy(&mut cx) {
                    Ok(()) => {}
                    Err(Fault::Invalid(e)) => return Err(e),
                    Err(Fault::Halt(_)) => {
                        return Err(VerifyError::Unsupported {
                            what: "halt in a code deposit",
                        });
                    }
                }
                world_after = cx.into_world().unwrap_or(kept);
                pushed = U256::from_be_slice(pre.address.as_slice());
            }
        }
        _ => {}
    }
    post.world_root = world_after.commitment();
    post.stack_root = stack_push(caller.stack_root, pushed);
    post.stack_len = caller
        .stack_len
        .checked_add(1)
        .ok_or(VerifyError::BadFrameLink)?;
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}
