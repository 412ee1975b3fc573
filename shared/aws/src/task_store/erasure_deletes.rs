//! The deletions of an erasure's steps in the tasks table: a task item (its outbox with it, its
//! index entries by DynamoDB), and a user's idempotency records a page at a time.

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_app::{DeleteIdempotencyRecords, DeleteTask, StoreError};
use taskpulse_domain::{TaskId, UserId};

use super::DynamoTaskStore;
use crate::batch::{self, Item};
use crate::error::store_error;
use crate::keys::{self, PK, SK, VERSION, key_attributes};
use crate::partition_query::{PartitionQuery, query_partition};

/// The key attributes of `item`, if it has both.
fn key_of(item: &Item) -> Option<Item> {
    let pk = item.get(PK)?.as_s().ok()?;
    let sk = item.get(SK)?.as_s().ok()?;
    Some(key_attributes((pk.clone(), sk.clone())))
}

impl DynamoTaskStore {
    /// The keys of up to `limit` of `user`'s idempotency records: one `Query` of the user's
    /// partition (a page holds far more keys than an erasure deletes at once).
    async fn idempotency_record_keys(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let partition = keys::idempotency_partition(user);
        let query = PartitionQuery {
            partition: &partition,
            sort_keys: None,
            keys_only: true,
            limit,
        };
        let items = query_partition(&self.client, &self.table, query).await?;
        Ok(items.iter().filter_map(key_of).collect())
    }

    /// The keys of up to `limit` of `user`'s idempotency records in the layout written before
    /// each user's records shared a partition (`keys::legacy_idempotency_key`). Those had a
    /// partition each, so only a scan of the whole table finds them.
    ///
    /// This scan exists for records written before the layout change, and only while they may
    /// live: they expire (TTL `expiresAt`) 24 h after they were written. Once a deployment has
    /// written the new layout for 24 h, none can be left, and this scan (and the fallback read
    /// in `load_idempotency`) can be removed. Until then each erasure pays one full scan of
    /// the tasks table, off the request path.
    async fn legacy_idempotency_record_keys(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = vec![];
        let mut items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :prefix) AND #sk = :sk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::legacy_idempotency_prefix(user)),
            )
            .expression_attribute_values(
                ":sk",
                AttributeValue::S(keys::legacy_idempotency_sort_key().to_owned()),
            )
            .projection_expression("#pk, #sk")
            .into_paginator()
            .items()
            .send();
        // The next page is read only when the stream is polled past this one.
        while found.len() < limit {
            let Some(item) = items.next().await else {
                break;
            };
            found.extend(key_of(&item.map_err(store_error)?));
        }
        Ok(found)
    }
}

impl DeleteTask for DynamoTaskStore {
    async fn delete_task(&self, id: TaskId, version: u64) -> Result<(), StoreError> {
        // A condition failed means the task moved on (another command wrote it): Conflict.
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::task_key(id))))
            .condition_expression("#version = :version OR attribute_not_exists(#pk)")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl DeleteIdempotencyRecords for DynamoTaskStore {
    async fn delete_idempotency_records(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        let mut found = self.idempotency_record_keys(user, limit).await?;
        if found.is_empty() {
            found = self.legacy_idempotency_record_keys(user, limit).await?;
        }
        let deleted = found.len();
        let requests = found
            .into_iter()
            .map(batch::delete_request)
            .collect::<Result<_, _>>()?;
        batch::write_all(&self.client, &self.table, requests).await?;
        Ok(deleted)
    }
}
