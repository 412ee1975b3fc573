//! The archive and the projection versions against moto: the consumer archives what it counts
//! (no free text, one object per batch and day), the S3 archive lists and reads its
//! partitions, the configuration item refuses a stale writer, and a whole rebuild from the S3
//! archive into a new DynamoDB version counts the history, resumes, verifies, activates and
//! retires.

use std::collections::BTreeMap;
use std::time::Duration;

use taskpulse_app::archive::{ArchiveKey, read_partition};
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::rebuild::{
    RebuildPlan, Rereads, WritePace, backfill_partition, pending_partitions, retire, run_rebuild,
    start,
};
use taskpulse_app::{
    LoadProjectionConfig, ReadArchive, ReadCounters, RebuildProgress, SaveProjectionConfig,
    ScanCounters, StoreError,
};
use taskpulse_domain::analytics::{Counter, Projection, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, TaskEvent};
use taskpulse_testkit::{AwsPipeline, HistoryShape, pipeline_on_moto, sqs_event, sqs_record};

fn v(n: u32) -> ProjectionVersion {
    ProjectionVersion::new(n).unwrap()
}

/// The history through the pipeline's consumer, in batches of `size`.
async fn consume(pipeline: &AwsPipeline, events: &[EventEnvelope], size: usize) {
    for (b, chunk) in events.chunks(size).enumerate() {
        let records = chunk
            .iter()
            .enumerate()
            .map(|(i, e)| sqs_record(format!("{b}-{i}"), e.to_json()))
            .collect();
        let (response, summary) = pipeline.consume(sqs_event(records)).await;
        assert!(response.batch_item_failures.is_empty(), "{summary:?}");
        assert!(summary.archive_objects >= 1);
    }
}

async fn global_totals(
    pipeline: &AwsPipeline,
    version: ProjectionVersion,
) -> BTreeMap<Counter, i64> {
    let days = pipeline
        .analytics
        .read_days(version, &Scope::Global, None, "2030-01-01".parse().unwrap())
        .await
        .unwrap();
    let mut totals = BTreeMap::new();
    for counters in days.values() {
        taskpulse_domain::analytics::add_into(&mut totals, counters);
    }
    totals.retain(|_, v| *v != 0);
    totals
}

fn plan(projection: Projection) -> RebuildPlan {
    RebuildPlan {
        projection,
        from: None,
        to: None,
        settle: Duration::ZERO,
        write_rate: None,
        limits: Default::default(),
        rereads: Rereads {
            rounds: 3,
            pause: Duration::from_millis(50),
        },
        activate: true,
        force: false,
    }
}

#[tokio::test]
async fn the_consumer_archives_what_it_counts_in_day_partitions_without_free_text() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let events = HistoryShape::workload(6, 30, 3).generate().events;
    consume(&pipeline, &events, 10).await;
    let days = pipeline.archive.archive_days().await.unwrap();
    let expected: std::collections::BTreeSet<_> =
        events.iter().map(|e| e.occurred_at.date_naive()).collect();
    assert_eq!(days, expected.into_iter().collect::<Vec<_>>());
    let mut read = 0;
    for day in days {
        for key in pipeline.archive.archive_objects(day).await.unwrap() {
            let body = String::from_utf8(pipeline.archive.read_archive_object(&key).await.unwrap())
                .unwrap();
            assert!(!body.contains("\"title\""), "{body}");
        }
        let partition = read_partition(&pipeline.archive, day).await.unwrap();
        assert!(partition.corrupt.is_empty());
        read += partition.events.len();
    }
    assert_eq!(
        read,
        events.len(),
        "every counted event is in the archive once"
    );

    // A stray object and a folder marker are no archive objects.
    let day = events[0].occurred_at.date_naive();
    let s3 = taskpulse_aws::sdk::s3_client(&_stack.config);
    for stray in [
        format!("{}notes.txt", ArchiveKey::partition_prefix(day)),
        "events/readme".to_owned(),
    ] {
        s3.put_object()
            .bucket(pipeline.archive.bucket())
            .key(stray)
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let objects = pipeline.archive.archive_objects(day).await.unwrap();
    assert!(objects.iter().all(|k| k.as_str().ends_with(".jsonl")));
}

#[tokio::test]
async fn the_configuration_item_refuses_a_writer_that_read_an_older_revision() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let store = &pipeline.analytics;
    assert_eq!(
        store.load_projection_config().await.unwrap(),
        ProjectionConfig::initial()
    );
    let now = chrono::Utc::now();
    let first = ProjectionConfig::initial()
        .start_building(Projection::TasksByPriority, now)
        .unwrap();
    store.save_projection_config(&first).await.unwrap();
    // A second operator who read the same initial configuration loses.
    let rival = ProjectionConfig::initial()
        .start_building(Projection::Tasks, now)
        .unwrap();
    assert_eq!(
        store.save_projection_config(&rival).await,
        Err(StoreError::Conflict)
    );
    let loaded = store.load_projection_config().await.unwrap();
    assert_eq!(
        loaded.building.map(|b| b.spec.projection),
        Some(Projection::TasksByPriority)
    );
    assert_eq!(
        loaded.building.map(|b| b.since.timestamp_millis()),
        Some(now.timestamp_millis())
    );
    let abandoned = loaded.abandoned().unwrap();
    store.save_projection_config(&abandoned).await.unwrap();
    assert_eq!(
        store.load_projection_config().await.unwrap().retiring,
        Some(v(2))
    );
}

#[tokio::test]
async fn a_rebuild_from_the_s3_archive_counts_the_history_in_a_new_version_and_retires_the_old() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let events = HistoryShape::workload(8, 60, 4).generate().events;
    consume(&pipeline, &events, 25).await;
    let store = &pipeline.analytics;

    // Stopped halfway: one partition applied, then the whole rebuild runs and resumes.
    start(store, Projection::TasksByPriority, chrono::Utc::now())
        .await
        .unwrap();
    let (spec, days) = pending_partitions(&pipeline.archive, store, None, None)
        .await
        .unwrap();
    assert_eq!(spec.version, v(2));
    let limits = Default::default();
    backfill_partition(
        &pipeline.archive,
        pipeline.tasks(),
        store,
        spec,
        days[0],
        &limits,
        &mut WritePace::new(None),
    )
    .await
    .unwrap();
    assert_eq!(store.done_partitions(v(2)).await.unwrap().len(), 1);
    let report = run_rebuild(
        &pipeline.archive,
        pipeline.tasks(),
        store,
        &plan(Projection::TasksByPriority),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.version, v(2));
    assert_eq!(
        report.partitions,
        days.len() - 1,
        "the done partition is skipped"
    );
    assert!(
        report.verification.differences.is_empty(),
        "{:?}",
        report.verification
    );
    assert!(report.activated);

    let (old, new) = (
        global_totals(&pipeline, v(1)).await,
        global_totals(&pipeline, v(2)).await,
    );
    let mut per_priority = BTreeMap::new();
    for event in &events {
        if let TaskEvent::Created(created) = &event.event {
            *per_priority
                .entry(Counter::created_with(created.priority))
                .or_insert(0i64) += 1;
        }
    }
    for (counter, count) in &per_priority {
        assert_eq!(new.get(counter), Some(count), "{counter:?}");
    }
    let shared: BTreeMap<Counter, i64> = new
        .into_iter()
        .filter(|(c, _)| !per_priority.contains_key(c))
        .collect();
    assert_eq!(shared, old);
    // The API now answers from version 2.
    let answer = pipeline
        .client()
        .analytics_global("ops", "from=2026-11-20&to=2026-11-25")
        .scopes(&["analytics:read"])
        .await;
    assert_eq!(answer.body["projectionVersion"], 2, "{}", answer.body);
    assert!(
        answer.body["totals"]["createdHigh"].is_number(),
        "{}",
        answer.body
    );

    let v1_items = store.scan_counters(v(1)).await.unwrap().len();
    assert!(v1_items > 0);
    let deleted = retire(store, &mut WritePace::new(None)).await.unwrap();
    assert!(deleted as usize >= v1_items, "{deleted} < {v1_items}");
    assert!(store.scan_counters(v(1)).await.unwrap().is_empty());
    assert!(
        !store.scan_counters(v(2)).await.unwrap().is_empty(),
        "the active version stays"
    );
    assert_eq!(store.load_projection_config().await.unwrap().retiring, None);
    drop(stack);
}
