//! Month items: the scenario of `taskpulse_testkit::sealed_months_answer_what_days_answer` on
//! moto and in memory, and a seal too large for one update on moto.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_app::analytics::{MAX_COUNTERS_PER_UPDATE, MonthPartition};
use taskpulse_app::memory::MemoryAnalyticsStore;
use taskpulse_app::{PlanLimits, RollUpMonths};
use taskpulse_domain::analytics::Counter;
use taskpulse_testkit::{MONTHS_SPEC, sealed_months_answer_what_days_answer};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn month_items_on_moto_answer_what_the_days_answer_with_late_writes_around_every_seal() {
    let (_stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    sealed_months_answer_what_days_answer(&pipeline.analytics, &pipeline.limits).await;
}

#[tokio::test]
async fn month_items_in_memory_answer_what_the_days_answer_with_late_writes_around_every_seal() {
    let store = MemoryAnalyticsStore::default();
    sealed_months_answer_what_days_answer(&store, &PlanLimits::default()).await;
}

#[tokio::test]
async fn a_seal_of_more_counters_than_one_update_may_move_sets_them_all_and_the_mark_never_goes_back()
 {
    let (_stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    let store = &pipeline.analytics;
    let version = MONTHS_SPEC.version;
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
