use super::*;
use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxLegacy},
    eips::eip2718::Encodable2718,
    primitives::{Bytes, TxKind, address},
    signers::{SignerSync, local::PrivateKeySigner},
};
use op_alloy::consensus::OpTxEnvelope;

const CHAIN: u64 = 901;
const GWEI: u128 = 1_000_000_000;

fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(i + 1)).unwrap()
}

fn raw_1559(
    key: &PrivateKeySigner,
    nonce: u64,
    max_fee: u128,
    tip: u128,
    gas: u64,
    chain_id: u64,
) -> Bytes {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(address!("0x00000000000000000000000000000000000000aa")),
        value: U256::from(1u64),
        ..Default::default()
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed(sig))
        .encoded_2718()
        .into()
}

fn rich() -> SenderState {
    SenderState {
        nonce: 0,
        balance: U256::from(10u64).pow(U256::from(21u64)),
    }
}

fn pool() -> TxPool {
    TxPool::new(PoolConfig::new(CHAIN, 30_000_000))
}

fn admit(pool: &TxPool, raw: Bytes, state: SenderState) -> Result<B256, PoolError> {
    let tx = decode_and_recover(raw, pool.config())?;
    pool.add(tx, state, 1)
}

#[test]
fn recovers_the_signer() {
    let key = signer(0);
    let tx = decode_and_recover(
        raw_1559(&key, 0, GWEI, GWEI, 21_000, CHAIN),
        pool().config(),
    )
    .unwrap();
    assert_eq!(tx.sender(), key.address());
}

#[test]
fn stateless_rejections() {
    let p = pool();
    let key = signer(0);
    let cfg = p.config();
    assert!(matches!(
        decode_and_recover(Bytes::from_static(&[0x02, 0x01]), cfg),
        Err(PoolError::Decode(_))
    ));
    assert!(matches!(
        decode_and_recover(raw_1559(&key, 0, GWEI, GWEI, 21_000, 902), cfg),
        Err(PoolError::WrongChainId {
            have: 902,
            want: CHAIN
        })
    ));
    assert!(matches!(
        decode_and_recover(raw_1559(&key, 0, GWEI, GWEI, 20_000, CHAIN), cfg),
        Err(PoolError::IntrinsicGasTooLow { .. })
    ));
    assert!(matches!(
        decode_and_recover(raw_1559(&key, 0, GWEI, GWEI, 30_000_001, CHAIN), cfg),
        Err(PoolError::ExceedsBlockGasLimit)
    ));
    // 25M gas at 100 gwei is 2.5 ETH of fee: over the 1 ETH cap.
    let err = decode_and_recover(raw_1559(&key, 0, 100 * GWEI, GWEI, 25_000_000, CHAIN), cfg)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tx fee (2.50 ether) exceeds the configured cap (1.00 ether)"
    );
    // Flip a byte inside the signature's s value: recovery fails or yields another sender.
    let mut bad = raw_1559(&key, 0, GWEI, GWEI, 21_000, CHAIN).to_vec();
    let n = bad.len();
    bad[n - 5] ^= 0xff;
    match decode_and_recover(bad.into(), cfg) {
        Err(PoolError::InvalidSender) => {}
        Ok(tx) => assert_ne!(tx.sender(), key.address()),
        Err(e) => panic!("unexpected {e}"),
    }
    let legacy = TxLegacy {
        chain_id: None,
        gas_limit: 21_000,
        gas_price: GWEI,
        ..Default::default()
    };
    let sig = key.sign_hash_sync(&legacy.signature_hash()).unwrap();
    let raw: Bytes = OpTxEnvelope::Legacy(legacy.into_signed(sig))
        .encoded_2718()
        .into();
    assert!(matches!(
        decode_and_recover(raw, cfg),
        Err(PoolError::Unprotected)
    ));
}

#[test]
fn high_s_signatures_are_refused() {
    let key = signer(0);
    let tx = TxEip1559 {
        chain_id: CHAIN,
        gas_limit: 21_000,
        max_fee_per_gas: GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(address!("0x00000000000000000000000000000000000000aa")),
        ..Default::default()
    };
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    // The same signature with s' = n - s and the parity flipped recovers the same key, but EIP-2
    // makes it invalid.
    let order = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let high = alloy::primitives::Signature::new(sig.r(), order - sig.s(), !sig.v());
    let raw: Bytes = OpTxEnvelope::Eip1559(tx.into_signed(high))
        .encoded_2718()
        .into();
    assert!(matches!(
        decode_and_recover(raw, pool().config()),
        Err(PoolError::InvalidSender)
    ));
}

#[test]
fn stateful_rejections() {
    let p = pool();
    let key = signer(0);
    let raw = raw_1559(&key, 0, GWEI, GWEI, 21_000, CHAIN);
    let tx = decode_and_recover(raw.clone(), p.config()).unwrap();
    assert!(matches!(
        p.add(
            tx.clone(),
            SenderState {
                nonce: 1,
                balance: rich().balance
            },
            1
        ),
        Err(PoolError::NonceTooLow { next: 1, nonce: 0 })
    ));
    assert!(matches!(
        p.add(
            tx.clone(),
            SenderState {
                nonce: 0,
                balance: U256::from(1u64)
            },
            1
        ),
        Err(PoolError::InsufficientFunds { .. })
    ));
    assert!(matches!(
        p.add(tx.clone(), rich(), 2 * GWEI as u64),
        Err(PoolError::FeeCapBelowBaseFee { .. })
    ));
    p.add(tx.clone(), rich(), 1).unwrap();
    assert!(matches!(p.add(tx, rich(), 1), Err(PoolError::AlreadyKnown)));
}

#[test]
fn replacement_needs_ten_percent() {
    let p = pool();
    let key = signer(0);
    admit(
        &p,
        raw_1559(&key, 0, 10 * GWEI, 10 * GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    let low = raw_1559(
        &key,
        0,
        10 * GWEI + GWEI / 2,
        10 * GWEI + GWEI / 2,
        21_000,
        CHAIN,
    );
    assert!(matches!(
        admit(&p, low, rich()),
        Err(PoolError::ReplacementUnderpriced)
    ));
    let high = raw_1559(&key, 0, 11 * GWEI, 11 * GWEI, 21_000, CHAIN);
    let hash = admit(&p, high, rich()).unwrap();
    let best = p.best(1, u64::MAX);
    assert_eq!(best.len(), 1);
    assert_eq!(best[0].hash, hash);
}

#[test]
fn nonce_gaps_are_held_back_until_filled() {
    let p = pool();
    let key = signer(0);
    admit(&p, raw_1559(&key, 1, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    admit(&p, raw_1559(&key, 2, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    assert!(p.best(1, u64::MAX).is_empty());
    assert_eq!(
        p.status(),
        PoolStatus {
            pending: 0,
            queued: 2
        }
    );
    assert_eq!(p.pending_nonce(&key.address(), 0), 0);
    admit(&p, raw_1559(&key, 0, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    let nonces: Vec<u64> = p.best(1, u64::MAX).iter().map(|t| t.tx.nonce()).collect();
    assert_eq!(nonces, vec![0, 1, 2]);
    assert_eq!(p.pending_nonce(&key.address(), 0), 3);
    let best = p.best(1, u64::MAX);
    p.on_block(&best[..2], &[]);
    assert_eq!(
        p.status(),
        PoolStatus {
            pending: 1,
            queued: 0
        }
    );
}

#[test]
fn best_orders_by_tip_across_senders_and_nonce_within() {
    let p = pool();
    let (a, b) = (signer(0), signer(1));
    admit(&p, raw_1559(&a, 0, 5 * GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    admit(
        &p,
        raw_1559(&a, 1, 50 * GWEI, 50 * GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    admit(
        &p,
        raw_1559(&b, 0, 5 * GWEI, 3 * GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    let order: Vec<(Address, u64)> = p
        .best(1, u64::MAX)
        .iter()
        .map(|t| (t.sender(), t.tx.nonce()))
        .collect();
    assert_eq!(
        order,
        vec![(b.address(), 0), (a.address(), 0), (a.address(), 1)]
    );
}

#[test]
fn a_full_pool_evicts_the_cheapest_or_refuses() {
    let mut config = PoolConfig::new(CHAIN, 30_000_000);
    config.max_txs = 2;
    let p = TxPool::new(config);
    admit(
        &p,
        raw_1559(&signer(0), 0, 2 * GWEI, GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    admit(
        &p,
        raw_1559(&signer(1), 0, 3 * GWEI, GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    assert!(matches!(
        admit(
            &p,
            raw_1559(&signer(2), 0, 2 * GWEI, GWEI, 21_000, CHAIN),
            rich()
        ),
        Err(PoolError::PoolFull)
    ));
    admit(
        &p,
        raw_1559(&signer(3), 0, 4 * GWEI, GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    let senders: Vec<Address> = p.best(1, u64::MAX).iter().map(|t| t.sender()).collect();
    assert!(!senders.contains(&signer(0).address()));
    assert_eq!(senders.len(), 2);
}

#[test]
fn per_sender_queue_is_bounded() {
    let mut config = PoolConfig::new(CHAIN, 30_000_000);
    config.max_queued_per_sender = 3;
    let p = TxPool::new(config);
    let key = signer(0);
    for nonce in 1..=3 {
        admit(&p, raw_1559(&key, nonce, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    }
    assert!(matches!(
        admit(&p, raw_1559(&key, 4, GWEI, GWEI, 21_000, CHAIN), rich()),
        Err(PoolError::SenderQueueFull(_))
    ));
}

#[test]
fn deposits_are_refused() {
    use op_alloy::consensus::TxDeposit;
    let raw: Bytes = OpTxEnvelope::Deposit(alloy::primitives::Sealed::new(TxDeposit::default()))
        .encoded_2718()
        .into();
    assert!(matches!(
        decode_and_recover(raw, pool().config()),
        Err(PoolError::DepositNotAccepted)
    ));
}

#[test]
fn queued_transactions_expire_after_the_lifetime_pending_ones_stay() {
    let p = pool();
    let (gapped, ready) = (signer(0), signer(1));
    admit(&p, raw_1559(&gapped, 3, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    admit(&p, raw_1559(&gapped, 4, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    admit(&p, raw_1559(&ready, 0, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    let lifetime = p.config().lifetime;
    let now = std::time::Instant::now();
    assert_eq!(p.evict_expired(now), 0, "nothing expires early");
    assert_eq!(p.evict_expired(now + lifetime / 2), 0);
    let later = now + lifetime + std::time::Duration::from_secs(1);
    assert_eq!(p.evict_expired(later), 2, "the gapped sender's queue goes");
    assert_eq!(
        p.status(),
        PoolStatus {
            pending: 1,
            queued: 0
        },
        "an executable transaction is never expired"
    );
    // The freed nonces can be sent again.
    admit(&p, raw_1559(&gapped, 3, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
}

#[test]
fn a_pending_nonce_read_across_a_block_is_refused() {
    // The RPC reads a state, then a block including the sender's pooled transactions is sealed
    // (the pool forgets them): the state's nonce is from before them, and the pool alone can no
    // longer tell, so the answer must be refused rather than repeat a used nonce.
    let p = pool();
    let key = signer(3);
    for n in 0..2 {
        admit(&p, raw_1559(&key, n, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    }
    let seen = p.block_updates();
    let stale_state_nonce = 0;
    assert_eq!(
        p.pending_nonce_since(&key.address(), stale_state_nonce, seen),
        Some(2)
    );
    let best = p.best(1, u64::MAX);
    p.on_block(&best, &[]);
    assert_eq!(
        p.pending_nonce(&key.address(), stale_state_nonce),
        0,
        "the pool alone forgets the included transactions"
    );
    assert_eq!(
        p.pending_nonce_since(&key.address(), stale_state_nonce, seen),
        None
    );
    // Read again after the block: the state now holds the nonce.
    let seen = p.block_updates();
    assert_eq!(p.pending_nonce_since(&key.address(), 2, seen), Some(2));
    p.on_rewind(&best);
    assert_eq!(p.pending_nonce_since(&key.address(), 2, seen), None);
}

#[test]
fn a_rewind_puts_transactions_back_in_nonce_order() {
    let p = pool();
    let key = signer(2);
    for n in 0..3 {
        admit(&p, raw_1559(&key, n, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    }
    let best = p.best(1, u64::MAX);
    p.on_block(&best, &[]);
    assert_eq!(p.status().pending, 0);
    // The block is rewound: its transactions are executable again, from the first nonce.
    p.on_rewind(&best);
    let nonces: Vec<u64> = p.best(1, u64::MAX).iter().map(|t| t.tx.nonce()).collect();
    assert_eq!(nonces, vec![0, 1, 2]);
    assert_eq!(p.pending_nonce(&key.address(), 0), 3);
}

#[test]
fn gapped_spam_never_locks_out_an_executable_transaction() {
    let mut config = PoolConfig::new(CHAIN, 30_000_000);
    config.max_txs = 40;
    config.max_queued = 16;
    config.max_queued_per_sender = 8;
    let p = TxPool::new(config);
    // Spammers: nonce-gapped transactions at a high fee cap, until refused.
    let mut held = 0;
    for s in 0..8u8 {
        let key = signer(10 + s);
        for n in 1..9 {
            if admit(
                &p,
                raw_1559(&key, n, 100 * GWEI, GWEI, 21_000, CHAIN),
                rich(),
            )
            .is_ok()
            {
                held += 1;
            }
        }
    }
    assert_eq!(held, 16, "the global queue bounds gapped transactions");
    assert_eq!(p.status().queued, 16);
    // Executable transactions fill the rest of the pool and then displace queued ones.
    for s in 0..40u8 {
        let key = signer(60 + s);
        admit(&p, raw_1559(&key, 0, GWEI, GWEI, 21_000, CHAIN), rich())
            .expect("an honest, executable transaction at the going rate gets in");
    }
    let status = p.status();
    assert_eq!(status.pending, 40);
    assert_eq!(status.queued, 0, "every gapped transaction was displaced");
}

#[test]
fn a_full_pool_keeps_sixteen_slots_per_sender_for_newcomers() {
    let mut config = PoolConfig::new(CHAIN, 30_000_000);
    config.max_txs = 40;
    let p = TxPool::new(config);
    // One sender fills the pool with executable transactions at a high fee cap.
    let whale = signer(0);
    for n in 0..40 {
        admit(
            &p,
            raw_1559(&whale, n, 100 * GWEI, GWEI, 21_000, CHAIN),
            rich(),
        )
        .unwrap();
    }
    // Cheaper newcomers still get in, taking the whale's last transactions, down to 16.
    for s in 0..24u8 {
        admit(
            &p,
            raw_1559(&signer(100 + s), 0, 2 * GWEI, GWEI, 21_000, CHAIN),
            rich(),
        )
        .expect("a newcomer displaces a sender holding more than its slots");
    }
    assert_eq!(
        p.pending_nonce(&whale.address(), 0),
        16,
        "the whale keeps nonces 0..16"
    );
    assert_eq!(p.status().pending, 40);
    // Now nobody holds more than 16: a cheaper newcomer is refused, a dearer one evicts the cheapest.
    assert!(matches!(
        admit(
            &p,
            raw_1559(&signer(200), 0, GWEI, GWEI, 21_000, CHAIN),
            rich()
        ),
        Err(PoolError::PoolFull)
    ));
    admit(
        &p,
        raw_1559(&signer(201), 0, 3 * GWEI, GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
}

#[test]
fn arrivals_are_streamed_in_order_once_and_only_while_pooled() {
    let p = pool();
    let (a, b) = (signer(0), signer(1));
    let mut got = Vec::new();
    // Before the sequencer asks, nothing is kept.
    admit(&p, raw_1559(&a, 0, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    p.take_arrivals(&mut got);
    assert!(got.is_empty());

    p.stream_arrivals();
    let first = admit(&p, raw_1559(&b, 0, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    let second = admit(&p, raw_1559(&a, 1, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    // Replaced before the sequencer took it: only its replacement arrives.
    admit(&p, raw_1559(&b, 1, GWEI, GWEI, 21_000, CHAIN), rich()).unwrap();
    let replacement = admit(
        &p,
        raw_1559(&b, 1, 2 * GWEI, 2 * GWEI, 21_000, CHAIN),
        rich(),
    )
    .unwrap();
    p.take_arrivals(&mut got);
    let hashes: Vec<B256> = got.iter().map(|t| t.hash).collect();
    assert_eq!(hashes, vec![first, second, replacement]);

    got.clear();
    p.take_arrivals(&mut got);
    assert!(got.is_empty(), "each arrival is handed out once");
}
