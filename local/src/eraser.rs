//! The eraser inside the local stack: the erasure work the API hands over is taken when due
//! and given to the eraser function's own batch handler, as the eraser's event source mapping
//! would on AWS; what it reports failed comes back after a pause.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::TimeDelta;
use taskpulse_app::SendWork;
use taskpulse_app::erasure::settle_time;
use taskpulse_aws::env;
use taskpulse_lambda::erasure::worker::ErasureWorker;
use tokio::sync::watch;

use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::error::StackError;
use crate::event_source_mapping::MappingSettings;
use crate::queue::EventQueue;

impl<T: TaskTable, Q: EventQueue, C: AnalyticsTable> Backend<T, Q, C> {
    /// Runs the eraser on the erasure work the API hands it, as the eraser function's event
    /// source mapping would, until `stop` turns true.
    pub async fn run_eraser(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let worker = ErasureWorker {
            tasks: self.api.commands().store().clone(),
            publisher: self.mapping.queue.clone(),
            analytics: self.mapping.counters().clone(),
            archive: self.mapping.archive().clone(),
            work: self.api.erasure_work().clone(),
            settle: self.erasure_settle,
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep(ERASER_POLL_INTERVAL) => {}
                _ = stop.changed() => return,
            }
            let due = worker.work.take_due(std::time::Instant::now());
            if due.is_empty() {
                continue;
            }
            let deadline = tokio::time::Instant::now() + ERASER_INVOCATION;
            // What the eraser reports failed comes back, as SQS would deliver it again (the
            // whole batch, were a record without an id to fail).
            let failed: Vec<String> = match worker.handle_batch(erasure_batch(&due), deadline).await
            {
                Ok((response, _)) => response
                    .batch_item_failures
                    .iter()
                    .filter_map(|f| f.item_identifier.strip_prefix("erasure-")?.parse().ok())
                    .filter_map(|n: usize| due.get(n).cloned())
                    .collect(),
                Err(_) => due.clone(),
            };
            if !failed.is_empty()
                && let Err(error) = worker.work.send_work(&failed, ERASER_RETRY_DELAY).await
            {
                tracing::warn!(%error, "erasure work could not be queued again");
            }
        }
    }
}

/// How often the local eraser looks for due erasure work, how long one of its runs may take
/// (as the eraser function's timeout), and when work it failed comes back.
const ERASER_POLL_INTERVAL: Duration = Duration::from_millis(250);
const ERASER_INVOCATION: Duration = Duration::from_secs(30);
const ERASER_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Erasure work bodies as the records of one SQS batch, numbered by position.
fn erasure_batch(bodies: &[String]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("erasure-{n}"));
            record.body = Some(body.clone());
            record
        })
        .collect();
    event
}

/// How long an erasure settles in the local stack: longer than the local consumer's timeout,
/// the longest local invocation that writes what an erasure removes.
pub(crate) fn local_erasure_settle(settings: &MappingSettings) -> Result<TimeDelta, StackError> {
    env::erasure_settle(settle_time(settings.function_timeout))
        .map_err(|e| StackError::Config(e.to_string()))
}
