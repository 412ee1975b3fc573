//! The task's free text: its title and description, each checked once where it enters.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ReadStr, ValueError};

/// A task title: at most 200 characters as sent, no control characters, at least one that is
/// not white space; kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    /// A title as a client sends it.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.chars().any(char::is_control) {
            return Err(ValueError(
                "title must not contain control characters".into(),
            ));
        }
        let count = raw.chars().count();
        if count > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "title must be at most {} characters (got {count})",
                Self::MAX_CHARS
            )));
        }
        Self::read(raw)
    }

    /// A title as stored in a task or an event. Titles taken before control characters were
    /// refused, or with white space around them, must still be read: an event already on the
    /// queue is never refused for them.
    fn read(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if count == 0 {
            return Err(ValueError("title must not be empty".into()));
        }
        if count > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "title must be at most {} characters (got {count})",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Title {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Title {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ReadStr(Self::read))
    }
}

impl TryFrom<String> for Title {
    type Error = ValueError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::read(&raw)
    }
}

impl From<Title> for String {
    fn from(title: Title) -> Self {
        title.0
    }
}

/// A free-text description: at most 2000 characters; line breaks and tabs are its only
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 2000;

    /// A description as a client sends it.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ValueError(
                "description must not contain control characters other than tab and line breaks"
                    .into(),
            ));
        }
        Self::read(raw)
    }

    /// A description as stored: see [`Title::read`].
    fn read(raw: &str) -> Result<Self, ValueError> {
        let count = raw.chars().count();
        if count > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "description must be at most {} characters (got {count})",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Description {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Description {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ReadStr(Self::read))
    }
}

impl TryFrom<String> for Description {
    type Error = ValueError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::read(&raw)
    }
}

impl From<Description> for String {
    fn from(description: Description) -> Self {
        description.0
    }
}
