//! The in-process events queue of the embedded local stack.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use taskpulse_app::{PendingEvent, PublishError, PublishEvents};
use taskpulse_aws::{EVENT_TYPE_ATTRIBUTE, SQS_BATCH_LIMIT, SQS_MAX_MESSAGE_BYTES};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{EventQueue, QueueDepth, QueueError, ReceivedMessage};

/// The ARN the in-process queue reports as the records' `eventSourceArn`.
pub const MEMORY_QUEUE_ARN: &str = "arn:aws:sqs:local:000000000000:taskpulse-events";

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

    /// Puts a message on the queue, or refuses it as SQS does one over its size limit.
    pub fn send(&self, body: String, event_type: Option<String>) -> Result<(), QueueError> {
        self.send_delayed(body, event_type, Duration::ZERO)
    }

    /// Puts a message on the queue, visible once `delay` has passed.
    pub fn send_delayed(
        &self,
        body: String,
        event_type: Option<String>,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let size = body.len()
            + event_type.as_ref().map_or(0, |value| {
                EVENT_TYPE_ATTRIBUTE.len() + "String".len() + value.len()
            });
        if size > SQS_MAX_MESSAGE_BYTES {
            return Err(QueueError {
                call: "SendMessage",
                detail: format!(
                    "the message is {size} bytes; the queue takes at most {SQS_MAX_MESSAGE_BYTES}"
                ),
            });
        }
        {
            let mut state = lock(&self.shared.state);
            let id = state.next_id;
            state.next_id += 1;
            state.messages.insert(
                id,
                StoredMessage {
                    body,
                    event_type,
                    sent_at_epoch_ms: chrono::Utc::now().timestamp_millis(),
                    receive_count: 0,
                    receipt: None,
                    invisible_until: None,
                },
            );
            if delay.is_zero() {
                state.visible.push_back(id);
            } else {
                // Hidden like a message in flight that no receipt can delete.
                let until = Instant::now() + delay;
                if let Some(message) = state.messages.get_mut(&id) {
                    message.invisible_until = Some(until);
                }
                state.in_flight.insert((until, id));
            }
        }
        self.shared.arrived.notify_waiters();
        Ok(())
    }

    /// Takes up to `max` (≤ 10) visible messages now, hiding them for `visibility`.
    pub fn try_receive(&self, max: usize, visibility: Duration) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut state = lock(&self.shared.state);
        state.return_expired(now);
        let mut received = vec![];
        while received.len() < max.clamp(1, SQS_BATCH_LIMIT) {
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
        // Each message on its own, as SendMessageBatch reports each entry: the events sent
        // stay sent, the refused ones stay pending for the relay.
        let mut failed = vec![];
        let mut reason = String::new();
        for event in events {
            if let Err(error) = self.send(event.body.clone(), Some(event.event_type.clone())) {
                failed.push(event.event_id);
                reason = error.to_string();
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError { failed, reason })
        }
    }
}

impl EventQueue for MemoryQueue {
    fn arn(&self) -> &str {
        MEMORY_QUEUE_ARN
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        Ok(MemoryQueue::receive(self, max, visibility, wait).await)
    }

    async fn delete(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        MemoryQueue::delete(self, messages);
        Ok(())
    }

    async fn release(&self, messages: &[&ReceivedMessage]) -> Result<(), QueueError> {
        MemoryQueue::release(self, messages);
        Ok(())
    }

    async fn send_raw(&self, body: &str) -> Result<(), QueueError> {
        self.send(body.to_owned(), None)
    }

    async fn send_later(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        self.send_delayed(body.to_owned(), None, delay)
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        Ok(MemoryQueue::depth(self))
    }

    fn dead_letters(&self) -> Option<Vec<(String, u32)>> {
        Some(MemoryQueue::dead_letters(self))
    }
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
        queue.send("a".into(), None).unwrap();
        queue.send("b".into(), None).unwrap();
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

        queue.send("c".into(), None).unwrap();
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
    async fn a_delayed_message_is_received_only_once_its_delay_has_passed() {
        let queue = MemoryQueue::new(5);
        queue
            .send_delayed("later".into(), None, Duration::from_millis(50))
            .unwrap();
        queue.send("now".into(), None).unwrap();
        assert_eq!(bodies(&queue.try_receive(10, LONG)), ["now"]);
        assert!(queue.try_receive(10, LONG).is_empty(), "still delayed");
        let waited = queue.receive(10, LONG, Duration::from_secs(5)).await;
        assert_eq!(bodies(&waited), ["later"]);
        assert_eq!(waited[0].receive_count, 1, "a delay is no receive");
    }

    #[tokio::test]
    async fn deleting_with_the_receipt_of_an_earlier_receive_keeps_the_message() {
        let queue = MemoryQueue::new(5);
        queue.send("a".into(), None).unwrap();
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
        queue.send("a".into(), None).unwrap();
        let first = queue.try_receive(1, LONG);
        queue.release(&[&first[0]]);
        let again = queue.try_receive(1, LONG);
        assert_eq!(bodies(&again), ["a"]);
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn a_message_received_max_receive_count_times_moves_to_the_dead_letters() {
        let queue = MemoryQueue::new(3);
        queue.send("poison".into(), None).unwrap();
        for n in 1..=3 {
            // Never deleted; a zero visibility timeout makes it visible again at once.
            let received = queue.try_receive(10, Duration::ZERO);
            assert_eq!(bodies(&received), ["poison"], "receive {n}");
            assert_eq!(received[0].receive_count, n);
        }
        queue.send("fine".into(), None).unwrap();
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
        sender.send("late".into(), None).unwrap();
        let started = std::time::Instant::now();
        let received = waiting.await.unwrap();
        assert_eq!(received, ["late"]);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_message_over_the_sqs_size_limit_is_refused_and_its_event_stays_pending() {
        let queue = MemoryQueue::new(5);
        queue.send("x".repeat(SQS_MAX_MESSAGE_BYTES), None).unwrap();
        let refused = queue
            .send("x".repeat(SQS_MAX_MESSAGE_BYTES + 1), None)
            .unwrap_err();
        assert!(refused.detail.contains("262144"), "{refused}");
        // The attribute counts: a body that fits alone does not fit with its event type.
        assert!(
            queue
                .send(
                    "x".repeat(SQS_MAX_MESSAGE_BYTES - 10),
                    Some("TaskCreated".into())
                )
                .is_err()
        );

        let event = |body: String| PendingEvent {
            event_id: taskpulse_domain::EventId::from_uuid(uuid::Uuid::now_v7()),
            event_type: "TaskCreated".into(),
            body,
            committed_at: chrono::Utc::now(),
        };
        let (fits, too_large) = (event("{}".into()), event("x".repeat(SQS_MAX_MESSAGE_BYTES)));
        let error = queue
            .publish_events(&[fits.clone(), too_large.clone()])
            .await
            .unwrap_err();
        assert_eq!(error.failed, [too_large.event_id]);
        let bodies: Vec<String> = queue
            .try_receive(10, LONG)
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(bodies.len(), 2, "the first message and the event that fits");
        assert!(bodies.contains(&fits.body));
    }
}
