//! LOG0..LOG4 (SPEC.md §5.12): the log is appended to the world's log chain.

use super::opcodes::gas::{LOG_DATA, LOG_TOPIC};
use super::{Ctx, Fault, Flow, Halt, StepResult};
use crate::world::log_link;
use alloy::primitives::{B256, Bytes, Log, LogData};

pub(crate) fn execute(op: u8, cx: &mut Ctx<'_>) -> StepResult {
    cx.require_non_static()?;
    let topics = usize::from(op - 0xa0);
    let offset = cx.pop()?;
    let len = cx.pop()?;
    let Ok(len) = u64::try_from(len) else {
        return Err(Fault::Halt(Halt::OutOfGas));
    };
    cx.charge(u128::from(LOG_TOPIC) * topics as u128 + u128::from(LOG_DATA) * u128::from(len))?;
    let offset = cx.expand(offset, len)?;
    let data = cx.read_memory(offset, len)?;
    let mut t = Vec::with_capacity(topics);
    for _ in 0..topics {
        t.push(B256::from(cx.pop()?));
    }
    let log = Log {
        address: cx.pre.address,
        data: LogData::new_unchecked(t, Bytes::from(data)),
    };
    let world = cx.world()?;
    world.logs_root = log_link(world.logs_root, &log);
    world.logs_count += 1;
    Ok(Flow::Next)
}
