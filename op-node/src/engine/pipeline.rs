//! Sealing a block beside the next one's execution: [`Engine::pipeline_block`] executes block
//! N+1 over block N's post-state (the warm cache holds it as soon as N executed) while
//! another thread computes N's state root, transactions and receipts roots and hash, then
//! stages N and hands its chain-file append to the appender thread, so N can be durable (and
//! the store's readers, RPC among them, see it) while N+1 is still executing. The engine
//! thread takes N back (its head, and the storage roots in the warm cache) after N+1 executed.
//!
//! N+1 depends on N's hash in two places, and both see the true hash:
//! - its header's parent hash: N+1 is sealed only after N (the root thread starts N+1's root
//!   once N is sealed and staged);
//! - the EIP-2935 system call at N+1's start, which stores N's hash in the history contract:
//!   it stores a stand-in ([`PendingParent::stand_in`], a value no real slot holds), replaced
//!   by the true hash in N+1's changes and in the warm cache before N+1's root is computed. A
//!   transaction of N+1 that reads that slot, or BLOCKHASH(N), waits for the true hash
//!   ([`PendingParent::hash`]) instead of seeing the stand-in.
//!
//! Storage roots: execution reads records whose storage root may be N-1's (N's are set in the
//! cache when N is sealed); execution never needs them (see [`super::state::BlockDb`]), and
//! the state root takes an account's storage root from its own storage trie, which holds N's.

use super::{
    BuildTimings, BuiltBlock, CandidateSource, Engine, EngineError, ExecutedBlock, ParentInfo,
    RejectedTx, StateTries, body_root::OrderedRoot, execute, seal_block, state::BlockChanges,
};
use crate::{
    block::{RecoveredTx, SealedBlock},
    chain::ChainKind,
    storage::{AccountRecord, AppendHandle, Store},
};
use alloy::{
    eips::eip2935::{HISTORY_SERVE_WINDOW, HISTORY_STORAGE_ADDRESS},
    primitives::{Address, B256, U256, keccak256, map::AddressMap},
};
use std::{
    sync::{Arc, Condvar, Mutex, mpsc},
    time::{Duration, Instant},
};

/// The hash of a block whose root another thread computes: set once, waited for by the next
/// block's execution if it needs it.
#[derive(Debug, Default)]
pub struct HashCell {
    /// `None` while computing; `Some(None)` if the root thread failed.
    hash: Mutex<Option<Option<B256>>>,
    ready: Condvar,
}

impl HashCell {
    /// Sets the outcome unless it is set already, and wakes the waiters.
    fn set(&self, hash: Option<B256>) {
        let mut slot = self.hash.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(hash);
            self.ready.notify_all();
        }
    }

    /// Waits for the outcome: the hash, or `None` if the root failed.
    fn wait(&self) -> Option<B256> {
        let mut slot = self.hash.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(outcome) = *slot {
                return outcome;
            }
            slot = self.ready.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Sets the cell to "failed" if the root thread ends (or panics) without setting it.
struct FailUnlessSet(Arc<HashCell>);

impl Drop for FailUnlessSet {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

/// The parent of the block being executed, whose hash is still being computed.
#[derive(Debug)]
pub struct PendingParent {
    /// The parent's number.
    pub number: u64,
    /// The EIP-2935 history slot the system call writes the parent's hash to.
    pub slot: U256,
    /// What the system call writes there instead: keccak256 of a tag and the number, which
    /// no block hash equals, so it also never equals the slot's previous value (revm then
    /// records the write, and the patch finds it).
    pub stand_in: B256,
    hash: Arc<HashCell>,
}

impl PendingParent {
    fn new(number: u64, hash: Arc<HashCell>) -> Self {
        let mut tag = b"op-node pending parent hash ".to_vec();
        tag.extend_from_slice(&number.to_be_bytes());
        Self {
            number,
            slot: U256::from(number % HISTORY_SERVE_WINDOW as u64),
            stand_in: keccak256(&tag),
            hash,
        }
    }

    /// Whether `value` read from `address`'s `slot` is this stand-in.
    pub fn is_stand_in(&self, address: Address, slot: U256, value: U256) -> bool {
        address == HISTORY_STORAGE_ADDRESS
            && slot == self.slot
            && value == U256::from_be_bytes(self.stand_in.0)
    }

    /// The parent's hash, waiting for the root thread. If that thread failed, zero: the
    /// engine then stops before the block executing now can be sealed.
    pub fn hash(&self) -> B256 {
        self.hash.wait().unwrap_or_default()
    }
}

/// What the root thread hands back: the sealed block, handed to the appender, and the tries
/// and buffers it borrowed.
struct RootOutcome {
    handed: Result<HandedBlock, EngineError>,
    tries: StateTries,
    ordered: OrderedRoot,
}

/// A block the root thread sealed, staged and handed to the appender thread; what the engine
/// thread still does with it is to make it the head and put its records in the warm cache.
pub(super) struct HandedBlock {
    pub(super) block: Arc<SealedBlock>,
    timings: BuildTimings,
    pub(super) changes: BlockChanges,
    pub(super) records: AddressMap<Option<AccountRecord>>,
    /// When it was sealed in memory, and when its append was handed over.
    sealed: Instant,
    handed: Instant,
}

/// Stages `built` and hands its append to the appender thread: the root thread's half of
/// sealing a pipelined block, and the first half of [`Engine::seal`].
pub(super) fn hand_over(
    store: &Store,
    appender: &AppendHandle,
    built: BuiltBlock,
) -> Result<HandedBlock, EngineError> {
    let sealed = Instant::now();
    let BuiltBlock {
        block,
        timings,
        encoded,
        diff,
        changes,
        records,
        ..
    } = built;
    let block = Arc::new(block);
    let staged = store.stage_block(block.clone(), encoded, diff)?;
    appender.submit(staged)?;
    Ok(HandedBlock {
        block,
        timings,
        changes,
        records,
        sealed,
        handed: Instant::now(),
    })
}

/// Most [`Rooted`] entries the engine keeps for [`Engine::take_rooted`].
pub(super) const MAX_ROOTED: usize = 16;

/// A block sealed by its root thread ([`Engine::pipeline_block`]), as the engine took it back.
#[derive(Debug, Clone, Copy)]
pub struct Rooted {
    /// The block's number.
    pub number: u64,
    /// Where its build's time went (the state root and the seal on the root thread).
    pub timings: BuildTimings,
    /// When the root thread had sealed it in memory.
    pub sealed: Instant,
    /// When the root thread had handed its append to the appender thread.
    pub handed: Instant,
}

/// The last block executed, which the next block builds on ([`Engine::tip`]).
#[derive(Debug, Clone, Copy)]
pub struct Tip<'a> {
    /// Its number.
    pub number: u64,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its transactions.
    pub txs: &'a [Arc<RecoveredTx>],
}

/// A block executed by [`Engine::pipeline_block`] whose root is being computed.
#[derive(Debug)]
pub(super) struct PendingRoot {
    /// The block, as the next block's parent.
    pub(super) parent: ParentInfo,
    /// Its transactions (shared with [`Pipelined::txs`]).
    txs: Arc<[Arc<RecoveredTx>]>,
    hash: Arc<HashCell>,
    /// In a mutex only so the engine stays `Sync` (only the engine's thread receives).
    outcome: Mutex<mpsc::Receiver<RootOutcome>>,
}

impl std::fmt::Debug for RootOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootOutcome").finish_non_exhaustive()
    }
}

/// What one [`Engine::pipeline_block`] did.
#[derive(Debug)]
pub struct Pipelined {
    /// The number of the block executed.
    pub number: u64,
    /// Its transactions (its receipts come with the sealed block): one copy of the block's
    /// list, shared with the engine's [`Engine::tip`] until the block is sealed.
    pub txs: Arc<[Arc<RecoveredTx>]>,
    /// Transactions that can never be included; the pool drops them.
    pub rejected: Vec<RejectedTx>,
    /// Executing it.
    pub execute: Duration,
    /// Waiting, after it executed, for the previous block's root (and its hand-over to the
    /// appender thread).
    pub root_wait: Duration,
    /// Taking the previous block back: making it the head, its records the warm cache's.
    pub seal: Duration,
    /// The previous block, sealed during this call (handed to the appender thread, maybe
    /// durable already, not reported), with where its build's time went (its state root's and
    /// seal's on the root thread).
    pub sealed: Option<(Arc<SealedBlock>, BuildTimings)>,
}

impl Engine {
    /// Executes the next block as [`Self::build_from`] does, on the block executed by the last
    /// call if its root is still being computed, then takes that block back (its root thread
    /// sealed, staged and handed it to the appender thread, as [`Self::seal`] does) and starts
    /// this block's state root on another thread. [`Self::durable`] reports blocks as before;
    /// a block is never reported before its root, seal and append are done. [`Self::finish_root`] seals
    /// the last block without executing another; every other way of building, committing or
    /// rewinding does so first.
    pub fn pipeline_block(
        &mut self,
        attributes: &super::BlockAttributes,
        source: &mut dyn CandidateSource,
    ) -> Result<Pipelined, EngineError> {
        self.check_usable()?;
        if self.pending.is_none() {
            self.restart_if_dropped()?;
        }
        let (parent, pending_parent) = match &self.pending {
            Some(pending) => (
                pending.parent,
                Some(PendingParent::new(
                    pending.parent.number,
                    pending.hash.clone(),
                )),
            ),
            None => (ParentInfo::of(&self.head), None),
        };
        // The head's state (the pending block's changes are in the cache, and accounts it did
        // not change read the same in the head's).
        let reader = self.store.reader_ahead()?;
        let executed = self.execute(
            attributes,
            source,
            execute::Selection::HoldBackSender,
            &parent,
            &reader,
            pending_parent.as_ref(),
        );
        drop(reader);
        let mut executed = match executed {
            Ok(executed) => executed,
            Err(e) => {
                // On the head, the next build starts again from it (as after a dropped
                // build); on a pending block, whose root holds the tries, nothing more is
                // built.
                if self.pending.is_some() {
                    self.failed = true;
                }
                return Err(e);
            }
        };
        let waited = Instant::now();
        let (sealed, root_wait, seal) = match self.pending.take() {
            Some(pending) => {
                let outcome = self.wait_root(pending)?;
                let root_wait = waited.elapsed();
                let sealing = Instant::now();
                let sealed = self.seal_rooted(outcome, Some(&executed.changes))?;
                (Some(sealed), root_wait, sealing.elapsed())
            }
            None => (None, Duration::ZERO, Duration::ZERO),
        };
        if let Some(pending) = &pending_parent {
            let hash = self.head.hash;
            self.replace_stand_in(pending, hash, &mut executed.changes);
        }
        // The block keeps `included`; the summary and the tip share one copy.
        let txs: Arc<[Arc<RecoveredTx>]> = executed.included.as_slice().into();
        let summary = Pipelined {
            number: executed.number,
            txs: txs.clone(),
            rejected: std::mem::take(&mut executed.rejected),
            execute: executed.execute,
            root_wait,
            seal,
            sealed,
        };
        self.start_root(executed, txs)?;
        Ok(summary)
    }

    /// The last block executed, which the next block builds on: the one whose root is being
    /// computed, or the head.
    pub fn tip(&self) -> Tip<'_> {
        match &self.pending {
            Some(pending) => Tip {
                number: pending.parent.number,
                timestamp: pending.parent.timestamp,
                txs: &pending.txs,
            },
            None => Tip {
                number: self.head.number(),
                timestamp: self.head.header.timestamp,
                txs: &self.head.txs,
            },
        }
    }

    /// The blocks root threads sealed since the last call (at most the latest
    /// [`MAX_ROOTED`]), oldest first, with where their time went.
    pub fn take_rooted(&mut self) -> Vec<Rooted> {
        self.rooted.drain(..).collect()
    }

    /// Seals the block whose root is being computed, if any, waiting for its root: the head
    /// is then the last block executed. Returns it with where its build's time went.
    pub fn finish_root(&mut self) -> Result<Option<(Arc<SealedBlock>, BuildTimings)>, EngineError> {
        match self.pending.take() {
            Some(pending) => {
                let outcome = self.wait_root(pending)?;
                Ok(Some(self.seal_rooted(outcome, None)?))
            }
            None => Ok(None),
        }
    }

    /// Seals the block whose root is being computed if its root is done by `until` (`None`:
    /// waits for it).
    pub(super) fn take_root(&mut self, until: Option<Instant>) -> Result<(), EngineError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        match self.receive_root(pending, until) {
            Ok(outcome) => self.seal_rooted(outcome, None).map(drop),
            Err(Some(e)) => Err(e),
            Err(None) => Ok(()),
        }
    }

    /// Receives the root thread's outcome for `pending`, waiting as long as it takes.
    fn wait_root(&mut self, pending: PendingRoot) -> Result<RootOutcome, EngineError> {
        self.receive_root(pending, None).map_err(|e| {
            e.unwrap_or_else(|| EngineError::Internal("no state root and no timeout".into()))
        })
    }

    /// Receives the root thread's outcome for `pending`, waiting until `until` (`None`: no
    /// limit). On a timeout `pending` is put back and `Err(None)` returned.
    fn receive_root(
        &mut self,
        mut pending: PendingRoot,
        until: Option<Instant>,
    ) -> Result<RootOutcome, Option<EngineError>> {
        let outcome = pending.outcome.get_mut().unwrap_or_else(|e| e.into_inner());
        let received = match until {
            None => outcome.recv().map_err(|_| None),
            Some(until) => outcome
                .recv_timeout(until.saturating_duration_since(Instant::now()))
                .map_err(|e| match e {
                    mpsc::RecvTimeoutError::Timeout => Some(()),
                    mpsc::RecvTimeoutError::Disconnected => None,
                }),
        };
        match received {
            Ok(outcome) => Ok(outcome),
            Err(Some(())) => {
                self.pending = Some(pending);
                Err(None)
            }
            Err(None) => {
                self.failed = true;
                Err(Some(EngineError::Internal(
                    "state root thread panicked".into(),
                )))
            }
        }
    }

    /// Takes back the tries and the block the root thread sealed and handed to the appender
    /// (the engine thread's half of [`Self::seal`]). `next`: the changes of the block executed
    /// on it meanwhile, whose accounts created anew keep the empty storage root execution
    /// gave them.
    fn seal_rooted(
        &mut self,
        outcome: RootOutcome,
        next: Option<&super::state::BlockChanges>,
    ) -> Result<(Arc<SealedBlock>, BuildTimings), EngineError> {
        self.tries = outcome.tries;
        self.ordered_root = outcome.ordered;
        let mut handed = match outcome.handed {
            Ok(handed) => handed,
            Err(e) => {
                // The block may be staged or appending: nothing more is built on it.
                self.failed = true;
                return Err(e);
            }
        };
        if let Some(next) = next {
            for (address, change) in &next.accounts {
                if change.wiped {
                    handed.records.remove(address);
                }
            }
        }
        let block = handed.block.clone();
        self.advance(block.clone(), &handed.changes, &handed.records);
        // The cache holds the next block's changes, not yet sealed.
        self.uncommitted = next.is_some();
        if self.rooted.len() == MAX_ROOTED {
            self.rooted.pop_front();
        }
        self.rooted.push_back(Rooted {
            number: block.number(),
            timings: handed.timings,
            sealed: handed.sealed,
            handed: handed.handed,
        });
        Ok((block, handed.timings))
    }

    /// Puts the true parent hash where the EIP-2935 system call wrote the stand-in: in the
    /// block's changes and in the warm cache.
    fn replace_stand_in(
        &mut self,
        pending: &PendingParent,
        hash: B256,
        changes: &mut super::state::BlockChanges,
    ) {
        let (from, to) = (
            U256::from_be_bytes(pending.stand_in.0),
            U256::from_be_bytes(hash.0),
        );
        if let Some(value) = changes
            .accounts
            .get_mut(&HISTORY_STORAGE_ADDRESS)
            .and_then(|change| change.storage.get_mut(&pending.slot))
            && *value == from
        {
            *value = to;
        }
        self.cache
            .replace_slot(HISTORY_STORAGE_ADDRESS, pending.slot, from, to);
    }

    /// Hands `executed` to a new root thread, with the tries, on the head (its parent).
    fn start_root(
        &mut self,
        executed: ExecutedBlock,
        txs: Arc<[Arc<RecoveredTx>]>,
    ) -> Result<(), EngineError> {
        let parent_hash = self.head.hash;
        if executed.number != self.head.number() + 1 {
            self.failed = true;
            return Err(EngineError::Internal(format!(
                "pipelined block {} on head {}",
                executed.number,
                self.head.number()
            )));
        }
        let appender = self.append_handle()?;
        let store = self.store.clone();
        // The head's state, its staged layer included.
        let reader = self.store.reader_ahead()?;
        let parent = ParentInfo {
            number: executed.number,
            hash: B256::ZERO,
            timestamp: executed.timestamp,
            gas_used: executed.gas_used,
            gas_limit: executed.gas_limit,
            base_fee: executed.base_fee,
        };
        let hash = Arc::new(HashCell::default());
        let (send, outcome) = mpsc::sync_channel(1);
        let mut tries = std::mem::replace(&mut self.tries, StateTries::new(B256::ZERO));
        let mut ordered = std::mem::take(&mut self.ordered_root);
        let kind: ChainKind = self.config.kind;
        let cell = FailUnlessSet(hash.clone());
        let spawned = std::thread::Builder::new()
            .name("state-root".into())
            .spawn(move || {
                let cell = cell;
                let built = seal_block(
                    executed,
                    parent_hash,
                    &mut tries,
                    None,
                    &mut ordered,
                    &reader,
                    kind,
                );
                cell.0.set(built.as_ref().ok().map(|b| b.block.hash));
                drop(reader);
                let handed = built.and_then(|built| hand_over(&store, &appender, built));
                let _ = send.send(RootOutcome {
                    handed,
                    tries,
                    ordered,
                });
            });
        if let Err(e) = spawned {
            self.failed = true;
            return Err(EngineError::Internal(format!(
                "could not start the state root thread: {e}"
            )));
        }
        self.pending = Some(PendingRoot {
            parent,
            txs,
            hash,
            outcome: Mutex::new(outcome),
        });
        Ok(())
    }
}
