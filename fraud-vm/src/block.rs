//! The records of a block's boundaries (SPEC.md §5.18, §5.19): the sealing record the block
//! end works in, the keys it folds, the header it seals, the output root it ends in, and the
//! block-end state the game opens with [`block_end`].

use crate::mpt_write::NodeStore;
use crate::proof::VerifyError;
use crate::receipt::Receipt;
use crate::state::{BlockConstants, BlockEnv, MachineState, STATE_ENCODED_LEN, Status};
use crate::world::{account_key, slot_key};
use alloy::consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy::eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy::primitives::{Address, B256, Bloom, U256, address, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use std::collections::BTreeMap;

/// Domain tag of the sealing record.
pub const TAG_SEALING: u8 = 0x19;
/// Key tag: an account folded into the state trie.
pub const KEY_FOLDED: u8 = 0x1b;
/// Length of an encoded [`SealingRecord`].
pub const SEALING_ENCODED_LEN: usize = 1 + 4 * 32 + 256;

/// The L2ToL1MessagePasser predeploy, whose storage root the header carries as its withdrawals
/// root and the output root commits to.
pub const MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");

/// What the block end has built so far (SPEC.md §5.19), hashed into the `tx_env_hash` of the
/// Sealing states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealingRecord {
    /// Sparse tree of the accounts folded into the state trie, each with its incarnation.
    pub folded_root: B256,
    /// Root of the transactions trie built so far.
    pub transactions_root: B256,
    /// Root of the receipts trie built so far.
    pub receipts_root: B256,
    /// The receipt chain of the receipts inserted so far.
    pub receipts_cursor: B256,
    /// The logs bloom of the receipts inserted so far.
    pub bloom: Bloom,
}

impl Default for SealingRecord {
    /// The record the block end starts from: nothing folded, empty tries and bloom.
    fn default() -> Self {
        Self {
            folded_root: B256::ZERO,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            receipts_cursor: B256::ZERO,
            bloom: Bloom::ZERO,
        }
    }
}

impl SealingRecord {
    /// `0x19 ‖ folded_root ‖ transactions_root ‖ receipts_root ‖ receipts_cursor ‖ bloom(256)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALING_ENCODED_LEN);
        out.push(TAG_SEALING);
        for r in [
            self.folded_root,
            self.transactions_root,
            self.receipts_root,
            self.receipts_cursor,
        ] {
            out.extend_from_slice(r.as_slice());
        }
        out.extend_from_slice(self.bloom.as_slice());
        out
    }

    /// `keccak256(encode())`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The preimage of an overlay key the block end folds (SPEC.md §5.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FoldKey {
    /// An account record.
    Account(Address),
    /// A storage slot of an account's incarnation.
    Slot(Address, u64, U256),
}

impl FoldKey {
    /// The overlay key (SPEC.md §3.7.2).
    pub fn key(&self) -> B256 {
        match *self {
            Self::Account(a) => account_key(a),
            Self::Slot(a, incarnation, slot) => slot_key(a, incarnation, slot),
        }
    }

    /// The account the key belongs to.
    pub fn address(&self) -> Address {
        match *self {
            Self::Account(a) | Self::Slot(a, _, _) => a,
        }
    }
}

/// Key of an account in the folded set: `keccak256(0x1b ‖ address)`.
pub fn folded_key(address: Address) -> B256 {
    let mut buf = [0u8; 21];
    buf[0] = KEY_FOLDED;
    buf[1..].copy_from_slice(address.as_slice());
    keccak256(buf)
}

/// Leaf of a folded account: its incarnation plus one, as a `u256` (never zero).
pub fn folded_leaf(incarnation: u64) -> B256 {
    B256::from(U256::from(incarnation) + U256::from(1))
}

/// The output root v0: `keccak256(bytes32(0) ‖ state_root ‖ message_passer_storage_root ‖
/// block_hash)`.
pub fn output_root(state_root: B256, message_passer_root: B256, block_hash: B256) -> B256 {
    let mut buf = [0u8; 128];
    buf[32..64].copy_from_slice(state_root.as_slice());
    buf[64..96].copy_from_slice(message_passer_root.as_slice());
    buf[96..].copy_from_slice(block_hash.as_slice());
    keccak256(buf)
}

/// The header of an Isthmus block as op-node seals it (SPEC.md §5.19), from the block
/// environment and constants and what the block end computed. `None` if a value the header
/// holds as a `u64` does not fit.
#[allow(clippy::too_many_arguments)]
pub fn seal_header(
    block: &BlockEnv,
    constants: &BlockConstants,
    state_root: B256,
    transactions_root: B256,
    receipts_root: B256,
    logs_bloom: Bloom,
    gas_used: u64,
    withdrawals_root: B256,
) -> Option<Header> {
    let word = |v: U256| u64::try_from(v).ok();
    Some(Header {
        parent_hash: constants.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: block.coinbase,
        state_root,
        transactions_root,
        receipts_root,
        logs_bloom,
        difficulty: U256::ZERO,
        number: word(block.number)?,
        gas_limit: word(block.gas_limit)?,
        gas_used,
        timestamp: word(block.timestamp)?,
        extra_data: constants.extra_data.clone().into(),
        mix_hash: B256::from(block.prevrandao),
        nonce: Default::default(),
        base_fee_per_gas: Some(word(block.basefee)?),
        withdrawals_root: Some(withdrawals_root),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(constants.parent_beacon_root),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    })
}

/// The block-end state of block `number` holding `output` (SPEC.md §5.19): status BlockEnd,
/// the output root as its `world_root`, empty memory and calldata, every other field zero. It
/// depends on the block number and the output alone.
pub fn block_end_state(number: u64, output: B256) -> MachineState {
    MachineState::outside_frames(number, Status::BlockEnd, output)
}

/// `blockEnd(state, proof)` of the game (SPEC.md §12.6): the output root the block-end state
/// committed to by `state` holds. `proof` is the state's 443-byte record, which MUST be a
/// block-end state (status BlockEnd, every field as [`block_end_state`] makes it).
pub fn block_end(state: B256, proof: &[u8]) -> Result<B256, VerifyError> {
    if proof.len() != STATE_ENCODED_LEN {
        return Err(VerifyError::NotBlockEnd);
    }
    let record = MachineState::decode(proof).map_err(|_| VerifyError::NotBlockEnd)?;
    if record.commitment() != state {
        return Err(VerifyError::PreStateMismatch);
    }
    if record != block_end_state(record.block_number, record.world_root) {
        return Err(VerifyError::NotBlockEnd);
    }
    Ok(record.world_root)
}

/// The prover's view of the block end (SPEC.md §5.19): the record, the overlay keys left to
/// fold with their preimages, every trie node it may need, and the block's receipts.
#[derive(Clone, Debug, Default)]
pub struct Sealing {
    /// The committed record (its folded set is the world's `folded` tree).
    pub record: SealingRecord,
    /// The overlay keys not folded yet, smallest first (the order the fold takes them in).
    pub pending: BTreeMap<B256, FoldKey>,
    /// Trie nodes by hash: the pre-state's tries, and every node a write created.
    pub nodes: NodeStore,
    /// The block's receipts, in order.
    pub receipts: Vec<Receipt>,
}

impl Sealing {
    /// The block end of a block whose overlay holds `keys` (with their preimages), whose tries'
    /// nodes are `nodes` and whose receipts are `receipts`.
    pub fn new(
        keys: impl IntoIterator<Item = FoldKey>,
        nodes: NodeStore,
        receipts: Vec<Receipt>,
    ) -> Self {
        Self {
            record: SealingRecord::default(),
            pending: keys.into_iter().map(|k| (k.key(), k)).collect(),
            nodes,
            receipts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::{StepProof, verify};

    #[test]
    fn block_end_opens_block_end_states_only() {
        let end = block_end_state(7, B256::repeat_byte(3));
        let c = end.commitment();
        assert_eq!(block_end(c, &end.encode()), Ok(B256::repeat_byte(3)));
        assert_eq!(
            block_end(B256::ZERO, &end.encode()),
            Err(VerifyError::PreStateMismatch)
        );
        assert_eq!(
            block_end(c, &end.encode()[..STATE_ENCODED_LEN - 1]),
            Err(VerifyError::NotBlockEnd)
        );
        for other in [
            MachineState {
                status: Status::Idle,
                ..end.clone()
            },
            MachineState {
                gas: 1,
                ..end.clone()
            },
            MachineState {
                block_env_hash: B256::repeat_byte(1),
                ..end.clone()
            },
        ] {
            assert_eq!(
                block_end(other.commitment(), &other.encode()),
                Err(VerifyError::NotBlockEnd)
            );
        }
    }

    /// The block-end state is its own successor, and its step takes no witness.
    #[test]
    fn the_block_end_state_is_a_fixed_point() {
        let end = block_end_state(7, B256::repeat_byte(3));
        let c = end.commitment();
        let proof = StepProof::empty(end.clone(), Vec::new());
        assert_eq!(verify(c, &proof), Ok(c));
        let mut with_code = proof.clone();
        with_code.code = vec![0];
        assert!(verify(c, &with_code).is_err());
        let mut with_witness = proof;
        with_witness.sealing = Some(SealingRecord::default());
        assert_eq!(
            verify(c, &with_witness),
            Err(VerifyError::UnusedWitness("sealing record"))
        );
    }

    #[test]
    fn output_root_is_the_op_stack_v0() {
        let (s, m, h) = (
            B256::repeat_byte(1),
            B256::repeat_byte(2),
            B256::repeat_byte(3),
        );
        let mut pre = vec![0u8; 32];
        pre.extend_from_slice(s.as_slice());
        pre.extend_from_slice(m.as_slice());
        pre.extend_from_slice(h.as_slice());
        assert_eq!(output_root(s, m, h), keccak256(pre));
    }
}
