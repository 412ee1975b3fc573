//! The event archive: every event the consumer counts, kept as JSON Lines (the envelope
//! without free text) in date partitions ([`key`]), so counters can be rebuilt and questions
//! asked that the counters were not built for.
//!
//! The consumer writes a batch's lines before it commits their counters: a crash in between
//! leaves a line that a retry writes again (readers deduplicate on `eventId`), never a counted
//! event without its line. One object per batch and UTC date: in practice one per batch, two
//! for a batch that spans midnight.

mod key;
mod rewrite;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use taskpulse_domain::{EventEnvelope, EventId};

pub use self::key::{ARCHIVE_ROOT, ArchiveKey};
pub use self::rewrite::rewrite_owner;
use crate::ports::{ReadArchive, StoreError, WriteArchive};

/// What archiving a batch came to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ArchiveOutcome {
    /// Events whose line is in the archive.
    pub archived: Vec<EventId>,
    /// Events whose object could not be written, with the reason: not to be counted now.
    pub failed: Vec<(EventId, String)>,
    pub objects: usize,
    pub bytes: usize,
}

/// The body of one archive object: a line per event, each ending in a line break.
pub fn archive_body<'a>(events: impl IntoIterator<Item = &'a EventEnvelope>) -> Vec<u8> {
    let mut body = String::new();
    for event in events {
        body.push_str(&event.to_archive_line());
        body.push('\n');
    }
    body.into_bytes()
}

/// Writes distinct events to the archive, one object per UTC date of `occurredAt`.
pub async fn archive_events<'a>(
    archive: &impl WriteArchive,
    events: impl IntoIterator<Item = &'a EventEnvelope>,
) -> ArchiveOutcome {
    let mut by_day: BTreeMap<NaiveDate, Vec<&EventEnvelope>> = BTreeMap::new();
    for event in events {
        by_day
            .entry(event.occurred_at.date_naive())
            .or_default()
            .push(event);
    }
    let mut outcome = ArchiveOutcome::default();
    for (day, events) in by_day {
        let body = archive_body(events.iter().copied());
        let size = body.len();
        let key = ArchiveKey::fresh(day);
        match archive.put_archive_object(&key, body).await {
            Ok(()) => {
                outcome.objects += 1;
                outcome.bytes += size;
                outcome.archived.extend(events.iter().map(|e| e.event_id));
            }
            Err(error) => {
                tracing::warn!(%key, %error, "archive write failed; its events will be retried");
                let reason = format!("archive write failed: {error}");
                outcome
                    .failed
                    .extend(events.iter().map(|e| (e.event_id, reason.clone())));
            }
        }
    }
    outcome
}

/// An archive object that cannot be read as events: skipped whole, never half-applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptObject {
    pub key: ArchiveKey,
    /// The first bad line (1-based), or 0 when the object is not text at all.
    pub line: usize,
    pub reason: String,
}

/// One date partition of the archive, read and deduplicated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PartitionRead {
    /// Each event once, in the order first read.
    pub events: Vec<EventEnvelope>,
    pub objects: usize,
    pub bytes: usize,
    /// Lines that repeat an event already read (a retried batch writes its lines again).
    pub repeated_lines: usize,
    pub corrupt: Vec<CorruptObject>,
}

fn parse_object(key: &ArchiveKey, bytes: &[u8]) -> Result<Vec<EventEnvelope>, CorruptObject> {
    let corrupt = |line: usize, reason: String| CorruptObject {
        key: key.clone(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| corrupt(0, format!("not UTF-8: {e}")))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            EventEnvelope::from_archive_line(line).map_err(|e| corrupt(i + 1, e.to_string()))
        })
        .collect()
}

/// Reads every object of `day`'s partition. A corrupt object is reported with its key and
/// skipped; a store failure fails the whole read (the caller retries it).
pub async fn read_partition(
    archive: &impl ReadArchive,
    day: NaiveDate,
) -> Result<PartitionRead, StoreError> {
    let mut read = PartitionRead::default();
    let mut seen: HashSet<EventId> = HashSet::new();
    for key in archive.archive_objects(day).await? {
        let bytes = archive.read_archive_object(&key).await?;
        read.objects += 1;
        read.bytes += bytes.len();
        match parse_object(&key, &bytes) {
            Ok(events) => {
                for event in events {
                    if seen.insert(event.event_id) {
                        read.events.push(event);
                    } else {
                        read.repeated_lines += 1;
                    }
                }
            }
            Err(corrupt) => {
                tracing::warn!(key = %corrupt.key, line = corrupt.line, reason = %corrupt.reason, "corrupt archive object skipped");
                read.corrupt.push(corrupt);
            }
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests;
