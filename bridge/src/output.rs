//! Output roots: what an L1 proposal claims about an L2 block.

use alloy::primitives::{B256, keccak256};

/// The fields an output root v0 commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputV0 {
    /// The L2 block's state root.
    pub state_root: B256,
    /// The storage root of the L2ToL1MessagePasser at that block (what withdrawals prove against).
    pub message_passer_storage_root: B256,
    /// The L2 block's hash.
    pub block_hash: B256,
}

impl OutputV0 {
    /// The output of an L2 block whose header carries the message passer's storage root as
    /// `withdrawalsRoot` (Isthmus).
    pub fn of_block(header: &alloy::consensus::Header, block_hash: B256) -> Self {
        Self {
            state_root: header.state_root,
            message_passer_storage_root: header.withdrawals_root.unwrap_or_default(),
            block_hash,
        }
    }

    /// `keccak256(bytes32(0) ++ stateRoot ++ messagePasserStorageRoot ++ blockHash)`.
    pub fn root(&self) -> B256 {
        let mut preimage = [0u8; 128];
        preimage[32..64].copy_from_slice(self.state_root.as_slice());
        preimage[64..96].copy_from_slice(self.message_passer_storage_root.as_slice());
        preimage[96..].copy_from_slice(self.block_hash.as_slice());
        keccak256(preimage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn each_field_changes_the_root(a: [u8; 32], b: [u8; 32], c: [u8; 32], flip in 0usize..96) {
            let o = OutputV0 { state_root: a.into(), message_passer_storage_root: b.into(), block_hash: c.into() };
            let mut bytes = [a, b, c].concat();
            bytes[flip] ^= 1;
            let changed = OutputV0 {
                state_root: B256::from_slice(&bytes[..32]),
                message_passer_storage_root: B256::from_slice(&bytes[32..64]),
                block_hash: B256::from_slice(&bytes[64..]),
            };
            prop_assert_ne!(o.root(), changed.root());
            let expected = keccak256([&[0u8; 32][..], &a, &b, &c].concat());
            prop_assert_eq!(o.root(), expected);
        }
    }
}
