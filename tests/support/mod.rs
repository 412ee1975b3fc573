//! Shared by the integration tests: a moto server with the template's resources, and helpers
//! that read DynamoDB directly, independently of the adapters under test.

#![allow(dead_code)] // each test binary uses its own subset

use taskpulse_devstack::Stack;
use taskpulse_domain::EventId;
use taskpulse_testkit::AwsPipeline;

/// A fresh moto server with the resources of `template.yaml`, and the pipeline wired to it.
/// Any failure to get there fails the test: these tests never skip.
pub async fn stack() -> (Stack, AwsPipeline) {
    let stack = Stack::start()
        .await
        .unwrap_or_else(|e| panic!("the moto-backed stack could not start: {e}"));
    let pipeline = AwsPipeline::new(&stack.config, &stack.resources)
        .unwrap_or_else(|e| panic!("pipeline wiring failed: {e}"));
    (stack, pipeline)
}

/// The events recorded as applied on a user's day item, read straight from the analytics
/// table (independently of the adapter under test).
pub async fn applied_events(stack: &Stack, user: &str, day: chrono::NaiveDate) -> Vec<EventId> {
    let (pk, sk) =
        taskpulse_aws::keys::user_day_key(&taskpulse_domain::UserId::parse(user).unwrap(), day);
    let item = aws_sdk_dynamodb::Client::new(&stack.config)
        .get_item()
        .table_name(
            stack
                .resources
                .table(taskpulse_devstack::ANALYTICS_TABLE)
                .unwrap(),
        )
        .set_key(Some(taskpulse_aws::keys::key_attributes((pk, sk))))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on the analytics table")
        .item
        .unwrap_or_default();
    item.get(taskpulse_aws::keys::APPLIED_EVENTS)
        .and_then(|v| v.as_bs().ok())
        .map(|set| {
            set.iter()
                .map(|b| EventId::from_uuid(uuid::Uuid::from_slice(b.as_ref()).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// A deadline for handing a batch to the consumer in tests.
pub fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + taskpulse_testkit::CONSUMER_TIMEOUT
}

/// The task the sample events in `events/` refer to.
pub const FIXTURE_TASK_ID: &str = "019ac0a0-0000-7000-8000-0000000000f1";

/// Stores the fixture task (owner `user-1`, status new, version 1) as the API would have.
pub async fn seed_fixture_task(stack: &Stack) {
    use taskpulse_app::{SaveTask, TaskWrite};
    use taskpulse_domain::task::CreateTask;
    use taskpulse_domain::{Priority, Task, TaskCommand, TaskId, Title, UserId};

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
        EventId::from_uuid(uuid_from(1))
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

fn uuid_from(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// What each API sample event answers when invoked in file order against a stack holding only
/// the fixture task (see `events/README.md`).
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

pub fn event_file(name: &str) -> String {
    let path = taskpulse_devstack::workspace_root()
        .join("events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
