//! What the consumer does with a batch's distinct events: archive them first, then apply them
//! exactly once to every live projection version (the active one and, during a rebuild, the
//! one building). An event whose archive write failed is not counted; an event that failed in
//! any version is failed as a whole, so its retry completes the versions it missed (the others
//! recognise it as applied before).

use std::collections::HashSet;
use std::time::Duration;

use taskpulse_domain::{EventEnvelope, EventId};
use tokio::time::Instant;

use crate::analytics::{BatchOutcome, PlanLimits, apply_events};
use crate::archive::archive_events;
use crate::ports::{ApplyTransaction, WriteArchive};
use crate::projections::ProjectionConfig;

/// A batch's outcome: `applied` and `duplicates` as the active version saw them, `failed`
/// over the archive and every live version, and what the archive cost.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ConsumeOutcome {
    pub batch: BatchOutcome,
    pub archive_objects: usize,
    pub archive_bytes: usize,
    /// Events not counted because their archive object could not be written.
    pub archive_failures: usize,
    /// How long the archive write took.
    pub archive_time: Duration,
}

pub async fn consume_events(
    archive: &impl WriteArchive,
    store: &impl ApplyTransaction,
    config: &ProjectionConfig,
    events: &[&EventEnvelope],
    limits: &PlanLimits,
    deadline: Instant,
) -> ConsumeOutcome {
    let started = Instant::now();
    let archived = archive_events(archive, events.iter().copied()).await;
    let mut outcome = ConsumeOutcome {
        archive_objects: archived.objects,
        archive_bytes: archived.bytes,
        archive_time: started.elapsed(),
        archive_failures: archived.failed.len(),
        ..ConsumeOutcome::default()
    };
    let mut failed: Vec<(EventId, String)> = archived.failed;
    let archived: HashSet<EventId> = archived.archived.into_iter().collect();
    let countable: Vec<&EventEnvelope> = events
        .iter()
        .copied()
        .filter(|e| archived.contains(&e.event_id))
        .collect();
    let mut active = BatchOutcome::default();
    for (i, spec) in config.live().into_iter().enumerate() {
        let version = apply_events(store, spec, countable.iter().copied(), limits, deadline).await;
        outcome.batch.transactions += version.transactions;
        outcome.batch.items += version.items;
        outcome.batch.retries += version.retries;
        outcome.batch.write_units += version.write_units;
        failed.extend(version.failed.iter().cloned());
        if i == 0 {
            active = version;
        }
    }
    let mut failed_ids = HashSet::new();
    failed.retain(|(id, _)| failed_ids.insert(*id));
    outcome.batch.applied = active
        .applied
        .into_iter()
        .filter(|id| !failed_ids.contains(id))
        .collect();
    outcome.batch.duplicates = active
        .duplicates
        .into_iter()
        .filter(|id| !failed_ids.contains(id))
        .collect();
    outcome.batch.failed = failed;
    outcome
}

#[cfg(test)]
mod tests {
    use taskpulse_domain::analytics::{Counter, Projection, Scope};

    use super::*;
    use crate::analytics::plan::TransactionPlan;
    use crate::memory::{MemoryAnalyticsStore, MemoryArchive};
    use crate::ports::{ReadArchive, ReadCounters, StoreError, TransactionResult};
    use crate::test_events::history;

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// A counter table that refuses every write to one version.
    struct RefusesVersion(MemoryAnalyticsStore, u32);

    impl ApplyTransaction for RefusesVersion {
        async fn apply_transaction(
            &self,
            plan: &TransactionPlan,
        ) -> Result<TransactionResult, StoreError> {
            if plan.version.number() == self.1 {
                return Err(StoreError::Rejected("refused".into()));
            }
            self.0.apply_transaction(plan).await
        }
    }

    async fn global_created(store: &MemoryAnalyticsStore, version: u32) -> i64 {
        let version = taskpulse_domain::analytics::ProjectionVersion::new(version).unwrap();
        let days = store
            .read_days(version, &Scope::Global, None, "2030-01-01".parse().unwrap())
            .await
            .unwrap();
        days.values()
            .map(|d| d.get(&Counter::Created).copied().unwrap_or(0))
            .sum()
    }

    #[tokio::test]
    async fn events_are_archived_then_counted_in_every_live_version_once() {
        let events = history(9, 2);
        let refs: Vec<&EventEnvelope> = events.iter().collect();
        let archive = MemoryArchive::default();
        let store = MemoryAnalyticsStore::default();
        let config = ProjectionConfig::initial()
            .start_building(
                Projection::TasksByPriority,
                "2026-12-02T00:00:00Z".parse().unwrap(),
            )
            .unwrap();
        let limits = PlanLimits::default();
        let first = consume_events(&archive, &store, &config, &refs, &limits, deadline()).await;
        assert_eq!(first.batch.applied.len(), events.len());
        assert!(first.batch.failed.is_empty());
        assert_eq!(
            first.archive_objects,
            archive.archive_days().await.unwrap().len()
        );
        assert_eq!(
            (
                global_created(&store, 1).await,
                global_created(&store, 2).await
            ),
            (9, 9)
        );
        let again = consume_events(&archive, &store, &config, &refs, &limits, deadline()).await;
        assert_eq!(again.batch.duplicates.len(), events.len());
        assert_eq!(
            (
                global_created(&store, 1).await,
                global_created(&store, 2).await
            ),
            (9, 9)
        );
    }

    #[tokio::test]
    async fn an_event_that_fails_in_the_building_version_is_failed_and_its_retry_completes_it() {
        let events = history(3, 1);
        let refs: Vec<&EventEnvelope> = events.iter().collect();
        let archive = MemoryArchive::default();
        let store = MemoryAnalyticsStore::default();
        let config = ProjectionConfig::initial()
            .start_building(Projection::Tasks, "2026-12-02T00:00:00Z".parse().unwrap())
            .unwrap();
        let limits = PlanLimits::default();
        let broken = RefusesVersion(store.clone(), 2);
        let first = consume_events(&archive, &broken, &config, &refs, &limits, deadline()).await;
        assert_eq!(first.batch.failed.len(), events.len());
        assert!(first.batch.applied.is_empty(), "{first:?}");
        assert_eq!(global_created(&store, 1).await, 3);
        let retry = consume_events(&archive, &store, &config, &refs, &limits, deadline()).await;
        assert!(retry.batch.failed.is_empty());
        assert_eq!(
            retry.batch.duplicates.len(),
            events.len(),
            "version 1 had them"
        );
        assert_eq!(
            (
                global_created(&store, 1).await,
                global_created(&store, 2).await
            ),
            (3, 3)
        );
    }
}
