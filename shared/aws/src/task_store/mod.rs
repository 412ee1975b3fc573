//! Tasks in DynamoDB, each with the events not yet on the queue (the transactional outbox):
//! the task's state and its pending events are one item, so one conditional write commits both.
//! Idempotency records live in the same table and join that write in a transaction, and so
//! does each user's erasure record (`erasure_record`, with the deletions of an erasure's steps
//! in `erasure_deletes` and the markers of its archive days in `archive_day_markers`).

mod archive_day_markers;
mod erasure_deletes;
mod erasure_record;
mod idempotency;
mod items;
mod user_settings;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use taskpulse_app::{
    IdempotencyRecord, IndexPendingOutbox, ListPendingOutbox, ListQuery, ListTasks,
    LoadIdempotency, LoadTask, MarkEventsPublished, SaveError, SaveTask, StoreError, StoredTask,
    TaskPage, TaskWrite,
};
use taskpulse_domain::{Task, TaskId, UserId};

use self::items::TaskItem;
use crate::error::store_error;
use crate::keys::{
    self, CURRENT_STATUS, EXPIRES_AT, OUTBOX_INDEX, OUTBOX_PK, OUTBOX_SHARDS, OUTBOX_SK,
    PENDING_EVENTS, PK, TASKS_BY_USER_INDEX, TASKS_BY_USER_PK, TASKS_BY_USER_SK, VERSION,
    key_attributes,
};

/// Query pages are read this many items at a time when a status filter thins them out.
const LIST_READ_BATCH: i32 = 100;

#[derive(Debug, Clone)]
pub struct DynamoTaskStore {
    client: Client,
    table: String,
}

fn unreadable(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("{what} is unreadable: {error}"))
}

impl DynamoTaskStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn task_put(&self, write: &TaskWrite<'_>) -> Result<Put, StoreError> {
        let mut item = TaskItem::new(write.task, write.pending_events);
        if !write.outbox_indexed {
            item = item.without_outbox_index();
        }
        let item = serde_dynamo::to_item(item).map_err(|e| {
            StoreError::Rejected(format!("task {} cannot be stored: {e}", write.task.id))
        })?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match write.expected_version {
            None => put.condition_expression(format!("attribute_not_exists({PK})")),
            Some(version) => put
                .condition_expression(format!("{VERSION} = :expected"))
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        put.build().map_err(|e| StoreError::Rejected(e.to_string()))
    }

    fn idempotency_put(&self, record: &IdempotencyRecord) -> Result<Put, StoreError> {
        let item = idempotency::record_attributes(record).map_err(|e| {
            StoreError::Rejected(format!("idempotency record cannot be stored: {e}"))
        })?;
        // TTL deletes lazily: an expired record still present counts as free.
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists({PK}) OR #expires < :now"))
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            )
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))
    }

    /// A strongly consistent read of one item's attributes.
    async fn get_attributes(
        &self,
        key: (String, String),
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item)
    }

    /// A strongly consistent read of one item; `what` names it if it cannot be read back.
    async fn get_consistent<T: DeserializeOwned>(
        &self,
        key: (String, String),
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get_attributes(key)
            .await?
            .map(|item| serde_dynamo::from_item(item).map_err(|e| unreadable(what, e)))
            .transpose()
    }

    /// Sends one conditional `Put`; a failed condition becomes `on_condition`.
    async fn put(&self, put: Put, on_condition: SaveError) -> Result<(), SaveError> {
        let mut request = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names);
        if let Some(values) = put.expression_attribute_values {
            request = request.set_expression_attribute_values(Some(values));
        }
        match request.send().await.map_err(store_error) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(on_condition),
            Err(error) => Err(SaveError::Store(error)),
        }
    }
}

impl LoadTask for DynamoTaskStore {
    async fn load_task(&self, id: TaskId) -> Result<Option<StoredTask>, StoreError> {
        let item: Option<TaskItem> = self
            .get_consistent(keys::task_key(id), &format!("task {id}"))
            .await?;
        item.map(|item| {
            item.into_stored()
                .map_err(|e| unreadable(&format!("the outbox of task {id}"), e))
        })
        .transpose()
    }
}

impl SaveTask for DynamoTaskStore {
    async fn save_task(&self, write: TaskWrite<'_>) -> Result<(), SaveError> {
        let task_put = self.task_put(&write)?;
        let Some(record) = write.idempotency else {
            return self.put(task_put, SaveError::VersionConflict).await;
        };
        // Task first, record second: the cancellation reasons say which condition failed.
        let items = vec![
            TransactWriteItem::builder().put(task_put).build(),
            TransactWriteItem::builder()
                .put(self.idempotency_put(record)?)
                .build(),
        ];
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(SaveError::Store(store_error(error)));
        };
        let failed = |index: usize| {
            cancelled
                .cancellation_reasons()
                .get(index)
                .and_then(|r| r.code())
                == Some("ConditionalCheckFailed")
        };
        if failed(0) {
            Err(SaveError::VersionConflict)
        } else if failed(1) {
            Err(SaveError::IdempotencyKeyTaken)
        } else {
            Err(SaveError::Store(StoreError::Unavailable(format!(
                "transaction cancelled: {}",
                DisplayErrorContext(&error)
            ))))
        }
    }

    async fn save_idempotency(&self, record: &IdempotencyRecord) -> Result<(), SaveError> {
        let put = self.idempotency_put(record)?;
        self.put(put, SaveError::IdempotencyKeyTaken).await
    }
}

impl LoadIdempotency for DynamoTaskStore {
    async fn load_idempotency(
        &self,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let found = match self
            .get_attributes(keys::idempotency_key(user_id, key))
            .await?
        {
            Some(attributes) => Some(attributes),
            // Records written before the layout change live until their TTL (24 h): a retry
            // across the upgrade still finds its answer. Only a key's first use pays this read.
            None => {
                self.get_attributes(keys::legacy_idempotency_key(user_id, key))
                    .await?
            }
        };
        let Some(attributes) = found else {
            return Ok(None);
        };
        // A record keeps no text: its task's item holds it (a replay is the rare path).
        let task_item = match idempotency::text_held_by(&attributes) {
            Some(task_id) => self.get_attributes(keys::task_key(task_id)).await?,
            None => None,
        };
        idempotency::record_from(attributes, task_item.as_ref())
            .map(Some)
            .map_err(|e| unreadable("idempotency record", e))
    }
}

impl ListTasks for DynamoTaskStore {
    async fn list_tasks(&self, owner: &UserId, query: &ListQuery) -> Result<TaskPage, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TASKS_BY_USER_INDEX)
            .scan_index_forward(false)
            .limit(LIST_READ_BATCH)
            .expression_attribute_values(
                ":owner",
                AttributeValue::S(keys::user_tasks_partition(owner)),
            );
        request = match &query.after {
            None => request.key_condition_expression(format!("{TASKS_BY_USER_PK} = :owner")),
            Some(cursor) => request
                .key_condition_expression(format!(
                    "{TASKS_BY_USER_PK} = :owner AND {TASKS_BY_USER_SK} < :after"
                ))
                .expression_attribute_values(
                    ":after",
                    AttributeValue::S(keys::user_tasks_sort_key(cursor.created_at, cursor.task_id)),
                ),
        };
        if let Some(status) = query.status {
            request = request
                .filter_expression(format!("{CURRENT_STATUS} = :status"))
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()));
        }
        // Read until one task more than the page holds is found (then there is a next page) or
        // the index is exhausted. A status filter is applied after DynamoDB's limit, so a read
        // batch may yield fewer tasks than it read; the next batch is read only when the stream
        // is polled past this one.
        let mut items = request.into_paginator().items().send();
        let mut tasks: Vec<Task> = vec![];
        while tasks.len() <= query.limit {
            let Some(item) = items.next().await else {
                break;
            };
            let item: TaskItem = serde_dynamo::from_item(item.map_err(store_error)?)
                .map_err(|e| unreadable("listed task", e))?;
            tasks.push(item.into_task());
        }
        Ok(TaskPage::from_read(tasks, query.limit))
    }
}

impl MarkEventsPublished for DynamoTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::task_key(task_id))))
            .update_expression(format!("REMOVE {PENDING_EVENTS}, {OUTBOX_PK}, {OUTBOX_SK}"))
            .condition_expression(format!("{VERSION} = :version"))
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl IndexPendingOutbox for DynamoTaskStore {
    async fn index_pending_outbox(
        &self,
        task_id: TaskId,
        version: Option<u64>,
        oldest: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pending = format!("attribute_exists({PENDING_EVENTS})");
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::task_key(task_id))))
            .update_expression(format!(
                "SET {OUTBOX_PK} = :shard, {OUTBOX_SK} = if_not_exists({OUTBOX_SK}, :oldest)"
            ))
            .expression_attribute_values(
                ":shard",
                AttributeValue::S(keys::outbox_partition(task_id)),
            )
            .expression_attribute_values(
                ":oldest",
                AttributeValue::S(keys::outbox_sort_key(oldest)),
            );
        let request = match version {
            None => request.condition_expression(pending),
            Some(version) => request
                .condition_expression(format!("{VERSION} = :version AND {pending}"))
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
        };
        request.send().await.map_err(store_error)?;
        Ok(())
    }
}

impl ListPendingOutbox for DynamoTaskStore {
    async fn list_pending_outbox(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskId>, StoreError> {
        // Every shard, oldest first within each; then the oldest overall.
        let mut found: Vec<(String, TaskId)> = vec![];
        let upper = keys::sortable_time(before);
        for shard in 0..OUTBOX_SHARDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OUTBOX_INDEX)
                .key_condition_expression(format!("{OUTBOX_PK} = :shard AND {OUTBOX_SK} < :before"))
                .expression_attribute_values(
                    ":shard",
                    AttributeValue::S(keys::outbox_shard_partition(shard)),
                )
                .expression_attribute_values(":before", AttributeValue::S(upper.clone()))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(store_error)?;
            for item in output.items.unwrap_or_default() {
                let sort = item.get(OUTBOX_SK).and_then(|v| v.as_s().ok()).cloned();
                let id = item
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| keys::task_id_of(pk));
                if let (Some(sort), Some(id)) = (sort, id) {
                    found.push((sort, id));
                }
            }
        }
        found.sort();
        Ok(found.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}
