//! The counter items and their transactional semantics, in memory: what the DynamoDB store
//! does, for the in-memory adapter and for tests.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, CounterKey, Scope, add_into};
use taskpulse_domain::{EventId, UserId};

use crate::analytics::plan::TransactionPlan;
use crate::ports::VersionCounters;

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

    /// Deletes up to `limit` items (user days first, then global shards); returns how many.
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
        users.len() + globals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.globals.is_empty()
    }

    pub fn is_applied(&self, user: &UserId, day: NaiveDate, event: EventId) -> bool {
        self.users
            .get(&(user.clone(), day))
            .is_some_and(|item| item.applied.contains(&event))
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
