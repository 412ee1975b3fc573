//! The ports of erasing a user: the erasure record, and the deletions and moves of its steps.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use chrono::NaiveDate;
use taskpulse_domain::analytics::ProjectionVersion;
use taskpulse_domain::erasure::Erasure;
use taskpulse_domain::{TaskId, UserId};

use super::StoreError;

/// Reads erasure records. An eventually consistent read is enough: an erasure settles for
/// longer than a read takes to see a new record.
pub trait LoadErasures: Send + Sync {
    /// The records of those of `users` who have one.
    fn load_erasures(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, Erasure>, StoreError>> + Send;
}

impl<T: LoadErasures> LoadErasures for &T {
    fn load_erasures(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, Erasure>, StoreError>> + Send {
        (**self).load_erasures(users)
    }
}

/// Writes erasure records.
pub trait SaveErasure: Send + Sync {
    /// Stores `erasure` as `user`'s record unless the user has one; answers the stored record
    /// (the new one, or the one found).
    fn create_erasure(
        &self,
        user: &UserId,
        erasure: &Erasure,
    ) -> impl Future<Output = Result<Erasure, StoreError>> + Send;

    /// Replaces `previous` with `next`; [`StoreError::Conflict`] if the stored record is no
    /// longer `previous` (another run saved first).
    fn save_erasure(
        &self,
        user: &UserId,
        previous: &Erasure,
        next: &Erasure,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Deletes a task item, outbox included, if it is still at `version`
/// ([`StoreError::Conflict`] otherwise; a task already gone is no error).
pub trait DeleteTask: Send + Sync {
    fn delete_task(
        &self,
        id: TaskId,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Deletes up to `limit` of `user`'s idempotency records; answers how many (0: none left).
pub trait DeleteIdempotencyRecords: Send + Sync {
    fn delete_idempotency_records(
        &self,
        user: &UserId,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Lists the days `user` has a day item for in `version`, after `after`, in order, at most
/// `limit` of them: the archive days that can hold the user's events.
pub trait ListUserDays: Send + Sync {
    fn list_user_days(
        &self,
        version: ProjectionVersion,
        user: &UserId,
        after: Option<NaiveDate>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<NaiveDate>, StoreError>> + Send;
}

/// Moves up to `limit` of `from`'s counter items in `version` (day items with their applied
/// events, and applied-event markers) to `to`, each as it is; answers how many (0: none left).
/// Repeating a move that was interrupted completes it: an item is written under `to` before
/// it is deleted under `from`.
pub trait MoveUserCounters: Send + Sync {
    fn move_user_counters(
        &self,
        version: ProjectionVersion,
        from: &UserId,
        to: &UserId,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Hands archive days out to workers, each to rewrite that day's objects of `user` (on AWS:
/// one erasure work message per day). Either every day was handed out, or the error says
/// some may not have been (handing a day out twice is safe: a rewrite done twice changes
/// nothing).
pub trait HandOutArchiveDays: Send + Sync {
    fn hand_out_archive_days(
        &self,
        user: &UserId,
        days: &[NaiveDate],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The markers of the archive days an erasure has rewritten, kept with its record. An erasure
/// is named by its pseudonym: the markers of an earlier erasure of the same user id (whose
/// record expired) are not this one's.
pub trait ArchiveDayMarkers: Send + Sync {
    /// Records that `day`'s objects of `user` are rewritten by the erasure named `pseudonym`,
    /// adding `objects` to the day's count (a repeated rewrite finds nothing more, and adds 0).
    fn mark_archive_day(
        &self,
        user: &UserId,
        pseudonym: &UserId,
        day: NaiveDate,
        objects: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every day marked by `user`'s erasure named `pseudonym`, with the objects rewritten in it.
    fn marked_archive_days(
        &self,
        user: &UserId,
        pseudonym: &UserId,
    ) -> impl Future<Output = Result<BTreeMap<NaiveDate, u64>, StoreError>> + Send;
}
