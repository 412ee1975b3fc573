//! The ports of the task commands and the outbox relay: the task table and the event queue.

use std::future::Future;

use super::StoreError;
use chrono::{DateTime, Utc};
use taskpulse_domain::{EventEnvelope, EventId, Task, TaskId, TaskStatus, UserId};

/// An event committed with its task and not yet confirmed on the queue: the outbox entry.
/// `body` is the envelope exactly as committed; every (re-)send publishes these bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub event_id: EventId,
    pub event_type: String,
    pub body: String,
    /// When the event was committed; the relay picks up entries older than its grace period.
    pub committed_at: DateTime<Utc>,
}

impl PendingEvent {
    pub fn from_envelope(envelope: &EventEnvelope) -> Self {
        Self {
            event_id: envelope.event_id,
            event_type: envelope.event_type().to_owned(),
            body: envelope.to_json(),
            committed_at: envelope.occurred_at,
        }
    }
}

/// A task as stored: its state and its outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    pub task: Task,
    pub pending_events: Vec<PendingEvent>,
}

/// The result of a command, kept under its idempotency key so that a retried request gets the
/// original answer: the task as the command left it, and whether the command created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub user_id: UserId,
    pub key: String,
    /// Identifies the request (method, path and body); the same key with another request is
    /// refused rather than replayed.
    pub fingerprint: String,
    pub task: Task,
    pub created: bool,
    /// For a create: the id of its `TaskCreated`. A create's record is written before its
    /// task, so a retry that finds the record without the task completes the create with the
    /// same task and the same event. `None` for a change, and in records written before.
    pub created_event: Option<EventId>,
    pub expires_at: DateTime<Utc>,
}

/// One conditional write of a task and its outbox, optionally with an idempotency record.
#[derive(Debug, Clone)]
pub struct TaskWrite<'a> {
    pub task: &'a Task,
    /// The version the decision was based on; `None` for a new task. The write fails with
    /// [`SaveError::VersionConflict`] if the stored version differs.
    pub expected_version: Option<u64>,
    /// The complete outbox after this write: entries still pending from before, then the new ones.
    pub pending_events: &'a [PendingEvent],
    pub idempotency: Option<&'a IdempotencyRecord>,
    /// Enter the task into the sparse outbox index, where the relay's scheduled sweep finds it.
    /// Needed only when no outbox check could be scheduled before this write
    /// ([`ScheduleOutboxCheck`]): a write with pending events and neither would leave them to
    /// the task's next command if this function stopped before publishing them.
    pub outbox_indexed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error("the task is not at the expected version")]
    VersionConflict,
    #[error("the idempotency key was used by another request in the meantime")]
    IdempotencyKeyTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait LoadTask: Send + Sync {
    /// A strongly consistent read of a task and its outbox.
    fn load_task(
        &self,
        id: TaskId,
    ) -> impl Future<Output = Result<Option<StoredTask>, StoreError>> + Send;
}

pub trait SaveTask: Send + Sync {
    /// Writes the task, its outbox and the idempotency record atomically, or nothing.
    fn save_task(&self, write: TaskWrite<'_>)
    -> impl Future<Output = Result<(), SaveError>> + Send;

    /// Stores only an idempotency record, if the key is still free: for a command that changed
    /// nothing, and for a create, whose record is written before its task.
    fn save_idempotency(
        &self,
        record: &IdempotencyRecord,
    ) -> impl Future<Output = Result<(), SaveError>> + Send;
}

pub trait LoadIdempotency: Send + Sync {
    fn load_idempotency(
        &self,
        user_id: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
}

/// Where a page of a listing starts: after the task with this creation time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at: DateTime<Utc>,
    pub task_id: TaskId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<TaskStatus>,
    pub limit: usize,
    pub after: Option<ListCursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Present when more tasks may follow.
    pub next: Option<ListCursor>,
}

impl TaskPage {
    /// The page of `limit` tasks from tasks read in listing order, one more than the page
    /// holds if there are more: then the page ends with a cursor after its last task.
    pub fn from_read(mut tasks: Vec<Task>, limit: usize) -> Self {
        let more = tasks.len() > limit;
        tasks.truncate(limit);
        let next = more.then(|| tasks.last()).flatten().map(|t| ListCursor {
            created_at: t.created_at,
            task_id: t.id,
        });
        Self { tasks, next }
    }
}

pub trait ListTasks: Send + Sync {
    /// The owner's tasks, newest first.
    fn list_tasks(
        &self,
        owner: &UserId,
        query: &ListQuery,
    ) -> impl Future<Output = Result<TaskPage, StoreError>> + Send;
}

/// Clears the outbox of a task once its events are on the queue. Conditional on the version
/// that was published, so events a later command added are never cleared unsent.
pub trait MarkEventsPublished: Send + Sync {
    fn mark_events_published(
        &self,
        task_id: TaskId,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Enters a task whose events could not be published into the sparse outbox index, so that
/// the relay's scheduled sweep takes them over: what an outbox check does when the queue
/// refuses, or before anything else when it is delivered again. Conditional on events still
/// pending, and on `version` when one is given: a task that moved on was written by a command
/// that scheduled its own check or indexed itself. A failed condition is
/// [`StoreError::Conflict`]. A task already in the index keeps its place (its older `oldest`).
pub trait IndexPendingOutbox: Send + Sync {
    fn index_pending_outbox(
        &self,
        task_id: TaskId,
        version: Option<u64>,
        oldest: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Finds tasks whose outbox holds events committed before `before`, oldest first.
pub trait ListPendingOutbox: Send + Sync {
    fn list_pending_outbox(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TaskId>, StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the events could not be published: {reason}", .failed.len())]
pub struct PublishError {
    /// The events that are not on the queue (all of them when the call itself failed).
    pub failed: Vec<EventId>,
    pub reason: String,
}

/// Asks for a task's outbox to be looked at once the relay's grace period has passed, by a
/// message that waits on a queue of its own (`crate::relay::OutboxCheck`). Sent before a write
/// that commits events: if the function stops between that commit and the publish, the check
/// finds the events, so the write needs no entry in the outbox index (two write units fewer).
/// When the check cannot be sent, the write indexes the task instead.
pub trait ScheduleOutboxCheck: Send + Sync {
    fn schedule_outbox_check(
        &self,
        task_id: TaskId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Puts events on the event queue, one message each, bodies exactly as committed.
pub trait PublishEvents: Send + Sync {
    fn publish_events(
        &self,
        events: &[PendingEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
