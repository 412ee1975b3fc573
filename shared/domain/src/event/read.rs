//! Reading an envelope from a message body. The consumer does this for every event, so the
//! usual body is read in one pass: `data` is decoded as it is read when `eventType` came before
//! it, as every producer writes it. Any body that pass does not take is read again the
//! reference way ([`WireEnvelopeIn`]: `data` kept raw until its type is known), which then
//! says what is wrong, so what a body reads as, or why it fails, does not depend on the pass.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{EventId, TaskEvent, rfc3339};
use crate::values::{TaskId, UserId};

/// The envelope as read: borrowed where it can be, `data` left raw.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireEnvelopeIn<'a> {
    event_id: EventId,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    schema_version: u64,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    local_day: Option<NaiveDate>,
    task_id: TaskId,
    user_id: UserId,
    sequence: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// An envelope's `data`: decoded already, or raw until its type is checked.
pub(super) enum WireData<'a> {
    Event(TaskEvent),
    Raw(&'a RawValue),
}

/// The envelope as read, by either way.
pub(super) struct ReadEnvelope<'a> {
    pub event_id: EventId,
    pub event_type: Cow<'a, str>,
    pub schema_version: u64,
    pub occurred_at: DateTime<Utc>,
    pub local_day: Option<NaiveDate>,
    pub task_id: TaskId,
    pub user_id: UserId,
    pub sequence: u64,
    pub data: WireData<'a>,
}

impl<'a> ReadEnvelope<'a> {
    /// Reads `body` in one pass, or, if that pass does not take it, the reference way.
    pub fn from_body(body: &'a str) -> Result<Self, serde_json::Error> {
        if let Ok(read) = serde_json::from_str(body) {
            return Ok(read);
        }
        let wire: WireEnvelopeIn<'a> = serde_json::from_str(body)?;
        Ok(Self {
            event_id: wire.event_id,
            event_type: wire.event_type,
            schema_version: wire.schema_version,
            occurred_at: wire.occurred_at,
            local_day: wire.local_day,
            task_id: wire.task_id,
            user_id: wire.user_id,
            sequence: wire.sequence,
            data: WireData::Raw(wire.data),
        })
    }
}

/// The one pass. It fails on anything unusual (a missing, repeated or escaped field, `data`
/// that does not decode), leaving the body to the reference reading.
impl<'de> Deserialize<'de> for ReadEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OnePass)
    }
}

enum Field {
    EventId,
    EventType,
    SchemaVersion,
    OccurredAt,
    LocalDay,
    TaskId,
    UserId,
    Sequence,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Field;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "eventId" => Field::EventId,
                    "eventType" => Field::EventType,
                    "schemaVersion" => Field::SchemaVersion,
                    "occurredAt" => Field::OccurredAt,
                    "localDay" => Field::LocalDay,
                    "taskId" => Field::TaskId,
                    "userId" => Field::UserId,
                    "sequence" => Field::Sequence,
                    "data" => Field::Data,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

struct Timestamp;

impl<'de> DeserializeSeed<'de> for Timestamp {
    type Value = DateTime<Utc>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        rfc3339::deserialize(deserializer)
    }
}

/// `data`, decoded as the type read before it, or raw if no known type was.
struct Data<'t>(Option<&'t str>);

impl<'de> DeserializeSeed<'de> for Data<'_> {
    type Value = WireData<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match self.0.filter(|t| TaskEvent::TYPES.contains(t)) {
            Some(event_type) => TaskEvent::read_data(event_type, deserializer)
                .unwrap_or_else(|| Err(de::Error::custom("unknown eventType")))
                .map(WireData::Event),
            None => <&RawValue>::deserialize(deserializer).map(WireData::Raw),
        }
    }
}

fn once<'de, A: MapAccess<'de>, T>(
    slot: &mut Option<T>,
    name: &'static str,
    read: impl FnOnce(&mut A) -> Result<T, A::Error>,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(read(map)?);
    Ok(())
}

fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

struct OnePass;

impl<'de> Visitor<'de> for OnePass {
    type Value = ReadEnvelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event_id = None;
        let mut event_type: Option<&'de str> = None;
        let mut schema_version = None;
        let mut occurred_at = None;
        let mut local_day = None;
        let mut task_id = None;
        let mut user_id = None;
        let mut sequence = None;
        let mut data = None;
        while let Some(field) = map.next_key()? {
            let m = &mut map;
            match field {
                Field::EventId => once(&mut event_id, "eventId", |m| m.next_value(), m)?,
                Field::EventType => once(&mut event_type, "eventType", |m| m.next_value(), m)?,
                Field::SchemaVersion => {
                    once(&mut schema_version, "schemaVersion", |m| m.next_value(), m)?
                }
                Field::OccurredAt => once(
                    &mut occurred_at,
                    "occurredAt",
                    |m| m.next_value_seed(Timestamp),
                    m,
                )?,
                Field::LocalDay => once(&mut local_day, "localDay", |m| m.next_value(), m)?,
                Field::TaskId => once(&mut task_id, "taskId", |m| m.next_value(), m)?,
                Field::UserId => once(&mut user_id, "userId", |m| m.next_value(), m)?,
                Field::Sequence => once(&mut sequence, "sequence", |m| m.next_value(), m)?,
                Field::Data => once(
                    &mut data,
                    "data",
                    |m| m.next_value_seed(Data(event_type)),
                    m,
                )?,
                Field::Other => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ReadEnvelope {
            event_id: required(event_id, "eventId")?,
            event_type: Cow::Borrowed(required(event_type, "eventType")?),
            schema_version: required(schema_version, "schemaVersion")?,
            occurred_at: required(occurred_at, "occurredAt")?,
            // Optional: events written before time zones have none.
            local_day: local_day.flatten(),
            task_id: required(task_id, "taskId")?,
            user_id: required(user_id, "userId")?,
            sequence: required(sequence, "sequence")?,
            data: required(data, "data")?,
        })
    }
}
