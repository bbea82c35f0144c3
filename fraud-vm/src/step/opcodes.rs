//! The Prague opcode table (SPEC.md §5.2): family, static gas and stack effect of every opcode.

/// Gas cost constants (Yellow Paper names).
pub mod gas {
    /// G_zero.
    pub const ZERO: u64 = 0;
    /// G_jumpdest.
    pub const JUMPDEST: u64 = 1;
    /// G_base.
    pub const BASE: u64 = 2;
    /// G_verylow.
    pub const VERYLOW: u64 = 3;
    /// G_low.
    pub const LOW: u64 = 5;
    /// G_mid.
    pub const MID: u64 = 8;
    /// G_high.
    pub const HIGH: u64 = 10;
    /// G_exp (static part of EXP).
    pub const EXP: u64 = 10;
    /// G_expbyte, per byte of the exponent.
    pub const EXP_BYTE: u128 = 50;
    /// G_keccak256.
    pub const KECCAK256: u64 = 30;
    /// G_keccak256word.
    pub const KECCAK256_WORD: u128 = 6;
    /// G_copy, per word copied (CALLDATACOPY, CODECOPY, MCOPY, EXTCODECOPY).
    pub const COPY_WORD: u128 = 3;
    /// EIP-2929 WARM_STORAGE_READ_COST: static cost of account and storage access.
    pub const WARM_ACCESS: u64 = 100;
    /// EIP-2929 COLD_SLOAD_COST.
    pub const COLD_SLOAD: u64 = 2100;
    /// Cold surcharge of SLOAD on top of its static [`WARM_ACCESS`].
    pub const COLD_SLOAD_EXTRA: u64 = COLD_SLOAD - WARM_ACCESS;
    /// Cold surcharge of account access on top of the static [`WARM_ACCESS`].
    pub const COLD_ACCOUNT_EXTRA: u64 = 2500;
    /// Cold surcharge of SELFDESTRUCT's beneficiary (COLD_ACCOUNT_ACCESS_COST, 2600).
    pub const COLD_SELFDESTRUCT: u64 = 2600;
    /// G_sset.
    pub const SSTORE_SET: u64 = 20_000;
    /// G_sreset (EIP-2929: 5000 - COLD_SLOAD_COST).
    pub const SSTORE_RESET: u64 = 2900;
    /// EIP-3529 SSTORE_CLEARS_SCHEDULE.
    pub const SSTORE_CLEARS_REFUND: i64 = 4800;
    /// G_callstipend; also the EIP-2200 SSTORE sentry.
    pub const CALL_STIPEND: u64 = 2300;
    /// G_newaccount.
    pub const NEW_ACCOUNT: u64 = 25_000;
    /// G_log (static part of LOGn).
    pub const LOG: u64 = 375;
    /// G_logtopic.
    pub const LOG_TOPIC: u64 = 375;
    /// G_logdata, per byte.
    pub const LOG_DATA: u64 = 8;
    /// G_selfdestruct.
    pub const SELFDESTRUCT: u64 = 5000;
    /// G_blockhash.
    pub const BLOCKHASH: u64 = 20;
    /// G_low for SELFBALANCE (EIP-1884).
    pub const SELFBALANCE: u64 = 5;
}

/// The step family of an opcode: which module of `step/` executes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// ADD..SIGNEXTEND (`arithmetic.rs`).
    Arithmetic,
    /// LT..SAR (`bitwise.rs`).
    Bitwise,
    /// KECCAK256 (`keccak.rs`).
    Keccak,
    /// Environment reads without world state (`environment.rs`).
    Environment,
    /// POP, PUSH0..PUSH32, DUP, SWAP (`stack.rs`).
    Stack,
    /// MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY (`memory.rs`).
    Memory,
    /// STOP, JUMP, JUMPI, PC, GAS, JUMPDEST (`control.rs`).
    Control,
    /// SLOAD, SSTORE, TLOAD, TSTORE (`storage.rs`).
    Storage,
    /// BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH, BLOCKHASH, SELFBALANCE (`account.rs`).
    Account,
    /// LOG0..LOG4 (`log.rs`).
    Log,
    /// SELFDESTRUCT (`system.rs`).
    System,
    /// CALL, CALLCODE, DELEGATECALL, STATICCALL, RETURN, REVERT (`call.rs`).
    Call,
    /// INVALID (0xFE): exceptional halt.
    Invalid,
    /// Not defined in Prague: exceptional halt.
    Undefined,
    /// Defined in Prague, specified but not implemented in this version: the verifier answers
    /// `Unsupported`.
    Pending,
}

/// Static properties of one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    /// Mnemonic.
    pub name: &'static str,
    /// Step family.
    pub family: Family,
    /// Static gas, charged before anything else.
    pub gas: u64,
    /// Items popped.
    pub pops: u8,
    /// Items pushed.
    pub pushes: u8,
}

const fn op(name: &'static str, family: Family, gas: u64, pops: u8, pushes: u8) -> OpInfo {
    OpInfo {
        name,
        family,
        gas,
        pops,
        pushes,
    }
}

const PUSH_NAMES: [&str; 33] = [
    "PUSH0", "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9",
    "PUSH10", "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18",
    "PUSH19", "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27",
    "PUSH28", "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP_NAMES: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP_NAMES: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];

/// The table entry of `opcode` under Prague rules.
pub fn info(opcode: u8) -> OpInfo {
    use Family::*;
    use gas::*;
    match opcode {
        0x00 => op("STOP", Control, ZERO, 0, 0),
        0x01 => op("ADD", Arithmetic, VERYLOW, 2, 1),
        0x02 => op("MUL", Arithmetic, LOW, 2, 1),
        0x03 => op("SUB", Arithmetic, VERYLOW, 2, 1),
        0x04 => op("DIV", Arithmetic, LOW, 2, 1),
        0x05 => op("SDIV", Arithmetic, LOW, 2, 1),
        0x06 => op("MOD", Arithmetic, LOW, 2, 1),
        0x07 => op("SMOD", Arithmetic, LOW, 2, 1),
        0x08 => op("ADDMOD", Arithmetic, MID, 3, 1),
        0x09 => op("MULMOD", Arithmetic, MID, 3, 1),
        0x0a => op("EXP", Arithmetic, EXP, 2, 1),
        0x0b => op("SIGNEXTEND", Arithmetic, LOW, 2, 1),
        0x10 => op("LT", Bitwise, VERYLOW, 2, 1),
        0x11 => op("GT", Bitwise, VERYLOW, 2, 1),
        0x12 => op("SLT", Bitwise, VERYLOW, 2, 1),
        0x13 => op("SGT", Bitwise, VERYLOW, 2, 1),
        0x14 => op("EQ", Bitwise, VERYLOW, 2, 1),
        0x15 => op("ISZERO", Bitwise, VERYLOW, 1, 1),
        0x16 => op("AND", Bitwise, VERYLOW, 2, 1),
        0x17 => op("OR", Bitwise, VERYLOW, 2, 1),
        0x18 => op("XOR", Bitwise, VERYLOW, 2, 1),
        0x19 => op("NOT", Bitwise, VERYLOW, 1, 1),
        0x1a => op("BYTE", Bitwise, VERYLOW, 2, 1),
        0x1b => op("SHL", Bitwise, VERYLOW, 2, 1),
        0x1c => op("SHR", Bitwise, VERYLOW, 2, 1),
        0x1d => op("SAR", Bitwise, VERYLOW, 2, 1),
        0x20 => op("KECCAK256", Keccak, KECCAK256, 2, 1),
        0x30 => op("ADDRESS", Environment, BASE, 0, 1),
        0x31 => op("BALANCE", Account, WARM_ACCESS, 1, 1),
        0x32 => op("ORIGIN", Environment, BASE, 0, 1),
        0x33 => op("CALLER", Environment, BASE, 0, 1),
        0x34 => op("CALLVALUE", Environment, BASE, 0, 1),
        0x35 => op("CALLDATALOAD", Environment, VERYLOW, 1, 1),
        0x36 => op("CALLDATASIZE", Environment, BASE, 0, 1),
        0x37 => op("CALLDATACOPY", Environment, VERYLOW, 3, 0),
        0x38 => op("CODESIZE", Environment, BASE, 0, 1),
        0x39 => op("CODECOPY", Environment, VERYLOW, 3, 0),
        0x3a => op("GASPRICE", Environment, BASE, 0, 1),
        0x3b => op("EXTCODESIZE", Account, WARM_ACCESS, 1, 1),
        0x3c => op("EXTCODECOPY", Account, WARM_ACCESS, 4, 0),
        0x3d => op("RETURNDATASIZE", Environment, BASE, 0, 1),
        0x3e => op("RETURNDATACOPY", Environment, VERYLOW, 3, 0),
        0x3f => op("EXTCODEHASH", Account, WARM_ACCESS, 1, 1),
        0x40 => op("BLOCKHASH", Account, BLOCKHASH, 1, 1),
        0x41 => op("COINBASE", Environment, BASE, 0, 1),
        0x42 => op("TIMESTAMP", Environment, BASE, 0, 1),
        0x43 => op("NUMBER", Environment, BASE, 0, 1),
        0x44 => op("PREVRANDAO", Environment, BASE, 0, 1),
        0x45 => op("GASLIMIT", Environment, BASE, 0, 1),
        0x46 => op("CHAINID", Environment, BASE, 0, 1),
        0x47 => op("SELFBALANCE", Account, gas::SELFBALANCE, 0, 1),
        0x48 => op("BASEFEE", Environment, BASE, 0, 1),
        0x49 => op("BLOBHASH", Environment, VERYLOW, 1, 1),
        0x4a => op("BLOBBASEFEE", Environment, BASE, 0, 1),
        0x50 => op("POP", Stack, BASE, 1, 0),
        0x51 => op("MLOAD", Memory, VERYLOW, 1, 1),
        0x52 => op("MSTORE", Memory, VERYLOW, 2, 0),
        0x53 => op("MSTORE8", Memory, VERYLOW, 2, 0),
        0x54 => op("SLOAD", Storage, WARM_ACCESS, 1, 1),
        0x55 => op("SSTORE", Storage, ZERO, 2, 0),
        0x56 => op("JUMP", Control, MID, 1, 0),
        0x57 => op("JUMPI", Control, HIGH, 2, 0),
        0x58 => op("PC", Control, BASE, 0, 1),
        0x59 => op("MSIZE", Memory, BASE, 0, 1),
        0x5a => op("GAS", Control, BASE, 0, 1),
        0x5b => op("JUMPDEST", Control, JUMPDEST, 0, 0),
        0x5c => op("TLOAD", Storage, WARM_ACCESS, 1, 1),
        0x5d => op("TSTORE", Storage, WARM_ACCESS, 2, 0),
        0x5e => op("MCOPY", Memory, VERYLOW, 3, 0),
        0x5f => op("PUSH0", Stack, BASE, 0, 1),
        0x60..=0x7f => op(PUSH_NAMES[(opcode - 0x5f) as usize], Stack, VERYLOW, 0, 1),
        0x80..=0x8f => {
            let n = opcode - 0x7f;
            op(DUP_NAMES[(n - 1) as usize], Stack, VERYLOW, n, n + 1)
        }
        0x90..=0x9f => {
            let n = opcode - 0x8f;
            op(SWAP_NAMES[(n - 1) as usize], Stack, VERYLOW, n + 1, n + 1)
        }
        0xa0 => op("LOG0", Log, LOG, 2, 0),
        0xa1 => op("LOG1", Log, LOG, 3, 0),
        0xa2 => op("LOG2", Log, LOG, 4, 0),
        0xa3 => op("LOG3", Log, LOG, 5, 0),
        0xa4 => op("LOG4", Log, LOG, 6, 0),
        0xf0 => op("CREATE", Call, ZERO, 3, 1),
        0xf1 => op("CALL", Call, WARM_ACCESS, 7, 1),
        0xf2 => op("CALLCODE", Call, WARM_ACCESS, 7, 1),
        0xf3 => op("RETURN", Call, ZERO, 2, 0),
        0xf4 => op("DELEGATECALL", Call, WARM_ACCESS, 6, 1),
        0xf5 => op("CREATE2", Call, ZERO, 4, 1),
        0xfa => op("STATICCALL", Call, WARM_ACCESS, 6, 1),
        0xfd => op("REVERT", Call, ZERO, 2, 0),
        0xfe => op("INVALID", Invalid, ZERO, 0, 0),
        0xff => op("SELFDESTRUCT", System, gas::SELFDESTRUCT, 1, 0),
        _ => op("UNDEFINED", Undefined, ZERO, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prague_defines_exactly_these_opcodes() {
        let defined = (0..=255u8)
            .filter(|op| !matches!(info(*op).family, Family::Undefined))
            .count();
        // 12 arithmetic + 14 bitwise + 1 keccak + 16 env + 11 block + 16 (0x50..0x5f)
        // + 32 push + 16 dup + 16 swap + 5 log + 10 system (incl. INVALID and SELFDESTRUCT).
        assert_eq!(defined, 12 + 14 + 1 + 16 + 11 + 16 + 32 + 16 + 16 + 5 + 10);
    }
}
