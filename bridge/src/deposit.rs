//! Deposits: the `TransactionDeposited` event's opaque data and deposit source hashes.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};

/// Domain of a user deposit's source hash.
pub const USER_DEPOSIT_DOMAIN: u64 = 0;
/// Domain of an L1-info deposit's source hash.
pub const L1_INFO_DEPOSIT_DOMAIN: u64 = 1;

/// Domain tag of a link of the portal's deposit log.
pub const DEPOSIT_LINK_TAG: u8 = 0x22;

/// Length of the fixed part of the opaque data: mint, value, gas limit, is-creation.
const FIXED_LEN: usize = 32 + 32 + 8 + 1;

/// `keccak256(bytes32(domain) ++ keccak256(l1BlockHash ++ bytes32(index)))`: the source hash
/// of a deposit. `index` is the log index for a user deposit (domain 0) and the sequence
/// number for an L1-info deposit (domain 1).
pub fn source_hash(domain: u64, l1_block_hash: B256, index: u64) -> B256 {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(l1_block_hash.as_slice());
    inner[56..].copy_from_slice(&index.to_be_bytes());
    let mut outer = [0u8; 64];
    outer[24..32].copy_from_slice(&domain.to_be_bytes());
    outer[32..].copy_from_slice(keccak256(inner).as_slice());
    keccak256(outer)
}

/// One link of the portal's per-L1-block deposit log (`depositChain(l1Block)`, BATCHES.md
/// §3.5): `keccak256(0x22 ‖ chain ‖ from ‖ to ‖ opaqueData)`, folded from zero over the block's
/// `TransactionDeposited` events in order.
pub fn deposit_chain_link(chain: B256, from: Address, to: Address, opaque_data: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(1 + 32 + 20 + 20 + opaque_data.len());
    buf.push(DEPOSIT_LINK_TAG);
    buf.extend_from_slice(chain.as_slice());
    buf.extend_from_slice(from.as_slice());
    buf.extend_from_slice(to.as_slice());
    buf.extend_from_slice(opaque_data);
    keccak256(buf)
}

/// The user-chosen part of a deposit, as `TransactionDeposited` (version 0) carries it in
/// `opaqueData = abi.encodePacked(uint256 mint, uint256 value, uint64 gasLimit, bool isCreation, bytes data)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositData {
    /// ETH minted on L2 (the value locked on L1).
    pub mint: U256,
    /// Value sent to the target on L2.
    pub value: U256,
    /// L2 gas limit.
    pub gas_limit: u64,
    /// Whether the deposit creates a contract.
    pub is_creation: bool,
    /// Calldata or init code.
    pub data: Bytes,
}

/// Why opaque data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositDecodeError {
    /// Shorter than the fixed fields.
    #[error("opaque data of {0} bytes is shorter than the 73-byte fixed part")]
    TooShort(usize),
    /// The creation flag byte was neither 0 nor 1.
    #[error("invalid isCreation byte {0:#x}")]
    InvalidBool(u8),
}

impl DepositData {
    /// Packs the fields as the L1 portal emits them.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(FIXED_LEN + self.data.len());
        out.extend_from_slice(&self.mint.to_be_bytes::<32>());
        out.extend_from_slice(&self.value.to_be_bytes::<32>());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        out.push(u8::from(self.is_creation));
        out.extend_from_slice(&self.data);
        out.into()
    }

    /// Unpacks opaque data from a `TransactionDeposited` event.
    pub fn decode(opaque: &[u8]) -> Result<Self, DepositDecodeError> {
        if opaque.len() < FIXED_LEN {
            return Err(DepositDecodeError::TooShort(opaque.len()));
        }
        let mut gas = [0u8; 8];
        gas.copy_from_slice(&opaque[64..72]);
        let is_creation = match opaque[72] {
            0 => false,
            1 => true,
            other => return Err(DepositDecodeError::InvalidBool(other)),
        };
        Ok(Self {
            mint: U256::from_be_slice(&opaque[..32]),
            value: U256::from_be_slice(&opaque[32..64]),
            gas_limit: u64::from_be_bytes(gas),
            is_creation,
            data: Bytes::copy_from_slice(&opaque[FIXED_LEN..]),
        })
    }
}

/// A deposit as derivation sees it: who, to where, and the decoded data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDeposit {
    /// `from` of the event (aliased by the portal when it is a contract).
    pub from: Address,
    /// `to` of the event (ignored when creating).
    pub to: Address,
    /// The decoded opaque data.
    pub data: DepositData,
    /// The deposit's source hash.
    pub source_hash: B256,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn opaque_data_roundtrips(mint: [u8; 32], value: [u8; 32], gas_limit: u64, is_creation: bool,
                                  data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let d = DepositData {
                mint: U256::from_be_bytes(mint),
                value: U256::from_be_bytes(value),
                gas_limit,
                is_creation,
                data: data.into(),
            };
            let encoded = d.encode();
            prop_assert_eq!(encoded.len(), 73 + d.data.len());
            prop_assert_eq!(DepositData::decode(&encoded).unwrap(), d);
        }

        #[test]
        fn short_or_bad_flag_is_refused(len in 0usize..73, flag in 2u8..) {
            prop_assert_eq!(DepositData::decode(&vec![0u8; len]), Err(DepositDecodeError::TooShort(len)));
            let mut bytes = vec![0u8; 73];
            bytes[72] = flag;
            prop_assert_eq!(DepositData::decode(&bytes), Err(DepositDecodeError::InvalidBool(flag)));
        }
    }

    #[test]
    fn source_hash_layout() {
        // Built independently with abi-style concatenation.
        let block = B256::repeat_byte(0xab);
        let inner = keccak256([block.as_slice(), &U256::from(7u64).to_be_bytes::<32>()].concat());
        let expected = keccak256([&U256::ZERO.to_be_bytes::<32>()[..], inner.as_slice()].concat());
        assert_eq!(source_hash(USER_DEPOSIT_DOMAIN, block, 7), expected);
        assert_ne!(source_hash(L1_INFO_DEPOSIT_DOMAIN, block, 7), expected);
    }
}
