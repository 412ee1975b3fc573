//! The durations the simulator recounts for the `tasks-v2` percentiles (each completed task's
//! lead time, each delay's length, from the answers the API gave), and the check of the
//! percentiles the analytics answer against them: each answered quantile must be within the
//! stated relative error of the exact nearest-rank duration.

use std::collections::BTreeMap;

use serde_json::Value;
use taskpulse_domain::analytics::HISTOGRAM_RELATIVE_ERROR;

/// The histograms the analytics answer percentiles of.
pub const LEAD_TIME: &str = "leadTimeSeconds";
pub const DELAY: &str = "delaySeconds";
const HISTOGRAMS: [&str; 2] = [LEAD_TIME, DELAY];
/// The quantiles answered, by name.
const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)];
/// The answer rounds to hundredths of a second.
const ROUNDING: f64 = 0.005;

/// The `q`-quantile of `sorted` by nearest rank: the ⌈q·n⌉-th smallest.
fn nearest_rank(sorted: &[u64], q: f64) -> Option<u64> {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}

/// What differs between the durations recounted and the percentiles `answer` gives.
pub(crate) fn percentile_differences(
    durations: &BTreeMap<&'static str, Vec<u64>>,
    answer: &Value,
) -> Vec<String> {
    let mut out = vec![];
    for histogram in HISTOGRAMS {
        let mut sorted = durations.get(histogram).cloned().unwrap_or_default();
        sorted.sort_unstable();
        let answered = &answer["percentiles"][histogram];
        if answered["count"].as_u64() != Some(sorted.len() as u64) {
            out.push(format!(
                "{histogram}.count expected {}, found {}",
                sorted.len(),
                answered["count"]
            ));
            continue;
        }
        for (name, q) in QUANTILES {
            let exact = nearest_rank(&sorted, q);
            let found = answered[name].as_f64();
            let close = match (exact, found) {
                (None, None) => true,
                (Some(exact), Some(found)) => {
                    let exact = exact as f64;
                    (found - exact).abs() <= exact * HISTOGRAM_RELATIVE_ERROR + ROUNDING
                }
                _ => false,
            };
            if !close {
                out.push(format!(
                    "{histogram}.{name} expected {exact:?} (±{:.1} %), found {}",
                    HISTOGRAM_RELATIVE_ERROR * 100.0,
                    answered[name]
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answered_quantiles_within_the_error_of_the_nearest_rank_pass_and_others_are_named() {
        let durations = BTreeMap::from([(LEAD_TIME, vec![100, 10, 1_000, 50])]);
        let answer = |p50: Value, count: u64| {
            json!({"percentiles": {
                "leadTimeSeconds": {"count": count, "p50": p50, "p90": 1010.0, "p99": 990.0},
                "delaySeconds": {"count": 0, "p50": null, "p90": null, "p99": null}
            }})
        };
        // The 2nd smallest of 4 is 50.
        assert!(percentile_differences(&durations, &answer(json!(51.5), 4)).is_empty());
        let off = percentile_differences(&durations, &answer(json!(60.0), 4));
        assert_eq!(off.len(), 1, "{off:?}");
        assert!(off[0].starts_with("leadTimeSeconds.p50"), "{off:?}");
        let count = percentile_differences(&durations, &answer(json!(50.0), 3));
        assert!(
            count[0].starts_with("leadTimeSeconds.count expected 4"),
            "{count:?}"
        );
        assert_eq!(nearest_rank(&[1, 2, 3], 0.99), Some(3));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }
}
