// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StateRecord, StepOps} from "./StepContext.sol";
import {WordTree} from "./WordTree.sol";
import {TxFields, AccessEntry, Authorization, TxRecord} from "./TxRecord.sol";
import {Authorizations} from "./Authorizations.sol";
import {OpFees, L1Params} from "./OpFees.sol";
import "./StepErrors.sol";
import {PrecompileGasShort} from "./L2Precompiles.sol";
import {PrecompileCall} from "./PrecompileCall.sol";

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

    /// Range job flags (`RangeOracle`): HASH, WRITE, ZEROS; FLZ (the L1 fee's FastLZ length).
    uint256 private constant JOB_HASH = 1;
    uint256 private constant JOB_WRITE = 2;
    uint256 private constant JOB_ZEROS = 16;
    uint256 private constant JOB_FLZ = 32;
    uint256 private constant JOB_ENTRIES = 128;
    /// Bytes a word tree holds, 2^37.
    uint256 private constant TREE_BYTES = 1 << 37;
    /// Empty word-tree root `Z_32` (SPEC.md §9).
    bytes32 private constant EMPTY_WORDS = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    /// [v0.11] A transaction in the L1 form (SPEC.md §3.4.1): the encoding `e`'s word-tree
    /// root and length, the bytes before its data (`headLen`, through the data's header), the
    /// data's length (`gap`, zero in the full form), the calldata offset where the data would
    /// start (`at`) and the range oracle whose facts stand for `e`'s bytes. [v0.16] With
    /// `listGap`, the bytes absent are the access list's payload instead (the data present):
    /// its entries are the ENTRIES fact's.
    struct Long {
        bytes32 root;
        uint256 len;
        uint256 headLen;
        uint256 gap;
        uint256 at;
        address oracle;
        bool listGap;
    }

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
    /// [v0.11] With `oracle` not zero, `e` is the transaction's L1 form (`_decodeLongForm`,
    /// never skipped) and `word` the list's word for it.
    function tryDecode(bytes calldata e, uint256 rules, uint256 chainId, bool skippable, bytes32 word, address oracle)
        external
        view
        returns (bool ok, TxFields memory t)
    {
        if (oracle != address(0)) return (true, _decodeLongForm(e, word, rules, chainId, oracle));
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
        Long memory full;
        _decode(t, p, e.length, full, rules, chainId);
        t.data -= p;
        t.encodedLen = e.length;
    }

    /// @notice [v0.11] The fields of the transaction whose L1 form (SPEC.md §3.4.1) is `w` =
    /// `R_e ‖ u32 len(e) ‖ u32 len(head) ‖ range_proof(head) ‖ u32 len(tail) ‖
    /// [range_proof(tail)]`, the range multiproofs (§6.3) of the words that hold `head`, `e`'s
    /// bytes before its data (through the data's RLP header), and `tail`, those after it, under
    /// `R_e`. The oracle's HASH fact of `e` must be the list's `word`, and the data absent from
    /// `head ‖ tail` at least 64 bytes or [v0.14] none (`head ‖ tail = e`, a long encoding with
    /// short data), else `BadTransaction`. Its data's zero count, tree (a call) or hash (a creation)
    /// and the signing hash come from the oracle's facts (`RangeFactMissing` until they are
    /// complete). Only an encoding that decodes takes this form: a refusal here is not a skip
    /// (the step reverts), since a wrong split of `e` could cause it; an encoding the decoder
    /// refuses is proven in full.
    function _decodeLongForm(bytes calldata w, bytes32 word, uint256 rules, uint256 chainId, address oracle)
        private
        view
        returns (TxFields memory t)
    {
        Long memory l;
        uint256 p;
        assembly ("memory-safe") {
            p := w.offset
        }
        uint256 end = p + w.length;
        if (w.length < 48) revert BadTransaction();
        (l.root, l.len, l.headLen, l.oracle) =
            (StateRecord.wordAt(p), StateRecord.uintAt(p + 32, 4), StateRecord.uintAt(p + 36, 4), oracle);
        if (l.headLen == 0 || l.headLen >= l.len) revert BadTransaction();
        bytes memory head = new bytes(32 * ((l.headLen + 31) / 32));
        p = _range(p + 40, end, 0, head, l.root);
        if (p + 4 > end) revert BadTransaction();
        uint256 tailLen = StateRecord.uintAt(p, 4);
        if (l.headLen + tailLen > l.len) revert BadTransaction();
        l.gap = l.len - l.headLen - tailLen;
        // [v0.14] No byte absent (a long encoding with short data): `c` is `e` whole.
        if (l.gap != 0 && l.gap < 64) revert BadTransaction();
        // `c = head ‖ tail`: the encoding without its data, which `decodeLong` reads.
        uint256 headLen = l.headLen;
        bytes memory c = new bytes(headLen + tailLen);
        assembly ("memory-safe") {
            mcopy(add(c, 32), add(head, 32), headLen)
        }
        p += 4;
        if (tailLen != 0) {
            uint256 from = l.len - tailLen;
            bytes memory tail = new bytes(32 * ((l.len + 31) / 32 - from / 32));
            p = _range(p, end, from / 32, tail, l.root);
            assembly ("memory-safe") {
                mcopy(add(add(c, 32), headLen), add(add(tail, 32), mod(from, 32)), tailLen)
            }
        }
        if (p != end) revert BadTransaction();
        (bytes32 h,) = StepOps.factOf(l.oracle, l.root, 0, l.len, l.len, JOB_HASH, 0, 0);
        if (h != word) revert BadTransaction();
        t = this.decodeLong(c, l, rules, chainId);
    }

    /// @notice [v0.11] `decodeLongForm`'s decoding of `c` (this contract's own call: `c` must
    /// be in calldata): as `decode`, with the data's `l.gap` bytes absent from `c`.
    function decodeLong(bytes calldata c, Long memory l, uint256 rules, uint256 chainId)
        external
        view
        returns (TxFields memory t)
    {
        if (msg.sender != address(this)) revert BadTransaction();
        uint256 p;
        assembly ("memory-safe") {
            p := c.offset
        }
        l.at = p + l.headLen;
        _decode(t, p, c.length, l, rules, chainId);
        // A precompile would read the data whole, at an offset of `c`: such a transaction is
        // proven in full.
        if (!t.create && PrecompileCall.isPrecompile(t.to)) revert BadTransaction();
        (t.data, t.encodedLen, t.encodingRoot, t.oracle) = (0, l.len, l.root, l.oracle);
    }

    /// @notice Checks that the range multiproof at `p` (within `end`) shows `buf`'s words from
    /// word `first` under `root`, copying them to `buf`; returns the offset after it.
    function _range(uint256 p, uint256 end, uint256 first, bytes memory buf, bytes32 root)
        private
        pure
        returns (uint256 next)
    {
        if (p + WordTree.RANGE_HEAD > end) revert BadTransaction();
        uint256 at;
        assembly ("memory-safe") {
            at := add(buf, 32)
        }
        bool ok;
        (ok,, next) = WordTree.checkRange(p, first, buf.length / 32, root, at);
        if (!ok || next > end) revert BadTransaction();
    }

    /// @notice Decodes the `len` calldata bytes at `p` into `t`: the encoding, or in the L1
    /// form (`l.gap != 0`) the encoding without its data.
    function _decode(TxFields memory t, uint256 p, uint256 size, Long memory l, uint256 rules, uint256 chainId)
        private
        view
    {
        uint256 end = p + size + l.gap;
        if (size == 0) Rlp.malformed();
        Signature memory sig;
        uint256 first = StateRecord.uintAt(p, 1);
        bool typed = first <= 0x7f;
        if (typed) {
            sig.kind = first;
            bool allowed = first <= DYNAMIC_FEE || first == SET_CODE || (rules == ISTHMUS ? first == DEPOSIT : first == BLOB);
            if (!allowed) Rlp.malformed();
        }
        uint256 at;
        {
            (bool list, uint256 payload, uint256 len) = Rlp.header(typed ? p + 1 : p, end);
            if (!list || payload + len != end) Rlp.malformed();
            at = payload;
        }
        // [v0.11] In the L1 form a bare list is a legacy transaction (counting its items would
        // read the absent data's room; another bare list is proven in full).
        if (!typed) sig.kind = l.gap == 0 ? _kindOf(Rlp.count(at, end), rules) : LEGACY;
        if (sig.kind == DEPOSIT) {
            _deposit(t, at, end, l);
        } else {
            _signed(t, sig, at, end, l, chainId);
            if (sig.s > SECP256K1N_HALF) revert InvalidTransaction("signature s above half the curve order");
            t.sender = _recover(l.gap == 0 ? _signingHash(sig) : _longSigningHash(sig, l), sig);
            if (sig.hasChainId ? sig.chainId != chainId : first < 0xc0) revert InvalidTransaction("chain id");
        }
        // The gas the data prices, counted here rather than in `TxStartVerifier`, which is at
        // EIP-170's limit (fraud-vm/SPEC.md §3.4.1, the transaction start's row).
        _fillGas(t, l);
        // [v0.15] The start's entries as the Starting state stacks them (SPEC.md §5.9).
        TxRecord.stackEntries(t);
        if (l.listGap) _listEntries(t, l);
    }

    /// @notice [v0.16] The access list's entries from the oracle's ENTRIES fact of `(R_e,
    /// len(head), len(e), len(list payload))` over the stack of the authorizations' entries:
    /// the entries' root and words, and the list's intrinsic gas (2400 an address, 1900 a key).
    function _listEntries(TxFields memory t, Long memory l) private view {
        (bytes32 counts, bytes32 root) =
            StepOps.factOf(l.oracle, l.root, l.headLen, l.len, l.gap, JOB_ENTRIES, t.entriesRoot, 0);
        uint256 addresses = uint256(counts) >> 128;
        uint256 keys = uint128(uint256(counts));
        t.entriesRoot = root;
        t.entryWords += 2 * (addresses + keys);
        t.intrinsic += TxRecord.ACCESS_ADDRESS * addresses + TxRecord.ACCESS_KEY * keys;
    }

    /// @notice The intrinsic gas and the floor from the data's zero bytes, and the data's word
    /// tree (a call's calldata) or hash (a creation's code hash); in the L1 form from the
    /// oracle's facts (`_longData`).
    function _fillGas(TxFields memory t, Long memory l) private view {
        uint256 zeros;
        if (l.gap != 0 && !l.listGap) {
            zeros = _longData(t, l);
        } else {
            zeros = TxRecord.zeroBytes(t.data, t.dataLen);
            bytes memory data = msg.data[t.data:t.data + t.dataLen];
            uint256 at;
            assembly ("memory-safe") {
                at := add(data, 32)
            }
            if (t.create) t.dataHash = keccak256(data);
            else t.dataRoot = WordTree.rootOf(at, t.dataLen);
        }
        TxRecord.fillGas(t, zeros);
    }

    /// @notice [v0.11] In the L1 form, after the data's header: the data must be exactly the
    /// bytes absent from `c` (else `BadTransaction`); the offsets past it move back by them.
    /// [v0.16] Or the data lies before the absent bytes, which must then be the access list's
    /// payload (`listGap`, checked by `_accessList`).
    function _pastData(TxFields memory t, uint256 q, uint256 end, Long memory l)
        private
        pure
        returns (uint256, uint256)
    {
        if (l.gap == 0) return (q, end);
        if (t.data != l.at) {
            if (t.data + t.dataLen > l.at) revert BadTransaction();
            l.listGap = true;
            return (q, end);
        }
        if (t.dataLen != l.gap) revert BadTransaction();
        return (q - l.gap, end - l.gap);
    }

    /// @notice [v0.11] The L1 form's data from the oracle: its zero bytes, and its word tree (a
    /// call's calldata: one `WRITE | ZEROS` job into the empty tree) or hash (a creation's code
    /// hash: a `ZEROS` and a `HASH` job), each of `(R_e, len(head), len(e))`.
    function _longData(TxFields memory t, Long memory l) private view returns (uint256) {
        bytes32 zeros;
        if (t.create) {
            (zeros,) = StepOps.factOf(l.oracle, l.root, l.headLen, l.len, l.gap, JOB_ZEROS, 0, 0);
            (t.dataHash,) = StepOps.factOf(l.oracle, l.root, l.headLen, l.len, l.gap, JOB_HASH, 0, 0);
        } else {
            (zeros, t.dataRoot) = StepOps.factOf(l.oracle, l.root, l.headLen, l.len, l.gap, JOB_WRITE | JOB_ZEROS, EMPTY_WORDS, 0);
        }
        return uint256(zeros);
    }

    /// @notice The L1 data fee of the encoding `e` under Isthmus rules with the L1Block
    /// parameters `p` (`OpFees.l1Fee`). [v0.11] In the L1 form (`root` not zero, `e` empty), of
    /// the non-deposit transaction whose encoding of `len` bytes has the word-tree root `root`:
    /// from its FastLZ length, the `hash` of `oracle`'s FLZ fact of `(root, 0, len)`
    /// (`OpFees.l1FeeOfCompressed`).
    function l1Fee(L1Params calldata p, bytes calldata e, bytes32 root, uint256 len, address oracle)
        external
        view
        returns (uint256)
    {
        if (root != 0) {
            (bytes32 flzLen,) = StepOps.factOf(oracle, root, 0, len, len, JOB_FLZ, 0, 0);
            return OpFees.l1FeeOfCompressed(p, uint256(flzLen));
        }
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
    function _deposit(TxFields memory t, uint256 q, uint256 end, Long memory l) private pure {
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
        (q, end) = _pastData(t, q, end, l);
        if (q != end || l.listGap) Rlp.malformed();
        t.deposit = true;
    }

    /// @notice The fields of a signed transaction of `sig.kind` and its signature.
    function _signed(TxFields memory t, Signature memory sig, uint256 q, uint256 end, Long memory l, uint256 chainId)
        private
        view
    {
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
        (q, end) = _pastData(t, q, end, l);
        if (kind == LEGACY && l.listGap) revert BadTransaction();
        if (kind != LEGACY) (q, end) = _accessList(t, q, end, l);
        if (kind == BLOB) {
            (t.maxFeePerBlobGas, q) = Rlp.uintOf(q, end, 16);
            q = _blobHashes(t, q, end);
        }
        if (kind == SET_CODE) q = _authorizations(t, q, end, chainId);
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

    /// @notice An EIP-2930 access list: `[[address, [key…]]…]`. [v0.16] In the L1 form with
    /// `listGap`, its payload MUST be exactly the bytes absent from `c` (else `BadTransaction`):
    /// it is not read here (the ENTRIES fact is, `_listEntries`), and the offsets past it move
    /// back by it.
    function _accessList(TxFields memory t, uint256 q, uint256 end, Long memory l)
        private
        pure
        returns (uint256, uint256)
    {
        (uint256 at, uint256 listEnd) = Rlp.listOf(q, end);
        if (l.listGap) {
            if (at != l.at || listEnd - at != l.gap) revert BadTransaction();
            return (at, end - l.gap);
        }
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
        return (listEnd, end);
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
    /// parity any byte), each with its authority if the transaction start applies it in a block
    /// of chain `chainId` (`_authority`).
    function _authorizations(TxFields memory t, uint256 q, uint256 end, uint256 chainId)
        private
        view
        returns (uint256)
    {
        (uint256 at, uint256 listEnd) = Rlp.listOf(q, end);
        t.authorizations = new Authorization[](Rlp.count(at, listEnd));
        for (uint256 i = 0; i < t.authorizations.length; ++i) {
            (uint256 r, uint256 itemEnd) = Rlp.listOf(at, listEnd);
            Authorization memory a = t.authorizations[i];
            uint256 item = r;
            (a.chainId, r) = Rlp.uintOf(r, itemEnd, 32);
            (a.addr, r) = Rlp.addressOf(r, itemEnd);
            (a.nonce, r) = Rlp.uintOf(r, itemEnd, 8);
            uint256 signedEnd = r;
            (a.yParity, r) = Rlp.uintOf(r, itemEnd, 1);
            (a.r, r) = Rlp.uintOf(r, itemEnd, 32);
            (a.s, r) = Rlp.uintOf(r, itemEnd, 32);
            if (r != itemEnd) Rlp.malformed();
            _authority(a, chainId, item, signedEnd - item);
            at = itemEnd;
        }
        return listEnd;
    }

    /// @notice Sets `a.signed` and `a.authority` for an authorization the transaction start
    /// applies (SPEC.md §5.9): for chain `chainId` or any, a nonce below `2^64 − 1`, parity 0
    /// or 1, `s ≤ n/2`, and a key that ecrecover (0x01) gives for `keccak256(0x05 ‖
    /// rlp([chain_id, address, nonce]))`, whose payload is the item's own first three encodings
    /// (canonical, as `Rlp` checks them: what re-encoding the fields would give), the `len`
    /// calldata bytes at `p`. Its 3000 gas must be there: a call starved of it is no answer.
    function _authority(Authorization memory a, uint256 chainId, uint256 p, uint256 len) private view {
        if (a.chainId != 0 && a.chainId != chainId) return;
        if (a.nonce == type(uint64).max || a.yParity > 1 || a.s > SECP256K1N_HALF) return;
        if (gasleft() < 10_000) revert PrecompileGasShort(3000);
        (uint256 parity, uint256 r, uint256 s) = (a.yParity, a.r, a.s);
        bool ok;
        uint256 authority;
        assembly ("memory-safe") {
            // 0x05 ‖ the list header (a payload of at most 63 bytes) ‖ the payload.
            let m := mload(0x40)
            mstore8(m, 0x05)
            let head := 2
            switch lt(len, 56)
            case 1 { mstore8(add(m, 1), add(0xc0, len)) }
            default {
                mstore8(add(m, 1), 0xf8)
                mstore8(add(m, 2), len)
                head := 3
            }
            calldatacopy(add(m, head), p, len)
            let digest := keccak256(m, add(head, len))
            mstore(m, digest)
            mstore(add(m, 32), add(27, parity))
            mstore(add(m, 64), r)
            mstore(add(m, 96), s)
            ok := staticcall(3000, 1, m, 128, m, 32)
            // (After the call: Yul evaluates arguments right to left.)
            ok := and(ok, eq(returndatasize(), 32))
            authority := mload(m)
        }
        if (ok) (a.signed, a.authority) = (true, authority);
    }

    /// @notice The signing hash: `keccak256([type ‖] rlp(unsigned fields [‖ chainId, 0, 0]))`,
    /// the fields' own canonical encodings re-wrapped (a legacy transaction with a chain id
    /// appends it, EIP-155).
    function _signingHash(Signature memory sig) private pure returns (bytes32) {
        bytes memory suffix = _suffix(sig);
        return keccak256(
            abi.encodePacked(_payloadHead(sig, sig.fieldsEnd - sig.fields + suffix.length), msg.data[sig.fields:sig.fieldsEnd], suffix)
        );
    }

    /// @notice The EIP-155 suffix of a legacy transaction's signing payload (`chainId, 0, 0`).
    function _suffix(Signature memory sig) private pure returns (bytes memory suffix) {
        if (sig.kind == LEGACY && sig.hasChainId) {
            suffix = abi.encodePacked(Authorizations.rlpUint(sig.chainId), hex"8080");
        }
    }

    /// @notice [v0.11] The signing hash in the L1 form: the payload's head `P_h` (type, list
    /// header, the fields through the data's header) and tail `P_t` (the fields after the data,
    /// the EIP-155 suffix) placed in a word tree around the data's room; the oracle's WRITE of
    /// the data `(R_e, len(head), len(e))` into it at `len(P_h)`, then its HASH of the payload.
    function _longSigningHash(Signature memory sig, Long memory l) private view returns (bytes32 h) {
        bytes memory suffix = _suffix(sig);
        bytes memory ph = abi.encodePacked(
            _payloadHead(sig, sig.fieldsEnd + l.gap - sig.fields + suffix.length), msg.data[sig.fields:l.at]
        );
        bytes memory pt = abi.encodePacked(msg.data[l.at:sig.fieldsEnd], suffix);
        uint256 tailAt = ph.length + l.gap;
        (, bytes32 written) = StepOps.factOf(
            l.oracle, l.root, l.headLen, l.len, l.gap, JOB_WRITE, _twoRangeRoot(ph, pt, tailAt), ph.length
        );
        (h,) = StepOps.factOf(l.oracle, written, 0, TREE_BYTES, tailAt + pt.length, JOB_HASH, 0, 0);
    }

    /// @notice The root of the word tree that holds `a` from byte 0 and `b` from byte `bAt`,
    /// zero elsewhere (`bAt ≥ a.length + 64`): two rows folded level by level with the zero
    /// subtrees as their missing siblings, one row once they meet.
    function _twoRangeRoot(bytes memory a, bytes memory b, uint256 bAt) private pure returns (bytes32) {
        bytes32[] memory ra = _words(a, 0);
        bytes32[] memory rb = b.length == 0 ? new bytes32[](0) : _words(b, bAt % 32);
        uint256 sb = bAt / 32;
        bytes32 z;
        for (uint256 h; h < 32; ++h) {
            if (rb.length != 0 && sb <= ra.length + 1) {
                bytes32[] memory m = new bytes32[](sb + rb.length);
                for (uint256 i; i < m.length; ++i) {
                    m[i] = i < ra.length ? ra[i] : i < sb ? z : rb[i - sb];
                }
                (ra, rb) = (m, new bytes32[](0));
            }
            ra = _up(ra, 0, z);
            if (rb.length != 0) (rb, sb) = (_up(rb, sb, z), sb / 2);
            z = _hash2(z, z);
        }
        return ra[0];
    }

    /// @notice `keccak256(a ‖ b)` in the scratch space (no allocation).
    function _hash2(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice The words of `r` zero bytes then `b`, zero-padded to whole words.
    function _words(bytes memory b, uint256 r) private pure returns (bytes32[] memory w) {
        w = new bytes32[]((r + b.length + 31) / 32);
        assembly ("memory-safe") {
            mcopy(add(add(w, 32), r), add(b, 32), mload(b))
        }
    }

    /// @notice The parents of the row `row` of nodes from index `start`, its missing edge
    /// siblings the zero subtree `z`.
    function _up(bytes32[] memory row, uint256 start, bytes32 z) private pure returns (bytes32[] memory out) {
        uint256 lpad = start % 2;
        uint256 n = row.length + lpad + ((start + row.length - 1) % 2 == 0 ? 1 : 0);
        out = new bytes32[](n / 2);
        for (uint256 i; i < n; ++i) {
            bytes32 x = i < lpad || i - lpad >= row.length ? z : row[i - lpad];
            if (i % 2 == 0) {
                out[i / 2] = x;
            } else {
                out[i / 2] = _hash2(out[i / 2], x);
            }
        }
    }

    /// @notice The signing payload's type byte (none for a legacy transaction) and the list
    /// header of a payload of `len` bytes.
    function _payloadHead(Signature memory sig, uint256 len) private pure returns (bytes memory) {
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
        return abi.encodePacked(prefix, head);
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
