//! The L1 side of the devnet: the service accounts, and the deployment of the bridge
//! contracts on any L1 (the embedded one or `--l1-rpc`).

pub mod deploy;

use crate::chain::TEST_MNEMONIC;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};

/// Mnemonic index of the batcher (after the ten user accounts).
pub const BATCHER_INDEX: u32 = 10;
/// Mnemonic index of the proposer.
pub const PROPOSER_INDEX: u32 = 11;
/// Mnemonic index of the challenger.
pub const CHALLENGER_INDEX: u32 = 12;
/// Mnemonic index of the contract deployer (and owner of the factory and registry).
pub const DEPLOYER_INDEX: u32 = 13;

/// The devnet key at `index` of the test mnemonic. Indices 10 to 19 are funded by hardhat's and
/// anvil's default nodes too, so the same keys work against them as `--l1-rpc`.
pub fn service_signer(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(TEST_MNEMONIC)
        .index(index)
        .and_then(|b| b.build())
        .expect("the test mnemonic and its derivation path are valid")
}
