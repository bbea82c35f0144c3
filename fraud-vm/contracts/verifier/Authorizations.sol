// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx} from "./StepContext.sol";
import {WorldAccess, Account} from "./WorldAccess.sol";
import {PrecompileCall} from "./PrecompileCall.sol";
import {Authorization} from "./TxRecord.sol";

/// @title EIP-7702 authorizations at the transaction start (fraud-vm/SPEC.md §5.9; Rust:
/// `authorize` in step/start.rs, as revm's `apply_auth_list`)
/// @notice Applies a transaction's authorizations in order, whatever format they arrived in:
/// each one for this chain (or any), with a nonce below `2^64 − 1` and a valid signature
/// (parity 0 or 1, `s ≤ n/2`, an authority ecrecover gives) touches its authority; if the
/// authority has no code or a delegation and the authorization's nonce, it gets the designator
/// `0xef0100 ‖ address` (no code for the zero address) and `nonce + 1`.
library Authorizations {
    /// EIP-7702's refund of an authorization applied to an existing account.
    uint256 internal constant REFUND = 12_500;
    /// Half the secp256k1 group order: the largest `s` (EIP-2).
    uint256 internal constant SECP256K1N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    uint256 internal constant MAX_NONCE = type(uint64).max;

    /// @notice Applies `auths` in the chain `chainId`, recovering authorities with the
    /// `L2Precompiles` at `precompiles` (ecrecover, 0x01); the refund: 12500 per authority that
    /// was not empty.
    function applyAll(Ctx memory cx, uint256 chainId, Authorization[] memory auths, address precompiles)
        internal
        view
        returns (uint256 refund)
    {
        for (uint256 i = 0; i < auths.length; ++i) {
            Authorization memory a = auths[i];
            if (a.chainId != 0 && a.chainId != chainId) continue;
            if (a.nonce == MAX_NONCE) continue;
            (bool signed, uint256 authority) = _authority(a, precompiles);
            if (!signed) continue;
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

    /// @notice The authority that signed `a`: `keccak256(0x05 ‖ rlp([chain_id, address,
    /// nonce]))` recovered with `(27 + y_parity, r, s)` as ecrecover does.
    function _authority(Authorization memory a, address precompiles) private view returns (bool, uint256) {
        if (a.yParity > 1 || a.s > SECP256K1N_HALF) return (false, 0);
        bytes memory payload = abi.encodePacked(rlpUint(a.chainId), hex"94", uint160(a.addr), rlpUint(a.nonce));
        bytes memory header = payload.length < 56
            ? abi.encodePacked(uint8(0xc0 + payload.length))
            : abi.encodePacked(uint8(0xf8), uint8(payload.length));
        bytes32 digest = keccak256(abi.encodePacked(hex"05", header, payload));
        bytes memory input = abi.encode(digest, 27 + a.yParity, a.r, a.s);
        uint256 at;
        assembly ("memory-safe") {
            at := add(input, 32)
        }
        (bool ok,, uint256 output, uint256 outLen) = PrecompileCall.run(precompiles, 1, at, 128, 3000);
        if (!ok || outLen != 32) return (false, 0);
        uint256 authority;
        assembly ("memory-safe") {
            authority := mload(output)
        }
        return (true, authority);
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
