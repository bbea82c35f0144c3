//! The L1-info deposit: the first transaction of every L2 block, which writes the L1 origin's
//! attributes into the L1Block predeploy (and so into what op-revm charges as the L1 data fee).

use alloy::primitives::{Address, B256, Bytes, U256, address};

/// The account L1-info deposits come from.
pub const L1_INFO_DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
/// The L1Block predeploy.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// Gas of the L1-info deposit (the OP Stack's value).
pub const L1_INFO_GAS: u64 = 1_000_000;
/// `setL1BlockValuesIsthmus()` selector.
pub const SET_L1_BLOCK_VALUES_ISTHMUS: [u8; 4] = [0x09, 0x89, 0x99, 0xbe];
/// Length of the Isthmus calldata: selector and packed fields.
pub const ISTHMUS_CALLDATA_LEN: usize = 4 + 4 + 4 + 8 + 8 + 8 + 32 * 4 + 4 + 8;

/// What the L1-info deposit of an L2 block says about its L1 origin (Isthmus layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct L1BlockInfo {
    /// Scalar on the L1 base fee for the data fee.
    pub base_fee_scalar: u32,
    /// Scalar on the L1 blob base fee for the data fee.
    pub blob_base_fee_scalar: u32,
    /// Position of the L2 block within its epoch (0 for the first block of an L1 origin).
    pub sequence_number: u64,
    /// L1 origin timestamp.
    pub timestamp: u64,
    /// L1 origin number.
    pub number: u64,
    /// L1 origin base fee.
    pub base_fee: U256,
    /// L1 origin blob base fee.
    pub blob_base_fee: U256,
    /// L1 origin hash.
    pub hash: B256,
    /// The batcher's address, left-padded to 32 bytes.
    pub batcher_hash: B256,
    /// Operator fee scalar.
    pub operator_fee_scalar: u32,
    /// Operator fee constant.
    pub operator_fee_constant: u64,
}

/// Why L1-info calldata could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L1InfoDecodeError {
    /// Wrong length.
    #[error("L1-info calldata of {0} bytes; Isthmus calldata is 176 bytes")]
    Length(usize),
    /// Wrong selector.
    #[error("not setL1BlockValuesIsthmus calldata")]
    Selector,
}

impl L1BlockInfo {
    /// The packed `setL1BlockValuesIsthmus()` calldata.
    pub fn encode_calldata(&self) -> Bytes {
        let mut out = Vec::with_capacity(ISTHMUS_CALLDATA_LEN);
        out.extend_from_slice(&SET_L1_BLOCK_VALUES_ISTHMUS);
        out.extend_from_slice(&self.base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.blob_base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(self.batcher_hash.as_slice());
        out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        out.into()
    }

    /// Inverse of [`Self::encode_calldata`].
    pub fn decode_calldata(data: &[u8]) -> Result<Self, L1InfoDecodeError> {
        if data.len() != ISTHMUS_CALLDATA_LEN {
            return Err(L1InfoDecodeError::Length(data.len()));
        }
        if data[..4] != SET_L1_BLOCK_VALUES_ISTHMUS {
            return Err(L1InfoDecodeError::Selector);
        }
        let mut at = 4;
        let mut take = |n: usize| {
            let s = &data[at..at + n];
            at += n;
            s
        };
        let u32_at = |s: &[u8]| u32::from_be_bytes(s.try_into().expect("4 bytes"));
        let u64_at = |s: &[u8]| u64::from_be_bytes(s.try_into().expect("8 bytes"));
        Ok(Self {
            base_fee_scalar: u32_at(take(4)),
            blob_base_fee_scalar: u32_at(take(4)),
            sequence_number: u64_at(take(8)),
            timestamp: u64_at(take(8)),
            number: u64_at(take(8)),
            base_fee: U256::from_be_slice(take(32)),
            blob_base_fee: U256::from_be_slice(take(32)),
            hash: B256::from_slice(take(32)),
            batcher_hash: B256::from_slice(take(32)),
            operator_fee_scalar: u32_at(take(4)),
            operator_fee_constant: u64_at(take(8)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;
    use proptest::prelude::*;

    /// The calldata of a real Isthmus L1-info deposit (a Base mainnet block).
    const MAINNET: &str = "098999be0000044d000a118b000000000000000400000000690fde3c00000000009252e3000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000014f1595c3798e3082aa093e433bd5cbd102a11f9619d20e6e821c1a30fb56b12b000000000000000000000000fc56e7272eebbba5bc6c544e159483c4a38f8ba3000000000000000000000000";

    #[test]
    fn decodes_a_real_deposit_and_reencodes_it() {
        let data = hex::decode(MAINNET).unwrap();
        let info = L1BlockInfo::decode_calldata(&data).unwrap();
        assert_eq!(info.base_fee_scalar, 0x44d);
        assert_eq!(info.blob_base_fee_scalar, 0xa118b);
        assert_eq!(info.sequence_number, 4);
        assert_eq!(info.timestamp, 0x690fde3c);
        assert_eq!(info.number, 0x9252e3);
        assert_eq!(info.base_fee, U256::from(10u64));
        assert_eq!(info.blob_base_fee, U256::from(1u64));
        assert_eq!(
            info.batcher_hash,
            B256::left_padding_from(&hex!("fc56e7272eebbba5bc6c544e159483c4a38f8ba3"))
        );
        assert_eq!(info.encode_calldata().as_ref(), data.as_slice());
    }

    proptest! {
        #[test]
        fn roundtrips(a: u32, b: u32, seq: u64, ts: u64, n: u64, fee: [u8; 32], blob: [u8; 32],
                      hash: [u8; 32], batcher: [u8; 32], op_scalar: u32, op_const: u64) {
            let info = L1BlockInfo {
                base_fee_scalar: a, blob_base_fee_scalar: b, sequence_number: seq, timestamp: ts, number: n,
                base_fee: U256::from_be_bytes(fee), blob_base_fee: U256::from_be_bytes(blob),
                hash: hash.into(), batcher_hash: batcher.into(),
                operator_fee_scalar: op_scalar, operator_fee_constant: op_const,
            };
            let data = info.encode_calldata();
            prop_assert_eq!(data.len(), ISTHMUS_CALLDATA_LEN);
            prop_assert_eq!(L1BlockInfo::decode_calldata(&data).unwrap(), info);
            prop_assert_eq!(L1BlockInfo::decode_calldata(&data[1..]), Err(L1InfoDecodeError::Length(data.len() - 1)));
        }
    }
}
