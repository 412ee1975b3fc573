//! The erasure's Lambda path against moto: `DELETE /me` through the API handler puts a work
//! message on the erasure queue; the eraser's batch handler takes the message received from
//! that queue, settles (continuing in a delayed message), erases up to the archive, hands the
//! user's archive day out as a message of its own, rewrites that day when the message comes
//! back, then completes; the status follows, and the identity is refused from the request on.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::TimeDelta;
use http::StatusCode;
use taskpulse_lambda::erasure::work::ErasureWork;
use taskpulse_lambda::erasure::worker::ErasureWorker;
use taskpulse_testkit::{AwsPipeline, lambda_record, pipeline_on_moto};

use super::{archive_texts, count_queued_events, new_task};

/// Receives what is on the erasure queue (waiting up to `wait` for it) as the batch Lambda
/// hands the eraser, and deletes it from the queue.
async fn take_erasure_work(pipeline: &AwsPipeline, wait: Duration) -> SqsEvent {
    let give_up = tokio::time::Instant::now() + wait;
    loop {
        let received = pipeline
            .sqs
            .receive_message()
            .queue_url(&pipeline.erasure_queue.url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        if !messages.is_empty() || tokio::time::Instant::now() >= give_up {
            for message in messages {
                pipeline
                    .sqs
                    .delete_message()
                    .queue_url(&pipeline.erasure_queue.url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            let mut event = SqsEvent::default();
            event.records = messages
                .iter()
                .map(|m| lambda_record(m, &pipeline.erasure_queue.arn))
                .collect();
            return event;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn delete_me_goes_through_the_erasure_queue_to_the_eraser_and_completes() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    for _ in 0..2 {
        let created = client
            .create_task("ana", &new_task("Pay rent"))
            .send()
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    assert_eq!(count_queued_events(&pipeline).await, 2);
    let asked = client.erase_me("ana").send().await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.body);
    let refused = client
        .create_task("ana", &new_task("One more"))
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::GONE);

    let worker = |settle: TimeDelta| ErasureWorker {
        tasks: pipeline.tasks().clone(),
        publisher: pipeline.publisher(),
        analytics: pipeline.analytics.clone(),
        archive: pipeline.archive.clone(),
        work: pipeline.erasure_work(),
        settle,
    };
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);
    // Settling: the eraser continues the erasure in a delayed message and deletes nothing.
    let work = take_erasure_work(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(work.records.len(), 1);
    let body = work.records[0].body.clone().unwrap();
    assert_eq!(body, r#"{"eraseUser":"ana"}"#);
    let (response, summary) = worker(TimeDelta::seconds(5))
        .handle_batch(work, deadline())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.continued, 1);
    assert_eq!(
        client.my_erasure("ana").send().await.body["step"],
        "settling"
    );

    // The continuation arrives after its delay; the settled erasure runs up to the archive,
    // hands its one day out and waits for it.
    let work = take_erasure_work(&pipeline, Duration::from_secs(20)).await;
    assert_eq!(work.records.len(), 1, "the continuation");
    assert_eq!(work.records[0].body.as_deref(), Some(body.as_str()));
    let (response, summary) = worker(TimeDelta::seconds(5))
        .handle_batch(work, deadline())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.continued, 1, "{summary:?}");
    assert_eq!(
        client.my_erasure("ana").send().await.body["step"],
        "archiveRewrites"
    );
    let work = take_erasure_work(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(work.records.len(), 1, "the day is handed out at once");
    let handed_out = ErasureWork::parse(work.records[0].body.as_deref().unwrap());
    assert!(
        matches!(&handed_out, Ok(ErasureWork::RewriteArchiveDay(user, _)) if user.as_str() == "ana"),
        "{handed_out:?}"
    );
    let (response, summary) = worker(TimeDelta::seconds(5))
        .handle_batch(work, deadline())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.archive_days, 1, "{summary:?}");
    assert!(
        archive_texts(&pipeline)
            .await
            .iter()
            .all(|text| !text.contains("\"ana\""))
    );

    // The erasure looks again a few seconds later, finds the day's marker and completes.
    let work = take_erasure_work(&pipeline, Duration::from_secs(20)).await;
    assert_eq!(work.records[0].body.as_deref(), Some(body.as_str()));
    let (response, summary) = worker(TimeDelta::seconds(5))
        .handle_batch(work, deadline())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.completed, 1, "{summary:?}");
    let status = client.my_erasure("ana").send().await;
    assert_eq!(status.body["state"], "complete", "{:?}", status.body);
    assert_eq!(status.body["erased"]["tasks"], 2);
    assert_eq!(status.body["erased"]["archiveDaysRewritten"], 1);
    assert_eq!(status.body["erased"]["archiveObjectsRewritten"], 1);
    let operator = client
        .user_erasure("ops", "ana")
        .scopes(&["users:erase"])
        .send()
        .await;
    assert_eq!(operator.body, status.body);
    assert_eq!(
        client.list_tasks("ana", "").send().await.status,
        StatusCode::GONE
    );
    assert!(
        take_erasure_work(&pipeline, Duration::ZERO)
            .await
            .records
            .is_empty(),
        "nothing more to do"
    );
}
