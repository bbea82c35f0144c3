//! SELFDESTRUCT under EIP-6780 (SPEC.md §5.13). The CALL and CREATE families join this module
//! with the frame steps.

use super::account::to_address;
use super::opcodes::gas::{COLD_SELFDESTRUCT, NEW_ACCOUNT};
use super::{Ctx, Flow, StepResult};
use crate::world::destruct_link;

pub(crate) fn execute(_op: u8, cx: &mut Ctx<'_>) -> StepResult {
    cx.require_non_static()?;
    let beneficiary = to_address(cx.pop()?);
    if cx.touch_account(beneficiary)? {
        cx.charge(u128::from(COLD_SELFDESTRUCT))?;
    }
    let address = cx.pre.address;
    let mut me = cx.account(address)?;
    let balance = me.balance;
    let created = cx.is_created(address)?;
    if beneficiary != address {
        let mut target = cx.account(beneficiary)?;
        if !balance.is_zero() && target.is_empty() {
            cx.charge(u128::from(NEW_ACCOUNT))?;
        }
        if !balance.is_zero() {
            me.balance = alloy::primitives::U256::ZERO;
            target.balance = target.balance.saturating_add(balance);
            cx.set_account(address, &me)?;
            cx.set_account(beneficiary, &target)?;
        }
    } else if created && !balance.is_zero() {
        // A contract created in this transaction that names itself burns its balance.
        me.balance = alloy::primitives::U256::ZERO;
        cx.set_account(address, &me)?;
    }
    if created {
        let world = cx.world()?;
        world.destructs_root = destruct_link(world.destructs_root, address);
    }
    Ok(Flow::Stop)
}

#[cfg(test)]
mod tests {
    use crate::mpt::{BaseAccount, BaseState};
    use crate::proof::{prove, verify};
    use crate::state::{BlockEnv, FrameContext, FullState, Status, TxEnv};
    use crate::step::Halt;
    use crate::world::WorldState;
    use alloy::primitives::{Address, U256};
    use std::sync::Arc;

    const ME: Address = Address::repeat_byte(0xaa);

    /// A frame of `ME` running `code` with one item, `0xbb…bb`, on the stack.
    fn frame(code: Vec<u8>, is_static: bool, created: bool) -> FullState {
        let mut base = BaseState::default();
        base.accounts.insert(
            ME,
            BaseAccount {
                nonce: 1,
                balance: U256::from(50),
                code: code.clone(),
                ..Default::default()
            },
        );
        let mut world = WorldState::at_block_start(Arc::new(base));
        world.start_tx(&[ME], &[]);
        if created {
            world.mark_created(ME);
        }
        let mut s = FullState::new_frame(
            FrameContext {
                gas: 100_000,
                address: ME,
                is_static,
                code,
                ..Default::default()
            },
            TxEnv::default(),
            BlockEnv::default(),
            Default::default(),
            world,
        );
        s.stack
            .push(U256::from_be_slice(Address::repeat_byte(0xbb).as_slice()));
        s.record.stack_root = s.stack.root();
        s.record.stack_len = 1;
        s
    }

    #[test]
    fn state_changes_in_a_static_frame_halt() {
        // SSTORE, TSTORE, LOG0 (two operands: the item and a PUSH0), SELFDESTRUCT.
        for code in [
            vec![0x5f, 0x55],
            vec![0x5f, 0x5d],
            vec![0x5f, 0xa0],
            vec![0xff],
        ] {
            let mut s = frame(code.clone(), true, false);
            if code.len() == 2 {
                // Run the PUSH0 first.
                let (_, t) = prove(&mut s).expect("push0");
                s.stack.push(U256::ZERO);
                s.record = t.post;
            }
            let pre = s.record.commitment();
            let (proof, t) = prove(&mut s).expect("provable");
            assert_eq!(t.halt, Some(Halt::StaticViolation), "{code:02x?}");
            assert_eq!(t.post.status, Status::ExceptionalHalt);
            assert_eq!(verify(pre, &proof), Ok(t.post.commitment()));
        }
    }

    #[test]
    fn selfdestruct_of_a_contract_created_in_this_transaction_is_recorded() {
        for created in [false, true] {
            let mut s = frame(vec![0xff], false, created);
            let pre = s.record.commitment();
            let (proof, t) = prove(&mut s).expect("provable");
            assert_eq!(t.halt, None);
            assert_eq!(t.post.status, Status::Stopped);
            assert_eq!(verify(pre, &proof), Ok(t.post.commitment()));
            // The balance moved to 0xbb…bb (cold, empty: 5000 + 2600 + 25000).
            assert_eq!(s.record.gas - t.post.gas, 5000 + 2600 + 25_000);
            let mut expected = s.world.clone();
            expected.warm_account(Address::repeat_byte(0xbb));
            let mine = expected.account(ME);
            expected.set_account(
                ME,
                crate::world::AccountRecord {
                    balance: U256::ZERO,
                    ..mine
                },
            );
            expected.set_account(
                Address::repeat_byte(0xbb),
                crate::world::AccountRecord {
                    balance: U256::from(50),
                    ..Default::default()
                },
            );
            if created {
                expected.push_destruct(ME);
            }
            assert_eq!(t.post.world_root, expected.commitment());
        }
    }
}
