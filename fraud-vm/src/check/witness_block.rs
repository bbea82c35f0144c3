//! `check_block`: a real block against its `debug_executionWitness` pre-state (SPEC.md §7).

use super::{
    BlockInputs, BlockOutcome, BlockReport, BlockTx, ChainConfig, CheckError, CommitmentsOnly,
    DecodeTxError, evm_error, execution_time, revm_block_env, trace_block,
};
use crate::mpt::BaseState;
use crate::world::WorldState;
use alloy::primitives::{B256, Bytes};
use op_revm::{DefaultOp, OpBuilder};
use revm::context::CfgEnv;
use revm::database::CacheDB;
use revm::{Context, DatabaseCommit, DatabaseRef};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Checks a real OP L2 block against its pre-state witness, in reth's `debug_executionWitness`
/// format: `witness.state` holds the RLP trie nodes, `codes` the codes, `keys` the preimages
/// (unused here: paths are walked from addresses and slots), `headers` the RLP headers from the
/// oldest the block reads up to its parent, last.
///
/// It checks the headers chain up to `header.parent_hash`, runs the pre-execution system calls
/// (EIP-4788 beacon root, EIP-2935 block hash history) with op-revm, then traces every
/// transaction with op-revm over the witness, proves every step and verifies it with the
/// reference verifier (each proof must reach the next traced state), and compares each
/// transaction's outcome with op-revm's and the block's gas with the header's.
///
/// The block start and block end steps (SPEC.md §5.9: the system calls as steps, the state trie
/// fold, the receipts root, the block hash and the output root) are pending in this version, so a
/// block whose every transaction step verifies ends in [`CheckError::Unsupported`] carrying the
/// full report: never a pass for what was not checked. A witness lacking a node, code or header
/// that execution or a proof reads fails with [`CheckError::MissingWitness`] naming it.
pub fn check_block(
    header: &alloy::consensus::Header,
    transactions: &[Bytes],
    witness: &alloy::rpc::types::debug::ExecutionWitness,
    config: &ChainConfig,
) -> Result<BlockReport, CheckError> {
    use crate::witness::{WitnessDb, WitnessTrie};
    use alloy::rlp::Decodable;
    let mut headers = Vec::with_capacity(witness.headers.len());
    for raw in &witness.headers {
        let h = alloy::consensus::Header::decode(&mut raw.as_ref())
            .map_err(|e| CheckError::BadWitness(format!("header: {e}")))?;
        headers.push(h);
    }
    let parent = headers
        .last()
        .ok_or_else(|| CheckError::MissingWitness("the parent header".into()))?;
    if parent.hash_slow() != header.parent_hash || parent.number + 1 != header.number {
        return Err(CheckError::BadWitness(
            "the last header is not the block's parent".into(),
        ));
    }
    let mut block_hashes = BTreeMap::new();
    for pair in headers.windows(2) {
        if pair[1].parent_hash != pair[0].hash_slow() || pair[1].number != pair[0].number + 1 {
            return Err(CheckError::BadWitness("headers do not chain".into()));
        }
    }
    for h in &headers {
        block_hashes.insert(h.number, h.hash_slow());
    }
    let trie = Arc::new(WitnessTrie::new(
        parent.state_root,
        &witness.state,
        &witness.codes,
    ));
    let txs = transactions
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            BlockTx::decode(raw, config.chain_id).map_err(|e| match e {
                DecodeTxError::Malformed(reason) => CheckError::BadTransaction { index, reason },
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // An OP block opens with its L1-info deposit (the start step checks what it is).
    if transactions.is_empty() {
        return Err(CheckError::BadTransaction {
            index: 0,
            reason: "an OP block starts with the L1-info deposit; this one is empty".into(),
        });
    }
    // The transactions checked are the ones the header commits to.
    let transactions_root =
        alloy_trie::root::ordered_trie_root_with_encoder(transactions, |t, buf| {
            buf.extend_from_slice(t)
        });
    if transactions_root != header.transactions_root {
        return Err(CheckError::HeaderMismatch {
            field: "transactions_root",
            header: header.transactions_root.to_string(),
            computed: transactions_root.to_string(),
        });
    }
    let inputs = BlockInputs {
        number: header.number,
        coinbase: header.beneficiary,
        timestamp: header.timestamp,
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        prevrandao: header.mix_hash,
    };
    let db = WitnessDb {
        trie: trie.clone(),
        block_hashes: block_hashes.clone(),
    };
    let constants = Arc::new(crate::state::BlockConstants {
        parent_hash: header.parent_hash,
        parent_beacon_root: header.parent_beacon_block_root.unwrap_or_default(),
        inputs_hash: B256::ZERO,
        tx_count: txs.len() as u64,
        extra_data: header.extra_data.to_vec(),
    });

    let mut plain_db = CacheDB::new(db.clone());
    pre_execution(&mut plain_db, &inputs, header, config)?;
    let execution_time = execution_time(&mut plain_db, &inputs, config, &txs)?;

    // The block's pre-state and what the system calls before its first transaction wrote.
    let start = || -> Result<(CacheDB<WitnessDb>, WorldState), CheckError> {
        let mut db = CacheDB::new(db.clone());
        let mut world = WorldState::at_block_start(Arc::new(BaseState::from_witness(trie.clone())));
        let changes = pre_execution(&mut db, &inputs, header, config)?;
        for (address, account) in &changes {
            let rec = world.account(*address);
            world.set_account(
                *address,
                crate::world::AccountRecord {
                    nonce: account.info.nonce,
                    balance: account.info.balance,
                    code_hash: account.info.code_hash,
                    ..rec
                },
            );
            for (slot, value) in &account.storage {
                if value.is_changed() {
                    world.set_storage(*address, *slot, value.present_value);
                }
            }
        }
        world.begin_tx();
        Ok((db, world))
    };
    let (commit_time, unproved_end) = {
        let (mut db, world) = start()?;
        let began = std::time::Instant::now();
        let unproved = trace_block(
            &mut db,
            world,
            &inputs,
            config,
            &txs,
            constants.clone(),
            &mut CommitmentsOnly::default(),
        )?;
        (began.elapsed(), unproved.last.record.commitment())
    };
    let (mut db, world) = start()?;
    let mut outcome = trace_block(&mut db, world, &inputs, config, &txs, constants, &mut ())?;
    outcome.report.execution_time = execution_time;
    outcome.report.commit_time = commit_time;
    // A bisection answer re-runs the block this way: it must end where the checked run ends.
    if outcome.last.record.commitment() != unproved_end {
        return Err(CheckError::Diverged {
            index: txs.len().saturating_sub(1),
            what: "the unproved re-run ends in another state than the checked run".into(),
        });
    }
    if outcome.report.gas_used != header.gas_used {
        return Err(CheckError::HeaderMismatch {
            field: "gas_used",
            header: header.gas_used.to_string(),
            computed: outcome.report.gas_used.to_string(),
        });
    }
    // The receipts op-revm gave, as the block executor builds them (not yet derived by a
    // block end step from the receipt chain: compared here so a wrong header is caught).
    let (receipts_root, bloom) = receipts_root(&txs, &outcome);
    for (field, header_value, computed) in [
        (
            "receipts_root",
            header.receipts_root.to_string(),
            receipts_root.to_string(),
        ),
        (
            "logs_bloom",
            header.logs_bloom.to_string(),
            bloom.to_string(),
        ),
    ] {
        if header_value != computed {
            return Err(CheckError::HeaderMismatch {
                field,
                header: header_value,
                computed,
            });
        }
    }
    // The block end sealed the header from what execution gave: its output root is the
    // header's exactly when every field agrees.
    let expected = crate::block::output_root(
        header.state_root,
        header
            .withdrawals_root
            .unwrap_or(alloy_trie::EMPTY_ROOT_HASH),
        header.hash_slow(),
    );
    if outcome.output_root != expected {
        return Err(CheckError::HeaderMismatch {
            field: "output_root",
            header: expected.to_string(),
            computed: outcome.output_root.to_string(),
        });
    }
    Err(CheckError::Unsupported {
        what: "block start (the system calls as steps)",
        report: Box::new(outcome.report),
    })
}

/// The receipts root and logs bloom of the block's receipts as alloy-op-evm builds them
/// (deposits with their sender's nonce and receipt version 1, since Canyon).
fn receipts_root(txs: &[BlockTx], outcome: &BlockOutcome) -> (B256, alloy::primitives::Bloom) {
    use alloy::consensus::{Eip658Value, Receipt, TxReceipt};
    use alloy::eips::eip2718::Encodable2718;
    use op_alloy::consensus::{OpDepositReceipt, OpReceiptEnvelope};
    let mut cumulative = 0u64;
    let mut bloom = alloy::primitives::Bloom::ZERO;
    let mut encoded = Vec::with_capacity(txs.len());
    for ((tx, result), nonce) in txs
        .iter()
        .zip(&outcome.results)
        .zip(&outcome.deposit_nonces)
    {
        cumulative += result.tx_gas_used();
        let receipt = Receipt {
            status: Eip658Value::Eip658(result.is_success()),
            cumulative_gas_used: cumulative,
            logs: result.logs().to_vec(),
        };
        let envelope = match (tx.record.encoded.first(), nonce) {
            (_, Some(nonce)) => OpReceiptEnvelope::Deposit(
                OpDepositReceipt {
                    inner: receipt,
                    deposit_nonce: Some(*nonce),
                    deposit_receipt_version: Some(1),
                }
                .with_bloom(),
            ),
            (Some(1), None) => OpReceiptEnvelope::Eip2930(receipt.with_bloom()),
            (Some(2), None) => OpReceiptEnvelope::Eip1559(receipt.with_bloom()),
            (Some(4), None) => OpReceiptEnvelope::Eip7702(receipt.with_bloom()),
            _ => OpReceiptEnvelope::Legacy(receipt.with_bloom()),
        };
        bloom.accrue_bloom(&envelope.bloom());
        encoded.push(envelope.encoded_2718());
    }
    let root = alloy_trie::root::ordered_trie_root_with_encoder(&encoded, |r, buf| {
        buf.extend_from_slice(r)
    });
    (root, bloom)
}

/// The pre-execution system calls of an Isthmus block, as alloy-op-evm's block executor makes
/// them (EIP-2935 with the parent hash, then EIP-4788 with the parent beacon root), committed
/// to `db`; returns the accounts they changed.
fn pre_execution<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    inputs: &BlockInputs,
    header: &alloy::consensus::Header,
    config: &ChainConfig,
) -> Result<revm::state::EvmState, CheckError>
where
    DB::Error: std::fmt::Display,
{
    use revm::SystemCallEvm;
    let mut cfg = CfgEnv::new_with_spec(config.spec());
    cfg.chain_id = config.chain_id;
    let mut changed = revm::state::EvmState::default();
    // alloy-op-evm's order: the block hash history, then the beacon root.
    let calls = [
        (
            alloy::eips::eip2935::HISTORY_STORAGE_ADDRESS,
            (header.number > 0).then(|| Bytes::copy_from_slice(header.parent_hash.as_slice())),
        ),
        (
            alloy::eips::eip4788::BEACON_ROOTS_ADDRESS,
            header
                .parent_beacon_block_root
                .map(|r| Bytes::copy_from_slice(r.as_slice())),
        ),
    ];
    for (contract, data) in calls {
        let Some(data) = data else { continue };
        let mut evm = Context::op()
            .with_db(&mut *db)
            .with_cfg(cfg.clone())
            .with_block(revm_block_env(inputs))
            .build_op();
        let out = evm
            .system_call(contract, data)
            .map_err(|e| evm_error(0, e))?;
        for (address, account) in &out.state {
            let changed_storage = account.storage.values().any(|v| v.is_changed());
            if account.is_touched() && (!account.info.is_empty() || changed_storage) {
                changed.insert(*address, account.clone());
            }
        }
        db.commit(out.state);
    }
    Ok(changed)
}
