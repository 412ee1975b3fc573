//! Dedupe markers past the inline cap: a user with 200,000 events in one UTC day counted
//! exactly, redeliveries caught wherever their marker is, and day items of the layout before
//! the cap (every marker inline) still deduplicating.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, Title, UserId,
};
use tokio::time::Instant;
use uuid::Uuid;

use super::plan::tests::fake_effect;
use super::*;
use crate::memory::MemoryAnalyticsStore;
use crate::ports::ReadCounters;
use crate::projections::ProjectionConfig;

const DAY: &str = "2026-12-01";

/// `count` tasks created by one user on one UTC day (one `TaskCreated` each).
fn busy_day(user: &str, count: u32) -> Vec<EventEnvelope> {
    let start: DateTime<Utc> = format!("{DAY}T00:00:01Z").parse().unwrap();
    let owner = UserId::parse(user).unwrap();
    let mut events = Vec::with_capacity(count as usize);
    for n in 0..count {
        let at = start + chrono::Duration::milliseconds(i64::from(n) * 400);
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(u128::from(n) + 1)),
            owner: owner.clone(),
            title: Title::parse("busy").unwrap(),
            description: None,
            priority: Priority::Medium,
            planned_accomplish_date: at + chrono::Duration::days(1),
        });
        let id = EventId::from_uuid(Uuid::from_u128(1 << 64 | u128::from(n)));
        let (_, emitted) = Task::execute(None, &create, at, || id).unwrap();
        events.extend(emitted);
    }
    events
}

fn day() -> NaiveDate {
    DAY.parse().unwrap()
}

async fn deliver(store: &MemoryAnalyticsStore, events: &[EventEnvelope]) -> BatchOutcome {
    let deadline = Instant::now() + Duration::from_secs(60);
    let target = ProjectionConfig::initial().active;
    let mut total = BatchOutcome::default();
    for batch in events.chunks(100) {
        let outcome = apply_events(store, target, batch, &PlanLimits::default(), deadline).await;
        total.applied.extend(outcome.applied);
        total.duplicates.extend(outcome.duplicates);
        total.failed.extend(outcome.failed);
        total.transactions += outcome.transactions;
        total.retries += outcome.retries;
    }
    total
}

async fn created(store: &MemoryAnalyticsStore, scope: Scope) -> i64 {
    let key = CounterKey { scope, day: day() };
    let counters = store
        .read_counters(ProjectionVersion::FIRST, &key)
        .await
        .unwrap();
    counters.get(&Counter::Created).copied().unwrap_or(0)
}

#[test]
fn a_busy_day_fills_its_inline_set_then_overflows() {
    let effects: Vec<_> = (1..=100).map(|n| fake_effect(n, "busy", 26)).collect();
    let plans = plan_transactions(
        ProjectionVersion::FIRST,
        &effects,
        &PlanLimits::default(),
        || 0,
    );
    let writes: Vec<&UserDayWrite> = plans.iter().flat_map(|p| &p.users).collect();
    assert_eq!(
        writes.len(),
        2,
        "one write per 50 events, each in its own transaction"
    );
    assert_eq!(plans.len(), 2);
    assert_eq!(
        (writes[0].inline, writes[0].before),
        (MAX_INLINE_MARKERS, InlineMarkers::Exactly(0)),
        "an unknown set is planned as empty: filled, the rest overflows"
    );
    assert_eq!(
        (writes[1].inline, writes[1].before),
        (0, InlineMarkers::Full)
    );
    assert_eq!(writes[1].overflow_events().len(), 50);
    assert!(
        plans
            .iter()
            .all(|p| p.item_count() <= plan::MAX_TRANSACTION_ACTIONS)
    );
    assert_eq!(
        plans[1].item_count(),
        1 + 50 + 1,
        "day update, 50 markers, one global"
    );

    // Known sets: room for some, or none.
    let known = plan_transactions_knowing(
        ProjectionVersion::FIRST,
        &effects[..10],
        &PlanLimits::default(),
        |_, _| Some(MAX_INLINE_MARKERS - 4),
        || 0,
    );
    let write = &known[0].users[0];
    assert_eq!(
        (write.inline, write.before),
        (4, InlineMarkers::Exactly(28))
    );
    let few = plan_transactions_knowing(
        ProjectionVersion::FIRST,
        &effects[..3],
        &PlanLimits::default(),
        |_, _| Some(5),
        || 0,
    );
    assert_eq!(
        (few[0].users[0].inline, few[0].users[0].before),
        (3, InlineMarkers::HasRoom)
    );
    let tight = PlanLimits {
        max_items: 10,
        ..PlanLimits::default()
    };
    let old_items = plan_transactions_knowing(
        ProjectionVersion::FIRST,
        &effects,
        &tight,
        |_, _| Some(500),
        || 0,
    );
    assert!(old_items.iter().all(|p| p.item_count() <= 10));
    assert_eq!(
        old_items.iter().map(|p| p.events().count()).sum::<usize>(),
        100
    );
    assert!(
        old_items
            .iter()
            .flat_map(|p| &p.users)
            .all(|w| w.inline == 0 && w.before == InlineMarkers::Full)
    );
}

#[tokio::test]
async fn two_hundred_thousand_events_of_one_user_in_one_day_count_exactly() {
    let events = busy_day("busy", 200_000);
    let store = MemoryAnalyticsStore::default();
    let first = deliver(&store, &events).await;
    assert!(first.failed.is_empty(), "{:?}", &first.failed[..1]);
    assert_eq!(first.applied.len(), 200_000);
    assert!(first.duplicates.is_empty());
    let user = UserId::parse("busy").unwrap();
    assert_eq!(created(&store, Scope::User(user.clone())).await, 200_000);
    assert_eq!(created(&store, Scope::Global).await, 200_000);
    let markers = store.with_table(ProjectionVersion::FIRST, |t| t.marker_counts(&user, day()));
    assert_eq!(markers, (MAX_INLINE_MARKERS, 200_000 - MAX_INLINE_MARKERS));
    // The store remembers the full set: one refused first try in all, not one per batch.
    assert!(first.retries <= 1, "{} retries", first.retries);

    // Redelivery of inline and overflow events alike, mixed with nothing new.
    let again: Vec<EventEnvelope> = events
        .iter()
        .take(40)
        .chain(events.iter().step_by(997))
        .cloned()
        .collect();
    let second = deliver(&store, &again).await;
    assert!(
        second.applied.is_empty() && second.failed.is_empty(),
        "{second:?}"
    );
    assert_eq!(second.duplicates.len(), again.len());
    assert_eq!(created(&store, Scope::User(user)).await, 200_000);
    assert_eq!(created(&store, Scope::Global).await, 200_000);
}

#[tokio::test]
async fn a_fresh_consumer_learns_a_full_set_from_the_refusal_and_dedupes_across_both_places() {
    let events = busy_day("busy", 300);
    let store = MemoryAnalyticsStore::default();
    deliver(&store, &events[..200]).await;
    // A store that shares the table but not the hints: a consumer started afresh.
    let fresh = store.clone_without_hints();
    let mixed: Vec<EventEnvelope> = events[190..].iter().chain(&events[..5]).cloned().collect();
    let outcome = deliver(&fresh, &mixed).await;
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!((outcome.applied.len(), outcome.duplicates.len()), (100, 15));
    let user = UserId::parse("busy").unwrap();
    assert_eq!(created(&store, Scope::User(user)).await, 300);
}

#[tokio::test]
async fn day_items_with_every_marker_inline_still_deduplicate() {
    // The layout before the cap kept every marker inline, however many: 40 here.
    let events = busy_day("old", 60);
    let user = UserId::parse("old").unwrap();
    let store = MemoryAnalyticsStore::default();
    store.with_table(ProjectionVersion::FIRST, |table| {
        table.insert_inline_day(
            &user,
            day(),
            BTreeMap::from([(Counter::Created, 40), (Counter::OpenNew, 40)]),
            events[..40].iter().map(|e| e.event_id),
        );
    });
    let outcome = deliver(&store, &events).await;
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!((outcome.applied.len(), outcome.duplicates.len()), (20, 40));
    assert_eq!(created(&store, Scope::User(user.clone())).await, 60);
    let markers = store.with_table(ProjectionVersion::FIRST, |t| t.marker_counts(&user, day()));
    assert_eq!(
        markers,
        (40, 20),
        "the old set is full: new markers overflow"
    );
    let again = deliver(&store, &events).await;
    assert_eq!((again.applied.len(), again.duplicates.len()), (0, 60));
}
