// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {WorldAccess} from "./WorldAccess.sol";
import {SparseTree} from "./SparseTree.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {MptWrite} from "./MptWrite.sol";
import {BlockStart} from "./BlockStart.sol";
import "./StepErrors.sol";
import {BadSealing, BadFoldKey, BadReceipt} from "./SealingErrors.sol";

/// @title The block end steps from a Sealing state (fraud-vm/SPEC.md §5.19; Rust: step/block_end.rs)
/// @notice By the pre-state: a fold of the overlay's smallest key into the state trie while the
/// overlay holds keys, then one transaction and its receipt into their tries per step, then the
/// seal of the header into the block-end state holding the output root.
library BlockEndStep {
    uint8 private constant BLOCK_END = 8;
    /// Offsets in the sealing record (385 bytes).
    uint256 private constant FOLDED = 1;
    uint256 private constant TXS = 33;
    uint256 private constant RECEIPTS = 65;
    uint256 private constant CURSOR = 97;
    uint256 private constant BLOOM = 129;
    uint256 private constant SEALING_LEN = 385;
    /// Offsets in the block environment (SPEC.md §3.6) and the block constants.
    uint256 private constant ENV_COINBASE = 1;
    uint256 private constant ENV_TIMESTAMP = 21;
    uint256 private constant ENV_NUMBER = 53;
    uint256 private constant ENV_PREVRANDAO = 85;
    uint256 private constant ENV_GAS_LIMIT = 117;
    uint256 private constant ENV_BASEFEE = 149;
    uint256 private constant ENV_CONSTANTS_HASH = 245;
    uint256 private constant CONSTANTS_LEN = 138;
    /// The L2ToL1MessagePasser predeploy.
    address private constant MESSAGE_PASSER = 0x4200000000000000000000000000000000000016;
    bytes32 private constant OMMERS_HASH = 0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347;
    bytes32 private constant EMPTY_REQUESTS_HASH = 0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;

    /// The sealing record as the step leaves it, and the world's base and overlay roots.
    struct Sealing {
        bytes32 folded;
        bytes32 txs;
        bytes32 receipts;
        bytes32 cursor;
        bytes bloom;
        bytes32 baseRoot;
    }

    uint8 private constant SEALING_STATUS = 7;
    uint256 private constant ENV_RULES = 349;
    uint256 private constant CONSTANTS_TX_COUNT = 97;
    /// Rules of an OP Stack block (Isthmus).
    uint256 private constant ISTHMUS = 1;

    /// @notice The block end's start from the Idle state `cx.pre` after the last transaction
    /// (`tx_index = tx_count`; Rust: `start::from_idle`, `block_end::begin`): the Sealing state
    /// with `tx_index = 0` and the empty sealing record. The world is not read.
    function begin(Ctx memory cx) internal pure returns (bytes32 h) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        uint256 env = StepOps.blockEnv(cx);
        if (cx.constants == 0) revert MissingWitness(WitnessList.CONSTANTS);
        if (StepOps.hashCalldata(cx.constants, CONSTANTS_LEN) != StateRecord.wordAt(env + ENV_CONSTANTS_HASH)) {
            revert ConstantsMismatch();
        }
        cx.constantsUsed = true;
        uint256 txIndex = StateRecord.uintAt(cx.pre + 9, 8);
        uint256 txCount = StateRecord.uintAt(cx.constants + CONSTANTS_TX_COUNT, 8);
        if (txIndex < txCount) revert UnsupportedStep("transaction start outside TxStartVerifier");
        if (txIndex > txCount) revert InvalidTransaction("an Idle state past the block's last transaction");
        if (StateRecord.uintAt(env + ENV_RULES, 1) != ISTHMUS) revert UnsupportedStep("block end under Prague rules");
        bytes32 empty = keccak256(
            abi.encodePacked(bytes1(0x19), bytes32(0), BaseTrie.EMPTY_ROOT, BaseTrie.EMPTY_ROOT, bytes32(0), new bytes(256))
        );
        uint256 pre = cx.pre;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, pre, 443)
            // tx_index (u64 at 9) and status (u8 at 33).
            let at := add(p, 9)
            mstore(at, and(mload(at), shr(64, not(0))))
            mstore8(add(p, 33), SEALING_STATUS)
            mstore(add(p, 347), empty)
            h := keccak256(p, 443)
        }
    }

    /// @notice The Sealing state `cx.pre` opened: its sealing record and world checked, and
    /// whether its step is an insertion (`InsertionStep`, in a contract of its own) rather than
    /// a fold or the seal (`foldOrSeal`).
    function open(Ctx memory cx) internal pure returns (Sealing memory s, bool insertion) {
        if (cx.codeLen != 0) revert UnusedWitness(WitnessList.CODE);
        if (cx.sealing == 0) revert MissingWitness(WitnessList.SEALING);
        uint256 rec = cx.sealing;
        if (StepOps.hashCalldata(rec, SEALING_LEN) != StateRecord.wordAt(cx.pre + StateRecord.TX_ENV_HASH)) {
            revert BadSealing();
        }
        cx.sealingUsed = true;
        WorldAccess.world(cx);
        s.folded = StateRecord.wordAt(rec + FOLDED);
        s.txs = StateRecord.wordAt(rec + TXS);
        s.receipts = StateRecord.wordAt(rec + RECEIPTS);
        s.cursor = StateRecord.wordAt(rec + CURSOR);
        s.bloom = msg.data[rec + BLOOM:rec + SEALING_LEN];
        s.baseRoot = StateRecord.wordAt(cx.world + WorldAccess.BASE_ROOT);
        // [v0.6] Insertions go on until the inserted receipts' chain is the block's (skipped
        // transactions have no receipt).
        insertion = cx.accountsRoot == 0 && s.cursor != StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT);
    }

    /// @notice The fold or seal step from the opened Sealing state: its post-state commitment
    /// (the caller checks that every witness was used).
    function foldOrSeal(Ctx memory cx, Sealing memory s) internal view returns (bytes32) {
        if (cx.accountsRoot != 0) return _fold(cx, s);
        return _seal(cx, s);
    }

    // ---- Fold ------------------------------------------------------------------------------

    /// @notice The overlay's smallest key leaves it for the state trie.
    function _fold(Ctx memory cx, Sealing memory s) private view returns (bytes32) {
        if (cx.foldKey == 0) revert MissingWitness(WitnessList.FOLD_KEY);
        cx.foldKeyUsed = true;
        uint256 fk = cx.foldKey;
        uint256 addr = StateRecord.addressAt(fk + 1);
        bool isSlot = StateRecord.uintAt(fk, 1) == 1;
        bytes32 key = isSlot
            ? _slotKey(addr, StateRecord.uintAt(fk + 21, 8), uint256(StateRecord.wordAt(fk + 29)))
            : _key21(0x10, addr);
        (bytes32 leaf, uint256 bitmap, uint256 siblings) = WorldAccess.path(cx, cx.accountsRoot, key);
        // The smallest key: no non-empty sibling on its left.
        if (leaf == 0 || bitmap & uint256(key) != 0) revert BadFoldKey();
        // `path` checked the old leaf: only the new root is left to compute.
        cx.accountsRoot = SparseTree.rootWith(siblings, bitmap, key, 0);
        if (isSlot) {
            _foldSlot(cx, s, addr, StateRecord.uintAt(fk + 21, 8), uint256(StateRecord.wordAt(fk + 29)), leaf);
        } else {
            _foldAccount(cx, s, addr, leaf);
        }
        return sealingState(cx, s, StateRecord.uintAt(cx.pre + 9, 8));
    }

    function _foldAccount(Ctx memory cx, Sealing memory s, uint256 addr, bytes32 leaf) private view {
        uint256 rec = _record(cx, leaf);
        bytes32 marker = _key21(0x1b, addr);
        (bytes32 folded, uint256 bitmap, uint256 siblings) = WorldAccess.path(cx, s.folded, marker);
        if (folded != 0) revert BadFoldKey();
        s.folded = SparseTree.rootWith(siblings, bitmap, marker, bytes32(StateRecord.uintAt(rec + 105, 8) + 1));
        uint256 nonce = StateRecord.uintAt(rec + 1, 8);
        uint256 balance = uint256(StateRecord.wordAt(rec + 9));
        bytes32 codeHash = StateRecord.wordAt(rec + 41);
        // EIP-161: an empty account leaves the trie, with its storage.
        bool present = nonce != 0 || balance != 0 || codeHash != WorldAccess.KECCAK_EMPTY;
        bytes memory value;
        if (present) value = BaseTrie.encodeAccount(nonce, balance, StateRecord.wordAt(rec + 73), codeHash);
        s.baseRoot = _trieWrite(cx, s.baseRoot, _addressKey(addr), present, value);
    }

    function _foldSlot(Ctx memory cx, Sealing memory s, uint256 addr, uint256 incarnation, uint256 slot, bytes32 leaf)
        private
        view
    {
        if (cx.slotLeft == 0) revert MissingWitness(WitnessList.STORAGE_VALUE);
        uint256 value = uint256(StateRecord.wordAt(cx.slotNext));
        cx.slotNext += 32;
        cx.slotLeft -= 1;
        if (keccak256(abi.encodePacked(bytes1(0x12), value)) != leaf) revert BadSlotValue();
        bytes memory slotPath = abi.encodePacked(keccak256(abi.encodePacked(slot)));
        bytes32 ak = _key21(0x10, addr);
        (bytes32 accountLeaf, uint256 bitmap, uint256 siblings) = WorldAccess.path(cx, cx.accountsRoot, ak);
        if (accountLeaf != 0) {
            // The account is still in the overlay: its record takes the new storage root.
            uint256 rec = _record(cx, accountLeaf);
            if (StateRecord.uintAt(rec + 105, 8) == incarnation) {
                bytes32 storageRoot =
                    _trieWrite(cx, StateRecord.wordAt(rec + 73), slotPath, value != 0, BaseTrie.encodeUint(value));
                bytes32 newLeaf = keccak256(
                    abi.encodePacked(msg.data[rec:rec + 73], storageRoot, msg.data[rec + 105:rec + 113])
                );
                cx.accountsRoot = SparseTree.rootWith(siblings, bitmap, ak, newLeaf);
            }
            return;
        }
        // The account is in the state trie: folded (with its incarnation) or untouched (0).
        bytes32 marker = _key21(0x1b, addr);
        (bytes32 folded,,) = WorldAccess.path(cx, s.folded, marker);
        uint256 current = folded == 0 ? 0 : uint256(folded) - 1;
        if (current > type(uint64).max) revert BadFoldKey();
        if (current != incarnation) return;
        _writeBaseSlot(cx, s, addr, slotPath, value);
    }

    /// @notice Slot `slotPath` of `addr`'s account in the state trie (if present) takes `value`,
    /// and the account its new storage root, through the account's own witness.
    function _writeBaseSlot(Ctx memory cx, Sealing memory s, uint256 addr, bytes memory slotPath, uint256 value)
        private
        view
    {
        uint256 witness = nextTrie(cx);
        bytes memory key = _addressKey(addr);
        (bool present, bytes memory raw, uint256 next) = MptWrite.read(s.baseRoot, key, witness, type(uint256).max);
        cx.trieNext = next;
        // An account the fold deleted (EIP-161) keeps no storage.
        if (!present) return;
        (uint256 nonce, uint256 balance, bytes32 storageRoot, bytes32 codeHash) = MptWrite.decodeAccount(raw);
        storageRoot = _trieWrite(cx, storageRoot, slotPath, value != 0, BaseTrie.encodeUint(value));
        (s.baseRoot,) = MptWrite.write(
            s.baseRoot,
            key,
            true,
            BaseTrie.encodeAccount(nonce, balance, storageRoot, codeHash),
            witness,
            type(uint256).max
        );
    }

    // ---- Seal ------------------------------------------------------------------------------

    /// @notice The header, its hash and the output root: the block-end state.
    function _seal(Ctx memory cx, Sealing memory s) private view returns (bytes32) {
        if (s.cursor != StateRecord.wordAt(cx.pre + StateRecord.RETURNDATA_ROOT)) revert BadReceipt();
        uint256 env = StepOps.blockEnv(cx);
        if (cx.constants == 0) revert MissingWitness(WitnessList.CONSTANTS);
        uint256 constants = cx.constants;
        if (StepOps.hashCalldata(constants, CONSTANTS_LEN) != StateRecord.wordAt(env + ENV_CONSTANTS_HASH)) {
            revert ConstantsMismatch();
        }
        cx.constantsUsed = true;
        (bool present, bytes memory raw, uint256 next) = MptWrite.read(
            s.baseRoot, _addressKey(uint256(uint160(MESSAGE_PASSER))), nextTrie(cx), type(uint256).max
        );
        cx.trieNext = next;
        bytes32 passerRoot = BaseTrie.EMPTY_ROOT;
        if (present) (,, passerRoot,) = MptWrite.decodeAccount(raw);
        bytes32 blockHash = keccak256(_header(cx, s, env, constants, passerRoot));
        bytes32 output = keccak256(abi.encode(bytes32(0), s.baseRoot, passerRoot, blockHash));
        return keccak256(
            BlockStart.outsideFrames(StateRecord.uintAt(cx.pre + 1, 8), BLOCK_END, bytes32(0), output)
        );
    }

    /// @notice The header as op-node seals an Isthmus block (SPEC.md §5.19).
    function _header(Ctx memory cx, Sealing memory s, uint256 env, uint256 constants, bytes32 passerRoot)
        private
        pure
        returns (bytes memory)
    {
        bytes memory head = abi.encodePacked(
            bytes1(0xa0),
            StateRecord.wordAt(constants + 1),
            bytes1(0xa0),
            OMMERS_HASH,
            bytes1(0x94),
            bytes20(uint160(StateRecord.addressAt(env + ENV_COINBASE)))
        );
        head = abi.encodePacked(head, bytes1(0xa0), s.baseRoot, bytes1(0xa0), s.txs);
        head = abi.encodePacked(head, bytes1(0xa0), s.receipts, hex"b90100", s.bloom, hex"80");
        bytes memory tail = abi.encodePacked(
            _u64(env + ENV_NUMBER),
            _u64(env + ENV_GAS_LIMIT),
            BaseTrie.encodeUint(StateRecord.uintAt(cx.pre + StateRecord.GAS, 8)),
            _u64(env + ENV_TIMESTAMP)
        );
        tail = abi.encodePacked(
            tail,
            _string(msg.data[constants + 106:constants + 106 + StateRecord.uintAt(constants + 105, 1)]),
            bytes1(0xa0),
            StateRecord.wordAt(env + ENV_PREVRANDAO),
            hex"880000000000000000",
            _u64(env + ENV_BASEFEE)
        );
        bytes memory payload = abi.encodePacked(
            head,
            tail,
            bytes1(0xa0),
            passerRoot,
            hex"8080",
            bytes1(0xa0),
            StateRecord.wordAt(constants + 33),
            bytes1(0xa0),
            EMPTY_REQUESTS_HASH
        );
        return abi.encodePacked(_listHeader(payload.length), payload);
    }

    /// @notice The RLP of the block environment's word at `at`, which the header holds as a `u64`.
    function _u64(uint256 at) private pure returns (bytes memory) {
        uint256 v = uint256(StateRecord.wordAt(at));
        if (v > type(uint64).max) revert UnsupportedStep("a block environment beyond the header's u64 fields");
        return BaseTrie.encodeUint(v);
    }

    function _string(bytes memory b) private pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        return abi.encodePacked(uint8(0x80 + b.length), b);
    }

    function _listHeader(uint256 len) private pure returns (bytes memory) {
        if (len < 56) return abi.encodePacked(uint8(0xc0 + len));
        if (len < 256) return abi.encodePacked(uint8(0xf8), uint8(len));
        return abi.encodePacked(uint8(0xf9), uint16(len));
    }

    // ---- Shared ----------------------------------------------------------------------------

    /// @notice The Sealing state after the step: `tx_index`, the sealing record and the world's
    /// base and overlay roots as the step leaves them.
    function sealingState(Ctx memory cx, Sealing memory s, uint256 index) internal pure returns (bytes32 h) {
        bytes32 sealingHash = keccak256(
            abi.encodePacked(bytes1(0x19), s.folded, s.txs, s.receipts, s.cursor, s.bloom)
        );
        uint256 world = cx.world;
        uint256 pre = cx.pre;
        bytes32 base = s.baseRoot;
        bytes32 accounts = cx.accountsRoot;
        assembly ("memory-safe") {
            let w := mload(0x40)
            calldatacopy(w, world, 297)
            mstore(add(w, 1), base)
            mstore(add(w, 33), accounts)
            let worldRoot := keccak256(w, 297)
            let p := add(w, 320)
            calldatacopy(p, pre, 443)
            // tx_index: the u64 at 9.
            let at := add(p, 9)
            mstore(at, or(and(mload(at), shr(64, not(0))), shl(192, index)))
            mstore(add(p, 347), sealingHash)
            mstore(add(p, 411), worldRoot)
            h := keccak256(p, 443)
        }
    }

    /// @notice The calldata offset of the next trie witness.
    function nextTrie(Ctx memory cx) internal pure returns (uint256) {
        if (cx.trieLeft == 0) revert MissingWitness(WitnessList.TRIE_WRITE);
        cx.trieLeft -= 1;
        return cx.trieNext;
    }

    /// @notice Writes `value` (`present == false` deletes) at `key` under `root` with the next
    /// trie witness; the new root.
    function _trieWrite(Ctx memory cx, bytes32 root, bytes memory key, bool present, bytes memory value)
        private
        view
        returns (bytes32 newRoot)
    {
        (newRoot, cx.trieNext) = MptWrite.write(root, key, present, value, nextTrie(cx), type(uint256).max);
    }

    /// @notice The next account record, which must hash to `leaf`.
    function _record(Ctx memory cx, bytes32 leaf) private pure returns (uint256 rec) {
        if (cx.accountLeft == 0) revert MissingWitness(WitnessList.ACCOUNT_RECORD);
        rec = cx.accountNext;
        if (StepOps.hashCalldata(rec, 113) != leaf) revert BadAccountRecord();
        cx.accountNext += 113;
        cx.accountLeft -= 1;
    }

    function _addressKey(uint256 addr) private pure returns (bytes memory) {
        return abi.encodePacked(keccak256(abi.encodePacked(address(uint160(addr)))));
    }

    function _key21(uint256 tag, uint256 addr) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(tag), address(uint160(addr))));
    }

    function _slotKey(uint256 addr, uint256 incarnation, uint256 slot) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x11), address(uint160(addr)), uint64(incarnation), slot));
    }
}
