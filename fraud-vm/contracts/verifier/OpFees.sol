// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OP Stack fee rules at the transaction boundaries (fraud-vm/SPEC.md §5.9, Isthmus as
/// op-revm 20 runs it; Rust: step/op.rs)
/// @notice The fee vaults, the operator fee, and the L1 data fee from the L1Block predeploy's
/// parameters. Pure functions of their inputs: they do not depend on how a transaction's record
/// reached the step.
library OpFees {
    /// The L1Block predeploy, written by the L1-info deposit at the start of every block.
    uint256 internal constant L1_BLOCK = 0x004200000000000000000000000000000000000015;
    /// Receives the base fee of every non-deposit transaction.
    uint256 internal constant BASE_FEE_VAULT = 0x004200000000000000000000000000000000000019;
    /// Receives the L1 data fee.
    uint256 internal constant L1_FEE_VAULT = 0x00420000000000000000000000000000000000001a;
    /// Receives the operator fee (Isthmus).
    uint256 internal constant OPERATOR_FEE_VAULT = 0x00420000000000000000000000000000000000001b;
    /// The sender of the L1-info deposit.
    uint256 internal constant DEPOSITOR = 0x00deaddeaddeaddeaddeaddeaddeaddeaddeaddead0001;
    /// L1Block slots: the L1 base fee, the fee scalars (base fee scalar at bytes 16..20, blob
    /// base fee scalar at 20..24), the L1 blob base fee, the operator fee parameters (scalar at
    /// bytes 20..24, constant at 24..32).
    uint256 internal constant L1_BASE_FEE_SLOT = 1;
    uint256 internal constant L1_FEE_SCALARS_SLOT = 3;
    uint256 internal constant L1_BLOB_BASE_FEE_SLOT = 7;
    uint256 internal constant OPERATOR_FEE_SLOT = 8;
    /// Block environment `rules` of an OP Stack Isthmus block (SPEC.md §3.6).
    uint256 internal constant ISTHMUS = 1;

    /// @notice The Isthmus operator fee of `gas`: `gas · scalar / 10^6 + constant` (saturating).
    function operatorFee(uint256 gas, uint256 scalar, uint256 constant_) internal pure returns (uint256) {
        // gas and scalar are u64: the product cannot overflow.
        return saturatingAdd((gas * scalar) / 1_000_000, constant_);
    }

    /// @notice `a + b`, `2^256 − 1` on overflow.
    function saturatingAdd(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c < a ? type(uint256).max : c;
        }
    }
}
