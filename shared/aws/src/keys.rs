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
//!
//! The tasks table's keys and attributes are in `tasks_table.rs`, the analytics table's in
//! `analytics_table.rs`; both are re-exported here, so every caller names them `keys::…`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;

mod analytics_table;
mod tasks_table;

pub use analytics_table::*;
pub use tasks_table::*;

/// The partition key of both tables.
pub const PK: &str = "pk";
/// The sort key of both tables.
pub const SK: &str = "sk";
/// What a user's partitions start with: the user's tasks in the `byUser` index, the
/// settings item, and (after the version's prefix) the user's day items.
const USER_PREFIX: &str = "USER#";

/// Sort keys of day items start with this.
pub const DAY_PREFIX: &str = "DAY#";

/// The key map of an item (`pk` and `sk`), as `GetItem`, `UpdateItem` and friends take it.
pub fn key_attributes((pk, sk): (String, String)) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

pub fn day_sort_key(day: NaiveDate) -> String {
    format!("{DAY_PREFIX}{}", day.format("%Y-%m-%d"))
}

pub fn parse_day_sort_key(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.strip_prefix(DAY_PREFIX)?, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests;
