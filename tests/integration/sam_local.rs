//! The functions as SAM CLI runs them on a developer's machine: `sam local start-lambda`,
//! `sam local invoke` and `sam local start-api`, on the arm64 bootstraps of `sam build`, in
//! containers of the invocation image, against moto on Docker's bridge address with the
//! template's resources.
//!
//! They need Docker, arm64 emulation, the invocation image and `sam build`'s output, which
//! `scripts/sam-local.sh` provides before it runs them (CI does, after the deploy checks). A
//! plain `cargo test` lists them as ignored: they cannot run before `sam build`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use taskpulse_devstack::bounded_http::send;
use taskpulse_devstack::{
    INVOKE_TIMEOUT, SamEmulator, SamSettings, Stack, sam_env_vars, sam_invoke, workspace_root,
};
use taskpulse_testkit::{
    FIXTURE_TASK_ID, SampleFunction, check_api_consumer_and_relay_events, check_rebuild_events,
    seed_fixture_task,
};

/// A setting `scripts/sam-local.sh` passes; without it the test cannot run at all.
fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests with `bash scripts/sam-local.sh`")
    })
}

/// moto on Docker's bridge address, with the template's resources and the fixture task, and
/// the SAM settings that point the functions at it.
async fn stack_for_containers(label: &str) -> (Stack, SamSettings) {
    let gateway: Ipv4Addr = setting("TASKPULSE_DOCKER_GATEWAY")
        .parse()
        .expect("TASKPULSE_DOCKER_GATEWAY is an IPv4 address");
    let stack = Stack::start_on(gateway)
        .await
        .unwrap_or_else(|e| panic!("moto on {gateway} could not start: {e}"));
    seed_fixture_task(&stack).await;
    let env_vars = write_env_vars(label, &sam_env_vars(&stack).unwrap());
    let settings = SamSettings {
        invoke_image: setting("TASKPULSE_SAM_IMAGE"),
        env_vars,
        parameters: vec![
            ("JwtIssuer".into(), "https://issuer.invalid".into()),
            ("JwtAudience".into(), "local".into()),
            // The relay takes every pending event at once: an event the API failed to publish
            // would show as published by the relay.
            ("OutboxGraceSeconds".into(), "0".into()),
        ],
    };
    (stack, settings)
}

fn write_env_vars(label: &str, env_vars: &Value) -> PathBuf {
    let dir = workspace_root().join("target/sam-local");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("env-vars-{label}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(env_vars).unwrap()).unwrap();
    path
}

fn event_path(file: &str) -> PathBuf {
    workspace_root().join("events").join(file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and `sam build` output: run by scripts/sam-local.sh"]
async fn every_sample_event_gives_its_documented_result_under_sam_local_start_lambda() {
    let (_stack, settings) = stack_for_containers("start-lambda").await;
    let emulator = tokio::task::spawn_blocking(move || SamEmulator::start_lambda(&settings))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("sam local start-lambda could not start: {e}"));
    let emulator = Arc::new(emulator);
    let invoke = |function: SampleFunction, file: &'static str| {
        let emulator = emulator.clone();
        async move {
            let event = std::fs::read(event_path(file)).unwrap();
            emulator
                .invoke(function.logical_id(), &event)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}"))
        }
    };
    check_api_consumer_and_relay_events(invoke).await;
    check_rebuild_events(invoke).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and `sam build` output: run by scripts/sam-local.sh"]
async fn sam_local_invoke_runs_one_event_against_moto() {
    let (_stack, settings) = stack_for_containers("invoke").await;
    let response = tokio::task::spawn_blocking(move || {
        sam_invoke(&settings, "ApiFunction", &event_path("api-get-task.json"))
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    // The fixture task, read from moto's table through the container's network.
    assert_eq!(response["statusCode"], 200, "{response}");
    let task: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(task["id"], FIXTURE_TASK_ID);
}

/// A bearer token as an identity provider would issue it; under `sam local start-api` only its
/// claims are read (no JWT authorizer runs there), so it needs no signature.
fn bearer(claims: &Value) -> String {
    let encode =
        |part: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(part.to_string());
    format!(
        "Bearer {}.{}.",
        encode(&json!({ "alg": "none", "typ": "JWT" })),
        encode(claims)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and `sam build` output: run by scripts/sam-local.sh"]
async fn sam_local_start_api_serves_create_get_and_list_to_a_bearer_token() {
    let (_stack, settings) = stack_for_containers("start-api").await;
    let api = tokio::task::spawn_blocking(move || SamEmulator::start_api(&settings))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("sam local start-api could not start: {e}"));
    let token = bearer(&json!({ "sub": "dev-1", "scope": "tasks" }));
    let call = |method: Method, path: String, token: Option<String>, body: Option<Value>| {
        let url = format!("{}{path}", api.url());
        async move {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(token) = &token {
                headers.push(("authorization", token.as_str()));
            }
            let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, *v)).collect();
            send(method.clone(), &url, &headers, body, INVOKE_TIMEOUT)
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
        }
    };

    let created = call(
        Method::POST,
        "/tasks".into(),
        Some(token.clone()),
        Some(json!({
            "title": "Try the SAM emulator",
            "priority": "high",
            "plannedAccomplishDate": "2030-01-15T17:00:00Z"
        })),
    )
    .await;
    let log = || api.log();
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{created:?}\n{}",
        log()
    );
    let task = created.json().unwrap();
    assert_eq!(task["userId"], "dev-1");
    let id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("/tasks/{id}"));

    let fetched = call(
        Method::GET,
        format!("/tasks/{id}"),
        Some(token.clone()),
        None,
    )
    .await;
    assert_eq!(fetched.status, StatusCode::OK, "{fetched:?}");
    assert_eq!(fetched.json().unwrap()["title"], "Try the SAM emulator");

    let listed = call(Method::GET, "/tasks".into(), Some(token.clone()), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let ids: Vec<String> = listed.json().unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    // Another user's token does not see the task; no token is a 401 that says what to send.
    let other = bearer(&json!({ "sub": "dev-2" }));
    let hidden = call(Method::GET, format!("/tasks/{id}"), Some(other), None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{hidden:?}");
    let anonymous = call(Method::GET, "/tasks".into(), None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{anonymous:?}");
    let detail = anonymous.json().unwrap()["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains("Authorization: Bearer"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and `sam build` output: run by scripts/sam-local.sh"]
async fn what_cannot_run_fails_with_the_runtimes_or_sams_message_and_no_hang() {
    let (stack, settings) = stack_for_containers("refusals").await;
    let invoke = |settings: SamSettings, function: &'static str, event: PathBuf| {
        tokio::task::spawn_blocking(move || sam_invoke(&settings, function, &event))
    };

    // An event the runtime cannot read: its error, as SAM reports it.
    let not_json = workspace_root().join("target/sam-local/not-an-event.json");
    std::fs::write(&not_json, "this is not JSON").unwrap();
    let refused = invoke(settings.clone(), "ApiFunction", not_json)
        .await
        .unwrap()
        .expect_err("an event that is not JSON fails")
        .to_string();
    assert!(refused.contains("failed to deserialize"), "{refused}");

    // A function the template lacks: SAM's own message.
    let unknown = invoke(
        settings.clone(),
        "NoSuchFunction",
        event_path("api-get-task.json"),
    )
    .await
    .unwrap()
    .expect_err("SAM refuses a function the template lacks")
    .to_string();
    assert!(unknown.contains("NoSuchFunction not found"), "{unknown}");

    let host: Ipv4Addr = setting("TASKPULSE_DOCKER_GATEWAY").parse().unwrap();
    let pointing_at = |label: &str, endpoint: String| {
        let mut env_vars = sam_env_vars(&stack).unwrap();
        env_vars["Parameters"]["LOCAL_AWS_ENDPOINT_URL"] = json!(endpoint);
        SamSettings {
            env_vars: write_env_vars(label, &env_vars),
            ..settings.clone()
        }
    };

    // A container that cannot reach its endpoint (nothing listens): the API answers 503.
    let closed = {
        let listener = std::net::TcpListener::bind((host, 0)).unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let response = invoke(
        pointing_at("unreachable", closed),
        "ApiFunction",
        event_path("api-get-task.json"),
    )
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response["statusCode"], 503, "{response}");

    // An endpoint that accepts and never answers: the function runs into its timeout (10 s in
    // the template), and the invocation ends with SAM's message rather than waiting on.
    let silent = std::net::TcpListener::bind((host, 0)).unwrap();
    let timed_out = invoke(
        pointing_at("silent", format!("http://{}", silent.local_addr().unwrap())),
        "ApiFunction",
        event_path("api-get-task.json"),
    )
    .await
    .unwrap()
    .expect_err("a function past its timeout gives no response")
    .to_string();
    assert!(
        timed_out.contains("timed out after 10 seconds"),
        "{timed_out}"
    );
    drop(silent);
}
