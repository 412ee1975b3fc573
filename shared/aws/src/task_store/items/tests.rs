//! The stored form of a task and its outbox: field names, both forms of an entry, local days.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{Priority, TaskCommand, TaskId, Title, UserId};
use uuid::Uuid;

use super::*;
use crate::keys::{
    CURRENT_STATUS, OUTBOX_PK, OUTBOX_SK, PENDING_BODY, PENDING_COMMITTED_AT, PENDING_DATA,
    PENDING_EVENT_ID, PENDING_EVENT_TYPE, PENDING_EVENTS, PENDING_SCHEMA_VERSION, PENDING_SEQUENCE,
    PK, PLANNED_LOCAL_DAY, SK, TASKS_BY_USER_PK, TASKS_BY_USER_PROJECTION, TASKS_BY_USER_SK,
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
    let stamped = events[0]
        .clone()
        .in_zone(&taskpulse_domain::TimeZone::utc());
    (task.unwrap(), PendingEvent::from_envelope(&stamped))
}

fn pending_entries(item: &HashMap<String, AttributeValue>) -> Vec<HashMap<String, AttributeValue>> {
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
    for (zone, days) in [("America/Los_Angeles", Some("-1")), ("Asia/Tokyo", None)] {
        let envelope = taskpulse_domain::EventEnvelope::from_json(&pending.body)
            .unwrap()
            .in_zone(&taskpulse_domain::TimeZone::parse(zone).unwrap());
        let stamped = PendingEvent::from_envelope(&envelope);
        let item = attributes(TaskItem::new(&task, std::slice::from_ref(&stamped)));
        let entries = pending_entries(&item);
        assert_eq!(
            entries[0].get(crate::keys::PENDING_LOCAL_DAY),
            days.map(|d| AttributeValue::N(d.into())).as_ref(),
            "{zone}: absent for the UTC date"
        );
        assert!(!entries[0].contains_key(PENDING_BODY), "stored detached");
        let read: TaskItem = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.into_stored().unwrap().pending_events, vec![stamped]);
    }
}

#[test]
fn an_event_without_a_local_day_is_kept_whole_and_reads_back_as_it_was() {
    let (task, stamped) = created();
    let mut envelope = taskpulse_domain::EventEnvelope::from_json(&stamped.body).unwrap();
    envelope.local_day = None;
    let unstamped = PendingEvent::from_envelope(&envelope);
    let item = attributes(TaskItem::new(&task, std::slice::from_ref(&unstamped)));
    let entries = pending_entries(&item);
    assert!(entries[0].contains_key(PENDING_BODY), "stored whole");
    let read: TaskItem = serde_dynamo::from_item(item).unwrap();
    assert_eq!(read.into_stored().unwrap().pending_events, vec![unstamped]);
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
    assert!(
        !item.contains_key(PLANNED_LOCAL_DAY),
        "its UTC date: left out"
    );
    let in_tokyo = Task {
        planned_local_day: Some("2030-01-02".parse().unwrap()),
        ..task
    };
    let item = attributes(TaskItem::new(&in_tokyo, &[]));
    assert_eq!(item[PLANNED_LOCAL_DAY], AttributeValue::N("1".into()));
    assert!(!item.contains_key("plannedLocalDay"), "{:?}", item.keys());
    let back: TaskItem = serde_dynamo::from_item(item).unwrap();
    assert_eq!(back.into_task(), in_tokyo);
}

#[test]
fn a_completion_due_on_a_local_day_is_stored_detached_and_read_back_byte_for_byte() {
    let (task, _) = created();
    // Planned for 2030-01-01T00:00:00Z: 2029-12-31 in Los Angeles, a day before its UTC date.
    let los_angeles = taskpulse_domain::TimeZone::parse("America/Los_Angeles").unwrap();
    let task = Task {
        planned_local_day: Some("2029-12-31".parse().unwrap()),
        ..task
    };
    let complete = TaskCommand::ChangeStatus {
        status: taskpulse_domain::TaskStatus::Completed,
        at: None,
    };
    let mut ids = (3u128..).map(|n| EventId::from_uuid(Uuid::from_u128(n)));
    let (done, events) = Task::execute_in_zone(
        Some(task),
        &complete,
        "2026-01-03T10:00:00Z".parse().unwrap(),
        &los_angeles,
        || ids.next().unwrap(),
    )
    .unwrap();
    let done = done.unwrap();
    assert!(
        events[1]
            .to_json()
            .contains(r#""plannedLocalDay":"2029-12-31""#)
    );
    let pending: Vec<PendingEvent> = events.iter().map(PendingEvent::from_envelope).collect();
    let item = attributes(TaskItem::new(&done, &pending));
    assert_eq!(item[PLANNED_LOCAL_DAY], AttributeValue::N("-1".into()));
    let entries = pending_entries(&item);
    assert_eq!(
        entries[1][PENDING_DATA],
        AttributeValue::S(r#"{"all":1}"#.into()),
        "the completion is the task's own"
    );
    let read: TaskItem = serde_dynamo::from_item(item).unwrap();
    let stored = read.into_stored().unwrap();
    assert_eq!((stored.task, stored.pending_events), (done, pending));
}
