//! Commands retried, raced or resumed: idempotency keys replayed through the transaction and
//! raced on one create, a create completed by its retry after stopping between its writes, and
//! items in the layout the release before wrote (pending events, idempotency records) still
//! read, replayed and relayed as committed.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use serde_json::json;
use taskpulse_app::LoadTask;
use taskpulse_aws::keys;
use taskpulse_devstack::TASKS_TABLE;
use taskpulse_domain::{TaskId, UserId};
use taskpulse_lambda::relay::relay_outbox;
use taskpulse_testkit::{ApiClient, delete_item, pipeline_on_moto, read_item, write_item};

use super::{bodies_on_queue, create, drain_queue, new_task};

#[tokio::test]
async fn idempotency_keys_replay_through_the_transaction() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let create_once = |title: &str| {
        client
            .create_task("ida", &new_task(title))
            .idempotency_key("create-1")
    };
    let first = create_once("once").await;
    let again = create_once("once").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let reused = create_once("other").await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    let id = first.body["id"].as_str().unwrap();
    let change = || {
        client
            .change_priority("ida", id, "high")
            .idempotency_key("prio-1")
    };
    let changed = change().await;
    let replayed = change().await;
    assert_eq!(
        (changed.status, replayed.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(replayed.body, changed.body);
    assert_eq!(changed.body["version"], 2);

    let events = drain_queue(&pipeline).await;
    assert_eq!(
        events.len(),
        2,
        "one TaskCreated and one TaskPriorityChanged, no repeats"
    );
}

/// The pending events of a task item as the release before wrote them: each whole under
/// `body`, and the outbox sort key ending in the task id.
fn in_the_earlier_layout(
    item: &mut HashMap<String, AttributeValue>,
    id: TaskId,
    pending: &[taskpulse_app::PendingEvent],
) {
    let whole = pending
        .iter()
        .map(|p| {
            AttributeValue::M(HashMap::from([
                ("eventId".into(), AttributeValue::S(p.event_id.to_string())),
                ("eventType".into(), AttributeValue::S(p.event_type.clone())),
                (keys::PENDING_BODY.into(), AttributeValue::S(p.body.clone())),
                (
                    "committedAt".into(),
                    AttributeValue::S(keys::sortable_time(p.committed_at)),
                ),
            ]))
        })
        .collect();
    item.insert(keys::PENDING_EVENTS.into(), AttributeValue::L(whole));
    let oldest = pending.iter().map(|p| p.committed_at).min().unwrap();
    item.insert(
        keys::OUTBOX_SK.into(),
        AttributeValue::S(format!("{}#{id}", keys::sortable_time(oldest))),
    );
}

/// The pending entries of a stored task item, as attribute maps.
fn pending_entries(item: &HashMap<String, AttributeValue>) -> Vec<HashMap<String, AttributeValue>> {
    item[keys::PENDING_EVENTS]
        .as_l()
        .unwrap()
        .iter()
        .map(|entry| entry.as_m().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn tasks_left_pending_in_the_earlier_layout_are_relayed_as_committed() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let offline = pipeline.api_publishing_with(pipeline.unreachable_publisher());
    let offline = ApiClient::new(&offline);

    // Three tasks whose events SQS never took: one stays in the new layout, two are rewritten
    // as the release before left them, and one of those gets another command afterwards.
    let mut ids = vec![];
    for n in 0..3 {
        let id = create(&offline, "old", &format!("left pending {n}")).await;
        let reply = offline.change_status("old", &id, "in_progress").await;
        assert_eq!(reply.status, StatusCode::OK);
        ids.push(id.parse::<TaskId>().unwrap());
    }
    let mut committed = BTreeSet::new();
    for (n, id) in ids.iter().enumerate() {
        let stored = store.load_task(*id).await.unwrap().unwrap();
        let mut item = read_item(&stack, TASKS_TABLE, keys::task_key(*id)).await;
        // Written detached: no envelope is stored whole.
        assert!(
            pending_entries(&item)
                .iter()
                .all(|entry| !entry.contains_key(keys::PENDING_BODY)
                    && entry.contains_key(keys::PENDING_DATA)),
            "{item:?}"
        );
        if n > 0 {
            in_the_earlier_layout(&mut item, *id, &stored.pending_events);
            write_item(&stack, TASKS_TABLE, item).await;
            let read = store.load_task(*id).await.unwrap().unwrap();
            assert_eq!(read, stored, "the earlier layout reads as the task it was");
        }
        committed.extend(stored.pending_events.into_iter().map(|p| p.body));
    }
    // A command on a task in the earlier layout keeps its pending envelopes byte for byte.
    let reply = offline
        .change_priority("old", &ids[2].to_string(), "high")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let stored = store.load_task(ids[2]).await.unwrap().unwrap();
    assert_eq!(stored.pending_events.len(), 3);
    committed.extend(stored.pending_events.iter().map(|p| p.body.clone()));
    assert_eq!(committed.len(), 7);

    let publisher = pipeline.publisher();
    let report = relay_outbox(store, &publisher, chrono::TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!(
        (report.tasks, report.events_published, report.tasks_failed),
        (3, 7, 0)
    );
    let on_queue = bodies_on_queue(&pipeline).await;
    assert_eq!(on_queue, committed);
    for id in &ids {
        let item = read_item(&stack, TASKS_TABLE, keys::task_key(*id)).await;
        for name in [keys::PENDING_EVENTS, keys::OUTBOX_PK, keys::OUTBOX_SK] {
            assert!(!item.contains_key(name), "{name} cleared");
        }
    }
}

#[tokio::test]
async fn idempotency_records_written_with_their_text_before_still_replay() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let task = json!({"title": "kept whole", "description": "a record of the earlier layout", "priority": "low", "plannedAccomplishDate": "2030-03-01T12:00:00Z"});
    let created = client.create_task("idold", &task).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let change = || {
        client
            .change_priority("idold", &id, "high")
            .idempotency_key("old-1")
    };
    let first = change().await;
    assert_eq!(first.status, StatusCode::OK);
    let key = keys::idempotency_key(&UserId::parse("idold").unwrap(), "old-1");
    let mut record = read_item(&stack, TASKS_TABLE, key).await;
    let AttributeValue::M(answer) = record.get_mut(keys::IDEMPOTENCY_ANSWER).unwrap() else {
        panic!("the answer is a map");
    };
    assert!(
        keys::TASK_TEXT
            .iter()
            .all(|name| !answer.contains_key(*name)),
        "a change's record is written without the text: {answer:?}"
    );
    // As the release before wrote it: the answer with its text.
    answer.insert("title".into(), AttributeValue::S("kept whole".into()));
    answer.insert(
        "description".into(),
        AttributeValue::S("a record of the earlier layout".into()),
    );
    write_item(&stack, TASKS_TABLE, record).await;

    let again = change().await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    let reused = client
        .change_priority("idold", &id, "low")
        .idempotency_key("old-1")
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_create_whose_record_was_written_but_not_its_task_is_completed_by_the_retry() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let create = || {
        client
            .create_task("idstop", &new_task("stopped between its writes"))
            .idempotency_key("stop-1")
    };
    let first = create().await;
    assert_eq!(first.status, StatusCode::CREATED);
    let sent = drain_queue(&pipeline).await;
    assert_eq!(sent.len(), 1);
    // What a create that stopped after its record leaves: the record, and no task.
    let id: TaskId = first.body["id"].as_str().unwrap().parse().unwrap();
    delete_item(&stack, TASKS_TABLE, keys::task_key(id)).await;

    let retry = create().await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.body, first.body);
    let stored = pipeline.tasks().load_task(id).await.unwrap().unwrap();
    assert_eq!(stored.task.version, 1);
    assert!(stored.pending_events.is_empty(), "sent and cleared");
    let resent = drain_queue(&pipeline).await;
    assert_eq!(resent, sent, "the same event, decided once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_key_make_one_task_and_one_event() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let attempt = || {
        client
            .create_task("idrace", &new_task("raced"))
            .idempotency_key("race-1")
    };
    let (a, b, c, d) = tokio::join!(attempt(), attempt(), attempt(), attempt());
    let replies = [a, b, c, d];
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body, replies[0].body);
    }
    let listed = client.list_tasks("idrace", "").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let events = drain_queue(&pipeline).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].task_id.to_string(), replies[0].body["id"]);
}
