//! The rollup methods of the OP Stack's op-node: `optimism_outputAtBlock`,
//! `optimism_syncStatus` and `optimism_rollupConfig`, in op-node's JSON shapes.

use super::{
    RpcCtx,
    error::{RpcError, RpcResult},
    eth::{head_number, resolve_number},
};
use crate::{derivation, storage::StoreReader};
use alloy::{
    primitives::{B256, U64},
    rpc::types::BlockNumberOrTag,
};
use bridge::output::OutputV0;
use jsonrpsee::{RpcModule, core::RegisterMethodError, types::ErrorObjectOwned};
use serde_json::{Value, json};

fn rollup_config(ctx: &RpcCtx) -> RpcResult<&crate::rollup::RollupConfig> {
    ctx.rollup
        .as_deref()
        .ok_or_else(|| RpcError::Unavailable("this chain is not a rollup L2".into()))
}

/// An L2 block reference: hash, number, parent, timestamp, L1 origin and sequence number.
fn l2_block_ref(reader: &StoreReader, number: u64) -> RpcResult<Value> {
    let block = reader
        .block(number)?
        .ok_or_else(|| RpcError::Unavailable(format!("L2 block {number} not found")))?;
    let origin = derivation::origin_of(&block.txs);
    Ok(json!({
        "hash": block.hash,
        "number": block.number(),
        "parentHash": block.header.parent_hash,
        "timestamp": block.header.timestamp,
        "l1origin": {
            "hash": origin.map(|o| o.hash).unwrap_or_default(),
            "number": origin.map(|o| o.number).unwrap_or_default(),
        },
        "sequenceNumber": origin.map(|o| o.sequence_number).unwrap_or_default(),
    }))
}

fn l1_block_ref(number: u64, hash: B256) -> Value {
    json!({ "hash": hash, "number": number })
}

fn sync_status(ctx: &RpcCtx, reader: &StoreReader) -> RpcResult<Value> {
    let rollup = rollup_config(ctx)?;
    let head = head_number(reader)?;
    let genesis = rollup.genesis.l2.number;
    let safe = reader.safe_number()?.unwrap_or(genesis).min(head);
    let finalized = reader.finalized_number()?.unwrap_or(genesis).min(safe);
    let current = reader.last_derivation()?;
    let current_l1 = current.map_or_else(
        || l1_block_ref(rollup.genesis.l1.number, rollup.genesis.l1.hash),
        |r| l1_block_ref(r.l1_number, r.l1_hash),
    );
    let l1_head = reader.l1_head_number()?;
    let finalized_l1 = match reader.l1_finalized_number()? {
        Some(number) => match reader.derivation_at_or_below(number)? {
            Some(r) if r.l1_number == number => l1_block_ref(r.l1_number, r.l1_hash),
            _ => json!({ "number": number }),
        },
        None => l1_block_ref(rollup.genesis.l1.number, rollup.genesis.l1.hash),
    };
    let safe_l2 = l2_block_ref(reader, safe)?;
    Ok(json!({
        "current_l1": current_l1,
        "head_l1": json!({ "number": l1_head.unwrap_or(rollup.genesis.l1.number) }),
        "safe_l1": current_l1,
        "finalized_l1": finalized_l1,
        "unsafe_l2": l2_block_ref(reader, head)?,
        "safe_l2": safe_l2,
        "finalized_l2": l2_block_ref(reader, finalized)?,
        "pending_safe_l2": safe_l2,
    }))
}

fn output_at_block(ctx: &RpcCtx, number: u64) -> RpcResult<Value> {
    let reader = ctx.store.reader()?;
    rollup_config(ctx)?;
    let n = resolve_number(&reader, BlockNumberOrTag::Number(number))?
        .ok_or_else(|| RpcError::Unavailable(format!("L2 block {number} not found")))?;
    let (hash, header) = reader
        .header(n)?
        .ok_or_else(|| RpcError::Unavailable(format!("L2 block {n} not found")))?;
    let output = OutputV0::of_block(&header, hash);
    Ok(json!({
        "version": B256::ZERO,
        "outputRoot": output.root(),
        "blockRef": l2_block_ref(&reader, n)?,
        "withdrawalStorageRoot": output.message_passer_storage_root,
        "stateRoot": output.state_root,
        "syncStatus": sync_status(ctx, &reader)?,
    }))
}

/// Registers the rollup methods.
pub fn register(m: &mut RpcModule<RpcCtx>) -> Result<(), RegisterMethodError> {
    m.register_method("optimism_rollupConfig", |_, ctx, _| {
        rollup_config(ctx)
            .map(|c| serde_json::to_value(c).unwrap_or_default())
            .map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("optimism_syncStatus", |_, ctx, _| {
        let reader = ctx.store.reader().map_err(RpcError::from)?;
        sync_status(&ctx, &reader).map_err(ErrorObjectOwned::from)
    })?;
    m.register_blocking_method("optimism_outputAtBlock", |p, ctx, _| {
        let number: U64 = p.one()?;
        output_at_block(&ctx, number.to()).map_err(ErrorObjectOwned::from)
    })?;
    Ok(())
}
