//! Ports: what the use cases need from storage and messaging, one operation per trait.

use std::collections::BTreeMap;
use std::future::Future;

use taskpulse_domain::analytics::{Counter, CounterKey, CounterUpdate};
use taskpulse_domain::{EventEnvelope, EventId, Task, TaskId};

use crate::analytics::ApplyOutcome;

/// A storage call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state (it exists, or its version moved).
    #[error("the item changed concurrently or already exists")]
    Conflict,
    /// The store could not be reached or refused for capacity; trying again later may succeed.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// The call itself was wrong (validation, permissions, missing table): retrying will not help.
    #[error("storage rejected the request: {0}")]
    Rejected(String),
}

/// Stores a new task together with the events that created it (the transactional outbox):
/// the events stay pending on the task until [`MarkEventsPublished`] clears them.
pub trait InsertTask: Send + Sync {
    fn insert_task(
        &self,
        task: &Task,
        pending_events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Clears the pending events of a task once they are on the queue. Conditional on the version
/// that wrote them, so a later command's pending events are never cleared by mistake.
pub trait MarkEventsPublished: Send + Sync {
    fn mark_events_published(
        &self,
        task_id: TaskId,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the events could not be published: {reason}", .failed.len())]
pub struct PublishError {
    /// The events that are not on the queue (all of them when the call itself failed).
    pub failed: Vec<EventId>,
    pub reason: String,
}

/// Puts events on the event queue, one message each.
pub trait PublishEvents: Send + Sync {
    fn publish_events(
        &self,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Applies one event's counter updates together with its dedupe marker, atomically: either the
/// counters move and the marker is written, or neither happens.
pub trait ApplyEventOnce: Send + Sync {
    fn apply_event_once(
        &self,
        event: &EventEnvelope,
        updates: &[CounterUpdate],
    ) -> impl Future<Output = Result<ApplyOutcome, StoreError>> + Send;
}

/// Reads one counter item; counters never written read as absent.
pub trait ReadCounters: Send + Sync {
    fn read_counters(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<BTreeMap<Counter, i64>, StoreError>> + Send;
}
