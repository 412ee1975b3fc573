//! The eraser's batch handler: each record names a user whose erasure to advance, or an
//! archive day of it to rewrite. An erasure runs page by page until it is complete, must
//! wait, or the invocation's time is nearly out; what is left continues in a new work message
//! (delayed until the wait ends), so no invocation sleeps and none runs out of time mid-page.
//! The archive days it hands out are messages on the same queue, so as many invocations as
//! the queue's mapping allows rewrite them side by side.
//!
//! Logs and metrics name no user: a record is named by its message id.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{NaiveDate, TimeDelta, Utc};
use taskpulse_app::erasure::{Advance, DayRewrite, Eraser, ErasureAnalytics, ErasureTasks};
use taskpulse_app::ports::ReplaceArchiveObject;
use taskpulse_app::{MAX_WORK_DELAY, PublishEvents, ReadArchive, SendWork, metric};
use taskpulse_domain::UserId;
use tokio::time::Instant;

use super::work::{ArchiveDayMessages, ErasureWork};
use crate::partial_batch::{PartialBatch, UnreportableFailure};

/// What the eraser works with: the task table, the event queue, the analytics table, the
/// event archive, the erasure work queue (for continuations) and the settle time.
pub struct ErasureWorker<T, P, A, R, W> {
    pub tasks: T,
    pub publisher: P,
    pub analytics: A,
    pub archive: R,
    pub work: W,
    pub settle: TimeDelta,
}

/// What one batch did, for logs, metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErasureBatchSummary {
    pub records: usize,
    pub completed: usize,
    /// Erasures with work left, continued in a new message.
    pub continued: usize,
    /// Archive days rewritten.
    pub archive_days: usize,
    /// Records naming a user without an erasure record, or an archive day of an erasure past
    /// its archive steps (nothing to do).
    pub not_requested: usize,
    /// Records that are no erasure work message.
    pub poison: usize,
    /// Records whose store or queue call failed (SQS delivers them again).
    pub failed: usize,
}

impl<T, P, A, R, W> ErasureWorker<T, P, A, R, W>
where
    T: ErasureTasks,
    P: PublishEvents,
    A: ErasureAnalytics,
    R: ReadArchive + ReplaceArchiveObject,
    W: SendWork,
{
    /// Advances the erasure of each record's user until `deadline`, and reports the records
    /// to retry.
    pub async fn handle_batch(
        &self,
        batch: SqsEvent,
        deadline: Instant,
    ) -> Result<(SqsBatchResponse, ErasureBatchSummary), UnreportableFailure> {
        let mut summary = ErasureBatchSummary {
            records: batch.records.len(),
            ..ErasureBatchSummary::default()
        };
        let mut response = PartialBatch::default();
        for record in batch.records {
            let message_id = record.message_id.as_deref().unwrap_or("<none>");
            let retry = match record.body.as_deref().map(ErasureWork::parse) {
                Some(Ok(work)) => {
                    // Boxed: the erasure's steps nest deep enough to strain the layout of an
                    // unboxed future in the function's runtime loop.
                    let outcome = match work {
                        ErasureWork::Advance(user) => Box::pin(self.advance(&user, deadline)).await,
                        ErasureWork::RewriteArchiveDay(user, day) => {
                            Box::pin(self.rewrite_day(&user, day)).await
                        }
                    };
                    match outcome {
                        Ok(Step::Completed) => summary.completed += 1,
                        Ok(Step::Continued) => summary.continued += 1,
                        Ok(Step::DayRewritten) => summary.archive_days += 1,
                        Ok(Step::NotRequested) => summary.not_requested += 1,
                        Err(ref reason) => {
                            tracing::warn!(message_id, %reason, "erasure not advanced; SQS will retry it");
                            summary.failed += 1;
                        }
                    }
                    outcome.is_err()
                }
                Some(Err(reason)) => {
                    tracing::warn!(message_id, %reason, "poison erasure work message");
                    summary.poison += 1;
                    true
                }
                None => {
                    tracing::warn!(message_id, "poison erasure work message: no body");
                    summary.poison += 1;
                    true
                }
            };
            if retry {
                response.retry(record.message_id.as_deref())?;
            }
        }
        metrics::counter!(metric::ERASURES_COMPLETED).increment(summary.completed as u64);
        tracing::info!(
            records = summary.records,
            completed = summary.completed,
            continued = summary.continued,
            archive_days = summary.archive_days,
            not_requested = summary.not_requested,
            poison = summary.poison,
            failed = summary.failed,
            "erasure batch processed"
        );
        Ok((response.into_response(), summary))
    }

    fn eraser<'a>(
        &'a self,
        days: &'a ArchiveDayMessages<'a, W>,
    ) -> Eraser<'a, T, P, A, R, ArchiveDayMessages<'a, W>> {
        Eraser {
            tasks: &self.tasks,
            publisher: &self.publisher,
            analytics: &self.analytics,
            archive: &self.archive,
            days,
            settle: self.settle,
        }
    }

    async fn rewrite_day(&self, user: &UserId, day: NaiveDate) -> Result<Step, String> {
        let days = ArchiveDayMessages(&self.work);
        match self.eraser(&days).rewrite_archive_day(user, day).await {
            Ok(DayRewrite::Rewritten(objects)) => {
                tracing::info!(%day, objects, "archive day rewritten");
                Ok(Step::DayRewritten)
            }
            Ok(DayRewrite::NotWanted) => Ok(Step::NotRequested),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn advance(&self, user: &UserId, deadline: Instant) -> Result<Step, String> {
        let days = ArchiveDayMessages(&self.work);
        let eraser = self.eraser(&days);
        let left = deadline.saturating_duration_since(Instant::now());
        let until = Utc::now() + TimeDelta::from_std(left).unwrap_or_default();
        let delay = match eraser
            .run_until(user, until)
            .await
            .map_err(|e| e.to_string())?
        {
            Advance::NotRequested => return Ok(Step::NotRequested),
            Advance::Complete(erasure) => {
                tracing::info!(
                    tasks_deleted = erasure.progress.tasks_deleted,
                    pending_events_published = erasure.progress.pending_events_published,
                    idempotency_records_deleted = erasure.progress.idempotency_records_deleted,
                    counter_items_moved = erasure.progress.counter_items_moved,
                    archive_objects_rewritten = erasure.progress.archive_objects_rewritten,
                    "erasure complete"
                );
                return Ok(Step::Completed);
            }
            Advance::WaitUntil(at) => (at - Utc::now()).to_std().unwrap_or_default(),
            Advance::Progressed(_) => Duration::ZERO,
        };
        self.work
            .send_work(
                &[ErasureWork::Advance(user.clone()).body()],
                delay.min(MAX_WORK_DELAY),
            )
            .await
            .map_err(|e| format!("continuation not sent: {e}"))?;
        Ok(Step::Continued)
    }
}

enum Step {
    Completed,
    Continued,
    DayRewritten,
    NotRequested,
}

#[cfg(test)]
mod tests;
