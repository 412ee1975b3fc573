//! A busy user's day: a thousand events and more of one user on one UTC day, delivered with
//! redeliveries, counted exactly with no dead letter, the first 32 markers inline and the
//! rest as marker items; and day items of the layout before that cap (every marker inline)
//! still deduplicating.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::analytics::{InlineMarkers, MAX_INLINE_MARKERS, TransactionPlan, UserDayWrite};
use taskpulse_app::{ApplyTransaction, TransactionResult};
use taskpulse_aws::{DynamoAnalyticsStore, keys};
use taskpulse_domain::analytics::{ProjectionVersion, effect, merged_deltas};
use taskpulse_domain::{EventEnvelope, EventId, UserId};
use taskpulse_testkit::{
    AwsPipeline, HistoryShape, applied_events, overflow_markers, shuffle, sqs_event, sqs_record,
};

use super::{assert_matches, recount, user_report};

/// Delivers `bodies` in batches of `size`; returns (applied, duplicates) and asserts that no
/// record failed.
async fn deliver(
    pipeline: &AwsPipeline,
    store: &DynamoAnalyticsStore,
    bodies: &[String],
    size: usize,
    tag: &str,
) -> (usize, usize) {
    let mut total = (0, 0);
    for (b, batch) in bodies.chunks(size).enumerate() {
        let records = batch
            .iter()
            .enumerate()
            .map(|(i, body)| sqs_record(format!("{tag}-{b}-{i}"), body.clone()))
            .collect();
        let (response, summary) = pipeline.consume_with(store, sqs_event(records)).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "batch {b}: {:?}",
            response.batch_item_failures
        );
        total.0 += summary.applied;
        total.1 += summary.duplicates;
    }
    total
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

#[tokio::test]
async fn a_thousand_events_of_one_user_in_one_day_count_exactly_with_redeliveries() {
    let (stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    let shape = HistoryShape::busy_user_day(400);
    let history = shape.generate();
    let events = &history.events;
    assert!(events.len() >= 1_000, "{} events", events.len());
    assert!(
        events.iter().all(|e| e.occurred_at.date_naive() == day()),
        "one UTC day"
    );

    // Every event once, one in five twice, shuffled.
    let mut bodies: Vec<String> = events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| std::iter::repeat_n(e.to_json(), if i % 5 == 0 { 2 } else { 1 }))
        .collect();
    shuffle(&mut bodies, 0xB05E);
    let (applied, duplicates) = deliver(&pipeline, &pipeline.analytics, &bodies, 100, "a").await;
    assert_eq!(
        (applied, duplicates),
        (events.len(), bodies.len() - events.len())
    );

    // A consumer started afresh knows nothing of the full set: it learns it from the refusal,
    // and every event it is handed again is a duplicate, wherever its marker is.
    let table = stack
        .resources
        .table(taskpulse_devstack::ANALYTICS_TABLE)
        .unwrap();
    let fresh = DynamoAnalyticsStore::new(
        aws_sdk_dynamodb::Client::new(&stack.config),
        table,
        pipeline.limits.global_shards,
    );
    let again: Vec<String> = events.iter().step_by(7).map(|e| e.to_json()).collect();
    let (applied, duplicates) = deliver(&pipeline, &fresh, &again, 100, "b").await;
    assert_eq!((applied, duplicates), (0, again.len()));

    let user = shape.user(0);
    let report = user_report(&pipeline, &user).await;
    assert_matches(&report, &recount(&history, Some(&user)), &user);
    assert_eq!(
        applied_events(&stack, &user, day()).await.len(),
        MAX_INLINE_MARKERS
    );
    assert_eq!(
        overflow_markers(&stack, &user, day()).await,
        events.len() - MAX_INLINE_MARKERS
    );
}

/// A day item as the layout before the cap wrote it: the counters of `applied` and every one
/// of their ids in `appliedEvents`.
fn old_layout_item(user: &str, applied: &[EventEnvelope]) -> HashMap<String, AttributeValue> {
    let user = UserId::parse(user).unwrap();
    let mut item = keys::key_attributes(keys::user_day_key(ProjectionVersion::FIRST, &user, day()));
    let effects: Vec<_> = applied.iter().map(effect).collect();
    for (counter, value) in merged_deltas(&effects) {
        item.insert(
            counter.name().into_owned(),
            AttributeValue::N(value.to_string()),
        );
    }
    item.insert(
        keys::APPLIED_EVENTS.to_owned(),
        AttributeValue::Bs(
            applied
                .iter()
                .map(|e| Blob::new(e.event_id.as_uuid().as_bytes().to_vec()))
                .collect(),
        ),
    );
    item
}

#[tokio::test]
async fn a_day_item_with_every_marker_inline_still_deduplicates() {
    let (stack, pipeline) = taskpulse_testkit::pipeline_on_moto().await;
    let shape = HistoryShape::busy_user_day(40);
    let history = shape.generate();
    let events = &history.events;
    let user = shape.user(0);
    // The first 60 events were counted before the upgrade: 60 markers inline, past the cap.
    let (before, after) = events.split_at(60);
    assert!(before.len() > MAX_INLINE_MARKERS && !after.is_empty());
    aws_sdk_dynamodb::Client::new(&stack.config)
        .put_item()
        .table_name(
            stack
                .resources
                .table(taskpulse_devstack::ANALYTICS_TABLE)
                .unwrap(),
        )
        .set_item(Some(old_layout_item(&user, before)))
        .send()
        .await
        .unwrap();

    // Every event delivered, the old ones again among the new, by a consumer that knows
    // nothing of the item (batches of 25); then everything once more.
    let mut bodies: Vec<String> = events.iter().map(|e| e.to_json()).collect();
    shuffle(&mut bodies, 7);
    let (applied, duplicates) = deliver(&pipeline, &pipeline.analytics, &bodies, 25, "a").await;
    assert_eq!((applied, duplicates), (after.len(), before.len()));
    let (applied, duplicates) = deliver(&pipeline, &pipeline.analytics, &bodies, 100, "b").await;
    assert_eq!((applied, duplicates), (0, events.len()));

    let report = user_report(&pipeline, &user).await;
    assert_matches(&report, &recount(&history, Some(&user)), &user);
    assert_eq!(
        applied_events(&stack, &user, day()).await.len(),
        before.len()
    );
    assert_eq!(overflow_markers(&stack, &user, day()).await, after.len());

    // A write that adds no counter (deltas netting to zero) and only overflow markers checks
    // the day item's conditions without updating it: applied once, then a duplicate.
    let event = EventId::from_uuid(uuid::Uuid::from_u128(0xC0DE));
    let plan = TransactionPlan {
        version: ProjectionVersion::FIRST,
        users: vec![UserDayWrite {
            user: UserId::parse(&user).unwrap(),
            day: day(),
            deltas: Default::default(),
            events: vec![event],
            inline: 0,
            before: InlineMarkers::Full,
        }],
        globals: vec![],
        months: vec![],
    };
    let first = pipeline.analytics.apply_transaction(&plan).await.unwrap();
    assert!(
        matches!(first, TransactionResult::Committed { .. }),
        "{first:?}"
    );
    let again = pipeline.analytics.apply_transaction(&plan).await.unwrap();
    assert_eq!(again, TransactionResult::AlreadyApplied(vec![event]));
    assert_eq!(
        overflow_markers(&stack, &user, day()).await,
        after.len() + 1
    );
    assert_matches(
        &user_report(&pipeline, &user).await,
        &recount(&history, Some(&user)),
        &user,
    );
}
