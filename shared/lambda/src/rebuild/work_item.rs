//! One message on the rebuild queue: a date partition of the archive to backfill into a
//! version, as JSON `{"version":2,"day":"2026-12-01"}`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taskpulse_domain::analytics::ProjectionVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionWork {
    pub version: ProjectionVersion,
    pub day: NaiveDate,
}

/// The wire form; unknown fields are refused, so a message meant for another format fails
/// loudly (and ends in the dead-letter queue) instead of being half understood.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u32,
    day: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a rebuild work item: {0}")]
pub struct BadWorkItem(String);

impl PartitionWork {
    pub fn to_body(&self) -> String {
        let wire = Wire {
            version: self.version.number(),
            day: self.day,
        };
        serde_json::to_string(&wire).unwrap_or_else(|_| unreachable!("two plain fields"))
    }

    pub fn from_body(body: &str) -> Result<Self, BadWorkItem> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| BadWorkItem(e.to_string()))?;
        let version = ProjectionVersion::new(wire.version)
            .ok_or_else(|| BadWorkItem(format!("version {} does not exist", wire.version)))?;
        Ok(Self {
            version,
            day: wire.day,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_item_reads_back_what_was_written_and_refuses_anything_else() {
        let item = PartitionWork {
            version: ProjectionVersion::new(2).unwrap(),
            day: "2026-12-01".parse().unwrap(),
        };
        assert_eq!(item.to_body(), r#"{"version":2,"day":"2026-12-01"}"#);
        assert_eq!(PartitionWork::from_body(&item.to_body()), Ok(item));
        for bad in [
            "not json",
            r#"{"version":2}"#,
            r#"{"version":0,"day":"2026-12-01"}"#,
            r#"{"version":2,"day":"2026-13-01"}"#,
            r#"{"version":2,"day":"2026-12-01","extra":1}"#,
        ] {
            assert!(PartitionWork::from_body(bad).is_err(), "{bad}");
        }
    }
}
