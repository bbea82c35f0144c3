//! POP, PUSH0..PUSH32, DUP1..DUP16, SWAP1..SWAP16 (SPEC.md §5.5). DUPn pops the top n items and
//! pushes them back with a copy of the n-th on top; SWAPn pops n+1 and pushes them exchanged, so
//! every stack effect is "pop k, push m" against the hash chain.

use super::{Ctx, Flow, StepResult};
use alloy::primitives::U256;

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    match op {
        0x50 => {
            cx.pop()?;
            Ok(Flow::Next)
        }
        0x5f..=0x7f => {
            let n = u64::from(op - 0x5f);
            // Immediate bytes past the end of the code read as zero.
            let mut word = [0u8; 32];
            for i in 0..n {
                let byte = usize::try_from(cx.pre.pc + 1 + i)
                    .ok()
                    .and_then(|at| cx.code.get(at))
                    .copied()
                    .unwrap_or(0);
                word[(32 - n + i) as usize] = byte;
            }
            cx.push(U256::from_be_bytes(word));
            Ok(if n == 0 { Flow::Next } else { Flow::Skip(n) })
        }
        0x80..=0x8f => {
            let n = usize::from(op - 0x7f);
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(cx.pop()?);
            }
            for item in items.iter().rev() {
                cx.push(*item);
            }
            cx.push(items[n - 1]);
            Ok(Flow::Next)
        }
        _ => {
            let n = usize::from(op - 0x8f);
            let mut items = Vec::with_capacity(n + 1);
            for _ in 0..=n {
                items.push(cx.pop()?);
            }
            items.swap(0, n);
            for item in items.iter().rev() {
                cx.push(*item);
            }
            Ok(Flow::Next)
        }
    }
}
