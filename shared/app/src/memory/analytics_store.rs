//! The analytics table in memory: the counters of every projection version, the projection
//! configuration and a rebuild's progress, as the DynamoDB analytics table holds them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, UserId};

use super::counter_table::Refusal;
use super::{CounterTable, lock};
use crate::analytics::MarkerHints;
use crate::analytics::plan::{MonthPartition, TransactionPlan};
use crate::ports::{
    ApplyTransaction, DeleteCounters, ListUserDays, LoadProjectionConfig, MoveUserCounters,
    ReadCounters, RebuildProgress, RollUpMonths, SaveProjectionConfig, ScanCounters, StoreError,
    StoredMonths, TransactionResult, VersionCounters,
};
use crate::projections::{ProjectionConfig, ProjectionSpec};
use crate::rebuild::PartitionDone;

#[derive(Debug, Default)]
struct Tables {
    counters: BTreeMap<ProjectionVersion, CounterTable>,
    config: Option<ProjectionConfig>,
    progress: BTreeMap<ProjectionVersion, BTreeMap<NaiveDate, PartitionDone>>,
}

/// Counter items in memory, with the same all-or-nothing, applied-once semantics as DynamoDB.
/// Clones share the same table.
#[derive(Debug, Default, Clone)]
pub struct MemoryAnalyticsStore {
    tables: Arc<Mutex<Tables>>,
    hints: Arc<MarkerHints>,
}

impl MemoryAnalyticsStore {
    /// Whether `event` is recorded as applied on its owner's day item in the version `spec`
    /// (the day its projection counts the owner on).
    pub fn is_applied(&self, spec: ProjectionSpec, event: &EventEnvelope) -> bool {
        let day = spec.projection.effect(event).day;
        lock(&self.tables)
            .counters
            .get(&spec.version)
            .is_some_and(|table| table.is_applied(&event.user_id, day, event.event_id))
    }

    /// A store on the same tables that has learned nothing yet: another consumer process.
    pub fn clone_without_hints(&self) -> Self {
        Self {
            tables: Arc::clone(&self.tables),
            hints: Arc::default(),
        }
    }

    /// Runs `inspect` on the counter table of `version` (an empty one if it has none).
    pub fn with_table<T>(
        &self,
        version: ProjectionVersion,
        inspect: impl FnOnce(&mut CounterTable) -> T,
    ) -> T {
        inspect(lock(&self.tables).counters.entry(version).or_default())
    }
}

impl ApplyTransaction for MemoryAnalyticsStore {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        let mut tables = lock(&self.tables);
        let table = tables.counters.entry(plan.version).or_default();
        Ok(match table.try_commit(plan) {
            Ok(()) => TransactionResult::Committed { write_units: 0.0 },
            Err(Refusal::Duplicates(duplicates)) => TransactionResult::AlreadyApplied(duplicates),
            Err(Refusal::InlineMarkersMoved(found)) => TransactionResult::InlineMarkersMoved(found),
        })
    }

    fn marker_hints(&self) -> Option<&MarkerHints> {
        Some(&self.hints)
    }
}

impl ReadCounters for MemoryAnalyticsStore {
    async fn read_days(
        &self,
        version: ProjectionVersion,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        Ok(lock(&self.tables)
            .counters
            .get(&version)
            .map(|table| table.days(scope, from, to))
            .unwrap_or_default())
    }
}

impl ScanCounters for MemoryAnalyticsStore {
    async fn scan_counters(
        &self,
        version: ProjectionVersion,
    ) -> Result<VersionCounters, StoreError> {
        Ok(lock(&self.tables)
            .counters
            .get(&version)
            .map(CounterTable::scan)
            .unwrap_or_default())
    }
}

impl DeleteCounters for MemoryAnalyticsStore {
    async fn delete_counter_items(
        &self,
        version: ProjectionVersion,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut tables = lock(&self.tables);
        let Some(table) = tables.counters.get_mut(&version) else {
            return Ok(0);
        };
        let deleted = table.delete_items(limit);
        if table.is_empty() {
            tables.counters.remove(&version);
            tables.progress.remove(&version);
        }
        Ok(deleted)
    }
}

impl ListUserDays for MemoryAnalyticsStore {
    async fn list_user_days(
        &self,
        version: ProjectionVersion,
        user: &UserId,
        after: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        Ok(lock(&self.tables)
            .counters
            .get(&version)
            .map_or_else(Vec::new, |table| table.user_days(user, after, limit)))
    }
}

impl MoveUserCounters for MemoryAnalyticsStore {
    async fn move_user_counters(
        &self,
        version: ProjectionVersion,
        from: &UserId,
        to: &UserId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut tables = lock(&self.tables);
        Ok(tables
            .counters
            .get_mut(&version)
            .map_or(0, |table| table.move_user_items(from, to, limit)))
    }
}

impl LoadProjectionConfig for MemoryAnalyticsStore {
    async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
        Ok(lock(&self.tables)
            .config
            .unwrap_or_else(ProjectionConfig::initial))
    }
}

impl SaveProjectionConfig for MemoryAnalyticsStore {
    async fn save_projection_config(&self, config: &ProjectionConfig) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        let stored = tables.config.map_or(0, |c| c.revision);
        if config.revision != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.config = Some(*config);
        Ok(())
    }
}

impl RebuildProgress for MemoryAnalyticsStore {
    async fn done_partitions(
        &self,
        version: ProjectionVersion,
    ) -> Result<BTreeMap<NaiveDate, PartitionDone>, StoreError> {
        Ok(lock(&self.tables)
            .progress
            .get(&version)
            .cloned()
            .unwrap_or_default())
    }

    async fn mark_partition_done(
        &self,
        version: ProjectionVersion,
        done: &PartitionDone,
    ) -> Result<(), StoreError> {
        lock(&self.tables)
            .progress
            .entry(version)
            .or_default()
            .insert(done.day, done.clone());
        Ok(())
    }
}

impl RollUpMonths for MemoryAnalyticsStore {
    fn month_partitions(&self, version: ProjectionVersion, scope: &Scope) -> Vec<MonthPartition> {
        match scope {
            Scope::User(user) => vec![MonthPartition::User(user.clone())],
            Scope::Global => self.with_table(version, |table| {
                table
                    .shards()
                    .into_iter()
                    .map(MonthPartition::Shard)
                    .collect()
            }),
        }
    }

    async fn read_months(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        _consistent: bool,
    ) -> Result<StoredMonths, StoreError> {
        Ok(self.with_table(version, |table| table.months.read(partition)))
    }

    async fn read_partition_days(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
        _consistent: bool,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        Ok(self.with_table(version, |table| table.partition_days(partition, from, to)))
    }

    async fn seal_month(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
        counters: &BTreeMap<Counter, i64>,
        late_writes: u64,
    ) -> Result<bool, StoreError> {
        Ok(self.with_table(version, |table| {
            table.months.seal(partition, month, counters, late_writes)
        }))
    }

    async fn mark_sealed_through(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
    ) -> Result<(), StoreError> {
        self.with_table(version, |table| {
            table.months.mark_sealed_through(partition, month)
        });
        Ok(())
    }
}
