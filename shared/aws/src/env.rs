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
pub const OUTBOX_GRACE_SECONDS: &str = "OUTBOX_GRACE_SECONDS";

/// The relay leaves events younger than this to the API call that committed them.
pub const DEFAULT_OUTBOX_GRACE_SECONDS: i64 = 30;

/// The relay's grace period from `OUTBOX_GRACE_SECONDS` (default 30 s, at most a day).
pub fn outbox_grace() -> Result<TimeDelta, ConfigError> {
    let raw = std::env::var(OUTBOX_GRACE_SECONDS).ok();
    let seconds = bounded_integer(
        OUTBOX_GRACE_SECONDS,
        raw.as_deref(),
        DEFAULT_OUTBOX_GRACE_SECONDS,
        0..=86_400,
    )?;
    Ok(TimeDelta::seconds(seconds))
}

/// An integer setting: the default when absent, an error when unparseable or out of range.
fn bounded_integer(
    name: &'static str,
    raw: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let value = match raw {
        None => default,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })?,
    };
    if !range.contains(&value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{value} is outside {}..={}", range.start(), range.end()),
        });
    }
    Ok(value)
}

/// How long a dedupe marker must outlive its event: SQS keeps a message at most 14 days,
/// the DLQ another 14, and operators get a week to redrive. A marker that expired before
/// its last possible delivery would let that delivery count twice.
pub const DEFAULT_DEDUPE_MARKER_TTL_DAYS: i64 = 35;

/// The dedupe marker lifetime from `DEDUPE_MARKER_TTL_DAYS` (default 35 days).
pub fn dedupe_marker_ttl() -> Result<TimeDelta, ConfigError> {
    parse_dedupe_marker_ttl(std::env::var(DEDUPE_MARKER_TTL_DAYS).ok().as_deref())
}

fn parse_dedupe_marker_ttl(raw: Option<&str>) -> Result<TimeDelta, ConfigError> {
    let days = bounded_integer(
        DEDUPE_MARKER_TTL_DAYS,
        raw,
        DEFAULT_DEDUPE_MARKER_TTL_DAYS,
        1..=3650,
    )?;
    Ok(TimeDelta::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_ttl_defaults_parses_and_refuses_nonsense() {
        assert_eq!(parse_dedupe_marker_ttl(None).unwrap(), TimeDelta::days(35));
        assert_eq!(
            parse_dedupe_marker_ttl(Some(" 60 ")).unwrap(),
            TimeDelta::days(60)
        );
        for bad in ["0", "-1", "3651", "soon", ""] {
            let error = parse_dedupe_marker_ttl(Some(bad)).unwrap_err().to_string();
            assert!(error.contains(DEDUPE_MARKER_TTL_DAYS), "{bad}: {error}");
        }
    }
}
