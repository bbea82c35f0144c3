//! The `FLZ` range job (SPEC.md §3.4.1, v0.11): the FastLZ level 1 compressed length of a job's
//! bytes, the size the OP Stack's L1 data fee (Fjord and later) prices a transaction's encoding
//! by, computed on L1 in chunks.
//!
//! FastLZ is a greedy scan with a hash table of 8,192 earlier positions; a match reaches at most
//! 8,191 bytes back. The oracle keeps the whole state between chunks as one hash and each chunk
//! passes it back whole ([`FlzState::encode`], 32,960 bytes): passing 32 KiB of calldata costs far
//! less than storing the table word by word. A chunk of `n` bytes from `done` runs, in order,
//! every *step* of the greedy process whose *position* lies in `[done, done + n)`:
//!
//! - a *scan* step at `idx` (its position) hashes the three bytes at `idx`, swaps the table
//!   entry, and either moves on to `idx + 1` or, when the entry is a match less than 8,192 back
//!   with the same three bytes and `idx + 1 < limit`, starts a match (emitting the pending
//!   literal run); a candidate at `idx + 1 ≥ limit` ends the process, as in the reference;
//! - a *compare* step at a byte `c` of a match started at `idx` (`c ≥ idx + 3`, its position)
//!   compares `c` with the byte the same distance back; a difference, or `c + 1` reaching the
//!   compare bound `limit + 9`, ends the match: its length is emitted, the table takes the
//!   positions `c − 2` and `c − 1`, and scanning resumes at `c`.
//!
//! Positions never decrease, so the steps a chunk runs are the consecutive ones in its window, and
//! a match longer than a chunk continues in the next one (the state holds a match in progress).
//! A chunk reads the job's bytes `[max(done, 8191) − 8191, min(done + n + 2, len))`: matches reach
//! 8,191 back, a scan step reads two bytes past its position, the end of a match one. The last
//! chunk (`done + n = len`) ends the process (no step has a position past `len − 5`) and adds the
//! last literal run. Every chunk size from 1 to [`MAX_FLZ_CHUNK`] gives the same length.

use super::{Chunk, JobPlan, RangeJob, encode_range, sub_range};
use crate::merkle::RangeProof;
use alloy::primitives::{B256, U256};

/// A job flag, alone: the fact's `hash` is `bytes32(uint256(len))` with `len` the FastLZ level 1
/// compressed length of the job's bytes (op-revm's `flz_compress_len`). Its chunks go through
/// `RangeOracle.absorbFlz(job, n, src, state)`, with the state in [`Chunk::dst`].
pub const FLZ: u8 = 32;
/// The most bytes (positions) one chunk of an FLZ job covers (`RangeOracle.MAX_FLZ_CHUNK`).
pub const MAX_FLZ_CHUNK: u64 = 6_144;
/// Bytes before a chunk's first position that its steps may read (the farthest match).
pub const FLZ_BACK: u64 = 8_191;
/// Bytes after a chunk's last position that its steps may read.
pub const FLZ_AHEAD: u64 = 2;
/// Entries of the hash table.
const TABLE: usize = 8_192;
/// Words before the table in the state's encoding.
const HEAD_WORDS: usize = 6;
/// Bytes of an encoded state: six words (`idx`, `anchor`, `size`, `matching`, `from`,
/// `compared`), then the table, each entry a big-endian u32.
pub const FLZ_STATE_LEN: usize = 32 * HEAD_WORDS + 4 * TABLE;
/// An FLZ job's length bound: the reference's positions are u32.
pub const FLZ_MAX_LEN: u64 = u32::MAX as u64;

/// The state of the greedy process between two chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlzState {
    /// The 8,192 positions, zero where none was stored (read as position 0, as the reference).
    table: Vec<u32>,
    /// The next scan position, or the start of the match in progress.
    idx: u64,
    /// The start of the pending literal run.
    anchor: u64,
    /// The compressed length so far (literal runs before `anchor`, matches).
    size: u64,
    /// Whether a match is in progress.
    matching: bool,
    /// The match's earlier position (its source).
    from: u64,
    /// Bytes from `idx + 3` found equal so far.
    compared: u64,
}

impl Default for FlzState {
    fn default() -> Self {
        Self::new()
    }
}

/// The job's bytes `[lo, lo + bytes.len())`: what one chunk reads.
struct Window<'a> {
    lo: u64,
    bytes: &'a [u8],
}

impl Window<'_> {
    fn byte(&self, i: u64) -> Option<u8> {
        let at = usize::try_from(i.checked_sub(self.lo)?).ok()?;
        self.bytes.get(at).copied()
    }

    /// The three bytes at `i`, little-endian.
    fn u24(&self, i: u64) -> Option<u32> {
        Some(
            u32::from(self.byte(i)?)
                | u32::from(self.byte(i + 1)?) << 8
                | u32::from(self.byte(i + 2)?) << 16,
        )
    }
}

fn hash(v: u32) -> usize {
    ((u64::from(v) * 2_654_435_769) >> 19) as usize & 0x1fff
}

fn literals(r: u64, size: u64) -> u64 {
    let size = size + 0x21 * (r / 0x20);
    match r % 0x20 {
        0 => size,
        rest => size + rest + 1,
    }
}

fn flz_match(l: u64, size: u64) -> u64 {
    let l = l - 1;
    let size = size + 3 * (l / 262);
    if l % 262 >= 6 { size + 3 } else { size + 2 }
}

/// The scan bound of a job of `len` bytes: no scan step at or past it.
fn limit_of(len: u64) -> u64 {
    len.saturating_sub(13)
}

impl FlzState {
    /// The state before the first chunk: scanning from position 2, an empty table.
    pub fn new() -> Self {
        Self {
            table: vec![0; TABLE],
            idx: 2,
            anchor: 0,
            size: 0,
            matching: false,
            from: 0,
            compared: 0,
        }
    }

    /// The encoding the oracle hashes and a chunk passes ([`FLZ_STATE_LEN`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FLZ_STATE_LEN);
        for v in [
            self.idx,
            self.anchor,
            self.size,
            u64::from(self.matching),
            self.from,
            self.compared,
        ] {
            out.extend_from_slice(&U256::from(v).to_be_bytes::<32>());
        }
        for e in &self.table {
            out.extend_from_slice(&e.to_be_bytes());
        }
        out
    }

    fn set(&mut self, w: &Window<'_>, at: u64) -> Option<()> {
        self.table[hash(w.u24(at)?)] = at as u32;
        Some(())
    }

    /// Runs every step whose position is below `end`, reading only `w`; `None` if a step would
    /// read outside it (the window rule of the module's doc broken).
    fn run(&mut self, w: &Window<'_>, end: u64, len: u64) -> Option<()> {
        let limit = limit_of(len);
        let cmp_end = limit + 9;
        loop {
            if self.matching {
                let q = self.idx + 3;
                let stop = cmp_end.min(end);
                let cur = q + self.compared;
                if cur >= stop {
                    return Some(());
                }
                let p = self.from + 3 + self.compared;
                let mut k = 0;
                while cur + k < stop && w.byte(p + k)? == w.byte(cur + k)? {
                    k += 1;
                }
                let l = if cur + k < stop {
                    self.compared + k + 1
                } else if stop < cmp_end {
                    self.compared = stop - q;
                    return Some(());
                } else {
                    cmp_end - q
                };
                self.size = flz_match(l, self.size);
                let t = self.idx + l;
                self.set(w, t)?;
                self.set(w, t + 1)?;
                self.idx = t + 2;
                self.anchor = self.idx;
                self.matching = false;
                self.from = 0;
                self.compared = 0;
            }
            let scan_end = limit.min(end);
            let r = loop {
                if self.idx >= scan_end {
                    return Some(());
                }
                let seq = w.u24(self.idx)?;
                let h = hash(seq);
                let r = u64::from(self.table[h]);
                self.table[h] = self.idx as u32;
                if self.idx - r < 8192 && seq == w.u24(r)? {
                    break r;
                }
                self.idx += 1;
            };
            if self.idx + 1 >= limit {
                // The reference ends here without emitting the match.
                self.idx += 1;
                return Some(());
            }
            if self.idx > self.anchor {
                self.size = literals(self.idx - self.anchor, self.size);
            }
            self.matching = true;
            self.from = r;
            self.compared = 0;
        }
    }

    /// The compressed length of a job of `len` bytes once every step ran: the last literal run
    /// added.
    pub fn length(&self, len: u64) -> u64 {
        literals(len - self.anchor, self.size)
    }
}

/// The bytes `[lo, hi)` a chunk of `n` bytes from `done` reads, for a job of `len` bytes.
pub fn flz_window(done: u64, n: u64, len: u64) -> (u64, u64) {
    (
        done.saturating_sub(FLZ_BACK),
        (done + n + FLZ_AHEAD).min(len),
    )
}

/// The FastLZ level 1 compressed length of `input` run in chunks of `chunk` bytes, each step
/// reading only its chunk's window (`None` if one would not, or `chunk` is 0).
pub fn flz_length_in_chunks(input: &[u8], chunk: u64) -> Option<u64> {
    let len = input.len() as u64;
    if chunk == 0 || len == 0 {
        return None;
    }
    let mut state = FlzState::new();
    let mut done = 0;
    while done < len {
        let n = chunk.min(len - done);
        let (lo, hi) = flz_window(done, n, len);
        let w = Window {
            lo,
            bytes: &input[lo as usize..hi as usize],
        };
        state.run(&w, done + n, len)?;
        done += n;
    }
    Some(state.length(len))
}

/// The chunks of an FLZ job (`job.flags == FLZ`), given a range multiproof of every source byte
/// it reads below its size (`source`); `None` if it does not cover the job or the job is not a
/// valid FLZ job. Each chunk is [`MAX_FLZ_CHUNK`] bytes but the last; its `src` proves the source
/// words of its window ([`flz_window`]), its `dst` is the state before it (empty before the
/// first), and the plan's `hash` is the compressed length.
pub fn flz_plan(job: RangeJob, source: Option<&RangeProof>) -> Option<JobPlan> {
    flz_plan_sized(job, source, MAX_FLZ_CHUNK)
}

/// [`flz_plan`] with chunks of `most` bytes but the last (1 to [`MAX_FLZ_CHUNK`]): any split
/// gives the same fact, each chunk its own states.
pub fn flz_plan_sized(job: RangeJob, source: Option<&RangeProof>, most: u64) -> Option<JobPlan> {
    if !(1..=MAX_FLZ_CHUNK).contains(&most)
        || job.flags != FLZ
        || job.len == 0
        || job.len > FLZ_MAX_LEN
        || job.dst_root != B256::ZERO
        || job.dst_offset != 0
    {
        return None;
    }
    let len = job.len;
    let mut state = FlzState::new();
    let mut chunks = Vec::new();
    let mut done = 0u64;
    while done < len {
        let n = most.min(len - done);
        let (lo, hi) = flz_window(done, n, len);
        let from = job.src_offset + lo;
        let to = (job.src_offset + hi).min(job.src_size);
        let mut bytes = vec![0u8; (hi - lo) as usize];
        let mut src = Vec::new();
        if from < to {
            let s = source?;
            let first = from / 32;
            let sub = sub_range(s, first, to.div_ceil(32) - first)?;
            bytes[..(to - from) as usize].copy_from_slice(&super::bytes_of(&sub, from, to));
            src = encode_range(&sub);
        }
        let before = if done == 0 {
            Vec::new()
        } else {
            state.encode()
        };
        state.run(&Window { lo, bytes: &bytes }, done + n, len)?;
        chunks.push(Chunk {
            n,
            src,
            dst: before,
        });
        done += n;
    }
    Some(JobPlan {
        job,
        chunks,
        hash: B256::from(U256::from(state.length(len))),
        dst_result: B256::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::WordTree;

    /// op-revm's size estimate inverted where it is linear in the length (lengths over 170).
    fn op_revm_length(input: &[u8]) -> Option<u64> {
        let est = op_revm::estimate_tx_compressed_size(input);
        (est > 100_000_000).then(|| (est + 42_585_600) / 836_500)
    }

    fn inputs() -> Vec<Vec<u8>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        };
        let mut mixed = noise(20_000);
        for i in (0..20_000).step_by(1_000) {
            let run = mixed[i..i + 100].to_vec();
            mixed[i + 300..i + 400].copy_from_slice(&run);
        }
        vec![
            vec![0; 1_000],
            vec![42; 1_000],
            vec![0xfa, 0xca, 0xde],
            vec![7; 40_000],
            (0..40_000u32).map(|i| (i % 7) as u8).collect(),
            noise(40_000),
            mixed,
        ]
    }

    /// Every chunk size gives the length of one chunk, and op-revm's (op-revm's own vectors: a
    /// thousand zeros or 42s are 21, FACADE is 4).
    #[test]
    fn chunk_sizes_agree_with_op_revm() {
        for input in inputs() {
            let whole = flz_length_in_chunks(&input, u64::MAX).expect("one chunk");
            if let Some(want) = op_revm_length(&input) {
                assert_eq!(whole, want, "{} bytes", input.len());
            }
            for chunk in [1, 2, 3, 5, 31, 100, 8_191, 8_192, 10_000, MAX_FLZ_CHUNK] {
                assert_eq!(
                    flz_length_in_chunks(&input, chunk),
                    Some(whole),
                    "{} bytes in chunks of {chunk}",
                    input.len()
                );
            }
        }
        assert_eq!(flz_length_in_chunks(&[0; 1_000], 7), Some(21));
        assert_eq!(flz_length_in_chunks(&[42; 1_000], 7), Some(21));
        assert_eq!(flz_length_in_chunks(&[0xfa, 0xca, 0xde], 1), Some(4));
    }

    /// A plan's chunks cover the job, carry the state each chunk starts from, and give the
    /// length; a job that is not FLZ alone has no plan.
    #[test]
    fn plan_carries_states_and_gives_the_length() {
        let input: Vec<u8> = (0..50_000u32).map(|i| ((i * 31) % 251) as u8).collect();
        let mut src = vec![0xeeu8; 5];
        src.extend_from_slice(&input);
        let tree = WordTree::from_bytes(&src);
        let job = RangeJob {
            src_root: tree.root(),
            src_offset: 5,
            src_size: src.len() as u64,
            len: 50_000,
            flags: FLZ,
            dst_root: B256::ZERO,
            dst_offset: 0,
        };
        let read = tree.prove_range(0, (src.len() as u64).div_ceil(32));
        let p = flz_plan(job.clone(), Some(&read)).expect("plan");
        assert_eq!(p.chunks.len() as u64, 50_000u64.div_ceil(MAX_FLZ_CHUNK));
        assert!(p.chunks[0].dst.is_empty());
        assert!(p.chunks[1..].iter().all(|c| c.dst.len() == FLZ_STATE_LEN));
        let want = flz_length_in_chunks(&input, u64::MAX).expect("length");
        assert_eq!(p.hash, B256::from(U256::from(want)));
        assert_eq!(op_revm_length(&input), Some(want));
        for bad in [
            RangeJob {
                flags: FLZ | super::super::HASH,
                ..job.clone()
            },
            RangeJob {
                dst_offset: 1,
                ..job.clone()
            },
        ] {
            assert!(flz_plan(bad, Some(&read)).is_none());
        }
    }
}
