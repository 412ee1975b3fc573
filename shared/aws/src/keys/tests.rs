//! The key layout as `keys` documents it.

use super::*;
use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::analytics::ProjectionVersion;
use taskpulse_domain::{EventId, TaskId, UserId};
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
    assert!((0..OUTBOX_SHARDS).any(|shard| outbox_shard_partition(shard) == outbox_partition(id)));
}

#[test]
fn counter_partitions_parse_back_to_their_version_and_scope() {
    let user = UserId::parse("u-1").unwrap();
    let v2 = ProjectionVersion::new(2).unwrap();
    for version in [ProjectionVersion::FIRST, v2] {
        assert_eq!(
            parse_counter_partition(&counter_user_partition(version, &user)),
            Some((version, CounterPartition::User("u-1")))
        );
        assert_eq!(
            parse_counter_partition(&global_partition(version, 7)),
            Some((version, CounterPartition::Global(7)))
        );
    }
    for other in [
        "TASK#x",
        "PROJECTIONS",
        "REBUILD#2",
        "V1#USER#u",
        "V0#GLOBAL#1",
        "GLOBAL#x",
    ] {
        assert_eq!(parse_counter_partition(other), None, "{other}");
    }
    let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let (pk, sk) = rebuild_progress_key(v2, day);
    assert_eq!(
        (pk.as_str(), sk.as_str()),
        ("REBUILD#2", "PARTITION#2026-12-02")
    );
    assert_eq!(parse_rebuild_progress_sort_key(&sk), Some(day));
}

#[test]
fn the_key_map_names_both_keys() {
    let map = key_attributes(("TASK#1".into(), "TASK".into()));
    assert_eq!(map.len(), 2);
    assert_eq!(map[PK], AttributeValue::S("TASK#1".into()));
    assert_eq!(map[SK], AttributeValue::S("TASK".into()));
}

#[test]
fn keys_follow_the_documented_layout() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
    let user = UserId::parse("u-1").unwrap();
    let (v1, v2) = (ProjectionVersion::FIRST, ProjectionVersion::new(2).unwrap());
    assert_eq!(
        user_day_key(v1, &user, day),
        ("USER#u-1".into(), "DAY#2026-01-02".into())
    );
    assert_eq!(
        global_day_key(v1, day, 3),
        ("GLOBAL#3".into(), "DAY#2026-01-02".into())
    );
    assert_eq!(
        user_day_key(v2, &user, day),
        ("V2#USER#u-1".into(), "DAY#2026-01-02".into())
    );
    assert_eq!(
        global_day_key(v2, day, 3),
        ("V2#GLOBAL#3".into(), "DAY#2026-01-02".into())
    );
    assert_eq!(parse_day_sort_key("DAY#2026-01-02"), Some(day));
    let event = EventId::from_uuid(Uuid::from_u128(7));
    let (pk, sk) = applied_marker_key(v2, &user, day, event);
    assert_eq!(pk, "V2#USER#u-1");
    assert_eq!(sk, format!("APPLIED#2026-01-02#{}", Uuid::from_u128(7)));
    assert!(
        sk < day_sort_key(NaiveDate::MIN) && parse_day_sort_key(&sk).is_none(),
        "a range of days never reads a marker"
    );
    assert_eq!(parse_day_sort_key("EVENT#x"), None);
    let id = Uuid::from_u128(1);
    assert_eq!(
        task_key(TaskId::from_uuid(id)),
        (format!("TASK#{id}"), "TASK".into())
    );
}

#[test]
fn a_users_idempotency_records_share_one_partition_and_the_earlier_layout_stays_apart() {
    let user = UserId::parse("u-1").unwrap();
    assert_eq!(
        idempotency_key(&user, "k#1"),
        ("IDEMPOTENCY#u-1".into(), "KEY#k#1".into())
    );
    assert_eq!(
        idempotency_key(&user, "other").0,
        idempotency_partition(&user)
    );
    let (legacy_pk, legacy_sk) = legacy_idempotency_key(&user, "k#1");
    assert_eq!(
        (legacy_pk.as_str(), legacy_sk.as_str()),
        ("IDEMPOTENCY#u-1#k#1", "IDEMPOTENCY")
    );
    assert_eq!(legacy_sk, legacy_idempotency_sort_key());
    let prefix = legacy_idempotency_prefix(&user);
    assert!(legacy_pk.starts_with(&prefix));
    // Neither the user's own partition nor another user's keys match the earlier-layout prefix.
    let longer = UserId::parse("u-10").unwrap();
    for other in [
        idempotency_partition(&user),
        idempotency_partition(&longer),
        legacy_idempotency_key(&longer, "k").0,
    ] {
        assert!(!other.starts_with(&prefix), "{other}");
    }
}

#[test]
fn an_erasure_key_is_a_digest_of_the_user_id_and_holds_no_id() {
    let user = UserId::parse("ada@example.com").unwrap();
    let (pk, sk) = erasure_key(&user);
    assert_eq!(sk, "ERASURE");
    // SHA-256 of "ada@example.com", as `printf %s ada@example.com | sha256sum` prints it.
    assert_eq!(pk, format!("ERASURE#{}", ADA_SHA256));
    assert!(!pk.contains("ada"));
    assert_ne!(erasure_key(&UserId::parse("bo").unwrap()).0, pk);
}

const ADA_SHA256: &str = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72";
