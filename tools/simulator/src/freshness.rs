//! Freshness: how long after a command was accepted its counter became visible.

use std::time::{Duration, Instant};

/// Per user: when each level of the monotone counters' sum was accepted and first seen.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    pub accepted: Vec<Instant>,
    pub seen: Vec<Instant>,
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&samples[..1], 0.0), Duration::from_millis(1));
        let thirty = &samples[..30];
        assert_eq!(percentile(thirty, 90.0), Duration::from_millis(27));
    }
}
