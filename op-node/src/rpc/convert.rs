//! Our block, transaction and receipt types in the JSON shapes of the Ethereum RPC (with the
//! OP Stack's fields), built with alloy's and op-alloy's RPC types.

use crate::block::{RecoveredTx, SealedBlock};
use alloy::consensus::ReceiptWithBloom;
use alloy::{
    consensus::{Transaction as _, TxReceipt},
    primitives::U256,
    rpc::types::{Block, BlockTransactions, Header as RpcHeader, Log, TransactionReceipt},
};
use op_alloy::{
    consensus::{OpReceipt, OpReceiptEnvelope},
    rpc_types::{L1BlockInfo, OpTransactionReceipt, Transaction},
};

/// An RPC block with transaction hashes, or with full transactions when `full`.
pub fn rpc_block(block: &SealedBlock, full: bool) -> Block<Transaction> {
    let transactions = if full {
        BlockTransactions::Full(
            block
                .txs
                .iter()
                .enumerate()
                .map(|(i, tx)| rpc_transaction(tx, Some((block, i))))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.txs.iter().map(|tx| tx.hash).collect())
    };
    let size = alloy::rlp::Encodable::length(&block.header)
        + block.txs.iter().map(|t| t.encoded.len()).sum::<usize>();
    Block {
        header: RpcHeader {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Default::default()),
    }
}

/// An RPC transaction; `location` is its block and index once included.
pub fn rpc_transaction(tx: &RecoveredTx, location: Option<(&SealedBlock, usize)>) -> Transaction {
    let (block_hash, block_number, index, base_fee, timestamp) = match location {
        Some((block, i)) => (
            Some(block.hash),
            Some(block.number()),
            Some(i as u64),
            block.header.base_fee_per_gas,
            Some(block.header.timestamp),
        ),
        None => (None, None, None, None, None),
    };
    let effective_gas_price = Some(base_fee.map_or(tx.tx.max_fee_per_gas(), |fee| {
        tx.tx.effective_gas_price(Some(fee))
    }));
    let (deposit_nonce, deposit_receipt_version) = match location.map(|(b, i)| b.receipts.get(i)) {
        Some(Some(OpReceiptEnvelope::Deposit(r))) => {
            (r.receipt.deposit_nonce, r.receipt.deposit_receipt_version)
        }
        _ => (None, None),
    };
    Transaction {
        inner: alloy::rpc::types::Transaction {
            inner: tx.tx.clone(),
            block_hash,
            block_number,
            transaction_index: index,
            effective_gas_price,
            block_timestamp: timestamp,
        },
        deposit_nonce,
        deposit_receipt_version,
    }
}

/// The L1 data fee terms of a block, from its L1-info deposit (`None` on the L1 or on a block
/// without one).
fn l1_fee_terms(
    block: &SealedBlock,
) -> Option<(op_revm::L1BlockInfo, bridge::l1_info::L1BlockInfo)> {
    let info = crate::derivation::origin_of(&block.txs)?;
    let terms = op_revm::L1BlockInfo {
        l1_base_fee: info.base_fee,
        l1_base_fee_scalar: U256::from(info.base_fee_scalar),
        l1_blob_base_fee: Some(info.blob_base_fee),
        l1_blob_base_fee_scalar: Some(U256::from(info.blob_base_fee_scalar)),
        operator_fee_scalar: Some(U256::from(info.operator_fee_scalar)),
        operator_fee_constant: Some(U256::from(info.operator_fee_constant)),
        ..Default::default()
    };
    Some((terms, info))
}

/// The L1 fee fields of a receipt (what op-revm charged for the transaction's data).
fn l1_block_info(
    terms: Option<&(op_revm::L1BlockInfo, bridge::l1_info::L1BlockInfo)>,
    tx: &RecoveredTx,
) -> L1BlockInfo {
    let Some((terms, info)) = terms else {
        return L1BlockInfo::default();
    };
    let base = L1BlockInfo {
        l1_gas_price: u128::try_from(info.base_fee).ok(),
        l1_blob_base_fee: u128::try_from(info.blob_base_fee).ok(),
        l1_base_fee_scalar: Some(u128::from(info.base_fee_scalar)),
        l1_blob_base_fee_scalar: Some(u128::from(info.blob_base_fee_scalar)),
        ..Default::default()
    };
    if tx.tx.is_deposit() {
        return base;
    }
    let spec = op_revm::OpSpecId::ISTHMUS;
    let mut terms = terms.clone();
    let fee = terms.calculate_tx_l1_cost(&tx.encoded, spec);
    let gas = terms.data_gas(&tx.encoded, spec);
    L1BlockInfo {
        l1_fee: u128::try_from(fee).ok(),
        l1_gas_used: u128::try_from(gas).ok(),
        ..base
    }
}

/// The RPC logs of receipt `index` of `block` (log indices are block-wide).
pub fn rpc_logs(block: &SealedBlock, index: usize, first_log_index: u64) -> Vec<Log> {
    let tx_hash = block.txs[index].hash;
    block.receipts[index]
        .logs()
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(tx_hash),
            transaction_index: Some(index as u64),
            log_index: Some(first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

/// Every receipt of `block` in RPC form.
pub fn rpc_receipts(block: &SealedBlock) -> Vec<OpTransactionReceipt> {
    let mut out = Vec::with_capacity(block.receipts.len());
    let terms = l1_fee_terms(block);
    let mut log_index = 0u64;
    let mut previous_cumulative = 0u64;
    for (i, envelope) in block.receipts.iter().enumerate() {
        let tx = &block.txs[i];
        let logs = rpc_logs(block, i, log_index);
        log_index += logs.len() as u64;
        let cumulative = envelope.cumulative_gas_used();
        let gas_used = cumulative - previous_cumulative;
        previous_cumulative = cumulative;
        let bloom = envelope.bloom();
        let mut logs = logs.into_iter();
        let receipt: OpReceipt = OpReceiptEnvelope::clone(envelope).into();
        let receipt = receipt.map_logs(|_| logs.next().expect("one RPC log per consensus log"));
        let to = tx.tx.to();
        // A deposit carries no nonce; the one it used is the receipt's depositNonce.
        let nonce = match envelope {
            OpReceiptEnvelope::Deposit(r) => r.receipt.deposit_nonce.unwrap_or_default(),
            _ => tx.tx.nonce(),
        };
        let contract_address = tx.tx.is_create().then(|| tx.sender().create(nonce));
        out.push(OpTransactionReceipt {
            inner: TransactionReceipt {
                inner: ReceiptWithBloom {
                    receipt,
                    logs_bloom: bloom,
                },
                transaction_hash: tx.hash,
                transaction_index: Some(i as u64),
                block_hash: Some(block.hash),
                block_number: Some(block.number()),
                gas_used,
                effective_gas_price: tx.tx.effective_gas_price(block.header.base_fee_per_gas),
                blob_gas_used: None,
                blob_gas_price: None,
                from: tx.sender(),
                to,
                contract_address,
            },
            l1_block_info: l1_block_info(terms.as_ref(), tx),
            op_gas_refund: None,
        });
    }
    out
}
