//! Brings the L1 `DepositLogIndex` oracle up to an epoch's deposits before a `blockStart` proof
//! that needs them is sent (fraud-vm/SPEC.md §5.18 v0.7, BATCHES.md §3.5): `blockStart` of a
//! block that opens its epoch with `k` user deposits checks their log indices against the
//! oracle's `chainAt(epoch_hash, k)`, which someone must first have proven from the epoch block's
//! receipts. The defender does it, from its own L1 RPC, just before `startSteps`.

use alloy::{
    consensus::ReceiptEnvelope,
    primitives::{Address, B256, U256},
    providers::Provider,
    sol_types::SolCall,
};
use bridge::{
    bindings::DepositLogIndex,
    log_index::{BlockReceipts, MAX_CALL_BYTES},
};
use fraud_vm::block_start::BlockStartProof;
use tracing::info;

use crate::l1::bindings::{BisectionGame, BoundaryVerifier, GameVerifier};

/// What the oracle needs of a block start proof: the epoch's hash, its RLP header and its
/// number of user deposits; `None` when the proof asks nothing of it (not the first block of
/// its epoch, or no user deposits) or does not decode.
pub fn oracle_need(start_proof: &[u8]) -> Option<(B256, Vec<u8>, u64)> {
    let proof = BlockStartProof::decode(start_proof)?;
    let k = proof.user_deposits.len() as u64;
    (proof.tie.sequence_number == 0 && k > 0).then_some((
        proof.tie.epoch_hash,
        proof.origin_header,
        k,
    ))
}

/// The oracle of the `BoundaryVerifier` behind game `game` (game → verifier → boundary →
/// `logIndex`).
pub async fn oracle_of<P: Provider + Clone>(
    provider: &P,
    game: Address,
) -> Result<Address, String> {
    let verifier = BisectionGame::new(game, provider.clone())
        .verifier()
        .call()
        .await
        .map_err(|e| format!("reading the game's verifier: {e}"))?;
    let boundary = GameVerifier::new(verifier, provider.clone())
        .boundary()
        .call()
        .await
        .map_err(|e| format!("reading the verifier's boundary verifier: {e}"))?;
    BoundaryVerifier::new(boundary, provider.clone())
        .logIndex()
        .call()
        .await
        .map_err(|e| format!("reading the boundary verifier's oracle: {e}"))
}

/// The receipts of the L1 block `hash`, in order, one `eth_getTransactionReceipt` per
/// transaction (an L1 may not serve `eth_getBlockReceipts`).
pub async fn block_receipts<P: Provider>(
    provider: &P,
    hash: B256,
) -> Result<Vec<ReceiptEnvelope>, String> {
    let block = provider
        .get_block_by_hash(hash)
        .await
        .map_err(|e| format!("eth_getBlockByHash {hash}: {e}"))?
        .ok_or_else(|| format!("the L1 has no block {hash}"))?;
    let mut receipts = Vec::new();
    for tx in block.transactions.hashes() {
        let receipt = provider
            .get_transaction_receipt(tx)
            .await
            .map_err(|e| format!("eth_getTransactionReceipt {tx}: {e}"))?
            .ok_or_else(|| format!("the L1 has no receipt of {tx}"))?;
        receipts.push(receipt.inner.into_primitives_receipt());
    }
    Ok(receipts)
}

/// Gas of a `proveReceipts` call besides its receipts: the transaction, the header's decoding, the
/// oracle's reads and writes of the block's counters, its event.
const PROVE_GAS_BASE: u64 = 200_000;
/// Gas of each receipt: its key, its proof's nodes hashed and walked (`trieGet`, a self-call).
const PROVE_GAS_PER_RECEIPT: u64 = 150_000;
/// Gas of each log of the receipts: decoded and checked for the portal's deposit event.
const PROVE_GAS_PER_LOG: u64 = 8_000;
/// Gas of each byte of calldata: the calldata itself (16, or EIP-7623's floor of 40) and its
/// copies in memory.
const PROVE_GAS_PER_BYTE: u64 = 80;

/// Largest proof of one receipt (its trie nodes' bytes) the linear bound is measured for: the
/// oracle decodes a receipt's logs into memory, whose cost grows with its square (a receipt of
/// 3,000 empty logs, 72 KiB, ran out of a 9M-gas bound in memory expansion).
const LINEAR_PROOF_BYTES: usize = 16 * 1024;

/// Most logs a receipt may hold on average for the linear bound: measured with two (the e2e
/// shape, a third of the bound used); a receipt of 600 empty logs used more than 10,000 gas a log
/// (memory again), past an 8,000-a-log bound.
const LINEAR_LOGS_PER_RECEIPT: usize = 4;

/// EIP-7825's cap on one transaction's gas (2^24).
const TX_GAS_CAP: u64 = 1 << 24;

/// The gas limit a `proveReceipts` call whose receipts hold `logs` logs is sent with, instead of
/// the L1's estimate: linear in its receipts, logs and bytes; `None` (estimate it) past
/// [`LINEAR_PROOF_BYTES`], [`LINEAR_LOGS_PER_RECEIPT`] or EIP-7825's cap. An estimate runs the
/// call again, several times (a search over gas limits: the self-calls `trieGet` and
/// `receiptsRoot` lose gas to the 63/64 rule), and a hardhat L1, tracing every step, took 10.7 s
/// at load 3 for a 4.6M-gas call's estimate, send and receipt; at load 12-17 on two cores its
/// requests passed the 10 s L1 request timeout and the defender's clock ran out before
/// `startSteps`. Gas left over is not paid, and a revert (another defender proved the receipts
/// first) returns it.
pub fn prove_receipts_gas(call: &DepositLogIndex::proveReceiptsCall, logs: usize) -> Option<u64> {
    let largest = call
        .proofs
        .iter()
        .map(|proof| proof.iter().map(|node| node.len()).sum::<usize>())
        .max()
        .unwrap_or(0);
    let gas = PROVE_GAS_BASE
        + PROVE_GAS_PER_RECEIPT * call.proofs.len() as u64
        + PROVE_GAS_PER_LOG * logs as u64
        + PROVE_GAS_PER_BYTE * call.abi_encoded_size() as u64;
    let few_logs = logs <= LINEAR_LOGS_PER_RECEIPT * call.proofs.len();
    (largest <= LINEAR_PROOF_BYTES && few_logs && gas <= TX_GAS_CAP).then_some(gas)
}

/// Makes the oracle behind game `game` hold the log indices `start_proof`'s user deposits need:
/// unless it already found `k` deposits in the epoch block, proves the block's receipts from
/// where it stands up to the one of the `k`-th portal deposit, in calls of at most
/// [`MAX_CALL_BYTES`], each sent from the provider's wallet with [`prove_receipts_gas`] (or the
/// estimate) and waited for. Reading the oracle first makes a retry safe: a call that landed
/// before its request failed (a timeout) moved `nextReceipt`, and the next attempt goes on from
/// there. Returns how many calls were sent.
pub async fn prove_for_start<P: Provider + Clone>(
    provider: &P,
    game: Address,
    start_proof: &[u8],
) -> Result<usize, String> {
    let Some((epoch_hash, header, k)) = oracle_need(start_proof) else {
        return Ok(0);
    };
    let oracle = DepositLogIndex::new(oracle_of(provider, game).await?, provider.clone());
    let read = |e: alloy::contract::Error| format!("reading the oracle: {e}");
    let found = oracle
        .depositsFound(epoch_hash)
        .call()
        .await
        .map_err(read)?;
    if found >= U256::from(k) {
        return Ok(0);
    }
    let next = oracle.nextReceipt(epoch_hash).call().await.map_err(read)?;
    let portal = oracle.portal().call().await.map_err(read)?;
    let receipts = block_receipts(provider, epoch_hash).await?;
    let logs: Vec<usize> = receipts.iter().map(|r| r.logs().len()).collect();
    let block =
        BlockReceipts::from_header_rlp(header.into(), receipts).map_err(|e| e.to_string())?;
    let k = usize::try_from(k).map_err(|e| e.to_string())?;
    let until = block
        .receipts_for(portal, k)
        .ok_or_else(|| format!("the epoch block {epoch_hash} has fewer than {k} deposits"))?;
    let next = u64::try_from(next).map_err(|e| e.to_string())?;
    let calls = block
        .prove_calls(next, until, MAX_CALL_BYTES)
        .map_err(|e| e.to_string())?;
    for call in &calls {
        let builder = oracle.proveReceipts(call.header.clone(), call.first, call.proofs.clone());
        let first = usize::try_from(call.first).map_err(|e| e.to_string())?;
        let call_logs = logs.iter().skip(first).take(call.proofs.len()).sum();
        let gas = match prove_receipts_gas(call, call_logs) {
            Some(gas) => gas,
            None => {
                let estimate = builder
                    .estimate_gas()
                    .await
                    .map_err(|e| format!("proveReceipts: {e}"))?;
                estimate + estimate / 4 + 20_000
            }
        };
        let receipt = builder
            .gas(gas)
            .send()
            .await
            .map_err(|e| format!("proveReceipts: {e}"))?
            .with_timeout(Some(crate::l1::L1_RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|e| format!("proveReceipts: {e}"))?;
        if !receipt.status() {
            return Err(format!(
                "proveReceipts reverted in L1 transaction {}",
                receipt.transaction_hash
            ));
        }
        info!(target: "challenger", %epoch_hash, first = %call.first, receipts = call.proofs.len(), gas = receipt.gas_used, tx = %receipt.transaction_hash, "proveReceipts");
    }
    Ok(calls.len())
}

#[cfg(test)]
mod tests {
    use super::super::test_l1::{DEPLOYER, TestL1};
    use super::*;
    use crate::{
        block::{RecoveredTx, SealedBlock},
        chain::{ChainConfig, l1_genesis_alloc},
        engine::Engine,
        storage::Store,
        txpool::{PoolConfig, decode_and_recover},
    };
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxReceipt},
        eips::Encodable2718,
        network::TxSignerSync,
        primitives::{Bytes, TxKind},
        signers::local::PrivateKeySigner,
        sol_types::{SolCall, SolConstructor, SolEvent},
    };
    use bridge::{bindings::OptimismPortal, log_index::log_index_chain};
    use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
    use std::sync::Arc;

    const CHAIN_ID: u64 = 900;
    const GAS_LIMIT: u64 = 30_000_000;

    fn sign(
        pool: &PoolConfig,
        key: &PrivateKeySigner,
        nonce: u64,
        to: TxKind,
        value: U256,
        input: Vec<u8>,
    ) -> Arc<RecoveredTx> {
        let mut tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 5_000_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value,
            access_list: Default::default(),
            input: input.into(),
        };
        let signature = key.sign_transaction_sync(&mut tx).expect("signs");
        let raw: Bytes = OpTxEnvelope::Eip1559(tx.into_signed(signature))
            .encoded_2718()
            .into();
        Arc::new(decode_and_recover(raw, pool).expect("admissible"))
    }

    /// Init code of a contract whose every call emits two logs (`LOG0` of no data, then `LOG1`
    /// of topic 7): noise around the portal's deposit logs.
    fn emitter() -> Vec<u8> {
        let runtime = [
            0x60, 0x00, 0x60, 0x00, 0xa0, // LOG0(0, 0)
            0x60, 0x07, 0x60, 0x00, 0x60, 0x00, 0xa1, // LOG1(0, 0, 7)
            0x00,
        ];
        let mut code = vec![
            0x60,
            runtime.len() as u8,
            0x60,
            0x0c,
            0x60,
            0x00,
            0x39,
            0x60,
            runtime.len() as u8,
            0x60,
            0x00,
            0xf3,
        ];
        code.extend_from_slice(&runtime);
        code
    }

    /// An embedded L1 (Ethereum rules, real receipts roots) whose first block deploys, from the
    /// first of service keys 20 to 24, a portal and then `extra` (init codes) at `contracts`.
    struct L1Chain {
        _dir: tempfile::TempDir,
        engine: Engine,
        pool: PoolConfig,
        keys: Vec<PrivateKeySigner>,
        portal: Address,
        contracts: Vec<Address>,
    }

    fn l1_chain(extra: Vec<Vec<u8>>) -> L1Chain {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Arc::new(Store::open(&dir.path().join("l1.redb")).expect("store"));
        let keys: Vec<PrivateKeySigner> = (20..25).map(crate::l1::service_signer).collect();
        let addresses: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let mut engine = Engine::open(
            Arc::new(ChainConfig::l1(CHAIN_ID, GAS_LIMIT)),
            store,
            &l1_genesis_alloc(&addresses),
            1_700_000_000,
        )
        .expect("engine");
        let pool = PoolConfig::new(CHAIN_ID, GAS_LIMIT);
        let mut portal_code = OptimismPortal::BYTECODE.to_vec();
        portal_code.extend(
            OptimismPortal::constructorCall {
                anchorStateRegistry_: Address::repeat_byte(0xa5),
                proofMaturityDelaySeconds_: U256::from(7),
            }
            .abi_encode(),
        );
        let mut setup = vec![sign(
            &pool,
            &keys[0],
            0,
            TxKind::Create,
            U256::ZERO,
            portal_code,
        )];
        let mut contracts = Vec::new();
        for (i, code) in extra.into_iter().enumerate() {
            let nonce = i as u64 + 1;
            contracts.push(addresses[0].create(nonce));
            setup.push(sign(
                &pool,
                &keys[0],
                nonce,
                TxKind::Create,
                U256::ZERO,
                code,
            ));
        }
        let built = engine.build(1_700_000_012, &setup).expect("build");
        let first = engine.commit(built).expect("commit");
        assert!(first.receipts.iter().all(|r| r.status()), "deployed");
        L1Chain {
            _dir: dir,
            engine,
            pool,
            keys,
            portal: addresses[0].create(0),
            contracts,
        }
    }

    /// `depositTransaction` to `0x{to}{to}…` with `len` bytes of data.
    fn deposit_call(to: u8, len: usize) -> Vec<u8> {
        OptimismPortal::depositTransactionCall {
            to: Address::repeat_byte(to),
            value: U256::ZERO,
            gasLimit: 100_000,
            isCreation: false,
            data: vec![to; len].into(),
        }
        .abi_encode()
    }

    /// Init code of a contract whose every call emits `n` empty `LOG0`s (the receipts whose
    /// logs cost the oracle most gas for their bytes: 24 bytes a log).
    fn log_storm(n: u16) -> Vec<u8> {
        let [hi, lo] = n.to_be_bytes();
        // PUSH2 n; loop: JUMPDEST DUP1 ISZERO PUSH1 end JUMPI PUSH1 0 PUSH1 0 LOG0 PUSH1 1
        // SWAP1 SUB PUSH1 loop JUMP; end: JUMPDEST STOP
        let runtime = [
            0x61, hi, lo, 0x5b, 0x80, 0x15, 0x60, 0x15, 0x57, 0x60, 0x00, 0x60, 0x00, 0xa0, 0x60,
            0x01, 0x90, 0x03, 0x60, 0x03, 0x56, 0x5b, 0x00,
        ];
        let mut code = vec![0x60, runtime.len() as u8, 0x60, 0x0c, 0x60, 0x00, 0x39];
        code.extend_from_slice(&[0x60, runtime.len() as u8, 0x60, 0x00, 0xf3]);
        code.extend_from_slice(&runtime);
        code
    }

    /// The L1 receipts of a block of the embedded L1 (Ethereum types only).
    fn l1_receipts(block: &SealedBlock) -> Vec<ReceiptEnvelope> {
        block
            .receipts
            .iter()
            .map(|r| match r {
                OpReceiptEnvelope::Legacy(r) => ReceiptEnvelope::Legacy(r.clone()),
                OpReceiptEnvelope::Eip2930(r) => ReceiptEnvelope::Eip2930(r.clone()),
                OpReceiptEnvelope::Eip1559(r) => ReceiptEnvelope::Eip1559(r.clone()),
                OpReceiptEnvelope::Eip7702(r) => ReceiptEnvelope::Eip7702(r.clone()),
                other => panic!("no {} receipt on L1", other.tx_type()),
            })
            .collect()
    }

    /// A revm L1 holding a `DepositLogIndex` of `portal`.
    struct Oracle {
        l1: TestL1,
        address: Address,
    }

    impl Oracle {
        fn new(portal: Address) -> Self {
            let mut l1 = TestL1::new();
            let mut code = DepositLogIndex::BYTECODE.to_vec();
            code.extend(DepositLogIndex::constructorCall { portal_: portal }.abi_encode());
            let address = l1.create(code);
            Self { l1, address }
        }

        fn call(&mut self, data: Vec<u8>) -> Bytes {
            self.l1
                .call(DEPLOYER, 0, self.address, data, true)
                .unwrap_or_else(|e| panic!("oracle call: {e}"))
        }
    }

    /// The embedded L1's engine (Ethereum rules, real receipts roots) builds a block where the
    /// portal's deposits sit among other logs (an emitter's two per call, transfers without
    /// logs): the block's receipts have its header's root, the builder's deposit log indices
    /// are the `logIndex` the engine's RPC reports for the portal's events (those derivation
    /// reads), and the oracle in revm fed the builder's calls, in chunks of any size, records
    /// their chain.
    #[test]
    fn the_embedded_l1s_receipts_prove_the_rpcs_log_indices() {
        let L1Chain {
            _dir,
            mut engine,
            pool,
            keys,
            portal,
            contracts,
        } = l1_chain(vec![emitter()]);
        let noise = contracts[0];
        let txs = [
            sign(&pool, &keys[1], 0, TxKind::Call(noise), U256::ZERO, vec![]),
            sign(
                &pool,
                &keys[2],
                0,
                TxKind::Call(portal),
                U256::from(5),
                deposit_call(1, 3),
            ),
            sign(
                &pool,
                &keys[3],
                0,
                TxKind::Call(Address::repeat_byte(9)),
                U256::from(1),
                vec![],
            ),
            sign(&pool, &keys[1], 1, TxKind::Call(noise), U256::ZERO, vec![]),
            sign(
                &pool,
                &keys[4],
                0,
                TxKind::Call(portal),
                U256::ZERO,
                deposit_call(2, 0),
            ),
            sign(
                &pool,
                &keys[2],
                1,
                TxKind::Call(portal),
                U256::ZERO,
                deposit_call(3, 200),
            ),
            sign(&pool, &keys[3], 1, TxKind::Call(noise), U256::ZERO, vec![]),
        ];
        let built = engine.build(1_700_000_024, &txs).expect("build");
        let block = engine.commit(built).expect("commit");
        assert_eq!(block.txs.len(), txs.len(), "every transaction included");
        assert!(block.receipts.iter().all(|r| r.status()), "all succeeded");

        // The RPC's log indices of the portal's deposit events.
        let deposited = OptimismPortal::TransactionDeposited::SIGNATURE_HASH;
        let rpc: Vec<u64> = crate::rpc::convert::rpc_receipts(&block)
            .iter()
            .flat_map(|r| r.inner.inner.logs().to_vec())
            .filter(|l| l.address() == portal && l.topics().first() == Some(&deposited))
            .map(|l| l.log_index.expect("a log index"))
            .collect();
        assert_eq!(rpc, vec![2, 5, 6]);

        let receipts = BlockReceipts::new(&block.header, l1_receipts(&block))
            .expect("the engine's receipts root is the receipts'");
        assert_eq!(receipts.hash(), block.hash);
        assert_eq!(receipts.deposit_log_indices(portal), rpc);
        assert_eq!(receipts.receipts_for(portal, 1), Some(2));
        assert_eq!(receipts.receipts_for(portal, 3), Some(6));
        // The same from the header's bytes, as a block start proof carries them.
        let from_rlp = BlockReceipts::from_header_rlp(
            alloy::rlp::encode(&block.header).into(),
            l1_receipts(&block),
        )
        .expect("decodes");
        assert_eq!(from_rlp.hash(), block.hash);

        for max_bytes in [1, 3_000, MAX_CALL_BYTES] {
            let mut oracle = Oracle::new(portal);
            // Up to the second deposit, then on to the third: where a defender stops and
            // another one resumes.
            for (next, until) in [(0, 5), (5, 6)] {
                for call in receipts.prove_calls(next, until, max_bytes).expect("calls") {
                    oracle.call(call.abi_encode());
                }
            }
            for c in 0..=3usize {
                let chain = oracle.call(
                    DepositLogIndex::chainAtCall {
                        _0: block.hash,
                        _1: U256::from(c),
                    }
                    .abi_encode(),
                );
                assert_eq!(
                    B256::from_slice(&chain),
                    log_index_chain(&rpc[..c]),
                    "chainAt {c} in calls of {max_bytes} bytes"
                );
            }
        }
    }

    /// `proveReceipts` is sent with [`prove_receipts_gas`], no estimate: every call the builder
    /// makes runs within that limit in revm, over receipts of the shape the e2e test sends (33
    /// calls of two logs each before the deposits) and of the costliest shape for their bytes
    /// (receipts of 600 empty `LOG0`s), in calls of any size; calls with receipts of 600 or
    /// 3,000 such logs get no bound (the estimate).
    #[test]
    fn prove_receipts_runs_within_its_gas_bound() {
        let mut l1 = l1_chain(vec![emitter(), log_storm(600), log_storm(3_000)]);
        let (keys, portal, contracts) = (&l1.keys, l1.portal, &l1.contracts);
        let call = |key: &PrivateKeySigner, nonce, to, data| {
            sign(&l1.pool, key, nonce, TxKind::Call(to), U256::ZERO, data)
        };
        let mut txs = Vec::new();
        for nonce in 0..33 {
            txs.push(call(&keys[1], nonce, contracts[0], vec![]));
        }
        txs.push(call(&keys[2], 0, portal, deposit_call(1, 3)));
        for nonce in 0..6 {
            txs.push(call(&keys[3], nonce, contracts[1], vec![]));
        }
        txs.push(call(&keys[2], 1, portal, deposit_call(2, 0)));
        txs.push(call(&keys[4], 0, contracts[2], vec![]));
        txs.push(call(&keys[2], 2, portal, deposit_call(3, 500)));
        let built = l1.engine.build(1_700_000_024, &txs).expect("build");
        let block = l1.engine.commit(built).expect("commit");
        assert_eq!(block.txs.len(), txs.len(), "every transaction included");
        assert!(block.receipts.iter().all(|r| r.status()), "all succeeded");
        let receipts = BlockReceipts::new(&block.header, l1_receipts(&block)).expect("receipts");
        let indices = receipts.deposit_log_indices(portal);
        assert_eq!(indices.len(), 3);
        let until = receipts.receipts_for(portal, 3).expect("three deposits");
        let (mut worst, mut unbounded) = (0.0f64, 0);
        for max_bytes in [3_000, 30_000, MAX_CALL_BYTES] {
            let mut oracle = Oracle::new(portal);
            for call in receipts.prove_calls(0, until, max_bytes).expect("calls") {
                let bytes = call.abi_encoded_size();
                let first = usize::try_from(call.first).expect("small");
                let logs: usize = (first..first + call.proofs.len())
                    .map(|i| block.receipts[i].logs().len())
                    .sum();
                let bound = prove_receipts_gas(&call, logs);
                let limit = bound.unwrap_or(1 << 30);
                let used = oracle
                    .l1
                    .call_with_gas(DEPLOYER, oracle.address, call.abi_encode(), limit)
                    .unwrap_or_else(|e| {
                        panic!("proveReceipts of {bytes} bytes within {limit} gas: {e}")
                    });
                match bound {
                    Some(limit) => worst = worst.max(used as f64 / limit as f64),
                    None => unbounded += 1,
                }
                eprintln!(
                    "calls of at most {max_bytes} bytes: {} receipts from {}, {logs} logs, {bytes} bytes, {used} gas of {bound:?}",
                    call.proofs.len(),
                    call.first
                );
            }
            let chain = oracle.call(
                DepositLogIndex::chainAtCall {
                    _0: block.hash,
                    _1: U256::from(3),
                }
                .abi_encode(),
            );
            assert_eq!(B256::from_slice(&chain), log_index_chain(&indices));
        }
        eprintln!("most of its bound a call used: {worst:.2}");
        assert!(unbounded >= 3, "the 3,000-log receipt's call, in each size");
    }
}
