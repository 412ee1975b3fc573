//! Idempotent commands against the in-memory adapters: replays, and creates that stopped
//! between their two writes.

use taskpulse_domain::{EventId, UserId};

use super::tests::{Commands, commands, new_task, with_key};
use super::*;
use crate::ports::IdempotencyRecord;
use crate::relay::relay_pending;

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_request() {
    let commands = commands();
    let first = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    let again = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert!(again.replayed && again.created);
    assert_eq!(again.task, first.task);
    assert_eq!(commands.store().len(), 1, "the retry created nothing");
    assert_eq!(
        commands.publisher().drain().len(),
        1,
        "the retry emitted nothing"
    );
    assert_eq!(
        commands
            .create_task(&with_key("u1", "k1", "body-b"), new_task())
            .await,
        Err(CommandError::IdempotencyKeyReused)
    );
    // Keys belong to their user.
    let other = commands
        .create_task(&with_key("u2", "k1", "body-b"), new_task())
        .await
        .unwrap();
    assert!(!other.replayed);
}

/// A create's record as written before its task, as a create that stopped between its two
/// writes leaves it: the record and no task.
async fn a_create_stopped_after_its_record(into: &Commands) -> (IdempotencyRecord, EventId) {
    let context = with_key("u1", "k1", "body-a");
    // The same create decided by a store of its own, to lift its record from.
    let elsewhere = commands();
    let outcome = elsewhere.create_task(&context, new_task()).await.unwrap();
    let event_id = outcome.events[0].event_id;
    let record = elsewhere
        .store()
        .load_idempotency(&context.caller, "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.created_event, Some(event_id));
    into.store().save_idempotency(&record).await.unwrap();
    assert!(into.store().get(outcome.task.id).is_none());
    (record, event_id)
}

#[tokio::test]
async fn a_retry_completes_a_create_whose_task_was_never_written_with_the_same_event() {
    let commands = commands();
    let (record, event_id) = a_create_stopped_after_its_record(&commands).await;

    let retry = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert!(retry.replayed && retry.created);
    assert_eq!(retry.task, record.task);
    let stored = commands.store().get(record.task.id).unwrap();
    assert_eq!(stored.task, record.task);
    assert!(stored.pending_events.is_empty(), "sent and cleared");
    let sent = commands.publisher().drain_envelopes();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].event_id, event_id, "the event the create decided");
    assert_eq!(sent[0].occurred_at, record.task.created_at);

    // Another retry finds the task: nothing more is written or sent.
    let again = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert_eq!(again.task, record.task);
    assert!(commands.publisher().drain().is_empty());
    assert_eq!(commands.store().len(), 1);
}

#[tokio::test]
async fn a_retry_after_the_owner_changed_zone_completes_the_create_with_the_record_s_due_day() {
    use crate::ports::{SaveUserSettings, UserSettings};
    let commands = commands();
    // Decided in UTC: planned for 2030-01-01T00:00Z, due that day.
    let (record, event_id) = a_create_stopped_after_its_record(&commands).await;
    assert_eq!(record.task.planned_local_day, None);
    // In Pago Pago (UTC-11) that planned date is 2029-12-31.
    let owner = UserId::parse("u1").unwrap();
    let settings = UserSettings {
        time_zone: taskpulse_domain::TimeZone::parse("Pacific/Pago_Pago").unwrap(),
    };
    commands
        .store()
        .save_user_settings(&owner, &settings)
        .await
        .unwrap();
    let retry = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert!(retry.replayed && retry.created);
    assert_eq!(
        commands.store().get(record.task.id).unwrap().task,
        record.task
    );
    let sent = commands.publisher().drain_envelopes();
    assert_eq!(sent[0].event_id, event_id);
    match &sent[0].event {
        taskpulse_domain::TaskEvent::Created(created) => assert_eq!(
            created.planned_local_day, None,
            "due on the day the written task says"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_completed_create_left_pending_when_the_queue_is_down_is_relayed() {
    let commands = commands();
    let (record, event_id) = a_create_stopped_after_its_record(&commands).await;
    commands.publisher().set_unavailable(true);
    let retry = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert_eq!(retry.task, record.task);
    let pending = commands.store().get(record.task.id).unwrap().pending_events;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event_id, event_id);

    commands.publisher().set_unavailable(false);
    relay_pending(
        commands.store(),
        commands.publisher(),
        Utc::now() + chrono::TimeDelta::seconds(1),
        10,
    )
    .await
    .unwrap();
    assert_eq!(commands.publisher().drain(), pending);
}

#[tokio::test]
async fn a_keyed_create_on_an_unreachable_store_claims_nothing() {
    let commands = commands();
    commands.store().set_unavailable(true);
    let refused = commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await;
    assert!(
        matches!(refused, Err(CommandError::Unavailable(_))),
        "{refused:?}"
    );
    commands.store().set_unavailable(false);
    let caller = UserId::parse("u1").unwrap();
    assert_eq!(
        commands
            .store()
            .load_idempotency(&caller, "k1")
            .await
            .unwrap(),
        None
    );
    assert!(commands.store().is_empty());
}

#[tokio::test]
async fn creates_with_one_key_make_one_task_and_one_event() {
    let commands = commands();
    let context = with_key("u1", "k-race", "body-a");
    let attempt = || commands.create_task(&context, new_task());
    let (a, b, c, d) = tokio::join!(attempt(), attempt(), attempt(), attempt());
    let answers = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    assert_eq!(commands.store().len(), 1);
    assert!(
        answers
            .iter()
            .all(|a| a.task == answers[0].task && a.created)
    );
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    assert_eq!(commands.publisher().drain().len(), 1);
}

#[tokio::test]
async fn a_completed_create_schedules_its_check_and_leaves_the_index_to_it() {
    use crate::ports::ListPendingOutbox;
    let commands = commands();
    let (record, _) = a_create_stopped_after_its_record(&commands).await;
    // The retry's publish is refused after its check went out.
    commands.publisher().set_events_refused(true);
    commands
        .create_task(&with_key("u1", "k1", "body-a"), new_task())
        .await
        .unwrap();
    assert_eq!(commands.publisher().drain_checks(), vec![record.task.id]);
    let stored = commands.store().get(record.task.id).unwrap();
    assert_eq!(stored.pending_events.len(), 1);
    let swept = commands
        .store()
        .list_pending_outbox(Utc::now() + chrono::TimeDelta::hours(1), 10)
        .await
        .unwrap();
    assert!(swept.is_empty(), "{swept:?}");
}
