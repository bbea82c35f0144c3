//! Environment reads that need no world state (SPEC.md §5.7): frame fields from the state record,
//! calldata words against the calldata root, code bytes from the code witness, transaction and
//! block fields from their environment records.

use super::opcodes::gas::COPY_WORD;
use super::{Ctx, Fault, Flow, Halt, StepResult, word_cost};
use alloy::primitives::U256;

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let value = match op {
        0x30 => U256::from_be_slice(cx.pre.address.as_slice()),
        0x32 => U256::from_be_slice(cx.tx_env()?.origin.as_slice()),
        0x33 => U256::from_be_slice(cx.pre.caller.as_slice()),
        0x34 => cx.pre.call_value,
        0x35 => {
            let offset = cx.pop()?;
            U256::from_be_slice(&cx.read_calldata(offset, 32)?)
        }
        0x36 => U256::from(cx.pre.calldata_size),
        0x37 | 0x39 => return copy(op, cx),
        0x3e => return returndatacopy(cx),
        0x38 => U256::from(cx.code.len()),
        0x3a => cx.tx_env()?.gas_price,
        0x3d => U256::from(cx.pre.returndata_size),
        0x41 => U256::from_be_slice(cx.block_env()?.coinbase.as_slice()),
        0x42 => cx.block_env()?.timestamp,
        0x43 => cx.block_env()?.number,
        0x44 => cx.block_env()?.prevrandao,
        0x45 => cx.block_env()?.gas_limit,
        0x46 => cx.block_env()?.chain_id,
        0x48 => cx.block_env()?.basefee,
        0x49 => {
            let index = cx.pop()?;
            let hashes = cx.tx_env()?.blob_hashes;
            usize::try_from(index)
                .ok()
                .and_then(|i| hashes.get(i))
                .map_or(U256::ZERO, |h| U256::from_be_bytes(h.0))
        }
        _ => cx.block_env()?.blob_basefee,
    };
    cx.push(value);
    Ok(Flow::Next)
}

/// RETURNDATACOPY: the source range must lie within the return data (else exceptional halt,
/// before any gas beyond the static cost), then copy gas, expansion and the copy.
fn returndatacopy(cx: &mut Ctx<'_>) -> StepResult {
    let dst = cx.pop()?;
    let src = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    let src = u64::try_from(src).unwrap_or(u64::MAX);
    let in_bounds = src
        .checked_add(len)
        .is_some_and(|end| end <= cx.pre.returndata_size);
    if !in_bounds {
        return Err(Fault::Halt(Halt::ReturnDataOutOfBounds));
    }
    cx.charge(word_cost(COPY_WORD, len))?;
    if len == 0 {
        return Ok(Flow::Next);
    }
    let dst = cx.expand(dst, len)?;
    let data = cx.read_returndata(src, len)?;
    cx.write_memory(dst, &data)?;
    Ok(Flow::Next)
}

/// CALLDATACOPY and CODECOPY: copy gas, then memory expansion, then the copy (zero-padded).
fn copy(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let dst = cx.pop()?;
    let src = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    cx.charge(word_cost(COPY_WORD, len))?;
    if len == 0 {
        return Ok(Flow::Next);
    }
    let dst = cx.expand(dst, len)?;
    let data = if op == 0x37 {
        cx.read_calldata(src, len)?
    } else {
        let mut data = vec![0u8; len as usize];
        if let Ok(src) = usize::try_from(src)
            && src < cx.code.len()
        {
            let n = (cx.code.len() - src).min(data.len());
            data[..n].copy_from_slice(&cx.code[src..src + n]);
        }
        data
    };
    cx.write_memory(dst, &data)?;
    Ok(Flow::Next)
}
