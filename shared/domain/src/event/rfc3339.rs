//! RFC 3339 timestamps, parsed strictly and fast: this runs several times per consumed event.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserializer;
use serde::de::{Error, Visitor};

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    // Borrowed or not (escapes force a copy), the text is parsed in place.
    fn visit_str<E: Error>(self, raw: &str) -> Result<Self::Value, E> {
        DateTime::parse_from_rfc3339(raw)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| E::custom(format!("'{raw}' is not an RFC 3339 timestamp: {e}")))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

/// An optional timestamp: absent (the field is `#[serde(default)]`) or `null` is `None`.
pub fn deserialize_optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct Optional;

    impl<'de> Visitor<'de> for Optional {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp or null")
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            deserialize(inner).map(Some)
        }
    }

    deserializer.deserialize_option(Optional)
}
