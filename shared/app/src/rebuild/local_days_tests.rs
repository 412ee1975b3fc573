//! Given users in three zones whose events carry their local days, counted live in a UTC-day
//! version, when a `tasks-v2` version is rebuilt beside it (with live traffic during the
//! build), then everyone's days agree exactly, each user's days are the local days of the
//! user's events, and the verification reports the users on other days, not differences.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use taskpulse_domain::analytics::{Counter, Projection, ProjectionVersion, Scope};
use taskpulse_domain::{EventEnvelope, TaskEvent, TimeZone, UserId};

use super::run_rebuild;
use super::tests::{global_days, live, no_erasures, plan};
use crate::memory::{MemoryAnalyticsStore, MemoryArchive};
use crate::ports::{LoadProjectionConfig, ReadCounters};
use crate::test_events::history;

/// `user-0` in UTC; `user-1` at UTC+14, whose afternoons (UTC) are already the next day;
/// `user-2` at UTC-11, whose mornings (UTC) are still the day before.
fn zone_of(user: &UserId) -> TimeZone {
    match user.as_str() {
        "user-1" => TimeZone::parse("Pacific/Kiritimati").unwrap(),
        "user-2" => TimeZone::parse("Pacific/Pago_Pago").unwrap(),
        _ => TimeZone::utc(),
    }
}

/// Tasks created per local day of `user`, recounted from the events.
fn created_per_local_day(events: &[EventEnvelope], user: &UserId) -> BTreeMap<NaiveDate, i64> {
    let mut days = BTreeMap::new();
    for event in events.iter().filter(|e| &e.user_id == user) {
        if let TaskEvent::Created(_) = event.event {
            *days
                .entry(zone_of(user).local_day(event.occurred_at))
                .or_default() += 1;
        }
    }
    days
}

#[tokio::test]
async fn a_local_days_version_rebuilt_beside_a_utc_one_moves_only_users_days() {
    let events: Vec<EventEnvelope> = history(48, 4)
        .into_iter()
        .map(|e| {
            let zone = zone_of(&e.user_id);
            e.in_zone(&zone)
        })
        .collect();
    let (before, during) = events.split_at(30);
    let (archive, store) = (MemoryArchive::default(), MemoryAnalyticsStore::default());
    live(&archive, &store, before).await;
    super::start(&store, Projection::TasksV2, chrono::Utc::now())
        .await
        .unwrap();
    live(&archive, &store, during).await;

    let report = run_rebuild(
        &archive,
        &no_erasures(),
        &store,
        &plan(Projection::TasksV2),
        |_| {},
    )
    .await
    .unwrap();
    let verification = &report.verification;
    assert!(verification.differences.is_empty(), "{verification:?}");
    assert_eq!(verification.users_on_other_days, 2, "{verification:?}");
    assert!(verification.user_days_on_other_days >= 2);
    assert!(
        report.activated,
        "no differences: activated without --force"
    );
    let (v1, v2) = (ProjectionVersion::FIRST, report.version);
    assert_eq!(
        store.load_projection_config().await.unwrap().active.version,
        v2
    );

    // Everyone's days: the same UTC days in both.
    let (old, new) = (global_days(&store, v1).await, global_days(&store, v2).await);
    for (day, counters) in &old {
        for (counter, value) in counters {
            assert_eq!(new[day].get(counter), Some(value), "{day} {counter:?}");
        }
    }
    // Each user's days: the local days of the user's events.
    let last = "2030-01-01".parse().unwrap();
    for n in 0..3 {
        let user = UserId::parse(&format!("user-{n}")).unwrap();
        let scope = Scope::User(user.clone());
        let created =
            |days: BTreeMap<NaiveDate, BTreeMap<Counter, i64>>| -> BTreeMap<NaiveDate, i64> {
                days.into_iter()
                    .filter_map(|(day, c)| c.get(&Counter::Created).map(|n| (day, *n)))
                    .filter(|(_, n)| *n != 0)
                    .collect()
            };
        let local_days = store.read_days(v2, &scope, None, last).await.unwrap();
        let utc_days = store.read_days(v1, &scope, None, last).await.unwrap();
        let completed_on = |days: &BTreeMap<NaiveDate, BTreeMap<Counter, i64>>| -> Vec<NaiveDate> {
            days.iter()
                .filter(|(_, c)| c.get(&Counter::Completed).is_some_and(|n| *n > 0))
                .map(|(day, _)| *day)
                .collect()
        };
        let (local_completions, utc_completions) =
            (completed_on(&local_days), completed_on(&utc_days));
        let local = created(local_days);
        assert_eq!(local, created_per_local_day(&events, &user), "{user}");
        let utc = created(utc_days);
        assert_eq!(local.values().sum::<i64>(), utc.values().sum::<i64>());
        if n == 0 {
            assert_eq!(local, utc, "a UTC user's days do not move");
            assert_eq!(local_completions, utc_completions);
        } else {
            // Created 09:00-10:00 UTC, completed 2 or 6 hours later: Kiritimati's completions
            // fall on the next day, Pago Pago's creations on the day before.
            assert_ne!(
                (&local, &local_completions),
                (&utc, &utc_completions),
                "{user}'s days moved"
            );
        }
    }
}
