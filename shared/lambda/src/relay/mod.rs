//! The outbox relay: its scheduled sweep of the outbox index (here), oldest first, and its
//! outbox checks, a batch from their queue (`checks`). One function takes both.

mod checks;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{TimeDelta, Utc};
use serde::Serialize;
use taskpulse_app::{
    ListPendingOutbox, LoadTask, MarkEventsPublished, PublishEvents, StoreError, metric,
    relay_pending,
};

pub use checks::{ChecksSummary, check_outboxes};

/// What the relay function is invoked with.
#[derive(Debug)]
pub enum RelayInvocation {
    /// A batch from the outbox checks' queue (the payload has `Records`).
    Checks(SqsEvent),
    /// Its schedule's event, whose content does not matter: every run sweeps the index.
    Sweep,
}

impl RelayInvocation {
    /// Tells the two apart by `Records`, which only an SQS batch has. A batch that does not
    /// read as one is an error: the invocation fails, and SQS delivers the batch again.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, serde_json::Error> {
        if payload.get("Records").is_some() {
            serde_json::from_value(payload).map(Self::Checks)
        } else {
            Ok(Self::Sweep)
        }
    }
}

/// The relay function's answer: the checks to deliver again, or what a sweep did.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RelayResponse {
    Checks(SqsBatchResponse),
    Sweep(RelayReport),
}

/// Tasks handled per round; a run goes on for more rounds while rounds come back full.
const TASKS_PER_ROUND: usize = 100;
const MAX_ROUNDS: usize = 20;

/// What a relay run did; also the function's response.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayReport {
    pub tasks: usize,
    pub events_published: usize,
    pub tasks_failed: usize,
    /// Tasks with pending events that could not be read; skipped, and counted in the
    /// `OutboxTasksUnreadable` metric an alarm watches.
    pub tasks_unreadable: usize,
    /// Age of the oldest pending event found, in seconds (0 when none was pending).
    pub oldest_pending_age_seconds: i64,
}

/// Publishes the outboxes of tasks whose events were committed more than `grace` ago.
pub async fn relay_outbox(
    store: &(impl ListPendingOutbox + LoadTask + MarkEventsPublished),
    publisher: &impl PublishEvents,
    grace: TimeDelta,
) -> Result<RelayReport, StoreError> {
    let now = Utc::now();
    let before = now - grace;
    let mut report = RelayReport::default();
    for _ in 0..MAX_ROUNDS {
        let round = relay_pending(store, publisher, before, TASKS_PER_ROUND).await?;
        report.tasks += round.tasks;
        report.events_published += round.events_published;
        report.tasks_failed += round.tasks_failed;
        report.tasks_unreadable += round.tasks_unreadable;
        if let Some(oldest) = round.oldest_pending {
            let age = (now - oldest).num_seconds().max(0);
            report.oldest_pending_age_seconds = report.oldest_pending_age_seconds.max(age);
        }
        // Stop when the backlog is drained, or when the queue refuses (the same tasks would
        // come back in the next round; the next scheduled run retries them). Unreadable tasks
        // are not counted in `round.tasks`: a round that also published goes on past them, a
        // round of only those ends the run (they would come back first in every round).
        let listed = round.tasks + round.tasks_unreadable;
        if listed < TASKS_PER_ROUND || round.tasks == 0 || round.tasks_failed > 0 {
            break;
        }
    }
    // The alarm on pending events watches this: it grows while the queue stays unreachable.
    metrics::gauge!(metric::OUTBOX_OLDEST_PENDING_AGE)
        .set(report.oldest_pending_age_seconds as f64);
    metrics::gauge!(metric::OUTBOX_TASKS_UNREADABLE).set(report.tasks_unreadable as f64);
    if report.tasks + report.tasks_unreadable > 0 {
        tracing::info!(
            tasks = report.tasks,
            events_published = report.events_published,
            tasks_failed = report.tasks_failed,
            tasks_unreadable = report.tasks_unreadable,
            "outbox relayed"
        );
    }
    Ok(report)
}
