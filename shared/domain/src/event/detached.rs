//! An event as its task's outbox keeps it: only what the task does not already hold.
//!
//! A pending event waits on its task's item until the queue has it, and that item is billed
//! per started KB on every write. Most of an envelope repeats the task: `taskId` and `userId`
//! always, `title` and `description` in `TaskCreated` (no command changes them, so the task
//! still holds them when the event is sent), and all of `TaskCompleted` (a completed task can
//! no longer change, so it still says how it was completed; an entry written before
//! completions carried their priority is marked apart and attached without it). A detached event keeps the rest,
//! and attaching it to its task gives back the envelope as committed, byte for byte: the same
//! `eventId` and the same content, which consumers deduplicate on and the archive keeps.
//! [`DetachedEvent::detach`] checks that before it answers, so an envelope that would not come
//! back identical is never detached (its store keeps the whole envelope instead).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;

use super::{EnvelopeError, EventEnvelope, EventId, TaskCreated, TaskEvent, WireEnvelope};
use crate::task::Task;

/// The `data` of a detached `TaskCompleted` that its completed task says all of, priority
/// included.
const DATA_OF_THE_TASK: &str = r#"{"all":1}"#;

/// The same, as written before completions carried their priority: the task's completion
/// without it, so that such an entry still comes back byte for byte as it was committed.
const DATA_OF_THE_TASK_WITHOUT_PRIORITY: &str = "{}";

/// The completion `task` says, without its priority (as completions were written before).
fn completion_without_priority(task: &Task) -> Option<super::TaskCompleted> {
    task.completion().map(|completion| super::TaskCompleted {
        priority: None,
        ..completion
    })
}

/// The parts of an envelope its task does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedEvent {
    pub event_id: EventId,
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// The owner's local day, if the event was stamped with one.
    pub local_day: Option<NaiveDate>,
    pub sequence: u64,
    /// The event's `data` as JSON, without the fields the task holds (`{}` when it holds all).
    pub data: String,
}

impl DetachedEvent {
    /// The parts of `body` (an envelope as committed) that `task` does not hold; `None` if
    /// `body` is no envelope of `task` that [`attach`](Self::attach) gives back byte for byte.
    pub fn detach(body: &str, task: &Task) -> Option<Self> {
        let envelope = EventEnvelope::from_json(body).ok()?;
        if envelope.task_id != task.id || envelope.user_id != task.owner {
            return None;
        }
        let event = match envelope.event {
            TaskEvent::Created(created) => {
                if created.title.as_ref() != Some(&task.title)
                    || created.description != task.description
                {
                    return None;
                }
                TaskEvent::Created(TaskCreated {
                    title: None,
                    description: None,
                    ..created
                })
            }
            other => other,
        };
        let data = match &event {
            TaskEvent::Completed(completed) if task.completion().as_ref() == Some(completed) => {
                DATA_OF_THE_TASK.to_owned()
            }
            TaskEvent::Completed(completed)
                if completion_without_priority(task).as_ref() == Some(completed) =>
            {
                DATA_OF_THE_TASK_WITHOUT_PRIORITY.to_owned()
            }
            other => other.data_json().to_string(),
        };
        let detached = Self {
            event_id: envelope.event_id,
            event_type: event.event_type().to_owned(),
            schema_version: envelope.schema_version,
            occurred_at: envelope.occurred_at,
            local_day: envelope.local_day,
            sequence: envelope.sequence,
            data,
        };
        (detached.attach(task).ok()? == body).then_some(detached)
    }

    /// The envelope as committed: these parts with the task's own. Only `TaskCreated` and a
    /// `TaskCompleted` the task says all of take fields from the task; any other type's `data`
    /// is written back as stored, unparsed, so an entry of a type added later (written by a
    /// newer release before a rollback) is attached all the same.
    pub fn attach(&self, task: &Task) -> Result<String, EnvelopeError> {
        let [created_type, _, completed_type, ..] = TaskEvent::TYPES;
        let invalid = |reason: String| EnvelopeError::InvalidData {
            event_type: self.event_type.clone(),
            reason,
        };
        let from_task = if self.event_type == created_type {
            match TaskEvent::from_data(created_type, &self.data)? {
                TaskEvent::Created(created) => Some(TaskEvent::Created(TaskCreated {
                    title: Some(task.title.clone()),
                    description: task.description.clone(),
                    ..created
                })),
                other => Some(other),
            }
        } else if self.event_type == completed_type
            && [DATA_OF_THE_TASK, DATA_OF_THE_TASK_WITHOUT_PRIORITY].contains(&self.data.as_str())
        {
            let completion = if self.data == DATA_OF_THE_TASK {
                task.completion()
            } else {
                completion_without_priority(task)
            };
            let completion =
                completion.ok_or_else(|| invalid(format!("task {} is not completed", task.id)))?;
            Some(TaskEvent::Completed(completion))
        } else {
            None
        };
        let data = match from_task {
            Some(event) => serde_json::value::to_raw_value(&event.data_json()),
            None => RawValue::from_string(self.data.clone()),
        }
        .map_err(|e| invalid(e.to_string()))?;
        let wire = WireEnvelope {
            event_id: self.event_id,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            local_day: self.local_day,
            task_id: task.id,
            user_id: task.owner.clone(),
            sequence: self.sequence,
            data: &*data,
        };
        serde_json::to_string(&wire).map_err(|e| invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::task::CreateTask;
    use crate::{Description, Priority, TaskCommand, TaskId, TaskStatus, Title, UserId};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// A task through every kind of event, and each envelope as committed.
    fn a_life(description: Option<&str>) -> (Task, Vec<String>) {
        let mut next = 0u128;
        let mut ids = move || {
            next += 1;
            EventId::from_uuid(Uuid::from_u128(100 + next))
        };
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(1)),
            owner: UserId::parse("user-1").unwrap(),
            title: Title::parse("Prepare the \"quarterly\" report — für alle").unwrap(),
            description: description.map(|d| Description::parse(d).unwrap()),
            priority: Priority::High,
            planned_accomplish_date: at("2026-12-01T09:00:00Z"),
        });
        let (task, mut bodies) = (None, vec![]);
        let steps = [
            (create, "2026-11-26T10:00:00.123Z"),
            (
                TaskCommand::ChangePriority {
                    priority: Priority::Critical,
                },
                "2026-11-26T11:00:00Z",
            ),
            (
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: at("2026-12-03T09:00:00Z"),
                },
                "2026-11-26T12:00:00Z",
            ),
            (
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: at("2026-12-02T09:00:00Z"),
                },
                "2026-11-26T12:30:00Z",
            ),
            (
                TaskCommand::ChangeStatus {
                    status: TaskStatus::InProgress,
                    at: Some(at("2026-11-26T12:45:00.5Z")),
                },
                "2026-11-26T13:00:00Z",
            ),
            (
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Completed,
                    at: None,
                },
                "2026-11-27T08:00:00.007Z",
            ),
        ];
        let mut task = task;
        for (command, now) in steps {
            let (after, events) = Task::execute(task, &command, at(now), &mut ids).unwrap();
            task = after;
            bodies.extend(events.iter().map(EventEnvelope::to_json));
        }
        (task.unwrap(), bodies)
    }

    #[test]
    fn every_kind_of_event_comes_back_byte_for_byte() {
        for description in [None, Some("Numbers from finance,\nnarrative from product.")] {
            let (task, bodies) = a_life(description);
            assert_eq!(bodies.len(), 7, "one event of each type, two on completion");
            let types: std::collections::BTreeSet<_> = bodies
                .iter()
                .map(|b| EventEnvelope::from_json(b).unwrap().event_type())
                .collect();
            assert_eq!(types.len(), TaskEvent::TYPES.len());
            for body in &bodies {
                let detached = DetachedEvent::detach(body, &task).expect("detachable");
                assert_eq!(&detached.attach(&task).unwrap(), body);
                assert!(body.len() > detached.data.len());
                if detached.event_type == "TaskCompleted" {
                    assert_eq!(
                        detached.data, DATA_OF_THE_TASK,
                        "the completed task says it all"
                    );
                }
                for own in ["taskId", "userId", "title", "description"] {
                    assert!(!detached.data.contains(own), "{own} in {}", detached.data);
                }
            }
        }
    }

    #[test]
    fn an_envelope_of_another_task_or_owner_or_text_is_not_detached() {
        let (task, bodies) = a_life(None);
        let created = &bodies[0];
        let mut other_task = task.clone();
        other_task.id = TaskId::from_uuid(Uuid::from_u128(2));
        let mut other_owner = task.clone();
        other_owner.owner = UserId::parse("user-2").unwrap();
        let mut other_title = task.clone();
        other_title.title = Title::parse("Another title").unwrap();
        let mut other_description = task.clone();
        other_description.description = Some(Description::parse("now there is one").unwrap());
        for stranger in [other_task, other_owner, other_title, other_description] {
            assert_eq!(DetachedEvent::detach(created, &stranger), None);
        }
        // Not an envelope at all, or one that would not come back identical (other spacing).
        assert_eq!(DetachedEvent::detach("{}", &task), None);
        let spaced = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(created).unwrap(),
        )
        .unwrap();
        assert_eq!(DetachedEvent::detach(&spaced, &task), None);
    }

    #[test]
    fn a_completion_stored_before_completions_had_a_priority_comes_back_without_one() {
        let (task, bodies) = a_life(None);
        let completed = bodies.last().unwrap();
        let now = DetachedEvent::detach(completed, &task).unwrap();
        assert_eq!(now.data, DATA_OF_THE_TASK);
        assert!(now.attach(&task).unwrap().contains(r#""priority":"#));
        // The same completion as committed before: without `priority`, stored as `{}`.
        let mut before = EventEnvelope::from_json(completed).unwrap();
        if let TaskEvent::Completed(done) = &mut before.event {
            done.priority = None;
        }
        let before = before.to_json();
        assert!(!before.contains("priority"), "{before}");
        let stored_then = DetachedEvent {
            data: DATA_OF_THE_TASK_WITHOUT_PRIORITY.to_owned(),
            ..now.clone()
        };
        assert_eq!(stored_then.attach(&task).unwrap(), before, "byte for byte");
        assert_eq!(DetachedEvent::detach(&before, &task), Some(stored_then));
    }

    #[test]
    fn a_completion_the_task_does_not_say_is_kept_whole_and_one_it_cannot_is_an_error() {
        let (task, bodies) = a_life(None);
        let completed = bodies.last().unwrap();
        // The task as it would be had it been completed at another time.
        let mut other = task.clone();
        other.status_history.last_mut().unwrap().set_at = at("2026-11-27T09:00:00Z");
        assert_ne!(other.completion(), task.completion());
        let detached = DetachedEvent::detach(completed, &other).expect("detachable");
        assert_ne!(detached.data, DATA_OF_THE_TASK);
        assert_eq!(&detached.attach(&other).unwrap(), completed);

        let derived = DetachedEvent::detach(completed, &task).unwrap();
        let (open, _) = a_life(None);
        let mut open = open;
        open.status_history.pop();
        assert!(matches!(
            derived.attach(&open),
            Err(EnvelopeError::InvalidData { .. })
        ));
    }

    #[test]
    fn an_event_type_added_later_is_attached_as_stored_and_damage_is_an_error() {
        let (task, bodies) = a_life(None);
        let mut detached = DetachedEvent::detach(&bodies[1], &task).unwrap();
        detached.event_type = "TaskRenamed".into();
        detached.data = r#"{"from":"a","to":"b"}"#.into();
        let body = detached.attach(&task).unwrap();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["eventType"], "TaskRenamed");
        assert_eq!(json["data"], serde_json::json!({"from": "a", "to": "b"}));
        assert_eq!(json["taskId"], task.id.to_string());
        assert_eq!(json["userId"], task.owner.as_str());

        detached.data = "{not json".into();
        assert!(matches!(
            detached.attach(&task),
            Err(EnvelopeError::InvalidData { .. })
        ));
        let mut created = DetachedEvent::detach(&bodies[0], &task).unwrap();
        created.data = "[]".into();
        assert!(matches!(
            created.attach(&task),
            Err(EnvelopeError::InvalidData { .. })
        ));
    }
}
