//! State as of a block, for RPC reads: the latest state straight from a storage snapshot, or
//! an older block's state rebuilt by laying the stored reverts of the blocks after it over
//! the latest state (within a bounded window).

use super::error::{RpcError, RpcResult};
use crate::{
    engine::state::StateDbError,
    storage::{AccountRecord, StorageError, StoreReader},
};
use alloy::primitives::{
    Address, B256, Bytes, KECCAK256_EMPTY, U256,
    map::{AddressMap, HashMap},
};
use revm::{DatabaseRef, bytecode::Bytecode, state::AccountInfo};

/// Read access to the state of one block.
pub struct StateView<'a> {
    reader: &'a StoreReader,
    /// The block whose state this is.
    pub number: u64,
    accounts: AddressMap<Option<AccountRecord>>,
    storage: HashMap<(Address, U256), U256>,
}

impl std::fmt::Debug for StateView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateView")
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl<'a> StateView<'a> {
    /// The state after block `number`, if it is within `max_depth` blocks of the head.
    pub fn at(reader: &'a StoreReader, number: u64, head: u64, max_depth: u64) -> RpcResult<Self> {
        if number > head {
            return Err(RpcError::Unavailable("header not found".into()));
        }
        if head - number > max_depth {
            return Err(RpcError::Unavailable(format!(
                "historical state unavailable: block {number} is more than {max_depth} blocks behind the head ({head})"
            )));
        }
        let mut view = Self {
            reader,
            number,
            accounts: AddressMap::default(),
            storage: HashMap::default(),
        };
        // Newest first, so the oldest block's pre-values (the values at `number`) win.
        for n in (number + 1..=head).rev() {
            let reverts = reader.reverts(n)?.ok_or_else(|| {
                RpcError::Unavailable(format!("state reverts of block {n} are missing"))
            })?;
            for (address, record) in reverts.accounts {
                view.accounts.insert(address, record);
            }
            for (address, slot, value) in reverts.storage {
                view.storage.insert((address, slot), value);
            }
        }
        Ok(view)
    }

    /// The account record.
    pub fn account(&self, address: &Address) -> Result<Option<AccountRecord>, StorageError> {
        match self.accounts.get(address) {
            Some(record) => Ok(*record),
            None => self.reader.account(address),
        }
    }

    /// A storage slot.
    pub fn storage(&self, address: &Address, slot: &U256) -> Result<U256, StorageError> {
        match self.storage.get(&(*address, *slot)) {
            Some(value) => Ok(*value),
            None => self.reader.storage(address, slot),
        }
    }

    /// The accounts whose records differ from the latest state, with their values here.
    pub fn account_overrides(&self) -> impl Iterator<Item = (&Address, &Option<AccountRecord>)> {
        self.accounts.iter()
    }

    /// The slots of `address` that differ from the latest state, with their values here.
    pub fn storage_overrides(&self, address: Address) -> impl Iterator<Item = (U256, U256)> + '_ {
        self.storage
            .iter()
            .filter(move |((a, _), _)| *a == address)
            .map(|((_, slot), value)| (*slot, *value))
    }

    /// The account's code.
    pub fn code(&self, address: &Address) -> Result<Bytes, StorageError> {
        match self.account(address)? {
            Some(a) if a.code_hash != KECCAK256_EMPTY => {
                Ok(self.reader.code(&a.code_hash)?.unwrap_or_default())
            }
            _ => Ok(Bytes::new()),
        }
    }
}

impl DatabaseRef for StateView<'_> {
    type Error = StateDbError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: (a.code_hash == KECCAK256_EMPTY).then(Bytecode::default),
            account_id: None,
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(Bytecode::new_raw(
            self.reader.code(&code_hash)?.unwrap_or_default(),
        ))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.storage(&address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        if number > self.number {
            return Ok(B256::ZERO);
        }
        Ok(self
            .reader
            .header(number)?
            .map(|(hash, _)| hash)
            .unwrap_or_default())
    }
}
