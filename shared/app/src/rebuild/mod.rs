//! Rebuilding a projection from the event archive while the active version keeps serving:
//!
//! 1. [`start`]: register the next version as building; from then on the live consumer
//!    applies each new event to both versions (once each, by the same markers);
//! 2. after [`settle_time`], [`backfill_partition`] per archive partition (any order, in
//!    parallel, resumable: done partitions are recorded, and a partition applied twice changes
//!    nothing);
//! 3. [`verify`] the building version against the active one and record what it found;
//! 4. [`activate`] with one conditional write (refused while differences are unexplained,
//!    unless forced); [`retire`] the replaced version's items later, at a write pace.
//!
//! On AWS a coordinator function runs 1, 3 and 4 and fans step 2 out over a queue to a worker
//! function; locally [`run_rebuild`] runs them all in one process. Both call these functions.

mod backfill;
mod pace;
mod retire;
mod run;
mod verify;

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::analytics::Projection;

pub use self::backfill::{BACKFILL_CHUNK, PartitionReport, backfill_partition};
pub use self::pace::WritePace;
pub use self::retire::{RETIRE_PAGE, retire};
pub use self::run::{RebuildPlan, RebuildProgressEvent, RebuildReport, run_rebuild};
pub use self::verify::{Difference, Rereads, VerificationReport, verify};
use crate::ports::{
    LoadProjectionConfig, ReadArchive, RebuildProgress, SaveProjectionConfig, StoreError,
};
use crate::projections::{
    ConfigError, PROJECTION_CONFIG_TTL, ProjectionConfig, ProjectionSpec, Verification,
};

/// A partition a rebuild has applied to its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDone {
    pub day: NaiveDate,
    /// Distinct events read.
    pub events: u64,
    /// Events this backfill applied.
    pub applied: u64,
    /// Events found applied already (by the live consumer, or an earlier run).
    pub duplicates: u64,
    /// Lines repeating an event of the partition (retried batches).
    pub repeated_lines: u64,
    pub corrupt_objects: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("partition {day} was not applied completely: {reason}")]
    PartitionFailed { day: NaiveDate, reason: String },
    /// The partition holds an event of a user whose erasure is under way: it is applied once
    /// the erasure is complete (the event then counts under the pseudonym).
    #[error("partition {day} holds events of a user being erased; it is applied after the erasure")]
    OwnerBeingErased { day: NaiveDate },
}

/// How long after registering a version the backfill waits before it lists the archive: every
/// consumer's cached configuration has expired by then, and every batch that began before the
/// registration (and so may skip the new version) has ended, its events in the archive.
pub fn settle_time(longest_consumer_invocation: Duration) -> Duration {
    PROJECTION_CONFIG_TTL + longest_consumer_invocation
}

/// Registers the next version as building with `projection`; a build of the same projection
/// already under way is resumed rather than refused.
pub async fn start(
    store: &(impl LoadProjectionConfig + SaveProjectionConfig),
    projection: Projection,
    now: DateTime<Utc>,
) -> Result<ProjectionConfig, RebuildError> {
    let config = store.load_projection_config().await?;
    if let Some(building) = config.building
        && building.spec.projection == projection
    {
        return Ok(config);
    }
    let started = config.start_building(projection, now)?;
    store.save_projection_config(&started).await?;
    tracing::info!(version = %started.highest, %projection, "projection version registered as building");
    Ok(started)
}

/// The building version and the archive partitions (within `from`..=`to`) it still lacks.
pub async fn pending_partitions(
    archive: &impl ReadArchive,
    store: &(impl LoadProjectionConfig + RebuildProgress),
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(ProjectionSpec, Vec<NaiveDate>), RebuildError> {
    let config = store.load_projection_config().await?;
    let building = config.building.ok_or(ConfigError::NothingBuilding)?;
    let done = store.done_partitions(building.spec.version).await?;
    let days = archive
        .archive_days()
        .await?
        .into_iter()
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .filter(|d| !done.contains_key(d))
        .collect();
    Ok((building.spec, days))
}

/// Verifies the building version and records the result in the configuration.
pub async fn verify_building(
    store: &(
         impl LoadProjectionConfig
         + SaveProjectionConfig
         + crate::ports::ScanCounters
         + crate::ports::ReadCounters
     ),
    rereads: Rereads,
    now: DateTime<Utc>,
) -> Result<VerificationReport, RebuildError> {
    let config = store.load_projection_config().await?;
    let building = config.building.ok_or(ConfigError::NothingBuilding)?;
    let report = verify(store, config.active, building.spec, rereads).await?;
    let verified = config.verified(Verification {
        at: now,
        items: report.items,
        differences: report.differences.len() as u64,
    })?;
    store.save_projection_config(&verified).await?;
    Ok(report)
}

/// Makes the building version the one the analytics routes serve.
pub async fn activate(
    store: &(impl LoadProjectionConfig + SaveProjectionConfig),
    force: bool,
) -> Result<ProjectionConfig, RebuildError> {
    let config = store.load_projection_config().await?;
    let activated = config.activated(force)?;
    store.save_projection_config(&activated).await?;
    tracing::info!(version = %activated.active.version, force, "projection version activated");
    Ok(activated)
}

#[cfg(test)]
mod local_days_tests;
#[cfg(test)]
pub(crate) mod tests;
