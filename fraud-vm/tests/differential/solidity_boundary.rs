//! The block-boundary verifier (`BoundaryVerifier`, SPEC.md §5.18, §12.6) in revm against the
//! Rust reference: `blockStart` on the real OP blocks of `op_blocks` (and on random ones) gives
//! `verify_block_start`'s commitment, and every mutation of its proof (another output, a wrong
//! output preimage, a wrong or forged parent header, another block number, a timestamp going
//! back, header bytes changed and re-hashed so that the decoder decides, proof framing) is
//! refused by both for the same reason; the base fee follows random parents alike. The tie to L1
//! (v0.6) runs against the real `BatchInbox` (bridge/artifacts) holding append records: an
//! opening of a record the inbox does not hold, of another block, with a wrong `l1Block` or a
//! wrong preimage field of `inputs_n`, or appended after the game's L1 view, is refused by both;
//! the user deposits run against the real `OptimismPortal` holding the epoch's deposit log: a
//! deposit added, dropped, reordered or changed under a consistent `deposits_root` is refused by
//! both; their log indices run against the real `DepositLogIndex` oracle holding the epoch's
//! chain: one changed, two swapped, or the oracle without the record is refused by both.
//! `blockEnd` opens the block-end record and refuses every changed byte as `block::block_end`
//! does.

use super::*;
use alloy::primitives::keccak256;
use fraud_vm::block::{block_end, block_end_state, output_root};
use fraud_vm::block_start::{
    BlockStartProof, ChainParams, DepositParams, InboxOpening, InboxView, L1Tie, PortalView,
    UserDeposit, verify_block_start,
};
use fraud_vm::range_fact;

alloy::sol! {
    function blockStart(bytes32 parentOutputRoot, uint256 l2BlockNumber, uint256 l1Block, bytes proof) returns (bytes32);
    function appendCount() returns (uint256);
    function appendRecord(uint256 index) returns (bytes32);
    function depositChain(uint256 l1Block) returns (bytes32);
    function chainAt(bytes32 blockHash, uint256 count) returns (bytes32);
    function blockEnd(bytes32 state, bytes proof) returns (bytes32);
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes data) payable;
    function minimumGasLimit(uint64 byteCount) returns (uint64);
    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    error OptimismPortal_DepositLimitReached(uint64 resource, uint64 remaining);
    error BadBlockStart(string what);
    error NotBlockEnd();
    error PreStateMismatch();
}

/// The storage slot of `BatchInbox.records` (a `bytes32[]`: its length there, its items from
/// `keccak256(slot)`): after `state` (3 slots), `openFrontier` and `openTxRoot`. The test checks
/// it through `appendCount` and `appendRecord`.
const RECORDS_SLOT: u64 = 5;
/// The storage slot of `OptimismPortal.depositChain` (a `mapping(uint256 => bytes32)`, after
/// `l2Sender`, `finalizedWithdrawals`, `provenWithdrawals` and `proofSubmitters`). The test
/// checks it through `depositChain`.
const DEPOSIT_CHAIN_SLOT: u64 = 4;
/// The storage slot of `DepositLogIndex.chainAt` (a `mapping(bytes32 => mapping(uint256 =>
/// bytes32))`, its first variable). The test checks it through `chainAt`.
const CHAIN_AT_SLOT: u64 = 0;
/// The L1-info deposit's parameters of the verifier under test (the rollup config's batcher and
/// scalars).
const DEPOSITS: DepositParams = DepositParams {
    batcher: alloy::primitives::address!("0x00000000000000000000000000000000000000b7"),
    base_fee_scalar: 1368,
    blob_base_fee_scalar: 810_949,
};

/// The L1 block of the honest proofs' append, and the game's L1 view they are checked under.
const APPEND_L1_BLOCK: u64 = 990;
const L1_VIEW: u64 = 999;

/// The inbox's append records as read from the contract in revm (`appendCount`, `appendRecord`),
/// the portal's deposit log of one L1 block (`depositChain`) and the oracle's chain of one block
/// hash and count (`chainAt`): what the Rust verifier reads of L1.
struct Records(Vec<B256>, Option<(u64, B256)>, Option<(B256, u64, B256)>);

impl PortalView for Records {
    fn deposit_chain(&self, l1_block: u64) -> Option<B256> {
        self.1.filter(|(b, _)| *b == l1_block).map(|(_, c)| c)
    }
    fn log_index_chain(&self, block_hash: B256, count: u64) -> Option<B256> {
        self.2
            .filter(|(h, c, _)| *h == block_hash && *c == count)
            .map(|(_, _, chain)| chain)
    }
}

impl InboxView for Records {
    fn append_count(&self) -> u64 {
        self.0.len() as u64
    }
    fn append_record(&self, index: u64) -> Option<B256> {
        self.0.get(usize::try_from(index).ok()?).copied()
    }
}

/// `BoundaryVerifier` deployed on an L1 in revm under op-node's chain parameters, with the
/// real `BatchInbox` it opens block inputs from.
struct Boundary {
    l1: L1Verifier,
    address: Address,
    inbox: Address,
    portal: Address,
    oracle: Address,
    params: ChainParams,
    deposits: DepositParams,
    /// How often each answer was given (a refusal's reason, or "accepted").
    reasons: BTreeMap<String, usize>,
    /// The last answer compared (a refusal's reason, or "accepted").
    last_reason: String,
}

impl Boundary {
    fn deploy(params: ChainParams) -> Self {
        Self::deploy_with(params, DEPOSITS)
    }

    /// [`Self::deploy`] with the L1-info deposit's parameters `deposits`.
    fn deploy_with(params: ChainParams, deposits: DepositParams) -> Self {
        Self::deploy_with_portal(params, deposits, None)
    }

    /// [`Self::deploy_with`], the verifier built with portal address `portal` (one without
    /// code) instead of the real `OptimismPortal`'s when given.
    fn deploy_with_portal(
        params: ChainParams,
        deposits: DepositParams,
        portal: Option<Address>,
    ) -> Self {
        Self::deploy_with_l1(params, deposits, portal, None)
    }

    /// [`Self::deploy_with_portal`], the verifier built with oracle address `oracle` (one
    /// without code) instead of the real `DepositLogIndex`'s when given.
    fn deploy_with_l1(
        params: ChainParams,
        deposits: DepositParams,
        portal: Option<Address>,
        oracle: Option<Address>,
    ) -> Self {
        let mut l1 = L1Verifier::deploy();
        let inbox = {
            let mut initcode =
                crate::artifact_field("bridge/artifacts/BatchInbox.json", "bytecode");
            // batcher, firstBlock, genesisEpoch, genesisTimestamp, seqWindowSize, drift.
            for word in [
                U256::from_be_slice(SUBMITTER.as_slice()),
                U256::from(1),
                U256::from(100),
                U256::from(1_700_000_000u64),
                U256::from(10),
                U256::from(600),
            ] {
                initcode.extend_from_slice(&word.to_be_bytes::<32>());
            }
            l1.create(initcode, "BatchInbox")
        };
        let portal = portal.unwrap_or_else(|| {
            let mut initcode =
                crate::artifact_field("bridge/artifacts/OptimismPortal.json", "bytecode");
            // anchorStateRegistry (not read by `depositChain`), proofMaturityDelaySeconds.
            for word in [U256::from(0xa5), U256::from(7)] {
                initcode.extend_from_slice(&word.to_be_bytes::<32>());
            }
            l1.create(initcode, "OptimismPortal")
        });
        let oracle = oracle.unwrap_or_else(|| {
            let mut initcode =
                crate::artifact_field("bridge/artifacts/DepositLogIndex.json", "bytecode");
            initcode.extend_from_slice(&U256::from_be_slice(portal.as_slice()).to_be_bytes::<32>());
            l1.create(initcode, "DepositLogIndex")
        });
        let mut initcode = artifact_code("BoundaryVerifier", "bytecode");
        for word in [
            U256::from(params.chain_id),
            U256::from_be_slice(params.coinbase.as_slice()),
            U256::from(params.gas_limit),
            U256::from(params.base_fee_denominator),
            U256::from(params.elasticity),
            U256::from(params.min_base_fee),
            U256::from_be_slice(inbox.as_slice()),
            U256::from_be_slice(deposits.batcher.as_slice()),
            U256::from(deposits.base_fee_scalar),
            U256::from(deposits.blob_base_fee_scalar),
            U256::from_be_slice(portal.as_slice()),
            U256::from_be_slice(oracle.as_slice()),
        ] {
            initcode.extend_from_slice(&word.to_be_bytes::<32>());
        }
        let address = l1.create(initcode, "BoundaryVerifier");
        Self {
            l1,
            address,
            inbox,
            portal,
            oracle,
            params,
            deposits,
            reasons: BTreeMap::new(),
            last_reason: String::new(),
        }
    }

    /// Makes the inbox hold exactly the append records `records` (written to its storage), and
    /// checks that it reads them back.
    fn set_records(&mut self, records: &[B256]) {
        let db = &mut self.l1.evm.ctx.journaled_state.database;
        let slot = U256::from(RECORDS_SLOT);
        db.insert_account_storage(self.inbox, slot, U256::from(records.len()))
            .expect("infallible");
        let base = U256::from_be_bytes(keccak256(slot.to_be_bytes::<32>()).0);
        for (i, r) in records.iter().enumerate() {
            db.insert_account_storage(self.inbox, base + U256::from(i), U256::from_be_bytes(r.0))
                .expect("infallible");
        }
        assert_eq!(
            self.records().0,
            records,
            "the inbox holds the records written"
        );
    }

    /// Makes the portal's deposit log of L1 block `l1_block` `chain` (written to its storage),
    /// and checks that it reads it back.
    fn set_deposit_chain(&mut self, l1_block: u64, chain: B256) {
        let db = &mut self.l1.evm.ctx.journaled_state.database;
        let mut key = [0u8; 64];
        key[24..32].copy_from_slice(&l1_block.to_be_bytes());
        key[56..].copy_from_slice(&DEPOSIT_CHAIN_SLOT.to_be_bytes());
        db.insert_account_storage(
            self.portal,
            U256::from_be_bytes(keccak256(key).0),
            U256::from_be_bytes(chain.0),
        )
        .expect("infallible");
        assert_eq!(
            self.deposit_chain(l1_block),
            chain,
            "the portal holds the log written"
        );
    }

    /// Makes the oracle's `chainAt(block_hash, count)` `chain` (written to its storage), and
    /// checks that it reads it back.
    fn set_log_index_chain(&mut self, block_hash: B256, count: u64, chain: B256) {
        let db = &mut self.l1.evm.ctx.journaled_state.database;
        let inner = keccak256(
            [
                block_hash.as_slice(),
                &U256::from(CHAIN_AT_SLOT).to_be_bytes::<32>(),
            ]
            .concat(),
        );
        let slot =
            keccak256([&U256::from(count).to_be_bytes::<32>()[..], inner.as_slice()].concat());
        db.insert_account_storage(
            self.oracle,
            U256::from_be_bytes(slot.0),
            U256::from_be_bytes(chain.0),
        )
        .expect("infallible");
        assert_eq!(
            self.try_log_index_chain(block_hash, count),
            Some(chain),
            "the oracle holds the chain written"
        );
    }

    /// `chainAt(block_hash, count)` of the oracle; `None` unless its call returns 32 bytes.
    fn try_log_index_chain(&mut self, block_hash: B256, count: u64) -> Option<B256> {
        match self
            .l1
            .call_to(
                self.oracle,
                chainAtCall {
                    blockHash: block_hash,
                    count: U256::from(count),
                }
                .abi_encode(),
            )
            .0
        {
            ExecutionResult::Success { output, .. } if output.data().len() == 32 => {
                Some(B256::from_slice(output.data()))
            }
            _ => None,
        }
    }

    /// `depositChain(l1_block)` of the portal, through its getter.
    fn deposit_chain(&mut self, l1_block: u64) -> B256 {
        self.try_deposit_chain(l1_block)
            .expect("the portal answers depositChain")
    }

    /// `depositChain(l1_block)` of the portal; `None` unless its call returns 32 bytes.
    fn try_deposit_chain(&mut self, l1_block: u64) -> Option<B256> {
        match self
            .l1
            .call_to(
                self.portal,
                depositChainCall {
                    l1Block: U256::from(l1_block),
                }
                .abi_encode(),
            )
            .0
        {
            ExecutionResult::Success { output, .. } if output.data().len() == 32 => {
                Some(B256::from_slice(output.data()))
            }
            _ => None,
        }
    }

    /// The records the inbox holds, through its own getters (no deposit log).
    fn records(&mut self) -> Records {
        let word = |result: ExecutionResult| match result {
            ExecutionResult::Success { output, .. } if output.data().len() == 32 => {
                B256::from_slice(output.data())
            }
            other => panic!("inbox getter: {other:?}"),
        };
        let count = word(
            self.l1
                .call_to(self.inbox, appendCountCall {}.abi_encode())
                .0,
        );
        let count = u64::try_from(U256::from_be_bytes(count.0)).expect("a count");
        Records(
            (0..count)
                .map(|i| {
                    word(
                        self.l1
                            .call_to(
                                self.inbox,
                                appendRecordCall {
                                    index: U256::from(i),
                                }
                                .abi_encode(),
                            )
                            .0,
                    )
                })
                .collect(),
            None,
            None,
        )
    }

    /// The answer (a commitment, or the revert's name and reason) and the gas of one call.
    fn call(&mut self, data: Vec<u8>) -> (Result<B256, String>, u64) {
        let (result, gas) = self.l1.call_to(self.address, data);
        let answer = match result {
            ExecutionResult::Success { output, .. } if output.data().len() == 32 => {
                Ok(B256::from_slice(output.data()))
            }
            ExecutionResult::Revert { output, .. } => Err(revert_reason(&output)),
            other => Err(format!("<{other:?}>")),
        };
        (answer, gas)
    }

    fn block_start(
        &mut self,
        output: B256,
        number: u64,
        l1_view: u64,
        proof: &[u8],
    ) -> (Result<B256, String>, u64) {
        self.call(
            blockStartCall {
                parentOutputRoot: output,
                l2BlockNumber: U256::from(number),
                l1Block: U256::from(l1_view),
                proof: Bytes::copy_from_slice(proof),
            }
            .abi_encode(),
        )
    }

    fn block_end(&mut self, state: B256, proof: &[u8]) -> (Result<B256, String>, u64) {
        self.call(
            blockEndCall {
                state,
                proof: Bytes::copy_from_slice(proof),
            }
            .abi_encode(),
        )
    }

    /// Both verifiers on one block start: the same commitment, or the same reason to refuse
    /// (counted in `self.reasons`).
    fn compare_start(&mut self, output: B256, number: u64, proof: &[u8]) -> Result<bool, String> {
        self.compare_start_at(output, number, L1_VIEW, proof)
    }

    /// [`Self::compare_start`] on each of `refused`, which both verifiers must refuse alike
    /// (changes of `what`, for the error).
    fn refuse_all(
        &mut self,
        output: B256,
        number: u64,
        refused: &[BlockStartProof],
        what: &str,
    ) -> Result<(), String> {
        let mut accepted = 0;
        for p in refused {
            accepted += usize::from(self.compare_start(output, number, &p.encode())?);
        }
        if accepted != 0 {
            return Err(format!("{accepted} changes of {what} were accepted"));
        }
        Ok(())
    }

    /// [`Self::compare_start`] under the game's L1 view `l1_view`.
    fn compare_start_at(
        &mut self,
        output: B256,
        number: u64,
        l1_view: u64,
        proof: &[u8],
    ) -> Result<bool, String> {
        let mut records = self.records();
        // The portal's deposit log of the epoch the proof is tied to (the only one it reads).
        // The oracle's chain of the epoch's hash at the proof's deposit count (the only one
        // it reads).
        if let Some(p) = BlockStartProof::decode(proof) {
            records.1 = self
                .try_deposit_chain(p.tie.epoch)
                .map(|c| (p.tie.epoch, c));
            let k = p.user_deposits.len() as u64;
            records.2 = self
                .try_log_index_chain(p.tie.epoch_hash, k)
                .map(|c| (p.tie.epoch_hash, k, c));
        }
        let rust = verify_block_start(
            output,
            number,
            l1_view,
            proof,
            &self.params,
            &records,
            &self.deposits,
        )
        .map_err(|e| match e {
            fraud_vm::VerifyError::BadBlockStart { what } => what.to_string(),
            other => format!("{other:?}"),
        });
        let (sol, _) = self.block_start(output, number, l1_view, proof);
        if rust != sol {
            return Err(format!(
                "block {number}, view {l1_view}, proof 0x{}: rust {rust:?}, solidity {sol:?}",
                alloy::primitives::hex::encode(proof)
            ));
        }
        self.last_reason = rust.clone().err().unwrap_or_else(|| "accepted".into());
        *self.reasons.entry(self.last_reason.clone()).or_default() += 1;
        Ok(rust.is_ok())
    }
}

/// `BadBlockStart`'s reason, or the error's name.
fn revert_reason(data: &[u8]) -> String {
    use alloy::sol_types::SolError;
    if let Ok(e) = BadBlockStart::abi_decode(data) {
        return e.what;
    }
    if NotBlockEnd::abi_decode(data).is_ok() {
        return "NotBlockEnd".into();
    }
    if PreStateMismatch::abi_decode(data).is_ok() {
        return "PreStateMismatch".into();
    }
    format!("<revert 0x{}>", alloy::primitives::hex::encode(data))
}

/// The proof of `header` as the parent, its output root made to match.
fn with_parent(proof: &BlockStartProof, header: Vec<u8>) -> (B256, BlockStartProof) {
    let p = BlockStartProof {
        block_hash: keccak256(&header),
        parent_header: header,
        ..proof.clone()
    };
    (
        output_root(p.state_root, p.message_passer_root, p.block_hash),
        p,
    )
}

/// The inbox's block inputs of block `number` with `proof`'s inputs record and the tie's fields,
/// as the inbox commits to them (`bridge::inbox`, not fraud-vm's own hashing).
fn inbox_inputs(number: u64, proof: &BlockStartProof, tie: &L1Tie) -> bridge::inbox::BlockInputs {
    bridge::inbox::BlockInputs {
        number,
        timestamp: proof.inputs.timestamp,
        epoch: tie.epoch,
        epoch_hash: tie.epoch_hash,
        sequence_number: tie.sequence_number,
        tx_root: proof.inputs.recorded_root,
        tx_count: u32::try_from(proof.inputs.recorded_count).expect("a u32 count"),
    }
}

/// The honest L1 origin header of `proof`'s block: an L1 header (London, Cancun, Prague fields)
/// of number 77 whose mix hash is the inputs' `prevrandao`.
fn origin_header(number: u64, proof: &BlockStartProof) -> alloy::consensus::Header {
    alloy::consensus::Header {
        parent_hash: keccak256(number.to_be_bytes()),
        number: 77,
        timestamp: proof.inputs.timestamp.saturating_sub(12),
        gas_limit: 36_000_000,
        gas_used: 1_234_567,
        mix_hash: proof.inputs.prevrandao,
        base_fee_per_gas: Some(1_000_000_007),
        withdrawals_root: Some(keccak256([5])),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(keccak256([6])),
        requests_hash: Some(keccak256([7])),
        ..Default::default()
    }
}

/// `proof` tied to L1: the inbox (its storage set here) holds two records, the second of an
/// append in [`APPEND_L1_BLOCK`] that completed blocks `number − 1 … number + 1`, whose leaf
/// `number` is the block's `inputs_n` (built with `bridge::inbox::InputsProof`); its origin
/// header is [`origin_header`] and its parent beacon root zero, as op-node builds blocks.
fn tied(boundary: &mut Boundary, number: u64, proof: &BlockStartProof) -> BlockStartProof {
    let mut proof = proof.clone();
    proof.inputs.parent_beacon_root = B256::ZERO;
    let origin = alloy::rlp::encode(origin_header(number, &proof));
    tied_to(boundary, number, &proof, 77, origin)
}

/// `proof` with the deposits section of user deposits `user` after the L1-info deposit of its
/// origin header and tie under `deposits` (`deposit_count` and `deposits_root` made to match);
/// `proof` unchanged if its origin header does not decode.
fn with_deposits(
    proof: &BlockStartProof,
    deposits: &DepositParams,
    user: Vec<UserDeposit>,
) -> BlockStartProof {
    use alloy::rlp::Decodable;
    let mut p = proof.clone();
    let Ok(origin) = alloy::consensus::Header::decode(&mut p.origin_header.as_slice()) else {
        return p;
    };
    let info = fraud_vm::block_start::l1_info_deposit(
        &origin,
        p.tie.epoch_hash,
        p.tie.sequence_number,
        deposits,
    );
    let mut tree = fraud_vm::merkle::WordTree::new();
    tree.set(0, keccak256(info));
    for (i, d) in user.iter().enumerate() {
        tree.set(i as u64 + 1, d.hash(p.tie.epoch_hash).unwrap_or_default());
    }
    p.inputs.deposit_count = user.len() as u64 + 1;
    p.inputs.deposits_root = tree.root();
    p.user_deposits = user;
    p
}

/// `proof` with origin header `origin` of epoch `epoch` tied to L1 as [`tied`] does: the tie's
/// `epoch_hash` is the header's hash, whatever the header holds.
fn tied_to(
    boundary: &mut Boundary,
    number: u64,
    proof: &BlockStartProof,
    epoch: u64,
    origin: Vec<u8>,
) -> BlockStartProof {
    tied_at(boundary, number, proof, epoch, origin, None)
}

/// [`tied_to`] at sequence number `sequence_number` (by default 0 for a block with user
/// deposits, else 3), the deposits section rebuilt for it ([`with_deposits`]), the portal's log
/// of `epoch` made the user deposits' (written to its storage).
fn tied_at(
    boundary: &mut Boundary,
    number: u64,
    proof: &BlockStartProof,
    epoch: u64,
    origin: Vec<u8>,
    sequence_number: Option<u64>,
) -> BlockStartProof {
    let mut tie = L1Tie {
        epoch,
        epoch_hash: keccak256(&origin),
        sequence_number: sequence_number.unwrap_or(if proof.user_deposits.is_empty() {
            3
        } else {
            0
        }),
        ..Default::default()
    };
    let proof = &with_deposits(
        &BlockStartProof {
            tie: tie.clone(),
            origin_header: origin.clone(),
            ..proof.clone()
        },
        &boundary.deposits,
        proof.user_deposits.clone(),
    );
    let inputs_n = inbox_inputs(number, proof, &tie).commitment();
    let leaves = [keccak256([1]), inputs_n, keccak256([2])];
    let opening = bridge::inbox::InputsProof::new(1, number - 1, APPEND_L1_BLOCK, &leaves, number)
        .expect("the block is in the append");
    boundary.set_records(&[keccak256([3]), opening.record.commitment()]);
    // The portal's log of the epoch: the proof's user deposits, as the portal folds them.
    let chain = proof
        .user_deposits
        .iter()
        .fold(B256::ZERO, |c, d| d.link(c));
    boundary.set_deposit_chain(epoch, chain);
    // The oracle's chain of the epoch's hash: the user deposits' log indices, as proven from
    // the block's receipts.
    let k = proof.user_deposits.len() as u64;
    if k > 0 {
        boundary.set_log_index_chain(tie.epoch_hash, k, log_indices(&proof.user_deposits));
    }
    tie.opening = InboxOpening {
        index: opening.index,
        first: opening.record.first,
        count: opening.record.count,
        l1_block: opening.record.l1_block,
        inputs: opening.inputs,
        siblings: opening.siblings,
    };
    assert_eq!(
        tie.opening.encode(),
        opening.encode().to_vec(),
        "the tie carries the inbox's proof byte for byte"
    );
    BlockStartProof {
        tie,
        origin_header: origin,
        ..proof.clone()
    }
}

/// The tie's refusals (SPEC.md §5.18 v0.6) for the honest, tied `proof` of block `number`:
/// both verifiers refuse each the same way.
fn check_tie(
    boundary: &mut Boundary,
    output: B256,
    number: u64,
    proof: &BlockStartProof,
) -> Result<(), String> {
    let mut refused: Vec<(u64, u64, BlockStartProof)> = Vec::new();
    let mut with = |f: &dyn Fn(&mut BlockStartProof)| {
        let mut p = proof.clone();
        f(&mut p);
        refused.push((number, L1_VIEW, p));
    };
    // A wrong preimage field of inputs_n.
    with(&|p| p.tie.epoch += 1);
    with(&|p| p.tie.epoch_hash = keccak256(p.tie.epoch_hash));
    with(&|p| p.tie.sequence_number += 1);
    with(&|p| p.inputs.timestamp += 1);
    with(&|p| p.inputs.recorded_count += 1);
    with(&|p| p.inputs.recorded_root = keccak256(p.inputs.recorded_root));
    with(&|p| p.inputs.recorded_count = 1 << 32);
    // The opening: a wrong l1Block, another record, a record the inbox does not hold, a wrong
    // range, a wrong path, the record of another block.
    with(&|p| p.tie.opening.l1_block += 1);
    with(&|p| p.tie.opening.l1_block -= 1);
    with(&|p| p.tie.opening.index = 0);
    with(&|p| p.tie.opening.index = 2);
    with(&|p| p.tie.opening.index = u64::MAX);
    with(&|p| p.tie.opening.first += 1);
    with(&|p| p.tie.opening.count -= 1);
    with(&|p| p.tie.opening.count += 1);
    with(&|p| p.tie.opening.siblings[0] = keccak256(p.tie.opening.siblings[0]));
    with(&|p| p.tie.opening.siblings[31] = B256::ZERO);
    // Block number + 1's leaf (keccak256([2])) with this block's inputs: not inputs_n.
    with(&|p| {
        p.tie.opening.inputs = keccak256([2]);
    });
    // The inputs_n of this block made to match a proof of another block's position.
    let other = {
        let mut p = proof.clone();
        let leaves = [keccak256([1]), keccak256([4]), proof.tie.opening.inputs];
        let o =
            bridge::inbox::InputsProof::new(1, number - 1, APPEND_L1_BLOCK, &leaves, number + 1)
                .expect("in range");
        p.tie.opening.siblings = o.siblings;
        p
    };
    refused.push((number, L1_VIEW, other));
    // Appended after the game's L1 view.
    refused.push((number, APPEND_L1_BLOCK - 1, proof.clone()));
    refused.push((number, 0, proof.clone()));
    // Every byte of the tie flipped (the framing stays valid).
    let bytes = proof.encode();
    let mut flips = Vec::new();
    for i in 97..97 + fraud_vm::block_start::L1_TIE_LEN {
        let mut m = bytes.clone();
        m[i] ^= if i % 2 == 0 { 1 } else { 0x80 };
        flips.push(m);
    }
    let mut accepted = 0;
    for (n, view, p) in &refused {
        accepted += usize::from(boundary.compare_start_at(output, *n, *view, &p.encode())?);
    }
    for m in &flips {
        accepted += usize::from(boundary.compare_start(output, number, m)?);
    }
    if accepted != 0 {
        return Err(format!("{accepted} mutations of the tie were accepted"));
    }
    check_origin(boundary, output, number, proof)?;
    check_deposits(boundary, output, number, proof)?;
    // The view at the append's own L1 block is enough.
    if !boundary.compare_start_at(output, number, APPEND_L1_BLOCK, &bytes)? {
        return Err("the tie at the append's L1 block was refused".into());
    }
    Ok(())
}

/// The origin header's refusals (SPEC.md §5.18, the origin header) for the honest, tied `proof`
/// of block `number`: a header that does not hash to `epoch_hash` (every byte flipped, cut,
/// extended, none), another `prevrandao` or a non-zero parent beacon root; and, re-tied so that
/// `epoch_hash` is the header's hash, a header of another number, of another mix hash, that
/// does not decode or has bytes after it. Both verifiers refuse each the same way; an origin
/// header without the optional fields (a pre-London L1 block) is accepted by both.
fn check_origin(
    boundary: &mut Boundary,
    output: B256,
    number: u64,
    proof: &BlockStartProof,
) -> Result<(), String> {
    let mut refused: Vec<BlockStartProof> = Vec::new();
    let header = proof.origin_header.clone();
    for i in 0..header.len() {
        let mut p = proof.clone();
        p.origin_header[i] ^= if i % 3 == 0 { 0x80 } else { 1 };
        refused.push(p);
    }
    for cut in [1, header.len() / 2, header.len()] {
        let mut p = proof.clone();
        p.origin_header.truncate(header.len() - cut);
        refused.push(p);
    }
    let mut p = proof.clone();
    p.origin_header.push(0x80);
    refused.push(p);
    let mut p = proof.clone();
    p.inputs.prevrandao = keccak256(p.inputs.prevrandao);
    refused.push(p);
    let mut p = proof.clone();
    p.inputs.parent_beacon_root = keccak256([6]);
    refused.push(p);
    boundary.refuse_all(output, number, &refused, "the origin")?;
    // Re-tied: the inbox holds the changed header's hash as the epoch's.
    let honest = origin_header(number, proof);
    let mut retied: Vec<(u64, Vec<u8>)> = vec![
        (78, alloy::rlp::encode(&honest)),
        (
            77,
            alloy::rlp::encode(alloy::consensus::Header {
                number: 78,
                ..honest.clone()
            }),
        ),
        (
            77,
            alloy::rlp::encode(alloy::consensus::Header {
                mix_hash: keccak256(honest.mix_hash),
                ..honest.clone()
            }),
        ),
        (77, vec![0xc0]),
        (77, Vec::new()),
        (77, header[..header.len() - 1].to_vec()),
    ];
    let mut trailing = header.clone();
    trailing.push(0x80);
    retied.push((77, trailing));
    let mut listed = header.clone();
    listed[0] ^= 0x40;
    retied.push((77, listed));
    for (epoch, origin) in retied {
        let p = tied_to(boundary, number, proof, epoch, origin);
        if boundary.compare_start(output, number, &p.encode())? {
            return Err(format!("a re-tied origin of epoch {epoch} was accepted"));
        }
    }
    let pre_london = alloy::consensus::Header {
        base_fee_per_gas: None,
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
        ..honest
    };
    let p = tied_to(boundary, number, proof, 77, alloy::rlp::encode(&pre_london));
    if !boundary.compare_start(output, number, &p.encode())? {
        return Err("a pre-London origin header was refused".into());
    }
    // The inbox holds the honest records again.
    let again = tied_to(boundary, number, proof, 77, header);
    if again != *proof {
        return Err("re-tying the honest origin changed the proof".into());
    }
    Ok(())
}

/// The user deposits of `block` (its leading deposits after the first that are not system
/// deposits), each given log index `2·i + 1`: the OP blocks' made-up source hashes are no L1
/// log index's, so the prover's recovery ([`fraud_vm::block_start::user_deposits_of`]) finds
/// none; with indices the tests tie them to an epoch whose oracle holds them.
fn indexed_deposits(block: &fraud_vm::check::L2Block) -> Vec<UserDeposit> {
    use alloy::eips::Decodable2718;
    block
        .transactions
        .iter()
        .take_while(|t| t.first() == Some(&0x7e))
        .skip(1)
        .filter_map(
            |t| match op_alloy::consensus::OpTxEnvelope::decode_2718_exact(t).ok()? {
                op_alloy::consensus::OpTxEnvelope::Deposit(d) => Some(d.into_inner()),
                _ => None,
            },
        )
        .enumerate()
        .filter_map(|(i, d)| UserDeposit::of_deposit(&d, 2 * i as u64 + 1))
        .collect()
}

/// The oracle's chain of `deposits`' log indices (`bridge::log_index::log_index_chain`).
fn log_indices(deposits: &[UserDeposit]) -> B256 {
    bridge::log_index::log_index_chain(&deposits.iter().map(|d| d.log_index).collect::<Vec<_>>())
}

/// A user deposit as the portal emits it: a call (or, for odd `i`, a creation) from a made-up
/// sender with `data_len` bytes of data, minting `i` ether, its event log `3·i + 1` of its block.
fn user_deposit(i: u64, data_len: usize) -> UserDeposit {
    let creation = i % 2 == 1;
    UserDeposit {
        log_index: 3 * i + 1,
        from: Address::repeat_byte(0xd0 + i as u8),
        to: if creation {
            Address::ZERO
        } else {
            Address::repeat_byte(0xe0 + i as u8)
        },
        opaque_data: bridge::deposit::DepositData {
            mint: U256::from(i) * U256::from(10u64.pow(18)),
            value: U256::from(i),
            gas_limit: 100_000 + i,
            is_creation: creation,
            data: vec![i as u8; data_len].into(),
        }
        .encode()
        .to_vec(),
    }
}

/// The deposits section's refusals (SPEC.md §5.18, the deposits) for the honest, tied `proof` of
/// block `number`: another count, another root, a user deposit added, dropped or changed without
/// the root and count following, the L1-info deposit of other parameters (a forged one), user
/// deposits in a block that does not open its epoch (re-tied at sequence number 1), and a
/// verifier of other parameters refusing the honest proof. Then, at sequence number 0 with
/// user deposits, the portal's log: a deposit added, dropped, duplicated, reordered, all
/// dropped, or one's mint, value, gas, creation flag, data, sender or target changed, each with
/// the root and count following, is not `depositChain(epoch)`; opaque data that does not decode
/// is refused as such; a block of an epoch whose log is another's. Both verifiers refuse each
/// alike.
fn check_deposits(
    boundary: &mut Boundary,
    output: B256,
    number: u64,
    proof: &BlockStartProof,
) -> Result<(), String> {
    let mut refused: Vec<BlockStartProof> = Vec::new();
    let mut with = |f: &dyn Fn(&mut BlockStartProof)| {
        let mut p = proof.clone();
        f(&mut p);
        refused.push(p);
    };
    with(&|p| p.inputs.deposit_count += 1);
    with(&|p| p.inputs.deposit_count -= 1);
    with(&|p| p.inputs.deposit_count = 0);
    with(&|p| p.inputs.deposits_root = keccak256(p.inputs.deposits_root));
    with(&|p| p.user_deposits.push(user_deposit(9, 3)));
    with(&|p| {
        p.user_deposits.push(user_deposit(9, 3));
        p.inputs.deposit_count += 1;
    });
    if !proof.user_deposits.is_empty() {
        with(&|p| {
            p.user_deposits.pop();
        });
        with(&|p| {
            p.user_deposits.insert(0, user_deposit(9, 3));
            p.user_deposits.pop();
        });
    }
    // A forged L1-info deposit: another batcher's, another scalar's, under a consistent root.
    for other in [
        DepositParams {
            batcher: Address::repeat_byte(0xb8),
            ..DEPOSITS
        },
        DepositParams {
            base_fee_scalar: 1369,
            ..DEPOSITS
        },
        DepositParams {
            blob_base_fee_scalar: 0,
            ..DEPOSITS
        },
    ] {
        refused.push(with_deposits(proof, &other, proof.user_deposits.clone()));
    }
    // The L1-info deposit as word 1, a user deposit before it.
    let mut swapped = with_deposits(proof, &DEPOSITS, proof.user_deposits.clone());
    swapped.user_deposits.insert(0, user_deposit(9, 3));
    swapped.inputs.deposit_count += 1;
    refused.push(swapped);
    boundary.refuse_all(output, number, &refused, "the deposits")?;
    // User deposits in a block that does not open its epoch: re-tied at sequence number 1.
    let mut deposits = proof.user_deposits.clone();
    deposits.push(user_deposit(9, 3));
    let p = BlockStartProof {
        user_deposits: deposits,
        ..proof.clone()
    };
    let p = tied_at(
        boundary,
        number,
        &p,
        77,
        proof.origin_header.clone(),
        Some(1),
    );
    if boundary.compare_start(output, number, &p.encode())? {
        return Err("user deposits at sequence number 1 were accepted".into());
    }
    // The same block opening its epoch, the portal's log holding its deposits: accepted.
    let opening = tied_at(
        boundary,
        number,
        &p,
        77,
        proof.origin_header.clone(),
        Some(0),
    );
    if !boundary.compare_start(output, number, &opening.encode())? {
        return Err("the portal's user deposits at sequence number 0 were refused".into());
    }
    check_portal(boundary, output, number, &opening)?;
    // A verifier of another chain's parameters refuses the honest proof.
    let again = tied_to(boundary, number, proof, 77, proof.origin_header.clone());
    if again != *proof {
        return Err("re-tying the honest proof changed it".into());
    }
    let mut other = Boundary::deploy_with(
        boundary.params,
        DepositParams {
            batcher: Address::repeat_byte(0xb8),
            ..DEPOSITS
        },
    );
    let _ = tied_to(&mut other, number, proof, 77, proof.origin_header.clone());
    other.set_records(&boundary.records().0);
    if other.compare_start(output, number, &proof.encode())? {
        return Err("a verifier of another batcher accepted the proof".into());
    }
    Ok(())
}

/// The portal's deposit log against `proof`, the honest, tied proof of block `number` opening
/// its epoch with at least one user deposit (SPEC.md §5.18, the user deposits): every change of
/// the user deposits under a consistent `deposits_root` is refused by both as not the portal's
/// `depositChain(epoch)`, or as not decoding; the portal's log of another epoch refuses the
/// honest proof. Then the oracle: a log index changed, two swapped, all shifted, under a
/// consistent `deposits_root` (so the deposits' transactions' source hashes follow) is not the
/// oracle's chain; the oracle without the epoch's record, with fewer deposits proven, or
/// without code refuses the honest proof.
fn check_portal(
    boundary: &mut Boundary,
    output: B256,
    number: u64,
    proof: &BlockStartProof,
) -> Result<(), String> {
    const NOT_PORTALS: &str = "the user deposits are not the portal's depositChain(epoch)";
    const UNDECODABLE: &str = "a user deposit's opaque data does not decode";
    const NOT_ORACLES: &str =
        "the user deposits' log indices are not the oracle's chainAt(epoch_hash, k)";
    const NOT_PROVEN: &str = "the log-index oracle has not proven the epoch's deposit logs";
    let honest = proof.user_deposits.clone();
    assert!(!honest.is_empty() && proof.tie.sequence_number == 0);
    let last = honest.len() - 1;
    let mut changed: Vec<(&str, &str, Vec<UserDeposit>)> = Vec::new();
    let mut with = |what: &'static str, why: &'static str, f: &dyn Fn(&mut Vec<UserDeposit>)| {
        let mut user = honest.clone();
        f(&mut user);
        changed.push((what, why, user));
    };
    with("added", NOT_PORTALS, &|u| u.push(user_deposit(11, 5)));
    with("minted", NOT_PORTALS, &|u| {
        u.push(user_deposit(12, 0));
        u[last + 1].opaque_data[0] = 1;
    });
    with("dropped", NOT_PORTALS, &|u| {
        u.pop();
    });
    with("all dropped", NOT_PORTALS, &|u| u.clear());
    with("duplicated", NOT_PORTALS, &|u| u.push(u[last].clone()));
    with("reordered", NOT_PORTALS, &|u| {
        u.push(user_deposit(13, 2));
        u.swap(last, last + 1);
    });
    for (what, at) in [
        ("mint", 31),
        ("value", 63),
        ("gas", 71),
        ("creation flag", 72),
        ("data", 73),
    ] {
        with(what, NOT_PORTALS, &|u| {
            if at == 73 {
                u[last].opaque_data.push(0x42);
            } else {
                u[last].opaque_data[at] ^= 1;
            }
        });
    }
    with("mint above u128", NOT_PORTALS, &|u| {
        u[last].opaque_data[0] = 0xff;
    });
    with("sender", NOT_PORTALS, &|u| u[last].from.0[0] ^= 1);
    with("target", NOT_PORTALS, &|u| u[last].to.0[19] ^= 1);
    with("creation flag 2", UNDECODABLE, &|u| {
        u[last].opaque_data[72] = 2
    });
    with("short opaque data", UNDECODABLE, &|u| {
        u[last].opaque_data.truncate(72)
    });
    with("no opaque data", UNDECODABLE, &|u| {
        u[last].opaque_data.clear()
    });
    with("log index", NOT_ORACLES, &|u| u[last].log_index += 1);
    with("log index zero", NOT_ORACLES, &|u| u[0].log_index = 0);
    with("log indices shifted", NOT_ORACLES, &|u| {
        for d in u.iter_mut() {
            d.log_index += 1;
        }
    });
    if honest.len() >= 2 {
        with("log indices swapped", NOT_ORACLES, &|u| {
            let (a, b) = (u[0].log_index, u[last].log_index);
            u[0].log_index = b;
            u[last].log_index = a;
        });
    }
    for (what, why, user) in changed {
        let p = with_deposits(proof, &DEPOSITS, user);
        boundary.compare_start(output, number, &p.encode())?;
        let reason = boundary.last_reason.clone();
        if reason != why {
            return Err(format!("user deposits {what}: {reason}, not {why}"));
        }
    }
    // The portal's log of the epoch is another: the honest proof is refused.
    let chain = boundary.deposit_chain(proof.tie.epoch);
    boundary.set_deposit_chain(proof.tie.epoch, keccak256(chain));
    boundary.compare_start(output, number, &proof.encode())?;
    if boundary.last_reason != NOT_PORTALS {
        return Err(format!("another log: {}", boundary.last_reason));
    }
    boundary.set_deposit_chain(proof.tie.epoch, B256::ZERO);
    boundary.compare_start(output, number, &proof.encode())?;
    if boundary.last_reason != NOT_PORTALS {
        return Err(format!("an empty log: {}", boundary.last_reason));
    }
    // The oracle without the epoch's record, or with fewer deposits proven than the block
    // holds: the honest proof is refused; with it back, accepted.
    boundary.set_deposit_chain(proof.tie.epoch, chain);
    let k = honest.len() as u64;
    let indices = log_indices(&honest);
    boundary.set_log_index_chain(proof.tie.epoch_hash, k, B256::ZERO);
    boundary.compare_start(output, number, &proof.encode())?;
    if boundary.last_reason != NOT_PROVEN {
        return Err(format!("no oracle record: {}", boundary.last_reason));
    }
    boundary.set_log_index_chain(proof.tie.epoch_hash, k, keccak256(indices));
    boundary.compare_start(output, number, &proof.encode())?;
    if boundary.last_reason != NOT_ORACLES {
        return Err(format!("another oracle chain: {}", boundary.last_reason));
    }
    boundary.set_log_index_chain(proof.tie.epoch_hash, k, indices);
    // Deposits across the RLP encoder's length boundaries (data of 0, 1 byte below and above
    // 0x80, 55, 56 and 300 bytes; mint 0, 1, 0x7f, 0x80 and 2^128 − 1; a creation), the log
    // holding them: accepted by both, so both build the same transactions.
    let mut edges = honest.clone();
    for (i, (data, mint)) in [
        (vec![], 0u128),
        (vec![0x05], 1),
        (vec![0x85], 0x7f),
        (vec![7; 55], 0x80),
        (vec![8; 56], u128::MAX),
        (vec![9; 300], 10u128.pow(18)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = user_deposit(20 + i as u64, 0);
        d.opaque_data = bridge::deposit::DepositData {
            mint: U256::from(mint),
            value: U256::from(mint) << 100,
            gas_limit: 1 << (8 * i),
            is_creation: i == 3,
            data: data.into(),
        }
        .encode()
        .to_vec();
        if i == 3 {
            d.to = Address::ZERO;
        }
        edges.push(d);
    }
    let edged = with_deposits(proof, &DEPOSITS, edges.clone());
    boundary.set_deposit_chain(
        proof.tie.epoch,
        edges.iter().fold(B256::ZERO, |c, d| d.link(c)),
    );
    boundary.set_log_index_chain(
        proof.tie.epoch_hash,
        edges.len() as u64,
        log_indices(&edges),
    );
    if !boundary.compare_start(output, number, &edged.encode())? {
        return Err(format!(
            "deposits at the RLP edges: {}",
            boundary.last_reason
        ));
    }
    // A mint above a u128 (no L1 holds that much ether) that the log holds: both saturate it.
    let mut user = honest.clone();
    user[last].opaque_data[..16].fill(0xff);
    let huge = with_deposits(proof, &DEPOSITS, user.clone());
    let huge_chain = user.iter().fold(B256::ZERO, |c, d| d.link(c));
    boundary.set_deposit_chain(proof.tie.epoch, huge_chain);
    if !boundary.compare_start(output, number, &huge.encode())? {
        return Err(format!("a saturated mint: {}", boundary.last_reason));
    }
    boundary.set_deposit_chain(proof.tie.epoch, chain);
    if !boundary.compare_start(output, number, &proof.encode())? {
        return Err("the honest proof was refused with its log back".into());
    }
    // A verifier built with a portal address without code: the log cannot be read.
    let mut unread = Boundary::deploy_with_portal(
        boundary.params,
        boundary.deposits,
        Some(Address::repeat_byte(0x99)),
    );
    unread.set_records(&boundary.records().0);
    unread.compare_start(output, number, &proof.encode())?;
    if unread.last_reason != "the portal's depositChain cannot be read" {
        return Err(format!("a portal without code: {}", unread.last_reason));
    }
    // A verifier built with an oracle address without code: the indices cannot be read.
    let mut unread = Boundary::deploy_with_l1(
        boundary.params,
        boundary.deposits,
        None,
        Some(Address::repeat_byte(0x98)),
    );
    unread.set_records(&boundary.records().0);
    unread.set_deposit_chain(proof.tie.epoch, chain);
    unread.compare_start(output, number, &proof.encode())?;
    if unread.last_reason != "the log-index oracle cannot be read" {
        return Err(format!("an oracle without code: {}", unread.last_reason));
    }
    Ok(())
}

/// Every refusal of §5.18 and the decoder's corner cases for the block `encoded`: both verifiers
/// agree on the honest proof and on every mutation. Returns the gas of the honest `blockStart`.
fn check_start(boundary: &mut Boundary, encoded: &[Vec<u8>]) -> Result<u64, String> {
    use alloy::consensus::Header;
    let block = super::super::op_blocks::l2_block(encoded);
    let number = block.parent.number + 1;
    let output = block.parent_output_root();
    let mut start = block.start_proof();
    start.user_deposits = indexed_deposits(&block);
    let proof = tied(boundary, number, &start);
    let bytes = proof.encode();
    if !boundary.compare_start(output, number, &bytes)? {
        return Err("the honest proof was refused".into());
    }
    let (_, gas) = boundary.block_start(output, number, L1_VIEW, &bytes);
    check_tie(boundary, output, number, &proof)?;
    let mut refused = vec![
        (keccak256(output), number, bytes.clone()),
        (output, number + 1, bytes.clone()),
        (output, number - 1, bytes.clone()),
        (output, u64::MAX, bytes.clone()),
    ];
    let wrong_root = BlockStartProof {
        state_root: keccak256(proof.state_root),
        ..proof.clone()
    };
    refused.push((output, number, wrong_root.encode()));
    let mut other_parent = block.parent.clone();
    other_parent.gas_used += 1;
    let other_header = alloy::rlp::encode(&other_parent);
    refused.push((
        output,
        number,
        BlockStartProof {
            parent_header: other_header.clone(),
            ..proof.clone()
        }
        .encode(),
    ));
    let (forged_output, forged) = with_parent(&proof, other_header);
    refused.push((output, number, forged.encode()));
    // Forged with its output too: the same block start, a different base fee.
    refused.push((forged_output, number, forged.encode()));
    let mut early = proof.clone();
    early.inputs.timestamp = block.parent.timestamp - 1;
    refused.push((output, number, early.encode()));
    let mut same_time = proof.clone();
    same_time.inputs.timestamp = block.parent.timestamp;
    refused.push((output, number, same_time.encode()));
    // Headers that decode differently, each with its output made to match.
    let variants: Vec<Header> = vec![
        Header {
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
            ..block.parent.clone()
        },
        Header {
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
            ..block.parent.clone()
        },
        Header {
            block_access_list_hash: Some(B256::repeat_byte(3)),
            slot_number: Some(9),
            ..block.parent.clone()
        },
        Header {
            withdrawals_root: Some(keccak256([1])),
            ..block.parent.clone()
        },
        Header {
            number: 0,
            ..block.parent.clone()
        },
        Header {
            gas_used: 0,
            difficulty: U256::MAX,
            extra_data: Bytes::from(vec![7; 100]),
            ..block.parent.clone()
        },
        Header {
            gas_used: block.parent.gas_limit,
            base_fee_per_gas: Some(u64::MAX),
            ..block.parent.clone()
        },
    ];
    for h in variants {
        let (out, p) = with_parent(&proof, alloy::rlp::encode(&h));
        refused.push((out, number, p.encode()));
    }
    // Every byte of the header changed (and some removed or doubled), re-hashed.
    let header = &proof.parent_header;
    for i in 0..header.len() {
        let mut h = header.clone();
        h[i] ^= if i % 3 == 0 { 0x80 } else { 1 };
        let (out, p) = with_parent(&proof, h);
        refused.push((out, number, p.encode()));
        if i % 7 == 0 {
            let mut h = header.clone();
            h.remove(i);
            let (out, p) = with_parent(&proof, h);
            refused.push((out, number, p.encode()));
            let mut h = header.clone();
            h.insert(i, header[i]);
            let (out, p) = with_parent(&proof, h);
            refused.push((out, number, p.encode()));
        }
    }
    let mut trailing = header.clone();
    trailing.push(0x80);
    let (out, p) = with_parent(&proof, trailing);
    refused.push((out, number, p.encode()));
    // Proof framing: cut, extended, another version, another inputs tag, a wrong length.
    for cut in [1, 50, 113, bytes.len() - 100, bytes.len()] {
        refused.push((output, number, bytes[..bytes.len() - cut].to_vec()));
    }
    let mut longer = bytes.clone();
    longer.push(0);
    refused.push((output, number, longer));
    for v in [4, 5, 7] {
        let mut version = bytes.clone();
        version[0] = v;
        refused.push((output, number, version));
    }
    let inputs_len = fraud_vm::block_start::BLOCK_INPUTS_ENCODED_LEN;
    // The inputs record, then the origin header's length and the header, which end the proof.
    let deposits_len: usize = proof
        .user_deposits
        .iter()
        .map(|d| fraud_vm::block_start::USER_DEPOSIT_FIXED_LEN + d.opaque_data.len())
        .sum();
    let inputs_at = bytes.len() - 4 - deposits_len - 4 - proof.origin_header.len() - inputs_len;
    let mut tag = bytes.clone();
    let at = inputs_at;
    tag[at] ^= 1;
    refused.push((output, number, tag));
    let mut length = bytes.clone();
    length[1 + 96 + fraud_vm::block_start::L1_TIE_LEN + 3] ^= 1;
    refused.push((output, number, length));
    // The origin header's length, the user deposits' count: another does not frame the proof.
    let count_at = inputs_at + inputs_len + 4 + proof.origin_header.len();
    for delta in [1u8, 2] {
        for at in [inputs_at + inputs_len + 3, count_at + 3] {
            let mut m = bytes.clone();
            m[at] ^= delta;
            refused.push((output, number, m));
        }
    }
    // A change of any field of the inputs is refused (the deposits section by the deposits'
    // check, the rest by the tie and the origin header).
    for i in 1..inputs_len {
        let mut m = bytes.clone();
        let at = inputs_at + i;
        m[at] ^= 0x10;
        refused.push((output, number, m));
    }
    // More transactions than a u64 counts: refused by both (deposit_count at 73, recorded_count
    // at 113 of the record).
    let mut many = proof.clone();
    many.inputs.deposit_count = u64::MAX;
    many.inputs.recorded_count = 1;
    refused.push((output, number, many.encode()));
    let mut most = proof.clone();
    most.inputs.deposit_count = u64::MAX - 1;
    most.inputs.recorded_count = 1;
    refused.push((output, number, most.encode()));
    let mut accepted = 0;
    for (out, n, p) in &refused {
        accepted += usize::from(boundary.compare_start(*out, *n, p)?);
    }
    if accepted == refused.len() {
        return Err("no mutation was refused".into());
    }
    Ok(gas)
}

/// `blockStart` on the real OP blocks of `op_blocks` (every kind of transaction; a system
/// deposit): the honest proof and every mutation alike in both verifiers.
#[test]
fn solidity_block_start_matches_rust() {
    let mut boundary = Boundary::deploy(super::super::op_blocks::config().params);
    for encoded in super::super::op_blocks::fixed_blocks() {
        // The prover recovers every user deposit's log index from its source hash (the real
        // OP blocks' deposits came from real L1 blocks' logs).
        let block = super::super::op_blocks::l2_block(&encoded);
        println!(
            "user deposits: {} (the prover's: {})",
            indexed_deposits(&block).len(),
            block.start_proof().user_deposits.len()
        );
        let gas = check_start(&mut boundary, &encoded).unwrap_or_else(|e| panic!("{e}"));
        println!("blockStart gas: {gas}");
    }
    println!("answers: {:#?}", boundary.reasons);
    // Every reason of §5.18 occurred.
    assert!(boundary.reasons.len() >= 18, "{:#?}", boundary.reasons);
    for reason in [
        "more transactions than a u64 counts",
        "more recorded transactions than a u32 counts",
        "the inputs are not the inbox's inputs_n",
        "the inbox refuses the opening of inputs_n",
        "the inputs were appended after the game's L1 view",
        "the origin header does not hash to epoch_hash",
        "the origin header does not decode",
        "bytes after the origin header",
        "the origin header is not the epoch's",
        "prevrandao is not the origin's mix hash",
        "the parent beacon root is not zero",
        "user deposits in a block that does not open its epoch",
        "the deposit count is not the deposits'",
        "the deposits are not the L1-info deposit and the user deposits",
        "a user deposit's opaque data does not decode",
        "the user deposits are not the portal's depositChain(epoch)",
        "the user deposits' log indices are not the oracle's chainAt(epoch_hash, k)",
        "the log-index oracle has not proven the epoch's deposit logs",
    ] {
        assert!(boundary.reasons.contains_key(reason), "{reason}");
    }
}

/// The first real OP block, its number and its parent's output root (the `blockStart` tests
/// that tie user deposits build on it).
fn first_op_block() -> (fraud_vm::check::L2Block, u64, B256) {
    let encoded = super::super::op_blocks::fixed_blocks()
        .into_iter()
        .next()
        .expect("a block");
    let block = super::super::op_blocks::l2_block(&encoded);
    let number = block.parent.number + 1;
    let output = block.parent_output_root();
    (block, number, output)
}

/// The gas of `blockStart` on the first real OP block tied at sequence number 0 with 0, 1, 4 and
/// 16 user deposits (calls and creations alternating, 100 bytes of data each), the portal's log
/// holding them: both verifiers accept each.
#[test]
fn solidity_block_start_gas_by_deposits() {
    let mut boundary = Boundary::deploy(super::super::op_blocks::config().params);
    let (block, number, output) = first_op_block();
    for k in [0u64, 1, 4, 16] {
        let mut p = block.start_proof();
        p.inputs.parent_beacon_root = B256::ZERO;
        p.user_deposits = (0..k).map(|i| user_deposit(i, 100)).collect();
        let origin = alloy::rlp::encode(origin_header(number, &p));
        let p = tied_at(&mut boundary, number, &p, 77, origin, Some(0));
        let bytes = p.encode();
        assert!(
            boundary.compare_start(output, number, &bytes).unwrap(),
            "{}",
            boundary.last_reason
        );
        let (_, gas) = boundary.block_start(output, number, L1_VIEW, &bytes);
        println!(
            "blockStart gas with {k} user deposits: {gas} ({} proof bytes)",
            bytes.len()
        );
    }
}

/// The depositor of [`fill_l1_block`] (an EOA, so its deposits are from itself).
const ATTACKER: Address = alloy::primitives::address!("0x00000000000000000000000000000000a77ac4e7");
/// One L1 block, `l1_block` (after the portal's deployment in block 1000, and at least eight
/// blocks after the last one filled, so that the deposits' base fee is back at its minimum),
/// filled through the real `OptimismPortal`'s
/// `depositTransaction` until the portal refuses: the deposits of data lengths `lens` in turn
/// (the last length repeated), each with the least gas limit `minimumGasLimit(len)` allows
/// (`21,000 + 40·len`; its resource, what it takes of the block's 10,000,000, is
/// `21,000 + 100·len`), a target, value and data of nonzero bytes (the dearest calldata for the verifier) and a 1 wei
/// mint. Returns the user deposits as derivation reads them from the events (each transaction
/// of the block emits one log, so deposit `i`'s log index is `i`) and checks that they fold to the portal's `depositChain`; asserts that the deposit
/// after the last one is refused with `OptimismPortal_DepositLimitReached`.
fn fill_l1_block(boundary: &mut Boundary, l1_block: u64, lens: &[usize]) -> Vec<UserDeposit> {
    use alloy::sol_types::{SolError, SolEvent};
    boundary.l1.evm.ctx.block.number = U256::from(l1_block);
    let mut deposits = Vec::new();
    for nonce in 0u64.. {
        let len = lens[usize::try_from(nonce).expect("small").min(lens.len() - 1)];
        let data = vec![0xffu8; len];
        let min = match boundary
            .l1
            .call_to(
                boundary.portal,
                minimumGasLimitCall {
                    byteCount: len as u64,
                }
                .abi_encode(),
            )
            .0
        {
            ExecutionResult::Success { output, .. } => {
                minimumGasLimitCall::abi_decode_returns(output.data()).expect("a u64")
            }
            other => panic!("minimumGasLimit: {other:?}"),
        };
        let call = depositTransactionCall {
            to: Address::repeat_byte(0xff),
            value: U256::MAX,
            gasLimit: min,
            isCreation: false,
            data: data.into(),
        };
        let tx = TxEnv::builder()
            .caller(ATTACKER)
            .kind(TxKind::Call(boundary.portal))
            .value(U256::from(1))
            .data(call.abi_encode().into())
            .gas_limit(L1_TX_GAS)
            .gas_price(0)
            .nonce(nonce)
            .build()
            .expect("valid tx");
        boundary
            .l1
            .evm
            .ctx
            .journaled_state
            .database
            .insert_account_info(
                ATTACKER,
                AccountInfo::default()
                    .with_balance(U256::from(1))
                    .with_nonce(nonce),
            );
        match boundary
            .l1
            .evm
            .transact_commit(tx)
            .expect("a valid transaction")
        {
            ExecutionResult::Success { logs, .. } => {
                assert_eq!(logs.len(), 1, "one deposit event");
                let e = TransactionDeposited::decode_log(&logs[0]).expect("a deposit event");
                deposits.push(UserDeposit {
                    log_index: nonce,
                    from: e.from,
                    to: e.to,
                    opaque_data: e.opaqueData.to_vec(),
                });
            }
            ExecutionResult::Revert { output, .. } => {
                let refusal = OptimismPortal_DepositLimitReached::abi_decode(&output)
                    .unwrap_or_else(|_| panic!("refused otherwise: {}", revert_reason(&output)));
                // Refused on its resource: its gas limit plus 60 per byte (`depositResource`).
                let resource = min + 60 * len as u64;
                assert_eq!(refusal.resource, resource);
                assert!(refusal.remaining < resource, "{} left", refusal.remaining);
                break;
            }
            other => panic!("deposit {nonce}: {other:?}"),
        }
    }
    let chain = deposits.iter().fold(B256::ZERO, |c, d| d.link(c));
    assert_eq!(
        boundary.deposit_chain(l1_block),
        chain,
        "the events fold to the portal's log"
    );
    deposits
}

/// The deposit market's worst case (SPEC.md §5.18, the user deposits' cost): one L1 block filled
/// to the portal's limit the two cheapest ways for an attacker (many minimal deposits, no data,
/// 21,000 L2 gas each; and few maximal ones, 65,536 bytes then what is left) is the user deposits
/// of one block that opens its epoch, and the real `BoundaryVerifier`'s `blockStart` on it
/// (both verifiers accept it) stays within 10,000,000 gas, the whole L1 transaction (calldata
/// included), and its proof within 128 KiB (the L1 transaction pool's size limit):
/// `cargo test --release -p fraud-vm --test differential solidity_block_start_of_a_full_l1_block
/// -- --nocapture`.
#[test]
fn solidity_block_start_of_a_full_l1_block() {
    let mut boundary = Boundary::deploy(super::super::op_blocks::config().params);
    let (block, number, output) = first_op_block();
    for (name, l1_block, lens) in [
        ("many minimal deposits", 1001, &[0usize][..]),
        ("few maximal deposits", 1101, &[65_536, 34_044, 0][..]),
    ] {
        let deposits = fill_l1_block(&mut boundary, l1_block, lens);
        let count = deposits.len();
        let data: usize = deposits.iter().map(|d| d.opaque_data.len() - 73).sum();
        let mut p = block.start_proof();
        p.inputs.parent_beacon_root = B256::ZERO;
        p.user_deposits = deposits;
        let origin = alloy::rlp::encode(origin_header(number, &p));
        let p = tied_at(&mut boundary, number, &p, 77, origin, Some(0));
        assert_eq!(
            boundary.deposit_chain(77),
            boundary.deposit_chain(l1_block),
            "the epoch's log is the filled block's"
        );
        let bytes = p.encode();
        assert!(
            boundary.compare_start(output, number, &bytes).unwrap(),
            "{}",
            boundary.last_reason
        );
        let (answer, gas) = boundary.block_start(output, number, L1_VIEW, &bytes);
        assert!(answer.is_ok(), "{answer:?}");
        println!(
            "full L1 block, {name}: {count} deposits, {data} data bytes; blockStart gas {gas} \
             ({} proof bytes)",
            bytes.len()
        );
        assert!(gas <= 10_000_000, "{name}: {gas} gas");
        assert!(bytes.len() < 128 * 1024, "{name}: {} bytes", bytes.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5_18),
        ..ProptestConfig::default()
    })]

    /// Random OP blocks, and random parents under random chain parameters: the same `s_0` (the
    /// EIP-1559 base fee included) or the same refusal.
    #[test]
    fn solidity_block_start_on_random_blocks(
        encoded in super::super::op_blocks::random_block(),
        parents in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()), 16),
        params in (0u32..300, 0u32..10, 0u64..100),
    ) {
        let mut boundary = Boundary::deploy(super::super::op_blocks::config().params);
        check_start(&mut boundary, &encoded).map_err(TestCaseError::fail)?;
        let mut odd = Boundary::deploy(ChainParams {
            base_fee_denominator: params.0,
            elasticity: params.1,
            min_base_fee: params.2,
            ..super::super::op_blocks::config().params
        });
        let block = super::super::op_blocks::l2_block(&encoded);
        for (used, limit, fee, time) in parents {
            let limit = limit >> (used % 40);
            let parent = alloy::consensus::Header {
                gas_used: used.min(limit),
                gas_limit: limit,
                base_fee_per_gas: Some(fee >> (time % 64)),
                timestamp: time % (block.timestamp + 2),
                ..block.parent.clone()
            };
            let number = block.parent.number + 1;
            let (out, p) = with_parent(&block.start_proof(), alloy::rlp::encode(&parent));
            for b in [&mut boundary, &mut odd] {
                let p = tied(b, number, &p);
                b.compare_start(out, number, &p.encode()).map_err(TestCaseError::fail)?;
            }
        }
    }
}

/// `blockEnd` opens a block-end record to its output root; a changed byte anywhere, another
/// length or another commitment is refused with the reference's reason.
#[test]
fn solidity_block_end_matches_rust() {
    let mut boundary = Boundary::deploy(super::super::op_blocks::config().params);
    let compare = |boundary: &mut Boundary, state: B256, record: &[u8]| {
        let rust = block_end(state, record).map_err(|e| match e {
            fraud_vm::VerifyError::NotBlockEnd => "NotBlockEnd".to_string(),
            fraud_vm::VerifyError::PreStateMismatch => "PreStateMismatch".to_string(),
            other => format!("{other:?}"),
        });
        let (sol, gas) = boundary.block_end(state, record);
        assert_eq!(
            rust,
            sol,
            "record 0x{}",
            alloy::primitives::hex::encode(record)
        );
        (rust.is_ok(), gas)
    };
    for (number, output) in [
        (77u64, B256::repeat_byte(0x42)),
        (0, B256::ZERO),
        (u64::MAX, keccak256([1])),
    ] {
        let record = block_end_state(number, output).encode();
        let state = keccak256(&record);
        let (ok, gas) = compare(&mut boundary, state, &record);
        assert!(ok, "the honest record opens");
        println!("blockEnd gas: {gas}");
        let mut refused = 0;
        for i in 0..record.len() {
            for flip in [1u8, 0x80] {
                let mut m = record.clone();
                m[i] ^= flip;
                // Re-committed, so that the record's fields decide.
                refused += usize::from(!compare(&mut boundary, keccak256(&m), &m).0);
                if i % 50 == 0 {
                    compare(&mut boundary, state, &m);
                }
            }
        }
        assert!(refused > 0);
        compare(&mut boundary, keccak256(state), &record);
        compare(&mut boundary, state, &record[..442]);
        let mut longer = record.clone();
        longer.push(0);
        compare(&mut boundary, keccak256(&longer), &longer);
    }
}

/// The block-boundary steps of a block, as the Rust check proves them: kind, pre-commitment,
/// proof.
#[derive(Default)]
pub(super) struct BoundarySteps {
    pub(super) proofs: Vec<(String, B256, StepProof)>,
}

impl fraud_vm::check::BlockObserver for BoundarySteps {
    fn boundary(&mut self, kind: &str, pre: B256, proof: &StepProof) {
        self.proofs.push((kind.to_string(), pre, proof.clone()));
    }
}

/// Both verifiers on one step: the same post-state, or both reject (the Solidity verifier with
/// one of its own errors). `Ok(None)`: the Solidity verifier answered `Unsupported`.
pub(super) fn compare_step(
    l1: &mut L1Verifier,
    steps: Address,
    pre: B256,
    bytes: &[u8],
) -> Result<Option<u64>, String> {
    let rust = StepProof::decode(bytes)
        .map_err(|e| format!("{e:?}"))
        .and_then(|p| verify(pre, &p).map_err(|e| format!("{e:?}")));
    let data = stepCall {
        preCommitment: pre,
        proof: Bytes::copy_from_slice(bytes),
    }
    .abi_encode();
    let (result, gas) = l1.call_to(steps, data);
    let answer = answer_of(&result);
    match (&rust, &answer) {
        (Ok(a), Answer::Post(b)) if a == b => Ok(Some(gas)),
        (Err(_), a) if a.is_rejection() && !a.is_unsupported() => Ok(None),
        (_, a) if a.is_unsupported() => Err(format!("Unsupported: {a:?}")),
        _ => Err(format!("Rust {rust:?}, Solidity {answer:?}")),
    }
}

/// Every block-boundary step of the real OP blocks of `op_blocks` through the entry
/// `OneStepVerifier` (which forwards them to `BoundaryStepVerifier`, and the Sealing steps on to
/// `SealingStepVerifier`): the system calls of the BlockStart states, the block end's start,
/// the folds, insertions and seal of the Sealing states and the fixed point of the block-end
/// state give the Rust post-state, and every tampered witness (the block environment, the
/// constants, the world record, account records and slot values, tree paths, trie writes, the
/// pre-state) and byte mutation is rejected by both.
#[test]
fn solidity_block_boundary_steps_match_rust() {
    let mut l1 = L1Verifier::deploy();
    // Through the entry, which forwards by status (and the Idle state after the last
    // transaction) to `BoundaryStepVerifier`.
    let steps = l1.address;
    let mut verified: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut tampered = 0;
    let mut refused: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut seed = 0x05ee_d518_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for encoded in super::super::op_blocks::fixed_blocks() {
        let recorded = super::super::op_blocks::run_recorded(&encoded, BoundarySteps::default())
            .expect("the block checks");
        for (kind, pre, proof) in &recorded.proofs {
            if kind.as_str() == "TxStart" || kind.as_str() == "TxEnd" {
                continue;
            }
            let bytes = proof.encode();
            match compare_step(&mut l1, steps, *pre, &bytes) {
                Ok(Some(gas)) => verified.entry(kind.clone()).or_default().push(gas),
                other => failures.push(format!("{kind}: the honest proof: {other:?}")),
            }
            crate::tamperings(*pre, proof, |what, p, pre| {
                tampered += 1;
                if let Err(e) = compare_step(&mut l1, steps, pre, &p.encode()) {
                    failures.push(format!("{kind}: tampered {what}: {e}"));
                }
            });
            // Refused by both, or (a receipt at its insertion: only the seal checks the receipt
            // chain) another post-state in both, never the honest one.
            let honest = verify(*pre, proof).ok();
            for (what, p) in block_end_tamperings(proof) {
                tampered += 1;
                match compare_step(&mut l1, steps, *pre, &p.encode()) {
                    Ok(None) => *refused.entry(what).or_default() += 1,
                    Ok(Some(_)) if verify(*pre, &p).ok() != honest => {
                        *refused.entry(what).or_default() += 1
                    }
                    Ok(Some(_)) => {
                        failures.push(format!("{kind}: tampered {what} changed nothing"))
                    }
                    Err(e) => failures.push(format!("{kind}: tampered {what}: {e}")),
                }
            }
            for _ in 0..24 {
                let mut m = bytes.clone();
                let at = next(m.len());
                match next(3) {
                    0 => m[at] ^= 1 << next(8),
                    1 => m.insert(at, next(256) as u8),
                    _ => {
                        m.remove(at);
                    }
                }
                tampered += 1;
                if let Err(e) = compare_step(&mut l1, steps, *pre, &m) {
                    failures.push(format!("{kind}: mutated at {at}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    println!("verified (L1 gas): {verified:?}");
    println!(
        "{tampered} tampered or mutated proofs; block-end tamperings refused or diverted: {refused:?}"
    );
    for what in [
        "fold key",
        "receipt status",
        "receipt gas",
        "receipt log",
        "receipt deposit nonce",
        "trie node",
        "trie sibling",
        "sealing record",
    ] {
        assert!(refused.contains_key(what), "no {what} tampered");
    }
    assert!(verified.get("SystemCall").is_some_and(|v| v.len() >= 4));
    for kind in ["EndStart", "Fold", "Insert", "Seal", "BlockEnd"] {
        assert!(verified.contains_key(kind), "no {kind} verified");
    }
}

/// Tamperings of the block end's own witnesses (SPEC.md §5.19), each of which both verifiers
/// must refuse: another fold key (the next address, incarnation or slot), a receipt with
/// another status, gas, an extra log or without its deposit nonce, a trie witness with a node
/// changed or removed, with its sibling removed or an unneeded one added, another sealing
/// record.
fn block_end_tamperings(proof: &StepProof) -> Vec<(&'static str, StepProof)> {
    use fraud_vm::block::FoldKey;
    let mut out = Vec::new();
    let mut with = |what: &'static str, f: &dyn Fn(&mut StepProof)| {
        let mut p = proof.clone();
        f(&mut p);
        out.push((what, p));
    };
    if let Some(key) = proof.fold_key {
        with("fold key", &|p| {
            p.fold_key = Some(match key {
                FoldKey::Account(a) => FoldKey::Account(Address::repeat_byte(a[19] ^ 0x77)),
                FoldKey::Slot(a, n, k) => FoldKey::Slot(a, n, k ^ U256::from(1)),
            })
        });
        if let FoldKey::Slot(a, n, k) = key {
            with("fold key", &|p| {
                p.fold_key = Some(FoldKey::Slot(a, n + 1, k))
            });
            with("fold key", &|p| p.fold_key = Some(FoldKey::Account(a)));
        }
    }
    if let Some(r) = &proof.receipt {
        let r = r.clone();
        with("receipt status", &|p| {
            p.receipt = Some(fraud_vm::receipt::Receipt {
                success: !r.success,
                ..r.clone()
            })
        });
        with("receipt gas", &|p| {
            p.receipt = Some(fraud_vm::receipt::Receipt {
                cumulative_gas: r.cumulative_gas ^ 1,
                ..r.clone()
            })
        });
        with("receipt log", &|p| {
            let mut logs = r.logs.clone();
            logs.push(alloy::primitives::Log::new_unchecked(
                Address::repeat_byte(7),
                vec![B256::repeat_byte(8)],
                Bytes::from(vec![9]),
            ));
            p.receipt = Some(fraud_vm::receipt::Receipt { logs, ..r.clone() })
        });
        with("receipt transaction index", &|p| {
            p.receipt = Some(fraud_vm::receipt::Receipt {
                tx_index: r.tx_index ^ 1,
                ..r.clone()
            })
        });
        with("receipt deposit nonce", &|p| {
            p.receipt = Some(fraud_vm::receipt::Receipt {
                deposit_nonce: match r.deposit_nonce {
                    Some(n) => Some(n + 1),
                    None => Some(0),
                },
                ..r.clone()
            })
        });
    }
    for i in 0..proof.tries.len() {
        let w = &proof.tries[i];
        for j in 0..w.nodes.len() {
            with("trie node", &|p| {
                let mut node = p.tries[i].nodes[j].to_vec();
                let at = node.len() / 2;
                node[at] ^= 1;
                p.tries[i].nodes[j] = node.into();
            });
            with("trie node", &|p| {
                p.tries[i].nodes.remove(j);
            });
        }
        match &w.sibling {
            Some(_) => with("trie sibling", &|p| p.tries[i].sibling = None),
            None => with("trie sibling", &|p| {
                p.tries[i].sibling = Some(Bytes::from(vec![0xc2, 0x80, 0x80]))
            }),
        }
    }
    if let Some(s) = &proof.sealing {
        let s = s.clone();
        with("sealing record", &|p| {
            p.sealing = Some(fraud_vm::block::SealingRecord {
                receipts_cursor: keccak256(s.receipts_cursor),
                ..s.clone()
            })
        });
    }
    out
}

/// The block-boundary steps of an OP block holding a 300,000-byte deposit and a 127,800-byte
/// recorded transaction (`op_blocks::long_data_block`): both verifiers agree on each, and the gas
/// of each kind is printed. [v0.12] The insertions over long encodings (the two long
/// transactions, and the deposit's leaf, moved under a new branch by the next insertion) are
/// also taken in their L1 form (SPEC.md §3.4.1, §3.10): refused before their facts, then, once
/// every job has run, the Rust post-state, each step under 1M gas and each chunk under 5M; and
/// their tampered forms are refused.
///
/// `cargo test --release -p fraud-vm --test differential solidity_long_block_boundary_steps_gas -- --nocapture`
#[test]
fn solidity_long_block_boundary_steps_gas() {
    let mut l1 = L1Verifier::deploy();
    let steps = l1.address;
    let mut feeder = super::ranges::Feeder::new(&mut l1);
    let block = super::super::op_blocks::long_data_block(300_000, 127_800);
    let recorded = super::super::op_blocks::run_recorded(&block, BoundarySteps::default())
        .expect("the block checks");
    let mut most: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut long_insertions = 0;
    for (kind, pre, proof) in &recorded.proofs {
        if kind.as_str() == "TxStart" || kind.as_str() == "TxEnd" {
            continue;
        }
        let bytes = proof.encode();
        match compare_step(&mut l1, steps, *pre, &bytes) {
            Ok(Some(gas)) => {
                if gas > 1_000_000 {
                    println!(
                        "long-data block, {kind}: {gas} gas ({} proof bytes)",
                        bytes.len()
                    );
                }
                let entry = most.entry(kind.clone()).or_default();
                if gas > entry.0 {
                    *entry = (gas, bytes.len());
                }
            }
            other => panic!("{kind}: the honest proof: {other:?}"),
        }
        if kind.as_str() == "Insert"
            && let Some(form) = range_fact::l1_form(proof, range_fact::LONG_WORDS)
        {
            let gas = long_insertion(&mut l1, &mut feeder, *pre, proof, &form);
            println!(
                "long-data block, Insert {} in the L1 form: {gas} gas ({} proof bytes, {} jobs; in full {} bytes)",
                proof.pre.tx_index,
                form.bytes.len(),
                form.jobs.len(),
                bytes.len()
            );
            assert!(gas < 1_000_000, "insertion in the L1 form: {gas}");
            assert!(form.bytes.len() < 20_000, "{} bytes", form.bytes.len());
            long_insertions += 1;
        }
    }
    for (kind, (gas, len)) in &most {
        println!("long-data block, {kind}: most gas {gas} ({len} proof bytes)");
    }
    feeder.print_and_bound_chunks("long insertions' jobs: ");
    // The deposit's insertion and the recorded transaction's (which also moves the deposit's
    // leaf).
    assert_eq!(long_insertions, 2);
    assert!(!most.is_empty());
}

/// [v0.12] An insertion step in its L1 form: refused until its facts are in, then the Rust
/// post-state; its tampered forms refused. Returns the step's gas.
pub(super) fn long_insertion(
    l1: &mut L1Verifier,
    feeder: &mut super::ranges::Feeder,
    pre: B256,
    proof: &StepProof,
    form: &range_fact::L1Proof,
) -> u64 {
    let rust = verify(pre, proof).expect("the Rust verifier takes the full proof");
    let (answer, _) = l1.verify(pre, &form.bytes);
    assert!(
        matches!(&answer, Answer::Revert(e) if e.starts_with("RangeFactMissing")),
        "before its facts: {answer:?}"
    );
    println!(
        "insertion {}: a missing fact rejected: {answer:?}",
        proof.pre.tx_index
    );
    for plan in &form.jobs {
        // A leaf moved by this insertion was the new leaf of an earlier one: its facts are in.
        if !feeder.fact(l1, plan.job.id()).0 {
            feeder.run(l1, plan);
        }
        let (complete, hash) = feeder.fact(l1, plan.job.id());
        assert!(complete && hash == plan.hash, "the fact of {:?}", plan.job);
    }
    let (answer, gas) = l1.verify(pre, &form.bytes);
    assert_eq!(answer, Answer::Post(rust), "the L1 form");
    let mut rejected = |label: &str, bytes: &[u8]| {
        let (answer, _) = l1.verify(pre, bytes);
        assert!(matches!(answer, Answer::Revert(_)), "{label}: {answer:?}");
        println!(
            "insertion {}: {label} rejected: {answer:?}",
            proof.pre.tx_index
        );
    };
    let flipped = |i: usize, bit: u8| {
        let mut b = form.bytes.clone();
        b[i] ^= bit;
        b
    };
    // A long leaf in a trie witness: `0x00 ‖ R_v ‖ u32 len(v) ‖ key`, found by its head.
    let u32_at = |i: usize| u32::from_be_bytes(form.bytes[i..i + 4].try_into().expect("4"));
    let marker = (4..form.bytes.len().saturating_sub(40)).find(|&i| {
        form.bytes[i] == 0
            && u32_at(i - 4) > 37
            && u32_at(i - 4) < 80
            && u32_at(i + 33) > 16_384
            && form.bytes[i + 37] < 0xc0
    });
    if let Some(m) = marker {
        // The key item's first byte: another path, so another RLP prefix of the leaf.
        rejected(
            "a flipped byte of a long leaf's key (its RLP prefix)",
            &flipped(m + 37, 1),
        );
        rejected("another length of a long leaf's value", &flipped(m + 36, 1));
        rejected("another root of a long leaf's value", &flipped(m + 1, 1));
    }
    let at = super::ranges::transaction_section(proof);
    if form.bytes[at] == 2 {
        // `2 ‖ u32 len ‖ R_e ‖ u32 len(e) ‖ u32 0 ‖ u32 1 ‖ word 0 ‖ siblings`.
        rejected("another len(e)", &flipped(at + 5 + 35, 1));
        rejected("another R_e", &flipped(at + 5, 1));
        rejected("a flipped byte of word 0", &flipped(at + 5 + 44 + 3, 1));
        rejected("a flipped type byte", &flipped(at + 5 + 44, 0x40));
        // A HASH fact that is not the list's word: the L1 form of another encoding (one byte
        // changed) whose jobs all ran, with the honest word proof.
        let mut other = proof.clone();
        if let Some((enc, _)) = other.transaction.as_mut() {
            let i = enc.len() / 2;
            enc[i] ^= 0x40;
        }
        let other_form =
            range_fact::l1_form(&other, range_fact::LONG_WORDS).expect("another long encoding");
        feeder.run_missing(l1, &other_form.jobs);
        let (answer, _) = l1.verify(pre, &other_form.bytes);
        assert_eq!(
            answer,
            Answer::Revert("BadTransaction()".into()),
            "a HASH fact other than the list's word"
        );
        println!(
            "insertion {}: a HASH fact of another encoding rejected",
            proof.pre.tx_index
        );
    }
    gas
}

/// [v0.13] The insertions of a receipt whose log carries 100,000 to 690,000 non-zero bytes or
/// 1,000,000 zero bytes of data
/// (`op_blocks::long_log_block`), in full (up to 200,000 bytes) and in the L1 form, which takes
/// the long transaction, the long leaves and, v0.13, the receipt's long log data (SPEC.md §5.19:
/// the data by its word-tree root, the log's hash and the receipt encoding's tree by facts), and
/// the next insertion, which moves both long leaves: the Rust post-state, each under 1M gas in
/// the L1 form, each chunk under 5M; the receipt's tampered forms refused or, where they name
/// another receipt, the Rust post-state of that receipt (another cursor, never the chain's).
///
/// `cargo test --release -p fraud-vm --test differential solidity_long_log_receipt_insertion_gas -- --nocapture`
#[test]
fn solidity_long_log_receipt_insertion_gas() {
    let mut l1 = L1Verifier::deploy();
    let steps = l1.address;
    let mut feeder = super::ranges::Feeder::new(&mut l1);
    // Non-zero data up to about 699,000 bytes (the block's gas limit under EIP-7623's floor),
    // then 1 MB of zero bytes.
    for (len, zeros) in [
        (100_000, false),
        (200_000, false),
        (500_000, false),
        (690_000, false),
        (1_000_000, true),
    ] {
        let block = super::super::op_blocks::long_log_block(len, zeros);
        let recorded = super::super::op_blocks::run_recorded(&block, BoundarySteps::default())
            .expect("the block checks");
        let chunks = feeder.chunks;
        for (kind, pre, proof) in &recorded.proofs {
            if kind.as_str() != "Insert" || proof.pre.tx_index == 0 {
                continue;
            }
            let bytes = proof.encode();
            let full = if len <= 200_000 {
                format!("{:?}", compare_step(&mut l1, steps, *pre, &bytes))
            } else {
                "not run".into()
            };
            let form = range_fact::l1_form(proof, range_fact::LONG_WORDS).expect("long");
            let gas = long_insertion(&mut l1, &mut feeder, *pre, proof, &form);
            println!(
                "log of {len} bytes (zeros: {zeros}), Insert {}: in full {full} gas ({} bytes), in the L1 form {gas} gas ({} bytes, {} jobs, {} chunks)",
                proof.pre.tx_index,
                bytes.len(),
                form.bytes.len(),
                form.jobs.len(),
                form.jobs.iter().map(|j| j.chunks.len()).sum::<usize>()
            );
            assert!(gas < 1_000_000, "{gas}");
            if proof.pre.tx_index == 1 {
                long_receipt_rejections(&mut l1, &mut feeder, *pre, proof, &form);
            }
        }
        println!(
            "log of {len} bytes (zeros: {zeros}): {} chunks run (the tampered receipts' too)",
            feeder.chunks - chunks
        );
    }
    feeder.print_and_bound_chunks("long-log receipts' jobs: ");
}

/// [v0.13] The tampered L1 forms of the insertion of a receipt whose last log has long data
/// (its section ends `u32 (len | 2^31) ‖ R_d`): another root, another length, a length under
/// 56, a flipped topic or address byte, another log count are refused; the form of the receipt with a flipped data byte (its jobs
/// run), and the honest form naming that data's root, give the Rust post-state of that other
/// receipt, not the honest one.
fn long_receipt_rejections(
    l1: &mut L1Verifier,
    feeder: &mut super::ranges::Feeder,
    pre: B256,
    proof: &StepProof,
    form: &range_fact::L1Proof,
) {
    let honest = verify(pre, proof).expect("honest");
    let r = proof.receipt.as_ref().expect("a receipt");
    let last = r.logs.last().expect("a log");
    assert!(last.data.data.len() > 8192, "the long log is the last");
    let marker = form.bytes.len() - 36;
    let topics_at = marker - 32 * last.topics().len();
    let count_at = topics_at
        - 24
        - r.logs[..r.logs.len() - 1]
            .iter()
            .map(|l| 28 + 32 * l.topics().len() + l.data.data.len())
            .sum::<usize>()
        - 4;
    assert_eq!(
        u32::from_be_bytes(form.bytes[marker..marker + 4].try_into().expect("4")),
        last.data.data.len() as u32 | range_fact::FACT_BIT
    );
    let refused = |l1: &mut L1Verifier, label: &str, at: usize, bits: &[u8]| {
        let mut b = form.bytes.clone();
        for (i, bit) in bits.iter().enumerate() {
            b[at + i] ^= bit;
        }
        let (answer, _) = l1.verify(pre, &b);
        assert!(matches!(answer, Answer::Revert(_)), "{label}: {answer:?}");
        println!("long receipt: {label} rejected: {answer:?}");
    };
    refused(l1, "another root of the log's data", marker + 4 + 7, &[1]);
    refused(l1, "another length of the log's data", marker + 3, &[4]);
    let short = (last.data.data.len() as u32 ^ 55).to_be_bytes();
    refused(
        l1,
        "a length of 55 (the marker bit kept)",
        marker + 1,
        &short[1..],
    );
    if !last.topics().is_empty() {
        refused(l1, "a flipped topic", topics_at + 5, &[1]);
    }
    refused(
        l1,
        "a flipped byte of the log's address",
        topics_at - 24 + 5,
        &[1],
    );
    refused(l1, "another log count", count_at + 3, &[1]);
    // Another receipt: one data byte flipped, its L1 form's jobs run.
    let mut other = proof.clone();
    let mut logs = r.logs.clone();
    let mut data = last.data.data.to_vec();
    let mid = data.len() / 2;
    data[mid] ^= 0x40;
    logs.last_mut().expect("a log").data =
        alloy::primitives::LogData::new_unchecked(last.topics().to_vec(), data.into());
    other.receipt = Some(fraud_vm::receipt::Receipt { logs, ..r.clone() });
    let rust_other = verify(pre, &other).expect("the Rust verifier takes another receipt");
    assert_ne!(rust_other, honest);
    let other_form = range_fact::l1_form(&other, range_fact::LONG_WORDS).expect("long");
    let (answer, _) = l1.verify(pre, &other_form.bytes);
    assert!(
        matches!(&answer, Answer::Revert(e) if e.starts_with("RangeFactMissing")),
        "another data's facts missing: {answer:?}"
    );
    feeder.run_missing(l1, &other_form.jobs);
    let (answer, _) = l1.verify(pre, &other_form.bytes);
    assert_eq!(
        answer,
        Answer::Post(rust_other),
        "a flipped byte of the data"
    );
    println!(
        "long receipt: a flipped data byte gives that receipt's post-state, not the honest one"
    );
    let mut named = form.bytes.clone();
    named[marker + 4..].copy_from_slice(&other_form.bytes[other_form.bytes.len() - 32..]);
    let (answer, _) = l1.verify(pre, &named);
    assert_eq!(answer, Answer::Post(rust_other), "the facts of other data");
    println!("long receipt: the facts of other data give that receipt's post-state");
}
