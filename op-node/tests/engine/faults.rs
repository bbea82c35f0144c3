//! Crash consistency at every commit point: the engine on a redb backend that fails any chosen
//! write, truncate or sync, and then loses what the disk was not made to keep.
//!
//! A [`FaultyDisk`] holds the node's two database files (the chain file and the state file) and
//! keeps two images of each: what the process sees (every write) and what survives a crash (the
//! image as of the file's last `sync_data`). Operations on both files count towards the one
//! injected fault. When it fires, the process "dies": every later operation fails, and the
//! surviving image of each file is its synced one plus a random subset of the writes issued
//! since, some of them torn (a prefix of 512-byte sectors), applied in order. That is all a
//! file system promises without fsync.

use super::harness::{CHAIN_ID, GAS_LIMIT, GENESIS_TIMESTAMP};
use alloy::primitives::B256;
use op_node::{
    block::RecoveredTx,
    chain::{ChainConfig, dev_genesis_alloc},
    engine::{BlockAttributes, Engine, EngineError, Fixed},
    storage::{ApplyMode, Store},
};
use std::{
    io,
    sync::{Arc, Mutex, MutexGuard},
};

/// A mutating operation a file received and has not yet made durable.
#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// One file of the disk.
#[derive(Debug, Default)]
struct FileState {
    /// What reads see.
    volatile: Vec<u8>,
    /// What survives a crash for certain.
    synced: Vec<u8>,
    /// Mutations since the last sync, oldest first.
    pending: Vec<Pending>,
}

#[derive(Debug, Default)]
struct DiskState {
    /// The database files: the chain file and the state file.
    files: [FileState; 2],
    /// Mutating operations (write, set_len, sync_data) seen so far, on either file.
    ops: u64,
    /// The operation that fails, counted from 0.
    fail_at: Option<u64>,
    /// The injected fault fired: the process is dead and the disk answers nothing.
    dead: bool,
}

/// A disk holding a node's two database files, with an injected fault and a crash model (see
/// the module docs). Operations on both files count towards one fault.
#[derive(Debug, Clone, Default)]
pub struct FaultyDisk(Arc<Mutex<DiskState>>);

/// One file of a [`FaultyDisk`]: a redb storage backend.
#[derive(Debug, Clone)]
pub struct FaultyFile {
    disk: FaultyDisk,
    index: usize,
}

fn injected() -> io::Error {
    io::Error::other("injected I/O fault")
}

impl FaultyDisk {
    /// An empty disk whose `fail_at`-th mutating operation fails.
    pub fn failing_at(fail_at: Option<u64>) -> Self {
        let disk = Self::default();
        disk.state().fail_at = fail_at;
        disk
    }

    /// A healthy disk holding `images` (a crash survivor), as after a reboot.
    pub fn from_images(images: [Vec<u8>; 2]) -> Self {
        let disk = Self::default();
        {
            let mut state = disk.state();
            for (file, image) in state.files.iter_mut().zip(images) {
                file.volatile = image.clone();
                file.synced = image;
            }
        }
        disk
    }

    /// The chain file (0) or the state file (1).
    pub fn file(&self, index: usize) -> FaultyFile {
        FaultyFile {
            disk: self.clone(),
            index,
        }
    }

    fn state(&self) -> MutexGuard<'_, DiskState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mutating operations seen so far.
    pub fn ops(&self) -> u64 {
        self.state().ops
    }

    /// Whether the injected fault fired.
    pub fn died(&self) -> bool {
        self.state().dead
    }

    /// The images a crash leaves now: of each file, the synced image plus a subset of the
    /// pending mutations chosen by `seed`, each either dropped, applied, or (writes) torn to a
    /// sector prefix.
    pub fn crash_images(&self, seed: u64) -> [Vec<u8>; 2] {
        let state = self.state();
        let mut rng = SplitMix(seed);
        state.files.each_ref().map(|file| {
            let mut image = file.synced.clone();
            for op in &file.pending {
                match rng.next() % 3 {
                    0 => continue,
                    1 => apply(&mut image, op, None),
                    _ => {
                        let sectors = match op {
                            Pending::Write { data, .. } => data.len().div_ceil(512) as u64,
                            Pending::SetLen(_) => 1,
                        };
                        apply(&mut image, op, Some(rng.next() % (sectors + 1)));
                    }
                }
            }
            image
        })
    }

    /// Counts a mutating operation; fails it (and kills the disk) if it is the chosen one.
    fn mutate(state: &mut DiskState) -> io::Result<()> {
        if state.dead {
            return Err(injected());
        }
        let op = state.ops;
        state.ops += 1;
        if state.fail_at == Some(op) {
            state.dead = true;
            return Err(injected());
        }
        Ok(())
    }
}

/// Applies a pending mutation; `sectors` tears a write to its first `sectors` 512-byte sectors.
fn apply(image: &mut Vec<u8>, op: &Pending, sectors: Option<u64>) {
    match op {
        Pending::SetLen(len) => image.resize(*len as usize, 0),
        Pending::Write { offset, data } => {
            let keep = match sectors {
                Some(s) => data.len().min(s as usize * 512),
                None => data.len(),
            };
            let start = *offset as usize;
            let end = start + keep;
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(&data[..keep]);
        }
    }
}

impl redb::StorageBackend for FaultyFile {
    fn len(&self) -> io::Result<u64> {
        let state = self.disk.state();
        if state.dead {
            return Err(injected());
        }
        Ok(state.files[self.index].volatile.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let state = self.disk.state();
        if state.dead {
            return Err(injected());
        }
        let file = &state.files[self.index];
        let start = offset as usize;
        let end = start + out.len();
        if end > file.volatile.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        out.copy_from_slice(&file.volatile[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.disk.state();
        FaultyDisk::mutate(&mut state)?;
        let file = &mut state.files[self.index];
        file.volatile.resize(len as usize, 0);
        file.pending.push(Pending::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut state = self.disk.state();
        FaultyDisk::mutate(&mut state)?;
        let file = &mut state.files[self.index];
        file.synced = file.volatile.clone();
        file.pending.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.disk.state();
        FaultyDisk::mutate(&mut state)?;
        let op = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        let file = &mut state.files[self.index];
        apply(&mut file.volatile, &op, None);
        file.pending.push(op);
        Ok(())
    }
}

/// A small deterministic generator (SplitMix64) for the crash subsets.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One thing the node does that ends in a durable commit.
#[derive(Debug, Clone)]
pub enum Action {
    /// Build a block at `timestamp` from `txs` and commit it.
    Seal {
        timestamp: u64,
        txs: Vec<Arc<RecoveredTx>>,
    },
    /// Rewind the chain to block `to`.
    Rewind { to: u64 },
}

/// The chain as the store holds it: the hash of every block from genesis to the head.
pub type Chain = Vec<B256>;

/// A node on `disk`: the store and the engine, opened as the binary opens them.
fn open(disk: &FaultyDisk) -> Result<Engine, EngineError> {
    open_engine(Arc::new(open_store(disk)?))
}

/// The node's store on `disk`. The state file is written inline, every second block, so the
/// disk operations (and so the fault points) are the same on every run.
fn open_store(disk: &FaultyDisk) -> Result<Store, op_node::storage::StorageError> {
    Store::open_with_backends(disk.file(0), disk.file(1), ApplyMode::Inline { every: 2 })
}

fn open_engine(store: Arc<Store>) -> Result<Engine, EngineError> {
    Engine::open(
        Arc::new(ChainConfig::new(CHAIN_ID, GAS_LIMIT)),
        store,
        &dev_genesis_alloc(),
        GENESIS_TIMESTAMP,
    )
}

fn perform(engine: &mut Engine, action: &Action) -> Result<(), EngineError> {
    match action {
        Action::Seal { timestamp, txs } => {
            let built = engine.build(*timestamp, txs)?;
            assert!(
                built.rejected.is_empty(),
                "block {}: every transaction fits",
                built.block.number()
            );
            engine.commit(built)?;
        }
        Action::Rewind { to } => {
            engine.rewind(*to)?;
        }
    }
    Ok(())
}

/// The stored chain, read from a fresh snapshot.
fn stored_chain(engine: &Engine) -> Chain {
    let reader = engine.store().reader().expect("reader");
    let head = reader.head_number().expect("head").expect("a head");
    (0..=head)
        .map(|n| reader.header(n).expect("header").expect("stored header").0)
        .collect()
}

/// Runs `actions` on a healthy disk: the chain after genesis and after each action, and the
/// number of mutating disk operations it took.
pub fn reference(actions: &[Action]) -> (Vec<Chain>, u64) {
    let disk = FaultyDisk::failing_at(None);
    let mut engine = open(&disk).expect("open a healthy node");
    let mut chains = vec![stored_chain(&engine)];
    for action in actions {
        perform(&mut engine, action).expect("a healthy disk never fails");
        chains.push(stored_chain(&engine));
    }
    drop(engine);
    (chains, disk.ops())
}

/// Runs `actions` on a disk whose `fail_at`-th mutating operation fails, stopping at the first
/// error as the node does; crashes (image chosen by `seed`); reopens on the survivor; checks the
/// stored chain is the one after the last action reported done or after the one in flight; and
/// runs the remaining actions to the reference's final chain, which shows the state survived
/// intact (every later state root is recomputed from it).
pub fn crash_at(actions: &[Action], chains: &[Chain], fail_at: u64, seed: u64) {
    let disk = FaultyDisk::failing_at(Some(fail_at));
    let mut done = 0;
    let mut created = false;
    if let Ok(store) = open_store(&disk) {
        created = true;
        if let Ok(mut engine) = open_engine(Arc::new(store)) {
            for action in actions {
                if perform(&mut engine, action).is_err() {
                    break;
                }
                done += 1;
            }
        }
    }
    assert!(disk.died(), "fault {fail_at}: the injected fault fired");
    // `Store::open` creates a new file under a scratch name and renames it into place once
    // durable: a crash before that leaves no database at all.
    let images = if created {
        disk.crash_images(seed)
    } else {
        Default::default()
    };

    let survivor = FaultyDisk::from_images(images);
    let mut engine = open(&survivor).unwrap_or_else(|e| {
        panic!("fault {fail_at} (seed {seed}, {done} actions done): reopen failed: {e}")
    });
    let chain = stored_chain(&engine);
    let at = if chain == chains[done] {
        done
    } else if done + 1 < chains.len() && chain == chains[done + 1] {
        done + 1
    } else {
        panic!(
            "fault {fail_at} (seed {seed}): {done} actions reported done, but the stored chain \
             (head {}) is neither the chain after them nor after the next",
            chain.len() - 1
        );
    };
    rebuild_from(&mut engine, &actions[at..], chains, fail_at, seed);
}

/// How [`crash_pipelined_at`] seals blocks.
#[derive(Debug, Clone, Copy)]
pub enum Sealing {
    /// Built, then sealed ([`Engine::seal`]): the next block is built while the append runs.
    InTurn,
    /// The sequencer's way, [`Engine::pipeline_block`]: the next block executes while a root
    /// thread computes the roots, seals, stages and hands over the append of the one before.
    RootThread,
}

/// [`crash_at`] with the sequencer's pipeline: each block is sealed (as `sealing` says) and
/// the next built while its append runs on the appender thread, and a block counts as reported
/// only once [`Engine::durable`] handed it out. After the crash the stored chain holds every
/// reported block, and at most the blocks sealed after them, never a mix; the node rebuilds the
/// reference chain from there.
pub fn crash_pipelined_at(
    actions: &[Action],
    chains: &[Chain],
    fail_at: u64,
    seed: u64,
    sealing: Sealing,
) {
    let disk = FaultyDisk::failing_at(Some(fail_at));
    let (mut reported, mut performed) = (0, 0);
    let mut created = false;
    if let Ok(store) = open_store(&disk) {
        created = true;
        if let Ok(mut engine) = open_engine(Arc::new(store)) {
            for action in actions {
                let done = match (action, sealing) {
                    (Action::Seal { timestamp, txs }, Sealing::InTurn) => engine
                        .build(*timestamp, txs)
                        .and_then(|built| engine.seal(built))
                        .map(drop),
                    (Action::Seal { timestamp, txs }, Sealing::RootThread) => engine
                        .pipeline_block(
                            &BlockAttributes {
                                timestamp: *timestamp,
                                ..Default::default()
                            },
                            &mut Fixed(txs),
                        )
                        .map(|out| {
                            assert!(out.rejected.is_empty() && out.txs.len() == txs.len());
                        }),
                    (Action::Rewind { to }, _) => engine.rewind(*to).map(drop),
                };
                if done.is_err() {
                    break;
                }
                performed += 1;
                if engine.durable(Some(std::time::Instant::now())).is_err() {
                    break;
                }
                reported = performed - engine.undurable();
            }
            if performed == actions.len() && engine.durable(None).is_ok() {
                reported = performed;
            }
        }
    }
    // Unlike [`crash_at`], the fault may not fire: while the next block is built the engine
    // holds a read snapshot the append cannot reuse pages of, so the run may take other (and
    // fewer) disk operations than the reference. Then the crash comes after the last one.
    let images = if created {
        disk.crash_images(seed)
    } else {
        Default::default()
    };
    let survivor = FaultyDisk::from_images(images);
    let mut engine = open(&survivor).unwrap_or_else(|e| {
        panic!("fault {fail_at} (seed {seed}, {reported} actions reported): reopen failed: {e}")
    });
    let chain = stored_chain(&engine);
    let last = (performed + 1).min(chains.len() - 1);
    let Some(at) = (reported..=last).find(|&k| chains[k] == chain) else {
        panic!(
            "fault {fail_at} (seed {seed}): {reported} actions reported durable, {performed} \
             performed, but the stored chain (head {}) is none of the chains between",
            chain.len() - 1
        );
    };
    rebuild_from(&mut engine, &actions[at..], chains, fail_at, seed);
}

/// After a crash's recovery: performs the actions not in the stored chain and checks that the
/// node ends on the reference chain.
fn rebuild_from(
    engine: &mut Engine,
    actions: &[Action],
    chains: &[Chain],
    fail_at: u64,
    seed: u64,
) {
    for action in actions {
        perform(engine, action).unwrap_or_else(|e| {
            panic!("fault {fail_at} (seed {seed}): after recovery, {action:?} failed: {e}")
        });
    }
    assert_eq!(
        stored_chain(engine),
        *chains.last().expect("chains"),
        "fault {fail_at} (seed {seed}): the recovered node rebuilds the reference chain"
    );
}
