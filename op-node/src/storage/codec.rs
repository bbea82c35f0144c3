//! Byte layouts of stored values and composite keys.

use super::StorageError;
use alloy::{
    consensus::Header,
    primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256},
    rlp::{Decodable, Encodable},
};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};

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

impl AccountRecord {
    /// The account as its account-trie leaf holds it (the leaf's value is its RLP).
    pub fn trie_account(&self) -> alloy_trie::TrieAccount {
        alloy_trie::TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            storage_root: self.storage_root,
            code_hash: self.code_hash,
        }
    }

    /// Compact layout: a flags byte (bit 0: a code hash follows, bit 1: a storage root
    /// follows), the nonce and the balance as length-prefixed big-endian integers without
    /// leading zeros, then the code hash and storage root when they are not those of an
    /// account without code or storage. A plain account takes 10 to 20 bytes, not 104.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_RECORD_LEN);
        self.encode_into(&mut out);
        out
    }

    /// Appends [`Self::encode`]'s bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let has_code = self.code_hash != KECCAK256_EMPTY;
        let has_storage = self.storage_root != EMPTY_ROOT_HASH;
        out.push(u8::from(has_code) | (u8::from(has_storage) << 1));
        put_trimmed(out, &self.nonce.to_be_bytes());
        put_trimmed(out, &self.balance.to_be_bytes::<32>());
        if has_code {
            out.extend_from_slice(self.code_hash.as_slice());
        }
        if has_storage {
            out.extend_from_slice(self.storage_root.as_slice());
        }
    }

    /// Inverse of [`Self::encode`]; the whole of `bytes` must be one record.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, StorageError> {
        let record = Self::decode_from(&mut bytes, "accounts")?;
        if !bytes.is_empty() {
            return Err(corrupt("accounts", "trailing bytes after a record"));
        }
        Ok(record)
    }

    /// Decodes one record from the front of `bytes`.
    fn decode_from(bytes: &mut &[u8], table: &'static str) -> Result<Self, StorageError> {
        let flags = take(bytes, 1, table)?[0];
        if flags > 3 {
            return Err(corrupt(table, format!("record flags {flags:#x}")));
        }
        let nonce = take_trimmed(bytes, 8, table)?;
        let balance = take_trimmed(bytes, 32, table)?;
        let mut nonce_bytes = [0u8; 8];
        nonce_bytes[8 - nonce.len()..].copy_from_slice(nonce);
        let code_hash = if flags & 1 != 0 {
            B256::from_slice(take(bytes, 32, table)?)
        } else {
            KECCAK256_EMPTY
        };
        let storage_root = if flags & 2 != 0 {
            B256::from_slice(take(bytes, 32, table)?)
        } else {
            EMPTY_ROOT_HASH
        };
        Ok(Self {
            nonce: u64::from_be_bytes(nonce_bytes),
            balance: U256::from_be_slice(balance),
            code_hash,
            storage_root,
        })
    }
}

/// Longest compact record: flags, a full nonce and balance with their lengths, two hashes.
const MAX_RECORD_LEN: usize = 1 + 9 + 33 + 32 + 32;

/// Appends `bytes` without its leading zeros, after a length byte.
fn put_trimmed(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    out.push((bytes.len() - start) as u8);
    out.extend_from_slice(&bytes[start..]);
}

/// Reads what [`put_trimmed`] wrote, at most `max` bytes long.
fn take_trimmed<'a>(
    bytes: &mut &'a [u8],
    max: usize,
    table: &'static str,
) -> Result<&'a [u8], StorageError> {
    let len = usize::from(take(bytes, 1, table)?[0]);
    if len > max {
        return Err(corrupt(
            table,
            format!("a {len}-byte integer (at most {max})"),
        ));
    }
    take(bytes, len, table)
}

/// Splits `n` bytes off the front of `bytes`.
fn take<'a>(bytes: &mut &'a [u8], n: usize, table: &'static str) -> Result<&'a [u8], StorageError> {
    if bytes.len() < n {
        return Err(corrupt(table, "truncated"));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

fn take_u32(bytes: &mut &[u8], table: &'static str) -> Result<u32, StorageError> {
    Ok(u32::from_be_bytes(
        take(bytes, 4, table)?.try_into().expect("4 bytes"),
    ))
}

fn take_address(bytes: &mut &[u8], table: &'static str) -> Result<Address, StorageError> {
    Ok(Address::from_slice(take(bytes, 20, table)?))
}

fn take_u256(bytes: &mut &[u8], table: &'static str) -> Result<U256, StorageError> {
    Ok(U256::from_be_slice(take_trimmed(bytes, 32, table)?))
}

fn put_u256(out: &mut Vec<u8>, value: &U256) {
    put_trimmed(out, &value.to_be_bytes::<32>());
}

/// A count of items that each take at least `min_len` bytes, checked against what is left so
/// a corrupt count cannot make a decoder reserve memory it never fills.
fn take_count(
    bytes: &mut &[u8],
    min_len: usize,
    table: &'static str,
) -> Result<usize, StorageError> {
    let count = take_u32(bytes, table)? as usize;
    if count.saturating_mul(min_len) > bytes.len() {
        return Err(corrupt(table, format!("{count} items do not fit")));
    }
    Ok(count)
}

/// An optional account: a presence byte, then the record.
fn put_account(out: &mut Vec<u8>, address: &Address, record: &Option<AccountRecord>) {
    out.extend_from_slice(address.as_slice());
    match record {
        Some(r) => {
            out.push(1);
            r.encode_into(out);
        }
        None => out.push(0),
    }
}

fn take_account(
    bytes: &mut &[u8],
    table: &'static str,
) -> Result<(Address, Option<AccountRecord>), StorageError> {
    let address = take_address(bytes, table)?;
    let record = match take(bytes, 1, table)?[0] {
        0 => None,
        1 => Some(AccountRecord::decode_from(bytes, table)?),
        flag => return Err(corrupt(table, format!("account presence byte {flag}"))),
    };
    Ok((address, record))
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

/// Reverts layout: account count (u32), then per account address ++ presence byte ++ compact
/// record; slot count (u32), then per slot address ++ slot ++ value (length-prefixed, without
/// leading zeros).
pub(crate) fn encode_reverts(reverts: &super::StateReverts) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + reverts.accounts.len() * 40 + reverts.storage.len() * 60);
    out.extend_from_slice(&(reverts.accounts.len() as u32).to_be_bytes());
    for (address, record) in &reverts.accounts {
        put_account(&mut out, address, record);
    }
    out.extend_from_slice(&(reverts.storage.len() as u32).to_be_bytes());
    for (address, slot, value) in &reverts.storage {
        out.extend_from_slice(address.as_slice());
        put_u256(&mut out, slot);
        put_u256(&mut out, value);
    }
    out
}

pub(crate) fn decode_reverts(mut bytes: &[u8]) -> Result<super::StateReverts, StorageError> {
    const T: &str = "reverts";
    let bytes = &mut bytes;
    let mut reverts = super::StateReverts::default();
    let count = take_count(bytes, 21, T)?;
    reverts.accounts.reserve(count);
    for _ in 0..count {
        reverts.accounts.push(take_account(bytes, T)?);
    }
    let count = take_count(bytes, 22, T)?;
    reverts.storage.reserve(count);
    for _ in 0..count {
        let address = take_address(bytes, T)?;
        let slot = take_u256(bytes, T)?;
        let value = take_u256(bytes, T)?;
        reverts.storage.push((address, slot, value));
    }
    if !bytes.is_empty() {
        return Err(corrupt(T, "trailing bytes"));
    }
    Ok(reverts)
}

/// What one block wrote to the flat state, as the chain file keeps it: enough to bring a state
/// file that holds the block's parent forward to the block (its trie nodes are recomputed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StateChanges {
    /// New account records; `None` deletes the account.
    pub accounts: Vec<(Address, Option<AccountRecord>)>,
    /// Accounts whose storage is cleared before `storage` applies.
    pub wiped_storage: Vec<Address>,
    /// Storage writes; zero deletes the slot.
    pub storage: Vec<(Address, U256, U256)>,
    /// New bytecode by hash.
    pub code: Vec<(B256, Bytes)>,
}

/// Changes layout: accounts as in the reverts; wiped count (u32) then addresses; slot count
/// (u32) then address ++ slot ++ value as in the reverts; code count (u32) then per code its
/// hash, length (u32) and bytes.
pub(crate) fn encode_changes(
    accounts: &[super::AccountWrite],
    wiped_storage: &[Address],
    storage: &[super::SlotWrite],
    code: &[(B256, Bytes)],
) -> Vec<u8> {
    let code_len: usize = code.iter().map(|(_, c)| 36 + c.len()).sum();
    let mut out = Vec::with_capacity(
        16 + accounts.len() * 40 + wiped_storage.len() * 20 + storage.len() * 60 + code_len,
    );
    out.extend_from_slice(&(accounts.len() as u32).to_be_bytes());
    for write in accounts {
        put_account(&mut out, &write.address, &write.record);
    }
    out.extend_from_slice(&(wiped_storage.len() as u32).to_be_bytes());
    for address in wiped_storage {
        out.extend_from_slice(address.as_slice());
    }
    out.extend_from_slice(&(storage.len() as u32).to_be_bytes());
    for write in storage {
        out.extend_from_slice(write.address.as_slice());
        put_u256(&mut out, &write.slot);
        put_u256(&mut out, &write.value);
    }
    out.extend_from_slice(&(code.len() as u32).to_be_bytes());
    for (hash, bytes) in code {
        out.extend_from_slice(hash.as_slice());
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

pub(crate) fn decode_changes(mut bytes: &[u8]) -> Result<StateChanges, StorageError> {
    const T: &str = "changes";
    let bytes = &mut bytes;
    let mut changes = StateChanges::default();
    let count = take_count(bytes, 21, T)?;
    changes.accounts.reserve(count);
    for _ in 0..count {
        changes.accounts.push(take_account(bytes, T)?);
    }
    let count = take_count(bytes, 20, T)?;
    for _ in 0..count {
        changes.wiped_storage.push(take_address(bytes, T)?);
    }
    let count = take_count(bytes, 22, T)?;
    changes.storage.reserve(count);
    for _ in 0..count {
        let address = take_address(bytes, T)?;
        let slot = take_u256(bytes, T)?;
        let value = take_u256(bytes, T)?;
        changes.storage.push((address, slot, value));
    }
    let count = take_count(bytes, 36, T)?;
    for _ in 0..count {
        let hash = B256::from_slice(take(bytes, 32, T)?);
        let len = take_u32(bytes, T)? as usize;
        changes
            .code
            .push((hash, Bytes::copy_from_slice(take(bytes, len, T)?)));
    }
    if !bytes.is_empty() {
        return Err(corrupt(T, "trailing bytes"));
    }
    Ok(changes)
}

/// Key of a storage slot: keccak256(address) ++ keccak256(slot), the path of its leaf in the
/// account's storage trie after the trie's owner prefix, so one account's slots are contiguous
/// and so are the leaves under any path of its trie.
pub(crate) fn storage_key(hashed_address: &B256, hashed_slot: &B256) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(hashed_address.as_slice());
    key[32..].copy_from_slice(hashed_slot.as_slice());
    key
}

/// The inclusive key range of all slots of the account whose hashed address is
/// `hashed_address`.
pub(crate) fn storage_range(hashed_address: &B256) -> ([u8; 64], [u8; 64]) {
    let mut start = [0u8; 64];
    start[..32].copy_from_slice(hashed_address.as_slice());
    let mut end = [0xffu8; 64];
    end[..32].copy_from_slice(hashed_address.as_slice());
    (start, end)
}

/// The inclusive range of 32-byte hashed keys whose nibbles start with `prefix` (at most 64
/// nibbles): the rows of the leaves under trie path `prefix`.
pub(crate) fn hashed_prefix_range(prefix: &Nibbles) -> ([u8; 32], [u8; 32]) {
    let mut start = [0u8; 32];
    let mut end = [0xffu8; 32];
    for (i, nibble) in prefix.iter().enumerate().take(64) {
        let byte = i / 2;
        if i % 2 == 0 {
            start[byte] = nibble << 4;
            end[byte] = (nibble << 4) | 0x0f;
        } else {
            start[byte] |= nibble;
            end[byte] = (end[byte] & 0xf0) | nibble;
        }
    }
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

    /// Hashes that are sometimes the "none" values the compact encoding leaves out.
    fn hash_or(none: B256) -> impl Strategy<Value = B256> {
        prop_oneof![Just(none), any::<[u8; 32]>().prop_map(B256::from)]
    }

    fn record() -> impl Strategy<Value = AccountRecord> {
        (
            any::<u64>(),
            prop_oneof![
                any::<u64>().prop_map(U256::from),
                any::<[u8; 32]>().prop_map(U256::from_be_bytes)
            ],
            hash_or(KECCAK256_EMPTY),
            hash_or(EMPTY_ROOT_HASH),
        )
            .prop_map(|(nonce, balance, code_hash, storage_root)| AccountRecord {
                nonce,
                balance,
                code_hash,
                storage_root,
            })
    }

    fn address() -> impl Strategy<Value = Address> {
        any::<[u8; 20]>().prop_map(Address::from)
    }

    fn word() -> impl Strategy<Value = U256> {
        prop_oneof![
            any::<u8>().prop_map(U256::from),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes)
        ]
    }

    fn changes() -> impl Strategy<Value = StateChanges> {
        (
            proptest::collection::vec((address(), proptest::option::of(record())), 0..6),
            proptest::collection::vec(address(), 0..3),
            proptest::collection::vec((address(), word(), word()), 0..6),
            proptest::collection::vec(
                (
                    any::<[u8; 32]>().prop_map(B256::from),
                    proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from),
                ),
                0..3,
            ),
        )
            .prop_map(|(accounts, wiped_storage, storage, code)| StateChanges {
                accounts,
                wiped_storage,
                storage,
                code,
            })
    }

    proptest! {
        #[test]
        fn account_record_roundtrips(record in record()) {
            let encoded = record.encode();
            prop_assert!(encoded.len() <= MAX_RECORD_LEN);
            prop_assert_eq!(AccountRecord::decode(&encoded).unwrap(), record);
            // Every proper prefix is refused, never misread.
            for len in 0..encoded.len() {
                prop_assert!(AccountRecord::decode(&encoded[..len]).is_err());
            }
        }

        #[test]
        fn changes_roundtrip(changes in changes()) {
            let accounts: Vec<_> = changes
                .accounts
                .iter()
                .map(|(address, record)| super::super::AccountWrite::new(*address, *record))
                .collect();
            let storage: Vec<_> = changes
                .storage
                .iter()
                .map(|(address, slot, value)| super::super::SlotWrite::new(*address, *slot, *value))
                .collect();
            let encoded = encode_changes(
                &accounts,
                &changes.wiped_storage,
                &storage,
                &changes.code,
            );
            prop_assert_eq!(decode_changes(&encoded).unwrap(), changes);
            for len in 0..encoded.len() {
                prop_assert!(decode_changes(&encoded[..len]).is_err());
            }
        }

        #[test]
        fn reverts_roundtrip(changes in changes()) {
            let reverts = super::super::StateReverts {
                accounts: changes.accounts,
                storage: changes.storage,
            };
            let encoded = encode_reverts(&reverts);
            prop_assert_eq!(decode_reverts(&encoded).unwrap(), reverts);
            for len in 0..encoded.len() {
                prop_assert!(decode_reverts(&encoded[..len]).is_err());
            }
        }

        /// Arbitrary bytes decode to an error or to something, never to a panic or a huge
        /// allocation.
        #[test]
        fn decoders_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_changes(&bytes);
            let _ = decode_reverts(&bytes);
            let _ = AccountRecord::decode(&bytes);
        }

        #[test]
        fn storage_keys_stay_in_their_account_range(addr: [u8; 32], slot: [u8; 32], other: [u8; 32]) {
            let (address, other) = (B256::from(addr), B256::from(other));
            let key = storage_key(&address, &B256::from(slot));
            let (start, end) = storage_range(&address);
            prop_assert!(start <= key && key <= end);
            let (start, end) = storage_range(&other);
            prop_assert_eq!(start <= key && key <= end, address == other);
        }

        /// A hashed key is in the range of a nibble prefix exactly when its nibbles start with
        /// it, for prefixes of every length, odd ones included.
        #[test]
        fn prefix_ranges_hold_the_keys_under_the_prefix(key: [u8; 32], other: [u8; 32], len in 0usize..=64) {
            let prefix = Nibbles::unpack(key).slice(..len);
            let (start, end) = hashed_prefix_range(&prefix);
            prop_assert!(start <= key && key <= end);
            let inside = start <= other && other <= end;
            prop_assert_eq!(inside, Nibbles::unpack(other).starts_with(&prefix));
        }
    }

    #[test]
    fn plain_account_is_small() {
        let record = AccountRecord {
            nonce: 3,
            balance: U256::from(10u64).pow(U256::from(21u64)),
            code_hash: KECCAK256_EMPTY,
            storage_root: EMPTY_ROOT_HASH,
        };
        assert_eq!(record.encode().len(), 1 + 2 + 10);
    }

    #[test]
    fn oversized_integers_are_refused() {
        // Flags 0, a 9-byte nonce: more than a u64 holds.
        assert!(AccountRecord::decode(&[0, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]).is_err());
        assert!(AccountRecord::decode(&[4, 0, 0]).is_err());
    }
}
