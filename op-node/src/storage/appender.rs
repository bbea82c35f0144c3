//! The chain file's appender thread: makes staged blocks durable one after another while the
//! block-building thread goes on to the next block.
//!
//! A block's append (one chain-file transaction with an fsync) is mostly waiting for the disk.
//! The engine stages the block ([`Store::stage_block`]), hands it over here, and builds the
//! next block on top of it at once; the caller learns from [`Appender::recv`] when each block
//! is durable, and reports it (RPC, subscribers) only then. The queue is bounded, so the
//! engine runs at most a few blocks ahead of the durable head.

use super::{StagedBlock, StorageError, Store};
use crate::block::SealedBlock;
use parking_lot::Mutex;
use std::{
    sync::{
        Arc,
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError},
    },
    thread::JoinHandle,
    time::Instant,
};
use tracing::error;

/// Name of the thread that appends blocks to the chain file.
pub const APPENDER_THREAD: &str = "chain-appender";

/// The outcome of one block's append: the block, durable, or why it is not.
pub type Appended = Result<DurableBlock, StorageError>;

/// A block whose chain-file append is durable, and when it became so (the sequencer's block
/// timeline logs the instant; it travels with the block rather than through a shared log).
#[derive(Debug, Clone)]
pub struct DurableBlock {
    /// The block.
    pub block: Arc<SealedBlock>,
    /// When its append returned.
    pub at: Instant,
}

/// Called on the appender thread with each block as soon as its append is durable, in order,
/// before the engine hears of it: the sequencer's pool and subscribers hear of a block the
/// moment readers of the store can see it, while the block-building thread is busy with the
/// next one.
pub type DurableHook = Box<dyn Fn(&Arc<SealedBlock>) + Send + Sync>;

/// A thread that appends staged blocks to the chain file in the order they were handed over.
#[derive(Debug)]
pub struct Appender {
    jobs: Option<SyncSender<StagedBlock>>,
    /// Behind a lock only so the engine stays `Sync`; one thread receives.
    done: Mutex<Receiver<Appended>>,
    thread: Option<JoinHandle<()>>,
}

impl Appender {
    /// Starts the thread; at most `queue` blocks wait behind the one being appended. `hook`
    /// hears of each durable block first.
    pub fn spawn(
        store: Arc<Store>,
        queue: usize,
        hook: Option<DurableHook>,
    ) -> Result<Self, StorageError> {
        let (jobs, inbox) = mpsc::sync_channel::<StagedBlock>(queue);
        let (outbox, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(APPENDER_THREAD.into())
            .spawn(move || {
                for staged in inbox {
                    let result = store.append_staged(&staged).map(|()| DurableBlock {
                        block: staged.block().clone(),
                        at: Instant::now(),
                    });
                    match (&result, &hook) {
                        (Ok(durable), Some(hook)) => hook(&durable.block),
                        (Ok(_), None) => {}
                        (Err(e), _) => {
                            error!(target: "storage", number = staged.block().number(), error = %e, "could not append the block to the chain file");
                        }
                    }
                    // Nobody listening: the engine is being dropped, and its drop waits for
                    // the blocks it handed over, so a clean stop loses none it sealed.
                    let _ = outbox.send(result);
                }
            })
            .map_err(|e| StorageError::Applier(format!("starting the appender thread: {e}")))?;
        Ok(Self {
            jobs: Some(jobs),
            done: Mutex::new(done),
            thread: Some(thread),
        })
    }

    /// Hands `staged` to the thread; waits while the queue is full.
    pub fn submit(&self, staged: StagedBlock) -> Result<(), StorageError> {
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(staged)
            .map_err(|_| stopped())
    }

    /// A handle that hands blocks to the thread from another thread (the pipelined engine's
    /// state-root thread, which stages and hands over the block it sealed). Appends run in the
    /// order blocks are handed over, whoever hands them; the outcomes come back through
    /// [`Self::recv`] in that order.
    pub fn handle(&self) -> Result<AppendHandle, StorageError> {
        Ok(AppendHandle(
            self.jobs.as_ref().ok_or_else(stopped)?.clone(),
        ))
    }

    /// The outcome of the oldest append not yet received: waits for it until `until` (forever
    /// with `None`); `None` if it has not finished by then.
    pub fn recv(&self, until: Option<Instant>) -> Option<Appended> {
        let done = self.done.lock();
        let received = match until {
            None => done.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => done.recv_timeout(left),
                _ => done.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                }),
            },
        };
        match received {
            Ok(appended) => Some(appended),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Err(stopped())),
        }
    }
}

/// Hands staged blocks to an [`Appender`]'s thread from another thread ([`Appender::handle`]).
#[derive(Debug, Clone)]
pub struct AppendHandle(SyncSender<StagedBlock>);

impl AppendHandle {
    /// Hands `staged` to the thread; waits while the queue is full.
    pub fn submit(&self, staged: StagedBlock) -> Result<(), StorageError> {
        self.0.send(staged).map_err(|_| stopped())
    }
}

impl Drop for Appender {
    /// Lets the thread append what it was handed, then joins it.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> StorageError {
    StorageError::Applier("the chain file's appender thread stopped".into())
}
