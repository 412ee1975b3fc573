//! The batch handler on the in-memory adapters: bad records alone are reported, an erased
//! owner's events are held then counted under the pseudonym.

use super::*;
use aws_lambda_events::event::sqs::SqsMessage;
use taskpulse_app::memory::{
    MemoryAnalyticsStore, MemoryArchive, MemoryEventQueue, MemoryTaskStore, MemoryWorkQueue,
};
use taskpulse_app::{CommandContext, NewTask, TaskCommands};
use taskpulse_domain::{Priority, Title, UserId};

fn record(id: Option<&str>, body: Option<String>) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = id.map(str::to_owned);
    message.body = body;
    message
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

type TestConsumer = Consumer<MemoryArchive, MemoryAnalyticsStore, MemoryTaskStore, MemoryWorkQueue>;

fn consumer() -> TestConsumer {
    consumer_counting_on(MemoryAnalyticsStore::default())
}

/// The in-memory consumer, its counters in `store`.
fn consumer_counting_on<S>(
    store: S,
) -> Consumer<MemoryArchive, S, MemoryTaskStore, MemoryWorkQueue> {
    Consumer {
        archive: MemoryArchive::default(),
        store,
        erasures: MemoryTaskStore::default(),
        requeue: MemoryWorkQueue::default(),
        limits: PlanLimits::default(),
    }
}

/// The message ids the batch response reports as failed, in order.
fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

fn deadline() -> Instant {
    Instant::now() + std::time::Duration::from_secs(5)
}

async fn created_event_body() -> (String, taskpulse_domain::EventId) {
    let commands = TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default());
    commands
        .create_task(
            &CommandContext::caller(UserId::parse("u1").unwrap()),
            NewTask {
                title: Title::parse("t").unwrap(),
                description: None,
                priority: Priority::Low,
                planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
            },
        )
        .await
        .unwrap();
    let event = commands.publisher().drain().remove(0);
    (event.body, event.event_id)
}

/// The in-memory analytics table, counting the reads of the projection configuration.
#[derive(Default)]
struct CountingConfigReads {
    table: MemoryAnalyticsStore,
    reads: std::sync::atomic::AtomicUsize,
}

impl LoadProjectionConfig for CountingConfigReads {
    async fn load_projection_config(
        &self,
    ) -> Result<taskpulse_app::projections::ProjectionConfig, taskpulse_app::StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.table.load_projection_config().await
    }
}

impl ApplyTransaction for CountingConfigReads {
    async fn apply_transaction(
        &self,
        plan: &taskpulse_app::analytics::TransactionPlan,
    ) -> Result<taskpulse_app::TransactionResult, taskpulse_app::StoreError> {
        self.table.apply_transaction(plan).await
    }
}

#[tokio::test]
async fn a_batch_of_bad_records_only_reads_and_writes_nothing() {
    let consumer = consumer_counting_on(CountingConfigReads::default());
    let (response, summary) = handle_batch(
        &consumer,
        batch(vec![
            record(Some("m1"), Some("{oops".into())),
            record(Some("m2"), None),
        ]),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&response), ["m1", "m2"]);
    assert_eq!((summary.poison, summary.transactions), (2, 0));
    assert_eq!(
        consumer
            .store
            .reads
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no projection configuration read for a batch with nothing to count"
    );
    assert!(consumer.archive.objects().is_empty());
    // A batch with an event to count reads it, once.
    let (body, _) = created_event_body().await;
    handle_batch(
        &consumer,
        batch(vec![record(Some("m3"), Some(body))]),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(
        consumer
            .store
            .reads
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn only_bad_records_are_reported() {
    let consumer = consumer();
    let (body, event_id) = created_event_body().await;
    let (response, summary) = handle_batch(
        &consumer,
        batch(vec![
            record(Some("m1"), Some(body.clone())),
            record(Some("m2"), Some("{oops".into())),
            record(Some("m3"), Some(body.clone())),
            record(Some("m4"), None),
        ]),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&response), ["m2", "m4"]);
    assert_eq!(
        (
            summary.records,
            summary.applied,
            summary.duplicates,
            summary.poison,
            summary.failed_writes
        ),
        (4, 1, 1, 2, 0)
    );
    assert_eq!(summary.transactions, 1);
    assert_eq!(summary.archive_objects, 1);
    let event = EventEnvelope::from_json(&body).unwrap();
    assert_eq!(event.event_id, event_id);
    assert!(consumer.store.is_applied(
        taskpulse_app::projections::ProjectionConfig::initial().active,
        &event
    ));
    let archived = consumer.archive.objects();
    assert_eq!(archived.len(), 1);
    let line = String::from_utf8(archived[0].1.clone()).unwrap();
    assert_eq!(line.lines().count(), 1, "one line per distinct event");
}

#[tokio::test]
async fn an_erased_owners_event_goes_back_on_the_queue_while_the_erasure_runs_then_counts_as_the_pseudonym()
 {
    use taskpulse_app::{LoadErasures, SaveErasure};
    use taskpulse_domain::erasure::{Erasure, ErasureProgress};

    let consumer = consumer();
    let (body, _) = created_event_body().await;
    let owner = UserId::parse("u1").unwrap();
    let requested =
        taskpulse_app::erasure::request_erasure(&consumer.erasures, &owner, chrono::Utc::now())
            .await
            .unwrap();
    // Twice in the batch: it goes back once, and both records are deleted.
    let (response, summary) = handle_batch(
        &consumer,
        batch(vec![
            record(Some("m1"), Some(body.clone())),
            record(Some("m2"), Some(body.clone())),
        ]),
        deadline(),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        (
            summary.held_for_erasure,
            summary.held_sent_again,
            summary.applied,
            summary.failed_writes
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(
        consumer.requeue.calls(),
        [(vec![body.clone()], HELD_EVENT_DELAY)]
    );
    assert!(
        consumer.archive.objects().is_empty(),
        "not archived under the user id"
    );
    // A queue that refuses: the record fails back to SQS instead.
    let refusing = Consumer {
        requeue: MemoryWorkQueue::accepting(0),
        ..consumer.clone()
    };
    let (response, summary) = handle_batch(
        &refusing,
        batch(vec![record(Some("m1"), Some(body.clone()))]),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    assert_eq!((summary.held_for_erasure, summary.held_sent_again), (1, 0));

    let mut done = requested.clone();
    while !done.is_complete() {
        done = done.step_done(ErasureProgress::default(), chrono::Utc::now());
    }
    consumer
        .erasures
        .save_erasure(&owner, &requested, &done)
        .await
        .unwrap();
    let (response, summary) = handle_batch(
        &consumer,
        batch(vec![record(Some("m1"), Some(body.clone()))]),
        deadline(),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.of_erased_users, summary.applied), (1, 1));
    let mut event = EventEnvelope::from_json(&body).unwrap();
    assert!(!consumer.store.is_applied(
        taskpulse_app::projections::ProjectionConfig::initial().active,
        &event
    ));
    event.user_id = done.pseudonym.clone();
    assert!(consumer.store.is_applied(
        taskpulse_app::projections::ProjectionConfig::initial().active,
        &event
    ));
    let archived = String::from_utf8(consumer.archive.objects()[0].1.clone()).unwrap();
    assert!(!archived.contains("\"u1\""), "{archived}");
    assert!(archived.contains(done.pseudonym.as_str()));
    let stored: Erasure = consumer
        .erasures
        .load_erasures(&[owner])
        .await
        .unwrap()
        .into_values()
        .next()
        .unwrap();
    assert!(stored.is_complete());
}

#[tokio::test]
async fn a_failure_without_message_id_fails_the_invocation() {
    let result = handle_batch(
        &consumer(),
        batch(vec![record(None, Some("{}".into()))]),
        deadline(),
    )
    .await;
    assert!(result.is_err());
}
