//! The one place layer 2 of the game (the steps of one L2 block, fraud-vm/SPEC.md §8) asks
//! fraud-vm for answers: the block's step count and end state, the commitment at a block-wide
//! position, a one-step proof, and the block start and end proofs `startSteps` needs.
//!
//! The answers come from `fraud_vm::check::BlockSteps` over the block's execution witness,
//! built from the node's own store the way `debug_executionWitness` builds it for
//! `op-node check-block` (no HTTP). A game asks about many positions of one block, so the
//! last block's `BlockSteps` is kept (keyed by its hash and recorded list: a block replaced
//! by a reorg is built again), and with it the block's step count; every answer re-runs the
//! block up to the asked position, committing that state alone (about the cost of executing
//! the block).

use crate::{
    chain::ChainConfig,
    engine::witness::{WitnessError, execution_witness, recorded_execution_witness},
    storage::{StorageError, Store, StoreReader},
};
use alloy::{
    consensus::Header,
    eips::eip2718::Encodable2718,
    primitives::{B256, Bytes},
    rpc::types::debug::ExecutionWitness,
};
use fraud_vm::{
    check::CheckError,
    range_fact::{LONG_CODE, LONG_WORDS, MANY_ENTRIES},
    witness::WitnessDb,
};
use std::sync::{Arc, Mutex};
use tracing::debug;

/// How far behind the head a disputed block's parent may be for the node to rebuild its
/// state: a game can be played over any block the node keeps (the bound only guards the
/// `u64` arithmetic of the rebuild; its cost grows with the distance).
const MAX_WITNESS_DEPTH: u64 = u64::MAX;

/// Why a layer-2 answer is not available.
#[derive(Debug, thiserror::Error)]
pub enum Layer2Error {
    /// The block is not in the node's store (not built yet, or the genesis block, which has
    /// no steps).
    #[error("L2 block {block} is not stored here")]
    NoBlock {
        /// The block asked about.
        block: u64,
    },
    /// The block's execution witness could not be built from the store.
    #[error("execution witness of L2 block {block}: {source}")]
    Witness {
        /// The block asked about.
        block: u64,
        /// Why.
        source: WitnessError,
    },
    /// The node's store could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The block has no append record of the L1 inbox here (derivation did not record it: it
    /// is not derived from L1 yet), so its block start cannot be tied to L1.
    #[error("L2 block {block}: no inbox append record of it is stored")]
    NotRecorded {
        /// The block asked about.
        block: u64,
    },
    /// The header of the block's L1 origin is not stored (derivation did not know it, or the L1
    /// RPC's header did not re-encode to its hash), so its block start cannot be tied to L1.
    #[error("L2 block {block}: the header of its L1 origin {epoch} is not stored")]
    NoOriginHeader {
        /// The block asked about.
        block: u64,
        /// Its L1 origin.
        epoch: u64,
    },
    /// The block's inputs are not those the inbox recorded for it (fraud-vm/SPEC.md §5.18):
    /// its transactions or timestamp differ from the recorded ones, or its `prevrandao` is not
    /// its L1 origin's mix hash.
    #[error("L2 block {block}: its inputs are not the inbox's inputs_n")]
    Untied {
        /// The block asked about.
        block: u64,
    },
    /// fraud-vm could not answer (the block does not run, a step does not prove).
    #[error("fraud-vm on L2 block {block}: {source}")]
    Check {
        /// The block asked about.
        block: u64,
        /// Why.
        source: Box<CheckError>,
    },
}

/// What `startSteps` sends for block `n`: the step count `N`, the end state `s_N`, and the
/// proofs the game's verifier checks them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// `N`: the block's last step index.
    pub step_count: u64,
    /// `commit(s_N)`.
    pub end_state: B256,
    /// `IBlockBoundaryVerifier.blockStart`'s proof.
    pub start_proof: Bytes,
    /// `IBlockBoundaryVerifier.blockEnd`'s proof.
    pub end_proof: Bytes,
}

/// A one-step proof of the step from a position, and the commitment it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// The canonical proof (SPEC §6.3).
    pub proof: Bytes,
    /// The post-state commitment the proof verifies to.
    pub post: B256,
}

type Steps = fraud_vm::check::BlockSteps<WitnessDb>;
/// The last block asked about: its hash (with its recorded list, if kept) and its answers.
type Cached = Option<(B256, Arc<Steps>)>;

/// Layer-2 answers for the blocks of the node's own chain.
#[derive(Clone)]
pub struct BlockSteps {
    store: Arc<Store>,
    /// The L2's rules: the witness replays the block with them.
    chain: Arc<ChainConfig>,
    /// The last block asked about, by hash.
    last: Arc<Mutex<Cached>>,
}

impl std::fmt::Debug for BlockSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockSteps")
            .field("chain_id", &self.chain.chain_id)
            .finish_non_exhaustive()
    }
}

impl BlockSteps {
    /// Answers about the blocks in `store`, an L2 with the rules `chain`.
    pub fn new(store: Arc<Store>, chain: Arc<ChainConfig>) -> Self {
        Self {
            store,
            chain,
            last: Arc::default(),
        }
    }

    /// What the defender of block `block` opens layer 2 with: fraud-vm's opening, its block
    /// start proof tied to L1 with the inbox append record derivation stored for the block.
    pub fn opening(&self, block: u64) -> Result<Opening, Layer2Error> {
        let opening = self.steps(block)?.opening().map_err(check(block))?;
        let start_proof = self.tie(block, &opening.start_proof)?;
        Ok(Opening {
            step_count: opening.step_count,
            end_state: opening.end_state,
            start_proof: start_proof.into(),
            end_proof: opening.end_proof.into(),
        })
    }

    /// `proof` (a block start proof of block `block` with an empty tie) tied to L1
    /// (fraud-vm/SPEC.md §5.18): `inputs_n`'s preimage fields and the inbox's opening of it, from
    /// the append record that completed the block, and the header of its L1 origin.
    fn tie(&self, block: u64, proof: &[u8]) -> Result<Vec<u8>, Layer2Error> {
        use fraud_vm::block_start::{BlockStartProof, InboxOpening, L1Tie};
        let reader = self.store.reader()?;
        let append = reader
            .append_of(block)?
            .ok_or(Layer2Error::NotRecorded { block })?;
        let (Some(inputs), Some(opened)) = (append.inputs(block), append.opening(block)) else {
            return Err(Layer2Error::NotRecorded { block });
        };
        let mut proof = BlockStartProof::decode(proof).ok_or_else(|| Layer2Error::Check {
            block,
            source: Box::new(CheckError::BadStart(
                "the start proof does not decode".into(),
            )),
        })?;
        proof.tie = L1Tie {
            epoch: inputs.epoch,
            epoch_hash: inputs.epoch_hash,
            sequence_number: inputs.sequence_number,
            opening: InboxOpening {
                index: opened.index,
                first: opened.record.first,
                count: opened.record.count,
                l1_block: opened.record.l1_block,
                inputs: opened.inputs,
                siblings: opened.siblings,
            },
        };
        if proof.tie.inputs_commitment(block, &proof.inputs) != Some(opened.inputs) {
            return Err(Layer2Error::Untied { block });
        }
        proof.origin_header = reader
            .origin_header(inputs.epoch_hash)?
            .filter(|h| alloy::primitives::keccak256(h) == inputs.epoch_hash)
            .ok_or(Layer2Error::NoOriginHeader {
                block,
                epoch: inputs.epoch,
            })?;
        fraud_vm::block_start::check_origin(&proof).map_err(|_| Layer2Error::Untied { block })?;
        Ok(proof.encode())
    }

    /// `commit(s_m)` of block `block` at block-wide position `position` (past `N`, the
    /// block-end state's).
    pub fn commitment_at(&self, block: u64, position: u64) -> Result<B256, Layer2Error> {
        self.steps(block)?
            .commitment_at(position)
            .map_err(check(block))
    }

    /// The proof of the step from position `position` of block `block`, checked with
    /// fraud-vm's verifier before it is returned.
    pub fn step_proof(&self, block: u64, position: u64) -> Result<StepProof, Layer2Error> {
        let step = self
            .steps(block)?
            .step_proof(position)
            .map_err(check(block))?;
        Ok(StepProof {
            proof: step.proof.into(),
            post: step.post,
        })
    }

    /// fraud-vm's view of stored block `block`: the cached one if the block is unchanged,
    /// else built from its execution witness.
    fn steps(&self, block: u64) -> Result<Arc<Steps>, Layer2Error> {
        let reader = self.store.reader()?;
        let stored = reader
            .block(block)?
            .filter(|_| block > 0)
            .ok_or(Layer2Error::NoBlock { block })?;
        let list = reader.recorded_list(block)?;
        // Keyed by the block's hash and its recorded list: an L1 reorg may record the same
        // block again with another list.
        let key = match &list {
            Some(list) => {
                alloy::primitives::keccak256([stored.hash.as_slice(), &list.encode()].concat())
            }
            None => stored.hash,
        };
        if let Some((cached, steps)) = self.cached()
            && cached == key
        {
            return Ok(steps);
        }
        let (header, transactions, witness) = self.inputs(&reader, block)?;
        let config = self.config();
        let steps = Arc::new(
            Steps::from_witness(&header, transactions, &witness, config).map_err(check(block))?,
        );
        debug!(target: "challenger", l2_block = block, hash = %stored.hash, witness_nodes = witness.state.len(), "layer 2: block witness built");
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((key, steps.clone()));
        Ok(steps)
    }

    /// The chain parameters fraud-vm runs the blocks with.
    fn config(&self) -> fraud_vm::check::ChainConfig {
        fraud_vm::check::ChainConfig::op_node(self.chain.chain_id, self.chain.gas_limit)
    }

    /// Stored block `block` as fraud-vm replays it: its header, its transactions as the inbox
    /// recorded them, and its execution witness.
    fn inputs(
        &self,
        reader: &StoreReader,
        block: u64,
    ) -> Result<(Header, Vec<Bytes>, ExecutionWitness), Layer2Error> {
        let stored = reader
            .block(block)?
            .filter(|_| block > 0)
            .ok_or(Layer2Error::NoBlock { block })?;
        let list = reader.recorded_list(block)?;
        // The block as the inbox recorded it: its deposits, then its recorded list, which
        // derivation kept if it left a transaction of it out (the block start ties the list to
        // the inbox's `tx_root`; the ones left out are skip steps, fraud-vm/SPEC.md §5.9), else
        // the block's own transactions.
        let deposits = stored.txs.iter().take_while(|t| t.tx.is_deposit());
        let (transactions, witness) = match list {
            Some(list) => {
                let decoded =
                    crate::derivation::recorded::decode_transactions(block, &list.transactions);
                let witness = recorded_execution_witness(
                    &self.chain,
                    reader,
                    block,
                    MAX_WITNESS_DEPTH,
                    Some(&decoded),
                )
                .map_err(|source| Layer2Error::Witness { block, source })?;
                let transactions = deposits
                    .map(|t| t.tx.inner().encoded_2718().into())
                    .chain(list.transactions)
                    .collect();
                (transactions, witness)
            }
            None => {
                let witness = execution_witness(&self.chain, reader, block, MAX_WITNESS_DEPTH)
                    .map_err(|source| Layer2Error::Witness { block, source })?;
                let transactions = stored
                    .txs
                    .iter()
                    .map(|t| t.tx.inner().encoded_2718().into())
                    .collect();
                (transactions, witness)
            }
        };
        Ok((stored.header, transactions, witness))
    }

    /// Fault injection only (`--fault-challenger-answers disagree-at-long-step`), never an
    /// honest answer: the position of the first step of block `block` of kind `kind` whose
    /// proof has an L1 form (a range of more than [`LONG_WORDS`] words, fraud-vm/SPEC.md §3.4.1:
    /// an opcode's range, a call's input, sha256's and ripemd160's among them, or a transaction
    /// start's data; or [v0.12] an opcode `OneStepVerifier` executes in code of more than
    /// [`LONG_CODE`] bytes, sent with its code window; or, for [`LongStepKind::Insertion`]
    /// alone, [v0.12] the block end's insertion of a long encoding or leaf), found by tracing
    /// the whole block once with fraud-vm and proving only the candidate steps. `None` if the
    /// block has no such step.
    pub fn first_long_step(
        &self,
        block: u64,
        kind: LongStepKind,
    ) -> Result<Option<u64>, Layer2Error> {
        let (header, transactions, witness) = self.inputs(&self.store.reader()?, block)?;
        let headers: Vec<Header> = witness
            .headers
            .iter()
            .filter_map(|raw| {
                use alloy::rlp::Decodable;
                Header::decode(&mut raw.as_ref()).ok()
            })
            .collect();
        let parent = headers
            .last()
            .filter(|p| p.hash_slow() == header.parent_hash)
            .cloned()
            .ok_or_else(|| {
                check(block)(CheckError::BadWitness(
                    "the last header is not the block's parent".into(),
                ))
            })?;
        let db = WitnessDb::new(
            Arc::new(fraud_vm::witness::WitnessTrie::new(
                parent.state_root,
                &witness.state,
                &witness.codes,
            )),
            headers.iter().map(|h| (h.number, h.hash_slow())).collect(),
        );
        let l2_block = fraud_vm::check::L2Block::of_header(parent, &header, transactions);
        let base = Arc::new(fraud_vm::mpt::BaseState::from_witness(db.trie.clone()));
        let mut scan = LongStepScan {
            kind,
            ..LongStepScan::default()
        };
        match fraud_vm::check::trace_block(
            &mut revm::database::CacheDB::new(db),
            base,
            &l2_block,
            &self.config(),
            &mut scan,
        ) {
            Ok(_) | Err(CheckError::Stopped) => {}
            Err(e) => return Err(check(block)(e)),
        }
        if scan.found.is_some() {
            return Ok(scan.found);
        }
        // The block end's states reach the observer with stale commitments (it neither verifies
        // nor wants boundary proofs), so its insertions are proven by the honest path, which
        // commits each state it proves from: a few steps a transaction.
        for position in scan.sealing {
            let proof = self.step_proof(block, position)?.proof;
            let decoded = fraud_vm::StepProof::decode(&proof).map_err(|e| {
                check(block)(CheckError::BadWitness(format!(
                    "the step from {position} does not decode: {e:?}"
                )))
            })?;
            if super::range_jobs::sent_form(&decoded, &proof)
                .is_some_and(|form| kind.matches(&decoded, &form))
            {
                return Ok(Some(position));
            }
        }
        Ok(None)
    }

    fn cached(&self) -> Cached {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Watches a block's states for the first step over a long range (fault injection only,
/// [`BlockSteps::first_long_step`]): a state about to run KECCAK256, a copy, RETURN, REVERT, a
/// LOG or a call whose range could span more than [`LONG_WORDS`] words, or an Idle state whose
/// next transaction's encoding could, or a state in long code, is proven, and kept if its proof
/// is sent in an L1 form (`range_jobs::sent_form`, the rule `range_jobs::prepare_step` sends
/// steps by) and of the kind asked; for [`LongStepKind::Insertion`], the block end's states are
/// kept for [`BlockSteps::first_long_step`] to prove.
#[derive(Default)]
struct LongStepScan {
    kind: LongStepKind,
    found: Option<u64>,
    /// The positions of the block end's states (Sealing), for [`LongStepKind::Insertion`].
    sealing: Vec<u64>,
    /// For [`LongStepKind::Entries`]: the first wide start's sub-steps are over (its entry
    /// sub-step, or anything after its Starting states, reached).
    entries_done: bool,
}

/// Which long step the `disagree-at-long-step` fault injection takes the defender to
/// (`--fault-challenger-long-step`, fault injection only): the first step of the block whose
/// proof is sent in an L1 form, or the first such step of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LongStepKind {
    /// The first step sent in an L1 form (a long range or long code), whatever it is.
    #[default]
    Any,
    /// A transaction start over long data (fraud-vm/SPEC.md §3.4.1 v0.11: the HASH of the
    /// encoding, the data's WRITE | ZEROS, the signing payload's WRITE and HASH, under OP rules
    /// the FLZ job of the L1 data fee).
    Start,
    /// [v0.12] The block end's insertion of a transaction whose encoding, or a trie leaf it
    /// reads or writes, is long (SPEC.md §5.19, §3.10: `InsertionStepVerifier`).
    Insertion,
    /// A call to the sha256 precompile over a long input (its `SHA256` job, `Sha256Blocks.sol`).
    Sha256,
    /// [v0.15] Not a long step: the last sub-step with entries of the block's first wide
    /// transaction start (SPEC.md §5.9: a Starting state with entries on its stack, the last
    /// group of authorizations, or of warm entries if it has none), proven in full (no range
    /// job), so a dispute reaches the start's sub-steps end to end.
    Entries,
}

impl LongStepKind {
    /// Whether the step `proof`, sent in the L1 form `form`, is of this kind.
    pub(crate) fn matches(
        self,
        proof: &fraud_vm::StepProof,
        form: &super::range_jobs::SentForm,
    ) -> bool {
        let status = proof.pre.status;
        match self {
            Self::Any => true,
            Self::Start => {
                status == fraud_vm::Status::Idle
                    && proof.transaction.is_some()
                    && proof.receipt.is_none()
            }
            Self::Insertion => status == fraud_vm::Status::Sealing && proof.receipt.is_some(),
            // Found by its state (`LongStepScan::state`), never by an L1 form.
            Self::Entries => false,
            Self::Sha256 => form.l1.as_ref().is_some_and(|l1| {
                l1.jobs
                    .iter()
                    .any(|j| j.job.flags & fraud_vm::range_fact::SHA256 != 0)
            }),
        }
    }
}

impl LongStepScan {
    /// Whether a range of `len` bytes can span more than [`LONG_WORDS`] words (at any offset:
    /// `len` bytes touch at most `⌈len / 32⌉ + 1` words), so that its step is worth proving.
    fn could_be_long(len: alloy::primitives::U256) -> bool {
        len > alloy::primitives::U256::from((LONG_WORDS - 1) * 32)
    }

    /// The length operand's depth from the top of the stack for an opcode with a memory range
    /// the L1 form may take from a fact: KECCAK256, RETURN, REVERT and the LOGs (offset, len),
    /// the copies (dst, src, len; EXTCODECOPY's address first), the calls' input (CALL and
    /// CALLCODE gas, address, value, offset, len; DELEGATECALL and STATICCALL without value).
    fn len_depth(op: u8) -> Option<usize> {
        match op {
            0x20 | 0xa0..=0xa4 | 0xf3 | 0xfd => Some(2),
            0x37 | 0x39 | 0x3e | 0x5e => Some(3),
            0x3c | 0xf4 | 0xfa => Some(4),
            0xf1 | 0xf2 => Some(5),
            _ => None,
        }
    }

    /// Whether the step from `state` is a candidate: it runs in code longer than
    /// [`LONG_CODE`] bytes (its opcode may take a code window), or its range, or for an Idle
    /// state the next transaction's encoding (the transaction start's data is part of it),
    /// could be long, or that encoding could hold more than [`MANY_ENTRIES`] access-list
    /// entries.
    fn candidate(state: &fraud_vm::FullState) -> bool {
        match state.record.status {
            fraud_vm::Status::Running if state.code.len() > LONG_CODE => true,
            fraud_vm::Status::Running => {
                let Some(depth) = usize::try_from(state.record.pc)
                    .ok()
                    .and_then(|pc| state.code.get(pc).copied())
                    .and_then(Self::len_depth)
                else {
                    return false;
                };
                let items = state.stack.items();
                items
                    .len()
                    .checked_sub(depth)
                    .is_some_and(|i| Self::could_be_long(items[i]))
            }
            fraud_vm::Status::Idle => state
                .transactions
                .as_ref()
                .and_then(|list| {
                    let index = usize::try_from(state.record.tx_index).ok()?;
                    list.records.get(index)
                })
                .is_some_and(|tx| {
                    // [v0.16] An access list of more than MANY_ENTRIES entries takes the L1 form
                    // (the ENTRIES job) whatever the encoding's length; it holds at least 21
                    // bytes an entry.
                    tx.encoded.len() > MANY_ENTRIES * 21
                        || Self::could_be_long(alloy::primitives::U256::from(tx.encoded.len()))
                }),
            _ => false,
        }
    }
}

impl fraud_vm::check::BlockObserver for LongStepScan {
    fn state(&mut self, position: u64, state: &fraud_vm::FullState) {
        if self.kind == LongStepKind::Entries {
            // The Starting states of the first wide start follow each other; the last one with
            // entries left is the pre-state of its last warm or authorization sub-step.
            if self.entries_done {
                return;
            }
            if state.record.status == fraud_vm::Status::Starting && !state.stack.items().is_empty()
            {
                self.found = Some(position);
            } else if self.found.is_some() {
                self.entries_done = true;
            }
            return;
        }
        if self.kind == LongStepKind::Insertion {
            // Only the block end's states are candidates; proven after the run.
            if state.record.status == fraud_vm::Status::Sealing {
                self.sealing.push(position);
            }
            return;
        }
        if self.found.is_some() || !Self::candidate(state) {
            return;
        }
        // A transaction start is a boundary step, proven on its own state; an opcode's step
        // on a copy (proving undoes its writes, but takes the state mutably).
        let proof = if state.record.status == fraud_vm::Status::Idle {
            fraud_vm::prove_boundary(state.clone())
                .ok()
                .map(|(p, ..)| p)
        } else {
            fraud_vm::prove(&mut state.clone()).ok().map(|(p, _)| p)
        };
        if proof.is_some_and(|p| {
            super::range_jobs::sent_form(&p, &p.encode())
                .is_some_and(|form| self.kind.matches(&p, &form))
        }) {
            self.found = Some(position);
        }
    }

    fn proves_steps(&self) -> bool {
        false
    }

    fn done(&self) -> bool {
        match self.kind {
            LongStepKind::Entries => self.entries_done,
            _ => self.found.is_some(),
        }
    }

    fn verifies_boundaries(&self) -> bool {
        false
    }

    fn wants_boundary_proofs(&self) -> bool {
        false
    }
}

fn check(block: u64) -> impl Fn(CheckError) -> Layer2Error {
    move |source| Layer2Error::Check {
        block,
        source: Box::new(source),
    }
}

#[cfg(test)]
#[path = "layer2/long_step_tests.rs"]
mod long_step_tests;

#[cfg(test)]
mod tests {
    use super::super::test_l1::{DEPLOYER, TestL1};
    use super::*;
    use crate::batcher::plan::MAX_APPEND_DATA;
    use crate::derivation::driver::tests::{
        BATCHER, TestInbox, derive, l1, sequence, stored_records,
    };
    use fraud_vm::block_start::{InboxView, PortalView, UserDeposit};

    /// The inbox's records, the portal's deposit log of each L1 block and the log-index
    /// oracle's chains of each L1 block hash as L1 holds them (a test double of the L1 view).
    struct Records(Vec<B256>, Vec<B256>, Vec<(B256, Vec<B256>)>);

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
            self.1.get(usize::try_from(l1_block).ok()?).copied()
        }
        fn log_index_chain(&self, block_hash: B256, count: u64) -> Option<B256> {
            Some(
                self.2
                    .iter()
                    .find(|(h, _)| *h == block_hash)
                    .and_then(|(_, chains)| chains.get(usize::try_from(count).ok()?))
                    .copied()
                    .unwrap_or_default(),
            )
        }
    }

    /// The log-index oracle's chains of each of `blocks` once its receipts are proven: the
    /// log indices of its deposits (recovered from their source hashes) folded from zero.
    fn log_index_chains(blocks: &[crate::derivation::L1Block]) -> Vec<(B256, Vec<B256>)> {
        use alloy::eips::Encodable2718;
        blocks
            .iter()
            .map(|b| {
                let mut chains = vec![B256::ZERO];
                let mut next = 0;
                for d in &b.deposits {
                    let d = UserDeposit::of_transaction(&d.encoded_2718(), b.hash, next)
                        .expect("a portal deposit");
                    next = d.log_index + 1;
                    let last = chains[chains.len() - 1];
                    chains.push(fraud_vm::block_start::log_index_link(last, d.log_index));
                }
                (b.hash, chains)
            })
            .collect()
    }

    /// The portal's deposit log of each of `blocks`: its deposits folded as the portal does.
    /// The chain and deposit parameters a `BoundaryVerifier` of the test chain is deployed with
    /// (the batcher and the default fee scalars).
    fn verifier_params(
        chain_id: u64,
        gas_limit: u64,
    ) -> (
        fraud_vm::block_start::ChainParams,
        fraud_vm::block_start::DepositParams,
    ) {
        let params = fraud_vm::block_start::ChainParams::op_node(chain_id, gas_limit);
        let deposits = fraud_vm::block_start::DepositParams {
            batcher: BATCHER,
            base_fee_scalar: crate::derivation::FeeScalars::default().base_fee_scalar,
            blob_base_fee_scalar: crate::derivation::FeeScalars::default().blob_base_fee_scalar,
        };
        (params, deposits)
    }

    fn deposit_chains(blocks: &[crate::derivation::L1Block]) -> Vec<B256> {
        use alloy::eips::Encodable2718;
        blocks
            .iter()
            .map(|b| {
                let mut next = 0;
                b.deposits.iter().fold(B256::ZERO, |chain, d| {
                    let d = UserDeposit::of_transaction(&d.encoded_2718(), b.hash, next)
                        .expect("a portal deposit");
                    next = d.log_index + 1;
                    d.link(chain)
                })
            })
            .collect()
    }

    /// Over real L2 blocks derived from the inbox (an L1-info deposit, a user deposit of L1
    /// block 1 in the block that opens its epoch, and transfers, built and stored by the
    /// engine): the opening's proofs check against the block's parent output, the inbox's
    /// records, the portal's deposit log and its own output, and every answer agrees with the
    /// others (the step from `m` yields `commit(s_{m+1})`; past `N`, the end state). The start
    /// proof is refused under an L1 view before the append, and the one with the user deposit
    /// under a portal log without it. Blocks not stored, and the genesis block, are refused by
    /// name.
    #[test]
    fn answers_over_real_blocks_agree_with_each_other_and_the_outputs() {
        let mut l1_blocks = l1(12);
        let source_hash = bridge::deposit::source_hash(0, l1_blocks[1].hash, 0);
        l1_blocks[1].deposits.push(op_alloy::consensus::TxDeposit {
            source_hash,
            from: alloy::primitives::Address::repeat_byte(0x55),
            to: alloy::primitives::TxKind::Call(alloy::primitives::Address::repeat_byte(0x66)),
            mint: 10u128.pow(18),
            value: alloy::primitives::U256::from(3),
            gas_limit: 100_000,
            is_system_transaction: false,
            input: alloy::primitives::Bytes::from_static(&[1, 2, 3]),
        });
        let (seq, locals) = sequence(4, &l1_blocks);
        let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
        let mut inbox = TestInbox::new(100);
        inbox.post(&mut l1_blocks, 5, &locals[..2], MAX_APPEND_DATA);
        inbox.post(&mut l1_blocks, 7, &locals[2..], MAX_APPEND_DATA);
        let records = Records(
            stored_records(&l1_blocks),
            deposit_chains(&l1_blocks),
            log_index_chains(&l1_blocks),
        );
        let (chain, _) = derive(&l1_blocks, genesis, 100);
        let steps = BlockSteps::new(chain.store.clone(), chain.engine.config().clone());
        let (params, deposits) = verifier_params(
            chain.engine.config().chain_id,
            chain.engine.config().gas_limit,
        );
        let output = |n| {
            crate::proposer::output_root(&chain.store, n)
                .unwrap()
                .unwrap()
                .0
        };
        let mut with_deposit = 0;
        for block in 1..=4 {
            let opening = steps.opening(block).unwrap();
            // The block's start proof checked under `records` by a game whose L1 view is `view`.
            let verify = |view: u64, records: &Records| {
                fraud_vm::block_start::verify_block_start(
                    output(block - 1),
                    block,
                    view,
                    &opening.start_proof,
                    &params,
                    records,
                    &deposits,
                )
            };
            let proof =
                fraud_vm::block_start::BlockStartProof::decode(&opening.start_proof).unwrap();
            if !proof.user_deposits.is_empty() {
                // The defender's user deposits are the portal's, their log indices the
                // oracle's: under a log without the deposit, the proof is refused.
                with_deposit += 1;
                assert_eq!(proof.tie.epoch, 1);
                assert_eq!(proof.user_deposits[0].log_index, 0);
                assert_eq!(
                    proof.user_deposits[0].hash(proof.tie.epoch_hash),
                    Some(alloy::primitives::keccak256(
                        alloy::eips::Encodable2718::encoded_2718(&l1_blocks[1].deposits[0])
                    ))
                );
                let empty = Records(records.0.clone(), vec![B256::ZERO; 12], records.2.clone());
                assert_eq!(
                    verify(11, &empty),
                    Err(fraud_vm::VerifyError::BadBlockStart {
                        what: "the user deposits are not the portal's depositChain(epoch)"
                    }),
                );
                // Under an oracle that has not proven the epoch's receipts, it is refused too.
                let unproven = Records(records.0.clone(), records.1.clone(), Vec::new());
                assert_eq!(
                    verify(11, &unproven),
                    Err(fraud_vm::VerifyError::BadBlockStart {
                        what: "the log-index oracle has not proven the epoch's deposit logs"
                    }),
                );
            }
            let n = opening.step_count;
            assert!(n > 1, "block {block}: {n} steps");
            let start = verify(11, &records).unwrap();
            let appended = if block <= 2 { 5 } else { 7 };
            assert_eq!(
                verify(appended - 1, &records),
                Err(fraud_vm::VerifyError::BadBlockStart {
                    what: "the inputs were appended after the game's L1 view"
                }),
                "block {block}"
            );
            assert_eq!(steps.commitment_at(block, 0).unwrap(), start);
            assert_eq!(
                fraud_vm::block::block_end(opening.end_state, &opening.end_proof).unwrap(),
                output(block),
                "block {block}: the end state holds the block's output root"
            );
            assert_eq!(steps.commitment_at(block, n).unwrap(), opening.end_state);
            assert_eq!(
                steps.commitment_at(block, n + 7).unwrap(),
                opening.end_state
            );
            for m in [0, 1, n / 2, n - 1, n] {
                let step = steps.step_proof(block, m).unwrap();
                assert_eq!(
                    step.post,
                    steps.commitment_at(block, m + 1).unwrap(),
                    "block {block}: the step from {m}"
                );
            }
        }
        assert_eq!(with_deposit, 1, "one block opens epoch 1 with its deposit");
        for block in [0, 5, u64::MAX] {
            assert!(
                matches!(steps.opening(block), Err(Layer2Error::NoBlock { block: b }) if b == block),
                "block {block}"
            );
        }
    }

    /// An L1 in revm with the real `BatchInbox`, `OptimismPortal` and `BoundaryVerifier` as
    /// op-node deploys them (the L2's chain parameters, the test rollup's inbox and deposit
    /// parameters).
    struct RevmL1 {
        l1: TestL1,
        inbox: alloy::primitives::Address,
        boundary: alloy::primitives::Address,
    }

    impl RevmL1 {
        fn new(chain: &crate::chain::ChainConfig, window: u64) -> Self {
            use alloy::sol_types::SolConstructor;
            let mut l1 = Self {
                l1: TestL1::new(),
                inbox: Default::default(),
                boundary: Default::default(),
            };
            let config = crate::derivation::inbox_config(
                &crate::derivation::driver::tests::rollup(B256::ZERO, window),
            );
            let mut code = bridge::bindings::BatchInbox::BYTECODE.to_vec();
            code.extend(
                bridge::bindings::BatchInbox::constructorCall {
                    batcher_: BATCHER,
                    firstBlock_: config.first_block,
                    genesisEpoch_: config.genesis_epoch,
                    genesisTimestamp_: config.genesis_timestamp,
                    seqWindowSize_: config.seq_window_size,
                    maxSequencerDrift_: config.max_sequencer_drift,
                }
                .abi_encode(),
            );
            l1.inbox = l1.l1.create(code);
            let mut code = bridge::bindings::OptimismPortal::BYTECODE.to_vec();
            code.extend(
                bridge::bindings::OptimismPortal::constructorCall {
                    anchorStateRegistry_: alloy::primitives::Address::repeat_byte(0xa5),
                    proofMaturityDelaySeconds_: alloy::primitives::U256::from(7),
                }
                .abi_encode(),
            );
            let portal = l1.l1.create(code);
            let mut code = bridge::bindings::DepositLogIndex::BYTECODE.to_vec();
            code.extend(
                bridge::bindings::DepositLogIndex::constructorCall { portal_: portal }.abi_encode(),
            );
            let log_index = l1.l1.create(code);
            let params =
                fraud_vm::block_start::ChainParams::op_node(chain.chain_id, chain.gas_limit);
            let scalars = crate::derivation::FeeScalars::default();
            use crate::l1::bindings::BoundaryVerifier as V;
            let mut code = V::BYTECODE.to_vec();
            code.extend(
                V::constructorCall {
                    params: V::ChainParams {
                        chainId: params.chain_id,
                        coinbase: params.coinbase,
                        gasLimit: params.gas_limit,
                        baseFeeDenominator: params.base_fee_denominator,
                        elasticity: params.elasticity,
                        minBaseFee: params.min_base_fee,
                    },
                    inbox_: l1.inbox,
                    deposits: V::DepositParams {
                        batcher: BATCHER,
                        baseFeeScalar: scalars.base_fee_scalar,
                        blobBaseFeeScalar: scalars.blob_base_fee_scalar,
                    },
                    portal_: portal,
                    logIndex_: log_index,
                }
                .abi_encode(),
            );
            l1.boundary = l1.l1.create(code);
            l1
        }

        /// Replays the inbox calls of `blocks` into the real `BatchInbox`, each in its L1 block
        /// (BLOCKHASH answering the made-up L1's hashes); returns the records it holds.
        fn append_all(&mut self, blocks: &[crate::derivation::L1Block]) -> Vec<B256> {
            use alloy::sol_types::SolCall;
            use bridge::bindings::BatchInbox as I;
            let mut nonce = 0;
            for block in blocks {
                let db = &mut self.l1.evm.ctx.journaled_state.database;
                for b in blocks.iter().take_while(|b| b.number < block.number) {
                    db.cache
                        .block_hashes
                        .insert(alloy::primitives::U256::from(b.number), b.hash);
                }
                self.l1.evm.ctx.block.number = alloy::primitives::U256::from(block.number);
                self.l1.evm.ctx.block.timestamp = alloy::primitives::U256::from(block.timestamp);
                for call in &block.inbox_calls {
                    let crate::derivation::InboxCall::Append { data, .. } = call else {
                        panic!("only appends here");
                    };
                    let out = self.l1.call(
                        BATCHER,
                        nonce,
                        self.inbox,
                        I::appendBlocksCall { data: data.clone() }.abi_encode(),
                        true,
                    );
                    assert!(out.is_ok(), "the inbox takes the append: {out:?}");
                    nonce += 1;
                }
            }
            let word = |out: Result<Bytes, Bytes>| B256::from_slice(&out.expect("a getter"));
            let count = word(self.l1.call(
                DEPLOYER,
                0,
                self.inbox,
                I::appendCountCall {}.abi_encode(),
                false,
            ));
            (0..alloy::primitives::U256::from_be_bytes(count.0).to::<u64>())
                .map(|i| {
                    word(
                        self.l1.call(
                            DEPLOYER,
                            0,
                            self.inbox,
                            I::appendRecordCall {
                                index: alloy::primitives::U256::from(i),
                            }
                            .abi_encode(),
                            false,
                        ),
                    )
                })
                .collect()
        }

        /// `BoundaryVerifier.blockStart` in revm: `commit(s_0)` or the revert data.
        fn block_start(
            &mut self,
            parent: B256,
            number: u64,
            l1_view: u64,
            proof: &Bytes,
        ) -> Result<B256, Bytes> {
            use crate::l1::bindings::BoundaryVerifier as V;
            use alloy::sol_types::SolCall;
            self.l1.evm.ctx.block.number = alloy::primitives::U256::from(l1_view + 1);
            self.l1
                .call(
                    DEPLOYER,
                    0,
                    self.boundary,
                    V::blockStartCall {
                        parentOutputRoot: parent,
                        l2BlockNumber: alloy::primitives::U256::from(number),
                        l1Block: alloy::primitives::U256::from(l1_view),
                        proof: proof.clone(),
                    }
                    .abi_encode(),
                    false,
                )
                .map(|out| B256::from_slice(&out))
        }
    }

    /// Over a real derived chain whose block 3 the batcher posted with recorded transactions
    /// derivation leaves out (a nonce ahead of the sender's, a sender without funds, bytes
    /// that do not decode, a signature without a key), appended to the real `BatchInbox` in
    /// revm: derivation keeps the block's recorded list (and no list for the blocks that hold
    /// theirs), the block derives to the sequencer's own block, and the defender opens it tied
    /// to the inbox's list (a list taken from the sealed block, without the left-out ones, is
    /// not the inbox's `tx_root`: `Untied`). The real Solidity `BoundaryVerifier` accepts the
    /// block start and gives the Rust verifier's `commit(s_0)`, and every step of the block
    /// proves to the next position's commitment under the Rust verifier, four of them the skip
    /// steps of the left-out transactions.
    #[test]
    fn a_block_whose_recorded_list_holds_refused_transactions_is_defended() {
        use crate::derivation::driver::tests::{key, transfer};
        let mut l1_blocks = l1(12);
        let (seq, mut locals) = sequence(4, &l1_blocks);
        let genesis = seq.store.reader().unwrap().header(0).unwrap().unwrap().0;
        let sealed: Vec<Bytes> = locals[2].transactions.clone();
        assert_eq!(sealed.len(), 3, "block 3 holds three transfers");
        // A signature whose `s` is above the curve order: no key recovers from it.
        let no_key = {
            use alloy::consensus::SignableTransaction;
            let tx = alloy::consensus::TxEip1559 {
                chain_id: seq.engine.config().chain_id,
                nonce: 0,
                gas_limit: 21_000,
                max_fee_per_gas: 10_000_000_000,
                to: alloy::primitives::TxKind::Call(alloy::primitives::Address::repeat_byte(1)),
                ..Default::default()
            };
            let signature = alloy::primitives::Signature::new(
                alloy::primitives::U256::from(1),
                alloy::primitives::U256::MAX,
                false,
            );
            op_alloy::consensus::OpTxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
        };
        let recorded: Vec<Bytes> = vec![
            sealed[0].clone(),
            transfer(&key(0), 99),
            sealed[1].clone(),
            Bytes::from_static(&[0x02, 0xc0]),
            transfer(&key(300), 0),
            sealed[2].clone(),
            no_key.into(),
        ];
        locals[2].transactions = recorded.clone();
        let mut inbox = TestInbox::new(100);
        inbox.post(&mut l1_blocks, 5, &locals[..2], MAX_APPEND_DATA);
        inbox.post(&mut l1_blocks, 7, &locals[2..], MAX_APPEND_DATA);
        let (chain, _) = derive(&l1_blocks, genesis, 100);
        let reader = chain.store.reader().unwrap();
        assert_eq!(
            reader.block(3).unwrap().unwrap().hash,
            seq.store.reader().unwrap().block(3).unwrap().unwrap().hash,
            "derivation leaves the refused ones out: the sequencer's block"
        );
        let list = reader
            .recorded_list(3)
            .unwrap()
            .expect("block 3's list is kept");
        assert_eq!((list.l1_block, list.transactions), (7, recorded.clone()));
        for block in [1, 2, 4] {
            assert_eq!(reader.recorded_list(block).unwrap(), None, "block {block}");
        }
        drop(reader);

        // The real inbox contract takes the same appends and holds the records the Rust
        // inbox computed.
        let mut revm_l1 = RevmL1::new(chain.engine.config(), 100);
        let records = revm_l1.append_all(&l1_blocks);
        assert_eq!(records, stored_records(&l1_blocks));
        let records = Records(records, vec![B256::ZERO; 12], Vec::new());

        let steps = BlockSteps::new(chain.store.clone(), chain.engine.config().clone());
        let output = |n| {
            crate::proposer::output_root(&chain.store, n)
                .unwrap()
                .unwrap()
                .0
        };
        let opening = steps.opening(3).expect("block 3 is defended");
        let proof = fraud_vm::block_start::BlockStartProof::decode(&opening.start_proof).unwrap();
        assert_eq!(proof.inputs.recorded_count, recorded.len() as u64);
        let (params, deposits) = verifier_params(
            chain.engine.config().chain_id,
            chain.engine.config().gas_limit,
        );
        let start = fraud_vm::block_start::verify_block_start(
            output(2),
            3,
            11,
            &opening.start_proof,
            &params,
            &records,
            &deposits,
        )
        .expect("the Rust verifier takes the block start");
        assert_eq!(steps.commitment_at(3, 0).unwrap(), start);
        assert_eq!(
            revm_l1.block_start(output(2), 3, 11, &opening.start_proof),
            Ok(start),
            "the Solidity BoundaryVerifier takes it with the same answer"
        );
        // The same proof with the block's own transactions as the recorded section (what the
        // challenger built before it kept the list) is not the inbox's.
        let mut sealed_proof = proof.clone();
        let mut transactions: Vec<Bytes> = Vec::new();
        transactions.extend(
            chain
                .store
                .reader()
                .unwrap()
                .block(3)
                .unwrap()
                .unwrap()
                .txs
                .iter()
                .take_while(|t| t.tx.is_deposit())
                .map(|t| t.encoded.clone()),
        );
        transactions.extend(sealed);
        sealed_proof.inputs = fraud_vm::block_start::BlockInputs::with_transactions(
            proof.inputs.timestamp,
            proof.inputs.prevrandao,
            proof.inputs.parent_beacon_root,
            &transactions,
        );
        let sealed_proof: Bytes = sealed_proof.encode().into();
        assert!(
            revm_l1
                .block_start(output(2), 3, 11, &sealed_proof)
                .is_err(),
            "the sealed list is refused by Solidity"
        );
        assert!(
            fraud_vm::block_start::verify_block_start(
                output(2),
                3,
                11,
                &sealed_proof,
                &params,
                &records,
                &deposits
            )
            .is_err(),
            "and by Rust"
        );
        assert_eq!(
            fraud_vm::block::block_end(opening.end_state, &opening.end_proof).unwrap(),
            output(3)
        );
        // Every step proves to the next position's commitment; the skips are Idle to Idle.
        let n = opening.step_count;
        let mut skips = Vec::new();
        let mut pre = start;
        for m in 0..n {
            let step = steps.step_proof(3, m).unwrap();
            let decoded = fraud_vm::StepProof::decode(&step.proof).unwrap();
            let transition =
                fraud_vm::proof::execute(pre, &decoded).unwrap_or_else(|e| panic!("step {m}: {e}"));
            assert_eq!(transition.post.commitment(), step.post, "step {m}");
            if decoded.pre.status == fraud_vm::Status::Idle
                && transition.post.status == fraud_vm::Status::Idle
                && transition.post.tx_index == decoded.pre.tx_index + 1
            {
                skips.push(decoded.pre.tx_index);
            }
            pre = step.post;
        }
        assert_eq!(pre, opening.end_state);
        let deposits_count = proof.inputs.deposit_count;
        assert_eq!(
            skips,
            [1, 3, 4, 6].map(|i| deposits_count + i),
            "the four left-out transactions are skipped"
        );
    }
}
