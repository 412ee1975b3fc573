//! Erasing a user: the request, the steps that erase the user's tasks, idempotency records,
//! archived events and counters (`taskpulse_domain::erasure` says in which order and why), and how the
//! consumer and the rebuild treat the events of an erased user (`late_events`).
//!
//! Every step works a page at a time and records its progress, so a run that stops anywhere
//! is resumed by the next one; two runs at once do the same idempotent work, and only one of
//! them records each page.

mod archive_days;
mod inline;
mod late_events;

use chrono::{DateTime, TimeDelta, Utc};
use taskpulse_domain::UserId;
use taskpulse_domain::erasure::{Erasure, ErasureProgress, ErasureStep};
use uuid::Uuid;

use crate::ports::{
    ArchiveDayMarkers, DeleteIdempotencyRecords, DeleteTask, DeleteUserSettings,
    HandOutArchiveDays, ListQuery, ListTasks, ListUserDays, LoadErasures, LoadProjectionConfig,
    LoadTask, MoveUserCounters, PublishEvents, ReadArchive, ReplaceArchiveObject, SaveErasure,
    StoreError,
};

pub use archive_days::{ARCHIVE_FAN_OUT_PAGE, DayRewrite};
pub use inline::run_inline;
pub use late_events::{OwnedEvents, route_late_events};

/// How long an erasure settles before its first deletion: longer than any writer acts on an
/// erasure record it read before the record existed, so that nothing that began before the
/// request writes after it. Each writer reads the record anew per unit of work: a command per
/// request (the API's timeout, 10 s), the consumer per batch (its timeout, 30 s), the rebuild
/// per chunk of a partition (`rebuild::backfill`'s retry budget, 20 s). Plus a margin for the
/// eventually consistent read of the record.
pub fn settle_time(longest_writer_invocation: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(longest_writer_invocation).unwrap_or(TimeDelta::MAX) + SETTLE_MARGIN
}

/// What an erasure's settle time adds to the longest invocation.
const SETTLE_MARGIN: TimeDelta = TimeDelta::seconds(30);

/// Items deleted or moved per page of work: one `BatchWriteItem`'s worth.
pub const ERASURE_PAGE: usize = 25;

/// Records an erasure request for `user`, unless one exists; answers the stored record. The
/// pseudonym is random: nothing derives it from the user id.
pub async fn request_erasure(
    store: &impl SaveErasure,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Erasure, StoreError> {
    let pseudonym = UserId::parse(&format!("erased-{}", Uuid::new_v4()))
        .map_err(|error| StoreError::Rejected(error.to_string()))?;
    store
        .create_erasure(user, &Erasure::requested(pseudonym, now))
        .await
}

/// What one call of [`Eraser::advance`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// The user has no erasure record.
    NotRequested,
    /// The erasure is settling, or waiting for its archive days to be rewritten: nothing can
    /// be done before this time.
    WaitUntil(DateTime<Utc>),
    /// A page of work was done and recorded.
    Progressed(Erasure),
    /// Every step is done.
    Complete(Erasure),
}

/// The ports an erasure works with: the task table (`T`: tasks, idempotency records, the
/// erasure record and its archive day markers), the event queue (`P`), the analytics table
/// (`A`), the event archive (`R`) and the workers the archive days are handed out to (`D`).
pub struct Eraser<'a, T, P, A, R, D> {
    pub tasks: &'a T,
    pub publisher: &'a P,
    pub analytics: &'a A,
    pub archive: &'a R,
    pub days: &'a D,
    pub settle: TimeDelta,
}

/// What the task table must do for an erasure.
pub trait ErasureTasks:
    LoadErasures
    + SaveErasure
    + ListTasks
    + LoadTask
    + DeleteTask
    + DeleteIdempotencyRecords
    + DeleteUserSettings
    + ArchiveDayMarkers
{
}

impl<T> ErasureTasks for T where
    T: LoadErasures
        + SaveErasure
        + ListTasks
        + LoadTask
        + DeleteTask
        + DeleteIdempotencyRecords
        + DeleteUserSettings
        + ArchiveDayMarkers
{
}

/// What the analytics table must do for an erasure.
pub trait ErasureAnalytics: MoveUserCounters + ListUserDays + LoadProjectionConfig {}

impl<A> ErasureAnalytics for A where A: MoveUserCounters + ListUserDays + LoadProjectionConfig {}

impl<T, P, A, R, D> Eraser<'_, T, P, A, R, D>
where
    T: ErasureTasks,
    P: PublishEvents,
    A: ErasureAnalytics,
    R: ReadArchive + ReplaceArchiveObject,
    D: HandOutArchiveDays,
{
    /// Does the next page of `user`'s erasure and records it. A [`StoreError::Conflict`] means
    /// another run recorded first: call again.
    pub async fn advance(&self, user: &UserId, now: DateTime<Utc>) -> Result<Advance, StoreError> {
        let Some(erasure) = self
            .tasks
            .load_erasures(std::slice::from_ref(user))
            .await?
            .remove(user)
        else {
            return Ok(Advance::NotRequested);
        };
        let next = match erasure.step {
            ErasureStep::Erased => return Ok(Advance::Complete(erasure)),
            ErasureStep::Settling => {
                let settled_at = erasure.settled_at(self.settle);
                if now < settled_at {
                    return Ok(Advance::WaitUntil(settled_at));
                }
                erasure.clone().step_done(ErasureProgress::default(), now)
            }
            ErasureStep::Tasks => {
                let (done, complete) = self.delete_tasks_page(user).await?;
                erasure.clone().after_page(done, complete, now)
            }
            ErasureStep::IdempotencyRecords => {
                let deleted = self
                    .tasks
                    .delete_idempotency_records(user, ERASURE_PAGE)
                    .await?;
                if deleted == 0 {
                    // The last of the user's items in the task table, with the last page.
                    self.tasks.delete_user_settings(user).await?;
                }
                let done = ErasureProgress {
                    idempotency_records_deleted: deleted as u64,
                    ..ErasureProgress::default()
                };
                erasure.clone().after_page(done, deleted == 0, now)
            }
            ErasureStep::ArchiveFanOut => self.hand_out_days_page(user, &erasure, now).await?,
            ErasureStep::ArchiveRewrites => match self.check_rewrites(user, &erasure, now).await? {
                Ok(next) => next,
                Err(wait_until) => return Ok(Advance::WaitUntil(wait_until)),
            },
            ErasureStep::Analytics => {
                let (done, complete) = self.move_counters_page(user, &erasure.pseudonym).await?;
                erasure.clone().after_page(done, complete, now)
            }
        };
        self.tasks.save_erasure(user, &erasure, &next).await?;
        tracing::info!(
            step = erasure.step.as_str(),
            next = next.step.as_str(),
            "erasure advanced"
        );
        Ok(if next.is_complete() {
            Advance::Complete(next)
        } else {
            Advance::Progressed(next)
        })
    }

    /// Publishes the pending events of a page of the user's tasks, then deletes them.
    async fn delete_tasks_page(
        &self,
        user: &UserId,
    ) -> Result<(ErasureProgress, bool), StoreError> {
        let page = self
            .tasks
            .list_tasks(
                user,
                &ListQuery {
                    status: None,
                    limit: ERASURE_PAGE,
                    after: None,
                },
            )
            .await?;
        let mut done = ErasureProgress::default();
        for listed in &page.tasks {
            // The listing index may still show a task deleted a moment ago.
            let Some(stored) = self.tasks.load_task(listed.id).await? else {
                continue;
            };
            if !stored.pending_events.is_empty() {
                // Anonymous totals must not lose them: the consumer counts them once the
                // erasure is complete, under the pseudonym.
                self.publisher
                    .publish_events(&stored.pending_events)
                    .await
                    .map_err(|error| StoreError::Unavailable(error.to_string()))?;
                done.pending_events_published += stored.pending_events.len() as u64;
            }
            match self
                .tasks
                .delete_task(stored.task.id, stored.task.version)
                .await
            {
                Ok(()) => done.tasks_deleted += 1,
                // Another run deleted or changed it; the next page sees it again if it is still there.
                Err(StoreError::Conflict) => {}
                Err(error) => return Err(error),
            }
        }
        Ok((done, page.tasks.is_empty()))
    }

    /// Moves a page of the user's counter items, in every version the configuration names.
    async fn move_counters_page(
        &self,
        user: &UserId,
        pseudonym: &UserId,
    ) -> Result<(ErasureProgress, bool), StoreError> {
        let config = self.analytics.load_projection_config().await?;
        let mut versions = vec![config.active.version];
        versions.extend(config.building.as_ref().map(|b| b.spec.version));
        versions.extend(config.retiring);
        let mut moved = 0;
        for version in versions {
            moved += self
                .analytics
                .move_user_counters(version, user, pseudonym, ERASURE_PAGE)
                .await?;
            if moved > 0 {
                break;
            }
        }
        let done = ErasureProgress {
            counter_items_moved: moved as u64,
            ..ErasureProgress::default()
        };
        Ok((done, moved == 0))
    }

    /// Advances `user`'s erasure page by page until it is complete, must wait (settling, or
    /// for its archive days), or `until` passes. Answers the last state seen. A run never
    /// sleeps through a wait: its driver comes back then (on AWS, a delayed work message).
    pub async fn run_until(
        &self,
        user: &UserId,
        until: DateTime<Utc>,
    ) -> Result<Advance, StoreError> {
        loop {
            let advance = match self.advance(user, Utc::now()).await {
                // Another run recorded first: read its record and go on from there.
                Err(StoreError::Conflict) => continue,
                other => other?,
            };
            if !matches!(advance, Advance::Progressed(_)) || Utc::now() >= until {
                return Ok(advance);
            }
        }
    }
}

#[cfg(test)]
mod tests;
