//! The block end of a traced block (SPEC.md §5.19): from the Idle state after the last
//! transaction, every step proved, verified and applied until the block-end state.

use super::{BlockObserver, CheckError, Stats, handed, observed_boundary_step, settle};
use crate::block::Sealing;
use crate::receipt::Receipt;
use crate::state::{FullState, Status};
use alloy::primitives::B256;

/// The step kind a block end step is reported under: its start, a fold, a transaction and
/// receipt insertion, the seal, or the block-end state's repetition.
fn kind(state: &FullState) -> &'static str {
    match state.record.status {
        Status::Idle => "EndStart",
        Status::BlockEnd => "BlockEnd",
        _ if !state.world.accounts.is_empty() => "Fold",
        _ if state
            .sealing
            .as_ref()
            .is_some_and(|s| s.record.receipts_cursor != state.record.returndata_root) =>
        {
            "Insert"
        }
        _ => "Seal",
    }
}

/// Proves, verifies and applies every block end step from `idle`, the Idle state after the last
/// transaction at block-wide position `position`, with the block's `receipts`. Each state is
/// handed to `observer`; returns the block-end state and its position. One more step, the
/// block-end state's own (its fixed point), is proved and verified too. For an observer that
/// neither verifies nor wants the proofs the steps are applied light ([`boundary_step`]):
/// `idle`'s commitment may be stale then, and the Sealing states' are made only where the
/// observer reads them.
pub(super) fn seal_block(
    mut idle: FullState,
    receipts: Vec<Receipt>,
    position: u64,
    observer: &mut dyn BlockObserver,
    stats: &mut Stats,
) -> Result<(FullState, u64), CheckError> {
    let index = receipts.len();
    let diverged = |what: String| CheckError::Diverged { index, what };
    let keys = idle
        .world
        .overlay_keys()
        .map_err(|k| diverged(format!("no preimage of the overlay key {k}")))?;
    let nodes = idle.world.base.node_store();
    idle.sealing = Some(Box::new(Sealing::new(keys, nodes, receipts)));
    seal_from(idle, index, position, observer, stats)
}

/// [`seal_block`]'s steps from `state`, the Idle state after the last transaction (with its
/// sealing view made) or a later state of the block end, at block-wide position `position`;
/// `index` is the number of transactions, for the errors. A later answer about the block end
/// goes on from the state an earlier one kept (`BlockSteps`).
pub(super) fn seal_from(
    mut state: FullState,
    index: usize,
    mut position: u64,
    observer: &mut dyn BlockObserver,
    stats: &mut Stats,
) -> Result<(FullState, u64), CheckError> {
    let mut stale;
    loop {
        let kind = kind(&state);
        let at = position;
        let step = |reason: String| CheckError::Step {
            index,
            step: at,
            kind: kind.to_string(),
            reason,
        };
        let repeat = state.record.status == Status::BlockEnd;
        let end = repeat.then(|| state.clone());
        let (_, transition, mut next, next_stale) =
            observed_boundary_step(observer, state, kind, stats, step)?;
        stale = next_stale;
        if let Some(end) = end {
            // The block-end state is its own successor (SPEC.md §12.6).
            // (`pre` is zero in a light run: the block-end state is never stale.)
            if transition.post.commitment() != end.record.commitment() {
                return Err(step("the block-end state is not its own successor".into()));
            }
            return Ok((end, position));
        }
        position += 1;
        if handed(observer, position) {
            settle(&mut next, &mut stale);
        }
        observer.state(position, &next);
        if observer.done() {
            return Err(CheckError::Stopped);
        }
        state = next;
    }
}

/// The output root a block-end state holds.
pub fn output_of(end: &FullState) -> Option<B256> {
    (end.record.status == Status::BlockEnd).then_some(end.record.world_root)
}
