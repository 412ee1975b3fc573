//! The events queue as the local event source mapping uses it: receive with a visibility
//! timeout, delete, release, and the dead-letter queue after `maxReceiveCount` receives.
//!
//! Two implementations: [`MemoryQueue`], an in-process queue with the semantics of an SQS
//! standard queue with a redrive policy (the embedded default of the local stack), and
//! [`SqsQueue`], a real SQS queue reached through the SDK (moto, LocalStack or AWS).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use taskpulse_app::{PendingEvent, PublishError, PublishEvents};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The ARN the in-process queue reports as the records' `eventSourceArn`.
pub const MEMORY_QUEUE_ARN: &str = "arn:aws:sqs:local:000000000000:taskpulse-events";

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
                .insert("eventType".into(), attribute);
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
    /// Received and neither deleted nor back yet.
    pub in_flight: u64,
    /// Moved to the dead-letter queue; `None` when the queue has no dead-letter queue.
    pub dead_letters: Option<u64>,
}

/// The events queue of the local stack.
#[derive(Debug, Clone)]
pub enum EventQueue {
    Memory(MemoryQueue),
    Sqs(SqsQueue),
}

impl EventQueue {
    pub fn arn(&self) -> &str {
        match self {
            Self::Memory(_) => MEMORY_QUEUE_ARN,
            Self::Sqs(queue) => &queue.arn,
        }
    }

    /// Receives up to `max` messages (at most 10, as SQS), hiding them for `visibility`,
    /// waiting up to `wait` for the first one.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        match self {
            Self::Memory(queue) => Ok(queue.receive(max, visibility, wait).await),
            Self::Sqs(queue) => queue.receive(max, visibility, wait).await,
        }
    }

    /// Deletes processed messages.
    pub async fn delete(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        match self {
            Self::Memory(queue) => {
                queue.delete(messages);
                Ok(())
            }
            Self::Sqs(queue) => queue.delete(messages).await,
        }
    }

    /// Makes received messages visible again at once: they are delivered again, as SQS does
    /// with a message whose visibility timeout passed.
    pub async fn release(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        match self {
            Self::Memory(queue) => {
                queue.release(messages);
                Ok(())
            }
            Self::Sqs(queue) => queue.release(messages).await,
        }
    }

    /// Sends a message with any body, as a faulty or foreign producer might.
    pub async fn send_raw(&self, body: &str) -> Result<(), QueueError> {
        match self {
            Self::Memory(queue) => {
                queue.send(body.to_owned(), None);
                Ok(())
            }
            Self::Sqs(queue) => queue.send_raw(body).await,
        }
    }

    pub async fn depth(&self) -> Result<QueueDepth, QueueError> {
        match self {
            Self::Memory(queue) => Ok(queue.depth()),
            Self::Sqs(queue) => queue.depth().await,
        }
    }
}

impl PublishEvents for EventQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        match self {
            Self::Memory(queue) => queue.publish_events(events).await,
            Self::Sqs(queue) => queue.publisher.publish_events(events).await,
        }
    }
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[derive(Debug)]
struct StoredMessage {
    body: String,
    event_type: Option<String>,
    sent_at_epoch_ms: i64,
    receive_count: u32,
    /// The receipt handle of the latest receive.
    receipt: Option<String>,
    /// Set while the message is in flight.
    invisible_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct QueueState {
    next_id: u64,
    messages: HashMap<u64, StoredMessage>,
    /// Ids of visible messages, oldest first (a standard queue only roughly keeps this order).
    visible: VecDeque<u64>,
    /// In-flight messages by the instant they become visible again.
    in_flight: BTreeSet<(Instant, u64)>,
    dead_letters: Vec<(u64, StoredMessage)>,
}

impl QueueState {
    /// Puts messages whose visibility timeout passed back on the queue.
    fn return_expired(&mut self, now: Instant) {
        while let Some(&(until, id)) = self.in_flight.first() {
            if until > now {
                break;
            }
            self.in_flight.pop_first();
            if let Some(message) = self.messages.get_mut(&id) {
                message.invisible_until = None;
                self.visible.push_back(id);
            }
        }
    }

    fn take_in_flight(&mut self, id: u64, receipt: &str) -> Option<&mut StoredMessage> {
        let message = self.messages.get_mut(&id)?;
        if message.receipt.as_deref() != Some(receipt) {
            return None;
        }
        let until = message.invisible_until.take()?;
        self.in_flight.remove(&(until, id));
        Some(message)
    }
}

#[derive(Debug)]
struct MemoryQueueShared {
    state: Mutex<QueueState>,
    arrived: Notify,
    max_receive_count: u32,
}

/// An in-process SQS standard queue with a redrive policy: a message received
/// `max_receive_count` times and not deleted moves to the dead-letter list on its next receive.
/// Clones share the queue.
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    shared: Arc<MemoryQueueShared>,
}

fn lock(state: &Mutex<QueueState>) -> MutexGuard<'_, QueueState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn receipt(id: u64, receive_count: u32) -> String {
    format!("{id}:{receive_count}")
}

fn receipt_id(receipt: &str) -> Option<u64> {
    receipt.split(':').next()?.parse().ok()
}

impl MemoryQueue {
    pub fn new(max_receive_count: u32) -> Self {
        Self {
            shared: Arc::new(MemoryQueueShared {
                state: Mutex::new(QueueState::default()),
                arrived: Notify::new(),
                max_receive_count: max_receive_count.max(1),
            }),
        }
    }

    pub fn send(&self, body: String, event_type: Option<String>) {
        {
            let mut state = lock(&self.shared.state);
            let id = state.next_id;
            state.next_id += 1;
            state.messages.insert(
                id,
                StoredMessage {
                    body,
                    event_type,
                    sent_at_epoch_ms: epoch_ms(),
                    receive_count: 0,
                    receipt: None,
                    invisible_until: None,
                },
            );
            state.visible.push_back(id);
        }
        self.shared.arrived.notify_waiters();
    }

    /// Takes up to `max` (≤ 10) visible messages now, hiding them for `visibility`.
    pub fn try_receive(&self, max: usize, visibility: Duration) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut state = lock(&self.shared.state);
        state.return_expired(now);
        let mut received = vec![];
        while received.len() < max.clamp(1, 10) {
            let Some(id) = state.visible.pop_front() else {
                break;
            };
            let Some(message) = state.messages.get_mut(&id) else {
                continue;
            };
            if message.receive_count >= self.shared.max_receive_count {
                if let Some(message) = state.messages.remove(&id) {
                    state.dead_letters.push((id, message));
                }
                continue;
            }
            message.receive_count += 1;
            let handle = receipt(id, message.receive_count);
            message.receipt = Some(handle.clone());
            let until = now + visibility;
            message.invisible_until = Some(until);
            received.push(ReceivedMessage {
                message_id: format!("local-{id}"),
                receipt_handle: handle,
                body: message.body.clone(),
                event_type: message.event_type.clone(),
                receive_count: message.receive_count,
                sent_at_epoch_ms: message.sent_at_epoch_ms,
            });
            state.in_flight.insert((until, id));
        }
        received
    }

    /// As [`Self::try_receive`], waiting up to `wait` for a message (a long poll).
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Vec<ReceivedMessage> {
        let give_up = Instant::now() + wait;
        loop {
            let arrived = self.shared.arrived.notified();
            let received = self.try_receive(max, visibility);
            let now = Instant::now();
            if !received.is_empty() || now >= give_up {
                return received;
            }
            // Wake on a new message, or when an in-flight one may have become visible again.
            let next_return = lock(&self.shared.state)
                .in_flight
                .first()
                .map(|(until, _)| *until);
            let wake = next_return.map_or(give_up, |until| until.min(give_up));
            let _ = tokio::time::timeout_at(wake, arrived).await;
        }
    }

    pub fn delete(&self, messages: &[&ReceivedMessage]) {
        let mut state = lock(&self.shared.state);
        for message in messages {
            let Some(id) = receipt_id(&message.receipt_handle) else {
                continue;
            };
            if state.take_in_flight(id, &message.receipt_handle).is_some() {
                state.messages.remove(&id);
            }
        }
    }

    pub fn release(&self, messages: &[&ReceivedMessage]) {
        {
            let mut state = lock(&self.shared.state);
            for message in messages {
                let Some(id) = receipt_id(&message.receipt_handle) else {
                    continue;
                };
                if state.take_in_flight(id, &message.receipt_handle).is_some() {
                    state.visible.push_back(id);
                }
            }
        }
        self.shared.arrived.notify_waiters();
    }

    pub fn depth(&self) -> QueueDepth {
        let mut state = lock(&self.shared.state);
        state.return_expired(Instant::now());
        QueueDepth {
            visible: state.visible.len() as u64,
            in_flight: state.in_flight.len() as u64,
            dead_letters: Some(state.dead_letters.len() as u64),
        }
    }

    /// Bodies and receive counts of the dead letters, oldest first.
    pub fn dead_letters(&self) -> Vec<(String, u32)> {
        lock(&self.shared.state)
            .dead_letters
            .iter()
            .map(|(_, m)| (m.body.clone(), m.receive_count))
            .collect()
    }
}

impl PublishEvents for MemoryQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        for event in events {
            self.send(event.body.clone(), Some(event.event_type.clone()));
        }
        Ok(())
    }
}

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
            .max_number_of_messages(max.clamp(1, 10) as i32)
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
                        .and_then(|a| a.get("eventType"))
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

    /// Deletes messages by receipt handle, ten per DeleteMessageBatch call.
    pub async fn delete_receipts(
        &self,
        receipts: impl IntoIterator<Item = &str>,
    ) -> Result<(), QueueError> {
        let receipts: Vec<&str> = receipts.into_iter().collect();
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .build()
                        .ok()
                })
                .collect();
            let output = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessageBatch", e))?;
            entries_succeeded("DeleteMessageBatch", output.failed())?;
        }
        Ok(())
    }

    /// Makes messages visible again at once, by receipt handle, ten per call.
    pub async fn release_receipts(
        &self,
        receipts: impl IntoIterator<Item = &str>,
    ) -> Result<(), QueueError> {
        let receipts: Vec<&str> = receipts.into_iter().collect();
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let output = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error("ChangeMessageVisibilityBatch", e))?;
            entries_succeeded("ChangeMessageVisibilityBatch", output.failed())?;
        }
        Ok(())
    }

    async fn send_raw(&self, body: &str) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes(
                "eventType",
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

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let count = |url: String| async move {
            let output = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
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
                get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
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
}

/// A batch call can answer 200 and still fail some entries.
fn entries_succeeded(
    call: &'static str,
    failed: &[aws_sdk_sqs::types::BatchResultErrorEntry],
) -> Result<(), QueueError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
        messages.iter().map(|m| m.body.as_str()).collect()
    }

    #[tokio::test]
    async fn a_received_message_is_hidden_until_deleted_or_its_visibility_timeout_passes() {
        let queue = MemoryQueue::new(5);
        queue.send("a".into(), None);
        queue.send("b".into(), None);
        let first = queue.try_receive(1, LONG);
        assert_eq!(bodies(&first), ["a"]);
        assert_eq!(first[0].receive_count, 1);
        assert_eq!(bodies(&queue.try_receive(10, LONG)), ["b"]);
        assert!(queue.try_receive(10, LONG).is_empty());
        assert_eq!(
            queue.depth(),
            QueueDepth {
                visible: 0,
                in_flight: 2,
                dead_letters: Some(0)
            }
        );
        queue.delete(&[&first[0]]);
        assert_eq!(queue.depth().in_flight, 1);

        queue.send("c".into(), None);
        let short = queue.try_receive(1, Duration::from_millis(50));
        assert_eq!(bodies(&short), ["c"]);
        assert!(queue.try_receive(10, LONG).is_empty(), "b and c in flight");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let again = queue.try_receive(10, LONG);
        assert_eq!(
            bodies(&again),
            ["c"],
            "only c's visibility timeout has passed"
        );
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn deleting_with_the_receipt_of_an_earlier_receive_keeps_the_message() {
        let queue = MemoryQueue::new(5);
        queue.send("a".into(), None);
        let first = queue.try_receive(1, Duration::ZERO);
        let second = queue.try_receive(1, LONG);
        assert_eq!(second[0].receive_count, 2);
        queue.delete(&[&first[0]]);
        assert_eq!(
            queue.depth().in_flight,
            1,
            "a stale receipt deletes nothing"
        );
        queue.delete(&[&second[0]]);
        assert_eq!(queue.depth().in_flight, 0);
    }

    #[tokio::test]
    async fn released_messages_come_back_at_once() {
        let queue = MemoryQueue::new(5);
        queue.send("a".into(), None);
        let first = queue.try_receive(1, LONG);
        queue.release(&[&first[0]]);
        let again = queue.try_receive(1, LONG);
        assert_eq!(bodies(&again), ["a"]);
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn a_message_received_max_receive_count_times_moves_to_the_dead_letters() {
        let queue = MemoryQueue::new(3);
        queue.send("poison".into(), None);
        for n in 1..=3 {
            // Never deleted; a zero visibility timeout makes it visible again at once.
            let received = queue.try_receive(10, Duration::ZERO);
            assert_eq!(bodies(&received), ["poison"], "receive {n}");
            assert_eq!(received[0].receive_count, n);
        }
        queue.send("fine".into(), None);
        assert_eq!(bodies(&queue.try_receive(10, LONG)), ["fine"]);
        assert_eq!(queue.dead_letters(), [("poison".to_owned(), 3)]);
        assert_eq!(queue.depth().dead_letters, Some(1));
    }

    #[tokio::test]
    async fn a_long_poll_wakes_up_when_a_message_arrives() {
        let queue = MemoryQueue::new(5);
        let sender = queue.clone();
        let waiting = tokio::spawn(async move {
            queue
                .receive(10, LONG, Duration::from_secs(10))
                .await
                .into_iter()
                .map(|m| m.body)
                .collect::<Vec<_>>()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        sender.send("late".into(), None);
        let started = std::time::Instant::now();
        let received = waiting.await.unwrap();
        assert_eq!(received, ["late"]);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

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
            record.message_attributes["eventType"]
                .string_value
                .as_deref(),
            Some("TaskCreated")
        );
    }
}
