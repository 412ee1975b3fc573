//! `GET /tasks` on the embedded backend with a million tasks. The local stack as `cargo run`
//! runs it (its HTTP server, the event source mapping's pollers and the outbox relay, on a
//! multi-threaded runtime of its own) on 127.0.0.1, its task table preloaded through the
//! store's port with the test kit's benchmark workload (10,000 users × 100 tasks in every
//! status), measured over loopback by HTTP clients on one more thread:
//!
//! - listing latency (p50/p99) of a user's first page, by one client and by eight at once,
//!   without and with a status filter;
//! - `/health` requests/s from a few clients, idle and while eight clients list without pause.
//!
//! Run: `cargo bench --bench listing` (release build; under a minute once built).
//! `LISTING_TASKS` sets how many tasks are preloaded (default 1,000,000, 100 per user).
//! Results are recorded in `docs/benchmarks.md`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use taskpulse_app::memory::MemoryTaskStore;
use taskpulse_app::{SaveTask, TaskWrite};
use taskpulse_devstack::{CONSUMER_FUNCTION, Template};
use taskpulse_domain::Task;
use taskpulse_lambda::api::DEFAULT_PAGE_SIZE;
use taskpulse_local::archive::LocalArchive;
use taskpulse_local::backend::{Backend, EmbeddedBackend};
use taskpulse_local::options::MappingOverrides;
use taskpulse_local::server::{self, USER_HEADER};
use taskpulse_testkit::{HistoryShape, percentile};
use tokio::sync::watch;

const DEFAULT_TASKS: usize = 1_000_000;
const TASKS_PER_USER: usize = 100;
/// Days the tasks' creation times spread over.
const DAYS: i64 = 30;
const LISTING_CLIENTS: usize = 8;
const HEALTH_CLIENTS: usize = 4;
/// Requests per listing client; a scenario also ends at `SCENARIO_LIMIT`, so that a store
/// that takes a second per listing still finishes.
const LISTINGS_PER_CLIENT: usize = 200;
const SCENARIO_LIMIT: Duration = Duration::from_secs(15);
const HEALTH_WINDOW: Duration = Duration::from_secs(5);

/// The listings measured: a first page, and one a status filter thins out (one task in six
/// of the workload stays new).
const LISTINGS: [(&str, &str); 2] = [
    ("first page (20)", "/tasks"),
    ("first page, `?status=new`", "/tasks?status=new"),
];

/// One HTTP client with its own connection pool, so that concurrent clients do not share a
/// connection.
struct HttpClient {
    client: Client<HttpConnector, Empty<Bytes>>,
    base: String,
}

impl HttpClient {
    fn new(addr: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: format!("http://{addr}"),
        }
    }

    /// `GET path` as `user`: the whole body, once it has arrived; anything but 200 is a
    /// broken run, not a slow one.
    async fn get(&self, path: &str, user: Option<&str>) -> Bytes {
        let mut request = http::Request::get(format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.header(USER_HEADER, user);
        }
        let response = self
            .client
            .request(request.body(Empty::new()).unwrap())
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.into_body().collect().await.unwrap().to_bytes()
    }
}

/// The tasks of the benchmark workload: `tasks` of `tasks / 100` users.
fn workload(tasks: usize) -> (HistoryShape, Vec<Task>) {
    let shape = HistoryShape::workload(tasks / TASKS_PER_USER, tasks, DAYS);
    let finals = shape.generate().finals;
    (shape, finals)
}

/// Stores every task as the API leaves it once its events are on the queue.
async fn preload(store: &MemoryTaskStore, tasks: &[Task]) {
    for task in tasks {
        store
            .save_task(TaskWrite {
                task,
                expected_version: None,
                pending_events: &[],
                idempotency: None,
                outbox_indexed: true,
            })
            .await
            .expect("a new task is stored");
    }
}

/// The ids of `user`'s newest tasks, newest first, as a first page must list them.
fn newest_ids(tasks: &[Task], user: &str, count: usize) -> Vec<String> {
    let mut own: Vec<&Task> = tasks.iter().filter(|t| t.owner.as_str() == user).collect();
    own.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    own.iter().take(count).map(|t| t.id.to_string()).collect()
}

fn listed_ids(body: &[u8]) -> Vec<String> {
    let page: Value = serde_json::from_slice(body).expect("a JSON page");
    page["items"]
        .as_array()
        .expect("a page of items")
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Latencies of `path` listed by one client per user at once, each sending its requests one
/// after the other; sorted.
async fn listing_latencies(
    addr: SocketAddr,
    users: &[String],
    path: &'static str,
) -> Vec<Duration> {
    let deadline = Instant::now() + SCENARIO_LIMIT;
    let clients: Vec<_> = users
        .iter()
        .map(|user| {
            let user = user.clone();
            tokio::spawn(async move {
                let client = HttpClient::new(addr);
                let mut latencies = Vec::with_capacity(LISTINGS_PER_CLIENT);
                while latencies.len() < LISTINGS_PER_CLIENT && Instant::now() < deadline {
                    let started = Instant::now();
                    client.get(path, Some(&user)).await;
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = vec![];
    for client in clients {
        all.extend(client.await.unwrap());
    }
    all.sort();
    all
}

/// `/health` answers per second from `HEALTH_CLIENTS` clients over `HEALTH_WINDOW`, while
/// one client per user in `listers` lists without pause; and the listings per second.
async fn health_rate(addr: SocketAddr, listers: &[String]) -> (f64, f64) {
    let started = Instant::now();
    let deadline = started + HEALTH_WINDOW;
    let loop_until_deadline = |path: &'static str, user: Option<String>| {
        tokio::spawn(async move {
            let client = HttpClient::new(addr);
            let mut answered = 0u64;
            while Instant::now() < deadline {
                client.get(path, user.as_deref()).await;
                answered += 1;
            }
            answered
        })
    };
    let health: Vec<_> = (0..HEALTH_CLIENTS)
        .map(|_| loop_until_deadline("/health", None))
        .collect();
    let listing: Vec<_> = listers
        .iter()
        .map(|user| loop_until_deadline("/tasks", Some(user.clone())))
        .collect();
    let mut health_answers = 0;
    for client in health {
        health_answers += client.await.unwrap();
    }
    let health_seconds = started.elapsed().as_secs_f64();
    let mut listings = 0;
    for client in listing {
        listings += client.await.unwrap();
    }
    let listing_seconds = started.elapsed().as_secs_f64();
    (
        health_answers as f64 / health_seconds,
        listings as f64 / listing_seconds,
    )
}

fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn main() {
    let tasks = std::env::var("LISTING_TASKS")
        .ok()
        .map(|n| {
            n.parse::<usize>()
                .expect("LISTING_TASKS is a number of tasks")
        })
        .unwrap_or(DEFAULT_TASKS);
    assert!(
        tasks >= TASKS_PER_USER * LISTING_CLIENTS,
        "too few tasks to list"
    );

    // The stack's runtime as `taskpulse` builds it: one worker per core.
    let stack_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let clients_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let template = Template::load_project()
        .and_then(|t| t.consumer_mapping(CONSUMER_FUNCTION))
        .expect("template.yaml has the consumer's mapping");
    let backend: EmbeddedBackend = Backend::embedded(
        &template,
        &MappingOverrides::default(),
        LocalArchive::Memory(Default::default()),
    )
    .expect("the embedded backend starts");
    let started = Instant::now();
    let (shape, workload) = workload(tasks);
    let generated = started.elapsed();
    let store = backend.api.commands().store().clone();
    clients_runtime.block_on(preload(&store, &workload));
    assert_eq!(store.len(), tasks);
    println!(
        "{tasks} tasks of {} users: generated in {:.1} s, stored in {:.1} s\n",
        shape.users,
        generated.as_secs_f64(),
        (started.elapsed() - generated).as_secs_f64()
    );

    let backend = Arc::new(backend);
    let (stop_tx, stop) = watch::channel(false);
    let listener = stack_runtime
        .block_on(taskpulse_local::run::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))
        .expect("a free port");
    let addr = listener.local_addr().unwrap();
    let pollers = {
        let _entered = stack_runtime.enter();
        backend.mapping.start(stop.clone())
    };
    let relay = stack_runtime.spawn(Arc::clone(&backend).run_relay(stop.clone()));
    let server = stack_runtime.spawn(server::serve(
        listener,
        Arc::clone(&backend),
        server::MAX_CONNECTIONS as usize,
        stop,
    ));

    // Users far apart in the workload, each with a full page of every listing.
    let users: Vec<String> = (0..LISTING_CLIENTS)
        .map(|i| shape.user(i * shape.users / LISTING_CLIENTS + 1))
        .collect();
    clients_runtime.block_on(async {
        let client = HttpClient::new(addr);
        let page = client.get("/tasks", Some(&users[0])).await;
        assert_eq!(
            listed_ids(&page),
            newest_ids(&workload, &users[0], DEFAULT_PAGE_SIZE),
            "the first page lists the user's newest tasks"
        );
    });
    drop(workload);

    println!("| `GET /tasks` | listing clients | requests | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for (name, path) in LISTINGS {
        for clients in [1, LISTING_CLIENTS] {
            let latencies =
                clients_runtime.block_on(listing_latencies(addr, &users[..clients], path));
            println!(
                "| {name} | {clients} | {} | {} | {} |",
                latencies.len(),
                ms(percentile(&latencies, 50.0)),
                ms(percentile(&latencies, 99.0))
            );
        }
    }

    println!("\n| `/health` from {HEALTH_CLIENTS} clients | requests/s | listings/s |");
    println!("|---|---|---|");
    for (name, listers) in [("idle", &users[..0]), ("while 8 clients list", &users[..])] {
        let (health, listings) = clients_runtime.block_on(health_rate(addr, listers));
        println!("| {name} | {health:.0} | {listings:.0} |");
    }

    let _ = stop_tx.send(true);
    stack_runtime.block_on(async {
        let _ = server.await;
        let _ = relay.await;
        for poller in pollers {
            let _ = poller.await;
        }
    });
}
