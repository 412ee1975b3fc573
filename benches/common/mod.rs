//! A realistic event mix for the benchmarks: many users, a few days, every event type.

#![allow(dead_code)] // each benchmark uses part of it

use chrono::{DateTime, Duration, Utc};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, Title, UserId,
};

/// Events of `tasks` tasks spread over `users` users and `days` UTC days, each task moved
/// through a few commands (start, reprioritise, delay or reschedule, complete on time or
/// late, cancel), in commit order.
pub fn event_mix(users: usize, tasks: usize, days: i64) -> Vec<EventEnvelope> {
    let start: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
    let mut next = 0u128;
    let mut ids = || {
        next += 1;
        EventId::from_uuid(uuid::Uuid::from_u128((0xBE << 64) + next))
    };
    let span_minutes = days * 24 * 60;
    let mut events = vec![];
    for n in 0..tasks {
        let mut now = start + Duration::minutes((n as i64 * 7919) % (span_minutes - 600).max(1));
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(uuid::Uuid::from_u128((0x7A << 64) + n as u128)),
            owner: UserId::parse(&format!("user-{:05}", (n * 7) % users)).unwrap(),
            title: Title::parse("Prepare the weekly report").unwrap(),
            description: None,
            priority: Priority::Medium,
            planned_accomplish_date: now + Duration::hours(4),
        });
        let (mut state, mut emitted) = Task::execute(None, &create, now, &mut ids).unwrap();
        let steps = match n % 6 {
            0 => vec![
                TaskCommand::ChangeStatus {
                    status: TaskStatus::InProgress,
                    at: None,
                },
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Completed,
                    at: None,
                },
            ],
            1 => vec![
                TaskCommand::ChangePriority {
                    priority: Priority::High,
                },
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: now + Duration::hours(9),
                },
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Completed,
                    at: None,
                },
            ],
            2 => vec![TaskCommand::ChangeStatus {
                status: TaskStatus::OnHold,
                at: None,
            }],
            3 => vec![
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: now + Duration::hours(1),
                },
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Cancelled,
                    at: None,
                },
            ],
            4 => vec![TaskCommand::ChangeStatus {
                status: TaskStatus::InProgress,
                at: None,
            }],
            _ => vec![],
        };
        for command in steps {
            now += Duration::minutes(90);
            let (after, more) = Task::execute(state, &command, now, &mut ids).unwrap();
            state = after;
            emitted.extend(more);
        }
        events.extend(emitted);
    }
    events
}

/// A fixed shuffle, so runs are comparable.
pub fn shuffled<T>(mut items: Vec<T>, mut state: u64) -> Vec<T> {
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
    items
}
