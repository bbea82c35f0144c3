//! The transaction start step (SPEC.md §5.9), from an Idle state: validation, gas purchase (with
//! the OP L1 data fee and operator fee under Isthmus rules) or a deposit's mint, nonce, warm
//! accounts and access list, the transaction's checkpoint, the value transfer, and the top
//! frame's first state (or its terminal state for a recipient without code, a precompile, or a
//! deposit that fails). [v0.6] A transaction of the recorded section that fails a check is
//! skipped instead: the post-state is the Idle state of the next index.

use super::call::delegation;
use super::op::{self, DEPOSITOR, L1_BLOCK};
use super::{Ctx, Fault, Oracle, Transition};
use crate::frame::Checkpoint;
use crate::merkle::{WordTree, empty_root};
use crate::proof::VerifyError;
use crate::state::{BlockEnv, MachineState, Rules, Status, TxEnv};
use crate::tx::{DepositFields, TxRecord};
use crate::world::{AccountRecord, is_precompile};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};

pub(super) fn lift<T>(r: Result<T, Fault>) -> Result<T, VerifyError> {
    r.map_err(|f| match f {
        Fault::Invalid(e) => e,
        Fault::Halt(_) => VerifyError::Unsupported {
            what: "halt in a transaction start",
        },
    })
}

/// Why a transaction cannot start: the block holding it is invalid.
fn invalid(what: &'static str) -> VerifyError {
    VerifyError::InvalidTransaction { what }
}

/// A transaction that fails a check of its start (SPEC.md §5.9) [v0.6]: under Isthmus rules, one
/// of the recorded section (`skippable`) is skipped, the post-state being the Idle state at the
/// next index with nothing else changed; a deposit (from L1) or any transaction under Prague
/// rules makes the block invalid.
fn refuse(
    pre: &MachineState,
    skippable: bool,
    what: &'static str,
) -> Result<Transition, VerifyError> {
    if !skippable {
        return Err(invalid(what));
    }
    let next = pre
        .tx_index
        .checked_add(1)
        .ok_or(VerifyError::Unsupported {
            what: "transaction index at its maximum",
        })?;
    Ok(Transition {
        post: MachineState {
            tx_index: next,
            returndata_size: next,
            ..pre.clone()
        },
        halt: None,
        entered: None,
    })
}

/// What the purchase (or a deposit's mint) settled before the checkpoint.
struct Bought {
    price: U256,
    intrinsic: u64,
    floor: u64,
    /// The sender's nonce before the transaction (a creation's address derives from it).
    nonce: u64,
    l1_fee: U256,
    operator_fee_scalar: u64,
    operator_fee_constant: u64,
    /// A deposit that fails: it keeps only its mint and nonce (SPEC.md §5.9).
    failed: bool,
    /// The sender's record as written.
    sender: AccountRecord,
}

/// Whether `tx` is the L1-info deposit: a deposit from the depositor account to L1Block.
pub fn is_l1_info(tx: &TxRecord) -> bool {
    tx.deposit.is_some() && tx.sender == DEPOSITOR && !tx.create && tx.to == L1_BLOCK
}

/// The step from an Idle state (SPEC.md §5.9): the next transaction's start while
/// `tx_index < tx_count`, the block end's first step once every transaction ran.
pub(crate) fn from_idle(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    super::no_code(code)?;
    let block = oracle.block_env()?;
    if block.hash() != pre.block_env_hash {
        return Err(VerifyError::BlockEnvMismatch);
    }
    let constants = super::constants(oracle, &block)?;
    match pre.tx_index.cmp(&constants.tx_count) {
        std::cmp::Ordering::Less => start(pre, &block, oracle),
        std::cmp::Ordering::Equal => super::block_end::begin(pre, &block),
        std::cmp::Ordering::Greater => Err(VerifyError::InvalidTransaction {
            what: "an Idle state past the block's last transaction",
        }),
    }
}

/// The transaction start: the transaction is the list's word `tx_index`, decoded and its sender
/// recovered (SPEC.md §3.9).
fn start(
    pre: &MachineState,
    block: &BlockEnv,
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    let encoded = match oracle.trusted_transaction(pre.tx_index) {
        Some(encoded) => encoded,
        None => {
            let (encoded, position) = oracle.transaction(pre.tx_index)?;
            if position.word != keccak256(&encoded)
                || !block.transactions.verifies(&position, pre.tx_index)
            {
                return Err(VerifyError::BadTransaction);
            }
            encoded
        }
    };
    let op_rules = block.rules == Rules::Isthmus;
    // [v0.6] Only a recorded transaction under Isthmus rules is skipped when it cannot start;
    // never transaction 0, which must be the L1-info deposit.
    let skippable =
        op_rules && pre.tx_index != 0 && !block.transactions.is_deposit_slot(pre.tx_index);
    let tx = match crate::tx::decode(&encoded, block.rules, block.chain_id) {
        Ok(tx) => tx,
        Err(what) => return refuse(pre, skippable, what),
    };
    // A trusted prover's own world needs no check (an Idle state's per-transaction sets are
    // empty).
    let world = super::world_of(oracle, pre.world_root)?;
    if tx.deposit.is_some() && !op_rules {
        return Err(invalid("deposit outside OP rules"));
    }
    // A deposit comes from L1's deposit events, never from the recorded list (SPEC.md §3.6).
    match (
        block.transactions.is_deposit_slot(pre.tx_index),
        tx.deposit.is_some(),
    ) {
        (true, false) => return Err(invalid("a non-deposit in the deposits section")),
        (false, true) => return refuse(pre, skippable, "a deposit in the recorded section"),
        _ => {}
    }
    if op_rules && pre.tx_index == 0 && !is_l1_info(&tx) {
        return Err(invalid("the first transaction is not the L1-info deposit"));
    }
    // The block's gas limit bounds every transaction's, deposits included (Regolith).
    if U256::from(tx.gas_limit) > block.gas_limit.saturating_sub(U256::from(pre.gas)) {
        return refuse(pre, skippable, "gas limit above the block's gas left");
    }
    let mut cx = Ctx::for_world(pre, oracle, world);
    let cx = &mut cx;
    let bought = match tx.deposit {
        Some(deposit) => mint(cx, &tx, deposit)?,
        None => match buy(cx, block, &tx, op_rules)? {
            Ok(bought) => bought,
            // Nothing was written before a check failed: the world is the pre-state's.
            Err(what) => return refuse(pre, skippable, what),
        },
    };
    // The recipient, or the address a creation deploys to.
    let to = if tx.create {
        tx.sender.create(bought.nonce)
    } else {
        tx.to
    };
    for a in [tx.sender, to, block.coinbase] {
        lift(cx.touch_account(a))?;
    }
    // [v0.15] The access list and the authorizations are the sub-steps' (SPEC.md §5.9).
    let (entries, auths) = super::entries::start_entries(&tx, block.chain_id)?;
    let tx_env = TxEnv {
        origin: tx.sender,
        gas_price: bought.price,
        gas_limit: tx.gas_limit,
        floor_gas: bought.floor,
        create: tx.create,
        block_gas_before: pre.gas,
        receipt_open: super::receipt_open(
            pre.returndata_root,
            tx.deposit.map(|_| bought.nonce),
            pre.tx_index,
        ),
        deposit: tx.deposit.is_some(),
        l1_fee: bought.l1_fee,
        operator_fee_scalar: bought.operator_fee_scalar,
        operator_fee_constant: bought.operator_fee_constant,
        auth_refund: 0,
        blob_hashes: tx.blob_hashes.clone(),
    };
    let mut post = MachineState {
        block_number: pre.block_number,
        tx_index: pre.tx_index,
        depth: 0,
        pc: 0,
        status: Status::Running,
        gas: tx.gas_limit.saturating_sub(bought.intrinsic),
        refund: 0,
        frames_root: B256::ZERO,
        address: to,
        caller: tx.sender,
        call_value: tx.value,
        is_static: false,
        code_hash: KECCAK_EMPTY,
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: empty_root(),
        memory_size: 0,
        calldata_root: empty_root(),
        calldata_size: 0,
        returndata_root: empty_root(),
        returndata_size: 0,
        tx_env_hash: B256::ZERO,
        block_env_hash: pre.block_env_hash,
        world_root: B256::ZERO,
    };
    if !entries.is_empty() {
        if bought.failed {
            return Err(VerifyError::Unsupported {
                what: "a failing deposit with entries",
            });
        }
        starting(cx, &tx, &tx_env, &entries, auths, &mut post)?;
        post.world_root = cx.world.map(|w| w.commitment()).unwrap_or_default();
        return Ok(Transition {
            post,
            halt: None,
            entered: None,
        });
    }
    cx.oracle.tx_checkpoint_pushed();
    let w = lift(cx.world())?;
    w.checkpoint_root = Checkpoint::of(w).link();
    cx.oracle.tx_env_built(&tx_env);
    post.tx_env_hash = tx_env.hash();
    if bought.failed {
        // A failing deposit runs nothing: its terminal state is an exceptional halt, and the
        // transaction end restores the checkpoint (mint and nonce stay).
        post.status = Status::ExceptionalHalt;
        post.gas = 0;
    } else if tx.create {
        post.code_hash = keccak256(&tx.data);
        create_start(cx, tx.sender, Some(bought.sender), to, tx.value, &mut post)?;
    } else {
        post.code_hash = super::entries::enter_call(cx, tx.sender, tx.to, tx.value)?;
        call_frame(cx, &tx, &mut post)?;
    }
    post.world_root = cx.world.map(|w| w.commitment()).unwrap_or_default();
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// [v0.15] The start head's post-state when the transaction has entries (SPEC.md §5.9): the
/// Starting state, with the entries on its stack (`pc` = the authorizations among them, at the
/// bottom), the transaction environment without `auth_refund`, and what the last sub-step
/// needs of the top frame: for a call its calldata, and for a precompile the head's run of it
/// (gas left, output as return data, `is_static` = it failed); for a creation the initcode's
/// hash and empty calldata.
fn starting(
    cx: &mut Ctx<'_>,
    tx: &TxRecord,
    tx_env: &TxEnv,
    entries: &[U256],
    auths: u64,
    post: &mut MachineState,
) -> Result<(), VerifyError> {
    cx.oracle.tx_env_built(tx_env);
    cx.oracle.start_entries(entries);
    post.pc = auths;
    post.stack_root = super::entries::entries_root(entries);
    post.stack_len = entries.len() as u64;
    post.tx_env_hash = tx_env.hash();
    if tx.create {
        post.code_hash = keccak256(&tx.data);
    } else {
        post.code_hash = B256::ZERO;
        call_frame(cx, tx, post)?;
        post.is_static = is_precompile(tx.to) && post.status == Status::ExceptionalHalt;
    }
    post.status = Status::Starting;
    Ok(())
}

/// A non-deposit transaction: fee checks, intrinsic gas, nonce, EIP-3607, blobs, the balance
/// check and the purchase (with the L1 data fee and the operator fee under Isthmus rules). A
/// failed check is `Ok(Err(what))`, before anything is written; a witness missing or wrong is
/// `Err`.
fn buy(
    cx: &mut Ctx<'_>,
    block: &BlockEnv,
    tx: &TxRecord,
    op_rules: bool,
) -> Result<Result<Bought, &'static str>, VerifyError> {
    if tx.max_fee < block.basefee || tx.max_priority_fee > tx.max_fee {
        return Ok(Err("fee below the base fee"));
    }
    let price = tx.max_fee.min(block.basefee + tx.max_priority_fee);
    let intrinsic = tx.intrinsic_gas();
    let floor = tx.floor_gas();
    if tx.create && tx.data.len() > super::call::MAX_INITCODE as usize {
        return Ok(Err("initcode beyond EIP-3860"));
    }
    if tx.gas_limit < intrinsic.max(floor) {
        return Ok(Err("gas limit below the intrinsic gas"));
    }
    if !tx.authorizations.is_empty() && (tx.create || !tx.blob_hashes.is_empty()) {
        return Ok(Err("authorizations on a creation or a blob transaction"));
    }
    let mut sender = lift(cx.account(tx.sender))?;
    if sender.nonce != tx.nonce || sender.nonce == u64::MAX {
        return Ok(Err("nonce"));
    }
    // EIP-3607: a sender with code must be an EIP-7702 delegated account.
    if sender.code_hash != KECCAK_EMPTY
        && delegation(&lift(cx.code_of(sender.code_hash))?).is_none()
    {
        return Ok(Err("sender has code"));
    }
    // EIP-4844: blobs need a recipient, versioned hashes of version 1, and a fee cap at or above
    // the blob base fee; their gas is bought at the blob base fee.
    let blob_gas = U256::from(crate::tx::BLOB_GAS) * U256::from(tx.blob_hashes.len());
    if !tx.blob_hashes.is_empty()
        && (tx.create
            || tx.blob_hashes.iter().any(|h| h[0] != 1)
            || tx.max_fee_per_blob_gas < block.blob_basefee)
    {
        return Ok(Err("blob transaction"));
    }
    // OP: the L1 data fee and the operator fee, from the L1Block predeploy's storage.
    let params = if op_rules {
        lift(op::read_params(cx))?
    } else {
        op::L1Params::default()
    };
    let l1_fee = params.l1_fee(&tx.encoded);
    let operator_charge = if op_rules {
        op::operator_fee(
            tx.gas_limit,
            params.operator_fee_scalar,
            params.operator_fee_constant,
        )
    } else {
        U256::ZERO
    };
    let additional = l1_fee.saturating_add(operator_charge);
    let max_cost = U256::from(tx.gas_limit)
        .checked_mul(tx.max_fee)
        .and_then(|c| c.checked_add(tx.value))
        .and_then(|c| c.checked_add(blob_gas.checked_mul(tx.max_fee_per_blob_gas)?))
        .and_then(|c| c.checked_add(additional));
    if max_cost.is_none_or(|c| sender.balance < c) {
        return Ok(Err("balance below the maximum cost"));
    }
    sender.balance -= U256::from(tx.gas_limit) * price + blob_gas * block.blob_basefee + additional;
    sender.nonce += 1;
    lift(cx.set_account(tx.sender, &sender))?;
    Ok(Ok(Bought {
        price,
        intrinsic,
        floor,
        nonce: tx.nonce,
        l1_fee,
        operator_fee_scalar: if op_rules {
            params.operator_fee_scalar
        } else {
            0
        },
        operator_fee_constant: if op_rules {
            params.operator_fee_constant
        } else {
            0
        },
        failed: false,
        sender,
    }))
}

/// A deposit (type 0x7E, as op-revm runs it under Isthmus): no fee, nonce or balance checks; the
/// mint is credited and the nonce bumped; it fails (keeping both) if it is a system deposit, its
/// gas limit is below the intrinsic gas or the floor, or the sender cannot pay the value.
fn mint(cx: &mut Ctx<'_>, tx: &TxRecord, deposit: DepositFields) -> Result<Bought, VerifyError> {
    let intrinsic = tx.intrinsic_gas();
    let floor = tx.floor_gas();
    let mut sender = lift(cx.account(tx.sender))?;
    let nonce = sender.nonce;
    sender.balance = sender.balance.saturating_add(U256::from(deposit.mint));
    sender.nonce = sender.nonce.saturating_add(1);
    lift(cx.set_account(tx.sender, &sender))?;
    let failed =
        deposit.is_system || tx.gas_limit < intrinsic.max(floor) || sender.balance < tx.value;
    Ok(Bought {
        price: U256::ZERO,
        intrinsic,
        floor,
        nonce,
        l1_fee: U256::ZERO,
        operator_fee_scalar: 0,
        operator_fee_constant: 0,
        failed,
        sender,
    })
}

/// A call's top frame after its entry (`post.code_hash` set): calldata = the data, and for a
/// precompile its run with the frame's gas (Returned with its output, or ExceptionalHalt with
/// gas 0), else Stopped for a recipient without code.
fn call_frame(cx: &mut Ctx<'_>, tx: &TxRecord, post: &mut MachineState) -> Result<(), VerifyError> {
    post.calldata_root = match cx.oracle.unhashed_calldata_root() {
        Some(stand_in) => stand_in,
        None => WordTree::from_bytes(&tx.data).root(),
    };
    post.calldata_size = tx.data.len() as u64;
    if is_precompile(tx.to) {
        match super::precompile::run(tx.to, &tx.data, post.gas)? {
            Some((used, output)) if used <= post.gas => {
                post.status = Status::Returned;
                post.gas -= used;
                post.returndata_root = WordTree::from_bytes(&output).root();
                post.returndata_size = output.len() as u64;
            }
            _ => {
                post.status = Status::ExceptionalHalt;
                post.gas = 0;
            }
        }
    } else if post.code_hash == KECCAK_EMPTY {
        post.status = Status::Stopped;
    }
    Ok(())
}

/// The top frame of a creation (`post.code_hash` = the initcode's hash): a collision ends it
/// at once (exceptional halt, the checkpoint restored at the transaction end), otherwise the
/// account is created (nonce 1, a new incarnation, in the created set), the value moves (from
/// the sender's record as the purchase wrote it, or as the last sub-step reads it), and the
/// initcode runs with empty calldata.
pub(super) fn create_start(
    cx: &mut Ctx<'_>,
    sender: Address,
    sender_record: Option<AccountRecord>,
    address: Address,
    value: U256,
    post: &mut MachineState,
) -> Result<(), VerifyError> {
    let target = lift(cx.account(address))?;
    let collision = target.code_hash != KECCAK_EMPTY || target.nonce != 0;
    if collision {
        post.status = Status::ExceptionalHalt;
        post.gas = 0;
        return Ok(());
    }
    lift(cx.set_account(
        address,
        &AccountRecord {
            nonce: 1,
            balance: target.balance.saturating_add(value),
            code_hash: KECCAK_EMPTY,
            storage_root: EMPTY_ROOT_HASH,
            incarnation: target.incarnation.saturating_add(1),
        },
    ))?;
    if !value.is_zero() {
        let mut record = match sender_record {
            Some(record) => record,
            None => lift(cx.account(sender))?,
        };
        record.balance = record.balance.wrapping_sub(value);
        lift(cx.set_account(sender, &record))?;
    }
    lift(cx.mark_created(address))?;
    Ok(())
}
