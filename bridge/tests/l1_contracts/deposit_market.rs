//! The portal's deposit market (fraud-vm/SPEC.md §5.18, CONTRACTS.md): each deposit buys its
//! resource, its gas limit plus 60 per byte of data (`depositResource`); the deposits of one L1
//! block buy at most 10,000,000 in all, each pays its resource at the market's base fee by
//! burning L1 gas, and the base fee follows the blocks' purchases as EIP-1559 does.

use alloy::primitives::{Address, Bytes, U256, address};
use alloy::sol_types::SolCall;

use crate::harness::{IPortal, L1, Outcome, System, USER};

const L2_TARGET: Address = address!("0x3000000000000000000000000000000000000003");
/// The resource the deposits of one L1 block may buy in all.
pub const MAX_RESOURCE_LIMIT: u64 = 10_000_000;
/// The least L2 gas limit of a deposit: `21,000 + 40` per byte of data (OP's `minimumGasLimit`).
pub fn minimum_gas_limit(len: u64) -> u64 {
    21_000 + 40 * len
}
/// What a deposit takes of its L1 block's limit and pays for (the portal's `depositResource`):
/// its gas limit plus 60 per byte of data.
pub fn resource(gas_limit: u64, len: u64) -> u128 {
    u128::from(gas_limit) + 60 * u128::from(len)
}
const TARGET: i128 = 1_000_000;
/// The least (and initial) base fee, wei per unit of L2 gas.
pub const MIN_BASE_FEE: u128 = 1_000_000_000;

/// The deposit market as plain Rust (the model `portal_invariants` checks the portal against):
/// the base fee of the last L1 block with deposits and what they bought there.
#[derive(Debug, Clone)]
pub struct Market {
    fee: u128,
    bought: u64,
    block: u64,
}

impl Market {
    /// The market of a portal deployed in L1 block `block`.
    pub fn new(block: u64) -> Self {
        Self {
            fee: MIN_BASE_FEE,
            bought: 0,
            block,
        }
    }

    /// What a deposit in L1 block `block` (not before the last one) finds: the base fee and the
    /// resource left to buy.
    pub fn at(&self, block: u64) -> (u128, u64) {
        if block == self.block {
            (self.fee, MAX_RESOURCE_LIMIT - self.bought)
        } else {
            (
                next_fee(self.fee, self.bought, block - self.block - 1),
                MAX_RESOURCE_LIMIT,
            )
        }
    }

    /// A deposit of resource `resource` in L1 block `block` went through.
    pub fn buy(&mut self, block: u64, resource: u64) {
        let (fee, remaining) = self.at(block);
        assert!(resource <= remaining, "the model bought over the limit");
        if block != self.block {
            *self = Self {
                fee,
                bought: 0,
                block,
            };
        }
        self.bought += resource;
    }
}

/// A deposit of `gas_limit` L2 gas and `data` to [`L2_TARGET`].
fn deposit(gas_limit: u64, data: &[u8]) -> Bytes {
    IPortal::depositTransactionCall {
        to: L2_TARGET,
        value: U256::ZERO,
        gasLimit: gas_limit,
        isCreation: false,
        data: Bytes::copy_from_slice(data),
    }
    .abi_encode()
    .into()
}

/// Sends [`deposit`] without data from USER with 40,000,000 L1 gas.
fn send(l1: &mut L1, portal: Address, gas_limit: u64) -> Outcome {
    send_data(l1, portal, gas_limit, &[])
}

/// Sends [`deposit`] with `data` from USER with 40,000,000 L1 gas.
fn send_data(l1: &mut L1, portal: Address, gas_limit: u64, data: &[u8]) -> Outcome {
    l1.send_with_gas(
        USER,
        portal,
        U256::ZERO,
        deposit(gas_limit, data),
        40_000_000,
    )
}

/// The base fee a deposit finds after L1 block with base fee `fee` whose deposits bought
/// `bought`, then `empty` blocks without deposits: the model of the portal's `_marketNow`.
fn next_fee(fee: u128, bought: u64, empty: u64) -> u128 {
    let mut f = i128::try_from(fee).expect("small fee");
    f += f * (i128::from(bought) - TARGET) / TARGET / 8;
    for _ in 0..empty {
        if f <= MIN_BASE_FEE as i128 {
            break;
        }
        f -= f / 8;
    }
    u128::try_from(f.max(MIN_BASE_FEE as i128)).expect("positive")
}

fn market(l1: &mut L1, portal: Address) -> (u128, u64) {
    let m = l1.view(portal, IPortal::depositMarketCall {});
    (m.baseFee, m.remaining)
}

/// A deposit over what the L1 block's deposits may still buy reverts with
/// `OptimismPortal_DepositLimitReached(gasLimit, remaining)`, also after many small deposits;
/// the next L1 block buys again.
#[test]
fn a_deposit_over_the_blocks_limit_reverts() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    l1.warp(12);
    assert_eq!(
        market(&mut l1, sys.portal),
        (MIN_BASE_FEE, MAX_RESOURCE_LIMIT)
    );
    assert!(send(&mut l1, sys.portal, 9_990_000).is_success());
    assert_eq!(market(&mut l1, sys.portal).1, 10_000);
    let over = send(&mut l1, sys.portal, 21_000);
    assert_eq!(over.reverted(), "OptimismPortal_DepositLimitReached");
    let Outcome::Revert(data) = over else {
        unreachable!()
    };
    // The error names the gas limit asked for and what is left.
    assert_eq!(data.len(), 68);
    assert_eq!(U256::from_be_slice(&data[4..36]), U256::from(21_000));
    assert_eq!(U256::from_be_slice(&data[36..68]), U256::from(10_000));
    // A gas limit over the whole limit is refused as too high in any block.
    assert_eq!(
        send(&mut l1, sys.portal, MAX_RESOURCE_LIMIT + 1).reverted(),
        "OptimismPortal_GasLimitTooHigh"
    );

    // The next L1 block: minimal deposits until the limit, 476 of them (476 · 21,000 ≤ 10^7).
    l1.warp(12);
    let mut count = 0;
    while send(&mut l1, sys.portal, 21_000).is_success() {
        count += 1;
    }
    assert_eq!(count, MAX_RESOURCE_LIMIT / 21_000);
    assert_eq!(
        send(&mut l1, sys.portal, 21_000).reverted(),
        "OptimismPortal_DepositLimitReached"
    );
    l1.warp(12);
    assert!(send(&mut l1, sys.portal, 21_000).is_success());
}

/// The base fee: unchanged within an L1 block, up by (bought − target)/target/8 of itself after
/// a block whose deposits bought more than the target (1,000,000), the same after a block at
/// the target, down after a block below it and by 1/8 per block without deposits, never under
/// 1 gwei; `params` holds the state the next block's fee is derived from.
#[test]
fn the_base_fee_rises_under_full_blocks_and_falls_back() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    l1.warp(12);
    let mut fee = MIN_BASE_FEE;
    // Two full blocks: 1 gwei, then 2.125 gwei, then 4.515625 gwei.
    for _ in 0..2 {
        assert_eq!(market(&mut l1, sys.portal).0, fee);
        assert!(send(&mut l1, sys.portal, MAX_RESOURCE_LIMIT).is_success());
        let p = l1.view(sys.portal, IPortal::paramsCall {});
        assert_eq!(
            (p.prevBaseFee, p.prevBoughtGas, p.prevBlockNum),
            (fee, MAX_RESOURCE_LIMIT, l1.number())
        );
        l1.warp(12);
        fee = next_fee(fee, MAX_RESOURCE_LIMIT, 0);
    }
    assert_eq!(fee, 4_515_625_000);
    assert_eq!(market(&mut l1, sys.portal), (fee, MAX_RESOURCE_LIMIT));
    // A block at the target keeps the fee.
    assert!(send(&mut l1, sys.portal, 1_000_000).is_success());
    l1.warp(12);
    assert_eq!(market(&mut l1, sys.portal).0, fee);
    // A block below the target lowers it; then each empty block by 1/8.
    assert!(send(&mut l1, sys.portal, 100_000).is_success());
    let below = next_fee(fee, 100_000, 0);
    assert!(below < fee);
    for empty in 0..4 {
        l1.warp(12);
        let expected = next_fee(fee, 100_000, empty);
        assert_eq!(
            market(&mut l1, sys.portal).0,
            expected,
            "{empty} empty blocks"
        );
    }
    // Back to the minimum after enough empty blocks, and not below it.
    l1.advance(100);
    assert_eq!(market(&mut l1, sys.portal).0, MIN_BASE_FEE);
    assert!(send(&mut l1, sys.portal, 21_000).is_success());
    let p = l1.view(sys.portal, IPortal::paramsCall {});
    assert_eq!((p.prevBaseFee, p.prevBoughtGas), (MIN_BASE_FEE, 21_000));
}

/// A deposit burns `gasLimit · baseFee / max(block.basefee, 1 gwei)` L1 gas: two deposits that
/// differ only in their gas limit, each the first of its block at the same base fee, differ by
/// that much L1 gas (within 100: the burn loop's step, the fee update's branches); at a raised base fee the burn rises with it. A
/// deposit given its measured gas goes through; given less, it runs out of gas and leaves no
/// event and no purchase.
#[test]
fn a_deposit_burns_l1_gas_as_priced() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let first_of_block = |l1: &mut L1, gas_limit: u64| {
        l1.warp(12);
        let fee = market(l1, sys.portal).0;
        assert!(send(l1, sys.portal, gas_limit).is_success());
        (fee, l1.last_gas_used)
    };
    // Gas limits of one nonzero byte each, so that their calldata costs the same.
    let (fee_a, small) = first_of_block(&mut l1, 0x01_0000);
    let (fee_b, large) = first_of_block(&mut l1, 0x90_0000);
    assert_eq!((fee_a, fee_b), (MIN_BASE_FEE, MIN_BASE_FEE));
    let priced = 0x90_0000 - 0x01_0000;
    let burned = large - small;
    println!("burned {burned} L1 gas for {priced} more L2 gas at 1 gwei");
    assert!(
        burned.abs_diff(priced) < 100,
        "burned {burned}, priced {priced}"
    );

    // After a full block the fee is 2.125 gwei: the burn of 65,536 L2 gas is 139,264 L1 gas,
    // 73,728 more than at 1 gwei (the fee back at its minimum first).
    l1.advance(100);
    assert!(send(&mut l1, sys.portal, MAX_RESOURCE_LIMIT).is_success());
    let (fee_c, raised) = first_of_block(&mut l1, 0x01_0000);
    assert_eq!(fee_c, 2_125_000_000);
    let extra = 73_728;
    assert!(
        (raised - small).abs_diff(extra) < 100,
        "raised {raised}, at the minimum {small}, priced extra {extra}"
    );

    // Enough L1 gas: it goes through; 1,000 less: out of gas, nothing bought, no event.
    l1.advance(100);
    let before = l1.snapshot();
    let gas_limit = 0x10_0000;
    let ok = l1.send_with_gas(
        USER,
        sys.portal,
        U256::ZERO,
        deposit(gas_limit, &[]),
        40_000_000,
    );
    assert!(ok.is_success());
    let needed = l1.last_gas_used;
    l1.restore(before);
    let short = l1.send_with_gas(
        USER,
        sys.portal,
        U256::ZERO,
        deposit(gas_limit, &[]),
        needed - 1_000,
    );
    assert!(matches!(short, Outcome::Halt(_)), "{short:?}");
    assert_eq!(market(&mut l1, sys.portal).1, MAX_RESOURCE_LIMIT);
    let ok = l1.send_with_gas(
        USER,
        sys.portal,
        U256::ZERO,
        deposit(gas_limit, &[]),
        needed,
    );
    assert!(ok.is_success(), "{ok:?}");
    assert_eq!(
        market(&mut l1, sys.portal).1,
        MAX_RESOURCE_LIMIT - gas_limit
    );
}

/// A deposit with data buys its resource, its gas limit plus 60 per byte (`depositResource`),
/// not its gas limit: OP's least gas limit for 1,000 bytes (21,000 + 40 · 1,000 = 61,000) takes
/// 121,000 of the block's 10,000,000; a deposit whose gas limit fits what is left but whose
/// resource does not is refused with `OptimismPortal_DepositLimitReached(resource, remaining)`;
/// and the burn is priced on the resource (at 2.125 gwei, 1.125 · 121,000 more L1 gas than at
/// 1 gwei, where a burn priced on the gas limit would be 1.125 · 61,000 more).
#[test]
fn a_deposit_buys_its_gas_limit_and_60_per_byte() {
    let mut l1 = L1::new();
    let sys = System::deploy(&mut l1);
    let data = vec![0xa5u8; 1_000];
    let gas_limit = minimum_gas_limit(1_000);
    assert_eq!(gas_limit, 61_000);
    let min = l1.view(sys.portal, IPortal::minimumGasLimitCall::new((1_000u64,)));
    assert_eq!(min, gas_limit);
    let bought = l1.view(
        sys.portal,
        IPortal::depositResourceCall::new((gas_limit, 1_000u64)),
    );
    assert_eq!(bought, U256::from(resource(gas_limit, 1_000)));
    assert_eq!(bought, U256::from(121_000));

    l1.warp(12);
    assert!(send_data(&mut l1, sys.portal, gas_limit, &data).is_success());
    let at_minimum = l1.last_gas_used;
    assert_eq!(
        market(&mut l1, sys.portal),
        (MIN_BASE_FEE, MAX_RESOURCE_LIMIT - 121_000)
    );
    // Leave 120,999: a 61,000 gas limit fits, its 121,000 resource does not.
    assert!(send(&mut l1, sys.portal, MAX_RESOURCE_LIMIT - 121_000 - 120_999).is_success());
    let over = send_data(&mut l1, sys.portal, gas_limit, &data);
    assert_eq!(over.reverted(), "OptimismPortal_DepositLimitReached");
    let Outcome::Revert(revert) = over else {
        unreachable!()
    };
    assert_eq!(U256::from_be_slice(&revert[4..36]), U256::from(121_000));
    assert_eq!(U256::from_be_slice(&revert[36..68]), U256::from(120_999));
    // One byte less, with 59 gas more than its least (60,960), fills exactly what is left:
    // 61,019 + 60 · 999 = 120,999.
    assert!(send_data(&mut l1, sys.portal, 120_999 - 60 * 999, &data[..999]).is_success());
    assert_eq!(market(&mut l1, sys.portal).1, 0);

    // Base fee 2.125 gwei after a full block (the one before is full as well: back to the
    // minimum first).
    l1.advance(100);
    assert!(send(&mut l1, sys.portal, MAX_RESOURCE_LIMIT).is_success());
    l1.warp(12);
    assert_eq!(market(&mut l1, sys.portal).0, 2_125_000_000);
    assert!(send_data(&mut l1, sys.portal, gas_limit, &data).is_success());
    let extra = l1.last_gas_used - at_minimum;
    let priced = 121_000 * 1_125 / 1_000;
    println!("burned {extra} more L1 gas at 2.125 gwei, priced {priced} on the resource");
    assert!(
        extra.abs_diff(priced) < 100,
        "extra {extra}, priced {priced}"
    );
}
