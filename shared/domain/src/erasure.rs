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
//! 4. `ArchiveFanOut`: the archive days that can hold the user's events (the days the user
//!    has counters for, and where the active version counts the user's local days, the UTC
//!    days on either side of them) are handed out, a page at a time, each to a worker that rewrites that
//!    day's objects with the pseudonym in place of the user id and leaves a marker;
//!    `archive_cursor` is the last counter day listed, `archive_days` how many archive days
//!    were handed out.
//! 5. `ArchiveRewrites`: waits until every day handed out has its marker. A day whose marker
//!    is still missing [`ARCHIVE_REWRITE_PATIENCE`] after the last page was handed out is
//!    handed out again (the fan-out restarts, skipping the days with markers): a work message
//!    can be lost, or end in a dead-letter queue.
//! 6. `Analytics`: the user's counter items of every projection version, with the ids of the
//!    events applied to them, move to the pseudonym. Nothing else writes them meanwhile:
//!    counting is held back.
//! 7. `Erased`: events of the user that still arrive (a late redelivery, a redriven dead
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
    ArchiveFanOut,
    ArchiveRewrites,
    Analytics,
    Erased,
}

/// How long the `ArchiveRewrites` step waits without a new day's marker before it hands the
/// days without one out again: three times as long as a day's rewrite may take (the eraser
/// function's timeout, 5 minutes). A day message that failed comes back by itself after the
/// erasure queue's visibility timeout (30 minutes): handing it out again first only repeats
/// a day, which changes nothing.
pub const ARCHIVE_REWRITE_PATIENCE: TimeDelta = TimeDelta::minutes(15);

/// How often the `ArchiveRewrites` step looks for the markers of the days handed out, at
/// first: a small user's few days are done in seconds. The wait between looks grows with the
/// time waited (a quarter of it) up to [`ARCHIVE_REWRITE_POLL_MAX`], so a busy user's long
/// rewrite is not polled every few seconds for minutes.
pub const ARCHIVE_REWRITE_POLL: TimeDelta = TimeDelta::seconds(5);
pub const ARCHIVE_REWRITE_POLL_MAX: TimeDelta = TimeDelta::seconds(60);

/// What the `ArchiveRewrites` step does next, given the markers found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveRewritesCheck {
    /// Every day handed out is rewritten: the erasure moves on.
    Done(Erasure),
    /// More days are marked than at the last look: recorded, and the patience starts again.
    MoreMarked(Erasure),
    /// Some days are not yet: look again at this time.
    WaitUntil(DateTime<Utc>),
    /// Some days are overdue: the fan-out starts again from the first day.
    HandOutAgain(Erasure),
}

impl ErasureStep {
    pub const ALL: [Self; 7] = [
        Self::Settling,
        Self::Tasks,
        Self::IdempotencyRecords,
        Self::ArchiveFanOut,
        Self::ArchiveRewrites,
        Self::Analytics,
        Self::Erased,
    ];

    /// The name in the status resource and in the stored item.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settling => "settling",
            Self::Tasks => "tasks",
            Self::IdempotencyRecords => "idempotencyRecords",
            Self::ArchiveFanOut => "archiveFanOut",
            Self::ArchiveRewrites => "archiveRewrites",
            Self::Analytics => "analytics",
            Self::Erased => "erased",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            // The earlier archive step rewrote the days one after another, and its cursor is
            // the last day rewritten: the fan-out resumes after it.
            "archive" => Some(Self::ArchiveFanOut),
            _ => Self::ALL.into_iter().find(|step| step.as_str() == raw),
        }
    }

    fn next(self) -> Self {
        match self {
            Self::Settling => Self::Tasks,
            Self::Tasks => Self::IdempotencyRecords,
            Self::IdempotencyRecords => Self::ArchiveFanOut,
            Self::ArchiveFanOut => Self::ArchiveRewrites,
            Self::ArchiveRewrites => Self::Analytics,
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
    /// Archive days whose objects were rewritten (each day once, however often handed out).
    pub archive_days_rewritten: u64,
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
    /// The last archive day handed out (the `ArchiveFanOut` step resumes after it).
    pub archive_cursor: Option<NaiveDate>,
    /// The archive days handed out so far, in this round of the fan-out.
    pub archive_days: u64,
    /// Whether this round's pages handed out each counter day's neighbours too (the active
    /// version counted users' local days).
    pub archive_neighbours: bool,
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
            archive_days: 0,
            archive_neighbours: false,
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
        self.progress.archive_days_rewritten += done.archive_days_rewritten;
        self.step = self.step.next();
        self.updated_at = now;
        self
    }

    /// The erasure about to hand out a page, whose days stand for their neighbours too if
    /// `neighbours`. If this round's pages so far did otherwise (the active version changed
    /// how it counts days meanwhile), the round starts again from the first day, so that no
    /// archive day is skipped; days already marked are not handed out again.
    pub fn fanning_out(mut self, neighbours: bool) -> Self {
        if self.archive_cursor.is_some() && self.archive_neighbours != neighbours {
            self.archive_cursor = None;
            self.archive_days = 0;
        }
        self.archive_neighbours = neighbours;
        self
    }

    /// The erasure after a page of the fan-out handed out `days` days, the last of them
    /// `last`; with no days, the fan-out is complete.
    pub fn handed_out(mut self, days: usize, last: Option<NaiveDate>, now: DateTime<Utc>) -> Self {
        self.archive_days += days as u64;
        self.archive_cursor = last.or(self.archive_cursor);
        self.after_page(ErasureProgress::default(), last.is_none(), now)
    }

    /// What the `ArchiveRewrites` step does at `now`, given the markers found: `days` days
    /// rewritten, `objects` objects in them. `progress.archive_days_rewritten` holds the days
    /// marked at the last look, and the wait is timed from the last record save: the end of
    /// the fan-out, or the last look that found more days marked.
    pub fn check_archive_rewrites(
        self,
        days: u64,
        objects: u64,
        now: DateTime<Utc>,
    ) -> ArchiveRewritesCheck {
        let seen = self.progress.archive_days_rewritten;
        if days >= self.archive_days {
            let done = ErasureProgress {
                archive_days_rewritten: days.saturating_sub(seen),
                archive_objects_rewritten: objects,
                ..ErasureProgress::default()
            };
            return ArchiveRewritesCheck::Done(self.step_done(done, now));
        }
        if days > seen {
            let mut next = self;
            next.progress.archive_days_rewritten = days;
            next.updated_at = now;
            return ArchiveRewritesCheck::MoreMarked(next);
        }
        let overdue_at = self.updated_at + ARCHIVE_REWRITE_PATIENCE;
        if now < overdue_at {
            let poll =
                ((now - self.updated_at) / 4).clamp(ARCHIVE_REWRITE_POLL, ARCHIVE_REWRITE_POLL_MAX);
            return ArchiveRewritesCheck::WaitUntil((now + poll).min(overdue_at));
        }
        let mut again = self;
        again.step = ErasureStep::ArchiveFanOut;
        again.archive_cursor = None;
        again.archive_days = 0;
        again.updated_at = now;
        ArchiveRewritesCheck::HandOutAgain(again)
    }

    /// The erasure after a page of its current step did `done`: the next step if the page
    /// found the step `complete`, the same step otherwise.
    pub fn after_page(self, done: ErasureProgress, complete: bool, now: DateTime<Utc>) -> Self {
        if complete {
            self.step_done(done, now)
        } else {
            self.progressed(done, now)
        }
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
mod tests;
