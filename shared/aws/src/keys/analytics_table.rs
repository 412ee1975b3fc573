//! The analytics table's attribute names and key formats (the layout is in `keys`).

use chrono::NaiveDate;
use taskpulse_domain::analytics::ProjectionVersion;
use taskpulse_domain::{EventId, UserId};

use super::{USER_PREFIX, day_sort_key};

/// The binary set of event ids (16 bytes each) applied to a user's day item: the first
/// `taskpulse_app::analytics::MAX_INLINE_MARKERS` of the day (items written before overflow
/// markers existed may hold more).
pub const APPLIED_EVENTS: &str = "appliedEvents";

const GLOBAL_PREFIX: &str = "GLOBAL#";
const CONFIG_PARTITION: &str = "PROJECTIONS";
const CONFIG_SORT_KEY: &str = "CONFIG";
const REBUILD_PREFIX: &str = "REBUILD#";
const PARTITION_PREFIX: &str = "PARTITION#";
const APPLIED_MARKER_PREFIX: &str = "APPLIED#";
const VERSION_PREFIX: &str = "V";

/// Attributes of the projection configuration item.
pub const ACTIVE_VERSION: &str = "activeVersion";
pub const ACTIVE_PROJECTION: &str = "activeProjection";
pub const BUILDING_VERSION: &str = "buildingVersion";
pub const BUILDING_PROJECTION: &str = "buildingProjection";
pub const BUILDING_SINCE: &str = "buildingSince";
pub const VERIFIED_AT: &str = "verifiedAt";
pub const VERIFIED_ITEMS: &str = "verifiedItems";
pub const VERIFIED_DIFFERENCES: &str = "verifiedDifferences";
pub const RETIRING_VERSION: &str = "retiringVersion";
pub const HIGHEST_VERSION: &str = "highestVersion";
/// Moves by one with every save; each save is conditional on the one before.
pub const REVISION: &str = "revision";

/// Attributes of a rebuild's partition item.
pub const PARTITION_EVENTS: &str = "events";
pub const PARTITION_APPLIED: &str = "applied";
pub const PARTITION_DUPLICATES: &str = "duplicates";
pub const PARTITION_REPEATED_LINES: &str = "repeatedLines";
pub const PARTITION_CORRUPT_OBJECTS: &str = "corruptObjects";

/// What the partition keys of a projection version's counter items start with.
pub fn version_prefix(version: ProjectionVersion) -> String {
    if version == ProjectionVersion::FIRST {
        String::new()
    } else {
        format!("V{version}#")
    }
}

/// The projection configuration item.
pub fn projection_config_key() -> (String, String) {
    (CONFIG_PARTITION.to_owned(), CONFIG_SORT_KEY.to_owned())
}

/// The partition of a rebuild's progress items for `version`.
pub fn rebuild_partition(version: ProjectionVersion) -> String {
    format!("{REBUILD_PREFIX}{version}")
}

pub fn rebuild_progress_key(version: ProjectionVersion, day: NaiveDate) -> (String, String) {
    (
        rebuild_partition(version),
        format!("{PARTITION_PREFIX}{}", day.format("%Y-%m-%d")),
    )
}

/// The day of a rebuild progress item's sort key.
pub fn parse_rebuild_progress_sort_key(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.strip_prefix(PARTITION_PREFIX)?, "%Y-%m-%d").ok()
}

/// Which counter item a partition key names: its version and scope (`None` for the user id's
/// text if the key is no counter item's).
pub fn parse_counter_partition(pk: &str) -> Option<(ProjectionVersion, CounterPartition<'_>)> {
    let (version, rest) = match pk.strip_prefix(VERSION_PREFIX) {
        Some(tail) => {
            let (number, rest) = tail.split_once('#')?;
            let version = ProjectionVersion::new(number.parse().ok()?)?;
            if version == ProjectionVersion::FIRST {
                // Version 1 is written without a prefix; `V1#` is no key of ours.
                return None;
            }
            (version, rest)
        }
        None => (ProjectionVersion::FIRST, pk),
    };
    if let Some(user) = rest.strip_prefix(USER_PREFIX) {
        return Some((version, CounterPartition::User(user)));
    }
    let shard = rest.strip_prefix(GLOBAL_PREFIX)?.parse().ok()?;
    Some((version, CounterPartition::Global(shard)))
}

/// The scope part of a counter item's partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterPartition<'a> {
    User(&'a str),
    Global(u32),
}

/// What the partitions of `version`'s user day items start with (a scan filters on it).
pub fn counter_user_prefix(version: ProjectionVersion) -> String {
    format!("{}{USER_PREFIX}", version_prefix(version))
}

/// What the partitions of `version`'s global day shards start with.
pub fn counter_global_prefix(version: ProjectionVersion) -> String {
    format!("{}{GLOBAL_PREFIX}", version_prefix(version))
}

/// The partition of one user's day items in `version`.
pub fn counter_user_partition(version: ProjectionVersion, user: &UserId) -> String {
    format!("{}{user}", counter_user_prefix(version))
}

/// The partition of one shard of everyone's day items in `version`.
pub fn global_partition(version: ProjectionVersion, shard: u32) -> String {
    format!("{}{shard}", counter_global_prefix(version))
}

pub fn user_day_key(version: ProjectionVersion, user: &UserId, day: NaiveDate) -> (String, String) {
    (counter_user_partition(version, user), day_sort_key(day))
}

pub fn global_day_key(version: ProjectionVersion, day: NaiveDate, shard: u32) -> (String, String) {
    (global_partition(version, shard), day_sort_key(day))
}

/// The overflow marker of `event`, applied to `user`'s `day` in `version`.
pub fn applied_marker_key(
    version: ProjectionVersion,
    user: &UserId,
    day: NaiveDate,
    event: EventId,
) -> (String, String) {
    (
        counter_user_partition(version, user),
        format!(
            "{APPLIED_MARKER_PREFIX}{}#{}",
            day.format("%Y-%m-%d"),
            event.as_uuid()
        ),
    )
}

/// What the sort keys of month items start with (`MONTH#2026-11`); the sealed mark of the
/// partition sorts after every month (`MONTH#SEALED`), so one `Query` reads both.
pub const MONTH_PREFIX: &str = "MONTH#";
const SEALED_MARK: &str = "MONTH#SEALED";
/// Attributes of a month item: the late writes it took, and whether it is sealed.
pub const MONTH_LATE_WRITES: &str = "lateWrites";
pub const MONTH_SEALED: &str = "sealed";
/// Attribute of the sealed mark: the last month sealed (`2026-11`).
pub const SEALED_THROUGH: &str = "through";

pub fn month_sort_key(month: NaiveDate) -> String {
    format!("{MONTH_PREFIX}{}", month.format("%Y-%m"))
}

/// The first day of the month a month item's sort key (or a sealed mark's `through`) names.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

pub fn parse_month_sort_key(raw: &str) -> Option<NaiveDate> {
    parse_month(raw.strip_prefix(MONTH_PREFIX)?)
}

pub fn sealed_mark_sort_key() -> &'static str {
    SEALED_MARK
}

/// `through`'s text: the month, as month sort keys name it.
pub fn month_text(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}
