//! The event queue in memory, with the outbox checks' queue beside it.

use std::sync::Mutex;

use taskpulse_domain::{EventEnvelope, TaskId};

use super::lock;
use crate::ports::{PendingEvent, PublishError, PublishEvents, ScheduleOutboxCheck, StoreError};

/// A queue of published events and one of scheduled outbox checks; can be switched to refuse,
/// like an unreachable SQS, or to refuse events only, like a publish that fails after its
/// command's check was sent.
#[derive(Debug, Default)]
pub struct MemoryEventQueue {
    messages: Mutex<Vec<PendingEvent>>,
    checks: Mutex<Vec<TaskId>>,
    unavailable: Mutex<bool>,
    events_refused: Mutex<bool>,
}

impl MemoryEventQueue {
    /// Both queues refuse every message.
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.unavailable) = unavailable;
    }

    /// The events queue refuses every message; checks are still taken.
    pub fn set_events_refused(&self, refused: bool) {
        *lock(&self.events_refused) = refused;
    }

    /// Takes every message published so far.
    pub fn drain(&self) -> Vec<PendingEvent> {
        std::mem::take(&mut *lock(&self.messages))
    }

    /// Takes every message published so far, parsed.
    pub fn drain_envelopes(&self) -> Vec<EventEnvelope> {
        self.drain()
            .iter()
            .filter_map(|m| EventEnvelope::from_json(&m.body).ok())
            .collect()
    }

    /// Takes every outbox check scheduled so far (as if their delay had passed), in order.
    pub fn drain_checks(&self) -> Vec<TaskId> {
        std::mem::take(&mut *lock(&self.checks))
    }
}

impl PublishEvents for MemoryEventQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        if *lock(&self.unavailable) || *lock(&self.events_refused) {
            return Err(PublishError {
                failed: events.iter().map(|e| e.event_id).collect(),
                reason: "queue unavailable".into(),
            });
        }
        lock(&self.messages).extend_from_slice(events);
        Ok(())
    }
}

impl ScheduleOutboxCheck for MemoryEventQueue {
    async fn schedule_outbox_check(&self, task_id: TaskId) -> Result<(), StoreError> {
        if *lock(&self.unavailable) {
            return Err(StoreError::Unavailable("queue unavailable".into()));
        }
        lock(&self.checks).push(task_id);
        Ok(())
    }
}
