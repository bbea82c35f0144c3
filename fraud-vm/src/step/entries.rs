//! [v0.15] The transaction start's sub-steps (SPEC.md §5.9, *Sub-steps of the start*): a
//! transaction with access-list entries or applicable EIP-7702 authorizations leaves its start
//! head in a Starting state whose stack holds those entries, two words each, the first entry on
//! top. Each sub-step from a Starting state applies a bounded group of them (warm touches, or
//! authorizations), and the one from a Starting state with an empty stack pushes the
//! transaction's checkpoint and enters the top frame (steps 6–7). So no step's work grows with
//! the lists: the head's is the decoding and the checks alone.

use super::call::{delegation, transfer};
use super::start::{create_start, lift};
use super::{Ctx, Oracle, Transition};
use crate::frame::Checkpoint;
use crate::proof::VerifyError;
use crate::state::{MachineState, Status, TxEnv, stack_push};
use crate::tx::TxRecord;
use crate::world::{AccountRecord, is_precompile};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy_trie::KECCAK_EMPTY;

/// Warm entries (access-list addresses and keys) a sub-step applies, at most.
pub const WARM_GROUP: u64 = 12;
/// Authorizations a sub-step applies, at most.
pub const AUTH_GROUP: u64 = 4;
/// Entry kinds, the top byte of an entry's first word.
const KIND_ADDRESS: u8 = 1;
const KIND_SLOT: u8 = 2;
const KIND_AUTH: u8 = 3;
/// The EIP-7702 refund of an authorization applied to an existing account.
const AUTH_REFUND: i64 = 12_500;

/// An entry's first word: `kind` in byte 0, `address` in bytes 12..32, zeros between.
fn header(kind: u8, address: Address) -> U256 {
    let mut w = [0u8; 32];
    w[0] = kind;
    w[12..].copy_from_slice(address.as_slice());
    U256::from_be_bytes(w)
}

/// The kind and address of an entry's first word, if its bytes 1..12 are zero.
fn read_header(word: U256) -> Option<(u8, Address)> {
    let w = word.to_be_bytes::<32>();
    w[1..12]
        .iter()
        .all(|b| *b == 0)
        .then(|| (w[0], Address::from_slice(&w[12..])))
}

/// The entries of `tx` as the start head pushes them (SPEC.md §5.9), first entry first, two
/// words each: per access-list address `(1 ‖ address, 0)` then per key `(2 ‖ address, key)`,
/// then per authorization with an authority `(3 ‖ authority, nonce ‖ address)` (the nonce in
/// bytes 4..12, the address in bytes 12..32). Also the number of authorizations among them.
/// An authorization for another chain, with nonce `2^64 − 1` or an invalid signature has no
/// authority and no entry: EIP-7702 ignores it, touching nothing.
pub fn start_entries(tx: &TxRecord, chain_id: U256) -> Result<(Vec<U256>, u64), VerifyError> {
    let mut words = Vec::new();
    for (a, keys) in &tx.access_list {
        words.extend([header(KIND_ADDRESS, *a), U256::ZERO]);
        for k in keys {
            words.extend([header(KIND_SLOT, *a), *k]);
        }
    }
    let mut auths = 0u64;
    for auth in &tx.authorizations {
        if (!auth.chain_id.is_zero() && auth.chain_id != chain_id) || auth.nonce == u64::MAX {
            continue;
        }
        let Some(authority) = authority(auth)? else {
            continue;
        };
        let payload =
            (U256::from(auth.nonce) << 160) | U256::from_be_slice(auth.address.as_slice());
        words.extend([header(KIND_AUTH, authority), payload]);
        auths += 1;
    }
    Ok((words, auths))
}

/// The root of a stack holding `words` with the first on top (SPEC.md §3.3).
pub fn entries_root(words: &[U256]) -> B256 {
    words
        .iter()
        .rev()
        .fold(B256::ZERO, |r, w| stack_push(r, *w))
}

/// The authority that signed `auth`, if its signature is valid (parity 0 or 1, `s` at most half
/// the curve order, a recoverable key), recovered as ecrecover (0x01) does.
fn authority(auth: &crate::tx::Authorization) -> Result<Option<Address>, VerifyError> {
    if auth.y_parity > 1 || auth.s > alloy::eips::eip7702::constants::SECP256K1N_HALF {
        return Ok(None);
    }
    Ok(super::recover(
        auth.signing_hash(),
        auth.y_parity,
        auth.r,
        auth.s,
    ))
}

/// A Starting state whose counts cannot be (no start head leaves it).
fn malformed() -> VerifyError {
    VerifyError::Unsupported {
        what: "a Starting state whose entries do not fit its counts",
    }
}

/// The step from a Starting state (SPEC.md §5.9): with `w = stack_len / 2 − pc` warm entries
/// left, apply `min(w, WARM_GROUP)` of them; else with `pc` authorizations left,
/// `min(pc, AUTH_GROUP)` of them; else enter the top frame.
pub(crate) fn execute(
    pre: &MachineState,
    code: &[u8],
    oracle: &mut dyn Oracle,
) -> Result<Transition, VerifyError> {
    super::no_code(code)?;
    let auths = pre.pc;
    if !pre.stack_len.is_multiple_of(2) || pre.stack_len / 2 < auths || pre.refund < 0 {
        return Err(malformed());
    }
    let warm = pre.stack_len / 2 - auths;
    if warm == 0 && auths == 0 {
        return finish(pre, oracle);
    }
    let count = if warm > 0 {
        warm.min(WARM_GROUP)
    } else {
        auths.min(AUTH_GROUP)
    };
    let n = 2 * count as usize;
    let items = (0..n)
        .map(|i| oracle.stack_item(i))
        .collect::<Result<Vec<_>, _>>()?;
    let rest = oracle.stack_rest(n)?;
    if items.iter().rev().fold(rest, |r, w| stack_push(r, *w)) != pre.stack_root {
        return Err(VerifyError::BadStackProof);
    }
    let world = super::world_of(oracle, pre.world_root)?;
    let mut cx = Ctx::for_world(pre, oracle, world);
    let cx = &mut cx;
    let mut refund = pre.refund;
    for pair in items.chunks(2) {
        let (kind, address) = read_header(pair[0]).ok_or_else(malformed)?;
        match (warm > 0, kind) {
            (true, KIND_ADDRESS) if pair[1].is_zero() => {
                lift(cx.touch_account(address))?;
            }
            (true, KIND_SLOT) => {
                lift(cx.touch_slot_of(address, pair[1]))?;
            }
            (false, KIND_AUTH) => {
                let nonce = u64::try_from(pair[1] >> 160).map_err(|_| malformed())?;
                let delegate = Address::from_slice(&pair[1].to_be_bytes::<32>()[12..]);
                if authorize(cx, address, delegate, nonce)? {
                    refund = refund.checked_add(AUTH_REFUND).ok_or_else(malformed)?;
                }
            }
            _ => return Err(malformed()),
        }
    }
    let post = MachineState {
        pc: if warm > 0 { auths } else { auths - count },
        refund,
        stack_root: rest,
        stack_len: pre.stack_len - n as u64,
        world_root: lift(cx.world())?.commitment(),
        ..pre.clone()
    };
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// One EIP-7702 authorization with its authority (as revm's `apply_auth_list`): touch the
/// authority; if it has no code or a delegation and the authorization's nonce, give it the
/// designator `0xef0100 ‖ delegate` (no code for the zero address) and `nonce + 1`. Whether it
/// was applied to an account that was not empty (the refund's count).
fn authorize(
    cx: &mut Ctx<'_>,
    authority: Address,
    delegate: Address,
    nonce: u64,
) -> Result<bool, VerifyError> {
    lift(cx.touch_account(authority))?;
    let mut rec = lift(cx.account(authority))?;
    if rec.code_hash != KECCAK_EMPTY && delegation(&lift(cx.code_of(rec.code_hash))?).is_none() {
        return Ok(false);
    }
    if rec.nonce != nonce {
        return Ok(false);
    }
    let counted = !rec.is_empty();
    rec.code_hash = if delegate.is_zero() {
        KECCAK_EMPTY
    } else {
        let code = [&[0xef, 0x01, 0x00][..], delegate.as_slice()].concat();
        cx.oracle.code_written(&code);
        keccak256(&code)
    };
    rec.nonce += 1;
    lift(cx.set_account(authority, &rec))?;
    Ok(counted)
}

/// The last sub-step (SPEC.md §5.9 steps 6–7), from a Starting state with no entry left: the
/// transaction environment with `auth_refund` = the state's refund, the checkpoint, and the top
/// frame's first state (or its terminal state) from the fields the head left.
fn finish(pre: &MachineState, oracle: &mut dyn Oracle) -> Result<Transition, VerifyError> {
    let env = oracle.tx_env()?;
    if env.hash() != pre.tx_env_hash || env.auth_refund != 0 {
        return Err(VerifyError::TxEnvMismatch);
    }
    let world = super::world_of(oracle, pre.world_root)?;
    let mut cx = Ctx::for_world(pre, oracle, world);
    let cx = &mut cx;
    cx.oracle.tx_checkpoint_pushed();
    let w = lift(cx.world())?;
    w.checkpoint_root = Checkpoint::of(w).link();
    let tx_env = TxEnv {
        auth_refund: pre.refund as u64,
        ..env
    };
    cx.oracle.tx_env_built(&tx_env);
    let mut post = MachineState {
        status: Status::Running,
        pc: 0,
        refund: 0,
        is_static: false,
        stack_root: B256::ZERO,
        stack_len: 0,
        tx_env_hash: tx_env.hash(),
        ..pre.clone()
    };
    if tx_env.create {
        create_start(cx, pre.caller, None, pre.address, pre.call_value, &mut post)?;
    } else {
        post.code_hash = enter_call(cx, pre.caller, pre.address, pre.call_value)?;
        if is_precompile(pre.address) {
            // The head ran it; `is_static` says it failed.
            post.status = if pre.is_static {
                Status::ExceptionalHalt
            } else {
                Status::Returned
            };
        } else if post.code_hash == KECCAK_EMPTY {
            post.status = Status::Stopped;
        }
    }
    post.world_root = lift(cx.world())?.commitment();
    Ok(Transition {
        post,
        halt: None,
        entered: None,
    })
}

/// A call's entry (SPEC.md §5.9 step 7): the value moves, then the recipient is read; if it is
/// EIP-7702 delegated, its delegate becomes warm (no charge at the top level) and its code runs.
/// The code hash the top frame runs.
pub(crate) fn enter_call(
    cx: &mut Ctx<'_>,
    sender: Address,
    to: Address,
    value: U256,
) -> Result<B256, VerifyError> {
    lift(transfer(cx, sender, to, value))?;
    let target: AccountRecord = lift(cx.account(to))?;
    if target.code_hash != KECCAK_EMPTY
        && let Some(delegate) = delegation(&lift(cx.code_of(target.code_hash))?)
    {
        lift(cx.touch_account(delegate))?;
        return Ok(lift(cx.account(delegate))?.code_hash);
    }
    Ok(target.code_hash)
}
