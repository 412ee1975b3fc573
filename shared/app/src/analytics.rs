//! Use case: apply one event to the analytics counters, exactly once.

use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::project;

use crate::ports::{ApplyEventOnce, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The counters moved and the event's marker was written.
    Applied,
    /// The marker already existed: this event was applied before; nothing changed.
    Duplicate,
}

pub async fn apply_event(
    store: &impl ApplyEventOnce,
    event: &EventEnvelope,
) -> Result<ApplyOutcome, StoreError> {
    let updates = project(event);
    store.apply_event_once(event, &updates).await
}
