//! Configuration from the environment, as `template.yaml` sets it for each function.

use chrono::TimeDelta;
use taskpulse_app::analytics::plan::DEFAULT_GLOBAL_SHARDS;

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
pub const GLOBAL_COUNTER_SHARDS: &str = "GLOBAL_COUNTER_SHARDS";
pub const OUTBOX_GRACE_SECONDS: &str = "OUTBOX_GRACE_SECONDS";
/// The queue the API schedules its outbox checks on (`taskpulse_app::relay::OutboxCheck`).
pub const OUTBOX_CHECK_QUEUE_URL: &str = "OUTBOX_CHECK_QUEUE_URL";
/// The event archive's bucket (the consumer writes it, a rebuild reads it).
pub const ARCHIVE_BUCKET: &str = "ARCHIVE_BUCKET";
/// The queue of a rebuild's work items (one per archive partition).
pub const REBUILD_QUEUE_URL: &str = "REBUILD_QUEUE_URL";
/// The queue of erasure work: the API hands requests to the eraser on it, and the eraser
/// continues its own work there.
pub const ERASURE_QUEUE_URL: &str = "ERASURE_QUEUE_URL";
/// How long an erasure settles before its first deletion, in seconds
/// (`taskpulse_app::erasure::settle_time`).
pub const ERASURE_SETTLE_SECONDS: &str = "ERASURE_SETTLE_SECONDS";
/// The origins whose browser pages may call the API (comma-separated; unset or empty: none).
pub const CORS_ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
/// An AWS-compatible endpoint (moto) for every SDK client, set by `sam local` through its
/// `--env-vars` file; empty on AWS. Not `AWS_ENDPOINT_URL` itself: SAM passes a function only
/// the variables the template declares, and the SDK cannot take an empty `AWS_ENDPOINT_URL`
/// (it panics: "URL was unset"), so the template cannot declare that one with no value.
pub const LOCAL_AWS_ENDPOINT_URL: &str = "LOCAL_AWS_ENDPOINT_URL";

/// Set to `true` by SAM CLI in every container it runs a function in (`sam local`); never set by
/// Lambda.
pub const AWS_SAM_LOCAL: &str = "AWS_SAM_LOCAL";

/// Whether SAM CLI runs this function (`sam local invoke`, `start-api`, `start-lambda`).
pub fn under_sam_local() -> bool {
    std::env::var(AWS_SAM_LOCAL).is_ok_and(|value| value == "true")
}

/// The text of an optional setting; empty when unset.
pub fn optional(name: &'static str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// A setting that failed its own parser.
pub fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

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

/// An erasure's settle time from `ERASURE_SETTLE_SECONDS` (at most a day), `default` when
/// unset.
pub fn erasure_settle(default: TimeDelta) -> Result<TimeDelta, ConfigError> {
    let raw = std::env::var(ERASURE_SETTLE_SECONDS).ok();
    let seconds = bounded_integer(
        ERASURE_SETTLE_SECONDS,
        raw.as_deref(),
        default.num_seconds(),
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

/// The shard count of global day counters from `GLOBAL_COUNTER_SHARDS` (default
/// [`DEFAULT_GLOBAL_SHARDS`], 10; see there why they are sharded).
pub fn global_counter_shards() -> Result<u32, ConfigError> {
    parse_global_counter_shards(std::env::var(GLOBAL_COUNTER_SHARDS).ok().as_deref())
}

fn parse_global_counter_shards(raw: Option<&str>) -> Result<u32, ConfigError> {
    let shards = bounded_integer(
        GLOBAL_COUNTER_SHARDS,
        raw,
        i64::from(DEFAULT_GLOBAL_SHARDS),
        1..=1000,
    )?;
    Ok(u32::try_from(shards).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_count_defaults_parses_and_refuses_nonsense() {
        assert_eq!(parse_global_counter_shards(None).unwrap(), 10);
        assert_eq!(parse_global_counter_shards(Some(" 32 ")).unwrap(), 32);
        for bad in ["0", "-1", "1001", "many", ""] {
            let error = parse_global_counter_shards(Some(bad))
                .unwrap_err()
                .to_string();
            assert!(error.contains(GLOBAL_COUNTER_SHARDS), "{bad}: {error}");
        }
    }
}
