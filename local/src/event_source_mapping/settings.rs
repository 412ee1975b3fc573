//! How the event source mapping polls and invokes, and the delivery chaos it can add.

use std::time::Duration;

/// How the mapping polls and invokes; the defaults come from `template.yaml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingSettings {
    pub batch_size: usize,
    #[serde(serialize_with = "as_millis")]
    pub batching_window: Duration,
    /// Concurrent pollers, each invoking the consumer with its own batches.
    pub concurrency: usize,
    #[serde(serialize_with = "as_millis")]
    pub visibility_timeout: Duration,
    #[serde(serialize_with = "as_millis")]
    pub function_timeout: Duration,
    /// Long-poll wait of one receive. Zero for emulators that serve one request at a time,
    /// which a waiting receive would block.
    #[serde(serialize_with = "as_millis")]
    pub receive_wait: Duration,
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}

/// What the mapping does to deliveries on purpose, to prove the counters stay exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryChaos {
    /// Share (0 to 0.9) of processed messages released instead of deleted after their first
    /// receive: delivered again.
    #[serde(default)]
    pub duplicate_rate: f64,
    /// Shuffles the records of every batch before the consumer sees them.
    #[serde(default)]
    pub reorder: bool,
}

impl DeliveryChaos {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=0.9).contains(&self.duplicate_rate) {
            return Err("duplicateRate must be between 0 and 0.9".into());
        }
        Ok(())
    }
}
