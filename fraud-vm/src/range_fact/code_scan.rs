//! [v0.14] The code fact in chunks (SPEC.md §3.4.1 "The code fact"): `absorbCode(code)` takes
//! the whole code in one L1 transaction, up to 5.9M gas for 49,152 bytes dense in PUSHes (and
//! 2M of calldata floor alone), so the code fact is also built over several transactions, each
//! under 1M gas:
//!
//! 1. the HASH job of the code's bytes under its word-tree root `R_c` (`(R_c, 0, len, len,
//!    HASH, 0, 0)`, [`super::plan`]'s chunks): its fact is `keccak256(code)`;
//! 2. `RangeOracle.absorbCodeChunk(state, chunk)` for each [`CODE_CHUNK`] bytes of the code in
//!    order: the chunk's JUMPDEST scan from the PUSH data the previous chunk left into it (the
//!    *carry*), and the roots of its subtrees of the code's and the bitmap's word trees, kept
//!    in a *scan state* the oracle stores by its hash; the last chunk joins the roots into `R_c`
//!    and `R_j`, reads the code's hash from the HASH job's fact, and keeps the same code fact as
//!    `absorbCode`.

use super::{HASH, JobPlan, RangeJob, jumpdest_bitmap, plan};
use crate::merkle::{WordTree, hash_pair};
use alloy::primitives::{B256, U256};

/// Code bytes one `absorbCodeChunk` scans, all but the last (`RangeOracle.CODE_CHUNK`): 128
/// words, a subtree of height 7 of the code's word tree and one of height 4 (512 bytes) of the
/// bitmap's.
pub const CODE_CHUNK: usize = 4_096;
/// Bytes of a scan state before its roots: `len`, `done`, `carry`, each a 32-byte word.
pub const SCAN_HEAD: usize = 96;

/// One `absorbCodeChunk(state, chunk)` transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChunk {
    /// The scan state the chunk starts from: `uint256 len ‖ uint256 done ‖ uint256 carry ‖
    /// bytes32[k] codeRoots ‖ bytes32[k] bitmapRoots`, `k = done / CODE_CHUNK`.
    pub state: Vec<u8>,
    /// The code's bytes `[done, min(done + CODE_CHUNK, len))`.
    pub code: Vec<u8>,
}

/// The transactions that establish a code's fact in chunks: the HASH job's, then the scan's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChunks {
    /// The HASH job of the code's bytes under `R_c`; its fact's hash is `keccak256(code)`.
    pub hash_job: JobPlan,
    /// The scan's chunks, in order; the last one keeps the code fact.
    pub chunks: Vec<CodeChunk>,
}

/// The chunked transactions of `code`'s fact (SPEC.md §3.4.1 [v0.14]); `None` for empty code.
pub fn code_chunks(code: &[u8]) -> Option<CodeChunks> {
    if code.is_empty() {
        return None;
    }
    let len = code.len() as u64;
    let tree = WordTree::from_bytes(code);
    let job = RangeJob {
        src_root: tree.root(),
        src_offset: 0,
        src_size: len,
        len,
        flags: HASH,
        dst_root: B256::ZERO,
        dst_offset: 0,
    };
    let hash_job = plan(job, Some(&tree.prove_range(0, len.div_ceil(32))), None)?;
    let bitmap = jumpdest_bitmap(code);
    let carries = carries(code);
    let (mut code_roots, mut bitmap_roots) = (Vec::new(), Vec::new());
    let mut chunks = Vec::new();
    for (k, piece) in code.chunks(CODE_CHUNK).enumerate() {
        let done = k * CODE_CHUNK;
        let mut state = Vec::with_capacity(SCAN_HEAD + 64 * k);
        for v in [len, done as u64, carries[k]] {
            state.extend_from_slice(&U256::from(v).to_be_bytes::<32>());
        }
        for r in code_roots.iter().chain(&bitmap_roots) {
            state.extend_from_slice(B256::as_slice(r));
        }
        chunks.push(CodeChunk {
            state,
            code: piece.to_vec(),
        });
        let bits_from = done / 8;
        let bits_to = bitmap.len().min(bits_from + CODE_CHUNK / 8);
        code_roots.push(subtree_root(piece, CODE_CHUNK));
        bitmap_roots.push(subtree_root(&bitmap[bits_from..bits_to], CODE_CHUNK / 8));
    }
    Some(CodeChunks { hash_job, chunks })
}

/// For each chunk of `code`, the bytes of PUSH data that the code before it leaves into it
/// (0 to 32; the first chunk's is 0).
fn carries(code: &[u8]) -> Vec<u64> {
    let mut out = vec![0u64; code.len().div_ceil(CODE_CHUNK)];
    let mut i = 0usize;
    while i < code.len() {
        let op = code[i];
        let next = i
            + 1
            + if (0x60..=0x7f).contains(&op) {
                usize::from(op - 0x5f)
            } else {
                0
            };
        // PUSH data that crosses a chunk's start leaves `next − start` bytes in that chunk.
        let start = (i / CODE_CHUNK + 1) * CODE_CHUNK;
        if next > start && start < code.len() {
            out[start / CODE_CHUNK] = (next - start) as u64;
        }
        i = next;
    }
    out
}

/// The root of the subtree over `bytes` zero-padded to `size` bytes (a power of two of words).
fn subtree_root(bytes: &[u8], size: usize) -> B256 {
    let mut padded = bytes.to_vec();
    padded.resize(size, 0);
    let mut nodes: Vec<B256> = padded.chunks(32).map(B256::from_slice).collect();
    while nodes.len() > 1 {
        nodes = nodes.chunks(2).map(|p| hash_pair(p[0], p[1])).collect();
    }
    nodes[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range_fact::CodeFact;
    use alloy::primitives::keccak256;

    /// The carries are what a scan from 0 leaves at each chunk's start, a PUSH32 whose data
    /// fills the next chunk's first word included, and the HASH job gives the code's hash.
    #[test]
    fn carries_cross_chunk_edges() {
        let mut code = vec![0x5b; 3 * CODE_CHUNK + 10];
        // A PUSH32 at the last byte of chunk 0: 32 bytes of data in chunk 1.
        code[CODE_CHUNK - 1] = 0x7f;
        // A PUSH4 three bytes before chunk 2: two of its four data bytes before it, two in it.
        code[2 * CODE_CHUNK - 3] = 0x63;
        let c = code_chunks(&code).expect("chunks");
        let carry = |k: usize| U256::from_be_slice(&c.chunks[k].state[64..96]);
        assert_eq!(
            [carry(0), carry(1), carry(2), carry(3)],
            [0, 32, 2, 0].map(U256::from)
        );
        assert_eq!(c.chunks.len(), 4);
        assert_eq!(c.chunks[3].state.len(), SCAN_HEAD + 64 * 3);
        assert_eq!(c.hash_job.hash, keccak256(&code));
        assert_eq!(c.hash_job.job.src_root, CodeFact::of(&code).code_root);
    }

    /// The chunks' subtree roots join into the code's and the bitmap's word-tree roots.
    #[test]
    fn subtree_roots_join_into_the_code_fact_roots() {
        let code: Vec<u8> = (0..2 * CODE_CHUNK + 77)
            .map(|i| (i * 31 % 256) as u8)
            .collect();
        let roots: Vec<B256> = code
            .chunks(CODE_CHUNK)
            .map(|p| subtree_root(p, CODE_CHUNK))
            .collect();
        // Lift to depth 32: the word tree of the roots' subtrees, zero elsewhere.
        let mut zero = B256::ZERO;
        for _ in 0..7 {
            zero = hash_pair(zero, zero);
        }
        let mut nodes = roots;
        for _ in 7..32 {
            nodes = nodes
                .chunks(2)
                .map(|p| hash_pair(p[0], p.get(1).copied().unwrap_or(zero)))
                .collect();
            zero = hash_pair(zero, zero);
        }
        assert_eq!(nodes[0], WordTree::root_of(&code));
    }
}
