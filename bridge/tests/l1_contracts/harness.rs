//! An L1 in revm (Prague, gas price 0 so balances change only by value) with our compiled
//! artifacts deployed by real transactions, the ABI bindings the tests call them through, and
//! viem's withdrawal-status rule.

use std::collections::HashMap;
use std::sync::OnceLock;

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, address, keccak256};
use alloy::sol;
use alloy::sol_types::{SolCall, SolValue};
use bridge::output::OutputV0;
use bridge::proof::StorageTrie;
use bridge::withdrawal::Withdrawal;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};
use serde_json::Value;

pub const DEPLOYER: Address = address!("0x1000000000000000000000000000000000000001");
pub const PROPOSER: Address = address!("0x1000000000000000000000000000000000000002");
pub const USER: Address = address!("0x1000000000000000000000000000000000000003");
pub const OTHER: Address = address!("0x1000000000000000000000000000000000000004");
/// The batch inbox's batcher.
pub const BATCHER: Address = address!("0x1000000000000000000000000000000000000005");
/// Where genesis puts Multicall3 on both chains.
pub const MULTICALL3: Address = address!("0xcA11bde05977b3631167028862bE2a173976CA11");

pub const GAME_TYPE: u32 = 0;
pub const OTHER_GAME_TYPE: u32 = 1;
pub const CHALLENGE_WINDOW: u64 = 120;
pub const FINALITY_DELAY: u64 = 30;
pub const MATURITY_DELAY: u64 = 60;
pub const START_TIME: u64 = 1_700_000_000;

pub fn bond() -> U256 {
    U256::from(10u64).pow(U256::from(17u64))
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

sol! {
    #[derive(Debug, PartialEq)]
    struct WithdrawalTransaction {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    #[derive(Debug, PartialEq)]
    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 latestBlockhash;
    }

    #[derive(Debug, PartialEq)]
    struct GameSearchResult {
        uint256 index;
        bytes32 metadata;
        uint64 timestamp;
        bytes32 rootClaim;
        bytes extraData;
    }

    interface IPortal {
        function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes data) payable;
        function donateETH() payable;
        function proveWithdrawalTransaction(WithdrawalTransaction wtx, uint256 disputeGameIndex, OutputRootProof outputRootProof, bytes[] withdrawalProof);
        function finalizeWithdrawalTransaction(WithdrawalTransaction wtx);
        function finalizeWithdrawalTransactionExternalProof(WithdrawalTransaction wtx, address proofSubmitter);
        function checkWithdrawal(bytes32 withdrawalHash, address proofSubmitter) view;
        function provenWithdrawals(bytes32 withdrawalHash, address submitter) view returns (address disputeGameProxy, uint64 timestamp);
        function finalizedWithdrawals(bytes32 withdrawalHash) view returns (bool);
        function numProofSubmitters(bytes32 withdrawalHash) view returns (uint256);
        function proofSubmitters(bytes32 withdrawalHash, uint256 index) view returns (address);
        function respectedGameType() view returns (uint32);
        function anchorStateRegistry() view returns (address);
        function disputeGameFactory() view returns (address);
        function proofMaturityDelaySeconds() view returns (uint256);
        function disputeGameFinalityDelaySeconds() view returns (uint256);
        function aliasL1ToL2(address l1Address) view returns (address);
        function minimumGasLimit(uint64 byteCount) view returns (uint64);
        function depositResource(uint64 gasLimit, uint64 byteCount) view returns (uint256);
        function hashWithdrawal(WithdrawalTransaction wtx) view returns (bytes32);
        function l2Sender() view returns (address);
        function version() view returns (string);
        function depositChain(uint256 l1Block) view returns (bytes32);
        function depositMarket() view returns (uint128 baseFee, uint64 remaining);
        function params() view returns (uint128 prevBaseFee, uint64 prevBoughtGas, uint64 prevBlockNum);

        event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
        event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);
        event WithdrawalProvenExtension1(bytes32 indexed withdrawalHash, address indexed proofSubmitter);
        event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);
    }

    interface IFactory {
        function create(uint32 gameType, bytes32 rootClaim, bytes extraData) payable returns (address proxy);
        function gameCount() view returns (uint256);
        function gameAtIndex(uint256 index) view returns (uint32 gameType, uint64 timestamp, address proxy);
        function games(uint32 gameType, bytes32 rootClaim, bytes extraData) view returns (address proxy, uint64 timestamp);
        function findLatestGames(uint32 gameType, uint256 start, uint256 n) view returns (GameSearchResult[] games);
        function setImplementation(uint32 gameType, address implementation);
        function initBonds(uint32 gameType) view returns (uint256);
        function gameImpls(uint32 gameType) view returns (address);
        function setInitBond(uint32 gameType, uint256 initBond);
        function transferOwnership(address newOwner);
        function owner() view returns (address);
        event DisputeGameCreated(address indexed disputeProxy, uint32 indexed gameType, bytes32 indexed rootClaim);
    }

    interface IGame {
        function initialize(address creator, bytes32 rootClaim, bytes extraData) payable;
        function resolve() returns (uint8);
        function status() view returns (uint8);
        function createdAt() view returns (uint64);
        function resolvedAt() view returns (uint64);
        function rootClaim() view returns (bytes32);
        function extraData() view returns (bytes);
        function gameType() view returns (uint32);
        function gameCreator() view returns (address);
        function l1Head() view returns (bytes32);
        function l2BlockNumber() view returns (uint256);
        function l2SequenceNumber() view returns (uint256);
        function maxClockDuration() view returns (uint64);
        function expectedResolution() view returns (uint64);
        function bond() view returns (uint256);
        function credit(address who) view returns (uint256);
        function claimCredit(address recipient);
    }

    interface IRegistry {
        function isGameProper(address game) view returns (bool);
        function isGameRespected(address game) view returns (bool);
        function isGameFinalized(address game) view returns (bool);
        function isGameResolved(address game) view returns (bool);
        function isGameClaimValid(address game) view returns (bool);
        function setRespectedGameType(uint32 gameType);
        function respectedGameType() view returns (uint32);
    }
}

/// What a transaction did.
#[derive(Debug, Clone)]
pub enum Outcome {
    Success { output: Bytes, logs: Vec<Log> },
    Revert(Bytes),
    Halt(String),
}

impl Outcome {
    /// The output and logs; panics with the decoded revert otherwise.
    #[track_caller]
    pub fn ok(self) -> (Bytes, Vec<Log>) {
        match self {
            Self::Success { output, logs, .. } => (output, logs),
            Self::Revert(data) => panic!("reverted: {}", revert_name(&data)),
            Self::Halt(reason) => panic!("halted: {reason}"),
        }
    }

    /// The decoded revert ("Name" of a custom error, the string of `Error(string)`); panics if
    /// the transaction did not revert.
    #[track_caller]
    pub fn reverted(&self) -> String {
        match self {
            Self::Revert(data) => revert_name(data),
            other => panic!("expected a revert, got {other:?}"),
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }
}

/// The revert's error name, from every artifact's ABI.
pub fn revert_name(data: &[u8]) -> String {
    if data.len() < 4 {
        return format!("<{} bytes of revert data>", data.len());
    }
    let selector: [u8; 4] = data[..4].try_into().unwrap();
    if selector == keccak256("Error(string)")[..4] {
        return String::abi_decode(&data[4..]).unwrap_or_else(|_| "<bad Error(string)>".into());
    }
    if selector == keccak256("Panic(uint256)")[..4] {
        return format!(
            "Panic({})",
            U256::abi_decode(&data[4..]).unwrap_or_default()
        );
    }
    error_names()
        .get(&selector)
        .cloned()
        .unwrap_or_else(|| format!("<unknown error 0x{}>", alloy::hex::encode(selector)))
}

fn error_names() -> &'static HashMap<[u8; 4], String> {
    static NAMES: OnceLock<HashMap<[u8; 4], String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = HashMap::new();
        let dirs = [ARTIFACTS, FRAUD_VM_ARTIFACTS];
        for entry in dirs
            .iter()
            .flat_map(|dir| std::fs::read_dir(dir).expect("artifacts exist"))
        {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let json: Value = serde_json::from_str(&text).unwrap();
            for item in json["abi"].as_array().unwrap() {
                if item["type"] == "error" {
                    let sig = signature(item);
                    let selector: [u8; 4] = keccak256(&sig)[..4].try_into().unwrap();
                    names.insert(selector, item["name"].as_str().unwrap().to_string());
                }
            }
        }
        names
    })
}

/// The canonical signature of an ABI item: `name(type,...)`, tuples expanded.
pub fn signature(item: &Value) -> String {
    format!(
        "{}({})",
        item["name"].as_str().unwrap_or(""),
        param_types(&item["inputs"])
    )
}

/// The canonical types of an ABI parameter list, comma separated.
pub fn param_types(params: &Value) -> String {
    params
        .as_array()
        .map(|ps| ps.iter().map(param_type).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

fn param_type(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap();
    match ty.strip_prefix("tuple") {
        Some(suffix) => format!("({}){suffix}", param_types(&param["components"])),
        None => ty.to_string(),
    }
}

const ARTIFACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts");
/// The dispute game and its verifier (fraud-vm/contracts, compiled into fraud-vm/artifacts).
const FRAUD_VM_ARTIFACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fraud-vm/artifacts");

/// A compiled artifact of bridge/artifacts, or else of fraud-vm/artifacts.
pub fn artifact(name: &str) -> Value {
    let mut path = format!("{ARTIFACTS}/{name}.json");
    if !std::path::Path::new(&path).exists() {
        path = format!("{FRAUD_VM_ARTIFACTS}/{name}.json");
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn code(artifact: &Value, field: &str) -> Bytes {
    alloy::hex::decode(artifact[field].as_str().unwrap())
        .unwrap()
        .into()
}

/// Runtime code that forwards its calldata and value to `target` and reverts if that call fails:
/// a contract caller, or, behind an EIP-7702 delegation, an EOA's code.
pub fn forwarder_code(target: Address) -> Bytes {
    let mut code = vec![0x36, 0x5f, 0x5f, 0x37]; // calldatacopy(0, 0, calldatasize)
    code.extend([0x5f, 0x5f, 0x36, 0x5f, 0x34, 0x73]); // 0 0 size 0 callvalue push20
    code.extend_from_slice(target.as_slice());
    code.extend([0x5a, 0xf1]); // gas call
    code.extend([0x60, 0x26, 0x57, 0x5f, 0x5f, 0xfd, 0x5b, 0x00]); // jumpi ok; revert(0,0); ok: stop
    code.into()
}

/// Runtime code that reverts while its slot 0 is zero and accepts anything once it is not.
pub fn toggled_code() -> Bytes {
    Bytes::from_static(&[
        0x60, 0x00, 0x54, 0x60, 0x0a, 0x57, 0x60, 0x00, 0x80, 0xfd, 0x5b, 0x00,
    ])
}

/// Runtime code that stores `gasleft()` at its entry in slot 0.
pub fn gas_recorder_code() -> Bytes {
    Bytes::from_static(&[0x5a, 0x60, 0x00, 0x55, 0x00])
}

pub struct L1 {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    /// Gas used by the last transaction sent (`send`, `send_with_gas`, `exec`).
    pub last_gas_used: u64,
}

impl L1 {
    /// An L1 at block 100, with DEPLOYER, PROPOSER, USER, OTHER and BATCHER holding 1,000,000
    /// ether each.
    pub fn new() -> Self {
        let mut db = CacheDB::<EmptyDB>::default();
        for who in [DEPLOYER, PROPOSER, USER, OTHER, BATCHER] {
            db.insert_account_info(who, AccountInfo::default().with_balance(ether(1_000_000)));
        }
        let block = BlockEnv {
            number: U256::from(100),
            timestamp: U256::from(START_TIME),
            gas_limit: 60_000_000,
            basefee: 0,
            prevrandao: Some(B256::repeat_byte(0x42)),
            ..Default::default()
        };
        let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
        cfg.chain_id = 900;
        let evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        Self {
            evm,
            last_gas_used: 0,
        }
    }

    fn db(&self) -> &CacheDB<EmptyDB> {
        &self.evm.ctx.journaled_state.database
    }

    fn db_mut(&mut self) -> &mut CacheDB<EmptyDB> {
        &mut self.evm.ctx.journaled_state.database
    }

    fn tx(&self, from: Address, to: TxKind, value: U256, data: Bytes, gas: u64) -> TxEnv {
        let nonce = self
            .db()
            .basic_ref(from)
            .unwrap()
            .map_or(0, |info| info.nonce);
        TxEnv::builder()
            .caller(from)
            .kind(to)
            .value(value)
            .data(data)
            .gas_limit(gas)
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(900))
            .build()
            .unwrap()
    }

    /// Sends and commits a transaction with `gas`.
    pub fn send_with_gas(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        data: impl Into<Bytes>,
        gas: u64,
    ) -> Outcome {
        let tx = self.tx(from, TxKind::Call(to), value, data.into(), gas);
        let result = self.evm.transact_commit(tx).expect("valid transaction");
        self.last_gas_used = result.tx_gas_used();
        outcome(result)
    }

    /// Sends and commits a transaction with 10,000,000 gas.
    pub fn send(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        data: impl Into<Bytes>,
    ) -> Outcome {
        self.send_with_gas(from, to, value, data, 10_000_000)
    }

    /// Sends a call, committing it; panics unless it succeeds. Returns its logs.
    #[track_caller]
    pub fn exec<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        call: C,
    ) -> Vec<Log> {
        self.send(from, to, value, call.abi_encode()).ok().1
    }

    /// Runs a call without committing it.
    pub fn try_view<C: SolCall>(&mut self, to: Address, call: C) -> Outcome {
        let tx = self.tx(
            OTHER,
            TxKind::Call(to),
            U256::ZERO,
            call.abi_encode().into(),
            30_000_000,
        );
        outcome(self.evm.transact(tx).expect("valid transaction").result)
    }

    /// Runs a view call and decodes what it returns; panics if it reverts.
    #[track_caller]
    pub fn view<C: SolCall>(&mut self, to: Address, call: C) -> C::Return {
        let (output, _) = self.try_view(to, call).ok();
        C::abi_decode_returns(&output).expect("decodable return data")
    }

    /// Deploys artifact `name` with ABI-encoded constructor `args` from `from`.
    #[track_caller]
    pub fn deploy(&mut self, from: Address, name: &str, args: &[u8]) -> Address {
        let mut init = code(&artifact(name), "bytecode").to_vec();
        init.extend_from_slice(args);
        let tx = self.tx(from, TxKind::Create, U256::ZERO, init.into(), 30_000_000);
        match self.evm.transact_commit(tx).expect("valid transaction") {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => address,
            other => panic!("deploying {name} failed: {other:?}"),
        }
    }

    /// Installs runtime code directly, as a genesis allocation does.
    pub fn set_code(&mut self, at: Address, runtime: Bytes) {
        let balance = self.balance(at);
        let info = AccountInfo::default()
            .with_balance(balance)
            .with_code(Bytecode::new_raw(runtime));
        self.db_mut().insert_account_info(at, info);
    }

    /// Installs an EIP-7702 delegation designator at `eoa`.
    pub fn delegate(&mut self, eoa: Address, to: Address) {
        let balance = self.balance(eoa);
        let info = AccountInfo::default()
            .with_balance(balance)
            .with_code(Bytecode::new_eip7702(to));
        self.db_mut().insert_account_info(eoa, info);
    }

    pub fn set_storage(&mut self, at: Address, slot: U256, value: U256) {
        self.db_mut()
            .insert_account_storage(at, slot, value)
            .unwrap();
    }

    pub fn storage(&self, at: Address, slot: U256) -> U256 {
        self.db().storage_ref(at, slot).unwrap()
    }

    pub fn balance(&self, who: Address) -> U256 {
        self.db()
            .basic_ref(who)
            .unwrap()
            .map_or(U256::ZERO, |info| info.balance)
    }

    pub fn now(&self) -> u64 {
        self.evm.ctx.block.timestamp.to()
    }

    /// The current block number (`block.number`).
    pub fn number(&self) -> u64 {
        self.evm.ctx.block.number.to()
    }

    /// Moves `blocks` blocks on, 12 seconds each.
    pub fn advance(&mut self, blocks: u64) {
        let block = &mut self.evm.ctx.block;
        block.timestamp += U256::from(12 * blocks);
        block.number += U256::from(blocks);
    }

    /// Sets what BLOCKHASH answers for block `number` (within its 256-block reach).
    pub fn set_block_hash(&mut self, number: u64, hash: B256) {
        self.db_mut()
            .cache
            .block_hashes
            .insert(U256::from(number), hash);
    }

    /// Moves to a later block, `seconds` later.
    pub fn warp(&mut self, seconds: u64) {
        let block = &mut self.evm.ctx.block;
        block.timestamp += U256::from(seconds);
        block.number += U256::from(1);
    }

    /// A copy of the state and the block, to run something and come back ([`Self::restore`]).
    pub fn snapshot(&self) -> (CacheDB<EmptyDB>, BlockEnv) {
        (self.db().clone(), self.evm.ctx.block.clone())
    }

    pub fn restore(&mut self, (db, block): (CacheDB<EmptyDB>, BlockEnv)) {
        *self.db_mut() = db;
        self.evm.ctx.block = block;
    }
}

fn outcome(result: ExecutionResult) -> Outcome {
    match result {
        ExecutionResult::Success { output, logs, .. } => Outcome::Success {
            output: output.into_data(),
            logs,
        },
        ExecutionResult::Revert { output, .. } => Outcome::Revert(output),
        ExecutionResult::Halt { reason, .. } => Outcome::Halt(format!("{reason:?}")),
    }
}

/// The L1 contracts, deployed as CONTRACTS.md orders it.
pub struct System {
    pub factory: Address,
    pub game_impl: Address,
    pub registry: Address,
    pub portal: Address,
}

impl System {
    pub fn deploy(l1: &mut L1) -> Self {
        let factory = l1.deploy(DEPLOYER, "DisputeGameFactory", &DEPLOYER.abi_encode());
        let game_impl = l1.deploy(
            DEPLOYER,
            "ProposalGame",
            &(GAME_TYPE, CHALLENGE_WINDOW).abi_encode_params(),
        );
        l1.exec(
            DEPLOYER,
            factory,
            U256::ZERO,
            IFactory::setImplementationCall {
                gameType: GAME_TYPE,
                implementation: game_impl,
            },
        );
        l1.exec(
            DEPLOYER,
            factory,
            U256::ZERO,
            IFactory::setInitBondCall {
                gameType: GAME_TYPE,
                initBond: bond(),
            },
        );
        let registry = l1.deploy(
            DEPLOYER,
            "AnchorStateRegistry",
            &(factory, U256::from(FINALITY_DELAY), GAME_TYPE, DEPLOYER).abi_encode_params(),
        );
        let portal = l1.deploy(
            DEPLOYER,
            "OptimismPortal",
            &(registry, U256::from(MATURITY_DELAY)).abi_encode_params(),
        );
        Self {
            factory,
            game_impl,
            registry,
            portal,
        }
    }

    /// Registers a second game type (not respected) with the same rules.
    pub fn add_other_game_type(&self, l1: &mut L1) -> Address {
        let impl_ = l1.deploy(
            DEPLOYER,
            "ProposalGame",
            &(OTHER_GAME_TYPE, CHALLENGE_WINDOW).abi_encode_params(),
        );
        l1.exec(
            DEPLOYER,
            self.factory,
            U256::ZERO,
            IFactory::setImplementationCall {
                gameType: OTHER_GAME_TYPE,
                implementation: impl_,
            },
        );
        impl_
    }

    /// The proposer claims `root` for L2 block `l2_block` with the bond; returns the game.
    #[track_caller]
    pub fn propose(&self, l1: &mut L1, game_type: u32, root: B256, l2_block: u64) -> Address {
        let call = IFactory::createCall {
            gameType: game_type,
            rootClaim: root,
            extraData: U256::from(l2_block).abi_encode().into(),
        };
        let bond = l1.view(self.factory, IFactory::initBondsCall::new((game_type,)));
        let (output, _) = l1
            .send(PROPOSER, self.factory, bond, call.abi_encode())
            .ok();
        IFactory::createCall::abi_decode_returns(&output).unwrap()
    }

    /// Lets the window pass and resolves `game`.
    pub fn resolve_after_window(&self, l1: &mut L1, game: Address) {
        l1.warp(CHALLENGE_WINDOW);
        l1.exec(OTHER, game, U256::ZERO, IGame::resolveCall {});
    }

    pub fn fund_portal(&self, l1: &mut L1, amount: U256) {
        l1.exec(
            USER,
            self.portal,
            amount,
            IPortal::depositTransactionCall {
                to: USER,
                value: amount,
                gasLimit: 100_000,
                isCreation: false,
                data: Bytes::new(),
            },
        );
    }

    #[track_caller]
    pub fn prove(&self, l1: &mut L1, from: Address, passed: &Passed, game_index: u64) -> Outcome {
        let call = IPortal::proveWithdrawalTransactionCall {
            wtx: passed.tx(),
            disputeGameIndex: U256::from(game_index),
            outputRootProof: passed.output_root_proof(),
            withdrawalProof: passed.storage_proof.clone(),
        };
        l1.send(from, self.portal, U256::ZERO, call.abi_encode())
    }

    pub fn finalize(&self, l1: &mut L1, from: Address, passed: &Passed) -> Outcome {
        let call = IPortal::finalizeWithdrawalTransactionCall { wtx: passed.tx() };
        l1.send(from, self.portal, U256::ZERO, call.abi_encode())
    }

    pub fn check(&self, l1: &mut L1, hash: B256, submitter: Address) -> Outcome {
        l1.try_view(
            self.portal,
            IPortal::checkWithdrawalCall {
                withdrawalHash: hash,
                proofSubmitter: submitter,
            },
        )
    }
}

/// A withdrawal passed on L2, with the L2 state that proves it.
#[derive(Clone)]
pub struct Passed {
    pub withdrawal: Withdrawal,
    pub output: OutputV0,
    pub storage_proof: Vec<Bytes>,
    pub l2_block: u64,
}

impl Passed {
    /// `withdrawal` recorded in a message passer whose storage also holds `noise` other slots.
    pub fn new(withdrawal: Withdrawal, noise: u64, l2_block: u64) -> Self {
        let mut trie = StorageTrie::new();
        for i in 0..noise {
            trie.insert(keccak256(i.to_be_bytes()), U256::from(i + 1));
        }
        trie.insert_withdrawal(withdrawal.hash());
        let (root, storage_proof) = trie.proof(withdrawal.storage_slot());
        let output = OutputV0 {
            state_root: keccak256(b"state root"),
            message_passer_storage_root: root,
            block_hash: keccak256(l2_block.to_be_bytes()),
        };
        Self {
            withdrawal,
            output,
            storage_proof,
            l2_block,
        }
    }

    pub fn hash(&self) -> B256 {
        self.withdrawal.hash()
    }

    pub fn tx(&self) -> WithdrawalTransaction {
        let w = &self.withdrawal;
        WithdrawalTransaction {
            nonce: w.nonce,
            sender: w.sender,
            target: w.target,
            value: w.value,
            gasLimit: w.gas_limit,
            data: w.data.clone(),
        }
    }

    pub fn output_root_proof(&self) -> OutputRootProof {
        OutputRootProof {
            version: B256::ZERO,
            stateRoot: self.output.state_root,
            messagePasserStorageRoot: self.output.message_passer_storage_root,
            latestBlockhash: self.output.block_hash,
        }
    }
}

/// A withdrawal of `value` wei to `target` with `gas_limit`.
pub fn withdrawal(nonce: u64, target: Address, value: U256, gas_limit: u64) -> Withdrawal {
    Withdrawal {
        nonce: U256::from(nonce) | (U256::from(1) << 240),
        sender: USER,
        target,
        value,
        gas_limit: U256::from(gas_limit),
        data: Bytes::new(),
    }
}
