//! Chain parameters and the genesis allocation.

use alloy::eips::eip1559::calc_next_block_base_fee;
use alloy::{
    eips::{eip1559::BaseFeeParams, eip2935, eip4788, eip7002, eip7251},
    primitives::{Address, Bytes, U256, address},
    signers::local::{MnemonicBuilder, coins_bip39::English},
};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_op_hardforks::{ForkCondition, OpChainHardforks, OpHardfork};
use op_revm::OpSpecId;
use revm::context::CfgEnv;
use revm::primitives::hardfork::SpecId;

/// The well-known development mnemonic whose first accounts anvil and hardhat fund.
pub const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// How many mnemonic accounts genesis funds.
pub const DEV_ACCOUNT_COUNT: u32 = 10;

/// Balance of each funded development account: 10,000 ETH, as anvil and hardhat give.
pub const DEV_ACCOUNT_BALANCE: U256 = U256::from_limbs([0x19e0c9bab2400000, 0x21e, 0, 0]);

/// The base fee of the first block, as the OP Stack starts (1 gwei).
pub const INITIAL_BASE_FEE: u64 = 1_000_000_000;

/// Receives the priority fees of every block (the OP Stack's SequencerFeeVault predeploy).
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// Which side of the rollup a chain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// The rollup: OP Stack rules (Isthmus), deposits, fees to the vaults.
    L2,
    /// The embedded development L1: plain Ethereum rules (Prague), base fee burned.
    L1,
}

/// The rules of one chain: everything a block's validity depends on.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// L1 or L2.
    pub kind: ChainKind,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Gas limit of every block.
    pub gas_limit: u64,
    /// EIP-1559 parameters (the OP Stack's post-Canyon values: denominator 250, elasticity 6).
    pub base_fee_params: BaseFeeParams,
    /// Base fee never falls below this, so fees stay meaningful on an idle chain.
    pub min_base_fee: u64,
    /// OP hardforks, all active from genesis up to Isthmus (the OP Stack's Prague).
    pub hardforks: OpChainHardforks,
}

impl ChainConfig {
    /// An L2 with every fork through Isthmus active at genesis.
    pub fn new(chain_id: u64, gas_limit: u64) -> Self {
        let forks = [
            (OpHardfork::Bedrock, ForkCondition::ZERO_BLOCK),
            (OpHardfork::Regolith, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Canyon, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Ecotone, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Fjord, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Granite, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Holocene, ForkCondition::ZERO_TIMESTAMP),
            (OpHardfork::Isthmus, ForkCondition::ZERO_TIMESTAMP),
        ];
        Self {
            kind: ChainKind::L2,
            chain_id,
            gas_limit,
            base_fee_params: BaseFeeParams::optimism_canyon(),
            min_base_fee: 1,
            hardforks: OpChainHardforks::new(forks),
        }
    }

    /// An Ethereum L1 with every fork through Prague active at genesis (the embedded devnet L1).
    pub fn l1(chain_id: u64, gas_limit: u64) -> Self {
        Self {
            kind: ChainKind::L1,
            base_fee_params: BaseFeeParams::ethereum(),
            min_base_fee: 7,
            ..Self::new(chain_id, gas_limit)
        }
    }

    /// The Ethereum hardfork schedule of an L1 chain.
    pub fn l1_spec(&self) -> L1Spec {
        L1Spec
    }

    /// The EVM configuration for blocks of an L1 chain.
    pub fn eth_cfg_env(&self) -> CfgEnv<SpecId> {
        let mut cfg = CfgEnv::new_with_spec(self.eth_spec_id());
        cfg.chain_id = self.chain_id;
        cfg
    }

    /// The execution rules of every block: Isthmus, i.e. Prague plus the OP deposit rules.
    pub const fn spec_id(&self) -> OpSpecId {
        OpSpecId::ISTHMUS
    }

    /// The Ethereum rules Isthmus builds on.
    pub const fn eth_spec_id(&self) -> SpecId {
        SpecId::PRAGUE
    }

    /// The EVM configuration for blocks of this chain.
    pub fn cfg_env(&self) -> CfgEnv<OpSpecId> {
        let mut cfg = CfgEnv::new_with_spec(self.spec_id());
        cfg.chain_id = self.chain_id;
        cfg
    }

    /// Base fee of the block after a parent with these values (EIP-1559).
    pub fn next_base_fee(
        &self,
        parent_gas_used: u64,
        parent_gas_limit: u64,
        parent_base_fee: u64,
    ) -> u64 {
        calc_next_block_base_fee(
            parent_gas_used,
            parent_gas_limit,
            parent_base_fee,
            self.base_fee_params,
        )
        .max(self.min_base_fee)
    }
}

/// The embedded L1's hardforks: everything through Prague from genesis, nothing after.
#[derive(Debug, Clone, Copy)]
pub struct L1Spec;

impl EthereumHardforks for L1Spec {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        match fork {
            EthereumHardfork::Dao => ForkCondition::Never,
            EthereumHardfork::Shanghai | EthereumHardfork::Cancun | EthereumHardfork::Prague => {
                ForkCondition::ZERO_TIMESTAMP
            }
            fork if fork < EthereumHardfork::Shanghai => ForkCondition::ZERO_BLOCK,
            _ => ForkCondition::Never,
        }
    }
}

impl EthExecutorSpec for L1Spec {
    fn deposit_contract_address(&self) -> Option<Address> {
        None
    }
}

/// One account of the genesis state.
#[derive(Debug, Clone)]
pub struct GenesisAccount {
    /// Where it lives.
    pub address: Address,
    /// Its balance in wei.
    pub balance: U256,
    /// Its code, if it is a contract.
    pub code: Option<Bytes>,
}

/// The addresses of the first `count` accounts of the test mnemonic (m/44'/60'/0'/0/i).
pub fn dev_accounts(count: u32) -> Vec<Address> {
    (0..count)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(TEST_MNEMONIC)
                .index(i)
                .and_then(|b| b.build())
                .map(|signer| signer.address())
                .expect("the test mnemonic and its derivation path are valid")
        })
        .collect()
}

/// The genesis allocation of a development chain: the funded test accounts and the system
/// contracts Prague expects (EIP-4788 beacon roots, EIP-2935 block-hash history; on the L1
/// also EIP-7002 withdrawal and EIP-7251 consolidation requests).
pub fn dev_genesis_alloc_for(kind: ChainKind) -> Vec<GenesisAccount> {
    let mut alloc = dev_genesis_alloc();
    if kind == ChainKind::L1 {
        alloc.push(GenesisAccount {
            address: eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
            balance: U256::ZERO,
            code: Some(eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_CODE.clone()),
        });
        alloc.push(GenesisAccount {
            address: eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
            balance: U256::ZERO,
            code: Some(eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_CODE.clone()),
        });
    }
    alloc
}

/// Where Multicall3 lives on every chain (viem's batched reads look for it there).
pub const MULTICALL3: Address = address!("0xcA11bde05977b3631167028862bE2a173976CA11");

/// The L2's genesis: the shared allocation, Multicall3 and the OP predeploys
/// (L2ToL1MessagePasser, L1Block, GasPriceOracle) as runtime code.
pub fn l2_genesis_alloc() -> Vec<GenesisAccount> {
    use bridge::{bindings, l1_info::L1_BLOCK};
    let mut alloc = dev_genesis_alloc_for(ChainKind::L2);
    let predeploys = [
        (MULTICALL3, bindings::Multicall3::DEPLOYED_BYTECODE.clone()),
        (
            crate::engine::MESSAGE_PASSER,
            bindings::L2ToL1MessagePasser::DEPLOYED_BYTECODE.clone(),
        ),
        (L1_BLOCK, bindings::L1Block::DEPLOYED_BYTECODE.clone()),
        (
            GAS_PRICE_ORACLE,
            bindings::GasPriceOracle::DEPLOYED_BYTECODE.clone(),
        ),
    ];
    alloc.extend(
        predeploys
            .into_iter()
            .map(|(address, code)| GenesisAccount {
                address,
                balance: U256::ZERO,
                code: Some(code),
            }),
    );
    alloc
}

/// The embedded L1's genesis: the shared allocation with the L1 system contracts, Multicall3,
/// and the devnet's service accounts (batcher, proposer, challenger, deployer) funded.
pub fn l1_genesis_alloc(service_accounts: &[Address]) -> Vec<GenesisAccount> {
    let mut alloc = dev_genesis_alloc_for(ChainKind::L1);
    alloc.push(GenesisAccount {
        address: MULTICALL3,
        balance: U256::ZERO,
        code: Some(bridge::bindings::Multicall3::DEPLOYED_BYTECODE.clone()),
    });
    alloc.extend(service_accounts.iter().map(|&address| GenesisAccount {
        address,
        balance: DEV_ACCOUNT_BALANCE,
        code: None,
    }));
    alloc
}

/// The GasPriceOracle predeploy.
pub const GAS_PRICE_ORACLE: Address = address!("0x420000000000000000000000000000000000000F");

/// The allocation both chains share: funded test accounts and the EIP-4788 and EIP-2935
/// system contracts.
pub fn dev_genesis_alloc() -> Vec<GenesisAccount> {
    let mut alloc: Vec<GenesisAccount> = dev_accounts(DEV_ACCOUNT_COUNT)
        .into_iter()
        .map(|address| GenesisAccount {
            address,
            balance: DEV_ACCOUNT_BALANCE,
            code: None,
        })
        .collect();
    alloc.push(GenesisAccount {
        address: eip4788::BEACON_ROOTS_ADDRESS,
        balance: U256::ZERO,
        code: Some(eip4788::BEACON_ROOTS_CODE.clone()),
    });
    alloc.push(GenesisAccount {
        address: eip2935::HISTORY_STORAGE_ADDRESS,
        balance: U256::ZERO,
        code: Some(eip2935::HISTORY_STORAGE_CODE.clone()),
    });
    alloc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_match_anvil() {
        let accounts = dev_accounts(2);
        assert_eq!(
            accounts[0],
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            accounts[1],
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
    }

    #[test]
    fn dev_balance_is_ten_thousand_ether() {
        assert_eq!(
            DEV_ACCOUNT_BALANCE,
            U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64))
        );
    }

    #[test]
    fn base_fee_has_a_floor() {
        let cfg = ChainConfig::new(901, 30_000_000);
        let mut fee = 1000u64;
        for _ in 0..10_000 {
            fee = cfg.next_base_fee(0, cfg.gas_limit, fee);
        }
        assert!(fee >= cfg.min_base_fee);
        assert!(
            cfg.next_base_fee(cfg.gas_limit, cfg.gas_limit, INITIAL_BASE_FEE) > INITIAL_BASE_FEE
        );
    }
}
