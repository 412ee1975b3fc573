//! The counter items and their transactional semantics, in memory: what the DynamoDB store
//! does, for the in-memory adapter and for tests.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, CounterKey, Scope, add_into};
use taskpulse_domain::{EventId, UserId};

use super::month_items::MonthItems;
use crate::analytics::InlineMarkersFound;
use crate::analytics::plan::MonthPartition;
use crate::analytics::plan::{InlineMarkers, MAX_INLINE_MARKERS, TransactionPlan};
use crate::ports::{StoredMonth, VersionCounters};

#[derive(Debug, Default, Clone)]
struct UserDayItem {
    counters: BTreeMap<Counter, i64>,
    /// The inline marker set (`appliedEvents`).
    applied: HashSet<EventId>,
}

#[derive(Debug, Default, Clone)]
pub struct CounterTable {
    users: HashMap<(UserId, NaiveDate), UserDayItem>,
    globals: HashMap<(NaiveDate, u32), BTreeMap<Counter, i64>>,
    /// Overflow marker items, one per event.
    markers: HashSet<(UserId, NaiveDate, EventId)>,
    /// Month items and the sealed marks of their partitions.
    pub(super) months: MonthItems,
}

/// Why a plan was refused, as DynamoDB's cancellation reasons tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// These events of the plan were applied before.
    Duplicates(Vec<EventId>),
    /// None was, but these inline sets did not hold what the placement assumed.
    InlineMarkersMoved(Vec<InlineMarkersFound>),
}

impl CounterTable {
    /// Commits a plan all or nothing. When some of its events were applied before, nothing
    /// is written and those events are returned; when an inline set was not as the plan
    /// assumed (and nothing was applied before), nothing is written and no event is returned.
    pub fn commit(&mut self, plan: &TransactionPlan) -> Result<(), Vec<EventId>> {
        self.try_commit(plan).map_err(|refusal| match refusal {
            Refusal::Duplicates(events) => events,
            Refusal::InlineMarkersMoved(_) => vec![],
        })
    }

    /// Commits a plan all or nothing, under the conditions the DynamoDB store writes: every
    /// day update on none of its events being in the inline set and on the set holding what
    /// the placement assumed, every overflow marker on its not existing.
    pub fn try_commit(&mut self, plan: &TransactionPlan) -> Result<(), Refusal> {
        let mut duplicates = vec![];
        let mut moved = vec![];
        for write in &plan.users {
            let inline = self
                .users
                .get(&(write.user.clone(), write.day))
                .map(|item| &item.applied);
            let size = inline.map_or(0, HashSet::len);
            let in_set: Vec<EventId> = write
                .events
                .iter()
                .filter(|e| inline.is_some_and(|set| set.contains(e)))
                .copied()
                .collect();
            let room_as_assumed = match write.before {
                InlineMarkers::HasRoom => size + write.inline <= MAX_INLINE_MARKERS,
                InlineMarkers::Exactly(n) => size == n,
                InlineMarkers::Full => size >= MAX_INLINE_MARKERS,
            };
            if in_set.is_empty() && !room_as_assumed {
                moved.push(InlineMarkersFound {
                    user: write.user.clone(),
                    day: write.day,
                    markers: size,
                });
            }
            duplicates.extend(in_set);
            duplicates.extend(
                write
                    .overflow_events()
                    .iter()
                    .copied()
                    .filter(|e| self.markers.contains(&(write.user.clone(), write.day, *e))),
            );
        }
        if !duplicates.is_empty() {
            return Err(Refusal::Duplicates(duplicates));
        }
        if !moved.is_empty() {
            return Err(Refusal::InlineMarkersMoved(moved));
        }
        for write in &plan.users {
            let item = self
                .users
                .entry((write.user.clone(), write.day))
                .or_default();
            add_into(&mut item.counters, &write.deltas);
            item.applied.extend(write.inline_events().iter().copied());
            self.markers.extend(
                write
                    .overflow_events()
                    .iter()
                    .map(|e| (write.user.clone(), write.day, *e)),
            );
        }
        for write in &plan.globals {
            add_into(
                self.globals.entry((write.day, write.shard)).or_default(),
                &write.deltas,
            );
        }
        for write in &plan.months {
            self.months.late_write(write);
        }
        Ok(())
    }

    pub fn user_day(&self, user: &UserId, day: NaiveDate) -> BTreeMap<Counter, i64> {
        self.users
            .get(&(user.clone(), day))
            .map(|item| item.counters.clone())
            .unwrap_or_default()
    }

    /// One shard of a global day.
    pub fn global_shard(&self, day: NaiveDate, shard: u32) -> BTreeMap<Counter, i64> {
        self.globals.get(&(day, shard)).cloned().unwrap_or_default()
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

    /// The day items of one partition (a user's, or one shard of everyone's) from `from` (or
    /// the first) through `to`.
    pub fn partition_days(
        &self,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> BTreeMap<NaiveDate, BTreeMap<Counter, i64>> {
        let in_range = |day: &NaiveDate| from.is_none_or(|from| *day >= from) && *day <= to;
        match partition {
            MonthPartition::User(user) => self
                .users
                .iter()
                .filter(|((owner, day), _)| owner == user && in_range(day))
                .map(|((_, day), item)| (*day, item.counters.clone()))
                .collect(),
            MonthPartition::Shard(shard) => self
                .globals
                .iter()
                .filter(|((day, s), _)| s == shard && in_range(day))
                .map(|((day, _), counters)| (*day, counters.clone()))
                .collect(),
        }
    }

    /// One month item (empty if it does not exist).
    pub fn month_item(&self, partition: &MonthPartition, month: NaiveDate) -> StoredMonth {
        self.months
            .read(partition)
            .months
            .remove(&month)
            .unwrap_or_default()
    }

    /// The shards everyone's counters are kept in.
    pub fn shards(&self) -> Vec<u32> {
        let mut shards: Vec<u32> = self
            .globals
            .keys()
            .map(|(_, shard)| *shard)
            .chain(self.months.shards())
            .collect();
        shards.sort_unstable();
        shards.dedup();
        shards
    }

    /// Every item's counters, global shards summed per day.
    pub fn scan(&self) -> VersionCounters {
        let mut all = VersionCounters::new();
        for ((user, day), item) in &self.users {
            let key = CounterKey {
                scope: Scope::User(user.clone()),
                day: *day,
            };
            add_into(all.entry(key).or_default(), &item.counters);
        }
        for ((day, _), counters) in &self.globals {
            let key = CounterKey {
                scope: Scope::Global,
                day: *day,
            };
            add_into(all.entry(key).or_default(), counters);
        }
        // A counter at zero reads as one never written, as in DynamoDB's scan.
        for counters in all.values_mut() {
            counters.retain(|_, value| *value != 0);
        }
        all
    }

    /// Deletes up to `limit` items (user days first, then global shards, then overflow
    /// markers); returns how many.
    pub fn delete_items(&mut self, limit: usize) -> usize {
        let users: Vec<(UserId, NaiveDate)> = self.users.keys().take(limit).cloned().collect();
        for key in &users {
            self.users.remove(key);
        }
        let globals: Vec<(NaiveDate, u32)> = self
            .globals
            .keys()
            .take(limit - users.len())
            .copied()
            .collect();
        for key in &globals {
            self.globals.remove(key);
        }
        let markers: Vec<(UserId, NaiveDate, EventId)> = self
            .markers
            .iter()
            .take(limit - users.len() - globals.len())
            .cloned()
            .collect();
        for key in &markers {
            self.markers.remove(key);
        }
        let done = users.len() + globals.len() + markers.len();
        done + self.months.delete(limit - done)
    }

    /// The days `user` has a day item for, after `after`, in order, at most `limit`.
    pub fn user_days(
        &self,
        user: &UserId,
        after: Option<NaiveDate>,
        limit: usize,
    ) -> Vec<NaiveDate> {
        let mut days: Vec<NaiveDate> = self
            .users
            .keys()
            .filter(|(owner, day)| owner == user && after.is_none_or(|after| *day > after))
            .map(|(_, day)| *day)
            .collect();
        days.sort_unstable();
        days.truncate(limit);
        days
    }

    /// Moves up to `limit` of `from`'s items (day items, then markers) to `to`, as they are;
    /// answers how many.
    pub fn move_user_items(&mut self, from: &UserId, to: &UserId, limit: usize) -> usize {
        let days: Vec<NaiveDate> = self
            .users
            .keys()
            .filter(|(user, _)| user == from)
            .map(|(_, day)| *day)
            .take(limit)
            .collect();
        for day in &days {
            let item = self.users.remove(&(from.clone(), *day)).expect("listed");
            self.users.insert((to.clone(), *day), item);
        }
        let markers: Vec<(UserId, NaiveDate, EventId)> = self
            .markers
            .iter()
            .filter(|(user, _, _)| user == from)
            .take(limit - days.len())
            .cloned()
            .collect();
        for (_, day, event) in &markers {
            self.markers.remove(&(from.clone(), *day, *event));
            self.markers.insert((to.clone(), *day, *event));
        }
        let done = days.len() + markers.len();
        done + self.months.move_user(from, to, limit - done)
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.globals.is_empty()
            && self.markers.is_empty()
            && self.months.is_empty()
    }

    /// Whether `event` is marked applied, inline or by an overflow marker.
    pub fn is_applied(&self, user: &UserId, day: NaiveDate, event: EventId) -> bool {
        self.users
            .get(&(user.clone(), day))
            .is_some_and(|item| item.applied.contains(&event))
            || self.markers.contains(&(user.clone(), day, event))
    }

    /// Markers of `user`'s `day`: (inline, overflow items).
    pub fn marker_counts(&self, user: &UserId, day: NaiveDate) -> (usize, usize) {
        let inline = self
            .users
            .get(&(user.clone(), day))
            .map_or(0, |item| item.applied.len());
        let overflow = self
            .markers
            .iter()
            .filter(|(u, d, _)| u == user && *d == day)
            .count();
        (inline, overflow)
    }

    /// A day item as the layout before overflow markers wrote it: every marker inline,
    /// however many. For tests that old items keep deduplicating.
    pub fn insert_inline_day(
        &mut self,
        user: &UserId,
        day: NaiveDate,
        counters: BTreeMap<Counter, i64>,
        applied: impl IntoIterator<Item = EventId>,
    ) {
        self.users.insert(
            (user.clone(), day),
            UserDayItem {
                counters,
                applied: applied.into_iter().collect(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use taskpulse_domain::EventId;
    use taskpulse_domain::analytics::{Counter, ProjectionVersion};
    use uuid::Uuid;

    use super::*;
    use crate::analytics::plan::tests::fake_effect;
    use crate::analytics::plan::{PlanLimits, plan_transactions};

    #[test]
    fn the_table_refuses_a_plan_with_an_applied_event_and_names_it() {
        let first = plan_transactions(
            ProjectionVersion::FIRST,
            &[fake_effect(1, "a", 26)],
            &PlanLimits::default(),
            || 0,
        );
        let mut table = CounterTable::default();
        table.commit(&first[0]).unwrap();
        let both = plan_transactions(
            ProjectionVersion::FIRST,
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
}
