// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {MerkleTrie} from "../lib/MerkleTrie.sol";
import {RLPReader} from "../lib/RLPReader.sol";

/// @title DepositLogIndex
/// @notice Learns, from an L1 block's receipts, the log indices of the portal's
///         `TransactionDeposited` events in that block, the indices that a user deposit's source
///         hash commits to (`keccak256(bytes32(0) ‖ keccak256(blockHash ‖ bytes32(logIndex)))`,
///         BATCHES.md §3.5). Anyone may prove a block's receipts, in order from index 0 and in as
///         many calls as they like, each receipt by a Merkle-Patricia proof under the receipts
///         root of the block's header. For each receipt the oracle counts its logs (a log's index
///         is its position among all logs of the block) and folds the index of each portal
///         deposit log into a chain: `chain_0 = 0`, `chain_{c+1} = keccak256(0x23 ‖ chain_c ‖
///         uint64 logIndex)`, stored as `chainAt[H][c + 1]` for the block hash `H`.
/// @dev The block hash is `keccak256(header)`: facts are recorded under whatever block the
///      header hashes to; nothing here says the block is canonical. A reader asks about a hash it
///      already trusts (the fault-proof verifier asks about the epoch hash the inbox tied), and a
///      header is the only preimage of its hash, so the receipts root read from it is the block's.
contract DepositLogIndex {
    using RLPReader for RLPReader.Item;

    /// @notice Domain tag of a link of the log-index chain.
    uint8 public constant LOG_INDEX_LINK_TAG = 0x23;
    /// @notice topic 0 of `TransactionDeposited(address,address,uint256,bytes)`.
    bytes32 public constant DEPOSIT_TOPIC = keccak256("TransactionDeposited(address,address,uint256,bytes)");
    /// @dev Position of the receipts root among a header's fields.
    uint256 private constant RECEIPTS_ROOT_FIELD = 5;

    /// @notice The portal whose deposit logs are indexed.
    address public immutable portal;

    /// @notice The chain after the first `c` portal deposit logs of block `H` (zero when fewer
    ///         have been proven; `c = 0` is always zero).
    mapping(bytes32 => mapping(uint256 => bytes32)) public chainAt;
    /// @notice Index of the next receipt of block `H` to prove (receipts `0 .. nextReceipt - 1`
    ///         are proven).
    mapping(bytes32 => uint256) public nextReceipt;
    /// @notice Logs of block `H` in the receipts proven so far.
    mapping(bytes32 => uint256) public logsBefore;
    /// @notice Portal deposit logs of block `H` in the receipts proven so far.
    mapping(bytes32 => uint256) public depositsFound;

    /// @notice Receipts `first .. first + count - 1` of block `blockHash` were proven; the block's
    ///         proven receipts now hold `logs` logs of which `deposits` are portal deposits.
    event ReceiptsProven(bytes32 indexed blockHash, uint256 first, uint256 count, uint256 logs, uint256 deposits);

    /// @notice The header is not an RLP list with a 32-byte receipts root as its 6th field.
    error BadHeader();
    /// @notice The call does not continue where the block's proven receipts stop.
    error ReceiptOutOfOrder(uint256 expected, uint256 first);
    /// @notice Receipt `index`'s proof does not show it under the header's receipts root.
    error BadReceiptProof(uint256 index);
    /// @notice Receipt `index` is not a receipt: not `[status, cumulativeGas, bloom, logs]`
    ///         (after a type byte when typed) with logs `[address, topics, data]`.
    error BadReceipt(uint256 index);

    /// @param portal_ The `OptimismPortal` whose `TransactionDeposited` logs are indexed.
    constructor(address portal_) {
        portal = portal_;
    }

    /// @notice Proves receipts `first .. first + proofs.length - 1` of the block whose header is
    ///         `header`: `proofs[i]` is the Merkle-Patricia proof (root first, as `eth_getProof`
    ///         gives it) of receipt `first + i` under key `rlp(first + i)` of the header's
    ///         receipts root; the receipt is the value it proves. `first` must be
    ///         `nextReceipt[keccak256(header)]`.
    function proveReceipts(bytes calldata header, uint256 first, bytes[][] calldata proofs) external {
        bytes32 blockHash = keccak256(header);
        uint256 expected = nextReceipt[blockHash];
        if (first != expected) revert ReceiptOutOfOrder(expected, first);
        bytes32 root = _receiptsRoot(header);
        uint256 logs = logsBefore[blockHash];
        uint256 deposits = depositsFound[blockHash];
        bytes32 chain = chainAt[blockHash][deposits];
        for (uint256 i = 0; i < proofs.length; i++) {
            uint256 index = first + i;
            bytes memory receipt = _get(index, proofs[i], root);
            RLPReader.Item[] memory entries = _logs(receipt, index);
            for (uint256 j = 0; j < entries.length; j++) {
                if (_isDeposit(entries[j], index)) {
                    chain = keccak256(abi.encodePacked(LOG_INDEX_LINK_TAG, chain, uint64(logs)));
                    deposits++;
                    chainAt[blockHash][deposits] = chain;
                }
                logs++;
            }
        }
        nextReceipt[blockHash] = first + proofs.length;
        logsBefore[blockHash] = logs;
        depositsFound[blockHash] = deposits;
        emit ReceiptsProven(blockHash, first, proofs.length, logs, deposits);
    }

    /// @dev The receipts root of an RLP header, or `BadHeader` whatever the decoder's error.
    function _receiptsRoot(bytes calldata header) private view returns (bytes32) {
        try this.receiptsRoot(header) returns (bytes32 root) {
            return root;
        } catch {
            revert BadHeader();
        }
    }

    /// @notice The receipts root of an RLP block header: its 6th field, which must be 32 bytes.
    ///         Reverts unless the header is one RLP list of at least 6 items.
    function receiptsRoot(bytes calldata header) external pure returns (bytes32) {
        RLPReader.Item memory item = RLPReader.toItem(header);
        if (!item.isList()) revert BadHeader();
        RLPReader.Item[] memory fields = item.readList();
        if (fields.length <= RECEIPTS_ROOT_FIELD || fields[RECEIPTS_ROOT_FIELD].isList()) revert BadHeader();
        bytes memory root = fields[RECEIPTS_ROOT_FIELD].readBytes();
        if (root.length != 32) revert BadHeader();
        return bytes32(root);
    }

    /// @dev The receipt proven at key `rlp(index)`, or `BadReceiptProof`.
    function _get(uint256 index, bytes[] calldata proof, bytes32 root) private view returns (bytes memory) {
        try this.trieGet(_rlpIndex(index), proof, root) returns (bytes memory value) {
            return value;
        } catch {
            revert BadReceiptProof(index);
        }
    }

    /// @notice `MerkleTrie.get`, external so that `proveReceipts` can name the receipt whose proof
    ///         fails whatever the library's error. Pure: calling it records nothing.
    function trieGet(bytes calldata key, bytes[] calldata proof, bytes32 root) external pure returns (bytes memory) {
        return MerkleTrie.get(key, proof, root);
    }

    /// @dev The logs of a receipt: `[status, cumulativeGas, bloom, logs]`, after one type byte
    ///      (below 0x80) when typed.
    function _logs(bytes memory receipt, uint256 index) private pure returns (RLPReader.Item[] memory) {
        if (receipt.length == 0) revert BadReceipt(index);
        uint256 ptr;
        assembly {
            ptr := add(receipt, 32)
        }
        uint256 len = receipt.length;
        if (uint8(receipt[0]) < 0x80) {
            // EIP-2718 type byte, then the receipt's RLP.
            ptr += 1;
            len -= 1;
        }
        if (len == 0) revert BadReceipt(index);
        RLPReader.Item memory item = RLPReader.Item(len, ptr);
        (uint256 offset, uint256 payload, bool list) = RLPReader.header(item);
        if (!list || offset + payload != len) revert BadReceipt(index);
        RLPReader.Item[] memory fields = item.readList();
        if (fields.length != 4 || !fields[3].isList()) revert BadReceipt(index);
        return fields[3].readList();
    }

    /// @dev Whether a log `[address, topics, data]` is the portal's `TransactionDeposited`.
    function _isDeposit(RLPReader.Item memory log, uint256 index) private view returns (bool) {
        if (!log.isList()) revert BadReceipt(index);
        RLPReader.Item[] memory parts = log.readList();
        if (parts.length != 3 || parts[0].isList() || !parts[1].isList() || parts[2].isList()) {
            revert BadReceipt(index);
        }
        bytes memory emitter = parts[0].readBytes();
        if (emitter.length != 20) revert BadReceipt(index);
        if (address(bytes20(emitter)) != portal) return false;
        RLPReader.Item[] memory topics = parts[1].readList();
        if (topics.length == 0) return false;
        bytes memory topic0 = topics[0].readBytes();
        return topic0.length == 32 && bytes32(topic0) == DEPOSIT_TOPIC;
    }

    /// @dev `rlp(index)`: the receipt's key in the receipts trie.
    function _rlpIndex(uint256 index) private pure returns (bytes memory) {
        if (index == 0) return hex"80";
        if (index < 0x80) return abi.encodePacked(uint8(index));
        uint256 n;
        for (uint256 v = index; v != 0; v >>= 8) {
            n++;
        }
        bytes memory out = new bytes(n + 1);
        out[0] = bytes1(uint8(0x80 + n));
        for (uint256 i = 0; i < n; i++) {
            out[n - i] = bytes1(uint8(index >> (8 * i)));
        }
        return out;
    }
}
