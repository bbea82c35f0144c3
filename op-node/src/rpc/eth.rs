//! The `eth_` methods that read chain data and admit transactions.

use super::{
    RpcCtx,
    convert::{rpc_block, rpc_logs, rpc_receipts, rpc_transaction},
    error::{RpcError, RpcResult},
    state::StateView,
};
use crate::{
    block::{RecoveredTx, SealedBlock},
    storage::StoreReader,
    txpool::{SenderState, decode_and_recover},
};
use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, Bytes, U64, U256},
    rpc::types::{
        Block, BlockId, BlockNumberOrTag, FeeHistory, Filter, FilterBlockOption, Log,
        serde_helpers::JsonStorageKey,
    },
};
use op_alloy::rpc_types::{OpTransactionReceipt, Transaction};

/// The latest sealed block number in `reader`'s snapshot.
pub fn head_number(reader: &StoreReader) -> RpcResult<u64> {
    reader
        .head_number()?
        .ok_or_else(|| RpcError::Unavailable("chain has no blocks yet".into()))
}

/// Resolves a block tag or number to a number, `None` when the block does not exist.
pub fn resolve_number(reader: &StoreReader, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
    let head = head_number(reader)?;
    let n = match tag {
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
        // Derivation records them; before it has, only the genesis is safe and final.
        BlockNumberOrTag::Safe => reader.safe_number()?.unwrap_or(0).min(head),
        BlockNumberOrTag::Finalized => reader.finalized_number()?.unwrap_or(0).min(head),
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Number(n) => n,
    };
    Ok((n <= head).then_some(n))
}

/// Resolves a block id (tag, number or hash).
pub fn resolve_block_id(reader: &StoreReader, id: BlockId) -> RpcResult<Option<u64>> {
    match id {
        BlockId::Number(tag) => resolve_number(reader, tag),
        BlockId::Hash(hash) => Ok(reader.block_number(&hash.block_hash)?),
    }
}

/// The state of the block `id` names (the latest when `None`).
pub fn state_at<'a>(
    ctx: &RpcCtx,
    reader: &'a StoreReader,
    id: Option<BlockId>,
) -> RpcResult<StateView<'a>> {
    let head = head_number(reader)?;
    let number = match id {
        None => head,
        Some(id) => resolve_block_id(reader, id)?
            .ok_or_else(|| RpcError::Unavailable("header not found".into()))?,
    };
    StateView::at(reader, number, head, ctx.limits.max_state_history)
}

fn is_pending(id: &Option<BlockId>) -> bool {
    matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)))
}

/// eth_getBalance
pub fn balance(ctx: &RpcCtx, address: Address, id: Option<BlockId>) -> RpcResult<U256> {
    let reader = ctx.store.reader()?;
    let state = state_at(ctx, &reader, id)?;
    Ok(state
        .account(&address)?
        .map(|a| a.balance)
        .unwrap_or_default())
}

/// eth_getTransactionCount (`pending` counts pooled transactions)
pub fn transaction_count(ctx: &RpcCtx, address: Address, id: Option<BlockId>) -> RpcResult<U64> {
    let pending = is_pending(&id);
    // For `pending`, the state and the pool must agree: a block sealed between reading the state
    // and asking the pool would leave its transactions in neither, and the answer would repeat a
    // nonce just used. The sequencer seals blocks far apart, so a retry finds them settled.
    let mut attempts = 0;
    loop {
        let seen = ctx.pool.block_updates();
        let reader = ctx.store.reader()?;
        let nonce = state_at(ctx, &reader, id)?
            .account(&address)?
            .map(|a| a.nonce)
            .unwrap_or_default();
        if !pending {
            return Ok(U64::from(nonce));
        }
        attempts += 1;
        match ctx.pool.pending_nonce_since(&address, nonce, seen) {
            Some(next) => return Ok(U64::from(next)),
            None if attempts >= 8 => return Ok(U64::from(ctx.pool.pending_nonce(&address, nonce))),
            None => continue,
        }
    }
}

/// eth_getCode
pub fn code(ctx: &RpcCtx, address: Address, id: Option<BlockId>) -> RpcResult<Bytes> {
    let reader = ctx.store.reader()?;
    let state = state_at(ctx, &reader, id)?;
    Ok(state.code(&address)?)
}

/// eth_getStorageAt
pub fn storage_at(
    ctx: &RpcCtx,
    address: Address,
    slot: JsonStorageKey,
    id: Option<BlockId>,
) -> RpcResult<B256> {
    let reader = ctx.store.reader()?;
    let state = state_at(ctx, &reader, id)?;
    Ok(B256::from(state.storage(&address, &slot.as_b256().into())?))
}

/// eth_sendRawTransaction: stateless checks and sender recovery, then the pool's checks
/// against the latest state.
pub fn send_raw_transaction(ctx: &RpcCtx, raw: Bytes) -> RpcResult<B256> {
    accepting(ctx)?;
    let tx = decode_and_recover(raw, ctx.pool.config())?;
    Admission::default().admit(ctx, tx)
}

/// Refuses transactions on a node that seals no blocks.
pub fn accepting(ctx: &RpcCtx) -> RpcResult<()> {
    if ctx.accepts_transactions {
        Ok(())
    } else {
        Err(RpcError::Unavailable(
            "this node is a verifier and seals no blocks: send transactions to the sequencer"
                .into(),
        ))
    }
}

/// What admitting a recovered transaction reads: a state snapshot and the next block's base
/// fee, shared by the transactions of one batch. Opening a snapshot (two read transactions, the
/// head and its header) costs more than the pool's own checks, so it is taken again only when
/// the pool has heard of a block (or a rewind) since: then the admission sees at least every
/// block the pool has dropped transactions for, as a snapshot of its own would.
#[derive(Default)]
pub struct Admission {
    /// The pool's block-update count when the snapshot was opened, the snapshot, its base fee.
    snapshot: Option<(u64, StoreReader, u64)>,
}

impl Admission {
    /// Checks `tx` against its sender's committed nonce and balance and the base fee, and
    /// adds it to the pool. Returns its hash.
    pub fn admit(&mut self, ctx: &RpcCtx, tx: RecoveredTx) -> RpcResult<B256> {
        let updates = ctx.pool.block_updates();
        let snapshot = match self.snapshot.take() {
            Some(snapshot) if snapshot.0 == updates => snapshot,
            _ => {
                let reader = ctx.store.reader()?;
                let base_fee = ctx.next_base_fee(&reader)?;
                (updates, reader, base_fee)
            }
        };
        let (_, reader, base_fee) = self.snapshot.insert(snapshot);
        let account = reader.account(&tx.sender())?;
        let state = SenderState {
            nonce: account.map(|a| a.nonce).unwrap_or_default(),
            balance: account.map(|a| a.balance).unwrap_or_default(),
        };
        Ok(ctx.pool.add(tx, state, *base_fee)?)
    }
}

fn load_block(reader: &StoreReader, number: u64) -> RpcResult<Option<SealedBlock>> {
    Ok(reader.block(number)?)
}

/// eth_getBlockByNumber / eth_getBlockByHash
pub fn block(ctx: &RpcCtx, id: BlockId, full: bool) -> RpcResult<Option<Block<Transaction>>> {
    let reader = ctx.store.reader()?;
    let Some(number) = resolve_block_id(&reader, id)? else {
        return Ok(None);
    };
    Ok(load_block(&reader, number)?.map(|b| rpc_block(&b, full)))
}

/// eth_getBlockTransactionCountByNumber / ByHash
pub fn block_transaction_count(ctx: &RpcCtx, id: BlockId) -> RpcResult<Option<U64>> {
    let reader = ctx.store.reader()?;
    let Some(number) = resolve_block_id(&reader, id)? else {
        return Ok(None);
    };
    Ok(load_block(&reader, number)?.map(|b| U64::from(b.txs.len())))
}

/// eth_getBlockReceipts
pub fn block_receipts(ctx: &RpcCtx, id: BlockId) -> RpcResult<Option<Vec<OpTransactionReceipt>>> {
    let reader = ctx.store.reader()?;
    let Some(number) = resolve_block_id(&reader, id)? else {
        return Ok(None);
    };
    Ok(load_block(&reader, number)?.map(|b| rpc_receipts(&b)))
}

/// eth_getTransactionByHash: included ones, then pooled ones.
pub fn transaction_by_hash(ctx: &RpcCtx, hash: B256) -> RpcResult<Option<Transaction>> {
    let reader = ctx.store.reader()?;
    if let Some((number, index)) = reader.transaction_location(&hash)?
        && let Some(block) = load_block(&reader, number)?
    {
        let tx = block.txs.get(index as usize).cloned();
        return Ok(tx.map(|tx| rpc_transaction(&tx, Some((&block, index as usize)))));
    }
    Ok(ctx.pool.get(&hash).map(|tx| rpc_transaction(&tx, None)))
}

/// eth_getTransactionReceipt
pub fn transaction_receipt(ctx: &RpcCtx, hash: B256) -> RpcResult<Option<OpTransactionReceipt>> {
    let reader = ctx.store.reader()?;
    let Some((number, index)) = reader.transaction_location(&hash)? else {
        return Ok(None);
    };
    let Some(block) = load_block(&reader, number)? else {
        return Ok(None);
    };
    Ok(rpc_receipts(&block).into_iter().nth(index as usize))
}

/// The inclusive block range a filter covers, checked against the range cap.
pub fn filter_range(
    ctx: &RpcCtx,
    reader: &StoreReader,
    filter: &Filter,
) -> RpcResult<Option<(u64, u64)>> {
    match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => Ok(reader.block_number(&hash)?.map(|n| (n, n))),
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let head = head_number(reader)?;
            // The range is checked as asked (a request for a million blocks is refused even on
            // a young chain), then clamped to the head.
            let requested = |tag: Option<BlockNumberOrTag>| match tag {
                Some(BlockNumberOrTag::Number(n)) => n,
                Some(BlockNumberOrTag::Earliest) => 0,
                _ => head,
            };
            let from = requested(from_block);
            let to = requested(to_block);
            if from > to {
                return Err(RpcError::InvalidParams(format!(
                    "invalid block range: from {from} > to {to}"
                )));
            }
            if to - from + 1 > ctx.limits.max_logs_range {
                return Err(RpcError::Limit(format!(
                    "block range too large: {} blocks requested, the limit is {}",
                    to - from + 1,
                    ctx.limits.max_logs_range
                )));
            }
            if from > head {
                return Ok(None);
            }
            let to = to.min(head);
            Ok(Some((from, to)))
        }
    }
}

/// Logs of blocks `from..=to` that match `filter`, skipping blocks whose bloom rules them out.
pub fn logs_in_range(
    ctx: &RpcCtx,
    reader: &StoreReader,
    filter: &Filter,
    from: u64,
    to: u64,
) -> RpcResult<Vec<Log>> {
    let mut out = Vec::new();
    for number in from..=to {
        let Some((_, header)) = reader.header(number)? else {
            break;
        };
        if !filter.matches_bloom(header.logs_bloom) {
            continue;
        }
        let Some(block) = load_block(reader, number)? else {
            break;
        };
        block_logs(&block, filter, &mut out);
        if out.len() > ctx.limits.max_logs {
            return Err(RpcError::Limit(format!(
                "query returned more than {} results; narrow the block range or the filter",
                ctx.limits.max_logs
            )));
        }
    }
    Ok(out)
}

/// Appends the logs of `block` that match `filter`.
pub fn block_logs(block: &SealedBlock, filter: &Filter, out: &mut Vec<Log>) {
    let mut first = 0u64;
    for (i, receipt) in block.receipts.iter().enumerate() {
        let count = receipt.logs().len() as u64;
        if receipt.logs().iter().any(|l| filter.matches(l)) {
            out.extend(
                rpc_logs(block, i, first)
                    .into_iter()
                    .filter(|l| filter.matches(&l.inner)),
            );
        }
        first += count;
    }
}

/// eth_getLogs
pub fn logs(ctx: &RpcCtx, filter: Filter) -> RpcResult<Vec<Log>> {
    let reader = ctx.store.reader()?;
    match filter_range(ctx, &reader, &filter)? {
        Some((from, to)) => logs_in_range(ctx, &reader, &filter, from, to),
        None => match filter.block_option {
            FilterBlockOption::AtBlockHash(_) => Err(RpcError::Unavailable("unknown block".into())),
            FilterBlockOption::Range { .. } => Ok(Vec::new()),
        },
    }
}

/// The suggested priority fee: the 60th percentile of the tips paid over recent blocks,
/// never below 1 wei and 0.001 gwei when blocks are empty.
pub fn max_priority_fee(ctx: &RpcCtx) -> RpcResult<u128> {
    const DEFAULT_TIP: u128 = 1_000_000;
    let reader = ctx.store.reader()?;
    let head = head_number(&reader)?;
    let mut tips = Vec::new();
    for number in head.saturating_sub(19)..=head {
        if let Some(block) = load_block(&reader, number)? {
            let base = block.header.base_fee_per_gas.unwrap_or_default();
            tips.extend(
                block
                    .txs
                    .iter()
                    .filter_map(|t| t.tx.effective_tip_per_gas(base)),
            );
        }
    }
    if tips.is_empty() {
        return Ok(DEFAULT_TIP);
    }
    tips.sort_unstable();
    Ok(tips[(tips.len() - 1) * 60 / 100].max(1))
}

/// eth_gasPrice: next base fee plus the suggested tip.
pub fn gas_price(ctx: &RpcCtx) -> RpcResult<u128> {
    let reader = ctx.store.reader()?;
    let base = ctx.next_base_fee(&reader)?;
    Ok(u128::from(base) + max_priority_fee(ctx)?)
}

/// eth_feeHistory
pub fn fee_history(
    ctx: &RpcCtx,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> RpcResult<FeeHistory> {
    const MAX_BLOCKS: u64 = 1024;
    let count = count.min(MAX_BLOCKS);
    if let Some(p) = &percentiles
        && (p.len() > 100
            || p.iter().any(|v| !(0.0..=100.0).contains(v))
            || p.windows(2).any(|w| w[0] > w[1]))
    {
        return Err(RpcError::InvalidParams(
            "reward percentiles must be ascending values in [0, 100]".into(),
        ));
    }
    let reader = ctx.store.reader()?;
    let newest = resolve_number(&reader, newest)?
        .ok_or_else(|| RpcError::Unavailable("header not found".into()))?;
    if count == 0 {
        return Ok(FeeHistory {
            oldest_block: newest,
            ..Default::default()
        });
    }
    let oldest = newest.saturating_sub(count - 1);
    let mut history = FeeHistory {
        oldest_block: oldest,
        ..Default::default()
    };
    let mut last = None;
    for number in oldest..=newest {
        let Some(block) = load_block(&reader, number)? else {
            break;
        };
        let base = block.header.base_fee_per_gas.unwrap_or_default();
        history.base_fee_per_gas.push(u128::from(base));
        history
            .gas_used_ratio
            .push(block.header.gas_used as f64 / block.header.gas_limit.max(1) as f64);
        history.base_fee_per_blob_gas.push(0);
        history.blob_gas_used_ratio.push(0.0);
        if let Some(p) = &percentiles {
            history
                .reward
                .get_or_insert_with(Vec::new)
                .push(rewards(&block, base, p));
        }
        last = Some(block.header);
    }
    if let Some(h) = last {
        let next = ctx.config.next_base_fee(
            h.gas_used,
            h.gas_limit,
            h.base_fee_per_gas.unwrap_or_default(),
        );
        history.base_fee_per_gas.push(u128::from(next));
        history.base_fee_per_blob_gas.push(0);
    }
    Ok(history)
}

/// Tips at the given percentiles of a block's gas, as geth weighs them.
fn rewards(block: &SealedBlock, base_fee: u64, percentiles: &[f64]) -> Vec<u128> {
    if block.txs.is_empty() {
        return vec![0; percentiles.len()];
    }
    let mut previous = 0u64;
    let mut tips: Vec<(u128, u64)> = block
        .txs
        .iter()
        .zip(&block.receipts)
        .map(|(tx, r)| {
            let used = r.cumulative_gas_used() - previous;
            previous = r.cumulative_gas_used();
            (
                tx.tx.effective_tip_per_gas(base_fee).unwrap_or_default(),
                used,
            )
        })
        .collect();
    tips.sort_unstable_by_key(|(tip, _)| *tip);
    let total: u64 = tips.iter().map(|(_, g)| g).sum();
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0u64;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map(|(t, _)| *t).unwrap_or_default()
        })
        .collect()
}
