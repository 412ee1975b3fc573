//! The erasure's steps in order, its progress over pages, the archive rewrites' wait and
//! the hand-out again of overdue days.

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
    assert_eq!(seen, &ErasureStep::ALL[..6]);
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
    assert_eq!(
        ErasureStep::parse("archive"),
        Some(ErasureStep::ArchiveFanOut),
        "a record of the earlier, sequential archive step resumes its fan-out"
    );
}

fn fanned_out(days: usize, at: DateTime<Utc>) -> Erasure {
    let mut erasure = Erasure::requested(pseudonym(), at);
    erasure.step = ErasureStep::ArchiveFanOut;
    let first: NaiveDate = "2026-11-01".parse().unwrap();
    let last = first + TimeDelta::days(days as i64 - 1);
    let erasure = erasure.handed_out(days, Some(last), at);
    assert_eq!(erasure.step, ErasureStep::ArchiveFanOut);
    assert_eq!(erasure.archive_cursor, Some(last));
    let erasure = erasure.handed_out(0, None, at);
    assert_eq!(erasure.step, ErasureStep::ArchiveRewrites);
    assert_eq!(erasure.archive_cursor, Some(last), "the cursor stays");
    erasure
}

/// `fanned_out(3, start)` after a look at `start` that found two days marked.
fn two_of_three_marked(start: DateTime<Utc>) -> Erasure {
    let ArchiveRewritesCheck::MoreMarked(erasure) =
        fanned_out(3, start).check_archive_rewrites(2, 40, start)
    else {
        panic!("two days more than at the last look");
    };
    assert_eq!(erasure.progress.archive_days_rewritten, 2);
    assert_eq!(erasure.step, ErasureStep::ArchiveRewrites);
    erasure
}

#[test]
fn the_rewrites_are_done_when_every_day_handed_out_has_its_marker() {
    let start = at("2026-12-06T10:00:00Z");
    let soon = start + TimeDelta::seconds(1);
    let erasure = two_of_three_marked(soon);
    assert_eq!(
        erasure.updated_at, soon,
        "more days marked: the patience starts again"
    );
    assert_eq!(
        erasure.clone().check_archive_rewrites(2, 40, soon),
        ArchiveRewritesCheck::WaitUntil(soon + ARCHIVE_REWRITE_POLL)
    );
    let ArchiveRewritesCheck::Done(done) = erasure.check_archive_rewrites(3, 41, soon) else {
        panic!("three of three days are rewritten");
    };
    assert_eq!(done.step, ErasureStep::Analytics);
    assert_eq!(done.progress.archive_days_rewritten, 3);
    assert_eq!(done.progress.archive_objects_rewritten, 41);
}

#[test]
fn rewrites_overdue_with_no_new_marker_are_handed_out_again_from_the_first_day() {
    let start = at("2026-12-06T10:00:00Z");
    let erasure = two_of_three_marked(start);
    let last_poll = start + ARCHIVE_REWRITE_PATIENCE - TimeDelta::seconds(2);
    assert_eq!(
        erasure.clone().check_archive_rewrites(2, 40, last_poll),
        ArchiveRewritesCheck::WaitUntil(start + ARCHIVE_REWRITE_PATIENCE),
        "the wait never polls past the patience"
    );
    let later = start + TimeDelta::minutes(2);
    assert_eq!(
        erasure.clone().check_archive_rewrites(2, 40, later),
        ArchiveRewritesCheck::WaitUntil(later + TimeDelta::seconds(30)),
        "the looks thin out as the wait grows"
    );
    let much_later = start + TimeDelta::minutes(10);
    assert_eq!(
        erasure.clone().check_archive_rewrites(2, 40, much_later),
        ArchiveRewritesCheck::WaitUntil(much_later + ARCHIVE_REWRITE_POLL_MAX)
    );
    let overdue = start + ARCHIVE_REWRITE_PATIENCE;
    let ArchiveRewritesCheck::HandOutAgain(again) = erasure.check_archive_rewrites(2, 40, overdue)
    else {
        panic!("a day is overdue");
    };
    assert_eq!(again.step, ErasureStep::ArchiveFanOut);
    assert_eq!((again.archive_cursor, again.archive_days), (None, 0));
    assert_eq!(again.updated_at, overdue);
    assert_eq!(
        again.progress.archive_days_rewritten, 2,
        "the days marked stay marked"
    );
}

#[test]
fn a_fan_out_whose_pages_change_how_days_count_starts_its_round_again() {
    let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
    let day = |n: u32| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let mut erasure = Erasure::requested(UserId::parse("erased-x").unwrap(), at);
    erasure.step = ErasureStep::ArchiveFanOut;
    let first_page = erasure
        .fanning_out(false)
        .handed_out(100, Some(day(20)), at);
    assert_eq!(
        (first_page.archive_cursor, first_page.archive_days),
        (Some(day(20)), 100)
    );
    // The same way: the round goes on.
    let same = first_page.clone().fanning_out(false);
    assert_eq!(
        (same.archive_cursor, same.archive_days),
        (Some(day(20)), 100)
    );
    // A version counting local days became active: from the first day again.
    let changed = first_page.fanning_out(true);
    assert_eq!((changed.archive_cursor, changed.archive_days), (None, 0));
    assert!(changed.archive_neighbours);
}
