//! The projection configuration as readers see it: loaded at most once per
//! [`PROJECTION_CONFIG_TTL`], so a busy consumer or API reads one small item every few seconds,
//! not per batch or request. The wrapper is the store itself otherwise: counters are read and
//! written straight through.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use chrono::NaiveDate;
use std::collections::BTreeMap;
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};

use super::ProjectionConfig;
use crate::analytics::plan::{MonthPartition, TransactionPlan};
use crate::ports::{
    ApplyTransaction, LoadProjectionConfig, ReadCounters, RollUpMonths, StoreError, StoredMonths,
    TransactionResult,
};

/// How stale a reader's view of the configuration may be. A rebuild waits this long (plus the
/// longest consumer invocation) after registering a version before it reads the archive, so
/// every batch counted after that has applied to the new version too.
pub const PROJECTION_CONFIG_TTL: Duration = Duration::from_secs(5);

/// A configuration loader that keeps what it loaded for `ttl`.
#[derive(Debug)]
pub struct CachedProjectionConfig<S> {
    store: S,
    ttl: Duration,
    cached: Mutex<Option<(Instant, ProjectionConfig)>>,
}

impl<S> CachedProjectionConfig<S> {
    pub fn new(store: S, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            cached: Mutex::new(None),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    fn fresh(&self) -> Option<ProjectionConfig> {
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, config)| *config)
    }
}

impl<S: LoadProjectionConfig> LoadProjectionConfig for CachedProjectionConfig<S> {
    async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
        if let Some(config) = self.fresh() {
            return Ok(config);
        }
        let config = self.store.load_projection_config().await?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), config));
        Ok(config)
    }
}

impl<S: ReadCounters> ReadCounters for CachedProjectionConfig<S> {
    async fn read_days(
        &self,
        version: ProjectionVersion,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        self.store.read_days(version, scope, from, to).await
    }
}

impl<S: RollUpMonths> RollUpMonths for CachedProjectionConfig<S> {
    fn month_partitions(&self, version: ProjectionVersion, scope: &Scope) -> Vec<MonthPartition> {
        self.store.month_partitions(version, scope)
    }

    async fn read_months(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        consistent: bool,
    ) -> Result<StoredMonths, StoreError> {
        self.store.read_months(version, partition, consistent).await
    }

    async fn read_partition_days(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
        consistent: bool,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        self.store
            .read_partition_days(version, partition, from, to, consistent)
            .await
    }

    async fn seal_month(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
        counters: &BTreeMap<Counter, i64>,
        late_writes: u64,
    ) -> Result<bool, StoreError> {
        self.store
            .seal_month(version, partition, month, counters, late_writes)
            .await
    }

    async fn mark_sealed_through(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
    ) -> Result<(), StoreError> {
        self.store
            .mark_sealed_through(version, partition, month)
            .await
    }
}

impl<S: ApplyTransaction> ApplyTransaction for CachedProjectionConfig<S> {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        self.store.apply_transaction(plan).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Counts its loads; each load returns a config whose revision is the load's number.
    #[derive(Default)]
    struct CountingStore(AtomicU64);

    impl LoadProjectionConfig for CountingStore {
        async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(ProjectionConfig {
                revision: n,
                ..ProjectionConfig::initial()
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_configuration_is_loaded_once_per_ttl() {
        let cached = CachedProjectionConfig::new(CountingStore::default(), Duration::from_secs(5));
        for _ in 0..10 {
            assert_eq!(cached.load_projection_config().await.unwrap().revision, 1);
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(cached.load_projection_config().await.unwrap().revision, 2);
        assert_eq!(cached.store().0.load(Ordering::SeqCst), 2);
    }
}
