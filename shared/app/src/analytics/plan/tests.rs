//! The packing of batches, and the property that the whole pure pipeline (projection,
//! packing, all-or-nothing commits of the in-memory table) counts every event exactly once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use taskpulse_domain::analytics::{Counter, EventEffect, ProjectionVersion, add_into, effect};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    DomainError, EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, Title,
    UserId,
};
use uuid::Uuid;

use super::*;
use crate::memory::CounterTable;

pub(crate) fn fake_effect(n: u128, user: &str, day: u32) -> EventEffect {
    EventEffect {
        event_id: EventId::from_uuid(Uuid::from_u128(n)),
        user: UserId::parse(user).unwrap(),
        day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        global_day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        deltas: Deltas::from([(Counter::Created, 1), (Counter::OpenNew, 1)]),
        global_due: vec![],
    }
}

#[test]
fn a_batch_is_merged_per_item_and_packed_within_the_limits() {
    // 3 users x 2 days, 4 events each = 24 events.
    let mut effects = vec![];
    let mut n = 0;
    for user in ["a", "b", "c"] {
        for day in [25, 26] {
            for _ in 0..4 {
                n += 1;
                effects.push(fake_effect(n, user, day));
            }
        }
    }
    let limits = PlanLimits {
        max_items: 100,
        max_events_per_item: 50,
        global_shards: 4,
    };
    let plans = plan_transactions(ProjectionVersion::FIRST, &effects, &limits, || 7);
    assert_eq!(plans.len(), 1);
    let plan = &plans[0];
    assert_eq!(plan.users.len(), 6, "one update per (user, day)");
    assert_eq!(plan.globals.len(), 2, "one update per day");
    assert!(
        plan.users
            .iter()
            .all(|u| u.deltas[&Counter::Created] == 4 && u.events.len() == 4)
    );
    assert!(
        plan.globals
            .iter()
            .all(|g| g.deltas[&Counter::Created] == 12 && g.shard == 3)
    );

    let tight = PlanLimits {
        max_items: 4,
        max_events_per_item: 3,
        global_shards: 4,
    };
    let plans = plan_transactions(ProjectionVersion::FIRST, &effects, &tight, || 0);
    let mut events: Vec<EventId> = plans.iter().flat_map(|p| p.events()).collect();
    events.sort();
    events.dedup();
    assert_eq!(events.len(), 24, "every event planned exactly once");
    for plan in &plans {
        assert!(plan.item_count() <= 4);
        let mut keys: Vec<_> = plan.users.iter().map(|u| (u.user.clone(), u.day)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            plan.users.len(),
            "no item twice in one transaction"
        );
        assert!(plan.users.iter().all(|u| u.events.len() <= 3));
        let created: i64 = plan.users.iter().map(|u| u.deltas[&Counter::Created]).sum();
        let global: i64 = plan
            .globals
            .iter()
            .map(|g| g.deltas[&Counter::Created])
            .sum();
        assert_eq!(
            created, global,
            "globals carry exactly the transaction's user deltas"
        );
    }
}

/// One step of a random history: which command, and how many minutes later it is issued.
#[derive(Debug, Clone)]
enum Step {
    Status(TaskStatus, bool),
    Priority(Priority),
    Planned(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            prop::sample::select(TaskStatus::ALL.to_vec()),
            any::<bool>()
        )
            .prop_map(|(s, backdate)| Step::Status(s, backdate)),
        prop::sample::select(Priority::ALL.to_vec()).prop_map(Step::Priority),
        (-5_000i64..5_000).prop_map(Step::Planned),
    ]
}

proptest! {
    /// Any history of valid commands yields a consistent state; replaying the emitted events
    /// rebuilds it exactly; and the consumer's pure pipeline (projection, batch planning,
    /// conditional commits) over a shuffled delivery with duplicates, in random batches,
    /// gives counters equal to a recount from the final task states.
    #[test]
    fn counters_from_shuffled_duplicated_batches_match_a_recount_of_final_states(
        histories in prop::collection::vec(prop::collection::vec((step(), 1i64..3_000), 0..12), 1..8),
        copies in prop::collection::vec(1usize..4, 100),
        seed in any::<u64>(),
        batch_sizes in prop::collection::vec(1usize..40, 1..20),
        max_items in 3usize..12,
        max_events_per_item in 1usize..4,
    ) {
        let start: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
        let mut next = 0u128;
        let mut all_events = Vec::new();
        let mut finals = Vec::new();
        for (n, steps) in histories.iter().enumerate() {
            let mut now = start + Duration::minutes(n as i64 * 7);
            let create = TaskCommand::Create(CreateTask {
                task_id: TaskId::from_uuid(Uuid::from_u128(n as u128 + 1)),
                owner: UserId::parse(&format!("user-{}", n % 3)).unwrap(),
                title: Title::parse("task").unwrap(),
                description: None,
                priority: Priority::Medium,
                planned_accomplish_date: start + Duration::days(2),
            });
            let mut ids = || { next += 1; EventId::from_uuid(Uuid::from_u128(next)) };
            let (mut state, mut events) = Task::execute(None, &create, now, &mut ids).unwrap();
            for (step, minutes) in steps {
                now += Duration::minutes(*minutes);
                let task = state.clone().unwrap();
                let command = match *step {
                    Step::Status(status, backdate) => TaskCommand::ChangeStatus {
                        status,
                        at: backdate.then(|| now - Duration::minutes(minutes / 2)),
                    },
                    Step::Priority(priority) => TaskCommand::ChangePriority { priority },
                    Step::Planned(delta) => TaskCommand::ChangePlannedDate {
                        planned_accomplish_date: task.planned_accomplish_date + Duration::minutes(delta),
                    },
                };
                match Task::execute(state.clone(), &command, now, &mut ids) {
                    Ok((after, emitted)) => {
                        prop_assert_eq!(after.as_ref().unwrap().version, task.version + emitted.len() as u64);
                        state = after;
                        events.extend(emitted);
                    }
                    Err(e) => prop_assert!(
                        task.status().is_terminal()
                            || matches!(e, DomainError::AtBeforeCurrentStatus { .. }),
                        "unexpected refusal {:?}", e
                    ),
                }
            }
            let mut replayed = None;
            for e in &events {
                replayed = Some(Task::apply(replayed, e).unwrap());
            }
            prop_assert_eq!(&replayed, &state);
            all_events.extend(events);
            finals.push(state.unwrap());
        }

        // Delivery: every event one to three times, shuffled, cut into batches.
        let mut deliveries: Vec<&EventEnvelope> = all_events
            .iter()
            .enumerate()
            .flat_map(|(i, e)| std::iter::repeat_n(e, copies[i % copies.len()]))
            .collect();
        let mut state = seed | 1;
        for i in (1..deliveries.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            deliveries.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let limits = PlanLimits { max_items, max_events_per_item, global_shards: 3 };
        let mut table = CounterTable::default();
        let mut shard = 0u32;
        let mut rest = &deliveries[..];
        let mut size = batch_sizes.iter().cycle();
        while !rest.is_empty() {
            let (batch, tail) = rest.split_at((*size.next().unwrap()).min(rest.len()));
            rest = tail;
            let mut seen = std::collections::HashSet::new();
            let mut pending: Vec<EventEffect> = batch
                .iter()
                .filter(|e| seen.insert(e.event_id))
                .map(|e| effect(e))
                .collect();
            while !pending.is_empty() {
                let plans = plan_transactions(ProjectionVersion::FIRST, &pending, &limits, || { shard += 1; shard });
                for plan in &plans {
                    prop_assert!(plan.item_count() <= max_items.max(2));
                }
                let mut retry = vec![];
                for plan in plans {
                    if let Err(duplicates) = table.commit(&plan) {
                        prop_assert!(!duplicates.is_empty());
                        let events: Vec<EventId> = plan.events().filter(|e| !duplicates.contains(e)).collect();
                        retry.extend(pending.iter().filter(|p| events.contains(&p.event_id)).cloned());
                    }
                }
                pending = retry;
            }
        }
        let mut global: BTreeMap<Counter, i64> = BTreeMap::new();
        let days: std::collections::BTreeSet<_> = all_events.iter().map(|e| e.occurred_at.date_naive()).collect();
        for day in &days {
            add_into(&mut global, &table.global_day(*day));
        }
        let mut per_user: BTreeMap<Counter, i64> = BTreeMap::new();
        for user in 0..3 {
            let user = UserId::parse(&format!("user-{user}")).unwrap();
            for day in &days {
                add_into(&mut per_user, &table.user_day(&user, *day));
            }
        }
        // A counter that nets to zero may be absent on one side and 0 on the other.
        per_user.retain(|_, v| *v != 0);
        let mut global_non_zero = global.clone();
        global_non_zero.retain(|_, v| *v != 0);
        prop_assert_eq!(&per_user, &global_non_zero, "users sum to everyone");
        let count = |f: &dyn Fn(&Task) -> bool| finals.iter().filter(|t| f(t)).count() as i64;
        let get = |c: Counter| global.get(&c).copied().unwrap_or(0);
        prop_assert_eq!(get(Counter::Created), finals.len() as i64);
        prop_assert_eq!(get(Counter::Completed), count(&|t| t.status() == TaskStatus::Completed));
        prop_assert_eq!(get(Counter::CompletedOnTime), count(&|t| t.status() == TaskStatus::Completed
            && t.actual_accomplish_date.unwrap() <= t.planned_accomplish_date));
        prop_assert_eq!(get(Counter::OpenNew), count(&|t| t.status() == TaskStatus::New));
        prop_assert_eq!(get(Counter::OpenInProgress), count(&|t| t.status() == TaskStatus::InProgress));
        prop_assert_eq!(get(Counter::OpenOnHold), count(&|t| t.status() == TaskStatus::OnHold));
        let lead: i64 = finals.iter().filter_map(|t| t.actual_accomplish_date
            .map(|done| (done - t.created_at).num_seconds().max(0))).sum();
        prop_assert_eq!(get(Counter::LeadTimeSecondsSum), lead);
    }
}

#[test]
fn a_global_update_moves_no_more_counters_than_an_update_expression_holds() {
    use taskpulse_domain::analytics::{HISTOGRAM_BUCKETS, Histogram};
    // 376 events of distinct users on one day, each in its own histogram bucket.
    let mut effects = vec![];
    for (n, histogram) in [Histogram::LeadTime, Histogram::Delay]
        .into_iter()
        .enumerate()
    {
        for bucket in 0..HISTOGRAM_BUCKETS {
            let id = (n * HISTOGRAM_BUCKETS + bucket) as u128;
            let mut effect = fake_effect(id, &format!("user-{id}"), 26);
            effect
                .deltas
                .add(Counter::Bucket(histogram, bucket as u8), 1);
            effects.push(effect);
        }
    }
    let plans = plan_transactions(
        ProjectionVersion::FIRST,
        &effects,
        &PlanLimits::default(),
        || 0,
    );
    assert!(
        plans.len() >= 2,
        "one transaction would move 378 global counters"
    );
    for plan in &plans {
        for global in &plan.globals {
            assert!(
                global.deltas.len() <= MAX_COUNTERS_PER_UPDATE,
                "{}",
                global.deltas.len()
            );
        }
    }
    let planned: usize = plans.iter().map(|p| p.events().count()).sum();
    assert_eq!(planned, effects.len());
}
