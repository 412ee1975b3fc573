//! Analytics counters in DynamoDB, moved exactly once per event.
//!
//! A planned transaction (see `taskpulse_app::analytics::plan`) becomes one
//! `TransactWriteItems`: per (user, day) item an `Update` that adds the merged deltas and the
//! transaction's event ids to the item's `appliedEvents` binary set, conditional on none of
//! those ids being in it; then per global day one `Update` of one shard. All or nothing: a
//! redelivered event cancels its transaction, whose cancellation reasons name the user items
//! whose condition failed and (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) carry their
//! `appliedEvents`, which tells exactly which events were applied before.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::NaiveDate;
use taskpulse_app::analytics::plan::{TransactionPlan, UserDayWrite};
use taskpulse_app::{ApplyTransaction, ReadCounters, StoreError, TransactionResult};
use taskpulse_domain::EventId;
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};

use crate::error::store_error;
use crate::keys::{self, APPLIED_EVENTS, PK, SK, key_attributes};

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
}

fn event_blob(id: EventId) -> Blob {
    Blob::new(id.as_uuid().as_bytes().to_vec())
}

pub(crate) fn rejected(error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(error.to_string())
}

/// `ADD` clauses for counter deltas; placeholders keep counter names clear of reserved words.
fn add_deltas(
    deltas: &BTreeMap<Counter, i64>,
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
) -> Vec<String> {
    deltas
        .iter()
        .enumerate()
        .map(|(i, (counter, delta))| {
            names.insert(format!("#c{i}"), counter.name().to_owned());
            values.insert(format!(":d{i}"), AttributeValue::N(delta.to_string()));
            format!("#c{i} :d{i}")
        })
        .collect()
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
        }
    }

    /// The writer transactions go through.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    fn user_update(
        &self,
        version: ProjectionVersion,
        write: &UserDayWrite,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut names = HashMap::from([("#applied".to_owned(), APPLIED_EVENTS.to_owned())]);
        let mut values = HashMap::new();
        let mut clauses = add_deltas(&write.deltas, &mut names, &mut values);
        clauses.push("#applied :events".to_owned());
        values.insert(
            ":events".to_owned(),
            AttributeValue::Bs(write.events.iter().map(|e| event_blob(*e)).collect()),
        );
        let mut conditions = Vec::with_capacity(write.events.len());
        for (i, event) in write.events.iter().enumerate() {
            values.insert(format!(":e{i}"), AttributeValue::B(event_blob(*event)));
            conditions.push(format!("NOT contains(#applied, :e{i})"));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::user_day_key(
                version,
                &write.user,
                write.day,
            ))))
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(rejected)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn global_update(
        &self,
        version: ProjectionVersion,
        day: NaiveDate,
        shard: u32,
        deltas: &BTreeMap<Counter, i64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let clauses = add_deltas(deltas, &mut names, &mut values);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::global_day_key(
                version,
                day,
                shard % self.global_shards,
            ))))
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(rejected)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The events of `write` already in its item's applied set, from the item a failed
    /// condition returned (or, if it returned none, from a consistent read).
    async fn already_applied(
        &self,
        version: ProjectionVersion,
        write: &UserDayWrite,
        returned: Option<&HashMap<String, AttributeValue>>,
    ) -> Result<Vec<EventId>, StoreError> {
        let applied_of = |item: &HashMap<String, AttributeValue>| -> HashSet<Vec<u8>> {
            item.get(APPLIED_EVENTS)
                .and_then(|v| v.as_bs().ok())
                .map(|set| set.iter().map(|b| b.as_ref().to_vec()).collect())
                .unwrap_or_default()
        };
        let applied = match returned {
            Some(item) => applied_of(item),
            None => {
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
                output.item.as_ref().map(applied_of).unwrap_or_default()
            }
        };
        Ok(write
            .events
            .iter()
            .filter(|e| applied.contains(e.as_uuid().as_bytes().as_slice()))
            .copied()
            .collect())
    }
}

impl<W: TransactWrites> ApplyTransaction for DynamoAnalyticsStore<W> {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        let mut items = Vec::with_capacity(plan.item_count());
        for write in &plan.users {
            items.push(self.user_update(plan.version, write)?);
        }
        for write in &plan.globals {
            items.push(self.global_update(plan.version, write.day, write.shard, &write.deltas)?);
        }
        let reasons = match self.writer.transact_write(items).await? {
            TransactOutcome::Committed { write_units } => {
                return Ok(TransactionResult::Committed { write_units });
            }
            TransactOutcome::Cancelled(reasons) => reasons,
        };
        let code = |reason: &CancellationReason| reason.code().unwrap_or("None").to_owned();
        let mut duplicates = vec![];
        for (write, reason) in plan.users.iter().zip(&reasons) {
            if reason.code() == Some("ConditionalCheckFailed") {
                duplicates.extend(
                    self.already_applied(plan.version, write, reason.item())
                        .await?,
                );
            }
        }
        if !duplicates.is_empty() {
            return Ok(TransactionResult::AlreadyApplied(duplicates));
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
            // A condition failed but the item no longer shows why (it changed in between):
            // try again, which will either commit or name the duplicates.
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
        // Only the counters: the applied-event sets are for the writers.
        let mut names: HashMap<String, String> = HashMap::new();
        let mut projection = vec![SK.to_owned()];
        for (i, counter) in Counter::ALL.iter().enumerate() {
            names.insert(format!("#c{i}"), counter.name().to_owned());
            projection.push(format!("#c{i}"));
        }
        let mut days: BTreeMap<NaiveDate, BTreeMap<Counter, i64>> = BTreeMap::new();
        for partition in partitions {
            let mut start = None;
            loop {
                let output = self
                    .reader
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression(format!(
                        "{PK} = :pk AND {SK} BETWEEN :lower AND :upper"
                    ))
                    .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                    .expression_attribute_values(":lower", AttributeValue::S(lower.clone()))
                    .expression_attribute_values(":upper", AttributeValue::S(upper.clone()))
                    .projection_expression(projection.join(", "))
                    .set_expression_attribute_names(Some(names.clone()))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(store_error)?;
                for item in output.items.unwrap_or_default() {
                    let Some(day) = item
                        .get(SK)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|sk| keys::parse_day_sort_key(sk))
                    else {
                        continue;
                    };
                    let counters = days.entry(day).or_default();
                    for (name, value) in &item {
                        if let Some(counter) = Counter::from_name(name) {
                            let number = value
                                .as_n()
                                .ok()
                                .and_then(|n| n.parse::<i64>().ok())
                                .ok_or_else(|| {
                                    rejected(format!("counter {name} is not an integer"))
                                })?;
                            *counters.entry(counter).or_default() += number;
                        }
                    }
                }
                start = output.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(days)
    }
}
