//! The sample events in `events/` and the state they expect (see `events/README.md`).

use taskpulse_app::{SaveTask, TaskWrite};
use taskpulse_devstack::Stack;
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{EventId, Priority, Task, TaskCommand, TaskId, Title, UserId};

/// The task the sample events refer to.
pub const FIXTURE_TASK_ID: &str = "019ac0a0-0000-7000-8000-0000000000f1";

/// What each API sample event answers when invoked in file order against a stack holding only
/// the fixture task.
pub const API_EVENT_STATUSES: &[(&str, u16)] = &[
    ("api-create-task.json", 201),
    ("api-create-task-invalid.json", 400),
    ("api-create-task-unauthenticated.json", 401),
    ("api-create-task-not-json.json", 415),
    ("api-list-tasks.json", 200),
    ("api-get-task.json", 200),
    ("api-get-task-of-another-user.json", 404),
    ("api-change-status.json", 200),
    ("api-change-priority.json", 200),
    ("api-change-planned-date.json", 200),
    ("api-change-status-stale-if-match.json", 412),
    ("api-complete-task.json", 200),
    ("api-change-priority-of-completed-task.json", 409),
    ("api-analytics-me.json", 200),
    ("api-analytics-global-forbidden.json", 403),
    ("api-analytics-global.json", 200),
];

/// Stores the fixture task (owner `user-1`, status new, version 1) as the API would have.
pub async fn seed_fixture_task(stack: &Stack) {
    let command = TaskCommand::Create(CreateTask {
        task_id: FIXTURE_TASK_ID.parse::<TaskId>().unwrap(),
        owner: UserId::parse("user-1").unwrap(),
        title: Title::parse("Review the onboarding guide").unwrap(),
        description: None,
        priority: Priority::Medium,
        planned_accomplish_date: "2030-01-15T17:00:00Z".parse().unwrap(),
    });
    let created_at = "2026-11-20T08:00:00Z".parse().unwrap();
    let (task, _) = Task::execute(None, &command, created_at, || {
        EventId::from_uuid(uuid::Uuid::from_u128(1))
    })
    .unwrap();
    let store = taskpulse_aws::DynamoTaskStore::new(
        aws_sdk_dynamodb::Client::new(&stack.config),
        stack
            .resources
            .table(taskpulse_devstack::TASKS_TABLE)
            .unwrap(),
    );
    store
        .save_task(TaskWrite {
            task: &task.unwrap(),
            expected_version: None,
            pending_events: &[],
            idempotency: None,
        })
        .await
        .expect("the fixture task is stored");
}

/// The text of the file `name` in `events/`.
pub fn event_file(name: &str) -> String {
    let path = taskpulse_devstack::workspace_root()
        .join("events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
