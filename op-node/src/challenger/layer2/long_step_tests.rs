//! [`BlockSteps::first_long_step`] over real sequencer blocks: the step the
//! `disagree-at-long-step` fault injection takes the defender to is the one whose proof the
//! player sends in its L1 form.

use super::*;
use crate::derivation::driver::tests::{key, l1, sequence_with};
use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    network::TxSignerSync,
    primitives::{Address, TxKind},
};
use fraud_vm::range_fact::{self, FLZ, HASH, WRITE, ZEROS};

/// An EIP-1559 call of `key(1)` (nonce 0) to a plain account with `len` non-zero bytes of data.
fn long_call(len: usize) -> Bytes {
    signed(
        0,
        TxKind::Call(Address::repeat_byte(0x45)),
        (0..len).map(|i| 1 + (i * 37 % 255) as u8).collect(),
        21_000 + 40 * len as u64,
    )
}

/// An EIP-1559 transaction of `key(1)`, encoded.
fn signed(nonce: u64, to: TxKind, input: Bytes, gas_limit: u64) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to,
        input,
        ..Default::default()
    };
    let signature = key(1).sign_transaction_sync(&mut tx).expect("sign");
    op_alloy::consensus::OpTxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// Block 2 holds the L1-info deposit, two transfers and a call with 20,000 bytes of non-zero
/// data (626 words, more than `LONG_WORDS`): its first long step is the Idle state before
/// that call, whose step is the call's start in the L1 form, with the jobs of SPEC.md §3.4.1
/// (HASH of the encoding, WRITE | ZEROS of the data, the signing payload's WRITE and HASH,
/// and under OP rules the FLZ job of the L1 data fee). Blocks 1 and 3 (transfers alone) have
/// no long step. With 500 bytes of data (16 words) block 2 has none either.
#[test]
fn first_long_step_is_a_long_transaction_start() {
    for (len, long) in [(20_000, true), (500, false)] {
        let call = long_call(len);
        let (seq, _) = sequence_with(3, &l1(12), &[(2, call.clone())]);
        let steps = BlockSteps::new(seq.store.clone(), seq.engine.config().clone());
        assert_eq!(steps.first_long_step(1, LongStepKind::Any).unwrap(), None);
        assert_eq!(steps.first_long_step(3, LongStepKind::Any).unwrap(), None);
        let found = steps.first_long_step(2, LongStepKind::Any).unwrap();
        if !long {
            assert_eq!(found, None, "{len} bytes of data are not long");
            continue;
        }
        let at = found.expect("a long step in block 2");
        let proof = steps.step_proof(2, at).unwrap();
        let decoded = fraud_vm::StepProof::decode(&proof.proof).unwrap();
        assert_eq!(decoded.pre.status, fraud_vm::Status::Idle);
        assert_eq!(
            decoded.pre.tx_index, 3,
            "the call after the deposit and two transfers"
        );
        assert_eq!(
            decoded.transaction.as_ref().map(|(e, _)| e.as_slice()),
            Some(call.as_ref())
        );
        let l1 = range_fact::l1_form(&decoded, LONG_WORDS).expect("the start's L1 form");
        let flags: Vec<u8> = l1.jobs.iter().map(|j| j.job.flags).collect();
        assert_eq!(flags, [HASH, WRITE | ZEROS, WRITE, HASH, FLZ]);
        // No earlier step has an L1 form: the scan stops at the first.
        for earlier in 0..at {
            let p = steps.step_proof(2, earlier).unwrap();
            let d = fraud_vm::StepProof::decode(&p.proof).unwrap();
            assert!(
                range_fact::l1_form(&d, LONG_WORDS).is_none(),
                "step {earlier}"
            );
        }
    }
}

/// A factory's runtime code that writes `len` bytes of init code into memory (`len` a multiple of
/// 32) with a loop of MSTOREs, `PUSH2 len−1 JUMP` then JUMPDESTs, CREATEs it and stores the new
/// address in slot 0; with the init code that deploys it (`PUSH1 100 DUP1 PUSH1 11 PUSH1 0
/// CODECOPY PUSH1 0 RETURN`), and the init code it creates, which jumps to its last byte and
/// stops (an empty contract). Deployment and call run short code and no long range: a
/// contract deployed with more than 8 KiB of runtime code has a long step first (its
/// transaction's data or its RETURN, over `LONG_WORDS`), so long code is reached this way.
pub(crate) fn long_code_factory(len: u16) -> (Vec<u8>, Vec<u8>) {
    let [hi, lo] = len.to_be_bytes();
    let [thi, tlo] = (len - 1).to_be_bytes();
    let mut runtime = vec![0x7f];
    runtime.extend([0x5b; 32]); // PUSH32 JUMPDEST×32
    // PUSH1 0; loop at 35: DUP2 DUP2 MSTORE PUSH1 32 ADD DUP1 PUSH2 len GT PUSH1 35 JUMPI
    runtime.extend([
        0x60, 0x00, 0x5b, 0x81, 0x81, 0x52, 0x60, 0x20, 0x01, 0x80, 0x61, hi, lo,
    ]);
    runtime.extend([0x11, 0x60, 0x23, 0x57, 0x50, 0x50]); // GT PUSH1 35 JUMPI POP POP
    runtime.extend([0x7f, 0x61, thi, tlo, 0x56]); // PUSH32 (PUSH2 len−1 JUMP JUMPDEST×28)
    runtime.extend([0x5b; 28]);
    runtime.extend([0x60, 0x00, 0x52]); // PUSH1 0 MSTORE
    // PUSH2 len PUSH1 0 PUSH1 0 CREATE PUSH1 0 SSTORE STOP
    runtime.extend([
        0x61, hi, lo, 0x60, 0x00, 0x60, 0x00, 0xf0, 0x60, 0x00, 0x55, 0x00,
    ]);
    assert_eq!(runtime.len(), 100);
    let mut deploy = vec![
        0x60, 100, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    deploy.extend(&runtime);
    let mut init = vec![0x61, thi, tlo, 0x56];
    init.resize(usize::from(len), 0x5b);
    (deploy, init)
}

/// [v0.12] Block 2 deploys the long-code factory (100 bytes), block 3 calls it: it CREATEs from
/// 12 KiB of init code (over `LONG_CODE`). Block 2 has no long step; block 3's first is the
/// init code's first step (PUSH2 at pc 0), sent with its code window after `absorbCode`, no
/// range of it being long; its JUMP (the next step) takes the bitmap word's proof too.
#[test]
fn first_long_step_is_a_step_in_long_code() {
    const LEN: u16 = 12_288;
    let (deploy_code, init) = long_code_factory(LEN);
    let factory = key(1).address().create(0);
    let deploy = signed(0, TxKind::Create, deploy_code.into(), 1_000_000);
    let call = signed(1, TxKind::Call(factory), Bytes::new(), 300_000);
    let (seq, _) = sequence_with(3, &l1(12), &[(2, deploy), (3, call)]);
    let steps = BlockSteps::new(seq.store.clone(), seq.engine.config().clone());
    assert_eq!(steps.first_long_step(1, LongStepKind::Any).unwrap(), None);
    assert_eq!(
        steps.first_long_step(2, LongStepKind::Any).unwrap(),
        None,
        "the factory's deployment"
    );
    let proof = |position| {
        let p = steps.step_proof(3, position).unwrap().proof;
        (fraud_vm::StepProof::decode(&p).unwrap(), p)
    };
    let sent = |d: &fraud_vm::StepProof, e: &[u8]| super::super::range_jobs::sent_form(d, e);
    let at = steps
        .first_long_step(3, LongStepKind::Any)
        .unwrap()
        .expect("a long step in block 3");
    let (decoded, encoded) = proof(at);
    assert_eq!(decoded.pre.status, fraud_vm::Status::Running);
    assert_eq!(decoded.pre.pc, 0);
    assert_eq!(decoded.code, init, "the created init code");
    let form = sent(&decoded, &encoded).expect("an L1 form");
    assert!(form.l1.is_none(), "no long range");
    let windowed = form.windowed.expect("the code window");
    assert!(windowed.len() + init.len() < encoded.len() + 2_000);
    // No earlier step is sent in an L1 form: the scan stops at the first.
    for earlier in 0..at {
        let (d, e) = proof(earlier);
        assert!(sent(&d, &e).is_none(), "step {earlier}");
    }
    // The JUMP after it is windowed too, with the bitmap's proof.
    let (jump, jump_encoded) = proof(at + 1);
    assert_eq!(jump.code.get(jump.pre.pc as usize), Some(&0x56));
    let jump_window = sent(&jump, &jump_encoded)
        .and_then(|f| f.windowed)
        .expect("the JUMP's code window");
    assert!(jump_window.len() > windowed.len());
}

/// The flags of the jobs of the step from `position` of block `block`, as it is sent (none if it
/// is sent as its canonical proof), with the step's pre-state.
fn sent_jobs(steps: &BlockSteps, block: u64, position: u64) -> (fraud_vm::StepProof, Vec<u8>) {
    let proof = steps.step_proof(block, position).unwrap().proof;
    let decoded = fraud_vm::StepProof::decode(&proof).unwrap();
    let flags = super::super::range_jobs::sent_form(&decoded, &proof)
        .and_then(|f| f.l1)
        .map(|l1| l1.jobs.iter().map(|j| j.job.flags).collect())
        .unwrap_or_default();
    (decoded, flags)
}

/// `--fault-challenger-long-step` over block 2 of [`first_long_step_is_a_long_transaction_start`]
/// (a call with 20,000 bytes of data): `start` picks the start, as `any` does; `insertion` the
/// block end's insertion of that call, after it, in the L1 form (the HASH of the encoding, the
/// WRITE and HASH of the transactions trie's new leaf over it); `sha256` nothing.
#[test]
fn the_long_step_of_a_kind_is_the_first_of_that_kind() {
    let call = long_call(20_000);
    let (seq, _) = sequence_with(2, &l1(12), &[(2, call.clone())]);
    let steps = BlockSteps::new(seq.store.clone(), seq.engine.config().clone());
    let any = steps.first_long_step(2, LongStepKind::Any).unwrap();
    let start = steps.first_long_step(2, LongStepKind::Start).unwrap();
    assert!(any.is_some());
    assert_eq!(start, any, "the start is the first long step");
    assert_eq!(
        steps.first_long_step(2, LongStepKind::Sha256).unwrap(),
        None
    );
    let insertion = steps
        .first_long_step(2, LongStepKind::Insertion)
        .unwrap()
        .expect("the call's insertion");
    assert!(insertion > start.unwrap());
    let (decoded, flags) = sent_jobs(&steps, 2, insertion);
    assert_eq!(decoded.pre.status, fraud_vm::Status::Sealing);
    assert!(decoded.receipt.is_some());
    assert_eq!(
        decoded.transaction.as_ref().map(|(e, _)| e.as_slice()),
        Some(call.as_ref()),
        "the long call's insertion"
    );
    assert_eq!(flags, [HASH, WRITE, HASH]);
    // Every Sealing step before it is sent as its canonical proof (the transfers' and the
    // deposit's insertions, the fold): the scan takes the first in an L1 form.
    for earlier in start.unwrap() + 1..insertion {
        let (d, flags) = sent_jobs(&steps, 2, earlier);
        if d.pre.status == fraud_vm::Status::Sealing {
            assert!(flags.is_empty(), "step {earlier}");
        }
    }
    // Block 1 (the deposit alone) holds no long insertion.
    assert_eq!(
        steps.first_long_step(1, LongStepKind::Insertion).unwrap(),
        None
    );
}

/// A contract that copies its calldata to memory and stores sha256 of it in slot 0:
/// `CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY PUSH1 32 PUSH1 0 CALLDATASIZE PUSH1 0 PUSH1 2 GAS
/// STATICCALL POP PUSH1 0 MLOAD PUSH1 0 SSTORE STOP` (25 bytes), with the init code that
/// deploys it (the same as dispute-steps.test.mjs's).
pub(crate) const SHA256_DEPLOY: &str =
    "6019600c60003960196000f33660006000376020600036600060025afa5060005160005500";

/// `--fault-challenger-long-step sha256`: block 3 calls the sha256 contract with 12,288 bytes of
/// data: its start (long data) and its CALLDATACOPY (384 words) come first; the long step of kind
/// sha256 is the STATICCALL to the precompile, with one SHA256 job; `start` picks the start.
#[test]
fn the_sha256_long_step_is_the_call_to_the_precompile() {
    let deploy_code = alloy::primitives::hex::decode(SHA256_DEPLOY).unwrap();
    assert_eq!(deploy_code.len(), 12 + 25);
    let contract = key(1).address().create(0);
    let data: Vec<u8> = (0..12_288).map(|i| 1 + (i * 37 % 255) as u8).collect();
    let deploy = signed(0, TxKind::Create, deploy_code.into(), 200_000);
    let call = signed(1, TxKind::Call(contract), data.clone().into(), 1_500_000);
    let (seq, _) = sequence_with(3, &l1(12), &[(2, deploy), (3, call)]);
    let steps = BlockSteps::new(seq.store.clone(), seq.engine.config().clone());
    assert_eq!(
        steps.first_long_step(2, LongStepKind::Sha256).unwrap(),
        None
    );
    let any = steps
        .first_long_step(3, LongStepKind::Any)
        .unwrap()
        .unwrap();
    let (first, _) = sent_jobs(&steps, 3, any);
    assert_eq!(first.pre.status, fraud_vm::Status::Idle, "the start first");
    assert_eq!(
        steps.first_long_step(3, LongStepKind::Start).unwrap(),
        Some(any)
    );
    let at = steps
        .first_long_step(3, LongStepKind::Sha256)
        .unwrap()
        .expect("the call to sha256");
    let (decoded, flags) = sent_jobs(&steps, 3, at);
    assert_eq!(decoded.pre.status, fraud_vm::Status::Running);
    assert_eq!(
        decoded.code.get(decoded.pre.pc as usize),
        Some(&0xfa),
        "STATICCALL"
    );
    assert_eq!(flags, [range_fact::SHA256]);
    // The CALLDATACOPY between them is long too: the kind skips it.
    let long_before = (any + 1..at)
        .filter(|p| !sent_jobs(&steps, 3, *p).1.is_empty())
        .count();
    assert_eq!(long_before, 1, "the CALLDATACOPY");
}

/// `--fault-challenger-long-step entries` (SPEC.md §5.9 v0.15): block 2 holds an EIP-1559 call
/// whose access list is one address with 30 keys, 31 entries: the start head leaves a Starting
/// state, three warm sub-steps (12, 12 and 7 entries) and the entry sub-step follow; the kind
/// picks the last warm one, whose proof is canonical (no L1 form). Block 1 (the deposit alone)
/// has no start with entries. [v0.16] `start` picks the head, sent after the ENTRIES job.
#[test]
fn the_entries_step_is_the_last_sub_step_with_entries() {
    let target = Address::repeat_byte(0x46);
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce: 0,
        gas_limit: 200_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(target),
        access_list: alloy::eips::eip2930::AccessList(vec![alloy::eips::eip2930::AccessListItem {
            address: target,
            storage_keys: (0u8..30).map(B256::repeat_byte).collect(),
        }]),
        ..Default::default()
    };
    let signature = key(1).sign_transaction_sync(&mut tx).expect("sign");
    let wide: Bytes = op_alloy::consensus::OpTxEnvelope::Eip1559(tx.into_signed(signature))
        .encoded_2718()
        .into();
    let (seq, _) = sequence_with(2, &l1(12), &[(2, wide)]);
    let steps = BlockSteps::new(seq.store.clone(), seq.engine.config().clone());
    assert_eq!(
        steps.first_long_step(1, LongStepKind::Entries).unwrap(),
        None
    );
    // [v0.16] Past MANY_ENTRIES entries the head itself is a long step, whatever the
    // encoding's length: `start` (and `any`) pick it, sent after the ENTRIES job of its list.
    let head = steps
        .first_long_step(2, LongStepKind::Start)
        .unwrap()
        .expect("the wide start's head");
    assert_eq!(
        steps.first_long_step(2, LongStepKind::Any).unwrap(),
        Some(head)
    );
    let (head_proof, head_flags) = sent_jobs(&steps, 2, head);
    assert_eq!(head_proof.pre.status, fraud_vm::Status::Idle);
    assert!(
        head_flags.contains(&range_fact::ENTRIES),
        "the head's jobs {head_flags:?}"
    );
    let at = steps
        .first_long_step(2, LongStepKind::Entries)
        .unwrap()
        .expect("the last warm sub-step");
    let (last, flags) = sent_jobs(&steps, 2, at);
    assert!(flags.is_empty(), "sent as its canonical proof");
    assert_eq!(last.pre.status, fraud_vm::Status::Starting);
    assert_eq!(last.pre.stack_len / 2, 7, "the last group: 7 keys");
    for (position, left) in [(at - 2, 31), (at - 1, 19)] {
        let (earlier, _) = sent_jobs(&steps, 2, position);
        assert_eq!(earlier.pre.status, fraud_vm::Status::Starting);
        assert_eq!(earlier.pre.stack_len / 2, left, "step {position}");
    }
    let (entry, _) = sent_jobs(&steps, 2, at + 1);
    assert_eq!(entry.pre.status, fraud_vm::Status::Starting);
    assert_eq!(entry.pre.stack_len, 0, "then the entry sub-step");
}
