//! The task table's contents: the tasks by id and the idempotency records, with the two
//! secondary indexes the DynamoDB table has, kept in step with the tasks on every write.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::erasure::Erasure;
use taskpulse_domain::{Task, TaskId, TaskStatus, UserId};

use crate::ports::{IdempotencyRecord, SaveError, StoreError, StoredTask, UserSettings};

/// Where a task sits in its owner's listing: its creation time, then its id.
pub(super) type ListingKey = (DateTime<Utc>, TaskId);

/// Where a task sits in the outbox index: when its oldest pending event was committed, then
/// its id.
type OutboxKey = (DateTime<Utc>, TaskId);

#[derive(Debug, Default)]
pub(super) struct TaskTable {
    tasks: HashMap<TaskId, StoredTask>,
    idempotency: HashMap<(UserId, String), IdempotencyRecord>,
    /// Each user's settings, for those who chose any.
    settings: HashMap<UserId, UserSettings>,
    /// Erasure records by user (the DynamoDB table keys them by a digest of the user id).
    erasures: HashMap<UserId, Erasure>,
    /// The archive days each erasure has rewritten, with the objects rewritten in each.
    archive_day_markers: HashMap<(UserId, UserId), BTreeMap<NaiveDate, u64>>,
    /// Each owner's tasks in listing order: the `byUser` index.
    by_owner: HashMap<UserId, BTreeSet<ListingKey>>,
    /// Only the tasks with pending events, oldest first: the sparse `outbox` index.
    outbox: BTreeSet<OutboxKey>,
    /// Tasks with pending events that are not in the `outbox` index: their last write had its
    /// outbox check scheduled instead, and no check has indexed them since.
    unindexed: HashSet<TaskId>,
}

/// What one read of an owner's listing found.
#[derive(Debug, Default)]
pub(super) struct ListingBatch {
    /// The tasks read that passed the status filter, newest first.
    pub tasks: Vec<Task>,
    /// The last entry read when the read stopped before the end of the owner's listing: the
    /// next read starts below it (as DynamoDB's `LastEvaluatedKey`).
    pub resume_below: Option<ListingKey>,
}

fn listing_key(task: &Task) -> ListingKey {
    (task.created_at, task.id)
}

fn outbox_key(stored: &StoredTask) -> Option<OutboxKey> {
    let oldest = stored.pending_events.first()?;
    Some((oldest.committed_at, stored.task.id))
}

impl TaskTable {
    pub fn get(&self, id: TaskId) -> Option<&StoredTask> {
        self.tasks.get(&id)
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn idempotency(&self, user_id: &UserId, key: &str) -> Option<&IdempotencyRecord> {
        self.idempotency.get(&(user_id.clone(), key.to_owned()))
    }

    /// Records `record` under its key if the key is free (never used, or expired).
    pub fn claim_idempotency(&mut self, record: &IdempotencyRecord) -> Result<(), SaveError> {
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

    /// Where the task `id` sits in the outbox index, if it is there.
    fn indexed_outbox_key(&self, id: TaskId) -> Option<OutboxKey> {
        if self.unindexed.contains(&id) {
            return None;
        }
        self.tasks.get(&id).and_then(outbox_key)
    }

    /// Stores `stored` in place of the task with its id, and moves its index entries along:
    /// its pending events enter the outbox index only if `outbox_indexed`. A task's owner and
    /// creation time are set when it is created; should a write change them anyway, the
    /// listing entry moves, as DynamoDB moves an index item whose keys change.
    pub fn put(&mut self, stored: StoredTask, outbox_indexed: bool) {
        let id = stored.task.id;
        let owner = stored.task.owner.clone();
        let listing = listing_key(&stored.task);
        let outbox = outbox_indexed.then(|| outbox_key(&stored)).flatten();
        let previous_outbox = self.indexed_outbox_key(id);
        if outbox_indexed {
            self.unindexed.remove(&id);
        } else {
            self.unindexed.insert(id);
        }
        let previous = self.tasks.insert(id, stored);
        match previous {
            Some(previous)
                if previous.task.owner == owner && listing_key(&previous.task) == listing => {}
            Some(previous) => {
                self.remove_listing(&previous.task);
                self.by_owner.entry(owner).or_default().insert(listing);
            }
            None => {
                self.by_owner.entry(owner).or_default().insert(listing);
            }
        }
        if previous_outbox != outbox {
            if let Some(key) = previous_outbox {
                self.outbox.remove(&key);
            }
            if let Some(key) = outbox {
                self.outbox.insert(key);
            }
        }
    }

    /// Deletes the task at `version` with its index entries; a task already gone is no error.
    pub fn remove(&mut self, id: TaskId, version: u64) -> Result<(), StoreError> {
        match self.tasks.get(&id) {
            None => Ok(()),
            Some(stored) if stored.task.version != version => Err(StoreError::Conflict),
            Some(_) => {
                if let Some(key) = self.indexed_outbox_key(id) {
                    self.outbox.remove(&key);
                }
                self.unindexed.remove(&id);
                let stored = self.tasks.remove(&id).expect("present");
                self.remove_listing(&stored.task);
                Ok(())
            }
        }
    }

    /// Deletes up to `limit` of `user`'s idempotency records; answers how many.
    pub fn remove_idempotency_records(&mut self, user: &UserId, limit: usize) -> usize {
        let keys: Vec<(UserId, String)> = self
            .idempotency
            .keys()
            .filter(|(owner, _)| owner == user)
            .take(limit)
            .cloned()
            .collect();
        for key in &keys {
            self.idempotency.remove(key);
        }
        keys.len()
    }

    /// `user`'s erasure record, unless it is past its retention.
    pub fn settings(&self, user: &UserId) -> Option<&UserSettings> {
        self.settings.get(user)
    }

    pub fn put_settings(&mut self, user: &UserId, settings: &UserSettings) {
        self.settings.insert(user.clone(), settings.clone());
    }

    pub fn remove_settings(&mut self, user: &UserId) {
        self.settings.remove(user);
    }

    pub fn erasure(&self, user: &UserId) -> Option<&Erasure> {
        self.erasures
            .get(user)
            .filter(|erasure| !erasure.is_expired(Utc::now()))
    }

    /// Stores `erasure` unless `user` has a record (within its retention); answers the stored
    /// one.
    pub fn create_erasure(&mut self, user: &UserId, erasure: &Erasure) -> Erasure {
        if let Some(stored) = self.erasure(user) {
            return stored.clone();
        }
        self.erasures.insert(user.clone(), erasure.clone());
        erasure.clone()
    }

    /// Replaces `previous` with `next` if `previous` is what is stored.
    pub fn replace_erasure(
        &mut self,
        user: &UserId,
        previous: &Erasure,
        next: &Erasure,
    ) -> Result<(), StoreError> {
        match self.erasures.get_mut(user) {
            Some(stored) if stored == previous => {
                *stored = next.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    pub fn mark_archive_day(
        &mut self,
        user: &UserId,
        pseudonym: &UserId,
        day: NaiveDate,
        objects: u64,
    ) {
        *self
            .archive_day_markers
            .entry((user.clone(), pseudonym.clone()))
            .or_default()
            .entry(day)
            .or_default() += objects;
    }

    pub fn marked_archive_days(
        &self,
        user: &UserId,
        pseudonym: &UserId,
    ) -> BTreeMap<NaiveDate, u64> {
        self.archive_day_markers
            .get(&(user.clone(), pseudonym.clone()))
            .cloned()
            .unwrap_or_default()
    }

    fn remove_listing(&mut self, task: &Task) {
        if let Some(listing) = self.by_owner.get_mut(&task.owner) {
            listing.remove(&listing_key(task));
            if listing.is_empty() {
                self.by_owner.remove(&task.owner);
            }
        }
    }

    /// Clears the outbox of the task if it is still at `version`.
    pub fn mark_events_published(&mut self, id: TaskId, version: u64) -> Result<(), StoreError> {
        let indexed = self.indexed_outbox_key(id);
        match self.tasks.get_mut(&id) {
            Some(stored) if stored.task.version == version => {
                if let Some(key) = indexed {
                    self.outbox.remove(&key);
                }
                stored.pending_events.clear();
                // Nothing pending: in the index or not is the same.
                self.unindexed.remove(&id);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    /// Enters the task's pending events into the outbox index if it has events pending (and
    /// is at `version`, when one is given). Its entry is its oldest pending event's time, which
    /// an entry it already has holds too.
    pub fn index_pending(&mut self, id: TaskId, version: Option<u64>) -> Result<(), StoreError> {
        match self.tasks.get(&id) {
            Some(stored) if version.is_none_or(|version| stored.task.version == version) => {
                let key = outbox_key(stored).ok_or(StoreError::Conflict)?;
                self.unindexed.remove(&id);
                self.outbox.insert(key);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    /// Reads at most `read_limit` of `owner`'s listing entries below `below` (from the newest
    /// when `None`), newest first, keeping the tasks of `status` (any when `None`), and stops
    /// early once `wanted` tasks are kept. As a DynamoDB `Query` page with a filter: the
    /// filter thins what was read, it does not extend the read.
    pub fn read_listing(
        &self,
        owner: &UserId,
        below: Option<ListingKey>,
        status: Option<TaskStatus>,
        read_limit: usize,
        wanted: usize,
    ) -> ListingBatch {
        let mut batch = ListingBatch::default();
        let Some(listing) = self.by_owner.get(owner) else {
            return batch;
        };
        let mut newest_first = match below {
            Some(below) => listing.range(..below),
            None => listing.range(..),
        }
        .rev();
        let mut read = 0;
        while read < read_limit && batch.tasks.len() < wanted {
            let Some(key) = newest_first.next() else {
                batch.resume_below = None;
                return batch;
            };
            read += 1;
            let task = &self.tasks[&key.1].task;
            if status.is_none_or(|status| task.status() == status) {
                batch.tasks.push(task.clone());
            }
            batch.resume_below = Some(*key);
        }
        batch
    }

    /// Up to `limit` tasks whose oldest pending event was committed before `before`, oldest
    /// first.
    pub fn pending_before(&self, before: DateTime<Utc>, limit: usize) -> Vec<TaskId> {
        self.outbox
            .iter()
            .take_while(|(committed_at, _)| *committed_at < before)
            .take(limit)
            .map(|(_, id)| *id)
            .collect()
    }
}
