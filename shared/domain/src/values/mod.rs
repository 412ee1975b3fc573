//! Value types, parsed once at the edge ("parse, don't validate"): holding one proves it is valid.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

/// Why a raw value was rejected. The message is written for the API caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

mod text;

pub use text::{Description, Title};

/// Identifies a task. Chosen by the producer (UUID v7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Uuid);

impl TaskId {
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| ValueError(format!("'{raw}' is not a task id (a UUID)")))
    }
}

/// Reads a string value type from the text in place, with the same checks as its
/// `TryFrom<String>`: no intermediate `String` (the consumer reads several per event).
pub(crate) struct ReadStr<T>(fn(&str) -> Result<T, ValueError>);

impl<T> Visitor<'_> for ReadStr<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, raw: &str) -> Result<T, E> {
        (self.0)(raw).map_err(E::custom)
    }
}

/// The owner of a task: the `sub` claim of the caller's JWT. Shared, not copied: every counter
/// update and write plan of an event names its owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

impl UserId {
    /// JWT `sub` is at most 255 characters in the common identity providers (Cognito uses 36).
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        // The consumer reads an owner per event. An ASCII id (the identity providers' usual) is
        // checked byte by byte: its bytes are its characters, and its control characters are
        // the bytes below 0x20 and 0x7F. Any other id is checked character by character.
        let (count, forbidden) = if raw.is_ascii() {
            // Folded without an early exit, so the compiler checks many bytes at a time.
            let forbidden = raw
                .bytes()
                .fold(false, |bad, b| bad | (b < 0x20) | (b == 0x7f) | (b == b'#'));
            (raw.len(), forbidden)
        } else {
            let (mut count, mut forbidden) = (0, false);
            for c in raw.chars() {
                count += 1;
                forbidden |= c.is_control() || c == '#';
            }
            (count, forbidden)
        };
        if count == 0 {
            return Err(ValueError("user id must not be empty".into()));
        }
        if count > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "user id must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        // '#' separates key parts in the DynamoDB items; control characters have no place in ids.
        if forbidden {
            return Err(ValueError(
                "user id must not contain control characters or '#'".into(),
            ));
        }
        Ok(Self(Arc::from(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ReadStr(Self::parse))
    }
}

impl TryFrom<String> for UserId {
    type Error = ValueError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0.as_ref().to_owned()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl FromStr for Priority {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| {
                ValueError(format!(
                    "priority must be one of low, medium, high, critical (got '{raw}')"
                ))
            })
    }
}

/// Where a task is in its life. `Completed` and `Cancelled` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    New,
    InProgress,
    OnHold,
    Completed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        Self::New,
        Self::InProgress,
        Self::OnHold,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }
}

impl FromStr for TaskStatus {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ValueError(format!(
                    "status must be one of new, in_progress, on_hold, completed, cancelled (got '{raw}')"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(
            Title::parse("  write report \u{3000}").unwrap().as_str(),
            "write report"
        );
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse("\u{a0}\u{2003}").is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        let err = Title::parse(&"x".repeat(201)).unwrap_err();
        assert!(err.0.contains("at most 200"), "{err}");
        // The length is that of what was sent, before trimming.
        let padded = format!("{:^210}", "x".repeat(190));
        assert!(Title::parse(&padded).is_err());
    }

    #[test]
    fn titles_and_descriptions_refuse_control_characters_but_stored_ones_still_read() {
        for title in [
            "a\u{0}b",
            "line\nbreak",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let err = Title::parse(title).unwrap_err();
            assert!(err.0.contains("control"), "{title:?}: {err}");
            assert!(
                serde_json::from_value::<Title>(title.into()).is_ok(),
                "{title:?}"
            );
        }
        assert!(Description::parse("two\r\nlines\tand a tab").is_ok());
        for description in ["nul\u{0}", "bell\u{7}", "esc\u{1b}[0m"] {
            assert!(Description::parse(description).is_err(), "{description:?}");
            assert!(serde_json::from_value::<Description>(description.into()).is_ok());
        }
    }

    #[test]
    fn description_is_bounded_in_characters_not_bytes() {
        assert!(Description::parse(&"ü".repeat(2000)).is_ok());
        assert!(Description::parse(&"ü".repeat(2001)).is_err());
    }

    #[test]
    fn user_id_rejects_key_separator_and_empty() {
        assert!(UserId::parse("user-1").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a#b").is_err());
        assert!(UserId::parse(&"u".repeat(256)).is_err());
    }

    #[test]
    fn user_id_checks_ascii_and_other_ids_alike() {
        // Every ASCII byte, alone and inside an id: refused exactly where `char` says it is a
        // control character or it is the separator, as the character-by-character check does.
        for byte in 0u8..=0x7f {
            let c = char::from(byte);
            let refused = c.is_control() || c == '#';
            for raw in [c.to_string(), format!("user-{c}-1"), format!("ü{c}")] {
                assert_eq!(UserId::parse(&raw).is_err(), refused, "{raw:?}");
            }
        }
        // C1 control characters are refused; other non-ASCII characters count as one each.
        assert!(UserId::parse("user-\u{85}").is_err());
        assert!(UserId::parse(&"ü".repeat(255)).is_ok());
        assert!(UserId::parse(&"ü".repeat(256)).is_err());
        assert!(UserId::parse(&"u".repeat(255)).is_ok());
    }

    #[test]
    fn enums_round_trip_through_their_wire_names() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("urgent".parse::<Priority>().is_err());
    }

    #[test]
    fn serde_refuses_invalid_values() {
        assert!(serde_json::from_str::<Title>("\"  \"").is_err());
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
    }
}
