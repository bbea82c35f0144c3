//! Canonical binary encodings (SPEC.md §6.3): decoding of the state record and environment
//! records, and encoding/decoding of one-step proofs. Decoding never panics on any input.

use crate::block::{FoldKey, SealingRecord, TAG_SEALING};
use crate::frame::{Checkpoint, FrameKind, FrameLink};
use crate::merkle::{RangeProof, WORD_TREE_DEPTH, WordProof, range_sibling_count};
use crate::mpt::{MptAccount, MptSlot};
use crate::mpt_write::TrieWrite;
use crate::proof::StepProof;
use crate::receipt::Receipt;
use crate::smt::{SMT_DEPTH, SmtProof};
use crate::state::{
    BlockConstants, BlockEnv, MAX_EXTRA_DATA, MachineState, Rules, STATE_ENCODED_LEN, Status,
    TAG_BLOCK_CONSTANTS, TAG_BLOCK_ENV, TAG_STATE, TAG_TX_ENV, TxEnv, TxRoots,
};
use crate::world::{AccountRecord, TAG_ACCOUNT, TAG_CHECKPOINT, TAG_WORLD, World};
use alloy::primitives::{Address, B256, Bloom, Bytes, Log, U256};
use alloy_trie::TrieAccount;
use thiserror::Error;

/// Version byte that starts every encoded proof (6: v0.6, the receipt's list index).
pub const PROOF_VERSION: u8 = 6;

const ACCOUNT_LEN: usize = crate::world::ACCOUNT_ENCODED_LEN;

/// Length of an encoded [`WordProof`]: the word and its siblings.
pub const WORD_PROOF_LEN: usize = 32 * (1 + WORD_TREE_DEPTH);

/// The shortest encoded [`RangeProof`]: start, count and one word.
const RANGE_PROOF_MIN_LEN: usize = 4 + 4 + 32;

/// Why bytes are not a canonical encoding.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ends inside a field.
    #[error("input truncated")]
    Truncated,
    /// Bytes remain after the last field.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// Unknown proof version.
    #[error("unknown proof version {0}")]
    Version(u8),
    /// A record does not start with its domain tag.
    #[error("expected tag {expected:#04x}, found {found:#04x}")]
    Tag {
        /// The tag required here.
        expected: u8,
        /// The byte found.
        found: u8,
    },
    /// A status byte outside 0..=9.
    #[error("invalid status {0}")]
    Status(u8),
    /// A boolean or presence flag other than 0 or 1.
    #[error("invalid flag {0}")]
    Flag(u8),
    /// A sparse-tree path marks a sibling as present but gives zero.
    #[error("zero sibling marked as present")]
    ZeroSibling,
    /// A length beyond its field, or non-zero padding after it.
    #[error("bad length or non-zero padding")]
    Padding,
    /// A range multiproof with no words or a range beyond the word tree.
    #[error("range of {count} words from word {start} is empty or leaves the word tree")]
    BadRange {
        /// The first word.
        start: u32,
        /// The number of words.
        count: u32,
    },
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            f => Err(DecodeError::Flag(f)),
        }
    }

    fn tag(&mut self, expected: u8) -> Result<(), DecodeError> {
        let found = self.u8()?;
        if found != expected {
            return Err(DecodeError::Tag { expected, found });
        }
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn b256(&mut self) -> Result<B256, DecodeError> {
        Ok(B256::from(self.array::<32>()?))
    }

    fn u256(&mut self) -> Result<U256, DecodeError> {
        Ok(U256::from_be_bytes(self.array::<32>()?))
    }

    fn address(&mut self) -> Result<Address, DecodeError> {
        Ok(Address::from(self.array::<20>()?))
    }

    /// A count of items of `item_len` bytes each, checked against the remaining input so that a
    /// forged count cannot cause a large allocation.
    fn count(&mut self, item_len: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_len) > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }

    fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    fn state(&mut self) -> Result<MachineState, DecodeError> {
        self.tag(TAG_STATE)?;
        Ok(MachineState {
            block_number: self.u64()?,
            tx_index: self.u64()?,
            depth: self.u64()?,
            pc: self.u64()?,
            status: {
                let s = self.u8()?;
                Status::from_code(s).ok_or(DecodeError::Status(s))?
            },
            gas: self.u64()?,
            refund: i64::from_be_bytes(self.array()?),
            frames_root: self.b256()?,
            address: self.address()?,
            caller: self.address()?,
            call_value: self.u256()?,
            is_static: self.flag()?,
            code_hash: self.b256()?,
            stack_root: self.b256()?,
            stack_len: self.u64()?,
            memory_root: self.b256()?,
            memory_size: self.u64()?,
            calldata_root: self.b256()?,
            calldata_size: self.u64()?,
            returndata_root: self.b256()?,
            returndata_size: self.u64()?,
            tx_env_hash: self.b256()?,
            block_env_hash: self.b256()?,
            world_root: self.b256()?,
        })
    }

    fn range_proofs(&mut self) -> Result<Vec<RangeProof>, DecodeError> {
        let n = self.count(RANGE_PROOF_MIN_LEN)?;
        (0..n).map(|_| self.range_proof()).collect()
    }

    fn range_proof(&mut self) -> Result<RangeProof, DecodeError> {
        let start = self.u32()?;
        let count = self.u32()?;
        let siblings = range_sibling_count(u64::from(start), u64::from(count))
            .ok_or(DecodeError::BadRange { start, count })?;
        if (count as usize).saturating_add(siblings).saturating_mul(32) > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(RangeProof {
            start: u64::from(start),
            words: (0..count).map(|_| self.b256()).collect::<Result<_, _>>()?,
            siblings: (0..siblings)
                .map(|_| self.b256())
                .collect::<Result<_, _>>()?,
        })
    }

    fn word_proof(&mut self) -> Result<WordProof, DecodeError> {
        Ok(WordProof {
            word: self.b256()?,
            siblings: (0..WORD_TREE_DEPTH)
                .map(|_| self.b256())
                .collect::<Result<_, _>>()?,
        })
    }

    fn smt_proofs(&mut self) -> Result<Vec<SmtProof>, DecodeError> {
        let n = self.count(64)?;
        (0..n)
            .map(|_| {
                let leaf = self.b256()?;
                let bitmap = self.u256()?;
                let siblings = (0..SMT_DEPTH)
                    .map(|h| {
                        if !bitmap.bit(h) {
                            return Ok(B256::ZERO);
                        }
                        let s = self.b256()?;
                        if s.is_zero() {
                            return Err(DecodeError::ZeroSibling);
                        }
                        Ok(s)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(SmtProof { leaf, siblings })
            })
            .collect()
    }

    fn world(&mut self) -> Result<World, DecodeError> {
        self.tag(TAG_WORLD)?;
        Ok(World {
            base_root: self.b256()?,
            accounts_root: self.b256()?,
            original_root: self.b256()?,
            transient_root: self.b256()?,
            accessed_root: self.b256()?,
            created_root: self.b256()?,
            destructs_root: self.b256()?,
            logs_root: self.b256()?,
            logs_count: self.u64()?,
            checkpoint_root: self.b256()?,
        })
    }

    fn account_record(&mut self) -> Result<AccountRecord, DecodeError> {
        self.tag(TAG_ACCOUNT)?;
        Ok(AccountRecord {
            nonce: self.u64()?,
            balance: self.u256()?,
            code_hash: self.b256()?,
            storage_root: self.b256()?,
            incarnation: self.u64()?,
        })
    }

    fn frame(&mut self) -> Result<FrameLink, DecodeError> {
        Ok(FrameLink {
            caller: self.state()?,
            out_offset: self.u64()?,
            out_len: self.u64()?,
            kind: match self.u8()? {
                0 => FrameKind::Call,
                1 => FrameKind::Create,
                k => return Err(DecodeError::Flag(k)),
            },
        })
    }

    fn checkpoint(&mut self) -> Result<Checkpoint, DecodeError> {
        self.tag(TAG_CHECKPOINT)?;
        Ok(Checkpoint {
            prev: self.b256()?,
            accounts_root: self.b256()?,
            transient_root: self.b256()?,
            accessed_root: self.b256()?,
            created_root: self.b256()?,
            destructs_root: self.b256()?,
            logs_root: self.b256()?,
            logs_count: self.u64()?,
        })
    }

    fn constants(&mut self) -> Result<BlockConstants, DecodeError> {
        self.tag(TAG_BLOCK_CONSTANTS)?;
        let parent_hash = self.b256()?;
        let parent_beacon_root = self.b256()?;
        let inputs_hash = self.b256()?;
        let tx_count = self.u64()?;
        let len = usize::from(self.u8()?);
        let padded = self.array::<MAX_EXTRA_DATA>()?;
        if len > MAX_EXTRA_DATA || padded[len.min(MAX_EXTRA_DATA)..].iter().any(|b| *b != 0) {
            return Err(DecodeError::Padding);
        }
        Ok(BlockConstants {
            parent_hash,
            parent_beacon_root,
            inputs_hash,
            tx_count,
            extra_data: padded[..len].to_vec(),
        })
    }

    fn sealing(&mut self) -> Result<SealingRecord, DecodeError> {
        self.tag(TAG_SEALING)?;
        Ok(SealingRecord {
            folded_root: self.b256()?,
            transactions_root: self.b256()?,
            receipts_root: self.b256()?,
            receipts_cursor: self.b256()?,
            bloom: Bloom::from(self.array::<256>()?),
        })
    }

    fn receipt(&mut self) -> Result<Receipt, DecodeError> {
        let tx_index = self.u64()?;
        let success = self.flag()?;
        let cumulative_gas = self.u64()?;
        let deposit_nonce = if self.flag()? {
            Some(self.u64()?)
        } else {
            None
        };
        let logs = self.list(28, |r| {
            let address = r.address()?;
            let topics = r.list(32, |r| r.b256())?;
            let data = r.bytes()?;
            Ok(Log::new_unchecked(address, topics, data.into()))
        })?;
        Ok(Receipt {
            tx_index,
            deposit_nonce,
            success,
            cumulative_gas,
            logs,
        })
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.count(1)?;
        Ok(self.take(n)?.to_vec())
    }

    fn nodes(&mut self) -> Result<Vec<Bytes>, DecodeError> {
        let n = self.count(4)?;
        (0..n).map(|_| Ok(Bytes::from(self.bytes()?))).collect()
    }

    fn list<T>(
        &mut self,
        min_len: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.count(min_len)?;
        (0..n).map(|_| item(self)).collect()
    }

    fn tx_env(&mut self) -> Result<TxEnv, DecodeError> {
        self.tag(TAG_TX_ENV)?;
        let origin = self.address()?;
        let gas_price = self.u256()?;
        let gas_limit = self.u64()?;
        let floor_gas = self.u64()?;
        let create = self.flag()?;
        let block_gas_before = self.u64()?;
        let receipt_open = self.b256()?;
        let deposit = self.flag()?;
        let l1_fee = self.u256()?;
        let operator_fee_scalar = self.u64()?;
        let operator_fee_constant = self.u64()?;
        let auth_refund = self.u64()?;
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated)?;
        if n.saturating_mul(32) > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let blob_hashes = (0..n).map(|_| self.b256()).collect::<Result<_, _>>()?;
        Ok(TxEnv {
            origin,
            gas_price,
            gas_limit,
            floor_gas,
            create,
            block_gas_before,
            receipt_open,
            deposit,
            l1_fee,
            operator_fee_scalar,
            operator_fee_constant,
            auth_refund,
            blob_hashes,
        })
    }

    fn block_env(&mut self) -> Result<BlockEnv, DecodeError> {
        self.tag(TAG_BLOCK_ENV)?;
        Ok(BlockEnv {
            coinbase: self.address()?,
            timestamp: self.u256()?,
            number: self.u256()?,
            prevrandao: self.u256()?,
            gas_limit: self.u256()?,
            basefee: self.u256()?,
            blob_basefee: self.u256()?,
            chain_id: self.u256()?,
            constants_hash: self.b256()?,
            transactions: TxRoots {
                deposit_count: self.u64()?,
                deposits_root: self.b256()?,
                recorded_root: self.b256()?,
            },
            rules: {
                let code = self.u8()?;
                Rules::from_code(code).ok_or(DecodeError::Flag(code))?
            },
        })
    }
}

fn put_smt_proofs(out: &mut Vec<u8>, proofs: &[SmtProof]) {
    out.extend_from_slice(&(proofs.len() as u32).to_be_bytes());
    for p in proofs {
        out.extend_from_slice(p.leaf.as_slice());
        let mut bitmap = U256::ZERO;
        for (h, s) in p.siblings.iter().enumerate().take(SMT_DEPTH) {
            if !s.is_zero() {
                bitmap.set_bit(h, true);
            }
        }
        out.extend_from_slice(&bitmap.to_be_bytes::<32>());
        for s in p.siblings.iter().take(SMT_DEPTH).filter(|s| !s.is_zero()) {
            out.extend_from_slice(s.as_slice());
        }
    }
}

fn put_receipt(out: &mut Vec<u8>, r: &Receipt) {
    put_receipt_marked(out, r, |_| false);
}

/// The receipt section (§6.3), [v0.13] the data of each log whose index `marked` holds as the
/// L1 form's marker `u32 (len | 2^31) ‖ R_d` (`R_d` its word-tree root, SPEC.md §5.19).
pub(crate) fn put_receipt_marked(out: &mut Vec<u8>, r: &Receipt, marked: impl Fn(usize) -> bool) {
    out.extend_from_slice(&r.tx_index.to_be_bytes());
    out.push(u8::from(r.success));
    out.extend_from_slice(&r.cumulative_gas.to_be_bytes());
    match r.deposit_nonce {
        Some(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_be_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&(r.logs.len() as u32).to_be_bytes());
    for (i, log) in r.logs.iter().enumerate() {
        out.extend_from_slice(log.address.as_slice());
        let topics = log.topics();
        out.extend_from_slice(&(topics.len() as u32).to_be_bytes());
        for t in topics {
            out.extend_from_slice(t.as_slice());
        }
        let data = &log.data.data;
        if marked(i) {
            out.extend_from_slice(&(data.len() as u32 | (1 << 31)).to_be_bytes());
            out.extend_from_slice(crate::merkle::WordTree::from_bytes(data).root().as_slice());
        } else {
            put_bytes(out, data);
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_nodes(out: &mut Vec<u8>, nodes: &[Bytes]) {
    out.extend_from_slice(&(nodes.len() as u32).to_be_bytes());
    for n in nodes {
        put_bytes(out, n);
    }
}

impl MachineState {
    /// Decodes the [`STATE_ENCODED_LEN`]-byte encoding produced by [`MachineState::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes };
        let state = r.state()?;
        r.finish()?;
        Ok(state)
    }
}

fn put_range_proofs(out: &mut Vec<u8>, proofs: &[RangeProof]) {
    out.extend_from_slice(&(proofs.len() as u32).to_be_bytes());
    for p in proofs {
        // A proof's start is a word index (below 2^32) wherever a prover made it.
        out.extend_from_slice(&(p.start as u32).to_be_bytes());
        out.extend_from_slice(&(p.words.len() as u32).to_be_bytes());
        for w in p.words.iter().chain(&p.siblings) {
            out.extend_from_slice(w.as_slice());
        }
    }
}

fn put_word_proof(out: &mut Vec<u8>, p: &WordProof) {
    out.extend_from_slice(p.word.as_slice());
    for s in &p.siblings {
        out.extend_from_slice(s.as_slice());
    }
}

impl StepProof {
    /// The canonical encoding (SPEC.md §6.3).
    ///
    /// Word and range proofs are written with the siblings they hold; a proof whose paths do not
    /// have the number of siblings SPEC.md §3.4 fixes does not verify and does not round-trip.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + STATE_ENCODED_LEN
                + 4
                + self.code.len()
                + 4
                + 32 * self.stack.len()
                + 33
                + 8
                + [&self.memory, &self.calldata, &self.returndata]
                    .iter()
                    .flat_map(|l| l.iter())
                    .map(|p| 8 + 32 * (p.words.len() + p.siblings.len()))
                    .sum::<usize>(),
        );
        out.push(PROOF_VERSION);
        out.extend_from_slice(&self.pre.encode());
        out.extend_from_slice(&(self.code.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.code);
        out.extend_from_slice(&(self.stack.len() as u32).to_be_bytes());
        for item in &self.stack {
            out.extend_from_slice(&item.to_be_bytes::<32>());
        }
        match self.stack_rest {
            Some(rest) => {
                out.push(1);
                out.extend_from_slice(rest.as_slice());
            }
            None => out.push(0),
        }
        put_range_proofs(&mut out, &self.memory);
        put_range_proofs(&mut out, &self.calldata);
        put_range_proofs(&mut out, &self.returndata);
        match &self.tx_env {
            Some(env) => {
                out.push(1);
                out.extend_from_slice(&env.encode());
            }
            None => out.push(0),
        }
        match &self.block_env {
            Some(env) => {
                out.push(1);
                out.extend_from_slice(&env.encode());
            }
            None => out.push(0),
        }
        match &self.world {
            Some(w) => {
                out.push(1);
                out.extend_from_slice(&w.encode());
            }
            None => out.push(0),
        }
        put_smt_proofs(&mut out, &self.trees);
        out.extend_from_slice(&(self.accounts.len() as u32).to_be_bytes());
        for a in &self.accounts {
            out.extend_from_slice(&a.encode());
        }
        out.extend_from_slice(&(self.slots.len() as u32).to_be_bytes());
        for v in &self.slots {
            out.extend_from_slice(&v.to_be_bytes::<32>());
        }
        out.extend_from_slice(&(self.base_accounts.len() as u32).to_be_bytes());
        for a in &self.base_accounts {
            match &a.account {
                Some(acc) => {
                    out.push(1);
                    out.extend_from_slice(&acc.nonce.to_be_bytes());
                    out.extend_from_slice(&acc.balance.to_be_bytes::<32>());
                    out.extend_from_slice(acc.storage_root.as_slice());
                    out.extend_from_slice(acc.code_hash.as_slice());
                }
                None => out.push(0),
            }
            put_nodes(&mut out, &a.nodes);
        }
        out.extend_from_slice(&(self.base_slots.len() as u32).to_be_bytes());
        for s in &self.base_slots {
            out.extend_from_slice(&s.value.to_be_bytes::<32>());
            put_nodes(&mut out, &s.nodes);
        }
        out.extend_from_slice(&(self.codes.len() as u32).to_be_bytes());
        for c in &self.codes {
            put_bytes(&mut out, c);
        }
        self.put_boundary(&mut out);
        match &self.transaction {
            Some((encoding, position)) => {
                out.push(1);
                put_bytes(&mut out, encoding);
                put_word_proof(&mut out, position);
            }
            None => out.push(0),
        }
        match &self.constants {
            Some(c) => {
                out.push(1);
                out.extend_from_slice(&c.encode());
            }
            None => out.push(0),
        }
        match &self.sealing {
            Some(r) => {
                out.push(1);
                out.extend_from_slice(&r.encode());
            }
            None => out.push(0),
        }
        match &self.fold_key {
            Some(FoldKey::Account(a)) => {
                out.extend_from_slice(&[1, 0]);
                out.extend_from_slice(a.as_slice());
            }
            Some(FoldKey::Slot(a, incarnation, slot)) => {
                out.extend_from_slice(&[1, 1]);
                out.extend_from_slice(a.as_slice());
                out.extend_from_slice(&incarnation.to_be_bytes());
                out.extend_from_slice(&slot.to_be_bytes::<32>());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.tries.len() as u32).to_be_bytes());
        for w in &self.tries {
            put_nodes(&mut out, &w.nodes);
            match &w.sibling {
                Some(node) => {
                    out.push(1);
                    put_bytes(&mut out, node);
                }
                None => out.push(0),
            }
        }
        match &self.receipt {
            Some(r) => {
                out.push(1);
                put_receipt(&mut out, r);
            }
            None => out.push(0),
        }
        out
    }

    /// The frame link, checkpoint and self-destruct list.
    fn put_boundary(&self, out: &mut Vec<u8>) {
        match &self.frame {
            Some(f) => {
                out.push(1);
                out.extend_from_slice(&f.caller.encode());
                out.extend_from_slice(&f.out_offset.to_be_bytes());
                out.extend_from_slice(&f.out_len.to_be_bytes());
                out.push(f.kind as u8);
            }
            None => out.push(0),
        }
        match &self.checkpoint {
            Some(c) => {
                out.push(1);
                out.extend_from_slice(&c.encode());
            }
            None => out.push(0),
        }
        match &self.destructs {
            Some(list) => {
                out.push(1);
                out.extend_from_slice(&(list.len() as u32).to_be_bytes());
                for a in list {
                    out.extend_from_slice(a.as_slice());
                }
            }
            None => out.push(0),
        }
    }

    /// Decodes a canonical encoding (version 6 only: earlier versions are refused).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes };
        let version = r.u8()?;
        if version != PROOF_VERSION {
            return Err(DecodeError::Version(version));
        }
        let pre = r.state()?;
        let code_len = r.count(1)?;
        let code = r.take(code_len)?.to_vec();
        let n = r.count(32)?;
        let stack = (0..n).map(|_| r.u256()).collect::<Result<_, _>>()?;
        let stack_rest = if r.flag()? { Some(r.b256()?) } else { None };
        let memory = r.range_proofs()?;
        let calldata = r.range_proofs()?;
        let returndata = r.range_proofs()?;
        let tx_env = if r.flag()? { Some(r.tx_env()?) } else { None };
        let block_env = if r.flag()? {
            Some(r.block_env()?)
        } else {
            None
        };
        let world = if r.flag()? { Some(r.world()?) } else { None };
        let trees = r.smt_proofs()?;
        let accounts = r.list(ACCOUNT_LEN, |r| r.account_record())?;
        let slots = r.list(32, |r| r.u256())?;
        let base_accounts = r.list(5, |r| {
            let account = if r.flag()? {
                Some(TrieAccount::new(r.u64()?, r.u256()?, r.b256()?, r.b256()?))
            } else {
                None
            };
            Ok(MptAccount {
                account,
                nodes: r.nodes()?,
            })
        })?;
        let base_slots = r.list(36, |r| {
            Ok(MptSlot {
                value: r.u256()?,
                nodes: r.nodes()?,
            })
        })?;
        let codes = r.list(4, |r| r.bytes())?;
        let frame = if r.flag()? { Some(r.frame()?) } else { None };
        let checkpoint = if r.flag()? {
            Some(r.checkpoint()?)
        } else {
            None
        };
        let destructs = if r.flag()? {
            Some(r.list(20, |r| r.address())?)
        } else {
            None
        };
        let transaction = if r.flag()? {
            let encoding = r.bytes()?;
            Some((encoding, r.word_proof()?))
        } else {
            None
        };
        let constants = if r.flag()? {
            Some(r.constants()?)
        } else {
            None
        };
        let sealing = if r.flag()? { Some(r.sealing()?) } else { None };
        let fold_key = if r.flag()? {
            Some(match r.u8()? {
                0 => FoldKey::Account(r.address()?),
                1 => FoldKey::Slot(r.address()?, r.u64()?, r.u256()?),
                k => return Err(DecodeError::Flag(k)),
            })
        } else {
            None
        };
        let tries = r.list(5, |r| {
            let nodes = r.nodes()?;
            let sibling = if r.flag()? {
                Some(Bytes::from(r.bytes()?))
            } else {
                None
            };
            Ok(TrieWrite { nodes, sibling })
        })?;
        let receipt = if r.flag()? { Some(r.receipt()?) } else { None };
        r.finish()?;
        Ok(Self {
            pre,
            code,
            stack,
            stack_rest,
            memory,
            calldata,
            returndata,
            tx_env,
            block_env,
            world,
            trees,
            accounts,
            slots,
            base_accounts,
            base_slots,
            codes,
            frame,
            checkpoint,
            destructs,
            transaction,
            constants,
            sealing,
            fold_key,
            tries,
            receipt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::WordTree;

    fn sample() -> StepProof {
        let tree = WordTree::from_bytes(&[7u8; 70]);
        StepProof {
            pre: MachineState {
                status: Status::Running,
                refund: -5,
                is_static: true,
                ..MachineState::new_frame(
                    Default::default(),
                    &TxEnv::default(),
                    &BlockEnv::default(),
                )
            },
            code: vec![0x60, 0x01, 0x00],
            stack: vec![U256::from(3), U256::MAX],
            stack_rest: Some(B256::repeat_byte(4)),
            memory: vec![tree.prove_range(0, 1), tree.prove_range(1, 2)],
            calldata: vec![tree.prove_range(1, 1)],
            returndata: vec![tree.prove_range(3, 5)],
            tx_env: Some(TxEnv {
                blob_hashes: vec![B256::repeat_byte(1)],
                ..TxEnv::default()
            }),
            block_env: Some(BlockEnv::default()),
            world: Some(World {
                logs_count: 3,
                accounts_root: B256::repeat_byte(5),
                ..World::default()
            }),
            trees: vec![{
                let mut t = crate::smt::SparseTree::default();
                t.set(B256::repeat_byte(1), B256::repeat_byte(2));
                t.set(B256::repeat_byte(3), B256::repeat_byte(2));
                t.prove(B256::repeat_byte(1))
            }],
            accounts: vec![AccountRecord::default()],
            slots: vec![U256::from(9)],
            base_accounts: vec![
                MptAccount {
                    account: Some(TrieAccount::default()),
                    nodes: vec![Bytes::from(vec![1, 2, 3])],
                },
                MptAccount {
                    account: None,
                    nodes: vec![],
                },
            ],
            base_slots: vec![MptSlot {
                value: U256::from(1),
                nodes: vec![Bytes::from(vec![4]), Bytes::new()],
            }],
            codes: vec![vec![0x60, 0x00], vec![]],
            frame: Some(FrameLink {
                caller: MachineState {
                    depth: 3,
                    ..MachineState::new_frame(
                        Default::default(),
                        &TxEnv::default(),
                        &BlockEnv::default(),
                    )
                },
                out_offset: 7,
                out_len: 9,
                kind: FrameKind::Create,
            }),
            checkpoint: Some(Checkpoint {
                logs_count: 2,
                prev: B256::repeat_byte(3),
                ..Checkpoint::default()
            }),
            destructs: Some(vec![Address::repeat_byte(4)]),
            transaction: Some((vec![0x02, 0xc0, 7], tree.prove(0))),
            constants: Some(BlockConstants {
                tx_count: 3,
                extra_data: vec![0, 0, 0, 0, 250, 0, 0, 0, 6],
                ..BlockConstants::default()
            }),
            sealing: Some(SealingRecord {
                folded_root: B256::repeat_byte(8),
                ..SealingRecord::default()
            }),
            fold_key: Some(FoldKey::Slot(Address::repeat_byte(2), 3, U256::from(4))),
            tries: vec![
                TrieWrite {
                    nodes: vec![Bytes::from(vec![0xc1, 0x80])],
                    sibling: Some(Bytes::from(vec![0xc0])),
                },
                TrieWrite::default(),
            ],
            receipt: Some(Receipt {
                tx_index: 3,
                deposit_nonce: Some(4),
                success: true,
                cumulative_gas: 99,
                logs: vec![Log::new_unchecked(
                    Address::repeat_byte(5),
                    vec![B256::repeat_byte(6)],
                    Bytes::from(vec![7, 8]),
                )],
            }),
        }
    }

    #[test]
    fn proof_round_trips() {
        let p = sample();
        let bytes = p.encode();
        assert_eq!(StepProof::decode(&bytes), Ok(p));
        assert_eq!(
            MachineState::decode(&sample().pre.encode()),
            Ok(sample().pre)
        );
    }

    /// v0.4's version byte (word proofs, not range multiproofs) is refused.
    #[test]
    fn version_4_is_refused() {
        let mut bytes = sample().encode();
        bytes[0] = 4;
        assert_eq!(StepProof::decode(&bytes), Err(DecodeError::Version(4)));
    }

    /// A range's start and count fix its sibling count: an empty range, one past the tree's
    /// end, and a count changed in place are refused.
    #[test]
    fn bad_ranges_are_refused() {
        // The first memory range's start and count follow the stack rest.
        let at = 1 + STATE_ENCODED_LEN + 4 + 3 + 4 + 64 + 1 + 32 + 4;
        let bytes = sample().encode();
        assert_eq!(&bytes[at..at + 8], &[0, 0, 0, 0, 0, 0, 0, 1]);
        let with = |start: u32, count: u32| {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&start.to_be_bytes());
            b[at + 4..at + 8].copy_from_slice(&count.to_be_bytes());
            StepProof::decode(&b)
        };
        assert_eq!(
            with(0, 0),
            Err(DecodeError::BadRange { start: 0, count: 0 })
        );
        assert_eq!(
            with(u32::MAX, 2),
            Err(DecodeError::BadRange {
                start: u32::MAX,
                count: 2
            })
        );
        // The same number of words and siblings, another range: the codec takes it, the step
        // refuses it (its range is not the one the step reads).
        assert!(with(1, 1).is_ok());
        assert!(with(0, 2).is_ok());
        assert!(with(0, 3).is_err());
    }

    #[test]
    fn every_truncation_and_extension_is_rejected() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(StepProof::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            StepProof::decode(&longer),
            Err(DecodeError::TrailingBytes(1))
        );
    }

    proptest::proptest! {
        /// Decoding arbitrary bytes, or a valid proof with one byte changed, never panics.
        #[test]
        fn decoding_never_panics(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            at in 0usize..4000,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let _ = StepProof::decode(&noise);
            let mut bytes = sample().encode();
            let i = at % bytes.len();
            bytes[i] = byte;
            let _ = StepProof::decode(&bytes);
        }
    }

    #[test]
    fn forged_counts_do_not_allocate() {
        let mut bytes = sample().encode();
        // The code length field follows the version byte and the state record.
        let at = 1 + STATE_ENCODED_LEN;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(StepProof::decode(&bytes), Err(DecodeError::Truncated));
    }
}
