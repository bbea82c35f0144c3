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
    consensus::{
        Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxEnvelope,
        transaction::Recovered,
    },
    eips::eip2718::WithEncoded,
    primitives::{B256, Bloom, BloomInput, map::AddressSet},
};
use alloy_evm::{
    Evm,
    block::{
        BlockExecutionError, BlockExecutionResult, BlockExecutor, BlockValidationError, GasOutput,
    },
    eth::receipt_builder::ReceiptBuilderCtx,
};
use alloy_op_evm::block::receipt_builder::OpReceiptBuilder;
use op_alloy::consensus::{OpDepositReceipt, OpReceiptEnvelope, OpTxEnvelope, OpTxType};
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
    /// One receipt per included transaction. The L2's ([`BloomLater`]) have no logs bloom
    /// yet: [`fill_blooms`] sets it.
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

/// The L2's receipts, built as alloy-op-evm's `OpAlloyReceiptBuilder` builds them but with the
/// logs bloom left zero, for [`fill_blooms`] to set once the block is executed.
///
/// A log's bloom takes the keccak of its address and of each topic: an ERC-20 transfer's
/// `Transfer` event four. Taken one by one as each receipt was built, they were 18 % of the
/// block thread's instructions in a block of 2,000 ERC-20 transfers (callgrind, 100k
/// accounts); [`fill_blooms`] hashes them all at once in keccak lanes, on the sealing thread
/// (beside the state root) for a built block.
#[derive(Debug, Default, Clone, Copy)]
pub struct BloomLater;

impl OpReceiptBuilder for BloomLater {
    type Transaction = OpTxEnvelope;
    type Receipt = OpReceiptEnvelope;

    fn build_receipt<'a, E: Evm>(
        &self,
        ctx: ReceiptBuilderCtx<'a, OpTxType, E>,
    ) -> Result<Self::Receipt, ReceiptBuilderCtx<'a, OpTxType, E>> {
        let wrap = match ctx.tx_type {
            OpTxType::Deposit => return Err(ctx),
            OpTxType::Legacy => OpReceiptEnvelope::Legacy,
            OpTxType::Eip2930 => OpReceiptEnvelope::Eip2930,
            OpTxType::Eip1559 => OpReceiptEnvelope::Eip1559,
            OpTxType::Eip7702 => OpReceiptEnvelope::Eip7702,
            OpTxType::PostExec => OpReceiptEnvelope::PostExec,
        };
        Ok(wrap(ReceiptWithBloom::new(
            Receipt {
                status: Eip658Value::Eip658(ctx.result.is_success()),
                cumulative_gas_used: ctx.cumulative_gas_used,
                logs: ctx.result.into_logs(),
            },
            Bloom::ZERO,
        )))
    }

    fn build_deposit_receipt(&self, inner: OpDepositReceipt) -> Self::Receipt {
        OpReceiptEnvelope::Deposit(ReceiptWithBloom::new(inner, Bloom::ZERO))
    }
}

/// Sets the logs bloom of every receipt that has logs and no bloom yet (those of
/// [`BloomLater`]; a receipt with a log always has bits set, so one whose bloom is set is left
/// as it is). Every address and topic is hashed in one [`fraud_vm::keccak_lanes`] call.
pub fn fill_blooms(receipts: &mut [OpReceiptEnvelope]) {
    let pending = |r: &OpReceiptEnvelope| !r.logs().is_empty() && *r.logs_bloom() == Bloom::ZERO;
    let messages: Vec<&[u8]> = receipts
        .iter()
        .filter(|r| pending(r))
        .flat_map(|r| r.logs())
        .flat_map(|log| {
            std::iter::once(log.address.as_slice())
                .chain(log.data.topics().iter().map(|topic| topic.as_slice()))
        })
        .collect();
    if messages.is_empty() {
        return;
    }
    let mut hashes = vec![B256::ZERO; messages.len()];
    fraud_vm::keccak_lanes::keccak256_each(&messages, &mut hashes);
    drop(messages);
    let mut hashes = hashes.into_iter();
    for receipt in receipts.iter_mut().filter(|r| pending(r)) {
        let inputs: usize = receipt
            .logs()
            .iter()
            .map(|log| 1 + log.data.topics().len())
            .sum();
        let mut bloom = Bloom::ZERO;
        for hash in hashes.by_ref().take(inputs) {
            bloom.accrue(BloomInput::Hash(hash));
        }
        *bloom_mut(receipt) = bloom;
    }
}

/// The logs bloom field of a receipt.
fn bloom_mut(receipt: &mut OpReceiptEnvelope) -> &mut Bloom {
    match receipt {
        OpReceiptEnvelope::Legacy(r)
        | OpReceiptEnvelope::Eip2930(r)
        | OpReceiptEnvelope::Eip1559(r)
        | OpReceiptEnvelope::Eip7702(r)
        | OpReceiptEnvelope::PostExec(r) => &mut r.logs_bloom,
        OpReceiptEnvelope::Deposit(r) => &mut r.logs_bloom,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, Log, LogData};
    use proptest::{collection::vec, prelude::*};

    fn log(address: [u8; 20], topics: &[[u8; 32]]) -> Log {
        Log {
            address: Address::from(address),
            data: LogData::new_unchecked(
                topics.iter().map(|&t| B256::from(t)).collect(),
                Default::default(),
            ),
        }
    }

    proptest! {
        /// Blooms set afterwards, in lanes, are those alloy computes as it builds a receipt.
        #[test]
        fn filled_blooms_equal_alloys(
            receipts in vec(
                (any::<bool>(), vec((any::<[u8; 20]>(), vec(any::<[u8; 32]>(), 0..=4)), 0..6)),
                0..12,
            )
        ) {
            let mut later = Vec::new();
            let mut want = Vec::new();
            for (i, (deposit, logs)) in receipts.iter().enumerate() {
                let logs: Vec<Log> = logs.iter().map(|(a, t)| log(*a, t)).collect();
                let receipt = Receipt {
                    status: Eip658Value::Eip658(true),
                    cumulative_gas_used: 21_000 * i as u64,
                    logs,
                };
                let (now, then) = match deposit {
                    false => (
                        OpReceiptEnvelope::Eip1559(receipt.clone().with_bloom()),
                        OpReceiptEnvelope::Eip1559(ReceiptWithBloom::new(receipt, Bloom::ZERO)),
                    ),
                    true => {
                        let inner = OpDepositReceipt {
                            inner: receipt,
                            deposit_nonce: Some(i as u64),
                            deposit_receipt_version: Some(1),
                        };
                        (
                            OpReceiptEnvelope::Deposit(inner.clone().with_bloom()),
                            BloomLater.build_deposit_receipt(inner),
                        )
                    }
                };
                want.push(now);
                later.push(then);
            }
            fill_blooms(&mut later);
            prop_assert_eq!(&later, &want);
            // Filling again changes nothing.
            fill_blooms(&mut later);
            prop_assert_eq!(later, want);
        }
    }
}
