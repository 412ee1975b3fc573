//! The busy user's day and a year of analytics reads, priced with DynamoDB's rules
//! (`taskpulse_aws::capacity`) over the in-memory table, which commits exactly what the
//! DynamoDB store commits (the same planner, the same conditions): after each committed
//! transaction every item it wrote is laid out as the DynamoDB store lays it out (keys,
//! every counter with its value, the inline set, marker items) and priced. The layout before
//! the inline cap is priced on the same transactions with every marker inline, as it wrote
//! them; past 400 KB its writes fail (to the DLQ after five receives).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::analytics::TransactionPlan;
use taskpulse_app::memory::MemoryAnalyticsStore;
use taskpulse_app::projections::{ProjectionConfig, ProjectionSpec};
use taskpulse_app::{
    ApplyTransaction, MarkerHints, PlanLimits, ReadCounters, StoreError, TransactionResult,
    analytics::apply_events_on,
};
use taskpulse_aws::capacity::{item_size, query_read_units_paged, transactional_write_units};
use taskpulse_aws::keys;
use taskpulse_domain::analytics::{Counter, CounterKey, Projection, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, UserId};
use taskpulse_testkit::HistoryShape;
use uuid::Uuid;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB refuses an item larger than this.
const MAX_ITEM_BYTES: usize = 400 * 1024;

pub fn with_counters(mut item: Item, counters: &std::collections::BTreeMap<Counter, i64>) -> Item {
    for (counter, value) in counters {
        item.insert(
            counter.name().into_owned(),
            AttributeValue::N(value.to_string()),
        );
    }
    item
}

/// A user's day item with `markers` ids in its inline set.
pub fn day_item(
    user: &UserId,
    day: NaiveDate,
    counters: &std::collections::BTreeMap<Counter, i64>,
    markers: usize,
) -> Item {
    let key = keys::user_day_key(ProjectionVersion::FIRST, user, day);
    let mut item = with_counters(keys::key_attributes(key), counters);
    if markers > 0 {
        let ids = (0..markers as u128)
            .map(|n| Blob::new(Uuid::from_u128(n).as_bytes().to_vec()))
            .collect();
        item.insert(keys::APPLIED_EVENTS.to_owned(), AttributeValue::Bs(ids));
    }
    item
}

/// The size of [`day_item`], computed without building a set of `markers` ids: the set
/// counts its name and 16 bytes per id.
pub fn day_item_size(
    user: &UserId,
    day: NaiveDate,
    counters: &std::collections::BTreeMap<Counter, i64>,
    markers: usize,
) -> usize {
    let bare = item_size(&day_item(user, day, counters, 0));
    if markers == 0 {
        bare
    } else {
        bare + keys::APPLIED_EVENTS.len() + 16 * markers
    }
}

#[derive(Default)]
struct Priced {
    /// Units of the layout with the inline cap (what was committed).
    units: usize,
    /// Units the layout before the cap would have spent on the same transactions.
    old_units: usize,
    /// Events whose write the layout before the cap would have failed (item over 400 KB).
    old_failed: usize,
    /// Markers per (user, day) so far: inline in the new layout, all of them in the old.
    markers: HashMap<(UserId, NaiveDate), (usize, usize)>,
}

/// The in-memory table, pricing every committed transaction, counting with `projection`.
pub struct PricedTable {
    table: MemoryAnalyticsStore,
    priced: Mutex<Priced>,
    projection: Projection,
}

impl PricedTable {
    pub fn counting(projection: Projection) -> Self {
        Self {
            table: MemoryAnalyticsStore::default(),
            priced: Mutex::default(),
            projection,
        }
    }
}

impl ApplyTransaction for PricedTable {
    fn marker_hints(&self) -> Option<&MarkerHints> {
        self.table.marker_hints()
    }

    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        let result = self.table.apply_transaction(plan).await?;
        if !matches!(result, TransactionResult::Committed { .. }) {
            return Ok(result);
        }
        let mut priced = self.priced.lock().unwrap();
        let priced = &mut *priced;
        self.table.with_table(plan.version, |table| {
            for write in &plan.users {
                let counters = table.user_day(&write.user, write.day);
                let (inline, all) = priced
                    .markers
                    .entry((write.user.clone(), write.day))
                    .or_default();
                *inline += write.inline;
                *all += write.events.len();
                priced.units += transactional_write_units(item_size(&day_item(
                    &write.user,
                    write.day,
                    &counters,
                    *inline,
                )));
                for event in write.overflow_events() {
                    let marker = keys::key_attributes(keys::applied_marker_key(
                        plan.version,
                        &write.user,
                        write.day,
                        *event,
                    ));
                    priced.units += transactional_write_units(item_size(&marker));
                }
                let old = day_item_size(&write.user, write.day, &counters, *all);
                if old > MAX_ITEM_BYTES {
                    priced.old_failed += write.events.len();
                } else {
                    priced.old_units += transactional_write_units(old);
                }
            }
            for write in &plan.globals {
                let key = keys::global_day_key(plan.version, write.day, write.shard);
                let item = with_counters(
                    keys::key_attributes(key),
                    &table.global_shard(write.day, write.shard),
                );
                let units = transactional_write_units(item_size(&item));
                priced.units += units;
                priced.old_units += units;
            }
            for write in &plan.months {
                let units =
                    transactional_write_units(super::months::month_item_size(table, plan, write));
                priced.units += units;
                priced.old_units += units;
            }
        });
        Ok(result)
    }
}

impl PricedTable {
    /// Applies `events` in batches of `batch_size`; returns events applied and failed.
    pub async fn deliver(&self, events: &[EventEnvelope], batch_size: usize) -> (usize, usize) {
        let today = chrono::Utc::now().date_naive();
        self.deliver_on(events, batch_size, today).await
    }

    /// [`Self::deliver`] by a consumer running on the UTC date `today`.
    pub async fn deliver_on(
        &self,
        events: &[EventEnvelope],
        batch_size: usize,
        today: NaiveDate,
    ) -> (usize, usize) {
        let target = ProjectionSpec {
            projection: self.projection,
            ..ProjectionConfig::initial().active
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
        let (mut applied, mut failed) = (0, 0);
        for batch in events.chunks(batch_size) {
            let outcome =
                apply_events_on(self, target, batch, &PlanLimits::default(), deadline, today).await;
            applied += outcome.applied.len();
            failed += outcome.failed.len();
        }
        (applied, failed)
    }

    /// (units, units before the cap, events the layout before the cap would have failed).
    pub fn units(&self) -> (usize, usize, usize) {
        let priced = self.priced.lock().unwrap();
        (priced.units, priced.old_units, priced.old_failed)
    }

    pub fn store(&self) -> &MemoryAnalyticsStore {
        &self.table
    }
}

/// Read units of `GET /analytics/me` over `days` days of one user with `per_day` events a
/// day (counters as the in-memory table counted them): the inline cap, the layout before it,
/// and a day item with no marker at all (the floor).
pub fn year_of_reads_of(
    user: &UserId,
    days: &[(NaiveDate, std::collections::BTreeMap<Counter, i64>)],
    per_day: usize,
    inline_cap: usize,
) -> (f64, f64, f64) {
    let read = |markers: usize| {
        query_read_units_paged(
            days.iter()
                .map(|(day, counters)| day_item_size(user, *day, counters, markers)),
            false,
        )
    };
    (read(per_day.min(inline_cap)), read(per_day), read(0))
}

/// The busy user at 1,000, 25,000 and 200,000 events that day, priced over the in-memory table.
pub async fn busy_user_priced() {
    println!(
        "\nbusy user priced over the in-memory table (batches of 100; before = every marker inline):\n"
    );
    println!(
        "| projection | events that day | WCU per event | WCU per event, last 1,000 | before: WCU per event (events it could apply) | before: WCU per event, last 1,000 | before: events failed (item > 400 KB) | counted exactly, dead letters |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let runs = [
        (Projection::Tasks, 1_000usize),
        (Projection::Tasks, 25_000),
        (Projection::Tasks, 200_000),
        (Projection::TasksV2, 1_000),
        (Projection::TasksV2, 25_000),
        (Projection::TasksV3, 1_000),
        (Projection::TasksV3, 25_000),
    ];
    for (projection, count) in runs {
        let mut events = HistoryShape::busy_user_day(count * 10 / 26)
            .generate()
            .events;
        assert!(events.len() >= count, "{} < {count}", events.len());
        events.truncate(count);
        let table = PricedTable::counting(projection);
        let (head, tail) = events.split_at(count - 1_000);
        let (mut applied, mut failed) = table.deliver(head, 100).await;
        let (units_head, old_head, old_failed_head) = table.units();
        let (a, f) = table.deliver(tail, 100).await;
        applied += a;
        failed += f;
        let (units, old_units, old_failed) = table.units();
        let created = events
            .iter()
            .filter(|e| e.event_type() == "TaskCreated")
            .count() as i64;
        let counted = super::global_created(table.store(), &events).await;
        let old_last = if old_failed > old_failed_head {
            "fails".to_owned()
        } else {
            format!("{:.2}", (old_units - old_head) as f64 / 1_000.0)
        };
        println!(
            "| {projection} | {count} | {:.2} | {:.2} | {:.2} ({}) | {old_last} | {old_failed} | {} created of {created}, {} failed |",
            units as f64 / applied as f64,
            (units - units_head) as f64 / 1_000.0,
            old_units as f64 / (count - old_failed) as f64,
            count - old_failed,
            counted,
            failed,
        );
        assert_eq!((applied, failed, counted), (count, 0, created));
    }
}

/// Read units of `GET /analytics/me` over 366 days of one user, each day like one priced over
/// the in-memory table with that many events.
pub async fn year_of_reads() {
    println!(
        "\nread units of a year of one user's analytics (366 day items, one eventually consistent Query):\n"
    );
    println!(
        "| projection | events per day | before (every marker inline) | after (at most 32 inline) | no marker at all (floor) | five years (1,830 day items), after | five years of months, sealed (60 month items + the unsealed 47 days) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let runs = [Projection::Tasks, Projection::TasksV2, Projection::TasksV3]
        .into_iter()
        .flat_map(|projection| [5usize, 50, 1_000].map(|per_day| (projection, per_day)));
    for (projection, per_day) in runs {
        let mut events = HistoryShape::busy_user_day(per_day * 10 / 26 + 2)
            .generate()
            .events;
        events.truncate(per_day);
        let table = PricedTable::counting(projection);
        table.deliver(&events, 100).await;
        let user = events[0].user_id.clone();
        let day = events[0].occurred_at.date_naive();
        let counters = table
            .store()
            .read_counters(
                ProjectionVersion::FIRST,
                &CounterKey {
                    scope: Scope::User(user.clone()),
                    day,
                },
            )
            .await
            .unwrap();
        let days_back = |count: u64| -> Vec<_> {
            (0..count)
                .map(|d| (day - chrono::Days::new(d), counters.clone()))
                .collect()
        };
        let cap = taskpulse_app::analytics::MAX_INLINE_MARKERS;
        let (after, before, floor) = year_of_reads_of(&user, &days_back(366), per_day, cap);
        // A month answer over five years reads every day of them (rows are sums of days).
        let (five_years, _, _) = year_of_reads_of(&user, &days_back(1_830), per_day, cap);
        let months = super::months::sealed_months_read(&user, &days_back(1_830), per_day, cap);
        println!(
            "| {projection} | {per_day} | {before} | {after} | {floor} | {five_years} | {months} |"
        );
    }
}
