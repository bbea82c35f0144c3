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

/// The EIP-2718 encodings the transaction start must refuse (the block holding them is
/// invalid) or accept as the reference does, as transaction `index` of a fresh block under
/// `rules`: malformed RLP (garbage, a trailing byte, a nonce with a leading zero, a tenth item,
/// an unknown type, a blob transaction under Isthmus, a deposit under Prague), signatures (a
/// high `s`, a flipped byte of `r`, a key without funds, a type-0 legacy transaction without a
/// chain id), another chain id, a nonce too high, a fee cap below the base fee, a priority fee
/// above the cap, an intrinsic gas above the gas limit, a gas limit above the block's gas left,
/// a balance below the cost, initcode beyond EIP-3860, a blob hash of another version, a first
/// transaction that is not the L1-info deposit; and the forms alloy accepts besides the usual
/// ones (a legacy transaction before EIP-155, one behind a type byte 0, an EIP-2930 list
/// without its type byte), which both verifiers start alike.
/// The [`start_encodings`] case whose block environment puts a signed transaction in the
/// deposits section.
const NON_DEPOSIT_IN_DEPOSITS: &str = "non-deposit in the deposits section";

fn start_encodings(case: &Case) -> Vec<(&'static str, Vec<u8>, u64, fraud_vm::state::Rules, bool)> {
    use alloy::consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxLegacy};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::network::TxSignerSync;
    use fraud_vm::state::Rules::{Isthmus, Prague};
    let signer = |key: [u8; 32]| {
        alloy::signers::local::PrivateKeySigner::from_bytes(&B256::from(key)).expect("key")
    };
    let key = signer(CALLER_KEY);
    let legacy = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 0,
        gas_price: GAS_PRICE,
        gas_limit: gas_limit(case),
        to: TxKind::Call(case.to),
        value: U256::from(case.value),
        input: Bytes::from(case.calldata.clone()),
    };
    let sign = |mut tx: TxLegacy| {
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        tx.into_signed(sig).encoded_2718()
    };
    let good = sign(legacy.clone());
    let with = |f: &dyn Fn(&mut TxLegacy)| {
        let mut tx = legacy.clone();
        f(&mut tx);
        sign(tx)
    };
    let mut trailing = good.clone();
    trailing.push(0);
    // The list header is two bytes (0xf8, length): the nonce 0x80 is byte 2.
    assert_eq!(good[0], 0xf8);
    let mut leading_zero = good.clone();
    leading_zero[2] = 0x00;
    let mut tenth_item = good.clone();
    tenth_item[1] += 1;
    tenth_item.push(0x80);
    let mut unknown_type = vec![0x05];
    unknown_type.extend_from_slice(&good);
    let mut flipped_r = good.clone();
    let r_at = flipped_r.len() - 33 - 32;
    flipped_r[r_at] ^= 1;
    let high_s = {
        let mut tx = legacy.clone();
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .expect("order");
        let flipped = alloy::primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
        tx.into_signed(flipped).encoded_2718()
    };
    let other_key = {
        let mut tx = legacy.clone();
        let sig = signer([0x52; 32])
            .sign_transaction_sync(&mut tx)
            .expect("signs");
        tx.into_signed(sig).encoded_2718()
    };
    let pre_155 = with(&|t| t.chain_id = None);
    let mut typed_zero = vec![0x00];
    typed_zero.extend_from_slice(&good);
    let mut typed_zero_pre_155 = vec![0x00];
    typed_zero_pre_155.extend_from_slice(&pre_155);
    let eip2930 = {
        let mut tx = TxEip2930 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_price: GAS_PRICE,
            gas_limit: gas_limit(case),
            to: TxKind::Call(case.to),
            value: U256::from(case.value),
            input: Bytes::from(case.calldata.clone()),
            access_list: Default::default(),
        };
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        tx.into_signed(sig).encoded_2718()
    };
    let eip1559 = |max_fee: u128, priority: u128| {
        let mut tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: gas_limit(case),
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            to: TxKind::Call(case.to),
            value: U256::from(case.value),
            access_list: Default::default(),
            input: Bytes::from(case.calldata.clone()),
        };
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        tx.into_signed(sig).encoded_2718()
    };
    let blob = |hashes: Vec<B256>| {
        let mut tx = TxEip4844 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: gas_limit(case),
            max_fee_per_gas: GAS_PRICE,
            max_priority_fee_per_gas: 1,
            to: case.to,
            value: U256::from(case.value),
            access_list: Default::default(),
            blob_versioned_hashes: hashes,
            max_fee_per_blob_gas: 1,
            input: Bytes::from(case.calldata.clone()),
        };
        let sig = key.sign_transaction_sync(&mut tx).expect("signs");
        tx.into_signed(sig).encoded_2718()
    };
    let deposit = op_alloy::consensus::OpTxEnvelope::Deposit(alloy::primitives::Sealed::new(
        op_alloy::consensus::TxDeposit {
            from: CALLER,
            to: TxKind::Call(case.to),
            gas_limit: 100_000,
            ..Default::default()
        },
    ))
    .encoded_2718();
    let high_s_isthmus = high_s.clone();
    let other_key_isthmus = other_key.clone();
    let nonce_high_isthmus = with(&|t| t.nonce = 5);
    let fee_cap_isthmus = with(&|t| t.gas_price = 6);
    vec![
        ("garbage", vec![0x02, 0x01, 0x02], 3, Prague, false),
        ("trailing byte", trailing, 3, Prague, false),
        ("leading zero", leading_zero, 3, Prague, false),
        ("tenth item", tenth_item, 3, Prague, false),
        ("unknown type", unknown_type, 3, Prague, false),
        ("blob under Isthmus", blob(blob_hashes()), 3, Isthmus, false),
        ("deposit under Prague", deposit.clone(), 3, Prague, false),
        // v0.5 (SPEC §3.6): a deposit after a recorded transaction is in the recorded section.
        (
            "deposit in the recorded section",
            deposit,
            3,
            Isthmus,
            false,
        ),
        // The block environment claims four deposits (see `solidity_invalid_transactions_are_rejected`).
        (NON_DEPOSIT_IN_DEPOSITS, good.clone(), 3, Isthmus, false),
        ("high s", high_s, 3, Prague, false),
        ("flipped r", flipped_r, 3, Prague, false),
        ("other key", other_key, 3, Prague, false),
        (
            "type 0 without chain id",
            typed_zero_pre_155,
            3,
            Prague,
            false,
        ),
        (
            "other chain",
            with(&|t| t.chain_id = Some(CHAIN_ID + 1)),
            3,
            Prague,
            false,
        ),
        ("nonce too high", with(&|t| t.nonce = 5), 3, Prague, false),
        ("fee cap", with(&|t| t.gas_price = 6), 3, Prague, false),
        ("priority fee", eip1559(10, 11), 3, Prague, false),
        (
            "intrinsic gas",
            with(&|t| t.gas_limit = 21_000),
            3,
            Prague,
            false,
        ),
        (
            "block gas",
            with(&|t| t.gas_limit = 29_000_000),
            3,
            Prague,
            false,
        ),
        (
            "balance",
            with(&|t| t.value = U256::from(10u128.pow(31))),
            3,
            Prague,
            false,
        ),
        (
            "initcode",
            with(&|t| {
                t.to = TxKind::Create;
                t.input = Bytes::from(vec![0; 49_153]);
                t.gas_limit = 1_000_000;
            }),
            3,
            Prague,
            false,
        ),
        (
            "blob version",
            blob(vec![B256::repeat_byte(2)]),
            3,
            Prague,
            false,
        ),
        ("not the L1-info deposit", good.clone(), 0, Isthmus, false),
        ("legacy", good, 3, Prague, true),
        ("before EIP-155", pre_155, 3, Prague, true),
        ("type 0 with chain id", typed_zero, 3, Prague, true),
        (
            "EIP-2930 without its type byte",
            eip2930[1..].to_vec(),
            3,
            Prague,
            true,
        ),
        ("EIP-1559", eip1559(20, 1), 3, Prague, true),
        ("EIP-4844", blob(blob_hashes()), 3, Prague, true),
        // [v0.6] The same refusals in an Isthmus block's recorded section: skipped by both.
        (
            "garbage, skipped",
            vec![0x02, 0x01, 0x02],
            3,
            Isthmus,
            false,
        ),
        (
            "unknown type, skipped",
            vec![0x05, 1, 2, 3],
            3,
            Isthmus,
            false,
        ),
        ("high s, skipped", high_s_isthmus, 3, Isthmus, false),
        ("other key, skipped", other_key_isthmus, 3, Isthmus, false),
        (
            "nonce too high, skipped",
            nonce_high_isthmus,
            3,
            Isthmus,
            false,
        ),
        ("fee cap, skipped", fee_cap_isthmus, 3, Isthmus, false),
        (
            "garbage at index 0",
            vec![0x02, 0x01, 0x02],
            0,
            Isthmus,
            false,
        ),
    ]
}

/// Each encoding of [`start_encodings`] at its index through both verifiers: refused by both
/// as `InvalidTransaction` where the reference refuses it, the same post-state where it starts.
/// Their tampered proofs (a flipped byte of the encoding, another index) are rejected by both.
#[test]
fn solidity_invalid_transactions_are_rejected() {
    let case = Case::program(&program(&[(0x00, &[])]));
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for (what, encoding, index, rules, valid) in start_encodings(&case) {
        let mut slot = Slot::fresh(&case);
        let mut records = slot.txs.records.clone();
        records[index as usize] = fraud_vm::tx::TxRecord {
            encoded: encoding,
            ..Default::default()
        };
        slot.txs = Arc::new(fraud_vm::tx::Transactions::new(records));
        let before = IdleBefore {
            world: slot.world.clone(),
            gas: slot.gas_before,
            receipts: slot.receipts_before,
            txs: slot.txs.clone(),
        };
        let constants = constants(&slot.txs);
        let block_env = fraud_vm::state::BlockEnv {
            coinbase: COINBASE,
            number: U256::from(BLOCK_NUMBER),
            chain_id: U256::from(CHAIN_ID),
            basefee: U256::from(7),
            blob_basefee: U256::from(1),
            gas_limit: U256::from(30_000_000),
            constants_hash: constants.hash(),
            transactions: slot.txs.roots(),
            rules,
            ..Default::default()
        };
        let mut block_env = block_env;
        if what == NON_DEPOSIT_IN_DEPOSITS {
            // A lying inputs record: the recorded tree as a deposits section of `index + 1`
            // transactions, so that the same word proof opens the non-deposit there.
            let roots = block_env.transactions;
            block_env.transactions = fraud_vm::state::TxRoots {
                deposit_count: index + 1,
                deposits_root: roots.recorded_root,
                ..roots
            };
        }
        // [v0.6] A recorded transaction under Isthmus rules that cannot start is skipped.
        let skipped = !valid
            && rules == fraud_vm::state::Rules::Isthmus
            && index != 0
            && !block_env.transactions.is_deposit_slot(index);
        let mut idle = idle_state(&before, block_env, constants, index);
        let pre = idle.record.commitment();
        let skip = {
            let mut r = idle.record.clone();
            r.tx_index += 1;
            r.returndata_size += 1;
            r.commitment()
        };
        let (proof, outcome) = fraud_vm::prove_partial(&mut idle);
        let rust = verify(pre, &proof);
        let (answer, _) = l1.verify(pre, &proof.encode());
        let agree = match (&outcome, &rust, &answer) {
            (Ok(t), Ok(post), Answer::Post(sol)) => {
                t.post.commitment() == *post
                    && post == sol
                    && if skipped {
                        *post == skip
                    } else {
                        valid && *post != skip
                    }
            }
            (
                Err(VerifyError::InvalidTransaction { .. }),
                Err(VerifyError::InvalidTransaction { .. }),
                Answer::Revert(name),
            ) => !valid && !skipped && name == "InvalidTransaction(string)",
            _ => false,
        };
        if !agree {
            tally.failures.push(format!(
                "{what}: prover {:?}, Rust {rust:?}, Solidity {answer:?}",
                outcome.map(|t| t.post.commitment())
            ));
        }
        if valid || skipped {
            tally.proof(&mut l1, pre, &proof, false, true, index);
        }
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert!(tally.tampered > 0);
}

/// The v0.4 sections at the end of a transaction start's proof (the block constants, then an
/// absent sealing record and fold key, no trie write, no receipt) changed as the canonical
/// encoding forbids (an extra-data length above 32, non-zero padding, a flag of 2, a fold key
/// of kind 2, a trie write or a receipt cut short, a trailing byte) or allows (a present fold
/// key, an empty trie write, a receipt with a log, none of which the start reads): both
/// verifiers reject each, the Solidity one with the decoding error or the unused witness.
#[test]
fn solidity_v4_sections_reject_what_rust_rejects() {
    let case = Case::program(&program(&[(0x00, &[])]));
    let obs = check(&case, false);
    let (pre, bytes) = obs
        .boundary_proofs
        .iter()
        .find(|(_, b)| {
            StepProof::decode(b)
                .is_ok_and(|p| p.pre.status == Status::Idle && p.constants.is_some())
        })
        .expect("a transaction start");
    // The constants (138 bytes) end 7 bytes before the end: sealing flag, fold key flag, an
    // empty trie list, receipt flag.
    let tail = bytes.len() - 7;
    let constants = tail - 138;
    assert_eq!(bytes[constants], 0x17);
    assert_eq!(&bytes[tail..], &[0, 0, 0, 0, 0, 0, 0]);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("extra length 33", edit(&|b| b[constants + 105] = 33)),
        ("padding", edit(&|b| b[constants + 137] = 1)),
        ("sealing flag 2", edit(&|b| b[tail] = 2)),
        (
            "fold key kind 2",
            edit(&|b| {
                b[tail + 1] = 1;
                b.insert(tail + 2, 2);
                b.splice(tail + 3..tail + 3, [7u8; 20]);
            }),
        ),
        (
            "fold key",
            edit(&|b| {
                b[tail + 1] = 1;
                b.insert(tail + 2, 0);
                b.splice(tail + 3..tail + 3, [7u8; 20]);
            }),
        ),
        (
            "trie write",
            edit(&|b| {
                b[tail + 5] = 1;
                b.splice(tail + 6..tail + 6, [0, 0, 0, 0, 0]);
            }),
        ),
        ("trie write cut short", edit(&|b| b[tail + 5] = 1)),
        (
            "receipt",
            edit(&|b| {
                b[tail + 6] = 1;
                // [v0.6] Transaction 3 of the list; success, gas 9, no deposit nonce, one log:
                // address, one topic, two data bytes.
                b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
                b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 1]);
                b.extend_from_slice(&[5; 20]);
                b.extend_from_slice(&[0, 0, 0, 1]);
                b.extend_from_slice(&[6; 32]);
                b.extend_from_slice(&[0, 0, 0, 2, 7, 8]);
            }),
        ),
        (
            "receipt cut short",
            edit(&|b| {
                b[tail + 6] = 1;
                b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
                b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 1]);
            }),
        ),
        ("trailing byte", edit(&|b| b.push(0))),
    ];
    // The Solidity verifier's answer to each, in order.
    let expected = [
        "BadPadding()",
        "BadPadding()",
        "BadFlag(uint8)",
        "BadFlag(uint8)",
        "UnusedWitness(uint8)",
        "UnusedWitness(uint8)",
        "Truncated()",
        "UnusedWitness(uint8)",
        "Truncated()",
        "TrailingBytes()",
    ];
    assert_eq!(cases.len(), expected.len());
    let mut l1 = L1Verifier::deploy();
    let mut failures = Vec::new();
    assert!(matches!(l1.verify(*pre, bytes).0, Answer::Post(_)));
    for ((what, b), name) in cases.iter().zip(expected) {
        let rust = StepProof::decode(b)
            .map_err(|e| e.to_string())
            .and_then(|p| verify(*pre, &p).map_err(|e| e.to_string()));
        let (answer, _) = l1.verify(*pre, b);
        if rust.is_ok() || answer != Answer::Revert(name.into()) {
            failures.push(format!("{what}: Rust {rust:?}, Solidity {answer:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `TxDecoder.decode` as the test calls it.
mod decoder_abi {
    alloy::sol! {
        struct AccessEntry { uint256 addr; uint256[] keys; }
        struct Authorization {
            uint256 chainId; uint256 addr; uint256 nonce; uint256 yParity; uint256 r; uint256 s;
            bool signed; uint256 authority;
        }
        struct TxFields {
            uint256 sender; bool create; uint256 to; uint256 nonce; uint256 gasLimit; uint256 maxFee;
            uint256 maxPriorityFee; uint256 value; uint256 data; uint256 dataLen;
            AccessEntry[] accessList; uint256 maxFeePerBlobGas; bytes32[] blobHashes;
            Authorization[] authorizations; uint256 encoded; uint256 encodedLen; bool deposit;
            bytes32 sourceHash; uint256 mint; bool isSystem; uint256 intrinsic; uint256 floor;
        }
        function decode(bytes e, uint256 rules, uint256 chainId) returns (TxFields t);
    }
}

/// The authority of `auth` if the transaction start applies it in a block of chain `chain_id`
/// (fraud-vm SPEC §5.9, `authorize` in step/start.rs): for that chain or any, a nonce below
/// `2^64 − 1`, parity 0 or 1, `s ≤ n/2` and a key the signature recovers (secp256k1, as the
/// L1's ecrecover).
fn authority(auth: &fraud_vm::tx::Authorization, chain_id: u64) -> Option<Address> {
    let applies = (auth.chain_id.is_zero() || auth.chain_id == U256::from(chain_id))
        && auth.nonce != u64::MAX
        && auth.y_parity <= 1
        && auth.s <= alloy::eips::eip7702::constants::SECP256K1N_HALF;
    if !applies {
        return None;
    }
    alloy::primitives::Signature::new(auth.r, auth.s, auth.y_parity == 1)
        .recover_address_from_prehash(&auth.signing_hash())
        .ok()
}

/// Encodings with the rules and chain id to decode them under.
type Corpus = Vec<(Vec<u8>, fraud_vm::state::Rules, u64)>;

/// Every encoding the tests start (the OP blocks' under Isthmus, [`start_encodings`] under
/// their rules), with its rules and chain id.
fn encoding_corpus() -> Corpus {
    let mut corpus: Vec<_> = super::super::op_blocks::fixed_blocks()
        .into_iter()
        .flatten()
        .map(|e| (e, fraud_vm::state::Rules::Isthmus, 901))
        .collect();
    let case = Case::program(&program(&[(0x00, &[])]));
    for (_, e, _, rules, _) in start_encodings(&case) {
        corpus.push((e, rules, CHAIN_ID));
    }
    corpus.push((
        Case {
            eip1559: true,
            ..case.clone()
        }
        .encoding(0),
        fraud_vm::state::Rules::Prague,
        CHAIN_ID,
    ));
    corpus
}

/// Whether `TxDecoder` at `decoder` decodes `e` as `fraud_vm::tx::decode` does: both refuse
/// it, or both give the same fields; a description of the difference otherwise.
fn decoders_agree(
    l1: &mut L1Verifier,
    e: &[u8],
    rules: fraud_vm::state::Rules,
    chain_id: u64,
) -> Result<(), String> {
    let data = decoder_abi::decodeCall {
        e: Bytes::copy_from_slice(e),
        rules: U256::from(rules as u8),
        chainId: U256::from(chain_id),
    }
    .abi_encode();
    let (result, _) = l1.call_to(l1.tx_decoder, data);
    let rust = fraud_vm::tx::decode(e, rules, U256::from(chain_id));
    // [v0.15] The struct's fields past `floor` (more than a `sol!` tuple holds) from its head:
    // field `i` is word `1 + i` of the output.
    let mut tail = [U256::ZERO; 4];
    let sol = match &result {
        ExecutionResult::Success { output, .. } => {
            for (k, w) in tail.iter_mut().enumerate() {
                let at = 32 * (1 + 26 + k);
                *w = U256::from_be_slice(output.data().get(at..at + 32).unwrap_or(&[]));
            }
            Some(
                decoder_abi::decodeCall::abi_decode_returns(output.data())
                    .map_err(|e| e.to_string())?,
            )
        }
        ExecutionResult::Revert { output, .. }
            if error_name(output) == "InvalidTransaction(string)" =>
        {
            None
        }
        other => return Err(format!("Solidity {other:?}")),
    };
    let (rust, sol) = match (rust, sol) {
        (Err(_), None) => return Ok(()),
        (Ok(r), Some(s)) => (r, s),
        (r, s) => {
            return Err(format!(
                "Rust {r:?}, Solidity {}",
                s.map_or("refused".into(), |t| format!("sender {:#x}", t.sender))
            ));
        }
    };
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let (entries, auths) =
        fraud_vm::step::start_entries(&rust, U256::from(chain_id)).map_err(|e| e.to_string())?;
    // The entries' authorities are recovered as the Rust verifier recovers them; check them
    // against the L1's ecrecover too.
    let recovered = rust
        .authorizations
        .iter()
        .filter_map(|a| authority(a, chain_id))
        .count();
    if recovered as u64 != auths {
        return Err(format!(
            "{auths} authority entries, ecrecover gives {recovered}"
        ));
    }
    let start = usize::try_from(sol.data).map_err(|e| e.to_string())?;
    let len = usize::try_from(sol.dataLen).map_err(|e| e.to_string())?;
    let deposit = rust.deposit.unwrap_or_default();
    let same = sol.sender == word(rust.sender)
        && sol.create == rust.create
        && sol.to == word(rust.to)
        && sol.nonce == U256::from(rust.nonce)
        && sol.gasLimit == U256::from(rust.gas_limit)
        && sol.maxFee == rust.max_fee
        && sol.maxPriorityFee == rust.max_priority_fee
        && sol.value == rust.value
        && e.get(start..start + len) == Some(&rust.data[..])
        && sol.maxFeePerBlobGas == rust.max_fee_per_blob_gas
        && sol.blobHashes == rust.blob_hashes
        // [v0.15] The lists as the start stacks them (every field of every access-list entry
        // and authorization, and each authority the decoder recovered, is in the root).
        && sol.accessList.is_empty()
        && sol.authorizations.is_empty()
        // `entriesRoot`, `entryWords`, `authEntries`, `authCount`.
        && tail
            == [
                U256::from_be_bytes(fraud_vm::step::entries_root(&entries).0),
                U256::from(entries.len()),
                U256::from(auths),
                U256::from(rust.authorizations.len()),
            ]
        && sol.encodedLen == U256::from(e.len())
        && sol.deposit == rust.deposit.is_some()
        && sol.sourceHash == deposit.source_hash
        && sol.mint == U256::from(deposit.mint)
        && sol.isSystem == deposit.is_system
        && sol.intrinsic == U256::from(rust.intrinsic_gas())
        && sol.floor == U256::from(rust.floor_gas());
    if same {
        Ok(())
    } else {
        Err(format!("fields differ: Rust {rust:?}"))
    }
}

/// Every encoding of [`encoding_corpus`] decodes alike in both.
#[test]
fn solidity_tx_decoder_matches_rust() {
    let mut l1 = L1Verifier::deploy();
    let corpus = encoding_corpus();
    let failures: Vec<String> = corpus
        .iter()
        .enumerate()
        .filter_map(|(i, (e, rules, chain))| {
            decoders_agree(&mut l1, e, *rules, *chain)
                .err()
                .map(|why| format!("encoding {i}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let accepted = corpus
        .iter()
        .filter(|(e, rules, chain)| fraud_vm::tx::decode(e, *rules, U256::from(*chain)).is_ok())
        .count();
    println!("{} encodings, {accepted} transactions", corpus.len());
    assert!(
        accepted > 20 && corpus.len() - accepted >= 8,
        "{accepted} of {}",
        corpus.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// An encoding of the corpus with a byte flipped, inserted, removed or set, under either
    /// rules and chain id: both decoders refuse it or give the same fields.
    #[test]
    fn solidity_tx_decoder_matches_rust_on_mutations(
        pick in any::<usize>(),
        at in any::<usize>(),
        op in 0u8..4,
        byte in any::<u8>(),
        other_rules in any::<bool>(),
    ) {
        thread_local! {
            static SETUP: std::cell::RefCell<Option<(L1Verifier, Corpus)>> =
                const { std::cell::RefCell::new(None) };
        }
        SETUP.with(|setup| {
            let mut setup = setup.borrow_mut();
            let (l1, corpus) = setup.get_or_insert_with(|| (L1Verifier::deploy(), encoding_corpus()));
            let (e, rules, chain) = &corpus[pick % corpus.len()];
            let mut e = e.clone();
            let i = at % e.len();
            match op {
                0 => e[i] ^= 1 << (byte % 8),
                1 => e.insert(i, byte),
                2 => {
                    e.remove(i);
                }
                _ => e[i] = byte,
            }
            let rules = match (rules, other_rules) {
                (r, false) => *r,
                (fraud_vm::state::Rules::Prague, true) => fraud_vm::state::Rules::Isthmus,
                (_, true) => fraud_vm::state::Rules::Prague,
            };
            let agree = decoders_agree(l1, &e, rules, *chain);
            prop_assert!(agree.is_ok(), "{:?}: {}", agree, alloy::primitives::hex::encode(&e));
            Ok(())
        })?;
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

/// The transaction start of an EIP-7702 transaction with 1, 5, 10 and 20 authorizations, each by
/// its own fresh authority (`op_blocks::delegation_block`), and of the fixed OP block's five
/// (two applied to existing accounts, one for another chain, one with a wrong nonce): both
/// verifiers agree, and the gas of each start is printed (issue 6: every step under 1M gas).
///
/// `cargo test --release -p fraud-vm --test differential solidity_delegation_start_gas -- --nocapture`
#[test]
fn solidity_delegation_start_gas() {
    use super::boundary::{BoundarySteps, compare_step};
    let mut l1 = L1Verifier::deploy();
    let steps = l1.address;
    let mut starts = |block: &[Vec<u8>]| -> Vec<(u64, usize)> {
        let recorded = super::super::op_blocks::run_recorded(block, BoundarySteps::default())
            .expect("the block checks");
        let mut out = Vec::new();
        for (kind, pre, proof) in &recorded.proofs {
            let delegating = proof
                .transaction
                .as_ref()
                .is_some_and(|(e, _)| e.first() == Some(&4));
            if kind.as_str() != "TxStart" || !delegating {
                continue;
            }
            let bytes = proof.encode();
            match compare_step(&mut l1, steps, *pre, &bytes) {
                Ok(Some(gas)) => out.push((gas, bytes.len())),
                other => panic!("an EIP-7702 start: {other:?}"),
            }
        }
        out
    };
    let fixed = starts(&super::super::op_blocks::fixed_blocks()[0]);
    for (gas, len) in &fixed {
        println!("EIP-7702 start of the fixed OP block: {gas} gas ({len} proof bytes)");
    }
    assert!(!fixed.is_empty());
    let mut by_count = Vec::new();
    for n in [1u8, 5, 10, 20] {
        let found = starts(&super::super::op_blocks::delegation_block(n));
        assert_eq!(found.len(), 1, "one EIP-7702 start");
        let (gas, len) = found[0];
        println!("EIP-7702 start with {n} fresh authorities: {gas} gas ({len} proof bytes)");
        by_count.push((n, gas));
    }
    // Each authorization costs about the same: the count under a bound is linear.
    let (n1, g1) = by_count[0];
    let (n2, g2) = by_count[by_count.len() - 1];
    let per = (g2 - g1) / u64::from(n2 - n1);
    let base = g1 - per * u64::from(n1);
    println!(
        "about {per} gas per authorization over {base}: {} fit under 1M, {} under 2^24",
        (1_000_000 - base) / per,
        ((1u64 << 24) - base) / per
    );
}
