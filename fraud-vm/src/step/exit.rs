//! The frame exit step (SPEC.md §5.16): from the terminal state of a frame at depth > 0, resume
//! the suspended caller committed in `frames_root`, keep or restore the world by the checkpoint,
//! return the gas and refund, and copy the output into the caller's memory.

use super::{Oracle, Transition};
use crate::frame::FrameKind;
use crate::merkle::empty_root;
use crate::proof::VerifyError;
use crate::state::{MachineState, Status, stack_push};
use crate::world::World;
use alloy::primitives::U256;

pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    // The exit step runs no code: the proof carries none.
    if !code.is_empty() {
        return Err(VerifyError::UnusedWitness("code"));
    }
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
        return Err(VerifyError::Unsupported {
            what: "create frame exit",
        });
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
    post.stack_len = caller.stack_len + 1;
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// The first `n` bytes of the callee's output, one return data word proof per word.
fn read_output(
    pre: &MachineState,
    oracle: &mut dyn Oracle,
    n: u64,
) -> Result<Vec<u8>, VerifyError> {
    let mut out = Vec::new();
    for index in 0..n.div_ceil(32) {
        let proof = oracle.returndata_word(index)?;
        if !proof.verifies(pre.returndata_root, index) {
            return Err(VerifyError::BadReturndataProof { index });
        }
        let take = (n - index * 32).min(32) as usize;
        out.extend_from_slice(&proof.word[..take]);
    }
    Ok(out)
}

/// Writes `data` at `offset` of the caller's memory (expanded by the call step), returning the
/// new memory root. One memory word proof per word, each in the tree holding the earlier writes.
fn write_memory(
    caller: &MachineState,
    oracle: &mut dyn Oracle,
    offset: u64,
    data: &[u8],
) -> Result<alloy::primitives::B256, VerifyError> {
    let mut root = caller.memory_root;
    if data.is_empty() {
        return Ok(root);
    }
    let end = offset
        .checked_add(data.len() as u64)
        .filter(|end| *end <= caller.memory_size)
        .ok_or(VerifyError::BadFrameLink)?;
    for index in offset / 32..end.div_ceil(32) {
        let proof = oracle.memory_word(index)?;
        if !proof.verifies(root, index) {
            return Err(VerifyError::BadMemoryProof { index });
        }
        let base = index * 32;
        let from = offset.max(base);
        let to = end.min(base + 32);
        let mut word = proof.word;
        word[(from - base) as usize..(to - base) as usize]
            .copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
        root = proof
            .root_with(index, word)
            .ok_or(VerifyError::BadMemoryProof { index })?;
        oracle.memory_written(index, word);
    }
    Ok(root)
}
