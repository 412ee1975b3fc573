//! The analytics projection: which counters an event moves, and by how much.
//!
//! Every effect is an increment on a per-day counter item (per user and for everyone), so the
//! same set of events gives the same counters in any order. All-time totals, including the
//! open-task gauges, are sums over days and are derived when read.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::event::{EventEnvelope, EventId, TaskEvent};
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

/// What one event does to the counters: `deltas` on its owner's day and the same deltas on the
/// global day (the UTC date of `occurredAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEffect {
    pub event_id: EventId,
    pub user: UserId,
    pub day: NaiveDate,
    pub deltas: BTreeMap<Counter, i64>,
}

pub fn effect(envelope: &EventEnvelope) -> EventEffect {
    let mut deltas = BTreeMap::new();
    for (counter, delta) in self::deltas(&envelope.event) {
        *deltas.entry(counter).or_default() += delta;
    }
    deltas.retain(|_, delta| *delta != 0);
    EventEffect {
        event_id: envelope.event_id,
        user: envelope.user_id.clone(),
        day: envelope.occurred_at.date_naive(),
        deltas,
    }
}

/// The counter updates of one event, one per scope.
pub fn project(envelope: &EventEnvelope) -> Vec<CounterUpdate> {
    let effect = effect(envelope);
    [Scope::User(effect.user), Scope::Global]
        .into_iter()
        .map(|scope| CounterUpdate {
            key: CounterKey {
                scope,
                day: effect.day,
            },
            deltas: effect.deltas.clone(),
        })
        .collect()
}

fn non_zero(deltas: BTreeMap<Counter, i64>) -> BTreeMap<Counter, i64> {
    deltas.into_iter().filter(|(_, d)| *d != 0).collect()
}

fn add_into(total: &mut BTreeMap<Counter, i64>, deltas: &BTreeMap<Counter, i64>) {
    for (counter, delta) in deltas {
        *total.entry(*counter).or_default() += delta;
    }
}

pub use plan::{GlobalDayWrite, PlanLimits, TransactionPlan, UserDayWrite, plan_transactions};

/// Planning a batch of events into as few transactional writes as possible.
///
/// Exactly-once rests on the owner's day item: every event moves it, so it carries the set of
/// event ids already applied to it (`appliedEvents`) and its update is conditional on none of
/// the transaction's events being in that set. The global day item (sharded, because every
/// event moves it) is written in the same transaction, so it moves only when the user items
/// do. A batch is merged per item: one update per (user, day) with the summed deltas and all
/// its event ids, and one update per global day with the sum over the transaction.
pub mod plan {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::NaiveDate;

    use super::{Counter, EventEffect, add_into, non_zero};
    use crate::{EventId, UserId};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PlanLimits {
        /// DynamoDB takes at most 100 actions per transaction.
        pub max_items: usize,
        /// Events guarded by one item update: bounds the condition expression (4 KB).
        pub max_events_per_item: usize,
        /// Shards of each global day counter; reads sum them.
        pub global_shards: u32,
    }

    impl Default for PlanLimits {
        fn default() -> Self {
            Self {
                max_items: 100,
                max_events_per_item: 50,
                global_shards: 10,
            }
        }
    }

    /// The update of one user's day item: summed deltas and the events it marks applied.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserDayWrite {
        pub user: UserId,
        pub day: NaiveDate,
        pub deltas: BTreeMap<Counter, i64>,
        pub events: Vec<EventId>,
    }

    /// The update of one shard of the global day item.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct GlobalDayWrite {
        pub day: NaiveDate,
        pub shard: u32,
        pub deltas: BTreeMap<Counter, i64>,
    }

    /// One `TransactWriteItems`: user items first, then global shards.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TransactionPlan {
        pub users: Vec<UserDayWrite>,
        pub globals: Vec<GlobalDayWrite>,
    }

    impl TransactionPlan {
        pub fn item_count(&self) -> usize {
            self.users.len() + self.globals.len()
        }

        pub fn events(&self) -> impl Iterator<Item = EventId> + '_ {
            self.users.iter().flat_map(|u| u.events.iter().copied())
        }
    }

    /// Packs effects (distinct events) into transactions of at most `limits.max_items` items.
    /// `pick_shard` chooses the global shard of each (transaction, day), so concurrent
    /// consumers spread over the shards.
    pub fn plan_transactions(
        effects: &[EventEffect],
        limits: &PlanLimits,
        mut pick_shard: impl FnMut() -> u32,
    ) -> Vec<TransactionPlan> {
        // Group by owner's day, in first-seen order (keys borrowed: no copies of user ids).
        let mut groups: Vec<Vec<&EventEffect>> = vec![];
        let mut group_of: HashMap<(&UserId, NaiveDate), usize> = HashMap::new();
        for effect in effects {
            let index = *group_of
                .entry((&effect.user, effect.day))
                .or_insert_with(|| {
                    groups.push(vec![]);
                    groups.len() - 1
                });
            groups[index].push(effect);
        }
        let per_item = limits.max_events_per_item.max(1);
        let max_items = limits.max_items.max(2);
        let chunks = groups.iter().flat_map(|group| group.chunks(per_item));

        // Next fit: fill the current transaction until the item limit, or until a chunk names
        // an item it already writes (two actions on one item are refused by DynamoDB).
        struct Open<'e> {
            users: Vec<UserDayWrite>,
            keys: HashSet<(&'e UserId, NaiveDate)>,
            globals: BTreeMap<NaiveDate, BTreeMap<Counter, i64>>,
        }
        let new_open = || Open {
            users: vec![],
            keys: HashSet::new(),
            globals: BTreeMap::new(),
        };
        let mut open: Vec<Open> = vec![new_open()];
        for chunk in chunks {
            let (user, day) = (&chunk[0].user, chunk[0].day);
            let mut deltas = BTreeMap::new();
            for effect in chunk {
                add_into(&mut deltas, &effect.deltas);
            }
            let write = UserDayWrite {
                user: user.clone(),
                day,
                deltas: non_zero(deltas),
                events: chunk.iter().map(|e| e.event_id).collect(),
            };
            let key = (user, day);
            let current = open.last().expect("one is always open");
            let new_day = usize::from(!current.globals.contains_key(&write.day));
            let full = current.users.len() + current.globals.len() + 1 + new_day > max_items;
            if full || current.keys.contains(&key) {
                open.push(new_open());
            }
            let tx = open.last_mut().expect("one is always open");
            add_into(tx.globals.entry(write.day).or_default(), &write.deltas);
            tx.keys.insert(key);
            tx.users.push(write);
        }
        let mut plans = vec![];
        for tx in open.into_iter().filter(|tx| !tx.users.is_empty()) {
            let shards = limits.global_shards.max(1);
            let globals = tx
                .globals
                .into_iter()
                .map(|(day, deltas)| (day, non_zero(deltas)))
                .filter(|(_, deltas)| !deltas.is_empty())
                .map(|(day, deltas)| GlobalDayWrite {
                    day,
                    shard: pick_shard() % shards,
                    deltas,
                })
                .collect();
            plans.push(TransactionPlan {
                users: tx.users,
                globals,
            });
        }
        plans
    }
}

pub use table::CounterTable;

/// The counter items and their transactional semantics, in memory: what the DynamoDB store
/// does, for the in-memory adapter and for tests.
pub mod table {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::NaiveDate;

    use super::{Counter, Scope, TransactionPlan, add_into};
    use crate::{EventId, UserId};

    #[derive(Debug, Default, Clone)]
    struct UserDayItem {
        counters: BTreeMap<Counter, i64>,
        applied: HashSet<EventId>,
    }

    #[derive(Debug, Default, Clone)]
    pub struct CounterTable {
        users: HashMap<(UserId, NaiveDate), UserDayItem>,
        globals: HashMap<(NaiveDate, u32), BTreeMap<Counter, i64>>,
    }

    impl CounterTable {
        /// Commits a plan all or nothing. When some of its events were applied before, nothing
        /// is written and those events are returned.
        pub fn commit(&mut self, plan: &TransactionPlan) -> Result<(), Vec<EventId>> {
            let duplicates: Vec<EventId> = plan
                .users
                .iter()
                .flat_map(|write| {
                    let item = self.users.get(&(write.user.clone(), write.day));
                    write
                        .events
                        .iter()
                        .filter(move |e| item.is_some_and(|item| item.applied.contains(e)))
                        .copied()
                })
                .collect();
            if !duplicates.is_empty() {
                return Err(duplicates);
            }
            for write in &plan.users {
                let item = self
                    .users
                    .entry((write.user.clone(), write.day))
                    .or_default();
                add_into(&mut item.counters, &write.deltas);
                item.applied.extend(write.events.iter().copied());
            }
            for write in &plan.globals {
                add_into(
                    self.globals.entry((write.day, write.shard)).or_default(),
                    &write.deltas,
                );
            }
            Ok(())
        }

        pub fn user_day(&self, user: &UserId, day: NaiveDate) -> BTreeMap<Counter, i64> {
            self.users
                .get(&(user.clone(), day))
                .map(|item| item.counters.clone())
                .unwrap_or_default()
        }

        /// The global day: the sum of its shards.
        pub fn global_day(&self, day: NaiveDate) -> BTreeMap<Counter, i64> {
            let mut total = BTreeMap::new();
            for ((d, _), counters) in &self.globals {
                if *d == day {
                    add_into(&mut total, counters);
                }
            }
            total
        }

        /// Every day of `scope` from `from` (or the first) through `to` that has counters.
        pub fn days(
            &self,
            scope: &Scope,
            from: Option<NaiveDate>,
            to: NaiveDate,
        ) -> BTreeMap<NaiveDate, BTreeMap<Counter, i64>> {
            let in_range = |day: &NaiveDate| from.is_none_or(|from| *day >= from) && *day <= to;
            let mut days: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
            match scope {
                Scope::User(user) => {
                    for ((owner, day), item) in &self.users {
                        if owner == user && in_range(day) {
                            add_into(days.entry(*day).or_default(), &item.counters);
                        }
                    }
                }
                Scope::Global => {
                    for ((day, _), counters) in &self.globals {
                        if in_range(day) {
                            add_into(days.entry(*day).or_default(), counters);
                        }
                    }
                }
            }
            days
        }

        pub fn is_applied(&self, user: &UserId, day: NaiveDate, event: EventId) -> bool {
            self.users
                .get(&(user.clone(), day))
                .is_some_and(|item| item.applied.contains(&event))
        }
    }
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

    fn fake_effect(n: u128, user: &str, day: u32) -> EventEffect {
        EventEffect {
            event_id: EventId::from_uuid(Uuid::from_u128(n)),
            user: UserId::parse(user).unwrap(),
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            deltas: BTreeMap::from([(Counter::Created, 1), (Counter::OpenNew, 1)]),
        }
    }

    #[test]
    fn a_batch_is_merged_per_item_and_packed_within_the_limits() {
        // 3 users x 2 days, 4 events each = 24 events.
        let mut effects = vec![];
        let mut n = 0;
        for user in ["a", "b", "c"] {
            for day in [25, 26] {
                for _ in 0..4 {
                    n += 1;
                    effects.push(fake_effect(n, user, day));
                }
            }
        }
        let limits = PlanLimits {
            max_items: 100,
            max_events_per_item: 50,
            global_shards: 4,
        };
        let plans = plan_transactions(&effects, &limits, || 7);
        assert_eq!(plans.len(), 1);
        let plan = &plans[0];
        assert_eq!(plan.users.len(), 6, "one update per (user, day)");
        assert_eq!(plan.globals.len(), 2, "one update per day");
        assert!(
            plan.users
                .iter()
                .all(|u| u.deltas[&Counter::Created] == 4 && u.events.len() == 4)
        );
        assert!(
            plan.globals
                .iter()
                .all(|g| g.deltas[&Counter::Created] == 12 && g.shard == 3)
        );

        let tight = PlanLimits {
            max_items: 4,
            max_events_per_item: 3,
            global_shards: 4,
        };
        let plans = plan_transactions(&effects, &tight, || 0);
        let mut events: Vec<EventId> = plans.iter().flat_map(|p| p.events()).collect();
        events.sort();
        events.dedup();
        assert_eq!(events.len(), 24, "every event planned exactly once");
        for plan in &plans {
            assert!(plan.item_count() <= 4);
            let mut keys: Vec<_> = plan.users.iter().map(|u| (u.user.clone(), u.day)).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(
                keys.len(),
                plan.users.len(),
                "no item twice in one transaction"
            );
            assert!(plan.users.iter().all(|u| u.events.len() <= 3));
            let created: i64 = plan.users.iter().map(|u| u.deltas[&Counter::Created]).sum();
            let global: i64 = plan
                .globals
                .iter()
                .map(|g| g.deltas[&Counter::Created])
                .sum();
            assert_eq!(
                created, global,
                "globals carry exactly the transaction's user deltas"
            );
        }
    }

    #[test]
    fn the_table_refuses_a_plan_with_an_applied_event_and_names_it() {
        let first = plan_transactions(&[fake_effect(1, "a", 26)], &PlanLimits::default(), || 0);
        let mut table = CounterTable::default();
        table.commit(&first[0]).unwrap();
        let both = plan_transactions(
            &[fake_effect(1, "a", 26), fake_effect(2, "a", 26)],
            &PlanLimits::default(),
            || 1,
        );
        assert_eq!(
            table.commit(&both[0]),
            Err(vec![EventId::from_uuid(Uuid::from_u128(1))])
        );
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            table.global_day(day)[&Counter::Created],
            1,
            "nothing of the refused plan was written"
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
        /// rebuilds it exactly; and the consumer's pure pipeline (projection, batch planning,
        /// conditional commits) over a shuffled delivery with duplicates, in random batches,
        /// gives counters equal to a recount from the final task states.
        #[test]
        fn counters_from_shuffled_duplicated_batches_match_a_recount_of_final_states(
            histories in prop::collection::vec(prop::collection::vec((step(), 1i64..3_000), 0..12), 1..8),
            copies in prop::collection::vec(1usize..4, 100),
            seed in any::<u64>(),
            batch_sizes in prop::collection::vec(1usize..40, 1..20),
            max_items in 3usize..12,
            max_events_per_item in 1usize..4,
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

            // Delivery: every event one to three times, shuffled, cut into batches.
            let mut deliveries: Vec<&EventEnvelope> = all_events
                .iter()
                .enumerate()
                .flat_map(|(i, e)| std::iter::repeat_n(e, copies[i % copies.len()]))
                .collect();
            let mut state = seed | 1;
            for i in (1..deliveries.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                deliveries.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let limits = PlanLimits { max_items, max_events_per_item, global_shards: 3 };
            let mut table = CounterTable::default();
            let mut shard = 0u32;
            let mut rest = &deliveries[..];
            let mut size = batch_sizes.iter().cycle();
            while !rest.is_empty() {
                let (batch, tail) = rest.split_at((*size.next().unwrap()).min(rest.len()));
                rest = tail;
                let mut seen = std::collections::HashSet::new();
                let mut pending: Vec<EventEffect> = batch
                    .iter()
                    .filter(|e| seen.insert(e.event_id))
                    .map(|e| effect(e))
                    .collect();
                while !pending.is_empty() {
                    let plans = plan_transactions(&pending, &limits, || { shard += 1; shard });
                    for plan in &plans {
                        prop_assert!(plan.item_count() <= max_items.max(2));
                    }
                    let mut retry = vec![];
                    for plan in plans {
                        if let Err(duplicates) = table.commit(&plan) {
                            prop_assert!(!duplicates.is_empty());
                            let events: Vec<EventId> = plan.events().filter(|e| !duplicates.contains(e)).collect();
                            retry.extend(pending.iter().filter(|p| events.contains(&p.event_id)).cloned());
                        }
                    }
                    pending = retry;
                }
            }
            let mut global: BTreeMap<Counter, i64> = BTreeMap::new();
            let days: std::collections::BTreeSet<_> = all_events.iter().map(|e| e.occurred_at.date_naive()).collect();
            for day in &days {
                add_into(&mut global, &table.global_day(*day));
            }
            let mut per_user: BTreeMap<Counter, i64> = BTreeMap::new();
            for user in 0..3 {
                let user = UserId::parse(&format!("user-{user}")).unwrap();
                for day in &days {
                    add_into(&mut per_user, &table.user_day(&user, *day));
                }
            }
            // A counter that nets to zero may be absent on one side and 0 on the other.
            per_user.retain(|_, v| *v != 0);
            let mut global_non_zero = global.clone();
            global_non_zero.retain(|_, v| *v != 0);
            prop_assert_eq!(&per_user, &global_non_zero, "users sum to everyone");
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
