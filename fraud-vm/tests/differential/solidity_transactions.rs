//! Transaction start and end steps in the Solidity verifier: every boundary of the Rust tests'
//! transactions (calls, creations, transfers and precompile calls without opcodes, a delegated
//! recipient, a block of chained transactions) and of whole OP blocks (deposits that succeed,
//! revert, halt and fail at their start, fee-paying transactions with the L1 data fee and the
//! operator fee, EIP-7702 authorizations), every other step of those blocks too, through both
//! verifiers, tampered proofs included.

use super::*;
use fraud_vm::check::BlockObserver;

/// Every step of an OP block: the proofs of its opcode, entry and exit steps (proved from each
/// traced state) and of its transaction boundaries, with their pre-commitments and whether the
/// step halts.
#[derive(Default)]
struct BlockSteps {
    proofs: Vec<(B256, StepProof, bool)>,
}

impl BlockObserver for BlockSteps {
    fn state(&mut self, _position: u64, state: &FullState) {
        if state.record.status == Status::Running || state.record.depth > 0 {
            let mut s = state.clone();
            if let Ok((proof, transition)) = prove(&mut s) {
                self.proofs
                    .push((state.record.commitment(), proof, transition.halt.is_some()));
            }
        }
    }

    fn boundary(&mut self, _kind: &str, pre: B256, proof: &StepProof) {
        self.proofs.push((pre, proof.clone(), false));
    }
}

impl Tally {
    /// Every step of the OP block `encoded` through both verifiers; boundaries tampered with
    /// `tamper`.
    pub(super) fn op_block(&mut self, l1: &mut L1Verifier, encoded: &[Vec<u8>], tamper: bool) {
        match super::super::op_blocks::run_recorded(encoded, BlockSteps::default()) {
            Ok(steps) => {
                for (k, (pre, proof, halted)) in steps.proofs.iter().enumerate() {
                    let boundary = proof.pre.status != Status::Running && proof.pre.depth == 0;
                    self.proof(l1, *pre, proof, *halted, tamper && boundary, k as u64);
                }
            }
            Err(e) => self
                .failures
                .push(format!("the OP block fails in Rust: {e}")),
        }
    }
}

/// The transaction start and end of calls, creations (every initcode kind, with value, code
/// beyond EIP-170, empty, the OpenZeppelin ERC-20), transfers and precompile calls without
/// opcodes, a delegated recipient, EIP-1559 and blob transactions, and a block of chained
/// transactions (original values, self-destructs deleted at the end, a collision, a revert).
#[test]
fn solidity_transaction_boundaries_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for (_, case) in creation_transaction_cases() {
        tally.boundaries(&mut l1, &case, true);
    }
    for value in [0u64, 2] {
        let delegated = Case {
            to: DELEGATED,
            value,
            calldata: vec![7; 40],
            ..Case::program(&[])
        };
        tally.boundaries(&mut l1, &delegated, true);
    }
    let u = U256::from;
    let kinds = [
        Case {
            eip1559: true,
            ..Case::program(&program(&[(0x54, &[u(1)]), (0x00, &[])]))
        },
        Case {
            blobs: true,
            ..Case::program(&program(&[(0x49, &[u(1)]), (0xfd, &[u(0), u(0)])]))
        },
        Case::program(&program(&[(0xfe, &[])])),
    ];
    for case in &kinds {
        tally.boundaries(&mut l1, case, true);
    }
    for case in erc20_cases() {
        tally.boundaries(&mut l1, &case, true);
    }
    for (k, (pre, bytes)) in transactions_without_opcodes_boundaries()
        .iter()
        .chain(block_of_transactions_boundaries().iter())
        .enumerate()
    {
        tally.encoded(&mut l1, *pre, bytes, true, k as u64);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for kind in ["transaction end", "transaction end, creation"] {
        assert!(
            tally.gas.contains_key(kind),
            "no {kind} verified: {:?}",
            tally.gas.keys()
        );
    }
    println!("transaction boundaries: {} tampered proofs", tally.tampered);
    tally.report();
}

/// Every step of whole OP blocks: the L1-info deposit, user deposits (minting, creating,
/// reverting, halting, failing at their start, a system deposit), fee-paying legacy and
/// EIP-1559 calls and creations, EIP-7702 transactions; their boundaries tampered too.
#[test]
fn solidity_op_blocks_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for encoded in super::super::op_blocks::fixed_blocks() {
        tally.op_block(&mut l1, &encoded, true);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for kind in [
        "transaction end, OP deposit",
        "transaction end, OP fees",
        "transaction end, creation, OP deposit",
    ] {
        assert!(
            tally.gas.contains_key(kind),
            "no {kind} verified: {:?}",
            tally.gas.keys()
        );
    }
    println!("OP blocks: {} tampered proofs", tally.tampered);
    tally.report();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 6,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random OP blocks, as the Rust differential draws them: every step through both.
    #[test]
    fn solidity_random_op_blocks_match_rust(encoded in super::super::op_blocks::random_block()) {
        let mut l1 = L1Verifier::deploy();
        let mut tally = Tally::default();
        tally.op_block(&mut l1, &encoded, false);
        prop_assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    }
}

/// An input for FastLZ: segments of random bytes, runs of one byte, and copies of earlier
/// bytes at short and long distances (beyond FastLZ's 8192-byte window too).
fn flz_input() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..200).prop_map(|b| (0u8, b, 0usize, 0usize)),
        (any::<u8>(), 1usize..300).prop_map(|(b, n)| (1u8, vec![b], n, 0)),
        (1usize..9000, 3usize..400).prop_map(|(back, n)| (2u8, Vec::new(), n, back)),
    ];
    proptest::collection::vec(segment, 0..40).prop_map(|segments| {
        let mut out = Vec::new();
        for (kind, bytes, n, back) in segments {
            match kind {
                0 => out.extend(bytes),
                1 => out.extend(std::iter::repeat_n(bytes[0], n)),
                _ if !out.is_empty() => {
                    let from = out.len().saturating_sub(back);
                    for i in 0..n {
                        out.push(out[from + i % (out.len() - from).max(1)]);
                    }
                }
                _ => {}
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The FastLZ length and the L1 data fee of `OpFees` equal op-revm's (its size estimate and
    /// `calculate_tx_l1_cost` under Isthmus) on random encodings and fee parameters.
    #[test]
    fn solidity_l1_fee_matches_op_revm(
        input in flz_input(),
        params in (any::<u64>(), any::<u32>(), any::<u64>(), any::<u32>()),
    ) {
        let mut l1 = L1Verifier::deploy();
        let probe = l1.deploy_artifact("FeeProbe", &[]);
        let data = compressedLengthCall { encoded: Bytes::from(input.clone()) }.abi_encode();
        let (result, _) = l1.call_to(probe, data);
        let ExecutionResult::Success { output, .. } = result else {
            return Err(TestCaseError::fail(format!("{result:?}")));
        };
        let flz = compressedLengthCall::abi_decode_returns(output.data()).expect("decodes");
        let ours = u64::try_from(flz).expect("small")
            .saturating_mul(836_500)
            .saturating_sub(42_585_600)
            .max(100_000_000);
        prop_assert_eq!(ours, op_revm::estimate_tx_compressed_size(&input));

        let p = L1Params {
            l1BaseFee: U256::from(params.0),
            baseFeeScalar: U256::from(params.1),
            blobBaseFee: U256::from(params.2),
            blobBaseFeeScalar: U256::from(params.3),
            operatorFeeScalar: U256::ZERO,
            operatorFeeConstant: U256::ZERO,
        };
        let data = l1FeeCall { p: p.clone(), encoded: Bytes::from(input.clone()) }.abi_encode();
        let (result, _) = l1.call_to(probe, data);
        let ExecutionResult::Success { output, .. } = result else {
            return Err(TestCaseError::fail(format!("{result:?}")));
        };
        let fee = l1FeeCall::abi_decode_returns(output.data()).expect("decodes");
        let mut info = op_revm::L1BlockInfo {
            l1_base_fee: p.l1BaseFee,
            l1_base_fee_scalar: p.baseFeeScalar,
            l1_blob_base_fee: Some(p.blobBaseFee),
            l1_blob_base_fee_scalar: Some(p.blobBaseFeeScalar),
            ..Default::default()
        };
        prop_assert_eq!(fee, info.calculate_tx_l1_cost(&input, op_revm::OpSpecId::ISTHMUS));
    }
}
