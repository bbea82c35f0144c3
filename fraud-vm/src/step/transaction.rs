//! The transaction end step (SPEC.md §5.18): from the top frame's terminal state, settle the
//! transaction: refund (EIP-3529) and calldata floor (EIP-7623), the world kept or restored by
//! the transaction's checkpoint, fees to the sender and the coinbase, deletion of the accounts
//! that self-destructed (EIP-6780), the receipt appended, and the per-transaction sets emptied.

use super::{Ctx, Fault, Oracle, Transition};
use crate::proof::VerifyError;
use crate::state::{BlockEnv, MachineState, Rules, Status, TxEnv};
use crate::world::{AccountRecord, World, destruct_link};
use alloy::primitives::{Address, B256, U256, keccak256};

/// Domain tag of a receipt chain link.
pub const TAG_RECEIPT: u8 = 0x0c;
/// Domain tag of a receipt opening.
pub const TAG_RECEIPT_OPEN: u8 = 0x18;

/// The receipt chain `chain` with the next receipt opened by its transaction start [v0.6]:
/// `keccak256(0x18 ‖ chain ‖ deposit(u8) ‖ deposit_nonce(u64) ‖ tx_index(u64))`, with the
/// deposit's sender nonce before it (its receipt carries it) or `0 ‖ 0` for any other
/// transaction, and the transaction's index in the block's list (the block end inserts that
/// transaction with the receipt: skipped transactions have none, SPEC.md §5.9).
pub fn receipt_open(chain: B256, deposit_nonce: Option<u64>, tx_index: u64) -> B256 {
    let mut buf = [0u8; 50];
    buf[0] = TAG_RECEIPT_OPEN;
    buf[1..33].copy_from_slice(chain.as_slice());
    if let Some(nonce) = deposit_nonce {
        buf[33] = 1;
        buf[34..42].copy_from_slice(&nonce.to_be_bytes());
    }
    buf[42..].copy_from_slice(&tx_index.to_be_bytes());
    keccak256(buf)
}

/// The receipt chain link: `keccak256(0x0c ‖ prev ‖ status(u8) ‖ cumulative_gas(u64) ‖
/// logs_root ‖ logs_count(u64))`, with the log chain of `world`.
pub fn receipt_link(prev: B256, success: bool, cumulative_gas: u64, world: &World) -> B256 {
    receipt_link_of(
        prev,
        success,
        cumulative_gas,
        world.logs_root,
        world.logs_count,
    )
}

/// [`receipt_link`] with the log chain given.
pub fn receipt_link_of(
    prev: B256,
    success: bool,
    cumulative_gas: u64,
    logs_root: B256,
    logs_count: u64,
) -> B256 {
    let mut buf = Vec::with_capacity(1 + 32 + 1 + 8 + 32 + 8);
    buf.push(TAG_RECEIPT);
    buf.extend_from_slice(prev.as_slice());
    buf.push(u8::from(success));
    buf.extend_from_slice(&cumulative_gas.to_be_bytes());
    buf.extend_from_slice(logs_root.as_slice());
    buf.extend_from_slice(&logs_count.to_be_bytes());
    keccak256(buf)
}

fn lift<T>(r: Result<T, Fault>) -> Result<T, VerifyError> {
    r.map_err(|f| match f {
        Fault::Invalid(e) => e,
        Fault::Halt(_) => VerifyError::Unsupported {
            what: "halt in a transaction end",
        },
    })
}

pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    super::no_code(code)?;
    // A trusted prover's own world needs no check, and its per-transaction sets, emptied
    // here, are not hashed.
    let world = super::world_of(oracle, pre.world_root)?;
    let checkpoint = oracle.checkpoint()?;
    if checkpoint.link() != world.checkpoint_root || !checkpoint.prev.is_zero() {
        return Err(VerifyError::BadCheckpoint);
    }
    let tx = oracle.tx_env()?;
    if tx.hash() != pre.tx_env_hash {
        return Err(VerifyError::TxEnvMismatch);
    }
    let block = oracle.block_env()?;
    if block.hash() != pre.block_env_hash {
        return Err(VerifyError::BlockEnvMismatch);
    }
    let mut success = matches!(pre.status, Status::Stopped | Status::Returned);
    let mut gas_left = pre.gas;
    // A creation's code deposit (EIP-170, EIP-3541, 200 gas per byte); failing it fails the
    // transaction like an exceptional halt.
    let mut deployed = None;
    if tx.create && success {
        let size = if pre.status == Status::Returned {
            pre.returndata_size
        } else {
            0
        };
        let output = super::exit::read_output(pre, oracle, size)?;
        let deposit = 200u64.saturating_mul(size);
        if size <= 24_576 && output.first() != Some(&0xef) && deposit <= gas_left {
            gas_left -= deposit;
            deployed = Some(keccak256(&output));
        } else {
            success = false;
            gas_left = 0;
        }
    }
    let spent = tx
        .gas_limit
        .checked_sub(gas_left)
        .ok_or(VerifyError::Unsupported {
            what: "more gas left than the gas limit",
        })?;
    // EIP-7702: the authorizations' refund counts whatever the outcome (op-revm adds it after
    // the frame), under the same EIP-3529 cap.
    let frame_refund = if success { pre.refund.max(0) as u64 } else { 0 };
    let refund = frame_refund.saturating_add(tx.auth_refund).min(spent / 5);
    // A deposit that fails (halts, or fails its code deposit) uses its whole gas limit, even
    // below the floor (op-revm's failed-deposit result).
    let used = if tx.deposit && !success && pre.status != Status::Reverted {
        tx.gas_limit
    } else {
        (spent - refund).max(tx.floor_gas)
    };
    let world = if success {
        World {
            checkpoint_root: B256::ZERO,
            ..world
        }
    } else {
        checkpoint.restore(&world)
    };
    if !success {
        oracle.world_restored();
    }
    let cumulative = tx.block_gas_before.saturating_add(used);
    let receipts = receipt_link(tx.receipt_open, success, cumulative, &world);

    let mut cx = Ctx::for_world(pre, oracle, world);
    if let Some(code_hash) = deployed {
        let rec = lift(cx.account(pre.address))?;
        lift(cx.set_account(pre.address, &AccountRecord { code_hash, ..rec }))?;
    }
    if !tx.deposit {
        lift(pay_fees(&mut cx, &tx, &block, used))?;
    }
    // EIP-6780: the accounts created and self-destructed in this transaction are deleted.
    let destructs = cx.oracle.destructs()?;
    let chain = destructs
        .iter()
        .fold(B256::ZERO, |acc, a| destruct_link(acc, *a));
    let destructs_root = lift(cx.world().map(|w| w.destructs_root))?;
    if chain != destructs_root {
        return Err(VerifyError::BadDestructs);
    }
    for address in destructs {
        lift(delete(&mut cx, address))?;
    }
    let world = cx.into_world().unwrap_or_default();
    let world = World {
        original_root: world.accounts_root,
        transient_root: B256::ZERO,
        accessed_root: B256::ZERO,
        created_root: B256::ZERO,
        destructs_root: B256::ZERO,
        logs_root: B256::ZERO,
        logs_count: 0,
        checkpoint_root: B256::ZERO,
        ..world
    };
    let next_index = pre
        .tx_index
        .checked_add(1)
        .ok_or(VerifyError::Unsupported {
            what: "transaction index at its maximum",
        })?;
    let post = MachineState {
        tx_index: next_index,
        gas: cumulative,
        returndata_root: receipts,
        returndata_size: next_index,
        block_env_hash: pre.block_env_hash,
        ..MachineState::outside_frames(pre.block_number, Status::Idle, world.commitment())
    };
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// The fees of a non-deposit transaction that used `used` gas: the unused gas (and under
/// Isthmus the unused operator fee) back to the sender, the priority fee to the coinbase, and
/// under Isthmus the L1 data fee, the base fee and the operator fee to their vaults; under
/// Prague the base fee is burnt.
fn pay_fees(cx: &mut Ctx<'_>, tx: &TxEnv, block: &BlockEnv, used: u64) -> Result<(), Fault> {
    use super::op::{BASE_FEE_VAULT, L1_FEE_VAULT, OPERATOR_FEE_VAULT, operator_fee};
    let op_rules = block.rules == Rules::Isthmus;
    let (charged, owed) = if op_rules {
        let fee = |gas| operator_fee(gas, tx.operator_fee_scalar, tx.operator_fee_constant);
        (fee(tx.gas_limit), fee(used))
    } else {
        (U256::ZERO, U256::ZERO)
    };
    let back =
        U256::from(tx.gas_limit.saturating_sub(used)) * tx.gas_price + charged.saturating_sub(owed);
    credit(cx, tx.origin, back)?;
    let tip = tx.gas_price.saturating_sub(block.basefee) * U256::from(used);
    credit(cx, block.coinbase, tip)?;
    if op_rules {
        credit(cx, L1_FEE_VAULT, tx.l1_fee)?;
        credit(cx, BASE_FEE_VAULT, block.basefee * U256::from(used))?;
        credit(cx, OPERATOR_FEE_VAULT, owed)?;
    }
    Ok(())
}

/// Adds `amount` to the balance of `address` (nothing for zero).
fn credit(cx: &mut Ctx<'_>, address: Address, amount: U256) -> Result<(), Fault> {
    if amount.is_zero() {
        return Ok(());
    }
    let rec = cx.account(address)?;
    cx.set_account(
        address,
        &AccountRecord {
            balance: rec.balance.saturating_add(amount),
            ..rec
        },
    )
}

/// Deletes `address`: an empty record with the next incarnation, so its storage is gone.
fn delete(cx: &mut Ctx<'_>, address: Address) -> Result<(), Fault> {
    let rec = cx.account(address)?;
    cx.set_account(
        address,
        &AccountRecord {
            incarnation: rec.incarnation.saturating_add(1),
            ..AccountRecord::default()
        },
    )
}
