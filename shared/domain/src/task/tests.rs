use super::*;
use chrono::Duration;
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn ids() -> impl FnMut() -> EventId {
    let mut n = 0u128;
    move || {
        n += 1;
        EventId::from_uuid(Uuid::from_u128(n))
    }
}

fn create(planned: &str) -> TaskCommand {
    TaskCommand::Create(CreateTask {
        task_id: TaskId::from_uuid(Uuid::from_u128(42)),
        owner: UserId::parse("user-1").unwrap(),
        title: Title::parse("Ship it").unwrap(),
        description: None,
        priority: Priority::Medium,
        planned_accomplish_date: at(planned),
    })
}

fn created_task(now: &str, planned: &str) -> Task {
    let (task, events) = Task::execute(None, &create(planned), at(now), ids()).unwrap();
    assert_eq!(events.len(), 1);
    task.unwrap()
}

#[test]
fn create_emits_task_created_with_sequence_one() {
    let now = at("2026-11-26T10:00:00Z");
    let (task, events) = Task::execute(None, &create("2026-11-30T00:00:00Z"), now, ids()).unwrap();
    let task = task.unwrap();
    assert_eq!(task.version, 1);
    assert_eq!(task.status(), TaskStatus::New);
    assert_eq!(task.created_at, now);
    assert_eq!(events[0].sequence, 1);
    assert_eq!(events[0].event_type(), "TaskCreated");
    assert_eq!(events[0].occurred_at, now);
    assert_eq!(events[0].user_id.as_str(), "user-1");
}

#[test]
fn creating_twice_is_refused() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let err = Task::handle(
        Some(&task),
        &create("2026-11-30T00:00:00Z"),
        task.created_at,
    );
    assert!(matches!(err, Err(DomainError::AlreadyExists(_))));
}

#[test]
fn commands_on_a_missing_task_are_not_found() {
    let cmd = TaskCommand::ChangePriority {
        priority: Priority::High,
    };
    assert_eq!(
        Task::handle(None, &cmd, at("2026-11-26T10:00:00Z")),
        Err(DomainError::NotFound)
    );
}

#[test]
fn setting_the_same_status_is_a_no_op() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let cmd = TaskCommand::ChangeStatus {
        status: TaskStatus::New,
        at: None,
    };
    let (after, events) =
        Task::execute(Some(task.clone()), &cmd, at("2026-11-27T00:00:00Z"), ids()).unwrap();
    assert!(events.is_empty());
    assert_eq!(after, Some(task));
}

#[test]
fn completing_on_time_and_late() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    for (when, on_time) in [
        ("2026-11-30T00:00:00Z", true),
        ("2026-11-30T00:00:01Z", false),
    ] {
        let cmd = TaskCommand::ChangeStatus {
            status: TaskStatus::Completed,
            at: None,
        };
        let (after, events) = Task::execute(Some(task.clone()), &cmd, at(when), ids()).unwrap();
        let after = after.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].sequence, 2);
        assert_eq!(events[1].sequence, 3);
        let TaskEvent::Completed(done) = &events[1].event else {
            panic!("second event must be TaskCompleted, got {:?}", events[1]);
        };
        assert_eq!(done.on_time, on_time);
        assert_eq!(
            done.lead_time_seconds,
            (at(when) - task.created_at).num_seconds() as u64
        );
        assert_eq!(after.actual_accomplish_date, Some(at(when)));
        assert_eq!(after.status(), TaskStatus::Completed);
        assert_eq!(after.version, 3);
    }
}

#[test]
fn terminal_tasks_refuse_changes() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let cancel = TaskCommand::ChangeStatus {
        status: TaskStatus::Cancelled,
        at: None,
    };
    let (task, _) = Task::execute(Some(task), &cancel, at("2026-11-27T00:00:00Z"), ids()).unwrap();
    let task = task.unwrap();
    let err = Task::handle(
        Some(&task),
        &TaskCommand::ChangePriority {
            priority: Priority::Low,
        },
        at("2026-11-28T00:00:00Z"),
    );
    assert_eq!(err, Err(DomainError::Terminal(TaskStatus::Cancelled)));
}

#[test]
fn status_time_must_be_neither_future_nor_before_current_status() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let now = at("2026-11-27T00:00:00Z");
    let future = TaskCommand::ChangeStatus {
        status: TaskStatus::InProgress,
        at: Some(now + Duration::seconds(1)),
    };
    assert!(matches!(
        Task::handle(Some(&task), &future, now),
        Err(DomainError::AtInFuture { .. })
    ));
    let before = TaskCommand::ChangeStatus {
        status: TaskStatus::InProgress,
        at: Some(task.created_at - Duration::seconds(1)),
    };
    assert!(matches!(
        Task::handle(Some(&task), &before, now),
        Err(DomainError::AtBeforeCurrentStatus { .. })
    ));
}

#[test]
fn moving_the_planned_date_delays_or_reschedules() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let now = at("2026-11-27T00:00:00Z");
    let later = TaskCommand::ChangePlannedDate {
        planned_accomplish_date: at("2026-12-01T00:00:00Z"),
    };
    let events = Task::handle(Some(&task), &later, now).unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::Delayed(TaskDelayed {
            from: at("2026-11-30T00:00:00Z"),
            to: at("2026-12-01T00:00:00Z"),
            delay_seconds: 86_400,
            from_local_day: None,
            to_local_day: None,
        })]
    );
    let earlier = TaskCommand::ChangePlannedDate {
        planned_accomplish_date: at("2026-11-29T00:00:00Z"),
    };
    assert!(matches!(
        Task::handle(Some(&task), &earlier, now).unwrap()[..],
        [TaskEvent::Rescheduled(_)]
    ));
    let same = TaskCommand::ChangePlannedDate {
        planned_accomplish_date: task.planned_accomplish_date,
    };
    assert!(Task::handle(Some(&task), &same, now).unwrap().is_empty());
}

#[test]
fn apply_refuses_gaps_and_foreign_events() {
    let task = created_task("2026-11-26T10:00:00Z", "2026-11-30T00:00:00Z");
    let cmd = TaskCommand::ChangePriority {
        priority: Priority::High,
    };
    let (_, mut events) =
        Task::execute(Some(task.clone()), &cmd, at("2026-11-27T00:00:00Z"), ids()).unwrap();
    let mut gap = events[0].clone();
    gap.sequence = 3;
    assert!(matches!(
        Task::apply(Some(task.clone()), &gap),
        Err(DomainError::EventOutOfSequence {
            version: 1,
            found: 3
        })
    ));
    events[0].task_id = TaskId::from_uuid(Uuid::from_u128(99));
    assert!(matches!(
        Task::apply(Some(task), &events[0]),
        Err(DomainError::EventForAnotherTask { .. })
    ));
}

#[test]
fn a_task_is_due_on_the_local_day_its_date_had_when_set_whatever_zone_comes_later() {
    let tokyo = crate::TimeZone::parse("Asia/Tokyo").unwrap();
    let utc = crate::TimeZone::utc();
    // 2026-11-30T20:00:00Z is 05:00 on 2026-12-01 in Tokyo.
    let (task, events) = Task::execute_in_zone(
        None,
        &create("2026-11-30T20:00:00Z"),
        at("2026-11-26T10:00:00Z"),
        &tokyo,
        ids(),
    )
    .unwrap();
    let task = task.unwrap();
    let dec = |d: u32| Some(NaiveDate::from_ymd_opt(2026, 12, d).unwrap());
    assert_eq!(task.planned_local_day, dec(1));
    assert!(matches!(&events[0].event, TaskEvent::Created(c) if c.planned_local_day == dec(1)));
    // Delayed by a user now in UTC: it leaves the Tokyo day and arrives on a UTC one.
    let (task, events) = Task::execute_in_zone(
        Some(task),
        &TaskCommand::ChangePlannedDate {
            planned_accomplish_date: at("2026-12-02T20:00:00Z"),
        },
        at("2026-11-27T10:00:00Z"),
        &utc,
        ids(),
    )
    .unwrap();
    let task = task.unwrap();
    match &events[0].event {
        TaskEvent::Delayed(delay) => {
            assert_eq!((delay.from_local_day, delay.to_local_day), (dec(1), None))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(task.planned_local_day, None, "its UTC date");
    // Moved again in Tokyo, then cancelled in UTC: the cancellation names the Tokyo day.
    let (task, _) = Task::execute_in_zone(
        Some(task),
        &TaskCommand::ChangePlannedDate {
            planned_accomplish_date: at("2026-12-03T20:00:00Z"),
        },
        at("2026-11-28T10:00:00Z"),
        &tokyo,
        ids(),
    )
    .unwrap();
    let task = task.unwrap();
    assert_eq!(task.planned_local_day, dec(4));
    let cancel = TaskCommand::ChangeStatus {
        status: TaskStatus::Cancelled,
        at: None,
    };
    let (_, events) = Task::execute_in_zone(
        Some(task.clone()),
        &cancel,
        at("2026-11-29T10:00:00Z"),
        &utc,
        ids(),
    )
    .unwrap();
    match &events[..] {
        [envelope] => match &envelope.event {
            TaskEvent::StatusChanged(change) => assert_eq!(
                (change.planned_accomplish_date, change.planned_local_day),
                (Some(at("2026-12-03T20:00:00Z")), dec(4))
            ),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // A completion carries it too, and other status changes carry no planned date.
    let complete = TaskCommand::ChangeStatus {
        status: TaskStatus::Completed,
        at: None,
    };
    let (done, events) = Task::execute_in_zone(
        Some(task),
        &complete,
        at("2026-11-29T10:00:00Z"),
        &utc,
        ids(),
    )
    .unwrap();
    match &events[..] {
        [first, second] => {
            assert!(matches!(&first.event, TaskEvent::StatusChanged(c)
                if c.planned_accomplish_date.is_none() && c.planned_local_day.is_none()));
            assert!(
                matches!(&second.event, TaskEvent::Completed(c) if c.planned_local_day == dec(4))
            );
            assert_eq!(
                done.unwrap().completion().map(|c| c.planned_local_day),
                Some(dec(4))
            );
        }
        other => panic!("{other:?}"),
    }
}
