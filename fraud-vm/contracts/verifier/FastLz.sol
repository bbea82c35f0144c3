// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FastLzChunk} from "./FastLzChunk.sol";

/// @title FastLZ level 1 compressed length (fraud-vm/SPEC.md §5.9, the OP Stack's Fjord L1
/// data fee; Rust: op-revm's `flz_compress_len`, which `estimate_tx_compressed_size` uses)
/// @notice The length of the bytes FastLZ level 1 would write for an input, without writing
/// them: the literal runs and matches it would emit, with the exact quirks of the reference
/// (a hash table whose empty entries read as position 0, a match length that counts the first
/// differing byte). One implementation of the process serves both uses: this runs the range
/// job's chunked process (`FastLzChunk`, SPEC.md §3.4.1) as a single chunk over the whole input.
library FastLz {
    /// @notice The compressed length of the `len` calldata bytes at `input`: the input copied to
    /// memory after a zeroed state, every step run as one chunk, the last literal run added.
    function compressedLength(uint256 input, uint256 len) internal pure returns (uint256 size) {
        uint256 stateLen = FastLzChunk.STATE_LEN;
        uint256 st;
        uint256 copy;
        assembly ("memory-safe") {
            st := mload(0x40)
            calldatacopy(st, calldatasize(), stateLen)
            copy := add(st, stateLen)
            calldatacopy(copy, input, len)
            // The steps read no byte past the input; a zero word follows it all the same.
            mstore(add(copy, len), 0)
            mstore(0x40, add(add(copy, len), 32))
        }
        FastLzChunk.init(st);
        FastLzChunk.run(st, copy, len, len);
        return FastLzChunk.length(st, len);
    }
}
