//! The local stack: the API handler behind an HTTP server on 127.0.0.1, the events queue, the
//! event source mapping and the consumer, and the outbox relay, on one of three backends:
//!
//! - `embedded`: in-process tables and queue; nothing to install, state gone on exit;
//! - `aws`: the real SDK adapters on the tables and queue named by the functions' environment
//!   variables, at `AWS_ENDPOINT_URL` (moto, LocalStack) or in an AWS account;
//! - `moto`: a moto server started for the run, with the resources of `template.yaml`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::TimeDelta;
use taskpulse_app::PlanLimits;
use taskpulse_app::TaskCommands;
use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryTaskStore};
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, env, sdk};
use taskpulse_devstack::{ConsumerMapping, Template};
use taskpulse_lambda::api::Api;
use taskpulse_lambda::relay::relay_outbox;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::mapping::{CounterStore, EventSourceMapping, MappingSettings};
use crate::queue::{EventQueue, MemoryQueue, SqsQueue};

/// Where the tables and the queue live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// In-process tables and queue (the default without AWS configuration).
    Embedded,
    /// The tables and queue named by TASKS_TABLE, ANALYTICS_TABLE and EVENTS_QUEUE_URL, at
    /// AWS_ENDPOINT_URL or in the AWS account of the usual credentials.
    Aws,
    /// A moto server started for this run, with the resources of template.yaml.
    Moto,
}

impl BackendKind {
    /// `aws` when the environment names an endpoint or the tables, else `embedded`.
    pub fn from_environment() -> Self {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        if set("AWS_ENDPOINT_URL") || set(env::TASKS_TABLE) {
            Self::Aws
        } else {
            Self::Embedded
        }
    }
}

/// Overrides of the event source mapping's settings (the rest come from `template.yaml`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MappingOverrides {
    /// Records per consumer invocation [template: ConsumerBatchSize].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Longest wait for a batch to fill, in milliseconds [template: 1000].
    #[arg(long)]
    pub batching_window_ms: Option<u64>,
    /// Concurrent consumer invocations [template: ConsumerMaximumConcurrency; 2 on the moto
    /// backend, whose server answers one request at a time].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// How long a received message stays hidden; a failed record is retried after it
    /// [default: 2 s embedded, 10 s on SQS; the template's 180 s would make each retry take
    /// 3 minutes].
    #[arg(long)]
    pub visibility_timeout_secs: Option<u64>,
    /// Receives after which the in-process queue moves a message to its dead letters
    /// [template: the queue's RedrivePolicy.maxReceiveCount]. On SQS the queue's own policy
    /// applies.
    #[arg(long)]
    pub max_receive_count: Option<u32>,
}

/// The local visibility timeouts: short, so that retries and dead letters show within seconds.
/// On SQS (moto above all) a batch takes longer; a message whose batch outlives its
/// visibility timeout is delivered again, and its receipt handle no longer deletes it.
pub const EMBEDDED_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(2);
pub const SQS_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pollers on the moto backend: its server answers one request at a time.
pub const MOTO_CONCURRENCY: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot listen on {addr}: the port is already in use (stop the other process or pass --port)"
    )]
    PortInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("{what} is unreachable or missing at {endpoint}: {detail}")]
    Unreachable {
        what: String,
        endpoint: String,
        detail: String,
    },
    #[error(transparent)]
    Devstack(#[from] taskpulse_devstack::DevstackError),
}

pub type MemoryApi = Api<MemoryTaskStore, EventQueue, MemoryAnalyticsStore>;
pub type SdkApi = Api<DynamoTaskStore, EventQueue, DynamoAnalyticsStore>;

/// The API handler, on the backend's adapters.
pub enum LocalApi {
    Memory(MemoryApi),
    Sdk(SdkApi),
}

impl LocalApi {
    pub async fn handle(
        &self,
        request: lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body> {
        match self {
            Self::Memory(api) => api.handle(request).await,
            Self::Sdk(api) => api.handle(request).await,
        }
    }
}

/// The task table as the relay needs it.
#[derive(Clone)]
enum RelayStore {
    Memory(MemoryTaskStore),
    Dynamo(DynamoTaskStore),
}

/// Everything behind the HTTP server.
pub struct Backend {
    pub kind: BackendKind,
    /// One line saying where the data lives.
    pub description: String,
    pub api: LocalApi,
    pub mapping: Arc<EventSourceMapping>,
    relay_store: RelayStore,
    /// Keeps the moto server of the `moto` backend running.
    _moto: Option<taskpulse_devstack::Stack>,
}

fn mapping_settings(
    kind: BackendKind,
    template: &ConsumerMapping,
    overrides: &MappingOverrides,
    receive_wait: Duration,
) -> Result<MappingSettings, StackError> {
    let (visibility, concurrency) = match kind {
        BackendKind::Embedded => (
            EMBEDDED_VISIBILITY_TIMEOUT,
            template.maximum_concurrency as usize,
        ),
        BackendKind::Aws => (
            SQS_VISIBILITY_TIMEOUT,
            template.maximum_concurrency as usize,
        ),
        BackendKind::Moto => (SQS_VISIBILITY_TIMEOUT, MOTO_CONCURRENCY),
    };
    let settings = MappingSettings {
        batch_size: overrides.batch_size.unwrap_or(template.batch_size as usize),
        batching_window: overrides.batching_window_ms.map_or(
            Duration::from_secs(template.batching_window_seconds.into()),
            Duration::from_millis,
        ),
        concurrency: overrides.concurrency.unwrap_or(concurrency),
        visibility_timeout: overrides
            .visibility_timeout_secs
            .map_or(visibility, Duration::from_secs),
        function_timeout: Duration::from_secs(template.function_timeout_seconds.into()),
        receive_wait,
    };
    if !(1..=10_000).contains(&settings.batch_size) {
        return Err(StackError::Config("--batch-size must be 1 to 10000".into()));
    }
    if settings.batch_size > 10 && settings.batching_window.is_zero() {
        // As Lambda: batches above 10 records need a window to gather them.
        return Err(StackError::Config(
            "--batch-size above 10 needs a batching window of at least 1 ms".into(),
        ));
    }
    if !(1..=1000).contains(&settings.concurrency) {
        return Err(StackError::Config("--concurrency must be 1 to 1000".into()));
    }
    if settings.visibility_timeout.is_zero() {
        return Err(StackError::Config(
            "--visibility-timeout-secs must be at least 1".into(),
        ));
    }
    Ok(settings)
}

impl Backend {
    pub async fn build(
        kind: BackendKind,
        overrides: &MappingOverrides,
    ) -> Result<Self, StackError> {
        let template = Template::load_project()?.consumer_mapping("ConsumerFunction")?;
        match kind {
            BackendKind::Embedded => Self::embedded(&template, overrides),
            BackendKind::Aws => {
                let config = sdk::config_loader()
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(3))
                            .operation_attempt_timeout(Duration::from_secs(10))
                            .build(),
                    )
                    .load()
                    .await;
                if config.region().is_none() {
                    return Err(StackError::Config(
                        "no AWS region: set AWS_REGION (any region for an emulator)".into(),
                    ));
                }
                let names =
                    |name| env::required(name).map_err(|e| StackError::Config(e.to_string()));
                let tables = (names(env::TASKS_TABLE)?, names(env::ANALYTICS_TABLE)?);
                let queue_url = names(env::EVENTS_QUEUE_URL)?;
                let shards =
                    env::global_counter_shards().map_err(|e| StackError::Config(e.to_string()))?;
                let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
                let description = match &endpoint {
                    Some(url) => format!("aws: the SDK adapters at {url}"),
                    None => format!(
                        "aws: the SDK adapters in region {}",
                        config.region().map(|r| r.as_ref()).unwrap_or_default()
                    ),
                };
                Self::sdk(
                    kind,
                    description,
                    &config,
                    endpoint,
                    tables,
                    &queue_url,
                    shards,
                    &template,
                    overrides,
                    None,
                )
                .await
            }
            BackendKind::Moto => {
                let stack = taskpulse_devstack::Stack::start().await?;
                let resources = &stack.resources;
                let tables = (
                    resources.table(crate::TASKS_TABLE)?.to_owned(),
                    resources.table(crate::ANALYTICS_TABLE)?.to_owned(),
                );
                let queue_url = resources.queue(crate::EVENTS_QUEUE)?.url.clone();
                let endpoint = stack.moto.endpoint_url();
                let description = format!(
                    "moto: a moto server at {endpoint} with the tables and queues of template.yaml (state gone on exit)"
                );
                let config = stack.config.clone();
                let shards = PlanLimits::default().global_shards;
                Self::sdk(
                    kind,
                    description,
                    &config,
                    Some(endpoint),
                    tables,
                    &queue_url,
                    shards,
                    &template,
                    overrides,
                    Some(stack),
                )
                .await
            }
        }
    }

    fn embedded(
        template: &ConsumerMapping,
        overrides: &MappingOverrides,
    ) -> Result<Self, StackError> {
        let settings = mapping_settings(
            BackendKind::Embedded,
            template,
            overrides,
            Duration::from_secs(1),
        )?;
        let queue = EventQueue::Memory(MemoryQueue::new(
            overrides
                .max_receive_count
                .unwrap_or(template.max_receive_count),
        ));
        let tasks = MemoryTaskStore::default();
        let counters = MemoryAnalyticsStore::default();
        Ok(Self {
            kind: BackendKind::Embedded,
            description:
                "embedded: in-process tables and queue (nothing to install; state gone on exit)"
                    .into(),
            api: LocalApi::Memory(Api::new(
                TaskCommands::new(tasks.clone(), queue.clone()),
                counters.clone(),
            )),
            mapping: Arc::new(EventSourceMapping::new(
                queue,
                CounterStore::Memory(counters),
                PlanLimits::default(),
                settings,
            )),
            relay_store: RelayStore::Memory(tasks),
            _moto: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn sdk(
        kind: BackendKind,
        description: String,
        config: &SdkConfig,
        endpoint: Option<String>,
        (tasks_table, analytics_table): (String, String),
        queue_url: &str,
        shards: u32,
        template: &ConsumerMapping,
        overrides: &MappingOverrides,
        moto: Option<taskpulse_devstack::Stack>,
    ) -> Result<Self, StackError> {
        if overrides.max_receive_count.is_some() {
            return Err(StackError::Config(
                "--max-receive-count applies to the embedded queue only; an SQS queue uses its redrive policy".into(),
            ));
        }
        let where_ = endpoint.clone().unwrap_or_else(|| "AWS".into());
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        for table in [&tasks_table, &analytics_table] {
            dynamodb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| StackError::Unreachable {
                    what: format!("DynamoDB table {table}"),
                    endpoint: where_.clone(),
                    detail: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                })?;
        }
        let queue = SqsQueue::connect(aws_sdk_sqs::Client::new(config), queue_url)
            .await
            .map_err(|e| StackError::Unreachable {
                what: format!("SQS queue {queue_url}"),
                endpoint: where_.clone(),
                detail: e.detail,
            })?;
        // Emulators may serve one request at a time, which a waiting receive would block.
        let receive_wait = if endpoint.is_some() {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        let settings = mapping_settings(kind, template, overrides, receive_wait)?;
        let queue = EventQueue::Sqs(queue);
        let tasks = DynamoTaskStore::new(dynamodb.clone(), &tasks_table);
        let counters = DynamoAnalyticsStore::new(dynamodb, &analytics_table, shards);
        let limits = PlanLimits {
            global_shards: shards,
            ..PlanLimits::default()
        };
        Ok(Self {
            kind,
            description,
            api: LocalApi::Sdk(Api::new(
                TaskCommands::new(tasks.clone(), queue.clone()),
                counters.clone(),
            )),
            mapping: Arc::new(EventSourceMapping::new(
                queue,
                CounterStore::Dynamo(counters),
                limits,
                settings,
            )),
            relay_store: RelayStore::Dynamo(tasks),
            _moto: moto,
        })
    }

    /// One scheduled run of the outbox relay.
    async fn relay_once(&self, grace: TimeDelta) {
        let publisher = &self.mapping.queue;
        let result = match &self.relay_store {
            RelayStore::Memory(store) => relay_outbox(store, publisher, grace).await,
            RelayStore::Dynamo(store) => relay_outbox(store, publisher, grace).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "outbox relay run failed");
        }
    }
}

/// Binds the HTTP port, telling a port in use apart from other failures.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StackError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StackError::PortInUse { addr }
        } else {
            StackError::Listen { addr, source }
        }
    })
}

/// How often the local relay looks for events the API could not publish (the deployed one runs
/// every minute).
const RELAY_INTERVAL: Duration = Duration::from_secs(10);

/// Runs the relay until `stop` turns true.
pub async fn run_relay(backend: Arc<Backend>, mut stop: watch::Receiver<bool>) {
    let grace =
        env::outbox_grace().unwrap_or(TimeDelta::seconds(env::DEFAULT_OUTBOX_GRACE_SECONDS));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELAY_INTERVAL) => backend.relay_once(grace).await,
            _ = stop.changed() => return,
        }
    }
}

impl Backend {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            BackendKind::Embedded => "embedded",
            BackendKind::Aws => "aws",
            BackendKind::Moto => "moto",
        }
    }
}

/// Options of `taskpulse serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Where the tables and the queue live [default: aws when AWS_ENDPOINT_URL or TASKS_TABLE
    /// is set, else embedded].
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    #[command(flatten)]
    pub mapping: MappingOverrides,
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Starts the stack, serves until Ctrl-C, then stops taking requests, lets the pollers finish
/// the batches they hold, and prints what the consumer did.
pub async fn serve(options: ServeOptions) -> Result<(), StackError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    // The port first: a port in use is the most common start-up failure, and cheap to find.
    let listener = bind(addr).await?;
    let addr = listener
        .local_addr()
        .map_err(|source| StackError::Listen { addr, source })?;
    let kind = options
        .backend
        .unwrap_or_else(BackendKind::from_environment);
    if kind == BackendKind::Moto {
        println!("Starting moto (first run installs it into .venv, about a minute)...");
    }
    let backend = Arc::new(Backend::build(kind, &options.mapping).await?);
    let settings = &backend.mapping.settings;
    let url = format!("http://{addr}");
    println!("taskpulse local stack");
    println!("  backend    {}", backend.description);
    println!("  API        {url}  (the API Lambda's handler, as API Gateway would call it)");
    println!("  health     {url}/health");
    println!(
        "  identity   header X-Local-User: <user id>; add X-Local-Scopes: analytics:read for /analytics/global"
    );
    println!(
        "  consumer   batches of up to {} records, window {} ms, {} pollers, visibility timeout {} s, retries until the dead-letter queue",
        settings.batch_size,
        settings.batching_window.as_millis(),
        settings.concurrency,
        settings.visibility_timeout.as_secs(),
    );
    println!(
        "  try        curl -s -X POST {url}/tasks -H 'X-Local-User: ana' -H 'Content-Type: application/json' \\"
    );
    println!(
        "               -d '{{\"title\":\"Write report\",\"plannedAccomplishDate\":\"2030-01-01T17:00:00Z\"}}'"
    );
    println!("             curl -s {url}/analytics/me -H 'X-Local-User: ana'");
    println!("  traffic    cargo run -- simulate --url {url}");
    println!("listening on {url} - press Ctrl-C to stop");

    let (stop_tx, stop) = watch::channel(false);
    let pollers = backend.mapping.start(stop.clone());
    let relay = tokio::spawn(run_relay(Arc::clone(&backend), stop.clone()));
    let server = tokio::spawn(crate::server::serve(listener, Arc::clone(&backend), stop));

    shutdown_signal().await;
    println!("\nStopping: no new requests; finishing the batches in progress...");
    let _ = stop_tx.send(true);
    let _ = server.await;
    for poller in pollers {
        let _ = poller.await;
    }
    let _ = relay.await;
    let stats = backend.mapping.stats.snapshot();
    println!(
        "Consumer: {} invocations, {} records, {} events applied, {} duplicates skipped, {} poison, {} failed writes",
        stats.invocations,
        stats.records,
        stats.applied,
        stats.duplicates,
        stats.poison,
        stats.failed_writes
    );
    if let Ok(depth) = backend.mapping.queue.depth().await {
        let dead = depth
            .dead_letters
            .map_or_else(|| "?".into(), |n| n.to_string());
        println!(
            "Queue: {} waiting, {} in flight, {dead} dead letters{}",
            depth.visible,
            depth.in_flight,
            if backend.kind == BackendKind::Aws {
                ""
            } else {
                " (discarded with the local state)"
            }
        );
    }
    println!("Stopped.");
    Ok(())
}
