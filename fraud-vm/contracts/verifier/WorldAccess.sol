// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {SparseTree} from "./SparseTree.sol";
import {WordTree} from "./WordTree.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {ProofCodec} from "./ProofCodec.sol";
import "./StepErrors.sol";

/// An account as a step reads it (SPEC.md §3.7.2).
struct Account {
    uint256 nonce;
    uint256 balance;
    bytes32 codeHash;
    bytes32 storageRoot;
    uint256 incarnation;
}

/// @title World-state access of an opcode step (fraud-vm/SPEC.md §3.7, §3.8; Rust: step/access.rs)
/// @notice The world record, checked once against the pre-state's `world_root`, and sparse-tree
/// lookups and updates, each path consumed in access order and checked against the tree's
/// current root.
library WorldAccess {
    /// Offsets of the roots in the world record (SPEC.md §3.7.1).
    uint256 internal constant BASE_ROOT = 1;
    uint256 internal constant ACCOUNTS_ROOT = 33;
    uint256 internal constant ORIGINAL_ROOT = 65;
    uint256 internal constant TRANSIENT_ROOT = 97;
    uint256 internal constant ACCESSED_ROOT = 129;
    uint256 internal constant CREATED_ROOT = 161;
    uint256 internal constant DESTRUCTS_ROOT = 193;
    uint256 internal constant LOGS_ROOT = 225;
    uint256 internal constant LOGS_COUNT = 257;
    uint256 internal constant CHECKPOINT_ROOT = 265;
    /// `keccak256("")`: the code hash of an account without code.
    bytes32 internal constant KECCAK_EMPTY = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    /// The leaf of a set member (warm and created sets).
    bytes32 internal constant MEMBER = bytes32(uint256(1));
    /// The EIP-2935 history contract and its ring of block hashes (SPEC.md §5.11).
    uint256 internal constant HISTORY_STORAGE = uint256(uint160(0x0000F90827F1C53a10cb7A02335B175320002935));
    uint256 internal constant HISTORY_SERVE_WINDOW = 8191;

    /// @notice Reads the world record once, checked against the pre-state.
    function world(Ctx memory cx) internal pure {
        if (cx.worldUsed) return;
        if (cx.world == 0) revert MissingWitness(WitnessList.WORLD);
        if (StepOps.hashCalldata(cx.world, 297) != StateRecord.wordAt(cx.pre + 411)) revert WorldMismatch();
        cx.worldUsed = true;
        cx.transientRoot = StateRecord.wordAt(cx.world + TRANSIENT_ROOT);
        cx.accountsRoot = StateRecord.wordAt(cx.world + ACCOUNTS_ROOT);
        cx.accessedRoot = StateRecord.wordAt(cx.world + ACCESSED_ROOT);
        cx.originalRoot = StateRecord.wordAt(cx.world + ORIGINAL_ROOT);
        cx.logsRoot = StateRecord.wordAt(cx.world + LOGS_ROOT);
        cx.logsCount = StateRecord.uintAt(cx.world + LOGS_COUNT, 8);
        cx.createdRoot = StateRecord.wordAt(cx.world + CREATED_ROOT);
        cx.destructsRoot = StateRecord.wordAt(cx.world + DESTRUCTS_ROOT);
        cx.checkpointRoot = StateRecord.wordAt(cx.world + CHECKPOINT_ROOT);
    }

    /// @notice Pushes a checkpoint of the current world (SPEC.md §3.7.6).
    function pushCheckpoint(Ctx memory cx) internal pure {
        world(cx);
        cx.checkpointRoot = keccak256(
            abi.encodePacked(
                bytes1(0x07),
                cx.checkpointRoot,
                cx.accountsRoot,
                cx.transientRoot,
                cx.accessedRoot,
                cx.createdRoot,
                cx.destructsRoot,
                cx.logsRoot,
                uint64(cx.logsCount)
            )
        );
        cx.worldChanged = true;
    }

    /// @notice The next tree path, checked against `root` at `key`: its leaf, and the bitmap
    /// and calldata offset of its siblings for an update.
    function path(Ctx memory cx, bytes32 root, bytes32 key)
        internal
        pure
        returns (bytes32 leaf, uint256 bitmap, uint256 siblings)
    {
        if (cx.treeLeft == 0) revert MissingWitness(WitnessList.TREE_PATH);
        uint256 at = cx.treeNext;
        leaf = StateRecord.wordAt(at);
        bitmap = uint256(StateRecord.wordAt(at + 32));
        siblings = at + 64;
        cx.treeNext = siblings + 32 * SparseTree.popcount(bitmap);
        cx.treeLeft -= 1;
        if (SparseTree.rootWith(siblings, bitmap, key, leaf) != root) revert BadTreeProof();
    }

    /// @notice Writes `newLeaf` at `key` of the tree with root `root`: the next path, checked
    /// against `root` (any old leaf), gives the new root in the same pass.
    function update(Ctx memory cx, bytes32 root, bytes32 key, bytes32 newLeaf) internal pure returns (bytes32) {
        (uint256 at, bytes32 leaf, uint256 bitmap) = _nextPath(cx);
        (bytes32 old, bytes32 updated) = SparseTree.rootsWith(at + 64, bitmap, key, leaf, newLeaf);
        if (old != root) revert BadTreeProof();
        return updated;
    }

    /// @notice Adds the member `key` to the set with root `root` if it is absent (one path):
    /// whether it was absent, and the set's root after.
    function insert(Ctx memory cx, bytes32 root, bytes32 key) internal pure returns (bool absent, bytes32) {
        (uint256 at, bytes32 leaf, uint256 bitmap) = _nextPath(cx);
        if (leaf != 0) {
            if (SparseTree.rootWith(at + 64, bitmap, key, leaf) != root) revert BadTreeProof();
            return (false, root);
        }
        (bytes32 old, bytes32 updated) = SparseTree.rootsWith(at + 64, bitmap, key, 0, MEMBER);
        if (old != root) revert BadTreeProof();
        return (true, updated);
    }

    /// @notice The next tree path: its calldata offset, leaf and bitmap (the siblings follow).
    function _nextPath(Ctx memory cx) private pure returns (uint256 at, bytes32 leaf, uint256 bitmap) {
        if (cx.treeLeft == 0) revert MissingWitness(WitnessList.TREE_PATH);
        at = cx.treeNext;
        leaf = StateRecord.wordAt(at);
        bitmap = uint256(StateRecord.wordAt(at + 32));
        cx.treeNext = at + 64 + 32 * SparseTree.popcount(bitmap);
        cx.treeLeft -= 1;
    }

    /// @notice The transient value of slot `slot` of the executing account (one path).
    function tload(Ctx memory cx, uint256 slot) internal pure returns (uint256) {
        world(cx);
        (bytes32 leaf,,) = path(cx, cx.transientRoot, transientKey(cx, slot));
        return uint256(leaf);
    }

    /// @notice Writes transient storage of the executing account (zero removes the leaf).
    function tstore(Ctx memory cx, uint256 slot, uint256 value) internal pure {
        world(cx);
        cx.transientRoot = update(cx, cx.transientRoot, transientKey(cx, slot), bytes32(value));
        cx.worldChanged = true;
    }

    /// @notice Transient storage key `keccak256(0x13 ‖ address ‖ slot)` (SPEC.md §3.7.4).
    function transientKey(Ctx memory cx, uint256 slot) private pure returns (bytes32) {
        return _key53(0x13, _self(cx), slot);
    }

    /// @notice The commitment of the world record as the step left it.
    function commitment(Ctx memory cx) internal pure returns (bytes32 h) {
        uint256 at = cx.world;
        bytes32 transient = cx.transientRoot;
        bytes32 accounts = cx.accountsRoot;
        bytes32 accessed = cx.accessedRoot;
        bytes32 created = cx.createdRoot;
        bytes32 logs = cx.logsRoot;
        bytes32 destructs = cx.destructsRoot;
        bytes32 checkpoint = cx.checkpointRoot;
        uint256 count = cx.logsCount;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, 297)
            mstore(add(p, TRANSIENT_ROOT), transient)
            mstore(add(p, ACCOUNTS_ROOT), accounts)
            mstore(add(p, ACCESSED_ROOT), accessed)
            mstore(add(p, CREATED_ROOT), created)
            mstore(add(p, LOGS_ROOT), logs)
            mstore(add(p, DESTRUCTS_ROOT), destructs)
            mstore(add(p, CHECKPOINT_ROOT), checkpoint)
            // logs_count: a u64 followed by the checkpoint root, kept.
            let c := add(p, LOGS_COUNT)
            mstore(c, or(and(mload(c), shr(64, not(0))), shl(192, count)))
            h := keccak256(p, 297)
        }
    }

    /// @notice Marks slot `slot` of the executing account warm (SPEC.md §3.7.3); whether it was
    /// cold. One path does both.
    function touchSlot(Ctx memory cx, uint256 slot) internal pure returns (bool cold) {
        return touchSlotOf(cx, _self(cx), slot);
    }

    /// @notice Marks slot `slot` of `addr` warm; whether it was cold.
    function touchSlotOf(Ctx memory cx, uint256 addr, uint256 slot) internal pure returns (bool cold) {
        world(cx);
        (cold, cx.accessedRoot) = insert(cx, cx.accessedRoot, _key53(0x15, addr, slot));
        if (cold) cx.worldChanged = true;
    }

    /// @notice The executing account's incarnation and storage root (SPEC.md §3.7.2).
    function selfAccount(Ctx memory cx) internal pure returns (uint256 incarnation, bytes32 storageRoot) {
        Account memory a = account(cx, _self(cx));
        return (a.incarnation, a.storageRoot);
    }

    /// @notice The account at `addr`: its overlay record, else the base account, else the empty
    /// account (SPEC.md §3.7.2).
    function account(Ctx memory cx, uint256 addr) internal pure returns (Account memory a) {
        world(cx);
        (bytes32 leaf,,) = path(cx, cx.accountsRoot, _key21(0x10, addr));
        if (leaf != 0) {
            if (cx.accountLeft == 0) revert MissingWitness(WitnessList.ACCOUNT_RECORD);
            uint256 rec = cx.accountNext;
            if (StepOps.hashCalldata(rec, ProofCodec.ACCOUNT_LEN) != leaf) revert BadAccountRecord();
            cx.accountNext += ProofCodec.ACCOUNT_LEN;
            cx.accountLeft -= 1;
            a.nonce = StateRecord.uintAt(rec + 1, 8);
            a.balance = uint256(StateRecord.wordAt(rec + 9));
            a.codeHash = StateRecord.wordAt(rec + 41);
            a.storageRoot = StateRecord.wordAt(rec + 73);
            a.incarnation = StateRecord.uintAt(rec + 105, 8);
            return a;
        }
        if (cx.baseAccountLeft == 0) revert MissingWitness(WitnessList.BASE_ACCOUNT);
        uint256 at = cx.baseAccountNext;
        bool present = StateRecord.uintAt(at, 1) == 1;
        bytes memory expected;
        a.codeHash = KECCAK_EMPTY;
        a.storageRoot = BaseTrie.EMPTY_ROOT;
        if (present) {
            a.nonce = StateRecord.uintAt(at + 1, 8);
            a.balance = uint256(StateRecord.wordAt(at + 9));
            a.storageRoot = StateRecord.wordAt(at + 41);
            a.codeHash = StateRecord.wordAt(at + 73);
            expected = BaseTrie.encodeAccount(a.nonce, a.balance, a.storageRoot, a.codeHash);
            at += 104;
        }
        uint256 nodes = at + 1;
        cx.baseAccountNext = ProofCodec._nodes(nodes, type(uint256).max);
        cx.baseAccountLeft -= 1;
        bool ok = BaseTrie.verify(
            StateRecord.wordAt(cx.world + BASE_ROOT),
            keccak256(abi.encodePacked(address(uint160(addr)))),
            present,
            expected,
            nodes + 4,
            StateRecord.uintAt(nodes, 4)
        );
        if (!ok) revert BadBaseProof();
    }

    /// @notice Writes the account record `a` at `addr` (one path in the current overlay).
    function setAccount(Ctx memory cx, uint256 addr, Account memory a) internal pure {
        bytes32 leaf = keccak256(
            abi.encodePacked(
                bytes1(0x09), uint64(a.nonce), a.balance, a.codeHash, a.storageRoot, uint64(a.incarnation)
            )
        );
        cx.accountsRoot = update(cx, cx.accountsRoot, _key21(0x10, addr), leaf);
        cx.worldChanged = true;
    }

    /// @notice Adds `addr` to the created set (EIP-6780; one path in `created_root`).
    function markCreated(Ctx memory cx, uint256 addr) internal pure {
        world(cx);
        bool absent;
        (absent, cx.createdRoot) = insert(cx, cx.createdRoot, _key21(0x16, addr));
        if (absent) cx.worldChanged = true;
    }

    /// @notice Moves `value` from `from` to `to` (nothing for zero or `from = to`; the caller has
    /// checked the balance): reads both accounts, then writes both (SPEC.md §5.14).
    function transfer(Ctx memory cx, uint256 from, uint256 to, uint256 value) internal pure {
        if (value == 0 || from == to) return;
        Account memory a = account(cx, from);
        Account memory b = account(cx, to);
        unchecked {
            a.balance -= value;
            uint256 sum = b.balance + value;
            b.balance = sum < value ? type(uint256).max : sum;
        }
        setAccount(cx, from, a);
        setAccount(cx, to, b);
    }

    /// @notice Whether `addr` was created in this transaction (one path in `created_root`).
    function isCreated(Ctx memory cx, uint256 addr) internal pure returns (bool) {
        world(cx);
        (bytes32 leaf,,) = path(cx, cx.createdRoot, _key21(0x16, addr));
        return leaf != 0;
    }

    /// @notice `keccak256(tag ‖ address)`: a 21-byte key (SPEC.md §3.7.2-§3.7.4).
    function _key21(uint256 tag, uint256 addr) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, tag)
            mstore(add(p, 1), shl(96, addr))
            key := keccak256(p, 21)
        }
    }

    /// @notice Marks `addr` warm (SPEC.md §3.7.3); whether it was cold. Precompiles are always
    /// warm and need no path.
    function touchAccount(Ctx memory cx, uint256 addr) internal pure returns (bool cold) {
        if ((addr >= 1 && addr <= 0x11) || addr == 0x100) return false;
        world(cx);
        (cold, cx.accessedRoot) = insert(cx, cx.accessedRoot, _key21(0x14, addr));
        if (cold) cx.worldChanged = true;
    }

    /// @notice The code whose hash is `hash`: empty for `keccak256("")`, else the next code
    /// witness, checked (SPEC.md §5.11). Returns its calldata offset and length.
    function codeOf(Ctx memory cx, bytes32 hash) internal pure returns (uint256 at, uint256 len) {
        if (hash == KECCAK_EMPTY) return (0, 0);
        if (cx.codeLeft == 0) revert MissingWitness(WitnessList.CODE);
        len = StateRecord.uintAt(cx.codeNext, 4);
        at = cx.codeNext + 4;
        if (StepOps.hashCalldata(at, len) != hash) revert BadCode();
        cx.codeNext = at + len;
        cx.codeLeft -= 1;
    }

    /// @notice Slot `slot` of the executing account (incarnation, storage root) in the current
    /// overlay, else in its base storage trie (zero without witness when that is empty).
    function selfSlot(Ctx memory cx, uint256 incarnation, bytes32 storageRoot, uint256 slot)
        internal
        pure
        returns (uint256 value)
    {
        bool found;
        (found, value) = overlaySlot(cx, cx.accountsRoot, incarnation, slot);
        if (!found) value = baseSlot(cx, storageRoot, slot);
    }

    /// @notice Slot `slot` of the executing account in the overlay with root `root` (the
    /// current `accounts_root` or the `original_root`): whether it is there, and its value.
    function overlaySlot(Ctx memory cx, bytes32 root, uint256 incarnation, uint256 slot)
        internal
        pure
        returns (bool found, uint256 value)
    {
        return overlaySlotOf(cx, root, _self(cx), incarnation, slot);
    }

    /// @notice Slot `slot` of the account at `addr` (of incarnation `incarnation`) in the overlay
    /// with root `root`: whether it is there, and its value.
    function overlaySlotOf(Ctx memory cx, bytes32 root, uint256 addr, uint256 incarnation, uint256 slot)
        internal
        pure
        returns (bool found, uint256 value)
    {
        (bytes32 leaf,,) = path(cx, root, _slotKey(addr, incarnation, slot));
        if (leaf == 0) return (false, 0);
        if (cx.slotLeft == 0) revert MissingWitness(WitnessList.STORAGE_VALUE);
        value = uint256(StateRecord.wordAt(cx.slotNext));
        if (slotLeaf(value) != leaf) revert BadSlotValue();
        cx.slotNext += 32;
        cx.slotLeft -= 1;
        return (true, value);
    }

    /// @notice Slot `slot` in the base storage trie with root `storageRoot`: zero without
    /// witness when that trie is empty, else a base slot proof (zero proved by absence).
    function baseSlot(Ctx memory cx, bytes32 storageRoot, uint256 slot) internal pure returns (uint256 value) {
        if (storageRoot == BaseTrie.EMPTY_ROOT) return 0;
        if (cx.baseSlotLeft == 0) revert MissingWitness(WitnessList.BASE_SLOT);
        uint256 at = cx.baseSlotNext;
        value = uint256(StateRecord.wordAt(at));
        uint256 nodes = at + 32;
        cx.baseSlotNext = ProofCodec._nodes(nodes, type(uint256).max);
        cx.baseSlotLeft -= 1;
        bool ok = BaseTrie.verify(
            storageRoot,
            keccak256(abi.encodePacked(slot)),
            value != 0,
            BaseTrie.encodeUint(value),
            nodes + 4,
            StateRecord.uintAt(nodes, 4)
        );
        if (!ok) revert BadBaseProof();
    }

    /// @notice Writes slot `slot` of the executing account (one path in the current overlay).
    function setSlot(Ctx memory cx, uint256 incarnation, uint256 slot, uint256 value) internal pure {
        cx.accountsRoot = update(cx, cx.accountsRoot, _slotKey(_self(cx), incarnation, slot), slotLeaf(value));
        cx.worldChanged = true;
    }

    /// @notice The overlay key `keccak256(0x11 ‖ address ‖ incarnation ‖ slot)` of a slot
    /// (SPEC.md §3.7.2).
    function _slotKey(uint256 addr, uint256 incarnation, uint256 slot) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x11)
            mstore(add(p, 1), shl(96, addr))
            mstore(add(p, 21), shl(192, incarnation))
            mstore(add(p, 29), slot)
            key := keccak256(p, 61)
        }
    }

    /// @notice The overlay leaf `keccak256(0x12 ‖ value)` of a storage value (never zero).
    function slotLeaf(uint256 value) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x12)
            mstore(add(p, 1), value)
            h := keccak256(p, 33)
        }
    }

    function _self(Ctx memory cx) private pure returns (uint256) {
        return StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
    }

    /// @notice `keccak256(tag ‖ address ‖ slot)`: a 53-byte key (SPEC.md §3.7.3, §3.7.4).
    function _key53(uint256 tag, uint256 addr, uint256 slot) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, tag)
            mstore(add(p, 1), shl(96, addr))
            mstore(add(p, 21), slot)
            key := keccak256(p, 53)
        }
    }

    /// @notice The hash of block `requested` (BLOCKHASH, SPEC.md §5.11): zero outside the 256
    /// blocks before the current one, else slot `requested mod 8191` of the EIP-2935 history
    /// contract, read as SLOAD reads a slot (overlay, else the base storage trie) without
    /// warming anything.
    function blockHash(Ctx memory cx, uint256 requested) internal pure returns (uint256 value) {
        uint256 env = StepOps.blockEnv(cx);
        uint256 number = uint256(StateRecord.wordAt(env + 53));
        if (requested >= number || number - requested > 256) return 0;
        uint256 slot = requested % HISTORY_SERVE_WINDOW;
        Account memory a = account(cx, HISTORY_STORAGE);
        bool found;
        (found, value) = overlaySlotOf(cx, cx.accountsRoot, HISTORY_STORAGE, a.incarnation, slot);
        if (!found) value = baseSlot(cx, a.storageRoot, slot);
    }
}
