//! The stored form of an idempotency record: a command's answer kept under its key.
//!
//! The answer is the task as the command left it. A change's record is written without the
//! task's title and description (`keys::TASK_TEXT`): no command changes them, so the task's own
//! item holds them as long as the record lives, and a replay reads them from there. The record
//! then stays one write unit (two in its transaction) however long the text. A create's record
//! is written before its task, and a retry may have to create the task from it
//! (`created_event`), so it keeps the text. Records written before hold the text; all are read.
//! Field names are the attribute names of `keys`; the tests hold them together.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskpulse_app::IdempotencyRecord;
use taskpulse_domain::{EventId, Task, TaskId, UserId};

use crate::keys::{self, IDEMPOTENCY_ANSWER, TASK_TEXT};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyItem {
    pk: String,
    sk: String,
    user_id: UserId,
    key: String,
    fingerprint: String,
    task: Task,
    created: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_event: Option<EventId>,
    /// Epoch seconds: the table's TTL attribute.
    expires_at: i64,
}

type Attributes = HashMap<String, AttributeValue>;

/// The attributes of `record` as written: the answer without its text.
pub(super) fn record_attributes(record: &IdempotencyRecord) -> Result<Attributes, String> {
    let (pk, sk) = keys::idempotency_key(&record.user_id, &record.key);
    let item = IdempotencyItem {
        pk,
        sk,
        user_id: record.user_id.clone(),
        key: record.key.clone(),
        fingerprint: record.fingerprint.clone(),
        task: record.task.clone(),
        created: record.created,
        created_event: record.created_event,
        expires_at: record.expires_at.timestamp(),
    };
    let mut attributes: Attributes = serde_dynamo::to_item(item).map_err(|e| e.to_string())?;
    // A create's record is written before its task and may have to complete it: it keeps all.
    if record.created {
        return Ok(attributes);
    }
    if let Some(AttributeValue::M(answer)) = attributes.get_mut(IDEMPOTENCY_ANSWER) {
        for name in TASK_TEXT {
            answer.remove(name);
        }
    }
    Ok(attributes)
}

/// The task whose item holds the text a stored record left out; `None` if the record holds it
/// (it was written before) or names no task.
pub(super) fn text_held_by(attributes: &Attributes) -> Option<TaskId> {
    let answer = attributes.get(IDEMPOTENCY_ANSWER)?.as_m().ok()?;
    if answer.contains_key(TASK_TEXT[0]) {
        return None;
    }
    answer.get("id")?.as_s().ok()?.parse().ok()
}

/// The record from its stored attributes, the answer's text taken from `task_item` (the
/// attributes of the task [`text_held_by`] names) when the record left it out.
pub(super) fn record_from(
    mut attributes: Attributes,
    task_item: Option<&Attributes>,
) -> Result<IdempotencyRecord, String> {
    if let (Some(task_item), Some(AttributeValue::M(answer))) =
        (task_item, attributes.get_mut(IDEMPOTENCY_ANSWER))
    {
        for name in TASK_TEXT {
            if let Some(value) = task_item.get(name) {
                answer.insert(name.to_owned(), value.clone());
            }
        }
    }
    let item: IdempotencyItem = serde_dynamo::from_item(attributes).map_err(|e| e.to_string())?;
    Ok(IdempotencyRecord {
        user_id: item.user_id,
        key: item.key,
        fingerprint: item.fingerprint,
        task: item.task,
        created: item.created,
        created_event: item.created_event,
        expires_at: DateTime::<Utc>::from_timestamp(item.expires_at, 0).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use taskpulse_domain::{Description, Priority};

    use super::super::items::TaskItem;
    use super::super::items::tests::task;
    use super::*;
    use crate::capacity::{item_size, write_units};
    use crate::keys::{EXPIRES_AT, PK, SK};

    /// A record whose answer is a task with the longest text the API accepts.
    fn record() -> IdempotencyRecord {
        let mut task = task();
        task.title = taskpulse_domain::Title::parse(&"t".repeat(200)).unwrap();
        task.description = Some(Description::parse(&"d".repeat(2_000)).unwrap());
        task.priority = Priority::High;
        IdempotencyRecord {
            user_id: task.owner.clone(),
            key: "k".into(),
            fingerprint: "f".repeat(64),
            task,
            created: false,
            created_event: None,
            expires_at: "2026-01-03T03:04:05Z".parse().unwrap(),
        }
    }

    fn task_attributes(task: &Task) -> Attributes {
        serde_dynamo::to_item(TaskItem::new(task, &[])).unwrap()
    }

    #[test]
    fn a_record_is_written_without_the_text_and_read_with_it_from_the_task() {
        let record = record();
        let attributes = record_attributes(&record).unwrap();
        for name in [PK, SK, EXPIRES_AT, IDEMPOTENCY_ANSWER] {
            assert!(attributes.contains_key(name), "{name} in {attributes:?}");
        }
        assert!(
            item_size(&attributes) < 1024,
            "one write unit whatever the text"
        );
        assert_eq!(text_held_by(&attributes), Some(record.task.id));

        // The task has changed since (a later command), but not its text.
        let mut later = record.task.clone();
        later.priority = Priority::Low;
        later.version += 1;
        let read = record_from(attributes, Some(&task_attributes(&later))).unwrap();
        assert_eq!(read, record);
    }

    #[test]
    fn a_task_without_a_description_is_answered_without_one() {
        let mut record = record();
        record.task.description = None;
        let attributes = record_attributes(&record).unwrap();
        let read = record_from(attributes, Some(&task_attributes(&record.task))).unwrap();
        assert_eq!(read, record);
    }

    #[test]
    fn a_record_written_before_holds_its_text_and_is_read_alone() {
        let record = record();
        // The layout written before: the whole answer.
        let mut attributes = record_attributes(&record).unwrap();
        attributes.insert(
            IDEMPOTENCY_ANSWER.into(),
            serde_dynamo::to_attribute_value(&record.task).unwrap(),
        );
        assert_eq!(text_held_by(&attributes), None);
        // What this layout cost with the longest text: three units, six in the transaction.
        assert_eq!(write_units(item_size(&attributes)), 3);
        assert_eq!(record_from(attributes, None).unwrap(), record);
    }

    #[test]
    fn a_create_record_keeps_its_text_and_its_event() {
        let mut record = record();
        record.created = true;
        record.created_event = Some(taskpulse_domain::EventId::from_uuid(uuid::Uuid::from_u128(
            9,
        )));
        let attributes = record_attributes(&record).unwrap();
        assert_eq!(text_held_by(&attributes), None, "nothing to read elsewhere");
        assert!(attributes.contains_key("createdEvent"));
        assert_eq!(record_from(attributes, None).unwrap(), record);
    }

    #[test]
    fn a_record_whose_text_cannot_be_found_is_unreadable_not_made_up() {
        let attributes = record_attributes(&record()).unwrap();
        assert!(record_from(attributes, None).is_err());
    }
}
