//! The month items' scenario, run on any counter table (`tests/integration/consumer/months.rs`
//! runs it on moto and in memory): four months of events delivered on later and later days,
//! each part timely for its last month and late for the others, with reads in between that
//! seal what became sealable; then every report must answer what the day items alone answer
//! in an in-memory table that never saw a late write nor a sealable month.

use std::time::Duration;

use chrono::NaiveDate;
use taskpulse_app::analytics::{HistoryRead, apply_events_on, plan_reads};
use taskpulse_app::memory::MemoryAnalyticsStore;
use taskpulse_app::projections::ProjectionSpec;
use taskpulse_app::{
    AnalyticsReport, ApplyTransaction, PlanLimits, RollUpMonths, analytics_report, periods,
};
use taskpulse_domain::analytics::{Granularity, Projection, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, UserId};

use crate::{HistoryShape, shuffle};

/// The projection the scenario counts: every kind of counter, the due gauges included.
pub const MONTHS_SPEC: ProjectionSpec = ProjectionSpec {
    version: ProjectionVersion::FIRST,
    projection: Projection::TasksV3,
};

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

fn read(from: &str, to: &str, granularity: Granularity, today: &str) -> HistoryRead {
    HistoryRead {
        from: day(from),
        to: day(to),
        granularity,
        today: day(today),
    }
}

/// Applies `events` as a consumer on the UTC date `today` would.
async fn deliver(
    store: &impl ApplyTransaction,
    events: &[EventEnvelope],
    limits: &PlanLimits,
    today: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let outcome = apply_events_on(store, MONTHS_SPEC, events, limits, deadline, day(today)).await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

fn assert_same_answer(
    answered: &AnalyticsReport,
    expected: &AnalyticsReport,
    granularity: Granularity,
    context: &str,
) {
    assert_eq!(
        (
            &answered.totals,
            &answered.open,
            answered.overdue,
            &answered.histograms
        ),
        (
            &expected.totals,
            &expected.open,
            expected.overdue,
            &expected.histograms
        ),
        "{context}"
    );
    assert_eq!(
        periods(answered, granularity),
        periods(expected, granularity),
        "{context}"
    );
    assert!(
        answered.totals.values().any(|v| *v != 0),
        "{context}: an empty report"
    );
}

/// Runs the scenario on `store` (empty), planned with `limits`.
pub async fn sealed_months_answer_what_days_answer(
    store: &(impl ApplyTransaction + RollUpMonths),
    limits: &PlanLimits,
) {
    let days_only = MemoryAnalyticsStore::default();
    // Five users' tasks from 2026-11-20 to about 2027-03-20, shuffled.
    let mut events = HistoryShape::workload(5, 120, 120).generate().events;
    shuffle(&mut events, 11);
    let parts: Vec<&[EventEnvelope]> = events.chunks(events.len() / 4 + 1).collect();
    let todays = ["2027-01-10", "2027-02-20", "2027-04-30", "2027-06-01"];
    let scopes: Vec<Scope> = (0..5)
        .map(|i| Scope::User(UserId::parse(&format!("user-{i:05}")).expect("a user id")))
        .chain([Scope::Global])
        .collect();
    for (part, today) in parts.iter().zip(todays) {
        deliver(store, part, limits, today).await;
        deliver(&days_only, part, limits, "2026-11-01").await;
        for scope in &scopes {
            let read = read("2026-11-01", "2027-03-31", Granularity::Month, today);
            analytics_report(store, MONTHS_SPEC, scope, read)
                .await
                .expect("a report");
        }
    }
    let ranges = [
        ("2026-11-01", "2027-03-31", Granularity::Month),
        ("2026-12-15", "2027-03-10", Granularity::Month),
        ("2027-01-01", "2027-03-20", Granularity::Day),
        ("2026-12-20", "2027-02-14", Granularity::Week),
        ("2027-02-01", "2027-02-28", Granularity::Month),
    ];
    for scope in &scopes {
        for (from, to, granularity) in ranges {
            let sealed = read(from, to, granularity, "2027-06-01");
            let answered = analytics_report(store, MONTHS_SPEC, scope, sealed)
                .await
                .expect("a report");
            let days = read(from, to, granularity, "2026-11-01");
            let expected = analytics_report(&days_only, MONTHS_SPEC, scope, days)
                .await
                .expect("a report");
            let context = format!("{scope:?} {from}..{to} by {granularity:?}");
            assert_same_answer(&answered, &expected, granularity, &context);
        }
    }
    // The reads did take months whole: every partition with days is sealed through April (the
    // last month sealable on 2027-06-01), and a month answer reads no day item.
    for scope in &scopes {
        for partition in store.month_partitions(MONTHS_SPEC.version, scope) {
            let days = store
                .read_partition_days(
                    MONTHS_SPEC.version,
                    &partition,
                    None,
                    day("2027-12-31"),
                    true,
                )
                .await
                .expect("day items");
            if days.is_empty() {
                // A shard no event reached.
                continue;
            }
            let stored = store
                .read_months(MONTHS_SPEC.version, &partition, true)
                .await
                .expect("month items");
            assert_eq!(
                stored.sealed_through,
                Some(day("2027-04-01")),
                "{partition:?}"
            );
            // A month before the mark may hold an unsealed item: late writes of a month that
            // had no day when it was sealed, which is all its days hold.
            assert!(
                stored.months.values().any(|m| m.sealed),
                "{partition:?}: {stored:?}"
            );
            let whole = read("2026-11-01", "2027-03-31", Granularity::Month, "2027-06-01");
            assert!(plan_reads(&stored, whole).1.is_empty(), "{partition:?}");
        }
    }
}
