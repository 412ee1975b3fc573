//! Erasing a user through the local stack as a client does: `DELETE /me`, the status followed
//! at `GET /me/erasure` until complete, the identity refused afterwards, and everyone else's
//! analytics (and the global ones) answered byte for byte as before; on the embedded backend
//! and on the SDK adapters against moto.

use std::time::{Duration, Instant};

use serde_json::Value;
use taskpulse_testkit::{moto_environment, pipeline_on_moto};

use crate::local_stack::{Answer, LocalStack, ON_MOTO, request};

const NEW_TASK: &str = r#"{"title":"Renew passport","priority":"high","plannedAccomplishDate":"2030-01-01T12:00:00Z"}"#;

fn as_user(url: &str, method: &str, path: &str, user: &str, body: &str) -> Answer {
    let user = format!("X-Local-User: {user}");
    let headers = [
        user.as_str(),
        "X-Local-Scopes: analytics:read",
        "Content-Type: application/json",
    ];
    request(url, method, path, &headers, body)
}

fn json(answer: &Answer) -> Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

/// Polls `GET path` as `user` until `done` holds for its JSON body, for up to `limit`.
fn wait_for(
    url: &str,
    path: &str,
    user: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let give_up = Instant::now() + limit;
    loop {
        let answer = as_user(url, "GET", path, user, "");
        if answer.status == 200 && done(&json(&answer)) {
            return json(&answer);
        }
        assert!(
            Instant::now() < give_up,
            "{path} as {user} after {limit:?}: {} {}",
            answer.status,
            answer.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn created_total(analytics: &Value) -> i64 {
    analytics["totals"]["created"].as_i64().unwrap_or(0)
}

fn erase_a_user_through(stack: &LocalStack) {
    let url = &stack.url;
    for (user, tasks) in [("ana", 3), ("bo", 2)] {
        for _ in 0..tasks {
            assert_eq!(as_user(url, "POST", "/tasks", user, NEW_TASK).status, 201);
        }
    }
    let global_before = wait_for(
        url,
        "/analytics/global",
        "bo",
        Duration::from_secs(30),
        |a| created_total(a) == 5,
    );
    let bo_before = as_user(url, "GET", "/analytics/me", "bo", "").body;

    let asked = as_user(url, "DELETE", "/me", "ana", "");
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.header("location"), Some("/me/erasure"));
    let erased = wait_for(
        url,
        "/me/erasure",
        "ana",
        Duration::from_secs(60),
        |status| status["state"] == "complete",
    );
    assert_eq!(erased["erased"]["tasks"], 3, "{erased}");
    assert!(
        erased["erased"]["counterItemsMoved"].as_u64().unwrap() >= 1,
        "{erased}"
    );
    let again = as_user(url, "DELETE", "/me", "ana", "");
    assert_eq!(
        (again.status, json(&again)),
        (202, erased.clone()),
        "asking again changes nothing"
    );

    for (method, path, body) in [
        ("GET", "/tasks", ""),
        ("POST", "/tasks", NEW_TASK),
        ("GET", "/analytics/me", ""),
    ] {
        let refused = as_user(url, method, path, "ana", body);
        assert_eq!(refused.status, 410, "{method} {path}: {}", refused.body);
    }
    let global_after = as_user(url, "GET", "/analytics/global", "bo", "");
    assert_eq!(
        json(&global_after),
        global_before,
        "global analytics are unchanged"
    );
    assert_eq!(
        as_user(url, "GET", "/analytics/me", "bo", "").body,
        bo_before
    );
    let bo_tasks = json(&as_user(url, "GET", "/tasks", "bo", ""));
    assert_eq!(bo_tasks["items"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_user_is_erased_through_the_embedded_stack() {
    let stack = LocalStack::start(
        &["--batching-window-ms", "100"],
        &[("ERASURE_SETTLE_SECONDS", "1".to_owned())],
    );
    erase_a_user_through(&stack);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_is_erased_through_the_stack_on_moto() {
    let (moto, _pipeline) = pipeline_on_moto().await;
    let mut envs = moto_environment(&moto);
    envs.push(("ERASURE_SETTLE_SECONDS", "1".to_owned()));
    let stack = LocalStack::start(
        &["--batching-window-ms", "100", "--concurrency", "2"],
        &envs,
    );
    tokio::task::spawn_blocking(move || erase_a_user_through(&stack))
        .await
        .unwrap();
}

/// The simulator's users under chaos (duplicated and shuffled deliveries, poison), one of them
/// erased halfway through the traffic, against the stack on moto: the simulator checks that
/// the global analytics equal its recount of every user's accepted commands and that the
/// others' analytics equal theirs; afterwards no item of either table and no archive object
/// mentions the erased user.
#[tokio::test(flavor = "multi_thread")]
async fn a_user_erased_during_chaos_traffic_leaves_no_trace_on_moto() {
    let (moto, pipeline) = pipeline_on_moto().await;
    let mut envs = moto_environment(&moto);
    envs.push(("ERASURE_SETTLE_SECONDS", "1".to_owned()));
    let mut stack = LocalStack::start(&ON_MOTO, &envs);
    let mut options = crate::local_stack::small_run(&stack.url);
    options.tasks = 24;
    options.erase = true;
    let report = taskpulse_simulator::run(options)
        .await
        .expect("the simulator runs");
    assert!(report.passed(), "{report:#?}\n{}", stack.output());
    let erased = report.erased_user.clone().expect("a user was erased");
    assert_eq!(report.erasure.as_ref().unwrap()["state"], "complete");
    assert!(stack.interrupt().success(), "{}", stack.output());

    for table in [
        taskpulse_devstack::TASKS_TABLE,
        taskpulse_devstack::ANALYTICS_TABLE,
    ] {
        let items = super::scan_table(&moto, table).await;
        let found = super::mentioning(&items, &erased);
        assert!(found.is_empty(), "{table} mentions {erased}: {found:?}");
    }
    let archived = super::archive_texts(&pipeline).await;
    assert!(!archived.is_empty());
    assert!(archived.iter().all(|text| !text.contains(&erased)));
}
