//! The SQS batch handler: every record is parsed on its own, the valid events of the batch
//! are archived, then applied exactly once in merged, packed transactions to every live
//! projection version, and only the records that failed are reported back
//! (`ReportBatchItemFailures`), so SQS retries just those and finally moves them to the
//! dead-letter queue. Events of an owner being erased go back on the queue (`held`).

mod held;

use std::collections::{HashMap, HashSet};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use taskpulse_app::consume::consume_events;
use taskpulse_app::erasure::route_late_events;
use taskpulse_app::{
    ApplyTransaction, LoadErasures, LoadProjectionConfig, PlanLimits, SendWork, WriteArchive,
    metric,
};

pub use held::HELD_EVENT_DELAY;

use crate::partial_batch::PartialBatch;
pub use crate::partial_batch::UnreportableFailure;
use taskpulse_domain::{EventEnvelope, EventId, TaskEvent};
use tokio::time::Instant;

/// What happened to one batch, for logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct BatchSummary {
    pub records: usize,
    pub applied: usize,
    /// Records whose event was applied before, or that repeat an event of the same batch.
    pub duplicates: usize,
    /// Records that can never succeed as they are (bad body, unknown type, newer schema).
    pub poison: usize,
    /// Records whose write failed; a retry may succeed.
    pub failed_writes: usize,
    pub transactions: usize,
    pub retries: usize,
    /// Age of the oldest applied event (`occurredAt` to now), in milliseconds.
    pub max_event_age_ms: u64,
    /// When the newest applied event happened (its `occurredAt`).
    pub newest_event_at: Option<chrono::DateTime<Utc>>,
    /// Write capacity units the batch consumed, as DynamoDB reported them.
    pub write_units: f64,
    /// Archive objects written for the batch, and their bytes.
    pub archive_objects: usize,
    pub archive_bytes: usize,
    /// Events not counted because their archive write failed (retried).
    pub archive_failures: usize,
    /// Events held back because their owner's erasure is under way.
    pub held_for_erasure: usize,
    /// Of those, the events sent to the queue again (delayed); the others are retried by SQS.
    pub held_sent_again: usize,
    /// Events of erased users, counted under their pseudonyms.
    pub of_erased_users: usize,
    /// Live projection versions the batch was applied to (2 during a rebuild).
    pub versions: usize,
    /// Applied `TaskCreated` and `TaskCompleted` events (and how many of those were on time).
    pub tasks_created: usize,
    pub tasks_completed: usize,
    pub tasks_completed_on_time: usize,
}

enum Parsed {
    Event(EventEnvelope),
    Poison,
}

fn parse(message_id: &str, body: Option<&str>) -> Parsed {
    match body.map(EventEnvelope::from_json) {
        Some(Ok(envelope)) => Parsed::Event(envelope),
        Some(Err(error)) => {
            tracing::warn!(message_id, kind = error.kind(), %error, "poison message");
            Parsed::Poison
        }
        None => {
            tracing::warn!(
                message_id,
                kind = "no_body",
                "poison message: the record has no body"
            );
            Parsed::Poison
        }
    }
}

/// What the consumer writes to: the archive, and the counter table (with its projection
/// configuration, read through a short cache); where it reads the erasure records of the
/// events' owners (the task table); and the events queue itself, where held events go back.
#[derive(Debug, Clone)]
pub struct Consumer<A, S, E, H> {
    pub archive: A,
    pub store: S,
    pub erasures: E,
    pub requeue: H,
    pub limits: PlanLimits,
}

/// Why an event of an owner being erased was not counted (it is retried).
const HELD_FOR_ERASURE: &str = "the owner's erasure is under way";

/// Routes the batch's events by their owners' erasures, then archives and applies those that
/// can be counted. Events of an owner being erased come back as failed, to be retried; an
/// error is why nothing could be counted.
async fn count_batch<A, S, E, H>(
    consumer: &Consumer<A, S, E, H>,
    unique: &[&EventEnvelope],
    deadline: Instant,
    summary: &mut BatchSummary,
) -> Result<taskpulse_app::BatchOutcome, String>
where
    A: WriteArchive,
    S: ApplyTransaction + LoadProjectionConfig,
    E: LoadErasures,
{
    let config = consumer
        .store
        .load_projection_config()
        .await
        .map_err(|error| format!("projection configuration unreadable: {error}"))?;
    let routed = route_late_events(&consumer.erasures, unique.iter().copied())
        .await
        .map_err(|error| format!("erasure records unreadable: {error}"))?;
    summary.versions = config.live().len();
    summary.held_for_erasure = routed.held.len();
    summary.of_erased_users = routed.pseudonymised;
    let countable: Vec<&EventEnvelope> = routed.countable.iter().map(|e| e.as_ref()).collect();
    let consumed = consume_events(
        &consumer.archive,
        &consumer.store,
        &config,
        &countable,
        &consumer.limits,
        deadline,
    )
    .await;
    summary.archive_objects = consumed.archive_objects;
    summary.archive_bytes = consumed.archive_bytes;
    summary.archive_failures = consumed.archive_failures;
    let mut outcome = consumed.batch;
    outcome.failed.extend(
        routed
            .held
            .into_iter()
            .map(|id| (id, HELD_FOR_ERASURE.to_owned())),
    );
    Ok(outcome)
}

/// Archives and applies a batch, and tells SQS which records to retry. Transient write
/// failures are retried until `deadline`; what still fails is reported per record.
pub async fn handle_batch<A, S, E, H>(
    consumer: &Consumer<A, S, E, H>,
    batch: SqsEvent,
    deadline: Instant,
) -> Result<(SqsBatchResponse, BatchSummary), UnreportableFailure>
where
    A: WriteArchive,
    S: ApplyTransaction + LoadProjectionConfig,
    E: LoadErasures,
    H: SendWork,
{
    let records = batch.records;
    let mut summary = BatchSummary {
        records: records.len(),
        ..BatchSummary::default()
    };
    let parsed: Vec<Parsed> = records
        .iter()
        .map(|r| {
            parse(
                r.message_id.as_deref().unwrap_or("<none>"),
                r.body.as_deref(),
            )
        })
        .collect();

    // One copy of each event goes to the store; the others share its fate.
    let mut seen = HashSet::new();
    let unique: Vec<&EventEnvelope> = parsed
        .iter()
        .filter_map(|p| match p {
            Parsed::Event(e) if seen.insert(e.event_id) => Some(e),
            _ => None,
        })
        .collect();
    let outcome = if unique.is_empty() {
        // Nothing to count (every record is bad): nothing to read either.
        taskpulse_app::BatchOutcome::default()
    } else {
        match count_batch(consumer, &unique, deadline, &mut summary).await {
            Ok(outcome) => outcome,
            Err(reason) => {
                // Nothing is known about the live versions or the owners: nothing is counted,
                // all is retried.
                taskpulse_app::BatchOutcome {
                    failed: unique
                        .iter()
                        .map(|e| (e.event_id, reason.clone()))
                        .collect(),
                    ..Default::default()
                }
            }
        }
    };
    summary.transactions = outcome.transactions;
    summary.retries = outcome.retries;
    summary.write_units = outcome.write_units;
    let now = Utc::now();
    let applied: HashSet<EventId> = outcome.applied.iter().copied().collect();
    let failed: HashMap<EventId, &str> = outcome
        .failed
        .iter()
        .map(|(id, reason)| (*id, reason.as_str()))
        .collect();

    // Each held event once, by the first record that carries it.
    let mut held = vec![];
    let mut held_seen = HashSet::new();
    for (index, parsed) in parsed.iter().enumerate() {
        if let Parsed::Event(event) = parsed
            && failed.get(&event.event_id) == Some(&HELD_FOR_ERASURE)
            && held_seen.insert(event.event_id)
        {
            held.push((event.event_id, index));
        }
    }
    let sent_again = held::send_held_again(&consumer.requeue, &records, &held).await;
    summary.held_sent_again = sent_again.len();

    let mut response = PartialBatch::default();
    let mut counted = HashSet::new();
    for (record, parsed) in records.iter().zip(&parsed) {
        let message_id = record.message_id.as_deref().unwrap_or("<none>");
        let failed_here = match parsed {
            Parsed::Poison => {
                summary.poison += 1;
                true
            }
            Parsed::Event(event) => {
                if sent_again.contains(&event.event_id) {
                    tracing::info!(message_id, event_id = %event.event_id, "event held while its owner is erased; sent to the queue again, delayed");
                    false
                } else if let Some(reason) = failed.get(&event.event_id) {
                    if *reason == HELD_FOR_ERASURE {
                        tracing::info!(message_id, event_id = %event.event_id, "event held while its owner is erased; SQS will deliver it again");
                    } else {
                        tracing::warn!(message_id, event_id = %event.event_id, %reason, "event not applied; SQS will retry it");
                        summary.failed_writes += 1;
                    }
                    true
                } else if applied.contains(&event.event_id) && counted.insert(event.event_id) {
                    summary.applied += 1;
                    match &event.event {
                        TaskEvent::Created(_) => summary.tasks_created += 1,
                        TaskEvent::Completed(done) => {
                            summary.tasks_completed += 1;
                            summary.tasks_completed_on_time += usize::from(done.on_time);
                            if let Some(priority) = done.priority {
                                metrics::counter!(
                                    metric::TASKS_COMPLETED_BY_PRIORITY,
                                    metric::PRIORITY => priority.as_str()
                                )
                                .increment(1);
                            }
                        }
                        _ => {}
                    }
                    let age = (now - event.occurred_at).num_milliseconds().max(0);
                    summary.max_event_age_ms = summary.max_event_age_ms.max(age as u64);
                    summary.newest_event_at = summary.newest_event_at.max(Some(event.occurred_at));
                    metrics::histogram!(metric::EVENT_AGE).record(age as f64);
                    false
                } else {
                    tracing::info!(message_id, event_id = %event.event_id, "duplicate delivery skipped");
                    summary.duplicates += 1;
                    false
                }
            }
        };
        if failed_here {
            response.retry(record.message_id.as_deref())?;
        }
    }
    metrics::counter!(metric::EVENTS_APPLIED).increment(summary.applied as u64);
    metrics::counter!(metric::EVENTS_HELD_FOR_ERASURE).increment(summary.held_for_erasure as u64);
    metrics::counter!(metric::EVENTS_OF_ERASED_USERS).increment(summary.of_erased_users as u64);
    metrics::counter!(metric::DUPLICATES_SKIPPED).increment(summary.duplicates as u64);
    metrics::counter!(metric::POISON_MESSAGES).increment(summary.poison as u64);
    metrics::counter!(metric::FAILED_WRITES).increment(summary.failed_writes as u64);
    metrics::counter!(metric::TRANSACTIONS).increment(summary.transactions as u64);
    metrics::counter!(metric::TRANSACTION_RETRIES).increment(summary.retries as u64);
    metrics::counter!(metric::WRITE_UNITS).increment(summary.write_units.ceil() as u64);
    metrics::counter!(metric::ARCHIVE_OBJECTS).increment(summary.archive_objects as u64);
    metrics::counter!(metric::ARCHIVE_BYTES).increment(summary.archive_bytes as u64);
    metrics::counter!(metric::ARCHIVE_FAILURES).increment(summary.archive_failures as u64);
    metrics::counter!(metric::TASKS_CREATED).increment(summary.tasks_created as u64);
    metrics::counter!(metric::TASKS_COMPLETED).increment(summary.tasks_completed as u64);
    metrics::counter!(metric::TASKS_COMPLETED_ON_TIME)
        .increment(summary.tasks_completed_on_time as u64);
    tracing::info!(
        records = summary.records,
        applied = summary.applied,
        duplicates = summary.duplicates,
        poison = summary.poison,
        failed_writes = summary.failed_writes,
        transactions = summary.transactions,
        retries = summary.retries,
        max_event_age_ms = summary.max_event_age_ms,
        write_units = summary.write_units,
        archive_objects = summary.archive_objects,
        held_for_erasure = summary.held_for_erasure,
        held_sent_again = summary.held_sent_again,
        versions = summary.versions,
        "batch processed"
    );
    Ok((response.into_response(), summary))
}

#[cfg(test)]
mod tests;
