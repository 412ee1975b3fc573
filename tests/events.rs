//! Every file in `events/` is a real Lambda event that gives the result `events/README.md`
//! documents, run through the handlers against moto.

mod support;

use std::path::PathBuf;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::NaiveDate;
use http::StatusCode;
use serde_json::Value;
use taskpulse_app::ReadCounters;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, CounterKey, Scope};
use taskpulse_lambda::consumer::handle_batch;

fn event_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file in `events/` must be covered by a test below.
#[test]
fn every_event_file_is_checked() {
    let covered = [
        "api-create-task.json",
        "api-create-task-invalid.json",
        "api-create-task-unauthenticated.json",
        "consumer-task-created.json",
        "consumer-batch-with-poison.json",
    ];
    let mut found: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".json"))
            .collect();
    found.sort();
    let mut expected: Vec<String> = covered.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
}

async fn invoke_api(name: &str) -> (StatusCode, http::HeaderMap, Value) {
    let (_stack, pipeline) = support::stack().await;
    let request = lambda_http::request::from_str(&event_file(name))
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway HTTP API event: {e}"));
    let response = pipeline.api.handle(request).await;
    let body = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status(), response.headers().clone(), body)
}

#[tokio::test]
async fn api_create_task_answers_201() {
    let (status, headers, body) = invoke_api("api-create-task.json").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["userId"], "user-1");
    assert_eq!(body["title"], "Prepare the quarterly report");
    assert_eq!(headers["etag"], "\"1\"");
    assert!(headers["location"].to_str().unwrap().starts_with("/tasks/"));
}

#[tokio::test]
async fn api_create_task_invalid_answers_400_naming_the_fields() {
    let (status, headers, body) = invoke_api("api-create-task-invalid.json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/problem+json");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "priority", "plannedAccomplishDate"]);
}

#[tokio::test]
async fn api_create_task_unauthenticated_answers_401() {
    let (status, headers, body) = invoke_api("api-create-task-unauthenticated.json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["status"], 401);
}

/// Runs a consumer event file; returns the failed message ids and the pipeline (whose moto
/// server lives as long as the returned stack) to read the counters from.
async fn invoke_consumer(
    name: &str,
) -> (
    Vec<String>,
    taskpulse_devstack::Stack,
    taskpulse::AwsPipeline,
) {
    let (stack, pipeline) = support::stack().await;
    let batch: SqsEvent = serde_json::from_str(&event_file(name))
        .unwrap_or_else(|e| panic!("{name} is not an SQS event: {e}"));
    let (response, _) = handle_batch(&pipeline.analytics, batch).await.unwrap();
    let failed = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    (failed, stack, pipeline)
}

/// `created` on 2026-11-26, the day of the sample events.
async fn created(pipeline: &taskpulse::AwsPipeline, scope: Scope) -> i64 {
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let counters = pipeline
        .analytics
        .read_counters(&CounterKey { scope, day })
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
