use super::*;
use alloy::{consensus::Header, rlp};
use bridge::inbox::{Inbox, InboxConfig, L1Context};
use proptest::prelude::*;
use std::collections::HashMap;

const GENESIS_EPOCH: u64 = 5;

fn header(n: u64) -> Bytes {
    rlp::encode(Header {
        number: n,
        timestamp: 1_000 + 12 * n,
        base_fee_per_gas: Some(7),
        ..Default::default()
    })
    .into()
}

fn tx(seed: usize, len: usize) -> Bytes {
    let mut bytes: Vec<u8> = (0..len.max(1))
        .map(|i| keccak256((seed * 7_919 + i).to_be_bytes())[0])
        .collect();
    if bytes[0] == 0x7e {
        bytes[0] = 0x02;
    }
    bytes.into()
}

/// A sequencer's blocks 1.. over epochs from `GENESIS_EPOCH`: `plan[i]` is (advance the epoch?,
/// transaction lengths).
fn local_blocks(plan: &[(bool, Vec<usize>)]) -> Vec<LocalBlock> {
    let mut epoch = GENESIS_EPOCH;
    let mut seed = 0;
    plan.iter()
        .enumerate()
        .map(|(i, (advance, lens))| {
            if i > 0 && *advance {
                epoch += 1;
            }
            LocalBlock {
                number: i as u64 + 1,
                hash: keccak256((i as u64).to_be_bytes()),
                timestamp: 1_000 + 12 * epoch + 1,
                epoch,
                epoch_hash: keccak256(header(epoch)),
                transactions: lens
                    .iter()
                    .map(|len| {
                        seed += 1;
                        tx(seed, *len)
                    })
                    .collect(),
            }
        })
        .collect()
}

fn config() -> InboxConfig {
    InboxConfig {
        first_block: 1,
        genesis_epoch: GENESIS_EPOCH,
        genesis_timestamp: 1_000,
        seq_window_size: 1_000,
        max_sequencer_drift: 600,
    }
}

fn cursor(inbox: &Inbox) -> InboxCursor {
    let s = inbox.state();
    InboxCursor {
        next_block: s.next_block,
        last_epoch: s.started.then_some(s.epoch),
        open: s.open.as_ref().map(|o| o.tree.count() as u32),
    }
}

proptest! {
    /// Appends planned one after the other, each within its size and item limits, pass the
    /// inbox's rules and record exactly the local blocks, however they are cut.
    #[test]
    fn planned_appends_pass_the_inbox_and_record_the_blocks(
        plan in prop::collection::vec((any::<bool>(), prop::collection::vec(1usize..900, 0..12)), 1..14),
        max_len in 2_000usize..6_000,
        max_blocks in 1usize..6,
    ) {
        let blocks = local_blocks(&plan);
        let hashes: HashMap<u64, B256> = (0..40).map(|n| (n, keccak256(header(n)))).collect();
        let lookup = |n: u64| hashes.get(&n).copied();
        let mut inbox = Inbox::new(config());
        let mut recorded = Vec::new();
        let mut rounds = 0;
        while (recorded.len() as u64) < blocks.len() as u64 {
            rounds += 1;
            prop_assert!(rounds < 1_000, "no progress");
            let c = cursor(&inbox);
            let from = (c.next_block - 1) as usize;
            let planned = plan_append(&c, &blocks[from..], &mut |e| Some(header(e)), max_len, max_blocks).unwrap();
            let data = planned.data.encode();
            prop_assert!(data.len() <= max_len);
            prop_assert!(planned.data.blocks.len() + usize::from(planned.data.continuation.is_some()) <= max_blocks);
            let out = inbox.append(&data, L1Context { number: 30, block_hash: &lookup }).unwrap();
            prop_assert_eq!(planned.closes_through.map(|(n, _)| n), out.blocks.last().map(|b| b.inputs.number));
            prop_assert_eq!(planned.leaves_open.map(|(n, k)| (n, u64::from(k))), inbox.state().open.as_ref().map(|o| (inbox.state().next_block, o.tree.count())));
            recorded.extend(out.blocks);
        }
        for (got, want) in recorded.iter().zip(&blocks) {
            prop_assert_eq!(got.inputs.number, want.number);
            prop_assert_eq!(got.inputs.timestamp, want.timestamp);
            prop_assert_eq!(got.inputs.epoch, want.epoch);
            prop_assert_eq!(got.inputs.epoch_hash, want.epoch_hash);
            prop_assert_eq!(&got.transactions, &want.transactions);
        }
    }
}

#[test]
fn a_transaction_no_append_can_carry_is_reported() {
    let mut blocks = local_blocks(&[(false, vec![10])]);
    blocks[0].transactions[0] = tx(1, 5_000);
    let c = InboxCursor {
        next_block: 1,
        last_epoch: None,
        open: None,
    };
    assert_eq!(
        plan_append(&c, &blocks, &mut |e| Some(header(e)), 2_000, 10),
        Err(PlanError::Oversized {
            number: 1,
            index: 0,
            len: 5_000
        })
    );
    assert_eq!(
        plan_append(&c, &blocks, &mut |_| None, 20_000, 10),
        Err(PlanError::NoHeader(GENESIS_EPOCH))
    );
    assert_eq!(
        plan_append(
            &InboxCursor { next_block: 2, ..c },
            &blocks,
            &mut |e| Some(header(e)),
            20_000,
            10
        ),
        Err(PlanError::NotNext {
            expected: 2,
            got: 1
        })
    );
}
