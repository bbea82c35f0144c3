//! viem's withdrawal-status rule (viem 2.x, op-stack/actions/getWithdrawalStatus.ts and
//! getGame.ts), replayed against the contracts: the tests assert the status viem would report.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;

use crate::harness::{IFactory, IGame, IPortal, IRegistry, L1, Outcome, System, revert_name};

/// What viem's `getWithdrawalStatus` (viem 2.x, op-stack/actions/getWithdrawalStatus.ts) returns
/// for a withdrawal passed in L2 block `l2_block`, following its reads and rules step by step: it
/// panics where viem would throw (a revert it does not know).
pub fn viem_status(
    l1: &mut L1,
    sys: &System,
    hash: B256,
    sender: Address,
    l2_block: u64,
) -> &'static str {
    let count = match l1.try_view(sys.portal, IPortal::numProofSubmittersCall::new((hash,))) {
        Outcome::Success { output, .. } => {
            IPortal::numProofSubmittersCall::abi_decode_returns(&output).unwrap()
        }
        _ => U256::from(1),
    };
    // viem reads index count - 1 and falls back to the L2 sender when that reverts.
    let submitter = match count.checked_sub(U256::from(1)) {
        Some(last) => {
            match l1.try_view(sys.portal, IPortal::proofSubmittersCall::new((hash, last))) {
                Outcome::Success { output, .. } => {
                    IPortal::proofSubmittersCall::abi_decode_returns(&output).unwrap()
                }
                _ => sender,
            }
        }
        None => sender,
    };
    if l1.view(sys.portal, IPortal::finalizedWithdrawalsCall::new((hash,))) {
        return "finalized";
    }
    let proven = l1.view(
        sys.portal,
        IPortal::provenWithdrawalsCall::new((hash, submitter)),
    );
    if latest_game(l1, sys, l2_block).is_none() {
        return "waiting-to-prove";
    }
    let errors = match sys.check(l1, hash, submitter) {
        Outcome::Success { .. } => return "ready-to-finalize",
        Outcome::Revert(data) => revert_name(&data),
        Outcome::Halt(reason) => panic!("viem would throw: checkWithdrawal halted ({reason})"),
    };
    if errors == "OptimismPortal_InvalidRootClaim" || errors == "OptimismPortal_ProofNotOldEnough" {
        let registry = l1.view(sys.portal, IPortal::anchorStateRegistryCall {});
        let game = proven.disputeGameProxy;
        let proper = l1.view(registry, IRegistry::isGameProperCall::new((game,)));
        let respected = l1.view(registry, IRegistry::isGameRespectedCall::new((game,)));
        let finalized = l1.view(registry, IRegistry::isGameFinalizedCall::new((game,)));
        if !proper || !respected {
            return "ready-to-prove";
        }
        if !finalized {
            return "waiting-to-finalize";
        }
        if errors == "OptimismPortal_ProofNotOldEnough" {
            return "waiting-to-finalize";
        }
        return "ready-to-prove";
    }
    match errors.as_str() {
        "OptimismPortal_Unproven" | "OptimismPortal_InvalidProofTimestamp" => "ready-to-prove",
        other => panic!("viem would throw: checkWithdrawal reverted with {other}"),
    }
}

/// viem's `getGame`: the newest game of the respected type (among the last 100) whose
/// `l2SequenceNumber` covers `l2_block`, as `(index, address)`.
pub fn latest_game(l1: &mut L1, sys: &System, l2_block: u64) -> Option<(U256, Address)> {
    let count = l1.view(sys.factory, IFactory::gameCountCall {});
    let game_type = l1.view(sys.portal, IPortal::respectedGameTypeCall {});
    let start = count.saturating_sub(U256::from(1));
    let n = count.min(U256::from(100));
    let games = l1.view(
        sys.factory,
        IFactory::findLatestGamesCall::new((game_type, start, n)),
    );
    games.into_iter().find_map(|game| {
        // viem takes the address from the metadata's last 20 bytes.
        let proxy = Address::from_slice(&game.metadata[12..]);
        let number = l1.view(proxy, IGame::l2SequenceNumberCall {});
        (number >= U256::from(l2_block)).then_some((game.index, proxy))
    })
}
