//! End to end against moto: a task created over the API handler moves the analytics counters
//! exactly once, however often SQS delivers its event.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::json;
use taskpulse_app::{LoadTask, ReadCounters, apply_events};
use taskpulse_aws::DynamoAnalyticsStore;
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, TaskId, UserId};
use taskpulse_testkit::{
    ApiClient, Poison, Reply, applied_events, consumer_deadline, failed_ids, lambda_record,
    pipeline_on_moto, sqs_event,
};

async fn create(client: &ApiClient<'_>, user: &str, title: &str) -> Reply {
    let task = json!({
        "title": title,
        "priority": "critical",
        "plannedAccomplishDate": "2030-06-01T09:00:00Z"
    });
    client.create_task(user, &task).await
}

fn counter(counters: &std::collections::BTreeMap<Counter, i64>, c: Counter) -> i64 {
    counters.get(&c).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_created_task_counts_exactly_once_when_its_message_arrives_three_times() {
    let (stack, pipeline) = pipeline_on_moto().await;

    // The API stores the task and publishes TaskCreated.
    let reply = create(&pipeline.client(), "user-42", "Ship the walking skeleton").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let task = reply.body;
    let task_id: TaskId = task["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        reply.headers["location"],
        format!("/tasks/{task_id}").as_str()
    );
    assert_eq!(task["userId"], "user-42");
    let created_at: DateTime<Utc> = task["createdAt"].as_str().unwrap().parse().unwrap();

    // The task is in DynamoDB, and its outbox is empty because the event went out.
    let stored = pipeline
        .tasks()
        .load_task(task_id)
        .await
        .unwrap()
        .expect("the task item exists");
    assert_eq!(stored.task.title.as_str(), "Ship the walking skeleton");
    assert!(
        stored.pending_events.is_empty(),
        "published events are cleared: {:?}",
        stored.pending_events
    );

    // The real SQS message: the documented envelope, with eventType as a message attribute.
    let messages = pipeline.receive(2).await.unwrap();
    assert_eq!(
        messages.len(),
        1,
        "exactly one message for one created task"
    );
    let message = &messages[0];
    let attribute = message
        .message_attributes()
        .and_then(|a| a.get("eventType"))
        .and_then(|v| v.string_value())
        .unwrap();
    assert_eq!(attribute, "TaskCreated");
    let envelope = EventEnvelope::from_json(message.body().unwrap()).unwrap();
    assert_eq!(envelope.task_id, task_id);
    assert_eq!(envelope.user_id.as_str(), "user-42");
    assert_eq!(envelope.sequence, 1);
    assert_eq!(envelope.event_type(), "TaskCreated");
    assert_eq!(envelope.event_id.as_uuid().get_version_num(), 7);

    // Delivered three times, it is applied once.
    let batch = pipeline.delivery_of(&messages);
    let mut summaries = vec![];
    for _ in 0..3 {
        let (response, summary) = pipeline.consume(batch.clone()).await;
        assert!(response.batch_item_failures.is_empty());
        summaries.push(summary);
    }
    assert_eq!(
        summaries
            .iter()
            .map(|s| (s.applied, s.duplicates))
            .collect::<Vec<_>>(),
        [(1, 0), (0, 1), (0, 1)]
    );

    let day = created_at.date_naive();
    let user = Scope::User(UserId::parse("user-42").unwrap());
    for scope in [user, Scope::Global] {
        let counters = pipeline
            .analytics
            .read_counters(
                ProjectionVersion::FIRST,
                &CounterKey {
                    scope: scope.clone(),
                    day,
                },
            )
            .await
            .unwrap();
        assert_eq!(counter(&counters, Counter::Created), 1, "{scope:?}");
        assert_eq!(counter(&counters, Counter::OpenNew), 1, "{scope:?}");
    }

    // The dedupe marker (the event id in the owner's day item) was written with the counters.
    let applied = applied_events(&stack, "user-42", day).await;
    assert_eq!(applied, [envelope.event_id]);
}

#[tokio::test]
async fn a_malformed_message_fails_alone_while_its_neighbours_are_applied() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    for (user, title) in [("ann", "first"), ("ben", "second")] {
        let reply = create(&pipeline.client(), user, title).await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let mut messages = vec![];
    while messages.len() < 2 {
        let received = pipeline.receive(2).await.unwrap();
        assert!(!received.is_empty(), "both events must reach the queue");
        messages.extend(received);
    }
    let first = EventEnvelope::from_json(messages[0].body().unwrap()).unwrap();

    let mut poison = lambda_record(&messages[0], &pipeline.queue.arn);
    poison.message_id = Some("poison-not-json".into());
    poison.body = Some(Poison::NotJson.body(&first));
    let mut too_new = lambda_record(&messages[0], &pipeline.queue.arn);
    too_new.message_id = Some("poison-newer-schema".into());
    too_new.body = Some(Poison::NewerSchema.body(&first));
    let batch = sqs_event(vec![
        lambda_record(&messages[0], &pipeline.queue.arn),
        poison,
        lambda_record(&messages[1], &pipeline.queue.arn),
        too_new,
    ]);
    let (response, summary) = pipeline.consume(batch).await;
    assert_eq!(
        failed_ids(&response),
        ["poison-not-json", "poison-newer-schema"]
    );
    assert_eq!(
        (
            summary.applied,
            summary.duplicates,
            summary.poison,
            summary.failed_writes
        ),
        (2, 0, 2, 0)
    );
    let global = pipeline
        .analytics
        .read_counters(
            ProjectionVersion::FIRST,
            &CounterKey {
                scope: Scope::Global,
                day: first.occurred_at.date_naive(),
            },
        )
        .await
        .unwrap();
    assert_eq!(counter(&global, Counter::Created), 2);
}

#[tokio::test]
async fn a_failed_counter_write_is_reported_for_retry_and_nothing_is_recorded() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let reply = create(&pipeline.client(), "cat", "retry me").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let messages = pipeline.receive(2).await.unwrap();
    let message = &messages[0];
    let envelope = EventEnvelope::from_json(message.body().unwrap()).unwrap();
    let batch = pipeline.delivery_of(&messages[..1]);

    // A table that does not exist stands for any write DynamoDB refuses.
    let broken = DynamoAnalyticsStore::new(
        aws_sdk_dynamodb::Client::new(&stack.config),
        "no-such-table",
        pipeline.limits.global_shards,
    );
    let (response, summary) = pipeline.consume_with(&broken, batch.clone()).await;
    assert_eq!(summary.failed_writes, 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        message.message_id().unwrap()
    );
    let day = envelope.occurred_at.date_naive();
    assert!(applied_events(&stack, "cat", day).await.is_empty());

    // The retry against the real table applies it.
    let (response, summary) = pipeline.consume(batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.applied, 1);
}

#[tokio::test]
async fn when_sqs_refuses_the_command_succeeds_and_the_event_stays_pending() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let missing_queue = format!("{}/000000000000/no-such-queue", stack.moto.endpoint_url());
    let api = pipeline.api_publishing_with(taskpulse_aws::SqsEventPublisher::new(
        pipeline.sqs.clone(),
        missing_queue,
    ));
    let reply = create(&ApiClient::new(&api), "dee", "outbox").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let task_id: TaskId = reply.body["id"].as_str().unwrap().parse().unwrap();

    let pending = api
        .commands()
        .store()
        .load_task(task_id)
        .await
        .unwrap()
        .unwrap()
        .pending_events;
    assert_eq!(pending.len(), 1, "the unsent event is kept with the task");
    let envelope = EventEnvelope::from_json(&pending[0].body).unwrap();
    assert_eq!(envelope.task_id, task_id);
    assert_eq!(envelope.event_type(), "TaskCreated");
}

#[tokio::test]
async fn applying_the_same_event_directly_is_idempotent_at_the_store() {
    // The adapter alone, without the batch handler: the transaction's cancellation reasons
    // are what tell a duplicate apart from a failure.
    let (_stack, pipeline) = pipeline_on_moto().await;
    let reply = create(&pipeline.client(), "eve", "direct").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let message = pipeline.receive(2).await.unwrap().remove(0);
    let envelope = EventEnvelope::from_json(message.body().unwrap()).unwrap();
    let events = [envelope];
    let apply = || {
        apply_events(
            &pipeline.analytics,
            taskpulse_app::projections::ProjectionConfig::initial().active,
            &events,
            &pipeline.limits,
            consumer_deadline(),
        )
    };
    let first = apply().await;
    let second = apply().await;
    assert_eq!((first.applied.len(), first.duplicates.len()), (1, 0));
    assert_eq!((second.applied.len(), second.duplicates.len()), (0, 1));
    assert_eq!((first.transactions, second.transactions), (1, 0));
}
