//! The events queue as the local event source mapping uses it: receive with a visibility
//! timeout, delete, release, and the dead-letter queue after `maxReceiveCount` receives.
//!
//! Two implementations of [`EventQueue`]: [`MemoryQueue`], an in-process queue with the
//! semantics of an SQS standard queue with a redrive policy (the embedded default of the local
//! stack), and [`SqsQueue`], a real SQS queue reached through the SDK (moto, LocalStack or AWS).

mod api_queues;
mod memory;
mod sqs;

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use taskpulse_app::{PublishEvents, SendWork, StoreError};
use taskpulse_aws::EVENT_TYPE_ATTRIBUTE;

pub use api_queues::ApiQueues;
pub use memory::{MEMORY_QUEUE_ARN, MemoryQueue};
pub use sqs::SqsQueue;

#[derive(Debug, thiserror::Error)]
#[error("{call} failed: {detail}")]
pub struct QueueError {
    pub call: &'static str,
    pub detail: String,
}

/// A message as one receive returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: String,
    /// Valid until the message is received again; deleting with an older one does nothing.
    pub receipt_handle: String,
    pub body: String,
    pub event_type: Option<String>,
    /// How many times the message has been received, this receive included.
    pub receive_count: u32,
    pub sent_at_epoch_ms: i64,
}

impl ReceivedMessage {
    /// The SQS record Lambda puts into the consumer's event for this message.
    pub fn to_record(&self, queue_arn: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(self.message_id.clone());
        record.receipt_handle = Some(self.receipt_handle.clone());
        record.body = Some(self.body.clone());
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(queue_arn.to_owned());
        record.aws_region = queue_arn.split(':').nth(3).map(str::to_owned);
        record.attributes.insert(
            "ApproximateReceiveCount".into(),
            self.receive_count.to_string(),
        );
        record
            .attributes
            .insert("SentTimestamp".into(), self.sent_at_epoch_ms.to_string());
        if let Some(event_type) = &self.event_type {
            let mut attribute = aws_lambda_events::event::sqs::SqsMessageAttribute::default();
            attribute.string_value = Some(event_type.clone());
            attribute.data_type = Some("String".into());
            record
                .message_attributes
                .insert(EVENT_TYPE_ATTRIBUTE.into(), attribute);
        }
        record
    }
}

/// Messages on the queue and on its dead-letter queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    /// Waiting to be received.
    pub visible: u64,
    /// Received and neither deleted nor back yet, or sent with a delay not passed yet.
    pub in_flight: u64,
    /// Moved to the dead-letter queue; `None` when the queue has no dead-letter queue.
    pub dead_letters: Option<u64>,
}

/// What the event source mapping and the local endpoints do with the events queue. The API
/// publishes to it through [`PublishEvents`].
pub trait EventQueue: PublishEvents + Clone + 'static {
    /// The ARN the records carry as their `eventSourceArn`.
    fn arn(&self) -> &str;

    /// Receives up to `max` messages (at most 10, as SQS), hiding them for `visibility`,
    /// waiting up to `wait` for the first one.
    fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<ReceivedMessage>, QueueError>> + Send;

    /// Deletes processed messages.
    fn delete(
        &self,
        messages: &[&ReceivedMessage],
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Makes received messages visible again at once: they are delivered again, as SQS does
    /// with a message whose visibility timeout passed.
    fn release(
        &self,
        messages: &[&ReceivedMessage],
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Sends a message with any body, as a faulty or foreign producer might.
    fn send_raw(&self, body: &str) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Sends a message body again, delivered once `delay` has passed (at most 15 minutes).
    fn send_later(
        &self,
        body: &str,
        delay: Duration,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    fn depth(&self) -> impl Future<Output = Result<QueueDepth, QueueError>> + Send;

    /// Bodies and receive counts of the dead letters, oldest first, where the queue keeps them
    /// itself; `None` where they are on an SQS dead-letter queue (read it with the SQS API).
    fn dead_letters(&self) -> Option<Vec<(String, u32)>>;
}

/// The events queue as the consumer sends held events back to it (on AWS, `SqsWorkQueue` on
/// the events queue's URL). Locally they come back after `delay`, the mapping's visibility
/// timeout, as a failed record would: a local erasure takes seconds, not the minutes the
/// function's delay is made for.
#[derive(Debug, Clone)]
pub struct Requeue<Q> {
    pub queue: Q,
    pub delay: Duration,
}

impl<Q: EventQueue> SendWork for Requeue<Q> {
    async fn send_work(&self, bodies: &[String], _delay: Duration) -> Result<(), StoreError> {
        for body in bodies {
            self.queue
                .send_later(body, self.delay)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_carries_what_lambda_puts_into_it() {
        let message = ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: "r-1".into(),
            body: "{}".into(),
            event_type: Some("TaskCreated".into()),
            receive_count: 2,
            sent_at_epoch_ms: 1_700_000_000_000,
        };
        let record = message.to_record("arn:aws:sqs:eu-west-1:1:q");
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.receipt_handle.as_deref(), Some("r-1"));
        assert_eq!(
            record.event_source_arn.as_deref(),
            Some("arn:aws:sqs:eu-west-1:1:q")
        );
        assert_eq!(record.aws_region.as_deref(), Some("eu-west-1"));
        assert_eq!(record.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(
            record.message_attributes[EVENT_TYPE_ATTRIBUTE]
                .string_value
                .as_deref(),
            Some("TaskCreated")
        );
    }
}
