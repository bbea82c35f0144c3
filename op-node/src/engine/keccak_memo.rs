//! The KECCAK256 opcode with a memo of its last 64-byte inputs, installed in the L2's EVM in
//! place of revm's.
//!
//! A Solidity mapping's slot is keccak256(key ‖ slot) over 64 bytes of memory, and a contract
//! often hashes the same key twice in one call: OpenZeppelin 5's ERC-20 `_update` reads
//! `_balances[from]`, checks it, then writes it, hashing the sender's key again. In a block of
//! 2,000 such transfers revm's KECCAK256 (one scalar Keccak-f at ~5,000 instructions) was 30 %
//! of execution's instructions, three hashes a transfer, one of them a repeat. A hash found
//! among the last [`WAYS`] inputs is taken from there.
//!
//! Only the case that changes nothing but the hashing is taken here: 64 bytes already inside
//! the call's memory (no expansion, so no memory gas), with both operands on the stack. The
//! gas, the stack and the result are then those of revm's instruction; any other input (other
//! lengths, memory to expand, an operand out of range, a stack underflow) goes to revm's own
//! [`system::keccak256`].

use alloy::primitives::{B256, U256, keccak256 as hash};
use alloy_evm::Database;
use alloy_op_evm::OpEvm;
use revm::{
    bytecode::opcode::KECCAK256,
    interpreter::{
        Host, Instruction, InstructionContext, Interpreter, gas,
        instructions::system,
        interpreter::{EthInterpreter, num_words},
    },
};
use std::cell::RefCell;

/// How many recent inputs the memo keeps (compared one by one: a miss costs eight 64-byte
/// comparisons, far below one Keccak-f).
pub const WAYS: usize = 8;

/// The last [`WAYS`] 64-byte inputs hashed, and their hashes, in a ring.
struct Memo {
    inputs: [[u8; 64]; WAYS],
    hashes: [B256; WAYS],
    /// Slots in use (up to [`WAYS`]).
    filled: usize,
    /// Where the next input goes.
    next: usize,
}

impl Memo {
    const EMPTY: Self = Self {
        inputs: [[0; 64]; WAYS],
        hashes: [B256::ZERO; WAYS],
        filled: 0,
        next: 0,
    };

    fn hash(&mut self, input: &[u8; 64]) -> B256 {
        if let Some(i) = self.inputs[..self.filled].iter().position(|k| k == input) {
            return self.hashes[i];
        }
        let hashed = hash(input);
        self.inputs[self.next] = *input;
        self.hashes[self.next] = hashed;
        self.next = (self.next + 1) % WAYS;
        self.filled = (self.filled + 1).min(WAYS);
        hashed
    }
}

thread_local! {
    /// A memo per thread (a pure function's: any thread's answer is right for any EVM).
    static MEMO: RefCell<Memo> = const { RefCell::new(Memo::EMPTY) };
}

/// KECCAK256 (opcode 0x20): revm's, but a 64-byte input already in memory is hashed through
/// the memo. Install with `EthInstructions::insert_instruction(KECCAK256,
/// Instruction::new(keccak256, <the table's static gas>))`.
pub fn keccak256<H: Host + ?Sized>(context: InstructionContext<'_, H, EthInterpreter>) {
    let interpreter = &mut *context.interpreter;
    let Some(input) = memo_input(interpreter) else {
        return system::keccak256(context);
    };
    gas!(interpreter, context.host.gas_params().keccak256_cost(64));
    let hashed = MEMO.with_borrow_mut(|memo| memo.hash(&input));
    let stack = interpreter.stack.data_mut();
    stack.pop();
    if let Some(top) = stack.last_mut() {
        *top = hashed.into();
    }
}

/// `evm` (as [`alloy_evm::EvmFactory::create_evm`] makes it: no inspector run) with
/// [`keccak256`] in place of revm's KECCAK256, at the same static gas.
pub fn install<DB: Database, I, P, Tx>(evm: OpEvm<DB, I, P, Tx>) -> OpEvm<DB, I, P, Tx> {
    let mut inner = evm.into_inner();
    let table = &mut inner.0.instruction;
    let static_gas = table.instruction_table[KECCAK256 as usize].static_gas();
    table.insert_instruction(KECCAK256, Instruction::new(keccak256, static_gas));
    OpEvm::new(inner, false)
}

/// The 64 bytes KECCAK256 would hash, when its operands (offset on top, then length) ask for
/// 64 bytes wholly inside the memory the call has paid for; `None` for anything else.
fn memo_input(interpreter: &Interpreter<EthInterpreter>) -> Option<[u8; 64]> {
    let stack = interpreter.stack.data();
    let [.., len, offset] = stack.as_slice() else {
        return None;
    };
    if *len != U256::from(64) {
        return None;
    }
    let offset = usize::try_from(*offset).ok()?;
    let end = offset.checked_add(64)?;
    if num_words(end) > interpreter.gas.memory().words_num {
        return None;
    }
    let mut input = [0u8; 64];
    input.copy_from_slice(&interpreter.memory.slice_len(offset, 64));
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::{collection::vec, prelude::*};
    use revm::{
        ExecuteEvm, MainBuilder, MainContext,
        bytecode::{Bytecode, opcode},
        context::{Context, TxEnv},
        database::{CacheDB, EmptyDB},
        primitives::{Address, TxKind},
        state::AccountInfo,
    };

    #[test]
    fn memo_answers_equal_keccak_and_survive_eviction() {
        let mut memo = Memo::EMPTY;
        let inputs: Vec<[u8; 64]> = (0..3 * WAYS as u8)
            .map(|i| {
                let mut input = [0u8; 64];
                input[0] = i;
                input[63] = i.wrapping_mul(7);
                input
            })
            .collect();
        // Fill, repeat (hits), then evict with newer inputs and ask the old ones again.
        for round in 0..3 {
            for input in &inputs {
                assert_eq!(memo.hash(input), hash(input), "round {round}");
            }
            for input in inputs.iter().rev().take(WAYS) {
                assert_eq!(memo.hash(input), hash(input), "repeat in round {round}");
            }
        }
        // The zero input (the memo's unused slots hold zeros) is hashed, not taken from them.
        let mut fresh = Memo::EMPTY;
        assert_eq!(fresh.hash(&[0; 64]), hash([0u8; 64]));
    }

    /// One piece of a test program.
    #[derive(Debug, Clone)]
    enum Piece {
        /// MSTORE of a value at an offset (expands memory).
        Store(u8, u64),
        /// KECCAK256(offset, length), its hash kept in memory at the next output word.
        Hash(u8, u8),
        /// KECCAK256 with an offset far beyond memory.
        HugeOffset,
        /// KECCAK256 on a stack too short.
        Underflow,
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            4 => (prop::sample::select(vec![0u8, 32, 64, 96]), any::<u64>())
                .prop_map(|(at, v)| Piece::Store(at, v)),
            8 => (
                prop::sample::select(vec![0u8, 1, 31, 32, 64, 100, 160]),
                prop::sample::select(vec![0u8, 32, 63, 64, 65]),
            )
                .prop_map(|(at, len)| Piece::Hash(at, len)),
            1 => Just(Piece::HugeOffset),
            1 => Just(Piece::Underflow),
        ]
    }

    /// The program's code: the pieces, then RETURN of the hashes written.
    fn code(pieces: &[Piece]) -> Vec<u8> {
        const OUT: u16 = 0x400;
        let mut code = Vec::new();
        let mut outputs = 0u16;
        for piece in pieces {
            match piece {
                Piece::Store(at, v) => {
                    code.push(opcode::PUSH8);
                    code.extend_from_slice(&v.to_be_bytes());
                    code.extend_from_slice(&[opcode::PUSH1, *at, opcode::MSTORE]);
                }
                Piece::Hash(at, len) => {
                    code.extend_from_slice(&[opcode::PUSH1, *len, opcode::PUSH1, *at]);
                    code.push(opcode::KECCAK256);
                    code.push(opcode::PUSH2);
                    code.extend_from_slice(&(OUT + 32 * outputs).to_be_bytes());
                    code.push(opcode::MSTORE);
                    outputs += 1;
                }
                Piece::HugeOffset => {
                    code.extend_from_slice(&[opcode::PUSH1, 64, opcode::PUSH32]);
                    code.extend_from_slice(&[0xff; 32]);
                    code.push(opcode::KECCAK256);
                }
                Piece::Underflow => code.extend_from_slice(&[opcode::PUSH1, 64, opcode::KECCAK256]),
            }
        }
        code.push(opcode::PUSH2);
        code.extend_from_slice(&(32 * outputs).to_be_bytes());
        code.push(opcode::PUSH2);
        code.extend_from_slice(&OUT.to_be_bytes());
        code.push(opcode::RETURN);
        code
    }

    /// Runs `code` with `gas_limit`, through revm's KECCAK256 or the memo's.
    fn run(code: &[u8], gas_limit: u64, memo: bool) -> revm::context::result::ExecutionResult {
        const CONTRACT: Address = Address::repeat_byte(0xc0);
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            CONTRACT,
            AccountInfo::default().with_code(Bytecode::new_raw(code.to_vec().into())),
        );
        let mut evm = Context::mainnet().with_db(db).build_mainnet();
        if memo {
            let table = &mut evm.instruction;
            let static_gas = table.instruction_table[KECCAK256 as usize].static_gas();
            table.insert_instruction(KECCAK256, Instruction::new(keccak256, static_gas));
        }
        let tx = TxEnv::builder()
            .caller(Address::repeat_byte(0xca))
            .kind(TxKind::Call(CONTRACT))
            .gas_limit(gas_limit)
            .build()
            .expect("transaction");
        evm.transact(tx).expect("executes").result
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Outcome, gas used and output (the hashes) are revm's own for any program of
        /// stores and hashes, in memory and beyond it, at any gas limit (out of gas at any
        /// point included).
        #[test]
        fn memo_runs_like_revms_keccak(
            pieces in vec(piece(), 0..24),
            extra_gas in prop_oneof![0u64..4_000, Just(1_000_000)],
        ) {
            let code = code(&pieces);
            let gas_limit = 21_000 + extra_gas;
            prop_assert_eq!(run(&code, gas_limit, true), run(&code, gas_limit, false));
        }
    }
}
