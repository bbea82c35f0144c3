//! Running a block's transactions through an alloy-evm block executor: the L2's OP executor
//! (deposits, L1 data fee) or, for the embedded L1, Ethereum's.
//!
//! Forced transactions (the L2's deposits) come first and are always included; then the
//! candidates, each either included, left for a later block, or rejected for good. Which
//! candidates are tried is the [`Selection`]'s rule: the sequencer's pool, or a block's recorded
//! transactions (derivation, BATCHES.md §5.2).

use super::{EngineError, RejectedTx};
use crate::block::RecoveredTx;
use alloy::{
    consensus::{ReceiptEnvelope, Transaction as _, TxEnvelope, transaction::Recovered},
    eips::eip2718::WithEncoded,
    primitives::{B256, map::AddressSet},
};
use alloy_evm::block::{
    BlockExecutionError, BlockExecutionResult, BlockExecutor, BlockValidationError, GasOutput,
};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use revm::context_interface::result::InvalidTransaction;
use std::sync::Arc;
use tracing::{debug, error};

/// Which candidates are tried after one is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The sequencer's, building from its pool: after a candidate does not fit or is refused,
    /// the same sender's later candidates are left out too (a nonce gap would refuse them; a
    /// later block may take them). Its blocks hold only transactions that ran, so they derive
    /// the same under [`Selection::EachOnItsOwn`].
    HoldBackSender,
    /// Derivation's (BATCHES.md §5.2): each recorded transaction is judged on its own against
    /// the state at its position, as the fraud VM's start-or-skip step judges it (fraud-vm
    /// SPEC §5.9): the rule carries no set of senders.
    EachOnItsOwn,
}

/// Where a block's candidates come from, batch after batch: a fixed list (a block built at
/// once), or the sequencer's pool while the block is open (transactions executed as they
/// arrive, so only the state root and the seal remain when it closes).
pub trait CandidateSource {
    /// Appends the next candidates to try, in order, to `into` (empty on entry); `false`
    /// (with nothing appended) once the block closes. May wait for candidates to arrive.
    fn next_batch(&mut self, into: &mut Vec<Arc<RecoveredTx>>) -> bool;

    /// About how many transactions the block will hold (sizes its change map up front).
    fn size_hint(&self) -> usize;
}

/// A fixed list of candidates, tried in one batch.
#[derive(Debug)]
pub struct Fixed<'a>(pub &'a [Arc<RecoveredTx>]);

impl CandidateSource for Fixed<'_> {
    fn next_batch(&mut self, into: &mut Vec<Arc<RecoveredTx>>) -> bool {
        let list = std::mem::take(&mut self.0);
        into.extend_from_slice(list);
        !list.is_empty()
    }

    fn size_hint(&self) -> usize {
        self.0.len()
    }
}

/// What executing one block produced.
#[derive(Debug)]
pub struct Executed {
    /// Transactions in block order (forced ones first).
    pub included: Vec<Arc<RecoveredTx>>,
    /// Candidates refused for good.
    pub rejected: Vec<RejectedTx>,
    /// One receipt per included transaction.
    pub receipts: Vec<OpReceiptEnvelope>,
    /// Gas used by the block.
    pub gas_used: u64,
    /// Hash of the EIP-7685 requests (L1 only; `None` means the empty list's).
    pub requests_hash: Option<B256>,
}

/// Runs forced transactions, then candidates (chosen by `selection`), through `executor`.
///
/// `run` executes one transaction; `receipt` turns the executor's receipts into ours.
#[allow(clippy::too_many_arguments)]
pub fn execute<E, R>(
    mut executor: E,
    selection: Selection,
    gas_limit: u64,
    forced: &[Arc<RecoveredTx>],
    candidates: &mut dyn CandidateSource,
    mut run: impl FnMut(&mut E, &RecoveredTx) -> Result<GasOutput, BlockExecutionError>,
    receipt: impl Fn(E::Receipt) -> Option<OpReceiptEnvelope>,
    requests_hash: impl FnOnce(&BlockExecutionResult<E::Receipt>) -> Option<B256>,
) -> Result<Executed, EngineError>
where
    E: BlockExecutor<Receipt = R>,
{
    executor.apply_pre_execution_changes()?;
    let mut included = Vec::with_capacity(forced.len() + candidates.size_hint());
    let mut rejected = Vec::new();
    let mut block_gas = 0u64;
    for tx in forced {
        match run(&mut executor, tx) {
            Ok(gas) => {
                block_gas += gas.tx_gas_used();
                included.push(tx.clone());
            }
            // A deposit the EVM refuses outright (its gas does not fit the block) cannot be
            // included; the portal bounds deposit gas so this does not happen in practice.
            Err(BlockExecutionError::Validation(e)) => {
                error!(target: "engine", tx = %tx.hash, reason = %e, "forced transaction refused by the EVM");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut held_back = AddressSet::default();
    let hold_back = selection == Selection::HoldBackSender;
    let mut batch = Vec::new();
    'block: while candidates.next_batch(&mut batch) {
        for tx in batch.drain(..) {
            let sender = tx.sender();
            if held_back.contains(&sender) {
                continue;
            }
            // The EVM's own check (gas limit above the block's gas left), made early.
            if block_gas + tx.tx.gas_limit() > gas_limit {
                if hold_back {
                    held_back.insert(sender);
                }
                continue;
            }
            match run(&mut executor, &tx) {
                Ok(gas) => {
                    block_gas += gas.tx_gas_used();
                    included.push(tx.clone());
                }
                Err(BlockExecutionError::Validation(BlockValidationError::InvalidTx {
                    error,
                    ..
                })) => {
                    if hold_back {
                        held_back.insert(sender);
                    }
                    // A nonce gap may close later; any other refusal is final.
                    if !matches!(
                        error.as_invalid_tx_err(),
                        Some(InvalidTransaction::NonceTooHigh { .. })
                    ) {
                        debug!(target: "engine", tx = %tx.hash, reason = %error, "dropping invalid transaction");
                        rejected.push(RejectedTx {
                            tx: tx.clone(),
                            reason: error.to_string(),
                        });
                    }
                }
                Err(BlockExecutionError::Validation(e)) => {
                    if hold_back {
                        held_back.insert(sender);
                    }
                    debug!(target: "engine", tx = %tx.hash, reason = %e, "transaction left for a later block");
                }
                Err(e) => return Err(e.into()),
            }
            // No transaction needs less than 21000 gas: every later one would be refused.
            if gas_limit - block_gas < 21_000 {
                break 'block;
            }
        }
    }
    let (_evm, result) = executor.finish()?;
    let requests_hash = requests_hash(&result);
    let receipts: Vec<OpReceiptEnvelope> =
        result.receipts.into_iter().filter_map(receipt).collect();
    if receipts.len() != included.len() {
        return Err(EngineError::Internal(
            "a receipt of the embedded L1 has no OP counterpart".into(),
        ));
    }
    Ok(Executed {
        included,
        rejected,
        receipts,
        gas_used: result.gas_used,
        requests_hash,
    })
}

/// Runs one transaction through the OP executor, with its encoding (for the L1 data fee).
pub fn run_op<E>(executor: &mut E, tx: &RecoveredTx) -> Result<GasOutput, BlockExecutionError>
where
    E: BlockExecutor<Transaction = OpTxEnvelope>,
    for<'a> WithEncoded<&'a Recovered<OpTxEnvelope>>: alloy_evm::block::ExecutableTx<E>,
{
    executor.execute_transaction(WithEncoded::new(tx.encoded.clone(), &tx.tx))
}

/// The Ethereum form of a transaction, for the embedded L1 (which has no deposits).
pub fn to_ethereum(tx: &RecoveredTx) -> Option<Recovered<TxEnvelope>> {
    let envelope = match tx.tx.inner() {
        OpTxEnvelope::Legacy(t) => TxEnvelope::Legacy(t.clone()),
        OpTxEnvelope::Eip2930(t) => TxEnvelope::Eip2930(t.clone()),
        OpTxEnvelope::Eip1559(t) => TxEnvelope::Eip1559(t.clone()),
        OpTxEnvelope::Eip7702(t) => TxEnvelope::Eip7702(t.clone()),
        OpTxEnvelope::Deposit(_) | OpTxEnvelope::PostExec(_) => return None,
    };
    Some(Recovered::new_unchecked(envelope, tx.sender()))
}

/// An Ethereum receipt in the OP envelope storage and RPC use (same encoding for these types).
pub fn from_ethereum_receipt(receipt: ReceiptEnvelope) -> Option<OpReceiptEnvelope> {
    Some(match receipt {
        ReceiptEnvelope::Legacy(r) => OpReceiptEnvelope::Legacy(r),
        ReceiptEnvelope::Eip2930(r) => OpReceiptEnvelope::Eip2930(r),
        ReceiptEnvelope::Eip1559(r) => OpReceiptEnvelope::Eip1559(r),
        ReceiptEnvelope::Eip7702(r) => OpReceiptEnvelope::Eip7702(r),
        ReceiptEnvelope::Eip4844(_) => return None,
    })
}
