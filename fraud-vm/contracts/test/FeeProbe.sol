// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FastLz} from "../verifier/FastLz.sol";
import {OpFees, L1Params} from "../verifier/OpFees.sol";

/// @title Test probe of the verifier's OP fee arithmetic (fraud-vm/tests/differential)
/// @notice Exposes the FastLZ length and the L1 data fee of `OpFees` so that the differential
/// test compares them with op-revm's on many encodings; not part of the verifier.
contract FeeProbe {
    /// @notice FastLZ level 1 compressed length of `encoded`.
    function compressedLength(bytes calldata encoded) external pure returns (uint256) {
        return FastLz.compressedLength(_offset(encoded), encoded.length);
    }

    /// @notice The L1 data fee of `encoded` under the parameters `p`.
    function l1Fee(L1Params calldata p, bytes calldata encoded) external pure returns (uint256) {
        return OpFees.l1Fee(p, _offset(encoded), encoded.length);
    }

    function _offset(bytes calldata b) private pure returns (uint256 o) {
        assembly ("memory-safe") {
            o := b.offset
        }
    }
}
