use std::time::Duration;

use taskpulse_domain::UserId;
use taskpulse_domain::analytics::Projection;

use super::*;
use crate::analytics::{AnalyticsReport, PlanLimits, analytics_report, apply_events_on, periods};
use crate::memory::MemoryAnalyticsStore;
use crate::projections::ProjectionSpec;
use crate::test_events::history;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const SPEC: ProjectionSpec = ProjectionSpec {
    version: ProjectionVersion::FIRST,
    projection: Projection::TasksV3,
};

fn read(from: &str, to: &str, granularity: Granularity, today: &str) -> HistoryRead {
    HistoryRead {
        from: day(from),
        to: day(to),
        granularity,
        today: day(today),
    }
}

fn sealed(through: &str, months: &[&str]) -> StoredMonths {
    StoredMonths {
        months: months
            .iter()
            .map(|m| (day(m), Default::default()))
            .collect(),
        sealed_through: Some(day(through)),
    }
}

#[test]
fn nothing_sealed_reads_every_day() {
    let read = read("2026-01-01", "2026-12-07", Granularity::Month, "2026-12-07");
    let (months, runs) = plan_reads(&StoredMonths::default(), read);
    assert!(months.is_empty());
    assert_eq!(runs, [(None, day("2026-12-07"))]);
}

#[test]
fn a_month_answer_takes_sealed_months_whole_and_reads_the_days_after_them() {
    let stored = sealed(
        "2026-10-01",
        &["2025-12-01", "2026-01-01", "2026-06-01", "2026-10-01"],
    );
    let read = read("2026-01-01", "2026-12-07", Granularity::Month, "2026-12-07");
    let (months, runs) = plan_reads(&stored, read);
    assert_eq!(
        months,
        [
            day("2025-12-01"),
            day("2026-01-01"),
            day("2026-06-01"),
            day("2026-10-01")
        ]
    );
    assert_eq!(runs, [(Some(day("2026-11-01")), day("2026-12-07"))]);
}

#[test]
fn a_day_answer_takes_only_the_months_before_its_range() {
    let stored = sealed("2026-10-01", &["2025-12-01", "2026-03-01", "2026-06-01"]);
    // From mid-March: March is read as days (the gauges need its days before the 10th).
    let read = read("2026-03-10", "2026-12-07", Granularity::Day, "2026-12-07");
    let (months, runs) = plan_reads(&stored, read);
    assert_eq!(months, [day("2025-12-01")]);
    assert_eq!(runs, [(Some(day("2026-03-01")), day("2026-12-07"))]);
    // A month answer starting mid-month reads that month as days, then takes the rest whole.
    let read = HistoryRead {
        granularity: Granularity::Month,
        ..read
    };
    let (months, runs) = plan_reads(&stored, read);
    assert_eq!(months, [day("2025-12-01"), day("2026-06-01")]);
    assert_eq!(
        runs,
        [
            (Some(day("2026-03-01")), day("2026-05-31")),
            (Some(day("2026-11-01")), day("2026-12-07"))
        ]
    );
    // A range ending inside a sealed month reads that month's days up to its end.
    let read = HistoryRead {
        to: day("2026-06-15"),
        ..read
    };
    let (months, runs) = plan_reads(&stored, read);
    assert_eq!(months, [day("2025-12-01")]);
    assert_eq!(runs, [(Some(day("2026-03-01")), day("2026-06-15"))]);
}

/// Applies `events` on `today`, as a consumer would that day.
async fn deliver(
    store: &MemoryAnalyticsStore,
    events: &[taskpulse_domain::EventEnvelope],
    today: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let outcome = apply_events_on(
        store,
        SPEC,
        events,
        &PlanLimits::default(),
        deadline,
        day(today),
    )
    .await;
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

/// What a report answers, without the order of its parts mattering.
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
async fn a_late_write_between_the_reads_of_a_seal_refuses_it_and_the_next_read_seals() {
    let events = history(30, 10);
    let store = MemoryAnalyticsStore::default();
    let month = day("2026-11-01");
    let in_november =
        |e: &&taskpulse_domain::EventEnvelope| month_of(e.occurred_at.date_naive()) == month;
    let (early, late): (Vec<_>, Vec<_>) = events
        .iter()
        .cloned()
        .partition(|e| e.event_id.as_uuid().as_u128() % 2 == 0);
    deliver(&store, &early, "2026-12-05").await;
    let owner = late
        .iter()
        .find(in_november)
        .expect("a late November event")
        .user_id
        .clone();
    let user = MonthPartition::User(owner);
    // The sealer read the month item before the late writes landed: none counted then.
    let before = store.read_months(SPEC.version, &user, true).await.unwrap();
    assert!(before.months.is_empty(), "{before:?}");
    deliver(&store, &late, "2027-01-20").await;
    let after = store.read_months(SPEC.version, &user, true).await.unwrap();
    assert!(after.months[&month].late_writes >= 1, "{after:?}");
    let sealed_on_stale_count = store
        .seal_month(SPEC.version, &user, month, &BTreeMap::new(), 0)
        .await
        .unwrap();
    assert!(
        !sealed_on_stale_count,
        "a seal on a stale count went through"
    );
    // A seal from fresh reads goes through, and the month then holds the sum of its days.
    assert!(
        seal(&store, SPEC.version, &user, day("2027-01-20"))
            .await
            .unwrap()
            >= 1
    );
    let stored = store.read_months(SPEC.version, &user, true).await.unwrap();
    assert_eq!(stored.sealed_through, Some(day("2026-12-01")));
    let days = store
        .read_partition_days(SPEC.version, &user, None, day("2026-11-30"), true)
        .await
        .unwrap();
    let mut sum = BTreeMap::new();
    for (d, counters) in &days {
        add_into(&mut sum, &month_deltas(*d, counters));
    }
    sum.retain(|_, v| *v != 0);
    let mut sealed_month = stored.months[&month].counters.clone();
    sealed_month.retain(|_, v| *v != 0);
    assert!(stored.months[&month].sealed);
    assert!(!sum.is_empty());
    assert_eq!(sealed_month, sum);
}

#[tokio::test]
async fn a_partition_without_a_sealable_day_writes_nothing_and_one_with_one_is_sealed_after_its_read()
 {
    // 2026-11-28 to 2026-12-07, read on 2026-12-10: nothing has been over for 16 days.
    let events = history(30, 10);
    let store = MemoryAnalyticsStore::default();
    deliver(&store, &events, "2026-12-08").await;
    let user = UserId::parse("user-1").unwrap();
    let partition = MonthPartition::User(user.clone());
    let scope = Scope::User(user);
    let read_on = |today| read("2026-11-01", "2026-12-31", Granularity::Month, today);
    analytics_report(&store, SPEC, &scope, read_on("2026-12-10"))
        .await
        .unwrap();
    let stored = store
        .read_months(SPEC.version, &partition, true)
        .await
        .unwrap();
    assert_eq!(stored, StoredMonths::default(), "nothing written by a read");
    // On 2027-01-20 November and December are sealable: the read seals them after answering.
    let first = analytics_report(&store, SPEC, &scope, read_on("2027-01-20"))
        .await
        .unwrap();
    let stored = store
        .read_months(SPEC.version, &partition, true)
        .await
        .unwrap();
    assert_eq!(stored.sealed_through, Some(day("2026-12-01")));
    assert_eq!(plan_reads(&stored, read_on("2027-01-20")).1, []);
    let second = analytics_report(&store, SPEC, &scope, read_on("2027-01-20"))
        .await
        .unwrap();
    assert_eq!(
        answer(&first, Granularity::Month),
        answer(&second, Granularity::Month)
    );
}

/// The in-memory table whose seals always fail, as a throttled table's would.
struct SealsFail(MemoryAnalyticsStore);

impl RollUpMonths for SealsFail {
    fn month_partitions(&self, version: ProjectionVersion, scope: &Scope) -> Vec<MonthPartition> {
        self.0.month_partitions(version, scope)
    }

    async fn read_months(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        consistent: bool,
    ) -> Result<StoredMonths, StoreError> {
        self.0.read_months(version, partition, consistent).await
    }

    async fn read_partition_days(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
        consistent: bool,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        self.0
            .read_partition_days(version, partition, from, to, consistent)
            .await
    }

    async fn seal_month(
        &self,
        _version: ProjectionVersion,
        _partition: &MonthPartition,
        _month: NaiveDate,
        _counters: &BTreeMap<Counter, i64>,
        _late_writes: u64,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("throttled".into()))
    }

    async fn mark_sealed_through(
        &self,
        _version: ProjectionVersion,
        _partition: &MonthPartition,
        _month: NaiveDate,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("throttled".into()))
    }
}

#[tokio::test]
async fn a_seal_that_fails_costs_the_read_its_shortcut_never_its_answer() {
    let events = history(60, 40);
    let store = MemoryAnalyticsStore::default();
    deliver(&store, &events, "2027-02-01").await;
    let failing = SealsFail(store.clone());
    for scope in [Scope::User(UserId::parse("user-0").unwrap()), Scope::Global] {
        let read = read("2026-11-01", "2027-01-31", Granularity::Month, "2027-03-01");
        let answered = analytics_report(&failing, SPEC, &scope, read)
            .await
            .unwrap();
        let days_only = HistoryRead {
            today: day("2026-11-01"),
            ..read
        };
        let reference = analytics_report(&store, SPEC, &scope, days_only)
            .await
            .unwrap();
        assert_eq!(
            answer(&answered, Granularity::Month),
            answer(&reference, Granularity::Month),
            "{scope:?}"
        );
    }
    let partition = MonthPartition::User(UserId::parse("user-0").unwrap());
    let stored = store
        .read_months(SPEC.version, &partition, true)
        .await
        .unwrap();
    assert_eq!(stored.sealed_through, None, "nothing sealed");
}

#[tokio::test]
async fn a_refused_seal_writes_nothing_not_even_the_item() {
    let store = MemoryAnalyticsStore::default();
    let partition = MonthPartition::User(UserId::parse("gone").unwrap());
    let counters = BTreeMap::from([(Counter::Created, 3)]);
    let sealed = store
        .seal_month(SPEC.version, &partition, day("2026-10-01"), &counters, 2)
        .await
        .unwrap();
    assert!(!sealed);
    let stored = store
        .read_months(SPEC.version, &partition, true)
        .await
        .unwrap();
    assert_eq!(stored, StoredMonths::default());
    assert!(store.with_table(SPEC.version, |table| table.is_empty()));
}
