//! The key layout of the DynamoDB items. Both tables use a string partition key `pk` and a
//! string sort key `sk`, so new item kinds fit without a table change.
//!
//! | table | item | pk | sk |
//! |---|---|---|---|
//! | tasks | a task | `TASK#<taskId>` | `TASK` |
//! | analytics | one user's counters for a UTC day | `USER#<userId>` | `DAY#<yyyy-mm-dd>` |
//! | analytics | everyone's counters for a UTC day | `GLOBAL` | `DAY#<yyyy-mm-dd>` |
//! | analytics | dedupe marker of an applied event | `EVENT#<eventId>` | `EVENT` |

use taskpulse_domain::analytics::{CounterKey, Scope};
use taskpulse_domain::{EventId, TaskId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The TTL attribute of the analytics table (declared in `template.yaml`).
pub const EXPIRES_AT: &str = "expiresAt";
/// The index listing a user's tasks, newest first.
pub const TASKS_BY_USER_INDEX: &str = "byUser";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";

pub fn task_key(id: TaskId) -> (String, String) {
    (format!("TASK#{id}"), "TASK".to_owned())
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
    use taskpulse_domain::UserId;
    use uuid::Uuid;

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
