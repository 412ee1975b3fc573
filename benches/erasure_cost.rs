//! What erasing one user costs, on the embedded backend: 20 users with 1,000 tasks each over
//! 90 days (HistoryShape::workload: about 2.7 events per task), every task stored as the API
//! leaves it with an idempotency record for its create, every event archived and counted the
//! way the consumer does it (batches of 100 in time order). One user is then erased (settle time zero); the
//! run counts each step's work and times it, and models the operations it takes on AWS.
//!
//! Run: `cargo bench --bench erasure_cost`. Results are recorded in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use taskpulse_app::analytics::PlanLimits;
use taskpulse_app::consume::consume_events;
use taskpulse_app::erasure::{Advance, Eraser, request_erasure};
use taskpulse_app::memory::{
    MemoryAnalyticsStore, MemoryArchive, MemoryArchiveDays, MemoryEventQueue, MemoryTaskStore,
};
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::{IdempotencyRecord, ReadArchive, SaveTask, TaskWrite};
use taskpulse_domain::{EventEnvelope, TaskEvent, UserId};
use taskpulse_testkit::HistoryShape;

const USERS: usize = 20;
const TASKS_PER_USER: usize = 1_000;
const DAYS: i64 = 90;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shape = HistoryShape::workload(USERS, USERS * TASKS_PER_USER, DAYS);
    let history = shape.generate();
    let erased = UserId::parse(&shape.user(0)).unwrap();
    let tasks = MemoryTaskStore::default();
    for task in &history.finals {
        let write = TaskWrite {
            task,
            expected_version: None,
            pending_events: &[],
            idempotency: None,
            outbox_indexed: true,
        };
        tasks.save_task(write).await.unwrap();
        let created = history
            .events
            .iter()
            .find(|e| e.task_id == task.id && matches!(e.event, TaskEvent::Created(_)));
        let record = IdempotencyRecord {
            user_id: task.owner.clone(),
            key: format!("create-{}", task.id),
            fingerprint: "POST /tasks".into(),
            task: task.clone(),
            created: true,
            created_event: created.map(|e| e.event_id),
            expires_at: Utc::now() + TimeDelta::hours(24),
        };
        tasks.save_idempotency(&record).await.unwrap();
    }
    let analytics = MemoryAnalyticsStore::default();
    let archive = MemoryArchive::default();
    let config = ProjectionConfig::initial();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    // The queue delivers roughly in commit order: batches of neighbours in time, as live.
    let mut in_time = history.events.clone();
    in_time.sort_by_key(|e| e.occurred_at);
    for batch in in_time.chunks(100) {
        let refs: Vec<&EventEnvelope> = batch.iter().collect();
        let outcome = consume_events(
            &archive,
            &analytics,
            &config,
            &refs,
            &PlanLimits::default(),
            deadline,
        )
        .await;
        assert!(outcome.batch.failed.is_empty());
    }
    let user_events = history
        .events
        .iter()
        .filter(|e| e.user_id == erased)
        .count();
    let mut objects_on_user_days = 0;
    let mut user_days = std::collections::BTreeSet::new();
    for event in history.events.iter().filter(|e| e.user_id == erased) {
        user_days.insert(event.occurred_at.date_naive());
    }
    for day in &user_days {
        objects_on_user_days += archive.archive_objects(*day).await.unwrap().len();
    }
    println!(
        "erasure_cost: {USERS} users x {TASKS_PER_USER} tasks over {DAYS} days, {} events ({user_events} of the erased user, on {} days; {objects_on_user_days} archive objects on those days, {} in all)",
        history.events.len(),
        user_days.len(),
        archive.objects().len()
    );

    let publisher = MemoryEventQueue::default();
    let eraser = Eraser {
        tasks: &tasks,
        publisher: &publisher,
        analytics: &analytics,
        archive: &archive,
        days: &MemoryArchiveDays::default(),
        settle: TimeDelta::zero(),
    };
    request_erasure(&tasks, &erased, Utc::now()).await.unwrap();
    let started = Instant::now();
    let mut pages = 0;
    let mut days_rewritten = 0;
    let erasure = loop {
        let advance = eraser.advance(&erased, Utc::now()).await.unwrap();
        // The days handed out are rewritten one after another here; on AWS, side by side.
        for (owner, day) in eraser.days.take() {
            eraser.rewrite_archive_day(&owner, day).await.unwrap();
            days_rewritten += 1;
        }
        match advance {
            Advance::Complete(erasure) => break erasure,
            Advance::Progressed(_) => pages += 1,
            other => panic!("{other:?}"),
        }
    };
    let took = started.elapsed();
    let p = erasure.progress;
    println!(
        "  erased in {:.0} ms, {pages} pages: {} tasks, {} idempotency records, {} archive objects rewritten on {days_rewritten} days handed out ({} marked), {} counter items moved",
        took.as_secs_f64() * 1000.0,
        p.tasks_deleted,
        p.idempotency_records_deleted,
        p.archive_objects_rewritten,
        p.archive_days_rewritten,
        p.counter_items_moved
    );
    // On AWS (a model from the counts, not a measurement): each task is read (GetItem, a
    // consistent read of an item under 4 KB: 1 RCU) and deleted (1 WCU for the item and 1 for
    // its index entry); the listing reads 25 index entries per Query page; each record is
    // deleted (1 WCU); each counter item is written under the pseudonym and deleted (2 WCU
    // each, day items being under 1 KB); each archive object of the user's days is read (S3
    // GET) and those holding the user's events written again (S3 PUT); each day handed out is
    // an SQS message and a marker (1 WCU), and the markers are read once per 100 days handed
    // out and once per look of the wait (under 4 KB for 90 days: 1 RCU each); the erasure
    // record is written once per page (1 WCU).
    let task_pages = p.tasks_deleted.div_ceil(25) + 1;
    let marker_reads = p.archive_days_rewritten.div_ceil(100) + 1;
    let rcu = p.tasks_deleted
        + task_pages * 25 / 8
        + p.idempotency_records_deleted / 8
        + marker_reads
        + 1;
    let wcu = 2 * p.tasks_deleted
        + p.idempotency_records_deleted
        + p.archive_days_rewritten
        + 2 * p.counter_items_moved
        + pages as u64
        + 1;
    println!(
        "  model for AWS: about {rcu} RCU and {wcu} WCU; {objects_on_user_days} S3 GETs and {} PUTs; {} SQS messages for the days",
        p.archive_objects_rewritten, p.archive_days_rewritten
    );
}
