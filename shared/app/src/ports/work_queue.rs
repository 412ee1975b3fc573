//! The port of a work queue: messages for workers, each delivered after a delay. A rebuild's
//! coordinator fans its partitions out over one (on AWS: SQS, drained by the worker function).

use std::future::Future;
use std::time::Duration;

use super::StoreError;

/// Message bodies per [`SendWork::send_work`] call: SQS's `SendMessageBatch` limit.
pub const WORK_BATCH_LIMIT: usize = 10;

/// The longest delay a work queue gives a message: SQS's `DelaySeconds` limit.
pub const MAX_WORK_DELAY: Duration = Duration::from_secs(900);

pub trait SendWork: Send + Sync {
    /// Sends up to [`WORK_BATCH_LIMIT`] message bodies, none delivered to a worker before
    /// `delay` has passed. Either every body was accepted, or the error says none may have
    /// been (sending them again is safe: a work item done twice changes nothing).
    fn send_work(
        &self,
        bodies: &[String],
        delay: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
