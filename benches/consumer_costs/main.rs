//! DynamoDB write units per event: this consumer (merged, packed, exactly-once transactions)
//! against a naive consumer (one `UpdateItem ADD` per counter per event, no deduplication), on
//! the same event mix (many users, a few days), against moto; what the event archive costs
//! (S3 objects and bytes per 1,000 events) at each batch size; one busy user's day (1,000
//! events on moto; 1,000, 25,000 and 200,000 priced over the in-memory table, `busy_user`);
//! and the read units of a year of one user's analytics.
//!
//! moto reports no consumed capacity for transactions, so units are counted with DynamoDB's
//! pricing rules from the item sizes actually written: a transactional write costs 2 units per
//! started KB of the item (after the write; counters only grow), a standard write 1.
//!
//! Run: `cargo bench --bench consumer_costs`. Results are recorded in `docs/benchmarks.md`.

mod busy_user;
mod months;

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use taskpulse_app::SaveProjectionConfig;
use taskpulse_app::projections::{ProjectionConfig, ProjectionSpec};
use taskpulse_app::{PlanLimits, ReadCounters, StoreError};
use taskpulse_aws::capacity::{item_size, transactional_write_units, write_units};
use taskpulse_aws::{DynamoAnalyticsStore, S3Archive, TransactOutcome, TransactWrites, keys, sdk};
use taskpulse_devstack::Stack;
use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::{Counter, Projection, ProjectionVersion, Scope, project};
use taskpulse_domain::{TimeZone, UserId};
use taskpulse_lambda::consumer::{Consumer, handle_batch};
use taskpulse_testkit::{HistoryShape, shuffle, sqs_event, sqs_record};

/// Counts the units of every committed transaction from the items it wrote.
struct MeasuringWriter {
    client: aws_sdk_dynamodb::Client,
    units: Mutex<(usize, usize)>,
}

impl TransactWrites for MeasuringWriter {
    async fn transact_write(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        // Day and global updates, overflow marker puts, and a day item's condition check
        // (priced as a write of the item, as a transaction prices it).
        let keys: Vec<(String, HashMap<String, AttributeValue>)> = items
            .iter()
            .filter_map(|i| {
                i.update
                    .as_ref()
                    .map(|u| (u.table_name.clone(), u.key.clone()))
                    .or_else(|| {
                        i.condition_check
                            .as_ref()
                            .map(|c| (c.table_name.clone(), c.key.clone()))
                    })
                    .or_else(|| {
                        i.put.as_ref().map(|p| {
                            let key = [keys::PK, keys::SK]
                                .iter()
                                .map(|k| ((*k).to_owned(), p.item[*k].clone()))
                                .collect();
                            (p.table_name.clone(), key)
                        })
                    })
            })
            .collect();
        let outcome = self.client.transact_write(items).await?;
        if let TransactOutcome::Committed { .. } = outcome {
            let mut units = 0;
            for (table, key) in &keys {
                let item = self
                    .client
                    .get_item()
                    .table_name(table)
                    .set_key(Some(key.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?
                    .item
                    .unwrap_or_default();
                units += transactional_write_units(item_size(&item));
            }
            let mut total = self.units.lock().unwrap();
            total.0 += units;
            total.1 += 1;
        }
        Ok(outcome)
    }
}

fn batches(events: &[EventEnvelope], size: usize) -> Vec<SqsEvent> {
    events
        .chunks(size)
        .enumerate()
        .map(|(b, chunk)| {
            let records = chunk
                .iter()
                .enumerate()
                .map(|(i, e)| sqs_record(format!("{b}-{i}"), e.to_json()))
                .collect();
            sqs_event(records)
        })
        .collect()
}

/// A moto server of its own (stopped when dropped), a client to it and its analytics table.
async fn fresh_analytics_table() -> (Stack, aws_sdk_dynamodb::Client, String) {
    let stack = Stack::start().await.expect("moto");
    let client = aws_sdk_dynamodb::Client::new(&stack.config);
    let table = stack
        .resources
        .table(taskpulse_devstack::ANALYTICS_TABLE)
        .unwrap()
        .to_owned();
    (stack, client, table)
}

/// What our consumer's first delivery cost.
struct OurCosts {
    units: usize,
    transactions: usize,
    archive_objects: usize,
    archive_bytes: usize,
    /// Global `created` over all days after the redelivery.
    created: i64,
}

/// Ours, with the archive in the template's bucket on the same moto server.
async fn ours(
    events: &[EventEnvelope],
    batch_size: usize,
    redeliver: &[EventEnvelope],
    projection: Projection,
) -> OurCosts {
    let (stack, client, table) = fresh_analytics_table().await;
    let limits = PlanLimits::default();
    let store = DynamoAnalyticsStore::with_writer(
        MeasuringWriter {
            client: client.clone(),
            units: Mutex::new((0, 0)),
        },
        client,
        table,
        limits.global_shards,
    );
    let bucket = stack
        .resources
        .bucket(taskpulse_devstack::ARCHIVE_BUCKET)
        .unwrap()
        .to_owned();
    let tasks_table = stack
        .resources
        .table(taskpulse_devstack::TASKS_TABLE)
        .unwrap()
        .to_owned();
    let consumer = Consumer {
        archive: S3Archive::new(sdk::s3_client(&stack.config), bucket),
        store,
        // The erasure records of each batch's owners are read as the function reads them.
        erasures: taskpulse_aws::DynamoTaskStore::new(
            aws_sdk_dynamodb::Client::new(&stack.config),
            tasks_table,
        ),
        requeue: taskpulse_app::memory::MemoryWorkQueue::default(),
        limits,
    };
    if projection != Projection::Tasks {
        // The table starts with `tasks` active; this run counts with `projection` instead.
        let config = ProjectionConfig {
            active: ProjectionSpec {
                version: ProjectionVersion::FIRST,
                projection,
            },
            revision: 1,
            ..ProjectionConfig::initial()
        };
        consumer
            .store
            .save_projection_config(&config)
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    let (mut archive_objects, mut archive_bytes) = (0, 0);
    for batch in batches(events, batch_size) {
        let (response, summary) = handle_batch(&consumer, batch, deadline).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        archive_objects += summary.archive_objects;
        archive_bytes += summary.archive_bytes;
    }
    let (units, transactions) = *consumer.store.writer().units.lock().unwrap();
    for batch in batches(redeliver, batch_size) {
        handle_batch(&consumer, batch, deadline).await.unwrap();
    }
    OurCosts {
        units,
        transactions,
        archive_objects,
        archive_bytes,
        created: global_created(&consumer.store, events).await,
    }
}

async fn global_created(store: &impl ReadCounters, events: &[EventEnvelope]) -> i64 {
    let last = events
        .iter()
        .map(|e| e.occurred_at.date_naive())
        .max()
        .unwrap();
    let days = store
        .read_days(ProjectionVersion::FIRST, &Scope::Global, None, last)
        .await
        .unwrap();
    days.values()
        .map(|c| c.get(&Counter::Created).copied().unwrap_or(0))
        .sum()
}

/// Naive: one `UpdateItem ADD` per counter per scope per event; no marker, no merging.
/// Returns the units and the number of updates of one event.
async fn naive_apply(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    event: &EventEnvelope,
) -> (usize, usize) {
    let (mut units, mut updates) = (0, 0);
    for update in project(event) {
        let key = match &update.key.scope {
            Scope::User(user) => keys::user_day_key(ProjectionVersion::FIRST, user, update.key.day),
            Scope::Global => keys::global_day_key(ProjectionVersion::FIRST, update.key.day, 0),
        };
        for (counter, delta) in &update.deltas {
            let output = client
                .update_item()
                .table_name(table)
                .set_key(Some(keys::key_attributes(key.clone())))
                .update_expression("ADD #c :d")
                .expression_attribute_names("#c", counter.name())
                .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
                .return_values(ReturnValue::AllNew)
                .send()
                .await
                .unwrap();
            units += write_units(item_size(&output.attributes.unwrap_or_default()));
            updates += 1;
        }
    }
    (units, updates)
}

/// Naive consumer: returns (units and updates of the first delivery, global `created`).
async fn naive(events: &[EventEnvelope], redeliver: &[EventEnvelope]) -> (usize, usize, i64) {
    let (_stack, client, table) = fresh_analytics_table().await;
    let (mut units, mut updates) = (0, 0);
    for event in events {
        let (u, n) = naive_apply(&client, &table, event).await;
        units += u;
        updates += n;
    }
    for event in redeliver {
        naive_apply(&client, &table, event).await;
    }
    let reader = DynamoAnalyticsStore::new(client, table, 1);
    let created = global_created(&reader, events).await;
    (units, updates, created)
}

#[tokio::main]
async fn main() {
    // `cargo bench --bench consumer_costs -- months`: read units and the late rule's write
    // units alone (no moto, seconds).
    if std::env::args().any(|arg| arg == "months") {
        busy_user::year_of_reads().await;
        months::late_writes_priced().await;
        return;
    }
    let mut events = HistoryShape::workload(400, 400, 3).generate().events;
    shuffle(&mut events, 11);
    let created = events
        .iter()
        .filter(|e| e.event_type() == "TaskCreated")
        .count() as i64;
    let users: std::collections::HashSet<_> = events.iter().map(|e| e.user_id.clone()).collect();
    // One event in ten delivered a second time, as SQS may.
    let redeliver: Vec<EventEnvelope> = events.iter().step_by(10).cloned().collect();
    println!(
        "event mix: {} events, {} users, 3 days, {} tasks created; {} redelivered\n",
        events.len(),
        users.len(),
        created,
        redeliver.len()
    );
    println!(
        "| consumer | batch size | write units (first delivery) | WCU per event | writes | global `created` after redelivery (exact: {created}) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut archive_rows = vec![];
    for batch_size in [10, 100] {
        let ours = ours(&events, batch_size, &redeliver, Projection::Tasks).await;
        println!(
            "| taskpulse (exactly once) | {batch_size} | {} | {:.2} | {} transactions | {} |",
            ours.units,
            ours.units as f64 / events.len() as f64,
            ours.transactions,
            ours.created
        );
        let per_thousand = |n: usize| n as f64 * 1000.0 / events.len() as f64;
        archive_rows.push(format!(
            "| {batch_size} | {:.1} | {:.0} | {:.0} |",
            per_thousand(ours.archive_objects),
            per_thousand(ours.archive_bytes),
            ours.archive_bytes as f64 / events.len() as f64
        ));
    }
    // The same events stamped as the API stamps them for owners in six zones (local days of
    // `occurredAt` and of the planned dates), counted by `tasks-v2`: per-priority completions,
    // histogram buckets, open tasks by due day, and local days that span two UTC days.
    let mut stamped = HistoryShape::workload(400, 400, 3)
        .generate_in_zones(&zone_of)
        .events;
    shuffle(&mut stamped, 11);
    let stamped_again: Vec<EventEnvelope> = stamped.iter().step_by(10).cloned().collect();
    for projection in [Projection::TasksV2, Projection::TasksV3] {
        for batch_size in [10, 100] {
            let counted = ours(&stamped, batch_size, &stamped_again, projection).await;
            println!(
                "| taskpulse, `{projection}`, users in six zones | {batch_size} | {} | {:.2} | {} transactions | {} |",
                counted.units,
                counted.units as f64 / events.len() as f64,
                counted.transactions,
                counted.created
            );
        }
    }
    let (units, updates, counted) = naive(&events, &redeliver).await;
    println!(
        "| naive (`UpdateItem ADD` per counter) | — | {units} | {:.2} | {updates} updates | {counted} |",
        units as f64 / events.len() as f64
    );
    println!("\narchive (first delivery):\n");
    println!(
        "| batch size | S3 objects per 1,000 events | bytes per 1,000 events | bytes per event |"
    );
    println!("|---|---|---|---|");
    for row in archive_rows {
        println!("{row}");
    }

    busy_user_on_moto().await;
    busy_user::busy_user_priced().await;
    busy_user::year_of_reads().await;
    months::late_writes_priced().await;
}

/// A user's zone, spread over six by the user id.
fn zone_of(user: &UserId) -> TimeZone {
    const ZONES: [&str; 6] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Tokyo",
        "Asia/Kolkata",
    ];
    let spread = user.as_str().bytes().map(usize::from).sum::<usize>() % ZONES.len();
    TimeZone::parse(ZONES[spread]).expect("a known zone")
}

/// One busy user's day on moto: about 1,000 events of one user on one UTC day, batches of 100.
async fn busy_user_on_moto() {
    let mut events = HistoryShape::busy_user_day(370).generate().events;
    events.truncate(1_000);
    let ours = ours(&events, 100, &events[..100], Projection::Tasks).await;
    println!("\nbusy user on moto (one user, one UTC day, batches of 100, measured):\n");
    println!("| events that day | write units | WCU per event | transactions |");
    println!("|---|---|---|---|");
    println!(
        "| {} | {} | {:.2} | {} |",
        events.len(),
        ours.units,
        ours.units as f64 / events.len() as f64,
        ours.transactions
    );
}
