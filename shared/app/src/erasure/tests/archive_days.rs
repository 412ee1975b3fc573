//! The archive steps of an erasure: given a user with events on several days, when the
//! erasure reaches the archive, then each day is handed out once, the erasure waits for every
//! day's marker, and the days still unmarked when the wait runs out are handed out again.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use taskpulse_domain::erasure::{ARCHIVE_REWRITE_PATIENCE, ARCHIVE_REWRITE_POLL, ErasureStep};

use super::{World, run_to_completion, user};
use crate::erasure::{Advance, DayRewrite, Erasure, request_erasure, run_inline};
use crate::ports::{ArchiveDayMarkers, ListUserDays, LoadProjectionConfig};
use crate::test_events::history;

/// The world with `user-1`'s events on four days (and those of `user-0` and `user-2`).
async fn with_four_days_of_user_1() -> World {
    let world = World::new().await;
    world.count(&history(12, 4)).await;
    world
}

async fn days_of(world: &World, raw: &str) -> Vec<NaiveDate> {
    let active = world
        .analytics
        .load_projection_config()
        .await
        .unwrap()
        .active;
    world
        .analytics
        .list_user_days(active.version, &user(raw), None, 100)
        .await
        .unwrap()
}

/// Advances until the fan-out is complete; answers the erasure then.
async fn advance_through_the_fan_out(world: &World, raw: &str, now: DateTime<Utc>) -> Erasure {
    for _ in 0..20 {
        match world.eraser().advance(&user(raw), now).await.unwrap() {
            Advance::Progressed(erasure) if erasure.step == ErasureStep::ArchiveRewrites => {
                return erasure;
            }
            Advance::Progressed(_) => {}
            other => panic!("{other:?}"),
        }
    }
    panic!("the fan-out never completed");
}

#[tokio::test]
async fn each_day_is_handed_out_once_and_the_erasure_waits_for_every_marker() {
    let world = with_four_days_of_user_1().await;
    let who = user("user-1");
    let days = days_of(&world, "user-1").await;
    assert_eq!(days.len(), 4, "{days:?}");
    let requested = request_erasure(world.commands.store(), &who, Utc::now())
        .await
        .unwrap();
    let now = requested.requested_at + TimeDelta::seconds(1);

    let fanned_out = advance_through_the_fan_out(&world, "user-1", now).await;
    assert_eq!(fanned_out.archive_days, 4);
    let handed_out = world.days.take();
    assert_eq!(
        handed_out,
        days.iter()
            .map(|day| (who.clone(), *day))
            .collect::<Vec<_>>()
    );

    // Three of the four days are done: the erasure records them, then looks again a moment
    // later.
    let eraser = world.eraser();
    for (owner, day) in &handed_out[1..] {
        let rewrite = eraser.rewrite_archive_day(owner, *day).await.unwrap();
        assert!(
            matches!(rewrite, DayRewrite::Rewritten(n) if n >= 1),
            "{rewrite:?}"
        );
    }
    let Advance::Progressed(seen) = eraser.advance(&who, now).await.unwrap() else {
        panic!("three days marked since the last look");
    };
    assert_eq!(seen.progress.archive_days_rewritten, 3);
    assert_eq!(
        eraser.advance(&who, now).await.unwrap(),
        Advance::WaitUntil(now + ARCHIVE_REWRITE_POLL)
    );

    // The last one, twice (a duplicate message): it counts once.
    let (owner, first_day) = &handed_out[0];
    eraser.rewrite_archive_day(owner, *first_day).await.unwrap();
    assert_eq!(
        eraser.rewrite_archive_day(owner, *first_day).await.unwrap(),
        DayRewrite::Rewritten(0),
        "nothing is left to rewrite"
    );
    let Advance::Progressed(next) = eraser.advance(&who, now).await.unwrap() else {
        panic!("every day is marked");
    };
    assert_eq!(next.step, ErasureStep::Analytics);
    assert_eq!(next.progress.archive_days_rewritten, 4);
    let markers = world
        .commands
        .store()
        .marked_archive_days(&who, &next.pseudonym)
        .await
        .unwrap();
    assert_eq!(
        next.progress.archive_objects_rewritten,
        markers.values().sum::<u64>()
    );
    assert!(next.progress.archive_objects_rewritten >= 4);

    let erasure = run_to_completion(&world, &who).await;
    assert_eq!(erasure.progress.archive_days_rewritten, 4);
    let archived: Vec<String> = world
        .archive
        .objects()
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    assert!(archived.iter().all(|text| !text.contains("\"user-1\"")));
    assert_eq!(
        eraser.rewrite_archive_day(&who, *first_day).await.unwrap(),
        DayRewrite::NotWanted,
        "a day message after the archive steps does nothing"
    );
    assert_eq!(
        eraser
            .rewrite_archive_day(&user("nobody"), *first_day)
            .await
            .unwrap(),
        DayRewrite::NotWanted
    );
}

#[tokio::test]
async fn a_day_still_unmarked_when_the_wait_runs_out_is_handed_out_again_alone() {
    let world = with_four_days_of_user_1().await;
    let who = user("user-1");
    let requested = request_erasure(world.commands.store(), &who, Utc::now())
        .await
        .unwrap();
    let now = requested.requested_at + TimeDelta::seconds(1);
    advance_through_the_fan_out(&world, "user-1", now).await;
    let handed_out = world.days.take();
    // The message of the second day is lost.
    let eraser = world.eraser();
    for (owner, day) in handed_out.iter().filter(|(_, day)| *day != handed_out[1].1) {
        eraser.rewrite_archive_day(owner, *day).await.unwrap();
    }
    let Advance::Progressed(seen) = eraser.advance(&who, now).await.unwrap() else {
        panic!("three days marked");
    };
    // The patience runs from the last look that found more days marked.
    let overdue = seen.updated_at + ARCHIVE_REWRITE_PATIENCE;
    assert_eq!(
        eraser
            .advance(&who, overdue - TimeDelta::seconds(1))
            .await
            .unwrap(),
        Advance::WaitUntil(overdue)
    );
    let Advance::Progressed(again) = eraser.advance(&who, overdue).await.unwrap() else {
        panic!("the day is overdue");
    };
    assert_eq!(again.step, ErasureStep::ArchiveFanOut);

    let erasure = match run_inline(&eraser, &who).await.unwrap() {
        Advance::Complete(erasure) => erasure,
        other => panic!("{other:?}"),
    };
    assert_eq!(world.days.handed_out(), 5, "four days, then the lost one");
    assert_eq!(erasure.progress.archive_days_rewritten, 4);
    assert_eq!(erasure.archive_days, 4, "the second round lists every day");
}

#[tokio::test]
async fn with_local_days_counted_the_archive_days_around_each_counter_day_are_rewritten() {
    use taskpulse_domain::analytics::{Projection, ProjectionVersion};
    use taskpulse_domain::task::CreateTask;
    use taskpulse_domain::{EventId, Priority, Task, TaskCommand, TaskId, TimeZone, Title};
    use uuid::Uuid;

    use crate::projections::{ProjectionConfig, ProjectionSpec};

    let config = ProjectionConfig {
        active: ProjectionSpec {
            version: ProjectionVersion::FIRST,
            projection: Projection::TasksV2,
        },
        revision: 1,
        ..ProjectionConfig::initial()
    };
    let world = World::counting(config).await;
    // 20:00 UTC on the 26th is the 27th at UTC+14: counted on the 27th, archived under the
    // 26th, a day the user has no counters for.
    let (_, events) = Task::execute(
        None,
        &TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(77)),
            owner: user("kai"),
            title: Title::parse("late evening").unwrap(),
            description: None,
            priority: Priority::Low,
            planned_accomplish_date: "2026-12-01T00:00:00Z".parse().unwrap(),
        }),
        "2026-11-26T20:00:00Z".parse().unwrap(),
        || EventId::from_uuid(Uuid::from_u128(78)),
    )
    .unwrap();
    let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap();
    let stamped: Vec<_> = events.into_iter().map(|e| e.in_zone(&kiritimati)).collect();
    world.count(&stamped).await;
    assert_eq!(
        days_of(&world, "kai").await,
        ["2026-11-27".parse::<NaiveDate>().unwrap()]
    );

    request_erasure(world.commands.store(), &user("kai"), Utc::now())
        .await
        .unwrap();
    let erasure = run_to_completion(&world, &user("kai")).await;
    assert_eq!(erasure.archive_days, 3, "the 26th, 27th and 28th");
    assert_eq!(erasure.progress.archive_objects_rewritten, 1);
    let archived: Vec<String> = world
        .archive
        .objects()
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    assert!(
        archived.iter().all(|text| !text.contains("\"kai\"")),
        "{archived:?}"
    );
}
