//! OP Stack rules at the transaction boundaries (SPEC.md §5.9, Isthmus as op-revm 20 runs it):
//! the predeploys that receive fees, the L1Block storage the L1 data fee and the operator fee are
//! read from, and the fee formulas.

use super::{Ctx, StepResult};
use crate::world::Tree;
use alloy::primitives::{Address, U256, address};

/// The L1Block predeploy, written by the L1-info deposit at the start of every block.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// Receives the base fee of every non-deposit transaction.
pub const BASE_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000019");
/// Receives the L1 data fee.
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001a");
/// Receives the operator fee (Isthmus).
pub const OPERATOR_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001b");
/// The sender of the L1-info deposit.
pub const DEPOSITOR: Address = address!("0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001");

/// L1Block slot of the L1 base fee.
pub const L1_BASE_FEE_SLOT: u64 = 1;
/// L1Block slot holding the base fee scalar (bytes 16..20) and blob base fee scalar (20..24).
pub const L1_FEE_SCALARS_SLOT: u64 = 3;
/// L1Block slot of the L1 blob base fee.
pub const L1_BLOB_BASE_FEE_SLOT: u64 = 7;
/// L1Block slot holding the operator fee scalar (bytes 20..24) and constant (24..32).
pub const OPERATOR_FEE_SLOT: u64 = 8;

/// The fee parameters the L1Block predeploy holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1Params {
    /// L1 base fee (slot 1).
    pub l1_base_fee: U256,
    /// Base fee scalar (slot 3, bytes 16..20).
    pub base_fee_scalar: U256,
    /// L1 blob base fee (slot 7).
    pub blob_base_fee: U256,
    /// Blob base fee scalar (slot 3, bytes 20..24).
    pub blob_base_fee_scalar: U256,
    /// Operator fee scalar (slot 8, bytes 20..24).
    pub operator_fee_scalar: u64,
    /// Operator fee constant (slot 8, bytes 24..32).
    pub operator_fee_constant: u64,
}

impl L1Params {
    /// The parameters from the four slot values (slots 1, 3, 7, 8).
    pub fn from_slots(base_fee: U256, scalars: U256, blob_base_fee: U256, operator: U256) -> Self {
        let s = scalars.to_be_bytes::<32>();
        let o = operator.to_be_bytes::<32>();
        let be = |b: &[u8]| b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        Self {
            l1_base_fee: base_fee,
            base_fee_scalar: U256::from(be(&s[16..20])),
            blob_base_fee,
            blob_base_fee_scalar: U256::from(be(&s[20..24])),
            operator_fee_scalar: be(&o[20..24]),
            operator_fee_constant: be(&o[24..32]),
        }
    }

    /// The L1 data fee of a transaction with EIP-2718 encoding `encoded` (Fjord formula, which
    /// Isthmus keeps): `estimatedSize · (16 · l1BaseFee · baseFeeScalar + blobBaseFee ·
    /// blobBaseFeeScalar) / 10^12`, zero for a deposit or an empty encoding.
    pub fn l1_fee(&self, encoded: &[u8]) -> U256 {
        if encoded.is_empty() || encoded[0] == 0x7e {
            return U256::ZERO;
        }
        let scaled = self
            .l1_base_fee
            .saturating_mul(U256::from(16))
            .saturating_mul(self.base_fee_scalar)
            .saturating_add(self.blob_base_fee.saturating_mul(self.blob_base_fee_scalar));
        if scaled.is_zero() {
            return U256::ZERO;
        }
        U256::from(estimated_size(encoded)).saturating_mul(scaled)
            / U256::from(1_000_000_000_000u64)
    }
}

/// Fjord's size estimate, scaled by 10^6: `max(100 · 10^6, 836500 · flzLen − 42585600)`, with
/// `flzLen` the FastLZ (level 1) compressed length of the encoding.
pub fn estimated_size(encoded: &[u8]) -> u64 {
    op_revm::estimate_tx_compressed_size(encoded)
}

/// The Isthmus operator fee of `gas`: `gas · scalar / 10^6 + constant`.
pub fn operator_fee(gas: u64, scalar: u64, constant: u64) -> U256 {
    (U256::from(gas).saturating_mul(U256::from(scalar)) / U256::from(1_000_000u64))
        .saturating_add(U256::from(constant))
}

/// Reads the fee parameters from the L1Block predeploy in the current world: the account, then
/// slots 1, 3, 7 and 8, each from the overlay or else the base storage trie.
pub(crate) fn read_params(cx: &mut Ctx<'_>) -> StepResult<L1Params> {
    let rec = cx.account(L1_BLOCK)?;
    let mut values = [U256::ZERO; 4];
    for (value, slot) in values.iter_mut().zip([
        L1_BASE_FEE_SLOT,
        L1_FEE_SCALARS_SLOT,
        L1_BLOB_BASE_FEE_SLOT,
        OPERATOR_FEE_SLOT,
    ]) {
        let slot = U256::from(slot);
        *value = match cx.overlay_slot(Tree::Accounts, L1_BLOCK, &rec, slot)? {
            Some(v) => v,
            None => cx.base_slot(L1_BLOCK, &rec, slot)?,
        };
    }
    Ok(L1Params::from_slots(
        values[0], values[1], values[2], values[3],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters and formulas agree with op-revm's own `L1BlockInfo`.
    #[test]
    fn fees_match_op_revm() {
        let scalars = U256::from_be_slice(&{
            let mut b = [0u8; 32];
            b[16..20].copy_from_slice(&1368u32.to_be_bytes());
            b[20..24].copy_from_slice(&810949u32.to_be_bytes());
            b
        });
        let operator = U256::from_be_slice(&{
            let mut b = [0u8; 32];
            b[20..24].copy_from_slice(&7_000u32.to_be_bytes());
            b[24..32].copy_from_slice(&300u64.to_be_bytes());
            b
        });
        let p = L1Params::from_slots(
            U256::from(1_000_000_000u64),
            scalars,
            U256::from(1),
            operator,
        );
        let info = op_revm::L1BlockInfo {
            l1_base_fee: p.l1_base_fee,
            l1_base_fee_scalar: p.base_fee_scalar,
            l1_blob_base_fee: Some(p.blob_base_fee),
            l1_blob_base_fee_scalar: Some(p.blob_base_fee_scalar),
            operator_fee_scalar: Some(U256::from(p.operator_fee_scalar)),
            operator_fee_constant: Some(U256::from(p.operator_fee_constant)),
            ..Default::default()
        };
        for tx in [
            vec![0x02; 150],
            (0..=255u8).collect::<Vec<_>>(),
            vec![0x7e, 1, 2],
        ] {
            let mut info = info.clone();
            assert_eq!(
                p.l1_fee(&tx),
                info.calculate_tx_l1_cost(&tx, op_revm::OpSpecId::ISTHMUS)
            );
            for gas in [0u64, 21_000, 1_234_567] {
                let want =
                    info.operator_fee_charge(&[2], U256::from(gas), op_revm::OpSpecId::ISTHMUS);
                assert_eq!(operator_fee(gas, 7_000, 300), want);
            }
        }
    }
}
