//! Deterministic task histories: tasks of many users, each created and then moved through a
//! few commands, executed by the domain exactly as the API would, so every event is one the
//! API could have published. One generator; its shape says how many tasks, of how many users,
//! when, and what happens to each.

use chrono::{DateTime, Duration, Utc};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, TimeZone, Title,
    UserId,
};

/// One command of a task's life after its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Status(TaskStatus),
    Priority(Priority),
    /// Moves the planned date by this much: later is a delay, earlier a reschedule.
    MovePlannedDate(Duration),
}

use Step::{MovePlannedDate, Priority as Prioritise, Status};

const START: &[Step] = &[Status(TaskStatus::InProgress)];
const START_THEN_COMPLETE: &[Step] = &[
    Status(TaskStatus::InProgress),
    Status(TaskStatus::Completed),
];

/// What happens to the tasks of `HistoryShape::every_counter`.
const EVERY_COUNTER_LIFECYCLES: &[&[Step]] = &[
    START_THEN_COMPLETE,
    &[
        Prioritise(Priority::High),
        MovePlannedDate(Duration::hours(30)),
        Status(TaskStatus::OnHold),
    ],
    &[
        MovePlannedDate(Duration::hours(-20)),
        Status(TaskStatus::Completed),
    ],
    &[Status(TaskStatus::Cancelled)],
    START,
];

/// What happens to the tasks of `HistoryShape::workload`.
const WORKLOAD_LIFECYCLES: &[&[Step]] = &[
    START_THEN_COMPLETE,
    &[
        Prioritise(Priority::High),
        MovePlannedDate(Duration::hours(5)),
        Status(TaskStatus::Completed),
    ],
    &[Status(TaskStatus::OnHold)],
    &[
        MovePlannedDate(Duration::hours(-3)),
        Status(TaskStatus::Cancelled),
    ],
    START,
    &[],
];

/// When a task is due when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// At one time for every task: this long after the history's start.
    AfterStart(Duration),
    /// This long after the task's creation.
    AfterCreation(Duration),
}

/// What a history holds. Task `n` (from 0) is created at `start + n × arrival_every`, wrapped
/// into the first `arrivals_within` when that is set; it belongs to user
/// `(n × owner_stride) mod users`; it follows `lifecycles[n mod lifecycles.len()]`, one step
/// every `step_every` after its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryShape {
    pub users: usize,
    pub tasks: usize,
    pub start: DateTime<Utc>,
    pub arrival_every: Duration,
    pub arrivals_within: Option<Duration>,
    pub due: Due,
    pub step_every: Duration,
    pub owner_stride: usize,
    /// User `i` is `user-{i}`, the number zero-padded to this many digits.
    pub user_digits: usize,
    pub lifecycles: &'static [&'static [Step]],
}

/// Every event of a history in commit order, and each task's final state (in task order).
#[derive(Debug, Clone)]
pub struct History {
    pub events: Vec<EventEnvelope>,
    pub finals: Vec<Task>,
}

impl HistoryShape {
    /// The consumer tests' history: 100 tasks of 12 users created 47 minutes apart from
    /// 2026-11-20T06:00Z, all due 30 hours after that, steps 9 hours apart. Every counter
    /// moves: completions on time (the early tasks) and late (the later ones), delays,
    /// reschedules, cancellations, and tasks left in progress and on hold; over 300 events.
    pub fn every_counter() -> Self {
        Self {
            users: 12,
            tasks: 100,
            start: "2026-11-20T06:00:00Z".parse().unwrap(),
            arrival_every: Duration::minutes(47),
            arrivals_within: None,
            due: Due::AfterStart(Duration::hours(30)),
            step_every: Duration::hours(9),
            owner_stride: 1,
            user_digits: 0,
            lifecycles: EVERY_COUNTER_LIFECYCLES,
        }
    }

    /// The benchmarks' workload: `tasks` tasks of `users` users (user ids of realistic length),
    /// created spread over `days` UTC days from 2026-11-20, each due 4 hours after its
    /// creation and moved through a few commands 90 minutes apart (start, reprioritise, delay
    /// or reschedule, complete, put on hold, cancel); one task in six stays new. About 2.7
    /// events per task.
    pub fn workload(users: usize, tasks: usize, days: i64) -> Self {
        Self {
            users,
            tasks,
            start: "2026-11-20T00:00:00Z".parse().unwrap(),
            // The last arrivals leave their steps time to happen on the last day.
            arrivals_within: Some(Duration::days(days) - Duration::hours(10)),
            arrival_every: Duration::minutes(7919),
            due: Due::AfterCreation(Duration::hours(4)),
            step_every: Duration::minutes(90),
            owner_stride: 7,
            user_digits: 5,
            lifecycles: WORKLOAD_LIFECYCLES,
        }
    }

    /// One busy user's UTC day: `tasks` tasks of `user-0`, created from 2026-11-20T00:00Z
    /// within 20 hours and moved through the workload's lifecycles a minute per step, so
    /// every event (about 2.7 per task) falls on 2026-11-20.
    pub fn busy_user_day(tasks: usize) -> Self {
        Self {
            users: 1,
            tasks,
            start: "2026-11-20T00:00:00Z".parse().unwrap(),
            arrival_every: Duration::seconds(7),
            arrivals_within: Some(Duration::hours(20)),
            due: Due::AfterCreation(Duration::hours(4)),
            step_every: Duration::minutes(1),
            owner_stride: 1,
            user_digits: 0,
            lifecycles: WORKLOAD_LIFECYCLES,
        }
    }

    /// The name of user `i`.
    pub fn user(&self, i: usize) -> String {
        format!("user-{i:0width$}", width = self.user_digits)
    }

    /// Executes every task's commands; panics if the shape asks for one the domain refuses.
    pub fn generate(&self) -> History {
        self.generate_with(None)
    }

    /// [`Self::generate`], each owner in the zone `zone_of` gives it, the events stamped as the
    /// API stamps them (local days of `occurredAt` and of the planned dates).
    pub fn generate_in_zones(&self, zone_of: &dyn Fn(&UserId) -> TimeZone) -> History {
        self.generate_with(Some(zone_of))
    }

    fn generate_with(&self, zone_of: Option<&dyn Fn(&UserId) -> TimeZone>) -> History {
        let execute = |state: Option<Task>,
                       command: &TaskCommand,
                       now: DateTime<Utc>,
                       ids: &mut dyn FnMut() -> EventId| {
            let owner = match (&state, command) {
                (Some(task), _) => task.owner.clone(),
                (None, TaskCommand::Create(create)) => create.owner.clone(),
                (None, _) => unreachable!("every task starts with its create"),
            };
            match zone_of {
                Some(zone_of) => Task::execute_in_zone(state, command, now, &zone_of(&owner), ids),
                None => Task::execute(state, command, now, ids),
            }
        };
        let mut next_event = 0u128;
        let mut event_ids = || {
            next_event += 1;
            EventId::from_uuid(uuid::Uuid::from_u128((0xE7E7 << 64) + next_event))
        };
        let mut history = History {
            events: vec![],
            finals: vec![],
        };
        for n in 0..self.tasks {
            let mut now = self.start + self.arrival(n);
            let create = TaskCommand::Create(CreateTask {
                task_id: TaskId::from_uuid(uuid::Uuid::from_u128((0x7A5C << 64) + n as u128)),
                owner: UserId::parse(&self.user((n * self.owner_stride) % self.users)).unwrap(),
                title: Title::parse("Prepare the weekly report").unwrap(),
                description: None,
                priority: Priority::Medium,
                planned_accomplish_date: match self.due {
                    Due::AfterStart(after) => self.start + after,
                    Due::AfterCreation(after) => now + after,
                },
            });
            let (mut state, mut emitted) = execute(None, &create, now, &mut event_ids).unwrap();
            for step in self.lifecycles[n % self.lifecycles.len()] {
                let command = match *step {
                    Step::Status(status) => TaskCommand::ChangeStatus { status, at: None },
                    Step::Priority(priority) => TaskCommand::ChangePriority { priority },
                    Step::MovePlannedDate(by) => TaskCommand::ChangePlannedDate {
                        planned_accomplish_date: state.as_ref().unwrap().planned_accomplish_date
                            + by,
                    },
                };
                now += self.step_every;
                let (after, more) = execute(state, &command, now, &mut event_ids)
                    .unwrap_or_else(|e| panic!("task {n}, {step:?}: {e}"));
                state = after;
                emitted.extend(more);
            }
            history.events.extend(emitted);
            history.finals.push(state.unwrap());
        }
        history
    }

    fn arrival(&self, n: usize) -> Duration {
        let seconds = n as i64 * self.arrival_every.num_seconds();
        match self.arrivals_within {
            Some(within) => Duration::seconds(seconds % within.num_seconds().max(1)),
            None => Duration::seconds(seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use taskpulse_domain::TaskEvent;

    fn types(history: &History) -> BTreeSet<&'static str> {
        history.events.iter().map(|e| e.event_type()).collect()
    }

    fn statuses(history: &History) -> BTreeSet<TaskStatus> {
        history.finals.iter().map(|t| t.status()).collect()
    }

    #[test]
    fn the_consumer_tests_history_moves_every_counter() {
        let history = HistoryShape::every_counter().generate();
        assert!(history.events.len() >= 300, "{}", history.events.len());
        assert_eq!(types(&history), BTreeSet::from(TaskEvent::TYPES));
        let on_time: Vec<bool> = history
            .events
            .iter()
            .filter_map(|e| match &e.event {
                TaskEvent::Completed(done) => Some(done.on_time),
                _ => None,
            })
            .collect();
        assert!(on_time.contains(&true) && on_time.contains(&false));
        for open in [TaskStatus::InProgress, TaskStatus::OnHold] {
            assert!(statuses(&history).contains(&open), "{open:?}");
        }
        let owners: BTreeSet<String> = history.finals.iter().map(|t| t.owner.to_string()).collect();
        let shape = HistoryShape::every_counter();
        assert_eq!(owners, (0..12).map(|i| shape.user(i)).collect());
    }

    #[test]
    fn the_benchmark_workload_fills_the_largest_batch_over_the_days_asked() {
        let history = HistoryShape::workload(2_000, 4_000, 3).generate();
        assert!(history.events.len() >= 10_000, "{}", history.events.len());
        assert_eq!(types(&history), BTreeSet::from(TaskEvent::TYPES));
        let days: BTreeSet<_> = history
            .events
            .iter()
            .map(|e| e.occurred_at.date_naive())
            .collect();
        assert_eq!(days.len(), 3, "{days:?}");
        assert!(statuses(&history).contains(&TaskStatus::New));
        assert_eq!(HistoryShape::workload(1, 1, 1).user(7), "user-00007");
    }

    #[test]
    fn event_ids_are_unique_and_sequences_count_up_per_task() {
        let history = HistoryShape::every_counter().generate();
        let ids: BTreeSet<_> = history.events.iter().map(|e| e.event_id).collect();
        assert_eq!(ids.len(), history.events.len());
        for task in &history.finals {
            let sequences: Vec<u64> = history
                .events
                .iter()
                .filter(|e| e.task_id == task.id)
                .map(|e| e.sequence)
                .collect();
            assert_eq!(sequences, (1..=task.version).collect::<Vec<_>>());
        }
    }
}
