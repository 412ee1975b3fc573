//! AWS SDK adapters of the taskpulse ports.
//!
//! - [`DynamoTaskStore`]: tasks with their pending events (the transactional outbox).
//! - [`SqsEventPublisher`]: one SQS message per event, sent in batches of ten.
//! - [`DynamoAnalyticsStore`]: per-day counter items of every projection version, moved
//!   exactly once per event; the projection configuration and a rebuild's progress.
//! - [`S3Archive`]: the event archive.
//! - [`SqsWorkQueue`]: a rebuild's work items, and an eraser's.
//!
//! The item layout is described in [`keys`] and in `docs/data-model.md`.

mod analytics_store;
mod archive_store;
mod batch;
pub mod capacity;
mod counter_scan;
pub mod env;
mod error;
pub mod keys;
mod partition_query;
mod projection_store;
mod publisher;
mod rebuild_queue;
pub mod sdk;
mod sqs_batch;
mod task_store;

pub use analytics_store::{
    DynamoAnalyticsStore, PARTITION_READS_AT_ONCE, TransactOutcome, TransactWrites,
};
pub use archive_store::S3Archive;
pub use env::ConfigError;
pub use publisher::{
    CHECK_SEND_TIMEOUT, EVENT_TYPE_ATTRIBUTE, SQS_MAX_MESSAGE_BYTES, SqsEventPublisher,
};
pub use rebuild_queue::SqsWorkQueue;
pub use sqs_batch::SQS_BATCH_LIMIT;
pub use task_store::DynamoTaskStore;
