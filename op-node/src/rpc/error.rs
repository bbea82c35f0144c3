//! Every failure an RPC method can return, mapped to JSON-RPC codes in one place, as geth
//! gives them (clients match on these codes and messages).

use crate::{storage::StorageError, txpool::PoolError};
use alloy::primitives::Bytes;
use jsonrpsee::types::ErrorObjectOwned;

/// geth's code for execution errors and refused transactions.
const SERVER_ERROR: i32 = -32000;
/// Invalid method parameters.
const INVALID_PARAMS: i32 = -32602;
/// geth's code for a revert, with the revert data attached.
const EXECUTION_REVERTED: i32 = 3;
/// A request exceeded a configured limit (EIP-1474).
const LIMIT_EXCEEDED: i32 = -32005;
/// Internal failure.
const INTERNAL: i32 = -32603;

/// An error answered to an RPC client.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The parameters were malformed.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The pool refused a transaction.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The call reverted.
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Revert {
        /// The decoded `Error(string)` reason, if there is one.
        reason: Option<String>,
        /// The raw revert data.
        data: Bytes,
    },
    /// The call failed without reverting (out of gas, invalid opcode, a refused transaction).
    #[error("{0}")]
    Execution(String),
    /// A block the node does not have, or state it does not keep.
    #[error("{0}")]
    Unavailable(String),
    /// A configured limit was exceeded.
    #[error("{0}")]
    Limit(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(err: RpcError) -> Self {
        let message = err.to_string();
        match err {
            RpcError::InvalidParams(_) => {
                ErrorObjectOwned::owned(INVALID_PARAMS, message, None::<()>)
            }
            RpcError::Revert { data, .. } => {
                ErrorObjectOwned::owned(EXECUTION_REVERTED, message, Some(data))
            }
            RpcError::Limit(_) => ErrorObjectOwned::owned(LIMIT_EXCEEDED, message, None::<()>),
            RpcError::Storage(_) | RpcError::Internal(_) => {
                ErrorObjectOwned::owned(INTERNAL, message, None::<()>)
            }
            RpcError::Pool(_) | RpcError::Execution(_) | RpcError::Unavailable(_) => {
                ErrorObjectOwned::owned(SERVER_ERROR, message, None::<()>)
            }
        }
    }
}

impl RpcError {
    /// A revert, with the reason decoded as geth does: the string of `Error(string)`, or the
    /// kind of a `Panic(uint256)`; custom errors carry no reason, only their data.
    pub fn revert(data: Bytes) -> Self {
        use alloy::sol_types::{Panic, Revert, SolError};
        let reason = Revert::abi_decode(&data)
            .map(|r| r.reason)
            .ok()
            .or_else(|| {
                Panic::abi_decode(&data).ok().map(|p| {
                    p.kind().map_or_else(
                        || format!("panic code {:#x}", p.code),
                        |k| k.as_str().to_string(),
                    )
                })
            });
        Self::Revert { reason, data }
    }
}

/// Result of an RPC method.
pub type RpcResult<T> = Result<T, RpcError>;
