//! The start of a traced block (SPEC.md §5.18): `s_0` derived by `blockStart` from the parent's
//! output and the block's inputs, then the two system call steps proved, verified and applied,
//! and their writes compared with op-revm running the same system calls.

use super::{
    BlockObserver, BlockTx, ChainConfig, CheckError, DecodeTxError, L2Block, Stats,
    compare_accounts, evm_error, handed, observed_boundary_step, settle,
};
use crate::block_start::block_start;
use crate::mpt::BaseState;
use crate::state::{BlockConstants, BlockEnv, FullState, Status};
use crate::tx::Transactions;
use crate::world::WorldState;
use alloy::primitives::{B256, Bytes};
use op_revm::{DefaultOp, OpBuilder};
use revm::context::CfgEnv;
use revm::database::CacheDB;
use revm::{Context, DatabaseCommit, DatabaseRef};
use std::sync::Arc;

/// A block whose system calls ran: the Idle state before its first transaction and what the
/// transactions need.
pub(super) struct Started {
    /// The Idle state before transaction 0, at block-wide position 2.
    pub idle: FullState,
    /// Whether its commitment was left stale ([`boundary_step`]).
    pub stale: bool,
    /// The block environment `blockStart` derived.
    pub block_env: BlockEnv,
    /// The transactions, decoded; `None` for a recorded transaction that does not decode (the
    /// transaction steps skip it, SPEC.md §5.9).
    pub txs: Arc<Vec<Option<BlockTx>>>,
    /// The list the block environment commits to.
    pub list: Arc<Transactions>,
}

/// What a block's start derives from its inputs alone, before anything runs: `s_0` with its
/// block environment and constants (`blockStart`, SPEC.md §5.18), the transactions decoded
/// with their senders recovered, and their list. The same in every run of the block, so a
/// party answering about it ([`super::BlockSteps`]) derives it once, as op-revm's baseline
/// ([`super::execution_time`]) decodes the transactions before it is timed.
#[derive(Clone)]
pub(crate) struct Prepared {
    start: crate::block_start::BlockStart,
    txs: Arc<Vec<Option<BlockTx>>>,
    list: Arc<Transactions>,
}

/// Derives [`Prepared`] for `block`: fails as [`start_block`] would.
pub(super) fn prepare(block: &L2Block, config: &ChainConfig) -> Result<Prepared, CheckError> {
    let start = block_start(
        block.parent_output_root(),
        block.number(),
        &block.start_proof(),
        &config.params,
    )
    .map_err(|e| CheckError::BadStart(e.to_string()))?;
    // The deposits section: the leading deposits (as `Transactions::new` splits the list).
    let deposits = block
        .transactions
        .iter()
        .take_while(|raw| raw.first() == Some(&crate::receipt::DEPOSIT_TX_TYPE))
        .count();
    let txs = block
        .transactions
        .iter()
        .enumerate()
        .map(
            |(index, raw)| match BlockTx::decode(raw, config.params.chain_id) {
                Ok(tx) => Ok(Some(tx)),
                // [v0.6] A recorded transaction that does not decode is skipped; a deposit must.
                Err(_) if index >= deposits => Ok(None),
                Err(DecodeTxError::Malformed(reason)) => {
                    Err(CheckError::BadTransaction { index, reason })
                }
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    let list = Arc::new(Transactions::new(
        txs.iter()
            .zip(&block.transactions)
            .map(|(t, raw)| match t {
                Some(t) => t.record.clone(),
                None => crate::tx::TxRecord {
                    encoded: raw.to_vec(),
                    ..Default::default()
                },
            })
            .collect(),
    ));
    Ok(Prepared {
        start,
        txs: Arc::new(txs),
        list,
    })
}

/// Derives `s_0` of `block` with `blockStart`, hands it to `observer` at position 0, and proves,
/// verifies and applies the two system call steps (positions 1 and 2; for an observer that
/// neither verifies nor wants their proofs, only applied, light: [`boundary_step`]); runs the
/// same system calls with op-revm on `db`, whose changes the Idle state's world must hold.
/// `prepared`, if given, is [`prepare`]'s result for `block`.
pub(super) fn start_block<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    base: Arc<BaseState>,
    block: &L2Block,
    config: &ChainConfig,
    observer: &mut dyn BlockObserver,
    stats: &mut Stats,
    prepared: Option<&Prepared>,
) -> Result<Started, CheckError>
where
    DB::Error: std::fmt::Display,
{
    let Prepared { start, txs, list } = match prepared {
        Some(p) => p.clone(),
        None => prepare(block, config)?,
    };
    let constants = Arc::new(start.constants);
    let mut state = FullState::idle(
        start.state.block_number,
        0,
        0,
        B256::ZERO,
        start.block_env.clone(),
        constants.clone(),
        WorldState::at_block_start(base),
        list.clone(),
    );
    state.record = start.state;
    if state.world.commitment() != state.record.world_root
        || list.roots() != start.block_env.transactions
    {
        return Err(CheckError::BadStart(
            "the pre-state is not the parent output's state".into(),
        ));
    }
    observer.state(0, &state);
    let mut stale = false;
    for position in 1..=2u64 {
        let step = |reason: String| CheckError::Step {
            index: 0,
            step: position - 1,
            kind: "SystemCall".into(),
            reason,
        };
        let (_, _, mut next, next_stale) =
            observed_boundary_step(observer, state, "SystemCall", stats, step)?;
        stale = next_stale;
        if handed(observer, position) {
            settle(&mut next, &mut stale);
        }
        observer.state(position, &next);
        state = next;
    }
    if state.record.status != Status::Idle {
        return Err(CheckError::BadStart(
            "the system calls do not end in an Idle state".into(),
        ));
    }
    let changed = pre_execution(db, &start.block_env, &constants, config)?;
    compare_accounts(&state.world, &changed).map_err(|what| CheckError::Diverged {
        index: 0,
        what: format!("the system calls: {what}"),
    })?;
    Ok(Started {
        idle: state,
        stale,
        block_env: start.block_env,
        txs,
        list,
    })
}

/// The pre-execution system calls of an Isthmus block, as alloy-op-evm's block executor makes
/// them (EIP-2935 with the parent hash, then EIP-4788 with the parent beacon root; none for the
/// genesis block), committed to `db`; returns the accounts they changed.
pub(super) fn pre_execution<DB: DatabaseRef>(
    db: &mut CacheDB<DB>,
    block: &BlockEnv,
    constants: &BlockConstants,
    config: &ChainConfig,
) -> Result<revm::state::EvmState, CheckError>
where
    DB::Error: std::fmt::Display,
{
    use revm::SystemCallEvm;
    let mut cfg = CfgEnv::new_with_spec(config.spec());
    cfg.chain_id = config.params.chain_id;
    let mut changed = revm::state::EvmState::default();
    if block.number.is_zero() {
        return Ok(changed);
    }
    for (contract, data) in [
        (
            alloy::eips::eip2935::HISTORY_STORAGE_ADDRESS,
            Bytes::copy_from_slice(constants.parent_hash.as_slice()),
        ),
        (
            alloy::eips::eip4788::BEACON_ROOTS_ADDRESS,
            Bytes::copy_from_slice(constants.parent_beacon_root.as_slice()),
        ),
    ] {
        let mut evm = Context::op()
            .with_db(&mut *db)
            .with_cfg(cfg.clone())
            .with_block(super::revm_block_env(block))
            .build_op()
            .with_precompiles(crate::precompiles::RollupPrecompiles::default());
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
