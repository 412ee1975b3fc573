//! The rebuild functions' settings, from the environment `template.yaml` sets for them.

use std::time::Duration;

use taskpulse_app::MAX_WORK_DELAY;
use taskpulse_app::projections::PROJECTION_CONFIG_TTL;
use taskpulse_app::rebuild::settle_time;

/// The consumer function's timeout, in seconds: the longest a batch that began before a
/// registration can go on writing only the old versions.
pub const CONSUMER_TIMEOUT_SECONDS: &str = "CONSUMER_TIMEOUT_SECONDS";
/// Counter item writes per second for the whole rebuild (all workers together, and a retire).
pub const REBUILD_WRITE_RATE: &str = "REBUILD_WRITE_RATE";
/// The worker's maximum concurrency (the event source mapping's `MaximumConcurrency`).
pub const REBUILD_WORKER_CONCURRENCY: &str = "REBUILD_WORKER_CONCURRENCY";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct SettingError {
    pub name: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoordinatorSettings {
    pub consumer_timeout: Duration,
    /// Item writes per second of a retire.
    pub write_rate: f64,
}

impl CoordinatorSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        // A longer consumer timeout would make the settle time exceed the longest delay the
        // queue can give, and a worker could read the archive before every consumer writes
        // the new version.
        let longest = (MAX_WORK_DELAY - PROJECTION_CONFIG_TTL).as_secs();
        let seconds = number(&lookup, CONSUMER_TIMEOUT_SECONDS, 1.0, longest as f64)?;
        Ok(Self {
            consumer_timeout: Duration::from_secs(seconds as u64),
            write_rate: number(&lookup, REBUILD_WRITE_RATE, 1.0, 1e6)?,
        })
    }

    /// How long after a version's registration its partitions may be read.
    pub fn settle(&self) -> Duration {
        settle_time(self.consumer_timeout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerSettings {
    /// Item writes per second of one worker: the rebuild's rate shared by every worker that
    /// may run at once.
    pub write_rate: f64,
}

impl WorkerSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let rate = number(&lookup, REBUILD_WRITE_RATE, 1.0, 1e6)?;
        let workers = number(&lookup, REBUILD_WORKER_CONCURRENCY, 1.0, 1000.0)?;
        Ok(Self {
            write_rate: rate / workers.floor(),
        })
    }
}

fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    min: f64,
    max: f64,
) -> Result<f64, SettingError> {
    let error = |reason: String| SettingError { name, reason };
    let raw = lookup(name).ok_or_else(|| error("is not set".into()))?;
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|e| error(format!("{raw:?}: {e}")))?;
    if !(min..=max).contains(&value) {
        return Err(error(format!("{value} is outside {min}..={max}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_worker_pace_is_the_rebuild_rate_shared_by_every_worker() {
        let settings = WorkerSettings::from_lookup(env(&[
            (REBUILD_WRITE_RATE, "1000"),
            (REBUILD_WORKER_CONCURRENCY, "4"),
        ]))
        .unwrap();
        assert_eq!(settings.write_rate, 250.0);
        let missing = WorkerSettings::from_lookup(env(&[(REBUILD_WRITE_RATE, "1000")]));
        assert_eq!(missing.unwrap_err().name, REBUILD_WORKER_CONCURRENCY);
    }

    #[test]
    fn the_settle_time_covers_the_consumer_timeout_and_fits_the_queue_delay() {
        let settings = CoordinatorSettings::from_lookup(env(&[
            (CONSUMER_TIMEOUT_SECONDS, "30"),
            (REBUILD_WRITE_RATE, "500"),
        ]))
        .unwrap();
        assert_eq!(
            settings.settle(),
            PROJECTION_CONFIG_TTL + Duration::from_secs(30)
        );
        for bad in ["900", "0", "soon"] {
            let refused = CoordinatorSettings::from_lookup(env(&[
                (CONSUMER_TIMEOUT_SECONDS, bad),
                (REBUILD_WRITE_RATE, "500"),
            ]));
            assert_eq!(refused.unwrap_err().name, CONSUMER_TIMEOUT_SECONDS, "{bad}");
        }
    }
}
