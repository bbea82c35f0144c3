//! The transaction pool: admission (with every rejection a clear error), per-sender nonce
//! order with gaps held back, fee-bump replacement, a bounded size with eviction, and the
//! ordered candidate list the sequencer builds from.
//!
//! The lock is held only to insert, to take a snapshot of candidates, and to apply a sealed
//! block; never across execution.

mod validate;

pub use validate::{decode_and_recover, intrinsic_gas, recover_sender};

use crate::block::RecoveredTx;
use alloy::{
    consensus::Transaction,
    primitives::{
        Address, B256, U256,
        map::{AddressMap, B256Map},
    },
};
use parking_lot::Mutex;
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap},
    sync::Arc,
};

/// Limits and rules of admission.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Transactions must carry this EIP-155 chain id.
    pub chain_id: u64,
    /// No transaction may ask for more gas than a block has.
    pub block_gas_limit: u64,
    /// Largest accepted encoded transaction (geth: 128 KiB).
    pub max_tx_size: usize,
    /// Largest accepted `gas * maxFeePerGas` (geth's RPC fee cap: 1 ETH).
    pub tx_fee_cap: U256,
    /// Most transactions held at once.
    pub max_txs: usize,
    /// Most transactions held per sender beyond a nonce gap.
    pub max_queued_per_sender: usize,
    /// Most transactions held beyond a nonce gap, over all senders (geth's global queue).
    pub max_queued: usize,
    /// Slots every sender keeps when the pool is full (geth's account slots): a newcomer
    /// displaces the transactions of senders holding more than this first.
    pub slots_per_sender: usize,
    /// Minimum fee increase, in percent, to replace a transaction.
    pub price_bump_percent: u64,
    /// A sender's nonce-gapped transactions are dropped after this long without a new
    /// transaction from it (geth's `txpool.lifetime`, 3 h).
    pub lifetime: std::time::Duration,
}

impl PoolConfig {
    /// geth's defaults for the given chain.
    pub fn new(chain_id: u64, block_gas_limit: u64) -> Self {
        Self {
            chain_id,
            block_gas_limit,
            max_tx_size: 128 * 1024,
            tx_fee_cap: U256::from(10u64).pow(U256::from(18u64)),
            max_txs: 5120,
            max_queued_per_sender: 64,
            max_queued: 1024,
            slots_per_sender: 16,
            price_bump_percent: 10,
            lifetime: std::time::Duration::from_secs(3 * 3600),
        }
    }
}

/// Why a transaction was refused. Messages follow geth's, which clients match on.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Not a valid EIP-2718 transaction.
    #[error("failed to decode transaction: {0}")]
    Decode(String),
    /// Deposits (and other system transactions) only come from L1 derivation.
    #[error("deposit and system transactions are not accepted over RPC")]
    DepositNotAccepted,
    /// Pre-EIP-155 legacy transaction.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    Unprotected,
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {have} want {want}")]
    WrongChainId {
        /// The transaction's chain id.
        have: u64,
        /// This chain's.
        want: u64,
    },
    /// The signature does not recover.
    #[error("invalid sender")]
    InvalidSender,
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    ExceedsBlockGasLimit,
    /// Encoded size above the limit.
    #[error("oversized data: transaction size {size}, limit {max}")]
    OversizedData {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// EIP-3860.
    #[error("max initcode size exceeded: code size {size}, limit 49152")]
    InitCodeTooLarge {
        /// Its size.
        size: usize,
    },
    /// Tip above fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// Gas limit below intrinsic gas.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGasTooLow {
        /// The gas limit.
        have: u64,
        /// The intrinsic gas.
        want: u64,
    },
    /// `gas * maxFeePerGas` above the cap.
    #[error("tx fee ({} ether) exceeds the configured cap ({} ether)", format_ether(*fee), format_ether(*cap))]
    FeeCapExceeded {
        /// The fee.
        fee: U256,
        /// The cap.
        cap: U256,
    },
    /// Nonce already used.
    #[error("nonce too low: next nonce {next}, tx nonce {nonce}")]
    NonceTooLow {
        /// The account's next nonce.
        next: u64,
        /// The transaction's.
        nonce: u64,
    },
    /// Balance below `gas * maxFeePerGas + value`.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, overshot {}", cost - balance)]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// The maximum cost.
        cost: U256,
    },
    /// Fee cap below the current base fee.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {fee_cap}, baseFee: {base_fee}"
    )]
    FeeCapBelowBaseFee {
        /// The sender.
        sender: Address,
        /// The transaction's fee cap.
        fee_cap: u128,
        /// The next block's base fee.
        base_fee: u64,
    },
    /// Same sender and nonce with too small a fee bump.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// Already in the pool.
    #[error("already known")]
    AlreadyKnown,
    /// The pool is full and the transaction pays no more than the cheapest one held.
    #[error("txpool is full")]
    PoolFull,
    /// Too many gapped transactions from one sender.
    #[error("too many queued transactions from sender {0}")]
    SenderQueueFull(Address),
    /// State could not be read.
    #[error("state unavailable: {0}")]
    State(String),
}

fn format_ether(wei: U256) -> String {
    let milli = wei / U256::from(10u64).pow(U256::from(16u64));
    let milli: u128 = milli.try_into().unwrap_or(u128::MAX);
    format!("{}.{:02}", milli / 100, milli % 100)
}

/// The sender's committed nonce and balance, read by the caller from the latest state.
#[derive(Debug, Clone, Copy)]
pub struct SenderState {
    /// Next nonce on chain.
    pub nonce: u64,
    /// Balance on chain.
    pub balance: U256,
}

#[derive(Debug, Default)]
struct SenderQueue {
    /// The next nonce the chain expects from this sender.
    state_nonce: u64,
    txs: BTreeMap<u64, Arc<RecoveredTx>>,
    /// When this sender last sent a transaction (for the lifetime of its queued ones).
    touched: Option<std::time::Instant>,
}

impl SenderQueue {
    /// The nonce after the run of consecutive transactions from `state_nonce`.
    fn pending_nonce(&self) -> u64 {
        consecutive_from(&self.txs, self.state_nonce)
    }

    fn prune_below(&mut self, nonce: u64, by_hash: &mut B256Map<Arc<RecoveredTx>>) {
        while let Some(entry) = self.txs.first_entry() {
            if *entry.key() >= nonce {
                break;
            }
            by_hash.remove(&entry.get().hash);
            entry.remove();
        }
    }
}

#[derive(Debug, Default)]
struct PoolInner {
    senders: AddressMap<SenderQueue>,
    by_hash: B256Map<Arc<RecoveredTx>>,
    /// How many block updates (`on_block`, `on_rewind`) came in; see [`TxPool::block_updates`].
    block_updates: u64,
    /// Transactions admitted since the sequencer last took them, oldest first, once it asked
    /// for them ([`TxPool::stream_arrivals`]): what it executes into the block it has open.
    arrivals: Option<Vec<Arc<RecoveredTx>>>,
}

/// Counts for `txpool_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable now (no nonce gap before them).
    pub pending: usize,
    /// Held back behind a nonce gap.
    pub queued: usize,
}

/// The transaction pool.
#[derive(Debug)]
pub struct TxPool {
    config: PoolConfig,
    inner: Mutex<PoolInner>,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(PoolInner::default()),
        }
    }

    /// The admission rules.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Admits a decoded, recovered transaction given its sender's committed state and the
    /// next block's base fee. Returns its hash.
    pub fn add(
        &self,
        tx: RecoveredTx,
        state: SenderState,
        base_fee: u64,
    ) -> Result<B256, PoolError> {
        let sender = tx.sender();
        let nonce = tx.tx.nonce();
        let fee_cap = tx.tx.max_fee_per_gas();
        if nonce < state.nonce {
            return Err(PoolError::NonceTooLow {
                next: state.nonce,
                nonce,
            });
        }
        let cost = U256::from(tx.tx.gas_limit()) * U256::from(fee_cap) + tx.tx.value();
        if cost > state.balance {
            return Err(PoolError::InsufficientFunds {
                balance: state.balance,
                cost,
            });
        }
        if fee_cap < u128::from(base_fee) {
            return Err(PoolError::FeeCapBelowBaseFee {
                sender,
                fee_cap,
                base_fee,
            });
        }
        let hash = tx.hash;
        let tx = Arc::new(tx);
        let mut inner = self.inner.lock();
        let PoolInner {
            senders,
            by_hash,
            arrivals,
            ..
        } = &mut *inner;
        if by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let queue = senders.entry(sender).or_default();
        if state.nonce > queue.state_nonce {
            queue.state_nonce = state.nonce;
            queue.prune_below(state.nonce, by_hash);
        }
        if let Some(old) = queue.txs.get(&nonce) {
            if !self.is_sufficient_bump(old, &tx) {
                return Err(PoolError::ReplacementUnderpriced);
            }
            by_hash.remove(&old.hash);
        } else {
            let pending = queue.pending_nonce();
            let gapped = nonce > pending;
            if gapped {
                let queued = queue.txs.range(pending..).count();
                if queued >= self.config.max_queued_per_sender {
                    return Err(PoolError::SenderQueueFull(sender));
                }
                // Gapped transactions have their own, smaller share of the pool (geth's
                // global queue), so they can never crowd out executable ones.
                if queued_count(senders) >= self.config.max_queued
                    && !evict_queued(senders, by_hash, Some(fee_cap))
                {
                    return Err(PoolError::PoolFull);
                }
            }
            if by_hash.len() >= self.config.max_txs {
                // An executable newcomer first displaces a gapped transaction, whatever it
                // pays; then the last of a sender holding more than its guaranteed slots
                // (geth's account slots); only then the cheapest of all.
                let displaced = !gapped
                    && (evict_queued(senders, by_hash, None)
                        || evict_over_slots(
                            senders,
                            by_hash,
                            self.config.slots_per_sender,
                            sender,
                        ));
                if !displaced {
                    evict_cheapest(senders, by_hash, fee_cap)?;
                }
            }
        }
        let queue = senders.entry(sender).or_default();
        queue.txs.insert(nonce, tx.clone());
        queue.touched = Some(std::time::Instant::now());
        if let Some(arrivals) = arrivals {
            arrivals.push(tx.clone());
        }
        by_hash.insert(hash, tx);
        Ok(hash)
    }

    fn is_sufficient_bump(&self, old: &RecoveredTx, new: &RecoveredTx) -> bool {
        let bump =
            |v: u128| v.saturating_mul(100 + u128::from(self.config.price_bump_percent)) / 100;
        let old_tip = old
            .tx
            .max_priority_fee_per_gas()
            .unwrap_or(old.tx.max_fee_per_gas());
        let new_tip = new
            .tx
            .max_priority_fee_per_gas()
            .unwrap_or(new.tx.max_fee_per_gas());
        new.tx.max_fee_per_gas() >= bump(old.tx.max_fee_per_gas()) && new_tip >= bump(old_tip)
    }

    /// From now on, keeps every admitted transaction for [`Self::take_arrivals`] too (the
    /// sequencer's feed of the block it has open).
    pub fn stream_arrivals(&self) {
        self.inner.lock().arrivals.get_or_insert_with(Vec::new);
    }

    /// Moves the transactions admitted since the last call that are still pooled (not
    /// replaced or evicted since), oldest first, to `into`, if [`Self::stream_arrivals`] was
    /// called. Whether each is executable now is the caller's to check.
    pub fn take_arrivals(&self, into: &mut Vec<Arc<RecoveredTx>>) {
        let mut inner = self.inner.lock();
        let PoolInner {
            by_hash, arrivals, ..
        } = &mut *inner;
        if let Some(arrivals) = arrivals {
            into.extend(
                arrivals
                    .drain(..)
                    .filter(|tx| by_hash.contains_key(&tx.hash)),
            );
        }
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<RecoveredTx>> {
        self.inner.lock().by_hash.get(hash).cloned()
    }

    /// The nonce a new transaction from `sender` should use, counting pooled ones.
    pub fn pending_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let inner = self.inner.lock();
        Self::pending_nonce_in(&inner, sender, state_nonce)
    }

    /// How many block updates (inclusions and rewinds) the pool has taken in. A block is
    /// committed to the store before the pool hears of it, so a state opened after reading this
    /// counter holds every block the pool had dropped transactions for by then.
    pub fn block_updates(&self) -> u64 {
        self.inner.lock().block_updates
    }

    /// [`Self::pending_nonce`] for a `state_nonce` read from a state opened after
    /// [`Self::block_updates`] answered `seen`; `None` if a block came in since. Then the pool
    /// may have dropped, as included, transactions that the state does not hold yet, and the
    /// caller reads the state again.
    pub fn pending_nonce_since(
        &self,
        sender: &Address,
        state_nonce: u64,
        seen: u64,
    ) -> Option<u64> {
        let inner = self.inner.lock();
        (inner.block_updates == seen).then(|| Self::pending_nonce_in(&inner, sender, state_nonce))
    }

    fn pending_nonce_in(inner: &PoolInner, sender: &Address, state_nonce: u64) -> u64 {
        match inner.senders.get(sender) {
            Some(queue) => consecutive_from(&queue.txs, state_nonce.max(queue.state_nonce)),
            None => state_nonce,
        }
    }

    /// Pending and queued counts.
    pub fn status(&self) -> PoolStatus {
        let inner = self.inner.lock();
        let mut pending = 0;
        for queue in inner.senders.values() {
            pending += (queue.pending_nonce() - queue.state_nonce) as usize;
        }
        PoolStatus {
            pending,
            queued: inner.by_hash.len() - pending,
        }
    }

    /// Executable transactions for the next block, best effective tip first, each sender's in
    /// nonce order. Transactions whose fee cap is below `base_fee` wait.
    pub fn best(&self, base_fee: u64, max_gas: u64) -> Vec<Arc<RecoveredTx>> {
        let inner = self.inner.lock();
        let mut heap = BinaryHeap::with_capacity(inner.senders.len());
        for queue in inner.senders.values() {
            if let Some(tx) = queue.txs.get(&queue.state_nonce)
                && let Some(tip) = tx.tx.effective_tip_per_gas(base_fee)
            {
                heap.push((tip, Reverse(tx.hash), tx.sender(), tx.tx.nonce()));
            }
        }
        let mut out = Vec::new();
        let mut gas = 0u64;
        while let Some((_, _, sender, nonce)) = heap.pop() {
            let Some(tx) = inner
                .senders
                .get(&sender)
                .and_then(|q| q.txs.get(&nonce))
                .cloned()
            else {
                continue;
            };
            gas = gas.saturating_add(tx.tx.gas_limit());
            if gas > max_gas {
                break;
            }
            let next_nonce = tx.tx.nonce() + 1;
            if let Some(next) = inner
                .senders
                .get(&tx.sender())
                .and_then(|q| q.txs.get(&next_nonce))
                && let Some(tip) = next.tx.effective_tip_per_gas(base_fee)
            {
                heap.push((tip, Reverse(next.hash), sender, next_nonce));
            }
            out.push(tx);
        }
        out
    }

    /// Takes back the transactions of blocks the chain rewound: they are pending again, and
    /// their senders' nonces move back to the first of them.
    pub fn on_rewind(&self, dropped: &[Arc<RecoveredTx>]) {
        let mut inner = self.inner.lock();
        inner.block_updates += 1;
        let PoolInner {
            senders, by_hash, ..
        } = &mut *inner;
        for tx in dropped {
            let nonce = tx.tx.nonce();
            let queue = senders.entry(tx.sender()).or_insert_with(|| SenderQueue {
                state_nonce: nonce,
                txs: BTreeMap::new(),
                touched: None,
            });
            queue.state_nonce = queue.state_nonce.min(nonce);
            if let Some(old) = queue.txs.insert(nonce, tx.clone()) {
                by_hash.remove(&old.hash);
            }
            by_hash.insert(tx.hash, tx.clone());
        }
    }

    /// Drops the nonce-gapped transactions of senders that sent nothing for the configured
    /// lifetime, as of `now`. Returns how many went.
    pub fn evict_expired(&self, now: std::time::Instant) -> usize {
        let mut inner = self.inner.lock();
        let PoolInner {
            senders, by_hash, ..
        } = &mut *inner;
        let mut evicted = 0;
        for queue in senders.values_mut() {
            if queue
                .touched
                .is_some_and(|t| now.saturating_duration_since(t) > self.config.lifetime)
            {
                let pending = queue.pending_nonce();
                for (_, tx) in queue.txs.split_off(&pending) {
                    by_hash.remove(&tx.hash);
                    evicted += 1;
                }
            }
        }
        senders.retain(|_, q| !q.txs.is_empty());
        evicted
    }

    /// Forgets what a sealed block included or refused, and advances senders' nonces.
    pub fn on_block(&self, included: &[Arc<RecoveredTx>], rejected: &[Arc<RecoveredTx>]) {
        let mut inner = self.inner.lock();
        inner.block_updates += 1;
        let PoolInner {
            senders, by_hash, ..
        } = &mut *inner;
        for tx in included {
            let sender = tx.sender();
            let queue = senders.entry(sender).or_default();
            let next = tx.tx.nonce() + 1;
            if next > queue.state_nonce {
                queue.state_nonce = next;
            }
            queue.prune_below(queue.state_nonce, by_hash);
        }
        for tx in rejected {
            if let Some(queue) = senders.get_mut(&tx.sender())
                && queue
                    .txs
                    .get(&tx.tx.nonce())
                    .is_some_and(|t| t.hash == tx.hash)
            {
                queue.txs.remove(&tx.tx.nonce());
            }
            by_hash.remove(&tx.hash);
        }
        senders.retain(|_, q| !q.txs.is_empty());
    }
}

/// The first nonce at or after `from` that `txs` does not hold.
fn consecutive_from(txs: &BTreeMap<u64, Arc<RecoveredTx>>, from: u64) -> u64 {
    let mut next = from;
    for nonce in txs.range(from..).map(|(n, _)| *n) {
        if nonce != next {
            break;
        }
        next += 1;
    }
    next
}

/// Drops the last transaction of the sender (other than `newcomer`) holding the most
/// transactions, if that is more than `slots`. Returns whether one went.
fn evict_over_slots(
    senders: &mut AddressMap<SenderQueue>,
    by_hash: &mut B256Map<Arc<RecoveredTx>>,
    slots: usize,
    newcomer: Address,
) -> bool {
    let largest = senders
        .iter()
        .filter(|(sender, q)| **sender != newcomer && q.txs.len() > slots)
        .max_by_key(|(_, q)| q.txs.len())
        .map(|(sender, _)| *sender);
    let Some(sender) = largest else {
        return false;
    };
    if let Some(queue) = senders.get_mut(&sender)
        && let Some((_, tx)) = queue.txs.pop_last()
    {
        by_hash.remove(&tx.hash);
        return true;
    }
    false
}

/// Makes room for a transaction paying `fee_cap` by evicting the cheapest last-in-line
/// transaction (a sender's highest nonce, so no remaining transaction loses its predecessor).
/// Transactions held behind a nonce gap, over all senders.
fn queued_count(senders: &AddressMap<SenderQueue>) -> usize {
    senders
        .values()
        .map(|q| q.txs.range(q.pending_nonce()..).count())
        .sum()
}

/// Drops the gapped transaction with the lowest fee cap (the sender's last), if there is one
/// and it pays less than `below` (any, when `None`). Returns whether one went.
fn evict_queued(
    senders: &mut AddressMap<SenderQueue>,
    by_hash: &mut B256Map<Arc<RecoveredTx>>,
    below: Option<u128>,
) -> bool {
    evict_last(senders, by_hash, below, |q| {
        q.txs.range(q.pending_nonce()..).next().is_some()
    })
}

/// Makes room for a transaction paying `fee_cap`: drops the cheapest sender's last
/// transaction if it pays less, else refuses.
fn evict_cheapest(
    senders: &mut AddressMap<SenderQueue>,
    by_hash: &mut B256Map<Arc<RecoveredTx>>,
    fee_cap: u128,
) -> Result<(), PoolError> {
    if evict_last(senders, by_hash, Some(fee_cap), |_| true) {
        Ok(())
    } else {
        Err(PoolError::PoolFull)
    }
}

/// Among the senders `eligible` accepts, drops the last (highest-nonce) transaction with the
/// lowest fee cap, if it pays less than `below` (any, when `None`). Returns whether one went.
fn evict_last(
    senders: &mut AddressMap<SenderQueue>,
    by_hash: &mut B256Map<Arc<RecoveredTx>>,
    below: Option<u128>,
    eligible: impl Fn(&SenderQueue) -> bool,
) -> bool {
    let cheapest = senders
        .iter()
        .filter(|(_, q)| eligible(q))
        .filter_map(|(sender, q)| {
            q.txs
                .last_key_value()
                .map(|(n, tx)| (tx.tx.max_fee_per_gas(), *sender, *n))
        })
        .min();
    match cheapest {
        Some((price, sender, nonce)) if below.is_none_or(|b| price < b) => {
            if let Some(queue) = senders.get_mut(&sender)
                && let Some(tx) = queue.txs.remove(&nonce)
            {
                by_hash.remove(&tx.hash);
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
