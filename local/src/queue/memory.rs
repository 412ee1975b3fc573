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
mod tests;
