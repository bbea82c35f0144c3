//! Differential tests of the step verifier against revm (SPEC.md §10).
//!
//! Random programs built from the v0.1 opcodes run in real revm (Prague) under the trace
//! inspector. For every step k: the proof built from state k verifies against commit(state_k) and
//! yields commit(state_{k+1}) as read from revm; tampered proofs are rejected; the final status,
//! halt reason and gas equal revm's.

use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address};
use fraud_vm::step::{Halt, info};
use fraud_vm::trace::{Position, StateAt, Tracer};
use fraud_vm::{FullState, Status, StepProof, VerifyError, prove, verify};
use proptest::prelude::*;
use revm::context::result::{ExecutionResult, HaltReason, OutOfGasError};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::inspector::InspectEvm;
use revm::interpreter::InstructionResult;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, MainBuilder, MainContext};

const CALLER: Address = address!("0x1000000000000000000000000000000000000001");
const TARGET: Address = address!("0x2000000000000000000000000000000000000002");
const GAS_PRICE: u128 = 10;

/// One transaction's inputs.
#[derive(Clone, Debug)]
struct Case {
    code: Vec<u8>,
    calldata: Vec<u8>,
    value: u64,
    extra_gas: u64,
    /// Send as an EIP-4844 transaction with two blob hashes (BLOBHASH reads them).
    blobs: bool,
}

/// What a run observed.
#[derive(Debug, Default)]
struct Observed {
    steps: u64,
    failures: Vec<String>,
    last_halt: Option<Halt>,
    opcodes: Vec<u8>,
    /// Opcodes of steps that completed without halting.
    completed: Vec<u8>,
    /// (opcode, encoded proof size) of every step.
    proof_sizes: Vec<(u8, usize)>,
}

fn intrinsic_and_floor(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = calldata.len() as u64 - zeros;
    let intrinsic = 21_000 + 4 * zeros + 16 * nonzeros;
    let floor = 21_000 + 10 * (zeros + 4 * nonzeros);
    intrinsic.max(floor)
}

fn gas_limit(case: &Case) -> u64 {
    intrinsic_and_floor(&case.calldata) + case.extra_gas
}

/// Runs `case` in revm with a tracer calling `on_state`.
fn run(
    case: &Case,
    on_state: impl FnMut(u64, &mut FullState),
) -> (ExecutionResult, fraud_vm::trace::TraceSummary) {
    let mut db = CacheDB::<EmptyDB>::default();
    db.insert_account_info(
        TARGET,
        AccountInfo::default().with_code(Bytecode::new_raw(Bytes::from(case.code.clone()))),
    );
    db.insert_account_info(
        CALLER,
        AccountInfo::default().with_balance(U256::from(10u128.pow(30))),
    );
    let block = BlockEnv {
        number: U256::from(77),
        beneficiary: address!("0x3000000000000000000000000000000000000003"),
        timestamp: U256::from(1_700_000_000u64),
        gas_limit: 30_000_000,
        basefee: 7,
        prevrandao: Some(B256::repeat_byte(0x42)),
        ..Default::default()
    };
    let ctx = Context::mainnet()
        .with_db(db)
        .with_cfg(CfgEnv::new_with_spec(SpecId::PRAGUE))
        .with_block(block);
    let mut tracer = Tracer::new(
        Position {
            block_number: 77,
            tx_index: 3,
            world_root: B256::repeat_byte(0x77),
        },
        on_state,
    );
    let mut tx = TxEnv::builder();
    if case.blobs {
        tx = tx
            .tx_type(Some(3))
            .gas_priority_fee(Some(1))
            .max_fee_per_blob_gas(1)
            .blob_hashes(vec![B256::repeat_byte(0x01), {
                let mut h = B256::repeat_byte(0xbb);
                h[0] = 0x01;
                h
            }]);
    }
    let tx = tx
        .caller(CALLER)
        .kind(TxKind::Call(TARGET))
        .gas_limit(gas_limit(case))
        .gas_price(GAS_PRICE)
        .value(U256::from(case.value))
        .data(Bytes::from(case.calldata.clone()))
        .build()
        .expect("valid tx");
    let result = {
        let mut evm = ctx.build_mainnet_with_inspector(&mut tracer);
        evm.inspect_one_tx(tx).expect("tx executes")
    };
    let summary = tracer.finish().expect("traceable");
    (result, summary)
}

/// Mutations of a proof that must each be rejected.
fn check_tampering(commitment: B256, state: &FullState, failures: &mut Vec<String>, k: u64) {
    let Ok((proof, _)) = prove(&mut state.clone()) else {
        return;
    };
    let mut reject = |what: &str, p: &fraud_vm::StepProof, pre: B256| {
        if verify(pre, p).is_ok() {
            failures.push(format!("step {k}: tampered {what} accepted"));
        }
    };
    let mut bad_pre = proof.clone();
    bad_pre.pre.gas ^= 1;
    reject("pre-state gas", &bad_pre, commitment);
    reject("pre-commitment", &proof, B256::repeat_byte(1));
    if !proof.stack.is_empty() {
        let mut p = proof.clone();
        p.stack[0] ^= U256::from(1);
        reject("stack item", &p, commitment);
        let mut p = proof.clone();
        p.stack.push(U256::ZERO);
        reject("extra stack item", &p, commitment);
    }
    if let Some(first) = proof.memory.first() {
        let mut p = proof.clone();
        p.memory[0].word = first.word ^ B256::with_last_byte(1);
        reject("memory word", &p, commitment);
        let mut p = proof.clone();
        p.memory[0].siblings[5] = B256::repeat_byte(9);
        reject("memory path", &p, commitment);
    }
    if let Some(first) = proof.calldata.first() {
        let mut p = proof.clone();
        p.calldata[0].word = first.word ^ B256::with_last_byte(1);
        reject("calldata word", &p, commitment);
    }
    if let Some(env) = &proof.tx_env {
        let mut p = proof.clone();
        p.tx_env = Some(fraud_vm::state::TxEnv {
            gas_price: env.gas_price + U256::from(1),
            ..env.clone()
        });
        reject("tx env", &p, commitment);
    }
    if let Some(env) = &proof.block_env {
        let mut p = proof.clone();
        p.block_env = Some(fraud_vm::state::BlockEnv {
            number: env.number + U256::from(1),
            ..env.clone()
        });
        reject("block env", &p, commitment);
    }
    let mut p = proof.clone();
    p.code.push(0x00);
    reject("code", &p, commitment);
}

/// Traces `case`, proves and verifies every step, and compares the end with revm.
fn check(case: &Case, tamper: bool) -> Observed {
    let mut obs = Observed::default();
    let mut expected_next: Option<B256> = None;
    let (result, summary) = run(case, |k, state| {
        let commitment = state.record.commitment();
        if !state.is_consistent() {
            obs.failures
                .push(format!("step {k}: inconsistent prover state"));
        }
        if let Some(expected) = expected_next.take()
            && expected != commitment
        {
            obs.failures.push(format!(
                "step {}: post-commitment of {} differs from revm's next state",
                k - 1,
                info(*obs.opcodes.last().unwrap_or(&0)).name
            ));
        }
        obs.steps = k;
        if state.record.status != Status::Running {
            return;
        }
        let pc = state.record.pc as usize;
        obs.opcodes.push(state.code.get(pc).copied().unwrap_or(0));
        match prove(state) {
            Ok((proof, transition)) => {
                let bytes = proof.encode();
                if StepProof::decode(&bytes).as_ref() != Ok(&proof) {
                    obs.failures
                        .push(format!("step {k}: proof does not round-trip"));
                }
                obs.proof_sizes
                    .push((*obs.opcodes.last().unwrap_or(&0), bytes.len()));
                match verify(commitment, &proof) {
                    Ok(post) if post == transition.post.commitment() => {}
                    other => obs
                        .failures
                        .push(format!("step {k}: verify gave {other:?}")),
                }
                obs.last_halt = transition.halt;
                if transition.halt.is_none() {
                    obs.completed.extend(obs.opcodes.last());
                }
                expected_next = Some(transition.post.commitment());
            }
            Err(e) => obs.failures.push(format!("step {k}: prove failed: {e}")),
        }
        if tamper {
            check_tampering(commitment, state, &mut obs.failures, k);
        }
    });
    if let Some(expected) = expected_next {
        obs.failures.push(format!(
            "no state after the last step (expected {expected})"
        ));
    }

    // Halt behaviour and gas against revm.
    let terminal = &summary.terminal;
    let limit = gas_limit(case);
    match &result {
        ExecutionResult::Success { .. } => {
            if terminal.status != Status::Stopped {
                obs.failures
                    .push(format!("revm succeeded, trace ended {:?}", terminal.status));
            }
            let used = (limit - terminal.gas).max(intrinsic_and_floor(&case.calldata));
            if result.tx_gas_used() != used {
                obs.failures.push(format!(
                    "gas used: revm {} vs fraud-vm {used}",
                    result.tx_gas_used()
                ));
            }
        }
        ExecutionResult::Halt { reason, .. } => {
            if terminal.status != Status::ExceptionalHalt || terminal.gas != 0 {
                obs.failures
                    .push(format!("revm halted, trace ended {terminal:?}"));
            }
            if result.tx_gas_used() != limit {
                obs.failures.push("halt did not consume all gas".into());
            }
            let expected = match reason {
                HaltReason::OutOfGas(
                    OutOfGasError::Basic | OutOfGasError::Memory | OutOfGasError::InvalidOperand,
                ) => Some(Halt::OutOfGas),
                HaltReason::StackUnderflow => Some(Halt::StackUnderflow),
                HaltReason::StackOverflow => Some(Halt::StackOverflow),
                HaltReason::InvalidJump => Some(Halt::InvalidJump),
                HaltReason::InvalidFEOpcode => Some(Halt::InvalidOpcode),
                HaltReason::OpcodeNotFound => Some(Halt::UndefinedOpcode),
                HaltReason::OutOfOffset => Some(Halt::ReturnDataOutOfBounds),
                _ => None,
            };
            // revm reports DUPn on a short stack as StackOverflow (its `Stack::dup` folds both
            // checks); the reason is diagnostic only and not committed.
            let dup_quirk = matches!(reason, HaltReason::StackOverflow)
                && obs.last_halt == Some(Halt::StackUnderflow)
                && obs
                    .opcodes
                    .last()
                    .is_some_and(|op| (0x80..=0x8f).contains(op));
            // Opcodes of later forks (CLZ 0x1e) are undefined in Prague; revm charges their
            // future static gas before reporting NotActivated, so it may report out-of-gas.
            let future_op = obs.last_halt == Some(Halt::UndefinedOpcode)
                && matches!(reason, HaltReason::NotActivated | HaltReason::OutOfGas(_));
            if expected != obs.last_halt && !dup_quirk && !future_op {
                obs.failures.push(format!(
                    "halt reason: revm {reason:?} vs fraud-vm {:?}",
                    obs.last_halt
                ));
            }
        }
        ExecutionResult::Revert { .. } => obs.failures.push("unexpected revert".into()),
    }
    let is_error = summary.result != InstructionResult::Stop;
    if is_error != (terminal.status == Status::ExceptionalHalt) {
        obs.failures.push(format!(
            "revm result {:?} vs {:?}",
            summary.result, terminal.status
        ));
    }
    obs
}

// ---------------------------------------------------------------------------------------------
// Program generation.

/// Opcodes of v0.1 drawn at random (jumps and pushes are generated separately).
const PLAIN_OPS: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, // arithmetic
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
    0x1d, // bitwise
    0x20, // keccak
    0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3d, 0x3e, // environment
    0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x49, 0x4a, // block
    0x50, 0x51, 0x52, 0x53, 0x58, 0x59, 0x5a, 0x5b, 0x5e, 0x5f, // stack, memory, control
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e,
    0x8f, // dup
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e,
    0x9f, // swap
];

/// Undefined in Prague, or INVALID.
const HALTING_OPS: &[u8] = &[0x0c, 0x1e, 0x21, 0x4b, 0xa5, 0xef, 0xfb, 0xfe];

#[derive(Clone, Debug)]
enum Item {
    Op(u8),
    /// PUSHn with n random bytes (n in 1..=32).
    Push(Vec<u8>),
    /// PUSH2 of a small value: offsets and lengths that stay in cheap memory.
    Small(u16),
    /// PUSH32 of a huge value: offsets that must run out of gas.
    Huge,
    /// A JUMPDEST that jumps may target.
    Label,
    /// PUSH2 <label>, JUMP or JUMPI (the condition is whatever lies below).
    Jump {
        label: usize,
        conditional: bool,
    },
    /// PUSH1 <random>, JUMP: usually an invalid jump.
    WildJump(u8),
    /// JUMPDEST, PUSH0, PUSH2 <here>, JUMP: grows the stack until overflow or out of gas.
    Flood,
    Halting(u8),
    /// A memory-touching opcode with its operands pushed right before it (small values), so that
    /// memory, KECCAK256 and the copies run often and with meaningful ranges.
    MemOp(u8, [u16; 3]),
}

/// Opcodes taking (offset-like, offset-like, length) operands, with their operand counts.
const MEM_OPS: &[(u8, usize)] = &[
    (0x20, 2),
    (0x35, 1),
    (0x37, 3),
    (0x39, 3),
    (0x51, 1),
    (0x52, 2),
    (0x53, 2),
    (0x5e, 3),
];

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        30 => proptest::sample::select(PLAIN_OPS).prop_map(Item::Op),
        8 => proptest::collection::vec(any::<u8>(), 1..=32).prop_map(Item::Push),
        20 => (0u16..320).prop_map(Item::Small),
        1 => Just(Item::Huge),
        4 => Just(Item::Label),
        4 => (any::<usize>(), any::<bool>())
            .prop_map(|(label, conditional)| Item::Jump { label, conditional }),
        1 => any::<u8>().prop_map(Item::WildJump),
        1 => Just(Item::Flood),
        1 => proptest::sample::select(HALTING_OPS).prop_map(Item::Halting),
        10 => (proptest::sample::select(MEM_OPS), [0u16..200, 0u16..200, 0u16..100])
            .prop_map(|((op, _), args)| Item::MemOp(op, args)),
    ]
}

fn mem_op_arity(op: u8) -> usize {
    MEM_OPS
        .iter()
        .find(|(o, _)| *o == op)
        .map_or(0, |(_, n)| *n)
}

/// Lays out `items` as bytecode, resolving jump labels to JUMPDEST offsets.
fn assemble(items: &[Item]) -> Vec<u8> {
    // Each item has a fixed size, so label offsets are known before emitting.
    let size = |it: &Item| match it {
        Item::Op(_) | Item::Label | Item::Halting(_) => 1,
        Item::Push(b) => 1 + b.len(),
        Item::Small(_) => 3,
        Item::Huge => 33,
        Item::Jump { .. } => 4,
        Item::WildJump(_) => 3,
        Item::Flood => 6,
        Item::MemOp(op, _) => 1 + 3 * mem_op_arity(*op),
    };
    let mut labels = Vec::new();
    let mut at = 0;
    for it in items {
        if matches!(it, Item::Label) {
            labels.push(at);
        }
        at += size(it);
    }
    let mut code = Vec::with_capacity(at);
    for it in items {
        let here = code.len();
        match it {
            Item::Op(op) | Item::Halting(op) => code.push(*op),
            Item::Push(bytes) => {
                code.push(0x5f + bytes.len() as u8);
                code.extend_from_slice(bytes);
            }
            Item::Small(v) => code.extend_from_slice(&[0x61, (v >> 8) as u8, *v as u8]),
            Item::Huge => {
                code.push(0x7f);
                code.extend_from_slice(&[0xff; 32]);
            }
            Item::Label => code.push(0x5b),
            Item::Jump { label, conditional } => {
                let target = if labels.is_empty() {
                    0
                } else {
                    labels[label % labels.len()]
                };
                code.extend_from_slice(&[0x61, (target >> 8) as u8, target as u8]);
                code.push(if *conditional { 0x57 } else { 0x56 });
            }
            Item::WildJump(t) => code.extend_from_slice(&[0x60, *t, 0x56]),
            Item::MemOp(op, args) => {
                for v in args[..mem_op_arity(*op)].iter().rev() {
                    code.extend_from_slice(&[0x61, (v >> 8) as u8, *v as u8]);
                }
                code.push(*op);
            }
            Item::Flood => {
                code.extend_from_slice(&[0x5b, 0x5f, 0x61, (here >> 8) as u8, here as u8, 0x56])
            }
        }
    }
    code
}

/// Operands first, so that most programs run a while before the stack runs dry.
fn operand() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => (0u16..320).prop_map(Item::Small),
        1 => proptest::collection::vec(any::<u8>(), 1..=32).prop_map(Item::Push),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            proptest::collection::vec(operand(), 0..20),
            proptest::collection::vec(item(), 1..48),
        )
            .prop_map(|(mut a, b)| {
                a.extend(b);
                a
            }),
        proptest::collection::vec(any::<u8>(), 0..80),
        0u64..3,
        0u64..40_000,
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(items, calldata, value, extra_gas, blobs)| Case {
            code: assemble(&items),
            calldata,
            value,
            extra_gas,
            blobs,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every step of every random program verifies to revm's next state, tampered proofs fail,
    /// and the end of execution (status, halt reason, gas) equals revm's.
    #[test]
    fn every_step_matches_revm(case in case()) {
        let obs = check(&case, true);
        prop_assert!(obs.failures.is_empty(), "{:#?}\ncode: {}", obs.failures,
            alloy::primitives::hex::encode(&case.code));
    }
}

/// The generator is strong enough: over a fixed sample, every v0.1 opcode completes a step
/// somewhere, and every halt kind occurs.
#[test]
fn generator_covers_every_opcode_and_halt() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut completed = [0u64; 256];
    let mut halts = std::collections::BTreeMap::new();
    let mut sizes: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let (mut steps, cases) = (0u64, 400);
    for _ in 0..cases {
        let case = case().new_tree(&mut runner).expect("case").current();
        let obs = check(&case, false);
        assert!(obs.failures.is_empty(), "{:#?}", obs.failures);
        steps += obs.steps;
        for (op, size) in obs.proof_sizes {
            sizes
                .entry(format!("{:?}", info(op).family))
                .or_default()
                .push(size);
        }
        for op in obs.completed {
            completed[op as usize] += 1;
        }
        *halts.entry(format!("{:?}", obs.last_halt)).or_insert(0u64) += 1;
    }
    for (family, v) in &mut sizes {
        v.sort_unstable();
        println!(
            "proof bytes {family}: steps {}, median {}, max {}",
            v.len(),
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    let mut all: Vec<u8> = PLAIN_OPS.to_vec();
    all.extend([0x00, 0x56, 0x57]);
    all.extend(0x60..=0x7f);
    // RETURNDATACOPY completes only for (src, len) = (0, 0) while the return data is empty;
    // `handwritten_programs` covers that case.
    let missing: Vec<&str> = all
        .iter()
        .filter(|op| **op != 0x3e && completed[**op as usize] == 0)
        .map(|op| info(*op).name)
        .collect();
    println!("{cases} cases, {steps} steps, ends: {halts:?}");
    assert!(missing.is_empty(), "never completed: {missing:?}");
    for h in [
        "ReturnDataOutOfBounds",
        "StackUnderflow",
        "StackOverflow",
        "OutOfGas",
        "InvalidJump",
        "InvalidOpcode",
        "UndefinedOpcode",
        "None",
    ] {
        assert!(
            halts.keys().any(|k| k.contains(h)),
            "no case ended with {h}: {halts:?}"
        );
    }
}

/// Handwritten programs reaching each halt kind and the memory-heavy opcodes.
#[test]
fn handwritten_programs() {
    let programs: &[(&str, &[u8])] = &[
        // MSTORE at an unaligned offset, MLOAD back, KECCAK256 over two words, MCOPY overlapping.
        (
            "memory",
            &[
                0x60, 0xaa, 0x60, 0x05, 0x52, 0x60, 0x05, 0x51, 0x60, 0x40, 0x60, 0x00, 0x20, 0x60,
                0x30, 0x60, 0x00, 0x60, 0x10, 0x5e, 0x59, 0x00,
            ],
        ),
        // CALLDATACOPY past the end of calldata, CODECOPY past the end of code.
        (
            "copies",
            &[
                0x60, 0x50, 0x60, 0x02, 0x60, 0x00, 0x37, 0x60, 0x40, 0x60, 0x03, 0x60, 0x20, 0x39,
                0x00,
            ],
        ),
        (
            "empty returndatacopy",
            &[0x5f, 0x5f, 0x60, 0x20, 0x3e, 0x59, 0x00],
        ),
        (
            "returndatacopy out of bounds",
            &[0x60, 0x01, 0x5f, 0x5f, 0x3e],
        ),
        ("underflow", &[0x01]),
        ("invalid", &[0x60, 0x01, 0xfe]),
        ("undefined", &[0x0c]),
        ("bad jump", &[0x60, 0x01, 0x56, 0x5b]),
        ("jump into push data", &[0x60, 0x5b, 0x60, 0x01, 0x56]),
        ("memory out of gas", &[0x63, 0xff, 0xff, 0xff, 0xff, 0x51]),
        ("overflow", &[0x5b, 0x5f, 0x60, 0x00, 0x56]),
        ("truncated push at end", &[0x61, 0x01]),
        // EXP with a 32-byte exponent (dynamic gas), then GAS.
        (
            "exp",
            &[
                0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0x60, 0x03, 0x0a, 0x5a, 0x00,
            ],
        ),
    ];
    for (name, code) in programs {
        let case = Case {
            code: code.to_vec(),
            calldata: vec![1, 2, 3, 4, 5],
            value: 1,
            extra_gas: 100_000,
            blobs: false,
        };
        let obs = check(&case, true);
        assert!(obs.failures.is_empty(), "{name}: {:#?}", obs.failures);
        assert!(obs.steps > 0, "{name}: no steps");
    }
}

/// The state at step k is obtained by re-executing, without holding the trace, and equals the
/// state seen by a full pass.
#[test]
fn state_at_k_by_reexecution() {
    let case = Case {
        code: vec![
            0x60, 0x07, 0x60, 0x01, 0x52, 0x36, 0x60, 0x00, 0x35, 0x01, 0x00,
        ],
        calldata: vec![9; 40],
        value: 0,
        extra_gas: 50_000,
        blobs: true,
    };
    let mut all = Vec::new();
    run(&case, |_, s| all.push(s.record.commitment()));
    for k in 0..all.len() as u64 - 1 {
        let mut at = StateAt::new(k);
        run(&case, |step, s| at.observe(step, s));
        let mut state = at.state.expect("state k reached");
        assert_eq!(state.record.commitment(), all[k as usize]);
        assert_eq!(at.next, Some(all[k as usize + 1]));
        let (proof, _) = prove(&mut state).expect("provable");
        assert_eq!(verify(all[k as usize], &proof), Ok(all[k as usize + 1]));
    }
}

/// A whole layer-2 dispute over one transaction: the defender's trace is wrong from step 9 on
/// (one gas unit off); bisection by re-execution finds step 8, whose one-step proof from the
/// honest state verifies to the honest commitment and so refutes the defender's.
#[test]
fn dispute_over_a_trace_ends_in_a_one_step_proof() {
    use fraud_vm::bisect::find_first_difference;
    let case = Case {
        code: vec![
            0x60, 0x07, 0x60, 0x01, 0x52, 0x36, 0x60, 0x00, 0x35, 0x01, 0x60, 0x20, 0x60, 0x00,
            0x20, 0x5b, 0x58, 0x00,
        ],
        calldata: vec![9; 40],
        value: 0,
        extra_gas: 50_000,
        blobs: false,
    };
    let at = |k: u64| {
        let mut at = StateAt::new(k);
        run(&case, |step, s| at.observe(step, s));
        at.state.expect("position within the trace")
    };
    let honest = |k: u64| at(k).record.commitment();
    let bad_from = 9;
    let claimed = |k: u64| {
        let mut record = at(k).record;
        if k >= bad_from {
            record.gas -= 1;
        }
        record.commitment()
    };
    let mut steps = 0;
    run(&case, |k, _| steps = k);
    let game = find_first_difference(0, steps, honest, claimed).expect("non-empty");
    assert_eq!(game.agreed(), bad_from - 1);
    let (proof, _) = prove(&mut at(game.agreed())).expect("provable");
    let post = verify(claimed(game.agreed()), &proof).expect("agreed pre-state verifies");
    assert_eq!(post, honest(game.disputed()));
    assert_ne!(post, claimed(game.disputed()));
}

/// Opcodes outside v0.1 are refused with a typed error, never answered.
#[test]
fn pending_opcodes_are_unsupported() {
    // SLOAD of slot 0 is traceable (no nested frame) but its step is pending.
    let case = Case {
        code: vec![0x5f, 0x54, 0x00],
        calldata: vec![],
        value: 0,
        extra_gas: 10_000,
        blobs: false,
    };
    let mut results = Vec::new();
    run(&case, |_, s| {
        if s.record.status == Status::Running {
            results.push(prove(s).map(|_| ()));
        }
    });
    assert_eq!(results[0], Ok(()));
    assert_eq!(results[1], Err(VerifyError::Unsupported { what: "SLOAD" }));
}
