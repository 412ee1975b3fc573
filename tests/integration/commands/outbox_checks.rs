//! Outbox checks on moto: a command schedules one before its write, so a write whose events
//! the queue refused stays out of the outbox index, and the check publishes its events; a
//! check whose events are refused again hands its task to the sweep.

use std::collections::BTreeSet;

use chrono::{TimeDelta, Utc};
use http::StatusCode;
use taskpulse_app::{ListPendingOutbox, LoadTask};
use taskpulse_aws::keys;
use taskpulse_devstack::TASKS_TABLE;
use taskpulse_domain::TaskId;
use taskpulse_lambda::relay::{ChecksSummary, check_outboxes, relay_outbox};
use taskpulse_testkit::{ApiClient, pipeline_on_moto, read_item};

use super::{bodies_on_queue, create};

#[tokio::test]
async fn events_refused_after_the_check_stay_out_of_the_index_and_the_check_publishes_them() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let refused = pipeline.api_publishing_with(pipeline.publisher_refused_by_events_queue());
    let refused = ApiClient::new(&refused);
    let mut ids = vec![];
    for n in 0..3 {
        let id = create(&refused, "ck", &format!("checked {n}")).await;
        let reply = refused.change_status("ck", &id, "in_progress").await;
        assert_eq!(reply.status, StatusCode::OK);
        ids.push(id.parse::<TaskId>().unwrap());
    }
    let mut committed = BTreeSet::new();
    for id in &ids {
        let item = read_item(&stack, TASKS_TABLE, keys::task_key(*id)).await;
        assert!(
            !item.contains_key(keys::OUTBOX_PK) && !item.contains_key(keys::OUTBOX_SK),
            "the write entered the outbox index: {item:?}"
        );
        let stored = store.load_task(*id).await.unwrap().unwrap();
        assert_eq!(stored.pending_events.len(), 2);
        committed.extend(stored.pending_events.into_iter().map(|p| p.body));
    }
    let swept = store
        .list_pending_outbox(Utc::now() + TimeDelta::hours(1), 100)
        .await
        .unwrap();
    assert!(swept.is_empty(), "{swept:?}");

    // The checks arrive: one per command, the first of each task publishes both its events.
    let checks = pipeline.take_checks().await.unwrap();
    assert_eq!(checks.records.len(), 6);
    let mut again = checks.clone();
    let (response, summary) = check_outboxes(store, &pipeline.publisher(), checks)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        summary,
        ChecksSummary {
            nothing_pending: 3,
            moved_on: 0,
            tasks_published: 3,
            events_published: 6,
            tasks_indexed: 0,
            retried: 0,
        }
    );
    assert_eq!(bodies_on_queue(&pipeline).await, committed);
    for id in &ids {
        let stored = store.load_task(*id).await.unwrap().unwrap();
        assert!(stored.pending_events.is_empty());
    }

    // Delivered again, a check first indexes its task, on condition that events are pending:
    // none are, so nothing is written and nothing is sent.
    for record in &mut again.records {
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), "2".into());
    }
    let (response, summary) = check_outboxes(store, &pipeline.publisher(), again)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.nothing_pending, 6, "{summary:?}");
    assert!(pipeline.drain().await.unwrap().is_empty());
    for id in &ids {
        let item = read_item(&stack, TASKS_TABLE, keys::task_key(*id)).await;
        assert!(!item.contains_key(keys::OUTBOX_PK), "{item:?}");
    }
}

#[tokio::test]
async fn a_check_whose_events_are_refused_again_hands_its_task_to_the_sweep() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let publisher = pipeline.publisher_refused_by_events_queue();
    let refused = pipeline.api_publishing_with(publisher.clone());
    let refused = ApiClient::new(&refused);
    let id: TaskId = create(&refused, "ck", "refused twice")
        .await
        .parse()
        .unwrap();
    let committed: BTreeSet<String> = store
        .load_task(id)
        .await
        .unwrap()
        .unwrap()
        .pending_events
        .into_iter()
        .map(|p| p.body)
        .collect();

    let checks = pipeline.take_checks().await.unwrap();
    let (response, summary) = check_outboxes(store, &publisher, checks).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.tasks_indexed, 1);
    let item = read_item(&stack, TASKS_TABLE, keys::task_key(id)).await;
    assert!(item.contains_key(keys::OUTBOX_PK), "{item:?}");

    // The queue takes events again: the sweep finds the task and publishes what was committed.
    let report = relay_outbox(store, &pipeline.publisher(), TimeDelta::zero())
        .await
        .unwrap();
    assert_eq!((report.tasks, report.events_published), (1, 1));
    assert_eq!(bodies_on_queue(&pipeline).await, committed);
    let item = read_item(&stack, TASKS_TABLE, keys::task_key(id)).await;
    assert!(!item.contains_key(keys::OUTBOX_PK), "{item:?}");
}

#[tokio::test]
async fn a_check_queue_that_never_answers_is_given_up_within_its_bound() {
    // Accepts connections and never answers a request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let config = taskpulse_devstack::sdk_config_for(&endpoint).await;
    let publisher = taskpulse_aws::SqsEventPublisher::new(
        aws_sdk_sqs::Client::new(&config),
        format!("{endpoint}/000000000000/events"),
    )
    .with_outbox_checks(
        format!("{endpoint}/000000000000/checks"),
        taskpulse_app::relay::OUTBOX_CHECK_DELAY,
    );
    let started = std::time::Instant::now();
    let scheduled = tokio::time::timeout(
        std::time::Duration::from_secs(8),
        taskpulse_app::ScheduleOutboxCheck::schedule_outbox_check(
            &publisher,
            TaskId::from_uuid(uuid::Uuid::now_v7()),
        ),
    )
    .await
    .expect("the check send gives up by itself");
    assert!(scheduled.is_err(), "{scheduled:?}");
    let bound = taskpulse_aws::CHECK_SEND_TIMEOUT;
    assert!(
        started.elapsed() < bound * 3,
        "gave up after {:?}, bound {bound:?}",
        started.elapsed()
    );
    drop(silent);
}
