//! Use cases on tasks: decide with the domain, persist state and events atomically, publish.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    Description, DomainError, EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, Title,
    UserId,
};
use uuid::Uuid;

use crate::ports::{InsertTask, MarkEventsPublished, PublishEvents, StoreError};

/// A validated request to create a task; the owner comes from the caller's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: Title,
    pub description: Option<Description>,
    pub priority: Priority,
    pub planned_accomplish_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("the task changed concurrently")]
    Conflict,
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::Conflict,
            StoreError::Unavailable(reason) | StoreError::Rejected(reason) => {
                Self::Unavailable(reason)
            }
        }
    }
}

/// The write side: task commands over a task store and an event publisher.
pub struct TaskCommands<S, P> {
    store: S,
    publisher: P,
}

/// Event and response timestamps carry milliseconds: enough to order commands, and stable
/// through every JSON and DynamoDB round trip.
fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

impl<S, P> TaskCommands<S, P>
where
    S: InsertTask + MarkEventsPublished,
    P: PublishEvents,
{
    pub fn new(store: S, publisher: P) -> Self {
        Self { store, publisher }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    pub async fn create_task(&self, owner: UserId, new: NewTask) -> Result<Task, CommandError> {
        let command = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::now_v7()),
            owner,
            title: new.title,
            description: new.description,
            priority: new.priority,
            planned_accomplish_date: new.planned_accomplish_date,
        });
        let (task, events) = Task::execute(None, &command, now_millis(), || {
            EventId::from_uuid(Uuid::now_v7())
        })?;
        let task = task.ok_or(DomainError::NotFound)?;
        self.store.insert_task(&task, &events).await?;
        self.publish(&task, &events).await;
        Ok(task)
    }

    /// Publishes events already committed as pending. A failure here does not fail the
    /// command: the events stay pending on the task and the outbox relay sends them later.
    async fn publish(&self, task: &Task, events: &[EventEnvelope]) {
        if events.is_empty() {
            return;
        }
        if let Err(error) = self.publisher.publish_events(events).await {
            tracing::warn!(task_id = %task.id, %error, "events left pending for the outbox relay");
            return;
        }
        if let Err(error) = self
            .store
            .mark_events_published(task.id, task.version)
            .await
        {
            // Harmless beyond a repeat: the relay re-sends them and the consumer deduplicates.
            tracing::warn!(task_id = %task.id, %error, "published events could not be marked sent");
        }
    }
}
