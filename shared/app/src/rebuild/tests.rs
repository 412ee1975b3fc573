//! Given an archive and a counter table, when a rebuild runs (whole, twice, interrupted, with
//! live traffic, over corrupt objects), then the new version holds the counts of the history.

use std::collections::BTreeMap;

use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, Priority, TaskEvent};

use super::*;
use crate::analytics::PlanLimits;
use crate::archive::{ArchiveKey, archive_events};
use crate::consume::consume_events;
use crate::memory::{MemoryAnalyticsStore, MemoryArchive};
use crate::ports::{ReadCounters, ScanCounters, WriteArchive};
use crate::test_events::history;

pub(crate) fn plan(projection: Projection) -> RebuildPlan {
    RebuildPlan {
        projection,
        from: None,
        to: None,
        settle: Duration::ZERO,
        write_rate: None,
        limits: PlanLimits::default(),
        rereads: Rereads {
            rounds: 2,
            pause: Duration::from_millis(1),
        },
        activate: true,
        force: false,
    }
}

fn v(n: u32) -> ProjectionVersion {
    ProjectionVersion::new(n).unwrap()
}

/// The live path: events archived and counted in the active version, batch by batch.
pub(super) async fn live(
    archive: &MemoryArchive,
    store: &MemoryAnalyticsStore,
    events: &[EventEnvelope],
) {
    let config = store.load_projection_config().await.unwrap();
    for batch in events.chunks(7) {
        let refs: Vec<&EventEnvelope> = batch.iter().collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let outcome = consume_events(
            archive,
            store,
            &config,
            &refs,
            &PlanLimits::default(),
            deadline,
        )
        .await;
        assert!(outcome.batch.failed.is_empty());
    }
}

/// Everyone's counters of `version`, day by day.
pub(super) async fn global_days(
    store: &MemoryAnalyticsStore,
    version: ProjectionVersion,
) -> BTreeMap<chrono::NaiveDate, BTreeMap<Counter, i64>> {
    store
        .read_days(version, &Scope::Global, None, "2030-01-01".parse().unwrap())
        .await
        .unwrap()
}

async fn global_totals(
    store: &MemoryAnalyticsStore,
    version: ProjectionVersion,
) -> BTreeMap<Counter, i64> {
    let mut totals = BTreeMap::new();
    let days = global_days(store, version).await;
    for counters in days.values() {
        taskpulse_domain::analytics::add_into(&mut totals, counters);
    }
    totals.retain(|_, v| *v != 0);
    totals
}

fn created_per_priority(events: &[EventEnvelope]) -> BTreeMap<Counter, i64> {
    let mut counts = BTreeMap::new();
    for event in events {
        if let TaskEvent::Created(created) = &event.event {
            *counts
                .entry(Counter::created_with(created.priority))
                .or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn a_changed_projection_rebuilt_from_the_archive_counts_the_whole_history() {
    let events = history(40, 4);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, &events).await;
    let report = run_rebuild(
        &archive,
        &no_erasures(),
        &store,
        &plan(Projection::TasksByPriority),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.version, v(2));
    assert_eq!(report.partitions, 4);
    assert_eq!(report.events, events.len() as u64);
    assert_eq!(report.applied, events.len() as u64);
    assert!(
        report.verification.differences.is_empty(),
        "{:?}",
        report.verification
    );
    assert!(report.activated);
    let config = store.load_projection_config().await.unwrap();
    assert_eq!(config.active.version, v(2));
    assert_eq!(config.retiring, Some(v(1)));

    let (old, new) = (
        global_totals(&store, v(1)).await,
        global_totals(&store, v(2)).await,
    );
    let expected = created_per_priority(&events);
    assert_eq!(expected.len(), Priority::ALL.len());
    for (counter, count) in &expected {
        assert_eq!(new.get(counter), Some(count), "{counter:?}");
    }
    let mut shared = new.clone();
    shared.retain(|c, _| !expected.contains_key(c));
    assert_eq!(shared, old, "the counters both define agree");
    assert_eq!(
        store.scan_counters(v(2)).await.unwrap().len(),
        store.scan_counters(v(1)).await.unwrap().len()
    );

    let deleted = retire(&store, &mut WritePace::new(None)).await.unwrap();
    assert!(deleted > 0);
    assert!(store.scan_counters(v(1)).await.unwrap().is_empty());
    assert_eq!(store.load_projection_config().await.unwrap().retiring, None);
}

#[tokio::test]
async fn a_rebuild_run_twice_or_stopped_halfway_and_rerun_gives_the_same_counters() {
    let events = history(30, 5);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, &events).await;

    // Stopped halfway: two partitions applied, one of them twice (a crash before its mark).
    start(&store, Projection::Tasks, chrono::Utc::now())
        .await
        .unwrap();
    let (spec, days) = pending_partitions(&archive, &store, None, None)
        .await
        .unwrap();
    let mut pace = WritePace::new(None);
    let limits = PlanLimits::default();
    for day in &days[..2] {
        backfill_partition(
            &archive,
            &no_erasures(),
            &store,
            spec,
            *day,
            &limits,
            &mut pace,
        )
        .await
        .unwrap();
    }
    let again = backfill_partition(
        &archive,
        &no_erasures(),
        &store,
        spec,
        days[0],
        &limits,
        &mut pace,
    )
    .await
    .unwrap();
    assert_eq!(
        again.done.applied, 0,
        "applying a partition twice changes nothing"
    );
    assert_eq!(again.done.duplicates, again.done.events);

    let mut rerun = plan(Projection::Tasks);
    rerun.activate = false;
    let resumed = run_rebuild(&archive, &no_erasures(), &store, &rerun, |_| {})
        .await
        .unwrap();
    assert_eq!(
        resumed.version, spec.version,
        "the build under way is resumed"
    );
    assert_eq!(
        resumed.partitions,
        days.len() - 2,
        "done partitions are skipped"
    );
    let once = store.scan_counters(spec.version).await.unwrap();
    assert_eq!(once, store.scan_counters(v(1)).await.unwrap());

    // Run twice: nothing is pending, nothing moves.
    let twice = run_rebuild(&archive, &no_erasures(), &store, &rerun, |_| {})
        .await
        .unwrap();
    assert_eq!((twice.partitions, twice.applied), (0, 0));
    assert_eq!(store.scan_counters(spec.version).await.unwrap(), once);
}

#[tokio::test]
async fn events_counted_live_while_building_are_applied_once_to_both_versions() {
    let events = history(36, 3);
    let (before, during) = events.split_at(20);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, before).await;
    start(&store, Projection::TasksByPriority, chrono::Utc::now())
        .await
        .unwrap();
    // From registration on, the consumer writes both versions.
    live(&archive, &store, during).await;
    let mut resume = plan(Projection::TasksByPriority);
    resume.activate = false;
    let report = run_rebuild(&archive, &no_erasures(), &store, &resume, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.duplicates,
        during.len() as u64,
        "the live consumer applied these"
    );
    assert_eq!(report.applied, before.len() as u64);
    assert!(report.verification.differences.is_empty());
    let by_priority = global_totals(&store, v(2)).await;
    for (counter, count) in created_per_priority(&events) {
        assert_eq!(by_priority.get(&counter), Some(&count));
    }
}

#[tokio::test]
async fn corrupt_objects_are_reported_and_differences_block_activation_unless_forced() {
    let events = history(10, 1);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, &events).await;
    // An event that was counted but whose line is unreadable: the rebuilt version lacks it.
    let lost = MemoryArchive::default();
    archive_events(&lost, &events[1..]).await;
    let day = events[0].occurred_at.date_naive();
    let bad = ArchiveKey::fresh(day);
    lost.put_archive_object(&bad, b"{not json\n".to_vec())
        .await
        .unwrap();

    let report = run_rebuild(
        &lost,
        &no_erasures(),
        &store,
        &plan(Projection::Tasks),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].key, bad);
    assert!(!report.verification.differences.is_empty());
    assert!(!report.activated);
    assert!(matches!(
        report.refused,
        Some(crate::projections::ConfigError::UnexplainedDifferences { .. })
    ));
    assert_eq!(
        store.load_projection_config().await.unwrap().active.version,
        v(1)
    );
    activate(&store, true).await.unwrap();
    assert_eq!(
        store.load_projection_config().await.unwrap().active.version,
        v(2)
    );
}

#[tokio::test]
async fn progress_is_reported_partition_by_partition() {
    let events = history(12, 3);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, &events).await;
    let mut seen = vec![];
    run_rebuild(
        &archive,
        &no_erasures(),
        &store,
        &plan(Projection::Tasks),
        |event| {
            seen.push(match event {
                RebuildProgressEvent::Registered { .. } => "registered".to_owned(),
                RebuildProgressEvent::Settling { .. } => "settling".to_owned(),
                RebuildProgressEvent::Partitions { pending } => format!("partitions {pending}"),
                RebuildProgressEvent::PartitionDone(p) => format!("done {}", p.done.day),
                RebuildProgressEvent::Verified(_) => "verified".to_owned(),
            })
        },
    )
    .await
    .unwrap();
    assert_eq!(seen[0], "registered");
    assert_eq!(seen[1], "partitions 3");
    assert_eq!(seen.iter().filter(|s| s.starts_with("done")).count(), 3);
    assert_eq!(seen.last().unwrap(), "verified");
}

/// A task table without erasure records.
pub(super) fn no_erasures() -> crate::memory::MemoryTaskStore {
    crate::memory::MemoryTaskStore::default()
}
