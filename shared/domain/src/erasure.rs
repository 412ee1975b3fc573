//! The erasure of a user: what has been erased so far, what comes next, and how the user's
//! events are treated meanwhile.
//!
//! An erasure moves through its steps in one order, each step repeatable (a crash repeats the
//! step it was in, and the step's work is idempotent):
//!
//! 1. `Settling`: the request is recorded. From now on commands of the user are refused, and
//!    the counting of the user's events is held back (their messages are retried later). The
//!    step lasts the settle time: long enough for every command and every consumer invocation
//!    that started before the record existed to have ended, so nothing written after this
//!    step comes from before the erasure.
//! 2. `Tasks`: each task's pending events are published (so anonymous totals lose nothing),
//!    then the task is deleted.
//! 3. `IdempotencyRecords`: the user's stored command answers are deleted.
//! 4. `Archive`: the archive objects holding the user's events are rewritten with the
//!    pseudonym in place of the user id, day by day (the days the user has counters for);
//!    `archive_cursor` is the last day done.
//! 5. `Analytics`: the user's counter items of every projection version, with the ids of the
//!    events applied to them, move to the pseudonym. Nothing else writes them meanwhile:
//!    counting is held back.
//! 6. `Erased`: events of the user that still arrive (a late redelivery, a redriven dead
//!    letter, an outbox entry) are counted under the pseudonym, where the ids of the events
//!    already applied are: a duplicate stays a duplicate, and the global counters stay exact.
//!    The record, the only link from the user id to the pseudonym, is kept for
//!    [`Erasure::RETENTION`] after that, then expires.
//!
//! Pure: the caller supplies the time and the pseudonym.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::UserId;

/// Where an erasure is. The order of the variants is the order of the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErasureStep {
    Settling,
    Tasks,
    IdempotencyRecords,
    Archive,
    Analytics,
    Erased,
}

impl ErasureStep {
    pub const ALL: [Self; 6] = [
        Self::Settling,
        Self::Tasks,
        Self::IdempotencyRecords,
        Self::Archive,
        Self::Analytics,
        Self::Erased,
    ];

    /// The name in the status resource and in the stored item.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settling => "settling",
            Self::Tasks => "tasks",
            Self::IdempotencyRecords => "idempotencyRecords",
            Self::Archive => "archive",
            Self::Analytics => "analytics",
            Self::Erased => "erased",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == raw)
    }

    fn next(self) -> Self {
        match self {
            Self::Settling => Self::Tasks,
            Self::Tasks => Self::IdempotencyRecords,
            Self::IdempotencyRecords => Self::Archive,
            Self::Archive => Self::Analytics,
            Self::Analytics | Self::Erased => Self::Erased,
        }
    }
}

/// What an erasure has done so far, step by step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureProgress {
    pub tasks_deleted: u64,
    /// Events still pending in the outbox of a deleted task, published before its deletion.
    pub pending_events_published: u64,
    pub idempotency_records_deleted: u64,
    /// Archive objects rewritten with the pseudonym.
    pub archive_objects_rewritten: u64,
    /// Counter items and applied-event markers moved to the pseudonym, over every version.
    pub counter_items_moved: u64,
}

/// One user's erasure, as stored. The record holds no user id: its key is derived from the
/// id one way, and the pseudonym is random.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The random id the user's counters and late events are kept under.
    pub pseudonym: UserId,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub step: ErasureStep,
    pub progress: ErasureProgress,
    /// The last archive day rewritten (the `Archive` step resumes after it).
    pub archive_cursor: Option<NaiveDate>,
}

/// How a consumer treats an event of a user with an erasure record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasedOwner {
    /// The erasure is under way: retry the event later.
    Hold,
    /// The erasure is done: count the event under this pseudonym.
    CountAs(UserId),
}

impl Erasure {
    /// How long a complete erasure's record is kept: longer than any event of the user can
    /// still arrive (4 days on the events queue, 14 in its dead-letter queue, 4 more after a
    /// redrive), so that a late one is still recognised and counted under the pseudonym.
    pub const RETENTION: TimeDelta = TimeDelta::days(30);

    /// A new request, settling from `at`.
    pub fn requested(pseudonym: UserId, at: DateTime<Utc>) -> Self {
        Self {
            pseudonym,
            requested_at: at,
            updated_at: at,
            step: ErasureStep::Settling,
            progress: ErasureProgress::default(),
            archive_cursor: None,
        }
    }

    /// Whether the record has outlived its retention at `now`: it then counts as absent (the
    /// table's TTL deletes it some time later).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// When the record may be deleted: [`Erasure::RETENTION`] after it completed; never
    /// while it runs.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.is_complete()
            .then(|| self.updated_at + Self::RETENTION)
    }

    pub fn is_complete(&self) -> bool {
        self.step == ErasureStep::Erased
    }

    pub fn owner_of_events(&self) -> ErasedOwner {
        if self.is_complete() {
            ErasedOwner::CountAs(self.pseudonym.clone())
        } else {
            ErasedOwner::Hold
        }
    }

    /// When the settling step may end.
    pub fn settled_at(&self, settle: TimeDelta) -> DateTime<Utc> {
        self.requested_at + settle
    }

    /// The erasure after its current step completed at `now` with `progress` added.
    pub fn step_done(mut self, done: ErasureProgress, now: DateTime<Utc>) -> Self {
        self.progress.tasks_deleted += done.tasks_deleted;
        self.progress.pending_events_published += done.pending_events_published;
        self.progress.idempotency_records_deleted += done.idempotency_records_deleted;
        self.progress.archive_objects_rewritten += done.archive_objects_rewritten;
        self.progress.counter_items_moved += done.counter_items_moved;
        self.step = self.step.next();
        self.updated_at = now;
        self
    }

    /// The erasure with `progress` added within its current step (a page of work done).
    pub fn progressed(mut self, done: ErasureProgress, now: DateTime<Utc>) -> Self {
        let step = self.step;
        self = self.step_done(done, now);
        self.step = step;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap()
    }

    fn pseudonym() -> UserId {
        UserId::parse("erased-1").unwrap()
    }

    #[test]
    fn a_request_holds_events_until_every_step_is_done_then_counts_them_as_the_pseudonym() {
        let mut erasure = Erasure::requested(pseudonym(), at("2026-12-06T10:00:00Z"));
        let mut seen = vec![];
        while !erasure.is_complete() {
            assert_eq!(erasure.owner_of_events(), ErasedOwner::Hold, "{erasure:?}");
            seen.push(erasure.step);
            erasure = erasure.step_done(ErasureProgress::default(), at("2026-12-06T10:01:00Z"));
        }
        assert_eq!(seen, &ErasureStep::ALL[..5]);
        assert_eq!(erasure.owner_of_events(), ErasedOwner::CountAs(pseudonym()));
        assert_eq!(
            erasure.expires_at(),
            Some(at("2026-12-06T10:01:00Z") + Erasure::RETENTION)
        );
        assert_eq!(
            erasure
                .clone()
                .step_done(ErasureProgress::default(), at("2026-12-06T11:00:00Z"))
                .step,
            ErasureStep::Erased,
            "a finished erasure stays finished"
        );
    }

    #[test]
    fn progress_adds_up_over_pages_and_steps_and_a_page_keeps_the_step() {
        let requested = Erasure::requested(pseudonym(), at("2026-12-06T10:00:00Z"));
        assert_eq!(
            requested.expires_at(),
            None,
            "a running erasure never expires"
        );
        let erasure = requested.step_done(ErasureProgress::default(), at("2026-12-06T10:01:00Z"));
        let page = ErasureProgress {
            tasks_deleted: 3,
            pending_events_published: 1,
            ..ErasureProgress::default()
        };
        let erasure = erasure.progressed(page, at("2026-12-06T10:02:00Z"));
        assert_eq!(erasure.step, ErasureStep::Tasks);
        let erasure = erasure.step_done(page, at("2026-12-06T10:03:00Z"));
        assert_eq!(erasure.step, ErasureStep::IdempotencyRecords);
        assert_eq!(erasure.progress.tasks_deleted, 6);
        assert_eq!(erasure.progress.pending_events_published, 2);
        assert_eq!(erasure.updated_at, at("2026-12-06T10:03:00Z"));
        assert_eq!(
            erasure.settled_at(TimeDelta::seconds(90)),
            at("2026-12-06T10:01:30Z")
        );
    }

    #[test]
    fn step_names_parse_back() {
        for step in ErasureStep::ALL {
            assert_eq!(ErasureStep::parse(step.as_str()), Some(step));
        }
        assert_eq!(ErasureStep::parse("done"), None);
    }
}
