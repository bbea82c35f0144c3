//! The rollup configuration: everything a second node needs to derive the same L2 chain from
//! the same L1 (served by `optimism_rollupConfig`, written to `rollup.json` in the data
//! directory, and read by `op-node verifier --rollup-config FILE`).

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A block by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Hash.
    pub hash: B256,
    /// Number.
    pub number: u64,
}

/// Where the rollup starts on both chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The L1 block that is the first L2 block's origin.
    pub l1: BlockRef,
    /// The L2 genesis block.
    pub l2: BlockRef,
    /// The L2 genesis timestamp.
    pub l2_time: u64,
}

/// The rollup's parameters (field names follow the OP Stack's rollup config where one exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupConfig {
    /// Genesis on both chains.
    pub genesis: Genesis,
    /// L2 block time in milliseconds.
    pub block_time_ms: u64,
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// L2 block gas limit.
    pub l2_gas_limit: u64,
    /// L1 blocks behind the L1 head before derivation uses a block.
    pub l1_confirmation_depth: u64,
    /// The portal (the OP Stack calls it the deposit contract).
    pub deposit_contract_address: Address,
    /// The dispute-game factory proposals go through.
    pub dispute_game_factory_address: Address,
    /// The anchor-state registry.
    pub anchor_state_registry_address: Address,
    /// The BatchInbox contract that records the L2 blocks (BATCHES.md).
    pub batch_inbox_address: Address,
    /// The DepositLogIndex oracle that proves the portal's deposit log indices from L1
    /// receipts (BATCHES.md §3.5); zero in a configuration written before it existed.
    #[serde(default)]
    pub deposit_log_index_address: Address,
    /// The only account whose batches count.
    pub batcher_address: Address,
    /// The account that posts proposals.
    pub proposer_address: Address,
    /// The game type proposals use.
    pub respected_game_type: u32,
    /// L1 data fee: scalar on the L1 base fee.
    pub base_fee_scalar: u32,
    /// L1 data fee: scalar on the L1 blob base fee.
    pub blob_base_fee_scalar: u32,
    /// Sequencing window in L1 blocks: a block of epoch E can be appended to the inbox only in
    /// an L1 block before E + seq_window_size; from then on anyone may force the next epoch,
    /// a block with its deposits only (BATCHES.md §4).
    #[serde(default = "defaults::seq_window_size")]
    pub seq_window_size: u64,
    /// Seconds an L2 block's timestamp may run ahead of its L1 origin's.
    #[serde(default = "defaults::max_sequencer_drift")]
    pub max_sequencer_drift: u64,
}

/// Defaults of the derivation parameters (the devnet's; the OP Stack's mainnet values are
/// 3600 L1 blocks and 1800 s).
pub mod defaults {
    /// Sequencing window: 120 L1 blocks (two minutes of 1-second devnet L1 blocks).
    pub fn seq_window_size() -> u64 {
        120
    }

    /// Sequencer drift: 1800 s.
    pub fn max_sequencer_drift() -> u64 {
        1800
    }
}

/// Reading or writing the config file failed.
#[derive(Debug, thiserror::Error)]
pub enum RollupConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a rollup config.
    #[error("{path}: not a rollup config: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
}

impl RollupConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self, RollupConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RollupConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| RollupConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes the config atomically (temp file, then rename), so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), RollupConfigError> {
        let io = |source| RollupConfigError::Io {
            path: path.display().to_string(),
            source,
        };
        let text = serde_json::to_string_pretty(self).expect("a rollup config always serializes");
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let config = RollupConfig {
            genesis: Genesis {
                l1: BlockRef {
                    hash: B256::repeat_byte(1),
                    number: 5,
                },
                l2: BlockRef {
                    hash: B256::repeat_byte(2),
                    number: 0,
                },
                l2_time: 1_700_000_000,
            },
            block_time_ms: 250,
            l1_chain_id: 900,
            l2_chain_id: 901,
            l2_gas_limit: 30_000_000,
            l1_confirmation_depth: 2,
            deposit_contract_address: Address::repeat_byte(3),
            dispute_game_factory_address: Address::repeat_byte(4),
            anchor_state_registry_address: Address::repeat_byte(5),
            batch_inbox_address: Address::repeat_byte(6),
            deposit_log_index_address: Address::repeat_byte(9),
            batcher_address: Address::repeat_byte(7),
            proposer_address: Address::repeat_byte(8),
            respected_game_type: 1,
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
            seq_window_size: 120,
            max_sequencer_drift: 1800,
        };
        let path = dir.path().join("rollup.json");
        config.save(&path).unwrap();
        assert_eq!(RollupConfig::load(&path).unwrap(), config);
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            RollupConfig::load(&path),
            Err(RollupConfigError::Parse { .. })
        ));
    }
}
