// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {L2Precompiles} from "./L2Precompiles.sol";

/// @title A precompile call of a step (fraud-vm/SPEC.md §5.15; Rust: `precompile::run` as
/// step/call.rs and step/start.rs call it)
/// @notice Hands the input to the deployed `L2Precompiles` and returns its answer; any revert
/// there (too little gas to decide) reverts the step, so a step is never answered from a
/// precompile that did not run.
library PrecompileCall {
    /// @notice Whether `addr` is a precompile of the L2: 0x01–0x11 (Prague) or 0x0100
    /// (P256VERIFY).
    function isPrecompile(uint256 addr) internal pure returns (bool) {
        return (addr >= 1 && addr <= 0x11) || addr == 0x100;
    }

    /// @notice Runs the precompile `addr` of `set` on the `len` bytes at memory pointer `input`
    /// with `limit` gas: whether it succeeds with at most `limit` gas, the gas used, and a
    /// memory pointer to its output and the output's length.
    function run(address set, uint256 addr, uint256 input, uint256 len, uint256 limit)
        internal
        view
        returns (bool ok, uint256 used, uint256 output, uint256 outLen)
    {
        bytes4 selector = L2Precompiles.run.selector;
        assembly ("memory-safe") {
            // run(uint256 addr, bytes input, uint256 limit), ABI-encoded.
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 4), addr)
            mstore(add(p, 36), 0x60)
            mstore(add(p, 68), limit)
            mstore(add(p, 100), len)
            mcopy(add(p, 132), input, len)
            mstore(add(add(p, 132), len), 0)
            let size := add(132, and(add(len, 31), not(31)))
            let success := staticcall(gas(), set, p, size, 0, 0)
            returndatacopy(p, 0, returndatasize())
            if iszero(success) { revert(p, returndatasize()) }
            // (bool ok, uint256 used, bytes output)
            ok := mload(p)
            used := mload(add(p, 32))
            let at := add(p, mload(add(p, 64)))
            outLen := mload(at)
            output := add(at, 32)
            mstore(0x40, add(output, and(add(outLen, 31), not(31))))
        }
        if (used > limit) ok = false;
    }
}
