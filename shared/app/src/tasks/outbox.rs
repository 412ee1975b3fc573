//! The command's side of the outbox: the check scheduled before a write that commits events,
//! and the publish and clearing after it (which the relay shares).

use taskpulse_domain::{Task, TaskId};

use super::{CommandQueues, CommandStore, TaskCommands};
use crate::metric;
use crate::ports::{MarkEventsPublished, PendingEvent, PublishEvents, StoreError};

impl<S, P> TaskCommands<S, P>
where
    S: CommandStore,
    P: CommandQueues,
{
    /// Schedules the outbox check of `task_id`, sent before the write that commits its
    /// events. Answers whether that write must enter the outbox index instead: it must when
    /// the check could not be sent (the queue is down, most likely for the events too).
    pub(super) async fn schedule_outbox_check(&self, task_id: TaskId) -> bool {
        match self.publisher.schedule_outbox_check(task_id).await {
            Ok(()) => false,
            Err(error) => {
                tracing::warn!(%task_id, %error, "no outbox check scheduled: the write indexes its task");
                metrics::counter!(metric::OUTBOX_CHECKS_NOT_SCHEDULED).increment(1);
                true
            }
        }
    }

    /// Sends the outbox of a committed write. A failure does not fail the command: the events
    /// stay pending on the task and the command's outbox check, the relay's sweep or the
    /// task's next command sends them.
    pub(super) async fn publish(&self, task: &Task, pending: &[PendingEvent]) {
        publish_and_clear(&self.store, &self.publisher, task.id, task.version, pending).await;
    }
}

/// Publishes a task's outbox and, if every event is on the queue, clears it. Returns whether
/// the events were published.
pub(crate) async fn publish_and_clear(
    store: &impl MarkEventsPublished,
    publisher: &impl PublishEvents,
    task_id: TaskId,
    version: u64,
    pending: &[PendingEvent],
) -> bool {
    if pending.is_empty() {
        return true;
    }
    if let Err(error) = publisher.publish_events(pending).await {
        tracing::warn!(%task_id, %error, "events left pending for the outbox relay");
        metrics::counter!(metric::OUTBOX_EVENTS_LEFT_PENDING).increment(error.failed.len() as u64);
        return false;
    }
    metrics::counter!(metric::EVENTS_PUBLISHED).increment(pending.len() as u64);
    match store.mark_events_published(task_id, version).await {
        Ok(()) => {}
        // A later command committed more events; it (or the relay) publishes the whole outbox.
        Err(StoreError::Conflict) => {}
        Err(error) => {
            // Harmless beyond a repeat: the relay re-sends them and the consumer deduplicates.
            tracing::warn!(%task_id, %error, "published events could not be marked sent");
        }
    }
    true
}
