//! Local stand-ins for AWS, for tests and the local run: a moto server from a pinned,
//! project-local virtualenv, and the resources of `template.yaml` created on it; the Lambda
//! emulators of cargo-lambda and of SAM CLI; a relay that gives requests to them a network's
//! delay.

pub mod bounded_http;
mod lambda;
mod latency_proxy;
mod moto;
mod process;
mod python_tools;
mod sam_env_vars;
mod sam_local;
mod template;

use std::net::Ipv4Addr;
use std::path::Path;

pub use lambda::LambdaEmulator;
pub use latency_proxy::LatencyProxy;
pub use moto::{MotoServer, sdk_config_for};
pub use python_tools::{PythonTools, workspace_root};
pub use sam_env_vars::sam_env_vars;
pub use sam_local::{INVOKE_TIMEOUT, SamEmulator, SamSettings, sam_invoke};
pub use template::{ConsumerMapping, Provisioned, QueueInfo, Template, provision};

/// Logical ids of the resources in `template.yaml` that the local stack and the tests use.
pub const TASKS_TABLE: &str = "TasksTable";
pub const ANALYTICS_TABLE: &str = "AnalyticsTable";
pub const EVENTS_QUEUE: &str = "EventsQueue";
pub const EVENTS_DLQ: &str = "EventsDeadLetterQueue";
pub const CONSUMER_FUNCTION: &str = "ConsumerFunction";
pub const ARCHIVE_BUCKET: &str = "ArchiveBucket";
pub const REBUILD_QUEUE: &str = "RebuildQueue";
pub const REBUILD_DLQ: &str = "RebuildDeadLetterQueue";
pub const ERASURE_QUEUE: &str = "ErasureQueue";
pub const ERASURE_DLQ: &str = "ErasureDeadLetterQueue";
pub const OUTBOX_CHECK_QUEUE: &str = "OutboxCheckQueue";
pub const OUTBOX_CHECK_DLQ: &str = "OutboxCheckDeadLetterQueue";

#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tool(String),
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("{call} failed: {detail}")]
    Aws { call: String, detail: String },
}

impl DevstackError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn aws(call: String, error: impl std::error::Error) -> Self {
        Self::Aws {
            call,
            detail: aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
        }
    }
}

/// A moto server with the template's tables and queues on it: everything an integration test
/// or the local run needs. Dropping it stops the server, which discards all its state.
pub struct Stack {
    pub moto: MotoServer,
    pub config: aws_config::SdkConfig,
    pub resources: Provisioned,
}

impl Stack {
    /// Starts moto and creates the resources of the project's `template.yaml` on it.
    pub async fn start() -> Result<Self, DevstackError> {
        Self::start_on(Ipv4Addr::LOCALHOST).await
    }

    /// [`Stack::start`] with moto on `host` (see [`MotoServer::start_on`]).
    pub async fn start_on(host: Ipv4Addr) -> Result<Self, DevstackError> {
        let moto = tokio::task::spawn_blocking(move || MotoServer::start_on(host))
            .await
            .map_err(|e| DevstackError::Tool(format!("moto start-up task failed: {e}")))??;
        let config = moto.sdk_config().await;
        let template = Template::load_project()?;
        let resources = provision(&config, &template, "taskpulse").await?;
        Ok(Self {
            moto,
            config,
            resources,
        })
    }
}
