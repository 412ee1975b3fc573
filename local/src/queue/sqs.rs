//! A real SQS queue as the local event source mapping polls it.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use taskpulse_app::{PendingEvent, PublishError, PublishEvents};
use taskpulse_aws::{EVENT_TYPE_ATTRIBUTE, SQS_BATCH_LIMIT};

use super::{EventQueue, QueueDepth, QueueError, ReceivedMessage};

/// A real SQS queue (or an emulator's), with the dead-letter queue its redrive policy names.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    dead_letter_url: Option<String>,
    publisher: taskpulse_aws::SqsEventPublisher,
}

fn sqs_error(call: &'static str, error: impl std::error::Error) -> QueueError {
    QueueError {
        call,
        detail: DisplayErrorContext(&error).to_string(),
    }
}

impl SqsQueue {
    /// A queue whose ARN is known already; no dead-letter queue is looked up.
    pub fn known(client: aws_sdk_sqs::Client, url: &str, arn: &str) -> Self {
        Self {
            publisher: taskpulse_aws::SqsEventPublisher::new(client.clone(), url),
            client,
            url: url.to_owned(),
            arn: arn.to_owned(),
            dead_letter_url: None,
        }
    }

    /// Looks the queue up: its ARN, and the dead-letter queue of its redrive policy. Fails when
    /// the endpoint is unreachable or the queue does not exist.
    pub async fn connect(client: aws_sdk_sqs::Client, url: &str) -> Result<Self, QueueError> {
        let attributes = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| sqs_error("GetQueueAttributes", e))?;
        let attributes = attributes.attributes.unwrap_or_default();
        let arn = attributes
            .get(&QueueAttributeName::QueueArn)
            .cloned()
            .unwrap_or_default();
        let dead_letter_name = attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|policy| serde_json::from_str::<serde_json::Value>(policy).ok())
            .and_then(|policy| {
                let target = policy.get("deadLetterTargetArn")?.as_str()?;
                Some(target.rsplit(':').next()?.to_owned())
            });
        let dead_letter_url = match dead_letter_name {
            Some(name) => client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .ok()
                .and_then(|o| o.queue_url),
            None => None,
        };
        Ok(Self {
            publisher: taskpulse_aws::SqsEventPublisher::new(client.clone(), url),
            client,
            url: url.to_owned(),
            arn,
            dead_letter_url,
        })
    }

    /// Deletes messages by receipt handle, ten per DeleteMessageBatch call.
    pub async fn delete_receipts(
        &self,
        receipts: impl IntoIterator<Item = &str>,
    ) -> Result<(), QueueError> {
        for batch in receipt_batches(receipts) {
            let entries = batch
                .into_iter()
                .filter_map(|(id, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(id)
                        .receipt_handle(receipt)
                        .build()
                        .ok()
                })
                .collect();
            let answer = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            all_entries_succeeded("DeleteMessageBatch", answer.map(|output| output.failed))?;
        }
        Ok(())
    }

    /// Makes messages visible again at once, by receipt handle, ten per call.
    pub async fn release_receipts(
        &self,
        receipts: impl IntoIterator<Item = &str>,
    ) -> Result<(), QueueError> {
        for batch in receipt_batches(receipts) {
            let entries = batch
                .into_iter()
                .filter_map(|(id, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(id)
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let answer = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            all_entries_succeeded(
                "ChangeMessageVisibilityBatch",
                answer.map(|output| output.failed),
            )?;
        }
        Ok(())
    }
}

/// Receipt handles in batches of at most [`SQS_BATCH_LIMIT`] (what one batch call takes), each
/// with the id of its entry within the batch.
fn receipt_batches<'a>(receipts: impl IntoIterator<Item = &'a str>) -> Vec<Vec<(String, &'a str)>> {
    let receipts: Vec<&str> = receipts.into_iter().collect();
    receipts
        .chunks(SQS_BATCH_LIMIT)
        .map(|batch| {
            batch
                .iter()
                .enumerate()
                .map(|(i, receipt)| (i.to_string(), *receipt))
                .collect()
        })
        .collect()
}

impl EventQueue for SqsQueue {
    fn arn(&self) -> &str {
        &self.arn
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, SQS_BATCH_LIMIT) as i32)
            .visibility_timeout(visibility.as_secs().clamp(0, 43_200) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", e))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let attribute = |name: MessageSystemAttributeName| {
                    m.attributes
                        .as_ref()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or_default()
                };
                ReceivedMessage {
                    receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                        as u32,
                    sent_at_epoch_ms: attribute(MessageSystemAttributeName::SentTimestamp),
                    event_type: m
                        .message_attributes
                        .as_ref()
                        .and_then(|a| a.get(EVENT_TYPE_ATTRIBUTE))
                        .and_then(|v| v.string_value.clone()),
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn delete(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        self.delete_receipts(messages.iter().map(|m| m.receipt_handle.as_str()))
            .await
    }

    async fn release(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        self.release_receipts(messages.iter().map(|m| m.receipt_handle.as_str()))
            .await
    }

    async fn send_raw(&self, body: &str) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes(
                EVENT_TYPE_ATTRIBUTE,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("Unknown")
                    .build()
                    .map_err(|e| sqs_error("SendMessage", e))?,
            )
            .send()
            .await
            .map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }

    async fn send_later(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        // Rounded up, within SQS's 15 minutes.
        let seconds = (delay.as_secs() + u64::from(delay.subsec_nanos() > 0)).min(900);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(seconds as i32)
            .send()
            .await
            .map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let count = |url: String| async move {
            let output = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .send()
                .await
                .map_err(|e| sqs_error("GetQueueAttributes", e))?;
            let attributes = output.attributes.unwrap_or_default();
            let get = |name: QueueAttributeName| {
                attributes
                    .get(&name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or_default()
            };
            Ok::<_, QueueError>((
                get(QueueAttributeName::ApproximateNumberOfMessages),
                get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    + get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            ))
        };
        let (visible, in_flight) = count(self.url.clone()).await?;
        let dead_letters = match &self.dead_letter_url {
            Some(url) => {
                let (visible, in_flight) = count(url.clone()).await?;
                Some(visible + in_flight)
            }
            None => None,
        };
        Ok(QueueDepth {
            visible,
            in_flight,
            dead_letters,
        })
    }

    fn dead_letters(&self) -> Option<Vec<(String, u32)>> {
        None
    }
}

/// A batch call can answer 200 and still fail some entries: both are failures here.
fn all_entries_succeeded<E: std::error::Error>(
    call: &'static str,
    answer: Result<Vec<aws_sdk_sqs::types::BatchResultErrorEntry>, E>,
) -> Result<(), QueueError> {
    let failed = answer.map_err(|e| sqs_error(call, e))?;
    if failed.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| format!("{}: {}", f.id(), f.message().unwrap_or(f.code())))
        .collect();
    Err(QueueError {
        call,
        detail: reasons.join("; "),
    })
}

impl PublishEvents for SqsQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        self.publisher.publish_events(events).await
    }
}
