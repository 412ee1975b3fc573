//! The archive steps of an erasure: the user's days are handed out to workers a page at a
//! time, each worker rewrites one day's objects and marks the day, and the erasure waits for
//! every day's marker. A day's rewrite reads every object of the day, so the days run side by
//! side (on AWS, one eraser invocation per day) instead of one after another in one.

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::UserId;
use taskpulse_domain::erasure::{ArchiveRewritesCheck, Erasure, ErasureStep};

use super::{Eraser, ErasureAnalytics, ErasureTasks};
use crate::archive::rewrite_owner;
use crate::ports::{
    HandOutArchiveDays, PublishEvents, ReadArchive, ReplaceArchiveObject, StoreError,
};

/// Counter days listed per page of the fan-out: one `Query` of the user's day items, and ten
/// `SendMessageBatch` calls of the archive days (thirty where each counter day stands for its
/// neighbours too).
pub const ARCHIVE_FAN_OUT_PAGE: usize = 100;

/// What one day's rewrite found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRewrite {
    /// The day's objects holding the user's events were rewritten (this many), and the day
    /// is marked.
    Rewritten(usize),
    /// The user's erasure is not in its archive steps (absent, or past them: the day was
    /// marked before the erasure moved on); nothing was done.
    NotWanted,
}

/// The archive days that can hold the events counted on `counter_days` (in order, after
/// `cursor`, the last counter day of the pages before). The archive is partitioned by the UTC
/// day of `occurredAt`: a version that counts UTC days names them, one that counts users'
/// local days names days whose events happened on the UTC day before, the same, or after
/// (zones are less than a day from UTC). Each archive day is handed out once: the page before
/// handed out its counter days and the day after the last one.
fn archive_days_of(
    counter_days: &[NaiveDate],
    local_days: bool,
    cursor: Option<NaiveDate>,
) -> Vec<NaiveDate> {
    if !local_days {
        return counter_days.to_vec();
    }
    let handed_out_before = cursor.and_then(|day| day.succ_opt());
    let mut days: Vec<NaiveDate> = counter_days
        .iter()
        .flat_map(|day| [day.pred_opt(), Some(*day), day.succ_opt()])
        .flatten()
        .filter(|day| handed_out_before.is_none_or(|before| *day > before))
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

impl<T, P, A, R, D> Eraser<'_, T, P, A, R, D>
where
    T: ErasureTasks,
    P: PublishEvents,
    A: ErasureAnalytics,
    R: ReadArchive + ReplaceArchiveObject,
    D: HandOutArchiveDays,
{
    /// Hands out the archive days of the next page of the days `user` has counters for (in
    /// the active version: every counted event is archived first), skipping those already
    /// marked; answers the erasure after the page.
    pub(super) async fn hand_out_days_page(
        &self,
        user: &UserId,
        erasure: &Erasure,
        now: DateTime<Utc>,
    ) -> Result<Erasure, StoreError> {
        let active = self.analytics.load_projection_config().await?.active;
        let local_days = active.projection.counts_local_days();
        let erasure = erasure.clone().fanning_out(local_days);
        let counter_days = self
            .analytics
            .list_user_days(
                active.version,
                user,
                erasure.archive_cursor,
                ARCHIVE_FAN_OUT_PAGE,
            )
            .await?;
        let days = archive_days_of(&counter_days, local_days, erasure.archive_cursor);
        if !days.is_empty() {
            // Marked days are those of an earlier round of the fan-out.
            let marked = self
                .tasks
                .marked_archive_days(user, &erasure.pseudonym)
                .await?;
            let unmarked: Vec<NaiveDate> = days
                .iter()
                .filter(|day| !marked.contains_key(day))
                .copied()
                .collect();
            if !unmarked.is_empty() {
                self.days.hand_out_archive_days(user, &unmarked).await?;
            }
        }
        Ok(erasure.handed_out(days.len(), counter_days.last().copied(), now))
    }

    /// Looks for the markers of the days handed out: answers the erasure's next state, or the
    /// time to look again.
    pub(super) async fn check_rewrites(
        &self,
        user: &UserId,
        erasure: &Erasure,
        now: DateTime<Utc>,
    ) -> Result<Result<Erasure, DateTime<Utc>>, StoreError> {
        let marked = self
            .tasks
            .marked_archive_days(user, &erasure.pseudonym)
            .await?;
        let objects = marked.values().sum();
        Ok(
            match erasure
                .clone()
                .check_archive_rewrites(marked.len() as u64, objects, now)
            {
                ArchiveRewritesCheck::Done(next) | ArchiveRewritesCheck::MoreMarked(next) => {
                    Ok(next)
                }
                ArchiveRewritesCheck::HandOutAgain(next) => {
                    tracing::warn!(
                        handed_out = erasure.archive_days,
                        marked = marked.len(),
                        "archive days overdue; handing out those without a marker again"
                    );
                    Ok(next)
                }
                ArchiveRewritesCheck::WaitUntil(at) => Err(at),
            },
        )
    }

    /// Rewrites `day`'s archive objects holding events of `user` with the erasure's
    /// pseudonym, then marks the day: a worker's share of the fan-out. Done twice, the second
    /// run finds nothing to rewrite and marks the day again.
    pub async fn rewrite_archive_day(
        &self,
        user: &UserId,
        day: NaiveDate,
    ) -> Result<DayRewrite, StoreError> {
        let Some(erasure) = self
            .tasks
            .load_erasures(std::slice::from_ref(user))
            .await?
            .remove(user)
        else {
            return Ok(DayRewrite::NotWanted);
        };
        // A day message exists only once the fan-out began, so a record read at an earlier
        // step is a stale read of it (the pseudonym never changes): the day is rewritten all
        // the same.
        if erasure.step > ErasureStep::ArchiveRewrites {
            return Ok(DayRewrite::NotWanted);
        }
        let rewritten = rewrite_owner(self.archive, day, user, &erasure.pseudonym).await?;
        self.tasks
            .mark_archive_day(user, &erasure.pseudonym, day, rewritten as u64)
            .await?;
        Ok(DayRewrite::Rewritten(rewritten))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, n).unwrap()
    }

    #[test]
    fn local_counter_days_name_their_neighbours_each_archive_day_once_over_pages() {
        assert_eq!(
            archive_days_of(&[day(3), day(9)], false, None),
            [day(3), day(9)]
        );
        // Page one: counter days 3, 4 and 9.
        let first = archive_days_of(&[day(3), day(4), day(9)], true, None);
        assert_eq!(
            first,
            [day(2), day(3), day(4), day(5), day(8), day(9), day(10)]
        );
        // Page two, after counter day 9: day 10 was handed out with it, day 11 was not.
        let second = archive_days_of(&[day(10), day(12)], true, Some(day(9)));
        assert_eq!(second, [day(11), day(12), day(13)]);
        let mut all = [first, second].concat();
        let handed_out = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), handed_out, "no archive day twice");
    }
}
