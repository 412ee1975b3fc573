//! Cost and latency of the task commands, measured against moto:
//!
//! - DynamoDB write units per command, counted from the items actually written (moto reports
//!   no consumed capacity for transactions, so the units are computed from item sizes with
//!   DynamoDB's billing rules, including the writes to both secondary indexes; with a key, a
//!   create writes its record and then its task, a change both in one transaction);
//! - handler latency per command (p50/p99), API handler -> DynamoDB -> SQS on moto, then again
//!   with a network's delay before each request (`LatencyProxy`): moto answers one request at
//!   a time and well within a round trip, so alone it hides how many of a path's requests are
//!   made one after another.
//!
//! Run: `cargo bench --bench command_costs` (release build; prints Markdown tables).
//! Results are recorded in `docs/benchmarks.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use serde_json::{Value, json};
use taskpulse_aws::capacity::{item_size, transactional_write_units, write_units};
use taskpulse_aws::keys;
use taskpulse_devstack::{LatencyProxy, Stack, TASKS_TABLE, sdk_config_for};
use taskpulse_domain::TaskId;
use taskpulse_testkit::{ApiClient, AwsPipeline, Call, percentile, pipeline_on_moto, read_item};

const LATENCY_ROUNDS: usize = 100;
/// What the delayed run adds before each request: about a round trip between a function and
/// DynamoDB or SQS in one region (single-digit milliseconds), rounded up so that it stands
/// out of moto's own time.
const NETWORK_DELAY: Duration = Duration::from_millis(10);
const DELAYED_ROUNDS: usize = 30;

const USER: &str = "bench-user";

/// The changes of a task's life after its creation, in order.
const CHANGES: [&str; 4] = [
    "change status",
    "change priority",
    "move planned date",
    "complete",
];

/// The request of the change `CHANGES[n]` to the task `id`.
fn change<'a>(client: &ApiClient<'a>, n: usize, id: &str) -> Call<'a> {
    match n {
        0 => client.change_status(USER, id, "in_progress"),
        1 => client.change_priority(USER, id, "critical"),
        2 => client.move_planned_date(USER, id, "2030-05-01T09:00:00Z"),
        _ => client.change_status(USER, id, "completed"),
    }
}

/// With the key when one is given.
fn keyed<'a>(call: Call<'a>, key: Option<&str>) -> Call<'a> {
    match key {
        Some(key) => call.idempotency_key(key),
        None => call,
    }
}

fn new_task() -> Value {
    json!({"title": "Prepare the quarterly report for the board", "description": "Numbers from finance, narrative from product.", "priority": "high", "plannedAccomplishDate": "2030-04-01T09:00:00Z"})
}

fn projected(
    item: &HashMap<String, AttributeValue>,
    keep: &[&str],
) -> HashMap<String, AttributeValue> {
    item.iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Write units of one command: the task write (with its outbox), the idempotency record, the
/// index entries it creates or changes, and the later write that clears the outbox.
struct Units {
    /// The task item as the command wrote it, with its outbox.
    item_bytes: usize,
    task_write: usize,
    idempotency: usize,
    by_user_index: usize,
    outbox_index: usize,
    clear_outbox: usize,
}

impl Units {
    fn total(&self) -> usize {
        self.task_write
            + self.idempotency
            + self.by_user_index
            + self.outbox_index
            + self.clear_outbox
    }
}

/// How a command with a key writes its task and its record.
#[derive(Clone, Copy)]
enum KeyedWrites {
    /// A create: the record, then the task, each a standard write.
    RecordThenTask,
    /// A change: both in one `TransactWriteItems`.
    Transaction,
}

async fn units_of(
    stack: &Stack,
    task_id: &str,
    with_key: Option<&str>,
    user: &str,
    keyed: KeyedWrites,
) -> Units {
    // The outbox is still on the item: this is exactly what the command's write put there.
    let task_id: TaskId = task_id.parse().expect("a task id");
    let item = read_item(stack, TASKS_TABLE, keys::task_key(task_id)).await;
    let size = item_size(&item);
    let index_keys = [
        keys::PK,
        keys::SK,
        keys::TASKS_BY_USER_PK,
        keys::TASKS_BY_USER_SK,
    ];
    let projection: Vec<&str> = index_keys
        .iter()
        .chain(keys::TASKS_BY_USER_PROJECTION)
        .copied()
        .collect();
    let by_user = write_units(item_size(&projected(&item, &projection)));
    let outbox = write_units(item_size(&projected(
        &item,
        &[keys::PK, keys::SK, keys::OUTBOX_PK, keys::OUTBOX_SK],
    )));
    let (task_write, idempotency) = match with_key {
        None => (write_units(size), 0),
        Some(key) => {
            let user = taskpulse_domain::UserId::parse(user).unwrap();
            let record = read_item(stack, TASKS_TABLE, keys::idempotency_key(&user, key)).await;
            let units = match keyed {
                KeyedWrites::RecordThenTask => write_units,
                KeyedWrites::Transaction => transactional_write_units,
            };
            (units(size), units(item_size(&record)))
        }
    };
    Units {
        item_bytes: size,
        task_write,
        idempotency,
        by_user_index: by_user,
        // Entering the outbox index now, leaving it when the outbox is cleared; nothing when
        // the write left the index to its outbox check.
        outbox_index: if item.contains_key(keys::OUTBOX_PK) {
            2 * outbox
        } else {
            0
        },
        // UpdateItem is billed on the larger of the item before and after: before, with outbox.
        clear_outbox: write_units(size),
    }
}

/// Read units of one listing page (`limit=20`, no filter) from the items it returns: as the
/// `byUser` index answers it today (its projection), and as it would be answered by an index
/// projecting only keys plus a `BatchGetItem` of the page's tasks (the projection under which
/// a change of a task writes nothing to the index). Eventually consistent reads: half a unit
/// per started 4 KB, per `Query` page summed, per `BatchGetItem` item rounded up on its own.
async fn listing_read_units(stack: &Stack, client: &ApiClient<'_>) {
    const READ_UNIT_BYTES: usize = 4096;
    let page = client.list_tasks(USER, "limit=20").await;
    assert_eq!(page.status, StatusCode::OK);
    let index_keys = [
        keys::PK,
        keys::SK,
        keys::TASKS_BY_USER_PK,
        keys::TASKS_BY_USER_SK,
    ];
    let projection: Vec<&str> = index_keys
        .iter()
        .chain(keys::TASKS_BY_USER_PROJECTION)
        .copied()
        .collect();
    let (mut projected_bytes, mut keys_bytes, mut items) = (0, 0, 0);
    let mut batch_get_units = 0.0;
    // The page and the one task more that says whether another page follows.
    for task in page.body["items"].as_array().unwrap() {
        let id: TaskId = task["id"].as_str().unwrap().parse().unwrap();
        let item = read_item(stack, TASKS_TABLE, keys::task_key(id)).await;
        projected_bytes += item_size(&projected(&item, &projection));
        keys_bytes += item_size(&projected(&item, &index_keys));
        batch_get_units += 0.5 * item_size(&item).div_ceil(READ_UNIT_BYTES) as f64;
        items += 1;
    }
    let query_units = |bytes: usize| 0.5 * bytes.div_ceil(READ_UNIT_BYTES) as f64;
    println!("\n## Read units of one listing page ({items} tasks, eventually consistent)\n");
    println!("| byUser projection | Query | BatchGetItem | total RCU |");
    println!("|---|---|---|---|");
    println!(
        "| the task's attributes (today) | {} | 0 | **{}** |",
        query_units(projected_bytes),
        query_units(projected_bytes)
    );
    println!(
        "| keys only | {} | {batch_get_units} | **{}** |",
        query_units(keys_bytes),
        query_units(keys_bytes) + batch_get_units
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let (stack, pipeline) = pipeline_on_moto().await;

    // --- Write units: an API whose events are refused keeps every outbox on its item. With its
    // outbox check sent (the usual case: SQS up) the write leaves the outbox index alone; with
    // SQS down the check cannot be sent either, and the write indexes its task.
    let store = pipeline.tasks();
    println!(
        "## Write units per command (DynamoDB pricing rules, counted from the written items)\n"
    );
    println!(
        "| command | Idempotency-Key | outbox check | task item bytes | task write | idempotency record | byUser index | outbox index (in + out) | clear outbox | total WCU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let paths = [
        ("sent", pipeline.publisher_refused_by_events_queue()),
        ("SQS down", pipeline.unreachable_publisher()),
    ];
    for ((path, publisher), with_key) in paths.iter().flat_map(|path| [(path, false), (path, true)])
    {
        let offline = pipeline.api_publishing_with(publisher.clone());
        let offline = ApiClient::new(&offline);
        let key = |n: usize| with_key.then(|| format!("bench-key-{}-{n}", path.replace(' ', "-")));
        let reply = keyed(offline.create_task(USER, &new_task()), key(0).as_deref()).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let mut rows = vec![(
            "create",
            units_of(
                &stack,
                &id,
                key(0).as_deref(),
                USER,
                KeyedWrites::RecordThenTask,
            )
            .await,
        )];
        taskpulse_app::MarkEventsPublished::mark_events_published(
            store,
            id.parse::<TaskId>().unwrap(),
            1,
        )
        .await
        .expect("outbox cleared");
        for (n, name) in CHANGES.into_iter().enumerate() {
            // A fresh item per command, so each row shows only its own outbox.
            let changed = keyed(change(&offline, n, &id), key(n + 1).as_deref()).await;
            assert_eq!(changed.status, StatusCode::OK, "{name}");
            rows.push((
                name,
                units_of(
                    &stack,
                    &id,
                    key(n + 1).as_deref(),
                    USER,
                    KeyedWrites::Transaction,
                )
                .await,
            ));
            let version = changed.body["version"].as_u64().unwrap();
            taskpulse_app::MarkEventsPublished::mark_events_published(
                store,
                id.parse::<TaskId>().unwrap(),
                version,
            )
            .await
            .expect("outbox cleared");
        }
        for (name, units) in rows {
            println!(
                "| {name} | {} | {path} | {} | {} | {} | {} | {} | {} | **{}** |",
                if with_key { "yes" } else { "no" },
                units.item_bytes,
                units.task_write,
                units.idempotency,
                units.by_user_index,
                units.outbox_index,
                units.clear_outbox,
                units.total()
            );
        }
    }

    // --- Latency through the real adapters, SQS reachable.
    let samples = latency(&pipeline.client(), LATENCY_ROUNDS).await;
    listing_read_units(&stack, &pipeline.client()).await;
    println!("\n## Handler latency against moto ({LATENCY_ROUNDS} of each, sequential)\n");
    print_latency(samples);

    // --- The same with a network's delay before every request reaches moto: what a path's
    // requests made one after another cost.
    let moto: SocketAddr = stack.moto.endpoint_url()["http://".len()..]
        .parse()
        .expect("moto listens on an address");
    let proxy = LatencyProxy::start(moto, NETWORK_DELAY)
        .await
        .expect("the latency proxy starts");
    let config = sdk_config_for(&proxy.url()).await;
    let delayed = AwsPipeline::new(&config, &stack.resources).expect("the pipeline is wired");
    let samples = latency(&delayed.client(), DELAYED_ROUNDS).await;
    println!(
        "\n## Handler latency with {} ms before each request reaches moto ({DELAYED_ROUNDS} of each, sequential)\n",
        NETWORK_DELAY.as_millis()
    );
    print_latency(samples);
}

/// Handler latency of each command over `rounds` task lives, one request at a time.
async fn latency(client: &ApiClient<'_>, rounds: usize) -> Vec<(&'static str, Vec<Duration>)> {
    let mut samples: Vec<(&str, Vec<Duration>)> = vec![
        ("create", vec![]),
        ("get", vec![]),
        ("list (limit 20)", vec![]),
        ("change status", vec![]),
        ("change priority", vec![]),
        ("move planned date", vec![]),
        ("complete", vec![]),
    ];
    for _ in 0..rounds {
        let started = Instant::now();
        let reply = client.create_task(USER, &new_task()).await;
        samples[0].1.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::CREATED);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        client.get_task(USER, &id).await;
        samples[1].1.push(started.elapsed());
        let started = Instant::now();
        client.list_tasks(USER, "").await;
        samples[2].1.push(started.elapsed());
        for n in 0..CHANGES.len() {
            let started = Instant::now();
            let reply = change(client, n, &id).await;
            samples[3 + n].1.push(started.elapsed());
            assert_eq!(reply.status, StatusCode::OK);
        }
    }
    samples
}

fn print_latency(samples: Vec<(&str, Vec<Duration>)>) {
    println!("| command | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for (name, mut durations) in samples {
        durations.sort();
        println!(
            "| {name} | {} | {} |",
            ms(percentile(&durations, 50.0)),
            ms(percentile(&durations, 99.0))
        );
    }
}
