//! Use cases on tasks: decide with the domain, commit state and events atomically, publish.
//!
//! Every command follows the same path: read the task (strongly consistent), check ownership
//! and `If-Match`, let the aggregate decide, then write the new state together with its events
//! (the outbox) conditionally on the version that was read. A concurrent writer makes that
//! condition fail; the command is then decided again on the fresh state, so no update is lost
//! and no event is emitted from a stale state. Only after the commit are the events sent to
//! the queue; if that fails they stay pending and the outbox relay sends them later: the
//! outbox check the command scheduled beside its reads finds them, or, when that check could
//! not be sent, the relay's sweep of the outbox index the write entered.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures_util::future::{join, join3};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    Description, EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TimeZone, Title,
    UserId,
};
use uuid::Uuid;

mod error;
mod idempotency;
mod outbox;
mod precondition;

pub use error::CommandError;
pub use idempotency::{IDEMPOTENCY_TTL, IdempotencyKey};
pub(crate) use outbox::publish_and_clear;
pub use precondition::IfMatch;

use crate::backoff::Backoff;
use crate::metric;
use crate::ports::{
    ListQuery, ListTasks, LoadIdempotency, LoadTask, LoadUserSettings, MarkEventsPublished,
    PendingEvent, PublishEvents, SaveError, SaveTask, ScheduleOutboxCheck, StoredTask, TaskPage,
    TaskWrite,
};

/// A validated request to create a task; the owner comes from the caller's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: Title,
    pub description: Option<Description>,
    pub priority: Priority,
    pub planned_accomplish_date: DateTime<Utc>,
}

/// Who is asking, and on which conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub caller: UserId,
    /// The versions the caller last saw (`If-Match`); the command is refused if the task is
    /// at none of them.
    pub if_match: Option<IfMatch>,
    pub idempotency: Option<IdempotencyKey>,
}

impl CommandContext {
    pub fn caller(caller: UserId) -> Self {
        Self {
            caller,
            if_match: None,
            idempotency: None,
        }
    }
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub task: Task,
    /// The command created the task.
    pub created: bool,
    /// The outcome is the stored result of an earlier request with the same idempotency key.
    pub replayed: bool,
    /// The events this command committed (empty for a no-op or a replay).
    pub events: Vec<EventEnvelope>,
}

/// How many times a command is decided again after losing a race to a concurrent writer.
const MAX_ATTEMPTS: u32 = 10;

/// Event and response timestamps carry milliseconds: enough to order commands, and stable
/// through every JSON and DynamoDB round trip.
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// The pause before a command is decided again after losing a race: 5 ms doubling up to 320 ms.
pub(crate) const COMMAND_RETRY_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(5),
    longest: Duration::from_millis(320),
};

fn new_event_id() -> EventId {
    EventId::from_uuid(Uuid::now_v7())
}

/// The write side: task commands over a task store and an event publisher.
pub struct TaskCommands<S, P> {
    store: S,
    publisher: P,
}

impl<S, P> TaskCommands<S, P> {
    pub fn new(store: S, publisher: P) -> Self {
        Self { store, publisher }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn publisher(&self) -> &P {
        &self.publisher
    }
}

/// What the task commands need of the task table: tasks with their outboxes, idempotency
/// records, listings, and the owners' settings (their time zones).
pub trait CommandStore:
    LoadTask + SaveTask + LoadIdempotency + MarkEventsPublished + ListTasks + LoadUserSettings
{
}

impl<S> CommandStore for S where
    S: LoadTask + SaveTask + LoadIdempotency + MarkEventsPublished + ListTasks + LoadUserSettings
{
}

/// What the task commands need of the queues: the events queue, and the outbox checks'.
pub trait CommandQueues: PublishEvents + ScheduleOutboxCheck {}

impl<P> CommandQueues for P where P: PublishEvents + ScheduleOutboxCheck {}

impl<S, P> TaskCommands<S, P>
where
    S: CommandStore,
    P: CommandQueues,
{
    /// The caller's task; another user's task is reported as not found.
    pub async fn get_task(&self, caller: &UserId, id: TaskId) -> Result<Task, CommandError> {
        Ok(self.own_task(caller, id).await?.task)
    }

    /// The caller's task as stored, with its pending events; another user's is not found.
    async fn own_task(&self, caller: &UserId, id: TaskId) -> Result<StoredTask, CommandError> {
        self.store
            .load_task(id)
            .await?
            .filter(|stored| &stored.task.owner == caller)
            .ok_or(CommandError::NotFound)
    }

    /// The zone `user`'s events are stamped in: read for every command that may emit events,
    /// so that a change of zone applies from the next command on.
    pub(crate) async fn time_zone(&self, user: &UserId) -> Result<TimeZone, CommandError> {
        let settings = self.store.load_user_settings(user).await?;
        Ok(settings.unwrap_or_default().time_zone)
    }

    pub async fn list_tasks(
        &self,
        caller: &UserId,
        query: &ListQuery,
    ) -> Result<TaskPage, CommandError> {
        Ok(self.store.list_tasks(caller, query).await?)
    }

    pub async fn create_task(
        &self,
        context: &CommandContext,
        new: NewTask,
    ) -> Result<CommandOutcome, CommandError> {
        if let Some(outcome) = self.replay(context).await? {
            return Ok(outcome);
        }
        let task_id = TaskId::from_uuid(Uuid::now_v7());
        let command = TaskCommand::Create(CreateTask {
            task_id,
            owner: context.caller.clone(),
            title: new.title,
            description: new.description,
            priority: new.priority,
            planned_accomplish_date: new.planned_accomplish_date,
        });
        // The zone and the outbox check at once: one round trip.
        let (zone, outbox_indexed) = join(
            self.time_zone(&context.caller),
            self.schedule_outbox_check(task_id),
        )
        .await;
        let zone = zone?;
        let (task, events) =
            Task::execute_in_zone(None, &command, now_millis(), &zone, new_event_id)?;
        let task = task.ok_or(CommandError::NotFound)?;
        let pending: Vec<PendingEvent> = events.iter().map(PendingEvent::from_envelope).collect();
        let created_event = events.first().map(|event| event.event_id);
        let record = self.idempotency_record(context, &task, created_event);
        if let Some(record) = &record {
            // The record first, on its own: it names the new task and its event, so a retry
            // that finds it without the task completes this very create (`complete_create`).
            // A fresh task id makes that safe without a transaction, which would bill both
            // writes twice.
            if let Some(replayed) = self.save_record_alone(context, record).await? {
                return Ok(replayed);
            }
        }
        let write = TaskWrite {
            task: &task,
            expected_version: None,
            pending_events: &pending,
            idempotency: None,
            outbox_indexed,
        };
        match self.store.save_task(write).await {
            Ok(()) => {}
            // A retry with the same key completed this create from its record in the meantime:
            // the same task and event, committed and sent by that retry.
            Err(SaveError::VersionConflict) if record.is_some() => {
                return Ok(CommandOutcome {
                    task,
                    created: true,
                    replayed: false,
                    events,
                });
            }
            // A fresh UUID v7 colliding with a stored task: not a state a retry can fix.
            Err(SaveError::VersionConflict | SaveError::IdempotencyKeyTaken) => {
                return Err(CommandError::Conflict);
            }
            Err(SaveError::Store(error)) => return Err(error.into()),
        }
        self.publish(&task, &pending).await;
        count_accepted(&command);
        Ok(CommandOutcome {
            task,
            created: true,
            replayed: false,
            events,
        })
    }

    pub async fn change_task(
        &self,
        context: &CommandContext,
        id: TaskId,
        command: TaskCommand,
    ) -> Result<CommandOutcome, CommandError> {
        if let Some(outcome) = self.replay(context).await? {
            return Ok(outcome);
        }
        // The zone, the task and the outbox check at once: one round trip. Each is awaited, and
        // a failed settings read decides the answer before the task's, as when they were read
        // in turn (not whichever reply lands first). The check is sent before knowing whether
        // the command commits anything: for a no-op or a refused command it finds nothing to
        // do, which costs a message and a read, not a round trip on every command.
        let (zone, first_read, outbox_indexed) = join3(
            self.time_zone(&context.caller),
            self.own_task(&context.caller, id),
            self.schedule_outbox_check(id),
        )
        .await;
        let zone = zone?;
        let mut first_read = Some(first_read?);
        for attempt in 0..MAX_ATTEMPTS {
            let stored = match first_read.take() {
                Some(stored) => stored,
                // A retry after a lost race reads the task again.
                None => self.own_task(&context.caller, id).await?,
            };
            let read_version = stored.task.version;
            if context
                .if_match
                .as_ref()
                .is_some_and(|precondition| !precondition.matches(read_version))
            {
                return Err(CommandError::PreconditionFailed {
                    current_version: Some(read_version),
                });
            }
            let (task, events) = Task::execute_in_zone(
                Some(stored.task),
                &command,
                now_millis(),
                &zone,
                new_event_id,
            )?;
            let task = task.ok_or(CommandError::NotFound)?;
            let record = self.idempotency_record(context, &task, None);

            if events.is_empty() {
                // Nothing changes; only remember the answer for retries of this key.
                if let Some(record) = &record
                    && let Some(replayed) = self.save_record_alone(context, record).await?
                {
                    return Ok(replayed);
                }
                return Ok(CommandOutcome {
                    task,
                    created: false,
                    replayed: false,
                    events,
                });
            }

            let mut pending = stored.pending_events;
            pending.extend(events.iter().map(PendingEvent::from_envelope));
            let write = TaskWrite {
                task: &task,
                expected_version: Some(read_version),
                pending_events: &pending,
                idempotency: record.as_ref(),
                outbox_indexed,
            };
            match self.store.save_task(write).await {
                Ok(()) => {
                    self.publish(&task, &pending).await;
                    count_accepted(&command);
                    return Ok(CommandOutcome {
                        task,
                        created: false,
                        replayed: false,
                        events,
                    });
                }
                Err(SaveError::VersionConflict)
                    if context
                        .if_match
                        .as_ref()
                        .is_some_and(IfMatch::names_versions) =>
                {
                    // The caller asked for the version it saw; it is gone.
                    return Err(CommandError::PreconditionFailed {
                        current_version: None,
                    });
                }
                Err(SaveError::VersionConflict) => COMMAND_RETRY_BACKOFF.sleep(attempt).await,
                Err(SaveError::IdempotencyKeyTaken) => {
                    return self.replay_after_race(context).await;
                }
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(CommandError::Conflict)
    }
}

fn count_accepted(command: &TaskCommand) {
    let name = match command {
        TaskCommand::Create(_) => "create",
        TaskCommand::ChangeStatus { .. } => "status",
        TaskCommand::ChangePriority { .. } => "priority",
        TaskCommand::ChangePlannedDate { .. } => "planned-date",
    };
    metrics::counter!(metric::COMMANDS_ACCEPTED, metric::COMMAND => name).increment(1);
}

#[cfg(test)]
mod idempotency_tests;
#[cfg(test)]
pub(crate) mod tests;
