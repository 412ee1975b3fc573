//! A batch of outbox checks against the in-memory adapters.

use aws_lambda_events::event::sqs::SqsMessage;
use taskpulse_app::TaskCommands;
use taskpulse_app::memory::{MemoryEventQueue, MemoryTaskStore};
use taskpulse_app::{CommandContext, NewTask};
use taskpulse_domain::{Priority, Title, UserId};

use super::*;
use crate::relay::RelayInvocation;

fn record(id: &str, body: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.body = Some(body.into());
    record
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

#[tokio::test]
async fn a_batch_publishes_what_its_checks_find_and_retries_only_what_is_not_a_check() {
    let commands = TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default());
    // Two creates whose events the queue refused after their checks went out, one that
    // published.
    commands.publisher().set_events_refused(true);
    let caller = CommandContext::caller(UserId::parse("u1").unwrap());
    let new_task = || NewTask {
        title: Title::parse("Plan sprint").unwrap(),
        description: None,
        priority: Priority::High,
        planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
    };
    for _ in 0..2 {
        commands.create_task(&caller, new_task()).await.unwrap();
    }
    commands.publisher().set_events_refused(false);
    commands.create_task(&caller, new_task()).await.unwrap();
    assert_eq!(commands.publisher().drain().len(), 1);
    let checks = commands.publisher().drain_checks();
    assert_eq!(checks.len(), 3);

    let mut records: Vec<SqsMessage> = checks
        .iter()
        .enumerate()
        .map(|(n, task_id)| {
            let body = OutboxCheck { task_id: *task_id }.to_body();
            record(&format!("m{n}"), &body)
        })
        .collect();
    records.insert(1, record("poison", r#"{"eventId":"not a check"}"#));

    let (response, summary) =
        check_outboxes(commands.store(), commands.publisher(), batch(records))
            .await
            .unwrap();

    let retried: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(retried, ["poison"]);
    assert_eq!(
        summary,
        ChecksSummary {
            nothing_pending: 1,
            moved_on: 0,
            tasks_published: 2,
            events_published: 2,
            tasks_indexed: 0,
            retried: 1,
        }
    );
    assert_eq!(commands.publisher().drain().len(), 2);
    for id in checks {
        assert!(commands.store().get(id).unwrap().pending_events.is_empty());
    }
}

#[test]
fn the_relay_tells_a_batch_of_checks_from_its_schedule() {
    let scheduled =
        serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    assert!(matches!(
        RelayInvocation::from_payload(scheduled),
        Ok(RelayInvocation::Sweep)
    ));
    let checks = serde_json::json!({"Records": [{"messageId": "m1", "body": "{}"}]});
    match RelayInvocation::from_payload(checks) {
        Ok(RelayInvocation::Checks(event)) => assert_eq!(event.records.len(), 1),
        other => panic!("not read as checks: {other:?}"),
    }
    assert!(RelayInvocation::from_payload(serde_json::json!({"Records": "nope"})).is_err());
}
