//! In-memory adapters of every port: for unit tests, and the embedded backend of the local run.
//! They keep the same guarantees as the DynamoDB and SQS adapters (conditional inserts, atomic
//! apply with a marker), so code tested against them behaves the same against AWS.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use taskpulse_domain::analytics::{Counter, CounterKey, CounterUpdate};
use taskpulse_domain::{EventEnvelope, EventId, Task, TaskId};

use crate::analytics::ApplyOutcome;
use crate::ports::{
    ApplyEventOnce, InsertTask, MarkEventsPublished, PublishError, PublishEvents, ReadCounters,
    StoreError,
};

/// A poisoned lock only means another test thread panicked; the data is still consistent
/// because every critical section below is a single map operation.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    pub task: Task,
    pub pending_events: Vec<EventEnvelope>,
}

#[derive(Debug, Default)]
pub struct MemoryTaskStore {
    tasks: Mutex<HashMap<TaskId, StoredTask>>,
}

impl MemoryTaskStore {
    pub fn get(&self, id: TaskId) -> Option<StoredTask> {
        lock(&self.tasks).get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.tasks).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl InsertTask for MemoryTaskStore {
    async fn insert_task(&self, task: &Task, pending: &[EventEnvelope]) -> Result<(), StoreError> {
        let mut tasks = lock(&self.tasks);
        if tasks.contains_key(&task.id) {
            return Err(StoreError::Conflict);
        }
        tasks.insert(
            task.id,
            StoredTask {
                task: task.clone(),
                pending_events: pending.to_vec(),
            },
        );
        Ok(())
    }
}

impl MarkEventsPublished for MemoryTaskStore {
    async fn mark_events_published(&self, task_id: TaskId, version: u64) -> Result<(), StoreError> {
        match lock(&self.tasks).get_mut(&task_id) {
            Some(stored) if stored.task.version == version => {
                stored.pending_events.clear();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

/// A queue of published events; can be switched to refuse, like an unreachable SQS.
#[derive(Debug, Default)]
pub struct MemoryEventQueue {
    messages: Mutex<Vec<EventEnvelope>>,
    unavailable: Mutex<bool>,
}

impl MemoryEventQueue {
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.unavailable) = unavailable;
    }

    /// Takes every message published so far.
    pub fn drain(&self) -> Vec<EventEnvelope> {
        std::mem::take(&mut *lock(&self.messages))
    }
}

impl PublishEvents for MemoryEventQueue {
    async fn publish_events(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        if *lock(&self.unavailable) {
            return Err(PublishError {
                failed: events.iter().map(|e| e.event_id).collect(),
                reason: "queue unavailable".into(),
            });
        }
        lock(&self.messages).extend_from_slice(events);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct AnalyticsState {
    markers: HashSet<EventId>,
    counters: HashMap<CounterKey, BTreeMap<Counter, i64>>,
}

#[derive(Debug, Default)]
pub struct MemoryAnalyticsStore {
    state: Mutex<AnalyticsState>,
}

impl MemoryAnalyticsStore {
    pub fn has_marker(&self, event_id: EventId) -> bool {
        lock(&self.state).markers.contains(&event_id)
    }
}

impl ApplyEventOnce for MemoryAnalyticsStore {
    async fn apply_event_once(
        &self,
        event: &EventEnvelope,
        updates: &[CounterUpdate],
    ) -> Result<ApplyOutcome, StoreError> {
        let mut state = lock(&self.state);
        if !state.markers.insert(event.event_id) {
            return Ok(ApplyOutcome::Duplicate);
        }
        for update in updates {
            let item = state.counters.entry(update.key.clone()).or_default();
            for (counter, delta) in &update.deltas {
                *item.entry(*counter).or_default() += delta;
            }
        }
        Ok(ApplyOutcome::Applied)
    }
}

impl ReadCounters for MemoryAnalyticsStore {
    async fn read_counters(&self, key: &CounterKey) -> Result<BTreeMap<Counter, i64>, StoreError> {
        Ok(lock(&self.state)
            .counters
            .get(key)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewTask, TaskCommands, apply_event};
    use taskpulse_domain::analytics::Scope;
    use taskpulse_domain::{Priority, Title, UserId};

    fn new_task() -> NewTask {
        NewTask {
            title: Title::parse("Plan sprint").unwrap(),
            description: None,
            priority: Priority::High,
            planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[tokio::test]
    async fn create_publishes_and_clears_the_outbox() {
        let commands = TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default());
        let task = commands
            .create_task(UserId::parse("u1").unwrap(), new_task())
            .await
            .unwrap();
        let stored = commands.store().get(task.id).unwrap();
        assert_eq!(stored.task, task);
        assert!(
            stored.pending_events.is_empty(),
            "published events are cleared"
        );
    }

    #[tokio::test]
    async fn unpublished_events_stay_pending_and_the_command_succeeds() {
        let queue = MemoryEventQueue::default();
        queue.set_unavailable(true);
        let commands = TaskCommands::new(MemoryTaskStore::default(), queue);
        let task = commands
            .create_task(UserId::parse("u1").unwrap(), new_task())
            .await
            .unwrap();
        let pending = commands.store().get(task.id).unwrap().pending_events;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].event_type(), "TaskCreated");
        assert_eq!(pending[0].task_id, task.id);
    }

    #[tokio::test]
    async fn an_event_applies_once_however_often_it_arrives() {
        let queue = MemoryEventQueue::default();
        let commands = TaskCommands::new(MemoryTaskStore::default(), queue);
        let owner = UserId::parse("u1").unwrap();
        let task = commands
            .create_task(owner.clone(), new_task())
            .await
            .unwrap();
        let events = commands.publisher().drain();
        let store = MemoryAnalyticsStore::default();
        let outcomes = [
            apply_event(&store, &events[0]).await.unwrap(),
            apply_event(&store, &events[0]).await.unwrap(),
        ];
        assert_eq!(outcomes, [ApplyOutcome::Applied, ApplyOutcome::Duplicate]);
        let key = CounterKey {
            scope: Scope::User(owner),
            day: task.created_at.date_naive(),
        };
        let counters = store.read_counters(&key).await.unwrap();
        assert_eq!(counters.get(&Counter::Created), Some(&1));
    }
}
