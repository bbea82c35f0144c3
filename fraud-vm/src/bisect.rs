//! The bisection game, pure and off-chain (SPEC.md §8): the same search serves layer 1 (positions
//! are L2 block numbers, commitments are output roots) and layer 2 (positions are step indices of
//! one block, commitments are machine state commitments).

use alloy::primitives::B256;
use thiserror::Error;

/// Why a bisection cannot start or continue.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BisectError {
    /// The range must hold at least one step: `agreed < disputed`.
    #[error("empty range: agreed {agreed} is not below disputed {disputed}")]
    EmptyRange {
        /// Last agreed position.
        agreed: u64,
        /// First disputed position.
        disputed: u64,
    },
    /// A move was answered after the game reached a single step.
    #[error("the game already reached a single step")]
    Finished,
}

/// The state of a bisection: the parties agree on the commitment at `agreed` and disagree on
/// the one at `disputed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bisection {
    agreed: u64,
    disputed: u64,
    moves: u32,
}

impl Bisection {
    /// A game over `(agreed, disputed]`.
    pub fn new(agreed: u64, disputed: u64) -> Result<Self, BisectError> {
        if agreed >= disputed {
            return Err(BisectError::EmptyRange { agreed, disputed });
        }
        Ok(Self {
            agreed,
            disputed,
            moves: 0,
        })
    }

    /// The position asked next, `⌊(agreed + disputed) / 2⌋`, or `None` once
    /// `disputed = agreed + 1`: then the one-step proof of step `agreed` decides.
    pub fn next_position(&self) -> Option<u64> {
        (self.disputed - self.agreed > 1).then(|| self.agreed + (self.disputed - self.agreed) / 2)
    }

    /// Records whether the challenger agrees with the defender's commitment at
    /// [`Self::next_position`].
    pub fn answer(&mut self, agree: bool) -> Result<(), BisectError> {
        let mid = self.next_position().ok_or(BisectError::Finished)?;
        if agree {
            self.agreed = mid;
        } else {
            self.disputed = mid;
        }
        self.moves += 1;
        Ok(())
    }

    /// Last agreed position.
    pub fn agreed(&self) -> u64 {
        self.agreed
    }

    /// First disputed position.
    pub fn disputed(&self) -> u64 {
        self.disputed
    }

    /// Moves answered so far.
    pub fn moves(&self) -> u32 {
        self.moves
    }
}

/// Plays the whole game between a defender's claims and the honest commitments, both given as
/// functions of the position (each answer re-executes to that position; nothing is held), and
/// returns the finished game: the step `agreed() → agreed() + 1` is the first on which they differ.
///
/// The caller must have checked `honest(agreed) == claimed(agreed)` and
/// `honest(disputed) != claimed(disputed)`.
pub fn find_first_difference(
    agreed: u64,
    disputed: u64,
    mut honest: impl FnMut(u64) -> B256,
    mut claimed: impl FnMut(u64) -> B256,
) -> Result<Bisection, BisectError> {
    let mut game = Bisection::new(agreed, disputed)?;
    while let Some(mid) = game.next_position() {
        game.answer(honest(mid) == claimed(mid))?;
    }
    Ok(game)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commitment(pos: u64, diverged: bool) -> B256 {
        let mut b = B256::ZERO;
        b.0[..8].copy_from_slice(&pos.to_be_bytes());
        b.0[31] = u8::from(diverged);
        b
    }

    #[test]
    fn finds_every_divergence_in_log_moves() {
        for n in [1u64, 2, 3, 7, 8, 1000, 1 << 20] {
            for first_bad in [1, n / 3 + 1, n / 2 + 1, n] {
                let game = find_first_difference(
                    0,
                    n,
                    |p| commitment(p, false),
                    |p| commitment(p, p >= first_bad),
                )
                .expect("non-empty");
                assert_eq!(game.agreed() + 1, first_bad);
                assert_eq!(game.disputed(), first_bad);
                let ceil_log2 = if n <= 1 {
                    0
                } else {
                    64 - (n - 1).leading_zeros()
                };
                assert!(game.moves() <= ceil_log2);
            }
        }
    }

    #[test]
    fn a_thousand_block_dispute_takes_ten_moves() {
        let game = find_first_difference(
            0,
            1000,
            |p| commitment(p, false),
            |p| commitment(p, p >= 617),
        )
        .expect("non-empty");
        assert_eq!(game.moves(), 10);
        assert_eq!(game.agreed(), 616);
    }

    #[test]
    fn empty_and_finished_games_are_errors() {
        assert!(Bisection::new(5, 5).is_err());
        let mut g = Bisection::new(5, 6).expect("one step");
        assert_eq!(g.next_position(), None);
        assert_eq!(g.answer(true), Err(BisectError::Finished));
    }
}
