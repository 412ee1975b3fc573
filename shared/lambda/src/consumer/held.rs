//! Events held back while their owner is erased go back on the events queue, delayed, and
//! their records are deleted, rather than failed back to SQS: an erasure can run longer than
//! the queue's `maxReceiveCount` × visibility timeout (a busy user's archive takes minutes to
//! rewrite), and failing them back would move them to the dead-letter queue. A record whose
//! event could not be sent again is failed back instead, as before.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use taskpulse_app::SendWork;
use taskpulse_app::ports::WORK_BATCH_LIMIT;
use taskpulse_domain::EventId;

/// How long a held event waits before it is delivered again: a few erasure pages, so a short
/// erasure's events are counted soon after it completes, and a long one costs a message per
/// event every two minutes.
pub const HELD_EVENT_DELAY: Duration = Duration::from_secs(120);

/// Sends each held event (the body of its first record) to the queue again; answers the
/// events that are back on the queue. The others stay held the old way.
pub(super) async fn send_held_again(
    queue: &impl SendWork,
    records: &[SqsMessage],
    held: &[(EventId, usize)],
) -> HashSet<EventId> {
    let mut sent = HashSet::new();
    // Only events whose record has a body can go back (a held event always has one).
    let with_bodies: Vec<(EventId, String)> = held
        .iter()
        .filter_map(|(id, record)| Some((*id, records.get(*record)?.body.clone()?)))
        .collect();
    for chunk in with_bodies.chunks(WORK_BATCH_LIMIT) {
        let bodies: Vec<String> = chunk.iter().map(|(_, body)| body.clone()).collect();
        match queue.send_work(&bodies, HELD_EVENT_DELAY).await {
            Ok(()) => sent.extend(chunk.iter().map(|(id, _)| *id)),
            Err(error) => {
                tracing::warn!(%error, events = chunk.len(), "held events not sent again; SQS will deliver them again");
            }
        }
    }
    sent
}
