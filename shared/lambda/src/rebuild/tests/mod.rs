//! Given an archive and a counter table in memory, when the coordinator takes a command or the
//! worker a batch of work items, then the rebuild moves as the operator asked: one work item
//! per pending partition, held back by the settle time; partitions applied once; stale and bad
//! items kept from blocking the queue; differences refusing the activation.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::NaiveDate;
use serde_json::json;
use taskpulse_app::consume::consume_events;
use taskpulse_app::memory::{
    MemoryAnalyticsStore, MemoryArchive, MemoryTaskStore, MemoryWorkQueue,
};
use taskpulse_app::rebuild::Rereads;
use taskpulse_app::{LoadProjectionConfig, PlanLimits, RebuildProgress, ScanCounters};
use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::ProjectionVersion;

use super::*;

mod coordinator;
mod worker;

/// Every partition work item `queue` was sent, in order.
pub(super) fn items(queue: &MemoryWorkQueue) -> Vec<PartitionWork> {
    queue
        .calls()
        .into_iter()
        .flat_map(|(bodies, _)| bodies)
        .map(|body| PartitionWork::from_body(&body).unwrap())
        .collect()
}

pub(super) type TestCoordinator = Coordinator<MemoryArchive, MemoryAnalyticsStore, MemoryWorkQueue>;

pub(super) const CONSUMER_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn coordinator() -> TestCoordinator {
    Coordinator {
        archive: MemoryArchive::default(),
        store: MemoryAnalyticsStore::default(),
        queue: MemoryWorkQueue::default(),
        settings: CoordinatorSettings {
            consumer_timeout: CONSUMER_TIMEOUT,
            write_rate: 1e6,
        },
        rereads: Rereads {
            rounds: 1,
            pause: Duration::from_millis(1),
        },
    }
}

pub(super) fn worker(
    coordinator: &TestCoordinator,
) -> Worker<MemoryArchive, MemoryAnalyticsStore, MemoryTaskStore> {
    Worker {
        archive: coordinator.archive.clone(),
        store: coordinator.store.clone(),
        erasures: MemoryTaskStore::default(),
        limits: PlanLimits::default(),
        settings: WorkerSettings { write_rate: 1e6 },
    }
}

pub(super) fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(n))
}

/// `per_day` tasks created on each of `days` days from 2026-01-01.
pub(super) fn history(days: u32, per_day: u32) -> Vec<EventEnvelope> {
    let mut events = vec![];
    for d in 0..days {
        for t in 0..per_day {
            let n = d * 1000 + t + 1;
            let priority = ["low", "medium", "high", "critical"][(n % 4) as usize];
            let body = json!({
                "eventId": format!("019ac0a0-0000-7000-8000-{n:012}"),
                "eventType": "TaskCreated",
                "schemaVersion": 1,
                "occurredAt": format!("{}T10:{:02}:00.000Z", day(d), t % 60),
                "taskId": format!("019ac0a0-0000-7000-9000-{n:012}"),
                "userId": format!("user-{}", n % 3),
                "sequence": 1,
                "data": {"title": "t", "priority": priority,
                         "plannedAccomplishDate": "2030-01-15T17:00:00Z"}
            });
            events.push(EventEnvelope::from_json(&body.to_string()).unwrap());
        }
    }
    events
}

/// The live consumer's path: archived, then counted in every live version.
pub(super) async fn live(coordinator: &TestCoordinator, events: &[EventEnvelope]) {
    let config = coordinator.store.load_projection_config().await.unwrap();
    let refs: Vec<&EventEnvelope> = events.iter().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let outcome = consume_events(
        &coordinator.archive,
        &coordinator.store,
        &config,
        &refs,
        &PlanLimits::default(),
        deadline,
    )
    .await;
    assert!(outcome.batch.failed.is_empty());
}

pub(super) async fn command(coordinator: &TestCoordinator, payload: serde_json::Value) -> Answer {
    handle_command(coordinator, payload).await.unwrap()
}

pub(super) fn record(id: &str, body: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.to_owned());
    message.body = Some(body.to_owned());
    message
}

pub(super) fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

pub(super) fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

/// Runs every item the queue holds through the worker, one record per batch (BatchSize 1).
pub(super) async fn drain(coordinator: &TestCoordinator) -> WorkSummary {
    let worker = worker(coordinator);
    let mut total = WorkSummary::default();
    for (n, item) in items(&coordinator.queue).into_iter().enumerate() {
        let (response, summary) = handle_work(
            &worker,
            batch(vec![record(&format!("m{n}"), &item.to_body())]),
        )
        .await
        .unwrap();
        assert!(response.batch_item_failures.is_empty(), "{item:?}");
        total.partitions += summary.partitions;
        total.events_applied += summary.events_applied;
        total.stale += summary.stale;
    }
    coordinator.queue.clear();
    total
}

pub(super) fn v(n: u32) -> ProjectionVersion {
    ProjectionVersion::new(n).unwrap()
}
