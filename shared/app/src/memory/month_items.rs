//! Month items in memory, under the conditions the DynamoDB store writes them with (see
//! `taskpulse_domain::analytics::months`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, add_into};

use crate::analytics::plan::{MonthPartition, MonthWrite};
use crate::ports::{StoredMonth, StoredMonths};

#[derive(Debug, Default, Clone)]
pub struct MonthItems {
    items: BTreeMap<(MonthPartition, NaiveDate), StoredMonth>,
    sealed_through: BTreeMap<MonthPartition, NaiveDate>,
}

impl MonthItems {
    /// A late write: its deltas added, one more late write counted.
    pub fn late_write(&mut self, write: &MonthWrite) {
        let item = self
            .items
            .entry((write.partition.clone(), write.month))
            .or_default();
        add_into(&mut item.counters, &write.deltas);
        item.late_writes += 1;
    }

    pub fn read(&self, partition: &MonthPartition) -> StoredMonths {
        StoredMonths {
            months: self
                .items
                .iter()
                .filter(|((p, _), _)| p == partition)
                .map(|((_, month), item)| (*month, item.clone()))
                .collect(),
            sealed_through: self.sealed_through.get(partition).copied(),
        }
    }

    /// Seals a month item, its counters set to `counters`, if it is unsealed and has taken
    /// exactly `late_writes` late writes.
    pub fn seal(
        &mut self,
        partition: &MonthPartition,
        month: NaiveDate,
        counters: &BTreeMap<Counter, i64>,
        late_writes: u64,
    ) -> bool {
        // As DynamoDB's conditional update: a refused seal writes nothing, not even the item.
        let key = (partition.clone(), month);
        let (sealed, found) = self
            .items
            .get(&key)
            .map_or((false, 0), |item| (item.sealed, item.late_writes));
        if sealed || found != late_writes {
            return false;
        }
        let item = self.items.entry(key).or_default();
        item.counters.extend(counters);
        item.sealed = true;
        true
    }

    /// Moves the sealed mark forward to `month`, never back.
    pub fn mark_sealed_through(&mut self, partition: &MonthPartition, month: NaiveDate) {
        let mark = self
            .sealed_through
            .entry(partition.clone())
            .or_insert(month);
        *mark = (*mark).max(month);
    }

    /// The shards everyone's month items are kept in.
    pub fn shards(&self) -> impl Iterator<Item = u32> + '_ {
        self.items
            .keys()
            .map(|(p, _)| p)
            .chain(self.sealed_through.keys())
            .filter_map(|p| match p {
                MonthPartition::Shard(shard) => Some(*shard),
                MonthPartition::User(_) => None,
            })
    }

    /// Deletes up to `limit` items (month items, then marks); returns how many.
    pub fn delete(&mut self, limit: usize) -> usize {
        let items: Vec<_> = self.items.keys().take(limit).cloned().collect();
        for key in &items {
            self.items.remove(key);
        }
        let marks: Vec<_> = self
            .sealed_through
            .keys()
            .take(limit - items.len())
            .cloned()
            .collect();
        for key in &marks {
            self.sealed_through.remove(key);
        }
        items.len() + marks.len()
    }

    /// Moves up to `limit` of `from`'s items to `to`, as they are; answers how many.
    pub fn move_user(&mut self, from: &UserId, to: &UserId, limit: usize) -> usize {
        let (from, to) = (
            MonthPartition::User(from.clone()),
            MonthPartition::User(to.clone()),
        );
        let months: Vec<NaiveDate> = self
            .items
            .keys()
            .filter(|(p, _)| *p == from)
            .map(|(_, month)| *month)
            .take(limit)
            .collect();
        for month in &months {
            let item = self.items.remove(&(from.clone(), *month)).expect("listed");
            self.items.insert((to.clone(), *month), item);
        }
        let mut moved = months.len();
        if moved < limit
            && let Some(mark) = self.sealed_through.remove(&from)
        {
            self.sealed_through.insert(to, mark);
            moved += 1;
        }
        moved
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.sealed_through.is_empty()
    }
}
