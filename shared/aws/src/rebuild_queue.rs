//! A work queue on SQS (the rebuild's, and the eraser's): work items sent in batches of ten
//! with a `DelaySeconds` each, so none is received before its delay has passed (a rebuild's
//! settle time, an erasure's).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use taskpulse_app::{MAX_WORK_DELAY, SendWork, StoreError};

use crate::publisher::SQS_BATCH_LIMIT;

/// The longest `DelaySeconds` SQS takes.
const MAX_DELAY_SECONDS: u64 = MAX_WORK_DELAY.as_secs();

#[derive(Debug, Clone)]
pub struct SqsWorkQueue {
    client: Client,
    queue_url: String,
}

impl SqsWorkQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl SendWork for SqsWorkQueue {
    async fn send_work(&self, bodies: &[String], delay: Duration) -> Result<(), StoreError> {
        if bodies.len() > SQS_BATCH_LIMIT {
            return Err(StoreError::Rejected(format!(
                "{} messages in one batch; SQS takes {SQS_BATCH_LIMIT}",
                bodies.len()
            )));
        }
        if bodies.is_empty() {
            return Ok(());
        }
        // Rounded up: a work item may wait longer than asked, never shorter.
        let whole = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        if whole > MAX_DELAY_SECONDS {
            return Err(StoreError::Rejected(format!(
                "a delay of {whole} s is longer than SQS's {MAX_DELAY_SECONDS} s"
            )));
        }
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(body)
                    .delay_seconds(whole as i32)
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        // A 200 response can still carry failed entries; the caller sends the batch again
        // (a work item done twice changes nothing).
        let failed = output.failed();
        if failed.is_empty() {
            return Ok(());
        }
        let reason = failed
            .iter()
            .map(|f| {
                format!(
                    "entry {}: {} {}",
                    f.id(),
                    f.code(),
                    f.message().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(StoreError::Unavailable(format!(
            "{} of {} work items refused: {reason}",
            failed.len(),
            bodies.len()
        )))
    }
}
