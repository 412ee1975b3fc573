//! The mapping on the in-process queue and tables: redelivered and reordered events count
//! once, poison ends in the dead letters, and batches follow the window and the size.

use super::*;
use crate::queue::MemoryQueue;
use chrono::Utc;
use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryTaskStore};
use taskpulse_app::{PendingEvent, PublishEvents, ReadCounters};
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{EventId, Priority, Task, TaskCommand, TaskId, Title, UserId};

fn settings(batch_size: usize, window_ms: u64, visibility_ms: u64) -> MappingSettings {
    MappingSettings {
        batch_size,
        batching_window: Duration::from_millis(window_ms),
        concurrency: 2,
        visibility_timeout: Duration::from_millis(visibility_ms),
        function_timeout: Duration::from_secs(5),
        receive_wait: Duration::from_millis(200),
    }
}

fn mapping(
    queue: &MemoryQueue,
    store: &MemoryAnalyticsStore,
    settings: MappingSettings,
) -> MemoryMapping {
    EventSourceMapping::new(
        queue.clone(),
        LocalArchive::Memory(Default::default()),
        store.clone(),
        MemoryTaskStore::default(),
        PlanLimits::default(),
        settings,
    )
}

fn created_events(user: &str, n: usize) -> Vec<PendingEvent> {
    (0..n)
        .flat_map(|i| {
            let command = TaskCommand::Create(CreateTask {
                task_id: TaskId::from_uuid(uuid::Uuid::now_v7()),
                owner: UserId::parse(user).unwrap(),
                title: Title::parse(&format!("task {i}")).unwrap(),
                description: None,
                priority: Priority::Medium,
                planned_accomplish_date: Utc::now(),
            });
            let (_, envelopes) = Task::execute(None, &command, Utc::now(), || {
                EventId::from_uuid(uuid::Uuid::now_v7())
            })
            .unwrap();
            envelopes
                .iter()
                .map(PendingEvent::from_envelope)
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn created_today(store: &MemoryAnalyticsStore, scope: Scope) -> i64 {
    let key = CounterKey {
        scope,
        day: Utc::now().date_naive(),
    };
    let counters = store
        .read_counters(ProjectionVersion::FIRST, &key)
        .await
        .unwrap();
    counters.get(&Counter::Created).copied().unwrap_or(0)
}

type MemoryMapping = EventSourceMapping<MemoryQueue, MemoryAnalyticsStore, MemoryTaskStore>;

async fn run_until(mapping: &Arc<MemoryMapping>, done: impl Fn(&MemoryMapping) -> bool) {
    let (stop_tx, stop) = watch::channel(false);
    let pollers = mapping.start(stop);
    let give_up = Instant::now() + Duration::from_secs(10);
    while !done(mapping) && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.send(true).unwrap();
    for poller in pollers {
        poller.await.unwrap();
    }
}

#[tokio::test]
async fn events_are_applied_once_although_delivered_again_and_reordered() {
    let (queue, store) = (MemoryQueue::new(2), MemoryAnalyticsStore::default());
    let mapping = Arc::new(mapping(&queue, &store, settings(10, 20, 10_000)));
    mapping.set_chaos(DeliveryChaos {
        duplicate_rate: 0.5,
        reorder: true,
    });
    let (_, mut notices) = mapping.changes.subscribe();
    queue
        .publish_events(&created_events("ana", 40))
        .await
        .unwrap();
    run_until(&mapping, |_| {
        let depth = queue.depth();
        depth.visible + depth.in_flight == 0
    })
    .await;
    let stats = mapping.stats.snapshot();
    assert_eq!(stats.applied, 40, "{stats:?}");
    assert!(stats.redelivered > 0, "{stats:?}");
    assert_eq!(stats.duplicates, stats.redelivered, "{stats:?}");
    assert_eq!(
        queue.depth().dead_letters,
        Some(0),
        "redelivered once at most"
    );
    assert!(stats.invocations >= 4, "batches of at most 10: {stats:?}");
    let user = Scope::User(UserId::parse("ana").unwrap());
    assert_eq!(created_today(&store, user).await, 40);
    assert_eq!(created_today(&store, Scope::Global).await, 40);

    // Every counted event is announced once, redeliveries not at all.
    let (mut announced, mut users) = (0, std::collections::BTreeSet::new());
    while let Ok(notice) = notices.try_recv() {
        announced += notice.events;
        users.extend(notice.users.iter().cloned());
        assert!(notice.newest_event_at.is_some());
    }
    assert_eq!(announced, 40);
    assert_eq!(users, std::collections::BTreeSet::from(["ana".to_owned()]));
}

#[tokio::test]
async fn a_poison_message_fails_alone_and_ends_in_the_dead_letters() {
    let (queue, store) = (MemoryQueue::new(3), MemoryAnalyticsStore::default());
    let mapping = Arc::new(mapping(&queue, &store, settings(10, 50, 100)));
    queue.send("not an event".into(), None).unwrap();
    queue
        .publish_events(&created_events("bo", 5))
        .await
        .unwrap();
    run_until(&mapping, |_| queue.depth().dead_letters == Some(1)).await;
    let stats = mapping.stats.snapshot();
    assert_eq!(queue.dead_letters(), [("not an event".to_owned(), 3)]);
    assert_eq!(stats.applied, 5, "{stats:?}");
    assert_eq!(stats.poison, 3, "one failure per receive: {stats:?}");
    assert_eq!(stats.batch_item_failures, 3, "{stats:?}");
    let user = Scope::User(UserId::parse("bo").unwrap());
    assert_eq!(created_today(&store, user).await, 5);
}

#[tokio::test]
async fn a_batch_waits_for_the_window_and_stops_when_full() {
    let queue = MemoryQueue::new(5);
    let mapping = mapping(
        &queue,
        &MemoryAnalyticsStore::default(),
        settings(25, 300, 10_000),
    );
    let (_stop_tx, mut stop) = watch::channel(false);
    queue
        .publish_events(&created_events("cy", 30))
        .await
        .unwrap();
    let full = mapping.gather_batch(&mut stop).await;
    assert_eq!(full.len(), 25, "a batch stops at the batch size");

    let started = Instant::now();
    let rest = mapping.gather_batch(&mut stop).await;
    assert_eq!(rest.len(), 5);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "a partial batch waits for the window: {:?}",
        started.elapsed()
    );
}
