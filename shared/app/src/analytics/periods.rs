//! A report's days cut into weeks or months: each period's counters are the sums of its days
//! within the report's range (a period cut by either end of the range says so by its `from`
//! and `to`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, Granularity, add_into};

use super::AnalyticsReport;

/// The counters of one period of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2026-12-07`, `2026-W50` or `2026-12`.
    pub label: String,
    /// The first and the last day of the period within the range.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub counters: BTreeMap<Counter, i64>,
}

/// The report's days (in order, one per day of the range) grouped by `granularity`.
pub fn periods(report: &AnalyticsReport, granularity: Granularity) -> Vec<Period> {
    let mut out: Vec<Period> = vec![];
    for (day, counters) in &report.days {
        match out.last_mut() {
            Some(period) if granularity.start_of(period.from) == granularity.start_of(*day) => {
                period.to = *day;
                add_into(&mut period.counters, counters);
            }
            _ => out.push(Period {
                label: granularity.label(*day),
                from: *day,
                to: *day,
                counters: counters.clone(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(from: &str, days: usize) -> AnalyticsReport {
        let from: NaiveDate = from.parse().unwrap();
        let days: Vec<(NaiveDate, BTreeMap<Counter, i64>)> = (0..days)
            .map(|n| {
                let day = from + chrono::Days::new(n as u64);
                (day, BTreeMap::from([(Counter::Created, n as i64 + 1)]))
            })
            .collect();
        AnalyticsReport {
            from: days[0].0,
            to: days[days.len() - 1].0,
            totals: BTreeMap::new(),
            open: BTreeMap::new(),
            overdue: None,
            days,
            histograms: BTreeMap::new(),
        }
    }

    #[test]
    fn weeks_and_months_sum_their_days_within_the_range() {
        // Thursday 2026-11-26 to Wednesday 2026-12-09: 14 days, counts 1 to 14.
        let report = report("2026-11-26", 14);
        let weeks = periods(&report, Granularity::Week);
        let summary: Vec<(&str, String, String, i64)> = weeks
            .iter()
            .map(|p| {
                (
                    p.label.as_str(),
                    p.from.to_string(),
                    p.to.to_string(),
                    p.counters[&Counter::Created],
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "2026-W48",
                    "2026-11-26".into(),
                    "2026-11-29".into(),
                    1 + 2 + 3 + 4
                ),
                (
                    "2026-W49",
                    "2026-11-30".into(),
                    "2026-12-06".into(),
                    (5..=11).sum()
                ),
                (
                    "2026-W50",
                    "2026-12-07".into(),
                    "2026-12-09".into(),
                    12 + 13 + 14
                ),
            ]
        );
        let months = periods(&report, Granularity::Month);
        assert_eq!(months.len(), 2);
        assert_eq!(
            (
                months[0].label.as_str(),
                months[0].counters[&Counter::Created]
            ),
            ("2026-11", 15)
        );
        assert_eq!(
            (
                months[1].label.as_str(),
                months[1].counters[&Counter::Created]
            ),
            ("2026-12", 90)
        );
        assert_eq!(periods(&report, Granularity::Day).len(), 14);
    }
}
