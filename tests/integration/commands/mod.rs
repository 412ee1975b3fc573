//! The task command API against moto: every route through the DynamoDB and SQS adapters,
//! concurrent commands on one task, and the outbox when SQS is unreachable. Commands retried,
//! raced or resumed, and items in the earlier layout, are in `idempotency`; the outbox checks
//! in `outbox_checks`.

mod idempotency;
mod outbox_checks;
mod settings;
mod unreachable;

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::{Value, json};
use taskpulse_app::LoadTask;
use taskpulse_aws::keys;
use taskpulse_devstack::TASKS_TABLE;
use taskpulse_domain::{EventEnvelope, TaskEvent, TaskId};
use taskpulse_lambda::relay::relay_outbox;
use taskpulse_testkit::{ApiClient, AwsPipeline, pipeline_on_moto, read_item, write_item};

fn new_task(title: &str) -> Value {
    json!({"title": title, "priority": "low", "plannedAccomplishDate": "2030-03-01T12:00:00Z"})
}

async fn create(client: &ApiClient<'_>, user: &str, title: &str) -> String {
    let reply = client.create_task(user, &new_task(title)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// The body of every message on the events queue, until it is empty: what a relay sent, to
/// compare byte for byte with what was committed.
async fn bodies_on_queue(pipeline: &AwsPipeline) -> BTreeSet<String> {
    let messages = pipeline.drain().await.unwrap();
    messages
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect()
}

/// Every message on the events queue, parsed, until it is empty.
async fn drain_queue(pipeline: &AwsPipeline) -> Vec<EventEnvelope> {
    let messages = pipeline.drain().await.unwrap();
    messages
        .iter()
        .map(|message| EventEnvelope::from_json(message.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_route_works_through_dynamodb_and_sqs() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let id = create(&client, "ada", "Write the spec").await;

    let reply = client.get_task("ada", &id).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["title"], "Write the spec");
    assert_eq!(reply.headers["etag"], "\"1\"");
    assert_eq!(
        client.get_task("bob", &id).await.status,
        StatusCode::NOT_FOUND
    );

    let reply = client.change_status("ada", &id, "in_progress").await;
    assert_eq!(
        (reply.status, reply.body["version"].clone()),
        (StatusCode::OK, json!(2))
    );
    let reply = client.change_priority("ada", &id, "critical").await;
    assert_eq!(reply.body["priority"], "critical");
    let reply = client
        .move_planned_date("ada", &id, "2030-04-01T12:00:00Z")
        .await;
    assert_eq!(reply.body["version"], 4);
    let reply = client
        .move_planned_date("ada", &id, "2030-02-01T12:00:00Z")
        .await;
    assert_eq!(reply.body["version"], 5);

    // Changing another user's task: 404, and nothing written.
    let reply = client.change_priority("bob", &id, "low").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // If-Match: a stale version is refused, the current one accepted.
    let stale = client.change_status("ada", &id, "on_hold").if_match(2);
    assert_eq!(stale.await.status, StatusCode::PRECONDITION_FAILED);
    let reply = client
        .change_status("ada", &id, "completed")
        .if_match(5)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["version"], 7);
    assert!(reply.body["actualAccomplishDate"].is_string());

    // Completed is terminal.
    let reply = client.change_priority("ada", &id, "low").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);

    // The queue holds exactly the seven events, in sequence, with their documented data.
    let mut events = drain_queue(&pipeline).await;
    events.sort_by_key(|e| e.sequence);
    let types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        [
            "TaskCreated",
            "TaskStatusChanged",
            "TaskPriorityChanged",
            "TaskDelayed",
            "TaskRescheduled",
            "TaskStatusChanged",
            "TaskCompleted"
        ]
    );
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let TaskEvent::Completed(done) = &events[6].event else {
        panic!("the last event is TaskCompleted");
    };
    assert!(done.on_time, "completed before the planned date");
    let TaskEvent::Delayed(delay) = &events[3].event else {
        panic!("the fourth event is TaskDelayed");
    };
    assert_eq!(delay.delay_seconds, 31 * 86_400);
}

#[tokio::test]
async fn listing_reads_the_user_index_newest_first_with_a_cursor() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let mut ids = vec![];
    for n in 0..5 {
        ids.push(create(&client, "lin", &format!("task {n}")).await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    create(&client, "other", "not lin's").await;
    client.change_status("lin", &ids[3], "on_hold").await;
    client.change_status("lin", &ids[0], "on_hold").await;

    let mut seen = vec![];
    let mut query = "limit=2".to_owned();
    for _ in 0..5 {
        let reply = client.list_tasks("lin", &query).await;
        assert_eq!(reply.status, StatusCode::OK);
        seen.extend(
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        match reply.body["nextCursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let reply = client.list_tasks("lin", "status=on_hold&limit=1").await;
    assert_eq!(reply.body["items"][0]["id"], ids[3].as_str());
    let cursor = reply.body["nextCursor"].as_str().unwrap().to_owned();
    let reply = client
        .list_tasks("lin", &format!("status=on_hold&limit=1&cursor={cursor}"))
        .await;
    assert_eq!(reply.body["items"][0]["id"], ids[0].as_str());
    assert!(reply.body["nextCursor"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_status_changes_lose_no_update_and_emit_no_stale_event() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let id = create(&client, "con", "contended").await;
    const N: usize = 8;
    let statuses = ["in_progress", "on_hold"];
    let requests = (0..N).map(|n| client.change_status("con", &id, statuses[n % 2]).send());
    let replies = futures_util::future::join_all(requests).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    let stored = pipeline
        .tasks()
        .load_task(id.parse::<TaskId>().unwrap())
        .await
        .unwrap()
        .unwrap();
    // An outbox entry may be re-sent by the next writer before it is cleared; that is allowed
    // (the consumer deduplicates on eventId) and is the same event, so count distinct events.
    let mut by_id = std::collections::BTreeMap::new();
    for event in drain_queue(&pipeline).await {
        by_id.insert(event.event_id, event);
    }
    let mut events: Vec<EventEnvelope> = by_id.into_values().collect();
    events.sort_by_key(|e| e.sequence);
    // Exactly one event per version: no gaps, no two different events for one version.
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=stored.task.version).collect::<Vec<_>>());
    // Every change starts from the state the previous one left: none was decided on stale state.
    let changes: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            TaskEvent::StatusChanged(change) => Some((change.from, change.to)),
            _ => None,
        })
        .collect();
    for pair in changes.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "status chain broken: {changes:?}");
    }
    assert_eq!(
        changes.first().map(|c| c.0),
        Some(taskpulse_domain::TaskStatus::New)
    );
    assert_eq!(changes.last().map(|c| c.1), Some(stored.task.status()));
    // Each reply saw a distinct version or a no-op on an existing one; none is above the final.
    let versions: Vec<u64> = replies
        .iter()
        .map(|r| r.body["version"].as_u64().unwrap())
        .collect();
    assert!(
        versions.iter().all(|v| *v <= stored.task.version),
        "{versions:?}"
    );
    assert_eq!(stored.task.status_history.len(), changes.len() + 1);
}

#[tokio::test]
async fn with_sqs_unreachable_commands_succeed_and_the_relay_publishes_every_event_as_committed() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let offline = pipeline.api_publishing_with(pipeline.unreachable_publisher());
    let offline = ApiClient::new(&offline);

    // 50 commands: 25 creates, each followed by a status change.
    let mut ids = vec![];
    for n in 0..25 {
        let id = create(&offline, "off", &format!("offline {n}")).await;
        let reply = offline.change_status("off", &id, "in_progress").await;
        assert_eq!(reply.status, StatusCode::OK);
        ids.push(id.parse::<TaskId>().unwrap());
    }
    assert!(
        drain_queue(&pipeline).await.is_empty(),
        "nothing reached the queue"
    );

    // What was committed: two pending events per task.
    let mut committed = BTreeSet::new();
    for id in &ids {
        let stored = store.load_task(*id).await.unwrap().unwrap();
        assert_eq!(stored.pending_events.len(), 2);
        committed.extend(stored.pending_events.into_iter().map(|p| p.body));
    }
    assert_eq!(committed.len(), 50);

    // SQS is back: one relay run publishes every pending event, byte for byte.
    let publisher = pipeline.publisher();
    let report = relay_outbox(store, &publisher, chrono::TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!(
        (report.tasks, report.events_published, report.tasks_failed),
        (25, 50, 0)
    );
    let on_queue = bodies_on_queue(&pipeline).await;
    assert_eq!(on_queue, committed);
    for id in &ids {
        assert!(
            store
                .load_task(*id)
                .await
                .unwrap()
                .unwrap()
                .pending_events
                .is_empty()
        );
    }
    // Nothing is left for a second run.
    let again = relay_outbox(store, &publisher, chrono::TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!(again.events_published, 0);
}

#[tokio::test]
async fn the_relay_goes_on_past_a_task_item_it_cannot_read() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let offline = pipeline.api_publishing_with(pipeline.unreachable_publisher());
    let offline = ApiClient::new(&offline);
    let mut ids = vec![];
    for n in 0..3 {
        let id = create(&offline, "off", &format!("offline {n}")).await;
        ids.push(id.parse::<TaskId>().unwrap());
    }
    let mut readable = BTreeSet::new();
    for id in &ids[1..] {
        let stored = store.load_task(*id).await.unwrap().unwrap();
        readable.extend(stored.pending_events.into_iter().map(|p| p.body));
    }
    // The oldest task's item loses its version, as a hand edit might leave it: the adapter
    // refuses to read it, and it stays in the outbox index.
    let mut broken = read_item(&stack, TASKS_TABLE, keys::task_key(ids[0])).await;
    assert!(broken.remove(keys::VERSION).is_some());
    assert!(broken.contains_key(keys::OUTBOX_PK));
    write_item(&stack, TASKS_TABLE, broken).await;
    assert!(store.load_task(ids[0]).await.is_err());

    let report = relay_outbox(store, &pipeline.publisher(), chrono::TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!(
        (
            report.tasks,
            report.events_published,
            report.tasks_failed,
            report.tasks_unreadable
        ),
        (2, 2, 0, 1)
    );
    let on_queue = bodies_on_queue(&pipeline).await;
    assert_eq!(on_queue, readable);
    let left = read_item(&stack, TASKS_TABLE, keys::task_key(ids[0])).await;
    assert!(
        left.contains_key(keys::OUTBOX_PK),
        "still listed for a later run"
    );
}
