//! The coordinator's commands, as an operator sends them with `aws lambda invoke`:
//!
//! ```json
//! {"action":"start","projection":"tasks-by-priority","from":"2026-01-01","to":"2026-12-31"}
//! {"action":"status"}
//! {"action":"verify"}
//! {"action":"activate","force":false}
//! {"action":"abandon"}
//! {"action":"retire"}
//! ```

use chrono::NaiveDate;
use serde::Deserialize;
use taskpulse_domain::analytics::Projection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Registers (or resumes) a build of `projection` and enqueues its pending partitions
    /// within `from..=to` (every partition when both are absent).
    Start {
        projection: Projection,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
    Status,
    Verify,
    Activate {
        force: bool,
    },
    Abandon,
    Retire,
}

/// The wire form. Unknown fields are refused: a misspelt `"froce": true` must not activate
/// quietly without the force it meant, nor a misspelt `"form"` rebuild every partition.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
enum Wire {
    Start {
        projection: String,
        #[serde(default)]
        from: Option<NaiveDate>,
        #[serde(default)]
        to: Option<NaiveDate>,
    },
    Status,
    Verify,
    Activate {
        #[serde(default)]
        force: bool,
    },
    Abandon,
    Retire,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a rebuild command: {0}")]
pub struct BadCommand(String);

impl Command {
    pub fn from_json(payload: serde_json::Value) -> Result<Self, BadCommand> {
        let wire: Wire = serde_json::from_value(payload).map_err(|e| BadCommand(e.to_string()))?;
        Ok(match wire {
            Wire::Start {
                projection,
                from,
                to,
            } => {
                let projection = Projection::from_name(&projection).ok_or_else(|| {
                    let known: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
                    BadCommand(format!(
                        "unknown projection {projection:?} (known: {})",
                        known.join(", ")
                    ))
                })?;
                if let (Some(from), Some(to)) = (from, to)
                    && from > to
                {
                    return Err(BadCommand(format!("from {from} is after to {to}")));
                }
                Self::Start {
                    projection,
                    from,
                    to,
                }
            }
            Wire::Status => Self::Status,
            Wire::Verify => Self::Verify,
            Wire::Activate { force } => Self::Activate { force },
            Wire::Abandon => Self::Abandon,
            Wire::Retire => Self::Retire,
        })
    }

    /// The action's name, as the command and its answer spell it.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Status => "status",
            Self::Verify => "verify",
            Self::Activate { .. } => "activate",
            Self::Abandon => "abandon",
            Self::Retire => "retire",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_documented_command_parses() {
        assert_eq!(
            Command::from_json(json!({"action":"start","projection":"tasks-by-priority",
                "from":"2026-01-01","to":"2026-12-31"})),
            Ok(Command::Start {
                projection: Projection::TasksByPriority,
                from: Some("2026-01-01".parse().unwrap()),
                to: Some("2026-12-31".parse().unwrap()),
            })
        );
        assert_eq!(
            Command::from_json(json!({"action":"start","projection":"tasks"})),
            Ok(Command::Start {
                projection: Projection::Tasks,
                from: None,
                to: None
            })
        );
        assert_eq!(
            Command::from_json(json!({"action":"activate"})),
            Ok(Command::Activate { force: false })
        );
        assert_eq!(
            Command::from_json(json!({"action":"activate","force":true})),
            Ok(Command::Activate { force: true })
        );
        for (payload, command) in [
            ("status", Command::Status),
            ("verify", Command::Verify),
            ("abandon", Command::Abandon),
            ("retire", Command::Retire),
        ] {
            let parsed = Command::from_json(json!({ "action": payload })).unwrap();
            assert_eq!(parsed, command);
            assert_eq!(parsed.action(), payload);
        }
    }

    #[test]
    fn misspelt_or_unknown_commands_are_refused() {
        for bad in [
            json!({"action":"activate","froce":true}),
            json!({"action":"start","projection":"tasks","form":"2026-01-01"}),
            json!({"action":"start","projection":"by-colour"}),
            json!({"action":"start"}),
            json!({"action":"start","projection":"tasks","from":"2026-02-01","to":"2026-01-01"}),
            json!({"action":"rebuild"}),
            json!({"projection":"tasks"}),
            json!("start"),
        ] {
            assert!(Command::from_json(bad.clone()).is_err(), "{bad}");
        }
    }
}
