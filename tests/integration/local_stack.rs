//! The local stack as a user runs it: the `taskpulse` binary started as a process on a free
//! port, driven over HTTP by the traffic simulator, stopped with Ctrl-C (SIGINT); on the
//! embedded backend and on the SDK adapters against moto. Also its start-up failures.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use taskpulse_simulator::{SimulateOptions, run};
use taskpulse_testkit::{ClosedPort, function_environment, moto_environment, pipeline_on_moto};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_taskpulse");

/// A running `taskpulse serve` process; killed if the test ends without stopping it.
pub(crate) struct LocalStack {
    child: Child,
    pub(crate) url: String,
    output: Arc<Mutex<String>>,
    /// One message from each output reader when its pipe has ended: after an exit, what the
    /// process printed last is in `output` only once both have arrived.
    readers_done: std::sync::mpsc::Receiver<()>,
}

impl LocalStack {
    pub(crate) fn start(args: &[&str], envs: &[(&str, String)]) -> Self {
        let serve = ["serve", "--port", "0"].iter().chain(args);
        let mut child = spawn(serve, envs);
        let output = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (done_tx, readers_done) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let collected = Arc::clone(&output);
        let stdout_done = done_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("listening on ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = url_tx.send(url);
                }
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
            let _ = stdout_done.send(());
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
            let _ = done_tx.send(());
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the stack did not print its address within 60 s:\n{}",
                    output.lock().unwrap()
                )
            });
        Self {
            child,
            url,
            output,
            readers_done,
        }
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Ctrl-C, then the exit status (the stack must stop within 30 s), once everything the
    /// process printed is in `output`: an exit does not wait for the reader threads, and on a
    /// loaded machine the last lines of stdout could still be in the pipe.
    pub(crate) fn interrupt(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let status = wait_for_exit(&mut self.child, Duration::from_secs(30));
        for _reader in 0..2 {
            // A process the stack started (moto) could hold the pipes open: bounded.
            if self
                .readers_done
                .recv_timeout(Duration::from_secs(10))
                .is_err()
            {
                break;
            }
        }
        status
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let give_up = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts the binary with its output piped, with `envs` and without the configuration of the
/// AWS backend that this process may have inherited.
fn spawn<'a>(args: impl IntoIterator<Item = &'a &'a str>, envs: &[(&str, String)]) -> Child {
    Command::new(BINARY)
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("TASKS_TABLE")
        .envs(envs.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the taskpulse binary starts")
}

/// Runs the binary to completion, for start-up failures: (status, stdout + stderr).
fn run_to_exit(args: &[&str], envs: &[(&str, String)]) -> (ExitStatus, String) {
    let mut child = spawn(args, envs);
    let status = wait_for_exit(&mut child, Duration::from_secs(60));
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    (status, text)
}

/// Runs the binary to completion and checks that it failed (exit status 1) with `message`,
/// not with a panic.
fn assert_fails_clearly(args: &[&str], envs: &[(&str, String)], message: &str) {
    let (status, output) = run_to_exit(args, envs);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains(message), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

/// A plain HTTP/1.1 answer: status, header lines (names in lower case) and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One plain HTTP/1.1 request to the stack, with `headers` ("Name: value") and `body`.
pub(crate) fn request(url: &str, method: &str, path: &str, headers: &[&str], body: &str) -> Answer {
    let addr = url.trim_start_matches("http://");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    send_raw(url, &request)
}

/// Sends `request` to the stack byte for byte and reads the answer until the server closes
/// the connection (or 10 s pass).
pub(crate) fn send_raw(url: &str, request: &str) -> Answer {
    use std::io::Write;
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("the stack accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
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
    let mut stack = LocalStack::start(
        &[
            "--batching-window-ms",
            "100",
            "--visibility-timeout-secs",
            "4",
            // moto answers one request at a time; ten pollers would only queue on it.
            "--concurrency",
            "2",
        ],
        &envs,
    );
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
