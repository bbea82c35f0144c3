// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title BatchInbox
/// @notice The sequence of L2 block inputs, defined on L1 (op-node/BATCHES.md, batch format v1).
///
///         The batcher appends consecutive L2 blocks, uncompressed, with `appendBlocks`; every rule
///         of derivation that L1 can check is checked here, and an append that breaks one reverts
///         whole, so every block recorded is a block of the L2 chain. For each block the inbox
///         computes a commitment to its inputs (`inputs_n`: number, timestamp, L1 origin, sequence
///         number and the root of its transactions) and stores one 32-byte record per append (a word
///         tree over the appended blocks' commitments), which `blockInputs` opens with a short proof:
///         this is what the dispute game's block start reads, so a proposer can not invent inputs.
///
///         A block too large for one L1 transaction stays open across appends: the batcher continues
///         it with the frontier of its transaction tree. When the sequencer leaves an epoch for
///         `seqWindowSize` L1 blocks, anyone may `forceNextEpoch`: the deposits-only block of the next
///         epoch is recorded (closing an open block as it stands), so deposits are delayed, never lost.
/// @dev Formats, tags and rules: op-node/BATCHES.md §§1-5. The Rust twin is `bridge::inbox`; the
///      tests compare the two on random appends. Word trees are fraud-vm SPEC §3.4's: depth 32,
///      leaves are words, inner nodes keccak256(left ‖ right), absent leaves zero.
contract BatchInbox {
    /// @notice Where the inbox stands after the last block it started (packed in three slots).
    struct State {
        /// The next block to record; while a block is open, the open block's number.
        uint64 nextBlock;
        /// Timestamp of the last block started (the L2 genesis timestamp before the first).
        uint64 timestamp;
        /// Its epoch (L1 origin number); `genesisEpoch` before the first block.
        uint64 epoch;
        /// Its sequence number within the epoch.
        uint64 sequenceNumber;
        /// Hash of the epoch's L1 block.
        bytes32 epochHash;
        /// Timestamp of the epoch's L1 block.
        uint64 epochTimestamp;
        /// Transactions recorded so far in the open block.
        uint32 openTxCount;
        /// Whether the last block started is still open.
        bool open;
        /// Whether any block was started.
        bool started;
    }

    /// @notice Domain tag of a block's input commitment.
    bytes1 internal constant INPUTS_TAG = 0x20;
    /// @notice Domain tag of an append record.
    bytes1 internal constant RECORD_TAG = 0x21;
    /// @notice The EIP-2935 block-hash history contract (8191 blocks), for epochs beyond BLOCKHASH's 256.
    address internal constant HISTORY_STORAGE = 0x0000F90827F1C53a10cb7A02335B175320002935;
    /// @notice Length of `blockInputs`' proof: index, first, count, L1 block, inputs, 32 siblings.
    uint256 internal constant INPUTS_PROOF_LENGTH = 4 * 8 + 32 + 32 * 32;
    /// @notice Z_0 … Z_32: roots of all-zero word trees of height 0 to 32.
    bytes internal constant ZERO_HASHES =
        hex"0000000000000000000000000000000000000000000000000000000000000000ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d3021ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a193440eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f839867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756afcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf8923490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99cc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8beccda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d22733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981fe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd95a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e3774df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618db8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e662ee4dd2dd7b2bc707961b1e646c4047669dcb6584f0d8d770daf5d7e7deb2e388ab20e2573d171a88108e79d820e98f26c0b84aa8b2f4aa4968dbb818ea32293237c50ba75ee485f4c22adf2f741400bdf8d6a9cc7df7ecae576221665d7358448818bb4ae4562849e949e17ac16e0be16688e156b5cf15e098c627c0056a927ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757";

    /// @notice The only account that may append (an EOA without code, calling directly).
    address public immutable batcher;
    /// @notice Number of the first L2 block after the L2 genesis.
    uint64 public immutable firstBlock;
    /// @notice L1 origin (epoch) of the first L2 block.
    uint64 public immutable genesisEpoch;
    /// @notice Timestamp of the L2 genesis.
    uint64 public immutable genesisTimestamp;
    /// @notice L1 blocks after its epoch within which a block must be appended.
    uint64 public immutable seqWindowSize;
    /// @notice Seconds a block's timestamp may run ahead of its origin's.
    uint64 public immutable maxSequencerDrift;

    State internal state;
    /// @notice keccak256 of the open block's transaction-tree frontier (zero when none is open).
    bytes32 internal openFrontier;
    /// @notice Root of the open block's transactions so far (what forcing records).
    bytes32 internal openTxRoot;
    /// @notice One record per append that completed blocks (BATCHES.md §3.3).
    bytes32[] internal records;

    /// @notice A successful `appendBlocks`: it completed `count` blocks from `firstBlock` (zero when
    ///         it only continued the open block, then no record was stored and `record` is zero).
    event BlocksAppended(uint64 indexed firstBlock, uint64 count, uint256 appendIndex, bytes32 record);
    /// @notice A successful `forceNextEpoch`: the deposits-only block of `epoch` is the last of the
    ///         `count` blocks from `firstBlock` (the first is the open block it closed, if `count` is 2).
    event EpochForced(
        uint64 indexed firstBlock, uint64 count, uint256 appendIndex, bytes32 record, uint64 epoch, uint64 timestamp
    );

    /// @notice The caller is not the batcher.
    error NotBatcher();
    /// @notice The batcher did not call directly from an EOA without code (derivation reads the
    ///         append from the L1 transaction's own calldata).
    error NotDirectCall();
    /// @notice The append does not start at `nextBlock`.
    error WrongFirstBlock(uint64 expected, uint64 got);
    /// @notice Unknown flag bits.
    error BadFlags(uint8 flags);
    /// @notice The continuation flag does not say whether a block is open.
    error ContinuationMismatch(bool open);
    /// @notice Neither a continuation nor a block.
    error EmptyAppend();
    /// @notice The data ends inside an item.
    error Truncated();
    /// @notice The continuation's transaction count or frontier is not the open block's.
    error FrontierMismatch();
    /// @notice The epoch is neither the last block's nor the next (the first block's must be `genesisEpoch`).
    error EpochNotNext(uint64 epoch);
    /// @notice A block that starts an epoch carries no L1 header.
    error HeaderMissing();
    /// @notice A block that keeps its epoch carries an L1 header.
    error UnexpectedHeader();
    /// @notice The epoch is not before the current L1 block.
    error EpochInFuture(uint64 epoch);
    /// @notice The current L1 block is at or past the epoch's sequencing window.
    error WindowClosed(uint64 epoch);
    /// @notice Neither BLOCKHASH nor the EIP-2935 history knows the epoch's hash.
    error EpochHashUnavailable(uint64 epoch);
    /// @notice The header does not hash to the epoch's L1 block hash.
    error HeaderMismatch(uint64 epoch);
    /// @notice The header is not an RLP list with a timestamp of at most 8 bytes at index 11.
    error BadHeader();
    /// @notice The timestamp is before the previous block's.
    error TimestampBeforeParent(uint64 timestamp);
    /// @notice The timestamp is before the origin's.
    error TimestampBeforeOrigin(uint64 timestamp);
    /// @notice The timestamp is more than `maxSequencerDrift` after the origin's.
    error SequencerDrift(uint64 timestamp);
    /// @notice A transaction (its index in the block) is empty.
    error EmptyTransaction(uint256 index);
    /// @notice A transaction (its index in the block) is a deposit (type 0x7e).
    error DepositTransaction(uint256 index);
    /// @notice `forceNextEpoch` before the L1 block it names.
    error WindowOpen(uint64 from);
    /// @notice A `blockInputs` proof that does not open a record.
    error BadInputsProof();

    /// @dev A walk over one append's calldata, kept in memory to keep the stack shallow.
    struct Walk {
        uint256 p;
        uint256 end;
        bytes zeros;
        bytes32[32] txBranch;
        bytes32[32] recordBranch;
        uint64 completed;
    }

    /// @param batcher_ The batcher's EOA.
    /// @param firstBlock_ The first L2 block after the genesis (genesis number + 1).
    /// @param genesisEpoch_ The first L2 block's L1 origin.
    /// @param genesisTimestamp_ The L2 genesis timestamp.
    /// @param seqWindowSize_ The sequencing window in L1 blocks (at least 1).
    /// @param maxSequencerDrift_ The sequencer drift in seconds.
    constructor(
        address batcher_,
        uint64 firstBlock_,
        uint64 genesisEpoch_,
        uint64 genesisTimestamp_,
        uint64 seqWindowSize_,
        uint64 maxSequencerDrift_
    ) {
        batcher = batcher_;
        firstBlock = firstBlock_;
        genesisEpoch = genesisEpoch_;
        genesisTimestamp = genesisTimestamp_;
        seqWindowSize = seqWindowSize_ == 0 ? 1 : seqWindowSize_;
        maxSequencerDrift = maxSequencerDrift_;
        state.nextBlock = firstBlock_;
        state.timestamp = genesisTimestamp_;
        state.epoch = genesisEpoch_;
    }

    // ---------------------------------------------------------------------------------------------
    // Appending
    // ---------------------------------------------------------------------------------------------

    /// @notice Records consecutive L2 blocks from `nextBlock` (BATCHES.md §2 gives `data`'s layout,
    ///         §4 the rules). Reverts whole on any broken rule.
    function appendBlocks(bytes calldata data) external {
        if (msg.sender != batcher) revert NotBatcher();
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall();
        State memory s = state;
        Walk memory w;
        uint256 offset;
        assembly {
            offset := data.offset
        }
        w.p = offset;
        w.end = offset + data.length;
        w.zeros = ZERO_HASHES;
        uint64 first = _u64(w);
        if (first != s.nextBlock) revert WrongFirstBlock(s.nextBlock, first);
        uint8 flags = uint8(_uint(w, 1));
        if (flags > 3) revert BadFlags(flags);
        bool keepOpen = flags & 2 != 0;
        if ((flags & 1 != 0) != s.open) revert ContinuationMismatch(s.open);
        if (s.open) {
            _checkWindow(s.epoch);
            _continuation(w, s);
            _finishItem(w, s, keepOpen);
        } else if (w.p == w.end) {
            revert EmptyAppend();
        }
        while (w.p < w.end) {
            _startBlock(w, s);
            s.openTxCount = _transactions(w, 0);
            _finishItem(w, s, keepOpen);
        }
        state = s;
        uint256 index = records.length;
        bytes32 record;
        if (w.completed > 0) {
            record = _record(first, w);
            records.push(record);
        }
        emit BlocksAppended(first, w.completed, index, record);
    }

    /// @notice Records the deposits-only block of the next epoch (the first block's epoch if none
    ///         was recorded), closing an open block as it stands, once the L1 block number reached
    ///         the last epoch plus the sequencing window (`forcibleFrom`). Anyone may call it.
    /// @param originHeader The RLP header of the new epoch's L1 block.
    function forceNextEpoch(bytes calldata originHeader) external {
        State memory s = state;
        uint64 from = forcibleFrom();
        if (block.number < from) revert WindowOpen(from);
        uint64 epoch = s.started ? s.epoch + 1 : genesisEpoch;
        bytes32 hash = _epochHash(epoch);
        if (keccak256(originHeader) != hash) revert HeaderMismatch(epoch);
        uint256 headerAt;
        assembly {
            headerAt := originHeader.offset
        }
        uint64 originTimestamp = _headerTimestamp(headerAt, originHeader.length);
        Walk memory w;
        w.zeros = ZERO_HASHES;
        uint64 first = s.nextBlock;
        if (s.open) _close(w, s, openTxRoot);
        s.epoch = epoch;
        s.epochHash = hash;
        s.epochTimestamp = originTimestamp;
        s.sequenceNumber = 0;
        if (originTimestamp > s.timestamp) s.timestamp = originTimestamp;
        s.started = true;
        s.openTxCount = 0;
        _close(w, s, _word(w.zeros, 32));
        state = s;
        openFrontier = bytes32(0);
        openTxRoot = bytes32(0);
        bytes32 record = _record(first, w);
        records.push(record);
        emit EpochForced(first, w.completed, records.length - 1, record, epoch, s.timestamp);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice Where the inbox stands (what the next append must follow).
    function inboxState() external view returns (State memory) {
        return state;
    }

    /// @notice The open block's frontier hash and transaction root so far (zeros when none is open).
    function openBlock() external view returns (bytes32 frontierHash, bytes32 txRoot) {
        return (openFrontier, openTxRoot);
    }

    /// @notice The first L1 block in which `forceNextEpoch` may be called.
    function forcibleFrom() public view returns (uint64) {
        return (state.started ? state.epoch : genesisEpoch) + seqWindowSize;
    }

    /// @notice How many records (appends that completed blocks, and forced epochs) exist.
    function appendCount() external view returns (uint256) {
        return records.length;
    }

    /// @notice Record `index`: keccak256(0x21 ‖ first ‖ count ‖ l1Block ‖ root) (BATCHES.md §3.3).
    function appendRecord(uint256 index) external view returns (bytes32) {
        return records[index];
    }

    /// @notice Opens the input commitment of L2 block `number` (BATCHES.md §3.4).
    /// @param proof index(u64) ‖ first(u64) ‖ count(u64) ‖ l1Block(u64) ‖ inputs(32) ‖ 32 siblings,
    ///        leaf level first.
    /// @return inputs The block's input commitment `inputs_n`.
    /// @return l1Block The L1 block whose append recorded it.
    function blockInputs(uint256 number, bytes calldata proof)
        external
        view
        returns (bytes32 inputs, uint64 l1Block)
    {
        if (proof.length != INPUTS_PROOF_LENGTH) revert BadInputsProof();
        uint256 p;
        assembly {
            p := proof.offset
        }
        uint64 index;
        uint64 first;
        uint64 count;
        assembly {
            index := shr(192, calldataload(p))
            first := shr(192, calldataload(add(p, 8)))
            count := shr(192, calldataload(add(p, 16)))
            l1Block := shr(192, calldataload(add(p, 24)))
            inputs := calldataload(add(p, 32))
        }
        if (index >= records.length || number < first || number - first >= count) revert BadInputsProof();
        uint256 position = number - first;
        bytes32 node = inputs;
        for (uint256 h = 0; h < 32; h++) {
            bytes32 sibling;
            assembly {
                sibling := calldataload(add(p, add(64, mul(h, 32))))
            }
            node = (position >> h) & 1 == 0 ? _hash2(node, sibling) : _hash2(sibling, node);
        }
        bytes32 record = keccak256(abi.encodePacked(RECORD_TAG, first, count, l1Block, node));
        if (record != records[index]) revert BadInputsProof();
    }

    // ---------------------------------------------------------------------------------------------
    // Items
    // ---------------------------------------------------------------------------------------------

    /// @dev Reads a continuation's frontier and checks it against the open block's, then its
    ///      transactions.
    function _continuation(Walk memory w, State memory s) private view {
        uint32 done = uint32(_uint(w, 4));
        if (done != s.openTxCount) revert FrontierMismatch();
        uint256 start = w.p;
        uint256 words;
        for (uint256 h = 0; h < 32; h++) {
            if ((uint256(done) >> h) & 1 == 1) {
                uint256 at = start + words * 32;
                if (at + 32 > w.end) revert Truncated();
                bytes32 word;
                assembly {
                    word := calldataload(at)
                }
                w.txBranch[h] = word;
                words++;
            }
        }
        bytes32 digest;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, start, mul(words, 32))
            digest := keccak256(m, mul(words, 32))
        }
        if (digest != openFrontier) revert FrontierMismatch();
        w.p = start + words * 32;
        s.openTxCount = _transactions(w, done);
    }

    /// @dev Reads a block's timestamp, epoch and header and applies the epoch and time rules.
    function _startBlock(Walk memory w, State memory s) private view {
        uint64 timestamp = _u64(w);
        uint64 epoch = _u64(w);
        uint256 headerLength = _uint(w, 4);
        bool advances;
        if (!s.started) {
            if (epoch != genesisEpoch) revert EpochNotNext(epoch);
            advances = true;
        } else if (epoch == s.epoch) {
            advances = false;
        } else if (epoch == s.epoch + 1) {
            advances = true;
        } else {
            revert EpochNotNext(epoch);
        }
        if (advances) {
            if (headerLength == 0) revert HeaderMissing();
            uint256 at = w.p;
            if (at + headerLength > w.end) revert Truncated();
            _checkWindow(epoch);
            bytes32 hash = _epochHash(epoch);
            bytes32 digest;
            assembly ("memory-safe") {
                let m := mload(0x40)
                calldatacopy(m, at, headerLength)
                digest := keccak256(m, headerLength)
            }
            if (digest != hash) revert HeaderMismatch(epoch);
            s.epochTimestamp = _headerTimestamp(at, headerLength);
            s.epoch = epoch;
            s.epochHash = hash;
            s.sequenceNumber = 0;
            w.p = at + headerLength;
        } else {
            if (headerLength != 0) revert UnexpectedHeader();
            _checkWindow(epoch);
            s.sequenceNumber += 1;
        }
        if (timestamp < s.timestamp) revert TimestampBeforeParent(timestamp);
        if (timestamp < s.epochTimestamp) revert TimestampBeforeOrigin(timestamp);
        if (uint256(timestamp) > uint256(s.epochTimestamp) + maxSequencerDrift) revert SequencerDrift(timestamp);
        s.timestamp = timestamp;
        s.started = true;
    }

    /// @dev Reads `tx_count ‖ (len ‖ tx)*`, pushing each transaction's hash onto the open tree of
    ///      `done` leaves; returns the new leaf count.
    function _transactions(Walk memory w, uint32 done) private pure returns (uint32) {
        uint256 n = _uint(w, 4);
        uint256 count = done;
        for (uint256 i = 0; i < n; i++) {
            uint256 len = _uint(w, 4);
            if (len == 0) revert EmptyTransaction(count);
            uint256 at = w.p;
            if (at + len > w.end) revert Truncated();
            uint256 kind;
            bytes32 leaf;
            assembly ("memory-safe") {
                kind := shr(248, calldataload(at))
                let m := mload(0x40)
                calldatacopy(m, at, len)
                leaf := keccak256(m, len)
            }
            if (kind == 0x7e) revert DepositTransaction(count);
            _push(w.txBranch, count, leaf);
            count++;
            w.p = at + len;
        }
        // At most 2^32 - 1 leaves: the word tree's width.
        return uint32(count);
    }

    /// @dev Ends the item just read: keeps the block open if it is the last item and the append
    ///      says so, else closes it.
    function _finishItem(Walk memory w, State memory s, bool keepOpen) private {
        if (keepOpen && w.p == w.end) {
            s.open = true;
            openFrontier = _frontierHash(w.txBranch, s.openTxCount);
            openTxRoot = _root(w.txBranch, s.openTxCount, w.zeros);
        } else {
            bytes32 txRoot = _root(w.txBranch, s.openTxCount, w.zeros);
            if (s.open) {
                openFrontier = bytes32(0);
                openTxRoot = bytes32(0);
            }
            _close(w, s, txRoot);
        }
    }

    /// @dev Records the block the state describes with `txRoot`: its commitment joins the append's
    ///      tree and the next block is the one after it.
    function _close(Walk memory w, State memory s, bytes32 txRoot) private pure {
        bytes32 inputs = _inputs(s, txRoot);
        _push(w.recordBranch, w.completed, inputs);
        w.completed += 1;
        s.nextBlock += 1;
        s.open = false;
        s.openTxCount = 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Commitments
    // ---------------------------------------------------------------------------------------------

    /// @dev inputs_n = keccak256(0x20 ‖ n ‖ timestamp ‖ epoch ‖ epochHash ‖ sequenceNumber ‖ txRoot ‖
    ///      txCount): u64, u64, u64, bytes32, u64, bytes32, u32 (101 bytes).
    function _inputs(State memory s, bytes32 txRoot) private pure returns (bytes32 digest) {
        uint64 n = s.nextBlock;
        uint64 time = s.timestamp;
        uint64 epoch = s.epoch;
        bytes32 epochHash = s.epochHash;
        uint64 sequenceNumber = s.sequenceNumber;
        uint32 txCount = s.openTxCount;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(248, 0x20))
            mstore(add(m, 1), shl(192, n))
            mstore(add(m, 9), shl(192, time))
            mstore(add(m, 17), shl(192, epoch))
            mstore(add(m, 25), epochHash)
            mstore(add(m, 57), shl(192, sequenceNumber))
            mstore(add(m, 65), txRoot)
            mstore(add(m, 97), shl(224, txCount))
            digest := keccak256(m, 101)
        }
    }

    /// @dev keccak256(0x21 ‖ first ‖ count ‖ block.number ‖ root of the append's commitments).
    function _record(uint64 first, Walk memory w) private view returns (bytes32) {
        bytes32 root = _root(w.recordBranch, w.completed, w.zeros);
        return keccak256(abi.encodePacked(RECORD_TAG, first, w.completed, uint64(block.number), root));
    }

    /// @dev Adds leaf number `count` (from 0) to an incremental word tree: merges it with the
    ///      complete left subtrees it finishes (one per trailing one bit of `count`).
    function _push(bytes32[32] memory branch, uint256 count, bytes32 leaf) private pure {
        assembly ("memory-safe") {
            let size := add(count, 1)
            let node := leaf
            let at := branch
            for {} iszero(and(size, 1)) {} {
                mstore(0, mload(at))
                mstore(32, node)
                node := keccak256(0, 64)
                size := shr(1, size)
                at := add(at, 32)
            }
            mstore(at, node)
        }
    }

    /// @dev The depth-32 root of an incremental word tree of `count` leaves.
    function _root(bytes32[32] memory branch, uint256 count, bytes memory zeros) private pure returns (bytes32 node) {
        if (count == 0) return _word(zeros, 32);
        assembly ("memory-safe") {
            let z := add(zeros, 32)
            let h := 0
            // Up to the count's highest bit: a complete left subtree where the bit is set,
            // else the (partial) node with an empty right subtree.
            for { let size := count } size { size := shr(1, size) } {
                switch and(size, 1)
                case 1 {
                    mstore(0, mload(add(branch, h)))
                    mstore(32, node)
                }
                default {
                    mstore(0, node)
                    mstore(32, mload(add(z, h)))
                }
                node := keccak256(0, 64)
                h := add(h, 32)
            }
            // Above it the right subtrees are empty: hash `node ‖ Z_level` in place, in a copy of
            // the zero table (each level overwrites the word before Z_level, used no more).
            if lt(h, 1024) {
                let t := mload(0x40)
                mcopy(t, z, 1056)
                let at := add(t, sub(h, 32))
                let last := add(t, 960)
                for {} 1 { at := add(at, 32) } {
                    mstore(at, node)
                    node := keccak256(at, 64)
                    if eq(at, last) { break }
                }
            }
        }
    }

    /// @dev keccak256 of the frontier words (the branch at each set bit of `count`, low level first).
    function _frontierHash(bytes32[32] memory branch, uint256 count) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            let words := 0
            for { let h := 0 } lt(h, 32) { h := add(h, 1) } {
                if and(shr(h, count), 1) {
                    mstore(add(m, mul(words, 32)), mload(add(branch, mul(h, 32))))
                    words := add(words, 1)
                }
            }
            digest := keccak256(m, mul(words, 32))
        }
    }

    function _hash2(bytes32 left, bytes32 right) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0, left)
            mstore(32, right)
            digest := keccak256(0, 64)
        }
    }

    function _word(bytes memory zeros, uint256 h) private pure returns (bytes32 word) {
        assembly ("memory-safe") {
            word := mload(add(zeros, add(32, mul(h, 32))))
        }
    }

    // ---------------------------------------------------------------------------------------------
    // L1
    // ---------------------------------------------------------------------------------------------

    /// @dev The epoch must be before the current L1 block and within its sequencing window.
    function _checkWindow(uint64 epoch) private view {
        if (epoch >= block.number) revert EpochInFuture(epoch);
        if (block.number >= uint256(epoch) + seqWindowSize) revert WindowClosed(epoch);
    }

    /// @dev The canonical hash of L1 block `epoch` (< block.number): BLOCKHASH for the last 256,
    ///      else the EIP-2935 history contract.
    function _epochHash(uint64 epoch) private view returns (bytes32 hash) {
        if (epoch >= block.number) revert EpochInFuture(epoch);
        if (block.number - epoch <= 256) {
            hash = blockhash(epoch);
        } else {
            (bool ok, bytes memory out) = HISTORY_STORAGE.staticcall(abi.encode(uint256(epoch)));
            if (ok && out.length == 32) hash = abi.decode(out, (bytes32));
        }
        if (hash == bytes32(0)) revert EpochHashUnavailable(epoch);
    }

    /// @dev The timestamp (item 11) of the RLP header at calldata `[at, at + len)`.
    function _headerTimestamp(uint256 at, uint256 len) private pure returns (uint64) {
        uint256 end = at + len;
        (uint256 offset, uint256 payload, bool list) = _rlpItem(at, end);
        if (!list || at + offset + payload != end) revert BadHeader();
        uint256 q = at + offset;
        for (uint256 i = 0; i < 11; i++) {
            (offset, payload,) = _rlpItem(q, end);
            q += offset + payload;
        }
        (offset, payload, list) = _rlpItem(q, end);
        if (list || payload > 8) revert BadHeader();
        uint256 value;
        if (payload > 0) {
            uint256 from = q + offset;
            assembly {
                value := shr(sub(256, mul(8, payload)), calldataload(from))
            }
        }
        return uint64(value);
    }

    /// @dev The RLP item at calldata `q`: where its payload starts (relative), its length, and
    ///      whether it is a list; reverts unless it lies before `end`.
    function _rlpItem(uint256 q, uint256 end) private pure returns (uint256 offset, uint256 payload, bool list) {
        if (q >= end) revert BadHeader();
        uint256 prefix;
        assembly {
            prefix := shr(248, calldataload(q))
        }
        if (prefix < 0x80) {
            (offset, payload) = (0, 1);
        } else if (prefix < 0xb8) {
            (offset, payload) = (1, prefix - 0x80);
        } else if (prefix < 0xc0) {
            (offset, payload) = _longLength(q, end, prefix - 0xb7);
        } else if (prefix < 0xf8) {
            (offset, payload, list) = (1, prefix - 0xc0, true);
        } else {
            (offset, payload) = _longLength(q, end, prefix - 0xf7);
            list = true;
        }
        if (q + offset + payload > end) revert BadHeader();
    }

    function _longLength(uint256 q, uint256 end, uint256 lengthBytes)
        private
        pure
        returns (uint256 offset, uint256 payload)
    {
        if (q + 1 + lengthBytes > end) revert BadHeader();
        assembly {
            payload := shr(sub(256, mul(8, lengthBytes)), calldataload(add(q, 1)))
        }
        offset = 1 + lengthBytes;
    }

    // ---------------------------------------------------------------------------------------------
    // Reading calldata
    // ---------------------------------------------------------------------------------------------

    function _u64(Walk memory w) private pure returns (uint64) {
        return uint64(_uint(w, 8));
    }

    /// @dev The next `bytes_` (1 to 8) bytes as a big-endian integer.
    function _uint(Walk memory w, uint256 bytes_) private pure returns (uint256 value) {
        bool short;
        assembly ("memory-safe") {
            // `w.p` and `w.end` are the struct's first two words.
            let p := mload(w)
            let next := add(p, bytes_)
            short := gt(next, mload(add(w, 32)))
            value := shr(sub(256, shl(3, bytes_)), calldataload(p))
            mstore(w, next)
        }
        if (short) revert Truncated();
    }
}
