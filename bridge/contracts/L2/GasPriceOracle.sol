// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FastLZ} from "./FastLZ.sol";
import {L1Block} from "./L1Block.sol";

/// @title GasPriceOracle
/// @notice L2 predeploy at 0x420000000000000000000000000000000000000F that prices the L1 data fee and
/// the operator fee of a transaction, for wallets and viem's op-stack fee estimates
/// (estimateL1Fee, estimateL1Gas, estimateOperatorFee, estimateTotalFee).
///
/// The chain runs Isthmus from genesis, so the Fjord L1 fee function is the only one:
///   estimatedSize = max(100e6, 836_500 * fastLzSize - 42_585_600)     (bytes, scaled by 1e6)
///   feeScaled     = l1BaseFee * 16 * baseFeeScalar + blobBaseFee * blobBaseFeeScalar
///   l1Fee         = estimatedSize * feeScaled / 1e12
/// computed with op-revm's saturating arithmetic (`L1BlockInfo::calculate_tx_l1_cost_fjord`), from
/// the values op-revm reads out of L1Block. op-revm charges a transaction on the FastLZ size of its
/// signed encoding; getL1Fee and getL1GasUsed receive the unsigned encoding (as viem sends it) and,
/// as in the OP Stack, add 68 bytes to its FastLZ size for the signature.
///
/// Stateless: placed in the L2 genesis as runtime code with no storage.
contract GasPriceOracle {
    /// @notice Decimals of the fee scalars.
    uint256 public constant DECIMALS = 6;

    L1Block internal constant L1_BLOCK = L1Block(0x4200000000000000000000000000000000000015);

    /// @dev Fjord linear regression from FastLZ size to compressed size, scaled by 1e6.
    uint256 internal constant FASTLZ_COEF = 836_500;
    uint256 internal constant INTERCEPT = 42_585_600; // subtracted: the intercept is negative
    uint256 internal constant MIN_TX_SIZE_SCALED = 100e6;

    /// @dev What a signature adds to an unsigned transaction's size (OP Stack's allowance).
    uint256 internal constant SIGNATURE_SIZE = 68;

    uint256 internal constant NON_ZERO_BYTE_COST = 16;

    /// @notice Version of this contract.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Decimals of the fee scalars (6).
    function decimals() external pure returns (uint256) {
        return DECIMALS;
    }

    /// @notice The current L2 base fee.
    function gasPrice() external view returns (uint256) {
        return block.basefee;
    }

    /// @notice The current L2 base fee.
    function baseFee() external view returns (uint256) {
        return block.basefee;
    }

    /// @notice Pre-Ecotone fee parameter, gone since Ecotone.
    function overhead() external pure returns (uint256) {
        revert("GasPriceOracle: overhead() is deprecated");
    }

    /// @notice Pre-Ecotone fee parameter, gone since Ecotone.
    function scalar() external pure returns (uint256) {
        revert("GasPriceOracle: scalar() is deprecated");
    }

    /// @notice The L1 base fee of the current L1 origin.
    function l1BaseFee() public view returns (uint256) {
        return L1_BLOCK.basefee();
    }

    /// @notice The L1 blob base fee of the current L1 origin.
    function blobBaseFee() public view returns (uint256) {
        return L1_BLOCK.blobBaseFee();
    }

    /// @notice Scalar of the L1 base fee (6 decimals).
    function baseFeeScalar() public view returns (uint32) {
        return L1_BLOCK.baseFeeScalar();
    }

    /// @notice Scalar of the L1 blob base fee (6 decimals).
    function blobBaseFeeScalar() public view returns (uint32) {
        return L1_BLOCK.blobBaseFeeScalar();
    }

    /// @notice Ecotone is active (from genesis).
    function isEcotone() external pure returns (bool) {
        return true;
    }

    /// @notice Fjord is active (from genesis).
    function isFjord() external pure returns (bool) {
        return true;
    }

    /// @notice Isthmus is active (from genesis).
    function isIsthmus() external pure returns (bool) {
        return true;
    }

    /// @notice Jovian is not active: the operator fee uses the Isthmus formula.
    function isJovian() external pure returns (bool) {
        return false;
    }

    /// @notice L1 data fee of a transaction, given its unsigned RLP/EIP-2718 encoding.
    function getL1Fee(bytes calldata _data) external view returns (uint256) {
        return _l1Cost(FastLZ.compressedLength(_data) + SIGNATURE_SIZE);
    }

    /// @notice L1 gas the transaction's data stands for: its estimated compressed size at 16 gas a
    /// byte, given its unsigned encoding.
    function getL1GasUsed(bytes calldata _data) external pure returns (uint256) {
        uint256 size = _estimatedSize(FastLZ.compressedLength(_data) + SIGNATURE_SIZE);
        return _satMul(size, NON_ZERO_BYTE_COST) / 1e6;
    }

    /// @notice An upper bound of the L1 data fee of a transaction of `_unsignedTxSize` bytes
    /// (unsigned), for any content: FastLZ never grows data by more than 1/255 plus 16 bytes.
    function getL1FeeUpperBound(uint256 _unsignedTxSize) external view returns (uint256) {
        uint256 txSize = _unsignedTxSize + SIGNATURE_SIZE;
        return _l1Cost(txSize + txSize / 255 + 16);
    }

    /// @notice Operator fee for `_gasUsed` gas (Isthmus): gasUsed * operatorFeeScalar / 1e6 +
    /// operatorFeeConstant, saturating, as op-revm charges it.
    function getOperatorFee(uint256 _gasUsed) external view returns (uint256) {
        uint256 product = _satMul(_gasUsed, L1_BLOCK.operatorFeeScalar()) / 1e6;
        return _satAdd(product, L1_BLOCK.operatorFeeConstant());
    }

    /// @dev The Fjord L1 fee for a FastLZ size, in op-revm's order of saturating operations.
    function _l1Cost(uint256 _fastLzSize) internal view returns (uint256) {
        uint256 feeScaled = _satAdd(
            _satMul(_satMul(l1BaseFee(), NON_ZERO_BYTE_COST), baseFeeScalar()),
            _satMul(blobBaseFee(), blobBaseFeeScalar())
        );
        if (feeScaled == 0) return 0;
        return _satMul(_estimatedSize(_fastLzSize), feeScaled) / 1e12;
    }

    /// @dev Estimated compressed size, scaled by 1e6.
    function _estimatedSize(uint256 _fastLzSize) internal pure returns (uint256) {
        uint256 scaled = _satMul(_fastLzSize, FASTLZ_COEF);
        uint256 size = scaled > INTERCEPT ? scaled - INTERCEPT : 0;
        return size > MIN_TX_SIZE_SCALED ? size : MIN_TX_SIZE_SCALED;
    }

    function _satMul(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            if (a == 0) return 0;
            uint256 c = a * b;
            return c / a == b ? c : type(uint256).max;
        }
    }

    function _satAdd(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c < a ? type(uint256).max : c;
        }
    }
}
