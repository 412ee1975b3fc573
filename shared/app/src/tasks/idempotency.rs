//! Idempotent commands: the answer of a command kept under the caller's key, replayed to a
//! retry, and a create completed from its record when the request stopped between its writes.

use chrono::{TimeDelta, Utc};
use futures_util::future::join;
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{EventId, Task, TaskCommand, TaskEvent};

use super::{CommandContext, CommandError, CommandOutcome, TaskCommands, count_accepted};
use crate::ports::{IdempotencyRecord, PendingEvent, SaveError, TaskWrite};

/// A client-chosen key that makes a request safe to retry, and the fingerprint of the request
/// it was first used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: String,
}

/// How long a stored response answers retries of the same idempotency key.
pub const IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

impl<S, P> TaskCommands<S, P>
where
    S: super::CommandStore,
    P: super::CommandQueues,
{
    /// The record of a command under the caller's key, if there is one; `created_event` is the
    /// `TaskCreated` of a create (`None` for a change).
    pub(super) fn idempotency_record(
        &self,
        context: &CommandContext,
        task: &Task,
        created_event: Option<EventId>,
    ) -> Option<IdempotencyRecord> {
        context.idempotency.as_ref().map(|key| IdempotencyRecord {
            user_id: context.caller.clone(),
            key: key.key.clone(),
            fingerprint: key.fingerprint.clone(),
            task: task.clone(),
            created: created_event.is_some(),
            created_event,
            expires_at: Utc::now() + IDEMPOTENCY_TTL,
        })
    }

    /// Completes the create a record stands for if its task was never written (the request
    /// stopped between the two writes, or is still between them): the same decision again,
    /// from the same command, time and event id, committed and sent as the create would have.
    /// The event is stamped in the owner's zone as it is now: had the owner changed zone in
    /// between, its local day follows the new zone. The planned date's local day is the one the
    /// record's task holds (the task that is written), so the event and the task agree on the
    /// day the task is due on. Either way only one of the two writes of the task succeeds, so
    /// one event with that id is ever committed.
    async fn complete_create(&self, record: &IdempotencyRecord) -> Result<(), CommandError> {
        let Some(event_id) = record.created_event else {
            return Ok(());
        };
        if self.store.load_task(record.task.id).await?.is_some() {
            return Ok(());
        }
        let answer = &record.task;
        let command = TaskCommand::Create(CreateTask {
            task_id: answer.id,
            owner: answer.owner.clone(),
            title: answer.title.clone(),
            description: answer.description.clone(),
            priority: answer.priority,
            planned_accomplish_date: answer.planned_accomplish_date,
        });
        let (zone, outbox_indexed) = join(
            self.time_zone(&answer.owner),
            self.schedule_outbox_check(answer.id),
        )
        .await;
        let zone = zone?;
        let (task, mut events) =
            Task::execute_in_zone(None, &command, answer.created_at, &zone, || event_id)?;
        for event in &mut events {
            if let TaskEvent::Created(created) = &mut event.event {
                created.planned_local_day = answer.planned_local_day;
            }
        }
        let task = task.map(|task| Task {
            planned_local_day: answer.planned_local_day,
            ..task
        });
        if task.as_ref() != Some(answer) {
            return Err(CommandError::Unavailable(format!(
                "the idempotency record of task {} does not describe its create",
                answer.id
            )));
        }
        let pending: Vec<PendingEvent> = events.iter().map(PendingEvent::from_envelope).collect();
        let write = TaskWrite {
            task: answer,
            expected_version: None,
            pending_events: &pending,
            idempotency: None,
            outbox_indexed,
        };
        match self.store.save_task(write).await {
            Ok(()) => {
                self.publish(answer, &pending).await;
                count_accepted(&command);
                Ok(())
            }
            // The create itself (or another retry) wrote it in the meantime.
            Err(SaveError::VersionConflict | SaveError::IdempotencyKeyTaken) => Ok(()),
            Err(SaveError::Store(error)) => Err(error.into()),
        }
    }

    /// The stored outcome of an earlier request with the same key, if there is one.
    pub(super) async fn replay(
        &self,
        context: &CommandContext,
    ) -> Result<Option<CommandOutcome>, CommandError> {
        let Some(key) = &context.idempotency else {
            return Ok(None);
        };
        let Some(record) = self
            .store
            .load_idempotency(&context.caller, &key.key)
            .await?
            .filter(|record| record.expires_at > Utc::now())
        else {
            return Ok(None);
        };
        if record.fingerprint != key.fingerprint {
            return Err(CommandError::IdempotencyKeyReused);
        }
        self.complete_create(&record).await?;
        Ok(Some(CommandOutcome {
            task: record.task,
            created: record.created,
            replayed: true,
            events: vec![],
        }))
    }

    /// A concurrent request with the same key committed first: answer as it did.
    pub(super) async fn replay_after_race(
        &self,
        context: &CommandContext,
    ) -> Result<CommandOutcome, CommandError> {
        self.replay(context).await?.ok_or(CommandError::Conflict)
    }

    /// Stores a record on its own (a create's, or a change that changes nothing). `Some` is the
    /// answer to give instead: a concurrent request with the same key stored its record first.
    pub(super) async fn save_record_alone(
        &self,
        context: &CommandContext,
        record: &IdempotencyRecord,
    ) -> Result<Option<CommandOutcome>, CommandError> {
        match self.store.save_idempotency(record).await {
            Ok(()) => Ok(None),
            Err(SaveError::IdempotencyKeyTaken) => self.replay_after_race(context).await.map(Some),
            Err(SaveError::VersionConflict) => Err(CommandError::Conflict),
            Err(SaveError::Store(error)) => Err(error.into()),
        }
    }
}
