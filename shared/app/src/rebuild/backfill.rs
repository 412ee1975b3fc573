//! The backfill of one archive partition into a building version: read the partition
//! (deduplicated, corrupt objects skipped and reported), apply its events exactly once — the
//! live consumer's own applied-event markers make events it already applied to the version
//! duplicates — and record the partition as done, so a rerun continues after it. Applying a
//! partition twice changes nothing. Events of erased users are counted under their
//! pseudonyms, as the consumer counts them.

use std::time::Duration;

use chrono::NaiveDate;
use tokio::time::Instant;

use super::{PartitionDone, RebuildError, WritePace};
use crate::analytics::{PlanLimits, apply_events};
use crate::archive::{CorruptObject, read_partition};
use crate::erasure::route_late_events;
use crate::ports::{ApplyTransaction, LoadErasures, ReadArchive, RebuildProgress};
use crate::projections::ProjectionSpec;

/// Events applied per call of the exactly-once path: bounds a call's retries and lets the pace
/// act between calls.
pub const BACKFILL_CHUNK: usize = 1_000;
/// How long one chunk may keep retrying transient write failures before the partition is
/// failed (and left for a rerun).
const CHUNK_RETRY_BUDGET: Duration = Duration::from_secs(20);

/// What backfilling one partition did.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionReport {
    pub done: PartitionDone,
    pub corrupt: Vec<CorruptObject>,
    pub bytes: usize,
    pub item_writes: usize,
}

pub async fn backfill_partition(
    archive: &impl ReadArchive,
    erasures: &impl LoadErasures,
    store: &(impl ApplyTransaction + RebuildProgress),
    spec: ProjectionSpec,
    day: NaiveDate,
    limits: &PlanLimits,
    pace: &mut WritePace,
) -> Result<PartitionReport, RebuildError> {
    let read = read_partition(archive, day).await?;
    let mut done = PartitionDone {
        day,
        events: read.events.len() as u64,
        applied: 0,
        duplicates: 0,
        repeated_lines: read.repeated_lines as u64,
        corrupt_objects: read.corrupt.len() as u64,
    };
    let mut item_writes = 0;
    for chunk in read.events.chunks(BACKFILL_CHUNK) {
        // Erased users' events count under their pseudonyms, as the consumer counts them; an
        // owner being erased leaves the partition for a rerun.
        let routed = route_late_events(erasures, chunk).await?;
        if !routed.held.is_empty() {
            return Err(RebuildError::OwnerBeingErased { day });
        }
        let deadline = Instant::now() + CHUNK_RETRY_BUDGET;
        let outcome = apply_events(
            store,
            spec,
            routed.countable.iter().map(|e| e.as_ref()),
            limits,
            deadline,
        )
        .await;
        if let Some((event, reason)) = outcome.failed.first() {
            return Err(RebuildError::PartitionFailed {
                day,
                reason: format!("event {event}: {reason}"),
            });
        }
        done.applied += outcome.applied.len() as u64;
        done.duplicates += outcome.duplicates.len() as u64;
        item_writes += outcome.items;
        pace.spend(outcome.items).await;
    }
    store.mark_partition_done(spec.version, &done).await?;
    Ok(PartitionReport {
        done,
        corrupt: read.corrupt,
        bytes: read.bytes,
        item_writes,
    })
}
