//! The programs the Solidity differential runs besides the parent module's random ones: edge
//! cases of every step family the Solidity verifier executes, and ERC-20 transfers.

use super::super::*;
use alloy::primitives::keccak256;

/// Programs with the arithmetic edge cases the spec names: SDIV of -2^255 by -1 and by 0, SMOD's
/// sign, ADDMOD and MULMOD beyond 2^256 and modulo 0, EXP with a 32-byte exponent and exponent
/// 0, SIGNEXTEND of bytes 0, 30, 31 and 2^255, BYTE and shifts beyond their range; memory,
/// copies past the ends, KECCAK256 of nothing; transient storage written, cleared and read, and
/// BLOCKHASH at the edges of its window, SLOAD cold and warm of present and absent slots, SSTORE
/// through the EIP-2200 cases (no-op, clear, restore, set, reset), account reads of warm, cold,
/// present, absent and precompile accounts with and without code, LOG0..LOG4 with empty, one-byte,
/// short and long data and a length that halts; each ending in an invalid jump; and RETURN and
/// REVERT of empty, aligned, unaligned and halting ranges; SELFDESTRUCT to an account, itself,
/// an absent account and a precompile; calls to callees that return, revert, halt and write in a
/// static frame, with their frame exits; creations of every initcode kind and their exits.
pub(super) fn edge_programs() -> Vec<Vec<u8>> {
    let u = U256::from;
    let min = U256::from(1) << 255;
    let neg1 = U256::MAX;
    let bin = |op: u8, a: U256, b: U256| (op, vec![a, b]);
    let mut arith: Vec<(u8, Vec<U256>)> = vec![
        bin(0x05, min, neg1),
        bin(0x05, neg1, u(0)),
        bin(0x05, neg1 - u(6), u(2)),
        bin(0x07, neg1 - u(6), u(2)),
        bin(0x07, u(7), neg1 - u(1)),
        bin(0x07, min, neg1),
        bin(0x04, u(7), u(0)),
        bin(0x06, u(7), u(0)),
        (0x08, vec![u(7), neg1, neg1]),
        (0x08, vec![u(0), neg1, neg1]),
        (0x09, vec![neg1 - u(1), neg1, neg1]),
        (0x09, vec![u(0), u(3), u(5)]),
        bin(0x0a, u(3), neg1),
        bin(0x0a, u(0), u(0)),
        bin(0x0a, u(2), u(255)),
        bin(0x0a, u(2), u(256)),
        bin(0x0b, u(0), u(0xff)),
        bin(0x0b, u(0), u(0x7f)),
        bin(0x0b, u(30), min >> 8),
        bin(0x0b, u(31), neg1),
        bin(0x0b, min, u(0x80)),
        bin(0x1a, u(31), u(0xab)),
        bin(0x1a, u(32), neg1),
        bin(0x1b, u(256), u(1)),
        bin(0x1c, u(255), neg1),
        bin(0x1d, u(300), min),
        bin(0x1d, u(4), min),
        bin(0x12, neg1, u(0)),
        bin(0x13, neg1, u(0)),
    ];
    let mut memory: Vec<(u8, Vec<U256>)> = vec![
        (0x52, vec![u(5), neg1]),
        (0x53, vec![u(70), u(0x1234)]),
        (0x51, vec![u(3)]),
        (0x20, vec![u(3), u(70)]),
        (0x20, vec![u(1000), u(0)]),
        (0x5e, vec![u(10), u(0), u(50)]),
        (0x5e, vec![u(0), u(10), u(50)]),
        (0x5e, vec![u(0), neg1, u(0)]),
        (0x37, vec![u(7), u(2), u(40)]),
        (0x37, vec![u(7), neg1, u(40)]),
        (0x35, vec![u(3)]),
        (0x35, vec![neg1]),
        (0x39, vec![u(1), u(5), u(100)]),
        (0x39, vec![u(1), U256::from(1u64 << 40), u(3)]),
        (0x3e, vec![u(0), u(0), u(0)]),
        (0x59, vec![]),
    ];
    let window = |n: u64| u(BLOCK_NUMBER - n);
    let mut world: Vec<(u8, Vec<U256>)> = vec![
        (0x5d, vec![u(1), u(9)]),
        (0x5c, vec![u(1)]),
        (0x5c, vec![u(2)]),
        (0x5d, vec![u(1), u(0)]),
        (0x5c, vec![u(1)]),
        (0x5d, vec![neg1, neg1]),
        (0x40, vec![window(1)]),
        (0x40, vec![window(256)]),
        (0x40, vec![window(257)]),
        (0x40, vec![window(0)]),
        (0x40, vec![neg1]),
        (0x54, vec![u(1)]),
        (0x54, vec![u(1)]),
        (0x54, vec![u(2)]),
        (0x54, vec![u(7)]),
        (0x55, vec![u(1), u(1)]),
        (0x55, vec![u(1), u(0)]),
        (0x55, vec![u(1), u(1)]),
        (0x55, vec![u(3), u(5)]),
        (0x55, vec![u(3), u(0)]),
        (0x55, vec![u(2), u(7)]),
        (0x55, vec![u(2), u(0)]),
        (0x55, vec![u(2), u(2)]),
        (0x54, vec![u(2)]),
        (0x54, vec![u(3)]),
        (0x47, vec![]),
        (0x31, vec![addr(CALLER)]),
        (0x31, vec![addr(CALLER)]),
        (0x31, vec![addr(ABSENT)]),
        (0x31, vec![u(4)]),
        (0x3b, vec![addr(CONTRACT)]),
        (0x3b, vec![addr(EOA)]),
        (0x3f, vec![addr(CONTRACT)]),
        (0x3f, vec![addr(ABSENT)]),
        (0x3f, vec![addr(TARGET)]),
        (0x3c, vec![addr(CONTRACT), u(3), u(1), u(40)]),
        (0x3c, vec![addr(RETURNER), u(3), u(1), u(0)]),
        (0x3c, vec![addr(EOA), u(70), neg1, u(5)]),
        (0xa0, vec![u(0), u(0)]),
        (0xa0, vec![u(3), u(1)]),
        (0xa1, vec![u(200), u(1), neg1]),
        (0xa2, vec![u(5), u(60), u(1), u(2)]),
        (0xa3, vec![u(0), u(300), u(1), u(2), u(3)]),
        (0xa4, vec![u(1), u(55), u(1), u(2), u(3), u(4)]),
        (0xa4, vec![u(1), neg1, u(1), u(2), u(3), u(4)]),
    ];
    let mut programs = Vec::new();
    for ops in [&mut arith, &mut memory, &mut world] {
        let mut code = Vec::new();
        for (op, args) in ops.drain(..) {
            code.extend(program(&[(op, args.as_slice())]));
            if info(op).pushes == 1 {
                code.push(0x50);
            }
        }
        code.extend([0x60, 0x03, 0x56]);
        programs.push(code);
    }
    // Frame ends: RETURN and REVERT of nothing, of one word, of an unaligned range, of a range
    // that halts.
    for (op, offset, len) in [
        (0xf3, u(0), u(0)),
        (0xfd, u(0), u(0)),
        (0xf3, u(0), u(32)),
        (0xf3, u(3), u(70)),
        (0xfd, u(31), u(33)),
        (0xfd, u(0), neg1),
    ] {
        programs.push(program(&[(0x52, &[u(5), neg1]), (op, &[offset, len])]));
    }
    // SELFDESTRUCT to an account with a balance, to itself, to an absent account (new account
    // gas), to a precompile.
    for beneficiary in [addr(EOA), addr(TARGET), addr(ABSENT), u(4)] {
        programs.push(program(&[(0xff, &[beneficiary])]));
    }
    // Calls whose callees return (output copied back), revert (world restored, output kept),
    // halt, and write in a static frame: the callees' steps and the frame exits are executed
    // (the call steps themselves are not yet).
    let call = |op: u8, to: Address, out: u64| {
        let mut args = vec![u(60_000), addr(to)];
        if op == 0xf1 {
            args.push(u(0));
        }
        args.extend([u(0), u(0), u(3), u(out)]);
        (op, args)
    };
    let mut calls = Vec::new();
    for (op, to, out) in [
        (0xf1, RETURNER, 64),
        (0xf1, REVERTER, 40),
        (0xf1, HALTER, 10),
        (0xfa, RETURNER, 64),
        (0xf1, RETURNER, 0),
    ] {
        calls.push(call(op, to, out));
        calls.push((0x50, vec![]));
    }
    let calls: Vec<(u8, &[U256])> = calls.iter().map(|(op, a)| (*op, a.as_slice())).collect();
    programs.push(program(&calls));
    // Creations whose initcode deposits code, reverts, returns 0xef code, self-destructs and
    // halts, with and without value and salt: their create frame exits (the CREATE steps
    // themselves are not executed yet).
    let mut creates = Vec::new();
    for (i, init) in initcodes().iter().enumerate() {
        creates.extend(create_snippet(
            init,
            (i % 2) as u8,
            (i % 3 == 0).then_some(i as u8),
        ));
    }
    programs.push(creates);
    programs
}

pub(super) fn edge_case(code: Vec<u8>) -> Case {
    Case {
        calldata: (1..=45).collect(),
        ..Case::program(&code)
    }
}

/// Transfers of the committed OpenZeppelin ERC-20 (`testdata/artifacts/TestToken.json`): direct,
/// to the zero address (reverted), and through the committed `Relay` (a nested frame, and a
/// transfer beyond the balance whose revert bubbles up): the steps of real contracts, whose code
/// travels whole in every proof and whose jumps are checked by scanning it.
pub(super) fn erc20_cases() -> Vec<Case> {
    use alloy::sol_types::SolCall;
    const TOKEN: Address = address!("0xa000000000000000000000000000000000000a0a");
    let balance_slot = |holder: Address| {
        let mut preimage = [0u8; 64];
        preimage[12..32].copy_from_slice(holder.as_slice());
        U256::from_be_bytes(keccak256(preimage).0)
    };
    let supply = U256::from(10u64).pow(U256::from(24));
    const RELAY: Address = address!("0xb000000000000000000000000000000000000b0b");
    let token = BaseAccount {
        nonce: 1,
        code: deployed_code("TestToken"),
        storage: [
            (balance_slot(CALLER), supply / U256::from(2)),
            (balance_slot(RELAY), supply / U256::from(2)),
            (U256::from(2), supply),
        ]
        .into(),
        ..Default::default()
    };
    let relay = BaseAccount {
        nonce: 1,
        code: deployed_code("Relay"),
        ..Default::default()
    };
    let transfer_to = |to: Address, value: U256| transferCall { to, value }.abi_encode();
    let amount = U256::from(1000);
    [
        (TOKEN, transfer_to(EOA, amount)),
        (TOKEN, transfer_to(Address::ZERO, amount)),
        // Through the relay: a nested frame, logs of two contracts, a revert bubbling up.
        (
            RELAY,
            relayCall {
                target: TOKEN,
                data: transfer_to(EOA, amount).into(),
            }
            .abi_encode(),
        ),
        (
            RELAY,
            relayCall {
                target: TOKEN,
                data: transfer_to(EOA, supply).into(),
            }
            .abi_encode(),
        ),
    ]
    .into_iter()
    .map(|(to, calldata)| Case {
        calldata,
        value: 0,
        extra_gas: 200_000,
        extra: vec![(TOKEN, token.clone()), (RELAY, relay.clone())],
        to,
        ..Case::program(&[])
    })
    .collect()
}
