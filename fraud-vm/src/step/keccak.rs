//! KECCAK256 (SPEC.md §5.6): hash of a memory range; every touched word is witnessed.

use super::opcodes::gas::KECCAK256_WORD;
use super::{Ctx, Fault, Flow, Halt, StepResult, word_cost};
use alloy::primitives::{U256, keccak256};

pub(crate) fn execute(_op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let offset = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    cx.charge(word_cost(KECCAK256_WORD, len))?;
    let offset = cx.expand(offset, len)?;
    let data = cx.read_memory(offset, len)?;
    cx.push(U256::from_be_bytes(keccak256(&data).0));
    Ok(Flow::Next)
}
