//! Analytics counters in DynamoDB, moved exactly once per event.
//!
//! One `TransactWriteItems` per event: first a `Put` of the event's dedupe marker, conditional
//! on its absence, then one `Update ... ADD` per counter item. DynamoDB commits all or nothing,
//! so a counter never moves without its marker and never moves twice: a redelivered event is
//! cancelled by its own marker's condition, which the cancellation reasons report at index 0.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{TimeDelta, Utc};
use taskpulse_app::{ApplyEventOnce, ApplyOutcome, ReadCounters, StoreError};
use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::{Counter, CounterKey, CounterUpdate};

use crate::error::store_error;
use crate::keys::{self, EXPIRES_AT, PK, SK};

/// Cancellation reasons that mean "try again", as opposed to a request that can never succeed.
const TRANSIENT_CANCELLATION_CODES: &[&str] = &[
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
];

#[derive(Debug, Clone)]
pub struct DynamoAnalyticsStore {
    client: Client,
    table: String,
    marker_ttl: TimeDelta,
}

fn key_attributes((pk, sk): (String, String)) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

impl DynamoAnalyticsStore {
    pub fn new(client: Client, table: impl Into<String>, marker_ttl: TimeDelta) -> Self {
        Self {
            client,
            table: table.into(),
            marker_ttl,
        }
    }

    fn marker_put(&self, event: &EventEnvelope) -> Result<TransactWriteItem, StoreError> {
        let expires_at = (Utc::now() + self.marker_ttl).timestamp();
        let mut item = key_attributes(keys::marker_key(event.event_id));
        item.insert(
            "eventType".into(),
            AttributeValue::S(event.event_type().into()),
        );
        item.insert(
            "taskId".into(),
            AttributeValue::S(event.task_id.to_string()),
        );
        item.insert(
            "sequence".into(),
            AttributeValue::N(event.sequence.to_string()),
        );
        item.insert(
            "appliedAt".into(),
            AttributeValue::S(Utc::now().to_rfc3339()),
        );
        item.insert(EXPIRES_AT.into(), AttributeValue::N(expires_at.to_string()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn counter_update(&self, update: &CounterUpdate) -> Result<TransactWriteItem, StoreError> {
        // Placeholders keep counter names clear of DynamoDB's reserved words.
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut clauses = Vec::with_capacity(update.deltas.len());
        for (i, (counter, delta)) in update.deltas.iter().enumerate() {
            names.insert(format!("#c{i}"), counter.name().to_owned());
            values.insert(format!(":d{i}"), AttributeValue::N(delta.to_string()));
            clauses.push(format!("#c{i} :d{i}"));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::counter_key(&update.key))))
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl ApplyEventOnce for DynamoAnalyticsStore {
    async fn apply_event_once(
        &self,
        event: &EventEnvelope,
        updates: &[CounterUpdate],
    ) -> Result<ApplyOutcome, StoreError> {
        // The marker goes first: its cancellation reason is at index 0.
        let mut items = vec![self.marker_put(event)?];
        for update in updates.iter().filter(|u| !u.deltas.is_empty()) {
            items.push(self.counter_update(update)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(ApplyOutcome::Applied),
            Err(error) => error,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(store_error(error));
        };
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().unwrap_or("None"))
            .collect();
        match codes.first() {
            Some(&"ConditionalCheckFailed") => Ok(ApplyOutcome::Duplicate),
            _ if codes
                .iter()
                .any(|c| TRANSIENT_CANCELLATION_CODES.contains(c)) =>
            {
                Err(StoreError::Unavailable(format!(
                    "transaction cancelled: {codes:?}"
                )))
            }
            _ => Err(StoreError::Rejected(format!(
                "transaction cancelled: {codes:?}: {}",
                DisplayErrorContext(&error)
            ))),
        }
    }
}

impl ReadCounters for DynamoAnalyticsStore {
    async fn read_counters(&self, key: &CounterKey) -> Result<BTreeMap<Counter, i64>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::counter_key(key))))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let mut counters = BTreeMap::new();
        for (name, value) in output.item.unwrap_or_default() {
            let Some(counter) = Counter::from_name(&name) else {
                continue; // key attributes
            };
            let number = value
                .as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| StoreError::Rejected(format!("counter {name} is not an integer")))?;
            counters.insert(counter, number);
        }
        Ok(counters)
    }
}
