//! The frame chain (SPEC.md §3.5) and checkpoints (§3.7.6): what a frame entry commits to, so
//! that the frame exit step can resume the caller and restore or keep the world.

use crate::state::{FullState, MachineState};
use crate::world::{TAG_CHECKPOINT, World};
use alloy::primitives::{B256, keccak256};

/// Domain tag of a frame chain link.
pub const TAG_FRAME: u8 = 0x06;

/// Length of an encoded [`Checkpoint`].
pub const CHECKPOINT_ENCODED_LEN: usize = 1 + 32 * 7 + 8;

/// Whether a frame was entered by a call or a create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// CALL, CALLCODE, DELEGATECALL, STATICCALL.
    Call = 0,
    /// CREATE, CREATE2.
    Create = 1,
}

/// One link of the frame chain: the suspended caller and where the callee's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameLink {
    /// The caller's record after the call opcode: operands popped, gas for the callee charged,
    /// memory expanded, pc at the next opcode.
    pub caller: MachineState,
    /// Memory offset of the caller's output buffer (0 when its length is 0).
    pub out_offset: u64,
    /// Length of the caller's output buffer.
    pub out_len: u64,
    /// Call or create.
    pub kind: FrameKind,
}

impl FrameLink {
    /// `keccak256(0x06 ‖ caller.frames_root ‖ commit(caller) ‖ out_offset(u64) ‖ out_len(u64) ‖
    /// kind(u8))`: the callee's `frames_root`.
    pub fn hash(&self) -> B256 {
        let mut buf = Vec::with_capacity(1 + 32 + 32 + 8 + 8 + 1);
        buf.push(TAG_FRAME);
        buf.extend_from_slice(self.caller.frames_root.as_slice());
        buf.extend_from_slice(self.caller.commitment().as_slice());
        buf.extend_from_slice(&self.out_offset.to_be_bytes());
        buf.extend_from_slice(&self.out_len.to_be_bytes());
        buf.push(self.kind as u8);
        keccak256(buf)
    }
}

/// The preimage of one checkpoint chain link (SPEC.md §3.7.6): what a revert restores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The checkpoint chain below this link.
    pub prev: B256,
    /// Overlay root at the checkpoint.
    pub accounts_root: B256,
    /// Transient storage root at the checkpoint.
    pub transient_root: B256,
    /// Warm-set root at the checkpoint.
    pub accessed_root: B256,
    /// Created-set root at the checkpoint.
    pub created_root: B256,
    /// Self-destruct chain at the checkpoint.
    pub destructs_root: B256,
    /// Log chain at the checkpoint.
    pub logs_root: B256,
    /// Log count at the checkpoint.
    pub logs_count: u64,
}

impl Checkpoint {
    /// The checkpoint of `world` as a frame entry pushes it.
    pub fn of(world: &World) -> Self {
        Self {
            prev: world.checkpoint_root,
            accounts_root: world.accounts_root,
            transient_root: world.transient_root,
            accessed_root: world.accessed_root,
            created_root: world.created_root,
            destructs_root: world.destructs_root,
            logs_root: world.logs_root,
            logs_count: world.logs_count,
        }
    }

    /// `0x07 ‖ prev ‖ accounts ‖ transient ‖ accessed ‖ created ‖ destructs ‖ logs ‖ u64 count`.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(CHECKPOINT_ENCODED_LEN);
        buf.push(TAG_CHECKPOINT);
        for r in [
            self.prev,
            self.accounts_root,
            self.transient_root,
            self.accessed_root,
            self.created_root,
            self.destructs_root,
            self.logs_root,
        ] {
            buf.extend_from_slice(r.as_slice());
        }
        buf.extend_from_slice(&self.logs_count.to_be_bytes());
        buf
    }

    /// The link: `keccak256(encode())`.
    pub fn link(&self) -> B256 {
        keccak256(self.encode())
    }

    /// `world` with this checkpoint's roots restored and the link popped.
    pub fn restore(&self, world: &World) -> World {
        World {
            accounts_root: self.accounts_root,
            transient_root: self.transient_root,
            accessed_root: self.accessed_root,
            created_root: self.created_root,
            destructs_root: self.destructs_root,
            logs_root: self.logs_root,
            logs_count: self.logs_count,
            checkpoint_root: self.prev,
            ..*world
        }
    }
}

/// The prover's view of a suspended caller: its full state (whose record is the suspended
/// record) and the rest of the link.
#[derive(Clone, Debug)]
pub struct ParentFrame {
    /// The caller's full state as suspended.
    pub state: FullState,
    /// Output buffer offset.
    pub out_offset: u64,
    /// Output buffer length.
    pub out_len: u64,
    /// Call or create.
    pub kind: FrameKind,
    /// The world as the callee's checkpoint holds it: restored if the callee fails.
    pub world_at_entry: crate::world::WorldState,
}

impl ParentFrame {
    /// The link this parent contributes to the callee's `frames_root`.
    pub fn link(&self) -> FrameLink {
        FrameLink {
            caller: self.state.record.clone(),
            out_offset: self.out_offset,
            out_len: self.out_len,
            kind: self.kind,
        }
    }
}
