//! `keccak256` of many messages of any length at once: eight in the 512-bit lanes of AVX-512,
//! four in the 256-bit lanes of AVX2 (the permutations are `keccak4`'s), one at a time without
//! either. What a Merkle-Patricia trie's hashing needs when it hashes the changed nodes of one
//! level together: a branch's RLP is up to 532 bytes (four 136-byte rate blocks), a leaf's
//! one block; the messages of one call are ordered by their number of blocks, so the lanes of
//! one permutation carry messages of the same length in blocks and few permutations are wasted.
//! The hashes are `keccak256`'s (the tests compare them lane by lane).

use alloy::primitives::{B256, keccak256};

/// Keccak-256's rate in bytes: the message is absorbed in blocks of this size.
const RATE: usize = 136;

/// Rate blocks (so permutations) `keccak256` takes for a message of `len` bytes, padding
/// included.
fn blocks(len: usize) -> usize {
    len / RATE + 1
}

/// How many messages [`keccak256_each`] hashes with one permutation: 8 with AVX-512F, 4 with
/// AVX2, 1 without either.
pub fn width() -> usize {
    crate::keccak4::width().max(1)
}

/// Writes `keccak256(messages[i])` into `out[i]` for every `i`, [`width`] messages at a time.
///
/// # Panics
/// If `out` and `messages` differ in length.
pub fn keccak256_each(messages: &[&[u8]], out: &mut [B256]) {
    assert_eq!(messages.len(), out.len(), "one output per message");
    let width = crate::keccak4::width();
    if width == 0 || messages.len() < 2 {
        for (o, m) in out.iter_mut().zip(messages) {
            *o = keccak256(m);
        }
        return;
    }
    let mut order: Vec<u32> = (0..messages.len() as u32).collect();
    order.sort_unstable_by_key(|&i| blocks(messages[i as usize].len()));
    for lanes in order.chunks(width) {
        if lanes.len() == 1 {
            let i = lanes[0] as usize;
            out[i] = keccak256(messages[i]);
            continue;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let mut hashes = [B256::ZERO; 8];
            if width == 8 {
                // SAFETY: `keccak4::width` is 8 only where AVX-512F is available.
                unsafe { avx512::hash(messages, lanes, &mut hashes) };
            } else {
                // SAFETY: `keccak4::width` is 4 only where AVX2 is available.
                unsafe { avx2::hash(messages, lanes, &mut hashes) };
            }
            for (&i, h) in lanes.iter().zip(hashes) {
                out[i as usize] = h;
            }
        }
    }
}

/// Block `block` of `message` as seventeen little-endian words, with Keccak's padding
/// (`0x01 … 0x80`) if it is the message's last; zero past the last block.
#[cfg(target_arch = "x86_64")]
fn block_words(message: &[u8], block: usize) -> [u64; RATE / 8] {
    let mut bytes = [0u8; RATE];
    let total = blocks(message.len());
    if block < total {
        let start = block * RATE;
        let end = message.len().min(start + RATE);
        bytes[..end - start].copy_from_slice(&message[start..end]);
        if block + 1 == total {
            bytes[end - start] ^= 0x01;
            bytes[RATE - 1] ^= 0x80;
        }
    }
    std::array::from_fn(|w| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[8 * w..8 * w + 8]);
        u64::from_le_bytes(word)
    })
}

/// The 256-bit output from a state's first four words, given word `w` of each lane in
/// `words[w][lane]`.
#[cfg(target_arch = "x86_64")]
fn output(words: &[[u64; 8]; 4], lane: usize) -> B256 {
    let mut hash = B256::ZERO;
    for (w, lanes) in words.iter().enumerate() {
        hash[8 * w..8 * w + 8].copy_from_slice(&lanes[lane].to_le_bytes());
    }
    hash
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{RATE, block_words, blocks, output};
    use crate::keccak4::avx512::permute;
    use alloy::primitives::B256;
    use std::arch::x86_64::{
        _mm512_loadu_si512, _mm512_setzero_si512, _mm512_storeu_si512, _mm512_xor_si512,
    };

    /// `keccak256` of the (at most eight) messages `lanes` names, into `out` in that order.
    #[target_feature(enable = "avx512f")]
    pub(super) fn hash(messages: &[&[u8]], lanes: &[u32], out: &mut [B256; 8]) {
        let mut state = [_mm512_setzero_si512(); 25];
        let most = lanes
            .iter()
            .map(|&i| blocks(messages[i as usize].len()))
            .max()
            .unwrap_or(0);
        for block in 0..most {
            let mut words = [[0u64; 8]; RATE / 8];
            for (lane, &i) in lanes.iter().enumerate() {
                for (w, word) in block_words(messages[i as usize], block)
                    .into_iter()
                    .enumerate()
                {
                    words[w][lane] = word;
                }
            }
            for (a, w) in state.iter_mut().zip(&words) {
                // SAFETY: `w` is 64 readable bytes; the load is unaligned.
                *a = _mm512_xor_si512(*a, unsafe { _mm512_loadu_si512(w.as_ptr().cast()) });
            }
            permute(&mut state);
            let mut first = [[0u64; 8]; 4];
            for (w, a) in first.iter_mut().zip(&state) {
                // SAFETY: `w` is 64 writable bytes; the store is unaligned.
                unsafe { _mm512_storeu_si512(w.as_mut_ptr().cast(), *a) };
            }
            for (lane, &i) in lanes.iter().enumerate() {
                if blocks(messages[i as usize].len()) == block + 1 {
                    out[lane] = output(&first, lane);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{RATE, block_words, blocks, output};
    use crate::keccak4::avx2::permute;
    use alloy::primitives::B256;
    use std::arch::x86_64::{
        _mm256_loadu_si256, _mm256_setzero_si256, _mm256_storeu_si256, _mm256_xor_si256,
    };

    /// `keccak256` of the (at most four) messages `lanes` names, into `out` in that order.
    #[target_feature(enable = "avx2")]
    pub(super) fn hash(messages: &[&[u8]], lanes: &[u32], out: &mut [B256; 8]) {
        let mut state = [_mm256_setzero_si256(); 25];
        let most = lanes
            .iter()
            .map(|&i| blocks(messages[i as usize].len()))
            .max()
            .unwrap_or(0);
        for block in 0..most {
            let mut words = [[0u64; 8]; RATE / 8];
            for (lane, &i) in lanes.iter().enumerate() {
                for (w, word) in block_words(messages[i as usize], block)
                    .into_iter()
                    .enumerate()
                {
                    words[w][lane] = word;
                }
            }
            for (a, w) in state.iter_mut().zip(&words) {
                // SAFETY: `w` holds at least 32 readable bytes; the load is unaligned.
                *a = _mm256_xor_si256(*a, unsafe { _mm256_loadu_si256(w.as_ptr().cast()) });
            }
            permute(&mut state);
            let mut first = [[0u64; 8]; 4];
            for (w, a) in first.iter_mut().zip(&state) {
                // SAFETY: `w` holds at least 32 writable bytes; the store is unaligned.
                unsafe { _mm256_storeu_si256(w.as_mut_ptr().cast(), *a) };
            }
            for (lane, &i) in lanes.iter().enumerate() {
                if blocks(messages[i as usize].len()) == block + 1 {
                    out[lane] = output(&first, lane);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every hash of `messages` through [`keccak256_each`] against `keccak256` of each.
    fn check(messages: &[Vec<u8>]) -> Result<(), TestCaseError> {
        let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let mut out = vec![B256::ZERO; slices.len()];
        keccak256_each(&slices, &mut out);
        for (o, m) in out.iter().zip(&slices) {
            prop_assert_eq!(*o, keccak256(m));
        }
        Ok(())
    }

    proptest::proptest! {
        /// Messages of 0 to 700 bytes (one to six rate blocks, a trie branch's 532 among
        /// them), any number at once: each lane's hash is `keccak256` of its message.
        #[test]
        fn each_lane_is_keccak256(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..20),
        ) {
            check(&messages)?;
        }
    }

    /// The AVX2 lanes too, where AVX-512 would take the messages in [`keccak256_each`].
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn four_avx2_lanes_are_keccak256() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let messages: Vec<Vec<u8>> = [0, 135, 136, 532]
            .iter()
            .map(|&len| (0..len).map(|j| (j * 13 + len) as u8).collect())
            .collect();
        let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let mut out = [B256::ZERO; 8];
        // SAFETY: AVX2 is available, as just checked.
        unsafe { avx2::hash(&slices, &[0, 1, 2, 3], &mut out) };
        for (o, m) in out.iter().zip(&slices) {
            assert_eq!(*o, keccak256(m));
        }
    }

    /// Lengths at the rate's edges, where the padding's two bytes meet or spill into a block
    /// of their own, in lanes of mixed lengths.
    #[test]
    fn lengths_at_block_edges_are_keccak256() {
        let lengths = [
            0, 1, 31, 32, 33, 134, 135, 136, 137, 271, 272, 273, 532, 543, 544,
        ];
        let messages: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| (0..len).map(|j| (i * 31 + j * 7) as u8).collect())
            .collect();
        check(&messages).unwrap();
        for len in lengths {
            let same: Vec<Vec<u8>> = (0..9).map(|i| vec![i as u8; len]).collect();
            check(&same).unwrap();
        }
    }
}
