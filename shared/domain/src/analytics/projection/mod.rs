//! Projections: named rules from events to counters, and the versions their counters are kept
//! under.
//!
//! A projection version is one complete set of counter items built by one projection. The read
//! side serves one version (the active one); a rebuild fills the next version from the event
//! archive while the active one keeps serving, then the next one becomes active. A projection
//! is pure, so the same events give the same counters in any order, however often they are
//! replayed.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Counter, EventEffect, Histogram, bucket_of, effect};
use crate::event::{
    EventEnvelope, TaskDelayed, TaskEvent, TaskRescheduled, TaskStatusChanged, due_day,
};
use crate::values::TaskStatus;

/// The rule a projection version is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Projection {
    /// The counters the analytics API serves.
    Tasks,
    /// [`Projection::Tasks`] and, besides, the tasks created per priority.
    TasksByPriority,
    /// The analytics people can act on: [`Projection::TasksByPriority`]'s counters, the tasks
    /// completed per priority (the priority at completion), on time and late, and histograms
    /// of lead times and delays (for percentiles), each user's
    /// counted on the user's own local days (the `localDay` the event was stamped with; the UTC
    /// day for events without one). Everyone's counters stay on UTC days.
    TasksV2,
    /// [`Projection::TasksV2`] and the open tasks by due day ([`Counter::Due`]), for the tasks
    /// overdue at the end of a day. A projection of its own, not more of `tasks-v2`: a `tasks-v2`
    /// version built before has no due gauges for the tasks it counted, so the gauges come
    /// with a rebuild from the whole archive.
    TasksV3,
}

/// How many of [`Counter::ALL`] (in its order) the `tasks` and `tasks-by-priority`
/// projections define; `tasks-v2` defines them all.
const TASKS_COUNTERS: usize = 12;
const TASKS_BY_PRIORITY_COUNTERS: usize = 16;

impl Projection {
    pub const ALL: [Projection; 4] = [
        Self::Tasks,
        Self::TasksByPriority,
        Self::TasksV2,
        Self::TasksV3,
    ];

    /// The name the projection configuration stores and the rebuild command takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tasks => "tasks",
            Self::TasksByPriority => "tasks-by-priority",
            Self::TasksV2 => "tasks-v2",
            Self::TasksV3 => "tasks-v3",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this projection counts each user's events on the user's own local days (and so
    /// differs from a UTC-day projection on the days of users outside UTC).
    pub fn counts_local_days(self) -> bool {
        matches!(self, Self::TasksV2 | Self::TasksV3)
    }

    /// Whether this projection keeps the open tasks by due day ([`Counter::Due`]), beside
    /// [`Self::counters`].
    pub fn keeps_due_gauges(self) -> bool {
        self == Self::TasksV3
    }

    /// Every counter this projection can move, except the due gauges.
    pub fn counters(self) -> &'static [Counter] {
        match self {
            Self::Tasks => &Counter::ALL[..TASKS_COUNTERS],
            Self::TasksByPriority => &Counter::ALL[..TASKS_BY_PRIORITY_COUNTERS],
            Self::TasksV2 | Self::TasksV3 => &Counter::ALL,
        }
    }

    /// What one event does to this projection's counters.
    pub fn effect(self, envelope: &EventEnvelope) -> EventEffect {
        let mut effect = effect(envelope);
        if self == Self::Tasks {
            return effect;
        }
        if let TaskEvent::Created(created) = &envelope.event {
            effect
                .deltas
                .add(Counter::created_with(created.priority), 1);
        }
        if self.counts_local_days() {
            effect.day = envelope.owner_day();
            let mut count = |counter: Counter| effect.deltas.add(counter, 1);
            match &envelope.event {
                TaskEvent::Completed(done) => {
                    if let Some(priority) = done.priority {
                        for counter in Counter::completed_with(priority, done.on_time) {
                            count(counter);
                        }
                    }
                    count(Counter::Bucket(
                        Histogram::LeadTime,
                        bucket_of(done.lead_time_seconds),
                    ));
                }
                TaskEvent::Delayed(delay) => {
                    count(Counter::Bucket(
                        Histogram::Delay,
                        bucket_of(delay.delay_seconds),
                    ));
                }
                _ => {}
            }
        }
        if self.keeps_due_gauges() {
            for (planned, local_day, delta) in due_moves(&envelope.event) {
                let user = Counter::due(due_day(planned, local_day), effect.day);
                effect.deltas.add(user, delta);
                let global = Counter::due(planned.date_naive(), effect.global_day);
                match effect.global_due.iter_mut().find(|(c, _)| *c == global) {
                    Some((_, total)) => *total += delta,
                    None => effect.global_due.push((global, delta)),
                }
            }
            effect.deltas.remove_zeros();
            effect.global_due.retain(|(_, delta)| *delta != 0);
        }
        effect
    }
}

/// Where an event makes its task start (+1) or stop (-1) being due: each planned date with the
/// local day stamped beside it. A cancellation written before cancellations said their planned
/// date moves nothing (see `docs/event-contract.md`).
fn due_moves(event: &TaskEvent) -> Vec<(DateTime<Utc>, Option<NaiveDate>, i64)> {
    match event {
        TaskEvent::Created(created) => {
            vec![(
                created.planned_accomplish_date,
                created.planned_local_day,
                1,
            )]
        }
        TaskEvent::Completed(done) => {
            vec![(done.planned_accomplish_date, done.planned_local_day, -1)]
        }
        TaskEvent::StatusChanged(TaskStatusChanged {
            to: TaskStatus::Cancelled,
            planned_accomplish_date: Some(planned),
            planned_local_day,
            ..
        }) => vec![(*planned, *planned_local_day, -1)],
        TaskEvent::Delayed(TaskDelayed {
            from,
            to,
            from_local_day,
            to_local_day,
            ..
        })
        | TaskEvent::Rescheduled(TaskRescheduled {
            from,
            to,
            from_local_day,
            to_local_day,
        }) => vec![(*from, *from_local_day, -1), (*to, *to_local_day, 1)],
        TaskEvent::StatusChanged(_) | TaskEvent::PriorityChanged(_) => vec![],
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A projection version: 1, 2, … Each version's counters are kept apart from the others'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectionVersion(u32);

impl ProjectionVersion {
    /// The version every deployment starts with (its counter items keep the original keys).
    pub const FIRST: Self = Self(1);

    /// `None` for 0: versions count from 1.
    pub fn new(number: u32) -> Option<Self> {
        (number >= 1).then_some(Self(number))
    }

    pub fn number(self) -> u32 {
        self.0
    }

    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for ProjectionVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests;
