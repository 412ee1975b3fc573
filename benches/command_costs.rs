//! Cost and latency of the task commands, measured against moto:
//!
//! - DynamoDB write units per command, counted from the items actually written (moto reports
//!   no consumed capacity for transactions, so the units are computed from item sizes with
//!   DynamoDB's billing rules, including the writes to both secondary indexes);
//! - handler latency per command (p50/p99), API handler -> DynamoDB -> SQS on moto.
//!
//! Run: `cargo bench --bench command_costs` (release build; prints Markdown tables).
//! Results are recorded in `docs/benchmarks.md`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::config::retry::RetryConfig;
use serde_json::{Value, json};
use taskpulse_app::TaskCommands;
use taskpulse_aws::capacity::{item_size, transactional_write_units, write_units};
use taskpulse_aws::{DynamoTaskStore, SqsEventPublisher, keys};
use taskpulse_devstack::Stack;
use taskpulse_domain::TaskId;
use taskpulse_lambda::api::Api;
use taskpulse_lambda::apigw::HttpApiEvent;
use taskpulse_testkit::AwsApi;

const LATENCY_ROUNDS: usize = 100;

async fn send(api: &AwsApi, event: HttpApiEvent) -> (u16, Value) {
    let response = api.handle(event.to_request()).await;
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

fn command(path: &str, body: Value, key: Option<&str>) -> HttpApiEvent {
    let event = HttpApiEvent::new("POST", path)
        .caller("bench-user")
        .json(&body);
    match key {
        Some(key) => event.header("idempotency-key", key),
        None => event,
    }
}

/// The five commands of a task's life, in order: (name, path, body).
fn lifecycle(id: &str) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "change status",
            format!("/tasks/{id}/status"),
            json!({"status": "in_progress"}),
        ),
        (
            "change priority",
            format!("/tasks/{id}/priority"),
            json!({"priority": "critical"}),
        ),
        (
            "move planned date",
            format!("/tasks/{id}/planned-date"),
            json!({"plannedAccomplishDate": "2030-05-01T09:00:00Z"}),
        ),
        (
            "complete",
            format!("/tasks/{id}/status"),
            json!({"status": "completed"}),
        ),
    ]
}

fn new_task() -> Value {
    json!({"title": "Prepare the quarterly report for the board", "description": "Numbers from finance, narrative from product.", "priority": "high", "plannedAccomplishDate": "2030-04-01T09:00:00Z"})
}

async fn raw_item(stack: &Stack, key: (String, String)) -> HashMap<String, AttributeValue> {
    aws_sdk_dynamodb::Client::new(&stack.config)
        .get_item()
        .table_name(
            stack
                .resources
                .table(taskpulse_devstack::TASKS_TABLE)
                .unwrap(),
        )
        .set_key(Some(keys::key_attributes(key)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
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

async fn units_of(stack: &Stack, task_id: &str, with_key: Option<&str>, user: &str) -> Units {
    // The outbox is still on the item: this is exactly what the command's write put there.
    let task_id: TaskId = task_id.parse().expect("a task id");
    let item = raw_item(stack, keys::task_key(task_id)).await;
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
            let record = raw_item(
                stack,
                keys::idempotency_key(&taskpulse_domain::UserId::parse(user).unwrap(), key),
            )
            .await;
            (
                transactional_write_units(size),
                transactional_write_units(item_size(&record)),
            )
        }
    };
    Units {
        task_write,
        idempotency,
        by_user_index: by_user,
        // Entering the outbox index now, leaving it when the outbox is cleared.
        outbox_index: 2 * outbox,
        // UpdateItem is billed on the larger of the item before and after: before, with outbox.
        clear_outbox: write_units(size),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let stack = Stack::start().await.expect("moto stack");
    let pipeline = taskpulse_testkit::AwsPipeline::new(&stack.config, &stack.resources).unwrap();

    // --- Write units: an API whose queue is unreachable keeps every outbox on its item.
    let store = DynamoTaskStore::new(
        aws_sdk_dynamodb::Client::new(&stack.config),
        stack
            .resources
            .table(taskpulse_devstack::TASKS_TABLE)
            .unwrap(),
    );
    println!(
        "## Write units per command (DynamoDB pricing rules, counted from the written items)\n"
    );
    println!(
        "| command | Idempotency-Key | task write | idempotency record | byUser index | outbox index (in + out) | clear outbox | total WCU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for with_key in [false, true] {
        let offline_sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&stack.config)
                .endpoint_url("http://127.0.0.1:9")
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        let offline: AwsApi = Api::new(
            TaskCommands::new(
                store.clone(),
                SqsEventPublisher::new(offline_sqs, &pipeline.queue.url),
            ),
            pipeline.analytics.clone(),
        );
        let user = "bench-user";
        let key = |n: usize| with_key.then(|| format!("bench-key-{n}"));
        let (status, task) = send(&offline, command("/tasks", new_task(), key(0).as_deref())).await;
        assert_eq!(status, 201);
        let id = task["id"].as_str().unwrap().to_owned();
        let mut rows = vec![(
            "create",
            units_of(&stack, &id, key(0).as_deref(), user).await,
        )];
        taskpulse_app::MarkEventsPublished::mark_events_published(
            &store,
            id.parse::<TaskId>().unwrap(),
            1,
        )
        .await
        .expect("outbox cleared");
        for (n, (name, path, body)) in lifecycle(&id).into_iter().enumerate() {
            // A fresh item per command, so each row shows only its own outbox.
            let (status, changed) =
                send(&offline, command(&path, body, key(n + 1).as_deref())).await;
            assert_eq!(status, 200, "{name}");
            rows.push((
                name,
                units_of(&stack, &id, key(n + 1).as_deref(), user).await,
            ));
            let version = changed["version"].as_u64().unwrap();
            taskpulse_app::MarkEventsPublished::mark_events_published(
                &store,
                id.parse::<TaskId>().unwrap(),
                version,
            )
            .await
            .expect("outbox cleared");
        }
        for (name, units) in rows {
            println!(
                "| {name} | {} | {} | {} | {} | {} | {} | **{}** |",
                if with_key { "yes" } else { "no" },
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
    let api = &pipeline.api;
    let mut samples: Vec<(&str, Vec<Duration>)> = vec![
        ("create", vec![]),
        ("get", vec![]),
        ("list (limit 20)", vec![]),
        ("change status", vec![]),
        ("change priority", vec![]),
        ("move planned date", vec![]),
        ("complete", vec![]),
    ];
    for _ in 0..LATENCY_ROUNDS {
        let started = Instant::now();
        let (status, task) = send(api, command("/tasks", new_task(), None)).await;
        samples[0].1.push(started.elapsed());
        assert_eq!(status, 201);
        let id = task["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        send(
            api,
            HttpApiEvent::new("GET", &format!("/tasks/{id}")).caller("bench-user"),
        )
        .await;
        samples[1].1.push(started.elapsed());
        let started = Instant::now();
        send(api, HttpApiEvent::new("GET", "/tasks").caller("bench-user")).await;
        samples[2].1.push(started.elapsed());
        for (n, (_, path, body)) in lifecycle(&id).into_iter().enumerate() {
            let started = Instant::now();
            let (status, _) = send(api, command(&path, body, None)).await;
            samples[3 + n].1.push(started.elapsed());
            assert_eq!(status, 200);
        }
    }
    println!("\n## Handler latency against moto ({LATENCY_ROUNDS} of each, sequential)\n");
    println!("| command | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for (name, mut durations) in samples {
        durations.sort();
        println!(
            "| {name} | {} | {} |",
            ms(percentile(&durations, 0.5)),
            ms(percentile(&durations, 0.99))
        );
    }
}
