//! The stored form of a task with its outbox. Its field names are the attribute names of
//! `keys`; the tests below hold them together.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taskpulse_app::{PendingEvent, StoredTask};
use taskpulse_domain::event::EnvelopeError;
use taskpulse_domain::event::local_day_offset;
use taskpulse_domain::{DetachedEvent, EventId, Task};

use crate::keys;

/// An outbox entry as stored: detached from its task (`DetachedEvent`) when the envelope
/// comes back from it byte for byte, whole otherwise. Items written before events were stored
/// detached hold them whole; both forms are read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum PendingItem {
    Detached(DetachedItem),
    Whole(WholeItem),
}

/// Field names: `keys::PENDING_*`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DetachedItem {
    id: EventId,
    #[serde(rename = "type")]
    event_type: String,
    /// The commit time, which is the envelope's `occurredAt`.
    at: DateTime<Utc>,
    seq: u64,
    /// The owner's local day, as days after the UTC date of `at` (-1, 0 or 1): 4 bytes instead
    /// of a date's 12 on every write while the event waits. Absent: no local day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ld: Option<i8>,
    #[serde(
        default = "first_schema_version",
        skip_serializing_if = "is_first_schema_version"
    )]
    v: u32,
    data: String,
}

/// Absent means 1 (not "the current version"), so the rule holds after the contract moves on.
fn first_schema_version() -> u32 {
    1
}

fn is_first_schema_version(version: &u32) -> bool {
    *version == first_schema_version()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WholeItem {
    event_id: EventId,
    event_type: String,
    body: String,
    committed_at: DateTime<Utc>,
}

fn local_day_of(days: i8, at: DateTime<Utc>) -> NaiveDate {
    at.date_naive() + chrono::Duration::days(i64::from(days))
}

impl PendingItem {
    fn new(pending: &PendingEvent, task: &Task) -> Self {
        match DetachedEvent::detach(&pending.body, task) {
            Some(detached)
                if detached.event_id == pending.event_id
                    && detached.event_type == pending.event_type
                    && detached.occurred_at == pending.committed_at
                    && detached.local_day.is_none_or(|day| {
                        local_day_offset(day, detached.occurred_at).is_some()
                    }) =>
            {
                Self::Detached(DetachedItem {
                    id: detached.event_id,
                    event_type: detached.event_type,
                    at: detached.occurred_at,
                    ld: detached
                        .local_day
                        .and_then(|day| local_day_offset(day, detached.occurred_at)),
                    seq: detached.sequence,
                    v: detached.schema_version,
                    data: detached.data,
                })
            }
            _ => Self::Whole(WholeItem {
                event_id: pending.event_id,
                event_type: pending.event_type.clone(),
                body: pending.body.clone(),
                committed_at: pending.committed_at,
            }),
        }
    }

    fn into_pending(self, task: &Task) -> Result<PendingEvent, EnvelopeError> {
        Ok(match self {
            Self::Detached(item) => {
                let detached = DetachedEvent {
                    event_id: item.id,
                    event_type: item.event_type,
                    schema_version: item.v,
                    occurred_at: item.at,
                    local_day: item.ld.map(|days| local_day_of(days, item.at)),
                    sequence: item.seq,
                    data: item.data,
                };
                PendingEvent {
                    body: detached.attach(task)?,
                    event_id: detached.event_id,
                    event_type: detached.event_type,
                    committed_at: detached.occurred_at,
                }
            }
            Self::Whole(item) => PendingEvent {
                event_id: item.event_id,
                event_type: item.event_type,
                body: item.body,
                committed_at: item.committed_at,
            },
        })
    }
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
            pending_events: pending.iter().map(|p| PendingItem::new(p, task)).collect(),
            outbox_pk: oldest.map(|_| keys::outbox_partition(task.id)),
            outbox_sk: oldest.map(keys::outbox_sort_key),
        }
    }

    /// The task and its outbox, each pending event's envelope as committed.
    pub(super) fn into_stored(self) -> Result<StoredTask, EnvelopeError> {
        let pending_events = self
            .pending_events
            .into_iter()
            .map(|p| p.into_pending(&self.task))
            .collect::<Result<_, _>>()?;
        Ok(StoredTask {
            task: self.task,
            pending_events,
        })
    }

    /// The task alone, without its outbox (as a listing returns it).
    pub(super) fn into_task(self) -> Task {
        self.task
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use taskpulse_domain::task::CreateTask;
    use taskpulse_domain::{Priority, TaskCommand, TaskId, Title, UserId};
    use uuid::Uuid;

    use super::*;
    use crate::keys::{
        CURRENT_STATUS, OUTBOX_PK, OUTBOX_SK, PENDING_BODY, PENDING_COMMITTED_AT, PENDING_DATA,
        PENDING_EVENT_ID, PENDING_EVENT_TYPE, PENDING_EVENTS, PENDING_SCHEMA_VERSION,
        PENDING_SEQUENCE, PK, SK, TASKS_BY_USER_PK, TASKS_BY_USER_PROJECTION, TASKS_BY_USER_SK,
    };

    pub(in crate::task_store) fn task() -> Task {
        created().0
    }

    /// A new task and its `TaskCreated`, pending.
    fn created() -> (Task, PendingEvent) {
        let command = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(1)),
            owner: UserId::parse("u1").unwrap(),
            title: Title::parse("t").unwrap(),
            description: None,
            priority: Priority::Low,
            planned_accomplish_date: "2030-01-01T00:00:00Z".parse().unwrap(),
        });
        let created_at = "2026-01-02T03:04:05Z".parse().unwrap();
        let (task, events) = Task::execute(None, &command, created_at, || {
            EventId::from_uuid(Uuid::from_u128(2))
        })
        .unwrap();
        (task.unwrap(), PendingEvent::from_envelope(&events[0]))
    }

    fn pending_entries(
        item: &HashMap<String, AttributeValue>,
    ) -> Vec<HashMap<String, AttributeValue>> {
        item[PENDING_EVENTS]
            .as_l()
            .unwrap()
            .iter()
            .map(|entry| entry.as_m().unwrap().clone())
            .collect()
    }

    #[test]
    fn pending_events_are_written_detached_and_read_back_as_committed() {
        let (task, pending) = created();
        let item = attributes(TaskItem::new(&task, std::slice::from_ref(&pending)));
        let entries = pending_entries(&item);
        let mut names: Vec<&str> = entries[0].keys().map(String::as_str).collect();
        names.sort_unstable();
        // Schema version 1 is left out.
        let mut expected = [
            PENDING_COMMITTED_AT,
            PENDING_DATA,
            PENDING_EVENT_ID,
            PENDING_EVENT_TYPE,
            PENDING_SEQUENCE,
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
        let data = entries[0][PENDING_DATA].as_s().unwrap();
        assert!(!data.contains("title"), "{data}");
        assert!(
            crate::capacity::value_size(&item[PENDING_EVENTS]) < pending.body.len(),
            "the entry is smaller than the envelope alone"
        );

        let read: TaskItem = serde_dynamo::from_item(item).unwrap();
        let stored = read.into_stored().unwrap();
        assert_eq!(stored.task, task);
        assert_eq!(stored.pending_events, vec![pending]);
    }

    #[test]
    fn a_local_day_is_kept_as_days_from_the_commit_date_and_read_back_byte_for_byte() {
        let (task, pending) = created();
        // Committed 2026-01-02T03:04:05Z: the previous evening in Los Angeles, the same day in
        // Tokyo.
        for (zone, days) in [("America/Los_Angeles", "-1"), ("Asia/Tokyo", "0")] {
            let envelope = taskpulse_domain::EventEnvelope::from_json(&pending.body)
                .unwrap()
                .in_zone(&taskpulse_domain::TimeZone::parse(zone).unwrap());
            let stamped = PendingEvent::from_envelope(&envelope);
            let item = attributes(TaskItem::new(&task, std::slice::from_ref(&stamped)));
            let entries = pending_entries(&item);
            assert_eq!(
                entries[0].get(crate::keys::PENDING_LOCAL_DAY),
                Some(&AttributeValue::N(days.into())),
                "{zone}"
            );
            assert!(!entries[0].contains_key(PENDING_BODY), "stored detached");
            let read: TaskItem = serde_dynamo::from_item(item).unwrap();
            assert_eq!(read.into_stored().unwrap().pending_events, vec![stamped]);
        }
    }

    #[test]
    fn a_newer_schema_version_is_kept_on_the_entry() {
        let (task, pending) = created();
        let mut item = attributes(TaskItem::new(&task, std::slice::from_ref(&pending)));
        let mut entries = pending_entries(&item);
        entries[0].insert(PENDING_SCHEMA_VERSION.into(), AttributeValue::N("2".into()));
        item.insert(
            PENDING_EVENTS.into(),
            AttributeValue::L(entries.into_iter().map(AttributeValue::M).collect()),
        );
        let read: TaskItem = serde_dynamo::from_item(item).unwrap();
        let body = &read.into_stored().unwrap().pending_events[0].body;
        assert!(body.contains(r#""schemaVersion":2"#), "{body}");
    }

    #[test]
    fn entries_written_whole_before_are_read_as_they_are() {
        let (task, pending) = created();
        // The layout written before: the whole envelope under `body`, byte for byte, even one
        // that could not be rebuilt from the task.
        let odd_body = pending.body.replace(',', ", ");
        let entry = |body: &str| {
            AttributeValue::M(HashMap::from([
                (
                    "eventId".into(),
                    AttributeValue::S(pending.event_id.to_string()),
                ),
                (
                    "eventType".into(),
                    AttributeValue::S(pending.event_type.clone()),
                ),
                (PENDING_BODY.into(), AttributeValue::S(body.to_owned())),
                (
                    "committedAt".into(),
                    AttributeValue::S("2026-01-02T03:04:05Z".into()),
                ),
            ]))
        };
        let mut item = attributes(TaskItem::new(&task, &[]));
        item.insert(
            PENDING_EVENTS.into(),
            AttributeValue::L(vec![entry(&pending.body), entry(&odd_body)]),
        );
        let read: TaskItem = serde_dynamo::from_item(item).unwrap();
        let stored = read.into_stored().unwrap();
        let bodies: Vec<&str> = stored
            .pending_events
            .iter()
            .map(|p| p.body.as_str())
            .collect();
        assert_eq!(bodies, [pending.body.as_str(), odd_body.as_str()]);
        assert_eq!(stored.pending_events[0], pending);
    }

    #[test]
    fn an_envelope_that_would_not_come_back_identical_is_written_whole() {
        let (task, pending) = created();
        let odd = PendingEvent {
            body: pending.body.replace(',', ", "),
            ..pending.clone()
        };
        let late = PendingEvent {
            committed_at: pending.committed_at + chrono::TimeDelta::seconds(1),
            ..pending
        };
        for pending in [odd, late] {
            let item = attributes(TaskItem::new(&task, std::slice::from_ref(&pending)));
            assert!(pending_entries(&item)[0].contains_key(PENDING_BODY));
            let read: TaskItem = serde_dynamo::from_item(item).unwrap();
            assert_eq!(read.into_stored().unwrap().pending_events, vec![pending]);
        }
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
}
