// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {FastLz} from "./FastLz.sol";

/// The fee parameters the L1Block predeploy holds (Rust: `L1Params`).
struct L1Params {
    uint256 l1BaseFee;
    uint256 baseFeeScalar;
    uint256 blobBaseFee;
    uint256 blobBaseFeeScalar;
    uint256 operatorFeeScalar;
    uint256 operatorFeeConstant;
}

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
    uint256 internal constant DEPOSITOR = 0x00deaddeaddeaddeaddeaddeaddeaddeaddead0001;
    /// L1Block slots: the L1 base fee, the fee scalars (base fee scalar at bytes 16..20, blob
    /// base fee scalar at 20..24), the L1 blob base fee, the operator fee parameters (scalar at
    /// bytes 20..24, constant at 24..32).
    uint256 internal constant L1_BASE_FEE_SLOT = 1;
    uint256 internal constant L1_FEE_SCALARS_SLOT = 3;
    uint256 internal constant L1_BLOB_BASE_FEE_SLOT = 7;
    uint256 internal constant OPERATOR_FEE_SLOT = 8;
    /// Block environment `rules` of an OP Stack Isthmus block (SPEC.md §3.6).
    uint256 internal constant ISTHMUS = 1;

    /// Fjord's size estimate: `max(100 · 10^6, 836500 · flzLen − 42585600)`.
    uint256 internal constant MIN_TX_SIZE_SCALED = 100_000_000;
    uint256 internal constant FASTLZ_COEF = 836_500;
    uint256 internal constant FASTLZ_INTERCEPT = 42_585_600;

    /// @notice Reads the fee parameters from the L1Block predeploy in the current world: the
    /// account, then slots 1, 3, 7 and 8, each from the overlay or else the base storage trie.
    function readParams(Ctx memory cx) internal pure returns (L1Params memory p) {
        Account memory a = WorldAccess.account(cx, L1_BLOCK);
        p.l1BaseFee = _slot(cx, a, L1_BASE_FEE_SLOT);
        uint256 scalars = _slot(cx, a, L1_FEE_SCALARS_SLOT);
        p.blobBaseFee = _slot(cx, a, L1_BLOB_BASE_FEE_SLOT);
        uint256 operator = _slot(cx, a, OPERATOR_FEE_SLOT);
        // Big-endian bytes 16..20 and 20..24 of the scalars word; 20..24 and 24..32 of the
        // operator word.
        p.baseFeeScalar = (scalars >> 96) & 0xffffffff;
        p.blobBaseFeeScalar = (scalars >> 64) & 0xffffffff;
        p.operatorFeeScalar = (operator >> 64) & 0xffffffff;
        p.operatorFeeConstant = operator & 0xffffffffffffffff;
    }

    function _slot(Ctx memory cx, Account memory a, uint256 slot) private pure returns (uint256 value) {
        bool found;
        (found, value) = WorldAccess.overlaySlotOf(cx, cx.accountsRoot, L1_BLOCK, a.incarnation, slot);
        if (!found) value = WorldAccess.baseSlot(cx, a.storageRoot, slot);
    }

    /// @notice The L1 data fee (Fjord formula, kept by Isthmus) of a transaction whose EIP-2718
    /// encoding is the `len` calldata bytes at `encoded`: `estimatedSize · (16 · l1BaseFee ·
    /// baseFeeScalar + blobBaseFee · blobBaseFeeScalar) / 10^12` (saturating), zero for an empty
    /// encoding or a deposit's.
    function l1Fee(L1Params memory p, uint256 encoded, uint256 len) internal pure returns (uint256) {
        if (len == 0 || uint8(bytes1(_word(encoded))) == 0x7e) return 0;
        uint256 scaled = _feeScale(p);
        if (scaled == 0) return 0;
        return saturatingMul(estimatedSize(encoded, len), scaled) / 1_000_000_000_000;
    }

    /// @notice [v0.11] The L1 data fee of a non-deposit transaction whose encoding FastLZ
    /// compresses to `flzLen` bytes (the range oracle's FLZ fact in the L1 form, SPEC.md
    /// §3.4.1): as `l1Fee`, from the length.
    function l1FeeOfCompressed(L1Params memory p, uint256 flzLen) internal pure returns (uint256) {
        return saturatingMul(sizeOfCompressed(flzLen), _feeScale(p)) / 1_000_000_000_000;
    }

    /// @notice `16 · l1BaseFee · baseFeeScalar + blobBaseFee · blobBaseFeeScalar` (saturating).
    function _feeScale(L1Params memory p) private pure returns (uint256) {
        return saturatingAdd(
            saturatingMul(saturatingMul(p.l1BaseFee, 16), p.baseFeeScalar),
            saturatingMul(p.blobBaseFee, p.blobBaseFeeScalar)
        );
    }

    /// @notice Fjord's size estimate of an encoding, scaled by 10^6 (op-revm
    /// `estimate_tx_compressed_size`; u64 arithmetic saturating as there).
    function estimatedSize(uint256 encoded, uint256 len) internal pure returns (uint256) {
        return sizeOfCompressed(FastLz.compressedLength(encoded, len));
    }

    /// @notice Fjord's size estimate from the FastLZ length of an encoding, scaled by 10^6.
    function sizeOfCompressed(uint256 flzLen) internal pure returns (uint256) {
        uint256 scaled = flzLen * FASTLZ_COEF;
        if (scaled > type(uint64).max) scaled = type(uint64).max;
        scaled = scaled > FASTLZ_INTERCEPT ? scaled - FASTLZ_INTERCEPT : 0;
        return scaled > MIN_TX_SIZE_SCALED ? scaled : MIN_TX_SIZE_SCALED;
    }

    /// @notice `a · b`, `2^256 − 1` on overflow.
    function saturatingMul(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            if (a == 0) return 0;
            uint256 c = a * b;
            return c / a == b ? c : type(uint256).max;
        }
    }

    function _word(uint256 at) private pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := calldataload(at)
        }
    }

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
