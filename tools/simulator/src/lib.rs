//! The traffic simulator: realistic task traffic through the HTTP API of a running stack, and
//! a check of the analytics API's answers against its own recount of what it sent.
//!
//! Each simulated task follows a random life: created (planned date days ahead, or already
//! past, so that completions are both on time and late), then priority changes, delays and
//! reschedules, status changes, and finally completion, cancellation, or staying open. Tasks
//! run concurrently; the steps of one task run in order. Every command carries an
//! `Idempotency-Key` and is retried on 5xx and connection errors, so each takes effect once.
//!
//! Freshness (command accepted → counter visible) is sampled on the commands that raise a
//! counter that only grows (created, completed, priority changes, delays, reschedules): an
//! observer polls each user's analytics and notes when the sum of those counters first reaches
//! each level; the k-th level's command was accepted at a known instant.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use taskpulse_local::event_source_mapping::{DeliveryChaos, StatsSnapshot};

/// Counters the recount predicts exactly (lead time depends on the server's clock).
pub const COMPARED: [&str; 8] = [
    "created",
    "completed",
    "completedOnTime",
    "completedLate",
    "delayed",
    "delaySecondsSum",
    "rescheduled",
    "priorityChanges",
];
pub const OPEN: [&str; 3] = ["new", "in_progress", "on_hold"];

/// Counters that only grow, one step per command that raises them: the freshness probe.
const MONOTONE: [&str; 5] = [
    "created",
    "completed",
    "priorityChanges",
    "delayed",
    "rescheduled",
];

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateOptions {
    /// The stack's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Simulated users.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Tasks, spread over the users.
    #[arg(long, default_value_t = 200)]
    pub tasks: usize,
    /// Tasks in progress at once (each sends its commands in order).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Commands per second at most (unlimited when absent), spread evenly over time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seed of the workload (random when absent; printed for reruns).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share (0 to 0.9) of processed messages the local event source mapping delivers again.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Shuffle the records of every batch.
    #[arg(long)]
    pub reorder: bool,
    /// Malformed messages to put on the queue; each must end in the dead-letter queue.
    #[arg(long, default_value_t = 0)]
    pub poison: usize,
    /// Shorthand for --duplicate-rate 0.25 --reorder --poison 5.
    #[arg(long)]
    pub chaos: bool,
    /// How long to wait for the counters (and dead letters) to reach the recount.
    #[arg(long, default_value_t = 120)]
    pub settle_timeout_secs: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl SimulateOptions {
    fn delivery(&self) -> DeliveryChaos {
        if self.chaos {
            DeliveryChaos {
                duplicate_rate: self.duplicate_rate.max(0.25),
                reorder: true,
            }
        } else {
            DeliveryChaos {
                duplicate_rate: self.duplicate_rate,
                reorder: self.reorder,
            }
        }
    }

    fn poison_count(&self) -> usize {
        if self.chaos {
            self.poison.max(5)
        } else {
            self.poison
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Setup(String),
    #[error("{method} {path}: {detail}")]
    Http {
        method: Method,
        path: String,
        detail: String,
    },
}

/// One step of a task's life.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Create {
        planned: DateTime<Utc>,
        priority: &'static str,
    },
    Priority(&'static str),
    PlannedDate(DateTime<Utc>),
    Status(&'static str),
}

#[derive(Debug, Clone)]
struct TaskScript {
    user: usize,
    steps: Vec<Step>,
}

const PRIORITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Planned dates stay at least this far from "now", so on time or late is never a close call.
const MARGIN_HOURS: i64 = 2;

fn workload(
    options: &SimulateOptions,
    rng: &mut fastrand::Rng,
    now: DateTime<Utc>,
) -> Vec<TaskScript> {
    (0..options.tasks)
        .map(|i| {
            let user = i % options.users.max(1);
            let late = rng.f64() < 0.3;
            let mut planned = if late {
                now - TimeDelta::hours(rng.i64(MARGIN_HOURS + 1..72))
            } else {
                now + TimeDelta::hours(rng.i64(MARGIN_HOURS + 1..240))
            };
            let mut priority = PRIORITIES[rng.usize(..PRIORITIES.len())];
            let mut status = "new";
            let mut steps = vec![Step::Create { planned, priority }];
            for _ in 0..rng.usize(0..=4) {
                match rng.u8(0..4) {
                    0 => {
                        let other = loop {
                            let p = PRIORITIES[rng.usize(..PRIORITIES.len())];
                            if p != priority {
                                break p;
                            }
                        };
                        priority = other;
                        steps.push(Step::Priority(other));
                    }
                    1 => {
                        planned += TimeDelta::hours(rng.i64(1..72));
                        steps.push(Step::PlannedDate(planned));
                    }
                    2 => {
                        let earlier = planned - TimeDelta::hours(rng.i64(1..24));
                        // Earlier, but on the same side of now as before.
                        if (earlier - now).num_hours().abs() > MARGIN_HOURS
                            && (earlier > now) == (planned > now)
                        {
                            planned = earlier;
                            steps.push(Step::PlannedDate(planned));
                        }
                    }
                    _ => {
                        let next = if status == "in_progress" {
                            "on_hold"
                        } else {
                            "in_progress"
                        };
                        status = next;
                        steps.push(Step::Status(next));
                    }
                }
            }
            match rng.u8(0..10) {
                0..=5 => steps.push(Step::Status("completed")),
                6 => steps.push(Step::Status("cancelled")),
                _ => {}
            }
            TaskScript { user, steps }
        })
        .collect()
}

/// What the simulator expects of one scope's analytics.
#[derive(Debug, Clone, Default, PartialEq)]
struct Recount {
    counters: BTreeMap<&'static str, i64>,
    open: BTreeMap<&'static str, i64>,
}

impl Recount {
    fn add(&mut self, counter: &'static str, delta: i64) {
        *self.counters.entry(counter).or_default() += delta;
    }

    fn gauge(&mut self, status: &str, delta: i64) {
        if let Some(name) = OPEN.iter().find(|s| **s == status) {
            *self.open.entry(name).or_default() += delta;
        }
    }

    fn monotone(&self) -> i64 {
        MONOTONE
            .iter()
            .map(|c| self.counters.get(c).copied().unwrap_or(0))
            .sum()
    }

    fn merge(&mut self, other: &Recount) {
        for (c, v) in &other.counters {
            *self.counters.entry(c).or_default() += v;
        }
        for (s, v) in &other.open {
            *self.open.entry(s).or_default() += v;
        }
    }
}

/// The analytics API's answer, reduced to what is compared.
fn observed(analytics: &Value) -> Recount {
    let mut recount = Recount::default();
    for counter in COMPARED {
        let value = analytics["totals"][counter].as_i64().unwrap_or(0);
        recount.counters.insert(counter, value);
    }
    for status in OPEN {
        recount
            .open
            .insert(status, analytics["openTasks"][status].as_i64().unwrap_or(0));
    }
    recount
}

/// Differences `(counter, expected, actual)`, zeros and absent counters being equal.
fn differences(expected: &Recount, actual: &Recount) -> Vec<(String, i64, i64)> {
    let mut out = vec![];
    for counter in COMPARED {
        let e = expected.counters.get(counter).copied().unwrap_or(0);
        let a = actual.counters.get(counter).copied().unwrap_or(0);
        if e != a {
            out.push((counter.to_owned(), e, a));
        }
    }
    for status in OPEN {
        let e = expected.open.get(status).copied().unwrap_or(0);
        let a = actual.open.get(status).copied().unwrap_or(0);
        if e != a {
            out.push((format!("openTasks.{status}"), e, a));
        }
    }
    out
}

/// Bodies a faulty producer could send: each must fail alone and end in the dead-letter queue.
fn poison_bodies(count: usize) -> Vec<String> {
    let kinds = [
        "this is not JSON".to_owned(),
        json!({"eventType": "TaskCreated"}).to_string(),
        json!({"eventId": "0193a1c2-0000-7000-8000-000000000001", "eventType": "TaskExploded",
               "schemaVersion": 1, "occurredAt": "2026-11-26T10:00:00Z",
               "taskId": "0193a1c2-0000-7000-8000-000000000002", "userId": "poison",
               "sequence": 1, "data": {}})
        .to_string(),
        json!({"eventId": "0193a1c2-0000-7000-8000-000000000003", "eventType": "TaskCreated",
               "schemaVersion": 99, "occurredAt": "2026-11-26T10:00:00Z",
               "taskId": "0193a1c2-0000-7000-8000-000000000004", "userId": "poison",
               "sequence": 1, "data": {}})
        .to_string(),
        json!({"eventId": "not-a-uuid", "eventType": "TaskCreated", "schemaVersion": 1,
               "occurredAt": "yesterday", "taskId": "x", "userId": "poison", "sequence": 0,
               "data": {"title": ""}})
        .to_string(),
    ];
    (0..count).map(|i| kinds[i % kinds.len()].clone()).collect()
}

struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

/// Attempts per command: 5xx and connection errors are retried with the same idempotency key.
const ATTEMPTS: u32 = 6;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpClient {
    fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    /// A request that must succeed (2xx), retried on 5xx and transport errors.
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value, SimulateError> {
        let body = body.map(|b| b.to_string());
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let backoff = Duration::from_millis(50 * (1 << attempt.min(5)));
                tokio::time::sleep(backoff).await;
            }
            match self.send(method.clone(), path, headers, body.clone()).await {
                Ok((status, value)) if status.is_success() => return Ok(value),
                Ok((status, value)) if status.is_server_error() => {
                    last = format!("{status}: {value}");
                }
                Ok((status, value)) => {
                    return Err(SimulateError::Http {
                        method,
                        path: path.to_owned(),
                        detail: format!("{status}: {value}"),
                    });
                }
                Err(error) => last = error,
            }
        }
        Err(SimulateError::Http {
            method,
            path: path.to_owned(),
            detail: format!("failed {ATTEMPTS} times; last: {last}"),
        })
    }
}

/// Per user: when each level of the monotone counters' sum was accepted and first seen.
#[derive(Debug, Default)]
struct Freshness {
    accepted: Vec<Instant>,
    seen: Vec<Instant>,
}

struct Shared {
    http: HttpClient,
    users: Vec<String>,
    recounts: Vec<Mutex<Recount>>,
    freshness: Vec<Mutex<Freshness>>,
    commands: std::sync::atomic::AtomicU64,
    events: std::sync::atomic::AtomicU64,
    errors: Mutex<Vec<String>>,
    progress: ProgressBar,
    /// The earliest instant of the next command when the rate is limited.
    next_slot: Option<Mutex<tokio::time::Instant>>,
    slot_interval: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Shared {
    fn user_headers(&self, user: usize) -> [(&str, &str); 1] {
        [("x-local-user", self.users[user].as_str())]
    }

    /// Runs one task's steps in order, recounting each accepted command's effect.
    async fn run_task(&self, script: &TaskScript, key_prefix: &str) -> Result<(), SimulateError> {
        let user = script.user;
        let mut task_path = String::new();
        let mut status = "new";
        let mut planned = Utc::now();
        for (n, step) in script.steps.iter().enumerate() {
            let key = format!("{key_prefix}-{n}");
            let mut headers = vec![("idempotency-key", key.as_str())];
            headers.extend(self.user_headers(user));
            let (path, body) = match step {
                Step::Create { planned, priority } => (
                    "/tasks".to_owned(),
                    json!({"title": format!("Simulated task {key_prefix}"), "priority": priority,
                           "plannedAccomplishDate": rfc3339(*planned)}),
                ),
                Step::Priority(p) => (format!("{task_path}/priority"), json!({ "priority": p })),
                Step::PlannedDate(at) => (
                    format!("{task_path}/planned-date"),
                    json!({ "plannedAccomplishDate": rfc3339(*at) }),
                ),
                Step::Status(s) => (format!("{task_path}/status"), json!({ "status": s })),
            };
            self.pace().await;
            let answer = self
                .http
                .call(Method::POST, &path, &headers, Some(body))
                .await?;
            let accepted = Instant::now();
            let mut recount = lock(&self.recounts[user]);
            let before = recount.monotone();
            let events = match step {
                Step::Create { planned: p, .. } => {
                    let id = answer["id"].as_str().ok_or_else(|| SimulateError::Http {
                        method: Method::POST,
                        path: path.clone(),
                        detail: format!("the created task has no id: {answer}"),
                    })?;
                    task_path = format!("/tasks/{id}");
                    planned = *p;
                    recount.add("created", 1);
                    recount.gauge("new", 1);
                    1
                }
                Step::Priority(_) => {
                    recount.add("priorityChanges", 1);
                    1
                }
                Step::PlannedDate(to) => {
                    if *to > planned {
                        recount.add("delayed", 1);
                        recount.add("delaySecondsSum", (*to - planned).num_seconds());
                    } else {
                        recount.add("rescheduled", 1);
                    }
                    planned = *to;
                    1
                }
                Step::Status(to) => {
                    recount.gauge(status, -1);
                    recount.gauge(to, 1);
                    status = to;
                    if *to == "completed" {
                        recount.add("completed", 1);
                        let on_time = Utc::now() <= planned;
                        recount.add(
                            if on_time {
                                "completedOnTime"
                            } else {
                                "completedLate"
                            },
                            1,
                        );
                        2
                    } else {
                        1
                    }
                }
            };
            let raised = recount.monotone() - before;
            drop(recount);
            if raised > 0 {
                let mut freshness = lock(&self.freshness[user]);
                for _ in 0..raised {
                    freshness.accepted.push(accepted);
                }
            }
            self.commands
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.events
                .fetch_add(events, std::sync::atomic::Ordering::Relaxed);
            self.progress.inc(1);
        }
        Ok(())
    }

    async fn analytics(
        &self,
        user: Option<usize>,
        from: NaiveDate,
    ) -> Result<Value, SimulateError> {
        let to = Utc::now().date_naive();
        let range = format!("from={from}&to={to}");
        match user {
            Some(user) => {
                self.http
                    .call(
                        Method::GET,
                        &format!("/analytics/me?{range}"),
                        &self.user_headers(user),
                        None,
                    )
                    .await
            }
            None => {
                self.http
                    .call(
                        Method::GET,
                        &format!("/analytics/global?{range}"),
                        &[
                            ("x-local-user", "simulator"),
                            ("x-local-scopes", "analytics:read"),
                        ],
                        None,
                    )
                    .await
            }
        }
    }

    /// Waits for this command's slot when the rate is limited.
    async fn pace(&self) {
        let Some(next_slot) = &self.next_slot else {
            return;
        };
        let slot = {
            let mut next = lock(next_slot);
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.slot_interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Notes the levels of the monotone counters that `answer` (read just now) shows.
    fn note_seen(&self, user: usize, answer: &Value) {
        let now = Instant::now();
        let level = usize::try_from(observed(answer).monotone()).unwrap_or(0);
        let mut f = lock(&self.freshness[user]);
        while f.seen.len() < level {
            f.seen.push(now);
        }
    }

    /// Polls the users with levels not yet seen until `done` turns true; returns the mean
    /// time of a polling round, the resolution of the freshness samples.
    async fn observe(&self, from: NaiveDate, done: tokio::sync::watch::Receiver<bool>) -> Duration {
        let started = Instant::now();
        let mut rounds = 0u32;
        while !*done.borrow() {
            rounds += 1;
            for user in 0..self.users.len() {
                let behind = {
                    let f = lock(&self.freshness[user]);
                    f.seen.len() < f.accepted.len()
                };
                if behind && let Ok(answer) = self.analytics(Some(user), from).await {
                    self.note_seen(user, &answer);
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed() / rounds.max(1)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct SimulationReport {
    pub commands: u64,
    pub events: u64,
    pub commands_per_second: f64,
    pub events_per_second: f64,
    pub freshness_p50: Duration,
    pub freshness_p99: Duration,
    pub freshness_samples: usize,
    /// Mean time of one round of the observer's polls: the samples' resolution.
    pub freshness_resolution: Duration,
    pub mismatches: Vec<String>,
    pub errors: Vec<String>,
    pub dead_letters_expected: usize,
    pub dead_letters_found: Option<u64>,
}

impl SimulationReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
            && self.errors.is_empty()
            && self
                .dead_letters_found
                .is_none_or(|found| found >= self.dead_letters_expected as u64)
    }
}

async fn local_stats(http: &HttpClient) -> Result<Value, SimulateError> {
    http.call(Method::GET, "/_local/stats", &[], None).await
}

fn dead_letters(stats: &Value) -> Option<u64> {
    stats["queue"]["deadLetters"].as_u64()
}

fn mapping_stats(stats: &Value) -> Option<StatsSnapshot> {
    let m = &stats["mapping"];
    let get = |name: &str| m[name].as_u64().unwrap_or(0);
    m.is_object().then(|| StatsSnapshot {
        invocations: get("invocations"),
        records: get("records"),
        applied: get("applied"),
        duplicates: get("duplicates"),
        poison: get("poison"),
        failed_writes: get("failedWrites"),
        batch_item_failures: get("batchItemFailures"),
        failed_invocations: get("failedInvocations"),
        redelivered: get("redelivered"),
        queue_errors: get("queueErrors"),
    })
}

/// Runs the simulation and prints its report.
pub async fn run(options: SimulateOptions) -> Result<SimulationReport, SimulateError> {
    if options.users == 0 || options.tasks == 0 || options.concurrency == 0 {
        return Err(SimulateError::Setup(
            "--users, --tasks and --concurrency must be at least 1".into(),
        ));
    }
    if options
        .rate
        .is_some_and(|rate| !(rate >= 0.1 && rate.is_finite()))
    {
        return Err(SimulateError::Setup(
            "--rate must be at least 0.1 commands/s".into(),
        ));
    }
    let delivery = options.delivery();
    delivery
        .validate()
        .map_err(|e| SimulateError::Setup(format!("--duplicate-rate: {e}")))?;
    let http = HttpClient::new(&options.url);
    let health = http
        .send(Method::GET, "/health", &[], None)
        .await
        .map_err(|e| {
            SimulateError::Setup(format!(
                "no local stack answers at {}: {e}\n  start one with `cargo run` (or pass --url)",
                options.url
            ))
        })?;
    let backend = health.1["backend"].as_str().unwrap_or("?").to_owned();
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let run_id = format!("{:06x}", rng.u32(..) & 0xff_ffff);
    let start_day = Utc::now().date_naive();
    let scripts = workload(&options, &mut rng, Utc::now());
    let total_commands: usize = scripts.iter().map(|s| s.steps.len()).sum();
    println!(
        "taskpulse simulate: {} users, {} tasks, {total_commands} commands against {} ({backend}); seed {seed}",
        options.users, options.tasks, options.url
    );

    let progress = if options.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(total_commands as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "  {bar:40} {pos}/{len} commands  {per_sec}  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let shared = Arc::new(Shared {
        users: (0..options.users)
            .map(|i| format!("sim-{run_id}-user-{i}"))
            .collect(),
        recounts: (0..options.users).map(|_| Mutex::default()).collect(),
        freshness: (0..options.users).map(|_| Mutex::default()).collect(),
        http,
        commands: Default::default(),
        events: Default::default(),
        errors: Mutex::default(),
        progress,
        next_slot: options
            .rate
            .map(|_| Mutex::new(tokio::time::Instant::now())),
        slot_interval: options
            .rate
            .map_or(Duration::ZERO, |rate| Duration::from_secs_f64(1.0 / rate)),
    });

    let global_before = observed(&shared.analytics(None, start_day).await?);
    let stats_before = local_stats(&shared.http).await.ok();
    let dead_before = stats_before.as_ref().and_then(dead_letters);
    let poison = options.poison_count();
    let chaos_wanted = delivery != DeliveryChaos::default() || poison > 0;
    if chaos_wanted && stats_before.is_none() {
        return Err(SimulateError::Setup(
            "delivery chaos and poison need the local stack's /_local endpoints, which this URL does not serve".into(),
        ));
    }
    if delivery != DeliveryChaos::default() {
        shared
            .http
            .call(Method::PUT, "/_local/delivery", &[], Some(json!(delivery)))
            .await?;
        println!(
            "  delivery: {:.0} % of processed messages delivered again{}",
            delivery.duplicate_rate * 100.0,
            if delivery.reorder {
                ", batches shuffled"
            } else {
                ""
            }
        );
    }
    for body in poison_bodies(poison) {
        shared
            .http
            .send(Method::POST, "/_local/queue/messages", &[], Some(body))
            .await
            .map_err(|e| SimulateError::Setup(format!("injecting poison: {e}")))?;
    }
    if poison > 0 {
        println!("  poison: {poison} malformed messages put on the queue");
    }

    let (done_tx, done) = tokio::sync::watch::channel(false);
    let observer = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move { shared.observe(start_day, done).await })
    };
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(
        scripts.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let shared = Arc::clone(&shared);
            let queue = Arc::clone(&queue);
            let run_id = run_id.clone();
            tokio::spawn(async move {
                loop {
                    let next = lock(&queue).pop();
                    let Some((n, script)) = next else { return };
                    if let Err(error) = shared.run_task(&script, &format!("{run_id}-{n}")).await {
                        lock(&shared.errors).push(error.to_string());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let sending = started.elapsed();
    shared.progress.finish_and_clear();
    let commands = shared.commands.load(std::sync::atomic::Ordering::Relaxed);
    let events = shared.events.load(std::sync::atomic::Ordering::Relaxed);

    // Settle: wait until every user's counters and the global ones reach the recount.
    let settle_until = Instant::now() + Duration::from_secs(options.settle_timeout_secs);
    let expected_global = {
        let mut total = global_before.clone();
        for recount in &shared.recounts {
            total.merge(&lock(recount));
        }
        total
    };
    let mut mismatches;
    let mut settled_at;
    loop {
        mismatches = vec![];
        for user in 0..options.users {
            let expected = lock(&shared.recounts[user]).clone();
            let answer = shared.analytics(Some(user), start_day).await?;
            shared.note_seen(user, &answer);
            let actual = observed(&answer);
            for (counter, e, a) in differences(&expected, &actual) {
                mismatches.push(format!(
                    "{}: {counter} expected {e}, found {a}",
                    shared.users[user]
                ));
            }
        }
        let actual = observed(&shared.analytics(None, start_day).await?);
        for (counter, e, a) in differences(&expected_global, &actual) {
            mismatches.push(format!("global: {counter} expected {e}, found {a}"));
        }
        settled_at = started.elapsed();
        if mismatches.is_empty() || Instant::now() >= settle_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = done_tx.send(true);
    let observer_round = observer.await.unwrap_or_default();

    let mut dead_letters_found = None;
    if poison > 0 {
        loop {
            let found = local_stats(&shared.http)
                .await
                .ok()
                .as_ref()
                .and_then(dead_letters);
            let new = found.map(|f| f.saturating_sub(dead_before.unwrap_or(0)));
            dead_letters_found = new;
            if new.is_none_or(|n| n >= poison as u64) || Instant::now() >= settle_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let stats_after = if stats_before.is_some() {
        local_stats(&shared.http).await.ok()
    } else {
        None
    };
    if delivery != DeliveryChaos::default() {
        let _ = shared
            .http
            .call(
                Method::PUT,
                "/_local/delivery",
                &[],
                Some(json!(DeliveryChaos::default())),
            )
            .await;
    }

    let mut samples: Vec<Duration> = shared
        .freshness
        .iter()
        .flat_map(|f| {
            let f = lock(f);
            f.accepted
                .iter()
                .zip(&f.seen)
                .map(|(accepted, seen)| seen.saturating_duration_since(*accepted))
                .collect::<Vec<_>>()
        })
        .collect();
    samples.sort();
    let errors = lock(&shared.errors).clone();
    let report = SimulationReport {
        commands,
        events,
        commands_per_second: commands as f64 / sending.as_secs_f64().max(1e-9),
        events_per_second: events as f64 / settled_at.as_secs_f64().max(1e-9),
        freshness_p50: percentile(&samples, 50.0),
        freshness_p99: percentile(&samples, 99.0),
        freshness_samples: samples.len(),
        freshness_resolution: observer_round,
        mismatches,
        errors,
        dead_letters_expected: poison,
        dead_letters_found,
    };
    print_report(
        &report,
        &options,
        sending,
        settled_at,
        stats_before.as_ref(),
        stats_after.as_ref(),
    );
    Ok(report)
}

fn print_report(
    report: &SimulationReport,
    options: &SimulateOptions,
    sending: Duration,
    settled_at: Duration,
    before: Option<&Value>,
    after: Option<&Value>,
) {
    println!(
        "  commands   {} accepted in {:.2} s: {:.0} commands/s ({} tasks in flight)",
        report.commands,
        sending.as_secs_f64(),
        report.commands_per_second,
        options.concurrency
    );
    println!(
        "  events     {} emitted, all counted {:.2} s after the first command: {:.0} events/s",
        report.events,
        settled_at.as_secs_f64(),
        report.events_per_second
    );
    println!(
        "  freshness  command accepted -> counter visible: p50 {:.0} ms, p99 {:.0} ms ({} samples, polled every {:.0} ms)",
        report.freshness_p50.as_secs_f64() * 1000.0,
        report.freshness_p99.as_secs_f64() * 1000.0,
        report.freshness_samples,
        report.freshness_resolution.as_secs_f64() * 1000.0,
    );
    if let (Some(before), Some(after)) = (
        before.and_then(mapping_stats),
        after.and_then(mapping_stats),
    ) {
        println!(
            "  consumer   {} invocations, {} records: {} applied, {} duplicates skipped, {} poison records failed; {} redelivered on purpose",
            after.invocations - before.invocations,
            after.records - before.records,
            after.applied - before.applied,
            after.duplicates - before.duplicates,
            after.poison - before.poison,
            after.redelivered - before.redelivered,
        );
    }
    if report.dead_letters_expected > 0 {
        println!(
            "  poison     {} injected, {} in the dead-letter queue",
            report.dead_letters_expected,
            report
                .dead_letters_found
                .map_or_else(|| "?".to_owned(), |n| n.to_string())
        );
        if let Some(extra) = report
            .dead_letters_found
            .and_then(|n| n.checked_sub(report.dead_letters_expected as u64))
            .filter(|extra| *extra > 0)
        {
            println!(
                "  note       {extra} more dead letters than poison: applied events whose batches \
                 outlived the visibility timeout maxReceiveCount times (raise the stack's \
                 --visibility-timeout-secs)"
            );
        }
    }
    for error in report.errors.iter().take(10) {
        println!("  error      {error}");
    }
    if report.mismatches.is_empty() {
        println!(
            "  counters   {} users and global: {} counters and 3 open-task gauges each equal the recount",
            options.users,
            COMPARED.len()
        );
    } else {
        for mismatch in report.mismatches.iter().take(20) {
            println!("  mismatch   {mismatch}");
        }
    }
    println!("{}", if report.passed() { "PASS" } else { "FAIL" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(tasks: usize) -> SimulateOptions {
        SimulateOptions {
            url: String::new(),
            users: 7,
            tasks,
            concurrency: 1,
            rate: None,
            seed: None,
            duplicate_rate: 0.0,
            reorder: false,
            poison: 0,
            chaos: false,
            settle_timeout_secs: 1,
            quiet: true,
        }
    }

    #[test]
    fn the_workload_covers_every_kind_of_command_and_both_completion_outcomes() {
        let now = Utc::now();
        let scripts = workload(&options(500), &mut fastrand::Rng::with_seed(7), now);
        assert_eq!(scripts.len(), 500);
        assert!(
            scripts
                .iter()
                .all(|s| matches!(s.steps[0], Step::Create { .. }))
        );
        let steps: Vec<&Step> = scripts.iter().flat_map(|s| &s.steps[1..]).collect();
        assert!(steps.iter().any(|s| matches!(s, Step::Priority(_))));
        assert!(steps.iter().any(|s| matches!(s, Step::Status("cancelled"))));
        assert!(steps.iter().any(|s| matches!(s, Step::Status("on_hold"))));
        let (mut on_time, mut late, mut delays, mut reschedules) = (0, 0, 0, 0);
        for script in &scripts {
            let Step::Create { mut planned, .. } = script.steps[0] else {
                unreachable!()
            };
            for step in &script.steps[1..] {
                match step {
                    Step::PlannedDate(to) => {
                        if *to > planned {
                            delays += 1
                        } else {
                            reschedules += 1
                        }
                        planned = *to;
                    }
                    Step::Status("completed") if planned >= now => on_time += 1,
                    Step::Status("completed") => late += 1,
                    _ => {}
                }
                // Never a close call between on time and late.
                assert!((planned - now).num_hours().abs() >= MARGIN_HOURS);
            }
        }
        assert!(
            on_time > 50 && late > 20 && delays > 20 && reschedules > 5,
            "{on_time} {late} {delays} {reschedules}"
        );
        // Users share the tasks.
        assert!(scripts.iter().map(|s| s.user).max() == Some(6));
    }

    #[test]
    fn differences_name_each_counter_that_is_off_and_ignore_absent_zeros() {
        let mut expected = Recount::default();
        expected.add("created", 3);
        expected.gauge("new", 2);
        expected.gauge("completed", 1);
        let mut actual = Recount::default();
        actual.add("created", 3);
        actual.add("delayed", 0);
        actual.gauge("new", 1);
        assert_eq!(
            differences(&expected, &actual),
            [("openTasks.new".to_owned(), 2, 1)]
        );
        actual.gauge("new", 1);
        assert!(differences(&expected, &actual).is_empty());
    }

    #[test]
    fn the_analytics_answer_is_read_into_a_recount() {
        let answer = json!({
            "totals": {"created": 4, "completed": 2, "completedOnTime": 1, "completedLate": 1,
                       "priorityChanges": 3, "delayed": 1, "rescheduled": 0, "onTimeRate": 0.5},
            "openTasks": {"new": 1, "in_progress": 1, "on_hold": 0}
        });
        let recount = observed(&answer);
        assert_eq!(recount.counters["created"], 4);
        assert_eq!(recount.open["in_progress"], 1);
        assert_eq!(recount.monotone(), 4 + 2 + 3 + 1);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn poison_bodies_are_all_refused_by_the_envelope_parser() {
        for body in poison_bodies(5) {
            assert!(
                taskpulse_domain::EventEnvelope::from_json(&body).is_err(),
                "{body}"
            );
        }
    }
}
