//! Domain events and the event contract: the JSON envelope every SQS message carries.
//!
//! The contract is documented in `docs/event-contract.md`. In short:
//!
//! ```json
//! { "eventId": "<uuid v7>", "eventType": "TaskCreated", "schemaVersion": 1,
//!   "occurredAt": "2026-11-26T10:00:00Z", "taskId": "<uuid>", "userId": "<sub>",
//!   "sequence": 1, "data": { ... event-specific, camelCase ... } }
//! ```
//!
//! `eventId` is the deduplication key: it is chosen once by the producer and survives any number
//! of re-sends, unlike the SQS message id.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::time_zone::TimeZone;
use crate::values::{Description, Priority, TaskId, TaskStatus, Title, UserId};

mod archive;
mod detached;
mod local_day;
mod read;
mod rfc3339;

pub use detached::DetachedEvent;
use local_day::{check_local_day, check_planned_days, local_day_where_other};
pub use local_day::{due_day, local_day_offset};

/// The deduplication key of an event (UUID v7, chosen by the producer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCreated {
    /// Required on the queue; absent in archived copies, which keep no free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    pub priority: Priority,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub planned_accomplish_date: DateTime<Utc>,
    /// The owner's local day of the planned date, where it is not its UTC date (see
    /// [`due_day`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_local_day: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusChanged {
    pub from: TaskStatus,
    pub to: TaskStatus,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub at: DateTime<Utc>,
    /// On a cancellation, the planned date the task had: the day it no longer counts as due on.
    /// Absent on other changes and on cancellations written before it was added.
    #[serde(
        default,
        deserialize_with = "rfc3339::deserialize_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub planned_accomplish_date: Option<DateTime<Utc>>,
    /// The task's local day of that planned date, where it is not its UTC date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_local_day: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCompleted {
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub completed_at: DateTime<Utc>,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub planned_accomplish_date: DateTime<Utc>,
    /// Completed at or before the planned date.
    pub on_time: bool,
    /// From creation to completion; never negative.
    pub lead_time_seconds: u64,
    /// The task's priority when it was completed. Absent in events written before it was
    /// added: their completions count under no priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The task's local day of its planned date, where it is not its UTC date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_local_day: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskPriorityChanged {
    pub from: Priority,
    pub to: Priority,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDelayed {
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub from: DateTime<Utc>,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub to: DateTime<Utc>,
    pub delay_seconds: u64,
    /// The local days of `from` and `to`, where they are not their UTC dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_local_day: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_local_day: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRescheduled {
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub from: DateTime<Utc>,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub to: DateTime<Utc>,
    /// The local days of `from` and `to`, where they are not their UTC dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_local_day: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_local_day: Option<NaiveDate>,
}

/// What happened to a task. Each variant carries everything a consumer needs to update the
/// analytics without reading any other state, so events can be applied in any order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEvent {
    Created(TaskCreated),
    StatusChanged(TaskStatusChanged),
    Completed(TaskCompleted),
    PriorityChanged(TaskPriorityChanged),
    Delayed(TaskDelayed),
    Rescheduled(TaskRescheduled),
}

impl TaskEvent {
    /// Every `eventType` this version of the contract defines.
    pub const TYPES: [&'static str; 6] = [
        "TaskCreated",
        "TaskStatusChanged",
        "TaskCompleted",
        "TaskPriorityChanged",
        "TaskDelayed",
        "TaskRescheduled",
    ];

    /// The `eventType` of the envelope (also sent as the SQS message attribute `eventType`).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created(_) => "TaskCreated",
            Self::StatusChanged(_) => "TaskStatusChanged",
            Self::Completed(_) => "TaskCompleted",
            Self::PriorityChanged(_) => "TaskPriorityChanged",
            Self::Delayed(_) => "TaskDelayed",
            Self::Rescheduled(_) => "TaskRescheduled",
        }
    }

    fn data_json(&self) -> serde_json::Value {
        let data = match self {
            Self::Created(d) => serde_json::to_value(d),
            Self::StatusChanged(d) => serde_json::to_value(d),
            Self::Completed(d) => serde_json::to_value(d),
            Self::PriorityChanged(d) => serde_json::to_value(d),
            Self::Delayed(d) => serde_json::to_value(d),
            Self::Rescheduled(d) => serde_json::to_value(d),
        };
        // These are plain structs of strings, numbers and booleans: serialising cannot fail.
        data.unwrap_or(serde_json::Value::Null)
    }

    fn from_data(event_type: &str, data: &str) -> Result<Self, EnvelopeError> {
        let mut json = serde_json::Deserializer::from_str(data);
        let event = Self::read_data(event_type, &mut json)
            .ok_or_else(|| EnvelopeError::UnknownEventType(event_type.to_owned()))?;
        event
            .and_then(|event| json.end().map(|()| event))
            .map_err(|e| EnvelopeError::InvalidData {
                event_type: event_type.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Decodes the `data` of an `eventType`; `None` if the type is unknown.
    fn read_data<'de, D: Deserializer<'de>>(
        event_type: &str,
        data: D,
    ) -> Option<Result<Self, D::Error>> {
        Some(match event_type {
            "TaskCreated" => Deserialize::deserialize(data).map(Self::Created),
            "TaskStatusChanged" => Deserialize::deserialize(data).map(Self::StatusChanged),
            "TaskCompleted" => Deserialize::deserialize(data).map(Self::Completed),
            "TaskPriorityChanged" => Deserialize::deserialize(data).map(Self::PriorityChanged),
            "TaskDelayed" => Deserialize::deserialize(data).map(Self::Delayed),
            "TaskRescheduled" => Deserialize::deserialize(data).map(Self::Rescheduled),
            _ => return None,
        })
    }
}

/// One event as it travels: the domain event plus the metadata every consumer relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    pub event_id: EventId,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// The owner's local day of `occurredAt`, in the owner's time zone when the command was
    /// accepted. Absent in events written before time zones (their day is the UTC day).
    pub local_day: Option<NaiveDate>,
    pub task_id: TaskId,
    pub user_id: UserId,
    /// The task's version after this event; the first event of a task has sequence 1.
    pub sequence: u64,
    pub event: TaskEvent,
}

/// Why a message body is not an event this consumer can apply. Each is a per-message failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("schemaVersion {found} is newer than the supported version {supported}")]
    UnsupportedSchemaVersion { found: u64, supported: u32 },
    #[error("envelope is invalid: {0}")]
    InvalidEnvelope(String),
    #[error("unknown eventType '{0}'")]
    UnknownEventType(String),
    #[error("data of {event_type} is invalid: {reason}")]
    InvalidData { event_type: String, reason: String },
}

impl EnvelopeError {
    /// A short stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "not_json",
            Self::UnsupportedSchemaVersion { .. } => "unsupported_schema_version",
            Self::InvalidEnvelope(_) => "invalid_envelope",
            Self::UnknownEventType(_) => "unknown_event_type",
            Self::InvalidData { .. } => "invalid_data",
        }
    }
}

/// The envelope as written; `data` is a `serde_json::Value`, or raw JSON already written
/// (`detached.rs`), which gives the same bytes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireEnvelope<D> {
    event_id: EventId,
    event_type: String,
    schema_version: u32,
    occurred_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_day: Option<NaiveDate>,
    task_id: TaskId,
    user_id: UserId,
    sequence: u64,
    data: D,
}

impl EventEnvelope {
    /// The schema version this code writes and the newest it reads.
    pub const SCHEMA_VERSION: u32 = 1;

    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }

    /// The event stamped with its owner's local day in `zone`, and with the local days of the
    /// planned dates it sets (a new task's, a moved date's `to`). The planned dates it leaves
    /// keep the local days their task holds (`Task::handle` copies them), so that a task stops
    /// counting as due on the very day it started to, whatever zone the owner has since.
    pub fn in_zone(mut self, zone: &TimeZone) -> Self {
        self.local_day = Some(zone.local_day(self.occurred_at));
        match &mut self.event {
            TaskEvent::Created(created) => {
                created.planned_local_day =
                    local_day_where_other(zone, created.planned_accomplish_date);
            }
            TaskEvent::Delayed(TaskDelayed {
                to, to_local_day, ..
            })
            | TaskEvent::Rescheduled(TaskRescheduled {
                to, to_local_day, ..
            }) => *to_local_day = local_day_where_other(zone, *to),
            _ => {}
        }
        self
    }

    /// The day the owner's counters count this event on: its local day, or for an event
    /// written before time zones, the UTC day.
    pub fn owner_day(&self) -> NaiveDate {
        self.local_day
            .unwrap_or_else(|| self.occurred_at.date_naive())
    }

    pub fn to_json(&self) -> String {
        let wire = WireEnvelope {
            event_id: self.event_id,
            event_type: self.event_type().to_owned(),
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            local_day: self.local_day,
            task_id: self.task_id,
            user_id: self.user_id.clone(),
            sequence: self.sequence,
            data: self.event.data_json(),
        };
        // Only strings, numbers and maps with string keys: serialising cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses one message body, telling apart the ways it can be unusable.
    pub fn from_json(body: &str) -> Result<Self, EnvelopeError> {
        let envelope = Self::parse(body)?;
        if let TaskEvent::Created(TaskCreated { title: None, .. }) = envelope.event {
            return Err(EnvelopeError::InvalidData {
                event_type: envelope.event_type().to_owned(),
                reason: "missing field `title`".into(),
            });
        }
        Ok(envelope)
    }

    /// Parses an envelope whose free text may be absent (a queue body or an archived line).
    fn parse(body: &str) -> Result<Self, EnvelopeError> {
        // Borrowed parts, read in one pass (`read.rs`). The slower diagnosis below runs only
        // for bodies that do not parse.
        let wire = match read::ReadEnvelope::from_body(body) {
            Ok(wire) => wire,
            Err(error) => return Err(Self::diagnose(body, error)),
        };
        // Check the version before the data: a newer version may have another shape, and
        // "too new" tells the operator to deploy a newer consumer rather than fix the producer.
        let schema_version = Self::supported_version(wire.schema_version)?;
        if wire.sequence == 0 {
            return Err(EnvelopeError::InvalidEnvelope(
                "sequence must be at least 1".into(),
            ));
        }
        if let Some(local_day) = wire.local_day {
            check_local_day(local_day, wire.occurred_at)?;
        }
        let event = match wire.data {
            read::WireData::Event(event) => event,
            read::WireData::Raw(data) => TaskEvent::from_data(&wire.event_type, data.get())?,
        };
        check_planned_days(&event)?;
        Ok(Self {
            event_id: wire.event_id,
            schema_version,
            occurred_at: wire.occurred_at,
            local_day: wire.local_day,
            task_id: wire.task_id,
            user_id: wire.user_id,
            sequence: wire.sequence,
            event,
        })
    }

    fn supported_version(found: u64) -> Result<u32, EnvelopeError> {
        if found > u64::from(Self::SCHEMA_VERSION) {
            return Err(EnvelopeError::UnsupportedSchemaVersion {
                found,
                supported: Self::SCHEMA_VERSION,
            });
        }
        if found == 0 {
            return Err(EnvelopeError::InvalidEnvelope(
                "schemaVersion must be at least 1".into(),
            ));
        }
        Ok(found as u32)
    }

    /// Why a body did not parse as an envelope: not JSON at all, a newer schema version (whose
    /// shape may differ), or a missing or mistyped field.
    fn diagnose(body: &str, error: serde_json::Error) -> EnvelopeError {
        if let Err(not_json) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
            return EnvelopeError::NotJson(not_json.to_string());
        }
        #[derive(Deserialize)]
        struct VersionProbe {
            #[serde(rename = "schemaVersion", default)]
            schema_version: Option<u64>,
        }
        match serde_json::from_str::<VersionProbe>(body) {
            Ok(VersionProbe {
                schema_version: Some(found),
            }) if found > u64::from(Self::SCHEMA_VERSION) => Self::supported_version(found)
                .err()
                .unwrap_or_else(|| EnvelopeError::InvalidEnvelope(error.to_string())),
            _ => EnvelopeError::InvalidEnvelope(error.to_string()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
