//! Account reads: BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH (EIP-2929 warm/cold),
//! SELFBALANCE, and BLOCKHASH (SPEC.md §5.11).

use super::opcodes::gas::{COLD_ACCOUNT_EXTRA, COPY_WORD};
use super::{Ctx, Fault, Flow, Halt, StepResult, word_cost};
use crate::world::Tree;
use alloy::primitives::{Address, B256, U256};

/// The address in the low 160 bits of a stack item.
pub(crate) fn to_address(item: U256) -> Address {
    Address::from_word(B256::from(item))
}

/// Makes `address` warm, charging the cold surcharge if it was cold.
pub(crate) fn access(cx: &mut Ctx<'_>, address: Address) -> StepResult<()> {
    if cx.touch_account(address)? {
        cx.charge(u128::from(COLD_ACCOUNT_EXTRA))?;
    }
    Ok(())
}

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    let value = match op {
        0x31 => {
            let address = to_address(cx.pop()?);
            access(cx, address)?;
            cx.account(address)?.balance
        }
        0x3b => {
            let address = to_address(cx.pop()?);
            access(cx, address)?;
            let hash = cx.account(address)?.code_hash;
            U256::from(cx.code_of(hash)?.len())
        }
        0x3c => return extcodecopy(cx),
        0x3f => {
            let address = to_address(cx.pop()?);
            access(cx, address)?;
            let rec = cx.account(address)?;
            if rec.is_empty() {
                U256::ZERO
            } else {
                U256::from_be_bytes(rec.code_hash.0)
            }
        }
        0x40 => {
            let requested = cx.pop()?;
            blockhash(cx, requested)?
        }
        _ => {
            let address = cx.pre.address;
            cx.account(address)?.balance
        }
    };
    cx.push(value);
    Ok(Flow::Next)
}

/// EXTCODECOPY `address, dst, src, len`: copy gas, memory expansion, then the warm/cold charge
/// and the copy (zero past the end of the code).
fn extcodecopy(cx: &mut Ctx<'_>) -> StepResult {
    let address = to_address(cx.pop()?);
    let dst = cx.pop()?;
    let src = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    cx.charge(word_cost(COPY_WORD, len))?;
    let dst = cx.expand(dst, len)?;
    access(cx, address)?;
    if len == 0 {
        return Ok(Flow::Next);
    }
    let hash = cx.account(address)?.code_hash;
    let code = cx.code_of(hash)?;
    let mut data = vec![0u8; len as usize];
    if let Ok(src) = usize::try_from(src)
        && src < code.len()
    {
        let n = (code.len() - src).min(data.len());
        data[..n].copy_from_slice(&code[src..src + n]);
    }
    cx.write_memory(dst, &data)?;
    Ok(Flow::Next)
}

/// BLOCKHASH: the hash of one of the 256 blocks before the current one, else zero. The hash
/// of block `n` is slot `n mod 8191` of the EIP-2935 history contract, which the block start
/// of block `n + 1` wrote (SPEC.md §5.11, §5.18).
fn blockhash(cx: &mut Ctx<'_>, requested: U256) -> StepResult<U256> {
    use alloy::eips::eip2935::{HISTORY_SERVE_WINDOW, HISTORY_STORAGE_ADDRESS};
    let env = cx.block_env()?;
    let Some(diff) = env.number.checked_sub(requested) else {
        return Ok(U256::ZERO);
    };
    if diff.is_zero() || diff > U256::from(256) {
        return Ok(U256::ZERO);
    }
    let slot = requested % U256::from(HISTORY_SERVE_WINDOW);
    let rec = cx.account(HISTORY_STORAGE_ADDRESS)?;
    match cx.overlay_slot(Tree::Accounts, HISTORY_STORAGE_ADDRESS, &rec, slot)? {
        Some(value) => Ok(value),
        None => cx.base_slot(HISTORY_STORAGE_ADDRESS, &rec, slot),
    }
}
