//! A scope's counter history up to a day, read from sealed month items where they serve and
//! day items elsewhere, partition by partition; and the sealing of months past the late rule's
//! reach (`taskpulse_domain::analytics::months`) as a read finds them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use taskpulse_domain::analytics::months::{
    last_sealable_month, month_deltas, month_end, month_of, next_month,
};
use taskpulse_domain::analytics::{Counter, Granularity, ProjectionVersion, Scope, add_into};

use super::plan::MonthPartition;
use crate::ports::{RollUpMonths, StoreError, StoredMonths};

/// Partitions one analytics read queries at once: everyone's analytics read every global
/// shard (up to 1,000 in the template), and one after another their round trips would add up.
pub const PARTITION_READS_AT_ONCE: usize = 32;

/// What a history is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRead {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    /// The UTC date: which months may be sealed.
    pub today: NaiveDate,
}

/// Counters by the first day of what they sum: a day item's on its day, a sealed month's on
/// the month's first day (its due gauges count from that day, as a day item's do from its
/// day). A sealed month is only taken whole: when it ends before `from`, or, for a month
/// answer, when it lies within the range; every other day is read as days.
pub type History = BTreeMap<NaiveDate, BTreeMap<Counter, i64>>;

/// `scope`'s history through `read.to` in `version`, sealing first what may be sealed.
pub async fn read_history(
    store: &impl RollUpMonths,
    version: ProjectionVersion,
    scope: &Scope,
    read: HistoryRead,
) -> Result<History, StoreError> {
    let partitions = store.month_partitions(version, scope);
    let parts: Vec<History> = stream::iter(partitions)
        .map(|partition| async move { partition_history(store, version, &partition, read).await })
        .buffer_unordered(PARTITION_READS_AT_ONCE)
        .try_collect()
        .await?;
    let mut history = History::new();
    for part in parts {
        for (day, counters) in part {
            add_into(history.entry(day).or_default(), &counters);
        }
    }
    Ok(history)
}

async fn partition_history(
    store: &impl RollUpMonths,
    version: ProjectionVersion,
    partition: &MonthPartition,
    read: HistoryRead,
) -> Result<History, StoreError> {
    let mut stored = store.read_months(version, partition, false).await?;
    let last = last_sealable_month(read.today);
    // Not sealed this far: is a sealable month past the mark, or a day of one, known to exist?
    let mark = stored.sealed_through;
    let unsealed = move |month: NaiveDate| {
        last.is_some_and(|last| month <= last) && mark.is_none_or(|through| month > through)
    };
    // A partition sealed before (or with late writes in reach) is sealed before it is read,
    // so the read takes the new months whole; one never sealed is read first, and sealed
    // after only if the read found a sealable day: a partition without one writes nothing.
    let behind = mark.and_then(next_month).is_some_and(unsealed)
        || stored
            .months
            .iter()
            .any(|(m, item)| !item.sealed && unsealed(*m));
    if behind && try_seal(store, version, partition, read.today).await {
        stored = store.read_months(version, partition, true).await?;
    }
    let (months, runs) = plan_reads(&stored, read);
    let mut history: History = months
        .into_iter()
        .map(|month| (month, stored.months[&month].counters.clone()))
        .collect();
    let mut sealable_day_read = false;
    for (from, to) in runs {
        let days = store
            .read_partition_days(version, partition, from, to, false)
            .await?;
        for (day, counters) in days {
            sealable_day_read |= unsealed(month_of(day));
            add_into(history.entry(day).or_default(), &counters);
        }
    }
    if !behind && sealable_day_read {
        try_seal(store, version, partition, read.today).await;
    }
    Ok(history)
}

/// [`seal`], whose failure (throttled, say) costs a read its shortcut, never its answer: the
/// days are read instead, and a later read seals. Whether anything was written.
async fn try_seal(
    store: &impl RollUpMonths,
    version: ProjectionVersion,
    partition: &MonthPartition,
    today: NaiveDate,
) -> bool {
    match seal(store, version, partition, today).await {
        Ok(sealed) => sealed > 0,
        Err(error) => {
            tracing::warn!(%error, ?partition, "months not sealed");
            false
        }
    }
}

/// Seals, in order, every month of `partition` after its sealed mark that may be sealed on
/// `today` (its item set to the sums of its days), then moves the mark past the last one
/// sealed. Stops at the first seal refused (a
/// late write came in between): the next read takes it up again.
pub async fn seal(
    store: &impl RollUpMonths,
    version: ProjectionVersion,
    partition: &MonthPartition,
    today: NaiveDate,
) -> Result<usize, StoreError> {
    let Some(last) = last_sealable_month(today) else {
        return Ok(0);
    };
    // The month items first, then the days: a late write between the two reads shows in the
    // days and moves `lateWrites`, so the seal's condition refuses it.
    let stored = store.read_months(version, partition, true).await?;
    let first = stored.sealed_through.and_then(next_month);
    if first.is_some_and(|first| first > last) {
        return Ok(0);
    }
    let days = store
        .read_partition_days(version, partition, first, month_end(last), true)
        .await?;
    if days.is_empty() && stored.months.is_empty() && stored.sealed_through.is_none() {
        // Nothing to seal yet: a partition with no item before the months in reach gets no
        // sealed mark either (a reader with no history writes nothing).
        return Ok(0);
    }
    let mut sums: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
    for (day, counters) in &days {
        add_into(
            sums.entry(month_of(*day)).or_default(),
            &month_deltas(*day, counters),
        );
    }
    // A month item without days in reach is sealed too (late writes of a month whose days
    // are all gone to another id); one at or before the mark was created after it by a late
    // write, and already reads right.
    for month in stored
        .months
        .keys()
        .filter(|m| first.is_none_or(|first| **m >= first) && **m <= last)
    {
        sums.entry(*month).or_default();
    }
    let mut sealed = 0;
    let mut through = last;
    for (month, sum) in &sums {
        let item = stored.months.get(month).cloned().unwrap_or_default();
        if item.sealed {
            continue;
        }
        // The days' sums as they are, and a zero for a counter the item holds that they sum
        // to nothing: the seal sets values, so a partial or repeated seal does no harm.
        let mut counters = sum.clone();
        counters.retain(|counter, value| *value != 0 || item.counters.contains_key(counter));
        for counter in item.counters.keys() {
            counters.entry(*counter).or_default();
        }
        if !store
            .seal_month(version, partition, *month, &counters, item.late_writes)
            .await?
        {
            match month.pred_opt() {
                Some(before) => through = month_of(before),
                None => return Ok(sealed),
            }
            break;
        }
        sealed += 1;
    }
    if stored.sealed_through.is_none_or(|done| done < through) && first.is_none_or(|f| f <= through)
    {
        store
            .mark_sealed_through(version, partition, through)
            .await?;
    }
    Ok(sealed)
}

/// Which sealed months a read takes whole, and the runs of days (`from` or the first day,
/// through `to`) it reads instead for the rest. A month before the sealed mark without an item
/// has no day, so runs step over it.
pub fn plan_reads(
    stored: &StoredMonths,
    read: HistoryRead,
) -> (Vec<NaiveDate>, Vec<(Option<NaiveDate>, NaiveDate)>) {
    let Some(through) = stored.sealed_through else {
        return (vec![], vec![(None, read.to)]);
    };
    let whole = |month: NaiveDate| {
        let end = month_end(month);
        month <= through
            && end <= read.to
            && (end < read.from || (read.granularity == Granularity::Month && month >= read.from))
    };
    let mut taken = vec![];
    let mut runs: Vec<(Option<NaiveDate>, NaiveDate)> = vec![];
    // The first day not yet taken by a month or a run: reading starts there when it must.
    let mut open: Option<Option<NaiveDate>> = None;
    for month in stored.months.keys().copied().filter(|m| *m <= read.to) {
        if whole(month) {
            if let Some(start) = open.take() {
                runs.push((start, month.pred_opt().unwrap_or(month)));
            }
            taken.push(month);
        } else if month <= through && open.is_none() {
            open = Some(Some(month));
        }
    }
    let tail = next_month(through).filter(|first| *first <= read.to);
    match (open, tail) {
        (Some(start), _) => runs.push((start, read.to)),
        (None, Some(first)) => runs.push((Some(first), read.to)),
        (None, None) => {}
    }
    (taken, runs)
}

#[cfg(test)]
mod tests;
