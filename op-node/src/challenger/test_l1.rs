//! A bare L1 in revm for the challenger's tests: Prague rules, a deployer whose creations take
//! consecutive nonces, and calls from any sender at any nonce (the nonce check is off, so
//! getters can be called between transactions).

use alloy::primitives::{Address, Bytes, TxKind};
use revm::{
    Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{ExecutionResult, Output},
    },
    database::{CacheDB, EmptyDB},
    handler::{MainnetContext, MainnetEvm},
    primitives::hardfork::SpecId,
};

/// The account that deploys every contract.
pub(super) const DEPLOYER: Address = Address::repeat_byte(0xd0);

/// Gas of every test transaction.
const TX_GAS: u64 = 1 << 26;

/// The revm L1.
pub(super) struct TestL1 {
    /// The EVM, for tests that set its block or read its database.
    pub(super) evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    deployed: u64,
}

impl TestL1 {
    /// An empty L1 whose blocks allow 2^30 gas.
    pub(super) fn new() -> Self {
        let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
        cfg.disable_nonce_check = true;
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .with_cfg(cfg)
            .with_block(BlockEnv {
                gas_limit: 1 << 30,
                ..Default::default()
            })
            .build_mainnet();
        Self { evm, deployed: 0 }
    }

    /// Deploys `code` (init code with its constructor arguments) from [`DEPLOYER`].
    pub(super) fn create(&mut self, code: Vec<u8>) -> Address {
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .kind(TxKind::Create)
            .data(code.into())
            .gas_limit(TX_GAS)
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
            other => panic!("deploying: {other:?}"),
        }
    }

    /// Runs `data` from `from` (nonce `nonce`) to `to`, committing it if `commit`; the call's
    /// output or its revert data.
    pub(super) fn call(
        &mut self,
        from: Address,
        nonce: u64,
        to: Address,
        data: Vec<u8>,
        commit: bool,
    ) -> Result<Bytes, Bytes> {
        let tx = call_tx(from, nonce, to, data, TX_GAS);
        let result = if commit {
            self.evm.transact_commit(tx).expect("runs")
        } else {
            self.evm.transact(tx).expect("runs").result
        };
        match result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(output),
            other => Err(format!("{other:?}").into_bytes().into()),
        }
    }

    /// Runs `data` from `from` to `to` with `gas_limit` and commits it: the gas it used, or why
    /// it failed (a revert, running out of gas).
    pub(super) fn call_with_gas(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        gas_limit: u64,
    ) -> Result<u64, String> {
        let tx = call_tx(from, 0, to, data, gas_limit);
        match self.evm.transact_commit(tx).expect("runs") {
            result @ ExecutionResult::Success { .. } => Ok(result.tx_gas_used()),
            other => Err(format!("{other:?}")),
        }
    }
}

/// A call of `data` from `from` (nonce `nonce`) to `to` with `gas_limit`, at gas price 0.
fn call_tx(from: Address, nonce: u64, to: Address, data: Vec<u8>, gas_limit: u64) -> TxEnv {
    TxEnv::builder()
        .caller(from)
        .kind(TxKind::Call(to))
        .data(data.into())
        .gas_limit(gas_limit)
        .gas_price(0)
        .nonce(nonce)
        .build()
        .expect("valid tx")
}
