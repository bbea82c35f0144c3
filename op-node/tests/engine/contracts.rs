//! The contracts the workloads deploy, assembled by hand so the test needs no compiler and
//! the model in `model.rs` can say exactly what each one does.
//!
//! - storer: for each 64-byte calldata pair (slot, value) it emits `LOG2(topics = slot and
//!   the slot's current value, data = value)` and does `SSTORE(slot, value)`; the logged
//!   SLOAD shows whether the engine reads back what earlier blocks wrote. Then, by the calldata left over: none
//!   stops, one byte reverts, two or more spin until the gas runs out. Its constructor
//!   stores [`CTOR_VALUE`] at [`CTOR_SLOT`].
//! - vault: keeps any value sent to it; a call without value SELFDESTRUCTs to the caller,
//!   which since Cancun (EIP-6780) only moves the balance out.
//! - factory: `CREATE2(value, init code = calldata[32..], salt = calldata[0..32])`, and
//!   reverts if the creation fails (an address collision, a reverting constructor).

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};

/// The slot the storer's constructor writes.
pub const CTOR_SLOT: u64 = 7;
/// The value it writes there.
pub const CTOR_VALUE: u64 = 0xc0;

/// A tiny assembler: opcodes, pushes, and one-byte labels patched at the end.
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
    labels: Vec<(&'static str, u8)>,
    fixups: Vec<(usize, &'static str)>,
}

mod op {
    pub const STOP: u8 = 0x00;
    pub const ADD: u8 = 0x01;
    pub const SUB: u8 = 0x03;
    pub const LT: u8 = 0x10;
    pub const EQ: u8 = 0x14;
    pub const ISZERO: u8 = 0x15;
    pub const ORIGIN: u8 = 0x32;
    pub const CALLER: u8 = 0x33;
    pub const CALLVALUE: u8 = 0x34;
    pub const CALLDATALOAD: u8 = 0x35;
    pub const CALLDATASIZE: u8 = 0x36;
    pub const CALLDATACOPY: u8 = 0x37;
    pub const CODECOPY: u8 = 0x39;
    pub const MSTORE: u8 = 0x52;
    pub const SLOAD: u8 = 0x54;
    pub const SSTORE: u8 = 0x55;
    pub const JUMP: u8 = 0x56;
    pub const JUMPI: u8 = 0x57;
    pub const JUMPDEST: u8 = 0x5b;
    pub const PUSH1: u8 = 0x60;
    pub const PUSH20: u8 = 0x73;
    pub const DUP1: u8 = 0x80;
    pub const DUP2: u8 = 0x81;
    pub const SWAP1: u8 = 0x90;
    pub const LOG2: u8 = 0xa2;
    pub const CREATE2: u8 = 0xf5;
    pub const RETURN: u8 = 0xf3;
    pub const REVERT: u8 = 0xfd;
    pub const SELFDESTRUCT: u8 = 0xff;
}

impl Asm {
    fn ops(mut self, ops: &[u8]) -> Self {
        self.code.extend_from_slice(ops);
        self
    }

    fn push1(self, value: u8) -> Self {
        self.ops(&[op::PUSH1, value])
    }

    fn push20(self, address: Address) -> Self {
        self.ops(&[op::PUSH20]).ops(address.as_slice())
    }

    /// A JUMPDEST named `name`.
    fn label(mut self, name: &'static str) -> Self {
        let offset = u8::try_from(self.code.len()).expect("contracts stay under 256 bytes");
        self.labels.push((name, offset));
        self.ops(&[op::JUMPDEST])
    }

    /// PUSH1 of the offset of label `name`.
    fn push_label(mut self, name: &'static str) -> Self {
        self.fixups.push((self.code.len() + 1, name));
        self.push1(0)
    }

    fn finish(mut self) -> Bytes {
        for (at, name) in &self.fixups {
            let (_, offset) = self
                .labels
                .iter()
                .find(|(label, _)| label == name)
                .unwrap_or_else(|| panic!("undefined label {name}"));
            self.code[*at] = *offset;
        }
        self.code.into()
    }
}

/// The storer's runtime code.
pub fn storer_runtime() -> Bytes {
    use op::*;
    Asm::default()
        .push1(0) // [i]
        .label("loop")
        .ops(&[DUP1])
        .push1(64)
        .ops(&[ADD, CALLDATASIZE, LT]) // [i, size < i + 64]
        .push_label("end")
        .ops(&[JUMPI, DUP1])
        .push1(32)
        .ops(&[ADD, CALLDATALOAD, DUP1]) // [i, value, value]
        .push1(0)
        .ops(&[MSTORE, DUP2, CALLDATALOAD, DUP1, SLOAD, DUP2]) // [i, value, slot, old, slot]
        .push1(32)
        .push1(0)
        .ops(&[LOG2, SSTORE]) // [i]
        .push1(64)
        .ops(&[ADD])
        .push_label("loop")
        .ops(&[JUMP])
        .label("end")
        .ops(&[CALLDATASIZE, SUB, DUP1, ISZERO]) // [rest, rest == 0]
        .push_label("done")
        .ops(&[JUMPI])
        .push1(1)
        .ops(&[EQ])
        .push_label("fail")
        .ops(&[JUMPI])
        .label("spin")
        .push_label("spin")
        .ops(&[JUMP])
        .label("done")
        .ops(&[STOP])
        .label("fail")
        .push1(0)
        .ops(&[DUP1, REVERT])
        .finish()
}

/// The vault's runtime code.
pub fn vault_runtime() -> Bytes {
    use op::*;
    Asm::default()
        .ops(&[CALLVALUE])
        .push_label("keep")
        .ops(&[JUMPI, CALLER, SELFDESTRUCT])
        .label("keep")
        .ops(&[STOP])
        .finish()
}

/// The factory's runtime code.
pub fn factory_runtime() -> Bytes {
    use op::*;
    Asm::default()
        .push1(32)
        .ops(&[CALLDATASIZE, SUB, DUP1]) // [size, size]
        .push1(32)
        .push1(0)
        .ops(&[CALLDATACOPY]) // memory[0..size] = calldata[32..]
        .push1(0)
        .ops(&[CALLDATALOAD, SWAP1]) // [salt, size]
        .push1(0)
        .ops(&[CALLVALUE, CREATE2, ISZERO])
        .push_label("fail")
        .ops(&[JUMPI, STOP])
        .label("fail")
        .push1(0)
        .ops(&[DUP1, REVERT])
        .finish()
}

/// What a creation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// Deploys the storer (and its constructor's slot).
    Storer,
    /// Deploys the vault.
    Vault,
    /// Deploys the factory.
    Factory,
    /// SELFDESTRUCTs to this address during construction: the account never survives the tx.
    DestructTo(Address),
    /// SELFDESTRUCTs to the transaction's origin during construction.
    DestructToOrigin,
    /// Reverts: the creation fails.
    Revert,
}

impl Init {
    /// The init code.
    pub fn code(&self) -> Bytes {
        use op::*;
        let deploy = |prologue: Asm, runtime: Bytes| {
            // CODECOPY the runtime that follows this 12-byte epilogue, then RETURN it.
            let len = u8::try_from(runtime.len()).expect("runtime under 256 bytes");
            let start = u8::try_from(prologue.code.len() + 12).expect("short prologue");
            let mut code = prologue
                .push1(len)
                .push1(start)
                .push1(0)
                .ops(&[CODECOPY])
                .push1(len)
                .push1(0)
                .ops(&[RETURN])
                .finish()
                .to_vec();
            code.extend_from_slice(&runtime);
            Bytes::from(code)
        };
        match self {
            Self::Storer => deploy(
                Asm::default()
                    .push1(CTOR_VALUE as u8)
                    .push1(CTOR_SLOT as u8)
                    .ops(&[SSTORE]),
                storer_runtime(),
            ),
            Self::Vault => deploy(Asm::default(), vault_runtime()),
            Self::Factory => deploy(Asm::default(), factory_runtime()),
            Self::DestructTo(to) => Asm::default().push20(*to).ops(&[SELFDESTRUCT]).finish(),
            Self::DestructToOrigin => Asm::default().ops(&[ORIGIN, SELFDESTRUCT]).finish(),
            Self::Revert => Asm::default().push1(0).ops(&[DUP1, REVERT]).finish(),
        }
    }

    /// The code left at the new address, if the creation succeeds and the account survives.
    pub fn runtime(&self) -> Option<Bytes> {
        match self {
            Self::Storer => Some(storer_runtime()),
            Self::Vault => Some(vault_runtime()),
            Self::Factory => Some(factory_runtime()),
            Self::DestructTo(_) | Self::DestructToOrigin | Self::Revert => None,
        }
    }

    /// Storage the constructor leaves behind.
    pub fn constructor_storage(&self) -> Vec<(U256, U256)> {
        match self {
            Self::Storer => vec![(U256::from(CTOR_SLOT), U256::from(CTOR_VALUE))],
            _ => Vec::new(),
        }
    }
}

/// Where the factory at `factory` CREATE2s `init` with `salt`.
pub fn create2_address(factory: Address, salt: B256, init: Init) -> Address {
    factory.create2(salt, keccak256(init.code()))
}

/// The salts workloads use, few so that addresses recur (prefunded, re-created, collided).
pub fn salt(index: u8) -> B256 {
    B256::with_last_byte(index % 3)
}

/// The kinds of CREATE2 the workloads do.
pub const CREATE2_INITS: [Init; 2] = [Init::Storer, Init::DestructToOrigin];

/// Calldata for the storer: the pairs, then `tail` extra bytes (0 stop, 1 revert, 2 spin).
pub fn storer_calldata(writes: &[(U256, U256)], tail: usize) -> Bytes {
    let mut data = Vec::with_capacity(writes.len() * 64 + tail);
    for (slot, value) in writes {
        data.extend_from_slice(&slot.to_be_bytes::<32>());
        data.extend_from_slice(&value.to_be_bytes::<32>());
    }
    data.resize(data.len() + tail, 0xee);
    data.into()
}

/// Calldata for the factory.
pub fn factory_calldata(salt: B256, init: Init) -> Bytes {
    let mut data = salt.to_vec();
    data.extend_from_slice(&init.code());
    data.into()
}
