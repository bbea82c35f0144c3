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
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce: 0,
        gas_limit: 21_000 + 40 * len as u64,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(Address::repeat_byte(0x45)),
        input: (0..len).map(|i| 1 + (i * 37 % 255) as u8).collect(),
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
        assert_eq!(steps.first_long_step(1).unwrap(), None);
        assert_eq!(steps.first_long_step(3).unwrap(), None);
        let found = steps.first_long_step(2).unwrap();
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
