//! Use case: the outbox relay. Publishes events that were committed with their task but never
//! confirmed on the queue (SQS was unreachable, or the function stopped in between).

use chrono::{DateTime, Utc};

use crate::ports::{ListPendingOutbox, LoadTask, MarkEventsPublished, PublishEvents, StoreError};
use crate::tasks::publish_and_clear;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelaySummary {
    /// Tasks found with pending events.
    pub tasks: usize,
    /// Events sent to the queue (a task's whole outbox at a time).
    pub events_published: usize,
    /// Tasks whose events could not be sent this time; they stay pending.
    pub tasks_failed: usize,
    /// When the oldest pending event found was committed.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Publishes the outbox of every task with events committed before `before`, at most
/// `max_tasks` tasks per call. Events are re-sent byte for byte as committed; sending one twice
/// is harmless because consumers deduplicate on `eventId`.
pub async fn relay_pending(
    store: &(impl ListPendingOutbox + LoadTask + MarkEventsPublished),
    publisher: &impl PublishEvents,
    before: DateTime<Utc>,
    max_tasks: usize,
) -> Result<RelaySummary, StoreError> {
    let mut summary = RelaySummary::default();
    let mut oldest: Option<DateTime<Utc>> = None;
    for task_id in store.list_pending_outbox(before, max_tasks).await? {
        // The index is eventually consistent: read the task itself for its current outbox.
        let Some(stored) = store.load_task(task_id).await? else {
            continue;
        };
        if stored.pending_events.is_empty() {
            continue;
        }
        summary.tasks += 1;
        let pending = &stored.pending_events;
        if let Some(first) = pending.iter().map(|p| p.committed_at).min() {
            oldest = Some(oldest.map_or(first, |o| o.min(first)));
        }
        if publish_and_clear(store, publisher, task_id, stored.task.version, pending).await {
            summary.events_published += pending.len();
        } else {
            summary.tasks_failed += 1;
        }
    }
    summary.oldest_pending = oldest;
    Ok(summary)
}
