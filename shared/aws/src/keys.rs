//! The key layout of the DynamoDB items. Both tables use a string partition key `pk` and a
//! string sort key `sk`, so new item kinds fit without a table change.
//!
//! | table | item | pk | sk |
//! |---|---|---|---|
//! | tasks | a task | `TASK#<taskId>` | `TASK` |
//! | tasks | an idempotency record | `IDEMPOTENCY#<userId>#<key>` | `IDEMPOTENCY` |
//! | analytics | one user's counters for a UTC day | `USER#<userId>` | `DAY#<yyyy-mm-dd>` |
//! | analytics | everyone's counters for a UTC day | `GLOBAL` | `DAY#<yyyy-mm-dd>` |
//! | analytics | dedupe marker of an applied event | `EVENT#<eventId>` | `EVENT` |

use chrono::{DateTime, SecondsFormat, Utc};
use taskpulse_domain::analytics::{CounterKey, Scope};
use taskpulse_domain::{EventId, TaskId, UserId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The TTL attribute of both tables (declared in `template.yaml`): set on dedupe markers and
/// idempotency records only.
pub const EXPIRES_AT: &str = "expiresAt";
/// The index listing a user's tasks (`gsi1pk` = `USER#<userId>`, `gsi1sk` = creation time and id).
pub const TASKS_BY_USER_INDEX: &str = "byUser";
/// The sparse index of tasks with pending events (`outboxPk` = `OUTBOX#<shard>`,
/// `outboxSk` = commit time of the oldest pending event and the task id).
pub const OUTBOX_INDEX: &str = "outbox";
/// The outbox index is spread over this many partitions so that a burst of commands does not
/// concentrate its index writes on one partition; the relay reads them all.
pub const OUTBOX_SHARDS: u32 = 8;

pub fn task_key(id: TaskId) -> (String, String) {
    (format!("TASK#{id}"), "TASK".to_owned())
}

pub fn idempotency_key(user: &UserId, key: &str) -> (String, String) {
    // User ids contain no '#', so the user part cannot run into the key part.
    (
        format!("IDEMPOTENCY#{user}#{key}"),
        "IDEMPOTENCY".to_owned(),
    )
}

pub fn user_tasks_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// The sort key of a task in the `byUser` index: fixed-width UTC time, then the id, so that
/// string order is creation order.
pub fn user_tasks_sort_key(created_at: DateTime<Utc>, id: TaskId) -> String {
    format!(
        "{}#{id}",
        created_at.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// Parses [`user_tasks_sort_key`] back into its parts.
pub fn parse_user_tasks_sort_key(raw: &str) -> Option<(DateTime<Utc>, TaskId)> {
    let (at, id) = raw.split_once('#')?;
    Some((
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id.parse().ok()?,
    ))
}

pub fn outbox_partition(id: TaskId) -> String {
    let shard = (id.as_uuid().as_u128() % u128::from(OUTBOX_SHARDS)) as u32;
    format!("OUTBOX#{shard}")
}

pub fn outbox_sort_key(oldest_pending: DateTime<Utc>, id: TaskId) -> String {
    format!(
        "{}#{id}",
        oldest_pending.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// The task id in a task item's partition key.
pub fn task_id_of(pk: &str) -> Option<TaskId> {
    pk.strip_prefix("TASK#")?.parse().ok()
}

pub fn marker_key(id: EventId) -> (String, String) {
    (format!("EVENT#{id}"), "EVENT".to_owned())
}

pub fn counter_key(key: &CounterKey) -> (String, String) {
    let pk = match &key.scope {
        Scope::User(user) => format!("USER#{user}"),
        Scope::Global => "GLOBAL".to_owned(),
    };
    (pk, format!("DAY#{}", key.day.format("%Y-%m-%d")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use uuid::Uuid;

    #[test]
    fn user_task_sort_keys_order_by_time_and_parse_back() {
        let id = TaskId::from_uuid(Uuid::from_u128(5));
        let early: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        let late: DateTime<Utc> = "2026-01-02T03:04:05.010Z".parse().unwrap();
        let (a, b) = (
            user_tasks_sort_key(early, id),
            user_tasks_sort_key(late, id),
        );
        assert!(a < b, "{a} < {b}");
        assert_eq!(a, format!("2026-01-02T03:04:05.000Z#{id}"));
        assert_eq!(parse_user_tasks_sort_key(&b), Some((late, id)));
        assert_eq!(parse_user_tasks_sort_key("garbage"), None);
        assert_eq!(task_id_of(&task_key(id).0), Some(id));
        assert!(outbox_partition(id).starts_with("OUTBOX#"));
    }

    #[test]
    fn keys_follow_the_documented_layout() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let user = CounterKey {
            scope: Scope::User(UserId::parse("u-1").unwrap()),
            day,
        };
        assert_eq!(
            counter_key(&user),
            ("USER#u-1".into(), "DAY#2026-01-02".into())
        );
        let global = CounterKey {
            scope: Scope::Global,
            day,
        };
        assert_eq!(
            counter_key(&global),
            ("GLOBAL".into(), "DAY#2026-01-02".into())
        );
        let id = Uuid::from_u128(1);
        assert_eq!(
            marker_key(EventId::from_uuid(id)),
            (format!("EVENT#{id}"), "EVENT".into())
        );
        assert_eq!(
            task_key(TaskId::from_uuid(id)),
            (format!("TASK#{id}"), "TASK".into())
        );
    }
}
