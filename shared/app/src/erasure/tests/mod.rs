//! Erasures against the in-memory adapters: given a user's tasks, keys and counters, when the
//! erasure runs (whole, interrupted, twice), then nothing of the user is left under their id
//! and the global counters have not moved.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use taskpulse_domain::analytics::{Counter, Projection, Scope};
use taskpulse_domain::erasure::ErasureStep;
use taskpulse_domain::{EventEnvelope, UserId};
use tokio::time::Instant;

use super::*;
use crate::PlanLimits;
use crate::consume::consume_events;
use crate::memory::{
    MemoryAnalyticsStore, MemoryArchive, MemoryArchiveDays, MemoryEventQueue, MemoryTaskStore,
};
use crate::ports::{
    LoadIdempotency, LoadUserSettings, RollUpMonths, SaveProjectionConfig, SaveUserSettings,
    ScanCounters, UserSettings, VersionCounters,
};
use crate::projections::ProjectionConfig;
use crate::tasks::tests::{as_user, new_task};
use crate::tasks::{CommandContext, IdempotencyKey, TaskCommands};

struct World {
    commands: TaskCommands<MemoryTaskStore, MemoryEventQueue>,
    analytics: MemoryAnalyticsStore,
    archive: MemoryArchive,
    days: MemoryArchiveDays,
    config: ProjectionConfig,
}

fn user(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

fn keyed(raw: &str, key: &str) -> CommandContext {
    CommandContext {
        idempotency: Some(IdempotencyKey {
            key: key.into(),
            fingerprint: format!("POST /tasks {key}"),
        }),
        ..as_user(raw)
    }
}

impl World {
    /// `ana` (to erase) with three tasks, one created with a key and one whose event is still
    /// in its outbox; `bo` with one keyed task. Everything published is counted in the active
    /// version and in a version being built.
    async fn new() -> Self {
        let config = ProjectionConfig::initial()
            .start_building(Projection::TasksByPriority, Utc::now())
            .unwrap();
        Self::counting(config).await
    }

    /// [`World::new`]'s users and tasks, counted in the versions of `config`.
    async fn counting(config: ProjectionConfig) -> Self {
        let commands = TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default());
        let analytics = MemoryAnalyticsStore::default();
        analytics.save_projection_config(&config).await.unwrap();
        let world = Self {
            commands,
            analytics,
            archive: MemoryArchive::default(),
            days: MemoryArchiveDays::default(),
            config,
        };
        for context in [keyed("ana", "k1"), as_user("ana"), keyed("bo", "k1")] {
            world
                .commands
                .create_task(&context, new_task())
                .await
                .unwrap();
        }
        world.commands.publisher().set_unavailable(true);
        world
            .commands
            .create_task(&as_user("ana"), new_task())
            .await
            .unwrap();
        world.commands.publisher().set_unavailable(false);
        let published = world.commands.publisher().drain_envelopes();
        world.count(&published).await;
        world
    }

    async fn count(&self, events: &[EventEnvelope]) -> OwnedEventsCount {
        let routed = route_late_events(self.commands.store(), events)
            .await
            .unwrap();
        let countable: Vec<&EventEnvelope> = routed.countable.iter().map(|e| e.as_ref()).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        let outcome = consume_events(
            &self.archive,
            &self.analytics,
            &self.config,
            &countable,
            &PlanLimits::default(),
            deadline,
        )
        .await;
        assert!(outcome.batch.failed.is_empty(), "{outcome:?}");
        OwnedEventsCount {
            applied: outcome.batch.applied.len(),
            duplicates: outcome.batch.duplicates.len(),
            held: routed.held.len(),
            pseudonymised: routed.pseudonymised,
        }
    }

    fn eraser(&self) -> TestEraser<'_> {
        Eraser {
            tasks: self.commands.store(),
            publisher: self.commands.publisher(),
            analytics: &self.analytics,
            archive: &self.archive,
            days: &self.days,
            settle: TimeDelta::zero(),
        }
    }

    async fn counters(&self) -> Vec<VersionCounters> {
        let mut all = vec![];
        for spec in self.config.live() {
            all.push(self.analytics.scan_counters(spec.version).await.unwrap());
        }
        all
    }

    /// Month items and sealed marks of `user` in every live version (written by late
    /// writes: the events of these tests are late once their month is long over).
    async fn month_items(&self, user: &UserId) -> usize {
        let partition = crate::analytics::MonthPartition::User(user.clone());
        let mut items = 0;
        for spec in self.config.live() {
            let stored = self
                .analytics
                .read_months(spec.version, &partition, true)
                .await
                .unwrap();
            items += stored.months.len() + usize::from(stored.sealed_through.is_some());
        }
        items
    }

    async fn tasks_of(&self, raw: &str) -> usize {
        let query = ListQuery {
            status: None,
            limit: 100,
            after: None,
        };
        let page = self
            .commands
            .store()
            .list_tasks(&user(raw), &query)
            .await
            .unwrap();
        page.tasks.len()
    }
}

type TestEraser<'a> = Eraser<
    'a,
    MemoryTaskStore,
    MemoryEventQueue,
    MemoryAnalyticsStore,
    MemoryArchive,
    MemoryArchiveDays,
>;

#[derive(Debug, PartialEq, Eq)]
struct OwnedEventsCount {
    applied: usize,
    duplicates: usize,
    held: usize,
    pseudonymised: usize,
}

/// Every counter item of `version_counters` whose scope is `scope`.
fn scope_items(version_counters: &VersionCounters, scope: &Scope) -> Vec<(chrono::NaiveDate, i64)> {
    version_counters
        .iter()
        .filter(|(key, _)| &key.scope == scope)
        .map(|(key, counters)| {
            (
                key.day,
                counters.get(&Counter::Created).copied().unwrap_or(0),
            )
        })
        .collect()
}

async fn run_to_completion(world: &World, who: &UserId) -> Erasure {
    match run_inline(&world.eraser(), who).await.unwrap() {
        Advance::Complete(erasure) => erasure,
        other => panic!("not complete: {other:?}"),
    }
}

#[tokio::test]
async fn an_erasure_leaves_nothing_under_the_user_id_and_moves_no_global_counter() {
    let world = World::new().await;
    let (ana, bo) = (user("ana"), user("bo"));
    let before = world.counters().await;
    let months_before = world.month_items(&ana).await;
    let counted_before = world.archive_events_of(&ana).await;
    let berlin = UserSettings {
        time_zone: taskpulse_domain::TimeZone::parse("Europe/Berlin").unwrap(),
    };
    let store = world.commands.store();
    for who in [&ana, &bo] {
        store.save_user_settings(who, &berlin).await.unwrap();
    }
    let requested = request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    assert!(requested.pseudonym.as_str().starts_with("erased-"));

    let erasure = run_to_completion(&world, &ana).await;

    // The archive holds the user's events under the pseudonym only, every other line as it was.
    let archived: Vec<String> = world
        .archive
        .objects()
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    assert!(
        erasure.progress.archive_objects_rewritten >= 1,
        "{erasure:?}"
    );
    assert!(
        archived.iter().all(|text| !text.contains("\"ana\"")),
        "{archived:?}"
    );
    assert!(
        archived
            .iter()
            .any(|text| text.contains(erasure.pseudonym.as_str()))
    );
    assert!(archived.iter().any(|text| text.contains("\"bo\"")));

    assert_eq!(erasure.progress.tasks_deleted, 3);
    assert_eq!(erasure.progress.pending_events_published, 1);
    assert_eq!(erasure.progress.idempotency_records_deleted, 1);
    let user_items: usize = before
        .iter()
        .map(|version| scope_items(version, &Scope::User(ana.clone())).len())
        .sum();
    assert!(user_items > 0);
    assert_eq!(
        erasure.progress.counter_items_moved,
        (user_items + months_before) as u64
    );
    assert_eq!(world.month_items(&ana).await, 0);
    assert_eq!(world.month_items(&erasure.pseudonym).await, months_before);
    assert_eq!(
        (world.tasks_of("ana").await, world.tasks_of("bo").await),
        (0, 1)
    );
    assert_eq!(store.load_idempotency(&ana, "k1").await.unwrap(), None);
    assert!(store.load_idempotency(&bo, "k1").await.unwrap().is_some());
    assert_eq!(store.load_user_settings(&ana).await.unwrap(), None);
    assert_eq!(store.load_user_settings(&bo).await.unwrap(), Some(berlin));
    let after = world.counters().await;
    for (before, after) in before.iter().zip(&after) {
        assert!(scope_items(after, &Scope::User(ana.clone())).is_empty());
        assert_eq!(
            scope_items(after, &Scope::User(erasure.pseudonym.clone())),
            scope_items(before, &Scope::User(ana.clone())),
            "the user's counters are kept under the pseudonym"
        );
        for scope in [Scope::Global, Scope::User(bo.clone())] {
            assert_eq!(scope_items(after, &scope), scope_items(before, &scope));
        }
    }

    // The outbox event the erasure published, and a redelivery of one counted before, arrive
    // late: the first is counted under the pseudonym, the second is still a duplicate.
    let mut late = world.commands.publisher().drain_envelopes();
    assert_eq!(late.len(), 1, "the pending TaskCreated");
    late.push(counted_before);
    let counted = world.count(&late).await;
    assert_eq!(
        counted,
        OwnedEventsCount {
            applied: 1,
            duplicates: 1,
            held: 0,
            pseudonymised: 2
        }
    );
    let global_created = |counters: &VersionCounters| -> i64 {
        scope_items(counters, &Scope::Global)
            .iter()
            .map(|(_, n)| n)
            .sum()
    };
    let final_counters = world.counters().await;
    assert_eq!(
        global_created(&final_counters[0]),
        global_created(&before[0]) + 1
    );
    assert!(scope_items(&final_counters[0], &Scope::User(ana.clone())).is_empty());
}

#[tokio::test]
async fn events_are_held_while_the_erasure_runs_and_commands_are_answered_by_the_record() {
    let world = World::new().await;
    let ana = user("ana");
    let mut eraser = world.eraser();
    eraser.settle = TimeDelta::minutes(5);
    let requested = request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    let again = request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, requested, "asking again changes nothing");
    match eraser.advance(&ana, Utc::now()).await.unwrap() {
        Advance::WaitUntil(at) => assert_eq!(at, requested.requested_at + TimeDelta::minutes(5)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        world.tasks_of("ana").await,
        3,
        "nothing is deleted while settling"
    );
    let redelivered = world.archive_events_of(&ana).await;
    let counted = world.count(std::slice::from_ref(&redelivered)).await;
    assert_eq!(counted.held, 1);
    assert_eq!(counted.applied + counted.duplicates, 0);
    assert_eq!(
        eraser.advance(&user("nobody"), Utc::now()).await.unwrap(),
        Advance::NotRequested
    );
}

#[tokio::test]
async fn an_interrupted_erasure_is_completed_by_the_next_run_and_counts_its_work_once() {
    let world = World::new().await;
    let ana = user("ana");
    request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    // The first run stops after two pages (settling, then the tasks page).
    for _ in 0..2 {
        world.eraser().advance(&ana, Utc::now()).await.unwrap();
    }
    let stored = world
        .commands
        .store()
        .load_erasures(std::slice::from_ref(&ana))
        .await
        .unwrap()[&ana]
        .clone();
    assert_eq!(stored.step, ErasureStep::Tasks);
    assert_eq!(stored.progress.tasks_deleted, 3);
    // A stale run that read the record before the last save finds it moved on.
    let stale = Erasure {
        step: ErasureStep::Settling,
        ..stored.clone()
    };
    assert_eq!(
        world
            .commands
            .store()
            .save_erasure(&ana, &stale, &stored)
            .await,
        Err(StoreError::Conflict)
    );
    let erasure = run_to_completion(&world, &ana).await;
    assert_eq!(erasure.progress.tasks_deleted, 3);
    assert_eq!(erasure.progress.pending_events_published, 1);
    assert_eq!(
        run_to_completion(&world, &ana).await,
        erasure,
        "a finished erasure stays as it is"
    );
}

impl World {
    /// One of `user`'s events as the archive holds it (counted before the erasure).
    async fn archive_events_of(&self, user: &UserId) -> EventEnvelope {
        use crate::ports::ReadArchive;
        for day in self.archive.archive_days().await.unwrap() {
            let read = crate::archive::read_partition(&self.archive, day)
                .await
                .unwrap();
            if let Some(event) = read.events.into_iter().find(|e| &e.user_id == user) {
                return event;
            }
        }
        panic!("no archived event of {user:?}");
    }
}

mod archive_days;
mod rebuild;
