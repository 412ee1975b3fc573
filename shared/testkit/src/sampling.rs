//! Reproducible orders and summaries of measurements.

use std::time::Duration;

/// Shuffles with a fixed xorshift sequence from `seed`, so a failure is reproducible and
/// benchmark runs are comparable.
pub fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Nearest-rank percentile of sorted samples: the smallest sample that at least `percent`
/// of the samples do not exceed.
pub fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100), Duration::from_millis(100));
        assert_eq!(percentile(&samples[..1], 0), Duration::from_millis(1));
        let thirty = &samples[..30];
        assert_eq!(percentile(thirty, 90), Duration::from_millis(27));
    }

    #[test]
    fn a_shuffle_is_a_fixed_permutation_of_its_seed() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        a.sort();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }
}
