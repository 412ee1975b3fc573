//! Every file in `events/` is a real Lambda event that gives the result `events/README.md`
//! documents, run through the handlers in process against moto. (`lambda_runtime`
//! runs the same files through the Lambda runtime emulator.)

use std::collections::BTreeSet;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::NaiveDate;
use serde_json::Value;
use taskpulse_app::ReadCounters;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};
use taskpulse_testkit::{
    API_EVENT_STATUSES, AwsPipeline, CONSUMER_EVENTS, ERASER_EVENTS, FIXTURE_TASK_ID,
    REBUILD_EVENTS, RELAY_EVENTS, event_file, failed_ids, pipeline_on_moto, seed_fixture_task,
};

#[test]
fn every_event_file_is_checked() {
    let found: BTreeSet<String> =
        std::fs::read_dir(taskpulse_devstack::workspace_root().join("events"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".json"))
            .collect();
    let covered: BTreeSet<String> = API_EVENT_STATUSES
        .iter()
        .map(|(file, _)| *file)
        .chain(CONSUMER_EVENTS)
        .chain(RELAY_EVENTS)
        .chain(ERASER_EVENTS)
        .chain(REBUILD_EVENTS)
        .map(str::to_owned)
        .collect();
    assert_eq!(found, covered);
}

#[tokio::test]
async fn api_events_answer_their_documented_status_in_order() {
    let (stack, pipeline) = pipeline_on_moto().await;
    seed_fixture_task(&stack).await;
    let mut bodies = vec![];
    for (file, status) in API_EVENT_STATUSES {
        let request = lambda_http::request::from_str(&event_file(file))
            .unwrap_or_else(|e| panic!("{file} is not an API Gateway HTTP API event: {e}"));
        let response = pipeline.api.handle(request).await;
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(response.status().as_u16(), *status, "{file}: {body}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        let expected_type = if *status < 400 {
            "application/json"
        } else {
            "application/problem+json"
        };
        assert_eq!(content_type, expected_type, "{file}");
        bodies.push((*file, body));
    }
    let body = |name: &str| &bodies.iter().find(|(file, _)| *file == name).unwrap().1;
    assert_eq!(body("api-create-task.json")["userId"], "user-1");
    let fields: Vec<&str> = body("api-create-task-invalid.json")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "priority", "plannedAccomplishDate"]);
    assert_eq!(
        body("api-list-tasks.json")["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(body("api-get-task.json")["id"], FIXTURE_TASK_ID);
    assert_eq!(body("api-change-status.json")["version"], 2);
    assert_eq!(body("api-change-priority.json")["priority"], "critical");
    assert_eq!(body("api-change-planned-date.json")["version"], 4);
    assert_eq!(body("api-complete-task.json")["status"], "completed");
    assert_eq!(body("api-complete-task.json")["version"], 6);
    assert_eq!(
        body("api-analytics-me.json")["days"]
            .as_array()
            .unwrap()
            .len(),
        26
    );
    assert_eq!(body("api-analytics-global.json")["scope"], "global");
    assert_eq!(body("api-put-settings.json")["timeZone"], "Asia/Tokyo");
    assert_eq!(body("api-erase-me.json")["step"], "settling");
    let sent = pipeline
        .sqs
        .receive_message()
        .queue_url(&pipeline.erasure_queue.url)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = sent.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        [r#"{"eraseUser":"user-3"}"#],
        "the API hands the erasure over"
    );
    assert_eq!(
        event_file(ERASER_EVENTS[0])
            .matches(r#"eraseUser\":\"user-3"#)
            .count(),
        1
    );
}

/// Runs a consumer event file; returns the failed message ids and the stack to read from.
async fn invoke_consumer(name: &str) -> (Vec<String>, taskpulse_devstack::Stack, AwsPipeline) {
    let (stack, pipeline) = pipeline_on_moto().await;
    let batch: SqsEvent = serde_json::from_str(&event_file(name))
        .unwrap_or_else(|e| panic!("{name} is not an SQS event: {e}"));
    let (response, _) = pipeline.consume(batch).await;
    let failed = failed_ids(&response)
        .into_iter()
        .map(str::to_owned)
        .collect();
    (failed, stack, pipeline)
}

/// `created` on 2026-11-26, the day of the sample events.
async fn created(pipeline: &AwsPipeline, scope: Scope) -> i64 {
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let counters = pipeline
        .analytics
        .read_counters(ProjectionVersion::FIRST, &CounterKey { scope, day })
        .await
        .unwrap();
    counters.get(&Counter::Created).copied().unwrap_or(0)
}

#[tokio::test]
async fn consumer_task_created_applies_without_failures() {
    let (failed, _stack, pipeline) = invoke_consumer("consumer-task-created.json").await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        created(&pipeline, Scope::User(UserId::parse("user-1").unwrap())).await,
        1
    );
    assert_eq!(created(&pipeline, Scope::Global).await, 1);
}

#[tokio::test]
async fn consumer_batch_with_poison_fails_only_the_poison() {
    let (failed, _stack, pipeline) = invoke_consumer("consumer-batch-with-poison.json").await;
    assert_eq!(
        failed,
        [
            "5f1c3f4e-2222-4c1a-9d5e-000000000002",
            "5f1c3f4e-2222-4c1a-9d5e-000000000004"
        ]
    );
    assert_eq!(created(&pipeline, Scope::Global).await, 2);
    assert_eq!(
        created(&pipeline, Scope::User(UserId::parse("user-2").unwrap())).await,
        1
    );
}

#[tokio::test]
async fn rebuild_events_start_a_rebuild_and_backfill_the_sample_day() {
    use taskpulse_app::RebuildProgress;
    use taskpulse_app::rebuild::Rereads;
    use taskpulse_aws::{S3Archive, SqsWorkQueue, sdk};
    use taskpulse_lambda::rebuild::{
        Coordinator, CoordinatorSettings, Worker, WorkerSettings, handle_command, handle_work,
    };

    // Given the sample day archived and counted by the consumer
    let (failed, stack, pipeline) = invoke_consumer("consumer-task-created.json").await;
    assert!(failed.is_empty(), "{failed:?}");
    let bucket = stack
        .resources
        .bucket(taskpulse_devstack::ARCHIVE_BUCKET)
        .unwrap()
        .to_owned();
    let rebuild_queue = stack
        .resources
        .queue(taskpulse_devstack::REBUILD_QUEUE)
        .unwrap();
    let archive = S3Archive::new(sdk::s3_client(&stack.config), bucket);
    let coordinator = Coordinator {
        archive: archive.clone(),
        store: pipeline.analytics.clone(),
        queue: SqsWorkQueue::new(pipeline.sqs.clone(), rebuild_queue.url.clone()),
        settings: CoordinatorSettings {
            consumer_timeout: std::time::Duration::from_secs(30),
            write_rate: 1000.0,
        },
        rereads: Rereads::default(),
    };

    // When the start event, then the worker event, are handled
    let start: Value = serde_json::from_str(&event_file("rebuild-coordinator-start.json")).unwrap();
    let answer = handle_command(&coordinator, start).await.unwrap();
    let started = answer.started.expect("started");
    assert_eq!(
        (started.version, started.projection),
        (2, "tasks-by-priority")
    );
    assert_eq!((started.pending, started.enqueued), (1, 1));
    assert!(started.delay_seconds <= 35);
    let batch: SqsEvent =
        serde_json::from_str(&event_file("rebuild-worker-partition.json")).unwrap();
    let worker = Worker {
        archive,
        store: pipeline.analytics.clone(),
        erasures: pipeline.tasks().clone(),
        limits: pipeline.limits,
        settings: WorkerSettings { write_rate: 1000.0 },
    };
    let (response, summary) = handle_work(&worker, batch).await.unwrap();

    // Then the partition is backfilled into version 2 and recorded as done
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.partitions, summary.events_applied), (1, 1));
    let version = taskpulse_domain::analytics::ProjectionVersion::new(2).unwrap();
    let done = pipeline.analytics.done_partitions(version).await.unwrap();
    assert!(done.contains_key(&NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()));
}
