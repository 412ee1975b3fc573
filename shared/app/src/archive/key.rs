//! The archive's object layout, shared by every adapter (S3, a local directory, memory):
//! `events/date=YYYY-MM-DD/<object id>.jsonl`, Hive-style partitions by the UTC date of the
//! events' `occurredAt`, so Athena (with partition projection) and DuckDB read it as a table.
//! The object id is a UUID v7: keys of one partition sort by write time and never collide.

use std::fmt;

use chrono::NaiveDate;
use uuid::Uuid;

/// The folder (S3 prefix) every archive object is under.
pub const ARCHIVE_ROOT: &str = "events/";
const PARTITION_PREFIX: &str = "date=";
const OBJECT_SUFFIX: &str = ".jsonl";

/// The key of one archive object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveKey {
    day: NaiveDate,
    raw: String,
}

impl ArchiveKey {
    pub fn new(day: NaiveDate, object_id: Uuid) -> Self {
        Self {
            day,
            raw: format!(
                "{}{}{OBJECT_SUFFIX}",
                Self::partition_prefix(day),
                object_id
            ),
        }
    }

    /// A fresh key in `day`'s partition.
    pub fn fresh(day: NaiveDate) -> Self {
        Self::new(day, Uuid::now_v7())
    }

    /// The prefix of `day`'s partition: `events/date=YYYY-MM-DD/`.
    pub fn partition_prefix(day: NaiveDate) -> String {
        format!(
            "{ARCHIVE_ROOT}{PARTITION_PREFIX}{}/",
            day.format("%Y-%m-%d")
        )
    }

    /// The day of a partition folder name (`date=YYYY-MM-DD`, with or without the root and
    /// the trailing slash).
    pub fn parse_partition(raw: &str) -> Option<NaiveDate> {
        let name = raw.strip_prefix(ARCHIVE_ROOT).unwrap_or(raw);
        let name = name.strip_suffix('/').unwrap_or(name);
        NaiveDate::parse_from_str(name.strip_prefix(PARTITION_PREFIX)?, "%Y-%m-%d").ok()
    }

    /// A key as listed by a store; `None` for anything that is not an archive object (a
    /// stray file, a folder marker).
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(ARCHIVE_ROOT)?;
        let (partition, name) = rest.split_once('/')?;
        let day = Self::parse_partition(partition)?;
        let stem = name.strip_suffix(OBJECT_SUFFIX)?;
        if stem.is_empty() || stem.contains('/') {
            return None;
        }
        Some(Self {
            day,
            raw: raw.to_owned(),
        })
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for ArchiveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hive_partitioned_by_day_and_parse_back() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let key = ArchiveKey::new(day, Uuid::from_u128(1));
        assert_eq!(
            key.as_str(),
            "events/date=2026-12-02/00000000-0000-0000-0000-000000000001.jsonl"
        );
        assert_eq!(ArchiveKey::parse(key.as_str()), Some(key.clone()));
        assert!(key.as_str().starts_with(&ArchiveKey::partition_prefix(day)));
        assert_eq!(
            ArchiveKey::parse_partition("events/date=2026-12-02/"),
            Some(day)
        );
        assert_eq!(ArchiveKey::parse_partition("date=2026-12-02"), Some(day));
        for stray in [
            "events/date=2026-12-02/",
            "events/date=2026-12-02/notes.txt",
            "events/date=2026-13-02/x.jsonl",
            "other/date=2026-12-02/x.jsonl",
            "events/date=2026-12-02/a/b.jsonl",
        ] {
            assert_eq!(ArchiveKey::parse(stray), None, "{stray}");
        }
    }

    #[test]
    fn fresh_keys_of_a_partition_sort_by_write_order() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let keys: Vec<ArchiveKey> = (0..50).map(|_| ArchiveKey::fresh(day)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
