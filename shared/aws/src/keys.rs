//! The key layout of the DynamoDB items. Both tables use a string partition key `pk` and a
//! string sort key `sk`, so new item kinds fit without a table change.
//!
//! | table | item | pk | sk |
//! |---|---|---|---|
//! | tasks | a task | `TASK#<taskId>` | `TASK` |
//! | tasks | an idempotency record | `IDEMPOTENCY#<userId>` | `KEY#<key>` |
//! | tasks | an idempotency record written before the layout above (read, never written) | `IDEMPOTENCY#<userId>#<key>` | `IDEMPOTENCY` |
//! | tasks | a user's erasure (no user id in it) | `ERASURE#<hex SHA-256 of the userId>` | `ERASURE` |
//! | tasks | an archive day the erasure has rewritten | `ERASURE#<hex SHA-256 of the userId>` | `ARCHIVE_DAY#<pseudonym>#<yyyy-mm-dd>` |
//! | tasks | a user's settings (the time zone) | `USER#<userId>` | `SETTINGS` |
//! | analytics | one user's counters for a day (UTC, or the user's local day in a `tasks-v2` version), and the first 32 events applied to them (`appliedEvents`) | `<v>USER#<userId>` | `DAY#<yyyy-mm-dd>` |
//! | analytics | an event applied to a user's day past the first 32 (an overflow marker: keys only) | `<v>USER#<userId>` | `APPLIED#<yyyy-mm-dd>#<eventId>` |
//! | analytics | one shard of everyone's counters for a UTC day | `<v>GLOBAL#<shard>` | `DAY#<yyyy-mm-dd>` |
//!
//! | analytics | the projection configuration | `PROJECTIONS` | `CONFIG` |
//! | analytics | an archive partition a rebuild applied to its version | `REBUILD#<version>` | `PARTITION#<yyyy-mm-dd>` |
//!
//! `<v>` is the projection version's prefix: empty for version 1 (the keys every deployment
//! started with, so no migration is needed), `V<n>#` for version `n` ≥ 2.
//!
//! Overflow markers share the user's partition, so a version's deletion finds them with its
//! day items, and sort before `DAY#`, so a read of a range of days never reads them.
//!
//! A task item also carries the keys of its index entries: `gsi1pk` = `USER#<userId>` and
//! `gsi1sk` = `<createdAt>#<taskId>` (`byUser`); while events are pending, `outboxPk` =
//! `OUTBOX#<shard>` and `outboxSk` = `<committedAt of the oldest>` (`outbox`; items written
//! before end it with `#<taskId>`). Its pending events (`pendingEvents`, a list) are stored
//! detached from the task, each a map of `id`, `type`, `at`, `ld` (the local
//! day, as days after the UTC date of `at`; absent: 0), `seq`, `v` (absent: 1) and `data`
//! (`taskpulse_domain::DetachedEvent`); an entry written before, or one whose envelope would not
//! come back byte for byte, holds `eventId`, `eventType`, `committedAt` and the whole envelope
//! in `body`. Both forms are read.
//!
//! A user's idempotency records share one partition, so an erasure finds them with a `Query`.
//! Records written before that layout (one partition per record) live on until their TTL
//! (`expiresAt`, 24 h): a read that finds no record under the key looks under the earlier key,
//! so a retry across the upgrade still replays.
//!
//! An erasure record is keyed by a digest of the user id: it holds no user id, and the id
//! finds it.
//!
//! A change's idempotency record keeps its answer (`task`) without the task's text
//! (`TASK_TEXT`), which a replay reads from the task item; a create's keeps it whole, with the
//! id of its `TaskCreated` (`createdEvent`), since it is written before its task. Records
//! written before hold the text, and are read as they are.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use taskpulse_domain::analytics::ProjectionVersion;
use taskpulse_domain::{EventId, TaskId, UserId};

/// A user's IANA time zone, on the user's settings item.
pub const SETTINGS_TIME_ZONE: &str = "timeZone";
/// The partition key of both tables.
pub const PK: &str = "pk";
/// The sort key of both tables.
pub const SK: &str = "sk";
/// A task's version: every write of an existing task is conditional on it.
pub const VERSION: &str = "version";
/// A task's status, derived from its history and stored so that listings can filter on it.
pub const CURRENT_STATUS: &str = "currentStatus";
/// The owner's local day of the planned date when it was set (`Task::planned_local_day`), as
/// days after the planned date's UTC date: -1 or 1, absent for 0. Not projected into
/// `byUser`: listings do not show it, and a command reads the task item itself.
pub const PLANNED_LOCAL_DAY: &str = "pld";
/// A task's outbox: the events committed with it and not yet confirmed on the queue.
pub const PENDING_EVENTS: &str = "pendingEvents";
/// The attributes of one pending event written detached (`taskpulse_domain::DetachedEvent`):
/// its id, type, commit time (its `occurredAt`), sequence, schema version (absent: 1) and data
/// without what the task holds. Short, because they are billed on every write of the task while
/// the event waits. Entries written before carry `eventId`, `eventType`, `committedAt` and the
/// whole envelope in `body` (`PENDING_BODY`); both forms are read.
pub const PENDING_EVENT_ID: &str = "id";
pub const PENDING_EVENT_TYPE: &str = "type";
pub const PENDING_COMMITTED_AT: &str = "at";
pub const PENDING_SEQUENCE: &str = "seq";
/// The owner's local day, as days after the UTC date of `at`: -1 or 1, absent for 0.
pub const PENDING_LOCAL_DAY: &str = "ld";
pub const PENDING_SCHEMA_VERSION: &str = "v";
pub const PENDING_DATA: &str = "data";
/// The whole envelope of a pending event written before events were stored detached.
pub const PENDING_BODY: &str = "body";
/// The free text of a task: attributes of the task item that no command changes.
pub const TASK_TEXT: [&str; 2] = ["title", "description"];
/// The answer an idempotency record keeps: the task as the command left it, a change's written
/// without its `TASK_TEXT` (the task item holds it).
pub const IDEMPOTENCY_ANSWER: &str = "task";
/// The TTL attribute of the tasks table (declared in `template.yaml`): set on idempotency
/// records only.
pub const EXPIRES_AT: &str = "expiresAt";
/// Attributes of an erasure record (`taskpulse_domain::erasure::Erasure`): the pseudonym, the
/// request and last-save times (RFC 3339, to the nanosecond), the step
/// (`ErasureStep::as_str`) and the counts of what each step did.
pub const ERASURE_PSEUDONYM: &str = "pseudonym";
pub const ERASURE_REQUESTED_AT: &str = "requestedAt";
pub const ERASURE_UPDATED_AT: &str = "updatedAt";
pub const ERASURE_STEP: &str = "step";
pub const ERASURE_TASKS_DELETED: &str = "tasksDeleted";
pub const ERASURE_PENDING_EVENTS_PUBLISHED: &str = "pendingEventsPublished";
pub const ERASURE_IDEMPOTENCY_RECORDS_DELETED: &str = "idempotencyRecordsDeleted";
pub const ERASURE_COUNTER_ITEMS_MOVED: &str = "counterItemsMoved";
pub const ERASURE_ARCHIVE_OBJECTS_REWRITTEN: &str = "archiveObjectsRewritten";
pub const ERASURE_ARCHIVE_DAYS_REWRITTEN: &str = "archiveDaysRewritten";
/// Present (true) while a fan-out's pages hand out each counter day's neighbours too.
pub const ERASURE_ARCHIVE_NEIGHBOURS: &str = "archiveNeighbours";
/// The last archive day handed out (`yyyy-mm-dd`); absent before the first.
pub const ERASURE_ARCHIVE_CURSOR: &str = "archiveCursor";
/// The archive days handed out in the fan-out's current round.
pub const ERASURE_ARCHIVE_DAYS: &str = "archiveDays";
/// The binary set of event ids (16 bytes each) applied to a user's day item: the first
/// `taskpulse_app::analytics::MAX_INLINE_MARKERS` of the day (items written before overflow
/// markers existed may hold more).
pub const APPLIED_EVENTS: &str = "appliedEvents";

/// The index listing a user's tasks (`gsi1pk` = `USER#<userId>`, `gsi1sk` = creation time and id).
pub const TASKS_BY_USER_INDEX: &str = "byUser";
/// The partition key of the `byUser` index.
pub const TASKS_BY_USER_PK: &str = "gsi1pk";
/// The sort key of the `byUser` index.
pub const TASKS_BY_USER_SK: &str = "gsi1sk";
/// The attributes the `byUser` index projects besides the keys (`template.yaml`): the task's
/// own, so that clearing an outbox changes nothing in the index.
pub const TASKS_BY_USER_PROJECTION: &[&str] = &[
    "id",
    "owner",
    "title",
    "description",
    "priority",
    "statusHistory",
    "plannedAccomplishDate",
    "actualAccomplishDate",
    "createdAt",
    VERSION,
    CURRENT_STATUS,
];

/// The sparse index of tasks with pending events (`outboxPk` = `OUTBOX#<shard>`,
/// `outboxSk` = commit time of the oldest pending event).
pub const OUTBOX_INDEX: &str = "outbox";
/// The partition key of the `outbox` index; present only while events are pending.
pub const OUTBOX_PK: &str = "outboxPk";
/// The sort key of the `outbox` index; present only while events are pending.
pub const OUTBOX_SK: &str = "outboxSk";
/// The outbox index is spread over this many partitions so that a burst of commands does not
/// concentrate its index writes on one partition; the relay reads them all.
pub const OUTBOX_SHARDS: u32 = 8;

const TASK_PREFIX: &str = "TASK#";
const TASK_SORT_KEY: &str = "TASK";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
const IDEMPOTENCY_KEY_PREFIX: &str = "KEY#";
const LEGACY_IDEMPOTENCY_SORT_KEY: &str = "IDEMPOTENCY";
const ERASURE_PREFIX: &str = "ERASURE#";
const ERASURE_SORT_KEY: &str = "ERASURE";
const ARCHIVE_DAY_PREFIX: &str = "ARCHIVE_DAY#";
const USER_PREFIX: &str = "USER#";
const SETTINGS_SORT_KEY: &str = "SETTINGS";
const GLOBAL_PREFIX: &str = "GLOBAL#";
const OUTBOX_PREFIX: &str = "OUTBOX#";
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

/// Sort keys of day items start with this.
pub const DAY_PREFIX: &str = "DAY#";

/// The key map of an item (`pk` and `sk`), as `GetItem`, `UpdateItem` and friends take it.
pub fn key_attributes((pk, sk): (String, String)) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

pub fn task_key(id: TaskId) -> (String, String) {
    (format!("{TASK_PREFIX}{id}"), TASK_SORT_KEY.to_owned())
}

/// The task id in a task item's partition key.
pub fn task_id_of(pk: &str) -> Option<TaskId> {
    pk.strip_prefix(TASK_PREFIX)?.parse().ok()
}

/// The partition of all of `user`'s idempotency records.
pub fn idempotency_partition(user: &UserId) -> String {
    format!("{IDEMPOTENCY_PREFIX}{user}")
}

/// An idempotency record: in its user's partition, sorted by the caller's key.
pub fn idempotency_key(user: &UserId, key: &str) -> (String, String) {
    (
        idempotency_partition(user),
        format!("{IDEMPOTENCY_KEY_PREFIX}{key}"),
    )
}

/// An idempotency record as written before records shared their user's partition: read as a
/// fallback while such records may live (their TTL), never written.
pub fn legacy_idempotency_key(user: &UserId, key: &str) -> (String, String) {
    // User ids contain no '#', so the user part cannot run into the key part.
    (
        format!("{}{key}", legacy_idempotency_prefix(user)),
        LEGACY_IDEMPOTENCY_SORT_KEY.to_owned(),
    )
}

/// What the partition keys of `user`'s records in the earlier layout start with, and nobody
/// else's: user ids contain no '#', so no other user's key, in either layout, starts so.
pub fn legacy_idempotency_prefix(user: &UserId) -> String {
    format!("{IDEMPOTENCY_PREFIX}{user}#")
}

/// The sort key of every record in the earlier layout.
pub fn legacy_idempotency_sort_key() -> &'static str {
    LEGACY_IDEMPOTENCY_SORT_KEY
}

/// `user`'s erasure record: keyed by the SHA-256 of the user id, so the record holds no id.
pub fn erasure_key(user: &UserId) -> (String, String) {
    (erasure_partition(user), ERASURE_SORT_KEY.to_owned())
}

/// The partition of `user`'s erasure record and its archive day markers.
pub fn erasure_partition(user: &UserId) -> String {
    let digest = Sha256::digest(user.as_str().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{ERASURE_PREFIX}{hex}")
}

/// The marker of an archive `day` that `user`'s erasure (named by its `pseudonym`, so that
/// the markers of an earlier erasure of the same id never count) has rewritten.
pub fn archive_day_marker_key(
    user: &UserId,
    pseudonym: &UserId,
    day: NaiveDate,
) -> (String, String) {
    (
        erasure_partition(user),
        format!(
            "{}{}",
            archive_day_marker_prefix(pseudonym),
            day.format("%Y-%m-%d")
        ),
    )
}

/// The sort key prefix of the markers of the erasure named by `pseudonym`.
pub fn archive_day_marker_prefix(pseudonym: &UserId) -> String {
    format!("{ARCHIVE_DAY_PREFIX}{pseudonym}#")
}

/// The day a marker's sort key names.
pub fn archive_day_of_marker(sort_key: &str) -> Option<NaiveDate> {
    let rest = sort_key.strip_prefix(ARCHIVE_DAY_PREFIX)?;
    rest.rsplit_once('#')?.1.parse().ok()
}

/// A user's partition: of the user's tasks in the `byUser` index, and of the user's day items
/// in the analytics table.
pub fn user_partition(user: &UserId) -> String {
    format!("{USER_PREFIX}{user}")
}

/// A user's settings item in the tasks table: the user's partition, which holds nothing else
/// there (the tasks are under `TASK#`; the partition names them only in the `byUser` index,
/// which the settings item is not in).
pub fn settings_key(user: &UserId) -> (String, String) {
    (user_partition(user), SETTINGS_SORT_KEY.to_owned())
}

pub fn user_tasks_partition(user: &UserId) -> String {
    user_partition(user)
}

/// The sort key of a task in the `byUser` index: fixed-width UTC time, then the id, so that
/// string order is creation order.
pub fn user_tasks_sort_key(created_at: DateTime<Utc>, id: TaskId) -> String {
    time_then_id(created_at, id)
}

/// A UTC instant as the fixed-width, millisecond text that sort keys compare as strings.
pub fn sortable_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time_then_id(at: DateTime<Utc>, id: TaskId) -> String {
    format!("{}#{id}", sortable_time(at))
}

/// Parses [`user_tasks_sort_key`] back into its parts.
pub fn parse_user_tasks_sort_key(raw: &str) -> Option<(DateTime<Utc>, TaskId)> {
    let (at, id) = raw.split_once('#')?;
    Some((
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id.parse().ok()?,
    ))
}

/// One partition of the `outbox` index.
pub fn outbox_shard_partition(shard: u32) -> String {
    format!("{OUTBOX_PREFIX}{shard}")
}

/// The `outbox` partition a task's entry goes to.
pub fn outbox_partition(id: TaskId) -> String {
    let shard = (id.as_uuid().as_u128() % u128::from(OUTBOX_SHARDS)) as u32;
    outbox_shard_partition(shard)
}

/// The commit time of a task's oldest pending event. Index keys need not be unique, and the
/// index item carries the task's own key, so the time alone orders and finds it; items written
/// before append `#<taskId>`, which orders the same way.
pub fn outbox_sort_key(oldest_pending: DateTime<Utc>) -> String {
    sortable_time(oldest_pending)
}

pub fn day_sort_key(day: NaiveDate) -> String {
    format!("{DAY_PREFIX}{}", day.format("%Y-%m-%d"))
}

pub fn parse_day_sort_key(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.strip_prefix(DAY_PREFIX)?, "%Y-%m-%d").ok()
}

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

#[cfg(test)]
mod tests;
