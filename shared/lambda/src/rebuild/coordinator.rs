//! The rebuild coordinator: an operator's command in, one step of the rebuild taken, a report
//! out. `start` registers the new version and fans its archive partitions out over the
//! rebuild queue, one work item each, held back by the rest of the settle time, so no worker
//! reads a partition before every consumer writes the new version too. A rerun of `start`
//! resumes: it enqueues only the partitions not done (one still in flight is then done twice,
//! which changes nothing).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_app::ports::WORK_BATCH_LIMIT;
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::rebuild::{
    self, RebuildError, Rereads, WritePace, activate, pending_partitions, retire, verify_building,
};
use taskpulse_app::{
    DeleteCounters, LoadProjectionConfig, ReadArchive, ReadCounters, RebuildProgress,
    SaveProjectionConfig, ScanCounters, SendWork, StoreError,
};

use super::answer::{Answer, Progress, Retired, Started, VerificationView};
use super::command::{BadCommand, Command};
use super::settings::CoordinatorSettings;
use super::work_item::PartitionWork;
use taskpulse_app::MAX_WORK_DELAY;

/// Differences a verification answer lists (their total is always given).
pub const SAMPLE_DIFFERENCES: usize = 20;

/// What the coordinator reads and writes: the archive (to list partitions), the analytics
/// table (configuration, progress, counters) and the rebuild queue.
#[derive(Debug, Clone)]
pub struct Coordinator<A, S, Q> {
    pub archive: A,
    pub store: S,
    pub queue: Q,
    pub settings: CoordinatorSettings,
    pub rereads: Rereads,
}

#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error(transparent)]
    BadCommand(#[from] BadCommand),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{enqueued} of {pending} partitions were enqueued, then the queue refused: {reason}; \
         run start again to enqueue the rest"
    )]
    Enqueue {
        pending: usize,
        enqueued: usize,
        reason: StoreError,
    },
    #[error("{0}")]
    Rebuild(RebuildError),
}

/// A step refused by the configuration's rules is an answer (nothing changed); anything else
/// fails the invocation.
fn refusal(error: RebuildError) -> Result<String, CoordinatorError> {
    match error {
        RebuildError::Config(refused) => Ok(refused.to_string()),
        RebuildError::Store(store) => Err(CoordinatorError::Store(store)),
        other => Err(CoordinatorError::Rebuild(other)),
    }
}

/// Runs one command (the invocation's JSON payload).
pub async fn handle_command<A, S, Q>(
    coordinator: &Coordinator<A, S, Q>,
    payload: serde_json::Value,
) -> Result<Answer, CoordinatorError>
where
    A: ReadArchive,
    S: LoadProjectionConfig
        + SaveProjectionConfig
        + RebuildProgress
        + ScanCounters
        + ReadCounters
        + DeleteCounters,
    Q: SendWork,
{
    let command = Command::from_json(payload)?;
    let store = &coordinator.store;
    let mut refused = None;
    let mut answer = Answer::new(command.action(), &ProjectionConfig::initial());
    match command {
        Command::Start {
            projection,
            from,
            to,
        } => match rebuild::start(store, projection, Utc::now()).await {
            Ok(config) => {
                let since = config.building.map_or_else(Utc::now, |b| b.since);
                match enqueue_pending(coordinator, since, from, to).await? {
                    Ok(started) => answer.started = Some(started),
                    Err(reason) => refused = Some(reason),
                }
            }
            Err(error) => refused = Some(refusal(error)?),
        },
        Command::Status => answer.progress = progress(coordinator).await?,
        Command::Verify => match verify_building(store, coordinator.rereads, Utc::now()).await {
            Ok(report) => {
                tracing::info!(
                    items = report.items,
                    differences = report.differences.len(),
                    "building version verified"
                );
                answer.verification = Some(VerificationView::new(&report, SAMPLE_DIFFERENCES));
            }
            Err(error) => refused = Some(refusal(error)?),
        },
        Command::Activate { force } => {
            if let Err(error) = activate(store, force).await {
                refused = Some(refusal(error)?);
            }
        }
        Command::Abandon => {
            let config = store.load_projection_config().await?;
            match config.abandoned() {
                Ok(abandoned) => {
                    store.save_projection_config(&abandoned).await?;
                    tracing::info!(version = ?abandoned.retiring, "building version abandoned");
                }
                Err(error) => refused = Some(error.to_string()),
            }
        }
        Command::Retire => {
            let version = store.load_projection_config().await?.retiring;
            let mut pace = WritePace::new(Some(coordinator.settings.write_rate));
            let deleted = match retire(store, &mut pace).await {
                Ok(deleted) => deleted,
                Err(error) => {
                    refused = Some(refusal(error)?);
                    0
                }
            };
            answer.retired = Some(Retired {
                version: version.map(|v| v.number()),
                deleted,
            });
        }
    }
    if let Some(reason) = &refused {
        tracing::warn!(action = answer.action, %reason, "rebuild step refused");
    }
    answer.refused = refused;
    answer.config = (&store.load_projection_config().await?).into();
    Ok(answer)
}

/// Sends one work item per pending partition of the version registered at `since`, in
/// batches of the queue's limit. The inner error is a refusal: the build was activated or
/// abandoned in the meantime.
async fn enqueue_pending<A, S, Q>(
    coordinator: &Coordinator<A, S, Q>,
    since: DateTime<Utc>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Result<Started, String>, CoordinatorError>
where
    A: ReadArchive,
    S: LoadProjectionConfig + RebuildProgress,
    Q: SendWork,
{
    let pending = pending_partitions(&coordinator.archive, &coordinator.store, from, to).await;
    let (spec, days) = match pending {
        Ok(pending) => pending,
        Err(error) => return Ok(Err(refusal(error)?)),
    };
    let delay = remaining_settle(since, coordinator.settings.settle());
    let bodies: Vec<String> = days
        .iter()
        .map(|day| {
            PartitionWork {
                version: spec.version,
                day: *day,
            }
            .to_body()
        })
        .collect();
    let mut enqueued = 0;
    for chunk in bodies.chunks(WORK_BATCH_LIMIT) {
        if let Err(reason) = coordinator.queue.send_work(chunk, delay).await {
            return Err(CoordinatorError::Enqueue {
                pending: days.len(),
                enqueued,
                reason,
            });
        }
        enqueued += chunk.len();
    }
    tracing::info!(
        version = %spec.version,
        projection = %spec.projection,
        pending = days.len(),
        delay_seconds = delay.as_secs(),
        "partitions enqueued"
    );
    Ok(Ok(Started {
        version: spec.version.number(),
        projection: spec.projection.name(),
        from,
        to,
        pending: days.len(),
        enqueued,
        delay_seconds: delay.as_secs(),
    }))
}

/// What is left of the settle time that began at `since`, in whole seconds (rounded up: the
/// queue counts delays in seconds, and a delay may only be longer than needed).
pub fn remaining_settle(since: DateTime<Utc>, settle: Duration) -> Duration {
    let settled_at = since + chrono::Duration::from_std(settle).unwrap_or(chrono::Duration::MAX);
    let remaining = (settled_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let seconds = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    Duration::from_secs(seconds).min(MAX_WORK_DELAY)
}

async fn progress<A, S, Q>(
    coordinator: &Coordinator<A, S, Q>,
) -> Result<Option<Progress>, CoordinatorError>
where
    A: ReadArchive,
    S: LoadProjectionConfig + RebuildProgress,
{
    let config = coordinator.store.load_projection_config().await?;
    let Some(building) = config.building else {
        return Ok(None);
    };
    let done = coordinator
        .store
        .done_partitions(building.spec.version)
        .await?;
    let pending =
        match pending_partitions(&coordinator.archive, &coordinator.store, None, None).await {
            Ok((_, days)) => days.len(),
            // Activated or abandoned in between: nothing is pending any more.
            Err(RebuildError::Config(_)) => 0,
            Err(RebuildError::Store(error)) => return Err(error.into()),
            Err(other) => return Err(CoordinatorError::Rebuild(other)),
        };
    let mut progress = Progress {
        version: building.spec.version.number(),
        partitions_done: done.len(),
        partitions_pending: pending,
        ..Progress::default()
    };
    for partition in done.values() {
        progress.events_read += partition.events;
        progress.events_applied += partition.applied;
        progress.duplicates += partition.duplicates;
        progress.corrupt_objects += partition.corrupt_objects;
    }
    Ok(Some(progress))
}
