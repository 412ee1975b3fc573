//! A work queue on SQS (the rebuild's, and the eraser's): work items sent in batches of ten
//! with a `DelaySeconds` each, so none is received before its delay has passed (a rebuild's
//! settle time, an erasure's).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use taskpulse_app::{MAX_WORK_DELAY, SendWork, StoreError};

use crate::sqs_batch::{BatchNotSent, SQS_BATCH_LIMIT, send_batch};

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
        // Entries refused: the caller sends the batch again (a work item done twice changes
        // nothing).
        send_batch(&self.client, &self.queue_url, entries)
            .await
            .map_err(|not_sent| {
                StoreError::Unavailable(match not_sent {
                    BatchNotSent::Call(reason) => reason,
                    BatchNotSent::Entries { ids, reason } => format!(
                        "{} of {} work items refused: {reason}",
                        ids.len(),
                        bodies.len()
                    ),
                })
            })
    }
}
