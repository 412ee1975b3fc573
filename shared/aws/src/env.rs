//! Configuration from the environment, as `template.yaml` sets it for each function.

use chrono::TimeDelta;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

pub const TASKS_TABLE: &str = "TASKS_TABLE";
pub const ANALYTICS_TABLE: &str = "ANALYTICS_TABLE";
pub const EVENTS_QUEUE_URL: &str = "EVENTS_QUEUE_URL";
pub const DEDUPE_MARKER_TTL_DAYS: &str = "DEDUPE_MARKER_TTL_DAYS";

/// How long a dedupe marker must outlive its event: SQS keeps a message at most 14 days,
/// the DLQ another 14, and operators get a week to redrive. A marker that expired before
/// its last possible delivery would let that delivery count twice.
pub const DEFAULT_DEDUPE_MARKER_TTL_DAYS: i64 = 35;

/// The dedupe marker lifetime from `DEDUPE_MARKER_TTL_DAYS` (default 35 days).
pub fn dedupe_marker_ttl() -> Result<TimeDelta, ConfigError> {
    let name = DEDUPE_MARKER_TTL_DAYS;
    let days = match std::env::var(name) {
        Err(_) => DEFAULT_DEDUPE_MARKER_TTL_DAYS,
        Ok(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })?,
    };
    if !(1..=3650).contains(&days) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{days} is outside 1..=3650 days"),
        });
    }
    Ok(TimeDelta::days(days))
}
