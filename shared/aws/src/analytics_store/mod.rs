//! Analytics counters in DynamoDB, moved exactly once per event.
//!
//! A planned transaction (see `taskpulse_app::analytics::plan`) becomes one
//! `TransactWriteItems` (its actions in [`writes`]): per (user, day) item an `Update` that
//! adds the merged deltas and the inline markers to the item's `appliedEvents` binary set,
//! conditional on none of the write's events being in it and on the set's size; a `Put` per
//! overflow marker, conditional on its absence; then per global day one `Update` of one
//! shard. All or nothing: a redelivered event cancels its transaction, whose cancellation
//! reasons name the day items whose condition failed (`ReturnValuesOnConditionCheckFailure =
//! ALL_OLD` carries their `appliedEvents`) and the markers that existed, which tells exactly
//! which events were applied before; a set that is not as the placement assumed is reported
//! with its size, to plan again.

mod months;
mod moves;
mod user_days;
mod writes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ReturnConsumedCapacity, TransactWriteItem,
};
use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use taskpulse_app::analytics::plan::{TransactionPlan, UserDayWrite};
use taskpulse_app::{
    ApplyTransaction, InlineMarkersFound, MarkerHints, ReadCounters, StoreError, TransactionResult,
};
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope, add_into};

use self::writes::{Action, inline_set};
use crate::error::store_error;
use crate::keys::{self, APPLIED_EVENTS, PK, SK, key_attributes};

pub use taskpulse_app::analytics::PARTITION_READS_AT_ONCE;

/// Cancellation reasons after which the same transaction may succeed.
const TRANSIENT_CANCELLATION_CODES: &[&str] = &[
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
];

/// What one `TransactWriteItems` call came to.
#[derive(Debug, Clone)]
pub enum TransactOutcome {
    /// Committed, for the write capacity units DynamoDB reported (0 where it reports none).
    Committed { write_units: f64 },
    /// Nothing written; one reason per item, in request order.
    Cancelled(Vec<CancellationReason>),
}

/// Sends `TransactWriteItems`. Implemented by the SDK client; tests wrap it to inject the
/// failures moto does not produce (conflicts, throttling, a lost response).
pub trait TransactWrites: Send + Sync {
    fn transact_write(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> impl Future<Output = Result<TransactOutcome, StoreError>> + Send;
}

impl TransactWrites for Client {
    async fn transact_write(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        match self
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
        {
            Ok(output) => Ok(TransactOutcome::Committed {
                write_units: output
                    .consumed_capacity()
                    .iter()
                    .filter_map(|c| c.capacity_units())
                    .sum(),
            }),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Ok(
                    TransactOutcome::Cancelled(cancelled.cancellation_reasons().to_vec()),
                ),
                _ => Err(store_error(error)),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct DynamoAnalyticsStore<W = Client> {
    writer: W,
    /// Every call but the counter transactions: reads, scans, the configuration, deletes.
    pub(crate) reader: Client,
    pub(crate) table: String,
    global_shards: u32,
    /// Shared by clones: what the consumer learned of the inline marker sets.
    hints: Arc<MarkerHints>,
}

/// The counters an item holds (its other attributes left out).
pub(super) fn counters_of(
    item: &HashMap<String, AttributeValue>,
) -> Result<BTreeMap<Counter, i64>, StoreError> {
    let mut counters = BTreeMap::new();
    for (name, value) in item {
        if let Some(counter) = Counter::from_name(name) {
            let number = value
                .as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| rejected(format!("counter {name} is not an integer")))?;
            *counters.entry(counter).or_default() += number;
        }
    }
    Ok(counters)
}

pub(crate) fn rejected(error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(error.to_string())
}

impl DynamoAnalyticsStore<Client> {
    pub fn new(client: Client, table: impl Into<String>, global_shards: u32) -> Self {
        Self::with_writer(client.clone(), client, table, global_shards)
    }
}

impl<W: TransactWrites> DynamoAnalyticsStore<W> {
    /// A store whose transactions go through `writer` (reads always use `reader`).
    pub fn with_writer(
        writer: W,
        reader: Client,
        table: impl Into<String>,
        global_shards: u32,
    ) -> Self {
        Self {
            writer,
            reader,
            table: table.into(),
            global_shards: global_shards.max(1),
            hints: Arc::default(),
        }
    }

    /// The writer transactions go through.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// The inline marker set of `write`'s day item, from the item a failed condition
    /// returned (or, if it returned none, from a consistent read).
    async fn inline_markers(
        &self,
        version: ProjectionVersion,
        write: &UserDayWrite,
        returned: Option<&HashMap<String, AttributeValue>>,
    ) -> Result<HashSet<Vec<u8>>, StoreError> {
        if let Some(item) = returned {
            return Ok(inline_set(item));
        }
        let output = self
            .reader
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::user_day_key(
                version,
                &write.user,
                write.day,
            ))))
            .projection_expression("#applied")
            .expression_attribute_names("#applied", APPLIED_EVENTS)
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item.as_ref().map(inline_set).unwrap_or_default())
    }

    /// The actions of `plan`, and what each is.
    fn actions(
        &self,
        plan: &TransactionPlan,
    ) -> Result<(Vec<TransactWriteItem>, Vec<Action>), StoreError> {
        let mut items = Vec::with_capacity(plan.item_count());
        let mut actions = Vec::with_capacity(plan.item_count());
        for (i, write) in plan.users.iter().enumerate() {
            items.push(writes::day_action(&self.table, plan.version, write)?);
            actions.push(Action::Day(i));
            for event in write.overflow_events() {
                items.push(writes::marker_put(
                    &self.table,
                    plan.version,
                    write,
                    *event,
                )?);
                actions.push(Action::Marker(*event));
            }
        }
        for write in &plan.globals {
            let key =
                keys::global_day_key(plan.version, write.day, write.shard % self.global_shards);
            items.push(writes::global_update(&self.table, key, &write.deltas)?);
            actions.push(Action::Global);
        }
        for write in &plan.months {
            let key = (
                self.month_partition_key(plan.version, &write.partition),
                keys::month_sort_key(write.month),
            );
            items.push(writes::month_update(&self.table, key, &write.deltas)?);
            actions.push(Action::Month);
        }
        Ok((items, actions))
    }
}

impl<W: TransactWrites> ApplyTransaction for DynamoAnalyticsStore<W> {
    fn marker_hints(&self) -> Option<&MarkerHints> {
        Some(&self.hints)
    }

    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        let (items, actions) = self.actions(plan)?;
        let reasons = match self.writer.transact_write(items).await? {
            TransactOutcome::Committed { write_units } => {
                return Ok(TransactionResult::Committed { write_units });
            }
            TransactOutcome::Cancelled(reasons) => reasons,
        };
        let code = |reason: &CancellationReason| reason.code().unwrap_or("None").to_owned();
        let mut duplicates = vec![];
        let mut moved = vec![];
        for (action, reason) in actions.iter().zip(&reasons) {
            if reason.code() != Some("ConditionalCheckFailed") {
                continue;
            }
            match *action {
                Action::Day(i) => {
                    let write = &plan.users[i];
                    let set = self
                        .inline_markers(plan.version, write, reason.item())
                        .await?;
                    let before = duplicates.len();
                    duplicates.extend(
                        write
                            .events
                            .iter()
                            .filter(|e| set.contains(e.as_uuid().as_bytes().as_slice()))
                            .copied(),
                    );
                    if duplicates.len() == before {
                        // None of its events was there: the set's size failed the condition.
                        moved.push(InlineMarkersFound {
                            user: write.user.clone(),
                            day: write.day,
                            markers: set.len(),
                        });
                    }
                }
                Action::Marker(event) => duplicates.push(event),
                Action::Global | Action::Month => {}
            }
        }
        if !duplicates.is_empty() {
            return Ok(TransactionResult::AlreadyApplied(duplicates));
        }
        if !moved.is_empty() {
            return Ok(TransactionResult::InlineMarkersMoved(moved));
        }
        let codes: Vec<String> = reasons.iter().map(code).collect();
        if codes
            .iter()
            .any(|c| TRANSIENT_CANCELLATION_CODES.contains(&c.as_str()))
        {
            Err(StoreError::Unavailable(format!(
                "transaction cancelled: {codes:?}"
            )))
        } else if codes.iter().any(|c| c == "ConditionalCheckFailed") {
            // A condition failed but nothing shows why (a global update's condition, which
            // none has): try again, which will either commit or name the duplicates.
            Err(StoreError::Conflict)
        } else {
            Err(StoreError::Rejected(format!(
                "transaction cancelled: {codes:?}"
            )))
        }
    }
}

impl<W: TransactWrites> ReadCounters for DynamoAnalyticsStore<W> {
    async fn read_days(
        &self,
        version: ProjectionVersion,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        let partitions: Vec<String> = match scope {
            Scope::User(user) => vec![keys::counter_user_partition(version, user)],
            Scope::Global => (0..self.global_shards)
                .map(|shard| keys::global_partition(version, shard))
                .collect(),
        };
        let lower = from.map_or_else(|| keys::DAY_PREFIX.to_owned(), keys::day_sort_key);
        let upper = keys::day_sort_key(to);
        let (lower, upper) = (lower.as_str(), upper.as_str());
        // Everyone's analytics read every global shard: one after another, their round trips
        // would add up.
        let mut reads = stream::iter(partitions)
            .map(|partition| self.read_partition(partition, lower, upper, false))
            .buffer_unordered(PARTITION_READS_AT_ONCE);
        let mut days: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
        while let Some(partition_days) = reads.next().await {
            for (day, counters) in partition_days? {
                add_into(days.entry(day).or_default(), &counters);
            }
        }
        Ok(days)
    }
}

impl<W: TransactWrites> DynamoAnalyticsStore<W> {
    /// One partition's day items from `lower` to `upper` (sort keys), page by page.
    async fn read_partition(
        &self,
        partition: String,
        lower: &str,
        upper: &str,
        consistent: bool,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        // Whole items: the due gauges' names are not known before they are read, and a query is
        // billed on whole items whatever it returns. The applied-event sets are skipped below.
        let mut days: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
        let mut items = self
            .reader
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND {SK} BETWEEN :lower AND :upper"))
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .expression_attribute_values(":lower", AttributeValue::S(lower.to_owned()))
            .expression_attribute_values(":upper", AttributeValue::S(upper.to_owned()))
            .consistent_read(consistent)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items.next().await {
            let item = item.map_err(store_error)?;
            let Some(day) = item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| keys::parse_day_sort_key(sk))
            else {
                continue;
            };
            add_into(days.entry(day).or_default(), &counters_of(&item)?);
        }
        Ok(days)
    }
}
