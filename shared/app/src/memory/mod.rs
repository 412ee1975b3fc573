//! In-memory adapters of every port: for unit tests, and the embedded backend of the local run.
//! They keep the same guarantees as the DynamoDB and SQS adapters (conditional inserts, atomic
//! apply with a marker), so code tested against them behaves the same against AWS.

mod analytics_store;
mod archive;
mod archive_days;
mod counter_table;
mod event_queue;
mod month_items;
mod task_store;
mod work_queue;

use std::sync::{Mutex, MutexGuard};

pub use analytics_store::MemoryAnalyticsStore;
pub use archive::MemoryArchive;
pub use archive_days::MemoryArchiveDays;
pub use counter_table::CounterTable;
pub use event_queue::MemoryEventQueue;
pub use task_store::MemoryTaskStore;
pub use work_queue::{MemoryWorkQueue, Sent};

/// A poisoned lock only means another test thread panicked; the data is still consistent
/// because every critical section in these adapters is a single map operation.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
