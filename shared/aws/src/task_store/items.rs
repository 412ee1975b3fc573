//! The stored forms of a task (with its outbox) and of an idempotency record. Their field
//! names are the attribute names of `keys`; the tests below hold them together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskpulse_app::{IdempotencyRecord, PendingEvent, StoredTask};
use taskpulse_domain::{EventId, Task, UserId};

use crate::keys;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PendingItem {
    event_id: EventId,
    event_type: String,
    body: String,
    committed_at: DateTime<Utc>,
}

/// The stored form of a task.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TaskItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    /// Derived from the history; stored so listings can filter on it.
    current_status: String,
    #[serde(flatten)]
    task: Task,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending_events: Vec<PendingItem>,
    /// Present only while events are pending: the keys of the sparse outbox index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_sk: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdempotencyItem {
    pk: String,
    sk: String,
    user_id: UserId,
    key: String,
    fingerprint: String,
    task: Task,
    created: bool,
    /// Epoch seconds: the table's TTL attribute.
    expires_at: i64,
}

impl TaskItem {
    pub(super) fn new(task: &Task, pending: &[PendingEvent]) -> Self {
        let (pk, sk) = keys::task_key(task.id);
        let oldest = pending.iter().map(|p| p.committed_at).min();
        Self {
            pk,
            sk,
            gsi1pk: keys::user_tasks_partition(&task.owner),
            gsi1sk: keys::user_tasks_sort_key(task.created_at, task.id),
            current_status: task.status().as_str().to_owned(),
            task: task.clone(),
            pending_events: pending
                .iter()
                .map(|p| PendingItem {
                    event_id: p.event_id,
                    event_type: p.event_type.clone(),
                    body: p.body.clone(),
                    committed_at: p.committed_at,
                })
                .collect(),
            outbox_pk: oldest.map(|_| keys::outbox_partition(task.id)),
            outbox_sk: oldest.map(|at| keys::outbox_sort_key(at, task.id)),
        }
    }

    pub(super) fn into_stored(self) -> StoredTask {
        StoredTask {
            task: self.task,
            pending_events: self
                .pending_events
                .into_iter()
                .map(|p| PendingEvent {
                    event_id: p.event_id,
                    event_type: p.event_type,
                    body: p.body,
                    committed_at: p.committed_at,
                })
                .collect(),
        }
    }

    /// The task alone, without its outbox (as a listing returns it).
    pub(super) fn into_task(self) -> Task {
        self.task
    }
}

impl IdempotencyItem {
    pub(super) fn new(record: &IdempotencyRecord) -> Self {
        let (pk, sk) = keys::idempotency_key(&record.user_id, &record.key);
        Self {
            pk,
            sk,
            user_id: record.user_id.clone(),
            key: record.key.clone(),
            fingerprint: record.fingerprint.clone(),
            task: record.task.clone(),
            created: record.created,
            expires_at: record.expires_at.timestamp(),
        }
    }

    pub(super) fn into_record(self) -> IdempotencyRecord {
        IdempotencyRecord {
            user_id: self.user_id,
            key: self.key,
            fingerprint: self.fingerprint,
            task: self.task,
            created: self.created,
            expires_at: DateTime::from_timestamp(self.expires_at, 0).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use taskpulse_domain::task::CreateTask;
    use taskpulse_domain::{Priority, TaskCommand, TaskId, Title};
    use uuid::Uuid;

    use super::*;
    use crate::keys::{
        CURRENT_STATUS, EXPIRES_AT, OUTBOX_PK, OUTBOX_SK, PENDING_EVENTS, PK, SK, TASKS_BY_USER_PK,
        TASKS_BY_USER_PROJECTION, TASKS_BY_USER_SK,
    };

    fn task() -> Task {
        let command = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(1)),
            owner: UserId::parse("u1").unwrap(),
            title: Title::parse("t").unwrap(),
            description: None,
            priority: Priority::Low,
            planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
        });
        let created_at = "2026-01-02T03:04:05Z".parse().unwrap();
        let (task, _) = Task::execute(None, &command, created_at, || {
            EventId::from_uuid(Uuid::from_u128(2))
        })
        .unwrap();
        task.unwrap()
    }

    fn attributes(item: impl Serialize) -> HashMap<String, AttributeValue> {
        serde_dynamo::to_item(item).unwrap()
    }

    #[test]
    fn a_task_item_carries_the_attributes_the_keys_name() {
        let task = task();
        let pending = PendingEvent {
            event_id: EventId::from_uuid(Uuid::from_u128(2)),
            event_type: "TaskCreated".into(),
            body: "{}".into(),
            committed_at: task.created_at,
        };
        let item = attributes(TaskItem::new(&task, std::slice::from_ref(&pending)));
        for name in [
            PK,
            SK,
            TASKS_BY_USER_PK,
            TASKS_BY_USER_SK,
            CURRENT_STATUS,
            PENDING_EVENTS,
            OUTBOX_PK,
            OUTBOX_SK,
        ] {
            assert!(item.contains_key(name), "{name} in {:?}", item.keys());
        }
        for name in TASKS_BY_USER_PROJECTION {
            // A task without a description or an accomplish date leaves those out.
            assert!(
                item.contains_key(*name) || ["description", "actualAccomplishDate"].contains(name),
                "{name} in {:?}",
                item.keys()
            );
        }
        let published = attributes(TaskItem::new(&task, &[]));
        for name in [PENDING_EVENTS, OUTBOX_PK, OUTBOX_SK] {
            assert!(!published.contains_key(name), "{name} only while pending");
        }
    }

    #[test]
    fn an_idempotency_item_carries_its_keys_and_ttl() {
        let record = IdempotencyRecord {
            user_id: UserId::parse("u1").unwrap(),
            key: "k".into(),
            fingerprint: "f".into(),
            task: task(),
            created: true,
            expires_at: "2026-01-03T03:04:05Z".parse().unwrap(),
        };
        let item = attributes(IdempotencyItem::new(&record));
        for name in [PK, SK, EXPIRES_AT] {
            assert!(item.contains_key(name), "{name} in {:?}", item.keys());
        }
        assert_eq!(IdempotencyItem::new(&record).into_record(), record);
    }
}
