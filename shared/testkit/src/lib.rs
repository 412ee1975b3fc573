//! What the integration tests and the benchmarks share: the pipeline wired to AWS-protocol
//! endpoints (moto) exactly as the Lambda functions are, with the piece Lambda provides on AWS
//! (receiving from SQS and handing records to the consumer) driven by the test itself.

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use taskpulse_app::PlanLimits;
use taskpulse_app::TaskCommands;
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, SqsEventPublisher};
use taskpulse_devstack::{ANALYTICS_TABLE, EVENTS_QUEUE, Provisioned, QueueInfo, TASKS_TABLE};
use taskpulse_lambda::api::Api;
use taskpulse_lambda::consumer::{BatchSummary, handle_batch};
use taskpulse_local::queue;
use tokio::time::Instant;

/// How long the local consumer may retry a batch, as the consumer function's timeout would.
pub const CONSUMER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

pub type AwsApi = Api<DynamoTaskStore, SqsEventPublisher, DynamoAnalyticsStore>;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Devstack(#[from] taskpulse_devstack::DevstackError),
    #[error("{0}")]
    Sqs(String),
    #[error("the consumer failed the whole batch: {0}")]
    Consumer(String),
}

/// The SQS record Lambda hands the consumer for a received message.
pub fn lambda_record(message: &Message, queue_arn: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id.clone();
    record.receipt_handle = message.receipt_handle.clone();
    record.body = message.body.clone();
    record.md5_of_body = message.md5_of_body.clone();
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_arn.to_owned());
    record.aws_region = Some("us-east-1".into());
    if let Some(attributes) = &message.attributes {
        record.attributes = attributes
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
            .collect();
    }
    if let Some(attributes) = &message.message_attributes {
        for (name, value) in attributes {
            let mut attribute = aws_lambda_events::event::sqs::SqsMessageAttribute::default();
            attribute.string_value = value.string_value.clone();
            attribute.data_type = Some(value.data_type.clone());
            record.message_attributes.insert(name.clone(), attribute);
        }
    }
    record
}

/// The pipeline on AWS-protocol endpoints (moto, LocalStack or AWS).
pub struct AwsPipeline {
    pub api: AwsApi,
    pub analytics: DynamoAnalyticsStore,
    pub limits: PlanLimits,
    pub sqs: aws_sdk_sqs::Client,
    pub queue: QueueInfo,
    /// The same queue through the local stack's adapter, for batch deletes and releases.
    events: queue::SqsQueue,
}

impl AwsPipeline {
    pub fn new(config: &SdkConfig, resources: &Provisioned) -> Result<Self, PipelineError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let queue = resources.queue(EVENTS_QUEUE)?.clone();
        let limits = PlanLimits::default();
        let analytics = DynamoAnalyticsStore::new(
            dynamodb.clone(),
            resources.table(ANALYTICS_TABLE)?,
            limits.global_shards,
        );
        Ok(Self {
            events: queue::SqsQueue::known(sqs.clone(), &queue.url, &queue.arn),
            api: Api::new(
                TaskCommands::new(
                    DynamoTaskStore::new(dynamodb, resources.table(TASKS_TABLE)?),
                    SqsEventPublisher::new(sqs.clone(), &queue.url),
                ),
                analytics.clone(),
            ),
            analytics,
            limits,
            sqs,
            queue,
        })
    }

    /// Receives up to ten messages (waiting up to `wait_seconds`).
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<Message>, PipelineError> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(output.messages.unwrap_or_default())
    }

    /// One poll of the event source mapping: receive a batch, invoke the consumer with it
    /// `deliveries` times (more than once simulates SQS redelivering it), then delete the
    /// records the consumer did not report as failed. Failed records stay on the queue and
    /// come back after the visibility timeout, as on AWS.
    pub async fn poll_once(
        &self,
        deliveries: usize,
    ) -> Result<Option<BatchSummary>, PipelineError> {
        let messages = self.receive(1).await?;
        if messages.is_empty() {
            return Ok(None);
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| lambda_record(m, &self.queue.arn))
            .collect();
        let mut total = BatchSummary::default();
        let mut failed_ids = vec![];
        for _ in 0..deliveries.max(1) {
            let deadline = Instant::now() + CONSUMER_TIMEOUT;
            let (response, summary) =
                handle_batch(&self.analytics, event.clone(), &self.limits, deadline)
                    .await
                    .map_err(|e| PipelineError::Consumer(e.to_string()))?;
            total.applied += summary.applied;
            total.duplicates += summary.duplicates;
            total.poison += summary.poison;
            total.failed_writes += summary.failed_writes;
            failed_ids = response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
        }
        let done: Vec<Message> = messages
            .into_iter()
            .filter(|m| {
                !failed_ids
                    .iter()
                    .any(|id| Some(id.as_str()) == m.message_id.as_deref())
            })
            .collect();
        self.delete(&done).await?;
        Ok(Some(total))
    }

    /// Makes received messages visible again at once, as if their visibility timeout had
    /// passed (SQS then counts another receive towards the redrive policy).
    pub async fn make_visible_now(&self, messages: &[Message]) -> Result<(), PipelineError> {
        self.events
            .release_receipts(messages.iter().filter_map(|m| m.receipt_handle()))
            .await
            .map_err(|e| PipelineError::Sqs(e.to_string()))
    }

    /// Deletes received messages.
    pub async fn delete(&self, messages: &[Message]) -> Result<(), PipelineError> {
        self.events
            .delete_receipts(messages.iter().filter_map(|m| m.receipt_handle()))
            .await
            .map_err(|e| PipelineError::Sqs(e.to_string()))
    }
}

fn sqs_error(error: impl std::error::Error) -> PipelineError {
    PipelineError::Sqs(DisplayErrorContext(&error).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};

    #[test]
    fn a_received_message_becomes_the_record_lambda_would_deliver() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body("{}")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .message_attributes(
                "eventType",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("TaskCreated")
                    .build()
                    .unwrap(),
            )
            .build();
        let record = lambda_record(&message, "arn:aws:sqs:us-east-1:000000000000:q");
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.receipt_handle.as_deref(), Some("rh-1"));
        assert_eq!(record.body.as_deref(), Some("{}"));
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(
            record.event_source_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:000000000000:q")
        );
        assert_eq!(record.attributes["ApproximateReceiveCount"], "2");
        let attribute = &record.message_attributes["eventType"];
        assert_eq!(attribute.string_value.as_deref(), Some("TaskCreated"));
        assert_eq!(attribute.data_type.as_deref(), Some("String"));
    }
}
