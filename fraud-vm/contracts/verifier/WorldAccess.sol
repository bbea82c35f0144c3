// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {SparseTree} from "./SparseTree.sol";
import {WordTree} from "./WordTree.sol";
import "./StepErrors.sol";

/// @title World-state access of an opcode step (fraud-vm/SPEC.md §3.7, §3.8; Rust: step/access.rs)
/// @notice The world record, checked once against the pre-state's `world_root`, and sparse-tree
/// lookups and updates, each path consumed in access order and checked against the tree's
/// current root.
library WorldAccess {
    /// Offset of `transient_root` in the world record (SPEC.md §3.7.1).
    uint256 internal constant TRANSIENT_ROOT = 97;
    /// Offset of `block_hashes_root` in the block environment (SPEC.md §3.6).
    uint256 internal constant BLOCK_HASHES_ROOT = 245;

    /// @notice Reads the world record once, checked against the pre-state.
    function world(Ctx memory cx) internal pure {
        if (cx.worldUsed) return;
        if (cx.world == 0) revert MissingWitness(WitnessList.WORLD);
        if (StepOps.hashCalldata(cx.world, 297) != StateRecord.wordAt(cx.pre + 411)) revert WorldMismatch();
        cx.worldUsed = true;
        cx.transientRoot = StateRecord.wordAt(cx.world + TRANSIENT_ROOT);
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

    /// @notice The transient value of slot `slot` of the executing account (one path).
    function tload(Ctx memory cx, uint256 slot) internal pure returns (uint256) {
        world(cx);
        (bytes32 leaf,,) = path(cx, cx.transientRoot, transientKey(cx, slot));
        return uint256(leaf);
    }

    /// @notice Writes transient storage of the executing account (zero removes the leaf).
    function tstore(Ctx memory cx, uint256 slot, uint256 value) internal pure {
        world(cx);
        bytes32 key = transientKey(cx, slot);
        (, uint256 bitmap, uint256 siblings) = path(cx, cx.transientRoot, key);
        cx.transientRoot = SparseTree.rootWith(siblings, bitmap, key, bytes32(value));
        cx.worldChanged = true;
    }

    /// @notice Transient storage key `keccak256(0x13 ‖ address ‖ slot)` (SPEC.md §3.7.4).
    function transientKey(Ctx memory cx, uint256 slot) private pure returns (bytes32 key) {
        uint256 account = StateRecord.addressAt(cx.pre + StateRecord.ADDRESS);
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x13)
            mstore(add(p, 1), shl(96, account))
            mstore(add(p, 21), slot)
            key := keccak256(p, 53)
        }
    }

    /// @notice The commitment of the world record as the step left it.
    function commitment(Ctx memory cx) internal pure returns (bytes32 h) {
        uint256 at = cx.world;
        bytes32 transient = cx.transientRoot;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, 297)
            mstore(add(p, TRANSIENT_ROOT), transient)
            h := keccak256(p, 297)
        }
    }

    /// @notice The hash of block `requested` (BLOCKHASH, SPEC.md §5.11): zero outside the 256
    /// blocks before the current one, else word `requested mod 256` of the block hash tree.
    function blockHash(Ctx memory cx, uint256 requested) internal pure returns (uint256) {
        uint256 env = StepOps.blockEnv(cx);
        uint256 number = uint256(StateRecord.wordAt(env + 53));
        if (requested >= number || number - requested > 256) return 0;
        if (cx.blockHashLeft == 0) revert MissingWitness(WitnessList.BLOCK_HASH);
        uint256 index = requested % 256;
        (bool ok, bytes32 w) =
            WordTree.check(cx.blockHashNext, index, StateRecord.wordAt(env + BLOCK_HASHES_ROOT));
        if (!ok) revert BadBlockHashProof();
        cx.blockHashNext += WordTree.PROOF_LEN;
        cx.blockHashLeft -= 1;
        return uint256(w);
    }
}
