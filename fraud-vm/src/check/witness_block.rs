//! `check_block`: a real block against its `debug_executionWitness` pre-state (SPEC.md §7).

use super::{
    BlockReport, ChainConfig, CheckError, CommitmentsOnly, L2Block, execution_time, trace_block,
};
use crate::mpt::BaseState;
use crate::witness::{WitnessDb, WitnessTrie};
use alloy::primitives::Bytes;
use revm::database::CacheDB;
use std::collections::BTreeMap;
use std::sync::Arc;

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
    if transactions_root != header.transactions_root {
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
    let mut outcome = trace_block(&mut CacheDB::new(db), base(), &block, config, &mut ())?;
    outcome.report.execution_time = execution_time;
    outcome.report.commit_time = commit_time;
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
    Ok((parent.clone(), WitnessDb { trie, block_hashes }))
}
