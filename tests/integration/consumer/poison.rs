//! Poison messages among good ones, polled like the event source mapping until the redrive
//! policy moves them to the dead-letter queue.

use std::collections::HashMap;

use chrono::Utc;
use taskpulse_app::{PendingEvent, PublishEvents};
use taskpulse_domain::EventId;
use taskpulse_testkit::{HistoryShape, Poison, failed_ids, pipeline_on_moto};

#[tokio::test]
async fn poison_messages_fail_alone_and_reach_the_dlq_through_the_redrive_policy() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let events = HistoryShape::every_counter().generate().events;
    let good = &events[..5];
    let poison = Poison::every_kind(&events[0]);
    let mut messages: Vec<PendingEvent> = good.iter().map(PendingEvent::from_envelope).collect();
    for (n, (kind, body)) in poison.iter().enumerate() {
        messages.push(PendingEvent {
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(0xBAD0 + n as u128)),
            event_type: kind.to_string(),
            body: body.clone(),
            committed_at: Utc::now(),
        });
    }
    pipeline
        .publisher()
        .publish_events(&messages)
        .await
        .unwrap();

    // Poll like the event source mapping; a failed record comes back once its visibility
    // timeout has passed (made immediate here instead of the template's 180 s).
    let mut failures_seen: HashMap<String, usize> = HashMap::new();
    let mut applied = 0;
    for _ in 0..40 {
        let received = pipeline.receive(1).await.unwrap();
        if received.is_empty() {
            break;
        }
        let (response, summary) = pipeline.consume(pipeline.delivery_of(&received)).await;
        applied += summary.applied;
        let failed = failed_ids(&response);
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
    let mut in_dlq = vec![];
    for _ in 0..5 {
        let output = pipeline
            .sqs
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
