// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {WordTree} from "./WordTree.sol";
import {KeccakSponge} from "./KeccakSponge.sol";
import {Sha256Blocks} from "./Sha256Blocks.sol";
import {Ripemd160Blocks} from "./Ripemd160Blocks.sol";
import {FastLzChunk} from "./FastLzChunk.sol";
import {LogsChunk} from "./LogsChunk.sol";
import {EntriesChunk} from "./EntriesChunk.sol";

/// @title Range oracle: verified facts about long word-tree ranges (fraud-vm/SPEC.md §3.4.1)
/// @notice A one-step proof carries every word of each range its step reads or writes, so a
/// step over a few hundred KiB would not fit one L1 transaction. For such a step, anyone first
/// runs a *range job* here, one bounded chunk per transaction: each chunk proves its source
/// words against the job's source root and its destination words against the destination root
/// the previous chunk left, and the oracle keeps the running destination root and Keccak
/// sponge in storage. A complete job is a fact: "the `len` bytes from `srcOffset` of the tree
/// `srcRoot` (zero at or past `srcSize`) hash to `hash`, and written at `dstOffset` over the
/// tree `dstRoot` give the tree `dstResult`". The step verifier reads the fact instead of the
/// words. Nothing here is trusted: every byte absorbed was proven against a root.
contract RangeOracle {
    /// A job that computes `keccak256` of its bytes.
    uint256 public constant HASH = 1;
    /// A job that writes its bytes into the destination tree.
    uint256 public constant WRITE = 2;
    /// A job that computes SHA-256 of its bytes (the sha256 precompile's long input).
    uint256 public constant SHA256 = 4;
    /// A job that computes RIPEMD-160 of its bytes, left-padded to a word (the ripemd160
    /// precompile's long input).
    uint256 public constant RIPEMD160 = 8;
    /// [v0.11] A job that counts its zero bytes (alone, or with WRITE): the fact's `hash` is the
    /// count (a transaction start's data in the L1 form, for the intrinsic gas and the floor).
    uint256 public constant ZEROS = 16;
    /// The most bytes a chunk of a WRITE-only job absorbs (120 Keccak blocks' worth; measured
    /// at most 1.5M gas a chunk, SPEC.md §3.4.1).
    uint256 public constant MAX_CHUNK = 16_320;
    /// The most bytes a chunk of a HASH job absorbs (9 Keccak blocks: the permutation in EVM
    /// code costs about 85k gas a block; a chunk, the last with its padding block, under 1M gas,
    /// SPEC.md §3.4.1).
    uint256 public constant MAX_HASH_CHUNK = 1_224;
    /// The most bytes a chunk of a SHA256 job absorbs (22 blocks of 64 bytes, whole blocks but
    /// for the last: the compression in EVM code costs about 35k gas a block; a chunk, the last
    /// with its padding block, under 1M gas, SPEC.md §3.4.1).
    uint256 public constant MAX_SHA256_CHUNK = 1_408;
    /// The most bytes a chunk of a RIPEMD160 job absorbs (17 blocks: about 46k gas a block; under
    /// 1M gas a chunk, SPEC.md §3.4.1).
    uint256 public constant MAX_RIPEMD160_CHUNK = 1_088;
    /// Bytes a word tree holds, 2^37.
    uint256 internal constant TREE_BYTES = 1 << 37;
    /// A job, alone, that computes the FastLZ level 1 compressed length of its bytes (the L1
    /// data fee's size, `FastLz.compressedLength`), run by `absorbFlz` (SPEC.md §3.4.1 v0.11).
    uint256 public constant FLZ = 32;
    /// The most positions a chunk of an FLZ job covers (the costliest input found, a match
    /// every three bytes, about 360 gas a position: at most 3.2M gas a chunk, SPEC.md §3.4.1).
    uint256 public constant MAX_FLZ_CHUNK = 6_144;

    /// [v0.15] A job flag, alone: the fact's `hash` is `keccak256(logs_root ‖ u256 count ‖
    /// bloom)` of the logs whose RLP encodings, one after the other, are the job's bytes (a
    /// receipt's log list payload, SPEC.md §5.19), run by `absorbLogs`.
    uint256 public constant LOGS = 64;
    /// [v0.15] The most bytes of whole logs one LOGS chunk absorbs; a longer log is a chunk of
    /// its own, its hash the fact of a HASH job over its bytes.
    uint256 public constant MAX_LOGS_CHUNK = 6_144;
    /// [v0.15] The bytes of a long log a LOGS chunk reads (its address and topics).
    uint256 internal constant LOGS_HEAD = 256;

    /// [v0.16] A job flag, alone: the fact's `dstResult` is the transaction start's entries
    /// stack (SPEC.md §5.9) with an access list's entries pushed over the stack `dstRoot`, its
    /// `hash` `u128 addresses ‖ u128 keys`; the job's bytes are the list's payload in the
    /// transaction's encoding. Run by `absorbEntries`.
    uint256 public constant ENTRIES = 128;
    /// [v0.16] The most bytes one ENTRIES chunk absorbs.
    uint256 public constant MAX_ENTRIES_CHUNK = 4_096;

    /// The parameters of a job; its id is `keccak256(abi.encode(job))`.
    struct Job {
        bytes32 srcRoot;
        uint256 srcOffset;
        uint256 srcSize;
        uint256 len;
        uint256 flags;
        bytes32 dstRoot;
        uint256 dstOffset;
    }

    /// The progress of a job.
    struct Progress {
        /// Bytes absorbed so far.
        uint64 done;
        /// Whether every byte was absorbed (the fact holds).
        bool complete;
        /// The destination root after the bytes absorbed (the job's `dstRoot` before any).
        bytes32 dst;
        /// The digest once complete (HASH, SHA256 and RIPEMD160 jobs).
        bytes32 hash;
        /// The 25 Keccak lanes between chunks, four to a slot (SHA256 and RIPEMD160 jobs: the
        /// packed compression state in the first slot).
        uint256[7] sponge;
    }

    mapping(bytes32 => Progress) private jobs;
    /// [v0.16] The states ENTRIES chunks left, by `keccak256(abi.encode(id, keccak256(state)))`.
    mapping(bytes32 => bool) private entriesStates;

    /// A job whose parameters no step could ask for (empty, beyond the tree, no work).
    error BadJob();
    /// A chunk of the wrong size for where the job stands.
    error BadChunk(uint256 done, uint256 n);
    /// A chunk's source or destination multiproof does not match its root or its range.
    error BadChunkProof(bool source);
    /// The job already holds all its bytes.
    error JobComplete();
    /// An FLZ chunk's state is not the one the previous chunk left (or not empty before the
    /// first).
    error BadFlzState();

    /// [v0.15] A LOGS chunk's state is not the one the previous chunk left (or not empty
    /// before the first).
    error BadLogsState();
    /// [v0.15] The HASH fact of a long log a LOGS chunk takes is not complete.
    error LogHashMissing(bytes32 id);

    /// [v0.16] An ENTRIES chunk's state is neither the job's initial state nor one a chunk of
    /// the job left.
    error BadEntriesState();

    /// @notice A chunk was absorbed.
    event Absorbed(bytes32 indexed id, uint256 done, bool complete);

    /// @notice The id of `job`.
    function idOf(Job calldata job) public pure returns (bytes32) {
        return keccak256(abi.encode(job));
    }

    /// @notice The fact of job `id`: whether it is complete, the hash of its bytes (HASH jobs:
    /// Keccak-256; SHA256: SHA-256; RIPEMD160: RIPEMD-160 in the word's low 20 bytes)
    /// and the destination root they leave (WRITE jobs; the job's `dstRoot` otherwise).
    function fact(bytes32 id) external view returns (bool complete, bytes32 hash, bytes32 dstResult) {
        Progress storage p = jobs[id];
        return (p.complete, p.hash, p.dst);
    }

    /// @notice Where job `id` stands: bytes absorbed and whether it is complete.
    function progress(bytes32 id) external view returns (uint256 done, bool complete) {
        Progress storage p = jobs[id];
        return (p.done, p.complete);
    }

    /// @notice Absorbs the next `n` bytes of `job` (`[done, done + n)`): `src` is the range
    /// multiproof (SPEC.md §3.4, its §6.3 encoding) of the source words that hold the bytes below
    /// `srcSize` (empty if there are none), `dst` that of the destination words under the
    /// current destination root (WRITE jobs; empty otherwise). A chunk is at most `MAX_CHUNK`
    /// bytes (`MAX_HASH_CHUNK` for a HASH job, and a multiple of 136 unless it is the last;
    /// `MAX_SHA256_CHUNK` or `MAX_RIPEMD160_CHUNK` for a digest job, and a multiple of 64 unless
    /// it is the last).
    function absorb(Job calldata job, uint256 n, bytes calldata src, bytes calldata dst) external {
        // The sponge's fixed memory, before anything is allocated.
        if (job.flags & HASH != 0) KeccakSponge.reserve();
        bytes32 id = idOf(job);
        _checkJob(job);
        Progress storage p = jobs[id];
        if (p.complete) revert JobComplete();
        uint256 done = p.done;
        if (done == 0) p.dst = job.dstRoot;
        bool last = done + n == job.len;
        _checkChunkSize(job.flags, done, n, job.len);

        // The chunk's bytes, zero past the source's size, with room for the last block's
        // padding.
        uint256 data = _alloc(n + KeccakSponge.RATE + 64);
        {
            uint256 from = job.srcOffset + done;
            _readSource(job.srcRoot, from, from + n < job.srcSize ? from + n : job.srcSize, src, data);
        }

        if (job.flags & HASH != 0) _hash(p, data, n, last);
        if (job.flags & (SHA256 | RIPEMD160) != 0) _digest(p, job, done, data, n);
        if (job.flags & ZEROS != 0) p.hash = bytes32(uint256(p.hash) + _zeros(data, n));
        if (job.flags & WRITE != 0) {
            p.dst = _write(p.dst, job.dstOffset + done, n, dst, data);
        } else if (dst.length != 0) {
            revert BadChunkProof(false);
        }
        p.done = uint64(done + n);
        if (last) p.complete = true;
        emit Absorbed(id, done + n, last);
    }

    /// @notice Runs the next `n` positions of the FLZ job `job` (`[done, done + n)`, SPEC.md
    /// §3.4.1 v0.11): every step of FastLZ's greedy process whose position lies there, from the
    /// state `state` (empty before the first chunk; else the `FastLzChunk.STATE_LEN` bytes the
    /// previous chunk left, checked against their hash in storage). `src` is the range
    /// multiproof of the source words that hold the job's bytes `[max(done, 8191) − 8191,
    /// min(done + n + 2, len))` below `srcSize` (empty if there are none): matches reach 8,191
    /// bytes back. The last chunk completes the fact, `hash = bytes32(compressed length)`.
    /// A separate entry, not `absorb`'s `dst`: the state is no range multiproof, and the
    /// chunk's source range is its own.
    function absorbFlz(Job calldata job, uint256 n, bytes calldata src, bytes calldata state) external {
        bytes32 id = idOf(job);
        uint256 len = job.len;
        if (
            job.flags != FLZ || len == 0 || len > type(uint32).max || job.srcOffset >= 1 << 64
                || job.srcSize > TREE_BYTES || job.dstRoot != 0 || job.dstOffset != 0
        ) revert BadJob();
        Progress storage p = jobs[id];
        if (p.complete) revert JobComplete();
        uint256 done = p.done;
        if (n == 0 || n > MAX_FLZ_CHUNK || done + n > len) revert BadChunk(done, n);

        uint256 st = _flzState(p, done, state);
        FastLzChunk.run(st, _flzWindow(job, done, n, src), done + n, len);
        bool last = done + n == len;
        if (last) {
            p.hash = bytes32(FastLzChunk.length(st, len));
            p.complete = true;
        } else {
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(st, 32960) // FastLzChunk.STATE_LEN
            }
            p.sponge[0] = uint256(h);
        }
        p.done = uint64(done + n);
        emit Absorbed(id, done + n, last);
    }

    /// @notice [v0.15] Absorbs the next `n` bytes of the LOGS job `job` (`(R_L, 0, len, len,
    /// LOGS, 0, 0)`, SPEC.md §3.4.1) from the state `state` (empty before the first chunk; else
    /// the 320 bytes the previous chunk left, checked against their hash): at most
    /// `MAX_LOGS_CHUNK` bytes of whole logs, `src` the range multiproof of their words; or one
    /// log of `n > MAX_LOGS_CHUNK` bytes, `src` that of the words of its first `LOGS_HEAD`
    /// bytes, its hash the fact of the HASH job `(R_L, done, len, n, HASH, 0, 0)`. The last
    /// chunk completes the fact, `hash = keccak256(state)`.
    function absorbLogs(Job calldata job, uint256 n, bytes calldata src, bytes calldata state) external {
        bytes32 id = idOf(job);
        uint256 len = job.len;
        if (
            job.flags != LOGS || len == 0 || len >= TREE_BYTES || job.srcOffset != 0 || job.srcSize != len
                || job.dstRoot != 0 || job.dstOffset != 0
        ) revert BadJob();
        Progress storage p = jobs[id];
        if (p.complete) revert JobComplete();
        uint256 done = p.done;
        if (n == 0 || done + n > len) revert BadChunk(done, n);
        uint256 st = _alloc(LogsChunk.STATE_LEN);
        if (done == 0 ? state.length != 0 : state.length != LogsChunk.STATE_LEN) revert BadLogsState();
        if (done != 0) {
            bytes32 h;
            assembly ("memory-safe") {
                calldatacopy(st, state.offset, state.length)
                h := keccak256(st, state.length)
            }
            if (h != bytes32(p.sponge[0])) revert BadLogsState();
        }
        _logsChunk(job.srcRoot, len, done, n, src, st);
        bytes32 next;
        assembly ("memory-safe") {
            next := keccak256(st, 320) // LogsChunk.STATE_LEN
        }
        bool last = done + n == len;
        if (last) {
            p.hash = next;
            p.complete = true;
        } else {
            p.sponge[0] = uint256(next);
        }
        p.done = uint64(done + n);
        emit Absorbed(id, done + n, last);
    }

    /// @notice [v0.16] Absorbs `n` bytes of the ENTRIES job `job` (`(R_e, offset, len(e), len,
    /// ENTRIES, below, 0)`, SPEC.md §3.4.1): `dst` is the state the chunk starts from (224
    /// bytes: the job's initial state, `below` with no entry and `pos = len`, or one a chunk of
    /// this job left) followed by the chunk's hints, a word each (`EntriesChunk`); the chunk
    /// absorbs the job's bytes `[pos − n, pos)`, `src` the range multiproof of the encoding's
    /// words that hold them. The state it leaves is kept by its hash (every one, not one running
    /// state: a chunk with a wrong hint may be taken, since an item's head is read only where the
    /// chunks reach it, and its state then leads nowhere but blocks no one). The chunk that
    /// reaches byte 0 completes the fact: `dstResult` the entries' stack root, `hash`
    /// `u128 addresses ‖ u128 keys`.
    function absorbEntries(Job calldata job, uint256 n, bytes calldata src, bytes calldata dst) external {
        bytes32 id = idOf(job);
        uint256 len = job.len;
        if (
            job.flags != ENTRIES || len == 0 || len > type(uint32).max || job.srcSize > TREE_BYTES
                || job.srcOffset + len > job.srcSize || job.dstOffset != 0
        ) revert BadJob();
        Progress storage p = jobs[id];
        if (p.complete) revert JobComplete();
        (uint256 st, uint256 pos) = _entriesState(id, job.dstRoot, len, dst);
        if (n == 0 || n > MAX_ENTRIES_CHUNK || n > pos) revert BadChunk(len - pos, n);
        _entriesChunk(job, pos - n, n, src, st, dst);
        bool last = pos == n;
        if (last) {
            uint256 addresses;
            uint256 keys;
            bytes32 root;
            assembly ("memory-safe") {
                root := mload(st)
                addresses := mload(add(st, 32))
                keys := mload(add(st, 64))
            }
            (p.hash, p.dst, p.complete) = (bytes32((addresses << 128) | keys), root, true);
        } else {
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(st, 224) // EntriesChunk.STATE_LEN
            }
            entriesStates[keccak256(abi.encode(id, h))] = true;
        }
        p.done = uint64(len - pos + n);
        emit Absorbed(id, len - pos + n, last);
    }

    /// @notice The state an ENTRIES chunk of job `id` starts from, in memory, and its `pos`:
    /// the first 224 bytes of `dst`, if they are the job's initial state (the stack `below`, no
    /// entry, `pos = len`) or one a chunk of the job left.
    function _entriesState(bytes32 id, bytes32 below, uint256 len, bytes calldata dst)
        private
        view
        returns (uint256 st, uint256 pos)
    {
        if (dst.length < EntriesChunk.STATE_LEN || dst.length % 32 != 0) revert BadEntriesState();
        st = _alloc(EntriesChunk.STATE_LEN);
        bytes32 h;
        assembly ("memory-safe") {
            calldatacopy(st, dst.offset, 224) // EntriesChunk.STATE_LEN
            h := keccak256(st, 224)
            pos := mload(add(st, 96))
        }
        if (!entriesStates[keccak256(abi.encode(id, h))] && h != keccak256(abi.encode(below, 0, 0, len, 0, 0, 0))) {
            revert BadEntriesState();
        }
    }

    /// @notice Folds the ENTRIES chunk of the job's `n` bytes from `lo` into the state at `st`
    /// with the hints after the state in `dst`.
    function _entriesChunk(Job calldata job, uint256 lo, uint256 n, bytes calldata src, uint256 st, bytes calldata dst)
        private
        pure
    {
        uint256 data = _alloc(n + 32);
        uint256 from = job.srcOffset + lo;
        _readSource(job.srcRoot, from, from + n, src, data);
        uint256 hints;
        assembly ("memory-safe") {
            hints := add(dst.offset, 224) // EntriesChunk.STATE_LEN
        }
        EntriesChunk.run(st, data, lo, hints, (dst.length - EntriesChunk.STATE_LEN) / 32);
    }

    /// @notice Folds the LOGS chunk of `n` bytes from `done` of the `len` bytes of logs under
    /// `root` into the state at `st`: whole logs read through `src`, or one long log's head and its HASH fact.
    function _logsChunk(bytes32 root, uint256 len, uint256 done, uint256 n, bytes calldata src, uint256 st)
        private
        view
    {
        if (n > MAX_LOGS_CHUNK) {
            bytes32 hashId = keccak256(abi.encode(root, done, len, n, HASH, bytes32(0), 0));
            Progress storage logJob = jobs[hashId];
            if (!logJob.complete) revert LogHashMissing(hashId);
            uint256 data = _alloc(LOGS_HEAD + 32);
            _readSource(root, done, done + LOGS_HEAD, src, data);
            LogsChunk.addLong(st, data, LOGS_HEAD, n, logJob.hash);
        } else {
            uint256 data = _alloc(n + 32);
            _readSource(root, done, done + n, src, data);
            LogsChunk.addAll(st, data, n);
        }
    }

    /// @notice The state an FLZ chunk from `done` starts from, in memory: the initial one
    /// (`state` empty) before the first chunk, else `state` if it hashes to the stored hash.
    function _flzState(Progress storage p, uint256 done, bytes calldata state) private view returns (uint256 st) {
        st = _alloc(FastLzChunk.STATE_LEN + 32);
        if (done == 0) {
            if (state.length != 0) revert BadFlzState();
            FastLzChunk.init(st);
            return st;
        }
        if (state.length != FastLzChunk.STATE_LEN) revert BadFlzState();
        bytes32 h;
        assembly ("memory-safe") {
            calldatacopy(st, state.offset, state.length)
            h := keccak256(st, state.length)
        }
        if (h != bytes32(p.sponge[0])) revert BadFlzState();
    }

    /// @notice Reads the job's bytes `[lo, hi)` an FLZ chunk of `n` positions from `done` reads
    /// (8,191 before, two after), proven by `src`, into memory (zero past the source's size);
    /// returns where byte 0 would be (modulo 2^256), so that byte `i` is at `base + i`.
    function _flzWindow(Job calldata job, uint256 done, uint256 n, bytes calldata src)
        private
        pure
        returns (uint256 base)
    {
        uint256 lo = done > FastLzChunk.BACK ? done - FastLzChunk.BACK : 0;
        uint256 hi = done + n + FastLzChunk.AHEAD < job.len ? done + n + FastLzChunk.AHEAD : job.len;
        uint256 data = _alloc(hi - lo + 64);
        uint256 from = job.srcOffset + lo;
        uint256 to = job.srcOffset + hi;
        _readSource(job.srcRoot, from, to < job.srcSize ? to : job.srcSize, src, data);
        assembly ("memory-safe") {
            base := sub(data, lo)
        }
    }

    /// @notice Absorbs the `n` bytes at `data` into the job's sponge; the last chunk pads and
    /// keeps the digest.
    function _hash(Progress storage p, uint256 data, uint256 n, bool last) private {
        uint256 a = KeccakSponge.STATE;
        _loadSponge(p, a);
        uint256 whole = last ? n - (n % KeccakSponge.RATE) : n;
        for (uint256 i; i < whole; i += KeccakSponge.RATE) {
            KeccakSponge.absorbBlock(data + i);
        }
        if (last) {
            p.hash = KeccakSponge.finish(data + whole, n - whole);
        } else {
            _storeSponge(p, a);
        }
    }

    /// @notice Reverts unless `n` bytes from `done` is a chunk the job may take: at most its
    /// kind's bound, within the job, and whole blocks (Keccak's 136 bytes, SHA-256's and
    /// RIPEMD-160's 64) unless it is the last.
    function _checkChunkSize(uint256 flags, uint256 done, uint256 n, uint256 len) private pure {
        bool last = done + n == len;
        uint256 most = flags & HASH != 0
            ? MAX_HASH_CHUNK
            : flags == SHA256 ? MAX_SHA256_CHUNK : flags == RIPEMD160 ? MAX_RIPEMD160_CHUNK : MAX_CHUNK;
        if (n == 0 || n > most || done + n > len) revert BadChunk(done, n);
        if (flags & HASH != 0 && !last && n % KeccakSponge.RATE != 0) revert BadChunk(done, n);
        if (flags & (SHA256 | RIPEMD160) != 0 && !last && n % 64 != 0) revert BadChunk(done, n);
    }

    /// @notice Compresses the `n` bytes at `data`, the job's from `done`, into its SHA-256 or
    /// RIPEMD-160 state (the initial value before the first chunk); the last chunk pads with
    /// the job's length and keeps the digest.
    function _digest(Progress storage p, Job calldata job, uint256 done, uint256 data, uint256 n) private {
        bool sha = job.flags == SHA256;
        uint256 total = done + n == job.len ? job.len : 0;
        uint256 state = done == 0 ? (sha ? Sha256Blocks.IV : Ripemd160Blocks.IV) : p.sponge[0];
        uint256 whole = n - (n % 64);
        if (total != 0) {
            // The padded tail: one or two more blocks (the buffer has room, zero past `n`).
            whole += sha ? Sha256Blocks.pad(data + whole, n - whole, total) : Ripemd160Blocks.pad(data + whole, n - whole, total);
        }
        state = sha ? Sha256Blocks.compress(state, data, whole) : Ripemd160Blocks.compress(state, data, whole);
        if (total == 0) {
            p.sponge[0] = state;
        } else {
            p.hash = sha ? bytes32(state) : Ripemd160Blocks.digest(state);
        }
    }

    function _checkJob(Job calldata job) private pure {
        uint256 flags = job.flags;
        if (
            job.len == 0 || job.len >= TREE_BYTES || job.srcOffset >= 1 << 64 || job.srcSize > TREE_BYTES
                || flags == 0
                || (flags > (HASH | WRITE) && flags != SHA256 && flags != RIPEMD160 && flags | WRITE != (WRITE | ZEROS))
                || (job.flags & WRITE != 0 && job.dstOffset + job.len > TREE_BYTES)
        ) revert BadJob();
    }

    /// @notice Copies the source bytes `[from, to)` (none if `from >= to`), proven by `src`
    /// against `root`, to `data`.
    function _readSource(bytes32 root, uint256 from, uint256 to, bytes calldata src, uint256 data) private pure {
        if (from >= to) {
            if (src.length != 0) revert BadChunkProof(true);
            return;
        }
        uint256 first = from / 32;
        uint256 buf = _alloc(((to + 31) / 32 - first) * 32);
        _checkChunk(src, first, (to + 31) / 32 - first, root, buf, true);
        assembly ("memory-safe") {
            mcopy(data, add(buf, mod(from, 32)), sub(to, from))
        }
    }

    /// @notice Checks that `proof` is exactly the range multiproof of `[first, first + count)`
    /// under `root`, copying its words to `buf`; returns the calldata offset of its siblings.
    function _checkChunk(bytes calldata proof, uint256 first, uint256 count, bytes32 root, uint256 buf, bool source)
        private
        pure
        returns (uint256 siblings)
    {
        uint256 at;
        assembly ("memory-safe") {
            at := proof.offset
        }
        if (proof.length < WordTree.RANGE_HEAD) revert BadChunkProof(source);
        bool ok;
        uint256 next;
        (ok, siblings, next) = WordTree.checkRange(at, first, count, root, buf);
        if (!ok || next != at + proof.length) revert BadChunkProof(source);
    }

    /// @notice The root after writing the `n` bytes at `data` at byte `offset` of the tree
    /// `root`, whose words there `dst` proves.
    function _write(bytes32 root, uint256 offset, uint256 n, bytes calldata dst, uint256 data)
        private
        pure
        returns (bytes32)
    {
        uint256 first = offset / 32;
        uint256 count = (offset + n + 31) / 32 - first;
        uint256 buf = _alloc(count * 32);
        uint256 siblings = _checkChunk(dst, first, count, root, buf, false);
        assembly ("memory-safe") {
            mcopy(add(buf, mod(offset, 32)), data, n)
        }
        return WordTree.rangeRoot(siblings, first, count, buf);
    }

    /// @notice [v0.11] The number of zero bytes among the `n` bytes at `data`, a word at a time
    /// (the buffer is zero past them, so its last word needs no mask).
    function _zeros(uint256 data, uint256 n) private pure returns (uint256) {
        uint256 nonzero;
        assembly ("memory-safe") {
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            for { let i := 0 } lt(i, n) { i := add(i, 32) } {
                let w := mload(add(data, i))
                // The low bit of each byte: 1 iff the byte is not zero.
                w := or(w, shr(4, w))
                w := or(w, shr(2, w))
                w := or(w, shr(1, w))
                w := and(w, ones)
                nonzero := add(nonzero, shr(248, mul(w, ones)))
            }
        }
        return n - nonzero;
    }

    function _alloc(uint256 len) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            let size := and(add(len, 31), not(31))
            calldatacopy(p, calldatasize(), size)
            mstore(0x40, add(p, size))
        }
    }

    /// [v0.12] The most code bytes `absorbCode` takes: EIP-3860's initcode bound.
    uint256 public constant MAX_CODE = 49_152;

    /// [v0.12] Code facts: `keccak256(abi.encode(codeRoot, bitmapRoot, len))` under the code's
    /// hash (SPEC.md §3.4.1 "The code fact").
    mapping(bytes32 => bytes32) private codeFacts;

    /// A code longer than `MAX_CODE`.
    error CodeTooLong(uint256 len);

    /// The fact of the code with hash `codeHash` was established.
    event CodeAbsorbed(bytes32 indexed codeHash);

    /// @notice [v0.12] Establishes the code fact of `code` in this one transaction, from the code
    /// itself: its hash, the root of its word tree and the root of the word tree of its
    /// JUMPDEST bitmap (bit `i`, most significant first, set iff `i` is a JUMPDEST opcode: a
    /// scan from 0 that skips PUSH immediates reaches it). Idempotent.
    /// @param code The code, at most `MAX_CODE` bytes.
    function absorbCode(bytes calldata code) external {
        uint256 len = code.length;
        if (len > MAX_CODE) revert CodeTooLong(len);
        bytes32 codeHash;
        uint256 buf;
        uint256 bits;
        uint256 nb = (len + 7) >> 3;
        assembly ("memory-safe") {
            buf := mload(0x40)
            calldatacopy(buf, code.offset, len)
            // A zero word past the code: the scan reads whole words.
            mstore(add(buf, len), 0)
            codeHash := keccak256(buf, len)
            bits := add(buf, and(add(len, 63), not(31)))
            calldatacopy(bits, calldatasize(), add(nb, 32))
            mstore(0x40, add(bits, and(add(nb, 63), not(31))))
        }
        _jumpdests(buf, len, bits, 0);
        bytes32 codeRoot = WordTree.rootOf(buf, len);
        bytes32 bitmapRoot = WordTree.rootOf(bits, nb);
        codeFacts[codeHash] = keccak256(abi.encode(codeRoot, bitmapRoot, len));
        emit CodeAbsorbed(codeHash);
    }

    /// @notice Sets bit `i` (most significant first) of the zeroed bitmap at `bits` for each
    /// JUMPDEST opcode `i` of the `len` bytes of code at `code` (zero for a word past them), a
    /// word of code at a time: the word's bytes reversed (byte `b` at bits `8b..8b+7`), its
    /// PUSH and JUMPDEST bytes flagged in parallel, then from the first PUSH at or after the
    /// opcode the previous word's last PUSH data left `j` bytes into it, PUSH by PUSH (the
    /// lowest flag, `f & -f`), the PUSH's data cleared from both flag sets; the JUMPDEST flags
    /// left are gathered into the bitmap's 32 bits of the word. The work is one step per PUSH,
    /// none per other opcode. [v0.14] The scan starts `j0` bytes into the code, inside a PUSH's
    /// data that began before it (0 to 32); returns the bytes of PUSH data the last word leaves
    /// past it (for a chunk that ends on a word's edge, the next chunk's `j0`).
    function _jumpdests(uint256 code, uint256 len, uint256 bits, uint256 j0) private pure returns (uint256 j) {
        assembly ("memory-safe") {
            // The 32 bytes of `x` in reverse order.
            function rev(x) -> y {
                y := or(shr(8, and(x, 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00)),
                    shl(8, and(x, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)))
                y := or(shr(16, and(y, 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000)),
                    shl(16, and(y, 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)))
                y := or(shr(32, and(y, 0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000)),
                    shl(32, and(y, 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)))
                y := or(shr(64, and(y, 0xffffffffffffffff0000000000000000ffffffffffffffff0000000000000000)),
                    shl(64, and(y, 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)))
                y := or(shr(128, y), shl(128, y))
            }
            j := j0
            for { let k := 0 } lt(shl(5, k), len) { k := add(k, 1) } {
                let wr := rev(mload(add(code, shl(5, k))))
                // Bytes at or after `j`: PUSH1..PUSH32 (0x60..0x7f: top bits 011) flagged at
                // bit 8b, JUMPDEST (0x5b: a zero byte of `y`) at bit 8b + 7.
                let start := shl(shl(3, j), not(0))
                j := 0
                let z := xor(and(wr, 0xe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0),
                    0x6060606060606060606060606060606060606060606060606060606060606060)
                let pf := and(shr(7, and(not(or(or(z, shl(1, z)), shl(2, z))),
                    0x8080808080808080808080808080808080808080808080808080808080808080)), start)
                let y := xor(wr, 0x5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b)
                let jf := and(not(or(or(add(and(y, 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f),
                    0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f), y),
                    0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f)),
                    and(start, 0x8080808080808080808080808080808080808080808080808080808080808080))
                for {} pf {} {
                    // The first PUSH `p` left (`low = 2^8p`), its opcode, and the bytes from
                    // the opcode after its data (none in this word if that lies past it).
                    let low := and(pf, sub(0, pf))
                    let op := and(div(wr, low), 0xff)
                    let next := mul(low, shl(shl(3, sub(op, 0x5e)), not(0)))
                    jf := and(jf, or(next, sub(low, 1)))
                    pf := and(pf, next)
                    if iszero(next) {
                        // p = the count of 0xff bytes of low − 1.
                        let p := shr(248, mul(and(sub(low, 1), 0x0101010101010101010101010101010101010101010101010101010101010101),
                            0x0101010101010101010101010101010101010101010101010101010101010101))
                        j := sub(add(p, sub(op, 0x5e)), 32)
                    }
                }
                if jf {
                    // Byte b's flag to bit 8(31 − b), then gathered: bit 31 − b.
                    let x := shr(7, rev(jf))
                    x := and(or(x, shr(7, x)), 0x0003000300030003000300030003000300030003000300030003000300030003)
                    x := and(or(x, shr(14, x)), 0x0000000f0000000f0000000f0000000f0000000f0000000f0000000f0000000f)
                    x := and(or(x, shr(28, x)), 0x00000000000000ff00000000000000ff00000000000000ff00000000000000ff)
                    x := and(or(x, shr(56, x)), 0x0000000000000000000000000000ffff0000000000000000000000000000ffff)
                    x := and(or(x, shr(112, x)), 0xffffffff)
                    let at := add(bits, shl(5, shr(3, k)))
                    mstore(at, or(mload(at), shl(shl(5, sub(7, and(k, 7))), x)))
                }
            }
        }
    }

    /// @notice [v0.12] The code fact of the code with hash `codeHash` (zero: not absorbed).
    function codeFact(bytes32 codeHash) external view returns (bytes32) {
        return codeFacts[codeHash];
    }

    /// [v0.14] Code bytes a chunk of `absorbCodeChunk` scans, all but the last (128 words: a
    /// subtree of the code's word tree, and 16 words of its bitmap's).
    uint256 public constant CODE_CHUNK = 4_096;
    /// Height of a code chunk's subtree in the code's word tree.
    uint256 internal constant CODE_CHUNK_HEIGHT = 7;
    /// Height of a code chunk's subtree in the bitmap's word tree (512 bitmap bytes).
    uint256 internal constant BITMAP_CHUNK_HEIGHT = 4;
    /// Bytes of a code scan state before its roots: `len`, `done`, `carry`.
    uint256 internal constant SCAN_HEAD = 96;

    /// [v0.14] The code scan states a chunk left, by their hash (SPEC.md §3.4.1 "The code fact").
    mapping(bytes32 => bool) private codeScans;

    /// A code scan state that no chunk left (or not the initial one), or a chunk of the wrong
    /// length for it.
    error BadCodeScan();
    /// The last code chunk's HASH job (the code's hash, over the code's word tree) is not complete.
    error CodeHashMissing(bytes32 jobId);

    /// [v0.14] A code chunk was scanned, leaving the scan state of hash `state`.
    event CodeScanned(bytes32 indexed state, uint256 done);

    /// @notice [v0.14] Scans the next chunk of a code (SPEC.md §3.4.1 "The code fact", in
    /// chunks): `state` is `uint256 len ‖ uint256 done ‖ uint256 carry ‖ bytes32[k] codeRoots ‖
    /// bytes32[k] bitmapRoots` with `k = done / CODE_CHUNK`, either the initial state (`done =
    /// carry = 0`, no roots, `0 < len ≤ MAX_CODE`) or one a previous chunk left; `chunk` is the
    /// code's bytes `[done, min(done + CODE_CHUNK, len))`. The chunk is scanned from `carry`
    /// (the bytes of PUSH data the previous chunk left into it) and its subtree roots are
    /// appended; the state left is kept by its hash. The last chunk joins the roots into `R_c`
    /// and `R_j` and takes the code's hash from the complete HASH job `(R_c, 0, len, len, HASH,
    /// 0, 0)`, then keeps the same code fact as `absorbCode`. Nothing is trusted: a wrong byte
    /// gives another `R_c`, whose HASH job does not give the code's hash.
    function absorbCodeChunk(bytes calldata state, bytes calldata chunk) external {
        uint256 len;
        uint256 done;
        uint256 carry;
        assembly ("memory-safe") {
            len := calldataload(state.offset)
            done := calldataload(add(state.offset, 32))
            carry := calldataload(add(state.offset, 64))
        }
        if (state.length < SCAN_HEAD || len == 0 || len > MAX_CODE || done % CODE_CHUNK != 0 || done >= len)
        {
            revert BadCodeScan();
        }
        uint256 k = done / CODE_CHUNK;
        if (state.length != SCAN_HEAD + 64 * k) revert BadCodeScan();
        if (done == 0 ? carry != 0 : !codeScans[keccak256(state)]) revert BadCodeScan();
        uint256 n = len - done < CODE_CHUNK ? len - done : CODE_CHUNK;
        if (chunk.length != n) revert BadCodeScan();

        uint256 next;
        {
            bytes32 codeRoot;
            bytes32 bitmapRoot;
            (carry, codeRoot, bitmapRoot) = _scanChunk(chunk, carry);
            next = _nextScan(state, k, done + n, carry, codeRoot, bitmapRoot);
        }
        if (done + n < len) {
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(next, add(SCAN_HEAD, shl(6, add(k, 1))))
            }
            codeScans[h] = true;
            emit CodeScanned(h, done + n);
            return;
        }
        bytes32 rc = _liftRoots(next + SCAN_HEAD, k + 1, CODE_CHUNK_HEIGHT);
        bytes32 rj = _liftRoots(next + SCAN_HEAD + 32 * (k + 1), k + 1, BITMAP_CHUNK_HEIGHT);
        bytes32 id = keccak256(abi.encode(rc, uint256(0), len, len, HASH, bytes32(0), uint256(0)));
        Progress storage p = jobs[id];
        if (!p.complete) revert CodeHashMissing(id);
        bytes32 codeHash = p.hash;
        codeFacts[codeHash] = keccak256(abi.encode(rc, rj, len));
        emit CodeAbsorbed(codeHash);
    }

    /// @notice Scans the code bytes `chunk` (at most `CODE_CHUNK`, zero past them) from `carry`
    /// bytes of PUSH data: the carry they leave and the roots of their code and bitmap subtrees.
    function _scanChunk(bytes calldata chunk, uint256 carry)
        private
        pure
        returns (uint256 carryOut, bytes32 codeRoot, bytes32 bitmapRoot)
    {
        uint256 buf = _alloc(CODE_CHUNK + 32);
        uint256 bits = _alloc(CODE_CHUNK / 8 + 32);
        assembly ("memory-safe") {
            calldatacopy(buf, chunk.offset, chunk.length)
        }
        carryOut = _jumpdests(buf, chunk.length, bits, carry);
        codeRoot = _subtreeRoot(buf, CODE_CHUNK_HEIGHT);
        bitmapRoot = _subtreeRoot(bits, BITMAP_CHUNK_HEIGHT);
    }

    /// @notice The scan state after the chunk `k` (in memory): `state`'s length, `done`,
    /// `carry`, its code roots then `codeRoot`, its bitmap roots then `bitmapRoot`.
    function _nextScan(
        bytes calldata state,
        uint256 k,
        uint256 done,
        uint256 carry,
        bytes32 codeRoot,
        bytes32 bitmapRoot
    ) private pure returns (uint256 next) {
        next = _alloc(SCAN_HEAD + 64 * (k + 1));
        assembly ("memory-safe") {
            calldatacopy(next, state.offset, 32)
            mstore(add(next, 32), done)
            mstore(add(next, 64), carry)
            let roots := add(next, SCAN_HEAD)
            calldatacopy(roots, add(state.offset, SCAN_HEAD), shl(5, k))
            mstore(add(roots, shl(5, k)), codeRoot)
            calldatacopy(add(roots, shl(5, add(k, 1))), add(state.offset, add(SCAN_HEAD, shl(5, k))), shl(5, k))
            mstore(add(roots, shl(5, add(shl(1, k), 1))), bitmapRoot)
        }
    }

    /// @notice The root of the subtree of height `height` over the `2^height` words at `buf`
    /// (overwritten).
    function _subtreeRoot(uint256 buf, uint256 height) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            for { let m := shl(height, 1) } gt(m, 1) { m := shr(1, m) } {
                for { let i := 0 } lt(shl(1, i), m) { i := add(i, 1) } {
                    mstore(add(buf, shl(5, i)), keccak256(add(buf, shl(6, i)), 0x40))
                }
            }
            root := mload(buf)
        }
    }

    /// @notice The root of the word tree whose first `count` subtrees of height `height` have
    /// the roots at `roots` (overwritten), the others zero.
    function _liftRoots(uint256 roots, uint256 count, uint256 height) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let zero := 0
            for { let h := 0 } lt(h, height) { h := add(h, 1) } {
                mstore(0x00, zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
            let n := count
            for { let h := height } lt(h, 32) { h := add(h, 1) } {
                let m := shr(1, add(n, 1))
                for { let i := 0 } lt(i, m) { i := add(i, 1) } {
                    let right := zero
                    if lt(add(shl(1, i), 1), n) { right := mload(add(roots, add(shl(6, i), 32))) }
                    mstore(0x00, mload(add(roots, shl(6, i))))
                    mstore(0x20, right)
                    mstore(add(roots, shl(5, i)), keccak256(0x00, 0x40))
                }
                n := m
                mstore(0x00, zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
            root := mload(roots)
        }
    }

    function _loadSponge(Progress storage p, uint256 a) private view {
        for (uint256 s; s < 7; ++s) {
            uint256 w = p.sponge[s];
            for (uint256 k; k < 4 && 4 * s + k < 25; ++k) {
                uint256 lane = (w >> (64 * k)) & 0xffffffffffffffff;
                assembly ("memory-safe") {
                    mstore(add(a, shl(5, add(shl(2, s), k))), lane)
                }
            }
        }
    }

    function _storeSponge(Progress storage p, uint256 a) private {
        for (uint256 s; s < 7; ++s) {
            uint256 w;
            for (uint256 k; k < 4 && 4 * s + k < 25; ++k) {
                uint256 lane;
                assembly ("memory-safe") {
                    lane := mload(add(a, shl(5, add(shl(2, s), k))))
                }
                w |= lane << (64 * k);
            }
            p.sponge[s] = w;
        }
    }
}
