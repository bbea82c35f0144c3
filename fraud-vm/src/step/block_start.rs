//! The block start steps (SPEC.md §5.18): the pre-execution system calls of an Isthmus block
//! as alloy-op-evm makes them, each a storage write of a fixed slot: EIP-2935 (the parent hash
//! into the history contract), then EIP-4788 (the timestamp and the parent beacon root into the
//! beacon roots contract). The second leaves the Idle state before the first transaction.

use super::{Ctx, Fault, Oracle, Transition};
use crate::proof::VerifyError;
use crate::state::{MachineState, Status};
use crate::world::AccountRecord;
use alloy::eips::eip2935::{HISTORY_SERVE_WINDOW, HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE};
use alloy::eips::eip4788::{BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CODE};
use alloy::primitives::{Address, U256, keccak256};
use alloy_trie::KECCAK_EMPTY;

/// The ring buffer length of both contracts.
const BUFFER: u64 = HISTORY_SERVE_WINDOW as u64;

fn lift<T>(r: Result<T, Fault>) -> Result<T, VerifyError> {
    r.map_err(|f| match f {
        Fault::Invalid(e) => e,
        Fault::Halt(_) => VerifyError::Unsupported {
            what: "halt in a system call",
        },
    })
}

/// The system contract at `address` with canonical code `code`, read from the world: `Some`
/// with its record if it has that code, `None` if it has none (a call to it does nothing).
fn contract(
    cx: &mut Ctx<'_>,
    address: Address,
    code: &[u8],
) -> Result<Option<AccountRecord>, VerifyError> {
    let record = lift(cx.account(address))?;
    if record.code_hash == KECCAK_EMPTY {
        return Ok(None);
    }
    if record.code_hash != keccak256(code) {
        return Err(VerifyError::Unsupported {
            what: "a system contract with other code",
        });
    }
    Ok(Some(record))
}

pub(crate) fn execute(
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
    // A trusted prover's own world needs no check (its per-transaction sets are empty outside
    // transactions).
    let world = super::world_of(oracle, pre.world_root)?;
    let mut cx = Ctx::for_world(pre, oracle, world);
    // The genesis block makes no system call (EIP-2935, EIP-4788).
    let genesis = block.number.is_zero();
    let mut post = pre.clone();
    match pre.pc {
        0 => {
            if !genesis
                && let Some(record) =
                    contract(&mut cx, HISTORY_STORAGE_ADDRESS, &HISTORY_STORAGE_CODE)?
            {
                let slot = (block.number - U256::from(1)) % U256::from(BUFFER);
                let hash = U256::from_be_bytes(constants.parent_hash.0);
                lift(cx.set_slot(HISTORY_STORAGE_ADDRESS, &record, slot, hash))?;
            }
            post.pc = 1;
        }
        1 => {
            if !genesis
                && let Some(record) = contract(&mut cx, BEACON_ROOTS_ADDRESS, &BEACON_ROOTS_CODE)?
            {
                let slot = block.timestamp % U256::from(BUFFER);
                let root = U256::from_be_bytes(constants.parent_beacon_root.0);
                lift(cx.set_slot(BEACON_ROOTS_ADDRESS, &record, slot, block.timestamp))?;
                lift(cx.set_slot(
                    BEACON_ROOTS_ADDRESS,
                    &record,
                    slot + U256::from(BUFFER),
                    root,
                ))?;
            }
            // The Idle state before the first transaction.
            post.pc = 0;
            post.status = Status::Idle;
        }
        _ => {
            return Err(VerifyError::BadBlockStart {
                what: "a block start state past its two system calls",
            });
        }
    }
    let mut world = cx.into_world().unwrap_or_default();
    // The system calls are not a transaction: the Idle world's original values are the
    // current ones.
    world.original_root = world.accounts_root;
    oracle.world_written(&world);
    post.world_root = world.commitment();
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}
