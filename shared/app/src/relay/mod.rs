//! Use case: the outbox relay. Publishes events that were committed with their task but never
//! confirmed on the queue (SQS was unreachable, or the function stopped in between): the
//! scheduled sweep of the outbox index here, the outbox check of one task in `check`.

mod check;

pub use check::{CheckOutcome, OUTBOX_CHECK_DELAY, OutboxCheck, check_outbox};

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
    /// Tasks listed with pending events that could not be read (an item the store refuses to
    /// decode, or a read that failed). They stay pending and are skipped, so one bad item does
    /// not hold back every other task's events.
    pub tasks_unreadable: usize,
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
        let stored = match store.load_task(task_id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%task_id, %error, "task with pending events could not be read");
                summary.tasks_unreadable += 1;
                continue;
            }
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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use taskpulse_domain::TaskId;

    use super::*;
    use crate::memory::MemoryTaskStore;
    use crate::ports::StoredTask;
    use crate::tasks::tests::{as_user, commands, new_task};

    /// The in-memory task table, with one task whose item the store refuses to read.
    struct OneUnreadable {
        store: MemoryTaskStore,
        unreadable: TaskId,
    }

    impl ListPendingOutbox for OneUnreadable {
        async fn list_pending_outbox(
            &self,
            before: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<TaskId>, StoreError> {
            self.store.list_pending_outbox(before, limit).await
        }
    }

    impl LoadTask for OneUnreadable {
        async fn load_task(&self, id: TaskId) -> Result<Option<StoredTask>, StoreError> {
            if id == self.unreadable {
                return Err(StoreError::Rejected("task item: missing `version`".into()));
            }
            self.store.load_task(id).await
        }
    }

    impl MarkEventsPublished for OneUnreadable {
        async fn mark_events_published(&self, id: TaskId, version: u64) -> Result<(), StoreError> {
            self.store.mark_events_published(id, version).await
        }
    }

    #[tokio::test]
    async fn a_task_that_cannot_be_read_is_skipped_and_the_others_are_published() {
        let commands = commands();
        commands.publisher().set_unavailable(true);
        let mut ids = vec![];
        for _ in 0..3 {
            let created = commands
                .create_task(&as_user("u1"), new_task())
                .await
                .unwrap();
            ids.push(created.task.id);
        }
        commands.publisher().set_unavailable(false);
        let expected: Vec<_> = ids[1..]
            .iter()
            .flat_map(|id| commands.store().get(*id).unwrap().pending_events)
            .collect();
        // The oldest one: listed first, so skipping it must not end the run.
        let store = OneUnreadable {
            store: commands.store().clone(),
            unreadable: ids[0],
        };

        let summary = relay_pending(
            &store,
            commands.publisher(),
            Utc::now() + TimeDelta::seconds(1),
            10,
        )
        .await
        .unwrap();

        assert_eq!(
            (
                summary.tasks,
                summary.events_published,
                summary.tasks_failed
            ),
            (2, 2, 0)
        );
        assert_eq!(summary.tasks_unreadable, 1);
        assert_eq!(commands.publisher().drain(), expected);
        // The unreadable task keeps its events for a run after its item is repaired.
        let kept = commands.store().get(ids[0]).unwrap().pending_events;
        assert_eq!(kept.len(), 1);
    }
}
