//! The verification of a rebuilt version against the active one.

use super::*;

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, n).unwrap()
}

fn days(entries: &[(u32, i64)]) -> BTreeMap<NaiveDate, BTreeMap<Counter, i64>> {
    entries
        .iter()
        .map(|(d, n)| (day(*d), BTreeMap::from([(Counter::Created, *n)])))
        .collect()
}

#[test]
fn a_user_on_other_days_with_the_same_totals_is_explained_and_other_totals_are_not() {
    let user = UserId::parse("ana").unwrap();
    let counters = [Counter::Created];
    let mut seen = OtherDays::default();
    let same = UserDays {
        old: days(&[(1, 2)]),
        new: days(&[(1, 2)]),
    };
    assert!(seen.explains(&user, &same, &counters));
    assert_eq!((seen.users, seen.days), (0, 0), "nothing differs");
    let moved = UserDays {
        old: days(&[(1, 2), (2, 1)]),
        new: days(&[(1, 1), (2, 1), (3, 1)]),
    };
    assert!(seen.explains(&user, &moved, &counters));
    assert_eq!((seen.users, seen.days), (1, 2), "days 1 and 3 differ");
    let lost = UserDays {
        old: days(&[(1, 2)]),
        new: days(&[(2, 1)]),
    };
    assert!(!seen.explains(&user, &lost, &counters));
    // Same totals, but moved by two days: no zone does that.
    let too_far = UserDays {
        old: days(&[(1, 2), (5, 1)]),
        new: days(&[(3, 2), (5, 1)]),
    };
    assert!(!seen.explains(&user, &too_far, &counters));
    assert_eq!(seen.users, 1);
    let found: Vec<(NaiveDate, i64, i64)> = lost
        .differences(&user, &counters)
        .iter()
        .map(|d| (d.key.day, d.active, d.building))
        .collect();
    assert_eq!(found, [(day(1), 2, 0), (day(2), 0, 1)]);
}

#[tokio::test]
async fn two_versions_with_due_gauges_are_compared_on_them_too() {
    use taskpulse_domain::analytics::{Projection, ProjectionVersion};
    use taskpulse_domain::task::CreateTask;
    use taskpulse_domain::{EventId, Priority, Task, TaskCommand, TaskId, Title};

    use crate::analytics::{PlanLimits, apply_events};
    use crate::memory::MemoryAnalyticsStore;
    use crate::projections::ProjectionSpec;

    // The same create, planned for another day in each version: every counter agrees but
    // the due gauges.
    let created = |planned: &str| {
        let command = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(uuid::Uuid::from_u128(1)),
            owner: UserId::parse("ana").unwrap(),
            title: Title::parse("t").unwrap(),
            description: None,
            priority: Priority::Low,
            planned_accomplish_date: planned.parse().unwrap(),
        });
        let now = "2026-12-01T10:00:00Z".parse().unwrap();
        let id = || EventId::from_uuid(uuid::Uuid::from_u128(9));
        Task::execute(None, &command, now, id).unwrap().1
    };
    let store = MemoryAnalyticsStore::default();
    let spec = |n: u32, projection| ProjectionSpec {
        version: ProjectionVersion::new(n).unwrap(),
        projection,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let limits = PlanLimits::default();
    let (v3, other_v3, v2) = (
        spec(1, Projection::TasksV3),
        spec(2, Projection::TasksV3),
        spec(3, Projection::TasksV2),
    );
    apply_events(
        &store,
        v3,
        &created("2026-12-05T00:00:00Z"),
        &limits,
        deadline,
    )
    .await;
    for version in [other_v3, v2] {
        apply_events(
            &store,
            version,
            &created("2026-12-06T00:00:00Z"),
            &limits,
            deadline,
        )
        .await;
    }
    let once = Rereads {
        rounds: 0,
        pause: Duration::ZERO,
    };
    let report = verify(&store, v3, other_v3, once).await.unwrap();
    let mut found: Vec<(Scope, Counter, i64, i64)> = report
        .differences
        .iter()
        .map(|d| (d.key.scope.clone(), d.counter, d.active, d.building))
        .collect();
    found.sort();
    let user = Scope::User(UserId::parse("ana").unwrap());
    assert_eq!(
        found,
        [
            (user.clone(), Counter::Due(4), 1, 0),
            (user, Counter::Due(5), 0, 1),
            (Scope::Global, Counter::Due(4), 1, 0),
            (Scope::Global, Counter::Due(5), 0, 1),
        ]
    );
    // A version without due gauges is compared on the counters both keep.
    let report = verify(&store, v3, v2, once).await.unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}
