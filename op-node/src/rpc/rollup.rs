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

fn sync_status(ctx: &RpcCtx, reader: &StoreReader) -> RpcResult<Value> {
    let rollup = rollup_config(ctx)?;
    let head = head_number(reader)?;
    let unsafe_l2 = l2_block_ref(reader, head)?;
    // Until batches are posted (the batcher issue), only genesis is derivable from L1 alone.
    let safe_l2 = l2_block_ref(reader, rollup.genesis.l2.number)?;
    let l1 = json!({
        "hash": unsafe_l2["l1origin"]["hash"],
        "number": unsafe_l2["l1origin"]["number"],
    });
    Ok(json!({
        "current_l1": l1,
        "head_l1": l1,
        "safe_l1": l1,
        "finalized_l1": l1,
        "unsafe_l2": unsafe_l2,
        "safe_l2": safe_l2,
        "finalized_l2": safe_l2,
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
