//! The projections' rules, event by event.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::*;
use crate::EventId;
use crate::analytics::Deltas;
use crate::task::{CreateTask, Task, TaskCommand};
use crate::values::{Priority, TaskId, Title, UserId};

fn created(priority: Priority) -> EventEnvelope {
    let (_, events) = Task::execute(
        None,
        &TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(1)),
            owner: UserId::parse("u1").unwrap(),
            title: Title::parse("t").unwrap(),
            description: None,
            priority,
            planned_accomplish_date: "2026-12-01T00:00:00Z".parse().unwrap(),
        }),
        "2026-11-26T10:00:00Z".parse().unwrap(),
        || EventId::from_uuid(Uuid::from_u128(9)),
    )
    .unwrap();
    events.into_iter().next().unwrap()
}

#[test]
fn the_priority_projection_adds_the_creation_priority_to_the_tasks_counters() {
    let event = created(Priority::High);
    let tasks = Projection::Tasks.effect(&event);
    let by_priority = Projection::TasksByPriority.effect(&event);
    let mut expected = tasks.deltas.clone();
    expected.add(Counter::CreatedHigh, 1);
    assert_eq!(by_priority.deltas, expected);
    assert_eq!(
        tasks.deltas,
        Deltas::from([(Counter::Created, 1), (Counter::OpenNew, 1)])
    );
}

#[test]
fn the_local_days_projection_counts_the_owner_on_the_local_day_and_everyone_on_the_utc_day() {
    let tokyo = crate::TimeZone::parse("Asia/Tokyo").unwrap();
    // Created at 10:00 UTC on 2026-11-26: 19:00 in Tokyo, the same day.
    let same_day = created(Priority::Low).in_zone(&tokyo);
    let mut late = created(Priority::Low);
    late.occurred_at = "2026-11-26T20:00:00Z".parse().unwrap();
    let next_morning = late.clone().in_zone(&tokyo);
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    for (event, owner_day) in [
        (&same_day, "2026-11-26"),
        (&next_morning, "2026-11-27"),
        (&late, "2026-11-26"),
    ] {
        let local = Projection::TasksV2.effect(event);
        assert_eq!(
            (local.day, local.global_day),
            (day(owner_day), event.occurred_at.date_naive())
        );
        assert_eq!(
            local.deltas,
            Projection::TasksByPriority.effect(event).deltas
        );
        // tasks-v3 adds the due gauges: planned for 2026-12-01T00:00Z, that day in UTC and
        // in Tokyo (09:00).
        let v3 = Projection::TasksV3.effect(event);
        let mut expected = local.deltas.clone();
        expected.add(Counter::due(day("2026-12-01"), local.day), 1);
        assert_eq!((v3.day, &v3.deltas), (local.day, &expected));
        assert_eq!(
            v3.global_due,
            [(Counter::due(day("2026-12-01"), local.global_day), 1)]
        );
        assert!(local.global_due.is_empty());
        // The UTC projections ignore the stamp.
        for utc in [Projection::Tasks, Projection::TasksByPriority] {
            let effect = utc.effect(event);
            assert_eq!(effect.day, event.occurred_at.date_naive(), "{utc}");
            assert_eq!(effect.global_day, effect.day);
        }
    }
    assert!(Projection::TasksV2.counts_local_days());
    assert!(Projection::TasksV3.counts_local_days());
    assert!(!Projection::TasksByPriority.counts_local_days());
}

fn completed(priority: Priority, late: bool) -> EventEnvelope {
    let created = created(priority);
    let task = Task::apply(None, &created).unwrap();
    // Planned for 2026-12-01; completed the day before or the day after.
    let at = if late {
        "2026-12-02T10:00:00Z"
    } else {
        "2026-11-30T10:00:00Z"
    };
    let (_, events) = Task::execute(
        Some(task),
        &TaskCommand::ChangeStatus {
            status: crate::TaskStatus::Completed,
            at: None,
        },
        at.parse().unwrap(),
        || EventId::from_uuid(Uuid::from_u128(10)),
    )
    .unwrap();
    events.into_iter().last().unwrap()
}

#[test]
fn tasks_v2_counts_completions_per_priority_at_completion_and_old_events_under_none() {
    let on_time = completed(Priority::Critical, false);
    let late = completed(Priority::Low, true);
    let v2 = |e: &EventEnvelope| Projection::TasksV2.effect(e).deltas;
    let by_priority = |e: &EventEnvelope| Projection::TasksByPriority.effect(e).deltas;
    // Created 2026-11-26T10:00Z, completed 4 or 6 days later.
    let lead_time = |days: u64| Counter::Bucket(Histogram::LeadTime, bucket_of(days * 86_400));
    let mut expected = by_priority(&on_time);
    expected.add(Counter::CompletedCritical, 1);
    expected.add(Counter::CompletedOnTimeCritical, 1);
    expected.add(lead_time(4), 1);
    assert_eq!(v2(&on_time), expected);
    let mut expected = by_priority(&late);
    expected.add(Counter::CompletedLow, 1);
    expected.add(Counter::CompletedLateLow, 1);
    expected.add(lead_time(6), 1);
    assert_eq!(v2(&late), expected);
    assert!(!by_priority(&late).contains(Counter::CompletedLow));
    // A completion written before events said their priority.
    let mut old = on_time.clone();
    if let TaskEvent::Completed(done) = &mut old.event {
        done.priority = None;
    }
    let mut expected = by_priority(&old);
    expected.add(lead_time(4), 1);
    assert_eq!(v2(&old), expected);
    // tasks-v3 adds that the tasks are no longer due on 2026-12-01: a day after the on-time
    // completion's day, on the late one's day or before.
    let v3 = |e: &EventEnvelope| Projection::TasksV3.effect(e).deltas;
    let mut expected = v2(&on_time);
    expected.add(Counter::Due(1), -1);
    assert_eq!(v3(&on_time), expected);
    let mut expected = v2(&late);
    expected.add(Counter::Due(0), -1);
    assert_eq!(v3(&late), expected);
}

#[test]
fn the_counters_of_each_projection_extend_the_one_before() {
    assert_eq!(Projection::Tasks.counters(), &Counter::ALL[..12]);
    assert!(
        Projection::TasksByPriority
            .counters()
            .starts_with(Projection::Tasks.counters())
    );
    assert!(
        Projection::TasksV2
            .counters()
            .starts_with(Projection::TasksByPriority.counters())
    );
    assert_eq!(Projection::TasksV2.counters(), &Counter::ALL);
    assert_eq!(Projection::TasksV3.counters(), &Counter::ALL);
    assert!(Projection::TasksV3.keeps_due_gauges());
    assert!(!Projection::TasksV2.keeps_due_gauges());
}

fn declares(projection: Projection, counter: &Counter) -> bool {
    match counter {
        Counter::Due(_) => projection.keeps_due_gauges(),
        other => projection.counters().contains(other),
    }
}

#[test]
fn tasks_v3_moves_a_task_between_due_days_on_the_owner_s_days_and_on_utc_days() {
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let los_angeles = crate::TimeZone::parse("America/Los_Angeles").unwrap();
    let created = created(Priority::Low).in_zone(&los_angeles);
    let task = Task::apply(None, &created).unwrap();
    // Planned for 2026-12-01T00:00Z, which is 2026-11-30 in Los Angeles.
    assert_eq!(task.planned_local_day, Some(day("2026-11-30")));
    let (task, moved) = Task::execute_in_zone(
        Some(task),
        &TaskCommand::ChangePlannedDate {
            planned_accomplish_date: "2026-12-05T00:00:00Z".parse().unwrap(),
        },
        "2026-11-27T10:00:00Z".parse().unwrap(),
        &los_angeles,
        || EventId::from_uuid(Uuid::from_u128(11)),
    )
    .unwrap();
    // Moved on 2026-11-27 (02:00 in Los Angeles): from 11-30 to 12-04 there, from 12-01
    // to 12-05 in UTC.
    let effect = Projection::TasksV3.effect(&moved[0]);
    assert_eq!(
        (effect.day, effect.global_day),
        (day("2026-11-27"), day("2026-11-27"))
    );
    let due = |d: &str| Counter::due(day(d), day("2026-11-27"));
    assert_eq!(effect.deltas[&due("2026-11-30")], -1);
    assert_eq!(effect.deltas[&due("2026-12-04")], 1);
    let mut global_due = effect.global_due.clone();
    global_due.sort();
    assert_eq!(
        global_due,
        [(due("2026-12-01"), -1), (due("2026-12-05"), 1)]
    );
    let global: BTreeMap<Counter, i64> = effect.global_deltas().collect();
    assert_eq!(global[&due("2026-12-05")], 1);
    assert!(
        !global.contains_key(&due("2026-12-04")),
        "the owner's day stays theirs"
    );
    // Cancelled: no longer due on 12-04 there; a cancellation written before
    // cancellations said their date moves nothing.
    let (_, cancelled) = Task::execute_in_zone(
        task,
        &TaskCommand::ChangeStatus {
            status: crate::TaskStatus::Cancelled,
            at: None,
        },
        "2026-11-28T20:00:00Z".parse().unwrap(),
        &los_angeles,
        || EventId::from_uuid(Uuid::from_u128(12)),
    )
    .unwrap();
    let effect = Projection::TasksV3.effect(&cancelled[0]);
    assert_eq!(
        effect
            .deltas
            .get(Counter::due(day("2026-12-04"), day("2026-11-28"))),
        Some(-1)
    );
    let mut old = cancelled[0].clone();
    if let TaskEvent::StatusChanged(change) = &mut old.event {
        change.planned_accomplish_date = None;
        change.planned_local_day = None;
    }
    let effect = Projection::TasksV3.effect(&old);
    assert!(!effect.has_global_due(), "{effect:?}");
    // The UTC projections keep no due gauges.
    assert!(
        !Projection::TasksByPriority
            .effect(&moved[0])
            .has_global_due()
    );
}

#[test]
fn every_counter_a_projection_moves_is_one_it_declares() {
    for priority in Priority::ALL {
        for late in [false, true] {
            for projection in Projection::ALL {
                let effect = projection.effect(&completed(priority, late));
                for counter in effect.deltas.counters() {
                    assert!(declares(projection, &counter), "{projection}");
                }
            }
        }
    }
    for priority in Priority::ALL {
        for projection in Projection::ALL {
            let effect = projection.effect(&created(priority));
            for counter in effect.deltas.counters() {
                assert!(declares(projection, &counter), "{projection}");
            }
        }
    }
    assert!(
        Projection::TasksByPriority
            .counters()
            .iter()
            .all(|c| Counter::ALL.contains(c))
    );
}

#[test]
fn names_and_versions() {
    for projection in Projection::ALL {
        assert_eq!(Projection::from_name(projection.name()), Some(projection));
    }
    assert_eq!(Projection::from_name("nope"), None);
    assert_eq!(ProjectionVersion::new(0), None);
    assert_eq!(ProjectionVersion::FIRST.next().number(), 2);
}
