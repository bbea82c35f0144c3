//! The first state of a block (SPEC.md §5.18): `blockStart(parentOutputRoot, n, proof)` derives
//! it from the agreed output root of block `n − 1` (its preimage), the parent's header and the
//! block's inputs, under the chain's parameters. The system calls that follow it are steps
//! (`step/block_start.rs`).

use crate::block::output_root;
use crate::proof::VerifyError;
use crate::receipt::DEPOSIT_TX_TYPE;
use crate::state::{BlockConstants, BlockEnv, MachineState, Rules, Status, TxRoots};
use crate::world::World;
use alloy::consensus::Header;
use alloy::primitives::{Address, B256, U256, address, keccak256};
use alloy::rlp::Decodable;

/// Domain tag of the block inputs record.
pub const TAG_BLOCK_INPUTS: u8 = 0x1a;
/// Length of an encoded [`BlockInputs`].
pub const BLOCK_INPUTS_ENCODED_LEN: usize = 1 + 8 + 32 + 32 + 8 + 32 + 8 + 32;
/// Version byte of an encoded [`BlockStartProof`] (the proof version of SPEC.md §6.3).
pub const BLOCK_START_VERSION: u8 = 7;
/// Domain tag of a block's inputs commitment `inputs_n` in the L1 inbox (op-node/BATCHES.md §3.2).
pub const TAG_INBOX_INPUTS: u8 = 0x20;
/// Domain tag of an append record of the L1 inbox (op-node/BATCHES.md §3.3).
pub const TAG_APPEND_RECORD: u8 = 0x21;
/// Length of an encoded [`InboxOpening`]: the inbox's `blockInputs` proof (BATCHES.md §3.4).
pub const INBOX_OPENING_LEN: usize = 4 * 8 + 32 + 32 * crate::merkle::WORD_TREE_DEPTH;
/// Length of an encoded [`L1Tie`]: `epoch ‖ epoch_hash ‖ sequence_number ‖ opening`.
pub const L1_TIE_LEN: usize = 8 + 32 + 8 + INBOX_OPENING_LEN;
/// Offset of the parent header's length in an encoded [`BlockStartProof`].
const HEADER_LEN_AT: usize = 1 + 96 + L1_TIE_LEN;

/// op-node's fee recipient of every L2 block: the SequencerFeeVault predeploy.
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// The chain's parameters a block start derives the block environment with (SPEC.md §5.18):
/// constants of the verifier (immutables of an on-chain one), not part of any proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainParams {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Fee recipient (COINBASE).
    pub coinbase: Address,
    /// Gas limit of every block.
    pub gas_limit: u64,
    /// EIP-1559 base fee change denominator.
    pub base_fee_denominator: u32,
    /// EIP-1559 elasticity multiplier.
    pub elasticity: u32,
    /// The base fee never falls below this.
    pub min_base_fee: u64,
}

impl ChainParams {
    /// op-node's L2 (`op-node/src/chain.rs`): the SequencerFeeVault as coinbase, the OP Stack's
    /// post-Canyon EIP-1559 parameters (denominator 250, elasticity 6) and a base fee floor of 1.
    pub fn op_node(chain_id: u64, gas_limit: u64) -> Self {
        Self {
            chain_id,
            coinbase: SEQUENCER_FEE_VAULT,
            gas_limit,
            base_fee_denominator: 250,
            elasticity: 6,
            min_base_fee: 1,
        }
    }

    /// The header's extra data (Holocene): version 0, then the denominator and the elasticity
    /// as `u32`.
    pub fn extra_data(&self) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(&self.base_fee_denominator.to_be_bytes());
        out.extend_from_slice(&self.elasticity.to_be_bytes());
        out
    }

    /// The base fee of the block after a parent with `gas_used` of `gas_limit` at `base_fee`
    /// (EIP-1559 as alloy's `calc_next_block_base_fee` computes it), at least `min_base_fee`.
    pub fn next_base_fee(&self, gas_used: u64, gas_limit: u64, base_fee: u64) -> u64 {
        let next = (|| {
            let (elasticity, denominator) = (
                u128::from(self.elasticity),
                u128::from(self.base_fee_denominator),
            );
            if elasticity == 0 || denominator == 0 {
                return base_fee;
            }
            let target = (u128::from(gas_limit) / elasticity) as u64;
            if target == 0 {
                return base_fee;
            }
            let (base, used, target128) = (
                u128::from(base_fee),
                u128::from(gas_used),
                u128::from(target),
            );
            match gas_used.cmp(&target) {
                std::cmp::Ordering::Equal => base_fee,
                std::cmp::Ordering::Greater => base_fee.saturating_add(
                    (base * (used - target128) / (target128 * denominator)).max(1) as u64,
                ),
                std::cmp::Ordering::Less => base_fee
                    .saturating_sub((base * (target128 - used) / (target128 * denominator)) as u64),
            }
        })();
        next.max(self.min_base_fee)
    }
}

/// What a block is made of besides its parent (SPEC.md §5.18): the part a game must tie to L1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockInputs {
    /// The block's timestamp.
    pub timestamp: u64,
    /// PREVRANDAO (the L1 origin's, on the OP Stack).
    pub prevrandao: B256,
    /// The parent beacon block root (the L1 origin's; op-node's L2 uses zero).
    pub parent_beacon_root: B256,
    /// The number of deposits (the deposits section, SPEC.md §3.6).
    pub deposit_count: u64,
    /// The word tree of the deposits' hashes (`keccak256` of each EIP-2718 encoding).
    pub deposits_root: B256,
    /// The number of recorded transactions (the batch inbox's list).
    pub recorded_count: u64,
    /// The word tree of the recorded transactions' hashes.
    pub recorded_root: B256,
}

impl BlockInputs {
    /// `0x1a ‖ timestamp(u64) ‖ prevrandao ‖ parent_beacon_root ‖ deposit_count(u64) ‖
    /// deposits_root ‖ recorded_count(u64) ‖ recorded_root`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOCK_INPUTS_ENCODED_LEN);
        out.push(TAG_BLOCK_INPUTS);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(self.prevrandao.as_slice());
        out.extend_from_slice(self.parent_beacon_root.as_slice());
        out.extend_from_slice(&self.deposit_count.to_be_bytes());
        out.extend_from_slice(self.deposits_root.as_slice());
        out.extend_from_slice(&self.recorded_count.to_be_bytes());
        out.extend_from_slice(self.recorded_root.as_slice());
        out
    }

    /// `keccak256(encode())`: the block constants' `inputs_hash`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The number of transactions: both sections; `None` past `u64`.
    pub fn tx_count(&self) -> Option<u64> {
        self.deposit_count.checked_add(self.recorded_count)
    }

    /// The roots the block environment commits to.
    pub fn roots(&self) -> TxRoots {
        TxRoots {
            deposit_count: self.deposit_count,
            deposits_root: self.deposits_root,
            recorded_root: self.recorded_root,
        }
    }

    /// The inputs of a block with the transactions of EIP-2718 encodings `transactions`: the
    /// leading deposits (type `0x7e`) its deposits section, the rest its recorded section.
    pub fn with_transactions(
        timestamp: u64,
        prevrandao: B256,
        parent_beacon_root: B256,
        transactions: &[impl AsRef<[u8]>],
    ) -> Self {
        let deposits = transactions
            .iter()
            .take_while(|t| t.as_ref().first() == Some(&DEPOSIT_TX_TYPE))
            .count();
        let (deposit_list, recorded_list) = transactions.split_at(deposits);
        let tree = |list: &[_]| {
            // The words written together: each inner node is hashed once.
            let mut tree = crate::merkle::WordTree::new();
            tree.set_many((0..).zip(list.iter().map(|t: &_| keccak256(AsRef::<[u8]>::as_ref(t)))));
            tree.root()
        };
        Self {
            timestamp,
            prevrandao,
            parent_beacon_root,
            deposit_count: deposit_list.len() as u64,
            deposits_root: tree(deposit_list),
            recorded_count: recorded_list.len() as u64,
            recorded_root: tree(recorded_list),
        }
    }
}

/// The L1 inbox's opening of one block's inputs commitment `inputs_n` from the record of the
/// append that completed it: the `proof` of `BatchInbox.blockInputs(n, proof)` (op-node/BATCHES.md
/// §3.4, `bridge::inbox::InputsProof`), byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxOpening {
    /// Index of the append record (`appendRecord(index)`).
    pub index: u64,
    /// The first block the append completed.
    pub first: u64,
    /// How many blocks it completed.
    pub count: u64,
    /// The L1 block that included the append.
    pub l1_block: u64,
    /// The block's commitment `inputs_n`.
    pub inputs: B256,
    /// Siblings of the path from `inputs_n` to the record's root, leaf level first.
    pub siblings: [B256; crate::merkle::WORD_TREE_DEPTH],
}

impl InboxOpening {
    /// `index ‖ first ‖ count ‖ l1_block ‖ inputs ‖ siblings` (u64 ×4, bytes32, 32 × bytes32).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(INBOX_OPENING_LEN);
        for x in [self.index, self.first, self.count, self.l1_block] {
            out.extend_from_slice(&x.to_be_bytes());
        }
        out.extend_from_slice(self.inputs.as_slice());
        for s in &self.siblings {
            out.extend_from_slice(s.as_slice());
        }
        out
    }

    /// Decodes [`Self::encode`]'s bytes; `None` unless exactly [`INBOX_OPENING_LEN`] long.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != INBOX_OPENING_LEN {
            return None;
        }
        let u64_at = |i: usize| -> Option<u64> {
            Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?))
        };
        let mut siblings = [B256::ZERO; crate::merkle::WORD_TREE_DEPTH];
        for (h, s) in siblings.iter_mut().enumerate() {
            *s = B256::from_slice(&bytes[64 + 32 * h..96 + 32 * h]);
        }
        Some(Self {
            index: u64_at(0)?,
            first: u64_at(8)?,
            count: u64_at(16)?,
            l1_block: u64_at(24)?,
            inputs: B256::from_slice(&bytes[32..64]),
            siblings,
        })
    }

    /// The append record this opening shows block `number` under, as the inbox recomputes it:
    /// `keccak256(0x21 ‖ first ‖ count ‖ l1_block ‖ fold(inputs, number − first, siblings))`;
    /// `None` unless `first ≤ number < first + count`.
    pub fn record(&self, number: u64) -> Option<B256> {
        let position = number.checked_sub(self.first)?;
        if position >= self.count {
            return None;
        }
        let mut node = self.inputs;
        for (h, sibling) in self.siblings.iter().enumerate() {
            node = if (position >> h) & 1 == 0 {
                crate::merkle::hash_pair(node, *sibling)
            } else {
                crate::merkle::hash_pair(*sibling, node)
            };
        }
        let mut buf = Vec::with_capacity(57);
        buf.push(TAG_APPEND_RECORD);
        for x in [self.first, self.count, self.l1_block] {
            buf.extend_from_slice(&x.to_be_bytes());
        }
        buf.extend_from_slice(node.as_slice());
        Some(keccak256(buf))
    }
}

/// What ties a block's inputs record to L1 (SPEC.md §5.18): the preimage fields of `inputs_n`
/// that the record does not hold, and the inbox's opening of `inputs_n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L1Tie {
    /// The block's L1 origin (epoch) number.
    pub epoch: u64,
    /// The origin's hash.
    pub epoch_hash: B256,
    /// The block's position in its epoch.
    pub sequence_number: u64,
    /// The inbox's opening of `inputs_n`.
    pub opening: InboxOpening,
}

impl L1Tie {
    /// `epoch(u64) ‖ epoch_hash ‖ sequence_number(u64) ‖ opening` ([`L1_TIE_LEN`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(L1_TIE_LEN);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.epoch_hash.as_slice());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.opening.encode());
        out
    }

    /// Decodes [`Self::encode`]'s bytes; `None` unless exactly [`L1_TIE_LEN`] long.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != L1_TIE_LEN {
            return None;
        }
        Some(Self {
            epoch: u64::from_be_bytes(bytes[0..8].try_into().ok()?),
            epoch_hash: B256::from_slice(&bytes[8..40]),
            sequence_number: u64::from_be_bytes(bytes[40..48].try_into().ok()?),
            opening: InboxOpening::decode(&bytes[48..])?,
        })
    }

    /// `inputs_n` of block `number` with `inputs` (BATCHES.md §3.2): `keccak256(0x20 ‖ n ‖
    /// timestamp ‖ epoch ‖ epoch_hash ‖ sequence_number ‖ recorded_root ‖ recorded_count)` with
    /// u64, u64, u64, bytes32, u64, bytes32, u32; `None` if `recorded_count` is past a `u32`.
    pub fn inputs_commitment(&self, number: u64, inputs: &BlockInputs) -> Option<B256> {
        let count = u32::try_from(inputs.recorded_count).ok()?;
        let mut buf = Vec::with_capacity(101);
        buf.push(TAG_INBOX_INPUTS);
        for x in [number, inputs.timestamp, self.epoch] {
            buf.extend_from_slice(&x.to_be_bytes());
        }
        buf.extend_from_slice(self.epoch_hash.as_slice());
        buf.extend_from_slice(&self.sequence_number.to_be_bytes());
        buf.extend_from_slice(inputs.recorded_root.as_slice());
        buf.extend_from_slice(&count.to_be_bytes());
        Some(keccak256(buf))
    }
}

/// The L1 inbox as `blockStart` reads it (SPEC.md §5.18): its append records. The on-chain
/// verifier calls the `BatchInbox`'s `blockInputs`, which reads the same; records are only ever
/// appended, so the records an L1 view holds are those of any later state with `l1_block` not
/// after the view.
pub trait InboxView {
    /// `appendCount()`: how many append records the inbox holds.
    fn append_count(&self) -> u64;
    /// `appendRecord(index)` for `index < append_count()`; `None` when it cannot be read.
    fn append_record(&self, index: u64) -> Option<B256>;
}

/// The L1 portal as `blockStart` reads it (SPEC.md §5.18, the user deposits): its per-L1-block
/// deposit log. The on-chain verifier calls the `OptimismPortal`'s `depositChain`; the epoch a
/// block is tied to is before the append that recorded the block, so any later L1 state holds
/// its final value.
pub trait PortalView {
    /// `depositChain(l1_block)`: the deposits of L1 block `l1_block` folded by
    /// [`UserDeposit::link`] from zero (zero for a block without deposits); `None` when it
    /// cannot be read.
    fn deposit_chain(&self, l1_block: u64) -> Option<B256>;
    /// The deposit log-index oracle's `chainAt(block_hash, count)` (bridge `DepositLogIndex`,
    /// op-node/BATCHES.md §3.5): the block-wide log indices of the first `count` portal deposit
    /// logs of L1 block `block_hash`, folded by [`log_index_link`] from zero, once proven from
    /// the block's receipts (zero until then); `None` when it cannot be read. Facts about a
    /// block hash never change, so any later L1 state serves.
    fn log_index_chain(&self, block_hash: B256, count: u64) -> Option<B256>;
}

/// Domain tag of a link of the log-index oracle's chain (`bridge::log_index::LOG_INDEX_LINK_TAG`).
pub const TAG_LOG_INDEX_LINK: u8 = 0x23;

/// `keccak256(0x23 ‖ chain ‖ log_index:u64)`: the oracle's chain after a deposit log of index
/// `log_index` (`bridge::log_index::log_index_link`).
pub fn log_index_link(chain: B256, log_index: u64) -> B256 {
    let mut buf = [0u8; 41];
    buf[0] = TAG_LOG_INDEX_LINK;
    buf[1..33].copy_from_slice(chain.as_slice());
    buf[33..].copy_from_slice(&log_index.to_be_bytes());
    keccak256(buf)
}

/// A user deposit's source hash: `keccak256(bytes32(0) ‖ keccak256(l1_block_hash ‖
/// bytes32(log_index)))` (`bridge::deposit::source_hash` of the user-deposit domain).
pub fn user_source_hash(l1_block_hash: B256, log_index: u64) -> B256 {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(l1_block_hash.as_slice());
    inner[56..].copy_from_slice(&log_index.to_be_bytes());
    let mut outer = [0u8; 64];
    outer[32..].copy_from_slice(keccak256(inner).as_slice());
    keccak256(outer)
}

/// The largest log index a prover looks for when it recovers a deposit's log index from its
/// source hash ([`UserDeposit::of_transaction`]): above any L1 block's log count (a log costs at
/// least 375 gas, so a 60M-gas block holds fewer than 2^18 logs).
pub const MAX_LOG_INDEX_SEARCH: u64 = 1 << 18;

/// Domain tag of a link of the portal's deposit log (`DEPOSIT_LINK_TAG`, op-node/BATCHES.md
/// §3.5).
pub const TAG_DEPOSIT_LINK: u8 = 0x22;
/// Length of the fixed part of a user deposit's encoding in the proof: `log_index:u64 ‖ from ‖ to
/// ‖ u32 len`.
pub const USER_DEPOSIT_FIXED_LEN: usize = 8 + 20 + 20 + 4;
/// Length of the fixed part of `opaqueData`: `mint(u256) ‖ value(u256) ‖ gas(u64) ‖
/// isCreation(bool)`.
const OPAQUE_FIXED_LEN: usize = 32 + 32 + 8 + 1;

/// One user deposit as the L1 portal emitted it (`TransactionDeposited(from, to, 0,
/// opaqueData)`, SPEC.md §5.18), with its event's index among all logs of its L1 block, which
/// its source hash commits to and the log-index oracle proves (op-node/BATCHES.md §3.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserDeposit {
    /// The `TransactionDeposited` event's index among all logs of the epoch's L1 block: the
    /// deposit's source hash is [`user_source_hash`]`(epoch_hash, log_index)`.
    pub log_index: u64,
    /// The event's `from` (the caller, aliased when a contract).
    pub from: Address,
    /// The event's `to` (zero for a creation).
    pub to: Address,
    /// `abi.encodePacked(mint(u256), value(u256), gasLimit(u64), isCreation(bool), data)`.
    pub opaque_data: Vec<u8>,
}

impl UserDeposit {
    /// `log_index:u64 ‖ from ‖ to ‖ u32 len ‖ opaqueData`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.log_index.to_be_bytes());
        out.extend_from_slice(self.from.as_slice());
        out.extend_from_slice(self.to.as_slice());
        out.extend_from_slice(&(self.opaque_data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.opaque_data);
    }

    /// The portal's deposit log after this deposit, from `chain` before it: `keccak256(0x22 ‖
    /// chain ‖ from ‖ to ‖ opaqueData)` (`OptimismPortal._deposit`).
    pub fn link(&self, chain: B256) -> B256 {
        let mut buf = Vec::with_capacity(1 + 32 + 40 + self.opaque_data.len());
        buf.push(TAG_DEPOSIT_LINK);
        buf.extend_from_slice(chain.as_slice());
        buf.extend_from_slice(self.from.as_slice());
        buf.extend_from_slice(self.to.as_slice());
        buf.extend_from_slice(&self.opaque_data);
        keccak256(buf)
    }

    /// The deposit transaction derivation makes of it in the epoch of L1 block `epoch_hash`
    /// (op-node's `deposit_from_log`): source hash [`user_source_hash`]`(epoch_hash,
    /// log_index)`, `to` omitted for a creation, `mint` the opaque data's first word (saturated
    /// to a `u128`), not a system transaction. `None` unless the opaque data decodes (at least
    /// 73 bytes, the creation flag 0 or 1), which it always does when the portal emitted it.
    pub fn transaction(&self, epoch_hash: B256) -> Option<op_alloy::consensus::TxDeposit> {
        let opaque = &self.opaque_data;
        if opaque.len() < OPAQUE_FIXED_LEN {
            return None;
        }
        let is_creation = match opaque[72] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let mint = U256::from_be_slice(&opaque[..32]);
        Some(op_alloy::consensus::TxDeposit {
            source_hash: user_source_hash(epoch_hash, self.log_index),
            from: self.from,
            to: if is_creation {
                alloy::primitives::TxKind::Create
            } else {
                alloy::primitives::TxKind::Call(self.to)
            },
            mint: u128::try_from(mint).unwrap_or(u128::MAX),
            value: U256::from_be_slice(&opaque[32..64]),
            gas_limit: u64::from_be_bytes(opaque[64..72].try_into().ok()?),
            is_system_transaction: false,
            input: alloy::primitives::Bytes::copy_from_slice(&opaque[OPAQUE_FIXED_LEN..]),
        })
    }

    /// `keccak256` of [`Self::transaction`]'s EIP-2718 encoding: its word in `deposits_root`.
    pub fn hash(&self, epoch_hash: B256) -> Option<B256> {
        use alloy::eips::Encodable2718;
        Some(keccak256(self.transaction(epoch_hash)?.encoded_2718()))
    }

    /// The portal's deposit of a block's deposit transaction of EIP-2718 encoding `encoded`
    /// (what a prover holds) in the epoch of L1 block `epoch_hash`: `None` unless it is a deposit
    /// that is not a system transaction and whose source hash is [`user_source_hash`]`(epoch_hash,
    /// i)` for a log index `i` from `from_index` below [`MAX_LOG_INDEX_SEARCH`] (the prover
    /// recovers the index by trying each in turn). A creation's `to` is zero (the portal refuses
    /// any other); `mint` is the transaction's.
    pub fn of_transaction(encoded: &[u8], epoch_hash: B256, from_index: u64) -> Option<Self> {
        use alloy::eips::Decodable2718;
        let op_alloy::consensus::OpTxEnvelope::Deposit(d) =
            op_alloy::consensus::OpTxEnvelope::decode_2718_exact(encoded).ok()?
        else {
            return None;
        };
        if d.is_system_transaction {
            return None;
        }
        let log_index = (from_index..MAX_LOG_INDEX_SEARCH)
            .find(|&i| user_source_hash(epoch_hash, i) == d.source_hash)?;
        Self::of_deposit(&d, log_index)
    }

    /// The portal's deposit of deposit transaction `d` with log index `log_index` (its source
    /// hash not looked at): `None` for a system transaction.
    pub fn of_deposit(d: &op_alloy::consensus::TxDeposit, log_index: u64) -> Option<Self> {
        if d.is_system_transaction {
            return None;
        }
        let (to, is_creation) = match d.to {
            alloy::primitives::TxKind::Create => (Address::ZERO, true),
            alloy::primitives::TxKind::Call(to) => (to, false),
        };
        let mut opaque_data = Vec::with_capacity(OPAQUE_FIXED_LEN + d.input.len());
        opaque_data.extend_from_slice(&U256::from(d.mint).to_be_bytes::<32>());
        opaque_data.extend_from_slice(&d.value.to_be_bytes::<32>());
        opaque_data.extend_from_slice(&d.gas_limit.to_be_bytes());
        opaque_data.push(u8::from(is_creation));
        opaque_data.extend_from_slice(&d.input);
        Some(Self {
            log_index,
            from: d.from,
            to,
            opaque_data,
        })
    }
}

/// The user deposits of a block's deposits section (`deposits`: its leading deposit
/// transactions, EIP-2718 encoded, the L1-info deposit first), as a prover builds them for
/// [`BlockStartProof::user_deposits`]: the epoch's hash read from the L1-info deposit's calldata,
/// each user deposit's log index recovered from its source hash ([`UserDeposit::of_transaction`],
/// each after the one before). Stops at the first deposit that is not the portal's (a system
/// deposit, or one whose source hash is no log index's): such a block has no tie.
pub fn user_deposits_of(deposits: &[impl AsRef<[u8]>]) -> Vec<UserDeposit> {
    use alloy::eips::Decodable2718;
    let epoch_hash = deposits.first().and_then(|info| {
        match op_alloy::consensus::OpTxEnvelope::decode_2718_exact(info.as_ref()).ok()? {
            // `setL1BlockValuesIsthmus`: selector, two u32 scalars, three u64s, two u256 fees,
            // then the hash.
            op_alloy::consensus::OpTxEnvelope::Deposit(d) => {
                d.input.get(100..132).map(B256::from_slice)
            }
            _ => None,
        }
    });
    let Some(epoch_hash) = epoch_hash else {
        return Vec::new();
    };
    let mut next = 0;
    let mut out = Vec::new();
    for encoded in deposits.iter().skip(1) {
        let Some(d) = UserDeposit::of_transaction(encoded.as_ref(), epoch_hash, next) else {
            break;
        };
        next = d.log_index + 1;
        out.push(d);
    }
    out
}

/// The proof `blockStart` takes (SPEC.md §5.18): the parent output's preimage, the parent's
/// header, and the block's inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockStartProof {
    /// The parent's state root.
    pub state_root: B256,
    /// The parent's L2ToL1MessagePasser storage root.
    pub message_passer_root: B256,
    /// The parent's block hash.
    pub block_hash: B256,
    /// The parent's header, RLP-encoded (its hash is `block_hash`).
    pub parent_header: Vec<u8>,
    /// The block's inputs.
    pub inputs: BlockInputs,
    /// What ties `inputs` to L1 [v0.6].
    pub tie: L1Tie,
    /// The header of the block's L1 origin, RLP-encoded (its hash is `tie.epoch_hash`): where
    /// `prevrandao` comes from [v0.6, the origin's header]. Empty in a proof without its tie.
    pub origin_header: Vec<u8>,
    /// The deposits section's transactions after the L1-info deposit (the user deposits), in
    /// order, as the portal emitted them [v0.6, the deposits]: their link chain is the portal's
    /// `depositChain(epoch)`, and their transactions' hashes after the L1-info deposit's make
    /// `deposits_root`.
    pub user_deposits: Vec<UserDeposit>,
}

impl BlockStartProof {
    /// `version(u8 = 7) ‖ state_root ‖ message_passer_root ‖ block_hash ‖ L1 tie (1,136 bytes)
    /// ‖ u32 len ‖ parent header ‖ inputs (153 bytes with its tag) ‖ u32 len ‖ origin header ‖
    /// u32 count ‖ user deposits (each `log_index:u64 ‖ from ‖ to ‖ u32 len ‖ opaqueData`)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            HEADER_LEN_AT
                + 4
                + self.parent_header.len()
                + BLOCK_INPUTS_ENCODED_LEN
                + 4
                + self.origin_header.len()
                + 4
                + self
                    .user_deposits
                    .iter()
                    .map(|d| USER_DEPOSIT_FIXED_LEN + d.opaque_data.len())
                    .sum::<usize>(),
        );
        out.push(BLOCK_START_VERSION);
        for r in [self.state_root, self.message_passer_root, self.block_hash] {
            out.extend_from_slice(r.as_slice());
        }
        out.extend_from_slice(&self.tie.encode());
        out.extend_from_slice(&(self.parent_header.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.parent_header);
        out.extend_from_slice(&self.inputs.encode());
        out.extend_from_slice(&(self.origin_header.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.origin_header);
        out.extend_from_slice(&(self.user_deposits.len() as u32).to_be_bytes());
        for d in &self.user_deposits {
            d.encode_into(&mut out);
        }
        out
    }

    /// Decodes [`Self::encode`]'s bytes; `None` for any other input.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.first() != Some(&BLOCK_START_VERSION) || bytes.len() < HEADER_LEN_AT + 4 {
            return None;
        }
        let word = |i: usize| B256::from_slice(&bytes[1 + 32 * i..33 + 32 * i]);
        let tie = L1Tie::decode(&bytes[97..HEADER_LEN_AT])?;
        let len =
            u32::from_be_bytes(bytes[HEADER_LEN_AT..HEADER_LEN_AT + 4].try_into().ok()?) as usize;
        let rest = &bytes[HEADER_LEN_AT + 4..];
        let origin_len_at = len.checked_add(BLOCK_INPUTS_ENCODED_LEN)?;
        let origin_len = u32::from_be_bytes(
            rest.get(origin_len_at..origin_len_at.checked_add(4)?)?
                .try_into()
                .ok()?,
        ) as usize;
        let count_at = origin_len_at.checked_add(4)?.checked_add(origin_len)?;
        let count = u32::from_be_bytes(
            rest.get(count_at..count_at.checked_add(4)?)?
                .try_into()
                .ok()?,
        );
        // The user deposits end the proof: each its fixed part, then its opaque data.
        let mut deposits = &rest[count_at + 4..];
        let mut user_deposits = Vec::new();
        for _ in 0..count {
            let fixed = deposits.get(..USER_DEPOSIT_FIXED_LEN)?;
            let opaque_len = u32::from_be_bytes(fixed[48..52].try_into().ok()?) as usize;
            let end = USER_DEPOSIT_FIXED_LEN.checked_add(opaque_len)?;
            user_deposits.push(UserDeposit {
                log_index: u64::from_be_bytes(fixed[..8].try_into().ok()?),
                from: Address::from_slice(&fixed[8..28]),
                to: Address::from_slice(&fixed[28..48]),
                opaque_data: deposits.get(USER_DEPOSIT_FIXED_LEN..end)?.to_vec(),
            });
            deposits = &deposits[end..];
        }
        if !deposits.is_empty() {
            return None;
        }
        let (header, tail) = rest.split_at(len);
        let (inputs, tail) = tail.split_at(BLOCK_INPUTS_ENCODED_LEN);
        let origin = &tail[..4 + origin_len];
        if inputs[0] != TAG_BLOCK_INPUTS {
            return None;
        }
        let u64_at = |i: usize| u64::from_be_bytes(inputs[i..i + 8].try_into().unwrap_or_default());
        Some(Self {
            state_root: word(0),
            message_passer_root: word(1),
            block_hash: word(2),
            parent_header: header.to_vec(),
            inputs: BlockInputs {
                timestamp: u64_at(1),
                prevrandao: B256::from_slice(&inputs[9..41]),
                parent_beacon_root: B256::from_slice(&inputs[41..73]),
                deposit_count: u64_at(73),
                deposits_root: B256::from_slice(&inputs[81..113]),
                recorded_count: u64_at(113),
                recorded_root: B256::from_slice(&inputs[121..153]),
            },
            tie,
            origin_header: origin[4..].to_vec(),
            user_deposits,
        })
    }
}

/// The chain's parameters of the L1-info deposit (SPEC.md §5.18, the deposits): constants of the
/// verifier (immutables of an on-chain one) as derivation's rollup config has them, not part of
/// any proof.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositParams {
    /// The batcher, whose address the L1-info deposit records (left-padded).
    pub batcher: Address,
    /// The L1 base fee scalar of the data fee.
    pub base_fee_scalar: u32,
    /// The L1 blob base fee scalar of the data fee.
    pub blob_base_fee_scalar: u32,
}

/// The account L1-info deposits come from.
pub const L1_INFO_DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
/// The L1Block predeploy, which the L1-info deposit calls.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");

/// The EIP-2718 encoding of the L1-info deposit of a block at `sequence_number` of the epoch of
/// `origin` (its header, whose hash is `epoch_hash`), as derivation builds it (op-node/BATCHES.md
/// §5.1, `bridge::l1_info`): source hash `keccak256(bytes32(1) ‖ keccak256(epoch_hash ‖
/// bytes32(sequence_number)))`, from [`L1_INFO_DEPOSITOR`] to [`L1_BLOCK`], no mint or value,
/// 1,000,000 gas, not a system transaction, the 176-byte `setL1BlockValuesIsthmus` calldata
/// (the scalars, `sequence_number`, the origin's timestamp, number, base fee (zero without one),
/// blob base fee 1, `epoch_hash`, the batcher, operator fee scalar and constant zero).
pub fn l1_info_deposit(
    origin: &Header,
    epoch_hash: B256,
    sequence_number: u64,
    params: &DepositParams,
) -> Vec<u8> {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(epoch_hash.as_slice());
    inner[56..].copy_from_slice(&sequence_number.to_be_bytes());
    let mut outer = [0u8; 64];
    outer[31] = 1;
    outer[32..].copy_from_slice(keccak256(inner).as_slice());
    let source_hash = keccak256(outer);
    let mut out = Vec::with_capacity(264);
    // 0x7e ‖ list of 260 bytes.
    out.extend_from_slice(&[DEPOSIT_TX_TYPE, 0xf9, 0x01, 0x04, 0xa0]);
    out.extend_from_slice(source_hash.as_slice());
    out.push(0x94);
    out.extend_from_slice(L1_INFO_DEPOSITOR.as_slice());
    out.push(0x94);
    out.extend_from_slice(L1_BLOCK.as_slice());
    // mint 0, value 0, gas 1,000,000, not a system transaction, 176 bytes of calldata.
    out.extend_from_slice(&[0x80, 0x80, 0x83, 0x0f, 0x42, 0x40, 0x80, 0xb8, 0xb0]);
    out.extend_from_slice(&[0x09, 0x89, 0x99, 0xbe]);
    out.extend_from_slice(&params.base_fee_scalar.to_be_bytes());
    out.extend_from_slice(&params.blob_base_fee_scalar.to_be_bytes());
    for x in [sequence_number, origin.timestamp, origin.number] {
        out.extend_from_slice(&x.to_be_bytes());
    }
    out.extend_from_slice(&U256::from(origin.base_fee_per_gas.unwrap_or(0)).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
    out.extend_from_slice(epoch_hash.as_slice());
    out.extend_from_slice(params.batcher.into_word().as_slice());
    out.extend_from_slice(&[0u8; 12]);
    out
}

/// The block-start state of block `number` and what it commits to: its block environment and
/// constants (SPEC.md §5.18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockStart {
    /// The state `s_0`.
    pub state: MachineState,
    /// The block environment (`state.block_env_hash`).
    pub block_env: BlockEnv,
    /// The block constants (`block_env.constants_hash`).
    pub constants: BlockConstants,
}

fn bad(what: &'static str) -> VerifyError {
    VerifyError::BadBlockStart { what }
}

/// `blockStart(parentOutputRoot, n, proof)` of the game (SPEC.md §5.18, §12.6): the first state of
/// block `number`, derived from the agreed output root of block `number − 1` and the block's
/// inputs. Fails unless the proof opens the output root, holds the parent's header (whose hash is
/// the output's block hash, whose number is `number − 1` and whose state and message-passer
/// roots are the output's) and inputs a block may have (a timestamp not before the parent's).
pub fn block_start(
    parent_output_root: B256,
    number: u64,
    proof: &BlockStartProof,
    params: &ChainParams,
) -> Result<BlockStart, VerifyError> {
    let output = output_root(
        proof.state_root,
        proof.message_passer_root,
        proof.block_hash,
    );
    if output != parent_output_root {
        return Err(bad(
            "the output preimage does not hash to the parent output root",
        ));
    }
    if keccak256(&proof.parent_header) != proof.block_hash {
        return Err(bad(
            "the parent header does not hash to the output's block hash",
        ));
    }
    let mut bytes = proof.parent_header.as_slice();
    let parent =
        Header::decode(&mut bytes).map_err(|_| bad("the parent header does not decode"))?;
    if !bytes.is_empty() {
        return Err(bad("bytes after the parent header"));
    }
    if parent.number.checked_add(1) != Some(number) {
        return Err(bad("the parent is not block number − 1"));
    }
    if parent.state_root != proof.state_root
        || parent.withdrawals_root != Some(proof.message_passer_root)
    {
        return Err(bad("the output's roots are not the parent header's"));
    }
    let Some(parent_base_fee) = parent.base_fee_per_gas else {
        return Err(bad("the parent header has no base fee"));
    };
    let inputs = &proof.inputs;
    if inputs.timestamp < parent.timestamp {
        return Err(bad("a timestamp before the parent's"));
    }
    let tx_count = inputs
        .tx_count()
        .ok_or(bad("more transactions than a u64 counts"))?;
    let constants = BlockConstants {
        parent_hash: proof.block_hash,
        parent_beacon_root: inputs.parent_beacon_root,
        inputs_hash: inputs.hash(),
        tx_count,
        extra_data: params.extra_data(),
    };
    let block_env = BlockEnv {
        coinbase: params.coinbase,
        timestamp: U256::from(inputs.timestamp),
        number: U256::from(number),
        prevrandao: U256::from_be_bytes(inputs.prevrandao.0),
        gas_limit: U256::from(params.gas_limit),
        basefee: U256::from(params.next_base_fee(
            parent.gas_used,
            parent.gas_limit,
            parent_base_fee,
        )),
        // No blob gas on the L2: the blob base fee at zero excess blob gas.
        blob_basefee: U256::from(1),
        chain_id: U256::from(params.chain_id),
        constants_hash: constants.hash(),
        transactions: inputs.roots(),
        rules: Rules::Isthmus,
    };
    let world = World {
        base_root: proof.state_root,
        ..World::default()
    };
    let state = MachineState {
        block_env_hash: block_env.hash(),
        ..MachineState::outside_frames(number, Status::BlockStart, world.commitment())
    };
    Ok(BlockStart {
        state,
        block_env,
        constants,
    })
}

/// [`block_start`] on an encoded proof, returning the commitment of `s_0`, without the tie to L1:
/// what a prover derives `s_0` with (the tie's fields do not change it).
pub fn derive_block_start(
    parent_output_root: B256,
    number: u64,
    proof: &[u8],
    params: &ChainParams,
) -> Result<B256, VerifyError> {
    let proof = BlockStartProof::decode(proof).ok_or(bad("the proof does not decode"))?;
    Ok(block_start(parent_output_root, number, &proof, params)?
        .state
        .commitment())
}

/// The tie of block `number`'s inputs to L1 (SPEC.md §5.18, v0.6): the inputs' `timestamp`,
/// `recorded_root` and `recorded_count` with the tie's preimage fields hash to the opened
/// `inputs_n`, the inbox opens `inputs_n` for block `number` from an append record it holds, and
/// that append's L1 block is not after `l1_view` (the game's L1 view); then the origin header
/// ([`check_origin`]) and the deposits section ([`check_deposits`], under `deposits`, the user
/// deposits against the portal's log `l1` holds).
pub fn check_tie(
    number: u64,
    proof: &BlockStartProof,
    l1_view: u64,
    l1: &(impl InboxView + PortalView),
    deposits: &DepositParams,
) -> Result<(), VerifyError> {
    let tie = &proof.tie;
    let inputs_n = tie
        .inputs_commitment(number, &proof.inputs)
        .ok_or(bad("more recorded transactions than a u32 counts"))?;
    if inputs_n != tie.opening.inputs {
        return Err(bad("the inputs are not the inbox's inputs_n"));
    }
    let opened = tie.opening.record(number);
    let stored = (tie.opening.index < l1.append_count())
        .then(|| l1.append_record(tie.opening.index))
        .flatten();
    if opened.is_none() || opened != stored {
        return Err(bad("the inbox refuses the opening of inputs_n"));
    }
    if tie.opening.l1_block > l1_view {
        return Err(bad("the inputs were appended after the game's L1 view"));
    }
    let origin = check_origin(proof)?;
    check_deposits(proof, &origin, l1, deposits)
}

/// The inputs' fields that come from the block's L1 origin (SPEC.md §5.18, v0.6's origin
/// header): the proof's origin header hashes to the tie's `epoch_hash` (which the inbox checked
/// against L1's chain), decodes (as alloy decodes an RLP header, nothing after it) with number
/// `epoch`; `prevrandao` is its mix hash; `parent_beacon_root` is zero (op-node's L2 builds every
/// block with a zero parent beacon root).
pub fn check_origin(proof: &BlockStartProof) -> Result<Header, VerifyError> {
    if keccak256(&proof.origin_header) != proof.tie.epoch_hash {
        return Err(bad("the origin header does not hash to epoch_hash"));
    }
    let mut bytes = proof.origin_header.as_slice();
    let origin =
        Header::decode(&mut bytes).map_err(|_| bad("the origin header does not decode"))?;
    if !bytes.is_empty() {
        return Err(bad("bytes after the origin header"));
    }
    if origin.number != proof.tie.epoch {
        return Err(bad("the origin header is not the epoch's"));
    }
    if origin.mix_hash != proof.inputs.prevrandao {
        return Err(bad("prevrandao is not the origin's mix hash"));
    }
    if proof.inputs.parent_beacon_root != B256::ZERO {
        return Err(bad("the parent beacon root is not zero"));
    }
    Ok(origin)
}

/// The deposits section (SPEC.md §5.18, v0.6's deposits, v0.7's log indices): a block that does
/// not open its epoch (`sequence_number > 0`) has no user deposits; `deposit_count` is the user
/// deposits' number + 1; every user deposit's opaque data decodes; in a block that opens its
/// epoch the user deposits' link chain ([`UserDeposit::link`] from zero) is the portal's
/// `depositChain(epoch)` (read through `portal`) and, when there are `k > 0` of them, their log
/// indices folded by [`log_index_link`] from zero are the log-index oracle's
/// `chainAt(epoch_hash, k)` (non-zero); `deposits_root` is the word tree of the L1-info deposit's hash
/// ([`l1_info_deposit`] from the origin header, `epoch_hash`, `sequence_number` and `params`)
/// followed by the user deposits' transactions' hashes ([`UserDeposit::hash`]).
pub fn check_deposits(
    proof: &BlockStartProof,
    origin: &Header,
    portal: &impl PortalView,
    params: &DepositParams,
) -> Result<(), VerifyError> {
    let tie = &proof.tie;
    if tie.sequence_number != 0 && !proof.user_deposits.is_empty() {
        return Err(bad("user deposits in a block that does not open its epoch"));
    }
    if proof.inputs.deposit_count != proof.user_deposits.len() as u64 + 1 {
        return Err(bad("the deposit count is not the deposits'"));
    }
    let mut hashes = Vec::with_capacity(proof.user_deposits.len());
    for d in &proof.user_deposits {
        hashes.push(
            d.hash(tie.epoch_hash)
                .ok_or(bad("a user deposit's opaque data does not decode"))?,
        );
    }
    if tie.sequence_number == 0 {
        let chain = proof
            .user_deposits
            .iter()
            .fold(B256::ZERO, |chain, d| d.link(chain));
        match portal.deposit_chain(tie.epoch) {
            None => return Err(bad("the portal's depositChain cannot be read")),
            Some(c) if c != chain => {
                return Err(bad(
                    "the user deposits are not the portal's depositChain(epoch)",
                ));
            }
            Some(_) => {}
        }
        // The portal's log starts from zero in every L1 block, so these are all of the
        // block's deposits: the first `k` portal deposit logs in receipt order, whose indices
        // the oracle folded (none to check without deposits).
        let k = proof.user_deposits.len() as u64;
        if k > 0 {
            let indices = proof
                .user_deposits
                .iter()
                .fold(B256::ZERO, |chain, d| log_index_link(chain, d.log_index));
            match portal.log_index_chain(tie.epoch_hash, k) {
                None => return Err(bad("the log-index oracle cannot be read")),
                Some(c) if c == B256::ZERO => {
                    return Err(bad(
                        "the log-index oracle has not proven the epoch's deposit logs",
                    ));
                }
                Some(c) if c != indices => {
                    return Err(bad(
                        "the user deposits' log indices are not the oracle's chainAt(epoch_hash, k)",
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let mut tree = crate::merkle::WordTree::new();
    let info = l1_info_deposit(origin, tie.epoch_hash, tie.sequence_number, params);
    tree.set(0, keccak256(info));
    for (i, d) in hashes.into_iter().enumerate() {
        tree.set(i as u64 + 1, d);
    }
    if tree.root() != proof.inputs.deposits_root {
        return Err(bad(
            "the deposits are not the L1-info deposit and the user deposits",
        ));
    }
    Ok(())
}

/// `blockStart(parentOutputRoot, n, l1View, proof)` of the game (SPEC.md §5.18, §12.6): decodes
/// the proof, derives `s_0` ([`block_start`]), checks the inputs' tie to L1 ([`check_tie`]: the
/// inbox and the portal as `l1` holds them, the L1-info deposit under `deposits`) and returns
/// `commit(s_0)`.
pub fn verify_block_start(
    parent_output_root: B256,
    number: u64,
    l1_view: u64,
    proof: &[u8],
    params: &ChainParams,
    l1: &(impl InboxView + PortalView),
    deposits: &DepositParams,
) -> Result<B256, VerifyError> {
    let proof = BlockStartProof::decode(proof).ok_or(bad("the proof does not decode"))?;
    let start = block_start(parent_output_root, number, &proof, params)?;
    check_tie(number, &proof, l1_view, l1, deposits)?;
    Ok(start.state.commitment())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::eips::eip1559::{BaseFeeParams, calc_next_block_base_fee};
    use proptest::prelude::*;

    proptest! {
        /// The base fee rule is alloy's (what op-node computes), with the floor.
        #[test]
        fn base_fee_is_alloys(used in 0u64..60_000_000, limit in 0u64..60_000_000, fee in 0u64..u64::MAX / 2) {
            // A block never uses more gas than its limit.
            let used = used.min(limit);
            let params = ChainParams::op_node(901, 30_000_000);
            let alloy_fee = calc_next_block_base_fee(used, limit, fee, BaseFeeParams::optimism_canyon()).max(1);
            prop_assert_eq!(params.next_base_fee(used, limit, fee), alloy_fee);
        }
    }

    /// The leading deposits are the deposits section, the rest the recorded section, each its
    /// own word tree from index 0 (the recorded one the inbox's `tx_root`).
    #[test]
    fn inputs_split_the_leading_deposits() {
        let txs: Vec<Vec<u8>> = vec![vec![0x7e, 1], vec![0x7e, 2], vec![0x02, 3], vec![0x7e, 4]];
        let inputs = BlockInputs::with_transactions(5, B256::ZERO, B256::ZERO, &txs);
        let tree = |list: &[Vec<u8>]| {
            let mut t = crate::merkle::WordTree::new();
            for (i, x) in list.iter().enumerate() {
                t.set(i as u64, keccak256(x));
            }
            t.root()
        };
        assert_eq!((inputs.deposit_count, inputs.recorded_count), (2, 2));
        assert_eq!(inputs.deposits_root, tree(&txs[..2]));
        assert_eq!(inputs.recorded_root, tree(&txs[2..]));
        assert_eq!(inputs.tx_count(), Some(4));
        let records = txs
            .iter()
            .map(|e| crate::tx::TxRecord {
                encoded: e.clone(),
                ..Default::default()
            })
            .collect();
        let list = crate::tx::Transactions::new(records);
        assert_eq!(list.roots(), inputs.roots());
        for i in 0..4 {
            let mut proof = list.prove(i);
            proof.word = keccak256(&txs[i as usize]);
            assert!(inputs.roots().verifies(&proof, i), "transaction {i}");
            // The same word is not transaction i of the other section.
            let flipped = TxRoots {
                deposit_count: if i < 2 { 0 } else { 4 },
                ..inputs.roots()
            };
            assert!(!flipped.verifies(&proof, i), "transaction {i} elsewhere");
        }
    }

    #[test]
    fn proof_round_trips_and_refuses_other_bytes() {
        let proof = BlockStartProof {
            state_root: B256::repeat_byte(1),
            message_passer_root: B256::repeat_byte(2),
            block_hash: B256::repeat_byte(3),
            parent_header: vec![0xc0, 1, 2],
            inputs: BlockInputs {
                timestamp: 9,
                deposit_count: 1,
                recorded_count: 2,
                ..Default::default()
            },
            tie: L1Tie {
                epoch: 4,
                epoch_hash: B256::repeat_byte(5),
                sequence_number: 6,
                opening: InboxOpening {
                    index: 7,
                    first: 8,
                    count: 9,
                    l1_block: 10,
                    inputs: B256::repeat_byte(11),
                    siblings: std::array::from_fn(|i| B256::repeat_byte(i as u8)),
                },
            },
            origin_header: vec![0xc1, 0x80],
            user_deposits: vec![
                UserDeposit {
                    log_index: 12,
                    from: Address::repeat_byte(13),
                    to: Address::repeat_byte(14),
                    opaque_data: vec![15; 80],
                },
                UserDeposit::default(),
            ],
        };
        let bytes = proof.encode();
        assert_eq!(
            bytes.len(),
            1 + 96 + L1_TIE_LEN + 4 + 3 + BLOCK_INPUTS_ENCODED_LEN + 4 + 2 + 4 + 2 * 52 + 80
        );
        assert_eq!(BlockStartProof::decode(&bytes), Some(proof.clone()));
        for v in [5, 6, 8] {
            let mut other = bytes.clone();
            other[0] = v;
            assert_eq!(BlockStartProof::decode(&other), None, "version {v}");
        }
        for n in 0..bytes.len() {
            assert_eq!(BlockStartProof::decode(&bytes[..n]), None, "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(BlockStartProof::decode(&longer), None);
    }

    proptest! {
        /// The proof with any parent and origin header round-trips; every cut or extension, and
        /// a header length that does not frame the bytes, does not decode.
        #[test]
        fn proof_with_origin_header_round_trips(
            parent in prop::collection::vec(any::<u8>(), 0..300),
            origin in prop::collection::vec(any::<u8>(), 0..700),
            deposits in prop::collection::vec(user_deposit(), 0..5),
            cut in 1usize..64,
            delta in 1u32..1000,
        ) {
            let proof = BlockStartProof {
                state_root: B256::repeat_byte(1),
                message_passer_root: B256::repeat_byte(2),
                block_hash: B256::repeat_byte(3),
                parent_header: parent,
                inputs: BlockInputs::default(),
                tie: L1Tie::default(),
                origin_header: origin,
                user_deposits: deposits,
            };
            let bytes = proof.encode();
            prop_assert_eq!(BlockStartProof::decode(&bytes), Some(proof.clone()));
            prop_assert_eq!(BlockStartProof::decode(&bytes[..bytes.len().saturating_sub(cut)]), None);
            let mut longer = bytes.clone();
            longer.extend(std::iter::repeat_n(0, cut));
            prop_assert_eq!(BlockStartProof::decode(&longer), None);
            let at = HEADER_LEN_AT + 4 + proof.parent_header.len() + BLOCK_INPUTS_ENCODED_LEN;
            let mut other = bytes.clone();
            let len = (proof.origin_header.len() as u32).wrapping_add(delta);
            other[at..at + 4].copy_from_slice(&len.to_be_bytes());
            prop_assert_eq!(BlockStartProof::decode(&other), None);
            let at = at + 4 + proof.origin_header.len();
            let mut other = bytes.clone();
            let count = (proof.user_deposits.len() as u32).wrapping_add(delta);
            other[at..at + 4].copy_from_slice(&count.to_be_bytes());
            prop_assert_eq!(BlockStartProof::decode(&other), None);
            // A deposit's opaque data length that does not frame the rest.
            if let Some(first) = proof.user_deposits.first() {
                let at = at + 4 + 48;
                let mut other = bytes.clone();
                let len = (first.opaque_data.len() as u32).wrapping_add(delta);
                other[at..at + 4].copy_from_slice(&len.to_be_bytes());
                prop_assert_eq!(BlockStartProof::decode(&other), None);
            }
        }
    }

    /// A user deposit as a portal emits it: any log index (below 2,000, for the prover's
    /// search), sender and target, a mint below 2^128, any value, gas, creation flag and data (a
    /// creation's target zero).
    fn user_deposit() -> impl Strategy<Value = UserDeposit> {
        (
            0u64..2000,
            any::<[u8; 20]>(),
            any::<[u8; 20]>(),
            (
                any::<u128>(),
                any::<[u8; 32]>(),
                any::<u64>(),
                any::<bool>(),
            ),
            prop::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(
                |(log_index, from, to, (mint, value, gas, creation), data)| {
                    let data = bridge::deposit::DepositData {
                        mint: U256::from(mint),
                        value: U256::from_be_bytes(value),
                        gas_limit: gas,
                        is_creation: creation,
                        data: data.into(),
                    };
                    UserDeposit {
                        log_index,
                        from: Address::from(from),
                        to: if creation {
                            Address::ZERO
                        } else {
                            Address::from(to)
                        },
                        opaque_data: data.encode().to_vec(),
                    }
                },
            )
    }

    proptest! {
        /// A user deposit's link is the portal's (`bridge::deposit::deposit_chain_link`), its
        /// transaction derivation's (op-node's `deposit_from_log`: `bridge`'s decoding of the
        /// opaque data in an op-alloy `TxDeposit`), and a deposit transaction gives back the
        /// deposit; opaque data too short or with another creation flag does not decode.
        #[test]
        fn user_deposit_is_the_portals_and_derivations(
            d in user_deposit(),
            chain: [u8; 32],
            epoch_hash: [u8; 32],
            cut in 1usize..74,
            flag in 2u8..=255,
        ) {
            use alloy::eips::Encodable2718;
            let chain = B256::from(chain);
            let epoch = B256::from(epoch_hash);
            prop_assert_eq!(
                d.link(chain),
                bridge::deposit::deposit_chain_link(chain, d.from, d.to, &d.opaque_data)
            );
            let data = bridge::deposit::DepositData::decode(&d.opaque_data).unwrap();
            let tx = op_alloy::consensus::TxDeposit {
                source_hash: bridge::deposit::source_hash(
                    bridge::deposit::USER_DEPOSIT_DOMAIN,
                    epoch,
                    d.log_index,
                ),
                from: d.from,
                to: if data.is_creation {
                    alloy::primitives::TxKind::Create
                } else {
                    alloy::primitives::TxKind::Call(d.to)
                },
                mint: u128::try_from(data.mint).unwrap_or(u128::MAX),
                value: data.value,
                gas_limit: data.gas_limit,
                is_system_transaction: false,
                input: data.data,
            };
            prop_assert_eq!(d.transaction(epoch), Some(tx.clone()));
            prop_assert_eq!(d.hash(epoch), Some(keccak256(tx.encoded_2718())));
            // The prover recovers the log index from the source hash, searching from an index
            // not past it; from past it, or in another epoch, it finds none.
            let encoded = tx.encoded_2718();
            prop_assert_eq!(UserDeposit::of_transaction(&encoded, epoch, 0), Some(d.clone()));
            prop_assert_eq!(UserDeposit::of_transaction(&encoded, epoch, d.log_index), Some(d.clone()));
            // (From past it the search runs to the bound: one case, below, not every one.)
            prop_assert_eq!(UserDeposit::of_transaction(&encoded, keccak256(epoch), MAX_LOG_INDEX_SEARCH - 3000), None);
            let system = op_alloy::consensus::TxDeposit { is_system_transaction: true, ..tx };
            prop_assert_eq!(UserDeposit::of_transaction(&system.encoded_2718(), epoch, 0), None);
            let mut short = d.clone();
            short.opaque_data.truncate(OPAQUE_FIXED_LEN.saturating_sub(cut));
            prop_assert_eq!(short.hash(epoch), None);
            let mut flagged = d.clone();
            flagged.opaque_data[72] = flag;
            prop_assert_eq!(flagged.hash(epoch), None);
            // The link and source hash rules are bridge's.
            prop_assert_eq!(
                log_index_link(chain, d.log_index),
                bridge::log_index::log_index_link(chain, d.log_index)
            );
        }
    }

    /// The L1-info deposit's parameters of the tests.
    const DEPOSITS: DepositParams = DepositParams {
        batcher: address!("0x00000000000000000000000000000000000000b7"),
        base_fee_scalar: 1368,
        blob_base_fee_scalar: 810_949,
    };

    proptest! {
        /// The L1-info deposit is the one op-node's derivation builds (`bridge::l1_info`'s
        /// calldata in an op-alloy `TxDeposit`), for any origin and parameters.
        #[test]
        fn l1_info_deposit_is_derivations(
            number: u64, timestamp: u64, base_fee: Option<u64>, hash: [u8; 32], seq: u64,
            batcher: [u8; 20], a: u32, b: u32,
        ) {
            use alloy::eips::Encodable2718;
            let origin = Header { number, timestamp, base_fee_per_gas: base_fee, ..Default::default() };
            let params = DepositParams { batcher: Address::from(batcher), base_fee_scalar: a, blob_base_fee_scalar: b };
            let hash = B256::from(hash);
            let info = bridge::l1_info::L1BlockInfo {
                base_fee_scalar: a,
                blob_base_fee_scalar: b,
                sequence_number: seq,
                timestamp,
                number,
                base_fee: U256::from(base_fee.unwrap_or_default()),
                blob_base_fee: U256::from(1),
                hash,
                batcher_hash: params.batcher.into_word(),
                operator_fee_scalar: 0,
                operator_fee_constant: 0,
            };
            let deposit = op_alloy::consensus::TxDeposit {
                source_hash: bridge::deposit::source_hash(bridge::deposit::L1_INFO_DEPOSIT_DOMAIN, hash, seq),
                from: bridge::l1_info::L1_INFO_DEPOSITOR,
                to: alloy::primitives::TxKind::Call(bridge::l1_info::L1_BLOCK),
                mint: 0,
                value: U256::ZERO,
                gas_limit: bridge::l1_info::L1_INFO_GAS,
                is_system_transaction: false,
                input: info.encode_calldata(),
            };
            prop_assert_eq!(l1_info_deposit(&origin, hash, seq, &params), deposit.encoded_2718());
        }
    }

    /// The test double of the L1 view: the inbox's records, the portal's deposit log of one L1
    /// block (every other block's is zero), and the log-index oracle's chains of one L1 block
    /// hash (`chainAt(hash, c)` for `c` up to the list's end; zero elsewhere).
    #[derive(Clone)]
    struct Records(Vec<B256>, (u64, B256), (B256, Vec<B256>));

    impl InboxView for Records {
        fn append_count(&self) -> u64 {
            self.0.len() as u64
        }
        fn append_record(&self, index: u64) -> Option<B256> {
            self.0.get(usize::try_from(index).ok()?).copied()
        }
    }

    impl PortalView for Records {
        fn deposit_chain(&self, l1_block: u64) -> Option<B256> {
            Some(if l1_block == self.1.0 {
                self.1.1
            } else {
                B256::ZERO
            })
        }
        fn log_index_chain(&self, block_hash: B256, count: u64) -> Option<B256> {
            Some(if block_hash == self.2.0 {
                usize::try_from(count)
                    .ok()
                    .and_then(|c| self.2.1.get(c))
                    .copied()
                    .unwrap_or_default()
            } else {
                B256::ZERO
            })
        }
    }

    /// The oracle's chains of `deposits`' log indices: `chainAt(·, c)` for `c = 0 ..= k`.
    fn oracle_chains(deposits: &[UserDeposit]) -> Vec<B256> {
        let mut chains = vec![B256::ZERO];
        for d in deposits {
            chains.push(log_index_link(chains[chains.len() - 1], d.log_index));
        }
        chains
    }

    /// `proof` with user deposits `user`, `deposit_count` and `deposits_root` made to match.
    fn rooted(proof: &BlockStartProof, user: Vec<UserDeposit>) -> BlockStartProof {
        let origin = Header::decode(&mut proof.origin_header.as_slice()).unwrap();
        let mut tree = crate::merkle::WordTree::new();
        let info = l1_info_deposit(
            &origin,
            proof.tie.epoch_hash,
            proof.tie.sequence_number,
            &DEPOSITS,
        );
        tree.set(0, keccak256(info));
        for (i, d) in user.iter().enumerate() {
            tree.set(
                i as u64 + 1,
                d.hash(proof.tie.epoch_hash).unwrap_or_default(),
            );
        }
        let mut p = proof.clone();
        p.inputs.deposit_count = user.len() as u64 + 1;
        p.inputs.deposits_root = tree.root();
        p.user_deposits = user;
        p
    }

    /// A tied proof of block `number` with `inputs`: the append at `index` (of `index + 2`
    /// records) completed `leaves.len()` blocks from `number − position` in `l1_block`, block
    /// `number`'s leaf its `inputs_n` as `bridge::inbox` commits to it; built with
    /// `bridge::inbox::InputsProof`.
    #[allow(clippy::too_many_arguments)]
    fn tied(
        number: u64,
        inputs: &BlockInputs,
        (epoch, parent_hash, sequence_number): (u64, B256, u64),
        mut leaves: Vec<B256>,
        position: usize,
        index: u64,
        l1_block: u64,
        user_deposits: Vec<UserDeposit>,
    ) -> (BlockStartProof, Records) {
        let origin_header = alloy::rlp::encode(Header {
            parent_hash,
            number: epoch,
            mix_hash: inputs.prevrandao,
            base_fee_per_gas: Some(7),
            ..Default::default()
        });
        let epoch_hash = keccak256(&origin_header);
        let origin = Header::decode(&mut origin_header.as_slice()).unwrap();
        let mut inputs = inputs.clone();
        let mut tree = crate::merkle::WordTree::new();
        let info = l1_info_deposit(&origin, epoch_hash, sequence_number, &DEPOSITS);
        tree.set(0, keccak256(info));
        for (i, d) in user_deposits.iter().enumerate() {
            tree.set(i as u64 + 1, d.hash(epoch_hash).unwrap());
        }
        inputs.deposit_count = user_deposits.len() as u64 + 1;
        inputs.deposits_root = tree.root();
        let inputs = &inputs;
        let inputs_n = bridge::inbox::BlockInputs {
            number,
            timestamp: inputs.timestamp,
            epoch,
            epoch_hash,
            sequence_number,
            tx_root: inputs.recorded_root,
            tx_count: inputs.recorded_count as u32,
        }
        .commitment();
        leaves[position] = inputs_n;
        let first = number - position as u64;
        let opening =
            bridge::inbox::InputsProof::new(index, first, l1_block, &leaves, number).unwrap();
        let mut records: Vec<B256> = (0..index + 2).map(|i| keccak256(i.to_be_bytes())).collect();
        records[index as usize] = opening.record.commitment();
        let tie = L1Tie {
            epoch,
            epoch_hash,
            sequence_number,
            opening: InboxOpening {
                index,
                first,
                count: opening.record.count,
                l1_block,
                inputs: opening.inputs,
                siblings: opening.siblings,
            },
        };
        assert_eq!(tie.opening.encode(), opening.encode().to_vec());
        let proof = BlockStartProof {
            state_root: B256::ZERO,
            message_passer_root: B256::ZERO,
            block_hash: B256::ZERO,
            parent_header: Vec::new(),
            inputs: inputs.clone(),
            tie,
            origin_header,
            user_deposits: Vec::new(),
        };
        let chain = user_deposits.iter().fold(B256::ZERO, |c, d| d.link(c));
        let proof = BlockStartProof {
            user_deposits,
            ..proof
        };
        let chains = oracle_chains(&proof.user_deposits);
        (
            proof,
            Records(records, (epoch, chain), (epoch_hash, chains)),
        )
    }

    proptest! {
        /// The tie's encoding round-trips; the honest tie holds (also at a view equal to the
        /// append's L1 block), and a change of any field it covers, of the opening, of the
        /// records or of the view, of `prevrandao` or the parent beacon root, any byte of the
        /// origin header flipped, a byte after it or no header is refused.
        #[test]
        fn the_tie_refuses_every_mutated_field(
            number in 1u64..u64::MAX / 2,
            timestamp: u64,
            recorded_count in 0u64..=u64::from(u32::MAX),
            recorded_root: [u8; 32],
            prevrandao: [u8; 32],
            epoch: u64,
            epoch_hash: [u8; 32],
            sequence_number: u64,
            leaves in prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 1..9),
            position: prop::sample::Index,
            index in 0u64..5,
            l1_block in 1u64..u64::MAX,
            slack in 0u64..1000,
            field in 0usize..30,
            byte: prop::sample::Index,
            user_deposits in prop::collection::vec(user_deposit(), 0..3),
        ) {
            let inputs = BlockInputs {
                timestamp,
                recorded_count,
                recorded_root: B256::from(recorded_root),
                prevrandao: B256::from(prevrandao),
                ..Default::default()
            };
            let position = position.index(leaves.len()).min(number as usize);
            let (proof, records) = tied(
                number,
                &inputs,
                (epoch, B256::from(epoch_hash), sequence_number),
                leaves,
                position,
                index,
                l1_block,
                user_deposits.clone(),
            );
            let view = l1_block.saturating_add(slack);
            if sequence_number != 0 && !user_deposits.is_empty() {
                prop_assert_eq!(
                    check_tie(number, &proof, view, &records, &DEPOSITS),
                    Err(bad("user deposits in a block that does not open its epoch"))
                );
                return Ok(());
            }
            prop_assert_eq!(check_tie(number, &proof, view, &records, &DEPOSITS), Ok(()));
            prop_assert_eq!(check_tie(number, &proof, l1_block, &records, &DEPOSITS), Ok(()));
            prop_assert_eq!(L1Tie::decode(&proof.tie.encode()), Some(proof.tie.clone()));
            let mut p = proof.clone();
            let mut n = number;
            let mut v = view;
            let mut r = records.0.clone();
            let portal = records.1;
            let oracle = records.2.clone();
            let flip = |b: &mut B256| b.0[byte.index(32)] ^= 1;
            match field {
                0 => p.inputs.timestamp ^= 1,
                1 => p.inputs.recorded_count ^= 1,
                2 => flip(&mut p.inputs.recorded_root),
                3 => p.tie.epoch ^= 1,
                4 => flip(&mut p.tie.epoch_hash),
                5 => p.tie.sequence_number ^= 1,
                6 => p.tie.opening.index ^= 1,
                7 => p.tie.opening.first ^= 1,
                8 => p.tie.opening.count ^= 1,
                9 => p.tie.opening.l1_block ^= 1,
                10 => flip(&mut p.tie.opening.inputs),
                11 => flip(&mut p.tie.opening.siblings[byte.index(32)]),
                12 => n ^= 1,
                13 => v = l1_block - 1,
                14 => flip(&mut r[index as usize]),
                15 => { r.truncate(index as usize); }
                16 => p.inputs.recorded_count += 1 << 32,
                17 => p.tie.opening.siblings[31] = B256::ZERO,
                18 => n += 1 << 32,
                19 => p.tie.opening.count = 0,
                20 => flip(&mut p.inputs.prevrandao),
                21 => flip(&mut p.inputs.parent_beacon_root),
                22 => { let at = byte.index(p.origin_header.len()); p.origin_header[at] ^= 1; }
                23 => p.origin_header.push(0x80),
                24 => p.origin_header = Vec::new(),
                25 => p.inputs.deposit_count ^= 1,
                26 => flip(&mut p.inputs.deposits_root),
                27 => p.user_deposits.push(UserDeposit::default()),
                28 => match p.user_deposits.first_mut() {
                    Some(d) => d.log_index ^= 1,
                    None => p.inputs.deposit_count = 0,
                },
                _ => {
                    // Another chain's L1-info deposit.
                    let other = DepositParams { base_fee_scalar: 1, ..DEPOSITS };
                    prop_assert!(check_tie(n, &p, v, &Records(r.clone(), portal, oracle.clone()), &other).is_err());
                    p.inputs.deposit_count += 1;
                }
            }
            prop_assert!(check_tie(n, &p, v, &Records(r, portal, oracle), &DEPOSITS).is_err(), "field {}", field);
        }

        /// The user deposits of a block that opens its epoch are the portal's: with the
        /// deposits section re-rooted so that only the portal's log can tell, a deposit added,
        /// dropped, duplicated, two swapped, all dropped, or one's mint, value, gas, creation
        /// flag, data, sender or target changed is refused as not the portal's
        /// `depositChain(epoch)`; the same under another epoch's log, or a portal that cannot
        /// be read. Opaque data that does not decode is refused as such. The honest proof
        /// passes; one log index changed or two swapped is not the log-index oracle's chain,
        /// and the oracle without the epoch's record (none, another block's, fewer deposits
        /// proven) or unreadable refuses it.
        #[test]
        fn user_deposits_are_the_portals(
            deposits in prop::collection::vec(user_deposit(), 1..5),
            extra in user_deposit(),
            what in 0usize..12,
            which: prop::sample::Index,
            other: prop::sample::Index,
        ) {
            let inputs = BlockInputs::default();
            let (proof, records) = tied(
                5, &inputs, (77, B256::ZERO, 0), vec![B256::ZERO; 3], 1, 0, 9, deposits.clone(),
            );
            prop_assert_eq!(check_tie(5, &proof, 9, &records, &DEPOSITS), Ok(()));
            let not_portals = Err(bad("the user deposits are not the portal's depositChain(epoch)"));
            let i = which.index(deposits.len());
            let j = other.index(deposits.len());
            let mut user = deposits.clone();
            let word = |d: &mut UserDeposit, at: usize| d.opaque_data[at] ^= 1;
            match what {
                0 => user.push(extra.clone()),
                1 => { user.remove(i); }
                2 => user.insert(i, user[i].clone()),
                3 => {
                    prop_assume!(user[i] != user[j]);
                    user.swap(i, j);
                }
                4 => user.clear(),
                5 => word(&mut user[i], 31),
                6 => word(&mut user[i], 63),
                7 => word(&mut user[i], 71),
                8 => user[i].opaque_data.push(0),
                9 => user[i].from.0[0] ^= 1,
                10 => user[i].to.0[19] ^= 1,
                _ => {
                    // The creation flag: a call becomes a creation of target zero, and back.
                    let d = &mut user[i];
                    d.opaque_data[72] ^= 1;
                    d.to = Address::ZERO;
                }
            }
            prop_assert_eq!(check_tie(5, &rooted(&proof, user), 9, &records, &DEPOSITS), not_portals.clone());
            let elsewhere = Records(records.0.clone(), (78, records.1.1), records.2.clone());
            prop_assert_eq!(check_tie(5, &proof, 9, &elsewhere, &DEPOSITS), not_portals);
            struct Unreadable(Records);
            impl InboxView for Unreadable {
                fn append_count(&self) -> u64 { self.0.append_count() }
                fn append_record(&self, index: u64) -> Option<B256> { self.0.append_record(index) }
            }
            impl PortalView for Unreadable {
                fn deposit_chain(&self, _: u64) -> Option<B256> { None }
                fn log_index_chain(&self, h: B256, c: u64) -> Option<B256> { self.0.log_index_chain(h, c) }
            }
            prop_assert_eq!(
                check_tie(5, &proof, 9, &Unreadable(records.clone()), &DEPOSITS),
                Err(bad("the portal's depositChain cannot be read"))
            );
            let mut user = deposits.clone();
            user[i].opaque_data[72] = 2;
            prop_assert_eq!(
                check_tie(5, &rooted(&proof, user), 9, &records, &DEPOSITS),
                Err(bad("a user deposit's opaque data does not decode"))
            );
            let mut user = deposits.clone();
            user[i].opaque_data.truncate(72);
            prop_assert_eq!(
                check_tie(5, &rooted(&proof, user), 9, &records, &DEPOSITS),
                Err(bad("a user deposit's opaque data does not decode"))
            );
            // The log indices: one changed, or two deposits' swapped, under a consistent
            // `deposits_root` and the portal's log (which does not hold them) is not the
            // oracle's chain; the oracle without the epoch's record, with another block's, or
            // unreadable refuses the honest proof.
            let not_oracles = Err(bad("the user deposits' log indices are not the oracle's chainAt(epoch_hash, k)"));
            let mut user = deposits.clone();
            user[i].log_index ^= 1 << (which.index(63));
            prop_assert_eq!(check_tie(5, &rooted(&proof, user), 9, &records, &DEPOSITS), not_oracles.clone());
            if deposits[i].log_index != deposits[j].log_index {
                let mut user = deposits.clone();
                let (a, b) = (user[i].log_index, user[j].log_index);
                user[i].log_index = b;
                user[j].log_index = a;
                prop_assert_eq!(check_tie(5, &rooted(&proof, user), 9, &records, &DEPOSITS), not_oracles);
            }
            let not_proven = Err(bad("the log-index oracle has not proven the epoch's deposit logs"));
            let unproven = Records(records.0.clone(), records.1, (records.2.0, vec![B256::ZERO]));
            prop_assert_eq!(check_tie(5, &proof, 9, &unproven, &DEPOSITS), not_proven.clone());
            let other_block = Records(records.0.clone(), records.1, (keccak256(records.2.0), records.2.1.clone()));
            prop_assert_eq!(check_tie(5, &proof, 9, &other_block, &DEPOSITS), not_proven);
            // Fewer deposits proven than the block holds: the oracle's chain at k is zero.
            let mut short = records.2.1.clone();
            short.pop();
            let partly = Records(records.0.clone(), records.1, (records.2.0, short));
            prop_assert_eq!(
                check_tie(5, &proof, 9, &partly, &DEPOSITS),
                Err(bad("the log-index oracle has not proven the epoch's deposit logs"))
            );
            struct NoOracle(Records);
            impl InboxView for NoOracle {
                fn append_count(&self) -> u64 { self.0.append_count() }
                fn append_record(&self, index: u64) -> Option<B256> { self.0.append_record(index) }
            }
            impl PortalView for NoOracle {
                fn deposit_chain(&self, b: u64) -> Option<B256> { self.0.deposit_chain(b) }
                fn log_index_chain(&self, _: B256, _: u64) -> Option<B256> { None }
            }
            prop_assert_eq!(
                check_tie(5, &proof, 9, &NoOracle(records.clone()), &DEPOSITS),
                Err(bad("the log-index oracle cannot be read"))
            );
        }
    }

    /// The prover's search for a log index starts where it is told: from past the deposit's
    /// index it finds none, nor in another epoch.
    #[test]
    fn the_log_index_search_starts_where_told() {
        use alloy::eips::Encodable2718;
        let epoch = B256::repeat_byte(0x3c);
        let tx = op_alloy::consensus::TxDeposit {
            source_hash: user_source_hash(epoch, 41),
            from: Address::repeat_byte(1),
            to: alloy::primitives::TxKind::Call(Address::repeat_byte(2)),
            gas_limit: 21_000,
            ..Default::default()
        };
        let encoded = tx.encoded_2718();
        assert_eq!(
            UserDeposit::of_transaction(&encoded, epoch, 41).map(|d| d.log_index),
            Some(41)
        );
        assert_eq!(UserDeposit::of_transaction(&encoded, epoch, 42), None);
        assert_eq!(UserDeposit::of_transaction(&encoded, B256::ZERO, 0), None);
    }

    /// An epoch without deposits: the block that opens it has none (its log is zero), and one
    /// with a deposit made up is refused.
    #[test]
    fn an_epoch_without_deposits_has_none() {
        let (proof, records) = tied(
            5,
            &BlockInputs::default(),
            (77, B256::ZERO, 0),
            vec![B256::ZERO; 3],
            1,
            0,
            9,
            Vec::new(),
        );
        assert_eq!(records.1.1, B256::ZERO);
        assert_eq!(check_tie(5, &proof, 9, &records, &DEPOSITS), Ok(()));
        let minted = UserDeposit {
            from: Address::repeat_byte(0xee),
            to: Address::repeat_byte(0xee),
            opaque_data: bridge::deposit::DepositData {
                mint: U256::from(10u128.pow(21)),
                value: U256::ZERO,
                gas_limit: 21_000,
                is_creation: false,
                data: Default::default(),
            }
            .encode()
            .to_vec(),
            ..Default::default()
        };
        assert_eq!(
            check_tie(5, &rooted(&proof, vec![minted]), 9, &records, &DEPOSITS),
            Err(bad(
                "the user deposits are not the portal's depositChain(epoch)"
            ))
        );
    }
}
