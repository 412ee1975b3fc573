//! Tasks, their outboxes and idempotency records in memory, indexed as the DynamoDB table is:
//! each owner's tasks by creation (listing reads one owner's entries, never every task) and
//! the tasks with pending events by age (the relay reads only those).

mod table;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

use taskpulse_domain::erasure::Erasure;
use taskpulse_domain::{TaskId, UserId};

use self::table::TaskTable;
use crate::ports::{
    ArchiveDayMarkers, DeleteIdempotencyRecords, DeleteTask, DeleteUserSettings, IdempotencyRecord,
    IndexPendingOutbox, ListPendingOutbox, ListQuery, ListTasks, LoadErasures, LoadIdempotency,
    LoadTask, LoadUserSettings, MarkEventsPublished, SaveErasure, SaveError, SaveTask,
    SaveUserSettings, StoreError, StoredTask, TaskPage, TaskWrite, UserSettings,
};

/// Listing entries read per lock, as the DynamoDB adapter reads its index a `Query` page at a
/// time: between batches the lock is free for writers, so a long listing never stalls them.
const LIST_READ_BATCH: usize = 100;

/// Tasks, outboxes and idempotency records in memory, with the same conditional writes as the
/// DynamoDB store. Clones share the same tables, as clones of an SDK client share one service.
#[derive(Debug, Default, Clone)]
pub struct MemoryTaskStore {
    table: Arc<RwLock<TaskTable>>,
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

    // A poisoned lock only means a thread panicked while holding it. No write panics between
    // changing the tasks and changing the indexes, so the table is still consistent.
    fn read(&self) -> RwLockReadGuard<'_, TaskTable> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, TaskTable> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, id: TaskId) -> Option<StoredTask> {
        self.read().get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let mut table = self.write();
        let stored_version = table.get(write.task.id).map(|s| s.task.version);
        if stored_version != write.expected_version {
            return Err(SaveError::VersionConflict);
        }
        if let Some(record) = write.idempotency {
            table.claim_idempotency(record)?;
        }
        table.put(
            StoredTask {
                task: write.task.clone(),
                pending_events: write.pending_events.to_vec(),
            },
            write.outbox_indexed,
        );
        Ok(())
    }

    async fn save_idempotency(&self, record: &IdempotencyRecord) -> Result<(), SaveError> {
        self.check_available()?;
        self.write().claim_idempotency(record)
    }
}

impl LoadIdempotency for MemoryTaskStore {
    async fn load_idempotency(
        &self,
        user_id: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.check_available()?;
        Ok(self.read().idempotency(user_id, key).cloned())
    }
}

impl ListTasks for MemoryTaskStore {
    async fn list_tasks(&self, owner: &UserId, query: &ListQuery) -> Result<TaskPage, StoreError> {
        self.check_available()?;
        // One task more than the page holds says whether a next page exists.
        let wanted = query.limit + 1;
        let mut tasks = Vec::with_capacity(wanted.min(LIST_READ_BATCH));
        let mut below = query.after.as_ref().map(|c| (c.created_at, c.task_id));
        loop {
            // The read lock is held for this one batch only.
            let batch = self.read().read_listing(
                owner,
                below,
                query.status,
                LIST_READ_BATCH,
                wanted - tasks.len(),
            );
            tasks.extend(batch.tasks);
            match batch.resume_below {
                Some(next) if tasks.len() < wanted => below = Some(next),
                _ => break,
            }
        }
        Ok(TaskPage::from_read(tasks, query.limit))
    }
}

impl MarkEventsPublished for MemoryTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        self.write().mark_events_published(task_id, version)
    }
}

impl IndexPendingOutbox for MemoryTaskStore {
    async fn index_pending_outbox(
        &self,
        task_id: TaskId,
        version: Option<u64>,
        _oldest: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().index_pending(task_id, version)
    }
}

impl ListPendingOutbox for MemoryTaskStore {
    async fn list_pending_outbox(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TaskId>, StoreError> {
        Ok(self.read().pending_before(before, limit))
    }
}

impl DeleteTask for MemoryTaskStore {
    async fn delete_task(&self, id: TaskId, version: u64) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().remove(id, version)
    }
}

impl DeleteIdempotencyRecords for MemoryTaskStore {
    async fn delete_idempotency_records(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.check_available()?;
        Ok(self.write().remove_idempotency_records(user, limit))
    }
}

impl LoadUserSettings for MemoryTaskStore {
    async fn load_user_settings(&self, user: &UserId) -> Result<Option<UserSettings>, StoreError> {
        self.check_available()?;
        Ok(self.read().settings(user).cloned())
    }
}

impl SaveUserSettings for MemoryTaskStore {
    async fn save_user_settings(
        &self,
        user: &UserId,
        settings: &UserSettings,
    ) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().put_settings(user, settings);
        Ok(())
    }
}

impl DeleteUserSettings for MemoryTaskStore {
    async fn delete_user_settings(&self, user: &UserId) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().remove_settings(user);
        Ok(())
    }
}

impl LoadErasures for MemoryTaskStore {
    async fn load_erasures(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, Erasure>, StoreError> {
        self.check_available()?;
        let table = self.read();
        Ok(users
            .iter()
            .filter_map(|user| Some((user.clone(), table.erasure(user)?.clone())))
            .collect())
    }
}

impl SaveErasure for MemoryTaskStore {
    async fn create_erasure(
        &self,
        user: &UserId,
        erasure: &Erasure,
    ) -> Result<Erasure, StoreError> {
        self.check_available()?;
        Ok(self.write().create_erasure(user, erasure))
    }

    async fn save_erasure(
        &self,
        user: &UserId,
        previous: &Erasure,
        next: &Erasure,
    ) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().replace_erasure(user, previous, next)
    }
}

impl ArchiveDayMarkers for MemoryTaskStore {
    async fn mark_archive_day(
        &self,
        user: &UserId,
        pseudonym: &UserId,
        day: NaiveDate,
        objects: u64,
    ) -> Result<(), StoreError> {
        self.check_available()?;
        self.write().mark_archive_day(user, pseudonym, day, objects);
        Ok(())
    }

    async fn marked_archive_days(
        &self,
        user: &UserId,
        pseudonym: &UserId,
    ) -> Result<BTreeMap<NaiveDate, u64>, StoreError> {
        self.check_available()?;
        Ok(self.read().marked_archive_days(user, pseudonym))
    }
}

#[cfg(test)]
mod tests;
