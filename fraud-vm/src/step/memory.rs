//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY (SPEC.md §5.6). Memory expansion is charged before any
//! word is touched; every word read or written is witnessed with its path.

use super::opcodes::gas::COPY_WORD;
use super::{Ctx, Fault, Flow, Halt, StepResult, word_cost};
use alloy::primitives::U256;

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    match op {
        0x51 => {
            let offset = cx.pop()?;
            let offset = cx.expand(offset, 32)?;
            let data = cx.read_memory(offset, 32)?;
            cx.push(U256::from_be_slice(&data));
        }
        0x52 => {
            let offset = cx.pop()?;
            let value = cx.pop()?;
            let offset = cx.expand(offset, 32)?;
            cx.write_memory(offset, &value.to_be_bytes::<32>())?;
        }
        0x53 => {
            let offset = cx.pop()?;
            let value = cx.pop()?;
            let offset = cx.expand(offset, 1)?;
            cx.write_memory(offset, &[value.byte(0)])?;
        }
        0x59 => {
            let size = cx.memory_size();
            cx.push(U256::from(size));
        }
        _ => {
            // MCOPY: the source is read completely before the destination is written, so
            // overlapping ranges copy as memmove does.
            let dst = cx.pop()?;
            let src = cx.pop()?;
            let len = cx.pop()?;
            let Ok(len) = u64::try_from(len) else {
                return Err(Fault::Halt(Halt::OutOfGas));
            };
            cx.charge(word_cost(COPY_WORD, len))?;
            if len > 0 {
                let (Ok(dst), Ok(src)) = (u64::try_from(dst), u64::try_from(src)) else {
                    return Err(Fault::Halt(Halt::OutOfGas));
                };
                cx.expand(U256::from(dst.max(src)), len)?;
                let data = cx.read_memory(src, len)?;
                cx.write_memory(dst, &data)?;
            }
        }
    }
    Ok(Flow::Next)
}
