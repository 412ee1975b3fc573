//! The late rule in a plan (`taskpulse_domain::analytics::months`): a write of a day whose
//! month ended long ago also updates that month's item, in the same transaction, so the month
//! item of a sealed month stays the sum of its days.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::months::{is_late, month_deltas, month_of};
use taskpulse_domain::analytics::{Deltas, EventEffect, ProjectionVersion};

use super::{MAX_COUNTERS_PER_UPDATE, PlanLimits, TransactionPlan, plan_transactions_knowing};

/// Whose month item a late write updates: a user's, or one shard of everyone's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MonthPartition {
    User(UserId),
    Shard(u32),
}

/// The late rule's update of one month item: deltas added, and one more late write counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthWrite {
    pub partition: MonthPartition,
    /// The month's first day.
    pub month: NaiveDate,
    pub deltas: Deltas,
}

/// [`plan_transactions_knowing`] with the late rule applied on the UTC date `today`. A batch
/// holding a late write is planned at half the action limit, since each user day write and
/// each global write may bring one month write: the transactions still fit. A transaction
/// whose merged month write would move more counters than one update may is planned again,
/// smaller, until it fits (one day write a transaction always does: its month write moves
/// the counters of its day write).
pub fn plan_with_late_months(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    known: impl Fn(&UserId, NaiveDate) -> Option<usize>,
    mut pick_shard: impl FnMut() -> u32,
    today: NaiveDate,
) -> Vec<TransactionPlan> {
    let any_late = effects
        .iter()
        .any(|e| is_late(e.day, today) || is_late(e.global_day, today));
    if !any_late {
        return plan_transactions_knowing(version, effects, limits, known, pick_shard);
    }
    let halved = PlanLimits {
        max_items: (limits.max_items / 2).max(2),
        ..*limits
    };
    let mut plans = vec![];
    plan_late(
        version,
        effects,
        &halved,
        &known,
        &mut pick_shard,
        today,
        &mut plans,
    );
    plans
}

fn plan_late(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    known: &impl Fn(&UserId, NaiveDate) -> Option<usize>,
    pick_shard: &mut impl FnMut() -> u32,
    today: NaiveDate,
    plans: &mut Vec<TransactionPlan>,
) {
    for mut plan in plan_transactions_knowing(version, effects, limits, known, &mut *pick_shard) {
        plan.months = late_month_writes(&mut plan, today, limits.global_shards.max(1));
        let too_many = plan
            .months
            .iter()
            .any(|write| write.deltas.len() > MAX_COUNTERS_PER_UPDATE);
        if too_many && plan.users.len() > 1 {
            let ids: std::collections::HashSet<_> = plan.events().collect();
            let own: Vec<EventEffect> = effects
                .iter()
                .filter(|e| ids.contains(&e.event_id))
                .cloned()
                .collect();
            let smaller = PlanLimits {
                max_items: (plan.item_count() / 2).max(2),
                ..*limits
            };
            plan_late(version, &own, &smaller, known, pick_shard, today, plans);
        } else {
            plans.push(plan);
        }
    }
}

/// The month writes `plan` needs on `today`: one per month item its late day writes touch,
/// their deltas merged (two actions on one item are refused). A month item must be in the
/// partition of the days it sums (a seal compares the two), so everyone's late days of one
/// month are moved to a shard each where the shards allow (any shard serves a global day:
/// reads sum them), so no month update merges two global days' counters.
fn late_month_writes(plan: &mut TransactionPlan, today: NaiveDate, shards: u32) -> Vec<MonthWrite> {
    let mut months: BTreeMap<(MonthPartition, NaiveDate), Deltas> = BTreeMap::new();
    for write in plan.users.iter().filter(|w| is_late(w.day, today)) {
        let key = (
            MonthPartition::User(write.user.clone()),
            month_of(write.day),
        );
        months
            .entry(key)
            .or_default()
            .add_all(&month_deltas(write.day, &write.deltas));
    }
    for write in plan.globals.iter_mut().filter(|w| is_late(w.day, today)) {
        let month = month_of(write.day);
        let taken = |shard: u32| months.contains_key(&(MonthPartition::Shard(shard), month));
        if let Some(free) = (0..shards)
            .map(|step| (write.shard + step) % shards)
            .find(|shard| !taken(*shard))
        {
            write.shard = free;
        }
        let key = (MonthPartition::Shard(write.shard), month);
        months
            .entry(key)
            .or_default()
            .add_all(&month_deltas(write.day, &write.deltas));
    }
    months
        .into_iter()
        // Kept when its deltas net to zero: it still counts a late write, and so creates the
        // item, which tells a read that the month has days (before the sealed mark, a month
        // without an item has none).
        .map(|((partition, month), deltas)| MonthWrite {
            partition,
            month,
            deltas: deltas.without_zeros(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use taskpulse_domain::analytics::{Counter, add_into};

    use super::*;
    use crate::analytics::plan::tests::fake_effect;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Events of users `a`…: `per_user` each on November days 1 to `days`.
    fn effects(users: usize, days: u32, per_user: u128) -> Vec<EventEffect> {
        let mut out = vec![];
        let mut n = 0;
        for u in 0..users {
            for d in 1..=days {
                for _ in 0..per_user {
                    n += 1;
                    out.push(fake_effect(n, &format!("u{u}"), d));
                }
            }
        }
        out
    }

    #[test]
    fn a_timely_batch_writes_no_month_and_a_late_one_writes_each_month_item_once_within_the_limit()
    {
        let effects = effects(60, 3, 1);
        let limits = PlanLimits::default();
        let mut shard = 0;
        let mut pick = || {
            shard += 1;
            shard
        };
        let timely = plan_with_late_months(
            ProjectionVersion::FIRST,
            &effects,
            &limits,
            |_, _| None,
            &mut pick,
            day("2026-12-15"),
        );
        assert!(timely.iter().all(|plan| plan.months.is_empty()));
        // Every global day on one shard: their month writes still go to a shard each.
        let late = plan_with_late_months(
            ProjectionVersion::FIRST,
            &effects,
            &limits,
            |_, _| None,
            || 7,
            day("2026-12-16"),
        );
        assert!(late.len() > timely.len(), "planned at half the limit");
        for plan in &late {
            assert!(
                plan.item_count() <= limits.max_items,
                "{}",
                plan.item_count()
            );
            // One month write per user of the plan, whatever its days, and one per global day.
            let users: std::collections::BTreeSet<_> = plan.users.iter().map(|w| &w.user).collect();
            let user_months = plan
                .months
                .iter()
                .filter(|m| matches!(m.partition, MonthPartition::User(_)))
                .count();
            assert_eq!(user_months, users.len());
            let global: Vec<_> = plan
                .months
                .iter()
                .filter_map(|m| match m.partition {
                    MonthPartition::Shard(shard) => Some(shard),
                    MonthPartition::User(_) => None,
                })
                .collect();
            assert_eq!(global.len(), plan.globals.len(), "a shard per global day");
            // Each in the partition of its day: the day write moved to the month's shard.
            let day_shards: std::collections::BTreeSet<u32> =
                plan.globals.iter().map(|g| g.shard).collect();
            assert_eq!(day_shards.len(), plan.globals.len());
            assert_eq!(day_shards, global.iter().copied().collect());
            for write in &plan.months {
                assert_eq!(write.month, day("2026-11-01"));
            }
        }
        // What the month items take is what the day items take.
        let sum = |pick: &dyn Fn(&TransactionPlan) -> Vec<Deltas>| {
            let mut total = BTreeMap::new();
            for plan in &late {
                for deltas in pick(plan) {
                    add_into(&mut total, &deltas);
                }
            }
            total
        };
        let days = sum(&|p| p.users.iter().map(|w| w.deltas.clone()).collect());
        let months = sum(&|p| {
            p.months
                .iter()
                .filter(|m| matches!(m.partition, MonthPartition::User(_)))
                .map(|m| m.deltas.clone())
                .collect()
        });
        assert_eq!(days, months);
    }

    fn effect(n: u128, day_: &str, deltas: &[(Counter, i64)]) -> EventEffect {
        let mut effect = fake_effect(n, "u0", 1);
        effect.day = day(day_);
        effect.global_day = effect.day;
        effect.deltas = deltas.iter().copied().collect();
        effect
    }

    #[test]
    fn a_month_write_moving_more_counters_than_an_update_may_is_planned_smaller() {
        // One user's 28 late November days, each with due gauges no other day shares: 420
        // distinct counters once counted from the month's first day.
        let effects: Vec<EventEffect> = (1..=28u32)
            .map(|d| {
                let deltas: Vec<(Counter, i64)> =
                    (0..15u32).map(|j| (Counter::Due(j * 31), 1)).collect();
                effect(u128::from(d), &format!("2026-11-{d:02}"), &deltas)
            })
            .collect();
        let plans = plan_late_on(&effects, "2027-01-01");
        assert!(plans.len() > 1, "one transaction would have held them all");
        let mut planned: Vec<_> = plans.iter().flat_map(TransactionPlan::events).collect();
        planned.sort();
        let mut all: Vec<_> = effects.iter().map(|e| e.event_id).collect();
        all.sort();
        assert_eq!(planned, all, "every event planned once");
        for plan in &plans {
            for write in &plan.months {
                assert!(
                    write.deltas.len() <= MAX_COUNTERS_PER_UPDATE,
                    "{}",
                    write.deltas.len()
                );
            }
        }
    }

    /// The plans of `effects` with the default limits, on the consumer's `today`, every user
    /// day's inline set unknown and every global day on shard 0.
    fn plan_late_on(effects: &[EventEffect], today: &str) -> Vec<TransactionPlan> {
        plan_with_late_months(
            ProjectionVersion::FIRST,
            effects,
            &PlanLimits::default(),
            |_, _| None,
            || 0,
            day(today),
        )
    }

    #[test]
    fn late_days_whose_month_deltas_cancel_still_write_their_month_item() {
        // Put on hold on the 3rd, taken up again on the 5th: the month nets to nothing, its
        // days do not.
        let effects = [
            effect(
                1,
                "2027-02-03",
                &[(Counter::OpenInProgress, -1), (Counter::OpenOnHold, 1)],
            ),
            effect(
                2,
                "2027-02-05",
                &[(Counter::OpenInProgress, 1), (Counter::OpenOnHold, -1)],
            ),
        ];
        let plans = plan_late_on(&effects, "2027-05-02");
        let months: Vec<&MonthWrite> = plans.iter().flat_map(|p| &p.months).collect();
        let user = MonthPartition::User(UserId::parse("u0").unwrap());
        assert!(
            months.iter().any(|m| m.partition == user
                && m.month == day("2027-02-01")
                && m.deltas.is_empty()),
            "{months:?}"
        );
    }
}
