//! The pipeline on AWS-protocol endpoints, and the consumer's side of the event source
//! mapping: SQS messages turned into the records Lambda hands the consumer.

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use taskpulse_app::PlanLimits;
use taskpulse_app::relay::OUTBOX_CHECK_DELAY;
use taskpulse_app::{ApplyTransaction, LoadProjectionConfig, TaskCommands};
use taskpulse_aws::{
    DynamoAnalyticsStore, DynamoTaskStore, S3Archive, SqsEventPublisher, SqsWorkQueue, sdk,
};
use taskpulse_devstack::{
    ANALYTICS_TABLE, ARCHIVE_BUCKET, ERASURE_QUEUE, EVENTS_QUEUE, OUTBOX_CHECK_QUEUE, Provisioned,
    QueueInfo, Stack, TASKS_TABLE,
};
use taskpulse_lambda::api::Api;
use taskpulse_lambda::consumer::{BatchSummary, Consumer, handle_batch};
use taskpulse_local::queue;

use crate::client::{ApiClient, AwsApi};
use crate::offline::offline_sqs;

/// How long the local consumer may retry a batch, as the consumer function's timeout would.
pub const CONSUMER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);

/// A deadline for handing a batch to the consumer now.
pub fn consumer_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + CONSUMER_TIMEOUT
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Devstack(#[from] taskpulse_devstack::DevstackError),
    #[error("{0}")]
    Sqs(String),
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

/// A record with only a message id and a body: all the consumer reads.
pub fn sqs_record(message_id: impl Into<String>, body: String) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id.into());
    record.body = Some(body);
    record
}

/// The event Lambda invokes the consumer with for these records.
pub fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// The message ids the consumer reported failed, in its order.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

/// A fresh moto server with the resources of `template.yaml`, and the pipeline wired to it.
/// Any failure to get there panics: the tests never skip.
pub async fn pipeline_on_moto() -> (Stack, AwsPipeline) {
    let stack = Stack::start()
        .await
        .unwrap_or_else(|e| panic!("the moto-backed stack could not start: {e}"));
    let pipeline = AwsPipeline::new(&stack.config, &stack.resources)
        .unwrap_or_else(|e| panic!("pipeline wiring failed: {e}"));
    (stack, pipeline)
}

/// The pipeline on AWS-protocol endpoints (moto, LocalStack or AWS).
pub struct AwsPipeline {
    pub api: AwsApi,
    pub analytics: DynamoAnalyticsStore,
    /// The event archive the consumer writes, in the template's bucket.
    pub archive: S3Archive,
    pub limits: PlanLimits,
    pub sqs: aws_sdk_sqs::Client,
    pub queue: QueueInfo,
    /// The eraser's queue, where the API hands erasure requests.
    pub erasure_queue: QueueInfo,
    /// The outbox checks' queue, where the API schedules a check before each write.
    pub check_queue: QueueInfo,
    config: SdkConfig,
    /// The same queue through the local stack's adapter, for batch deletes and releases.
    events: queue::SqsQueue,
}

impl AwsPipeline {
    pub fn new(config: &SdkConfig, resources: &Provisioned) -> Result<Self, PipelineError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let queue = resources.queue(EVENTS_QUEUE)?.clone();
        let erasure_queue = resources.queue(ERASURE_QUEUE)?.clone();
        let check_queue = resources.queue(OUTBOX_CHECK_QUEUE)?.clone();
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
                    SqsEventPublisher::new(sqs.clone(), &queue.url)
                        .with_outbox_checks(&check_queue.url, OUTBOX_CHECK_DELAY),
                ),
                analytics.clone(),
                SqsWorkQueue::new(sqs.clone(), &erasure_queue.url),
            ),
            analytics,
            archive: S3Archive::new(sdk::s3_client(config), resources.bucket(ARCHIVE_BUCKET)?),
            limits,
            sqs,
            queue,
            erasure_queue,
            check_queue,
            config: config.clone(),
        })
    }

    /// The pipeline's API, one method per route.
    pub fn client(&self) -> ApiClient<'_> {
        ApiClient::new(&self.api)
    }

    /// The task table the API writes to.
    pub fn tasks(&self) -> &DynamoTaskStore {
        self.api.commands().store()
    }

    /// The eraser's queue, as the API and the eraser send to it.
    pub fn erasure_work(&self) -> SqsWorkQueue {
        SqsWorkQueue::new(self.sqs.clone(), &self.erasure_queue.url)
    }

    /// The events queue as the consumer sends held events back to it.
    pub fn requeue(&self) -> SqsWorkQueue {
        SqsWorkQueue::new(self.sqs.clone(), &self.queue.url)
    }

    /// A publisher to the events queue, as the API and the relay have.
    pub fn publisher(&self) -> SqsEventPublisher {
        SqsEventPublisher::new(self.sqs.clone(), &self.queue.url)
    }

    /// A publisher to the events queue whose every send fails to connect, outbox checks
    /// included: SQS is down.
    pub fn unreachable_publisher(&self) -> SqsEventPublisher {
        SqsEventPublisher::new(offline_sqs(&self.config), &self.queue.url)
            .with_outbox_checks(&self.check_queue.url, OUTBOX_CHECK_DELAY)
    }

    /// The API's publisher as it is when its events are refused after its outbox check went
    /// out: the checks reach their queue (at once, without the delay), every event is sent to
    /// a queue that does not exist.
    pub fn publisher_refused_by_events_queue(&self) -> SqsEventPublisher {
        SqsEventPublisher::new(self.sqs.clone(), format!("{}-missing", self.queue.url))
            .with_outbox_checks(&self.check_queue.url, std::time::Duration::ZERO)
    }

    /// Receives and deletes every outbox check on its queue, until a receive finds none, as
    /// the records Lambda hands the relay.
    pub async fn take_checks(&self) -> Result<SqsEvent, PipelineError> {
        let mut records = vec![];
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.check_queue.url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(sqs_error)?;
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(sqs_event(records));
            }
            for message in &messages {
                records.push(lambda_record(message, &self.check_queue.arn));
                if let Some(receipt) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.check_queue.url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(sqs_error)?;
                }
            }
        }
    }

    /// The API on the same tables, publishing through `publisher` instead.
    pub fn api_publishing_with(&self, publisher: SqsEventPublisher) -> AwsApi {
        Api::new(
            TaskCommands::new(self.tasks().clone(), publisher),
            self.analytics.clone(),
            self.erasure_work(),
        )
    }

    /// The event Lambda invokes the consumer with for messages received from the queue.
    pub fn delivery_of(&self, messages: &[Message]) -> SqsEvent {
        sqs_event(
            messages
                .iter()
                .map(|m| lambda_record(m, &self.queue.arn))
                .collect(),
        )
    }

    /// Hands a batch to the consumer writing to the pipeline's analytics table, as Lambda
    /// would, with the function's time to retry.
    pub async fn consume(&self, batch: SqsEvent) -> (SqsBatchResponse, BatchSummary) {
        self.consume_with(&self.analytics, batch).await
    }

    /// Hands a batch to the consumer writing through `store` (and to the pipeline's archive).
    pub async fn consume_with(
        &self,
        store: &(impl ApplyTransaction + LoadProjectionConfig),
        batch: SqsEvent,
    ) -> (SqsBatchResponse, BatchSummary) {
        let consumer = Consumer {
            archive: &self.archive,
            store,
            erasures: self.tasks(),
            requeue: self.requeue(),
            limits: self.limits,
        };
        handle_batch(&consumer, batch, consumer_deadline())
            .await
            .unwrap_or_else(|e| panic!("the consumer failed the whole batch: {e}"))
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

    /// Receives and deletes every message on the events queue, until a receive finds none.
    pub async fn drain(&self) -> Result<Vec<Message>, PipelineError> {
        let mut drained = vec![];
        loop {
            let messages = self.receive(1).await?;
            if messages.is_empty() {
                return Ok(drained);
            }
            self.delete(&messages).await?;
            drained.extend(messages);
        }
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
