//! The analytics consumer against moto: hundreds of events delivered three times each in
//! shuffled batches give exact counters; poison messages fail alone and reach the DLQ through
//! the template's redrive policy; injected conflicts, throttling and lost responses cause no
//! drift.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use taskpulse_app::{PendingEvent, PublishEvents, StoreError};
use taskpulse_aws::{DynamoAnalyticsStore, SqsEventPublisher, TransactOutcome, TransactWrites};
use taskpulse_domain::task::CreateTask;
use taskpulse_domain::{
    EventEnvelope, EventId, Priority, Task, TaskCommand, TaskId, TaskStatus, Title, UserId,
};
use taskpulse_lambda::apigw::HttpApiEvent;
use taskpulse_lambda::consumer::handle_batch;
use taskpulse_testkit::lambda_record;

const USERS: usize = 12;
const TASKS: usize = 100;

/// A deterministic history: TASKS tasks of USERS users over three days, each moved through a
/// few commands. Returns every event and the final states.
fn history() -> (Vec<EventEnvelope>, Vec<Task>) {
    let start: DateTime<Utc> = "2026-11-20T06:00:00Z".parse().unwrap();
    let mut next_id = 0u128;
    let mut ids = || {
        next_id += 1;
        EventId::from_uuid(uuid::Uuid::from_u128(0xE000_0000 + next_id))
    };
    let mut events = vec![];
    let mut finals = vec![];
    for n in 0..TASKS {
        let mut now = start + Duration::minutes(n as i64 * 47);
        let create = TaskCommand::Create(CreateTask {
            task_id: TaskId::from_uuid(uuid::Uuid::from_u128(0x7A5C_0000 + n as u128)),
            owner: UserId::parse(&format!("user-{}", n % USERS)).unwrap(),
            title: Title::parse(&format!("task {n}")).unwrap(),
            description: None,
            priority: Priority::Medium,
            planned_accomplish_date: start + Duration::hours(30),
        });
        let (mut state, mut emitted) = Task::execute(None, &create, now, &mut ids).unwrap();
        let steps: Vec<TaskCommand> = match n % 5 {
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
                    planned_accomplish_date: start + Duration::hours(60),
                },
                TaskCommand::ChangeStatus {
                    status: TaskStatus::OnHold,
                    at: None,
                },
            ],
            2 => vec![
                TaskCommand::ChangePlannedDate {
                    planned_accomplish_date: start + Duration::hours(10),
                },
                TaskCommand::ChangeStatus {
                    status: TaskStatus::Completed,
                    at: None,
                },
            ],
            3 => vec![TaskCommand::ChangeStatus {
                status: TaskStatus::Cancelled,
                at: None,
            }],
            _ => vec![TaskCommand::ChangeStatus {
                status: TaskStatus::InProgress,
                at: None,
            }],
        };
        for command in steps {
            now += Duration::hours(9);
            let (after, more) = Task::execute(state, &command, now, &mut ids).unwrap();
            state = after;
            emitted.extend(more);
        }
        events.extend(emitted);
        finals.push(state.unwrap());
    }
    (events, finals)
}

/// Counters recounted from the final task states and the event times, without the projection.
fn recount(events: &[EventEnvelope], finals: &[Task], user: Option<&str>) -> Value {
    let mine = |t: &&Task| user.is_none_or(|u| t.owner.as_str() == u);
    let tasks: Vec<&Task> = finals.iter().filter(mine).collect();
    let count = |f: &dyn Fn(&Task) -> bool| tasks.iter().filter(|t| f(t)).count() as i64;
    let completed = |t: &Task| t.status() == TaskStatus::Completed;
    let on_time =
        |t: &Task| completed(t) && t.actual_accomplish_date.unwrap() <= t.planned_accomplish_date;
    let lead: i64 = tasks
        .iter()
        .filter_map(|t| {
            t.actual_accomplish_date
                .map(|d| (d - t.created_at).num_seconds())
        })
        .sum();
    let delayed = events
        .iter()
        .filter(|e| user.is_none_or(|u| e.user_id.as_str() == u) && e.event_type() == "TaskDelayed")
        .count() as i64;
    json!({
        "created": tasks.len() as i64,
        "completed": count(&completed),
        "completedOnTime": count(&on_time),
        "completedLate": count(&|t| completed(t) && !on_time(t)),
        "leadTimeSecondsSum": lead,
        "delayed": delayed,
        "open": {
            "new": count(&|t| t.status() == TaskStatus::New),
            "in_progress": count(&|t| t.status() == TaskStatus::InProgress),
            "on_hold": count(&|t| t.status() == TaskStatus::OnHold),
        }
    })
}

fn record(n: usize, body: String) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{n}"));
    message.body = Some(body);
    message
}

/// Shuffles with a fixed xorshift sequence, so a failure is reproducible.
fn shuffle<T>(items: &mut [T], mut state: u64) {
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

async fn analytics(
    pipeline: &taskpulse_testkit::AwsPipeline,
    path: &str,
    user: &str,
    scopes: &[&str],
) -> Value {
    let mut event = HttpApiEvent::new("GET", path).caller(user);
    event.raw_query = "from=2026-11-20&to=2026-11-24".into();
    event.scopes = scopes.iter().map(|s| s.to_string()).collect();
    let response = pipeline.api.handle(event.to_request()).await;
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

fn assert_matches(report: &Value, expected: &Value, who: &str) {
    for counter in [
        "created",
        "completed",
        "completedOnTime",
        "completedLate",
        "leadTimeSecondsSum",
        "delayed",
    ] {
        assert_eq!(
            report["totals"][counter], expected[counter],
            "{who}: {counter}"
        );
    }
    assert_eq!(report["openTasks"], expected["open"], "{who}: open tasks");
}

#[tokio::test]
async fn three_shuffled_deliveries_of_every_event_give_exact_counters() {
    let (_stack, pipeline) = support::stack().await;
    let (events, finals) = history();
    assert!(events.len() >= 300, "{} events", events.len());

    let mut deliveries: Vec<String> = events
        .iter()
        .flat_map(|e| [e.to_json(), e.to_json(), e.to_json()])
        .collect();
    shuffle(&mut deliveries, 0x5EED);
    let mut total = (0, 0);
    let mut n = 0;
    let sizes = [100, 7, 10, 63, 1, 100, 25];
    let mut rest = &deliveries[..];
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*size).min(rest.len()));
        rest = tail;
        let mut event = SqsEvent::default();
        event.records = batch
            .iter()
            .map(|body| {
                n += 1;
                record(n, body.clone())
            })
            .collect();
        let (response, summary) = handle_batch(
            &pipeline.analytics,
            event,
            &pipeline.limits,
            support::deadline(),
        )
        .await
        .unwrap();
        assert!(response.batch_item_failures.is_empty());
        total.0 += summary.applied;
        total.1 += summary.duplicates;
    }
    assert_eq!(
        total,
        (events.len(), 2 * events.len()),
        "(applied, duplicates)"
    );

    let global = analytics(&pipeline, "/analytics/global", "ops", &["analytics:read"]).await;
    assert_matches(&global, &recount(&events, &finals, None), "everyone");
    for user in 0..USERS {
        let user = format!("user-{user}");
        let mine = analytics(&pipeline, "/analytics/me", &user, &[]).await;
        assert_matches(&mine, &recount(&events, &finals, Some(&user)), &user);
    }
    // Per day: tasks created on each UTC day, counted from the events themselves.
    let mut created_per_day: BTreeMap<String, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event_type() == "TaskCreated") {
        *created_per_day
            .entry(e.occurred_at.date_naive().to_string())
            .or_default() += 1;
    }
    for day in global["days"].as_array().unwrap() {
        let date = day["date"].as_str().unwrap();
        assert_eq!(
            day["created"],
            created_per_day.get(date).copied().unwrap_or(0),
            "{date}"
        );
    }
}

/// One message of each kind the consumer must refuse.
fn poison_bodies(valid: &EventEnvelope) -> Vec<(&'static str, String)> {
    let json: Value = serde_json::from_str(&valid.to_json()).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut copy = json.clone();
        f(&mut copy);
        copy.to_string()
    };
    let bodies = vec![
        ("not json", "{\"eventId\": tru".to_owned()),
        (
            "missing field",
            with(&|j| {
                j.as_object_mut().unwrap().remove("taskId");
            }),
        ),
        (
            "unknown type",
            with(&|j| j["eventType"] = json!("TaskArchived")),
        ),
        ("newer schema", with(&|j| j["schemaVersion"] = json!(99))),
        (
            "invalid data",
            with(&|j| j["data"]["priority"] = json!("urgent")),
        ),
    ];
    bodies
}

#[tokio::test]
async fn poison_messages_fail_alone_and_reach_the_dlq_through_the_redrive_policy() {
    let (stack, pipeline) = support::stack().await;
    let (events, _) = history();
    let good = &events[..5];
    let poison = poison_bodies(&events[0]);
    let publisher =
        SqsEventPublisher::new(aws_sdk_sqs::Client::new(&stack.config), &pipeline.queue.url);
    let mut messages: Vec<PendingEvent> = good.iter().map(PendingEvent::from_envelope).collect();
    for (n, (kind, body)) in poison.iter().enumerate() {
        messages.push(PendingEvent {
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(0xBAD0 + n as u128)),
            event_type: kind.to_string(),
            body: body.clone(),
            committed_at: Utc::now(),
        });
    }
    publisher.publish_events(&messages).await.unwrap();

    // Poll like the event source mapping; a failed record comes back once its visibility
    // timeout has passed (made immediate here instead of the template's 180 s).
    let mut failures_seen: HashMap<String, usize> = HashMap::new();
    let mut applied = 0;
    for _ in 0..40 {
        let received = pipeline.receive(1).await.unwrap();
        if received.is_empty() {
            break;
        }
        let mut batch = SqsEvent::default();
        batch.records = received
            .iter()
            .map(|m| lambda_record(m, &pipeline.queue.arn))
            .collect();
        let (response, summary) = handle_batch(
            &pipeline.analytics,
            batch,
            &pipeline.limits,
            support::deadline(),
        )
        .await
        .unwrap();
        applied += summary.applied;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let (bad, done): (Vec<_>, Vec<_>) = received
            .into_iter()
            .partition(|m| failed.contains(&m.message_id().unwrap_or_default()));
        for message in &bad {
            let body = message.body().unwrap().to_owned();
            assert!(
                poison.iter().any(|(_, p)| *p == body),
                "only poison fails, not {body}"
            );
            *failures_seen.entry(body).or_default() += 1;
        }
        pipeline.delete(&done).await.unwrap();
        pipeline.make_visible_now(&bad).await.unwrap();
    }
    assert_eq!(applied, good.len());
    // maxReceiveCount (5, from the template): each poison message failed five times, then moved.
    assert_eq!(failures_seen.len(), poison.len());
    assert!(failures_seen.values().all(|n| *n == 5), "{failures_seen:?}");
    let dlq = stack
        .resources
        .queue(taskpulse_devstack::EVENTS_DLQ)
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let mut in_dlq = vec![];
    for _ in 0..5 {
        let output = sqs
            .receive_message()
            .queue_url(&dlq.url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        in_dlq.extend(
            output
                .messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.body.unwrap_or_default()),
        );
        if in_dlq.len() >= poison.len() {
            break;
        }
    }
    in_dlq.sort();
    let mut expected: Vec<String> = poison.iter().map(|(_, b)| b.clone()).collect();
    expected.sort();
    assert_eq!(in_dlq, expected);
}

/// The failures moto does not produce, injected in front of the real client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// DynamoDB cancels the transaction: another transaction was writing one of its items.
    Conflict,
    /// DynamoDB refuses for capacity.
    Throttled,
    /// The transaction commits, but the response is lost (timeout, crash before it arrives).
    LostResponse,
}

struct FaultyWriter {
    inner: aws_sdk_dynamodb::Client,
    faults: Mutex<Vec<Fault>>,
    calls: AtomicUsize,
}

impl TransactWrites for FaultyWriter {
    async fn transact_write(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            if faults.is_empty() {
                None
            } else {
                Some(faults.remove(0))
            }
        };
        match fault {
            None => self.inner.transact_write(items).await,
            Some(Fault::Conflict) => {
                let reasons = (0..items.len())
                    .map(|i| {
                        CancellationReason::builder()
                            .code(if i == 0 {
                                "TransactionConflict"
                            } else {
                                "None"
                            })
                            .build()
                    })
                    .collect();
                Ok(TransactOutcome::Cancelled(reasons))
            }
            Some(Fault::Throttled) => Err(StoreError::Unavailable(
                "ThrottlingException: rate exceeded".into(),
            )),
            Some(Fault::LostResponse) => {
                let committed = self.inner.transact_write(items).await?;
                assert!(matches!(committed, TransactOutcome::Committed { .. }));
                Err(StoreError::Unavailable(
                    "connection reset before the response".into(),
                ))
            }
        }
    }
}

#[tokio::test]
async fn conflicts_throttling_and_lost_responses_cause_no_drift() {
    let (stack, pipeline) = support::stack().await;
    let (events, finals) = history();
    let writer = FaultyWriter {
        inner: aws_sdk_dynamodb::Client::new(&stack.config),
        faults: Mutex::new(vec![]),
        calls: AtomicUsize::new(0),
    };
    let store = DynamoAnalyticsStore::with_writer(
        writer,
        aws_sdk_dynamodb::Client::new(&stack.config),
        stack
            .resources
            .table(taskpulse_devstack::ANALYTICS_TABLE)
            .unwrap(),
        pipeline.limits.global_shards,
    );
    let mut messages: Vec<SqsMessage> = events
        .iter()
        .enumerate()
        .map(|(n, e)| record(n, e.to_json()))
        .collect();
    shuffle(&mut messages, 42);
    let chunks: Vec<Vec<SqsMessage>> = messages.chunks(40).map(<[_]>::to_vec).collect();
    let scripts = [
        vec![Fault::Conflict, Fault::Conflict, Fault::Throttled],
        vec![Fault::LostResponse],
        vec![Fault::Throttled, Fault::LostResponse, Fault::Conflict],
    ];
    // No time left for retries: the first transient failure is reported.
    let short = tokio::time::Instant::now;
    let mut redeliveries = 0;
    for (n, chunk) in chunks.iter().enumerate() {
        // No time to retry for every third batch (whose script loses a committed response):
        // the records are reported failed, SQS delivers them again, and the redelivery must
        // not count twice.
        let tight = n % 3 == 1;
        *store_writer(&store).faults.lock().unwrap() = scripts[n % scripts.len()].clone();
        let mut batch = SqsEvent::default();
        batch.records = chunk.clone();
        let deadline = if tight { short() } else { support::deadline() };
        let (response, _) = handle_batch(&store, batch, &pipeline.limits, deadline)
            .await
            .unwrap();
        if !response.batch_item_failures.is_empty() {
            redeliveries += 1;
            let failed: Vec<String> = response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            let mut again = SqsEvent::default();
            again.records = chunk
                .iter()
                .filter(|m| failed.contains(m.message_id.as_ref().unwrap()))
                .cloned()
                .collect();
            let (response, _) = handle_batch(&store, again, &pipeline.limits, support::deadline())
                .await
                .unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
    }
    assert!(
        redeliveries > 0,
        "the tight deadlines must have forced at least one redelivery"
    );
    assert!(store_writer(&store).calls.load(Ordering::SeqCst) > chunks.len());

    let global = analytics(&pipeline, "/analytics/global", "ops", &["analytics:read"]).await;
    assert_matches(&global, &recount(&events, &finals, None), "everyone");
    let user = analytics(&pipeline, "/analytics/me", "user-3", &[]).await;
    assert_matches(&user, &recount(&events, &finals, Some("user-3")), "user-3");
}

fn store_writer(store: &DynamoAnalyticsStore<FaultyWriter>) -> &FaultyWriter {
    store.writer()
}
