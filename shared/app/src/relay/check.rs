//! Use case: an outbox check. Every command that commits events first schedules a message
//! naming its task, delayed past the time its write can take; when the message arrives,
//! whatever the task still has pending is published and cleared. A function that stops between
//! its commit and its publish is covered that way without the outbox index, which costs two
//! write units a command (in, then out). The index stays for what a check cannot carry: a
//! check that could not be sent (the command indexes its task), or a check whose publish the
//! events queue refused (the check indexes the task, and the scheduled sweep takes over).

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use taskpulse_domain::TaskId;

use crate::ports::{IndexPendingOutbox, LoadTask, MarkEventsPublished, PublishEvents, StoreError};
use crate::tasks::publish_and_clear;

/// How long a check waits on its queue: six times the API function's timeout (10 s in
/// `template.yaml`, a test holds the two together), so the write it was sent before has landed
/// or never will. A check that arrived before its write would find nothing to do, and the
/// write's events would wait for the task's next command.
pub const OUTBOX_CHECK_DELAY: Duration = Duration::from_secs(60);

/// The body of an outbox check message: `{"taskId":"<uuid>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxCheck {
    pub task_id: TaskId,
}

impl OutboxCheck {
    pub fn to_body(self) -> String {
        format!("{{\"taskId\":\"{}\"}}", self.task_id)
    }

    pub fn parse(body: &str) -> Result<Self, String> {
        serde_json::from_str(body).map_err(|e| format!("not an outbox check: {e}"))
    }
}

/// What a check found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Nothing pending: the command published and cleared its events (the usual case), or its
    /// write never happened.
    NothingPending,
    /// This many pending events were published (again, when the command's publish went
    /// through and only its clearing failed) and cleared.
    Published(usize),
    /// The events queue refused this many: the task is now in the outbox index, where the
    /// scheduled sweep finds it.
    Indexed(usize),
    /// The events queue refused them, and the task changed in the meantime: the command that
    /// changed it carries the events on, under its own check or in the index.
    MovedOn,
}

/// Publishes and clears what `check`'s task has pending; if the queue refuses, enters the task
/// into the outbox index. A check `redelivered` (an earlier delivery failed: the task could not
/// be read, the index not written, the invocation ran out of time) enters its task into the
/// index before anything else, so that whatever failed, the sweep has the task, and the check
/// may end in its dead-letter queue without leaving events behind. An error leaves the check
/// to be delivered again.
pub async fn check_outbox(
    store: &(impl LoadTask + MarkEventsPublished + IndexPendingOutbox),
    publisher: &impl PublishEvents,
    check: OutboxCheck,
    redelivered: bool,
) -> Result<CheckOutcome, StoreError> {
    if redelivered {
        match store
            .index_pending_outbox(check.task_id, None, Utc::now())
            .await
        {
            Ok(()) => {}
            // Nothing pending, or no such task.
            Err(StoreError::Conflict) => return Ok(CheckOutcome::NothingPending),
            Err(error) => return Err(error),
        }
    }
    let Some(stored) = store.load_task(check.task_id).await? else {
        return Ok(CheckOutcome::NothingPending);
    };
    let pending = &stored.pending_events;
    let Some(oldest) = pending.iter().map(|p| p.committed_at).min() else {
        return Ok(CheckOutcome::NothingPending);
    };
    let version = stored.task.version;
    if publish_and_clear(store, publisher, check.task_id, version, pending).await {
        return Ok(CheckOutcome::Published(pending.len()));
    }
    match store
        .index_pending_outbox(check.task_id, Some(version), oldest)
        .await
    {
        Ok(()) => Ok(CheckOutcome::Indexed(pending.len())),
        Err(StoreError::Conflict) => Ok(CheckOutcome::MovedOn),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests;
