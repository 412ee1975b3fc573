//! The `Task` aggregate: commands are decided by [`Task::handle`], state evolves by [`Task::apply`].
//!
//! `handle` never changes state and `apply` never rejects a valid next event, so the state a
//! command leaves behind is exactly the state rebuilt by replaying the events it emitted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{
    EventEnvelope, EventId, TaskCompleted, TaskCreated, TaskDelayed, TaskEvent,
    TaskPriorityChanged, TaskRescheduled, TaskStatusChanged,
};
use crate::time_zone::TimeZone;
use crate::values::{Description, Priority, TaskId, TaskStatus, Title, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: TaskStatus,
    pub set_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: TaskId,
    pub owner: UserId,
    pub title: Title,
    pub description: Option<Description>,
    pub priority: Priority,
    /// Oldest first; never empty (a task starts as `new`).
    pub status_history: Vec<StatusChange>,
    pub planned_accomplish_date: DateTime<Utc>,
    /// The owner's local day of the planned date when it was set, where it is not its UTC
    /// date: the day the task counts as due on ([`crate::event::due_day`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_local_day: Option<NaiveDate>,
    pub actual_accomplish_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The number of events applied so far; the sequence of the last event.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTask {
    pub task_id: TaskId,
    pub owner: UserId,
    pub title: Title,
    pub description: Option<Description>,
    pub priority: Priority,
    pub planned_accomplish_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCommand {
    Create(CreateTask),
    /// `at` is when the change happened; `None` means now. It may lie in the past (a change
    /// recorded late) but never in the future.
    ChangeStatus {
        status: TaskStatus,
        at: Option<DateTime<Utc>>,
    },
    ChangePriority {
        priority: Priority,
    },
    ChangePlannedDate {
        planned_accomplish_date: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("task {0} already exists")]
    AlreadyExists(TaskId),
    #[error("task does not exist")]
    NotFound,
    #[error("task is {} and can no longer change", .0.as_str())]
    Terminal(TaskStatus),
    #[error("'at' ({at}) must not be in the future")]
    AtInFuture { at: DateTime<Utc> },
    #[error("'at' ({at}) must not be before the current status was set ({since})")]
    AtBeforeCurrentStatus {
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    },
    #[error("event for task {found} applied to task {expected}")]
    EventForAnotherTask { expected: TaskId, found: TaskId },
    #[error("event sequence {found} does not follow version {version}")]
    EventOutOfSequence { version: u64, found: u64 },
    #[error(
        "the creation event carries no title (an archived copy): the task cannot be rebuilt from it"
    )]
    TitleWithheld,
}

impl Task {
    /// The current status: the last entry of the history.
    pub fn status(&self) -> TaskStatus {
        self.status_history
            .last()
            .map_or(TaskStatus::New, |change| change.status)
    }

    fn status_since(&self) -> DateTime<Utc> {
        self.status_history
            .last()
            .map_or(self.created_at, |change| change.set_at)
    }

    /// Decides which events a command produces against the current state (`None`: no task yet).
    /// A command that would change nothing produces no events.
    pub fn handle(
        current: Option<&Task>,
        command: &TaskCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TaskEvent>, DomainError> {
        let task = match (current, command) {
            (None, TaskCommand::Create(create)) => {
                return Ok(vec![TaskEvent::Created(TaskCreated {
                    title: Some(create.title.clone()),
                    description: create.description.clone(),
                    priority: create.priority,
                    planned_accomplish_date: create.planned_accomplish_date,
                    // Stamped with the owner's zone (`EventEnvelope::in_zone`).
                    planned_local_day: None,
                })]);
            }
            (Some(task), TaskCommand::Create(_)) => {
                return Err(DomainError::AlreadyExists(task.id));
            }
            (None, _) => return Err(DomainError::NotFound),
            (Some(task), _) => task,
        };
        if task.status().is_terminal() {
            return Err(DomainError::Terminal(task.status()));
        }
        match *command {
            TaskCommand::Create(_) => unreachable!("handled above"),
            TaskCommand::ChangeStatus { status, at } => task.change_status(status, at, now),
            TaskCommand::ChangePriority { priority } => Ok(if priority == task.priority {
                vec![]
            } else {
                vec![TaskEvent::PriorityChanged(TaskPriorityChanged {
                    from: task.priority,
                    to: priority,
                })]
            }),
            TaskCommand::ChangePlannedDate {
                planned_accomplish_date: to,
            } => {
                let from = task.planned_accomplish_date;
                // `to`'s local day is stamped with the owner's zone (`EventEnvelope::in_zone`).
                let from_local_day = task.planned_local_day;
                Ok(if to > from {
                    vec![TaskEvent::Delayed(TaskDelayed {
                        from,
                        to,
                        delay_seconds: whole_seconds_between(from, to),
                        from_local_day,
                        to_local_day: None,
                    })]
                } else if to < from {
                    vec![TaskEvent::Rescheduled(TaskRescheduled {
                        from,
                        to,
                        from_local_day,
                        to_local_day: None,
                    })]
                } else {
                    vec![]
                })
            }
        }
    }

    /// The completion of this task at `at`. A completed task can no longer change, so its
    /// completion is also what it says of itself from then on ([`Self::completion`]).
    fn completed_at(&self, at: DateTime<Utc>) -> TaskCompleted {
        TaskCompleted {
            completed_at: at,
            planned_accomplish_date: self.planned_accomplish_date,
            on_time: at <= self.planned_accomplish_date,
            lead_time_seconds: whole_seconds_between(self.created_at, at),
            priority: Some(self.priority),
            planned_local_day: self.planned_local_day,
        }
    }

    /// The `TaskCompleted` of a completed task; `None` for a task not completed.
    pub fn completion(&self) -> Option<TaskCompleted> {
        (self.status() == TaskStatus::Completed).then(|| self.completed_at(self.status_since()))
    }

    fn change_status(
        &self,
        to: TaskStatus,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TaskEvent>, DomainError> {
        let from = self.status();
        if to == from {
            return Ok(vec![]);
        }
        let at = at.unwrap_or(now);
        if at > now {
            return Err(DomainError::AtInFuture { at });
        }
        let since = self.status_since();
        if at < since {
            return Err(DomainError::AtBeforeCurrentStatus { at, since });
        }
        // A cancellation says which planned date the task stops being due on.
        let cancelled = to == TaskStatus::Cancelled;
        let mut events = vec![TaskEvent::StatusChanged(TaskStatusChanged {
            from,
            to,
            at,
            planned_accomplish_date: cancelled.then_some(self.planned_accomplish_date),
            planned_local_day: self.planned_local_day.filter(|_| cancelled),
        })];
        if to == TaskStatus::Completed {
            events.push(TaskEvent::Completed(self.completed_at(at)));
        }
        Ok(events)
    }

    /// The state after one event (`None`: before the task's first event).
    pub fn apply(current: Option<Task>, envelope: &EventEnvelope) -> Result<Task, DomainError> {
        let mut task = match (current, &envelope.event) {
            (None, TaskEvent::Created(created)) => {
                if envelope.sequence != 1 {
                    return Err(DomainError::EventOutOfSequence {
                        version: 0,
                        found: envelope.sequence,
                    });
                }
                return Ok(Task {
                    id: envelope.task_id,
                    owner: envelope.user_id.clone(),
                    title: created.title.clone().ok_or(DomainError::TitleWithheld)?,
                    description: created.description.clone(),
                    priority: created.priority,
                    status_history: vec![StatusChange {
                        status: TaskStatus::New,
                        set_at: envelope.occurred_at,
                    }],
                    planned_accomplish_date: created.planned_accomplish_date,
                    planned_local_day: created.planned_local_day,
                    actual_accomplish_date: None,
                    created_at: envelope.occurred_at,
                    version: 1,
                });
            }
            (None, _) => {
                return Err(DomainError::EventOutOfSequence {
                    version: 0,
                    found: envelope.sequence,
                });
            }
            (Some(task), _) => task,
        };
        if envelope.task_id != task.id {
            return Err(DomainError::EventForAnotherTask {
                expected: task.id,
                found: envelope.task_id,
            });
        }
        if envelope.sequence != task.version + 1 {
            return Err(DomainError::EventOutOfSequence {
                version: task.version,
                found: envelope.sequence,
            });
        }
        match &envelope.event {
            TaskEvent::Created(_) => return Err(DomainError::AlreadyExists(task.id)),
            TaskEvent::StatusChanged(change) => task.status_history.push(StatusChange {
                status: change.to,
                set_at: change.at,
            }),
            TaskEvent::Completed(completed) => {
                task.actual_accomplish_date = Some(completed.completed_at);
            }
            TaskEvent::PriorityChanged(change) => task.priority = change.to,
            TaskEvent::Delayed(TaskDelayed {
                to, to_local_day, ..
            })
            | TaskEvent::Rescheduled(TaskRescheduled {
                to, to_local_day, ..
            }) => {
                task.planned_accomplish_date = *to;
                task.planned_local_day = *to_local_day;
            }
        }
        task.version = envelope.sequence;
        Ok(task)
    }

    /// Handles a command and applies its events: the new state (unchanged when the command was
    /// a no-op) and the events stamped with ids, time and sequence, ready to publish.
    pub fn execute(
        current: Option<Task>,
        command: &TaskCommand,
        now: DateTime<Utc>,
        next_event_id: impl FnMut() -> EventId,
    ) -> Result<(Option<Task>, Vec<EventEnvelope>), DomainError> {
        Self::execute_stamped(current, command, now, None, next_event_id)
    }

    /// [`Self::execute`], the events stamped with the owner's local days in `zone` before they
    /// are applied, so the new state holds the local day of its planned date.
    pub fn execute_in_zone(
        current: Option<Task>,
        command: &TaskCommand,
        now: DateTime<Utc>,
        zone: &TimeZone,
        next_event_id: impl FnMut() -> EventId,
    ) -> Result<(Option<Task>, Vec<EventEnvelope>), DomainError> {
        Self::execute_stamped(current, command, now, Some(zone), next_event_id)
    }

    fn execute_stamped(
        current: Option<Task>,
        command: &TaskCommand,
        now: DateTime<Utc>,
        zone: Option<&TimeZone>,
        mut next_event_id: impl FnMut() -> EventId,
    ) -> Result<(Option<Task>, Vec<EventEnvelope>), DomainError> {
        let events = Self::handle(current.as_ref(), command, now)?;
        let (task_id, user_id, version) = match (&current, command) {
            (Some(task), _) => (task.id, task.owner.clone(), task.version),
            (None, TaskCommand::Create(create)) => (create.task_id, create.owner.clone(), 0),
            (None, _) => return Err(DomainError::NotFound),
        };
        let envelopes: Vec<EventEnvelope> = events
            .into_iter()
            .zip(version + 1..)
            .map(|(event, sequence)| EventEnvelope {
                event_id: next_event_id(),
                schema_version: EventEnvelope::SCHEMA_VERSION,
                occurred_at: now,
                local_day: None,
                task_id,
                user_id: user_id.clone(),
                sequence,
                event,
            })
            .map(|envelope| match zone {
                Some(zone) => envelope.in_zone(zone),
                None => envelope,
            })
            .collect();
        let mut state = current;
        for envelope in &envelopes {
            state = Some(Self::apply(state, envelope)?);
        }
        Ok((state, envelopes))
    }
}

/// Whole seconds from `from` to `to`, zero when `to` is not later.
fn whole_seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
