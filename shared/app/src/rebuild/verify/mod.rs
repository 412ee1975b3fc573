//! Verification of a building version against the active one, on every counter both
//! projections define. Live traffic moves both versions, one transaction after the other, so a
//! single read may catch a counter between the two: a difference is read again (both versions,
//! the key alone) until a round sees the values agree, and only what never agrees is reported.
//!
//! When one version counts each user on the user's local days and the other on UTC days, a
//! user outside UTC has events on other days in each, by design. Everyone's days are UTC days
//! in both and are compared day by day as always; a user's days are compared as the user's
//! totals over all days, which a move between days does not change, and as running sums that
//! may be a day apart, no more (a zone moves an event by one day at most). A user whose days
//! differ so is reported as counted on other days, not as a difference.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::NaiveDate;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, CounterKey, Scope, add_into};

use super::RebuildError;
use crate::ports::{ReadCounters, ScanCounters};
use crate::projections::ProjectionSpec;

/// One counter on which the versions differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub key: CounterKey,
    pub counter: Counter,
    pub active: i64,
    pub building: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerificationReport {
    /// Counter items compared (the union of both versions' keys).
    pub items: u64,
    /// The counters compared: those both projections define.
    pub counters: Vec<Counter>,
    pub differences: Vec<Difference>,
    /// Users whose events the two versions count on other days (one counts local days, the
    /// other UTC days), each a day apart at most, with the same totals: explained by their
    /// time zones, not differences.
    pub users_on_other_days: u64,
    /// The day items of those users that differ between the versions.
    pub user_days_on_other_days: u64,
}

/// How often a difference is read again, and the pause before each round.
#[derive(Debug, Clone, Copy)]
pub struct Rereads {
    pub rounds: u32,
    pub pause: Duration,
}

impl Default for Rereads {
    fn default() -> Self {
        Self {
            rounds: 20,
            pause: Duration::from_millis(200),
        }
    }
}

/// The due gauges ([`Counter::Due`]) that differ on one item, when both versions keep them:
/// their names are not known in advance, so every one found on either side is compared.
fn due_differences(
    key: &CounterKey,
    active: Option<&BTreeMap<Counter, i64>>,
    building: Option<&BTreeMap<Counter, i64>>,
) -> Vec<Difference> {
    let due = |m: Option<&BTreeMap<Counter, i64>>| -> Vec<Counter> {
        m.map(|m| m.range(Counter::Due(0)..).map(|(c, _)| *c).collect())
            .unwrap_or_default()
    };
    let found: BTreeSet<Counter> = due(active).into_iter().chain(due(building)).collect();
    let found: Vec<Counter> = found.into_iter().collect();
    differences(key, &found, active, building)
}

fn differences(
    key: &CounterKey,
    counters: &[Counter],
    active: Option<&BTreeMap<Counter, i64>>,
    building: Option<&BTreeMap<Counter, i64>>,
) -> Vec<Difference> {
    let value = |m: Option<&BTreeMap<Counter, i64>>, c: &Counter| {
        m.and_then(|m| m.get(c)).copied().unwrap_or(0)
    };
    counters
        .iter()
        .filter(|c| value(active, c) != value(building, c))
        .map(|c| Difference {
            key: key.clone(),
            counter: *c,
            active: value(active, c),
            building: value(building, c),
        })
        .collect()
}

pub async fn verify(
    store: &(impl ScanCounters + ReadCounters),
    active: ProjectionSpec,
    building: ProjectionSpec,
    rereads: Rereads,
) -> Result<VerificationReport, RebuildError> {
    let counters: Vec<Counter> = active
        .projection
        .counters()
        .iter()
        .filter(|c| building.projection.counters().contains(c))
        .copied()
        .collect();
    let by_totals =
        active.projection.counts_local_days() != building.projection.counts_local_days();
    // Due gauges are compared where both versions keep them; they count on the same days then.
    let compare_due = active.projection.keeps_due_gauges()
        && building.projection.keeps_due_gauges()
        && !by_totals;
    let old = store.scan_counters(active.version).await?;
    let new = store.scan_counters(building.version).await?;
    let keys: BTreeSet<&CounterKey> = old.keys().chain(new.keys()).collect();
    let mut open: BTreeMap<CounterKey, Vec<Difference>> = BTreeMap::new();
    let mut open_users: BTreeMap<UserId, UserDays> = BTreeMap::new();
    for key in &keys {
        match (&key.scope, by_totals) {
            (Scope::User(user), true) => {
                let days = open_users.entry(user.clone()).or_default();
                days.old
                    .insert(key.day, old.get(*key).cloned().unwrap_or_default());
                days.new
                    .insert(key.day, new.get(*key).cloned().unwrap_or_default());
            }
            _ => {
                let mut found = differences(key, &counters, old.get(*key), new.get(*key));
                if compare_due {
                    found.extend(due_differences(key, old.get(*key), new.get(*key)));
                }
                if !found.is_empty() {
                    open.insert((*key).clone(), found);
                }
            }
        }
    }
    let mut on_other_days = OtherDays::default();
    open_users.retain(|user, days| !on_other_days.explains(user, days, &counters));
    for _ in 0..rereads.rounds {
        if open.is_empty() && open_users.is_empty() {
            break;
        }
        tokio::time::sleep(rereads.pause).await;
        let mut still = BTreeMap::new();
        for key in open.keys() {
            let a = store.read_counters(active.version, key).await?;
            let b = store.read_counters(building.version, key).await?;
            let mut found = differences(key, &counters, Some(&a), Some(&b));
            if compare_due {
                found.extend(due_differences(key, Some(&a), Some(&b)));
            }
            if !found.is_empty() {
                still.insert(key.clone(), found);
            }
        }
        open = still;
        let mut still_users = BTreeMap::new();
        for user in open_users.into_keys() {
            let scope = Scope::User(user.clone());
            let days = UserDays {
                old: store
                    .read_days(active.version, &scope, None, LAST_DAY)
                    .await?,
                new: store
                    .read_days(building.version, &scope, None, LAST_DAY)
                    .await?,
            };
            if !on_other_days.explains(&user, &days, &counters) {
                still_users.insert(user, days);
            }
        }
        open_users = still_users;
    }
    let mut differences_found: Vec<Difference> = open.into_values().flatten().collect();
    for (user, days) in open_users {
        differences_found.extend(days.differences(&user, &counters));
    }
    Ok(VerificationReport {
        items: keys.len() as u64,
        counters,
        differences: differences_found,
        users_on_other_days: on_other_days.users,
        user_days_on_other_days: on_other_days.days,
    })
}

/// Later than any day a counter is kept for, and still a four-digit year (sort keys compare
/// as text).
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");

/// One user's day items in the active (`old`) and the building (`new`) version.
#[derive(Debug, Default)]
struct UserDays {
    old: BTreeMap<NaiveDate, BTreeMap<Counter, i64>>,
    new: BTreeMap<NaiveDate, BTreeMap<Counter, i64>>,
}

impl UserDays {
    fn differences(&self, user: &UserId, counters: &[Counter]) -> Vec<Difference> {
        let days: BTreeSet<&NaiveDate> = self.old.keys().chain(self.new.keys()).collect();
        days.into_iter()
            .flat_map(|day| {
                let key = CounterKey {
                    scope: Scope::User(user.clone()),
                    day: *day,
                };
                differences(&key, counters, self.old.get(day), self.new.get(day))
            })
            .collect()
    }

    /// Whether the two versions count the same events, each on the same day or a day apart:
    /// the totals agree, and for every counter that only grows, what one version counts up to
    /// a day the other counts by the next day (a zone moves an event by one day at most).
    fn differ_by_a_day_at_most(&self, counters: &[Counter]) -> bool {
        let total = |days: &BTreeMap<NaiveDate, BTreeMap<Counter, i64>>| {
            let mut sum = BTreeMap::new();
            for counters in days.values() {
                add_into(&mut sum, counters);
            }
            sum
        };
        let (old, new) = (total(&self.old), total(&self.new));
        let value = |m: &BTreeMap<Counter, i64>, c: &Counter| m.get(c).copied().unwrap_or(0);
        if !counters.iter().all(|c| value(&old, c) == value(&new, c)) {
            return false;
        }
        let days: BTreeSet<NaiveDate> = self.old.keys().chain(self.new.keys()).copied().collect();
        counters
            .iter()
            .filter(|c| !c.is_open_gauge())
            .all(|counter| {
                // Running sums by day, and each one a day later.
                let running = |days_of: &BTreeMap<NaiveDate, BTreeMap<Counter, i64>>| {
                    let mut sum = 0;
                    days.iter()
                        .map(|day| {
                            sum += days_of.get(day).map_or(0, |c| value(c, counter));
                            (*day, sum)
                        })
                        .collect::<BTreeMap<NaiveDate, i64>>()
                };
                let (old, new) = (running(&self.old), running(&self.new));
                // The running sum by the day after `day`: by the last listed day not after it.
                let by_next_day = |sums: &BTreeMap<NaiveDate, i64>, day: &NaiveDate| {
                    let next = day.succ_opt().unwrap_or(*day);
                    sums.range(..=next).next_back().map_or(0, |(_, sum)| *sum)
                };
                days.iter().all(|day| {
                    old[day] <= by_next_day(&new, day) && new[day] <= by_next_day(&old, day)
                })
            })
    }
}

/// The users found counted on other days with the same totals, and their differing days.
#[derive(Debug, Default)]
struct OtherDays {
    users: u64,
    days: u64,
}

impl OtherDays {
    /// Whether the user's days agree, or differ only by days: counted if they differ.
    fn explains(&mut self, user: &UserId, days: &UserDays, counters: &[Counter]) -> bool {
        let differing: BTreeSet<NaiveDate> = days
            .differences(user, counters)
            .into_iter()
            .map(|d| d.key.day)
            .collect();
        if differing.is_empty() {
            return true;
        }
        if !days.differ_by_a_day_at_most(counters) {
            return false;
        }
        self.users += 1;
        self.days += differing.len() as u64;
        true
    }
}

#[cfg(test)]
mod tests;
