//! Month items priced: what a month answer over five years reads once its months are sealed,
//! and what the late rule adds to a batch whose events are late (a redrive, a backfill).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::analytics::{MonthPartition, MonthWrite, TransactionPlan};
use taskpulse_app::memory::CounterTable;
use taskpulse_aws::capacity::{item_size, query_read_units_paged};
use taskpulse_aws::keys;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, Projection, ProjectionVersion};
use taskpulse_testkit::{HistoryShape, shuffle};

use super::busy_user::{PricedTable, day_item_size, with_counters};

/// The size of the month item `write` updated, as the committed transaction left it.
pub fn month_item_size(table: &CounterTable, plan: &TransactionPlan, write: &MonthWrite) -> usize {
    let partition = match &write.partition {
        MonthPartition::User(user) => keys::counter_user_partition(plan.version, user),
        MonthPartition::Shard(shard) => keys::global_partition(plan.version, *shard),
    };
    let stored = table.month_item(&write.partition, write.month);
    let mut item = with_counters(
        keys::key_attributes((partition, keys::month_sort_key(write.month))),
        &stored.counters,
    );
    item.insert(
        keys::MONTH_LATE_WRITES.to_owned(),
        AttributeValue::N(stored.late_writes.to_string()),
    );
    item_size(&item)
}

/// Read units of a month answer over five years once its months are sealed: one `Query` of
/// the 60 month items and the sealed mark, one of the days not yet sealed (at most the month
/// in progress and the 16 days a month waits after its end: 47 day items).
pub fn sealed_months_read(
    user: &UserId,
    days: &[(NaiveDate, BTreeMap<Counter, i64>)],
    per_day: usize,
    inline_cap: usize,
) -> f64 {
    use taskpulse_domain::analytics::months::{month_deltas, month_of};
    let mut months: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
    for (day, counters) in days.iter().skip(47) {
        taskpulse_domain::analytics::add_into(
            months.entry(month_of(*day)).or_default(),
            &month_deltas(*day, counters),
        );
    }
    let partition = keys::counter_user_partition(ProjectionVersion::FIRST, user);
    let month_items = months.iter().take(60).map(|(month, counters)| {
        let mut item = with_counters(
            keys::key_attributes((partition.clone(), keys::month_sort_key(*month))),
            counters,
        );
        item.insert(keys::MONTH_SEALED.to_owned(), AttributeValue::Bool(true));
        item.insert(
            keys::MONTH_LATE_WRITES.to_owned(),
            AttributeValue::N("1".into()),
        );
        item_size(&item)
    });
    let mut mark = keys::key_attributes((partition.clone(), keys::sealed_mark_sort_key().into()));
    mark.insert(
        keys::SEALED_THROUGH.to_owned(),
        AttributeValue::S("2026-10".into()),
    );
    let month_query = query_read_units_paged(month_items.chain([item_size(&mark)]), false);
    let tail = days
        .iter()
        .take(47)
        .map(|(day, counters)| day_item_size(user, *day, counters, per_day.min(inline_cap)));
    month_query + query_read_units_paged(tail, false)
}

/// Write units per event of the benchmarks' workload (three days from 2026-11-20) delivered
/// in batches of 100 by a consumer on a day when it is timely, and on one when every event is
/// late (a redrive from the DLQ, a rebuild's backfill).
pub async fn late_writes_priced() {
    println!(
        "\nthe late rule: write units per event, batches of 100, priced over the in-memory table:\n"
    );
    println!(
        "| projection | events | timely (delivered 2026-11-25) | every event late (delivered 2027-02-01) |"
    );
    println!("|---|---|---|---|");
    // Shuffled as the consumer costs' first table has them, so the timely column is that
    // table's figure at batch 100.
    let mut events = HistoryShape::workload(400, 400, 3).generate().events;
    shuffle(&mut events, 11);
    for projection in [Projection::Tasks, Projection::TasksV3] {
        let mut per_event = vec![];
        for today in ["2026-11-25", "2027-02-01"] {
            let table = PricedTable::counting(projection);
            let (applied, failed) = table.deliver_on(&events, 100, today.parse().unwrap()).await;
            assert_eq!((applied, failed), (events.len(), 0));
            per_event.push(table.units().0 as f64 / applied as f64);
        }
        println!(
            "| {projection} | {} | {:.2} | {:.2} |",
            events.len(),
            per_event[0],
            per_event[1]
        );
    }
}
