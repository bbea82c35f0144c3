// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBlockBoundaryVerifier} from "../game/IStepVerifier.sol";
import {BlockStart, ChainParams} from "./BlockStart.sol";
import {PreStateMismatch} from "./StepErrors.sol";

/// The state record given to `blockEnd` is not a block-end state (SPEC.md §5.19, §12.6).
error NotBlockEnd();

/// @title The block-boundary verifier (fraud-vm/SPEC.md §5.18, §5.19, §12.6)
/// @notice Links the game's layer 1 (output roots) to its layer 2 (machine states): `blockStart`
/// derives `s_0` of a block from its parent's output root under the chain parameters this
/// contract was built with, `blockEnd` opens a block-end state to the output root it holds.
contract BoundaryVerifier is IBlockBoundaryVerifier {
    uint8 private constant BLOCK_END = 8;

    uint64 private immutable CHAIN_ID;
    address private immutable COINBASE;
    uint64 private immutable GAS_LIMIT;
    uint32 private immutable BASE_FEE_DENOMINATOR;
    uint32 private immutable ELASTICITY;
    uint64 private immutable MIN_BASE_FEE;

    /// @param params The chain's parameters (op-node's L2: `ChainParams::op_node`).
    constructor(ChainParams memory params) {
        CHAIN_ID = params.chainId;
        COINBASE = params.coinbase;
        GAS_LIMIT = params.gasLimit;
        BASE_FEE_DENOMINATOR = params.baseFeeDenominator;
        ELASTICITY = params.elasticity;
        MIN_BASE_FEE = params.minBaseFee;
    }

    /// @notice The chain parameters this verifier derives block environments with.
    function chainParams() public view returns (ChainParams memory) {
        return ChainParams(CHAIN_ID, COINBASE, GAS_LIMIT, BASE_FEE_DENOMINATOR, ELASTICITY, MIN_BASE_FEE);
    }

    /// @inheritdoc IBlockBoundaryVerifier
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, bytes calldata proof)
        external
        view
        returns (bytes32)
    {
        uint256 at;
        assembly ("memory-safe") {
            at := proof.offset
        }
        return BlockStart.verify(parentOutputRoot, l2BlockNumber, at, proof.length, chainParams());
    }

    /// @inheritdoc IBlockBoundaryVerifier
    /// @dev `proof` is the state's 443-byte record; it must decode (tag, status, flag), hash to
    /// `state` and be the block-end state of its block number and world root (Rust:
    /// `block::block_end`).
    function blockEnd(bytes32 state, bytes calldata proof) external pure returns (bytes32 outputRoot) {
        if (proof.length != 443 || uint8(proof[0]) != 0x01 || uint8(proof[33]) > 8 || uint8(proof[154]) > 1) {
            revert NotBlockEnd();
        }
        if (keccak256(proof) != state) revert PreStateMismatch();
        outputRoot = bytes32(proof[411:443]);
        uint256 number = uint64(bytes8(proof[1:9]));
        if (keccak256(BlockStart.outsideFrames(number, BLOCK_END, bytes32(0), outputRoot)) != state) {
            revert NotBlockEnd();
        }
    }
}
