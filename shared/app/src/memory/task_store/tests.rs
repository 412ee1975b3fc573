//! The store's indexes: listings against a reference computed from every task, the batched
//! reads behind them, and the outbox index.

use chrono::{DateTime, TimeDelta, Utc};
use taskpulse_domain::task::StatusChange;
use taskpulse_domain::{EventId, Priority, Task, TaskId, TaskStatus, Title, UserId};

use super::table::TaskTable;
use super::*;
use crate::ports::{ListCursor, PendingEvent};

const STATUSES: [TaskStatus; 4] = [
    TaskStatus::New,
    TaskStatus::InProgress,
    TaskStatus::Completed,
    TaskStatus::Cancelled,
];

fn minute(n: i64) -> DateTime<Utc> {
    "2026-11-20T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(n)
}

fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

fn task(n: u128, owner: &str, created_at: DateTime<Utc>, status: TaskStatus) -> Task {
    Task {
        id: TaskId::from_uuid(uuid::Uuid::from_u128(n)),
        owner: user(owner),
        title: Title::parse("Write the report").unwrap(),
        description: None,
        priority: Priority::Medium,
        status_history: vec![StatusChange {
            status,
            set_at: created_at,
        }],
        planned_accomplish_date: created_at + TimeDelta::days(1),
        planned_local_day: None,
        actual_accomplish_date: None,
        created_at,
        version: 1,
    }
}

fn pending(n: u128, committed_at: DateTime<Utc>) -> PendingEvent {
    PendingEvent {
        event_id: EventId::from_uuid(uuid::Uuid::from_u128(n)),
        event_type: "TaskCreated".into(),
        body: "{}".into(),
        committed_at,
    }
}

/// Writes `task` over the stored version `expected_version`, with this outbox.
async fn save(
    store: &MemoryTaskStore,
    task: &Task,
    expected_version: Option<u64>,
    pending_events: &[PendingEvent],
) {
    store
        .save_task(TaskWrite {
            task,
            expected_version,
            pending_events,
            idempotency: None,
            outbox_indexed: true,
        })
        .await
        .unwrap();
}

async fn list(
    store: &MemoryTaskStore,
    owner: &str,
    status: Option<TaskStatus>,
    limit: usize,
    after: Option<ListCursor>,
) -> TaskPage {
    store
        .list_tasks(
            &user(owner),
            &ListQuery {
                status,
                limit,
                after,
            },
        )
        .await
        .unwrap()
}

fn ids(tasks: &[Task]) -> Vec<TaskId> {
    tasks.iter().map(|t| t.id).collect()
}

/// What a listing must hold, computed from every task: the owner's, of the status, newest
/// first by creation time and then id.
fn reference(all: &[Task], owner: &str, status: Option<TaskStatus>) -> Vec<TaskId> {
    let mut own: Vec<&Task> = all
        .iter()
        .filter(|t| t.owner.as_str() == owner && status.is_none_or(|s| t.status() == s))
        .collect();
    own.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    own.iter().map(|t| t.id).collect()
}

/// Every page of a listing, following the cursors; every page but the last is full.
async fn walk(
    store: &MemoryTaskStore,
    owner: &str,
    status: Option<TaskStatus>,
    limit: usize,
) -> Vec<TaskId> {
    let mut listed = vec![];
    let mut after = None;
    loop {
        let page = list(store, owner, status, limit, after).await;
        listed.extend(ids(&page.tasks));
        let Some(next) = page.next else {
            assert!(page.tasks.len() <= limit);
            return listed;
        };
        assert_eq!(page.tasks.len(), limit, "a page before the last is full");
        let last = page.tasks.last().unwrap();
        assert_eq!((next.created_at, next.task_id), (last.created_at, last.id));
        after = Some(next);
    }
}

#[tokio::test]
async fn listings_page_through_each_owners_tasks_newest_first() {
    let store = MemoryTaskStore::default();
    let mut all = vec![];
    // Users' tasks interleaved, creation times repeating (ties are ordered by id), statuses
    // mixed; user-0 has none.
    for n in 0..1_200u128 {
        let owner = format!("user-{}", 1 + (n * 7) % 39);
        let created = minute(((n * 13) % 97) as i64);
        let t = task(n, &owner, created, STATUSES[(n % 4) as usize]);
        save(&store, &t, None, &[]).await;
        all.push(t);
    }
    for u in 0..40 {
        let owner = format!("user-{u}");
        for status in [None].into_iter().chain(STATUSES.map(Some)) {
            let expected = reference(&all, &owner, status);
            for limit in [1, 7, 100] {
                assert_eq!(
                    walk(&store, &owner, status, limit).await,
                    expected,
                    "{owner}, {status:?}, limit {limit}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_status_filter_reads_on_past_batches_that_hold_no_match() {
    let store = MemoryTaskStore::default();
    let oldest = task(1, "ana", minute(0), TaskStatus::Completed);
    let older = task(2, "ana", minute(1), TaskStatus::Completed);
    save(&store, &oldest, None, &[]).await;
    save(&store, &older, None, &[]).await;
    for n in 0..(3 * LIST_READ_BATCH as u128 + 50) {
        let t = task(10 + n, "ana", minute(2 + n as i64), TaskStatus::New);
        save(&store, &t, None, &[]).await;
    }
    let first = list(&store, "ana", Some(TaskStatus::Completed), 1, None).await;
    assert_eq!(ids(&first.tasks), [older.id]);
    assert!(first.next.is_some(), "one more completed task follows");
    let second = list(&store, "ana", Some(TaskStatus::Completed), 1, first.next).await;
    assert_eq!(ids(&second.tasks), [oldest.id]);
    assert!(second.next.is_none());
}

#[tokio::test]
async fn a_cursor_lists_what_sorts_below_it_even_between_tasks() {
    let store = MemoryTaskStore::default();
    let tasks = [
        task(5, "ana", minute(10), TaskStatus::New),
        task(9, "ana", minute(10), TaskStatus::New),
        task(3, "ana", minute(20), TaskStatus::New),
    ];
    for t in &tasks {
        save(&store, t, None, &[]).await;
    }
    let cursor = |minutes, id| ListCursor {
        created_at: minute(minutes),
        task_id: TaskId::from_uuid(uuid::Uuid::from_u128(id)),
    };
    let below = |page: TaskPage| ids(&page.tasks);
    // Same creation time, a smaller id: the larger id sorts above it.
    let page = list(&store, "ana", None, 10, Some(cursor(10, 7))).await;
    assert_eq!(below(page), [tasks[0].id]);
    let page = list(&store, "ana", None, 10, Some(cursor(15, 0))).await;
    assert_eq!(below(page), [tasks[1].id, tasks[0].id]);
    let page = list(&store, "ana", None, 10, Some(cursor(10, 5))).await;
    assert!(below(page).is_empty());
}

#[tokio::test]
async fn a_listing_among_100_000_tasks_of_other_users_holds_only_its_owners() {
    let store = MemoryTaskStore::default();
    let mut own = vec![];
    for n in 0..100_000u128 {
        let other = task(
            n,
            &format!("other-{}", n % 10_000),
            minute(n as i64),
            TaskStatus::New,
        );
        save(&store, &other, None, &[]).await;
        if n % 30_000 == 10_000 {
            let t = task(1_000_000 + n, "ana", minute(n as i64), TaskStatus::New);
            save(&store, &t, None, &[]).await;
            own.push(t);
        }
    }
    assert_eq!(store.len(), 100_000 + own.len());
    let newest_first: Vec<TaskId> = own.iter().rev().map(|t| t.id).collect();
    assert_eq!(newest_first.len(), 3);
    let page = list(&store, "ana", None, 20, None).await;
    assert_eq!(ids(&page.tasks), newest_first);
    assert!(page.next.is_none());
    assert_eq!(walk(&store, "ana", None, 2).await, newest_first);
    let nobody = list(&store, "nobody", None, 20, None).await;
    assert!(nobody.tasks.is_empty() && nobody.next.is_none());
}

#[test]
fn a_listing_read_stops_at_its_limit_and_resumes_below_its_last_entry() {
    let mut table = TaskTable::default();
    for n in 0..250u128 {
        table.put(
            StoredTask {
                task: task(n, "ana", minute(n as i64), TaskStatus::New),
                pending_events: vec![],
            },
            true,
        );
    }
    let ana = user("ana");
    let first = table.read_listing(&ana, None, None, 100, usize::MAX);
    assert_eq!(first.tasks.len(), 100);
    assert_eq!(first.tasks[0].created_at, minute(249));
    let resume = first.resume_below.expect("more entries follow");
    assert_eq!(resume.0, minute(150));
    let second = table.read_listing(&ana, Some(resume), None, 100, usize::MAX);
    assert_eq!(second.tasks[0].created_at, minute(149));
    let third = table.read_listing(&ana, second.resume_below, None, 100, usize::MAX);
    assert_eq!(third.tasks.len(), 50);
    assert_eq!(third.tasks.last().unwrap().created_at, minute(0));
    assert!(third.resume_below.is_none(), "the listing is exhausted");
    // A filter thins a read without extending it; enough matches end it early.
    let filtered = table.read_listing(&ana, None, Some(TaskStatus::Completed), 100, 1);
    assert!(filtered.tasks.is_empty());
    assert_eq!(filtered.resume_below.unwrap().0, minute(150));
    let early = table.read_listing(&ana, None, None, 100, 3);
    assert_eq!(early.tasks.len(), 3);
    assert_eq!(early.resume_below.unwrap().0, minute(247));
}

#[tokio::test]
async fn an_update_keeps_one_listing_entry_with_the_current_status() {
    let store = MemoryTaskStore::default();
    let created = task(1, "ana", minute(0), TaskStatus::New);
    save(&store, &created, None, &[]).await;
    let mut completed = created.clone();
    completed.status_history.push(StatusChange {
        status: TaskStatus::Completed,
        set_at: minute(5),
    });
    completed.version = 2;
    save(&store, &completed, Some(1), &[]).await;
    assert_eq!(
        ids(&list(&store, "ana", None, 10, None).await.tasks),
        [created.id]
    );
    let page = list(&store, "ana", Some(TaskStatus::New), 10, None).await;
    assert!(page.tasks.is_empty());
    let page = list(&store, "ana", Some(TaskStatus::Completed), 10, None).await;
    assert_eq!(page.tasks, [completed]);
}

#[tokio::test]
async fn a_write_that_changes_owner_or_creation_time_moves_the_listing_entry() {
    let store = MemoryTaskStore::default();
    let first = task(1, "ana", minute(0), TaskStatus::New);
    let second = task(2, "ana", minute(1), TaskStatus::New);
    save(&store, &first, None, &[]).await;
    save(&store, &second, None, &[]).await;
    let mut recreated = first.clone();
    recreated.created_at = minute(2);
    recreated.version = 2;
    save(&store, &recreated, Some(1), &[]).await;
    assert_eq!(walk(&store, "ana", None, 1).await, [first.id, second.id]);
    let mut given_away = recreated.clone();
    given_away.owner = user("bob");
    given_away.version = 3;
    save(&store, &given_away, Some(2), &[]).await;
    assert_eq!(walk(&store, "ana", None, 10).await, [second.id]);
    assert_eq!(walk(&store, "bob", None, 10).await, [first.id]);
}

#[tokio::test]
async fn the_outbox_index_lists_pending_tasks_oldest_first_and_forgets_cleared_ones() {
    let store = MemoryTaskStore::default();
    let [a, b, c, d] = [1, 2, 3, 4].map(|n| task(n, "ana", minute(0), TaskStatus::New));
    save(&store, &a, None, &[pending(1, minute(3))]).await;
    save(
        &store,
        &b,
        None,
        &[pending(2, minute(1)), pending(3, minute(5))],
    )
    .await;
    save(&store, &c, None, &[]).await;
    save(&store, &d, None, &[pending(4, minute(2))]).await;
    let outbox = |before, limit| {
        let store = store.clone();
        async move { store.list_pending_outbox(before, limit).await.unwrap() }
    };
    assert_eq!(outbox(minute(10), 10).await, [b.id, d.id, a.id]);
    assert_eq!(outbox(minute(10), 2).await, [b.id, d.id]);
    assert_eq!(
        outbox(minute(2), 10).await,
        [b.id],
        "committed before, strictly"
    );

    assert_eq!(
        store.mark_events_published(b.id, 2).await,
        Err(StoreError::Conflict),
        "another version's events are not cleared"
    );
    assert_eq!(outbox(minute(10), 10).await, [b.id, d.id, a.id]);
    store.mark_events_published(b.id, 1).await.unwrap();
    assert_eq!(outbox(minute(10), 10).await, [d.id, a.id]);
    assert!(store.get(b.id).unwrap().pending_events.is_empty());

    // A later command's events keep the task at its oldest pending event...
    let mut a2 = a.clone();
    a2.version = 2;
    save(
        &store,
        &a2,
        Some(1),
        &[pending(1, minute(3)), pending(5, minute(6))],
    )
    .await;
    assert_eq!(outbox(minute(10), 10).await, [d.id, a.id]);
    // ...an outbox that now starts later moves it...
    let mut d2 = d.clone();
    d2.version = 2;
    save(&store, &d2, Some(1), &[pending(6, minute(7))]).await;
    assert_eq!(outbox(minute(10), 10).await, [a.id, d.id]);
    // ...and a write with an empty outbox takes it out.
    let mut a3 = a2.clone();
    a3.version = 3;
    save(&store, &a3, Some(2), &[]).await;
    assert_eq!(outbox(minute(10), 10).await, [d.id]);
}
