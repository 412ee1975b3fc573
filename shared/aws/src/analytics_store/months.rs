//! Month items in DynamoDB (see `taskpulse_domain::analytics::months`): read with the
//! partition's sealed mark in one `Query` (`MONTH#…` through `MONTH#SEALED`), sealed by a
//! conditional `UpdateItem` each, the mark moved forward by another.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::analytics::MonthPartition;

use taskpulse_app::{RollUpMonths, StoreError, StoredMonth, StoredMonths};
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};

use super::{DynamoAnalyticsStore, TransactWrites, counters_of};
use crate::error::store_error;
use crate::keys::{
    self, MONTH_LATE_WRITES, MONTH_PREFIX, MONTH_SEALED, PK, SEALED_THROUGH, SK, key_attributes,
};

/// Counters one seal update sets: well under what an update may move
/// ([`taskpulse_app::analytics::MAX_COUNTERS_PER_UPDATE`], the expression's 4 KB), because
/// moto's expression parser recurses once per clause and fails near 200 of them, and the split
/// must be tested there.
pub const SEAL_COUNTERS_PER_UPDATE: usize = 100;

impl<W> DynamoAnalyticsStore<W> {
    /// The partition key of a month partition's items.
    pub(super) fn month_partition_key(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
    ) -> String {
        match partition {
            MonthPartition::User(user) => keys::counter_user_partition(version, user),
            MonthPartition::Shard(shard) => {
                keys::global_partition(version, shard % self.global_shards)
            }
        }
    }
}

/// Whether an update failed only on its condition.
fn condition_failed(error: &aws_sdk_dynamodb::error::SdkError<UpdateItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl<W: TransactWrites> RollUpMonths for DynamoAnalyticsStore<W> {
    fn month_partitions(&self, _version: ProjectionVersion, scope: &Scope) -> Vec<MonthPartition> {
        match scope {
            Scope::User(user) => vec![MonthPartition::User(user.clone())],
            Scope::Global => (0..self.global_shards).map(MonthPartition::Shard).collect(),
        }
    }

    async fn read_months(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        consistent: bool,
    ) -> Result<StoredMonths, StoreError> {
        let mut items = self
            .reader
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND {SK} BETWEEN :lower AND :upper"))
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(self.month_partition_key(version, partition)),
            )
            .expression_attribute_values(":lower", AttributeValue::S(MONTH_PREFIX.to_owned()))
            .expression_attribute_values(
                ":upper",
                AttributeValue::S(keys::sealed_mark_sort_key().to_owned()),
            )
            .consistent_read(consistent)
            .into_paginator()
            .items()
            .send();
        let mut stored = StoredMonths::default();
        while let Some(item) = items.next().await {
            let item = item.map_err(store_error)?;
            let Some(sk) = item.get(SK).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            if sk == keys::sealed_mark_sort_key() {
                stored.sealed_through = item
                    .get(SEALED_THROUGH)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|m| keys::parse_month(m));
                continue;
            }
            let Some(month) = keys::parse_month_sort_key(sk) else {
                continue;
            };
            let late_writes = item
                .get(MONTH_LATE_WRITES)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let sealed = item
                .get(MONTH_SEALED)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            stored.months.insert(
                month,
                StoredMonth {
                    counters: counters_of(&item)?,
                    sealed,
                    late_writes,
                },
            );
        }
        Ok(stored)
    }

    async fn read_partition_days(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        from: Option<NaiveDate>,
        to: NaiveDate,
        consistent: bool,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<Counter, i64>>, StoreError> {
        let lower = from.map_or_else(|| keys::DAY_PREFIX.to_owned(), keys::day_sort_key);
        let upper = keys::day_sort_key(to);
        let partition = self.month_partition_key(version, partition);
        self.read_partition(partition, &lower, &upper, consistent)
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
        let key = key_attributes((
            self.month_partition_key(version, partition),
            keys::month_sort_key(month),
        ));
        // A month of everyone's histogram buckets may need several updates, each under the
        // seal's condition, the sealed flag set by the last.
        let entries: Vec<(&Counter, &i64)> = counters.iter().collect();
        let mut chunks: Vec<&[(&Counter, &i64)]> =
            entries.chunks(SEAL_COUNTERS_PER_UPDATE).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut names = HashMap::from([
                ("#sealed".to_owned(), MONTH_SEALED.to_owned()),
                ("#late".to_owned(), MONTH_LATE_WRITES.to_owned()),
            ]);
            let mut values = HashMap::new();
            let mut clauses = vec![];
            for (n, (counter, value)) in chunk.iter().enumerate() {
                names.insert(format!("#c{n}"), counter.name().into_owned());
                values.insert(format!(":v{n}"), AttributeValue::N(value.to_string()));
                clauses.push(format!("#c{n} = :v{n}"));
            }
            if i == last {
                values.insert(":sealed".to_owned(), AttributeValue::Bool(true));
                clauses.push("#sealed = :sealed".to_owned());
            }
            // Not sealed, and no late write since the month item was read.
            let late_condition = if late_writes == 0 {
                "attribute_not_exists(#late)".to_owned()
            } else {
                values.insert(
                    ":late".to_owned(),
                    AttributeValue::N(late_writes.to_string()),
                );
                "#late = :late".to_owned()
            };
            let result = self
                .reader
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression(format!("SET {}", clauses.join(", ")))
                .condition_expression(format!(
                    "attribute_not_exists(#sealed) AND {late_condition}"
                ))
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(error) if condition_failed(&error) => return Ok(false),
                Err(error) => return Err(store_error(error)),
            }
        }
        Ok(true)
    }

    async fn mark_sealed_through(
        &self,
        version: ProjectionVersion,
        partition: &MonthPartition,
        month: NaiveDate,
    ) -> Result<(), StoreError> {
        let key = (
            self.month_partition_key(version, partition),
            keys::sealed_mark_sort_key().to_owned(),
        );
        let result = self
            .reader
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression("SET #through = :month")
            .condition_expression("attribute_not_exists(#through) OR #through < :month")
            .expression_attribute_names("#through", SEALED_THROUGH)
            .expression_attribute_values(":month", AttributeValue::S(keys::month_text(month)))
            .send()
            .await;
        match result {
            // A later mark is already there: nothing to move.
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }
}
