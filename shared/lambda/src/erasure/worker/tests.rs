//! Given a user's tasks in memory and an erasure request, when the eraser takes work
//! messages, then it completes the erasure within one invocation when it can, continues in a
//! delayed message while the erasure settles or time runs out, and retries only what failed.

use aws_lambda_events::event::sqs::SqsMessage;
use taskpulse_app::PlanLimits;
use taskpulse_app::consume::consume_events;
use taskpulse_app::erasure::request_erasure;
use taskpulse_app::memory::{
    MemoryAnalyticsStore, MemoryArchive, MemoryEventQueue, MemoryTaskStore, MemoryWorkQueue,
};
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::{CommandContext, LoadErasures, NewTask, TaskCommands};
use taskpulse_domain::erasure::{ARCHIVE_REWRITE_POLL, ErasureStep};
use taskpulse_domain::{EventEnvelope, Priority, Title, UserId};

use super::*;

type TestWorker = ErasureWorker<
    MemoryTaskStore,
    MemoryEventQueue,
    MemoryAnalyticsStore,
    MemoryArchive,
    MemoryWorkQueue,
>;

fn worker(settle: TimeDelta) -> TestWorker {
    ErasureWorker {
        tasks: MemoryTaskStore::default(),
        publisher: MemoryEventQueue::default(),
        analytics: MemoryAnalyticsStore::default(),
        archive: MemoryArchive::default(),
        work: MemoryWorkQueue::default(),
        settle,
    }
}

fn batch(bodies: &[&str]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m{n}"));
            message.body = Some((*body).to_owned());
            message
        })
        .collect();
    event
}

/// Creates `tasks` tasks of `user`; answers the events published.
async fn with_tasks(worker: &TestWorker, user: &UserId, tasks: usize) -> Vec<EventEnvelope> {
    let commands = TaskCommands::new(worker.tasks.clone(), MemoryEventQueue::default());
    for _ in 0..tasks {
        let task = NewTask {
            title: Title::parse("Call the bank").unwrap(),
            description: None,
            priority: Priority::Low,
            planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
        };
        commands
            .create_task(&CommandContext::caller(user.clone()), task)
            .await
            .unwrap();
    }
    commands.publisher().drain_envelopes()
}

/// Counts (and archives) `events`, as the consumer would.
async fn count(worker: &TestWorker, events: &[EventEnvelope]) {
    let events: Vec<&EventEnvelope> = events.iter().collect();
    let outcome = consume_events(
        &worker.archive,
        &worker.analytics,
        &ProjectionConfig::initial(),
        &events,
        &PlanLimits::default(),
        later(),
    )
    .await;
    assert!(outcome.batch.failed.is_empty(), "{outcome:?}");
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn a_settled_erasure_completes_in_one_invocation_and_sends_nothing_more() {
    let worker = worker(TimeDelta::zero());
    let ana = UserId::parse("ana").unwrap();
    with_tasks(&worker, &ana, 30).await;
    request_erasure(&worker.tasks, &ana, Utc::now())
        .await
        .unwrap();
    let body = ErasureWork::Advance(ana.clone()).body();
    let (response, summary) = worker.handle_batch(batch(&[&body]), later()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.completed, summary.continued), (1, 0));
    assert!(worker.work.calls().is_empty());
    assert!(
        worker.tasks.is_empty(),
        "30 tasks over two pages, all deleted"
    );
}

#[tokio::test]
async fn a_settling_erasure_continues_in_a_message_delayed_to_the_end_of_the_settle_time() {
    let worker = worker(TimeDelta::seconds(90));
    let ana = UserId::parse("ana").unwrap();
    with_tasks(&worker, &ana, 1).await;
    request_erasure(&worker.tasks, &ana, Utc::now())
        .await
        .unwrap();
    let body = ErasureWork::Advance(ana.clone()).body();
    let (response, summary) = worker.handle_batch(batch(&[&body]), later()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.continued, 1);
    let calls = worker.work.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, [body]);
    assert!(
        calls[0].1 > Duration::from_secs(85) && calls[0].1 <= Duration::from_secs(90),
        "{:?}",
        calls[0].1
    );
    assert_eq!(worker.tasks.len(), 1, "nothing deleted while settling");
}

#[tokio::test]
async fn out_of_time_an_erasure_continues_at_once_and_bad_or_unknown_work_is_told_apart() {
    let worker = worker(TimeDelta::zero());
    let ana = UserId::parse("ana").unwrap();
    with_tasks(&worker, &ana, 1).await;
    request_erasure(&worker.tasks, &ana, Utc::now())
        .await
        .unwrap();
    let body = ErasureWork::Advance(ana.clone()).body();
    let nobody = ErasureWork::Advance(UserId::parse("nobody").unwrap()).body();
    let (response, summary) = worker
        .handle_batch(
            batch(&[&body, "{\"eraseUser\":1}", &nobody]),
            Instant::now(),
        )
        .await
        .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m1"], "only the poison record is retried");
    assert_eq!(
        (summary.continued, summary.poison, summary.not_requested),
        (1, 1, 1)
    );
    assert_eq!(worker.work.calls()[0].1, Duration::ZERO);
    let mut unnamed = batch(&["{\"eraseUser\":1}"]);
    unnamed.records[0].message_id = None;
    assert!(
        worker.handle_batch(unnamed, Instant::now()).await.is_err(),
        "a record to retry that cannot be named fails the whole batch"
    );

    let refusing = ErasureWorker {
        work: MemoryWorkQueue::accepting(0),
        ..worker
    };
    let (response, summary) = refusing
        .handle_batch(batch(&[&body]), Instant::now())
        .await
        .unwrap();
    assert_eq!(
        summary.failed, 1,
        "a continuation that was not sent is retried"
    );
    assert_eq!(response.batch_item_failures.len(), 1);
}

#[tokio::test]
async fn archive_days_go_out_as_messages_of_their_own_and_the_erasure_waits_for_them() {
    let worker = worker(TimeDelta::zero());
    let ana = UserId::parse("ana").unwrap();
    let published = with_tasks(&worker, &ana, 2).await;
    count(&worker, &published).await;
    request_erasure(&worker.tasks, &ana, Utc::now())
        .await
        .unwrap();
    let body = ErasureWork::Advance(ana.clone()).body();

    let (response, summary) = worker.handle_batch(batch(&[&body]), later()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.continued, 1, "{summary:?}");
    let calls = worker.work.calls();
    let day = published[0].occurred_at.date_naive();
    let day_body = ErasureWork::RewriteArchiveDay(ana.clone(), day).body();
    assert_eq!(calls[0], (vec![day_body.clone()], Duration::ZERO));
    assert_eq!(calls[1].0, std::slice::from_ref(&body));
    assert!(
        calls[1].1 > Duration::ZERO && calls[1].1 <= ARCHIVE_REWRITE_POLL.to_std().unwrap(),
        "the erasure looks again shortly: {:?}",
        calls[1].1
    );
    let erasure = worker
        .tasks
        .load_erasures(std::slice::from_ref(&ana))
        .await
        .unwrap()[&ana]
        .clone();
    assert_eq!(erasure.step, ErasureStep::ArchiveRewrites);

    let (response, summary) = worker
        .handle_batch(batch(&[&day_body]), later())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.archive_days, 1, "{summary:?}");
    let (_, summary) = worker.handle_batch(batch(&[&body]), later()).await.unwrap();
    assert_eq!(summary.completed, 1, "{summary:?}");
    let erasure = worker
        .tasks
        .load_erasures(std::slice::from_ref(&ana))
        .await
        .unwrap()[&ana]
        .clone();
    assert_eq!(erasure.progress.archive_days_rewritten, 1);
    assert_eq!(erasure.progress.archive_objects_rewritten, 1);
    let (_, summary) = worker
        .handle_batch(batch(&[&day_body]), later())
        .await
        .unwrap();
    assert_eq!(
        summary.not_requested, 1,
        "a late duplicate of a day's message does nothing"
    );
}
