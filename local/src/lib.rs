//! The local stack: the whole system on one machine, as `cargo run` starts it.
//!
//! - [`run`]: `taskpulse serve`, from binding the port to the summary printed on Ctrl-C;
//! - [`backend`]: the adapters behind the server, generic over tables and queue, chosen once;
//! - [`server`]: the HTTP server that hands requests to the API Lambda's handler;
//! - [`queue`]: the events queue, in process or on SQS, and the outbox checks' queue beside it;
//! - [`relay`]: the outbox relay, its checks and its sweep;
//! - [`event_source_mapping`]: what Lambda does between the queue and the consumer;
//! - [`changes`]: notices that counters changed, for the dashboard's live updates;
//! - [`eraser`]: the eraser, on the erasure work the API hands it;
//! - [`archive`]: the event archive, in memory, in a directory or in S3;
//! - [`rebuild`]: a rebuild of the analytics from the archive, run in the stack;
//!   [`rebuild_command`] is `taskpulse rebuild`, which drives it.

pub mod archive;
pub mod backend;
pub mod changes;
pub mod eraser;
pub mod error;
pub mod event_source_mapping;
pub mod options;
pub mod queue;
pub mod rebuild;
pub mod rebuild_command;
pub mod relay;
pub mod run;
pub mod server;

pub use error::StackError;
pub use options::{BackendKind, ServeOptions};
pub use run::serve;
