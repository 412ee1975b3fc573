//! A deterministic event history for the unit tests of the archive and the rebuild: tasks of
//! three users over a few days, every priority, some completed (on time and late), some
//! delayed.

use chrono::{DateTime, Duration, Utc};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, Title, UserId,
};
use uuid::Uuid;

/// The events of `tasks` tasks created over `days` days from 2026-11-28.
pub(crate) fn history(tasks: u128, days: i64) -> Vec<EventEnvelope> {
    let start: DateTime<Utc> = "2026-11-28T09:00:00Z".parse().unwrap();
    let mut next_id = 0u128;
    let mut ids = || {
        next_id += 1;
        EventId::from_uuid(Uuid::from_u128(1 << 64 | next_id))
    };
    let mut events = vec![];
    for n in 0..tasks {
        let created_at =
            start + Duration::days(n as i64 % days.max(1)) + Duration::minutes(n as i64);
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(Uuid::from_u128(n + 1)),
            owner: UserId::parse(&format!("user-{}", n % 3)).unwrap(),
            title: Title::parse(&format!("task {n}")).unwrap(),
            description: None,
            priority: Priority::ALL[n as usize % 4],
            planned_accomplish_date: created_at + Duration::hours(4),
        });
        let (mut task, emitted) = Task::execute(None, &create, created_at, &mut ids).unwrap();
        events.extend(emitted);
        let later = created_at + Duration::hours(if n % 2 == 0 { 2 } else { 6 });
        let mut step = |task: Option<Task>, command: TaskCommand| {
            let (after, emitted) = Task::execute(task, &command, later, &mut ids).unwrap();
            events.extend(emitted);
            after
        };
        if n % 5 == 0 {
            task = step(
                task.clone(),
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: created_at + Duration::days(1),
                },
            );
        }
        if n % 3 != 2 {
            step(
                task,
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Completed,
                    at: None,
                },
            );
        }
    }
    events
}
