//! Events onto SQS: one message per event, the `eventType` also as a message attribute so
//! subscriptions and tools can filter without parsing bodies. Outbox checks onto their own
//! queue, each delayed past the write it guards.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use taskpulse_app::relay::OutboxCheck;
use taskpulse_app::{PendingEvent, PublishError, PublishEvents, ScheduleOutboxCheck, StoreError};
use taskpulse_domain::{EventId, TaskId};

use crate::error::store_error;
use crate::sqs_batch::{BatchNotSent, SQS_BATCH_LIMIT, send_batch};
/// The largest message a queue takes: SQS's default `MaximumMessageSize` (256 KiB), which the
/// template's queues keep. It counts the body and every message attribute's name, type and
/// value.
pub const SQS_MAX_MESSAGE_BYTES: usize = 262_144;
/// The message attribute that carries the event's `eventType`.
pub const EVENT_TYPE_ATTRIBUTE: &str = "eventType";
/// The longest delay SQS gives a message (`DelaySeconds`).
const SQS_MAX_DELAY: Duration = Duration::from_secs(900);
/// How long a command waits for its outbox check to be taken before it indexes its task
/// instead: SQS answers in tens of milliseconds, so this is an outage, not a slow answer.
pub const CHECK_SEND_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct SqsEventPublisher {
    client: Client,
    queue_url: String,
    /// The outbox checks' queue and how long a check waits there; `None` for a publisher that
    /// schedules none (the relay's and the eraser's only publish).
    checks: Option<(String, Duration)>,
}

impl SqsEventPublisher {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            checks: None,
        }
    }

    /// The same publisher, scheduling outbox checks on `queue_url`, each delayed by `delay`
    /// (at most SQS's 15 minutes).
    pub fn with_outbox_checks(mut self, queue_url: impl Into<String>, delay: Duration) -> Self {
        self.checks = Some((queue_url.into(), delay.min(SQS_MAX_DELAY)));
        self
    }

    fn entry(event: &PendingEvent) -> Result<SendMessageBatchRequestEntry, String> {
        let event_type = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&event.event_type)
            .build()
            .map_err(|e| e.to_string())?;
        SendMessageBatchRequestEntry::builder()
            // Unique within the batch; lets the response name the entries that failed.
            .id(event.event_id.to_string())
            .message_body(&event.body)
            .message_attributes(EVENT_TYPE_ATTRIBUTE, event_type)
            .build()
            .map_err(|e| e.to_string())
    }

    async fn send_chunk(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        let all_failed = |reason: String| PublishError {
            failed: events.iter().map(|e| e.event_id).collect(),
            reason,
        };
        let entries = events
            .iter()
            .map(Self::entry)
            .collect::<Result<Vec<_>, _>>()
            .map_err(all_failed)?;
        match send_batch(&self.client, &self.queue_url, entries).await {
            Ok(()) => Ok(()),
            Err(BatchNotSent::Call(reason)) => Err(all_failed(reason)),
            // The entries' ids are the events' ids.
            Err(BatchNotSent::Entries { ids, reason }) => Err(PublishError {
                failed: events
                    .iter()
                    .map(|e| e.event_id)
                    .filter(|id| ids.contains(&id.to_string()))
                    .collect(),
                reason,
            }),
        }
    }
}

impl ScheduleOutboxCheck for SqsEventPublisher {
    async fn schedule_outbox_check(&self, task_id: TaskId) -> Result<(), StoreError> {
        let Some((queue_url, delay)) = &self.checks else {
            return Err(StoreError::Rejected(
                "no outbox check queue is configured".into(),
            ));
        };
        // The command's write waits for this answer: a queue that does not answer must not
        // take the function's whole timeout. A check taken after all is harmless.
        let bounded = aws_sdk_sqs::config::Builder::default().timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(CHECK_SEND_TIMEOUT)
                .build(),
        );
        self.client
            .send_message()
            .queue_url(queue_url)
            .message_body(OutboxCheck { task_id }.to_body())
            // At most SQS_MAX_DELAY (900 s): the conversion cannot fail.
            .delay_seconds(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
            .customize()
            .config_override(bounded)
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl PublishEvents for SqsEventPublisher {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        let mut failed: Vec<EventId> = vec![];
        let mut reasons = vec![];
        for chunk in events.chunks(SQS_BATCH_LIMIT) {
            if let Err(error) = self.send_chunk(chunk).await {
                failed.extend(error.failed);
                reasons.push(error.reason);
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError {
                failed,
                reason: reasons.join("; "),
            })
        }
    }
}
