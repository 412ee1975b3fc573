//! A whole rebuild in one process (the local stack's `rebuild`): the same steps the
//! coordinator and worker functions take on AWS, one after the other, reporting progress.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use taskpulse_domain::analytics::{Projection, ProjectionVersion};
use tokio::time::Instant;

use super::{
    PartitionReport, RebuildError, Rereads, VerificationReport, WritePace, activate,
    backfill_partition, pending_partitions, start, verify_building,
};
use crate::analytics::PlanLimits;
use crate::archive::CorruptObject;
use crate::ports::{
    ApplyTransaction, LoadErasures, LoadProjectionConfig, ReadArchive, ReadCounters,
    RebuildProgress, SaveProjectionConfig, ScanCounters,
};
use crate::projections::ConfigError;

/// What to rebuild and how.
#[derive(Debug, Clone)]
pub struct RebuildPlan {
    pub projection: Projection,
    /// The archive partitions to backfill (all when both are `None`).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// See [`super::settle_time`].
    pub settle: Duration,
    /// Counter item writes per second; `None`: unpaced.
    pub write_rate: Option<f64>,
    pub limits: PlanLimits,
    pub rereads: Rereads,
    /// Activate after verifying; `force` activates despite differences.
    pub activate: bool,
    pub force: bool,
}

/// Progress, as it happens.
#[derive(Debug)]
pub enum RebuildProgressEvent<'a> {
    Registered { version: ProjectionVersion },
    Settling { remaining: Duration },
    Partitions { pending: usize },
    PartitionDone(&'a PartitionReport),
    Verified(&'a VerificationReport),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RebuildReport {
    pub version: ProjectionVersion,
    pub projection: Projection,
    pub partitions: usize,
    /// Distinct events read from the archive.
    pub events: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub repeated_lines: u64,
    pub corrupt: Vec<CorruptObject>,
    pub item_writes: usize,
    pub backfill_time: Duration,
    pub verification: VerificationReport,
    pub activated: bool,
    /// Why activation was refused, when it was asked for and refused.
    pub refused: Option<ConfigError>,
}

/// How long a rebuild run waits for an erasure that holds one of its partitions, and how
/// often it tries the partition again meanwhile.
const ERASURE_WAIT: Duration = Duration::from_secs(900);
const ERASURE_WAIT_PAUSE: Duration = Duration::from_secs(1);

pub async fn run_rebuild<S>(
    archive: &impl ReadArchive,
    erasures: &impl LoadErasures,
    store: &S,
    plan: &RebuildPlan,
    mut observe: impl FnMut(RebuildProgressEvent<'_>),
) -> Result<RebuildReport, RebuildError>
where
    S: ApplyTransaction
        + ReadCounters
        + ScanCounters
        + RebuildProgress
        + LoadProjectionConfig
        + SaveProjectionConfig,
{
    let config = start(store, plan.projection, Utc::now()).await?;
    let building = config.building.ok_or(ConfigError::NothingBuilding)?;
    observe(RebuildProgressEvent::Registered {
        version: building.spec.version,
    });
    let settled_at = building.since
        + chrono::Duration::from_std(plan.settle).unwrap_or(chrono::Duration::zero());
    if let Ok(remaining) = (settled_at - Utc::now()).to_std() {
        observe(RebuildProgressEvent::Settling { remaining });
        tokio::time::sleep(remaining).await;
    }

    let (spec, days) = pending_partitions(archive, store, plan.from, plan.to).await?;
    observe(RebuildProgressEvent::Partitions {
        pending: days.len(),
    });
    let mut report = RebuildReport {
        version: spec.version,
        projection: spec.projection,
        partitions: days.len(),
        events: 0,
        applied: 0,
        duplicates: 0,
        repeated_lines: 0,
        corrupt: vec![],
        item_writes: 0,
        backfill_time: Duration::ZERO,
        verification: VerificationReport::default(),
        activated: false,
        refused: None,
    };
    let started = Instant::now();
    let mut pace = WritePace::new(plan.write_rate);
    for day in days {
        let mut held_since = None;
        let partition = loop {
            match backfill_partition(archive, erasures, store, spec, day, &plan.limits, &mut pace)
                .await
            {
                // An erasure takes minutes at most: wait for it, as the worker's queue would.
                Err(RebuildError::OwnerBeingErased { .. })
                    if held_since.get_or_insert_with(Instant::now).elapsed() < ERASURE_WAIT =>
                {
                    tokio::time::sleep(ERASURE_WAIT_PAUSE).await;
                }
                other => break other?,
            }
        };
        report.events += partition.done.events;
        report.applied += partition.done.applied;
        report.duplicates += partition.done.duplicates;
        report.repeated_lines += partition.done.repeated_lines;
        report.item_writes += partition.item_writes;
        observe(RebuildProgressEvent::PartitionDone(&partition));
        report.corrupt.extend(partition.corrupt);
    }
    report.backfill_time = started.elapsed();

    report.verification = verify_building(store, plan.rereads, Utc::now()).await?;
    observe(RebuildProgressEvent::Verified(&report.verification));
    if plan.activate {
        match activate(store, plan.force).await {
            Ok(_) => report.activated = true,
            Err(RebuildError::Config(refused)) => report.refused = Some(refused),
            Err(other) => return Err(other),
        }
    }
    Ok(report)
}
