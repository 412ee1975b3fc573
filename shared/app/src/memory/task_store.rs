//! Tasks, their outboxes and idempotency records in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use taskpulse_domain::{Task, TaskId, UserId};

use super::lock;
use crate::ports::{
    IdempotencyRecord, ListPendingOutbox, ListQuery, ListTasks, LoadIdempotency, LoadTask,
    MarkEventsPublished, SaveError, SaveTask, StoreError, StoredTask, TaskPage, TaskWrite,
};

#[derive(Debug, Default)]
struct TaskState {
    tasks: HashMap<TaskId, StoredTask>,
    idempotency: HashMap<(UserId, String), IdempotencyRecord>,
}

/// Tasks, outboxes and idempotency records in memory, with the same conditional writes as the
/// DynamoDB store. Clones share the same tables, as clones of an SDK client share one service.
#[derive(Debug, Default, Clone)]
pub struct MemoryTaskStore {
    state: Arc<Mutex<TaskState>>,
    unavailable: Arc<AtomicBool>,
}

impl MemoryTaskStore {
    /// Makes every call fail as an unreachable DynamoDB would.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    fn check_available(&self) -> Result<(), StoreError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("task store unavailable".into()));
        }
        Ok(())
    }

    pub fn get(&self, id: TaskId) -> Option<StoredTask> {
        lock(&self.state).tasks.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.state).tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TaskState {
    /// Records `record` under its key if the key is free (never used, or expired).
    fn claim_idempotency(&mut self, record: &IdempotencyRecord) -> Result<(), SaveError> {
        let key = (record.user_id.clone(), record.key.clone());
        let free = self
            .idempotency
            .get(&key)
            .is_none_or(|existing| existing.expires_at <= Utc::now());
        if !free {
            return Err(SaveError::IdempotencyKeyTaken);
        }
        self.idempotency.insert(key, record.clone());
        Ok(())
    }
}

impl LoadTask for MemoryTaskStore {
    async fn load_task(&self, id: TaskId) -> Result<Option<StoredTask>, StoreError> {
        self.check_available()?;
        Ok(self.get(id))
    }
}

impl SaveTask for MemoryTaskStore {
    async fn save_task(&self, write: TaskWrite<'_>) -> Result<(), SaveError> {
        self.check_available()?;
        let mut state = lock(&self.state);
        let stored_version = state.tasks.get(&write.task.id).map(|s| s.task.version);
        if stored_version != write.expected_version {
            return Err(SaveError::VersionConflict);
        }
        if let Some(record) = write.idempotency {
            state.claim_idempotency(record)?;
        }
        state.tasks.insert(
            write.task.id,
            StoredTask {
                task: write.task.clone(),
                pending_events: write.pending_events.to_vec(),
            },
        );
        Ok(())
    }

    async fn save_idempotency(&self, record: &IdempotencyRecord) -> Result<(), SaveError> {
        lock(&self.state).claim_idempotency(record)
    }
}

impl LoadIdempotency for MemoryTaskStore {
    async fn load_idempotency(
        &self,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.check_available()?;
        Ok(lock(&self.state)
            .idempotency
            .get(&(user_id.clone(), key.to_owned()))
            .cloned())
    }
}

impl ListTasks for MemoryTaskStore {
    async fn list_tasks(&self, owner: &UserId, query: &ListQuery) -> Result<TaskPage, StoreError> {
        self.check_available()?;
        let state = lock(&self.state);
        let mut tasks: Vec<&Task> = state
            .tasks
            .values()
            .map(|s| &s.task)
            .filter(|t| &t.owner == owner)
            .collect();
        // Newest first, as the DynamoDB index is read.
        tasks.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
        let after = query.after.as_ref().map(|c| (c.created_at, c.task_id));
        let matching: Vec<Task> = tasks
            .into_iter()
            .filter(|t| after.is_none_or(|after| (t.created_at, t.id) < after))
            .filter(|t| query.status.is_none_or(|s| t.status() == s))
            .take(query.limit + 1)
            .cloned()
            .collect();
        Ok(TaskPage::from_read(matching, query.limit))
    }
}

impl MarkEventsPublished for MemoryTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        match lock(&self.state).tasks.get_mut(&task_id) {
            Some(stored) if stored.task.version == version => {
                stored.pending_events.clear();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

impl ListPendingOutbox for MemoryTaskStore {
    async fn list_pending_outbox(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskId>, StoreError> {
        let state = lock(&self.state);
        let mut pending: Vec<(DateTime<Utc>, TaskId)> = state
            .tasks
            .values()
            .filter_map(|s| Some((s.pending_events.first()?.committed_at, s.task.id)))
            .filter(|(since, _)| *since < before)
            .collect();
        pending.sort();
        Ok(pending.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}
