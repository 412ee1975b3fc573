//! The analytics projection: which counters an event moves, and by how much.
//!
//! Every effect is an increment on a per-day counter item (per user and for everyone), so the
//! same set of events gives the same counters in any order. All-time totals, including the
//! open-task gauges, are sums over days and are derived when read. The effects of a batch merge
//! per owner's day ([`by_user_day`], [`merged_deltas`]); how the merged updates are packed into
//! storage writes is the application's concern (`taskpulse_app::analytics::plan`).
//!
//! Which counters exist is a [`Projection`]'s choice, and the counters of each projection
//! version live apart ([`ProjectionVersion`]), so a projection can be rebuilt from the event
//! archive beside the one serving.

mod calendar;
mod counter;
mod deltas;
mod histogram;
pub mod months;
mod projection;

pub use calendar::Granularity;
pub use counter::Counter;
pub use deltas::Deltas;
pub use histogram::{
    HISTOGRAM_BUCKETS, HISTOGRAM_RELATIVE_ERROR, Histogram, bucket_of, bucket_value, quantile,
};
pub use projection::{Projection, ProjectionVersion};

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::event::{EventEnvelope, EventId, TaskEvent};
use crate::values::UserId;

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

/// The deltas one event applies to one counter item, merged per counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterUpdate {
    pub key: CounterKey,
    pub deltas: Deltas,
}

/// Adds the counter deltas of one event on one day, before they are spread over scopes, into
/// `deltas` (built in place: this runs for every consumed event).
fn add_deltas(event: &TaskEvent, deltas: &mut Deltas) {
    let seconds = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    let mut add = |counter: Counter, delta: i64| deltas.add(counter, delta);
    match event {
        TaskEvent::Created(_) => {
            add(Counter::Created, 1);
            add(Counter::OpenNew, 1);
        }
        TaskEvent::StatusChanged(change) => {
            if let Some(gauge) = Counter::open_gauge(change.from) {
                add(gauge, -1);
            }
            if let Some(gauge) = Counter::open_gauge(change.to) {
                add(gauge, 1);
            }
        }
        TaskEvent::Completed(done) => {
            add(Counter::Completed, 1);
            if done.on_time {
                add(Counter::CompletedOnTime, 1);
            } else {
                add(Counter::CompletedLate, 1);
            }
            add(Counter::LeadTimeSecondsSum, seconds(done.lead_time_seconds));
        }
        TaskEvent::PriorityChanged(_) => add(Counter::PriorityChanges, 1),
        TaskEvent::Delayed(delay) => {
            add(Counter::Delayed, 1);
            add(Counter::DelaySecondsSum, seconds(delay.delay_seconds));
        }
        TaskEvent::Rescheduled(_) => add(Counter::Rescheduled, 1),
    }
}

/// What one event does to the counters: `deltas` on its owner's day and the same deltas on the
/// global day (the UTC date of `occurredAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEffect {
    pub event_id: EventId,
    pub user: UserId,
    /// The owner's day: the UTC day, or the owner's local day where the projection says so.
    pub day: NaiveDate,
    /// Everyone's day: always the UTC day, so global analytics do not depend on anyone's zone.
    pub global_day: NaiveDate,
    /// The owner's deltas, which everyone's day takes too except the [`Counter::Due`] gauges:
    /// a task's due day is the owner's local day in the owner's counters and its UTC date in
    /// everyone's, which get `global_due` instead.
    pub deltas: Deltas,
    pub global_due: Vec<(Counter, i64)>,
}

impl EventEffect {
    /// What this event adds to everyone's day.
    pub fn global_deltas(&self) -> impl Iterator<Item = (Counter, i64)> + '_ {
        // The due gauges sort last: everything before the first one is everyone's too.
        self.deltas
            .below(Counter::Due(0))
            .iter()
            .chain(&self.global_due)
            .copied()
    }

    /// Whether everyone's day takes other deltas than the owner's.
    pub fn has_global_due(&self) -> bool {
        !self.global_due.is_empty() || !self.deltas.at_or_above(Counter::Due(0)).is_empty()
    }
}

/// The effect of an event in the `tasks` projection (see [`Projection::effect`] for the others).
pub fn effect(envelope: &EventEnvelope) -> EventEffect {
    let mut deltas = Deltas::new();
    add_deltas(&envelope.event, &mut deltas);
    deltas.remove_zeros();
    let utc_day = envelope.occurred_at.date_naive();
    EventEffect {
        event_id: envelope.event_id,
        user: envelope.user_id.clone(),
        day: utc_day,
        global_day: utc_day,
        deltas,
        global_due: vec![],
    }
}

/// The counter updates of one event, one per scope.
pub fn project(envelope: &EventEnvelope) -> Vec<CounterUpdate> {
    let effect = effect(envelope);
    [
        (Scope::User(effect.user), effect.day),
        (Scope::Global, effect.global_day),
    ]
    .into_iter()
    .map(|(scope, day)| CounterUpdate {
        key: CounterKey { scope, day },
        deltas: effect.deltas.clone(),
    })
    .collect()
}

/// Adds `deltas` (a map's, or [`Deltas`]) into `total`, counter by counter.
pub fn add_into<'a>(
    total: &mut BTreeMap<Counter, i64>,
    deltas: impl IntoIterator<Item = (&'a Counter, &'a i64)>,
) {
    for (counter, delta) in deltas {
        *total.entry(*counter).or_default() += delta;
    }
}

/// The effects of a batch grouped by their owner's day (the item they all move), groups in
/// first-seen order and effects in batch order within each.
pub fn by_user_day(effects: &[EventEffect]) -> UserDays<'_> {
    // Keys borrowed: no copies of user ids. One list for all groups, not one per group: a
    // batch has nearly as many (user, day) groups as events. Hashed with foldhash: SipHash's
    // resistance to chosen keys buys nothing for ids the identity provider assigns.
    let mut group_of: HashMap<(&UserId, NaiveDate), usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(effects.len(), Default::default());
    let mut group_ids = Vec::with_capacity(effects.len());
    let mut ends: Vec<usize> = vec![];
    for effect in effects {
        let group = *group_of
            .entry((&effect.user, effect.day))
            .or_insert_with(|| {
                ends.push(0);
                ends.len() - 1
            });
        ends[group] += 1;
        group_ids.push(group);
    }
    // Sizes become where each group starts (`next`) and ends; then each effect goes to the next
    // place of its group, which keeps batch order within a group.
    let mut next = Vec::with_capacity(ends.len());
    let mut end = 0;
    for size in &mut ends {
        next.push(end);
        end += *size;
        *size = end;
    }
    let Some(first) = effects.first() else {
        return UserDays::default();
    };
    let mut grouped = vec![first; effects.len()];
    for (effect, group) in effects.iter().zip(group_ids) {
        grouped[next[group]] = effect;
        next[group] += 1;
    }
    UserDays {
        effects: grouped,
        ends,
    }
}

/// Effects grouped per owner's day (see [`by_user_day`]): each group a slice, in order.
#[derive(Debug, Clone, Default)]
pub struct UserDays<'a> {
    effects: Vec<&'a EventEffect>,
    /// Where each group ends in `effects`; the next one starts there.
    ends: Vec<usize>,
}

impl<'a> UserDays<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The groups in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = &[&'a EventEffect]> + '_ {
        (0..self.len()).map(|group| &self[group])
    }
}

impl<'a> std::ops::Index<usize> for UserDays<'a> {
    type Output = [&'a EventEffect];

    fn index(&self, group: usize) -> &Self::Output {
        let start = group.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.effects[start..self.ends[group]]
    }
}

/// What effects on one item come to together: their deltas summed per counter, without the
/// counters that net to zero.
pub fn merged_deltas<'a>(effects: impl IntoIterator<Item = &'a EventEffect>) -> Deltas {
    let mut effects = effects.into_iter();
    // Most items take one event of a batch: its deltas are the sum, copied whole rather than
    // added counter by counter.
    let mut deltas = match effects.next() {
        Some(first) => first.deltas.clone(),
        None => return Deltas::new(),
    };
    for effect in effects {
        deltas.add_all(&effect.deltas);
    }
    deltas.without_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventId;
    use crate::task::{CreateTask, Task, TaskCommand};
    use crate::values::{Priority, TaskId, Title};
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
        let expected = Deltas::from([(Counter::Created, 1), (Counter::OpenNew, 1)]);
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
    fn effects_group_by_owner_day_in_first_seen_order_and_merge_without_zeros() {
        let effect = |n: u128, user: &str, day: u32, deltas: &[(Counter, i64)]| EventEffect {
            event_id: EventId::from_uuid(Uuid::from_u128(n)),
            user: UserId::parse(user).unwrap(),
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            global_day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            deltas: deltas.iter().copied().collect(),
            global_due: vec![],
        };
        let effects = [
            effect(1, "b", 26, &[(Counter::Created, 1), (Counter::OpenNew, 1)]),
            effect(2, "a", 26, &[(Counter::Created, 1), (Counter::OpenNew, 1)]),
            effect(3, "b", 25, &[(Counter::Rescheduled, 1)]),
            effect(
                4,
                "b",
                26,
                &[(Counter::OpenNew, -1), (Counter::OpenInProgress, 1)],
            ),
        ];
        let groups = by_user_day(&effects);
        let ids: Vec<Vec<u128>> = groups
            .iter()
            .map(|g| g.iter().map(|e| e.event_id.as_uuid().as_u128()).collect())
            .collect();
        assert_eq!(ids, [vec![1, 4], vec![2], vec![3]]);
        assert_eq!(
            merged_deltas(groups[0].iter().copied()),
            Deltas::from([(Counter::Created, 1), (Counter::OpenInProgress, 1)]),
            "OpenNew nets to zero and is left out"
        );
    }
}
