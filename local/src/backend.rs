//! Everything behind the local HTTP server, on one backend's adapters: the API handler, the
//! event source mapping with its queue and counter table, and the task table the relay reads.
//!
//! [`Backend`] is generic over the three tables and the queue, so the rest of the local stack
//! is written once. The constructors here are the only place that names concrete adapters:
//! [`Backend::embedded`] (in-process) and [`Backend::sdk`] (the SDK adapters, for the `aws` and
//! `moto` backends); `crate::run` picks one at start-up.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::TimeDelta;
use taskpulse_app::PlanLimits;
use taskpulse_app::erasure::ErasureTasks;
use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryTaskStore, MemoryWorkQueue};
use taskpulse_app::projections::{CachedProjectionConfig, PROJECTION_CONFIG_TTL};
use taskpulse_app::relay::OUTBOX_CHECK_DELAY;
use taskpulse_app::{
    ApplyTransaction, DeleteCounters, IndexPendingOutbox, ListPendingOutbox, ListUserDays,
    LoadProjectionConfig, MoveUserCounters, ReadCounters, RebuildProgress, RollUpMonths,
    SaveProjectionConfig, ScanCounters, TaskCommands,
};
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, S3Archive, env, sdk};
use taskpulse_devstack::ConsumerMapping;
use taskpulse_lambda::api::{Api, ApiTaskTable, CorsPolicy};

use crate::archive::LocalArchive;
use crate::eraser::local_erasure_settle;
use crate::error::StackError;
use crate::event_source_mapping::EventSourceMapping;
use crate::options::{BackendKind, MappingOverrides};
use crate::queue::{ApiQueues, EventQueue, MemoryQueue, SqsQueue};
use crate::rebuild::LocalRebuild;

/// A task table the local stack serves the API and runs the relay on.
pub trait TaskTable:
    ApiTaskTable + ListPendingOutbox + IndexPendingOutbox + ErasureTasks + Clone + 'static
{
}
impl<T> TaskTable for T where
    T: ApiTaskTable + ListPendingOutbox + IndexPendingOutbox + ErasureTasks + Clone + 'static
{
}

/// A counter table the consumer writes, the analytics routes read and a rebuild rebuilds.
pub trait AnalyticsTable:
    ApplyTransaction
    + ReadCounters
    + RollUpMonths
    + ScanCounters
    + DeleteCounters
    + MoveUserCounters
    + ListUserDays
    + RebuildProgress
    + LoadProjectionConfig
    + SaveProjectionConfig
    + Clone
    + 'static
{
}
impl<C> AnalyticsTable for C where
    C: ApplyTransaction
        + ReadCounters
        + RollUpMonths
        + ScanCounters
        + DeleteCounters
        + MoveUserCounters
        + ListUserDays
        + RebuildProgress
        + LoadProjectionConfig
        + SaveProjectionConfig
        + Clone
        + 'static
{
}

/// The embedded backend: everything in the process.
pub type EmbeddedBackend = Backend<MemoryTaskStore, MemoryQueue, MemoryAnalyticsStore>;
/// The `aws` and `moto` backends: the SDK adapters the functions use.
pub type SdkBackend = Backend<DynamoTaskStore, SqsQueue, DynamoAnalyticsStore>;

/// Everything behind the HTTP server: `T` is the task table, `Q` the events queue, `C` the
/// counter table.
pub struct Backend<T, Q, C> {
    pub kind: BackendKind,
    /// One line saying where the data lives.
    pub description: String,
    /// The API reads the active projection version through the API function's cache.
    pub api: Api<T, ApiQueues<Q>, CachedProjectionConfig<C>, MemoryWorkQueue>,
    pub mapping: Arc<EventSourceMapping<Q, C, T>>,
    /// How long an erasure settles here: the local consumer's timeout and a margin.
    pub erasure_settle: TimeDelta,
    /// The rebuild `/_local/rebuild` runs in this process.
    pub rebuild: Arc<LocalRebuild>,
    /// Keeps the moto server of the `moto` backend running.
    _moto: Option<taskpulse_devstack::Stack>,
}

/// The API's queues: `events`, and `checks` for its outbox checks.
fn api_queues<Q: EventQueue>(events: &Q, checks: Q) -> ApiQueues<Q> {
    ApiQueues {
        events: events.clone(),
        checks,
        check_delay: OUTBOX_CHECK_DELAY,
    }
}

/// The origins whose pages may call the local API from a browser: the API function's own
/// `CORS_ALLOWED_ORIGINS` (the dashboard served by the stack itself is same-origin).
fn cors_policy() -> Result<CorsPolicy, StackError> {
    CorsPolicy::parse(&env::optional(env::CORS_ALLOWED_ORIGINS))
        .map_err(|reason| StackError::Config(format!("{}: {reason}", env::CORS_ALLOWED_ORIGINS)))
}

impl EmbeddedBackend {
    pub fn embedded(
        template: &ConsumerMapping,
        overrides: &MappingOverrides,
        archive: LocalArchive,
    ) -> Result<Self, StackError> {
        let settings =
            overrides.settings(BackendKind::Embedded, template, Duration::from_secs(1))?;
        let queue = MemoryQueue::new(
            overrides
                .max_receive_count
                .unwrap_or(template.max_receive_count),
        );
        // The checks' queue redrives as the template's does.
        let checks = MemoryQueue::new(template.max_receive_count);
        let tasks = MemoryTaskStore::default();
        let counters = MemoryAnalyticsStore::default();
        let erasure_settle = local_erasure_settle(&settings)?;
        Ok(Self {
            kind: BackendKind::Embedded,
            description: format!(
                "embedded: in-process tables and queue (nothing to install; state gone on exit); archive {}",
                archive.describe()
            ),
            api: Api::new(
                TaskCommands::new(tasks.clone(), api_queues(&queue, checks)),
                CachedProjectionConfig::new(counters.clone(), PROJECTION_CONFIG_TTL),
                MemoryWorkQueue::default(),
            )
            .with_cors(cors_policy()?),
            mapping: Arc::new(EventSourceMapping::new(
                queue,
                archive,
                counters,
                tasks,
                PlanLimits::default(),
                settings,
            )),
            erasure_settle,
            rebuild: Arc::default(),
            _moto: None,
        })
    }
}

/// Where the SDK backend's tables and queue are.
pub struct SdkResources {
    /// One line saying where the data lives.
    pub description: String,
    pub config: SdkConfig,
    /// `AWS_ENDPOINT_URL`, for an emulator; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub tasks_table: String,
    pub analytics_table: String,
    pub queue_url: String,
    /// The queue the API schedules its outbox checks on.
    pub check_queue_url: String,
    pub archive_bucket: String,
    pub global_shards: u32,
}

impl SdkResources {
    /// The tables and queue the functions' environment variables name, at `AWS_ENDPOINT_URL`
    /// or in the AWS account of the usual credentials.
    pub async fn from_environment() -> Result<Self, StackError> {
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
        let named = |name| env::required(name).map_err(|e| StackError::Config(e.to_string()));
        let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
        let description = match &endpoint {
            Some(url) => format!("aws: the SDK adapters at {url}"),
            None => format!(
                "aws: the SDK adapters in region {}",
                config.region().map(|r| r.as_ref()).unwrap_or_default()
            ),
        };
        Ok(Self {
            description,
            tasks_table: named(env::TASKS_TABLE)?,
            analytics_table: named(env::ANALYTICS_TABLE)?,
            queue_url: named(env::EVENTS_QUEUE_URL)?,
            check_queue_url: named(env::OUTBOX_CHECK_QUEUE_URL)?,
            archive_bucket: named(env::ARCHIVE_BUCKET)?,
            global_shards: env::global_counter_shards()
                .map_err(|e| StackError::Config(e.to_string()))?,
            endpoint,
            config,
        })
    }

    /// The resources of `template.yaml` on a moto server started for the run.
    pub fn on_moto(stack: &taskpulse_devstack::Stack) -> Result<Self, StackError> {
        let resources = &stack.resources;
        let endpoint = stack.moto.endpoint_url();
        Ok(Self {
            description: format!(
                "moto: a moto server at {endpoint} with the tables and queues of template.yaml (state gone on exit)"
            ),
            config: stack.config.clone(),
            endpoint: Some(endpoint),
            tasks_table: resources.table(taskpulse_devstack::TASKS_TABLE)?.to_owned(),
            analytics_table: resources
                .table(taskpulse_devstack::ANALYTICS_TABLE)?
                .to_owned(),
            queue_url: resources
                .queue(taskpulse_devstack::EVENTS_QUEUE)?
                .url
                .clone(),
            check_queue_url: resources
                .queue(taskpulse_devstack::OUTBOX_CHECK_QUEUE)?
                .url
                .clone(),
            archive_bucket: resources
                .bucket(taskpulse_devstack::ARCHIVE_BUCKET)?
                .to_owned(),
            global_shards: PlanLimits::default().global_shards,
        })
    }
}

impl SdkBackend {
    /// Connects to the tables and the queue, failing clearly when one is unreachable or missing.
    pub async fn sdk(
        kind: BackendKind,
        resources: SdkResources,
        template: &ConsumerMapping,
        overrides: &MappingOverrides,
        moto: Option<taskpulse_devstack::Stack>,
    ) -> Result<Self, StackError> {
        if overrides.max_receive_count.is_some() {
            return Err(StackError::Config(
                "--max-receive-count applies to the embedded queue only; an SQS queue uses its redrive policy".into(),
            ));
        }
        let SdkResources {
            description,
            config,
            endpoint,
            tasks_table,
            analytics_table,
            queue_url,
            check_queue_url,
            archive_bucket,
            global_shards,
        } = resources;
        let where_ = endpoint.clone().unwrap_or_else(|| "AWS".into());
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
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
        let connect = |url: String| {
            let client = aws_sdk_sqs::Client::new(&config);
            let where_ = where_.clone();
            async move {
                SqsQueue::connect(client, &url)
                    .await
                    .map_err(|e| StackError::Unreachable {
                        what: format!("SQS queue {url}"),
                        endpoint: where_,
                        detail: e.detail,
                    })
            }
        };
        let queue = connect(queue_url).await?;
        let checks = connect(check_queue_url).await?;
        // Emulators may serve one request at a time, which a waiting receive would block.
        let receive_wait = if endpoint.is_some() {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        let settings = overrides.settings(kind, template, receive_wait)?;
        let tasks = DynamoTaskStore::new(dynamodb.clone(), &tasks_table);
        let counters = DynamoAnalyticsStore::new(dynamodb, &analytics_table, global_shards);
        let limits = PlanLimits {
            global_shards,
            ..PlanLimits::default()
        };
        let archive = LocalArchive::S3(S3Archive::new(sdk::s3_client(&config), archive_bucket));
        let erasure_settle = local_erasure_settle(&settings)?;
        Ok(Self {
            kind,
            description: format!("{description}; archive {}", archive.describe()),
            api: Api::new(
                TaskCommands::new(tasks.clone(), api_queues(&queue, checks)),
                CachedProjectionConfig::new(counters.clone(), PROJECTION_CONFIG_TTL),
                MemoryWorkQueue::default(),
            )
            .with_cors(cors_policy()?),
            mapping: Arc::new(EventSourceMapping::new(
                queue, archive, counters, tasks, limits, settings,
            )),
            erasure_settle,
            rebuild: Arc::default(),
            _moto: moto,
        })
    }
}
