// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {Authorization} from "./TxRecord.sol";

/// @title EIP-7702 authorizations at the transaction start (fraud-vm/SPEC.md §5.9; Rust:
/// `authorize` in step/start.rs, as revm's `apply_auth_list`)
/// @notice Applies a transaction's authorizations in order, whatever format they arrived in:
/// each one `TxDecoder` recovered an authority for (for this chain or any, with a nonce below
/// `2^64 − 1` and a valid signature: parity 0 or 1, `s ≤ n/2`, an authority ecrecover gives)
/// touches its authority; if the authority has no code or a delegation and the authorization's
/// nonce, it gets the designator `0xef0100 ‖ address` (no code for the zero address) and
/// `nonce + 1`.
library Authorizations {
    /// EIP-7702's refund of an authorization applied to an existing account.
    uint256 internal constant REFUND = 12_500;

    /// @notice Applies `auths`, as `TxDecoder` decoded them for the block's chain; the refund:
    /// 12500 per authority that was not empty.
    function applyAll(Ctx memory cx, Authorization[] memory auths) internal pure returns (uint256 refund) {
        for (uint256 i = 0; i < auths.length; ++i) {
            Authorization memory a = auths[i];
            if (!a.signed) continue;
            uint256 authority = a.authority;
            WorldAccess.touchAccount(cx, authority);
            Account memory rec = WorldAccess.account(cx, authority);
            if (rec.codeHash != WorldAccess.KECCAK_EMPTY) {
                (uint256 code, uint256 len) = WorldAccess.codeOf(cx, rec.codeHash);
                if (!isDelegation(code, len)) continue;
            }
            if (rec.nonce != a.nonce) continue;
            bool empty = rec.nonce == 0 && rec.balance == 0 && rec.codeHash == WorldAccess.KECCAK_EMPTY;
            if (!empty) refund += REFUND;
            rec.codeHash = a.addr == 0 ? WorldAccess.KECCAK_EMPTY : keccak256(abi.encodePacked(hex"ef0100", uint160(a.addr)));
            rec.nonce += 1;
            WorldAccess.setAccount(cx, authority, rec);
        }
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
