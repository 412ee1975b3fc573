//! The SQS batch handler: every record is parsed and applied on its own, and only the records
//! that failed are reported back (`ReportBatchItemFailures`), so SQS retries just those and
//! finally moves them to the dead-letter queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use taskpulse_app::{ApplyEventOnce, ApplyOutcome, apply_event};
use taskpulse_domain::EventEnvelope;

/// What happened to one batch, for logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub applied: usize,
    pub duplicates: usize,
    /// Records that can never succeed as they are (bad body, unknown type, newer schema).
    pub poison: usize,
    /// Records whose write failed; a retry may succeed.
    pub failed_writes: usize,
}

/// A record failed and has no message id to report it by. Failing the invocation makes SQS
/// return the whole batch: the only way not to lose that record (already-applied neighbours
/// are then recognised as duplicates).
#[derive(Debug, thiserror::Error)]
#[error("a failed SQS record has no messageId, so the batch cannot be partially failed")]
pub struct UnreportableFailure;

/// Applies a batch and tells SQS which records to retry.
pub async fn handle_batch(
    store: &impl ApplyEventOnce,
    batch: SqsEvent,
) -> Result<(SqsBatchResponse, BatchSummary), UnreportableFailure> {
    let mut summary = BatchSummary::default();
    let mut response = SqsBatchResponse::default();
    for record in batch.records {
        let failed = match apply_record(store, &record).await {
            RecordOutcome::Applied => {
                summary.applied += 1;
                false
            }
            RecordOutcome::Duplicate => {
                summary.duplicates += 1;
                false
            }
            RecordOutcome::Poison => {
                summary.poison += 1;
                true
            }
            RecordOutcome::WriteFailed => {
                summary.failed_writes += 1;
                true
            }
        };
        if failed {
            let Some(message_id) = record.message_id else {
                return Err(UnreportableFailure);
            };
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    tracing::info!(
        applied = summary.applied,
        duplicates = summary.duplicates,
        poison = summary.poison,
        failed_writes = summary.failed_writes,
        "batch processed"
    );
    Ok((response, summary))
}

enum RecordOutcome {
    Applied,
    Duplicate,
    Poison,
    WriteFailed,
}

async fn apply_record(store: &impl ApplyEventOnce, record: &SqsMessage) -> RecordOutcome {
    let message_id = record.message_id.as_deref().unwrap_or("<none>");
    let envelope = match record.body.as_deref().map(EventEnvelope::from_json) {
        Some(Ok(envelope)) => envelope,
        Some(Err(error)) => {
            tracing::warn!(message_id, kind = error.kind(), %error, "poison message");
            return RecordOutcome::Poison;
        }
        None => {
            tracing::warn!(
                message_id,
                kind = "no_body",
                "poison message: the record has no body"
            );
            return RecordOutcome::Poison;
        }
    };
    match apply_event(store, &envelope).await {
        Ok(ApplyOutcome::Applied) => RecordOutcome::Applied,
        Ok(ApplyOutcome::Duplicate) => {
            tracing::info!(message_id, event_id = %envelope.event_id, "duplicate delivery skipped");
            RecordOutcome::Duplicate
        }
        Err(error) => {
            tracing::warn!(message_id, event_id = %envelope.event_id, %error, "event not applied; SQS will retry it");
            RecordOutcome::WriteFailed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryEventQueue, MemoryTaskStore};
    use taskpulse_app::{CommandContext, NewTask, TaskCommands};
    use taskpulse_domain::{Priority, Title, UserId};

    fn record(id: Option<&str>, body: Option<String>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = id.map(str::to_owned);
        message.body = body;
        message
    }

    fn batch(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    async fn created_event_body() -> (String, taskpulse_domain::EventId) {
        let commands = TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default());
        commands
            .create_task(
                &CommandContext::caller(UserId::parse("u1").unwrap()),
                NewTask {
                    title: Title::parse("t").unwrap(),
                    description: None,
                    priority: Priority::Low,
                    planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
                },
            )
            .await
            .unwrap();
        let event = commands.publisher().drain().remove(0);
        (event.body, event.event_id)
    }

    #[tokio::test]
    async fn only_bad_records_are_reported() {
        let store = MemoryAnalyticsStore::default();
        let (body, event_id) = created_event_body().await;
        let (response, summary) = handle_batch(
            &store,
            batch(vec![
                record(Some("m1"), Some(body.clone())),
                record(Some("m2"), Some("{oops".into())),
                record(Some("m3"), Some(body)),
                record(Some("m4"), None),
            ]),
        )
        .await
        .unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m2", "m4"]);
        assert_eq!(
            summary,
            BatchSummary {
                applied: 1,
                duplicates: 1,
                poison: 2,
                failed_writes: 0
            }
        );
        assert!(store.has_marker(event_id));
    }

    #[tokio::test]
    async fn a_failure_without_message_id_fails_the_invocation() {
        let store = MemoryAnalyticsStore::default();
        let result = handle_batch(&store, batch(vec![record(None, Some("{}".into()))])).await;
        assert!(result.is_err());
    }
}
