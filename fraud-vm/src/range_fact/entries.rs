//! [v0.16] The `ENTRIES` range job (SPEC.md §3.4.1, §5.9): a transaction's EIP-2930 access list
//! folded into the start's entries stack in chunks, so that the start head need not decode it.
//!
//! The job's bytes are `A`, the payload of the access list (its items' RLP encodings one after
//! the other) inside the transaction's encoding `e`: `(R_e, offset of A, len(e), len(A),
//! ENTRIES, below, 0)`, `below` the root of the stack under the access list's entries (the
//! authorizations' entries, or zero). Its chunks fold the items **from the last byte back**,
//! since the stack is pushed from its bottom (§3.3): per item `[a, [k_0 … k_m−1]]` the keys' entries
//! `(2 ‖ a, k_j)` from the last, then `(1 ‖ a, 0)`. A chunk absorbs the `n` bytes before its
//! state's `pos`, cut only at an item's or a key's first byte; each item it meets at its end
//! comes with a *hint* `m << 160 | a` (its key count and address, which its head, read when the
//! chunk reaches it, must then match: the canonical encoding is determined by them). Each chunk
//! passes the state [`EntriesState`] it starts from whole, and the oracle keeps the hash of
//! every state a chunk left (a chunk with a wrong hint may be taken, but its state leads
//! nowhere and blocks no one). The fact: `dst_result` = the stack root with every
//! entry pushed, `hash` = `u128 addresses ‖ u128 keys`. A list that is not canonical RLP of
//! items has no fact: the start of such a transaction is proven in full (§5.9).

use super::{Chunk, JobPlan, RangeJob, encode_range, read_proven};
use crate::merkle::WordTree;
use crate::state::stack_push;
use alloy::primitives::{Address, B256, U256, keccak256};

/// A job flag, alone: the access list's entries stack (SPEC.md §5.9) from its payload's bytes.
/// Its chunks go through `RangeOracle.absorbEntries(job, n, src, dst)`, with the state the
/// chunk starts from and its hints in [`Chunk::dst`].
pub const ENTRIES: u8 = 128;
/// The most bytes one chunk of an ENTRIES job absorbs (`RangeOracle.MAX_ENTRIES_CHUNK`).
pub const MAX_ENTRIES_CHUNK: u64 = 4_096;
/// Bytes of an encoded [`EntriesState`].
pub const ENTRIES_STATE_LEN: usize = 224;
/// An access-list key's encoding: `0xa0 ‖ key`.
const KEY_LEN: u64 = 33;
/// Entry kinds, the top byte of an entry's first word (`step::entries`).
const KIND_ADDRESS: u8 = 1;
const KIND_SLOT: u8 = 2;

/// An ENTRIES chunk or its input that the oracle refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntriesError {
    /// The bytes before this offset of the job are not what the open item's canonical
    /// encoding holds there, or a chunk ends inside a key or an item's head.
    #[error("bad access list at byte {0}")]
    BadList(u64),
    /// The chunk's size does not fit where the job stands, or its hints are not one per item
    /// it reaches the end of.
    #[error("bad chunk of {n} bytes at {done}")]
    BadChunk {
        /// Bytes absorbed before the chunk.
        done: u64,
        /// The chunk's bytes.
        n: u64,
    },
    /// The chunk's state is not the one the previous chunk left.
    #[error("bad ENTRIES state")]
    BadState,
    /// The chunk's source multiproof is not that of its words under the job's root.
    #[error("bad source proof")]
    BadSource,
}

/// The running state of an ENTRIES job (all of it before byte `pos` still to absorb).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntriesState {
    /// The stack root with the entries so far pushed (the job's `below` before any).
    pub root: B256,
    /// Items (addresses) closed so far.
    pub addresses: u64,
    /// Keys pushed so far.
    pub keys: u64,
    /// The job's bytes before this offset are not absorbed yet.
    pub pos: u64,
    /// The open item's end (zero: no item open).
    pub item_end: u64,
    /// The open item's first key byte (its keys are `[keys_at, item_end)`).
    pub keys_at: u64,
    /// The open item's address, from its hint.
    pub address: Address,
}

impl EntriesState {
    /// The state before the first chunk of a job of `len` bytes over the stack `below`.
    pub fn initial(below: B256, len: u64) -> Self {
        Self {
            root: below,
            pos: len,
            ..Self::default()
        }
    }

    /// `root ‖ u256 addresses ‖ u256 keys ‖ u256 pos ‖ u256 item_end ‖ u256 keys_at ‖
    /// u256 address`, as the oracle hashes and a chunk passes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRIES_STATE_LEN);
        out.extend_from_slice(self.root.as_slice());
        for v in [
            self.addresses,
            self.keys,
            self.pos,
            self.item_end,
            self.keys_at,
        ] {
            out.extend_from_slice(&U256::from(v).to_be_bytes::<32>());
        }
        out.extend_from_slice(B256::left_padding_from(self.address.as_slice()).as_slice());
        out
    }

    /// The state from its encoding, if it has the length of one and its numbers fit.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != ENTRIES_STATE_LEN {
            return None;
        }
        let num = |i: usize| u64::try_from(U256::from_be_slice(&b[32 * i..32 * i + 32])).ok();
        if b[192..204].iter().any(|x| *x != 0) {
            return None;
        }
        Some(Self {
            root: B256::from_slice(&b[..32]),
            addresses: num(1)?,
            keys: num(2)?,
            pos: num(3)?,
            item_end: num(4)?,
            keys_at: num(5)?,
            address: Address::from_slice(&b[204..]),
        })
    }

    /// `keccak256` of [`EntriesState::encode`], which the oracle keeps between chunks.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The fact's `hash`: `u128 addresses ‖ u128 keys`.
    pub fn counts(&self) -> B256 {
        B256::from((U256::from(self.addresses) << 128) | U256::from(self.keys))
    }
}

/// An entry's first word: `kind` in byte 0, `address` in bytes 12..32.
fn header_word(kind: u8, address: Address) -> U256 {
    let mut w = [0u8; 32];
    w[0] = kind;
    w[12..].copy_from_slice(address.as_slice());
    U256::from_be_bytes(w)
}

/// The canonical RLP list header of a payload of `len` bytes.
fn list_header(len: u64) -> Vec<u8> {
    if len <= 55 {
        return vec![0xc0 + len as u8];
    }
    let be = len.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let mut h = vec![0xf7 + (8 - skip) as u8];
    h.extend_from_slice(&be[skip..]);
    h
}

/// The bytes before an item's keys (`keys_len` bytes of them): its list header, `0x94 ‖
/// address`, the keys' list header.
fn item_head(address: Address, keys_len: u64) -> Vec<u8> {
    let keys_header = list_header(keys_len);
    let payload = 21 + keys_header.len() as u64 + keys_len;
    let mut h = list_header(payload);
    h.push(0x94);
    h.extend_from_slice(address.as_slice());
    h.extend_from_slice(&keys_header);
    h
}

/// The chunk `bytes` (the job's bytes `[lo, state.pos)`) with its `hints` (one per item whose
/// end the chunk reaches, from the last back), from `state` (the oracle's `absorbEntries`).
pub fn absorb_entries(
    state: &EntriesState,
    lo: u64,
    bytes: &[u8],
    hints: &[U256],
) -> Result<EntriesState, EntriesError> {
    let mut s = state.clone();
    let done_n = || EntriesError::BadChunk {
        done: state.pos,
        n: bytes.len() as u64,
    };
    if lo + bytes.len() as u64 != s.pos {
        return Err(done_n());
    }
    let byte = |at: u64| bytes[(at - lo) as usize];
    let mut hints = hints.iter();
    while s.pos > lo {
        if s.item_end == 0 {
            let hint = hints.next().ok_or_else(done_n)?;
            let keys = u64::try_from(*hint >> 160).map_err(|_| done_n())?;
            let keys_len = keys
                .checked_mul(KEY_LEN)
                .filter(|l| *l < s.pos)
                .ok_or(EntriesError::BadList(s.pos))?;
            s.address = Address::from_slice(&hint.to_be_bytes::<32>()[12..]);
            s.item_end = s.pos;
            s.keys_at = s.pos - keys_len;
        } else if s.pos > s.keys_at {
            let at = s.pos - KEY_LEN;
            if at < lo || byte(at) != 0xa0 {
                return Err(EntriesError::BadList(s.pos));
            }
            let key = U256::from_be_slice(&bytes[(at + 1 - lo) as usize..(s.pos - lo) as usize]);
            s.root = stack_push(s.root, key);
            s.root = stack_push(s.root, header_word(KIND_SLOT, s.address));
            s.keys += 1;
            s.pos = at;
        } else {
            let head = item_head(s.address, s.item_end - s.keys_at);
            let at = s
                .pos
                .checked_sub(head.len() as u64)
                .filter(|at| *at >= lo)
                .ok_or(EntriesError::BadList(s.pos))?;
            if bytes[(at - lo) as usize..(s.pos - lo) as usize] != head[..] {
                return Err(EntriesError::BadList(s.pos));
            }
            s.root = stack_push(s.root, U256::ZERO);
            s.root = stack_push(s.root, header_word(KIND_ADDRESS, s.address));
            s.addresses += 1;
            s.pos = at;
            s.item_end = 0;
            s.keys_at = 0;
            s.address = Address::ZERO;
        }
    }
    if hints.next().is_some() || (s.pos == 0 && s.item_end != 0) {
        return Err(done_n());
    }
    Ok(s)
}

/// The items of an access list payload `a`, each with its first byte, its keys' first byte
/// and its end: `None` unless `a` is exactly canonical items one after the other.
fn items(a: &[u8]) -> Option<Vec<(Address, u64, u64, u64)>> {
    let list: Vec<alloy::eips::eip2930::AccessListItem> =
        alloy::rlp::decode_exact(list_header_of(a)).ok()?;
    let mut out = Vec::new();
    let mut at = 0u64;
    for item in list {
        let keys_len = KEY_LEN * item.storage_keys.len() as u64;
        let head = item_head(item.address, keys_len);
        let end = at + head.len() as u64 + keys_len;
        if a.get(at as usize..at as usize + head.len())? != &head[..] {
            return None;
        }
        out.push((item.address, at, at + head.len() as u64, end));
        at = end;
    }
    (at == a.len() as u64).then_some(out)
}

/// `a` with its list header, to decode it as a list.
fn list_header_of(a: &[u8]) -> Vec<u8> {
    [list_header(a.len() as u64), a.to_vec()].concat()
}

/// The ENTRIES job over the access list payload at `[offset, offset + len)` of the encoding
/// whose word tree is `root` (`size` bytes), above the stack `below`.
pub fn entries_job(root: B256, size: u64, offset: u64, len: u64, below: B256) -> RangeJob {
    RangeJob {
        src_root: root,
        src_offset: offset,
        src_size: size,
        len,
        flags: ENTRIES,
        dst_root: below,
        dst_offset: 0,
    }
}

/// The ENTRIES fact of the access list payload `a` computed in full over `below`: its final
/// state, or `None` if `a` is not canonical items.
pub fn entries_fact(a: &[u8], below: B256) -> Option<EntriesState> {
    let items = items(a)?;
    let hints: Vec<U256> = items
        .iter()
        .rev()
        .map(|(addr, _, k, end)| hint(*addr, (end - k) / KEY_LEN))
        .collect();
    absorb_entries(&EntriesState::initial(below, a.len() as u64), 0, a, &hints).ok()
}

/// An item's hint: `keys << 160 | address`.
fn hint(address: Address, keys: u64) -> U256 {
    (U256::from(keys) << 160) | U256::from_be_slice(address.as_slice())
}

/// The ENTRIES job of the access list payload at `[offset, offset + len(a))` of the encoding
/// `e` (its word tree `tree`) over `below`, its chunks of at most `most` bytes each cut at an
/// item's or key's first byte. `None` if the payload is empty or not canonical items.
pub fn entries_plan(e: &[u8], offset: u64, len: u64, below: B256, most: u64) -> Option<JobPlan> {
    let a = e.get(offset as usize..(offset + len) as usize)?;
    if a.is_empty() || most < 64 {
        return None;
    }
    let items = items(a)?;
    // Every place a chunk may start: an item's first byte, or a key's.
    let mut cuts = vec![];
    for (_, at, keys_at, end) in &items {
        cuts.push(*at);
        cuts.extend((*keys_at..*end).step_by(KEY_LEN as usize));
    }
    let tree = WordTree::from_bytes(e);
    let job = entries_job(tree.root(), e.len() as u64, offset, len, below);
    let mut state = EntriesState::initial(below, len);
    let mut chunks = Vec::new();
    while state.pos > 0 {
        let lo = *cuts.iter().find(|c| **c + most >= state.pos)?;
        // One hint per item whose end the chunk reaches, from the last back.
        let hints: Vec<U256> = items
            .iter()
            .rev()
            .filter(|(_, _, _, end)| *end > lo && *end <= state.pos)
            .map(|(addr, _, k, end)| hint(*addr, (end - k) / KEY_LEN))
            .collect();
        let from = offset + lo;
        let to = offset + state.pos;
        let proof = tree.prove_range(from / 32, to.div_ceil(32) - from / 32);
        let mut dst = state.encode();
        dst.extend(hints.iter().flat_map(|h| h.to_be_bytes::<32>()));
        let next = absorb_entries(&state, lo, &a[lo as usize..state.pos as usize], &hints).ok()?;
        chunks.push(Chunk {
            n: state.pos - lo,
            src: encode_range(&proof),
            dst,
        });
        state = next;
    }
    Some(JobPlan {
        job,
        chunks,
        hash: state.counts(),
        dst_result: state.root,
    })
}

/// The oracle's ENTRIES job in Rust, to check chunks as `RangeOracle.absorbEntries` does. The
/// oracle keeps every state a chunk left (by its hash), not one running state: a chunk whose
/// hints are wrong may be taken (an item's head is checked only where a later chunk reaches it),
/// and its state then leads nowhere, but it cannot block the job's true chain of chunks.
#[derive(Clone, Debug)]
pub struct EntriesRun {
    job: RangeJob,
    states: std::collections::HashSet<B256>,
    fact: Option<(B256, B256)>,
}

impl EntriesRun {
    /// A run of `job` (an ENTRIES job) before its first chunk.
    pub fn new(job: RangeJob) -> Self {
        let initial = EntriesState::initial(job.dst_root, job.len).hash();
        Self {
            states: [initial].into(),
            job,
            fact: None,
        }
    }

    /// The fact `(hash, dst_result)` once a chunk reached byte 0.
    pub fn fact(&self) -> Option<(B256, B256)> {
        self.fact
    }

    /// Absorbs `chunk` as the oracle does, or refuses it: its `dst` is the state it starts
    /// from (one a chunk left, or the job's initial state) and its hints; it absorbs the `n`
    /// bytes before the state's `pos`.
    pub fn absorb(&mut self, chunk: &Chunk) -> Result<(), EntriesError> {
        let len = self.job.len;
        let bad_chunk = |done| EntriesError::BadChunk { done, n: chunk.n };
        if self.fact.is_some() || self.job.flags != ENTRIES || len > u64::from(u32::MAX) {
            return Err(bad_chunk(len));
        }
        let state = chunk
            .dst
            .get(..ENTRIES_STATE_LEN)
            .filter(|st| self.states.contains(&keccak256(st)))
            .and_then(EntriesState::decode)
            .ok_or(EntriesError::BadState)?;
        let (n, pos) = (chunk.n, state.pos);
        if n == 0 || n > MAX_ENTRIES_CHUNK || n > pos {
            return Err(bad_chunk(len - pos));
        }
        let hints = &chunk.dst[ENTRIES_STATE_LEN..];
        if !hints.len().is_multiple_of(32) {
            return Err(bad_chunk(len - pos));
        }
        let hints: Vec<U256> = hints.chunks(32).map(U256::from_be_slice).collect();
        let lo = pos - n;
        let bytes = self.read(lo, pos, &chunk.src)?;
        let next = absorb_entries(&state, lo, &bytes, &hints)?;
        if next.pos == 0 {
            self.fact = Some((next.counts(), next.root));
        } else {
            self.states.insert(next.hash());
        }
        Ok(())
    }

    /// The job's bytes `[from, to)` from the chunk's source multiproof `src`, which must prove
    /// exactly their words of the encoding.
    fn read(&self, from: u64, to: u64, src: &[u8]) -> Result<Vec<u8>, EntriesError> {
        let (from, to) = (self.job.src_offset + from, self.job.src_offset + to);
        if to > self.job.src_size {
            return Err(EntriesError::BadSource);
        }
        read_proven(src, self.job.src_root, from, to).ok_or(EntriesError::BadSource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{entries_root, start_entries};
    use alloy::eips::eip2930::{AccessList, AccessListItem};
    use proptest::prelude::*;

    fn access_list() -> impl Strategy<Value = AccessList> {
        prop::collection::vec(
            (
                any::<[u8; 20]>(),
                prop_oneof![
                    prop::collection::vec(any::<[u8; 32]>(), 0..3),
                    prop::collection::vec(any::<[u8; 32]>(), 0..200),
                ],
            ),
            1..12,
        )
        .prop_map(|items| {
            AccessList(
                items
                    .into_iter()
                    .map(|(a, k)| AccessListItem {
                        address: Address::from(a),
                        storage_keys: k.into_iter().map(B256::from).collect(),
                    })
                    .collect(),
            )
        })
    }

    /// An encoding with the list's payload at `pad`: `pad` bytes, the list, 7 bytes after.
    fn encoding(list: &AccessList, pad: usize) -> (Vec<u8>, u64, u64) {
        let whole = alloy::rlp::encode(list);
        let (at, len) = {
            let h = alloy::rlp::Header::decode(&mut &whole[..]).expect("header");
            (whole.len() - h.payload_length, h.payload_length)
        };
        let mut e = vec![0x5a; pad];
        e.extend_from_slice(&whole);
        e.extend_from_slice(&[7; 7]);
        (e, (pad + at) as u64, len as u64)
    }

    /// The stack the start head pushes for `list` over `below` (`step::entries`).
    fn head_root(list: &AccessList, below: B256) -> (B256, u64, u64) {
        let tx = crate::tx::TxRecord {
            access_list: list
                .iter()
                .map(|i| {
                    (
                        i.address,
                        i.storage_keys.iter().map(|k| (*k).into()).collect(),
                    )
                })
                .collect(),
            ..Default::default()
        };
        let (words, _) = start_entries(&tx, U256::ZERO).expect("entries");
        let root = words.iter().rev().fold(below, |r, w| stack_push(r, *w));
        if below.is_zero() {
            assert_eq!(root, entries_root(&words));
        }
        let keys = list.iter().map(|i| i.storage_keys.len() as u64).sum();
        (root, list.len() as u64, keys)
    }

    fn run(plan: &JobPlan) -> Result<Option<(B256, B256)>, EntriesError> {
        let mut r = EntriesRun::new(plan.job.clone());
        for c in &plan.chunks {
            r.absorb(c)?;
        }
        Ok(r.fact())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The fact in chunks (any chunk size) is the stack the head pushes; a tampered state,
        /// hint, source word or cut is refused.
        #[test]
        fn entries_fact_in_chunks_is_the_heads(
            list in access_list(),
            pad in 0usize..80,
            most in 64u64..2_000,
            below in any::<[u8; 32]>(),
            pick in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
        ) {
            let below = B256::from(below);
            let (e, offset, len) = encoding(&list, pad);
            let (root, addresses, keys) = head_root(&list, below);
            let plan = entries_plan(&e, offset, len, below, most).expect("plan");
            let full = plan_in_one(&e, offset, len, below);
            prop_assert_eq!(full.dst_result, root);
            prop_assert_eq!(plan.dst_result, root);
            let counts = B256::from((U256::from(addresses) << 128) | U256::from(keys));
            prop_assert_eq!(plan.hash, counts);
            prop_assert_eq!(run(&plan), Ok(Some((counts, root))));
            for c in &plan.chunks {
                prop_assert!(c.n <= most);
            }
            let chunks = &plan.chunks;
            let k = pick.index(chunks.len());
            // A changed state or hint byte: refused, or (a hint) a state that leads nowhere.
            let mut bad = plan.clone();
            let dst = &mut bad.chunks[k].dst;
            let i = byte.index(dst.len());
            dst[i] ^= 1;
            let a = &e[offset as usize..(offset + len) as usize];
            prop_assert!(run(&bad).is_err() || run_on(a, &plan, k, &bad.chunks[k]).is_none());
            // A changed source word.
            let mut bad = plan.clone();
            let src = &mut bad.chunks[k].src;
            let i = 8 + byte.index(src.len() - 8);
            src[i] ^= 0x40;
            prop_assert!(run(&bad).is_err());
            // A cut one byte off.
            let mut bad = plan.clone();
            bad.chunks[k].n += 1;
            prop_assert!(run(&bad).is_err());
            // A hint left out or added.
            let mut bad = plan.clone();
            let dst = &mut bad.chunks[k].dst;
            if dst.len() > ENTRIES_STATE_LEN {
                dst.truncate(dst.len() - 32);
            } else {
                dst.extend([0u8; 32]);
            }
            prop_assert!(run(&bad).is_err());
        }
    }

    /// The fact from the chunks' bytes `a` of `plan`, chunk `k` replaced by `bad` (its hints,
    /// from the state chunk `k` starts from): `None` if a chunk is refused or byte 0 is not reached.
    fn run_on(a: &[u8], plan: &JobPlan, k: usize, bad: &Chunk) -> Option<(B256, B256)> {
        let mut state = EntriesState::decode(&plan.chunks[k].dst[..ENTRIES_STATE_LEN])?;
        for (i, c) in plan.chunks[k..].iter().enumerate() {
            let c = if i == 0 { bad } else { c };
            let hints: Vec<U256> = c.dst[ENTRIES_STATE_LEN..]
                .chunks(32)
                .map(U256::from_be_slice)
                .collect();
            let lo = state.pos.checked_sub(c.n)?;
            let bytes = a.get(lo as usize..state.pos as usize)?;
            state = absorb_entries(&state, lo, bytes, &hints).ok()?;
        }
        (state.pos == 0).then(|| (state.counts(), state.root))
    }

    fn plan_in_one(e: &[u8], offset: u64, len: u64, below: B256) -> JobPlan {
        entries_plan(e, offset, len, below, 1 << 30).expect("plan in one chunk")
    }

    #[test]
    fn a_list_that_is_not_canonical_has_no_fact() {
        let list = AccessList(vec![AccessListItem {
            address: Address::repeat_byte(1),
            storage_keys: vec![B256::repeat_byte(2)],
        }]);
        let (e, offset, len) = encoding(&list, 3);
        let a = &e[offset as usize..(offset + len) as usize];
        assert!(entries_fact(a, B256::ZERO).is_some());
        // A key of 31 bytes, an address of 19, a non-canonical long header, a trailing byte.
        let mut short = a.to_vec();
        short[22] = 0xdf;
        short[23] = 0x9f;
        short.remove(24);
        short[0] -= 1;
        assert!(entries_fact(&short, B256::ZERO).is_none());
        let mut long = vec![0xf8, a.len() as u8 - 1];
        long.extend_from_slice(&a[1..]);
        assert!(entries_fact(&long, B256::ZERO).is_none());
        let mut more = a.to_vec();
        more.push(0xc0);
        assert!(entries_fact(&more, B256::ZERO).is_none());
        // A hint with another key count is refused, whatever its address.
        let s = EntriesState::initial(B256::ZERO, a.len() as u64);
        for keys in [0u64, 2] {
            assert!(absorb_entries(&s, 0, a, &[hint(Address::repeat_byte(1), keys)]).is_err());
        }
        assert!(absorb_entries(&s, 0, a, &[hint(Address::repeat_byte(3), 1)]).is_err());
        assert!(absorb_entries(&s, 0, a, &[hint(Address::repeat_byte(1), 1)]).is_ok());
    }
}
