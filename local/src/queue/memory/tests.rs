//! The in-process queue as SQS behaves: visibility timeouts, delays, receipts, the redrive
//! to the dead letters.

use super::*;

const LONG: Duration = Duration::from_secs(60);

fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

#[tokio::test]
async fn a_received_message_is_hidden_until_deleted_or_its_visibility_timeout_passes() {
    let queue = MemoryQueue::new(5);
    queue.send("a".into(), None).unwrap();
    queue.send("b".into(), None).unwrap();
    let first = queue.try_receive(1, LONG);
    assert_eq!(bodies(&first), ["a"]);
    assert_eq!(first[0].receive_count, 1);
    assert_eq!(bodies(&queue.try_receive(10, LONG)), ["b"]);
    assert!(queue.try_receive(10, LONG).is_empty());
    assert_eq!(
        queue.depth(),
        QueueDepth {
            visible: 0,
            in_flight: 2,
            dead_letters: Some(0)
        }
    );
    queue.delete(&[&first[0]]);
    assert_eq!(queue.depth().in_flight, 1);

    queue.send("c".into(), None).unwrap();
    let short = queue.try_receive(1, Duration::from_millis(50));
    assert_eq!(bodies(&short), ["c"]);
    assert!(queue.try_receive(10, LONG).is_empty(), "b and c in flight");
    tokio::time::sleep(Duration::from_millis(60)).await;
    let again = queue.try_receive(10, LONG);
    assert_eq!(
        bodies(&again),
        ["c"],
        "only c's visibility timeout has passed"
    );
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn a_delayed_message_is_received_only_once_its_delay_has_passed() {
    let queue = MemoryQueue::new(5);
    queue
        .send_delayed("later".into(), None, Duration::from_millis(50))
        .unwrap();
    queue.send("now".into(), None).unwrap();
    assert_eq!(bodies(&queue.try_receive(10, LONG)), ["now"]);
    assert!(queue.try_receive(10, LONG).is_empty(), "still delayed");
    let waited = queue.receive(10, LONG, Duration::from_secs(5)).await;
    assert_eq!(bodies(&waited), ["later"]);
    assert_eq!(waited[0].receive_count, 1, "a delay is no receive");
}

#[tokio::test]
async fn deleting_with_the_receipt_of_an_earlier_receive_keeps_the_message() {
    let queue = MemoryQueue::new(5);
    queue.send("a".into(), None).unwrap();
    let first = queue.try_receive(1, Duration::ZERO);
    let second = queue.try_receive(1, LONG);
    assert_eq!(second[0].receive_count, 2);
    queue.delete(&[&first[0]]);
    assert_eq!(
        queue.depth().in_flight,
        1,
        "a stale receipt deletes nothing"
    );
    queue.delete(&[&second[0]]);
    assert_eq!(queue.depth().in_flight, 0);
}

#[tokio::test]
async fn released_messages_come_back_at_once() {
    let queue = MemoryQueue::new(5);
    queue.send("a".into(), None).unwrap();
    let first = queue.try_receive(1, LONG);
    queue.release(&[&first[0]]);
    let again = queue.try_receive(1, LONG);
    assert_eq!(bodies(&again), ["a"]);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn a_message_received_max_receive_count_times_moves_to_the_dead_letters() {
    let queue = MemoryQueue::new(3);
    queue.send("poison".into(), None).unwrap();
    for n in 1..=3 {
        // Never deleted; a zero visibility timeout makes it visible again at once.
        let received = queue.try_receive(10, Duration::ZERO);
        assert_eq!(bodies(&received), ["poison"], "receive {n}");
        assert_eq!(received[0].receive_count, n);
    }
    queue.send("fine".into(), None).unwrap();
    assert_eq!(bodies(&queue.try_receive(10, LONG)), ["fine"]);
    assert_eq!(queue.dead_letters(), [("poison".to_owned(), 3)]);
    assert_eq!(queue.depth().dead_letters, Some(1));
}

#[tokio::test]
async fn a_long_poll_wakes_up_when_a_message_arrives() {
    let queue = MemoryQueue::new(5);
    let sender = queue.clone();
    let waiting = tokio::spawn(async move {
        queue
            .receive(10, LONG, Duration::from_secs(10))
            .await
            .into_iter()
            .map(|m| m.body)
            .collect::<Vec<_>>()
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    sender.send("late".into(), None).unwrap();
    let started = std::time::Instant::now();
    let received = waiting.await.unwrap();
    assert_eq!(received, ["late"]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_message_over_the_sqs_size_limit_is_refused_and_its_event_stays_pending() {
    let queue = MemoryQueue::new(5);
    queue.send("x".repeat(SQS_MAX_MESSAGE_BYTES), None).unwrap();
    let refused = queue
        .send("x".repeat(SQS_MAX_MESSAGE_BYTES + 1), None)
        .unwrap_err();
    assert!(refused.detail.contains("262144"), "{refused}");
    // The attribute counts: a body that fits alone does not fit with its event type.
    assert!(
        queue
            .send(
                "x".repeat(SQS_MAX_MESSAGE_BYTES - 10),
                Some("TaskCreated".into())
            )
            .is_err()
    );

    let event = |body: String| PendingEvent {
        event_id: taskpulse_domain::EventId::from_uuid(uuid::Uuid::now_v7()),
        event_type: "TaskCreated".into(),
        body,
        committed_at: chrono::Utc::now(),
    };
    let (fits, too_large) = (event("{}".into()), event("x".repeat(SQS_MAX_MESSAGE_BYTES)));
    let error = queue
        .publish_events(&[fits.clone(), too_large.clone()])
        .await
        .unwrap_err();
    assert_eq!(error.failed, [too_large.event_id]);
    let bodies: Vec<String> = queue
        .try_receive(10, LONG)
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies.len(), 2, "the first message and the event that fits");
    assert!(bodies.contains(&fits.body));
}
