// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";

/// @title EIP-7702 authorizations at the transaction start (fraud-vm/SPEC.md §5.9; Rust:
/// `authorize` in step/entries.rs, as revm's `apply_auth_list`)
/// @notice [v0.15] One authorization a start sub-step applies, with the authority `TxDecoder`
/// recovered for it in the start head (for this chain or any, a nonce below `2^64 − 1` and a
/// valid signature: parity 0 or 1, `s ≤ n/2`, an authority ecrecover gives): it touches the
/// authority; if the authority has no code or a delegation and the authorization's nonce, it
/// gets the designator `0xef0100 ‖ address` (no code for the zero address) and `nonce + 1`.
library Authorizations {
    /// EIP-7702's refund of an authorization applied to an existing account.
    uint256 internal constant REFUND = 12_500;

    /// @notice Applies the authorization of `authority` delegating to `delegate` at `nonce`;
    /// whether it was applied to an account that was not empty (the refund's count).
    function applyOne(Ctx memory cx, uint256 authority, uint256 delegate, uint256 nonce)
        internal
        pure
        returns (bool counted)
    {
        WorldAccess.touchAccount(cx, authority);
        Account memory rec = WorldAccess.account(cx, authority);
        if (rec.codeHash != WorldAccess.KECCAK_EMPTY) {
            (uint256 code, uint256 len) = WorldAccess.codeOf(cx, rec.codeHash);
            if (!isDelegation(code, len)) return false;
        }
        if (rec.nonce != nonce) return false;
        counted = !(rec.nonce == 0 && rec.balance == 0 && rec.codeHash == WorldAccess.KECCAK_EMPTY);
        rec.codeHash = delegate == 0 ? WorldAccess.KECCAK_EMPTY : keccak256(abi.encodePacked(hex"ef0100", uint160(delegate)));
        rec.nonce += 1;
        WorldAccess.setAccount(cx, authority, rec);
    }

    /// @notice Whether the `len` calldata bytes at `code` are an EIP-7702 designator
    /// `0xef0100 ‖ address`.
    function isDelegation(uint256 code, uint256 len) internal pure returns (bool yes) {
        assembly ("memory-safe") {
            yes := and(eq(len, 23), eq(shr(232, calldataload(code)), 0xef0100))
        }
    }

    /// @notice The RLP encoding of an unsigned integer: its minimal big-endian bytes, 0x80 for
    /// zero, a single byte below 0x80 as itself.
    function rlpUint(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return hex"80";
        if (v < 0x80) return abi.encodePacked(uint8(v));
        uint256 n = 0;
        for (uint256 x = v; x != 0; x >>= 8) n += 1;
        out = new bytes(n + 1);
        out[0] = bytes1(uint8(0x80 + n));
        for (uint256 i = 0; i < n; ++i) {
            out[n - i] = bytes1(uint8(v >> (8 * i)));
        }
    }
}
