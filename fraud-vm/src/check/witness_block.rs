//! `check_block`: a real block against its `debug_executionWitness` pre-state (SPEC.md §7).

use super::{
    BlockObserver, BlockReport, BlockSteps, ChainConfig, CheckError, CommitmentsOnly, L2Block,
    execution_time, trace_block,
};
use crate::mpt::BaseState;
use crate::state::FullState;
use crate::witness::{WitnessDb, WitnessTrie};
use alloy::primitives::{B256, Bytes};
use revm::database::CacheDB;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Checks a real OP L2 block against its pre-state witness, in reth's `debug_executionWitness`
/// format: `witness.state` holds the RLP trie nodes, `codes` the codes, `keys` the preimages
/// (unused here: paths are walked from addresses and slots), `headers` the RLP headers from the
/// oldest the block reads up to its parent, last.
///
/// It checks that the headers chain up to `header.parent_hash` and that the transactions are the
/// ones the header commits to, then proves and verifies every step of the block (SPEC.md §5.9,
/// §5.18, §5.19): `s_0` derived by `blockStart` from the parent's output and the block's inputs
/// (read from the header: timestamp, PREVRANDAO, parent beacon root, and the transactions), the
/// system calls, every transaction traced with op-revm over the witness (each step's proof must
/// reach the next traced state, each transaction's outcome must be op-revm's), and the block
/// end, whose output root MUST be the one the header gives: `keccak256(0 ‖ state root ‖
/// withdrawals root ‖ hash)`, so every header field is checked. A witness lacking a node, code or
/// header that execution or a proof reads fails with [`CheckError::MissingWitness`] naming it.
pub fn check_block(
    header: &alloy::consensus::Header,
    transactions: &[Bytes],
    witness: &alloy::rpc::types::debug::ExecutionWitness,
    config: &ChainConfig,
) -> Result<BlockReport, CheckError> {
    check(header, transactions, witness, config, true)
}

/// [`check_block`] of a block derived from L1, given the recorded list derivation read
/// (BATCHES.md §5.2) rather than the transactions its header commits to: the recorded
/// transactions the EVM refuses are skipped by proven steps (SPEC.md §5.9, v0.6), and the
/// header's transactions root, over the ones that ran, is checked by the block end's seal (the
/// output root) instead of up front.
pub fn check_recorded_block(
    header: &alloy::consensus::Header,
    recorded: &[Bytes],
    witness: &alloy::rpc::types::debug::ExecutionWitness,
    config: &ChainConfig,
) -> Result<BlockReport, CheckError> {
    check(header, recorded, witness, config, false)
}

fn check(
    header: &alloy::consensus::Header,
    transactions: &[Bytes],
    witness: &alloy::rpc::types::debug::ExecutionWitness,
    config: &ChainConfig,
    committed: bool,
) -> Result<BlockReport, CheckError> {
    let (parent, db) = witness_db(header, witness)?;
    let trie = db.trie.clone();
    // An OP block opens with its L1-info deposit (the start step checks what it is).
    if transactions.is_empty() {
        return Err(CheckError::BadTransaction {
            index: 0,
            reason: "an OP block starts with the L1-info deposit; this one is empty".into(),
        });
    }
    // The transactions checked are the ones the header commits to.
    let transactions_root =
        alloy_trie::root::ordered_trie_root_with_encoder(transactions, |t, buf| {
            buf.extend_from_slice(t)
        });
    if committed && transactions_root != header.transactions_root {
        return Err(CheckError::HeaderMismatch {
            field: "transactions_root",
            header: header.transactions_root.to_string(),
            computed: transactions_root.to_string(),
        });
    }
    let block = L2Block::of_header(parent, header, transactions.to_vec());
    let base = || Arc::new(BaseState::from_witness(trie.clone()));
    let execution_time = execution_time(&mut CacheDB::new(db.clone()), &block, config)?;
    // A bisection answer re-runs the block with every state's commitment and no proofs: its
    // cost, and it must end where the checked run ends.
    let began = std::time::Instant::now();
    let unproved = trace_block(
        &mut CacheDB::new(db.clone()),
        base(),
        &block,
        config,
        &mut CommitmentsOnly::default(),
    )?;
    let commit_time = began.elapsed();
    // A layer-2 answerer (`BlockSteps`): N from a light run, then the commitments along the
    // bisection that agrees to the last step (every transaction re-run), each timed and checked
    // against the checked run's below.
    let steps = BlockSteps::new(db.clone(), base(), block.clone(), *config);
    let began = Instant::now();
    let step_count = steps.step_count()?;
    let count_time = began.elapsed();
    let mut answers = BTreeMap::new();
    let mut answer_time = Duration::ZERO;
    for m in bisection_to_the_end(step_count) {
        let began = Instant::now();
        answers.insert(m, steps.commitment_at(m)?);
        answer_time = answer_time.max(began.elapsed());
    }
    let mut kept = Kept {
        asked: answers.keys().copied().collect(),
        ..Kept::default()
    };
    let mut outcome = trace_block(&mut CacheDB::new(db), base(), &block, config, &mut kept)?;
    if kept.last != step_count || kept.found != answers {
        return Err(CheckError::Diverged {
            index: transactions.len().saturating_sub(1),
            what: "a layer-2 answer differs from the checked run's state".into(),
        });
    }
    outcome.report.execution_time = execution_time;
    outcome.report.commit_time = commit_time;
    outcome.report.count_time = count_time;
    outcome.report.answer_time = answer_time;
    outcome.report.answers = answers.len() as u64;
    if outcome.end.record.commitment() != unproved.end.record.commitment() {
        return Err(CheckError::Diverged {
            index: transactions.len().saturating_sub(1),
            what: "the unproved re-run ends in another state than the checked run".into(),
        });
    }
    if outcome.report.gas_used != header.gas_used {
        return Err(CheckError::HeaderMismatch {
            field: "gas_used",
            header: header.gas_used.to_string(),
            computed: outcome.report.gas_used.to_string(),
        });
    }
    // The block end sealed the header from what execution gave: its output root is the
    // header's exactly when every field agrees.
    let expected = crate::block::output_root(
        header.state_root,
        header
            .withdrawals_root
            .unwrap_or(alloy_trie::EMPTY_ROOT_HASH),
        header.hash_slow(),
    );
    if outcome.output_root != expected {
        return Err(CheckError::HeaderMismatch {
            field: "output_root",
            header: expected.to_string(),
            computed: outcome.output_root.to_string(),
        });
    }
    Ok(outcome.report)
}

/// The positions a bisection over `0..=n` asks when every answer agrees: it ends at the last
/// step, so the later answers re-run every transaction (the costliest path).
fn bisection_to_the_end(n: u64) -> Vec<u64> {
    let (mut agreed, disputed) = (0, n);
    let mut asked = Vec::new();
    while disputed - agreed > 1 {
        let mid = agreed + (disputed - agreed) / 2;
        asked.push(mid);
        agreed = mid;
    }
    asked
}

/// The commitments at the positions asked, and the last position: what the checked run says
/// the answers are.
#[derive(Default)]
struct Kept {
    asked: Vec<u64>,
    found: BTreeMap<u64, B256>,
    last: u64,
}

impl BlockObserver for Kept {
    fn state(&mut self, position: u64, state: &FullState) {
        self.last = position;
        if self.asked.binary_search(&position).is_ok() {
            self.found.insert(position, state.record.commitment());
        }
    }
}

/// The pre-state of the block sealed as `header` from its witness: the parent's header (the
/// witness's last, which must be `header`'s parent; the others must chain up to it) and the
/// database over the witness's trie, with the headers' hashes for op-revm's BLOCKHASH.
pub(super) fn witness_db(
    header: &alloy::consensus::Header,
    witness: &alloy::rpc::types::debug::ExecutionWitness,
) -> Result<(alloy::consensus::Header, WitnessDb), CheckError> {
    use alloy::rlp::Decodable;
    let mut headers = Vec::with_capacity(witness.headers.len());
    for raw in &witness.headers {
        let h = alloy::consensus::Header::decode(&mut raw.as_ref())
            .map_err(|e| CheckError::BadWitness(format!("header: {e}")))?;
        headers.push(h);
    }
    let parent = headers
        .last()
        .ok_or_else(|| CheckError::MissingWitness("the parent header".into()))?;
    if parent.hash_slow() != header.parent_hash
        || parent.number.checked_add(1) != Some(header.number)
    {
        return Err(CheckError::BadWitness(
            "the last header is not the block's parent".into(),
        ));
    }
    let mut block_hashes = BTreeMap::new();
    for pair in headers.windows(2) {
        if pair[1].parent_hash != pair[0].hash_slow() || pair[1].number != pair[0].number + 1 {
            return Err(CheckError::BadWitness("headers do not chain".into()));
        }
    }
    for h in &headers {
        block_hashes.insert(h.number, h.hash_slow());
    }
    let trie = Arc::new(WitnessTrie::new(
        parent.state_root,
        &witness.state,
        &witness.codes,
    ));
    Ok((parent.clone(), WitnessDb::new(trie, block_hashes)))
}
