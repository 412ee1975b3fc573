//! When the consumer stops retrying: early enough before the invocation's deadline to answer
//! SQS with the records that failed. Past its timeout an invocation fails as a whole and every
//! record of the batch comes back, the applied ones included.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Retries stop this long before the invocation's deadline, leaving time to answer.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

/// The instant to stop retrying in an invocation whose deadline is `deadline_epoch_ms` (epoch
/// milliseconds, as the Lambda runtime API gives it).
pub fn retry_deadline_at_epoch_ms(deadline_epoch_ms: u64) -> Instant {
    retry_deadline_after(remaining(deadline_epoch_ms, now_epoch_ms()))
}

/// The instant to stop retrying in an invocation that ends `timeout` from now.
pub fn retry_deadline_after(timeout: Duration) -> Instant {
    Instant::now() + retry_budget(timeout)
}

/// How long retries may go on in an invocation with `timeout` left: all but the margin.
fn retry_budget(timeout: Duration) -> Duration {
    timeout.saturating_sub(ANSWER_MARGIN)
}

/// The time from `now_epoch_ms` to `deadline_epoch_ms`; none once the deadline has passed.
fn remaining(deadline_epoch_ms: u64, now_epoch_ms: u64) -> Duration {
    Duration::from_millis(deadline_epoch_ms.saturating_sub(now_epoch_ms))
}

fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_leave_the_margin_and_never_go_negative() {
        assert_eq!(
            retry_budget(Duration::from_secs(30)),
            Duration::from_millis(28_500)
        );
        assert_eq!(retry_budget(Duration::from_millis(1500)), Duration::ZERO);
        assert_eq!(retry_budget(Duration::from_millis(200)), Duration::ZERO);
        assert_eq!(remaining(10_000, 4_000), Duration::from_secs(6));
        assert_eq!(remaining(4_000, 10_000), Duration::ZERO, "already past");
    }

    #[test]
    fn both_deadlines_lie_the_margin_before_the_end() {
        let before = Instant::now();
        let after_timeout = retry_deadline_after(Duration::from_secs(10));
        let at_epoch = retry_deadline_at_epoch_ms(now_epoch_ms() + 10_000);
        let after = Instant::now();
        for deadline in [after_timeout, at_epoch] {
            // The epoch clock counts whole milliseconds: allow one.
            assert!(deadline + Duration::from_millis(1) >= before + Duration::from_millis(8_500));
            assert!(deadline <= after + Duration::from_millis(8_500));
        }
        assert!(
            retry_deadline_at_epoch_ms(0) <= Instant::now(),
            "a passed deadline"
        );
    }
}
