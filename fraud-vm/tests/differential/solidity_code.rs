//! Steps in long code on L1 (SPEC.md §3.4.1 "The code fact", §6.3 "code window", v0.12): the
//! proof's code is replaced by its code window (the code words the step reads, and for a taken
//! jump one word of the JUMPDEST bitmap), after `RangeOracle.absorbCode` established the code's
//! fact. Every step of programs in 24 KiB of code, each in full for the Rust verifier and in its
//! L1 form for the Solidity verifier, gives the same post-state; the bad windows are rejected.
//! (`cargo test --release -p fraud-vm --test differential solidity_long_code -- --nocapture`)

use super::ranges::Feeder;
use super::*;
use fraud_vm::range_fact::{self, CODE_WINDOW_HEAD, CodeFact, LONG_CODE};

alloy::sol! {
    /// `OneStepVerifier`'s world-state step contract.
    function worldSteps() returns (address);
}

/// Offset of the code field's bytes in an encoded proof: version, state record, `u32 len`.
const CODE_AT: usize = 1 + 443 + 4;

/// `filler` repeated to about 24,576 bytes between a head and a tail: the head jumps (JUMP, or
/// JUMPI with a true condition) over the filler to the JUMPDEST before the tail, which runs a
/// PUSH32, CODESIZE, a jump into PUSH data (halts) or past the code.
fn long_program(filler: &[u8], jumpi: bool, bad: Option<u16>) -> Vec<u8> {
    // PUSH1 1 (JUMPI's condition), PUSH2 <dest>, JUMP or JUMPI.
    let mut code = vec![0x60, 0x01, 0x61, 0, 0, if jumpi { 0x57 } else { 0x56 }];
    while code.len() + filler.len() < 24_400 {
        code.extend_from_slice(filler);
    }
    let dest = code.len();
    code[3..5].copy_from_slice(&(dest as u16).to_be_bytes());
    code.push(0x5b);
    // PUSH32 (immediates across a word boundary), POP, CODESIZE, POP.
    code.push(0x7f);
    code.extend((1..=32u8).map(|b| b | 0x80));
    code.extend([0x50, 0x38, 0x50]);
    let target = bad.unwrap_or(0);
    // PUSH2 <target>, JUMP: into the PUSH32's data (0x5b there), or past the code.
    code.extend([0x61]);
    code.extend(target.to_be_bytes());
    code.push(0x56);
    code.push(0x5b);
    code
}

/// Every step of the long programs in full and through its window; the bad windows.
#[test]
fn solidity_long_code_steps_through_code_windows() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let mut absorbed = std::collections::BTreeSet::new();
    let mut worst_full = 0u64;
    let mut worst_window = 0u64;
    let mut tampered = 0usize;
    for (name, filler) in [
        ("JUMPDEST", &[0x5b][..]),
        ("PUSH1 0x00", &[0x60, 0x00][..]),
        ("PUSH2 0x5b5b", &[0x61, 0x5b, 0x5b][..]),
    ] {
        for jumpi in [false, true] {
            // The final jump: into the PUSH32's data (a 0x5b written there), or past the end.
            for bad in [None, Some(u16::MAX)] {
                let mut code = long_program(filler, jumpi, bad);
                let into_push = code.len() - 12;
                if bad.is_none() {
                    // Target a byte of the PUSH32's data, set to 0x5b: not a JUMPDEST.
                    code[into_push] = 0x5b;
                    let at = code.len() - 4;
                    code[at..at + 2].copy_from_slice(&(into_push as u16).to_be_bytes());
                }
                let case = Case::program(&code);
                let mut steps = Vec::new();
                run(&case, |_, state| {
                    let pre = state.record.commitment();
                    if let Ok((proof, _)) = prove(state) {
                        steps.push((pre, proof));
                    }
                });
                assert!(steps.len() >= 8, "{name}: {} steps", steps.len());
                let fact = CodeFact::of(&code);
                for (k, (pre, proof)) in steps.iter().enumerate() {
                    let rust = verify(*pre, proof).expect("the Rust verifier takes it");
                    let full = proof.encode();
                    let (answer, full_gas) = l1.verify(*pre, &full);
                    assert_eq!(answer, Answer::Post(rust), "{name} step {k} in full");
                    worst_full = worst_full.max(full_gas);
                    let Some(window) = range_fact::code_form(proof, &full, LONG_CODE) else {
                        assert!(
                            proof.pre.status != fraud_vm::state::Status::Running,
                            "{name} step {k}: no window"
                        );
                        continue;
                    };
                    if absorbed.insert(fact.code_hash) {
                        let (answer, _) = l1.verify(*pre, &window);
                        assert_eq!(
                            answer,
                            Answer::Revert("RangeFactMissing(bytes32)".into()),
                            "{name} step {k} before the code fact"
                        );
                        let gas = feeder.absorb_code(&mut l1, &code).expect("absorbCode");
                        println!("absorbCode of {} bytes ({name}): {gas} gas", code.len());
                    }
                    let (answer, gas) = l1.verify(*pre, &window);
                    assert_eq!(answer, Answer::Post(rust), "{name} step {k} in its window");
                    worst_window = worst_window.max(gas);
                    if k < 3 || k + 4 > steps.len() {
                        println!(
                            "{name}{} step {k} (pc {}, op {:#04x}): in full {full_gas} gas ({} bytes), window {gas} gas ({} bytes)",
                            if jumpi { " JUMPI" } else { "" },
                            proof.pre.pc,
                            code.get(proof.pre.pc as usize).copied().unwrap_or(0),
                            full.len(),
                            window.len()
                        );
                    }
                    tampered += bad_windows(&mut l1, *pre, &window, proof, &mut feeder);
                }
            }
        }
    }
    println!(
        "largest step in full {worst_full} gas, through its window {worst_window} gas; {tampered} bad windows rejected"
    );
    // The costliest code fact: the largest initcode (EIP-3860), every byte a JUMPDEST.
    let gas = feeder
        .absorb_code(&mut l1, &[0x5b; 49_152])
        .expect("absorbCode");
    println!("absorbCode of 49,152 JUMPDESTs: {gas} gas");
    assert!(gas < 3_000_000, "{gas} gas");
    // The costliest scan: a PUSH every other byte (its data a JUMPDEST byte, not one).
    let pushes = [0x60, 0x5b].repeat(24_576);
    let gas = feeder.absorb_code(&mut l1, &pushes).expect("absorbCode");
    println!("absorbCode of 24,576 PUSH1 0x5b: {gas} gas");
    assert!(gas < 6_500_000, "{gas} gas");
    // One byte more is refused.
    assert!(feeder.absorb_code(&mut l1, &[0x5b; 49_153]).is_err());
    assert!(worst_window < 1_000_000, "{worst_window} gas");
}

/// Rejections of altered windows of one step: every one must be a rejection, never a post (a
/// flipped or moved code word, the bitmap word or CODECOPY's copied words flipped, moved,
/// dropped or unused, another code's roots or window, a wrong `R_c`, a wrong length).
fn bad_windows(
    l1: &mut L1Verifier,
    pre: B256,
    window: &[u8],
    proof: &fraud_vm::StepProof,
    feeder: &mut Feeder,
) -> usize {
    let mut n = 0;
    let mut reject = |l1: &mut L1Verifier, what: &str, bytes: &[u8]| {
        let (answer, _) = l1.verify(pre, bytes);
        assert!(answer.is_rejection(), "{what}: {answer:?}");
        n += 1;
    };
    let head = CODE_AT + CODE_WINDOW_HEAD;
    let code_len = u32::from_be_bytes(window[CODE_AT - 4..CODE_AT].try_into().expect("u32"));
    let field_end = CODE_AT + code_len as usize;
    // A code word flipped (the first word of the code range, if the step has one).
    if (proof.pre.pc as usize) < proof.code.len() {
        let mut bad = window.to_vec();
        bad[head + 8 + 31] ^= 0x01;
        reject(l1, "a flipped code word", &bad);
        // The range one word later.
        let mut bad = window.to_vec();
        let start = u32::from_be_bytes(bad[head..head + 4].try_into().expect("u32"));
        bad[head..head + 4].copy_from_slice(&(start + 1).to_be_bytes());
        reject(l1, "a code range one word off", &bad);
    }
    // The bitmap word, if any: flipped (a position inside PUSH data claimed a JUMPDEST, or a
    // JUMPDEST denied), moved, dropped.
    let code_range = if (proof.pre.pc as usize) < proof.code.len() {
        let count = u32::from_be_bytes(window[head + 4..head + 8].try_into().expect("u32"));
        let start = u32::from_be_bytes(window[head..head + 4].try_into().expect("u32"));
        8 + 32
            * (count as usize
                + fraud_vm::merkle::range_sibling_count(u64::from(start), u64::from(count))
                    .expect("in the tree"))
    } else {
        0
    };
    let bitmap_at = head + code_range;
    let copies = proof.code.get(proof.pre.pc as usize) == Some(&0x39);
    if copies && bitmap_at < field_end {
        // [v0.13] CODECOPY's copied words: flipped, moved, dropped.
        let mut bad = window.to_vec();
        bad[bitmap_at + 8 + 5] ^= 0x01;
        reject(l1, "a flipped copied word", &bad);
        let mut bad = window.to_vec();
        bad[bitmap_at + 3] ^= 0x01;
        reject(l1, "copied words one word off", &bad);
        let dropped = with_field(window, &window[CODE_AT..bitmap_at]);
        reject(l1, "the copied words dropped", &dropped);
    } else if bitmap_at < field_end {
        let target = proof.stack[0].to::<u64>();
        for flip in [0x80u8 >> (target % 8), 0x01] {
            let mut bad = window.to_vec();
            bad[bitmap_at + 8 + ((target % 256) / 8) as usize] ^= flip;
            reject(l1, "a flipped bitmap word", &bad);
        }
        let mut bad = window.to_vec();
        bad[bitmap_at + 3] ^= 1;
        reject(l1, "a bitmap word of another index", &bad);
        let dropped = with_field(window, &window[CODE_AT..bitmap_at]);
        reject(l1, "the bitmap word dropped", &dropped);
    } else {
        // A range the step does not read: a code word for CODECOPY, else a bitmap word.
        let words = if copies {
            proof.code.clone()
        } else {
            range_fact::jumpdest_bitmap(&proof.code)
        };
        let extra = fraud_vm::merkle::WordTree::from_bytes(&words).prove_range(0, 1);
        let mut field = window[CODE_AT..field_end].to_vec();
        field.extend(range_fact::encode_range(&extra));
        reject(l1, "an unused range", &with_field(window, &field));
    }
    // The fact of other code: a window whose roots are another code's (absorbed).
    let mut other = proof.code.clone();
    let last = other.len() - 1;
    other[last] ^= 0x01;
    feeder.absorb_code(l1, &other).expect("absorbCode");
    let fact = CodeFact::of(&other);
    let mut bad = window.to_vec();
    bad[CODE_AT + 8..CODE_AT + 40].copy_from_slice(fact.code_root.as_slice());
    bad[CODE_AT + 40..CODE_AT + 72].copy_from_slice(fact.bitmap_root.as_slice());
    reject(l1, "another code's roots", &bad);
    // The whole window of that other code: not the frame's.
    let mut other_proof = proof.clone();
    other_proof.code = other;
    let other_window = range_fact::code_window(&other_proof).expect("a window");
    reject(
        l1,
        "another code's window",
        &with_field(window, &other_window),
    );
    // A wrong R_c alone.
    let mut bad = window.to_vec();
    bad[CODE_AT + 8] ^= 0x01;
    reject(l1, "a wrong R_c", &bad);
    // A wrong length.
    let mut bad = window.to_vec();
    bad[CODE_AT + 7] ^= 0x01;
    reject(l1, "a wrong code length", &bad);
    n
}

/// `proof` (encoded) with its code field replaced by `field`.
fn with_field(proof: &[u8], field: &[u8]) -> Vec<u8> {
    let len = u32::from_be_bytes(proof[CODE_AT - 4..CODE_AT].try_into().expect("u32")) as usize;
    let mut out = proof[..CODE_AT - 4].to_vec();
    out.extend((field.len() as u32).to_be_bytes());
    out.extend(field);
    out.extend(&proof[CODE_AT + len..]);
    out
}

/// `absorbCode` on random code (JUMPDESTs, PUSHes whose data hides 0x5b bytes or runs past the
/// end, other bytes; the empty code) keeps the fact the Rust `CodeFact` computes, whose bitmap
/// is revm's jump table (`range_fact::code`'s property test).
#[test]
fn solidity_code_fact_matches_rust_on_random_code() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for k in 0..120 {
        let len = if k == 0 { 0 } else { (next() % 3_000) as usize };
        let code: Vec<u8> = (0..len)
            .map(|_| match next() % 4 {
                0 => 0x5b,
                1 => 0x60 + (next() % 32) as u8,
                _ => next() as u8,
            })
            .collect();
        assert_eq!(feeder.code_fact(&mut l1, keccak256(&code)), B256::ZERO);
        feeder.absorb_code(&mut l1, &code).expect("absorbCode");
        assert_eq!(
            feeder.code_fact(&mut l1, keccak256(&code)),
            CodeFact::of(&code).commitment(),
            "code {k} of {len} bytes"
        );
    }
}

/// Bytes of the forwarded-steps program: a head that runs SLOAD, SSTORE, BALANCE, LOG1, CALL,
/// CREATE and CODECOPYs (short, across the end of the code, long, past the end, empty), then
/// STOP, then non-zero filler to 24,576 bytes (the CODECOPYs read it).
const FORWARDED_LEN: usize = 24_576;

fn forwarded_program() -> Vec<u8> {
    let mut code = vec![
        0x60, 0x01, 0x54, 0x50, // PUSH1 1 SLOAD POP
        0x60, 0x07, 0x60, 0x03, 0x55, // PUSH1 7 PUSH1 3 SSTORE
        0x30, 0x31, 0x50, // ADDRESS BALANCE POP
        0x60, 0xaa, 0x60, 0x20, 0x60, 0x00, 0xa1, // LOG1 of memory [0, 32), topic 0xaa
        // CALL CONTRACT with no value, input or output.
        0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x73,
    ];
    code.extend_from_slice(CONTRACT.as_slice());
    code.extend([0x61, 0xff, 0xff, 0xf1, 0x50]);
    // CREATE of the initcode PUSH1 0 PUSH1 0 RETURN, stored at memory [27, 32).
    code.extend([0x64, 0x60, 0x00, 0x60, 0x00, 0xf3, 0x60, 0x00, 0x52]);
    code.extend([0x60, 0x05, 0x60, 0x1b, 0x60, 0x00, 0xf0, 0x50]);
    // CODECOPY (size, offset, dest pushed in that order).
    let copy = |code: &mut Vec<u8>, size: u16, src: u16, dst: u16| {
        code.push(0x61);
        code.extend(size.to_be_bytes());
        code.push(0x61);
        code.extend(src.to_be_bytes());
        code.push(0x61);
        code.extend(dst.to_be_bytes());
        code.push(0x39);
    };
    copy(&mut code, 100, 1_000, 0x40); // within the code, across word boundaries
    copy(&mut code, 64, (FORWARDED_LEN - 10) as u16, 0); // across the end: zeros after it
    copy(&mut code, 9_000, 3, 0x100); // long: a fact written from R_c
    copy(&mut code, 32, 0xffff, 0); // past the end: zeros, no code word
    copy(&mut code, 0, 5, 0); // empty
    code.push(0x00);
    let mut k = 0u8;
    while code.len() < FORWARDED_LEN {
        k = k.wrapping_add(37);
        code.push(k | 1);
    }
    code
}

/// The name of an opcode the forwarded-steps test measures.
fn op_name(op: u8) -> &'static str {
    match op {
        0x54 => "SLOAD",
        0x55 => "SSTORE",
        0x31 => "BALANCE",
        0xa1 => "LOG1",
        0xf1 => "CALL",
        0xf0 => "CREATE",
        0x39 => "CODECOPY",
        _ => "other",
    }
}

/// [v0.13] The steps that `OneStepVerifier` forwards (storage, account, LOG, CALL, CREATE) and
/// CODECOPY, in 24 KiB of non-zero code, through their code windows: the Rust verifier in full
/// and the Solidity verifier through the window give the same post-state; bad windows are
/// rejected (a flipped code word, a wrong `R_c`, no code fact, another code's window, a copied
/// word flipped, moved or dropped, a range the step does not read).
#[test]
fn solidity_long_code_forwarded_steps_through_code_windows() {
    let mut l1 = L1Verifier::deploy();
    let mut feeder = Feeder::new(&mut l1);
    let code = forwarded_program();
    let case = Case::program(&code);
    let mut steps = Vec::new();
    run(&case, |_, state| {
        let pre = state.record.commitment();
        if let Ok((proof, _)) = prove(state) {
            steps.push((pre, proof));
        }
    });
    // No code fact yet: the first forwarded step (the SLOAD) through OneStepVerifier, and
    // through WorldStepVerifier called directly by an account that names no oracle.
    let (pre, proof) = steps
        .iter()
        .find(|(_, p)| p.code.get(p.pre.pc as usize) == Some(&0x54))
        .expect("an SLOAD step");
    let window = range_fact::code_form(proof, &proof.encode(), LONG_CODE).expect("a window");
    let missing = Answer::Revert("RangeFactMissing(bytes32)".into());
    assert_eq!(
        l1.verify(*pre, &window).0,
        missing,
        "SLOAD before the code fact"
    );
    let (result, _) = l1.call(worldStepsCall {}.abi_encode());
    let world = match result {
        ExecutionResult::Success { output, .. } => {
            worldStepsCall::abi_decode_returns(output.data()).expect("address")
        }
        other => panic!("worldSteps(): {other:?}"),
    };
    let direct = stepCall {
        preCommitment: *pre,
        proof: Bytes::copy_from_slice(&window),
    }
    .abi_encode();
    feeder.absorb_code(&mut l1, &code).expect("absorbCode");
    let (result, _) = l1.call_to(world, direct);
    assert_eq!(
        answer_of(&result),
        missing,
        "WorldStepVerifier called directly"
    );
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut tampered = 0usize;
    let mut worst = 0u64;
    for (k, (pre, proof)) in steps.iter().enumerate() {
        if proof.code != code || proof.pre.status != fraud_vm::state::Status::Running {
            continue;
        }
        let rust = verify(*pre, proof).expect("the Rust verifier takes it");
        let full = proof.encode();
        let op = code.get(proof.pre.pc as usize).copied().unwrap_or(0);
        // The long CODECOPY's fact (its WRITE from R_c) first, as the challenger sends it.
        let ranged = match range_fact::l1_form(proof, range_fact::LONG_WORDS) {
            Some(l1_proof) => {
                for plan in &l1_proof.jobs {
                    feeder.run(&mut l1, plan);
                }
                l1_proof.bytes
            }
            None => full.clone(),
        };
        let window = range_fact::code_form(proof, &ranged, LONG_CODE).expect("a window");
        // The Rust verifier refuses a window: its bytes do not hash to the code hash.
        let decoded = fraud_vm::StepProof::decode(&window);
        assert!(
            decoded.is_err() || verify(*pre, &decoded.expect("decoded")).is_err(),
            "step {k}: the Rust verifier took a window"
        );
        let (answer, full_gas) = l1.verify(*pre, &ranged);
        assert_eq!(answer, Answer::Post(rust), "step {k} in full");
        let (answer, gas) = l1.verify(*pre, &window);
        assert_eq!(
            answer,
            Answer::Post(rust),
            "step {k} ({}) through its window",
            op_name(op)
        );
        let name = op_name(op);
        if name != "other" {
            *seen.entry(name).or_default() += 1;
            worst = worst.max(gas);
            println!(
                "{name} (pc {}): in full {full_gas} gas ({} bytes), window {gas} gas ({} bytes)",
                proof.pre.pc,
                ranged.len(),
                window.len()
            );
        }
        tampered += bad_windows(&mut l1, *pre, &window, proof, &mut feeder);
    }
    for name in [
        "SLOAD", "SSTORE", "BALANCE", "LOG1", "CALL", "CREATE", "CODECOPY",
    ] {
        assert!(seen.contains_key(name), "no {name} step: {seen:?}");
    }
    assert_eq!(seen["CODECOPY"], 5, "{seen:?}");
    println!(
        "forwarded steps and CODECOPY in {} bytes: worst through the window {worst} gas; {tampered} bad windows rejected",
        code.len()
    );
    assert!(worst < 1_000_000, "{worst} gas");
}
