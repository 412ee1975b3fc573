//! The ports of the analytics: the counter table, by projection version.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;
use taskpulse_domain::EventId;
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};

use super::StoreError;
use crate::analytics::marker_hints::{InlineMarkersFound, MarkerHints};
use crate::analytics::plan::TransactionPlan;

/// What a transaction of counter writes came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactionResult {
    /// Every write of the plan is committed, for this many write capacity units (as DynamoDB
    /// reports them; zero where the store does not report capacity).
    Committed { write_units: f64 },
    /// Nothing was written, because these events of the plan were applied before.
    AlreadyApplied(Vec<EventId>),
    /// Nothing was written, because these inline marker sets did not hold what the plan's
    /// placement of markers assumed (none of its events was applied before): plan again.
    InlineMarkersMoved(Vec<InlineMarkersFound>),
}

/// Commits one planned transaction of counter writes, all or nothing, conditional on none of
/// its events having been applied before (inline in their owner's day item or as an overflow
/// marker item) and on the inline marker sets holding what the plan assumed.
pub trait ApplyTransaction: Send + Sync {
    fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> impl Future<Output = Result<TransactionResult, StoreError>> + Send;

    /// What this store's users have learned of its inline marker sets, kept as long as the
    /// store (a long-lived store saves a refused first try per busy day and batch).
    fn marker_hints(&self) -> Option<&MarkerHints> {
        None
    }
}

/// A borrowed table commits as the table does (a handler can take a store it does not own).
impl<T: ApplyTransaction> ApplyTransaction for &T {
    fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> impl Future<Output = Result<TransactionResult, StoreError>> + Send {
        (**self).apply_transaction(plan)
    }

    fn marker_hints(&self) -> Option<&MarkerHints> {
        (**self).marker_hints()
    }
}

/// Reads per-day counters of one scope in one projection version, summing the shards of
/// global days.
pub trait ReadCounters: Send + Sync {
    /// Every day from `from` (or the first day ever, if `None`) through `to` that has counters.
    fn read_days(
        &self,
        version: ProjectionVersion,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> impl Future<Output = Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError>> + Send;

    /// One day's counters; counters never written read as absent.
    fn read_counters(
        &self,
        version: ProjectionVersion,
        key: &CounterKey,
    ) -> impl Future<Output = Result<BTreeMap<Counter, i64>, StoreError>> + Send {
        async move {
            let mut days = self
                .read_days(version, &key.scope, Some(key.day), key.day)
                .await?;
            Ok(days.remove(&key.day).unwrap_or_default())
        }
    }
}

/// Every counter item of one projection version, global shards summed, counters at zero left
/// out: what a verification compares.
pub type VersionCounters = BTreeMap<CounterKey, BTreeMap<Counter, i64>>;

/// Reads a whole projection version (a full scan of its items).
pub trait ScanCounters: Send + Sync {
    fn scan_counters(
        &self,
        version: ProjectionVersion,
    ) -> impl Future<Output = Result<VersionCounters, StoreError>> + Send;
}

/// Deletes a retired projection version's items, a page at a time.
pub trait DeleteCounters: Send + Sync {
    /// Deletes at most `limit` items of `version`; returns how many it deleted (0: none left).
    fn delete_counter_items(
        &self,
        version: ProjectionVersion,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
