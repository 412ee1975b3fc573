//! The local stack as a user runs it: the `taskpulse` binary started as a process on a free
//! port, driven over HTTP by the traffic simulator, stopped with Ctrl-C (SIGINT); on the
//! embedded backend and on the SDK adapters against moto. Also its start-up failures.

mod process;

use std::time::{Duration, Instant};

use taskpulse_simulator::{SimulateOptions, run};
use taskpulse_testkit::{ClosedPort, function_environment, moto_environment, pipeline_on_moto};

use process::run_to_exit;
pub(crate) use process::{Answer, BINARY, LocalStack, ON_MOTO, request, send_raw};

/// Runs the binary to completion and checks that it failed (exit status 1) with `message`,
/// not with a panic.
fn assert_fails_clearly(args: &[&str], envs: &[(&str, String)], message: &str) {
    let (status, output) = run_to_exit(args, envs);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains(message), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}
/// The status code of a plain HTTP/1.1 request to the stack.
fn status_of(url: &str, method: &str, path: &str, headers: &[&str]) -> u16 {
    request(url, method, path, headers, "").status
}

pub(crate) fn small_run(url: &str) -> SimulateOptions {
    SimulateOptions {
        url: url.to_owned(),
        users: 4,
        tasks: 40,
        concurrency: 6,
        rate: None,
        seed: Some(26),
        duplicate_rate: 0.0,
        reorder: false,
        poison: 0,
        chaos: true,
        settle_timeout_secs: 90,
        rebuild: None,
        rebuild_at: 0.25,
        erase: false,
        erase_at: 0.5,
        quiet: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_stack_passes_the_simulator_with_duplicates_reordering_and_poison() {
    // A short window keeps the test quick; the batching itself is covered by unit tests.
    let mut stack = LocalStack::start(&["--batching-window-ms", "100"], &[]);
    assert!(
        stack.output().contains("backend    embedded"),
        "{}",
        stack.output()
    );

    let url = stack.url.clone();
    assert_eq!(status_of(&url, "GET", "/health", &[]), 200);
    assert_eq!(status_of(&url, "GET", "/tasks", &[]), 401, "no identity");
    assert_eq!(
        status_of(&url, "GET", "/tasks", &["X-Local-User: ana"]),
        200
    );
    let global = "/analytics/global";
    assert_eq!(status_of(&url, "GET", global, &["X-Local-User: ana"]), 403);
    let reader = ["X-Local-User: ana", "X-Local-Scopes: analytics:read"];
    assert_eq!(status_of(&url, "GET", global, &reader), 200);
    assert_eq!(status_of(&url, "GET", "/_local/nothing", &[]), 404);

    let report = run(small_run(&url)).await.expect("the simulator runs");
    assert!(report.passed(), "{report:#?}\n{}", stack.output());
    assert_eq!(report.dead_letters_found, Some(5), "{report:#?}");
    assert!(
        report.commands >= 40 && report.freshness_samples > 0,
        "{report:#?}"
    );

    let status = stack.interrupt();
    let output = stack.output();
    assert!(status.success(), "{status:?}\n{output}");
    assert!(output.contains("Stopping: no new requests"), "{output}");
    assert!(output.contains("Stopped."), "{output}");
    assert!(
        output.contains("0 waiting, 0 in flight, 5 dead letters"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_on_the_sdk_adapters_passes_the_simulator_against_moto() {
    let (moto, _pipeline) = pipeline_on_moto().await;
    let mut envs = moto_environment(&moto);
    envs.push(("CORS_ALLOWED_ORIGINS", DASHBOARD_ORIGIN.to_owned()));
    let mut stack = LocalStack::start(&ON_MOTO, &envs);
    let output = stack.output();
    assert!(
        output.contains("backend    aws: the SDK adapters at http://127.0.0.1:"),
        "{output}"
    );

    conditional_reads_and_cors(&stack.url).await;

    let mut options = small_run(&stack.url);
    options.tasks = 24;
    let report = run(options).await.expect("the simulator runs");
    assert!(report.passed(), "{report:#?}\n{}", stack.output());
    // moto's redrive policy (maxReceiveCount 5 from the template) moved the poison.
    assert_eq!(report.dead_letters_found, Some(5), "{report:#?}");

    let status = stack.interrupt();
    assert!(status.success(), "{status:?}\n{}", stack.output());
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_fails_clearly(
        &["--port", &port],
        &[],
        &format!("cannot listen on 127.0.0.1:{port}: the port is already in use"),
    );
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() {
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let envs = function_environment(
        &endpoint,
        "tasks",
        "analytics",
        &format!("{endpoint}/000000000000/events"),
        &format!("{endpoint}/000000000000/outbox-checks"),
        "archive",
    );
    assert_fails_clearly(
        &["--port", "0"],
        &envs,
        &format!("DynamoDB table tasks is unreachable or missing at {endpoint}"),
    );
}

#[test]
fn the_aws_backend_names_the_missing_configuration() {
    assert_fails_clearly(
        &["--port", "0", "--backend", "aws"],
        &[("AWS_REGION", "us-east-1".to_owned())],
        "environment variable TASKS_TABLE is not set",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_explains_when_no_stack_answers() {
    let closed = ClosedPort::new();
    let error = run(small_run(&closed.url())).await.unwrap_err().to_string();
    assert!(error.contains("no local stack answers at"), "{error}");
    assert!(error.contains("cargo run"), "{error}");
}

/// The origin a hosted dashboard page would call the API from.
const DASHBOARD_ORIGIN: &str = "https://dashboard.example.com";

/// ETag / 304 on the analytics and the CORS answers, over HTTP, on the SDK adapters.
async fn conditional_reads_and_cors(url: &str) {
    let preflight = |origin: &str| {
        request(
            url,
            "OPTIONS",
            "/analytics/me",
            &[
                &format!("Origin: {origin}"),
                "Access-Control-Request-Method: GET",
                "Access-Control-Request-Headers: authorization, if-none-match",
            ],
            "",
        )
    };
    let allowed = preflight(DASHBOARD_ORIGIN);
    assert_eq!(allowed.status, 204, "{}", allowed.body);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(DASHBOARD_ORIGIN)
    );
    assert_eq!(allowed.header("access-control-allow-methods"), Some("GET"));
    assert!(
        allowed
            .header("access-control-allow-headers")
            .unwrap()
            .contains("if-none-match")
    );
    assert_eq!(preflight("https://elsewhere.example").status, 403);

    let me = [
        "X-Local-User: etag-user",
        &format!("Origin: {DASHBOARD_ORIGIN}"),
    ];
    let first = request(url, "GET", "/analytics/me", &me, "");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.header("access-control-allow-origin"),
        Some(DASHBOARD_ORIGIN)
    );
    let tag = first.header("etag").expect("an ETag").to_owned();
    let held = format!("If-None-Match: {tag}");
    let again = request(url, "GET", "/analytics/me", &[me[0], me[1], &held], "");
    assert_eq!(again.status, 304);
    assert_eq!(again.body, "", "no body");
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert_eq!(
        again.header("access-control-allow-origin"),
        Some(DASHBOARD_ORIGIN)
    );

    let created = request(
        url,
        "POST",
        "/tasks",
        &[me[0], "Content-Type: application/json"],
        r#"{"title":"Conditional","plannedAccomplishDate":"2030-01-01T00:00:00Z"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let now = request(url, "GET", "/analytics/me", &[me[0], &held], "");
        if now.status == 200 {
            assert_ne!(now.header("etag"), Some(tag.as_str()));
            assert!(now.body.contains(r#""created":1"#), "{}", now.body);
            break;
        }
        assert_eq!(now.status, 304);
        assert!(
            Instant::now() < give_up,
            "the created task was never counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
