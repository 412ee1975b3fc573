//! The relay's outbox checks: a batch from the checks' queue, each record naming a task whose
//! command scheduled it before its write. Whatever that task still has pending is published and
//! cleared, or handed to the scheduled sweep when the events queue refuses.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use taskpulse_app::metric;
use taskpulse_app::relay::{CheckOutcome, OutboxCheck, check_outbox};
use taskpulse_app::{IndexPendingOutbox, LoadTask, MarkEventsPublished, PublishEvents};

use crate::partial_batch::{PartialBatch, UnreportableFailure};

/// What one batch of checks found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChecksSummary {
    /// Checks of tasks with nothing pending: their commands published (the usual case).
    pub nothing_pending: usize,
    /// Checks whose events the queue refused while a newer command changed the task: that
    /// command's check, or the index, carries them.
    pub moved_on: usize,
    /// Tasks whose pending events a check published: their command's publish had failed, or
    /// the function stopped before it.
    pub tasks_published: usize,
    pub events_published: usize,
    /// Tasks entered into the outbox index because the events queue refused their events.
    pub tasks_indexed: usize,
    /// Checks left for SQS to deliver again: the task could not be read or indexed, or the
    /// body is not a check (it reaches the dead-letter queue after the queue's receives).
    pub retried: usize,
}

impl ChecksSummary {
    /// The batch's counts as metrics: a check that publishes means a command's own publish
    /// failed, one that indexes means the events queue is refusing.
    fn record(&self) {
        let checks = self.nothing_pending
            + self.moved_on
            + self.tasks_published
            + self.tasks_indexed
            + self.retried;
        metrics::counter!(metric::OUTBOX_CHECKS).increment(checks as u64);
        metrics::counter!(metric::OUTBOX_CHECKS_PUBLISHED).increment(self.tasks_published as u64);
        metrics::counter!(metric::OUTBOX_CHECKS_INDEXED).increment(self.tasks_indexed as u64);
        metrics::counter!(metric::OUTBOX_CHECKS_RETRIED).increment(self.retried as u64);
    }
}

/// Runs every check of the batch; reports the ones to deliver again.
pub async fn check_outboxes(
    store: &(impl LoadTask + MarkEventsPublished + IndexPendingOutbox),
    publisher: &impl PublishEvents,
    event: SqsEvent,
) -> Result<(SqsBatchResponse, ChecksSummary), UnreportableFailure> {
    let mut batch = PartialBatch::default();
    let mut summary = ChecksSummary::default();
    for record in event.records {
        let message_id = record.message_id.as_deref();
        // A delivery after the first: an earlier one failed, whatever it got to.
        let redelivered = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse::<u32>().ok())
            .is_some_and(|count| count > 1);
        let outcome = match OutboxCheck::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(check) => check_outbox(store, publisher, check, redelivered)
                .await
                .map_err(|e| e.to_string()),
            Err(reason) => Err(reason),
        };
        match outcome {
            Ok(CheckOutcome::NothingPending) => summary.nothing_pending += 1,
            Ok(CheckOutcome::MovedOn) => summary.moved_on += 1,
            Ok(CheckOutcome::Published(events)) => {
                summary.tasks_published += 1;
                summary.events_published += events;
            }
            Ok(CheckOutcome::Indexed(_)) => summary.tasks_indexed += 1,
            Err(reason) => {
                tracing::warn!(?message_id, %reason, "outbox check left for another delivery");
                summary.retried += 1;
                batch.retry(message_id)?;
            }
        }
    }
    summary.record();
    if summary.tasks_published + summary.tasks_indexed + summary.retried > 0 {
        tracing::info!(
            tasks_published = summary.tasks_published,
            events_published = summary.events_published,
            tasks_indexed = summary.tasks_indexed,
            retried = summary.retried,
            "outbox checks found events their commands did not publish"
        );
    }
    Ok((batch.into_response(), summary))
}

#[cfg(test)]
mod tests;
