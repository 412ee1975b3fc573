//! The late rule in a plan (`taskpulse_domain::analytics::months`): a write of a day whose
//! month ended long ago also updates that month's item, in the same transaction, so the month
//! item of a sealed month stays the sum of its days.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::months::{is_late, month_deltas, month_of};
use taskpulse_domain::analytics::{Counter, EventEffect, ProjectionVersion, add_into, non_zero};

use super::{PlanLimits, TransactionPlan, plan_transactions_knowing};

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
    pub deltas: BTreeMap<Counter, i64>,
}

/// [`plan_transactions_knowing`] with the late rule applied on the UTC date `today`. A batch
/// holding a late write is planned at half the action limit, since each user day write and
/// each global write may bring one month write: the transactions still fit.
pub fn plan_with_late_months(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    known: impl Fn(&UserId, NaiveDate) -> Option<usize>,
    pick_shard: impl FnMut() -> u32,
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
    let mut plans = plan_transactions_knowing(version, effects, &halved, known, pick_shard);
    for plan in &mut plans {
        plan.months = late_month_writes(plan, today);
    }
    plans
}

/// The month writes `plan` needs on `today`: one per month item its late day writes touch,
/// their deltas merged (two actions on one item are refused).
fn late_month_writes(plan: &TransactionPlan, today: NaiveDate) -> Vec<MonthWrite> {
    let mut months: BTreeMap<(MonthPartition, NaiveDate), BTreeMap<Counter, i64>> = BTreeMap::new();
    for write in plan.users.iter().filter(|w| is_late(w.day, today)) {
        let key = (
            MonthPartition::User(write.user.clone()),
            month_of(write.day),
        );
        add_into(
            months.entry(key).or_default(),
            &month_deltas(write.day, &write.deltas),
        );
    }
    for write in plan.globals.iter().filter(|w| is_late(w.day, today)) {
        let key = (MonthPartition::Shard(write.shard), month_of(write.day));
        add_into(
            months.entry(key).or_default(),
            &month_deltas(write.day, &write.deltas),
        );
    }
    months
        .into_iter()
        .map(|((partition, month), deltas)| MonthWrite {
            partition,
            month,
            deltas: non_zero(deltas),
        })
        .filter(|write| !write.deltas.is_empty())
        .collect()
}
