//! The Solidity one-step verifier (`fraud-vm/contracts/verifier`, compiled into
//! `fraud-vm/artifacts/OneStepVerifier.json` by `scripts/build-contracts`) deployed on an L1 in
//! revm and fed the Rust prover's proof bytes for every step of the random programs of the parent
//! module: for every step kind it executes, its answer equals the Rust verifier's, and each
//! tampered proof of `tamperings` (and proof bytes mutated at random) reverts exactly when the
//! Rust verifier rejects it. Steps it does not execute yet must revert with `UnsupportedOpcode`
//! or `UnsupportedStep`. Gas per step kind is recorded and printed. The verifier is several contracts
//! (`OneStepVerifier`, which forwards world-state steps and frame exits to `WorldStepVerifier`,
//! calls and creates to `CallStepVerifier`, transaction starts and ends to `TxStartVerifier`
//! and `TxEndVerifier`, block boundaries to `BoundaryStepVerifier` and its
//! `SealingStepVerifier`), all deployed with `L2Precompiles`.

use super::*;
use alloy::primitives::keccak256;
use programs::{edge_case, edge_programs, erc20_cases};

/// The block-boundary verifier: block start and block end.
#[path = "solidity_boundary.rs"]
mod boundary;
/// Steps in long code through their code window and the oracle's code fact (v0.12).
#[path = "solidity_code.rs"]
mod code;
/// The FLZ range job (FastLZ's length in chunks) on the range oracle.
#[path = "solidity_flz.rs"]
mod flz;
/// Merkle-Patricia writes (`MptWrite`) against the Rust reference.
#[path = "solidity_mpt.rs"]
mod mpt;
/// The L2's precompiles, directly and through call steps.
#[path = "solidity_precompiles.rs"]
mod precompiles;
/// Edge-case programs and ERC-20 transfers.
#[path = "solidity_programs.rs"]
mod programs;
/// The range oracle's SHA256 and RIPEMD160 chunks on random inputs and chunkings.
#[path = "solidity_range_chunks.rs"]
mod range_chunks;
/// Long ranges through the range oracle.
#[path = "solidity_ranges.rs"]
mod ranges;
/// [v0.13] Receipts with many short logs at the block end's insertion.
#[path = "solidity_receipts.rs"]
mod receipts;
/// Transaction start and end steps, and whole OP blocks.
#[path = "solidity_transactions.rs"]
mod transactions;
use alloy::sol_types::SolCall;
use fraud_vm::step::{Family, MAX_GAS};
use revm::context::result::Output;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::{ExecuteCommitEvm, ExecuteEvm};

alloy::sol! {
    function step(bytes32 preCommitment, bytes proof) returns (bytes32);
    function opInfo(uint8 op) returns (uint256 family, uint256 gas, uint256 pops, uint256 pushes);
    function run(uint256 addr, bytes input, uint256 limit) returns (bool ok, uint256 used, bytes output);
    #[derive(Debug)]
    struct L1Params {
        uint256 l1BaseFee;
        uint256 baseFeeScalar;
        uint256 blobBaseFee;
        uint256 blobBaseFeeScalar;
        uint256 operatorFeeScalar;
        uint256 operatorFeeConstant;
    }
    function compressedLength(bytes encoded) returns (uint256);
    function l1Fee(L1Params p, bytes encoded) returns (uint256);
}

/// The L1 transaction gas cap every step must fit in (EIP-7825's 2^24).
const L1_TX_GAS: u64 = 1 << 24;
/// Gas for re-running a call beyond the cap, to compare its answer all the same.
const BEYOND_CAP: u64 = 1 << 30;
const DEPLOYER: Address = address!("0x00000000000000000000000000000000000de910");
const SUBMITTER: Address = address!("0x00000000000000000000000000000000005ab317");

/// Custom errors of `StepErrors.sol` (and the compiler's panic), by selector.
const ERRORS: &[&str] = &[
    "Truncated()",
    "TrailingBytes()",
    "ZeroSibling()",
    "WorldMismatch()",
    "BadTreeProof()",
    "BadAccountRecord()",
    "BadSlotValue()",
    "BadBaseProof()",
    "BadCode()",
    "BadFrameLink()",
    "BadCheckpoint()",
    "UnknownVersion(uint8)",
    "BadTag(uint8,uint8)",
    "BadStatus(uint8)",
    "BadFlag(uint8)",
    "BadPadding()",
    "PreStateMismatch()",
    "CodeHashMismatch()",
    "BadStackProof()",
    "BadMemoryProof(uint256)",
    "BadCalldataProof(uint256)",
    "BadReturndataProof(uint256)",
    "BadRange(uint256,uint256)",
    "TxEnvMismatch()",
    "BlockEnvMismatch()",
    "ConstantsMismatch()",
    "MissingWitness(uint8)",
    "UnusedWitness(uint8)",
    "BadDestructs()",
    "BadTransaction()",
    "InvalidTransaction(string)",
    "BadBlockStart(string)",
    "BadSealing()",
    "BadFoldKey()",
    "BadReceipt()",
    "TrieBadNode()",
    "TrieMalformed()",
    "TrieUnusedNodes()",
    "TrieMissingSibling(bytes32)",
    "TrieBadSibling()",
    "TriePrefixKey()",
    "TrieTruncated()",
    "TrieBadFlag(uint8)",
    "UnsupportedOpcode(uint8)",
    "UnsupportedStep(string)",
    "PrecompileGasShort(uint256)",
    "PrecompileUnavailable(uint256)",
    "RangeFactMissing(bytes32)",
    "Panic(uint256)",
];

/// What the Solidity verifier answered.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    /// The post-state commitment.
    Post(B256),
    /// A revert, named by its custom error (`Panic(uint256)` is a bug, not a rejection).
    Revert(String),
    /// The call ran out of gas or otherwise halted: never acceptable.
    Halt(String),
}

impl Answer {
    fn is_unsupported(&self) -> bool {
        matches!(self, Self::Revert(name) if name.starts_with("Unsupported"))
    }

    /// A deliberate rejection: one of the verifier's own errors (not a panic, an unknown
    /// revert, or a precompile the L1 could not run, which decides nothing).
    fn is_rejection(&self) -> bool {
        matches!(self, Self::Revert(name)
            if !name.starts_with("Panic") && !name.starts_with('<') && !name.starts_with("Precompile"))
    }

    /// An answer that only says the transaction had too little gas: an out-of-gas halt, an
    /// empty revert (out of gas in a nested call), or a precompile that could not run.
    fn wants_gas(&self) -> bool {
        match self {
            Self::Halt(_) => true,
            Self::Revert(name) => name == "<revert 0x>" || name.starts_with("PrecompileGasShort"),
            Self::Post(_) => false,
        }
    }
}

fn error_name(data: &[u8]) -> String {
    ERRORS
        .iter()
        .find(|sig| data.len() >= 4 && keccak256(sig.as_bytes())[..4] == data[..4])
        .map_or_else(
            || format!("<revert 0x{}>", alloy::primitives::hex::encode(data)),
            |sig| sig.to_string(),
        )
}

/// A hex field of the committed artifact `fraud-vm/artifacts/<name>.json`.
fn artifact_code(name: &str, field: &str) -> Vec<u8> {
    crate::artifact_field(&format!("fraud-vm/artifacts/{name}.json"), field)
}

/// An L1 (Prague rules, gas price 0) with the verifier's contracts deployed by creation
/// transactions, so that the EIP-170 code size limit applies to them.
struct L1Verifier {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    /// The entry, `OneStepVerifier`.
    address: Address,
    /// `L2Precompiles`, which the call steps and the transaction start call.
    precompiles: Address,
    /// The `TxDecoder` that `TxStartVerifier` deployed.
    tx_decoder: Address,
    /// Gas of the last [`Self::precompile`] call as a transaction.
    last_gas: u64,
    /// Contracts deployed so far (the deployer's nonce).
    deployed: u64,
}

impl L1Verifier {
    fn deploy() -> Self {
        let block = BlockEnv {
            number: U256::from(1000),
            timestamp: U256::from(1_700_000_000u64),
            gas_limit: 1 << 31,
            basefee: 0,
            prevrandao: Some(B256::repeat_byte(0x42)),
            ..Default::default()
        };
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .with_cfg(CfgEnv::new_with_spec(SpecId::PRAGUE))
            .with_block(block)
            .build_mainnet();
        let mut l1 = Self {
            evm,
            address: Address::ZERO,
            precompiles: Address::ZERO,
            tx_decoder: Address::ZERO,
            last_gas: 0,
            deployed: 0,
        };
        // The precompile set, the contracts the entry forwards to, then the entry with their
        // addresses.
        let precompiles = l1.deploy_artifact("L2Precompiles", &[]);
        let world = l1.deploy_artifact("WorldStepVerifier", &[]);
        let calls = l1.deploy_artifact("CallStepVerifier", &[precompiles]);
        let starts = l1.deploy_artifact("TxStartVerifier", &[precompiles]);
        let ends = l1.deploy_artifact("TxEndVerifier", &[]);
        let sealing = l1.deploy_artifact("SealingStepVerifier", &[]);
        let boundary = l1.deploy_artifact("BoundaryStepVerifier", &[sealing]);
        l1.address = l1.deploy_artifact("OneStepVerifier", &[world, calls, starts, ends, boundary]);
        l1.precompiles = precompiles;
        // TxStartVerifier's first creation (a contract's nonce starts at 1).
        l1.tx_decoder = starts.create(1);
        l1
    }

    /// Deploys the committed artifact `name` with address constructor arguments `args`, by a
    /// creation transaction (so that the EIP-170 code size limit applies).
    fn deploy_artifact(&mut self, name: &str, args: &[Address]) -> Address {
        let mut initcode = artifact_code(name, "bytecode");
        for a in args {
            initcode.extend_from_slice(B256::left_padding_from(a.as_slice()).as_slice());
        }
        self.create(initcode, name)
    }

    /// Deploys `initcode` (contract `name`, for the panic) by a creation transaction.
    fn create(&mut self, initcode: Vec<u8>, name: &str) -> Address {
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .kind(TxKind::Create)
            .data(initcode.into())
            .gas_limit(L1_TX_GAS)
            .gas_price(0)
            .nonce(self.deployed)
            .build()
            .expect("valid tx");
        self.deployed += 1;
        match self.evm.transact_commit(tx).expect("deploys") {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => address,
            other => panic!("deploying {name} failed: {other:?}"),
        }
    }

    /// Calls `data` on the verifier without committing; the answer and the gas the transaction
    /// used (intrinsic and calldata gas included, as an L1 submitter pays it). A call that does
    /// not fit in [`L1_TX_GAS`] (its calldata alone, or its execution) is run again with
    /// [`BEYOND_CAP`] gas so that its answer can still be compared; the gas it needed is
    /// returned.
    fn call(&mut self, data: Vec<u8>) -> (ExecutionResult, u64) {
        self.call_to(self.address, data)
    }

    /// One call of `data` to `address` with `gas`, not committed.
    fn call_with_gas(&mut self, address: Address, data: Vec<u8>, gas: u64) -> ExecutionResult {
        let tx = TxEnv::builder()
            .caller(SUBMITTER)
            .kind(TxKind::Call(address))
            .data(data.into())
            .gas_limit(gas)
            .gas_price(0)
            .nonce(0)
            .build()
            .expect("valid tx");
        self.evm.transact(tx).expect("valid transaction").result
    }

    /// A committed call from `caller` (at `nonce`) to `to`, with the L1 transaction gas cap:
    /// its result, or the transaction's validation error.
    fn commit_call(
        &mut self,
        caller: Address,
        to: Address,
        data: Vec<u8>,
        nonce: u64,
    ) -> Result<ExecutionResult, String> {
        let tx = TxEnv::builder()
            .caller(caller)
            .kind(TxKind::Call(to))
            .data(data.into())
            .gas_limit(L1_TX_GAS)
            .gas_price(0)
            .nonce(nonce)
            .build()
            .expect("valid tx");
        self.evm.transact_commit(tx).map_err(|e| format!("{e:?}"))
    }

    /// [`Self::call`] to `address`.
    fn call_to(&mut self, address: Address, data: Vec<u8>) -> (ExecutionResult, u64) {
        let tx = |gas: u64| {
            TxEnv::builder()
                .caller(SUBMITTER)
                .kind(TxKind::Call(address))
                .data(data.clone().into())
                .gas_limit(gas)
                .gas_price(0)
                .nonce(0)
                .build()
                .expect("valid tx")
        };
        let result = match self.evm.transact(tx(L1_TX_GAS)) {
            Ok(out) if !answer_of(&out.result).wants_gas() => out.result,
            _ => {
                self.evm
                    .transact(tx(BEYOND_CAP))
                    .expect("valid transaction")
                    .result
            }
        };
        let gas = result.tx_gas_used();
        (result, gas)
    }

    fn verify(&mut self, pre: B256, proof: &[u8]) -> (Answer, u64) {
        let data = stepCall {
            preCommitment: pre,
            proof: Bytes::copy_from_slice(proof),
        }
        .abi_encode();
        let (result, gas) = self.call(data);
        (answer_of(&result), gas)
    }

    /// `L2Precompiles.run(address, input, limit)`: whether the precompile succeeds, its gas and
    /// its output, or the revert.
    fn precompile(
        &mut self,
        address: u64,
        input: &[u8],
        limit: u64,
    ) -> Result<(bool, u64, Vec<u8>), String> {
        let data = runCall {
            addr: U256::from(address),
            input: Bytes::copy_from_slice(input),
            limit: U256::from(limit),
        }
        .abi_encode();
        let (result, gas) = self.call_to(self.precompiles, data);
        self.last_gas = gas;
        match result {
            ExecutionResult::Success { output, .. } => {
                let r = runCall::abi_decode_returns(output.data()).map_err(|e| e.to_string())?;
                let used = u64::try_from(r.used).map_err(|e| e.to_string())?;
                Ok((r.ok, used, r.output.to_vec()))
            }
            other => Err(format!("{other:?}")),
        }
    }
}

/// The answer of a `step` call.
fn answer_of(result: &ExecutionResult) -> Answer {
    match result {
        ExecutionResult::Success { output, .. } => {
            match stepCall::abi_decode_returns(output.data()) {
                Ok(post) => Answer::Post(post),
                Err(e) => Answer::Halt(format!("undecodable return: {e}")),
            }
        }
        ExecutionResult::Revert { output, .. } => Answer::Revert(error_name(output)),
        ExecutionResult::Halt { reason, .. } => Answer::Halt(format!("{reason:?}")),
    }
}

/// Whether this version of the Solidity verifier executes the step of `proof`: a frame exit, an
/// opcode step of a v0.1 family, storage, account reads, logs, SELFDESTRUCT, calls, RETURN or
/// REVERT, or any opcode step that halts before its own work (undefined and
/// INVALID opcodes, static gas, stack underflow and overflow).
fn covered(proof: &StepProof) -> bool {
    let (pre, code) = (&proof.pre, &proof.code);
    if pre.status != Status::Running {
        // The exit of a call or create frame, the transaction start or end, the block start
        // and end (`BoundaryStepVerifier`).
        return true;
    }
    if pre.status != Status::Running || pre.gas > MAX_GAS {
        return false;
    }
    let op = usize::try_from(pre.pc)
        .ok()
        .and_then(|pc| code.get(pc))
        .copied()
        .unwrap_or(0);
    let i = info(op);
    match i.family {
        Family::Arithmetic
        | Family::Bitwise
        | Family::Keccak
        | Family::Environment
        | Family::Stack
        | Family::Memory
        | Family::Control
        | Family::Undefined
        | Family::Invalid
        | Family::Storage
        | Family::Account
        | Family::Log
        | Family::System => true,
        // The call family (precompiles included), CREATE and CREATE2.
        _ if i.family == Family::Call => true,
        _ => {
            let (pops, pushes) = (u64::from(i.pops), u64::from(i.pushes));
            pre.gas < i.gas || pre.stack_len < pops || pre.stack_len - pops + pushes > 1024
        }
    }
}

/// The precompile a CALL, CALLCODE, DELEGATECALL or STATICCALL step calls, if it calls one.
fn precompile_target(proof: &StepProof) -> Option<u64> {
    let op = usize::try_from(proof.pre.pc)
        .ok()
        .and_then(|pc| proof.code.get(pc))
        .copied()
        .unwrap_or(0);
    if !matches!(op, 0xf1 | 0xf2 | 0xf4 | 0xfa) || proof.pre.status != Status::Running {
        return None;
    }
    let to = U256::from_be_slice(&proof.stack.get(1)?.to_be_bytes::<32>()[12..]);
    let to = u64::try_from(to).ok()?;
    ((1..=0x11).contains(&to) || to == 0x100).then_some(to)
}

/// The step kind gas is recorded under: the opcode's name, with `(halt)` for a halting step.
fn kind(proof: &StepProof, halted: bool) -> String {
    let (pre, code) = (&proof.pre, &proof.code);
    if pre.status != Status::Running {
        let create = proof
            .frame
            .as_ref()
            .is_some_and(|f| f.kind == fraud_vm::frame::FrameKind::Create);
        return if create {
            "create frame exit".into()
        } else if pre.depth > 0 {
            "frame exit".into()
        } else {
            boundary_kind(proof)
        };
    }
    let op = usize::try_from(pre.pc)
        .ok()
        .and_then(|pc| code.get(pc))
        .copied()
        .unwrap_or(0);
    let name = info(op).name;
    if halted {
        format!("{name} (halt)")
    } else {
        name.to_string()
    }
}

/// The kind of a transaction start or end: a creation, an OP deposit, an OP transaction paying
/// fees, an EIP-7702 transaction.
fn boundary_kind(proof: &StepProof) -> String {
    match proof.pre.status {
        Status::BlockStart => return "block start system call".into(),
        // A fold carries its key, an insertion its receipt, the seal neither.
        Status::Sealing if proof.fold_key.is_some() => return "block end fold".into(),
        Status::Sealing if proof.receipt.is_some() => return "block end insertion".into(),
        Status::Sealing => return "block end seal".into(),
        Status::BlockEnd => return "block-end fixed point".into(),
        // The Idle state after the last transaction begins the block end.
        Status::Idle
            if proof
                .constants
                .as_ref()
                .is_some_and(|c| c.tx_count == proof.pre.tx_index) =>
        {
            return "block end start".into();
        }
        _ => {}
    }
    let op = proof
        .block_env
        .as_ref()
        .is_some_and(|b| b.rules == fraud_vm::state::Rules::Isthmus);
    let (mut name, create, deposit) = if proof.pre.status == Status::Idle {
        // v0.4 carries the encoding: decode it for the name (an undecodable one has none).
        let tx = proof.transaction.as_ref().and_then(|(encoded, _)| {
            let env = proof.block_env.as_ref()?;
            fraud_vm::tx::decode(encoded, env.rules, env.chain_id).ok()
        });
        let tx = tx.as_ref();
        let mut name = "transaction start".to_string();
        if tx.is_some_and(|t| !t.authorizations.is_empty()) {
            name.push_str(", EIP-7702");
        }
        (
            name,
            tx.is_some_and(|t| t.create),
            tx.is_some_and(|t| t.deposit.is_some()),
        )
    } else {
        let env = proof.tx_env.as_ref();
        (
            "transaction end".to_string(),
            env.is_some_and(|e| e.create),
            env.is_some_and(|e| e.deposit),
        )
    };
    if create {
        name.push_str(", creation");
    }
    if deposit {
        name.push_str(", OP deposit");
    } else if op {
        name.push_str(", OP fees");
    }
    name
}

/// What the comparison saw.
#[derive(Default)]
struct Tally {
    failures: Vec<String>,
    /// Gas and proof bytes of every covered step the Solidity verifier answered, by kind.
    gas: BTreeMap<String, Vec<(u64, usize)>>,
    /// Steps of each kind answered `Unsupported*`.
    unsupported: BTreeMap<String, u64>,
    /// Tampered and mutated proofs run through both verifiers.
    tampered: u64,
    /// Proofs of covered steps kept for the byte-mutation test.
    sample: Vec<(B256, Vec<u8>)>,
    /// Covered steps whose proof does not fit in one L1 transaction of [`L1_TX_GAS`]: kind,
    /// proof bytes, gas needed.
    over_cap: Vec<(String, usize, u64)>,
}

impl Tally {
    /// Runs the proof of `state`'s step through both verifiers and compares them; with
    /// `tamper`, also every tampered proof of [`tamperings`].
    fn step(&mut self, l1: &mut L1Verifier, state: &mut FullState, tamper: bool, k: u64) {
        let commitment = state.record.commitment();
        let (proof, transition) = match prove(state) {
            Ok(p) => p,
            Err(e) => {
                self.failures.push(format!("step {k}: prove failed: {e}"));
                return;
            }
        };
        self.proof(l1, commitment, &proof, transition.halt.is_some(), tamper, k);
    }

    /// Runs `proof` from `commitment` through both verifiers and compares them; with
    /// `tamper`, also every tampered proof of [`tamperings`].
    fn proof(
        &mut self,
        l1: &mut L1Verifier,
        commitment: B256,
        proof: &StepProof,
        halted: bool,
        tamper: bool,
        k: u64,
    ) {
        let proof = proof.clone();
        let bytes = proof.encode();
        let rust = verify(commitment, &proof);
        let (answer, gas) = l1.verify(commitment, &bytes);
        let mut name = kind(&proof, halted);
        if let Some(to) = precompile_target(&proof) {
            name = format!("{name} to {to:#04x}");
        }
        if !covered(&proof) {
            if !answer.is_unsupported() {
                self.failures.push(format!(
                    "step {k} ({name}): expected Unsupported, got {answer:?}"
                ));
            }
            *self.unsupported.entry(name).or_default() += 1;
            return;
        }
        match (&rust, &answer) {
            (Ok(post), Answer::Post(sol)) if post == sol => {
                if gas > L1_TX_GAS {
                    self.over_cap.push((name.clone(), bytes.len(), gas));
                }
                self.gas
                    .entry(name.clone())
                    .or_default()
                    .push((gas, bytes.len()));
            }
            _ => self.failures.push(format!(
                "step {k} ({name}): Rust {rust:?}, Solidity {answer:?}"
            )),
        }
        let boundary = proof.pre.status != Status::Running && proof.pre.depth == 0;
        if self.sample.len() < 400 && (k.is_multiple_of(3) || boundary) {
            self.sample.push((commitment, bytes));
        }
        if tamper {
            tamperings(commitment, &proof, |what, p, pre| {
                self.tampered += 1;
                let rust = verify(pre, p);
                let (answer, _) = l1.verify(pre, &p.encode());
                let agree = match (&rust, &answer) {
                    (Ok(a), Answer::Post(b)) => a == b,
                    (Err(_), answer) => answer.is_rejection(),
                    _ => false,
                };
                if !agree {
                    self.failures.push(format!(
                        "step {k} ({name}): tampered {what}: Rust {rust:?}, Solidity {answer:?}"
                    ));
                }
            });
        }
    }

    /// Traces `case` in revm and compares every step.
    fn case(&mut self, l1: &mut L1Verifier, case: &Case, tamper: bool) {
        run(case, |k, state| self.step(l1, state, tamper, k));
    }

    /// Runs `case` as its block's transaction (the Rust check from the Idle state before it to
    /// the Idle state after it) and compares its transaction start and end steps.
    fn boundaries(&mut self, l1: &mut L1Verifier, case: &Case, tamper: bool) {
        let obs = check(case, false);
        if !obs.failures.is_empty() {
            self.failures
                .push(format!("the Rust check failed: {:?}", obs.failures));
        }
        for (i, (pre, bytes)) in obs.boundary_proofs.iter().enumerate() {
            self.encoded(l1, *pre, bytes, tamper, i as u64);
        }
    }

    /// [`Self::proof`] of encoded proof bytes.
    fn encoded(&mut self, l1: &mut L1Verifier, pre: B256, bytes: &[u8], tamper: bool, k: u64) {
        match StepProof::decode(bytes) {
            Ok(proof) => self.proof(l1, pre, &proof, false, tamper, k),
            Err(e) => self.failures.push(format!("step {k}: undecodable: {e}")),
        }
    }

    /// Prints gas and proof bytes per step kind: steps, median and max.
    fn report(&self) {
        println!(
            "Solidity one-step verifier, L1 transaction gas per step kind (intrinsic and calldata included):"
        );
        println!(
            "{:<22} {:>6} {:>10} {:>10} {:>12} {:>12}",
            "kind", "steps", "median gas", "max gas", "median bytes", "max bytes"
        );
        for (name, v) in &self.gas {
            let mut gas: Vec<u64> = v.iter().map(|(g, _)| *g).collect();
            let mut bytes: Vec<usize> = v.iter().map(|(_, b)| *b).collect();
            gas.sort_unstable();
            bytes.sort_unstable();
            println!(
                "{name:<22} {:>6} {:>10} {:>10} {:>12} {:>12}",
                v.len(),
                gas[gas.len() / 2],
                gas[gas.len() - 1],
                bytes[bytes.len() / 2],
                bytes[bytes.len() - 1]
            );
        }
        for (name, bytes, gas) in &self.over_cap {
            println!("beyond the L1 transaction cap: {name}, {bytes} proof bytes, {gas} gas");
        }
        let unsupported: u64 = self.unsupported.values().sum();
        println!(
            "steps answered Unsupported (not executed yet): {unsupported} {:?}",
            self.unsupported
        );
    }

    fn max_gas(&self) -> u64 {
        self.gas
            .values()
            .flat_map(|v| v.iter().map(|(g, _)| *g))
            .max()
            .unwrap_or(0)
    }
}

/// The Solidity table entry of every opcode equals the Rust table's.
#[test]
fn solidity_opcode_table_matches_rust() {
    let mut l1 = L1Verifier::deploy();
    let families = [
        (Family::Undefined, 0u8),
        (Family::Invalid, 1),
        (Family::Arithmetic, 2),
        (Family::Bitwise, 3),
        (Family::Keccak, 4),
        (Family::Environment, 5),
        (Family::Stack, 6),
        (Family::Memory, 7),
        (Family::Control, 8),
        (Family::Storage, 9),
        (Family::Account, 10),
        (Family::Log, 11),
        (Family::System, 12),
        (Family::Call, 13),
    ];
    for op in 0..=255u8 {
        let (result, _) = l1.call(opInfoCall { op }.abi_encode());
        let ExecutionResult::Success { output, .. } = result else {
            panic!("opInfo({op:#04x}) failed: {result:?}");
        };
        let sol = opInfoCall::abi_decode_returns(output.data()).expect("decodes");
        let rust = info(op);
        let family = families
            .iter()
            .find(|(f, _)| *f == rust.family)
            .map(|(_, code)| *code)
            .expect("a family the Solidity table knows");
        assert_eq!(
            (sol.family, sol.gas, sol.pops, sol.pushes),
            (
                U256::from(family),
                U256::from(rust.gas),
                U256::from(rust.pops),
                U256::from(rust.pushes)
            ),
            "opcode {op:#04x} ({})",
            rust.name
        );
    }
}

/// Arithmetic, memory and copy edge cases, every step and every tampered proof.
#[test]
fn solidity_edge_programs_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for code in edge_programs() {
        tally.case(&mut l1, &edge_case(code), true);
    }
    // BLOBHASH of an EIP-4844 transaction: both hashes, one index past them, a huge index.
    let u = U256::from;
    let blobs = program(&[
        (0x49, &[u(0)]),
        (0x49, &[u(1)]),
        (0x49, &[u(2)]),
        (0x49, &[U256::MAX]),
        (0x00, &[]),
    ]);
    tally.case(
        &mut l1,
        &Case {
            blobs: true,
            ..edge_case(blobs)
        },
        true,
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for op in [
        "BLOBHASH",
        "SDIV",
        "SMOD",
        "ADDMOD",
        "MULMOD",
        "EXP",
        "SIGNEXTEND",
        "MCOPY",
        "CODECOPY",
    ] {
        assert!(
            tally.gas.contains_key(op),
            "{op} never verified: {:?}",
            tally.gas.keys()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every step of random programs: the Solidity verifier gives the Rust verifier's
    /// post-commitment for every step it executes, answers `Unsupported` for the others, and
    /// rejects exactly the tampered proofs the Rust verifier rejects.
    #[test]
    fn solidity_verifier_matches_rust(case in case()) {
        let mut l1 = L1Verifier::deploy();
        let mut tally = Tally::default();
        tally.case(&mut l1, &case, true);
        tally.boundaries(&mut l1, &case, true);
        for (name, bytes, gas) in &tally.over_cap {
            println!("beyond the L1 transaction cap: {name}, {bytes} proof bytes, {gas} gas");
        }
        prop_assert!(tally.failures.is_empty(), "{:#?}\ncode: {}", tally.failures,
            alloy::primitives::hex::encode(&case.code));
    }
}

/// CREATE and CREATE2 of every initcode kind, with and without value, a CREATE2 collision,
/// initcode beyond EIP-3860 and value beyond the balance: every step (the creates, the
/// initcode frames and their exits) and every tampered proof.
#[test]
fn solidity_create_steps_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for (_, code) in create_program_list() {
        let case = Case {
            extra_gas: 1_000_000,
            ..Case::program(&code)
        };
        tally.case(&mut l1, &case, true);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    for kind in ["CREATE", "CREATE2", "CREATE (halt)", "create frame exit"] {
        assert!(
            tally.gas.contains_key(kind),
            "{kind} never verified: {:?}",
            tally.gas.keys()
        );
    }
    println!("creates: {} tampered proofs", tally.tampered);
    tally.report();
}

/// Proof bytes with one byte changed, inserted or removed: the Solidity verifier reverts exactly
/// when the Rust decoder or verifier rejects them.
#[test]
fn solidity_rejects_mutated_proof_bytes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for _ in 0..12 {
        let case = case().new_tree(&mut runner).expect("case").current();
        tally.boundaries(&mut l1, &case, false);
        tally.case(&mut l1, &case, false);
    }
    for code in edge_programs() {
        tally.case(&mut l1, &edge_case(code), false);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut failures = Vec::new();
    let mut mutations = 0;
    for (pre, bytes) in &tally.sample {
        for _ in 0..4 {
            let mut m = bytes.clone();
            let at = next(m.len());
            match next(3) {
                0 => m[at] ^= 1 << next(8),
                1 => m.insert(at, next(256) as u8),
                _ => {
                    m.remove(at);
                }
            }
            mutations += 1;
            let rust = StepProof::decode(&m)
                .map_err(|e| e.to_string())
                .and_then(|p| verify(*pre, &p).map_err(|e| e.to_string()));
            let (answer, _) = l1.verify(*pre, &m);
            let agree = match (&rust, &answer) {
                (Ok(a), Answer::Post(b)) => a == b,
                (Err(_), answer) => answer.is_rejection(),
                _ => false,
            };
            if !agree {
                failures.push(format!(
                    "mutation at {at}: Rust {rust:?}, Solidity {answer:?}"
                ));
            }
        }
    }
    // v0.4's version byte is refused by both.
    let (pre, bytes) = &tally.sample[0];
    let mut v4 = bytes.clone();
    v4[0] = 4;
    assert!(StepProof::decode(&v4).is_err());
    assert_eq!(
        l1.verify(*pre, &v4).0,
        Answer::Revert("UnknownVersion(uint8)".into())
    );
    println!(
        "{mutations} mutated proofs over {} proofs",
        tally.sample.len()
    );
    assert!(
        mutations > 400,
        "too few proofs sampled: {}",
        tally.sample.len()
    );
    assert!(
        failures.is_empty(),
        "{:#?}",
        &failures[..failures.len().min(20)]
    );
}

/// Gas of the Solidity verifier per step kind over a fixed sample: random programs with their
/// transaction boundaries, the edge programs, the ERC-20 transfers, the create programs, the
/// precompile programs, whole OP blocks and the boundaries of the Rust differential's
/// transactions; then the named outliers: jumps in the largest code, KECCAK256 over long
/// ranges, the heaviest call of each precompile the rollup bounds (SPEC.md §5.15 "Bounds")
/// (`cargo test --release -p fraud-vm --test differential solidity_gas -- --nocapture`).
#[test]
fn solidity_gas_per_step_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    let cases = 60;
    for _ in 0..cases {
        let case = case().new_tree(&mut runner).expect("case").current();
        tally.case(&mut l1, &case, false);
        tally.boundaries(&mut l1, &case, false);
    }
    for code in edge_programs() {
        tally.case(&mut l1, &edge_case(code), false);
    }
    for case in erc20_cases() {
        tally.case(&mut l1, &case, false);
        tally.boundaries(&mut l1, &case, false);
    }
    for (_, code) in create_program_list() {
        let case = Case {
            extra_gas: 1_000_000,
            ..Case::program(&code)
        };
        tally.case(&mut l1, &case, false);
    }
    for case in precompiles::precompile_cases() {
        tally.case(&mut l1, &case, false);
    }
    for encoded in super::op_blocks::fixed_blocks() {
        tally.op_block(&mut l1, &encoded, false);
    }
    for (_, case) in creation_transaction_cases() {
        tally.boundaries(&mut l1, &case, false);
    }
    for (k, (pre, bytes)) in transactions_without_opcodes_boundaries()
        .iter()
        .chain(block_of_transactions_boundaries().iter())
        .enumerate()
    {
        tally.encoded(&mut l1, *pre, bytes, false, k as u64);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    println!(
        "{cases} random programs with their transaction boundaries, the edge programs, the ERC-20 \
         transfers, the create and precompile programs, two OP blocks, the Rust differential's \
         transactions"
    );
    tally.report();
    let under: Vec<u64> = tally
        .gas
        .values()
        .flat_map(|v| v.iter().map(|(g, _)| *g))
        .filter(|g| *g <= L1_TX_GAS)
        .collect();
    let max = under.iter().max().copied().unwrap_or(0);
    println!("largest step within the L1 transaction cap: {max} gas (cap {L1_TX_GAS})");
    // With range multiproofs (SPEC.md §3.4) every step of the corpus fits in one L1
    // transaction: the G1MSM input of 130 pairs copied to memory and passed to the call, the
    // ERC-20's deployed code at its creation's end included.
    assert!(
        tally.over_cap.is_empty(),
        "steps beyond the L1 transaction cap: {:?}",
        tally.over_cap
    );

    // Jumps in the largest code EIP-170 allows, travelling whole in the proof: 24,576 bytes of
    // JUMPDESTs (one-byte instructions) or of PUSH1 0x00 (the densest instructions with PUSH
    // opcodes, which the scan steps through one by one), and a JUMP to the end.
    for (name, filler) in [("JUMPDEST", &[0x5b][..]), ("PUSH1 0x00", &[0x60, 0x00][..])] {
        let mut code = vec![0x61, 0, 0, 0x56];
        while code.len() + filler.len() < 24_576 {
            code.extend_from_slice(filler);
        }
        let target = code.len();
        code.push(0x5b);
        code[1..3].copy_from_slice(&(target as u16).to_be_bytes());
        let mut large = Tally::default();
        large.case(&mut l1, &Case::program(&code), false);
        assert!(large.failures.is_empty(), "{:#?}", large.failures);
        println!("{} bytes of code, {name} filler:", code.len());
        large.report();
        assert!(large.max_gas() < L1_TX_GAS, "beyond the L1 transaction cap");
    }

    // Ranges: KECCAK256 over 4 and 16 KiB of memory, each read with one range multiproof.
    for kib in [4u64, 16] {
        let code = program(&[(0x20, &[U256::ZERO, U256::from(kib * 1024)])]);
        let mut range = Tally::default();
        range.case(&mut l1, &Case::program(&code), false);
        assert!(range.failures.is_empty(), "{:#?}", range.failures);
        println!("KECCAK256 of {kib} KiB:");
        range.report();
        assert!(range.max_gas() < 1_000_000, "{} gas", range.max_gas());
    }

    // Long ranges of 1 MiB read from range facts (SPEC.md §3.4.1): the step and every chunk
    // transaction of its job under the bound.
    let (step, chunk) = ranges::long_ranges(&mut l1);
    println!("long ranges up to 1 MiB: largest step {step} gas, largest chunk {chunk} gas");
    assert!(step < ranges::RANGE_TX_GAS && chunk < ranges::RANGE_TX_GAS);

    // The heaviest calls the rollup's bounds allow (SPEC.md §5.15 "Bounds"), read whole.
    ranges::bounded_precompiles(&mut l1);
}

/// Every step of the ERC-20 transfers the Solidity verifier executes matches the Rust verifier,
/// tampered proofs included.
#[test]
fn solidity_erc20_transfer_steps_match_rust() {
    let mut l1 = L1Verifier::deploy();
    let mut tally = Tally::default();
    for case in erc20_cases() {
        tally.case(&mut l1, &case, true);
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    let answered: usize = tally.gas.values().map(Vec::len).sum();
    println!(
        "erc20: {answered} steps answered, {} tampered proofs, largest step {} gas",
        tally.tampered,
        tally.max_gas()
    );
    tally.report();
    assert!(answered > 200, "only {answered} steps answered");
}
