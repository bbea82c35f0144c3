//! The inbox's rules (BATCHES.md §4), step for step in the order `BatchInbox.sol` checks them,
//! so the same append fails here with the same error the contract reverts with. Derivation runs
//! the successful appends through it to get the recorded blocks; the differential tests hold it
//! equal to the contract.

use super::{
    codec::{CodecError, FLAG_CONTINUATION, FLAG_KEEP_OPEN, Reader},
    commit::{AppendRecord, BlockInputs},
    tree::IncrementalTree,
};
use alloy::primitives::{B256, Bytes, keccak256};

/// The inbox's constructor parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxConfig {
    /// The first L2 block after the genesis.
    pub first_block: u64,
    /// The first block's L1 origin.
    pub genesis_epoch: u64,
    /// The L2 genesis timestamp.
    pub genesis_timestamp: u64,
    /// The sequencing window in L1 blocks (the contract makes 0 into 1).
    pub seq_window_size: u64,
    /// The sequencer drift in seconds.
    pub max_sequencer_drift: u64,
}

/// Where the inbox stands: its `State` plus, for derivation, the open block's transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxState {
    /// The next block to record (the open block's number while one is open).
    pub next_block: u64,
    /// Timestamp of the last block started.
    pub timestamp: u64,
    /// Its epoch.
    pub epoch: u64,
    /// Its sequence number.
    pub sequence_number: u64,
    /// The epoch's L1 block hash.
    pub epoch_hash: B256,
    /// The epoch's L1 block timestamp.
    pub epoch_timestamp: u64,
    /// Whether any block was started.
    pub started: bool,
    /// The open block, if the last block started is still open.
    pub open: Option<OpenBlock>,
}

/// A block whose transactions continue in a later append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenBlock {
    /// Its transaction tree so far.
    pub tree: IncrementalTree,
    /// Its transactions so far.
    pub transactions: Vec<Bytes>,
}

/// The L1 block an append or a force runs in.
#[derive(Clone, Copy)]
pub struct L1Context<'a> {
    /// Its number (`block.number`).
    pub number: u64,
    /// The canonical hash of an earlier block, when the EVM can read it (BLOCKHASH for the last
    /// 256, the EIP-2935 history for 8191), else `None`.
    pub block_hash: &'a dyn Fn(u64) -> Option<B256>,
}

impl std::fmt::Debug for L1Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1Context")
            .field("number", &self.number)
            .finish()
    }
}

/// A block the inbox recorded, with its transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBlock {
    /// Its inputs (and so its commitment).
    pub inputs: BlockInputs,
    /// Its transactions, EIP-2718 encoded, in order.
    pub transactions: Vec<Bytes>,
}

/// What one successful append or force did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The block it started at.
    pub first: u64,
    /// The blocks it completed, in order.
    pub blocks: Vec<RecordedBlock>,
    /// The record it stored (none when it completed no block).
    pub record: Option<AppendRecord>,
}

/// Why the inbox refuses an append or a force; each is the contract's custom error of the same
/// name ([`InboxError::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InboxError {
    /// The data ends inside an item.
    #[error("truncated append data")]
    Truncated,
    /// The append does not start at the inbox's next block.
    #[error("the append starts at block {got}, the inbox is at {expected}")]
    WrongFirstBlock {
        /// The inbox's next block.
        expected: u64,
        /// The append's first block.
        got: u64,
    },
    /// Unknown flag bits.
    #[error("unknown flags {0:#04x}")]
    BadFlags(u8),
    /// The continuation flag does not say whether a block is open.
    #[error("the continuation flag is wrong (a block is open: {open})")]
    ContinuationMismatch {
        /// Whether a block is open.
        open: bool,
    },
    /// Neither a continuation nor a block.
    #[error("an append with nothing in it")]
    EmptyAppend,
    /// The continuation's count or frontier is not the open block's.
    #[error("the continuation's frontier is not the open block's")]
    FrontierMismatch,
    /// The epoch neither stays nor advances by one.
    #[error("epoch {0} does not follow the last block's")]
    EpochNotNext(u64),
    /// A block starting an epoch has no header.
    #[error("a block starting an epoch carries no L1 header")]
    HeaderMissing,
    /// A block keeping its epoch has a header.
    #[error("a block keeping its epoch carries an L1 header")]
    UnexpectedHeader,
    /// The epoch is not before the current L1 block.
    #[error("epoch {0} is not before the current L1 block")]
    EpochInFuture(u64),
    /// The epoch's sequencing window has closed.
    #[error("epoch {0}'s sequencing window has closed")]
    WindowClosed(u64),
    /// The epoch's hash is beyond what the EVM can read.
    #[error("the hash of L1 block {0} is not available")]
    EpochHashUnavailable(u64),
    /// The header does not hash to the epoch's block hash.
    #[error("the header does not hash to L1 block {0}'s hash")]
    HeaderMismatch(u64),
    /// The header is not an RLP list with a timestamp at index 11.
    #[error("the L1 header does not parse")]
    BadHeader,
    /// The timestamp is before the previous block's.
    #[error("timestamp {0} is before the previous block's")]
    TimestampBeforeParent(u64),
    /// The timestamp is before the origin's.
    #[error("timestamp {0} is before the origin's")]
    TimestampBeforeOrigin(u64),
    /// The timestamp runs too far ahead of the origin's.
    #[error("timestamp {0} is past the origin's plus the drift")]
    SequencerDrift(u64),
    /// An empty transaction (its index in the block).
    #[error("transaction {0} is empty")]
    EmptyTransaction(u64),
    /// A deposit transaction (its index in the block).
    #[error("transaction {0} is a deposit")]
    DepositTransaction(u64),
    /// Forcing before the window passed (the first L1 block where it may).
    #[error("the sequencing window is open until L1 block {0}")]
    WindowOpen(u64),
}

impl InboxError {
    /// The name of the contract's custom error.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Truncated => "Truncated",
            Self::WrongFirstBlock { .. } => "WrongFirstBlock",
            Self::BadFlags(_) => "BadFlags",
            Self::ContinuationMismatch { .. } => "ContinuationMismatch",
            Self::EmptyAppend => "EmptyAppend",
            Self::FrontierMismatch => "FrontierMismatch",
            Self::EpochNotNext(_) => "EpochNotNext",
            Self::HeaderMissing => "HeaderMissing",
            Self::UnexpectedHeader => "UnexpectedHeader",
            Self::EpochInFuture(_) => "EpochInFuture",
            Self::WindowClosed(_) => "WindowClosed",
            Self::EpochHashUnavailable(_) => "EpochHashUnavailable",
            Self::HeaderMismatch(_) => "HeaderMismatch",
            Self::BadHeader => "BadHeader",
            Self::TimestampBeforeParent(_) => "TimestampBeforeParent",
            Self::TimestampBeforeOrigin(_) => "TimestampBeforeOrigin",
            Self::SequencerDrift(_) => "SequencerDrift",
            Self::EmptyTransaction(_) => "EmptyTransaction",
            Self::DepositTransaction(_) => "DepositTransaction",
            Self::WindowOpen(_) => "WindowOpen",
        }
    }
}

impl From<CodecError> for InboxError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Truncated => Self::Truncated,
            CodecError::BadFlags(flags) => Self::BadFlags(flags),
            CodecError::EmptyAppend => Self::EmptyAppend,
        }
    }
}

impl InboxState {
    /// The state of a fresh inbox.
    pub fn genesis(config: &InboxConfig) -> Self {
        Self {
            next_block: config.first_block,
            timestamp: config.genesis_timestamp,
            epoch: config.genesis_epoch,
            sequence_number: 0,
            epoch_hash: B256::ZERO,
            epoch_timestamp: 0,
            started: false,
            open: None,
        }
    }

    /// The state right after block `inputs` closed (no block open).
    pub fn after(inputs: &BlockInputs, epoch_timestamp: u64) -> Self {
        Self {
            next_block: inputs.number + 1,
            timestamp: inputs.timestamp,
            epoch: inputs.epoch,
            sequence_number: inputs.sequence_number,
            epoch_hash: inputs.epoch_hash,
            epoch_timestamp,
            started: true,
            open: None,
        }
    }
}

/// The inbox: its parameters and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    config: InboxConfig,
    state: InboxState,
}

impl Inbox {
    /// A fresh inbox.
    pub fn new(config: InboxConfig) -> Self {
        let config = InboxConfig {
            seq_window_size: config.seq_window_size.max(1),
            ..config
        };
        Self {
            state: InboxState::genesis(&config),
            config,
        }
    }

    /// An inbox at `state`.
    pub fn resume(config: InboxConfig, state: InboxState) -> Self {
        let mut inbox = Self::new(config);
        inbox.state = state;
        inbox
    }

    /// Its parameters.
    pub fn config(&self) -> &InboxConfig {
        &self.config
    }

    /// Its state.
    pub fn state(&self) -> &InboxState {
        &self.state
    }

    /// The first L1 block in which `forceNextEpoch` may be called.
    pub fn forcible_from(&self) -> u64 {
        let base = if self.state.started {
            self.state.epoch
        } else {
            self.config.genesis_epoch
        };
        base.saturating_add(self.config.seq_window_size)
    }

    /// `appendBlocks(data)` in L1 block `l1`: the blocks it records, or the contract's revert
    /// (and then no change).
    pub fn append(&mut self, data: &[u8], l1: L1Context<'_>) -> Result<Appended, InboxError> {
        let mut s = self.state.clone();
        let mut r = Reader::new(data);
        let first = r.u64()?;
        if first != s.next_block {
            return Err(InboxError::WrongFirstBlock {
                expected: s.next_block,
                got: first,
            });
        }
        let flags = r.u8()?;
        if flags > (FLAG_CONTINUATION | FLAG_KEEP_OPEN) {
            return Err(InboxError::BadFlags(flags));
        }
        let keep_open = flags & FLAG_KEEP_OPEN != 0;
        if (flags & FLAG_CONTINUATION != 0) != s.open.is_some() {
            return Err(InboxError::ContinuationMismatch {
                open: s.open.is_some(),
            });
        }
        let mut completed = Vec::new();
        if let Some(open) = s.open.take() {
            self.check_window(s.epoch, l1)?;
            let open = continuation(&mut r, open)?;
            self.finish(&mut s, open, keep_open && r.is_empty(), &mut completed);
        } else if r.is_empty() {
            return Err(InboxError::EmptyAppend);
        }
        while !r.is_empty() {
            self.start_block(&mut r, &mut s, l1)?;
            let open = transactions(&mut r, OpenBlock::default())?;
            self.finish(&mut s, open, keep_open && r.is_empty(), &mut completed);
        }
        self.state = s;
        Ok(appended(first, l1.number, completed))
    }

    /// `forceNextEpoch(originHeader)` in L1 block `l1`.
    pub fn force_next_epoch(
        &mut self,
        origin_header: &[u8],
        l1: L1Context<'_>,
    ) -> Result<Appended, InboxError> {
        self.force(l1, |epoch, hash| {
            if keccak256(origin_header) != hash {
                return Err(InboxError::HeaderMismatch(epoch));
            }
            header_timestamp(origin_header)
        })
    }

    /// [`Self::force_next_epoch`] with the origin's timestamp known (derivation reads it from its
    /// L1 view, whose hash the contract checked the header against).
    pub fn force_next_epoch_at(
        &mut self,
        origin_timestamp: u64,
        l1: L1Context<'_>,
    ) -> Result<Appended, InboxError> {
        self.force(l1, |_, _| Ok(origin_timestamp))
    }

    fn force(
        &mut self,
        l1: L1Context<'_>,
        origin_timestamp: impl FnOnce(u64, B256) -> Result<u64, InboxError>,
    ) -> Result<Appended, InboxError> {
        let from = self.forcible_from();
        if l1.number < from {
            return Err(InboxError::WindowOpen(from));
        }
        let mut s = self.state.clone();
        let epoch = if s.started {
            s.epoch + 1
        } else {
            self.config.genesis_epoch
        };
        let hash = epoch_hash(epoch, l1)?;
        let origin_timestamp = origin_timestamp(epoch, hash)?;
        let first = s.next_block;
        let mut completed = Vec::new();
        if let Some(open) = s.open.take() {
            close(&mut s, open, &mut completed);
        }
        s.epoch = epoch;
        s.epoch_hash = hash;
        s.epoch_timestamp = origin_timestamp;
        s.sequence_number = 0;
        s.timestamp = s.timestamp.max(origin_timestamp);
        s.started = true;
        close(&mut s, OpenBlock::default(), &mut completed);
        self.state = s;
        Ok(appended(first, l1.number, completed))
    }

    fn check_window(&self, epoch: u64, l1: L1Context<'_>) -> Result<(), InboxError> {
        if epoch >= l1.number {
            return Err(InboxError::EpochInFuture(epoch));
        }
        if l1.number >= epoch.saturating_add(self.config.seq_window_size) {
            return Err(InboxError::WindowClosed(epoch));
        }
        Ok(())
    }

    /// A block's timestamp, epoch and header, with the epoch and time rules.
    fn start_block(
        &self,
        r: &mut Reader<'_>,
        s: &mut InboxState,
        l1: L1Context<'_>,
    ) -> Result<(), InboxError> {
        let timestamp = r.u64()?;
        let epoch = r.u64()?;
        let header_len = r.u32()? as usize;
        let advances = if !s.started {
            if epoch != self.config.genesis_epoch {
                return Err(InboxError::EpochNotNext(epoch));
            }
            true
        } else if epoch == s.epoch {
            false
        } else if Some(epoch) == s.epoch.checked_add(1) {
            true
        } else {
            return Err(InboxError::EpochNotNext(epoch));
        };
        if advances {
            if header_len == 0 {
                return Err(InboxError::HeaderMissing);
            }
            let header = r.bytes(header_len)?;
            self.check_window(epoch, l1)?;
            let hash = epoch_hash(epoch, l1)?;
            if keccak256(header) != hash {
                return Err(InboxError::HeaderMismatch(epoch));
            }
            s.epoch_timestamp = header_timestamp(header)?;
            s.epoch = epoch;
            s.epoch_hash = hash;
            s.sequence_number = 0;
        } else {
            if header_len != 0 {
                return Err(InboxError::UnexpectedHeader);
            }
            self.check_window(epoch, l1)?;
            s.sequence_number += 1;
        }
        if timestamp < s.timestamp {
            return Err(InboxError::TimestampBeforeParent(timestamp));
        }
        if timestamp < s.epoch_timestamp {
            return Err(InboxError::TimestampBeforeOrigin(timestamp));
        }
        if u128::from(timestamp)
            > u128::from(s.epoch_timestamp) + u128::from(self.config.max_sequencer_drift)
        {
            return Err(InboxError::SequencerDrift(timestamp));
        }
        s.timestamp = timestamp;
        s.started = true;
        Ok(())
    }

    /// Keeps the item's block open, or closes it.
    fn finish(
        &self,
        s: &mut InboxState,
        open: OpenBlock,
        keep_open: bool,
        completed: &mut Vec<RecordedBlock>,
    ) {
        if keep_open {
            s.open = Some(open);
        } else {
            close(s, open, completed);
        }
    }
}

/// A continuation: the count and frontier must be the open block's, then more transactions.
fn continuation(r: &mut Reader<'_>, open: OpenBlock) -> Result<OpenBlock, InboxError> {
    let done = r.u32()?;
    if u64::from(done) != open.tree.count() {
        return Err(InboxError::FrontierMismatch);
    }
    let words = r.bytes(32 * done.count_ones() as usize)?;
    if keccak256(words) != open.tree.frontier_hash() {
        return Err(InboxError::FrontierMismatch);
    }
    transactions(r, open)
}

/// `tx_count ‖ (len ‖ tx)*`, each pushed onto the block's tree.
fn transactions(r: &mut Reader<'_>, mut open: OpenBlock) -> Result<OpenBlock, InboxError> {
    let count = r.u32()?;
    for _ in 0..count {
        let len = r.u32()? as usize;
        let index = open.tree.count();
        if len == 0 {
            return Err(InboxError::EmptyTransaction(index));
        }
        let tx = r.bytes(len)?;
        if tx[0] == 0x7e {
            return Err(InboxError::DepositTransaction(index));
        }
        open.tree.push(keccak256(tx));
        open.transactions.push(Bytes::copy_from_slice(tx));
    }
    Ok(open)
}

/// Records the block the state describes with `open`'s transactions.
fn close(s: &mut InboxState, open: OpenBlock, completed: &mut Vec<RecordedBlock>) {
    let inputs = BlockInputs {
        number: s.next_block,
        timestamp: s.timestamp,
        epoch: s.epoch,
        epoch_hash: s.epoch_hash,
        sequence_number: s.sequence_number,
        tx_root: open.tree.root(),
        // The word tree's width bounds the count; calldata bounds it far below.
        tx_count: u32::try_from(open.tree.count()).unwrap_or(u32::MAX),
    };
    completed.push(RecordedBlock {
        inputs,
        transactions: open.transactions,
    });
    s.next_block += 1;
}

fn appended(first: u64, l1_block: u64, blocks: Vec<RecordedBlock>) -> Appended {
    let record = (!blocks.is_empty()).then(|| {
        let inputs: Vec<B256> = blocks.iter().map(|b| b.inputs.commitment()).collect();
        AppendRecord::new(first, l1_block, &inputs)
    });
    Appended {
        first,
        blocks,
        record,
    }
}

/// The hash of L1 block `epoch` as the contract reads it.
fn epoch_hash(epoch: u64, l1: L1Context<'_>) -> Result<B256, InboxError> {
    if epoch >= l1.number {
        return Err(InboxError::EpochInFuture(epoch));
    }
    match (l1.block_hash)(epoch) {
        Some(hash) if hash != B256::ZERO => Ok(hash),
        _ => Err(InboxError::EpochHashUnavailable(epoch)),
    }
}

/// Whether the EVM in L1 block `current` can read the hash of block `number`: BLOCKHASH for
/// the 256 blocks before it, the EIP-2935 history contract for 8191.
pub fn block_hash_readable(current: u64, number: u64) -> bool {
    number < current && current - number <= 8191
}

/// The timestamp (item 11) of an RLP block header, read as the contract reads it: each item's
/// length from its prefix, bounds checked, no canonical-form checks (the header's hash is
/// checked against the canonical chain first).
pub fn header_timestamp(header: &[u8]) -> Result<u64, InboxError> {
    let end = header.len();
    let (offset, payload, list) = rlp_item(header, 0)?;
    if !list || offset + payload != end {
        return Err(InboxError::BadHeader);
    }
    let mut q = offset;
    for _ in 0..11 {
        let (offset, payload, _) = rlp_item(header, q)?;
        q += offset + payload;
    }
    let (offset, payload, list) = rlp_item(header, q)?;
    if list || payload > 8 {
        return Err(InboxError::BadHeader);
    }
    Ok(header[q + offset..q + offset + payload]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The RLP item at `q`: payload offset (relative), payload length, list or not.
fn rlp_item(data: &[u8], q: usize) -> Result<(usize, usize, bool), InboxError> {
    let end = data.len();
    let prefix = *data.get(q).ok_or(InboxError::BadHeader)? as usize;
    let (offset, payload, list) = match prefix {
        0..0x80 => (0, 1, false),
        0x80..0xb8 => (1, prefix - 0x80, false),
        0xb8..0xc0 => {
            let (o, p) = long_length(data, q, prefix - 0xb7)?;
            (o, p, false)
        }
        0xc0..0xf8 => (1, prefix - 0xc0, true),
        _ => {
            let (o, p) = long_length(data, q, prefix - 0xf7)?;
            (o, p, true)
        }
    };
    if (q as u128) + (offset as u128) + (payload as u128) > end as u128 {
        return Err(InboxError::BadHeader);
    }
    Ok((offset, payload, list))
}

fn long_length(data: &[u8], q: usize, length_bytes: usize) -> Result<(usize, usize), InboxError> {
    let bytes = data
        .get(q + 1..q + 1 + length_bytes)
        .ok_or(InboxError::BadHeader)?;
    let payload = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let payload = usize::try_from(payload).map_err(|_| InboxError::BadHeader)?;
    Ok((1 + length_bytes, payload))
}
