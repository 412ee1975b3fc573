//! The sample events in `events/` and the state they expect (see `events/README.md`).

use std::future::Future;

use serde_json::{Value, json};
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
    ("api-put-settings.json", 200),
    ("api-erase-me.json", 202),
];

/// The consumer's sample events, in the order `events/README.md` gives.
pub const CONSUMER_EVENTS: [&str; 2] = [
    "consumer-task-created.json",
    "consumer-batch-with-poison.json",
];
/// The relay's sample events: its schedule's, and a batch from the outbox checks' queue.
pub const RELAY_EVENTS: [&str; 2] = ["relay-scheduled.json", "relay-outbox-check.json"];
/// The eraser's sample events: the work message `api-erase-me.json` sends, and the message
/// of one archive day an erasure hands out.
pub const ERASER_EVENTS: [&str; 2] = ["eraser-erase-user.json", "eraser-rewrite-archive-day.json"];
/// The rebuild functions' sample events, in order: the coordinator's, then the worker's.
pub const REBUILD_EVENTS: [&str; 2] = [
    "rebuild-coordinator-start.json",
    "rebuild-worker-partition.json",
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
            outbox_indexed: true,
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

/// The functions the sample events are for, as cargo-lambda (the binary) and SAM (the
/// template's logical id) name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFunction {
    Api,
    Consumer,
    Relay,
    RebuildCoordinator,
    RebuildWorker,
    Eraser,
}

impl SampleFunction {
    pub fn binary(self) -> &'static str {
        match self {
            Self::Api => "taskpulse-api",
            Self::Consumer => "taskpulse-consumer",
            Self::Relay => "taskpulse-relay",
            Self::RebuildCoordinator => "taskpulse-rebuild-coordinator",
            Self::RebuildWorker => "taskpulse-rebuild-worker",
            Self::Eraser => "taskpulse-eraser",
        }
    }

    pub fn logical_id(self) -> &'static str {
        match self {
            Self::Api => "ApiFunction",
            Self::Consumer => "ConsumerFunction",
            Self::Relay => "RelayFunction",
            Self::RebuildCoordinator => "RebuildCoordinatorFunction",
            Self::RebuildWorker => "RebuildWorkerFunction",
            Self::Eraser => "EraserFunction",
        }
    }
}

/// Invokes the API, consumer, relay and eraser sample events through `invoke` (the function and the
/// file name in `events/`, answering the function's JSON response), in the order
/// `events/README.md` gives, against a stack holding only the fixture task, and checks each
/// documented result.
pub async fn check_api_consumer_and_relay_events<F, Fut>(invoke: F)
where
    F: Fn(SampleFunction, &'static str) -> Fut,
    Fut: Future<Output = Value>,
{
    let mut invoke = RecordedInvoke::new(invoke);
    for (file, status) in API_EVENT_STATUSES {
        let response = invoke.call(SampleFunction::Api, file).await;
        assert_eq!(response["statusCode"], *status, "{file}: {response}");
        if *file == "api-get-task.json" {
            let task: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            assert_eq!(task["id"], FIXTURE_TASK_ID);
        }
    }

    let response = invoke
        .call(SampleFunction::Consumer, "consumer-task-created.json")
        .await;
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let response = invoke
        .call(SampleFunction::Consumer, "consumer-batch-with-poison.json")
        .await;
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "5f1c3f4e-2222-4c1a-9d5e-000000000002",
            "5f1c3f4e-2222-4c1a-9d5e-000000000004"
        ]
    );

    // The API published its events, so the relay finds nothing pending.
    let response = invoke
        .call(SampleFunction::Relay, "relay-scheduled.json")
        .await;
    assert_eq!(response["eventsPublished"], 0, "{response}");
    assert_eq!(response["tasksFailed"], 0, "{response}");
    // A check of the fixture task finds it published; the record that is no check is retried.
    let response = invoke
        .call(SampleFunction::Relay, "relay-outbox-check.json")
        .await;
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "7a2d9c10-3333-4c1a-9d5e-000000000002"}]),
        "{response}"
    );

    // `api-erase-me.json` recorded user-3's erasure: the eraser takes it up (and, settling,
    // continues it in a delayed message) without failing the record.
    let response = invoke
        .call(SampleFunction::Eraser, "eraser-erase-user.json")
        .await;
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    // A day of user-3's archive, handed out before the erasure reaches its archive steps (a
    // message from an earlier round, say): nothing to do, and the record is not failed.
    let response = invoke
        .call(SampleFunction::Eraser, "eraser-rewrite-archive-day.json")
        .await;
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");

    let listed: Vec<&str> = API_EVENT_STATUSES
        .iter()
        .map(|(file, _)| *file)
        .chain(CONSUMER_EVENTS)
        .chain(RELAY_EVENTS)
        .chain(ERASER_EVENTS)
        .collect();
    invoke.assert_invoked(&listed);
}

/// Invokes the rebuild sample events through `invoke` after
/// [`check_api_consumer_and_relay_events`] (the consumer archived 2026-11-26) and checks their
/// documented results: the coordinator starts version 2 with that one partition enqueued, and
/// the worker backfills it.
pub async fn check_rebuild_events<F, Fut>(invoke: F)
where
    F: Fn(SampleFunction, &'static str) -> Fut,
    Fut: Future<Output = Value>,
{
    let mut invoke = RecordedInvoke::new(invoke);
    let answer = invoke
        .call(
            SampleFunction::RebuildCoordinator,
            "rebuild-coordinator-start.json",
        )
        .await;
    let started = &answer["started"];
    assert_eq!(
        (&started["version"], &started["projection"]),
        (&json!(2), &json!("tasks-by-priority")),
        "{answer}"
    );
    assert_eq!(
        (&started["pending"], &started["enqueued"]),
        (&json!(1), &json!(1)),
        "{answer}"
    );
    assert!(
        started["delaySeconds"].as_u64().is_some_and(|d| d <= 35),
        "{answer}"
    );

    let response = invoke
        .call(
            SampleFunction::RebuildWorker,
            "rebuild-worker-partition.json",
        )
        .await;
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    invoke.assert_invoked(&REBUILD_EVENTS);
}

/// An `invoke` function that records the files it is called with, so that a check can show it
/// invoked every listed sample event, in order (a listed file left out would go unchecked).
struct RecordedInvoke<F> {
    invoke: F,
    invoked: Vec<&'static str>,
}

impl<F, Fut> RecordedInvoke<F>
where
    F: Fn(SampleFunction, &'static str) -> Fut,
    Fut: Future<Output = Value>,
{
    fn new(invoke: F) -> Self {
        Self {
            invoke,
            invoked: Vec::new(),
        }
    }

    fn call(&mut self, function: SampleFunction, file: &'static str) -> Fut {
        self.invoked.push(file);
        (self.invoke)(function, file)
    }

    fn assert_invoked(&self, listed: &[&str]) {
        assert_eq!(
            self.invoked, listed,
            "every listed sample event is invoked, in order"
        );
    }
}
