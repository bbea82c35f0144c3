//! The `debug_` methods a stateless checker needs, as reth serves them: the execution
//! witness of a block (`debug_executionWitness`) and exact stored bytes (`debug_getRawBlock`,
//! `debug_getRawHeader`, `debug_getRawTransaction`, `debug_getRawReceipts`), deposit
//! transactions and receipts included.

use super::{
    MethodResult, RpcCtx, RpcError, RpcResult,
    eth::{head_number, resolve_block_id},
    one, with_timeout,
};
use crate::{
    block::SealedBlock,
    engine::witness::{WitnessError, execution_witness},
    storage::StoreReader,
};
use alloy::{
    consensus::{Block, BlockBody},
    eips::{eip2718::Encodable2718, eip4895::Withdrawals},
    primitives::{B256, Bytes},
    rlp,
    rpc::types::{BlockId, BlockNumberOrTag, debug::ExecutionWitness},
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use op_alloy::consensus::OpTxEnvelope;

impl From<WitnessError> for RpcError {
    fn from(err: WitnessError) -> Self {
        match err {
            WitnessError::NotFound { .. }
            | WitnessError::Genesis
            | WitnessError::TooOld { .. }
            | WitnessError::MissingReverts(_) => RpcError::Unavailable(err.to_string()),
            WitnessError::Storage(e) => RpcError::Storage(e),
            other => RpcError::Internal(other.to_string()),
        }
    }
}

/// Registers the methods on `m`.
pub fn register(m: &mut RpcModule<RpcCtx>) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    // Replaying a block and rebuilding its parent's tries is EVM work: the blocking pool,
    // under the EVM time limit.
    m.register_async_method("debug_executionWitness", |p, ctx, _| async move {
        let tag: BlockNumberOrTag = one(&p)?;
        with_timeout(ctx, move |ctx| witness(ctx, tag)).await
    })?;
    m.register_blocking_method("debug_getRawHeader", |p, ctx, _| -> MethodResult<Bytes> {
        let id: BlockId = one(&p)?;
        let reader = ctx.store.reader().map_err(RpcError::from)?;
        let number = block_number(&reader, id)?;
        let (_, header) = reader
            .header(number)
            .map_err(RpcError::from)?
            .ok_or_else(|| not_found(id))?;
        Ok(rlp::encode(&header).into())
    })?;
    m.register_blocking_method("debug_getRawBlock", |p, ctx, _| -> MethodResult<Bytes> {
        let id: BlockId = one(&p)?;
        let reader = ctx.store.reader().map_err(RpcError::from)?;
        let block = stored_block(&reader, id)?;
        Ok(raw_block(block))
    })?;
    m.register_blocking_method(
        "debug_getRawTransaction",
        |p, ctx, _| -> MethodResult<Option<Bytes>> {
            let hash: B256 = one(&p)?;
            let reader = ctx.store.reader().map_err(RpcError::from)?;
            let Some((number, index)) =
                reader.transaction_location(&hash).map_err(RpcError::from)?
            else {
                return Ok(None);
            };
            let txs = reader.transactions(number).map_err(RpcError::from)?;
            Ok(txs.get(index as usize).map(|tx| tx.encoded.clone()))
        },
    )?;
    m.register_blocking_method(
        "debug_getRawReceipts",
        |p, ctx, _| -> MethodResult<Vec<Bytes>> {
            let id: BlockId = one(&p)?;
            let reader = ctx.store.reader().map_err(RpcError::from)?;
            let number = block_number(&reader, id)?;
            let receipts = reader.receipts(number).map_err(RpcError::from)?;
            Ok(receipts.iter().map(|r| r.encoded_2718().into()).collect())
        },
    )?;
    Ok(())
}

fn not_found(id: BlockId) -> ErrorObjectOwned {
    RpcError::Unavailable(format!("block {id} not found")).into()
}

/// The number of the stored block `id` names.
fn block_number(reader: &StoreReader, id: BlockId) -> MethodResult<u64> {
    resolve_block_id(reader, id)?.ok_or_else(|| not_found(id))
}

fn stored_block(reader: &StoreReader, id: BlockId) -> MethodResult<SealedBlock> {
    let number = block_number(reader, id)?;
    reader
        .block(number)
        .map_err(RpcError::from)?
        .ok_or_else(|| not_found(id))
}

/// The block's RLP as a consensus client gossips it: header, transactions (EIP-2718, typed
/// ones as RLP strings), no ommers, and the empty withdrawals list the L2 has had since
/// Canyon (present whenever the header has a withdrawals root).
pub fn raw_block(block: SealedBlock) -> Bytes {
    let withdrawals = block
        .header
        .withdrawals_root
        .map(|_| Withdrawals::default());
    let block = Block::<OpTxEnvelope> {
        body: BlockBody {
            transactions: block.txs.iter().map(|t| t.tx.inner().clone()).collect(),
            ommers: Vec::new(),
            withdrawals,
        },
        header: block.header,
    };
    rlp::encode(&block).into()
}

fn witness(ctx: &RpcCtx, tag: BlockNumberOrTag) -> RpcResult<ExecutionWitness> {
    let reader = ctx.store.reader()?;
    let number = match tag {
        BlockNumberOrTag::Number(n) => n,
        BlockNumberOrTag::Pending => {
            return Err(RpcError::InvalidParams(
                "the pending block has no execution witness".into(),
            ));
        }
        tag => {
            let head = head_number(&reader)?;
            resolve_block_id(&reader, BlockId::Number(tag))?.unwrap_or(head)
        }
    };
    Ok(execution_witness(
        &ctx.config,
        &reader,
        number,
        ctx.limits.max_state_history,
    )?)
}
