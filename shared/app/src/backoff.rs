//! Exponential backoff with full jitter: the pause before attempt `n + 1` is drawn uniformly
//! from one millisecond up to a ceiling that doubles with every attempt, from `first` up to
//! `longest`. Full jitter spreads racing writers out instead of letting them collide again.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The doubling is capped here so the ceiling never overflows; every backoff reaches its
/// `longest` long before.
const MAX_DOUBLINGS: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first pause (after attempt 0).
    pub first: Duration,
    /// The ceiling never grows beyond this.
    pub longest: Duration,
}

impl Backoff {
    /// The longest pause after `attempt` (counted from 0): `first` doubled `attempt` times, at
    /// most `longest`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(1 << attempt.min(MAX_DOUBLINGS))
            .min(self.longest)
    }

    /// The pause after `attempt` for the random number `random`: whole milliseconds from 1
    /// through the ceiling.
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let ceiling_ms = u64::try_from(self.ceiling(attempt).as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_millis(random % ceiling_ms + 1)
    }

    /// A freshly drawn pause after `attempt`.
    pub fn jittered(&self, attempt: u32) -> Duration {
        self.delay(attempt, RandomState::new().hash_one(attempt))
    }

    /// Sleeps a freshly drawn pause after `attempt`.
    pub async fn sleep(&self, attempt: u32) {
        tokio::time::sleep(self.jittered(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_ceiling_doubles_from_first_up_to_longest() {
        let backoff = Backoff {
            first: 5 * MS,
            longest: 320 * MS,
        };
        let ceilings: Vec<u128> = (0..9).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [5, 10, 20, 40, 80, 160, 320, 320, 320]);
        assert_eq!(backoff.ceiling(u32::MAX), 320 * MS);
        let uneven = Backoff {
            first: 25 * MS,
            longest: Duration::from_secs(1),
        };
        assert_eq!(uneven.ceiling(5), 800 * MS);
        assert_eq!(
            uneven.ceiling(6),
            Duration::from_secs(1),
            "capped, not doubled"
        );
    }

    #[test]
    fn a_delay_is_one_millisecond_up_to_the_ceiling() {
        let backoff = Backoff {
            first: 25 * MS,
            longest: Duration::from_secs(1),
        };
        assert_eq!(backoff.delay(0, 0), MS);
        assert_eq!(backoff.delay(0, 24), 25 * MS);
        assert_eq!(backoff.delay(0, 25), MS, "wraps within the ceiling");
        assert_eq!(backoff.delay(9, 999), Duration::from_secs(1));
        for attempt in 0..40 {
            let drawn = backoff.jittered(attempt);
            assert!(
                MS <= drawn && drawn <= backoff.ceiling(attempt),
                "{drawn:?}"
            );
        }
        let zero = Backoff {
            first: Duration::ZERO,
            longest: Duration::ZERO,
        };
        assert_eq!(zero.delay(3, 12345), MS, "at least a millisecond");
    }

    #[test]
    fn the_formula_matches_the_pauses_of_commands_and_transactions() {
        // What each caller computed before the formula was shared.
        let command = |attempt: u32, random: u64| {
            let ceiling_ms = 5u64 << attempt.min(6);
            Duration::from_millis(random % ceiling_ms + 1)
        };
        let transaction = |attempt: u32, random: u64| {
            let ceiling = (25 * MS)
                .saturating_mul(1 << attempt.min(10))
                .min(Duration::from_secs(1));
            let millis = u64::try_from(ceiling.as_millis()).unwrap_or(1).max(1);
            Duration::from_millis(random % millis + 1)
        };
        let commands = crate::tasks::COMMAND_RETRY_BACKOFF;
        let transactions = crate::analytics::TRANSACTION_RETRY_BACKOFF;
        for attempt in 0..40 {
            for random in [0, 1, 7, 999, 123_456_789, u64::MAX] {
                assert_eq!(commands.delay(attempt, random), command(attempt, random));
                assert_eq!(
                    transactions.delay(attempt, random),
                    transaction(attempt, random)
                );
            }
        }
    }
}
