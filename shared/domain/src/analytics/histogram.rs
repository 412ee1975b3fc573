//! Durations kept as counters, for percentiles: a fixed histogram of log-spaced buckets, each
//! bucket one counter, so a histogram over any range of days is the sum of its days' counters
//! (and any order of the same events gives the same histogram).
//!
//! Durations are whole seconds. Bucket 0 holds 0 s; every later bucket holds the seconds from
//! its lower bound `lo` to at most `1.1 × lo`, and stands for the geometric middle of the
//! seconds it holds, which is within 4.9 % of each of them. Up to 9 s a bucket holds one
//! second, exactly. The last bucket, from about 10.8 years on, is open and stands for its
//! lower bound. The bounds are integers computed once (no floating point decides a bucket), so
//! every machine puts a duration in the same bucket.

/// How many buckets a histogram has.
pub const HISTOGRAM_BUCKETS: usize = 188;

/// The most a bucket's value differs from any duration it holds, relative to the duration
/// (except in the open last bucket).
pub const HISTOGRAM_RELATIVE_ERROR: f64 = 0.049;

/// The lower bound of each bucket, in seconds: 0, 1, then `next = ⌊11 × lo / 10⌋ + 1`, so a
/// bucket's seconds run from `lo` to `next - 1` ≤ 1.1 × `lo`.
const LOWER_BOUNDS: [u64; HISTOGRAM_BUCKETS] = {
    let mut bounds = [0u64; HISTOGRAM_BUCKETS];
    bounds[1] = 1;
    let mut b = 2;
    while b < HISTOGRAM_BUCKETS {
        bounds[b] = bounds[b - 1] * 11 / 10 + 1;
        b += 1;
    }
    bounds
};

/// Which duration a histogram counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Histogram {
    /// A completed task's `leadTimeSeconds` (creation → completion).
    LeadTime,
    /// A delay's `delaySeconds` (how far the planned date moved later).
    Delay,
}

impl Histogram {
    pub const ALL: [Histogram; 2] = [Self::LeadTime, Self::Delay];

    /// The prefix of its bucket counters' names (`lt0` … `lt187`): short, as every name is
    /// stored on every counter item that has the bucket.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::LeadTime => "lt",
            Self::Delay => "dl",
        }
    }

    /// The name of its percentiles in the analytics API.
    pub fn name(self) -> &'static str {
        match self {
            Self::LeadTime => "leadTimeSeconds",
            Self::Delay => "delaySeconds",
        }
    }
}

/// The bucket of a duration of `seconds`.
pub fn bucket_of(seconds: u64) -> u8 {
    // The last bound not above `seconds`; bucket 0's bound is 0, so there always is one.
    let bucket = LOWER_BOUNDS.partition_point(|lower| *lower <= seconds) - 1;
    bucket as u8
}

/// The duration bucket `bucket` stands for, in seconds (not always whole: the geometric
/// middle of 10 s and 11 s is 10.49 s, within 4.9 % of both where 10 or 11 would not be).
pub fn bucket_value(bucket: u8) -> f64 {
    let b = usize::from(bucket).min(HISTOGRAM_BUCKETS - 1);
    let lower = LOWER_BOUNDS[b] as f64;
    match LOWER_BOUNDS.get(b + 1) {
        // The geometric middle of the first and the last second it holds.
        Some(next) => (lower * (next - 1) as f64).sqrt(),
        None => lower,
    }
}

/// The `q`-quantile (0 < q ≤ 1) of a histogram given as (bucket, count) pairs in any order,
/// by nearest rank: the value of the bucket holding the ⌈q × n⌉-th smallest duration. `None`
/// for an empty histogram. Negative counts (impossible once every event is applied) count as
/// none.
pub fn quantile(counts: &[(u8, i64)], q: f64) -> Option<f64> {
    let mut sorted: Vec<(u8, u64)> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(b, n)| (*b, *n as u64))
        .collect();
    sorted.sort_unstable();
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (bucket, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(bucket_value(bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_is_within_the_stated_error_of_its_bucket_value() {
        let mut seconds = 1u64;
        while seconds < LOWER_BOUNDS[HISTOGRAM_BUCKETS - 1] {
            let value = bucket_value(bucket_of(seconds));
            let error = (value - seconds as f64).abs() / seconds as f64;
            assert!(error <= HISTOGRAM_RELATIVE_ERROR, "{seconds}: {value}");
            // Every second up to a day, then in growing steps.
            seconds += if seconds < 86_400 { 1 } else { seconds / 997 };
        }
        assert_eq!(bucket_value(bucket_of(0)), 0.0);
        for exact in 1..=9 {
            assert_eq!(
                bucket_value(bucket_of(exact)),
                exact as f64,
                "one second per bucket up to 9 s"
            );
        }
    }

    #[test]
    fn buckets_are_ordered_and_cover_every_duration() {
        assert!(LOWER_BOUNDS.windows(2).all(|w| w[0] < w[1]));
        assert!(
            LOWER_BOUNDS[HISTOGRAM_BUCKETS - 1] > 10 * 365 * 86_400,
            "over ten years"
        );
        assert_eq!(bucket_of(u64::MAX), (HISTOGRAM_BUCKETS - 1) as u8);
        for (b, lower) in LOWER_BOUNDS.iter().enumerate() {
            assert_eq!(usize::from(bucket_of(*lower)), b);
            if b > 0 {
                assert_eq!(usize::from(bucket_of(lower - 1)), b - 1);
            }
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        // 100 durations: 1 s ×50, 60 s ×40, 3,600 s ×9, 86,400 s ×1.
        let counts = [
            (bucket_of(3_600), 9),
            (bucket_of(1), 50),
            (bucket_of(86_400), 1),
            (bucket_of(60), 40),
        ];
        let near = |q: f64, expected: u64| {
            let got = quantile(&counts, q).unwrap();
            assert!(
                (got - expected as f64).abs() <= expected as f64 * HISTOGRAM_RELATIVE_ERROR,
                "q {q}: {got} for {expected}"
            );
        };
        near(0.5, 1);
        near(0.51, 60);
        near(0.9, 60);
        near(0.91, 3_600);
        near(0.99, 3_600);
        near(1.0, 86_400);
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[(3, 0), (4, -1)], 0.5), None);
    }
}
