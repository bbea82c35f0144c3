//! Long ranges on L1 (SPEC.md §3.4.1): range jobs, their chunks, and the L1 form of a proof.
//!
//! A one-step proof carries every word of each range its step reads or writes (§3.4). The Rust
//! verifier takes such a proof whatever its size; the L1 verifier cannot, since a range of a few
//! hundred KiB does not fit one L1 transaction. So before such a step, a party runs a *range job*
//! on the L1 `RangeOracle`, one bounded chunk per transaction, and submits the proof in its *L1
//! form*: the long ranges' entries cut to their heads with bit 31 of the count set (a *fact
//! marker*), which the L1 verifier answers from the oracle's fact. This module builds both from
//! a step's (canonical) proof: which ranges are long, the job of each long operation, its chunks.

use crate::StepProof;
use crate::codec::PROOF_VERSION;
use crate::merkle::{RangeProof, WordTree, empty_root, hash_pair, range_sibling_count};
use crate::state::{STATE_ENCODED_LEN, Status};
use alloy::primitives::{Address, B256, U256, keccak256};

mod flz;
pub use flz::{
    FLZ, FLZ_AHEAD, FLZ_BACK, FLZ_MAX_LEN, FLZ_STATE_LEN, FlzState, MAX_FLZ_CHUNK,
    flz_length_in_chunks, flz_plan, flz_plan_sized, flz_window,
};
mod code;
pub use code::{
    CODE_WINDOW_HEAD, CODE_WINDOW_MAGIC, CodeFact, LONG_CODE, code_form, code_window,
    jumpdest_bitmap,
};
mod code_scan;
pub use code_scan::{CODE_CHUNK, CodeChunk, CodeChunks, SCAN_HEAD, code_chunks};
mod entries;
pub use entries::{
    ENTRIES, ENTRIES_STATE_LEN, EntriesError, EntriesRun, EntriesState, MAX_ENTRIES_CHUNK,
    absorb_entries, entries_fact, entries_job, entries_plan,
};
mod logs;
pub use logs::{
    LOGS, LOGS_HEAD, LOGS_STATE_LEN, LogsError, LogsRun, LogsState, MANY_LOGS, MAX_LOGS_CHUNK,
    absorb_logs, absorb_long_log, logs_fact, logs_job, logs_plan, long_log_job,
};

/// A job flag: the fact gives `keccak256` of the job's bytes.
pub const HASH: u8 = 1;
/// A job flag: the fact gives the destination root after writing the job's bytes.
pub const WRITE: u8 = 2;
/// A job flag: the fact gives SHA-256 of the job's bytes (the sha256 precompile's long input).
pub const SHA256: u8 = 4;
/// A job flag: the fact gives RIPEMD-160 of the job's bytes, left-padded to a word (the
/// ripemd160 precompile's long input).
pub const RIPEMD160: u8 = 8;
/// [v0.11] A job flag, alone or with [`WRITE`]: the fact's hash is the number of zero bytes
/// of the job's bytes (a long transaction's data, for its intrinsic gas and floor).
pub const ZEROS: u8 = 16;
/// The most bytes one chunk of a WRITE-only job absorbs (`RangeOracle.MAX_CHUNK`).
pub const MAX_CHUNK: u64 = 16_320;
/// The most bytes one chunk of a HASH job absorbs (`RangeOracle.MAX_HASH_CHUNK`, 9 Keccak
/// blocks: a chunk under 1M gas).
pub const MAX_HASH_CHUNK: u64 = 1_224;
/// The most bytes one chunk of a SHA256 job absorbs (`RangeOracle.MAX_SHA256_CHUNK`, 22
/// blocks: a chunk under 1M gas), whole 64-byte blocks but for the last.
pub const MAX_SHA256_CHUNK: u64 = 1_408;
/// The most bytes one chunk of a RIPEMD160 job absorbs (`RangeOracle.MAX_RIPEMD160_CHUNK`, 17
/// blocks: a chunk under 1M gas), whole 64-byte blocks but for the last.
pub const MAX_RIPEMD160_CHUNK: u64 = 1_088;
/// Bytes a word tree holds, 2^37: the source size of a memory job.
pub const TREE_BYTES: u64 = 1 << 37;
/// Bit 31 of a range entry's count: the entry is a fact marker.
pub const FACT_BIT: u32 = 1 << 31;
/// Operations whose range entries span more words than this go through the oracle in the L1
/// form: 256 words (8 KiB), where a copy's two range multiproofs cost its step about 0.5M gas
/// (512 before v0.12: a copy of 16 KiB cost 0.92M, 1.25M beside 8 KiB of code).
pub const LONG_WORDS: usize = 256;
/// The Keccak rate: a HASH job's chunks are multiples of it, the last aside.
const RATE: u64 = 136;
const _: () = assert!(MAX_HASH_CHUNK.is_multiple_of(RATE));
const _: () =
    assert!(MAX_SHA256_CHUNK.is_multiple_of(64) && MAX_RIPEMD160_CHUNK.is_multiple_of(64));

/// The parameters of a range job; its id is [`RangeJob::id`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeJob {
    /// Root of the source word tree.
    pub src_root: B256,
    /// First source byte.
    pub src_offset: u64,
    /// Source bytes at or past this read as zero (at most [`TREE_BYTES`]).
    pub src_size: u64,
    /// Bytes of the job, at least one.
    pub len: u64,
    /// [`HASH`] and/or [`WRITE`], or [`SHA256`] or [`RIPEMD160`] alone.
    pub flags: u8,
    /// Root of the destination tree before the write (zero for a HASH-only job).
    pub dst_root: B256,
    /// First destination byte.
    pub dst_offset: u64,
}

impl RangeJob {
    /// `keccak256(abi.encode(srcRoot, srcOffset, srcSize, len, flags, dstRoot, dstOffset))`,
    /// seven 32-byte words, as `RangeOracle.idOf` and the step verifier compute it.
    pub fn id(&self) -> B256 {
        let mut enc = Vec::with_capacity(224);
        enc.extend_from_slice(self.src_root.as_slice());
        for v in [
            self.src_offset,
            self.src_size,
            self.len,
            u64::from(self.flags),
        ] {
            enc.extend_from_slice(&U256::from(v).to_be_bytes::<32>());
        }
        enc.extend_from_slice(self.dst_root.as_slice());
        enc.extend_from_slice(&U256::from(self.dst_offset).to_be_bytes::<32>());
        keccak256(enc)
    }
}

/// One chunk transaction of a job: `absorb(job, n, src, dst)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes absorbed.
    pub n: u64,
    /// The source range multiproof (§6.3 encoding), empty if the chunk reads no source byte.
    pub src: Vec<u8>,
    /// The destination range multiproof under the root the previous chunk left (WRITE jobs);
    /// for an [`FLZ`] job, the state the chunk starts from (`absorbFlz`'s `state`, empty for
    /// the first chunk).
    pub dst: Vec<u8>,
}

/// A job and the chunks that complete it, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPlan {
    /// The job.
    pub job: RangeJob,
    /// Its chunks.
    pub chunks: Vec<Chunk>,
    /// What the fact will say: the hash (HASH jobs) and the destination root.
    pub hash: B256,
    /// The destination root after the job (WRITE jobs).
    pub dst_result: B256,
}

/// A step's proof in its L1 form, and the jobs to run before it is submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Proof {
    /// The proof bytes the L1 verifier takes.
    pub bytes: Vec<u8>,
    /// The jobs whose facts the step reads.
    pub jobs: Vec<JobPlan>,
}

/// A range multiproof from its §6.3 encoding, all of it.
fn decode_range(b: &[u8]) -> Option<RangeProof> {
    let start = u64::from(u32::from_be_bytes(b.get(..4)?.try_into().ok()?));
    let count = u64::from(u32::from_be_bytes(b.get(4..8)?.try_into().ok()?));
    let siblings = range_sibling_count(start, count)?;
    let words = b.get(8..)?;
    if words.len() != 32 * (count as usize + siblings) {
        return None;
    }
    let mut all = words.chunks(32).map(B256::from_slice);
    Some(RangeProof {
        start,
        words: all.by_ref().take(count as usize).collect(),
        siblings: all.collect(),
    })
}

/// The bytes `[from, to)` of the tree `root` from `src`, the §6.3 encoding of the range
/// multiproof of exactly their words (a chunk's source, as the oracle reads it); `None` if it
/// is not that.
fn read_proven(src: &[u8], root: B256, from: u64, to: u64) -> Option<Vec<u8>> {
    let first = from / 32;
    let count = to.div_ceil(32) - first;
    let proof = decode_range(src).filter(|p| p.verifies(root, first, count))?;
    let flat: Vec<u8> = proof.words.iter().flat_map(|w| w.0).collect();
    let lo = (from - first * 32) as usize;
    Some(flat[lo..lo + (to - from) as usize].to_vec())
}

/// Which entries of each range list are fact markers.
#[derive(Default)]
struct Marks {
    memory: Vec<usize>,
    calldata: Vec<usize>,
    returndata: Vec<usize>,
}

/// The L1 form of `proof` if its step is a long operation of a kind the L1 verifier reads
/// from the oracle (KECCAK256, MCOPY, CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY,
/// RETURN, REVERT, LOG data, the input of a call that is not to a precompile or is to identity,
/// identity's output, the input of a call to sha256 or ripemd160, and a call frame exit's copy
/// of the output, whose range entries span more than `long_words` words), a transaction start
/// or [v0.12] a block end's insertion over a long encoding or leaf, else `None` (the canonical
/// encoding is the L1 form).
pub fn l1_form(proof: &StepProof, long_words: usize) -> Option<L1Proof> {
    // A transaction start: from Idle, with the transaction and no receipt (the block end's
    // insertion, which also carries a transaction, reads its receipt).
    if proof.pre.status == Status::Idle && proof.transaction.is_some() && proof.receipt.is_none() {
        return tx_start_form(proof, long_words);
    }
    // [v0.12] The block end's insertion: a Sealing state's step with a transaction and a receipt.
    if proof.pre.status == Status::Sealing && proof.transaction.is_some() && proof.receipt.is_some()
    {
        return insertion_form(proof, long_words);
    }
    let mut marks = Marks::default();
    let jobs = match proof.pre.status {
        Status::Running => opcode_plan(proof, long_words, &mut marks)?,
        Status::Returned | Status::Reverted if proof.pre.depth > 0 => {
            vec![exit_plan(proof, long_words, &mut marks)?]
        }
        _ => return None,
    };
    Some(L1Proof {
        bytes: encode_l1(proof, &marks),
        jobs,
    })
}

/// The job of a call frame's exit (SPEC.md §5.16) whose copy of the output into the caller's
/// memory is long: a WRITE from the return data tree into the caller's memory. A create frame's
/// exit reads the deployed code, at most 24,576 bytes (EIP-170), and takes no fact.
fn exit_plan(proof: &StepProof, long_words: usize, marks: &mut Marks) -> Option<JobPlan> {
    let link = proof.frame.as_ref()?;
    if link.kind != crate::frame::FrameKind::Call {
        return None;
    }
    let read = proof.returndata.first()?;
    let write = proof
        .memory
        .first()
        .filter(|p| p.words.len() > long_words)?;
    let n = link.out_len.min(proof.pre.returndata_size);
    marks.returndata.push(0);
    marks.memory.push(0);
    let job = RangeJob {
        src_root: proof.pre.returndata_root,
        src_offset: 0,
        src_size: proof.pre.returndata_size,
        len: n,
        flags: WRITE,
        dst_root: link.caller.memory_root,
        dst_offset: link.out_offset,
    };
    plan(job, Some(read), Some(write))
}

/// A WRITE of `len` memory bytes from `offset` into the empty word tree: the return data of a
/// RETURN or REVERT, the calldata of a callee.
fn into_empty_tree(proof: &StepProof, read: &RangeProof, offset: u64, len: u64) -> Option<JobPlan> {
    let job = RangeJob {
        src_root: proof.pre.memory_root,
        src_offset: offset,
        src_size: TREE_BYTES,
        len,
        flags: WRITE,
        dst_root: empty_root(),
        dst_offset: 0,
    };
    let empty = WordTree::new().prove_range(0, len.div_ceil(32));
    plan(job, Some(read), Some(&empty))
}

/// The jobs of a long opcode step, with its markers.
fn opcode_plan(proof: &StepProof, long_words: usize, marks: &mut Marks) -> Option<Vec<JobPlan>> {
    let pre = &proof.pre;
    let op = *proof.code.get(usize::try_from(pre.pc).ok()?)?;
    let item = |i: usize| proof.stack.get(i).copied();
    let as_u64 = |v: U256| u64::try_from(v).ok();
    let long = |p: &RangeProof| p.words.len() > long_words;
    match op {
        // KECCAK256 offset, len: its one memory read.
        0x20 => {
            let read = proof.memory.first().filter(|p| long(p))?;
            let (offset, len) = (as_u64(item(0)?)?, as_u64(item(1)?)?);
            marks.memory.push(0);
            let job = RangeJob {
                src_root: pre.memory_root,
                src_offset: offset,
                src_size: TREE_BYTES,
                len,
                flags: HASH,
                dst_root: B256::ZERO,
                dst_offset: 0,
            };
            plan(job, Some(read), None).map(|p| vec![p])
        }
        // MCOPY dst, src, len: the read, then the write against the same root.
        0x5e => {
            let (read, write) = (
                proof.memory.first()?,
                proof.memory.get(1).filter(|p| long(p))?,
            );
            let (dst, src, len) = (as_u64(item(0)?)?, as_u64(item(1)?)?, as_u64(item(2)?)?);
            marks.memory.extend([0, 1]);
            let job = RangeJob {
                src_root: pre.memory_root,
                src_offset: src,
                src_size: TREE_BYTES,
                len,
                flags: WRITE,
                dst_root: pre.memory_root,
                dst_offset: dst,
            };
            plan(job, Some(read), Some(write)).map(|p| vec![p])
        }
        // CALLDATACOPY, CODECOPY, RETURNDATACOPY dst, src, len and EXTCODECOPY address, dst,
        // src, len: the write is the memory entry. EXTCODECOPY's source is the account's code
        // witness (none for an account without code), CODECOPY's the frame's code.
        0x37 | 0x39 | 0x3c | 0x3e => {
            let write = proof.memory.first().filter(|p| long(p))?;
            let at = usize::from(op == 0x3c);
            let (dst, src, len) = (as_u64(item(at)?)?, item(at + 1)?, as_u64(item(at + 2)?)?);
            marks.memory.push(0);
            let (root, size, source) = match op {
                0x37 => {
                    if !proof.calldata.is_empty() {
                        marks.calldata.push(0);
                    }
                    (
                        pre.calldata_root,
                        pre.calldata_size,
                        proof.calldata.first().cloned(),
                    )
                }
                0x3e => {
                    marks.returndata.push(0);
                    (
                        pre.returndata_root,
                        pre.returndata_size,
                        proof.returndata.first().cloned(),
                    )
                }
                _ => {
                    let code = if op == 0x3c {
                        proof.codes.first().map(Vec::as_slice).unwrap_or_default()
                    } else {
                        &proof.code[..]
                    };
                    let size = code.len() as u64;
                    let tree = WordTree::from_bytes(code);
                    let source = (size > 0).then(|| tree.prove_range(0, size.div_ceil(32)));
                    (tree.root(), size, source)
                }
            };
            let src_offset = as_u64(src).filter(|s| *s < size).unwrap_or(size);
            let job = RangeJob {
                src_root: root,
                src_offset,
                src_size: size,
                len,
                flags: WRITE,
                dst_root: pre.memory_root,
                dst_offset: dst,
            };
            plan(job, source.as_ref(), Some(write)).map(|p| vec![p])
        }
        // LOGn offset, len, topics: the log chain hashes `rlp([address, [topic…], data])`, so
        // the data is written after that encoding's prefix (`prefix`, whose tree the verifier
        // builds) and the whole hashed: a WRITE, then a HASH of its result. Data of at least 56
        // bytes always has its own RLP header, which the prefix ends with.
        0xa0..=0xa4 => {
            let read = proof.memory.first().filter(|p| long(p))?;
            let (offset, len) = (as_u64(item(0)?)?, as_u64(item(1)?)?);
            if len < 56 {
                return None;
            }
            let topics = (0..usize::from(op - 0xa0))
                .map(|i| item(2 + i).map(|t| B256::from(t.to_be_bytes::<32>())))
                .collect::<Option<Vec<_>>>()?;
            let data = bytes_of(read, offset, offset + len);
            let log = alloy::primitives::Log {
                address: pre.address,
                data: alloy::primitives::LogData::new_unchecked(topics, data.into()),
            };
            let encoded = alloy::rlp::encode(&log);
            marks.memory.push(0);
            prefixed_hash((pre.memory_root, offset, TREE_BYTES), read, len, &encoded).map(Vec::from)
        }
        // RETURN, REVERT offset, len: the output's tree is the memory range written into the
        // empty tree.
        0xf3 | 0xfd => {
            let read = proof.memory.first().filter(|p| long(p))?;
            let (offset, len) = (as_u64(item(0)?)?, as_u64(item(1)?)?);
            marks.memory.push(0);
            into_empty_tree(proof, read, offset, len).map(|p| vec![p])
        }
        // CALL, CALLCODE, DELEGATECALL, STATICCALL: the input read is the first memory entry;
        // the callee's calldata tree (identity's output) is that range written into the empty
        // tree. Identity's copy of it into the output buffer, the second memory entry when it
        // succeeds, is a WRITE from memory to memory. sha256's and ripemd160's input is hashed
        // by the oracle (their output, one word, is written as usual). The other precompiles
        // run on the input itself (bounded, SPEC.md §5.15): no fact stands for it.
        0xf1 | 0xf2 | 0xf4 | 0xfa => {
            let read = proof.memory.first().filter(|p| long(p))?;
            let to = Address::from_word(B256::from(item(1)?.to_be_bytes::<32>()));
            let identity = to == Address::with_last_byte(4);
            let digest = [(2, SHA256), (3, RIPEMD160)]
                .into_iter()
                .find(|(a, _)| to == Address::with_last_byte(*a));
            if crate::world::is_precompile(to) && !identity && digest.is_none() {
                return None;
            }
            let at = if matches!(op, 0xf1 | 0xf2) { 3 } else { 2 };
            let (offset, len) = (as_u64(item(at)?)?, as_u64(item(at + 1)?)?);
            marks.memory.push(0);
            if let Some((_, flags)) = digest {
                let job = RangeJob {
                    src_root: pre.memory_root,
                    src_offset: offset,
                    src_size: TREE_BYTES,
                    len,
                    flags,
                    dst_root: B256::ZERO,
                    dst_offset: 0,
                };
                return plan(job, Some(read), None).map(|p| vec![p]);
            }
            let mut jobs = vec![into_empty_tree(proof, read, offset, len)?];
            if let Some(write) = proof.memory.get(1).filter(|_| identity) {
                let (out_offset, out_len) = (as_u64(item(at + 2)?)?, as_u64(item(at + 3)?)?);
                marks.memory.push(1);
                let job = RangeJob {
                    src_root: pre.memory_root,
                    src_offset: offset,
                    src_size: TREE_BYTES,
                    len: len.min(out_len),
                    flags: WRITE,
                    dst_root: pre.memory_root,
                    dst_offset: out_offset,
                };
                jobs.push(plan(job, Some(read), Some(write))?);
            }
            Some(jobs)
        }
        _ => None,
    }
}

/// The proof's canonical encoding with the marked entries cut to their heads.
fn encode_l1(proof: &StepProof, marks: &Marks) -> Vec<u8> {
    let full = proof.encode();
    let head = 1
        + STATE_ENCODED_LEN
        + 4
        + proof.code.len()
        + 4
        + 32 * proof.stack.len()
        + 1
        + if proof.stack_rest.is_some() { 32 } else { 0 };
    debug_assert_eq!(full[0], PROOF_VERSION);
    let lists_len: usize = [&proof.memory, &proof.calldata, &proof.returndata]
        .iter()
        .map(|l| 4 + l.iter().map(entry_len).sum::<usize>())
        .sum();
    let mut out = full[..head].to_vec();
    for (list, marked) in [
        (&proof.memory, &marks.memory),
        (&proof.calldata, &marks.calldata),
        (&proof.returndata, &marks.returndata),
    ] {
        out.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for (i, p) in list.iter().enumerate() {
            if marked.contains(&i) {
                out.extend_from_slice(&(p.start as u32).to_be_bytes());
                out.extend_from_slice(&((p.words.len() as u32) | FACT_BIT).to_be_bytes());
            } else {
                out.extend_from_slice(&encode_range(p));
            }
        }
    }
    out.extend_from_slice(&full[head + lists_len..]);
    out
}

fn entry_len(p: &RangeProof) -> usize {
    8 + 32 * (p.words.len() + p.siblings.len())
}

/// The §6.3 encoding of one range multiproof: `start(u32) ‖ count(u32) ‖ words ‖ siblings`.
pub fn encode_range(p: &RangeProof) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry_len(p));
    out.extend_from_slice(&(p.start as u32).to_be_bytes());
    out.extend_from_slice(&(p.words.len() as u32).to_be_bytes());
    for w in p.words.iter().chain(&p.siblings) {
        out.extend_from_slice(w.as_slice());
    }
    out
}

/// The range multiproof of the words `[start, start + count)` inside `proof`'s range, under the
/// same root, computed from `proof`'s words and edge siblings alone (every sibling the sub-range
/// needs is a node of the fold of `proof`, §3.4). `None` if the sub-range leaves `proof`'s.
pub fn sub_range(proof: &RangeProof, start: u64, count: u64) -> Option<RangeProof> {
    let full_count = proof.words.len() as u64;
    if count == 0 || start < proof.start || start + count > proof.start + full_count {
        return None;
    }
    range_sibling_count(start, count)?;
    let mut siblings = proof.siblings.iter();
    let mut row: Vec<B256> = proof.words.clone();
    let mut first = proof.start;
    let (mut sub_first, mut sub_last) = (start, start + count - 1);
    let mut out = Vec::new();
    for _ in 0..crate::merkle::WORD_TREE_DEPTH {
        let last = first + row.len() as u64 - 1;
        // The row extended by the edge siblings, starting at an even index.
        if first & 1 == 1 {
            row.insert(0, *siblings.next()?);
            first -= 1;
        }
        if last & 1 == 0 {
            row.push(*siblings.next()?);
        }
        if sub_first & 1 == 1 {
            out.push(row[(sub_first - 1 - first) as usize]);
        }
        if sub_last & 1 == 0 {
            out.push(row[(sub_last + 1 - first) as usize]);
        }
        row = row.chunks(2).map(|p| hash_pair(p[0], p[1])).collect();
        first >>= 1;
        sub_first >>= 1;
        sub_last >>= 1;
    }
    let lo = (start - proof.start) as usize;
    Some(RangeProof {
        start,
        words: proof.words[lo..lo + count as usize].to_vec(),
        siblings: out,
    })
}

/// The bytes `[from, to)` of the string whose words `proof` holds (inside its range).
fn bytes_of(proof: &RangeProof, from: u64, to: u64) -> Vec<u8> {
    let base = proof.start * 32;
    let flat: Vec<u8> = proof.words.iter().flat_map(|w| w.0).collect();
    flat[(from - base) as usize..(to - base) as usize].to_vec()
}

/// The most bytes one chunk of a job with `flags` absorbs.
pub fn max_chunk(flags: u8) -> u64 {
    if flags == FLZ {
        MAX_FLZ_CHUNK
    } else if flags & HASH != 0 {
        MAX_HASH_CHUNK
    } else if flags & SHA256 != 0 {
        MAX_SHA256_CHUNK
    } else if flags & RIPEMD160 != 0 {
        MAX_RIPEMD160_CHUNK
    } else {
        MAX_CHUNK
    }
}

/// The chunks of `job`, given a range multiproof of every source byte it reads below its size
/// (`source`) and one of the destination words it writes under its `dst_root` (`dest`, WRITE
/// jobs); `None` if they do not cover the job. A challenger holding the whole trees makes these
/// two proofs with `WordTree::prove_range`. An [`FLZ`] job's chunks are [`flz_plan`]'s.
pub fn plan(
    job: RangeJob,
    source: Option<&RangeProof>,
    dest: Option<&RangeProof>,
) -> Option<JobPlan> {
    if job.len == 0 {
        return None;
    }
    if job.flags & FLZ != 0 {
        return flz_plan(job, source);
    }
    let mut dest = dest.cloned();
    let mut chunks = Vec::new();
    let mut all = Vec::new();
    let mut done = 0u64;
    let hashed = job.flags & (HASH | SHA256 | RIPEMD160 | ZEROS) != 0;
    let most = max_chunk(job.flags);
    while done < job.len {
        let n = most.min(job.len - done);
        let from = job.src_offset + done;
        let to = (from + n).min(job.src_size);
        let mut bytes = vec![0u8; n as usize];
        let mut src = Vec::new();
        if from < to {
            let s = source?;
            let first = from / 32;
            let sub = sub_range(s, first, to.div_ceil(32) - first)?;
            bytes[..(to - from) as usize].copy_from_slice(&bytes_of(&sub, from, to));
            src = encode_range(&sub);
        }
        let mut dst = Vec::new();
        if job.flags & WRITE != 0 {
            let d = dest.as_mut()?;
            let at = job.dst_offset + done;
            let first = at / 32;
            let sub = sub_range(d, first, (at + n).div_ceil(32) - first)?;
            dst = encode_range(&sub);
            // Splice the bytes into the destination's words: the next chunk's proof is under
            // the root this one leaves.
            let mut flat: Vec<u8> = d.words.iter().flat_map(|w| w.0).collect();
            let lo = (at - d.start * 32) as usize;
            flat[lo..lo + n as usize].copy_from_slice(&bytes);
            d.words = flat.chunks(32).map(B256::from_slice).collect();
        }
        if hashed {
            all.extend_from_slice(&bytes);
        }
        chunks.push(Chunk { n, src, dst });
        done += n;
    }
    let hash = if job.flags & HASH != 0 {
        keccak256(&all)
    } else if job.flags & SHA256 != 0 {
        use sha2::Digest;
        B256::from_slice(&sha2::Sha256::digest(&all))
    } else if job.flags & RIPEMD160 != 0 {
        use ripemd::Digest;
        let mut word = B256::ZERO;
        word[12..].copy_from_slice(&ripemd::Ripemd160::digest(&all));
        word
    } else if job.flags & ZEROS != 0 {
        B256::from(U256::from(all.iter().filter(|b| **b == 0).count()))
    } else {
        B256::ZERO
    };
    let dst_result = match &dest {
        Some(d) => d.root_with(&d.words)?,
        None => job.dst_root,
    };
    Some(JobPlan {
        job,
        chunks,
        hash,
        dst_result,
    })
}

/// [v0.11] The L1 form of a transaction start whose data spans more than `long_words` words
/// (SPEC.md §3.4.1): the transaction witness `e ‖ word_proof` becomes, under flag 2,
/// `R_e ‖ u32 len(e) ‖ u32 len(head) ‖ range_proof(head) ‖ u32 len(tail) ‖ [range_proof(tail)]
/// ‖ word_proof`, with `head` the bytes before the data (through its RLP header) and `tail`
/// those after it. Its jobs: the HASH of `e`; the data's `WRITE | ZEROS` into the empty tree (a
/// call) or its `ZEROS` and `HASH` (a creation); for a signed transaction the WRITE of the data
/// into the tree of its signing payload's head and tail, then the HASH of that payload; under
/// OP rules, a non-deposit's FLZ job of `e` (the L1 data fee). [v0.14] A start whose data is
/// short but whose encoding spans more than `long_words` words (a long access list, many
/// authorizations) takes the form with no data absent (`head` through the data's end, `tail`
/// the rest, [`whole_encoding_form`]). `None` for an encoding that does not decode, a short
/// encoding, a bare list that is not a legacy transaction, and a call to a precompile (all
/// proven in full).
fn tx_start_form(proof: &StepProof, long_words: usize) -> Option<L1Proof> {
    let (e, _) = proof.transaction.as_ref()?;
    let env = proof.block_env.as_ref()?;
    let record = crate::tx::decode(e, env.rules, env.chain_id).ok()?;
    if !record.create && crate::world::is_precompile(record.to) {
        return None;
    }
    let skip = data_items(e)?;
    let (head_len, data_len) = data_span(e, skip)?;
    if (data_len as usize).div_ceil(32) <= long_words {
        if let Some(form) = access_list_form(proof, e, &record, head_len + data_len) {
            return Some(form);
        }
        return (e.len().div_ceil(32) > long_words)
            .then(|| whole_encoding_form(proof, e, head_len + data_len, &record, env.rules))
            .flatten();
    }
    let len = e.len() as u64;
    let tail_len = len - head_len - data_len;
    let tree = WordTree::from_bytes(e);
    let root = tree.root();
    let whole = tree.prove_range(0, len.div_ceil(32));
    let job = |src_offset, len, flags, dst_root, dst_offset| RangeJob {
        src_root: root,
        src_offset,
        src_size: e.len() as u64,
        len,
        flags,
        dst_root,
        dst_offset,
    };
    let mut jobs = vec![plan(job(0, len, HASH, B256::ZERO, 0), Some(&whole), None)?];
    if record.create {
        jobs.push(plan(
            job(head_len, data_len, ZEROS, B256::ZERO, 0),
            Some(&whole),
            None,
        )?);
        jobs.push(plan(
            job(head_len, data_len, HASH, B256::ZERO, 0),
            Some(&whole),
            None,
        )?);
    } else {
        let empty = WordTree::new().prove_range(0, data_len.div_ceil(32));
        jobs.push(plan(
            job(head_len, data_len, WRITE | ZEROS, empty_root(), 0),
            Some(&whole),
            Some(&empty),
        )?);
    }
    if record.deposit.is_none() {
        // The signing payload: its data where the encoding's is, written into the tree of the
        // payload with the data zeroed, then hashed.
        let payload = signing_payload(e, env.rules)?;
        let (at, n) = data_span(&payload, skip)?;
        if n != data_len {
            return None;
        }
        jobs.extend(signing_jobs(
            &payload,
            at,
            job(head_len, data_len, WRITE, B256::ZERO, 0),
            &whole,
        )?);
        if env.rules == crate::state::Rules::Isthmus {
            jobs.push(plan(job(0, len, FLZ, B256::ZERO, 0), Some(&whole), None)?);
        }
    }
    let bytes = with_long_transaction(proof, &gap_witness(&tree, len, head_len, tail_len))?;
    Some(L1Proof { bytes, jobs })
}

/// The flag-2 witness of `e` (its word tree `tree`, `len` bytes) with the bytes between
/// `head_len` and `len − tail_len` absent, in place of `u8 1 ‖ u32 len ‖ e` in the canonical
/// encoding (SPEC.md §3.4.1).
fn gap_witness(tree: &WordTree, len: u64, head_len: u64, tail_len: u64) -> Vec<u8> {
    let mut blob = tree.root().to_vec();
    blob.extend_from_slice(&(len as u32).to_be_bytes());
    blob.extend_from_slice(&(head_len as u32).to_be_bytes());
    blob.extend_from_slice(&encode_range(&tree.prove_range(0, head_len.div_ceil(32))));
    blob.extend_from_slice(&(tail_len as u32).to_be_bytes());
    if tail_len > 0 {
        let first = (len - tail_len) / 32;
        blob.extend_from_slice(&encode_range(
            &tree.prove_range(first, len.div_ceil(32) - first),
        ));
    }
    blob
}

/// The jobs of the signing hash of a transaction whose bytes `write` (a WRITE job from the
/// encoding's tree, `dst_root` and `dst_offset` still to set) are absent from its L1 form and
/// lie at `[at, at + write.len)` of its signing `payload`: a WRITE of them into the tree of the
/// payload with them zeroed, then a HASH of the result.
fn signing_jobs(
    payload: &[u8],
    at: u64,
    write: RangeJob,
    whole: &RangeProof,
) -> Option<[JobPlan; 2]> {
    let n = write.len;
    let mut zeroed = payload.to_vec();
    zeroed.get_mut(at as usize..(at + n) as usize)?.fill(0);
    let room = WordTree::from_bytes(&zeroed);
    let first = at / 32;
    let dest = room.prove_range(first, (at + n).div_ceil(32) - first);
    let write = plan(
        RangeJob {
            dst_root: room.root(),
            dst_offset: at,
            ..write
        },
        Some(whole),
        Some(&dest),
    )?;
    let plen = payload.len() as u64;
    let hash = RangeJob {
        src_root: write.dst_result,
        src_offset: 0,
        src_size: TREE_BYTES,
        len: plen,
        flags: HASH,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let source = WordTree::from_bytes(payload).prove_range(0, plen.div_ceil(32));
    let hash = plan(hash, Some(&source), None)?;
    Some([write, hash])
}

/// [v0.16] Access-list entries (addresses and keys) above which a start whose data is not long
/// takes the access list's L1 form (the prover's rule, SPEC.md §3.4.1): the head in full costs
/// about 2.6k L1 gas an entry under Prague and 13k under Isthmus (FastLZ over the encoding in
/// the step), so at this many it stays near 0.4M / 0.85M.
pub const MANY_ENTRIES: usize = 16;

/// [v0.16] The L1 form of a transaction start whose access list has more than
/// [`MANY_ENTRIES`] entries and whose data (ending at `data_end`) is not long (SPEC.md
/// §3.4.1): the flag-2 witness with the list's payload absent (`head` through its header,
/// `tail` after it), and the jobs: the HASH of `e` (the list's word), the ENTRIES job of the
/// payload over the stack of the authorizations' entries, the WRITE and HASH of the signing
/// payload, and under Isthmus rules the FLZ job of `e`.
fn access_list_form(
    proof: &StepProof,
    e: &[u8],
    record: &crate::tx::TxRecord,
    data_end: u64,
) -> Option<L1Proof> {
    let env = proof.block_env.as_ref()?;
    let entries: usize = record.access_list.iter().map(|(_, k)| 1 + k.len()).sum();
    if entries <= MANY_ENTRIES || record.deposit.is_some() || !matches!(e.first(), Some(1..=4)) {
        return None;
    }
    // The access list follows the data in every typed transaction.
    let (list, at, n) = rlp_item(e, data_end as usize)?;
    let (at, n) = (at as u64, n as u64);
    let len = e.len() as u64;
    if !list || at + n > len || n < 64 {
        return None;
    }
    let tree = WordTree::from_bytes(e);
    let root = tree.root();
    let whole = tree.prove_range(0, len.div_ceil(32));
    let job = |src_offset, len, flags| RangeJob {
        src_root: root,
        src_offset,
        src_size: e.len() as u64,
        len,
        flags,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    // The stack below the list's entries: the authorizations' (SPEC.md §5.9).
    let no_list = crate::tx::TxRecord {
        access_list: Vec::new(),
        ..record.clone()
    };
    let (words, _) = crate::step::start_entries(&no_list, env.chain_id).ok()?;
    let below = crate::step::entries_root(&words);
    let mut jobs = vec![
        plan(job(0, len, HASH), Some(&whole), None)?,
        entries_plan(e, at, n, below, MAX_ENTRIES_CHUNK)?,
    ];
    let payload = signing_payload(e, env.rules)?;
    let skip = data_items(e)?;
    let (p_data, p_data_len) = data_span(&payload, skip)?;
    let (list, p_at, p_n) = rlp_item(&payload, (p_data + p_data_len) as usize)?;
    if !list || p_n as u64 != n {
        return None;
    }
    jobs.extend(signing_jobs(
        &payload,
        p_at as u64,
        job(at, n, WRITE),
        &whole,
    )?);
    if env.rules == crate::state::Rules::Isthmus {
        jobs.push(plan(job(0, len, FLZ), Some(&whole), None)?);
    }
    let bytes = with_long_transaction(proof, &gap_witness(&tree, len, at, len - at - n))?;
    Some(L1Proof { bytes, jobs })
}

/// [v0.14] The L1 form of a transaction start whose encoding `e` is long but whose data is not
/// (SPEC.md §3.4.1): the flag-2 witness with `head = e[0, split)` (through the data's end) and
/// `tail` the rest, so that no byte is absent (`len(head) + len(tail) = len(e)`); the verifier
/// reads `e` whole from the two range proofs and decodes it as in full. Its jobs: the HASH of
/// `e` (the list's word) and, for a non-deposit under Isthmus rules, the FLZ job of `e` (the L1
/// data fee), the step's two costs that grow with the encoding beyond its range proofs.
fn whole_encoding_form(
    proof: &StepProof,
    e: &[u8],
    split: u64,
    record: &crate::tx::TxRecord,
    rules: crate::state::Rules,
) -> Option<L1Proof> {
    let len = e.len() as u64;
    if split == 0 || split >= len {
        return None;
    }
    let tree = WordTree::from_bytes(e);
    let root = tree.root();
    let whole = tree.prove_range(0, len.div_ceil(32));
    let job = |flags| RangeJob {
        src_root: root,
        src_offset: 0,
        src_size: len,
        len,
        flags,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let mut jobs = vec![plan(job(HASH), Some(&whole), None)?];
    if record.deposit.is_none() && rules == crate::state::Rules::Isthmus {
        jobs.push(plan(job(FLZ), Some(&whole), None)?);
    }
    let mut blob = root.to_vec();
    blob.extend_from_slice(&(len as u32).to_be_bytes());
    blob.extend_from_slice(&(split as u32).to_be_bytes());
    blob.extend_from_slice(&encode_range(&tree.prove_range(0, split.div_ceil(32))));
    blob.extend_from_slice(&((len - split) as u32).to_be_bytes());
    let first = split / 32;
    blob.extend_from_slice(&encode_range(
        &tree.prove_range(first, len.div_ceil(32) - first),
    ));
    let bytes = with_long_transaction(proof, &blob)?;
    Some(L1Proof { bytes, jobs })
}

/// `proof`'s encoding with its transaction witness `u8 1 ‖ u32 len ‖ e ‖ word_proof` replaced by
/// its L1 form `u8 2 ‖ u32 len(blob) ‖ blob ‖ word_proof`.
fn with_long_transaction(proof: &StepProof, blob: &[u8]) -> Option<Vec<u8>> {
    let (e, _) = proof.transaction.as_ref()?;
    let full = proof.encode();
    let mut without = proof.clone();
    without.transaction = None;
    let rest = without.encode();
    let at = full.iter().zip(&rest).position(|(a, b)| a != b)?;
    let mut bytes = full[..at].to_vec();
    bytes.push(2);
    bytes.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    bytes.extend_from_slice(blob);
    let word_proof = at + 1 + 4 + e.len();
    bytes.extend_from_slice(&full[word_proof..word_proof + 32 * 33]);
    bytes.extend_from_slice(&rest[at + 1..]);
    Some(bytes)
}

/// The hash of `encoded`, a string whose last `len` bytes are the source's `(root, offset,
/// size)` bytes (`source` their range multiproof) after a prefix the verifier builds: a WRITE
/// of them into the word tree of the prefix after it, then a HASH of the result (a long LOG's
/// data, [v0.12] a long leaf's value).
fn prefixed_hash(
    (src_root, src_offset, src_size): (B256, u64, u64),
    source: &RangeProof,
    len: u64,
    encoded: &[u8],
) -> Option<[JobPlan; 2]> {
    let plen = (encoded.len() as u64).checked_sub(len)?;
    let head = WordTree::from_bytes(&encoded[..plen as usize]);
    let first = plen / 32;
    let dest = head.prove_range(first, (plen + len).div_ceil(32) - first);
    let write = RangeJob {
        src_root,
        src_offset,
        src_size,
        len,
        flags: WRITE,
        dst_root: head.root(),
        dst_offset: plen,
    };
    let write = plan(write, Some(source), Some(&dest))?;
    let hash = RangeJob {
        src_root: write.dst_result,
        src_offset: 0,
        src_size: TREE_BYTES,
        len: plen + len,
        flags: HASH,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let whole = WordTree::from_bytes(encoded).prove_range(0, (plen + len).div_ceil(32));
    let hash = plan(hash, Some(&whole), None)?;
    Some([write, hash])
}

/// The value of the trie node `node` if it is a leaf, and its key item (the RLP string of its
/// hex-prefix path, as the node holds it).
fn leaf_parts(node: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    use alloy::rlp::Decodable;
    let alloy_trie::nodes::TrieNode::Leaf(leaf) =
        alloy_trie::nodes::TrieNode::decode(&mut &node[..]).ok()?
    else {
        return None;
    };
    let (list, first, _) = rlp_item(node, 0)?;
    let (_, p, l) = rlp_item(node, first)?;
    list.then(|| (leaf.value, &node[first..p + l]))
}

/// [v0.12] The L1 form of a block end's insertion (SPEC.md §3.4.1, §3.10) when its transaction's
/// encoding `e` spans more than `long_words` words or a trie witness holds a leaf whose value
/// does: `e` becomes, under flag 2, `R_e ‖ u32 len(e) ‖ range_proof(word 0)`, and each such
/// witness leaf `0x00 ‖ R_v ‖ u32 len(v) ‖ key`. Its jobs: the HASH of a long `e` (the list's
/// word; the transaction start's own job), and for each leaf over a long value the verifier
/// hashes (the witness's, and those the write makes: the new leaf, a leaf moved under a new
/// branch) the WRITE of the value after the leaf's RLP prefix and the HASH of the result.
fn insertion_form(proof: &StepProof, long_words: usize) -> Option<L1Proof> {
    let (e, _) = proof.transaction.as_ref()?;
    let sealing = proof.sealing.as_ref()?;
    let receipt = proof.receipt.as_ref()?.encode(crate::receipt::tx_type(e))?;
    let long = |v: &[u8]| v.len().div_ceil(32) > long_words && v.len() >= 56;
    let key = alloy_trie::Nibbles::unpack(alloy::rlp::encode(proof.pre.tx_index));
    let mut marked = proof.clone();
    let mut jobs: Vec<JobPlan> = Vec::new();
    let add = |node: &[u8], value: &[u8], jobs: &mut Vec<JobPlan>| -> Option<()> {
        let tree = WordTree::from_bytes(value);
        let n = value.len() as u64;
        let whole = tree.prove_range(0, n.div_ceil(32));
        for p in prefixed_hash((tree.root(), 0, n), &whole, n, node)? {
            if jobs.iter().all(|j| j.job != p.job) {
                jobs.push(p);
            }
        }
        Some(())
    };
    let long_e = long(e);
    if long_e {
        let tree = WordTree::from_bytes(e);
        let n = e.len() as u64;
        let job = RangeJob {
            src_root: tree.root(),
            src_offset: 0,
            src_size: n,
            len: n,
            flags: HASH,
            dst_root: B256::ZERO,
            dst_offset: 0,
        };
        jobs.push(plan(job, Some(&tree.prove_range(0, n.div_ceil(32))), None)?);
    }
    // [v0.13] A receipt whose logs carry long data: its logs' hashes and its encoding's tree by
    // facts, the encoding then a long value like `e`.
    let long_receipt = receipt_form(proof.receipt.as_ref()?, &receipt, long_words);
    if let Some((_, receipt_jobs)) = &long_receipt {
        for p in receipt_jobs {
            if jobs.iter().all(|j| j.job != p.job) {
                jobs.push(p.clone());
            }
        }
    }
    let writes = [
        (sealing.transactions_root, &e[..]),
        (sealing.receipts_root, &receipt[..]),
    ];
    for (i, (root, value)) in writes.into_iter().enumerate() {
        let witness = proof.tries.get(i)?;
        // The values the verifier holds as a root and a length: hashed by facts wherever a
        // leaf over them is.
        let mut held: Vec<Vec<u8>> = Vec::new();
        if i == 0 && long_e {
            held.push(e.clone());
        }
        if i == 1 && long_receipt.is_some() {
            held.push(receipt.clone());
        }
        for (j, node) in witness.nodes.iter().enumerate() {
            let Some((v, key_item)) = leaf_parts(node).filter(|(v, _)| long(v)) else {
                continue;
            };
            let mut m = vec![0u8];
            m.extend_from_slice(WordTree::from_bytes(&v).root().as_slice());
            m.extend_from_slice(&(v.len() as u32).to_be_bytes());
            m.extend_from_slice(key_item);
            marked.tries[i].nodes[j] = m.into();
            add(node, &v, &mut jobs)?;
            held.push(v);
        }
        let (_, created) = crate::mpt_write::write(root, &key, Some(value), witness).ok()?;
        for node in &created {
            if let Some((v, _)) = leaf_parts(node).filter(|(v, _)| held.contains(v)) {
                add(node, &v, &mut jobs)?;
            }
        }
    }
    if jobs.is_empty() {
        return None;
    }
    let mut bytes = if long_e {
        let tree = WordTree::from_bytes(e);
        let mut blob = tree.root().to_vec();
        blob.extend_from_slice(&(e.len() as u32).to_be_bytes());
        blob.extend_from_slice(&encode_range(&tree.prove_range(0, 1)));
        with_long_transaction(&marked, &blob)?
    } else {
        marked.encode()
    };
    if let Some((section, _)) = long_receipt {
        // The receipt is the proof's last section (§6.3): its canonical bytes give way to the
        // L1 form's.
        let canonical = receipt_section(proof.receipt.as_ref()?, &[]);
        if !bytes.ends_with(&canonical) {
            return None;
        }
        bytes.truncate(bytes.len() - canonical.len());
        bytes.extend_from_slice(&section);
    }
    Some(L1Proof { bytes, jobs })
}

/// The least data a log must carry to be marked by the receipt rule of [`marked_logs`] when it
/// spans at most `LONG_WORDS` words: a marked log costs the L1 step its four facts (its hash's
/// WRITE and HASH, the receipt tree's two WRITEs), about 35k gas whatever its length (55.6k a
/// marked 8 KiB log, with the ~20k any log costs), and a byte carried whole about 37, so a log
/// under about 1 KiB costs less carried whole; 2 KiB leaves a margin (the L1 verifier takes a
/// marker on any data of 56 bytes or more, SPEC.md §5.19).
pub const MIN_MARKED_DATA: usize = 2048;

/// [v0.13] Which logs of the receipt `r`, whose encoding is `encoded_len` bytes, its L1 form
/// gives by their data's word-tree root (SPEC.md §5.19, the prover's rule): every log whose
/// data spans more than `long_words` words; then, while the bytes the step would still carry
/// (the encoding without the marked data) span more than `long_words` words, the unmarked log
/// with the most data (the first of equals), if it has at least [`MIN_MARKED_DATA`] bytes. A
/// receipt of many logs each under `long_words` words so sends the largest of them by their
/// facts until what is left is short; one of many logs under [`MIN_MARKED_DATA`] bytes stays
/// long (SPEC.md §5.19 "open": its insertion grows with its logs).
pub fn marked_logs(
    r: &crate::receipt::Receipt,
    encoded_len: usize,
    long_words: usize,
) -> Vec<bool> {
    let spans_long = |n: usize| n.div_ceil(32) > long_words;
    let mut marked: Vec<bool> = r
        .logs
        .iter()
        .map(|l| spans_long(l.data.data.len()) && l.data.data.len() >= 56)
        .collect();
    let mut carried = encoded_len.saturating_sub(
        r.logs
            .iter()
            .zip(&marked)
            .filter(|(_, m)| **m)
            .map(|(l, _)| l.data.data.len())
            .sum::<usize>(),
    );
    if !spans_long(carried) {
        return marked;
    }
    let mut order: Vec<usize> = (0..r.logs.len())
        .filter(|&i| !marked[i] && r.logs[i].data.data.len() >= MIN_MARKED_DATA)
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(r.logs[i].data.data.len()), i));
    for i in order {
        if !spans_long(carried) {
            break;
        }
        marked[i] = true;
        carried = carried.saturating_sub(r.logs[i].data.data.len());
    }
    marked
}

/// [v0.13] The L1 form of the receipt `r` of an insertion (SPEC.md §5.19) when [`marked_logs`]
/// marks a log: its section with each marked log's data as a marker `u32 (len | 2^31) ‖ R_d`
/// ([`receipt_section`]), and the jobs the verifier reads for it: per marked log, the WRITE of
/// `(R_d, 0, len)` after the log's RLP prefix and the HASH of the result (the log's hash, for
/// the receipt chain); and the receipt encoding's word tree `encoded`, built from the tree of
/// its bytes before the first marked data by WRITEs, in order, of each marked data
/// `(R_d, 0, len)` and of the bytes after it up to the next marked data (from their own tree),
/// each at the end of what the previous left. `None` for a receipt without a marked log (it is
/// sent whole).
fn receipt_form(
    r: &crate::receipt::Receipt,
    encoded: &[u8],
    long_words: usize,
) -> Option<(Vec<u8>, Vec<JobPlan>)> {
    // The logs' list: after the type byte, the list header, the status, the cumulative gas and
    // the bloom.
    let (_, mut at, _) = rlp_item(encoded, usize::from(*encoded.first()? < 0xc0))?;
    for _ in 0..3 {
        let (_, p, l) = rlp_item(encoded, at)?;
        at = p + l;
    }
    if r.logs.len() > MANY_LOGS {
        let (_, p, l) = rlp_item(encoded, at)?;
        return logs_receipt_form(r, encoded, p, l);
    }
    let marked = marked_logs(r, encoded.len(), long_words);
    if !marked.contains(&true) {
        return None;
    }
    let (_, mut at, _) = rlp_item(encoded, at)?;
    let mut spans = Vec::new();
    for (log, m) in r.logs.iter().zip(&marked) {
        let (_, p, l) = rlp_item(encoded, at)?;
        at = p + l;
        if *m {
            // The data is the log's last item.
            spans.push((log, at - log.data.data.len()));
        }
    }
    // The encoding's tree, from that of its bytes before the first marked data: each marked
    // data, then the bytes up to the next (or the end), written after what the previous job
    // left.
    let first = spans.first()?.1;
    let mut cur = encoded[..first].to_vec();
    let mut jobs = Vec::new();
    let mut into_receipt = Vec::new();
    for (k, (log, o)) in spans.iter().enumerate() {
        let d = &log.data.data[..];
        let n = d.len() as u64;
        let data = WordTree::from_bytes(d);
        let whole = data.prove_range(0, n.div_ceil(32));
        jobs.extend(prefixed_hash(
            (data.root(), 0, n),
            &whole,
            n,
            &alloy::rlp::encode(log),
        )?);
        let next = spans.get(k + 1).map_or(encoded.len(), |s| s.1);
        for piece in [d, &encoded[o + d.len()..next]] {
            if piece.is_empty() {
                continue;
            }
            into_receipt.push(write_after(&cur, piece)?);
            cur.extend_from_slice(piece);
        }
    }
    debug_assert_eq!(cur, encoded);
    jobs.extend(into_receipt);
    Some((receipt_section(r, &marked), jobs))
}

/// [v0.15] The L1 form of the receipt `r` with more than [`MANY_LOGS`] logs (SPEC.md §5.19),
/// whose encoding `encoded` holds the logs' list payload `L` at `[at, at + len)`: its section
/// with the logs as `u32 (count | 2^31) ‖ logs_root ‖ R_L ‖ u32 len(L) ‖ bloom`, and the jobs
/// the verifier reads: the LOGS fact of `L` (after the HASH jobs of its long logs), then the
/// receipt encoding's tree from that of its bytes before `L`: the WRITE of `(R_L, 0, len(L))`
/// and, for a deposit, of the bytes after `L`.
fn logs_receipt_form(
    r: &crate::receipt::Receipt,
    encoded: &[u8],
    at: usize,
    len: usize,
) -> Option<(Vec<u8>, Vec<JobPlan>)> {
    let l = encoded.get(at..at + len)?;
    let mut jobs = logs_plan(l)?;
    let fact = logs_fact(l).ok()?;
    jobs.push(write_after(&encoded[..at], l)?);
    if at + len < encoded.len() {
        jobs.push(write_after(&encoded[..at + len], &encoded[at + len..])?);
    }
    let mut section = Vec::new();
    let head = crate::receipt::Receipt {
        logs: Vec::new(),
        ..r.clone()
    };
    crate::codec::put_receipt_marked(&mut section, &head, |_| false);
    // The empty list's count gives way to the marked count and the fact's fields.
    section.truncate(section.len() - 4);
    section.extend_from_slice(&(fact.count as u32 | FACT_BIT).to_be_bytes());
    section.extend_from_slice(fact.root.as_slice());
    section.extend_from_slice(WordTree::root_of(l).as_slice());
    section.extend_from_slice(&(len as u32).to_be_bytes());
    section.extend_from_slice(fact.bloom.as_slice());
    Some((section, jobs))
}

/// [v0.13] The WRITE job of `piece` (from its own word tree) into the tree of `cur` right after
/// it.
fn write_after(cur: &[u8], piece: &[u8]) -> Option<JobPlan> {
    let (o, n) = (cur.len() as u64, piece.len() as u64);
    let src = WordTree::from_bytes(piece);
    let room = WordTree::from_bytes(cur);
    let first = o / 32;
    let dest = room.prove_range(first, (o + n).div_ceil(32) - first);
    let job = RangeJob {
        src_root: src.root(),
        src_offset: 0,
        src_size: n,
        len: n,
        flags: WRITE,
        dst_root: room.root(),
        dst_offset: o,
    };
    plan(job, Some(&src.prove_range(0, n.div_ceil(32))), Some(&dest))
}

/// [v0.13] The receipt section of a proof (SPEC.md §6.3): `tx_index ‖ success ‖ cumulative_gas
/// ‖ u8 deposit ‖ [nonce] ‖ u32 count ‖ (address ‖ u32 n ‖ topic… ‖ data)…`, each log's data
/// `u32 len ‖ data`, or in the L1 form, where `marked` holds for its index ([`marked_logs`];
/// empty: none), the marker `u32 (len | 2^31) ‖ R_d` (`R_d` its word-tree root).
fn receipt_section(r: &crate::receipt::Receipt, marked: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::codec::put_receipt_marked(&mut out, r, |i| marked.get(i).copied().unwrap_or(false));
    out
}

/// The number of list items before the data of the transaction encoded by `e` (its type byte,
/// or a bare list: legacy), or `None` for a kind the L1 form does not take.
fn data_items(e: &[u8]) -> Option<usize> {
    match *e.first()? {
        0 => Some(5),
        1 => Some(6),
        2 | 3 | 4 | 0x7e => Some(7),
        b if b >= 0xc0 => {
            // Only a bare list of 9 items is a legacy transaction.
            let (_, payload, plen) = rlp_item(e, 0)?;
            let (mut at, mut n) = (payload, 0);
            while at < payload + plen {
                let (_, p, l) = rlp_item(e, at)?;
                at = p + l;
                n += 1;
            }
            (n == 9).then_some(5)
        }
        _ => None,
    }
}

/// The data's payload offset and length in the list of `bytes` (an encoding or a signing
/// payload, its type byte first unless it is a bare list) after `skip` items.
fn data_span(bytes: &[u8], skip: usize) -> Option<(u64, u64)> {
    let start = usize::from(*bytes.first()? < 0xc0);
    let (list, mut at, _) = rlp_item(bytes, start)?;
    if !list {
        return None;
    }
    for _ in 0..skip {
        let (_, p, l) = rlp_item(bytes, at)?;
        at = p + l;
    }
    let (list, p, l) = rlp_item(bytes, at)?;
    (!list).then_some((p as u64, l as u64))
}

/// The RLP item at `at`: whether it is a list, its payload's offset and length.
fn rlp_item(b: &[u8], at: usize) -> Option<(bool, usize, usize)> {
    let first = *b.get(at)?;
    let long = |n: usize, list: bool| {
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(at + 1 + i)?);
        }
        Some((list, at + 1 + n, len))
    };
    match first {
        0..=0x7f => Some((false, at, 1)),
        0x80..=0xb7 => Some((false, at + 1, usize::from(first - 0x80))),
        0xb8..=0xbf => long(usize::from(first - 0xb7), false),
        0xc0..=0xf7 => Some((true, at + 1, usize::from(first - 0xc0))),
        _ => long(usize::from(first - 0xf7), true),
    }
}

/// The signing payload of the signed transaction encoded by `e`.
fn signing_payload(e: &[u8], rules: crate::state::Rules) -> Option<Vec<u8>> {
    use alloy::consensus::{SignableTransaction, TxEnvelope};
    use alloy::eips::eip2718::Decodable2718;
    use op_alloy::consensus::OpTxEnvelope;
    let mut out = Vec::new();
    match rules {
        crate::state::Rules::Prague => match TxEnvelope::decode_2718_exact(e).ok()? {
            TxEnvelope::Legacy(t) => t.tx().encode_for_signing(&mut out),
            TxEnvelope::Eip2930(t) => t.tx().encode_for_signing(&mut out),
            TxEnvelope::Eip1559(t) => t.tx().encode_for_signing(&mut out),
            TxEnvelope::Eip7702(t) => t.tx().encode_for_signing(&mut out),
            TxEnvelope::Eip4844(t) => t.tx().encode_for_signing(&mut out),
        },
        crate::state::Rules::Isthmus => match OpTxEnvelope::decode_2718_exact(e).ok()? {
            OpTxEnvelope::Legacy(t) => t.tx().encode_for_signing(&mut out),
            OpTxEnvelope::Eip2930(t) => t.tx().encode_for_signing(&mut out),
            OpTxEnvelope::Eip1559(t) => t.tx().encode_for_signing(&mut out),
            OpTxEnvelope::Eip7702(t) => t.tx().encode_for_signing(&mut out),
            _ => return None,
        },
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sub-range's proof verifies under the full range's root, at every edge parity.
    #[test]
    fn sub_ranges_verify_under_the_same_root() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 1) as u8).collect();
        let tree = WordTree::from_bytes(&data);
        let root = tree.root();
        let full = tree.prove_range(3, 80);
        for (s, c) in [(3, 1), (3, 80), (4, 5), (5, 9), (40, 43), (82, 1), (17, 64)] {
            let sub = sub_range(&full, s, c).expect("inside");
            assert!(sub.verifies(root, s, c), "sub-range {s}+{c}");
            assert_eq!(sub, tree.prove_range(s, c));
        }
        assert!(sub_range(&full, 2, 3).is_none());
        assert!(sub_range(&full, 80, 4).is_none());
    }

    /// A SHA256 or RIPEMD160 job's chunks are whole 64-byte blocks but the last, at most the
    /// kind's bound, and its fact's hash is the precompile's output.
    #[test]
    fn digest_jobs_chunk_whole_blocks_and_give_the_precompile_output() {
        let src: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8 + 1).collect();
        let tree = WordTree::from_bytes(&src);
        let (offset, len) = (7u64, 19_000u64);
        for flags in [SHA256, RIPEMD160] {
            let job = RangeJob {
                src_root: tree.root(),
                src_offset: offset,
                src_size: TREE_BYTES,
                len,
                flags,
                dst_root: B256::ZERO,
                dst_offset: 0,
            };
            let read = tree.prove_range(0, (offset + len).div_ceil(32));
            let p = plan(job, Some(&read), None).expect("plan");
            let most = max_chunk(flags);
            assert_eq!(p.chunks.len() as u64, len.div_ceil(most));
            let (head, _) = p.chunks.split_at(p.chunks.len() - 1);
            assert!(head.iter().all(|c| c.n == most && c.n % 64 == 0));
            let input = &src[7..19_007];
            let output = if flags == SHA256 {
                revm::precompile::hash::sha256_run(input, u64::MAX)
            } else {
                revm::precompile::hash::ripemd160_run(input, u64::MAX)
            }
            .expect("runs");
            assert_eq!(p.hash.as_slice(), &output.bytes[..], "{flags}");
        }
    }

    /// [v0.11] A `WRITE | ZEROS` job's fact counts the zero bytes of its bytes (those past the
    /// source's size included) and writes them like a WRITE job.
    #[test]
    fn zeros_job_counts_zero_bytes() {
        let src: Vec<u8> = (0..40_000u32)
            .map(|i| if i % 7 == 0 { 0 } else { i as u8 | 1 })
            .collect();
        let tree = WordTree::from_bytes(&src);
        let len = 40_100u64;
        let job = RangeJob {
            src_root: tree.root(),
            src_offset: 0,
            src_size: src.len() as u64,
            len,
            flags: WRITE | ZEROS,
            dst_root: empty_root(),
            dst_offset: 0,
        };
        let read = tree.prove_range(0, (src.len() as u64).div_ceil(32));
        let empty = WordTree::new().prove_range(0, len.div_ceil(32));
        let p = plan(job, Some(&read), Some(&empty)).expect("plan");
        let zeros = src.iter().filter(|b| **b == 0).count() + 100;
        assert_eq!(p.hash, B256::from(U256::from(zeros)));
        let mut padded = src.clone();
        padded.resize(len as usize, 0);
        assert_eq!(p.dst_result, WordTree::from_bytes(&padded).root());
        assert_eq!(p.chunks.len() as u64, len.div_ceil(MAX_CHUNK));
    }

    /// The data's span in an encoding: after the type byte and the fields before it.
    #[test]
    fn data_span_finds_the_data_item() {
        use alloy::rlp::Encodable;
        let data = vec![7u8; 300];
        // rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) of a legacy transaction.
        let mut fields = Vec::new();
        for f in [&[][..], &[1u8][..], &[0x52, 0x08][..]] {
            alloy::primitives::Bytes::copy_from_slice(f).encode(&mut fields);
        }
        Address::repeat_byte(3).encode(&mut fields);
        0u8.encode(&mut fields);
        let at = fields.len() + 3;
        alloy::primitives::Bytes::from(data.clone()).encode(&mut fields);
        for _ in 0..3 {
            1u8.encode(&mut fields);
        }
        let mut e = Vec::new();
        alloy::rlp::Header {
            list: true,
            payload_length: fields.len(),
        }
        .encode(&mut e);
        let at = at + e.len();
        e.extend_from_slice(&fields);
        assert_eq!(data_items(&e), Some(5));
        assert_eq!(data_span(&e, 5), Some((at as u64, 300)));
        assert_eq!(&e[at..at + 300], &data[..]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// [v0.12] A leaf over a long value (SPEC.md §3.10): its RLP is the prefix the L1
        /// verifier builds from the key item and the value's length (list header, key, string
        /// header), then the value; the long-leaf jobs' WRITE is into that prefix's tree and
        /// their HASH is the leaf's `keccak256(rlp(leaf))`.
        #[test]
        fn long_leaf_jobs_hash_the_leaf(
            path in proptest::collection::vec(0u8..16, 0..=64),
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 56..2_500),
        ) {
            use alloy::rlp::Encodable;
            let leaf = alloy_trie::nodes::TrieNode::Leaf(alloy_trie::nodes::LeafNode::new(
                alloy_trie::Nibbles::from_nibbles(&path),
                value.clone(),
            ));
            let mut node = Vec::new();
            leaf.encode(&mut node);
            let (v, key) = leaf_parts(&node).expect("a leaf");
            proptest::prop_assert_eq!(&v, &value);
            let mut head = Vec::new();
            alloy::rlp::Header { list: false, payload_length: value.len() }.encode(&mut head);
            let mut prefix = Vec::new();
            alloy::rlp::Header {
                list: true,
                payload_length: key.len() + head.len() + value.len(),
            }
            .encode(&mut prefix);
            prefix.extend_from_slice(key);
            prefix.extend_from_slice(&head);
            proptest::prop_assert_eq!([&prefix[..], &value[..]].concat(), node.clone());
            let tree = WordTree::from_bytes(&value);
            let n = value.len() as u64;
            let whole = tree.prove_range(0, n.div_ceil(32));
            let [write, hash] =
                prefixed_hash((tree.root(), 0, n), &whole, n, &node).expect("plans");
            proptest::prop_assert_eq!(write.job.dst_root, WordTree::from_bytes(&prefix).root());
            proptest::prop_assert_eq!(write.job.dst_offset, prefix.len() as u64);
            proptest::prop_assert_eq!(hash.hash, keccak256(&node));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// [v0.13] A receipt's L1 form (SPEC.md §5.19): its section holds each log that
        /// [`marked_logs`] marks as `u32 (len | 2^31) ‖ R_d` and every other field as the
        /// canonical section does; the jobs' HASH facts are the marked logs' hashes, and the
        /// WRITEs that build the encoding's tree end at the root of the encoding itself. The
        /// rule marks every log over `long_words` words (never one under 56 bytes), then the
        /// largest others of at least `MIN_MARKED_DATA` bytes only while what the step carries
        /// is long: it stops as soon as that is short, and leaves it long only when no other
        /// log can be marked.
        #[test]
        fn receipt_form_builds_the_encoding_tree(
            kind in 0usize..3,
            long_words in 2usize..120,
            logs in proptest::collection::vec(
                (
                    proptest::prelude::any::<[u8; 20]>(),
                    proptest::collection::vec(proptest::prelude::any::<[u8; 32]>(), 0..=4),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4000),
                ),
                1..8,
            ),
        ) {
            let logs: Vec<alloy::primitives::Log> = logs
                .into_iter()
                .map(|(a, t, d)| alloy::primitives::Log {
                    address: Address::from(a),
                    data: alloy::primitives::LogData::new_unchecked(
                        t.into_iter().map(B256::from).collect(),
                        d.into(),
                    ),
                })
                .collect();
            let r = crate::receipt::Receipt {
                tx_index: 3,
                deposit_nonce: (kind == 2).then_some(9),
                success: kind != 1,
                cumulative_gas: 1_234_567,
                logs,
            };
            let tx_type = [0u8, 2, crate::receipt::DEPOSIT_TX_TYPE][kind];
            let encoded = r.encode(tx_type).expect("a receipt type");
            let marked = marked_logs(&r, encoded.len(), long_words);
            let len = |i: usize| r.logs[i].data.data.len();
            let short = |n: usize| n.div_ceil(32) <= long_words;
            let carried = encoded.len()
                - (0..r.logs.len()).filter(|&i| marked[i]).map(len).sum::<usize>();
            for (i, &m) in marked.iter().enumerate() {
                proptest::prop_assert!(!m || len(i) >= 56);
                proptest::prop_assert!(!m || !short(len(i)) || len(i) >= MIN_MARKED_DATA);
                if len(i) >= 56 && !short(len(i)) {
                    proptest::prop_assert!(m);
                }
            }
            let chosen: Vec<usize> =
                (0..r.logs.len()).filter(|&i| marked[i] && short(len(i))).collect();
            let left: Vec<usize> = (0..r.logs.len())
                .filter(|&i| !marked[i] && len(i) >= MIN_MARKED_DATA)
                .collect();
            if !short(carried) {
                proptest::prop_assert!(left.is_empty(), "a markable log left");
            }
            if let Some(&smallest) = chosen.iter().min_by_key(|&&i| (len(i), std::cmp::Reverse(i))) {
                proptest::prop_assert!(!short(carried + len(smallest)), "one mark too many");
                proptest::prop_assert!(left.iter().all(|&i| len(i) <= len(smallest)));
            }
            let form = receipt_form(&r, &encoded, long_words);
            proptest::prop_assert_eq!(form.is_some(), marked.contains(&true));
            let Some((section, jobs)) = form else {
                return Ok(());
            };
            // The section: the canonical one with each long data's `u32 len ‖ data` a marker.
            let canonical = receipt_section(&r, &[]);
            let mut expect = canonical[..canonical.len()
                - r.logs.iter().map(|l| 28 + 32 * l.topics().len() + l.data.data.len()).sum::<usize>()]
                .to_vec();
            let mut hashes = Vec::new();
            for (l, m) in r.logs.iter().zip(&marked) {
                expect.extend_from_slice(l.address.as_slice());
                expect.extend_from_slice(&(l.topics().len() as u32).to_be_bytes());
                for t in l.topics() {
                    expect.extend_from_slice(t.as_slice());
                }
                let d = &l.data.data;
                if *m {
                    expect.extend_from_slice(&(d.len() as u32 | FACT_BIT).to_be_bytes());
                    expect.extend_from_slice(WordTree::from_bytes(d).root().as_slice());
                    hashes.push(keccak256(alloy::rlp::encode(l)));
                } else {
                    expect.extend_from_slice(&(d.len() as u32).to_be_bytes());
                    expect.extend_from_slice(d);
                }
            }
            proptest::prop_assert_eq!(&section, &expect);
            let got: Vec<B256> = jobs.iter().filter(|j| j.job.flags == HASH).map(|j| j.hash).collect();
            proptest::prop_assert_eq!(got, hashes);
            let last = jobs.last().expect("a write");
            proptest::prop_assert_eq!(last.job.flags, WRITE);
            proptest::prop_assert_eq!(last.dst_result, WordTree::from_bytes(&encoded).root());
        }
    }

    /// A WRITE job's chunks chain: each destination proof is under the root the previous left,
    /// and the result is the root of the copied string.
    #[test]
    fn write_job_chunks_chain_to_the_copied_root() {
        let src: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8 + 1).collect();
        let source = WordTree::from_bytes(&src);
        let mut dest = WordTree::from_bytes(&[9u8; 100]);
        let (so, dofs, len) = (5u64, 77u64, 39_000u64);
        let dfirst = dofs / 32;
        let dcount = (dofs + len).div_ceil(32) - dfirst;
        let job = RangeJob {
            src_root: source.root(),
            src_offset: so,
            src_size: src.len() as u64,
            len,
            flags: WRITE | HASH,
            dst_root: dest.root(),
            dst_offset: dofs,
        };
        let sfirst = so / 32;
        let scount = (so + len).div_ceil(32) - sfirst;
        let p = plan(
            job,
            Some(&source.prove_range(sfirst, scount)),
            Some(&dest.prove_range(dfirst, dcount)),
        )
        .expect("plan");
        assert_eq!(p.chunks.len(), 39_000u64.div_ceil(MAX_HASH_CHUNK) as usize);
        assert_eq!(p.hash, keccak256(&src[5..39_005]));
        let mut bytes = vec![9u8; 100];
        bytes.resize((dofs + len) as usize, 0);
        bytes[dofs as usize..].copy_from_slice(&src[5..39_005]);
        dest = WordTree::from_bytes(&bytes);
        assert_eq!(p.dst_result, dest.root());
    }
}
