//! Receipts as the block end reads them (SPEC.md §5.19): what one transaction's receipt holds
//! beyond its type, checked against the receipt chain the transaction steps built, and its
//! EIP-2718 encoding and logs bloom as op-node's block executor makes them.

use crate::step::{receipt_link_of, receipt_open};
use crate::world::log_link;
use alloy::consensus::{Eip658Value, Receipt as EthReceipt, ReceiptWithBloom};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{B256, Bloom, Log, logs_bloom};
use op_alloy::consensus::{OpDepositReceipt, OpReceiptEnvelope};

/// The OP deposit transaction type.
pub const DEPOSIT_TX_TYPE: u8 = 0x7e;

/// One transaction's receipt: its outcome and, for a deposit, its sender's nonce before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// The index of the receipt's transaction in the block's list [v0.6] (the list holds the
    /// skipped transactions too, which have no receipt).
    pub tx_index: u64,
    /// A deposit's sender nonce before the deposit (the deposit receipt carries it).
    pub deposit_nonce: Option<u64>,
    /// Whether the transaction succeeded (EIP-658 status).
    pub success: bool,
    /// Gas used by the block up to and including this transaction.
    pub cumulative_gas: u64,
    /// The transaction's logs.
    pub logs: Vec<Log>,
}

impl Receipt {
    /// The receipt chain `chain` followed by this receipt: the opening of the transaction start
    /// and the link of the transaction end (SPEC.md §5.9).
    pub fn chain_after(&self, chain: B256) -> B256 {
        let logs_root = self.logs.iter().fold(B256::ZERO, log_link);
        receipt_link_of(
            receipt_open(chain, self.deposit_nonce, self.tx_index),
            self.success,
            self.cumulative_gas,
            logs_root,
            self.logs.len() as u64,
        )
    }

    /// The receipt's 2048-bit logs bloom.
    pub fn bloom(&self) -> Bloom {
        logs_bloom(self.logs.iter())
    }

    /// The receipt's EIP-2718 encoding for a transaction of type `tx_type` (0 legacy, 1, 2, 4,
    /// or the deposit 0x7e, whose receipt has its nonce and version 1), or `None` for a type an
    /// Isthmus block does not hold or a deposit without a nonce.
    pub fn encode(&self, tx_type: u8) -> Option<Vec<u8>> {
        let inner = EthReceipt {
            status: Eip658Value::Eip658(self.success),
            cumulative_gas_used: self.cumulative_gas,
            logs: self.logs.clone(),
        };
        let with_bloom = |r: EthReceipt<Log>| ReceiptWithBloom::new(r.clone(), self.bloom());
        let envelope = match (tx_type, self.deposit_nonce) {
            (0, None) => OpReceiptEnvelope::Legacy(with_bloom(inner)),
            (1, None) => OpReceiptEnvelope::Eip2930(with_bloom(inner)),
            (2, None) => OpReceiptEnvelope::Eip1559(with_bloom(inner)),
            (4, None) => OpReceiptEnvelope::Eip7702(with_bloom(inner)),
            (DEPOSIT_TX_TYPE, Some(nonce)) => OpReceiptEnvelope::Deposit(ReceiptWithBloom::new(
                OpDepositReceipt {
                    inner,
                    deposit_nonce: Some(nonce),
                    deposit_receipt_version: Some(1),
                },
                self.bloom(),
            )),
            _ => return None,
        };
        Some(envelope.encoded_2718())
    }
}

/// The type of the transaction with EIP-2718 encoding `encoded`: its first byte if below
/// `0x80` (a typed transaction), else 0 (a legacy transaction is an RLP list).
pub fn tx_type(encoded: &[u8]) -> u8 {
    match encoded.first() {
        Some(b) if *b < 0x80 => *b,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, Bytes};

    #[test]
    fn encodings_are_the_block_executors() {
        let log = Log::new_unchecked(
            Address::repeat_byte(1),
            vec![B256::repeat_byte(2)],
            Bytes::from(vec![3; 40]),
        );
        let r = Receipt {
            tx_index: 0,
            deposit_nonce: None,
            success: true,
            cumulative_gas: 21_000,
            logs: vec![log.clone()],
        };
        let legacy = r.encode(0).expect("legacy");
        assert!(legacy[0] >= 0xc0, "a legacy receipt is an RLP list");
        assert_eq!(r.encode(2).expect("1559")[0], 2);
        assert_eq!(r.encode(0x7e), None, "a deposit receipt needs its nonce");
        assert_eq!(r.encode(3), None, "no blob receipts on the L2");
        let d = Receipt {
            deposit_nonce: Some(7),
            ..r.clone()
        };
        let encoded = d.encode(0x7e).expect("deposit");
        assert_eq!(encoded[0], 0x7e);
        assert_eq!(d.encode(2), None);
        assert!(r.bloom().contains_input(alloy::primitives::BloomInput::Raw(
            Address::repeat_byte(1).as_slice()
        )));
        assert_eq!(tx_type(&[0xf8, 1]), 0);
        assert_eq!(tx_type(&[0x7e, 1]), 0x7e);
    }
}
