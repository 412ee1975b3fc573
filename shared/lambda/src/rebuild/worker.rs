//! The rebuild worker: an SQS batch of work items in, each archive partition backfilled into
//! the building version at the worker's share of the rebuild's write pace, and only the
//! records that failed reported back (`ReportBatchItemFailures`): SQS retries those and
//! finally moves them to the rebuild's dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use taskpulse_app::rebuild::{WritePace, backfill_partition};
use taskpulse_app::{
    ApplyTransaction, LoadErasures, LoadProjectionConfig, PlanLimits, ReadArchive, RebuildProgress,
    metric,
};

use super::settings::WorkerSettings;
use super::work_item::PartitionWork;
use crate::partial_batch::{PartialBatch, UnreportableFailure};

/// What the worker reads (the archive, and the erasure records of the events' owners in the
/// task table) and writes (the counter table).
#[derive(Debug, Clone)]
pub struct Worker<A, S, E> {
    pub archive: A,
    pub store: S,
    pub erasures: E,
    pub limits: PlanLimits,
    pub settings: WorkerSettings,
}

/// What happened to one batch, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkSummary {
    pub records: usize,
    pub partitions: usize,
    /// Items for a version no longer building (activated or abandoned): acknowledged.
    pub stale: usize,
    /// Records that are not work items: they can never succeed.
    pub bad: usize,
    /// Partitions not applied completely (a retry may succeed).
    pub failed: usize,
    pub events_applied: u64,
    pub duplicates: u64,
    pub corrupt_objects: u64,
}

enum Outcome {
    Done,
    Stale,
    Bad,
    Failed,
}

pub async fn handle_work<A, S, E>(
    worker: &Worker<A, S, E>,
    batch: SqsEvent,
) -> Result<(SqsBatchResponse, WorkSummary), UnreportableFailure>
where
    A: ReadArchive,
    S: ApplyTransaction + RebuildProgress + LoadProjectionConfig,
    E: LoadErasures,
{
    let mut summary = WorkSummary {
        records: batch.records.len(),
        ..WorkSummary::default()
    };
    let mut response = PartialBatch::default();
    // One pace for the invocation: the worker's share holds across its records.
    let mut pace = WritePace::new(Some(worker.settings.write_rate));
    for record in batch.records {
        let message_id = record.message_id.as_deref().unwrap_or("<none>");
        let outcome = match record.body.as_deref().map(PartitionWork::from_body) {
            None => {
                tracing::warn!(message_id, "rebuild work item without a body");
                Outcome::Bad
            }
            Some(Err(error)) => {
                tracing::warn!(message_id, %error, "bad rebuild work item");
                Outcome::Bad
            }
            Some(Ok(item)) => backfill(worker, item, &mut pace, &mut summary).await,
        };
        let failed = match outcome {
            Outcome::Done => false,
            Outcome::Stale => {
                summary.stale += 1;
                false
            }
            Outcome::Bad => {
                summary.bad += 1;
                true
            }
            Outcome::Failed => {
                summary.failed += 1;
                true
            }
        };
        if failed {
            response.retry(record.message_id.as_deref())?;
        }
    }
    Ok((response.into_response(), summary))
}

async fn backfill<A, S, E>(
    worker: &Worker<A, S, E>,
    item: PartitionWork,
    pace: &mut WritePace,
    summary: &mut WorkSummary,
) -> Outcome
where
    A: ReadArchive,
    S: ApplyTransaction + RebuildProgress + LoadProjectionConfig,
    E: LoadErasures,
{
    let (version, day) = (item.version, item.day);
    // Read fresh for every item: an activation or abandonment must stop the fan-out at once.
    let config = match worker.store.load_projection_config().await {
        Ok(config) => config,
        Err(error) => {
            tracing::warn!(%version, %day, %error, "projection configuration unreadable");
            return Outcome::Failed;
        }
    };
    let Some(spec) = config
        .building
        .map(|b| b.spec)
        .filter(|spec| spec.version == version)
    else {
        tracing::info!(
            %version, %day,
            building = ?config.building.map(|b| b.spec.version.number()),
            "work item for a version no longer building: acknowledged"
        );
        return Outcome::Stale;
    };
    match backfill_partition(
        &worker.archive,
        &worker.erasures,
        &worker.store,
        spec,
        day,
        &worker.limits,
        pace,
    )
    .await
    {
        Ok(report) => {
            // Each corrupt object was logged with its key where it was read
            // (`taskpulse_app::archive::read_partition`); here it is counted.
            let done = &report.done;
            metrics::counter!(metric::REBUILD_PARTITIONS).increment(1);
            metrics::counter!(metric::REBUILD_EVENTS_APPLIED).increment(done.applied);
            metrics::counter!(metric::REBUILD_CORRUPT_OBJECTS).increment(done.corrupt_objects);
            summary.partitions += 1;
            summary.events_applied += done.applied;
            summary.duplicates += done.duplicates;
            summary.corrupt_objects += done.corrupt_objects;
            tracing::info!(
                %version, %day,
                events = done.events,
                applied = done.applied,
                duplicates = done.duplicates,
                repeated_lines = done.repeated_lines,
                corrupt_objects = done.corrupt_objects,
                bytes = report.bytes,
                item_writes = report.item_writes,
                "partition backfilled"
            );
            Outcome::Done
        }
        Err(error) => {
            tracing::warn!(%version, %day, %error, "partition not backfilled; SQS will retry it");
            Outcome::Failed
        }
    }
}
