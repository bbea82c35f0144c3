// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Why a block end step is rejected (fraud-vm/SPEC.md §5.19); the names follow the Rust
// reference's `VerifyError`.

/// The sealing record does not match the Sealing state's `tx_env_hash`.
error BadSealing();
/// The fold key is not the overlay's smallest present key, or its account is folded twice.
error BadFoldKey();
/// A receipt the transaction's type cannot have, or a receipt chain other than the block's.
error BadReceipt();
