//! [v0.15] The `LOGS` range job (SPEC.md §3.4.1, §5.19): a receipt's whole log list as one fact,
//! so that the block end's insertion of a receipt of many logs no longer grows with them.
//!
//! The job's bytes are `L`, the payload of the receipt's log list (the logs' RLP encodings one
//! after the other), under its word tree `R_L`: `(R_L, 0, len(L), len(L), LOGS, 0, 0)`. Its
//! chunks fold, in order, each log into the state `logs_root ‖ u256 count ‖ bloom` (320 bytes,
//! [`LogsState`]): the log chain `keccak256(0x0a ‖ root ‖ keccak256(rlp(log)))` (§3.7.5), the
//! count, and the log's bloom bits. The oracle keeps the state's hash between chunks and each
//! chunk passes the state whole (as an FLZ chunk does); the last chunk's state hash is the fact's
//! `hash`. A chunk is either whole logs (at most [`MAX_LOGS_CHUNK`] bytes, read whole and each
//! hashed natively) or one log longer than that, of which the chunk reads the first
//! [`LOGS_HEAD`] bytes (its address and topics, for the bloom) and takes the hash from the HASH
//! job's fact over its bytes `(R_L, done, len(L), n)`.

use super::{Chunk, JobPlan, RangeJob, encode_range, plan, read_proven};
use crate::merkle::WordTree;
use alloy::primitives::{Address, B256, Bloom, BloomInput, U256, keccak256};

/// A job flag, alone: the fact's `hash` is `keccak256(logs_root ‖ u256 count ‖ bloom)` of the
/// logs whose RLP encodings, one after the other, are the job's bytes. Its chunks go through
/// `RangeOracle.absorbLogs(job, n, src, state)`, with the state in [`Chunk::dst`].
pub const LOGS: u8 = 64;
/// The most bytes of whole logs one chunk of a LOGS job absorbs (`RangeOracle.MAX_LOGS_CHUNK`);
/// a log longer than this is a chunk of its own, hashed by a HASH job.
pub const MAX_LOGS_CHUNK: u64 = 6_144;
/// The bytes of a long log a chunk reads: its list header, address, topics and data header
/// take at most 5 + 21 + 2 + 132 + 5 = 165.
pub const LOGS_HEAD: u64 = 256;
/// Bytes of an encoded [`LogsState`].
pub const LOGS_STATE_LEN: usize = 320;
/// The prover's rule (SPEC.md §5.19): a receipt with more logs than this takes its logs by the
/// LOGS fact in the insertion's L1 form; one with fewer marks its long log data as in v0.13
/// (at most this many marked logs, about 55.6k gas each).
pub const MANY_LOGS: usize = 8;
/// The most topics a log has (LOG4).
const MAX_TOPICS: usize = 4;

/// A LOGS chunk or its input that the oracle refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// The bytes at this offset of the chunk are not a log's canonical RLP encoding, or a log
    /// passes the chunk's end.
    #[error("bad log at byte {0}")]
    BadLog(u64),
    /// The chunk's size does not fit where the job stands.
    #[error("bad chunk of {n} bytes at {done}")]
    BadChunk {
        /// Bytes absorbed before the chunk.
        done: u64,
        /// The chunk's bytes.
        n: u64,
    },
    /// The chunk's state is not the one the previous chunk left.
    #[error("bad LOGS state")]
    BadState,
    /// The chunk's source multiproof is not that of its words under the job's root.
    #[error("bad source proof")]
    BadSource,
    /// A long log's HASH fact is missing.
    #[error("missing HASH fact {0}")]
    HashMissing(B256),
}

/// The running state of a LOGS job: the log chain, the number of logs and their bloom.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsState {
    /// The log chain over the logs so far (§3.7.5), zero before any.
    pub root: B256,
    /// The logs so far.
    pub count: u64,
    /// The OR of their blooms.
    pub bloom: Bloom,
}

impl LogsState {
    /// `logs_root ‖ u256 count ‖ bloom`, as the oracle hashes and a chunk passes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LOGS_STATE_LEN);
        out.extend_from_slice(self.root.as_slice());
        out.extend_from_slice(&U256::from(self.count).to_be_bytes::<32>());
        out.extend_from_slice(self.bloom.as_slice());
        out
    }

    /// The state from its encoding, if it has the length of one.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != LOGS_STATE_LEN {
            return None;
        }
        let count = U256::from_be_slice(&b[32..64]);
        Some(Self {
            root: B256::from_slice(&b[..32]),
            count: u64::try_from(count).ok()?,
            bloom: Bloom::from_slice(&b[64..]),
        })
    }

    /// `keccak256` of [`LogsState::encode`]: the fact's `hash` once every log is in.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Folds in the log with `head` and hash `log_hash`.
    fn add(&mut self, head: &LogHead, log_hash: B256) {
        self.root = keccak256([&[0x0a][..], self.root.as_slice(), log_hash.as_slice()].concat());
        self.count += 1;
        self.bloom.accrue(BloomInput::Raw(head.address.as_slice()));
        for t in &head.topics {
            self.bloom.accrue(BloomInput::Raw(t.as_slice()));
        }
    }
}

/// A log's fields but its data, and where its encoding ends.
struct LogHead {
    address: Address,
    topics: Vec<B256>,
    /// Offset after the log's encoding.
    end: usize,
}

/// An RLP header at `at` of `b` (`list`: 0xc0-based, else a string of more than one byte or
/// none): its payload's offset and length. Canonical only: a long header for a payload of at
/// least 56 bytes, its length in at most 4 bytes without leading zero.
fn header(b: &[u8], at: usize, list: bool) -> Option<(usize, usize)> {
    let h = *b.get(at)?;
    let base = if list { 0xc0 } else { 0x80 };
    if h < base || (!list && h >= 0xc0) {
        return None;
    }
    let short = h - base;
    if short <= 55 {
        return Some((at + 1, usize::from(short)));
    }
    let n = usize::from(short - 55);
    if n > 4 || *b.get(at + 1)? == 0 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(at + 1 + i)?);
    }
    (len >= 56).then_some((at + 1 + n, len))
}

/// The log whose canonical encoding `rlp([address, [topic…], data])` starts at `at` of `b`, of
/// which `b` may hold only the head (through the data's header): its address, topics and end
/// (which may pass `b`'s end). `None` for anything else.
fn log_head(b: &[u8], at: usize) -> Option<LogHead> {
    let (p, plen) = header(b, at, true)?;
    let end = p + plen;
    if *b.get(p)? != 0x94 {
        return None;
    }
    let address = Address::from_slice(b.get(p + 1..p + 21)?);
    let (tp, tlen) = header(b, p + 21, true)?;
    if tlen % 33 != 0 || tlen / 33 > MAX_TOPICS {
        return None;
    }
    let mut topics = Vec::new();
    for k in 0..tlen / 33 {
        let q = tp + 33 * k;
        if *b.get(q)? != 0xa0 {
            return None;
        }
        topics.push(B256::from_slice(b.get(q + 1..q + 33)?));
    }
    let d = tp + tlen;
    let first = *b.get(d)?;
    let data_end = if first < 0x80 {
        d + 1
    } else {
        let (dp, dlen) = header(b, d, false)?;
        // A one-byte string under 0x80 is its own encoding.
        if dlen == 1 && *b.get(dp)? < 0x80 {
            return None;
        }
        dp + dlen
    };
    (data_end == end).then_some(LogHead {
        address,
        topics,
        end,
    })
}

/// The chunk of whole logs `bytes` from `state` (the oracle's `absorbLogs` for a chunk of at most
/// [`MAX_LOGS_CHUNK`] bytes): every log must end in the chunk, the last at its end.
pub fn absorb_logs(state: &LogsState, bytes: &[u8]) -> Result<LogsState, LogsError> {
    let mut s = state.clone();
    let mut at = 0;
    while at < bytes.len() {
        let head = log_head(bytes, at)
            .filter(|h| h.end <= bytes.len())
            .ok_or(LogsError::BadLog(at as u64))?;
        s.add(&head, keccak256(&bytes[at..head.end]));
        at = head.end;
    }
    Ok(s)
}

/// The chunk of one long log of `n` bytes whose first bytes are `head` (at most
/// [`LOGS_HEAD`]) and whose encoding hashes to `log_hash` (the HASH job's fact).
pub fn absorb_long_log(
    state: &LogsState,
    head: &[u8],
    n: u64,
    log_hash: B256,
) -> Result<LogsState, LogsError> {
    let h = log_head(head, 0)
        .filter(|h| h.end as u64 == n)
        .ok_or(LogsError::BadLog(0))?;
    let mut s = state.clone();
    s.add(&h, log_hash);
    Ok(s)
}

/// The LOGS fact of the log list payload `l` computed in full: its state after every log, or
/// the offset of the first byte that is not a log.
pub fn logs_fact(l: &[u8]) -> Result<LogsState, LogsError> {
    absorb_logs(&LogsState::default(), l)
}

/// The LOGS job of the log list payload `l`: `(R_L, 0, len(L), len(L), LOGS, 0, 0)`.
pub fn logs_job(l: &[u8]) -> RangeJob {
    let n = l.len() as u64;
    RangeJob {
        src_root: WordTree::root_of(l),
        src_offset: 0,
        src_size: n,
        len: n,
        flags: LOGS,
        dst_root: B256::ZERO,
        dst_offset: 0,
    }
}

/// The HASH job of the long log at `[at, at + n)` of `l`, whose fact a LOGS chunk reads.
pub fn long_log_job(root: B256, len_l: u64, at: u64, n: u64) -> RangeJob {
    RangeJob {
        src_root: root,
        src_offset: at,
        src_size: len_l,
        len: n,
        flags: super::HASH,
        dst_root: B256::ZERO,
        dst_offset: 0,
    }
}

/// The jobs of the LOGS fact of `l` in the order they run: a HASH job for each log longer than
/// [`MAX_LOGS_CHUNK`], then the LOGS job, whose chunks are whole logs packed up to
/// [`MAX_LOGS_CHUNK`] bytes and each long log alone. `None` if `l` is empty or not logs.
pub fn logs_plan(l: &[u8]) -> Option<Vec<JobPlan>> {
    if l.is_empty() {
        return None;
    }
    let tree = WordTree::from_bytes(l);
    let len = l.len() as u64;
    let words = |from: u64, to: u64| tree.prove_range(from / 32, to.div_ceil(32) - from / 32);
    let mut jobs = Vec::new();
    let mut chunks = Vec::new();
    let mut state = LogsState::default();
    let mut at = 0usize;
    while at < l.len() {
        let done = at;
        let mut end = at;
        let mut heads = 0;
        // Whole logs up to MAX_LOGS_CHUNK bytes, or one longer log alone.
        while end < l.len() {
            let h = log_head(l, end)?;
            if h.end > l.len() {
                return None;
            }
            if (h.end - done) as u64 > MAX_LOGS_CHUNK {
                if heads == 0 {
                    end = h.end;
                }
                break;
            }
            end = h.end;
            heads += 1;
        }
        let n = (end - done) as u64;
        let before = if done == 0 {
            Vec::new()
        } else {
            state.encode()
        };
        let src;
        if n > MAX_LOGS_CHUNK {
            let job = long_log_job(tree.root(), len, done as u64, n);
            let hashed = plan(job, Some(&words(done as u64, end as u64)), None)?;
            let head_end = done as u64 + LOGS_HEAD;
            state = absorb_long_log(&state, &l[done..head_end as usize], n, hashed.hash).ok()?;
            src = encode_range(&words(done as u64, head_end));
            jobs.push(hashed);
        } else {
            state = absorb_logs(&state, &l[done..end]).ok()?;
            src = encode_range(&words(done as u64, end as u64));
        }
        chunks.push(Chunk {
            n,
            src,
            dst: before,
        });
        at = end;
    }
    jobs.push(JobPlan {
        job: logs_job(l),
        chunks,
        hash: state.hash(),
        dst_result: B256::ZERO,
    });
    Some(jobs)
}

/// The oracle's LOGS job in Rust, to check chunks as `RangeOracle.absorbLogs` does: where the
/// job stands and the hash of its state; `hash_fact` answers a long log's HASH job.
#[derive(Clone, Debug)]
pub struct LogsRun {
    job: RangeJob,
    done: u64,
    state: B256,
}

impl LogsRun {
    /// A run of `job` (a LOGS job) before its first chunk.
    pub fn new(job: RangeJob) -> Self {
        Self {
            state: LogsState::default().hash(),
            job,
            done: 0,
        }
    }

    /// The fact's `hash` once every byte is absorbed.
    pub fn fact(&self) -> Option<B256> {
        (self.done == self.job.len).then_some(self.state)
    }

    /// Absorbs `chunk` as the oracle does, or refuses it.
    pub fn absorb(
        &mut self,
        chunk: &Chunk,
        hash_fact: impl Fn(&RangeJob) -> Option<B256>,
    ) -> Result<(), LogsError> {
        let (done, n, len) = (self.done, chunk.n, self.job.len);
        if n == 0 || done + n > len {
            return Err(LogsError::BadChunk { done, n });
        }
        let state = if done == 0 {
            if !chunk.dst.is_empty() {
                return Err(LogsError::BadState);
            }
            LogsState::default()
        } else {
            LogsState::decode(&chunk.dst)
                .filter(|s| s.hash() == self.state)
                .ok_or(LogsError::BadState)?
        };
        let next = if n > MAX_LOGS_CHUNK {
            let head = self.read(done, done + LOGS_HEAD, &chunk.src)?;
            let job = long_log_job(self.job.src_root, self.job.src_size, done, n);
            let h = hash_fact(&job).ok_or_else(|| LogsError::HashMissing(job.id()))?;
            absorb_long_log(&state, &head, n, h)?
        } else {
            absorb_logs(&state, &self.read(done, done + n, &chunk.src)?)?
        };
        self.state = next.hash();
        self.done = done + n;
        Ok(())
    }

    /// The job's bytes `[from, to)` from the chunk's source multiproof `src`, which must prove
    /// exactly their words.
    fn read(&self, from: u64, to: u64, src: &[u8]) -> Result<Vec<u8>, LogsError> {
        read_proven(src, self.job.src_root, from, to).ok_or(LogsError::BadSource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, Log};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn log() -> impl Strategy<Value = Log> {
        (
            any::<[u8; 20]>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..=4),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..3),
                prop::collection::vec(any::<u8>(), 0..300),
                prop::collection::vec(any::<u8>(), 8_000..12_000),
            ],
        )
            .prop_map(|(a, t, d)| {
                Log::new_unchecked(
                    Address::from(a),
                    t.into_iter().map(B256::from).collect(),
                    Bytes::from(d),
                )
            })
    }

    fn payload(logs: &[Log]) -> Vec<u8> {
        logs.iter().flat_map(alloy::rlp::encode).collect()
    }

    /// Runs `jobs` (HASH jobs first, the LOGS job last) through [`LogsRun`]: its fact.
    fn run(jobs: &[JobPlan]) -> Result<Option<B256>, LogsError> {
        let (logs_plan, hashes) = jobs.split_last().expect("the LOGS job");
        let facts: HashMap<B256, B256> = hashes.iter().map(|j| (j.job.id(), j.hash)).collect();
        let mut r = LogsRun::new(logs_plan.job.clone());
        for c in &logs_plan.chunks {
            r.absorb(c, |j| facts.get(&j.id()).copied())?;
        }
        Ok(r.fact())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The fact in chunks is the one in full, and its root, count and bloom are the
        /// receipt's (the log chain of §3.7.5, alloy's bloom); every tampered chunk is refused
        /// or gives another fact.
        #[test]
        fn logs_fact_in_chunks_is_the_receipts(
            logs in prop::collection::vec(log(), 1..80),
            pick in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
        ) {
            let l = payload(&logs);
            let jobs = logs_plan(&l).expect("logs plan");
            let fact = logs_fact(&l).expect("logs");
            let root = logs.iter().fold(B256::ZERO, crate::world::log_link);
            prop_assert_eq!(&fact, &LogsState {
                root,
                count: logs.len() as u64,
                bloom: alloy::primitives::logs_bloom(logs.iter()),
            });
            let last = jobs.last().expect("LOGS");
            prop_assert_eq!(last.hash, fact.hash());
            prop_assert_eq!(run(&jobs), Ok(Some(fact.hash())));
            for c in &last.chunks {
                prop_assert!(c.n <= MAX_LOGS_CHUNK || jobs.len() > 1);
            }

            // A wrong state (count, bloom, root) in a later chunk.
            let chunks = &last.chunks;
            if chunks.len() > 1 {
                let k = 1 + pick.index(chunks.len() - 1);
                let mut bad = jobs.clone();
                let st = &mut bad.last_mut().unwrap().chunks[k].dst;
                let i = byte.index(LOGS_STATE_LEN);
                st[i] ^= 1;
                prop_assert_eq!(run(&bad), Err(LogsError::BadState));
            }
            // A dropped log: the payload without it has another root (so another job), and
            // the chunks of `l` under that job's root are refused.
            if logs.len() > 1 {
                let i = pick.index(logs.len());
                let mut fewer = logs.clone();
                fewer.remove(i);
                let other = logs_plan(&payload(&fewer)).expect("plan");
                let mut mixed = other.clone();
                mixed.last_mut().unwrap().chunks = last.chunks.clone();
                prop_assert!(run(&mixed).is_err() || run(&mixed) == Ok(None));
                prop_assert_ne!(other.last().unwrap().hash, fact.hash());
                // Reordered: two logs swapped give another fact unless they are equal.
                let j = (i + 1) % logs.len();
                let mut swapped = logs.clone();
                swapped.swap(i, j);
                if logs[i] != logs[j] {
                    prop_assert_ne!(logs_fact(&payload(&swapped)).unwrap().hash(), fact.hash());
                }
            }
            // A chunk's source word changed: its proof fails.
            let k = pick.index(chunks.len());
            let mut bad = jobs.clone();
            let src = &mut bad.last_mut().unwrap().chunks[k].src;
            let i = 8 + byte.index(src.len() - 8);
            src[i] ^= 0x40;
            prop_assert!(run(&bad).is_err());
        }
    }

    #[test]
    fn non_canonical_logs_are_refused() {
        let one = alloy::rlp::encode(Log::new_unchecked(
            Address::repeat_byte(1),
            vec![B256::repeat_byte(2)],
            Bytes::from(vec![5u8]),
        ));
        assert!(logs_fact(&one).is_ok());
        // A one-byte string under 0x80 with a header.
        let mut padded = one.clone();
        let at = padded.len() - 1;
        padded.insert(at, 0x81);
        padded[0] += 1;
        assert_eq!(logs_fact(&padded), Err(LogsError::BadLog(0)));
        // A log cut short, and a trailing byte.
        assert!(logs_fact(&one[..one.len() - 1]).is_err());
        let mut more = one.clone();
        more.push(0x80);
        assert!(logs_fact(&more).is_err());
        // Five topics.
        let five = alloy::rlp::encode(Log::new_unchecked(
            Address::repeat_byte(1),
            vec![B256::repeat_byte(2); 5],
            Bytes::new(),
        ));
        assert_eq!(logs_fact(&five), Err(LogsError::BadLog(0)));
    }
}
