//! Packing a batch of event effects into as few DynamoDB transactions as possible: a storage
//! concern of the [`ApplyTransaction`](crate::ports::ApplyTransaction) port, kept pure.
//!
//! Exactly-once rests on the owner's day item: every event moves it, so it carries the set of
//! event ids already applied to it (`appliedEvents`) and its update is conditional on none of
//! the transaction's events being in that set. The global day item (sharded, because every
//! event moves it) is written in the same transaction, so it moves only when the user items
//! do. A batch is merged per item: one update per (user, day) with the summed deltas and all
//! its event ids, and one update per global day with the sum over the transaction.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use taskpulse_domain::analytics::{
    Counter, EventEffect, ProjectionVersion, add_into, by_user_day, merged_deltas, non_zero,
};
use taskpulse_domain::{EventId, UserId};

/// DynamoDB takes at most 100 actions per `TransactWriteItems`.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// Events guarded by one item update: bounds its condition expression (4 KB).
pub const MAX_EVENTS_PER_ITEM: usize = 50;
/// Every event moves its day's global counter; spreading it over shards lifts the
/// one-partition write limit (1,000 WCU/s) off the whole system. Reads sum the shards, so the
/// count may grow but must never shrink below a value already used.
pub const DEFAULT_GLOBAL_SHARDS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Actions per transaction, at most [`MAX_TRANSACTION_ACTIONS`].
    pub max_items: usize,
    /// Events guarded by one item update (see [`MAX_EVENTS_PER_ITEM`]).
    pub max_events_per_item: usize,
    /// Shards of each global day counter; reads sum them.
    pub global_shards: u32,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            max_items: MAX_TRANSACTION_ACTIONS,
            max_events_per_item: MAX_EVENTS_PER_ITEM,
            global_shards: DEFAULT_GLOBAL_SHARDS,
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

/// One `TransactWriteItems`: user items first, then global shards, all of one projection
/// version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPlan {
    pub version: ProjectionVersion,
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

/// Packs effects (distinct events) into transactions of `version`'s items, at most
/// `limits.max_items` per transaction.
/// `pick_shard` chooses the global shard of each (transaction, day), so concurrent
/// consumers spread over the shards.
pub fn plan_transactions(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    mut pick_shard: impl FnMut() -> u32,
) -> Vec<TransactionPlan> {
    let groups = by_user_day(effects);
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
        let write = UserDayWrite {
            user: user.clone(),
            day,
            deltas: merged_deltas(chunk.iter().copied()),
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
            version,
            users: tx.users,
            globals,
        });
    }
    plans
}

#[cfg(test)]
pub(crate) mod tests;
