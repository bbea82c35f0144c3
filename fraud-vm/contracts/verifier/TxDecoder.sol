// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord} from "./StepContext.sol";
import {TxFields, AccessEntry, Authorization, TxRecord} from "./TxRecord.sol";
import {Authorizations} from "./Authorizations.sol";
import {OpFees, L1Params} from "./OpFees.sol";
import "./StepErrors.sol";
import {PrecompileGasShort} from "./L2Precompiles.sol";

/// @title Canonical RLP items in calldata, with the rules of alloy-rlp's decoder
/// @notice Every read is bounded by `end` (the enclosing list's end): a header whose payload
/// passes it, a long length below 56 or with a leading zero, a single byte below 0x80 under a
/// one-byte string header, an integer with a leading zero or wider than its type, a fixed-size
/// string of another length are rejected (`InvalidTransaction("malformed encoding")`).
library Rlp {
    /// @notice The item at `p`: whether it is a list, its payload's offset and length.
    function header(uint256 p, uint256 end) internal pure returns (bool list, uint256 payload, uint256 len) {
        if (p >= end) malformed();
        uint256 b = StateRecord.uintAt(p, 1);
        if (b < 0x80) return (false, p, 1);
        if (b <= 0xb7) {
            len = b - 0x80;
            payload = p + 1;
            if (len == 1 && (payload >= end || StateRecord.uintAt(payload, 1) < 0x80)) malformed();
        } else if (b < 0xc0 || b >= 0xf8) {
            list = b >= 0xf8;
            uint256 lenOfLen = b - (list ? 0xf7 : 0xb7);
            if (lenOfLen > end - p - 1 || StateRecord.uintAt(p + 1, 1) == 0) malformed();
            len = StateRecord.uintAt(p + 1, lenOfLen);
            if (len < 56) malformed();
            payload = p + 1 + lenOfLen;
        } else {
            list = true;
            len = b - 0xc0;
            payload = p + 1;
        }
        if (len > end - payload) malformed();
    }

    /// @notice The unsigned integer of at most `maxBytes` bytes at `p`, and the next item.
    function uintOf(uint256 p, uint256 end, uint256 maxBytes) internal pure returns (uint256 v, uint256 next) {
        (bool list, uint256 at, uint256 len) = header(p, end);
        if (list || len > maxBytes) malformed();
        if (len > 0) {
            if (StateRecord.uintAt(at, 1) == 0) malformed();
            v = StateRecord.uintAt(at, len);
        }
        next = at + len;
    }

    /// @notice A boolean (`0x80` or `0x01`).
    function boolOf(uint256 p, uint256 end) internal pure returns (bool, uint256 next) {
        uint256 v;
        (v, next) = uintOf(p, end, 1);
        if (v > 1) malformed();
        return (v == 1, next);
    }

    /// @notice The offset of a string of exactly `n` bytes (an address, a hash) at `p`.
    function fixedOf(uint256 p, uint256 end, uint256 n) internal pure returns (uint256 at, uint256 next) {
        (bool list, uint256 payload, uint256 len) = header(p, end);
        if (list || len != n) malformed();
        return (payload, payload + n);
    }

    /// @notice A 20-byte address.
    function addressOf(uint256 p, uint256 end) internal pure returns (uint256, uint256 next) {
        uint256 at;
        (at, next) = fixedOf(p, end, 20);
        return (StateRecord.addressAt(at), next);
    }

    /// @notice A recipient: the empty string for a creation, else an address.
    function kindOf(uint256 p, uint256 end) internal pure returns (bool create, uint256 to, uint256 next) {
        if (p < end && StateRecord.uintAt(p, 1) == 0x80) return (true, 0, p + 1);
        (to, next) = addressOf(p, end);
    }

    /// @notice A byte string: its offset and length.
    function bytesOf(uint256 p, uint256 end) internal pure returns (uint256 at, uint256 len, uint256 next) {
        bool list;
        (list, at, len) = header(p, end);
        if (list) malformed();
        next = at + len;
    }

    /// @notice A list: its payload's offset and end.
    function listOf(uint256 p, uint256 end) internal pure returns (uint256 at, uint256 listEnd) {
        (bool list, uint256 payload, uint256 len) = header(p, end);
        if (!list) malformed();
        return (payload, payload + len);
    }

    /// @notice The number of items from `p` to `end` (each item's header checked).
    function count(uint256 p, uint256 end) internal pure returns (uint256 n) {
        while (p < end) {
            (, uint256 at, uint256 len) = header(p, end);
            p = at + len;
            n += 1;
        }
    }

    function malformed() internal pure {
        revert InvalidTransaction("malformed encoding");
    }
}

/// @title EIP-2718 transactions decoded and their senders recovered (fraud-vm/SPEC.md §3.9;
/// Rust: tx.rs, with alloy's and op-alloy's `decode_2718_exact`)
/// @notice A contract of its own (the transaction start's contract deploys it) so that
/// `TxStartVerifier` stays within EIP-170: what reads only the encoding, its decoding and the
/// L1 data fee of OP rules (`l1Fee`, with FastLZ). `decode` accepts exactly what the reference accepts:
/// a type byte up to 0x7f (Prague: 0 to 4; Isthmus: 0, 1, 2, 4 and the deposit 0x7e; type 0
/// is a legacy transaction, which must then carry a chain id) followed by its list, or a bare
/// list decoded, as alloy's fallback does, by its number of items (9 legacy, 11 EIP-2930, 12
/// EIP-1559, 13 EIP-7702; 14 EIP-4844 under Prague, 8 a deposit under Isthmus), nothing after
/// it. A signed transaction has `s ≤ n/2`, a key ecrecover gives for its signing hash, and the
/// block's chain id (a legacy transaction may have none).
contract TxDecoder {
    uint256 private constant ISTHMUS = 1;
    uint256 private constant LEGACY = 0;
    uint256 private constant ACCESS_LIST = 1;
    uint256 private constant DYNAMIC_FEE = 2;
    uint256 private constant BLOB = 3;
    uint256 private constant SET_CODE = 4;
    uint256 private constant DEPOSIT = 0x7e;
    uint256 private constant SECP256K1N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// What the signature check needs besides the decoded fields.
    struct Signature {
        uint256 kind;
        /// The unsigned fields: offset and end of their encodings in the list.
        uint256 fields;
        uint256 fieldsEnd;
        bool hasChainId;
        uint256 chainId;
        uint256 parity;
        uint256 r;
        uint256 s;
    }

    /// @notice As `decode`, except that when `skippable` an encoding it refuses with
    /// `InvalidTransaction` gives `ok = false`: the transaction start skips it (SPEC.md §5.9,
    /// v0.6). Any other failure, a call starved of gas included, reverts as it is: no answer.
    function tryDecode(bytes calldata e, uint256 rules, uint256 chainId, bool skippable)
        external
        view
        returns (bool ok, TxFields memory t)
    {
        if (!skippable) return (true, this.decode(e, rules, chainId));
        try this.decode(e, rules, chainId) returns (TxFields memory d) {
            return (true, d);
        } catch (bytes memory reason) {
            if (reason.length < 4 || bytes4(reason) != InvalidTransaction.selector) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }

    /// @notice The fields of the transaction encoded by `e` under `rules` (0 Prague, 1
    /// Isthmus) for a block of chain `chainId`, or `InvalidTransaction`. `data` is an offset in
    /// `e`; `encoded` is 0 and `encodedLen` its length.
    function decode(bytes calldata e, uint256 rules, uint256 chainId) external view returns (TxFields memory t) {
        uint256 p;
        assembly ("memory-safe") {
            p := e.offset
        }
        uint256 end = p + e.length;
        if (e.length == 0) Rlp.malformed();
        Signature memory sig;
        uint256 first = StateRecord.uintAt(p, 1);
        bool typed = first <= 0x7f;
        if (typed) {
            sig.kind = first;
            bool allowed = first <= DYNAMIC_FEE || first == SET_CODE || (rules == ISTHMUS ? first == DEPOSIT : first == BLOB);
            if (!allowed) Rlp.malformed();
        }
        (bool list, uint256 at, uint256 len) = Rlp.header(typed ? p + 1 : p, end);
        if (!list || at + len != end) Rlp.malformed();
        if (!typed) sig.kind = _kindOf(Rlp.count(at, end), rules);
        if (sig.kind == DEPOSIT) {
            _deposit(t, at, end);
        } else {
            _signed(t, sig, at, end);
            if (sig.s > SECP256K1N_HALF) revert InvalidTransaction("signature s above half the curve order");
            t.sender = _recover(_signingHash(sig), sig);
            if (sig.hasChainId ? sig.chainId != chainId : first < 0xc0) revert InvalidTransaction("chain id");
        }
        // The gas the data prices, counted here rather than in `TxStartVerifier`, which is at
        // EIP-170's limit (fraud-vm/SPEC.md §3.4.1, the transaction start's row).
        TxRecord.fillGas(t);
        t.data -= p;
        t.encodedLen = e.length;
    }

    /// @notice The L1 data fee of the encoding `e` under Isthmus rules with the L1Block
    /// parameters `p` (`OpFees.l1Fee`).
    function l1Fee(L1Params calldata p, bytes calldata e) external pure returns (uint256) {
        uint256 at;
        assembly ("memory-safe") {
            at := e.offset
        }
        return OpFees.l1Fee(p, at, e.length);
    }

    /// @notice The transaction kind of a bare list of `n` items (the variant alloy's fallback
    /// decoding can accept).
    function _kindOf(uint256 n, uint256 rules) private pure returns (uint256) {
        if (n == 9) return LEGACY;
        if (n == 11) return ACCESS_LIST;
        if (n == 12) return DYNAMIC_FEE;
        if (n == 13) return SET_CODE;
        if (n == 14 && rules != ISTHMUS) return BLOB;
        if (n == 8 && rules == ISTHMUS) return DEPOSIT;
        Rlp.malformed();
    }

    /// @notice `rlp([sourceHash, from, to, mint, value, gas, isSystemTx, data])`.
    function _deposit(TxFields memory t, uint256 q, uint256 end) private pure {
        uint256 at;
        (at, q) = Rlp.fixedOf(q, end, 32);
        t.sourceHash = StateRecord.wordAt(at);
        (t.sender, q) = Rlp.addressOf(q, end);
        (t.create, t.to, q) = Rlp.kindOf(q, end);
        (t.mint, q) = Rlp.uintOf(q, end, 16);
        (t.value, q) = Rlp.uintOf(q, end, 32);
        (t.gasLimit, q) = Rlp.uintOf(q, end, 8);
        (t.isSystem, q) = Rlp.boolOf(q, end);
        (t.data, t.dataLen, q) = Rlp.bytesOf(q, end);
        if (q != end) Rlp.malformed();
        t.deposit = true;
    }

    /// @notice The fields of a signed transaction of `sig.kind` and its signature.
    function _signed(TxFields memory t, Signature memory sig, uint256 q, uint256 end) private pure {
        uint256 kind = sig.kind;
        sig.fields = q;
        if (kind != LEGACY) {
            (sig.chainId, q) = Rlp.uintOf(q, end, 8);
            sig.hasChainId = true;
        }
        (t.nonce, q) = Rlp.uintOf(q, end, 8);
        if (kind == LEGACY || kind == ACCESS_LIST) {
            (t.maxFee, q) = Rlp.uintOf(q, end, 16);
            t.maxPriorityFee = t.maxFee;
        } else {
            (t.maxPriorityFee, q) = Rlp.uintOf(q, end, 16);
            (t.maxFee, q) = Rlp.uintOf(q, end, 16);
        }
        (t.gasLimit, q) = Rlp.uintOf(q, end, 8);
        if (kind == BLOB || kind == SET_CODE) (t.to, q) = Rlp.addressOf(q, end);
        else (t.create, t.to, q) = Rlp.kindOf(q, end);
        (t.value, q) = Rlp.uintOf(q, end, 32);
        (t.data, t.dataLen, q) = Rlp.bytesOf(q, end);
        if (kind != LEGACY) q = _accessList(t, q, end);
        if (kind == BLOB) {
            (t.maxFeePerBlobGas, q) = Rlp.uintOf(q, end, 16);
            q = _blobHashes(t, q, end);
        }
        if (kind == SET_CODE) q = _authorizations(t, q, end);
        sig.fieldsEnd = q;
        if (kind == LEGACY) {
            // v: 27 + parity, or 35 + 2 · chainId + parity (EIP-155) with a u64 chain id.
            uint256 v;
            (v, q) = Rlp.uintOf(q, end, 16);
            if (v == 27 || v == 28) {
                sig.parity = v - 27;
            } else if (v >= 35 && (v - 35) / 2 <= type(uint64).max) {
                (sig.parity, sig.chainId, sig.hasChainId) = ((v - 35) % 2, (v - 35) / 2, true);
            } else {
                Rlp.malformed();
            }
        } else {
            bool parity;
            (parity, q) = Rlp.boolOf(q, end);
            sig.parity = parity ? 1 : 0;
        }
        (sig.r, q) = Rlp.uintOf(q, end, 32);
        (sig.s, q) = Rlp.uintOf(q, end, 32);
        if (q != end) Rlp.malformed();
    }

    /// @notice An EIP-2930 access list: `[[address, [key…]]…]`.
    function _accessList(TxFields memory t, uint256 q, uint256 end) private pure returns (uint256) {
        (uint256 at, uint256 listEnd) = Rlp.listOf(q, end);
        t.accessList = new AccessEntry[](Rlp.count(at, listEnd));
        for (uint256 i = 0; i < t.accessList.length; ++i) {
            (uint256 item, uint256 itemEnd) = Rlp.listOf(at, listEnd);
            uint256 r;
            (t.accessList[i].addr, r) = Rlp.addressOf(item, itemEnd);
            (uint256 keys, uint256 keysEnd) = Rlp.listOf(r, itemEnd);
            if (keysEnd != itemEnd) Rlp.malformed();
            uint256[] memory list = new uint256[](Rlp.count(keys, keysEnd));
            for (uint256 j = 0; j < list.length; ++j) {
                uint256 k;
                (k, keys) = Rlp.fixedOf(keys, keysEnd, 32);
                list[j] = uint256(StateRecord.wordAt(k));
            }
            t.accessList[i].keys = list;
            at = itemEnd;
        }
        return listEnd;
    }

    /// @notice EIP-4844 versioned hashes: `[hash…]`.
    function _blobHashes(TxFields memory t, uint256 q, uint256 end) private pure returns (uint256) {
        (uint256 at, uint256 listEnd) = Rlp.listOf(q, end);
        t.blobHashes = new bytes32[](Rlp.count(at, listEnd));
        for (uint256 i = 0; i < t.blobHashes.length; ++i) {
            uint256 h;
            (h, at) = Rlp.fixedOf(at, listEnd, 32);
            t.blobHashes[i] = StateRecord.wordAt(h);
        }
        return listEnd;
    }

    /// @notice EIP-7702 authorizations: `[[chainId, address, nonce, yParity, r, s]…]` (the
    /// parity any byte: the start skips one above 1).
    function _authorizations(TxFields memory t, uint256 q, uint256 end) private pure returns (uint256) {
        (uint256 at, uint256 listEnd) = Rlp.listOf(q, end);
        t.authorizations = new Authorization[](Rlp.count(at, listEnd));
        for (uint256 i = 0; i < t.authorizations.length; ++i) {
            (uint256 r, uint256 itemEnd) = Rlp.listOf(at, listEnd);
            Authorization memory a = t.authorizations[i];
            (a.chainId, r) = Rlp.uintOf(r, itemEnd, 32);
            (a.addr, r) = Rlp.addressOf(r, itemEnd);
            (a.nonce, r) = Rlp.uintOf(r, itemEnd, 8);
            (a.yParity, r) = Rlp.uintOf(r, itemEnd, 1);
            (a.r, r) = Rlp.uintOf(r, itemEnd, 32);
            (a.s, r) = Rlp.uintOf(r, itemEnd, 32);
            if (r != itemEnd) Rlp.malformed();
            at = itemEnd;
        }
        return listEnd;
    }

    /// @notice The signing hash: `keccak256([type ‖] rlp(unsigned fields [‖ chainId, 0, 0]))`,
    /// the fields' own canonical encodings re-wrapped (a legacy transaction with a chain id
    /// appends it, EIP-155).
    function _signingHash(Signature memory sig) private pure returns (bytes32) {
        bytes memory suffix;
        if (sig.kind == LEGACY && sig.hasChainId) {
            suffix = abi.encodePacked(Authorizations.rlpUint(sig.chainId), hex"8080");
        }
        uint256 len = sig.fieldsEnd - sig.fields + suffix.length;
        bytes memory fields = msg.data[sig.fields:sig.fieldsEnd];
        bytes memory head;
        if (len < 56) {
            head = abi.encodePacked(uint8(0xc0 + len));
        } else {
            uint256 n = 0;
            for (uint256 x = len; x != 0; x >>= 8) n += 1;
            head = abi.encodePacked(uint8(0xf7 + n), bytes32(len << (256 - 8 * n)));
            assembly ("memory-safe") {
                mstore(head, add(1, n))
            }
        }
        bytes memory prefix = sig.kind == LEGACY ? bytes("") : abi.encodePacked(uint8(sig.kind));
        return keccak256(abi.encodePacked(prefix, head, fields, suffix));
    }

    /// @notice The address ecrecover gives for `digest` and the signature, or
    /// `InvalidTransaction`. Its 3000 gas must be there: a call starved of it is no answer.
    function _recover(bytes32 digest, Signature memory sig) private view returns (uint256 sender) {
        if (gasleft() < 10_000) revert PrecompileGasShort(3000);
        bytes memory input = abi.encode(digest, 27 + sig.parity, sig.r, sig.s);
        bytes memory out = new bytes(32);
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            ok := staticcall(3000, 1, add(input, 32), 128, add(out, 32), 32)
            size := returndatasize()
            sender := mload(add(out, 32))
        }
        if (!ok || size != 32) revert InvalidTransaction("the signature recovers no key");
    }
}
