//! The transaction end step (SPEC.md §5.18): from the top frame's terminal state, settle the
//! transaction: refund (EIP-3529) and calldata floor (EIP-7623), the world kept or restored by
//! the transaction's checkpoint, fees to the sender and the coinbase, deletion of the accounts
//! that self-destructed (EIP-6780), the receipt appended, and the per-transaction sets emptied.

use super::{Ctx, Fault, Oracle, Transition};
use crate::merkle::empty_root;
use crate::proof::VerifyError;
use crate::state::{MachineState, Status};
use crate::world::{AccountRecord, World, destruct_link};
use alloy::primitives::{Address, B256, U256, keccak256};

/// Domain tag of a receipt chain link.
pub const TAG_RECEIPT: u8 = 0x0c;

/// The receipt chain link: `keccak256(0x0c ‖ prev ‖ status(u8) ‖ cumulative_gas(u64) ‖
/// logs_root ‖ logs_count(u64))`.
pub fn receipt_link(prev: B256, success: bool, cumulative_gas: u64, world: &World) -> B256 {
    let mut buf = Vec::with_capacity(1 + 32 + 1 + 8 + 32 + 8);
    buf.push(TAG_RECEIPT);
    buf.extend_from_slice(prev.as_slice());
    buf.push(u8::from(success));
    buf.extend_from_slice(&cumulative_gas.to_be_bytes());
    buf.extend_from_slice(world.logs_root.as_slice());
    buf.extend_from_slice(&world.logs_count.to_be_bytes());
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
    if !code.is_empty() {
        return Err(VerifyError::UnusedWitness("code"));
    }
    let world = oracle.world()?;
    if world.commitment() != pre.world_root {
        return Err(VerifyError::WorldMismatch);
    }
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
    let refund = if success {
        (pre.refund.max(0) as u64).min(spent / 5)
    } else {
        0
    };
    let used = (spent - refund).max(tx.floor_gas);
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
    let receipts = receipt_link(tx.receipts_before, success, cumulative, &world);

    let mut cx = Ctx::for_world(pre, oracle, world);
    if let Some(code_hash) = deployed {
        let rec = lift(cx.account(pre.address))?;
        lift(cx.set_account(pre.address, &AccountRecord { code_hash, ..rec }))?;
    }
    let back = U256::from(tx.gas_limit.saturating_sub(used)) * tx.gas_price;
    lift(credit(&mut cx, tx.origin, back))?;
    let tip = tx.gas_price.saturating_sub(block.basefee) * U256::from(used);
    lift(credit(&mut cx, block.coinbase, tip))?;
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
        block_number: pre.block_number,
        tx_index: next_index,
        depth: 0,
        pc: 0,
        status: Status::Idle,
        gas: cumulative,
        refund: 0,
        frames_root: B256::ZERO,
        address: Address::ZERO,
        caller: Address::ZERO,
        call_value: U256::ZERO,
        is_static: false,
        code_hash: B256::ZERO,
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: empty_root(),
        memory_size: 0,
        calldata_root: empty_root(),
        calldata_size: 0,
        returndata_root: receipts,
        returndata_size: next_index,
        tx_env_hash: B256::ZERO,
        block_env_hash: pre.block_env_hash,
        world_root: world.commitment(),
    };
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
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

/// Why a transaction cannot start: the block holding it is invalid.
fn invalid(what: &'static str) -> VerifyError {
    VerifyError::InvalidTransaction { what }
}

/// The transaction start step (SPEC.md §5.9), from an Idle state: validation, gas purchase,
/// nonce, warm accounts and access list, the transaction's checkpoint, the value transfer, and
/// the top frame's first state (or its terminal state for a recipient without code or a
/// precompile).
pub(crate) fn start(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    use super::call::{delegation, transfer};
    use crate::frame::Checkpoint;
    use crate::merkle::WordTree;
    use crate::state::TxEnv;
    use crate::world::is_precompile;
    use alloy_trie::KECCAK_EMPTY;

    if !code.is_empty() {
        return Err(VerifyError::UnusedWitness("code"));
    }
    let block = oracle.block_env()?;
    if block.hash() != pre.block_env_hash {
        return Err(VerifyError::BlockEnvMismatch);
    }
    let (tx, position) = oracle.transaction()?;
    if position.word != tx.hash() || !position.verifies(block.transactions_root, pre.tx_index) {
        return Err(VerifyError::BadTransaction);
    }
    let world = oracle.world()?;
    if world.commitment() != pre.world_root {
        return Err(VerifyError::WorldMismatch);
    }
    if tx.max_fee < block.basefee || tx.max_priority_fee > tx.max_fee {
        return Err(invalid("fee below the base fee"));
    }
    let price = tx.max_fee.min(block.basefee + tx.max_priority_fee);
    let intrinsic = tx.intrinsic_gas();
    let floor = tx.floor_gas();
    if tx.create && tx.data.len() > super::call::MAX_INITCODE as usize {
        return Err(invalid("initcode beyond EIP-3860"));
    }
    if tx.gas_limit < intrinsic.max(floor) {
        return Err(invalid("gas limit below the intrinsic gas"));
    }
    let mut cx = Ctx::for_world(pre, oracle, world);
    let cx = &mut cx;
    let mut sender = lift(cx.account(tx.sender))?;
    if sender.nonce != tx.nonce || sender.nonce == u64::MAX {
        return Err(invalid("nonce"));
    }
    // EIP-3607: a sender with code must be an EIP-7702 delegated account.
    if sender.code_hash != KECCAK_EMPTY
        && delegation(&lift(cx.code_of(sender.code_hash))?).is_none()
    {
        return Err(invalid("sender has code"));
    }
    // EIP-4844: blobs need a recipient, versioned hashes of version 1, and a fee cap at or above
    // the blob base fee; their gas is bought at the blob base fee.
    let blob_gas = U256::from(crate::tx::BLOB_GAS) * U256::from(tx.blob_hashes.len());
    if !tx.blob_hashes.is_empty()
        && (tx.create
            || tx.blob_hashes.iter().any(|h| h[0] != 1)
            || tx.max_fee_per_blob_gas < block.blob_basefee)
    {
        return Err(invalid("blob transaction"));
    }
    let max_cost = U256::from(tx.gas_limit)
        .checked_mul(tx.max_fee)
        .and_then(|c| c.checked_add(tx.value))
        .and_then(|c| c.checked_add(blob_gas.checked_mul(tx.max_fee_per_blob_gas)?));
    if max_cost.is_none_or(|c| sender.balance < c) {
        return Err(invalid("balance below the maximum cost"));
    }
    sender.balance -= U256::from(tx.gas_limit) * price + blob_gas * block.blob_basefee;
    sender.nonce += 1;
    lift(cx.set_account(tx.sender, &sender))?;
    // The recipient, or the address a creation deploys to.
    let to = if tx.create {
        tx.sender.create(tx.nonce)
    } else {
        tx.to
    };
    for a in [tx.sender, to, block.coinbase] {
        lift(cx.touch_account(a))?;
    }
    for (a, keys) in &tx.access_list {
        lift(cx.touch_account(*a))?;
        for k in keys {
            lift(cx.touch_slot_of(*a, *k))?;
        }
    }
    let w = lift(cx.world())?;
    w.checkpoint_root = Checkpoint::of(w).link();
    if tx.create {
        return create_start(cx, pre, &tx, sender, to, price, intrinsic, floor);
    }
    lift(transfer(cx, tx.sender, tx.to, tx.value))?;
    let mut target = lift(cx.account(tx.to))?;
    // EIP-7702: a delegated recipient runs its delegate's code; the delegate becomes warm
    // (no charge at the top level).
    if target.code_hash != KECCAK_EMPTY
        && let Some(delegate) = delegation(&lift(cx.code_of(target.code_hash))?)
    {
        lift(cx.touch_account(delegate))?;
        target.code_hash = lift(cx.account(delegate))?.code_hash;
    }
    let tx_env = TxEnv {
        origin: tx.sender,
        gas_price: price,
        gas_limit: tx.gas_limit,
        floor_gas: floor,
        create: false,
        block_gas_before: pre.gas,
        receipts_before: pre.returndata_root,
        blob_hashes: tx.blob_hashes.clone(),
    };
    let mut post = MachineState {
        block_number: pre.block_number,
        tx_index: pre.tx_index,
        depth: 0,
        pc: 0,
        status: Status::Running,
        gas: tx.gas_limit - intrinsic,
        refund: 0,
        frames_root: B256::ZERO,
        address: tx.to,
        caller: tx.sender,
        call_value: tx.value,
        is_static: false,
        code_hash: target.code_hash,
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: empty_root(),
        memory_size: 0,
        calldata_root: WordTree::from_bytes(&tx.data).root(),
        calldata_size: tx.data.len() as u64,
        returndata_root: empty_root(),
        returndata_size: 0,
        tx_env_hash: tx_env.hash(),
        block_env_hash: pre.block_env_hash,
        world_root: B256::ZERO,
    };
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
    } else if target.code_hash == KECCAK_EMPTY {
        post.status = Status::Stopped;
    }
    post.world_root = cx.world.map(|w| w.commitment()).unwrap_or_default();
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// The top frame of a creation transaction: a collision ends it at once (exceptional halt, the
/// checkpoint restored at the transaction end), otherwise the account is created (nonce 1, a new
/// incarnation, in the created set), the value moves, and the initcode runs with empty calldata.
#[allow(clippy::too_many_arguments)]
fn create_start(
    cx: &mut Ctx<'_>,
    pre: &MachineState,
    tx: &crate::tx::TxRecord,
    mut sender: AccountRecord,
    address: Address,
    price: U256,
    intrinsic: u64,
    floor: u64,
) -> Result<Transition, VerifyError> {
    use crate::state::TxEnv;
    use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
    let target = lift(cx.account(address))?;
    let collision = target.code_hash != KECCAK_EMPTY || target.nonce != 0;
    if !collision {
        lift(cx.set_account(
            address,
            &AccountRecord {
                nonce: 1,
                balance: target.balance.saturating_add(tx.value),
                code_hash: KECCAK_EMPTY,
                storage_root: EMPTY_ROOT_HASH,
                incarnation: target.incarnation.saturating_add(1),
            },
        ))?;
        if !tx.value.is_zero() {
            sender.balance -= tx.value;
            lift(cx.set_account(tx.sender, &sender))?;
        }
        lift(cx.mark_created(address))?;
    }
    let tx_env = TxEnv {
        origin: tx.sender,
        gas_price: price,
        gas_limit: tx.gas_limit,
        floor_gas: floor,
        create: true,
        block_gas_before: pre.gas,
        receipts_before: pre.returndata_root,
        blob_hashes: Vec::new(),
    };
    let post = MachineState {
        block_number: pre.block_number,
        tx_index: pre.tx_index,
        depth: 0,
        pc: 0,
        status: if collision {
            Status::ExceptionalHalt
        } else {
            Status::Running
        },
        gas: if collision {
            0
        } else {
            tx.gas_limit - intrinsic
        },
        refund: 0,
        frames_root: B256::ZERO,
        address,
        caller: tx.sender,
        call_value: tx.value,
        is_static: false,
        code_hash: keccak256(&tx.data),
        stack_root: B256::ZERO,
        stack_len: 0,
        memory_root: empty_root(),
        memory_size: 0,
        calldata_root: empty_root(),
        calldata_size: 0,
        returndata_root: empty_root(),
        returndata_size: 0,
        tx_env_hash: tx_env.hash(),
        block_env_hash: pre.block_env_hash,
        world_root: cx.world.map(|w| w.commitment()).unwrap_or_default(),
    };
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}
