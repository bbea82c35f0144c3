//! Byte layouts of stored values and composite keys.

use super::StorageError;
use alloy::{
    consensus::Header,
    primitives::{Address, B256, U256},
    rlp::{Decodable, Encodable},
};
use alloy_trie::Nibbles;

/// The flat record of one account: what its account-trie leaf commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRecord {
    /// Transaction count / contract creation count.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the code (KECCAK_EMPTY for none).
    pub code_hash: B256,
    /// Root of the account's storage trie.
    pub storage_root: B256,
}

const ACCOUNT_RECORD_LEN: usize = 8 + 32 + 32 + 32;

impl AccountRecord {
    /// Fixed 104-byte layout: nonce (big-endian u64), balance, code hash, storage root.
    pub fn encode(&self) -> [u8; ACCOUNT_RECORD_LEN] {
        let mut out = [0u8; ACCOUNT_RECORD_LEN];
        out[..8].copy_from_slice(&self.nonce.to_be_bytes());
        out[8..40].copy_from_slice(&self.balance.to_be_bytes::<32>());
        out[40..72].copy_from_slice(self.code_hash.as_slice());
        out[72..].copy_from_slice(self.storage_root.as_slice());
        out
    }

    /// Inverse of [`Self::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        if bytes.len() != ACCOUNT_RECORD_LEN {
            return Err(corrupt(
                "accounts",
                format!("record of {} bytes", bytes.len()),
            ));
        }
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&bytes[..8]);
        Ok(Self {
            nonce: u64::from_be_bytes(nonce),
            balance: U256::from_be_slice(&bytes[8..40]),
            code_hash: B256::from_slice(&bytes[40..72]),
            storage_root: B256::from_slice(&bytes[72..]),
        })
    }
}

pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        table,
        reason: reason.into(),
    }
}

/// A stored header: its hash (32 bytes) then its RLP, so reads never rehash.
pub(crate) fn encode_header(header: &Header, hash: &alloy::primitives::B256) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + header.length());
    out.extend_from_slice(hash.as_slice());
    header.encode(&mut out);
    out
}

pub(crate) fn decode_header(bytes: &[u8]) -> Result<(B256, Header), StorageError> {
    if bytes.len() < 32 {
        return Err(corrupt("headers", "shorter than a hash"));
    }
    let hash = B256::from_slice(&bytes[..32]);
    let header =
        Header::decode(&mut &bytes[32..]).map_err(|e| corrupt("headers", e.to_string()))?;
    Ok((hash, header))
}

/// Reverts layout: account count (u32), then per account address ++ flag ++ record (when the
/// flag is 1); slot count (u32), then per slot address ++ slot ++ value.
pub(crate) fn encode_reverts(reverts: &super::StateReverts) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + reverts.accounts.len() * 125 + reverts.storage.len() * 84);
    out.extend_from_slice(&(reverts.accounts.len() as u32).to_be_bytes());
    for (address, record) in &reverts.accounts {
        out.extend_from_slice(address.as_slice());
        match record {
            Some(r) => {
                out.push(1);
                out.extend_from_slice(&r.encode());
            }
            None => out.push(0),
        }
    }
    out.extend_from_slice(&(reverts.storage.len() as u32).to_be_bytes());
    for (address, slot, value) in &reverts.storage {
        out.extend_from_slice(address.as_slice());
        out.extend_from_slice(&slot.to_be_bytes::<32>());
        out.extend_from_slice(&value.to_be_bytes::<32>());
    }
    out
}

pub(crate) fn decode_reverts(mut bytes: &[u8]) -> Result<super::StateReverts, StorageError> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], StorageError> {
        if bytes.len() < n {
            return Err(corrupt("reverts", "truncated"));
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head)
    }
    let mut reverts = super::StateReverts::default();
    let count = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().expect("4 bytes"));
    for _ in 0..count {
        let address = Address::from_slice(take(&mut bytes, 20)?);
        let record = match take(&mut bytes, 1)?[0] {
            1 => Some(AccountRecord::decode(take(
                &mut bytes,
                ACCOUNT_RECORD_LEN,
            )?)?),
            _ => None,
        };
        reverts.accounts.push((address, record));
    }
    let count = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().expect("4 bytes"));
    for _ in 0..count {
        let address = Address::from_slice(take(&mut bytes, 20)?);
        let slot = U256::from_be_slice(take(&mut bytes, 32)?);
        let value = U256::from_be_slice(take(&mut bytes, 32)?);
        reverts.storage.push((address, slot, value));
    }
    Ok(reverts)
}

/// Key of a storage slot: address ++ slot (big-endian), so one account's slots are contiguous.
pub(crate) fn storage_key(address: &Address, slot: &U256) -> [u8; 52] {
    let mut key = [0u8; 52];
    key[..20].copy_from_slice(address.as_slice());
    key[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    key
}

/// The inclusive key range of all slots of `address`.
pub(crate) fn storage_range(address: &Address) -> ([u8; 52], [u8; 52]) {
    let mut start = [0u8; 52];
    start[..20].copy_from_slice(address.as_slice());
    let mut end = [0xffu8; 52];
    end[..20].copy_from_slice(address.as_slice());
    (start, end)
}

/// Key of a trie node: owner prefix (empty for the account trie) ++ one byte per nibble.
/// Built on the stack: a block writes thousands of these.
pub(crate) fn nibble_key(owner: &[u8], path: &Nibbles) -> NibbleKey {
    let mut key = NibbleKey {
        bytes: [0; NIBBLE_KEY_MAX],
        len: owner.len() + path.len(),
    };
    key.bytes[..owner.len()].copy_from_slice(owner);
    for (byte, nibble) in key.bytes[owner.len()..].iter_mut().zip(path.iter()) {
        *byte = nibble;
    }
    key
}

/// Longest trie node key: a 32-byte owner and a 64-nibble path.
const NIBBLE_KEY_MAX: usize = 32 + 64;

/// A trie node key (see [`nibble_key`]).
pub(crate) struct NibbleKey {
    bytes: [u8; NIBBLE_KEY_MAX],
    len: usize,
}

impl NibbleKey {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn account_record_roundtrips(nonce: u64, balance: [u8; 32], code: [u8; 32], root: [u8; 32]) {
            let record = AccountRecord {
                nonce,
                balance: U256::from_be_bytes(balance),
                code_hash: B256::from(code),
                storage_root: B256::from(root),
            };
            prop_assert_eq!(AccountRecord::decode(&record.encode()).unwrap(), record);
        }

        #[test]
        fn storage_keys_stay_in_their_account_range(addr: [u8; 20], slot: [u8; 32]) {
            let address = Address::from(addr);
            let key = storage_key(&address, &U256::from_be_bytes(slot));
            let (start, end) = storage_range(&address);
            prop_assert!(start <= key && key <= end);
        }
    }

    #[test]
    fn reverts_roundtrip() {
        let reverts = super::super::StateReverts {
            accounts: vec![
                (Address::repeat_byte(1), None),
                (
                    Address::repeat_byte(2),
                    Some(AccountRecord {
                        nonce: 7,
                        balance: U256::from(99u64),
                        code_hash: B256::repeat_byte(3),
                        storage_root: B256::repeat_byte(4),
                    }),
                ),
            ],
            storage: vec![(Address::repeat_byte(5), U256::from(1u64), U256::from(2u64))],
        };
        let encoded = encode_reverts(&reverts);
        assert_eq!(decode_reverts(&encoded).unwrap(), reverts);
        assert!(decode_reverts(&encoded[..encoded.len() - 1]).is_err());
    }

    #[test]
    fn truncated_account_record_is_an_error() {
        assert!(AccountRecord::decode(&[0u8; 10]).is_err());
    }
}
