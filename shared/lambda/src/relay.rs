//! The outbox relay's scheduled run: publish what the API could not, oldest first.

use chrono::{TimeDelta, Utc};
use serde::Serialize;
use taskpulse_app::{
    ListPendingOutbox, LoadTask, MarkEventsPublished, PublishEvents, StoreError, metric,
    relay_pending,
};

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
        if let Some(oldest) = round.oldest_pending {
            let age = (now - oldest).num_seconds().max(0);
            report.oldest_pending_age_seconds = report.oldest_pending_age_seconds.max(age);
        }
        // Stop when the backlog is drained, or when the queue refuses (the same tasks would
        // come back in the next round; the next scheduled run retries them).
        if round.tasks < TASKS_PER_ROUND || round.tasks_failed > 0 {
            break;
        }
    }
    // The alarm on pending events watches this: it grows while the queue stays unreachable.
    metrics::gauge!(metric::OUTBOX_OLDEST_PENDING_AGE)
        .set(report.oldest_pending_age_seconds as f64);
    if report.tasks > 0 {
        tracing::info!(
            tasks = report.tasks,
            events_published = report.events_published,
            tasks_failed = report.tasks_failed,
            "outbox relayed"
        );
    }
    Ok(report)
}
