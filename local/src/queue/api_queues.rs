//! The API's queues in the local stack: the events queue, and beside it a queue of the same
//! kind for the outbox checks (in process for the embedded backend, the template's
//! `OutboxCheckQueue` for the SDK backends). The local relay receives the checks
//! (`crate::backend`), as the relay function's trigger does on AWS.

use std::time::Duration;

use taskpulse_app::relay::OutboxCheck;
use taskpulse_app::{PendingEvent, PublishError, PublishEvents, ScheduleOutboxCheck, StoreError};
use taskpulse_domain::TaskId;

use super::EventQueue;

#[derive(Debug, Clone)]
pub struct ApiQueues<Q> {
    pub events: Q,
    pub checks: Q,
    /// How long a check waits before it is received.
    pub check_delay: Duration,
}

impl<Q: EventQueue> PublishEvents for ApiQueues<Q> {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        self.events.publish_events(events).await
    }
}

impl<Q: EventQueue> ScheduleOutboxCheck for ApiQueues<Q> {
    async fn schedule_outbox_check(&self, task_id: TaskId) -> Result<(), StoreError> {
        self.checks
            .send_later(&OutboxCheck { task_id }.to_body(), self.check_delay)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}
