//! Sealed month items on moto: four months of events delivered on later and later days (each
//! part timely for its last month and late for the others), with reads in between that seal
//! what became sealable; every report then answers what the day items alone answer, in the
//! in-memory table that never saw a late write. And a seal too large for one update.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use taskpulse_app::analytics::{
    HistoryRead, MAX_COUNTERS_PER_UPDATE, MonthPartition, apply_events_on, plan_reads,
};
use taskpulse_app::memory::MemoryAnalyticsStore;
use taskpulse_app::projections::ProjectionSpec;
use taskpulse_app::{AnalyticsReport, RollUpMonths, analytics_report, periods};
use taskpulse_domain::analytics::{Counter, Granularity, Projection, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, UserId};
use taskpulse_testkit::{HistoryShape, shuffle};

const SPEC: ProjectionSpec = ProjectionSpec {
    version: ProjectionVersion::FIRST,
    projection: Projection::TasksV3,
};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn read(from: &str, to: &str, granularity: Granularity, today: &str) -> HistoryRead {
    HistoryRead {
        from: day(from),
        to: day(to),
        granularity,
        today: day(today),
    }
}

fn answer(report: &AnalyticsReport, granularity: Granularity) -> String {
    let rows: Vec<String> = periods(report, granularity)
        .iter()
        .map(|p| format!("{} {:?}", p.label, p.counters))
        .collect();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{}",
        report.totals,
        report.open,
        report.overdue,
        report.histograms,
        rows.join("\n")
    )
}

#[tokio::test]
async fn month_items_on_moto_answer_what_the_days_answer_with_late_writes_around_every_seal() {
    let (_stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    let store = &pipeline.analytics;
    let days_only = MemoryAnalyticsStore::default();
    // 2026-11-20 to about 2027-03-20.
    let mut events: Vec<EventEnvelope> = HistoryShape::workload(5, 240, 120).generate().events;
    shuffle(&mut events, 11);
    let parts: Vec<&[EventEnvelope]> = events.chunks(events.len() / 4 + 1).collect();
    let todays = ["2027-01-10", "2027-02-20", "2027-04-30", "2027-06-01"];
    let scopes: Vec<Scope> = (0..5)
        .map(|i| Scope::User(UserId::parse(&format!("user-{i:05}")).unwrap()))
        .chain([Scope::Global])
        .collect();
    for (part, today) in parts.iter().zip(todays) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let counted =
            apply_events_on(store, SPEC, *part, &pipeline.limits, deadline, day(today)).await;
        assert!(counted.failed.is_empty(), "{:?}", counted.failed);
        let reference = apply_events_on(
            &days_only,
            SPEC,
            *part,
            &pipeline.limits,
            deadline,
            day("2026-11-01"),
        )
        .await;
        assert!(reference.failed.is_empty(), "{:?}", reference.failed);
        for scope in &scopes {
            let read = read("2026-11-01", "2027-03-31", Granularity::Month, today);
            analytics_report(store, SPEC, scope, read).await.unwrap();
        }
    }
    let ranges = [
        ("2026-11-01", "2027-03-31", Granularity::Month),
        ("2026-12-15", "2027-03-10", Granularity::Month),
        ("2027-01-01", "2027-03-20", Granularity::Day),
        ("2026-12-20", "2027-02-14", Granularity::Week),
    ];
    for scope in &scopes {
        for (from, to, granularity) in ranges {
            let sealed = analytics_report(
                store,
                SPEC,
                scope,
                read(from, to, granularity, "2027-06-01"),
            )
            .await
            .unwrap();
            let days = analytics_report(
                &days_only,
                SPEC,
                scope,
                read(from, to, granularity, "2026-11-01"),
            )
            .await
            .unwrap();
            assert_eq!(
                answer(&sealed, granularity),
                answer(&days, granularity),
                "{scope:?} {from}..{to} by {granularity:?}"
            );
            assert!(
                sealed.totals.values().any(|v| *v != 0),
                "{scope:?}: an empty report"
            );
        }
    }
    // Every partition is sealed through March, and a month answer then reads no day item.
    for scope in &scopes {
        for partition in store.month_partitions(SPEC.version, scope) {
            let stored = store
                .read_months(SPEC.version, &partition, true)
                .await
                .unwrap();
            assert_eq!(
                stored.sealed_through,
                Some(day("2027-04-01")),
                "{partition:?}"
            );
            let whole = read("2026-11-01", "2027-03-31", Granularity::Month, "2027-06-01");
            assert!(plan_reads(&stored, whole).1.is_empty(), "{partition:?}");
        }
    }
}

#[tokio::test]
async fn a_seal_of_more_counters_than_one_update_may_move_sets_them_all_and_the_mark_never_goes_back()
 {
    let (_stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    let store = &pipeline.analytics;
    let version = SPEC.version;
    let partition = MonthPartition::Shard(0);
    let month = day("2026-10-01");
    // More due gauges than one update expression may set.
    let counters: BTreeMap<Counter, i64> = (0..400u32)
        .map(|n| (Counter::Due(n), i64::from(n) + 1))
        .collect();
    assert!(counters.len() > MAX_COUNTERS_PER_UPDATE);
    assert!(
        !store
            .seal_month(version, &partition, month, &counters, 1)
            .await
            .unwrap(),
        "a seal expecting a late write that never came is refused"
    );
    assert!(
        store
            .seal_month(version, &partition, month, &counters, 0)
            .await
            .unwrap()
    );
    let stored = store.read_months(version, &partition, true).await.unwrap();
    assert_eq!(stored.months[&month].counters, counters);
    assert!(stored.months[&month].sealed);
    assert!(
        !store
            .seal_month(version, &partition, month, &counters, 0)
            .await
            .unwrap(),
        "sealed once"
    );
    store
        .mark_sealed_through(version, &partition, month)
        .await
        .unwrap();
    store
        .mark_sealed_through(version, &partition, day("2026-08-01"))
        .await
        .unwrap();
    let stored = store.read_months(version, &partition, false).await.unwrap();
    assert_eq!(stored.sealed_through, Some(month));
}
