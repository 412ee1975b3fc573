//! The analytics projection: which counters an event moves, and by how much.
//!
//! Every effect is an increment on a per-day counter item (per user and for everyone), so the
//! same set of events gives the same counters in any order. All-time totals, including the
//! open-task gauges, are sums over days and are derived when read.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::event::{EventEnvelope, TaskEvent};
use crate::values::{TaskStatus, UserId};

/// Whose counters: one user's, or everyone's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    User(UserId),
    Global,
}

/// One counter item: a scope and a UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub scope: Scope,
    pub day: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    Created,
    Completed,
    CompletedOnTime,
    CompletedLate,
    LeadTimeSecondsSum,
    Delayed,
    DelaySecondsSum,
    Rescheduled,
    PriorityChanges,
    /// Gauge deltas: tasks entering (+1) and leaving (-1) an open status.
    OpenNew,
    OpenInProgress,
    OpenOnHold,
}

impl Counter {
    pub const ALL: [Counter; 12] = [
        Self::Created,
        Self::Completed,
        Self::CompletedOnTime,
        Self::CompletedLate,
        Self::LeadTimeSecondsSum,
        Self::Delayed,
        Self::DelaySecondsSum,
        Self::Rescheduled,
        Self::PriorityChanges,
        Self::OpenNew,
        Self::OpenInProgress,
        Self::OpenOnHold,
    ];

    /// The attribute name on the counter item and the field name in the analytics API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Completed => "completed",
            Self::CompletedOnTime => "completedOnTime",
            Self::CompletedLate => "completedLate",
            Self::LeadTimeSecondsSum => "leadTimeSecondsSum",
            Self::Delayed => "delayed",
            Self::DelaySecondsSum => "delaySecondsSum",
            Self::Rescheduled => "rescheduled",
            Self::PriorityChanges => "priorityChanges",
            Self::OpenNew => "openNew",
            Self::OpenInProgress => "openInProgress",
            Self::OpenOnHold => "openOnHold",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The gauge that counts open tasks in `status`; terminal statuses have none.
    pub fn open_gauge(status: TaskStatus) -> Option<Self> {
        match status {
            TaskStatus::New => Some(Self::OpenNew),
            TaskStatus::InProgress => Some(Self::OpenInProgress),
            TaskStatus::OnHold => Some(Self::OpenOnHold),
            TaskStatus::Completed | TaskStatus::Cancelled => None,
        }
    }
}

/// The deltas one event applies to one counter item, merged per counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterUpdate {
    pub key: CounterKey,
    pub deltas: BTreeMap<Counter, i64>,
}

/// The counter deltas of one event on one day, before they are spread over scopes.
fn deltas(event: &TaskEvent) -> Vec<(Counter, i64)> {
    let seconds = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    match event {
        TaskEvent::Created(_) => vec![(Counter::Created, 1), (Counter::OpenNew, 1)],
        TaskEvent::StatusChanged(change) => Counter::open_gauge(change.from)
            .map(|c| (c, -1))
            .into_iter()
            .chain(Counter::open_gauge(change.to).map(|c| (c, 1)))
            .collect(),
        TaskEvent::Completed(done) => vec![
            (Counter::Completed, 1),
            if done.on_time {
                (Counter::CompletedOnTime, 1)
            } else {
                (Counter::CompletedLate, 1)
            },
            (Counter::LeadTimeSecondsSum, seconds(done.lead_time_seconds)),
        ],
        TaskEvent::PriorityChanged(_) => vec![(Counter::PriorityChanges, 1)],
        TaskEvent::Delayed(delay) => vec![
            (Counter::Delayed, 1),
            (Counter::DelaySecondsSum, seconds(delay.delay_seconds)),
        ],
        TaskEvent::Rescheduled(_) => vec![(Counter::Rescheduled, 1)],
    }
}

/// The counter updates of one event: the same deltas on the owner's day and on the global day
/// (the UTC date of `occurredAt`).
pub fn project(envelope: &EventEnvelope) -> Vec<CounterUpdate> {
    let day = envelope.occurred_at.date_naive();
    let deltas: BTreeMap<Counter, i64> = deltas(&envelope.event)
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .fold(BTreeMap::new(), |mut merged, (counter, delta)| {
            *merged.entry(counter).or_default() += delta;
            merged
        });
    if deltas.is_empty() {
        return vec![];
    }
    [Scope::User(envelope.user_id.clone()), Scope::Global]
        .into_iter()
        .map(|scope| CounterUpdate {
            key: CounterKey { scope, day },
            deltas: deltas.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventId;
    use crate::task::{CreateTask, Task, TaskCommand};
    use crate::values::{Priority, TaskId, Title};
    use chrono::{DateTime, Duration, Utc};
    use proptest::prelude::*;
    use uuid::Uuid;

    #[test]
    fn created_counts_on_owner_and_global_day() {
        let (_, events) = Task::execute(
            None,
            &TaskCommand::Create(CreateTask {
                task_id: TaskId::from_uuid(Uuid::from_u128(1)),
                owner: UserId::parse("u1").unwrap(),
                title: Title::parse("t").unwrap(),
                description: None,
                priority: Priority::Low,
                planned_accomplish_date: "2026-12-01T00:00:00Z".parse().unwrap(),
            }),
            "2026-11-26T23:59:59Z".parse().unwrap(),
            || EventId::from_uuid(Uuid::from_u128(9)),
        )
        .unwrap();
        let updates = project(&events[0]);
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let expected = BTreeMap::from([(Counter::Created, 1), (Counter::OpenNew, 1)]);
        assert_eq!(
            updates,
            vec![
                CounterUpdate {
                    key: CounterKey {
                        scope: Scope::User(UserId::parse("u1").unwrap()),
                        day
                    },
                    deltas: expected.clone(),
                },
                CounterUpdate {
                    key: CounterKey {
                        scope: Scope::Global,
                        day
                    },
                    deltas: expected,
                },
            ]
        );
    }

    #[test]
    fn counter_names_round_trip() {
        for c in Counter::ALL {
            assert_eq!(Counter::from_name(c.name()), Some(c));
        }
    }

    /// One step of a random history: which command, and how many minutes later it is issued.
    #[derive(Debug, Clone)]
    enum Step {
        Status(TaskStatus, bool),
        Priority(Priority),
        Planned(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (
                prop::sample::select(TaskStatus::ALL.to_vec()),
                any::<bool>()
            )
                .prop_map(|(s, backdate)| Step::Status(s, backdate)),
            prop::sample::select(Priority::ALL.to_vec()).prop_map(Step::Priority),
            (-5_000i64..5_000).prop_map(Step::Planned),
        ]
    }

    proptest! {
        /// Any history of valid commands yields a consistent state; replaying the emitted events
        /// rebuilds it exactly; and the summed projection equals a recount from final states.
        #[test]
        fn projection_matches_recount_of_final_states(
            histories in prop::collection::vec(prop::collection::vec((step(), 1i64..3_000), 0..12), 1..8)
        ) {
            let start: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
            let mut next = 0u128;
            let mut all_events = Vec::new();
            let mut finals = Vec::new();
            for (n, steps) in histories.iter().enumerate() {
                let mut now = start + Duration::minutes(n as i64 * 7);
                let create = TaskCommand::Create(CreateTask {
                    task_id: TaskId::from_uuid(Uuid::from_u128(n as u128 + 1)),
                    owner: UserId::parse(&format!("user-{}", n % 3)).unwrap(),
                    title: Title::parse("task").unwrap(),
                    description: None,
                    priority: Priority::Medium,
                    planned_accomplish_date: start + Duration::days(2),
                });
                let mut ids = || { next += 1; EventId::from_uuid(Uuid::from_u128(next)) };
                let (mut state, mut events) = Task::execute(None, &create, now, &mut ids).unwrap();
                for (step, minutes) in steps {
                    now += Duration::minutes(*minutes);
                    let task = state.clone().unwrap();
                    let command = match *step {
                        Step::Status(status, backdate) => TaskCommand::ChangeStatus {
                            status,
                            at: backdate.then(|| now - Duration::minutes(minutes / 2)),
                        },
                        Step::Priority(priority) => TaskCommand::ChangePriority { priority },
                        Step::Planned(delta) => TaskCommand::ChangePlannedDate {
                            planned_accomplish_date: task.planned_accomplish_date + Duration::minutes(delta),
                        },
                    };
                    match Task::execute(state.clone(), &command, now, &mut ids) {
                        Ok((after, emitted)) => {
                            prop_assert_eq!(after.as_ref().unwrap().version, task.version + emitted.len() as u64);
                            state = after;
                            events.extend(emitted);
                        }
                        Err(e) => prop_assert!(
                            task.status().is_terminal()
                                || matches!(e, crate::DomainError::AtBeforeCurrentStatus { .. }),
                            "unexpected refusal {:?}", e
                        ),
                    }
                }
                let mut replayed = None;
                for e in &events {
                    replayed = Some(Task::apply(replayed, e).unwrap());
                }
                prop_assert_eq!(&replayed, &state);
                all_events.extend(events);
                finals.push(state.unwrap());
            }

            let mut global: BTreeMap<Counter, i64> = BTreeMap::new();
            for e in all_events.iter().rev() {
                for update in project(e) {
                    if update.key.scope == Scope::Global {
                        for (c, d) in update.deltas { *global.entry(c).or_default() += d; }
                    }
                }
            }
            let count = |f: &dyn Fn(&Task) -> bool| finals.iter().filter(|t| f(t)).count() as i64;
            let get = |c: Counter| global.get(&c).copied().unwrap_or(0);
            prop_assert_eq!(get(Counter::Created), finals.len() as i64);
            prop_assert_eq!(get(Counter::Completed), count(&|t| t.status() == TaskStatus::Completed));
            prop_assert_eq!(get(Counter::CompletedOnTime), count(&|t| t.status() == TaskStatus::Completed
                && t.actual_accomplish_date.unwrap() <= t.planned_accomplish_date));
            prop_assert_eq!(get(Counter::OpenNew), count(&|t| t.status() == TaskStatus::New));
            prop_assert_eq!(get(Counter::OpenInProgress), count(&|t| t.status() == TaskStatus::InProgress));
            prop_assert_eq!(get(Counter::OpenOnHold), count(&|t| t.status() == TaskStatus::OnHold));
            let lead: i64 = finals.iter().filter_map(|t| t.actual_accomplish_date
                .map(|done| (done - t.created_at).num_seconds().max(0))).sum();
            prop_assert_eq!(get(Counter::LeadTimeSecondsSum), lead);
        }
    }
}
