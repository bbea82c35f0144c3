//! [v0.12] Long code on L1 (SPEC.md §3.4.1 "The code fact", §6.3 "code window"): a step in
//! long code carries a *code window* in place of the code, the few code words it reads and,
//! for a taken jump, one word of the code's JUMPDEST bitmap, each proven under a root that the
//! oracle's *code fact* ties to the state's code hash. [v0.13] Every opcode step takes it, the
//! steps `OneStepVerifier` forwards included; a CODECOPY's window carries the code words it
//! copies (a long copy's WRITE job reads `R_c` instead).
//!
//! The code fact is computed by `RangeOracle.absorbCode(code)` in one L1 transaction from the
//! code itself (at most 49,152 bytes, EIP-3860's initcode bound; deployed code at most 24,576,
//! EIP-170): `keccak256(code)` natively, the word-tree root `R_c` of the code and the word-tree
//! root `R_j` of its JUMPDEST bitmap. [v0.14] Or in chunks, each transaction under 1M gas
//! (`code_scan`): the scan state passed between them is kept by the oracle by its hash, so it
//! cannot be forged.

use crate::StepProof;
use crate::merkle::WordTree;
use crate::state::Status;
use alloy::primitives::{B256, U256, keccak256};

/// The first four bytes of a code window ("\xfeL1C"). Code that starts with 0xFE (INVALID)
/// halts at pc 0, so a Running state at pc > 0 never has such code (the L1 verifier routes a
/// step by the opcode the window shows there), and at pc 0 both read INVALID, which
/// `OneStepVerifier` executes itself; a code that hashes to the code hash is always taken as
/// the code.
pub const CODE_WINDOW_MAGIC: [u8; 4] = [0xfe, 0x4c, 0x31, 0x43];
/// Steps in code longer than this many bytes take the code window in the L1 form: 8 KiB, whose
/// calldata alone costs a step about 0.33M gas (40 gas a non-zero byte under EIP-7623's floor).
pub const LONG_CODE: usize = 8_192;
/// Bytes of a code window before its range proofs: magic, `u32 len(code)`, `R_c`, `R_j`.
pub const CODE_WINDOW_HEAD: usize = 4 + 4 + 32 + 32;

/// The JUMPDEST bitmap of `code` (SPEC.md §3.4.1 "The code fact"): `ceil(len/8)` bytes, bit
/// `i` (bit `7 − i mod 8` of byte `⌊i/8⌋`, so that bit `i mod 256` of word `⌊i/256⌋` counted
/// from the most significant) set iff position `i` is a JUMPDEST opcode: `code[i] = 0x5b` and a
/// scan from 0 that skips the `n` immediates of each PUSHn reaches `i`.
pub fn jumpdest_bitmap(code: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8; code.len().div_ceil(8)];
    let mut i = 0usize;
    while i < code.len() {
        let op = code[i];
        if op == 0x5b {
            bits[i / 8] |= 0x80 >> (i % 8);
        }
        i += 1;
        if (0x60..=0x7f).contains(&op) {
            i += usize::from(op - 0x5f);
        }
    }
    bits
}

/// What `RangeOracle.absorbCode(code)` establishes for one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeFact {
    /// `keccak256(code)`: the fact's key.
    pub code_hash: B256,
    /// The word-tree root of the code (§3.4).
    pub code_root: B256,
    /// The word-tree root of its JUMPDEST bitmap ([`jumpdest_bitmap`]).
    pub bitmap_root: B256,
    /// The code's length in bytes.
    pub len: u64,
}

impl CodeFact {
    /// The fact of `code`.
    pub fn of(code: &[u8]) -> Self {
        Self {
            code_hash: keccak256(code),
            code_root: WordTree::root_of(code),
            bitmap_root: WordTree::root_of(&jumpdest_bitmap(code)),
            len: code.len() as u64,
        }
    }

    /// The value the oracle keeps under `code_hash`:
    /// `keccak256(R_c ‖ R_j ‖ uint256(len))`.
    pub fn commitment(&self) -> B256 {
        let mut enc = Vec::with_capacity(96);
        enc.extend_from_slice(self.code_root.as_slice());
        enc.extend_from_slice(self.bitmap_root.as_slice());
        enc.extend_from_slice(&U256::from(self.len).to_be_bytes::<32>());
        keccak256(enc)
    }
}

/// The code window of `proof`'s step (SPEC.md §6.3 [v0.12; every opcode v0.13]), for a Running
/// state: the head, the range proof of the code words `⌊pc/32⌋ … ⌊(pc + n)/32⌋` (`n` the
/// immediates of a PUSHn, else 0) if `pc < len(code)`, the range proof of the bitmap word
/// `⌊t/256⌋` if the step jumps to `t < len(code)` (JUMP, or JUMPI with a non-zero condition, its
/// operands popped), and [v0.13] for a CODECOPY that writes memory from `src < len(code)` in
/// the proof (not a fact, [`super::LONG_WORDS`]: a long copy reads the code's fact `R_c`) the
/// range proof of the code words that hold `[src, min(src + len, len(code)))`. `None` for any
/// other step.
pub fn code_window(proof: &StepProof) -> Option<Vec<u8>> {
    let pre = &proof.pre;
    if pre.status != Status::Running {
        return None;
    }
    let code = &proof.code;
    let len = code.len() as u64;
    let op = code.get(pre.pc as usize).copied().unwrap_or(0);
    let fact = CodeFact::of(code);
    let mut out = Vec::with_capacity(CODE_WINDOW_HEAD + 2 * 1100);
    out.extend_from_slice(&CODE_WINDOW_MAGIC);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(fact.code_root.as_slice());
    out.extend_from_slice(fact.bitmap_root.as_slice());
    let tree = WordTree::from_bytes(code);
    if pre.pc < len {
        let n = if (0x60..=0x7f).contains(&op) {
            u64::from(op - 0x5f)
        } else {
            0
        };
        let first = pre.pc / 32;
        let count = (pre.pc + n) / 32 - first + 1;
        out.extend_from_slice(&super::encode_range(&tree.prove_range(first, count)));
    }
    if let Some(target) = jump_target(op, &proof.stack)
        && target < len
    {
        let tree = WordTree::from_bytes(&jumpdest_bitmap(code));
        out.extend_from_slice(&super::encode_range(&tree.prove_range(target / 256, 1)));
    }
    if let Some((first, count)) = copied_words(op, proof, len) {
        out.extend_from_slice(&super::encode_range(&tree.prove_range(first, count)));
    }
    Some(out)
}

/// [v0.13] The code words a CODECOPY reads from its window: those that hold
/// `[src, min(src + len, len(code)))` when the step writes memory (its one memory entry, in the
/// proof rather than a fact) from `src < len(code)`.
fn copied_words(op: u8, proof: &StepProof, len: u64) -> Option<(u64, u64)> {
    if op != 0x39 {
        return None;
    }
    let write = proof.memory.first()?;
    if write.words.len() > super::LONG_WORDS {
        return None;
    }
    let src = u64::try_from(*proof.stack.get(1)?).ok()?;
    let want = u64::try_from(*proof.stack.get(2)?).ok()?;
    if src >= len || want == 0 {
        return None;
    }
    let n = want.min(len - src);
    let first = src / 32;
    Some((first, (src + n - 1) / 32 - first + 1))
}

/// The target of a taken jump whose operands the proof pops: JUMP's, or JUMPI's when its
/// condition is not zero (a target past 2^64 is past any code).
fn jump_target(op: u8, stack: &[U256]) -> Option<u64> {
    let taken = match op {
        0x56 => !stack.is_empty(),
        0x57 => stack.len() >= 2 && !stack[1].is_zero(),
        _ => false,
    };
    if !taken {
        return None;
    }
    Some(u64::try_from(stack[0]).unwrap_or(u64::MAX))
}

/// Offset of the code field in an encoded proof (its `u32` length, then its bytes): after the
/// version byte and the state record (§6.3).
const CODE_FIELD: usize = 1 + crate::state::STATE_ENCODED_LEN;

/// `encoded` (the canonical encoding of `proof`, or its L1 form, which keeps the code field)
/// with its code replaced by the step's code window: the L1 form of a step in code longer than
/// `long_code` bytes (SPEC.md §3.4.1 [v0.12]). The oracle must hold the code's fact
/// (`RangeOracle.absorbCode(proof.code)`) before it is sent. `None` if the step takes no
/// window, or `encoded` does not hold `proof`'s code.
pub fn code_form(proof: &StepProof, encoded: &[u8], long_code: usize) -> Option<Vec<u8>> {
    if proof.code.len() <= long_code {
        return None;
    }
    let window = code_window(proof)?;
    let start = CODE_FIELD + 4;
    let end = start + proof.code.len();
    if encoded.get(CODE_FIELD..start)? != (proof.code.len() as u32).to_be_bytes()
        || encoded.get(start..end)? != proof.code.as_slice()
    {
        return None;
    }
    let mut out = Vec::with_capacity(encoded.len() - proof.code.len() + window.len());
    out.extend_from_slice(&encoded[..CODE_FIELD]);
    out.extend_from_slice(&(window.len() as u32).to_be_bytes());
    out.extend_from_slice(&window);
    out.extend_from_slice(&encoded[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use revm::bytecode::Bytecode;

    /// A random program: mostly PUSHn with their immediates, JUMPDESTs and other bytes, and a
    /// tail that may cut a PUSH's immediates short.
    fn program() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                3 => (0x60u8..=0x7f).prop_flat_map(|op| {
                    prop::collection::vec(any::<u8>(), usize::from(op - 0x5f))
                        .prop_map(move |imm| [vec![op], imm].concat())
                }),
                2 => Just(vec![0x5b]),
                3 => any::<u8>().prop_map(|b| vec![b]),
            ],
            0..400,
        )
        .prop_flat_map(|parts| (Just(parts.concat()), 0usize..=32))
        .prop_map(|(code, cut)| code[..code.len().saturating_sub(cut)].to_vec())
    }

    proptest! {
        /// The bitmap marks exactly the positions revm's own analysis takes as jump
        /// destinations.
        #[test]
        fn bitmap_is_revms_jump_table(code in program()) {
            let bitmap = jumpdest_bitmap(&code);
            let analysed = Bytecode::new_raw(code.clone().into());
            let table = analysed.legacy_jump_table().expect("legacy code");
            for i in 0..code.len() {
                let bit = bitmap[i / 8] & (0x80 >> (i % 8)) != 0;
                prop_assert_eq!(bit, table.is_valid(i), "position {}", i);
            }
        }
    }

    #[test]
    fn a_jumpdest_inside_push_data_is_not_marked() {
        // PUSH2 0x5b5b, JUMPDEST, PUSH1 (cut short).
        let code = [0x61, 0x5b, 0x5b, 0x5b, 0x60];
        assert_eq!(jumpdest_bitmap(&code), vec![0b0001_0000]);
    }
}
