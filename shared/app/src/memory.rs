//! In-memory adapters of every port: for unit tests, and the embedded backend of the local run.
//! They keep the same guarantees as the DynamoDB and SQS adapters (conditional inserts, atomic
//! apply with a marker), so code tested against them behaves the same against AWS.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::analytics::{Counter, CounterTable, Scope, TransactionPlan};
use taskpulse_domain::{EventEnvelope, Task, TaskId, UserId};

use crate::ports::{
    ApplyTransaction, IdempotencyRecord, ListCursor, ListPendingOutbox, ListQuery, ListTasks,
    LoadIdempotency, LoadTask, MarkEventsPublished, PendingEvent, PublishError, PublishEvents,
    ReadCounters, SaveError, SaveTask, StoreError, StoredTask, TaskPage, TaskWrite,
    TransactionResult,
};

/// A poisoned lock only means another test thread panicked; the data is still consistent
/// because every critical section below is a single map operation.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Default)]
struct TaskState {
    tasks: HashMap<TaskId, StoredTask>,
    idempotency: HashMap<(UserId, String), IdempotencyRecord>,
}

/// Tasks, outboxes and idempotency records in memory, with the same conditional writes as the
/// DynamoDB store. Clones share the same tables, as clones of an SDK client share one service.
#[derive(Debug, Default, Clone)]
pub struct MemoryTaskStore {
    state: Arc<Mutex<TaskState>>,
    unavailable: Arc<AtomicBool>,
}

impl MemoryTaskStore {
    /// Makes every call fail as an unreachable DynamoDB would.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    fn check_available(&self) -> Result<(), StoreError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("task store unavailable".into()));
        }
        Ok(())
    }

    pub fn get(&self, id: TaskId) -> Option<StoredTask> {
        lock(&self.state).tasks.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.state).tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn idempotency_key_free(state: &TaskState, record: &IdempotencyRecord) -> bool {
    state
        .idempotency
        .get(&(record.user_id.clone(), record.key.clone()))
        .is_none_or(|existing| existing.expires_at <= Utc::now())
}

impl LoadTask for MemoryTaskStore {
    async fn load_task(&self, id: TaskId) -> Result<Option<StoredTask>, StoreError> {
        self.check_available()?;
        Ok(self.get(id))
    }
}

impl SaveTask for MemoryTaskStore {
    async fn save_task(&self, write: TaskWrite<'_>) -> Result<(), SaveError> {
        self.check_available()?;
        let mut state = lock(&self.state);
        let stored_version = state.tasks.get(&write.task.id).map(|s| s.task.version);
        if stored_version != write.expected_version {
            return Err(SaveError::VersionConflict);
        }
        if let Some(record) = write.idempotency {
            if !idempotency_key_free(&state, record) {
                return Err(SaveError::IdempotencyKeyTaken);
            }
            state
                .idempotency
                .insert((record.user_id.clone(), record.key.clone()), record.clone());
        }
        state.tasks.insert(
            write.task.id,
            StoredTask {
                task: write.task.clone(),
                pending_events: write.pending_events.to_vec(),
            },
        );
        Ok(())
    }

    async fn save_idempotency(&self, record: &IdempotencyRecord) -> Result<(), SaveError> {
        let mut state = lock(&self.state);
        if !idempotency_key_free(&state, record) {
            return Err(SaveError::IdempotencyKeyTaken);
        }
        state
            .idempotency
            .insert((record.user_id.clone(), record.key.clone()), record.clone());
        Ok(())
    }
}

impl LoadIdempotency for MemoryTaskStore {
    async fn load_idempotency(
        &self,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.check_available()?;
        Ok(lock(&self.state)
            .idempotency
            .get(&(user_id.clone(), key.to_owned()))
            .cloned())
    }
}

impl ListTasks for MemoryTaskStore {
    async fn list_tasks(&self, owner: &UserId, query: &ListQuery) -> Result<TaskPage, StoreError> {
        self.check_available()?;
        let state = lock(&self.state);
        let mut tasks: Vec<&Task> = state
            .tasks
            .values()
            .map(|s| &s.task)
            .filter(|t| &t.owner == owner)
            .collect();
        // Newest first, as the DynamoDB index is read.
        tasks.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
        let after = query.after.as_ref().map(|c| (c.created_at, c.task_id));
        let matching: Vec<Task> = tasks
            .into_iter()
            .filter(|t| after.is_none_or(|after| (t.created_at, t.id) < after))
            .filter(|t| query.status.is_none_or(|s| t.status() == s))
            .take(query.limit + 1)
            .cloned()
            .collect();
        let more = matching.len() > query.limit;
        let tasks: Vec<Task> = matching.into_iter().take(query.limit).collect();
        let next = more.then(|| tasks.last()).flatten().map(|t| ListCursor {
            created_at: t.created_at,
            task_id: t.id,
        });
        Ok(TaskPage { tasks, next })
    }
}

impl MarkEventsPublished for MemoryTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        match lock(&self.state).tasks.get_mut(&task_id) {
            Some(stored) if stored.task.version == version => {
                stored.pending_events.clear();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

impl ListPendingOutbox for MemoryTaskStore {
    async fn list_pending_outbox(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskId>, StoreError> {
        let state = lock(&self.state);
        let mut pending: Vec<(DateTime<Utc>, TaskId)> = state
            .tasks
            .values()
            .filter_map(|s| Some((s.pending_events.first()?.committed_at, s.task.id)))
            .filter(|(since, _)| *since < before)
            .collect();
        pending.sort();
        Ok(pending.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}

/// A queue of published events; can be switched to refuse, like an unreachable SQS.
#[derive(Debug, Default)]
pub struct MemoryEventQueue {
    messages: Mutex<Vec<PendingEvent>>,
    unavailable: Mutex<bool>,
}

impl MemoryEventQueue {
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.unavailable) = unavailable;
    }

    /// Takes every message published so far.
    pub fn drain(&self) -> Vec<PendingEvent> {
        std::mem::take(&mut *lock(&self.messages))
    }

    /// Takes every message published so far, parsed.
    pub fn drain_envelopes(&self) -> Vec<EventEnvelope> {
        self.drain()
            .iter()
            .filter_map(|m| EventEnvelope::from_json(&m.body).ok())
            .collect()
    }
}

impl PublishEvents for MemoryEventQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        if *lock(&self.unavailable) {
            return Err(PublishError {
                failed: events.iter().map(|e| e.event_id).collect(),
                reason: "queue unavailable".into(),
            });
        }
        lock(&self.messages).extend_from_slice(events);
        Ok(())
    }
}

/// Counter items in memory, with the same all-or-nothing, applied-once semantics as DynamoDB.
/// Clones share the same table.
#[derive(Debug, Default, Clone)]
pub struct MemoryAnalyticsStore {
    table: Arc<Mutex<CounterTable>>,
}

impl MemoryAnalyticsStore {
    /// Whether `event` is recorded as applied on its owner's day item.
    pub fn is_applied(&self, event: &EventEnvelope) -> bool {
        lock(&self.table).is_applied(
            &event.user_id,
            event.occurred_at.date_naive(),
            event.event_id,
        )
    }
}

impl ApplyTransaction for MemoryAnalyticsStore {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        Ok(match lock(&self.table).commit(plan) {
            Ok(()) => TransactionResult::Committed { write_units: 0.0 },
            Err(duplicates) => TransactionResult::AlreadyApplied(duplicates),
        })
    }
}

impl ReadCounters for MemoryAnalyticsStore {
    async fn read_days(
        &self,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        Ok(lock(&self.table).days(scope, from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::relay_pending;
    use crate::{
        CommandContext, CommandError, IdempotencyKey, NewTask, TaskCommands, apply_events,
    };
    use taskpulse_domain::analytics::{CounterKey, PlanLimits};
    use taskpulse_domain::{Priority, TaskCommand, TaskStatus, Title};

    type Commands = TaskCommands<MemoryTaskStore, MemoryEventQueue>;

    fn commands() -> Commands {
        TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default())
    }

    fn new_task() -> NewTask {
        NewTask {
            title: Title::parse("Plan sprint").unwrap(),
            description: None,
            priority: Priority::High,
            planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    fn as_user(user: &str) -> CommandContext {
        CommandContext::caller(UserId::parse(user).unwrap())
    }

    fn with_key(user: &str, key: &str, fingerprint: &str) -> CommandContext {
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
        let outcome = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap();
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
        let outcome = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap();
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
        let created = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap();
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
        let outcome = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap();
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
        let id = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap()
            .task
            .id;
        let stale = CommandContext {
            if_match: Some(7),
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
            if_match: Some(1),
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

    #[tokio::test]
    async fn a_no_op_emits_nothing_and_keeps_the_version() {
        let commands = commands();
        let id = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap()
            .task
            .id;
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
            ids.push(
                commands
                    .create_task(&as_user("u1"), new_task())
                    .await
                    .unwrap()
                    .task
                    .id,
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        commands
            .create_task(&as_user("u2"), new_task())
            .await
            .unwrap();
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

    #[tokio::test]
    async fn an_event_applies_once_however_often_it_arrives() {
        let commands = commands();
        let owner = UserId::parse("u1").unwrap();
        let task = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap()
            .task;
        let events = commands.publisher().drain_envelopes();
        let store = MemoryAnalyticsStore::default();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let first = apply_events(&store, &events, &PlanLimits::default(), deadline).await;
        let second = apply_events(&store, &events, &PlanLimits::default(), deadline).await;
        assert_eq!((first.applied.len(), first.duplicates.len()), (1, 0));
        assert_eq!((second.applied.len(), second.duplicates.len()), (0, 1));
        assert!(store.is_applied(&events[0]));
        let key = CounterKey {
            scope: Scope::User(owner),
            day: task.created_at.date_naive(),
        };
        let counters = store.read_counters(&key).await.unwrap();
        assert_eq!(counters.get(&Counter::Created), Some(&1));
    }
}
