//! The API's queues in the local stack: the events queue, and beside it a queue of the same
//! kind for the outbox checks (in process for the embedded backend, the template's
//! `OutboxCheckQueue` for the SDK backends). The local relay receives the checks
//! (`crate::backend`), as the relay function's trigger does on AWS.

use std::time::Duration;

use taskpulse_app::relay::OutboxCheck;
use taskpulse_app::{PendingEvent, PublishError, PublishEvents, ScheduleOutboxCheck, StoreError};
use taskpulse_aws::CHECK_SEND_TIMEOUT;
use taskpulse_domain::TaskId;

use super::EventQueue;

#[derive(Debug, Clone)]
pub struct ApiQueues<Q> {
    pub events: Q,
    pub checks: Q,
    /// How long a check waits before it is received.
    pub check_delay: Duration,
}

impl<Q: EventQueue> PublishEvents for ApiQueues<Q> {
    async fn publish_events(&self, events: &[PendingEvent]) -> Result<(), PublishError> {
        self.events.publish_events(events).await
    }
}

impl<Q: EventQueue> ScheduleOutboxCheck for ApiQueues<Q> {
    async fn schedule_outbox_check(&self, task_id: TaskId) -> Result<(), StoreError> {
        // Bounded as the function's send is: the command's write waits for this answer, and a
        // check not scheduled leaves the task to the outbox index.
        let body = OutboxCheck { task_id }.to_body();
        let send = self.checks.send_later(&body, self.check_delay);
        match tokio::time::timeout(CHECK_SEND_TIMEOUT, send).await {
            Ok(sent) => sent.map_err(|e| StoreError::Unavailable(e.to_string())),
            Err(_) => Err(StoreError::Unavailable(format!(
                "the outbox check queue did not answer within {CHECK_SEND_TIMEOUT:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::queue::SqsQueue;

    #[tokio::test]
    async fn a_check_queue_that_never_answers_is_given_up_within_the_bound() {
        // Accepts connections and never answers a request.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        let client = aws_sdk_sqs::Client::new(&taskpulse_devstack::sdk_config_for(&endpoint).await);
        let queue = |name: &str| {
            SqsQueue::known(
                client.clone(),
                &format!("{endpoint}/000000000000/{name}"),
                &format!("arn:aws:sqs:us-east-1:000000000000:{name}"),
            )
        };
        let queues = ApiQueues {
            events: queue("events"),
            checks: queue("checks"),
            check_delay: Duration::from_secs(5),
        };
        let started = Instant::now();
        let scheduled = tokio::time::timeout(
            Duration::from_secs(8),
            queues.schedule_outbox_check(TaskId::from_uuid(uuid::Uuid::now_v7())),
        )
        .await
        .expect("the check send gives up by itself");
        assert!(
            matches!(&scheduled, Err(StoreError::Unavailable(reason)) if reason.contains("did not answer")),
            "{scheduled:?}"
        );
        assert!(
            started.elapsed() < CHECK_SEND_TIMEOUT * 2,
            "gave up after {:?}",
            started.elapsed()
        );
        drop(silent);
    }
}
