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

mod client;
mod durations;
mod erasure;
mod freshness;
mod options;
mod overdue;
mod poison;
mod rebuild;
mod recount;
mod report;
mod run;
mod simulation;
mod workload;
mod zones;

use http::Method;

pub use freshness::percentile;
pub use options::SimulateOptions;
pub use recount::{BY_PRIORITY, COMPARED, OPEN};
pub use report::SimulationReport;
pub use run::run;

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
