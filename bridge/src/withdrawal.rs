//! Withdrawals: the message an L2 user passes to L1 and its hash.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol_types::SolValue,
};

/// A withdrawal as the L2ToL1MessagePasser records it (`MessagePassed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The message passer's nonce (with its version in the top two bytes).
    pub nonce: U256,
    /// Who sent it on L2.
    pub sender: Address,
    /// Who receives it on L1.
    pub target: Address,
    /// Wei to release on L1.
    pub value: U256,
    /// Minimum gas for the L1 call.
    pub gas_limit: U256,
    /// Calldata of the L1 call.
    pub data: Bytes,
}

impl Withdrawal {
    /// `keccak256(abi.encode(nonce, sender, target, value, gasLimit, data))`: the key of
    /// `sentMessages` on L2 and of proven/finalized withdrawals on L1.
    pub fn hash(&self) -> B256 {
        keccak256(
            (
                self.nonce,
                self.sender,
                self.target,
                self.value,
                self.gas_limit,
                self.data.clone(),
            )
                .abi_encode_params(),
        )
    }

    /// The storage slot of `sentMessages[hash]` in the message passer (mapping at slot 0).
    pub fn storage_slot(&self) -> B256 {
        crate::proof::sent_message_slot(self.hash())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_abi_encode_of_the_fields() {
        let w = Withdrawal {
            nonce: U256::from(1u64),
            sender: Address::repeat_byte(1),
            target: Address::repeat_byte(2),
            value: U256::from(3u64),
            gas_limit: U256::from(4u64),
            data: Bytes::from_static(&[0xde, 0xad]),
        };
        // abi.encode of (uint256,address,address,uint256,uint256,bytes): six head words, then the
        // bytes' length word and one padded word.
        let mut expected = Vec::new();
        expected.extend_from_slice(&U256::from(1u64).to_be_bytes::<32>());
        expected.extend_from_slice(&[0u8; 12]);
        expected.extend_from_slice(&[1u8; 20]);
        expected.extend_from_slice(&[0u8; 12]);
        expected.extend_from_slice(&[2u8; 20]);
        expected.extend_from_slice(&U256::from(3u64).to_be_bytes::<32>());
        expected.extend_from_slice(&U256::from(4u64).to_be_bytes::<32>());
        expected.extend_from_slice(&U256::from(192u64).to_be_bytes::<32>());
        expected.extend_from_slice(&U256::from(2u64).to_be_bytes::<32>());
        let mut word = [0u8; 32];
        word[..2].copy_from_slice(&[0xde, 0xad]);
        expected.extend_from_slice(&word);
        assert_eq!(w.hash(), keccak256(&expected));
        let slot = keccak256([w.hash().as_slice(), &[0u8; 32]].concat());
        assert_eq!(w.storage_slot(), slot);
    }
}
