//! The bridge's shared formats: how L1 deposits become L2 deposit transactions, how L2
//! withdrawals are identified, and the output roots that L1 proposals commit to.
//!
//! These are the OP Stack's published formats (so viem's op-stack actions and existing tools
//! work unchanged); the code is ours.

pub mod bindings;
pub mod deposit;
pub mod inbox;
pub mod l1_info;
pub mod log_index;
pub mod output;
pub mod proof;
pub mod withdrawal;
