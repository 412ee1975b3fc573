//! Tasks in DynamoDB, each with the events not yet on the queue (the transactional outbox):
//! the task's state and its pending events are one item, so they are committed atomically.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use taskpulse_app::{InsertTask, MarkEventsPublished, StoreError};
use taskpulse_domain::{EventEnvelope, Task, TaskId};

use crate::error::store_error;
use crate::keys::{self, PK, SK};

#[derive(Debug, Clone)]
pub struct DynamoTaskStore {
    client: Client,
    table: String,
}

/// The stored form of a task.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    task: Task,
    /// Envelopes exactly as they will be published, so a re-send is byte-identical.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending_events: Vec<String>,
}

impl DynamoTaskStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(id: TaskId) -> [(String, AttributeValue); 2] {
        let (pk, sk) = keys::task_key(id);
        [
            (PK.to_owned(), AttributeValue::S(pk)),
            (SK.to_owned(), AttributeValue::S(sk)),
        ]
    }

    /// Reads a task and its pending events (consistent read).
    pub async fn get(&self, id: TaskId) -> Result<Option<(Task, Vec<String>)>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id).into_iter().collect()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored: TaskItem = serde_dynamo::from_item(item)
            .map_err(|e| StoreError::Rejected(format!("task item {id} is unreadable: {e}")))?;
        Ok(Some((stored.task, stored.pending_events)))
    }
}

impl InsertTask for DynamoTaskStore {
    async fn insert_task(&self, task: &Task, pending: &[EventEnvelope]) -> Result<(), StoreError> {
        let (pk, sk) = keys::task_key(task.id);
        let item = TaskItem {
            pk,
            sk,
            gsi1pk: format!("USER#{}", task.owner),
            gsi1sk: format!("{}#{}", task.created_at.to_rfc3339(), task.id),
            task: task.clone(),
            pending_events: pending.iter().map(EventEnvelope::to_json).collect(),
        };
        let item = serde_dynamo::to_item(&item)
            .map_err(|e| StoreError::Rejected(format!("task {} cannot be stored: {e}", task.id)))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl MarkEventsPublished for DynamoTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(task_id).into_iter().collect()))
            .update_expression("REMOVE pendingEvents")
            .condition_expression("version = :version")
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
