//! AWS SDK adapters of the taskpulse ports.
//!
//! - [`DynamoTaskStore`]: tasks with their pending events (the transactional outbox).
//! - [`SqsEventPublisher`]: one SQS message per event, sent in batches of ten.
//! - [`DynamoAnalyticsStore`]: per-day counter items, moved exactly once per event.
//!
//! The item layout is described in [`keys`] and in `docs/data-model.md`.

mod analytics_store;
pub mod capacity;
pub mod env;
mod error;
pub mod keys;
mod publisher;
mod rebuild_queue;
pub mod sdk;
mod task_store;

pub use analytics_store::{DynamoAnalyticsStore, TransactOutcome, TransactWrites};
pub use env::ConfigError;
pub use publisher::{EVENT_TYPE_ATTRIBUTE, SQS_BATCH_LIMIT, SqsEventPublisher};
pub use rebuild_queue::SqsWorkQueue;
pub use task_store::DynamoTaskStore;
