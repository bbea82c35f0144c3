//! debug_traceTransaction: re-executes the transaction's block up to it on the state of the
//! block before, then runs it under revm-inspectors' tracer (struct logger or callTracer).

use super::{
    RpcCtx,
    call::block_env,
    error::{RpcError, RpcResult},
    eth::head_number,
    state::StateView,
};
use alloy::{
    eips::eip2718::WithEncoded,
    primitives::B256,
    rpc::types::trace::geth::{
        GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingOptions, GethTrace,
    },
};
use alloy_evm::{
    Evm, EvmEnv, EvmFactory, FromTxWithEncoded,
    block::{BlockExecutor, BlockExecutorFactory},
};
use alloy_op_evm::{
    OpBlockExecutionCtx, OpBlockExecutorFactory, OpTx, block::OpAlloyReceiptBuilder,
};
use fraud_vm::precompiles::RollupEvmFactory;
use revm::database::CacheDB;
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};

fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::Internal(e.to_string())
}

/// Runs `tx` under `inspector`; returns the gas it used and its output.
fn run_traced(
    db: &mut CacheDB<&StateView<'_>>,
    env: EvmEnv<op_revm::OpSpecId>,
    tx: OpTx,
    inspector: &mut TracingInspector,
) -> RpcResult<(u64, alloy::primitives::Bytes)> {
    let mut evm = RollupEvmFactory.create_evm_with_inspector(db, env, inspector);
    let result = evm.transact(tx).map_err(internal)?;
    Ok((
        result.result.tx_gas_used(),
        result.result.output().cloned().unwrap_or_default(),
    ))
}

/// debug_traceTransaction
pub fn trace_transaction(
    ctx: &RpcCtx,
    hash: B256,
    opts: GethDebugTracingOptions,
) -> RpcResult<GethTrace> {
    let reader = ctx.store.reader()?;
    let (number, index) = reader
        .transaction_location(&hash)?
        .ok_or_else(|| RpcError::Unavailable(format!("transaction {hash} not found")))?;
    let block = reader
        .block(number)?
        .ok_or_else(|| RpcError::Unavailable("block not found".into()))?;
    let head = head_number(&reader)?;
    let parent_state = StateView::at(
        &reader,
        number.saturating_sub(1),
        head,
        ctx.limits.max_state_history,
    )?;
    let mut db = CacheDB::new(&parent_state);
    let env = EvmEnv {
        cfg_env: ctx.config.cfg_env(),
        block_env: block_env(&block.header),
    };
    let factory = OpBlockExecutorFactory::new(
        OpAlloyReceiptBuilder::default(),
        ctx.config.hardforks.clone(),
        RollupEvmFactory,
    );
    {
        let evm = factory.evm_factory().create_evm(&mut db, env.clone());
        let mut executor = factory.create_executor(
            evm,
            OpBlockExecutionCtx {
                parent_hash: block.header.parent_hash,
                parent_beacon_block_root: block.header.parent_beacon_block_root,
                extra_data: block.header.extra_data.clone(),
            },
        );
        executor.apply_pre_execution_changes().map_err(internal)?;
        for tx in &block.txs[..index as usize] {
            executor
                .execute_transaction(WithEncoded::new(tx.encoded.clone(), &tx.tx))
                .map_err(internal)?;
        }
    }
    let tx = &block.txs[index as usize];
    let tx_env = OpTx::from_encoded_tx(tx.tx.inner(), tx.sender(), tx.encoded.clone());
    let gas_limit = alloy::consensus::Transaction::gas_limit(tx.tx.inner());
    match opts.tracer {
        None => {
            let config = opts.config;
            let mut inspector =
                TracingInspector::new(TracingInspectorConfig::from_geth_config(&config));
            let (gas_used, output) = run_traced(&mut db, env, tx_env, &mut inspector)?;
            let frame = inspector
                .with_transaction_gas_limit(gas_limit)
                .into_geth_builder()
                .geth_traces(gas_used, output, config);
            Ok(GethTrace::Default(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(GethDebugBuiltInTracerType::CallTracer)) => {
            let call_config = opts
                .tracer_config
                .into_call_config()
                .map_err(|e| RpcError::InvalidParams(format!("callTracer config: {e}")))?;
            let mut inspector =
                TracingInspector::new(TracingInspectorConfig::from_geth_call_config(&call_config));
            let (gas_used, _) = run_traced(&mut db, env, tx_env, &mut inspector)?;
            let frame = inspector
                .with_transaction_gas_limit(gas_limit)
                .into_geth_builder()
                .geth_call_traces(call_config, gas_used);
            Ok(GethTrace::CallTracer(frame))
        }
        Some(other) => Err(RpcError::InvalidParams(format!(
            "tracer {other:?} is not supported; use the default struct logger or callTracer"
        ))),
    }
}
