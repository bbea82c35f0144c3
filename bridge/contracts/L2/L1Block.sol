// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title L1Block
/// @notice L2 predeploy at 0x4200000000000000000000000000000000000015 holding the attributes of the
/// L1 origin of the current L2 block. The first transaction of every L2 block, the L1-info deposit
/// from the depositor account, writes them.
///
/// The execution engine (op-revm) reads this contract's storage directly to charge each
/// transaction's L1 data fee and operator fee, so the layout below is a hard interface, the same
/// as the OP Stack's L1Block. Byte ranges are of the big-endian 32-byte slot value:
///
///   slot 0  [24,32) number               [16,24) timestamp
///   slot 1  basefee (L1 base fee)                             op-revm L1_BASE_FEE_SLOT
///   slot 2  hash (L1 block hash)
///   slot 3  [24,32) sequenceNumber       [20,24) blobBaseFeeScalar   [16,20) baseFeeScalar
///                                                             op-revm ECOTONE_L1_FEE_SCALARS_SLOT
///   slot 4  batcherHash
///   slot 5  l1FeeOverhead (pre-Ecotone; never written here)   op-revm L1_OVERHEAD_SLOT
///   slot 6  l1FeeScalar (pre-Ecotone; never written here)     op-revm L1_SCALAR_SLOT
///   slot 7  blobBaseFee (L1 blob base fee)                    op-revm ECOTONE_L1_BLOB_BASE_FEE_SLOT
///   slot 8  [24,32) operatorFeeConstant  [20,24) operatorFeeScalar   [18,20) daFootprintGasScalar
///                                                             op-revm OPERATOR_FEE_SCALARS_SLOT
///
/// Placed in the L2 genesis as runtime code with no constructor run; all-zero storage is a valid
/// initial state (op-revm then charges no L1 fee until the first L1-info deposit).
contract L1Block {
    /// @notice Only the depositor account may set the L1 attributes.
    error NotDepositor();

    /// @notice Sender of the L1-info deposit transaction (no one holds its key).
    address internal constant DEPOSITOR = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;

    // The declaration order below fixes the storage layout documented above: do not reorder,
    // insert or change the type of any variable.

    /// @notice L1 block number.
    uint64 public number;
    /// @notice L1 block timestamp.
    uint64 public timestamp;
    /// @notice L1 base fee.
    uint256 public basefee;
    /// @notice L1 block hash.
    bytes32 public hash;
    /// @notice Number of L2 blocks since the start of the current epoch (0 at an epoch's first block).
    uint64 public sequenceNumber;
    /// @notice Scalar of the L1 blob base fee in the L1 data fee.
    uint32 public blobBaseFeeScalar;
    /// @notice Scalar of the L1 base fee in the L1 data fee.
    uint32 public baseFeeScalar;
    /// @notice Versioned hash of the batch submitter's address.
    bytes32 public batcherHash;
    /// @notice Pre-Ecotone L1 fee overhead; unused since Ecotone, kept for the layout.
    uint256 public l1FeeOverhead;
    /// @notice Pre-Ecotone L1 fee scalar; unused since Ecotone, kept for the layout.
    uint256 public l1FeeScalar;
    /// @notice L1 blob base fee.
    uint256 public blobBaseFee;
    /// @notice Constant part of the operator fee (wei per transaction).
    uint64 public operatorFeeConstant;
    /// @notice Scalar of the operator fee (per gas, 6 decimals before Jovian).
    uint32 public operatorFeeScalar;
    /// @notice Jovian DA footprint gas scalar.
    uint16 public daFootprintGasScalar;

    /// @notice Version of this contract.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice The account allowed to set the L1 attributes.
    function DEPOSITOR_ACCOUNT() external pure returns (address) {
        return DEPOSITOR;
    }

    /// @notice Sets the Ecotone L1 attributes. Not ABI-encoded: the calldata is packed.
    ///   bytes   0-3    selector 0x440a5e20 (keccak256("setL1BlockValuesEcotone()"))
    ///           4-7    baseFeeScalar      uint32
    ///           8-11   blobBaseFeeScalar  uint32
    ///          12-19   sequenceNumber     uint64
    ///          20-27   timestamp          uint64
    ///          28-35   number             uint64
    ///          36-67   basefee            uint256
    ///          68-99   blobBaseFee        uint256
    ///         100-131  hash               bytes32
    ///         132-163  batcherHash        bytes32
    function setL1BlockValuesEcotone() external {
        _onlyDepositor();
        _setEcotoneValues();
    }

    /// @notice Sets the Isthmus L1 attributes: the Ecotone layout (with selector 0x098999be,
    /// keccak256("setL1BlockValuesIsthmus()")) followed by
    ///         164-167  operatorFeeScalar    uint32
    ///         168-175  operatorFeeConstant  uint64
    /// 176 bytes in all. daFootprintGasScalar is cleared, as in the OP Stack.
    function setL1BlockValuesIsthmus() external {
        _onlyDepositor();
        _setEcotoneValues();
        assembly ("memory-safe") {
            // Bytes 164..175 as a 96-bit number are operatorFeeScalar << 64 | operatorFeeConstant:
            // exactly slot 8's low 12 bytes.
            sstore(operatorFeeConstant.slot, shr(160, calldataload(164)))
        }
    }

    /// @notice Sets the Jovian L1 attributes: the Isthmus layout (with selector 0x3db6be2b,
    /// keccak256("setL1BlockValuesJovian()")) followed by
    ///         176-177  daFootprintGasScalar uint16
    /// 178 bytes in all.
    function setL1BlockValuesJovian() external {
        _onlyDepositor();
        _setEcotoneValues();
        assembly ("memory-safe") {
            let operatorFees := shr(160, calldataload(164))
            let daFootprint := shr(240, calldataload(176))
            sstore(operatorFeeConstant.slot, or(operatorFees, shl(96, daFootprint)))
        }
    }

    function _onlyDepositor() internal view {
        if (msg.sender != DEPOSITOR) revert NotDepositor();
    }

    /// @dev Writes the fields shared by the Ecotone, Isthmus and Jovian layouts.
    function _setEcotoneValues() internal {
        assembly ("memory-safe") {
            // Bytes 4..19 as a 128-bit number are
            // baseFeeScalar << 96 | blobBaseFeeScalar << 64 | sequenceNumber: slot 3's low 16 bytes.
            sstore(sequenceNumber.slot, shr(128, calldataload(4)))
            // Bytes 20..35 are timestamp << 64 | number: slot 0's low 16 bytes.
            sstore(number.slot, shr(128, calldataload(20)))
            sstore(basefee.slot, calldataload(36))
            sstore(blobBaseFee.slot, calldataload(68))
            sstore(hash.slot, calldataload(100))
            sstore(batcherHash.slot, calldataload(132))
        }
    }
}
