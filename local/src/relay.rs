//! The outbox relay of the local stack: every few seconds, the outbox checks that are due
//! (received from the checks' queue and handed to the relay function's handler, as the
//! queue's trigger does on AWS), then the sweep of the outbox index.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::TimeDelta;
use taskpulse_aws::env;
use taskpulse_lambda::relay::{check_outboxes, relay_outbox};
use tokio::sync::watch;

use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::queue::{EventQueue, ReceivedMessage};

/// Checks received at once, as the relay function's trigger is configured.
const CHECK_BATCH: usize = 10;
/// How long a received check stays hidden before it is delivered again.
const CHECK_VISIBILITY: Duration = Duration::from_secs(30);

/// How often the local relay looks for events the API could not publish (the deployed one runs
/// every minute).
const RELAY_INTERVAL: Duration = Duration::from_secs(10);

impl<T: TaskTable, Q: EventQueue, C: AnalyticsTable> Backend<T, Q, C> {
    /// One scheduled run of the outbox relay: the checks that are due, then the sweep.
    async fn relay_once(&self, grace: TimeDelta) {
        self.check_outboxes().await;
        if let Err(error) =
            relay_outbox(self.api.commands().store(), &self.mapping.queue, grace).await
        {
            tracing::warn!(%error, "outbox relay run failed");
        }
    }

    /// Receives the outbox checks that are due, in batches of ten, and hands each batch to the
    /// relay function's handler, as the checks' queue trigger does on AWS. A check to retry
    /// stays hidden for the visibility timeout, then comes back (its queue redrives it after
    /// the template's receives).
    async fn check_outboxes(&self) {
        let checks = &self.api.commands().publisher().checks;
        loop {
            let received = match checks
                .receive(CHECK_BATCH, CHECK_VISIBILITY, Duration::ZERO)
                .await
            {
                Ok(received) => received,
                Err(error) => {
                    tracing::warn!(%error, "outbox checks could not be received");
                    return;
                }
            };
            if received.is_empty() {
                return;
            }
            let mut batch = SqsEvent::default();
            batch.records = received.iter().map(|m| m.to_record(checks.arn())).collect();
            let store = self.api.commands().store();
            let retried = match check_outboxes(store, &self.mapping.queue, batch).await {
                Ok((response, _)) => response.batch_item_failures,
                Err(error) => {
                    tracing::warn!(%error, "outbox checks failed");
                    return;
                }
            };
            let done: Vec<&ReceivedMessage> = received
                .iter()
                .filter(|m| !retried.iter().any(|f| f.item_identifier == m.message_id))
                .collect();
            if let Err(error) = checks.delete(&done).await {
                tracing::warn!(%error, "outbox checks could not be deleted");
            }
            if received.len() < CHECK_BATCH {
                return;
            }
        }
    }

    /// Runs the relay until `stop` turns true.
    pub async fn run_relay(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let grace =
            env::outbox_grace().unwrap_or(TimeDelta::seconds(env::DEFAULT_OUTBOX_GRACE_SECONDS));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RELAY_INTERVAL) => self.relay_once(grace).await,
                _ = stop.changed() => return,
            }
        }
    }
}
