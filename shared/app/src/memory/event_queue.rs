//! The event queue in memory.

use std::sync::Mutex;

use taskpulse_domain::EventEnvelope;

use super::lock;
use crate::ports::{PendingEvent, PublishError, PublishEvents};

/// A queue of published events; can be switched to refuse, like an unreachable SQS.
#[derive(Debug, Default)]
pub struct MemoryEventQueue {
    messages: Mutex<Vec<PendingEvent>>,
    unavailable: Mutex<bool>,
}

impl MemoryEventQueue {
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.unavailable) = unavailable;
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
}

impl PublishEvents for MemoryEventQueue {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        if *lock(&self.unavailable) {
            return Err(PublishError {
                failed: events.iter().map(|e| e.event_id).collect(),
                reason: "queue unavailable".into(),
            });
        }
        lock(&self.messages).extend_from_slice(events);
        Ok(())
    }
}
