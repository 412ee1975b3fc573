//! The tasks table's attribute names and key formats (the layout is in `keys`).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use taskpulse_domain::{TaskId, UserId};

use super::USER_PREFIX;

/// A user's IANA time zone, on the user's settings item.
pub const SETTINGS_TIME_ZONE: &str = "timeZone";
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

/// The sparse index of tasks with pending events that no outbox check covers (`outboxPk` =
/// `OUTBOX#<shard>`, `outboxSk` = commit time of the oldest pending event).
pub const OUTBOX_INDEX: &str = "outbox";
/// The partition key of the `outbox` index; present only while events are pending and no
/// outbox check covers them.
pub const OUTBOX_PK: &str = "outboxPk";
/// The sort key of the `outbox` index; present only with `OUTBOX_PK`.
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
const SETTINGS_SORT_KEY: &str = "SETTINGS";
const OUTBOX_PREFIX: &str = "OUTBOX#";

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
