//! The property of local days: for users in several zones, with events on both sides of
//! daylight-saving changes and of local midnights, delivered duplicated and shuffled in random
//! batches through the consumer's use case, every user's local-day counter and every global
//! UTC-day counter equals a recount from the event history, and so do the tasks overdue at the
//! end of each day, recounted from what happened to each task.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use taskpulse_domain::analytics::{
    Counter, CounterKey, Granularity, Projection, ProjectionVersion, Scope, add_into,
};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, TimeZone, Title,
    UserId,
};
use uuid::Uuid;

use super::{PlanLimits, plan_transactions};
use crate::analytics::{HistoryRead, analytics_report, apply_events};
use crate::memory::MemoryAnalyticsStore;
use crate::ports::ScanCounters;
use crate::projections::ProjectionSpec;

/// The users' zones: UTC, both sides of it, half- and quarter-hour offsets, a 30-minute DST
/// (Lord Howe) and the extremes (UTC+14, UTC-11).
const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
];

/// Instants the events gather around: daylight-saving changes of 2026 and local midnights.
const ANCHORS: [&str; 8] = [
    "2026-03-08T10:00:00Z", // Los Angeles springs forward
    "2026-03-29T01:00:00Z", // Berlin springs forward
    "2026-10-25T01:00:00Z", // Berlin falls back (a 25-hour day)
    "2026-11-01T09:00:00Z", // Los Angeles falls back
    "2026-04-04T15:00:00Z", // Lord Howe falls back by 30 minutes
    "2026-03-28T23:00:00Z", // midnight in Berlin
    "2026-03-08T08:00:00Z", // midnight in Los Angeles
    "2026-12-06T10:00:00Z", // midnight in Kiritimati
];

/// One task: its owner, when it is created (an anchor and minutes from it), when it is planned
/// for (hours from its creation), whether and how its planned date moves (minutes after the
/// creation, by hours), and whether and how many minutes after that it is completed or
/// cancelled.
#[derive(Debug, Clone)]
struct Plan {
    owner: usize,
    anchor: usize,
    minutes: i64,
    priority: usize,
    planned_in_hours: i64,
    moved: Option<(i64, i64)>,
    closed_after: Option<(i64, bool)>,
}

fn task_plan() -> impl Strategy<Value = Plan> {
    (
        (0..ZONES.len(), 0..ANCHORS.len(), -150i64..150, 0..4usize),
        -30i64..72,
        prop::option::of((1i64..600, prop_oneof![-48i64..-1, 1i64..48])),
        prop::option::of((1i64..900, any::<bool>())),
    )
        .prop_map(
            |((owner, anchor, minutes, priority), planned_in_hours, moved, closed_after)| Plan {
                owner,
                anchor,
                minutes,
                priority,
                planned_in_hours,
                moved,
                closed_after,
            },
        )
}

impl Plan {
    fn zone(&self) -> TimeZone {
        TimeZone::parse(ZONES[self.owner]).unwrap()
    }

    fn created_at(&self) -> DateTime<Utc> {
        let anchor: DateTime<Utc> = ANCHORS[self.anchor].parse().unwrap();
        anchor + Duration::minutes(self.minutes)
    }

    fn planned(&self) -> DateTime<Utc> {
        self.created_at() + Duration::hours(self.planned_in_hours)
    }

    /// When the planned date moves, and to what.
    fn move_at(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.moved.map(|(after, by)| {
            (
                self.created_at() + Duration::minutes(after),
                self.planned() + Duration::hours(by),
            )
        })
    }

    /// When the task is completed or cancelled, and which.
    fn close_at(&self) -> Option<(DateTime<Utc>, bool)> {
        let moved = self.moved.map_or(0, |(after, _)| after);
        self.closed_after.map(|(after, complete)| {
            (
                self.created_at() + Duration::minutes(moved + after),
                complete,
            )
        })
    }
}

fn user(owner: usize) -> UserId {
    UserId::parse(&format!("user-{owner}")).unwrap()
}

/// The events of the planned tasks, each stamped with its owner's local days.
fn history(plans: &[Plan]) -> Vec<EventEnvelope> {
    let mut next = 0u128;
    let mut ids = || {
        next += 1;
        EventId::from_uuid(Uuid::from_u128(next))
    };
    let mut events = vec![];
    for (n, plan) in plans.iter().enumerate() {
        let zone = plan.zone();
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(n as u128 + 1)),
            owner: user(plan.owner),
            title: Title::parse("task").unwrap(),
            description: None,
            priority: Priority::ALL[plan.priority],
            planned_accomplish_date: plan.planned(),
        });
        let (mut task, emitted) =
            Task::execute_in_zone(None, &create, plan.created_at(), &zone, &mut ids).unwrap();
        events.extend(emitted);
        if let Some((at, to)) = plan.move_at() {
            let command = TaskCommand::ChangePlannedDate {
                planned_accomplish_date: to,
            };
            let (moved, emitted) =
                Task::execute_in_zone(task, &command, at, &zone, &mut ids).unwrap();
            task = moved;
            events.extend(emitted);
        }
        if let Some((at, complete)) = plan.close_at() {
            let command = TaskCommand::ChangeStatus {
                status: if complete {
                    TaskStatus::Completed
                } else {
                    TaskStatus::Cancelled
                },
                at: None,
            };
            let (_, emitted) = Task::execute_in_zone(task, &command, at, &zone, &mut ids).unwrap();
            events.extend(emitted);
        }
    }
    events
}

/// The tasks of `scope` open at the end of `day` whose planned date had passed by then, from
/// what happened to each task: in the owner's zone for a user, in UTC for everyone.
fn overdue_recount(plans: &[Plan], scope: &Scope, day: NaiveDate) -> i64 {
    let mut overdue = 0;
    for plan in plans {
        let zone = match scope {
            Scope::User(user) if *user == self::user(plan.owner) => plan.zone(),
            Scope::User(_) => continue,
            Scope::Global => TimeZone::utc(),
        };
        let by_then = |at: DateTime<Utc>| zone.local_day(at) <= day;
        let open =
            by_then(plan.created_at()) && !plan.close_at().is_some_and(|(at, _)| by_then(at));
        let planned = match plan.move_at() {
            // A moved date keeps the day of the zone it was set in: the same zone here.
            Some((at, to)) if by_then(at) => to,
            _ => plan.planned(),
        };
        if open && zone.local_day(planned) <= day {
            overdue += 1;
        }
    }
    overdue
}

/// The recount: each event's counters on its owner's local day (the zone recomputed from the
/// owner, not read from the event) and on its UTC day for everyone.
fn recount(
    plans: &[Plan],
    events: &[EventEnvelope],
) -> BTreeMap<CounterKey, BTreeMap<Counter, i64>> {
    let zone_of = |user: &UserId| {
        let owner = plans
            .iter()
            .map(|p| p.owner)
            .find(|o| &self::user(*o) == user)
            .unwrap();
        TimeZone::parse(ZONES[owner]).unwrap()
    };
    let mut expected: BTreeMap<CounterKey, BTreeMap<Counter, i64>> = BTreeMap::new();
    for event in events {
        // What each event counts is the projection's rule (tested on its own); where it counts is the
        // property here.
        let effect = Projection::TasksV3.effect(event);
        let local_day = zone_of(&event.user_id).local_day(event.occurred_at);
        let user = CounterKey {
            scope: Scope::User(event.user_id.clone()),
            day: local_day,
        };
        add_into(expected.entry(user).or_default(), &effect.deltas);
        let global = CounterKey {
            scope: Scope::Global,
            day: event.occurred_at.date_naive(),
        };
        let global = expected.entry(global).or_default();
        for (counter, delta) in effect.global_deltas() {
            *global.entry(counter).or_default() += delta;
        }
    }
    for counters in expected.values_mut() {
        counters.retain(|_, v| *v != 0);
    }
    expected.retain(|_, counters| !counters.is_empty());
    expected
}

/// The days the overdue tasks are asked for: every day around each anchor.
fn report_days() -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = ANCHORS
        .iter()
        .flat_map(|anchor| {
            let day = anchor.parse::<DateTime<Utc>>().unwrap().date_naive();
            (-2..=6).map(move |n| day + Duration::days(n))
        })
        .collect();
    days.sort();
    days.dedup();
    days
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn local_day_counters_from_shuffled_duplicated_batches_match_a_recount(
        plans in prop::collection::vec(task_plan(), 1..40),
        copies in prop::collection::vec(1usize..4, 50),
        seed in any::<u64>(),
        batch_sizes in prop::collection::vec(1usize..30, 1..10),
        max_items in 4usize..12,
        max_events_per_item in 1usize..4,
    ) {
        let events = history(&plans);
        let mut deliveries: Vec<&EventEnvelope> = events
            .iter()
            .enumerate()
            .flat_map(|(i, e)| std::iter::repeat_n(e, copies[i % copies.len()]))
            .collect();
        let mut state = seed | 1;
        for i in (1..deliveries.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            deliveries.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let store = MemoryAnalyticsStore::default();
        let spec = ProjectionSpec { version: ProjectionVersion::FIRST, projection: Projection::TasksV3 };
        let limits = PlanLimits { max_items, max_events_per_item, global_shards: 3 };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let counted = runtime.block_on(async {
            let mut rest = &deliveries[..];
            let mut size = batch_sizes.iter().cycle();
            while !rest.is_empty() {
                let (batch, tail) = rest.split_at((*size.next().unwrap()).min(rest.len()));
                rest = tail;
                // The consumer hands the use case each event of a batch once.
                let mut seen = std::collections::HashSet::new();
                let distinct = batch.iter().copied().filter(|e| seen.insert(e.event_id));
                let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
                let outcome = apply_events(&store, spec, distinct, &limits, deadline).await;
                assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
            }
            let mut overdue = vec![];
            let scopes = (0..ZONES.len()).map(|o| Scope::User(user(o))).chain([Scope::Global]);
            for scope in scopes {
                for day in report_days() {
                    let read = HistoryRead {
                        from: day,
                        to: day,
                        granularity: Granularity::Day,
                        today: Utc::now().date_naive(),
                    };
                    let report = analytics_report(&store, spec, &scope, read).await.unwrap();
                    let expected = overdue_recount(&plans, &scope, day);
                    overdue.push((scope.clone(), day, report.overdue, Some(expected)));
                }
            }
            (store.scan_counters(spec.version).await.unwrap(), overdue)
        });
        let (counted, overdue) = counted;
        prop_assert_eq!(counted, recount(&plans, &events));
        for (scope, day, reported, expected) in overdue {
            prop_assert_eq!(reported, expected, "{:?} at the end of {}", scope, day);
        }
    }

    /// Every transaction stays within the action limit, though a user's local day sends its
    /// events to two global days, and every event is planned exactly once.
    #[test]
    fn plans_of_local_days_keep_to_the_limits(
        plans in prop::collection::vec(task_plan(), 1..60),
        max_items in 4usize..12,
        max_events_per_item in 1usize..6,
    ) {
        let events = history(&plans);
        let effects: Vec<_> = events.iter().map(|e| Projection::TasksV3.effect(e)).collect();
        let limits = PlanLimits { max_items, max_events_per_item, global_shards: 3 };
        let planned = plan_transactions(ProjectionVersion::FIRST, &effects, &limits, || 1);
        let mut ids: Vec<EventId> = planned.iter().flat_map(|p| p.events()).collect();
        for plan in &planned {
            prop_assert!(plan.item_count() <= max_items, "{} > {max_items}", plan.item_count());
        }
        ids.sort();
        let planned_once = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), planned_once);
        prop_assert_eq!(planned_once, events.len());
    }
}
