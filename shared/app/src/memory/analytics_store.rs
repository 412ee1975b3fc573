//! The analytics counters in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::{Counter, Scope};

use super::{CounterTable, lock};
use crate::analytics::plan::TransactionPlan;
use crate::ports::{ApplyTransaction, ReadCounters, StoreError, TransactionResult};

/// Counter items in memory, with the same all-or-nothing, applied-once semantics as DynamoDB.
/// Clones share the same table.
#[derive(Debug, Default, Clone)]
pub struct MemoryAnalyticsStore {
    table: Arc<Mutex<CounterTable>>,
}

impl MemoryAnalyticsStore {
    /// Whether `event` is recorded as applied on its owner's day item.
    pub fn is_applied(&self, event: &EventEnvelope) -> bool {
        lock(&self.table).is_applied(
            &event.user_id,
            event.occurred_at.date_naive(),
            event.event_id,
        )
    }
}

impl ApplyTransaction for MemoryAnalyticsStore {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        Ok(match lock(&self.table).commit(plan) {
            Ok(()) => TransactionResult::Committed { write_units: 0.0 },
            Err(duplicates) => TransactionResult::AlreadyApplied(duplicates),
        })
    }
}

impl ReadCounters for MemoryAnalyticsStore {
    async fn read_days(
        &self,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        Ok(lock(&self.table).days(scope, from, to))
    }
}
