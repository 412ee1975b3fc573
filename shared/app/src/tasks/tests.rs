//! The task commands against the in-memory adapters.

use chrono::Utc;
use taskpulse_domain::{Priority, TaskCommand, TaskId, TaskStatus, Title, UserId};

use super::*;
use crate::memory::{MemoryEventQueue, MemoryTaskStore};
use crate::ports::ListQuery;
use crate::relay::relay_pending;

pub(crate) type Commands = TaskCommands<MemoryTaskStore, MemoryEventQueue>;

pub(crate) fn commands() -> Commands {
    TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default())
}

pub(crate) fn new_task() -> NewTask {
    NewTask {
        title: Title::parse("Plan sprint").unwrap(),
        description: None,
        priority: Priority::High,
        planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
    }
}

pub(crate) fn as_user(user: &str) -> CommandContext {
    CommandContext::caller(UserId::parse(user).unwrap())
}

/// Creates a task of `new_task()` for `user`.
async fn create(commands: &Commands, user: &str) -> CommandOutcome {
    commands
        .create_task(&as_user(user), new_task())
        .await
        .unwrap()
}

pub(crate) fn with_key(user: &str, key: &str, fingerprint: &str) -> CommandContext {
    CommandContext {
        idempotency: Some(IdempotencyKey {
            key: key.into(),
            fingerprint: fingerprint.into(),
        }),
        ..as_user(user)
    }
}

#[tokio::test]
async fn create_publishes_and_clears_the_outbox() {
    let commands = commands();
    let outcome = create(&commands, "u1").await;
    let stored = commands.store().get(outcome.task.id).unwrap();
    assert_eq!(stored.task, outcome.task);
    assert!(
        stored.pending_events.is_empty(),
        "published events are cleared"
    );
    assert_eq!(commands.publisher().drain().len(), 1);
}

#[tokio::test]
async fn unpublished_events_stay_pending_and_the_relay_sends_them_as_committed() {
    let commands = commands();
    commands.publisher().set_unavailable(true);
    let outcome = create(&commands, "u1").await;
    let pending = commands
        .store()
        .get(outcome.task.id)
        .unwrap()
        .pending_events;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event_type, "TaskCreated");

    commands.publisher().set_unavailable(false);
    let summary = relay_pending(
        commands.store(),
        commands.publisher(),
        Utc::now() + chrono::TimeDelta::seconds(1),
        10,
    )
    .await
    .unwrap();
    assert_eq!(summary.events_published, 1);
    assert_eq!(commands.publisher().drain(), pending);
    assert!(
        commands
            .store()
            .get(outcome.task.id)
            .unwrap()
            .pending_events
            .is_empty()
    );
}

#[tokio::test]
async fn pending_events_of_an_earlier_command_go_out_with_the_next_one() {
    let commands = commands();
    commands.publisher().set_unavailable(true);
    let created = create(&commands, "u1").await;
    commands.publisher().set_unavailable(false);
    let changed = commands
        .change_task(
            &as_user("u1"),
            created.task.id,
            TaskCommand::ChangePriority {
                priority: Priority::Low,
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.task.version, 2);
    let sent: Vec<u64> = commands
        .publisher()
        .drain_envelopes()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sent, [1, 2]);
}

#[tokio::test]
async fn other_users_tasks_are_not_found() {
    let commands = commands();
    let outcome = create(&commands, "u1").await;
    let id = outcome.task.id;
    assert_eq!(
        commands.get_task(&UserId::parse("u2").unwrap(), id).await,
        Err(CommandError::NotFound)
    );
    let change = TaskCommand::ChangePriority {
        priority: Priority::Low,
    };
    assert_eq!(
        commands.change_task(&as_user("u2"), id, change).await,
        Err(CommandError::NotFound)
    );
}

#[tokio::test]
async fn if_match_must_name_the_current_version() {
    let commands = commands();
    let id = create(&commands, "u1").await.task.id;
    let stale = CommandContext {
        if_match: Some(IfMatch::Versions(vec![7])),
        ..as_user("u1")
    };
    let change = TaskCommand::ChangePriority {
        priority: Priority::Low,
    };
    assert_eq!(
        commands.change_task(&stale, id, change.clone()).await,
        Err(CommandError::PreconditionFailed {
            current_version: Some(1)
        })
    );
    let fresh = CommandContext {
        if_match: Some(IfMatch::Versions(vec![1])),
        ..as_user("u1")
    };
    assert_eq!(
        commands
            .change_task(&fresh, id, change)
            .await
            .unwrap()
            .task
            .version,
        2
    );
}

#[tokio::test]
async fn a_no_op_emits_nothing_and_keeps_the_version() {
    let commands = commands();
    let id = create(&commands, "u1").await.task.id;
    commands.publisher().drain();
    let same = TaskCommand::ChangeStatus {
        status: TaskStatus::New,
        at: None,
    };
    let outcome = commands
        .change_task(&as_user("u1"), id, same)
        .await
        .unwrap();
    assert_eq!(outcome.task.version, 1);
    assert!(outcome.events.is_empty());
    assert!(commands.publisher().drain().is_empty());
}

#[tokio::test]
async fn listing_is_newest_first_filtered_and_paginated() {
    let commands = commands();
    let mut ids = vec![];
    for _ in 0..5 {
        ids.push(create(&commands, "u1").await.task.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    create(&commands, "u2").await;
    let change = TaskCommand::ChangeStatus {
        status: TaskStatus::InProgress,
        at: None,
    };
    commands
        .change_task(&as_user("u1"), ids[1], change)
        .await
        .unwrap();
    let user = UserId::parse("u1").unwrap();
    let first = commands
        .list_tasks(
            &user,
            &ListQuery {
                status: None,
                limit: 3,
                after: None,
            },
        )
        .await
        .unwrap();
    let got: Vec<TaskId> = first.tasks.iter().map(|t| t.id).collect();
    assert_eq!(got, [ids[4], ids[3], ids[2]]);
    let second = commands
        .list_tasks(
            &user,
            &ListQuery {
                status: None,
                limit: 3,
                after: first.next,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        second.tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );
    assert!(second.next.is_none());
    let in_progress = commands
        .list_tasks(
            &user,
            &ListQuery {
                status: Some(TaskStatus::InProgress),
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        in_progress.tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ids[1]]
    );
}
