//! Erasing a user against moto: tasks made through the API (with idempotency keys, and with an
//! event left in its outbox while SQS was down; pages' worth of each), counted by the consumer in two projection
//! versions, then erased by `taskpulse_app::erasure`. A full scan of both tables finds the
//! user's id nowhere, the other user's items untouched, the global counters unmoved and the
//! user's former counters under the pseudonym. The erasure record's conditions, and idempotency
//! records written in the earlier key layout, are in `records`.

mod lambda_path;
mod local_stack;
mod records;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeDelta, Utc};
use http::StatusCode;
use serde_json::json;
use taskpulse_app::erasure::{
    Advance, ERASURE_PAGE, Eraser, request_erasure, route_late_events, run_inline,
};
use taskpulse_app::memory::MemoryArchiveDays;
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::{LoadErasures, SaveProjectionConfig};
use taskpulse_aws::keys;
use taskpulse_devstack::{ANALYTICS_TABLE, Stack, TASKS_TABLE};
use taskpulse_domain::analytics::Projection;
use taskpulse_domain::erasure::Erasure;
use taskpulse_domain::{EventEnvelope, UserId};
use taskpulse_testkit::{ApiClient, AwsPipeline, pipeline_on_moto, sqs_event, sqs_record};

/// The user erased. No character of it but `-` and `e` is a hex digit, so no digest, event id
/// or task id can spell it by chance.
const ERASED: &str = "zoe-to-erase";
/// The user kept.
const KEPT: &str = "max-to-keep";

type Item = HashMap<String, AttributeValue>;

fn user(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

pub(super) fn new_task(title: &str) -> serde_json::Value {
    json!({"title": title, "priority": "low", "plannedAccomplishDate": "2030-03-01T12:00:00Z"})
}

/// Every item of the template's table `table`, by (pk, sk), from a full scan.
async fn scan_table(stack: &Stack, table: &str) -> BTreeMap<(String, String), Item> {
    let client = aws_sdk_dynamodb::Client::new(&stack.config);
    let name = stack.resources.table(table).unwrap();
    let mut items = BTreeMap::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(name)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("Scan of {table}: {e}"));
        for item in output.items.unwrap_or_default() {
            let text = |name: &str| item[name].as_s().unwrap().clone();
            items.insert((text(keys::PK), text(keys::SK)), item);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Everything an attribute value says, names of nested attributes included, as text.
fn spell(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => out.push_str(&String::from_utf8_lossy(b.as_ref())),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
            set.iter().for_each(|s| out.push_str(s))
        }
        AttributeValue::Bs(set) => set
            .iter()
            .for_each(|b| out.push_str(&String::from_utf8_lossy(b.as_ref()))),
        AttributeValue::L(list) => list.iter().for_each(|v| spell(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(name, v)| {
            out.push_str(name);
            spell(v, out);
        }),
        other => out.push_str(&format!("{other:?}")),
    }
    out.push('\u{1f}');
}

/// Whether `needle` appears anywhere in `item`: a key, an attribute name or a value.
fn mentions(item: &Item, needle: &str) -> bool {
    let mut text = String::new();
    for (name, value) in item {
        text.push_str(name);
        spell(value, &mut text);
    }
    text.contains(needle)
}

/// The items of `table` that mention `needle`.
fn mentioning<'a>(
    table: &'a BTreeMap<(String, String), Item>,
    needle: &str,
) -> BTreeMap<&'a (String, String), &'a Item> {
    table
        .iter()
        .filter(|(_, item)| mentions(item, needle))
        .collect()
}

/// Every object of the event archive, as text.
pub(super) async fn archive_texts(pipeline: &AwsPipeline) -> Vec<String> {
    use taskpulse_app::ReadArchive;
    let mut texts = vec![];
    for day in pipeline.archive.archive_days().await.unwrap() {
        for key in pipeline.archive.archive_objects(day).await.unwrap() {
            let bytes = pipeline.archive.read_archive_object(&key).await.unwrap();
            texts.push(String::from_utf8(bytes).unwrap());
        }
    }
    texts
}

/// Hands every message on the events queue to the consumer; answers how many events counted.
pub(super) async fn count_queued_events(pipeline: &AwsPipeline) -> usize {
    let messages = pipeline.drain().await.unwrap();
    let (response, summary) = pipeline.consume(pipeline.delivery_of(&messages)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    summary.applied
}

/// The erasure of `who` run to its end on the pipeline's stores, with no settle time, each
/// archive day rewritten as soon as it is handed out (the day messages on SQS are
/// `lambda_path`'s).
async fn erase(pipeline: &AwsPipeline, who: &UserId) -> Erasure {
    request_erasure(pipeline.tasks(), who, Utc::now())
        .await
        .unwrap();
    let publisher = pipeline.publisher();
    let eraser = Eraser {
        tasks: pipeline.tasks(),
        publisher: &publisher,
        analytics: &pipeline.analytics,
        archive: &pipeline.archive,
        days: &MemoryArchiveDays::default(),
        settle: TimeDelta::zero(),
    };
    match run_inline(&eraser, who).await.unwrap() {
        Advance::Complete(erasure) => erasure,
        other => panic!("the erasure did not complete: {other:?}"),
    }
}

/// `ERASED` with three tasks (one created with a key, one changed with a key, one whose event
/// SQS never took) and `KEPT` with two (one keyed); every published event counted in the
/// active version and in a version being built.
async fn two_users_with_tasks_and_counters(pipeline: &AwsPipeline) {
    let building = ProjectionConfig::initial()
        .start_building(Projection::TasksByPriority, Utc::now())
        .unwrap();
    pipeline
        .analytics
        .save_projection_config(&building)
        .await
        .unwrap();
    let client = pipeline.client();
    let created = |who: &'static str, title: &'static str, key: Option<&'static str>| {
        let call = client.create_task(who, &new_task(title));
        async move {
            let reply = match key {
                Some(key) => call.idempotency_key(key).await,
                None => call.await,
            };
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    let keyed = created(ERASED, "keyed create", Some("create-1")).await;
    let changed = client
        .change_priority(ERASED, &keyed, "high")
        .idempotency_key("change-1")
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    let plain = created(ERASED, "plain", None).await;
    let reply = client.change_status(ERASED, &plain, "in_progress").await;
    assert_eq!(reply.status, StatusCode::OK);
    // Enough more for several pages of every step, and overflow markers past the 32 events a
    // day item holds.
    for n in 0..BULK {
        let call = client.create_task(ERASED, &new_task("bulk"));
        let reply = call.idempotency_key(&format!("bulk-{n}")).await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    created(KEPT, "kept keyed", Some("create-1")).await;
    created(KEPT, "kept plain", None).await;

    let offline = pipeline.api_publishing_with(pipeline.unreachable_publisher());
    let reply = ApiClient::new(&offline)
        .create_task(ERASED, &new_task("left pending"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let applied = count_queued_events(pipeline).await;
    assert_eq!(applied, 6 + BULK, "every published event counted");
}

/// Tasks `ERASED` creates with a key besides the three of `two_users_with_tasks_and_counters`.
const BULK: usize = 40;

#[tokio::test]
async fn an_erased_user_leaves_no_trace_under_their_id_and_every_total_stays() {
    let (stack, pipeline) = pipeline_on_moto().await;
    two_users_with_tasks_and_counters(&pipeline).await;
    let tasks_before = scan_table(&stack, TASKS_TABLE).await;
    let analytics_before = scan_table(&stack, ANALYTICS_TABLE).await;
    // Tasks and their index keys, the records of their keys, and the counters of both
    // versions with overflow markers: the user is all over both tables, in more items than a
    // page of any step.
    assert_eq!(mentioning(&tasks_before, ERASED).len(), 3 + BULK + 2 + BULK);
    let erased_counters = mentioning(&analytics_before, ERASED);
    let markers = erased_counters
        .keys()
        .filter(|(_, sk)| sk.starts_with("APPLIED#"))
        .count();
    assert!(markers >= 2 * 10, "{markers} overflow markers");
    assert!(erased_counters.len() > ERASURE_PAGE);
    let archived = archive_texts(&pipeline).await;
    assert!(archived.iter().any(|text| text.contains(ERASED)));

    let erasure = erase(&pipeline, &user(ERASED)).await;
    let progress = erasure.progress;
    assert_eq!(
        (
            progress.tasks_deleted,
            progress.pending_events_published,
            progress.idempotency_records_deleted,
            progress.counter_items_moved,
        ),
        (
            3 + BULK as u64,
            1,
            2 + BULK as u64,
            erased_counters.len() as u64
        )
    );

    // The archive: the same objects, the user's events under the pseudonym.
    let archived_after = archive_texts(&pipeline).await;
    assert_eq!(archived_after.len(), archived.len());
    assert!(progress.archive_objects_rewritten >= 1);
    assert!(archived_after.iter().all(|text| !text.contains(ERASED)));
    assert!(
        archived_after
            .iter()
            .any(|text| text.contains(erasure.pseudonym.as_str()))
    );
    assert!(archived_after.iter().any(|text| text.contains(KEPT)));

    let tasks_after = scan_table(&stack, TASKS_TABLE).await;
    let analytics_after = scan_table(&stack, ANALYTICS_TABLE).await;
    for (name, table) in [("tasks", &tasks_after), ("analytics", &analytics_after)] {
        let found = mentioning(table, ERASED);
        assert!(found.is_empty(), "{name} still mention the user: {found:?}");
    }
    // The tasks table: what did not mention the user, plus the erasure record and the marker
    // of the one archive day it rewrote.
    let mut expected_tasks: BTreeMap<(String, String), Item> = tasks_before
        .iter()
        .filter(|(_, item)| !mentions(item, ERASED))
        .map(|(key, item)| (key.clone(), item.clone()))
        .collect();
    assert!(!mentioning(&tasks_before, KEPT).is_empty());
    let record_partition = keys::erasure_partition(&user(ERASED));
    let erasure_items: Vec<_> = tasks_after
        .iter()
        .filter(|((pk, _), _)| *pk == record_partition)
        .collect();
    let sort_keys: Vec<&str> = erasure_items
        .iter()
        .map(|((_, sk), _)| sk.as_str())
        .collect();
    assert_eq!(sort_keys.len(), 2, "{sort_keys:?}");
    assert!(sort_keys.contains(&"ERASURE"), "{sort_keys:?}");
    assert!(
        sort_keys
            .iter()
            .any(|sk| keys::archive_day_of_marker(sk).is_some()),
        "{sort_keys:?}"
    );
    for (key, item) in erasure_items {
        expected_tasks.insert(key.clone(), item.clone());
    }
    assert_eq!(tasks_after, expected_tasks);

    // The analytics table: every item that was not the user's is as it was (the global
    // shards, the other user's, the configuration); the user's are under the pseudonym, with
    // every attribute (counters, applied events) as they were.
    let pseudonym = erasure.pseudonym.as_str();
    let mut expected_analytics = BTreeMap::new();
    for ((pk, sk), item) in &analytics_before {
        if !mentions(item, ERASED) {
            expected_analytics.insert((pk.clone(), sk.clone()), item.clone());
            continue;
        }
        let moved_pk = pk.replace(ERASED, pseudonym);
        assert_ne!(&moved_pk, pk);
        let mut moved = item.clone();
        moved.insert(keys::PK.into(), AttributeValue::S(moved_pk.clone()));
        expected_analytics.insert((moved_pk, sk.clone()), moved);
    }
    assert_eq!(analytics_after, expected_analytics);
    let globals = analytics_after
        .keys()
        .filter(|(pk, _)| pk.contains("GLOBAL#"))
        .count();
    assert!(globals >= 2, "global items of both versions: {globals}");

    // The event that waited in the outbox was published by the erasure: counted now, it goes
    // to the pseudonym, read through the erasure record.
    let messages = pipeline.drain().await.unwrap();
    assert_eq!(messages.len(), 1);
    let late: Vec<EventEnvelope> = messages
        .iter()
        .map(|m| EventEnvelope::from_json(m.body().unwrap()).unwrap())
        .collect();
    let routed = route_late_events(pipeline.tasks(), &late).await.unwrap();
    assert_eq!(routed.pseudonymised, 1);
    assert_eq!(routed.countable[0].user_id, erasure.pseudonym);
    // The consumer reads the erasure record itself: the message as published goes in.
    let records = vec![sqs_record("late-1", late[0].to_json())];
    let (response, summary) = pipeline.consume(sqs_event(records)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.applied, summary.of_erased_users), (1, 1));
    assert!(
        archive_texts(&pipeline)
            .await
            .iter()
            .all(|text| !text.contains(ERASED))
    );
    let counted = scan_table(&stack, ANALYTICS_TABLE).await;
    assert!(mentioning(&counted, ERASED).is_empty());
    assert_eq!(
        pipeline
            .tasks()
            .load_erasures(&[user(ERASED), user(KEPT)])
            .await
            .unwrap()
            .len(),
        1
    );
}
