// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ctx, StepOps, StateRecord} from "./StepContext.sol";
import {BaseTrie} from "./BaseTrie.sol";
import {MptWrite} from "./MptWrite.sol";
import {ReceiptCodec} from "./ReceiptCodec.sol";
import {WordTree} from "./WordTree.sol";
import {BlockEndStep} from "./BlockEndStep.sol";
import "./StepErrors.sol";

/// @title The block end's insertion step (fraud-vm/SPEC.md §5.19; Rust: `insert` in step/block_end.rs)
/// @notice Receipt `tx_index` and the transaction at the list index it names into their tries at
/// key `rlp(tx_index)`. [v0.12] A long encoding may come in its L1 form (SPEC.md §3.4.1: its
/// word-tree root, length and first word, the oracle's HASH of it for the list), and a long leaf
/// of either trie as its value's root and length (SPEC.md §3.10): their leaves' hashes are then
/// the range oracle's facts. [v0.13] A receipt whose logs carry long data comes with that data
/// by its word-tree root (`ReceiptCodec`): the logs' hashes and the encoding's tree are facts,
/// and the receipt's leaf is a leaf over a long value. [v0.15] So is that of a receipt whose logs
/// come by the range oracle's LOGS fact (their chain, count and bloom; `ReceiptCodec`).
library InsertionStep {
    /// Bytes of a transaction in the insertion's L1 form: `R_e ‖ u32 len(e) ‖` the range
    /// multiproof of word 0 (`u32 0 ‖ u32 1 ‖ word ‖ 32 siblings`).
    uint256 private constant LONG_TX_LEN = 32 + 4 + WordTree.RANGE_HEAD + 33 * 32;

    /// @notice The insertion step from the opened Sealing state `s`: its post-state commitment
    /// (the caller checks that every witness was used).
    function insert(Ctx memory cx, BlockEndStep.Sealing memory s) internal view returns (bytes32) {
        uint256 index = StateRecord.uintAt(cx.pre + 9, 8);
        if (cx.receipt == 0) revert MissingWitness(WitnessList.RECEIPT);
        cx.receiptUsed = true;
        address oracle = StepOps.rangeOracleOf(cx);
        (bytes memory encoding, bytes32 longRoot, uint256 longLen, uint256 txType) =
            _transaction(cx, ReceiptCodec.txIndex(cx.receipt), oracle);
        bytes memory key = BaseTrie.encodeUint(index);
        s.txs = _write(cx, s.txs, key, encoding, longRoot, longLen, oracle);
        _insertReceipt(cx, s, key, txType, oracle);
        return BlockEndStep.sealingState(cx, s, index + 1);
    }

    /// @notice The receipt's link in the cursor, its bloom, and its encoding written at `key`
    /// with the next trie witness (the receipts trie's). [v0.13] A receipt with long log data is
    /// a long value, its tree and its logs' hashes the oracle's facts (SPEC.md §5.19).
    function _insertReceipt(
        Ctx memory cx,
        BlockEndStep.Sealing memory s,
        bytes memory key,
        uint256 txType,
        address oracle
    ) private view {
        (bytes memory encoded, bytes32 root, uint256 len, bytes memory bloom, bytes32 cursor) =
            ReceiptCodec.encode(cx.receipt, txType, s.cursor, oracle);
        s.cursor = cursor;
        for (uint256 i = 0; i < 256; ++i) {
            s.bloom[i] |= bloom[i];
        }
        s.receipts = _write(cx, s.receipts, key, encoded, root, len, oracle);
    }

    /// @notice Transaction `index` of the block's list (else `BadTransaction`): its EIP-2718
    /// encoding, or in the L1 form its word-tree root and length (`encoding` empty), and its
    /// type (the first byte if below 0x80, else 0: legacy).
    function _transaction(Ctx memory cx, uint256 index, address oracle)
        private
        view
        returns (bytes memory encoding, bytes32 longRoot, uint256 longLen, uint256 txType)
    {
        uint256 env = StepOps.blockEnv(cx);
        if (!cx.hasTransaction) revert MissingWitness(WitnessList.TRANSACTION);
        cx.transactionUsed = true;
        uint256 at = cx.txEncoding;
        uint256 len = cx.txEncodingLen;
        (bool ok, bytes32 word) = StepOps.transactionWord(cx.txPosition, index, env);
        if (!ok) revert BadTransaction();
        uint256 first;
        if (!cx.txLong) {
            if (word != StepOps.hashCalldata(at, len)) revert BadTransaction();
            encoding = msg.data[at:at + len];
            if (len > 0) first = uint8(encoding[0]);
        } else {
            if (len != LONG_TX_LEN) revert BadTransaction();
            longRoot = StateRecord.wordAt(at);
            longLen = StateRecord.uintAt(at + 32, 4);
            // A value of 56 bytes or more: its string header is a long one, its leaf hashed.
            if (longLen < 56) revert BadTransaction();
            (bool inTree,,) = WordTree.checkRange(at + 36, 0, 1, longRoot, _scratchWord());
            if (!inTree) revert BadTransaction();
            first = uint256(StateRecord.wordAt(at + 36 + WordTree.RANGE_HEAD)) >> 248;
            (bytes32 h,) = StepOps.factOf(oracle, longRoot, 0, longLen, longLen, StepOps.JOB_HASH, 0, 0);
            if (h != word) revert BadTransaction();
        }
        txType = first < 0x80 ? first : 0;
    }

    /// @notice Writes the value (bytes, or the long value `(longRoot, longLen)`) at `key` under
    /// `root` with the next trie witness, long leaves hashed by `oracle`'s facts; the new root.
    function _write(
        Ctx memory cx,
        bytes32 root,
        bytes memory key,
        bytes memory value,
        bytes32 longRoot,
        uint256 longLen,
        address oracle
    ) private view returns (bytes32 newRoot) {
        (newRoot, cx.trieNext) = MptWrite.writeWith(
            root, key, value, longRoot, longLen, BlockEndStep.nextTrie(cx), type(uint256).max, oracle
        );
    }

    /// @notice A fresh word of memory to copy a proof's word into.
    function _scratchWord() private pure returns (uint256 p) {
        bytes memory b = new bytes(32);
        assembly ("memory-safe") {
            p := add(b, 32)
        }
    }
}
