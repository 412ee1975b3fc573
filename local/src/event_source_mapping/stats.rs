//! Running totals of the event source mapping, for the stats endpoint and the shutdown summary.

use std::sync::atomic::{AtomicU64, Ordering};

use taskpulse_lambda::consumer::BatchSummary;

/// Running totals of the mapping, for the stats endpoint and the shutdown summary.
#[derive(Debug, Default)]
pub struct MappingStats {
    pub invocations: AtomicU64,
    pub records: AtomicU64,
    pub applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub poison: AtomicU64,
    pub failed_writes: AtomicU64,
    /// Records reported as failed, left to come back after the visibility timeout.
    pub batch_item_failures: AtomicU64,
    /// Invocations that failed as a whole (every record comes back).
    pub failed_invocations: AtomicU64,
    /// Processed messages released on purpose (delivery chaos).
    pub redelivered: AtomicU64,
    pub queue_errors: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub invocations: u64,
    pub records: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub poison: u64,
    pub failed_writes: u64,
    pub batch_item_failures: u64,
    pub failed_invocations: u64,
    pub redelivered: u64,
    pub queue_errors: u64,
}

impl MappingStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            invocations: get(&self.invocations),
            records: get(&self.records),
            applied: get(&self.applied),
            duplicates: get(&self.duplicates),
            poison: get(&self.poison),
            failed_writes: get(&self.failed_writes),
            batch_item_failures: get(&self.batch_item_failures),
            failed_invocations: get(&self.failed_invocations),
            redelivered: get(&self.redelivered),
            queue_errors: get(&self.queue_errors),
        }
    }

    pub(super) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(super) fn record(&self, summary: &BatchSummary, failures: usize) {
        Self::add(&self.invocations, 1);
        Self::add(&self.records, summary.records);
        Self::add(&self.applied, summary.applied);
        Self::add(&self.duplicates, summary.duplicates);
        Self::add(&self.poison, summary.poison);
        Self::add(&self.failed_writes, summary.failed_writes);
        Self::add(&self.batch_item_failures, failures);
    }
}
