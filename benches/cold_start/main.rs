//! Cold start of the three function binaries, each started as Lambda starts it (the
//! environment variables `template.yaml` gives it) against a minimal Lambda Runtime API served
//! here on 127.0.0.1:
//!
//! - **ready**: process start → the first `GET /2018-06-01/runtime/invocation/next`. By then
//!   `main` has set up telemetry, read its configuration, loaded the SDK configuration and
//!   constructed its SDK clients; the runtime polls only after that.
//! - **first answer**: process start → the first invocation's result posted (`…/response` or
//!   `…/error`).
//!
//! The consumer gets an empty SQS batch, which needs no network. The API (an authenticated
//! `POST /tasks`, whose caller's erasure record it reads first) and the relay query DynamoDB as
//! soon as they are invoked, so they are pointed at a 127.0.0.1 port that takes the TLS
//! ClientHello and hangs up, with a single attempt: the first answer is the resulting 503 or
//! error, after the first TLS handshake began (seeding the random number generator, generating
//! the key share).
//!
//! Run: `bash scripts/bench-cold-start.sh` (builds the release binaries, then runs this), or
//! `cargo bench --bench cold_start` once they are built. `TASKPULSE_RELEASE_DIR` says where the
//! binaries are (default `target/release`), `COLD_START_RUNS` how many starts per function
//! (default 30). Results are recorded in `docs/benchmarks.md`.

mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use taskpulse_aws::env::{
    ANALYTICS_TABLE, ARCHIVE_BUCKET, CORS_ALLOWED_ORIGINS, ERASURE_QUEUE_URL, EVENTS_QUEUE_URL,
    GLOBAL_COUNTER_SHARDS, OUTBOX_GRACE_SECONDS, TASKS_TABLE,
};
use taskpulse_testkit::percentile;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use runtime_api::{Answer, Observed, RuntimeApi, serve};

const DEFAULT_RUNS: usize = 30;
/// A start that has not answered by then is broken, not slow.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// One function binary and the invocation it gets.
struct Function {
    binary: &'static str,
    function_name: &'static str,
    event: &'static str,
    own_environment: Vec<(&'static str, String)>,
    expected: Expected,
}

/// The answer each function must give, which also shows that it made no network call.
#[derive(Clone, Copy)]
enum Expected {
    /// An API Gateway response with this status code.
    HttpStatus(u16),
    /// Exactly this response body.
    Body(&'static str),
    /// An invocation error (`…/invocation/{id}/error`).
    InvocationError,
}

struct Timing {
    ready: Duration,
    answered: Duration,
}

fn functions(tls_dead_end_port: u16) -> Vec<Function> {
    // The API's and the relay's first calls go to DynamoDB (the caller's erasure record, the
    // outbox query): each fails in the TLS handshake and is not retried.
    let dead_end = |function: &str| {
        let mut environment = template_environment(function);
        environment.extend([
            (
                "AWS_ENDPOINT_URL",
                format!("https://127.0.0.1:{tls_dead_end_port}"),
            ),
            ("AWS_MAX_ATTEMPTS", "1".into()),
        ]);
        environment
    };
    vec![
        Function {
            binary: "taskpulse-api",
            function_name: "taskpulse-ApiFunction",
            event: include_str!("../../events/api-create-task-invalid.json"),
            own_environment: dead_end("ApiFunction"),
            expected: Expected::HttpStatus(503),
        },
        Function {
            binary: "taskpulse-consumer",
            function_name: "taskpulse-ConsumerFunction",
            event: r#"{"Records":[]}"#,
            own_environment: template_environment("ConsumerFunction"),
            expected: Expected::Body(r#"{"batchItemFailures":[]}"#),
        },
        Function {
            binary: "taskpulse-relay",
            function_name: "taskpulse-RelayFunction",
            event: include_str!("../../events/relay-scheduled.json"),
            own_environment: dead_end("RelayFunction"),
            expected: Expected::InvocationError,
        },
    ]
}

/// The variables `template.yaml` gives `function` (its logical id), each with the value the
/// deployed stack gives it, so that every start reads what it reads on AWS.
fn template_environment(function: &str) -> Vec<(&'static str, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("template.yaml");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("template parses");
    let variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{function} has environment variables in template.yaml"));
    variables
        .keys()
        .map(|name| {
            let (name, value) = match name.as_str().expect("a variable name") {
                TASKS_TABLE => (TASKS_TABLE, "taskpulse-TasksTable".to_owned()),
                ANALYTICS_TABLE => (ANALYTICS_TABLE, "taskpulse-AnalyticsTable".to_owned()),
                EVENTS_QUEUE_URL => (EVENTS_QUEUE_URL, queue_url("EventsQueue")),
                ERASURE_QUEUE_URL => (ERASURE_QUEUE_URL, queue_url("ErasureQueue")),
                ARCHIVE_BUCKET => (ARCHIVE_BUCKET, "taskpulse-archivebucket".to_owned()),
                GLOBAL_COUNTER_SHARDS => (GLOBAL_COUNTER_SHARDS, "10".to_owned()),
                OUTBOX_GRACE_SECONDS => (OUTBOX_GRACE_SECONDS, "30".to_owned()),
                // The template's default: no browser origin.
                CORS_ALLOWED_ORIGINS => (CORS_ALLOWED_ORIGINS, String::new()),
                other => panic!("no value for {other}, which template.yaml gives {function}"),
            };
            (name, value)
        })
        .collect()
}

fn queue_url(name: &str) -> String {
    format!("https://sqs.us-east-1.amazonaws.com/123456789012/taskpulse-{name}")
}

/// A 127.0.0.1 port that reads the first bytes of each connection (a TLS ClientHello) and
/// closes it, so a client gets as far as starting its handshake and no further.
async fn tls_dead_end() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut hello = [0u8; 4096];
                if stream.readable().await.is_ok() {
                    let _ = stream.try_read(&mut hello);
                }
            });
        }
    });
    port
}

/// The variables Lambda sets for a `provided.al2023` function (`template.yaml`: 256 MB, JSON
/// logs at INFO), with dummy credentials; nothing is inherited from this process.
fn lambda_environment(runtime_api: &str, function_name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLECOLDSTART".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "cold/start/example/secret/key/0000000000".into(),
        ),
        (
            "AWS_SESSION_TOKEN",
            "IQoJb3JpZ2luX2VjEXAMPLEcoldstartsessiontoken".into(),
        ),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef".into(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
    ]
}

/// Starts `function` once and times it; kills it after its first answer.
async fn start_once(function: &Function, binary: &Path) -> Result<Timing, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let runtime_api = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let (observed_tx, mut observed) = mpsc::unbounded_channel();
    let (run_over_tx, run_over) = watch::channel(false);
    let api = Arc::new(RuntimeApi {
        event: Bytes::from_static(function.event.as_bytes()),
        deadline_epoch_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 30_000,
        invoked_function_arn: format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            function.function_name
        ),
        observed: observed_tx,
        event_served: AtomicBool::new(false),
        run_over,
    });
    let server = tokio::spawn(serve(listener, api));

    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda_environment(&runtime_api, function.function_name))
        .envs(function.own_environment.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;

    let outcome = observe(&mut observed, &mut child, started).await;
    let _ = run_over_tx.send(true);
    let _ = child.kill();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    server.abort();
    let (timing, answer) = outcome.map_err(|reason| with_output(reason, &output))?;
    check(function.expected, &answer).map_err(|reason| with_output(reason, &output))?;
    Ok(timing)
}

/// Waits for the first `next` and the first answer, watching for the process dying first.
async fn observe(
    observed: &mut mpsc::UnboundedReceiver<Observed>,
    child: &mut Child,
    started: Instant,
) -> Result<(Timing, Answer), String> {
    let mut ready = None;
    let mut exit_check = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            seen = observed.recv() => match seen {
                Some(Observed::Ready(at)) => ready = Some(at - started),
                Some(Observed::Answered(_, Answer::InitError(body))) => {
                    return Err(format!("init error: {}", String::from_utf8_lossy(&body)));
                }
                Some(Observed::Answered(at, answer)) => {
                    let ready = ready.ok_or("answered before asking for an event")?;
                    return Ok((Timing { ready, answered: at - started }, answer));
                }
                None => return Err("runtime API stopped".into()),
            },
            _ = exit_check.tick() => {
                if let Ok(Some(exit)) = child.try_wait() {
                    return Err(format!("the process exited early ({exit})"));
                }
                if started.elapsed() > RUN_TIMEOUT {
                    return Err(format!("no answer within {RUN_TIMEOUT:?}"));
                }
            }
        }
    }
}

fn check(expected: Expected, answer: &Answer) -> Result<(), String> {
    let matches = match (expected, answer) {
        (Expected::HttpStatus(code), Answer::Response(body)) => {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|response| response["statusCode"].as_u64())
                == Some(u64::from(code))
        }
        (Expected::Body(expected), Answer::Response(body)) => body == expected.as_bytes(),
        (Expected::InvocationError, Answer::InvocationError(body)) => {
            serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|error| error["errorType"].is_string())
        }
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(format!("unexpected answer: {answer:?}"))
    }
}

fn with_output(reason: String, output: &std::process::Output) -> String {
    format!(
        "{reason}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn percentile_ms(sorted: &[Duration], percent: f64) -> f64 {
    percentile(sorted, percent).as_secs_f64() * 1000.0
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "{:.2} | {:.2} | {:.2}",
        percentile_ms(samples, 50.0),
        percentile_ms(samples, 90.0),
        percentile_ms(samples, 100.0)
    )
}

fn release_dir() -> PathBuf {
    std::env::var_os("TASKPULSE_RELEASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release"))
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; there are no other arguments to honour.
    let runs = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|raw| raw.parse::<usize>().ok())
        .filter(|runs| *runs > 0)
        .unwrap_or(DEFAULT_RUNS);
    let directory = release_dir();
    let functions = functions(tls_dead_end().await);
    let missing: Vec<_> = functions
        .iter()
        .map(|f| directory.join(f.binary))
        .filter(|path| !path.is_file())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "cold_start: release binaries missing: {}\nBuild them first:\n  \
             cargo build --release -p taskpulse-api -p taskpulse-consumer -p taskpulse-relay\n\
             or point TASKPULSE_RELEASE_DIR at the directory holding them.",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::process::exit(2);
    }
    println!(
        "cold_start: {runs} starts per function (after one unmeasured start each), binaries from {}",
        directory.display()
    );

    let mut timings: Vec<Vec<Timing>> = functions.iter().map(|_| Vec::new()).collect();
    // Interleaved, so a slow patch of the shared machine hits every function alike.
    for run in 0..=runs {
        for (function, measured) in functions.iter().zip(&mut timings) {
            let timing = start_once(function, &directory.join(function.binary))
                .await
                .unwrap_or_else(|reason| panic!("{}: {reason}", function.binary));
            if run > 0 {
                measured.push(timing);
            }
        }
    }

    println!();
    println!(
        "| function | ready p50 ms | ready p90 ms | ready max ms | first answer p50 ms | first answer p90 ms | first answer max ms | first answer |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (function, measured) in functions.iter().zip(timings) {
        let mut ready: Vec<_> = measured.iter().map(|t| t.ready).collect();
        let mut answered: Vec<_> = measured.iter().map(|t| t.answered).collect();
        let answer = match function.expected {
            Expected::HttpStatus(code) => format!("HTTP {code}"),
            Expected::Body(body) => format!("`{body}`"),
            Expected::InvocationError => "invocation error (TLS handshake refused)".into(),
        };
        println!(
            "| {} | {} | {} | {answer} |",
            function.binary,
            summary(&mut ready),
            summary(&mut answered),
        );
    }
}
