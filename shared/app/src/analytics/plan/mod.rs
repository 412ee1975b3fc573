//! Packing a batch of event effects into as few DynamoDB transactions as possible: a storage
//! concern of the [`ApplyTransaction`](crate::ports::ApplyTransaction) port, kept pure.
//!
//! Exactly-once rests on a dedupe marker per event, written in the same transaction as the
//! counters it moves. The first [`MAX_INLINE_MARKERS`] markers of a (user, day) live inline,
//! in the `appliedEvents` set of the owner's day item, where they cost no extra item; past
//! that cap each marker is an item of its own (an overflow marker), put on condition that it
//! does not exist. The day item's update is conditional on none of its events being in the
//! inline set, and on the inline set holding what the placement assumes:
//! room for the inline ones when nothing overflows, or, when something does, a set that ends
//! the write full. Once an overflow marker exists its set is therefore full forever, so a
//! redelivered event is caught wherever its marker is: in the set (every update checks it),
//! or as an item (a full set refuses inline placement, the put refuses a second marker).
//! The global day item (sharded, because every event moves it) is written in the same
//! transaction, so it moves only when the user items do. A batch is merged per item: one
//! update per (user, day) with the summed deltas and all its event ids, and one update per
//! global day with the sum over the transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use taskpulse_domain::analytics::{
    Counter, Deltas, EventEffect, ProjectionVersion, by_user_day, merged_deltas,
};
use taskpulse_domain::{EventId, UserId};

pub use self::late::{MonthPartition, MonthWrite, plan_with_late_months};

mod late;

/// DynamoDB takes at most 100 actions per `TransactWriteItems`.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// Events guarded by one item update: bounds its condition expression (4 KB).
pub const MAX_EVENTS_PER_ITEM: usize = 50;
/// Dedupe markers kept inline in a user's day item; the rest are items of their own. 32 ids
/// (512 bytes) keep a day item with every counter of `tasks` and `tasks-by-priority` and a
/// 36-character user id under 1 KB, so its transactional write stays at 2 WCU however busy
/// the user is, and a read of a day reads at most this many markers. A `tasks-v2` day item
/// holding every one of its scalar counters passes 1 KB (about 1.07 KB) and costs 4 WCU per
/// update; its busy days still average 2.08 WCU per event (`docs/benchmarks.md`).
pub const MAX_INLINE_MARKERS: usize = 32;
/// Counters one item update may move: each is an `ADD #cN :dN` clause of its update
/// expression, which DynamoDB caps at 4 KB. Histogram buckets make hundreds of counters
/// possible on a global day; a transaction whose global update would pass this takes no more.
pub const MAX_COUNTERS_PER_UPDATE: usize = 250;
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

/// What a user day's inline marker set must hold before a write, for the write's placement
/// of markers to be right (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineMarkers {
    /// At most [`MAX_INLINE_MARKERS`] minus the write's inline markers: room for them all.
    /// Nothing overflows.
    HasRoom,
    /// Exactly this many (0: no set yet): the write's inline markers fill it, the rest
    /// overflow.
    Exactly(usize),
    /// At least [`MAX_INLINE_MARKERS`]: every marker of the write overflows.
    Full,
}

/// The update of one user's day item: summed deltas and the events it marks applied, the
/// first `inline` of them in the item's set and the rest as overflow marker items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDayWrite {
    pub user: UserId,
    pub day: NaiveDate,
    pub deltas: Deltas,
    pub events: Vec<EventId>,
    /// How many of `events`, from the first, are marked in the item's inline set.
    pub inline: usize,
    /// The condition on the inline set that makes this placement right.
    pub before: InlineMarkers,
}

impl UserDayWrite {
    /// The events marked in the day item's inline set.
    pub fn inline_events(&self) -> &[EventId] {
        &self.events[..self.inline]
    }

    /// The events marked by overflow marker items (each an action of the transaction).
    pub fn overflow_events(&self) -> &[EventId] {
        &self.events[self.inline..]
    }

    /// Actions of the transaction: the day item's update and one put per overflow marker.
    pub fn action_count(&self) -> usize {
        1 + self.events.len() - self.inline
    }
}

/// Where markers go for a (user, day) whose inline set is believed to hold `known` markers
/// (none if unknown), for the next `n` events: (inline count, condition).
fn place(known: usize, n: usize) -> (usize, InlineMarkers) {
    let room = MAX_INLINE_MARKERS.saturating_sub(known);
    let inline = n.min(room);
    let before = if inline == n {
        InlineMarkers::HasRoom
    } else if inline > 0 || known < MAX_INLINE_MARKERS {
        InlineMarkers::Exactly(known)
    } else {
        InlineMarkers::Full
    };
    (inline, before)
}

/// The update of one shard of the global day item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalDayWrite {
    pub day: NaiveDate,
    pub shard: u32,
    pub deltas: Deltas,
}

/// One `TransactWriteItems`: user items first, then global shards, then the month items late
/// writes update, all of one projection version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPlan {
    pub version: ProjectionVersion,
    pub users: Vec<UserDayWrite>,
    pub globals: Vec<GlobalDayWrite>,
    /// Empty unless a write is late ([`plan_with_late_months`]).
    pub months: Vec<MonthWrite>,
}

impl TransactionPlan {
    /// Actions of the transaction: user day updates, overflow marker puts, global updates,
    /// month updates.
    pub fn item_count(&self) -> usize {
        self.users
            .iter()
            .map(UserDayWrite::action_count)
            .sum::<usize>()
            + self.globals.len()
            + self.months.len()
    }

    pub fn events(&self) -> impl Iterator<Item = EventId> + '_ {
        self.users.iter().flat_map(|u| u.events.iter().copied())
    }
}

/// The most counters a global day update of a transaction would move once `chunk`'s events
/// join its `globals`.
fn global_counters_after(
    globals: &BTreeMap<NaiveDate, Deltas>,
    chunk: &[&EventEffect],
    spans_utc_days: bool,
) -> usize {
    // A bound first, without allocating (this runs for every chunk the consumer plans): the
    // largest global day so far and every counter of the chunk as if each were new.
    let bound = globals.values().map(Deltas::len).max().unwrap_or(0)
        + chunk
            .iter()
            .map(|effect| effect.deltas.len() + effect.global_due.len())
            .sum::<usize>();
    if bound <= MAX_COUNTERS_PER_UPDATE {
        return bound;
    }
    let mut added: BTreeMap<NaiveDate, BTreeSet<Counter>> = BTreeMap::new();
    for effect in chunk {
        let day = if spans_utc_days {
            effect.global_day
        } else {
            effect.day
        };
        let known = globals.get(&day);
        added.entry(day).or_default().extend(
            effect
                .global_deltas()
                .map(|(counter, _)| counter)
                .filter(|counter| known.is_none_or(|k| !k.contains(*counter))),
        );
    }
    added
        .iter()
        .map(|(day, new)| globals.get(day).map_or(0, Deltas::len) + new.len())
        .max()
        .unwrap_or(0)
}

/// Packs effects (distinct events) into transactions of `version`'s items, at most
/// `limits.max_items` actions per transaction, knowing nothing of the inline marker sets
/// (each is planned as if empty; a wrong guess is refused and planned again).
/// `pick_shard` chooses the global shard of each (transaction, day), so concurrent
/// consumers spread over the shards.
pub fn plan_transactions(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    pick_shard: impl FnMut() -> u32,
) -> Vec<TransactionPlan> {
    plan_transactions_knowing(version, effects, limits, |_, _| None, pick_shard)
}

/// [`plan_transactions`], placing markers by `known`: the size of a (user, day)'s inline
/// marker set as last seen, if it was seen.
pub fn plan_transactions_knowing(
    version: ProjectionVersion,
    effects: &[EventEffect],
    limits: &PlanLimits,
    known: impl Fn(&UserId, NaiveDate) -> Option<usize>,
    mut pick_shard: impl FnMut() -> u32,
) -> Vec<TransactionPlan> {
    let groups = by_user_day(effects);
    let per_item = limits.max_events_per_item.max(1);
    let max_items = limits.max_items.max(2);

    // Next fit: fill the current transaction until the action limit, or until a write names
    // an item it already writes (two actions on one item are refused by DynamoDB). Groups are
    // distinct items planned one after the other, so a transaction already writes a group's
    // item exactly when that group is the last one it took a write of.
    struct Open {
        users: Vec<UserDayWrite>,
        actions: usize,
        last_group: Option<usize>,
        globals: BTreeMap<NaiveDate, Deltas>,
    }
    let new_open = || Open {
        users: vec![],
        actions: 0,
        last_group: None,
        globals: BTreeMap::new(),
    };
    let mut open: Vec<Open> = vec![new_open()];
    for (group_index, group) in groups.iter().enumerate() {
        let (user, day) = (&group[0].user, group[0].day);
        // A user counted on local days has a day that spans two UTC days, whose events go to
        // two global items; every other group's events all go to the global item of its day.
        let spans_utc_days = group.iter().any(|e| e.global_day != day);
        let global_slots = if spans_utc_days { 2 } else { 1 };
        let mut inline_set = known(user, day).unwrap_or(0);
        let mut rest: &[&EventEffect] = group;
        while !rest.is_empty() {
            let mut n = rest.len().min(per_item);
            let (mut inline, mut before) = place(inline_set, n);
            // One action per overflow marker, beside the update and the global ones; at least
            // one, so a day whose inline set is full still moves on (below 4 items, which no
            // store has, a day spanning two UTC days may then take 4).
            let most_overflow = max_items.saturating_sub(1 + global_slots).max(1);
            if n - inline > most_overflow {
                n = inline + most_overflow.max(1);
                (inline, before) = place(inline_set, n);
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            inline_set = if inline == n {
                inline_set + inline
            } else {
                inline_set.max(MAX_INLINE_MARKERS)
            };
            let write = UserDayWrite {
                user: user.clone(),
                day,
                deltas: merged_deltas(chunk.iter().copied()),
                events: chunk.iter().map(|e| e.event_id).collect(),
                inline,
                before,
            };
            let current = open.last().expect("one is always open");
            let new_days = if spans_utc_days {
                let mut days: Vec<NaiveDate> = chunk.iter().map(|e| e.global_day).collect();
                days.sort_unstable();
                days.dedup();
                days.iter()
                    .filter(|d| !current.globals.contains_key(d))
                    .count()
            } else {
                usize::from(!current.globals.contains_key(&write.day))
            };
            let full = current.actions + current.globals.len() + write.action_count() + new_days
                > max_items
                || global_counters_after(&current.globals, chunk, spans_utc_days)
                    > MAX_COUNTERS_PER_UPDATE;
            if (full && !current.users.is_empty()) || current.last_group == Some(group_index) {
                open.push(new_open());
            }
            let tx = open.last_mut().expect("one is always open");
            if spans_utc_days || chunk.iter().any(|effect| effect.has_global_due()) {
                for effect in chunk {
                    let global = tx.globals.entry(effect.global_day).or_default();
                    for (counter, delta) in effect.global_deltas() {
                        global.add(counter, delta);
                    }
                }
            } else {
                tx.globals
                    .entry(write.day)
                    .or_default()
                    .add_all(&write.deltas);
            }
            tx.last_group = Some(group_index);
            tx.actions += write.action_count();
            tx.users.push(write);
        }
    }
    let mut plans = vec![];
    for tx in open.into_iter().filter(|tx| !tx.users.is_empty()) {
        let shards = limits.global_shards.max(1);
        let globals = tx
            .globals
            .into_iter()
            .map(|(day, deltas)| (day, deltas.without_zeros()))
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
            months: vec![],
        });
    }
    plans
}

#[cfg(test)]
mod local_days_tests;
#[cfg(test)]
pub(crate) mod tests;
