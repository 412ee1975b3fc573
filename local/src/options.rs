//! The command line of `taskpulse serve`: which backend, and overrides of the event source
//! mapping's settings (the rest come from `template.yaml`).

use std::time::Duration;

use taskpulse_aws::env;
use taskpulse_devstack::ConsumerMapping;

use crate::error::StackError;
use crate::event_source_mapping::MappingSettings;

/// Where the tables and the queue live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// In-process tables and queue (the default without AWS configuration).
    Embedded,
    /// The tables and queues named by TASKS_TABLE, ANALYTICS_TABLE, EVENTS_QUEUE_URL and
    /// OUTBOX_CHECK_QUEUE_URL, at AWS_ENDPOINT_URL or in the AWS account of the usual
    /// credentials.
    Aws,
    /// A moto server started for this run, with the resources of template.yaml.
    Moto,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Aws => "aws",
            Self::Moto => "moto",
        }
    }

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
    /// Keep the embedded backend's event archive in this directory (S3's layout:
    /// `events/date=YYYY-MM-DD/*.jsonl`, readable by DuckDB) instead of in memory. The moto and
    /// aws backends archive to the template's bucket.
    #[arg(long, env = "TASKPULSE_ARCHIVE_DIR")]
    pub archive_dir: Option<std::path::PathBuf>,
    /// The address the moto backend's server listens on: 127.0.0.1, or Docker's bridge address
    /// for functions in containers (`sam local`, see scripts/sam-local.sh); never 0.0.0.0.
    #[arg(long, default_value = "127.0.0.1")]
    pub moto_host: std::net::Ipv4Addr,
    /// Write the `--env-vars` file of `sam local` for the moto backend's resources here, so
    /// that functions run by SAM share this stack's tables and queues.
    #[arg(long)]
    pub sam_env_vars: Option<std::path::PathBuf>,
    /// Open connections at most; one more is answered 503 and closed.
    #[arg(long, default_value_t = crate::server::MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    #[command(flatten)]
    pub mapping: MappingOverrides,
}

impl MappingOverrides {
    /// The template's settings with these overrides and the backend's local defaults.
    pub fn settings(
        &self,
        kind: BackendKind,
        template: &ConsumerMapping,
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
            batch_size: self.batch_size.unwrap_or(template.batch_size as usize),
            batching_window: self.batching_window_ms.map_or(
                Duration::from_secs(template.batching_window_seconds.into()),
                Duration::from_millis,
            ),
            concurrency: self.concurrency.unwrap_or(concurrency),
            visibility_timeout: self
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
}
