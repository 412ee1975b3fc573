//! The port of the month roll-ups (`taskpulse_domain::analytics::months`): a partition's month
//! items read and sealed. A user's counters are one partition; everyone's are one per shard,
//! each sealed on its own.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};

use super::StoreError;
use crate::analytics::plan::MonthPartition;

/// One month item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMonth {
    /// Before the seal, what late writes added; after it, the sums of the month's days.
    pub counters: BTreeMap<Counter, i64>,
    pub sealed: bool,
    /// Late writes the item took; a seal is conditional on it.
    pub late_writes: u64,
}

/// A partition's month items (keyed by each month's first day) and how far it is sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMonths {
    pub months: BTreeMap<NaiveDate, StoredMonth>,
    /// Every month up to this one (its first day) is sealed: its item, where it has one,
    /// holds the sum of its days, and a month without one has no day item.
    pub sealed_through: Option<NaiveDate>,
}

/// Reads and seals month items, partition by partition.
pub trait RollUpMonths: Send + Sync {
    /// The partitions `scope`'s counters are kept in.
    fn month_partitions(&self, version: ProjectionVersion, scope: &Scope) -> Vec<MonthPartition>;

    /// The partition's month items and its sealed mark, in one read.
    fn read_months(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        consistent: bool,
    ) -> impl Future<Output = Result<StoredMonths, StoreError>> + Send;

    /// The partition's day items from `from` (or the first) through `to`.
    fn read_partition_days(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
        consistent: bool,
    ) -> impl Future<Output = Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError>> + Send;

    /// Sets the month item's counters to `counters` (the sums of its days; counters not named
    /// are left as they are) and marks it sealed, on condition that it is not sealed and has
    /// taken exactly `late_writes` late writes. A store may write it in several updates under
    /// the same condition, the sealed mark in the last: values set, not added, make a partial
    /// or repeated seal harmless. `false`: the condition failed.
    fn seal_month(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
        counters: &BTreeMap<Counter, i64>,
        late_writes: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that every month up to `month` is sealed, unless a later month already is.
    fn mark_sealed_through(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
