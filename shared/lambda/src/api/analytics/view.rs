//! The analytics as the API shows them: camelCase counters, derived rates, rows per day, week
//! or month, and percentiles.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use taskpulse_app::{AnalyticsReport, periods};
use taskpulse_domain::analytics::{Counter, Granularity, ProjectionVersion, Scope, quantile};

/// The analytics as the API shows them: camelCase counters, derived rates, one row per day,
/// week or month, percentiles.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnalyticsView {
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// The projection version that answered.
    projection_version: u32,
    from: NaiveDate,
    to: NaiveDate,
    /// `day`, `week` or `month`: how the rows are cut.
    granularity: &'static str,
    totals: Map<String, Value>,
    /// p50, p90 and p99 of each histogram the projection keeps, over the range.
    #[serde(skip_serializing_if = "Map::is_empty")]
    percentiles: Map<String, Value>,
    open_tasks: Map<String, Value>,
    /// Open tasks at the end of `to` whose planned date had passed by then, where the
    /// projection keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    overdue_tasks: Option<i64>,
    /// One row per day (`granularity=day`) or per week or month that the range touches.
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<Vec<Map<String, Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    periods: Option<Vec<Map<String, Value>>>,
}

/// One row per day: its date and its counters.
fn day_rows(report: &AnalyticsReport) -> Vec<Map<String, Value>> {
    report
        .days
        .iter()
        .map(|(day, counters)| {
            let mut row = Map::from_iter([("date".to_owned(), Value::from(day.to_string()))]);
            row.extend(counters_json(counters));
            row
        })
        .collect()
}

/// One row per week or month: its name, its first and last day within the range, its counters.
fn period_rows(report: &AnalyticsReport, granularity: Granularity) -> Vec<Map<String, Value>> {
    periods(report, granularity)
        .into_iter()
        .map(|period| {
            let mut row = Map::from_iter([
                ("period".to_owned(), Value::from(period.label)),
                ("from".to_owned(), Value::from(period.from.to_string())),
                ("to".to_owned(), Value::from(period.to.to_string())),
            ]);
            row.extend(counters_json(&period.counters));
            row
        })
        .collect()
}

/// The quantiles answered of each histogram.
const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)];

/// A histogram's answer: how many durations it counts and its quantiles (`null` when none),
/// each within `HISTOGRAM_RELATIVE_ERROR` of a duration it counts.
fn percentiles_json(counts: &[(u8, i64)]) -> Value {
    let count: i64 = counts.iter().map(|(_, n)| (*n).max(0)).sum();
    let mut answer = Map::from_iter([("count".to_owned(), Value::from(count))]);
    for (name, q) in QUANTILES {
        // Hundredths of a second: fewer digits would move a small value past the stated error
        // (10.49 s, the value of 10 s and 11 s, is 10.5 in tenths: 5 % from 10 s).
        let value = quantile(counts, q).map(|v| (v * 100.0).round() / 100.0);
        answer.insert(name.to_owned(), value.map_or(Value::Null, Value::from));
    }
    Value::Object(answer)
}

fn counters_json(counters: &std::collections::BTreeMap<Counter, i64>) -> Map<String, Value> {
    counters
        .iter()
        .map(|(c, v)| (c.name().into_owned(), Value::from(*v)))
        .collect()
}

impl AnalyticsView {
    pub(super) fn new(
        scope: &Scope,
        version: ProjectionVersion,
        report: &AnalyticsReport,
        granularity: Granularity,
    ) -> Self {
        let get = |c: Counter| report.totals.get(&c).copied().unwrap_or(0);
        let mut totals = counters_json(&report.totals);
        let completed = get(Counter::Completed);
        let ratio = |part: i64| {
            if completed == 0 {
                Value::Null
            } else {
                Value::from(part as f64 / completed as f64)
            }
        };
        totals.insert("onTimeRate".into(), ratio(get(Counter::CompletedOnTime)));
        totals.insert(
            "avgLeadTimeSeconds".into(),
            ratio(get(Counter::LeadTimeSecondsSum)),
        );
        let open = |c: Counter| Value::from(report.open.get(&c).copied().unwrap_or(0));
        let open_tasks = Map::from_iter([
            ("new".to_owned(), open(Counter::OpenNew)),
            ("in_progress".to_owned(), open(Counter::OpenInProgress)),
            ("on_hold".to_owned(), open(Counter::OpenOnHold)),
        ]);
        let (days, periods) = match granularity {
            Granularity::Day => (Some(day_rows(report)), None),
            _ => (None, Some(period_rows(report, granularity))),
        };
        let percentiles = report
            .histograms
            .iter()
            .map(|(histogram, counts)| (histogram.name().to_owned(), percentiles_json(counts)))
            .collect();
        Self {
            scope: match scope {
                Scope::User(_) => "user",
                Scope::Global => "global",
            },
            user_id: match scope {
                Scope::User(user) => Some(user.to_string()),
                Scope::Global => None,
            },
            projection_version: version.number(),
            from: report.from,
            to: report.to,
            granularity: granularity.name(),
            totals,
            percentiles,
            open_tasks,
            overdue_tasks: report.overdue,
            days,
            periods,
        }
    }
}
