//! Messages the consumer must refuse. Each is made from a valid event and differs from it in
//! one way only, so a test that sees it refused knows which check refused it.

use serde_json::{Value, json};
use taskpulse_domain::EventEnvelope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poison {
    NotJson,
    MissingField,
    UnknownType,
    NewerSchema,
    InvalidData,
}

impl Poison {
    pub const ALL: [Poison; 5] = [
        Poison::NotJson,
        Poison::MissingField,
        Poison::UnknownType,
        Poison::NewerSchema,
        Poison::InvalidData,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Poison::NotJson => "not json",
            Poison::MissingField => "missing field",
            Poison::UnknownType => "unknown type",
            Poison::NewerSchema => "newer schema",
            Poison::InvalidData => "invalid data",
        }
    }

    /// The body of `valid` spoilt this way.
    pub fn body(self, valid: &EventEnvelope) -> String {
        let mut json: Value = serde_json::from_str(&valid.to_json()).unwrap();
        match self {
            Poison::NotJson => return "{\"eventId\": tru".to_owned(),
            Poison::MissingField => {
                json.as_object_mut().unwrap().remove("taskId");
            }
            Poison::UnknownType => json["eventType"] = json!("TaskArchived"),
            Poison::NewerSchema => json["schemaVersion"] = json!(99),
            Poison::InvalidData => json["data"]["priority"] = json!("urgent"),
        }
        json.to_string()
    }

    /// One body of each kind, with its name.
    pub fn every_kind(valid: &EventEnvelope) -> Vec<(&'static str, String)> {
        Self::ALL
            .iter()
            .map(|poison| (poison.name(), poison.body(valid)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HistoryShape;

    #[test]
    fn every_kind_is_refused_by_the_envelope_parser_and_the_valid_event_is_not() {
        let valid = &HistoryShape::every_counter().generate().events[0];
        assert!(EventEnvelope::from_json(&valid.to_json()).is_ok());
        let bodies = Poison::every_kind(valid);
        assert_eq!(bodies.len(), Poison::ALL.len());
        for (kind, body) in bodies {
            assert!(EventEnvelope::from_json(&body).is_err(), "{kind}: {body}");
        }
    }
}
