//! The L2 predeploys of `bridge/contracts/L2` in the real EVM: op-revm under Isthmus rules, as the
//! node runs blocks. Each contract is deployed as the L2 genesis places it: the committed
//! artifact's runtime code at its predeploy address, no constructor, empty storage.
//!
//! - L2ToL1MessagePasser: the `MessagePassed` event carries the hash `bridge::withdrawal` computes,
//!   `sentMessages[hash]` sits at the slot withdrawal proofs prove, the nonce carries version 1,
//!   and `burn()` takes the held ETH out of the supply.
//! - L1Block: the L1-info deposit writes every slot op-revm reads for the L1 data fee and the
//!   operator fee (checked raw and through op-revm's own `L1BlockInfo::try_fetch`); no one but
//!   the depositor may write.
//! - GasPriceOracle: `getL1Fee` is op-revm's Fjord L1 cost of the FastLZ size plus the 68-byte
//!   signature allowance, exactly, for random transaction bytes and fee parameters.

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, address, b256, hex};
use alloy::sol;
use alloy::sol_types::{SolCall, SolError, SolEvent};
use bridge::withdrawal::Withdrawal;
use op_revm::constants::{
    BASE_FEE_SCALAR_OFFSET, BLOB_BASE_FEE_SCALAR_OFFSET, DA_FOOTPRINT_GAS_SCALAR_OFFSET,
    DA_FOOTPRINT_GAS_SCALAR_SLOT, ECOTONE_L1_BLOB_BASE_FEE_SLOT, ECOTONE_L1_FEE_SCALARS_SLOT,
    L1_BASE_FEE_SLOT, L1_BLOCK_CONTRACT, OPERATOR_FEE_CONSTANT_OFFSET, OPERATOR_FEE_SCALAR_OFFSET,
    OPERATOR_FEE_SCALARS_SLOT,
};
use op_revm::transaction::deposit::DepositTransactionParts;
use op_revm::{
    DefaultOp, L1BlockInfo, OpBuilder, OpHaltReason, OpSpecId, OpTransaction,
    estimate_tx_compressed_size,
};
use proptest::prelude::*;
use revm::context::result::ExecutionResult;
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, Database, ExecuteCommitEvm, ExecuteEvm};

const MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");
const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
const GAS_PRICE_ORACLE: Address = address!("0x420000000000000000000000000000000000000F");
const DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
/// Where the test puts the reference FastLZ contract (not a predeploy).
const FASTLZ_REFERENCE: Address = address!("0x00000000000000000000000000000000000f1a20");
const USER: Address = address!("0x1000000000000000000000000000000000000001");
const BLOCK_NUMBER: u64 = 7;

const PASSER_ARTIFACT: &str = include_str!("../artifacts/L2ToL1MessagePasser.json");
const L1_BLOCK_ARTIFACT: &str = include_str!("../artifacts/L1Block.json");
const ORACLE_ARTIFACT: &str = include_str!("../artifacts/GasPriceOracle.json");

/// Runtime code of a contract exposing `fastLz(bytes) returns (uint256)`: the length of solady's
/// `LibZip.flzCompress` output, compiled. op-revm's own test `test_flz_native_evm_parity` runs
/// this same code as the reference its `flz_compress_len` must equal. Here it is the reference
/// for FastLZ sizes op-revm's public API cannot reveal (its estimate is clamped at 100 bytes).
const FASTLZ_REFERENCE_CODE: &str = "\
    608060405234801561001057600080fd5b506004361061002b5760003560e01c8063920a769114610030575b600080fd\
    5b61004361003e366004610374565b610055565b60405190815260200160405180910390f35b60006100608261006756\
    5b5192915050565b60606101e0565b818153600101919050565b600082840393505b838110156100a257828101518282\
    01511860001a1590930292600101610081565b9392505050565b825b602082106100d75782516100c0601f8361006e56\
    5b5260209290920191601f19909101906021016100ab565b81156100a25782516100ec600184038361006e565b520160\
    010192915050565b60006001830392505b61010782106101385761012a8360ff1661012560fd6101258760081c60e001\
    8961006e565b61006e565b935061010682039150610100565b600782106101655761015e8360ff166101256007850361\
    01258760081c60e0018961006e565b90506100a2565b61017e8360ff166101258560081c8560051b018761006e565b94\
    9350505050565b80516101d890838303906101bc90600081901a600182901a60081b1760029190911a60101b17639e37\
    79b90260131c611fff1690565b8060021b6040510182815160e01c1860e01b8151188152505050565b60010191905056\
    5b5060405161800038823961800081016020830180600d8551820103826002015b81811015610313576000805b505080\
    51604051600082901a600183901a60081b1760029290921a60101b91909117639e3779b9810260111c617ffc16909101\
    805160e081811c878603811890911b9091189091528401908183039084841061026857506102a3565b60018401935061\
    1fff821161029d578251600081901a600182901a60081b1760029190911a60101b17810361029d57506102a3565b5061\
    020c565b8383106102b1575050610313565b600183039250858311156102cf576102cc87878886036100a9565b96505b\
    6102e3600985016003850160038501610079565b91506102f08782846100f7565b965050610308846103038684860161\
    0186565b610186565b915050809350610200565b5050617fe061032884848589518601036100a9565b03925050506020\
    820180820383525b81811161034e57617fe08101518152602001610337565b5060008152602001604052919050565b63\
    4e487b7160e01b600052604160045260246000fd5b60006020828403121561038657600080fd5b813567ffffffffffff\
    ffff8082111561039e57600080fd5b818401915084601f8301126103b257600080fd5b8135818111156103c4576103c4\
    61035e565b604051601f8201601f19908116603f011681019083821181831017156103ec576103ec61035e565b816040\
    5282815287602084870101111561040557600080fd5b8260208601602083013760009281016020019290925250959450\
    5050505056fea264697066735822122000646b2953fc4a6f501bd0456ac52203089443937719e16b3190b7979c395112\
    64736f6c63430008190033";

// The published interfaces (as viem's op-stack ABIs and the OP Stack declare them); the tests
// call the contracts through these and check the artifacts' ABIs contain them.
sol! {
    interface IL2ToL1MessagePasser {
        event MessagePassed(
            uint256 indexed nonce,
            address indexed sender,
            address indexed target,
            uint256 value,
            uint256 gasLimit,
            bytes data,
            bytes32 withdrawalHash
        );
        event WithdrawerBalanceBurnt(uint256 indexed amount);
        function MESSAGE_VERSION() external view returns (uint16);
        function burn() external;
        function initiateWithdrawal(address _target, uint256 _gasLimit, bytes _data) external payable;
        function messageNonce() external view returns (uint256);
        function sentMessages(bytes32) external view returns (bool);
        function version() external view returns (string);
    }

    interface IL1Block {
        error NotDepositor();
        function DEPOSITOR_ACCOUNT() external view returns (address);
        function number() external view returns (uint64);
        function timestamp() external view returns (uint64);
        function basefee() external view returns (uint256);
        function hash() external view returns (bytes32);
        function sequenceNumber() external view returns (uint64);
        function blobBaseFeeScalar() external view returns (uint32);
        function baseFeeScalar() external view returns (uint32);
        function batcherHash() external view returns (bytes32);
        function l1FeeOverhead() external view returns (uint256);
        function l1FeeScalar() external view returns (uint256);
        function blobBaseFee() external view returns (uint256);
        function operatorFeeScalar() external view returns (uint32);
        function operatorFeeConstant() external view returns (uint64);
        function daFootprintGasScalar() external view returns (uint16);
        function setL1BlockValuesEcotone() external;
        function setL1BlockValuesIsthmus() external;
        function setL1BlockValuesJovian() external;
        function version() external view returns (string);
    }

    interface IGasPriceOracle {
        function DECIMALS() external view returns (uint256);
        function decimals() external view returns (uint256);
        function gasPrice() external view returns (uint256);
        function baseFee() external view returns (uint256);
        function overhead() external view returns (uint256);
        function scalar() external view returns (uint256);
        function l1BaseFee() external view returns (uint256);
        function blobBaseFee() external view returns (uint256);
        function baseFeeScalar() external view returns (uint32);
        function blobBaseFeeScalar() external view returns (uint32);
        function isEcotone() external view returns (bool);
        function isFjord() external view returns (bool);
        function isIsthmus() external view returns (bool);
        function isJovian() external view returns (bool);
        function getL1Fee(bytes _data) external view returns (uint256);
        function getL1GasUsed(bytes _data) external view returns (uint256);
        function getL1FeeUpperBound(uint256 _unsignedTxSize) external view returns (uint256);
        function getOperatorFee(uint256 _gasUsed) external view returns (uint256);
        function version() external view returns (string);
    }

    interface IFastLzReference {
        function fastLz(bytes input) external view returns (uint256);
    }
}

fn artifact_json(artifact: &str) -> serde_json::Value {
    serde_json::from_str(artifact).expect("artifact is JSON")
}

fn runtime_code(artifact: &str) -> Bytecode {
    let json = artifact_json(artifact);
    let code = json["deployedBytecode"]
        .as_str()
        .expect("artifact has deployedBytecode");
    Bytecode::new_raw(hex::decode(code).expect("deployedBytecode is hex").into())
}

/// `name(type,...)` of every function, event and error in an artifact's ABI.
fn abi_signatures(artifact: &str) -> Vec<String> {
    let json = artifact_json(artifact);
    let entries = json["abi"].as_array().expect("artifact has an abi");
    entries
        .iter()
        .filter_map(|entry| {
            let name = entry["name"].as_str()?;
            let types: Vec<&str> = entry["inputs"]
                .as_array()?
                .iter()
                .map(|input| input["type"].as_str().expect("input type"))
                .collect();
            Some(format!("{name}({})", types.join(",")))
        })
        .collect()
}

/// Part of an L1-info deposit's calldata, per the OP Stack spec's tables (Ecotone, Isthmus,
/// Jovian l1-attributes): the selector, then the fields packed big-endian.
#[derive(Debug, Clone, Default)]
struct L1Attributes {
    base_fee_scalar: u32,
    blob_base_fee_scalar: u32,
    sequence_number: u64,
    timestamp: u64,
    number: u64,
    base_fee: U256,
    blob_base_fee: U256,
    hash: B256,
    batcher_hash: B256,
    operator_fee_scalar: u32,
    operator_fee_constant: u64,
}

impl L1Attributes {
    fn ecotone_fields(&self, selector: [u8; 4]) -> Vec<u8> {
        let mut out = selector.to_vec();
        out.extend_from_slice(&self.base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.blob_base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(self.batcher_hash.as_slice());
        out
    }

    /// 164 bytes, selector 0x440a5e20.
    fn ecotone_calldata(&self) -> Bytes {
        let out = self.ecotone_fields(IL1Block::setL1BlockValuesEcotoneCall::SELECTOR);
        assert_eq!(out.len(), 164);
        out.into()
    }

    /// 176 bytes, selector 0x098999be.
    fn isthmus_calldata(&self) -> Bytes {
        let mut out = self.ecotone_fields(IL1Block::setL1BlockValuesIsthmusCall::SELECTOR);
        out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        assert_eq!(out.len(), 176);
        out.into()
    }

    /// 178 bytes, selector 0x3db6be2b.
    fn jovian_calldata(&self, da_footprint_gas_scalar: u16) -> Bytes {
        let mut out = self.ecotone_fields(IL1Block::setL1BlockValuesJovianCall::SELECTOR);
        out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        out.extend_from_slice(&da_footprint_gas_scalar.to_be_bytes());
        assert_eq!(out.len(), 178);
        out.into()
    }

    /// The same values in the node's encoder (`bridge::l1_info`).
    fn to_bridge(&self) -> bridge::l1_info::L1BlockInfo {
        bridge::l1_info::L1BlockInfo {
            base_fee_scalar: self.base_fee_scalar,
            blob_base_fee_scalar: self.blob_base_fee_scalar,
            sequence_number: self.sequence_number,
            timestamp: self.timestamp,
            number: self.number,
            base_fee: self.base_fee,
            blob_base_fee: self.blob_base_fee,
            hash: self.hash,
            batcher_hash: self.batcher_hash,
            operator_fee_scalar: self.operator_fee_scalar,
            operator_fee_constant: self.operator_fee_constant,
        }
    }
}

/// A genesis state holding the predeploys, and the EVM that runs transactions on it.
struct L2 {
    db: CacheDB<EmptyDB>,
    basefee: u64,
}

impl L2 {
    fn genesis() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        for (address, artifact) in [
            (MESSAGE_PASSER, PASSER_ARTIFACT),
            (L1_BLOCK, L1_BLOCK_ARTIFACT),
            (GAS_PRICE_ORACLE, ORACLE_ARTIFACT),
        ] {
            db.insert_account_info(
                address,
                AccountInfo::default().with_code(runtime_code(artifact)),
            );
        }
        let reference = hex::decode(FASTLZ_REFERENCE_CODE).expect("hex");
        db.insert_account_info(
            FASTLZ_REFERENCE,
            AccountInfo::default().with_code(Bytecode::new_raw(reference.into())),
        );
        db.insert_account_info(
            USER,
            AccountInfo::default().with_balance(U256::from(10u128.pow(30))),
        );
        Self { db, basefee: 0 }
    }

    fn run(&mut self, tx: OpTransaction<TxEnv>, commit: bool) -> ExecutionResult<OpHaltReason> {
        let mut cfg = CfgEnv::new_with_spec(OpSpecId::ISTHMUS);
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        let block = BlockEnv {
            number: U256::from(BLOCK_NUMBER),
            timestamp: U256::from(1_700_000_000u64),
            gas_limit: 1_000_000_000,
            basefee: self.basefee,
            prevrandao: Some(B256::ZERO),
            ..Default::default()
        };
        let mut evm = Context::op()
            .with_db(&mut self.db)
            .with_cfg(cfg)
            .with_block(block)
            .build_op();
        let result = if commit {
            evm.transact_commit(tx)
        } else {
            evm.transact_one(tx)
        };
        result.expect("transaction is valid")
    }

    /// A user transaction. Its enveloped bytes are left empty, so op-revm charges it no L1 or
    /// operator fee, and with a zero gas price it pays nothing: balances move only by `value`.
    fn user_tx(from: Address, to: Address, value: U256, data: Bytes) -> OpTransaction<TxEnv> {
        let base = TxEnv::builder()
            .caller(from)
            .kind(TxKind::Call(to))
            .value(value)
            .data(data)
            .gas_limit(30_000_000)
            .gas_price(0)
            .build_fill();
        OpTransaction {
            base,
            enveloped_tx: Some(Bytes::new()),
            deposit: Default::default(),
        }
    }

    fn call(&mut self, to: Address, value: U256, data: Bytes) -> ExecutionResult<OpHaltReason> {
        self.run(Self::user_tx(USER, to, value, data), true)
    }

    fn view<C: SolCall>(&mut self, to: Address, call: C) -> C::Return {
        let output = self
            .view_raw(to, call.abi_encode().into())
            .unwrap_or_else(|revert| {
                panic!("{} reverted: {revert}", C::SIGNATURE);
            });
        C::abi_decode_returns(&output).expect("return data decodes")
    }

    /// Output of a read-only call, or its revert data.
    fn view_raw(&mut self, to: Address, data: Bytes) -> Result<Bytes, Bytes> {
        match self.run(Self::user_tx(USER, to, U256::ZERO, data), false) {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(output),
            halt => panic!("call halted: {halt:?}"),
        }
    }

    /// A deposit transaction (type 0x7E), as the L1-info deposit is sent.
    fn deposit(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> ExecutionResult<OpHaltReason> {
        let base = TxEnv::builder()
            .tx_type(Some(0x7E))
            .caller(from)
            .kind(TxKind::Call(to))
            .data(data)
            .gas_limit(1_000_000)
            .gas_price(0)
            .build_fill();
        let deposit = DepositTransactionParts {
            source_hash: B256::repeat_byte(0x11),
            mint: None,
            is_system_transaction: false,
        };
        let tx = OpTransaction {
            base,
            enveloped_tx: Some(Bytes::from_static(&[0x7E])),
            deposit,
        };
        self.run(tx, true)
    }

    fn set_l1_attributes(&mut self, calldata: Bytes) {
        let result = self.deposit(DEPOSITOR, L1_BLOCK, calldata);
        assert!(result.is_success(), "L1-info deposit failed: {result:?}");
    }

    fn storage(&mut self, address: Address, slot: U256) -> U256 {
        self.db.storage(address, slot).expect("in-memory database")
    }

    fn balance(&self, address: Address) -> U256 {
        self.db
            .cache
            .accounts
            .get(&address)
            .map(|a| a.info.balance)
            .unwrap_or_default()
    }

    /// Sum of every balance: nothing outside this database holds ether.
    fn supply(&self) -> U256 {
        self.db
            .cache
            .accounts
            .values()
            .map(|a| a.info.balance)
            .sum()
    }

    /// What op-revm reads from L1Block for the fees of a transaction in the next block.
    fn op_revm_l1_info(&mut self, spec: OpSpecId) -> L1BlockInfo {
        L1BlockInfo::try_fetch(&mut self.db, U256::from(BLOCK_NUMBER), spec).expect("in-memory")
    }

    /// FastLZ size by the reference implementation.
    fn reference_flz(&mut self, data: &[u8]) -> u64 {
        let call = IFastLzReference::fastLzCall {
            input: Bytes::copy_from_slice(data),
        };
        self.view(FASTLZ_REFERENCE, call).to::<u64>()
    }
}

fn logs(result: &ExecutionResult<OpHaltReason>) -> &[Log] {
    assert!(result.is_success(), "transaction failed: {result:?}");
    result.logs()
}

// ------------------------------------------------------------------------------------------------
// L2ToL1MessagePasser

const VERSION_1: U256 = U256::from_limbs([0, 0, 0, 1 << 48]);

#[test]
fn message_passer_abi_is_the_published_one() {
    let sigs = abi_signatures(PASSER_ARTIFACT);
    for sig in [
        IL2ToL1MessagePasser::MessagePassed::SIGNATURE,
        IL2ToL1MessagePasser::WithdrawerBalanceBurnt::SIGNATURE,
        IL2ToL1MessagePasser::MESSAGE_VERSIONCall::SIGNATURE,
        IL2ToL1MessagePasser::burnCall::SIGNATURE,
        IL2ToL1MessagePasser::initiateWithdrawalCall::SIGNATURE,
        IL2ToL1MessagePasser::messageNonceCall::SIGNATURE,
        IL2ToL1MessagePasser::sentMessagesCall::SIGNATURE,
        IL2ToL1MessagePasser::versionCall::SIGNATURE,
    ] {
        assert!(
            sigs.iter().any(|s| s == sig),
            "{sig} missing from the artifact ABI"
        );
    }
    let json = artifact_json(PASSER_ARTIFACT);
    let abi = json["abi"].as_array().unwrap();
    assert!(
        abi.iter().any(|e| e["type"] == "receive"),
        "receive() missing"
    );
    let mut l2 = L2::genesis();
    assert_eq!(
        l2.view(MESSAGE_PASSER, IL2ToL1MessagePasser::MESSAGE_VERSIONCall {}),
        1
    );
    assert_eq!(VERSION_1, U256::from(1) << 240);
}

/// Checks one `initiateWithdrawal` (or receive) transaction and returns the withdrawal.
fn check_withdrawal(
    l2: &mut L2,
    result: &ExecutionResult<OpHaltReason>,
    expected: Withdrawal,
) -> Withdrawal {
    let logs = logs(result);
    assert_eq!(logs.len(), 1, "one MessagePassed log");
    assert_eq!(logs[0].address, MESSAGE_PASSER);
    let event = IL2ToL1MessagePasser::MessagePassed::decode_log(&logs[0])
        .expect("MessagePassed")
        .data;
    let got = Withdrawal {
        nonce: event.nonce,
        sender: event.sender,
        target: event.target,
        value: event.value,
        gas_limit: event.gasLimit,
        data: event.data.clone(),
    };
    assert_eq!(got, expected);
    assert_eq!(
        event.withdrawalHash,
        expected.hash(),
        "withdrawalHash is bridge's Withdrawal::hash"
    );
    // The slot the L1 portal's storage proof proves.
    let slot = U256::from_be_bytes(expected.storage_slot().0);
    assert_eq!(l2.storage(MESSAGE_PASSER, slot), U256::from(1));
    let call = IL2ToL1MessagePasser::sentMessagesCall(expected.hash());
    assert!(l2.view(MESSAGE_PASSER, call));
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn initiate_withdrawal_records_the_withdrawal(
        withdrawals in prop::collection::vec(
            (any::<[u8; 20]>(), any::<u64>(), any::<[u8; 32]>(), prop::collection::vec(any::<u8>(), 0..300)),
            1..5,
        ),
        received in any::<u64>(),
    ) {
        let mut l2 = L2::genesis();
        let mut held = U256::ZERO;
        for (i, (target, value, gas_limit, data)) in withdrawals.into_iter().enumerate() {
            let nonce = l2.view(MESSAGE_PASSER, IL2ToL1MessagePasser::messageNonceCall {});
            prop_assert_eq!(nonce, VERSION_1 | U256::from(i));
            let expected = Withdrawal {
                nonce,
                sender: USER,
                target: Address::from(target),
                value: U256::from(value),
                gas_limit: U256::from_be_bytes(gas_limit),
                data: data.into(),
            };
            let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                _target: expected.target,
                _gasLimit: expected.gas_limit,
                _data: expected.data.clone(),
            };
            let result = l2.call(MESSAGE_PASSER, expected.value, call.abi_encode().into());
            check_withdrawal(&mut l2, &result, expected);
            held += U256::from(value);
            // The counter is slot 1; the version is not stored.
            prop_assert_eq!(l2.storage(MESSAGE_PASSER, U256::from(1)), U256::from(i + 1));
            prop_assert_eq!(l2.balance(MESSAGE_PASSER), held);
        }

        // A plain transfer withdraws to the sender, with the default gas limit and no data.
        let nonce = l2.view(MESSAGE_PASSER, IL2ToL1MessagePasser::messageNonceCall {});
        let result = l2.call(MESSAGE_PASSER, U256::from(received), Bytes::new());
        let expected = Withdrawal {
            nonce,
            sender: USER,
            target: USER,
            value: U256::from(received),
            gas_limit: U256::from(100_000),
            data: Bytes::new(),
        };
        check_withdrawal(&mut l2, &result, expected);
        held += U256::from(received);
        prop_assert_eq!(l2.balance(MESSAGE_PASSER), held);

        // An unknown hash is not a sent message.
        let unknown = IL2ToL1MessagePasser::sentMessagesCall(B256::repeat_byte(0xab));
        prop_assert!(!l2.view(MESSAGE_PASSER, unknown));
    }
}

#[test]
fn burn_removes_the_held_ether_from_the_supply() {
    let mut l2 = L2::genesis();
    let amount = U256::from(123_456_789_000_000_000u64);
    let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
        _target: USER,
        _gasLimit: U256::from(50_000),
        _data: Bytes::new(),
    };
    assert!(
        l2.call(MESSAGE_PASSER, amount, call.abi_encode().into())
            .is_success()
    );
    assert!(
        l2.call(MESSAGE_PASSER, U256::from(1), Bytes::new())
            .is_success()
    );
    let held = amount + U256::from(1);
    assert_eq!(l2.balance(MESSAGE_PASSER), held);

    let supply = l2.supply();
    let result = l2.call(
        MESSAGE_PASSER,
        U256::ZERO,
        IL2ToL1MessagePasser::burnCall {}.abi_encode().into(),
    );
    let burnt = logs(&result);
    assert_eq!(burnt.len(), 1);
    let event = IL2ToL1MessagePasser::WithdrawerBalanceBurnt::decode_log(&burnt[0])
        .expect("event")
        .data;
    assert_eq!(event.amount, held);
    assert_eq!(l2.balance(MESSAGE_PASSER), U256::ZERO);
    // Gone from every account, not moved to one.
    assert_eq!(l2.supply(), supply - held);
    // The withdrawals stay recorded.
    assert_eq!(l2.storage(MESSAGE_PASSER, U256::from(1)), U256::from(2));

    // Burning nothing is harmless; burning twice finds nothing more.
    let supply = l2.supply();
    let result = l2.call(
        MESSAGE_PASSER,
        U256::ZERO,
        IL2ToL1MessagePasser::burnCall {}.abi_encode().into(),
    );
    let event = IL2ToL1MessagePasser::WithdrawerBalanceBurnt::decode_log(&logs(&result)[0])
        .unwrap()
        .data;
    assert_eq!(event.amount, U256::ZERO);
    assert_eq!(l2.supply(), supply);
}

// ------------------------------------------------------------------------------------------------
// L1Block

fn word_with(fields: &[(usize, &[u8])]) -> U256 {
    let mut word = [0u8; 32];
    for (offset, bytes) in fields {
        word[*offset..*offset + bytes.len()].copy_from_slice(bytes);
    }
    U256::from_be_bytes(word)
}

/// Checks every slot op-revm reads (and the others the setter writes) and the getters.
fn check_l1_block(l2: &mut L2, a: &L1Attributes, da_footprint_gas_scalar: u16) {
    // The raw slots, placed by op-revm's own offsets.
    let scalars = word_with(&[
        (BASE_FEE_SCALAR_OFFSET, &a.base_fee_scalar.to_be_bytes()),
        (
            BLOB_BASE_FEE_SCALAR_OFFSET,
            &a.blob_base_fee_scalar.to_be_bytes(),
        ),
        (24, &a.sequence_number.to_be_bytes()),
    ]);
    let operator = word_with(&[
        (
            DA_FOOTPRINT_GAS_SCALAR_OFFSET,
            &da_footprint_gas_scalar.to_be_bytes(),
        ),
        (
            OPERATOR_FEE_SCALAR_OFFSET,
            &a.operator_fee_scalar.to_be_bytes(),
        ),
        (
            OPERATOR_FEE_CONSTANT_OFFSET,
            &a.operator_fee_constant.to_be_bytes(),
        ),
    ]);
    assert_eq!(OPERATOR_FEE_SCALARS_SLOT, DA_FOOTPRINT_GAS_SCALAR_SLOT);
    assert_eq!(L1_BLOCK_CONTRACT, L1_BLOCK);
    let number_and_time = word_with(&[
        (16, &a.timestamp.to_be_bytes()),
        (24, &a.number.to_be_bytes()),
    ]);
    for (slot, expected) in [
        (U256::from(0), number_and_time),
        (L1_BASE_FEE_SLOT, a.base_fee),
        (U256::from(2), U256::from_be_bytes(a.hash.0)),
        (ECOTONE_L1_FEE_SCALARS_SLOT, scalars),
        (U256::from(4), U256::from_be_bytes(a.batcher_hash.0)),
        (U256::from(5), U256::ZERO),
        (U256::from(6), U256::ZERO),
        (ECOTONE_L1_BLOB_BASE_FEE_SLOT, a.blob_base_fee),
        (OPERATOR_FEE_SCALARS_SLOT, operator),
    ] {
        assert_eq!(l2.storage(L1_BLOCK, slot), expected, "L1Block slot {slot}");
    }

    // What op-revm makes of them.
    let info = l2.op_revm_l1_info(OpSpecId::ISTHMUS);
    assert_eq!(info.l1_base_fee, a.base_fee);
    assert_eq!(info.l1_base_fee_scalar, U256::from(a.base_fee_scalar));
    assert_eq!(info.l1_blob_base_fee, Some(a.blob_base_fee));
    assert_eq!(
        info.l1_blob_base_fee_scalar,
        Some(U256::from(a.blob_base_fee_scalar))
    );
    assert_eq!(
        info.operator_fee_scalar,
        Some(U256::from(a.operator_fee_scalar))
    );
    assert_eq!(
        info.operator_fee_constant,
        Some(U256::from(a.operator_fee_constant))
    );
    let empty_scalars = a.base_fee_scalar == 0 && a.blob_base_fee_scalar == 0;
    assert_eq!(info.empty_ecotone_scalars, empty_scalars);
    let jovian = l2.op_revm_l1_info(OpSpecId::JOVIAN);
    assert_eq!(
        jovian.da_footprint_gas_scalar,
        Some(da_footprint_gas_scalar)
    );

    // The getters.
    assert_eq!(l2.view(L1_BLOCK, IL1Block::numberCall {}), a.number);
    assert_eq!(l2.view(L1_BLOCK, IL1Block::timestampCall {}), a.timestamp);
    assert_eq!(l2.view(L1_BLOCK, IL1Block::basefeeCall {}), a.base_fee);
    assert_eq!(l2.view(L1_BLOCK, IL1Block::hashCall {}), a.hash);
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::sequenceNumberCall {}),
        a.sequence_number
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::blobBaseFeeScalarCall {}),
        a.blob_base_fee_scalar
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::baseFeeScalarCall {}),
        a.base_fee_scalar
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::batcherHashCall {}),
        a.batcher_hash
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::l1FeeOverheadCall {}),
        U256::ZERO
    );
    assert_eq!(l2.view(L1_BLOCK, IL1Block::l1FeeScalarCall {}), U256::ZERO);
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::blobBaseFeeCall {}),
        a.blob_base_fee
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::operatorFeeScalarCall {}),
        a.operator_fee_scalar
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::operatorFeeConstantCall {}),
        a.operator_fee_constant
    );
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::daFootprintGasScalarCall {}),
        da_footprint_gas_scalar
    );
}

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        10 => (0u64..=1_000_000_000_000).prop_map(U256::from),
        1 => any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn any_l1_attributes() -> impl Strategy<Value = L1Attributes> {
    (
        (
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        ),
        (any_u256(), any_u256(), any::<[u8; 32]>(), any::<[u8; 32]>()),
        (any::<u32>(), any::<u64>()),
    )
        .prop_map(
            |((bfs, bbfs, seq, ts, n), (bf, bbf, hash, batcher), (ofs, ofc))| L1Attributes {
                base_fee_scalar: bfs,
                blob_base_fee_scalar: bbfs,
                sequence_number: seq,
                timestamp: ts,
                number: n,
                base_fee: bf,
                blob_base_fee: bbf,
                hash: hash.into(),
                batcher_hash: batcher.into(),
                operator_fee_scalar: ofs,
                operator_fee_constant: ofc,
            },
        )
}

#[test]
fn l1_block_abi_is_the_published_one() {
    let sigs = abi_signatures(L1_BLOCK_ARTIFACT);
    for sig in [
        IL1Block::NotDepositor::SIGNATURE,
        IL1Block::DEPOSITOR_ACCOUNTCall::SIGNATURE,
        IL1Block::numberCall::SIGNATURE,
        IL1Block::timestampCall::SIGNATURE,
        IL1Block::basefeeCall::SIGNATURE,
        IL1Block::hashCall::SIGNATURE,
        IL1Block::sequenceNumberCall::SIGNATURE,
        IL1Block::blobBaseFeeScalarCall::SIGNATURE,
        IL1Block::baseFeeScalarCall::SIGNATURE,
        IL1Block::batcherHashCall::SIGNATURE,
        IL1Block::l1FeeOverheadCall::SIGNATURE,
        IL1Block::l1FeeScalarCall::SIGNATURE,
        IL1Block::blobBaseFeeCall::SIGNATURE,
        IL1Block::operatorFeeScalarCall::SIGNATURE,
        IL1Block::operatorFeeConstantCall::SIGNATURE,
        IL1Block::daFootprintGasScalarCall::SIGNATURE,
        IL1Block::setL1BlockValuesEcotoneCall::SIGNATURE,
        IL1Block::setL1BlockValuesIsthmusCall::SIGNATURE,
        IL1Block::setL1BlockValuesJovianCall::SIGNATURE,
        IL1Block::versionCall::SIGNATURE,
    ] {
        assert!(
            sigs.iter().any(|s| s == sig),
            "{sig} missing from the artifact ABI"
        );
    }
    // The selectors of the OP Stack spec's l1-attributes tables.
    assert_eq!(
        IL1Block::setL1BlockValuesEcotoneCall::SELECTOR,
        hex!("440a5e20")
    );
    assert_eq!(
        IL1Block::setL1BlockValuesIsthmusCall::SELECTOR,
        hex!("098999be")
    );
    assert_eq!(
        IL1Block::setL1BlockValuesJovianCall::SELECTOR,
        hex!("3db6be2b")
    );
    let mut l2 = L2::genesis();
    assert_eq!(
        l2.view(L1_BLOCK, IL1Block::DEPOSITOR_ACCOUNTCall {}),
        DEPOSITOR
    );
}

/// A real Isthmus L1-info deposit's calldata (Unichain Sepolia block 35535698, from
/// op-alloy-rpc-types-engine's flashblocks test).
const REAL_ISTHMUS_L1_INFO: &str = "098999be000007d0000dbba0000000000000000800000000690be848000000000092042e000000000000000000000000000000000000000000000000000000000000000900000000000000000000000000000000000000000000000000000000000000010ffd7e2fb2c36e5f27c015872ce733a7b4f3fc0f4ee668d7469c557c48f8250f0000000000000000000000004ab3387810ef500bfe05a49dc53a44c222cbab3e000000000000000000000000";

#[test]
fn l1_block_takes_a_real_isthmus_deposit() {
    let mut l2 = L2::genesis();
    l2.set_l1_attributes(hex::decode(REAL_ISTHMUS_L1_INFO).unwrap().into());
    let expected = L1Attributes {
        base_fee_scalar: 2000,
        blob_base_fee_scalar: 900_000,
        sequence_number: 8,
        timestamp: 0x690be848,
        number: 0x92042e,
        base_fee: U256::from(9),
        blob_base_fee: U256::from(1),
        hash: b256!("0x0ffd7e2fb2c36e5f27c015872ce733a7b4f3fc0f4ee668d7469c557c48f8250f"),
        batcher_hash: b256!("0x0000000000000000000000004ab3387810ef500bfe05a49dc53a44c222cbab3e"),
        operator_fee_scalar: 0,
        operator_fee_constant: 0,
    };
    assert_eq!(
        expected.isthmus_calldata().as_ref(),
        hex::decode(REAL_ISTHMUS_L1_INFO).unwrap()
    );
    check_l1_block(&mut l2, &expected, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn l1_info_deposit_sets_every_slot_op_revm_reads(
        first in any_l1_attributes(),
        second in any_l1_attributes(),
        da in any::<u16>(),
    ) {
        let mut l2 = L2::genesis();
        // The node's encoder writes the same bytes as the spec table.
        prop_assert_eq!(first.to_bridge().encode_calldata(), first.isthmus_calldata());

        l2.set_l1_attributes(first.isthmus_calldata());
        check_l1_block(&mut l2, &first, 0);

        // Jovian adds the DA footprint scalar; Isthmus clears it again, as in the OP Stack.
        l2.set_l1_attributes(second.jovian_calldata(da));
        check_l1_block(&mut l2, &second, da);
        l2.set_l1_attributes(second.isthmus_calldata());
        check_l1_block(&mut l2, &second, 0);

        // Ecotone leaves the operator fee slot alone.
        let mut ecotone = first.clone();
        ecotone.operator_fee_scalar = second.operator_fee_scalar;
        ecotone.operator_fee_constant = second.operator_fee_constant;
        l2.set_l1_attributes(first.ecotone_calldata());
        check_l1_block(&mut l2, &ecotone, 0);
    }
}

#[test]
fn only_the_depositor_sets_l1_attributes() {
    let attributes = L1Attributes {
        base_fee_scalar: 1,
        blob_base_fee_scalar: 2,
        sequence_number: 3,
        timestamp: 4,
        number: 5,
        base_fee: U256::from(6),
        blob_base_fee: U256::from(7),
        hash: B256::repeat_byte(8),
        batcher_hash: B256::repeat_byte(9),
        operator_fee_scalar: 10,
        operator_fee_constant: 11,
    };
    let mut l2 = L2::genesis();
    for calldata in [
        attributes.ecotone_calldata(),
        attributes.isthmus_calldata(),
        attributes.jovian_calldata(12),
    ] {
        let not_depositor = IL1Block::NotDepositor::SELECTOR;
        match l2.call(L1_BLOCK, U256::ZERO, calldata.clone()) {
            ExecutionResult::Revert { output, .. } => assert_eq!(output.as_ref(), not_depositor),
            other => panic!("a user wrote L1 attributes: {other:?}"),
        }
        match l2.deposit(USER, L1_BLOCK, calldata) {
            ExecutionResult::Revert { output, .. } => assert_eq!(output.as_ref(), not_depositor),
            other => panic!("a user deposit wrote L1 attributes: {other:?}"),
        }
    }
    for slot in 0..=8 {
        assert_eq!(
            l2.storage(L1_BLOCK, U256::from(slot)),
            U256::ZERO,
            "slot {slot} written"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// GasPriceOracle

/// op-revm's Fjord size estimate for a FastLZ size (`estimate_tx_compressed_size`), scaled by 1e6.
fn estimated_size(flz: u64) -> U256 {
    U256::from(
        flz.saturating_mul(836_500)
            .saturating_sub(42_585_600)
            .max(100_000_000),
    )
}

/// op-revm's Fjord L1 cost (`calculate_tx_l1_cost_fjord`) for a FastLZ size, with op-revm's
/// saturating arithmetic, from the values op-revm read.
fn fjord_l1_cost(info: &L1BlockInfo, flz: u64) -> U256 {
    let calldata_cost = info
        .l1_base_fee
        .saturating_mul(U256::from(16))
        .saturating_mul(info.l1_base_fee_scalar);
    let blob_cost = info
        .l1_blob_base_fee
        .unwrap_or_default()
        .saturating_mul(info.l1_blob_base_fee_scalar.unwrap_or_default());
    let fee_scaled = calldata_cost.saturating_add(blob_cost);
    if fee_scaled.is_zero() {
        return U256::ZERO;
    }
    estimated_size(flz).saturating_mul(fee_scaled) / U256::from(1_000_000_000_000u64)
}

#[test]
fn gas_price_oracle_abi_is_the_published_one() {
    let sigs = abi_signatures(ORACLE_ARTIFACT);
    for sig in [
        IGasPriceOracle::DECIMALSCall::SIGNATURE,
        IGasPriceOracle::decimalsCall::SIGNATURE,
        IGasPriceOracle::gasPriceCall::SIGNATURE,
        IGasPriceOracle::baseFeeCall::SIGNATURE,
        IGasPriceOracle::overheadCall::SIGNATURE,
        IGasPriceOracle::scalarCall::SIGNATURE,
        IGasPriceOracle::l1BaseFeeCall::SIGNATURE,
        IGasPriceOracle::blobBaseFeeCall::SIGNATURE,
        IGasPriceOracle::baseFeeScalarCall::SIGNATURE,
        IGasPriceOracle::blobBaseFeeScalarCall::SIGNATURE,
        IGasPriceOracle::isEcotoneCall::SIGNATURE,
        IGasPriceOracle::isFjordCall::SIGNATURE,
        IGasPriceOracle::isIsthmusCall::SIGNATURE,
        IGasPriceOracle::isJovianCall::SIGNATURE,
        IGasPriceOracle::getL1FeeCall::SIGNATURE,
        IGasPriceOracle::getL1GasUsedCall::SIGNATURE,
        IGasPriceOracle::getL1FeeUpperBoundCall::SIGNATURE,
        IGasPriceOracle::getOperatorFeeCall::SIGNATURE,
        IGasPriceOracle::versionCall::SIGNATURE,
    ] {
        assert!(
            sigs.iter().any(|s| s == sig),
            "{sig} missing from the artifact ABI"
        );
    }
}

#[test]
fn gas_price_oracle_reads_l1_block() {
    let mut l2 = L2::genesis();
    l2.basefee = 1_000_000_007;
    let a = L1Attributes {
        base_fee_scalar: 1368,
        blob_base_fee_scalar: 810_949,
        sequence_number: 3,
        timestamp: 1_700_000_000,
        number: 19_000_000,
        base_fee: U256::from(31_000_000_000u64),
        blob_base_fee: U256::from(2_000_000_000u64),
        hash: B256::repeat_byte(1),
        batcher_hash: B256::repeat_byte(2),
        operator_fee_scalar: 1_500_000,
        operator_fee_constant: 7_000,
    };
    l2.set_l1_attributes(a.isthmus_calldata());
    let o = GAS_PRICE_ORACLE;
    assert_eq!(l2.view(o, IGasPriceOracle::l1BaseFeeCall {}), a.base_fee);
    assert_eq!(
        l2.view(o, IGasPriceOracle::blobBaseFeeCall {}),
        a.blob_base_fee
    );
    assert_eq!(
        l2.view(o, IGasPriceOracle::baseFeeScalarCall {}),
        a.base_fee_scalar
    );
    assert_eq!(
        l2.view(o, IGasPriceOracle::blobBaseFeeScalarCall {}),
        a.blob_base_fee_scalar
    );
    assert_eq!(l2.view(o, IGasPriceOracle::DECIMALSCall {}), U256::from(6));
    assert_eq!(l2.view(o, IGasPriceOracle::decimalsCall {}), U256::from(6));
    assert_eq!(
        l2.view(o, IGasPriceOracle::gasPriceCall {}),
        U256::from(l2.basefee)
    );
    assert_eq!(
        l2.view(o, IGasPriceOracle::baseFeeCall {}),
        U256::from(l2.basefee)
    );
    assert!(l2.view(o, IGasPriceOracle::isEcotoneCall {}));
    assert!(l2.view(o, IGasPriceOracle::isFjordCall {}));
    assert!(l2.view(o, IGasPriceOracle::isIsthmusCall {}));
    assert!(!l2.view(o, IGasPriceOracle::isJovianCall {}));
    assert!(
        l2.view_raw(o, IGasPriceOracle::overheadCall {}.abi_encode().into())
            .is_err()
    );
    assert!(
        l2.view_raw(o, IGasPriceOracle::scalarCall {}.abi_encode().into())
            .is_err()
    );

    // The operator fee op-revm charges for this much gas (any non-empty, non-deposit tx).
    let info = l2.op_revm_l1_info(OpSpecId::ISTHMUS);
    for gas in [
        U256::ZERO,
        U256::from(21_000),
        U256::from(30_000_000),
        U256::MAX,
    ] {
        let charged = info.operator_fee_charge(&[0x02], gas, OpSpecId::ISTHMUS);
        let call = IGasPriceOracle::getOperatorFeeCall { _gasUsed: gas };
        assert_eq!(l2.view(o, call), charged, "operator fee for {gas} gas");
    }

    // The upper bound covers any content of that size.
    for size in [0u64, 1, 100, 1_000, 100_000] {
        let with_signature = size + 68;
        let bound = with_signature + with_signature / 255 + 16;
        let call = IGasPriceOracle::getL1FeeUpperBoundCall {
            _unsignedTxSize: U256::from(size),
        };
        let bound_fee = l2.view(o, call);
        assert_eq!(bound_fee, fjord_l1_cost(&info, bound));
        let data: Vec<u8> = (0..size)
            .map(|i| ((i * 2_654_435_761) >> 7) as u8)
            .collect();
        let fee = l2.view(o, IGasPriceOracle::getL1FeeCall { _data: data.into() });
        assert!(
            fee <= bound_fee,
            "fee above the upper bound for {size} bytes"
        );
    }
}

/// Transaction-like bytes: incompressible, repetitive, ABI-like (mostly zeros) and mixtures, from
/// empty to several kilobytes.
fn tx_bytes() -> impl Strategy<Value = Vec<u8>> {
    let random = prop::collection::vec(any::<u8>(), 0..600);
    let long_random = prop::collection::vec(any::<u8>(), 600..6_000);
    let repeated = (prop::collection::vec(any::<u8>(), 1..40), 0usize..4_000)
        .prop_map(|(pattern, len)| pattern.iter().copied().cycle().take(len).collect());
    let abi_like = prop::collection::vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], 0..3_000);
    let segment = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (any::<u8>(), 0usize..600).prop_map(|(b, n)| vec![b; n]),
        prop::collection::vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], 0..300),
    ];
    let mixed =
        (prop::collection::vec(segment, 1..8), any::<u64>()).prop_map(|(segments, seed)| {
            // Repeat some earlier segments so matches reach back various distances.
            let mut out: Vec<u8> = Vec::new();
            for (i, s) in segments.iter().enumerate() {
                out.extend_from_slice(s);
                if (seed >> i) & 1 == 1 && !out.is_empty() {
                    let start = (seed as usize >> 8) % out.len();
                    let copy = out[start..].to_vec();
                    out.extend_from_slice(&copy);
                }
            }
            out
        });
    // Bytes repeated from just under, at and just over FastLZ's 8192-byte match window.
    let far_repeat = (prop::collection::vec(any::<u8>(), 8_200), 8_189usize..8_195).prop_map(
        |(mut block, distance)| {
            let copy = block[..300].to_vec();
            block.truncate(distance);
            block.extend_from_slice(&copy);
            block
        },
    );
    // Sizes around the 100-byte minimum, where most simple transactions are.
    let typical = prop::collection::vec(prop_oneof![1 => Just(0u8), 2 => any::<u8>()], 60..260);
    prop_oneof![
        2 => random,
        1 => long_random,
        1 => repeated,
        1 => abi_like,
        1 => mixed,
        1 => far_repeat,
        3 => typical,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn get_l1_fee_is_op_revms_l1_cost(data in tx_bytes(), a in any_l1_attributes()) {
        let mut l2 = L2::genesis();
        l2.set_l1_attributes(a.isthmus_calldata());
        let info = l2.op_revm_l1_info(OpSpecId::ISTHMUS);
        let flz = l2.reference_flz(&data);

        // The reference size is op-revm's wherever op-revm's estimate shows it (above the
        // 100-byte minimum), and op-revm charges the Fjord cost of it.
        prop_assert_eq!(U256::from(estimate_tx_compressed_size(&data)), estimated_size(flz));
        let mut fresh = info.clone();
        let charged = fresh.calculate_tx_l1_cost(&data, OpSpecId::ISTHMUS);
        let deposit_or_empty = data.first().is_none_or(|b| *b == 0x7E);
        let expected = if deposit_or_empty { U256::ZERO } else { fjord_l1_cost(&info, flz) };
        prop_assert_eq!(charged, expected);

        // getL1Fee: the same cost, of the size plus the 68-byte signature allowance.
        let fee = l2.view(GAS_PRICE_ORACLE, IGasPriceOracle::getL1FeeCall { _data: data.clone().into() });
        prop_assert_eq!(fee, fjord_l1_cost(&info, flz + 68), "getL1Fee, FastLZ size {}", flz);
        let gas = l2.view(GAS_PRICE_ORACLE, IGasPriceOracle::getL1GasUsedCall { _data: data.into() });
        prop_assert_eq!(gas, estimated_size(flz + 68) * U256::from(16) / U256::from(1_000_000));
    }
}

#[test]
fn fastlz_reference_matches_op_revms_vectors() {
    // op-revm's own test vectors for flz_compress_len.
    let mut l2 = L2::genesis();
    assert_eq!(l2.reference_flz(&[]), 0);
    assert_eq!(l2.reference_flz(&[0; 1000]), 21);
}

/// viem prices the unsigned encoding; op-revm charges the signed one. The 68-byte allowance
/// stands for the signature's FastLZ cost: for real signed EIP-1559 transactions the two sizes
/// agree within a few bytes.
#[test]
fn the_signature_allowance_matches_real_signatures() {
    use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::signers::{SignerSync, local::PrivateKeySigner};

    let mut l2 = L2::genesis();
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).expect("key");
    for (i, len) in [0usize, 4, 68, 200, 1_000, 5_000].into_iter().enumerate() {
        let input: Vec<u8> = (0..len)
            .map(|j| if j % 3 == 0 { 0 } else { (j * 7 + i) as u8 })
            .collect();
        let tx = TxEip1559 {
            chain_id: 901,
            nonce: 1,
            gas_limit: 300_000,
            max_fee_per_gas: 5_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(USER),
            value: U256::from(10u64.pow(18)),
            access_list: Default::default(),
            input: input.into(),
        };
        let mut unsigned = Vec::new();
        tx.encode_for_signing(&mut unsigned);
        let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
        let signed = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
        let estimate = l2.reference_flz(&unsigned) + 68;
        let actual = l2.reference_flz(&signed);
        assert!(
            estimate.abs_diff(actual) <= 4,
            "{len} bytes of data: {estimate} vs {actual}"
        );
    }
}
