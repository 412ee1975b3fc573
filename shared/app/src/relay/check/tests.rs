//! Outbox checks against the in-memory adapters: what a command leaves to its check, and what
//! the check does with it.

use chrono::{DateTime, TimeDelta, Utc};
use taskpulse_domain::{TaskCommand, TaskId, TaskStatus};

use super::*;
use crate::memory::MemoryTaskStore;
use crate::ports::{ListPendingOutbox, SaveTask, StoredTask, TaskWrite};
use crate::relay::relay_pending;
use crate::tasks::tests::{Commands, as_user, commands, new_task};

/// The tasks the sweep would take now: those in the outbox index.
async fn indexed(commands: &Commands) -> Vec<TaskId> {
    let after_any_grace = Utc::now() + TimeDelta::hours(1);
    commands
        .store()
        .list_pending_outbox(after_any_grace, 10)
        .await
        .unwrap()
}

/// Creates a task of `u1`'s whose event the events queue refused after its check went out;
/// the queue goes on refusing.
async fn create_refused(commands: &Commands) -> TaskId {
    commands.publisher().set_events_refused(true);
    let created = commands
        .create_task(&as_user("u1"), new_task())
        .await
        .unwrap();
    created.task.id
}

/// The check of `task_id` run against the commands' own table and queue.
async fn check(
    commands: &Commands,
    task_id: TaskId,
    redelivered: bool,
) -> Result<CheckOutcome, StoreError> {
    check_outbox(
        commands.store(),
        commands.publisher(),
        OutboxCheck { task_id },
        redelivered,
    )
    .await
}

/// The check of `task_id` run against the commands' table with `fault`, and their queue.
async fn check_with_fault(
    commands: &Commands,
    fault: Fault,
    task_id: TaskId,
    redelivered: bool,
) -> Result<CheckOutcome, StoreError> {
    let table = WithFault {
        table: commands.store().clone(),
        fault,
    };
    check_outbox(
        &table,
        commands.publisher(),
        OutboxCheck { task_id },
        redelivered,
    )
    .await
}

#[tokio::test]
async fn a_command_whose_publish_failed_after_its_check_is_published_by_the_check() {
    // Given a create and a change whose events the queue refused after their checks went out.
    let commands = commands();
    let id = create_refused(&commands).await;
    let change = TaskCommand::ChangeStatus {
        status: TaskStatus::InProgress,
        at: None,
    };
    commands
        .change_task(&as_user("u1"), id, change)
        .await
        .unwrap();
    commands.publisher().set_events_refused(false);
    let pending = commands.store().get(id).unwrap().pending_events;
    assert_eq!(pending.len(), 2);
    // Then neither write entered the outbox index: the sweep sees nothing.
    assert!(indexed(&commands).await.is_empty());
    let checks = commands.publisher().drain_checks();
    assert_eq!(checks, vec![id, id], "one check per command");

    // When the checks arrive, the first publishes both events as committed and clears them;
    // the second finds nothing left.
    let first = check(&commands, checks[0], false).await.unwrap();
    let second = check(&commands, checks[1], false).await.unwrap();
    assert_eq!(
        (first, second),
        (CheckOutcome::Published(2), CheckOutcome::NothingPending)
    );
    assert_eq!(commands.publisher().drain(), pending);
    assert!(commands.store().get(id).unwrap().pending_events.is_empty());
}

#[tokio::test]
async fn a_check_whose_publish_is_refused_hands_the_task_to_the_sweep() {
    let commands = commands();
    let id = create_refused(&commands).await;

    // The events queue still refuses when the check arrives.
    let outcome = check(&commands, id, false).await.unwrap();
    assert_eq!(outcome, CheckOutcome::Indexed(1));
    assert_eq!(indexed(&commands).await, vec![id]);

    // Once it takes them, the sweep publishes and clears them.
    commands.publisher().set_events_refused(false);
    let far_ahead = Utc::now() + TimeDelta::hours(1);
    let summary = relay_pending(commands.store(), commands.publisher(), far_ahead, 10)
        .await
        .unwrap();
    assert_eq!(summary.events_published, 1);
    assert_eq!(commands.publisher().drain().len(), 1);
    assert!(commands.store().get(id).unwrap().pending_events.is_empty());
    assert!(indexed(&commands).await.is_empty());
}

#[tokio::test]
async fn a_command_that_cannot_schedule_its_check_indexes_its_task() {
    let commands = commands();
    commands.publisher().set_unavailable(true);
    let created = commands
        .create_task(&as_user("u1"), new_task())
        .await
        .unwrap();
    commands.publisher().set_unavailable(false);
    assert!(commands.publisher().drain_checks().is_empty());
    assert_eq!(indexed(&commands).await, vec![created.task.id]);
}

#[tokio::test]
async fn a_check_of_a_published_or_missing_task_does_nothing() {
    let commands = commands();
    let created = commands
        .create_task(&as_user("u1"), new_task())
        .await
        .unwrap();
    assert_eq!(commands.publisher().drain().len(), 1);
    let missing = TaskId::from_uuid(uuid::Uuid::now_v7());
    for task_id in [created.task.id, missing] {
        for redelivered in [false, true] {
            let outcome = check(&commands, task_id, redelivered).await.unwrap();
            assert_eq!(outcome, CheckOutcome::NothingPending);
        }
    }
    assert!(commands.publisher().drain().is_empty());
    assert!(indexed(&commands).await.is_empty());
}

#[tokio::test]
async fn a_redelivered_check_indexes_its_task_before_it_reads_it() {
    let commands = commands();
    let id = create_refused(&commands).await;
    // The first delivery failed before it read the task: the store refused every call.
    commands.store().set_unavailable(true);
    assert!(check(&commands, id, false).await.is_err());
    commands.store().set_unavailable(false);
    // Delivered again, with the item unreadable this time: the task is indexed all the same.
    let second = check_with_fault(&commands, Fault::UnreadableItems, id, true).await;
    assert!(second.is_err(), "{second:?}");
    assert_eq!(indexed(&commands).await, vec![id]);
}

#[tokio::test]
async fn a_refused_check_leaves_a_task_that_moved_on_to_the_command_that_moved_it() {
    let commands = commands();
    let id = create_refused(&commands).await;
    // A newer command commits between the check's read and its index write; its own check
    // (or its index entry) carries the events on.
    let outcome = check_with_fault(&commands, Fault::NewerWriteFirst, id, false)
        .await
        .unwrap();
    assert_eq!(outcome, CheckOutcome::MovedOn);
    assert!(indexed(&commands).await.is_empty());
    let stored = commands.store().get(id).unwrap();
    assert_eq!(stored.task.version, 2);
    assert_eq!(stored.pending_events.len(), 1, "still pending, not cleared");
}

/// The in-memory task table with one fault.
struct WithFault {
    table: MemoryTaskStore,
    fault: Fault,
}

enum Fault {
    /// Every task item is unreadable.
    UnreadableItems,
    /// A newer write of the task lands just before an index write conditional on a version.
    NewerWriteFirst,
}

impl LoadTask for WithFault {
    async fn load_task(&self, id: TaskId) -> Result<Option<StoredTask>, StoreError> {
        match self.fault {
            Fault::UnreadableItems => {
                Err(StoreError::Rejected("task item: missing `version`".into()))
            }
            Fault::NewerWriteFirst => self.table.load_task(id).await,
        }
    }
}

impl MarkEventsPublished for WithFault {
    async fn mark_events_published(&self, id: TaskId, version: u64) -> Result<(), StoreError> {
        self.table.mark_events_published(id, version).await
    }
}

impl IndexPendingOutbox for WithFault {
    async fn index_pending_outbox(
        &self,
        id: TaskId,
        version: Option<u64>,
        oldest: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let (Fault::NewerWriteFirst, Some(_), Some(stored)) =
            (&self.fault, version, self.table.get(id))
        {
            let mut task = stored.task.clone();
            task.version += 1;
            let write = TaskWrite {
                task: &task,
                expected_version: Some(stored.task.version),
                pending_events: &stored.pending_events,
                idempotency: None,
                outbox_indexed: false,
            };
            self.table
                .save_task(write)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        }
        self.table.index_pending_outbox(id, version, oldest).await
    }
}

#[test]
fn a_check_reads_back_what_it_writes_and_refuses_other_bodies() {
    let check = OutboxCheck {
        task_id: "0193a2c4-5a6b-7c8d-9e0f-123456789abc".parse().unwrap(),
    };
    assert_eq!(
        check.to_body(),
        r#"{"taskId":"0193a2c4-5a6b-7c8d-9e0f-123456789abc"}"#
    );
    assert_eq!(OutboxCheck::parse(&check.to_body()), Ok(check));
    for body in ["", "{}", r#"{"taskId":"not-a-uuid"}"#, r#"{"eventId":"x"}"#] {
        assert!(OutboxCheck::parse(body).is_err(), "{body:?}");
    }
}
